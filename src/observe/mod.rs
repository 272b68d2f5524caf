//! Reads the cloud into [`Observed`]: paged discovery per region, then only the detail calls
//! the manifests need, concurrently under the client's shared rate limiter.

pub mod observed;
mod reads;

use tokio::task::JoinSet;

pub use self::observed::{Observed, ObservedInstance};
pub use self::reads::{Aspect, Detail, Read, perform, plan_reads};
use crate::api::actions::instance::{
    DESCRIBE_INSTANCES_MAX_PAGE_SIZE, DescribeInstances, KvStoreInstance,
};
use crate::api::{self, Client};
use crate::manifest::Desired;

/// Why the cloud could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// Listing a region failed.
    #[error("listing instances in region {region}")]
    List {
        /// The region.
        region: String,
        /// The API error.
        #[source]
        source: api::Error,
    },
    /// Reading an instance's details failed.
    #[error("reading the {aspect} of instance {id} in region {region}")]
    Detail {
        /// What was read.
        aspect: &'static str,
        /// The region.
        region: String,
        /// The instance.
        id: String,
        /// The API error.
        #[source]
        source: api::Error,
    },
    /// A task panicked or was cancelled.
    #[error("an observation task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
}

/// Lists every instance of a region, page by page (50 per page).
pub async fn list_region(
    client: &Client,
    region: &str,
) -> Result<Vec<ObservedInstance>, ObserveError> {
    let mut instances = Vec::new();
    let mut page_number = 1;
    loop {
        let request = DescribeInstances {
            region_id: region.to_owned(),
            page_number,
            page_size: DESCRIBE_INSTANCES_MAX_PAGE_SIZE,
            ..Default::default()
        };
        let page = client
            .call(region, &request)
            .await
            .map_err(|source| ObserveError::List {
                region: region.to_owned(),
                source,
            })?;
        let received = page.instances.kv_store_instance.len() as u64;
        instances.extend(
            page.instances
                .kv_store_instance
                .into_iter()
                .map(from_listing),
        );
        if received == 0 || page_number * DESCRIBE_INSTANCES_MAX_PAGE_SIZE >= page.total_count {
            break;
        }
        page_number += 1;
    }
    Ok(instances)
}

fn from_listing(listed: KvStoreInstance) -> ObservedInstance {
    ObservedInstance {
        id: listed.instance_id,
        name: listed.instance_name,
        region: listed.region_id,
        status: listed.instance_status,
        instance_class: listed.instance_class,
        engine_version: listed.engine_version,
        zone_id: listed.zone_id,
        charge_type: listed.charge_type,
        network_type: listed.network_type.to_ascii_uppercase(),
        vpc_id: listed.vpc_id,
        vswitch_id: listed.vswitch_id,
        tags: listed
            .tags
            .tag
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect(),
        ..ObservedInstance::default()
    }
}

/// Lists every region `desired` names (pages of 50, regions concurrently).
pub async fn list(client: &Client, desired: &Desired) -> Result<Observed, ObserveError> {
    let mut listings = JoinSet::new();
    for region in desired.regions() {
        let client = client.clone();
        listings.spawn(async move {
            let instances = list_region(&client, &region).await?;
            Ok::<_, ObserveError>((region, instances))
        });
    }
    let mut observed = Observed::default();
    while let Some(joined) = listings.join_next().await {
        let (region, instances) = joined.map_err(ObserveError::Task)??;
        observed.regions.insert(region, instances);
    }
    Ok(observed)
}

/// Where detail answers may come from instead of the cloud.
pub trait DetailCache {
    /// A stored answer for `read`, if it may be used.
    fn get(&self, read: &Read) -> Option<Detail>;
    /// Stores a fresh answer.
    fn put(&mut self, read: &Read, detail: &Detail);
}

/// A cache that holds nothing: every read goes to the cloud.
pub struct NoCache;

impl DetailCache for NoCache {
    fn get(&self, _: &Read) -> Option<Detail> {
        None
    }
    fn put(&mut self, _: &Read, _: &Detail) {}
}

/// Adds the detail reads `desired` needs to a listing, all at once (the client's rate limiter
/// paces them); answers the cache holds are used instead of calls. Returns the calls made.
pub async fn read_details(
    client: &Client,
    desired: &Desired,
    observed: &mut Observed,
    cache: &mut dyn DetailCache,
) -> Result<usize, ObserveError> {
    let mut details = JoinSet::new();
    let mut answers = Vec::new();
    for read in plan_reads(desired, observed) {
        match cache.get(&read) {
            Some(detail) => answers.push((read, detail)),
            None => {
                let client = client.clone();
                details.spawn(async move {
                    let result = reads::perform(&client, &read).await;
                    (read, result)
                });
            }
        }
    }
    let calls = details.len();
    let mut gone = Vec::new();
    while let Some(joined) = details.join_next().await {
        let (read, result) = joined.map_err(ObserveError::Task)?;
        match result {
            Ok(detail) => {
                cache.put(&read, &detail);
                answers.push((read, detail));
            }
            // Released between the listing and the detail call: it is gone.
            Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => {
                gone.push((read.region.clone(), read.id.clone()));
            }
            Err(source) => {
                return Err(ObserveError::Detail {
                    aspect: read.aspect.describe(),
                    region: read.region,
                    id: read.id,
                    source,
                });
            }
        }
    }
    for (read, detail) in answers {
        if let Some(instance) = observed
            .regions
            .get_mut(&read.region)
            .and_then(|instances| instances.iter_mut().find(|i| i.id == read.id))
        {
            detail.apply_to(instance);
        }
    }
    for (region, id) in gone {
        if let Some(instances) = observed.regions.get_mut(&region) {
            instances.retain(|i| i.id != id);
        }
    }
    Ok(calls)
}

/// Observes everything `desired` manages: every region it names, then the detail reads of
/// [`plan_reads`].
pub async fn observe(client: &Client, desired: &Desired) -> Result<Observed, ObserveError> {
    let mut observed = list(client, desired).await?;
    read_details(client, desired, &mut observed, &mut NoCache).await?;
    Ok(observed)
}

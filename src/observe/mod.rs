//! Reads the cloud into [`Observed`]: paged discovery per region, then only the detail calls
//! the manifests need, concurrently under the client's shared rate limiter.

pub mod observed;

use std::collections::BTreeMap;

use tokio::task::JoinSet;

pub use self::observed::{Observed, ObservedInstance};
use crate::api::actions::instance::{
    DESCRIBE_INSTANCES_MAX_PAGE_SIZE, DescribeInstanceAttribute, DescribeInstances, KvStoreInstance,
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
    #[error("reading the attributes of instance {id} in region {region}")]
    Detail {
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
        release_protection: None,
    }
}

/// The instances whose attributes the plan needs: those matched by a manifest that manages an
/// attribute-only field, and prune candidates (whose protection decides whether they may go).
pub fn attribute_reads(desired: &Desired, observed: &Observed) -> Vec<(String, String)> {
    let mut reads = Vec::new();
    for instance in &desired.instances {
        if instance.release_protection.is_none() {
            continue;
        }
        let region = &instance.key.region;
        let matched: Vec<&ObservedInstance> = match &instance.instance_id {
            Some(id) => observed.by_id(region, id).into_iter().collect(),
            None => observed.named(region, &instance.key.name).collect(),
        };
        reads.extend(matched.into_iter().map(|o| (region.clone(), o.id.clone())));
    }
    if desired.stack.prune {
        for (region, instances) in &observed.regions {
            for instance in instances {
                let described = desired.instances.iter().any(|d| {
                    d.key.region == *region
                        && (d.key.name == instance.name
                            || d.instance_id.as_deref() == Some(&instance.id))
                });
                if instance.owned_by(&desired.stack.name) && !described {
                    reads.push((region.clone(), instance.id.clone()));
                }
            }
        }
    }
    reads.sort();
    reads.dedup();
    reads
}

/// Observes everything `desired` manages.
pub async fn observe(client: &Client, desired: &Desired) -> Result<Observed, ObserveError> {
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

    let mut details = JoinSet::new();
    for (region, id) in attribute_reads(desired, &observed) {
        let client = client.clone();
        details.spawn(async move {
            let request = DescribeInstanceAttribute {
                instance_id: id.clone(),
            };
            match client.call(&region, &request).await {
                Ok(response) => Ok((
                    region,
                    id,
                    response.instances.db_instance_attribute.into_iter().next(),
                )),
                Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => {
                    Ok((region, id, None))
                }
                Err(source) => Err(ObserveError::Detail { region, id, source }),
            }
        });
    }
    let mut attributes = BTreeMap::new();
    while let Some(joined) = details.join_next().await {
        let (region, id, attribute) = joined.map_err(ObserveError::Task)??;
        attributes.insert((region, id), attribute);
    }
    for ((region, id), attribute) in attributes {
        let Some(instances) = observed.regions.get_mut(&region) else {
            continue;
        };
        match attribute {
            Some(attribute) => {
                if let Some(instance) = instances.iter_mut().find(|i| i.id == id) {
                    instance.release_protection = Some(attribute.instance_release_protection);
                    instance.status = attribute.instance_status;
                }
            }
            // Released between the listing and the detail call: it is gone.
            None => instances.retain(|i| i.id != id),
        }
    }
    Ok(observed)
}

//! Reads the cloud into [`Observed`]: paged discovery per region, then only the detail calls
//! the manifests need, concurrently under the client's shared rate limiter.

pub use kvsync_plan::observed;
mod reads;

use crate::values::{ChargeType, InstanceStatus, NetworkType, Reported};
use std::collections::{HashMap, HashSet};

use tokio::task::JoinSet;

pub use self::observed::{Observed, ObservedInstance};
pub use self::reads::{Aspect, Detail, Read, perform, plan_reads};
use crate::api::actions::instance::{
    DESCRIBE_INSTANCES_MAX_PAGE_SIZE, DescribeInstances, KvStoreInstance,
};
use crate::api::{self, Client};
use crate::manifest::{Desired, InstanceKey};
use std::collections::{BTreeMap, BTreeSet};

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
    /// The region's listing kept changing while its pages were read.
    #[error(
        "the listing of region {region} kept changing while it was read ({reported} instances reported, {seen} seen); try again"
    )]
    Unsettled {
        /// The region.
        region: String,
        /// `TotalCount` of the last attempt's first page.
        reported: u64,
        /// Distinct instances its pages held.
        seen: u64,
    },
    /// A task panicked or was cancelled.
    #[error("an observation task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
}

/// How often a region is listed again when its pages disagree.
const LISTING_ATTEMPTS: u32 = 3;

/// Lists every instance of a region: the first page (50 instances) tells how many there are,
/// then the other pages are read at once. Pages are offsets into a list that may change while
/// they are read, which could hide an instance (and a hidden instance would be planned for
/// creation), so a listing is used only when every page reports the same total and that many
/// distinct instances were seen; otherwise the region is listed again.
pub async fn list_region(
    client: &Client,
    region: &str,
) -> Result<Vec<ObservedInstance>, ObserveError> {
    list_region_where(client, region, None).await
}

/// Lists the instances of a region whose ID or name contains `search_key` (`SearchKey`), or
/// every instance when it is `None`, read as [`list_region`] reads them.
async fn list_region_where(
    client: &Client,
    region: &str,
    search_key: Option<&str>,
) -> Result<Vec<ObservedInstance>, ObserveError> {
    let mut last = (0, 0);
    for _ in 0..LISTING_ATTEMPTS {
        let (first_total, first) = list_page(client, region, search_key, 1).await?;
        let pages = first_total
            .div_ceil(DESCRIBE_INSTANCES_MAX_PAGE_SIZE)
            .max(1);
        let mut rest = JoinSet::new();
        for page_number in 2..=pages {
            let client = client.clone();
            let region = region.to_owned();
            let search_key = search_key.map(str::to_owned);
            rest.spawn(async move {
                let page = list_page(&client, &region, search_key.as_deref(), page_number).await;
                (page_number, page)
            });
        }
        let mut pages = vec![(first_total, first)];
        let mut later = Vec::new();
        while let Some(joined) = rest.join_next().await {
            let (page_number, page) = joined.map_err(ObserveError::Task)?;
            later.push((page_number, page?));
        }
        later.sort_by_key(|(page_number, _)| *page_number);
        pages.extend(later.into_iter().map(|(_, page)| page));
        match settled(pages) {
            Ok(instances) => return Ok(instances),
            Err(counts) => {
                last = counts;
                tracing::debug!(
                    region,
                    reported = counts.0,
                    seen = counts.1,
                    "the listing changed while it was read; listing again"
                );
            }
        }
    }
    Err(ObserveError::Unsettled {
        region: region.to_owned(),
        reported: last.0,
        seen: last.1,
    })
}

/// The instances of a region's pages (in page order, each once) if the pages agree: every
/// page reports the same total, and that many distinct instances were seen. Otherwise the
/// total reported first and the number seen.
fn settled(pages: Vec<(u64, Vec<ObservedInstance>)>) -> Result<Vec<ObservedInstance>, (u64, u64)> {
    let reported = pages.first().map_or(0, |(total, _)| *total);
    let consistent = pages.iter().all(|(total, _)| *total == reported);
    let mut seen = std::collections::BTreeSet::new();
    let instances: Vec<ObservedInstance> = pages
        .into_iter()
        .flat_map(|(_, listed)| listed)
        .filter(|instance| seen.insert(instance.id.clone()))
        .collect();
    if consistent && instances.len() as u64 == reported {
        Ok(instances)
    } else {
        Err((reported, instances.len() as u64))
    }
}

/// One page of a region's listing (of the instances matching `search_key`, if any) and the
/// total the cloud reported with it.
async fn list_page(
    client: &Client,
    region: &str,
    search_key: Option<&str>,
    page_number: u64,
) -> Result<(u64, Vec<ObservedInstance>), ObserveError> {
    let request = DescribeInstances {
        region_id: region.to_owned(),
        search_key: search_key.map(str::to_owned),
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
    let instances = page
        .instances
        .kv_store_instance
        .into_iter()
        .map(from_listing)
        .collect();
    Ok((page.total_count, instances))
}

fn from_listing(listed: KvStoreInstance) -> ObservedInstance {
    ObservedInstance {
        id: listed.instance_id,
        name: listed.instance_name,
        region: listed.region_id,
        status: InstanceStatus::from_cloud(&listed.instance_status),
        instance_class: listed.instance_class,
        engine_version: Reported::from_cloud(&listed.engine_version),
        zone_id: listed.zone_id,
        charge_type: ChargeType::from_cloud(&listed.charge_type),
        network_type: NetworkType::from_cloud(&listed.network_type),
        vpc_id: listed.vpc_id,
        vswitch_id: listed.vswitch_id,
        tags: listed
            .tags
            .tag
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect(),
        change_order_pending: listed.has_renew_change_order,
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

/// Detail reads in flight at once. The client's rate limiter paces the calls; this bounds
/// what waits for it, so that memory follows the calls in flight, not the size of the fleet
/// (at 20 ms a call, 64 in flight sustain 3,200 calls a second).
const READS_IN_FLIGHT: usize = 64;

/// Adds the detail reads `desired` needs to a listing, [`READS_IN_FLIGHT`] at a time (the
/// client's rate limiter paces them); answers the cache holds are used instead of calls. Each
/// answer is applied as it arrives. Returns the calls made.
pub async fn read_details(
    client: &Client,
    desired: &Desired,
    observed: &mut Observed,
    cache: &mut (dyn DetailCache + Send),
) -> Result<usize, ObserveError> {
    let reads = plan_reads(desired, observed);
    // Where each instance sits in its region's listing, so an answer finds it at once.
    let positions: HashMap<String, HashMap<String, usize>> = observed
        .regions
        .iter()
        .map(|(region, instances)| {
            let ids = instances
                .iter()
                .enumerate()
                .map(|(at, i)| (i.id.clone(), at));
            (region.clone(), ids.collect())
        })
        .collect();
    let apply = |observed: &mut Observed, read: &Read, detail: Detail| {
        let at = positions
            .get(&read.region)
            .and_then(|ids| ids.get(&read.id));
        if let Some(instance) = at.and_then(|at| {
            observed
                .regions
                .get_mut(&read.region)
                .and_then(|instances| instances.get_mut(*at))
        }) {
            detail.apply_to(instance);
        }
    };
    let mut pending = reads.into_iter();
    let mut details = JoinSet::new();
    let mut calls = 0;
    let mut gone = HashSet::new();
    loop {
        while details.len() < READS_IN_FLIGHT {
            let Some(read) = pending.next() else { break };
            match cache.get(&read) {
                Some(detail) => apply(observed, &read, detail),
                None => {
                    let client = client.clone();
                    calls += 1;
                    details.spawn(async move {
                        let result = reads::perform(&client, &read).await;
                        (read, result)
                    });
                }
            }
        }
        let Some(joined) = details.join_next().await else {
            break;
        };
        let (read, result) = joined.map_err(ObserveError::Task)?;
        match result {
            Ok(detail) => {
                cache.put(&read, &detail);
                apply(observed, &read, detail);
            }
            // Released between the listing and the detail call: it is gone.
            Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => {
                gone.insert((read.region, read.id));
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
    if !gone.is_empty() {
        for (region, instances) in &mut observed.regions {
            instances.retain(|i| !gone.contains(&(region.clone(), i.id.clone())));
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

/// The most `SearchKey` listings a partial observation makes in one region; with more
/// instances to find there, it lists the whole region instead (20 searches cost as much as
/// the listing of 1,000 instances).
pub const MAX_SEARCHES_PER_REGION: usize = 20;

/// What a partial observation (`plan --changed-since`) looks for: per region, the names and
/// IDs that identify the instances it concerns. An instance is found when its name or its ID
/// is one of them; nothing else of the region is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// Region → names and IDs.
    pub regions: BTreeMap<String, BTreeSet<String>>,
}

impl Lookup {
    /// What identifies the instances `desired` describes (their names, the IDs they are
    /// pinned to, the instances they are created from) and the `deleted` ones (their names):
    /// exactly what matching them to the cloud, and pruning the deleted, needs.
    pub fn new(desired: &Desired, deleted: &BTreeSet<InstanceKey>) -> Self {
        let mut regions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for instance in &desired.instances {
            let terms = regions.entry(instance.key.region.clone()).or_default();
            terms.insert(instance.key.name.clone());
            terms.extend(instance.instance_id.clone());
            terms.extend(instance.origin.as_ref().map(|o| o.instance.clone()));
        }
        for key in deleted {
            regions
                .entry(key.region.clone())
                .or_default()
                .insert(key.name.clone());
        }
        Lookup { regions }
    }

    fn finds(&self, region: &str, instance: &ObservedInstance) -> bool {
        self.regions
            .get(region)
            .is_some_and(|terms| terms.contains(&instance.name) || terms.contains(&instance.id))
    }
}

/// Observes only what `lookup` names: per region one `SearchKey` listing per name or ID (all
/// at once; a whole listing instead past [`MAX_SEARCHES_PER_REGION`]), keeping the instances
/// whose name or ID is exactly one of them, then the detail reads [`plan_reads`] names for
/// `desired` (which holds only the instances concerned). Regions `lookup` does not name are
/// not read.
pub async fn observe_only(
    client: &Client,
    desired: &Desired,
    lookup: &Lookup,
) -> Result<Observed, ObserveError> {
    let mut listings = JoinSet::new();
    for (region, terms) in &lookup.regions {
        let searches: Vec<Option<String>> = if terms.len() > MAX_SEARCHES_PER_REGION {
            vec![None]
        } else {
            terms.iter().cloned().map(Some).collect()
        };
        for search_key in searches {
            let client = client.clone();
            let region = region.clone();
            listings.spawn(async move {
                let instances = list_region_where(&client, &region, search_key.as_deref()).await?;
                Ok::<_, ObserveError>((region, instances))
            });
        }
    }
    let mut observed = Observed::default();
    for region in lookup.regions.keys() {
        observed.regions.insert(region.clone(), Vec::new());
    }
    while let Some(joined) = listings.join_next().await {
        let (region, instances) = joined.map_err(ObserveError::Task)??;
        let found = observed.regions.entry(region.clone()).or_default();
        for instance in instances {
            if lookup.finds(&region, &instance) && !found.iter().any(|i| i.id == instance.id) {
                found.push(instance);
            }
        }
    }
    // Sorted by ID whatever order the searches ended in, so that the same cloud is observed
    // the same way (a saved plan's fingerprint).
    for instances in observed.regions.values_mut() {
        instances.sort_by(|a, b| a.id.cmp(&b.id));
    }
    read_details(client, desired, &mut observed, &mut NoCache).await?;
    Ok(observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(total: u64, ids: &[&str]) -> (u64, Vec<ObservedInstance>) {
        let instances = ids
            .iter()
            .map(|id| ObservedInstance {
                id: (*id).to_owned(),
                ..ObservedInstance::default()
            })
            .collect();
        (total, instances)
    }

    fn ids(instances: &[ObservedInstance]) -> Vec<&str> {
        instances.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn agreeing_pages_make_a_listing_in_page_order() {
        let listed = settled(vec![page(3, &["r-1", "r-2"]), page(3, &["r-3"])]).unwrap();
        assert_eq!(ids(&listed), ["r-1", "r-2", "r-3"]);
        assert_eq!(settled(vec![page(0, &[])]).unwrap().len(), 0);
    }

    #[test]
    fn a_lookup_names_what_identifies_the_instances_and_finds_exact_matches_only() {
        use crate::manifest::DesiredInstance;
        use crate::manifest::desired::{Origin, OriginPoint, Stack};
        let mut pinned = DesiredInstance::bare("orders");
        pinned.instance_id = Some("r-pinned".into());
        let mut restored = DesiredInstance::bare("orders-copy");
        restored.origin = Some(Origin {
            instance: "orders".into(),
            from: OriginPoint::Backup("b-1".into()),
        });
        let desired = Desired {
            stack: Stack::default(),
            instances: vec![pinned, restored],
        };
        let gone = InstanceKey {
            region: "cn-beijing".into(),
            name: "carts".into(),
        };
        let lookup = Lookup::new(&desired, &BTreeSet::from([gone]));
        let terms = |region: &str| lookup.regions[region].iter().cloned().collect::<Vec<_>>();
        assert_eq!(terms("cn-hangzhou"), ["orders", "orders-copy", "r-pinned"]);
        assert_eq!(terms("cn-beijing"), ["carts"]);
        let listed = |id: &str, name: &str| ObservedInstance {
            id: id.into(),
            name: name.into(),
            ..ObservedInstance::default()
        };
        // `SearchKey` matches parts of names: only whole names and IDs are kept.
        assert!(lookup.finds("cn-hangzhou", &listed("r-1", "orders")));
        assert!(lookup.finds("cn-hangzhou", &listed("r-pinned", "renamed")));
        assert!(!lookup.finds("cn-hangzhou", &listed("r-2", "orders-2")));
        assert!(!lookup.finds("cn-beijing", &listed("r-1", "orders")));
        assert!(!lookup.finds("cn-shanghai", &listed("r-3", "carts")));
    }

    #[test]
    fn pages_that_disagree_are_refused() {
        // An instance was created between the pages: the totals differ.
        assert_eq!(
            settled(vec![page(3, &["r-1", "r-2"]), page(4, &["r-3", "r-4"])]).unwrap_err(),
            (3, 4)
        );
        // One was deleted: `r-2` slid onto the first page and shows twice, `r-3` is hidden.
        assert_eq!(
            settled(vec![page(3, &["r-1", "r-2"]), page(3, &["r-2"])]).unwrap_err(),
            (3, 2)
        );
    }
}

//! The daemon's memory of what it observed, so that a manifest change re-plans from a recent
//! observation without reading the cloud again, and the interval's refresh is spread over the
//! interval in slices instead of one burst.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::observe::{Detail, DetailCache, Observed, Read};

/// How fresh a cycle's observation must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Read everything (startup, SIGHUP, a cache too old).
    Fresh,
    /// List everything, re-read the details of the instances in slice `index` of `of`, and take
    /// the others' details from the cache when it has them.
    Slice {
        /// Which slice.
        index: usize,
        /// Of how many.
        of: usize,
    },
    /// Take the listing and details from the cache when they are younger than `max_age`; read
    /// only what it lacks.
    Cached {
        /// The oldest answer that may be used.
        max_age: Duration,
    },
}

impl std::fmt::Display for Freshness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Freshness::Fresh => f.write_str("fresh"),
            Freshness::Slice { index, of } => write!(f, "slice {} of {of}", index + 1),
            Freshness::Cached { max_age } => {
                write!(f, "cached up to {}", super::deadline::show(*max_age))
            }
        }
    }
}

/// Which slice an instance belongs to (stable across runs).
pub fn slice_of(instance_id: &str, of: usize) -> usize {
    let digest = Sha256::digest(instance_id.as_bytes());
    let value = u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (value % of.max(1) as u64) as usize
}

/// Listings and detail answers with the time they were read.
#[derive(Debug, Default)]
pub struct ObservationCache {
    listing: Option<(Observed, Instant)>,
    details: BTreeMap<Read, (Detail, Instant)>,
}

impl ObservationCache {
    /// The cached listing, if it covers `regions` and may be used under `freshness` at `now`.
    pub fn listing(
        &self,
        regions: &[String],
        freshness: Freshness,
        now: Instant,
    ) -> Option<Observed> {
        match (freshness, &self.listing) {
            (Freshness::Cached { max_age }, Some((listing, at)))
                if now.duration_since(*at) <= max_age
                    && regions.iter().all(|r| listing.regions.contains_key(r)) =>
            {
                Some(listing.clone())
            }
            _ => None,
        }
    }

    /// Remembers a fresh listing (without detail fields).
    pub fn put_listing(&mut self, listing: &Observed, now: Instant) {
        self.listing = Some((listing.clone(), now));
    }

    /// Forgets everything read about an instance (after a change was applied to it).
    pub fn invalidate(&mut self, region: &str, instance_id: &str) {
        self.details
            .retain(|read, _| !(read.region == region && read.id == instance_id));
        self.listing = None;
    }

    /// Forgets the listing (after an instance was created or deleted).
    pub fn forget_listing(&mut self) {
        self.listing = None;
    }

    /// A view that answers detail reads under `freshness` at `now`.
    pub fn view(&mut self, freshness: Freshness, now: Instant) -> CacheView<'_> {
        CacheView {
            cache: self,
            freshness,
            now,
        }
    }

    /// How many detail answers are held.
    pub fn len(&self) -> usize {
        self.details.len()
    }

    /// Whether no detail answer is held.
    pub fn is_empty(&self) -> bool {
        self.details.is_empty()
    }

    /// Drops answers about instances that a listing of their region no longer shows, so
    /// memory stays bounded.
    pub fn retain_listed(&mut self, observed: &Observed) {
        self.details.retain(|read, _| {
            observed
                .regions
                .get(&read.region)
                .is_none_or(|instances| instances.iter().any(|i| i.id == read.id))
        });
    }
}

/// The cache as seen by one cycle.
pub struct CacheView<'a> {
    cache: &'a mut ObservationCache,
    freshness: Freshness,
    now: Instant,
}

impl DetailCache for CacheView<'_> {
    fn get(&self, read: &Read) -> Option<Detail> {
        let (detail, at) = self.cache.details.get(read)?;
        let usable = match self.freshness {
            Freshness::Fresh => false,
            Freshness::Slice { index, of } => slice_of(&read.id, of) != index,
            Freshness::Cached { max_age } => self.now.duration_since(*at) <= max_age,
        };
        usable.then(|| detail.clone())
    }

    fn put(&mut self, read: &Read, detail: &Detail) {
        self.cache
            .details
            .insert(read.clone(), (detail.clone(), self.now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Aspect;

    fn read(id: &str) -> Read {
        Read {
            region: "cn-hangzhou".into(),
            id: id.into(),
            aspect: Aspect::Ssl,
        }
    }

    #[test]
    fn slices_partition_instances_stably() {
        let ids: Vec<String> = (0..300).map(|n| format!("r-{n}")).collect();
        let mut sizes = [0usize; 3];
        for id in &ids {
            let slice = slice_of(id, 3);
            assert_eq!(slice, slice_of(id, 3));
            sizes[slice] += 1;
        }
        assert!(
            sizes.iter().all(|size| (70..=130).contains(size)),
            "{sizes:?}"
        );
    }

    #[test]
    fn each_freshness_uses_the_cache_as_it_should() {
        let start = Instant::now();
        let mut cache = ObservationCache::default();
        cache
            .view(Freshness::Fresh, start)
            .put(&read("r-1"), &Detail::Ssl(true));
        assert_eq!(cache.view(Freshness::Fresh, start).get(&read("r-1")), None);
        let young = Freshness::Cached {
            max_age: Duration::from_secs(60),
        };
        assert_eq!(
            cache
                .view(young, start + Duration::from_secs(30))
                .get(&read("r-1")),
            Some(Detail::Ssl(true))
        );
        assert_eq!(
            cache
                .view(young, start + Duration::from_secs(61))
                .get(&read("r-1")),
            None
        );
        let mine = slice_of("r-1", 4);
        let other = (mine + 1) % 4;
        assert_eq!(
            cache
                .view(Freshness::Slice { index: mine, of: 4 }, start)
                .get(&read("r-1")),
            None
        );
        assert_eq!(
            cache
                .view(
                    Freshness::Slice {
                        index: other,
                        of: 4
                    },
                    start
                )
                .get(&read("r-1")),
            Some(Detail::Ssl(true))
        );
        cache.invalidate("cn-hangzhou", "r-1");
        assert!(cache.is_empty());
    }
}

//! What the emulated cloud offers: regions with their zones, and instance classes.

/// One region and its zones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    /// `RegionId`.
    pub id: &'static str,
    /// `LocalName` (en-US).
    pub local_name: &'static str,
    /// Zone IDs.
    pub zones: &'static [&'static str],
}

/// The regions the emulator serves.
pub(crate) const REGIONS: &[Region] = &[
    Region {
        id: "cn-hangzhou",
        local_name: "China (Hangzhou)",
        zones: &[
            "cn-hangzhou-b",
            "cn-hangzhou-e",
            "cn-hangzhou-f",
            "cn-hangzhou-g",
            "cn-hangzhou-h",
            "cn-hangzhou-i",
            "cn-hangzhou-j",
            "cn-hangzhou-k",
        ],
    },
    Region {
        id: "cn-shanghai",
        local_name: "China (Shanghai)",
        zones: &[
            "cn-shanghai-b",
            "cn-shanghai-e",
            "cn-shanghai-f",
            "cn-shanghai-g",
            "cn-shanghai-l",
            "cn-shanghai-m",
            "cn-shanghai-n",
        ],
    },
    Region {
        id: "cn-beijing",
        local_name: "China (Beijing)",
        zones: &[
            "cn-beijing-a",
            "cn-beijing-c",
            "cn-beijing-e",
            "cn-beijing-f",
            "cn-beijing-g",
            "cn-beijing-h",
            "cn-beijing-i",
            "cn-beijing-j",
            "cn-beijing-k",
            "cn-beijing-l",
        ],
    },
    Region {
        id: "cn-shenzhen",
        local_name: "China (Shenzhen)",
        zones: &[
            "cn-shenzhen-a",
            "cn-shenzhen-b",
            "cn-shenzhen-c",
            "cn-shenzhen-d",
            "cn-shenzhen-e",
            "cn-shenzhen-f",
        ],
    },
    Region {
        id: "ap-southeast-1",
        local_name: "Singapore",
        zones: &["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
    },
    Region {
        id: "us-west-1",
        local_name: "US (Silicon Valley)",
        zones: &["us-west-1a", "us-west-1b"],
    },
    Region {
        id: "eu-central-1",
        local_name: "Germany (Frankfurt)",
        zones: &["eu-central-1a", "eu-central-1b", "eu-central-1c"],
    },
    Region {
        id: "cn-qingdao",
        local_name: "China (Qingdao)",
        zones: &["cn-qingdao-b", "cn-qingdao-c"],
    },
    Region {
        id: "cn-zhangjiakou",
        local_name: "China (Zhangjiakou)",
        zones: &["cn-zhangjiakou-a", "cn-zhangjiakou-b", "cn-zhangjiakou-c"],
    },
    Region {
        id: "cn-huhehaote",
        local_name: "China (Hohhot)",
        zones: &["cn-huhehaote-a", "cn-huhehaote-b"],
    },
    Region {
        id: "cn-chengdu",
        local_name: "China (Chengdu)",
        zones: &["cn-chengdu-a", "cn-chengdu-b"],
    },
    Region {
        id: "ap-northeast-1",
        local_name: "Japan (Tokyo)",
        zones: &["ap-northeast-1a", "ap-northeast-1b", "ap-northeast-1c"],
    },
    Region {
        id: "us-east-1",
        local_name: "US (Virginia)",
        zones: &["us-east-1a", "us-east-1b"],
    },
    Region {
        id: "eu-west-1",
        local_name: "UK (London)",
        zones: &["eu-west-1a", "eu-west-1b"],
    },
];

/// Looks a region up by ID.
pub(crate) fn region(id: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|region| region.id == id)
}

/// The capacity and limits of an instance class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Class {
    /// `InstanceClass`.
    pub code: &'static str,
    /// Memory in MB.
    pub capacity_mb: i64,
    /// Bandwidth in MB/s.
    pub bandwidth: i64,
    /// Maximum connections.
    pub connections: i64,
    /// Expected QPS.
    pub qps: i64,
    /// `ArchitectureType`: `standard`, `cluster` (codes with `sharding`) or `rwsplit` (codes
    /// with `splitrw`, read/write splitting).
    pub architecture: &'static str,
    /// Shards (1 for standard); `ShardCount` may change it on cluster classes.
    pub shards: i64,
    /// Read-only nodes (0 but on `rwsplit`); `ReadOnlyCount` may change it on `rwsplit` classes.
    pub read_only: i64,
}

impl Class {
    /// Whether `ShardCount` applies.
    pub(crate) fn is_cluster(&self) -> bool {
        self.architecture == "cluster"
    }

    /// Whether `ReadOnlyCount` applies.
    pub(crate) fn is_rwsplit(&self) -> bool {
        self.architecture == "rwsplit"
    }
}

/// The shard counts a cluster instance may have.
pub(crate) const SHARD_COUNTS: std::ops::RangeInclusive<u64> = 2..=256;

/// The secondary (replica) nodes an instance may have in its primary zone.
pub(crate) const REPLICA_COUNTS: std::ops::RangeInclusive<u64> = 1..=9;

/// The read-only nodes a read/write splitting instance may have.
pub(crate) const READ_ONLY_COUNTS: std::ops::RangeInclusive<u64> = 1..=9;

/// At most this many replica and read-only nodes together in the primary zone.
pub(crate) const MAX_REPLICAS_AND_READ_ONLY: u64 = 9;

const fn standard(
    code: &'static str,
    capacity_mb: i64,
    bandwidth: i64,
    connections: i64,
    qps: i64,
) -> Class {
    Class {
        code,
        capacity_mb,
        bandwidth,
        connections,
        qps,
        architecture: "standard",
        shards: 1,
        read_only: 0,
    }
}

const fn cluster(code: &'static str, capacity_mb: i64, shards: i64) -> Class {
    Class {
        code,
        capacity_mb,
        bandwidth: 96 * shards,
        connections: 10_000 * shards,
        qps: 100_000 * shards,
        architecture: "cluster",
        shards,
        read_only: 0,
    }
}

const fn splitrw(code: &'static str, capacity_mb: i64, read_only: i64) -> Class {
    Class {
        code,
        capacity_mb,
        bandwidth: 96 * (read_only + 1),
        connections: 10_000 * (read_only + 1),
        qps: 100_000 * (read_only + 1),
        architecture: "rwsplit",
        shards: 1,
        read_only,
    }
}

/// The instance classes the emulator accepts (a representative subset of the cloud's).
pub(crate) const CLASSES: &[Class] = &[
    standard("redis.master.micro.default", 256, 10, 10_000, 100_000),
    standard("redis.master.small.default", 1024, 10, 10_000, 100_000),
    standard("redis.master.mid.default", 2048, 16, 10_000, 100_000),
    standard("redis.master.stand.default", 4096, 24, 10_000, 100_000),
    standard("redis.master.large.default", 8192, 24, 10_000, 100_000),
    standard("redis.master.2xlarge.default", 16_384, 32, 10_000, 100_000),
    standard("redis.master.4xlarge.default", 32_768, 48, 10_000, 100_000),
    standard("redis.master.8xlarge.default", 65_536, 48, 10_000, 100_000),
    standard(
        "redis.amber.master.small.multithread",
        1024,
        96,
        30_000,
        300_000,
    ),
    standard(
        "redis.amber.master.2xlarge.multithread",
        16_384,
        96,
        30_000,
        300_000,
    ),
    standard("tair.rdb.1g", 1024, 96, 30_000, 300_000),
    standard("tair.rdb.2g", 2048, 96, 30_000, 300_000),
    standard("tair.rdb.4g", 4096, 96, 30_000, 300_000),
    standard("tair.rdb.8g", 8192, 96, 30_000, 300_000),
    cluster("redis.logic.sharding.1g.2db.0rodb.4proxy.default", 2048, 2),
    cluster("redis.logic.sharding.2g.2db.0rodb.4proxy.default", 4096, 2),
    cluster("redis.logic.sharding.2g.4db.0rodb.4proxy.default", 8192, 4),
    cluster(
        "redis.logic.sharding.2g.8db.0rodb.8proxy.default",
        16_384,
        8,
    ),
    splitrw("redis.logic.splitrw.default.1db.1rodb.4proxy", 1024, 1),
    splitrw("redis.logic.splitrw.default.1db.3rodb.4proxy", 4096, 3),
];

/// Looks a class up by code.
pub(crate) fn class(code: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|class| class.code == code)
}

/// Engine versions `CreateInstance` accepts.
pub(crate) const ENGINE_VERSIONS: &[&str] = &["2.8", "4.0", "5.0", "6.0", "7.0"];

/// Whether an engine version (`2.8`, `5.0`, ...) is `major` or later; unparsable versions are not.
pub(crate) fn engine_at_least(version: &str, major: u32) -> bool {
    version
        .split('.')
        .next()
        .and_then(|first| first.parse::<u32>().ok())
        .is_some_and(|found| found >= major)
}

/// The subscription periods (months) `CreateInstance` accepts.
pub(crate) fn valid_period(months: u64) -> bool {
    matches!(months, 1..=9 | 12 | 24 | 36)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_follow_the_class_codes() {
        for class in CLASSES {
            assert_eq!(
                class.is_cluster(),
                class.code.contains("sharding"),
                "{}",
                class.code
            );
            assert_eq!(
                class.is_rwsplit(),
                class.code.contains("splitrw"),
                "{}",
                class.code
            );
        }
    }

    #[test]
    fn every_region_the_emulator_serves_is_known_to_the_client() {
        for region in REGIONS {
            assert!(kvsync_wire::regions::is_known(region.id), "{}", region.id);
        }
    }
}

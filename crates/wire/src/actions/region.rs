//! Region discovery.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::DescribeRegions;

/// The answer to `DescribeRegions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeRegionsResponse {
    pub request_id: String,
    pub region_ids: RegionIds,
}

/// `RegionIds: {KVStoreRegion: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionIds {
    #[serde(rename = "KVStoreRegion")]
    pub kv_store_region: Vec<KvStoreRegion>,
}

/// One region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KvStoreRegion {
    pub region_id: String,
    pub local_name: String,
    pub region_endpoint: String,
    /// Comma-separated zone IDs.
    pub zone_ids: String,
    pub zone_id_list: ZoneIdList,
}

/// `ZoneIdList: {ZoneId: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ZoneIdList {
    pub zone_id: Vec<String>,
}

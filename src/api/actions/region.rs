//! Region discovery.

use serde::{Deserialize, Serialize};

use super::{Action, ParamError, WireParams};
use crate::api::params::Params;

/// `DescribeRegions`: the regions (and their zones) where instances can be created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeRegions {
    /// `AcceptLanguage`: `zh-CN` or `en-US`, for `LocalName`.
    pub accept_language: Option<String>,
}

impl Action for DescribeRegions {
    const NAME: &'static str = "DescribeRegions";
    const MUTATING: bool = false;
    type Response = DescribeRegionsResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set_opt("AcceptLanguage", self.accept_language.as_deref());
        params
    }
}

impl DescribeRegions {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeRegions {
            accept_language: wire.string("AcceptLanguage"),
        })
    }
}

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

//! Instance lifecycle and attribute actions.

use serde::{Deserialize, Serialize};

use super::{Action, ParamError, Tags, WireParams, wire_bool};
use crate::api::params::Params;
use crate::secret::Secret;

/// `CreateInstance`: creates an instance; `Token` makes the call idempotent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateInstance {
    /// `RegionId` (required).
    pub region_id: String,
    /// `Token`: the idempotency token (at most 64 ASCII characters).
    pub token: Option<String>,
    /// `InstanceName`.
    pub instance_name: Option<String>,
    /// `InstanceClass`.
    pub instance_class: Option<String>,
    /// `EngineVersion`.
    pub engine_version: Option<String>,
    /// `ZoneId`.
    pub zone_id: Option<String>,
    /// `ChargeType`: `PrePaid` or `PostPaid`.
    pub charge_type: Option<String>,
    /// `Period`: months, for `PrePaid`.
    pub period: Option<u64>,
    /// `NetworkType`.
    pub network_type: Option<String>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `VSwitchId`.
    pub vswitch_id: Option<String>,
    /// `Password`.
    pub password: Option<Secret>,
    /// `Tag.N.Key` / `Tag.N.Value`.
    pub tags: Vec<(String, String)>,
}

impl Action for CreateInstance {
    const NAME: &'static str = "CreateInstance";
    const MUTATING: bool = true;
    type Response = CreateInstanceResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("RegionId", &self.region_id)
            .set_opt("Token", self.token.as_deref())
            .set_opt("InstanceName", self.instance_name.as_deref())
            .set_opt("InstanceClass", self.instance_class.as_deref())
            .set_opt("EngineVersion", self.engine_version.as_deref())
            .set_opt("ZoneId", self.zone_id.as_deref())
            .set_opt("ChargeType", self.charge_type.as_deref())
            .set_opt("Period", self.period.map(|p| p.to_string()))
            .set_opt("NetworkType", self.network_type.as_deref())
            .set_opt("VpcId", self.vpc_id.as_deref())
            .set_opt("VSwitchId", self.vswitch_id.as_deref())
            .set_key_values(
                "Tag",
                self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        if let Some(password) = &self.password {
            params.set_secret("Password", password.clone());
        }
        params
    }
}

impl CreateInstance {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(CreateInstance {
            region_id: wire.required("RegionId")?.to_owned(),
            token: wire.string("Token"),
            instance_name: wire.string("InstanceName"),
            instance_class: wire.string("InstanceClass"),
            engine_version: wire.string("EngineVersion"),
            zone_id: wire.string("ZoneId"),
            charge_type: wire.string("ChargeType"),
            period: wire.u64("Period")?,
            network_type: wire.string("NetworkType"),
            vpc_id: wire.string("VpcId"),
            vswitch_id: wire.string("VSwitchId"),
            password: wire.optional("Password").map(Secret::new),
            tags: wire.key_values("Tag")?,
        })
    }
}

/// The answer to `CreateInstance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateInstanceResponse {
    pub request_id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub instance_status: String,
    pub region_id: String,
    pub zone_id: String,
    pub charge_type: String,
    pub network_type: String,
    pub vpc_id: String,
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    pub node_type: String,
    pub bandwidth: i64,
    pub capacity: i64,
    pub connections: i64,
    #[serde(rename = "QPS")]
    pub qps: i64,
    pub port: i64,
    pub config: String,
    pub connection_domain: String,
    pub private_ip_addr: String,
    pub user_name: String,
    pub end_time: String,
    pub order_id: i64,
}

/// `DescribeInstances`: one page of the instances of a region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeInstances {
    /// `RegionId`.
    pub region_id: String,
    /// `InstanceIds`: comma-separated IDs to restrict the listing to.
    pub instance_ids: Option<String>,
    /// `InstanceStatus` filter.
    pub instance_status: Option<String>,
    /// `SearchKey`: instances whose ID or name contains this text.
    pub search_key: Option<String>,
    /// `Tag.N.*` filter: instances carrying all of these tags.
    pub tags: Vec<(String, String)>,
    /// `PageNumber` (1-based).
    pub page_number: u64,
    /// `PageSize` (at most 50).
    pub page_size: u64,
}

/// The largest page `DescribeInstances` serves.
pub const DESCRIBE_INSTANCES_MAX_PAGE_SIZE: u64 = 50;

impl Action for DescribeInstances {
    const NAME: &'static str = "DescribeInstances";
    const MUTATING: bool = false;
    type Response = DescribeInstancesResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("RegionId", &self.region_id)
            .set_opt("InstanceIds", self.instance_ids.as_deref())
            .set_opt("InstanceStatus", self.instance_status.as_deref())
            .set_opt("SearchKey", self.search_key.as_deref())
            .set("PageNumber", self.page_number.to_string())
            .set("PageSize", self.page_size.to_string())
            .set_key_values(
                "Tag",
                self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        params
    }
}

impl DescribeInstances {
    /// Parses an incoming request (emulator side). Page defaults are the cloud's: 1 and 30.
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeInstances {
            region_id: wire.string("RegionId").unwrap_or_default(),
            instance_ids: wire.string("InstanceIds"),
            instance_status: wire.string("InstanceStatus"),
            search_key: wire.string("SearchKey"),
            tags: wire.key_values("Tag")?,
            page_number: wire.u64("PageNumber")?.unwrap_or(1),
            page_size: wire.u64("PageSize")?.unwrap_or(30),
        })
    }
}

/// The answer to `DescribeInstances`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstancesResponse {
    pub request_id: String,
    pub page_number: u64,
    pub page_size: u64,
    pub total_count: u64,
    pub instances: KvStoreInstances,
}

/// `Instances: {KVStoreInstance: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvStoreInstances {
    #[serde(rename = "KVStoreInstance")]
    pub kv_store_instance: Vec<KvStoreInstance>,
}

/// One instance in a `DescribeInstances` page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KvStoreInstance {
    pub instance_id: String,
    pub instance_name: String,
    pub instance_status: String,
    pub instance_class: String,
    pub instance_type: String,
    pub engine_version: String,
    pub architecture_type: String,
    pub edition_type: String,
    pub charge_type: String,
    pub network_type: String,
    pub region_id: String,
    pub zone_id: String,
    pub vpc_id: String,
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    pub node_type: String,
    pub package_type: String,
    pub connection_domain: String,
    pub connection_mode: String,
    pub private_ip: String,
    pub port: i64,
    pub bandwidth: i64,
    pub capacity: i64,
    pub connections: i64,
    #[serde(rename = "QPS")]
    pub qps: i64,
    pub shard_count: i64,
    /// A string here, an integer elsewhere: the SDK models say so.
    pub read_only_count: String,
    pub has_renew_change_order: bool,
    pub is_rds: bool,
    pub create_time: String,
    pub end_time: String,
    pub destroy_time: String,
    pub resource_group_id: String,
    pub user_name: String,
    /// Legacy: the vendor warns this field will go away; kvsync does not read it.
    pub config: String,
    pub tags: Tags,
}

/// `DescribeInstanceAttribute`: the details of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribeInstanceAttribute {
    /// `InstanceId`.
    pub instance_id: String,
}

impl Action for DescribeInstanceAttribute {
    const NAME: &'static str = "DescribeInstanceAttribute";
    const MUTATING: bool = false;
    type Response = DescribeInstanceAttributeResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl DescribeInstanceAttribute {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeInstanceAttribute {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// The answer to `DescribeInstanceAttribute`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceAttributeResponse {
    pub request_id: String,
    pub instances: DbInstanceAttributes,
}

/// `Instances: {DBInstanceAttribute: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbInstanceAttributes {
    #[serde(rename = "DBInstanceAttribute")]
    pub db_instance_attribute: Vec<DbInstanceAttribute>,
}

/// The attributes of one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DbInstanceAttribute {
    pub instance_id: String,
    pub instance_name: String,
    pub instance_status: String,
    pub instance_class: String,
    pub instance_type: String,
    pub engine: String,
    pub engine_version: String,
    pub architecture_type: String,
    pub charge_type: String,
    pub network_type: String,
    pub region_id: String,
    pub zone_id: String,
    pub vpc_id: String,
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    pub node_type: String,
    pub package_type: String,
    pub connection_domain: String,
    pub private_ip: String,
    pub port: i64,
    pub bandwidth: i64,
    pub capacity: i64,
    pub connections: i64,
    #[serde(rename = "QPS")]
    pub qps: i64,
    pub shard_count: i64,
    pub read_only_count: i64,
    /// A string here, a boolean in `DescribeInstances`: the SDK models say so.
    pub has_renew_change_order: String,
    pub is_rds: bool,
    pub instance_release_protection: bool,
    pub maintain_start_time: String,
    pub maintain_end_time: String,
    pub vpc_auth_mode: String,
    #[serde(rename = "SecurityIPList")]
    pub security_ip_list: String,
    pub create_time: String,
    pub end_time: String,
    pub resource_group_id: String,
    pub zone_type: String,
    /// The parameter configuration as a JSON **string**.
    pub config: String,
    pub tags: Tags,
}

/// `ModifyInstanceAttribute`: renames, sets release protection or resets the default password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceAttribute {
    /// `InstanceId`.
    pub instance_id: String,
    /// `InstanceName`.
    pub instance_name: Option<String>,
    /// `InstanceReleaseProtection`.
    pub instance_release_protection: Option<bool>,
    /// `NewPassword`.
    pub new_password: Option<Secret>,
}

impl Action for ModifyInstanceAttribute {
    const NAME: &'static str = "ModifyInstanceAttribute";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("InstanceName", self.instance_name.as_deref())
            .set_opt(
                "InstanceReleaseProtection",
                self.instance_release_protection.map(wire_bool),
            );
        if let Some(password) = &self.new_password {
            params.set_secret("NewPassword", password.clone());
        }
        params
    }
}

impl ModifyInstanceAttribute {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceAttribute {
            instance_id: wire.required("InstanceId")?.to_owned(),
            instance_name: wire.string("InstanceName"),
            instance_release_protection: wire.bool("InstanceReleaseProtection")?,
            new_password: wire.optional("NewPassword").map(Secret::new),
        })
    }
}

/// `DeleteInstance`: releases an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteInstance {
    /// `InstanceId`.
    pub instance_id: String,
}

impl Action for DeleteInstance {
    const NAME: &'static str = "DeleteInstance";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl DeleteInstance {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DeleteInstance {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// An answer that carries only `RequestId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EmptyResponse {
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_instance_round_trips_through_the_wire() {
        let request = CreateInstance {
            region_id: "cn-hangzhou".into(),
            token: Some("kvsync-abc".into()),
            instance_name: Some("orders cache".into()),
            instance_class: Some("redis.master.small.default".into()),
            charge_type: Some("PrePaid".into()),
            period: Some(12),
            password: Some(Secret::new("pw")),
            tags: vec![("kvsync:managed".into(), "true".into())],
            ..Default::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["Tag.1.Key"], "kvsync:managed");
        assert_eq!(wire["Period"], "12");
        let parsed = CreateInstance::from_wire(WireParams(&wire)).unwrap();
        assert_eq!(parsed, request);
    }

    #[test]
    fn modify_attribute_sends_booleans_as_text() {
        let request = ModifyInstanceAttribute {
            instance_id: "r-1".into(),
            instance_release_protection: Some(true),
            ..Default::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["InstanceReleaseProtection"], "true");
        assert!(!wire.contains_key("InstanceName"));
    }

    #[test]
    fn attribute_response_uses_sdk_key_spellings() {
        let response = DescribeInstanceAttributeResponse {
            request_id: "r".into(),
            instances: DbInstanceAttributes {
                db_instance_attribute: vec![DbInstanceAttribute::default()],
            },
        };
        let json = serde_json::to_value(&response).unwrap();
        let attribute = &json["Instances"]["DBInstanceAttribute"][0];
        for key in [
            "VSwitchId",
            "QPS",
            "SecurityIPList",
            "InstanceReleaseProtection",
            "Config",
        ] {
            assert!(attribute.get(key).is_some(), "missing {key}");
        }
        assert!(attribute["Config"].is_string());
        assert!(attribute["HasRenewChangeOrder"].is_string());
    }
}

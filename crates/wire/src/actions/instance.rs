//! Instance lifecycle and attribute actions.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

use super::Tags;

pub use super::{
    CreateInstance, DeleteInstance, DescribeInstanceAttribute, DescribeInstances,
    ModifyInstanceAttribute,
};

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

/// The largest page `DescribeInstances` serves.
pub const DESCRIBE_INSTANCES_MAX_PAGE_SIZE: u64 = 50;

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
    pub replica_count: i64,
    pub secondary_zone_id: String,
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
    pub replica_count: i64,
    pub secondary_zone_id: String,
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

/// An answer that carries only `RequestId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EmptyResponse {
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, WireParams};

    use kvsync_secrets::Secret;

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
        let request: ModifyInstanceAttribute = ModifyInstanceAttribute {
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

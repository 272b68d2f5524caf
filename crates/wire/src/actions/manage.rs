//! Instance management: specification, billing, network, endpoints, versions, maintenance window
//! and flushing.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::{
    DescribeDbInstanceNetInfo, FlushInstance, ModifyDbInstanceConnectionString,
    ModifyInstanceMaintainTime, ModifyInstanceMajorVersion, ModifyInstanceNetExpireTime,
    ModifyInstanceSpec, SwitchNetwork, TransformToPrePaid,
};

/// The answer to `ModifyInstanceSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceSpecResponse {
    pub request_id: String,
    /// A **string** here, an integer in `CreateInstance`: the SDK models say so.
    pub order_id: String,
}

/// The answer to `TransformToPrePaid`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TransformToPrePaidResponse {
    pub request_id: String,
    /// When the subscription ends, `yyyy-MM-ddTHH:mm:ssZ`.
    pub end_time: String,
    /// A **string**, as in `ModifyInstanceSpec`.
    pub order_id: String,
}

/// The answer to `DescribeDBInstanceNetInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeDbInstanceNetInfoResponse {
    pub request_id: String,
    /// `CLASSIC` or `VPC`.
    pub instance_network_type: String,
    pub net_info_items: InstanceNetInfos,
}

/// `NetInfoItems: {InstanceNetInfo: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceNetInfos {
    pub instance_net_info: Vec<InstanceNetInfo>,
}

/// One endpoint of an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceNetInfo {
    pub connection_string: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `Private` (VPC), `Inner` (classic network) or `Public`.
    #[serde(rename = "IPType")]
    pub ip_type: String,
    /// A **string** here, an integer in the instance listings: the SDK models say so.
    pub port: String,
    /// `0` (Internet), `1` (classic network) or `2` (VPC).
    #[serde(rename = "DBInstanceNetType")]
    pub db_instance_net_type: String,
    pub direct_connection: i64,
    /// Seconds until a retained classic endpoint expires; empty for other endpoints.
    pub expired_time: String,
    pub is_slave_proxy: i64,
    /// Seconds a retained classic endpoint remains valid; `0` means it does not expire.
    pub upgradeable: String,
    #[serde(rename = "VPCId")]
    pub vpc_id: String,
    #[serde(rename = "VPCInstanceId")]
    pub vpc_instance_id: String,
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
}

/// The answer to `ModifyInstanceNetExpireTime`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceNetExpireTimeResponse {
    pub request_id: String,
    pub instance_id: String,
    pub net_info_items: NetInfoItems,
}

/// `NetInfoItems: {NetInfoItem: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetInfoItems {
    pub net_info_item: Vec<NetInfoItem>,
}

/// A retained classic endpoint and its new expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetInfoItem {
    pub connection_string: String,
    /// `Classic`.
    #[serde(rename = "DBInstanceNetType")]
    pub db_instance_net_type: String,
    /// When the endpoint expires, `yyyy-MM-ddTHH:mm:ssZ`.
    pub expired_time: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// A **string**, as in `DescribeDBInstanceNetInfo`.
    pub port: String,
}

/// The answer to `SwitchNetwork`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwitchNetworkResponse {
    pub request_id: String,
    /// A string.
    pub task_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, ParamError, WireParams};

    #[test]
    fn modify_spec_round_trips_with_its_client_token() {
        let request = ModifyInstanceSpec {
            instance_id: "r-1".into(),
            instance_class: Some("redis.master.mid.default".into()),
            client_token: Some("kvsync-abc".into()),
            auto_pay: Some(true),
            ..Default::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["ClientToken"], "kvsync-abc");
        assert_eq!(wire["AutoPay"], "true");
        assert!(!wire.contains_key("Token"));
        assert_eq!(
            ModifyInstanceSpec::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn connection_string_change_names_the_instance_db_instance_id() {
        let request = ModifyDbInstanceConnectionString {
            db_instance_id: "r-1".into(),
            current_connection_string: "r-1.redis.rds.aliyuncs.com".into(),
            new_connection_string: Some("ordersredis".into()),
            port: Some(6380),
            ip_type: None,
        };
        let wire = request.params().expose();
        assert_eq!(wire["DBInstanceId"], "r-1");
        assert!(!wire.contains_key("InstanceId"));
        assert_eq!(wire["Port"], "6380");
        assert_eq!(
            ModifyDbInstanceConnectionString::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn switch_network_sends_retain_classic_capitalised() {
        let request = SwitchNetwork {
            instance_id: "r-1".into(),
            target_network_type: Some("VPC".into()),
            vpc_id: Some("vpc-1".into()),
            vswitch_id: Some("vsw-1".into()),
            retain_classic: Some(true),
            classic_expired_days: Some(30),
        };
        let wire = request.params().expose();
        assert_eq!(wire["RetainClassic"], "True");
        assert_eq!(wire["ClassicExpiredDays"], "30");
        assert_eq!(
            SwitchNetwork::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn transform_to_prepaid_needs_a_numeric_period() {
        let request = TransformToPrePaid {
            instance_id: "r-1".into(),
            period: 12,
            auto_renew: Some(false),
            ..Default::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["AutoRenew"], "false");
        assert_eq!(
            TransformToPrePaid::from_wire(WireParams(&wire)).unwrap(),
            request
        );
        let mut missing = wire.clone();
        missing.remove("Period");
        assert_eq!(
            TransformToPrePaid::from_wire(WireParams(&missing)),
            Err(ParamError::Missing("Period".into()))
        );
    }

    #[test]
    fn maintain_time_and_major_version_round_trip() {
        let window = ModifyInstanceMaintainTime {
            instance_id: "r-1".into(),
            maintain_start_time: "02:00Z".into(),
            maintain_end_time: "03:00Z".into(),
        };
        let wire = window.params().expose();
        assert_eq!(
            ModifyInstanceMaintainTime::from_wire(WireParams(&wire)).unwrap(),
            window
        );
        let upgrade = ModifyInstanceMajorVersion {
            instance_id: "r-1".into(),
            major_version: "6.0".into(),
            effective_time: Some("Immediately".into()),
        };
        let wire = upgrade.params().expose();
        assert_eq!(
            ModifyInstanceMajorVersion::from_wire(WireParams(&wire)).unwrap(),
            upgrade
        );
    }

    #[test]
    fn net_info_uses_sdk_key_spellings_and_string_ports() {
        let response = DescribeDbInstanceNetInfoResponse {
            net_info_items: InstanceNetInfos {
                instance_net_info: vec![InstanceNetInfo {
                    port: "6379".into(),
                    ..Default::default()
                }],
            },
            ..Default::default()
        };
        let json = serde_json::to_value(&response).unwrap();
        let item = &json["NetInfoItems"]["InstanceNetInfo"][0];
        for key in [
            "ConnectionString",
            "IPAddress",
            "IPType",
            "DBInstanceNetType",
            "VPCId",
            "VPCInstanceId",
            "VSwitchId",
            "ExpiredTime",
            "Upgradeable",
        ] {
            assert!(item.get(key).is_some(), "missing {key}");
        }
        assert_eq!(item["Port"], "6379");
        assert!(json.get("InstanceNetworkType").is_some());
    }

    #[test]
    fn order_ids_and_net_expire_items_use_sdk_types() {
        let spec = serde_json::to_value(ModifyInstanceSpecResponse {
            order_id: "20000000001".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(spec["OrderId"].is_string());
        let expire = serde_json::to_value(ModifyInstanceNetExpireTimeResponse {
            net_info_items: NetInfoItems {
                net_info_item: vec![NetInfoItem::default()],
            },
            ..Default::default()
        })
        .unwrap();
        let item = &expire["NetInfoItems"]["NetInfoItem"][0];
        assert!(item["Port"].is_string());
        assert!(item.get("IPAddress").is_some() && item.get("DBInstanceNetType").is_some());
    }
}

//! Instance management: specification, billing, network, endpoints, versions, maintenance window
//! and flushing.

use serde::{Deserialize, Serialize};

use super::instance::EmptyResponse;
use super::{Action, ParamError, WireParams, wire_bool};
use crate::api::params::Params;

/// `ModifyInstanceSpec`: changes the instance class; `ClientToken` makes the call idempotent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceSpec {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `InstanceClass`: the target class.
    pub instance_class: Option<String>,
    /// `ClientToken`: the idempotency token (at most 64 ASCII characters).
    pub client_token: Option<String>,
    /// `RegionId`.
    pub region_id: Option<String>,
    /// `EffectiveTime`: `Immediately` or `MaintainTime`.
    pub effective_time: Option<String>,
    /// `OrderType`: `UPGRADE` or `DOWNGRADE` (subscription instances).
    pub order_type: Option<String>,
    /// `AutoPay`.
    pub auto_pay: Option<bool>,
    /// `ForceUpgrade`.
    pub force_upgrade: Option<bool>,
    /// `CouponNo`.
    pub coupon_no: Option<String>,
    /// `BusinessInfo`.
    pub business_info: Option<String>,
}

impl Action for ModifyInstanceSpec {
    const NAME: &'static str = "ModifyInstanceSpec";
    const MUTATING: bool = true;
    type Response = ModifyInstanceSpecResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("InstanceClass", self.instance_class.as_deref())
            .set_opt("ClientToken", self.client_token.as_deref())
            .set_opt("RegionId", self.region_id.as_deref())
            .set_opt("EffectiveTime", self.effective_time.as_deref())
            .set_opt("OrderType", self.order_type.as_deref())
            .set_opt("AutoPay", self.auto_pay.map(wire_bool))
            .set_opt("ForceUpgrade", self.force_upgrade.map(wire_bool))
            .set_opt("CouponNo", self.coupon_no.as_deref())
            .set_opt("BusinessInfo", self.business_info.as_deref());
        params
    }
}

impl ModifyInstanceSpec {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceSpec {
            instance_id: wire.required("InstanceId")?.to_owned(),
            instance_class: wire.string("InstanceClass"),
            client_token: wire.string("ClientToken"),
            region_id: wire.string("RegionId"),
            effective_time: wire.string("EffectiveTime"),
            order_type: wire.string("OrderType"),
            auto_pay: wire.bool("AutoPay")?,
            force_upgrade: wire.bool("ForceUpgrade")?,
            coupon_no: wire.string("CouponNo"),
            business_info: wire.string("BusinessInfo"),
        })
    }
}

/// The answer to `ModifyInstanceSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceSpecResponse {
    pub request_id: String,
    /// A **string** here, an integer in `CreateInstance`: the SDK models say so.
    pub order_id: String,
}

/// `TransformToPrePaid`: switches a pay-as-you-go instance to subscription billing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformToPrePaid {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `Period` (required): months; 1–9, 12, 24 or 36.
    pub period: u64,
    /// `AutoPay`.
    pub auto_pay: Option<bool>,
    /// `AutoRenew` (sent as `true`/`false` text).
    pub auto_renew: Option<bool>,
    /// `AutoRenewPeriod`: months.
    pub auto_renew_period: Option<u64>,
    /// `CouponNo`.
    pub coupon_no: Option<String>,
}

impl Action for TransformToPrePaid {
    const NAME: &'static str = "TransformToPrePaid";
    const MUTATING: bool = true;
    type Response = TransformToPrePaidResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("Period", self.period.to_string())
            .set_opt("AutoPay", self.auto_pay.map(wire_bool))
            .set_opt("AutoRenew", self.auto_renew.map(wire_bool))
            .set_opt(
                "AutoRenewPeriod",
                self.auto_renew_period.map(|p| p.to_string()),
            )
            .set_opt("CouponNo", self.coupon_no.as_deref());
        params
    }
}

impl TransformToPrePaid {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(TransformToPrePaid {
            instance_id: wire.required("InstanceId")?.to_owned(),
            period: wire
                .u64("Period")?
                .ok_or_else(|| ParamError::Missing("Period".into()))?,
            auto_pay: wire.bool("AutoPay")?,
            auto_renew: wire.bool("AutoRenew")?,
            auto_renew_period: wire.u64("AutoRenewPeriod")?,
            coupon_no: wire.string("CouponNo"),
        })
    }
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

/// `DescribeDBInstanceNetInfo`: the endpoints of an instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeDbInstanceNetInfo {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `NetType`: accepted and ignored, as the SDK documents no values for it.
    pub net_type: Option<String>,
}

impl Action for DescribeDbInstanceNetInfo {
    const NAME: &'static str = "DescribeDBInstanceNetInfo";
    const MUTATING: bool = false;
    type Response = DescribeDbInstanceNetInfoResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("NetType", self.net_type.as_deref());
        params
    }
}

impl DescribeDbInstanceNetInfo {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeDbInstanceNetInfo {
            instance_id: wire.required("InstanceId")?.to_owned(),
            net_type: wire.string("NetType"),
        })
    }
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

/// `FlushInstance`: erases all data of an instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlushInstance {
    /// `InstanceId` (required).
    pub instance_id: String,
}

impl Action for FlushInstance {
    const NAME: &'static str = "FlushInstance";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl FlushInstance {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(FlushInstance {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// `ModifyInstanceMaintainTime`: sets the maintenance window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceMaintainTime {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `MaintainStartTime` (required): `HH:mmZ`, UTC.
    pub maintain_start_time: String,
    /// `MaintainEndTime` (required): `HH:mmZ`, UTC, one hour after the start.
    pub maintain_end_time: String,
}

impl Action for ModifyInstanceMaintainTime {
    const NAME: &'static str = "ModifyInstanceMaintainTime";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("MaintainStartTime", &self.maintain_start_time)
            .set("MaintainEndTime", &self.maintain_end_time);
        params
    }
}

impl ModifyInstanceMaintainTime {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceMaintainTime {
            instance_id: wire.required("InstanceId")?.to_owned(),
            maintain_start_time: wire.required("MaintainStartTime")?.to_owned(),
            maintain_end_time: wire.required("MaintainEndTime")?.to_owned(),
        })
    }
}

/// `ModifyInstanceNetExpireTime`: sets how long a retained classic endpoint is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceNetExpireTime {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `ConnectionString` (required): the retained classic endpoint.
    pub connection_string: String,
    /// `ClassicExpiredDays` (required): 14, 30, 60 or 120.
    pub classic_expired_days: u64,
}

impl Action for ModifyInstanceNetExpireTime {
    const NAME: &'static str = "ModifyInstanceNetExpireTime";
    const MUTATING: bool = true;
    type Response = ModifyInstanceNetExpireTimeResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("ConnectionString", &self.connection_string)
            .set("ClassicExpiredDays", self.classic_expired_days.to_string());
        params
    }
}

impl ModifyInstanceNetExpireTime {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceNetExpireTime {
            instance_id: wire.required("InstanceId")?.to_owned(),
            connection_string: wire.required("ConnectionString")?.to_owned(),
            classic_expired_days: wire
                .u64("ClassicExpiredDays")?
                .ok_or_else(|| ParamError::Missing("ClassicExpiredDays".into()))?,
        })
    }
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

/// `ModifyDBInstanceConnectionString`: changes the prefix or port of an endpoint. Note the
/// instance is named by `DBInstanceId`, not `InstanceId`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyDbInstanceConnectionString {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `CurrentConnectionString` (required): the endpoint to change.
    pub current_connection_string: String,
    /// `NewConnectionString`: the new prefix (`<prefix>.redis.rds.aliyuncs.com`).
    pub new_connection_string: Option<String>,
    /// `Port`: 1024–65535.
    pub port: Option<u64>,
    /// `IPType`: `Private` or `Public`.
    pub ip_type: Option<String>,
}

impl Action for ModifyDbInstanceConnectionString {
    const NAME: &'static str = "ModifyDBInstanceConnectionString";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("DBInstanceId", &self.db_instance_id)
            .set("CurrentConnectionString", &self.current_connection_string)
            .set_opt("NewConnectionString", self.new_connection_string.as_deref())
            .set_opt("Port", self.port.map(|p| p.to_string()))
            .set_opt("IPType", self.ip_type.as_deref());
        params
    }
}

impl ModifyDbInstanceConnectionString {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyDbInstanceConnectionString {
            db_instance_id: wire.required("DBInstanceId")?.to_owned(),
            current_connection_string: wire.required("CurrentConnectionString")?.to_owned(),
            new_connection_string: wire.string("NewConnectionString"),
            port: wire.u64("Port")?,
            ip_type: wire.string("IPType"),
        })
    }
}

/// `SwitchNetwork`: moves a classic-network instance into a VPC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwitchNetwork {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `TargetNetworkType`: `VPC`.
    pub target_network_type: Option<String>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `VSwitchId`.
    pub vswitch_id: Option<String>,
    /// `RetainClassic`: keep the classic endpoint for `ClassicExpiredDays` (sent as `True`/`False`).
    pub retain_classic: Option<bool>,
    /// `ClassicExpiredDays`: 14, 30, 60 or 120; required with `RetainClassic`.
    pub classic_expired_days: Option<u64>,
}

impl Action for SwitchNetwork {
    const NAME: &'static str = "SwitchNetwork";
    const MUTATING: bool = true;
    type Response = SwitchNetworkResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("TargetNetworkType", self.target_network_type.as_deref())
            .set_opt("VpcId", self.vpc_id.as_deref())
            .set_opt("VSwitchId", self.vswitch_id.as_deref())
            .set_opt(
                "RetainClassic",
                self.retain_classic
                    .map(|retain| if retain { "True" } else { "False" }),
            )
            .set_opt(
                "ClassicExpiredDays",
                self.classic_expired_days.map(|d| d.to_string()),
            );
        params
    }
}

impl SwitchNetwork {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(SwitchNetwork {
            instance_id: wire.required("InstanceId")?.to_owned(),
            target_network_type: wire.string("TargetNetworkType"),
            vpc_id: wire.string("VpcId"),
            vswitch_id: wire.string("VSwitchId"),
            retain_classic: wire.bool("RetainClassic")?,
            classic_expired_days: wire.u64("ClassicExpiredDays")?,
        })
    }
}

/// The answer to `SwitchNetwork`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwitchNetworkResponse {
    pub request_id: String,
    /// A string.
    pub task_id: String,
}

/// `ModifyInstanceMajorVersion`: upgrades the major engine version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceMajorVersion {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `MajorVersion` (required), e.g. `6.0`.
    pub major_version: String,
    /// `EffectiveTime`: `Immediately` or `MaintainTime`.
    pub effective_time: Option<String>,
}

impl Action for ModifyInstanceMajorVersion {
    const NAME: &'static str = "ModifyInstanceMajorVersion";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("MajorVersion", &self.major_version)
            .set_opt("EffectiveTime", self.effective_time.as_deref());
        params
    }
}

impl ModifyInstanceMajorVersion {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceMajorVersion {
            instance_id: wire.required("InstanceId")?.to_owned(),
            major_version: wire.required("MajorVersion")?.to_owned(),
            effective_time: wire.string("EffectiveTime"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

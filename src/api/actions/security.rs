//! Network security: IP whitelist groups, TLS (SSL) and VPC password-free access.

use serde::{Deserialize, Serialize};

use super::instance::EmptyResponse;
use super::{Action, ParamError, WireParams};
use crate::api::params::Params;

/// The whitelist group `ModifySecurityIps` changes when no group is named.
pub const DEFAULT_IP_GROUP: &str = "default";

/// `DescribeSecurityIps`: every whitelist group of an instance, system groups included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeSecurityIps {
    /// `InstanceId` (required).
    pub instance_id: String,
}

impl Action for DescribeSecurityIps {
    const NAME: &'static str = "DescribeSecurityIps";
    const MUTATING: bool = false;
    type Response = DescribeSecurityIpsResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl DescribeSecurityIps {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeSecurityIps {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// The answer to `DescribeSecurityIps`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeSecurityIpsResponse {
    pub request_id: String,
    pub security_ip_groups: SecurityIpGroups,
}

/// `SecurityIpGroups: {SecurityIpGroup: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecurityIpGroups {
    pub security_ip_group: Vec<SecurityIpGroup>,
}

/// One whitelist group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecurityIpGroup {
    pub security_ip_group_name: String,
    /// Empty, or `hidden` for groups the console does not show (the system groups).
    pub security_ip_group_attribute: String,
    /// The IPs and CIDR blocks, comma-joined.
    pub security_ip_list: String,
}

impl SecurityIpGroup {
    /// The entries of `SecurityIpList`, surrounding spaces trimmed, empty entries dropped.
    pub fn ips(&self) -> Vec<&str> {
        self.security_ip_list
            .split(',')
            .map(str::trim)
            .filter(|ip| !ip.is_empty())
            .collect()
    }
}

/// `ModifySecurityIps`: covers, extends or shrinks one whitelist group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifySecurityIps {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `SecurityIps` (required): IPv4 addresses and CIDR blocks, sent comma-joined.
    pub security_ips: Vec<String>,
    /// `SecurityIpGroupName`; the cloud uses `default` when it is absent.
    pub security_ip_group_name: Option<String>,
    /// `SecurityIpGroupAttribute`: empty, or `hidden` to keep the group out of the console.
    pub security_ip_group_attribute: Option<String>,
    /// `ModifyMode`: `Cover` (the default), `Append` or `Delete`.
    pub modify_mode: Option<String>,
}

impl Action for ModifySecurityIps {
    const NAME: &'static str = "ModifySecurityIps";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("SecurityIps", self.security_ips.join(","))
            .set_opt(
                "SecurityIpGroupName",
                self.security_ip_group_name.as_deref(),
            )
            .set_opt(
                "SecurityIpGroupAttribute",
                self.security_ip_group_attribute.as_deref(),
            )
            .set_opt("ModifyMode", self.modify_mode.as_deref());
        params
    }
}

impl ModifySecurityIps {
    /// Parses an incoming request (emulator side). Entries are split on commas and kept as
    /// sent, so that malformed lists reach the emulator's validation.
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifySecurityIps {
            instance_id: wire.required("InstanceId")?.to_owned(),
            security_ips: wire
                .required("SecurityIps")?
                .split(',')
                .map(str::to_owned)
                .collect(),
            security_ip_group_name: wire.string("SecurityIpGroupName"),
            security_ip_group_attribute: wire.string("SecurityIpGroupAttribute"),
            modify_mode: wire.string("ModifyMode"),
        })
    }
}

/// `ModifyInstanceSSL`: switches TLS on or off, or renews the certificate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceSsl {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `SSLEnabled` (required): `Enable`, `Disable` or `Update`.
    pub ssl_enabled: String,
}

impl Action for ModifyInstanceSsl {
    const NAME: &'static str = "ModifyInstanceSSL";
    const MUTATING: bool = true;
    type Response = ModifyInstanceSslResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("SSLEnabled", &self.ssl_enabled);
        params
    }
}

impl ModifyInstanceSsl {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceSsl {
            instance_id: wire.required("InstanceId")?.to_owned(),
            ssl_enabled: wire.required("SSLEnabled")?.to_owned(),
        })
    }
}

/// The answer to `ModifyInstanceSSL`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceSslResponse {
    pub request_id: String,
    pub instance_id: String,
    /// A string in the SDK models, although it holds digits.
    pub task_id: String,
}

/// `DescribeInstanceSSL`: whether TLS is on, and the certificate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeInstanceSsl {
    /// `InstanceId` (required).
    pub instance_id: String,
}

impl Action for DescribeInstanceSsl {
    const NAME: &'static str = "DescribeInstanceSSL";
    const MUTATING: bool = false;
    type Response = DescribeInstanceSslResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl DescribeInstanceSsl {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeInstanceSsl {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// The answer to `DescribeInstanceSSL`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceSslResponse {
    pub request_id: String,
    pub instance_id: String,
    /// `Enable` or `Disable`.
    #[serde(rename = "SSLEnabled")]
    pub ssl_enabled: String,
    /// When the certificate expires (`yyyy-MM-ddTHH:mm:ssZ`); empty while TLS is off.
    #[serde(rename = "SSLExpiredTime")]
    pub ssl_expired_time: String,
    /// The certificate's common name: the instance's connection address.
    pub cert_common_name: String,
    /// Where the CA certificate chain can be downloaded.
    #[serde(rename = "CertDownloadURL")]
    pub cert_download_url: String,
}

/// `ModifyInstanceVpcAuthMode`: password-free access from the instance's VPC on or off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyInstanceVpcAuthMode {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `VpcAuthMode` (required): `Open` (password required) or `Close` (password-free).
    pub vpc_auth_mode: String,
}

impl Action for ModifyInstanceVpcAuthMode {
    const NAME: &'static str = "ModifyInstanceVpcAuthMode";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("VpcAuthMode", &self.vpc_auth_mode);
        params
    }
}

impl ModifyInstanceVpcAuthMode {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyInstanceVpcAuthMode {
            instance_id: wire.required("InstanceId")?.to_owned(),
            vpc_auth_mode: wire.required("VpcAuthMode")?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_security_ips_joins_and_splits_the_list() {
        let request = ModifySecurityIps {
            instance_id: "r-1".into(),
            security_ips: vec!["10.0.1.0/24".into(), "10.0.2.15".into()],
            security_ip_group_name: Some("app".into()),
            modify_mode: Some("Append".into()),
            ..Default::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["SecurityIps"], "10.0.1.0/24,10.0.2.15");
        assert!(!wire.contains_key("SecurityIpGroupAttribute"));
        assert_eq!(
            ModifySecurityIps::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn group_lists_are_read_back_as_entries() {
        let group = SecurityIpGroup {
            security_ip_list: "1.1.1.1, 2.2.2.0/24".into(),
            ..Default::default()
        };
        assert_eq!(group.ips(), vec!["1.1.1.1", "2.2.2.0/24"]);
        assert!(SecurityIpGroup::default().ips().is_empty());
    }

    #[test]
    fn ssl_answers_use_the_sdk_spellings() {
        let json = serde_json::to_value(DescribeInstanceSslResponse::default()).unwrap();
        for key in [
            "SSLEnabled",
            "SSLExpiredTime",
            "CertCommonName",
            "CertDownloadURL",
            "InstanceId",
        ] {
            assert!(json[key].is_string(), "{key}");
        }
        let json = serde_json::to_value(ModifyInstanceSslResponse::default()).unwrap();
        assert!(json["TaskId"].is_string());
    }

    #[test]
    fn describe_security_ips_nests_groups_like_the_sdk() {
        let json = serde_json::to_value(DescribeSecurityIpsResponse {
            security_ip_groups: SecurityIpGroups {
                security_ip_group: vec![SecurityIpGroup::default()],
            },
            ..Default::default()
        })
        .unwrap();
        let group = &json["SecurityIpGroups"]["SecurityIpGroup"][0];
        for key in [
            "SecurityIpGroupName",
            "SecurityIpGroupAttribute",
            "SecurityIpList",
        ] {
            assert!(group[key].is_string(), "{key}");
        }
    }
}

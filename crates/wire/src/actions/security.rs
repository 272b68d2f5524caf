//! Network security: IP whitelist groups, TLS (SSL) and VPC password-free access.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::{
    DescribeInstanceSsl, DescribeSecurityIps, ModifyInstanceSsl, ModifyInstanceVpcAuthMode,
    ModifySecurityIps,
};

/// The whitelist group `ModifySecurityIps` changes when no group is named.
pub const DEFAULT_IP_GROUP: &str = "default";

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

/// The answer to `ModifyInstanceSSL`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceSslResponse {
    pub request_id: String,
    pub instance_id: String,
    /// A string in the SDK models, although it holds digits.
    pub task_id: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, WireParams};

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

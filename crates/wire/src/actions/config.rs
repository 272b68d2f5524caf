//! Parameter actions: an instance's Redis parameters (`Config`) and the `Param*` settings.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::{DescribeInstanceConfig, ModifyInstanceConfig};

/// The answer to `DescribeInstanceConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceConfigResponse {
    pub request_id: String,
    /// The parameters as a JSON **string** of an object, parameter name → value.
    pub config: String,
    /// `yes` or `no`.
    pub param_no_loose_sentinel_enabled: String,
    /// `yes` or `no`.
    pub param_no_loose_sentinel_password_free_access: String,
    /// Comma-separated commands.
    pub param_no_loose_sentinel_password_free_commands: String,
    /// `async` or `semisync`.
    pub param_repl_mode: String,
    /// Milliseconds; set through `ParamSemisyncReplTimeout`.
    pub param_repl_timeout: String,
    /// `0` or `1`.
    pub param_sentinel_compat_enable: String,
}

impl DescribeInstanceConfigResponse {
    /// The `Config` string parsed into parameter → value, numbers as their decimal text.
    /// `None` when it is not a JSON object.
    pub fn parameters(&self) -> Option<BTreeMap<String, String>> {
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.config).ok()?;
        parsed
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => Some((name, text)),
                serde_json::Value::Number(number) => Some((name, number.to_string())),
                _ => None,
            })
            .collect()
    }
}

/// Parameter → value as the JSON object text `Config` takes (values as JSON strings).
pub fn config_json(values: &BTreeMap<String, String>) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, WireParams};

    #[test]
    fn modify_config_round_trips_through_the_wire() {
        let values: BTreeMap<String, String> = [
            ("maxmemory-policy", "allkeys-lru"),
            ("notify-keyspace-events", "Ex"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut request = ModifyInstanceConfig::with_config("r-1", &values);
        request.param_repl_mode = Some("semisync".into());
        let wire = request.params().expose();
        assert_eq!(
            wire["Config"],
            r#"{"maxmemory-policy":"allkeys-lru","notify-keyspace-events":"Ex"}"#
        );
        assert_eq!(wire["ParamReplMode"], "semisync");
        assert!(!wire.contains_key("ParamSentinelCompatEnable"));
        assert_eq!(
            ModifyInstanceConfig::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn config_is_a_string_and_parses_with_numbers_as_text() {
        let response = DescribeInstanceConfigResponse {
            config: r#"{"maxmemory-policy":"noeviction","hash-max-ziplist-entries":512}"#.into(),
            ..DescribeInstanceConfigResponse::default()
        };
        let json = serde_json::to_value(&response).unwrap();
        assert!(json["Config"].is_string());
        assert!(json["ParamReplTimeout"].is_string());
        let parameters = response.parameters().unwrap();
        assert_eq!(parameters["hash-max-ziplist-entries"], "512");
        assert_eq!(parameters["maxmemory-policy"], "noeviction");
        let broken = DescribeInstanceConfigResponse {
            config: "[1]".into(),
            ..DescribeInstanceConfigResponse::default()
        };
        assert_eq!(broken.parameters(), None);
    }
}

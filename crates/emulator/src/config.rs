//! Instance parameters (`Config`) and the `Param*` settings.
//!
//! `Config` holds the Redis parameters of [`PARAMETERS`], each checked against its rule and
//! stored as the text the cloud echoes (`512`, not `512.0`); `DescribeInstanceAttribute` shows
//! the same map. The `Param*` settings (Sentinel compatibility, replication mode) live beside it.

use serde_json::{Value, json};

use super::errors::VendorError;
use super::instances::config_json;
use super::state::{Handled, Instance, State, to_body};
use kvsync_wire::actions::config::{
    DescribeInstanceConfig, DescribeInstanceConfigResponse, ModifyInstanceConfig,
};

/// What values a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A decimal integer in this range.
    Range(i64, i64),
    /// Keyspace notification classes: empty, or `K`/`E` with at least one event class.
    KeyspaceEvents,
    /// Comma-separated command names (letters only).
    Commands,
}

/// The eviction policies `maxmemory-policy` accepts.
pub(crate) const EVICTION_POLICIES: &[&str] = &[
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
];

/// The parameters `Config` may set, with their rules; the same names as
/// [`default_config`](super::state::default_config).
pub(crate) const PARAMETERS: &[(&str, Rule)] = &[
    ("maxmemory-policy", Rule::OneOf(EVICTION_POLICIES)),
    ("hash-max-ziplist-entries", Rule::Range(1, 10_000)),
    ("hash-max-ziplist-value", Rule::Range(1, 10_000)),
    ("list-max-ziplist-entries", Rule::Range(1, 10_000)),
    ("list-max-ziplist-value", Rule::Range(1, 10_000)),
    ("set-max-intset-entries", Rule::Range(1, 10_000)),
    ("zset-max-ziplist-entries", Rule::Range(1, 10_000)),
    ("zset-max-ziplist-value", Rule::Range(1, 10_000)),
    ("notify-keyspace-events", Rule::KeyspaceEvents),
    ("timeout", Rule::Range(0, 100_000)),
    ("appendonly", Rule::OneOf(&["yes", "no"])),
];

/// The older name of `maxmemory-policy` that the vendor's examples still send.
const EVICTION_POLICY_ALIAS: &str = "EvictionPolicy";

/// The event classes of `notify-keyspace-events` besides `K` and `E`.
const KEYSPACE_EVENT_CLASSES: &str = "g$lshzxeAtmdn";

/// A `Param*` setting of `ModifyInstanceConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParamSetting {
    /// Its `DescribeInstanceConfig` field (and key in `Instance::param_settings`).
    pub field: &'static str,
    /// Its `ModifyInstanceConfig` parameter.
    pub parameter: &'static str,
    /// The cloud's default.
    pub default: &'static str,
    /// The values it accepts.
    pub rule: Rule,
}

/// The `Param*` settings.
pub(crate) const PARAM_SETTINGS: &[ParamSetting] = &[
    ParamSetting {
        field: "ParamNoLooseSentinelEnabled",
        parameter: "ParamNoLooseSentinelEnabled",
        default: "no",
        rule: Rule::OneOf(&["yes", "no"]),
    },
    ParamSetting {
        field: "ParamNoLooseSentinelPasswordFreeAccess",
        parameter: "ParamNoLooseSentinelPasswordFreeAccess",
        default: "no",
        rule: Rule::OneOf(&["yes", "no"]),
    },
    ParamSetting {
        field: "ParamNoLooseSentinelPasswordFreeCommands",
        parameter: "ParamNoLooseSentinelPasswordFreeCommands",
        default: "",
        rule: Rule::Commands,
    },
    ParamSetting {
        field: "ParamReplMode",
        parameter: "ParamReplMode",
        default: "async",
        rule: Rule::OneOf(&["async", "semisync"]),
    },
    ParamSetting {
        field: "ParamReplTimeout",
        parameter: "ParamSemisyncReplTimeout",
        default: "500",
        rule: Rule::Range(10, 60_000),
    },
    ParamSetting {
        field: "ParamSentinelCompatEnable",
        parameter: "ParamSentinelCompatEnable",
        default: "0",
        rule: Rule::OneOf(&["0", "1"]),
    },
];

/// Why a `Config` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `Config` is not a JSON object.
    #[error("Config must be a JSON object of parameter names to values.")]
    NotAnObject,
    /// A name that is not a parameter.
    #[error("{0:?} is not a parameter")]
    UnknownParameter(String),
    /// A value that is neither a string nor an integer.
    #[error("the value of {0:?} must be a string or an integer")]
    NotText(String),
    /// A value its parameter's rule refuses.
    #[error("{value:?} is not a valid value of {name:?}: {allowed}")]
    BadValue {
        /// The parameter.
        name: String,
        /// The value as sent.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The same parameter given twice (under both of its names) with different values.
    #[error("{0:?} is given twice with different values")]
    Conflict(String),
}

impl From<ConfigError> for VendorError {
    fn from(err: ConfigError) -> Self {
        match err {
            ConfigError::UnknownParameter(name) => VendorError::invalid_parameter(&name),
            other => VendorError::config_invalid(&other.to_string()),
        }
    }
}

/// The rule of a parameter, by its canonical name.
pub(crate) fn rule(name: &str) -> Option<Rule> {
    PARAMETERS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, rule)| *rule)
}

/// Whether `value` satisfies `rule`.
pub(crate) fn satisfies(rule: Rule, value: &str) -> bool {
    match rule {
        Rule::OneOf(words) => words.contains(&value),
        Rule::Range(low, high) => in_range(value, low, high),
        Rule::KeyspaceEvents => valid_keyspace_events(value),
        Rule::Commands => valid_commands(value),
    }
}

/// Comma-separated command names, each of ASCII letters.
fn valid_commands(value: &str) -> bool {
    value
        .split(',')
        .all(|command| !command.is_empty() && command.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Whether `value` is a plain decimal integer (optional `-`, no spaces or `+`) in `low..=high`.
fn in_range(value: &str, low: i64, high: i64) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && value
            .parse::<i64>()
            .is_ok_and(|number| (low..=high).contains(&number))
}

/// `notify-keyspace-events`: empty (off), or characters of `KE` plus the event classes, with at
/// least one of `K`/`E` and at least one event class.
pub(crate) fn valid_keyspace_events(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    let known = value
        .chars()
        .all(|c| c == 'K' || c == 'E' || KEYSPACE_EVENT_CLASSES.contains(c));
    let target = value.contains('K') || value.contains('E');
    let class = value.chars().any(|c| KEYSPACE_EVENT_CLASSES.contains(c));
    known && target && class
}

/// A description of what `rule` allows, for error messages.
fn allowed(rule: Rule) -> String {
    match rule {
        Rule::OneOf(words) => format!("one of {}", words.join(", ")),
        Rule::Range(low, high) => format!("an integer from {low} to {high}"),
        Rule::KeyspaceEvents => {
            format!("empty, or K and/or E with at least one of {KEYSPACE_EVENT_CLASSES}")
        }
        Rule::Commands => "comma-separated command names".to_owned(),
    }
}

/// The text a JSON value stands for: strings as they are, integers in decimal.
fn value_text(name: &str, value: &Value) -> Result<String, ConfigError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Ok(number.to_string()),
        _ => Err(ConfigError::NotText(name.to_owned())),
    }
}

/// Parses and checks a `Config` document into parameter → value (canonical names).
pub(crate) fn parse_config(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let object: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|_| ConfigError::NotAnObject)?;
    let mut values: Vec<(String, String)> = Vec::new();
    for (given, value) in &object {
        let name = if given == EVICTION_POLICY_ALIAS {
            "maxmemory-policy"
        } else {
            given.as_str()
        };
        let rule = rule(name).ok_or_else(|| ConfigError::UnknownParameter(given.clone()))?;
        let text = value_text(given, value)?;
        if !satisfies(rule, &text) {
            return Err(ConfigError::BadValue {
                name: given.clone(),
                value: text,
                allowed: allowed(rule),
            });
        }
        match values.iter().find(|(known, _)| known == name) {
            Some((_, earlier)) if *earlier != text => {
                return Err(ConfigError::Conflict(name.to_owned()));
            }
            Some(_) => {}
            None => values.push((name.to_owned(), text)),
        }
    }
    Ok(values)
}

/// The `Param*` values of a request, checked, keyed by their `DescribeInstanceConfig` field.
fn param_values(
    request: &ModifyInstanceConfig,
) -> Result<Vec<(&'static str, String)>, VendorError> {
    let given = request.param_fields();
    let mut values = Vec::new();
    for setting in PARAM_SETTINGS {
        let Some((_, Some(value))) = given.iter().find(|(name, _)| *name == setting.parameter)
        else {
            continue;
        };
        if !satisfies(setting.rule, value) {
            return Err(VendorError::invalid_parameter(setting.parameter));
        }
        values.push((setting.field, (*value).to_owned()));
    }
    Ok(values)
}

/// A `Param*` setting of an instance, or the cloud's default.
fn param_setting(instance: &Instance, field: &str) -> String {
    instance
        .param_settings
        .get(field)
        .cloned()
        .or_else(|| {
            PARAM_SETTINGS
                .iter()
                .find(|setting| setting.field == field)
                .map(|setting| setting.default.to_owned())
        })
        .unwrap_or_default()
}

/// `DescribeInstanceConfig`.
pub(crate) fn describe(
    state: &State,
    request: DescribeInstanceConfig,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    Ok(Handled::read(to_body(&DescribeInstanceConfigResponse {
        request_id: String::new(),
        config: config_json(instance),
        param_no_loose_sentinel_enabled: param_setting(instance, "ParamNoLooseSentinelEnabled"),
        param_no_loose_sentinel_password_free_access: param_setting(
            instance,
            "ParamNoLooseSentinelPasswordFreeAccess",
        ),
        param_no_loose_sentinel_password_free_commands: param_setting(
            instance,
            "ParamNoLooseSentinelPasswordFreeCommands",
        ),
        param_repl_mode: param_setting(instance, "ParamReplMode"),
        param_repl_timeout: param_setting(instance, "ParamReplTimeout"),
        param_sentinel_compat_enable: param_setting(instance, "ParamSentinelCompatEnable"),
    })))
}

/// `ModifyInstanceConfig`: checks every value first, then sets them all at once.
pub(crate) fn modify(
    state: &mut State,
    request: ModifyInstanceConfig,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    let any_param = request
        .param_fields()
        .iter()
        .any(|(_, value)| value.is_some());
    let config = match request.config.as_deref() {
        Some(text) => parse_config(text)?,
        None if any_param => Vec::new(),
        None => return Err(VendorError::missing_parameter("Config")),
    };
    let settings = param_values(&request)?;
    instance.require_normal()?;
    instance.config.extend(config);
    instance.param_settings.extend(
        settings
            .into_iter()
            .map(|(field, value)| (field.to_owned(), value)),
    );
    Ok(Handled::wrote(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::default_config;

    #[test]
    fn every_default_parameter_has_a_rule_its_default_satisfies() {
        let defaults = default_config();
        assert_eq!(defaults.len(), PARAMETERS.len());
        for (name, value) in &defaults {
            let rule = rule(name).unwrap_or_else(|| panic!("{name} has no rule"));
            assert!(satisfies(rule, value), "default {name}={value}");
        }
    }

    #[test]
    fn eviction_policies_are_the_eight_redis_ones() {
        let policy = rule("maxmemory-policy").unwrap();
        for name in EVICTION_POLICIES {
            assert!(satisfies(policy, name));
        }
        assert_eq!(EVICTION_POLICIES.len(), 8);
        assert!(!satisfies(policy, "AllKeysLRU"));
        assert!(!satisfies(policy, "allkeys-lru "));
    }

    #[test]
    fn integer_ranges_take_plain_decimals_only() {
        let entries = rule("hash-max-ziplist-entries").unwrap();
        assert!(satisfies(entries, "1"));
        assert!(satisfies(entries, "10000"));
        for bad in ["0", "10001", "-1", "+5", " 5", "5.0", "", "1e3", "five"] {
            assert!(!satisfies(entries, bad), "{bad:?}");
        }
        let timeout = rule("timeout").unwrap();
        assert!(satisfies(timeout, "0"));
        assert!(!satisfies(timeout, "100001"));
    }

    #[test]
    fn keyspace_events_need_a_target_and_a_class() {
        for good in ["", "Ex", "KEA", "Kg$", "Elshzxe", "KEtmdn"] {
            assert!(valid_keyspace_events(good), "{good:?}");
        }
        for bad in ["x", "K", "E", "KE", "Exq", "ex", "K E"] {
            assert!(!valid_keyspace_events(bad), "{bad:?}");
        }
    }

    #[test]
    fn appendonly_is_yes_or_no() {
        let appendonly = rule("appendonly").unwrap();
        assert!(satisfies(appendonly, "yes"));
        assert!(satisfies(appendonly, "no"));
        assert!(!satisfies(appendonly, "true"));
    }

    #[test]
    fn config_values_may_be_strings_or_integers_and_are_kept_as_text() {
        let values =
            parse_config(r#"{"hash-max-ziplist-entries":256,"maxmemory-policy":"noeviction"}"#)
                .unwrap();
        assert_eq!(
            values,
            vec![
                ("hash-max-ziplist-entries".to_owned(), "256".to_owned()),
                ("maxmemory-policy".to_owned(), "noeviction".to_owned()),
            ]
        );
        assert_eq!(
            parse_config(r#"{"timeout":1.5}"#),
            Err(ConfigError::NotText("timeout".into()))
        );
        assert_eq!(
            parse_config(r#"{"appendonly":true}"#),
            Err(ConfigError::NotText("appendonly".into()))
        );
    }

    #[test]
    fn config_documents_must_be_objects_of_known_parameters() {
        for text in ["", "[]", "\"x\"", "{", "maxmemory-policy=noeviction"] {
            assert_eq!(parse_config(text), Err(ConfigError::NotAnObject), "{text}");
        }
        assert_eq!(
            parse_config(r#"{"maxmemory":"1gb"}"#),
            Err(ConfigError::UnknownParameter("maxmemory".into()))
        );
        assert!(matches!(
            parse_config(r#"{"maxmemory-policy":"lru"}"#),
            Err(ConfigError::BadValue { name, .. }) if name == "maxmemory-policy"
        ));
    }

    #[test]
    fn the_legacy_eviction_policy_name_sets_maxmemory_policy() {
        assert_eq!(
            parse_config(r#"{"EvictionPolicy":"allkeys-lfu"}"#),
            Ok(vec![(
                "maxmemory-policy".to_owned(),
                "allkeys-lfu".to_owned()
            )])
        );
        assert_eq!(
            parse_config(r#"{"EvictionPolicy":"allkeys-lfu","maxmemory-policy":"noeviction"}"#),
            Err(ConfigError::Conflict("maxmemory-policy".into()))
        );
    }

    #[test]
    fn unknown_parameters_are_named_in_the_vendor_error() {
        let err = VendorError::from(ConfigError::UnknownParameter("maxmemory".into()));
        assert_eq!(err.code, "InvalidParameter");
        assert!(err.message.contains("\"maxmemory\""), "{}", err.message);
        let err = VendorError::from(ConfigError::NotAnObject);
        assert_eq!(err.code, "InvalidParameters.Format");
    }

    #[test]
    fn param_settings_follow_their_rules() {
        assert!(satisfies(Rule::OneOf(&["async", "semisync"]), "semisync"));
        assert!(!satisfies(Rule::OneOf(&["async", "semisync"]), "sync"));
        assert!(satisfies(Rule::Range(10, 60_000), "500"));
        assert!(!satisfies(Rule::Range(10, 60_000), "9"));
        assert!(satisfies(Rule::Commands, "info,ping"));
        assert!(!satisfies(Rule::Commands, "info,,ping"));
        assert!(!satisfies(Rule::Commands, "flush all"));
    }
}

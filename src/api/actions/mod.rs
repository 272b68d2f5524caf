//! Wire types of the R-KVStore `2015-01-01` actions.
//!
//! Every request is declared once, in [`catalog`], and [`declare`]'s macro derives from that
//! declaration how it serialises to [`Params`] (client side), how it parses from the wire map
//! (emulator side and saved plans), [`Request`] and the emulator's [`Handler`]. Response types,
//! one module per family, are the JSON bodies in the official SDK models' shape and key
//! spelling. These are the only types the client and the emulator share.

pub mod account;
pub mod backup;
pub mod catalog;
pub mod config;
pub mod declare;
pub mod instance;
pub mod manage;
pub mod monitor;
pub mod region;
pub mod security;
pub mod tag;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::params::Params;

pub use catalog::*;
pub use declare::{Class, Impact, SecretSlot};

/// What a request of an instance created earlier in the same plan says in place of its ID
/// until `CreateInstance` answers; [`Request::bind`] replaces it.
pub const NEW_INSTANCE_ID: &str = "${CreateInstance.InstanceId}";

/// One API action: its wire name, its parameters and the shape of its answer.
pub trait Action {
    /// The `Action` parameter.
    const NAME: &'static str;
    /// Whether the call reads or writes, and how disruptive a write is.
    const CLASS: Class;
    /// The parameter that carries the idempotency token, if the action has one.
    const TOKEN: Option<&'static str>;
    /// Whether the call changes cloud state (used for logging and retry decisions).
    const MUTATING: bool = matches!(Self::CLASS, Class::Write(_));
    /// The JSON body of a successful answer.
    type Response: DeserializeOwned + Serialize;
    /// What the request's secrets are: [`Secret`](crate::secret::Secret) values to send, or
    /// references in a plan. Only requests of values can be sent.
    type Secrets;
    /// The action-specific parameters (common parameters are added by the client).
    fn params(&self) -> Params;
}

/// Why a wire request could not be parsed into a typed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A required parameter is absent or empty.
    #[error(
        "the input parameter \"{0}\" that is mandatory for processing this request is not supplied"
    )]
    Missing(String),
    /// A parameter is present but not of the documented form.
    #[error("the specified parameter \"{name}\" is not valid")]
    Invalid {
        /// The parameter's wire name.
        name: String,
        /// Its value as received.
        value: String,
    },
}

/// Read access to the decoded parameters of an incoming request (the emulator's side).
#[derive(Debug, Clone, Copy)]
pub struct WireParams<'a>(pub &'a BTreeMap<String, String>);

impl<'a> WireParams<'a> {
    /// A parameter that may be absent; an empty value counts as absent.
    pub fn optional(&self, name: &str) -> Option<&'a str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&'a str, ParamError> {
        self.optional(name)
            .ok_or_else(|| ParamError::Missing(name.to_owned()))
    }

    /// An optional owned string.
    pub fn string(&self, name: &str) -> Option<String> {
        self.optional(name).map(str::to_owned)
    }

    /// An optional boolean; `true`/`True`/`TRUE` and `false`/… are accepted, as the SDKs send
    /// Python's `str(bool)`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.optional(name) {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => Err(invalid(name, value)),
        }
    }

    /// An optional non-negative integer.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ParamError> {
        self.optional(name)
            .map(|value| value.trim().parse().map_err(|_| invalid(name, value)))
            .transpose()
    }

    /// A 1-based list of plain values (`Name.1`, `Name.2`, …), in index order. Indexes need not
    /// be contiguous; an index that is not a number, or an empty value, is refused.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ParamError> {
        let prefix = format!("{name}.");
        let mut by_index: BTreeMap<u32, String> = BTreeMap::new();
        for (key, value) in self.0.range(prefix.clone()..) {
            let Some(index) = key.strip_prefix(&prefix) else {
                break;
            };
            let index: u32 = index.parse().map_err(|_| invalid(key, value))?;
            if value.is_empty() {
                return Err(ParamError::Missing(key.clone()));
            }
            by_index.insert(index, value.clone());
        }
        Ok(by_index.into_values().collect())
    }

    /// A 1-based list of key/value objects (`Tag.1.Key`, `Tag.1.Value`, …), in index order.
    /// Indexes need not be contiguous; a `Key` is required for every index that appears.
    pub fn key_values(&self, name: &str) -> Result<Vec<(String, String)>, ParamError> {
        let prefix = format!("{name}.");
        let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (key, value) in self.0.range(prefix.clone()..) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let index: u32 = index.parse().map_err(|_| invalid(key, value))?;
            let entry = by_index.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(value.clone()),
                "Value" => entry.1 = Some(value.clone()),
                _ => return Err(invalid(key, value)),
            }
        }
        by_index
            .into_iter()
            .map(|(index, (key, value))| match key {
                Some(key) if !key.is_empty() => Ok((key, value.unwrap_or_default())),
                _ => Err(ParamError::Missing(format!("{name}.{index}.Key"))),
            })
            .collect()
    }
}

fn invalid(name: &str, value: &str) -> ParamError {
    ParamError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// One `Key`/`Value` tag, as it appears in responses.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    /// The tag key.
    pub key: String,
    /// The tag value.
    pub value: String,
}

/// The `Tags: {Tag: [...]}` wrapper used by instance listings.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tags {
    /// The tags.
    pub tag: Vec<Tag>,
}

/// Serialises a value as the text the SDKs send for it (`true`/`false`, decimal numbers).
pub(crate) fn wire_bool(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn booleans_are_case_insensitive() {
        let map = wire(&[("A", "True"), ("B", "false"), ("C", "yes")]);
        let params = WireParams(&map);
        assert_eq!(params.bool("A"), Ok(Some(true)));
        assert_eq!(params.bool("B"), Ok(Some(false)));
        assert!(matches!(params.bool("C"), Err(ParamError::Invalid { .. })));
        assert_eq!(params.bool("D"), Ok(None));
    }

    #[test]
    fn key_values_follow_numeric_index_order() {
        let map = wire(&[
            ("Tag.10.Key", "ten"),
            ("Tag.10.Value", "10"),
            ("Tag.2.Key", "two"),
            ("Tag.2.Value", "2"),
            ("Tagged", "x"),
        ]);
        let tags = WireParams(&map).key_values("Tag").unwrap();
        assert_eq!(
            tags,
            vec![
                ("two".to_string(), "2".to_string()),
                ("ten".to_string(), "10".to_string())
            ]
        );
    }

    #[test]
    fn key_values_need_a_key() {
        let map = wire(&[("Tag.1.Value", "v")]);
        assert_eq!(
            WireParams(&map).key_values("Tag"),
            Err(ParamError::Missing("Tag.1.Key".into()))
        );
    }

    #[test]
    fn lists_follow_numeric_index_order() {
        let map = wire(&[
            ("ResourceId.10", "r-ten"),
            ("ResourceId.2", "r-two"),
            ("ResourceIdX", "ignored"),
            ("ResourceType", "INSTANCE"),
        ]);
        assert_eq!(
            WireParams(&map).list("ResourceId"),
            Ok(vec!["r-two".to_string(), "r-ten".to_string()])
        );
        assert_eq!(WireParams(&map).list("TagKey"), Ok(vec![]));
    }

    #[test]
    fn lists_refuse_bad_indexes_and_empty_values() {
        let map = wire(&[("TagKey.one", "a")]);
        assert!(matches!(
            WireParams(&map).list("TagKey"),
            Err(ParamError::Invalid { .. })
        ));
        let map = wire(&[("TagKey.1", "")]);
        assert_eq!(
            WireParams(&map).list("TagKey"),
            Err(ParamError::Missing("TagKey.1".into()))
        );
    }

    #[test]
    fn empty_values_count_as_missing() {
        let map = wire(&[("InstanceId", "")]);
        assert_eq!(
            WireParams(&map).required("InstanceId"),
            Err(ParamError::Missing("InstanceId".into()))
        );
    }
}

//! The manifest as written: serde structs with source spans, unknown fields refused.
//!
//! Nothing here judges values; [`super::validate`] turns these into the validated model.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use super::secret::RawSecretRef;

/// The fields every document has, read leniently to decide how to parse the rest.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// `apiVersion`.
    pub api_version: Option<Spanned<String>>,
    /// `kind`.
    pub kind: Option<Spanned<String>>,
}

/// A `kind: Instance` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<InstanceMetadata>,
    /// `spec`.
    pub spec: Spanned<InstanceSpec>,
}

/// `metadata` of an instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceMetadata {
    /// The instance name (its identity within the region).
    pub name: Spanned<String>,
    /// The region; defaults to the stack's.
    pub region: Option<Spanned<String>>,
    /// Labels, applied as instance tags.
    pub labels: Option<Spanned<Entries<Spanned<String>>>>,
}

/// `spec` of an instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceSpec {
    /// Pins or adopts an existing instance by ID.
    pub instance_id: Option<Spanned<String>>,
    /// `InstanceClass`.
    pub instance_class: Option<Spanned<String>>,
    /// `EngineVersion`.
    pub engine_version: Option<Spanned<String>>,
    /// `ZoneId`.
    pub zone_id: Option<Spanned<String>>,
    /// `ChargeType`.
    pub charge_type: Option<Spanned<ChargeType>>,
    /// Subscription months (PrePaid).
    pub period: Option<Spanned<u32>>,
    /// Network placement.
    pub network: Option<Spanned<Network>>,
    /// The default account's password.
    pub password: Option<Spanned<RawSecretRef>>,
    /// `InstanceReleaseProtection`.
    pub release_protection: Option<Spanned<bool>>,
}

/// Billing method, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ChargeType {
    /// Pay-as-you-go.
    PostPaid,
    /// Subscription.
    PrePaid,
}

/// `spec.network`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// `VPC` or `Classic`.
    #[serde(rename = "type")]
    pub network_type: Spanned<NetworkType>,
    /// The VPC.
    pub vpc_id: Option<Spanned<String>>,
    /// The vSwitch.
    #[serde(rename = "vSwitchId")]
    pub vswitch_id: Option<Spanned<String>>,
}

/// Network type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum NetworkType {
    /// A virtual private cloud.
    #[serde(rename = "VPC")]
    Vpc,
    /// The classic network.
    Classic,
}

/// A `kind: Stack` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<StackMetadata>,
    /// `spec`.
    #[serde(default)]
    pub spec: Option<Spanned<StackSpec>>,
}

/// `metadata` of a stack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackMetadata {
    /// The stack's name, used in ownership tags.
    pub name: Spanned<String>,
}

/// `spec` of a stack.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackSpec {
    /// Region for instances that name none.
    pub region: Option<Spanned<String>>,
    /// Whether instances of this stack that no manifest describes are deleted.
    pub prune: Option<Spanned<bool>>,
}

/// A mapping read in document order with the span of every key, for rules about keys.
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

//! The emulated cloud's state and the dispatch of one request against it.
//!
//! [`State::handle`] is synchronous and deterministic: the time, the configured durations and
//! the request are its inputs; the answer body and whether anything changed are its outputs.
//! Networking, signatures, persistence and faults live in the server around it.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::VendorError;
use super::instances;
use super::lifecycle::Lifecycle;
use crate::api::actions::WireParams;

/// How long transitional statuses last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    /// `Creating` → `Normal`.
    pub create: SignedDuration,
    /// `Changing` → `Normal`.
    pub change: SignedDuration,
}

impl Default for Durations {
    fn default() -> Self {
        Durations {
            create: SignedDuration::from_secs(3),
            change: SignedDuration::from_secs(2),
        }
    }
}

/// The inputs of one request besides its parameters.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The emulated cloud's time.
    pub now: Timestamp,
    /// Transition durations.
    pub durations: Durations,
}

/// One emulated instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub zone_id: String,
    pub instance_class: String,
    pub engine_version: String,
    pub charge_type: String,
    pub end_time: Option<Timestamp>,
    pub network_type: String,
    pub vpc_id: String,
    pub vswitch_id: String,
    /// Salted SHA-256 of the default account's password; the password itself is never stored.
    pub password_digest: Option<String>,
    pub tags: Vec<(String, String)>,
    pub release_protection: bool,
    pub lifecycle: Lifecycle,
    pub created: Timestamp,
    /// Creation order, for listings (newest first).
    pub sequence: u64,
    pub private_ip: String,
}

/// What a `Token` was first used for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Digest of the request's business parameters.
    pub fingerprint: String,
    /// The answer given the first time (without `RequestId`).
    pub response: Value,
}

/// Everything the emulated cloud knows; persisted as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Instances by ID.
    pub instances: BTreeMap<String, Instance>,
    /// `CreateInstance` tokens.
    pub tokens: BTreeMap<String, TokenRecord>,
    /// The last sequence number handed out.
    pub sequence: u64,
}

/// The result of a request that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The answer body, without `RequestId`.
    pub body: Value,
    /// Whether the state changed (and must be persisted).
    pub changed: bool,
}

impl Handled {
    /// An answer that changed nothing.
    pub fn read(body: Value) -> Self {
        Handled {
            body,
            changed: false,
        }
    }

    /// An answer to a change.
    pub fn wrote(body: Value) -> Self {
        Handled {
            body,
            changed: true,
        }
    }
}

/// Parameters that belong to the protocol, not to the business request.
pub const PROTOCOL_PARAMS: &[&str] = &[
    "AccessKeyId",
    "Action",
    "Format",
    "SecurityToken",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureType",
    "SignatureVersion",
    "Timestamp",
    "Version",
];

impl State {
    /// Handles one API request whose signature has already been verified.
    pub fn handle(
        &mut self,
        action: &str,
        wire: &BTreeMap<String, String>,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        self.settle(ctx.now);
        let params = WireParams(wire);
        match action {
            "CreateInstance" => instances::create(self, params, ctx),
            "DescribeInstances" => instances::describe_page(self, params),
            "DescribeInstanceAttribute" => instances::describe_attribute(self, params),
            "ModifyInstanceAttribute" => instances::modify_attribute(self, params),
            "DeleteInstance" => instances::delete(self, params),
            "DescribeRegions" => instances::describe_regions(params),
            _ => Err(VendorError::action_not_found()),
        }
    }

    /// Completes every transition whose time has come.
    pub fn settle(&mut self, now: Timestamp) {
        for instance in self.instances.values_mut() {
            instance.lifecycle = instance.lifecycle.settled(now);
        }
    }

    /// The next sequence number.
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// An instance by ID, or the vendor's not-found error.
    pub fn instance_mut(&mut self, id: &str) -> Result<&mut Instance, VendorError> {
        self.instances
            .get_mut(id)
            .ok_or_else(VendorError::instance_not_found)
    }
}

/// Hex SHA-256 of the business parameters (protocol parameters and `exclude` left out).
pub fn fingerprint(wire: &BTreeMap<String, String>, exclude: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in wire {
        if PROTOCOL_PARAMS.contains(&key.as_str()) || exclude.contains(&key.as_str()) {
            continue;
        }
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

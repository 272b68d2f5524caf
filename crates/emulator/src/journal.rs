//! The requests the emulator accepted, as received: what `/_emulator/requests` serves, so a test
//! can compare what a client sent with what it said it would send.
//!
//! Only requests whose signature checked out are kept, with the protocol parameters left out
//! and every secret parameter (as the action's declaration marks it, or by a password-like
//! name when the request does not parse) replaced by `sha256:` and the hex SHA-256 of its
//! value (credentials such as an `OIDCToken` as `(secret)`; the `SecurityToken` is a protocol
//! parameter, left out): the journal never holds a secret. It keeps the newest [`CAPACITY`] requests.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::state::PROTOCOL_PARAMS;
use kvsync_secrets::Secret;
use kvsync_wire::actions::{Request, WireParams};
use kvsync_wire::params::ParamValue;

/// Parameters that carry a credential (STS's `OIDCToken` and SAML assertion): shown as
/// [`CREDENTIAL_SHOWN`], not even digested. (`SecurityToken` is a protocol parameter and left
/// out altogether.)
const CREDENTIAL_PARAMS: &[&str] = &["OIDCToken", "SAMLAssertion"];

/// How the journal shows a credential parameter.
const CREDENTIAL_SHOWN: &str = "(secret)";

/// How many requests the journal keeps.
pub(crate) const CAPACITY: usize = 10_000;

/// One accepted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Received {
    /// The `Action` parameter.
    pub action: String,
    /// The `AccessKeyId` that signed it: which caller (a replica, a pipeline) made the call.
    pub access_key_id: String,
    /// Every other parameter that is not a protocol parameter, secrets as digests.
    pub parameters: BTreeMap<String, String>,
}

/// The newest accepted requests, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Journal(VecDeque<Received>);

impl Journal {
    /// Records a request whose signature was verified.
    pub(crate) fn record(&mut self, action: &str, wire: &BTreeMap<String, String>) {
        if self.0.len() == CAPACITY {
            self.0.pop_front();
        }
        self.0.push_back(received(action, wire));
    }

    /// The requests, oldest first.
    pub(crate) fn entries(&self) -> Vec<Received> {
        self.0.iter().cloned().collect()
    }
}

/// `wire` as the journal keeps it.
pub(crate) fn received(action: &str, wire: &BTreeMap<String, String>) -> Received {
    let declared: Vec<String> = match Request::<Secret>::from_wire(action, WireParams(wire)) {
        Some(Ok(request)) => request
            .params()
            .iter()
            .filter(|(_, value)| matches!(value, ParamValue::Secret(_)))
            .map(|(name, _)| name.to_owned())
            .collect(),
        _ => Vec::new(),
    };
    let parameters = wire
        .iter()
        .filter(|(name, _)| !PROTOCOL_PARAMS.contains(&name.as_str()))
        .map(|(name, value)| {
            let secret = declared.contains(name) || name.ends_with("Password");
            let value = if CREDENTIAL_PARAMS.contains(&name.as_str()) {
                CREDENTIAL_SHOWN.to_owned()
            } else if secret {
                digest(value)
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    Received {
        action: action.to_owned(),
        access_key_id: wire.get("AccessKeyId").cloned().unwrap_or_default(),
        parameters,
    }
}

/// How the journal shows a secret value.
pub(crate) fn digest(value: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(value.as_bytes())))
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
    fn secrets_and_protocol_parameters_never_enter_the_journal() {
        let sent = wire(&[
            ("Action", "CreateAccount"),
            ("AccessKeyId", "LTAI-replica-2"),
            ("Signature", "sig"),
            ("SignatureNonce", "n"),
            ("InstanceId", "r-1"),
            ("AccountName", "app"),
            ("AccountPassword", "Hunter2!x"),
        ]);
        let got = received("CreateAccount", &sent);
        assert_eq!(got.parameters["InstanceId"], "r-1");
        assert_eq!(got.parameters["AccountPassword"], digest("Hunter2!x"));
        assert!(!got.parameters.contains_key("Signature"));
        // Who signed it is kept beside the parameters, not among them.
        assert_eq!(got.access_key_id, "LTAI-replica-2");
        assert!(!got.parameters.contains_key("AccessKeyId"));
        assert!(!format!("{got:?}").contains("Hunter2"));
        // A request that does not parse is still kept without its password.
        let broken = received("CreateAccount", &wire(&[("AccountPassword", "Hunter2!x")]));
        assert_eq!(broken.parameters["AccountPassword"], digest("Hunter2!x"));
        // STS: the OIDC token is shown as (secret), the security token not at all.
        let oidc = received(
            "AssumeRoleWithOIDC",
            &wire(&[
                ("OIDCToken", "eyJhbGciOi.payload.sig"),
                ("SecurityToken", "CAISxyz"),
                ("RoleArn", "acs:ram::1:role/r"),
            ]),
        );
        assert_eq!(oidc.parameters["OIDCToken"], "(secret)");
        assert_eq!(oidc.parameters["RoleArn"], "acs:ram::1:role/r");
        assert!(!oidc.parameters.contains_key("SecurityToken"));
        assert_eq!(oidc.access_key_id, "");
        assert!(!format!("{oidc:?}").contains("eyJ") && !format!("{oidc:?}").contains("CAIS"));
    }

    #[test]
    fn the_journal_keeps_the_newest_requests() {
        let mut journal = Journal::default();
        for n in 0..CAPACITY + 3 {
            journal.record(
                "DescribeRegions",
                &wire(&[("AcceptLanguage", &n.to_string())]),
            );
        }
        let entries = journal.entries();
        assert_eq!(entries.len(), CAPACITY);
        assert_eq!(entries[0].parameters["AcceptLanguage"], "3");
    }
}

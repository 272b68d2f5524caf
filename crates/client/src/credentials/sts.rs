//! STS (`2015-04-01`): `AssumeRole`, signed with the base credentials like every RPC call, and
//! `AssumeRoleWithOIDC`, which is anonymous (the OIDC token is the proof). Parameter and field
//! names are those of the official SDK's models (`alibabacloud_sts20150401`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

use super::{Credentials, RoleRequest};
use crate::error::Error;
use crate::{format_timestamp, transport};
use kvsync_secrets::Secret;
use kvsync_wire::sign;

/// The STS API version.
pub const STS_VERSION: &str = "2015-04-01";

/// Temporary credentials as STS (or the metadata service) issued them.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The key, secret and token.
    pub credentials: Credentials,
    /// When they stop being accepted, on the issuer's clock.
    pub expiration: Timestamp,
}

/// The `Credentials` object of an STS answer.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    credentials: WireCredentials,
}

impl WireCredentials {
    fn issued(self) -> Result<Issued, String> {
        let expiration = self
            .expiration
            .parse::<Timestamp>()
            .map_err(|_| format!("the Expiration {:?} is not a time", self.expiration))?;
        if self.access_key_id.is_empty()
            || self.access_key_secret.is_empty()
            || self.security_token.is_empty()
        {
            return Err("the answer's Credentials lack a key, a secret or a token".into());
        }
        let credentials = Credentials {
            access_key_id: self.access_key_id,
            access_key_secret: Secret::new(self.access_key_secret),
            security_token: Some(Secret::new(self.security_token)),
        };
        // From here on no text anywhere in the process may show them.
        credentials.register();
        Ok(Issued {
            credentials,
            expiration,
        })
    }
}

/// The parameters of one role request: `RoleArn`, `RoleSessionName`, `DurationSeconds` and the
/// optional `Policy` and `ExternalId`.
fn role_params(role: &RoleRequest) -> BTreeMap<String, String> {
    let mut params = BTreeMap::from([
        ("RoleArn".to_owned(), role.role_arn.clone()),
        ("RoleSessionName".to_owned(), role.session_name.clone()),
        (
            "DurationSeconds".to_owned(),
            role.duration_seconds.to_string(),
        ),
    ]);
    if let Some(policy) = &role.policy {
        params.insert("Policy".into(), policy.clone());
    }
    params
}

/// The signed parameters of `AssumeRole` for `role`, signed with `base` at `now` with `nonce`.
pub fn assume_role_request(
    role: &RoleRequest,
    base: &Credentials,
    now: Timestamp,
    nonce: &str,
) -> BTreeMap<String, String> {
    let mut params = role_params(role);
    if let Some(external_id) = &role.external_id {
        params.insert("ExternalId".into(), external_id.clone());
    }
    let common = [
        ("Action", "AssumeRole".to_owned()),
        ("Version", STS_VERSION.to_owned()),
        ("Format", "JSON".to_owned()),
        ("AccessKeyId", base.access_key_id.clone()),
        ("SignatureMethod", sign::SIGNATURE_METHOD.to_owned()),
        ("SignatureVersion", sign::SIGNATURE_VERSION.to_owned()),
        ("SignatureNonce", nonce.to_owned()),
        ("Timestamp", format_timestamp(now)),
    ];
    for (name, value) in common {
        params.insert(name.to_owned(), value);
    }
    if let Some(token) = &base.security_token {
        params.insert("SecurityToken".into(), token.expose().to_owned());
    }
    let signature = sign::signature("POST", &params, base.access_key_secret.expose());
    params.insert("Signature".into(), signature);
    params
}

/// The parameters of `AssumeRoleWithOIDC`: no key and no signature.
pub fn oidc_request(
    role: &RoleRequest,
    provider_arn: &str,
    token: &Secret,
    now: Timestamp,
) -> BTreeMap<String, String> {
    let mut params = role_params(role);
    let common = [
        ("Action", "AssumeRoleWithOIDC".to_owned()),
        ("Version", STS_VERSION.to_owned()),
        ("Format", "JSON".to_owned()),
        ("OIDCProviderArn", provider_arn.to_owned()),
        ("OIDCToken", token.expose().to_owned()),
        ("Timestamp", format_timestamp(now)),
    ];
    for (name, value) in common {
        params.insert(name.to_owned(), value);
    }
    params
}

/// Why STS gave no credentials.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// The call failed (the cloud's Code, Message and RequestId, or no answer).
    #[error(transparent)]
    Call(#[from] Error),
    /// The answer was a success without usable credentials.
    #[error("{action}: {reason}")]
    Answer {
        /// The action.
        action: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Sends one STS request and reads the credentials from its answer. `secrets` are the values
/// the answer must not be allowed to show (the base secret and token, the OIDC token).
pub async fn send(
    http: &reqwest::Client,
    endpoint: &str,
    action: &'static str,
    params: &BTreeMap<String, String>,
    secrets: &[&Secret],
) -> Result<Issued, StsError> {
    let answer = transport::send(http, action, endpoint, params).await?;
    let decoded: Answer = transport::decode(action, &answer, secrets)?;
    decoded
        .credentials
        .issued()
        .map_err(|reason| StsError::Answer { action, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> RoleRequest {
        RoleRequest {
            role_arn: "acs:ram::123:role/kvsync".into(),
            session_name: "kvsync".into(),
            duration_seconds: 3600,
            policy: Some("{\"Version\":\"1\"}".into()),
            external_id: Some("ext-1".into()),
        }
    }

    #[test]
    fn assume_role_is_signed_with_the_base_key_and_carries_its_token() {
        let base = Credentials {
            access_key_id: "base-id".into(),
            access_key_secret: Secret::new("base-secret"),
            security_token: Some(Secret::new("base-token")),
        };
        let at: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let params = assume_role_request(&role(), &base, at, "nonce-1");
        assert_eq!(params["Action"], "AssumeRole");
        assert_eq!(params["Version"], "2015-04-01");
        assert_eq!(params["RoleArn"], "acs:ram::123:role/kvsync");
        assert_eq!(params["DurationSeconds"], "3600");
        assert_eq!(params["ExternalId"], "ext-1");
        assert_eq!(params["SecurityToken"], "base-token");
        assert_eq!(params["Timestamp"], "2026-12-04T10:00:00Z");
        let mut unsigned = params.clone();
        let signature = unsigned.remove("Signature").unwrap();
        assert_eq!(signature, sign::signature("POST", &unsigned, "base-secret"));
    }

    #[test]
    fn assume_role_with_oidc_is_anonymous() {
        let at: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let params = oidc_request(
            &role(),
            "acs:ram::123:oidc-provider/ack",
            &Secret::new("jwt"),
            at,
        );
        assert_eq!(params["Action"], "AssumeRoleWithOIDC");
        assert_eq!(params["OIDCToken"], "jwt");
        assert!(!params.contains_key("AccessKeyId") && !params.contains_key("Signature"));
        assert!(!params.contains_key("ExternalId"));
    }

    #[test]
    fn answers_without_a_token_or_with_a_bad_expiry_are_refused() {
        let wire = |token: &str, expiration: &str| WireCredentials {
            access_key_id: "STS.x".into(),
            access_key_secret: "sts-test-secret-Pq8".into(),
            security_token: token.into(),
            expiration: expiration.into(),
        };
        assert!(wire("", "2026-12-04T10:00:00Z").issued().is_err());
        assert!(wire("sts-test-token-Pq9", "tomorrow").issued().is_err());
        let issued = wire("sts-test-token-Pq8", "2026-12-04T10:00:00Z")
            .issued()
            .unwrap();
        assert_eq!(issued.expiration.to_string(), "2026-12-04T10:00:00Z");
    }
}

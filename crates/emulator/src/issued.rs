//! Temporary credentials issued by the emulated STS and the metadata stand-in: drawing new
//! ones, and the decision whether a request's `AccessKeyId` and `SecurityToken` go together
//! and are still valid at the emulated time.
//!
//! The records live in the state (`State::sts_keys`), so they persist with it. A record keeps
//! the access key secret (signatures are HMACs, so the verifier needs it) but only a SHA-256
//! digest of the security token. It never decides who may assume a role (`roles.rs`).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::{KeyRing, SecretSource};
use super::errors::VendorError;
use super::times;

/// How long an expired record is kept (answered `InvalidSecurityToken.Expired` rather than
/// `InvalidAccessKeyId.NotFound`) before it is forgotten.
const KEEP_EXPIRED: SignedDuration = SignedDuration::from_hours(24);

/// One issued credential, as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedKey {
    /// The `AccessKeySecret`.
    pub secret: String,
    /// Hex SHA-256 of the `SecurityToken`.
    pub token_digest: String,
    /// When it stops being accepted (emulated time).
    pub expires: Timestamp,
    /// The role it was issued for.
    pub role_arn: String,
    /// The `RoleSessionName`.
    pub session: String,
}

/// A credential just issued, with the values the answer carries once.
#[derive(Debug, Clone)]
pub(crate) struct NewCredentials {
    /// `AccessKeyId`: `STS.` and 24 letters and digits.
    pub access_key_id: String,
    /// `AccessKeySecret`.
    pub secret: String,
    /// `SecurityToken`: `CAIS` and random text, as the cloud's start.
    pub token: String,
    /// `Expiration`.
    pub expires: Timestamp,
}

impl NewCredentials {
    /// `Expiration` as the cloud writes it, `YYYY-MM-DDThh:mm:ssZ`.
    pub(crate) fn expiration(&self) -> String {
        times::to_seconds(self.expires)
    }
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters drawn at random from `alphabet`.
fn random_text(len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| {
            let index = rand::random::<u32>() as usize % alphabet.len();
            char::from(alphabet[index])
        })
        .collect()
}

/// Hex SHA-256 of a security token.
fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a new credential for `role_arn` and `session`, valid `lifetime` from `now`; forgets
/// records expired long ago. Each call draws a new key.
pub(crate) fn issue(
    keys: &mut BTreeMap<String, IssuedKey>,
    role_arn: &str,
    session: &str,
    now: Timestamp,
    lifetime: SignedDuration,
) -> NewCredentials {
    keys.retain(|_, key| {
        key.expires
            .checked_add(KEEP_EXPIRED)
            .map_or(true, |forget| forget > now)
    });
    let mut access_key_id = format!("STS.{}", random_text(24, ALPHANUMERIC));
    while keys.contains_key(&access_key_id) {
        access_key_id = format!("STS.{}", random_text(24, ALPHANUMERIC));
    }
    let credentials = NewCredentials {
        access_key_id,
        secret: random_text(44, ALPHANUMERIC),
        token: format!("CAIS{}", random_text(380, TOKEN_CHARS)),
        expires: now.checked_add(lifetime).unwrap_or(now),
    };
    keys.insert(
        credentials.access_key_id.clone(),
        IssuedKey {
            secret: credentials.secret.clone(),
            token_digest: digest(&credentials.token),
            expires: credentials.expires,
            role_arn: role_arn.to_owned(),
            session: session.to_owned(),
        },
    );
    credentials
}

/// Checks the `SecurityToken` of a request signed with `key_id` at `now`.
///
/// An issued key needs its own token and must not have expired; a long-term key must come
/// without one. Answers the issued record for an STS key, `None` for a long-term key.
pub(crate) fn check_token<'a>(
    keys: &'a BTreeMap<String, IssuedKey>,
    key_id: &str,
    token: Option<&str>,
    now: Timestamp,
) -> Result<Option<&'a IssuedKey>, VendorError> {
    let token = token.filter(|token| !token.is_empty());
    match (keys.get(key_id), token) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(VendorError::missing_security_token()),
        (issued, Some(token)) => {
            let presented = digest(token);
            match issued {
                Some(key) if key.token_digest == presented => {
                    if now >= key.expires {
                        Err(VendorError::security_token_expired())
                    } else {
                        Ok(Some(key))
                    }
                }
                // A token the emulator issued, but for another key (or sent with a long-term
                // key), or one it never issued.
                _ if keys.values().any(|key| key.token_digest == presented) => {
                    Err(VendorError::security_token_mismatch())
                }
                _ => Err(VendorError::security_token_malformed()),
            }
        }
    }
}

/// The keys a signature may be made with: the configured long-term pairs and every issued key.
pub(crate) struct Known<'a> {
    /// Long-term pairs.
    pub ring: &'a KeyRing,
    /// Issued keys.
    pub issued: &'a BTreeMap<String, IssuedKey>,
}

impl SecretSource for Known<'_> {
    fn secret(&self, id: &str) -> Option<&str> {
        self.ring
            .secret(id)
            .or_else(|| self.issued.get(id).map(|key| key.secret.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-05-01T12:00:00Z".parse().unwrap()
    }

    const ROLE: &str = "acs:ram::1:role/r";

    #[test]
    fn issued_credentials_look_like_the_clouds_and_are_new_each_time() {
        let mut keys = BTreeMap::new();
        let one = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(20));
        let two = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(20));
        assert_ne!(one.access_key_id, two.access_key_id);
        assert_ne!(one.token, two.token);
        assert_eq!(one.access_key_id.len(), 28);
        assert!(one.access_key_id.starts_with("STS."));
        assert!(one.token.starts_with("CAIS") && one.token.len() > 300);
        assert_eq!(one.expiration(), "2026-05-01T12:00:20Z");
        // The state holds a digest of the token, never the token.
        let record = serde_json::to_string(&keys).unwrap();
        assert!(!record.contains(&one.token));
    }

    #[test]
    fn a_token_is_accepted_with_its_key_until_it_expires() {
        let mut keys = BTreeMap::new();
        let issued = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(20));
        let id = issued.access_key_id.as_str();
        let code = |key: &str, token: Option<&str>, at: Timestamp| {
            check_token(&keys, key, token, at).map(|found| found.map(|k| k.session.clone()))
        };
        assert_eq!(code(id, Some(&issued.token), now()), Ok(Some("s".into())));
        let late = now() + SignedDuration::from_secs(19);
        assert!(code(id, Some(&issued.token), late).is_ok());
        let expired = now() + SignedDuration::from_secs(20);
        assert_eq!(
            code(id, Some(&issued.token), expired).unwrap_err().code,
            "InvalidSecurityToken.Expired"
        );
        assert_eq!(code("testid", None, now()), Ok(None));
        assert_eq!(code("testid", Some(""), now()), Ok(None));
    }

    #[test]
    fn tokens_that_do_not_go_with_the_key_are_refused() {
        let mut keys = BTreeMap::new();
        let one = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(60));
        let two = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(60));
        let code = |key: &str, token: Option<&str>| {
            check_token(&keys, key, token, now()).unwrap_err().code
        };
        assert_eq!(
            code(&one.access_key_id, Some(&two.token)),
            "InvalidSecurityToken.MismatchWithAccessKey"
        );
        assert_eq!(
            code("testid", Some(&two.token)),
            "InvalidSecurityToken.MismatchWithAccessKey"
        );
        assert_eq!(
            code(&one.access_key_id, Some("CAISnope")),
            "InvalidSecurityToken.Malformed"
        );
        assert_eq!(
            code("testid", Some("CAISnope")),
            "InvalidSecurityToken.Malformed"
        );
        assert_eq!(code(&one.access_key_id, None), "MissingSecurityToken");
    }

    #[test]
    fn long_expired_records_are_forgotten_when_the_next_is_issued() {
        let mut keys = BTreeMap::new();
        let old = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(60));
        let later = now() + SignedDuration::from_hours(25);
        issue(&mut keys, ROLE, "s", later, SignedDuration::from_secs(60));
        assert!(!keys.contains_key(&old.access_key_id));
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn issued_keys_sign_beside_the_long_term_ones() {
        let mut keys = BTreeMap::new();
        let issued = issue(&mut keys, ROLE, "s", now(), SignedDuration::from_secs(60));
        let ring = KeyRing::single("testid", "testsecret");
        let known = Known {
            ring: &ring,
            issued: &keys,
        };
        assert_eq!(known.secret("testid"), Some("testsecret"));
        assert_eq!(
            known.secret(&issued.access_key_id),
            Some(issued.secret.as_str())
        );
        assert_eq!(known.secret("other"), None);
    }
}

//! Secret values that cannot be printed.
//!
//! A [`Secret`] holds a password or key in memory only. Its `Debug`, `Display` and `Serialize`
//! print `***`, so a secret that reaches a log line, an error or a JSON document by mistake
//! still does not leak. The only way to the value is [`Secret::expose`], called where the value
//! is put on the wire or hashed.
//!
//! Secrets kvsync reads (passwords at the edge, the access key secret and security token) are
//! also [registered](register) for the life of the process, so that
//! [`api::scrub::scrub`](crate::api::scrub::scrub) can remove their values from any text — the
//! cloud's error messages above all — even where the secret itself is not at hand.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A secret string; every printed form is `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

/// What every printed form of a secret shows.
pub const REDACTED: &str = "***";

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for signing, sending or hashing. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Every secret value registered in this process. Values are only added (a rotated password may
/// still be quoted by a late error), and each distinct value once, so the set grows only with
/// the number of distinct secrets read.
static REGISTERED: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Bumped on every change of [`REGISTERED`], so a matcher built from it knows when it is stale.
static GENERATION: AtomicUsize = AtomicUsize::new(0);

/// Registers `secret`'s value with the process-wide set the scrubber removes from texts.
/// Empty values are ignored (there is nothing to find).
pub fn register(secret: &Secret) {
    if secret.0.is_empty() {
        return;
    }
    let known = REGISTERED
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .contains(&secret.0);
    if !known {
        REGISTERED
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(secret.0.clone());
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
}

/// Removes `secret`'s value from the registered set: for temporary credentials that have
/// expired long ago, which nothing quotes any more, so that a daemon refreshing its credentials
/// for months does not scrub every text against thousands of dead values.
pub fn retire(secret: &Secret) {
    REGISTERED
        .write()
        .unwrap_or_else(|poison| poison.into_inner())
        .remove(&secret.0);
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Key ids (not secret, but never shown whole): texts keep their last four characters.
static KEY_IDS: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// The shortest key id that is shortened in texts: real ones are 24 characters and more, and
/// shortening a short word wherever it appears would mangle texts.
pub const MIN_KEY_ID_LEN: usize = 8;

/// Registers an AccessKey ID, so that the scrubber shows any text quoting it (a cloud's
/// string-to-sign does) with its last four characters only. Ids shorter than
/// [`MIN_KEY_ID_LEN`] are ignored.
pub fn register_key_id(id: &str) {
    if id.len() < MIN_KEY_ID_LEN {
        return;
    }
    let known = KEY_IDS
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .contains(id);
    if !known {
        KEY_IDS
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(id.to_owned());
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
}

/// Takes a key id off the list (a long-expired temporary key).
pub fn retire_key_id(id: &str) {
    KEY_IDS
        .write()
        .unwrap_or_else(|poison| poison.into_inner())
        .remove(id);
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The registered key ids, for the scrubber.
pub fn key_ids() -> Vec<String> {
    KEY_IDS
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .iter()
        .cloned()
        .collect()
}

/// A number that changes whenever the registered set changes (a secret registered or
/// retired), so that what is built from [`registered`] can tell it is stale.
pub fn generation() -> usize {
    GENERATION.load(Ordering::SeqCst)
}

/// The registered secrets, for the scrubber.
pub fn registered() -> Vec<Secret> {
    REGISTERED
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .iter()
        .map(|value| Secret(value.clone()))
        .collect()
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printed_form_is_redacted() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn registered_values_are_kept_once_and_empty_ones_never() {
        let secret = Secret::new("registered-once-Zx81");
        register(&secret);
        register(&secret.clone());
        register(&Secret::new(""));
        let all = registered();
        assert_eq!(all.iter().filter(|s| **s == secret).count(), 1);
        assert!(all.iter().all(|s| !s.expose().is_empty()));
    }

    #[test]
    fn a_retired_value_is_no_longer_registered() {
        let secret = Secret::new("retired-temporary-Qw72");
        register(&secret);
        assert!(registered().contains(&secret));
        retire(&secret);
        assert!(!registered().contains(&secret));
    }
}

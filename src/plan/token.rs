//! Deterministic idempotency tokens.
//!
//! A token is a digest of who asks (stack), what it names (region, instance) and the exact
//! parameters (secrets by reference only). The same manifests always yield the same token, so
//! a retry or a re-run after a crash can never create twice; a changed request yields a new one.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The prefix of every kvsync token.
pub const TOKEN_PREFIX: &str = "kvsync-";

/// The token for `action` on `region`/`name` in `stack` with `params` (without the token).
/// At most 64 ASCII characters, as the API requires.
pub fn derive(
    stack: &str,
    action: &str,
    region: &str,
    name: &str,
    params: &BTreeMap<String, String>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [action, stack, region, name] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for (key, value) in params {
        hasher.update(key.as_bytes());
        hasher.update([b'=']);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn same_inputs_same_token_and_within_the_api_limit() {
        let p = params(&[("InstanceClass", "redis.master.small.default")]);
        let a = derive("prod", "CreateInstance", "cn-hangzhou", "orders", &p);
        assert_eq!(
            a,
            derive("prod", "CreateInstance", "cn-hangzhou", "orders", &p)
        );
        assert!(a.len() <= 64 && a.is_ascii() && a.starts_with(TOKEN_PREFIX));
    }

    #[test]
    fn every_input_changes_the_token() {
        let p = params(&[("InstanceClass", "redis.master.small.default")]);
        let base = derive("prod", "CreateInstance", "cn-hangzhou", "orders", &p);
        assert_ne!(
            base,
            derive("dev", "CreateInstance", "cn-hangzhou", "orders", &p)
        );
        assert_ne!(
            base,
            derive("prod", "ModifyInstanceSpec", "cn-hangzhou", "orders", &p)
        );
        assert_ne!(
            base,
            derive("prod", "CreateInstance", "cn-shanghai", "orders", &p)
        );
        assert_ne!(
            base,
            derive("prod", "CreateInstance", "cn-hangzhou", "orders2", &p)
        );
        let q = params(&[("InstanceClass", "redis.master.mid.default")]);
        assert_ne!(
            base,
            derive("prod", "CreateInstance", "cn-hangzhou", "orders", &q)
        );
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let p = params(&[]);
        assert_ne!(
            derive("ab", "CreateInstance", "c", "n", &p),
            derive("a", "CreateInstance", "bc", "n", &p)
        );
    }
}

//! Idempotency tokens: stable across a retry or a crash, new for every new intent.
//!
//! * `CreateInstance` carries a token derived from the instance's identity alone — stack,
//!   region, name — and a position `k` in a chain ([`create`]). Two writers that share no lock
//!   derive the same token for the same name, whatever parameters each sends, so the cloud
//!   lets only one of them create (the other gets the first answer, or
//!   `IdempotentParameterMismatch`); the parameters are reconciled after creation. Apply starts
//!   at `k = 0` and moves along the chain past tokens that earlier, released instances spent
//!   (see `apply::step`), so a name created again after a release never replays the old answer.
//! * `ModifyInstanceSpec` carries a `ClientToken` derived from the intent (instance, old and
//!   new class) and the run's seed ([`spec`]). The seed is drawn at random when a run starts
//!   and is kept in the local run journal until the run has applied everything
//!   (`crate::journal`), so a re-run after a crash or a failure sends the same token, and a
//!   later run — resizing back and forth — sends a new one.

use sha2::{Digest, Sha256};

/// The prefix of every kvsync token.
pub const TOKEN_PREFIX: &str = "kvsync-";

/// How far apply follows the create chain before giving up (each step is one refused or
/// replayed call).
pub const MAX_CREATE_CHAIN: u32 = 64;

/// A run's seed for intent tokens.
pub type Seed = u128;

/// The `Token` of the `k`-th creation of `name` in `region` by `stack`.
pub fn create(stack: &str, region: &str, name: &str, k: u32) -> String {
    digest(&["CreateInstance", stack, region, name, &k.to_string()])
}

/// The `ClientToken` of a resize of `name` in `region` from `from` to `to` in a run with
/// `seed`.
pub fn spec(stack: &str, region: &str, name: &str, from: &str, to: &str, seed: Seed) -> String {
    digest(&[
        "ModifyInstanceSpec",
        stack,
        region,
        name,
        from,
        to,
        &format!("{seed:032x}"),
    ])
}

/// `kvsync-` and 40 hex digits of a digest of `parts` (at most 64 ASCII characters, as the
/// API requires). Parts are separated by a NUL so that boundaries cannot shift.
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    format!("{TOKEN_PREFIX}{}", hex::encode(&digest[..20]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_token_depends_on_identity_and_chain_position_only() {
        let a = create("prod", "cn-hangzhou", "orders", 0);
        assert_eq!(a, create("prod", "cn-hangzhou", "orders", 0));
        assert!(a.len() <= 64 && a.is_ascii() && a.starts_with(TOKEN_PREFIX));
        for other in [
            create("dev", "cn-hangzhou", "orders", 0),
            create("prod", "cn-shanghai", "orders", 0),
            create("prod", "cn-hangzhou", "orders2", 0),
            create("prod", "cn-hangzhou", "orders", 1),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn a_spec_token_is_new_for_every_run_and_stable_within_one() {
        let t = spec("prod", "cn-hangzhou", "orders", "small", "mid", 7);
        assert_eq!(t, spec("prod", "cn-hangzhou", "orders", "small", "mid", 7));
        assert!(t.len() <= 64 && t.starts_with(TOKEN_PREFIX));
        // The same intent in a later run (after mid → small) gets a new token.
        assert_ne!(t, spec("prod", "cn-hangzhou", "orders", "small", "mid", 8));
        assert_ne!(t, spec("prod", "cn-hangzhou", "orders", "mid", "small", 7));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        assert_ne!(create("ab", "c", "n", 0), create("a", "bc", "n", 0));
        assert_ne!(
            spec("s", "r", "n", "ab", "c", 1),
            spec("s", "r", "n", "a", "bc", 1)
        );
    }
}

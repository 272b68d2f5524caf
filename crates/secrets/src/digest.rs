//! Password digests: how kvsync knows whether a password changed without ever storing it.
//!
//! Passwords cannot be read back from the API. kvsync records, in instance tags, a salted slow
//! hash (PBKDF2-HMAC-SHA256) of each password it set, truncated to 72 bits: enough to notice a
//! change, too little and too slow to recover a strong password from. The salt names the stack,
//! region, instance and account, so equal passwords never give equal digests elsewhere. Digests
//! are computed at the edge (where secrets are resolved); the planner only compares them.

use std::collections::BTreeMap;

use base64::Engine as _;
use sha2::Sha256;

use super::value::Secret;

/// PBKDF2 rounds per digest.
pub const ROUNDS: u32 = 4096;
/// The prefix of every digest tag key: `kvsync:pw`, `kvsync:pw.2`, …
pub const TAG_PREFIX: &str = "kvsync:pw";
/// The entry name of the instance's own (default account) password.
pub const INSTANCE_ENTRY: &str = "*";
/// Longest tag value the cloud accepts.
const MAX_TAG_VALUE: usize = 128;

/// Whose password a digest is of: the salt.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The stack.
    pub stack: &'a str,
    /// The instance's region.
    pub region: &'a str,
    /// The instance's name.
    pub instance: &'a str,
    /// The account (`None`: the instance password).
    pub account: Option<&'a str>,
}

/// The digest of `secret` for the instance password or an account's.
pub fn digest(secret: &Secret, owner: Owner<'_>) -> String {
    let Owner {
        stack,
        region,
        instance,
        account,
    } = owner;
    let salt = format!(
        "kvsync-pw-v1\0{stack}\0{region}\0{instance}\0{}",
        account.unwrap_or(INSTANCE_ENTRY)
    );
    let mut out = [0u8; 9];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        secret.expose().as_bytes(),
        salt.as_bytes(),
        ROUNDS,
        &mut out,
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// The entry name for an account (`None`: the instance password).
pub fn entry_name(account: Option<&str>) -> &str {
    account.unwrap_or(INSTANCE_ENTRY)
}

/// Packs `entry → digest` pairs into as few tags as fit the cloud's 128-character values:
/// `kvsync:pw = "*=abc;app_rw=def"`, then `kvsync:pw.2`, …
pub fn encode_tags(entries: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut values: Vec<String> = Vec::new();
    for (name, digest) in entries {
        let item = format!("{name}={digest}");
        match values.last_mut() {
            Some(last) if last.len() + 1 + item.len() <= MAX_TAG_VALUE => {
                last.push(';');
                last.push_str(&item);
            }
            _ => values.push(item),
        }
    }
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| (tag_key(index), value))
        .collect()
}

fn tag_key(index: usize) -> String {
    if index == 0 {
        TAG_PREFIX.to_owned()
    } else {
        format!("{TAG_PREFIX}.{}", index + 1)
    }
}

/// Whether a tag key is one of kvsync's digest tags.
pub fn is_digest_tag(key: &str) -> bool {
    key == TAG_PREFIX
        || key
            .strip_prefix(TAG_PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Reads the digests recorded in an instance's tags (unparsable entries are ignored).
pub fn decode_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(key, _)| is_digest_tag(key))
        .flat_map(|(_, value)| value.split(';'))
        .filter_map(|item| item.split_once('='))
        .map(|(name, digest)| (name.to_owned(), digest.to_owned()))
        .collect()
}

/// How many tags `entries` digests need (at most 4 entries of the longest kind per tag).
pub fn tags_needed(entries: usize) -> usize {
    entries.div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(secret: &Secret, stack: &str, name: &str, account: Option<&str>) -> String {
        digest(
            secret,
            Owner {
                stack,
                region: "cn-hangzhou",
                instance: name,
                account,
            },
        )
    }

    #[test]
    fn digests_are_stable_short_and_salted() {
        let secret = Secret::new("Passw0rd-1");
        let a = digest_of(&secret, "shop", "orders", Some("app_rw"));
        assert_eq!(a, digest_of(&secret, "shop", "orders", Some("app_rw")));
        assert_eq!(a.len(), 12);
        assert!(!a.contains("Passw0rd"));
        assert_ne!(a, digest_of(&secret, "shop", "orders", Some("app_ro")));
        assert_ne!(a, digest_of(&secret, "shop", "orders", None));
        assert_ne!(a, digest_of(&secret, "shop", "sessions", Some("app_rw")));
        assert_ne!(a, digest_of(&secret, "other", "orders", Some("app_rw")));
        assert_ne!(
            a,
            digest_of(&Secret::new("Passw0rd-2"), "shop", "orders", Some("app_rw"))
        );
    }

    #[test]
    fn tags_round_trip_and_fit_the_cloud_limits() {
        let entries: BTreeMap<String, String> = (0..19)
            .map(|n| {
                let name = if n == 0 {
                    "*".to_owned()
                } else {
                    format!("account_name_{n:02}")
                };
                (name, format!("digest{n:06}"))
            })
            .collect();
        let tags = encode_tags(&entries);
        assert!(tags.values().all(|v| v.len() <= 128));
        assert!(
            tags.len() <= tags_needed(entries.len()),
            "{} tags",
            tags.len()
        );
        assert!(tags.keys().all(|k| is_digest_tag(k)));
        assert_eq!(decode_tags(&tags), entries);
    }

    #[test]
    fn only_digest_tags_are_read() {
        let tags = BTreeMap::from([
            ("kvsync:pw".to_string(), "*=abc;app=def".to_string()),
            ("kvsync:pw.2".to_string(), "ro=ghi".to_string()),
            ("kvsync:pwned".to_string(), "x=y".to_string()),
            ("team".to_string(), "a=b".to_string()),
        ]);
        let decoded = decode_tags(&tags);
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded["app"], "def");
        assert!(!decoded.contains_key("x"));
    }
}

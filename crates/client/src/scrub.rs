//! The one scrubber: removes secret values from texts that come from the cloud.
//!
//! The cloud quotes requests back: `SignatureDoesNotMatch` carries the server's string-to-sign,
//! which holds every parameter of the call, passwords included (percent-encoded twice). Every
//! text the client keeps from an answer — code, message, request ID, body excerpts, decoding
//! errors — passes through [`scrub`] when the error is built, so whatever shows it later (the
//! apply report and progress, logs, the daemon's `/status`) only ever sees scrubbed text.
//!
//! [`scrub`] replaces with `***`:
//! - the values of the secrets in flight (the call's secret parameters, the access key secret,
//!   the security token) and of every secret [registered](kvsync_secrets::value::register) in the
//!   process, each in every form a text can quote it in: raw, percent-encoded as the signer
//!   encodes it (RFC 3986), encoded again (as inside a string-to-sign) and a third time,
//!   form-encoded (`+` for space), JSON-escaped, and with lower-case hex;
//! - by name, whatever follows `Name=`, `Name%3D` or `Name%253D` when the name ends in
//!   `Password`, `Passwd`, `Secret` or `SecurityToken` (any case), up to the `&` of that level
//!   of encoding, so that a secret kvsync does not know (or a cut-off one) is removed too.
//!
//! It never fails and never panics; it is linear in the text.

use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};

use super::sign::percent_encode;
use kvsync_secrets::value::{self as secret, REDACTED, Secret};

/// Endings of parameter names whose values are secret (compared case-insensitively).
const SECRET_NAME_ENDINGS: &[&str] = &["password", "passwd", "secret", "securitytoken"];

/// `=` at each level of percent-encoding, with the `&`s that end a value at that level or
/// below. Longest first, so that `%253D` is not read as something else.
const LEVELS: &[(&str, &[&str])] = &[
    ("%253D", &["%2526", "%26", "&"]),
    ("%3D", &["%26", "&"]),
    ("=", &["&"]),
];

/// Removes every known secret value, in every encoded form, and every value of a
/// secret-bearing parameter from `text`. `in_flight` are the secrets of the call at hand; the
/// process's registered secrets are always included.
pub fn scrub(text: &str, in_flight: &[&Secret]) -> String {
    let (secrets, key_ids) = registered_matchers();
    let mut out = secrets.replace(text);
    if !in_flight.is_empty() {
        out = Matcher::new(in_flight.iter().copied()).replace(&out);
    }
    key_ids.shorten(&redact_by_name(&out))
}

/// Finds registered key ids and shows each as its last four characters.
#[derive(Clone, Default)]
struct KeyIds {
    automaton: Option<AhoCorasick>,
    hints: Arc<Vec<String>>,
}

impl KeyIds {
    fn new(ids: &[String]) -> Self {
        let automaton = (!ids.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(ids)
                    .ok()
            })
            .flatten();
        let hints = ids
            .iter()
            .map(|id| {
                let tail: String = id
                    .chars()
                    .skip(id.chars().count().saturating_sub(4))
                    .collect();
                format!("…{tail}")
            })
            .collect();
        KeyIds {
            automaton,
            hints: Arc::new(hints),
        }
    }

    fn shorten(&self, text: &str) -> String {
        match &self.automaton {
            None => text.to_owned(),
            Some(automaton) => {
                let mut out = String::with_capacity(text.len());
                automaton.replace_all_with(text, &mut out, |found, _, out| {
                    out.push_str(&self.hints[found.pattern().as_usize()]);
                    true
                });
                out
            }
        }
    }
}

/// Every form in which a text may quote `value`, longest first.
fn forms(value: &str) -> Vec<String> {
    let once = percent_encode(value);
    let twice = percent_encode(&once);
    let thrice = percent_encode(&twice);
    let form: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let form_in_sts = percent_encode(&form);
    let plus = once.replace("%20", "+");
    let json = serde_json::to_string(value)
        .ok()
        .and_then(|quoted| Some(quoted.get(1..quoted.len().checked_sub(1)?)?.to_owned()));
    let mut all = vec![
        value.to_owned(),
        once,
        twice,
        thrice,
        form,
        form_in_sts,
        plus,
    ];
    all.extend(json);
    let lower: Vec<String> = all.iter().map(|form| lower_hex(form)).collect();
    all.extend(lower);
    all.retain(|form| !form.is_empty());
    all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    all.dedup();
    all
}

/// `%2B` → `%2b`.
fn lower_hex(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        out.push(bytes[i]);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(bytes[i + 1].to_ascii_lowercase());
            out.push(bytes[i + 2].to_ascii_lowercase());
            i += 3;
        } else {
            i += 1;
        }
    }
    // Only ASCII bytes were changed, so the text stays UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| encoded.to_owned())
}

/// Finds the forms of a set of secrets in one pass, the longest at each position.
#[derive(Clone)]
struct Matcher {
    automaton: Option<AhoCorasick>,
    /// Used when the automaton could not be built (never expected): one replace per form.
    patterns: Arc<Vec<String>>,
}

impl Matcher {
    fn new<'a>(secrets: impl Iterator<Item = &'a Secret>) -> Self {
        let mut patterns: Vec<String> = secrets
            .filter(|secret| !secret.expose().is_empty())
            .flat_map(|secret| forms(secret.expose()))
            .collect();
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        let automaton = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        Matcher {
            automaton,
            patterns: Arc::new(patterns),
        }
    }

    fn replace(&self, text: &str) -> String {
        match &self.automaton {
            Some(automaton) => {
                let mut out = String::with_capacity(text.len());
                automaton.replace_all_with(text, &mut out, |_, _, out| {
                    out.push_str(REDACTED);
                    true
                });
                out
            }
            None => self.patterns.iter().fold(text.to_owned(), |out, pattern| {
                out.replace(pattern, REDACTED)
            }),
        }
    }
}

/// The matchers of the registered secrets and key ids, rebuilt only when one was registered
/// or retired since.
fn registered_matchers() -> (Matcher, KeyIds) {
    type Built = (usize, Matcher, KeyIds);
    static CACHE: Mutex<Option<Built>> = Mutex::new(None);
    let generation = secret::generation();
    let mut cache = CACHE.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some((built_at, matcher, key_ids)) = cache.as_ref()
        && *built_at == generation
    {
        return (matcher.clone(), key_ids.clone());
    }
    let registered = secret::registered();
    let matcher = Matcher::new(registered.iter());
    let key_ids = KeyIds::new(&secret::key_ids());
    *cache = Some((generation, matcher.clone(), key_ids.clone()));
    (matcher, key_ids)
}

/// Replaces the value after `Name=`, `Name%3D` or `Name%253D` of every secret-bearing name.
fn redact_by_name(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some((separator, ends)) = LEVELS
            .iter()
            .find(|(separator, _)| starts_with_ignore_case(&bytes[at..], separator))
        else {
            at += 1;
            continue;
        };
        let value_start = at + separator.len();
        if !names_a_secret(&bytes[..at]) {
            at = value_start;
            continue;
        }
        let value_end = value_end(bytes, value_start, ends);
        if value_end > value_start {
            // Both ends sit next to ASCII bytes (or at the ends of the text): char boundaries.
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        at = value_end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether the parameter name that ends `before` is secret-bearing.
fn names_a_secret(before: &[u8]) -> bool {
    let start = before
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .map_or(0, |at| at + 1);
    let name = before[start..].to_ascii_lowercase();
    SECRET_NAME_ENDINGS
        .iter()
        .any(|ending| name.ends_with(ending.as_bytes()))
}

/// Where a value that starts at `start` ends: at one of `ends`, whitespace, a quote or an
/// angle bracket, or the end of the text.
fn value_end(bytes: &[u8], start: usize, ends: &[&str]) -> usize {
    (start..bytes.len())
        .find(|&at| {
            let byte = bytes[at];
            byte.is_ascii_whitespace()
                || matches!(byte, b'"' | b'\'' | b'<' | b'>')
                || ends
                    .iter()
                    .any(|end| starts_with_ignore_case(&bytes[at..], end))
        })
        .unwrap_or(bytes.len())
}

fn starts_with_ignore_case(haystack: &[u8], needle: &str) -> bool {
    haystack.len() >= needle.len()
        && haystack[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use kvsync_wire::sign;

    /// Every test uses its own values: the registry is shared by the whole test process.
    const CANARY: &str = "Scrub+Pw9=x%y&z*";

    fn string_to_sign_with(name: &str, value: &str) -> String {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "ModifyInstanceAttribute"),
            (name, value),
            ("Version", "2015-01-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        sign::string_to_sign("POST", &params)
    }

    fn assert_free_of(text: &str, value: &str) {
        for form in forms(value) {
            assert!(!text.contains(&form), "{form:?} in {text}");
        }
    }

    #[test]
    fn in_flight_values_are_removed_in_every_encoding() {
        let secret = Secret::new(CANARY);
        let once = sign::percent_encode(CANARY);
        let form: String = form_urlencoded::byte_serialize(CANARY.as_bytes()).collect();
        let text = format!(
            "raw {CANARY} once {once} twice {} lower {} form {form} sts {}",
            sign::percent_encode(&once),
            lower_hex(&once),
            string_to_sign_with("Unrelated", CANARY),
        );
        let scrubbed = scrub(&text, &[&secret]);
        assert_free_of(&scrubbed, CANARY);
        assert_eq!(scrubbed.matches(REDACTED).count(), 6, "{scrubbed}");
        assert!(
            scrubbed.starts_with("raw *** once *** twice ***"),
            "{scrubbed}"
        );
    }

    #[test]
    fn registered_values_are_removed_without_being_in_flight() {
        let value = "Registered+Pw8=x%y&z*";
        secret::register(&Secret::new(value));
        let text = format!(
            "message quoting {}",
            string_to_sign_with("Unrelated", value)
        );
        let scrubbed = scrub(&text, &[]);
        assert_free_of(&scrubbed, value);
        assert!(scrubbed.contains("Unrelated%3D***%26Version"), "{scrubbed}");
    }

    #[test]
    fn secret_parameters_are_redacted_by_name_at_every_level() {
        // Values nobody registered: only the names give them away.
        let sts = string_to_sign_with("NewPassword", "Unknown+Pw7=x%y&z*");
        let scrubbed = scrub(&sts, &[]);
        assert!(
            scrubbed.ends_with("NewPassword%3D***%26Version%3D2015-01-01"),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("AccessKeyId%3Dtestid%26"), "{scrubbed}");
        let cases = [
            ("AccountPassword=abc&Next=1", "AccountPassword=***&Next=1"),
            ("x?password=abc def", "x?password=*** def"),
            (
                "AccessKeySecret%3Dabc%2Bd%26Next",
                "AccessKeySecret%3D***%26Next",
            ),
            (
                "SecurityToken%253Dab%252Bc%2526Next",
                "SecurityToken%253D***%2526Next",
            ),
            ("\"Password=abc\"", "\"Password=***\""),
            ("Password%3d", "Password%3d"),
            (
                "InstanceName=orders&Signature=abc",
                "InstanceName=orders&Signature=abc",
            ),
            ("ClientToken=abc", "ClientToken=abc"),
        ];
        for (text, expected) in cases {
            assert_eq!(scrub(text, &[]), expected, "{text}");
        }
    }

    #[test]
    fn texts_without_secrets_are_unchanged_and_multibyte_text_survives() {
        let text = "Specified signature is not matched — 密码=安全 ünïcode & more";
        assert_eq!(scrub(text, &[&Secret::new("Other+Pw6=x")]), text);
        assert_eq!(scrub("Passwörd=ü&x", &[]), "Passwörd=ü&x");
        assert_eq!(scrub("mypassword=ü&x", &[]), "mypassword=***&x");
        assert_eq!(scrub("", &[&Secret::new("")]), "");
    }

    #[test]
    fn forms_cover_raw_encoded_double_encoded_and_form_encoded() {
        let all = forms("a b+c");
        for expected in [
            "a b+c",
            "a%20b%2Bc",
            "a%2520b%252Bc",
            "a+b%2Bc",
            "a%20b%2bc",
        ] {
            assert!(
                all.iter().any(|f| f == expected),
                "{expected} not in {all:?}"
            );
        }
        assert!(all.windows(2).all(|w| w[0].len() >= w[1].len()));
    }

    #[test]
    fn lower_hex_changes_only_escapes() {
        assert_eq!(lower_hex("A%2BB%3D"), "A%2bB%3d");
        assert_eq!(lower_hex("%2"), "%2");
        assert_eq!(lower_hex("%"), "%");
    }
}

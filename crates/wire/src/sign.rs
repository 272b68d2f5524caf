//! RPC v1 request signing (HMAC-SHA1), as a pure function.
//!
//! Owns the canonical query, the string to sign and the signature. It never reads the clock or
//! generates nonces: `Timestamp` and `SignatureNonce` arrive as ordinary parameters, so every
//! stage can be checked against the official SDKs' vectors.

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 unreserved characters stay literal; everything else is `%XX` (upper-case hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The value of `SignatureMethod` this module implements.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// The value of `SignatureVersion` this module implements.
pub const SIGNATURE_VERSION: &str = "1.0";

/// Percent-encodes one key or value the way Alibaba Cloud's v1 signature expects:
/// UTF-8 bytes, `%20` for space, `~` literal, upper-case hex.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// The canonicalized query string: parameters sorted by key (byte order), each key and value
/// percent-encoded, joined with `=` and `&`. `Signature` itself must not be in `params`.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (key, value) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(key));
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    out
}

/// `METHOD&%2F&percentEncode(canonical query)`.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    )
}

/// Base64 of HMAC-SHA1 over `string_to_sign`, keyed with `secret + "&"`.
pub fn sign_string(string_to_sign: &str, secret: &str) -> String {
    let key = format!("{secret}&");
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Signature` parameter for a request with these parameters (all signed parameters,
/// query and form body together, without `Signature`).
pub fn signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    sign_string(&string_to_sign(method, params), secret)
}

/// Compares two signatures without an early exit, so that timing reveals nothing.
pub fn signatures_match(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Deserialize)]
    struct VectorFile {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        method: String,
        secret: String,
        params: BTreeMap<String, String>,
        string_to_sign: String,
        signature: String,
    }

    fn vectors() -> Vec<Vector> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/sign-vectors.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let file: VectorFile = serde_json::from_str(&text).unwrap();
        assert!(file.vectors.len() >= 7, "the vector file lost vectors");
        file.vectors
    }

    #[test]
    fn every_vector_canonical_query_matches() {
        for v in vectors() {
            let expected_encoded = v.string_to_sign.splitn(3, '&').nth(2).unwrap();
            assert_eq!(
                percent_encode(&canonical_query(&v.params)),
                expected_encoded,
                "canonical query of vector {}",
                v.name
            );
        }
    }

    #[test]
    fn every_vector_string_to_sign_matches() {
        for v in vectors() {
            assert_eq!(
                string_to_sign(&v.method, &v.params),
                v.string_to_sign,
                "string to sign of vector {}",
                v.name
            );
        }
    }

    #[test]
    fn every_vector_signature_matches() {
        for v in vectors() {
            assert_eq!(
                sign_string(&v.string_to_sign, &v.secret),
                v.signature,
                "signature of vector {}",
                v.name
            );
            assert_eq!(
                signature(&v.method, &v.params, &v.secret),
                v.signature,
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn vendor_reference_example_value_is_not_what_its_parameters_give() {
        let seed = vectors()
            .into_iter()
            .find(|v| v.name == "seed-describeinstances-get")
            .unwrap();
        let ours = signature(&seed.method, &seed.params, &seed.secret);
        assert_eq!(ours, "YUCAgocaSol6ljT/RiHFG2T0Zlk=");
        assert_ne!(ours, "BIPOMlu8LXBeZtLQkJTw6iFvw1E=");
    }

    #[test]
    fn unreserved_characters_stay_literal() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    }

    #[test]
    fn reserved_characters_are_encoded_upper_case() {
        assert_eq!(
            percent_encode(" +*/=&%!'()"),
            "%20%2B%2A%2F%3D%26%25%21%27%28%29"
        );
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn signatures_match_compares_whole_strings() {
        assert!(signatures_match("abc=", "abc="));
        assert!(!signatures_match("abc=", "abd="));
        assert!(!signatures_match("abc=", "abc"));
    }

    /// Decodes `%XX` sequences back to bytes (a test oracle independent of the encoder).
    fn decode(encoded: &str) -> Vec<u8> {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn encoding_round_trips(value in any::<String>()) {
            prop_assert_eq!(decode(&percent_encode(&value)), value.as_bytes());
        }

        #[test]
        fn encoded_output_uses_only_unreserved_and_upper_hex(value in any::<String>()) {
            let encoded = percent_encode(&value);
            let bytes = encoded.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if b == b'%' {
                    prop_assert!(bytes[i + 1..i + 3].iter().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)));
                    i += 3;
                } else {
                    prop_assert!(b.is_ascii_alphanumeric() || b"-_.~".contains(&b), "literal {b:#x}");
                    i += 1;
                }
            }
        }

        #[test]
        fn unreserved_strings_are_unchanged(value in "[A-Za-z0-9._~-]*") {
            prop_assert_eq!(percent_encode(&value), value);
        }

        #[test]
        fn canonical_query_is_sorted_by_key(params in proptest::collection::btree_map("[A-Za-z.0-9]{1,8}", ".*", 0..8)) {
            let query = canonical_query(&params);
            let keys: Vec<Vec<u8>> = if query.is_empty() { vec![] } else {
                query.split('&').map(|pair| decode(pair.split('=').next().unwrap())).collect()
            };
            let expected: Vec<Vec<u8>> = params.keys().map(|k| k.as_bytes().to_vec()).collect();
            prop_assert_eq!(keys, expected);
        }
    }
}

//! Verification of v1 signatures, timestamps and nonces, as the cloud does it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use super::errors::VendorError;
use kvsync_wire::sign;

/// Requests whose `Timestamp` is further than this from the server's clock are refused, and
/// nonces are remembered this long.
pub const WINDOW: SignedDuration = SignedDuration::from_mins(15);

/// The key pairs the emulator accepts: access key ID → secret.
#[derive(Debug, Clone, Default)]
pub struct KeyRing(HashMap<String, String>);

impl KeyRing {
    /// A key ring with one pair.
    pub fn single(id: impl Into<String>, secret: impl Into<String>) -> Self {
        let mut ring = KeyRing::default();
        ring.add(id, secret);
        ring
    }

    /// Adds a pair.
    pub fn add(&mut self, id: impl Into<String>, secret: impl Into<String>) {
        self.0.insert(id.into(), secret.into());
    }

    /// Whether the ring holds `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }
}

/// Where the verifier finds the secret of an access key ID.
pub trait SecretSource {
    /// The secret of `id`, if the key is known.
    fn secret(&self, id: &str) -> Option<&str>;
}

impl SecretSource for KeyRing {
    fn secret(&self, id: &str) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }
}

/// Nonces seen within the window, oldest first.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: HashMap<String, Timestamp>,
    order: VecDeque<(Timestamp, String)>,
}

impl NonceCache {
    /// Records `nonce` at `now`; false when it was already seen within the window.
    pub fn insert(&mut self, nonce: &str, now: Timestamp) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) <= WINDOW {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(nonce) {
            return false;
        }
        self.seen.insert(nonce.to_owned(), now);
        self.order.push_back((now, nonce.to_owned()));
        true
    }
}

/// Parses the `Timestamp` parameter (`YYYY-MM-DDThh:mm:ssZ`, fractional seconds tolerated).
pub fn parse_timestamp(value: &str) -> Option<Timestamp> {
    value.parse::<Timestamp>().ok()
}

/// Checks the protocol parameters and the signature of a request.
///
/// `wire` holds every parameter of the request (query and form body), `Signature` included.
/// A request carrying any parameter in `refused` (the `--signature-fault` injection) is answered
/// as a mismatch, with the same message.
pub fn verify(
    method: &str,
    wire: &BTreeMap<String, String>,
    keys: &dyn SecretSource,
    nonces: &mut NonceCache,
    now: Timestamp,
    refused: &BTreeSet<String>,
) -> Result<(), VendorError> {
    let get = |name: &str| wire.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let key_id = get("AccessKeyId").ok_or_else(|| VendorError::missing_parameter("AccessKeyId"))?;
    let presented = get("Signature").ok_or_else(|| VendorError::missing_parameter("Signature"))?;
    let timestamp = get("Timestamp").ok_or_else(|| VendorError::missing_parameter("Timestamp"))?;
    let nonce =
        get("SignatureNonce").ok_or_else(|| VendorError::missing_parameter("SignatureNonce"))?;
    if let Some(method) = get("SignatureMethod")
        && method != sign::SIGNATURE_METHOD
    {
        return Err(VendorError::signature_method());
    }
    if let Some(version) = get("SignatureVersion")
        && version != sign::SIGNATURE_VERSION
    {
        return Err(VendorError::invalid_parameter("SignatureVersion"));
    }
    let secret = keys
        .secret(key_id)
        .ok_or_else(VendorError::access_key_not_found)?;

    let mut signed = wire.clone();
    signed.remove("Signature");
    let string_to_sign = sign::string_to_sign(method, &signed);
    let expected = sign::sign_string(&string_to_sign, secret);
    let injected = wire.keys().any(|name| refused.contains(name));
    if injected || !sign::signatures_match(&expected, presented) {
        return Err(VendorError::signature_mismatch(&string_to_sign));
    }

    let at = parse_timestamp(timestamp).ok_or_else(VendorError::timestamp_format)?;
    if now.duration_since(at).abs() > WINDOW {
        return Err(VendorError::timestamp_expired());
    }
    if !nonces.insert(nonce, now) {
        return Err(VendorError::nonce_used());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    fn signed_request(secret: &str, nonce: &str, timestamp: &str) -> BTreeMap<String, String> {
        let mut params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "JSON"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce),
            ("SignatureVersion", "1.0"),
            ("Timestamp", timestamp),
            ("Version", "2015-01-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let signature = sign::signature("POST", &params, secret);
        params.insert("Signature".into(), signature);
        params
    }

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn keys() -> KeyRing {
        KeyRing::single("testid", "testsecret")
    }

    #[test]
    fn a_correct_signature_passes_once() {
        let mut nonces = NonceCache::default();
        let request = signed_request("testsecret", "n1", "2024-05-01T12:00:00Z");
        assert_eq!(
            verify("POST", &request, &keys(), &mut nonces, now(), &none()),
            Ok(())
        );
        let again = verify("POST", &request, &keys(), &mut nonces, now(), &none()).unwrap_err();
        assert_eq!(again.code, "SignatureNonceUsed");
    }

    #[test]
    fn a_wrong_secret_is_refused_with_the_server_string_to_sign() {
        let request = signed_request("wrongsecret", "n2", "2024-05-01T12:00:00Z");
        let err = verify(
            "POST",
            &request,
            &keys(),
            &mut NonceCache::default(),
            now(),
            &none(),
        )
        .unwrap_err();
        assert_eq!((err.status, err.code), (400, "SignatureDoesNotMatch"));
        let (_, server_sts) = err.message.split_once(':').unwrap();
        assert!(
            server_sts.starts_with("POST&%2F&AccessKeyId%3Dtestid"),
            "{server_sts}"
        );
    }

    #[test]
    fn an_injected_fault_refuses_a_correct_signature_like_a_mismatch() {
        let mut request = signed_request("testsecret", "n7", "2024-05-01T12:00:00Z");
        request.remove("Signature");
        request.insert("NewPassword".into(), "Pw+1=x".into());
        let signature = sign::signature("POST", &request, "testsecret");
        request.insert("Signature".into(), signature);
        let refused = BTreeSet::from(["NewPassword".to_owned()]);
        let mut nonces = NonceCache::default();
        let err = verify("POST", &request, &keys(), &mut nonces, now(), &refused).unwrap_err();
        assert_eq!((err.status, err.code), (400, "SignatureDoesNotMatch"));
        assert!(
            err.message.contains("NewPassword%3DPw%252B1%253Dx"),
            "{}",
            err.message
        );
        let other = BTreeSet::from(["Password".to_owned()]);
        assert_eq!(
            verify("POST", &request, &keys(), &mut nonces, now(), &other),
            Ok(())
        );
    }

    #[test]
    fn the_method_is_part_of_the_signature() {
        let request = signed_request("testsecret", "n3", "2024-05-01T12:00:00Z");
        let err = verify(
            "GET",
            &request,
            &keys(),
            &mut NonceCache::default(),
            now(),
            &none(),
        )
        .unwrap_err();
        assert_eq!(err.code, "SignatureDoesNotMatch");
    }

    #[test]
    fn unknown_key_ids_are_not_found() {
        let mut request = signed_request("testsecret", "n4", "2024-05-01T12:00:00Z");
        request.insert("AccessKeyId".into(), "other".into());
        let err = verify(
            "POST",
            &request,
            &keys(),
            &mut NonceCache::default(),
            now(),
            &none(),
        )
        .unwrap_err();
        assert_eq!((err.status, err.code), (404, "InvalidAccessKeyId.NotFound"));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        for stamp in ["2024-05-01T11:44:00Z", "2024-05-01T12:16:00Z"] {
            let request = signed_request("testsecret", stamp, stamp);
            let err = verify(
                "POST",
                &request,
                &keys(),
                &mut NonceCache::default(),
                now(),
                &none(),
            )
            .unwrap_err();
            assert_eq!(err.code, "InvalidTimeStamp.Expired", "{stamp}");
        }
        let request = signed_request("testsecret", "n5", "2024-05-01T11:46:00Z");
        assert_eq!(
            verify(
                "POST",
                &request,
                &keys(),
                &mut NonceCache::default(),
                now(),
                &none()
            ),
            Ok(())
        );
    }

    #[test]
    fn nonces_are_forgotten_after_the_window() {
        let mut cache = NonceCache::default();
        assert!(cache.insert("a", now()));
        assert!(!cache.insert("a", now() + SignedDuration::from_mins(10)));
        assert!(cache.insert("a", now() + SignedDuration::from_mins(16)));
    }

    #[test]
    fn several_key_pairs_can_be_configured() {
        let mut ring = keys();
        ring.add("second", "secondsecret");
        let mut request = signed_request("secondsecret", "n6", "2024-05-01T12:00:00Z");
        request.insert("AccessKeyId".into(), "second".into());
        request.remove("Signature");
        let signature = sign::signature("POST", &request, "secondsecret");
        request.insert("Signature".into(), signature);
        assert_eq!(
            verify(
                "POST",
                &request,
                &ring,
                &mut NonceCache::default(),
                now(),
                &none()
            ),
            Ok(())
        );
    }
}

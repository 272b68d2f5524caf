//! One HTTP attempt: POST with every parameter in the query, then decode the answer.
//!
//! Every cloud error is born here, in [`decode`], and every text it keeps from the answer goes
//! through [`scrub`] first, with the secrets of the call in flight.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, DecodeReason, Error, excerpt};
use super::scrub::scrub;
use super::sign::percent_encode;
use kvsync_secrets::Secret;
use kvsync_wire::text::escape_invisible;

/// The most of an answer's body the client reads: far above any real answer (a page of 50
/// instances is a few dozen KiB), low enough that a misbehaving endpoint cannot exhaust memory.
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// The error body of a failed call. The cloud spells the keys in PascalCase; some gateways use
/// camelCase, which the official SDKs also accept.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", alias = "code", default)]
    code: String,
    #[serde(rename = "Message", alias = "message", default)]
    message: String,
    #[serde(rename = "RequestId", alias = "requestId", default)]
    request_id: String,
}

/// The URL of a request: endpoint plus the signed parameters as an RFC 3986 query.
pub fn request_url(endpoint: &str, signed: &BTreeMap<String, String>) -> String {
    let mut url = endpoint.trim_end_matches('/').to_owned();
    url.push_str("/?");
    let mut first = true;
    for (key, value) in signed {
        if !first {
            url.push('&');
        }
        first = false;
        url.push_str(&percent_encode(key));
        url.push('=');
        url.push_str(&percent_encode(value));
    }
    url
}

/// The outcome of one attempt before decoding into the action's type.
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// The `Date` header, when the answer has a readable one.
    pub date: Option<String>,
}

/// Sends one request and reads the whole answer, at most [`MAX_BODY_BYTES`] of it.
pub async fn send(
    http: &reqwest::Client,
    action: &'static str,
    endpoint: &str,
    signed: &BTreeMap<String, String>,
) -> Result<RawAnswer, Error> {
    // The URL carries the signature and parameters (a password, for some calls): never keep
    // it in an error.
    let transport = |source: reqwest::Error| Error::Transport {
        action,
        endpoint: endpoint.to_owned(),
        source: source.without_url(),
    };
    let mut response = http
        .post(request_url(endpoint, signed))
        .header(reqwest::header::CONTENT_LENGTH, "0")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let too_large = || Error::BodyTooLarge {
        action,
        limit: MAX_BODY_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    // Read in chunks and stop at the limit: an answer that never ends must not take the
    // memory with it. Dropping the response closes the connection.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok(RawAnswer { status, body, date })
}

/// The `RequestId` of an answer's JSON body, scrubbed and with invisible characters escaped;
/// empty when the body has none.
pub fn request_id(answer: &RawAnswer, in_flight: &[&Secret]) -> String {
    #[derive(Deserialize)]
    struct WithRequestId {
        #[serde(rename = "RequestId", alias = "requestId", default)]
        request_id: String,
    }
    serde_json::from_str::<WithRequestId>(&answer.body)
        .map(|body| escape_invisible(&scrub(&body.request_id, in_flight)).into_owned())
        .unwrap_or_default()
}

/// Turns an answer into the action's response, or into the vendor's error. Every text the
/// error keeps is scrubbed of `in_flight` (the call's secrets) and of every registered secret
/// before it is cut to an excerpt, so that no part of a secret survives a cut.
pub fn decode<T: DeserializeOwned>(
    action: &'static str,
    answer: &RawAnswer,
    in_flight: &[&Secret],
) -> Result<T, Error> {
    // Scrubbed of secrets, and with control and invisible characters escaped, so that a cloud
    // text (or a proxy's) can neither reveal a secret nor restyle or reorder a terminal.
    let clean = |text: &str| escape_invisible(&scrub(text, in_flight)).into_owned();
    if (200..300).contains(&answer.status) {
        return serde_json::from_str(&answer.body).map_err(|source| Error::Decode {
            action,
            status: answer.status,
            body_excerpt: excerpt(&clean(&answer.body)),
            source: Box::new(DecodeReason::new(clean(&source.to_string()))),
        });
    }
    match serde_json::from_str::<ErrorBody>(&answer.body) {
        Ok(body) if !body.code.is_empty() => Err(Error::from(ApiError {
            action,
            status: answer.status,
            code: clean(&body.code),
            message: clean(&body.message),
            request_id: clean(&body.request_id),
        })),
        // Not a vendor error body (a proxy, a load balancer): keep the status and the text.
        _ => Err(Error::from(ApiError {
            action,
            status: answer.status,
            code: format!("HTTP{}", answer.status),
            message: excerpt(&clean(&answer.body)),
            request_id: String::new(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Ok_ {
        request_id: String,
    }

    #[test]
    fn query_is_rfc3986_encoded() {
        let mut params = BTreeMap::new();
        params.insert("InstanceName".to_string(), "a b+c".to_string());
        params.insert("Signature".to_string(), "x/y=".to_string());
        assert_eq!(
            request_url("http://127.0.0.1:1/", &params),
            "http://127.0.0.1:1/?InstanceName=a%20b%2Bc&Signature=x%2Fy%3D"
        );
    }

    #[test]
    fn success_decodes_the_model() {
        let answer = RawAnswer {
            date: None,
            status: 200,
            body: r#"{"RequestId":"R1"}"#.into(),
        };
        let ok: Ok_ = decode("X", &answer, &[]).unwrap();
        assert_eq!(ok.request_id, "R1");
    }

    #[test]
    fn vendor_errors_keep_code_message_request_id_and_status() {
        let answer = RawAnswer {
            date: None,
            status: 404,
            body: r#"{"RequestId":"R2","HostId":"h","Code":"InvalidInstanceId.NotFound","Message":"The InstanceId provided does not exist in our records."}"#.into(),
        };
        let err = decode::<Ok_>("DescribeInstanceAttribute", &answer, &[]).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!(api.status, 404);
        assert_eq!(api.code, "InvalidInstanceId.NotFound");
        assert_eq!(api.request_id, "R2");
        assert!(api.message.starts_with("The InstanceId"));
    }

    #[test]
    fn camel_case_error_bodies_are_understood() {
        let answer = RawAnswer {
            date: None,
            status: 400,
            body: r#"{"requestId":"R3","code":"Throttling.User","message":"Request was denied due to user flow control."}"#.into(),
        };
        let err = decode::<Ok_>("DescribeInstances", &answer, &[]).unwrap_err();
        assert_eq!(err.code(), Some("Throttling.User"));
    }

    #[test]
    fn non_vendor_error_bodies_keep_the_status() {
        let answer = RawAnswer {
            date: None,
            status: 502,
            body: "<html>Bad Gateway</html>".into(),
        };
        let err = decode::<Ok_>("DescribeInstances", &answer, &[]).unwrap_err();
        assert_eq!(err.code(), Some("HTTP502"));
        assert!(err.to_string().contains("Bad Gateway"));
    }

    /// Renders an error with every cause and its `Debug`, as logs and reports might.
    fn everything(err: &Error) -> String {
        let mut text = format!("{err} {err:?}");
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!(" {cause} {cause:?}"));
            source = cause.source();
        }
        text
    }

    #[test]
    fn a_quoted_string_to_sign_loses_the_secrets_in_flight() {
        let password = Secret::new("Transport+Pw5=x%y&z*");
        let key = Secret::new("Transport-Key-Secret-5");
        let mut params = BTreeMap::new();
        params.insert("AccessKeyId".to_owned(), "testid".to_owned());
        params.insert("AccountPassword".to_owned(), password.expose().to_owned());
        params.insert("Note".to_owned(), key.expose().to_owned());
        let sts = kvsync_wire::sign::string_to_sign("POST", &params);
        let body = serde_json::json!({
            "RequestId": "R4",
            "Code": "SignatureDoesNotMatch",
            "Message": format!("Specified signature is not matched with our calculation. server string to sign is:{sts}"),
        });
        let answer = RawAnswer {
            date: None,
            status: 400,
            body: body.to_string(),
        };
        let err = decode::<Ok_>("CreateAccount", &answer, &[&password, &key]).unwrap_err();
        let text = everything(&err);
        let encoded = kvsync_wire::sign::percent_encode(password.expose());
        for leak in [
            password.expose(),
            &encoded,
            &kvsync_wire::sign::percent_encode(&encoded),
            key.expose(),
        ] {
            assert!(!text.contains(leak), "{leak:?} in {text}");
        }
        assert!(
            text.contains("AccountPassword%3D***%26Note%3D***"),
            "{text}"
        );
    }

    #[test]
    fn control_characters_from_the_cloud_are_escaped() {
        let answer = RawAnswer {
            date: None,
            status: 400,
            body: r#"{"Code":"Bad\u001b[2J","Message":"gone\u202eevil\nnext","RequestId":"r"}"#
                .into(),
        };
        let err = decode::<serde_json::Value>("Test", &answer, &[]).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{text:?}"
        );
        assert!(
            text.contains("\\u{1b}[2J") && text.contains("\\u{202e}"),
            "{text}"
        );
    }

    #[test]
    fn secrets_are_scrubbed_before_bodies_are_cut() {
        let secret = Secret::new("Straddling+Pw4=x%y&z*");
        // The secret straddles the excerpt's cut: a prefix of it must not survive.
        let pad = "a".repeat(crate::error::BODY_EXCERPT_LEN - 5);
        for status in [200, 502] {
            let answer = RawAnswer {
                date: None,
                status,
                body: format!("{pad}{}", secret.expose()),
            };
            let err = decode::<Ok_>("DescribeInstances", &answer, &[&secret]).unwrap_err();
            let text = everything(&err);
            assert!(!text.contains("Strad"), "{text}");
        }
        // A body that is JSON but not the model: the parser's message quotes the value.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        #[allow(dead_code)]
        struct Numbered {
            request_id: u32,
        }
        let answer = RawAnswer {
            date: None,
            status: 200,
            body: serde_json::json!({ "RequestId": secret.expose() }).to_string(),
        };
        let err = decode::<Numbered>("DescribeInstances", &answer, &[&secret]).unwrap_err();
        let text = everything(&err);
        assert!(text.contains("invalid type: string"), "{text}");
        assert!(!text.contains(secret.expose()), "{text}");
    }

    #[test]
    fn malformed_success_bodies_are_decode_errors() {
        let answer = RawAnswer {
            date: None,
            status: 200,
            body: "not json".into(),
        };
        let err = decode::<Ok_>("DescribeInstances", &answer, &[]).unwrap_err();
        assert!(matches!(err, Error::Decode { status: 200, .. }));
    }
}

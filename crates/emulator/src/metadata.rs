//! A stand-in for the ECS instance metadata service's RAM role credentials, in IMDSv2-enforced
//! mode, served under `/latest/` on the emulator's listener:
//!
//! - `PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds: 1..=21600` answers
//!   a session token (text);
//! - `GET /latest/meta-data/ram/security-credentials/` answers the role name (text);
//! - `GET /latest/meta-data/ram/security-credentials/NAME` answers the credentials as JSON
//!   (`AccessKeyId`, `AccessKeySecret`, `SecurityToken`, `Expiration`, `LastUpdated`, `Code`).
//!
//! Both GETs need a live session token in `X-aliyun-ecs-metadata-token`; without one they are
//! answered 401, as an IMDSv2-enforced instance refuses them (the official provider only falls
//! back to IMDSv1 when the token PUT itself fails, so it never meets this answer in normal
//! use). The credentials are issued like STS's (same records, lifetime six hours or the
//! `--sts-max-seconds` cap) and the same set is served until half its lifetime has passed.
//! It never answers for anything but the role credentials.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::issued::NewCredentials;
use super::{Shared, json_response, lock, record, sts, times};

/// The header of the token PUT that sets the token's lifetime.
pub(crate) const TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
/// The header that carries the session token.
pub(crate) const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
/// The longest session token lifetime ECS allows: 6 hours.
pub(crate) const MAX_TOKEN_TTL: u64 = 21_600;
/// How long metadata credentials live unless capped: 6 hours, like ECS's.
const CREDENTIAL_SECONDS: u64 = 6 * 3600;
/// The most live session tokens kept.
const MAX_TOKENS: usize = 10_000;
/// The session name of credentials the metadata stand-in issues.
const SESSION: &str = "ecs-metadata";

/// What a request under `/latest/` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `PUT /latest/api/token`.
    Token,
    /// `GET /latest/meta-data/ram/security-credentials/`.
    RoleName,
    /// `GET /latest/meta-data/ram/security-credentials/NAME`.
    Credentials(String),
    /// Any other method on a known path.
    MethodNotAllowed,
    /// Anything else.
    NotFound,
}

const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// Routes a request under `/latest/`.
pub(crate) fn route(method: &Method, path: &str) -> Endpoint {
    let (endpoint, allowed) = if path == "/latest/api/token" {
        (Endpoint::Token, Method::PUT)
    } else if path == CREDENTIALS_PATH || path == CREDENTIALS_PATH.trim_end_matches('/') {
        (Endpoint::RoleName, Method::GET)
    } else if let Some(name) = path.strip_prefix(CREDENTIALS_PATH)
        && !name.is_empty()
        && !name.contains('/')
    {
        (Endpoint::Credentials(name.to_owned()), Method::GET)
    } else {
        return Endpoint::NotFound;
    };
    if *method == allowed {
        endpoint
    } else {
        Endpoint::MethodNotAllowed
    }
}

/// Live session tokens and the credentials currently served.
#[derive(Debug, Default)]
pub(crate) struct MetadataState {
    tokens: BTreeMap<String, Timestamp>,
    current: Option<(Timestamp, NewCredentials)>,
}

impl MetadataState {
    /// A new session token living `ttl` seconds from `now`.
    fn new_token(&mut self, now: Timestamp, ttl: u64) -> String {
        self.tokens.retain(|_, expires| *expires > now);
        if self.tokens.len() >= MAX_TOKENS
            && let Some(oldest) = self
                .tokens
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(token, _)| token.clone())
        {
            self.tokens.remove(&oldest);
        }
        let token =
            uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
        let seconds = i64::try_from(ttl).unwrap_or(0);
        let expires = now
            .checked_add(SignedDuration::from_secs(seconds))
            .unwrap_or(now);
        self.tokens.insert(token.clone(), expires);
        token
    }

    /// Whether `token` is a live session token at `now`.
    pub(crate) fn token_valid(&self, token: Option<&str>, now: Timestamp) -> bool {
        token
            .and_then(|token| self.tokens.get(token))
            .is_some_and(|expires| *expires > now)
    }
}

/// Parses the TTL header: a whole number of seconds from 1 to [`MAX_TOKEN_TTL`].
pub(crate) fn parse_ttl(value: Option<&str>) -> Option<u64> {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|ttl| (1..=MAX_TOKEN_TTL).contains(ttl))
}

fn text(status: StatusCode, body: &str) -> Response {
    (status, body.to_owned()).into_response()
}

/// Any request under `/latest/`.
pub(crate) async fn serve(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string().to_ascii_uppercase();
    let (status, response) = answer(&shared, &method, uri.path(), &headers);
    let outcome = if status == StatusCode::OK {
        "ok".to_owned()
    } else {
        status.as_u16().to_string()
    };
    record(&shared, "ECSMetadata", &outcome, &request_id, started);
    response
}

fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> (StatusCode, Response) {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let now = shared.config.emulated_now();
    let mut inner = lock(&shared.inner);
    if inner.faults.metadata_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        );
    }
    let refuse = |status: StatusCode, body: &str| (status, text(status, body));
    let endpoint = route(method, path);
    if matches!(endpoint, Endpoint::RoleName | Endpoint::Credentials(_))
        && !inner.metadata.token_valid(header(TOKEN_HEADER), now)
    {
        return refuse(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let roles = &shared.config.roles;
    match endpoint {
        Endpoint::Token => match parse_ttl(header(TTL_HEADER)) {
            Some(ttl) => {
                let token = inner.metadata.new_token(now, ttl);
                (StatusCode::OK, text(StatusCode::OK, &token))
            }
            None => refuse(StatusCode::BAD_REQUEST, "Bad Request"),
        },
        Endpoint::RoleName => match &roles.ecs_role {
            Some(role) => (StatusCode::OK, text(StatusCode::OK, &role.name)),
            None => refuse(StatusCode::NOT_FOUND, "Not Found"),
        },
        Endpoint::Credentials(name) => {
            let Some(role) = roles.ecs_role.as_ref().filter(|role| role.name == name) else {
                return refuse(StatusCode::NOT_FOUND, "Not Found");
            };
            let lifetime = roles.lifetime(CREDENTIAL_SECONDS);
            let half = SignedDuration::from_secs(i64::try_from(lifetime / 2).unwrap_or(0));
            let fresh = inner.metadata.current.as_ref().is_some_and(|(_, current)| {
                inner.state.sts_keys.contains_key(&current.access_key_id)
                    && current.expires.checked_sub(half).is_ok_and(|at| now < at)
            });
            if !fresh {
                let issued = sts::issue(
                    roles,
                    inner.state.sts_keys.whole_mut(),
                    &role.arn,
                    SESSION,
                    CREDENTIAL_SECONDS,
                    now,
                );
                inner.metadata.current = Some((now, issued));
                if let Err(err) = super::persist(&mut inner) {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        text(StatusCode::INTERNAL_SERVER_ERROR, err.code),
                    );
                }
            }
            let Some((updated, current)) = &inner.metadata.current else {
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            };
            let body = json!({
                "AccessKeyId": current.access_key_id,
                "AccessKeySecret": current.secret,
                "SecurityToken": current.token,
                "Expiration": current.expiration(),
                "LastUpdated": times::to_seconds(*updated),
                "Code": "Success",
            });
            (StatusCode::OK, json_response(StatusCode::OK, &body))
        }
        Endpoint::MethodNotAllowed => refuse(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        Endpoint::NotFound => refuse(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_latest_are_routed() {
        assert_eq!(route(&Method::PUT, "/latest/api/token"), Endpoint::Token);
        assert_eq!(
            route(&Method::GET, "/latest/api/token"),
            Endpoint::MethodNotAllowed
        );
        assert_eq!(route(&Method::GET, CREDENTIALS_PATH), Endpoint::RoleName);
        assert_eq!(
            route(
                &Method::GET,
                "/latest/meta-data/ram/security-credentials/EcsRole"
            ),
            Endpoint::Credentials("EcsRole".into())
        );
        assert_eq!(
            route(
                &Method::POST,
                "/latest/meta-data/ram/security-credentials/EcsRole"
            ),
            Endpoint::MethodNotAllowed
        );
        for other in [
            "/latest/meta-data/instance-id",
            "/latest/",
            "/latest/meta-data/ram/security-credentials/a/b",
        ] {
            assert_eq!(route(&Method::GET, other), Endpoint::NotFound, "{other}");
        }
    }

    #[test]
    fn session_tokens_live_their_ttl() {
        let now: Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
        let mut state = MetadataState::default();
        let token = state.new_token(now, 60);
        assert!(state.token_valid(Some(&token), now));
        assert!(state.token_valid(Some(&token), now + SignedDuration::from_secs(59)));
        assert!(!state.token_valid(Some(&token), now + SignedDuration::from_secs(60)));
        assert!(!state.token_valid(Some("forged"), now));
        assert!(!state.token_valid(None, now));
        assert_eq!(parse_ttl(Some("21600")), Some(21600));
        for bad in [None, Some("0"), Some("21601"), Some("x")] {
            assert_eq!(parse_ttl(bad), None, "{bad:?}");
        }
    }
}

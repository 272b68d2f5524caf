//! kvsync's only way to reach the cloud: [`Client::call`] for a typed request and
//! [`Client::send`] for a plan's step, both through one signer, one rate limiter and one
//! retry policy.
//!
//! It owns the common parameters and signing of each attempt, credentials, the HTTP
//! transport (rustls, at most 8 MiB of answer), decoding, the one scrubber of cloud texts,
//! typed errors, retries with backoff and the shared GCRA limiter on tokio's clock. It never
//! plans, reads manifests or decides what to send: requests come declared from
//! `kvsync-wire`, and only requests whose secrets are values (not references) can be sent.

pub use kvsync_wire::{API_VERSION, actions, params, regions, sign};

pub mod clock;
pub mod credentials;
pub mod error;
pub mod ratelimit;
pub mod retry;
pub mod scrub;
pub mod stats;
pub mod tls;
pub mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tracing::{debug, warn};

pub use self::actions::Action;
use self::actions::Request;
use self::clock::CloudClock;
pub use self::credentials::{Credentials, Provider};
pub use self::error::{ApiError, Error};
use self::ratelimit::RateLimiter;
use self::retry::{RetryPolicy, classify};
use self::stats::CallStats;
use kvsync_secrets::Secret;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://r-kvstore.<region>.aliyuncs.com`, chosen per call from its region.
    Regional,
    /// One fixed base URL for every region (`--endpoint`, the emulator).
    Fixed(String),
}

impl Endpoint {
    /// The base URL for a call in `region`.
    pub fn url_for(&self, region: &str) -> String {
        match self {
            Endpoint::Regional => format!("https://r-kvstore.{region}.aliyuncs.com"),
            Endpoint::Fixed(url) => url.trim_end_matches('/').to_owned(),
        }
    }
}

/// How a [`Client`] is set up.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// What requests are signed with: a fixed key pair (`Credentials::into()`) or temporary
    /// credentials kept fresh.
    pub credentials: Provider,
    /// Requests per second across all tasks (the shared bucket).
    pub qps: f64,
    /// The client's own retries of throttled and transient failures.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
}

/// A signed, rate-limited, retrying client of the R-KVStore API. Cheap to clone; clones share
/// the connection pool, the rate limiter and the call counters.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    limiter: Arc<RateLimiter>,
    stats: Arc<CallStats>,
    clock: Arc<CloudClock>,
    fence: Option<Arc<dyn WriteFence>>,
    audit: Option<Arc<dyn CallAudit>>,
}

/// A check every request of a fenced client passes right before it leaves — after the rate
/// limiter's wait and before signing — so that a writer that lost its hold while it waited
/// sends nothing more.
pub trait WriteFence: Send + Sync {
    /// Whether a request to `region` may leave now. It runs on every attempt and must not
    /// block: a local check of what is already known.
    fn allows(&self, region: &str) -> bool;
}

/// Where an audited client reports its write calls: once per write call, with its final
/// outcome (after the client's own retries), never for a read. The sink must not block for
/// long: it runs on the caller's task before the call returns.
pub trait CallAudit: Send + Sync {
    /// Records one finished write call.
    fn record(&self, call: &AuditedCall<'_>);
}

/// One finished write call, as [`CallAudit::record`] sees it. It holds no secret value: a
/// secret parameter appears by name with the value [`SECRET_PLACEHOLDER`], and plain values
/// pass through the scrubber.
#[derive(Debug, Clone)]
pub struct AuditedCall<'a> {
    /// The region the call was sent to.
    pub region: &'a str,
    /// The `Action` parameter.
    pub action: &'static str,
    /// The request's own parameters (common and signature parameters aside), sorted by name.
    pub params: Vec<(&'a str, String)>,
    /// The cloud's `RequestId`: from the answer's body on success (or on an answer that did
    /// not decode), from the vendor error otherwise; empty when the last attempt got no answer
    /// or the answer carried none.
    pub request_id: &'a str,
    /// `ok`, the cloud's error code, `fenced` (not sent), `transport` (no answer), `decode`
    /// (an answer that did not decode) or `body_too_large`.
    pub outcome: &'a str,
    /// When the call started (before the rate limiter's wait).
    pub started: Timestamp,
    /// How long the whole call took, retries and their waits included.
    pub duration: Duration,
    /// How many attempts were made (0 when the fence refused the first).
    pub attempts: u32,
    /// The AccessKeyId the call was signed with (an identifier, not a secret).
    pub access_key_id: &'a str,
}

/// The value an [`AuditedCall`] shows for a secret parameter.
pub const SECRET_PLACEHOLDER: &str = "(secret)";

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.config.endpoint)
            .field("qps", &self.config.qps)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        if let Endpoint::Fixed(url) = &config.endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::Endpoint {
                endpoint: url.clone(),
                reason: "it must start with http:// or https://".into(),
            });
        }
        let http = tls::http_client()
            .timeout(config.timeout)
            .user_agent(concat!("kvsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Transport {
                action: "(client setup)",
                endpoint: config.endpoint.url_for("-"),
                source,
            })?;
        // Cloud texts quoting the key are scrubbed wherever they surface, not only in this
        // client's errors: the provider registers every secret it holds or fetches.
        Ok(Client {
            http,
            limiter: Arc::new(RateLimiter::new(config.qps, 1)),
            config: Arc::new(config),
            stats: Arc::new(CallStats::default()),
            clock: Arc::new(CloudClock::default()),
            fence: None,
            audit: None,
        })
    }

    /// Counters of calls made through this client and its clones.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// Now on the cloud's clock, as its answers' `Date` headers tell (the local clock until
    /// an answer has said).
    pub fn cloud_now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The steady request rate of this client's limiter.
    pub fn qps(&self) -> f64 {
        self.config.qps
    }

    /// The same client (connection pool, credentials, call counters) with a limiter of its own
    /// at `qps` requests per second; `qps` must be positive.
    pub fn with_qps(&self, qps: f64) -> Client {
        self.with_credentials(self.config.credentials.clone(), qps)
    }

    /// The same client (connection pool, call counters) signing with `credentials` and with a
    /// limiter of its own at `qps`: another account's client, whose limits are its own.
    pub fn with_credentials(&self, credentials: Provider, qps: f64) -> Client {
        let mut config = (*self.config).clone();
        config.credentials = credentials;
        config.qps = qps;
        Client {
            http: self.http.clone(),
            limiter: Arc::new(RateLimiter::new(qps, 1)),
            config: Arc::new(config),
            stats: self.stats.clone(),
            clock: self.clock.clone(),
            fence: self.fence.clone(),
            audit: self.audit.clone(),
        }
    }

    /// What this client signs with.
    pub fn credentials(&self) -> &Provider {
        &self.config.credentials
    }

    /// Whether `other` waits on the same rate limiter (a clone, not a client of its own).
    pub fn shares_limiter_with(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.limiter, &other.limiter)
    }

    /// The same client whose every request first asks `fence` and, refused, fails with
    /// [`Error::Fenced`] without being sent (nor retried).
    pub fn fenced(&self, fence: Arc<dyn WriteFence>) -> Client {
        Client {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// The same client that reports every write call to `audit` once it has finished, with
    /// its final outcome; reads are not reported.
    pub fn audited(&self, audit: Arc<dyn CallAudit>) -> Client {
        Client {
            audit: Some(audit),
            ..self.clone()
        }
    }

    /// Calls `action` in `region`, retrying throttled and transient failures with jittered
    /// exponential backoff. Every attempt is signed anew (fresh `Timestamp` and
    /// `SignatureNonce`) while idempotency tokens in the parameters stay the same.
    pub async fn call<A: Action<Secrets = Secret>>(
        &self,
        region: &str,
        action: &A,
    ) -> Result<A::Response, Error> {
        self.call_params(region, A::NAME, A::MUTATING, action.params())
            .await
    }

    /// Sends `request` exactly as it is (a plan's step, its secrets resolved), adding only the
    /// common and signature parameters; the answer is checked to be a well-formed success and
    /// otherwise not kept.
    pub async fn send(&self, region: &str, request: &Request<Secret>) -> Result<(), Error> {
        let write = matches!(request.class(), actions::Class::Write(_));
        self.call_params::<serde::de::IgnoredAny>(region, request.name(), write, request.params())
            .await
            .map(|_| ())
    }

    /// Calls `action` with `params`, decoding a success into `T`; see [`Client::call`]. A
    /// `write` call of an audited client is reported once, when it has finished.
    async fn call_params<T: serde::de::DeserializeOwned>(
        &self,
        region: &str,
        action: &'static str,
        write: bool,
        params: params::Params,
    ) -> Result<T, Error> {
        let audit = self.audit.as_ref().filter(|_| write);
        let mut trace = Trace::default();
        let Some(audit) = audit else {
            return self.attempts(region, action, &params, &mut trace).await.0;
        };
        let started = Timestamp::now();
        let clock = std::time::Instant::now();
        let (result, attempts) = self.attempts(region, action, &params, &mut trace).await;
        let mut request_id = trace.request_id;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(Error::Api(api)) => {
                request_id = api.request_id.clone();
                api.code.as_str()
            }
            // The last answer's body (a success that did not decode may still have acted).
            Err(Error::Decode { .. }) => "decode",
            // No answer to this attempt: an ID an earlier attempt's answer carried is not its.
            Err(Error::Fenced { .. }) => {
                request_id.clear();
                "fenced"
            }
            Err(Error::Transport { .. }) => {
                request_id.clear();
                "transport"
            }
            Err(Error::BodyTooLarge { .. }) => {
                request_id.clear();
                "body_too_large"
            }
            Err(Error::Endpoint { .. }) => {
                request_id.clear();
                "endpoint"
            }
            Err(Error::Credentials { .. }) => {
                request_id.clear();
                "credentials"
            }
        };
        let secrets = in_flight(&params, None);
        let shown = params
            .iter()
            .map(|(name, value)| match value {
                params::ParamValue::Plain(text) => (name, scrub::scrub(text, &secrets)),
                params::ParamValue::Secret(_) => (name, SECRET_PLACEHOLDER.to_owned()),
            })
            .collect();
        audit.record(&AuditedCall {
            region,
            action,
            params: shown,
            request_id: &request_id,
            outcome,
            started,
            duration: clock.elapsed(),
            attempts,
            access_key_id: &trace.access_key_id,
        });
        result
    }

    /// The attempts of one call, retried as the policy says; with how many were made. The
    /// `RequestId` of a successful answer and the key id of the last attempt go to `trace`.
    async fn attempts<T: serde::de::DeserializeOwned>(
        &self,
        region: &str,
        action: &'static str,
        params: &params::Params,
        trace: &mut Trace,
    ) -> (Result<T, Error>, u32) {
        let mut wire = params.expose();
        wire.entry("RegionId".to_owned())
            .or_insert_with(|| region.to_owned());
        let endpoint = self.config.endpoint.url_for(region);
        // The retry deadline runs from when the first attempt leaves, not from when the call
        // joined the rate limiter's queue: a large plan queues thousands of calls at once.
        let mut first_sent: Option<std::time::Instant> = None;
        let mut attempt = 0;
        // Credentials the cloud called expired before their time get one fresh try.
        let mut renewed = false;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            // The last moment before the request leaves: what remains is signing and the
            // write to the socket.
            if let Some(fence) = &self.fence
                && !fence.allows(region)
            {
                self.stats.record(action, "fenced");
                let not_sent = Error::Fenced {
                    action,
                    region: region.to_owned(),
                };
                return (Err(not_sent), attempt - 1);
            }
            // One snapshot signs this attempt: a refresh meanwhile changes the next one only.
            let credentials = match self.config.credentials.current(self.clock.now()).await {
                Ok(credentials) => credentials,
                Err(source) => {
                    self.stats.record(action, "credentials");
                    let not_sent = Error::Credentials {
                        action,
                        source: Box::new(source),
                    };
                    return (Err(not_sent), attempt - 1);
                }
            };
            trace.access_key_id.clone_from(&credentials.access_key_id);
            let in_flight = in_flight(params, Some(&credentials));
            let started = std::time::Instant::now();
            let first_sent = *first_sent.get_or_insert(started);
            let signed = self.sign(action, wire.clone(), &credentials);
            let result = transport::send(&self.http, action, &endpoint, &signed)
                .await
                .and_then(|answer| {
                    if let Some(date) = &answer.date {
                        self.clock.observe(date, Timestamp::now());
                    }
                    trace.request_id = transport::request_id(&answer, &in_flight);
                    transport::decode::<T>(action, &answer, &in_flight)
                });
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(response) => {
                    self.stats.record(action, "ok");
                    debug!(
                        action = action,
                        region, attempt, elapsed_ms, "call succeeded"
                    );
                    return (Ok(response), attempt);
                }
                Err(Error::Api(api))
                    if api.code == EXPIRED_TOKEN
                        && !renewed
                        && self.config.credentials.spec().is_temporary() =>
                {
                    self.stats.record(action, "expired_credentials");
                    warn!(action = action, region, provider = %self.config.credentials.name(), "the cloud refused the credentials as expired; refreshing them");
                    self.config
                        .credentials
                        .refused_as_expired(&credentials.access_key_id);
                    renewed = true;
                }
                Err(err) => {
                    let class = classify(&err);
                    self.stats.record(action, class.label());
                    if !self
                        .config
                        .retry
                        .should_retry(class, attempt, first_sent.elapsed())
                    {
                        debug!(action = action, region, attempt, ?class, error = %err, "call failed");
                        return (Err(err), attempt);
                    }
                    let delay = self.config.retry.backoff(attempt, rand::random::<f64>());
                    warn!(
                        action = action,
                        region,
                        attempt,
                        ?class,
                        error = %err,
                        retry_in_ms = delay.as_millis() as u64,
                        "call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Adds the common parameters and the signature.
    fn sign(
        &self,
        action: &str,
        mut params: BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> BTreeMap<String, String> {
        let common = [
            ("Action", action.to_owned()),
            ("Version", API_VERSION.to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", credentials.access_key_id.clone()),
            ("SignatureMethod", sign::SIGNATURE_METHOD.to_owned()),
            ("SignatureVersion", sign::SIGNATURE_VERSION.to_owned()),
            ("SignatureNonce", uuid::Uuid::new_v4().simple().to_string()),
            ("Timestamp", format_timestamp(Timestamp::now())),
        ];
        for (name, value) in common {
            params.insert(name.to_owned(), value);
        }
        if let Some(token) = &credentials.security_token {
            params.insert("SecurityToken".to_owned(), token.expose().to_owned());
        }
        let signature = sign::signature("POST", &params, credentials.access_key_secret.expose());
        params.insert("Signature".to_owned(), signature);
        params
    }
}

/// The code the cloud answers a call signed with expired temporary credentials.
pub const EXPIRED_TOKEN: &str = "InvalidSecurityToken.Expired";

/// What a call's attempts report besides their result.
#[derive(Debug, Default)]
struct Trace {
    /// The last answer's `RequestId`.
    request_id: String,
    /// The key id the last attempt was signed with.
    access_key_id: String,
}

/// What an answer might quote back and must not keep: the call's secret parameters and the
/// key it is signed with.
fn in_flight<'a>(
    params: &'a params::Params,
    credentials: Option<&'a Credentials>,
) -> Vec<&'a Secret> {
    params
        .iter()
        .filter_map(|(_, value)| match value {
            params::ParamValue::Secret(secret) => Some(secret),
            params::ParamValue::Plain(_) => None,
        })
        .chain(credentials.map(|c| &c.access_key_secret))
        .chain(credentials.and_then(|c| c.security_token.as_ref()))
        .collect()
}

/// The `Timestamp` parameter's format: ISO 8601 UTC to the second.
pub fn format_timestamp(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_seconds() {
        let at: Timestamp = "2024-01-02T03:04:05.678Z".parse().unwrap();
        assert_eq!(format_timestamp(at), "2024-01-02T03:04:05Z");
    }

    #[test]
    fn regional_endpoints_follow_the_sdk_rule() {
        assert_eq!(
            Endpoint::Regional.url_for("cn-shanghai"),
            "https://r-kvstore.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(
            Endpoint::Fixed("http://127.0.0.1:9/".into()).url_for("cn-shanghai"),
            "http://127.0.0.1:9"
        );
    }
}

//! A [`Provider`] hands every request the credentials to sign it with: a fixed pair as it is,
//! or temporary credentials fetched from STS or the metadata service, cached and refreshed as
//! [`cache`](super::cache) decides. A call takes one snapshot before it is signed and signs
//! with it alone, so a refresh never changes the credentials of a call being signed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tracing::{info, warn};

use super::cache::{Cache, Decision};
use super::sts::{self, Issued};
use super::{Credentials, CredentialsError, Endpoints, Spec, metadata};
use crate::error::error_chain;
use kvsync_secrets::Secret;

/// Timeout of one STS or metadata request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest OIDC token file read (a JWT is a few KiB).
const MAX_TOKEN_BYTES: u64 = 64 << 10;

/// Credentials for requests. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    spec: Spec,
    endpoints: Endpoints,
    http: reqwest::Client,
    /// For a fixed pair, the pair; otherwise unused.
    fixed: Option<Arc<Credentials>>,
    cache: Mutex<Cache>,
    /// Held by the one refresh under way.
    refreshing: tokio::sync::Mutex<()>,
    /// The OIDC token last read, on the scrubber's list until the file holds another.
    oidc_token: Mutex<Option<Secret>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("provider", &self.inner.spec.provider_name())
            .finish_non_exhaustive()
    }
}

impl From<Credentials> for Provider {
    fn from(credentials: Credentials) -> Self {
        Provider::new(Spec::Fixed(credentials), Endpoints::default())
    }
}

impl Provider {
    /// A provider of `spec`'s credentials, fetching temporary ones from `endpoints`.
    pub fn new(spec: Spec, endpoints: Endpoints) -> Self {
        let fixed = match &spec {
            Spec::Fixed(credentials) => {
                credentials.register();
                Some(Arc::new(credentials.clone()))
            }
            _ => None,
        };
        // A client that cannot be built with a timeout is a broken TLS setup; fall back to the
        // default client rather than fail (the timeout is then reqwest's).
        let http = crate::tls::http_client()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("kvsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Provider {
            inner: Arc::new(Inner {
                spec,
                endpoints,
                http,
                fixed,
                cache: Mutex::new(Cache::default()),
                refreshing: tokio::sync::Mutex::new(()),
                oidc_token: Mutex::new(None),
            }),
        }
    }

    /// Whether `other` is a clone of this provider, sharing its cached credentials.
    pub fn shares_cache_with(&self, other: &Provider) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Where temporary credentials are fetched from.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// What the credentials come from.
    pub fn spec(&self) -> &Spec {
        &self.inner.spec
    }

    /// The provider's name ([`Spec::provider_name`]).
    pub fn name(&self) -> String {
        self.inner.spec.provider_name()
    }

    /// Why the last refresh failed, while none has succeeded since.
    pub fn refresh_error(&self) -> Option<String> {
        self.lock().refresh_error().map(str::to_owned)
    }

    /// The last four characters of the key id in use (`None`: none fetched yet).
    pub fn key_hint(&self) -> Option<String> {
        match &self.inner.fixed {
            Some(fixed) => Some(fixed.key_hint()),
            None => self.lock().key_hint(),
        }
    }

    /// When the credentials in use expire (`None`: fixed, or none fetched yet).
    pub fn expires(&self) -> Option<Timestamp> {
        self.lock().expires()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The credentials to sign a request leaving at `now` (on the cloud's clock) with.
    pub async fn current(&self, now: Timestamp) -> Result<Arc<Credentials>, CredentialsError> {
        if let Some(fixed) = &self.inner.fixed {
            return Ok(fixed.clone());
        }
        // A refresh, or a wait for another's, then one more decision; the cache backs off after
        // a failure, so this ends at once but for a refusal racing with the refresh.
        for _ in 0..3 {
            let decision = self.lock().decide(now);
            let fallback = match decision {
                Decision::Use(credentials) => return Ok(credentials),
                Decision::Fail { reason, expired } => return Err(self.failure(reason, expired)),
                Decision::Refresh { fallback } => fallback,
            };
            match (self.inner.refreshing.try_lock(), fallback) {
                (Ok(_guard), _) => {
                    // The decision may be stale: another refresh finished before this one
                    // took the lock.
                    let still_due = matches!(self.lock().decide(now), Decision::Refresh { .. });
                    if still_due {
                        self.refresh(now).await;
                    }
                }
                (Err(_), Some(fallback)) => return Ok(fallback),
                (Err(_), None) => {
                    // Wait for the refresh under way, then decide again.
                    let _ = self.inner.refreshing.lock().await;
                }
            }
            // A refresh was made (or failed) since the decision: decide once more, without
            // starting another if it failed (the cache backs off).
            let decision = self.lock().decide(now);
            return match decision {
                Decision::Use(credentials) => Ok(credentials),
                Decision::Refresh {
                    fallback: Some(credentials),
                } => Ok(credentials),
                Decision::Fail { reason, expired } => Err(self.failure(reason, expired)),
                Decision::Refresh { fallback: None } => continue,
            };
        }
        Err(self.failure(
            "the credentials were refused as expired again while being refreshed".into(),
            None,
        ))
    }

    /// The cloud refused `access_key_id` as expired: the next call fetches new credentials.
    pub fn refused_as_expired(&self, access_key_id: &str) {
        if self.inner.spec.is_temporary() {
            self.lock().refused(access_key_id);
        }
    }

    fn failure(&self, reason: String, expired: Option<Timestamp>) -> CredentialsError {
        let provider = self.name();
        let described = self.inner.spec.describe();
        match expired {
            Some(expired) => CredentialsError::Expired {
                provider,
                described,
                expired,
                reason,
            },
            None => CredentialsError::Fetch {
                provider,
                described,
                reason,
            },
        }
    }

    /// Fetches new credentials and records the outcome in the cache.
    async fn refresh(&self, now: Timestamp) {
        let fetched = fetch(
            &self.inner.http,
            &self.inner.endpoints,
            &self.inner.spec,
            now,
            &self.inner.oidc_token,
        )
        .await;
        match fetched {
            // Credentials that have expired on arrival would be fetched again at every call.
            Ok(issued) if issued.expiration <= now + jiff::SignedDuration::from_secs(1) => {
                let reason = format!(
                    "the credentials issued expire at {}, which is not after now ({now}): is a clock wrong?",
                    issued.expiration
                );
                warn!(provider = %self.name(), error = %reason, "refreshing credentials failed");
                issued.credentials.retire();
                self.lock().failed(reason, now);
            }
            Ok(issued) => {
                info!(
                    provider = %self.name(),
                    access_key_id = %issued.credentials.key_hint(),
                    expires = %issued.expiration,
                    "temporary credentials obtained"
                );
                let retired = self.lock().refreshed(issued, now);
                for old in retired {
                    old.retire();
                }
            }
            Err(reason) => {
                let reason = crate::scrub::scrub(&reason, &[]);
                warn!(provider = %self.name(), error = %reason, "refreshing credentials failed");
                self.lock().failed(reason, now);
            }
        }
    }
}

/// Fetches the credentials `spec` describes (for an assumed role, after its base's); the error
/// is a reason in words, without any value.
fn fetch<'a>(
    http: &'a reqwest::Client,
    endpoints: &'a Endpoints,
    spec: &'a Spec,
    now: Timestamp,
    oidc_token: &'a Mutex<Option<Secret>>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Issued, String>> + Send + 'a>> {
    Box::pin(async move {
        match spec {
            Spec::Fixed(credentials) => Ok(Issued {
                credentials: credentials.clone(),
                expiration: Timestamp::MAX,
            }),
            Spec::AssumeRole { base, role } => {
                let base_credentials = fetch(http, endpoints, base, now, oidc_token)
                    .await?
                    .credentials;
                let nonce = uuid::Uuid::new_v4().simple().to_string();
                let params = sts::assume_role_request(role, &base_credentials, now, &nonce);
                let secrets: Vec<&Secret> = std::iter::once(&base_credentials.access_key_secret)
                    .chain(base_credentials.security_token.as_ref())
                    .collect();
                let issued = sts::send(http, &endpoints.sts, "AssumeRole", &params, &secrets)
                    .await
                    .map_err(|err| error_chain(&err));
                // A chain's intermediate credentials signed this one call, whose answer was
                // scrubbed of them; nothing else holds them, so the scrubber lets them go.
                if base.is_temporary() {
                    base_credentials.retire();
                }
                issued
            }
            Spec::Oidc {
                role,
                provider_arn,
                token_file,
            } => {
                let token = read_token(token_file).await?;
                remember_token(oidc_token, &token);
                let params = sts::oidc_request(role, provider_arn, &token, now);
                sts::send(
                    http,
                    &endpoints.sts,
                    "AssumeRoleWithOIDC",
                    &params,
                    &[&token],
                )
                .await
                .map_err(|err| error_chain(&err))
            }
            Spec::EcsRole { role_name } => {
                metadata::fetch(http, &endpoints.metadata, role_name.as_deref())
                    .await
                    .map_err(|err| error_chain(&err))
            }
        }
    })
}

/// Reads the OIDC token file afresh (the platform rotates it), bounded.
async fn read_token(path: &std::path::Path) -> Result<Secret, String> {
    let path = path.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        kvsync_secrets::bounded_read::read_regular(&path, MAX_TOKEN_BYTES)
            .map_err(|err| format!("reading the OIDC token file {}: {err}", path.display()))
    })
    .await
    .map_err(|err| format!("reading the OIDC token file: {err}"))??;
    let text =
        String::from_utf8(read).map_err(|_| "the OIDC token file is not UTF-8".to_owned())?;
    let token = Secret::new(text.trim());
    if token.expose().is_empty() {
        return Err("the OIDC token file is empty".into());
    }
    Ok(token)
}

/// Puts `token` on the scrubber's list, taking the one it replaces off.
fn remember_token(last: &Mutex<Option<Secret>>, token: &Secret) {
    let mut last = last.lock().unwrap_or_else(|poison| poison.into_inner());
    if last.as_ref() == Some(token) {
        return;
    }
    kvsync_secrets::value::register(token);
    if let Some(old) = last.replace(token.clone()) {
        kvsync_secrets::value::retire(&old);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::credentials::RoleRequest;

    /// An STS stand-in that answers every request with `body` and counts them.
    async fn sts_answering(body: String) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buffer = [0u8; 16 << 10];
                let _ = stream.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (url, count)
    }

    fn role_spec() -> Spec {
        Spec::AssumeRole {
            base: Box::new(Spec::Fixed(Credentials {
                access_key_id: "base-key-id".into(),
                access_key_secret: Secret::new("provider-test-base-secret-Kq2"),
                security_token: None,
            })),
            role: RoleRequest {
                role_arn: "acs:ram::1:role/r".into(),
                session_name: "kvsync".into(),
                duration_seconds: 3600,
                policy: None,
                external_id: None,
            },
        }
    }

    fn answer(expiration: &str) -> String {
        format!(
            r#"{{"RequestId":"r-1","Credentials":{{"AccessKeyId":"STS.providertest0000000001","AccessKeySecret":"provider-test-issued-secret-Kq2","SecurityToken":"CAIS-provider-test-token-Kq2","Expiration":"{expiration}"}}}}"#
        )
    }

    #[tokio::test]
    async fn credentials_expired_on_arrival_are_a_failure_not_a_loop() {
        let (url, count) = sts_answering(answer("2020-01-01T00:00:00Z")).await;
        let provider = Provider::new(
            role_spec(),
            Endpoints {
                sts: url,
                metadata: "http://127.0.0.1:9".into(),
            },
        );
        let now = Timestamp::now();
        let err = provider.current(now).await.unwrap_err();
        assert!(err.to_string().contains("is a clock wrong"), "{err}");
        assert!(err.to_string().contains("ram_role_arn/static_ak"), "{err}");
        // Within the pause after a failure, calls fail without asking STS again.
        let _ = provider.current(now).await.unwrap_err();
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_calls_share_one_refresh() {
        let expires = (Timestamp::now() + jiff::SignedDuration::from_hours(1))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (url, count) = sts_answering(answer(&expires)).await;
        let provider = Provider::new(
            role_spec(),
            Endpoints {
                sts: url,
                metadata: "http://127.0.0.1:9".into(),
            },
        );
        let now = Timestamp::now();
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let provider = provider.clone();
                tokio::spawn(async move { provider.current(now).await })
            })
            .collect();
        for call in calls {
            let credentials = call.await.unwrap().unwrap();
            assert_eq!(credentials.access_key_id, "STS.providertest0000000001");
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(provider.expires().is_some());
    }
}

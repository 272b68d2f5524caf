//! The daemon's operator's view over HTTP (`--listen`, default `127.0.0.1:9464`).
//!
//! | path | answer |
//! |---|---|
//! | `GET /healthz` | `200 ok` while the process serves |
//! | `GET /readyz` | `200 ready` once the first reconcile has finished, `503 not ready` before |
//! | `GET /metrics` | Prometheus text format 0.0.4 ([`super::metrics`]) |
//! | `GET /status` | the [`DaemonStatus`] as JSON |
//!
//! Owns routing and content types only; it reads the shared status and the client's call
//! counters and never changes either, and never calls the cloud.

use std::future::IntoFuture;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use super::metrics;
use super::status::{DaemonStatus, SharedStatus};
use crate::api::Client;
use crate::apply::progress::StopSignal;

/// How long connections still open when a stop is asked for may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Shared {
    status: SharedStatus,
    client: Client,
}

/// Serves until `stop` fires (or its handle is dropped), then stops accepting, lets requests in
/// flight finish within a few seconds, and returns.
pub async fn serve(
    listener: TcpListener,
    status: SharedStatus,
    client: Client,
    stop: StopSignal,
) -> Result<(), std::io::Error> {
    serve_with_grace(listener, status, client, stop, SHUTDOWN_GRACE).await
}

async fn serve_with_grace(
    listener: TcpListener,
    status: SharedStatus,
    client: Client,
    stop: StopSignal,
    grace: Duration,
) -> Result<(), std::io::Error> {
    let server = axum::serve(listener, router(Shared { status, client }))
        .with_graceful_shutdown({
            let stop = stop.clone();
            async move { stop.stopped().await }
        })
        .into_future();
    // A client that keeps a connection open mid-request must not hold up the daemon's exit.
    let deadline = async {
        stop.stopped().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::debug!("HTTP connections still open after the grace period; closing them");
            Ok(())
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/status", get(status_json))
        .fallback(not_found)
        .with_state(shared)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(shared): State<Shared>) -> Response {
    if shared.status.lock().ready {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics_text(State(shared): State<Shared>) -> Response {
    let status = shared.status.snapshot();
    let calls = shared.client.stats().snapshot();
    let body = metrics::render(&status, &calls);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

async fn status_json(State(shared): State<Shared>) -> axum::Json<DaemonStatus> {
    axum::Json(shared.status.snapshot())
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use serde_json::Value;
    use tokio::io::AsyncWriteExt;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::api::{ClientConfig, Credentials, Endpoint};
    use crate::apply::progress::{StopHandle, stop_pair};
    use crate::daemon::status::{InstanceResult, InstanceStatus, Mode, Revision};
    use crate::secret::Secret;

    /// A client that is never used to call anything: the server only reads its counters.
    fn client() -> Client {
        Client::new(ClientConfig {
            endpoint: Endpoint::Fixed("http://127.0.0.1:9".into()),
            credentials: Credentials {
                access_key_id: "testid".into(),
                access_key_secret: Secret::new("testsecret"),
                security_token: None,
            },
            qps: 1.0,
            retry: Default::default(),
            timeout: Duration::from_secs(1),
        })
        .unwrap()
    }

    fn status() -> SharedStatus {
        let mut status = DaemonStatus::new(Mode::Observe, "2025-01-02T03:04:05Z".parse().unwrap());
        status.instances.insert(
            "cn-hangzhou/orders".into(),
            InstanceStatus {
                last_result: InstanceResult::Drift,
                drift: vec!["spec.ssl: Disable → Enable".into()],
                last_error: None,
                last_run: Some("2025-01-02T03:05:00Z".parse().unwrap()),
                next_run: Some("2025-01-02T03:10:00Z".parse().unwrap()),
                consecutive_failures: 0,
            },
        );
        SharedStatus::new(status)
    }

    struct Running {
        addr: SocketAddr,
        status: SharedStatus,
        client: Client,
        stop: StopHandle,
        task: JoinHandle<Result<(), std::io::Error>>,
        http: reqwest::Client,
    }

    impl Running {
        async fn start(grace: Duration) -> Running {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let status = status();
            let client = client();
            let (stop, signal) = stop_pair();
            let task = tokio::spawn(serve_with_grace(
                listener,
                status.clone(),
                client.clone(),
                signal,
                grace,
            ));
            Running {
                addr,
                status,
                client,
                stop,
                task,
                http: reqwest::Client::new(),
            }
        }

        async fn get(&self, path: &str) -> (u16, String, String) {
            let response = self
                .http
                .get(format!("http://{}{path}", self.addr))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, content_type, response.text().await.unwrap())
        }

        async fn stop(self) {
            self.stop.stop();
            tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("the server stops")
                .unwrap()
                .unwrap();
        }
    }

    #[tokio::test]
    async fn healthz_is_always_ok() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        let (code, content_type, body) = server.get("/healthz").await;
        assert_eq!(code, 200);
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert_eq!(body, "ok");
        server.stop().await;
    }

    #[tokio::test]
    async fn readiness_flips_after_the_first_reconcile() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        let (code, content_type, body) = server.get("/readyz").await;
        assert_eq!((code, body.as_str()), (503, "not ready"));
        assert!(content_type.starts_with("text/plain"), "{content_type}");

        server.status.lock().ready = true;
        let (code, _, body) = server.get("/readyz").await;
        assert_eq!((code, body.as_str()), (200, "ready"));
        server.stop().await;
    }

    #[tokio::test]
    async fn metrics_render_the_status_and_the_clients_counters() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        server.client.stats().record("DescribeInstances", "ok");
        server
            .client
            .stats()
            .record("DescribeInstances", "throttled");
        {
            let mut status = server.status.lock();
            status.ready = true;
            status.cycles = 1;
            status.cycle_seconds.observe(1.5);
            status.revision = Some(Revision {
                source: "dir".into(),
                id: "sha256:abc".into(),
            });
        }
        let (code, content_type, body) = server.get("/metrics").await;
        assert_eq!(code, 200);
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(
            body,
            metrics::render(&server.status.snapshot(), &server.client.stats().snapshot())
        );
        for line in [
            "kvsync_ready 1\n",
            "kvsync_reconcile_total{result=\"ok\"} 1\n",
            "kvsync_instance_drift{instance=\"cn-hangzhou/orders\"} 1\n",
            "kvsync_api_calls_total{action=\"DescribeInstances\",outcome=\"throttled\"} 1\n",
            "kvsync_api_throttled_total 1\n",
            "kvsync_revision_info{source=\"dir\",revision=\"sha256:abc\"} 1\n",
        ] {
            assert!(body.contains(line), "{line} in:\n{body}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn status_is_the_daemon_status_as_json() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        server.status.lock().cycle_error = Some("observing cn-hangzhou: timed out".into());
        let (code, content_type, body) = server.get("/status").await;
        assert_eq!(code, 200);
        assert_eq!(content_type, "application/json");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::to_value(server.status.snapshot()).unwrap()
        );
        assert_eq!(json["mode"], "observe");
        assert_eq!(json["ready"], false);
        assert_eq!(json["started_at"], "2025-01-02T03:04:05Z");
        assert_eq!(json["cycle_error"], "observing cn-hangzhou: timed out");
        let orders = &json["instances"]["cn-hangzhou/orders"];
        assert_eq!(orders["last_result"], "drift");
        assert_eq!(orders["drift"][0], "spec.ssl: Disable → Enable");
        assert_eq!(orders["last_error"], Value::Null);
        assert_eq!(orders["next_run"], "2025-01-02T03:10:00Z");
        server.stop().await;
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found_and_other_methods_not_allowed() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        for path in ["/", "/metrics/", "/nope", "/status.json"] {
            let (code, _, body) = server.get(path).await;
            assert_eq!((code, body.as_str()), (404, "not found"), "{path}");
        }
        let response = server
            .http
            .post(format!("http://{}/readyz", server.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_stop_ends_serving_and_frees_the_port() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        let addr = server.addr;
        // A kept-alive connection from an earlier request does not hold up the stop.
        assert_eq!(server.get("/healthz").await.0, 200);
        let http = server.http.clone();
        server.stop().await;
        assert!(
            http.get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_err()
        );
        TcpListener::bind(addr)
            .await
            .expect("the port is free again");
    }

    #[tokio::test]
    async fn a_stalled_client_holds_up_the_stop_no_longer_than_the_grace_period() {
        let server = Running::start(Duration::from_millis(200)).await;
        // Half a request, never finished.
        let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stalled
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        server.stop().await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        drop(stalled);
    }
}

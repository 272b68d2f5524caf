//! The daemon's operator's view over HTTP (`--listen`, default `127.0.0.1:9464`).
//!
//! | path | answer |
//! |---|---|
//! | `GET /healthz` | `200 ok` while the process serves |
//! | `GET /readyz` | `200 ready`, or `503 not ready: <why>` ([`DaemonStatus::readiness`]) |
//! | `GET /metrics` | Prometheus text format 0.0.4 ([`super::metrics`]) |
//! | `GET /status` | the [`DaemonStatus`] as JSON |
//! | `GET /`, `/instances/{region}/{name}`, `/history` | the console's pages ([`super::console`]) |
//! | `GET /api/v1/…` | the console's JSON views |
//! | `GET /events` | the last notification events ([`crate::notify::RING_CAPACITY`]) as a JSON array, oldest first |
//!
//! Served with hyper directly (HTTP/1.1), so that clients cannot exhaust it: a request's
//! headers must arrive within [`Limits::header_read_timeout`] (which also ends a kept-alive
//! connection that sends nothing), a connection on which nothing moves for
//! [`Limits::idle_timeout`] is closed, and at most [`Limits::max_connections`] are open; at the
//! limit, the oldest connection that has not sent a complete request (then the oldest one not
//! being answered) is closed to make room for the new one, so probes keep answering while
//! half-open connections pile up.
//!
//! Owns routing, content types and connections only; it reads the shared status and the
//! client's call counters and never changes either, and never calls the cloud.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::debug;

use super::status::DaemonStatus;
use super::{console, metrics};
use crate::api::Client;
use crate::apply::progress::StopSignal;

/// How long connections still open when a stop is asked for may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connections at most, whatever the limit on open files allows.
pub const MAX_CONNECTIONS: usize = 256;

/// What the server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers (and, on a kept-alive connection, the next request's) must have
    /// arrived within this.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// After a stop, how long requests in flight may take.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: MAX_CONNECTIONS,
            grace: SHUTDOWN_GRACE,
        }
    }
}

impl Limits {
    /// The default limits for a process allowed `open_files` file descriptors: at most half
    /// of them for connections.
    pub fn for_open_files(open_files: Option<u64>) -> Self {
        let allowed = open_files
            .map(|n| usize::try_from(n / 2).unwrap_or(usize::MAX))
            .unwrap_or(MAX_CONNECTIONS);
        Limits {
            max_connections: allowed.clamp(1, MAX_CONNECTIONS),
            ..Limits::default()
        }
    }
}

/// Raises the soft limit on open files to the hard limit (so that connections, manifests and
/// API calls do not run short of descriptors) and returns the soft limit in force, if known.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            limit.current = limit.maximum;
            if let Err(err) = setrlimit(Resource::Nofile, limit) {
                debug!(error = %err, "the limit on open files stays as it is");
            }
        }
        // `None` is unlimited.
        Some(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[derive(Clone)]
struct Shared {
    status: super::stacks::StatusView,
    client: Client,
    events: crate::notify::Notifier,
}

/// Serves until `stop` fires (or its handle is dropped), then stops accepting, lets requests in
/// flight finish within a few seconds, and returns.
pub async fn serve(
    listener: TcpListener,
    status: super::stacks::StatusView,
    client: Client,
    events: crate::notify::Notifier,
    stop: StopSignal,
    limits: Limits,
) -> Result<(), io::Error> {
    let router = router(Shared {
        status,
        client,
        events,
    });
    let connections = Arc::new(Mutex::new(Connections::default()));
    let mut tasks = JoinSet::new();
    let mut next_id = 0_u64;
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.stopped() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors, or a connection reset before it was accepted: make room
                // and go on.
                debug!(error = %err, "accepting a connection failed");
                lock(&connections).make_room(1);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let id = next_id;
        next_id += 1;
        let Some(connection) = lock(&connections).admit(id, limits.max_connections) else {
            debug!("every connection is being answered; refusing a new one");
            continue;
        };
        tasks.spawn(serve_connection(
            stream,
            router.clone(),
            connection,
            limits,
            stop.clone(),
            connections.clone(),
            id,
        ));
    }
    drop(listener);
    // A client that keeps a connection open mid-request must not hold up the daemon's exit.
    let drained = tokio::time::timeout(limits.grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        debug!("HTTP connections still open after the grace period; closing them");
    }
    tasks.abort_all();
    Ok(())
}

fn lock(connections: &Mutex<Connections>) -> std::sync::MutexGuard<'_, Connections> {
    connections
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// One connection as the accept loop sees it.
#[derive(Default)]
struct Connection {
    /// Requests whose headers arrived.
    requests: AtomicU64,
    /// Whether a request is being answered.
    answering: AtomicBool,
    /// Closes the connection.
    evict: Notify,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Connections {
    open: BTreeMap<u64, Arc<Connection>>,
}

impl Connections {
    /// Registers connection `id`, first closing others until fewer than `max` are open;
    /// `None` (refuse it) when every open connection is being answered.
    fn admit(&mut self, id: u64, max: usize) -> Option<Arc<Connection>> {
        if !self.make_room(max) {
            return None;
        }
        let connection = Arc::new(Connection::default());
        self.open.insert(id, connection.clone());
        Some(connection)
    }

    /// Closes connections until fewer than `max` are open: the oldest that has not sent a
    /// complete request first, then the oldest that is not being answered. `false` if every
    /// one left is being answered.
    fn make_room(&mut self, max: usize) -> bool {
        while self.open.len() >= max.max(1) {
            let idle = |c: &Connection| !c.answering.load(Ordering::Acquire);
            let victim = self
                .open
                .iter()
                .find(|(_, c)| c.requests.load(Ordering::Acquire) == 0 && idle(c))
                .or_else(|| self.open.iter().find(|(_, c)| idle(c)))
                .map(|(id, _)| *id);
            let Some(connection) = victim.and_then(|id| self.open.remove(&id)) else {
                return false;
            };
            connection.evict.notify_one();
        }
        true
    }
}

/// Marks a connection as answering a request for as long as it lives.
struct Answering(Arc<Connection>);

impl Answering {
    fn start(connection: Arc<Connection>) -> Self {
        connection.requests.fetch_add(1, Ordering::AcqRel);
        connection.answering.store(true, Ordering::Release);
        Answering(connection)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.store(false, Ordering::Release);
    }
}

/// Serves one connection until it ends, is closed to make room, goes idle, or the server stops.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    connection: Arc<Connection>,
    limits: Limits,
    stop: StopSignal,
    connections: Arc<Mutex<Connections>>,
    id: u64,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let answering = connection.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = Answering::start(answering.clone());
        let mut router = router.clone();
        async move {
            let response = tower_service::Service::call(&mut router, request).await;
            drop(guard);
            response
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(served);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(err) = result {
                    debug!(error = %err, "HTTP connection ended");
                }
                break;
            }
            () = connection.evict.notified() => {
                debug!("closing a connection to make room for a new one");
                break;
            }
            () = activity.idle_for(limits.idle_timeout) => {
                debug!("closing an idle connection");
                break;
            }
            () = stop.stopped(), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    lock(&connections).open.remove(&id);
}

/// When bytes last moved on a connection.
struct Activity {
    base: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Release);
    }

    /// Resolves once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.base + Duration::from_millis(self.last_ms.load(Ordering::Acquire));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A stream that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/status", get(status_json))
        .route("/", get(console_overview))
        .route("/history", get(console_history))
        .route("/instances/{region}/{name}", get(console_instance))
        .route("/console.css", get(console_css))
        .route("/api/v1/overview", get(api_overview))
        .route("/api/v1/instances", get(api_instances))
        .route("/api/v1/instances/{region}/{name}", get(api_instance))
        .route("/api/v1/history", get(api_history))
        .route("/events", get(events_json))
        .fallback(not_found)
        .with_state(shared)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(shared): State<Shared>) -> Response {
    let verdict = shared.status.readiness(jiff::Timestamp::now());
    match verdict {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}"),
        )
            .into_response(),
    }
}

async fn metrics_text(State(shared): State<Shared>) -> Response {
    let status = shared.status.snapshot();
    let calls = shared.client.stats().snapshot();
    let extras = metrics::Extras {
        process: super::process::read(),
        notifications: shared
            .events
            .counters()
            .into_iter()
            .map(|(receiver, counts)| metrics::NotificationCounts {
                receiver,
                delivered: counts.delivered.load(Ordering::Relaxed),
                failed: counts.failed.load(Ordering::Relaxed),
                dropped: counts.dropped.load(Ordering::Relaxed),
            })
            .collect(),
        notifications_suppressed: shared.events.suppressed(),
    };
    match metrics::render(&status, &calls, &extras, jiff::Timestamp::now()) {
        Ok(body) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering /metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

async fn status_json(State(shared): State<Shared>) -> axum::Json<DaemonStatus> {
    axum::Json(shared.status.snapshot())
}

/// A console page: HTML that loads nothing but `/console.css` and runs no script.
fn html(code: StatusCode, body: String) -> Response {
    (
        code,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn console_overview(
    State(shared): State<Shared>,
    Query(query): Query<console::ListQuery>,
) -> Response {
    let status = shared.status.snapshot();
    let overview = console::overview(&status, jiff::Timestamp::now());
    let list = console::instances(&status, &query);
    let history = console::history(&status);
    html(
        StatusCode::OK,
        console::html::overview_page(&overview, &list, &history),
    )
}

async fn console_history(State(shared): State<Shared>) -> Response {
    let history = console::history(&shared.status.snapshot());
    html(StatusCode::OK, console::html::history_page(&history))
}

async fn console_instance(
    State(shared): State<Shared>,
    Path((region, name)): Path<(String, String)>,
) -> Response {
    match console::instance(&shared.status.snapshot(), &region, &name) {
        Some(detail) => html(StatusCode::OK, console::html::instance_page(&detail)),
        None => html(
            StatusCode::NOT_FOUND,
            console::html::not_found_page(&format!("No instance {region}/{name} is managed here.")),
        ),
    }
}

async fn console_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        console::html::STYLESHEET,
    )
        .into_response()
}

async fn api_overview(State(shared): State<Shared>) -> axum::Json<console::Overview> {
    axum::Json(console::overview(
        &shared.status.snapshot(),
        jiff::Timestamp::now(),
    ))
}

async fn api_instances(
    State(shared): State<Shared>,
    Query(query): Query<console::ListQuery>,
) -> axum::Json<console::InstanceList> {
    axum::Json(console::instances(&shared.status.snapshot(), &query))
}

async fn api_instance(
    State(shared): State<Shared>,
    Path((region, name)): Path<(String, String)>,
) -> Response {
    match console::instance(&shared.status.snapshot(), &region, &name) {
        Some(detail) => axum::Json(detail).into_response(),
        None => (StatusCode::NOT_FOUND, "no such instance").into_response(),
    }
}

async fn api_history(State(shared): State<Shared>) -> axum::Json<console::HistoryView> {
    axum::Json(console::history(&shared.status.snapshot()))
}

async fn events_json(State(shared): State<Shared>) -> axum::Json<Vec<crate::notify::Event>> {
    axum::Json(shared.events.recent_events())
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
    use crate::daemon::status::SharedStatus;
    use crate::daemon::status::{InstanceResult, InstanceStatus, Mode, Revision};
    use crate::secrets::Secret;

    /// A client that is never used to call anything: the server only reads its counters.
    fn client() -> Client {
        Client::new(ClientConfig {
            endpoint: Endpoint::Fixed("http://127.0.0.1:9".into()),
            credentials: Credentials {
                access_key_id: "testid".into(),
                access_key_secret: Secret::new("testsecret"),
                security_token: None,
            }
            .into(),
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
                held: Vec::new(),
                scheduled: Vec::new(),
                ..InstanceStatus::default()
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
            Running::with_limits(Limits {
                grace,
                ..Limits::default()
            })
            .await
        }

        async fn with_limits(limits: Limits) -> Running {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let status = status();
            let client = client();
            let (stop, signal) = stop_pair();
            let task = tokio::spawn(serve(
                listener,
                crate::daemon::stacks::StatusView::One(status.clone()),
                client.clone(),
                crate::notify::Notifier::default(),
                signal,
                limits,
            ));
            Running {
                addr,
                status,
                client,
                stop,
                task,
                http: crate::api::tls::http_client().build().unwrap(),
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
        assert_eq!(
            (code, body.as_str()),
            (503, "not ready: no reconcile has succeeded yet")
        );
        assert!(content_type.starts_with("text/plain"), "{content_type}");

        {
            let mut status = server.status.lock();
            status.ready = true;
            status.last_success_at = Some(jiff::Timestamp::now());
        }
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
            status.last_success_at = Some(jiff::Timestamp::now());
            status.cycles = 1;
            status.cycle_seconds.observe(1.5);
            status.revision = Some(Revision {
                author: None,
                subject: None,
                source: "dir".into(),
                id: "sha256:abc".into(),
            });
        }
        let (code, content_type, body) = server.get("/metrics").await;
        assert_eq!(code, 200);
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        // The process figures move between two readings; the rest is the rendering of the
        // status and the counters.
        let without_process = |text: &str| -> String {
            text.lines()
                .filter(|line| !line.contains("process_"))
                .map(|line| format!("{line}\n"))
                .collect()
        };
        assert_eq!(
            without_process(&body),
            without_process(
                &metrics::render(
                    &server.status.snapshot(),
                    &server.client.stats().snapshot(),
                    &metrics::Extras::default(),
                    jiff::Timestamp::now()
                )
                .unwrap()
            )
        );
        assert!(body.contains("\nprocess_resident_memory_bytes "), "{body}");
        assert!(body.contains("\nprocess_open_fds "), "{body}");
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
    async fn the_console_renders_the_status_as_pages_and_json() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        let (code, content_type, body) = server.get("/").await;
        assert_eq!(code, 200);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(
            body.contains("href=\"/instances/cn-hangzhou/orders\""),
            "{body}"
        );
        assert!(body.contains("<svg class=\"chart\""), "{body}");
        let (code, _, body) = server.get("/instances/cn-hangzhou/orders").await;
        assert_eq!(code, 200);
        assert!(body.contains("id=\"instance-name\">orders<"), "{body}");
        let (code, content_type, body) = server.get("/api/v1/overview").await;
        assert_eq!((code, content_type.as_str()), (200, "application/json"));
        let overview: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(overview["counts"]["drifted"], 1);
        let (_, _, body) = server.get("/api/v1/instances?state=drift").await;
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list["instances"][0]["key"], "cn-hangzhou/orders");
        let (_, _, body) = server.get("/api/v1/instances?state=failed").await;
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list["instances"], Value::Array(Vec::new()));
        let (code, content_type, _) = server.get("/console.css").await;
        assert_eq!(
            (code, content_type.as_str()),
            (200, "text/css; charset=utf-8")
        );
        let (_, _, body) = server.get("/api/v1/history").await;
        let history: Value = serde_json::from_str(&body).unwrap();
        assert!(history["cycles"].is_array());
        server.stop().await;
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found_and_other_methods_not_allowed() {
        let server = Running::start(SHUTDOWN_GRACE).await;
        for path in ["/metrics/", "/nope", "/status.json", "/api/v1/nope"] {
            let (code, _, body) = server.get(path).await;
            assert_eq!((code, body.as_str()), (404, "not found"), "{path}");
        }
        let (code, _, _) = server.get("/instances/cn-hangzhou/nope").await;
        assert_eq!(code, 404);
        let (code, _, _) = server.get("/api/v1/instances/cn-hangzhou/nope").await;
        assert_eq!(code, 404);
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

    /// Reads until the server closes the connection (or `limit` passes); whether it closed.
    async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0_u8; 1024];
        let read = async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(limit, read).await.is_ok()
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let server = Running::with_limits(Limits {
            header_read_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .await;
        let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stalled
            .write_all(b"GET /healthz HTTP/1.1\r\nHost:")
            .await
            .unwrap();
        assert!(closed_within(&mut stalled, Duration::from_secs(5)).await);
        // A client that sends nothing at all is cut off the same way.
        let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_connection_on_which_nothing_moves_is_closed() {
        let server = Running::with_limits(Limits {
            header_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .await;
        let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
        server.stop().await;
    }

    #[tokio::test]
    async fn at_the_limit_the_oldest_half_open_connection_makes_room() {
        let server = Running::with_limits(Limits {
            max_connections: 3,
            ..Limits::default()
        })
        .await;
        // A kept-alive client that has been answered, then two that never finish a request.
        assert_eq!(server.get("/healthz").await.0, 200);
        let mut oldest = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        oldest.write_all(b"GET /he").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut newer = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The limit is reached: a new probe still gets its answer, and the oldest half-open
        // connection is the one closed.
        let probe = crate::api::tls::http_client().build().unwrap();
        let response = probe
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(closed_within(&mut oldest, Duration::from_secs(5)).await);
        assert!(!closed_within(&mut newer, Duration::from_millis(200)).await);
        // The kept-alive client's connection was not the one closed first: it still answers.
        assert_eq!(server.get("/healthz").await.0, 200);
        server.stop().await;
    }
}

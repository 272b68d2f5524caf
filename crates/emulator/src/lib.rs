//! A local R-KVStore server: the second implementation of the API's server side.
//!
//! [`start`] serves the RPC protocol on a listener: it refuses methods other than GET and POST
//! (405, `Allow: GET, POST`), decodes parameters from the query and the form body, verifies v1
//! signatures, applies faults, runs [`state::State::handle`] under
//! one lock (so concurrent requests never lose an update) and persists the state after every
//! change. It depends on `kvsync-wire` (the action declarations, whose generated `Handler`
//! trait it implements, so an action it does not serve does not compile, and the pure
//! signer) and `kvsync-secrets` only; it never uses client, planner or command code. It keeps
//! no password, only salted digests, and its request journal (`/_emulator/requests`) shows
//! secrets as digests.

mod accounts;
pub mod auth;
mod backup;
mod catalog;
mod config;
mod errors;
pub mod faults;
mod handler;
mod instances;
mod journal;
mod lifecycle;
mod manage;
mod monitor;
mod render;
mod security;
pub mod state;
pub mod store;
mod tags;
mod times;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::info;

use self::auth::{KeyRing, NonceCache};
use self::errors::VendorError;
use self::faults::{FaultDecision, Faults, QpsLimiter};
use self::render::Format;
use self::state::{Context, Durations, State};
use kvsync_wire::API_VERSION;

/// The key pair the emulator accepts unless told otherwise (the vendor reference's example).
pub const DEFAULT_ACCESS_KEY_ID: &str = "testid";
/// The secret of the default key pair.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "testsecret";
/// The `HostId` the emulator reports in error bodies.
const HOST_ID: &str = "r-kvstore.aliyuncs.com";

/// A clock: the emulated cloud's notion of now.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How an emulator is set up.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Accepted key pairs.
    pub keys: KeyRing,
    /// Where state is persisted; `None` keeps it in memory only.
    pub state_path: Option<PathBuf>,
    /// Durations of transitional statuses.
    pub durations: Durations,
    /// Injected faults.
    pub faults: Faults,
    /// The clock.
    pub clock: Clock,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            keys: KeyRing::single(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
            state_path: None,
            durations: Durations::default(),
            faults: Faults::default(),
            clock: Arc::new(Timestamp::now),
        }
    }
}

/// Why the emulator could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The state file could not be loaded.
    #[error("loading the emulator state")]
    Store(#[from] store::StoreError),
    /// The listener failed.
    #[error("serving the emulator API")]
    Serve(#[source] std::io::Error),
    /// The listen address could not be bound.
    #[error("listening on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

struct Inner {
    state: State,
    nonces: NonceCache,
    faults: faults::FaultState,
}

struct Shared {
    config: EmulatorConfig,
    inner: Mutex<Inner>,
    counters: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    qps: Option<Mutex<QpsLimiter>>,
    journal: Mutex<journal::Journal>,
}

/// A running emulator; dropping it does not stop it, [`RunningEmulator::stop`] does.
pub struct RunningEmulator {
    addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), EmulatorError>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of its API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving (in-flight requests finish) and waits until it has stopped.
    pub async fn stop(self) -> Result<(), EmulatorError> {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(EmulatorError::Serve(std::io::Error::other(join))),
        }
    }

    /// Serves until the process ends.
    pub async fn wait(self) -> Result<(), EmulatorError> {
        let _keep_open = self.shutdown;
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(EmulatorError::Serve(std::io::Error::other(join))),
        }
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`) and starts serving.
pub async fn start(addr: &str, config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
    serve(listener, config).await
}

/// Starts serving on an already bound listener.
pub async fn serve(
    listener: TcpListener,
    config: EmulatorConfig,
) -> Result<RunningEmulator, EmulatorError> {
    let state = match &config.state_path {
        Some(path) => store::load(path)?,
        None => State::default(),
    };
    let addr = listener.local_addr().map_err(EmulatorError::Serve)?;
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            state,
            nonces: NonceCache::default(),
            faults: faults::FaultState::new(&config.faults),
        }),
        qps: config
            .faults
            .qps
            .map(|qps| Mutex::new(QpsLimiter::new(qps))),
        config,
        counters: Mutex::new(BTreeMap::new()),
        journal: Mutex::new(journal::Journal::default()),
    });
    let router = Router::new()
        .route("/", any(api))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/instances", get(instances_view))
        .route("/_emulator/requests", get(requests_view))
        .with_state(shared);
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .map_err(EmulatorError::Serve)
    });
    Ok(RunningEmulator {
        addr,
        shutdown,
        task,
    })
}

/// Decodes form-encoded pairs (`+` and `%20` both mean space) into `into`; the first
/// occurrence of a name wins.
fn decode_form(bytes: &[u8], into: &mut BTreeMap<String, String>) {
    for (key, value) in form_urlencoded::parse(bytes) {
        into.entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let mut wire = BTreeMap::new();
    decode_form(uri.query().unwrap_or("").as_bytes(), &mut wire);
    decode_form(&body, &mut wire);
    let action = wire.get("Action").cloned().unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string().to_ascii_uppercase();
    let format = Format::from_param(wire.get("Format").map(String::as_str));

    // Only GET and POST are the RPC protocol; anything else is refused before it can use a
    // nonce, a QPS token or touch the state.
    if method != Method::GET && method != Method::POST {
        let err = VendorError {
            status: 405,
            code: "MethodNotAllowed",
            message: "The specified method is not allowed against this resource.".into(),
        };
        record(&shared, &action, err.code, &request_id, started);
        let mut response = error_response(&err, format.unwrap_or(Format::Xml), &request_id);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    }

    if let FaultDecision::Delay(delay) = faults::decide(&shared.config.faults, &action) {
        tokio::time::sleep(delay).await;
    }
    let throttled = shared
        .qps
        .as_ref()
        .is_some_and(|limiter| !lock(limiter).admit(std::time::Instant::now()));
    let (result, lose_response) = if throttled {
        (Err(VendorError::throttled()), false)
    } else if format.is_none() {
        (Err(VendorError::invalid_parameter("Format")), false)
    } else {
        let mut inner = lock(&shared.inner);
        let result = process(&shared, &mut inner, method.as_str(), &action, &wire);
        let lose = result.is_ok()
            && inner
                .faults
                .take_lost_response(&shared.config.faults, &action);
        (result, lose)
    };
    let format = format.unwrap_or(Format::Xml);

    let outcome = match &result {
        Ok(_) if lose_response => "lost-response",
        Ok(_) => "ok",
        Err(err) => err.code,
    };
    record(&shared, &action, outcome, &request_id, started);

    if lose_response {
        return dropped_connection();
    }
    match result {
        Ok(mut body) => {
            if let Value::Object(map) = &mut body {
                map.insert("RequestId".into(), Value::String(request_id));
            }
            respond(StatusCode::OK, format, &format!("{action}Response"), &body)
        }
        Err(err) => error_response(&err, format, &request_id),
    }
}

/// Counts a request by action and outcome and logs it.
fn record(
    shared: &Shared,
    action: &str,
    outcome: &str,
    request_id: &str,
    started: std::time::Instant,
) {
    {
        let mut counters = lock(&shared.counters);
        let label = if action.is_empty() { "(none)" } else { action };
        *counters
            .entry(label.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }
    info!(
        target: "kvsync::emulator::requests",
        action = %action,
        outcome,
        request_id = %request_id,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
}

/// Everything between decoding and encoding: protocol checks, signature, dispatch, persistence.
fn process(
    shared: &Shared,
    inner: &mut Inner,
    method: &str,
    action: &str,
    wire: &BTreeMap<String, String>,
) -> Result<Value, VendorError> {
    if action.is_empty() {
        return Err(VendorError::missing_parameter("Action"));
    }
    match wire.get("Version").map(String::as_str) {
        Some(API_VERSION) => {}
        Some(_) => return Err(VendorError::invalid_version()),
        None => return Err(VendorError::missing_parameter("Version")),
    }
    let config = &shared.config;
    let now = (config.clock)();
    auth::verify(
        method,
        wire,
        &config.keys,
        &mut inner.nonces,
        now,
        &config.faults.signature_faults,
    )?;
    lock(&shared.journal).record(action, wire);
    if inner.faults.take_service_unavailable(&config.faults) {
        return Err(VendorError::service_unavailable());
    }
    let ctx = Context {
        now,
        durations: config.durations,
    };
    let handled = inner.state.handle(action, wire, &ctx)?;
    if handled.changed
        && let Some(path) = &config.state_path
        && let Err(err) = store::save(path, &inner.state)
    {
        tracing::error!(error = %err, "could not persist emulator state");
        return Err(VendorError {
            status: 500,
            code: "InternalError",
            message: "The request processing has failed due to some unknown error.".into(),
        });
    }
    Ok(handled.body)
}

fn respond(status: StatusCode, format: Format, root: &str, body: &Value) -> Response {
    let mut response = (status, render::render(format, root, body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    respond(status, Format::Json, "", body)
}

fn error_response(err: &VendorError, format: Format, request_id: &str) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": err.code,
        "Message": err.message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=R-kvstore", err.code),
    });
    respond(status, format, "Error", &body)
}

/// A response whose body fails at once: the connection is cut before an answer arrives.
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "response lost (fault injection)",
        ))
    });
    Response::new(Body::from_stream(stream))
}

async fn stats(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let counters = lock(&shared.counters).clone();
    json_response(StatusCode::OK, &json!({ "requests": counters }))
}

/// A plain view of the instances for tests and curious users; never any secret material.
/// Every request accepted so far (the newest [`journal::CAPACITY`]), as received, secrets as
/// digests.
async fn requests_view(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let entries = lock(&shared.journal).entries();
    json_response(StatusCode::OK, &state::to_body(&entries))
}

async fn instances_view(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let now = (shared.config.clock)();
    let mut inner = lock(&shared.inner);
    inner.state.settle(now);
    let list: Vec<Value> = inner
        .state
        .instances
        .values()
        .map(|i| {
            json!({
                "InstanceId": i.id,
                "InstanceName": i.name,
                "RegionId": i.region_id,
                "InstanceStatus": i.lifecycle.status.as_str(),
                "InstanceClass": i.instance_class,
                "ChargeType": i.charge_type,
                "InstanceReleaseProtection": i.release_protection,
                "Tags": i.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "Instances": list }))
}

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
//!
//! The same listener serves the emulated STS (requests with `Version=2015-04-01`: `sts.rs`,
//! the roles of `roles.rs`, the credentials of `issued.rs`) and an ECS metadata stand-in under
//! `/latest/` (`metadata.rs`). R-KVStore and STS accept issued keys with their
//! `SecurityToken` until they expire at the emulated time; no credential value enters the
//! journal.
//!
//! The state runs on emulated time, [`EmulatorConfig::emulated_now`]: the configured clock plus
//! an offset that `POST /_emulator/clock?advance=SECONDS` moves at runtime. Every answer's
//! `Date` header carries it; signatures alone are checked against the real clock.

mod accounts;
mod architecture;
pub mod auth;
mod backup;
mod catalog;
mod config;
mod endpoints;
mod errors;
pub mod faults;
mod handler;
mod instances;
mod issued;
mod journal;
mod lifecycle;
mod manage;
mod metadata;
mod monitor;
mod render;
pub mod roles;
mod security;
pub mod state;
pub mod store;
mod sts;
mod tags;
mod times;
pub mod tracked;
mod window;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::map_response_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::info;

use self::auth::{KeyRing, NonceCache};
use self::errors::VendorError;
use self::faults::{FaultDecision, Faults, QpsLimiter};
use self::render::Format;
use self::roles::Roles;
use self::state::{Context, Durations, State};
use self::sts::{Caller, StsAction};
use kvsync_wire::API_VERSION;

/// The key pair the emulator accepts unless told otherwise (the vendor reference's example).
pub const DEFAULT_ACCESS_KEY_ID: &str = "testid";
/// The secret of the default key pair.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "testsecret";
/// The `HostId` the emulator reports in error bodies.
const HOST_ID: &str = "r-kvstore.aliyuncs.com";

/// A clock: the real time the emulated cloud's time is offset from.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The most the emulated clock moves in one `POST /_emulator/clock?advance=`: 7 days.
pub const MAX_ADVANCE_SECONDS: u64 = 7 * 24 * 3600;

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
    /// Seconds the emulated cloud's time is ahead of `clock` (negative: behind). Shared by
    /// clones, so a test holding a clone moves the running emulator's time.
    pub clock_offset: Arc<AtomicI64>,
    /// The roles STS lets callers assume, the OIDC tokens, the metadata role and the cap on
    /// issued credentials' lifetime.
    pub roles: Roles,
}

impl EmulatorConfig {
    /// The emulated cloud's time: `clock` plus `clock_offset`. Every state transition,
    /// window, backup, token memory and time in an answer uses it.
    pub fn emulated_now(&self) -> Timestamp {
        let real = (self.clock)();
        real.checked_add(SignedDuration::from_secs(self.offset_seconds()))
            .unwrap_or(real)
    }

    /// The current offset of the emulated time from `clock`, in seconds.
    pub fn offset_seconds(&self) -> i64 {
        self.clock_offset.load(Ordering::SeqCst)
    }

    /// Moves the emulated time forward by `seconds`; `None` (and no move) when the result
    /// would not be a representable time.
    pub fn advance(&self, seconds: i64) -> Option<i64> {
        let real = (self.clock)();
        self.clock_offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                let next = offset.checked_add(seconds)?;
                real.checked_add(SignedDuration::from_secs(next))
                    .ok()
                    .map(|_| next)
            })
            .ok()
            .map(|previous| previous + seconds)
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            keys: KeyRing::single(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
            state_path: None,
            durations: Durations::default(),
            faults: Faults::default(),
            clock: Arc::new(Timestamp::now),
            clock_offset: Arc::new(AtomicI64::new(0)),
            roles: Roles::default(),
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
    /// The state files, when there are any.
    store: Option<store::Store>,
    nonces: NonceCache,
    faults: faults::FaultState,
    metadata: metadata::MetadataState,
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
    let (state, store) = match &config.state_path {
        Some(path) => {
            let (state, store) = store::open(path)?;
            (state, Some(store))
        }
        None => (State::default(), None),
    };
    let addr = listener.local_addr().map_err(EmulatorError::Serve)?;
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            state,
            store,
            nonces: NonceCache::default(),
            faults: faults::FaultState::new(&config.faults),
            metadata: metadata::MetadataState::default(),
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
        .route("/_emulator/clock", get(clock_view).post(clock_advance))
        .route("/_emulator/faults", post(faults_set))
        .route("/latest/{*rest}", any(metadata::serve))
        .fallback(not_found)
        .layer(map_response_with_state(Arc::clone(&shared), date_header))
        .with_state(Arc::clone(&shared));
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .map_err(EmulatorError::Serve)?;
        // Stopped cleanly: the state is left as one snapshot with an empty log, unlocked.
        let mut inner = lock(&shared.inner);
        let inner = &mut *inner;
        if let Some(store) = &mut inner.store {
            store.close(&mut inner.state)?;
        }
        Ok(())
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
    if sts::is_sts(wire) {
        return process_sts(shared, inner, method, action, wire);
    }
    match wire.get("Version").map(String::as_str) {
        Some(API_VERSION) => {}
        Some(_) => return Err(VendorError::invalid_version()),
        None => return Err(VendorError::missing_parameter("Version")),
    }
    let config = &shared.config;
    // Clients sign with their own real time, so the `Timestamp` freshness check (and the nonce
    // window that goes with it) uses the real clock, not the emulated one: an emulator whose
    // time is offset still accepts a correctly signed request made now.
    auth::verify(
        method,
        wire,
        &issued::Known {
            ring: &config.keys,
            issued: &inner.state.sts_keys,
        },
        &mut inner.nonces,
        (config.clock)(),
        &config.faults.signature_faults,
    )?;
    let key_id = wire.get("AccessKeyId").map(String::as_str).unwrap_or("");
    issued::check_token(
        &inner.state.sts_keys,
        key_id,
        wire.get("SecurityToken").map(String::as_str),
        config.emulated_now(),
    )?;
    lock(&shared.journal).record(action, wire);
    if inner.faults.take_service_unavailable(&config.faults) {
        return Err(VendorError::service_unavailable());
    }
    let fail_backup = action == "CreateBackup" && inner.faults.backup_fails();
    let ctx = Context {
        now: config.emulated_now(),
        durations: config.durations,
        fail_backup,
    };
    let handled = inner.state.handle(action, wire, &ctx)?;
    if fail_backup && handled.changed {
        inner.faults.used_backup_failure();
    }
    persist(inner)?;
    Ok(handled.body)
}

/// Makes what the request changed durable, if there is a state file (and forgets which
/// entries changed otherwise); the vendor's `InternalError` when that fails. Requests that
/// changed nothing write nothing.
fn persist(inner: &mut Inner) -> Result<(), VendorError> {
    let Some(store) = &mut inner.store else {
        inner.state.clear_unsaved();
        return Ok(());
    };
    if let Err(err) = store.commit(&mut inner.state) {
        tracing::error!(error = %err, "could not persist emulator state");
        return Err(VendorError {
            status: 500,
            code: "InternalError",
            message: "The request processing has failed due to some unknown error.".into(),
        });
    }
    Ok(())
}

/// An STS request: the down fault (before anything else, so it has no effect), the
/// signature and token of a signed action, the journal, the action and persistence.
fn process_sts(
    shared: &Shared,
    inner: &mut Inner,
    method: &str,
    action: &str,
    wire: &BTreeMap<String, String>,
) -> Result<Value, VendorError> {
    if inner.faults.sts_down() {
        return Err(VendorError::service_unavailable());
    }
    let action_kind = StsAction::parse(action).ok_or_else(VendorError::action_not_found)?;
    let config = &shared.config;
    let now = config.emulated_now();
    let key_id = wire.get("AccessKeyId").cloned().unwrap_or_default();
    let mut keys = std::mem::take(&mut inner.state.sts_keys).into_map();
    let caller_record = if action_kind.anonymous() {
        None
    } else {
        let verified = auth::verify(
            method,
            wire,
            &issued::Known {
                ring: &config.keys,
                issued: &keys,
            },
            &mut inner.nonces,
            (config.clock)(),
            &config.faults.signature_faults,
        )
        .and_then(|()| {
            issued::check_token(
                &keys,
                &key_id,
                wire.get("SecurityToken").map(String::as_str),
                now,
            )
            .map(|record| Some(record.cloned()))
        });
        match verified {
            Ok(record) => record,
            Err(err) => {
                inner.state.sts_keys = keys.into();
                return Err(err);
            }
        }
    };
    let journal_wire;
    let recorded = if action_kind.anonymous() {
        // Anonymous: who signed is nobody, whatever AccessKeyId says.
        let mut copy = wire.clone();
        copy.remove("AccessKeyId");
        journal_wire = copy;
        &journal_wire
    } else {
        wire
    };
    lock(&shared.journal).record(action, recorded);
    let caller = match (action_kind.anonymous(), &caller_record) {
        (true, _) => Caller::Anonymous,
        (false, Some(Some(record))) => Caller::Issued(&key_id, record),
        (false, _) => Caller::LongTerm(&key_id),
    };
    let answer = sts::handle(action_kind, wire, caller, &config.roles, &mut keys, now);
    if answer.as_ref().is_ok_and(|answer| answer.changed) {
        *inner.state.sts_keys.whole_mut() = keys;
    } else {
        // Unchanged: put back as it was, nothing to persist.
        inner.state.sts_keys = keys.into();
    }
    let answer = answer?;
    persist(inner)?;
    Ok(answer.body)
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
    let now = shared.config.emulated_now();
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
                "SecurityIpGroups": i.security_ip_groups.keys().collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "Instances": list }))
}

/// The `Date` header value of emulated now, in IMF-fixdate (`Thu, 03 Dec 2026 12:30:04 GMT`).
fn http_date(now: Timestamp) -> String {
    now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Puts emulated now in the `Date` header of every answer; hyper then sends no `Date` of its
/// own, so clients learn the emulated cloud's clock from it.
async fn date_header(
    AxumState(shared): AxumState<Arc<Shared>>,
    mut response: Response,
) -> Response {
    if let Ok(value) = HeaderValue::from_str(&http_date(shared.config.emulated_now())) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

/// A control endpoint's refusal: `{"error": message}`.
fn control_error(status: StatusCode, message: String) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// Any other path.
async fn not_found(uri: Uri) -> Response {
    control_error(
        StatusCode::NOT_FOUND,
        format!("no such path: {}", uri.path()),
    )
}

/// Why a control endpoint refuses a request (answered 400 with `{"error": message}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ControlError {
    /// A query parameter is absent or not a whole number in range.
    #[error("{name} must be a whole number from 0 to {max}")]
    Count {
        /// The parameter.
        name: &'static str,
        /// Its largest value.
        max: u64,
    },
    /// The emulated time would leave the range of representable times.
    #[error("the emulated time would leave the representable range")]
    TimeOutOfRange,
    /// A query parameter is neither `true` nor `false`.
    #[error("{name} must be true or false")]
    Flag {
        /// The parameter.
        name: &'static str,
    },
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        control_error(StatusCode::BAD_REQUEST, self.to_string())
    }
}

/// One query parameter of a control endpoint as a whole number from 0 to `max`.
fn count_param(uri: &Uri, name: &'static str, max: u64) -> Result<u64, ControlError> {
    let mut query = BTreeMap::new();
    decode_form(uri.query().unwrap_or("").as_bytes(), &mut query);
    match query.get(name).map(|text| text.parse::<u64>()) {
        Some(Ok(value)) if value <= max => Ok(value),
        _ => Err(ControlError::Count { name, max }),
    }
}

/// `{"now": RFC 3339 UTC, "offset_seconds": N}`.
fn clock_body(config: &EmulatorConfig) -> Value {
    json!({
        "now": config.emulated_now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "offset_seconds": config.offset_seconds(),
    })
}

/// `GET /_emulator/clock`: the emulated time and its offset.
async fn clock_view(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &clock_body(&shared.config))
}

/// `POST /_emulator/clock?advance=SECONDS`: moves the emulated time forward (at most
/// [`MAX_ADVANCE_SECONDS`]); what is due then settles on the next request.
async fn clock_advance(AxumState(shared): AxumState<Arc<Shared>>, uri: Uri) -> Response {
    let advanced = count_param(&uri, "advance", MAX_ADVANCE_SECONDS).and_then(|seconds| {
        // At most seven days, so it fits.
        let seconds = i64::try_from(seconds).unwrap_or(0);
        shared
            .config
            .advance(seconds)
            .ok_or(ControlError::TimeOutOfRange)
    });
    match advanced {
        Ok(_) => json_response(StatusCode::OK, &clock_body(&shared.config)),
        Err(refused) => refused.into_response(),
    }
}

/// One `true`/`false` query parameter of a control endpoint; `None` when absent.
fn flag_param(uri: &Uri, name: &'static str) -> Result<Option<bool>, ControlError> {
    let mut query = BTreeMap::new();
    decode_form(uri.query().unwrap_or("").as_bytes(), &mut query);
    match query.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ControlError::Flag { name }),
    }
}

/// `POST /_emulator/faults?fail_backups=N&sts_down=BOOL&metadata_down=BOOL` (at least one):
/// the next N backups fail; STS answers every action 503 `ServiceUnavailable` without effect;
/// the metadata stand-in answers 503. Answers the settings it was given, e.g.
/// `{"fail_backups": N}` or `{"sts_down": true}`.
async fn faults_set(AxumState(shared): AxumState<Arc<Shared>>, uri: Uri) -> Response {
    let has = |name: &str| {
        let mut query = BTreeMap::new();
        decode_form(uri.query().unwrap_or("").as_bytes(), &mut query);
        query.contains_key(name)
    };
    let sts_down = flag_param(&uri, "sts_down");
    let metadata_down = flag_param(&uri, "metadata_down");
    let count = if has("fail_backups") || !(has("sts_down") || has("metadata_down")) {
        Some(count_param(&uri, "fail_backups", faults::MAX_FAIL_BACKUPS))
    } else {
        None
    };
    let (count, sts_down, metadata_down) = match (count.transpose(), sts_down, metadata_down) {
        (Ok(count), Ok(sts), Ok(metadata)) => (count, sts, metadata),
        (Err(refused), _, _) | (_, Err(refused), _) | (_, _, Err(refused)) => {
            return refused.into_response();
        }
    };
    let mut inner = lock(&shared.inner);
    let mut answer = serde_json::Map::new();
    if let Some(count) = count {
        inner.faults.set_fail_backups(count);
        answer.insert("fail_backups".into(), json!(inner.faults.fail_backups()));
    }
    if let Some(down) = sts_down {
        inner.faults.set_sts_down(down);
        answer.insert("sts_down".into(), json!(inner.faults.sts_down()));
    }
    if let Some(down) = metadata_down {
        inner.faults.set_metadata_down(down);
        answer.insert("metadata_down".into(), json!(inner.faults.metadata_down()));
    }
    drop(inner);
    json_response(StatusCode::OK, &Value::Object(answer))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Sends one raw HTTP/1.1 request; returns the status line, header lines and body.
    async fn raw(addr: SocketAddr, method: &str, target: &str) -> (String, Vec<String>, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: emu\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines().map(str::to_owned);
        let status = lines.next().unwrap();
        (status, lines.collect(), body.to_owned())
    }

    fn dates(headers: &[String]) -> Vec<String> {
        headers
            .iter()
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("date")
                    .then(|| value.trim().to_owned())
            })
            .collect()
    }

    fn fixed_config(offset: i64) -> EmulatorConfig {
        let real: Timestamp = "2026-12-03T12:30:04Z".parse().unwrap();
        EmulatorConfig {
            clock: Arc::new(move || real),
            clock_offset: Arc::new(AtomicI64::new(offset)),
            ..EmulatorConfig::default()
        }
    }

    #[tokio::test]
    async fn the_faults_endpoint_arms_backup_failures() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emu = serve(listener, fixed_config(0)).await.unwrap();
        let (status, _, body) = raw(emu.addr(), "POST", "/_emulator/faults?fail_backups=3").await;
        assert!(status.contains(" 200 "), "{status}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body, json!({"fail_backups": 3}));
        for bad in ["", "?fail_backups=-1", "?fail_backups=1000001"] {
            let (status, _, _) = raw(emu.addr(), "POST", &format!("/_emulator/faults{bad}")).await;
            assert!(status.contains(" 400 "), "{bad}: {status}");
        }
        emu.stop().await.unwrap();
    }

    #[test]
    fn emulated_now_is_the_clock_plus_the_offset() {
        let config = fixed_config(-3 * 3600);
        assert_eq!(
            config.emulated_now(),
            "2026-12-03T09:30:04Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(config.advance(60), Some(-3 * 3600 + 60));
        assert_eq!(config.clone().offset_seconds(), -3 * 3600 + 60);
        assert_eq!(config.advance(i64::MAX), None);
        assert_eq!(config.offset_seconds(), -3 * 3600 + 60);
        assert_eq!(
            http_date("2026-12-03T12:30:04.9Z".parse().unwrap()),
            "Thu, 03 Dec 2026 12:30:04 GMT"
        );
    }

    #[tokio::test]
    async fn the_clock_endpoint_reports_and_advances_emulated_time_in_every_date_header() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emu = serve(listener, fixed_config(5400)).await.unwrap();
        let addr = emu.addr();

        let (status, headers, body) = raw(addr, "GET", "/_emulator/clock").await;
        assert!(status.contains(" 200 "), "{status}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({"now": "2026-12-03T14:00:04Z", "offset_seconds": 5400})
        );
        assert_eq!(dates(&headers), ["Thu, 03 Dec 2026 14:00:04 GMT"]);

        let (status, headers, body) = raw(addr, "POST", "/_emulator/clock?advance=3600").await;
        assert!(status.contains(" 200 "), "{status}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["now"], "2026-12-03T15:00:04Z");
        assert_eq!(body["offset_seconds"], 9000);
        assert_eq!(dates(&headers), ["Thu, 03 Dec 2026 15:00:04 GMT"]);

        for bad in [
            "",
            "?advance=-1",
            "?advance=1.5",
            "?advance=604801",
            "?advance=x",
        ] {
            let (status, headers, body) =
                raw(addr, "POST", &format!("/_emulator/clock{bad}")).await;
            assert!(status.contains(" 400 "), "{bad}: {status}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert!(body["error"].is_string(), "{bad}: {body}");
            assert_eq!(dates(&headers).len(), 1, "{bad}");
        }

        // API answers (here an error before any signature) and unknown paths too.
        let (_, headers, _) = raw(addr, "GET", "/?Format=JSON").await;
        assert_eq!(dates(&headers), ["Thu, 03 Dec 2026 15:00:04 GMT"]);
        let (status, headers, _) = raw(addr, "GET", "/nowhere").await;
        assert!(status.contains(" 404 "), "{status}");
        assert_eq!(dates(&headers), ["Thu, 03 Dec 2026 15:00:04 GMT"]);
        emu.stop().await.unwrap();
    }
}

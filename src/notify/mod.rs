//! The daemon's notifications: events, where they go (`--notify URL`), de-duplication, and
//! the ring of recent events `/events` serves.
//!
//! [`Notifier::emit`] never blocks and never fails: it scrubs the event's texts
//! ([`crate::api::scrub::scrub`]), drops it when an identical event ([`Event::dedup_key`]) was
//! emitted within the de-duplication window, keeps it in the ring of the last
//! [`RING_CAPACITY`] events, and offers it to each receiver's bounded queue with `try_send`
//! (a full queue drops the event for that receiver and counts it). One task per receiver
//! ([`send`]) posts the events of its queue in order, each with a per-request timeout and
//! retries with backoff, so a slow or hanging receiver only delays its own queue.
//!
//! Owns the event model, receivers, the de-duplication window and the ring. Never decides
//! what happened (the daemon computes events, in `daemon::events`), never blocks its
//! caller, and never logs or shows more of a receiver's URL than its scheme and host (a
//! Slack webhook URL is itself a secret).

pub mod send;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Events kept for `/events`.
pub const RING_CAPACITY: usize = 200;

/// Events waiting per receiver; more are dropped (and counted) until it catches up.
pub const QUEUE_CAPACITY: usize = 256;

/// The default `--notify-dedup` window.
pub const DEFAULT_DEDUP: Duration = Duration::from_secs(10 * 60);

/// De-duplication keys remembered at most (the oldest are forgotten first).
const DEDUP_MEMORY: usize = 10_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A reconcile found an instance different from its manifest.
    DriftFound,
    /// A reconcile corrected an instance's differences.
    DriftCorrected,
    /// A step of an instance's apply failed.
    ApplyFailed,
    /// Steps wait for the maintenance window or are held by the policy `never`.
    StepHeld,
    /// Steps the Stack document's gates do not allow (or that kvsync will not make) keep the
    /// instance out of sync in apply mode.
    StepBlocked,
    /// The newest manifests do not load; the last good ones stay in force.
    ManifestsBroken,
    /// The manifests load again.
    ManifestsFixed,
    /// This replica took a coordination shard.
    ShardTaken,
    /// This replica no longer holds a coordination shard.
    ShardLost,
}

impl Kind {
    /// The kind in words, for chat messages.
    pub fn words(self) -> &'static str {
        match self {
            Kind::DriftFound => "drift found",
            Kind::DriftCorrected => "drift corrected",
            Kind::ApplyFailed => "apply failed",
            Kind::StepHeld => "steps held",
            Kind::StepBlocked => "steps blocked",
            Kind::ManifestsBroken => "manifests broken",
            Kind::ManifestsFixed => "manifests fixed",
            Kind::ShardTaken => "shard taken",
            Kind::ShardLost => "shard lost",
        }
    }
}

/// One notification. Serialised as the JSON body receivers get and `/events` lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// What happened.
    pub kind: Kind,
    /// When the daemon noticed it.
    pub time: Timestamp,
    /// The stack, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The instance, as `region/name`, for instance events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// One line saying what happened.
    pub message: String,
    /// Details, one line each: drift lines, held steps, the shard.
    pub fields: Vec<String>,
    /// The cloud's error code, for a failed apply whose cause was a cloud error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The cloud's RequestId of that error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Event {
    /// An event of `kind` at `time` saying `message`, with no instance or details yet.
    pub fn new(kind: Kind, time: Timestamp, message: impl Into<String>) -> Self {
        Event {
            kind,
            time,
            stack: None,
            instance: None,
            message: message.into(),
            fields: Vec::new(),
            code: None,
            request_id: None,
        }
    }

    /// What makes two events the same for de-duplication: kind, stack, instance, message and
    /// fields; not the time, and not the RequestId (removed from the message too), which
    /// differ on every attempt.
    pub fn dedup_key(&self) -> String {
        let message = match &self.request_id {
            Some(id) if !id.is_empty() => self.message.replace(id.as_str(), ""),
            _ => self.message.clone(),
        };
        serde_json::json!([
            self.kind,
            self.stack,
            self.instance,
            message,
            self.fields,
            self.code
        ])
        .to_string()
    }

    /// The same event with every text passed through the scrubber of secrets.
    fn scrubbed(mut self) -> Self {
        let scrub = |text: &str| crate::api::scrub::scrub(text, &[]);
        self.message = scrub(&self.message);
        self.fields = self.fields.iter().map(|field| scrub(field)).collect();
        self.stack = self.stack.as_deref().map(scrub);
        self.instance = self.instance.as_deref().map(scrub);
        self.code = self.code.as_deref().map(scrub);
        self.request_id = self.request_id.as_deref().map(scrub);
        self
    }
}

/// The body a receiver gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event as JSON (hooks.slack.com URLs still get the Slack body).
    Json,
    /// Slack's incoming-webhook body: `text` and one mrkdwn section block.
    Slack,
}

/// Why a `--notify` URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL at all (the text is not repeated: it may hold a secret).
    #[error("--notify takes an absolute http or https URL; this one does not parse ({reason})")]
    Unparsable {
        /// The parser's reason.
        reason: String,
    },
    /// A URL of another scheme.
    #[error("--notify takes an http or https URL, not {scheme}:")]
    Scheme {
        /// The scheme given.
        scheme: String,
    },
    /// No host.
    #[error("--notify takes a URL with a host")]
    NoHost,
}

/// One receiver: where events are posted, and in which body.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    url: url::Url,
    format: Format,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.shown())
            .field("format", &self.format)
            .finish()
    }
}

impl Target {
    /// Parses a `--notify` URL: http or https with a host. The body is Slack's when `format`
    /// is [`Format::Slack`] or the host is `hooks.slack.com`.
    pub fn parse(text: &str, format: Format) -> Result<Target, TargetError> {
        let url = url::Url::parse(text).map_err(|err| TargetError::Unparsable {
            reason: err.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::Scheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let Some(host) = url.host_str() else {
            return Err(TargetError::NoHost);
        };
        let format = if host.eq_ignore_ascii_case("hooks.slack.com") {
            Format::Slack
        } else {
            format
        };
        Ok(Target { url, format })
    }

    /// The body this receiver gets.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What may be shown of the URL: scheme, host and port only (no user, path or query).
    pub fn shown(&self) -> String {
        let host = self.url.host_str().unwrap_or("");
        match self.url.port() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }
}

/// How notifications are sent.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The receivers (`--notify`, repeatable).
    pub targets: Vec<Target>,
    /// Identical events within this window are emitted once (`--notify-dedup`; zero: never
    /// de-duplicated).
    pub dedup: Duration,
    /// How each receiver is retried.
    pub retry: send::Retry,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            targets: Vec::new(),
            dedup: DEFAULT_DEDUP,
            retry: send::Retry::default(),
        }
    }
}

/// Counters of one receiver, for logs and tests.
#[derive(Debug, Default)]
pub struct Counters {
    /// Events delivered (answered 2xx).
    pub delivered: AtomicU64,
    /// Events given up after every attempt failed.
    pub failed: AtomicU64,
    /// Events dropped because the receiver's queue was full.
    pub dropped: AtomicU64,
}

#[derive(Debug)]
struct Receiver {
    shown: String,
    queue: mpsc::Sender<Arc<Event>>,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Recent {
    /// The last events, oldest first.
    ring: VecDeque<Event>,
    /// When each de-duplication key was last emitted.
    seen: HashMap<String, Instant>,
    /// Events suppressed as duplicates.
    suppressed: u64,
}

#[derive(Debug)]
struct Inner {
    dedup: Duration,
    recent: Mutex<Recent>,
    receivers: Vec<Receiver>,
}

/// The handle the daemon emits events through; cheap to clone. Without receivers it still
/// keeps the ring `/events` serves.
#[derive(Debug, Clone)]
pub struct Notifier(Arc<Inner>);

impl Default for Notifier {
    fn default() -> Self {
        Notifier::without_receivers(DEFAULT_DEDUP)
    }
}

impl Notifier {
    /// A notifier that only keeps the ring (no receivers, no tasks).
    pub fn without_receivers(dedup: Duration) -> Self {
        Notifier(Arc::new(Inner {
            dedup,
            recent: Mutex::new(Recent::default()),
            receivers: Vec::new(),
        }))
    }

    /// Starts one sender task per receiver on the current tokio runtime (outside one, or when
    /// no HTTP client can be built, no receiver is started and a warning says so: events are
    /// still kept for `/events`).
    pub fn start(settings: Settings) -> Self {
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime),
            Err(_) if settings.targets.is_empty() => None,
            Err(_) => {
                warn!("notifications are not sent: no runtime to send them on");
                None
            }
        };
        let client = match send::http_client() {
            Ok(client) => Some(client),
            Err(_) if settings.targets.is_empty() => None,
            Err(err) => {
                warn!(error = %crate::apply::error_chain(&err), "notifications are not sent: no HTTP client");
                None
            }
        };
        let receivers = runtime
            .zip(client)
            .map(|(runtime, client)| {
                settings
                    .targets
                    .into_iter()
                    .map(|target| {
                        let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
                        let counters = Arc::new(Counters::default());
                        let shown = target.shown();
                        info!(receiver = %shown, format = ?target.format(), "sending notifications");
                        runtime.spawn(send::run(
                            client.clone(),
                            target,
                            settings.retry,
                            events,
                            counters.clone(),
                        ));
                        Receiver {
                            shown,
                            queue,
                            counters,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Notifier(Arc::new(Inner {
            dedup: settings.dedup,
            recent: Mutex::new(Recent::default()),
            receivers,
        }))
    }

    fn recent(&self) -> MutexGuard<'_, Recent> {
        self.0
            .recent
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Emits an event: never blocks and never fails. Returns whether it was emitted (`false`:
    /// a duplicate within the window).
    pub fn emit(&self, event: Event) -> bool {
        self.emit_at(event, Instant::now())
    }

    fn emit_at(&self, event: Event, now: Instant) -> bool {
        let event = event.scrubbed();
        {
            let mut recent = self.recent();
            let window = self.0.dedup;
            if !window.is_zero() {
                recent
                    .seen
                    .retain(|_, at| now.saturating_duration_since(*at) < window);
                let key = event.dedup_key();
                if recent.seen.contains_key(&key) {
                    recent.suppressed += 1;
                    return false;
                }
                if recent.seen.len() >= DEDUP_MEMORY
                    && let Some(oldest) = recent
                        .seen
                        .iter()
                        .min_by_key(|(_, at)| **at)
                        .map(|(key, _)| key.clone())
                {
                    recent.seen.remove(&oldest);
                }
                recent.seen.insert(key, now);
            }
            if recent.ring.len() >= RING_CAPACITY {
                recent.ring.pop_front();
            }
            recent.ring.push_back(event.clone());
        }
        let event = Arc::new(event);
        for receiver in &self.0.receivers {
            if receiver.queue.try_send(event.clone()).is_err() {
                let dropped = receiver.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(receiver = %receiver.shown, kind = ?event.kind, dropped, "the receiver's queue is full; event dropped");
            }
        }
        true
    }

    /// The last events, oldest first.
    pub fn recent_events(&self) -> Vec<Event> {
        self.recent().ring.iter().cloned().collect()
    }

    /// Events suppressed as duplicates so far.
    pub fn suppressed(&self) -> u64 {
        self.recent().suppressed
    }

    /// Per receiver (scheme and host only), its counters.
    pub fn counters(&self) -> Vec<(String, Arc<Counters>)> {
        self.0
            .receivers
            .iter()
            .map(|r| (r.shown.clone(), r.counters.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn drift(line: &str) -> Event {
        let mut event = Event::new(Kind::DriftFound, at(0), "drift found");
        event.instance = Some("cn-hangzhou/a".into());
        event.fields = vec![line.into()];
        event
    }

    #[test]
    fn identical_events_are_emitted_once_within_the_window() {
        let notifier = Notifier::without_receivers(Duration::from_secs(600));
        let start = Instant::now();
        assert!(notifier.emit_at(drift("x"), start));
        let mut later = drift("x");
        later.time = at(30);
        assert!(!notifier.emit_at(later.clone(), start + Duration::from_secs(30)));
        // Another difference is another event.
        assert!(notifier.emit_at(drift("y"), start + Duration::from_secs(31)));
        // After the window, the same event again.
        assert!(notifier.emit_at(later, start + Duration::from_secs(601)));
        assert_eq!(notifier.recent_events().len(), 3);
        assert_eq!(notifier.suppressed(), 1);
    }

    #[test]
    fn a_zero_window_never_deduplicates() {
        let notifier = Notifier::without_receivers(Duration::ZERO);
        let now = Instant::now();
        assert!(notifier.emit_at(drift("x"), now));
        assert!(notifier.emit_at(drift("x"), now));
    }

    #[test]
    fn the_request_id_does_not_make_a_failure_new() {
        let failure = |id: &str| {
            let mut event = Event::new(
                Kind::ApplyFailed,
                at(0),
                format!("CreateInstance failed: X: y (RequestId: {id}, HTTP 404)"),
            );
            event.request_id = Some(id.into());
            event
        };
        assert_eq!(failure("A-1").dedup_key(), failure("B-2").dedup_key());
    }

    #[test]
    fn the_ring_keeps_the_last_events() {
        let notifier = Notifier::without_receivers(Duration::ZERO);
        for n in 0..RING_CAPACITY + 5 {
            notifier.emit(drift(&n.to_string()));
        }
        let events = notifier.recent_events();
        assert_eq!(events.len(), RING_CAPACITY);
        assert_eq!(events[0].fields, ["5"]);
        assert_eq!(
            events.last().unwrap().fields,
            [(RING_CAPACITY + 4).to_string()]
        );
    }

    #[test]
    fn targets_are_http_and_show_only_scheme_and_host() {
        let target = Target::parse(
            "https://user:pw@hooks.slack.com/services/T0/B0/SECRET?x=1",
            Format::Json,
        )
        .unwrap();
        assert_eq!(target.format(), Format::Slack);
        assert_eq!(target.shown(), "https://hooks.slack.com");
        assert!(!format!("{target:?}").contains("SECRET"));
        let target = Target::parse("http://127.0.0.1:8080/hook", Format::Json).unwrap();
        assert_eq!(target.format(), Format::Json);
        assert_eq!(target.shown(), "http://127.0.0.1:8080");
        assert_eq!(
            Target::parse("ftp://example.com/x", Format::Json),
            Err(TargetError::Scheme {
                scheme: "ftp".into()
            })
        );
        assert!(matches!(
            Target::parse("not a url", Format::Json),
            Err(TargetError::Unparsable { .. })
        ));
        assert!(matches!(
            Target::parse("http:///path", Format::Json),
            Ok(_) | Err(TargetError::NoHost)
        ));
    }

    /// A receiver that accepts connections and never answers.
    fn silent_receiver() -> (String, std::net::TcpListener) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        (
            format!("http://{}/hook", listener.local_addr().unwrap()),
            listener,
        )
    }

    #[tokio::test]
    async fn a_full_queue_drops_events_and_emit_never_waits() {
        let (url, _listener) = silent_receiver();
        let notifier = Notifier::start(Settings {
            targets: vec![Target::parse(&url, Format::Json).unwrap()],
            dedup: Duration::ZERO,
            retry: send::Retry::default(),
        });
        let started = Instant::now();
        let total = QUEUE_CAPACITY + 50;
        for n in 0..total {
            assert!(notifier.emit(drift(&n.to_string())));
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        let (shown, counters) = &notifier.counters()[0];
        assert!(!shown.contains("hook"), "{shown}");
        let dropped = counters.dropped.load(Ordering::Relaxed);
        // The queue holds QUEUE_CAPACITY; the sender may have taken one.
        assert!((49..=50).contains(&dropped), "{dropped}");
        // Every event is still listed.
        assert_eq!(notifier.recent_events().len(), RING_CAPACITY);
    }

    #[test]
    fn registered_secrets_are_scrubbed_from_events() {
        let secret = crate::secrets::Secret::new("Notify-Canary-Passw0rd");
        crate::secrets::value::register(&secret);
        let notifier = Notifier::without_receivers(Duration::ZERO);
        let mut event = drift("password differs: Notify-Canary-Passw0rd");
        event.message = "saw Notify-Canary-Passw0rd".into();
        notifier.emit(event);
        let shown = serde_json::to_string(&notifier.recent_events()).unwrap();
        assert!(!shown.contains("Notify-Canary-Passw0rd"), "{shown}");
    }
}

//! One receiver's sender task: posts the events of its queue in order, the body in the
//! receiver's [`Format`], each attempt under [`Retry::timeout`], retried with exponential
//! backoff and jitter ([`Retry::delay`]) up to [`Retry::attempts`] times.
//!
//! A 2xx answer delivers the event; any other answer, a timeout or a connection error is
//! retried; after the last attempt the event is given up (logged and counted). Only this
//! receiver's queue waits meanwhile. Logs name the receiver by scheme and host only, and
//! transport errors are logged without their URL.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{Counters, Event, Format, Target};

/// How a receiver is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    /// Attempts per event, the first included.
    pub attempts: u32,
    /// The delay before the second attempt; it doubles each time.
    pub first_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for Retry {
    /// 8 attempts, 1 s doubling to at most 60 s between them (about 2 minutes in all), 10 s
    /// per request.
    fn default() -> Self {
        Retry {
            attempts: 8,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// The delay after failed attempt `attempt` (1-based): `first_delay × 2^(attempt-1)`,
    /// capped at `max_delay`, then scaled by `0.5 + jitter / 2` (`jitter` in `[0, 1)`), so
    /// that receivers that failed together are not retried in step.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1).min(30)));
        let capped = doubled.min(self.max_delay);
        capped.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// The HTTP client every receiver shares: no redirects (a redirect could carry the event
/// elsewhere), rustls.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    crate::api::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kvsync/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The body of `event` in `format`.
pub fn body(event: &Event, format: Format) -> Value {
    match format {
        Format::Json => serde_json::to_value(event).unwrap_or(Value::Null),
        Format::Slack => slack(event),
    }
}

/// Slack's incoming-webhook body: `text` (the fallback every client shows) and one
/// `section` block in mrkdwn with the same text.
fn slack(event: &Event) -> Value {
    let mut text = format!("*kvsync: {}*", event.kind.words());
    if let Some(instance) = &event.instance {
        text.push_str(&format!(" `{instance}`"));
    }
    if let Some(stack) = &event.stack {
        text.push_str(&format!(" (stack `{stack}`)"));
    }
    text.push_str(&format!("\n{}", event.message));
    for field in &event.fields {
        text.push_str(&format!("\n• {field}"));
    }
    if let Some(code) = &event.code {
        text.push_str(&format!("\nCode: `{code}`"));
    }
    if let Some(id) = &event.request_id {
        text.push_str(&format!(" RequestId: `{id}`"));
    }
    json!({
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}

/// Why one attempt failed (for the log).
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// The receiver answered, but not 2xx.
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    /// No answer: connection, timeout, or the body.
    #[error("posting the event")]
    Transport(#[source] reqwest::Error),
}

async fn attempt(
    client: &reqwest::Client,
    target: &Target,
    body: &Value,
    timeout: Duration,
) -> Result<(), AttemptError> {
    let response = client
        .post(target.url.clone())
        .timeout(timeout)
        .json(body)
        .send()
        .await
        .map_err(|err| AttemptError::Transport(err.without_url()))?;
    let status = response.status();
    // Read (and drop) the answer so the connection can be reused.
    let _ = tokio::time::timeout(timeout, response.bytes()).await;
    if status.is_success() {
        Ok(())
    } else {
        Err(AttemptError::Status(status.as_u16()))
    }
}

/// Posts every event of `events` to `target` until the queue closes.
pub async fn run(
    client: reqwest::Client,
    target: Target,
    retry: Retry,
    mut events: mpsc::Receiver<Arc<Event>>,
    counters: Arc<Counters>,
) {
    let shown = target.shown();
    while let Some(event) = events.recv().await {
        let body = body(&event, target.format());
        let mut attempt_no = 0;
        loop {
            attempt_no += 1;
            match attempt(&client, &target, &body, retry.timeout).await {
                Ok(()) => {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    debug!(receiver = %shown, kind = ?event.kind, attempt = attempt_no, "event delivered");
                    break;
                }
                Err(err) if attempt_no >= retry.attempts.max(1) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    warn!(receiver = %shown, kind = ?event.kind, attempts = attempt_no, error = %crate::apply::error_chain(&err), "giving up on an event");
                    break;
                }
                Err(err) => {
                    let delay = retry.delay(attempt_no, rand::random::<f64>());
                    warn!(receiver = %shown, kind = ?event.kind, attempt = attempt_no, retry_in_ms = delay.as_millis() as u64, error = %crate::apply::error_chain(&err), "notification not delivered; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Kind;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_below_them() {
        let retry = Retry::default();
        assert_eq!(retry.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(retry.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(retry.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(retry.delay(7, 1.0), Duration::from_secs(60));
        assert_eq!(retry.delay(100, 1.0), Duration::from_secs(60));
        assert_eq!(retry.delay(1, 0.0), Duration::from_millis(500));
    }

    #[test]
    fn the_slack_body_has_text_and_a_block() {
        let mut event = Event::new(
            Kind::ApplyFailed,
            jiff::Timestamp::UNIX_EPOCH,
            "CreateInstance failed",
        );
        event.instance = Some("cn-hangzhou/a".into());
        event.stack = Some("s".into());
        event.code = Some("InvalidDBInstanceClass.NotFound".into());
        let body = body(&event, Format::Slack);
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("*kvsync: apply failed* `cn-hangzhou/a` (stack `s`)"),
            "{text}"
        );
        assert!(text.contains("InvalidDBInstanceClass.NotFound"), "{text}");
        assert_eq!(body["blocks"][0]["text"]["text"], text);
        let json = super::body(&event, Format::Json);
        assert_eq!(json["kind"], "apply_failed");
        assert_eq!(json["instance"], "cn-hangzhou/a");
        assert!(json.get("request_id").is_none());
    }

    /// Answers every request with `status` and counts them.
    fn answering(status: u16) -> (String, Arc<std::sync::atomic::AtomicU64>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = counted.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            let mut header = String::new();
                            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                                return;
                            }
                            let header = header.trim_end().to_ascii_lowercase();
                            if header.is_empty() {
                                break;
                            }
                            if let Some(value) = header.strip_prefix("content-length:") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        counted.fetch_add(1, Ordering::SeqCst);
                        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn an_event_is_given_up_after_the_last_attempt() {
        let (url, requests) = answering(503);
        let retry = Retry {
            attempts: 3,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            timeout: Duration::from_secs(5),
        };
        let (queue, events) = mpsc::channel(4);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(
            http_client().unwrap(),
            Target::parse(&url, Format::Json).unwrap(),
            retry,
            events,
            counters.clone(),
        ));
        let event = Event::new(Kind::DriftFound, jiff::Timestamp::UNIX_EPOCH, "x");
        queue.send(Arc::new(event)).await.unwrap();
        drop(queue);
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(requests.load(Ordering::SeqCst), 3);
        assert_eq!(counters.failed.load(Ordering::Relaxed), 1);
        assert_eq!(counters.delivered.load(Ordering::Relaxed), 0);
    }
}

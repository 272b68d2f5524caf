//! Showing an apply's progress: a live board on a terminal, otherwise one line per event (each
//! starting with an RFC 3339 time) or, for `apply --json`, one JSON object per line. Off a
//! terminal, a step that waits is announced again every heartbeat period, so a pipe or a CI log
//! never goes quiet for longer than that while the cloud works.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::apply::{Event, Progress};
use crate::manifest::InstanceKey;
use crate::plan::model::PLAN_FORMAT_VERSION;
use crate::plan::render::json_line;

/// How often the board is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// One instance's line on the board.
#[derive(Debug, Clone)]
struct Row {
    step: String,
    state: String,
    since: Instant,
    /// How long the step took, once it is done, failed or stopped: the clock stops there.
    finished: Option<Duration>,
}

/// The live board: one line per instance, redrawn in place.
#[derive(Debug, Default)]
struct Board {
    rows: BTreeMap<InstanceKey, Row>,
    drawn_lines: usize,
}

impl Board {
    fn apply(&mut self, event: &Event, now: Instant) {
        match event {
            Event::Step {
                key,
                index,
                total,
                action,
            } => {
                self.rows.insert(
                    key.clone(),
                    Row {
                        step: format!("[{index}/{total}] {action}"),
                        state: "calling".into(),
                        since: now,
                        finished: None,
                    },
                );
            }
            Event::Waiting { key, condition, .. } => {
                if let Some(row) = self.rows.get_mut(key) {
                    row.state = format!("waiting for {condition}");
                }
            }
            Event::Done { key, .. } => {
                if let Some(row) = self.rows.get_mut(key) {
                    row.state = "done".into();
                    row.finished = Some(now.saturating_duration_since(row.since));
                }
            }
            Event::Failed { key, error, .. } => {
                if let Some(row) = self.rows.get_mut(key) {
                    row.state = format!("FAILED: {error}");
                    row.finished = Some(now.saturating_duration_since(row.since));
                }
            }
            Event::Stopped { key, not_run } => {
                let row = self.rows.entry(key.clone()).or_insert_with(|| Row {
                    step: String::new(),
                    state: String::new(),
                    since: now,
                    finished: None,
                });
                row.state = format!("stopped ({not_run} not run)");
                row.finished
                    .get_or_insert(now.saturating_duration_since(row.since));
            }
        }
    }

    fn draw(&mut self, out: &mut impl Write, now: Instant) {
        let width = self
            .rows
            .keys()
            .map(|k| k.to_string().len())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        if self.drawn_lines > 0 {
            text.push_str(&format!("\x1b[{}A", self.drawn_lines));
        }
        for (key, row) in &self.rows {
            let elapsed = row
                .finished
                .unwrap_or_else(|| now.saturating_duration_since(row.since))
                .as_secs_f64();
            let line = format!(
                "  {:width$}  {:<36} {} ({elapsed:.1}s)",
                key.to_string(),
                row.step,
                row.state
            );
            text.push_str("\x1b[2K");
            text.push_str(&line.chars().take(160).collect::<String>());
            text.push('\n');
        }
        self.drawn_lines = self.rows.len();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// How the progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A board redrawn in place (stdout is a terminal).
    Board,
    /// One `key=value` line per event, each starting with an RFC 3339 time.
    Lines,
    /// One JSON object per line (`apply --json`).
    Json,
}

/// The default period of heartbeats for a waiting step (overridden by `KVSYNC_HEARTBEAT_SECS`).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// The heartbeat period: `KVSYNC_HEARTBEAT_SECS` when it is a number of seconds from 0.1 to
/// 3600, else [`DEFAULT_HEARTBEAT`].
pub fn heartbeat_period() -> Duration {
    std::env::var(crate::env_vars::KVSYNC_HEARTBEAT_SECS)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|secs| (0.1..=3600.0).contains(secs))
        .map_or(DEFAULT_HEARTBEAT, Duration::from_secs_f64)
}

/// A duration in words: tenths of a second below ten seconds, whole seconds above (`1.2s`,
/// `20s`).
pub fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}s", duration.as_secs())
    }
}

/// The time as RFC 3339 in UTC, to the millisecond.
pub fn timestamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Quotes a value for a `key="value"` field: double quotes become single ones.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "'"))
}

/// One line per event, `key=value` style, for logs and pipes (without the leading time).
pub fn line(event: &Event) -> String {
    match event {
        Event::Step {
            key,
            index,
            total,
            action,
        } => format!("instance={key} step={index}/{total} action={action} event=start"),
        Event::Waiting {
            key,
            action,
            condition,
        } => format!(
            "instance={key} action={action} event=waiting until={}",
            quoted(condition)
        ),
        Event::Done {
            key,
            action,
            elapsed,
        } => format!(
            "instance={key} action={action} event=done elapsed={}",
            seconds(*elapsed)
        ),
        Event::Failed { key, action, error } => {
            format!(
                "instance={key} action={action} event=failed error={}",
                quoted(error)
            )
        }
        Event::Stopped { key, not_run } => {
            format!("instance={key} event=stopped not_run={not_run}")
        }
    }
}

/// The heartbeat line of a step still waiting (without the leading time).
pub fn heartbeat_line(waiting: &Waiting, elapsed: Duration) -> String {
    format!(
        "instance={} action={} event=waiting until={} elapsed={}",
        waiting.key,
        waiting.action,
        quoted(&waiting.condition),
        seconds(elapsed)
    )
}

/// One JSON event of `apply --json` (versioned with the plan's `format_version`).
pub fn json_event(event: &Event, time: &str) -> Value {
    let mut value = match event {
        Event::Step {
            key,
            index,
            total,
            action,
        } => json!({
            "type": "step_started", "instance": key.to_string(), "action": action,
            "step": index, "steps": total,
        }),
        Event::Waiting {
            key,
            action,
            condition,
        } => json!({
            "type": "waiting", "instance": key.to_string(), "action": action,
            "until": condition,
        }),
        Event::Done {
            key,
            action,
            elapsed,
        } => json!({
            "type": "step_done", "instance": key.to_string(), "action": action,
            "elapsed_secs": elapsed.as_secs_f64(),
        }),
        Event::Failed { key, action, error } => json!({
            "type": "step_failed", "instance": key.to_string(), "action": action,
            "error": error,
        }),
        Event::Stopped { key, not_run } => json!({
            "type": "stopped", "instance": key.to_string(), "not_run": not_run,
        }),
    };
    stamp(&mut value, time);
    value
}

/// The JSON heartbeat of a step still waiting.
pub fn json_heartbeat(waiting: &Waiting, elapsed: Duration, time: &str) -> Value {
    let mut value = json!({
        "type": "heartbeat", "instance": waiting.key.to_string(), "action": waiting.action,
        "until": waiting.condition, "elapsed_secs": elapsed.as_secs_f64(),
    });
    stamp(&mut value, time);
    value
}

/// Adds `format_version` and `time` to a JSON event.
fn stamp(value: &mut Value, time: &str) {
    if let Value::Object(map) = value {
        map.insert("format_version".into(), json!(PLAN_FORMAT_VERSION));
        map.insert("time".into(), json!(time));
    }
}

/// A step that waits, as the heartbeat knows it.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The instance.
    pub key: InstanceKey,
    /// The API action.
    pub action: &'static str,
    /// What it waits for.
    pub condition: String,
    /// When the wait began.
    pub since: Instant,
    /// When it was last announced (the waiting event or the last heartbeat).
    pub announced: Instant,
}

/// The steps waiting now, one per instance, for the heartbeat.
#[derive(Debug, Default)]
struct Heartbeats {
    waiting: BTreeMap<InstanceKey, Waiting>,
}

impl Heartbeats {
    fn apply(&mut self, event: &Event, now: Instant) {
        match event {
            Event::Waiting {
                key,
                action,
                condition,
            } => {
                self.waiting.insert(
                    key.clone(),
                    Waiting {
                        key: key.clone(),
                        action,
                        condition: condition.clone(),
                        since: now,
                        announced: now,
                    },
                );
            }
            Event::Step { key, .. }
            | Event::Done { key, .. }
            | Event::Failed { key, .. }
            | Event::Stopped { key, .. } => {
                self.waiting.remove(key);
            }
        }
    }

    /// The waits due for a heartbeat at `now`, with how long each has waited; each is marked
    /// announced.
    fn due(&mut self, now: Instant, period: Duration) -> Vec<(Waiting, Duration)> {
        let mut due = Vec::new();
        for waiting in self.waiting.values_mut() {
            if now.saturating_duration_since(waiting.announced) >= period {
                waiting.announced = now;
                due.push((
                    waiting.clone(),
                    now.saturating_duration_since(waiting.since),
                ));
            }
        }
        due
    }
}

/// Writes one line to stdout; a closed pipe is not an error worth stopping an apply for.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// The progress display in `mode`. A board is redrawn in place; lines and JSON are written as
/// the events come, with a heartbeat every `heartbeat` for a step that waits. The display runs
/// until [`DisplayTask::finish`].
pub fn display(mode: Mode, heartbeat: Duration) -> (Progress, DisplayTask) {
    match mode {
        Mode::Board => {
            let board = Arc::new(Mutex::new(Board::default()));
            let sink = board.clone();
            let progress: Progress = Arc::new(move |event| {
                if let Ok(mut board) = sink.lock() {
                    board.apply(&event, Instant::now());
                }
            });
            let drawer = board.clone();
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(REDRAW).await;
                    if let Ok(mut board) = drawer.lock() {
                        board.draw(&mut std::io::stdout(), Instant::now());
                    }
                }
            });
            (
                progress,
                DisplayTask {
                    board: Some(board),
                    task,
                },
            )
        }
        Mode::Lines | Mode::Json => {
            let json = mode == Mode::Json;
            let beats = Arc::new(Mutex::new(Heartbeats::default()));
            let sink = beats.clone();
            let progress: Progress = Arc::new(move |event| {
                // Under the lock, so a heartbeat never comes between an event and its line.
                let Ok(mut beats) = sink.lock() else { return };
                beats.apply(&event, Instant::now());
                let time = timestamp(jiff::Timestamp::now());
                if json {
                    emit(&json_line(&json_event(&event, &time)));
                } else {
                    emit(&format!("{time} {}", line(&event)));
                }
            });
            let ticker = beats.clone();
            let tick = (heartbeat / 4).max(Duration::from_millis(50));
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(tick).await;
                    let Ok(mut beats) = ticker.lock() else { return };
                    for (waiting, elapsed) in beats.due(Instant::now(), heartbeat) {
                        let time = timestamp(jiff::Timestamp::now());
                        if json {
                            emit(&json_line(&json_heartbeat(&waiting, elapsed, &time)));
                        } else {
                            emit(&format!("{time} {}", heartbeat_line(&waiting, elapsed)));
                        }
                    }
                }
            });
            (progress, DisplayTask { board: None, task })
        }
    }
}

/// The task behind a display (board redraws or heartbeats); [`DisplayTask::finish`] stops it
/// and draws a board's last state.
pub struct DisplayTask {
    board: Option<Arc<Mutex<Board>>>,
    task: tokio::task::JoinHandle<()>,
}

impl DisplayTask {
    /// Stops the task; a board is drawn once more in its final state.
    pub fn finish(self) {
        self.task.abort();
        if let Some(board) = self.board
            && let Ok(mut board) = board.lock()
        {
            board.draw(&mut std::io::stdout(), Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> InstanceKey {
        InstanceKey {
            region: "cn-hangzhou".into(),
            name: "orders".into(),
        }
    }

    #[test]
    fn lines_name_the_instance_step_and_event() {
        let step = Event::Step {
            key: key(),
            index: 2,
            total: 5,
            action: "ModifySecurityIps",
        };
        assert_eq!(
            line(&step),
            "instance=cn-hangzhou/orders step=2/5 action=ModifySecurityIps event=start"
        );
        let waiting = Event::Waiting {
            key: key(),
            action: "CreateInstance",
            condition: "Normal".into(),
        };
        assert!(line(&waiting).contains("event=waiting until=\"Normal\""));
        let done = Event::Done {
            key: key(),
            action: "CreateInstance",
            elapsed: Duration::from_millis(34_600),
        };
        assert_eq!(
            line(&done),
            "instance=cn-hangzhou/orders action=CreateInstance event=done elapsed=34s"
        );
    }

    #[test]
    fn times_are_rfc_3339() {
        let time: jiff::Timestamp = "2026-12-02T21:17:27.5Z".parse().unwrap();
        assert_eq!(timestamp(time), "2026-12-02T21:17:27.500Z");
        assert_eq!(seconds(Duration::from_millis(1234)), "1.2s");
        assert_eq!(seconds(Duration::from_secs(20)), "20s");
    }

    #[test]
    fn a_waiting_step_gets_a_heartbeat_every_period_until_it_ends() {
        let start = Instant::now();
        let period = Duration::from_secs(10);
        let mut beats = Heartbeats::default();
        beats.apply(
            &Event::Waiting {
                key: key(),
                action: "CreateInstance",
                condition: "Normal".into(),
            },
            start,
        );
        assert!(beats.due(start + Duration::from_secs(9), period).is_empty());
        let due = beats.due(start + Duration::from_secs(10), period);
        assert_eq!(due.len(), 1);
        assert_eq!(
            heartbeat_line(&due[0].0, due[0].1),
            "instance=cn-hangzhou/orders action=CreateInstance event=waiting until=\"Normal\" elapsed=10s"
        );
        assert!(
            beats
                .due(start + Duration::from_secs(15), period)
                .is_empty()
        );
        assert_eq!(beats.due(start + Duration::from_secs(20), period).len(), 1);
        beats.apply(
            &Event::Done {
                key: key(),
                action: "CreateInstance",
                elapsed: Duration::from_secs(21),
            },
            start + Duration::from_secs(21),
        );
        assert!(
            beats
                .due(start + Duration::from_secs(60), period)
                .is_empty()
        );
    }

    #[test]
    fn json_events_carry_the_format_version_and_time() {
        let event = json_event(
            &Event::Failed {
                key: key(),
                action: "CreateInstance",
                error: "Throttling".into(),
            },
            "2026-12-02T21:17:27.000Z",
        );
        assert_eq!(event["type"], "step_failed");
        assert_eq!(event["format_version"], PLAN_FORMAT_VERSION);
        assert_eq!(event["instance"], "cn-hangzhou/orders");
        assert_eq!(event["time"], "2026-12-02T21:17:27.000Z");
    }

    #[test]
    fn the_board_redraws_in_place() {
        let now = Instant::now();
        let mut board = Board::default();
        board.apply(
            &Event::Step {
                key: key(),
                index: 1,
                total: 3,
                action: "CreateInstance",
            },
            now,
        );
        board.apply(
            &Event::Waiting {
                key: key(),
                action: "CreateInstance",
                condition: "Normal".into(),
            },
            now,
        );
        let mut first = Vec::new();
        board.draw(&mut first, now);
        let first = String::from_utf8(first).unwrap();
        assert!(first.contains("[1/3] CreateInstance"), "{first}");
        assert!(first.contains("waiting for Normal"), "{first}");
        assert!(!first.contains("\x1b[1A"), "nothing to move up over yet");
        let mut second = Vec::new();
        board.draw(&mut second, now);
        assert!(String::from_utf8(second).unwrap().starts_with("\x1b[1A"));
    }

    #[test]
    fn the_board_stops_the_clock_of_a_finished_step() {
        let start = Instant::now();
        let mut board = Board::default();
        board.apply(
            &Event::Step {
                key: key(),
                index: 1,
                total: 1,
                action: "ModifySecurityIps",
            },
            start,
        );
        board.apply(
            &Event::Done {
                key: key(),
                action: "ModifySecurityIps",
                elapsed: Duration::from_secs(2),
            },
            start + Duration::from_secs(2),
        );
        let mut later = Vec::new();
        board.draw(&mut later, start + Duration::from_secs(100));
        let later = String::from_utf8(later).unwrap();
        assert!(later.contains("done (2.0s)"), "{later}");
    }
}

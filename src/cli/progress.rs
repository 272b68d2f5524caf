//! Showing an apply's progress: a live board on a terminal, one line per event otherwise.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::apply::{Event, Progress};
use crate::manifest::InstanceKey;

/// How often the board is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// One instance's line on the board.
#[derive(Debug, Clone)]
struct Row {
    step: String,
    state: String,
    since: Instant,
}

/// The live board: one line per instance, redrawn in place.
#[derive(Debug, Default)]
struct Board {
    rows: BTreeMap<InstanceKey, Row>,
    drawn_lines: usize,
}

impl Board {
    fn apply(&mut self, event: &Event) {
        let now = Instant::now();
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
                }
            }
            Event::Failed { key, error, .. } => {
                if let Some(row) = self.rows.get_mut(key) {
                    row.state = format!("FAILED: {error}");
                }
            }
            Event::Stopped { key, not_run } => {
                let row = self.rows.entry(key.clone()).or_insert_with(|| Row {
                    step: String::new(),
                    state: String::new(),
                    since: now,
                });
                row.state = format!("stopped ({not_run} not run)");
            }
        }
    }

    fn draw(&mut self, out: &mut impl Write) {
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
            let elapsed = row.since.elapsed().as_secs_f64();
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

/// One line per event, `key=value` style, for logs and pipes.
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
        } => format!("instance={key} action={action} event=waiting until=\"{condition}\""),
        Event::Done {
            key,
            action,
            elapsed,
        } => format!(
            "instance={key} action={action} event=done elapsed_ms={}",
            elapsed.as_millis()
        ),
        Event::Failed { key, action, error } => {
            format!(
                "instance={key} action={action} event=failed error=\"{}\"",
                error.replace('"', "'")
            )
        }
        Event::Stopped { key, not_run } => {
            format!("instance={key} event=stopped not_run={not_run}")
        }
    }
}

/// The progress display: on a terminal a board redrawn in place (until the returned guard is
/// dropped), otherwise one line per event on stdout.
pub fn display(terminal: bool) -> (Progress, Option<BoardTask>) {
    if !terminal {
        return (Arc::new(|event| println!("{}", line(&event))), None);
    }
    let board = Arc::new(Mutex::new(Board::default()));
    let sink = board.clone();
    let progress: Progress = Arc::new(move |event| {
        if let Ok(mut board) = sink.lock() {
            board.apply(&event);
        }
    });
    let drawer = board.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(REDRAW).await;
            if let Ok(mut board) = drawer.lock() {
                board.draw(&mut std::io::stdout());
            }
        }
    });
    (progress, Some(BoardTask { board, task }))
}

/// The redraw task of a terminal board; [`BoardTask::finish`] draws the last state.
pub struct BoardTask {
    board: Arc<Mutex<Board>>,
    task: tokio::task::JoinHandle<()>,
}

impl BoardTask {
    /// Stops redrawing and draws the final state once.
    pub fn finish(self) {
        self.task.abort();
        if let Ok(mut board) = self.board.lock() {
            board.draw(&mut std::io::stdout());
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
    }

    #[test]
    fn the_board_redraws_in_place() {
        let mut board = Board::default();
        board.apply(&Event::Step {
            key: key(),
            index: 1,
            total: 3,
            action: "CreateInstance",
        });
        board.apply(&Event::Waiting {
            key: key(),
            action: "CreateInstance",
            condition: "Normal".into(),
        });
        let mut first = Vec::new();
        board.draw(&mut first);
        let first = String::from_utf8(first).unwrap();
        assert!(first.contains("[1/3] CreateInstance"), "{first}");
        assert!(first.contains("waiting for Normal"), "{first}");
        assert!(!first.contains("\x1b[1A"), "nothing to move up over yet");
        let mut second = Vec::new();
        board.draw(&mut second);
        assert!(String::from_utf8(second).unwrap().starts_with("\x1b[1A"));
    }
}

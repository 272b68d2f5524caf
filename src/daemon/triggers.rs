//! What wakes the reconcile loop: the interval (with jitter), manifest changes (debounced),
//! SIGHUP, and a git branch that moved. Triggers go into one queue; the loop drains it, so any
//! number of triggers during a reconcile causes exactly one more.

use std::path::PathBuf;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Why a reconcile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The daemon started.
    Startup,
    /// The interval elapsed.
    Interval,
    /// Manifest files changed (after the debounce).
    Files,
    /// SIGHUP.
    Hangup,
    /// The git branch moved.
    Git,
    /// A maintenance window that held steps wait for has opened.
    Window,
    /// This replica took shards (etcd coordination): they are reconciled afresh.
    Shards,
}

impl Trigger {
    /// The trigger as a word in logs: `startup`, `interval`, `file`, `sighup`, `git` or
    /// `window`.
    pub fn word(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Interval => "interval",
            Trigger::Files => "file",
            Trigger::Hangup => "sighup",
            Trigger::Git => "git",
            Trigger::Window => "window",
            Trigger::Shards => "shards",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// The distinct triggers of one wake-up as words, in the order they arrived, joined by commas
/// (`file,interval`).
pub fn words(triggers: &[Trigger]) -> String {
    let mut seen: Vec<&'static str> = Vec::new();
    for trigger in triggers {
        if !seen.contains(&trigger.word()) {
            seen.push(trigger.word());
        }
    }
    seen.join(",")
}

/// The interval with ±`jitter` (a fraction, e.g. 0.1), given a random `unit` in `[0, 1)`; so
/// that many daemons do not reconcile in step.
pub fn next_delay(interval: Duration, jitter: f64, unit: f64) -> Duration {
    let factor = 1.0 + jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    interval.mul_f64(factor.max(0.0))
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("watching {path} for changes")]
pub struct WatchError {
    /// The path.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: notify::Error,
}

/// Watches `paths` and sends one [`Trigger::Files`] after each burst of changes has been quiet
/// for `debounce` (an editor's save burst is one trigger). The watcher lives as long as the
/// returned value.
pub fn watch_files(
    paths: &[PathBuf],
    debounce: Duration,
    triggers: mpsc::UnboundedSender<Trigger>,
) -> Result<notify::RecommendedWatcher, WatchError> {
    let (events, mut received) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            let _ = events.send(());
        }
    })
    .map_err(|source| WatchError {
        path: paths.first().cloned().unwrap_or_default(),
        source,
    })?;
    for path in paths {
        watcher
            .watch(path, RecursiveMode::Recursive)
            .map_err(|source| WatchError {
                path: path.clone(),
                source,
            })?;
    }
    tokio::spawn(async move {
        while received.recv().await.is_some() {
            // Wait until the burst has been quiet for `debounce`.
            loop {
                match tokio::time::timeout(debounce, received.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            if triggers.send(Trigger::Files).is_err() {
                return;
            }
        }
    });
    Ok(watcher)
}

/// Sends [`Trigger::Hangup`] on every SIGHUP (Unix only), watched from this call on.
pub fn watch_hangup(triggers: mpsc::UnboundedSender<Trigger>) {
    let Ok(mut hangups) = crate::signals::Hangups::new() else {
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if triggers.send(Trigger::Hangup).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_read_as_words_each_once() {
        assert_eq!(
            words(&[Trigger::Files, Trigger::Interval, Trigger::Files]),
            "file,interval"
        );
        assert_eq!(words(&[Trigger::Hangup]), "sighup");
        assert_eq!(Trigger::Startup.to_string(), "startup");
        assert_eq!(Trigger::Git.to_string(), "git");
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let interval = Duration::from_secs(300);
        assert_eq!(next_delay(interval, 0.1, 0.0), Duration::from_secs(270));
        assert_eq!(next_delay(interval, 0.1, 0.5), Duration::from_secs(300));
        assert!(next_delay(interval, 0.1, 0.999_999) <= Duration::from_secs(330));
        assert_eq!(next_delay(interval, 0.0, 0.7), interval);
    }

    #[tokio::test]
    async fn a_burst_of_changes_is_one_trigger() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher =
            watch_files(&[dir.path().to_path_buf()], Duration::from_millis(300), tx).unwrap();
        for n in 0..5 {
            std::fs::write(dir.path().join("a.yaml"), format!("n: {n}")).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap();
        assert_eq!(first, Some(Trigger::Files));
        let second = tokio::time::timeout(Duration::from_millis(800), rx.recv()).await;
        assert!(
            second.is_err(),
            "a second trigger for the same burst: {second:?}"
        );
    }
}

//! What the executor tells the operator while it runs, and how it is told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::manifest::InstanceKey;

/// One thing that happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step is starting (`index` counts from 1).
    Step {
        /// The instance.
        key: InstanceKey,
        /// Which step.
        index: usize,
        /// Of how many.
        total: usize,
        /// The API action.
        action: &'static str,
    },
    /// The call was accepted; the executor now waits.
    Waiting {
        /// The instance.
        key: InstanceKey,
        /// The API action.
        action: &'static str,
        /// What it waits for, in words.
        condition: String,
    },
    /// The step is complete.
    Done {
        /// The instance.
        key: InstanceKey,
        /// The API action.
        action: &'static str,
        /// How long the step took.
        elapsed: Duration,
    },
    /// The step failed; the instance's remaining steps are not run.
    Failed {
        /// The instance.
        key: InstanceKey,
        /// The API action.
        action: &'static str,
        /// The error with its causes.
        error: String,
    },
    /// The run was stopped before this instance's remaining steps.
    Stopped {
        /// The instance.
        key: InstanceKey,
        /// Steps not run.
        not_run: usize,
    },
}

/// Where events go.
pub type Progress = Arc<dyn Fn(Event) + Send + Sync>;

/// A progress sink that drops every event.
pub fn silent() -> Progress {
    Arc::new(|_| {})
}

/// Tells a running apply to stop starting new steps.
#[derive(Debug, Clone)]
pub struct StopSignal {
    receiver: watch::Receiver<bool>,
}

/// The sending half: `stop()` asks every holder of the [`StopSignal`] to stop.
#[derive(Debug)]
pub struct StopHandle {
    sender: watch::Sender<bool>,
}

/// A connected handle and signal.
pub fn stop_pair() -> (StopHandle, StopSignal) {
    let (sender, receiver) = watch::channel(false);
    (StopHandle { sender }, StopSignal { receiver })
}

impl StopHandle {
    /// Asks the run to stop.
    pub fn stop(&self) {
        let _ = self.sender.send(true);
    }
}

impl StopSignal {
    /// A signal that never fires.
    pub fn never() -> Self {
        let (handle, signal) = stop_pair();
        // Keep the sender alive for the life of the process, so `stopped()` never resolves.
        std::mem::forget(handle);
        signal
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves when a stop is asked for.
    pub async fn stopped(&self) {
        let mut receiver = self.receiver.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_reaches_every_clone() {
        let (handle, signal) = stop_pair();
        let clone = signal.clone();
        assert!(!signal.is_set());
        let waiter = tokio::spawn(async move { clone.stopped().await });
        handle.stop();
        waiter.await.unwrap();
        assert!(signal.is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn never_never_fires() {
        let never = StopSignal::never();
        let timed_out = tokio::time::timeout(Duration::from_secs(3600), never.stopped()).await;
        assert!(timed_out.is_err());
        assert!(!never.is_set());
    }
}

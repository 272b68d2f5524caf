//! Deadlines for every step of a cycle that could block: the phases a cycle goes through and how
//! long each may take, blocking reads run off the async threads under a deadline, and the bound
//! on an apply that its own step timeouts imply.
//!
//! A blocking read that overruns its deadline fails its cycle; its thread cannot be cancelled
//! (a read of a FIFO or of a hung file system waits in the kernel), so it is recorded in the
//! status (readiness reports it) until it returns, and at most [`MAX_BLOCKED_READS`] of them are
//! left waiting per phase: after that, that phase fails at once instead of piling up threads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::oneshot;

use super::error::CycleError;
pub use super::phase::{Phase, show};
use super::status::{BlockedRead, PhaseStatus, SharedStatus};
use crate::plan::model::Plan;

/// Overrun blocking reads of one phase left waiting before that phase stops starting new ones.
pub const MAX_BLOCKED_READS: usize = 4;

/// The most one API call of a step may take, its retries included (the client's retry budget of
/// 60 s plus one attempt's timeout of 30 s).
const CALL_BOUND: Duration = Duration::from_secs(90);

/// Slack on top of an apply's computed bound (rate limiting, scheduling).
const APPLY_SLACK: Duration = Duration::from_secs(60);

/// How long each phase of a cycle may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Reading the manifests, and separately the secrets they name (`--load-timeout`).
    pub load: Duration,
    /// Observing the cloud (`--observe-timeout`).
    pub observe: Duration,
    /// Each git command, and bringing the checkout up to date (`--git-timeout`).
    pub git: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            load: Duration::from_secs(30),
            observe: Duration::from_secs(600),
            git: crate::daemon::git::DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// `now + duration`, saturating at the largest timestamp.
fn after(now: Timestamp, duration: Duration) -> Timestamp {
    SignedDuration::try_from(duration)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Records in the status that the cycle entered `phase`, which must end within `deadline`.
pub fn enter(status: &SharedStatus, phase: Phase, deadline: Duration) {
    let now = Timestamp::now();
    status.lock().phase = Some(PhaseStatus {
        phase,
        since: now,
        deadline: after(now, deadline),
    });
}

/// The most an apply of `plan` with `parallelism` instances at once can take, given that every
/// step's call (with its busy-waits) and its wait each end within the step's timeout: the
/// longest instance, once per round of `parallelism` instances, plus slack.
pub fn apply_deadline(plan: &Plan, parallelism: usize) -> Duration {
    let per_instance: Vec<Duration> = plan
        .instances
        .iter()
        .filter(|instance| !instance.steps.is_empty())
        .map(|instance| {
            instance
                .steps
                .iter()
                .map(|step| {
                    Duration::from_secs(step.wait.timeout_secs)
                        .saturating_mul(2)
                        .saturating_add(CALL_BOUND)
                })
                .fold(Duration::ZERO, Duration::saturating_add)
        })
        .collect();
    let longest = per_instance.iter().copied().max().unwrap_or_default();
    let rounds = per_instance.len().div_ceil(parallelism.max(1));
    longest
        .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
        .saturating_add(APPLY_SLACK)
}

/// Where a blocking read stands, shared by the read's thread and the cycle waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Running,
    /// The cycle gave up on it; its thread removes it from the status when it returns.
    Overran,
    Done,
}

/// Runs blocking reads on tokio's blocking threads, each under a deadline.
#[derive(Debug)]
pub struct BlockingReads {
    status: SharedStatus,
    next_id: u64,
}

impl BlockingReads {
    /// Reads whose overruns are recorded in `status`.
    pub fn new(status: SharedStatus) -> Self {
        BlockingReads { status, next_id: 0 }
    }

    /// Runs `work` on a blocking thread and waits at most `deadline` for it. A read that
    /// overruns fails with [`CycleError::Deadline`] and stays recorded in the status until it
    /// returns; with [`MAX_BLOCKED_READS`] of them outstanding, no new read starts
    /// ([`CycleError::StillBlocked`]).
    pub async fn run<T, F>(
        &mut self,
        phase: Phase,
        deadline: Duration,
        work: F,
    ) -> Result<T, CycleError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let blocked = self
            .status
            .lock()
            .blocked_reads
            .iter()
            .filter(|read| read.phase == phase)
            .count();
        if blocked >= MAX_BLOCKED_READS {
            return Err(CycleError::StillBlocked {
                phase,
                count: blocked,
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let state = Arc::new(Mutex::new(ReadState::Running));
        let (sender, mut receiver) = oneshot::channel();
        let thread_state = state.clone();
        let thread_status = self.status.clone();
        // Detached: a read that never returns must not hold anything else up.
        drop(tokio::task::spawn_blocking(move || {
            let value = work();
            let mut state = lock(&thread_state);
            if *state == ReadState::Overran {
                thread_status
                    .lock()
                    .blocked_reads
                    .retain(|read| read.id != id);
            }
            *state = ReadState::Done;
            let _ = sender.send(value);
        }));
        match tokio::time::timeout(deadline, &mut receiver).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(CycleError::Crashed { phase }),
            Err(_) => {
                let mut state = lock(&state);
                if *state == ReadState::Done {
                    // It returned just as the deadline passed.
                    return receiver
                        .try_recv()
                        .map_err(|_| CycleError::Crashed { phase });
                }
                *state = ReadState::Overran;
                let now = Timestamp::now();
                let started = SignedDuration::try_from(deadline)
                    .ok()
                    .and_then(|d| now.checked_sub(d).ok())
                    .unwrap_or(now);
                self.status.lock().blocked_reads.push(BlockedRead {
                    id,
                    phase,
                    since: started,
                    deadline_secs: deadline.as_secs_f64(),
                });
                Err(CycleError::Deadline {
                    phase,
                    after: deadline,
                })
            }
        }
    }
}

fn lock(state: &Mutex<ReadState>) -> std::sync::MutexGuard<'_, ReadState> {
    state.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::api::actions::{ModifyInstanceSsl, Request};
    use crate::daemon::status::{DaemonStatus, Mode};
    use crate::plan::model::{InstancePlan, Step, Wait, WaitFor};

    fn status() -> SharedStatus {
        SharedStatus::new(DaemonStatus::new(Mode::Observe, Timestamp::now()))
    }

    #[tokio::test]
    async fn a_read_within_its_deadline_gives_its_value() {
        let mut reads = BlockingReads::new(status());
        let value = reads
            .run(Phase::Loading, Duration::from_secs(10), || 42)
            .await
            .unwrap();
        assert_eq!(value, 42);
    }

    #[tokio::test]
    async fn an_overrun_fails_is_recorded_until_it_returns_and_caps_new_reads() {
        let status = status();
        let mut reads = BlockingReads::new(status.clone());
        let mut releases = Vec::new();
        for n in 0..MAX_BLOCKED_READS {
            let (release, wait) = mpsc::channel::<()>();
            releases.push(release);
            let err = reads
                .run(
                    Phase::ReadingSecrets,
                    Duration::from_millis(20),
                    move || {
                        let _ = wait.recv();
                    },
                )
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    CycleError::Deadline {
                        phase: Phase::ReadingSecrets,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(status.lock().blocked_reads.len(), n + 1);
        }
        assert_eq!(
            err_text(
                reads
                    .run(Phase::ReadingSecrets, Duration::from_secs(10), || ())
                    .await
            ),
            format!(
                "reading the secrets: {MAX_BLOCKED_READS} earlier reads overran their deadline and are still blocked; no new one starts until one returns"
            )
        );
        // Another phase still reads.
        assert_eq!(
            reads
                .run(Phase::Loading, Duration::from_secs(10), || 1)
                .await
                .unwrap(),
            1
        );
        // A blocked read that returns at last leaves the status.
        drop(releases.remove(0));
        for _ in 0..500 {
            if status.lock().blocked_reads.len() < MAX_BLOCKED_READS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(status.lock().blocked_reads.len(), MAX_BLOCKED_READS - 1);
        assert_eq!(
            reads
                .run(Phase::ReadingSecrets, Duration::from_secs(10), || 7)
                .await
                .unwrap(),
            7
        );
        drop(releases);
    }

    fn err_text<T>(result: Result<T, CycleError>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(err) => err.to_string(),
        }
    }

    fn step(timeout_secs: u64) -> Step {
        Step {
            request: Request::ModifyInstanceSsl(ModifyInstanceSsl::default()),
            changes: Vec::new(),
            impact: crate::plan::model::Impact::Restart,
            wait: Wait {
                until: WaitFor::Normal,
                timeout_secs,
            },
            restart: false,
            when: crate::plan::model::When::Now,
        }
    }

    fn instance(name: &str, steps: Vec<Step>) -> InstancePlan {
        InstancePlan {
            key: crate::manifest::InstanceKey {
                region: "cn-hangzhou".into(),
                name: name.into(),
            },
            instance_id: Some("r-1".into()),
            operation: crate::plan::Operation::Update,
            candidates: Vec::new(),
            steps,
            blocked: Vec::new(),
        }
    }

    #[test]
    fn the_apply_bound_follows_the_step_timeouts_and_the_parallelism() {
        let mut plan = Plan {
            format_version: crate::plan::model::PLAN_FORMAT_VERSION,
            stack: "s".into(),
            complete: true,
            instances: Vec::new(),
            scope: None,
        };
        assert_eq!(apply_deadline(&plan, 8), APPLY_SLACK);
        plan.instances = vec![
            instance("a", vec![step(600), step(600)]),
            instance("b", vec![step(600)]),
            instance("c", Vec::new()),
        ];
        let longest = 2 * (Duration::from_secs(1200) + CALL_BOUND);
        assert_eq!(apply_deadline(&plan, 8), longest + APPLY_SLACK);
        assert_eq!(apply_deadline(&plan, 1), 2 * longest + APPLY_SLACK);
    }
}

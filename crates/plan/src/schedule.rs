//! When each step runs: the disruption policy, the maintenance window, changes the cloud
//! already has scheduled, and the backup before risky steps.
//!
//! The aspects plan every step as if it ran at once; [`arrange`] then decides, per step and in
//! the fixed order, whether it runs now, is sent for the cloud to make in the window
//! (`EffectiveTime=MaintainTime`), waits for the window, or is held by the policy `never`. It
//! reads the time from [`crate::Context`], never from a clock.
//!
//! Restart-class steps, from the vendor reference ([`disruption`]):
//!
//! | call | restarts or disconnects | the cloud can schedule it |
//! |---|---|---|
//! | `ModifyInstanceSpec` | yes (a transient disconnection while the class changes) | yes, `EffectiveTime` |
//! | `ModifyInstanceMajorVersion` | yes (the engine restarts) | yes, `EffectiveTime` |
//! | `ModifyInstanceSSL` | yes (the instance restarts to switch TLS) | no |
//! | `SwitchNetwork` | yes (the endpoint moves; connections drop) | no |
//! | `ModifyDBInstanceConnectionString` | yes (clients must reconnect to the new address) | no |
//! | `RestoreInstance` | yes (the data is replaced while it recovers) | no |
//!
//! Every other call (whitelists, accounts, parameters, attributes, tags, billing, the backup
//! policy, `CreateBackup`) leaves clients connected and runs now. Release (`DeleteInstance`) and
//! `FlushInstance` are destructive rather than restarts: their gate decides, not the window.

use jiff::Timestamp;

use crate::Context;
use crate::manifest::desired::Disruption;
use crate::model::{
    Blocked, BlockedKind, Change, Impact, Step, Wait, WaitFor, When, WindowOpening,
};
use crate::observed::ObservedInstance;
use crate::values::{HourWindow, Reported};
use kvsync_wire::actions::{CreateBackup, Request};

/// How long apply waits for a backup before a risky step to finish.
pub const BACKUP_TIMEOUT_SECS: u64 = 2 * 60 * 60;

/// `EffectiveTime` of a change the cloud makes in the maintenance window.
pub const MAINTAIN_TIME: &str = "MaintainTime";

/// How a call disturbs the instance's clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disturbance {
    /// Clients stay connected.
    None,
    /// It restarts the instance or drops connections; the cloud can schedule it for the
    /// maintenance window itself (`EffectiveTime=MaintainTime`).
    Schedulable,
    /// It restarts the instance or drops connections, and runs when it is called.
    Immediate,
}

/// The disturbance of `request` (see the table in the module docs). Every action is named, so
/// a new one cannot be added without deciding.
pub fn disruption<S>(request: &Request<S>) -> Disturbance {
    use Disturbance as D;
    match request {
        Request::ModifyInstanceSpec(_) | Request::ModifyInstanceMajorVersion(_) => D::Schedulable,
        Request::ModifyInstanceSsl(_)
        | Request::SwitchNetwork(_)
        | Request::ModifyDbInstanceConnectionString(_)
        | Request::RestoreInstance(_) => D::Immediate,
        Request::CreateInstance(_)
        | Request::DescribeInstances(_)
        | Request::DescribeInstanceAttribute(_)
        | Request::ModifyInstanceAttribute(_)
        | Request::DeleteInstance(_)
        | Request::DescribeRegions(_)
        | Request::TransformToPrePaid(_)
        | Request::DescribeDbInstanceNetInfo(_)
        | Request::FlushInstance(_)
        | Request::ModifyInstanceMaintainTime(_)
        | Request::ModifyInstanceNetExpireTime(_)
        | Request::DescribeAccounts(_)
        | Request::CreateAccount(_)
        | Request::ModifyAccountDescription(_)
        | Request::ResetAccountPassword(_)
        | Request::GrantAccountPrivilege(_)
        | Request::DeleteAccount(_)
        | Request::DescribeSecurityIps(_)
        | Request::ModifySecurityIps(_)
        | Request::DescribeInstanceSsl(_)
        | Request::ModifyInstanceVpcAuthMode(_)
        | Request::ModifyBackupPolicy(_)
        | Request::DescribeBackupPolicy(_)
        | Request::CreateBackup(_)
        | Request::DescribeBackups(_)
        | Request::DescribeInstanceConfig(_)
        | Request::ModifyInstanceConfig(_)
        | Request::DescribeMonitorItems(_)
        | Request::DescribeHistoryMonitorValues(_)
        | Request::TagResources(_)
        | Request::UntagResources(_)
        | Request::ListTagResources(_) => D::None,
    }
}

/// Whether a step is risky: it restarts, cannot be undone, or deletes.
fn risky(step: &Step) -> bool {
    step.restart || step.impact >= Impact::Irreversible
}

/// Whether `later` was planned assuming `earlier` had taken effect, so that it must wait
/// when `earlier` waits: VPC auth exists only in a VPC; parameters and account privileges
/// depend on the engine version.
fn depends_on<S>(later: &Request<S>, earlier: &Request<S>) -> bool {
    match earlier {
        Request::SwitchNetwork(_) => matches!(later, Request::ModifyInstanceVpcAuthMode(_)),
        Request::ModifyInstanceMajorVersion(_) => matches!(
            later,
            Request::ModifyInstanceConfig(_)
                | Request::CreateAccount(_)
                | Request::GrantAccountPrivilege(_)
        ),
        _ => false,
    }
}

/// What decides the timing of one instance's steps.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The disruption policy in force.
    pub disruption: Disruption,
    /// Whether a backup precedes the first risky step that runs.
    pub backup_before_risky: bool,
}

/// Decides when each of an existing instance's steps runs, rewrites the ones the cloud will
/// schedule, folds spec and version changes into a note when the cloud already holds an
/// order, and puts a backup before the first risky step that runs now.
pub fn arrange(
    ctx: &Context<'_>,
    policy: Policy,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
) {
    let mut window = match &observed.maintenance_window {
        Some(Reported::Known(window)) => Some(*window),
        _ => None,
    };
    // The step (or pending order) that later restart-class steps wait behind.
    let mut waiting_behind: Option<String> = None;
    // Steps that wait, for their dependants.
    let mut waiting: Vec<usize> = Vec::new();
    if observed.change_order_pending {
        let mut pending = Vec::new();
        steps.retain(|step| {
            let ordered = disruption(&step.request) == Disturbance::Schedulable;
            if ordered {
                pending.extend(step.changes.iter().cloned());
            }
            !ordered
        });
        for change in pending {
            notes.push(scheduled_note(change));
        }
        waiting_behind = Some("the change order pending in the cloud".into());
    }

    let mut unknown_window = Vec::new();
    for index in 0..steps.len() {
        let when = {
            let step = &steps[index];
            let dependency = waiting
                .iter()
                .find(|&&earlier| depends_on(&step.request, &steps[earlier].request))
                .map(|&earlier| &steps[earlier]);
            if let Some(earlier) = dependency {
                // Behind a step held for ever, it is held for ever too.
                Some(match earlier.when {
                    When::Held => Timing::Held,
                    _ => Timing::Wait(Some(earlier.request.name().to_owned())),
                })
            } else if !step.restart {
                None
            } else {
                match policy.disruption {
                    Disruption::Immediate => None,
                    Disruption::Never => Some(Timing::Held),
                    Disruption::Window if ctx.now_overrides_window => None,
                    Disruption::Window => match (&waiting_behind, window) {
                        (Some(behind), _) => Some(Timing::Wait(Some(behind.clone()))),
                        (None, None) => Some(Timing::Unknown),
                        (None, Some(window)) if window.contains(ctx.now) => None,
                        (None, Some(_))
                            if disruption(&step.request) == Disturbance::Schedulable =>
                        {
                            Some(Timing::Cloud)
                        }
                        (None, Some(_)) => Some(Timing::Wait(None)),
                    },
                }
            }
        };
        let step = &mut steps[index];
        match when {
            None => {
                step.when = When::Now;
                if let Request::ModifyInstanceMaintainTime(request) = &step.request
                    && let (Ok(start), Ok(end)) = (
                        request.maintain_start_time.parse(),
                        request.maintain_end_time.parse(),
                    )
                {
                    // Later steps fall in the window this step sets.
                    window = Some(HourWindow { start, end });
                }
            }
            Some(Timing::Held) => {
                step.when = When::Held;
                waiting.push(index);
            }
            Some(Timing::Unknown) => unknown_window.push(index),
            Some(Timing::Cloud) => {
                let Some(window) = window else { continue };
                schedule_with_cloud(step);
                step.when = When::Cloud {
                    opens: opening(ctx, window),
                };
                waiting_behind = Some(step.request.name().to_owned());
                waiting.push(index);
            }
            Some(Timing::Wait(behind)) => {
                step.when = match window {
                    Some(window) => When::Window {
                        opens: opening(ctx, window),
                        behind,
                    },
                    None => When::Held,
                };
                waiting_behind.get_or_insert_with(|| step.request.name().to_owned());
                waiting.push(index);
            }
        }
    }
    for index in unknown_window.into_iter().rev() {
        let step = steps.remove(index);
        notes.push(Blocked {
            field: step
                .changes
                .first()
                .map_or_else(|| "spec".to_owned(), |change| change.field.clone()),
            old: None,
            new: None,
            reason: format!(
                "{} restarts the instance and the disruption policy is window, but the instance's maintenance window could not be read; kvsync waits rather than guess",
                step.request.name()
            ),
            kind: BlockedKind::Drift,
        });
    }

    if policy.backup_before_risky
        && let Some(first) = steps.iter().position(|s| s.when.runs_now() && risky(s))
    {
        steps.insert(first, backup_step(&observed.id));
    }
}

/// What [`arrange`] decided for one step before writing it down.
enum Timing {
    /// Waits for the window (behind this step, if named).
    Wait(Option<String>),
    /// Sent now for the cloud to make in the window.
    Cloud,
    /// Held by the policy `never`.
    Held,
    /// The window is needed but was not read.
    Unknown,
}

/// Puts a change the cloud can schedule into the window: `EffectiveTime=MaintainTime`, and
/// apply waits only for the order to be accepted.
fn schedule_with_cloud(step: &mut Step) {
    match &mut step.request {
        Request::ModifyInstanceSpec(request) => {
            request.effective_time = Some(MAINTAIN_TIME.into());
        }
        Request::ModifyInstanceMajorVersion(request) => {
            request.effective_time = Some(MAINTAIN_TIME.into());
        }
        _ => return,
    }
    step.wait.until = WaitFor::Nothing;
}

/// The note for a change the cloud already holds an order for.
fn scheduled_note(change: Change) -> Blocked {
    Blocked {
        field: change.field,
        old: change.old,
        new: change.new,
        reason: "the cloud holds a change order for this instance that has not taken effect (HasRenewChangeOrder), such as one for the maintenance window; kvsync orders no other class or version change until it has".into(),
        kind: BlockedKind::Scheduled,
    }
}

/// The next opening of `window` after now, in UTC and in the plan's local zone.
fn opening(ctx: &Context<'_>, window: HourWindow) -> WindowOpening {
    let utc: Timestamp = window.next_start(ctx.now);
    WindowOpening {
        window: window.to_string(),
        utc,
        local: utc
            .to_zoned_datetime(ctx.zone.clone())
            .strftime("%Y-%m-%d %H:%M %:z")
            .to_string(),
    }
}

/// `CreateBackup` of the instance, waited for until `DescribeBackups` shows it finished.
pub fn backup_step(instance_id: &str) -> Step {
    Step {
        request: Request::CreateBackup(CreateBackup {
            instance_id: instance_id.to_owned(),
            backup_retention_period: None,
        }),
        changes: vec![Change {
            field: "backup".into(),
            old: None,
            new: Some("before the risky steps that follow".into()),
        }],
        impact: Impact::None,
        wait: Wait {
            until: WaitFor::BackupFinished,
            timeout_secs: BACKUP_TIMEOUT_SECS,
        },
        restart: false,
        when: When::Now,
    }
}

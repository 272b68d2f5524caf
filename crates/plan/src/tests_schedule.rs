//! When steps run: every combination of impact class, disruption policy, window and time, and
//! the sequences that follow from them (waiting behind, dependencies, a pending order, the
//! backup before risky steps).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::instance::step;
use crate::manifest::desired::{Disruption, Stack};
use crate::model::{BlockedKind, Change, Impact, Step, WaitFor, When};
use crate::observed::{Observed, ObservedInstance};
use crate::schedule::{Policy, arrange};
use crate::{Context, Digests, Seeds};
use kvsync_wire::actions::{
    DeleteAccount, ModifyInstanceConfig, ModifyInstanceMaintainTime, ModifyInstanceMajorVersion,
    ModifyInstanceSpec, ModifyInstanceSsl, ModifyInstanceVpcAuthMode, ModifySecurityIps, Request,
    SwitchNetwork, TransformToPrePaid,
};

/// Inside the instance's window (02:00Z–03:00Z).
const INSIDE: &str = "2026-12-03T02:30:00Z";
/// Outside it; the window next opens at [`NEXT_OPENING`].
const OUTSIDE: &str = "2026-12-03T12:00:00Z";
const NEXT_OPENING: &str = "2026-12-04T02:00:00Z";

fn observed(window: Option<&str>) -> ObservedInstance {
    ObservedInstance {
        id: "r-1".into(),
        name: "orders".into(),
        region: "cn-hangzhou".into(),
        status: "Normal".into(),
        maintenance_window: window.map(Into::into),
        ..ObservedInstance::default()
    }
}

/// The kinds of step the table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Impact none, no restart: a whitelist.
    Plain,
    /// Restart, schedulable by the cloud: a resize.
    Resize,
    /// Restart, not schedulable: TLS.
    Tls,
    /// Irreversible and restarting, schedulable: a major version.
    MajorVersion,
    /// Irreversible and restarting, not schedulable: into a VPC.
    SwitchNetwork,
    /// Irreversible without a restart: billing.
    PrePaid,
    /// Destructive: an account deleted.
    DeleteAccount,
}

const KINDS: [Kind; 7] = [
    Kind::Plain,
    Kind::Resize,
    Kind::Tls,
    Kind::MajorVersion,
    Kind::SwitchNetwork,
    Kind::PrePaid,
    Kind::DeleteAccount,
];

fn request(kind: Kind) -> Request<kvsync_secrets::SecretRef> {
    let id = "r-1".to_owned();
    match kind {
        Kind::Plain => Request::ModifySecurityIps(ModifySecurityIps {
            instance_id: id,
            security_ips: vec!["10.0.0.1".into()],
            security_ip_group_name: Some("app".into()),
            ..Default::default()
        }),
        Kind::Resize => Request::ModifyInstanceSpec(ModifyInstanceSpec {
            instance_id: id,
            instance_class: Some("redis.master.mid.default".into()),
            effective_time: Some("Immediately".into()),
            ..Default::default()
        }),
        Kind::Tls => Request::ModifyInstanceSsl(ModifyInstanceSsl {
            instance_id: id,
            ssl_enabled: "Enable".into(),
        }),
        Kind::MajorVersion => Request::ModifyInstanceMajorVersion(ModifyInstanceMajorVersion {
            instance_id: id,
            major_version: "6.0".into(),
            effective_time: Some("Immediately".into()),
        }),
        Kind::SwitchNetwork => Request::SwitchNetwork(SwitchNetwork {
            instance_id: id,
            target_network_type: Some("VPC".into()),
            ..Default::default()
        }),
        Kind::PrePaid => Request::TransformToPrePaid(TransformToPrePaid {
            instance_id: id,
            period: 1,
            ..Default::default()
        }),
        Kind::DeleteAccount => Request::DeleteAccount(DeleteAccount {
            instance_id: id,
            account_name: "old".into(),
        }),
    }
}

fn planned(kind: Kind) -> Step {
    let until = match kind {
        Kind::Resize => WaitFor::InstanceClass("redis.master.mid.default".into()),
        _ => WaitFor::Normal,
    };
    step(
        request(kind),
        until,
        600,
        vec![Change {
            field: format!("spec.{kind:?}"),
            old: None,
            new: Some("x".into()),
        }],
    )
}

fn restarts(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Resize | Kind::Tls | Kind::MajorVersion | Kind::SwitchNetwork
    )
}

fn schedulable(kind: Kind) -> bool {
    matches!(kind, Kind::Resize | Kind::MajorVersion)
}

fn effective_time(step: &Step) -> Option<&str> {
    match &step.request {
        Request::ModifyInstanceSpec(r) => r.effective_time.as_deref(),
        Request::ModifyInstanceMajorVersion(r) => r.effective_time.as_deref(),
        _ => None,
    }
}

/// Runs [`arrange`] on `steps` against `instance` at `now`.
fn arranged(
    steps: Vec<Step>,
    instance: &ObservedInstance,
    policy: Policy,
    now: &str,
    now_overrides_window: bool,
) -> (Vec<Step>, Vec<crate::model::Blocked>) {
    let digests = Digests::new();
    let seeds = Seeds::new();
    let observed = Observed {
        regions: BTreeMap::new(),
    };
    let index = observed.index();
    let stack = Stack::default();
    let zone = TimeZone::fixed(jiff::tz::offset(8));
    let ctx = Context {
        stack: "shop",
        digests: &digests,
        prune_all: false,
        seeds: &seeds,
        observed: &index,
        settings: &stack,
        now: now.parse::<Timestamp>().unwrap(),
        zone: &zone,
        now_overrides_window,
        partial: None,
    };
    let mut steps = steps;
    let mut notes = Vec::new();
    arrange(&ctx, policy, instance, &mut steps, &mut notes);
    (steps, notes)
}

fn policy(disruption: Disruption) -> Policy {
    Policy {
        disruption,
        backup_before_risky: false,
    }
}

/// What the table expects of one step.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Now,
    Cloud,
    Window,
    Held,
    /// Removed from the steps and reported: the window is needed but unknown.
    Blocked,
}

fn expected(kind: Kind, disruption: Disruption, window: bool, inside: bool, now: bool) -> Expect {
    if !restarts(kind) {
        return Expect::Now;
    }
    match disruption {
        Disruption::Immediate => Expect::Now,
        Disruption::Never => Expect::Held,
        Disruption::Window if now => Expect::Now,
        Disruption::Window if !window => Expect::Blocked,
        Disruption::Window if inside => Expect::Now,
        Disruption::Window if schedulable(kind) => Expect::Cloud,
        Disruption::Window => Expect::Window,
    }
}

#[test]
fn every_impact_policy_window_and_time_gets_its_timing() {
    let mut cases = 0;
    for kind in KINDS {
        for disruption in [Disruption::Immediate, Disruption::Window, Disruption::Never] {
            for window in [true, false] {
                for inside in [true, false] {
                    for now_flag in [false, true] {
                        let instance = observed(window.then_some("02:00Z-03:00Z"));
                        let at = if inside { INSIDE } else { OUTSIDE };
                        let (steps, notes) = arranged(
                            vec![planned(kind)],
                            &instance,
                            policy(disruption),
                            at,
                            now_flag,
                        );
                        let case = format!(
                            "{kind:?} {disruption:?} window={window} inside={inside} --now={now_flag}"
                        );
                        let want = expected(kind, disruption, window, inside, now_flag);
                        if want == Expect::Blocked {
                            assert!(steps.is_empty(), "{case}: {steps:?}");
                            assert_eq!(notes.len(), 1, "{case}");
                            assert_eq!(notes[0].kind, BlockedKind::Drift, "{case}");
                            assert!(notes[0].reason.contains("could not be read"), "{case}");
                            cases += 1;
                            continue;
                        }
                        assert!(notes.is_empty(), "{case}: {notes:?}");
                        assert_eq!(steps.len(), 1, "{case}");
                        let step = &steps[0];
                        assert_eq!(step.restart, restarts(kind), "{case}");
                        let got = match &step.when {
                            When::Now => Expect::Now,
                            When::Cloud { .. } => Expect::Cloud,
                            When::Window { .. } => Expect::Window,
                            When::Held => Expect::Held,
                        };
                        assert_eq!(got, want, "{case}");
                        match &step.when {
                            When::Cloud { opens } | When::Window { opens, .. } => {
                                assert_eq!(opens.utc.to_string(), NEXT_OPENING, "{case}");
                                assert_eq!(opens.window, "02:00Z-03:00Z", "{case}");
                                assert_eq!(opens.local, "2026-12-04 10:00 +08:00", "{case}");
                            }
                            _ => {}
                        }
                        // The cloud is told to wait only when it makes the change itself.
                        if schedulable(kind) {
                            let sent = if got == Expect::Cloud {
                                "MaintainTime"
                            } else {
                                "Immediately"
                            };
                            assert_eq!(effective_time(step), Some(sent), "{case}");
                            assert_eq!(
                                step.wait.until == WaitFor::Nothing,
                                got == Expect::Cloud,
                                "{case}: apply waits for acceptance only"
                            );
                        }
                        // Gates are not the policy's business: the impact stays.
                        let impact = match kind {
                            Kind::Plain => Impact::None,
                            Kind::Resize | Kind::Tls => Impact::Restart,
                            Kind::MajorVersion | Kind::SwitchNetwork | Kind::PrePaid => {
                                Impact::Irreversible
                            }
                            Kind::DeleteAccount => Impact::Destructive,
                        };
                        assert_eq!(step.impact, impact, "{case}");
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 7 * 3 * 2 * 2 * 2);
}

#[test]
fn the_end_of_the_window_is_outside_and_its_start_inside() {
    let window: crate::values::HourWindow = "02:00Z-03:00Z".parse().unwrap();
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    assert!(window.contains(at("2026-12-03T02:00:00Z")));
    assert!(window.contains(at("2026-12-03T02:59:59Z")));
    assert!(!window.contains(at("2026-12-03T03:00:00Z")));
    assert!(!window.contains(at("2026-12-03T01:59:59Z")));
    assert_eq!(
        window.next_start(at("2026-12-03T01:59:59Z")),
        at("2026-12-03T02:00:00Z")
    );
    assert_eq!(
        window.next_start(at("2026-12-03T02:00:00.5Z")),
        at("2026-12-04T02:00:00Z")
    );
    // A window across midnight.
    let late: crate::values::HourWindow = "23:30Z-00:30Z".parse().unwrap();
    assert!(late.contains(at("2026-12-03T23:45:00Z")));
    assert!(late.contains(at("2026-12-04T00:15:00Z")));
    assert!(!late.contains(at("2026-12-04T00:30:00Z")));
    assert_eq!(
        late.next_start(at("2026-12-04T00:15:00Z")),
        at("2026-12-04T23:30:00Z")
    );
}

#[test]
fn restart_steps_after_a_held_one_wait_behind_it_and_the_rest_go_ahead() {
    let steps = vec![
        planned(Kind::Resize),
        planned(Kind::Tls),
        planned(Kind::Plain),
        planned(Kind::DeleteAccount),
    ];
    let (steps, _) = arranged(
        steps,
        &observed(Some("02:00Z-03:00Z")),
        policy(Disruption::Window),
        OUTSIDE,
        false,
    );
    assert!(matches!(steps[0].when, When::Cloud { .. }));
    match &steps[1].when {
        When::Window { behind, .. } => assert_eq!(behind.as_deref(), Some("ModifyInstanceSpec")),
        other => panic!("TLS should wait behind the resize: {other:?}"),
    }
    assert_eq!(steps[2].when, When::Now, "a whitelist goes ahead");
    assert_eq!(steps[3].when, When::Now, "an account deletion goes ahead");
}

#[test]
fn steps_planned_on_a_held_change_wait_for_it() {
    let vpc_auth = step(
        Request::ModifyInstanceVpcAuthMode(ModifyInstanceVpcAuthMode {
            instance_id: "r-1".into(),
            vpc_auth_mode: "Close".into(),
        }),
        WaitFor::Normal,
        600,
        Vec::new(),
    );
    let config = step(
        Request::ModifyInstanceConfig(ModifyInstanceConfig {
            instance_id: "r-1".into(),
            config: Some("{}".into()),
            ..Default::default()
        }),
        WaitFor::Normal,
        600,
        Vec::new(),
    );
    let (steps, _) = arranged(
        vec![
            planned(Kind::SwitchNetwork),
            planned(Kind::MajorVersion),
            vpc_auth,
            config,
        ],
        &observed(Some("02:00Z-03:00Z")),
        policy(Disruption::Window),
        OUTSIDE,
        false,
    );
    assert!(matches!(steps[0].when, When::Window { behind: None, .. }));
    assert!(matches!(&steps[1].when, When::Window { behind: Some(b), .. } if b == "SwitchNetwork"));
    assert!(
        matches!(&steps[2].when, When::Window { behind: Some(b), .. } if b == "SwitchNetwork"),
        "VPC auth exists only in the VPC: {:?}",
        steps[2].when
    );
    assert!(
        matches!(&steps[3].when, When::Window { behind: Some(b), .. } if b == "ModifyInstanceMajorVersion"),
        "parameters depend on the version: {:?}",
        steps[3].when
    );
}

#[test]
fn a_step_planned_on_a_change_held_for_ever_is_held_for_ever() {
    let vpc_auth = step(
        Request::ModifyInstanceVpcAuthMode(ModifyInstanceVpcAuthMode {
            instance_id: "r-1".into(),
            vpc_auth_mode: "Close".into(),
        }),
        WaitFor::Normal,
        600,
        Vec::new(),
    );
    let (steps, _) = arranged(
        vec![planned(Kind::SwitchNetwork), vpc_auth, planned(Kind::Plain)],
        &observed(Some("02:00Z-03:00Z")),
        policy(Disruption::Never),
        INSIDE,
        false,
    );
    assert_eq!(steps[0].when, When::Held);
    assert_eq!(steps[1].when, When::Held);
    assert_eq!(steps[2].when, When::Now);
}

#[test]
fn a_pending_change_order_is_a_note_and_nothing_is_ordered_again() {
    let mut instance = observed(Some("02:00Z-03:00Z"));
    instance.change_order_pending = true;
    for disruption in [Disruption::Immediate, Disruption::Window] {
        for at in [INSIDE, OUTSIDE] {
            let (steps, notes) = arranged(
                vec![
                    planned(Kind::Resize),
                    planned(Kind::MajorVersion),
                    planned(Kind::Plain),
                ],
                &instance,
                policy(disruption),
                at,
                false,
            );
            let actions: Vec<&str> = steps.iter().map(|s| s.request.name()).collect();
            assert_eq!(actions, ["ModifySecurityIps"], "{disruption:?} {at}");
            assert_eq!(steps[0].when, When::Now);
            assert_eq!(notes.len(), 2);
            assert!(notes.iter().all(|n| n.kind == BlockedKind::Scheduled));
        }
    }
    // A TLS change waits behind the pending order under the policy window.
    let (steps, _) = arranged(
        vec![planned(Kind::Tls)],
        &instance,
        policy(Disruption::Window),
        OUTSIDE,
        false,
    );
    assert!(matches!(
        &steps[0].when,
        When::Window {
            behind: Some(_),
            ..
        }
    ));
}

#[test]
fn a_new_maintenance_window_counts_for_the_steps_after_it() {
    let window_step = step(
        Request::ModifyInstanceMaintainTime(ModifyInstanceMaintainTime {
            instance_id: "r-1".into(),
            maintain_start_time: "12:00Z".into(),
            maintain_end_time: "13:00Z".into(),
        }),
        WaitFor::Nothing,
        600,
        Vec::new(),
    );
    // Outside the old window (02:00Z), inside the new one (12:00Z): the resize before the
    // window step is scheduled with the cloud, the TLS change after it runs now.
    let (steps, _) = arranged(
        vec![planned(Kind::Resize), window_step, planned(Kind::Tls)],
        &observed(Some("02:00Z-03:00Z")),
        policy(Disruption::Window),
        "2026-12-03T12:10:00Z",
        false,
    );
    assert!(matches!(steps[0].when, When::Cloud { .. }));
    assert_eq!(steps[1].when, When::Now);
    // The TLS change waits behind the scheduled resize, in the new window.
    match &steps[2].when {
        When::Window { opens, .. } => assert_eq!(opens.window, "12:00Z-13:00Z"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_backup_precedes_the_first_risky_step_that_runs_and_only_that() {
    let backup = Policy {
        disruption: Disruption::Window,
        backup_before_risky: true,
    };
    let window = observed(Some("02:00Z-03:00Z"));
    // Inside the window: before the resize.
    let (steps, _) = arranged(
        vec![
            planned(Kind::Plain),
            planned(Kind::Resize),
            planned(Kind::Tls),
        ],
        &window,
        backup,
        INSIDE,
        false,
    );
    let actions: Vec<&str> = steps.iter().map(|s| s.request.name()).collect();
    assert_eq!(
        actions,
        [
            "ModifySecurityIps",
            "CreateBackup",
            "ModifyInstanceSpec",
            "ModifyInstanceSSL"
        ]
    );
    assert_eq!(steps[1].wait.until, WaitFor::BackupFinished);
    assert_eq!(steps[1].when, When::Now);
    // Outside: the order for the window is risky too, so the backup comes before it.
    let (steps, _) = arranged(vec![planned(Kind::Resize)], &window, backup, OUTSIDE, false);
    let actions: Vec<&str> = steps.iter().map(|s| s.request.name()).collect();
    assert_eq!(actions, ["CreateBackup", "ModifyInstanceSpec"]);
    // A held TLS change gets its backup when it runs, not now.
    let (steps, _) = arranged(vec![planned(Kind::Tls)], &window, backup, OUTSIDE, false);
    let actions: Vec<&str> = steps.iter().map(|s| s.request.name()).collect();
    assert_eq!(actions, ["ModifyInstanceSSL"]);
    // Destructive and irreversible steps are risky without a restart.
    for kind in [Kind::DeleteAccount, Kind::PrePaid] {
        let (steps, _) = arranged(vec![planned(kind)], &window, backup, OUTSIDE, false);
        assert_eq!(steps[0].request.name(), "CreateBackup", "{kind:?}");
    }
    // Nothing risky, no backup; and none unless asked for.
    let (steps, _) = arranged(vec![planned(Kind::Plain)], &window, backup, INSIDE, false);
    assert_eq!(steps.len(), 1);
    let (steps, _) = arranged(
        vec![planned(Kind::Resize)],
        &window,
        policy(Disruption::Immediate),
        OUTSIDE,
        false,
    );
    assert_eq!(steps.len(), 1);
}

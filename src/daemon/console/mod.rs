//! The operator's console: what `/` and the `/api/v1/…` JSON views show, computed from a
//! snapshot of the [`DaemonStatus`]. Every page ([`html`]) is a rendering of one of these views,
//! so what a person reads and what a script reads are the same data.
//!
//! | path | view |
//! |---|---|
//! | `/api/v1/overview` | [`Overview`]: stack, revision, cycles, health, counts by state |
//! | `/api/v1/instances?sort=&order=&q=&state=` | [`InstanceList`]: one [`InstanceRow`] each |
//! | `/api/v1/instances/{region}/{name}` | [`InstanceDetail`]: aspects, drift, pending steps, runs |
//! | `/api/v1/history` | [`HistoryView`]: the last cycles, for the charts |
//!
//! Pure functions of the status: no IO, no clock but the `now` given. No secret can appear: the
//! status holds none (plans and manifests refer to secrets, never carry them).

pub mod html;
pub mod svg;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::history::CycleRecord;
use super::status::{
    Aspect, CloudView, DaemonStatus, DriftValue, InstanceResult, InstanceRun, InstanceStatus, Mode,
    PendingStep, Revision, TimedStep,
};

/// The overview: where the manifests come from, how the loop does, and how many instances are
/// in each state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// The stack in force.
    pub stack: Option<String>,
    /// `observe` or `apply`.
    pub mode: Mode,
    /// The revision in force (commit and author for git).
    pub revision: Option<Revision>,
    /// A newer revision that did not load, if any.
    pub pending_revision: Option<Revision>,
    /// Why the newest manifests are not in force.
    pub manifest_error: Option<String>,
    /// Why the last cycle failed, if it did.
    pub cycle_error: Option<String>,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// When the last cycle finished.
    pub last_cycle_at: Option<Timestamp>,
    /// When the next is due.
    pub next_cycle_at: Option<Timestamp>,
    /// Cycles finished, and how many failed.
    pub cycles: u64,
    /// Cycles that failed.
    pub failed_cycles: u64,
    /// `healthy`, or `unhealthy` with [`Overview::health_reason`].
    pub health: &'static str,
    /// Why the daemon is not ready, when it is not.
    pub health_reason: Option<String>,
    /// Instances per state.
    pub counts: Counts,
    /// Shards: this replica's, and every shard's holder (etcd coordination only).
    pub shards: Option<Shards>,
}

/// Instances per state. An instance with blocked differences counts under `blocked` as well
/// as under its result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every instance.
    pub total: usize,
    /// In sync, or corrected in the last cycle.
    pub in_sync: usize,
    /// Differing.
    pub drifted: usize,
    /// Failing (or backing off after failures).
    pub failed: usize,
    /// With steps held for a change window.
    pub held: usize,
    /// With changes the cloud makes in its maintenance window.
    pub scheduled: usize,
    /// With differences kvsync will not change.
    pub blocked: usize,
}

/// The shards of an etcd replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shards {
    /// This replica.
    pub replica: String,
    /// The shards it holds.
    pub held: Vec<String>,
    /// Every shard and its holder.
    pub holders: BTreeMap<String, String>,
}

/// One row of the instances table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceRow {
    /// `region/name`.
    pub key: String,
    /// The manifest name.
    pub name: String,
    /// The region.
    pub region: String,
    /// The cloud's ID.
    pub id: Option<String>,
    /// The cloud's status (`Normal`, …).
    pub status: Option<String>,
    /// The instance class.
    pub class: Option<String>,
    /// The last result (`in_sync`, `drift`, `applied`, `failed`, `backing_off`, `held`).
    pub sync: InstanceResult,
    /// When kvsync last changed it.
    pub last_applied: Option<Timestamp>,
    /// When it was last reconciled.
    pub last_run: Option<Timestamp>,
    /// The last error.
    pub last_error: Option<String>,
    /// The cloud's error Code of the last error.
    pub error_code: Option<String>,
    /// The cloud's RequestId of the last error.
    pub request_id: Option<String>,
    /// How many fields differ.
    pub drift: usize,
}

/// The instances table, sorted and filtered as asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceList {
    /// The query it answers.
    pub query: ListQuery,
    /// The rows.
    pub instances: Vec<InstanceRow>,
}

/// How to sort and filter the instances table (`?sort=&order=&q=&state=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// `name` (default), `region`, `id`, `status`, `class`, `sync`, `last_applied`, `error`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// Rows whose name, region, ID, class or error contain this text (case-insensitive).
    pub q: Option<String>,
    /// Rows in this state: a result (`drift`, `failed`, …), or `blocked`.
    pub state: Option<String>,
}

/// One instance in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceDetail {
    /// Its row.
    #[serde(flatten)]
    pub row: InstanceRow,
    /// What the cloud reports.
    pub cloud: Option<CloudView>,
    /// Every managed aspect, desired against the cloud.
    pub aspects: Vec<Aspect>,
    /// What differs: field, observed, desired.
    pub drift: Vec<DriftValue>,
    /// The plan's steps, their impact and when each runs.
    pub pending: Vec<PendingStep>,
    /// Steps held for a change window.
    pub held: Vec<TimedStep>,
    /// Changes the cloud makes in its window.
    pub scheduled: Vec<TimedStep>,
    /// The next reconcile.
    pub next_run: Option<Timestamp>,
    /// The last reconciles, newest first.
    pub runs: Vec<InstanceRun>,
}

/// The last cycles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryView {
    /// How many cycles are kept.
    pub capacity: usize,
    /// The cycles, oldest first.
    pub cycles: Vec<CycleRecord>,
}

/// `text` safe inside HTML text and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether an instance has differences kvsync will not change.
fn blocked(instance: &InstanceStatus) -> bool {
    instance.drift_values.iter().any(|d| d.blocked.is_some())
}

/// The overview at `now`.
pub fn overview(status: &DaemonStatus, now: Timestamp) -> Overview {
    let mut counts = Counts {
        total: status.instances.len(),
        ..Counts::default()
    };
    for instance in status.instances.values() {
        match instance.last_result {
            InstanceResult::InSync | InstanceResult::Applied => counts.in_sync += 1,
            InstanceResult::Drift => counts.drifted += 1,
            InstanceResult::Failed | InstanceResult::BackingOff => counts.failed += 1,
            InstanceResult::Held => {}
        }
        if !instance.held.is_empty() || instance.last_result == InstanceResult::Held {
            counts.held += 1;
        }
        if !instance.scheduled.is_empty() {
            counts.scheduled += 1;
        }
        if blocked(instance) {
            counts.blocked += 1;
        }
    }
    let readiness = status.readiness(now);
    Overview {
        stack: status.stack.clone(),
        mode: status.mode,
        revision: status.revision.clone(),
        pending_revision: status.pending_revision.clone(),
        manifest_error: status.manifest_error.clone(),
        cycle_error: status.cycle_error.clone(),
        started_at: status.started_at,
        last_cycle_at: status.last_cycle_at,
        next_cycle_at: status.next_cycle_at,
        cycles: status.cycles,
        failed_cycles: status.failed_cycles,
        health: if readiness.is_ok() {
            "healthy"
        } else {
            "unhealthy"
        },
        health_reason: readiness.err(),
        counts,
        shards: status.coordination.as_ref().map(|c| Shards {
            replica: c.replica.clone(),
            held: c.shards_held.clone(),
            holders: c.holders.clone(),
        }),
    }
}

fn row(key: &str, instance: &InstanceStatus) -> InstanceRow {
    let (region, name) = key.split_once('/').unwrap_or(("", key));
    InstanceRow {
        key: key.to_owned(),
        name: name.to_owned(),
        region: region.to_owned(),
        id: instance.instance_id.clone(),
        status: instance.cloud.as_ref().map(|c| c.status.clone()),
        class: instance.cloud.as_ref().map(|c| c.class.clone()),
        sync: instance.last_result,
        last_applied: instance.last_applied,
        last_run: instance.last_run,
        last_error: instance.last_error.clone(),
        error_code: instance.last_error_code.clone(),
        request_id: instance.last_error_request_id.clone(),
        drift: instance.drift_values.len(),
    }
}

/// The result's wire name (`in_sync`, …).
pub fn result_name(result: InstanceResult) -> &'static str {
    match result {
        InstanceResult::InSync => "in_sync",
        InstanceResult::Drift => "drift",
        InstanceResult::Applied => "applied",
        InstanceResult::Failed => "failed",
        InstanceResult::BackingOff => "backing_off",
        InstanceResult::Held => "held",
    }
}

/// The instances table for `query`.
pub fn instances(status: &DaemonStatus, query: &ListQuery) -> InstanceList {
    let needle = query.q.as_deref().unwrap_or("").to_lowercase();
    let mut rows: Vec<(InstanceRow, bool)> = status
        .instances
        .iter()
        .map(|(key, instance)| (row(key, instance), blocked(instance)))
        .filter(|(row, is_blocked)| match query.state.as_deref() {
            None | Some("") => true,
            Some("blocked") => *is_blocked,
            Some(state) => result_name(row.sync) == state,
        })
        .filter(|(row, _)| {
            needle.is_empty()
                || [
                    Some(&row.name),
                    Some(&row.region),
                    row.id.as_ref(),
                    row.class.as_ref(),
                    row.last_error.as_ref(),
                    row.error_code.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|text| text.to_lowercase().contains(&needle))
        })
        .collect();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    rows.sort_by(|(a, _), (b, _)| {
        let by = match query.sort.as_deref().unwrap_or("name") {
            "region" => a.region.cmp(&b.region),
            "id" => text(&a.id).cmp(&text(&b.id)),
            "status" => text(&a.status).cmp(&text(&b.status)),
            "class" => text(&a.class).cmp(&text(&b.class)),
            "sync" => result_name(a.sync).cmp(result_name(b.sync)),
            "last_applied" => a.last_applied.cmp(&b.last_applied),
            "error" => text(&a.error_code).cmp(&text(&b.error_code)),
            _ => std::cmp::Ordering::Equal,
        };
        by.then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.region.cmp(&b.region))
    });
    let mut instances: Vec<InstanceRow> = rows.into_iter().map(|(row, _)| row).collect();
    if query.order.as_deref() == Some("desc") {
        instances.reverse();
    }
    InstanceList {
        query: query.clone(),
        instances,
    }
}

/// One instance in full, if the status has it.
pub fn instance(status: &DaemonStatus, region: &str, name: &str) -> Option<InstanceDetail> {
    let key = format!("{region}/{name}");
    let instance = status.instances.get(&key)?;
    Some(InstanceDetail {
        row: row(&key, instance),
        cloud: instance.cloud.clone(),
        aspects: instance.aspects.clone(),
        drift: instance.drift_values.clone(),
        pending: instance.pending.clone(),
        held: instance.held.clone(),
        scheduled: instance.scheduled.clone(),
        next_run: instance.next_run,
        runs: instance.runs.iter().rev().cloned().collect(),
    })
}

/// The cycles kept.
pub fn history(status: &DaemonStatus) -> HistoryView {
    HistoryView {
        capacity: status.history.capacity(),
        cycles: status.history.cycles().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).unwrap()
    }

    fn status() -> DaemonStatus {
        let mut status = DaemonStatus::new(Mode::Apply, at(0));
        let drifted = InstanceStatus {
            last_result: InstanceResult::Drift,
            drift: vec!["ModifyInstanceConfig (spec.config.maxmemory-policy)".into()],
            drift_values: vec![DriftValue {
                field: "spec.config.maxmemory-policy".into(),
                observed: Some("volatile-lru".into()),
                desired: Some("allkeys-lru".into()),
                blocked: None,
            }],
            instance_id: Some("r-b".into()),
            ..InstanceStatus::default()
        };
        let failed = InstanceStatus {
            last_result: InstanceResult::Failed,
            last_error: Some("CreateInstance: InvalidParameter".into()),
            last_error_code: Some("InvalidParameter".into()),
            last_error_request_id: Some("REQ-1".into()),
            ..InstanceStatus::default()
        };
        let blocked = InstanceStatus {
            last_result: InstanceResult::Drift,
            drift_values: vec![DriftValue {
                field: "spec.zoneId".into(),
                observed: Some("a".into()),
                desired: Some("b".into()),
                blocked: Some("cannot move".into()),
            }],
            ..InstanceStatus::default()
        };
        status
            .instances
            .insert("cn-hangzhou/b-cache".into(), drifted);
        status
            .instances
            .insert("cn-beijing/a-broken".into(), failed);
        status
            .instances
            .insert("cn-hangzhou/c-zone".into(), blocked);
        status.instances.insert(
            "cn-hangzhou/d-fine".into(),
            InstanceStatus {
                last_result: InstanceResult::InSync,
                ..InstanceStatus::default()
            },
        );
        status
    }

    #[test]
    fn the_overview_counts_instances_by_state() {
        let overview = overview(&status(), at(5));
        assert_eq!(
            overview.counts,
            Counts {
                total: 4,
                in_sync: 1,
                drifted: 2,
                failed: 1,
                held: 0,
                scheduled: 0,
                blocked: 1,
            }
        );
        assert_eq!(overview.health, "unhealthy");
        assert!(overview.health_reason.unwrap().contains("no reconcile"));
    }

    #[test]
    fn the_table_sorts_and_filters() {
        let status = status();
        let names = |query: ListQuery| -> Vec<String> {
            instances(&status, &query)
                .instances
                .into_iter()
                .map(|row| row.name)
                .collect()
        };
        assert_eq!(
            names(ListQuery::default()),
            ["a-broken", "b-cache", "c-zone", "d-fine"]
        );
        let by_region_desc = ListQuery {
            sort: Some("region".into()),
            order: Some("desc".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            names(by_region_desc),
            ["d-fine", "c-zone", "b-cache", "a-broken"]
        );
        let failing = ListQuery {
            state: Some("failed".into()),
            ..ListQuery::default()
        };
        assert_eq!(names(failing), ["a-broken"]);
        let blocked = ListQuery {
            state: Some("blocked".into()),
            ..ListQuery::default()
        };
        assert_eq!(names(blocked), ["c-zone"]);
        let search = ListQuery {
            q: Some("INVALIDPARAM".into()),
            ..ListQuery::default()
        };
        assert_eq!(names(search), ["a-broken"]);
    }

    #[test]
    fn the_detail_carries_the_drift_values_and_the_error() {
        let status = status();
        let detail = instance(&status, "cn-hangzhou", "b-cache").unwrap();
        assert_eq!(detail.drift[0].observed.as_deref(), Some("volatile-lru"));
        assert_eq!(detail.row.id.as_deref(), Some("r-b"));
        let broken = instance(&status, "cn-beijing", "a-broken").unwrap();
        assert_eq!(broken.row.error_code.as_deref(), Some("InvalidParameter"));
        assert_eq!(broken.row.request_id.as_deref(), Some("REQ-1"));
        assert!(instance(&status, "cn-beijing", "nope").is_none());
    }
}

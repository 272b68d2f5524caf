//! The daemon's `/metrics`: a pure rendering of [`DaemonStatus`] and the client's call counters
//! in the Prometheus text exposition format, version 0.0.4.
//!
//! Owns the metric names and their help texts; `prometheus-client` registers them afresh for
//! each render and writes the text (escaping, number spellings). Never reads a clock, locks or
//! does IO: the caller passes snapshots.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `kvsync_reconcile_total` | counter | `result` = `ok` \| `error` |
//! | `kvsync_reconcile_duration_seconds` | histogram | |
//! | `kvsync_ready` | gauge | |
//! | `kvsync_manifest_error` | gauge | |
//! | `kvsync_revision_info` | gauge (always 1; absent before the first revision) | `source`, `revision` |
//! | `kvsync_instance_drift` | gauge | `instance` = `region/name` |
//! | `kvsync_instance_ready` | gauge | `instance` |
//! | `kvsync_instance_consecutive_failures` | gauge | `instance` |
//! | `kvsync_api_calls_total` | counter | `action`, `outcome` = `ok` \| `throttled` \| `transient` \| `busy` \| `terminal` |
//! | `kvsync_api_throttled_total` | counter | |
//! | `kvsync_coordination_healthy` | gauge (etcd only, as are the rest) | `replica` |
//! | `kvsync_coordination_shards_held` | gauge | `replica` |
//! | `kvsync_coordination_lease_age_seconds` | gauge | `replica` |
//! | `kvsync_coordination_lease_renewals_total` | counter | `replica` |
//! | `kvsync_coordination_lease_renewal_failures_total` | counter | `replica` |
//! | `kvsync_coordination_takeovers_total` | counter | `replica` |
//! | `kvsync_coordination_last_takeover_seconds` | gauge (absent before one) | `replica` |
//! | `kvsync_coordination_handovers_total` | counter | `replica` |
//! | `kvsync_coordination_shard_holder` | gauge (always 1) | `shard` = `stack/region`, `holder` |
//! | `kvsync_build_info` | gauge (always 1) | `version`, `commit` |
//! | `kvsync_notifications_total` | counter | `receiver` (scheme and host), `outcome` = `delivered` \| `failed` \| `dropped` |
//! | `kvsync_notifications_suppressed_total` | counter | |
//! | `process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`, `process_start_time_seconds` | gauge / counter (Linux) | |

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use jiff::Timestamp;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use super::process::ProcessStats;
use super::status::{DaemonStatus, Histogram, InstanceStatus};

/// The `Content-Type` of [`render`]'s output: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The outcome label [`crate::api::stats::CallStats`] gives a throttled attempt.
const THROTTLED: &str = "throttled";

/// What `/metrics` shows beside the status and the call counters; the caller reads it.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The process figures, where `/proc` is readable.
    pub process: Option<ProcessStats>,
    /// The notifier's counts, per receiver.
    pub notifications: Vec<NotificationCounts>,
    /// Events not emitted because an identical one was within the de-duplication window.
    pub notifications_suppressed: u64,
}

/// One notification receiver's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationCounts {
    /// The receiver, as scheme and host only.
    pub receiver: String,
    /// Events it answered with 2xx.
    pub delivered: u64,
    /// Events given up after every attempt failed.
    pub failed: u64,
    /// Events dropped because its queue was full.
    pub dropped: u64,
}

/// Why the metrics could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The encoder refused to write the text.
    #[error("encoding the metrics failed")]
    Encode(#[from] std::fmt::Error),
}

/// A gauge holding a count or a 0/1 flag.
type Value = Gauge<u64, AtomicU64>;

/// Label pairs of one series, in the order they are written.
type Labels = Vec<(&'static str, String)>;

/// Renders every metric at `now` (readiness depends on it). `calls` is
/// [`crate::api::stats::CallStats::snapshot`]: attempts by `(action, outcome)`.
///
/// A registry is built from the snapshots for each render, so nothing is kept between calls.
pub fn render(
    status: &DaemonStatus,
    calls: &BTreeMap<(&str, &str), u64>,
    extras: &Extras,
    now: Timestamp,
) -> Result<String, MetricsError> {
    let mut registry = Registry::default();

    let ok = status.cycles.saturating_sub(status.failed_cycles);
    registry.register(
        "kvsync_reconcile",
        "Reconcile cycles finished, by result.",
        Series::new([
            (labels([("result", "ok")]), counter(ok)),
            (labels([("result", "error")]), counter(status.failed_cycles)),
        ]),
    );

    registry.register(
        "kvsync_reconcile_duration_seconds",
        "How long reconcile cycles took.",
        Buckets::from(&status.cycle_seconds),
    );

    registry.register(
        "kvsync_ready",
        "1 when /readyz answers 200: a reconcile has succeeded recently and no step is past its deadline.",
        flag(status.readiness(now).is_ok()),
    );

    registry.register(
        "kvsync_manifest_error",
        "1 when the newest manifests are not in force (they failed to load or fetch).",
        flag(status.manifest_error.is_some()),
    );

    registry.register(
        "kvsync_revision_info",
        "The revision of the manifests in force: a git commit or a digest of the manifest files.",
        Series::new(status.revision.iter().map(|revision| {
            (
                labels([("source", &revision.source), ("revision", &revision.id)]),
                gauge(1),
            )
        })),
    );

    register_credentials(&mut registry, status);

    let per_instance = |value: &dyn Fn(&InstanceStatus) -> u64| {
        Series::new(
            status
                .instances
                .iter()
                .map(|(key, instance)| (labels([("instance", key)]), gauge(value(instance)))),
        )
    };
    registry.register(
        "kvsync_instance_drift",
        "Differences between an instance and its manifest found in the last cycle.",
        per_instance(&|instance| u64::try_from(instance.drift.len()).unwrap_or(u64::MAX)),
    );
    registry.register(
        "kvsync_instance_ready",
        "1 when the instance matched its manifest after the last cycle.",
        per_instance(&|instance| u64::from(instance.ready())),
    );
    registry.register(
        "kvsync_instance_held_steps",
        "Steps of the instance held for its maintenance window or by the disruption policy never.",
        per_instance(&|instance| u64::try_from(instance.held.len()).unwrap_or(u64::MAX)),
    );
    registry.register(
        "kvsync_instance_scheduled_changes",
        "Changes of the instance the cloud makes in its maintenance window (ordered, not yet in effect).",
        per_instance(&|instance| u64::try_from(instance.scheduled.len()).unwrap_or(u64::MAX)),
    );
    registry.register(
        "kvsync_instance_consecutive_failures",
        "Failed reconciles of the instance in a row (0 after a success).",
        per_instance(&|instance| u64::from(instance.consecutive_failures)),
    );

    registry.register(
        "kvsync_api_calls",
        "R-KVStore API attempts, by action and outcome (retries count once each).",
        Series::new(calls.iter().map(|((action, outcome), count)| {
            (
                labels([("action", *action), ("outcome", *outcome)]),
                counter(*count),
            )
        })),
    );
    let throttled: u64 = calls
        .iter()
        .filter(|((_, outcome), _)| *outcome == THROTTLED)
        .map(|(_, count)| count)
        .sum();
    registry.register(
        "kvsync_api_throttled",
        "R-KVStore API attempts the cloud refused with throttling.",
        counter(throttled),
    );

    if let Some(coordination) = &status.coordination {
        register_coordination(&mut registry, coordination);
    }

    registry.register(
        "kvsync_build_info",
        "The kvsync build serving these metrics (always 1).",
        Series::new([(
            labels([
                ("version", env!("CARGO_PKG_VERSION")),
                ("commit", env!("KVSYNC_GIT_COMMIT")),
            ]),
            gauge(1),
        )]),
    );
    registry.register(
        "kvsync_notifications",
        "Notifications per receiver (scheme and host): delivered, given up after every attempt, or dropped on a full queue.",
        Series::new(extras.notifications.iter().flat_map(|receiver| {
            [
                ("delivered", receiver.delivered),
                ("failed", receiver.failed),
                ("dropped", receiver.dropped),
            ]
            .map(|(outcome, n)| {
                (
                    labels([("receiver", receiver.receiver.as_str()), ("outcome", outcome)]),
                    counter(n),
                )
            })
        })),
    );
    registry.register(
        "kvsync_notifications_suppressed",
        "Events not sent because an identical one was sent within --notify-dedup.",
        counter(extras.notifications_suppressed),
    );
    if let Some(process) = &extras.process {
        register_process(&mut registry, process);
    }
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

/// The etcd replica's families, labelled with its name.
fn register_coordination(
    registry: &mut Registry,
    report: &crate::coordination::replica::ReplicaReport,
) {
    let me = || labels([("replica", report.replica.as_str())]);
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    registry.register(
        "kvsync_coordination_healthy",
        "1 while this replica may write: its etcd lease renewed in time and etcd readable.",
        Series::new([(me(), flag(report.healthy))]),
    );
    registry.register(
        "kvsync_coordination_shards_held",
        "Shards (a stack in a region) this replica holds.",
        Series::new([(me(), gauge(count(report.shards_held.len())))]),
    );
    registry.register(
        "kvsync_coordination_lease_age_seconds",
        "Seconds since the replica's last confirmed lease renewal was sent (writes stop at TTL less a third).",
        Series::new([(me(), seconds(report.lease_age_secs))]),
    );
    registry.register(
        "kvsync_coordination_lease_renewals",
        "Lease renewals etcd confirmed.",
        Series::new([(me(), counter(report.lease_renewals))]),
    );
    registry.register(
        "kvsync_coordination_lease_renewal_failures",
        "Lease renewals that failed (no answer, a broken stream, no quorum).",
        Series::new([(me(), counter(report.lease_renewal_failures))]),
    );
    registry.register(
        "kvsync_coordination_takeovers",
        "Shards taken from a replica whose lease ended.",
        Series::new([(me(), counter(report.takeovers))]),
    );
    registry.register(
        "kvsync_coordination_last_takeover_seconds",
        "From first seeing a shard's previous holder gone to holding it, for the last takeover.",
        Series::new(report.last_takeover_secs.map(|secs| (me(), seconds(secs)))),
    );
    registry.register(
        "kvsync_coordination_handovers",
        "Shards handed over to another replica at the end of a cycle.",
        Series::new([(me(), counter(report.handovers))]),
    );
    registry.register(
        "kvsync_coordination_shard_holder",
        "Who holds each shard of the stack, as this replica last read etcd.",
        Series::new(report.holders.iter().map(|(shard, holder)| {
            (
                labels([("shard", shard.as_str()), ("holder", holder.as_str())]),
                gauge(1),
            )
        })),
    );
}

/// The process collector's usual families, from a reading of `/proc/self`.
/// When each stack's credentials expire, and whether refreshing them fails.
fn register_credentials(registry: &mut Registry, status: &DaemonStatus) {
    let stacks: Vec<&DaemonStatus> = if status.stacks.is_empty() {
        vec![status]
    } else {
        status.stacks.iter().collect()
    };
    let with_credentials: Vec<(&str, &super::status::CredentialStatus)> = stacks
        .iter()
        .filter_map(|stack| {
            let credentials = stack.credentials.as_ref()?;
            Some((stack.stack.as_deref().unwrap_or(""), credentials))
        })
        .collect();
    registry.register(
        "kvsync_credentials_expiry_timestamp_seconds",
        "When the temporary credentials a stack calls with expire (Unix time).",
        Series::new(with_credentials.iter().filter_map(|(stack, credentials)| {
            let expires = credentials.expires?;
            Some((
                labels([("stack", stack), ("provider", &credentials.provider)]),
                seconds(expires.as_millisecond() as f64 / 1000.0),
            ))
        })),
    );
    registry.register(
        "kvsync_credentials_refresh_failing",
        "1 while refreshing a stack's temporary credentials fails: they stop working when they expire.",
        Series::new(with_credentials.iter().map(|(stack, credentials)| {
            (
                labels([("stack", stack), ("provider", &credentials.provider)]),
                flag(credentials.refresh_error.is_some()),
            )
        })),
    );
}

fn register_process(registry: &mut Registry, process: &ProcessStats) {
    registry.register(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        gauge(process.resident_bytes),
    );
    let cpu = Counter::<f64, AtomicU64>::default();
    cpu.inc_by(process.cpu_seconds);
    registry.register(
        "process_cpu_seconds",
        "Total user and system CPU time spent in seconds.",
        cpu,
    );
    registry.register(
        "process_open_fds",
        "Number of open file descriptors.",
        gauge(process.open_fds),
    );
    if let Some(max) = process.max_fds {
        registry.register(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            gauge(max),
        );
    }
    if let Some(start) = process.start_time_seconds {
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            seconds(start),
        );
    }
}

fn seconds(value: f64) -> Gauge<f64, AtomicU64> {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(value);
    gauge
}

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect()
}

fn counter(value: u64) -> Counter {
    let counter = Counter::default();
    counter.inc_by(value);
    counter
}

fn gauge(value: u64) -> Value {
    let gauge = Value::default();
    gauge.set(value);
    gauge
}

fn flag(on: bool) -> Value {
    gauge(u64::from(on))
}

/// Series of one family in a fixed order (the library's `Family` writes them in hash order),
/// whose help and type are written even when it has none.
#[derive(Debug)]
struct Series<M> {
    series: Vec<(Labels, M)>,
}

impl<M> Series<M> {
    fn new(series: impl IntoIterator<Item = (Labels, M)>) -> Self {
        Self {
            series: series.into_iter().collect(),
        }
    }
}

impl<M: EncodeMetric + TypedMetric> EncodeMetric for Series<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, metric) in &self.series {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

/// A histogram already aggregated by [`Histogram`], as the encoder takes it: the count in
/// each bucket alone, not cumulated.
#[derive(Debug)]
struct Buckets {
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl From<&Histogram> for Buckets {
    fn from(histogram: &Histogram) -> Self {
        let mut below = 0;
        let buckets = histogram
            .bounds
            .iter()
            .zip(&histogram.counts)
            .map(|(bound, cumulative)| {
                let in_bucket = cumulative.saturating_sub(below);
                below = *cumulative;
                (*bound, in_bucket)
            })
            .collect();
        Self {
            buckets,
            count: histogram.count,
            sum: histogram.sum,
        }
    }
}

impl EncodeMetric for Buckets {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::daemon::status::{InstanceResult, Mode, Revision};

    fn instance(result: InstanceResult, drift: &[&str], failures: u32) -> InstanceStatus {
        InstanceStatus {
            last_result: result,
            drift: drift.iter().map(|line| (*line).to_owned()).collect(),
            last_error: None,
            last_run: None,
            next_run: None,
            consecutive_failures: failures,
            held: Vec::new(),
            scheduled: Vec::new(),
            ..InstanceStatus::default()
        }
    }

    fn status() -> DaemonStatus {
        let mut status = DaemonStatus::new(Mode::Apply, Timestamp::UNIX_EPOCH);
        status.ready = true;
        status.last_success_at = Some(Timestamp::UNIX_EPOCH);
        status.cycles = 5;
        status.failed_cycles = 2;
        for seconds in [0.05, 0.3, 0.3, 7.0, 400.0] {
            status.cycle_seconds.observe(seconds);
        }
        status.revision = Some(Revision {
            author: None,
            subject: None,
            source: "git".into(),
            id: "0123abc".into(),
        });
        status.instances.insert(
            "cn-hangzhou/orders".into(),
            instance(InstanceResult::InSync, &[], 0),
        );
        status.instances.insert(
            "cn-shanghai/cart".into(),
            instance(
                InstanceResult::Failed,
                &["spec.ssl: Disable → Enable", "whitelists.app"],
                3,
            ),
        );
        status
    }

    fn calls() -> BTreeMap<(&'static str, &'static str), u64> {
        BTreeMap::from([
            (("DescribeInstances", "ok"), 10),
            (("DescribeInstances", "throttled"), 2),
            (("ModifySecurityIps", "busy"), 1),
            (("ModifySecurityIps", "throttled"), 3),
        ])
    }

    /// The value of the one sample line that starts with `series` (name and labels).
    fn value(text: &str, series: &str) -> String {
        let matches: Vec<_> = text
            .lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .collect();
        assert_eq!(matches.len(), 1, "{series} in:\n{text}");
        matches[0].to_owned()
    }

    #[test]
    fn the_build_and_the_process_are_described() {
        let process = ProcessStats {
            resident_bytes: 12_345_678,
            cpu_seconds: 1.5,
            open_fds: 17,
            max_fds: Some(1024),
            start_time_seconds: Some(1_700_000_000.5),
        };
        let with_process = Extras {
            process: Some(process),
            notifications: vec![NotificationCounts {
                receiver: "https://hooks.example".into(),
                delivered: 3,
                failed: 1,
                dropped: 0,
            }],
            notifications_suppressed: 4,
        };
        let text = render(&status(), &calls(), &with_process, Timestamp::UNIX_EPOCH).unwrap();
        let build = format!(
            "kvsync_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION"),
            env!("KVSYNC_GIT_COMMIT")
        );
        assert!(text.contains(&build), "{text}");
        for line in [
            "process_resident_memory_bytes 12345678\n",
            "process_cpu_seconds_total 1.5\n",
            "process_open_fds 17\n",
            "process_max_fds 1024\n",
            "# TYPE process_cpu_seconds_total counter\n",
            "kvsync_notifications_total{receiver=\"https://hooks.example\",outcome=\"delivered\"} 3\n",
            "kvsync_notifications_total{receiver=\"https://hooks.example\",outcome=\"failed\"} 1\n",
            "kvsync_notifications_suppressed_total 4\n",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        let without = render(
            &status(),
            &calls(),
            &Extras::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(!without.contains("process_"));
        assert!(without.contains("kvsync_build_info{"));
    }

    #[test]
    fn renders_every_family_with_help_and_type() {
        let text = render(
            &status(),
            &calls(),
            &Extras::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        for (name, kind) in [
            ("kvsync_reconcile_total", "counter"),
            ("kvsync_reconcile_duration_seconds", "histogram"),
            ("kvsync_ready", "gauge"),
            ("kvsync_manifest_error", "gauge"),
            ("kvsync_revision_info", "gauge"),
            ("kvsync_instance_drift", "gauge"),
            ("kvsync_instance_ready", "gauge"),
            ("kvsync_instance_consecutive_failures", "gauge"),
            ("kvsync_api_calls_total", "counter"),
            ("kvsync_api_throttled_total", "counter"),
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {name} {kind}\n")).count(),
                1,
                "{name}"
            );
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        assert!(text.ends_with('\n'));

        assert_eq!(value(&text, r#"kvsync_reconcile_total{result="ok"}"#), "3");
        assert_eq!(
            value(&text, r#"kvsync_reconcile_total{result="error"}"#),
            "2"
        );
        assert_eq!(value(&text, "kvsync_ready"), "1");
        assert_eq!(value(&text, "kvsync_manifest_error"), "0");
        assert_eq!(
            value(
                &text,
                r#"kvsync_revision_info{source="git",revision="0123abc"}"#
            ),
            "1"
        );
        let orders = r#"{instance="cn-hangzhou/orders"}"#;
        let cart = r#"{instance="cn-shanghai/cart"}"#;
        assert_eq!(value(&text, &format!("kvsync_instance_drift{orders}")), "0");
        assert_eq!(value(&text, &format!("kvsync_instance_drift{cart}")), "2");
        assert_eq!(value(&text, &format!("kvsync_instance_ready{orders}")), "1");
        assert_eq!(value(&text, &format!("kvsync_instance_ready{cart}")), "0");
        assert_eq!(
            value(
                &text,
                &format!("kvsync_instance_consecutive_failures{cart}")
            ),
            "3"
        );
        assert_eq!(
            value(
                &text,
                r#"kvsync_api_calls_total{action="DescribeInstances",outcome="ok"}"#
            ),
            "10"
        );
        assert_eq!(
            value(
                &text,
                r#"kvsync_api_calls_total{action="ModifySecurityIps",outcome="busy"}"#
            ),
            "1"
        );
        assert_eq!(value(&text, "kvsync_api_throttled_total"), "5");
    }

    #[test]
    fn each_stacks_credentials_expiry_and_refresh_failures_are_shown() {
        let credentials = |refresh_error: Option<&str>| super::super::status::CredentialStatus {
            provider: "ram_role_arn/static_ak".into(),
            described: "role acs:ram::1:role/a assumed with AccessKey …stid".into(),
            key_hint: Some("…AbCd".into()),
            expires: Some(Timestamp::from_second(1_800_000_000).unwrap()),
            refresh_error: refresh_error.map(str::to_owned),
        };
        let mut a = status();
        a.stack = Some("a".into());
        a.credentials = Some(credentials(None));
        let mut b = status();
        b.stack = Some("b".into());
        b.credentials = Some(credentials(Some("STS is down")));
        let sum = crate::daemon::stacks::merge(vec![a, b]);
        let text = render(
            &sum,
            &BTreeMap::new(),
            &Extras::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(text.contains(
            "kvsync_credentials_expiry_timestamp_seconds{stack=\"a\",provider=\"ram_role_arn/static_ak\"} 1800000000"
        ), "{text}");
        assert!(text.contains(
            "kvsync_credentials_refresh_failing{stack=\"a\",provider=\"ram_role_arn/static_ak\"} 0"
        ), "{text}");
        assert!(text.contains(
            "kvsync_credentials_refresh_failing{stack=\"b\",provider=\"ram_role_arn/static_ak\"} 1"
        ), "{text}");
        assert!(!text.contains("AbCd"), "{text}");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf_equal_to_count() {
        let text = render(
            &status(),
            &BTreeMap::new(),
            &Extras::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        let buckets: Vec<(String, u64)> = text
            .lines()
            .filter_map(|line| line.strip_prefix("kvsync_reconcile_duration_seconds_bucket{le=\""))
            .map(|rest| {
                let (le, value) = rest.split_once("\"} ").unwrap();
                (le.to_owned(), value.parse().unwrap())
            })
            .collect();
        let les: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
        assert_eq!(
            les,
            [
                "0.1", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "+Inf"
            ]
        );
        let counts: Vec<u64> = buckets.iter().map(|(_, count)| *count).collect();
        // Observations 0.05, 0.3, 0.3, 7 and 400 seconds.
        assert_eq!(counts, [1, 3, 3, 3, 3, 4, 4, 4, 4, 5]);
        assert!(counts.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(value(&text, "kvsync_reconcile_duration_seconds_count"), "5");
        let sum: f64 = value(&text, "kvsync_reconcile_duration_seconds_sum")
            .parse()
            .unwrap();
        assert!((sum - 407.65).abs() < 1e-9, "{sum}");
        // The buckets come before _sum and _count, within the family.
        let inf = text.find(r#"le="+Inf""#).unwrap();
        assert!(inf < text.find("kvsync_reconcile_duration_seconds_sum").unwrap());
    }

    #[test]
    fn label_values_are_escaped() {
        let mut status = status();
        status.revision = Some(Revision {
            author: None,
            subject: None,
            source: "dir".into(),
            id: "a\\b\"c\nd".into(),
        });
        status.instances.insert(
            "cn-hangzhou/we\"ird\\name\n".into(),
            instance(InstanceResult::Drift, &["x"], 0),
        );
        let calls = BTreeMap::from([(("Odd\"Action", "ok"), 1)]);
        let text = render(&status, &calls, &Extras::default(), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(
            value(
                &text,
                r#"kvsync_revision_info{source="dir",revision="a\\b\"c\nd"}"#
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                r#"kvsync_instance_drift{instance="cn-hangzhou/we\"ird\\name\n"}"#
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                r#"kvsync_api_calls_total{action="Odd\"Action",outcome="ok"}"#
            ),
            "1"
        );
        // No raw line feed inside any sample: every line is a comment or `name[{…}] value`.
        for line in text.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("kvsync_"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_fresh_daemon_has_no_revision_and_zero_counters() {
        let mut status = DaemonStatus::new(Mode::Observe, Timestamp::UNIX_EPOCH);
        status.manifest_error = Some("instances.yaml:3:1: unknown field".into());
        let text = render(
            &status,
            &BTreeMap::new(),
            &Extras::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(!text.contains("kvsync_revision_info{"), "{text}");
        assert!(!text.contains("kvsync_instance_drift{"), "{text}");
        assert!(!text.contains("kvsync_api_calls_total{"), "{text}");
        assert_eq!(value(&text, "kvsync_ready"), "0");
        assert_eq!(value(&text, "kvsync_manifest_error"), "1");
        assert_eq!(value(&text, "kvsync_api_throttled_total"), "0");
        assert_eq!(value(&text, r#"kvsync_reconcile_total{result="ok"}"#), "0");
        assert_eq!(
            value(
                &text,
                r#"kvsync_reconcile_duration_seconds_bucket{le="+Inf"}"#
            ),
            "0"
        );
        let sum: f64 = value(&text, "kvsync_reconcile_duration_seconds_sum")
            .parse()
            .unwrap();
        assert_eq!(sum, 0.0);
        // A family without series still has its help and type, under its sample name.
        assert!(
            text.contains("# TYPE kvsync_api_calls_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE kvsync_revision_info gauge\n"),
            "{text}"
        );
    }
}

//! The daemon's `/metrics`: a pure rendering of [`DaemonStatus`] and the client's call counters
//! in the Prometheus text exposition format, version 0.0.4.
//!
//! Owns the metric names, their help texts and label escaping. Never reads a clock, locks or
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

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::Timestamp;

use super::status::DaemonStatus;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The outcome label [`crate::api::stats::CallStats`] gives a throttled attempt.
const THROTTLED: &str = "throttled";

/// Renders every metric at `now` (readiness depends on it). `calls` is
/// [`crate::api::stats::CallStats::snapshot`]: attempts by `(action, outcome)`.
pub fn render(
    status: &DaemonStatus,
    calls: &BTreeMap<(&str, &str), u64>,
    now: Timestamp,
) -> String {
    let mut out = Exposition::default();

    out.family(
        "kvsync_reconcile_total",
        "counter",
        "Reconcile cycles finished, by result.",
    );
    let ok = status.cycles.saturating_sub(status.failed_cycles);
    out.sample("kvsync_reconcile_total", &[("result", "ok")], ok);
    out.sample(
        "kvsync_reconcile_total",
        &[("result", "error")],
        status.failed_cycles,
    );

    let histogram = &status.cycle_seconds;
    out.family(
        "kvsync_reconcile_duration_seconds",
        "histogram",
        "How long reconcile cycles took.",
    );
    for (bound, count) in histogram.bounds.iter().zip(&histogram.counts) {
        out.sample(
            "kvsync_reconcile_duration_seconds_bucket",
            &[("le", &float(*bound))],
            count,
        );
    }
    out.sample(
        "kvsync_reconcile_duration_seconds_bucket",
        &[("le", "+Inf")],
        histogram.count,
    );
    out.sample(
        "kvsync_reconcile_duration_seconds_sum",
        &[],
        float(histogram.sum),
    );
    out.sample(
        "kvsync_reconcile_duration_seconds_count",
        &[],
        histogram.count,
    );

    out.family(
        "kvsync_ready",
        "gauge",
        "1 when /readyz answers 200: a reconcile has succeeded recently and no step is past its deadline.",
    );
    out.sample("kvsync_ready", &[], u8::from(status.readiness(now).is_ok()));

    out.family(
        "kvsync_manifest_error",
        "gauge",
        "1 when the newest manifests are not in force (they failed to load or fetch).",
    );
    out.sample(
        "kvsync_manifest_error",
        &[],
        u8::from(status.manifest_error.is_some()),
    );

    out.family(
        "kvsync_revision_info",
        "gauge",
        "The revision of the manifests in force: a git commit or a digest of the manifest files.",
    );
    if let Some(revision) = &status.revision {
        out.sample(
            "kvsync_revision_info",
            &[("source", &revision.source), ("revision", &revision.id)],
            1,
        );
    }

    out.family(
        "kvsync_instance_drift",
        "gauge",
        "Differences between an instance and its manifest found in the last cycle.",
    );
    for (key, instance) in &status.instances {
        out.sample(
            "kvsync_instance_drift",
            &[("instance", key)],
            instance.drift.len(),
        );
    }
    out.family(
        "kvsync_instance_ready",
        "gauge",
        "1 when the instance matched its manifest after the last cycle.",
    );
    for (key, instance) in &status.instances {
        out.sample(
            "kvsync_instance_ready",
            &[("instance", key)],
            u8::from(instance.ready()),
        );
    }
    out.family(
        "kvsync_instance_consecutive_failures",
        "gauge",
        "Failed reconciles of the instance in a row (0 after a success).",
    );
    for (key, instance) in &status.instances {
        out.sample(
            "kvsync_instance_consecutive_failures",
            &[("instance", key)],
            instance.consecutive_failures,
        );
    }

    out.family(
        "kvsync_api_calls_total",
        "counter",
        "R-KVStore API attempts, by action and outcome (retries count once each).",
    );
    for ((action, outcome), count) in calls {
        out.sample(
            "kvsync_api_calls_total",
            &[("action", action), ("outcome", outcome)],
            count,
        );
    }
    out.family(
        "kvsync_api_throttled_total",
        "counter",
        "R-KVStore API attempts the cloud refused with throttling.",
    );
    let throttled: u64 = calls
        .iter()
        .filter(|((_, outcome), _)| *outcome == THROTTLED)
        .map(|(_, count)| count)
        .sum();
    out.sample("kvsync_api_throttled_total", &[], throttled);

    out.text
}

/// Text being built; writing to a `String` cannot fail.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (index, (label, value)) in labels.iter().enumerate() {
                if index > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A float as the format spells it (`+Inf`, `-Inf`, `NaN`; otherwise Rust's shortest form).
fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        value.to_string()
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A help text: backslash and line feed escaped.
fn escape_help(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::daemon::status::{InstanceResult, InstanceStatus, Mode, Revision};

    fn instance(result: InstanceResult, drift: &[&str], failures: u32) -> InstanceStatus {
        InstanceStatus {
            last_result: result,
            drift: drift.iter().map(|line| (*line).to_owned()).collect(),
            last_error: None,
            last_run: None,
            next_run: None,
            consecutive_failures: failures,
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
    fn renders_every_family_with_help_and_type() {
        let text = render(&status(), &calls(), Timestamp::UNIX_EPOCH);
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
    fn histogram_buckets_are_cumulative_and_end_with_inf_equal_to_count() {
        let text = render(&status(), &BTreeMap::new(), Timestamp::UNIX_EPOCH);
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
            source: "dir".into(),
            id: "a\\b\"c\nd".into(),
        });
        status.instances.insert(
            "cn-hangzhou/we\"ird\\name\n".into(),
            instance(InstanceResult::Drift, &["x"], 0),
        );
        let calls = BTreeMap::from([(("Odd\"Action", "ok"), 1)]);
        let text = render(&status, &calls, Timestamp::UNIX_EPOCH);
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
        let text = render(&status, &BTreeMap::new(), Timestamp::UNIX_EPOCH);
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
        assert_eq!(value(&text, "kvsync_reconcile_duration_seconds_sum"), "0");
    }

    #[test]
    fn floats_use_the_formats_spellings() {
        assert_eq!(float(0.5), "0.5");
        assert_eq!(float(300.0), "300");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(f64::NAN), "NaN");
    }
}

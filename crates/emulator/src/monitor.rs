//! Monitoring items and history.
//!
//! The history is computed, not recorded: every point shows the instance's current dataset
//! (`Keys`, `UsedMemory`, `memoryUsage`) and its class's memory quota, so a flush or a restore
//! shows up in the next query. Points lie on multiples of the interval, from the interval the
//! instance was created in up to now; metrics whose value is 0 are left out, as in the cloud.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::catalog;
use super::errors::VendorError;
use super::state::{Context, Handled, Instance, State, to_body};
use super::times;
use kvsync_wire::actions::monitor::{
    DescribeHistoryMonitorValues, DescribeHistoryMonitorValuesResponse, DescribeMonitorItems,
    DescribeMonitorItemsResponse, KvStoreMonitorItem, MonitorItems, MonitorPoint,
};

/// The metrics there are, with their units.
pub(crate) const MONITOR_ITEMS: &[(&str, &str)] = &[
    ("CpuUsage", "%"),
    ("memoryUsage", "%"),
    ("UsedMemory", "Bytes"),
    ("quotaMemory", "Bytes"),
    ("Keys", "Counts"),
    ("expires", "Counts"),
    ("UsedConnection", "Counts"),
    ("ConnectionUsage", "%"),
    ("UsedQPS", "Counts/s"),
    ("IntranetIn", "KBps"),
    ("IntranetOut", "KBps"),
    ("hit", "Counts/s"),
    ("miss", "Counts/s"),
    ("evictedKeys", "Counts/s"),
    ("expiredKeys", "Counts/s"),
    ("get", "Counts/s"),
    ("set", "Counts/s"),
    ("del", "Counts/s"),
    ("select", "Counts/s"),
    ("hscan", "Counts/s"),
];

/// The metrics reported when `MonitorKeys` is absent.
pub(crate) const DEFAULT_MONITOR_KEYS: &[&str] = &["UsedMemory", "quotaMemory"];

/// The most points one answer holds (a day at one-minute intervals).
pub(crate) const MAX_POINTS: u64 = 1440;

/// `DescribeMonitorItems`.
pub(crate) fn describe_items(_request: DescribeMonitorItems) -> Result<Handled, VendorError> {
    let items = MONITOR_ITEMS
        .iter()
        .map(|(key, unit)| KvStoreMonitorItem {
            monitor_key: (*key).to_owned(),
            unit: (*unit).to_owned(),
        })
        .collect();
    Ok(Handled::read(to_body(&DescribeMonitorItemsResponse {
        request_id: String::new(),
        monitor_items: MonitorItems {
            kv_store_monitor_item: items,
        },
    })))
}

/// The step of an `IntervalForHistory`: `01m`, `05m`, `15m`, `30m` or `60m`.
pub(crate) fn interval(text: &str) -> Option<SignedDuration> {
    let minutes = match text {
        "01m" => 1,
        "05m" => 5,
        "15m" => 15,
        "30m" => 30,
        "60m" => 60,
        _ => return None,
    };
    Some(SignedDuration::from_mins(minutes))
}

/// The metrics of a `MonitorKeys` list in the order given, without repeats; `None` when one is
/// unknown or the list names none.
pub(crate) fn monitor_keys(text: Option<&str>) -> Option<Vec<&'static str>> {
    let Some(text) = text else {
        return Some(DEFAULT_MONITOR_KEYS.to_vec());
    };
    let mut keys = Vec::new();
    for item in text.split(',').map(str::trim) {
        let (key, _) = MONITOR_ITEMS.iter().find(|(key, _)| *key == item)?;
        if !keys.contains(key) {
            keys.push(*key);
        }
    }
    (!keys.is_empty()).then_some(keys)
}

/// `at` rounded down to a multiple of `step` (counted from the Unix epoch).
fn floor_to(at: Timestamp, step: SignedDuration) -> Timestamp {
    let step_seconds = step.as_secs().max(1);
    let seconds = at.as_second().div_euclid(step_seconds) * step_seconds;
    Timestamp::from_second(seconds).unwrap_or(at)
}

/// The multiples of `step` within `start..=end`; `None` when there are more than `max`.
pub(crate) fn grid(
    start: Timestamp,
    end: Timestamp,
    step: SignedDuration,
    max: u64,
) -> Option<Vec<Timestamp>> {
    let mut first = floor_to(start, step);
    if first < start {
        first += step;
    }
    if first > end {
        return Some(Vec::new());
    }
    let span = end.duration_since(first).as_secs();
    let count = u64::try_from(span / step.as_secs().max(1)).ok()? + 1;
    if count > max {
        return None;
    }
    Some(
        std::iter::successors(Some(first), |at| Some(*at + step))
            .take_while(|at| *at <= end)
            .collect(),
    )
}

/// The value of a metric for `instance` as text, or `None` when it is 0.
pub(crate) fn metric(key: &str, instance: &Instance) -> Option<String> {
    let used = instance.dataset.used_memory;
    let quota = catalog::class(&instance.instance_class).map_or(0, |class| {
        let capacity =
            super::architecture::scaled(class.capacity_mb, &instance.architecture, class);
        u64::try_from(capacity).unwrap_or(0) * 1024 * 1024
    });
    match key {
        "UsedMemory" => nonzero(used),
        "quotaMemory" => nonzero(quota),
        "Keys" => nonzero(instance.dataset.keys),
        "memoryUsage" => percent(used, quota),
        _ => None,
    }
}

/// A count as text, or `None` when it is 0.
fn nonzero(count: u64) -> Option<String> {
    (count > 0).then(|| count.to_string())
}

/// `part` as a percentage of `whole` with two decimals, or `None` when it is 0.
fn percent(part: u64, whole: u64) -> Option<String> {
    (part > 0 && whole > 0).then(|| format!("{:.2}", part as f64 * 100.0 / whole as f64))
}

/// One point: the requested metrics that are not 0.
fn point(keys: &[&str], instance: &Instance) -> MonitorPoint {
    keys.iter()
        .filter_map(|key| metric(key, instance).map(|value| ((*key).to_owned(), value)))
        .collect()
}

/// `DescribeHistoryMonitorValues`.
pub(crate) fn describe_history(
    state: &State,
    request: DescribeHistoryMonitorValues,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let (start, end) = times::query_range(&request.start_time, &request.end_time)?;
    let step = interval(&request.interval_for_history)
        .ok_or_else(|| VendorError::invalid_parameter("IntervalForHistory"))?;
    let keys = monitor_keys(request.monitor_keys.as_deref())
        .ok_or_else(|| VendorError::invalid_parameter("MonitorKeys"))?;
    let instants = grid(start, end, step, MAX_POINTS)
        .ok_or_else(|| VendorError::too_many_points(MAX_POINTS))?;
    let born = floor_to(instance.created, step);
    let history: BTreeMap<String, MonitorPoint> = instants
        .into_iter()
        .filter(|at| *at >= born && *at <= ctx.now)
        .map(|at| (times::to_seconds(at), point(&keys, instance)))
        .collect();
    Ok(Handled::read(to_body(
        &DescribeHistoryMonitorValuesResponse {
            request_id: String::new(),
            monitor_history: serde_json::to_string(&history).unwrap_or_else(|_| "{}".into()),
            monitor_legend: String::new(),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        times::parse_utc(text).unwrap()
    }

    #[test]
    fn metrics_follow_the_dataset_and_zero_ones_are_left_out() {
        let mut state = State::default();
        let ctx = Context {
            now: at("2024-01-01T00:00Z"),
            durations: crate::state::Durations::default(),
            fail_backup: false,
        };
        let wire: std::collections::BTreeMap<String, String> = [
            ("RegionId", "cn-hangzhou"),
            ("InstanceClass", "redis.master.small.default"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        state.handle("CreateInstance", &wire, &ctx).unwrap();
        let instance = state.instances.whole_mut().values_mut().next().unwrap();
        instance.dataset.keys = 7;
        instance.dataset.used_memory = 1024 * 1024;
        let quota = catalog::class("redis.master.small.default")
            .unwrap()
            .capacity_mb;
        assert_eq!(metric("Keys", instance).as_deref(), Some("7"));
        assert_eq!(metric("UsedMemory", instance).as_deref(), Some("1048576"));
        assert_eq!(
            metric("quotaMemory", instance),
            Some((quota * 1024 * 1024).to_string())
        );
        assert_eq!(
            metric("memoryUsage", instance),
            Some(format!("{:.2}", 100.0 / quota as f64))
        );
        assert_eq!(metric("CpuUsage", instance), None);
        instance.dataset = crate::state::Dataset::default();
        assert_eq!(metric("Keys", instance), None);
        assert_eq!(metric("memoryUsage", instance), None);
        assert!(metric("quotaMemory", instance).is_some());
    }

    #[test]
    fn intervals_are_the_documented_five() {
        assert_eq!(interval("01m"), Some(SignedDuration::from_mins(1)));
        assert_eq!(interval("60m"), Some(SignedDuration::from_mins(60)));
        for bad in ["1m", "10m", "01h", "", "05M"] {
            assert_eq!(interval(bad), None, "{bad}");
        }
    }

    #[test]
    fn monitor_keys_default_dedupe_and_refuse_unknown_metrics() {
        assert_eq!(monitor_keys(None), Some(vec!["UsedMemory", "quotaMemory"]));
        assert_eq!(
            monitor_keys(Some("Keys, UsedMemory,Keys")),
            Some(vec!["Keys", "UsedMemory"])
        );
        assert_eq!(monitor_keys(Some("Keys,Nope")), None);
        assert_eq!(monitor_keys(Some("usedmemory")), None);
    }

    #[test]
    fn grid_points_are_multiples_of_the_interval_within_the_range() {
        let points = grid(
            at("2024-01-01T00:00:30Z"),
            at("2024-01-01T00:03:00Z"),
            SignedDuration::from_mins(1),
            MAX_POINTS,
        )
        .unwrap();
        assert_eq!(
            points,
            vec![
                at("2024-01-01T00:01:00Z"),
                at("2024-01-01T00:02:00Z"),
                at("2024-01-01T00:03:00Z")
            ]
        );
        let hourly = grid(
            at("2024-01-01T00:00Z"),
            at("2024-01-02T00:00Z"),
            SignedDuration::from_mins(60),
            MAX_POINTS,
        )
        .unwrap();
        assert_eq!(hourly.len(), 25);
    }

    #[test]
    fn grid_refuses_more_than_the_maximum_points() {
        let day = (at("2024-01-01T00:00Z"), at("2024-01-01T23:59Z"));
        let minute = SignedDuration::from_mins(1);
        assert_eq!(grid(day.0, day.1, minute, MAX_POINTS).unwrap().len(), 1440);
        assert_eq!(
            grid(day.0, at("2024-01-02T00:00Z"), minute, MAX_POINTS),
            None
        );
    }
}

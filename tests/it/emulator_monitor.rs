//! The monitoring family against the in-process emulator: the metric list, the history as a
//! JSON string of points derived from the instance's data, and every error code.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::support::{Request, call, create_normal_instance, start_with_durations};

/// `now + offset` as `yyyy-MM-ddTHH:mm:ssZ`.
fn seconds_from_now(offset: SignedDuration) -> String {
    (Timestamp::now() + offset)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn recent(id: &str, interval: &str) -> Request {
    Request::new("DescribeHistoryMonitorValues")
        .param("InstanceId", id)
        .param(
            "StartTime",
            &seconds_from_now(SignedDuration::from_mins(-30)),
        )
        .param("EndTime", &seconds_from_now(SignedDuration::from_mins(5)))
        .param("IntervalForHistory", interval)
}

/// Sends a history request and parses `MonitorHistory`, which must be a JSON string.
async fn points(url: &str, request: Request) -> Map<String, Value> {
    let (status, body) = call(url, request).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["MonitorLegend"].is_string());
    let text = body["MonitorHistory"]
        .as_str()
        .expect("MonitorHistory is a JSON string");
    serde_json::from_str(text).expect("MonitorHistory parses as an object")
}

fn instant(text: &str) -> Timestamp {
    DateTime::strptime("%Y-%m-%dT%H:%M:%SZ", text)
        .unwrap_or_else(|err| panic!("{text}: {err}"))
        .to_zoned_datetime(TimeZone::UTC)
        .unwrap()
        .timestamp()
}

#[tokio::test]
async fn monitor_items_name_each_metric_with_its_unit() {
    let emu = start_with_durations(0.2).await;
    let (status, body) = call(&emu.url(), Request::new("DescribeMonitorItems")).await;
    assert_eq!(status, 200, "{body}");
    let items = body["MonitorItems"]["KVStoreMonitorItem"]
        .as_array()
        .unwrap();
    let unit_of = |key: &str| {
        items
            .iter()
            .find(|item| item["MonitorKey"] == key)
            .map(|item| item["Unit"].as_str().unwrap().to_owned())
    };
    assert_eq!(unit_of("Keys").as_deref(), Some("Counts"));
    assert_eq!(unit_of("UsedMemory").as_deref(), Some("Bytes"));
    assert_eq!(unit_of("quotaMemory").as_deref(), Some("Bytes"));
    assert_eq!(unit_of("memoryUsage").as_deref(), Some("%"));
    assert!(items.len() > 10);
    assert!(
        items
            .iter()
            .all(|item| item["MonitorKey"].is_string() && item["Unit"].is_string())
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn history_points_lie_on_the_interval_from_creation_to_now_and_follow_the_data() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let before = Timestamp::now();
    let id = create_normal_instance(&url, "cn-hangzhou", "watched").await;

    let history = points(
        &url,
        recent(&id, "01m").param(
            "MonitorKeys",
            "Keys,UsedMemory,quotaMemory,memoryUsage,CpuUsage",
        ),
    )
    .await;
    assert!(!history.is_empty());
    let now = Timestamp::now();
    let created_minute = before.as_second() / 60 * 60;
    for (at, point) in &history {
        let at = instant(at).as_second();
        assert_eq!(at % 60, 0, "on a minute boundary");
        assert!(at >= created_minute, "nothing before the instance existed");
        assert!(at <= now.as_second(), "nothing in the future");
        let number = |key: &str| -> f64 { point[key].as_str().unwrap().parse().unwrap() };
        assert!(number("Keys") > 0.0);
        assert!(number("UsedMemory") > 0.0);
        assert_eq!(number("quotaMemory"), 1024.0 * 1024.0 * 1024.0);
        let usage = number("UsedMemory") * 100.0 / number("quotaMemory");
        assert!((number("memoryUsage") - usage).abs() < 0.01);
        assert!(point.get("CpuUsage").is_none(), "zero metrics are left out");
    }

    let default_keys = points(&url, recent(&id, "05m")).await;
    for (at, point) in &default_keys {
        assert_eq!(instant(at).as_second() % 300, 0);
        let keys: Vec<&str> = point
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, vec!["UsedMemory", "quotaMemory"]);
    }

    let long_ago = points(
        &url,
        Request::new("DescribeHistoryMonitorValues")
            .param("InstanceId", &id)
            .param("StartTime", "2018-10-18T12:00:00Z")
            .param("EndTime", "2018-10-19T12:00:00Z")
            .param("IntervalForHistory", "60m"),
    )
    .await;
    assert!(long_ago.is_empty(), "the instance did not exist yet");
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn every_monitor_family_error_code() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "table").await;
    let range = |start: &str, end: &str| {
        Request::new("DescribeHistoryMonitorValues")
            .param("InstanceId", &id)
            .param("StartTime", start)
            .param("EndTime", end)
            .param("IntervalForHistory", "01m")
    };
    let cases: Vec<(&str, Request, u16, &str)> = vec![
        (
            "no interval",
            Request::new("DescribeHistoryMonitorValues")
                .param("InstanceId", &id)
                .param("StartTime", "2018-10-18T12:00:00Z")
                .param("EndTime", "2018-10-18T13:00:00Z"),
            400,
            "MissingParameter",
        ),
        (
            "no start",
            Request::new("DescribeHistoryMonitorValues")
                .param("InstanceId", &id)
                .param("EndTime", "2018-10-18T13:00:00Z")
                .param("IntervalForHistory", "01m"),
            400,
            "MissingParameter",
        ),
        (
            "unknown instance",
            range("2018-10-18T12:00:00Z", "2018-10-18T13:00:00Z")
                .param("InstanceId", "r-doesnotexist0000"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "start with a space",
            range("2018-10-18 12:00:00Z", "2018-10-18T13:00:00Z"),
            400,
            "InvalidStartTime.Malformed",
        ),
        (
            "end without Z",
            range("2018-10-18T12:00:00Z", "2018-10-18T13:00:00"),
            400,
            "InvalidEndTime.Malformed",
        ),
        (
            "end before start",
            range("2018-10-18T13:00:00Z", "2018-10-18T12:00:00Z"),
            400,
            "InvalidEndTime.Format",
        ),
        (
            "end equal to start",
            range("2018-10-18T12:00:00Z", "2018-10-18T12:00:00Z"),
            400,
            "InvalidEndTime.Format",
        ),
        (
            "interval 10m",
            range("2018-10-18T12:00:00Z", "2018-10-18T13:00:00Z")
                .param("IntervalForHistory", "10m"),
            400,
            "InvalidParameter",
        ),
        (
            "unknown metric",
            range("2018-10-18T12:00:00Z", "2018-10-18T13:00:00Z")
                .param("MonitorKeys", "Keys,Temperature"),
            400,
            "InvalidParameter",
        ),
        (
            "two days by the minute",
            range("2018-10-18T12:00:00Z", "2018-10-20T12:00:00Z"),
            400,
            "InvalidParameter",
        ),
    ];
    for (name, request, status, code) in cases {
        let (got_status, body) = call(&url, request).await;
        assert_eq!(
            (got_status, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {body}"
        );
    }
    let (status, _) = call(
        &url,
        range("2018-10-18T12:00:00Z", "2018-10-20T12:00:00Z").param("IntervalForHistory", "60m"),
    )
    .await;
    assert_eq!(status, 200, "two days by the hour fit in one answer");
    emu.stop().await.unwrap();
}

//! The emulator's movable clock and injected backup failures, through the real binary:
//! `--clock-offset`, `/_emulator/clock`, the `Date` header, `--fail-backups` and
//! `/_emulator/faults`.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::support::{EmulatorProcess, Request, call, create_normal_instance, workspace};

/// A blocking request on a thread of its own (the tests run inside a Tokio runtime); returns
/// the status, every `Date` header and the JSON body.
fn http(method: reqwest::Method, url: &str) -> (u16, Vec<String>, Value) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let response = crate::support::blocking_http()
            .build()
            .unwrap()
            .request(method, &url)
            .send()
            .unwrap_or_else(|err| panic!("{url}: {err}"));
        let status = response.status().as_u16();
        let dates = response
            .headers()
            .get_all(reqwest::header::DATE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        let body = response.json().unwrap_or(Value::Null);
        (status, dates, body)
    })
    .join()
    .unwrap()
}

/// An IMF-fixdate `Date` header as a time.
fn parse_date(text: &str) -> Timestamp {
    jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", text)
        .and_then(|parsed| parsed.to_datetime())
        .and_then(|datetime| datetime.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

#[tokio::test]
async fn the_clock_offset_moves_emulated_time_and_every_answer_dates_it() {
    let dir = workspace();
    let emu = EmulatorProcess::start(dir.path(), &["--clock-offset", "-3h"]);
    let clock = format!("{}/_emulator/clock", emu.url);

    let (status, dates, body) = http(reqwest::Method::GET, &clock);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offset_seconds"], -3 * 3600);
    let now: Timestamp = body["now"].as_str().unwrap().parse().unwrap();
    let behind = Timestamp::now().duration_since(now);
    assert!(
        (SignedDuration::from_secs(3 * 3600 - 5)..=SignedDuration::from_secs(3 * 3600 + 5))
            .contains(&behind),
        "{behind:#}"
    );
    assert_eq!(dates.len(), 1, "{dates:?}");
    assert!(parse_date(&dates[0]).duration_since(now).abs() <= SignedDuration::from_secs(1));

    let (status, dates, body) = http(reqwest::Method::POST, &format!("{clock}?advance=7200"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offset_seconds"], -3600);
    let advanced_date = parse_date(&dates[0]);
    let hour_behind = Timestamp::now().duration_since(advanced_date);
    assert!(
        (SignedDuration::from_secs(3600 - 5)..=SignedDuration::from_secs(3600 + 5))
            .contains(&hour_behind),
        "{hour_behind:#}"
    );
    let (status, _, refused) = http(reqwest::Method::POST, &format!("{clock}?advance=-5"));
    assert_eq!(status, 400);
    assert!(refused["error"].is_string(), "{refused}");

    // Signed API calls still pass: signatures are checked against real time.
    let (status, body) = call(&emu.url, Request::new("DescribeRegions")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn armed_backup_failures_are_accepted_and_listed_as_failed() {
    let dir = workspace();
    let emu = EmulatorProcess::start(
        dir.path(),
        &["--fail-backups", "1", "--backup-seconds", "0"],
    );
    let id = create_normal_instance(&emu.url, "cn-hangzhou", "backups").await;
    let backup = || Request::new("CreateBackup").param("InstanceId", &id);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let (status, body) = call(&emu.url, backup()).await;
        assert_eq!(status, 200, "{body}");
        jobs.push(body["BackupJobID"].as_str().unwrap().to_owned());
    }
    let (status, _, armed) = http(
        reqwest::Method::POST,
        &format!("{}/_emulator/faults?fail_backups=1", emu.url),
    );
    assert_eq!(status, 200);
    assert_eq!(armed, serde_json::json!({"fail_backups": 1}));
    let (_, body) = call(&emu.url, backup()).await;
    jobs.push(body["BackupJobID"].as_str().unwrap().to_owned());

    let day = |offset: i64| {
        (Timestamp::now() + SignedDuration::from_hours(offset))
            .strftime("%Y-%m-%dT%H:%MZ")
            .to_string()
    };
    let mut statuses = Vec::new();
    for job in &jobs {
        let (status, body) = call(
            &emu.url,
            Request::new("DescribeBackups")
                .param("InstanceId", &id)
                .param("StartTime", &day(-24))
                .param("EndTime", &day(24))
                .param("BackupJobId", job),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let set = &body["Backups"]["Backup"][0];
        assert_eq!(set["BackupJobID"].to_string(), *job);
        statuses.push(set["BackupStatus"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["Failed", "Success", "Success", "Failed"]);
}

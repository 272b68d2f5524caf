//! The emulator's protocol layer: wire tolerance, formats, every protocol-level error code,
//! concurrency, persistence and request logs.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use kvsync::api::sign;
use kvsync::emulator::faults::Faults;
use kvsync::emulator::{self, EmulatorConfig};

use crate::support::{EmulatorProcess, Request, call, send, start};

async fn raw(url: &str, method: &str, query: &str, body: Option<String>) -> (u16, String, String) {
    let client = kvsync::api::tls::http_client().build().unwrap();
    let full = format!("{url}/?{query}");
    let builder = match method {
        "GET" => client.get(full),
        _ => client.post(full),
    };
    let builder = match body {
        Some(body) => builder
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
        None => builder,
    };
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

fn encode(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn parameters_may_come_in_a_form_body_with_plus_for_space() {
    let emu = start().await;
    let request = Request::new("CreateInstance")
        .param("RegionId", "cn-hangzhou")
        .param("InstanceName", "formbody")
        .param("InstanceClass", "redis.master.small.default")
        .param("Tag.1.Key", "note")
        .param("Tag.1.Value", "two words")
        .param("SignatureType", "");
    let signature = sign::signature("POST", &request.params, "testsecret");
    // Protocol parameters in the query, business parameters in the body, `+` for spaces.
    let mut query = BTreeMap::new();
    let mut body = BTreeMap::new();
    for (key, value) in &request.params {
        if key.starts_with("Tag")
            || key == "InstanceName"
            || key == "InstanceClass"
            || key == "RegionId"
        {
            body.insert(key.clone(), value.clone());
        } else {
            query.insert(key.clone(), value.clone());
        }
    }
    query.insert("Signature".into(), signature);
    let (status, content_type, text) = raw(
        &emu.url(),
        "POST",
        &encode(&query),
        Some(encode(&body).replace("%20", "+")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (_, listed) = call(
        &emu.url(),
        Request::new("DescribeInstances")
            .param("InstanceIds", created["InstanceId"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        listed["Instances"]["KVStoreInstance"][0]["Tags"]["Tag"][0]["Value"],
        "two words"
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn xml_answers_have_the_json_structure() {
    let emu = start().await;
    let query = Request::new("DescribeRegions")
        .param("Format", "XML")
        .signed_query("POST", "testsecret");
    let (status, content_type, text) = raw(&emu.url(), "POST", &query, None).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeRegionsResponse>"),
        "{text}"
    );
    assert!(
        text.contains("<RegionIds><KVStoreRegion><LocalName>"),
        "{text}"
    );
    assert!(
        text.contains("<ZoneIdList><ZoneId>cn-hangzhou-b</ZoneId><ZoneId>cn-hangzhou-e</ZoneId>"),
        "{text}"
    );
    assert!(text.contains("<RequestId>"), "{text}");

    // Without Format the protocol's default, XML, applies; errors are XML too.
    let mut request = Request::new("DescribeInstanceAttribute").param("InstanceId", "r-none");
    request.params.remove("Format");
    let (status, _, text) = raw(
        &emu.url(),
        "POST",
        &request.signed_query("POST", "testsecret"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        text.contains("<Error>") && text.contains("<Code>InvalidInstanceId.NotFound</Code>"),
        "{text}"
    );
    assert!(
        text.contains("<HostId>r-kvstore.aliyuncs.com</HostId>"),
        "{text}"
    );

    // Lower-case format names are accepted.
    let query = Request::new("DescribeRegions")
        .param("Format", "json")
        .signed_query("POST", "testsecret");
    let (_, content_type, _) = raw(&emu.url(), "POST", &query, None).await;
    assert!(content_type.starts_with("application/json"));
    emu.stop().await.unwrap();
}

fn stamp(offset_minutes: i64) -> String {
    (Timestamp::now() + jiff::SignedDuration::from_mins(offset_minutes))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test]
async fn every_protocol_error_code() {
    let emu = start().await;
    let url = emu.url();
    let without = |name: &str| {
        let mut request = Request::new("DescribeRegions");
        request.params.remove(name);
        request
    };
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "no Action",
            without("Action").signed_query("POST", "testsecret"),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "no Version",
            without("Version").signed_query("POST", "testsecret"),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "wrong Version",
            Request::new("DescribeRegions")
                .param("Version", "2014-08-15")
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidVersion",
        ),
        (
            "no AccessKeyId",
            without("AccessKeyId").signed_query("POST", "testsecret"),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "no Signature",
            encode(&Request::new("DescribeRegions").params),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "no Timestamp",
            without("Timestamp").signed_query("POST", "testsecret"),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "no SignatureNonce",
            without("SignatureNonce").signed_query("POST", "testsecret"),
            "POST",
            400,
            "MissingParameter",
        ),
        (
            "unknown key",
            Request::new("DescribeRegions")
                .param("AccessKeyId", "nobody")
                .signed_query("POST", "x"),
            "POST",
            404,
            "InvalidAccessKeyId.NotFound",
        ),
        (
            "wrong secret",
            Request::new("DescribeRegions").signed_query("POST", "wrong"),
            "POST",
            400,
            "SignatureDoesNotMatch",
        ),
        (
            "signed for another method",
            Request::new("DescribeRegions").signed_query("GET", "testsecret"),
            "POST",
            400,
            "SignatureDoesNotMatch",
        ),
        (
            "signature method",
            Request::new("DescribeRegions")
                .param("SignatureMethod", "HMAC-SHA256")
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidSignatureMethod",
        ),
        (
            "signature version",
            Request::new("DescribeRegions")
                .param("SignatureVersion", "2.0")
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidParameter",
        ),
        (
            "timestamp format",
            Request::new("DescribeRegions")
                .param("Timestamp", "yesterday")
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidTimeStamp.Format",
        ),
        (
            "timestamp 16 minutes old",
            Request::new("DescribeRegions")
                .param("Timestamp", &stamp(-16))
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidTimeStamp.Expired",
        ),
        (
            "timestamp 16 minutes ahead",
            Request::new("DescribeRegions")
                .param("Timestamp", &stamp(16))
                .signed_query("POST", "testsecret"),
            "POST",
            400,
            "InvalidTimeStamp.Expired",
        ),
        (
            "unknown action",
            Request::new("LaunchRockets").signed_query("POST", "testsecret"),
            "POST",
            404,
            "InvalidAction.NotFound",
        ),
    ];
    for (name, query, method, status, code) in cases {
        let (got_status, body) = send(&url, method, &query).await;
        assert_eq!(
            (got_status, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {body}"
        );
        assert!(
            body["RequestId"].as_str().is_some_and(|id| !id.is_empty()),
            "{name}"
        );
    }

    // An unknown format is refused in the default format, XML.
    let query = Request::new("DescribeRegions")
        .param("Format", "YAML")
        .signed_query("POST", "testsecret");
    let (status, _, text) = raw(&url, "POST", &query, None).await;
    assert_eq!(status, 400);
    assert!(
        text.contains("<Code>InvalidParameter</Code>") && text.contains("Format"),
        "{text}"
    );

    // A timestamp 14 minutes off is still inside the window.
    let (status, body) = send(
        &url,
        "POST",
        &Request::new("DescribeRegions")
            .param("Timestamp", &stamp(-14))
            .signed_query("POST", "testsecret"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Reused nonce.
    let query = Request::new("DescribeRegions").signed_query("POST", "testsecret");
    send(&url, "POST", &query).await;
    let (status, body) = send(&url, "POST", &query).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "SignatureNonceUsed")
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn fault_codes_throttling_and_service_unavailable() {
    let throttled = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig {
            faults: Faults {
                qps: Some(2.0),
                ..Faults::default()
            },
            ..EmulatorConfig::default()
        },
    )
    .await
    .unwrap();
    let mut codes = Vec::new();
    for _ in 0..4 {
        let (status, body) = call(&throttled.url(), Request::new("DescribeRegions")).await;
        codes.push((status, body["Code"].as_str().unwrap_or("ok").to_owned()));
    }
    assert_eq!(
        &codes[..2],
        &[(200, "ok".to_string()), (200, "ok".to_string())]
    );
    assert_eq!(codes[2], (400, "Throttling.User".to_string()));
    throttled.stop().await.unwrap();

    let failing = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig {
            faults: Faults {
                fault_rate: 1.0,
                ..Faults::default()
            },
            ..EmulatorConfig::default()
        },
    )
    .await
    .unwrap();
    let (status, body) = call(
        &failing.url(),
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (503, "ServiceUnavailable")
    );
    // Without effect: nothing was created.
    failing.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_creates_lose_no_update_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        state_path: Some(dir.path().join("state.json")),
        ..EmulatorConfig::default()
    };
    let emu = emulator::start("127.0.0.1:0", config.clone())
        .await
        .unwrap();
    let url = emu.url();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let url = url.clone();
        tasks.spawn(async move {
            call(
                &url,
                Request::new("CreateInstance")
                    .param("RegionId", "cn-beijing")
                    .param("InstanceName", &format!("parallel-{n}"))
                    .param("InstanceClass", "redis.master.small.default"),
            )
            .await
        });
    }
    let results = tasks.join_all().await;
    assert!(results.iter().all(|(status, _)| *status == 200));
    emu.stop().await.unwrap();

    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(saved["instances"].as_object().unwrap().len(), 40);

    let emu = emulator::start("127.0.0.1:0", config).await.unwrap();
    let (_, page) = call(
        &emu.url(),
        Request::new("DescribeInstances")
            .param("RegionId", "cn-beijing")
            .param("PageSize", "50"),
    )
    .await;
    assert_eq!(page["TotalCount"], 40);
    emu.stop().await.unwrap();
}

#[test]
fn the_emulator_logs_one_structured_line_per_request() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::support::kvsync(dir.path())
        .args([
            "--log-format",
            "json",
            "-v",
            "emulator",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner.trim().rsplit(' ').next().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        call(&url, Request::new("DescribeRegions")).await;
        call(
            &url,
            Request::new("DescribeInstanceAttribute").param("InstanceId", "r-x"),
        )
        .await;
    });
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &serde_json::Value| line["fields"]["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["fields"]["action"], "DescribeRegions");
    assert_eq!(lines[0]["fields"]["outcome"], "ok");
    assert_eq!(lines[1]["fields"]["outcome"], "InvalidInstanceId.NotFound");
    assert!(
        lines[1]["fields"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
}

#[test]
fn the_emulator_process_counts_requests_per_action_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        call(&emulator.url, Request::new("DescribeRegions")).await;
        call(&emulator.url, Request::new("DescribeRegions")).await;
        call(
            &emulator.url,
            Request::new("DescribeInstanceAttribute").param("InstanceId", "r-x"),
        )
        .await;
    });
    assert_eq!(emulator.count("DescribeRegions", "ok"), 2);
    assert_eq!(
        emulator.count("DescribeInstanceAttribute", "InvalidInstanceId.NotFound"),
        1
    );
    assert_eq!(emulator.total_requests(), 3);
}

#[tokio::test]
async fn a_state_file_that_cannot_be_written_is_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        state_path: Some(dir.path().join("blocker/state.json")),
        ..EmulatorConfig::default()
    };
    let emu = emulator::start("127.0.0.1:0", config).await.unwrap();
    // Once started, the state's directory becomes a regular file: nothing can be written.
    std::fs::write(dir.path().join("blocker"), "x").unwrap();
    let (status, body) = call(
        &emu.url(),
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (500, "InternalError")
    );
    let (_, listed) = call(&emu.url(), Request::new("DescribeInstances")).await;
    assert_eq!(
        listed["TotalCount"], 1,
        "the change is visible in memory even though it was not saved"
    );
    let stopped = emu.stop().await;
    assert!(
        matches!(stopped, Err(emulator::EmulatorError::Store(_))),
        "stopping says the state could not be saved: {stopped:?}"
    );
}

#[test]
fn the_emulator_accepts_several_key_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(
        dir.path(),
        &["--key", "team-a:secret-a", "--key", "team-b:secret-b"],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for (id, secret) in [
            ("testid", "testsecret"),
            ("team-a", "secret-a"),
            ("team-b", "secret-b"),
        ] {
            let query = Request::new("DescribeRegions")
                .param("AccessKeyId", id)
                .signed_query("POST", secret);
            let (status, body) = send(&emulator.url, "POST", &query).await;
            assert_eq!(status, 200, "{id}: {body}");
        }
        let query = Request::new("DescribeRegions")
            .param("AccessKeyId", "team-a")
            .signed_query("POST", "secret-b");
        let (status, body) = send(&emulator.url, "POST", &query).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (400, "SignatureDoesNotMatch")
        );
    });
}

/// Only GET and POST belong to the RPC protocol. Any other method is answered 405 with a
/// vendor-style error body and `Allow: GET, POST`, even when signed for that method, and
/// changes nothing: no instance, and its nonce is still unused.
#[tokio::test]
async fn methods_other_than_get_and_post_are_refused_and_change_nothing() {
    let emu = start().await;
    let url = emu.url();
    let client = kvsync::api::tls::http_client().build().unwrap();
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] {
        let request = Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param(
                "InstanceName",
                &format!("by-{}", method.to_ascii_lowercase()),
            )
            .param("InstanceClass", "redis.master.small.default");
        let query = request.signed_query(method, "testsecret");
        let response = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{url}/?{query}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some("GET, POST"),
            "{method}"
        );
        let text = response.text().await.unwrap();
        if method != "HEAD" {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["Code"], "MethodNotAllowed", "{method}: {body}");
            assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(body["RequestId"].as_str().is_some_and(|id| id.len() == 36));
            assert_eq!(body["HostId"], "r-kvstore.aliyuncs.com");
        }
        // The same request, nonce included, is still accepted by POST: nothing was used up.
        let (status, body) = send(&url, "POST", &request.signed_query("POST", "testsecret")).await;
        assert_eq!(status, 200, "{method}: {body}");
    }
    let (status, listed) = call(
        &url,
        Request::new("DescribeInstances").param("RegionId", "cn-hangzhou"),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["TotalCount"], 5, "{listed}");
    emu.stop().await.unwrap();
}

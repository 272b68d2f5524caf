//! The client and the listing against the in-process emulator: retries, the rate limiter and
//! paging together; against hand-written servers: bounded answers and transport errors that
//! keep no URL.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use kvsync::api::actions::region::DescribeRegions;
use kvsync::api::credentials::Credentials;
use kvsync::api::retry::RetryPolicy;
use kvsync::api::transport::MAX_BODY_BYTES;
use kvsync::api::{Client, ClientConfig, Endpoint, Error};
use kvsync::emulator::{self, EmulatorConfig, faults::Faults};
use kvsync::observe::list_region;
use kvsync::secrets::Secret;

use crate::support::{Request, call};

fn client(url: String, qps: f64, retry: RetryPolicy) -> Client {
    Client::new(ClientConfig {
        endpoint: Endpoint::Fixed(url),
        credentials: Credentials {
            access_key_id: emulator::DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::new(emulator::DEFAULT_ACCESS_KEY_SECRET),
            security_token: None,
        }
        .into(),
        qps,
        retry,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

/// Calls that wait in the rate limiter's queue longer than the retry deadline are still
/// retried: the deadline runs from the first attempt's departure.
#[tokio::test]
async fn time_queued_at_the_rate_limiter_does_not_count_against_the_retry_deadline() {
    let calls = 6;
    let running = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig {
            faults: Faults {
                // Every call's first answer is lost (a transient failure).
                lose_responses: BTreeMap::from([("DescribeRegions".to_owned(), calls)]),
                ..Faults::default()
            },
            ..EmulatorConfig::default()
        },
    )
    .await
    .unwrap();
    // One call leaves every 100 ms: the last first attempt leaves after ~500 ms.
    let client = client(
        running.url(),
        10.0,
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            deadline: Duration::from_millis(250),
        },
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let client = client.clone();
        tasks.spawn(async move {
            client
                .call("cn-hangzhou", &DescribeRegions::default())
                .await
        });
    }
    let results = tasks.join_all().await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        client.stats().snapshot().get(&("DescribeRegions", "ok")),
        Some(&u64::from(calls))
    );
    running.stop().await.unwrap();
}

/// A region of 120 instances is three pages; all of them are seen, each once.
#[tokio::test]
async fn a_region_is_listed_in_full_across_pages() {
    let running = emulator::start("127.0.0.1:0", EmulatorConfig::default())
        .await
        .unwrap();
    let url = running.url();
    for n in 0..120 {
        let (status, body) = call(
            &url,
            Request::new("CreateInstance")
                .param("RegionId", "cn-hangzhou")
                .param("InstanceName", &format!("paged-{n}"))
                .param("InstanceClass", "redis.master.small.default"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let client = client(url, 1000.0, RetryPolicy::default());
    let listed = list_region(&client, "cn-hangzhou").await.unwrap();
    let names: BTreeSet<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(listed.len(), 120);
    assert_eq!(names.len(), 120);
    assert!(names.contains("paged-0") && names.contains("paged-119"));
    assert_eq!(
        client.stats().snapshot().get(&("DescribeInstances", "ok")),
        Some(&3)
    );
    running.stop().await.unwrap();
}

// The servers below are written by hand over TCP on purpose: these tests are about the wire
// itself (a chunked body that never ends, a declared length over the limit, a connection
// closed before any answer), which no HTTP server library would send.

/// Reads a request head from `stream` (up to the blank line).
fn read_head(stream: &mut std::net::TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
}

/// An endpoint that answers HTTP 200 with a chunked body that never ends is cut off at the
/// body limit, at once, with an error naming the action and the limit, and not retried.
#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_body_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // The server gives up by itself after this much, so a client without a limit ends too.
    const SERVER_CAP: u64 = 64 << 20;
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_head(&mut stream);
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        let data = "[".repeat(64 << 10);
        let chunk = format!("{:x}\r\n{data}\r\n", data.len());
        let mut sent = 0u64;
        while sent < SERVER_CAP {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return (sent, true);
            }
            sent += data.len() as u64;
        }
        (sent, false)
    });
    let client = client(
        url,
        1000.0,
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            deadline: Duration::from_secs(30),
        },
    );
    let started = Instant::now();
    let err = client
        .call("cn-hangzhou", &DescribeRegions::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                action: "DescribeRegions",
                limit: MAX_BODY_BYTES
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("DescribeRegions") && message.contains("8 MiB"),
        "{message}"
    );
    assert_eq!(
        client
            .stats()
            .snapshot()
            .get(&("DescribeRegions", "terminal")),
        Some(&1),
        "{:?}",
        client.stats().snapshot()
    );
    // Generous: reading 8 MiB on loopback takes milliseconds.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    drop(client);
    // Joined off the runtime's thread: the connection is closed by a task on it.
    let (sent, cut_off) = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert!(
        cut_off,
        "the client read all {sent} bytes the server offered"
    );
    assert!(sent < SERVER_CAP, "{sent}");
}

/// An answer that declares a length over the limit is refused before its body is read.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_unread() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_head(&mut stream);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
            MAX_BODY_BYTES + 1
        );
        stream.write_all(head.as_bytes()).unwrap();
        // Hold the connection open until the client gives up on it.
        let _ = stream.read(&mut [0u8; 1]);
    });
    let client = client(url, 1000.0, RetryPolicy::default());
    let err = client
        .call("cn-hangzhou", &DescribeRegions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");
    drop(client);
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
}

/// A transport error (the connection closes without an answer) names the action and the
/// endpoint, never the request URL with its signed parameters.
#[tokio::test]
async fn transport_errors_keep_no_url_with_parameters() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_head(&mut stream);
    });
    let client = client(
        url.clone(),
        1000.0,
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    );
    let err = client
        .call("cn-hangzhou", &DescribeRegions::default())
        .await
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(text.contains(&url), "{text}");
    for leak in ["?", "Signature", "AccessKeyId", "testsecret"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
}

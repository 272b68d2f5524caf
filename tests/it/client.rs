//! The client and the listing against the in-process emulator: retries, the rate limiter and
//! paging together.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kvsync::api::actions::region::DescribeRegions;
use kvsync::api::credentials::Credentials;
use kvsync::api::retry::RetryPolicy;
use kvsync::api::{Client, ClientConfig, Endpoint};
use kvsync::emulator::{self, EmulatorConfig, faults::Faults};
use kvsync::observe::list_region;
use kvsync::secret::Secret;

use crate::support::{Request, call};

fn client(url: String, qps: f64, retry: RetryPolicy) -> Client {
    Client::new(ClientConfig {
        endpoint: Endpoint::Fixed(url),
        credentials: Credentials {
            access_key_id: emulator::DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::new(emulator::DEFAULT_ACCESS_KEY_SECRET),
            security_token: None,
        },
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

//! The client against the in-process emulator: retries and the rate limiter together.

use std::collections::BTreeMap;
use std::time::Duration;

use kvsync::api::actions::region::DescribeRegions;
use kvsync::api::credentials::Credentials;
use kvsync::api::retry::RetryPolicy;
use kvsync::api::{Client, ClientConfig, Endpoint};
use kvsync::emulator::{self, EmulatorConfig, faults::Faults};
use kvsync::secret::Secret;

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
    let client = Client::new(ClientConfig {
        endpoint: Endpoint::Fixed(running.url()),
        credentials: Credentials {
            access_key_id: emulator::DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::new(emulator::DEFAULT_ACCESS_KEY_SECRET),
            security_token: None,
        },
        // One call leaves every 100 ms: the last first attempt leaves after ~500 ms.
        qps: 10.0,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            deadline: Duration::from_millis(250),
        },
        timeout: Duration::from_secs(5),
    })
    .unwrap();
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

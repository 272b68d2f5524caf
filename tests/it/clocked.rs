//! An in-process emulator whose clock the test moves by hand, so that timed transitions
//! (accounts becoming `Available`, `SSLModifying` ending) are observed without sleeping.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use kvsync::emulator::state::Durations;
use kvsync::emulator::{self, EmulatorConfig, RunningEmulator};
use serde_json::Value;

use crate::support::{Request, call};

/// A running emulator with a hand-driven clock. Instances are created at once; every other
/// transition lasts the `change` duration given to [`Clocked::start`].
pub(crate) struct Clocked {
    emu: RunningEmulator,
    now: Arc<Mutex<Timestamp>>,
    /// Its base URL.
    pub url: String,
}

impl Clocked {
    /// Starts an emulator whose changes last `change_secs` of emulated time, persisting its
    /// state to `state_path` when given. Keep the total time advanced under the 15 minutes
    /// the signature check tolerates.
    pub(crate) async fn start(change_secs: i64, state_path: Option<PathBuf>) -> Self {
        let now = Arc::new(Mutex::new(Timestamp::now()));
        let reader = Arc::clone(&now);
        let config = EmulatorConfig {
            durations: Durations {
                create: SignedDuration::ZERO,
                change: SignedDuration::from_secs(change_secs),
                token_memory: None,
                backup: SignedDuration::from_secs(change_secs),
            },
            clock: Arc::new(move || *reader.lock().unwrap()),
            state_path,
            ..EmulatorConfig::default()
        };
        let emu = emulator::start("127.0.0.1:0", config).await.unwrap();
        let url = emu.url();
        Clocked { emu, now, url }
    }

    /// Moves the emulated clock forward.
    pub(crate) fn advance(&self, secs: i64) {
        let mut now = self.now.lock().unwrap();
        *now += SignedDuration::from_secs(secs);
    }

    /// Sends a signed request; returns the status and JSON body.
    pub(crate) async fn call(&self, request: Request) -> (u16, Value) {
        call(&self.url, request).await
    }

    /// Sends a signed request that must succeed; returns its body.
    pub(crate) async fn ok(&self, request: Request) -> Value {
        let (status, body) = self.call(request).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Creates an instance (standard 1 GB, classic network, Redis 5.0 unless `extra` says
    /// otherwise); it is `Normal` from the next request on. Returns its ID.
    pub(crate) async fn instance(&self, extra: &[(&str, &str)]) -> String {
        let mut request = Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default");
        for (key, value) in extra {
            request = request.param(key, value);
        }
        let body = self.ok(request).await;
        body["InstanceId"].as_str().unwrap().to_owned()
    }

    /// A VPC instance.
    pub(crate) async fn vpc_instance(&self) -> String {
        self.instance(&[
            ("NetworkType", "VPC"),
            ("VpcId", "vpc-test"),
            ("VSwitchId", "vsw-test"),
        ])
        .await
    }

    /// The instance's `DescribeInstanceAttribute` entry.
    pub(crate) async fn attribute(&self, id: &str) -> Value {
        let body = self
            .ok(Request::new("DescribeInstanceAttribute").param("InstanceId", id))
            .await;
        body["Instances"]["DBInstanceAttribute"][0].clone()
    }

    /// Stops the emulator.
    pub(crate) async fn stop(self) {
        self.emu.stop().await.unwrap();
    }
}

/// A request with `params` added.
pub(crate) fn request(action: &str, params: &[(&str, &str)]) -> Request {
    params
        .iter()
        .fold(Request::new(action), |request, (key, value)| {
            request.param(key, value)
        })
}

/// One row of an error table: action, parameters, expected HTTP status and `Code`.
pub(crate) type ErrorRow<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

/// Sends every row and asserts its HTTP status and `Code`; reports every mismatch at once.
pub(crate) async fn assert_errors(emu: &Clocked, rows: Vec<ErrorRow<'_>>) {
    let mut mismatches = Vec::new();
    for (action, params, status, code) in rows {
        let (got_status, body) = emu.call(request(action, &params)).await;
        let got_code = body["Code"].as_str().unwrap_or("(none)");
        if (got_status, got_code) != (status, code) {
            let shown: String = format!("{params:?}").chars().take(160).collect();
            mismatches.push(format!(
                "{action} {shown}: expected {status} {code}, got {got_status} {got_code}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

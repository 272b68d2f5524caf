//! `kvsync daemon --notify`: the real daemon against the real emulator, posting to a small
//! receiver in the test that records every body and can be told to answer 500 or to hang.
//! Checked: the events of drift found, corrected and a failed apply, a blocked difference, a
//! step held for the window, broken and fixed manifests; retries of a failing receiver; a
//! hanging receiver that holds up neither reconciles nor a stop; de-duplication; `/events`;
//! Slack bodies; a refused URL; and that no secret reaches an event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::daemon::{Daemon, INSTANCE, wait_until, workspace};
use crate::support::{EmulatorProcess, http_get_json, run, texts, window_in, write_manifest};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// 200 to everything.
    Ok,
    /// 500 to the next N requests, then 200.
    Fail(u32),
    /// Waits this long before answering 200.
    Hang(Duration),
}

#[derive(Default)]
struct Recorded {
    /// Every request body, in arrival order, with the status it was answered.
    requests: Vec<(String, u16)>,
}

/// A local HTTP receiver on `127.0.0.1:0`.
struct Receiver {
    url: String,
    answer: Arc<Mutex<Answer>>,
    recorded: Arc<Mutex<Recorded>>,
}

impl Receiver {
    fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(answer));
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let (a, r) = (answer.clone(), recorded.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (a, r) = (a.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &a, &r));
            }
        });
        Receiver {
            url,
            answer,
            recorded,
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Every body received, answered or not.
    fn bodies(&self) -> Vec<String> {
        let recorded = self.recorded.lock().unwrap();
        recorded.requests.iter().map(|(b, _)| b.clone()).collect()
    }

    /// The events answered 200, as JSON.
    fn delivered(&self) -> Vec<Value> {
        let recorded = self.recorded.lock().unwrap();
        recorded
            .requests
            .iter()
            .filter(|(_, status)| *status == 200)
            .map(|(body, _)| serde_json::from_str(body).unwrap())
            .collect()
    }

    fn delivered_of(&self, kind: &str) -> Vec<Value> {
        self.delivered()
            .into_iter()
            .filter(|e| e["kind"] == kind)
            .collect()
    }
}

/// Serves the requests of one connection (kept alive) until it closes.
fn serve(stream: TcpStream, answer: &Mutex<Answer>, recorded: &Mutex<Recorded>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8(body).unwrap();
        let status = {
            let mut answer = answer.lock().unwrap();
            match *answer {
                Answer::Ok => 200,
                Answer::Fail(0) => {
                    *answer = Answer::Ok;
                    200
                }
                Answer::Fail(n) => {
                    *answer = Answer::Fail(n - 1);
                    500
                }
                Answer::Hang(for_how_long) => {
                    recorded.lock().unwrap().requests.push((body.clone(), 0));
                    drop(answer);
                    std::thread::sleep(for_how_long);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                }
            }
        };
        recorded.lock().unwrap().requests.push((body, status));
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        if stream
            .write_all(
                format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n").as_bytes(),
            )
            .is_err()
        {
            return;
        }
    }
}

fn daemon(dir: &Path, emulator: &EmulatorProcess, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let mut command = emulator.kvsync(dir);
    command
        .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    Daemon::spawn(command)
}

fn events(daemon: &Daemon) -> Vec<Value> {
    http_get_json(&format!("{}/events", daemon.url))
        .as_array()
        .expect("/events is an array")
        .clone()
}

/// A second instance whose class the emulator does not know: its CreateInstance fails.
const BAD_INSTANCE: &str = "---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: refused-cache}
spec:
  instanceClass: redis.master.nosuch.default
  zoneId: cn-hangzhou-h
";

#[test]
fn drift_found_corrected_and_a_failed_apply_are_posted() {
    let dir = workspace(&format!("{INSTANCE}{BAD_INSTANCE}"));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Ok);
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    wait_until("the events", Duration::from_secs(30), || {
        !receiver.delivered_of("drift_corrected").is_empty()
            && !receiver.delivered_of("apply_failed").is_empty()
    });
    let found = receiver.delivered_of("drift_found");
    let watched: Vec<&Value> = found
        .iter()
        .filter(|e| e["instance"] == "cn-hangzhou/watched-cache")
        .collect();
    assert_eq!(watched.len(), 1, "{found:#?}");
    assert_eq!(watched[0]["stack"], "watched");
    assert!(
        watched[0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().starts_with("CreateInstance")),
        "{:#}",
        watched[0]
    );
    assert!(watched[0]["time"].is_string());
    let corrected = &receiver.delivered_of("drift_corrected")[0];
    assert_eq!(corrected["instance"], "cn-hangzhou/watched-cache");
    assert_eq!(corrected["fields"], watched[0]["fields"]);

    let failed = &receiver.delivered_of("apply_failed")[0];
    assert_eq!(failed["instance"], "cn-hangzhou/refused-cache");
    assert_eq!(
        failed["code"], "InvalidDBInstanceClass.NotFound",
        "{failed:#}"
    );
    let request_id = failed["request_id"].as_str().unwrap();
    assert!(!request_id.is_empty());
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("CreateInstance"),
        "{failed:#}"
    );
    // The same events are listed at /events.
    let listed = events(&daemon);
    assert!(listed.iter().any(|e| e == failed), "{listed:#?}");
}

#[test]
fn a_receiver_answering_500_is_retried_until_it_answers_200() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Fail(2));
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "1h",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    wait_until("the event delivered", Duration::from_secs(30), || {
        !receiver.delivered_of("drift_found").is_empty()
    });
    // The delivery is counted per receiver, named by scheme and host only.
    let shown = receiver
        .url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    let delivered =
        format!("kvsync_notifications_total{{receiver=\"{shown}\",outcome=\"delivered\"}} 1\n");
    wait_until("the delivery counted", Duration::from_secs(10), || {
        crate::support::http_get(&format!("{}/metrics", daemon.url))
            .1
            .contains(&delivered)
    });
    let recorded = receiver.recorded.lock().unwrap();
    let statuses: Vec<u16> = recorded.requests.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [500, 500, 200], "{:#?}", recorded.requests);
    // Each attempt carried the same event.
    assert!(
        recorded
            .requests
            .windows(2)
            .all(|pair| pair[0].0 == pair[1].0)
    );
}

#[test]
fn a_hanging_receiver_does_not_delay_reconciles() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Hang(Duration::from_secs(30)));
    let mut daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "300ms",
            "--refresh-slices",
            "1",
            "--notify-dedup",
            "0s",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    wait_until("the receiver hanging", Duration::from_secs(30), || {
        !receiver.bodies().is_empty()
    });
    let cycles = daemon.status()["cycles"].as_u64().unwrap();
    let status = daemon.wait_for("reconciles go on", Duration::from_secs(20), |s| {
        s["cycles"].as_u64().unwrap() >= cycles + 5
    });
    // Still hanging on its first event: nothing was answered yet, and the reconciles did
    // not wait for it.
    assert_eq!(receiver.delivered().len(), 0);
    assert!(status["ready"] == true, "{status:#}");
    // Every cycle's event is in /events, whatever the receiver does.
    assert!(events(&daemon).len() >= 5);

    // Nor does it hold up a stop: SIGTERM ends the daemon while the receiver still hangs.
    let stopping = Instant::now();
    let pid = daemon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = daemon.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "took {:?}",
        stopping.elapsed()
    );
    assert_eq!(receiver.delivered().len(), 0);
    receiver.set(Answer::Ok);
}

#[test]
fn the_same_drift_on_consecutive_cycles_is_sent_once_within_the_window() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Ok);
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "300ms",
            "--refresh-slices",
            "1",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    daemon.wait_for("several reconciles", Duration::from_secs(30), |s| {
        s["cycles"].as_u64().unwrap() >= 6
    });
    // Every cycle found the same drift (observe mode never corrects it).
    let status = daemon.status();
    assert_eq!(
        Daemon::instance(&status, "watched-cache")["last_result"],
        "drift"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        receiver.delivered_of("drift_found").len(),
        1,
        "{:#?}",
        receiver.delivered()
    );
    assert_eq!(
        events(&daemon)
            .iter()
            .filter(|e| e["kind"] == "drift_found")
            .count(),
        1
    );
}

#[test]
fn events_lists_the_last_events_and_slack_gets_its_body() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Ok);
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "300ms",
            "--notify-format",
            "slack",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(30), |s| {
        s["ready"] == true
    });
    // A typo: the manifests break, then are fixed.
    let path = dir.path().join("manifests/stack.yaml");
    std::fs::write(&path, INSTANCE.replace("instanceClass", "instanceClas")).unwrap();
    wait_until("manifests broken", Duration::from_secs(15), || {
        events(&daemon)
            .iter()
            .any(|e| e["kind"] == "manifests_broken")
    });
    std::fs::write(&path, INSTANCE).unwrap();
    wait_until("manifests fixed", Duration::from_secs(15), || {
        events(&daemon)
            .iter()
            .any(|e| e["kind"] == "manifests_fixed")
    });
    let listed = events(&daemon);
    let kinds: Vec<&str> = listed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    // Oldest first.
    let position = |kind| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(
        position("drift_found") < position("manifests_broken"),
        "{kinds:?}"
    );
    assert!(
        position("manifests_broken") < position("manifests_fixed"),
        "{kinds:?}"
    );
    let broken = &listed[position("manifests_broken")];
    assert!(
        broken["fields"][0]
            .as_str()
            .unwrap()
            .contains("unknown-field"),
        "{broken:#}"
    );
    assert_eq!(broken["stack"], "watched");

    // The receiver got Slack's body.
    wait_until("the Slack bodies", Duration::from_secs(15), || {
        receiver.bodies().len() >= 3
    });
    let bodies: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let texts: Vec<&str> = bodies.iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("*kvsync: drift found* `cn-hangzhou/watched-cache`")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("*kvsync: manifests broken*"))
    );
    assert!(bodies.iter().all(|b| b["blocks"][0]["type"] == "section"));
}

#[test]
fn a_blocked_difference_is_told_beside_what_was_corrected() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let receiver = Receiver::start(Answer::Ok);
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        Daemon::instance(s, "watched-cache")["last_result"] == "applied"
    });
    // A change kvsync makes (the whitelist) beside one it will not (the zone).
    std::fs::write(
        dir.path().join("manifests/stack.yaml"),
        INSTANCE
            .replace("zoneId: cn-hangzhou-h", "zoneId: cn-hangzhou-b")
            .replace("10.0.1.0/24", "10.0.9.0/24"),
    )
    .unwrap();
    wait_until("the blocked step", Duration::from_secs(20), || {
        !receiver.delivered_of("step_blocked").is_empty()
    });
    let blocked = &receiver.delivered_of("step_blocked")[0];
    assert!(
        blocked["fields"].to_string().contains("! spec.zoneId"),
        "{blocked:#}"
    );
    let corrected = receiver.delivered_of("drift_corrected");
    let whitelist = corrected.last().unwrap();
    assert!(
        whitelist["fields"]
            .to_string()
            .contains("ModifySecurityIps"),
        "{corrected:#?}"
    );
}

/// A TLS change outside the maintenance window: the daemon holds it and says so.
fn windowed(window: &(String, String), ssl: bool) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: windows}}
spec: {{region: cn-hangzhou}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: windowed-cache}}
spec:
  zoneId: cn-hangzhou-h
  engineVersion: \"6.0\"
  maintenanceWindow: {{start: \"{}\", end: \"{}\"}}
  instanceClass: redis.master.small.default
{}",
        window.0,
        window.1,
        if ssl { "  ssl: Enable\n" } else { "" }
    )
}

#[test]
fn a_step_held_for_the_window_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let window = window_in(9);
    write_manifest(dir.path(), &windowed(&window, false));
    let created = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(created.status.code(), Some(0), "{:?}", texts(&created));
    write_manifest(dir.path(), &windowed(&window, true));
    let receiver = Receiver::start(Answer::Ok);
    let _daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1s",
            "--notify",
            &receiver.url,
        ],
        &[],
    );
    wait_until("the held step", Duration::from_secs(30), || {
        !receiver.delivered_of("step_held").is_empty()
    });
    let held = &receiver.delivered_of("step_held")[0];
    assert_eq!(held["instance"], "cn-hangzhou/windowed-cache");
    assert!(
        held["fields"][0]
            .as_str()
            .unwrap()
            .starts_with("ModifyInstanceSSL"),
        "{held:#}"
    );
    // Held on every cycle, told once within the window.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.delivered_of("step_held").len(), 1);
}

/// The instance password, an account password and the key secret: canaries.
const PASSWORD: &str = "Nq8-Notify-Canary-Passw0rd-1";
const ACCOUNT_PASSWORD: &str = "Nq8!Notify@Canary#Passw0rd2";

const WITH_PASSWORDS: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: secret-notes}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: noted-cache}
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
  password: {env: NOTIFY_INSTANCE_PASSWORD}
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: NOTIFY_ACCOUNT_PASSWORD}
";

/// The forms a password could leak in.
fn forms(secret: &str) -> Vec<String> {
    let percent = kvsync::api::sign::percent_encode(secret);
    let double = kvsync::api::sign::percent_encode(&percent);
    vec![secret.to_owned(), percent, double]
}

#[test]
fn no_secret_reaches_an_event() {
    let dir = workspace(WITH_PASSWORDS);
    // The cloud refuses the calls that carry a password, quoting its string-to-sign (which
    // holds the password): the failure is an event, the password is not in it.
    let emulator = EmulatorProcess::start(dir.path(), &["--signature-fault", "Password"]);
    let receiver = Receiver::start(Answer::Ok);
    let daemon = daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--notify",
            &receiver.url,
        ],
        &[
            ("NOTIFY_INSTANCE_PASSWORD", PASSWORD),
            ("NOTIFY_ACCOUNT_PASSWORD", ACCOUNT_PASSWORD),
        ],
    );
    wait_until("the failure", Duration::from_secs(30), || {
        !receiver.delivered_of("apply_failed").is_empty()
    });
    let failed = &receiver.delivered_of("apply_failed")[0];
    assert_eq!(failed["code"], "SignatureDoesNotMatch", "{failed:#}");
    let listed = serde_json::to_string(&events(&daemon)).unwrap();
    let bodies = receiver.bodies().join("\n");
    for secret in [PASSWORD, ACCOUNT_PASSWORD] {
        for form in forms(secret) {
            assert!(!bodies.contains(&form), "a body holds {form}: {bodies}");
            assert!(!listed.contains(&form), "/events holds {form}: {listed}");
        }
    }
}

#[test]
fn a_notify_url_that_is_not_http_is_a_usage_error_that_does_not_repeat_it() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run(emulator.kvsync(dir.path()).args([
        "daemon",
        "--listen",
        "127.0.0.1:0",
        "--notify",
        "ftp://user:hunter2@example.com/T0/secret-path",
    ]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(64), "{stdout}\n{stderr}");
    assert!(stderr.contains("http or https"), "{stderr}");
    for secret in ["hunter2", "secret-path"] {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{stderr}"
        );
    }
}

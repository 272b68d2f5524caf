//! The daemon under hostile conditions: manifests and secrets that block when read (FIFOs),
//! files that are emptied or broken while prune is on, and clients that open connections to its
//! HTTP port and never finish a request. Checked through the emulator and the daemon's own
//! HTTP view, against the real binary.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::{Daemon, INSTANCE, emulator_instance, wait_until, workspace};
use crate::support::{EmulatorProcess, http_get};

/// Creates a FIFO at `path` (opening it for reading blocks until a writer comes).
fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `name` is a valid NUL-terminated path.
    let result = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(result, 0, "mkfifo {}", path.display());
}

/// A GET of `path` on the daemon at `base`: the status code and the body.
fn get(base: &str, path: &str) -> (u16, String) {
    http_get(&format!("{base}{path}"))
}

/// Sends SIGTERM and returns how long the process took to end, and its exit code.
fn terminate(child: &mut Child, within: Duration) -> (Duration, Option<i32>) {
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (sent.elapsed(), status.code());
        }
        assert!(
            sent.elapsed() < within,
            "the daemon still runs {within:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a message says a blocking read was cut short: by the daemon's deadline, or by a
/// reader that refuses anything but a regular file.
fn says_blocked_read(message: &str) -> bool {
    message.contains("not a regular file") || message.contains("did not finish within")
}

/// Flags that make the daemon's deadlines short enough for a test.
const SHORT_DEADLINES: &[&str] = &[
    "--interval",
    "500ms",
    "--load-timeout",
    "1s",
    "--observe-timeout",
    "5s",
    "--shutdown-grace",
    "3s",
];

/// The whole bound a test gives SIGTERM: the grace period and time for the process to go.
const STOP_BOUND: Duration = Duration::from_secs(5);

/// Waits until `/readyz` answers 503 and returns its body.
fn wait_not_ready(daemon: &Daemon, timeout: Duration) -> String {
    let started = Instant::now();
    loop {
        let (code, body) = get(&daemon.url, "/readyz");
        if code == 503 {
            return body;
        }
        assert!(
            started.elapsed() < timeout,
            "still ready: {code} {body}; {:#}",
            daemon.status()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_fifo_manifest_fails_the_cycle_drops_readiness_and_sigterm_still_ends_the_daemon() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut args = vec!["--mode", "observe"];
    args.extend(SHORT_DEADLINES);
    let mut daemon = Daemon::start(dir.path(), &emulator, &args);
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    assert_eq!(get(&daemon.url, "/readyz"), (200, "ready".to_owned()));

    mkfifo(&dir.path().join("manifests/extra.yaml"));
    let status = daemon.wait_for("the failed cycle", Duration::from_secs(30), |s| {
        s["manifest_error"].as_str().is_some_and(says_blocked_read)
            && s["cycle_error"].as_str().is_some_and(says_blocked_read)
    });
    assert!(status["failed_cycles"].as_u64().unwrap() >= 1, "{status:#}");
    let body = wait_not_ready(&daemon, Duration::from_secs(30));
    assert!(body.starts_with("not ready: "), "{body}");
    assert!(body.len() > "not ready: ".len() + 10, "{body}");
    // The HTTP view keeps answering meanwhile.
    assert_eq!(get(&daemon.url, "/healthz"), (200, "ok".to_owned()));

    let (took, code) = terminate(&mut daemon.child, STOP_BOUND);
    assert!(took < STOP_BOUND, "{took:?}");
    assert!(code.is_some(), "ended by a signal, not by its own exit");
}

#[test]
fn a_fifo_secret_fails_the_cycle_drops_readiness_and_sigterm_still_ends_the_daemon() {
    let manifest = INSTANCE.replace(
        "  releaseProtection: false\n",
        "  releaseProtection: false\n  password: {file: password.secret}\n",
    );
    let dir = workspace(&manifest);
    let secret = dir.path().join("manifests/password.secret");
    std::fs::write(&secret, "Kvsync-Test-Passw0rd").unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut args = vec!["--mode", "apply"];
    args.extend(SHORT_DEADLINES);
    let mut daemon = Daemon::start(dir.path(), &emulator, &args);
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true && s["cycle_error"].is_null()
    });
    assert!(emulator_instance(&emulator, "watched-cache").is_some());

    mkfifo(&secret);
    let status = daemon.wait_for("the failed cycle", Duration::from_secs(30), |s| {
        s["cycle_error"].as_str().is_some_and(says_blocked_read)
    });
    let error = status["cycle_error"].as_str().unwrap();
    assert!(error.contains("secret"), "{error}");
    assert!(!error.contains("Kvsync-Test-Passw0rd"), "{error}");
    let body = wait_not_ready(&daemon, Duration::from_secs(30));
    assert!(body.starts_with("not ready: "), "{body}");
    assert_eq!(get(&daemon.url, "/healthz"), (200, "ok".to_owned()));

    let (took, code) = terminate(&mut daemon.child, STOP_BOUND);
    assert!(took < STOP_BOUND, "{took:?}");
    assert!(code.is_some(), "ended by a signal, not by its own exit");
}

const PRUNING_STACK: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: two-files}
spec: {region: cn-hangzhou, prune: true, allowDestroy: true}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: alpha-cache}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  releaseProtection: false
";

const SECOND_FILE: &str = "apiVersion: kvsync/v1
kind: Instance
metadata: {name: beta-cache}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  releaseProtection: false
";

#[test]
fn an_emptied_or_broken_file_never_prunes_its_instances() {
    let dir = workspace(PRUNING_STACK);
    let second = dir.path().join("manifests/second.yaml");
    std::fs::write(&second, SECOND_FILE).unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "300ms"],
    );
    daemon.wait_for("both created", Duration::from_secs(30), |s| {
        s["ready"] == true
            && Daemon::instance(s, "alpha-cache")["last_result"] != "drift"
            && Daemon::instance(s, "beta-cache")["last_result"] != "drift"
    });
    wait_until("both in the emulator", Duration::from_secs(10), || {
        emulator_instance(&emulator, "alpha-cache").is_some()
            && emulator_instance(&emulator, "beta-cache").is_some()
    });

    for (what, text) in [
        ("empty", ""),
        ("unparsable", "kind: Instance\nmetadata: [unclosed\n"),
        ("only comments", "# nothing here any more\n# at all\n"),
        ("only a marker", "---\n"),
        ("markers and comments", "---\n# gone\n---\n"),
    ] {
        std::fs::write(&second, text).unwrap();
        let status = daemon.wait_for(what, Duration::from_secs(15), |s| {
            s["manifest_error"].is_string()
        });
        let cycles = status["cycles"].as_u64().unwrap();
        daemon.wait_for("more reconciles", Duration::from_secs(15), |s| {
            s["cycles"].as_u64().unwrap() > cycles + 3
        });
        assert!(
            emulator_instance(&emulator, "beta-cache").is_some(),
            "{what}: the instance of the emptied file was deleted"
        );
        assert_eq!(emulator.count("DeleteInstance", "ok"), 0, "{what}");
        let error = daemon.status()["manifest_error"].clone();
        assert!(
            error.as_str().is_some_and(|e| e.contains("second.yaml")),
            "{what}: {error}"
        );

        std::fs::write(&second, SECOND_FILE).unwrap();
        daemon.wait_for("the error cleared", Duration::from_secs(15), |s| {
            s["manifest_error"].is_null()
        });
    }

    // Deleting the file is how its instances are removed on purpose.
    std::fs::remove_file(&second).unwrap();
    wait_until("the pruned instance gone", Duration::from_secs(30), || {
        emulator_instance(&emulator, "beta-cache").is_none()
    });
    assert!(emulator_instance(&emulator, "alpha-cache").is_some());
}

/// Raises this process's soft limit of open files to its hard limit.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// Open files the daemon under test may have (soft and hard), fewer than the half-open
/// connections the test opens.
const DAEMON_OPEN_FILES: libc::rlim_t = 2048;
const HALF_OPEN: usize = 5000;

#[test]
fn half_open_connections_do_not_starve_the_probes() {
    raise_open_files_limit();
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut command = emulator.kvsync(dir.path());
    command
        .args([
            "daemon",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "observe",
            "--interval",
            "1h",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: `setrlimit` is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: DAEMON_OPEN_FILES,
                rlim_max: DAEMON_OPEN_FILES,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let daemon = Daemon::spawn(command);
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let address: std::net::SocketAddr = daemon.url.trim_start_matches("http://").parse().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The connections that are held open are made by hand: what the daemon is tested against
    // is the wire itself, clients that connect and never send a request, or stop in the
    // middle of its first line, which no HTTP client library does.
    let held = runtime.block_on(async {
        let mut connecting = tokio::task::JoinSet::new();
        for n in 0..HALF_OPEN {
            connecting.spawn(async move {
                let connect = tokio::net::TcpStream::connect(address);
                let mut stream = tokio::time::timeout(Duration::from_secs(3), connect)
                    .await
                    .ok()?
                    .ok()?;
                // Every other one sends the start of a request line and stops.
                if n % 2 == 0 {
                    use tokio::io::AsyncWriteExt;
                    stream.write_all(b"GET /healthz HT").await.ok()?;
                }
                Some(stream)
            });
        }
        let mut held = Vec::new();
        while let Some(joined) = connecting.join_next().await {
            if let Some(stream) = joined.unwrap() {
                held.push(stream);
            }
        }
        held
    });

    // The probe is an ordinary client. It keeps no idle connection, so each probe is a new
    // connection the daemon has to accept while the others are held.
    let prober = kvsync::api::tls::http_client()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let healthz = format!("{}/healthz", daemon.url);
    let probe_within = |limit: Duration| {
        runtime.block_on(async {
            let probe = async {
                let response = prober.get(&healthz).send().await?;
                let status = response.status().as_u16();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            };
            tokio::time::timeout(limit, probe).await
        })
    };
    // On a machine busy with other tests the daemon may still be accepting (and evicting) the
    // burst when it ends; the timed probe below measures the state the burst leaves, with
    // every connection still held open by this side.
    let warm = probe_within(Duration::from_secs(30));
    assert!(
        matches!(&warm, Ok(Ok((200, _)))),
        "/healthz never answered while {} connections were held: {warm:?}",
        held.len()
    );
    let asked = Instant::now();
    let answer = probe_within(Duration::from_secs(1));
    let took = asked.elapsed();
    let response = answer
        .unwrap_or_else(|_| panic!("/healthz did not answer within 1 s ({} held)", held.len()))
        .unwrap();
    assert_eq!(response, (200, "ok".to_owned()));
    assert!(took < Duration::from_secs(1), "{took:?}");
    drop(held);
}

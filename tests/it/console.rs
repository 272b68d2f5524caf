//! The console in a real browser: a daemon against the emulator with a drifted instance and a
//! failing one; headless Chromium (Debian's `chromium`) loads `/` and an instance page, and the
//! rendered DOM shows the names, the drifted field with its old and new value, the failing
//! instance's error code and a chart with data points. Screenshots of both pages are kept in
//! `target/console-screenshots/` (and, with `KVSYNC_UPDATE_SCREENSHOTS=1`, copied to `docs/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon::{Daemon, wait_until};
use crate::support::{EmulatorProcess, http_get_json, repo};

/// Debian's Chromium, else `chromium` on the PATH; a test that needs it fails without it.
fn chromium() -> String {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "chromium is not installed: the console test needs it (on Debian: apt-get install -y chromium)"
    );
}

/// Runs headless Chromium on `url` with `args`, a profile of its own in `profile`.
fn browse(profile: &Path, url: &str, args: &[&str]) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium");
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Saves a screenshot of `url` as `name` among the test artefacts; returns its path.
fn screenshot(profile: &Path, url: &str, name: &str) -> PathBuf {
    let dir = repo().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    browse(
        profile,
        url,
        &[
            &format!("--screenshot={}", path.display()),
            "--window-size=1280,1400",
        ],
    );
    let bytes = std::fs::read(&path).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "{name} is not a PNG");
    if std::env::var_os("KVSYNC_UPDATE_SCREENSHOTS").is_some() {
        std::fs::copy(&path, repo().join("docs").join(name)).unwrap();
    }
    path
}

const CREATED: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: console}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: drifted-cache}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  releaseProtection: false
  whitelists:
    app: [10.0.1.0/24]
";

/// The drifted instance now wants another zone (which kvsync never changes: it stays drift),
/// and a second instance names a zone the cloud does not have (its create fails).
const WANTED: &str = "
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: broken-cache}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-z
";

#[test]
fn console_pages_render_in_a_browser_with_drift_errors_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    let manifest = dir.path().join("manifests/stack.yaml");
    std::fs::write(&manifest, CREATED).unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let applied = emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"])
        .output()
        .unwrap();
    assert!(applied.status.success(), "{applied:?}");
    std::fs::write(
        &manifest,
        format!(
            "{}{WANTED}",
            CREATED.replace("cn-hangzhou-h", "cn-hangzhou-i")
        ),
    )
    .unwrap();

    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "2s",
            "--refresh-slices",
            "1",
        ],
    );
    let api = |path: &str| http_get_json(&format!("{}{path}", daemon.url));
    wait_until(
        "a drifted and a failing instance, and cycles to chart",
        Duration::from_secs(60),
        || {
            let list = api("/api/v1/instances");
            let rows = list["instances"].as_array().cloned().unwrap_or_default();
            let row = |name: &str| rows.iter().find(|r| r["name"] == name).cloned();
            let drifted = row("drifted-cache").is_some_and(|r| r["sync"] == "drift");
            let failed =
                row("broken-cache").is_some_and(|r| r["error_code"] == "InvalidZoneId.NotFound");
            let cycles = api("/api/v1/history")["cycles"]
                .as_array()
                .map_or(0, Vec::len);
            drifted && failed && cycles >= 3
        },
    );

    let profile = tempfile::tempdir().unwrap();
    let overview = browse(profile.path(), &format!("{}/", daemon.url), &["--dump-dom"]);
    for name in ["drifted-cache", "broken-cache"] {
        assert!(
            overview.contains(&format!(
                "class=\"instance-name\" href=\"/instances/cn-hangzhou/{name}\">{name}</a>"
            )),
            "{name} is not in the table:\n{overview}"
        );
    }
    assert!(
        overview.contains("<span class=\"code\">InvalidZoneId.NotFound</span>"),
        "no error code:\n{overview}"
    );
    // A chart with data points: one per cycle, each with its value.
    let points = overview
        .matches("<circle class=\"point\" data-series=\"duration\"")
        .count();
    assert!(points >= 3, "{points} points:\n{overview}");
    assert!(overview.contains("id=\"chart-calls\""), "{overview}");
    assert!(
        overview.contains("data-series=\"DescribeInstances\""),
        "{overview}"
    );

    let detail = browse(
        profile.path(),
        &format!("{}/instances/cn-hangzhou/drifted-cache", daemon.url),
        &["--dump-dom"],
    );
    assert!(
        detail.contains("<tr class=\"drift\" data-field=\"spec.zoneId\">")
            && detail.contains(
                "<span class=\"old\">cn-hangzhou-h</span> → <span class=\"new\">cn-hangzhou-i</span>"
            ),
        "the drifted field and its values are not shown:\n{detail}"
    );
    let broken = browse(
        profile.path(),
        &format!("{}/instances/cn-hangzhou/broken-cache", daemon.url),
        &["--dump-dom"],
    );
    assert!(
        broken.contains("<code class=\"code\">InvalidZoneId.NotFound</code>")
            && broken.contains("class=\"request-id\""),
        "{broken}"
    );

    screenshot(
        profile.path(),
        &format!("{}/", daemon.url),
        "console-overview.png",
    );
    screenshot(
        profile.path(),
        &format!("{}/instances/cn-hangzhou/drifted-cache", daemon.url),
        "console-instance.png",
    );
}

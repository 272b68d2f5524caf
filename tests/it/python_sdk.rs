//! An independently written client against the emulator: Alibaba Cloud's official Python
//! SDKs, installed from PyPI into a virtual environment inside the test run. Skipped, with a
//! message saying why, only where Python or PyPI is not available.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{EmulatorProcess, repo};

/// The SDK versions the emulator is checked against.
const PACKAGES: &[&str] = &[
    "aliyun-python-sdk-core==2.16.1",
    "aliyun-python-sdk-r-kvstore==2.20.17",
    "alibabacloud_r_kvstore20150101==7.0.0",
    "alibabacloud_sts20150401==1.2.0",
    // The credentials SDK whose default chain `kvsync credentials` is checked against
    // (`tests/it/credentials.rs`), and what it needs.
    "alibabacloud-credentials==1.0.12",
    "alibabacloud-credentials-api==1.0.1",
    "alibabacloud-tea==0.4.3",
    "APScheduler==3.11.3",
    "aiofiles==24.1.0",
];

/// The role the STS check assumes (`tests/python/sdk_check.py`'s `ROLE`).
const ROLE: &str = "acs:ram::1234567890123456:role/sdk-check";

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn sdks_importable(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import aliyunsdkr_kvstore, alibabacloud_r_kvstore20150101, alibabacloud_sts20150401, \
             alibabacloud_credentials.provider",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A Python with the SDKs, installing them on first use; `Err` says why that is impossible.
pub(crate) fn python_with_sdks() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-sdk-venv");
    let python = venv_python(&venv);
    if sdks_importable(&python) {
        return Ok(python);
    }
    let system = std::env::var("KVSYNC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let created = Command::new(&system)
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|err| format!("cannot run {system}: {err}"))?;
    if !created.status.success() {
        return Err(format!(
            "{system} -m venv failed: {}",
            String::from_utf8_lossy(&created.stderr)
        ));
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .output()
        .map_err(|err| format!("cannot run pip: {err}"))?;
    if !installed.status.success() {
        return Err(format!(
            "pip could not install the SDKs from PyPI: {}",
            String::from_utf8_lossy(&installed.stderr)
        ));
    }
    if sdks_importable(&python) {
        Ok(python)
    } else {
        Err("the SDKs installed but cannot be imported".into())
    }
}

#[test]
fn the_official_python_sdks_talk_to_the_emulator_unchanged() {
    let python = match python_with_sdks() {
        Ok(python) => python,
        Err(reason) => {
            eprintln!("SKIPPED the_official_python_sdks_talk_to_the_emulator_unchanged: {reason}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let role = format!("{ROLE}=testid");
    let emulator = EmulatorProcess::start(dir.path(), &["--role", &role]);
    let endpoint = emulator.url.trim_start_matches("http://").to_owned();
    let output = Command::new(&python)
        .arg(repo().join("tests/python/sdk_check.py"))
        .arg(&endpoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    // Both SDKs really went through the emulator.
    assert!(emulator.count("CreateInstance", "ok") >= 3);
    assert!(emulator.count("DescribeInstances", "SignatureDoesNotMatch") >= 1);
    // The STS SDK too, and R-KVStore took the issued credentials.
    assert_eq!(emulator.count("AssumeRole", "ok"), 1);
    assert_eq!(emulator.count("GetCallerIdentity", "ok"), 2);
    let journal = crate::support::http_get_json(&format!("{}/_emulator/requests", emulator.url));
    assert!(
        journal.as_array().unwrap().iter().any(|entry| {
            entry["action"] == "DescribeInstances"
                && entry["access_key_id"].as_str().unwrap().starts_with("STS.")
        }),
        "{journal}"
    );
}

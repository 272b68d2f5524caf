//! `kvsync import` against the emulator process: instances made by hand-signed calls become
//! manifests on which `kvsync plan` finds nothing to change.

use std::path::Path;

use crate::support::{EmulatorProcess, Request, call_ok, run, texts, wait_normal};

const REGION: &str = "cn-hangzhou";

/// Sends a signed request and insists on success.
/// Creates an instance with `params` and waits until it is `Normal`.
async fn create(url: &str, name: &str, params: &[(&str, &str)]) -> String {
    let mut request = Request::new("CreateInstance")
        .param("RegionId", REGION)
        .param("InstanceName", name);
    for (key, value) in params {
        request = request.param(key, value);
    }
    let body = call_ok(url, request).await;
    let id = body["InstanceId"].as_str().unwrap().to_owned();
    wait_normal(url, &id).await;
    id
}

/// Makes a change to instance `id` and waits until it is `Normal` again.
async fn change(url: &str, id: &str, action: &str, params: &[(&str, &str)]) {
    let mut request = Request::new(action).param("InstanceId", id);
    for (key, value) in params {
        request = request.param(key, value);
    }
    call_ok(url, request).await;
    wait_normal(url, id).await;
}

/// Three instances that differ in every aspect a manifest manages.
struct Fleet {
    orders: String,
    sessions: String,
    legacy: String,
}

async fn fleet(url: &str) -> Fleet {
    // A classic-network 5.0 instance with labels (one whose value looks like a boolean),
    // release protection, a whitelist group, accounts, a backup policy, parameters and a
    // one-hour maintenance window.
    let orders = create(
        url,
        "orders-cache",
        &[
            ("InstanceClass", "redis.master.small.default"),
            ("EngineVersion", "5.0"),
            ("ZoneId", "cn-hangzhou-b"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "orders"),
            ("Tag.2.Key", "paging"),
            ("Tag.2.Value", "yes"),
        ],
    )
    .await;
    change(
        url,
        &orders,
        "ModifyInstanceAttribute",
        &[("InstanceReleaseProtection", "true")],
    )
    .await;
    change(
        url,
        &orders,
        "ModifySecurityIps",
        &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.1.0/24,10.0.2.15"),
        ],
    )
    .await;
    change(
        url,
        &orders,
        "CreateAccount",
        &[
            ("AccountName", "app_rw"),
            ("AccountPassword", "Orders-rw-2024"),
            ("AccountPrivilege", "RoleReadWrite"),
            ("AccountDescription", "orders service"),
        ],
    )
    .await;
    change(
        url,
        &orders,
        "CreateAccount",
        &[
            ("AccountName", "app_ro"),
            ("AccountPassword", "Orders-ro-2024"),
            ("AccountPrivilege", "RoleReadOnly"),
        ],
    )
    .await;
    change(
        url,
        &orders,
        "ModifyBackupPolicy",
        &[
            ("PreferredBackupTime", "23:00Z-00:00Z"),
            ("PreferredBackupPeriod", "Monday,Friday"),
        ],
    )
    .await;
    change(
        url,
        &orders,
        "ModifyInstanceConfig",
        &[(
            "Config",
            r#"{"maxmemory-policy":"allkeys-lru","notify-keyspace-events":"Ex","appendonly":"no","hash-max-ziplist-entries":1024}"#,
        )],
    )
    .await;
    change(
        url,
        &orders,
        "ModifyInstanceMaintainTime",
        &[
            ("MaintainStartTime", "02:00Z"),
            ("MaintainEndTime", "03:00Z"),
        ],
    )
    .await;

    // A 6.0 instance in a VPC with password-free access and TLS.
    let sessions = create(
        url,
        "sessions-cache",
        &[
            ("InstanceClass", "redis.master.mid.default"),
            ("EngineVersion", "6.0"),
            ("ZoneId", "cn-hangzhou-h"),
            ("NetworkType", "VPC"),
            ("VpcId", "vpc-bp1sessions"),
            ("VSwitchId", "vsw-bp1sessions"),
        ],
    )
    .await;
    change(
        url,
        &sessions,
        "ModifyInstanceVpcAuthMode",
        &[("VpcAuthMode", "Close")],
    )
    .await;
    change(
        url,
        &sessions,
        "ModifyInstanceSSL",
        &[("SSLEnabled", "Enable")],
    )
    .await;

    // A 2.8 subscription: no TLS, the default four-hour maintenance window.
    let legacy = create(
        url,
        "legacy-cache",
        &[
            ("InstanceClass", "redis.master.micro.default"),
            ("EngineVersion", "2.8"),
            ("ChargeType", "PrePaid"),
            ("Period", "1"),
        ],
    )
    .await;
    Fleet {
        orders,
        sessions,
        legacy,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// `kvsync plan -f DIR --detailed-exitcode` against the emulator: its exit code and stdout.
fn plan(emulator: &EmulatorProcess, dir: &Path, manifests: &str) -> (Option<i32>, String) {
    let planned = run(emulator
        .kvsync(dir)
        .args(["plan", "-f", manifests, "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&planned);
    (planned.status.code(), format!("{stdout}\n{stderr}"))
}

#[tokio::test]
async fn imported_manifests_plan_empty_and_then_catch_drift() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let fleet = fleet(&emulator.url).await;

    let imported = run(emulator
        .kvsync(dir.path())
        .args(["import", "--region", REGION, "--out", "adopted"]));
    let (stdout, stderr) = texts(&imported);
    assert_eq!(imported.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Imported 3 instances of cn-hangzhou into adopted"),
        "{stdout}"
    );
    for id in [&fleet.orders, &fleet.sessions, &fleet.legacy] {
        assert!(stdout.contains(id.as_str()), "{stdout}");
    }
    let out = dir.path().join("adopted");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "legacy-cache.yaml",
            "orders-cache.yaml",
            "sessions-cache.yaml"
        ]
    );

    let orders = read(&out.join("orders-cache.yaml"));
    for expected in [
        "apiVersion: kvsync/v1\nkind: Instance\n",
        "  name: orders-cache\n  region: cn-hangzhou\n",
        "    paging: \"yes\"\n",
        "    team: orders\n",
        &format!("  instanceId: {}\n", fleet.orders),
        "  engineVersion: \"5.0\"\n",
        "  chargeType: PostPaid\n",
        "  network: {type: Classic}\n",
        "  releaseProtection: true\n",
        "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n",
        "  ssl: Disable\n",
        "    app: [10.0.1.0/24, 10.0.2.15]\n",
        "    default: [127.0.0.1]\n",
        "    - name: app_ro\n      privilege: RoleReadOnly\n",
        "    - name: app_rw\n      privilege: RoleReadWrite\n      description: \"orders service\"\n",
        "      # password: {env: ORDERS_CACHE_APP_RW_PASSWORD}\n",
        "  backupPolicy:\n    time: \"23:00Z-00:00Z\"\n    period: [Monday, Friday]\n",
        "    appendonly: \"no\"\n",
        "    hash-max-ziplist-entries: \"1024\"\n",
        "    notify-keyspace-events: Ex\n",
        "prune never deletes it",
    ] {
        assert!(
            orders.contains(expected),
            "{expected:?} missing in\n{orders}"
        );
    }
    assert!(!orders.contains("vpcAuthMode"), "{orders}");
    assert!(!orders.contains("ali_dms_group:"), "{orders}");
    assert!(!orders.contains("hdm_security_ips:"), "{orders}");

    let sessions = read(&out.join("sessions-cache.yaml"));
    for expected in [
        "  engineVersion: \"6.0\"\n",
        "  network: {type: VPC, vpcId: vpc-bp1sessions, vSwitchId: vsw-bp1sessions}\n",
        "  ssl: Enable\n",
        "  vpcAuthMode: Close\n",
        "  labels: {}\n",
        "  accounts: []\n",
        "  # maintenanceWindow: not managed: the window is 18:00Z-22:00Z",
    ] {
        assert!(
            sessions.contains(expected),
            "{expected:?} missing in\n{sessions}"
        );
    }

    let legacy = read(&out.join("legacy-cache.yaml"));
    for expected in [
        "  engineVersion: \"2.8\"\n",
        "  chargeType: PrePaid\n",
        "  period: 1\n",
        // Engines before 4.0 have no TLS: observed (and imported) as off.
        "  ssl: Disable\n",
    ] {
        assert!(
            legacy.contains(expected),
            "{expected:?} missing in\n{legacy}"
        );
    }

    // No secret is written: password keys appear only in comments.
    for text in [&orders, &sessions, &legacy] {
        for line in text.lines().filter(|line| line.contains("password")) {
            assert!(line.trim_start().starts_with('#'), "{line}");
        }
        assert!(!text.contains("Orders-rw-2024") && !text.contains("Orders-ro-2024"));
    }

    let (code, output) = plan(&emulator, dir.path(), "adopted");
    assert_eq!(code, Some(0), "{output}");
    assert!(output.starts_with("No changes"), "{output}");

    // The manifests manage what they list: a change in the cloud shows up as drift.
    change(
        &emulator.url,
        &fleet.orders,
        "ModifySecurityIps",
        &[("SecurityIpGroupName", "app"), ("SecurityIps", "10.0.9.9")],
    )
    .await;
    change(
        &emulator.url,
        &fleet.sessions,
        "ModifyInstanceVpcAuthMode",
        &[("VpcAuthMode", "Open")],
    )
    .await;
    let (code, output) = plan(&emulator, dir.path(), "adopted");
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("ModifySecurityIps"), "{output}");
    assert!(output.contains("ModifyInstanceVpcAuthMode"), "{output}");
}

#[tokio::test]
async fn instance_selection_unknown_ids_and_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let url = &emulator.url;
    let first = create(
        url,
        "first-cache",
        &[("InstanceClass", "redis.master.small.default")],
    )
    .await;
    let second = create(
        url,
        "second-cache",
        &[("InstanceClass", "redis.master.small.default")],
    )
    .await;

    // --instance selects.
    let selected = run(emulator.kvsync(dir.path()).args([
        "import",
        "--region",
        REGION,
        "--instance",
        &second,
        "--out",
        "one",
    ]));
    let (stdout, stderr) = texts(&selected);
    assert_eq!(selected.status.code(), Some(0), "{stdout}\n{stderr}");
    let files: Vec<String> = std::fs::read_dir(dir.path().join("one"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["second-cache.yaml"]);
    assert!(!stdout.contains(&first), "{stdout}");
    let (code, output) = plan(&emulator, dir.path(), "one");
    assert_eq!(code, Some(0), "{output}");

    // An unknown ID is an error naming it; nothing is written.
    let unknown = run(emulator.kvsync(dir.path()).args([
        "import",
        "--region",
        REGION,
        "--instance",
        &first,
        "--instance",
        "r-doesnotexist",
        "--out",
        "none",
    ]));
    let (stdout, stderr) = texts(&unknown);
    assert_eq!(unknown.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("instance r-doesnotexist is not in region cn-hangzhou"),
        "{stderr}"
    );
    assert!(!dir.path().join("none").exists());

    // Without --region there is nothing to list.
    let no_region = run(emulator
        .kvsync(dir.path())
        .args(["import", "--out", "none"]));
    let (_, stderr) = texts(&no_region);
    assert_eq!(no_region.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--region"), "{stderr}");

    // Existing files are kept unless --force; then they are replaced.
    let mine = dir.path().join("one/second-cache.yaml");
    std::fs::write(&mine, "# my own edits\n").unwrap();
    let again = run(emulator
        .kvsync(dir.path())
        .args(["import", "--region", REGION, "--out", "one"]));
    let (stdout, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert!(stderr.contains("second-cache.yaml"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(read(&mine), "# my own edits\n");
    assert!(!dir.path().join("one/first-cache.yaml").exists());

    let forced = run(emulator
        .kvsync(dir.path())
        .args(["import", "--region", REGION, "--out", "one", "--force"]));
    let (stdout, stderr) = texts(&forced);
    assert_eq!(forced.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(read(&mine).contains(&second));
    assert!(dir.path().join("one/first-cache.yaml").exists());
    let (code, output) = plan(&emulator, dir.path(), "one");
    assert_eq!(code, Some(0), "{output}");
}

#[tokio::test]
async fn a_region_of_more_than_one_page_is_imported_whole() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut ids = Vec::new();
    for n in 0..53 {
        let body = call_ok(
            &emulator.url,
            Request::new("CreateInstance")
                .param("RegionId", REGION)
                .param("InstanceName", &format!("cache-{n:02}"))
                .param("InstanceClass", "redis.master.micro.default"),
        )
        .await;
        ids.push(body["InstanceId"].as_str().unwrap().to_owned());
    }
    // Two share a name: each file still pins its own instance.
    let twin = call_ok(
        &emulator.url,
        Request::new("CreateInstance")
            .param("RegionId", REGION)
            .param("InstanceName", "cache-00")
            .param("InstanceClass", "redis.master.micro.default"),
    )
    .await;
    ids.push(twin["InstanceId"].as_str().unwrap().to_owned());
    for id in &ids {
        wait_normal(&emulator.url, id).await;
    }

    let imported = run(emulator
        .kvsync(dir.path())
        .args(["--qps", "500", "import", "--region", REGION]));
    let (stdout, stderr) = texts(&imported);
    assert_eq!(imported.status.code(), Some(0), "{stdout}\n{stderr}");
    let out = dir.path().join("imported");
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, 54);
    let shared: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("cache-00-r-"))
        .collect();
    assert_eq!(shared.len(), 2, "{shared:?}");
    assert!(!out.join("cache-00.yaml").exists());

    let planned = run(emulator.kvsync(dir.path()).args([
        "--qps",
        "500",
        "plan",
        "-f",
        "imported",
        "--detailed-exitcode",
    ]));
    let (stdout, stderr) = texts(&planned);
    assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
}

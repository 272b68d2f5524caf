//! The emulator's instance management actions, driven by hand-built signed requests: answer
//! shapes and JSON types, status transitions, the state after them, and every error code.
//!
//! Each emulator here runs on a clock the test moves: creation is instant, every other
//! transition lasts a minute until the test advances the clock past it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};
use kvsync::emulator::state::Durations;
use kvsync::emulator::{self, EmulatorConfig, RunningEmulator};
use serde_json::Value;

use crate::support::{Request, call};

/// How long non-creation transitions last on the test clock.
const CHANGE_SECONDS: i64 = 60;

/// An in-process emulator on a clock that runs from now, plus what the test adds to it.
struct Emu {
    running: RunningEmulator,
    url: String,
    offset: Arc<AtomicI64>,
}

impl Emu {
    async fn start() -> Self {
        let offset = Arc::new(AtomicI64::new(0));
        let clock_offset = Arc::clone(&offset);
        let config = EmulatorConfig {
            durations: Durations {
                create: SignedDuration::ZERO,
                change: SignedDuration::from_secs(CHANGE_SECONDS),
                token_memory: None,
                backup: SignedDuration::from_secs(CHANGE_SECONDS),
            },
            clock: Arc::new(move || {
                Timestamp::now() + SignedDuration::from_secs(clock_offset.load(Ordering::SeqCst))
            }),
            ..EmulatorConfig::default()
        };
        let running = emulator::start("127.0.0.1:0", config).await.unwrap();
        let url = running.url();
        Emu {
            running,
            url,
            offset,
        }
    }

    /// The emulator's now.
    fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_secs(self.offset.load(Ordering::SeqCst))
    }

    /// Moves the clock past the current transitions.
    fn finish_transitions(&self) {
        self.offset.fetch_add(CHANGE_SECONDS + 1, Ordering::SeqCst);
    }

    async fn call(&self, request: Request) -> (u16, Value) {
        call(&self.url, request).await
    }

    /// Sends a request that must succeed and returns its body.
    async fn ok(&self, request: Request) -> Value {
        let (status, body) = self.call(request).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Creates an instance in cn-hangzhou with `extra` parameters; returns its ID.
    async fn create(&self, name: &str, extra: &[(&str, &str)]) -> String {
        let mut request = Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceName", name)
            .param("InstanceClass", "redis.master.small.default");
        for (key, value) in extra {
            request = request.param(key, value);
        }
        let body = self.ok(request).await;
        body["InstanceId"].as_str().unwrap().to_owned()
    }

    /// `DescribeInstanceAttribute` of one instance.
    async fn attribute(&self, id: &str) -> Value {
        let body = self
            .ok(Request::new("DescribeInstanceAttribute").param("InstanceId", id))
            .await;
        body["Instances"]["DBInstanceAttribute"][0].clone()
    }

    /// `NetInfoItems.InstanceNetInfo[]` and `InstanceNetworkType` of one instance.
    async fn net_info(&self, id: &str) -> (Vec<Value>, String) {
        let body = self
            .ok(Request::new("DescribeDBInstanceNetInfo").param("InstanceId", id))
            .await;
        let items = body["NetInfoItems"]["InstanceNetInfo"]
            .as_array()
            .unwrap()
            .clone();
        (
            items,
            body["InstanceNetworkType"].as_str().unwrap().to_owned(),
        )
    }

    async fn stop(self) {
        self.running.stop().await.unwrap();
    }
}

fn spec(id: &str, class: &str) -> Request {
    Request::new("ModifyInstanceSpec")
        .param("InstanceId", id)
        .param("InstanceClass", class)
}

/// Seconds from `now` to a `yyyy-MM-ddTHH:mm:ssZ` time.
fn seconds_until(now: Timestamp, time: &Value) -> i64 {
    let time: Timestamp = time.as_str().unwrap().parse().unwrap();
    time.duration_since(now).as_secs()
}

#[tokio::test]
async fn modify_spec_shows_the_old_class_while_changing_and_the_new_one_after() {
    let emu = Emu::start().await;
    let id = emu.create("spec", &[]).await;

    let body = emu.ok(spec(&id, "redis.master.mid.default")).await;
    let order_id = body["OrderId"].as_str().expect("OrderId is a string");
    assert!(!order_id.is_empty() && order_id.chars().all(|c| c.is_ascii_digit()));
    assert!(body["RequestId"].is_string());

    let during = emu.attribute(&id).await;
    assert_eq!(during["InstanceStatus"], "Changing");
    assert_eq!(during["InstanceClass"], "redis.master.small.default");
    assert_eq!(during["Capacity"], 1024);

    emu.finish_transitions();
    let after = emu.attribute(&id).await;
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["InstanceClass"], "redis.master.mid.default");
    assert_eq!(after["Capacity"], 2048);
    emu.stop().await;
}

#[tokio::test]
async fn an_architecture_change_without_a_class_shows_changing_then_the_new_values() {
    let emu = Emu::start().await;
    let id = emu.create("replicas", &[("ZoneId", "cn-hangzhou-h")]).await;
    emu.ok(Request::new("ModifyInstanceSpec")
        .param("InstanceId", &id)
        .param("ReplicaCount", "3")
        .param("SecondaryZoneId", "cn-hangzhou-i"))
        .await;
    let during = emu.attribute(&id).await;
    assert_eq!(during["InstanceStatus"], "Changing");
    assert_eq!(during["ReplicaCount"], 1);
    assert_eq!(during["SecondaryZoneId"], "");

    emu.finish_transitions();
    let after = emu.attribute(&id).await;
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["ReplicaCount"], 3);
    assert_eq!(after["SecondaryZoneId"], "cn-hangzhou-i");
    assert_eq!(after["InstanceClass"], "redis.master.small.default");
    emu.stop().await;
}

#[tokio::test]
async fn the_same_client_token_twice_changes_the_instance_once() {
    let emu = Emu::start().await;
    let id = emu.create("tokened-spec", &[]).await;
    let tokened = |class: &str| spec(&id, class).param("ClientToken", "kvsync-spec-1");

    let first = emu.ok(tokened("redis.master.mid.default")).await;
    let again = emu.ok(tokened("redis.master.mid.default")).await;
    assert_eq!(again["OrderId"], first["OrderId"]);
    assert_ne!(again["RequestId"], first["RequestId"]);

    let (status, mismatch) = emu.call(tokened("redis.master.large.default")).await;
    assert_eq!(
        (status, mismatch["Code"].as_str().unwrap()),
        (400, "IdempotentParameterMismatch")
    );

    emu.finish_transitions();
    assert_eq!(
        emu.attribute(&id).await["InstanceClass"],
        "redis.master.mid.default"
    );
    // A retry after the change completed is answered from the record, not applied again.
    let late = emu.ok(tokened("redis.master.mid.default")).await;
    assert_eq!(late["OrderId"], first["OrderId"]);
    let attribute = emu.attribute(&id).await;
    assert_eq!(attribute["InstanceStatus"], "Normal");
    assert_eq!(attribute["InstanceClass"], "redis.master.mid.default");
    emu.stop().await;
}

#[tokio::test]
async fn transform_to_prepaid_bills_by_subscription_after_transforming() {
    let emu = Emu::start().await;
    let id = emu.create("billing", &[]).await;
    let now = emu.now();

    let body = emu
        .ok(Request::new("TransformToPrePaid")
            .param("InstanceId", &id)
            .param("Period", "12")
            .param("AutoPay", "True"))
        .await;
    assert!(body["OrderId"].is_string());
    let end_time = body["EndTime"].as_str().expect("EndTime is a string");
    assert_eq!(end_time.len(), "2025-01-01T00:00:00Z".len(), "{end_time}");
    // A calendar year from now, to the second.
    let seconds = seconds_until(now, &body["EndTime"]);
    assert!(
        (365 * 86_400 - 2..=366 * 86_400).contains(&seconds),
        "{seconds} s"
    );

    let during = emu.attribute(&id).await;
    assert_eq!(during["InstanceStatus"], "Transforming");
    assert_eq!(during["ChargeType"], "PostPaid");

    emu.finish_transitions();
    let after = emu.attribute(&id).await;
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["ChargeType"], "PrePaid");
    assert_eq!(after["EndTime"], body["EndTime"]);
    emu.stop().await;
}

#[tokio::test]
async fn net_info_of_a_classic_instance_has_one_inner_endpoint_with_a_string_port() {
    let emu = Emu::start().await;
    let id = emu.create("classic", &[]).await;
    let (items, network) = emu.net_info(&id).await;
    assert_eq!(network, "CLASSIC");
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let attribute = emu.attribute(&id).await;
    assert_eq!(item["ConnectionString"], attribute["ConnectionDomain"]);
    assert_eq!(item["IPAddress"], attribute["PrivateIp"]);
    assert_eq!(item["IPType"], "Inner");
    assert_eq!(item["Port"], "6379");
    assert_eq!(item["DBInstanceNetType"], "1");
    assert_eq!(item["VPCId"], "");
    assert!(item["DirectConnection"].is_i64());
    emu.stop().await;
}

#[tokio::test]
async fn switch_network_moves_to_the_vpc_and_keeps_the_classic_endpoint_when_asked() {
    let emu = Emu::start().await;
    let id = emu.create("mover", &[]).await;
    let domain = emu.attribute(&id).await["ConnectionDomain"].clone();

    let body = emu
        .ok(Request::new("SwitchNetwork")
            .param("InstanceId", &id)
            .param("TargetNetworkType", "VPC")
            .param("VpcId", "vpc-bp1nme44gek34slfc")
            .param("VSwitchId", "vsw-bp1e7clcw529l773d")
            .param("RetainClassic", "True")
            .param("ClassicExpiredDays", "30"))
        .await;
    let task_id = body["TaskId"].as_str().expect("TaskId is a string");
    assert!(!task_id.is_empty());

    let during = emu.attribute(&id).await;
    assert_eq!(during["InstanceStatus"], "NetworkModifying");
    assert_eq!(during["NetworkType"], "CLASSIC");
    assert_eq!(emu.net_info(&id).await.1, "CLASSIC");

    emu.finish_transitions();
    let after = emu.attribute(&id).await;
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["NetworkType"], "VPC");
    assert_eq!(after["VpcId"], "vpc-bp1nme44gek34slfc");
    assert_eq!(after["VSwitchId"], "vsw-bp1e7clcw529l773d");
    assert_eq!(after["ConnectionDomain"], domain);

    let (items, network) = emu.net_info(&id).await;
    assert_eq!(network, "VPC");
    assert_eq!(items.len(), 2, "{items:?}");
    let vpc = &items[0];
    assert_eq!(vpc["IPType"], "Private");
    assert_eq!(vpc["DBInstanceNetType"], "2");
    assert_eq!(vpc["VPCId"], "vpc-bp1nme44gek34slfc");
    assert_eq!(vpc["VSwitchId"], "vsw-bp1e7clcw529l773d");
    assert_eq!(vpc["ConnectionString"], domain);
    assert_eq!(vpc["ExpiredTime"], "");
    let classic = &items[1];
    assert_eq!(classic["IPType"], "Inner");
    assert_eq!(classic["DBInstanceNetType"], "1");
    assert_ne!(classic["ConnectionString"], domain);
    let remaining: i64 = classic["ExpiredTime"].as_str().unwrap().parse().unwrap();
    assert!(
        (29 * 86_400..=30 * 86_400).contains(&remaining),
        "{remaining} seconds"
    );

    // Extending the retention: 60 days from now, answered as a time.
    let now = emu.now();
    let body = emu
        .ok(Request::new("ModifyInstanceNetExpireTime")
            .param("InstanceId", &id)
            .param(
                "ConnectionString",
                classic["ConnectionString"].as_str().unwrap(),
            )
            .param("ClassicExpiredDays", "60"))
        .await;
    assert_eq!(body["InstanceId"], id.as_str());
    let item = &body["NetInfoItems"]["NetInfoItem"][0];
    assert_eq!(item["ConnectionString"], classic["ConnectionString"]);
    assert_eq!(item["DBInstanceNetType"], "Classic");
    assert_eq!(item["Port"], "6379");
    assert_eq!(item["IPAddress"], classic["IPAddress"]);
    let until = seconds_until(now, &item["ExpiredTime"]);
    assert!((60 * 86_400 - 5..=60 * 86_400).contains(&until), "{until}");
    let (items, _) = emu.net_info(&id).await;
    let remaining: i64 = items[1]["ExpiredTime"].as_str().unwrap().parse().unwrap();
    assert!(remaining > 59 * 86_400, "{remaining}");
    emu.stop().await;
}

#[tokio::test]
async fn switch_network_without_retaining_leaves_only_the_vpc_endpoint() {
    let emu = Emu::start().await;
    let id = emu.create("plain-mover", &[]).await;
    emu.ok(Request::new("SwitchNetwork")
        .param("InstanceId", &id)
        .param("VpcId", "vpc-1")
        .param("VSwitchId", "vsw-1"))
        .await;
    emu.finish_transitions();
    let (items, network) = emu.net_info(&id).await;
    assert_eq!(network, "VPC");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["IPType"], "Private");
    emu.stop().await;
}

#[tokio::test]
async fn flush_shows_flushing_then_normal() {
    let emu = Emu::start().await;
    let id = emu.create("flushed", &[]).await;
    let body = emu
        .ok(Request::new("FlushInstance").param("InstanceId", &id))
        .await;
    assert_eq!(body.as_object().unwrap().len(), 1, "only RequestId: {body}");
    assert_eq!(emu.attribute(&id).await["InstanceStatus"], "Flushing");
    emu.finish_transitions();
    assert_eq!(emu.attribute(&id).await["InstanceStatus"], "Normal");
    emu.stop().await;
}

#[tokio::test]
async fn the_maintenance_window_is_set_at_once() {
    let emu = Emu::start().await;
    let id = emu.create("window", &[]).await;
    emu.ok(Request::new("ModifyInstanceMaintainTime")
        .param("InstanceId", &id)
        .param("MaintainStartTime", "23:00Z")
        .param("MaintainEndTime", "00:00Z"))
        .await;
    let attribute = emu.attribute(&id).await;
    assert_eq!(attribute["MaintainStartTime"], "23:00Z");
    assert_eq!(attribute["MaintainEndTime"], "00:00Z");
    assert_eq!(attribute["InstanceStatus"], "Normal");
    emu.stop().await;
}

#[tokio::test]
async fn the_endpoint_prefix_and_port_change_and_stay_unique() {
    let emu = Emu::start().await;
    let id = emu.create("endpoint", &[]).await;
    let other = emu.create("neighbour", &[]).await;
    let domain = emu.attribute(&id).await["ConnectionDomain"]
        .as_str()
        .unwrap()
        .to_owned();

    emu.ok(Request::new("ModifyDBInstanceConnectionString")
        .param("DBInstanceId", &id)
        .param("CurrentConnectionString", &domain)
        .param("NewConnectionString", "ordersredis")
        .param("Port", "6380")
        .param("IPType", "Private"))
        .await;
    let attribute = emu.attribute(&id).await;
    assert_eq!(
        attribute["ConnectionDomain"],
        "ordersredis.redis.rds.aliyuncs.com"
    );
    assert_eq!(attribute["Port"], 6380);
    let (items, _) = emu.net_info(&id).await;
    assert_eq!(
        items[0]["ConnectionString"],
        "ordersredis.redis.rds.aliyuncs.com"
    );
    assert_eq!(items[0]["Port"], "6380");

    // The old string no longer names the endpoint; the new prefix is taken.
    let (status, body) = emu
        .call(
            Request::new("ModifyDBInstanceConnectionString")
                .param("DBInstanceId", &id)
                .param("CurrentConnectionString", &domain)
                .param("Port", "6381"),
        )
        .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (404, "InvalidConnectionString.NotFound")
    );
    let other_domain = emu.attribute(&other).await["ConnectionDomain"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = emu
        .call(
            Request::new("ModifyDBInstanceConnectionString")
                .param("DBInstanceId", &other)
                .param("CurrentConnectionString", &other_domain)
                .param("NewConnectionString", "ordersredis"),
        )
        .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "InvalidConnectionStringOrPort.Duplicate")
    );
    assert_eq!(
        emu.attribute(&other).await["ConnectionDomain"],
        other_domain.as_str()
    );
    emu.stop().await;
}

#[tokio::test]
async fn the_major_version_is_upgraded_after_major_version_upgrading() {
    let emu = Emu::start().await;
    let id = emu.create("versioned", &[("EngineVersion", "4.0")]).await;
    emu.ok(Request::new("ModifyInstanceMajorVersion")
        .param("InstanceId", &id)
        .param("MajorVersion", "6.0")
        .param("EffectiveTime", "Immediately"))
        .await;
    let during = emu.attribute(&id).await;
    assert_eq!(during["InstanceStatus"], "MajorVersionUpgrading");
    assert_eq!(during["EngineVersion"], "4.0");
    emu.finish_transitions();
    let after = emu.attribute(&id).await;
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["EngineVersion"], "6.0");
    emu.stop().await;
}

/// One row of an error table.
struct Case {
    request: Request,
    status: u16,
    code: &'static str,
}

fn case(request: Request, status: u16, code: &'static str) -> Case {
    Case {
        request,
        status,
        code,
    }
}

#[tokio::test]
async fn every_management_error_code_is_answered_with_its_status() {
    let emu = Emu::start().await;
    let normal = emu.create("normal", &[]).await;
    let prepaid = emu
        .create("prepaid", &[("ChargeType", "PrePaid"), ("Period", "1")])
        .await;
    let vpc = emu
        .create(
            "in-vpc",
            &[
                ("NetworkType", "VPC"),
                ("VpcId", "vpc-1"),
                ("VSwitchId", "vsw-1"),
            ],
        )
        .await;
    let retained = emu.create("retained", &[]).await;
    emu.ok(Request::new("SwitchNetwork")
        .param("InstanceId", &retained)
        .param("VpcId", "vpc-1")
        .param("VSwitchId", "vsw-1")
        .param("RetainClassic", "true")
        .param("ClassicExpiredDays", "14"))
        .await;
    emu.finish_transitions();
    let (items, _) = emu.net_info(&retained).await;
    let classic = items[1]["ConnectionString"].as_str().unwrap().to_owned();
    let neighbour = emu.create("neighbour", &[]).await;
    let neighbour_domain = emu.attribute(&neighbour).await["ConnectionDomain"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.ok(Request::new("ModifyDBInstanceConnectionString")
        .param("DBInstanceId", &neighbour)
        .param("CurrentConnectionString", &neighbour_domain)
        .param("NewConnectionString", "takenprefix1"))
        .await;
    // Two busy instances, both left in their transitions for the rest of the test.
    let busy = emu.create("busy", &[]).await;
    emu.ok(spec(&busy, "redis.master.mid.default").param("ClientToken", "tok-table"))
        .await;
    emu.ok(Request::new("FlushInstance").param("InstanceId", &retained))
        .await;
    let normal_domain = emu.attribute(&normal).await["ConnectionDomain"]
        .as_str()
        .unwrap()
        .to_owned();
    let busy_domain = emu.attribute(&busy).await["ConnectionDomain"]
        .as_str()
        .unwrap()
        .to_owned();

    let transform = |id: &str| Request::new("TransformToPrePaid").param("InstanceId", id);
    let window = |id: &str, start: &str, end: &str| {
        Request::new("ModifyInstanceMaintainTime")
            .param("InstanceId", id)
            .param("MaintainStartTime", start)
            .param("MaintainEndTime", end)
    };
    let expire = |id: &str, string: &str, days: &str| {
        Request::new("ModifyInstanceNetExpireTime")
            .param("InstanceId", id)
            .param("ConnectionString", string)
            .param("ClassicExpiredDays", days)
    };
    let endpoint = |id: &str, current: &str| {
        Request::new("ModifyDBInstanceConnectionString")
            .param("DBInstanceId", id)
            .param("CurrentConnectionString", current)
    };
    let switch = |id: &str| {
        Request::new("SwitchNetwork")
            .param("InstanceId", id)
            .param("VpcId", "vpc-1")
            .param("VSwitchId", "vsw-1")
    };
    let upgrade = |id: &str, version: &str| {
        Request::new("ModifyInstanceMajorVersion")
            .param("InstanceId", id)
            .param("MajorVersion", version)
    };
    let flush = |id: &str| Request::new("FlushInstance").param("InstanceId", id);
    let net_info = |id: &str| Request::new("DescribeDBInstanceNetInfo").param("InstanceId", id);

    let cases = vec![
        // ModifyInstanceSpec
        case(
            Request::new("ModifyInstanceSpec").param("InstanceClass", "redis.master.mid.default"),
            400,
            "MissingParameter",
        ),
        case(
            spec(&normal, "redis.master.mid.default").param("ClientToken", &"t".repeat(65)),
            400,
            "InvalidToken.Malformed",
        ),
        case(
            spec(&busy, "redis.master.large.default").param("ClientToken", "tok-table"),
            400,
            "IdempotentParameterMismatch",
        ),
        case(
            spec("r-nosuchinstance", "redis.master.mid.default"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            spec(&normal, "redis.master.mid.default").param("EffectiveTime", "Tomorrow"),
            400,
            "InvalidParameter",
        ),
        case(
            spec(&normal, "redis.master.mid.default").param("AutoPay", "maybe"),
            400,
            "InvalidParameter",
        ),
        case(
            Request::new("ModifyInstanceSpec").param("InstanceId", &normal),
            400,
            "MissingClassCode",
        ),
        case(
            spec(&normal, "redis.master.huge.default"),
            404,
            "InvalidDBInstanceClass.NotFound",
        ),
        case(
            Request::new("ModifyInstanceSpec")
                .param("InstanceId", &normal)
                .param("ShardCount", "4"),
            400,
            "InvalidParameter",
        ),
        case(
            Request::new("ModifyInstanceSpec")
                .param("InstanceId", &normal)
                .param("ReadOnlyCount", "2"),
            400,
            "InvalidParameter",
        ),
        case(
            Request::new("ModifyInstanceSpec")
                .param("InstanceId", &normal)
                .param("SecondaryZoneId", "cn-beijing-a"),
            400,
            "InvalidZoneId.NotFound",
        ),
        case(
            Request::new("ModifyInstanceSpec")
                .param("InstanceId", &normal)
                .param("ReplicaCount", "1"),
            400,
            "InvalidDBInstanceClass.Duplicate",
        ),
        case(
            spec(&normal, "redis.master.small.default"),
            400,
            "InvalidDBInstanceClass.Duplicate",
        ),
        case(
            spec(&busy, "redis.master.large.default"),
            400,
            "IncorrectDBInstanceState",
        ),
        // TransformToPrePaid
        case(transform(&normal), 400, "MissingParameter"),
        case(
            transform(&normal).param("Period", "twelve"),
            400,
            "InvalidParameter",
        ),
        case(
            transform("r-nosuchinstance").param("Period", "12"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            transform(&normal).param("Period", "10"),
            400,
            "InvalidPeriod",
        ),
        case(
            transform(&prepaid).param("Period", "12"),
            400,
            "IncorrectDBInstanceChargeType",
        ),
        case(
            transform(&busy).param("Period", "12"),
            400,
            "IncorrectDBInstanceState",
        ),
        // DescribeDBInstanceNetInfo
        case(
            Request::new("DescribeDBInstanceNetInfo"),
            400,
            "MissingParameter",
        ),
        case(
            net_info("r-nosuchinstance"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        // FlushInstance
        case(Request::new("FlushInstance"), 400, "MissingParameter"),
        case(flush("r-nosuchinstance"), 404, "InvalidInstanceId.NotFound"),
        case(flush(&busy), 400, "IncorrectDBInstanceState"),
        // ModifyInstanceMaintainTime
        case(
            Request::new("ModifyInstanceMaintainTime")
                .param("InstanceId", &normal)
                .param("MaintainStartTime", "02:00Z"),
            400,
            "MissingParameter",
        ),
        case(
            window("r-nosuchinstance", "02:00Z", "03:00Z"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            window(&normal, "2:00", "03:00Z"),
            400,
            "InvalidStartTime.Malformed",
        ),
        case(
            window(&normal, "02:00Z", "04:00Z"),
            400,
            "InvalidEndTime.Format",
        ),
        case(
            window(&normal, "02:00Z", "03:30Z"),
            400,
            "InvalidEndTime.Format",
        ),
        // ModifyInstanceNetExpireTime
        case(
            Request::new("ModifyInstanceNetExpireTime")
                .param("InstanceId", &retained)
                .param("ConnectionString", &classic),
            400,
            "MissingParameter",
        ),
        case(
            expire(&retained, &classic, "thirty"),
            400,
            "InvalidParameter",
        ),
        case(
            expire("r-nosuchinstance", &classic, "30"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            expire(&retained, &classic, "45"),
            400,
            "InvalidClassicExpiredDays.Format",
        ),
        case(
            expire(&normal, &normal_domain, "30"),
            400,
            "IncorrectDBInstanceNetType",
        ),
        case(
            expire(&retained, &normal_domain, "30"),
            404,
            "InvalidConnectionString.NotFound",
        ),
        case(
            expire(&retained, &classic, "30"),
            400,
            "IncorrectDBInstanceState",
        ),
        // ModifyDBInstanceConnectionString
        case(
            Request::new("ModifyDBInstanceConnectionString")
                .param("InstanceId", &normal)
                .param("CurrentConnectionString", &normal_domain)
                .param("NewConnectionString", "ordersredis"),
            400,
            "MissingParameter",
        ),
        case(
            Request::new("ModifyDBInstanceConnectionString")
                .param("DBInstanceId", &normal)
                .param("NewConnectionString", "ordersredis"),
            400,
            "MissingParameter",
        ),
        case(
            endpoint("r-nosuchinstance", &normal_domain).param("Port", "6380"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            endpoint(&normal, &normal_domain)
                .param("Port", "6380")
                .param("IPType", "Internet"),
            400,
            "InvalidIPType.Format",
        ),
        case(endpoint(&normal, &normal_domain), 400, "MissingParameter"),
        case(
            endpoint(&normal, &normal_domain).param("NewConnectionString", "Orders-Redis"),
            400,
            "InvalidConnectionString.Format",
        ),
        case(
            endpoint(&normal, &normal_domain).param("Port", "80"),
            400,
            "InvalidParameter",
        ),
        case(
            endpoint(&normal, &normal_domain).param("Port", "high"),
            400,
            "InvalidParameter",
        ),
        case(
            endpoint(&busy, &busy_domain).param("Port", "6380"),
            400,
            "IncorrectDBInstanceState",
        ),
        case(
            endpoint(&normal, "elsewhere.redis.rds.aliyuncs.com").param("Port", "6380"),
            404,
            "InvalidConnectionString.NotFound",
        ),
        case(
            endpoint(&normal, &normal_domain)
                .param("Port", "6380")
                .param("IPType", "Public"),
            404,
            "InvalidConnectionString.NotFound",
        ),
        case(
            endpoint(&normal, &normal_domain).param("Port", "6379"),
            400,
            "InvalidConnectionStringOrPort.Duplicate",
        ),
        case(
            endpoint(&normal, &normal_domain).param("NewConnectionString", "takenprefix1"),
            400,
            "InvalidConnectionStringOrPort.Duplicate",
        ),
        // SwitchNetwork
        case(
            Request::new("SwitchNetwork")
                .param("VpcId", "vpc-1")
                .param("VSwitchId", "vsw-1"),
            400,
            "MissingParameter",
        ),
        case(
            switch("r-nosuchinstance"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(
            switch(&normal).param("TargetNetworkType", "CLASSIC"),
            400,
            "InvalidParameter",
        ),
        case(
            Request::new("SwitchNetwork")
                .param("InstanceId", &normal)
                .param("VpcId", "vpc-1"),
            400,
            "InvalidVpcIdOrVSwitchId.NotFound",
        ),
        case(
            switch(&normal)
                .param("RetainClassic", "True")
                .param("ClassicExpiredDays", "45"),
            400,
            "InvalidClassicExpiredDays.Format",
        ),
        case(
            switch(&normal).param("RetainClassic", "True"),
            400,
            "MissingParameter",
        ),
        case(
            switch(&normal).param("RetainClassic", "perhaps"),
            400,
            "InvalidParameter",
        ),
        case(switch(&vpc), 400, "IncorrectDBInstanceNetType"),
        case(switch(&busy), 400, "IncorrectDBInstanceState"),
        // ModifyInstanceMajorVersion
        case(
            Request::new("ModifyInstanceMajorVersion").param("InstanceId", &normal),
            400,
            "MissingParameter",
        ),
        case(
            upgrade("r-nosuchinstance", "6.0"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        case(upgrade(&normal, "9.9"), 400, "InvalidParameter"),
        case(
            upgrade(&normal, "6.0").param("EffectiveTime", "Whenever"),
            400,
            "InvalidParameter",
        ),
        case(upgrade(&normal, "5.0"), 400, "IncorrectEngineVersion"),
        case(upgrade(&normal, "4.0"), 400, "IncorrectEngineVersion"),
        case(upgrade(&busy, "6.0"), 400, "IncorrectDBInstanceState"),
    ];

    for (row, case) in cases.into_iter().enumerate() {
        let action = case.request.params["Action"].clone();
        let (status, body) = emu.call(case.request).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap_or("")),
            (case.status, case.code),
            "row {row} ({action}): {body}"
        );
        assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // None of the refused requests changed anything.
    let attribute = emu.attribute(&normal).await;
    assert_eq!(attribute["InstanceClass"], "redis.master.small.default");
    assert_eq!(attribute["ChargeType"], "PostPaid");
    assert_eq!(attribute["NetworkType"], "CLASSIC");
    assert_eq!(attribute["EngineVersion"], "5.0");
    assert_eq!(attribute["Port"], 6379);
    assert_eq!(attribute["MaintainStartTime"], "18:00Z");
    assert_eq!(attribute["InstanceStatus"], "Normal");
    emu.stop().await;
}

//! The emulator's network-security actions (whitelists, TLS, VPC password-free access),
//! driven by hand-signed requests against an in-process emulator with a hand-driven clock.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::clocked::{Clocked, assert_errors, request};

/// Every group as `(name, attribute, list)`, in the order `DescribeSecurityIps` gives them.
async fn groups(emu: &Clocked, id: &str) -> Vec<(String, String, String)> {
    let body = emu
        .ok(request("DescribeSecurityIps", &[("InstanceId", id)]))
        .await;
    body["SecurityIpGroups"]["SecurityIpGroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            let text = |key: &str| group[key].as_str().unwrap().to_owned();
            (
                text("SecurityIpGroupName"),
                text("SecurityIpGroupAttribute"),
                text("SecurityIpList"),
            )
        })
        .collect()
}

/// The comma-joined list of one group, if it exists.
async fn group(emu: &Clocked, id: &str, name: &str) -> Option<(String, String)> {
    groups(emu, id)
        .await
        .into_iter()
        .find(|(group, _, _)| group == name)
        .map(|(_, attribute, list)| (attribute, list))
}

async fn modify(emu: &Clocked, id: &str, params: &[(&str, &str)]) {
    let mut all = vec![("InstanceId", id)];
    all.extend_from_slice(params);
    emu.ok(request("ModifySecurityIps", &all)).await;
}

async fn ssl(emu: &Clocked, id: &str) -> Value {
    emu.ok(request("DescribeInstanceSSL", &[("InstanceId", id)]))
        .await
}

async fn modify_ssl(emu: &Clocked, id: &str, change: &str) -> Value {
    emu.ok(request(
        "ModifyInstanceSSL",
        &[("InstanceId", id), ("SSLEnabled", change)],
    ))
    .await
}

#[tokio::test]
async fn a_new_instance_has_default_and_the_hidden_system_groups() {
    let emu = Clocked::start(0, None).await;
    let id = emu.instance(&[]).await;
    let expected = [
        ("ali_dms_group", "hidden", "100.104.175.0/24,100.104.5.0/24"),
        ("default", "", "127.0.0.1"),
        ("hdm_security_ips", "hidden", "100.104.72.0/24"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(groups(&emu, &id).await, expected);
    emu.stop().await;
}

#[tokio::test]
async fn cover_append_and_delete_change_one_group() {
    let emu = Clocked::start(0, None).await;
    let id = emu.instance(&[]).await;

    modify(
        &emu,
        &id,
        &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.1.0/24, 10.0.2.15"),
        ],
    )
    .await;
    let expected = Some((String::new(), "10.0.1.0/24,10.0.2.15".to_owned()));
    assert_eq!(group(&emu, &id, "app").await, expected);

    modify(
        &emu,
        &id,
        &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.3.0/24"),
            ("ModifyMode", "Append"),
            ("SecurityIpGroupAttribute", "hidden"),
        ],
    )
    .await;
    let expected = Some((
        "hidden".to_owned(),
        "10.0.1.0/24,10.0.2.15,10.0.3.0/24".to_owned(),
    ));
    assert_eq!(group(&emu, &id, "app").await, expected);

    modify(
        &emu,
        &id,
        &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.2.15,10.0.1.0/24"),
            ("ModifyMode", "Delete"),
        ],
    )
    .await;
    let expected = Some(("hidden".to_owned(), "10.0.3.0/24".to_owned()));
    assert_eq!(group(&emu, &id, "app").await, expected, "attribute kept");

    modify(
        &emu,
        &id,
        &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.3.0/24"),
            ("ModifyMode", "Delete"),
        ],
    )
    .await;
    assert_eq!(group(&emu, &id, "app").await, None, "an emptied group goes");

    // Without a group name, `default` is covered; DescribeInstanceAttribute shows it too.
    modify(&emu, &id, &[("SecurityIps", "192.168.0.0/16,0.0.0.0/0")]).await;
    let expected = Some((String::new(), "192.168.0.0/16,0.0.0.0/0".to_owned()));
    assert_eq!(group(&emu, &id, "default").await, expected);
    assert_eq!(
        emu.attribute(&id).await["SecurityIPList"],
        "192.168.0.0/16,0.0.0.0/0"
    );
    emu.stop().await;
}

#[tokio::test]
async fn tls_goes_through_ssl_modifying_and_then_reports_its_certificate() {
    let emu = Clocked::start(20, None).await;
    let id = emu.instance(&[]).await;
    let off = ssl(&emu, &id).await;
    assert_eq!(off["SSLEnabled"], "Disable");
    assert_eq!(off["InstanceId"], id.as_str());
    for key in ["SSLExpiredTime", "CertCommonName", "CertDownloadURL"] {
        assert_eq!(off[key], "", "{key}");
    }

    let answer = modify_ssl(&emu, &id, "Enable").await;
    assert_eq!(answer["InstanceId"], id.as_str());
    assert!(answer["TaskId"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(emu.attribute(&id).await["InstanceStatus"], "SSLModifying");
    assert_eq!(ssl(&emu, &id).await["SSLEnabled"], "Disable", "not yet");

    emu.advance(20);
    assert_eq!(emu.attribute(&id).await["InstanceStatus"], "Normal");
    let on = ssl(&emu, &id).await;
    assert_eq!(on["SSLEnabled"], "Enable");
    assert_eq!(
        on["CertCommonName"],
        format!("{id}.redis.rds.aliyuncs.com").as_str()
    );
    assert!(
        on["CertDownloadURL"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let expiry =
        |body: &Value| -> Timestamp { body["SSLExpiredTime"].as_str().unwrap().parse().unwrap() };
    let first = expiry(&on);
    let validity = first.duration_since(Timestamp::now());
    assert!(
        validity > SignedDuration::from_hours(364 * 24)
            && validity < SignedDuration::from_hours(366 * 24),
        "a one-year certificate: {validity}"
    );

    modify_ssl(&emu, &id, "Update").await;
    emu.advance(20);
    assert!(
        expiry(&ssl(&emu, &id).await) > first,
        "a renewed certificate"
    );

    modify_ssl(&emu, &id, "Disable").await;
    assert_eq!(emu.attribute(&id).await["InstanceStatus"], "SSLModifying");
    emu.advance(20);
    assert_eq!(ssl(&emu, &id).await["SSLEnabled"], "Disable");
    emu.stop().await;
}

#[tokio::test]
async fn vpc_auth_mode_switches_on_vpc_instances() {
    let emu = Clocked::start(0, None).await;
    let id = emu.vpc_instance().await;
    assert_eq!(emu.attribute(&id).await["VpcAuthMode"], "Open");
    for (sent, shown) in [("Close", "Close"), ("OPEN", "Open"), ("CLOSE", "Close")] {
        emu.ok(request(
            "ModifyInstanceVpcAuthMode",
            &[("InstanceId", &id), ("VpcAuthMode", sent)],
        ))
        .await;
        assert_eq!(emu.attribute(&id).await["VpcAuthMode"], shown, "{sent}");
    }
    emu.stop().await;
}

#[tokio::test]
async fn every_security_error_code_is_answered_with_the_vendor_status() {
    let emu = Clocked::start(60, None).await;
    let id = emu.instance(&[]).await;
    let vpc = emu.vpc_instance().await;
    let old = emu.instance(&[("EngineVersion", "2.8")]).await;
    let tls = emu.instance(&[]).await;
    modify_ssl(&emu, &tls, "Enable").await;
    emu.advance(60);
    let busy = emu.vpc_instance().await;
    modify_ssl(&emu, &busy, "Enable").await;
    let thousand_and_one = (0..1001)
        .map(|n| format!("10.{}.{}.1", n / 250, n % 250))
        .collect::<Vec<_>>()
        .join(",");

    let (id, vpc, old, tls, busy) = (
        id.as_str(),
        vpc.as_str(),
        old.as_str(),
        tls.as_str(),
        busy.as_str(),
    );
    let ips = |instance, list| vec![("InstanceId", instance), ("SecurityIps", list)];
    let rows = vec![
        // DescribeSecurityIps
        ("DescribeSecurityIps", vec![], 400, "MissingParameter"),
        (
            "DescribeSecurityIps",
            vec![("InstanceId", "r-nosuch")],
            404,
            "InvalidInstanceId.NotFound",
        ),
        // ModifySecurityIps
        (
            "ModifySecurityIps",
            vec![("InstanceId", id)],
            400,
            "MissingParameter",
        ),
        (
            "ModifySecurityIps",
            ips("r-nosuch", "1.1.1.1"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "ModifySecurityIps",
            [
                ips(id, "1.1.1.1"),
                vec![("SecurityIpGroupName", "ali_dms_group")],
            ]
            .concat(),
            403,
            "OperationDenied.SystemGroup",
        ),
        (
            "ModifySecurityIps",
            [ips(id, "1.1.1.1"), vec![("SecurityIpGroupName", "App")]].concat(),
            400,
            "InvalidGroupName.Format",
        ),
        (
            "ModifySecurityIps",
            [ips(id, "1.1.1.1"), vec![("ModifyMode", "cover")]].concat(),
            400,
            "InvalidParameter",
        ),
        (
            "ModifySecurityIps",
            [
                ips(id, "1.1.1.1"),
                vec![("SecurityIpGroupAttribute", "not-hidden")],
            ]
            .concat(),
            400,
            "InvalidParameter",
        ),
        (
            "ModifySecurityIps",
            ips(id, "10.0.0.0/33"),
            400,
            "InvalidSecurityIPList.Format",
        ),
        (
            "ModifySecurityIps",
            ips(id, "1.1.1.1,"),
            400,
            "InvalidSecurityIPList.Format",
        ),
        (
            "ModifySecurityIps",
            ips(busy, "1.1.1.1"),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "ModifySecurityIps",
            [
                ips(id, "1.1.1.1"),
                vec![("SecurityIpGroupName", "nosuch"), ("ModifyMode", "Delete")],
            ]
            .concat(),
            404,
            "InvalidSecurityIPList.NotFound",
        ),
        (
            "ModifySecurityIps",
            [ips(id, "9.9.9.9"), vec![("ModifyMode", "Delete")]].concat(),
            404,
            "InvalidSecurityIPList.NotFound",
        ),
        (
            "ModifySecurityIps",
            [ips(id, "127.0.0.1"), vec![("ModifyMode", "Delete")]].concat(),
            404,
            "InvalidSecurityIPList.NotFound",
        ),
        (
            "ModifySecurityIps",
            [ips(id, "127.0.0.1"), vec![("ModifyMode", "Append")]].concat(),
            409,
            "SecurityIPList.Duplicate",
        ),
        (
            "ModifySecurityIps",
            ips(id, &thousand_and_one),
            400,
            "InvalidSecurityIPList.QuotaExceeded",
        ),
        // ModifyInstanceSSL
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", id)],
            400,
            "MissingParameter",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", "r-nosuch"), ("SSLEnabled", "Enable")],
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", old), ("SSLEnabled", "Enable")],
            403,
            "IncorrectEngineVersion",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", id), ("SSLEnabled", "enable")],
            400,
            "InvalidParameters.Format",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", busy), ("SSLEnabled", "Disable")],
            403,
            "IncorrectDBInstanceState",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", tls), ("SSLEnabled", "Enable")],
            403,
            "IncorrectSSLStatus",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", id), ("SSLEnabled", "Disable")],
            403,
            "IncorrectSSLStatus",
        ),
        (
            "ModifyInstanceSSL",
            vec![("InstanceId", id), ("SSLEnabled", "Update")],
            403,
            "IncorrectSSLStatus",
        ),
        // DescribeInstanceSSL
        ("DescribeInstanceSSL", vec![], 400, "MissingParameter"),
        (
            "DescribeInstanceSSL",
            vec![("InstanceId", "r-nosuch")],
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "DescribeInstanceSSL",
            vec![("InstanceId", old)],
            403,
            "IncorrectEngineVersion",
        ),
        // ModifyInstanceVpcAuthMode
        (
            "ModifyInstanceVpcAuthMode",
            vec![("InstanceId", vpc)],
            400,
            "MissingParameter",
        ),
        (
            "ModifyInstanceVpcAuthMode",
            vec![("InstanceId", "r-nosuch"), ("VpcAuthMode", "Close")],
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "ModifyInstanceVpcAuthMode",
            vec![("InstanceId", id), ("VpcAuthMode", "Close")],
            400,
            "IncorrectDBInstanceNetType",
        ),
        (
            "ModifyInstanceVpcAuthMode",
            vec![("InstanceId", vpc), ("VpcAuthMode", "close")],
            400,
            "InvalidParameter",
        ),
        (
            "ModifyInstanceVpcAuthMode",
            vec![("InstanceId", busy), ("VpcAuthMode", "Close")],
            400,
            "IncorrectDBInstanceState",
        ),
    ];
    assert_errors(&emu, rows).await;
    // Nothing above changed the whitelists.
    assert_eq!(group(&emu, id, "default").await.unwrap().1, "127.0.0.1");
    emu.stop().await;
}

//! The instance lifecycle family: every error code its actions can return.

use crate::support::{Request, call, create_normal_instance, start_with_durations};

fn create() -> Request {
    Request::new("CreateInstance")
        .param("RegionId", "cn-hangzhou")
        .param("InstanceClass", "redis.master.small.default")
}

#[tokio::test]
async fn every_instance_family_error_code() {
    // Long enough that a fresh instance is still Creating during the table.
    let emu = start_with_durations(30.0).await;
    let url = emu.url();
    let (_, creating) = call(&url, create().param("InstanceName", "creating")).await;
    let creating = creating["InstanceId"].as_str().unwrap().to_owned();
    let (_, first) = call(
        &url,
        create()
            .param("InstanceName", "tokened")
            .param("Token", "t-1"),
    )
    .await;
    assert!(first["InstanceId"].is_string());

    let cases: Vec<(&str, Request, u16, &str)> = vec![
        (
            "create without region",
            Request::new("CreateInstance").param("InstanceClass", "redis.master.small.default"),
            400,
            "MissingParameter",
        ),
        (
            "unknown region",
            create().param("RegionId", "mars-north-1"),
            404,
            "InvalidRegion.NotFound",
        ),
        (
            "zone of another region",
            create().param("ZoneId", "cn-beijing-a"),
            400,
            "InvalidZoneId.NotFound",
        ),
        (
            "no class",
            Request::new("CreateInstance").param("RegionId", "cn-hangzhou"),
            400,
            "MissingClassCode",
        ),
        (
            "unknown class",
            create().param("InstanceClass", "redis.master.huge.default"),
            404,
            "InvalidDBInstanceClass.NotFound",
        ),
        (
            "engine version",
            create().param("EngineVersion", "3.2"),
            400,
            "InvalidParameter",
        ),
        (
            "charge type",
            create().param("ChargeType", "Monthly"),
            400,
            "InvalidParameter",
        ),
        (
            "PrePaid without period",
            create().param("ChargeType", "PrePaid"),
            400,
            "MissingParameter",
        ),
        (
            "period 10",
            create()
                .param("ChargeType", "PrePaid")
                .param("Period", "10"),
            400,
            "InvalidPeriod",
        ),
        (
            "period not a number",
            create()
                .param("ChargeType", "PrePaid")
                .param("Period", "ten"),
            400,
            "InvalidParameter",
        ),
        (
            "network type",
            create().param("NetworkType", "Mesh"),
            400,
            "InvalidParameter",
        ),
        (
            "VPC without vSwitch",
            create().param("NetworkType", "VPC").param("VpcId", "vpc-1"),
            400,
            "InvalidVpcIdOrVSwitchId.NotFound",
        ),
        (
            "name with a slash",
            create().param("InstanceName", "a/b"),
            400,
            "InvalidInstanceName.Malformed",
        ),
        (
            "name starting with a digit",
            create().param("InstanceName", "1abc"),
            400,
            "InvalidInstanceName.Malformed",
        ),
        (
            "weak password",
            create().param("Password", "password"),
            400,
            "InvalidPassword.Malformed",
        ),
        (
            "long token",
            create().param("Token", &"t".repeat(65)),
            400,
            "InvalidToken.Malformed",
        ),
        (
            "token reused differently",
            create()
                .param("InstanceName", "other")
                .param("Token", "t-1"),
            400,
            "IdempotentParameterMismatch",
        ),
        (
            "tag without key",
            create().param("Tag.1.Value", "v"),
            400,
            "MissingParameter",
        ),
        (
            "21 tags",
            (1..=21).fold(create(), |r, n| {
                r.param(&format!("Tag.{n}.Key"), &format!("k{n}"))
                    .param(&format!("Tag.{n}.Value"), "v")
            }),
            400,
            "InvalidParameter",
        ),
        (
            "page size 0",
            Request::new("DescribeInstances").param("PageSize", "0"),
            400,
            "InvalidParameter",
        ),
        (
            "page number 0",
            Request::new("DescribeInstances").param("PageNumber", "0"),
            400,
            "InvalidParameter",
        ),
        (
            "listing an unknown region",
            Request::new("DescribeInstances").param("RegionId", "mars-north-1"),
            404,
            "InvalidRegion.NotFound",
        ),
        (
            "attribute without id",
            Request::new("DescribeInstanceAttribute"),
            400,
            "MissingParameter",
        ),
        (
            "unknown instance",
            Request::new("DescribeInstanceAttribute").param("InstanceId", "r-nope"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "modify nothing",
            Request::new("ModifyInstanceAttribute").param("InstanceId", &creating),
            400,
            "MissingParameter",
        ),
        (
            "modify while creating",
            Request::new("ModifyInstanceAttribute")
                .param("InstanceId", &creating)
                .param("InstanceReleaseProtection", "true"),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "protection not a boolean",
            Request::new("ModifyInstanceAttribute")
                .param("InstanceId", &creating)
                .param("InstanceReleaseProtection", "yes"),
            400,
            "InvalidParameter",
        ),
        (
            "delete while creating",
            Request::new("DeleteInstance").param("InstanceId", &creating),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "delete unknown",
            Request::new("DeleteInstance").param("InstanceId", "r-nope"),
            404,
            "InvalidInstanceId.NotFound",
        ),
    ];
    for (name, request, status, code) in cases {
        let (got, body) = call(&url, request).await;
        assert_eq!(
            (got, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {body}"
        );
    }
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn protected_and_subscription_instances_cannot_be_deleted() {
    let emu = start_with_durations(0.1).await;
    let url = emu.url();
    let protected = create_normal_instance(&url, "cn-hangzhou", "protected").await;
    call(
        &url,
        Request::new("ModifyInstanceAttribute")
            .param("InstanceId", &protected)
            .param("InstanceReleaseProtection", "True"),
    )
    .await;
    let (status, body) = call(
        &url,
        Request::new("DeleteInstance").param("InstanceId", &protected),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (403, "OperationDenied.ReleaseProtection")
    );

    let (_, prepaid) = call(
        &url,
        create()
            .param("InstanceName", "yearly")
            .param("ChargeType", "PrePaid")
            .param("Period", "12"),
    )
    .await;
    assert!(
        prepaid["EndTime"].as_str().is_some_and(|t| !t.is_empty()),
        "{prepaid}"
    );
    let id = prepaid["InstanceId"].as_str().unwrap();
    crate::support::wait_normal(&url, id).await;
    let (status, body) = call(&url, Request::new("DeleteInstance").param("InstanceId", id)).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "IncorrectDBInstanceType")
    );
    emu.stop().await.unwrap();
}

/// The attribute of `id` and its entry in `DescribeInstances`.
async fn attribute_and_listing(url: &str, id: &str) -> (serde_json::Value, serde_json::Value) {
    let (_, attribute) = call(
        url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", id),
    )
    .await;
    let (_, listed) = call(
        url,
        Request::new("DescribeInstances")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceIds", id),
    )
    .await;
    (
        attribute["Instances"]["DBInstanceAttribute"][0].clone(),
        listed["Instances"]["KVStoreInstance"][0].clone(),
    )
}

#[tokio::test]
async fn the_declared_endpoint_and_architecture_are_what_the_describes_report() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let (status, created) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("ZoneId", "cn-hangzhou-h")
            .param(
                "InstanceClass",
                "redis.logic.sharding.2g.4db.0rodb.4proxy.default",
            )
            .param("NetworkType", "VPC")
            .param("VpcId", "vpc-1")
            .param("VSwitchId", "vsw-1")
            .param("Port", "6390")
            .param("PrivateIpAddress", "10.0.0.20")
            .param("ConnectionStringPrefix", "ordersredis")
            .param("NodeType", "MASTER_SLAVE")
            .param("ShardCount", "8")
            .param("ReplicaCount", "2")
            .param("SecondaryZoneId", "cn-hangzhou-i"),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["InstanceId"].as_str().unwrap().to_owned();
    let (attribute, listed) = attribute_and_listing(&url, &id).await;
    for body in [&attribute, &listed] {
        assert_eq!(body["Port"], 6390);
        assert_eq!(body["PrivateIp"], "10.0.0.20");
        assert_eq!(
            body["ConnectionDomain"],
            "ordersredis.redis.rds.aliyuncs.com"
        );
        assert_eq!(body["ShardCount"], 8);
        assert_eq!(body["ReplicaCount"], 2);
        assert_eq!(body["SecondaryZoneId"], "cn-hangzhou-i");
        assert_eq!(body["NodeType"], "double");
    }
    let (_, net) = call(
        &url,
        Request::new("DescribeDBInstanceNetInfo").param("InstanceId", &id),
    )
    .await;
    let endpoint = &net["NetInfoItems"]["InstanceNetInfo"][0];
    assert_eq!(endpoint["Port"], "6390");
    assert_eq!(endpoint["IPAddress"], "10.0.0.20");

    let (status, body) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default")
            .param("ShardCount", "4"),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidParameter"))
    );
    assert!(body["Message"].as_str().unwrap().contains("ShardCount"));
    let (status, body) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default")
            .param("ConnectionStringPrefix", "ordersredis"),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidConnectionStringOrPort.Duplicate"))
    );
    emu.stop().await.unwrap();
}

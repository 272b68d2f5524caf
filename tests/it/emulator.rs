//! The emulator as a server: signatures, nonces, wire tolerance and the instance lifecycle,
//! driven by hand-built requests rather than kvsync's client.

use kvsync::api::sign;
use kvsync::emulator::{self, EmulatorConfig};

use crate::support::{Request, send, start};

#[tokio::test]
async fn a_wrong_secret_is_refused_with_400_signature_does_not_match() {
    let emu = start().await;
    let request = Request::new("DescribeRegions");
    let (status, body) = send(
        &emu.url(),
        "POST",
        &request.signed_query("POST", "not-the-secret"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["Code"], "SignatureDoesNotMatch");
    // The message carries the server's string to sign after a colon, as the cloud's does.
    let message = body["Message"].as_str().unwrap();
    let (_, server_sts) = message.split_once(':').unwrap();
    assert_eq!(server_sts, sign::string_to_sign("POST", &request.params));
    assert!(body["RequestId"].as_str().is_some_and(|id| !id.is_empty()));
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn a_reused_nonce_is_refused() {
    let emu = start().await;
    let query = Request::new("DescribeRegions").signed_query("POST", "testsecret");
    let (first, _) = send(&emu.url(), "POST", &query).await;
    assert_eq!(first, 200);
    let (status, body) = send(&emu.url(), "POST", &query).await;
    assert_eq!(status, 400);
    assert_eq!(body["Code"], "SignatureNonceUsed");
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn get_requests_and_form_style_spaces_are_accepted() {
    let emu = start().await;
    let request = Request::new("DescribeRegions").param("AcceptLanguage", "en-US");
    let (status, body) = send(
        &emu.url(),
        "GET",
        &request.signed_query("GET", "testsecret"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["RegionIds"]["KVStoreRegion"].as_array().unwrap().len() >= 3);

    // `+` for a space in the query (form encoding, as one official SDK sends it).
    let request = Request::new("DescribeInstances")
        .param("RegionId", "cn-hangzhou")
        .param("InstanceStatus", "No Such Status");
    let query = request
        .signed_query("POST", "testsecret")
        .replace("%20", "+");
    let (status, body) = send(&emu.url(), "POST", &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TotalCount"], 0);
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_keys_and_actions_get_the_vendor_codes() {
    let emu = start().await;
    let request = Request::new("DescribeRegions").param("AccessKeyId", "someone-else");
    let (status, body) = send(&emu.url(), "POST", &request.signed_query("POST", "x")).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (404, "InvalidAccessKeyId.NotFound")
    );

    let request = Request::new("LaunchRockets");
    let (status, body) = send(
        &emu.url(),
        "POST",
        &request.signed_query("POST", "testsecret"),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (404, "InvalidAction.NotFound")
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn create_is_idempotent_by_token_and_moves_from_creating_to_normal() {
    let emu = start().await;
    let create = |token: &str, class: &str| {
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceName", "tokened")
            .param("InstanceClass", class)
            .param("Token", token)
            .param("Tag.1.Key", "team")
            .param("Tag.1.Value", "a")
            .signed_query("POST", "testsecret")
    };
    let (status, first) = send(
        &emu.url(),
        "POST",
        &create("tok-1", "redis.master.small.default"),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["InstanceStatus"], "Creating");
    let (_, again) = send(
        &emu.url(),
        "POST",
        &create("tok-1", "redis.master.small.default"),
    )
    .await;
    assert_eq!(again["InstanceId"], first["InstanceId"]);
    let (status, mismatch) = send(
        &emu.url(),
        "POST",
        &create("tok-1", "redis.master.mid.default"),
    )
    .await;
    assert_eq!(
        (status, mismatch["Code"].as_str().unwrap()),
        (400, "IdempotentParameterMismatch")
    );

    let id = first["InstanceId"].as_str().unwrap().to_owned();
    let describe = || {
        Request::new("DescribeInstanceAttribute")
            .param("InstanceId", &id)
            .signed_query("POST", "testsecret")
    };
    let mut status_seen = String::new();
    for _ in 0..50 {
        let (_, body) = send(&emu.url(), "POST", &describe()).await;
        let attribute = &body["Instances"]["DBInstanceAttribute"][0];
        assert!(
            attribute["Config"].is_string(),
            "Config must be a JSON string"
        );
        status_seen = attribute["InstanceStatus"].as_str().unwrap().to_owned();
        if status_seen == "Normal" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status_seen, "Normal");

    let list = Request::new("DescribeInstances")
        .param("RegionId", "cn-hangzhou")
        .param("Tag.1.Key", "team")
        .param("Tag.1.Value", "a")
        .signed_query("POST", "testsecret");
    let (_, body) = send(&emu.url(), "POST", &list).await;
    assert_eq!(body["TotalCount"], 1);
    assert_eq!(
        body["Instances"]["KVStoreInstance"][0]["Tags"]["Tag"][0]["Key"],
        "team"
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn describe_instances_pages_at_most_50() {
    let emu = start().await;
    for n in 0..55 {
        let query = Request::new("CreateInstance")
            .param("RegionId", "cn-shanghai")
            .param("InstanceName", &format!("paged-{n}"))
            .param("InstanceClass", "redis.master.small.default")
            .signed_query("POST", "testsecret");
        let (status, body) = send(&emu.url(), "POST", &query).await;
        assert_eq!(status, 200, "{body}");
    }
    let page = |number: &str, size: &str| {
        Request::new("DescribeInstances")
            .param("RegionId", "cn-shanghai")
            .param("PageNumber", number)
            .param("PageSize", size)
            .signed_query("POST", "testsecret")
    };
    let (status, body) = send(&emu.url(), "POST", &page("1", "51")).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "InvalidParameter")
    );
    let (_, first) = send(&emu.url(), "POST", &page("1", "50")).await;
    let (_, second) = send(&emu.url(), "POST", &page("2", "50")).await;
    assert_eq!(first["TotalCount"], 55);
    assert_eq!(
        first["Instances"]["KVStoreInstance"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    assert_eq!(
        second["Instances"]["KVStoreInstance"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        state_path: Some(dir.path().join("state.json")),
        ..EmulatorConfig::default()
    };
    let emu = emulator::start("127.0.0.1:0", config.clone())
        .await
        .unwrap();
    let query = Request::new("CreateInstance")
        .param("RegionId", "cn-hangzhou")
        .param("InstanceName", "durable")
        .param("InstanceClass", "redis.master.small.default")
        .signed_query("POST", "testsecret");
    let (status, created) = send(&emu.url(), "POST", &query).await;
    assert_eq!(status, 200);
    emu.stop().await.unwrap();

    let emu = emulator::start("127.0.0.1:0", config).await.unwrap();
    let query = Request::new("DescribeInstances")
        .param("RegionId", "cn-hangzhou")
        .signed_query("POST", "testsecret");
    let (_, body) = send(&emu.url(), "POST", &query).await;
    assert_eq!(
        body["Instances"]["KVStoreInstance"][0]["InstanceId"],
        created["InstanceId"]
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn release_protection_blocks_delete_until_it_is_lifted() {
    use crate::support::{call, create_normal_instance, start_with_durations};
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "guarded").await;
    let protect = |on: &str| {
        Request::new("ModifyInstanceAttribute")
            .param("InstanceId", &id)
            .param("InstanceReleaseProtection", on)
    };
    let (status, _) = call(&url, protect("True")).await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &url,
        Request::new("DeleteInstance").param("InstanceId", &id),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (403, "OperationDenied.ReleaseProtection")
    );
    let (status, _) = call(&url, protect("false")).await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &url,
        Request::new("DeleteInstance").param("InstanceId", &id),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", &id),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (404, "InvalidInstanceId.NotFound")
    );
    emu.stop().await.unwrap();
}

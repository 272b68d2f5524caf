//! The parameter family against the in-process emulator: `Config` as a JSON string, values
//! stored as text, the `Param*` settings, and every error code the family returns.

use serde_json::{Map, Value, json};

use crate::support::{Request, call, create_normal_instance, start_with_durations};

/// `DescribeInstanceConfig` of `id`: the whole answer and its `Config` parsed.
async fn describe(url: &str, id: &str) -> (Value, Map<String, Value>) {
    let (status, body) = call(
        url,
        Request::new("DescribeInstanceConfig").param("InstanceId", id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let config = body["Config"].as_str().expect("Config is a JSON string");
    let parsed = serde_json::from_str(config).expect("Config parses as a JSON object");
    (body, parsed)
}

/// The `Config` string `DescribeInstanceAttribute` reports for `id`.
async fn attribute_config(url: &str, id: &str) -> String {
    let (_, body) = call(
        url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", id),
    )
    .await;
    body["Instances"]["DBInstanceAttribute"][0]["Config"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn modify(id: &str, config: &Value) -> Request {
    Request::new("ModifyInstanceConfig")
        .param("InstanceId", id)
        .param("Config", &config.to_string())
}

#[tokio::test]
async fn a_new_instance_reports_the_default_parameters_as_a_json_string() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "defaults").await;
    let (body, config) = describe(&url, &id).await;
    assert_eq!(config["maxmemory-policy"], "volatile-lru");
    assert_eq!(config["hash-max-ziplist-entries"], "512");
    assert_eq!(config["zset-max-ziplist-entries"], "128");
    assert_eq!(config["notify-keyspace-events"], "");
    assert_eq!(config["appendonly"], "yes");
    assert_eq!(config.len(), 11);
    assert_eq!(body["ParamNoLooseSentinelEnabled"], "no");
    assert_eq!(body["ParamNoLooseSentinelPasswordFreeAccess"], "no");
    assert_eq!(body["ParamNoLooseSentinelPasswordFreeCommands"], "");
    assert_eq!(body["ParamReplMode"], "async");
    assert_eq!(body["ParamReplTimeout"], "500");
    assert_eq!(body["ParamSentinelCompatEnable"], "0");
    assert_eq!(
        body["Config"].as_str().unwrap(),
        attribute_config(&url, &id).await,
        "DescribeInstanceAttribute shows the same parameters"
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn modified_values_are_stored_as_text_and_shown_by_both_describes() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "tuned").await;
    let (status, body) = call(
        &url,
        modify(
            &id,
            &json!({
                "maxmemory-policy": "allkeys-lru",
                "hash-max-ziplist-entries": 256,
                "notify-keyspace-events": "Ex",
                "timeout": "300"
            }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only RequestId: {body}");

    let (body, config) = describe(&url, &id).await;
    assert_eq!(config["maxmemory-policy"], "allkeys-lru");
    assert_eq!(
        config["hash-max-ziplist-entries"], "256",
        "a number is echoed as text"
    );
    assert_eq!(config["notify-keyspace-events"], "Ex");
    assert_eq!(config["timeout"], "300");
    assert_eq!(
        config["appendonly"], "yes",
        "untouched parameters keep their value"
    );
    assert_eq!(
        body["Config"].as_str().unwrap(),
        attribute_config(&url, &id).await
    );

    // The vendor's examples use the older name of the eviction policy.
    let (status, _) = call(&url, modify(&id, &json!({"EvictionPolicy": "noeviction"}))).await;
    assert_eq!(status, 200);
    let (_, config) = describe(&url, &id).await;
    assert_eq!(config["maxmemory-policy"], "noeviction");
    assert!(config.get("EvictionPolicy").is_none());

    // One bad value refuses the whole request.
    let (status, _) = call(
        &url,
        modify(&id, &json!({"timeout": "60", "appendonly": "maybe"})),
    )
    .await;
    assert_eq!(status, 400);
    let (_, config) = describe(&url, &id).await;
    assert_eq!(config["timeout"], "300");

    let (status, body) = call(
        &url,
        Request::new("ModifyInstanceConfig")
            .param("InstanceId", &id)
            .param("ParamReplMode", "semisync")
            .param("ParamSemisyncReplTimeout", "1000")
            .param("ParamNoLooseSentinelEnabled", "yes"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (body, config) = describe(&url, &id).await;
    assert_eq!(body["ParamReplMode"], "semisync");
    assert_eq!(body["ParamReplTimeout"], "1000");
    assert_eq!(body["ParamNoLooseSentinelEnabled"], "yes");
    assert_eq!(body["ParamSentinelCompatEnable"], "0");
    assert_eq!(config.len(), 11, "Param* settings stay out of Config");
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn every_config_family_error_code() {
    let emu = start_with_durations(0.2).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "table").await;
    let slow = start_with_durations(60.0).await;
    let slow_url = slow.url();
    let (_, created) = call(
        &slow_url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    let creating = created["InstanceId"].as_str().unwrap().to_owned();
    let unknown = "r-doesnotexist0000";
    let raw = |text: &str| {
        Request::new("ModifyInstanceConfig")
            .param("InstanceId", &id)
            .param("Config", text)
    };

    let cases: Vec<(&str, &str, Request, u16, &str)> = vec![
        (
            "describe without instance",
            &url,
            Request::new("DescribeInstanceConfig"),
            400,
            "MissingParameter",
        ),
        (
            "describe unknown instance",
            &url,
            Request::new("DescribeInstanceConfig").param("InstanceId", unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "modify without instance",
            &url,
            Request::new("ModifyInstanceConfig").param("Config", "{}"),
            400,
            "MissingParameter",
        ),
        (
            "modify unknown instance",
            &url,
            modify(unknown, &json!({"timeout": 0})),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "nothing to change",
            &url,
            Request::new("ModifyInstanceConfig").param("InstanceId", &id),
            400,
            "MissingParameter",
        ),
        (
            "not JSON",
            &url,
            raw("maxmemory-policy=noeviction"),
            400,
            "InvalidParameters.Format",
        ),
        (
            "a JSON array",
            &url,
            raw("[1]"),
            400,
            "InvalidParameters.Format",
        ),
        (
            "unknown parameter",
            &url,
            modify(&id, &json!({"maxmemory": "1gb"})),
            400,
            "InvalidParameter",
        ),
        (
            "unknown eviction policy",
            &url,
            modify(&id, &json!({"maxmemory-policy": "lru"})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "ziplist entries 0",
            &url,
            modify(&id, &json!({"hash-max-ziplist-entries": 0})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "intset entries 10001",
            &url,
            modify(&id, &json!({"set-max-intset-entries": "10001"})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "fractional value",
            &url,
            modify(&id, &json!({"zset-max-ziplist-value": 64.5})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "keyspace events without K or E",
            &url,
            modify(&id, &json!({"notify-keyspace-events": "x"})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "timeout too long",
            &url,
            modify(&id, &json!({"timeout": 100_001})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "appendonly as a boolean",
            &url,
            modify(&id, &json!({"appendonly": true})),
            400,
            "InvalidParameters.Format",
        ),
        (
            "both eviction names disagree",
            &url,
            modify(
                &id,
                &json!({"EvictionPolicy": "allkeys-lru", "maxmemory-policy": "noeviction"}),
            ),
            400,
            "InvalidParameters.Format",
        ),
        (
            "replication mode",
            &url,
            Request::new("ModifyInstanceConfig")
                .param("InstanceId", &id)
                .param("ParamReplMode", "sync"),
            400,
            "InvalidParameter",
        ),
        (
            "semisync timeout 5",
            &url,
            Request::new("ModifyInstanceConfig")
                .param("InstanceId", &id)
                .param("ParamSemisyncReplTimeout", "5"),
            400,
            "InvalidParameter",
        ),
        (
            "creating instance",
            &slow_url,
            modify(&creating, &json!({"timeout": 0})),
            400,
            "IncorrectDBInstanceState",
        ),
    ];
    for (name, target, request, status, code) in cases {
        let (got_status, body) = call(target, request).await;
        assert_eq!(
            (got_status, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {body}"
        );
    }

    let (_, body) = call(&url, modify(&id, &json!({"maxmemory": "1gb"}))).await;
    assert!(
        body["Message"].as_str().unwrap().contains("\"maxmemory\""),
        "the unknown parameter is named: {body}"
    );
    slow.stop().await.unwrap();
    emu.stop().await.unwrap();
}

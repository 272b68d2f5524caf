//! The emulator's tag actions, driven by hand-built signed requests: answer shapes, the tags an
//! instance carries afterwards, paging, and every error code.

use serde_json::Value;

use crate::support::{Request, call, call_ok, start};

/// Creates an instance in `region` (tags do not need it to be `Normal`); returns its ID.
async fn create(url: &str, region: &str, name: &str) -> String {
    let (status, body) = call(
        url,
        Request::new("CreateInstance")
            .param("RegionId", region)
            .param("InstanceName", name)
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["InstanceId"].as_str().unwrap().to_owned()
}

/// A tag-family request for cn-hangzhou instances naming `ids`.
fn tag_request(action: &str, ids: &[&str]) -> Request {
    let mut request = Request::new(action)
        .param("RegionId", "cn-hangzhou")
        .param("ResourceType", "INSTANCE");
    for (n, id) in ids.iter().enumerate() {
        request = request.param(&format!("ResourceId.{}", n + 1), id);
    }
    request
}

/// Adds `Tag.N.Key`/`Tag.N.Value` pairs.
fn with_tags(mut request: Request, tags: &[(&str, &str)]) -> Request {
    for (n, (key, value)) in tags.iter().enumerate() {
        request = request
            .param(&format!("Tag.{}.Key", n + 1), key)
            .param(&format!("Tag.{}.Value", n + 1), value);
    }
    request
}

/// The rows of one `ListTagResources` page as `(ResourceId, TagKey, TagValue)`, and its token.
fn rows(body: &Value) -> (Vec<(String, String, String)>, String) {
    let rows = body["TagResources"]["TagResource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["ResourceType"], "ALIYUN::KVSTORE::INSTANCE");
            (
                row["ResourceId"].as_str().unwrap().to_owned(),
                row["TagKey"].as_str().unwrap().to_owned(),
                row["TagValue"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (rows, body["NextToken"].as_str().unwrap().to_owned())
}

fn row(id: &str, key: &str, value: &str) -> (String, String, String) {
    (id.to_owned(), key.to_owned(), value.to_owned())
}

/// The tags `DescribeInstanceAttribute` reports, in order.
async fn attribute_tags(url: &str, id: &str) -> Vec<(String, String)> {
    let body = call_ok(
        url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", id),
    )
    .await;
    body["Instances"]["DBInstanceAttribute"][0]["Tags"]["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| {
            (
                tag["Key"].as_str().unwrap().to_owned(),
                tag["Value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tags_are_added_replaced_in_place_and_listed() {
    let emu = start().await;
    let url = emu.url();
    let first = create(&url, "cn-hangzhou", "first").await;
    let second = create(&url, "cn-hangzhou", "second").await;

    let body = call_ok(
        &url,
        with_tags(
            tag_request("TagResources", &[&first, &second]),
            &[("team", "a"), ("env", "dev")],
        ),
    )
    .await;
    assert_eq!(body.as_object().unwrap().len(), 1, "only RequestId: {body}");

    call_ok(
        &url,
        with_tags(tag_request("TagResources", &[&first]), &[("env", "prod")]),
    )
    .await;
    assert_eq!(
        attribute_tags(&url, &first).await,
        vec![("team".into(), "a".into()), ("env".into(), "prod".into())]
    );

    let body = call_ok(&url, tag_request("ListTagResources", &[&first])).await;
    let (listed, token) = rows(&body);
    assert_eq!(
        listed,
        vec![row(&first, "team", "a"), row(&first, "env", "prod")]
    );
    assert_eq!(token, "");

    // By tag: every tag of each instance carrying it, oldest instance first.
    let body = call_ok(
        &url,
        with_tags(tag_request("ListTagResources", &[]), &[("team", "a")]),
    )
    .await;
    assert_eq!(
        rows(&body).0,
        vec![
            row(&first, "team", "a"),
            row(&first, "env", "prod"),
            row(&second, "team", "a"),
            row(&second, "env", "dev"),
        ]
    );
    let body = call_ok(
        &url,
        with_tags(tag_request("ListTagResources", &[]), &[("env", "dev")]),
    )
    .await;
    assert_eq!(
        rows(&body).0,
        vec![row(&second, "team", "a"), row(&second, "env", "dev")]
    );
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn untag_removes_named_keys_or_all_of_them() {
    let emu = start().await;
    let url = emu.url();
    let id = create(&url, "cn-hangzhou", "untagged").await;
    call_ok(
        &url,
        with_tags(
            tag_request("TagResources", &[&id]),
            &[("a", "1"), ("b", "2"), ("c", "3")],
        ),
    )
    .await;

    call_ok(
        &url,
        tag_request("UntagResources", &[&id])
            .param("TagKey.1", "b")
            .param("TagKey.2", "not-there"),
    )
    .await;
    assert_eq!(
        attribute_tags(&url, &id).await,
        vec![("a".into(), "1".into()), ("c".into(), "3".into())]
    );

    call_ok(
        &url,
        tag_request("UntagResources", &[&id]).param("All", "True"),
    )
    .await;
    assert!(attribute_tags(&url, &id).await.is_empty());
    let body = call_ok(&url, tag_request("ListTagResources", &[&id])).await;
    assert!(rows(&body).0.is_empty());
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn listings_page_fifty_rows_at_a_time() {
    let emu = start().await;
    let url = emu.url();
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = create(&url, "cn-hangzhou", &format!("paged-{n}")).await;
        let tags: Vec<(String, String)> = (0..20)
            .map(|t| (format!("key{t:02}"), format!("{n}-{t}")))
            .collect();
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        call_ok(&url, with_tags(tag_request("TagResources", &[&id]), &pairs)).await;
        ids.push(id);
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();

    let first = call_ok(&url, tag_request("ListTagResources", &id_refs)).await;
    let (first_rows, token) = rows(&first);
    assert_eq!(first_rows.len(), 50);
    assert!(!token.is_empty());
    let second = call_ok(
        &url,
        tag_request("ListTagResources", &id_refs).param("NextToken", &token),
    )
    .await;
    let (second_rows, last_token) = rows(&second);
    assert_eq!(second_rows.len(), 10);
    assert_eq!(last_token, "");

    let mut all = first_rows;
    all.extend(second_rows);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 60, "every row exactly once");
    assert_eq!(all[0], row(&ids[0], "key00", "0-0"));
    assert_eq!(all[59], row(&ids[2], "key19", "2-19"));
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_over_the_per_instance_limit_changes_nothing() {
    let emu = start().await;
    let url = emu.url();
    let roomy = create(&url, "cn-hangzhou", "roomy").await;
    let full = create(&url, "cn-hangzhou", "full").await;
    let keys: Vec<String> = (0..19).map(|n| format!("k{n}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    call_ok(
        &url,
        with_tags(tag_request("TagResources", &[&full]), &pairs),
    )
    .await;

    let (status, body) = call(
        &url,
        with_tags(
            tag_request("TagResources", &[&roomy, &full]),
            &[("x", "1"), ("y", "2")],
        ),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "NumberExceed.Tags")
    );
    assert!(attribute_tags(&url, &roomy).await.is_empty());
    assert_eq!(attribute_tags(&url, &full).await.len(), 19);

    // Replacing existing keys does not count against the limit.
    call_ok(
        &url,
        with_tags(
            tag_request("TagResources", &[&full]),
            &[("k0", "w"), ("z", "1")],
        ),
    )
    .await;
    let tags = attribute_tags(&url, &full).await;
    assert_eq!(tags.len(), 20);
    assert_eq!(tags[0], ("k0".into(), "w".into()));
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn every_tag_error_code_is_answered_with_its_status() {
    let emu = start().await;
    let url = emu.url();
    let id = create(&url, "cn-hangzhou", "tagged").await;
    let elsewhere = create(&url, "cn-shanghai", "elsewhere").await;
    let full = create(&url, "cn-hangzhou", "full").await;
    let keys: Vec<String> = (0..20).map(|n| format!("k{n}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    call_ok(
        &url,
        with_tags(tag_request("TagResources", &[&full]), &pairs),
    )
    .await;

    let many_ids: Vec<String> = (0..51).map(|_| id.clone()).collect();
    let many_id_refs: Vec<&str> = many_ids.iter().map(String::as_str).collect();
    let many_tags: Vec<(String, String)> = (0..21).map(|n| (format!("t{n}"), "v".into())).collect();
    let many_tag_refs: Vec<(&str, &str)> = many_tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let tag =
        |ids: &[&str], tags: &[(&str, &str)]| with_tags(tag_request("TagResources", ids), tags);
    let untag = |ids: &[&str]| tag_request("UntagResources", ids);
    let list = |ids: &[&str]| tag_request("ListTagResources", ids);
    let without = |request: Request, name: &str| {
        let mut request = request;
        request.params.remove(name);
        request
    };
    let one = &[("team", "a")][..];

    let cases: Vec<(Request, u16, &str)> = vec![
        // TagResources
        (
            without(tag(&[&id], one), "RegionId"),
            400,
            "MissingParameter",
        ),
        (
            tag(&[&id], one).param("RegionId", "mars-north-1"),
            404,
            "InvalidRegion.NotFound",
        ),
        (
            without(tag(&[&id], one), "ResourceType"),
            400,
            "MissingParameter",
        ),
        (
            tag(&[&id], one).param("ResourceType", "DISK"),
            400,
            "InvalidResourceType.NotSupported",
        ),
        (tag(&[], one), 400, "MissingParameter"),
        (
            tag(&[&id], one).param("ResourceId.first", "x"),
            400,
            "InvalidParameter",
        ),
        (tag(&many_id_refs, one), 400, "NumberExceed.ResourceIds"),
        (
            tag(&["r-nosuchinstance"], one),
            404,
            "InvalidResourceId.NotFound",
        ),
        (tag(&[&elsewhere], one), 404, "InvalidResourceId.NotFound"),
        (tag(&[&id], &[]), 400, "MissingParameter"),
        (
            tag(&[&id], &[]).param("Tag.1.Value", "orphan"),
            400,
            "MissingParameter",
        ),
        (tag(&[&id], &many_tag_refs), 400, "NumberExceed.Tags"),
        (
            tag(&[&id], &[("aliyun:owner", "x")]),
            400,
            "InvalidTagKey.Malformed",
        ),
        (
            tag(&[&id], &[("acs:stack", "x")]),
            400,
            "InvalidTagKey.Malformed",
        ),
        (
            tag(&[&id], &[("docs", "https://example.com")]),
            400,
            "InvalidTagValue.Malformed",
        ),
        (
            tag(&[&id], &[("team", "a"), ("team", "b")]),
            400,
            "Duplicate.TagKey",
        ),
        (
            tag(&[&full], &[("one-more", "x")]),
            400,
            "NumberExceed.Tags",
        ),
        // UntagResources
        (
            without(untag(&[&id]).param("All", "true"), "RegionId"),
            400,
            "MissingParameter",
        ),
        (
            untag(&[&id])
                .param("All", "true")
                .param("RegionId", "mars-north-1"),
            404,
            "InvalidRegion.NotFound",
        ),
        (
            untag(&[&id])
                .param("All", "true")
                .param("ResourceType", "instances"),
            400,
            "InvalidResourceType.NotSupported",
        ),
        (untag(&[]).param("All", "true"), 400, "MissingParameter"),
        (
            untag(&many_id_refs).param("All", "true"),
            400,
            "NumberExceed.ResourceIds",
        ),
        (
            untag(&["r-nosuchinstance"]).param("All", "true"),
            404,
            "InvalidResourceId.NotFound",
        ),
        (untag(&[&id]), 400, "MissingParameter"),
        (untag(&[&id]).param("All", "false"), 400, "MissingParameter"),
        (untag(&[&id]).param("All", "sure"), 400, "InvalidParameter"),
        (
            (1..=21).fold(untag(&[&id]), |request, n| {
                request.param(&format!("TagKey.{n}"), &format!("t{n}"))
            }),
            400,
            "NumberExceed.Tags",
        ),
        // ListTagResources
        (without(list(&[&id]), "RegionId"), 400, "MissingParameter"),
        (
            without(list(&[&id]), "ResourceType"),
            400,
            "MissingParameter",
        ),
        (
            list(&[&id]).param("RegionId", "mars-north-1"),
            404,
            "InvalidRegion.NotFound",
        ),
        (
            list(&[&id]).param("ResourceType", "DISK"),
            400,
            "InvalidResourceType.NotSupported",
        ),
        (list(&[]), 400, "MissingParameter"),
        (list(&many_id_refs), 400, "NumberExceed.ResourceIds"),
        (
            with_tags(list(&[]), &many_tag_refs),
            400,
            "NumberExceed.Tags",
        ),
        (
            list(&[&id]).param("NextToken", "page-two"),
            400,
            "InvalidParameter",
        ),
    ];

    for (row, (request, status, code)) in cases.into_iter().enumerate() {
        let action = request.params["Action"].clone();
        let (got_status, body) = call(&url, request).await;
        assert_eq!(
            (got_status, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "row {row} ({action}): {body}"
        );
    }

    // Nothing refused was applied.
    assert!(attribute_tags(&url, &id).await.is_empty());
    assert!(attribute_tags(&url, &elsewhere).await.is_empty());
    assert_eq!(attribute_tags(&url, &full).await.len(), 20);
    emu.stop().await.unwrap();
}

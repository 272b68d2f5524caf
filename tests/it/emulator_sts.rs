//! The emulator's STS and ECS metadata stand-in against a real `kvsync emulator` process:
//! issued credentials accepted by R-KVStore until they expire, the refusals with the vendor's
//! codes, OIDC, role chaining, IMDSv2, the down faults and persistence across a restart.

use serde_json::Value;

use crate::support::{EmulatorProcess, Request, http_get_json, kvsync, post_json, run, send};

const ROLE: &str = "acs:ram::1234567890123456:role/deployer";
const CHAINED: &str = "acs:ram::1234567890123456:role/chained";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ci";

/// Credentials an answer carried.
#[derive(Debug, Clone)]
struct Creds {
    id: String,
    secret: String,
    token: String,
}

impl Creds {
    fn from(body: &Value) -> Creds {
        let field = |name: &str| {
            body[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} in {body}"))
                .to_owned()
        };
        Creds {
            id: field("AccessKeyId"),
            secret: field("AccessKeySecret"),
            token: field("SecurityToken"),
        }
    }
}

fn sts(action: &str) -> Request {
    Request::new(action).param("Version", "2015-04-01")
}

/// Sends `request` signed with `secret` as POST.
async fn signed(url: &str, request: Request, secret: &str) -> (u16, Value) {
    send(url, "POST", &request.signed_query("POST", secret)).await
}

/// `request` signed with issued credentials.
async fn with(url: &str, creds: &Creds, request: Request) -> (u16, Value) {
    let request = request
        .param("AccessKeyId", &creds.id)
        .param("SecurityToken", &creds.token);
    signed(url, request, &creds.secret).await
}

fn assume(role: &str) -> Request {
    sts("AssumeRole")
        .param("RoleArn", role)
        .param("RoleSessionName", "it-session")
        .param("DurationSeconds", "3600")
}

/// AssumeRole with `testid`, required to succeed.
async fn assume_ok(url: &str, role: &str) -> (Value, Creds) {
    let (status, body) = signed(url, assume(role), "testsecret").await;
    assert_eq!(status, 200, "{body}");
    let creds = Creds::from(&body["Credentials"]);
    (body, creds)
}

fn describe() -> Request {
    Request::new("DescribeInstances").param("RegionId", "cn-hangzhou")
}

fn journal(url: &str) -> Value {
    http_get_json(&format!("{url}/_emulator/requests"))
}

#[tokio::test]
async fn assumed_credentials_call_r_kvstore_and_the_journal_names_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(dir.path(), &["--role", &format!("{ROLE}=testid")]);
    let (body, creds) = assume_ok(&emu.url, ROLE).await;
    assert!(
        creds.id.starts_with("STS.") && creds.id.len() == 28,
        "{body}"
    );
    assert!(creds.token.starts_with("CAIS"), "{body}");
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!("{ROLE}/it-session").as_str()
    );
    assert!(body["AssumedRoleUser"]["AssumedRoleId"].is_string());
    assert!(body["RequestId"].is_string());
    let expiration = body["Credentials"]["Expiration"].as_str().unwrap();
    assert_eq!(expiration.len(), 20, "{expiration}");
    assert!(expiration.ends_with('Z'));

    let (status, body) = with(&emu.url, &creds, describe()).await;
    assert_eq!(status, 200, "{body}");
    let (status, who) = with(&emu.url, &creds, sts("GetCallerIdentity")).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        who["Arn"],
        "acs:ram::1234567890123456:assumed-role/deployer/it-session"
    );
    let (status, me) = signed(&emu.url, sts("GetCallerIdentity"), "testsecret").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["IdentityType"], "Account");

    let journal = journal(&emu.url);
    let entries = journal.as_array().unwrap();
    let describe_entry = entries
        .iter()
        .find(|entry| entry["action"] == "DescribeInstances")
        .unwrap();
    assert_eq!(describe_entry["access_key_id"], creds.id.as_str());
    let assume_entry = entries
        .iter()
        .find(|entry| entry["action"] == "AssumeRole")
        .unwrap();
    assert_eq!(assume_entry["access_key_id"], "testid");
    assert_eq!(assume_entry["parameters"]["RoleArn"], ROLE);
    let text = journal.to_string();
    assert!(!text.contains(&creds.token) && !text.contains(&creds.secret));
}

#[tokio::test]
async fn short_lived_credentials_are_refused_once_expired() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(
        dir.path(),
        &[
            "--role",
            &format!("{ROLE}=testid"),
            "--sts-max-seconds",
            "2",
        ],
    );
    let (_, creds) = assume_ok(&emu.url, ROLE).await;
    let (status, body) = with(&emu.url, &creds, describe()).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (status, body) = with(&emu.url, &creds, describe()).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("InvalidSecurityToken.Expired")),
        "{body}"
    );
    assert_eq!(body["Message"], "Specified SecurityToken is expired.");
    // STS itself refuses it too.
    let (status, body) = with(&emu.url, &creds, sts("GetCallerIdentity")).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn tokens_keys_and_trust_that_do_not_match_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(
        dir.path(),
        &[
            "--role",
            &format!("{ROLE}=testid"),
            "--key",
            "stranger:strangersecret",
        ],
    );
    let (_, one) = assume_ok(&emu.url, ROLE).await;
    let (_, two) = assume_ok(&emu.url, ROLE).await;
    assert_ne!(one.id, two.id);
    let code = |(status, body): (u16, Value)| (status, body["Code"].as_str().unwrap().to_owned());

    let crossed = Creds {
        token: two.token.clone(),
        ..one.clone()
    };
    assert_eq!(
        code(with(&emu.url, &crossed, describe()).await),
        (400, "InvalidSecurityToken.MismatchWithAccessKey".into())
    );
    let forged = Creds {
        token: "CAISforged".into(),
        ..one.clone()
    };
    assert_eq!(
        code(with(&emu.url, &forged, describe()).await),
        (400, "InvalidSecurityToken.Malformed".into())
    );
    let no_token = describe().param("AccessKeyId", &one.id);
    assert_eq!(
        code(signed(&emu.url, no_token, &one.secret).await),
        (400, "MissingSecurityToken".into())
    );
    let long_term_with_token = describe().param("SecurityToken", &one.token);
    assert_eq!(
        code(signed(&emu.url, long_term_with_token, "testsecret").await),
        (400, "InvalidSecurityToken.MismatchWithAccessKey".into())
    );
    let untrusted = assume(ROLE).param("AccessKeyId", "stranger");
    assert_eq!(
        code(signed(&emu.url, untrusted, "strangersecret").await),
        (403, "NoPermission".into())
    );
    assert_eq!(
        code(signed(&emu.url, assume(CHAINED), "testsecret").await),
        (404, "EntityNotExist.Role".into())
    );
    assert_eq!(
        code(
            signed(
                &emu.url,
                assume(ROLE).param("DurationSeconds", "600"),
                "testsecret"
            )
            .await
        ),
        (400, "InvalidParameter.DurationSeconds".into())
    );
    assert_eq!(
        code(
            signed(
                &emu.url,
                assume(ROLE).param("RoleSessionName", "x"),
                "testsecret"
            )
            .await
        ),
        (400, "InvalidParameter.RoleSessionName".into())
    );
    // The v1 verifier checks STS requests as it does R-KVStore's: a replayed nonce is refused.
    let replay = assume(ROLE).signed_query("POST", "testsecret");
    assert_eq!(send(&emu.url, "POST", &replay).await.0, 200);
    assert_eq!(
        code(send(&emu.url, "POST", &replay).await),
        (400, "SignatureNonceUsed".into())
    );
}

/// An unsigned AssumeRoleWithOIDC query, as the official SDK sends it.
fn oidc_query(token: &str) -> String {
    let params = [
        ("Action", "AssumeRoleWithOIDC"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("RoleArn", ROLE),
        ("OIDCProviderArn", PROVIDER),
        ("OIDCToken", token),
        ("RoleSessionName", "pod-1"),
        ("Timestamp", "2026-01-01T00:00:00Z"),
        ("SignatureNonce", &uuid::Uuid::new_v4().simple().to_string()),
    ];
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                kvsync::api::sign::percent_encode(k),
                kvsync::api::sign::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn anonymous_oidc_with_an_accepted_token_gets_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(
        dir.path(),
        &[
            "--role",
            &format!("{ROLE}=oidc:{PROVIDER}"),
            "--oidc-token",
            &format!("{PROVIDER}=eyJ.good.token"),
        ],
    );
    let (status, body) = send(&emu.url, "POST", &oidc_query("eyJ.good.token")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["OIDCTokenInfo"]["Subject"].is_string(), "{body}");
    let creds = Creds::from(&body["Credentials"]);
    let (status, body) = with(&emu.url, &creds, describe()).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = send(&emu.url, "POST", &oidc_query("eyJ.bad.token")).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (401, Some("AuthenticationFail.OIDCToken.Invalid"))
    );
    // The role does not trust testid's signature.
    let (status, body) = signed(&emu.url, assume(ROLE), "testsecret").await;
    assert_eq!((status, body["Code"].as_str()), (403, Some("NoPermission")));

    let text = journal(&emu.url).to_string();
    assert!(!text.contains("eyJ.good.token") && !text.contains("eyJ.bad.token"));
    let entries = journal(&emu.url);
    let oidc = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "AssumeRoleWithOIDC")
        .unwrap()
        .clone();
    assert_eq!(oidc["access_key_id"], "");
    assert_eq!(oidc["parameters"]["OIDCToken"], "(secret)");
}

#[tokio::test]
async fn roles_chain_with_issued_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roles.json");
    std::fs::write(
        &file,
        format!(r#"{{"roles": {{"{ROLE}": ["testid"], "{CHAINED}": ["{ROLE}"]}}}}"#),
    )
    .unwrap();
    let emu = EmulatorProcess::start(dir.path(), &["--roles", file.to_str().unwrap()]);
    let (_, first) = assume_ok(&emu.url, ROLE).await;
    // testid itself may not assume the chained role; the first role's credentials may.
    let (status, _) = signed(&emu.url, assume(CHAINED), "testsecret").await;
    assert_eq!(status, 403);
    let (status, body) = with(&emu.url, &first, assume(CHAINED)).await;
    assert_eq!(status, 200, "{body}");
    let second = Creds::from(&body["Credentials"]);
    let (status, who) = with(&emu.url, &second, sts("GetCallerIdentity")).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["Arn"],
        "acs:ram::1234567890123456:assumed-role/chained/it-session"
    );
}

/// One request to the metadata stand-in: the status and the body.
async fn metadata(
    url: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = kvsync::api::tls::http_client()
        .build()
        .unwrap()
        .request(method, format!("{url}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

const CREDENTIALS: &str = "/latest/meta-data/ram/security-credentials/";

#[tokio::test]
async fn the_metadata_stand_in_serves_role_credentials_with_imdsv2() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(dir.path(), &["--ecs-role", &format!("EcsRole={ROLE}")]);
    let (status, token) = metadata(
        &emu.url,
        reqwest::Method::PUT,
        "/latest/api/token",
        &[("X-aliyun-ecs-metadata-token-ttl-seconds", "60")],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let auth = [("X-aliyun-ecs-metadata-token", token.as_str())];
    let (status, name) = metadata(&emu.url, reqwest::Method::GET, CREDENTIALS, &auth).await;
    assert_eq!((status, name.as_str()), (200, "EcsRole"));
    let path = format!("{CREDENTIALS}EcsRole");
    let (status, text) = metadata(&emu.url, reqwest::Method::GET, &path, &auth).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["Code"], "Success");
    assert!(body["LastUpdated"].is_string() && body["Expiration"].is_string());
    let creds = Creds::from(&body);
    let (status, answer) = with(&emu.url, &creds, describe()).await;
    assert_eq!(status, 200, "{answer}");
    // The same set is served again while it is fresh.
    let (_, again) = metadata(&emu.url, reqwest::Method::GET, &path, &auth).await;
    assert_eq!(
        serde_json::from_str::<Value>(&again).unwrap()["AccessKeyId"],
        creds.id.as_str()
    );

    // IMDSv2 is enforced: no token, or a forged one, is refused 401.
    for headers in [&[][..], &[("X-aliyun-ecs-metadata-token", "forged")][..]] {
        let (status, _) = metadata(&emu.url, reqwest::Method::GET, &path, headers).await;
        assert_eq!(status, 401, "{headers:?}");
    }
    let (status, _) = metadata(&emu.url, reqwest::Method::PUT, "/latest/api/token", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = metadata(
        &emu.url,
        reqwest::Method::GET,
        &format!("{CREDENTIALS}Other"),
        &auth,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sts_and_metadata_can_be_taken_down_and_brought_back() {
    let dir = tempfile::tempdir().unwrap();
    let emu = EmulatorProcess::start(
        dir.path(),
        &[
            "--role",
            &format!("{ROLE}=testid"),
            "--ecs-role",
            &format!("EcsRole={ROLE}"),
        ],
    );
    let answer = post_json(&format!("{}/_emulator/faults?sts_down=true", emu.url));
    assert_eq!(answer, serde_json::json!({"sts_down": true}));
    let (status, body) = signed(&emu.url, assume(ROLE), "testsecret").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    // R-KVStore is not affected.
    let (status, _) = signed(&emu.url, describe(), "testsecret").await;
    assert_eq!(status, 200);
    post_json(&format!("{}/_emulator/faults?sts_down=false", emu.url));
    assert_eq!(signed(&emu.url, assume(ROLE), "testsecret").await.0, 200);

    post_json(&format!("{}/_emulator/faults?metadata_down=true", emu.url));
    let token_put = || {
        metadata(
            &emu.url,
            reqwest::Method::PUT,
            "/latest/api/token",
            &[("X-aliyun-ecs-metadata-token-ttl-seconds", "60")],
        )
    };
    assert_eq!(token_put().await.0, 503);
    post_json(&format!("{}/_emulator/faults?metadata_down=false", emu.url));
    assert_eq!(token_put().await.0, 200);
}

#[tokio::test]
async fn live_credentials_survive_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--role".to_owned(), format!("{ROLE}=testid")];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let emu = EmulatorProcess::start(dir.path(), &flags);
    let (_, creds) = assume_ok(&emu.url, ROLE).await;
    drop(emu);
    let state = crate::support::emulator_state_text(&dir.path().join("emulator-state.json"));
    assert!(state.contains(&creds.id));
    assert!(
        !state.contains(&creds.token),
        "the token is kept as a digest"
    );
    let emu = EmulatorProcess::start(dir.path(), &flags);
    let (status, body) = with(&emu.url, &creds, describe()).await;
    assert_eq!(status, 200, "{body}");
}

#[test]
fn bad_role_settings_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, r#"{"rolez": {}}"#).unwrap();
    let bad_file = bad_file.to_str().unwrap().to_owned();
    let role = format!("{ROLE}=testid");
    for flags in [
        vec!["--role", "acs:ram::1:user/x=testid"],
        vec!["--role", ROLE],
        vec!["--oidc-token", "nope=token"],
        vec!["--ecs-role", "EcsRole"],
        vec!["--sts-max-seconds", "0"],
        vec!["--sts-max-seconds", "43201"],
        vec!["--roles", "/nonexistent/roles.json"],
        vec!["--roles", &bad_file],
        vec![
            "--role",
            &role,
            "--ecs-role",
            "A=acs:ram::1:role/a",
            "--roles",
            &bad_file,
        ],
    ] {
        let output = run(kvsync(dir.path())
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(&flags));
        assert_eq!(output.status.code(), Some(64), "{flags:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flags[flags.len() - 2]) || stderr.contains("roles file"),
            "{flags:?}: {stderr}"
        );
    }
}

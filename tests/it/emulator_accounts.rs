//! The emulator's account actions, driven by hand-signed requests against an in-process
//! emulator with a hand-driven clock.

use serde_json::Value;

use crate::clocked::{Clocked, assert_errors, request};

const PASSWORD: &str = "Passw0rd!";

/// The accounts `DescribeAccounts` lists for `filters`, and the whole body.
async fn accounts(emu: &Clocked, id: &str, filters: &[(&str, &str)]) -> (Vec<Value>, Value) {
    let mut params = vec![("InstanceId", id)];
    params.extend_from_slice(filters);
    let body = emu.ok(request("DescribeAccounts", &params)).await;
    let list = body["Accounts"]["Account"].as_array().cloned().unwrap();
    (list, body)
}

/// The one account called `name`.
async fn one_account(emu: &Clocked, id: &str, name: &str) -> Value {
    let (list, _) = accounts(emu, id, &[("AccountName", name)]).await;
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

fn privilege(account: &Value) -> &str {
    account["DatabasePrivileges"]["DatabasePrivilege"][0]["AccountPrivilege"]
        .as_str()
        .unwrap()
}

async fn create(emu: &Clocked, id: &str, name: &str) -> Value {
    emu.ok(request(
        "CreateAccount",
        &[
            ("InstanceId", id),
            ("AccountName", name),
            ("AccountPassword", PASSWORD),
        ],
    ))
    .await
}

#[tokio::test]
async fn a_new_account_answers_both_spellings_and_becomes_available_after_the_change() {
    let emu = Clocked::start(30, None).await;
    let id = emu.instance(&[]).await;
    let body = emu
        .ok(request(
            "CreateAccount",
            &[
                ("InstanceId", &id),
                ("AccountName", "app_ro"),
                ("AccountPassword", PASSWORD),
                ("AccountPrivilege", "RoleReadOnly"),
                ("AccountDescription", "orders service"),
                ("AccountType", "Normal"),
            ],
        ))
        .await;
    assert_eq!(body["AccountName"], "app_ro");
    assert_eq!(body["AcountName"], "app_ro");
    assert_eq!(body["InstanceId"], id.as_str());
    assert!(body["RequestId"].as_str().is_some_and(|r| !r.is_empty()));

    let created = one_account(&emu, &id, "app_ro").await;
    assert_eq!(created["AccountStatus"], "Unavailable");
    assert_eq!(created["AccountType"], "Normal");
    assert_eq!(created["AccountDescription"], "orders service");
    assert_eq!(created["InstanceId"], id.as_str());
    assert_eq!(privilege(&created), "RoleReadOnly");

    emu.advance(29);
    assert_eq!(
        one_account(&emu, &id, "app_ro").await["AccountStatus"],
        "Unavailable"
    );
    emu.advance(1);
    assert_eq!(
        one_account(&emu, &id, "app_ro").await["AccountStatus"],
        "Available"
    );
    emu.stop().await;
}

#[tokio::test]
async fn describe_lists_the_default_account_first_and_filters_and_pages() {
    let emu = Clocked::start(0, None).await;
    let id = emu.instance(&[]).await;
    create(&emu, &id, "beta").await;
    let body = emu
        .ok(request(
            "CreateAccount",
            &[
                ("InstanceId", &id),
                ("AccountName", "alpha"),
                ("AccountPassword", PASSWORD),
            ],
        ))
        .await;
    assert_eq!(body["AccountName"], "alpha");

    let (list, body) = accounts(&emu, &id, &[]).await;
    let names: Vec<&str> = list
        .iter()
        .map(|a| a["AccountName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![id.as_str(), "alpha", "beta"]);
    assert_eq!(list[0]["AccountType"], "Super");
    assert_eq!(list[0]["AccountStatus"], "Available");
    assert_eq!(privilege(&list[0]), "RoleReadWrite");
    assert_eq!(
        privilege(&list[1]),
        "RoleReadWrite",
        "the default privilege"
    );
    assert_eq!(list[1]["AccountDescription"], "");
    assert!(list[1]["Parameters"].is_string());
    assert_eq!(body["TotalCount"], 3);
    assert_eq!(body["PageNumber"], 1);
    assert_eq!(body["PageSize"], 30);

    let (list, body) = accounts(&emu, &id, &[("AccountName", "nobody")]).await;
    assert!(list.is_empty());
    assert_eq!(body["TotalCount"], 0);
    // The default account is named after the (random) instance ID, which may contain the text
    // too.
    let (list, _) = accounts(&emu, &id, &[("SearchAccountName", "et")]).await;
    let found: Vec<&str> = list
        .iter()
        .map(|a| a["AccountName"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = [id.as_str(), "alpha", "beta"]
        .into_iter()
        .filter(|name| name.contains("et"))
        .collect();
    assert_eq!(found, expected);
    assert!(found.contains(&"beta"));
    let (list, body) = accounts(&emu, &id, &[("PageSize", "1"), ("PageNumber", "2")]).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["AccountName"], "alpha");
    assert_eq!(body["TotalCount"], 3);

    // Redis 2.8 has no account management, but its default account is listed.
    let old = emu.instance(&[("EngineVersion", "2.8")]).await;
    let (list, _) = accounts(&emu, &old, &[]).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["AccountName"], old.as_str());
    emu.stop().await;
}

#[tokio::test]
async fn privilege_password_and_description_changes_show_in_describe() {
    let emu = Clocked::start(10, None).await;
    let id = emu.instance(&[]).await;
    create(&emu, &id, "app").await;
    emu.advance(10);

    emu.ok(request(
        "GrantAccountPrivilege",
        &[
            ("InstanceId", &id),
            ("AccountName", "app"),
            ("AccountPrivilege", "RoleRepl"),
        ],
    ))
    .await;
    let granted = one_account(&emu, &id, "app").await;
    assert_eq!(privilege(&granted), "RoleRepl");
    assert_eq!(granted["AccountStatus"], "Unavailable");
    emu.advance(10);

    emu.ok(request(
        "ModifyAccountDescription",
        &[
            ("InstanceId", &id),
            ("AccountName", "app"),
            ("AccountDescription", "replica feed"),
        ],
    ))
    .await;
    let described = one_account(&emu, &id, "app").await;
    assert_eq!(described["AccountDescription"], "replica feed");
    assert_eq!(described["AccountStatus"], "Available");

    emu.ok(request(
        "ResetAccountPassword",
        &[
            ("InstanceId", &id),
            ("AccountName", "app"),
            ("AccountPassword", "An0ther-pass"),
        ],
    ))
    .await;
    assert_eq!(
        one_account(&emu, &id, "app").await["AccountStatus"],
        "Unavailable"
    );
    emu.advance(10);
    assert_eq!(
        one_account(&emu, &id, "app").await["AccountStatus"],
        "Available"
    );
    emu.stop().await;
}

#[tokio::test]
async fn delete_removes_a_normal_account_and_the_name_can_be_reused() {
    let emu = Clocked::start(5, None).await;
    let id = emu.instance(&[]).await;
    create(&emu, &id, "temp").await;
    emu.advance(5);
    emu.ok(request(
        "DeleteAccount",
        &[("InstanceId", &id), ("AccountName", "temp")],
    ))
    .await;
    let (list, _) = accounts(&emu, &id, &[]).await;
    assert_eq!(list.len(), 1, "only the default account is left: {list:?}");
    assert_eq!(create(&emu, &id, "temp").await["AccountName"], "temp");
    emu.stop().await;
}

#[tokio::test]
async fn passwords_are_persisted_only_as_digests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emu = Clocked::start(0, Some(path.clone())).await;
    let id = emu.instance(&[]).await;
    create(&emu, &id, "app").await;
    let instance_digest = |state: &Value| state["instances"][&id]["password_digest"].clone();
    let before: Value = crate::support::emulator_state_json(&path);

    emu.ok(request(
        "ResetAccountPassword",
        &[
            ("InstanceId", &id),
            ("AccountName", &id),
            ("AccountPassword", "Def4ult-pass"),
        ],
    ))
    .await;
    let text = crate::support::emulator_state_text(&path);
    assert!(
        !text.contains(PASSWORD),
        "an account password was persisted"
    );
    assert!(
        !text.contains("Def4ult-pass"),
        "the default password was persisted"
    );
    let after = crate::support::emulator_state_json(&path);
    let digest = after["instances"][&id]["accounts"]["app"]["password_digest"]
        .as_str()
        .unwrap();
    assert_eq!(digest.len(), 64, "a hex SHA-256: {digest}");
    assert_ne!(instance_digest(&before), instance_digest(&after));
    assert!(instance_digest(&after).is_string());
    emu.stop().await;
}

/// `InstanceId` and `AccountName`.
fn account<'a>(instance: &'a str, name: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![("InstanceId", instance), ("AccountName", name)]
}

/// The parameters of a valid `CreateAccount`, with `extra` added.
fn new_account<'a>(
    instance: &'a str,
    name: &'a str,
    extra: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    plus(
        vec![
            ("InstanceId", instance),
            ("AccountName", name),
            ("AccountPassword", PASSWORD),
        ],
        extra,
    )
}

/// `params` with `extra` added.
fn plus<'a>(
    mut params: Vec<(&'static str, &'a str)>,
    extra: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    params.extend_from_slice(extra);
    params
}

#[tokio::test]
async fn every_account_error_code_is_answered_with_the_vendor_status() {
    let emu = Clocked::start(60, None).await;
    let id = emu.instance(&[]).await;
    let old = emu.instance(&[("EngineVersion", "2.8")]).await;
    let cluster = emu
        .instance(&[(
            "InstanceClass",
            "redis.logic.sharding.1g.2db.0rodb.4proxy.default",
        )])
        .await;
    let full = emu.instance(&[]).await;
    for n in 0..18 {
        create(&emu, &full, &format!("user{n}")).await;
    }
    let busy = emu.instance(&[]).await;
    emu.ok(request(
        "ModifyInstanceSSL",
        &[("InstanceId", &busy), ("SSLEnabled", "Enable")],
    ))
    .await;
    create(&emu, &id, "pending").await;
    create(&emu, &cluster, "member").await;

    let (id, old, cluster, full, busy) = (
        id.as_str(),
        old.as_str(),
        cluster.as_str(),
        full.as_str(),
        busy.as_str(),
    );
    let rows = vec![
        // CreateAccount
        (
            "CreateAccount",
            account(id, "nopass"),
            400,
            "MissingParameter",
        ),
        (
            "CreateAccount",
            new_account("r-nosuch", "app", &[]),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "CreateAccount",
            new_account(old, "app", &[]),
            400,
            "InvalidEngineVersion.Format",
        ),
        (
            "CreateAccount",
            new_account(id, "app", &[("AccountType", "Super")]),
            400,
            "InvalidParameter",
        ),
        (
            "CreateAccount",
            new_account(id, "Bad-Name", &[]),
            400,
            "InvalidAccountName.Format",
        ),
        (
            "CreateAccount",
            new_account(id, "seventeen_chars_x", &[]),
            400,
            "InvalidAccountName.Format",
        ),
        (
            "CreateAccount",
            new_account(id, "root", &[]),
            400,
            "InvalidAccountName.Forbid",
        ),
        (
            "CreateAccount",
            vec![
                ("InstanceId", id),
                ("AccountName", "app"),
                ("AccountPassword", "alllowercase"),
            ],
            400,
            "InvalidAccountPassword.Format",
        ),
        (
            "CreateAccount",
            new_account(id, "app", &[("AccountDescription", "9 lives")]),
            400,
            "InvalidAccountDescription.Format",
        ),
        (
            "CreateAccount",
            new_account(id, "app", &[("AccountPrivilege", "RoleAdmin")]),
            400,
            "InvalidAccountPrivilege.Malformed",
        ),
        (
            "CreateAccount",
            new_account(cluster, "app", &[("AccountPrivilege", "RoleRepl")]),
            400,
            "InvalidAccountPrivilege.Malformed",
        ),
        (
            "CreateAccount",
            new_account(busy, "app", &[]),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "CreateAccount",
            new_account(id, "pending", &[]),
            400,
            "InvalidAccountName.Duplicate",
        ),
        (
            "CreateAccount",
            new_account(id, id, &[]),
            400,
            "InvalidAccountName.Duplicate",
        ),
        (
            "CreateAccount",
            new_account(full, "one_more", &[]),
            403,
            "AccountLimitExceeded",
        ),
        // DescribeAccounts
        ("DescribeAccounts", vec![], 400, "MissingParameter"),
        (
            "DescribeAccounts",
            vec![("InstanceId", "r-nosuch")],
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "DescribeAccounts",
            vec![("InstanceId", id), ("PageSize", "101")],
            400,
            "InvalidParameter",
        ),
        (
            "DescribeAccounts",
            vec![("InstanceId", id), ("PageNumber", "0")],
            400,
            "InvalidParameter",
        ),
        (
            "DescribeAccounts",
            vec![("InstanceId", id), ("PageNumber", "x")],
            400,
            "InvalidParameter",
        ),
        // ModifyAccountDescription
        (
            "ModifyAccountDescription",
            account(id, "pending"),
            400,
            "MissingParameter",
        ),
        (
            "ModifyAccountDescription",
            plus(
                account("r-nosuch", "pending"),
                &[("AccountDescription", "ok text")],
            ),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "ModifyAccountDescription",
            plus(account(old, "app"), &[("AccountDescription", "ok text")]),
            400,
            "InvalidEngineVersion.Format",
        ),
        (
            "ModifyAccountDescription",
            plus(
                account(id, "pending"),
                &[("AccountDescription", "https://x")],
            ),
            400,
            "InvalidAccountDescription.Format",
        ),
        (
            "ModifyAccountDescription",
            plus(account(busy, "app"), &[("AccountDescription", "ok text")]),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "ModifyAccountDescription",
            plus(account(id, "ghost"), &[("AccountDescription", "ok text")]),
            404,
            "InvalidAccountName.NotFound",
        ),
        (
            "ModifyAccountDescription",
            plus(account(id, "Ghost-1"), &[("AccountDescription", "ok text")]),
            400,
            "InvalidAccountName.Format",
        ),
        // ResetAccountPassword
        (
            "ResetAccountPassword",
            account(id, "pending"),
            400,
            "MissingParameter",
        ),
        (
            "ResetAccountPassword",
            plus(
                account("r-nosuch", "pending"),
                &[("AccountPassword", PASSWORD)],
            ),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "ResetAccountPassword",
            plus(account(old, old), &[("AccountPassword", PASSWORD)]),
            400,
            "InvalidEngineVersion.Format",
        ),
        (
            "ResetAccountPassword",
            plus(account(id, "pending"), &[("AccountPassword", "Sh0rt!")]),
            400,
            "InvalidAccountPassword.Format",
        ),
        (
            "ResetAccountPassword",
            plus(account(busy, busy), &[("AccountPassword", PASSWORD)]),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "ResetAccountPassword",
            plus(account(id, "ghost"), &[("AccountPassword", PASSWORD)]),
            404,
            "InvalidAccountName.NotFound",
        ),
        (
            "ResetAccountPassword",
            plus(account(id, "Ghost-1"), &[("AccountPassword", PASSWORD)]),
            400,
            "InvalidAccountName.Format",
        ),
        (
            "ResetAccountPassword",
            plus(account(id, "pending"), &[("AccountPassword", PASSWORD)]),
            403,
            "OperationDenied.AccountStatus",
        ),
        // GrantAccountPrivilege
        (
            "GrantAccountPrivilege",
            account(id, "pending"),
            400,
            "MissingParameter",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account("r-nosuch", "pending"),
                &[("AccountPrivilege", "RoleReadOnly")],
            ),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "GrantAccountPrivilege",
            plus(account(old, "app"), &[("AccountPrivilege", "RoleReadOnly")]),
            400,
            "InvalidEngineVersion.Format",
        ),
        (
            "GrantAccountPrivilege",
            plus(account(id, "pending"), &[("AccountPrivilege", "readonly")]),
            400,
            "InvalidAccountPrivilege.Format",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account(cluster, "member"),
                &[("AccountPrivilege", "RoleRepl")],
            ),
            400,
            "InvalidAccountPrivilege.Format",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account(busy, "app"),
                &[("AccountPrivilege", "RoleReadOnly")],
            ),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account(id, "ghost"),
                &[("AccountPrivilege", "RoleReadOnly")],
            ),
            404,
            "InvalidAccountName.NotFound",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account(id, "Ghost-1"),
                &[("AccountPrivilege", "RoleReadOnly")],
            ),
            400,
            "InvalidAccountName.Format",
        ),
        (
            "GrantAccountPrivilege",
            plus(account(id, id), &[("AccountPrivilege", "RoleReadOnly")]),
            400,
            "IncorrectAccount",
        ),
        (
            "GrantAccountPrivilege",
            plus(
                account(id, "pending"),
                &[("AccountPrivilege", "RoleReadOnly")],
            ),
            403,
            "OperationDenied.AccountStatus",
        ),
        // DeleteAccount
        (
            "DeleteAccount",
            vec![("InstanceId", id)],
            400,
            "MissingParameter",
        ),
        (
            "DeleteAccount",
            account("r-nosuch", "pending"),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "DeleteAccount",
            account(old, "app"),
            400,
            "InvalidEngineVersion.Format",
        ),
        (
            "DeleteAccount",
            account(busy, "app"),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "DeleteAccount",
            account(id, "ghost"),
            404,
            "InvalidAccountName.NotFound",
        ),
        (
            "DeleteAccount",
            account(id, "Ghost-1"),
            400,
            "InvalidAccountName.Format",
        ),
        ("DeleteAccount", account(id, id), 400, "IncorrectAccount"),
        (
            "DeleteAccount",
            account(id, "pending"),
            403,
            "OperationDenied.AccountStatus",
        ),
    ];
    assert_errors(&emu, rows).await;
    emu.stop().await;
}

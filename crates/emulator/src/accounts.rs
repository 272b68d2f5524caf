//! Database accounts: create, describe, modify, reset passwords, grant privileges, delete.
//!
//! Every instance has a default (`Super`) account named after its ID; it is listed, its
//! description and password can be changed, but it cannot be re-created, re-privileged or
//! deleted. Normal accounts need Redis 4.0 or later. A created, re-privileged or re-passworded
//! account is `Unavailable` for the change duration, then `Available`; while `Unavailable` it
//! cannot be re-privileged, re-passworded or deleted. Passwords are kept only as salted
//! digests.

use jiff::Timestamp;
use serde_json::json;

use super::catalog;
use super::errors::VendorError;
use super::instances::{is_cjk, password_digest, valid_password};
use super::state::{Account, Context, Handled, Instance, State, to_body};
use kvsync_wire::actions::account::{
    AccountEntry, Accounts, CreateAccount, CreateAccountResponse, DatabasePrivilege,
    DatabasePrivileges, DeleteAccount, DescribeAccounts, DescribeAccountsResponse,
    GrantAccountPrivilege, ModifyAccountDescription, ROLE_READ_ONLY, ROLE_READ_WRITE, ROLE_REPL,
    ResetAccountPassword,
};

/// At most this many normal accounts per instance (the default account is not counted).
pub(crate) const MAX_NORMAL_ACCOUNTS: usize = 18;

/// Names no account may take.
pub(crate) const RESERVED_ACCOUNT_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "aliyun_root",
    "default",
    "replicator",
    "root",
    "sysadmin",
    "system",
];

/// `AccountType` of the default account.
const SUPER: &str = "Super";
/// `AccountType` of every account a client creates.
const NORMAL: &str = "Normal";
/// `PageSize` when none is given.
const DEFAULT_PAGE_SIZE: u64 = 30;
/// The largest `PageSize` accepted.
const MAX_PAGE_SIZE: u64 = 100;

/// The account-name rule: 1–16 characters, a lower-case letter first, then lower-case
/// letters, digits and underscores.
pub(crate) fn valid_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 16
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The account-description rule: 2–256 characters starting with a letter or a CJK character;
/// letters, digits, CJK characters, `_`, `-` and spaces. `:` and `/` are outside the set, so
/// nothing can start with `http://` or `https://`.
pub(crate) fn valid_account_description(text: &str) -> bool {
    let count = text.chars().count();
    text.chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || is_cjk(first))
        && (2..=256).contains(&count)
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || is_cjk(c) || "_- ".contains(c))
}

/// Whether the instance's engine has account management (Redis 4.0 or later).
pub(crate) fn supports_accounts(instance: &Instance) -> bool {
    catalog::engine_at_least(&instance.engine_version, 4)
}

/// Whether `privilege` can be granted on `instance`: `RoleReadOnly` and `RoleReadWrite`
/// everywhere, `RoleRepl` (replication) only on standard (non-cluster) instances.
pub(crate) fn privilege_allowed(privilege: &str, instance: &Instance) -> bool {
    match privilege {
        ROLE_READ_ONLY | ROLE_READ_WRITE => true,
        ROLE_REPL => catalog::class(&instance.instance_class)
            .is_some_and(|class| class.architecture == "standard"),
        _ => false,
    }
}

/// The status an account shows at `now`.
pub(crate) fn account_status(account: &Account, now: Timestamp) -> &str {
    match account.available_at {
        Some(until) if until > now => "Unavailable",
        _ => &account.status,
    }
}

fn is_super(account: &Account) -> bool {
    account.account_type == SUPER
}

/// Salted digest of an account's password; the salt names the instance and the account.
fn account_digest(instance_id: &str, account: &str, password: &str) -> String {
    password_digest(&format!("{instance_id}/{account}"), password)
}

/// The instance, refused with the vendor's error unless its engine manages accounts.
fn account_instance<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Instance, VendorError> {
    let instance = state.instance_mut(id)?;
    if supports_accounts(instance) {
        Ok(instance)
    } else {
        Err(VendorError::account_engine_version())
    }
}

/// An existing account; a missing one is `NotFound`, or `Format` if its name could not exist.
fn existing<'a>(instance: &'a mut Instance, name: &str) -> Result<&'a mut Account, VendorError> {
    match instance.accounts.get_mut(name) {
        Some(account) => Ok(account),
        None if valid_account_name(name) => Err(VendorError::account_not_found()),
        None => Err(VendorError::account_name_format()),
    }
}

/// An existing normal account that is not in the middle of a change.
fn settled_normal<'a>(
    instance: &'a mut Instance,
    name: &str,
    now: Timestamp,
) -> Result<&'a mut Account, VendorError> {
    let account = existing(instance, name)?;
    if is_super(account) {
        return Err(VendorError::incorrect_account());
    }
    if account_status(account, now) != "Available" {
        return Err(VendorError::account_status());
    }
    Ok(account)
}

/// The vendor's checks of a `CreateAccount` request's values, in the vendor's order; `taken`
/// (the name exists) skips the name rules so that the duplicate is reported instead.
fn check_new_account(
    request: &CreateAccount,
    instance: &Instance,
    taken: bool,
) -> Result<(), VendorError> {
    let name = request.account_name.as_str();
    if request
        .account_type
        .as_deref()
        .is_some_and(|kind| kind != NORMAL)
    {
        return Err(VendorError::invalid_parameter("AccountType"));
    }
    if !taken && !valid_account_name(name) {
        return Err(VendorError::account_name_format());
    }
    if !taken && RESERVED_ACCOUNT_NAMES.contains(&name) {
        return Err(VendorError::account_name_forbidden());
    }
    if !valid_password(request.account_password.expose()) {
        return Err(VendorError::account_password_format());
    }
    if let Some(description) = &request.account_description
        && !valid_account_description(description)
    {
        return Err(VendorError::account_description_format());
    }
    let privilege = request
        .account_privilege
        .as_deref()
        .unwrap_or(ROLE_READ_WRITE);
    if !privilege_allowed(privilege, instance) {
        return Err(VendorError::account_privilege_malformed());
    }
    Ok(())
}

/// The account a checked `CreateAccount` request creates: `Unavailable` for the change
/// duration.
fn new_account(request: CreateAccount, instance_id: &str, ctx: &Context) -> Account {
    let name = request.account_name;
    Account {
        password_digest: account_digest(instance_id, &name, request.account_password.expose()),
        name,
        account_type: NORMAL.into(),
        privilege: request
            .account_privilege
            .unwrap_or_else(|| ROLE_READ_WRITE.to_owned()),
        description: request.account_description.unwrap_or_default(),
        status: "Available".into(),
        available_at: Some(ctx.now + ctx.durations.change),
    }
}

/// `CreateAccount`.
pub(crate) fn create(
    state: &mut State,
    request: CreateAccount,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = account_instance(state, &request.instance_id)?;
    let taken = instance.accounts.contains_key(&request.account_name);
    check_new_account(&request, instance, taken)?;
    instance.require_normal()?;
    if taken {
        return Err(VendorError::account_name_duplicate());
    }
    let normal = instance.accounts.values().filter(|a| !is_super(a)).count();
    if normal >= MAX_NORMAL_ACCOUNTS {
        return Err(VendorError::account_limit());
    }
    let account = new_account(request, &instance.id, ctx);
    let name = account.name.clone();
    instance.accounts.insert(name.clone(), account);
    Ok(Handled::wrote(to_body(&CreateAccountResponse {
        request_id: String::new(),
        instance_id: instance.id.clone(),
        account_name: name.clone(),
        acount_name: name,
    })))
}

/// One account as `DescribeAccounts` lists it.
fn entry(instance: &Instance, account: &Account, now: Timestamp) -> AccountEntry {
    AccountEntry {
        instance_id: instance.id.clone(),
        account_name: account.name.clone(),
        account_type: account.account_type.clone(),
        account_status: account_status(account, now).to_owned(),
        account_description: account.description.clone(),
        database_privileges: DatabasePrivileges {
            database_privilege: vec![DatabasePrivilege {
                account_privilege: account.privilege.clone(),
            }],
        },
        parameters: String::new(),
    }
}

/// `DescribeAccounts`: the default account first, then the others by name; filtered, paged.
pub(crate) fn describe(
    state: &State,
    request: DescribeAccounts,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let page_number = request.page_number.unwrap_or(1);
    let page_size = request.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page_number == 0 {
        return Err(VendorError::invalid_parameter("PageNumber"));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(VendorError::invalid_parameter("PageSize"));
    }
    let mut matching: Vec<&Account> = instance
        .accounts
        .values()
        .filter(|a| request.account_name.as_deref().is_none_or(|n| a.name == n))
        .filter(|a| {
            request
                .search_account_name
                .as_deref()
                .is_none_or(|text| a.name.contains(text))
        })
        .collect();
    // The map is in name order and the sort is stable: only the default account moves.
    matching.sort_by_key(|&account| !is_super(account));
    let total_count = matching.len() as u64;
    let skip = usize::try_from((page_number - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let page = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .map(|account| entry(instance, account, ctx.now))
        .collect();
    Ok(Handled::read(to_body(&DescribeAccountsResponse {
        request_id: String::new(),
        accounts: Accounts { account: page },
        page_number,
        page_size,
        total_count,
    })))
}

/// `ModifyAccountDescription`: allowed on every account, also while it is `Unavailable`.
pub(crate) fn modify_description(
    state: &mut State,
    request: ModifyAccountDescription,
) -> Result<Handled, VendorError> {
    let instance = account_instance(state, &request.instance_id)?;
    if !valid_account_description(&request.account_description) {
        return Err(VendorError::account_description_format());
    }
    instance.require_normal()?;
    existing(instance, &request.account_name)?.description = request.account_description;
    Ok(Handled::wrote(json!({})))
}

/// `ResetAccountPassword`: for the default account this is the instance password.
pub(crate) fn reset_password(
    state: &mut State,
    request: ResetAccountPassword,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = account_instance(state, &request.instance_id)?;
    let password = request.account_password.expose();
    if !valid_password(password) {
        return Err(VendorError::account_password_format());
    }
    instance.require_normal()?;
    let instance_id = instance.id.clone();
    let account = existing(instance, &request.account_name)?;
    if account_status(account, ctx.now) != "Available" {
        return Err(VendorError::account_status());
    }
    account.available_at = Some(ctx.now + ctx.durations.change);
    if is_super(account) {
        instance.password_digest = Some(password_digest(&instance_id, password));
    } else {
        account.password_digest = account_digest(&instance_id, &account.name, password);
    }
    Ok(Handled::wrote(json!({})))
}

/// `GrantAccountPrivilege`: replaces a normal account's privilege.
pub(crate) fn grant_privilege(
    state: &mut State,
    request: GrantAccountPrivilege,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = account_instance(state, &request.instance_id)?;
    if !privilege_allowed(&request.account_privilege, instance) {
        return Err(VendorError::account_privilege_format());
    }
    instance.require_normal()?;
    let account = settled_normal(instance, &request.account_name, ctx.now)?;
    account.privilege = request.account_privilege;
    account.available_at = Some(ctx.now + ctx.durations.change);
    Ok(Handled::wrote(json!({})))
}

/// `DeleteAccount`: removes a normal account that is not in the middle of a change.
pub(crate) fn delete(
    state: &mut State,
    request: DeleteAccount,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = account_instance(state, &request.instance_id)?;
    instance.require_normal()?;
    settled_normal(instance, &request.account_name, ctx.now)?;
    instance.accounts.remove(&request.account_name);
    Ok(Handled::wrote(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Durations;

    fn instance(engine: &str, class: &str) -> Instance {
        let ctx = Context {
            now: Timestamp::UNIX_EPOCH,
            durations: Durations::default(),
            fail_backup: false,
        };
        let mut instance = Instance::new(
            "r-test".into(),
            "test".into(),
            "cn-hangzhou".into(),
            "cn-hangzhou-b".into(),
            class.into(),
            &ctx,
            1,
        );
        instance.engine_version = engine.into();
        instance
    }

    #[test]
    fn account_names_follow_the_rule() {
        for name in ["a", "app_rw", "a1", "abcdefghijklmnop"] {
            assert!(valid_account_name(name), "{name}");
        }
        for name in [
            "",
            "App",
            "1app",
            "_app",
            "app-rw",
            "app rw",
            "abcdefghijklmnopq",
            "r-bp1xxxxxxxxxxxxx",
            "ä",
        ] {
            assert!(!valid_account_name(name), "{name}");
        }
    }

    #[test]
    fn reserved_names_would_otherwise_be_valid() {
        for name in RESERVED_ACCOUNT_NAMES {
            assert!(valid_account_name(name), "{name}");
        }
    }

    #[test]
    fn descriptions_follow_the_rule() {
        for text in [
            "orders service",
            "ab",
            "订单服务",
            "app_rw-1",
            &"a".repeat(256),
        ] {
            assert!(valid_account_description(text), "{text}");
        }
        for text in [
            "",
            "a",
            "1abc",
            "_abc",
            "https://example.com",
            "http://example.com",
            "a.b",
            &"a".repeat(257),
        ] {
            assert!(!valid_account_description(text), "{text}");
        }
    }

    #[test]
    fn accounts_need_redis_4_or_later() {
        assert!(!supports_accounts(&instance(
            "2.8",
            "redis.master.small.default"
        )));
        for version in ["4.0", "5.0", "6.0", "7.0"] {
            assert!(supports_accounts(&instance(
                version,
                "redis.master.small.default"
            )));
        }
        assert!(!catalog::engine_at_least("", 4));
        assert!(!catalog::engine_at_least("x.0", 4));
    }

    #[test]
    fn replication_privilege_is_for_standard_instances_only() {
        let standard = instance("5.0", "redis.master.small.default");
        let cluster = instance("5.0", "redis.logic.sharding.1g.2db.0rodb.4proxy.default");
        assert!(privilege_allowed(ROLE_REPL, &standard));
        assert!(!privilege_allowed(ROLE_REPL, &cluster));
        assert!(privilege_allowed(ROLE_READ_ONLY, &cluster));
        assert!(privilege_allowed(ROLE_READ_WRITE, &cluster));
        assert!(!privilege_allowed("roleReadWrite", &standard));
        assert!(!privilege_allowed("RoleAdmin", &standard));
    }

    #[test]
    fn an_account_is_unavailable_until_its_change_ends() {
        let mut account = instance("5.0", "redis.master.small.default")
            .accounts
            .remove("r-test")
            .unwrap();
        let until = Timestamp::from_second(100).unwrap();
        account.available_at = Some(until);
        assert_eq!(
            account_status(&account, Timestamp::from_second(99).unwrap()),
            "Unavailable"
        );
        assert_eq!(account_status(&account, until), "Available");
    }
}

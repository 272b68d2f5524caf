//! Database accounts: create, list, describe, re-password, re-privilege and delete.
//!
//! Privileges, account types and statuses travel as the vendor's strings (`RoleReadWrite`,
//! `Normal`, `Available`, ...) so that the emulator can answer an unknown value with the
//! vendor's error instead of failing to parse it.

use serde::{Deserialize, Serialize};

use super::instance::EmptyResponse;
use super::{Action, ParamError, WireParams};
use crate::api::params::Params;
use crate::secret::Secret;

/// `AccountPrivilege` for read-only access.
pub const ROLE_READ_ONLY: &str = "RoleReadOnly";
/// `AccountPrivilege` for read and write access (the default).
pub const ROLE_READ_WRITE: &str = "RoleReadWrite";
/// `AccountPrivilege` for read, write, `SYNC` and `PSYNC` (replication).
pub const ROLE_REPL: &str = "RoleRepl";

/// `CreateAccount`: adds a normal account with a password and a privilege.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAccount {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName` (required).
    pub account_name: String,
    /// `AccountPassword` (required).
    pub account_password: Secret,
    /// `AccountPrivilege`; the cloud's default is `RoleReadWrite`.
    pub account_privilege: Option<String>,
    /// `AccountDescription`.
    pub account_description: Option<String>,
    /// `AccountType`: only `Normal` is accepted.
    pub account_type: Option<String>,
}

impl Action for CreateAccount {
    const NAME: &'static str = "CreateAccount";
    const MUTATING: bool = true;
    type Response = CreateAccountResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("AccountName", &self.account_name)
            .set_secret("AccountPassword", self.account_password.clone())
            .set_opt("AccountPrivilege", self.account_privilege.as_deref())
            .set_opt("AccountDescription", self.account_description.as_deref())
            .set_opt("AccountType", self.account_type.as_deref());
        params
    }
}

impl CreateAccount {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(CreateAccount {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.required("AccountName")?.to_owned(),
            account_password: Secret::new(wire.required("AccountPassword")?),
            account_privilege: wire.string("AccountPrivilege"),
            account_description: wire.string("AccountDescription"),
            account_type: wire.string("AccountType"),
        })
    }
}

/// The answer to `CreateAccount`: the name twice, once under the vendor's misspelt key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateAccountResponse {
    pub request_id: String,
    pub instance_id: String,
    pub account_name: String,
    /// The same name under the deprecated, misspelt key the SDK models keep.
    #[serde(rename = "AcountName")]
    pub acount_name: String,
}

/// `DescribeAccounts`: the accounts of an instance, the default (`Super`) account included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeAccounts {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName`: only the account of this exact name.
    pub account_name: Option<String>,
    /// `SearchAccountName`: only accounts whose name contains this text.
    pub search_account_name: Option<String>,
    /// `PageNumber` (1-based).
    pub page_number: Option<u64>,
    /// `PageSize`.
    pub page_size: Option<u64>,
}

impl Action for DescribeAccounts {
    const NAME: &'static str = "DescribeAccounts";
    const MUTATING: bool = false;
    type Response = DescribeAccountsResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("AccountName", self.account_name.as_deref())
            .set_opt("SearchAccountName", self.search_account_name.as_deref())
            .set_opt("PageNumber", self.page_number.map(|n| n.to_string()))
            .set_opt("PageSize", self.page_size.map(|n| n.to_string()));
        params
    }
}

impl DescribeAccounts {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeAccounts {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.string("AccountName"),
            search_account_name: wire.string("SearchAccountName"),
            page_number: wire.u64("PageNumber")?,
            page_size: wire.u64("PageSize")?,
        })
    }
}

/// The answer to `DescribeAccounts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeAccountsResponse {
    pub request_id: String,
    pub accounts: Accounts,
    pub page_number: u64,
    pub page_size: u64,
    pub total_count: u64,
}

/// `Accounts: {Account: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Accounts {
    pub account: Vec<AccountEntry>,
}

/// One account in a `DescribeAccounts` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AccountEntry {
    pub instance_id: String,
    pub account_name: String,
    /// `Normal`, or `Super` for the default account.
    pub account_type: String,
    /// `Available` or `Unavailable`.
    pub account_status: String,
    pub account_description: String,
    pub database_privileges: DatabasePrivileges,
    /// Account parameters as a JSON string (empty unless set).
    pub parameters: String,
}

/// `DatabasePrivileges: {DatabasePrivilege: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DatabasePrivileges {
    pub database_privilege: Vec<DatabasePrivilege>,
}

/// One privilege of an account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DatabasePrivilege {
    /// `RoleReadOnly`, `RoleReadWrite` or `RoleRepl`.
    pub account_privilege: String,
}

/// `ModifyAccountDescription`: sets an account's description.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyAccountDescription {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName` (required).
    pub account_name: String,
    /// `AccountDescription` (required).
    pub account_description: String,
}

impl Action for ModifyAccountDescription {
    const NAME: &'static str = "ModifyAccountDescription";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("AccountName", &self.account_name)
            .set("AccountDescription", &self.account_description);
        params
    }
}

impl ModifyAccountDescription {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyAccountDescription {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.required("AccountName")?.to_owned(),
            account_description: wire.required("AccountDescription")?.to_owned(),
        })
    }
}

/// `ResetAccountPassword`: sets an account's password without knowing the old one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetAccountPassword {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName` (required).
    pub account_name: String,
    /// `AccountPassword` (required): the new password.
    pub account_password: Secret,
}

impl Action for ResetAccountPassword {
    const NAME: &'static str = "ResetAccountPassword";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("AccountName", &self.account_name)
            .set_secret("AccountPassword", self.account_password.clone());
        params
    }
}

impl ResetAccountPassword {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ResetAccountPassword {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.required("AccountName")?.to_owned(),
            account_password: Secret::new(wire.required("AccountPassword")?),
        })
    }
}

/// `GrantAccountPrivilege`: replaces an account's privilege.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrantAccountPrivilege {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName` (required).
    pub account_name: String,
    /// `AccountPrivilege` (required).
    pub account_privilege: String,
}

impl Action for GrantAccountPrivilege {
    const NAME: &'static str = "GrantAccountPrivilege";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("AccountName", &self.account_name)
            .set("AccountPrivilege", &self.account_privilege);
        params
    }
}

impl GrantAccountPrivilege {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(GrantAccountPrivilege {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.required("AccountName")?.to_owned(),
            account_privilege: wire.required("AccountPrivilege")?.to_owned(),
        })
    }
}

/// `DeleteAccount`: removes a normal account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteAccount {
    /// `InstanceId` (required).
    pub instance_id: String,
    /// `AccountName` (required).
    pub account_name: String,
}

impl Action for DeleteAccount {
    const NAME: &'static str = "DeleteAccount";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("AccountName", &self.account_name);
        params
    }
}

impl DeleteAccount {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DeleteAccount {
            instance_id: wire.required("InstanceId")?.to_owned(),
            account_name: wire.required("AccountName")?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_account_round_trips_and_keeps_the_password_secret() {
        let request = CreateAccount {
            instance_id: "r-1".into(),
            account_name: "app_rw".into(),
            account_password: Secret::new("Sup3r-secret"),
            account_privilege: Some(ROLE_READ_ONLY.into()),
            account_description: Some("orders service".into()),
            account_type: None,
        };
        let params = request.params();
        assert!(!format!("{params:?}").contains("Sup3r-secret"));
        let wire = params.expose();
        assert_eq!(wire["AccountPassword"], "Sup3r-secret");
        assert!(!wire.contains_key("AccountType"));
        assert_eq!(
            CreateAccount::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn reset_password_requires_the_password() {
        let wire = [("InstanceId", "r-1"), ("AccountName", "a")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            ResetAccountPassword::from_wire(WireParams(&wire)),
            Err(ParamError::Missing("AccountPassword".into()))
        );
    }

    #[test]
    fn create_response_carries_both_spellings() {
        let json = serde_json::to_value(CreateAccountResponse {
            account_name: "a".into(),
            acount_name: "a".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json["AccountName"], "a");
        assert_eq!(json["AcountName"], "a");
    }

    #[test]
    fn describe_response_uses_sdk_nesting_and_types() {
        let json = serde_json::to_value(DescribeAccountsResponse {
            accounts: Accounts {
                account: vec![AccountEntry {
                    database_privileges: DatabasePrivileges {
                        database_privilege: vec![DatabasePrivilege {
                            account_privilege: ROLE_READ_WRITE.into(),
                        }],
                    },
                    ..Default::default()
                }],
            },
            page_number: 1,
            ..Default::default()
        })
        .unwrap();
        let account = &json["Accounts"]["Account"][0];
        assert_eq!(
            account["DatabasePrivileges"]["DatabasePrivilege"][0]["AccountPrivilege"],
            "RoleReadWrite"
        );
        for key in [
            "AccountStatus",
            "AccountType",
            "AccountDescription",
            "Parameters",
        ] {
            assert!(account[key].is_string(), "{key}");
        }
        assert!(json["PageNumber"].is_u64());
        assert!(json["TotalCount"].is_u64());
    }
}

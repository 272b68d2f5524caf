//! Database accounts: create, list, describe, re-password, re-privilege and delete.
//!
//! Privileges, account types and statuses travel as the vendor's strings (`RoleReadWrite`,
//! `Normal`, `Available`, ...) so that the emulator can answer an unknown value with the
//! vendor's error instead of failing to parse it.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::{
    CreateAccount, DeleteAccount, DescribeAccounts, GrantAccountPrivilege,
    ModifyAccountDescription, ResetAccountPassword,
};

/// `AccountPrivilege` for read-only access.
pub const ROLE_READ_ONLY: &str = "RoleReadOnly";
/// `AccountPrivilege` for read and write access (the default).
pub const ROLE_READ_WRITE: &str = "RoleReadWrite";
/// `AccountPrivilege` for read, write, `SYNC` and `PSYNC` (replication).
pub const ROLE_REPL: &str = "RoleRepl";

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, ParamError, WireParams};

    use kvsync_secrets::Secret;

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
            <CreateAccount>::from_wire(WireParams(&wire)).unwrap(),
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
            <ResetAccountPassword>::from_wire(WireParams(&wire)),
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

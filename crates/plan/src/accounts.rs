//! Diff rules for accounts: when `accounts` is present it is the exact set of normal accounts.
//! Creates and changes come first, deletions after; the default (`Super`) account is never
//! touched.

use std::collections::BTreeMap;

use super::Context;
use super::instance::{MODIFY_TIMEOUT_SECS, blocked, change, step};
use super::model::{Blocked, Step, WaitFor};
use super::passwords::{DigestUpdates, PasswordCheck, check_password, password_unknown};
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_wire::actions::{
    CreateAccount, DeleteAccount, GrantAccountPrivilege, ModifyAccountDescription, Request,
    ResetAccountPassword,
};

/// The account steps of one instance.
pub fn diff(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
    digests: &mut DigestUpdates,
) {
    let Some(wanted) = &desired.accounts else {
        return;
    };
    let empty = BTreeMap::new();
    let current = observed.accounts.as_ref().unwrap_or(&empty);
    let field = |name: &str| format!("spec.accounts.{name}");

    for (name, account) in wanted {
        let wait = WaitFor::AccountAvailable(name.clone());
        match current.get(name) {
            Some(existing) if !existing.is_normal() => notes.push(blocked(
                &field(name),
                Some(existing.account_type.clone()),
                Some("Normal".into()),
                "this is the instance's default account; kvsync manages only normal accounts",
            )),
            Some(existing) => {
                if existing.privilege != Some(account.privilege) {
                    steps.push(step(
                        Request::GrantAccountPrivilege(GrantAccountPrivilege {
                            instance_id: observed.id.clone(),
                            account_name: name.clone(),
                            account_privilege: account.privilege.as_str().into(),
                        }),
                        wait.clone(),
                        MODIFY_TIMEOUT_SECS,
                        vec![change(
                            &format!("{}.privilege", field(name)),
                            Some(existing.privilege_text.clone()),
                            Some(account.privilege.as_str().into()),
                        )],
                    ));
                }
                if let Some(description) = &account.description
                    && *description != existing.description
                {
                    steps.push(step(
                        Request::ModifyAccountDescription(ModifyAccountDescription {
                            instance_id: observed.id.clone(),
                            account_name: name.clone(),
                            account_description: description.clone(),
                        }),
                        WaitFor::Nothing,
                        MODIFY_TIMEOUT_SECS,
                        vec![change(
                            &format!("{}.description", field(name)),
                            Some(existing.description.clone()),
                            Some(description.clone()),
                        )],
                    ));
                }
                if let Some(reference) = &account.password {
                    match check_password(ctx, desired, observed, Some(name)) {
                        PasswordCheck::Unchanged => {}
                        PasswordCheck::Unknown => {
                            notes.push(password_unknown(
                                &format!("{}.password", field(name)),
                                &reference.to_string(),
                            ));
                        }
                        PasswordCheck::Changed(digest) => {
                            steps.push(step(
                                Request::ResetAccountPassword(ResetAccountPassword {
                                    instance_id: observed.id.clone(),
                                    account_name: name.clone(),
                                    account_password: reference.clone(),
                                }),
                                wait.clone(),
                                MODIFY_TIMEOUT_SECS,
                                vec![change(
                                    &format!("{}.password", field(name)),
                                    Some("(recorded digest differs)".into()),
                                    Some(reference.to_string()),
                                )],
                            ));
                            digests.insert(name.clone(), Some(digest));
                        }
                    }
                }
            }
            None => {
                let Some(reference) = &account.password else {
                    notes.push(blocked(
                        &field(name),
                        None,
                        Some(account.privilege.as_str().into()),
                        "a new account needs a password: add password: {env: NAME} to create it",
                    ));
                    continue;
                };
                match check_password(ctx, desired, observed, Some(name)) {
                    PasswordCheck::Changed(digest) => {
                        digests.insert(name.clone(), Some(digest));
                    }
                    PasswordCheck::Unknown => {
                        notes.push(password_unknown(
                            &format!("{}.password", field(name)),
                            &reference.to_string(),
                        ));
                    }
                    PasswordCheck::Unchanged => {}
                }
                let mut changes = vec![
                    change(
                        &format!("{}.privilege", field(name)),
                        None,
                        Some(account.privilege.as_str().into()),
                    ),
                    change(
                        &format!("{}.password", field(name)),
                        None,
                        Some(reference.to_string()),
                    ),
                ];
                if let Some(description) = &account.description {
                    changes.push(change(
                        &format!("{}.description", field(name)),
                        None,
                        Some(description.clone()),
                    ));
                }
                steps.push(step(
                    Request::CreateAccount(CreateAccount {
                        instance_id: observed.id.clone(),
                        account_name: name.clone(),
                        account_password: reference.clone(),
                        account_privilege: Some(account.privilege.as_str().into()),
                        account_description: account.description.clone(),
                        account_type: Some("Normal".into()),
                    }),
                    wait,
                    MODIFY_TIMEOUT_SECS,
                    changes,
                ));
            }
        }
    }

    for (name, existing) in current {
        if existing.is_normal() && !wanted.contains_key(name) {
            steps.push(step(
                Request::DeleteAccount(DeleteAccount {
                    instance_id: observed.id.clone(),
                    account_name: name.clone(),
                }),
                WaitFor::Nothing,
                MODIFY_TIMEOUT_SECS,
                vec![change(
                    &field(name),
                    Some(existing.privilege_text.clone()),
                    None,
                )],
            ));
            digests.insert(name.clone(), None);
        }
    }
}

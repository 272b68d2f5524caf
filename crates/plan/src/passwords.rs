//! Password comparison shared by the instance password (`attributes`) and the accounts
//! (`accounts`): the recorded digest against the one computed at the edge, the note when the
//! secret is not readable, and the digest entries the steps record or forget (`tags`).

use std::collections::BTreeMap;

use super::Context;
use super::instance::blocked;
use super::model::{Blocked, BlockedKind};
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_secrets::digest::INSTANCE_ENTRY;

/// Digest entries to record (`Some`) or forget (`None`) after the steps, by entry name.
pub type DigestUpdates = BTreeMap<String, Option<String>>;

/// What a password comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The recorded digest matches: nothing to send.
    Unchanged,
    /// Different or never recorded: send it, then record this digest.
    Changed(String),
    /// The secret could not be read where the plan was made.
    Unknown,
}

/// Compares a managed password's digest with the one recorded in the instance's tags.
pub fn check_password(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    account: Option<&str>,
) -> PasswordCheck {
    match ctx.digest(&desired.key, account) {
        None => PasswordCheck::Unknown,
        Some(wanted) => {
            let entry = account.unwrap_or(INSTANCE_ENTRY);
            if observed.digests().get(entry).map(String::as_str) == Some(wanted) {
                PasswordCheck::Unchanged
            } else {
                PasswordCheck::Changed(wanted.to_owned())
            }
        }
    }
}

/// The note shown when a password could not be compared.
pub fn password_unknown(field: &str, reference: &str) -> Blocked {
    Blocked {
        kind: BlockedKind::Unverified,
        ..blocked(
            field,
            None,
            Some(reference.to_owned()),
            "not compared: the secret is not readable here (apply reads it and sets the password if it changed)",
        )
    }
}

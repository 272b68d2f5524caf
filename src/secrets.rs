//! Reading the secrets the manifests refer to, at the edge: their values for `apply`, their
//! digests for the planner. Every password is checked against the vendor's rules before any
//! call; problems name the manifest's file and line, never the value.

use std::collections::BTreeMap;

use crate::manifest::desired::Source;
use crate::manifest::diagnostics::{Diagnostic, Diagnostics};
use crate::manifest::rules::password_problem;
use crate::manifest::secret::{SecretError, SecretRef};
use crate::manifest::{Desired, DesiredInstance, InstanceKey};
use crate::passwords;
use crate::plan::Digests;
use crate::secret::Secret;

/// Whether every secret must be readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `plan`: an unreadable secret leaves its password uncompared.
    Optional,
    /// `apply`: an unreadable secret is an error before any call.
    Required,
}

/// The secrets that could be read, and the digests the planner compares.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Values by reference, for the calls that send them.
    pub values: BTreeMap<SecretRef, Secret>,
    /// Digests per instance and entry (`None`: not readable here).
    pub digests: Digests,
}

/// Why the secrets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A password breaks the vendor's rules.
    #[error(transparent)]
    Rules(#[from] Diagnostics),
    /// A secret that `apply` needs cannot be read.
    #[error("reading the secret {} of {}", .0.reference, .0.instance)]
    Missing(#[source] Box<MissingSecret>),
}

/// A secret that could not be read, and where the manifests name it.
#[derive(Debug, thiserror::Error)]
#[error("named at {source_location}")]
pub struct MissingSecret {
    /// The instance.
    pub instance: InstanceKey,
    /// The reference.
    pub reference: SecretRef,
    /// Where the manifest names it.
    pub source_location: Source,
    /// Why it cannot be read.
    #[source]
    pub source: SecretError,
}

/// Every password reference of an instance: `(account, reference, where)`.
fn references(instance: &DesiredInstance) -> Vec<(Option<&str>, &SecretRef, &Source)> {
    let mut found = Vec::new();
    if let Some(reference) = &instance.password {
        found.push((None, reference, &instance.source));
    }
    for account in instance.accounts.iter().flat_map(|a| a.values()) {
        if let Some(reference) = &account.password {
            found.push((Some(account.name.as_str()), reference, &account.source));
        }
    }
    found
}

/// Reads every password the manifests refer to, checks it, and computes its digest.
pub fn resolve(
    desired: &Desired,
    env: &dyn Fn(&str) -> Option<String>,
    need: Need,
) -> Result<Resolved, SecretsError> {
    let mut resolved = Resolved::default();
    let mut problems = Vec::new();
    for instance in &desired.instances {
        for (account, reference, source) in references(instance) {
            let entry = (
                instance.key.clone(),
                passwords::entry_name(account).to_owned(),
            );
            let value = match resolved.values.get(reference) {
                Some(value) => value.clone(),
                None => match reference.resolve(env) {
                    Ok(value) => value,
                    Err(source_err) if need == Need::Optional => {
                        tracing::info!(reference = %reference, error = %source_err, "secret not readable; password not compared");
                        resolved.digests.insert(entry, None);
                        continue;
                    }
                    Err(source_err) => {
                        return Err(SecretsError::Missing(Box::new(MissingSecret {
                            instance: instance.key.clone(),
                            reference: reference.clone(),
                            source_location: source.clone(),
                            source: source_err,
                        })));
                    }
                },
            };
            if let Some(problem) = password_problem(value.expose()) {
                let whose = account.map_or_else(
                    || "the instance password".to_owned(),
                    |a| format!("the password of account {a:?}"),
                );
                problems.push(Diagnostic {
                    path: source.path.clone(),
                    line: source.line,
                    column: source.column,
                    rule: "password",
                    message: format!("{whose} ({reference}): {problem}"),
                });
                continue;
            }
            let digest = passwords::digest(&value, &desired.stack.name, &instance.key, account);
            resolved.digests.insert(entry, Some(digest));
            resolved.values.insert(reference.clone(), value);
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(SecretsError::Rules(Diagnostics(problems)))
    }
}

//! Reading the secrets the manifests refer to, at the edge: their values for `apply`, their
//! digests for the planner (through [`crate::secrets`]). Every password is checked against the
//! vendor's rules before any call; problems name the manifest's file and line, never the value.

use std::collections::BTreeMap;

use crate::manifest::desired::{SecretSite, Source};
use crate::manifest::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::manifest::rules::password_problem;
use crate::manifest::{Desired, DesiredInstance, InstanceKey};
use crate::plan::Digests;
use crate::secrets::digest::{self, Owner};
use crate::secrets::{Secret, SecretError, SecretRef, value};

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

/// One password reference of an instance.
struct Reference<'a> {
    /// The account (`None`: the instance's default account).
    account: Option<&'a str>,
    reference: &'a SecretRef,
    site: &'a SecretSite,
    /// Where the manifest names it: the reference itself, else the instance or account name.
    source: &'a Source,
}

/// Every password reference of an instance.
fn references(instance: &DesiredInstance) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    if let Some(reference) = &instance.password {
        let site = &instance.password_site;
        found.push(Reference {
            account: None,
            reference,
            site,
            source: site.at.as_ref().unwrap_or(&instance.source),
        });
    }
    for account in instance.accounts.iter().flat_map(|a| a.values()) {
        if let Some(reference) = &account.password {
            let site = &account.password_site;
            found.push(Reference {
                account: Some(account.name.as_str()),
                reference,
                site,
                source: site.at.as_ref().unwrap_or(&account.source),
            });
        }
    }
    found
}

/// Reads every password the manifests refer to and checks it against the vendor's rules;
/// the digests are computed by [`Checked::hash`].
pub fn check(
    desired: &Desired,
    env: &dyn Fn(&str) -> Option<String>,
    need: Need,
) -> Result<Checked, SecretsError> {
    let mut resolved = Resolved::default();
    let mut pending = Vec::new();
    let mut problems = Vec::new();
    for instance in &desired.instances {
        for Reference {
            account,
            reference,
            site,
            source,
        } in references(instance)
        {
            let entry = (instance.key.clone(), digest::entry_name(account).to_owned());
            let value = match resolved.values.get(reference) {
                Some(value) => value.clone(),
                None => match reference.resolve(env, &site.roots) {
                    Ok(value) => {
                        value::register(&value);
                        value
                    }
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
                    severity: Severity::Error,
                    path: source.path.clone(),
                    line: source.line,
                    column: source.column,
                    rule: "password",
                    message: format!("{whose} ({reference}): {problem}"),
                });
                continue;
            }
            resolved.values.insert(reference.clone(), value.clone());
            pending.push(Pending {
                entry,
                value,
                account: account.map(str::to_owned),
            });
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            stack: desired.stack.name.clone(),
            resolved,
            pending,
        })
    } else {
        Err(SecretsError::Rules(Diagnostics(problems)))
    }
}

/// Reads every password the manifests refer to, checks it, and computes its digest.
pub fn resolve(
    desired: &Desired,
    env: &dyn Fn(&str) -> Option<String>,
    need: Need,
) -> Result<Resolved, SecretsError> {
    Ok(check(desired, env, need)?.hash(&mut DigestMemo::default()))
}

/// One password whose digest is still to be computed.
struct Pending {
    entry: (InstanceKey, String),
    value: Secret,
    account: Option<String>,
}

/// Secrets read and checked against the vendor's rules, digests not yet computed: PBKDF2 per
/// password is the costly part, so [`Checked::hash`] can run beside the observation.
pub struct Checked {
    stack: String,
    resolved: Resolved,
    pending: Vec<Pending>,
}

/// Digests computed before, reused while the value is the same, so the daemon computes each
/// digest once rather than every cycle. Held in memory only.
#[derive(Default)]
pub struct DigestMemo {
    known: BTreeMap<(String, InstanceKey, String), (Secret, String)>,
    computed: usize,
}

impl DigestMemo {
    /// How many digests the last [`Checked::hash`] computed (the rest were reused).
    pub fn last_computed(&self) -> usize {
        self.computed
    }

    /// Forgets the digests of instances `desired` no longer describes, so memory stays bounded.
    pub fn retain_described(&mut self, desired: &Desired) {
        let described: std::collections::BTreeSet<&InstanceKey> =
            desired.instances.iter().map(|i| &i.key).collect();
        self.known
            .retain(|(stack, key, _), _| *stack == desired.stack.name && described.contains(key));
    }
}

impl Checked {
    /// Computes the digests, spread over the machine's cores, reusing those `memo` holds for
    /// the same value, and remembers the new ones in `memo`.
    pub fn hash(self, memo: &mut DigestMemo) -> Resolved {
        let Checked {
            stack,
            mut resolved,
            pending,
        } = self;
        let memo_key = |item: &Pending| (stack.clone(), item.entry.0.clone(), item.entry.1.clone());
        let (known, to_compute): (Vec<Pending>, Vec<Pending>) =
            pending.into_iter().partition(|item| {
                memo.known
                    .get(&memo_key(item))
                    .is_some_and(|(value, _)| *value == item.value)
            });
        let computed = digest_all(&stack, &to_compute);
        memo.computed = computed.len();
        for item in known {
            if let Some((_, digest)) = memo.known.get(&memo_key(&item)) {
                resolved.digests.insert(item.entry, Some(digest.clone()));
            }
        }
        for (item, digest) in to_compute.into_iter().zip(computed) {
            let key = memo_key(&item);
            resolved.digests.insert(item.entry, Some(digest.clone()));
            memo.known.insert(key, (item.value, digest));
        }
        resolved
    }
}

/// The digests of `items`, in order, computed on as many threads as the machine has cores.
fn digest_all(stack: &str, items: &[Pending]) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let digest = |item: &Pending| {
        digest::digest(
            &item.value,
            Owner {
                stack,
                region: &item.entry.0.region,
                instance: &item.entry.0.name,
                account: item.account.as_deref(),
            },
        )
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(digest).collect::<Vec<String>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::desired::Stack;

    fn instance(name: &str, password_var: &str) -> DesiredInstance {
        let mut instance = DesiredInstance::bare(name);
        instance.password = Some(SecretRef::Env(password_var.into()));
        instance
    }

    fn fleet(count: usize) -> Desired {
        Desired {
            stack: Stack {
                name: "fleet".into(),
                ..Stack::default()
            },
            instances: (0..count)
                .map(|n| instance(&format!("cache-{n}"), &format!("PW_{}", n % 3)))
                .collect(),
        }
    }

    fn env(first: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name: &str| match name {
            "PW_0" => Some(first.to_owned()),
            "PW_1" => Some("Second-pass-22".to_owned()),
            "PW_2" => Some("Third-pass-333".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn parallel_digests_are_the_digests_of_each_password() {
        let desired = fleet(7);
        let resolved = resolve(&desired, &env("First-pass-1"), Need::Required).unwrap();
        assert_eq!(resolved.digests.len(), 7);
        for instance in &desired.instances {
            let Some(SecretRef::Env(var)) = &instance.password else {
                unreachable!()
            };
            let value = Secret::new(env("First-pass-1")(var).unwrap());
            let expected = digest::digest(
                &value,
                Owner {
                    stack: "fleet",
                    region: &instance.key.region,
                    instance: &instance.key.name,
                    account: None,
                },
            );
            assert_eq!(
                resolved.digests[&(instance.key.clone(), "*".to_owned())],
                Some(expected),
                "{}",
                instance.key
            );
        }
    }

    #[test]
    fn the_memo_recomputes_only_changed_passwords() {
        let desired = fleet(6);
        let mut memo = DigestMemo::default();
        let first = check(&desired, &env("First-pass-1"), Need::Required)
            .unwrap()
            .hash(&mut memo);
        assert_eq!(memo.last_computed(), 6);
        let again = check(&desired, &env("First-pass-1"), Need::Required)
            .unwrap()
            .hash(&mut memo);
        assert_eq!(memo.last_computed(), 0);
        assert_eq!(again.digests, first.digests);
        // PW_0 backs two of the six instances.
        let rotated = check(&desired, &env("Rotated-pass-9"), Need::Required)
            .unwrap()
            .hash(&mut memo);
        assert_eq!(memo.last_computed(), 2);
        let changed = first
            .digests
            .iter()
            .filter(|(entry, digest)| rotated.digests[*entry] != **digest)
            .count();
        assert_eq!(changed, 2);
        memo.retain_described(&fleet(2));
        check(&fleet(6), &env("Rotated-pass-9"), Need::Required)
            .unwrap()
            .hash(&mut memo);
        assert_eq!(memo.last_computed(), 4);
    }

    #[test]
    fn issue_secret_errors_point_at_the_reference_not_the_name() {
        let yaml = "apiVersion: kvsync/v1
kind: Instance
metadata:
  name: orders-cache
  region: cn-hangzhou
spec:
  instanceClass: redis.master.small.default
  password: {env: SHORT_PW}
  accounts:
    - name: app
      password: {env: MISSING_PW}
";
        let desired =
            crate::manifest::parse(&[(std::path::PathBuf::from("t.yaml"), yaml.into())], None)
                .unwrap();
        let env = |name: &str| (name == "SHORT_PW").then(|| "Sh0rt!".to_owned());
        let Err(SecretsError::Rules(rules)) = check(&desired, &env, Need::Optional) else {
            panic!("the short password is refused");
        };
        let shown = rules.to_string();
        assert!(
            shown.starts_with("t.yaml:8:19: error[password]: "),
            "{shown}"
        );
        assert!(!shown.contains('6'), "the length is not stated: {shown}");
        let env = |name: &str| (name == "SHORT_PW").then(|| "Long-Enough-1".to_owned());
        let Err(SecretsError::Missing(missing)) = check(&desired, &env, Need::Required) else {
            panic!("the missing password is refused");
        };
        assert_eq!(missing.source_location.to_string(), "t.yaml:11:23");
    }
}

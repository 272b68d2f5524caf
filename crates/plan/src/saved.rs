//! Saved plans (`plan --out FILE`, `apply FILE`): the plan plus fingerprints of what it was
//! computed from, so that applying it later can refuse when the cloud or the secrets changed.
//!
//! A saved plan holds secret references and digests only, never a secret.

use crate::values::InstanceStatus;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Digests;
use super::model::Plan;
use crate::observed::Observed;

/// The version of the saved-plan file format.
pub const SAVED_PLAN_FORMAT: u32 = 1;

/// A plan as written by `plan --out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_FORMAT`].
    pub saved_plan_format: u32,
    /// The kvsync version that wrote it.
    pub kvsync_version: String,
    /// Fingerprint of the observed state the plan was computed from.
    pub observed_fingerprint: String,
    /// Fingerprint of the password digests the plan was computed with.
    pub digests_fingerprint: String,
    /// The plan.
    pub plan: Plan,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A digest of everything observed except transient statuses, so a plan goes stale when the
/// cloud changes but not when an instance merely finishes a transition.
pub fn fingerprint_observed(observed: &Observed) -> String {
    let mut stable = observed.clone();
    for instance in stable.regions.values_mut().flatten() {
        instance.status = InstanceStatus::Other(String::new());
    }
    sha256_hex(
        serde_json::to_string(&stable)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// A digest of the password digests (which entries could be read, and their values).
pub fn fingerprint_digests(digests: &Digests) -> String {
    let flat: Vec<(String, String, Option<&String>)> = digests
        .iter()
        .map(|((key, entry), digest)| (key.to_string(), entry.clone(), digest.as_ref()))
        .collect();
    sha256_hex(serde_json::to_string(&flat).unwrap_or_default().as_bytes())
}

/// Why a saved plan cannot be applied now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// The file is of another format.
    #[error("the saved plan has format {0}; this kvsync reads format {SAVED_PLAN_FORMAT}")]
    Format(u32),
    /// The cloud changed.
    #[error("the cloud changed since the plan was made; run `kvsync plan` again")]
    Cloud,
    /// A password (or its readability) changed.
    #[error("the secrets changed since the plan was made; run `kvsync plan` again")]
    Secrets,
    /// The stack is another.
    #[error("the saved plan is for stack {saved:?}, the manifests form stack {current:?}")]
    Stack {
        /// In the file.
        saved: String,
        /// In the manifests.
        current: String,
    },
}

impl SavedPlan {
    /// Wraps a plan with the fingerprints of its inputs.
    pub fn new(plan: Plan, observed: &Observed, digests: &Digests) -> Self {
        SavedPlan {
            saved_plan_format: SAVED_PLAN_FORMAT,
            kvsync_version: env!("CARGO_PKG_VERSION").to_owned(),
            observed_fingerprint: fingerprint_observed(observed),
            digests_fingerprint: fingerprint_digests(digests),
            plan,
        }
    }

    /// Checks that the plan still applies to what is observed now.
    pub fn check_fresh(
        &self,
        stack: &str,
        observed: &Observed,
        digests: &Digests,
    ) -> Result<(), Stale> {
        if self.saved_plan_format != SAVED_PLAN_FORMAT {
            return Err(Stale::Format(self.saved_plan_format));
        }
        if self.plan.stack != stack {
            return Err(Stale::Stack {
                saved: self.plan.stack.clone(),
                current: stack.to_owned(),
            });
        }
        if self.observed_fingerprint != fingerprint_observed(observed) {
            return Err(Stale::Cloud);
        }
        if self.digests_fingerprint != fingerprint_digests(digests) {
            return Err(Stale::Secrets);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::InstanceKey;
    use crate::observed::ObservedInstance;

    fn observed(class: &str, status: &str) -> Observed {
        let mut observed = Observed::default();
        observed.regions.insert(
            "cn-hangzhou".into(),
            vec![ObservedInstance {
                id: "r-1".into(),
                name: "a".into(),
                instance_class: class.into(),
                status: status.into(),
                ..ObservedInstance::default()
            }],
        );
        observed
    }

    fn plan() -> Plan {
        Plan {
            format_version: super::super::model::PLAN_FORMAT_VERSION,
            stack: "shop".into(),
            complete: true,
            instances: Vec::new(),
            scope: None,
        }
    }

    #[test]
    fn a_fresh_plan_passes_and_survives_status_transitions() {
        let digests = Digests::new();
        let saved = SavedPlan::new(plan(), &observed("small", "Creating"), &digests);
        assert_eq!(
            saved.check_fresh("shop", &observed("small", "Normal"), &digests),
            Ok(())
        );
    }

    #[test]
    fn a_changed_cloud_or_secret_makes_it_stale() {
        let digests = Digests::new();
        let saved = SavedPlan::new(plan(), &observed("small", "Normal"), &digests);
        assert_eq!(
            saved.check_fresh("shop", &observed("mid", "Normal"), &digests),
            Err(Stale::Cloud)
        );
        let mut changed = Digests::new();
        let key = InstanceKey {
            region: "cn-hangzhou".into(),
            name: "a".into(),
        };
        changed.insert((key, "*".into()), Some("digest".into()));
        assert_eq!(
            saved.check_fresh("shop", &observed("small", "Normal"), &changed),
            Err(Stale::Secrets)
        );
        assert!(matches!(
            saved.check_fresh("other", &observed("small", "Normal"), &digests),
            Err(Stale::Stack { .. })
        ));
    }

    #[test]
    fn saved_plans_round_trip_through_json() {
        let saved = SavedPlan::new(plan(), &observed("small", "Normal"), &Digests::new());
        let text = serde_json::to_string(&saved).unwrap();
        assert_eq!(serde_json::from_str::<SavedPlan>(&text).unwrap(), saved);
    }
}

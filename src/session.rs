//! The pipeline every planning entry point runs once the manifests are loaded and their
//! secrets read: observe the cloud while the password digests are computed on a blocking
//! thread, then diff.
//!
//! `plan` and `apply` use [`plan`] and [`replan`]; the daemon, whose observation goes through
//! its cache and deadlines, passes its own observation to [`observe_and_digest`] and keeps its
//! digest memo between cycles.

use std::future::Future;

use crate::api::Client;
use crate::apply::secrets::{Checked, DigestMemo, Resolved};
use crate::manifest::Desired;
use crate::observe::{self, Lookup, ObserveError, Observed};
use crate::plan::{self, DiffOptions, Plan};

/// What [`plan`] found and decided.
#[derive(Debug)]
pub struct Planned {
    /// The cloud as read.
    pub observed: Observed,
    /// The changes from it to the manifests.
    pub plan: Plan,
    /// The secret values and the digests the plan compared.
    pub resolved: Resolved,
}

/// Awaits `observation` while the digests of `checked`'s passwords are computed on a blocking
/// thread, reusing and updating `memo`. Returns the observation's output, the resolved secrets
/// and the memo. A panic while hashing is resumed here.
pub async fn observe_and_digest<T>(
    checked: Checked,
    mut memo: DigestMemo,
    observation: impl Future<Output = T>,
) -> (T, Resolved, DigestMemo) {
    let hashing = tokio::task::spawn_blocking(move || {
        let resolved = checked.hash(&mut memo);
        (resolved, memo)
    });
    let observed = observation.await;
    let (resolved, memo) = hashing
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
    (observed, resolved, memo)
}

/// Reads everything `desired` manages from the cloud while the digests are computed, then
/// diffs: the first plan of `plan` and `apply`. With a `lookup`, only the instances it names
/// are read ([`observe::observe_only`]: a partial observation, which `options.partial` must
/// say). The plan is made for the cloud's time once everything is read (`options.now` is
/// replaced by [`Client::cloud_now`]).
pub async fn plan(
    client: &Client,
    desired: &Desired,
    checked: Checked,
    options: DiffOptions<'_>,
    lookup: Option<&Lookup>,
) -> Result<Planned, ObserveError> {
    let observation = async {
        match lookup {
            None => observe::observe(client, desired).await,
            Some(lookup) => observe::observe_only(client, desired, lookup).await,
        }
    };
    let (observed, resolved, _) =
        observe_and_digest(checked, DigestMemo::default(), observation).await;
    let observed = observed?;
    let options = DiffOptions {
        now: client.cloud_now(),
        ..options
    };
    let plan = plan::diff(desired, &observed, &resolved.digests, options);
    Ok(Planned {
        observed,
        plan,
        resolved,
    })
}

/// Reads the cloud again (only what `lookup` names, if given) and diffs with digests already
/// computed: what is left after an apply (at the cloud's time, as [`plan`]).
pub async fn replan(
    client: &Client,
    desired: &Desired,
    resolved: &Resolved,
    options: DiffOptions<'_>,
    lookup: Option<&Lookup>,
) -> Result<(Observed, Plan), ObserveError> {
    let observed = match lookup {
        None => observe::observe(client, desired).await?,
        Some(lookup) => observe::observe_only(client, desired, lookup).await?,
    };
    let options = DiffOptions {
        now: client.cloud_now(),
        ..options
    };
    let plan = plan::diff(desired, &observed, &resolved.digests, options);
    Ok((observed, plan))
}

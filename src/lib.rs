//! kvsync keeps Alibaba Cloud ApsaraDB for Redis (R-KVStore) in the state YAML manifests describe.
//!
//! Layout, one line per module (see `ARCHITECTURE.md` for the invariants):
//! - [`manifest`]: load, parse and validate manifests into [`manifest::Desired`].
//! - [`api`]: the signed, retrying, rate-limited client and the wire types.
//! - [`observe`]: read the cloud into [`observe::Observed`].
//! - [`plan`]: the pure diff from desired and observed state to a [`plan::Plan`], and its renderers.
//! - [`session`]: observe while the password digests are computed, then diff.
//! - [`since`]: the manifests at a git ref, and the part of the stack changed since it.
//! - [`git`]: running the `git` program (no shell, a timeout, scrubbed errors).
//! - [`apply`]: execute a plan, wait for instances, report.
//! - [`audit`]: the audit log of write calls: records, the client's sink, rotation, reading.
//! - [`import`]: write manifests for existing instances that plan empty.
//! - [`secrets`]: secret values that cannot print, references to them, reading, digests.
//! - [`values`]: network type, status, charge type, hour window, IPv4 net, engine version.
//! - [`coordination`]: one writer per shard (stack, region): local file locks or etcd.
//! - [`lock`]: one writer per stack and region on this machine.
//! - [`journal`]: the seed of an unfinished run's intent tokens.
//! - [`emulator`]: a local R-KVStore server for tests and trials.
//! - [`signals`]: the stop signals and SIGHUP, registered in one place.
//! - [`notify`]: the daemon's notification events, receivers, de-duplication, recent events.
//! - [`cli`]: the command line.

pub use kvsync_client as api;
pub use kvsync_emulator as emulator;
pub use kvsync_plan as plan;
pub use kvsync_plan::{manifest, values};
pub use kvsync_secrets as secrets;
pub use kvsync_wire::env_vars;

pub mod apply;
pub mod audit;
pub mod cli;
pub mod coordination;
pub mod daemon;
pub mod git;
pub mod identity;
pub mod import;
pub mod journal;
pub mod lock;
pub mod notify;
pub mod observe;
pub mod session;
pub mod signals;
pub mod since;

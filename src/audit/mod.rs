//! The audit log: one JSON line per write call kvsync makes to the cloud, appended to a file
//! that is rotated by size, and read back by `kvsync audit`.
//!
//! It owns the record format ([`Record`]), the sink a client reports its write calls to
//! ([`AuditSink`], the main crate's side of `api::CallAudit`), the context the client does not
//! know (the stack and instance a call works on, [`scoped`]), the writer ([`log::AuditLog`])
//! and the reader ([`read`]). It never holds a secret value: the client hands it secret
//! parameters as `(secret)` and plain values already scrubbed, and a failing write of the log
//! never fails a call (it is logged as a warning instead).

pub mod log;
pub mod read;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::api::{AuditedCall, CallAudit};

pub use self::log::AuditLog;

/// Where the daemon writes its audit log unless `--audit-log` says otherwise: beside the lock
/// directory ([`crate::lock::DEFAULT_DIR`]), in the daemon's state directory.
pub const DEFAULT_PATH: &str = ".kvsync/audit.jsonl";

/// The size past which the log is rotated unless `--audit-max-bytes` says otherwise (10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// How many rotated files are kept: `FILE.1` (the newest) to `FILE.5`.
pub const KEEP: usize = 5;

/// The version of the record format, written in every record.
pub const FORMAT_VERSION: u32 = 1;

/// One write call, as a line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// [`FORMAT_VERSION`].
    #[serde(default = "format_version")]
    pub format_version: u32,
    /// When the call started (RFC 3339, UTC).
    pub time: Timestamp,
    /// Who made it: the daemon replica's name, or the command and `host-pid`.
    pub who: String,
    /// The AccessKeyId the call was signed with, as its last four characters (`…abcd`): logs
    /// never hold a whole key id.
    pub access_key_id: String,
    /// The stack the call worked for, when known.
    #[serde(default)]
    pub stack: Option<String>,
    /// The region the call was sent to.
    pub region: String,
    /// The instance the call concerned: the manifest's `region/name`, else the name or ID the
    /// request carries.
    #[serde(default)]
    pub instance: Option<String>,
    /// The `Action`.
    pub action: String,
    /// Every parameter of the request (common and signature parameters aside); a secret one
    /// has the value `(secret)`.
    pub params: BTreeMap<String, String>,
    /// The cloud's `RequestId` (empty when the call got none).
    pub request_id: String,
    /// `ok`, the cloud's error code, `fenced` (not sent), `transport` (no answer), `decode`
    /// or `body_too_large`.
    pub outcome: String,
    /// Attempts made, the client's retries included.
    pub attempts: u32,
    /// How long the call took, retries included, in milliseconds.
    pub duration_ms: u64,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// The stack and instance a task works on, for the records of its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The stack.
    pub stack: String,
    /// The instance, as `region/name`.
    pub instance: String,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Runs `future` with its write calls recorded as made for `scope` (the executor sets it
/// around each instance's steps).
pub async fn scoped<F: Future>(scope: Scope, future: F) -> F::Output {
    SCOPE.scope(scope, future).await
}

/// The scope the current task runs in, if any.
fn current_scope() -> Option<Scope> {
    SCOPE.try_with(Scope::clone).ok()
}

/// The instance a request names by itself, for a call made outside a [`scoped`] task.
fn instance_of(params: &[(&str, String)]) -> Option<String> {
    ["InstanceName", "InstanceId", "DBInstanceId"]
        .iter()
        .find_map(|wanted| {
            params
                .iter()
                .find(|(name, value)| name == wanted && !value.is_empty())
                .map(|(_, value)| value.clone())
        })
}

/// Who a run is, for the `who` of its records: `COMMAND:host-pid`.
pub fn who(command: &str) -> String {
    format!("{command}:{}", crate::coordination::replica::default_name())
}

/// The client's audit hook writing to an [`AuditLog`]: one per run (or daemon), knowing who
/// runs and, as a fallback for calls outside a [`scoped`] task, the stack.
pub struct AuditSink {
    log: Arc<AuditLog>,
    who: String,
    stack: Option<String>,
    instance: Option<String>,
    warned: AtomicBool,
}

impl AuditSink {
    /// A sink writing to `log` for `who`, with `stack` for calls made outside a scope.
    pub fn new(log: Arc<AuditLog>, who: String, stack: Option<String>) -> Self {
        AuditSink {
            log,
            who,
            stack,
            instance: None,
            warned: AtomicBool::new(false),
        }
    }

    /// The same sink naming `instance` (as `region/name`) for calls made outside a scope: the
    /// instance commands work on one instance.
    pub fn for_instance(self, instance: String) -> Self {
        AuditSink {
            instance: Some(instance),
            ..self
        }
    }

    /// The record of `call`, with the context of the current task.
    pub fn record_of(&self, call: &AuditedCall<'_>) -> Record {
        let scope = current_scope();
        Record {
            format_version: FORMAT_VERSION,
            time: call.started,
            who: self.who.clone(),
            access_key_id: crate::api::credentials::key_hint(call.access_key_id),
            stack: scope
                .as_ref()
                .map(|s| s.stack.clone())
                .or_else(|| self.stack.clone()),
            region: call.region.to_owned(),
            instance: scope
                .map(|s| s.instance)
                .or_else(|| self.instance.clone())
                .or_else(|| instance_of(&call.params)),
            action: call.action.to_owned(),
            params: call
                .params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
            request_id: call.request_id.to_owned(),
            outcome: call.outcome.to_owned(),
            attempts: call.attempts,
            duration_ms: u64::try_from(call.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl CallAudit for AuditSink {
    fn record(&self, call: &AuditedCall<'_>) {
        let record = self.record_of(call);
        if let Err(err) = self.log.append(&record) {
            // The call is made; failing it now would hide that. Warn (once loudly).
            if !self.warned.swap(true, Ordering::Relaxed) {
                let mut error = err.to_string();
                let mut source = std::error::Error::source(&err);
                while let Some(cause) = source {
                    error.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                tracing::error!(error, "the audit log could not be written");
            } else {
                tracing::warn!(error = %err, action = call.action, "an audit record was not written");
            }
        }
    }
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Opening (or creating) a file of the log failed.
    #[error("opening the audit log {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Appending a record failed.
    #[error("writing to the audit log {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Renaming the files of the log to rotate it failed.
    #[error("rotating the audit log {}", path.display())]
    Rotate {
        /// The file being renamed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading a file of the log failed.
    #[error("reading the audit log {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Neither the log nor any rotated file of it exists.
    #[error("there is no audit log at {} (nor any rotated file of it)", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(params: Vec<(&'a str, String)>) -> AuditedCall<'a> {
        AuditedCall {
            region: "cn-hangzhou",
            action: "ModifyInstanceSpec",
            params,
            request_id: "R-1",
            outcome: "ok",
            started: "2026-01-02T03:04:05Z".parse().unwrap(),
            duration: std::time::Duration::from_millis(12),
            attempts: 1,
            access_key_id: "AK",
        }
    }

    fn sink(dir: &std::path::Path) -> AuditSink {
        let log = AuditLog::open(dir.join("a.jsonl"), DEFAULT_MAX_BYTES).unwrap();
        AuditSink::new(Arc::new(log), "apply:h-1".into(), Some("shop".into()))
    }

    #[tokio::test]
    async fn the_scope_names_the_instance_and_stack() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path());
        let scope = Scope {
            stack: "other".into(),
            instance: "cn-hangzhou/orders".into(),
        };
        let record = scoped(scope, async {
            sink.record_of(&call(vec![("InstanceId", "r-1".into())]))
        })
        .await;
        assert_eq!(record.instance.as_deref(), Some("cn-hangzhou/orders"));
        assert_eq!(record.stack.as_deref(), Some("other"));
        assert_eq!(record.duration_ms, 12);
    }

    #[tokio::test]
    async fn outside_a_scope_the_request_names_the_instance() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path());
        let record = sink.record_of(&call(vec![
            ("InstanceId", "r-1".into()),
            ("Password", crate::api::SECRET_PLACEHOLDER.into()),
        ]));
        assert_eq!(record.instance.as_deref(), Some("r-1"));
        assert_eq!(record.stack.as_deref(), Some("shop"));
        assert_eq!(record.params["Password"], "(secret)");
    }
}

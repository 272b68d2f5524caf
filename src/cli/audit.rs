//! `kvsync audit`: print the audit log of write calls (a read of local files: no cloud call).
//!
//! It reads every rotated file, oldest first, then the current one, and prints a table or, with
//! `--json`, each record as one JSON line (the format the file holds). A line that is not a
//! record — the last one of a file a crash cut — is skipped with a warning on stderr naming the
//! file and line; the command still succeeds.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use jiff::{SignedDuration, Timestamp};
use kvsync_wire::text::escape_invisible;

use super::{CliError, ExitStatus};
use crate::audit::Record;
use crate::audit::read::{self, Filter};

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit log to read (its rotated files FILE.1 … FILE.5 are read as well).
    #[arg(long, value_name = "FILE", default_value = crate::audit::DEFAULT_PATH)]
    pub audit_log: PathBuf,
    /// Only calls started within this long before now (such as 10m, 36h or 7d), or from this
    /// time on (RFC 3339).
    #[arg(long, value_name = "DURATION|RFC3339", value_parser = since)]
    pub since: Option<Since>,
    /// Only calls concerning this instance: `region/name`, its name, or its cloud ID.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Print each record as one JSON line, as the log holds it.
    #[arg(long)]
    pub json: bool,
}

/// Where `--since` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Duration),
    /// From this time on.
    At(Timestamp),
}

/// `--since`: a duration (1s to 3650d; days as `Nd`) or an RFC 3339 time.
fn since(text: &str) -> Result<Since, String> {
    let trimmed = text.trim();
    if let Ok(at) = trimmed.parse::<Timestamp>() {
        return Ok(Since::At(at));
    }
    let parsed = match trimmed.strip_suffix('d') {
        Some(days) => days
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(24 * 3600))
            .map(Duration::from_secs),
        None => trimmed
            .parse::<SignedDuration>()
            .ok()
            .and_then(|d| Duration::try_from(d).ok()),
    };
    match parsed {
        Some(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(3650 * 24 * 3600) => {
            Ok(Since::Ago(d))
        }
        _ => Err(format!(
            "{text:?} must be a duration from 1s to 3650d (such as 10m, 36h or 7d) or an RFC 3339 time"
        )),
    }
}

/// Reads the log and prints what the filter keeps.
pub fn exec(args: AuditArgs) -> Result<ExitStatus, CliError> {
    let since = match args.since {
        None => None,
        Some(Since::At(at)) => Some(at),
        Some(Since::Ago(ago)) => Some(
            SignedDuration::try_from(ago)
                .ok()
                .and_then(|ago| Timestamp::now().checked_sub(ago).ok())
                .unwrap_or(Timestamp::MIN),
        ),
    };
    let filter = Filter {
        since,
        instance: args.instance,
    };
    let found = read::read(&args.audit_log, &filter)?;
    for skipped in &found.skipped {
        eprintln!(
            "warning: {}:{}: skipped a line: {} (a record cut by a crash?)",
            skipped.path.display(),
            skipped.line,
            skipped.reason
        );
    }
    if args.json {
        for record in &found.records {
            let line = serde_json::to_string(record).unwrap_or_default();
            crate::outln!("{}", kvsync_wire::text::escape_invisible_json(&line))?;
        }
    } else {
        print_table(&found.records)?;
    }
    Ok(ExitStatus::Success)
}

fn print_table(records: &[Record]) -> Result<(), CliError> {
    if records.is_empty() {
        crate::outln!("No write calls recorded.")?;
        return Ok(());
    }
    let header = [
        "TIME",
        "WHO",
        "INSTANCE",
        "ACTION",
        "OUTCOME",
        "REQUEST ID",
        "DURATION",
    ];
    let rows: Vec<[String; 7]> = records.iter().map(row).collect();
    super::table::print(header, &rows)
}

/// A record's cells; texts from the file are shown with invisible characters escaped.
fn row(record: &Record) -> [String; 7] {
    let text = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            escape_invisible(s).into_owned()
        }
    };
    [
        record.time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        text(&record.who),
        text(record.instance.as_deref().unwrap_or("")),
        text(&record.action),
        text(&record.outcome),
        text(&record.request_id),
        duration(record.duration_ms),
    ]
}

/// Milliseconds below a second, else seconds with one decimal.
fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_days_and_times() {
        assert_eq!(since("10m"), Ok(Since::Ago(Duration::from_secs(600))));
        assert_eq!(since("2d"), Ok(Since::Ago(Duration::from_secs(2 * 86400))));
        assert!(matches!(since("2026-01-02T03:04:05Z"), Ok(Since::At(_))));
        assert!(since("0s").is_err());
        assert!(since("soon").is_err());
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(42), "42ms");
        assert_eq!(duration(3456), "3.5s");
    }
}

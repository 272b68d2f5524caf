//! `kvsync backups INSTANCE`: the backup sets of an instance started within a time range (a
//! read: nothing to confirm).

use std::time::Duration;

use clap::Args;
use jiff::{SignedDuration, Timestamp};

use super::instance::{InstanceArgs, Session};
use super::{CliError, ExitStatus, GlobalArgs};
use crate::api::actions::backup::{BackupSet, DescribeBackups};

/// The largest page asked for.
const PAGE_SIZE: u64 = 100;

/// Arguments of `backups`.
#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// The instance.
    #[command(flatten)]
    pub instance: InstanceArgs,
    /// List the backups started within this long before now (or before --to), 1m to 730d.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = super::values::since, conflicts_with = "from")]
    pub since: Duration,
    /// List the backups started from this time on (RFC 3339) instead of --since.
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<Timestamp>,
    /// List the backups started until this time (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    pub to: Option<Timestamp>,
}

/// One listed backup set, as `--json` prints it.
#[derive(Debug, serde::Serialize)]
struct Listed {
    backup_id: String,
    job_id: String,
    status: String,
    mode: String,
    method: String,
    start: String,
    end: String,
    size_bytes: i64,
}

impl From<BackupSet> for Listed {
    fn from(set: BackupSet) -> Self {
        Listed {
            backup_id: set.backup_id.to_string(),
            job_id: set.backup_job_id.to_string(),
            status: set.backup_status,
            mode: set.backup_mode,
            method: set.backup_method,
            start: set.backup_start_time,
            end: set.backup_end_time,
            size_bytes: set.backup_size,
        }
    }
}

/// Lists every page of `DescribeBackups` and prints a table or the JSON document.
pub async fn exec(global: &GlobalArgs, args: BackupsArgs) -> Result<ExitStatus, CliError> {
    let (start, end) = range(&args, Timestamp::now())?;
    let session = Session::open(global, &args.instance, None, "backups").await?;
    let json = args.instance.json;
    let result = async {
        let sets = list(&session, &start, &end).await?;
        if !json {
            print_table(&session, &start, &end, &sets)?;
        }
        Ok::<_, CliError>(serde_json::to_value(&sets).unwrap_or_default())
    }
    .await;
    session.finish(json, result).await
}

/// The time range, as `DescribeBackups` takes it (`yyyy-MM-ddTHH:mmZ`, UTC); the end is
/// rounded up to the next minute, so a backup started this minute is listed.
fn range(args: &BackupsArgs, now: Timestamp) -> Result<(String, String), CliError> {
    let end = args.to.unwrap_or(now);
    let start = match args.from {
        Some(from) => from,
        None => SignedDuration::try_from(args.since)
            .ok()
            .and_then(|since| end.checked_sub(since).ok())
            .ok_or_else(|| CliError::Usage("--since reaches too far back".into()))?,
    };
    if start >= end {
        return Err(CliError::Usage(format!(
            "the range must end after it starts: {start} is not before {end}"
        )));
    }
    let minute = SignedDuration::from_mins(1);
    let end = end.checked_add(minute).unwrap_or(end);
    let stamp = |at: Timestamp| at.strftime("%Y-%m-%dT%H:%MZ").to_string();
    Ok((stamp(start), stamp(end)))
}

/// Every backup set of the range, page after page until the total the cloud reports.
async fn list(session: &Session, start: &str, end: &str) -> Result<Vec<Listed>, CliError> {
    let mut sets = Vec::new();
    for page_number in 1.. {
        let request = DescribeBackups {
            instance_id: session.instance.instance_id.clone(),
            start_time: start.to_owned(),
            end_time: end.to_owned(),
            backup_id: None,
            backup_job_id: None,
            need_aof: None,
            page_number,
            page_size: PAGE_SIZE,
        };
        let page = session.call("DescribeBackups", &request).await?;
        let count = page.backups.backup.len();
        sets.extend(page.backups.backup.into_iter().map(Listed::from));
        if count == 0 || sets.len() as u64 >= page.total_count {
            break;
        }
    }
    Ok(sets)
}

fn print_table(session: &Session, start: &str, end: &str, sets: &[Listed]) -> Result<(), CliError> {
    let instance = &session.instance;
    if sets.is_empty() {
        crate::outln!("No backups of {instance} started from {start} to {end}.")?;
        return Ok(());
    }
    crate::outln!(
        "{} backup{} of {instance} started from {start} to {end}:",
        sets.len(),
        if sets.len() == 1 { "" } else { "s" }
    )?;
    let header = ["ID", "JOB", "STATUS", "MODE", "START", "END", "SIZE"];
    let rows: Vec<[String; 7]> = sets
        .iter()
        .map(|s| {
            [
                s.backup_id.clone(),
                s.job_id.clone(),
                s.status.clone(),
                s.mode.clone(),
                s.start.clone(),
                s.end.clone(),
                size(s.size_bytes),
            ]
        })
        .collect();
    super::table::print(header, &rows)
}

/// A size in bytes, shown in the largest binary unit it reaches.
fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}

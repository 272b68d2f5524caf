//! Reading the audit log back: every rotated file, oldest first, then the current one.
//!
//! A line that is not a record (the last line of a file a crash cut, say) is skipped and
//! reported, never fatal: the log is evidence, and a reader that refused it whole after a crash
//! would hide the rest of it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{AuditError, AuditLog, KEEP, Record};

/// Which records to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only records of calls started at or after this time.
    pub since: Option<Timestamp>,
    /// Only records of this instance: its `region/name`, its name, or its cloud ID.
    pub instance: Option<String>,
}

impl Filter {
    /// Whether `record` passes.
    pub fn admits(&self, record: &Record) -> bool {
        if self.since.is_some_and(|since| record.time < since) {
            return false;
        }
        let Some(wanted) = &self.instance else {
            return true;
        };
        let named = record.instance.as_deref().is_some_and(|instance| {
            instance == wanted
                || instance
                    .rsplit_once('/')
                    .is_some_and(|(_, name)| name == wanted)
        });
        named
            || ["InstanceId", "DBInstanceId", "InstanceName"]
                .iter()
                .any(|key| record.params.get(*key) == Some(wanted))
    }
}

/// A line that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Its line number, from 1.
    pub line: usize,
    /// Why it is not a record.
    pub reason: String,
}

/// What reading found.
#[derive(Debug, Default)]
pub struct Read {
    /// The records that pass the filter, in time order (stable: lines of the same moment keep
    /// the order they were written in).
    pub records: Vec<Record>,
    /// Lines that are not records.
    pub skipped: Vec<Skipped>,
}

/// Reads `FILE.5` … `FILE.1` and `FILE` (those that exist) and keeps what `filter` admits; an
/// error only if none exists or one cannot be read.
pub fn read(path: &Path, filter: &Filter) -> Result<Read, AuditError> {
    let files: Vec<PathBuf> = (1..=KEEP)
        .rev()
        .map(|n| AuditLog::rotated(path, n))
        .chain([path.to_owned()])
        .filter(|p| p.exists())
        .collect();
    if files.is_empty() {
        return Err(AuditError::Missing {
            path: path.to_owned(),
        });
    }
    let mut found = Read::default();
    for file in files {
        read_file(&file, filter, &mut found)?;
    }
    found.records.sort_by_key(|r| r.time);
    Ok(found)
}

fn read_file(path: &Path, filter: &Filter, found: &mut Read) -> Result<(), AuditError> {
    let read_error = |source| AuditError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut reader = BufReader::new(file);
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes).map_err(read_error)? == 0 {
            return Ok(());
        }
        number += 1;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) if filter.admits(&record) => found.records.push(record),
            Ok(_) => {}
            Err(err) => found.skipped.push(Skipped {
                path: path.to_owned(),
                line: number,
                reason: if err.is_eof() {
                    "the line is cut short".to_owned()
                } else {
                    "the line is not an audit record".to_owned()
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u32, instance: &str) -> Record {
        let mut record = super::super::log::tests::record(n);
        record.instance = Some(instance.to_owned());
        record
    }

    #[test]
    fn rotated_files_are_read_oldest_first_and_cut_lines_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line = |r: &Record| serde_json::to_string(r).unwrap() + "\n";
        std::fs::write(
            AuditLog::rotated(&path, 2),
            line(&record(1, "cn-hangzhou/a")),
        )
        .unwrap();
        std::fs::write(
            AuditLog::rotated(&path, 1),
            line(&record(2, "cn-hangzhou/b")),
        )
        .unwrap();
        let cut = line(&record(4, "cn-hangzhou/a"));
        std::fs::write(
            &path,
            line(&record(3, "cn-hangzhou/a")) + &cut[..cut.len() / 2],
        )
        .unwrap();
        let all = read(&path, &Filter::default()).unwrap();
        let ids: Vec<&str> = all.records.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["R-1", "R-2", "R-3"]);
        assert_eq!(
            all.skipped,
            [Skipped {
                path: path.clone(),
                line: 2,
                reason: "the line is cut short".into()
            }]
        );
        let filter = Filter {
            since: Some(record(2, "").time),
            instance: Some("a".into()),
        };
        let some = read(&path, &filter).unwrap();
        let ids: Vec<&str> = some.records.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["R-3"]);
    }

    #[test]
    fn no_log_at_all_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read(&dir.path().join("none"), &Filter::default()),
            Err(AuditError::Missing { .. })
        ));
    }
}

//! Appending records to the audit log and rotating it by size.
//!
//! Each record is one line written with one `write_all` to a file opened for appending, so
//! lines of concurrent writers (the tasks of a run, or another process on the same file) do not
//! interleave, and a process killed mid-write leaves at worst its last line cut. A file whose
//! last line was cut gets a newline before the next record, so only the cut record is lost.
//!
//! Rotation: when a record would take the file past the maximum size, `FILE.4` becomes
//! `FILE.5` (the oldest, `FILE.5`, is overwritten), …, `FILE` becomes `FILE.1`, and a new
//! `FILE` is started. Before each record the writer checks that `FILE` is still the file it has
//! open and reopens it otherwise, so a process that did not rotate follows the one that did.
//! Two processes rotating at the same moment may rotate twice; no record is lost by it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{AuditError, KEEP, Record};

/// An append-only audit log file with size rotation. Shared by every task of a run.
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    file: Mutex<Option<File>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (creating it and its directory if needed) the log at `path`, rotated once a record
    /// would take it past `max_bytes`. Opening early makes an unwritable log an error before
    /// the first call, not a warning after it.
    pub fn open(path: PathBuf, max_bytes: u64) -> Result<AuditLog, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Open {
                path: path.clone(),
                source,
            })?;
        }
        let file = open_append(&path)?;
        Ok(AuditLog {
            path,
            max_bytes,
            file: Mutex::new(Some(file)),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the `n`th rotated file (`FILE.n`).
    pub fn rotated(path: &Path, n: usize) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends `record` as one line and flushes it, rotating first if the line would take the
    /// file past the maximum size.
    pub fn append(&self, record: &Record) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(record).map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source: source.into(),
        })?;
        line.push(b'\n');
        let write_error = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        // A poisoned lock only means another task panicked while it held it; the file is fine.
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let file = match guard.take() {
            Some(file) if still_current(&file, &self.path) => file,
            _ => open_append(&self.path)?,
        };
        let size = file.metadata().map_err(write_error)?.len();
        let mut file = if size > 0 && size + line.len() as u64 > self.max_bytes {
            drop(file);
            rotate(&self.path)?;
            open_append(&self.path)?
        } else {
            file
        };
        file.write_all(&line).map_err(write_error)?;
        file.flush().map_err(write_error)?;
        *guard = Some(file);
        Ok(())
    }
}

/// Opens `path` for appending, creating it, and ends a last line a crash cut with a newline.
fn open_append(path: &Path) -> Result<File, AuditError> {
    let open_error = |source| AuditError::Open {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(open_error)?;
    let size = file.metadata().map_err(open_error)?.len();
    if size > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1)).map_err(open_error)?;
        file.read_exact(&mut last).map_err(open_error)?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(open_error)?;
        }
    }
    Ok(file)
}

/// Whether `path` is still the file `file` has open (not rotated away by another process).
fn still_current(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Shifts `FILE.4` → `FILE.5`, …, `FILE` → `FILE.1`.
fn rotate(path: &Path) -> Result<(), AuditError> {
    for n in (1..KEEP).rev() {
        let from = AuditLog::rotated(path, n);
        rename_if_present(&from, &AuditLog::rotated(path, n + 1))?;
    }
    rename_if_present(path, &AuditLog::rotated(path, 1))
}

fn rename_if_present(from: &Path, to: &Path) -> Result<(), AuditError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AuditError::Rotate {
            path: from.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(n: u32) -> Record {
        Record {
            format_version: super::super::FORMAT_VERSION,
            time: jiff::Timestamp::from_second(1_700_000_000 + i64::from(n)).unwrap(),
            who: "apply:h-1".into(),
            access_key_id: "AK".into(),
            stack: Some("shop".into()),
            region: "cn-hangzhou".into(),
            instance: Some("cn-hangzhou/orders".into()),
            action: "ModifyInstanceSpec".into(),
            params: [("InstanceId".to_owned(), "r-1".to_owned())].into(),
            request_id: format!("R-{n}"),
            outcome: "ok".into(),
            attempts: 1,
            duration_ms: 3,
        }
    }

    #[test]
    fn records_are_lines_and_a_full_file_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let one = serde_json::to_vec(&record(0)).unwrap().len() as u64 + 1;
        // Room for two records (later request IDs are a digit longer), not three.
        let log = AuditLog::open(path.clone(), one * 2 + 2).unwrap();
        for n in 0..15 {
            log.append(&record(n)).unwrap();
        }
        // Two records a file: 14 and 13 here … 5 and 4 in FILE.5; the oldest are gone.
        let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
        assert_eq!(lines(&path), 1);
        for n in 1..=KEEP {
            assert_eq!(lines(&AuditLog::rotated(&path, n)), 2);
        }
        assert!(!AuditLog::rotated(&path, KEEP + 1).exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.contains("\"R-14\""), "{newest}");
    }

    #[test]
    fn a_cut_last_line_is_ended_before_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"format_version\":1,\"ti").unwrap();
        let log = AuditLog::open(path.clone(), super::super::DEFAULT_MAX_BYTES).unwrap();
        log.append(&record(1)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(serde_json::from_str::<Record>(lines[1]).unwrap(), record(1));
    }
}

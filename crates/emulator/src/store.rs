//! Persistence of the emulated cloud's state: a snapshot and an append-only log of changes.
//!
//! * `FILE` is a snapshot: the whole state as JSON, replaced atomically (a temporary file
//!   beside it, synced, renamed over it, the directory synced).
//! * `FILE.log` holds one JSON line per request that changed something, made of the full new
//!   value (or the removal) of every entry the request touched, and the sequence counter.
//!   A line is written and `fdatasync`ed before the request is answered, so an acknowledged
//!   change survives SIGKILL; a request costs the entries it touched, not the whole state.
//! * Loading reads the snapshot and replays the log over it. A last line without its newline
//!   is a write that was cut short (never acknowledged) and is left out; any other line that
//!   does not parse is an error. Replaying is idempotent: every line carries full values, and
//!   the snapshot holds at least what the log before it did.
//! * When the log outgrows the snapshot (and 4 MiB), and when the server stops, the state is
//!   compacted: a new snapshot, then an empty log. A crash between the two replays the old
//!   log over the new snapshot, which changes nothing.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::issued::IssuedKey;
use super::state::{Backup, Instance, State, TokenRecord};
use super::tracked::{Changes, Tracked};

/// The log may grow to this many bytes before it is compacted, however small the snapshot.
const MIN_COMPACTION_BYTES: u64 = 4 << 20;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading failed.
    #[error("reading emulator state {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot is not a state document.
    #[error("parsing emulator state {path} (delete it to start afresh)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A complete line of the log is not a change record.
    #[error("parsing line {line} of emulator state log {path} (delete it to start afresh)")]
    ParseLog {
        /// The log.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing failed.
    #[error("writing emulator state {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// How one map changed in one request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MapChange<K: Ord, V> {
    /// These entries have these values now; `None` was removed.
    Upsert(BTreeMap<K, Option<V>>),
    /// The map is this now.
    Replace(BTreeMap<K, V>),
}

/// One line of the log, as written: borrowed values.
#[derive(Serialize)]
struct RecordOut<'a> {
    sequence: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    instances: Option<MapChange<String, &'a Instance>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<MapChange<String, &'a TokenRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_tokens: Option<MapChange<String, &'a TokenRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backups: Option<MapChange<u64, &'a Backup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sts_keys: Option<MapChange<String, &'a IssuedKey>>,
}

/// One line of the log, as read back.
#[derive(Deserialize)]
struct RecordIn {
    sequence: u64,
    #[serde(default)]
    instances: Option<MapChange<String, Instance>>,
    #[serde(default)]
    tokens: Option<MapChange<String, TokenRecord>>,
    #[serde(default)]
    client_tokens: Option<MapChange<String, TokenRecord>>,
    #[serde(default)]
    backups: Option<MapChange<u64, Backup>>,
    #[serde(default)]
    sts_keys: Option<MapChange<String, IssuedKey>>,
}

impl RecordIn {
    fn apply_to(self, state: &mut State) {
        state.sequence = self.sequence;
        apply(&mut state.instances, self.instances);
        apply(&mut state.tokens, self.tokens);
        apply(&mut state.client_tokens, self.client_tokens);
        apply(&mut state.backups, self.backups);
        apply(&mut state.sts_keys, self.sts_keys);
    }
}

fn apply<K: Ord + Clone, V>(map: &mut Tracked<K, V>, change: Option<MapChange<K, V>>) {
    match change {
        None => {}
        Some(MapChange::Upsert(entries)) => {
            for (key, value) in entries {
                match value {
                    Some(value) => {
                        map.insert(key, value);
                    }
                    None => {
                        map.remove(&key);
                    }
                }
            }
        }
        Some(MapChange::Replace(all)) => *map.whole_mut() = all,
    }
}

/// The change of `map` that `changes` describe, borrowing the new values; `None` when
/// nothing changed.
fn change_of<K: Ord + Clone, V>(
    map: &Tracked<K, V>,
    changes: Changes<K>,
) -> Option<MapChange<K, &V>> {
    match changes {
        Changes::Keys(keys) if keys.is_empty() => None,
        Changes::Keys(keys) => Some(MapChange::Upsert(
            keys.into_iter()
                .map(|key| {
                    let value = map.get(&key);
                    (key, value)
                })
                .collect(),
        )),
        Changes::Whole => Some(MapChange::Replace(
            map.iter()
                .map(|(key, value)| (key.clone(), value))
                .collect(),
        )),
    }
}

/// The state files of a running emulator.
#[derive(Debug)]
pub struct Store {
    snapshot: PathBuf,
    log_path: PathBuf,
    /// Opened and locked on the first write, so that a server that changes nothing writes
    /// nothing; held (with its exclusive lock) from then on.
    log: Option<File>,
    /// The files as they were loaded — the log's length, the snapshot's length and time —
    /// to tell, when the lock is taken, whether another emulator wrote them meanwhile.
    loaded: FilesSeen,
    /// Bytes of complete lines in the log.
    log_bytes: u64,
    /// Bytes of the snapshot when it was last written or read.
    snapshot_bytes: u64,
    /// The sequence counter as the files hold it.
    saved_sequence: u64,
    /// A write failed: the log may lack a change the memory has, so the next commit writes
    /// a whole snapshot instead of a line.
    needs_snapshot: bool,
}

/// What the state files looked like: the log's length and the snapshot's length and time.
#[derive(Debug, Clone, PartialEq)]
struct FilesSeen {
    log_len: u64,
    snapshot: Option<(u64, Option<std::time::SystemTime>)>,
}

impl FilesSeen {
    fn now(snapshot: &Path, log: &Path) -> Self {
        FilesSeen {
            log_len: std::fs::metadata(log).map_or(0, |m| m.len()),
            snapshot: std::fs::metadata(snapshot)
                .ok()
                .map(|m| (m.len(), m.modified().ok())),
        }
    }
}

/// The log beside a snapshot: `FILE.log`.
pub fn log_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

/// Loads the state (snapshot and log), or an empty cloud when neither file exists.
pub fn load(path: &Path) -> Result<State, StoreError> {
    open(path).map(|(state, _)| state)
}

/// Loads the state and returns the store that persists its changes from here on.
pub fn open(path: &Path) -> Result<(State, Store), StoreError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Read { path, source }
    };
    let (mut state, snapshot_bytes) = match read_regular(path) {
        Ok(bytes) => {
            let state = serde_json::from_slice(&bytes).map_err(|source| StoreError::Parse {
                path: path.to_owned(),
                source,
            })?;
            (state, bytes.len() as u64)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => (State::default(), 0),
        Err(source) => return Err(read_err(path)(source)),
    };
    let log_path = log_path(path);
    let log_bytes = match read_regular(&log_path) {
        Ok(bytes) => replay(&log_path, &bytes, &mut state)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => return Err(read_err(&log_path)(source)),
    };
    state.clear_unsaved();
    let loaded = FilesSeen::now(path, &log_path);
    let store = Store {
        snapshot: path.to_owned(),
        log_path,
        log: None,
        loaded,
        log_bytes,
        snapshot_bytes,
        saved_sequence: state.sequence,
        needs_snapshot: false,
    };
    Ok((state, store))
}

/// Reads a file that must be a regular one: a FIFO or a device named as the state would
/// otherwise block the emulator's start for ever, or feed it without end.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    std::fs::read(path)
}

/// Applies the complete lines of `log` to `state`; returns their length in bytes.
fn replay(path: &Path, log: &[u8], state: &mut State) -> Result<u64, StoreError> {
    let mut complete = 0;
    for (index, line) in log.split_inclusive(|byte| *byte == b'\n').enumerate() {
        let Some(record) = line.strip_suffix(b"\n") else {
            // Cut short by a crash before it was synced: never acknowledged.
            break;
        };
        let record: RecordIn =
            serde_json::from_slice(record).map_err(|source| StoreError::ParseLog {
                path: path.to_owned(),
                line: index + 1,
                source,
            })?;
        record.apply_to(state);
        complete += line.len() as u64;
    }
    Ok(complete)
}

impl Store {
    /// Makes what changed in `state` since the last commit durable: one synced log line, or a
    /// snapshot when the log is due for compaction. Nothing is written when nothing changed.
    pub fn commit(&mut self, state: &mut State) -> Result<(), StoreError> {
        let instances = state.instances.take_unsaved();
        let tokens = state.tokens.take_unsaved();
        let client_tokens = state.client_tokens.take_unsaved();
        let backups = state.backups.take_unsaved();
        let sts_keys = state.sts_keys.take_unsaved();
        let record = RecordOut {
            sequence: state.sequence,
            instances: change_of(&state.instances, instances),
            tokens: change_of(&state.tokens, tokens),
            client_tokens: change_of(&state.client_tokens, client_tokens),
            backups: change_of(&state.backups, backups),
            sts_keys: change_of(&state.sts_keys, sts_keys),
        };
        let unchanged = record.instances.is_none()
            && record.tokens.is_none()
            && record.client_tokens.is_none()
            && record.backups.is_none()
            && record.sts_keys.is_none()
            && record.sequence == self.saved_sequence;
        if unchanged {
            // A failed write is retried, as a snapshot, with the next change.
            return Ok(());
        }
        if self.needs_snapshot || self.log_bytes >= MIN_COMPACTION_BYTES.max(self.snapshot_bytes) {
            drop(record);
            return self.compact(state);
        }
        let mut line = serde_json::to_vec(&record).map_err(|err| self.write_err(err.into()))?;
        line.push(b'\n');
        // Written or not, this change is accounted for: on failure the next change writes a
        // snapshot that holds it.
        self.saved_sequence = state.sequence;
        if let Err(err) = self.append(&line) {
            self.needs_snapshot = true;
            return Err(err);
        }
        self.log_bytes += line.len() as u64;
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let log = self.locked_log()?;
        let written = log.write_all(line).and_then(|()| log.sync_data());
        written.map_err(|err| self.log_err(err))
    }

    /// The log, opened and locked on first use.
    fn locked_log(&mut self) -> Result<&mut File, StoreError> {
        match self.log {
            Some(ref mut log) => Ok(log),
            None => {
                let log = self.open_log().map_err(|err| self.log_err(err))?;
                Ok(self.log.insert(log))
            }
        }
    }

    /// Opens the log for writing after its complete lines (a torn tail is cut off), holding
    /// an exclusive lock: one emulator writes a state at a time. Refused when another one
    /// holds it, or wrote the files since this one loaded them (its memory would be stale).
    fn open_log(&self) -> std::io::Result<File> {
        if let Some(dir) = self.log_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.log_path)?;
        match log.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ResourceBusy,
                    "another emulator is using this state (one emulator per state file)",
                ));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
        if FilesSeen::now(&self.snapshot, &self.log_path) != self.loaded {
            return Err(std::io::Error::other(
                "another emulator changed this state since it was loaded; restart to load it",
            ));
        }
        log.set_len(self.log_bytes)?;
        std::io::Seek::seek(&mut log, std::io::SeekFrom::End(0))?;
        Ok(log)
    }

    /// At a clean stop: compacts if this emulator wrote anything or failed to (one that only
    /// read leaves the files alone: they may be another emulator's by now), then closes the
    /// log, which releases the lock for the next emulator, even in the same process.
    pub fn close(&mut self, state: &mut State) -> Result<(), StoreError> {
        if self.log.is_none() && !self.needs_snapshot {
            return Ok(());
        }
        let compacted = self.compact(state);
        self.log = None;
        self.loaded = FilesSeen::now(&self.snapshot, &self.log_path);
        compacted
    }

    /// Writes the whole state as the snapshot, then empties the log.
    pub fn compact(&mut self, state: &mut State) -> Result<(), StoreError> {
        state.clear_unsaved();
        self.needs_snapshot = true;
        self.saved_sequence = state.sequence;
        // The lock first: only the emulator that holds it writes the snapshot.
        self.locked_log()?;
        self.snapshot_bytes = save(&self.snapshot, state)?;
        let log_path = self.log_path.clone();
        let log_err = |source| StoreError::Write {
            path: log_path.clone(),
            source,
        };
        let log = self.locked_log()?;
        log.set_len(0)
            .and_then(|()| log.sync_all())
            .map_err(log_err)?;
        // Writes continue at the start: the file was opened for writing, not appending.
        std::io::Seek::seek(log, std::io::SeekFrom::Start(0)).map_err(log_err)?;
        self.log_bytes = 0;
        self.needs_snapshot = false;
        Ok(())
    }

    fn write_err(&self, source: std::io::Error) -> StoreError {
        StoreError::Write {
            path: self.snapshot.clone(),
            source,
        }
    }

    fn log_err(&self, source: std::io::Error) -> StoreError {
        StoreError::Write {
            path: self.log_path.clone(),
            source,
        }
    }
}

/// Writes the whole state as a snapshot, atomically, and returns its size in bytes. The log
/// beside it is not touched: [`Store::compact`] empties it, and a caller writing a state from
/// scratch removes it.
pub fn save(path: &Path, state: &State) -> Result<u64, StoreError> {
    let write_err = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let json =
        serde_json::to_vec_pretty(state).map_err(|err| write_err(std::io::Error::other(err)))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let mut file = File::create(&tmp).map_err(write_err)?;
    file.write_all(&json).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)?;
    // The rename itself is durable once the directory is.
    File::open(dir.unwrap_or(Path::new(".")))
        .and_then(|dir| dir.sync_all())
        .map_err(write_err)?;
    Ok(json.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Context, Durations};
    use jiff::Timestamp;

    fn create(state: &mut State, name: &str) -> String {
        let wire: BTreeMap<String, String> = [
            ("RegionId", "cn-hangzhou"),
            ("InstanceName", name),
            ("InstanceClass", "redis.master.small.default"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let ctx = Context {
            now: Timestamp::UNIX_EPOCH,
            durations: Durations::default(),
            fail_backup: false,
        };
        let handled = state.handle("CreateInstance", &wire, &ctx).unwrap();
        handled.body["InstanceId"].as_str().unwrap().to_owned()
    }

    #[test]
    fn missing_files_are_an_empty_cloud_and_changes_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let (mut state, mut store) = open(&path).unwrap();
        assert_eq!(state, State::default());
        store.commit(&mut state).unwrap();
        assert!(
            !path.exists() && !log_path(&path).exists(),
            "nothing changed, nothing written"
        );

        let first = create(&mut state, "one");
        store.commit(&mut state).unwrap();
        let second = create(&mut state, "two");
        store.commit(&mut state).unwrap();
        let log = std::fs::read_to_string(log_path(&path)).unwrap();
        assert_eq!(log.lines().count(), 2, "a line per change: {log}");
        assert!(!path.exists(), "no snapshot until compaction");

        let reloaded = load(&path).unwrap();
        assert_eq!(reloaded, state);
        assert!(
            reloaded.instances.contains_key(&first) && reloaded.instances.contains_key(&second)
        );

        // Removal is a change too.
        state.instances.remove(&first);
        store.commit(&mut state).unwrap();
        assert!(!load(&path).unwrap().instances.contains_key(&first));
    }

    #[test]
    fn a_line_costs_what_the_request_touched_not_the_whole_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (mut state, mut store) = open(&path).unwrap();
        for n in 0..50 {
            create(&mut state, &format!("i-{n}"));
            store.commit(&mut state).unwrap();
        }
        let log = std::fs::read_to_string(log_path(&path)).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        let first = lines[0].len();
        let last = lines[49].len();
        // The fiftieth create writes about as much as the first, not fifty instances.
        assert!(last < first * 2, "first {first} bytes, last {last} bytes");
        assert_eq!(lines[49].matches("\"id\":").count(), 1, "{}", lines[49]);
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_cut_off_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (mut state, mut store) = open(&path).unwrap();
        let kept = create(&mut state, "kept");
        store.commit(&mut state).unwrap();
        let mut log = OpenOptions::new()
            .append(true)
            .open(log_path(&path))
            .unwrap();
        log.write_all(br#"{"sequence":99,"instances":{"upsert":{"r-x"#)
            .unwrap();
        drop(log);
        drop(store);

        let (mut reloaded, mut store) = open(&path).unwrap();
        assert_eq!(reloaded.instances.keys().collect::<Vec<_>>(), vec![&kept]);
        let later = create(&mut reloaded, "later");
        store.commit(&mut reloaded).unwrap();
        let again = load(&path).unwrap();
        assert_eq!(again.instances.len(), 2);
        assert!(again.instances.contains_key(&later));
    }

    #[test]
    fn a_corrupt_complete_line_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(log_path(&path), "{\"sequence\":1}\n{not json\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.to_string().contains("delete it to start afresh"));
        std::fs::write(&path, "{not json").unwrap();
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("delete it to start afresh")
        );
    }

    #[test]
    fn a_state_path_that_is_not_a_regular_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("state.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = load(&fifo).unwrap_err();
        assert!(err.to_string().contains("reading emulator state"), "{err}");
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Read { .. }), "{err}");
    }

    #[test]
    fn one_emulator_writes_a_state_at_a_time_and_a_stale_one_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (mut first, mut first_store) = open(&path).unwrap();
        let (mut second, mut second_store) = open(&path).unwrap();
        let kept = create(&mut first, "first");
        first_store.commit(&mut first).unwrap();

        create(&mut second, "second");
        let busy = second_store.commit(&mut second).unwrap_err();
        assert!(
            format!("{:?}", busy).contains("another emulator is using"),
            "{busy:?}"
        );
        // Stopping the one that could not write says so, and leaves the files alone.
        assert!(second_store.close(&mut second).is_err());
        assert_eq!(load(&path).unwrap(), first);

        // Once the first has gone, the second's memory is stale: it still must not write.
        first_store.compact(&mut first).unwrap();
        drop(first_store);
        create(&mut second, "third");
        let stale = second_store.commit(&mut second).unwrap_err();
        assert!(
            format!("{:?}", stale).contains("changed this state"),
            "{stale:?}"
        );
        let reloaded = load(&path).unwrap();
        assert_eq!(reloaded, first);
        assert!(reloaded.instances.contains_key(&kept));
    }

    #[test]
    fn compaction_writes_a_snapshot_and_empties_the_log_and_replay_over_it_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (mut state, mut store) = open(&path).unwrap();
        for n in 0..5 {
            create(&mut state, &format!("i-{n}"));
            store.commit(&mut state).unwrap();
        }
        let old_log = std::fs::read(log_path(&path)).unwrap();
        store.compact(&mut state).unwrap();
        assert_eq!(std::fs::read(log_path(&path)).unwrap().len(), 0);
        assert_eq!(load(&path).unwrap(), state);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "snapshot and log, no temporary file");

        // A crash between the snapshot and the truncation leaves the old log: replaying it
        // over the newer snapshot changes nothing.
        std::fs::write(log_path(&path), &old_log).unwrap();
        assert_eq!(load(&path).unwrap(), state);

        // Appends after a compaction land at the start of the emptied log.
        drop(store);
        let (mut state, mut store) = open(&path).unwrap();
        store.compact(&mut state).unwrap();
        create(&mut state, "after");
        store.commit(&mut state).unwrap();
        assert_eq!(load(&path).unwrap(), state);
        let log = std::fs::read_to_string(log_path(&path)).unwrap();
        assert!(log.starts_with('{'), "{log}");
    }
}

//! Reading files safely: only regular files, never blocking on a FIFO or a device, never more
//! than a limit.
//!
//! [`read_regular`] opens a path without blocking (`O_NONBLOCK`), checks that the opened
//! handle is a regular file (no check-then-open race), and reads at most the limit and one byte
//! more. Manifests and secret files are both read through it. Depends on nothing else in kvsync.

use std::io::Read as _;
use std::path::Path;

/// The most bytes of one manifest file kvsync reads.
pub const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;
/// The most bytes of one secret file kvsync reads.
pub const SECRET_LIMIT: u64 = 16 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("the file cannot be read")]
    Io(#[source] std::io::Error),
    /// The path names something other than a regular file.
    #[error("the path is {0}, not a regular file; only regular files are read")]
    NotRegular(&'static str),
    /// The file is larger than the limit.
    #[error("the file is larger than {}, the most kvsync reads from such a file", size(*.0))]
    TooLarge(u64),
}

/// `4 MiB`, `16 KiB`.
fn size(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file type is, for messages.
fn kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Reads the regular file at `path`, at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Opening a FIFO for reading blocks until a writer comes; with O_NONBLOCK it returns
        // at once, and the handle's type is checked below.
        // The flag's bits fit an `i32`, as `open(2)` takes them.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(meta.file_type())));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(size(MANIFEST_LIMIT), "4 MiB");
        assert_eq!(size(SECRET_LIMIT), "16 KiB");
        assert_eq!(size(10), "10 bytes");
    }

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_regular(&path, 4),
            Err(ReadError::TooLarge(4))
        ));
        assert!(matches!(
            read_regular(dir.path(), 4),
            Err(ReadError::NotRegular("a directory") | ReadError::Io(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_reading() {
        let zero = read_regular(Path::new("/dev/zero"), 16).unwrap_err();
        assert_eq!(
            zero.to_string(),
            "the path is a character device, not a regular file; only regular files are read"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        assert!(matches!(
            read_regular(&fifo, 16),
            Err(ReadError::NotRegular("a FIFO"))
        ));
    }
}

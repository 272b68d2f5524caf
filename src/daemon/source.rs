//! Where the daemon's manifests come from, and their revision.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::status::Revision;
use crate::manifest::{self, LoadError};

/// A local directory (or files) of manifests.
#[derive(Debug, Clone)]
pub struct LocalSource {
    /// `-f` paths.
    pub paths: Vec<PathBuf>,
}

impl LocalSource {
    /// The manifests' revision: a digest of the file names and contents (12 hex characters),
    /// so the status shows when what is in force changed.
    pub fn revision(&self) -> Result<Revision, LoadError> {
        let mut hasher = Sha256::new();
        for path in manifest::find_files(&self.paths)? {
            let text = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(&text);
            hasher.update([0]);
        }
        let id: String = hasher
            .finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Revision {
            source: "dir".into(),
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_follows_the_contents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        let source = LocalSource {
            paths: vec![dir.path().to_path_buf()],
        };
        let first = source.revision().unwrap();
        assert_eq!(first, source.revision().unwrap());
        std::fs::write(dir.path().join("a.yaml"), "a: 2\n").unwrap();
        assert_ne!(first, source.revision().unwrap());
        assert_eq!(first.id.len(), 12);
    }
}

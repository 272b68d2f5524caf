//! Where the daemon's manifests come from, their revision, and how many documents each file
//! holds (so that a file that was emptied can be told from one that was deleted).

use std::collections::BTreeMap;
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

/// What the manifest files hold, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// A digest of the file names and contents (12 hex characters).
    pub digest: String,
    /// Per file, the YAML documents it holds (documents of only comments do not count).
    pub documents: BTreeMap<PathBuf, usize>,
}

/// Reads every manifest file under `paths` once: their digest and their documents. Files that
/// are not regular files (a FIFO, a device) are left out rather than opened: opening them can
/// block, and the loader reports them.
pub fn survey(paths: &[PathBuf]) -> Result<Survey, LoadError> {
    let mut hasher = Sha256::new();
    let mut documents = BTreeMap::new();
    for path in manifest::find_files(paths)? {
        let io = |source| LoadError::Io {
            path: path.clone(),
            source,
        };
        if !std::fs::metadata(&path).map_err(io)?.is_file() {
            continue;
        }
        let text = std::fs::read(&path).map_err(io)?;
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(&text);
        hasher.update([0]);
        let count = manifest::split_documents(&String::from_utf8_lossy(&text)).len();
        documents.insert(path, count);
    }
    let digest = hex::encode(&hasher.finalize()[..6]);
    Ok(Survey { digest, documents })
}

impl LocalSource {
    /// The manifests' revision: a digest of the file names and contents (12 hex characters),
    /// so the status shows when what is in force changed.
    pub fn revision(&self) -> Result<Revision, LoadError> {
        Ok(Revision {
            author: None,
            subject: None,
            source: "dir".into(),
            id: survey(&self.paths)?.digest,
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

    #[test]
    fn the_survey_counts_documents_per_file() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("a.yaml", "a: 1\n---\nb: 2\n"),
            ("empty.yaml", ""),
            ("comments.yaml", "# one\n# two\n"),
            ("markers.yaml", "---\n---\n"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let found = survey(&[dir.path().to_path_buf()]).unwrap();
        let count = |name: &str| found.documents[&dir.path().join(name)];
        assert_eq!(count("a.yaml"), 2);
        assert_eq!(count("empty.yaml"), 0);
        assert_eq!(count("comments.yaml"), 0);
        assert_eq!(count("markers.yaml"), 0);
    }
}

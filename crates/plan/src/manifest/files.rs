//! Finding manifest files.
//!
//! [`find`] walks the `-f` paths with `walkdir` (following symlinks, refusing loops), skips
//! hidden entries, and keeps each real file once, in sorted order. Files are read with
//! [`read_regular`] (`kvsync_secrets::bounded_read`): only regular files, never blocking, never more
//! than a limit.

use std::path::{Path, PathBuf};

pub use kvsync_secrets::bounded_read::{MANIFEST_LIMIT, ReadError, SECRET_LIMIT, read_regular};

/// Why the manifest files could not be found.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// A path could not be read.
    #[error("reading manifests at {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Following symlinks leads back to a directory being searched.
    #[error(
        "the manifest directory {path} is a symlink loop: it leads back to {ancestor}; remove the link or point it elsewhere"
    )]
    Loop {
        /// The link.
        path: PathBuf,
        /// The directory it leads back to.
        ancestor: PathBuf,
    },
}

/// One manifest file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The path as found (as given, or the given directory joined with the names below it):
    /// what messages show.
    pub path: PathBuf,
    /// The real file, symlinks resolved: each is read once.
    pub real: PathBuf,
    /// The `-f` directory it was found in, or the directory of the `-f` file: the root its
    /// `{file:}` secrets are confined to.
    pub root: PathBuf,
}

fn hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.')
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "yaml" || ext == "yml")
}

/// The files `paths` name: files as given, directories searched recursively (following
/// symlinks) for `*.yaml` and `*.yml`, each directory's entries in sorted order, hidden entries
/// skipped. A file reached twice (named twice, or through a symlink) is listed once, where it
/// is first reached.
pub fn find(paths: &[PathBuf]) -> Result<Vec<Found>, FindError> {
    let mut found: Vec<Found> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut push = |path: PathBuf, root: &Path| -> Result<(), FindError> {
        let real = std::fs::canonicalize(&path).map_err(|source| FindError::Io {
            path: path.clone(),
            source,
        })?;
        if seen.insert(real.clone()) {
            found.push(Found {
                path,
                real,
                root: root.to_owned(),
            });
        }
        Ok(())
    };
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| FindError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.is_dir() {
            let root = path.parent().map(Path::to_owned).unwrap_or_default();
            push(path.clone(), &root)?;
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| !hidden(entry));
        for entry in walk {
            let entry = entry.map_err(|err| {
                let at = err.path().map_or_else(|| path.clone(), Path::to_owned);
                match err.loop_ancestor() {
                    Some(ancestor) => FindError::Loop {
                        path: at,
                        ancestor: ancestor.to_owned(),
                    },
                    None => FindError::Io {
                        path: at,
                        source: err
                            .into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("walking the directory")),
                    },
                }
            })?;
            if entry.file_type().is_dir() || !is_manifest(entry.path()) {
                continue;
            }
            push(entry.into_path(), path)?;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn issue_each_real_file_is_found_once_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("m");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        for file in [
            "b.yaml",
            "a.yml",
            "sub/c.yaml",
            ".hidden/d.yaml",
            "notes.txt",
        ] {
            std::fs::write(root.join(file), "x").unwrap();
        }
        let a = root.join("a.yml");
        let found = find(&[root.clone(), a.clone(), root.join("sub/c.yaml"), a.clone()]).unwrap();
        let shown = names(&found);
        let prefix = format!("{}/", root.display());
        let relative: Vec<&str> = shown
            .iter()
            .map(|s| s.strip_prefix(&prefix).unwrap())
            .collect();
        assert_eq!(relative, ["a.yml", "b.yaml", "sub/c.yaml"]);
        assert!(found.iter().all(|f| f.root == root));
        // A file given alone has its directory as its root.
        let alone = find(std::slice::from_ref(&a)).unwrap();
        assert_eq!(alone[0].root, root);
    }

    #[cfg(unix)]
    #[test]
    fn issue_symlinks_are_followed_once_and_loops_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("m");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.yaml"), root.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("again")).unwrap();
        let found = find(std::slice::from_ref(&root)).unwrap();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].path.ends_with("again/a.yaml"), "{found:#?}");
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        match find(std::slice::from_ref(&root)) {
            Err(err @ FindError::Loop { .. }) => {
                assert!(err.to_string().contains("is a symlink loop"), "{err}");
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Reading a secret's value at the edge: an environment variable, or a `{file:}` secret confined
//! to the [`SecretRoots`], symlinks resolved, read as a bounded regular file. The value is a
//! [`Secret`] that cannot print; no error states a file's length or content.

use std::path::PathBuf;

use super::reference::{SecretRef, SecretRoots, within};
use super::value::Secret;
use crate::bounded_read::{ReadError, SECRET_LIMIT, read_regular};

/// Why a secret could not be read. No message states a file's length or content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is unset or empty.
    #[error("environment variable {0} is not set (it holds a secret the manifests refer to)")]
    EnvMissing(String),
    /// The file could not be found or opened.
    #[error("reading secret file {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a regular file, too large, or unreadable.
    #[error("reading secret file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// The file, symlinks resolved, is outside every directory secrets may be read from.
    #[error(
        "secret file {0} is outside the manifest root and every --secrets-dir; secrets are read only from there"
    )]
    Outside(PathBuf),
    /// The file is not UTF-8 text.
    #[error("secret file {0} is not UTF-8 text")]
    NotText(PathBuf),
    /// The file holds nothing but line breaks.
    #[error("secret file {0} is empty")]
    FileEmpty(PathBuf),
}

impl SecretRef {
    /// Reads the secret. `env` looks up environment variables (injected for tests); a file is
    /// read only if, symlinks resolved, it is a regular file within `roots`, at most 16 KiB, of
    /// UTF-8 text (trailing line breaks trimmed).
    pub fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        roots: &SecretRoots,
    ) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => env(name)
                .filter(|value| !value.is_empty())
                .map(Secret::new)
                .ok_or_else(|| SecretError::EnvMissing(name.clone())),
            SecretRef::File(path) => {
                let real = std::fs::canonicalize(path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                if !roots.canonical.iter().any(|root| within(&real, root)) {
                    return Err(SecretError::Outside(path.clone()));
                }
                let bytes =
                    read_regular(&real, SECRET_LIMIT).map_err(|source| SecretError::Read {
                        path: path.clone(),
                        source,
                    })?;
                let text =
                    String::from_utf8(bytes).map_err(|_| SecretError::NotText(path.clone()))?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(SecretError::FileEmpty(path.clone()));
                }
                Ok(Secret::new(value))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Roots with `dir` as the only one.
    fn roots_in(dir: &Path) -> SecretRoots {
        let real = std::fs::canonicalize(dir).unwrap();
        SecretRoots {
            lexical: vec![real.clone()],
            canonical: vec![real],
        }
    }

    #[test]
    fn resolve_reads_env_and_files() {
        let env = |name: &str| (name == "PW").then(|| "s3cret".to_string());
        let nowhere = SecretRoots::default();
        assert_eq!(
            SecretRef::Env("PW".into())
                .resolve(&env, &nowhere)
                .unwrap()
                .expose(),
            "s3cret"
        );
        assert!(matches!(
            SecretRef::Env("NOPE".into()).resolve(&env, &nowhere),
            Err(SecretError::EnvMissing(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "from-file\n").unwrap();
        let reference = SecretRef::File("pw".into()).anchored_at(dir.path());
        let roots = roots_in(dir.path());
        assert_eq!(
            reference.resolve(&env, &roots).unwrap().expose(),
            "from-file"
        );
        // Without a root, no file is read.
        assert!(matches!(
            reference.resolve(&env, &nowhere),
            Err(SecretError::Outside(_))
        ));
    }

    #[test]
    fn file_errors_never_state_a_length_or_content() {
        let env = |_: &str| None;
        let dir = tempfile::tempdir().unwrap();
        let roots = roots_in(dir.path());
        let big = "Secret-Passw0rd-".repeat(2000);
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("latin1"), b"Caf\xe9-Passw0rd").unwrap();
        for (name, expected) in [
            ("big", "larger than 16 KiB"),
            ("latin1", "is not UTF-8 text"),
        ] {
            let reference = SecretRef::File(dir.path().join(name));
            let err = reference.resolve(&env, &roots).unwrap_err();
            let cause = std::error::Error::source(&err).map(ToString::to_string);
            let shown = format!("{err}: {}", cause.unwrap_or_default());
            assert!(shown.contains(expected), "{shown}");
            assert!(!shown.contains("Passw0rd"), "{shown}");
            assert!(!shown.contains(&big.len().to_string()), "{shown}");
        }
    }
}

//! Secret references: where a password comes from, never the password itself.
//!
//! Manifests say `{env: NAME}` or `{file: PATH}`; a literal value is refused at parse time.
//! [`SecretRef::resolve`] reads the value at apply time, into a [`Secret`] that cannot print.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (trailing newlines are trimmed); relative paths are relative to the manifest.
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "{{env: {name}}}"),
            SecretRef::File(path) => write!(f, "{{file: {}}}", path.display()),
        }
    }
}

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is unset or empty.
    #[error("environment variable {0} is not set (it holds a secret the manifests refer to)")]
    EnvMissing(String),
    /// The file could not be read.
    #[error("reading secret file {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("secret file {0} is empty")]
    FileEmpty(PathBuf),
}

impl SecretRef {
    /// Reads the secret. `env` looks up environment variables (injected for tests).
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => env(name)
                .filter(|value| !value.is_empty())
                .map(Secret::new)
                .ok_or_else(|| SecretError::EnvMissing(name.clone())),
            SecretRef::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(SecretError::FileEmpty(path.clone()));
                }
                Ok(Secret::new(value))
            }
        }
    }

    /// Makes a relative file path relative to `base` (the manifest's directory).
    pub fn anchored_at(self, base: &Path) -> Self {
        match self {
            SecretRef::File(path) if path.is_relative() => SecretRef::File(base.join(path)),
            other => other,
        }
    }
}

/// A secret reference as written in a manifest: `{env: NAME}` or `{file: PATH}`.
/// A plain string is refused, so that no password is ever committed to git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSecretRef(pub SecretRef);

impl<'de> Deserialize<'de> for RawSecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawSecretRefVisitor)
    }
}

struct RawSecretRefVisitor;

const LITERAL_REFUSED: &str =
    "a literal secret is not allowed in a manifest; write {env: NAME} or {file: PATH}";

impl<'de> Visitor<'de> for RawSecretRefVisitor {
    type Value = RawSecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{env: NAME} or {file: PATH}")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(LITERAL_REFUSED))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(E::custom(LITERAL_REFUSED))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(E::custom(LITERAL_REFUSED))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(LITERAL_REFUSED))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(E::custom(LITERAL_REFUSED))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<SecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            let reference = match key.as_str() {
                "env" => SecretRef::Env(value),
                "file" => SecretRef::File(PathBuf::from(value)),
                other => {
                    return Err(de::Error::unknown_field(other, &["env", "file"]));
                }
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret reference has exactly one of env or file",
                ));
            }
            found = Some(reference);
        }
        match found {
            Some(SecretRef::Env(name)) if !valid_env_name(&name) => {
                Err(de::Error::custom(format!(
                    "{name:?} is not an environment variable name (letters, digits and _, not starting with a digit)"
                )))
            }
            Some(SecretRef::File(path)) if path.as_os_str().is_empty() => {
                Err(de::Error::custom("the secret file path is empty"))
            }
            Some(reference) => Ok(RawSecretRef(reference)),
            None => Err(de::Error::custom(
                "a secret reference needs env or file: {env: NAME} or {file: PATH}",
            )),
        }
    }
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RawSecretRef, String> {
        serde_saphyr::from_str::<RawSecretRef>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn env_and_file_references_parse() {
        assert_eq!(parse("{env: PW}").unwrap().0, SecretRef::Env("PW".into()));
        assert_eq!(
            parse("{file: secrets/pw}").unwrap().0,
            SecretRef::File("secrets/pw".into())
        );
    }

    #[test]
    fn literals_are_refused() {
        for literal in ["hunter2", "12345678", "true"] {
            let err = parse(literal).unwrap_err();
            assert!(
                err.contains("literal secret is not allowed"),
                "{literal}: {err}"
            );
        }
    }

    #[test]
    fn malformed_references_are_refused() {
        assert!(
            parse("{env: PW, file: x}")
                .unwrap_err()
                .contains("exactly one")
        );
        assert!(parse("{vault: x}").unwrap_err().contains("unknown field"));
        assert!(
            parse("{env: 1BAD}")
                .unwrap_err()
                .contains("not an environment variable name")
        );
        assert!(parse("{}").unwrap_err().contains("needs env or file"));
    }

    #[test]
    fn resolve_reads_env_and_files() {
        let env = |name: &str| (name == "PW").then(|| "s3cret".to_string());
        assert_eq!(
            SecretRef::Env("PW".into()).resolve(&env).unwrap().expose(),
            "s3cret"
        );
        assert!(matches!(
            SecretRef::Env("NOPE".into()).resolve(&env),
            Err(SecretError::EnvMissing(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "from-file\n").unwrap();
        let reference = SecretRef::File("pw".into()).anchored_at(dir.path());
        assert_eq!(reference.resolve(&env).unwrap().expose(), "from-file");
    }

    #[test]
    fn display_shows_the_reference_not_a_value() {
        assert_eq!(SecretRef::Env("PW".into()).to_string(), "{env: PW}");
    }
}

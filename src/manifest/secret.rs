//! Secret references: where a password comes from, never the password itself.
//!
//! Manifests say `{env: NAME}` or `{file: PATH}`; a literal value is refused at parse time.
//! [`SecretRef::resolve`] reads the value at apply time, into a [`Secret`] that cannot print.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;

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

/// A secret reference as written in a manifest: `{env: NAME}` or `{file: PATH}`, with the
/// location of `NAME` or `PATH`. A plain string is refused, so that no password is ever
/// committed to git; the name and path themselves are checked by [`reference_problem`] when the
/// manifest is validated, so that the error points at them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSecretRef {
    /// The reference.
    pub reference: SecretRef,
    /// Where the variable name or path is written.
    pub value_at: serde_saphyr::Location,
}

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

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "a secret reference is a mapping: {env: NAME} or {file: PATH}, not a list",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<RawSecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: Spanned<String> = map.next_value()?;
            let reference = match key.as_str() {
                "env" => SecretRef::Env(value.value),
                "file" => SecretRef::File(PathBuf::from(value.value)),
                other => {
                    return Err(de::Error::unknown_field(other, &["env", "file"]));
                }
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret reference has exactly one of env or file",
                ));
            }
            found = Some(RawSecretRef {
                reference,
                value_at: value.referenced,
            });
        }
        found.ok_or_else(|| {
            de::Error::custom("a secret reference needs env or file: {env: NAME} or {file: PATH}")
        })
    }
}

/// What is wrong with a reference's variable name or path, if anything: environment variable
/// names are letters, digits and `_`, not starting with a digit; a path is not empty.
pub fn reference_problem(reference: &SecretRef) -> Option<String> {
    match reference {
        SecretRef::Env(name) if !valid_env_name(name) => Some(format!(
            "{} is not an environment variable name; allowed: letters, digits and _, not starting with a digit",
            super::rules::shown(name)
        )),
        SecretRef::File(path) if path.as_os_str().is_empty() => Some(
            "the secret file path is empty; write {file: PATH} with a path relative to the manifest"
                .to_owned(),
        ),
        _ => None,
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
        assert_eq!(
            parse("{env: PW}").unwrap().reference,
            SecretRef::Env("PW".into())
        );
        assert_eq!(
            parse("{file: secrets/pw}").unwrap().reference,
            SecretRef::File("secrets/pw".into())
        );
    }

    #[test]
    fn the_value_location_is_kept() {
        let parsed = parse("{env: PW}").unwrap();
        assert_eq!((parsed.value_at.line(), parsed.value_at.column()), (1, 7));
        let parsed = parse("file: \"\"").unwrap();
        assert_eq!((parsed.value_at.line(), parsed.value_at.column()), (1, 7));
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
        assert!(parse("{}").unwrap_err().contains("needs env or file"));
        assert!(parse("[PW]").unwrap_err().contains("not a list"));
    }

    #[test]
    fn names_and_paths_are_checked() {
        assert_eq!(reference_problem(&SecretRef::Env("PW_1".into())), None);
        assert_eq!(reference_problem(&SecretRef::Env("_PW".into())), None);
        assert_eq!(reference_problem(&SecretRef::File("pw".into())), None);
        for bad in ["1BAD", "orders-redis-password", "", "PW X"] {
            let problem =
                reference_problem(&SecretRef::Env(bad.into())).unwrap_or_else(|| panic!("{bad}"));
            assert!(
                problem.contains("is not an environment variable name"),
                "{problem}"
            );
        }
        assert!(
            reference_problem(&SecretRef::File(PathBuf::new()))
                .unwrap()
                .starts_with("the secret file path is empty")
        );
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

//! Secret references: where a password comes from, never the password itself.
//!
//! Manifests say `{env: NAME}` or `{file: PATH}`; a literal value is refused at parse time, and
//! so is a reference to kvsync's own credential variables. A `{file:}` secret is confined to
//! the manifest root and the `--secrets-dir` directories ([`SecretRoots`]), checked when the
//! manifests are validated and again, symlinks resolved, when it is read.
//! [`SecretRef::resolve`] reads the value at apply time, into a [`Secret`] that cannot print.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;

use super::desired::Source;
use super::files::{ReadError, SECRET_LIMIT, read_regular};
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

/// The directories `{file:}` secrets may be read from: the manifest root (the `-f` directory,
/// or the directory of a `-f` file) and every `--secrets-dir`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRoots {
    /// As given, absolute and lexically normalised: what a path that does not exist must be
    /// within.
    pub lexical: Vec<PathBuf>,
    /// With symlinks resolved: what a file that exists must be within.
    pub canonical: Vec<PathBuf>,
}

/// Where a secret reference is written and which directories its file may be read from:
/// context for reading it and for messages, not part of what the manifests ask for, so any two
/// compare equal (moving a reference within a file changes nothing).
#[derive(Debug, Clone, Default)]
pub struct SecretSite {
    /// Where the variable name or path is written (`None`: not known, e.g. in tests).
    pub at: Option<Source>,
    /// Where a `{file:}` secret may be read from; empty: nowhere.
    pub roots: Arc<SecretRoots>,
}

impl PartialEq for SecretSite {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SecretSite {}

/// `path` with `.` and `..` resolved lexically (a `..` at the root stays at the root; leading
/// `..` of a relative path stay).
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

/// Whether the normalised `path` is `root` or below it.
fn within(path: &Path, root: &Path) -> bool {
    path.is_absolute() == root.is_absolute()
        && path
            .strip_prefix(root)
            .is_ok_and(|rest| !rest.components().any(|c| c == Component::ParentDir))
}

/// How paths are made absolute and resolved: by the file system when loading, lexically (no
/// IO) when parsing texts.
#[derive(Clone, Copy)]
pub struct PathResolver {
    /// Makes a path absolute (without resolving symlinks).
    pub absolute: fn(&Path) -> PathBuf,
    /// Resolves every symlink of a path that exists.
    pub canonical: fn(&Path) -> Option<PathBuf>,
}

impl fmt::Debug for PathResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PathResolver")
    }
}

impl PathResolver {
    /// The file system's answers.
    pub const REAL: PathResolver = PathResolver {
        absolute: |path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
        canonical: |path| std::fs::canonicalize(path).ok(),
    };
    /// No IO: paths stay as given, none is known to exist.
    pub const LEXICAL: PathResolver = PathResolver {
        absolute: Path::to_owned,
        canonical: |_| None,
    };
}

/// What is wrong with where a `{file:}` secret (`path`, anchored at the manifest's directory)
/// is, if anything: a file that exists must be, symlinks resolved, within a canonical root; a
/// path that does not exist must be, lexically, within a root.
pub fn confinement_problem(
    path: &Path,
    roots: &SecretRoots,
    resolver: PathResolver,
) -> Option<String> {
    let lexical = normalize(&(resolver.absolute)(path));
    let inside_lexically = roots.lexical.iter().any(|root| within(&lexical, root));
    let allowed = "secrets are read only from the manifest root (the -f directory, or the directory of a -f file) and the directories named with --secrets-dir";
    match (resolver.canonical)(path) {
        Some(real) if roots.canonical.iter().any(|root| within(&real, root)) => None,
        Some(_) if inside_lexically => Some(format!(
            "the secret file {} leads, through a symlink, outside the directories secrets may be read from; {allowed}",
            path.display()
        )),
        None if inside_lexically => None,
        _ => Some(format!(
            "the secret file {} is outside the directories secrets may be read from; {allowed}",
            path.display()
        )),
    }
}

impl SecretRef {
    /// Reads the secret. `env` looks up environment variables (injected for tests); a file is
    /// read only if, symlinks resolved, it is a regular file within `site.roots`, at most
    /// 16 KiB, of UTF-8 text (trailing line breaks trimmed).
    pub fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        site: &SecretSite,
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
                if !site.roots.canonical.iter().any(|root| within(&real, root)) {
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
/// names are letters, digits and `_`, not starting with a digit, and not one of kvsync's own
/// credential variables; a path is not empty.
pub fn reference_problem(reference: &SecretRef) -> Option<String> {
    match reference {
        SecretRef::Env(name) if !valid_env_name(name) => Some(format!(
            "{} is not an environment variable name; allowed: letters, digits and _, not starting with a digit",
            super::rules::shown(name)
        )),
        SecretRef::Env(name) if crate::env_vars::CREDENTIALS.contains(&name.as_str()) => {
            Some(format!(
                "{name} holds kvsync's own cloud credentials, which a manifest may not send as a password; name another variable"
            ))
        }
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

    /// A site whose only root is `dir`.
    fn site_in(dir: &Path) -> SecretSite {
        let real = std::fs::canonicalize(dir).unwrap();
        SecretSite {
            at: None,
            roots: Arc::new(SecretRoots {
                lexical: vec![real.clone()],
                canonical: vec![real],
            }),
        }
    }

    #[test]
    fn resolve_reads_env_and_files() {
        let env = |name: &str| (name == "PW").then(|| "s3cret".to_string());
        let nowhere = SecretSite::default();
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
        let site = site_in(dir.path());
        assert_eq!(
            reference.resolve(&env, &site).unwrap().expose(),
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
        let site = site_in(dir.path());
        let big = "Secret-Passw0rd-".repeat(2000);
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("latin1"), b"Caf\xe9-Passw0rd").unwrap();
        for (name, expected) in [
            ("big", "larger than 16 KiB"),
            ("latin1", "is not UTF-8 text"),
        ] {
            let reference = SecretRef::File(dir.path().join(name));
            let err = reference.resolve(&env, &site).unwrap_err();
            let cause = std::error::Error::source(&err).map(ToString::to_string);
            let shown = format!("{err}: {}", cause.unwrap_or_default());
            assert!(shown.contains(expected), "{shown}");
            assert!(!shown.contains("Passw0rd"), "{shown}");
            assert!(!shown.contains(&big.len().to_string()), "{shown}");
        }
    }

    #[test]
    fn files_outside_the_roots_are_refused_lexically_and_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("manifests");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("pw"), "x").unwrap();
        std::fs::write(dir.path().join("outside"), "x").unwrap();
        let site = site_in(&root);
        let check = |path: PathBuf| confinement_problem(&path, &site.roots, PathResolver::REAL);
        assert_eq!(check(root.join("pw")), None);
        assert_eq!(check(root.join("sub/../pw")), None);
        assert_eq!(check(root.join("not-yet")), None);
        for escape in [
            root.join("../outside"),
            root.join("../missing"),
            PathBuf::from("/etc/passwd"),
        ] {
            let problem = check(escape.clone()).unwrap_or_else(|| panic!("{escape:?}"));
            assert!(problem.contains("is outside the directories"), "{problem}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
            let problem = check(root.join("link")).unwrap();
            assert!(problem.contains("through a symlink"), "{problem}");
            let env = |_: &str| None;
            assert!(matches!(
                SecretRef::File(root.join("link")).resolve(&env, &site),
                Err(SecretError::Outside(_))
            ));
        }
    }

    #[test]
    fn lexical_paths_are_normalised() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../a/..")), PathBuf::from(".."));
        assert_eq!(normalize(Path::new("/../etc")), PathBuf::from("/etc"));
        assert!(within(Path::new("a/b"), Path::new("a")));
        assert!(within(Path::new("b"), Path::new("")));
        assert!(!within(Path::new("../b"), Path::new("")));
        assert!(!within(Path::new("/b"), Path::new("")));
        assert!(!within(Path::new("ab"), Path::new("a")));
    }

    #[test]
    fn credential_variables_are_refused() {
        for name in crate::env_vars::CREDENTIALS {
            let problem = reference_problem(&SecretRef::Env((*name).into())).unwrap();
            assert!(
                problem.contains("kvsync's own cloud credentials"),
                "{problem}"
            );
        }
    }

    #[test]
    fn display_shows_the_reference_not_a_value() {
        assert_eq!(SecretRef::Env("PW".into()).to_string(), "{env: PW}");
    }
}

//! Secret references: where a password comes from, never the password itself.
//!
//! Manifests say `{env: NAME}` or `{file: PATH}`; a literal value is refused at parse time
//! ([`RawSecretRef`]). A `{file:}` secret is confined to the manifest root and the
//! `--secrets-dir` directories ([`SecretRoots`]), checked when the manifests are validated
//! ([`confinement_problem`]) and again, symlinks resolved, when it is read
//! ([`SecretRef::resolve`](super::read)). Depends on nothing else in kvsync.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;

use crate::refusal::{RefusalKind, refuse};

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
pub(super) fn within(path: &Path, root: &Path) -> bool {
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
/// committed to git; the name and path themselves are checked when the manifest is validated
/// (`manifest::rules::reference_problem`), so that the error points at them.
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
        Err(refuse(RefusalKind::SecretReference, LITERAL_REFUSED))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(refuse(RefusalKind::SecretReference, LITERAL_REFUSED))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(refuse(RefusalKind::SecretReference, LITERAL_REFUSED))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(refuse(RefusalKind::SecretReference, LITERAL_REFUSED))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(refuse(RefusalKind::SecretReference, LITERAL_REFUSED))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(refuse(
            RefusalKind::SecretReference,
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
                return Err(refuse(
                    RefusalKind::SecretReference,
                    "a secret reference has exactly one of env or file",
                ));
            }
            found = Some(RawSecretRef {
                reference,
                value_at: value.referenced,
            });
        }
        found.ok_or_else(|| {
            refuse(
                RefusalKind::SecretReference,
                "a secret reference needs env or file: {env: NAME} or {file: PATH}",
            )
        })
    }
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
    fn files_outside_the_roots_are_refused_lexically_and_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("manifests");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("pw"), "x").unwrap();
        std::fs::write(dir.path().join("outside"), "x").unwrap();
        let real = std::fs::canonicalize(&root).unwrap();
        let roots = SecretRoots {
            lexical: vec![real.clone()],
            canonical: vec![real],
        };
        let check = |path: PathBuf| confinement_problem(&path, &roots, PathResolver::REAL);
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
                SecretRef::File(root.join("link")).resolve(&env, &roots),
                Err(crate::SecretError::Outside(_))
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
    fn display_shows_the_reference_not_a_value() {
        assert_eq!(SecretRef::Env("PW".into()).to_string(), "{env: PW}");
    }
}

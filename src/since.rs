//! `plan --changed-since REF`: the manifests as they were at a git ref, read with the `git`
//! program from the repository the manifests are in (they may be a subdirectory of it), and
//! the part of the stack that changed since then.
//!
//! [`read`] resolves the ref to a commit, lists the manifest files the `-f` paths held there
//! (`git ls-tree`, the loader's rules: `*.yaml`/`*.yml`, hidden entries skipped), reads them in
//! one `git cat-file --batch` and parses them as the loader parses the working tree's (same
//! paths, same region options). [`scope`] compares the two manifest sets with
//! [`plan::changes`] (parsed and merged, never bytes) and says what the plan covers. Nothing
//! here calls the cloud, and nothing is written to the repository or the working tree.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::git::{self, CommandError};
use crate::manifest::files::MANIFEST_LIMIT;
use crate::manifest::{Desired, Input, InstanceKey, LoadOptions, ParseOptions};
use crate::observe::Lookup;
use crate::plan::Partial;
use crate::plan::changes::{self, Changes};
use crate::plan::model::PlanScope;
use crate::secrets::reference::{PathResolver, SecretRoots, normalize};

/// How long one git command may run.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the manifests at the ref could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    /// The manifests are not in a git repository (or git cannot read it).
    #[error(
        "--changed-since needs the manifests in a git repository, and {} is not in one",
        .path.display()
    )]
    NotARepository {
        /// The `-f` path.
        path: PathBuf,
        /// What git said.
        #[source]
        source: CommandError,
    },
    /// The ref names no commit.
    #[error("--changed-since {since:?} names no commit in the repository at {}", .repository.display())]
    UnknownRef {
        /// The ref as given.
        since: String,
        /// The repository's top directory.
        repository: PathBuf,
        /// What git said.
        #[source]
        source: CommandError,
    },
    /// A `-f` path is outside the repository the first one is in.
    #[error(
        "--changed-since reads the manifests of one git repository: {} is not in the repository at {}",
        .path.display(),
        .repository.display()
    )]
    OutsideRepository {
        /// The `-f` path.
        path: PathBuf,
        /// The repository's top directory.
        repository: PathBuf,
    },
    /// `git` could not be run, or failed reading the commit.
    #[error("reading the manifests at {since}")]
    Git {
        /// The ref as given.
        since: String,
        /// What went wrong.
        #[source]
        source: CommandError,
    },
    /// A `-f` path could not be resolved.
    #[error("finding {} in its repository", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// git printed something this module does not read.
    #[error("reading the manifests at {since}: git printed {what} that kvsync cannot read")]
    Unexpected {
        /// The ref as given.
        since: String,
        /// What.
        what: &'static str,
    },
}

impl SinceError {
    /// Whether the command line is at fault (an unknown ref, manifests outside a repository),
    /// rather than git or the machine: exit code 64.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SinceError::NotARepository { .. }
                | SinceError::UnknownRef { .. }
                | SinceError::OutsideRepository { .. }
        )
    }
}

/// The manifests at a ref.
#[derive(Debug, Clone)]
pub struct AtRef {
    /// The ref as given.
    pub since: String,
    /// The commit it names.
    pub commit: String,
    /// What they describe there, or why that cannot be compared with the working tree (they
    /// did not validate, a manifest was a symlink or not UTF-8, …).
    pub manifests: Result<Desired, String>,
}

/// Runs git in `dir` (no credentials are involved: nothing needs scrubbing).
async fn git_in(
    dir: &Path,
    args: &[&OsStr],
    stdin: Option<&[u8]>,
) -> Result<Vec<u8>, CommandError> {
    git::run(git::Invocation {
        dir: Some(dir),
        args,
        stdin,
        timeout: GIT_TIMEOUT,
        scrub: &str::to_owned,
    })
    .await
}

fn os<'a>(args: &[&'a str]) -> Vec<&'a OsStr> {
    args.iter().map(|arg| OsStr::new(*arg)).collect()
}

/// The directory a `-f` path is in (itself when it is a directory).
fn directory_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_owned()
    } else {
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        }
    }
}

/// One manifest file at the ref: where the working tree shows it and its blob.
struct Blob {
    shown: PathBuf,
    root: PathBuf,
    oid: String,
}

/// Whether a path below a `-f` directory is one the loader reads: no hidden component, a
/// `.yaml` or `.yml` name.
fn is_manifest(below: &Path) -> bool {
    let hidden = below.components().any(|c| match c {
        Component::Normal(name) => name.to_string_lossy().starts_with('.'),
        _ => false,
    });
    !hidden
        && below
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
}

/// How paths in the manifests at the ref are resolved: made absolute as the loader makes them,
/// but no file is taken to exist (the files at the ref are not on disk), so `{file:}` secrets
/// are checked lexically against their roots.
const RESOLVER: PathResolver = PathResolver {
    absolute: PathResolver::REAL.absolute,
    canonical: PathResolver::LEXICAL.canonical,
};

/// The mode git gives a symbolic link.
const SYMLINK_MODE: &str = "120000";

/// One entry of `git ls-tree -z`.
#[derive(Debug, PartialEq, Eq)]
struct TreeEntry {
    mode: String,
    kind: String,
    oid: String,
    path: String,
}

/// The entries of `git ls-tree -z` output (`<mode> SP <type> SP <object> TAB <path> NUL`), or
/// `None` if it is not that.
fn tree_entries(listing: &[u8]) -> Option<Vec<TreeEntry>> {
    listing
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (meta, path) = entry.split_once('\t')?;
            let mut meta = meta.split(' ');
            let (mode, kind, oid) = (meta.next()?, meta.next()?, meta.next()?);
            Some(TreeEntry {
                mode: mode.to_owned(),
                kind: kind.to_owned(),
                oid: oid.to_owned(),
                path: path.to_owned(),
            })
        })
        .collect()
}

/// The contents of `count` objects in `git cat-file --batch` output (`<object> SP <type> SP
/// <size> LF <contents> LF` each), or `None` if it is not that (a missing object included).
fn batch_objects(mut batch: &[u8], count: usize) -> Option<Vec<&[u8]>> {
    let mut bodies = Vec::with_capacity(count);
    for _ in 0..count {
        let end = batch.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&batch[..end]).ok()?;
        let size: usize = header.rsplit(' ').next()?.parse().ok()?;
        let body = batch.get(end + 1..end + 1 + size)?;
        if batch.get(end + 1 + size) != Some(&b'\n') {
            return None;
        }
        bodies.push(body);
        batch = &batch[end + 2 + size..];
    }
    Some(bodies)
}

/// Reads the manifests `paths` held at `since` (see the module's documentation).
pub async fn read(
    paths: &[PathBuf],
    since: &str,
    options: &LoadOptions,
) -> Result<AtRef, SinceError> {
    let first = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let top = git_in(
        &directory_of(&first),
        &os(&["rev-parse", "--show-toplevel"]),
        None,
    )
    .await
    .map_err(|source| SinceError::NotARepository {
        path: first.clone(),
        source,
    })?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let real_top = std::fs::canonicalize(&top).map_err(|source| SinceError::Io {
        path: top.clone(),
        source,
    })?;
    let wanted = format!("{since}^{{commit}}");
    let args = os(&["rev-parse", "--verify", "--end-of-options", &wanted]);
    let commit = git_in(&real_top, &args, None)
        .await
        .map_err(|source| SinceError::UnknownRef {
            since: since.to_owned(),
            repository: real_top.clone(),
            source,
        })?;
    let commit = String::from_utf8_lossy(&commit).trim().to_owned();
    let at = |manifests| AtRef {
        since: since.to_owned(),
        commit: commit.clone(),
        manifests,
    };
    let git_error = |source| SinceError::Git {
        since: since.to_owned(),
        source,
    };

    // Every manifest file of the `-f` paths at the commit, each once.
    let mut blobs: Vec<Blob> = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        let real = std::fs::canonicalize(path).map_err(|source| SinceError::Io {
            path: path.clone(),
            source,
        })?;
        let inside = real
            .strip_prefix(&real_top)
            .map_err(|_| SinceError::OutsideRepository {
                path: path.clone(),
                repository: real_top.clone(),
            })?
            .to_owned();
        let is_dir = real.is_dir();
        let mut args: Vec<&OsStr> = os(&["ls-tree", "-r", "-z", "--full-tree"]);
        args.push(OsStr::new(&commit));
        if !inside.as_os_str().is_empty() {
            args.push(OsStr::new("--"));
            args.push(inside.as_os_str());
        }
        let listing = git_in(&real_top, &args, None).await.map_err(git_error)?;
        let entries = tree_entries(&listing).ok_or_else(|| SinceError::Unexpected {
            since: since.to_owned(),
            what: "a tree entry",
        })?;
        for TreeEntry {
            mode,
            kind,
            oid,
            path: file,
        } in entries
        {
            let file = Path::new(&file);
            let (shown, root) = if is_dir {
                let Ok(below) = file.strip_prefix(&inside) else {
                    continue;
                };
                if !is_manifest(below) {
                    continue;
                }
                (path.join(below), path.clone())
            } else if file == inside {
                (path.clone(), directory_of(path))
            } else {
                continue;
            };
            if kind != "blob" || mode == SYMLINK_MODE {
                let what = if mode == SYMLINK_MODE {
                    "symlink"
                } else {
                    kind.as_str()
                };
                return Ok(at(Err(format!(
                    "{} is a {what} at {since}, which kvsync does not compare",
                    shown.display()
                ))));
            }
            if seen.insert(file.to_owned()) {
                blobs.push(Blob { shown, root, oid });
            }
        }
    }

    // Their contents, in one process.
    let request: String = blobs.iter().map(|b| format!("{}\n", b.oid)).collect();
    let batch = if blobs.is_empty() {
        Vec::new()
    } else {
        git_in(
            &real_top,
            &os(&["cat-file", "--batch"]),
            Some(request.as_bytes()),
        )
        .await
        .map_err(git_error)?
    };
    let bodies = batch_objects(&batch, blobs.len()).ok_or_else(|| SinceError::Unexpected {
        since: since.to_owned(),
        what: "an object",
    })?;
    let mut inputs = Vec::new();
    let extra: Vec<PathBuf> = options
        .secrets_dirs
        .iter()
        .map(|dir| normalize(&(RESOLVER.absolute)(dir)))
        .collect();
    for (blob, body) in blobs.iter().zip(bodies) {
        if body.len() > MANIFEST_LIMIT as usize {
            return Ok(at(Err(format!(
                "{} is larger than a manifest may be at {since}",
                blob.shown.display()
            ))));
        }
        let Ok(text) = std::str::from_utf8(body) else {
            return Ok(at(Err(format!(
                "{} is not UTF-8 at {since}",
                blob.shown.display()
            ))));
        };
        let roots = SecretRoots {
            lexical: std::iter::once(normalize(&(RESOLVER.absolute)(&blob.root)))
                .chain(extra.iter().cloned())
                .collect(),
            canonical: Vec::new(),
        };
        inputs.push(Input {
            path: blob.shown.clone(),
            text: text.strip_prefix('\u{FEFF}').unwrap_or(text).to_owned(),
            roots: Arc::new(roots),
        });
    }
    let parse_options = ParseOptions {
        region: options.region.as_deref(),
        fallback_region: options.fallback_region.as_deref(),
        resolver: RESOLVER,
    };
    let manifests = crate::manifest::parse_inputs(&inputs, parse_options)
        .map(|loaded| loaded.desired)
        .map_err(|diagnostics| {
            let errors = diagnostics.0.len();
            let plural = if errors == 1 { "problem" } else { "problems" };
            format!("the manifests at {since} do not validate ({errors} {plural})")
        });
    Ok(at(manifests))
}

/// What a plan narrowed to a [`PlanScope`] reads and plans: `plan --changed-since`, and
/// `apply` of a plan it saved.
#[derive(Debug, Clone)]
pub struct Narrowed {
    /// What the plan covers, for its header.
    pub scope: PlanScope,
    /// The manifests of the instances it covers.
    pub desired: Desired,
    /// How many instances the whole manifests describe.
    described: usize,
    /// `Some` when only part of the stack is read: what to look up, and the instances removed
    /// since the ref (the only prune candidates).
    partial: Option<(Lookup, BTreeSet<InstanceKey>)>,
}

impl Narrowed {
    /// Narrows `whole` (the working tree's manifests) to what `scope` covers: everything, or
    /// its instances and removals (looked up only when the stack prunes).
    pub fn new(scope: PlanScope, whole: &Desired) -> Self {
        if !scope.is_partial() {
            return Narrowed {
                scope,
                desired: whole.clone(),
                described: whole.instances.len(),
                partial: None,
            };
        }
        let keys: BTreeSet<InstanceKey> = scope.instances.iter().cloned().collect();
        let deleted: BTreeSet<InstanceKey> = scope.deleted.iter().cloned().collect();
        let desired = narrow(whole, &keys);
        // A stack that does not prune has no use for the removed instances: not looked up.
        let lookup = if whole.stack.prune {
            Lookup::new(&desired, &deleted)
        } else {
            Lookup::new(&desired, &BTreeSet::new())
        };
        Narrowed {
            scope,
            desired,
            described: whole.instances.len(),
            partial: Some((lookup, deleted)),
        }
    }

    /// Whether nothing changed since the ref: nothing to read or plan.
    pub fn is_nothing(&self) -> bool {
        self.partial.is_some() && self.scope.instances.is_empty() && self.scope.deleted.is_empty()
    }

    /// What the observation looks up (`None`: everything).
    pub fn lookup(&self) -> Option<&Lookup> {
        self.partial.as_ref().map(|(lookup, _)| lookup)
    }

    /// What the planner must know of the part it does not see (`None`: it sees everything).
    pub fn partial(&self) -> Option<Partial<'_>> {
        self.partial.as_ref().map(|(_, deleted)| Partial {
            prunable: deleted,
            described: self.described,
        })
    }
}

/// `desired` with only the instances `keys` names; the stack's settings as they are (whether
/// it prunes, and what, is for the caller's [`crate::plan::Partial`] to say).
pub fn narrow(desired: &Desired, keys: &BTreeSet<InstanceKey>) -> Desired {
    Desired {
        stack: desired.stack.clone(),
        instances: desired
            .instances
            .iter()
            .filter(|instance| keys.contains(&instance.key))
            .cloned()
            .collect(),
    }
}

/// What the plan covers, the manifests at the ref compared with `now` (the working tree's):
/// the instances that changed and were removed, or everything when the Stack document
/// changed or the manifests at the ref cannot be compared.
pub fn scope(at: &AtRef, now: &Desired) -> PlanScope {
    let mut scope = PlanScope {
        since: at.since.clone(),
        commit: at.commit.clone(),
        everything: None,
        described: now.instances.len(),
        instances: Vec::new(),
        deleted: Vec::new(),
    };
    let everything = |reason: String, mut scope: PlanScope| {
        scope.everything = Some(reason);
        scope.instances = now.instances.iter().map(|i| i.key.clone()).collect();
        scope
    };
    let before = match &at.manifests {
        Ok(before) => before,
        Err(reason) => return everything(reason.clone(), scope),
    };
    match changes::changes(before, now) {
        Changes::Everything(whole) => everything(whole.describe().to_owned(), scope),
        Changes::Instances { changed, deleted } => {
            scope.instances = changed.into_iter().collect();
            scope.deleted = deleted.into_iter().collect();
            scope
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        git::for_tests(dir, args);
    }

    const STACK: &str = "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: shop}\nspec: {region: cn-hangzhou, prune: true}\n";

    fn instance(name: &str, class: &str) -> String {
        format!(
            "apiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}}}\nspec:\n  instanceClass: {class}\n"
        )
    }

    /// A repository whose manifests are in `deploy/manifests`, committed once.
    fn repository() -> (tempfile::TempDir, PathBuf) {
        let repo = tempfile::tempdir().unwrap();
        git(repo.path(), &["init", "-q", "-b", "main"]);
        let dir = repo.path().join("deploy/manifests");
        std::fs::create_dir_all(dir.join("team")).unwrap();
        std::fs::write(dir.join("stack.yaml"), STACK).unwrap();
        std::fs::write(
            dir.join("orders.yaml"),
            instance("orders", "redis.master.small.default"),
        )
        .unwrap();
        std::fs::write(
            dir.join("team/carts.yaml"),
            instance("carts", "redis.master.small.default"),
        )
        .unwrap();
        std::fs::write(dir.join(".hidden.yaml"), "not: a manifest\n").unwrap();
        std::fs::write(repo.path().join("README.md"), "hello\n").unwrap();
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "first"]);
        (repo, dir)
    }

    fn load(dir: &Path) -> Desired {
        crate::manifest::load(&[dir.to_owned()], None).unwrap()
    }

    #[tokio::test]
    async fn an_edit_in_the_working_tree_is_the_scope() {
        let (_repo, dir) = repository();
        std::fs::write(
            dir.join("orders.yaml"),
            instance("orders", "redis.master.mid.default"),
        )
        .unwrap();
        let at = read(std::slice::from_ref(&dir), "HEAD", &LoadOptions::default())
            .await
            .unwrap();
        assert_eq!(at.commit.len(), 40);
        let before = at.manifests.as_ref().unwrap();
        assert_eq!(before.instances.len(), 2);
        let now = load(&dir);
        let scoped = scope(&at, &now);
        assert_eq!(scoped.everything, None);
        let names: Vec<&str> = scoped.instances.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["orders"]);
        assert!(scoped.deleted.is_empty());
        let narrowed = Narrowed::new(scoped, &now);
        assert_eq!(narrowed.desired.instances.len(), 1);
        assert!(narrowed.desired.stack.prune);
        assert!(!narrowed.is_nothing());
        let lookup = narrowed.lookup().unwrap();
        assert_eq!(
            lookup.regions["cn-hangzhou"].iter().collect::<Vec<_>>(),
            ["orders"]
        );
        assert_eq!(narrowed.partial().unwrap().described, 2);
    }

    #[tokio::test]
    async fn a_removed_file_is_a_deletion_and_a_renamed_one_nothing() {
        let (repo, dir) = repository();
        std::fs::rename(dir.join("team/carts.yaml"), dir.join("carts-renamed.yml")).unwrap();
        let at = read(std::slice::from_ref(&dir), "HEAD", &LoadOptions::default())
            .await
            .unwrap();
        let now = load(&dir);
        let scoped = scope(&at, &now);
        assert!(scoped.instances.is_empty() && scoped.deleted.is_empty());
        assert!(Narrowed::new(scoped, &now).is_nothing());
        std::fs::remove_file(dir.join("carts-renamed.yml")).unwrap();
        let now = load(&dir);
        let scoped = scope(&at, &now);
        let deleted: Vec<&str> = scoped.deleted.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(deleted, ["carts"]);
        let narrowed = Narrowed::new(scoped, &now);
        assert!(narrowed.desired.instances.is_empty());
        assert_eq!(
            narrowed.lookup().unwrap().regions["cn-hangzhou"]
                .iter()
                .collect::<Vec<_>>(),
            ["carts"]
        );
        // Committed, the same comparison from HEAD~0 finds nothing, from HEAD~1 the deletion.
        git(repo.path(), &["commit", "-q", "-a", "-m", "drop carts"]);
        let at = read(
            std::slice::from_ref(&dir),
            "HEAD~1",
            &LoadOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(scope(&at, &load(&dir)).deleted.len(), 1);
    }

    #[test]
    fn git_s_listings_and_batches_are_read_exactly() {
        let listing = b"100644 blob aa11\tdeploy/a b.yaml\x00120000 blob bb22\tlink.yaml\x00";
        let entries = tree_entries(listing).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path, "deploy/a b.yaml");
        assert_eq!(entries[1].mode, SYMLINK_MODE);
        assert_eq!(tree_entries(b"100644 blob aa11 no-tab\0"), None);
        let batch = b"aa11 blob 3\nab\n\nbb22 blob 0\n\n";
        assert_eq!(batch_objects(batch, 2).unwrap(), [&b"ab\n"[..], &b""[..]]);
        assert_eq!(batch_objects(b"aa11 missing\n", 1), None);
        assert_eq!(batch_objects(b"aa11 blob 9\nab\n", 1), None);
    }

    #[test]
    fn removed_instances_are_looked_up_only_when_the_stack_prunes() {
        let key = |name: &str| InstanceKey {
            region: "cn-hangzhou".into(),
            name: name.into(),
        };
        let scope = PlanScope {
            since: "main".into(),
            commit: "0".repeat(40),
            everything: None,
            described: 1,
            instances: vec![key("orders")],
            deleted: vec![key("carts")],
        };
        let mut whole = Desired {
            stack: crate::manifest::desired::Stack {
                prune: true,
                ..Default::default()
            },
            instances: vec![
                crate::manifest::DesiredInstance::bare("orders"),
                crate::manifest::DesiredInstance::bare("sessions"),
            ],
        };
        let terms = |narrowed: &Narrowed| -> Vec<String> {
            narrowed.lookup().unwrap().regions["cn-hangzhou"]
                .iter()
                .cloned()
                .collect()
        };
        let pruning = Narrowed::new(scope.clone(), &whole);
        assert_eq!(terms(&pruning), ["carts", "orders"]);
        assert_eq!(pruning.partial().unwrap().described, 2);
        assert_eq!(pruning.desired.instances.len(), 1);
        whole.stack.prune = false;
        assert_eq!(terms(&Narrowed::new(scope, &whole)), ["orders"]);
    }

    #[tokio::test]
    async fn a_stack_change_or_manifests_that_do_not_validate_mean_everything() {
        let (_repo, dir) = repository();
        std::fs::write(
            dir.join("stack.yaml"),
            STACK.replace("prune: true", "prune: false"),
        )
        .unwrap();
        let at = read(std::slice::from_ref(&dir), "HEAD", &LoadOptions::default())
            .await
            .unwrap();
        let now = load(&dir);
        let scoped = scope(&at, &now);
        assert_eq!(
            scoped.everything.as_deref(),
            Some("the Stack document changed")
        );
        assert_eq!(scoped.instances.len(), 2);
        let narrowed = Narrowed::new(scoped, &now);
        assert!(narrowed.lookup().is_none() && narrowed.partial().is_none());
        assert_eq!(narrowed.desired, now);
        let broken = AtRef {
            manifests: Err("the manifests at HEAD do not validate (1 problems)".into()),
            ..at
        };
        assert!(scope(&broken, &now).everything.is_some());
    }

    #[tokio::test]
    async fn unknown_refs_and_directories_outside_git_are_usage_errors() {
        let (_repo, dir) = repository();
        let error = read(
            std::slice::from_ref(&dir),
            "no-such-branch",
            &LoadOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, SinceError::UnknownRef { .. }), "{error:?}");
        assert!(error.is_usage());
        let error = read(
            std::slice::from_ref(&dir),
            "--output=/tmp/x",
            &LoadOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, SinceError::UnknownRef { .. }), "{error:?}");
        let outside = tempfile::tempdir().unwrap();
        let error = read(
            &[outside.path().to_owned()],
            "HEAD",
            &LoadOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, SinceError::NotARepository { .. }),
            "{error:?}"
        );
        assert!(error.is_usage());
    }

    #[tokio::test]
    async fn file_secrets_in_the_manifest_directory_validate_at_the_ref() {
        let (repo, dir) = repository();
        let with_secret = format!(
            "{}  password: {{file: secrets/orders.txt}}\n",
            instance("orders", "redis.master.small.default")
        );
        std::fs::write(dir.join("orders.yaml"), &with_secret).unwrap();
        git(repo.path(), &["commit", "-q", "-a", "-m", "a password"]);
        // The secret itself is not in git.
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/orders.txt"), "Orders-Passw0rd-1").unwrap();
        let at = read(std::slice::from_ref(&dir), "HEAD", &LoadOptions::default())
            .await
            .unwrap();
        assert!(at.manifests.is_ok(), "{:?}", at.manifests.err());
        let scoped = scope(&at, &load(&dir));
        assert!(scoped.everything.is_none() && scoped.instances.is_empty());
    }

    #[tokio::test]
    async fn a_manifest_file_named_on_its_own_is_read_at_the_ref() {
        let (_repo, dir) = repository();
        let file = dir.join("orders.yaml");
        let stack = dir.join("stack.yaml");
        let at = read(
            &[stack.clone(), file.clone()],
            "HEAD",
            &LoadOptions::default(),
        )
        .await
        .unwrap();
        let before = at.manifests.unwrap();
        let names: Vec<&str> = before
            .instances
            .iter()
            .map(|i| i.key.name.as_str())
            .collect();
        assert_eq!(names, ["orders"]);
        assert_eq!(before.instances[0].source.path, file);
    }
}

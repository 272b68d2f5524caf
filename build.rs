//! Records the git commit kvsync is built from as `KVSYNC_GIT_COMMIT` ("unknown" without git
//! or a repository), and rebuilds when `HEAD` or the branch it points to moves.

use std::path::Path;
use std::process::Command;

/// `git ARGS` in the package directory, trimmed; `None` when git or the repository is absent.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Asks cargo to run this script again when `path` changes (only for files that exist: a
/// missing one would make every build rerun it).
fn watch(path: &str) {
    if Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KVSYNC_GIT_COMMIT={commit}");
    // `--git-path` resolves worktrees (HEAD is per worktree, refs are shared).
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watch(&head);
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &reference]) {
            watch(&path);
        }
        if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
            watch(&packed);
        }
    }
}

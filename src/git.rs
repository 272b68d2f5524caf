//! Running the `git` command-line program, for the daemon's git source (`daemon::git`) and for
//! reading the manifests at a ref (`since`).
//!
//! No shell: arguments are passed one by one. `GIT_TERMINAL_PROMPT=0` (and the credential
//! manager's `GCM_INTERACTIVE=never`) so that a missing credential fails instead of waiting for
//! a person; the caller's variables that would point git at another repository are removed; a
//! timeout per command (the process is killed when it expires); stderr kept for the error,
//! through the caller's scrubber. Never interprets what git printed.

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// At most this much of git's stderr goes into an error (the end, where `fatal:` is).
const STDERR_LIMIT: usize = 4000;

/// Environment variables of the caller that would point git at another repository than ours.
pub const REPOSITORY_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// Why a git command gave no output.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `git` could not be started (it is not installed or not on `PATH`).
    #[error("starting git (is it installed and on PATH?)")]
    Spawn {
        /// The error from starting the process.
        #[source]
        source: io::Error,
    },
    /// A git command exited unsuccessfully.
    #[error("`{command}` failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        /// The command line, scrubbed.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// Its stderr, trimmed, scrubbed.
        stderr: String,
    },
    /// A git command did not finish in time and was killed.
    #[error("`{command}` timed out after {} s and was killed", .after.as_secs_f64())]
    Timeout {
        /// The command line, scrubbed.
        command: String,
        /// The timeout.
        after: Duration,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// One git command to run.
pub struct Invocation<'a> {
    /// The directory git runs in (`git -C DIR`); `None`: the current one.
    pub dir: Option<&'a Path>,
    /// The arguments after `git`.
    pub args: &'a [&'a OsStr],
    /// What to write to its standard input (`None`: nothing, stdin is closed).
    pub stdin: Option<&'a [u8]>,
    /// How long it may run.
    pub timeout: Duration,
    /// Applied to the command line and to stderr before they go into an error or a log.
    pub scrub: &'a (dyn Fn(&str) -> String + Sync),
}

/// Runs one git command; returns its stdout.
pub async fn run(invocation: Invocation<'_>) -> Result<Vec<u8>, CommandError> {
    let Invocation {
        dir,
        args,
        stdin,
        timeout,
        scrub,
    } = invocation;
    let command = scrub(&format!(
        "git {}",
        args.iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in REPOSITORY_ENV {
        cmd.env_remove(name);
    }
    tracing::debug!(%command, "running git");
    let finished = async {
        let mut child = cmd.spawn()?;
        // Written while the output is read, so that a full pipe cannot stall either side.
        let writing = match (child.stdin.take(), stdin) {
            (Some(mut pipe), Some(input)) => {
                let input = input.to_vec();
                Some(tokio::spawn(async move {
                    // git stopping early (an error) closes the pipe; its exit status tells.
                    let _ = pipe.write_all(&input).await;
                }))
            }
            _ => None,
        };
        let output = child.wait_with_output().await;
        if let Some(writing) = writing {
            writing.abort();
        }
        output
    };
    let output = match tokio::time::timeout(timeout, finished).await {
        Err(_elapsed) => {
            return Err(CommandError::Timeout {
                command,
                after: timeout,
            });
        }
        Ok(Err(source)) => return Err(CommandError::Spawn { source }),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(CommandError::Failed {
            command,
            status: output.status,
            stderr: scrub(tail(stderr.trim(), STDERR_LIMIT)),
        })
    }
}

/// The last `limit` bytes of `text` (at a character boundary).
pub fn tail(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// A `git` for tests: runs in `dir` with a fixed identity and no user or system
/// configuration, fails the test on error, returns stdout trimmed.
#[cfg(test)]
pub(crate) fn for_tests(dir: &Path, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=kvsync test",
            "-c",
            "user.email=test@kvsync.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0");
    for name in REPOSITORY_ENV {
        cmd.env_remove(name);
    }
    let output = cmd.output().expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unchanged(text: &str) -> String {
        text.to_owned()
    }

    #[tokio::test]
    async fn input_goes_to_stdin_and_output_comes_back() {
        let args: Vec<&OsStr> = ["hash-object", "--stdin"].iter().map(OsStr::new).collect();
        let out = run(Invocation {
            dir: None,
            args: &args,
            stdin: Some(b"kvsync\n"),
            timeout: Duration::from_secs(30),
            scrub: &unchanged,
        })
        .await
        .unwrap();
        // `echo kvsync | git hash-object --stdin`
        assert_eq!(
            String::from_utf8_lossy(&out).trim(),
            "41a528cf94ba4037601d01491953eb2487da9d6b"
        );
    }

    #[tokio::test]
    async fn failures_keep_the_scrubbed_command_and_stderr() {
        let args: Vec<&OsStr> = ["rev-parse", "--verify", "no-such-ref-secret"]
            .iter()
            .map(OsStr::new)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let error = run(Invocation {
            dir: Some(dir.path()),
            args: &args,
            stdin: None,
            timeout: Duration::from_secs(30),
            scrub: &|text: &str| text.replace("secret", "***"),
        })
        .await
        .unwrap_err();
        let shown = error.to_string();
        assert!(matches!(error, CommandError::Failed { .. }), "{error:?}");
        assert!(shown.contains("git rev-parse"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn tails_stop_at_character_boundaries() {
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("aé", 1), "");
        assert_eq!(tail("aéb", 2), "b");
    }
}

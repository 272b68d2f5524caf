//! The git source of `kvsync daemon --git URL --branch B`: a clone in a cache directory that is
//! fetched on every poll and moved only forward.
//!
//! Everything runs through the `git` command-line program (no libgit2, so no C code and no
//! OpenSSL) with [`crate::git::run`]: no shell, arguments passed one by one,
//! `GIT_TERMINAL_PROMPT=0` so a missing credential fails instead of waiting for a person, a
//! timeout per command (the process is killed when it expires) and stderr kept for the error.
//!
//! The cycle is [`GitSource::fetch`] (clone the first time, then `git fetch`; returns the commit
//! the remote branch points at) followed by [`GitSource::checkout`] (refuses anything that is not
//! a descendant of the commit applied last, then makes the working tree exactly that commit).
//! The daemon loads the manifests from [`GitSource::checkout_dir`] only after a successful
//! checkout and keeps its last good desired state otherwise.
//!
//! Credentials in the URL (`https://user:token@host/...`) are never shown: [`GitSource::display_url`]
//! strips them (read with [`url::Url`] where the text is a URL, an SSH URL's bare user name
//! kept; scp-like `git@host:path` forms have no credentials to strip), and command lines and git's stderr are scrubbed before they go into errors or
//! logs. They are still visible to local users in the process list and stored in the clone's
//! `.git/config`, as with any git URL; a credential helper or an SSH key avoids both.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use url::Url;

use super::status::Revision;
use crate::git::{self, CommandError};

/// How long one git command may run by default (a clone of a large repository included).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// What went wrong with the git source.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// A git command could not be run, failed or timed out.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The fetched commit does not descend from the applied one (a rewind or a force-push); the
    /// working tree stays at the applied commit.
    #[error(
        "the branch moved from {applied} to {fetched}, which does not descend from it \
         (rewind or force-push); staying at {applied}"
    )]
    NotForward {
        /// The commit in force.
        applied: String,
        /// The commit the branch points at now.
        fetched: String,
    },
    /// A branch name git does not accept, or a URL that would read as an option.
    #[error("invalid git {what} {value:?}")]
    Invalid {
        /// `branch` or `URL`.
        what: &'static str,
        /// The value, credentials removed.
        value: String,
    },
    /// The cache directory could not be prepared.
    #[error("{action} {}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: io::Error,
    },
}

/// A branch of a git repository, cloned into a cache directory.
///
/// The clone lives in a subdirectory of the cache directory named after the repository, the
/// branch and a digest of both (with credentials stripped from the URL), so daemons following
/// different repositories or branches can share one cache directory. Two daemons following the
/// same branch of the same repository would share the clone too and must not use one cache
/// directory at the same time.
pub struct GitSource {
    url: String,
    branch: String,
    checkout_dir: PathBuf,
    applied: Option<String>,
    /// The applied commit's author and subject, as `git log` shows them.
    applied_by: Option<(String, String)>,
    timeout: Duration,
    redactor: Redactor,
    /// Whether this value has checked the branch name and the clone's remote URL.
    prepared: bool,
}

impl fmt::Debug for GitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &self.display_url())
            .field("branch", &self.branch)
            .field("checkout_dir", &self.checkout_dir)
            .field("applied", &self.applied)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GitSource {
    /// A source for `branch` of `url`, cloned into a subdirectory of `cache_dir`.
    ///
    /// Nothing is touched until [`fetch`](Self::fetch). If the subdirectory already holds a clone
    /// (a restart), it is reused; [`applied`](Self::applied) starts as `None` all the same, so the
    /// first checkout after a restart is accepted whatever it is — the forward-only check covers
    /// the life of one process, not the history of the cache directory.
    pub fn new(url: String, branch: String, cache_dir: &Path) -> Self {
        let redactor = Redactor::new(&url);
        let checkout_dir = cache_dir.join(dir_name(&redactor.display, &branch));
        GitSource {
            url,
            branch,
            checkout_dir,
            applied: None,
            applied_by: None,
            timeout: DEFAULT_COMMAND_TIMEOUT,
            redactor,
            prepared: false,
        }
    }

    /// The same source with another timeout per git command.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The directory holding the checked-out manifests (and `.git`, which manifest discovery
    /// skips as a hidden entry).
    pub fn checkout_dir(&self) -> &Path {
        &self.checkout_dir
    }

    /// The commit checked out last, if any since this value was made.
    pub fn applied(&self) -> Option<&str> {
        self.applied.as_deref()
    }

    /// The branch followed.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The URL with any `user:password@` removed, for logs, status and errors.
    pub fn display_url(&self) -> String {
        self.redactor.display.clone()
    }

    /// The applied commit as the daemon's [`Revision`] (`source: git`).
    pub fn revision(&self) -> Option<Revision> {
        self.applied.as_ref().map(|id| Revision {
            source: "git".to_owned(),
            id: id.clone(),
            author: self.applied_by.as_ref().map(|(author, _)| author.clone()),
            subject: self.applied_by.as_ref().map(|(_, subject)| subject.clone()),
        })
    }

    /// Brings the remote branch into the local clone and returns the commit it points at.
    ///
    /// Clones the branch on first use (`--single-branch`, full history so ancestry can be
    /// checked, no checkout: the working tree is written only by [`checkout`](Self::checkout));
    /// afterwards fetches it into `refs/remotes/origin/BRANCH`, even when it was force-pushed.
    /// Never changes the working tree.
    pub async fn fetch(&mut self) -> Result<String, GitError> {
        self.validate().await?;
        if self.checkout_dir.join(".git").exists() {
            if !self.prepared {
                // A clone from an earlier run: the URL's credentials may have changed since.
                self.git_in(&["remote", "set-url", "origin", &self.url])
                    .await?;
            }
            let refspec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
            self.git_in(&["fetch", "--quiet", "--no-tags", "origin", &refspec])
                .await?;
        } else {
            self.clone_repository().await?;
        }
        self.prepared = true;
        let tracking = format!("refs/remotes/origin/{}^{{commit}}", self.branch);
        self.resolve(&tracking).await
    }

    /// Makes the working tree exactly `commit` and records it as applied.
    ///
    /// `commit` must descend from the applied commit (or be it); the first checkout is accepted
    /// as it is. A rewind or a force-push to another history is refused with
    /// [`GitError::NotForward`] and leaves the working tree at the applied commit. Files
    /// that are not in `commit` are removed (`git clean -fdx`), so a deleted manifest goes.
    /// When another error occurs midway, the working tree may be partly changed and the applied
    /// commit stays as it was; the caller keeps its last good state and tries again.
    pub async fn checkout(&mut self, commit: &str) -> Result<(), GitError> {
        let commit = self.resolve(&format!("{commit}^{{commit}}")).await?;
        if let Some(applied) = &self.applied
            && !self.is_ancestor(applied, &commit).await?
        {
            return Err(GitError::NotForward {
                applied: applied.clone(),
                fetched: commit,
            });
        }
        self.git_in(&["checkout", "--quiet", "--detach", "--force", &commit, "--"])
            .await?;
        self.git_in(&["clean", "-q", "-d", "-x", "--force"]).await?;
        if self.applied.as_deref() != Some(commit.as_str()) {
            // Who made it, for the console; a commit that cannot be described still applies.
            self.applied_by = self
                .git_in(&["show", "-s", "--format=%an <%ae>%n%s", &commit])
                .await
                .ok()
                .map(|out| {
                    let text = String::from_utf8_lossy(&out).into_owned();
                    let mut lines = text.lines();
                    let author = lines.next().unwrap_or_default().chars().take(200).collect();
                    let subject = lines.next().unwrap_or_default().chars().take(200).collect();
                    (author, subject)
                });
            tracing::info!(
                url = %self.redactor.display,
                branch = %self.branch,
                commit = %commit,
                previous = %self.applied.as_deref().unwrap_or("none"),
                "checked out manifests"
            );
        }
        self.applied = Some(commit);
        Ok(())
    }

    /// Rejects a branch name git would refuse or read as something else, and a URL that would
    /// read as an option, before they reach a command line.
    async fn validate(&self) -> Result<(), GitError> {
        if self.prepared {
            return Ok(());
        }
        if self.url.starts_with('-') || self.url.is_empty() {
            return Err(GitError::Invalid {
                what: "URL",
                value: self.redactor.display.clone(),
            });
        }
        let invalid = || GitError::Invalid {
            what: "branch",
            value: self.branch.clone(),
        };
        if self.branch.starts_with('-') {
            return Err(invalid());
        }
        let full = format!("refs/heads/{}", self.branch);
        match self.git(None, &["check-ref-format", &full]).await {
            Ok(_) => Ok(()),
            Err(GitError::Command(CommandError::Failed { .. })) => Err(invalid()),
            Err(other) => Err(other),
        }
    }

    /// Clones into a temporary sibling and renames it into place, so a clone cut short (timeout,
    /// crash) never looks like a finished one.
    async fn clone_repository(&self) -> Result<(), GitError> {
        let parent = self.checkout_dir.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| GitError::Io {
                action: "creating the git cache directory",
                path: parent.to_owned(),
                source,
            })?;
        let mut temporary = self.checkout_dir.clone().into_os_string();
        temporary.push(format!(".clone-{}", std::process::id()));
        let temporary = PathBuf::from(temporary);
        remove_dir_if_present(&temporary).await?;
        // The path goes to git as an `OsStr`, whatever its encoding.
        let result = self
            .git_os(
                None,
                &[
                    "clone".as_ref(),
                    "--quiet".as_ref(),
                    "--no-checkout".as_ref(),
                    "--single-branch".as_ref(),
                    "--no-tags".as_ref(),
                    "--branch".as_ref(),
                    self.branch.as_ref(),
                    "--".as_ref(),
                    self.url.as_ref(),
                    temporary.as_os_str(),
                ],
            )
            .await;
        if let Err(error) = result {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Err(error);
        }
        if let Err(source) = tokio::fs::rename(&temporary, &self.checkout_dir).await {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            // Another daemon sharing the cache directory finished the same clone first.
            if !self.checkout_dir.join(".git").exists() {
                return Err(GitError::Io {
                    action: "moving the new clone into place at",
                    path: self.checkout_dir.clone(),
                    source,
                });
            }
        }
        tracing::info!(
            url = %self.redactor.display,
            branch = %self.branch,
            dir = %self.checkout_dir.display(),
            "cloned manifests repository"
        );
        Ok(())
    }

    /// The full commit ID `revision` names in the clone.
    async fn resolve(&self, revision: &str) -> Result<String, GitError> {
        let out = self
            .git_in(&["rev-parse", "--verify", "--end-of-options", revision])
            .await?;
        Ok(String::from_utf8_lossy(&out).trim().to_owned())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    async fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let args = ["merge-base", "--is-ancestor", ancestor, descendant];
        match self.git_in(&args).await {
            Ok(_) => Ok(true),
            // Exit 1 means "not an ancestor"; anything else is an error.
            Err(GitError::Command(CommandError::Failed { status, .. }))
                if status.code() == Some(1) =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Runs git in the clone.
    async fn git_in(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        self.git(Some(&self.checkout_dir), args).await
    }

    async fn git(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_ref()).collect();
        self.git_os(dir, &args).await
    }

    /// Runs one git command with the timeout; returns its stdout.
    async fn git_os(
        &self,
        dir: Option<&Path>,
        args: &[&std::ffi::OsStr],
    ) -> Result<Vec<u8>, GitError> {
        let scrub = |text: &str| self.redactor.scrub(text);
        Ok(git::run(git::Invocation {
            dir,
            args,
            stdin: None,
            timeout: self.timeout,
            scrub: &scrub,
        })
        .await?)
    }
}

async fn remove_dir_if_present(path: &Path) -> Result<(), GitError> {
    match tokio::fs::remove_dir_all(path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(GitError::Io {
            action: "removing an unfinished clone at",
            path: path.to_owned(),
            source,
        }),
    }
}

/// The clone's directory name: readable parts of the repository name and branch, then a digest
/// of the display URL and the branch (so credentials neither appear nor matter).
fn dir_name(display_url: &str, branch: &str) -> String {
    let digest = Sha256::digest(format!("{display_url}\n{branch}").as_bytes());
    let hex = hex::encode(&digest[..6]);
    let repo = display_url
        .trim_end_matches('/')
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or("");
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    format!("{}-{}-{hex}", readable(repo), readable(branch))
}

/// Up to 40 characters of `text` that are safe in a file name.
fn readable(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        "repo".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Removes a URL's credentials from everything shown.
struct Redactor {
    /// The URL without credentials.
    display: String,
    /// `(text, replacement)` pairs, applied in order.
    replacements: Vec<(String, String)>,
}

/// The credentials found in a URL.
struct Credentials {
    /// The URL without them.
    display: String,
    /// Forms of the whole URL to replace with `display` (as given, and as parsed).
    urls: Vec<String>,
    /// Forms of `userinfo@` as they may appear in a text.
    userinfos: Vec<String>,
    /// The user name, percent-encoded as in the URL.
    user: String,
    /// The password, percent-encoded as in the URL (empty when there is none).
    password: String,
}

impl Redactor {
    fn new(url: &str) -> Self {
        let credentials = match Url::parse(url) {
            Ok(parsed) => parsed_credentials(url, parsed),
            // Not a URL (`git@host:path`, a local path) or one `url` refuses: the text as typed.
            Err(_) => typed_credentials(url),
        };
        let Some(credentials) = credentials else {
            return Redactor {
                display: url.to_owned(),
                replacements: Vec::new(),
            };
        };
        let Credentials {
            display,
            urls,
            userinfos,
            user,
            password,
        } = credentials;
        let mut replacements = Vec::new();
        let mut push = |text: String, replacement: &str| {
            if !text.is_empty() && !replacements.iter().any(|(known, _)| *known == text) {
                replacements.push((text, replacement.to_owned()));
            }
        };
        for form in urls {
            push(form, &display);
        }
        for form in userinfos {
            push(form, "");
        }
        // Git itself may show the URL with the user name only.
        if !user.is_empty() {
            push(format!("://{user}@"), "://");
            let decoded = percent_decode_str(&user).decode_utf8_lossy().into_owned();
            push(format!("://{decoded}@"), "://");
        }
        // With no password, the user name is commonly a token (`https://TOKEN@host/...`).
        let secret = if password.is_empty() { user } else { password };
        let decoded = percent_decode_str(&secret).decode_utf8_lossy().into_owned();
        push(secret, "***");
        push(decoded, "***");
        Redactor {
            display,
            replacements,
        }
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (secret, replacement) in &self.replacements {
            text = text.replace(secret.as_str(), replacement);
        }
        text
    }
}

/// The credentials of a URL `url` parses to, if it has any that are secret: an SSH URL's user
/// name alone (`ssh://git@host/...`) is not.
fn parsed_credentials(typed: &str, mut url: Url) -> Option<Credentials> {
    let user = url.username().to_owned();
    let password = url.password().unwrap_or_default().to_owned();
    if user.is_empty() && password.is_empty() {
        return None;
    }
    let ssh = matches!(url.scheme(), "ssh" | "git+ssh" | "ssh+git");
    if ssh && url.password().is_none() {
        return None;
    }
    let parsed = url.as_str().to_owned();
    let userinfo = match url.password() {
        Some(password) => format!("{user}:{password}@"),
        None => format!("{user}@"),
    };
    // Both succeed for a URL with credentials, which has a host.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    let mut userinfos = vec![userinfo];
    let mut display = url.as_str().to_owned();
    // The userinfo as typed, which may hold characters `url` encodes (an `@` in a password).
    if let Some((typed_userinfo, start, end)) = userinfo_span(typed) {
        userinfos.push(format!("{typed_userinfo}@"));
        // The URL as typed without it, when that is the same URL: keeps the spelling (an
        // explicit default port, say), and so the checkout directory, of a URL as given.
        let cut = format!("{}{}", &typed[..start], &typed[end..]);
        if Url::parse(&cut).is_ok_and(|cut_url| cut_url == url) {
            display = cut;
        }
    }
    Some(Credentials {
        display,
        urls: vec![typed.to_owned(), parsed],
        userinfos,
        user,
        password,
    })
}

/// Credentials cut from the text of a `scheme://userinfo@host/...` that `url` cannot parse.
fn typed_credentials(url: &str) -> Option<Credentials> {
    let (userinfo, start, end) = userinfo_span(url)?;
    let scheme = &url[..url.find("://").unwrap_or(0)];
    let ssh = matches!(
        scheme.to_ascii_lowercase().as_str(),
        "ssh" | "git+ssh" | "ssh+git"
    );
    if ssh && !userinfo.contains(':') {
        return None;
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some(Credentials {
        display: format!("{}{}", &url[..start], &url[end..]),
        urls: vec![url.to_owned()],
        userinfos: vec![format!("{userinfo}@")],
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// For `scheme://userinfo@host/...`: the userinfo and the byte range of `userinfo@`.
fn userinfo_span(url: &str) -> Option<(&str, usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |offset| start + offset);
    // The last `@`: a password with an unencoded `@` still ends at the host.
    let at = start + url[start..authority_end].rfind('@')?;
    Some((&url[start..at], start, at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_urls_lose_credentials() {
        let cases = [
            (
                "https://user:secret@git.example.com/ops/redis.git",
                "https://git.example.com/ops/redis.git",
            ),
            (
                "https://ghp_token123@github.com/ops/redis.git",
                "https://github.com/ops/redis.git",
            ),
            (
                "https://x-access-token:p%40ss@github.com:443/o/r",
                "https://github.com:443/o/r",
            ),
            ("https://us@er:pa@ss@host/r.git", "https://host/r.git"),
            ("ssh://git@host:22/o/r.git", "ssh://git@host:22/o/r.git"),
            ("ssh://git:hunter2@host/o/r.git", "ssh://host/o/r.git"),
            ("git@github.com:o/r.git", "git@github.com:o/r.git"),
            ("file:///srv/git/r.git", "file:///srv/git/r.git"),
            ("/srv/git/r.git", "/srv/git/r.git"),
            ("https://host/path@v1/r.git", "https://host/path@v1/r.git"),
            // Percent-encoded passwords, and `@` in passwords and user names, typed raw.
            (
                "https://deploy:s%3Ac%2Fr%40et@git.example.com/ops/redis.git",
                "https://git.example.com/ops/redis.git",
            ),
            (
                "https://deploy:p@ss@w0rd@git.example.com/r.git",
                "https://git.example.com/r.git",
            ),
            (
                "https://ci@corp:pa@ss@host/r.git?ref=x",
                "https://host/r.git?ref=x",
            ),
            ("ssh://git:p%40ss@host/o/r.git", "ssh://host/o/r.git"),
            (
                "git+ssh://deploy@host/o/r.git",
                "git+ssh://deploy@host/o/r.git",
            ),
            // Spelled as given, credentials aside.
            (
                "HTTPS://u:secret@Git.Example.com/ops/redis.git",
                "HTTPS://Git.Example.com/ops/redis.git",
            ),
        ];
        for (url, display) in cases {
            let source = GitSource::new(url.to_owned(), "main".to_owned(), Path::new("/c"));
            assert_eq!(source.display_url(), display, "{url}");
            let debug = format!("{source:?}");
            for secret in [
                "secret",
                "ghp_token123",
                "p%40ss",
                "hunter2",
                "pa@ss",
                "s%3Ac%2Fr%40et",
                "p@ss@w0rd",
            ] {
                assert!(!debug.contains(secret), "{debug}");
                assert!(
                    !source.checkout_dir().to_string_lossy().contains(secret),
                    "{url}"
                );
            }
        }
    }

    #[test]
    fn git_output_is_scrubbed() {
        let url = "https://bot:s3cr%2Ft@git.example.com/ops/redis.git";
        let source = GitSource::new(url.to_owned(), "main".to_owned(), Path::new("/c"));
        let stderr = format!(
            "fatal: unable to access '{url}': 403\n\
             fatal: Authentication failed for 'https://bot@git.example.com/ops/redis.git'\n\
             password s3cr/t rejected"
        );
        let scrubbed = source.redactor.scrub(&stderr);
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
        assert!(!scrubbed.contains("bot@"), "{scrubbed}");
        assert!(scrubbed.contains("'https://git.example.com/ops/redis.git': 403"));

        let token = GitSource::new(
            "https://tok_abcdef@host/r.git".to_owned(),
            "main".to_owned(),
            Path::new("/c"),
        );
        let scrubbed = token.redactor.scrub("remote: token tok_abcdef expired");
        assert_eq!(scrubbed, "remote: token *** expired");
    }

    #[test]
    fn encoded_and_raw_passwords_are_scrubbed_in_every_form() {
        // `@` typed raw: `url` reads up to the last `@` and encodes the others.
        let url = "https://deploy:p@ss@w0rd@git.example.com/r.git";
        let source = GitSource::new(url.to_owned(), "main".to_owned(), Path::new("/c"));
        let stderr = format!(
            "fatal: unable to access '{url}'\n\
             fatal: could not read 'https://deploy:p%40ss%40w0rd@git.example.com/r.git'\n\
             fatal: Authentication failed for 'https://deploy@git.example.com/r.git'\n\
             remote: p@ss@w0rd and p%40ss%40w0rd refused"
        );
        let scrubbed = source.redactor.scrub(&stderr);
        for secret in ["p@ss", "w0rd", "p%40ss", "deploy@"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
        assert!(
            scrubbed.contains("'https://git.example.com/r.git'"),
            "{scrubbed}"
        );

        // Percent-encoded: the encoded and the decoded password both go.
        let url = "https://deploy:s%3Ac%2Fr%40et@git.example.com/r.git";
        let source = GitSource::new(url.to_owned(), "main".to_owned(), Path::new("/c"));
        let scrubbed = source
            .redactor
            .scrub("password s:c/r@et rejected; s%3Ac%2Fr%40et rejected");
        assert_eq!(scrubbed, "password *** rejected; *** rejected");
    }

    #[test]
    fn checkout_dirs_follow_url_and_branch_but_not_credentials() {
        let cache = Path::new("/var/cache/kvsync");
        let dir = |url: &str, branch: &str| {
            GitSource::new(url.to_owned(), branch.to_owned(), cache)
                .checkout_dir()
                .to_owned()
        };
        let main = dir("https://host/ops/redis.git", "main");
        assert_eq!(main.parent(), Some(cache));
        let name = main.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("redis-main-"), "{name}");
        assert_eq!(main, dir("https://host/ops/redis.git", "main"));
        assert_eq!(main, dir("https://a:b@host/ops/redis.git", "main"));
        assert_ne!(main, dir("https://host/ops/redis.git", "prod"));
        assert_ne!(main, dir("https://host/other/redis.git", "main"));
        let odd = dir("https://host/", "feature/x y");
        let name = odd.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("host-feature_x_y-"), "{name}");
        let hidden = dir("/srv/..git", "..");
        assert!(
            !hidden
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with('.')
        );
    }

    /// Integration tests against bare repositories in temporary directories.
    mod repositories {
        use tempfile::TempDir;

        use super::super::*;

        /// Runs git in `dir` with no user or system configuration, failing the test on error.
        fn git(dir: &Path, args: &[&str]) -> String {
            git::for_tests(dir, args)
        }

        /// A bare repository, a work clone that pushes to it, and a cache directory.
        struct Fixture {
            _root: TempDir,
            bare: PathBuf,
            work: PathBuf,
            cache: PathBuf,
        }

        impl Fixture {
            fn new() -> Self {
                let root = tempfile::tempdir().unwrap();
                let bare = root.path().join("manifests.git");
                let work = root.path().join("work");
                let cache = root.path().join("cache");
                std::fs::create_dir_all(&work).unwrap();
                git(root.path(), &["init", "--quiet", "--bare", "manifests.git"]);
                git(&work, &["init", "--quiet"]);
                git(&work, &["checkout", "--quiet", "-b", "main"]);
                Fixture {
                    _root: root,
                    bare,
                    work,
                    cache,
                }
            }

            fn url(&self) -> String {
                format!("file://{}", self.bare.display())
            }

            fn source(&self) -> GitSource {
                GitSource::new(self.url(), "main".to_owned(), &self.cache)
            }

            /// Writes `files` (`None` deletes), commits everything, pushes to `main`; returns the
            /// commit.
            fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
                for (name, text) in files {
                    let path = self.work.join(name);
                    match text {
                        Some(text) => {
                            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                            std::fs::write(&path, text).unwrap();
                        }
                        None => std::fs::remove_file(&path).unwrap(),
                    }
                }
                git(&self.work, &["add", "--all"]);
                git(&self.work, &["commit", "--quiet", "-m", message]);
                self.push();
                self.head()
            }

            /// Pushes the work clone's `HEAD` to `main`, forced: the tests decide the history.
            fn push(&self) {
                let bare = self.bare.to_string_lossy().into_owned();
                git(
                    &self.work,
                    &["push", "--quiet", "--force", &bare, "HEAD:refs/heads/main"],
                );
            }

            fn head(&self) -> String {
                git(&self.work, &["rev-parse", "HEAD"])
            }
        }

        fn read(source: &GitSource, name: &str) -> Option<String> {
            std::fs::read_to_string(source.checkout_dir().join(name)).ok()
        }

        #[tokio::test]
        async fn first_fetch_and_checkout_give_the_branch() {
            let fixture = Fixture::new();
            let first = fixture.commit(
                &[
                    ("redis.yaml", Some("kind: Instance\nname: a\n")),
                    ("nested/b.yaml", Some("kind: Instance\nname: b\n")),
                ],
                "first",
            );
            let mut source = fixture.source();
            assert_eq!(source.applied(), None);
            assert_eq!(source.revision(), None);

            let fetched = source.fetch().await.unwrap();
            assert_eq!(fetched, first);
            // Fetching leaves the working tree alone.
            assert_eq!(read(&source, "redis.yaml"), None);
            assert_eq!(source.applied(), None);

            source.checkout(&fetched).await.unwrap();
            assert_eq!(source.applied(), Some(first.as_str()));
            assert_eq!(
                source.revision(),
                Some(Revision {
                    source: "git".to_owned(),
                    id: first.clone(),
                    author: Some("kvsync test <test@kvsync.invalid>".to_owned()),
                    subject: Some("first".to_owned()),
                })
            );
            assert_eq!(
                read(&source, "redis.yaml").as_deref(),
                Some("kind: Instance\nname: a\n")
            );
            assert!(read(&source, "nested/b.yaml").is_some());
            assert!(source.checkout_dir().starts_with(&fixture.cache));

            // Nothing new: the same commit again, and checking it out again is fine.
            assert_eq!(source.fetch().await.unwrap(), first);
            source.checkout(&first).await.unwrap();
            assert_eq!(source.applied(), Some(first.as_str()));

            // No unfinished clone is left next to the real one.
            let entries: Vec<_> = std::fs::read_dir(&fixture.cache).unwrap().collect();
            assert_eq!(entries.len(), 1);
        }

        #[tokio::test]
        async fn new_commits_move_forward_and_deleted_files_go() {
            let fixture = Fixture::new();
            let first = fixture.commit(
                &[("a.yaml", Some("name: a\n")), ("b.yaml", Some("name: b\n"))],
                "first",
            );
            let mut source = fixture.source();
            let fetched = source.fetch().await.unwrap();
            source.checkout(&fetched).await.unwrap();
            assert_eq!(source.applied(), Some(first.as_str()));
            // A stray file in the checkout goes too.
            std::fs::write(source.checkout_dir().join("stray.yaml"), "x").unwrap();

            fixture.commit(&[("c.yaml", Some("name: c\n"))], "second");
            let third =
                fixture.commit(&[("b.yaml", None), ("a.yaml", Some("name: a2\n"))], "third");
            let fetched = source.fetch().await.unwrap();
            assert_eq!(fetched, third);
            // Fetch did not touch the working tree.
            assert_eq!(read(&source, "a.yaml").as_deref(), Some("name: a\n"));

            source.checkout(&fetched).await.unwrap();
            assert_eq!(source.applied(), Some(third.as_str()));
            assert_eq!(read(&source, "a.yaml").as_deref(), Some("name: a2\n"));
            assert_eq!(read(&source, "b.yaml"), None);
            assert_eq!(read(&source, "c.yaml").as_deref(), Some("name: c\n"));
            assert_eq!(read(&source, "stray.yaml"), None);
        }

        #[tokio::test]
        async fn rewinds_and_force_pushes_are_refused() {
            let fixture = Fixture::new();
            let first = fixture.commit(&[("a.yaml", Some("name: a\n"))], "first");
            let second = fixture.commit(&[("a.yaml", Some("name: a2\n"))], "second");
            let mut source = fixture.source();
            let fetched = source.fetch().await.unwrap();
            source.checkout(&fetched).await.unwrap();
            assert_eq!(source.applied(), Some(second.as_str()));

            // A rewind to an older commit.
            git(&fixture.work, &["reset", "--quiet", "--hard", &first]);
            fixture.push();
            let fetched = source.fetch().await.unwrap();
            assert_eq!(fetched, first);
            let error = source.checkout(&fetched).await.unwrap_err();
            match &error {
                GitError::NotForward { applied, fetched } => {
                    assert_eq!(applied, &second);
                    assert_eq!(fetched, &first);
                }
                other => panic!("expected NotForward, got {other:?}"),
            }
            assert!(error.to_string().contains("force-push"), "{error}");
            assert_eq!(source.applied(), Some(second.as_str()));
            assert_eq!(read(&source, "a.yaml").as_deref(), Some("name: a2\n"));

            // A force-push of an unrelated history.
            git(&fixture.work, &["checkout", "--quiet", "--orphan", "other"]);
            git(&fixture.work, &["rm", "--quiet", "-r", "-f", "."]);
            let unrelated = fixture.commit(&[("z.yaml", Some("name: z\n"))], "unrelated");
            let fetched = source.fetch().await.unwrap();
            assert_eq!(fetched, unrelated);
            let error = source.checkout(&fetched).await.unwrap_err();
            assert!(
                matches!(&error, GitError::NotForward { applied, fetched }
                    if *applied == second && *fetched == unrelated),
                "{error:?}"
            );
            assert_eq!(source.applied(), Some(second.as_str()));
            assert_eq!(read(&source, "a.yaml").as_deref(), Some("name: a2\n"));
            assert_eq!(read(&source, "z.yaml"), None);
            let head = git(source.checkout_dir(), &["rev-parse", "HEAD"]);
            assert_eq!(head, second);
            assert_eq!(git(source.checkout_dir(), &["status", "--porcelain"]), "");

            // Once the branch comes back to a descendant, it moves again.
            git(&fixture.work, &["checkout", "--quiet", "main"]);
            git(&fixture.work, &["reset", "--quiet", "--hard", &second]);
            let fourth = fixture.commit(&[("d.yaml", Some("name: d\n"))], "fourth");
            let fetched = source.fetch().await.unwrap();
            assert_eq!(fetched, fourth);
            source.checkout(&fetched).await.unwrap();
            assert_eq!(source.applied(), Some(fourth.as_str()));
        }

        #[tokio::test]
        async fn a_restart_reuses_the_clone() {
            let fixture = Fixture::new();
            let first = fixture.commit(&[("a.yaml", Some("name: a\n"))], "first");
            let second = fixture.commit(&[("a.yaml", Some("name: a2\n"))], "second");
            let mut source = fixture.source();
            let fetched = source.fetch().await.unwrap();
            source.checkout(&fetched).await.unwrap();
            let marker = source
                .checkout_dir()
                .join(".git")
                .join("kvsync-test-marker");
            std::fs::write(&marker, "").unwrap();
            drop(source);

            let mut restarted = fixture.source();
            assert_eq!(restarted.applied(), None);
            let third = fixture.commit(&[("b.yaml", Some("name: b\n"))], "third");
            assert_eq!(restarted.fetch().await.unwrap(), third);
            assert!(marker.exists(), "the clone was made anew");
            // The first checkout after a restart is accepted, even a rewind.
            restarted.checkout(&first).await.unwrap();
            assert_eq!(restarted.applied(), Some(first.as_str()));
            assert_eq!(read(&restarted, "a.yaml").as_deref(), Some("name: a\n"));
            assert_eq!(read(&restarted, "b.yaml"), None);
            // After that, the forward-only rule holds again.
            restarted.checkout(&second).await.unwrap();
            restarted.checkout(&third).await.unwrap();
            assert!(matches!(
                restarted.checkout(&first).await,
                Err(GitError::NotForward { .. })
            ));
        }

        #[tokio::test]
        async fn bad_urls_branches_and_commits_fail_with_git_s_words() {
            let cache = tempfile::tempdir().unwrap();
            let mut source = GitSource::new(
                "file:///nonexistent/kvsync-test/manifests.git".to_owned(),
                "main".to_owned(),
                cache.path(),
            );
            let error = source.fetch().await.unwrap_err();
            match &error {
                GitError::Command(CommandError::Failed {
                    command,
                    status,
                    stderr,
                }) => {
                    assert!(command.starts_with("git clone "), "{command}");
                    assert!(!status.success());
                    assert!(stderr.contains("nonexistent"), "{stderr}");
                }
                other => panic!("expected Failed, got {other:?}"),
            }
            assert!(error.to_string().contains("fatal:"), "{error}");
            // Nothing is left behind, so the next poll clones afresh.
            assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);

            // A branch the repository does not have.
            let fixture = Fixture::new();
            fixture.commit(&[("a.yaml", Some("name: a\n"))], "first");
            let mut missing = GitSource::new(fixture.url(), "prod".to_owned(), &fixture.cache);
            let error = missing.fetch().await.unwrap_err();
            assert!(
                matches!(&error, GitError::Command(CommandError::Failed { stderr, .. }) if stderr.contains("prod")),
                "{error:?}"
            );

            // Names that are no branch names, or would read as options.
            for branch in ["-x", "a..b", "a b", ""] {
                let mut invalid = GitSource::new(fixture.url(), branch.to_owned(), &fixture.cache);
                assert!(
                    matches!(
                        invalid.fetch().await,
                        Err(GitError::Invalid { what: "branch", .. })
                    ),
                    "{branch:?}"
                );
            }
            let mut option = GitSource::new(
                "--upload-pack=x".to_owned(),
                "main".to_owned(),
                &fixture.cache,
            );
            assert!(matches!(
                option.fetch().await,
                Err(GitError::Invalid { what: "URL", .. })
            ));

            // A commit the clone does not have.
            let mut source = fixture.source();
            source.fetch().await.unwrap();
            let error = source.checkout(&"0".repeat(40)).await.unwrap_err();
            assert!(
                matches!(error, GitError::Command(CommandError::Failed { .. })),
                "{error:?}"
            );
            assert_eq!(source.applied(), None);
            assert!(matches!(
                source.checkout("--force").await,
                Err(GitError::Command(CommandError::Failed { .. }))
            ));
        }

        #[tokio::test]
        async fn credentials_stay_out_of_errors() {
            let cache = tempfile::tempdir().unwrap();
            // A local path: git reads no network, and fails.
            let url = "file://kvsync-user:hunter2-secret@localhost/nonexistent/kvsync/r.git";
            let mut source = GitSource::new(url.to_owned(), "main".to_owned(), cache.path());
            assert_eq!(
                source.display_url(),
                "file://localhost/nonexistent/kvsync/r.git"
            );
            let error = source.fetch().await.unwrap_err();
            assert!(
                matches!(error, GitError::Command(CommandError::Failed { .. })),
                "{error:?}"
            );
            for text in [
                error.to_string(),
                format!("{error:?}"),
                format!("{source:?}"),
            ] {
                assert!(!text.contains("hunter2"), "{text}");
                assert!(!text.contains("kvsync-user"), "{text}");
            }
        }

        #[tokio::test]
        async fn slow_commands_time_out() {
            let fixture = Fixture::new();
            fixture.commit(&[("a.yaml", Some("name: a\n"))], "first");
            let mut source = fixture.source().with_timeout(Duration::ZERO);
            let error = source.fetch().await.unwrap_err();
            assert!(
                matches!(&error, GitError::Command(CommandError::Timeout { command, .. }) if command.starts_with("git ")),
                "{error:?}"
            );
            assert!(error.to_string().contains("timed out"), "{error}");
        }
    }
}

//! The invalid-manifest corpus in `tests/fixtures/invalid/`: every file has exactly one defect,
//! and kvsync must refuse it with exit code 1, one error at the file, line and column its header
//! names, the rule and a message that says what is allowed, and without a single API call.
//!
//! Each fixture starts with comment lines the test reads:
//!
//! ```yaml
//! # A sentence saying what is wrong (optional, for people).
//! # expect: 12:5 unknown-field        <- line:column in this file, and the rule in error[...]
//! # message: unknown field `cidr`     <- text the message must contain
//! # env: ORDERS_REDIS_PASSWORD=...    <- optional, repeatable: environment for the run
//! ```
//!
//! A fixture is written to the run's directory byte for byte, so that encodings can be tested:
//! the header of a UTF-16 file (with its byte order mark) is read as UTF-16, and the header of
//! a file that is not UTF-8 is read from its leading valid lines.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{EmulatorProcess, kvsync, repo, run, texts};

/// The fewest fixtures the corpus may have.
const MIN_FIXTURES: usize = 130;

/// One fixture and what kvsync must say about it.
#[derive(Debug)]
struct Fixture {
    /// The file name, e.g. `05-unknown-account-entry-field.yaml`.
    name: String,
    bytes: Vec<u8>,
    line: u64,
    column: u64,
    rule: String,
    message: String,
    env: Vec<(String, String)>,
}

impl Fixture {
    /// Reads a fixture and its header; panics naming the file when the header is malformed.
    fn read(path: &Path) -> Fixture {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let text = header_text(&bytes);
        let mut expect = None;
        let mut message = None;
        let mut env = Vec::new();
        for comment in text.lines().map_while(|line| line.strip_prefix('#')) {
            let comment = comment.trim();
            if let Some(rest) = comment.strip_prefix("expect:") {
                let (at, rule) = rest
                    .trim()
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("{name}: `# expect: LINE:COLUMN RULE`"));
                let (line, column) = at
                    .split_once(':')
                    .and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)))
                    .unwrap_or_else(|| panic!("{name}: `# expect: LINE:COLUMN RULE`"));
                expect = Some((line, column, rule.trim().to_owned()));
            } else if let Some(rest) = comment.strip_prefix("message:") {
                message = Some(rest.trim().to_owned());
            } else if let Some(rest) = comment.strip_prefix("env:") {
                let (key, value) = rest
                    .trim()
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{name}: `# env: NAME=value`"));
                env.push((key.to_owned(), value.to_owned()));
            }
        }
        let (line, column, rule) = expect.unwrap_or_else(|| panic!("{name}: no `# expect:` line"));
        let message = message
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| panic!("{name}: no `# message:` line"));
        Fixture {
            name,
            bytes,
            line,
            column,
            rule,
            message,
            env,
        }
    }

    /// `NAME:LINE:COLUMN: error[RULE]:`, the start of the one error line kvsync must print.
    fn location(&self) -> String {
        format!(
            "{}:{}:{}: error[{}]:",
            self.name, self.line, self.column, self.rule
        )
    }

    /// What is wrong with kvsync's answer, if anything.
    fn problems(&self, output: &Output) -> Vec<String> {
        let (_, stderr) = texts(output);
        let mut problems = Vec::new();
        if output.status.code() != Some(1) {
            problems.push(format!("exit code {:?}, not 1", output.status.code()));
        }
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error[")).collect();
        if errors.len() != 1 {
            problems.push(format!("{} error lines, not exactly one", errors.len()));
        }
        match errors.iter().find(|l| l.starts_with(&self.location())) {
            None => problems.push(format!("no error line starting {:?}", self.location())),
            Some(error) if !error.contains(&self.message) => {
                problems.push(format!("the message does not contain {:?}", self.message));
            }
            Some(_) => {}
        }
        for (key, value) in &self.env {
            if stderr.contains(value.as_str()) {
                problems.push(format!("stderr shows the value of {key}"));
            }
        }
        problems
    }
}

/// The text of a fixture's header: UTF-16 decoded, or the valid UTF-8 lines.
fn header_text(bytes: &[u8]) -> String {
    let utf16 = |units: Vec<u16>| String::from_utf16_lossy(&units);
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(
            rest.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        ),
        [0xFE, 0xFF, rest @ ..] => utf16(
            rest.chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect(),
        ),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Every `*.yaml` fixture in `dir`, in name order.
fn fixtures(dir: &Path) -> Vec<Fixture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    paths.iter().map(|path| Fixture::read(path)).collect()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_invalid_manifest_is_refused_at_its_line_without_an_api_call() {
    let corpus = fixtures(&repo().join("tests/fixtures/invalid"));
    assert!(
        corpus.len() >= MIN_FIXTURES,
        "the corpus has {} fixtures; at least {MIN_FIXTURES} are expected",
        corpus.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut failures = Vec::new();
    for fixture in &corpus {
        // Each fixture alone in a directory, named by a relative path: kvsync prints it as is.
        let work = dir.path().join(fixture.name.trim_end_matches(".yaml"));
        std::fs::create_dir(&work).unwrap();
        std::fs::write(work.join(&fixture.name), &fixture.bytes).unwrap();
        for command in ["validate", "plan"] {
            let before = emulator.total_requests();
            let mut invocation = match command {
                "plan" => emulator.kvsync(&work),
                _ => kvsync(&work),
            };
            invocation.args([command, "-f", &fixture.name]);
            for (key, value) in &fixture.env {
                invocation.env(key, value);
            }
            let output = run(&mut invocation);
            let mut problems = fixture.problems(&output);
            let requests = emulator.total_requests() - before;
            if requests > 0 {
                problems.push(format!("the emulator received {requests} requests"));
            }
            if !problems.is_empty() {
                let (stdout, stderr) = texts(&output);
                let shown = if stderr.trim().is_empty() {
                    format!("stdout:\n{}", indent(&stdout))
                } else {
                    format!("stderr:\n{}", indent(&stderr))
                };
                failures.push(format!(
                    "{} (kvsync {command}): {}\n  expected: {} ... {}\n  {shown}",
                    fixture.name,
                    problems.join("; "),
                    fixture.location(),
                    fixture.message,
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs over {} fixtures went wrong:\n\n{}",
        failures.len(),
        corpus.len() * 2,
        corpus.len(),
        failures.join("\n\n")
    );
    assert_eq!(
        emulator.total_requests(),
        0,
        "the emulator received requests: {}",
        emulator.stats()
    );
}

//! Manifests: finding files, splitting documents, parsing and validating them into [`Desired`].
//!
//! [`load`] reads every `*.yaml`/`*.yml` under the given paths (sorted, each real file once,
//! only regular files of at most 4 MiB of UTF-8), refuses a file with no document unless it is
//! marked `# kvsync: intentionally empty`, parses each document strictly (unknown fields,
//! duplicate keys, wrong types, quoted booleans and numbers, non-`true`/`false` booleans, and
//! control or invisible characters in any text are errors), validates the vendor's rules, and
//! returns either the whole desired state with warnings (lookalike names) or every problem with
//! file:line:column. It never contacts the cloud.

pub mod desired;
pub mod diagnostics;
pub mod files;
mod locate;
pub mod raw;
pub mod rules;
pub mod schema;
pub mod text;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use self::desired::{Desired, DesiredInstance, InstanceKey};
use self::desired::{Source, Stack};
use self::diagnostics::{Collector, Severity};
pub use self::diagnostics::{Diagnostic, Diagnostics};
use self::files::{FindError, MANIFEST_LIMIT, ReadError};
use self::validate::{DefaultRegion, FileContext};
use kvsync_secrets::reference::{PathResolver, SecretRoots};
use kvsync_secrets::refusal::{self, RefusalKind};

/// The comment line that marks a manifest file with no document as intended.
pub const EMPTY_MARKER: &str = "# kvsync: intentionally empty";

/// Why manifests could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A path could not be read.
    #[error("reading manifests at {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest directory is a symlink loop.
    #[error(transparent)]
    Loop(FindError),
    /// A manifest file is not a regular file, or too large.
    #[error("reading manifest file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// A `--secrets-dir` cannot be used.
    #[error("--secrets-dir {path} is not a directory that can be read")]
    SecretsDir {
        /// The directory.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The paths hold no manifest files.
    #[error("no *.yaml or *.yml files found in {0}")]
    NoFiles(String),
    /// The manifests have errors.
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
}

impl From<FindError> for LoadError {
    fn from(err: FindError) -> Self {
        match err {
            FindError::Io { path, source } => LoadError::Io { path, source },
            other @ FindError::Loop { .. } => LoadError::Loop(other),
        }
    }
}

/// The manifest files `paths` name, each real file once (see [`files::find`]).
fn find(paths: &[PathBuf]) -> Result<Vec<files::Found>, LoadError> {
    let found = files::find(paths)?;
    if found.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError::NoFiles(shown.join(", ")));
    }
    Ok(found)
}

/// The files `paths` name: files as given, directories searched recursively for `*.yaml` and
/// `*.yml` (following symlinks), each directory's files in sorted order, each real file once.
/// Hidden entries (`.git`, `.kvsync`) are skipped.
pub fn find_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    Ok(find(paths)?.into_iter().map(|found| found.path).collect())
}

/// How [`load_with`] loads.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The region of instances that name none, before the stack's (`--region`).
    pub region: Option<String>,
    /// The region of instances that name none, when neither `region` nor the stack names one
    /// (the environment's or the aliyun profile's).
    pub fallback_region: Option<String>,
    /// Directories `{file:}` secrets may be read from besides the manifest root
    /// (`--secrets-dir`).
    pub secrets_dirs: Vec<PathBuf>,
}

/// Manifests that loaded, and the warnings about them.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// What they describe.
    pub desired: Desired,
    /// Things that are allowed but look wrong (lookalike names), in file and line order.
    pub warnings: Vec<Diagnostic>,
}

/// One manifest text to parse.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, as messages show it.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Where its `{file:}` secrets may be read from.
    pub roots: Arc<SecretRoots>,
}

/// How [`parse_inputs`] resolves paths and regions.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions<'a> {
    /// See [`LoadOptions::region`].
    pub region: Option<&'a str>,
    /// See [`LoadOptions::fallback_region`].
    pub fallback_region: Option<&'a str>,
    /// How secret paths are checked: [`PathResolver::REAL`] when loading files.
    pub resolver: PathResolver,
}

/// A `file:line:column` problem of a whole file.
fn file_error(
    path: &Path,
    line: u64,
    column: u64,
    rule: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        path: path.to_owned(),
        line,
        column,
        rule,
        message,
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
    (line, column)
}

/// A manifest's bytes as UTF-8 text (a UTF-8 byte order mark dropped), or where and why not.
fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    let encoding =
        |line, column, message: String| file_error(path, line, column, "encoding", message);
    for (bom, name) in [
        (&b"\xFF\xFE\x00\x00"[..], "UTF-32"),
        (&b"\x00\x00\xFE\xFF"[..], "UTF-32"),
        (&b"\xFF\xFE"[..], "UTF-16"),
        (&b"\xFE\xFF"[..], "UTF-16"),
    ] {
        if bytes.starts_with(bom) {
            return Err(encoding(
                1,
                1,
                format!(
                    "the file is {name} (it starts with a {name} byte order mark); manifests must be UTF-8, e.g. iconv -f {name} -t UTF-8"
                ),
            ));
        }
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let valid = String::from_utf8_lossy(&bytes[..offset]);
            let (line, column) = position(&valid, offset);
            return Err(encoding(
                line,
                column,
                format!(
                    "the file is not UTF-8: the byte 0x{:02X} here does not start a UTF-8 character; manifests must be UTF-8",
                    bytes[offset]
                ),
            ));
        }
    };
    if let Some(offset) = text.find('\0') {
        let (line, column) = position(&text, offset);
        return Err(encoding(
            line,
            column,
            "the file contains a NUL byte; manifests are UTF-8 text (NUL bytes often mean UTF-16 without a byte order mark)".to_owned(),
        ));
    }
    Ok(match text.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// The directories secrets may be read from for files under `root`.
fn secret_roots(root: &Path, extra: &[(PathBuf, PathBuf)]) -> SecretRoots {
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let lexical = kvsync_secrets::reference::normalize(&(PathResolver::REAL.absolute)(root));
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| lexical.clone());
    let (extra_lexical, extra_canonical): (Vec<PathBuf>, Vec<PathBuf>) =
        extra.iter().cloned().unzip();
    SecretRoots {
        lexical: std::iter::once(lexical).chain(extra_lexical).collect(),
        canonical: std::iter::once(canonical).chain(extra_canonical).collect(),
    }
}

/// One YAML document of a file and the number of lines before it.
#[derive(Debug, PartialEq, Eq)]
pub struct Document {
    /// Lines of the file before the document's first line.
    pub line_offset: u64,
    /// The document's text; its `---` marker, if any, is blanked out so columns stay true.
    pub text: String,
}

/// Splits a multi-document YAML stream at `---` and `...` markers in column 0 (which, by the
/// YAML grammar, always end a document, even inside block scalars). Documents with nothing but
/// blank lines and comments are dropped.
pub fn split_documents(text: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut start = 0u64;
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if is_marker(trimmed, "---") || is_marker(trimmed, "...") {
            documents.push(Document {
                line_offset: start,
                text: std::mem::take(&mut current),
            });
            start = index as u64;
            if is_marker(trimmed, "---") {
                current.push_str("   ");
                current.push_str(&line[3..]);
            } else {
                current.push('\n');
            }
            continue;
        }
        current.push_str(line);
    }
    documents.push(Document {
        line_offset: start,
        text: current,
    });
    documents.retain(|doc| {
        doc.text.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
    });
    documents
}

fn parse_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    }
}

/// The error serde-saphyr's wrappers (source snippets, alias locations) carry.
fn innermost(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match err {
            serde_saphyr::Error::WithSnippet { error, .. }
            | serde_saphyr::Error::AliasError { error, .. } => err = error,
            other => return other,
        }
    }
}

/// What a type error of serde-saphyr expected, in the manifest's words.
fn expected_text(what: &str) -> String {
    format!("expected {}", expected_words(what))
}

/// A type name of serde-saphyr or serde (`string scalar`, `u32`, `struct InstanceSpec`,
/// `a sequence`) in the manifest's words.
fn expected_words(what: &str) -> String {
    let words = match what {
        "string scalar" | "a string" | "string" => "a string",
        "sequence start" | "a sequence" | "sequence" => "a list",
        "mapping start" | "empty mapping start" | "a map" | "map" => "a mapping",
        "boolean" | "a boolean" => "true or false",
        "floating point" | "f32" | "f64" => "a number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32" | "i64" | "i128" => {
            "a whole number"
        }
        other if other.starts_with("struct ") || other.starts_with("map") => "a mapping",
        other if other.starts_with("enum ") || other.starts_with("variant") => {
            "one of the allowed names"
        }
        other => other,
    };
    words.to_owned()
}

/// A value serde describes (`integer \`5\``, `string "x"`, `a sequence`) in the manifest's
/// words.
fn found_words(unexpected: &str) -> String {
    let quoted = |prefix: &str| {
        unexpected
            .strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_owned())
    };
    if let Some(number) = quoted("integer ").or_else(|| quoted("floating point ")) {
        return number;
    }
    if let Some(text) = unexpected.strip_prefix("string ") {
        return format!("the string {text}");
    }
    if let Some(value) = quoted("boolean ") {
        return value;
    }
    match unexpected {
        "a sequence" | "sequence" => "a list".to_owned(),
        "a map" | "map" => "a mapping".to_owned(),
        "unit value" | "null" => "nothing (null)".to_owned(),
        other => other.to_owned(),
    }
}

/// `one of a, b, c`, or `nothing here` for an empty list.
fn one_of(expected: &[&str]) -> String {
    if expected.is_empty() {
        "nothing here".to_owned()
    } else {
        format!("one of {}", expected.join(", "))
    }
}

/// What tripped serde-saphyr's budget, for a message.
fn budget_text(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { nodes } => format!("more than {} values", nodes.saturating_sub(1)),
        B::Events { events } => format!("more than {} YAML events", events.saturating_sub(1)),
        B::Aliases { aliases } => format!("more than {} aliases", aliases.saturating_sub(1)),
        B::Anchors { anchors } => format!("more than {} anchors", anchors.saturating_sub(1)),
        B::Depth { depth } => format!("nesting {depth} levels deep"),
        B::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases of only {anchors} anchors")
        }
        B::ScalarBytes { .. } => "too much text".to_owned(),
        _ => "too many values".to_owned(),
    }
}

/// The rule and message of a YAML syntax error found by the scanner, classified by its kind.
fn scan_error(
    c: &mut Collector<'_>,
    scan: &serde_saphyr::granit_parser::ScanError,
    location: serde_saphyr::Location,
    text: &str,
) -> Option<(&'static str, String)> {
    use serde_saphyr::granit_parser::ErrorKind as K;
    let message = scan.info().to_string();
    match scan.kind() {
        K::TabNotAllowed
        | K::TabInBlockIndentation
        | K::TabInIndentation
        | K::TabAtBlockScalarStart
        | K::TabInPlainScalar => {
            let message = format!("{message}; indent with spaces, not tabs");
            match locate::tab_position(text, location.line(), location.column()) {
                Some((line, column)) => {
                    c.error_at_column(line, column, "syntax", message);
                    None
                }
                None => Some(("syntax", message)),
            }
        }
        K::BomInsideDocument => Some((
            "encoding",
            "a byte order mark (U+FEFF) inside the document; remove it".to_owned(),
        )),
        _ => Some(("syntax", message)),
    }
}

/// Records a serde-saphyr error about `text` (one document) as a diagnostic, with a rule
/// derived from its kind (the error's variant, never its text), at the place a reader should
/// look, in words about the manifest rather than about Rust types.
fn parse_error(c: &mut Collector<'_>, err: &serde_saphyr::Error, text: &str) {
    use serde_saphyr::{Error, ExternalMessageSource, MessageFormatter as _};

    let err = innermost(err);
    let mut location = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
    let too_complex = "the document is too large or too complex for a manifest";
    let (rule, message) = match err {
        Error::SerdeUnknownField {
            field, expected, ..
        } => (
            "unknown-field",
            format!("unknown field `{field}`, expected {}", one_of(expected)),
        ),
        Error::DuplicateMappingKey { key, .. } => (
            "duplicate-key",
            match key {
                Some(key) => format!("duplicate key `{key}`; a key may appear once in a mapping"),
                None => "duplicate key; a key may appear once in a mapping".to_owned(),
            },
        ),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            "allowed-values",
            format!(
                "{} is not allowed here; expected {}",
                rules::shown(variant),
                one_of(expected)
            ),
        ),
        Error::SerdeMissingField { field, .. } => {
            // Reported at the mapping's first key, not at its last (serde-saphyr's choice).
            let key = (location.line(), location.column());
            if let Some(start) = locate::mapping_start(text, parse_options(), key) {
                location = start;
            }
            ("required-field", format!("missing field `{field}`"))
        }
        Error::InvalidBooleanStrict { .. } => ("type", expected_text("boolean")),
        Error::InvalidScalar { ty, .. } => ("type", expected_text(ty)),
        Error::Unexpected { expected, .. } => ("type", expected_text(expected)),
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            "type",
            format!(
                "expected {}, found {}",
                expected_words(expected),
                found_words(unexpected)
            ),
        ),
        Error::SerdeInvalidLength { len, expected, .. } => (
            "type",
            format!("expected {}, found {len} entries", expected_words(expected)),
        ),
        Error::NullIntoString { .. } | Error::InvalidCharNull { .. } => (
            "type",
            "expected a string, found nothing (an empty value or null)".to_owned(),
        ),
        Error::NonFiniteFloat { value, .. } => {
            ("type", format!("expected a finite number, found {value}"))
        }
        // kvsync's own refusals (from the strict scalar and secret reference types) by the kind
        // they recorded; any other message is the YAML library's.
        Error::Message { msg, .. } => match refusal::kind_of(msg) {
            Some(RefusalKind::SecretReference) => ("secret-reference", msg.clone()),
            Some(RefusalKind::Type) => ("type", msg.clone()),
            None => ("syntax", msg.clone()),
        },
        Error::Budget { breach, .. } => (
            "yaml-budget",
            match breach {
                serde_saphyr::budget::BudgetBreach::Depth { .. } => format!(
                    "{too_complex} ({}); manifests nest a few levels deep",
                    budget_text(breach)
                ),
                _ => format!(
                    "{too_complex} ({}, aliases expanded); write the values out without so many aliases",
                    budget_text(breach)
                ),
            },
        ),
        Error::AliasReplayCounterOverflow { .. }
        | Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::RecursiveReferencesRequireWeakTypes { .. } => (
            "yaml-budget",
            format!(
                "{too_complex} (its aliases expand too far); write the values out without so many aliases"
            ),
        ),
        Error::UnknownAnchor { .. } => (
            "syntax",
            "an alias (*name) that refers to no anchor (&name) before it".to_owned(),
        ),
        Error::MultipleDocuments { .. } => (
            "syntax",
            "a second YAML document starts here; documents are separated by a line ---".to_owned(),
        ),
        Error::Eof { .. } => ("syntax", "the document ends unexpectedly".to_owned()),
        Error::MergeKeyNotAllowed { .. } | Error::MergeValueNotMapOrSeqOfMaps { .. } => (
            "syntax",
            "a merge key (<<) must merge a mapping or a list of mappings".to_owned(),
        ),
        Error::InvalidUtf8Input => (
            "encoding",
            "the file is not UTF-8; manifests must be UTF-8".to_owned(),
        ),
        Error::ExternalMessage { source, msg, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(scan) => match scan_error(c, scan, location, text) {
                Some(found) => found,
                None => return,
            },
            _ => ("syntax", msg.clone()),
        },
        other => (
            "syntax",
            serde_saphyr::UserMessageFormatter
                .format_message(other)
                .into_owned(),
        ),
    };
    c.error(location, rule, message);
}

/// The kinds of document kvsync reads.
pub const KINDS: &[&str] = &["Instance", "Stack", "Account", "Whitelist"];

/// Loads and validates every manifest under `paths`. Instances that name no region get the
/// stack's region, else `fallback_region`. `{file:}` secrets are confined to the manifest root.
/// Warnings are logged; [`load_with`] returns them.
pub fn load(paths: &[PathBuf], fallback_region: Option<&str>) -> Result<Desired, LoadError> {
    let options = LoadOptions {
        region: None,
        fallback_region: fallback_region.map(str::to_owned),
        secrets_dirs: Vec::new(),
    };
    let loaded = load_with(paths, &options)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.desired)
}

/// Loads and validates every manifest under `paths` (see [`load`]), returning the warnings.
pub fn load_with(paths: &[PathBuf], options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut extra = Vec::new();
    for dir in &options.secrets_dirs {
        let canonical = std::fs::canonicalize(dir)
            .and_then(|real| {
                if real.is_dir() {
                    Ok(real)
                } else {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        "not a directory",
                    ))
                }
            })
            .map_err(|source| LoadError::SecretsDir {
                path: dir.clone(),
                source,
            })?;
        let lexical = kvsync_secrets::reference::normalize(&(PathResolver::REAL.absolute)(dir));
        extra.push((lexical, canonical));
    }
    let mut roots: BTreeMap<PathBuf, Arc<SecretRoots>> = BTreeMap::new();
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for found in find(paths)? {
        let bytes =
            files::read_regular(&found.real, MANIFEST_LIMIT).map_err(|source| LoadError::Read {
                path: found.path.clone(),
                source,
            })?;
        match decode(&found.path, bytes) {
            Ok(text) => {
                let roots = roots
                    .entry(found.root.clone())
                    .or_insert_with(|| Arc::new(secret_roots(&found.root, &extra)))
                    .clone();
                inputs.push(Input {
                    path: found.path,
                    text,
                    roots,
                });
            }
            Err(problem) => problems.push(problem),
        }
    }
    let parse_options = ParseOptions {
        region: options.region.as_deref(),
        fallback_region: options.fallback_region.as_deref(),
        resolver: PathResolver::REAL,
    };
    match parse_inputs(&inputs, parse_options) {
        Ok(loaded) if problems.is_empty() => Ok(loaded),
        Ok(loaded) => {
            problems.extend(loaded.warnings);
            Err(sorted(problems).into())
        }
        Err(Diagnostics(found)) => {
            problems.extend(found);
            Err(sorted(problems).into())
        }
    }
}

fn sorted(mut found: Vec<Diagnostic>) -> Diagnostics {
    found.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    Diagnostics(found)
}

/// A `kind: Stack` document as read: parsed, or broken with what could be recovered of it.
enum StackRead {
    Parsed(Box<raw::StackDoc>),
    Broken(DefaultRegion),
}

/// The region a Stack document that failed to parse still names, read leniently: the region
/// if it is valid, `Missing` if there is none, `Unknown` if it cannot be told.
fn recover_stack_region(text: &str) -> DefaultRegion {
    match serde_saphyr::from_str_with_options::<raw::StackRegionOnly>(text, parse_options()) {
        Ok(doc) => match doc.spec.and_then(|spec| spec.region) {
            None => DefaultRegion::Missing,
            Some(region) if rules::region_problem(&region).is_none() => {
                DefaultRegion::Region(region)
            }
            Some(_) => DefaultRegion::Unknown,
        },
        Err(_) => DefaultRegion::Unknown,
    }
}

/// Parses and validates manifest texts (`(path, text)` pairs, in order) without touching the
/// file system: the pure part of [`load`]. Each file's `{file:}` secrets are checked lexically
/// against its directory; no file secret of the result can be read (only [`load`] knows where
/// they may be read from). Warnings are dropped.
pub fn parse(
    sources: &[(PathBuf, String)],
    fallback_region: Option<&str>,
) -> Result<Desired, Diagnostics> {
    let inputs: Vec<Input> = sources
        .iter()
        .map(|(path, text)| Input {
            path: path.clone(),
            text: text.clone(),
            roots: Arc::new(SecretRoots {
                lexical: vec![kvsync_secrets::reference::normalize(
                    path.parent().unwrap_or_else(|| Path::new("")),
                )],
                canonical: Vec::new(),
            }),
        })
        .collect();
    let options = ParseOptions {
        region: None,
        fallback_region,
        resolver: PathResolver::LEXICAL,
    };
    parse_inputs(&inputs, options).map(|loaded| loaded.desired)
}

/// What validating the documents of `input` needs to know about the file.
fn context(input: &Input, resolver: PathResolver) -> FileContext<'_> {
    FileContext {
        dir: input.path.parent().unwrap_or_else(|| Path::new("")),
        roots: input.roots.clone(),
        resolver,
    }
}

/// Whether a file with no document says that it is meant to be empty.
fn marked_empty(text: &str) -> bool {
    text.lines().any(|line| line.trim() == EMPTY_MARKER)
}

/// Refuses every control or invisible character in the strings of a document (keys and
/// values); returns whether any was found.
fn refuse_invisible(c: &mut Collector<'_>, text: &str) -> bool {
    let Some(strings) = locate::strings(text, parse_options()) else {
        return false;
    };
    let mut any = false;
    for (at, value) in strings {
        if let Some((index, character, kind)) = text::first_invisible(&value) {
            any = true;
            c.error(
                at,
                "character",
                format!(
                    "{} contains {kind}, U+{:04X}, as character {}; control and invisible characters are not allowed in manifests, because they can hide or reorder what a reviewer sees",
                    rules::shown(&value),
                    u32::from(character),
                    index + 1
                ),
            );
        }
    }
    any
}

/// Parses and validates manifest texts, in order: the pure part of [`load_with`], with paths
/// resolved by `options.resolver`. On failure the diagnostics hold the warnings too.
pub fn parse_inputs(inputs: &[Input], options: ParseOptions<'_>) -> Result<Loaded, Diagnostics> {
    let fallback_region = options.fallback_region;
    let mut found = Vec::new();
    let mut instance_docs: Vec<(usize, u64, raw::InstanceDoc)> = Vec::new();
    let mut stacks: Vec<(PathBuf, u64, serde_saphyr::Location, StackRead)> = Vec::new();
    let mut account_docs: Vec<(usize, u64, raw::AccountDoc)> = Vec::new();
    let mut whitelist_docs: Vec<(PathBuf, u64, raw::WhitelistDoc)> = Vec::new();

    for (index, input) in inputs.iter().enumerate() {
        let path = &input.path;
        let documents = split_documents(&input.text);
        if documents.is_empty() && !marked_empty(&input.text) {
            found.push(file_error(
                path,
                1,
                1,
                "empty-file",
                format!(
                    "the file holds no document, so it describes no instance (it is empty, or has only comments and --- markers) and every instance it described would be dropped; describe at least one document, or mark the file with a line {EMPTY_MARKER:?}"
                ),
            ));
        }
        for document in documents {
            let mut c = Collector::new(path, document.line_offset, &mut found);
            let text = document.text.as_str();
            let header: serde_saphyr::Spanned<raw::Header> =
                match serde_saphyr::from_str_with_options(text, parse_options()) {
                    Ok(header) => header,
                    Err(err) => {
                        parse_error(&mut c, &err, text);
                        continue;
                    }
                };
            refuse_invisible(&mut c, text);
            let Some(kind) = header.value.kind else {
                c.error(
                    header.referenced,
                    "kind",
                    format!("the document has no kind; allowed: {}", KINDS.join(", ")),
                );
                continue;
            };
            let offset = document.line_offset;
            match kind.value.as_str() {
                "Instance" => match serde_saphyr::from_str_with_options(text, parse_options()) {
                    Ok(doc) => instance_docs.push((index, offset, doc)),
                    Err(err) => parse_error(&mut c, &err, text),
                },
                "Stack" => {
                    let read = match serde_saphyr::from_str_with_options(text, parse_options()) {
                        Ok(doc) => StackRead::Parsed(Box::new(doc)),
                        Err(err) => {
                            parse_error(&mut c, &err, text);
                            StackRead::Broken(recover_stack_region(text))
                        }
                    };
                    stacks.push((path.clone(), offset, kind.referenced, read));
                }
                "Account" => match serde_saphyr::from_str_with_options(text, parse_options()) {
                    Ok(doc) => account_docs.push((index, offset, doc)),
                    Err(err) => parse_error(&mut c, &err, text),
                },
                "Whitelist" => match serde_saphyr::from_str_with_options(text, parse_options()) {
                    Ok(doc) => whitelist_docs.push((path.clone(), offset, doc)),
                    Err(err) => parse_error(&mut c, &err, text),
                },
                other => c.error(
                    kind.referenced,
                    "kind",
                    format!(
                        "kind {} is not known; allowed: {}",
                        rules::shown(other),
                        KINDS.join(", ")
                    ),
                ),
            }
        }
    }

    let mut stack = Stack::default();
    let mut stack_region = DefaultRegion::Missing;
    let mut first_stack: Option<String> = None;
    for (path, offset, kind_at, read) in stacks {
        let mut c = Collector::new(&path, offset, &mut found);
        if let Some(first) = &first_stack {
            c.error(
                kind_at,
                "stack",
                format!("a second kind: Stack document; the first is at {first}"),
            );
            continue;
        }
        first_stack = Some(c.source(kind_at).to_string());
        match read {
            StackRead::Parsed(doc) => (stack, stack_region) = validate::stack(&mut c, *doc),
            StackRead::Broken(region) => stack_region = region,
        }
    }

    // `--region`, else the stack's, else the environment's or profile's.
    let default_region = match (options.region, stack_region) {
        (Some(region), _) => DefaultRegion::Region(region.to_owned()),
        (None, DefaultRegion::Missing) => match fallback_region {
            Some(region) => DefaultRegion::Region(region.to_owned()),
            None => DefaultRegion::Missing,
        },
        (None, known) => known,
    };
    if let DefaultRegion::Region(region) = &default_region {
        stack.region = Some(region.clone());
    }
    let mut instances: BTreeMap<InstanceKey, DesiredInstance> = BTreeMap::new();
    let mut sites: BTreeMap<InstanceKey, validate::Sites> = BTreeMap::new();
    let mut skeletons: BTreeMap<String, (String, Source)> = BTreeMap::new();
    for (index, offset, doc) in instance_docs {
        let input = &inputs[index];
        let files = context(input, options.resolver);
        let mut c = Collector::new(&input.path, offset, &mut found);
        let name_at = doc.metadata.value.name.referenced;
        let Some((instance, instance_sites)) =
            validate::instance(&mut c, doc, &files, &default_region)
        else {
            continue;
        };
        if let Some(first) = instances.get(&instance.key) {
            c.error(
                name_at,
                "duplicate-instance",
                format!(
                    "instance {} is already described at {}",
                    instance.key, first.source
                ),
            );
            continue;
        }
        let name = &instance.key.name;
        match skeletons.get(&text::skeleton(name)) {
            Some((other, at)) if other != name => c.warning(
                name_at,
                "confusable",
                format!(
                    "instance name {} looks like the instance name {} at {at} (Unicode UTS #39 confusables); they are two different instances",
                    rules::shown(name),
                    rules::shown(other)
                ),
            ),
            Some(_) => {}
            None => {
                skeletons.insert(
                    text::skeleton(name),
                    (name.clone(), instance.source.clone()),
                );
            }
        }
        sites.insert(instance.key.clone(), instance_sites);
        instances.insert(instance.key.clone(), instance);
    }

    let mut attached = Vec::new();
    for (index, offset, doc) in account_docs {
        let input = &inputs[index];
        let files = context(input, options.resolver);
        let mut c = Collector::new(&input.path, offset, &mut found);
        attached.extend(validate::attached::account(
            &mut c,
            doc,
            &files,
            &default_region,
        ));
    }
    for (path, offset, doc) in whitelist_docs {
        let mut c = Collector::new(&path, offset, &mut found);
        attached.extend(validate::attached::whitelist(&mut c, doc, &default_region));
    }
    validate::attached::merge(&mut instances, &mut sites, attached, &mut found);
    let no_sites = validate::Sites::default();
    for instance in instances.values() {
        let instance_sites = sites.get(&instance.key).unwrap_or(&no_sites);
        validate::attached::check_merged(instance, instance_sites, &mut found);
    }

    // One error per place: where a character is refused, other rules about the same text
    // would only repeat the problem.
    let refused: BTreeSet<(PathBuf, u64, u64)> = found
        .iter()
        .filter(|d| d.rule == "character")
        .map(|d| (d.path.clone(), d.line, d.column))
        .collect();
    found.retain(|d| {
        d.rule == "character"
            || d.severity == Severity::Warning
            || !refused.contains(&(d.path.clone(), d.line, d.column))
    });
    let found = sorted(found);
    if found.0.iter().any(|d| d.severity == Severity::Error) {
        return Err(found);
    }
    Ok(Loaded {
        desired: Desired {
            stack,
            instances: instances.into_values().collect(),
        },
        warnings: found.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_markers_with_line_offsets() {
        let text = "# header\n---\na: 1\n---  # c\nb: 2\n...\n---\n# only a comment\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line_offset, 1);
        assert!(docs[0].text.contains("a: 1"));
        assert_eq!(docs[1].line_offset, 3);
        assert!(docs[1].text.contains("b: 2"));
    }

    #[test]
    fn a_file_without_markers_is_one_document() {
        let docs = split_documents("a: 1\nb: 2\n");
        assert_eq!(
            docs,
            vec![Document {
                line_offset: 0,
                text: "a: 1\nb: 2\n".into()
            }]
        );
    }

    #[test]
    fn markers_need_column_zero_and_a_separator() {
        let docs = split_documents("a: |\n  ---\n---x: 1\n");
        assert_eq!(docs.len(), 1);
    }

    const INSTANCE: &str = "apiVersion: kvsync/v1
kind: Instance
metadata:
  name: orders-cache
  region: cn-hangzhou
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
";

    /// Every diagnostic of `text` as `LINE:COLUMN RULE: MESSAGE`.
    fn problems(text: &str, fallback_region: Option<&str>) -> Vec<String> {
        let sources = [(PathBuf::from("t.yaml"), text.to_owned())];
        match parse(&sources, fallback_region) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics
                .0
                .iter()
                .map(|d| format!("{}:{} {}: {}", d.line, d.column, d.rule, d.message))
                .collect(),
        }
    }

    fn only(text: &str) -> String {
        let found = problems(text, None);
        assert_eq!(found.len(), 1, "{found:#?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn the_base_instance_is_valid() {
        assert_eq!(problems(INSTANCE, None), Vec::<String>::new());
    }

    #[test]
    fn missing_fields_are_reported_at_the_first_key_of_their_mapping() {
        let text = INSTANCE.replace("  name: orders-cache\n", "");
        assert_eq!(only(&text), "4:3 required-field: missing field `name`");
        let text = INSTANCE.replace("apiVersion: kvsync/v1\n", "# comment\n\n");
        assert_eq!(
            only(&text),
            "3:1 required-field: missing field `apiVersion`"
        );
        let text = INSTANCE.replace(
            "  name: orders-cache\n  region: cn-hangzhou\n",
            "  {region: cn-hangzhou, labels: {a: b}}\n",
        );
        let text = text.replace("metadata:\n ", "metadata:");
        assert_eq!(only(&text), "3:12 required-field: missing field `name`");
    }

    #[test]
    fn a_document_without_kind_is_reported_at_its_first_key() {
        let text = format!("---\n# about\n{}", INSTANCE.replace("kind: Instance\n", ""));
        assert!(
            only(&text).starts_with("3:1 kind: the document has no kind"),
            "{text}"
        );
    }

    #[test]
    fn quoted_booleans_and_numbers_are_type_errors() {
        let text = format!("{INSTANCE}  releaseProtection: \"true\"\n");
        assert_eq!(
            only(&text),
            "9:22 type: expected true or false, found the string \"true\""
        );
        let text = format!("{INSTANCE}  chargeType: PrePaid\n  period: \"12\"\n");
        assert_eq!(
            only(&text),
            "10:11 type: expected a whole number, found the string \"12\""
        );
        let text =
            format!("{INSTANCE}  releaseProtection: true\n  chargeType: PrePaid\n  period: 12\n");
        assert_eq!(problems(&text, None), Vec::<String>::new());
    }

    #[test]
    fn type_errors_name_what_is_allowed() {
        let text = INSTANCE.replace("  engineVersion: \"5.0\"\n", "  zoneId: [a, b]\n");
        assert_eq!(only(&text), "8:11 type: expected a string");
        let text = format!("{INSTANCE}  whitelists: [1.2.3.4]\n");
        assert_eq!(only(&text), "9:15 type: expected a mapping");
        let text = format!("{INSTANCE}  backupPolicy: {{time: 02:00Z-03:00Z, period: Monday}}\n");
        assert_eq!(only(&text), "9:47 type: expected a list");
    }

    #[test]
    fn a_tab_is_reported_at_the_tab() {
        let text = INSTANCE.replace("  region: cn-hangzhou", "\tregion: cn-hangzhou");
        let found = only(&text);
        assert!(found.starts_with("5:1 syntax: "), "{found}");
    }

    #[test]
    fn secret_reference_problems_point_at_the_name_or_path() {
        let text = format!("{INSTANCE}  password: {{env: orders-pw}}\n");
        let found = only(&text);
        assert!(
            found.starts_with(
                "9:19 secret-reference: \"orders-pw\" is not an environment variable name"
            ),
            "{found}"
        );
        let text = format!(
            "{INSTANCE}  accounts:\n    - name: app\n      password:\n        file: \"\"\n"
        );
        let found = only(&text);
        assert!(
            found.starts_with("12:15 secret-reference: the secret file path is empty"),
            "{found}"
        );
    }

    #[test]
    fn a_stack_with_an_error_still_names_the_default_region() {
        let stack = "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: shop}\nspec:\n  region: cn-hangzhou\n";
        let instance = INSTANCE.replace("  region: cn-hangzhou\n", "");
        let account = "apiVersion: kvsync/v1\nkind: Account\nmetadata: {name: app, instance: orders-cache}\nspec: {}\n";
        for (broken, expected) in [
            ("  prune: on\n", "6:10 type: expected true or false"),
            (
                "  parallelism: 0\n",
                "6:16 parallelism: spec.parallelism must be 1 to 64",
            ),
        ] {
            let text = format!("{stack}{broken}---\n{instance}---\n{account}");
            let found = problems(&text, None);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(found[0].starts_with(expected), "{found:#?}");
        }
        // A region that is itself wrong: one error, none for the documents relying on it.
        let text = format!(
            "{}---\n{instance}---\n{account}",
            stack.replace("cn-hangzhou", "Hangzhou")
        );
        let found = problems(&text, None);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("5:11 region: "), "{found:#?}");
        let text = format!(
            "{}---\n{instance}",
            stack.replace("  region: cn-hangzhou\n", "  region: [cn-hangzhou]\n")
        );
        let found = problems(&text, None);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("5:11 type: expected a string"),
            "{found:#?}"
        );
        // A broken stack without a region leaves the fallback region in force.
        let text = format!(
            "{}  prune: on\n---\n{instance}",
            stack.replace("  region: cn-hangzhou\n", "")
        );
        assert_eq!(problems(&text, Some("cn-hangzhou")).len(), 1);
    }

    #[test]
    fn merged_rules_point_at_the_part_they_are_about() {
        let account = "apiVersion: kvsync/v1\nkind: Account\nmetadata:\n  name: replica\n  instance: orders-cache\n  region: cn-hangzhou\nspec:\n  privilege: RoleRepl\n";
        // Lines 1-8 the instance, 9 the marker, 10-17 the account.
        let cluster = INSTANCE.replace("master", "sharding");
        let found = only(&format!("{cluster}---\n{account}"));
        assert!(
            found.starts_with("17:14 privilege: RoleRepl is allowed only on standard"),
            "{found}"
        );
        let old = INSTANCE.replace("5.0", "2.8");
        let found = only(&format!("{old}---\n{account}"));
        assert!(
            found.starts_with("13:9 accounts: accounts need engine version 4.0 or later"),
            "{found}"
        );
        let listed =
            format!("{old}  accounts:\n    - name: app\n      privilege: RoleRepl\n---\n{account}");
        let found = only(&listed.replace("name: replica", "name: other"));
        assert!(
            found.starts_with("10:5 accounts: accounts need engine version 4.0 or later"),
            "{found}"
        );
    }

    #[test]
    fn a_valid_stack_keeps_its_settings() {
        let stack = "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: shop}\nspec: {region: cn-beijing, prune: true, parallelism: 4, qps: 2.5}\n";
        let instance = INSTANCE.replace("  region: cn-hangzhou\n", "");
        let sources = [(PathBuf::from("t.yaml"), format!("{stack}---\n{instance}"))];
        let desired = parse(&sources, None).unwrap();
        assert_eq!(desired.stack.name, "shop");
        assert_eq!(desired.stack.region.as_deref(), Some("cn-beijing"));
        assert!(desired.stack.prune);
        assert_eq!(desired.stack.parallelism, Some(4));
        assert_eq!(desired.stack.qps, Some(2.5));
        assert_eq!(desired.instances[0].key.region, "cn-beijing");
    }

    /// Parses `texts` as files `a.yaml`, `b.yaml`, ... and returns the warnings, or panics.
    fn warnings(texts: &[&str]) -> Vec<String> {
        let inputs: Vec<Input> = texts
            .iter()
            .enumerate()
            .map(|(n, text)| Input {
                path: PathBuf::from(format!("{}.yaml", char::from(b'a' + n as u8))),
                text: (*text).to_owned(),
                roots: Arc::default(),
            })
            .collect();
        let options = ParseOptions {
            region: None,
            fallback_region: None,
            resolver: PathResolver::LEXICAL,
        };
        match parse_inputs(&inputs, options) {
            Ok(loaded) => loaded
                .warnings
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}:{} {}: {}",
                        d.path.display(),
                        d.line,
                        d.column,
                        d.rule,
                        d.message
                    )
                })
                .collect(),
            Err(errors) => panic!("{errors}"),
        }
    }

    #[test]
    fn issue_empty_files_are_errors_unless_marked() {
        for empty in [
            "",
            "\n",
            "# only a comment\n",
            "---\n",
            "---\n...\n---\n# c\n",
        ] {
            let found = problems(empty, None);
            assert_eq!(found.len(), 1, "{empty:?}: {found:#?}");
            assert!(
                found[0].starts_with("1:1 empty-file: the file holds no document"),
                "{found:#?}"
            );
            assert!(found[0].contains(EMPTY_MARKER), "{found:#?}");
        }
        let marked = format!("---\n  {EMPTY_MARKER}\n");
        assert_eq!(problems(&marked, None), Vec::<String>::new());
        // One empty file among valid ones is still an error: it would drop its instances.
        let sources = [
            (PathBuf::from("a.yaml"), INSTANCE.to_owned()),
            (PathBuf::from("b.yaml"), String::new()),
        ];
        let err = parse(&sources, None).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].path, PathBuf::from("b.yaml"));
    }

    #[test]
    fn issue_messages_name_the_manifest_not_the_library() {
        let text = format!("{INSTANCE}  chargeType: PrePaid\n  period: 12.0\n");
        assert_eq!(
            only(&text),
            "10:11 type: expected a whole number, found 12.0"
        );
        let text = INSTANCE.replace("  name: orders-cache\n", "  name:\n");
        assert_eq!(
            only(&text),
            "4:7 type: expected a string, found nothing (an empty value or null)"
        );
        let text = INSTANCE.replace(
            "spec:\n  instanceClass: redis.master.small.default\n  engineVersion: \"5.0\"\n",
            "spec: 5\n",
        );
        assert_eq!(only(&text), "6:7 type: expected a mapping");
        let text = format!("{INSTANCE}  ssl: Maybe\n");
        assert_eq!(
            only(&text),
            "9:8 allowed-values: \"Maybe\" is not allowed here; expected one of Enable, Disable"
        );
        let text = format!("{INSTANCE}  zoneId: *nowhere\n");
        assert!(only(&text).starts_with("9:11 syntax: an alias (*name) that refers to no anchor"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f"])
        {
            let list = vec![format!("*{previous}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{list}]\n"));
        }
        let found = only(&format!("{bomb}kind: Instance\n"));
        assert!(
            found.contains("yaml-budget: the document is too large or too complex"),
            "{found}"
        );
        for text in [text.as_str(), bomb.as_str()] {
            for leak in problems(text, None) {
                for internal in [
                    "Option<",
                    "from_str",
                    "budget breached",
                    "Nodes {",
                    "struct ",
                    "variant",
                ] {
                    assert!(!leak.contains(internal), "{leak}");
                }
            }
        }
    }

    #[test]
    fn issue_invisible_characters_are_refused_where_they_are() {
        let cases = [
            (
                "  name: orders-cache\n",
                "  name: \"orders\\u200Bcache\"\n",
                "4:9",
                "a zero-width character, U+200B, as character 7",
            ),
            (
                "  region: cn-hangzhou\n",
                "  region: cn-hangzhou\n  labels: {\"te\\x01am\": orders}\n",
                "6:12",
                "a control character, U+0001",
            ),
            (
                "  region: cn-hangzhou\n",
                "  region: cn-hangzhou\n  labels: {team: \"ord\\u202Eers\"}\n",
                "6:18",
                "a bidirectional control character, U+202E",
            ),
        ];
        for (from, to, at, what) in cases {
            let found = only(&INSTANCE.replace(from, to));
            assert!(found.starts_with(&format!("{at} character: ")), "{found}");
            assert!(found.contains(what), "{found}");
        }
        let account = format!(
            "{INSTANCE}  accounts:\n    - name: \"app\\u2066rw\"\n      description: \"orders \\u202E service\"\n"
        );
        let found = problems(&account, None);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("10:13 character: "), "{found:#?}");
        assert!(found[1].starts_with("11:20 character: "), "{found:#?}");
    }

    #[test]
    fn issue_lookalike_names_are_warned_about() {
        let cyrillic = INSTANCE.replace("orders-cache", "orders-c\u{430}che");
        let found = warnings(&[INSTANCE, &cyrillic]);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("b.yaml:4:9 confusable: metadata.name \"orders-cаche\" mixes letters of the scripts Cyrillic, Latin"), "{found:#?}");
        assert!(found[1].starts_with("b.yaml:4:9 confusable: instance name \"orders-cаche\" looks like the instance name \"orders-cache\" at a.yaml:4:9"), "{found:#?}");
        // The same name in two regions is not a lookalike.
        let beijing = INSTANCE.replace("cn-hangzhou", "cn-beijing");
        assert_eq!(warnings(&[INSTANCE, &beijing]), Vec::<String>::new());
        let labels = INSTANCE.replace(
            "  region: cn-hangzhou\n",
            "  region: cn-hangzhou\n  labels: {team: a, te\u{430}m: b}\n",
        );
        let found = warnings(&[&labels]);
        assert!(
            found
                .iter()
                .any(|w| w.contains("looks like the label key \"team\"")),
            "{found:#?}"
        );
    }

    #[test]
    fn issue_manifests_must_be_utf8() {
        let at = |bytes: &[u8]| {
            let d = decode(Path::new("x.yaml"), bytes.to_vec()).unwrap_err();
            format!("{}:{} {}: {}", d.line, d.column, d.rule, d.message)
        };
        assert!(at(b"\xFF\xFEa\x00").starts_with("1:1 encoding: the file is UTF-16"));
        assert!(at(b"\xFE\xFF\x00a").starts_with("1:1 encoding: the file is UTF-16"));
        assert!(
            at(b"a: 1\nname: caf\xE9\n")
                .starts_with("2:10 encoding: the file is not UTF-8: the byte 0xE9")
        );
        assert!(at(b"a: 1\n\x00b\n").starts_with("2:1 encoding: the file contains a NUL byte"));
        assert_eq!(
            decode(Path::new("x.yaml"), b"\xEF\xBB\xBFa: 1\n".to_vec()).unwrap(),
            "a: 1\n"
        );
    }

    #[test]
    fn issue_credential_variables_and_escaping_file_secrets_are_refused() {
        let text = format!("{INSTANCE}  password: {{env: ALIBABA_CLOUD_ACCESS_KEY_SECRET}}\n");
        assert!(only(&text).starts_with("9:19 secret-reference: ALIBABA_CLOUD_ACCESS_KEY_SECRET holds kvsync's own cloud credentials"));
        for path in ["/etc/shadow", "../outside", "a/../../outside"] {
            let text = format!("{INSTANCE}  password: {{file: {path}}}\n");
            let found = only(&text);
            assert!(
                found.starts_with("9:20 secret-file: the secret file "),
                "{found}"
            );
            assert!(
                found.contains("is outside the directories secrets may be read from"),
                "{found}"
            );
        }
        let text = format!("{INSTANCE}  password: {{file: secrets/pw}}\n");
        assert_eq!(problems(&text, None), Vec::<String>::new());
    }
}

//! Manifests: finding files, splitting documents, parsing and validating them into [`Desired`].
//!
//! [`load`] reads every `*.yaml`/`*.yml` under the given paths (sorted), parses each document
//! strictly (unknown fields, duplicate keys, wrong types and non-`true`/`false` booleans are
//! errors), validates the vendor's rules, and returns either the whole desired state or every
//! problem with file:line:column. It never contacts the cloud.

pub mod desired;
pub mod diagnostics;
pub mod raw;
pub mod rules;
pub mod schema;
pub mod secret;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use self::desired::Stack;
pub use self::desired::{Desired, DesiredInstance, InstanceKey};
use self::diagnostics::Collector;
pub use self::diagnostics::{Diagnostic, Diagnostics};

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
    /// The paths hold no manifest files.
    #[error("no *.yaml or *.yml files found in {0}")]
    NoFiles(String),
    /// The manifests have errors.
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
}

/// The files `paths` name: files as given, directories searched recursively for `*.yaml` and
/// `*.yml`, each directory's files in sorted order. Hidden entries (`.git`, `.kvsync`) are
/// skipped.
pub fn find_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            collect_dir(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError::NoFiles(shown.join(", ")));
    }
    Ok(files)
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            collect_dir(&entry, files)?;
        } else if entry
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(entry);
        }
    }
    Ok(())
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

/// Records a serde-saphyr error as a diagnostic, with a rule derived from its kind.
fn parse_error(c: &mut Collector<'_>, err: &serde_saphyr::Error) {
    let location = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
    let mut message = err.without_snippet().to_string();
    let suffix = format!(" at line {}, column {}", location.line(), location.column());
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_owned();
    }
    let rule = if message.starts_with("unknown field") {
        "unknown-field"
    } else if message.starts_with("duplicate mapping key") {
        message = message
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(&message)
            .to_owned();
        "duplicate-key"
    } else if message.starts_with("unknown variant") {
        "allowed-values"
    } else if message.starts_with("missing field") {
        "required-field"
    } else if message.starts_with("invalid boolean") {
        message = "expected true or false".into();
        "type"
    } else if message.contains("literal secret") || message.contains("secret reference") {
        "secret-reference"
    } else if message.starts_with("invalid") || message.starts_with("expected") {
        "type"
    } else {
        "syntax"
    };
    c.error(location, rule, message);
}

/// The kinds of document kvsync reads.
pub const KINDS: &[&str] = &["Instance", "Stack", "Account", "Whitelist"];

/// Loads and validates every manifest under `paths`. Instances that name no region get the
/// stack's region, else `fallback_region` (the `--region` flag).
pub fn load(paths: &[PathBuf], fallback_region: Option<&str>) -> Result<Desired, LoadError> {
    let mut sources = Vec::new();
    for path in find_files(paths)? {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        sources.push((path, text));
    }
    Ok(parse(&sources, fallback_region)?)
}

/// Parses and validates manifest texts (`(path, text)` pairs, in order) without touching the
/// file system: the pure part of [`load`].
pub fn parse(
    sources: &[(PathBuf, String)],
    fallback_region: Option<&str>,
) -> Result<Desired, Diagnostics> {
    let mut found = Vec::new();
    let mut instance_docs = Vec::new();
    let mut stacks: Vec<(PathBuf, u64, raw::StackDoc)> = Vec::new();
    let mut account_docs = Vec::new();
    let mut whitelist_docs = Vec::new();

    for (path, text) in sources {
        for document in split_documents(text) {
            let mut c = Collector::new(path, document.line_offset, &mut found);
            let header: raw::Header =
                match serde_saphyr::from_str_with_options(&document.text, parse_options()) {
                    Ok(header) => header,
                    Err(err) => {
                        parse_error(&mut c, &err);
                        continue;
                    }
                };
            let Some(kind) = header.kind else {
                c.error(
                    serde_saphyr::Location::UNKNOWN,
                    "kind",
                    format!("the document has no kind; allowed: {}", KINDS.join(", ")),
                );
                continue;
            };
            match kind.value.as_str() {
                "Instance" => {
                    match serde_saphyr::from_str_with_options::<raw::InstanceDoc>(
                        &document.text,
                        parse_options(),
                    ) {
                        Ok(doc) => instance_docs.push((path.clone(), document.line_offset, doc)),
                        Err(err) => parse_error(&mut c, &err),
                    }
                }
                "Stack" => {
                    match serde_saphyr::from_str_with_options::<raw::StackDoc>(
                        &document.text,
                        parse_options(),
                    ) {
                        Ok(doc) => stacks.push((path.clone(), document.line_offset, doc)),
                        Err(err) => parse_error(&mut c, &err),
                    }
                }
                "Account" => {
                    match serde_saphyr::from_str_with_options::<raw::AccountDoc>(
                        &document.text,
                        parse_options(),
                    ) {
                        Ok(doc) => account_docs.push((path.clone(), document.line_offset, doc)),
                        Err(err) => parse_error(&mut c, &err),
                    }
                }
                "Whitelist" => {
                    match serde_saphyr::from_str_with_options::<raw::WhitelistDoc>(
                        &document.text,
                        parse_options(),
                    ) {
                        Ok(doc) => whitelist_docs.push((path.clone(), document.line_offset, doc)),
                        Err(err) => parse_error(&mut c, &err),
                    }
                }
                other => c.error(
                    kind.referenced,
                    "kind",
                    format!("kind {other:?} is not known; allowed: {}", KINDS.join(", ")),
                ),
            }
        }
    }

    let mut stack = Stack::default();
    let mut first_stack: Option<String> = None;
    for (path, offset, doc) in stacks {
        let mut c = Collector::new(&path, offset, &mut found);
        let at = doc.kind.referenced;
        if let Some(first) = &first_stack {
            c.error(
                at,
                "stack",
                format!("a second kind: Stack document; the first is at {first}"),
            );
            continue;
        }
        first_stack = Some(format!("{}:{}", path.display(), c.file_line(at)));
        if let Some((validated, _)) = validate::stack(&mut c, doc) {
            stack = validated;
        }
    }

    if stack.region.is_none() {
        stack.region = fallback_region.map(str::to_owned);
    }
    let mut instances: BTreeMap<InstanceKey, DesiredInstance> = BTreeMap::new();
    for (path, offset, doc) in instance_docs {
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let mut c = Collector::new(&path, offset, &mut found);
        let name_at = doc.metadata.value.name.referenced;
        let Some(instance) = validate::instance(&mut c, doc, &dir, stack.region.as_deref()) else {
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
        instances.insert(instance.key.clone(), instance);
    }

    let mut attached = Vec::new();
    let default_region = stack.region.clone();
    for (path, offset, doc) in account_docs {
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let mut c = Collector::new(&path, offset, &mut found);
        attached.extend(validate::attached::account(
            &mut c,
            doc,
            &dir,
            default_region.as_deref(),
        ));
    }
    for (path, offset, doc) in whitelist_docs {
        let mut c = Collector::new(&path, offset, &mut found);
        attached.extend(validate::attached::whitelist(
            &mut c,
            doc,
            default_region.as_deref(),
        ));
    }
    validate::attached::merge(&mut instances, attached, &mut found);
    for instance in instances.values() {
        validate::attached::check_merged(instance, &mut found);
    }

    if !found.is_empty() {
        found.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
        return Err(Diagnostics(found));
    }
    Ok(Desired {
        stack,
        instances: instances.into_values().collect(),
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
}

//! Manifests: finding files, splitting documents, parsing and validating them into [`Desired`].
//!
//! [`load`] reads every `*.yaml`/`*.yml` under the given paths (sorted), parses each document
//! strictly (unknown fields, duplicate keys, wrong types, quoted booleans and numbers, and
//! non-`true`/`false` booleans are errors), validates the vendor's rules, and returns either the
//! whole desired state or every problem with file:line:column. It never contacts the cloud.

pub mod desired;
pub mod diagnostics;
mod locate;
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
use self::validate::DefaultRegion;

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

/// An error's message without serde-saphyr's trailing ` at line L, column C`.
fn bare_message(err: &serde_saphyr::Error, location: serde_saphyr::Location) -> String {
    let message = err.to_string();
    let suffix = format!(" at line {}, column {}", location.line(), location.column());
    match message.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => message,
    }
}

/// What a type error of serde-saphyr expected, in the manifest's words.
fn expected_text(what: &str) -> String {
    let allowed = match what {
        "string scalar" => "a string",
        "sequence start" => "a list",
        "mapping start" | "empty mapping start" => "a mapping",
        "boolean" => "true or false",
        "floating point" => "a number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32" | "i64" | "i128" => {
            "a whole number"
        }
        other => other,
    };
    format!("expected {allowed}")
}

/// Records a serde-saphyr error about `text` (one document) as a diagnostic, with a rule
/// derived from its kind, at the place a reader should look.
fn parse_error(c: &mut Collector<'_>, err: &serde_saphyr::Error, text: &str) {
    use serde_saphyr::Error;

    let err = innermost(err);
    let mut location = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
    let message = bare_message(err, location);
    let (rule, message) = match err {
        Error::SerdeUnknownField { .. } => ("unknown-field", message),
        Error::DuplicateMappingKey { .. } => {
            let message = message
                .split(", set DuplicateKeyPolicy")
                .next()
                .unwrap_or(&message)
                .to_owned();
            ("duplicate-key", message)
        }
        Error::SerdeUnknownVariant { .. } => ("allowed-values", message),
        Error::SerdeMissingField { .. } => {
            // Reported at the mapping's first key, not at its last (serde-saphyr's choice).
            let key = (location.line(), location.column());
            if let Some(start) = locate::mapping_start(text, parse_options(), key) {
                location = start;
            }
            ("required-field", message)
        }
        Error::InvalidBooleanStrict { .. } => ("type", expected_text("boolean")),
        Error::InvalidScalar { ty, .. } => ("type", expected_text(ty)),
        Error::Unexpected { expected, .. } => ("type", expected_text(expected)),
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => ("type", format!("expected {expected}, found {unexpected}")),
        Error::SerdeInvalidValue { .. } | Error::SerdeInvalidLength { .. } => ("type", message),
        Error::Message { msg, .. }
            if msg.contains("literal secret") || msg.contains("secret reference") =>
        {
            ("secret-reference", message)
        }
        Error::Message { msg, .. } if msg.starts_with("expected ") => ("type", message),
        _ => {
            if message.contains("tab")
                && let Some((line, column)) =
                    locate::tab_position(text, location.line(), location.column())
            {
                c.error_at_column(line, column, "syntax", message);
                return;
            }
            ("syntax", message)
        }
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
/// file system: the pure part of [`load`].
pub fn parse(
    sources: &[(PathBuf, String)],
    fallback_region: Option<&str>,
) -> Result<Desired, Diagnostics> {
    let mut found = Vec::new();
    let mut instance_docs: Vec<(PathBuf, u64, raw::InstanceDoc)> = Vec::new();
    let mut stacks: Vec<(PathBuf, u64, serde_saphyr::Location, StackRead)> = Vec::new();
    let mut account_docs: Vec<(PathBuf, u64, raw::AccountDoc)> = Vec::new();
    let mut whitelist_docs: Vec<(PathBuf, u64, raw::WhitelistDoc)> = Vec::new();

    for (path, text) in sources {
        for document in split_documents(text) {
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
                    Ok(doc) => instance_docs.push((path.clone(), offset, doc)),
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
                    Ok(doc) => account_docs.push((path.clone(), offset, doc)),
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

    let default_region = match stack_region {
        DefaultRegion::Missing => match fallback_region {
            Some(region) => DefaultRegion::Region(region.to_owned()),
            None => DefaultRegion::Missing,
        },
        known => known,
    };
    if let DefaultRegion::Region(region) = &default_region {
        stack.region = Some(region.clone());
    }
    let mut instances: BTreeMap<InstanceKey, DesiredInstance> = BTreeMap::new();
    let mut sites: BTreeMap<InstanceKey, validate::Sites> = BTreeMap::new();
    for (path, offset, doc) in instance_docs {
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let mut c = Collector::new(&path, offset, &mut found);
        let name_at = doc.metadata.value.name.referenced;
        let Some((instance, instance_sites)) =
            validate::instance(&mut c, doc, &dir, &default_region)
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
        sites.insert(instance.key.clone(), instance_sites);
        instances.insert(instance.key.clone(), instance);
    }

    let mut attached = Vec::new();
    for (path, offset, doc) in account_docs {
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let mut c = Collector::new(&path, offset, &mut found);
        attached.extend(validate::attached::account(
            &mut c,
            doc,
            &dir,
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
}

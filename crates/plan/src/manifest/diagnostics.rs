//! Manifest errors and warnings, each with file, line, column and the rule it is about.

use std::fmt;
use std::path::{Path, PathBuf};

use super::desired::Source;

/// Whether a diagnostic stops the manifests from being used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Severity {
    /// The manifests are refused.
    #[default]
    Error,
    /// Shown, but the manifests are used.
    Warning,
}

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// A short identifier of the rule, e.g. `unknown-field`, `instance-name`.
    pub rule: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// A problem at `source`.
    pub fn at(source: &Source, rule: &'static str, message: String) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: source.path.clone(),
            line: source.line,
            column: source.column,
            rule,
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // The message may quote manifest text: nothing invisible is printed raw.
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            super::text::escape_invisible(&self.path.display().to_string()),
            self.line,
            self.column,
            self.rule,
            super::text::escape_invisible(&self.message)
        )
    }
}

/// Every problem found in a manifest set, in file and line order.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let count = self
            .0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        write!(
            f,
            "{count} error{} in the manifests; nothing was sent to the cloud",
            if count == 1 { "" } else { "s" }
        )
    }
}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub struct Collector<'a> {
    path: &'a Path,
    /// Added to every line (the document's first line within the file, minus one).
    line_offset: u64,
    found: &'a mut Vec<Diagnostic>,
}

impl<'a> Collector<'a> {
    /// A collector for a document starting after `line_offset` lines of `path`.
    pub fn new(path: &'a Path, line_offset: u64, found: &'a mut Vec<Diagnostic>) -> Self {
        Collector {
            path,
            line_offset,
            found,
        }
    }

    /// Records a problem at a location within the document.
    pub fn error(
        &mut self,
        at: serde_saphyr::Location,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        let source = self.source(at);
        self.found
            .push(Diagnostic::at(&source, rule, message.into()));
    }

    /// Records a warning at a location within the document.
    pub fn warning(
        &mut self,
        at: serde_saphyr::Location,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        let source = self.source(at);
        let mut diagnostic = Diagnostic::at(&source, rule, message.into());
        diagnostic.severity = Severity::Warning;
        self.found.push(diagnostic);
    }

    /// Records a problem at a 1-based line and column within the document.
    pub fn error_at_column(
        &mut self,
        line: u64,
        column: u64,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        let source = Source {
            path: self.path.to_owned(),
            line: line + self.line_offset,
            column,
        };
        self.found
            .push(Diagnostic::at(&source, rule, message.into()));
    }

    /// Where a location within the document is in the file (the document's first line when
    /// the location is unknown).
    pub fn source(&self, at: serde_saphyr::Location) -> Source {
        let (line, column) = if at.line() == 0 {
            (self.line_offset + 1, 1)
        } else {
            (at.line() + self.line_offset, at.column())
        };
        Source {
            path: self.path.to_owned(),
            line,
            column,
        }
    }

    /// How many errors have been recorded so far (in all files).
    pub fn count(&self) -> usize {
        self.found
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.path
    }
}

//! The one diagnostic shape every stage produces.
//!
//! Stages never fail: they return their result plus a list of [`Diagnostic`]s, so that the
//! checker and the language server see every problem in a file at once. The CLI renders these
//! with miette; the language server turns them into LSP diagnostics.

use crate::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span in a file with a short message, shown under the marked text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Label {
    /// Path of the file the span points into (as given to the compiler).
    pub file: String,
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// Stable code, `E0001`… for errors and `W0001`… for warnings; documented in
    /// `docs/diagnostics.md`.
    pub code: &'static str,
    pub severity: Severity,
    /// Lowercase, no trailing period; user input in backticks.
    pub message: String,
    /// The main place: the file and span the message is about.
    pub primary: Label,
    /// Related places (a previous definition, the `@pii` field of a flow…).
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, file: &str, span: Span, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, file, span, message)
    }

    pub fn warning(code: &'static str, file: &str, span: Span, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, file, span, message)
    }

    fn new(
        code: &'static str,
        severity: Severity,
        file: &str,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            primary: Label {
                file: file.to_owned(),
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// The text shown under the primary span.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn with_secondary(mut self, file: &str, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            file: file.to_owned(),
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

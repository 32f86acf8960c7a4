//! Diagnostics whose spans are relative to an item, resolved to absolute positions only when
//! they are handed out (see `rebase.rs` for why).

use crate::db::SourceFile;
use cbp_syntax::{Severity, Span};

/// A place in the program: a span in a file, relative to the start of item `item` (by index in
/// the file) or absolute when `item` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: SourceFile,
    pub item: Option<u32>,
    pub span: Span,
}

impl Loc {
    pub fn with_span(self, span: Span) -> Loc {
        Loc { span, ..self }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocDiag {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Loc,
    pub label: String,
    pub secondary: Vec<(Loc, String)>,
    pub help: Option<String>,
}

impl LocDiag {
    pub fn error(code: &'static str, at: Loc, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, at, message.into())
    }

    pub fn warning(code: &'static str, at: Loc, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, at, message.into())
    }

    fn new(code: &'static str, severity: Severity, at: Loc, message: String) -> Self {
        LocDiag {
            code,
            severity,
            message,
            primary: at,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = text.into();
        self
    }

    pub fn secondary(mut self, at: Loc, text: impl Into<String>) -> Self {
        self.secondary.push((at, text.into()));
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub fn help_opt(mut self, text: Option<String>) -> Self {
        if text.is_some() {
            self.help = text;
        }
        self
    }
}

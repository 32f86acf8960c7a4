//! Turning [`Diagnostic`]s into text: miette's graphical report for people, one JSON object per
//! line for machines.

use cbp_syntax::{Diagnostic, Label, Severity, line_col};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::fmt;

/// Where the text of a file named in a diagnostic comes from.
pub trait Sources {
    fn text(&self, file: &str) -> Option<String>;
}

impl Sources for cbp_check::Compiler {
    fn text(&self, file: &str) -> Option<String> {
        self.source(file)
    }
}

/// How diagnostics are drawn for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Colours, for a terminal.
    Colour,
    /// Plain Unicode at a fixed width: for pipes, logs and snapshot tests.
    Plain,
}

/// Renders one diagnostic as miette draws it: code, message, the source lines with the spans
/// marked, related places in other files, and the help line.
pub fn render_human(diagnostic: &Diagnostic, sources: &dyn Sources, style: Style) -> String {
    let report = Report::new(diagnostic, sources);
    let theme = match style {
        Style::Colour => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // miette only fails when writing to the String fails, which it cannot; fall back to
        // the plain line so that nothing is ever lost.
        out = plain_line(diagnostic, sources);
    }
    out
}

/// `file:line:col: error[E0001]: message` — the one-line form.
pub fn plain_line(diagnostic: &Diagnostic, sources: &dyn Sources) -> String {
    let (line, col) = position(&diagnostic.primary, sources).0;
    format!(
        "{}:{line}:{col}: {}[{}]: {}",
        diagnostic.primary.file,
        severity_word(diagnostic.severity),
        diagnostic.code,
        diagnostic.message
    )
}

/// The machine-readable form: one JSON object per diagnostic.
pub fn render_json(diagnostic: &Diagnostic, sources: &dyn Sources) -> String {
    let primary = JsonLabel::new(&diagnostic.primary, sources);
    let json = JsonDiagnostic {
        code: diagnostic.code,
        severity: diagnostic.severity,
        message: &diagnostic.message,
        file: &diagnostic.primary.file,
        line: primary.line,
        column: primary.column,
        end_line: primary.end_line,
        end_column: primary.end_column,
        labels: std::iter::once(primary)
            .chain(
                diagnostic
                    .secondary
                    .iter()
                    .map(|l| JsonLabel::new(l, sources)),
            )
            .collect(),
        help: diagnostic.help.as_deref(),
    };
    serde_json::to_string(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// ((line, col), (end_line, end_col)), 1-based.
fn position(label: &Label, sources: &dyn Sources) -> ((usize, usize), (usize, usize)) {
    match sources.text(&label.file) {
        Some(text) => (
            line_col(&text, label.span.start),
            line_col(&text, label.span.end),
        ),
        None => ((0, 0), (0, 0)),
    }
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    start: u32,
    end: u32,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
}

impl<'a> JsonLabel<'a> {
    fn new(label: &'a Label, sources: &dyn Sources) -> Self {
        let ((line, column), (end_line, end_column)) = position(label, sources);
        JsonLabel {
            file: &label.file,
            start: label.span.start,
            end: label.span.end,
            line,
            column,
            end_line,
            end_column,
            message: &label.message,
        }
    }
}

/// A diagnostic in the shape miette wants: one source file, its labels, and the labels that
/// point into other files as related reports.
struct Report {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(diagnostic: &Diagnostic, sources: &dyn Sources) -> Self {
        let file = &diagnostic.primary.file;
        let mut labels = vec![labeled(&diagnostic.primary, true)];
        let mut related = Vec::new();
        for label in &diagnostic.secondary {
            if &label.file == file {
                labels.push(labeled(label, false));
            } else {
                related.push(Report {
                    code: String::new(),
                    severity: miette::Severity::Advice,
                    message: if label.message.is_empty() {
                        "related".to_owned()
                    } else {
                        label.message.clone()
                    },
                    help: None,
                    source: source_of(&label.file, sources),
                    labels: vec![labeled(label, true)],
                    related: Vec::new(),
                });
            }
        }
        Report {
            code: diagnostic.code.to_owned(),
            severity: match diagnostic.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            source: source_of(file, sources),
            labels,
            related,
        }
    }
}

fn source_of(file: &str, sources: &dyn Sources) -> Option<NamedSource<String>> {
    sources.text(file).map(|text| NamedSource::new(file, text))
}

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let span = SourceSpan::new((label.span.start as usize).into(), label.span.len());
    let text = (!label.message.is_empty()).then(|| label.message.clone());
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

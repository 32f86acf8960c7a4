//! Compiler diagnostics → LSP diagnostics (code, severity, help, secondary labels as related
//! information).

use crate::text::{LineIndex, uri_of};
use cbp_check::Compiler;
use tower_lsp_server::gen_lsp_types as lsp;

/// The diagnostics of one file, ready to publish.
pub fn for_file(compiler: &Compiler, path: &str) -> Vec<lsp::Diagnostic> {
    let Some(text) = compiler.source(path) else {
        return Vec::new();
    };
    let index = LineIndex::new(&text);
    compiler
        .file_diagnostics(path)
        .iter()
        .map(|d| convert(compiler, &index, d))
        .collect()
}

fn convert(
    compiler: &Compiler,
    index: &LineIndex<'_>,
    d: &cbp_check::Diagnostic,
) -> lsp::Diagnostic {
    let mut message = d.message.clone();
    if !d.primary.message.is_empty() {
        message.push_str(&format!("\n{}", d.primary.message));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|label| {
            let range = if label.file == d.primary.file {
                index.range(label.span)
            } else {
                let text = compiler.source(&label.file)?;
                LineIndex::new(&text).range(label.span)
            };
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri: uri_of(&label.file),
                    range,
                },
                message: label.message.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: index.range(d.primary.span),
        severity: Some(match d.severity {
            cbp_check::Severity::Error => lsp::DiagnosticSeverity::Error,
            cbp_check::Severity::Warning => lsp::DiagnosticSeverity::Warning,
        }),
        code: Some(lsp::Code::String(d.code.to_owned())),
        code_description: None,
        source: Some("cbpc".to_owned()),
        message: lsp::Message::String(message),
        tags: None,
        related_information: (!related.is_empty()).then_some(related),
        data: d.help.clone().map(serde_json::Value::String),
    }
}

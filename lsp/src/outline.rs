//! Document symbols, workspace symbols and folding ranges: the shape of the files.

use crate::analysis::Analysis;
use crate::text::LineIndex;
use cbp_syntax::{Span, ast};
use tower_lsp_server::gen_lsp_types as lsp;

fn kind(item: &ast::Item) -> lsp::SymbolKind {
    match item {
        ast::Item::Enum(_) => lsp::SymbolKind::Enum,
        ast::Item::Record(_) => lsp::SymbolKind::Struct,
        ast::Item::Message(_) => lsp::SymbolKind::Event,
        ast::Item::Plugin(_) => lsp::SymbolKind::Module,
        ast::Item::Authority(_) | ast::Item::System(_) => lsp::SymbolKind::Object,
        ast::Item::Action(_) => lsp::SymbolKind::Interface,
        ast::Item::Const(_) => lsp::SymbolKind::Constant,
        ast::Item::Fn(_) => lsp::SymbolKind::Function,
        ast::Item::Rule(_) | ast::Item::Report(_) | ast::Item::Test(_) | ast::Item::Error(_) => {
            lsp::SymbolKind::Method
        }
    }
}

fn keyword(item: &ast::Item) -> &'static str {
    match item {
        ast::Item::Enum(_) => "enum",
        ast::Item::Record(_) => "record",
        ast::Item::Message(m) => m.kind.keyword(),
        ast::Item::Plugin(_) => "plugin",
        ast::Item::Authority(_) => "authority",
        ast::Item::System(_) => "system",
        ast::Item::Action(_) => "action",
        ast::Item::Const(_) => "const",
        ast::Item::Fn(_) => "fn",
        ast::Item::Rule(_) => "rule",
        ast::Item::Report(_) => "report",
        ast::Item::Test(_) => "test",
        ast::Item::Error(_) => "",
    }
}

fn name_and_span(item: &ast::Item) -> Option<(String, Span)> {
    match item {
        ast::Item::Test(t) => Some((format!("test \"{}\"", t.name.value), t.name.span)),
        _ => item.name().map(|n| (n.name.clone(), n.span)),
    }
}

#[allow(deprecated)] // `deprecated` is a required field of the generated struct
fn symbol(
    index: &LineIndex<'_>,
    name: String,
    detail: Option<String>,
    kind: lsp::SymbolKind,
    span: Span,
    name_span: Span,
    children: Vec<lsp::DocumentSymbol>,
) -> lsp::DocumentSymbol {
    lsp::DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: index.range(span),
        selection_range: index.range(name_span),
        children: (!children.is_empty()).then_some(children),
    }
}

pub fn document_symbols(a: &Analysis<'_>, path: &str) -> Vec<lsp::DocumentSymbol> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    let index = LineIndex::new(&data.text);
    let mut out = Vec::new();
    for item in &data.parsed.file.items {
        let Some((name, name_span)) = name_and_span(item) else {
            continue;
        };
        let mut children = Vec::new();
        let fields = match item {
            ast::Item::Record(r) => r.fields.as_slice(),
            ast::Item::Message(m) => m.fields.as_slice(),
            ast::Item::Action(a) => a.params.as_slice(),
            _ => &[],
        };
        for f in fields {
            let detail = Some(data.text.get(f.ty.span().range()).unwrap_or("").to_owned());
            children.push(symbol(
                &index,
                f.name.name.clone(),
                detail,
                lsp::SymbolKind::Field,
                f.span,
                f.name.span,
                Vec::new(),
            ));
        }
        if let ast::Item::Enum(e) = item {
            for v in &e.variants {
                children.push(symbol(
                    &index,
                    v.name.name.clone(),
                    None,
                    lsp::SymbolKind::EnumMember,
                    v.span,
                    v.name.span,
                    Vec::new(),
                ));
            }
        }
        let detail = Some(keyword(item).to_owned());
        out.push(symbol(
            &index,
            name,
            detail,
            kind(item),
            item.span(),
            name_span,
            children,
        ));
    }
    out
}

/// Items of every file (std included) whose name contains `query`, case-insensitively.
pub fn workspace_symbols(a: &Analysis<'_>, query: &str) -> Vec<lsp::WorkspaceSymbol> {
    let query = query.to_lowercase();
    let mut out = Vec::new();
    for path in a.compiler.paths() {
        let Some(data) = a.file(&path) else {
            continue;
        };
        let index = LineIndex::new(&data.text);
        let package = crate::resolve::package_of(&data.parsed.file);
        for item in &data.parsed.file.items {
            let Some((name, span)) = name_and_span(item) else {
                continue;
            };
            if !name.to_lowercase().contains(&query) {
                continue;
            }
            out.push(lsp::WorkspaceSymbol {
                location: lsp::WorkspaceSymbolLocation::Location(lsp::Location {
                    uri: crate::text::uri_of(&path),
                    range: index.range(span),
                }),
                data: None,
                base_symbol_information: lsp::BaseSymbolInformation {
                    name,
                    kind: kind(item),
                    tags: None,
                    container_name: (!package.is_empty()).then(|| package.clone()),
                },
            });
        }
    }
    out
}

/// Multi-line items and blocks, and runs of comment lines.
pub fn folding_ranges(a: &Analysis<'_>, path: &str) -> Vec<lsp::FoldingRange> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    let index = LineIndex::new(&data.text);
    let mut spans: Vec<(Span, Option<lsp::FoldingRangeKind>)> = Vec::new();
    let file = &data.parsed.file;
    if let (Some(first), Some(last)) = (file.imports.first(), file.imports.last()) {
        spans.push((
            first.span.to(last.span),
            Some(lsp::FoldingRangeKind::Imports),
        ));
    }
    for item in &file.items {
        spans.push((item.span(), None));
        if let ast::Item::Rule(r) = item {
            for c in &r.clauses {
                match c {
                    ast::RuleClause::Then(_)
                    | ast::RuleClause::OnOutcome(_)
                    | ast::RuleClause::NoResponse(_) => spans.push((c.span(), None)),
                    _ => {}
                }
            }
        }
        if let ast::Item::Test(t) = item {
            for s in &t.steps {
                if let ast::TestStep::Send(s) = s {
                    spans.push((s.span, None));
                }
            }
        }
    }
    // Consecutive comment lines fold together.
    let mut run: Option<Span> = None;
    for c in &data.parsed.comments {
        run = match run {
            Some(r) if index.position(c.span.start).line == index.position(r.end).line + 1 => {
                Some(r.to(c.span))
            }
            Some(r) => {
                spans.push((r, Some(lsp::FoldingRangeKind::Comment)));
                Some(c.span)
            }
            None => Some(c.span),
        };
    }
    if let Some(r) = run {
        spans.push((r, Some(lsp::FoldingRangeKind::Comment)));
    }
    let mut out: Vec<lsp::FoldingRange> = spans
        .into_iter()
        .filter_map(|(span, kind)| {
            let range = index.range(span);
            (range.end.line > range.start.line).then_some(lsp::FoldingRange {
                start_line: range.start.line,
                start_character: None,
                end_line: range.end.line,
                end_character: None,
                kind,
                collapsed_text: None,
            })
        })
        .collect();
    out.sort_by_key(|r| (r.start_line, r.end_line));
    out.dedup_by_key(|r| (r.start_line, r.end_line));
    out
}

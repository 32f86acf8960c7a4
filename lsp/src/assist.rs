//! Code actions ("did you mean" fixes, and those of `fixes.rs`), signature help for function calls, and inlay hints:
//! quantities whose unit is `m` (minutes or metres, decided by the expected type) and the
//! inferred types of bindings whose type is not written (`let x = …`, `const X = …`).

use crate::analysis::Analysis;
use crate::describe;
use crate::text::{LineIndex, uri_of};
use cbp_check::hir::{self, ItemKind};
use cbp_syntax::{Span, ast};
use std::collections::HashMap;
use tower_lsp_server::gen_lsp_types as lsp;

/// The suggestion of a help line `did you mean `x`?`.
pub fn suggestion(help: &str) -> Option<&str> {
    let rest = &help[help.find("did you mean `")? + "did you mean `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// Quick fixes for the diagnostics of `path` overlapping `span`.
pub fn code_actions(a: &Analysis<'_>, path: &str, span: Span) -> Vec<lsp::CodeAction> {
    let Some(text) = a.compiler.source(path) else {
        return Vec::new();
    };
    let index = LineIndex::new(&text);
    let converted = crate::diagnostics::for_file(a.compiler, path);
    let mut out = Vec::new();
    for (d, lsp_d) in a.compiler.file_diagnostics(path).iter().zip(converted) {
        let p = d.primary.span;
        if p.end < span.start || span.end < p.start {
            continue;
        }
        let mut fixes = crate::fixes::fixes(a, path, d);
        if let Some(fix) = d.help.as_deref().and_then(suggestion) {
            fixes.insert(
                0,
                crate::fixes::Fix {
                    title: format!("replace with `{fix}`"),
                    edits: vec![(p, fix.to_owned())],
                    preferred: true,
                },
            );
        }
        for fix in fixes {
            let edits = fix
                .edits
                .into_iter()
                .map(|(span, new_text)| lsp::TextEdit {
                    range: index.range(span),
                    new_text,
                })
                .collect();
            out.push(lsp::CodeAction {
                title: fix.title,
                kind: Some(lsp::CodeActionKind::QuickFix),
                diagnostics: Some(vec![lsp_d.clone()]),
                is_preferred: Some(fix.preferred),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(HashMap::from([(uri_of(path), edits)])),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    out
}

/// The call the cursor is in the arguments of: (callee text, argument index).
fn enclosing_call(text: &str, offset: usize) -> Option<(String, u32)> {
    let before = text.get(..offset)?;
    let (mut depth, mut commas) = (0i32, 0u32);
    for (i, c) in before.char_indices().rev() {
        match c {
            ')' | ']' | '}' => depth += 1,
            '[' | '{' if depth > 0 => depth -= 1,
            '[' | '{' => return None,
            '(' if depth > 0 => depth -= 1,
            '(' => {
                let head = before[..i].trim_end();
                let start = head
                    .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                    .len();
                let callee = &head[start..];
                return (!callee.is_empty()).then(|| (callee.to_owned(), commas));
            }
            ',' if depth == 0 => commas += 1,
            '\n' if depth == 0 && before[i..].trim_start().starts_with("then") => return None,
            _ => {}
        }
    }
    None
}

pub fn signature_help(a: &Analysis<'_>, path: &str, offset: u32) -> Option<lsp::SignatureHelp> {
    let text = a.compiler.source(path)?;
    let (callee, active) = enclosing_call(&text, offset as usize)?;
    let (qualifier, name) = callee.rsplit_once('.').unwrap_or(("", &callee));
    let package = a
        .file(path)
        .map(|d| crate::resolve::package_of(&d.parsed.file))
        .unwrap_or_default();
    let id = a.resolver.name(name, qualifier, &package)?;
    let Some(ItemKind::Fn(f)) = a.resolver.kind(&id) else {
        return None;
    };
    let label = describe::signature(name, f);
    let mut parameters = Vec::new();
    let mut at = name.len() + 1;
    for (i, (p, t)) in f.params.iter().enumerate() {
        let part = format!("{p}: {t}");
        let start = u32::try_from(at).unwrap_or(0);
        parameters.push(lsp::ParameterInformation {
            label: lsp::ParameterInformationLabel::Tuple((
                start,
                start + u32::try_from(part.encode_utf16().count()).unwrap_or(0),
            )),
            documentation: None,
        });
        at += part.len() + if i + 1 < f.params.len() { 2 } else { 0 };
    }
    let documentation = a.compiler.item_docs(&id).map(|d| {
        lsp::Documentation::MarkupContent(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: d,
        })
    });
    Some(lsp::SignatureHelp {
        signatures: vec![lsp::SignatureInformation {
            label,
            documentation,
            parameters: Some(parameters),
            active_parameter: None,
        }],
        active_signature: Some(0),
        active_parameter: Some(lsp::ActiveParameter::Int(active)),
    })
}

/// `30m` reads as minutes or metres depending on where it stands; show which.
pub fn inlay_hints(a: &Analysis<'_>, path: &str) -> Vec<lsp::InlayHint> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    // What the checker decided, by absolute span.
    let mut meaning: HashMap<Span, &str> = HashMap::new();
    for item in a.program.items.iter().filter(|i| i.file == path) {
        let mut stack = crate::index::hir_roots(item);
        while let Some(e) = stack.pop() {
            stack.extend(crate::index::hir_children(e));
            let m = match e.kind {
                hir::ExprKind::Duration(_) => "min",
                hir::ExprKind::Distance(_) => "metres",
                _ => continue,
            };
            let start = e.span.start.saturating_add(item.offset);
            meaning.insert(
                Span {
                    start,
                    end: e.span.end.saturating_add(item.offset),
                },
                m,
            );
        }
    }
    // Windows, deadlines and report periods are durations; the checked program keeps them
    // as numbers, so they are read off the tree.
    for item in &data.parsed.file.items {
        let mut durations: Vec<&cbp_syntax::ast::Expr> = Vec::new();
        match item {
            ast::Item::Rule(r) => {
                for c in &r.clauses {
                    match c {
                        ast::RuleClause::Correlate(k) => durations.extend(&k.window),
                        ast::RuleClause::Approval(ap) => durations.push(&ap.within),
                        ast::RuleClause::NoResponse(n) => durations.push(&n.within),
                        _ => {}
                    }
                }
            }
            ast::Item::Report(r) => durations.push(&r.every),
            _ => {}
        }
        for d in durations {
            meaning.entry(d.span()).or_insert("min");
        }
    }
    let index = LineIndex::new(&data.text);
    let mut out = Vec::new();
    for item in &data.parsed.file.items {
        for root in crate::index::item_exprs(item) {
            crate::index::visit(root, &mut |e| {
                if let ast::Expr::Quantity(q) = e
                    && q.unit == "m"
                    && let Some(m) = meaning.get(&q.span)
                {
                    out.push(lsp::InlayHint {
                        position: index.position(q.span.end),
                        label: lsp::Label::String((*m).to_owned()),
                        kind: Some(lsp::InlayHintKind::Type),
                        text_edits: None,
                        tooltip: None,
                        padding_left: Some(true),
                        padding_right: None,
                        data: None,
                    });
                }
            });
        }
    }
    out.extend(binding_types(a, &data, &index));
    out.sort_by_key(|h| (h.position.line, h.position.character));
    out
}

/// `: Type` after the name of each binding whose type is inferred: `let` clauses and
/// constants without a written type. (`on x: T`, `correlate xs: T`, function parameters
/// and typed constants have theirs written.)
fn binding_types(
    a: &Analysis<'_>,
    data: &crate::analysis::FileData,
    index: &LineIndex<'_>,
) -> Vec<lsp::InlayHint> {
    let package = crate::resolve::package_of(&data.parsed.file);
    let mut names: Vec<(&ast::Ident, String)> = Vec::new();
    for item in &data.parsed.file.items {
        match item {
            ast::Item::Rule(r) => {
                for c in &r.clauses {
                    if let ast::RuleClause::Let(l) = c
                        && let Some(ty) = data
                            .index
                            .occurrences
                            .iter()
                            .find(|o| o.def && o.span == l.name.span)
                            .and_then(|o| o.ty.clone())
                    {
                        names.push((&l.name, ty));
                    }
                }
            }
            ast::Item::Const(c) if c.ty.is_none() => {
                if let Some(id) = a.resolver.name(&c.name.name, "", &package)
                    && let Some(ItemKind::Const(k)) = a.resolver.kind(&id)
                {
                    names.push((&c.name, k.ty.to_string()));
                }
            }
            _ => {}
        }
    }
    names
        .into_iter()
        .filter(|(_, ty)| ty != &hir::Ty::Error.to_string())
        .map(|(name, ty)| lsp::InlayHint {
            position: index.position(name.span.end),
            label: lsp::Label::String(format!(": {ty}")),
            kind: Some(lsp::InlayHintKind::Type),
            text_edits: None,
            tooltip: None,
            padding_left: None,
            padding_right: None,
            data: None,
        })
        .collect()
}

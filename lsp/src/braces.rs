//! Completion of the names inside `{ … }` where the set of names is known: an action's
//! parameters (`notify officer { … }`), an escalated incident's or commanded directive's
//! fields (payload, then the envelope fields that may be set), a test `send`'s fields, a
//! record literal's fields (its type from the checked program) and the properties of
//! plugins, authorities and systems. Names already written are left out; each name comes
//! with its type and doc comment.

use crate::analysis::{Analysis, FileData, member_docs};
use crate::index::{envelope_id, hir_children, hir_roots, item_exprs, owner_of, visit};
use cbp_check::hir::{self, ItemId, ItemKind};
use cbp_syntax::{Span, ast};
use tower_lsp_server::gen_lsp_types as lsp;

/// Whose names a `{ … }` lists.
enum Owner {
    /// Fields of a record or message, or parameters of an action kind.
    Item(ItemId),
    Properties(&'static [(&'static str, &'static str, &'static str)]),
}

/// `(name, type, meaning)`; the required ones first (docs/language.md §8–10).
const PLUGIN: &[(&str, &str, &str)] = &[
    ("name", "string", "the model's name (required)"),
    ("vendor", "string", "who makes it (required)"),
    (
        "version",
        "string",
        "semantic version, `\"2.1.0\"` (required)",
    ),
    (
        "emits",
        "list of events",
        "the event types it sends (required)",
    ),
    ("capabilities", "list<string>", "what it can do"),
    ("data_sources", "list<string>", "where its data comes from"),
    ("latency_sla", "duration", "how late its events may be"),
    ("scope", "Layer", "the layer it serves"),
    ("mode", "ProcessingMode", "how it processes data"),
    (
        "requires_approval",
        "bool",
        "whether its decisions need approval",
    ),
    ("approval_authority", "authority", "who approves them"),
];
const AUTHORITY: &[(&str, &str, &str)] = &[
    (
        "level",
        "Level",
        "`L1` … `L5`: the layer it works at (required)",
    ),
    (
        "approves",
        "list of action kinds",
        "the action kinds it may approve (without it, any)",
    ),
    (
        "overrides",
        "list of systems",
        "the systems it may override by hand",
    ),
];
const SYSTEM: &[(&str, &str, &str)] = &[
    ("layer", "Layer", "the layer it is connected at (required)"),
    ("kind", "SystemKind", "what it is: actuator, database, …"),
];

/// The names that may be written at `offset`, when it is where a name of a `{ … }` goes;
/// `None` when it is not (the caller then completes something else).
pub fn complete(a: &Analysis<'_>, path: &str, offset: u32) -> Option<Vec<lsp::CompletionItem>> {
    let data = a.file(path)?;
    let before = data.text.get(..offset as usize)?;
    let word_start = before
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .len();
    // After an operator, a `:` or an opening bracket comes a value, not a name.
    let previous = before[..word_start].trim_end().chars().last();
    if previous.is_some_and(|c| "+-*/%<>=!?:.([".contains(c)) {
        return None;
    }
    let item = data
        .parsed
        .file
        .items
        .iter()
        .find(|i| i.span().start <= offset && offset <= i.span().end)?;
    let (owner, props) = innermost(a, path, &data, item, offset)?;
    // Inside a value (`{ priority: hi| }`) is not where a name goes.
    if props
        .iter()
        .any(|p| p.name.span.end < offset && offset <= p.span.end)
    {
        return None;
    }
    let written: Vec<&str> = props
        .iter()
        .filter(|p| !(p.name.span.start <= offset && offset <= p.name.span.end))
        .map(|p| p.name.name.as_str())
        .collect();
    let mut out = match owner {
        Owner::Item(id) => item_fields(a, &id),
        Owner::Properties(list) => list
            .iter()
            .map(|(name, ty, meaning)| {
                // A sentence, like the doc comments shown for fields.
                let mut docs = format!("{meaning}.");
                docs[..1].make_ascii_uppercase();
                field(name, ty.to_string(), Some(docs))
            })
            .collect(),
    };
    out.retain(|c| !written.contains(&c.label.as_str()));
    for (i, c) in out.iter_mut().enumerate() {
        c.sort_text = Some(format!("{i:03}"));
    }
    Some(out)
}

fn field(name: &str, detail: String, docs: Option<String>) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: name.to_owned(),
        kind: Some(lsp::CompletionItemKind::Field),
        detail: Some(detail),
        documentation: docs.map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: d,
            })
        }),
        insert_text: Some(format!("{name}: ")),
        ..Default::default()
    }
}

/// The fields of a record or message (payload, then envelope) or an action's parameters,
/// required ones first.
fn item_fields(a: &Analysis<'_>, id: &ItemId) -> Vec<lsp::CompletionItem> {
    let docs = |owner: &ItemId, name: &str| {
        let (d, i) = a.item_decl(owner)?;
        member_docs(d.parsed.file.items.get(i)?, name)
    };
    let mut payload: Vec<&hir::Field> = match a.resolver.kind(id) {
        Some(ItemKind::Record(r)) => r.fields.iter().collect(),
        Some(ItemKind::Message(m)) => m.fields.iter().collect(),
        Some(ItemKind::Action(k)) => k.params.iter().collect(),
        _ => return Vec::new(),
    };
    // Optional fields may be left out: list them after the required ones.
    payload.sort_by_key(|f| f.ty.optional_inner().is_some());
    let mut out: Vec<lsp::CompletionItem> = payload
        .into_iter()
        .map(|f| field(&f.name, f.ty.to_string(), docs(id, &f.name)))
        .collect();
    if let (Some(ItemKind::Message(_)), Some(ItemKind::Record(envelope))) =
        (a.resolver.kind(id), a.resolver.kind(&envelope_id()))
    {
        out.extend(envelope.fields.iter().map(|f| {
            field(
                &f.name,
                format!("{} (envelope)", f.ty),
                docs(&envelope_id(), &f.name),
            )
        }));
    }
    out
}

/// The innermost `{ … }` of `item` whose inside holds `offset`: its owner and what is
/// written in it.
fn innermost<'f>(
    a: &Analysis<'_>,
    path: &str,
    data: &FileData,
    item: &'f ast::Item,
    offset: u32,
) -> Option<(Owner, &'f [ast::Property])> {
    let package = crate::resolve::package_of(&data.parsed.file);
    let text = data.text.as_str();
    // Between the end of what precedes the `{` and the end of the construct.
    let inside = |after: u32, span: Span| {
        after < offset
            && offset <= span.end
            && text
                .get(after as usize..offset as usize)
                .is_some_and(|t| t.contains('{'))
            && !(offset == span.end && text[..offset as usize].ends_with('}'))
    };
    // Record literals first: they may stand inside any of the lists below.
    let mut literal: Option<(&ast::Expr, &[ast::Property])> = None;
    for root in item_exprs(item) {
        visit(root, &mut |e| {
            if let ast::Expr::Record(props, span) = e
                && inside(span.start, *span)
                && literal.is_none_or(|(l, _)| l.span().len() > span.len())
            {
                literal = Some((e, props));
            }
        });
    }
    if let Some((e, props)) = literal {
        return Some((Owner::Item(literal_type(a, path, item, e.span())?), props));
    }
    match item {
        ast::Item::Plugin(p) => Some((Owner::Properties(PLUGIN), &p.properties)),
        ast::Item::Authority(p) => Some((Owner::Properties(AUTHORITY), &p.properties)),
        ast::Item::System(p) => Some((Owner::Properties(SYSTEM), &p.properties)),
        ast::Item::Rule(r) => r.clauses.iter().find_map(|c| {
            let actions = match c {
                ast::RuleClause::Then(b) => &b.actions,
                ast::RuleClause::OnOutcome(o) => &o.block.actions,
                ast::RuleClause::NoResponse(n) => &n.block.actions,
                _ => return None,
            };
            actions.iter().find_map(|action| {
                let (after, span, id, props) = match action {
                    ast::Action::Invoke(x) => (
                        x.target.span.end,
                        x.span,
                        a.resolver.name(&x.kind.name, "", &package),
                        &x.params,
                    ),
                    ast::Action::Escalate(x) => (
                        x.to.span.end,
                        x.span,
                        a.resolver.path(&x.incident, &package),
                        &x.fields,
                    ),
                    ast::Action::Command(x) => {
                        let to = match &x.to {
                            ast::CommandTarget::Children(s) => *s,
                            ast::CommandTarget::Zones(z) => z.span(),
                        };
                        (
                            to.end,
                            x.span,
                            a.resolver.path(&x.directive, &package),
                            &x.fields,
                        )
                    }
                    ast::Action::Error(_) => return None,
                };
                inside(after, span).then_some((Owner::Item(id?), props.as_slice()))
            })
        }),
        ast::Item::Test(t) => t.steps.iter().find_map(|step| match step {
            ast::TestStep::Send(s) if inside(s.at.span().end, s.span) => Some((
                Owner::Item(a.resolver.path(&s.message, &package)?),
                s.fields.as_slice(),
            )),
            _ => None,
        }),
        _ => None,
    }
}

/// The record type the checker gave a record literal.
fn literal_type(a: &Analysis<'_>, path: &str, item: &ast::Item, span: Span) -> Option<ItemId> {
    let hir_item = a
        .program
        .items
        .iter()
        .find(|i| i.file == path && i.offset == item.span().start)?;
    let mut stack = hir_roots(hir_item);
    while let Some(e) = stack.pop() {
        if e.span.start.saturating_add(hir_item.offset) == span.start
            && e.span.end.saturating_add(hir_item.offset) == span.end
        {
            return owner_of(&e.ty);
        }
        stack.extend(hir_children(e));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbp_check::Compiler;

    /// The labels offered at `$0`, or `None` when it is not where a name of a `{ … }` goes.
    fn names(source: &str) -> Option<Vec<String>> {
        let offset = u32::try_from(source.find("$0").unwrap_or(0)).unwrap_or(0);
        let mut compiler = Compiler::new();
        compiler.set_file("/t.cbp", source.replacen("$0", "", 1));
        let a = Analysis::new(&compiler);
        complete(&a, "/t.cbp", offset).map(|items| items.into_iter().map(|c| c.label).collect())
    }

    const HEAD: &str = "package city\nevent smoke { density: float }\nauthority officer { level: L1 }\nrule r at local {\n    on s: smoke\n    then {\n";

    #[test]
    fn names_go_after_an_opening_brace_a_comma_or_a_finished_value() {
        for body in [
            "notify officer { $0 }",
            "notify officer { priority: high, $0 }",
            "notify officer { priority: high $0 }",
            "notify officer {\n priority: high\n $0\n}",
            // Still unclosed, as while typing: the `}` of `then` closes it for the parser.
            "notify officer { priority: high, mes$0",
        ] {
            let got = names(&format!("{HEAD}        {body}\n    }}\n}}\n"));
            assert!(
                got.as_ref()
                    .is_some_and(|n| n.contains(&"message".to_owned())),
                "{body}: {got:?}"
            );
        }
    }

    #[test]
    fn values_and_blocks_are_not_name_positions() {
        for body in [
            "notify officer { priority: $0 }",
            "notify officer { priority: hi$0 }",
            "notify officer { message: \"a\" + $0 }",
            "$0",
            "notify officer $0",
        ] {
            let got = names(&format!("{HEAD}        {body}\n    }}\n}}\n"));
            assert_eq!(got, None, "{body}");
        }
    }
}

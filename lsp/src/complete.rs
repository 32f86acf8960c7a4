//! Completion in context: units after a number (`5` → `min`, `km`, …), fields after `.`,
//! names inside `{ … }` (`braces.rs`), event types after `on x:`, authorities after
//! `approval by`, incidents after `escalate`, directives after `command`, otherwise keywords,
//! items and the bindings in scope.

use crate::analysis::{Analysis, Snapshot};
use crate::describe;
use crate::index::{Target, envelope_id, hir_children, hir_roots, owner_of};
use cbp_check::Compiler;
use cbp_check::hir::{self, ItemKind};
use cbp_syntax::ast::MessageKind;
use cbp_syntax::lexer::Token;
use std::sync::Arc;
use tower_lsp_server::gen_lsp_types as lsp;

pub use cbp_syntax::lexer::KEYWORDS;

fn item(label: &str, kind: lsp::CompletionItemKind, detail: String) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: Some(detail),
        ..Default::default()
    }
}

fn item_kind(kind: &ItemKind) -> lsp::CompletionItemKind {
    match kind {
        ItemKind::Enum(_) => lsp::CompletionItemKind::Enum,
        ItemKind::Record(_) => lsp::CompletionItemKind::Struct,
        ItemKind::Message(_) => lsp::CompletionItemKind::Event,
        ItemKind::Fn(_) => lsp::CompletionItemKind::Function,
        ItemKind::Const(_) => lsp::CompletionItemKind::Constant,
        _ => lsp::CompletionItemKind::Reference,
    }
}

/// The units a number may carry (docs/grammar.md, "Quantities"), with what each means.
pub const UNITS: [(&str, &str); 7] = [
    ("ms", "milliseconds (duration)"),
    ("s", "seconds (duration)"),
    ("min", "minutes (duration)"),
    ("h", "hours (duration)"),
    ("d", "days (duration)"),
    (
        "m",
        "minutes where a duration is expected, metres where a distance is",
    ),
    ("km", "kilometres (distance)"),
];

/// What the text before the cursor asks for.
enum Context {
    /// A number being typed: `digits` is where its digits end, `unit` what follows them.
    Unit {
        digits: u32,
        unit: String,
    },
    Field {
        dot: u32,
    },
    Items(fn(&ItemKind) -> bool),
    /// After a name: targets when it names an action kind, else the general list.
    AfterName(String),
    General,
}

fn context(text: &str, offset: u32) -> Context {
    let before = text.get(..offset as usize).unwrap_or(text);
    let word = before.len()
        - before
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
            .len();
    let head = &before[..before.len() - word];
    // Not in a string (`version: "1.0`) or a comment.
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let in_text = line_before.matches('"').count() % 2 == 1 || line_before.contains("//");
    if !in_text && let Some((digits, unit)) = number_before(before) {
        return Context::Unit { digits, unit };
    }
    if head.ends_with('.') {
        return Context::Field {
            dot: u32::try_from(head.len() - 1).unwrap_or(0),
        };
    }
    // The last few tokens of the line before the word being typed.
    let line = head.rsplit('\n').next().unwrap_or("");
    let (tokens, _, _) = cbp_syntax::lexer::tokenize(line);
    let last: Vec<&Token> = tokens.iter().rev().take(3).map(|(t, _)| t).collect();
    match last.as_slice() {
        [Token::Colon, Token::Ident(_), Token::On, ..] => {
            Context::Items(|k| matches!(k, ItemKind::Message(m) if m.kind == MessageKind::Event))
        }
        [
            Token::Colon,
            Token::Ident(_),
            Token::Correlate | Token::Absent,
            ..,
        ] => Context::Items(|k| matches!(k, ItemKind::Message(_))),
        [Token::By, Token::Approval, ..] => Context::Items(|k| matches!(k, ItemKind::Authority(_))),
        [Token::Escalate, ..] => {
            Context::Items(|k| matches!(k, ItemKind::Message(m) if m.kind == MessageKind::Incident))
        }
        [Token::Command, ..] => Context::Items(
            |k| matches!(k, ItemKind::Message(m) if m.kind == MessageKind::Directive),
        ),
        [Token::Send, ..] => Context::Items(|k| matches!(k, ItemKind::Message(_))),
        // `notify ` — after an action kind come its targets.
        [Token::Ident(kind), ..] => Context::AfterName(kind.clone()),
        _ => Context::General,
    }
}

pub fn complete(
    compiler: &mut Compiler,
    cache: &mut Option<Arc<Snapshot>>,
    path: &str,
    offset: u32,
) -> Vec<lsp::CompletionItem> {
    let Some(text) = compiler.source(path) else {
        return Vec::new();
    };
    let context = context(&text, offset);
    if matches!(
        context,
        Context::Items(_) | Context::AfterName(_) | Context::General
    ) && let Some(names) =
        crate::braces::complete(&Analysis::cached(compiler, cache), path, offset)
    {
        return names;
    }
    match context {
        Context::Unit { digits, unit } => units(&text, digits, &unit, offset),
        Context::Field { dot } => fields_after_dot(compiler, path, &text, dot, offset),
        Context::AfterName(name) => {
            let a = Analysis::cached(compiler, cache);
            let package = a
                .file(path)
                .map(|d| crate::resolve::package_of(&d.parsed.file))
                .unwrap_or_default();
            let is_action = a
                .resolver
                .name(&name, "", &package)
                .and_then(|id| a.resolver.kind(&id))
                .is_some_and(|k| matches!(k, ItemKind::Action(_)));
            if is_action {
                items_where(&a, |k| {
                    matches!(k, ItemKind::Authority(_) | ItemKind::System(_))
                })
            } else {
                general(&a, path, offset)
            }
        }
        Context::Items(filter) => items_where(&Analysis::cached(compiler, cache), filter),
        Context::General => general(&Analysis::cached(compiler, cache), path, offset),
    }
}

/// The number (with the start of a unit) that ends `before`: where its digits end and the
/// letters after them. `30`, `1.5k`, `1_000m` are numbers; `x5` and `a.b` are not.
fn number_before(before: &str) -> Option<(u32, String)> {
    let start = before
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        .len();
    let token = &before[start..];
    if !token.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut digits = token
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(token.len());
    // A fraction: `.` followed by digits (a float needs digits on both sides).
    if token[digits..].starts_with('.') {
        let rest = &token[digits + 1..];
        let fraction = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if fraction == 0 {
            return None;
        }
        digits += 1 + fraction;
    }
    let unit = &token[digits..];
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = u32::try_from(start + digits).ok()?;
    Some((end, unit.to_owned()))
}

/// The units starting with what is typed after the digits, each replacing it.
fn units(text: &str, digits: u32, typed: &str, offset: u32) -> Vec<lsp::CompletionItem> {
    let index = crate::text::LineIndex::new(text);
    let range = lsp::Range {
        start: index.position(digits),
        end: index.position(offset),
    };
    let head = text.get(..digits as usize).unwrap_or("");
    let number = &head[head
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '.')
        .len()..];
    UNITS
        .iter()
        .enumerate()
        .filter(|(_, (unit, _))| unit.starts_with(typed))
        .map(|(i, (unit, meaning))| {
            let mut c = item(unit, lsp::CompletionItemKind::Unit, (*meaning).to_owned());
            c.sort_text = Some(format!("{i}"));
            // Editors filter on the word at the cursor, which includes the digits.
            c.filter_text = Some(format!("{number}{unit}"));
            c.text_edit = Some(lsp::CompletionItemTextEdit::TextEdit(lsp::TextEdit {
                range,
                new_text: (*unit).to_owned(),
            }));
            c
        })
        .collect()
}

fn items_where(a: &Analysis<'_>, filter: impl Fn(&ItemKind) -> bool) -> Vec<lsp::CompletionItem> {
    let mut out: Vec<lsp::CompletionItem> = a
        .resolver
        .items()
        .filter(|i| filter(&i.kind))
        .filter_map(|i| {
            let id = i.id.as_ref()?;
            let detail = format!("{} {id}", describe::kind_keyword(&i.kind));
            Some(item(&id.name, item_kind(&i.kind), detail))
        })
        .collect();
    out.sort_by(|x, y| x.label.cmp(&y.label));
    out
}

/// Fields of the value before the `.`: the text is checked once with the `.` and the partial
/// name blanked out (so that it parses), the receiver's type read off the checked program, and
/// the text put back.
fn fields_after_dot(
    compiler: &mut Compiler,
    path: &str,
    text: &str,
    dot: u32,
    offset: u32,
) -> Vec<lsp::CompletionItem> {
    let mut patched = text.to_owned();
    let blank = " ".repeat(offset.saturating_sub(dot) as usize);
    patched.replace_range(dot as usize..offset as usize, &blank);
    compiler.set_file(path, patched);
    let result = {
        let a = Analysis::new(compiler);
        receiver_fields(&a, path, text, dot)
    };
    compiler.set_file(path, text.to_owned());
    result
}

fn receiver_fields(a: &Analysis<'_>, path: &str, text: &str, dot: u32) -> Vec<lsp::CompletionItem> {
    let mut receiver: Option<&hir::Expr> = None;
    let mut receiver_ty = None;
    for item in a.program.items.iter().filter(|i| i.file == path) {
        let mut stack = hir_roots(item);
        while let Some(e) = stack.pop() {
            if e.span.end.saturating_add(item.offset) == dot
                && receiver.is_none_or(|r| r.span.len() < e.span.len())
            {
                receiver = Some(e);
                receiver_ty = Some(e.ty.clone());
            }
            stack.extend(hir_children(e));
        }
    }
    let envelope = a.resolver.kind(&envelope_id());
    if let Some(owner) = receiver_ty.as_ref().and_then(owner_of)
        && let Some(kind) = a.resolver.kind(&owner)
    {
        return describe::fields_of(kind, envelope)
            .into_iter()
            .map(|(name, ty, env)| {
                let detail = if env {
                    format!("{ty} (envelope)")
                } else {
                    ty.to_string()
                };
                let mut c = item(&name, lsp::CompletionItemKind::Field, detail);
                c.sort_text = Some(format!("{}{name}", u8::from(env)));
                c
            })
            .collect();
    }
    // `Severity.` — the variants of an enum named before the dot.
    let before = text.get(..dot as usize).unwrap_or("");
    let name = &before[before
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .len()..];
    match a
        .resolver
        .name(name, "", "")
        .and_then(|id| a.resolver.kind(&id))
    {
        Some(ItemKind::Enum(e)) => e
            .variants
            .iter()
            .map(|v| {
                item(
                    v,
                    lsp::CompletionItemKind::EnumMember,
                    format!("{name}.{v}"),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn general(a: &Analysis<'_>, path: &str, offset: u32) -> Vec<lsp::CompletionItem> {
    let mut out: Vec<lsp::CompletionItem> = KEYWORDS
        .iter()
        .map(|k| item(k, lsp::CompletionItemKind::Keyword, "keyword".to_owned()))
        .collect();
    for i in a.resolver.items() {
        if let Some(id) = &i.id
            && !matches!(
                i.kind,
                ItemKind::Rule(_) | ItemKind::Report(_) | ItemKind::Test(_)
            )
        {
            out.push(item(
                &id.name,
                item_kind(&i.kind),
                describe::kind_keyword(&i.kind).to_owned(),
            ));
        }
    }
    if let Some(data) = a.file(path)
        && let Some(enclosing) = data
            .parsed
            .file
            .items
            .iter()
            .find(|i| i.span().start <= offset && offset <= i.span().end)
    {
        for o in &data.index.occurrences {
            if o.def
                && o.span.end <= offset
                && enclosing.span().contains(o.span)
                && let Target::Local { name, .. } = &o.target
            {
                out.push(item(
                    name,
                    lsp::CompletionItemKind::Variable,
                    o.ty.clone().unwrap_or_default(),
                ));
            }
        }
    }
    out.sort_by(|x, y| x.label.cmp(&y.label));
    out.dedup_by(|x, y| x.label == y.label);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_end_where_their_unit_starts() {
        let at = number_before;
        assert_eq!(at("over last 5"), Some((11, String::new())));
        assert_eq!(at("within 1.5k"), Some((10, "k".to_owned())));
        assert_eq!(at("x = 1_000mi"), Some((9, "mi".to_owned())));
        assert_eq!(at("when x5"), None, "an identifier");
        assert_eq!(at("f.level"), None);
        assert_eq!(at("5."), None, "a float needs digits after the dot");
        assert_eq!(at("2e3"), None, "an exponent is not a unit");
    }

    #[test]
    fn no_units_inside_strings_or_comments() {
        let is_unit = |before: &str| {
            matches!(
                context(before, u32::try_from(before.len()).unwrap_or(0)),
                Context::Unit { .. }
            )
        };
        assert!(is_unit("    over last 5"));
        assert!(!is_unit("    version: \"1.0"));
        assert!(!is_unit("    // wait 5"));
    }
}

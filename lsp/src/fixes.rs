//! Quick fixes that need the syntax tree: import a name declared in another package
//! (E0101 unknown name, E0102 unknown type), and bound an unbounded `correlate`/`absent`
//! window (E0401).

use crate::analysis::Analysis;
use cbp_check::hir::ItemKind;
use cbp_syntax::{Diagnostic, Span, ast};

/// The window the E0401 fix writes, as the checker's help line suggests.
pub const DEFAULT_WINDOW: &str = "over last 5m";

/// A fix: its title and its edits of the file, as (span replaced, new text).
pub struct Fix {
    pub title: String,
    pub edits: Vec<(Span, String)>,
    pub preferred: bool,
}

pub fn fixes(a: &Analysis<'_>, path: &str, d: &Diagnostic) -> Vec<Fix> {
    match d.code {
        "E0101" | "E0102" => import_fixes(a, path, d.primary.span),
        "E0401" => window_fix(a, path, d.primary.span).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// `import pkg.{name}` for each other package declaring the unknown name — or, when the
/// file imports that package whole, the name qualified by its last segment.
fn import_fixes(a: &Analysis<'_>, path: &str, span: Span) -> Vec<Fix> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    let Some(name) = data.text.get(span.range()) else {
        return Vec::new();
    };
    if !is_identifier(name) {
        return Vec::new();
    }
    let file = &data.parsed.file;
    let own = crate::resolve::package_of(file);
    let mut packages: Vec<String> = a
        .resolver
        .items()
        .filter(|i| {
            !matches!(
                i.kind,
                ItemKind::Rule(_) | ItemKind::Report(_) | ItemKind::Test(_)
            )
        })
        .filter_map(|i| i.id.as_ref())
        .filter(|id| &*id.name == name && *id.package != own && &*id.package != "std")
        .map(|id| id.package.to_string())
        .collect();
    packages.sort();
    packages.dedup();
    packages
        .into_iter()
        .map(|package| {
            let last = package.rsplit('.').next().unwrap_or(&package).to_owned();
            let whole = file
                .imports
                .iter()
                .any(|i| i.names.is_none() && i.path.dotted() == package);
            if whole {
                return Fix {
                    title: format!("qualify as `{last}.{name}`"),
                    edits: vec![(span, format!("{last}.{name}"))],
                    preferred: false,
                };
            }
            Fix {
                title: format!("import `{name}` from `{package}`"),
                edits: vec![import_edit(&data.text, file, &package, name)],
                preferred: false,
            }
        })
        .collect()
}

/// Adds `name` to the file's `import package.{…}` if there is one, else a new import line
/// among the others in alphabetical order (after the `package` line when there are none).
fn import_edit(text: &str, file: &ast::SourceFile, package: &str, name: &str) -> (Span, String) {
    if let Some(list) = file
        .imports
        .iter()
        .find(|i| i.names.is_some() && i.path.dotted() == package)
    {
        let inner = text.get(..list.span.end as usize).unwrap_or("");
        let brace = inner.rfind('}').unwrap_or(inner.len());
        let separator = if inner[..brace].trim_end().ends_with([',', '{']) {
            " "
        } else {
            ", "
        };
        let at = Span::new(brace, brace);
        return (at, format!("{separator}{name}"));
    }
    let line = format!("import {package}.{{{name}}}");
    let next = file
        .imports
        .iter()
        .find(|i| i.path.dotted().as_str() > package);
    match (next, file.imports.last(), &file.package) {
        (Some(next), _, _) => {
            let at = next.span.start;
            (Span { start: at, end: at }, format!("{line}\n"))
        }
        (None, Some(last), _) => {
            let at = last.span.end;
            (Span { start: at, end: at }, format!("\n{line}"))
        }
        (None, None, Some(package_decl)) => {
            let at = package_decl.span.end;
            (Span { start: at, end: at }, format!("\n\n{line}"))
        }
        (None, None, None) => (Span { start: 0, end: 0 }, format!("{line}\n\n")),
    }
}

/// ` over last 5m` after the message type of the clause the diagnostic points at.
fn window_fix(a: &Analysis<'_>, path: &str, span: Span) -> Option<Fix> {
    let data = a.file(path)?;
    let clause = data.parsed.file.items.iter().find_map(|item| match item {
        ast::Item::Rule(r) => r.clauses.iter().find_map(|c| match c {
            ast::RuleClause::Correlate(k) if k.window.is_none() && k.span.contains(span) => Some(k),
            _ => None,
        }),
        _ => None,
    })?;
    let at = clause.message.span.end;
    Some(Fix {
        title: format!("bound the window: `{DEFAULT_WINDOW}`"),
        edits: vec![(Span { start: at, end: at }, format!(" {DEFAULT_WINDOW}"))],
        preferred: true,
    })
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

//! The tracked queries, from source text to per-file diagnostics.
//!
//! `parse_file` → `file_items` (one tracked `ItemKey` per item, item-relative spans) and
//! `file_signature` (bodies stripped) → `item_table` (all signatures, resolved) → `file_scope`
//! → `check_item` (one item's body) → `file_diagnostics`. An edit inside one rule body re-runs
//! `parse_file`, `file_items` and `file_signature` of that file (the signatures and the other
//! items' syntax compare equal and are backdated), and `check_item` of that rule only.
//!
//! Untouched files must stay cheap to re-verify after an edit elsewhere: per-item memos read
//! a tracked field (not a query), and lint summaries are per file (`lints::file_summaries`),
//! so `program_lints` depends on one memo per file, not on every item.

use crate::check;
use crate::db::{Db, ItemKey, SourceFile, Workspace, log_execution};
use crate::diag::{Loc, LocDiag};
use crate::hir::{self, ItemId};
use crate::lints;
use crate::rebase::rebase_item;
use crate::scope::{ImportSig, STD, Scope};
use crate::suggest::did_you_mean;
use crate::table::{self, FileSig, Table};
use cbp_syntax::ast::{self, Item};
use cbp_syntax::{Diagnostic, Label, Span};
use std::collections::HashSet;
use std::sync::Arc;

/// The path prefix of the embedded standard library files.
pub const STD_PREFIX: &str = "std/";

pub fn is_std_file(path: &str) -> bool {
    path.starts_with(STD_PREFIX)
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParsedFile {
    pub ast: Arc<ast::SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ParsedFile {
    /// Absolute start of item `index`, the base of its relative spans.
    pub fn item_offset(&self, index: u32) -> u32 {
        self.ast
            .items
            .get(index as usize)
            .map_or(0, |i| i.span().start)
    }
}

#[salsa::tracked(returns(ref))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> ParsedFile {
    log_execution(db, "parse_file", file);
    let parsed = cbp_syntax::parse(file.path(db), file.text(db));
    ParsedFile {
        ast: Arc::new(parsed.file),
        diagnostics: parsed.diagnostics,
    }
}

/// The file's items, one `ItemKey` each, spans relative to each item's start. Re-runs on
/// every edit of the file; the keys of unchanged items keep their revision (see `ItemKey`).
#[salsa::tracked(returns(ref))]
pub fn file_items<'db>(db: &'db dyn Db, file: SourceFile) -> Vec<ItemKey<'db>> {
    log_execution(db, "file_items", file);
    let parsed = parse_file(db, file);
    (0u32..)
        .zip(&parsed.ast.items)
        .map(|(index, item)| {
            let mut item = item.clone();
            let base = item.span().start;
            rebase_item(&mut item, base);
            ItemKey::new(db, file, index, Arc::new(item))
        })
        .collect()
}

/// Package, imports and item signatures of a file: no bodies, no absolute positions.
#[salsa::tracked(returns(ref))]
pub fn file_signature(db: &dyn Db, file: SourceFile) -> Arc<FileSig> {
    log_execution(db, "file_signature", file);
    let parsed = parse_file(db, file);
    let ast = &parsed.ast;
    let package = ast
        .package
        .as_ref()
        .map(|p| p.path.dotted())
        .unwrap_or_default();
    let imports = ast
        .imports
        .iter()
        .map(|i| ImportSig {
            path: i.path.segments.iter().map(|s| s.name.clone()).collect(),
            names: i
                .names
                .as_ref()
                .map(|ns| ns.iter().map(|n| n.name.clone()).collect()),
        })
        .collect();
    let items = ast.items.iter().map(signature_of).collect();
    Arc::new(FileSig {
        package,
        imports,
        items,
    })
}

/// The item without its body, spans relative to its start, its own span zeroed (its length
/// changes with the body).
fn signature_of(item: &Item) -> Item {
    let base = item.span().start;
    let mut sig = match item {
        Item::Rule(r) => Item::Rule(ast::RuleDecl {
            docs: ast::Docs::default(),
            annotations: r.annotations.clone(),
            name: r.name.clone(),
            layer: r.layer.clone(),
            clauses: Vec::new(),
            span: r.span,
        }),
        Item::Report(r) => Item::Report(ast::ReportDecl {
            docs: ast::Docs::default(),
            annotations: r.annotations.clone(),
            name: r.name.clone(),
            layer: r.layer.clone(),
            every: ast::Expr::Error(r.span),
            to: r.to.clone(),
            fields: Vec::new(),
            span: r.span,
        }),
        Item::Fn(f) => Item::Fn(ast::FnDecl {
            body: None,
            docs: ast::Docs::default(),
            ..f.clone()
        }),
        Item::Const(c) => {
            let value = if c.ty.is_some() {
                ast::Expr::Error(c.span)
            } else {
                c.value.clone()
            };
            Item::Const(ast::ConstDecl {
                value,
                docs: ast::Docs::default(),
                ..c.clone()
            })
        }
        Item::Test(_) | Item::Error(_) => Item::Error(Span::default()),
        other => other.clone(),
    };
    rebase_item(&mut sig, base);
    zero_span(&mut sig);
    sig
}

fn zero_span(item: &mut Item) {
    let z = Span::default();
    match item {
        Item::Enum(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Record(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Message(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Plugin(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Authority(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::System(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Action(i) => (i.span, i.docs) = (z, ast::Docs::default()),
        Item::Const(i) => i.span = z,
        Item::Fn(i) => i.span = z,
        Item::Rule(i) => i.span = z,
        Item::Report(i) => {
            i.span = z;
            i.every = ast::Expr::Error(z);
        }
        Item::Test(i) => i.span = z,
        Item::Error(s) => *s = z,
    }
}

/// Every item's signature, resolved. Backdated when all signatures are unchanged.
#[salsa::tracked(returns(ref))]
pub fn item_table(db: &dyn Db, ws: Workspace) -> Arc<Table> {
    log_execution(db, "item_table", ws);
    let files: Vec<_> = ws
        .files(db)
        .iter()
        .map(|f| (*f, file_signature(db, *f).clone(), is_std_file(f.path(db))))
        .collect();
    Arc::new(table::build(&files))
}

/// What one file sees: its package and imports, resolved. Keyed by the file alone (the
/// workspace is a singleton): a query with two keys interns them, and re-verifying the intern
/// takes a lock.
#[salsa::tracked(returns(ref))]
pub fn file_scope(db: &dyn Db, file: SourceFile) -> Arc<Scope> {
    log_execution(db, "file_scope", file);
    let sig = file_signature(db, file);
    let table = item_table(db, Workspace::get(db));
    Arc::new(Scope::build(&sig.package, &sig.imports, &table.names))
}

/// The result of checking one item's body.
#[derive(Debug, PartialEq, Eq)]
pub struct ItemCheck {
    pub id: Option<ItemId>,
    pub kind: Option<hir::ItemKind>,
    pub diags: Vec<LocDiag>,
    /// The imports (alias or imported name) the item used.
    pub used_imports: Vec<Arc<str>>,
}

#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> ItemCheck {
    log_execution(db, "check_item", key);
    let ws = Workspace::get(db);
    let file = key.file(db);
    let item = key.syntax(db);
    let table = item_table(db, ws);
    let scope = file_scope(db, file);
    let here = Loc {
        file,
        item: Some(key.index(db)),
        span: Span::default(),
    };
    check::check_item(table, scope, here, is_std_file(file.path(db)), item)
}

/// Program-wide lints that compare items: duplicate and shadowed rules, recursive functions.
/// Depends on one summary list per file, not on every item.
#[salsa::tracked(returns(ref))]
pub fn program_lints(db: &dyn Db, ws: Workspace) -> Vec<LocDiag> {
    log_execution(db, "program_lints", ws);
    let files: Vec<_> = ws
        .files(db)
        .iter()
        .map(|f| (*f, lints::file_summaries(db, *f)))
        .collect();
    let mut summaries = Vec::new();
    for (file, sums) in &files {
        for (index, summary) in &sums.items {
            let here = Loc {
                file: *file,
                item: Some(*index),
                span: Span::default(),
            };
            summaries.push((sums.package.as_str(), here, summary));
        }
    }
    lints::lint(&summaries)
}

/// The program-wide lints reported in one file; backdated when they are unchanged, so a lint
/// appearing in one file does not re-run every other file's diagnostics.
#[salsa::tracked(returns(ref))]
pub fn file_lints(db: &dyn Db, file: SourceFile) -> Vec<LocDiag> {
    log_execution(db, "file_lints", file);
    program_lints(db, Workspace::get(db))
        .iter()
        .filter(|d| d.primary.file == file)
        .cloned()
        .collect()
}

/// Every diagnostic of one file: parse errors, imports, signatures, item bodies, lints.
pub fn file_diagnostics(db: &dyn Db, _ws: Workspace, file: SourceFile) -> &Vec<Diagnostic> {
    diagnostics_of_file(db, file)
}

/// [`file_diagnostics`], keyed by the file alone (see `file_scope`).
#[salsa::tracked(returns(ref))]
fn diagnostics_of_file(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    log_execution(db, "file_diagnostics", file);
    let ws = Workspace::get(db);
    let parsed = parse_file(db, file);
    let table = item_table(db, ws);
    let path = file.path(db);
    let mut out: Vec<Diagnostic> = parsed.diagnostics.clone();
    let mut local: Vec<&LocDiag> = Vec::new();
    let mut used: HashSet<Arc<str>> = HashSet::new();
    for key in file_items(db, file) {
        let checked = check_item(db, *key);
        local.extend(checked.diags.iter());
        used.extend(checked.used_imports.iter().cloned());
    }
    if let Some(sig_used) = table.used_imports.get(&file) {
        used.extend(sig_used.iter().cloned());
    }
    local.extend(table.diags.iter().filter(|d| d.primary.file == file));
    local.extend(file_lints(db, file));
    out.extend(local.into_iter().map(|d| resolve(db, d)));
    out.extend(import_diagnostics(path, &parsed.ast, table, &used));
    if let Some(pkg) = &parsed.ast.package
        && !is_std_file(path)
        && pkg.path.segments.first().is_some_and(|s| s.name == STD)
    {
        out.push(
            Diagnostic::error(
                "E0115",
                path,
                pkg.path.span,
                "package `std` is reserved for the standard library",
            )
            .with_label("only the embedded standard library may declare it")
            .with_help("choose another package name; std is always available without import"),
        );
    }
    out.sort_by(|a, b| (a.primary.span.start, a.code).cmp(&(b.primary.span.start, b.code)));
    out
}

/// Turns item-relative positions into absolute ones.
pub fn resolve(db: &dyn Db, d: &LocDiag) -> Diagnostic {
    let label = |loc: &Loc, message: &str| {
        let span = match loc.item {
            Some(index) => {
                let base = parse_file(db, loc.file).item_offset(index);
                Span {
                    start: loc.span.start + base,
                    end: loc.span.end + base,
                }
            }
            None => loc.span,
        };
        Label {
            file: loc.file.path(db).clone(),
            span,
            message: message.to_owned(),
        }
    };
    Diagnostic {
        code: d.code,
        severity: d.severity,
        message: d.message.clone(),
        primary: label(&d.primary, &d.label),
        secondary: d.secondary.iter().map(|(l, m)| label(l, m)).collect(),
        help: d.help.clone(),
    }
}

fn import_diagnostics(
    path: &str,
    ast: &ast::SourceFile,
    table: &Table,
    used: &HashSet<Arc<str>>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let names = &table.names;
    for import in &ast.imports {
        let pkg = import.path.dotted();
        if !names.has_package(&pkg) {
            let mut known: Vec<&str> = names.packages.keys().map(|k| k.as_ref()).collect();
            known.sort_unstable();
            let mut d = Diagnostic::error(
                "E0100",
                path,
                import.path.span,
                format!("unknown package `{pkg}`"),
            )
            .with_label("no file declares this package");
            if let Some(h) = did_you_mean(&pkg, known) {
                d = d.with_help(h);
            }
            out.push(d);
            continue;
        }
        match &import.names {
            None => {
                let alias = import.path.last().map_or("", |i| i.name.as_str());
                if !used.contains(alias) && pkg != STD {
                    out.push(unused(path, import.span, &pkg));
                }
            }
            Some(list) => {
                for n in list {
                    match names.get(&pkg, &n.name) {
                        None => {
                            let mut cands: Vec<&str> = names
                                .packages
                                .get(pkg.as_str())
                                .map(|m| m.keys().map(|k| k.as_ref()).collect())
                                .unwrap_or_default();
                            cands.sort_unstable();
                            let mut d = Diagnostic::error(
                                "E0101",
                                path,
                                n.span,
                                format!("package `{pkg}` has no item `{}`", n.name),
                            )
                            .with_label("not declared there");
                            if let Some(h) = did_you_mean(&n.name, cands) {
                                d = d.with_help(h);
                            }
                            out.push(d);
                        }
                        Some(_) if !used.contains(n.name.as_str()) && pkg != STD => {
                            out.push(unused(path, n.span, &format!("{pkg}.{}", n.name)));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    out
}

fn unused(path: &str, span: Span, what: &str) -> Diagnostic {
    Diagnostic::warning("W0001", path, span, format!("unused import `{what}`"))
        .with_label("never used in this file")
        .with_help("remove the import")
}

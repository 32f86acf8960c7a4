//! Incremental semantic front end of the City Brain Policy language: name resolution, type
//! checking (with units and optionals), policy checks (windows, layers, approvals, data
//! sovereignty) and the standard library.
//!
//! [`Compiler`] owns a salsa database; see `queries.rs` for the query graph and why an edit in
//! one rule body re-checks only that rule.

mod check;
mod db;
mod diag;
mod expr;
pub mod hir;
mod lints;
mod print;
mod props;
mod queries;
mod rebase;
mod rule;
mod scope;
mod stdlib;
mod suggest;
mod table;

pub use cbp_syntax::{Diagnostic, Label, Severity, Span};

use db::{CheckDb, ItemKey, SourceFile, Workspace};
use salsa::Setter;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The compiler front end: a set of files (the standard library preloaded) and their checks.
pub struct Compiler {
    db: CheckDb,
    workspace: Workspace,
    /// Path → file, std files included (`std/<name>.cbp`).
    files: BTreeMap<String, SourceFile>,
}

impl Default for Compiler {
    fn default() -> Self {
        Self::new()
    }
}

impl Compiler {
    pub fn new() -> Self {
        let db = CheckDb::default();
        let mut files = BTreeMap::new();
        let mut list = Vec::new();
        for (path, text) in stdlib::FILES {
            let file = SourceFile::builder(path.to_string(), text.to_string())
                .durability(salsa::Durability::HIGH)
                .new(&db);
            files.insert(path.to_string(), file);
            list.push(file);
        }
        let workspace = Workspace::new(&db, list);
        Compiler {
            db,
            workspace,
            files,
        }
    }

    /// Adds a file, or replaces its text.
    pub fn set_file(&mut self, path: &str, text: String) {
        if let Some(file) = self.files.get(path).copied() {
            if file.text(&self.db) != &text {
                file.set_text(&mut self.db).to(text);
            }
            return;
        }
        let file = SourceFile::new(&self.db, path.to_owned(), text);
        self.files.insert(path.to_owned(), file);
        self.sync_workspace();
    }

    pub fn remove_file(&mut self, path: &str) {
        if self.files.remove(path).is_some() {
            self.sync_workspace();
        }
    }

    fn sync_workspace(&mut self) {
        // Std files first, then user files by path: a deterministic order.
        let (std, user): (Vec<_>, Vec<_>) = self
            .files
            .iter()
            .partition(|(p, _)| queries::is_std_file(p));
        let list: Vec<SourceFile> = std.into_iter().chain(user).map(|(_, f)| *f).collect();
        self.workspace.set_files(&mut self.db).to(list);
    }

    /// The text of a user or std file, for rendering diagnostics.
    pub fn source(&self, path: &str) -> Option<String> {
        self.files.get(path).map(|f| f.text(&self.db).clone())
    }

    /// Paths of every file, std included.
    pub fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Every diagnostic of every file, sorted by (file, start, code).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for file in self.workspace.files(&self.db) {
            out.extend(
                queries::file_diagnostics(&self.db, self.workspace, *file)
                    .iter()
                    .cloned(),
            );
        }
        sort(&mut out);
        out
    }

    pub fn file_diagnostics(&self, path: &str) -> Vec<Diagnostic> {
        let Some(file) = self.files.get(path) else {
            return Vec::new();
        };
        let mut out = queries::file_diagnostics(&self.db, self.workspace, *file).clone();
        sort(&mut out);
        out
    }

    /// The checked program: every item's HIR, in workspace order.
    pub fn checked_program(&self) -> hir::Program {
        let mut program = hir::Program::default();
        for file in self.workspace.files(&self.db) {
            let parsed = queries::parse_file(&self.db, *file);
            for index in 0..parsed.ast.items.len() as u32 {
                let checked = queries::check_item(&self.db, ItemKey::new(&self.db, *file, index));
                if let Some(kind) = &checked.kind {
                    program.items.push(Arc::new(hir::Item {
                        id: checked.id.clone(),
                        file: file.path(&self.db).clone(),
                        offset: parsed.item_offset(index),
                        kind: kind.clone(),
                    }));
                }
            }
        }
        program.has_errors = self.diagnostics().iter().any(Diagnostic::is_error);
        program
    }

    /// Starts recording which tracked queries execute (see [`Compiler::take_query_log`]).
    pub fn enable_query_log(&mut self) {
        self.db.set_query_log(true);
    }

    /// The tracked queries executed since the last call, like `check_item(Id(402))`; empty
    /// unless [`Compiler::enable_query_log`] was called.
    pub fn take_query_log(&mut self) -> Vec<String> {
        self.db.take_query_log()
    }
}

fn sort(ds: &mut [Diagnostic]) {
    ds.sort_by(|a, b| {
        (&a.primary.file, a.primary.span.start, a.code, &a.message).cmp(&(
            &b.primary.file,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
}

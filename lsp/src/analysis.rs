//! A snapshot of the workspace for answering one request: the checked program, a name
//! resolver over it, and the semantic index of each file, built on first use.

use crate::index::{self, FileIndex, Target};
use crate::resolve::Resolver;
use cbp_check::{Compiler, hir};
use cbp_syntax::{Parsed, Span, ast};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct FileData {
    pub text: String,
    pub parsed: Parsed,
    pub index: FileIndex,
}

/// What the analysis of one compiler state computes, kept between requests until the next
/// edit (editors ask for hover, tokens and hints many times between edits).
pub struct Snapshot {
    pub program: hir::Program,
    pub resolver: Resolver,
    files: Mutex<HashMap<String, Arc<FileData>>>,
}

impl Snapshot {
    pub fn new(compiler: &Compiler) -> Self {
        let program = compiler.checked_program();
        let resolver = Resolver::new(&program);
        Snapshot {
            program,
            resolver,
            files: Mutex::default(),
        }
    }
}

pub struct Analysis<'c> {
    pub compiler: &'c Compiler,
    snapshot: Arc<Snapshot>,
}

impl std::ops::Deref for Analysis<'_> {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

impl<'c> Analysis<'c> {
    /// A fresh analysis of the compiler's current state.
    pub fn new(compiler: &'c Compiler) -> Self {
        Analysis {
            compiler,
            snapshot: Arc::new(Snapshot::new(compiler)),
        }
    }

    /// The analysis of the compiler's current state, reusing `cache` (which must have been
    /// cleared by every edit since it was filled).
    pub fn cached(compiler: &'c Compiler, cache: &mut Option<Arc<Snapshot>>) -> Self {
        let snapshot = cache
            .get_or_insert_with(|| Arc::new(Snapshot::new(compiler)))
            .clone();
        Analysis { compiler, snapshot }
    }

    pub fn file(&self, path: &str) -> Option<Arc<FileData>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(data) = files.get(path) {
            return Some(data.clone());
        }
        let text = self.compiler.source(path)?;
        let parsed = cbp_syntax::parse(path, &text);
        let index = index::build(path, &parsed.file, &self.program.items, &self.resolver);
        let data = Arc::new(FileData {
            text,
            parsed,
            index,
        });
        files.insert(path.to_owned(), data.clone());
        Some(data)
    }

    /// Files of the workspace, the standard library excluded.
    pub fn user_paths(&self) -> Vec<String> {
        self.compiler
            .paths()
            .into_iter()
            .filter(|p| !p.starts_with("std/"))
            .collect()
    }

    /// Where a target is declared.
    pub fn definition(&self, target: &Target) -> Option<(String, Span)> {
        let file = match target {
            Target::Item(id) => {
                let at = self.compiler.item_location(id)?;
                return Some((at.file, at.span));
            }
            Target::Field { owner, .. } | Target::Variant { owner, .. } => {
                self.compiler.item_location(owner)?.file
            }
            Target::Local { file, .. } => file.clone(),
        };
        let data = self.file(&file)?;
        let def = data.index.definition_of(target)?;
        Some((file, def.span))
    }

    /// Every occurrence of a target in the workspace (and in the file declaring it).
    pub fn references(&self, target: &Target, include_declaration: bool) -> Vec<(String, Span)> {
        let mut paths = match target {
            Target::Local { file, .. } => vec![file.clone()],
            _ => self.user_paths(),
        };
        if let Some((file, _)) = self.definition(target)
            && !paths.contains(&file)
        {
            paths.push(file);
        }
        let mut out = Vec::new();
        for path in paths {
            let Some(data) = self.file(&path) else {
                continue;
            };
            for o in &data.index.occurrences {
                if &o.target == target && (include_declaration || !o.def) {
                    out.push((path.clone(), o.span));
                }
            }
        }
        out
    }

    /// The syntax-tree item declaring `id`.
    pub fn item_decl(&self, id: &hir::ItemId) -> Option<(Arc<FileData>, usize)> {
        let at = self.compiler.item_location(id)?;
        let data = self.file(&at.file)?;
        let index = data
            .parsed
            .file
            .items
            .iter()
            .position(|i| i.name().is_some_and(|n| n.span == at.span))?;
        Some((data, index))
    }
}

/// The doc comment of a field or variant declaration.
pub fn member_docs(item: &ast::Item, member: &str) -> Option<String> {
    let docs = match item {
        ast::Item::Record(ast::RecordDecl { fields, .. })
        | ast::Item::Message(ast::MessageDecl { fields, .. })
        | ast::Item::Action(ast::ActionDecl { params: fields, .. }) => {
            &fields.iter().find(|f| f.name.name == member)?.docs
        }
        ast::Item::Enum(e) => &e.variants.iter().find(|v| v.name.name == member)?.docs,
        _ => return None,
    };
    (!docs.is_empty()).then(|| docs.text())
}

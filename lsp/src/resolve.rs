//! Names in the syntax tree → item ids, for the places where the checked program keeps no
//! span (type names, triggers, targets, authorities). The checker has resolved them already;
//! this looks the same names up in the checked program, preferring the file's own package,
//! then `std`, the way the prelude works.

use cbp_check::hir::{ItemId, ItemKind, Program};
use cbp_syntax::ast;
use std::collections::HashMap;
use std::sync::Arc;

pub struct Resolver {
    by_name: HashMap<Arc<str>, Vec<Arc<cbp_check::hir::Item>>>,
}

impl Resolver {
    pub fn new(program: &Program) -> Self {
        let mut by_name: HashMap<Arc<str>, Vec<Arc<cbp_check::hir::Item>>> = HashMap::new();
        for item in &program.items {
            if let Some(id) = &item.id {
                by_name
                    .entry(id.name.clone())
                    .or_default()
                    .push(item.clone());
            }
        }
        Resolver { by_name }
    }

    /// The item a (possibly qualified) path names, seen from a file of `package`.
    pub fn path(&self, path: &ast::Path, package: &str) -> Option<ItemId> {
        let last = path.last()?;
        let qualifier: Vec<&str> = path
            .segments
            .iter()
            .take(path.segments.len() - 1)
            .map(|s| s.name.as_str())
            .collect();
        self.name(&last.name, &qualifier.join("."), package)
    }

    pub fn name(&self, name: &str, qualifier: &str, package: &str) -> Option<ItemId> {
        let candidates = self.by_name.get(name)?;
        let id = |i: &Arc<cbp_check::hir::Item>| i.id.clone();
        if !qualifier.is_empty() {
            return candidates
                .iter()
                .find(|i| {
                    i.id.as_ref().is_some_and(|id| {
                        &*id.package == qualifier || id.package.ends_with(&format!(".{qualifier}"))
                    })
                })
                .and_then(id);
        }
        candidates
            .iter()
            .find(|i| i.id.as_ref().is_some_and(|id| &*id.package == package))
            .or_else(|| {
                candidates
                    .iter()
                    .find(|i| i.id.as_ref().is_some_and(|id| &*id.package == "std"))
            })
            .or_else(|| candidates.first())
            .and_then(id)
    }

    pub fn item(&self, id: &ItemId) -> Option<&Arc<cbp_check::hir::Item>> {
        self.by_name
            .get(&id.name)?
            .iter()
            .find(|i| i.id.as_ref() == Some(id))
    }

    pub fn kind(&self, id: &ItemId) -> Option<&ItemKind> {
        self.item(id).map(|i| &i.kind)
    }

    /// Every named item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &Arc<cbp_check::hir::Item>> {
        self.by_name.values().flatten()
    }
}

/// The package a file declares (`""` for the root package).
pub fn package_of(file: &ast::SourceFile) -> String {
    file.package
        .as_ref()
        .map(|p| p.path.dotted())
        .unwrap_or_default()
}

//! Name resolution: the names each package declares and what one file can see.
//!
//! An unqualified name is looked up in the file's own package, then in the names it imports
//! (`import a.b.{X}`), then in the `std` prelude. A qualified name `b.X` goes through a package
//! import (`import a.b`) or a full package path (`a.b.X`, `std.X`).

use crate::hir::ItemId;
use std::collections::HashMap;
use std::sync::Arc;

pub const STD: &str = "std";

/// Every declared item name, by package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub packages: HashMap<Arc<str>, HashMap<Arc<str>, ItemId>>,
}

impl Names {
    pub fn get(&self, package: &str, name: &str) -> Option<&ItemId> {
        self.packages.get(package)?.get(name)
    }

    pub fn has_package(&self, package: &str) -> bool {
        self.packages.contains_key(package)
    }
}

/// An import as written, without spans (spans live in the syntax tree).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportSig {
    pub path: Vec<String>,
    pub names: Option<Vec<String>>,
}

/// What one file can see besides its own package and std.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub package: Arc<str>,
    /// `import a.b.{X}`: `X` → `a.b.X`.
    pub imported: HashMap<Arc<str>, ItemId>,
    /// `import a.b`: `b` → `a.b`.
    pub aliases: HashMap<Arc<str>, Arc<str>>,
}

/// The result of resolving a dotted path to an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathRes {
    /// The item, and the import it was found through (for unused-import warnings).
    Item(ItemId, Option<Arc<str>>),
    /// The package exists but has no such name.
    NotInPackage(Arc<str>),
    /// Nothing by that name.
    NotFound,
}

impl Scope {
    pub fn build(package: &str, imports: &[ImportSig], names: &Names) -> Scope {
        let mut scope = Scope {
            package: package.into(),
            ..Scope::default()
        };
        for import in imports {
            let pkg = import.path.join(".");
            match &import.names {
                None => {
                    if let Some(last) = import.path.last() {
                        scope
                            .aliases
                            .insert(last.as_str().into(), pkg.as_str().into());
                    }
                }
                Some(list) => {
                    for n in list {
                        if let Some(id) = names.get(&pkg, n) {
                            scope.imported.insert(n.as_str().into(), id.clone());
                        }
                    }
                }
            }
        }
        scope
    }

    /// An unqualified name.
    pub fn lookup(&self, names: &Names, name: &str) -> Option<(ItemId, Option<Arc<str>>)> {
        if let Some(id) = names.get(&self.package, name) {
            return Some((id.clone(), None));
        }
        if let Some(id) = self.imported.get(name) {
            return Some((id.clone(), Some(name.into())));
        }
        names.get(STD, name).map(|id| (id.clone(), None))
    }

    /// A package named by a path prefix: an import alias or a full package path.
    pub fn package_of(
        &self,
        names: &Names,
        prefix: &[&str],
    ) -> Option<(Arc<str>, Option<Arc<str>>)> {
        if let [single] = prefix
            && let Some(pkg) = self.aliases.get(*single)
        {
            return Some((pkg.clone(), Some((*single).into())));
        }
        let dotted = prefix.join(".");
        if names.has_package(&dotted) {
            return Some((dotted.into(), None));
        }
        // `std.geo.X`: the std files are one package; accept the file name as a sub-path.
        if prefix.len() == 2 && prefix[0] == STD {
            return Some((STD.into(), None));
        }
        None
    }

    pub fn resolve_path(&self, names: &Names, segments: &[&str]) -> PathRes {
        match segments {
            [] => PathRes::NotFound,
            [name] => match self.lookup(names, name) {
                Some((id, via)) => PathRes::Item(id, via),
                None => PathRes::NotFound,
            },
            [prefix @ .., name] => match self.package_of(names, prefix) {
                Some((pkg, via)) => match names.get(&pkg, name) {
                    Some(id) => PathRes::Item(id.clone(), via),
                    None => PathRes::NotInPackage(pkg),
                },
                None => PathRes::NotFound,
            },
        }
    }

    /// Every unqualified name visible in this file, for suggestions.
    pub fn visible<'a>(&'a self, names: &'a Names) -> impl Iterator<Item = (&'a str, &'a ItemId)> {
        let own = names.packages.get(&self.package).into_iter().flatten();
        let std = names.packages.get(STD).into_iter().flatten();
        own.chain(self.imported.iter())
            .chain(std)
            .map(|(n, id)| (n.as_ref(), id))
    }
}

//! Go to definition, find references and rename.

use crate::analysis::Analysis;
use crate::describe;
use crate::index::{Target, envelope_id};
use cbp_check::hir::ItemKind;
use cbp_syntax::Span;

pub fn target_at(a: &Analysis<'_>, path: &str, offset: u32) -> Option<(Target, Span)> {
    let data = a.file(path)?;
    let occ = data.index.at(offset)?;
    Some((occ.target.clone(), occ.span))
}

pub fn definition(a: &Analysis<'_>, path: &str, offset: u32) -> Option<(String, Span)> {
    let (target, _) = target_at(a, path, offset)?;
    a.definition(&target)
}

pub fn references(
    a: &Analysis<'_>,
    path: &str,
    offset: u32,
    include_declaration: bool,
) -> Vec<(String, Span)> {
    match target_at(a, path, offset) {
        Some((target, _)) => a.references(&target, include_declaration),
        None => Vec::new(),
    }
}

/// Occurrences of the name at `offset` in the same file: (span, is the declaration).
pub fn highlights(a: &Analysis<'_>, path: &str, offset: u32) -> Vec<(Span, bool)> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    let Some(target) = data.index.at(offset).map(|o| o.target.clone()) else {
        return Vec::new();
    };
    data.index
        .occurrences
        .iter()
        .filter(|o| o.target == target)
        .map(|o| (o.span, o.def))
        .collect()
}

/// The edits renaming the name at `offset` to `new_name`, or why not.
pub fn rename(
    a: &Analysis<'_>,
    path: &str,
    offset: u32,
    new_name: &str,
) -> Result<Vec<(String, Span)>, String> {
    let (target, _) = target_at(a, path, offset).ok_or("there is no name to rename here")?;
    if !is_identifier(new_name) {
        return Err(format!("`{new_name}` is not an identifier"));
    }
    let (def_file, _) = a
        .definition(&target)
        .ok_or("the declaration of this name was not found")?;
    if def_file.starts_with("std/") {
        return Err("names of the standard library cannot be renamed".to_owned());
    }
    if let Some(clash) = clash(a, &target, new_name) {
        return Err(clash);
    }
    Ok(a.references(&target, true))
}

pub fn is_identifier(name: &str) -> bool {
    let (tokens, _, issues) = cbp_syntax::lexer::tokenize(name);
    issues.is_empty()
        && matches!(tokens.as_slice(), [(cbp_syntax::lexer::Token::Ident(n), _)] if n == name)
        && name != "_"
}

fn clash(a: &Analysis<'_>, target: &Target, new_name: &str) -> Option<String> {
    match target {
        Target::Item(id) => a
            .resolver
            .items()
            .find(|i| {
                i.id.as_ref()
                    .is_some_and(|o| o.package == id.package && &*o.name == new_name)
            })
            .map(|i| {
                let kind = describe::kind_keyword(&i.kind);
                format!("{kind} `{new_name}` already exists in this package")
            }),
        Target::Field { owner, .. } => {
            let envelope = a.resolver.kind(&envelope_id());
            let kind = a.resolver.kind(owner)?;
            let taken = describe::field(Some(kind), envelope, new_name).is_some();
            taken.then(|| format!("`{}` already has a field `{new_name}`", owner.name))
        }
        Target::Variant { owner, .. } => match a.resolver.kind(owner)? {
            ItemKind::Enum(e) if e.variants.iter().any(|v| &**v == new_name) => Some(format!(
                "enum `{}` already has a variant `{new_name}`",
                owner.name
            )),
            _ => None,
        },
        Target::Local { file, def, .. } => {
            let data = a.file(file)?;
            let item = data
                .parsed
                .file
                .items
                .iter()
                .find(|i| i.span().start <= *def && *def < i.span().end)?;
            let taken = data.index.occurrences.iter().any(|o| {
                o.def
                    && item.span().contains(o.span)
                    && matches!(&o.target, Target::Local { name, .. } if &**name == new_name)
            });
            taken.then(|| format!("`{new_name}` is already bound in this item"))
        }
    }
}

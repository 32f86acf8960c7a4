//! Hover: the declaration (or type) and documentation of the name under the cursor.

use crate::analysis::{Analysis, member_docs};
use crate::describe;
use crate::glossary;
use crate::index::{Target, envelope_id};

/// Markdown for the name at `offset` of `path`, and the span it is about.
pub fn hover(a: &Analysis<'_>, path: &str, offset: u32) -> Option<(String, cbp_syntax::Span)> {
    let data = a.file(path)?;
    if let Some(word) = glossary::hover(&data.parsed.file, offset) {
        return Some(word);
    }
    let occ = data.index.at(offset)?;
    let (code, docs) = match &occ.target {
        Target::Item(id) => {
            let item = a.resolver.item(id)?;
            let package = if id.package.is_empty() {
                String::new()
            } else {
                format!("// package {}\n", id.package)
            };
            (
                format!("{package}{}", describe::item(item)),
                a.compiler.item_docs(id),
            )
        }
        Target::Field { owner, name } => {
            let envelope = a.resolver.kind(&envelope_id());
            let line = describe::field(a.resolver.kind(owner), envelope, name)?;
            let kind = a
                .resolver
                .kind(owner)
                .map(describe::kind_keyword)
                .unwrap_or("record");
            let docs = a
                .item_decl(owner)
                .and_then(|(d, i)| member_docs(d.parsed.file.items.get(i)?, name))
                .or_else(|| {
                    let (d, i) = a.item_decl(&envelope_id())?;
                    member_docs(d.parsed.file.items.get(i)?, name)
                });
            (format!("// field of {kind} {}\n{line}", owner.name), docs)
        }
        Target::Variant { owner, name } => {
            let docs = a
                .item_decl(owner)
                .and_then(|(d, i)| member_docs(d.parsed.file.items.get(i)?, name))
                .or_else(|| layer_variant(owner, name));
            (
                format!("// variant of enum {}\n{}.{name}", owner.name, owner.name),
                docs,
            )
        }
        Target::Local { name, .. } => {
            let ty = occ.ty.clone().or_else(|| {
                let def = data.index.definition_of(&occ.target)?;
                def.ty.clone()
            });
            (
                format!("{name}: {}", ty.unwrap_or_else(|| "{unknown}".to_owned())),
                None,
            )
        }
    };
    let mut text = format!("```cbp\n{code}\n```");
    if let Some(ty) = occ
        .ty
        .as_ref()
        .filter(|_| !matches!(occ.target, Target::Local { .. } | Target::Field { .. }))
    {
        text.push_str(&format!("\n\nType: `{ty}`"));
    }
    if let Some(docs) = docs {
        text.push_str(&format!("\n\n---\n\n{docs}"));
    }
    Some((text, occ.span))
}

/// What a variant of `std.Layer` or `std.Level` stands for, when it is one.
fn layer_variant(owner: &cbp_check::hir::ItemId, name: &str) -> Option<String> {
    if &*owner.package != "std" {
        return None;
    }
    let text = match &*owner.name {
        "Layer" => glossary::describe_layer(glossary::layer_named(name)?),
        "Level" => glossary::describe_level(glossary::layer_of_level(name)?),
        _ => return None,
    };
    // Without the code block: hover shows the variant's own declaration above.
    Some(
        text.split_once("```\n\n")
            .map_or(text.clone(), |(_, rest)| rest.to_owned()),
    )
}

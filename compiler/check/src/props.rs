//! Plugin, authority and system declarations: their properties, by name and type.

use crate::diag::LocDiag;
use crate::expr::{Cx, with_article};
use crate::hir::{self, FieldValue, ItemId, Layer, Ty};
use crate::scope::STD;
use crate::suggest::did_you_mean;
use crate::table::{Tag, expr_name, level_of};
use cbp_syntax::Span;
use cbp_syntax::ast::{self, Expr, MessageKind};
use std::collections::HashMap;

/// How a property's value is checked.
#[derive(Clone, Copy)]
enum Kind {
    Type(fn() -> Ty),
    Semver,
    /// A list of item names of one kind.
    Items(&'static str, fn(Tag) -> bool),
    /// One item name of one kind.
    Item(&'static str, fn(Tag) -> bool),
}

struct Spec {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn spec(name: &'static str, kind: Kind, required: bool) -> Spec {
    Spec {
        name,
        kind,
        required,
    }
}

fn strings() -> Ty {
    Ty::List(Box::new(Ty::String))
}

fn std_enum(name: &str) -> Ty {
    Ty::Enum(ItemId::new(STD, name))
}

const PLUGIN: &[Spec] = &[
    spec("name", Kind::Type(|| Ty::String), true),
    spec("vendor", Kind::Type(|| Ty::String), true),
    spec("version", Kind::Semver, true),
    spec("capabilities", Kind::Type(strings), false),
    spec("data_sources", Kind::Type(strings), false),
    spec(
        "emits",
        Kind::Items("event", |t| matches!(t, Tag::Message(_))),
        true,
    ),
    spec("latency_sla", Kind::Type(|| Ty::Duration), false),
    spec("scope", Kind::Type(|| std_enum("Layer")), false),
    spec("mode", Kind::Type(|| std_enum("ProcessingMode")), false),
    spec("requires_approval", Kind::Type(|| Ty::Bool), false),
    spec(
        "approval_authority",
        Kind::Item("authority", |t| t == Tag::Authority),
        false,
    ),
];

const AUTHORITY: &[Spec] = &[
    spec("level", Kind::Type(|| std_enum("Level")), true),
    spec(
        "approves",
        Kind::Items("action kind", |t| t == Tag::Action),
        false,
    ),
    spec(
        "overrides",
        Kind::Items("system", |t| t == Tag::System),
        false,
    ),
];

const SYSTEM: &[Spec] = &[
    spec("layer", Kind::Type(|| std_enum("Layer")), true),
    spec("kind", Kind::Type(|| std_enum("SystemKind")), false),
];

/// Checks properties against a spec; returns the checked values and resolved item lists.
fn check_props(
    cx: &mut Cx<'_>,
    what: &str,
    props: &[ast::Property],
    specs: &[Spec],
    span: Span,
) -> (Vec<FieldValue>, HashMap<&'static str, Vec<ItemId>>) {
    let mut values = Vec::new();
    let mut items: HashMap<&'static str, Vec<ItemId>> = HashMap::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for p in props {
        if let Some(prev) = seen.insert(&p.name.name, p.name.span) {
            cx.push(
                LocDiag::error(
                    "E0113",
                    cx.at(p.name.span),
                    format!("property `{}` is given twice", p.name.name),
                )
                .label("duplicate property")
                .secondary(cx.at(prev), "first given here"),
            );
            continue;
        }
        let Some(s) = specs.iter().find(|s| s.name == p.name.name) else {
            let help =
                did_you_mean(&p.name.name, specs.iter().map(|s| s.name)).unwrap_or_else(|| {
                    format!(
                        "{what} properties are {}",
                        specs
                            .iter()
                            .map(|s| format!("`{}`", s.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            cx.push(
                LocDiag::error(
                    "E0411",
                    cx.at(p.name.span),
                    format!("unknown {what} property `{}`", p.name.name),
                )
                .label("unknown property")
                .help(help),
            );
            continue;
        };
        match s.kind {
            Kind::Type(ty) => {
                let (v, _) = cx.expect(&p.value, &ty());
                values.push(FieldValue {
                    name: s.name.into(),
                    value: v,
                });
            }
            Kind::Semver => {
                let (v, _) = cx.expect(&p.value, &Ty::String);
                if let Expr::Str(lit) = &p.value
                    && !is_semver(&lit.value)
                {
                    cx.push(
                        LocDiag::error(
                            "E0420",
                            cx.at(lit.span),
                            format!("`{}` is not a semantic version", lit.value),
                        )
                        .label("expected MAJOR.MINOR.PATCH")
                        .help("write a version like \"2.1.0\""),
                    );
                }
                values.push(FieldValue {
                    name: s.name.into(),
                    value: v,
                });
            }
            Kind::Items(kind_name, ok) => {
                let list: Vec<&Expr> = match &p.value {
                    Expr::List(xs, _) => xs.iter().collect(),
                    other => {
                        cx.push(
                            LocDiag::error(
                                "E0201",
                                cx.at(other.span()),
                                format!("`{}` takes a list of names", s.name),
                            )
                            .label("expected a list")
                            .help(format!("write `{}: [a, b]`", s.name)),
                        );
                        Vec::new()
                    }
                };
                let entry = items.entry(s.name).or_default();
                for x in list {
                    if let Some(id) = item_ref(cx, x, kind_name, ok) {
                        entry.push(id);
                    }
                }
            }
            Kind::Item(kind_name, ok) => {
                if let Some(id) = item_ref(cx, &p.value, kind_name, ok) {
                    items.entry(s.name).or_default().push(id);
                }
            }
        }
    }
    let missing: Vec<String> = specs
        .iter()
        .filter(|s| s.required && !seen.contains_key(s.name))
        .map(|s| format!("`{}`", s.name))
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "y" } else { "ies" };
        cx.push(
            LocDiag::error(
                "E0412",
                cx.at(span),
                format!("{what} is missing propert{s} {}", missing.join(", ")),
            )
            .label("required properties missing")
            .help(format!("add {}", missing.join(", "))),
        );
    }
    (values, items)
}

fn item_ref(cx: &mut Cx<'_>, e: &Expr, what: &str, ok: fn(Tag) -> bool) -> Option<ItemId> {
    let mut chain = Vec::new();
    if !name_chain(e, &mut chain) {
        cx.push(
            LocDiag::error(
                "E0201",
                cx.at(e.span()),
                format!("expected the name of {}", with_article(what)),
            )
            .label("not a name"),
        );
        return None;
    }
    let path = ast::Path {
        segments: chain,
        span: e.span(),
    };
    cx.resolve_kind(&path, what, &ok)
}

fn name_chain(e: &Expr, out: &mut Vec<ast::Ident>) -> bool {
    match e {
        Expr::Name(i) => {
            out.push(i.clone());
            true
        }
        Expr::Field(b, f, _) => {
            let ok = name_chain(b, out);
            out.push(f.clone());
            ok
        }
        _ => false,
    }
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

pub fn check_plugin(cx: &mut Cx<'_>, p: &ast::PluginDecl) -> hir::Plugin {
    let (properties, items) = check_props(cx, "plugin", &p.properties, PLUGIN, p.name.span);
    let emits = items.get("emits").cloned().unwrap_or_default();
    // `emits` must name events: incidents and directives come from rules, not plugins.
    if let Some(prop) = p.properties.iter().find(|x| x.name.name == "emits")
        && let Expr::List(xs, _) = &prop.value
    {
        for (x, id) in xs.iter().zip(&emits) {
            if let Some(sig) = cx.table.get(id)
                && !matches!(sig.tag, Tag::Message(MessageKind::Event))
            {
                cx.push(
                    LocDiag::error(
                        "E0413",
                        cx.at(x.span()),
                        format!(
                            "plugins emit events, but `{}` is {}",
                            id.name,
                            sig.tag.describe()
                        ),
                    )
                    .label("not an event")
                    .secondary(sig.loc, "declared here")
                    .help(format!("declare it `event {}`", id.name)),
                );
            }
        }
    }
    let requires_approval = p
        .properties
        .iter()
        .any(|x| x.name.name == "requires_approval" && matches!(x.value, Expr::Bool(true, _)));
    let approval_authority = items
        .get("approval_authority")
        .and_then(|v| v.first().cloned());
    let has_authority_prop = p
        .properties
        .iter()
        .any(|x| x.name.name == "approval_authority");
    if requires_approval && !has_authority_prop {
        cx.push(
            LocDiag::error(
                "E0414",
                cx.at(p.name.span),
                format!(
                    "plugin `{}` requires approval but names no authority",
                    p.name.name
                ),
            )
            .label("`requires_approval: true` without `approval_authority`")
            .help("add `approval_authority: <authority>`"),
        );
    }
    hir::Plugin {
        model_id: p.model_id.value.clone(),
        properties,
        emits,
        requires_approval,
        approval_authority,
    }
}

pub fn check_authority(cx: &mut Cx<'_>, a: &ast::AuthorityDecl) -> hir::Authority {
    let (_, items) = check_props(cx, "authority", &a.properties, AUTHORITY, a.name.span);
    let level = a
        .properties
        .iter()
        .find(|p| p.name.name == "level")
        .and_then(|p| expr_name(&p.value))
        .and_then(level_of)
        .unwrap_or(1);
    let has_approves = a.properties.iter().any(|p| p.name.name == "approves");
    hir::Authority {
        level,
        approves: has_approves.then(|| items.get("approves").cloned().unwrap_or_default()),
        overrides: items.get("overrides").cloned().unwrap_or_default(),
    }
}

pub fn check_system(cx: &mut Cx<'_>, s: &ast::SystemDecl) -> Option<hir::System> {
    let (_, _) = check_props(cx, "system", &s.properties, SYSTEM, s.name.span);
    let layer = s
        .properties
        .iter()
        .find(|p| p.name.name == "layer")
        .and_then(|p| expr_name(&p.value))
        .and_then(Layer::from_name);
    let kind = s
        .properties
        .iter()
        .find(|p| p.name.name == "kind")
        .and_then(|p| expr_name(&p.value))
        .map(Into::into);
    Some(hir::System {
        layer: layer?,
        kind,
    })
}

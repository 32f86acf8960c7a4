//! Hover for the words of the language that name no item: layers (`local` … `national`),
//! authority levels (`L1` … `L5`) and annotations (`@pii` …). The layer texts follow the
//! seed architecture (its layer and authority tables); the annotation texts follow
//! docs/language.md §4, which a test keeps them in step with.

use cbp_syntax::{Span, ast};

/// One layer of the hierarchy, with the authority level that works at it.
pub struct Layer {
    pub level: u8,
    pub name: &'static str,
    /// The node of the layer, as the seed calls it.
    pub brain: &'static str,
    pub responsible_for: &'static str,
    pub role: &'static str,
    /// The person of an authority at this level.
    pub authority: &'static str,
    pub authority_role: &'static str,
}

pub const LAYERS: [Layer; 5] = [
    Layer {
        level: 1,
        name: "local",
        brain: "neighbourhood brain (Local Brain, at the edge)",
        responsible_for: "a neighbourhood, e.g. `ka.bengaluru.east.indiranagar`",
        role: "real-time sensor data processing, immediate incident detection, local decision execution; events from the plugin models (L0) arrive here",
        authority: "local officer",
        authority_role: "approves or rejects local incidents, overrides systems of the neighbourhood by hand",
    },
    Layer {
        level: 2,
        name: "district",
        brain: "district brain",
        responsible_for: "a district, e.g. `ka.bengaluru.east`",
        role: "district operations coordination, cross-neighbourhood resource sharing, tactical decision-making",
        authority: "district commander",
        authority_role: "cross-neighbourhood coordination, resource reallocation, escalation",
    },
    Layer {
        level: 3,
        name: "city",
        brain: "city brain (metropolitan command centre)",
        responsible_for: "a city, e.g. `ka.bengaluru`",
        role: "city-wide strategy and coordination, major incident command, resource allocation across districts",
        authority: "city commissioner",
        authority_role: "city-wide policy changes, major incident command, budget allocation",
    },
    Layer {
        level: 4,
        name: "state",
        brain: "state brain",
        responsible_for: "a state, e.g. `ka`",
        role: "state-wide emergency coordination, inter-city resource sharing, state policy enforcement",
        authority: "state director",
        authority_role: "state policy, inter-city coordination, state resource allocation",
    },
    Layer {
        level: 5,
        name: "national",
        brain: "national brain",
        responsible_for: "the country",
        role: "national policy coordination, cross-state disaster management, federal resource allocation",
        authority: "national admin",
        authority_role: "national policy, cross-state coordination, system-wide parameters",
    },
];

/// `(name, meaning, where it may stand)` of every annotation (docs/language.md §4).
pub const ANNOTATIONS: [(&str, &str, &str); 7] = [
    (
        "pii",
        "personal data: it must not flow above the local layer (into an escalation, a report, an action on a non-local target, or any action of a rule above local; E0410)",
        "a field of a record or message",
    ),
    (
        "open",
        "the action accepts parameters beyond the declared ones, of any type",
        "an action kind",
    ),
    (
        "sanitizes",
        "its result is not personal data even when its argument is (`tokenize`, `redact`)",
        "a function of the standard library",
    ),
    (
        "aggregate",
        "an aggregate over a report's window; only report fields may call it",
        "a function of the standard library",
    ),
    (
        "unit",
        "documents the unit of a plain number, as in `@unit(\"kmh\")`; the checker does not use it",
        "a field, or an action kind's parameter",
    ),
    (
        "retention",
        "documents how long the data is kept, as in `@retention(\"30d\")`; the checker does not use it",
        "a record or a message",
    ),
    (
        "deprecated",
        "documents that the item is on its way out, optionally why: `@deprecated(\"why\")`; the checker does not use it",
        "any item",
    ),
];

pub fn layer_named(name: &str) -> Option<&'static Layer> {
    LAYERS.iter().find(|l| l.name == name)
}

pub fn layer_of_level(level: &str) -> Option<&'static Layer> {
    let n: u8 = level.strip_prefix('L')?.parse().ok()?;
    LAYERS.iter().find(|l| l.level == n)
}

/// Markdown about a layer, named by its layer name.
pub fn describe_layer(l: &Layer) -> String {
    format!(
        "```cbp\n{} // layer L{}\n```\n\nThe **{}**: responsible for {}.\n\n{}.\n\nAuthorities of level `L{}` ({}) work here.",
        l.name,
        l.level,
        l.brain,
        l.responsible_for,
        capitalised(l.role),
        l.level,
        l.authority
    )
}

/// Markdown about an authority level.
pub fn describe_level(l: &Layer) -> String {
    format!(
        "```cbp\nL{} // authority level\n```\n\nA **{}**, working at layer `{}`: the {}. {}.\n\nMay approve rules of layer `{}` and below.",
        l.level,
        l.authority,
        l.name,
        l.brain,
        capitalised(l.authority_role),
        l.name
    )
}

pub fn describe_annotation(name: &str) -> Option<String> {
    let (_, meaning, on) = ANNOTATIONS.iter().find(|(n, _, _)| *n == name)?;
    Some(format!(
        "```cbp\n@{name} // annotation\n```\n\n{}.\n\nAllowed on: {on}.",
        capitalised(meaning)
    ))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What the word at `offset` is, when it is a layer, a level or an annotation.
pub fn hover(file: &ast::SourceFile, offset: u32) -> Option<(String, Span)> {
    let on = |span: Span| span.start <= offset && offset <= span.end;
    for item in &file.items {
        if !on(item.span()) {
            continue;
        }
        for a in annotations(item) {
            if on(a.span) {
                let text = describe_annotation(&a.name.name)?;
                return Some((text, a.span));
            }
        }
        for (ident, kind) in layer_words(item) {
            if on(ident.span) {
                let text = match kind {
                    Word::Layer => describe_layer(layer_named(&ident.name)?),
                    Word::Level => describe_level(layer_of_level(&ident.name)?),
                };
                return Some((text, ident.span));
            }
        }
    }
    None
}

/// The annotations of an item and of its fields.
fn annotations(item: &ast::Item) -> Vec<&ast::Annotation> {
    let (own, fields): (&[ast::Annotation], &[ast::FieldDecl]) = match item {
        ast::Item::Enum(d) => (&d.annotations, &[]),
        ast::Item::Record(d) => (&d.annotations, &d.fields),
        ast::Item::Message(d) => (&d.annotations, &d.fields),
        ast::Item::Plugin(d) => (&d.annotations, &[]),
        ast::Item::Authority(d) => (&d.annotations, &[]),
        ast::Item::System(d) => (&d.annotations, &[]),
        ast::Item::Action(d) => (&d.annotations, &d.params),
        ast::Item::Const(d) => (&d.annotations, &[]),
        ast::Item::Fn(d) => (&d.annotations, &[]),
        ast::Item::Rule(d) => (&d.annotations, &[]),
        ast::Item::Report(d) => (&d.annotations, &[]),
        ast::Item::Test(_) | ast::Item::Error(_) => (&[], &[]),
    };
    own.iter()
        .chain(fields.iter().flat_map(|f| &f.annotations))
        .collect()
}

enum Word {
    Layer,
    Level,
}

/// Layer names and levels written where the grammar or a property wants one: `rule … at L`,
/// `report … at L … to L`, `escalate … to L`, `layer:`/`scope:` of systems and plugins,
/// `level:` of authorities.
fn layer_words(item: &ast::Item) -> Vec<(&ast::Ident, Word)> {
    fn property<'p>(ps: &'p [ast::Property], name: &str) -> Option<&'p ast::Ident> {
        match &ps.iter().find(|p| p.name.name == name)?.value {
            ast::Expr::Name(n) => Some(n),
            _ => None,
        }
    }
    let mut out = Vec::new();
    match item {
        ast::Item::Rule(r) => {
            out.push((&r.layer, Word::Layer));
            for c in &r.clauses {
                let actions = match c {
                    ast::RuleClause::Then(b) => &b.actions,
                    ast::RuleClause::OnOutcome(o) => &o.block.actions,
                    ast::RuleClause::NoResponse(n) => &n.block.actions,
                    _ => continue,
                };
                for a in actions {
                    if let ast::Action::Escalate(e) = a {
                        out.push((&e.to, Word::Layer));
                    }
                }
            }
        }
        ast::Item::Report(r) => {
            out.push((&r.layer, Word::Layer));
            out.push((&r.to, Word::Layer));
        }
        ast::Item::System(s) => {
            out.extend(property(&s.properties, "layer").map(|n| (n, Word::Layer)))
        }
        ast::Item::Plugin(p) => {
            out.extend(property(&p.properties, "scope").map(|n| (n, Word::Layer)))
        }
        ast::Item::Authority(a) => {
            out.extend(property(&a.properties, "level").map(|n| (n, Word::Level)));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The annotation table of docs/language.md §4 and this one name the same annotations.
    #[test]
    fn annotations_match_the_language_reference() {
        let doc = include_str!("../../docs/language.md");
        let section = &doc[doc.find("## 4. Annotations").unwrap_or(0)..];
        let section = &section[..section.find("\n## 5").unwrap_or(section.len())];
        let mut documented: Vec<String> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `@"))
            .map(|l| {
                l.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        documented.sort();
        documented.dedup();
        let mut ours: Vec<String> = ANNOTATIONS.iter().map(|a| a.0.to_owned()).collect();
        ours.sort();
        assert_eq!(documented, ours);
    }

    /// The first line of the hover on the first occurrence of `word` in `source`.
    fn title(source: &str, word: &str) -> Option<String> {
        let parsed = cbp_syntax::parse("/t.cbp", source);
        let offset = u32::try_from(source.find(word)? + 1).ok()?;
        let (text, span) = hover(&parsed.file, offset)?;
        assert!(source[span.range()].starts_with(word));
        text.lines().nth(1).map(str::to_owned)
    }

    #[test]
    fn item_annotations_and_layer_properties_are_explained() {
        let source = "@open\naction a { }\n@deprecated(\"old\")\nsystem s { layer: district }\nplugin \"p\" as p { scope: state }\nreport r at city every 1h to state { }\n";
        assert_eq!(
            title(source, "@open").as_deref(),
            Some("@open // annotation")
        );
        assert_eq!(
            title(source, "@deprecated").as_deref(),
            Some("@deprecated // annotation")
        );
        assert_eq!(
            title(source, "district").as_deref(),
            Some("district // layer L2")
        );
        assert_eq!(title(source, "state").as_deref(), Some("state // layer L4"));
        assert_eq!(title(source, "city").as_deref(), Some("city // layer L3"));
        assert_eq!(title("@nope\nconst A: int = 1\n", "@nope"), None);
        assert_eq!(title("rule r at locl { }\n", "locl"), None);
    }

    #[test]
    fn levels_and_layers_pair_up() {
        assert_eq!(layer_of_level("L1").map(|l| l.name), Some("local"));
        assert_eq!(layer_of_level("L5").map(|l| l.name), Some("national"));
        assert!(layer_of_level("L6").is_none());
        assert!(layer_of_level("local").is_none());
        for l in &LAYERS {
            let hir = cbp_check::hir::Layer::from_name(l.name);
            assert_eq!(hir.map(|h| h.level()), Some(l.level), "{}", l.name);
        }
    }
}

//! Annotations: which exist, where each may stand, and who may use them.
//!
//! `@sanitizes` and `@aggregate` change what the checker proves (a sanitizer's result is not
//! personal data; an aggregate may only run in reports), so only the standard library may
//! use them: a user function marked `@sanitizes` could launder personal data past E0410.

use crate::diag::LocDiag;
use crate::expr::Cx;
use crate::suggest::closest;
use cbp_syntax::ast::{self, Annotation, Expr, Item, MessageKind};

/// What an annotation stands on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Item(Target),
    /// A field of a record or message, or a parameter of an action kind.
    Field {
        in_action: bool,
    },
}

/// The kinds of item an annotation can stand on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Enum,
    Record,
    Message(MessageKind),
    Plugin,
    Authority,
    System,
    Action,
    Const,
    Fn,
    Rule,
    Report,
}

impl Target {
    fn describe(self) -> &'static str {
        match self {
            Target::Enum => "an enum",
            Target::Record => "a record",
            Target::Message(MessageKind::Event) => "an event",
            Target::Message(MessageKind::Incident) => "an incident",
            Target::Message(MessageKind::Directive) => "a directive",
            Target::Plugin => "a plugin",
            Target::Authority => "an authority",
            Target::System => "a system",
            Target::Action => "an action kind",
            Target::Const => "a constant",
            Target::Fn => "a function",
            Target::Rule => "a rule",
            Target::Report => "a report",
        }
    }
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Item(t) => t.describe(),
            Place::Field { in_action: false } => "a field",
            Place::Field { in_action: true } => "an action parameter",
        }
    }
}

/// The arguments an annotation takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Args {
    None,
    /// One string, like `@unit("kmh")`.
    OneString,
    /// Nothing or one string, like `@deprecated` or `@deprecated("use x")`.
    OptionalString,
}

struct Known {
    name: &'static str,
    /// Where it may stand, in words, for the help line of E0117.
    allowed_on: &'static str,
    allows: fn(Place) -> bool,
    args: Args,
    std_only: bool,
}

/// Every annotation the language knows. Keep docs/language.md §4 in step with this table.
const KNOWN: &[Known] = &[
    Known {
        name: "pii",
        allowed_on: "a field of a record or message",
        allows: |p| p == Place::Field { in_action: false },
        args: Args::None,
        std_only: false,
    },
    Known {
        name: "open",
        allowed_on: "an action kind",
        allows: |p| p == Place::Item(Target::Action),
        args: Args::None,
        std_only: false,
    },
    Known {
        name: "sanitizes",
        allowed_on: "a function of the standard library",
        allows: |p| p == Place::Item(Target::Fn),
        args: Args::None,
        std_only: true,
    },
    Known {
        name: "aggregate",
        allowed_on: "a function of the standard library",
        allows: |p| p == Place::Item(Target::Fn),
        args: Args::None,
        std_only: true,
    },
    Known {
        name: "unit",
        allowed_on: "a field or an action parameter",
        allows: |p| matches!(p, Place::Field { .. }),
        args: Args::OneString,
        std_only: false,
    },
    Known {
        name: "retention",
        allowed_on: "a record or a message",
        allows: |p| matches!(p, Place::Item(Target::Record | Target::Message(_))),
        args: Args::OneString,
        std_only: false,
    },
    Known {
        name: "deprecated",
        allowed_on: "an item",
        allows: |p| matches!(p, Place::Item(_)),
        args: Args::OptionalString,
        std_only: false,
    },
];

/// The names of the known annotations, for documentation and tests.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().map(|k| k.name)
}

/// Checks the annotations of an item and of its fields.
pub fn check(cx: &mut Cx<'_>, item: &Item, is_std: bool) {
    let (target, anns, fields): (Target, &[Annotation], &[ast::FieldDecl]) = match item {
        Item::Enum(d) => (Target::Enum, &d.annotations, &[]),
        Item::Record(d) => (Target::Record, &d.annotations, &d.fields),
        Item::Message(d) => (Target::Message(d.kind), &d.annotations, &d.fields),
        Item::Plugin(d) => (Target::Plugin, &d.annotations, &[]),
        Item::Authority(d) => (Target::Authority, &d.annotations, &[]),
        Item::System(d) => (Target::System, &d.annotations, &[]),
        Item::Action(d) => (Target::Action, &d.annotations, &d.params),
        Item::Const(d) => (Target::Const, &d.annotations, &[]),
        Item::Fn(d) => (Target::Fn, &d.annotations, &[]),
        Item::Rule(d) => (Target::Rule, &d.annotations, &[]),
        Item::Report(d) => (Target::Report, &d.annotations, &[]),
        Item::Test(_) | Item::Error(_) => return,
    };
    for a in anns {
        check_one(cx, a, Place::Item(target), is_std);
    }
    let in_action = target == Target::Action;
    for f in fields {
        for a in &f.annotations {
            check_one(cx, a, Place::Field { in_action }, is_std);
        }
    }
}

fn check_one(cx: &mut Cx<'_>, a: &Annotation, place: Place, is_std: bool) {
    let name = a.name.name.as_str();
    let Some(known) = KNOWN.iter().find(|k| k.name == name) else {
        let help = match closest(name, known_names()) {
            Some(c) => format!("did you mean `@{c}`?"),
            None => {
                let all: Vec<String> = known_names().map(|n| format!("`@{n}`")).collect();
                format!("annotations are {}", all.join(", "))
            }
        };
        cx.push(
            LocDiag::error(
                "E0116",
                cx.at(a.span),
                format!("unknown annotation `@{name}`"),
            )
            .label("not an annotation")
            .help(help),
        );
        return;
    };
    if !(known.allows)(place) {
        cx.push(
            LocDiag::error(
                "E0117",
                cx.at(a.span),
                format!("`@{name}` cannot stand on {}", place.describe()),
            )
            .label("misplaced annotation")
            .help(format!(
                "`@{name}` belongs on {}; remove it here",
                known.allowed_on
            )),
        );
        return;
    }
    if known.std_only && !is_std {
        cx.push(
            LocDiag::error(
                "E0118",
                cx.at(a.span),
                format!("`@{name}` is reserved for the standard library"),
            )
            .label(if name == "sanitizes" {
                "a policy may not declare its own sanitizer"
            } else {
                "a policy may not declare its own aggregate"
            })
            .help(if name == "sanitizes" {
                "remove it; make personal data safe with `tokenize(…)` or `redact(…)`"
            } else {
                "remove it; reports can call the aggregates of `std`"
            }),
        );
        return;
    }
    check_args(cx, a, known.args);
}

fn check_args(cx: &mut Cx<'_>, a: &Annotation, args: Args) {
    let name = a.name.name.as_str();
    let one_string = matches!(a.args.as_slice(), [Expr::Str(_)]);
    let (ok, want) = match args {
        Args::None => (
            a.args.is_empty(),
            format!("write `@{name}` without arguments"),
        ),
        Args::OneString => (one_string, format!("write `@{name}(\"…\")`")),
        Args::OptionalString => (
            a.args.is_empty() || one_string,
            format!("write `@{name}` or `@{name}(\"why\")`"),
        ),
    };
    if !ok {
        cx.push(
            LocDiag::error(
                "E0119",
                cx.at(a.span),
                format!("wrong arguments for `@{name}`"),
            )
            .label("wrong arguments")
            .help(want),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_only_annotations_are_the_ones_that_weaken_checks() {
        let std_only: Vec<&str> = KNOWN
            .iter()
            .filter(|k| k.std_only)
            .map(|k| k.name)
            .collect();
        assert_eq!(std_only, ["sanitizes", "aggregate"]);
    }

    #[test]
    fn pii_is_allowed_on_fields_only() {
        let pii = KNOWN.iter().find(|k| k.name == "pii").map(|k| k.allows);
        let pii = pii.unwrap_or(|_| false);
        assert!(pii(Place::Field { in_action: false }));
        assert!(!pii(Place::Field { in_action: true }));
        assert!(!pii(Place::Item(Target::Const)));
        assert!(!pii(Place::Item(Target::Rule)));
        assert!(!pii(Place::Item(Target::Message(MessageKind::Event))));
    }
}

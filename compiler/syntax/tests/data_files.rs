//! The fixtures in `tests/data/parse`: `ok/` files parse cleanly, each `err/` file reports
//! the error its first line names, and recovery keeps the rest of the tree.
#![allow(clippy::unwrap_used)] // test helpers may panic

mod common;

use cbp_syntax::ast::*;
use cbp_syntax::{Parsed, parse};
use common::{codes, span_violations};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn data_dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/parse")
        .join(kind)
}

fn files(kind: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(data_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbp"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn parse_err(name: &str) -> Parsed {
    let text = std::fs::read_to_string(data_dir("err").join(name)).unwrap();
    parse(name, &text)
}

#[test]
fn ok_files_parse_without_diagnostics() {
    let files = files("ok");
    assert!(files.len() >= 15, "only {} ok files", files.len());
    for (name, text) in &files {
        let parsed = parse(name, text);
        assert!(
            parsed.diagnostics.is_empty(),
            "{name}: {:#?}",
            parsed.diagnostics
        );
        assert!(!parsed.file.items.is_empty(), "{name}: no items");
        assert!(
            !parsed
                .file
                .items
                .iter()
                .any(|i| matches!(i, Item::Error(_))),
            "{name}"
        );
        let problems = span_violations(&parsed.file, text.len());
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

#[test]
fn err_files_report_the_error_they_describe() {
    let files = files("err");
    assert!(files.len() >= 30, "only {} err files", files.len());
    let mut seen = BTreeSet::new();
    for (name, text) in &files {
        let first = text.lines().next().unwrap_or("");
        let code = first
            .strip_prefix("// ")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("{name}: first line must be `// E00xx: what is wrong`"));
        let parsed = parse(name, text);
        let got = codes(&parsed.diagnostics);
        assert!(got.contains(&code), "{name}: expected {code}, got {got:?}");
        for d in &parsed.diagnostics {
            assert!(
                d.code.starts_with("E00"),
                "{name}: {} outside the syntax range",
                d.code
            );
            assert!(
                d.primary.span.end as usize <= text.len(),
                "{name}: span past the end"
            );
            assert!(
                !d.message.ends_with('.'),
                "{name}: message ends with a period"
            );
            assert_eq!(d.primary.file, *name);
        }
        let problems = span_violations(&parsed.file, text.len());
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        seen.insert(code.to_owned());
    }
    let all: BTreeSet<String> = (1..=16).map(|n| format!("E{n:04}")).collect();
    let missing: Vec<&String> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "codes without an err file: {missing:?}");
}

#[test]
fn every_error_in_a_file_is_reported() {
    assert_eq!(
        codes(&parse_err("16_two_errors_both_reported.cbp").diagnostics),
        ["E0001", "E0001"]
    );
    assert_eq!(
        codes(&parse_err("42_errors_in_three_items.cbp").diagnostics),
        ["E0001", "E0001", "E0001"]
    );
    let parsed = parse_err("16_two_errors_both_reported.cbp");
    let names: Vec<&str> = parsed
        .file
        .items
        .iter()
        .filter_map(|i| i.name())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["A", "OK", "B"], "the broken records are kept");
}

fn record_fields(parsed: &Parsed, index: usize) -> Vec<String> {
    match &parsed.file.items[index] {
        Item::Record(r) => r.fields.iter().map(|f| f.name.name.clone()).collect(),
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn a_bad_field_keeps_the_record() {
    // The broken field is kept by name, with an error type, so that its uses are not
    // reported as unknown fields; the leftovers of the mistake (`float`) are not a field.
    let parsed = parse_err("17_bad_field_keeps_record.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    assert_eq!(record_fields(&parsed, 0), ["id", "angle", "zone_name"]);
    let Item::Record(r) = &parsed.file.items[0] else {
        panic!()
    };
    assert!(matches!(r.fields[1].ty, TypeExpr::Error(_)));
    assert!(matches!(r.fields[2].ty, TypeExpr::Named(_)));
    let parsed = parse_err("01_missing_colon_in_field.cbp");
    assert_eq!(record_fields(&parsed, 0), ["plate", "speed_kmh"]);
}

fn rule(parsed: &Parsed, index: usize) -> &RuleDecl {
    match &parsed.file.items[index] {
        Item::Rule(r) => r,
        other => panic!("not a rule: {other:?}"),
    }
}

#[test]
fn a_bad_clause_keeps_the_rule() {
    let parsed = parse_err("18_bad_rule_clause.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    let r = rule(&parsed, 2);
    let kinds: Vec<&str> = r
        .clauses
        .iter()
        .map(|c| match c {
            RuleClause::On(_) => "on",
            RuleClause::Then(_) => "then",
            RuleClause::Error(_) => "error",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["on", "error", "then"]);
    let RuleClause::Error(span) = r.clauses[1] else {
        panic!()
    };
    let text = std::fs::read_to_string(data_dir("err").join("18_bad_rule_clause.cbp")).unwrap();
    assert_eq!(&text[span.range()], "unless p.source == \"test\"");
}

#[test]
fn a_bad_action_keeps_the_block() {
    let parsed = parse_err("19_bad_action.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    let r = rule(&parsed, 2);
    let RuleClause::Then(block) = &r.clauses[1] else {
        panic!("{:?}", r.clauses)
    };
    assert_eq!(block.actions.len(), 2);
    assert!(matches!(block.actions[0], Action::Error(_)));
    assert!(matches!(&block.actions[1], Action::Invoke(a) if a.target.dotted() == "board"));
}

#[test]
fn a_bad_step_keeps_the_test() {
    let parsed = parse_err("20_bad_test_step.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    let Item::Test(t) = &parsed.file.items[1] else {
        panic!()
    };
    assert!(matches!(t.steps[0], TestStep::Send(_)));
    assert!(matches!(t.steps[1], TestStep::Error(_)));
    assert!(matches!(t.steps[2], TestStep::Advance(..)));
}

#[test]
fn a_bad_property_keeps_the_others() {
    let parsed = parse_err("29_bad_plugin_property.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    let Item::Plugin(p) = &parsed.file.items[1] else {
        panic!()
    };
    // The broken property is kept by name, with an error value, so that it is not reported
    // as missing.
    let names: Vec<&str> = p.properties.iter().map(|p| p.name.name.as_str()).collect();
    assert_eq!(names, ["name", "vendor", "version", "emits"]);
    assert!(matches!(p.properties[1].value, Expr::Error(_)));
    assert!(matches!(p.properties[2].value, Expr::Str(_)));
}

#[test]
fn a_bad_match_arm_keeps_its_pattern() {
    let parsed = parse_err("31_match_arm_without_arrow.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    let Item::Fn(f) = &parsed.file.items[1] else {
        panic!()
    };
    let Some(Expr::Match(_, arms, _)) = &f.body else {
        panic!("{:?}", f.body)
    };
    // `clear 0`: the arm `clear` is kept with an error body; `0` is not an arm.
    assert_eq!(arms.len(), 2, "{arms:?}");
    assert!(matches!(&arms[0].pattern, Pattern::Name(p) if p.dotted() == "clear"));
    assert!(matches!(arms[0].body, Expr::Error(_)));
    assert!(matches!(arms[1].body, Expr::Int(1, _)));
}

/// The expressions of every clause of rule `index`, in order (`let` values, `when`…).
fn clause_exprs(parsed: &Parsed, index: usize) -> Vec<&Expr> {
    rule(parsed, index)
        .clauses
        .iter()
        .filter_map(|c| match c {
            RuleClause::When(e, _) | RuleClause::Priority(e, _) => Some(e),
            RuleClause::Let(l) => Some(&l.value),
            RuleClause::Correlate(c) => c.window.as_ref(),
            _ => None,
        })
        .collect()
}

// One mistake, one diagnostic: where the parser has reported an error, it leaves an error
// node, which the checker accepts silently, not a well-formed but wrong subtree that the
// checker would report again.

#[test]
fn a_chained_comparison_is_an_error_node() {
    let parsed = parse_err("05_chained_comparison.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0005"]);
    let exprs = clause_exprs(&parsed, 2);
    let text = std::fs::read_to_string(data_dir("err").join("05_chained_comparison.cbp")).unwrap();
    assert!(
        matches!(exprs[..], [Expr::Error(s)] if &text[s.range()] == "10 < r.value < 20"),
        "{exprs:?}"
    );
    // A longer chain is reported once and is one error node.
    let parsed = parse_err("45_chained_comparison_in_let.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0005"]);
    let exprs = clause_exprs(&parsed, 2);
    assert!(matches!(exprs[0], Expr::Error(_)), "{exprs:?}");
    assert!(matches!(exprs[1], Expr::Name(_)), "{exprs:?}");
}

#[test]
fn a_quantity_with_an_unknown_unit_is_an_error_node() {
    for (file, item) in [
        ("09_invalid_unit.cbp", 0),
        ("39_invalid_quantity_suffix.cbp", 0),
    ] {
        let parsed = parse_err(file);
        assert_eq!(codes(&parsed.diagnostics), ["E0009"], "{file}");
        let Item::Const(c) = &parsed.file.items[item] else {
            panic!()
        };
        assert!(matches!(c.value, Expr::Error(_)), "{file}: {:?}", c.value);
    }
    let parsed = parse_err("46_invalid_unit_in_window.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0009"]);
    assert!(matches!(clause_exprs(&parsed, 2)[..], [Expr::Error(_)]));
    // Known units are untouched.
    let parsed = parse("t.cbp", "const A = 5min\nconst B = 2km\n");
    assert!(
        parsed
            .file
            .items
            .iter()
            .all(|i| matches!(i, Item::Const(c) if matches!(c.value, Expr::Quantity(_))))
    );
}

#[test]
fn an_expression_cut_short_by_recovery_is_an_error_node() {
    let parsed = parse_err("25_assignment_instead_of_equality.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0001"]);
    assert!(matches!(clause_exprs(&parsed, 2)[..], [Expr::Error(_)]));

    let parsed = parse_err("47_cut_short_let_and_property.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0001", "E0001"]);
    let exprs = clause_exprs(&parsed, 2);
    assert!(matches!(exprs[0], Expr::Error(_)), "the `let`: {exprs:?}");
    assert!(
        matches!(exprs[1], Expr::Binary(..)),
        "the `when`: {exprs:?}"
    );
    let then = rule(&parsed, 2).clauses.iter().find_map(|c| match c {
        RuleClause::Then(block) => Some(block),
        _ => None,
    });
    let block = then.unwrap();
    let Action::Invoke(alert) = &block.actions[0] else {
        panic!()
    };
    assert!(matches!(alert.params[0].value, Expr::Error(_)));
}

#[test]
fn a_complete_expression_before_a_stray_token_is_kept() {
    // `}` or a keyword cannot continue an expression: the one before it is complete.
    let parsed = parse_err("22_stray_closing_brace.cbp");
    let Item::Const(c) = &parsed.file.items[0] else {
        panic!()
    };
    assert!(matches!(c.value, Expr::Int(1, _)));
    let src = "rule r at local {\n    when a.b\n    every c\n    priority 1 2\n}\n";
    let parsed = parse("t.cbp", src);
    let exprs = clause_exprs(&parsed, 0);
    assert!(
        matches!(exprs[..], [Expr::Field(..), Expr::Error(_)]),
        "{exprs:?}"
    );
}

#[test]
fn an_untyped_constant_with_a_broken_value_is_an_error_node() {
    for file in [
        "48_untyped_const_with_broken_value.cbp",
        "32_unexpected_end_of_file.cbp",
        "37_bang_for_not.cbp",
    ] {
        let parsed = parse_err(file);
        assert_eq!(
            parsed.diagnostics.len(),
            1,
            "{file}: {:#?}",
            parsed.diagnostics
        );
        let broken = parsed
            .file
            .items
            .iter()
            .filter(|i| matches!(i, Item::Const(c) if matches!(c.value, Expr::Error(_))))
            .count();
        assert_eq!(broken, 1, "{file}: {:#?}", parsed.file.items);
    }
}

#[test]
fn an_unclosed_rule_is_still_a_rule() {
    let parsed = parse_err("02_unclosed_rule_at_eof.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0002"]);
    let d = &parsed.diagnostics[0];
    assert_eq!(d.secondary.len(), 1, "points at the unclosed brace");
    let r = rule(&parsed, 2);
    assert_eq!(r.clauses.len(), 2);
}

#[test]
fn a_missing_brace_does_not_swallow_the_next_items() {
    let parsed = parse_err("43_unclosed_brace_before_next_item.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0015", "E0015"]);
    let names: Vec<&str> = parsed
        .file
        .items
        .iter()
        .filter_map(|i| i.name())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["Camera", "ping", "board", "pinged", "AFTER"]);
    assert_eq!(record_fields(&parsed, 0), ["id", "zone_name"]);
    let r = rule(&parsed, 3);
    assert_eq!(r.clauses.len(), 2);
    let d = &parsed.diagnostics[0];
    assert_eq!(d.secondary[0].message, "the next item starts here");
}

#[test]
fn errors_after_unknown_characters_are_not_repeated() {
    let parsed = parse_err("08_unknown_character.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0008"]);
    let parsed = parse_err("34_semicolon.cbp");
    assert_eq!(codes(&parsed.diagnostics), ["E0008"]);
    assert_eq!(parsed.file.items.len(), 2);
}

#[test]
fn diagnostics_are_readable() {
    let d = &parse_err("01_missing_colon_in_field.cbp").diagnostics[0];
    assert_eq!(d.message, "expected `:`, found identifier `string`");
    let d = &parse_err("23_keyword_as_item_name.cbp").diagnostics[0];
    assert_eq!(d.message, "expected an identifier, found keyword `event`");
    assert!(d.help.as_deref().unwrap_or("").contains("keyword"));
    let d = &parse_err("25_assignment_instead_of_equality.cbp").diagnostics[0];
    assert!(d.help.as_deref().unwrap_or("").contains("`==`"));
    let d = &parse_err("18_bad_rule_clause.cbp").diagnostics[0];
    assert_eq!(d.message, "unexpected identifier `unless`");
    assert!(d.help.as_deref().unwrap_or("").contains("a rule clause"));
    let d = &parse_err("32_unexpected_end_of_file.cbp").diagnostics[0];
    assert_eq!(d.code, "E0002");
    assert_eq!(d.primary.message, "expected an expression");
}

#[test]
fn item_shaped_test_steps_are_not_new_items() {
    let src = "test \"t\" {\n    expect\naction notify { target: board }\n    expect no 2\naction notify {}\n}\n";
    let parsed = parse("t.cbp", src);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let Item::Test(t) = &parsed.file.items[0] else {
        panic!()
    };
    assert_eq!(t.steps.len(), 2);
    // Keyword variants that look like the start of an item.
    let src = "enum E {\n    ordered\n    enum\n    rule\n    x\n    at\n    extern\n    fn\n}\n";
    let parsed = parse("t.cbp", src);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let Item::Enum(e) = &parsed.file.items[0] else {
        panic!()
    };
    assert_eq!(e.variants.len(), 7);
}

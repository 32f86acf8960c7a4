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
    let parsed = parse_err("17_bad_field_keeps_record.cbp");
    assert_eq!(parsed.diagnostics.len(), 1);
    assert_eq!(record_fields(&parsed, 0), ["id", "zone_name"]);
    let parsed = parse_err("01_missing_colon_in_field.cbp");
    assert_eq!(record_fields(&parsed, 0), ["speed_kmh"]);
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
    let names: Vec<&str> = p.properties.iter().map(|p| p.name.name.as_str()).collect();
    assert_eq!(names, ["name", "version", "emits"]);
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

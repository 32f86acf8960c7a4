//! Trees of small inputs: every construct of the grammar, precedence, spans and docs.
#![allow(clippy::unwrap_used)] // test helpers may panic

mod common;

use cbp_syntax::ast::*;
use cbp_syntax::parse;
use common::{codes, show_expr, span_violations};

fn parse_ok(src: &str) -> SourceFile {
    let parsed = parse("t.cbp", src);
    assert!(
        parsed.diagnostics.is_empty(),
        "unexpected diagnostics: {:#?}",
        parsed.diagnostics
    );
    let problems = span_violations(&parsed.file, src.len());
    assert!(problems.is_empty(), "{problems:#?}");
    parsed.file
}

/// The value of `const X = <src>`, rendered.
fn expr(src: &str) -> String {
    let file = parse_ok(&format!("const X = {src}"));
    match &file.items[0] {
        Item::Const(c) => show_expr(&c.value),
        other => panic!("not a const: {other:?}"),
    }
}

/// Like [`expr`], for an expression with errors.
fn expr_lenient(src: &str) -> String {
    let parsed = parse("t.cbp", &format!("const X = {src}"));
    match &parsed.file.items[0] {
        Item::Const(c) => show_expr(&c.value),
        other => panic!("not a const: {other:?}"),
    }
}

fn rule_clauses(src: &str) -> Vec<RuleClause> {
    let file = parse_ok(&format!("rule r at local {{ {src} }}"));
    match file.items.into_iter().next() {
        Some(Item::Rule(r)) => r.clauses,
        other => panic!("not a rule: {other:?}"),
    }
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(expr("1 + 2 * 3 - 4"), "((1 + (2 * 3)) - 4)");
    assert_eq!(
        expr("a or b and not c == d"),
        "(a or (b and (not (c == d))))"
    );
    assert_eq!(expr("a ?? b + c"), "(a ?? (b + c))");
    assert_eq!(expr("a + b ?? c"), "((a + b) ?? c)");
    assert_eq!(expr("-a * b % c / d"), "((((-a) * b) % c) / d)");
    assert_eq!(expr("x in [1, 2,]"), "(x in [1, 2])");
    assert_eq!(expr("(a + b) * c"), "((paren (a + b)) * c)");
    assert_eq!(expr("not not a"), "(not (not a))");
    assert_eq!(expr("- -1"), "(-(-1))");
}

#[test]
fn postfix_paths_and_calls() {
    assert_eq!(expr("a.b.c"), "a.b.c");
    assert_eq!(
        expr("std.geo.distance(a, b).km"),
        "std.geo.distance(a, b).km"
    );
    assert_eq!(expr("f()"), "f()");
    assert_eq!(expr("ApprovalAction.escalate"), "ApprovalAction.escalate");
    assert_eq!(expr("v.in.and.or.rule"), "v.in.and.or.rule");
    assert_eq!(
        expr("[approve, reject, escalate]"),
        "[approve, reject, escalate]"
    );
    assert_eq!(expr("(x).y"), "(paren x).y");
    // A path is a name followed by field accesses.
    let file = parse_ok("const X = a.b");
    let Item::Const(c) = &file.items[0] else {
        panic!()
    };
    let Expr::Field(base, field, span) = &c.value else {
        panic!("{:?}", c.value)
    };
    assert!(matches!(&**base, Expr::Name(i) if i.name == "a"));
    assert_eq!(field.name, "b");
    assert_eq!(span.range(), 10..13);
}

#[test]
fn literals() {
    assert_eq!(
        expr("[1, 2.5, 30m, 1.5km, \"s\", true, false]"),
        "[1, 2.5, 30m, 1.5km, \"s\", true, false]"
    );
    assert_eq!(
        expr("{ latitude: 1.0, longitude: 2.0 }"),
        "{ latitude: 1.0, longitude: 2.0 }"
    );
    assert_eq!(
        expr("{ priority: high  message: \"x\" }"),
        "{ priority: high, message: \"x\" }"
    );
    assert_eq!(expr("{}"), "{ }");
    assert_eq!(expr("[]"), "[]");
}

#[test]
fn if_and_match() {
    assert_eq!(expr("if a then b else c + 1"), "(if a then b else (c + 1))");
    assert_eq!(
        expr("if a then if b then c else d else e"),
        "(if a then (if b then c else d) else e)"
    );
    assert_eq!(
        expr("x + (if c then 1 else 2)"),
        "(x + (paren (if c then 1 else 2)))"
    );
    assert_eq!(
        expr(
            "match s { Severity.high => 1, low => 2 \"x\" => 3, 4 => 4 true => 5, escalate => 6, _ => 0 }"
        ),
        "(match s { Severity.high => 1; low => 2; \"x\" => 3; 4 => 4; true => 5; escalate => 6; _ => 0; })"
    );
}

#[test]
fn chained_comparison_is_reported_and_becomes_an_error_node() {
    let parsed = parse("t.cbp", "const X = a < b < c");
    assert_eq!(codes(&parsed.diagnostics), ["E0005"]);
    let Item::Const(c) = &parsed.file.items[0] else {
        panic!()
    };
    // An error node over the whole chain, so that the checker does not report it again.
    assert_eq!(show_expr(&c.value), "<error>");
    assert_eq!(c.value.span(), cbp_syntax::Span::new(10, 19));
    // Inside a larger expression, only the chain is replaced.
    assert_eq!(
        expr_lenient("x and a < b < c or y"),
        "((x and <error>) or y)"
    );
    // Parentheses make it explicit and accepted.
    assert_eq!(expr("(a < b) == c"), "((paren (a < b)) == c)");
    assert_eq!(
        codes(&parse("t.cbp", "const X = a == b in c").diagnostics),
        ["E0005"]
    );
    // A long chain is reported once.
    assert_eq!(
        codes(&parse("t.cbp", "const X = a < b < c < d < e").diagnostics),
        ["E0005"]
    );
}

#[test]
fn package_and_imports() {
    let file = parse_ok(
        "/// The traffic package.\npackage city.traffic\nimport std.geo\nimport std.geo.{distance, GeoPoint,}",
    );
    let package = file.package.as_ref().unwrap();
    assert_eq!(package.path.dotted(), "city.traffic");
    assert_eq!(package.docs.lines, ["The traffic package."]);
    assert_eq!(package.span.start, 0, "the span covers the docs");
    assert_eq!(file.imports.len(), 2);
    assert!(file.imports[0].names.is_none());
    let names: Vec<&str> = file.imports[1]
        .names
        .iter()
        .flatten()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["distance", "GeoPoint"]);
    assert_eq!(file.imports[1].path.dotted(), "std.geo");
}

#[test]
fn enums_records_messages() {
    let src = r#"
/// Severity of an event.
///
/// Ordered.
ordered enum Severity { low, medium, /// very
 high critical }
enum Kind { rule, escalate, in }
@retention("30d")
record VehicleData {
  /// The plate.
  @pii @unit("plate") license_plate: string
  speed_kmh: int?,
  confidence: float in 0.0..1.0
  tags: list<string> counts: map<string, list<int>>?
  rule: int
}
event violation_event { vehicle: VehicleData }
incident major_flood { zones: list<string> }
directive flood_protocol { level: Level }
"#;
    let file = parse_ok(src);
    let Item::Enum(e) = &file.items[0] else {
        panic!()
    };
    assert!(e.ordered);
    assert_eq!(e.docs.lines, ["Severity of an event.", "", "Ordered."]);
    let names: Vec<&str> = e.variants.iter().map(|v| v.name.name.as_str()).collect();
    assert_eq!(names, ["low", "medium", "high", "critical"]);
    assert_eq!(e.variants[2].docs.lines, ["very"]);
    let Item::Enum(k) = &file.items[1] else {
        panic!()
    };
    assert!(!k.ordered);
    assert_eq!(k.variants.len(), 3);
    let Item::Record(r) = &file.items[2] else {
        panic!()
    };
    assert_eq!(r.annotations[0].name.name, "retention");
    assert_eq!(r.fields.len(), 6);
    let plate = &r.fields[0];
    assert_eq!(plate.docs.lines, ["The plate."]);
    assert_eq!(plate.annotations.len(), 2);
    assert_eq!(plate.annotations[1].args.len(), 1);
    assert!(matches!(r.fields[1].ty, TypeExpr::Optional(..)));
    let range = r.fields[2].range.as_ref().unwrap();
    assert_eq!(show_expr(&range.low), "0.0");
    assert!(matches!(r.fields[3].ty, TypeExpr::List(..)));
    let TypeExpr::Optional(inner, _) = &r.fields[4].ty else {
        panic!()
    };
    assert!(matches!(&**inner, TypeExpr::Map(_, v, _) if matches!(**v, TypeExpr::List(..))));
    assert_eq!(r.fields[5].name.name, "rule");
    let kinds: Vec<MessageKind> = file.items[3..]
        .iter()
        .map(|i| match i {
            Item::Message(m) => m.kind,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            MessageKind::Event,
            MessageKind::Incident,
            MessageKind::Directive
        ]
    );
}

#[test]
fn declarations_with_properties() {
    let src = r#"
plugin "traffic-violation-detector-v2" as traffic_violations { name: "x", vendor: "y" }
authority traffic_officer { level: L1 approves: [fine] overrides: [traffic_lights] }
system traffic_control_system { layer: local kind: actuator }
action notify { priority: Priority? message: string? }
const SPEED_LIMIT_KMH: int = 60
const NAME = "x"
fn kmh(knots: float, y: int,) -> float = knots * 1.852
extern fn distance(a: GeoPoint, b: GeoPoint) -> distance
fn zero() -> int = 0
"#;
    let file = parse_ok(src);
    let Item::Plugin(p) = &file.items[0] else {
        panic!()
    };
    assert_eq!(p.model_id.value, "traffic-violation-detector-v2");
    assert_eq!(p.name.name, "traffic_violations");
    assert_eq!(p.properties.len(), 2);
    let Item::Authority(a) = &file.items[1] else {
        panic!()
    };
    assert_eq!(a.properties.len(), 3);
    let Item::System(s) = &file.items[2] else {
        panic!()
    };
    assert_eq!(s.properties[1].name.name, "kind");
    let Item::Action(act) = &file.items[3] else {
        panic!()
    };
    assert_eq!(act.params.len(), 2);
    assert_eq!(act.params[0].name.name, "priority");
    let Item::Const(c) = &file.items[4] else {
        panic!()
    };
    assert!(c.ty.is_some());
    let Item::Const(c) = &file.items[5] else {
        panic!()
    };
    assert!(c.ty.is_none());
    let Item::Fn(f) = &file.items[6] else {
        panic!()
    };
    assert_eq!(f.params.len(), 2);
    assert!(!f.is_extern && f.body.is_some());
    let Item::Fn(f) = &file.items[7] else {
        panic!()
    };
    assert!(f.is_extern && f.body.is_none());
    assert_eq!(
        f.span.end as usize,
        src.find("-> distance").unwrap() + "-> distance".len()
    );
}

#[test]
fn rule_clauses_of_every_kind() {
    let clauses = rule_clauses(
        r#"
  on v: violation_event from traffic_violations
  on w: std.events.other
  when v.speed_kmh > SPEED_LIMIT_KMH
  let speed = v.speed_kmh ?? 0
  correlate jams: traffic_status over last 5m within 500m where jams.level >= 3 at least 2
  absent ack: acknowledgement over last 10m
  priority high
  then { notify traffic_officer { priority: medium } log violations_db }
  approval by traffic_officer within 30m else approve
  on approve { fine v.vehicle { amount: 100 } }
  on reject { log violations_db }
  if no response within 20m { escalate major_flood to district { zones: [v.zone] } }
  then { command flood_protocol to children command flood_protocol to ["z1", "z2"] { level: L2 } }
"#,
    );
    assert_eq!(clauses.len(), 13);
    let RuleClause::On(on) = &clauses[0] else {
        panic!()
    };
    assert_eq!(on.source.as_ref().unwrap().dotted(), "traffic_violations");
    let RuleClause::On(on) = &clauses[1] else {
        panic!()
    };
    assert_eq!(on.message.dotted(), "std.events.other");
    assert!(on.source.is_none());
    assert!(matches!(clauses[2], RuleClause::When(..)));
    assert!(matches!(clauses[3], RuleClause::Let(_)));
    let RuleClause::Correlate(c) = &clauses[4] else {
        panic!()
    };
    assert!(!c.absent);
    assert_eq!(show_expr(c.window.as_ref().unwrap()), "5m");
    assert_eq!(show_expr(c.radius.as_ref().unwrap()), "500m");
    assert_eq!(show_expr(c.filter.as_ref().unwrap()), "(jams.level >= 3)");
    assert_eq!(show_expr(c.min_count.as_ref().unwrap()), "2");
    let RuleClause::Correlate(c) = &clauses[5] else {
        panic!()
    };
    assert!(c.absent && c.radius.is_none() && c.filter.is_none() && c.min_count.is_none());
    assert!(matches!(clauses[6], RuleClause::Priority(..)));
    let RuleClause::Then(block) = &clauses[7] else {
        panic!()
    };
    assert_eq!(block.actions.len(), 2);
    let Action::Invoke(notify) = &block.actions[0] else {
        panic!()
    };
    assert_eq!(notify.kind.name, "notify");
    assert_eq!(notify.params[0].name.name, "priority");
    let Action::Invoke(log) = &block.actions[1] else {
        panic!()
    };
    assert!(log.params.is_empty());
    let RuleClause::Approval(a) = &clauses[8] else {
        panic!()
    };
    assert_eq!(a.default, Outcome::Approve);
    assert_eq!(show_expr(&a.within), "30m");
    let RuleClause::OnOutcome(o) = &clauses[9] else {
        panic!()
    };
    assert_eq!(o.outcome, Outcome::Approve);
    let RuleClause::OnOutcome(o) = &clauses[10] else {
        panic!()
    };
    assert_eq!(o.outcome, Outcome::Reject);
    let RuleClause::NoResponse(n) = &clauses[11] else {
        panic!()
    };
    let Action::Escalate(e) = &n.block.actions[0] else {
        panic!()
    };
    assert_eq!(
        (e.incident.dotted().as_str(), e.to.name.as_str()),
        ("major_flood", "district")
    );
    assert_eq!(e.fields.len(), 1);
    let RuleClause::Then(block) = &clauses[12] else {
        panic!()
    };
    let Action::Command(c1) = &block.actions[0] else {
        panic!()
    };
    assert!(matches!(c1.to, CommandTarget::Children(_)));
    let Action::Command(c2) = &block.actions[1] else {
        panic!()
    };
    assert!(matches!(&c2.to, CommandTarget::Zones(Expr::List(xs, _)) if xs.len() == 2));
    assert_eq!(c2.fields.len(), 1);
}

#[test]
fn approval_defaults() {
    for (word, outcome) in [
        ("approve", Outcome::Approve),
        ("reject", Outcome::Reject),
        ("escalate", Outcome::Escalate),
    ] {
        let clauses = rule_clauses(&format!("approval by a.b within 5m else {word}"));
        let RuleClause::Approval(a) = &clauses[0] else {
            panic!()
        };
        assert_eq!(a.default, outcome);
        assert_eq!(a.authority.dotted(), "a.b");
    }
}

#[test]
fn reports_and_tests() {
    let src = r#"
report neighbourhood_report at local every 15m to district { total_events: count() }
/// Speeding is fined.
test "speeding is fined" {
  send violation_event at 5s { event_id: "e1" }
  send violation_event at timestamp("2025-01-01T00:10:00Z")
  advance 31m
  expect decision speeding_detected { trigger: "e1" }
  expect no escalation
  expect 2 report neighbourhood_report
  expect no 0 dead_letter
  expect approval
  expect command flood_protocol
  expect action notify
}
"#;
    let file = parse_ok(src);
    let Item::Report(r) = &file.items[0] else {
        panic!()
    };
    assert_eq!(
        (r.layer.name.as_str(), r.to.name.as_str()),
        ("local", "district")
    );
    assert_eq!(show_expr(&r.every), "15m");
    let Item::Test(t) = &file.items[1] else {
        panic!()
    };
    assert_eq!(t.docs.lines, ["Speeding is fined."]);
    assert_eq!(t.name.value, "speeding is fined");
    assert_eq!(t.steps.len(), 10);
    let kinds: Vec<(bool, Option<String>, ExpectKind, Option<String>)> = t.steps[3..]
        .iter()
        .map(|s| match s {
            TestStep::Expect(e) => (
                e.negated,
                e.count.as_ref().map(show_expr),
                e.kind,
                e.subject.as_ref().map(Path::dotted),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                false,
                None,
                ExpectKind::Decision,
                Some("speeding_detected".to_owned())
            ),
            (true, None, ExpectKind::Escalation, None),
            (
                false,
                Some("2".to_owned()),
                ExpectKind::Report,
                Some("neighbourhood_report".to_owned())
            ),
            (true, Some("0".to_owned()), ExpectKind::DeadLetter, None),
            (false, None, ExpectKind::Approval, None),
            (
                false,
                None,
                ExpectKind::Command,
                Some("flood_protocol".to_owned())
            ),
            (false, None, ExpectKind::Action, Some("notify".to_owned())),
        ]
    );
}

#[test]
fn spans_are_exact() {
    let src = "@pii record A { x: int }";
    let file = parse_ok(src);
    let Item::Record(r) = &file.items[0] else {
        panic!()
    };
    assert_eq!(r.span.range(), 0..src.len());
    assert_eq!(r.annotations[0].span.range(), 0..4);
    assert_eq!(r.annotations[0].name.span.range(), 1..4);
    assert_eq!(&src[r.fields[0].span.range()], "x: int");
    assert_eq!(file.span.range(), 0..src.len());
}

#[test]
fn documented_field_span_includes_docs() {
    let src = "record A {\n  /// The x.\n  /// More.\n  @pii x: int\n}";
    let file = parse_ok(src);
    let Item::Record(r) = &file.items[0] else {
        panic!()
    };
    let f = &r.fields[0];
    assert_eq!(f.docs.lines, ["The x.", "More."]);
    assert_eq!(&src[f.docs.span.range()], "/// The x.\n  /// More.");
    assert_eq!(
        &src[f.span.range()],
        "/// The x.\n  /// More.\n  @pii x: int"
    );
}

#[test]
fn comments_are_returned_in_order() {
    let src = "// a\n/// b\nconst X = 1 // c\n";
    let parsed = parse("t.cbp", src);
    let texts: Vec<(&str, bool)> = parsed
        .comments
        .iter()
        .map(|c| (c.text.as_str(), c.is_doc))
        .collect();
    assert_eq!(texts, [("// a", false), ("/// b", true), ("// c", false)]);
    let Item::Const(c) = &parsed.file.items[0] else {
        panic!()
    };
    assert_eq!(c.docs.lines, ["b"]);
}

#[test]
fn empty_and_comment_only_files() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("  // nothing\n").items.is_empty());
}

#[test]
fn deep_nesting_is_cut_off_not_crashing() {
    for depth in [50usize, 200, 20_000] {
        let src = format!("const X = {}1{}", "(".repeat(depth), ")".repeat(depth));
        let parsed = parse("t.cbp", &src);
        if depth < 90 {
            assert!(parsed.diagnostics.is_empty());
        } else {
            assert_eq!(codes(&parsed.diagnostics), ["E0013"]);
        }
    }
    let long_sum = format!("const X = 1{}", " + 1".repeat(50_000));
    assert_eq!(codes(&parse("t.cbp", &long_sum).diagnostics), ["E0013"]);
    let negs = format!("const X = {}1", "-".repeat(50_000));
    assert_eq!(codes(&parse("t.cbp", &negs).diagnostics), ["E0013"]);
    let optional = format!("const X: int{} = 1", "? ".repeat(50_000));
    assert_eq!(codes(&parse("t.cbp", &optional).diagnostics), ["E0013"]);
    let unclosed = "[".repeat(100_000);
    let parsed = parse("t.cbp", &format!("const X = {unclosed}"));
    assert!(parsed.diagnostics.iter().any(|d| d.code == "E0002"));
}

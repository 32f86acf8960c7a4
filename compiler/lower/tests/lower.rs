//! Lowering: layouts, folding, sharing, dispatch, rationales, tests, the shipped policies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use cbp_ir::expr::{CmpOp, Lit, Node};
use cbp_ir::layout::{Storage, envelope};
use cbp_ir::program::{ActionTemplate, Key, Step, TestStep};
use cbp_ir::{NodeId, Program, RowRef, Scalar, Ty};

fn policies() -> Program {
    common::lower_sources(&common::folder("policies"))
}

fn rule<'p>(p: &'p Program, name: &str) -> &'p cbp_ir::program::Rule {
    p.rules
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

fn whens(r: &cbp_ir::program::Rule) -> Vec<NodeId> {
    r.steps
        .iter()
        .filter_map(|s| match s {
            Step::When { cond, .. } => Some(*cond),
            _ => None,
        })
        .collect()
}

/// Every node reachable from `root`.
fn reachable(p: &Program, root: NodeId) -> Vec<NodeId> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let node = p.node(out[i]).expect("node");
        for o in node.operands() {
            if !out.contains(&o) {
                out.push(o);
            }
        }
        i += 1;
    }
    out
}

#[test]
fn shipped_policies_lower() {
    let p = policies();
    assert_eq!(p.format_version, cbp_ir::FORMAT_VERSION);
    assert_eq!(p.source_hash.len(), 64);
    assert!(p.rules.len() >= 10, "{} rules", p.rules.len());
    assert_eq!(p.reports.len(), 1);
    assert!(p.tests.len() >= 15);
    assert_eq!(p.dispatch.by_message.len(), p.messages.len());
    // Operands come before the nodes that use them.
    for (i, node) in p.nodes.iter().enumerate() {
        for o in node.operands() {
            assert!((o.0 as usize) < i, "%{i} reads %{}", o.0);
        }
    }
    // std's approval_response has a layout too.
    assert!(p.message_by_name("approval_response").is_some());
}

#[test]
fn violation_event_layout() {
    let p = policies();
    let m = p
        .message_by_name("violation_event")
        .expect("violation_event");
    let slot = |path: &str| match &m.field(path).expect(path).storage {
        Storage::Slot(s) => *s,
        other => panic!("{path}: {other:?}"),
    };
    assert_eq!(slot("event_id"), envelope::EVENT_ID);
    assert_eq!(slot("model_id"), envelope::MODEL_ID);
    assert_eq!(slot("timestamp"), envelope::TIMESTAMP);
    assert_eq!(slot("location.latitude"), envelope::LATITUDE);
    assert_eq!(slot("location.longitude"), envelope::LONGITUDE);
    assert_eq!(slot("location.address"), envelope::ADDRESS);
    assert!(matches!(
        m.field("location").expect("location").storage,
        Storage::Record {
            presence: envelope::LOCATION,
            ..
        }
    ));
    assert_eq!(slot("zone"), envelope::ZONE);
    assert_eq!(slot("severity"), envelope::SEVERITY);
    assert_eq!(slot("confidence"), envelope::CONFIDENCE);
    assert!(matches!(
        m.field("metadata").expect("metadata").storage,
        Storage::Object {
            index: envelope::METADATA_OBJECT,
            ..
        }
    ));
    // The payload: the enum, then vehicle_data flattened (fields, presence), then evidence
    // (its list is an object).
    assert_eq!(slot("violation_type"), 10);
    assert_eq!(slot("vehicle_data.license_plate"), 11);
    assert_eq!(slot("vehicle_data.vehicle_type"), 12);
    assert_eq!(slot("vehicle_data.speed_kmh"), 13);
    assert!(matches!(
        m.field("vehicle_data").expect("vehicle_data").storage,
        Storage::Record { presence: 14, .. }
    ));
    assert!(matches!(
        m.field("evidence.image_urls").expect("image_urls").storage,
        Storage::Object {
            presence: 15,
            index: 1
        }
    ));
    assert_eq!(slot("evidence.video_url"), 16);
    assert_eq!((m.slots, m.objects), (18, 2));
    let plate = m.field("vehicle_data.license_plate").expect("plate");
    assert!(plate.pii && plate.required);
    assert!(!m.field("vehicle_data.speed_kmh").expect("speed").required);
    assert_eq!(m.payload().len(), 3);
    let conf = m.field("confidence").expect("confidence");
    assert_eq!(conf.range, Some((0.0, 1.0)));
}

#[test]
fn speeding_condition_reads_fixed_slots_and_shows_them() {
    let p = policies();
    let r = rule(&p, "speeding_detected");
    assert_eq!(r.source.as_deref(), Some("traffic-violation-detector-v2"));
    let Step::When { cond, text, shows } = &r.steps[0] else {
        panic!("first step is a when")
    };
    assert!(text.starts_with("v.violation_type == speeding"), "{text}");
    let names: Vec<&str> = shows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["v.violation_type", "v.severity", "v.confidence"]);
    let severity = shows[1].1;
    assert_eq!(
        p.node(severity),
        Some(&Node::Load {
            row: RowRef::Trigger,
            slot: envelope::SEVERITY,
            ty: p_severity(&p)
        })
    );
    assert!(reachable(&p, *cond).contains(&severity));
    // `v.confidence > SPEEDING_MIN_CONFIDENCE`: the constant is inlined as a float literal.
    assert!(p.nodes.iter().any(|n| matches!(
        n,
        Node::Cmp { op: CmpOp::Gt, ty: Scalar::Float, rhs, .. }
            if p.node(*rhs) == Some(&Node::Lit(Lit::Float(0.85f64.to_bits())))
    )));
    // `let vehicle_type = …` is a local, read by the inlined `speeding_fine` in on approve.
    assert!(matches!(&r.steps[1], Step::Let { local: 0, name, .. } if name == "vehicle_type"));
    assert_eq!(r.locals, 1);
    let approval = r.approval.as_ref().expect("approval");
    assert_eq!(
        (
            approval.authority.as_str(),
            approval.level,
            approval.within_ms
        ),
        ("traffic_officer", 1, 1_800_000)
    );
    let ActionTemplate::Invoke { kind, params, .. } = &r.on_approve[0] else {
        panic!()
    };
    assert_eq!(kind, "fine");
    let amount = params
        .iter()
        .find(|(k, _)| k == "amount")
        .expect("amount")
        .1;
    assert!(
        reachable(&p, amount)
            .iter()
            .any(|n| p.node(*n) == Some(&Node::Local(0)))
    );
}

fn p_severity(p: &Program) -> Scalar {
    let id = p
        .enums
        .iter()
        .position(|e| e.name == "Severity")
        .expect("Severity");
    Scalar::Enum(cbp_ir::EnumId(id as u32))
}

#[test]
fn correlation_uses_candidate_rows_and_matches() {
    let p = policies();
    let r = rule(&p, "declare_major_flood");
    let Step::Correlate(c) = &r.steps[0] else {
        panic!("correlate first")
    };
    assert_eq!(c.window_ms, 30 * 60_000);
    assert_eq!(c.min_count, 1);
    assert!(
        c.text
            .starts_with("correlate others: multi_road_flooding_detected over last 30m"),
        "{}",
        c.text
    );
    let filter = c.filter.expect("filter");
    let rows: Vec<RowRef> = reachable(&p, filter)
        .iter()
        .filter_map(|n| match p.node(*n) {
            Some(Node::Load {
                row,
                slot: envelope::ZONE,
                ..
            }) => Some(*row),
            _ => None,
        })
        .collect();
    assert!(
        rows.contains(&RowRef::Candidate) && rows.contains(&RowRef::Trigger),
        "{rows:?}"
    );
    let Step::Let { value, .. } = &r.steps[1] else {
        panic!("let second")
    };
    assert!(
        reachable(&p, *value)
            .iter()
            .any(|n| p.node(*n) == Some(&Node::Matches(0)))
    );
    let dep = p.frame_dependent();
    assert!(dep[value.0 as usize]);
    let flood = rule(&p, "flood_traffic_coordination");
    let Some(Step::Correlate(c)) = flood.steps.get(1) else {
        panic!()
    };
    assert_eq!(c.radius_m, Some(500.0));
    assert_eq!(c.window_ms, 5 * 60_000);
}

const FOLDING: &str = r#"
package demo

enum Kind {
    speeding
    red_light
    wrong_way
}

event violation {
    kind: Kind
    speed_kmh: int
    due: timestamp
}

system db {
    layer: local
    kind: database
}

const LIMIT: int = 40 + 10
const GRACE: duration = 1h + 30min

rule a at local {
    on v: violation
    when v.kind == speeding and v.severity >= medium and v.speed_kmh > LIMIT
    then {
        log db { cutoff: timestamp("2025-01-01T00:00:00Z") + GRACE, pick: if 1 < 2 then 3 else 4 }
    }
}

rule b at local {
    on v: violation
    when v.kind == red_light and v.severity >= medium
    then {
        log db { n: 1 }
    }
}

rule c at local {
    on v: violation
    when v.severity >= medium and true
    then {
        log db { n: 2 }
    }
}

rule d at local {
    on v: violation
    when v.kind in [wrong_way, red_light]
    then {
        log db { n: 3 }
    }
}
"#;

#[test]
fn constants_fold() {
    let p = common::lower_text(FOLDING);
    assert!(p.nodes_before_folding as usize > p.nodes.len());
    let lit = |n: NodeId| match p.node(n) {
        Some(Node::Lit(l)) => Some(l.clone()),
        _ => None,
    };
    // No operator is left with only literal operands.
    for node in &p.nodes {
        if matches!(
            node,
            Node::Arith { .. } | Node::Cmp { .. } | Node::If { .. } | Node::Not(_)
        ) {
            assert!(
                node.operands().iter().any(|o| lit(*o).is_none()),
                "unfolded {node:?}"
            );
        }
    }
    let a = rule(&p, "a");
    let ActionTemplate::Invoke { params, .. } = &a.then[0] else {
        panic!()
    };
    let cutoff = lit(params[0].1);
    assert_eq!(
        cutoff,
        Some(Lit::Timestamp(1_735_689_600_000 + 90 * 60_000))
    );
    assert_eq!(lit(params[1].1), Some(Lit::Int(3)));
    assert!(p.nodes.iter().any(|n| matches!(
        n,
        Node::Cmp { op: CmpOp::Gt, ty: Scalar::Int, rhs, .. } if lit(*rhs) == Some(Lit::Int(50))
    )));
    // `x and true` is `x`.
    let c = rule(&p, "c");
    assert!(matches!(
        p.node(whens(c)[0]),
        Some(Node::Cmp { op: CmpOp::Ge, .. })
    ));
}

#[test]
fn a_sub_condition_of_two_rules_is_one_node() {
    let p = common::lower_text(FOLDING);
    let severity_tests: Vec<usize> = p
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            matches!(
                n,
                Node::Cmp {
                    op: CmpOp::Ge,
                    ty: Scalar::Enum(_),
                    ..
                }
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(severity_tests.len(), 1, "one `v.severity >= medium` node");
    let shared = NodeId(severity_tests[0] as u32);
    for name in ["a", "b", "c"] {
        assert!(
            reachable(&p, whens(rule(&p, name))[0]).contains(&shared),
            "rule {name}"
        );
    }
}

#[test]
fn dispatch_indexes_by_the_most_shared_slot() {
    let p = common::lower_text(FOLDING);
    let m = p.message_by_name("violation").expect("violation");
    let d = &p.dispatch.by_message[m.id.0 as usize];
    let kind_slot = match m.field("kind").expect("kind").storage {
        Storage::Slot(s) => s,
        _ => panic!(),
    };
    assert!(d.always.is_empty(), "{:?}", d.always);
    // Rule c has no equality test: its range test indexes it.
    assert_eq!(d.ranges.len(), 1);
    assert_eq!(d.ranges[0].slot, envelope::SEVERITY);
    assert_eq!(
        d.ranges[0].cases,
        vec![(CmpOp::Ge, Lit::Enum(cbp_ir::EnumId(6), 1), vec![2])]
    );
    assert_eq!(d.indexed.len(), 1);
    let disc = &d.indexed[0];
    assert_eq!(disc.slot, kind_slot);
    assert!(matches!(disc.ty, Scalar::Enum(_)));
    assert_eq!(
        disc.cases,
        vec![
            (Key::Int(0), vec![0]),
            (Key::Int(1), vec![1, 3]),
            (Key::Int(2), vec![3])
        ]
    );
    // Messages no rule triggers on have empty tables.
    let other = p
        .message_by_name("approval_response")
        .expect("approval_response");
    let d = &p.dispatch.by_message[other.id.0 as usize];
    assert!(d.always.is_empty() && d.indexed.is_empty());
}

const RANGES: &str = r#"
package demo

event reading {
    level: float
    count: int
    wait: duration
}

system db {
    layer: local
    kind: database
}

rule low at local {
    on r: reading
    when r.level < -1.5 and r.count > 0
    then { log db { n: 1 } }
}

rule high at local {
    on r: reading
    when 2.0 <= r.level
    then { log db { n: 2 } }
}

rule same at local {
    on r: reading
    when r.level < -1.5
    then { log db { n: 3 } }
}

rule long_wait at local {
    on r: reading
    when r.wait > 5min
    then { log db { n: 4 } }
}

rule unindexable at local {
    on r: reading
    when r.count != 3 or r.level > 1.0
    then { log db { n: 5 } }
}
"#;

#[test]
fn dispatch_indexes_range_tests() {
    let p = common::lower_text(RANGES);
    let m = p.message_by_name("reading").expect("reading");
    let slot = |name: &str| match m.field(name).expect("field").storage {
        Storage::Slot(s) => s,
        _ => panic!(),
    };
    let d = &p.dispatch.by_message[m.id.0 as usize];
    assert!(d.indexed.is_empty());
    assert_eq!(d.always, vec![4], "an `or` is not indexed");
    assert_eq!(d.ranges.len(), 2);
    let level = &d.ranges[0];
    assert_eq!((level.slot, level.ty), (slot("level"), Scalar::Float));
    // A constant on the left is flipped; equal constants share a case; rules ascending.
    assert_eq!(
        level.cases,
        vec![
            (CmpOp::Lt, Lit::Float((-1.5f64).to_bits()), vec![0, 2]),
            (CmpOp::Ge, Lit::Float(2.0f64.to_bits()), vec![1]),
        ]
    );
    let wait = &d.ranges[1];
    assert_eq!((wait.slot, wait.ty), (slot("wait"), Scalar::Duration));
    assert_eq!(
        wait.cases,
        vec![(CmpOp::Gt, Lit::Duration(300_000), vec![3])]
    );
    let text = cbp_ir::print::print(&p);
    assert!(
        text.contains("    range s") && text.contains("float: < -1.5 → [0, 2]; >= 2.0 → [1]"),
        "{text}"
    );
}

#[test]
fn shipped_dispatch_uses_literal_tests() {
    let p = policies();
    let m = p
        .message_by_name("violation_event")
        .expect("violation_event");
    let d = &p.dispatch.by_message[m.id.0 as usize];
    assert_eq!(d.indexed.len(), 1);
    assert_eq!(d.indexed[0].slot, 10);
    let speeding = p
        .rules
        .iter()
        .position(|r| r.name == "speeding_detected")
        .expect("rule") as u32;
    assert_eq!(d.indexed[0].cases, vec![(Key::Int(0), vec![speeding])]);
}

#[test]
fn tests_lower_to_json_values() {
    let p = policies();
    let t = p
        .tests
        .iter()
        .find(|t| t.name == "a confident speeding violation goes to the officer")
        .expect("test");
    assert_eq!(t.file, "policies/speeding_detected.cbp");
    let TestStep::Send {
        fields,
        at_ms: 0,
        absolute: false,
        ..
    } = &t.steps[0]
    else {
        panic!("{:?}", t.steps[0])
    };
    assert_eq!(fields["severity"], "high");
    assert_eq!(fields["confidence"], 0.93);
    assert_eq!(fields["violation_type"], "speeding");
    assert_eq!(fields["vehicle_data"]["speed_kmh"], 85);
    assert_eq!(
        fields["evidence"]["image_urls"][0],
        "https://evidence.example/v-1.jpg"
    );
    let TestStep::Expect(x) = &t.steps[1] else {
        panic!()
    };
    assert_eq!(
        (x.kind.as_str(), x.subject.as_deref(), x.count),
        ("decision", Some("speeding_detected"), Some(1))
    );
    assert_eq!(x.fields["trigger"], "v-1");
    let text = std::fs::read_to_string(common::repo_root().join(&t.file)).expect("read");
    let line = x
        .location
        .rsplit(':')
        .nth(1)
        .expect("line")
        .parse::<usize>()
        .expect("number");
    let col = x
        .location
        .rsplit(':')
        .next()
        .expect("col")
        .parse::<usize>()
        .expect("number");
    assert!(x.location.starts_with("policies/speeding_detected.cbp:"));
    assert!(text.lines().nth(line - 1).expect("line")[col - 1..].starts_with("expect 1 decision"));
    let timeout = p
        .tests
        .iter()
        .find(|t| t.name == "nobody answers: the fine is approved after 30 minutes")
        .expect("test");
    assert!(
        timeout
            .steps
            .contains(&TestStep::Advance { by_ms: 29 * 60_000 })
    );
    let x = timeout
        .steps
        .iter()
        .find_map(|s| match s {
            TestStep::Expect(x) if x.kind == "approval" && x.count == Some(1) => Some(x),
            _ => None,
        })
        .expect("expect 1 approval");
    assert_eq!(x.fields["status"], "auto_approved");
}

#[test]
fn expected_records_lower_to_json_objects() {
    let p = common::lower_text(
        r#"
event speeding {
    speed_kmh: int
}

authority traffic_officer {
    level: L1
}

rule fine_speeders at local {
    on s: speeding
    then {
        fine traffic_officer { amount: 2000 }
    }
}

test "records" {
    send speeding at 1s { speed_kmh: 95 }
    expect action fine { params: { amount: 2000, reason: "speeding" }, target: traffic_officer }
    expect decision { actions: [{ type: fine, params: { amount: 2000 } }], node: { layer: local } }
}
"#,
    );
    let expects: Vec<_> = p.tests[0]
        .steps
        .iter()
        .filter_map(|s| match s {
            TestStep::Expect(x) => Some(x),
            _ => None,
        })
        .collect();
    assert_eq!(
        serde_json::Value::Object(expects[0].fields.clone()),
        serde_json::json!({
            "params": { "amount": 2000, "reason": "speeding" },
            "target": "traffic_officer",
        })
    );
    assert_eq!(
        serde_json::Value::Object(expects[1].fields.clone()),
        serde_json::json!({
            "actions": [{ "type": "fine", "params": { "amount": 2000 } }],
            "node": { "layer": "local" },
        })
    );
}

#[test]
fn absolute_send_times() {
    let p = common::lower_text(
        r#"
event ping {
    n: int
}

test "absolute" {
    send ping at timestamp("2025-01-01T08:00:00Z") { n: 1 }
    send ping at 90s { n: 2 }
    expect no dead_letter
}
"#,
    );
    let t = &p.tests[0];
    assert!(matches!(
        t.steps[0],
        TestStep::Send {
            at_ms: 1_735_718_400_000,
            absolute: true,
            ..
        }
    ));
    assert!(matches!(
        t.steps[1],
        TestStep::Send {
            at_ms: 90_000,
            absolute: false,
            ..
        }
    ));
    assert!(
        matches!(&t.steps[2], TestStep::Expect(x) if x.negated && x.location == "test.cbp:9:5")
    );
}

#[test]
fn int_meets_float_through_a_conversion() {
    let p = common::lower_text(
        r#"
event reading {
    mm: float
    count: int
}

system drains {
    layer: local
    kind: actuator
}

fn level(mm: float) -> int = if mm >= 50 then 2 else 1

rule wet at local {
    on r: reading
    when r.mm > r.count and level(r.mm) == 2
    then {
        actuate drains { ratio: r.mm / 2 }
    }
}
"#,
    );
    let has = |f: &dyn Fn(&Node) -> bool| p.nodes.iter().any(f);
    assert!(has(
        &|n| matches!(n, Node::IntToFloat(x) if matches!(p.node(*x), Some(Node::Load { ty: Scalar::Int, .. })))
    ));
    // `mm >= 50` compares floats: the literal 50 is folded to 50.0.
    assert!(has(
        &|n| matches!(n, Node::Cmp { op: CmpOp::Ge, ty: Scalar::Float, rhs, .. }
        if p.node(*rhs) == Some(&Node::Lit(Lit::Float(50f64.to_bits()))))
    ));
    assert!(has(&|n| matches!(
        n,
        Node::Arith {
            ty: Scalar::Float,
            rhs_ty: Scalar::Float,
            ..
        }
    )));
}

#[test]
fn a_program_with_errors_is_refused() {
    let mut c = cbp_check::Compiler::new();
    c.set_file("bad.cbp", "rule r at local { on x: nothing }".to_owned());
    let program = c.checked_program();
    assert!(program.has_errors);
    assert_eq!(
        cbp_lower::lower(&program, &[]),
        Err(cbp_lower::LowerError::HasErrors)
    );
}

#[test]
fn the_same_policy_lowers_to_the_same_bytes() {
    let sources = common::folder("policies");
    let a = cbp_ir::bundle::write_bundle(&common::lower_sources(&sources));
    let b = cbp_ir::bundle::write_bundle(&common::lower_sources(&sources));
    assert_eq!(a, b);
    let back = cbp_ir::bundle::read_bundle(&a).expect("read");
    assert_eq!(back, common::lower_sources(&sources));
    let _ = Ty::Never;
}

#[test]
fn language_examples_lower() {
    let p = common::lower_sources(&common::folder("examples/language"));
    assert!(p.rules.len() >= 15, "{} rules", p.rules.len());
    let toll = rule(&p, "toll_charge");
    assert!(!toll.then.is_empty());
}

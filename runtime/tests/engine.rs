//! The engine on the shipped reference policies (compiled by the real front end): the
//! contract sample, idempotency, determinism, the policies' own tests, and that no input
//! makes it panic or lose a line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_runtime::{Engine, LineOutcome, Record, RunOptions, interpreter, run_tests};
use proptest::prelude::*;

mod common;

use common::{policies, repo};

fn sample_lines() -> Vec<String> {
    // The contract's sample, shipped in the repository so the test never runs on nothing.
    let text = std::fs::read_to_string(repo().join("examples/city-sample.ndjson"))
        .expect("examples/city-sample.ndjson");
    assert!(!text.is_empty());
    text.lines().map(str::to_string).collect()
}

fn run(lines: &[String], options: RunOptions) -> (Vec<Record>, Vec<LineOutcome>) {
    let program = policies();
    let mut engine = Engine::new(program.clone(), interpreter(&program), options);
    let mut records = Vec::new();
    let mut outcomes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        outcomes.push(engine.push_line(i as u64 + 1, line, &mut |r| records.push(r.clone())));
    }
    engine.finish(&mut |r| records.push(r.clone()));
    (records, outcomes)
}

const SPEEDING: &str = r#"{"event_id":"e-1","model_id":"traffic-violation-detector-v2","type":"violation_event","timestamp":"2025-12-03T14:00:05Z","location":{"latitude":12.9716,"longitude":77.5946},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.93,"metadata":{"camera":"cam-44"},"payload":{"violation_type":"speeding","vehicle_data":{"license_plate":"KA01AB1234","vehicle_type":"car","speed_kmh":85},"evidence":{"image_urls":["https://evidence.example/e17.jpg"]}}}"#;

#[test]
fn the_shipped_policy_tests_pass() {
    let program = policies();
    let outcomes = run_tests(program.clone(), &|| interpreter(&program));
    assert!(outcomes.len() >= 20);
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn a_redelivered_message_is_not_acted_on_twice() {
    let lines = vec![SPEEDING.to_string(), SPEEDING.to_string()];
    let (records, outcomes) = run(&lines, RunOptions::default());
    assert_eq!(
        outcomes,
        vec![LineOutcome::Processed, LineOutcome::Processed]
    );
    let decisions = records.iter().filter(|r| r.kind() == "decision").count();
    assert_eq!(decisions, 1, "{records:#?}");
}

#[test]
fn until_fires_the_approval_default() {
    let lines = vec![SPEEDING.to_string()];
    let until = cbp_runtime::time::parse_rfc3339("2025-12-03T14:30:05Z");
    let (records, _) = run(
        &lines,
        RunOptions {
            until,
            lateness_ms: 0,
            ..RunOptions::default()
        },
    );
    let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
    // The 14:00–14:15 and 14:15–14:30 reports are due before the 14:30:05 deadline.
    assert_eq!(
        kinds,
        vec!["decision", "report", "report", "approval", "action"]
    );
    let approval = records[3].to_value();
    assert_eq!(approval["status"], "auto_approved");
    assert_eq!(approval["by"], "timeout");
    assert_eq!(approval["time"], "2025-12-03T14:30:05.000Z");
    let (without_until, _) = run(&lines, RunOptions::default());
    assert_eq!(without_until.len(), 1);
}

#[test]
fn the_contract_sample_runs_the_same_twice() {
    let lines = sample_lines();
    assert_eq!(lines.len(), 8);
    let (first, outcomes) = run(&lines, RunOptions::default());
    let (second, _) = run(&lines, RunOptions::default());
    let text = |records: &[Record]| {
        records
            .iter()
            .map(Record::to_json_line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(text(&first), text(&second));
    // The last line answers a decision id that does not exist.
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == LineOutcome::DeadLettered)
            .count(),
        1
    );
    assert_eq!(outcomes[7], LineOutcome::DeadLettered);
}

#[test]
fn lateness_admits_a_late_message() {
    let early = SPEEDING
        .replace("14:00:05Z", "14:10:00Z")
        .replace("\"e-1\"", "\"e-2\"");
    let lines = vec![early, SPEEDING.to_string()];
    let (_, strict) = run(&lines, RunOptions::default());
    assert_eq!(strict[1], LineOutcome::DeadLettered);
    let (records, lenient) = run(
        &lines,
        RunOptions {
            until: None,
            lateness_ms: 600_000,
            ..RunOptions::default()
        },
    );
    assert_eq!(lenient[1], LineOutcome::Processed);
    let decision = records
        .iter()
        .rev()
        .find(|r| r.kind() == "decision")
        .unwrap()
        .to_value();
    assert_eq!(decision["trigger"], "e-1");
    assert_eq!(decision["time"], "2025-12-03T14:10:00.000Z");
}

/// One line in, exactly one outcome, and a dead letter for that line iff refused.
fn check_line(engine: &mut Engine, n: u64, line: &str) {
    let mut records = Vec::new();
    let outcome = engine.push_line(n, line, &mut |r| records.push(r.to_value()));
    let dead_for_line = records
        .iter()
        .filter(|r| {
            r["kind"] == "dead_letter"
                && r["line"] == n
                && r["input"].as_str().is_some_and(|i| line.starts_with(i))
        })
        .count();
    match outcome {
        LineOutcome::DeadLettered => assert_eq!(dead_for_line, 1, "{line}: {records:?}"),
        LineOutcome::Processed => assert_eq!(dead_for_line, 0, "{line}: {records:?}"),
    }
}

fn mutate(line: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = line.as_bytes().to_vec();
    for (at, op, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let at = at % bytes.len();
        match op % 3 {
            0 => bytes[at] = *byte,
            1 => bytes.insert(at, *byte),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let program = policies();
        let mut engine = Engine::new(program.clone(), interpreter(&program), RunOptions::default());
        check_line(&mut engine, 1, &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_sample_lines_never_panic(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), prop_oneof![any::<u8>(), Just(b'"'), Just(b'{'), Just(b'}'), Just(b'1'), Just(b'.')]), 1..6),
    ) {
        let lines = sample_lines();
        let program = policies();
        let mut engine = Engine::new(program.clone(), interpreter(&program), RunOptions { until: None, lateness_ms: 3_600_000, ..RunOptions::default() });
        // The untouched lines first, so the mutated one meets live state.
        for (i, line) in lines.iter().enumerate().take(which) {
            check_line(&mut engine, i as u64 + 1, line);
        }
        let line = lines.get(which).cloned().unwrap_or_default();
        check_line(&mut engine, which as u64 + 1, &mutate(&line, &edits));
        let mut records = Vec::new();
        engine.finish(&mut |r| records.push(r.clone()));
    }
}

#[test]
fn a_redelivered_message_is_correlated_once() {
    let traffic = r#"{"event_id":"t-1","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"2025-12-03T14:00:00Z","location":{"latitude":12.9802,"longitude":77.6408},"zone":"ka.bengaluru.east.indiranagar","severity":"low","confidence":0.9,"metadata":{},"payload":{"road_id":"r-100ft-road","congestion":0.8,"avg_speed_kmh":9}}"#;
    let flood = r#"{"event_id":"f-1","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"2025-12-03T14:02:00Z","location":{"latitude":12.9784,"longitude":77.6408},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.9,"metadata":{},"payload":{"water_level_cm":45}}"#;
    let lines = vec![traffic.to_string(), traffic.to_string(), flood.to_string()];
    let (records, _) = run(&lines, RunOptions::default());
    let decision = records
        .iter()
        .find(|r| r.kind() == "decision")
        .unwrap()
        .to_value();
    assert_eq!(decision["related"], serde_json::json!(["t-1"]));
}

/// With timers held (a node's per-source watermarks), an event far ahead does not fire the
/// approval deadline; `advance_to` the watermark does. The clock still follows the largest
/// event time, and lateness is measured from the watermark.
#[test]
fn held_timers_wait_for_the_watermark() {
    let program = policies();
    let mut engine = Engine::new(
        program.clone(),
        interpreter(&program),
        RunOptions::default(),
    );
    engine.hold_timers();
    let time = |text: &str| cbp_runtime::time::parse_rfc3339(text).unwrap();
    let mut records = Vec::new();
    engine.advance_to(time("2025-12-03T14:00:00Z"), &mut |r| {
        records.push(r.clone())
    });
    engine.push_line(1, SPEEDING, &mut |r| records.push(r.clone()));
    let ahead = SPEEDING
        .replace("e-1", "e-2")
        .replace("14:00:05", "15:00:00");
    engine.push_line(2, &ahead, &mut |r| records.push(r.clone()));
    assert_eq!(engine.clock(), Some(time("2025-12-03T15:00:00Z")));
    assert!(
        records.iter().all(|r| r.kind() == "decision"),
        "{records:#?}"
    );
    // An hour behind the clock, but not behind the watermark: not late.
    let behind = SPEEDING
        .replace("e-1", "e-3")
        .replace("14:00:05", "14:00:01");
    let outcome = engine.push_line(3, &behind, &mut |r| records.push(r.clone()));
    assert_eq!(outcome, LineOutcome::Processed);
    engine.advance_to(time("2025-12-03T14:30:05Z"), &mut |r| {
        records.push(r.clone())
    });
    let approvals: Vec<_> = records.iter().filter(|r| r.kind() == "approval").collect();
    assert_eq!(
        approvals.len(),
        2,
        "e-1's and e-3's deadlines: {records:#?}"
    );
    assert_eq!(engine.timers_held_at(), Some(time("2025-12-03T14:30:05Z")));
    let late = SPEEDING
        .replace("e-1", "e-4")
        .replace("14:00:05", "14:00:04");
    assert_eq!(
        engine.push_line(4, &late, &mut |_| {}),
        LineOutcome::DeadLettered
    );
}

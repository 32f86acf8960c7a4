//! The synthetic city's day (`examples/city-day.ndjson`, from `gen-city`) runs through the
//! whole pipeline: every reference rule decides, approvals are answered and time out,
//! escalations go up, commands come down, reports and dead letters are written, and the
//! summary says so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[test]
fn the_city_day_shows_the_whole_pipeline() {
    let out = Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(["run", "policies", "--events", "examples/city-day.ndjson"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("cbpc runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for line in stdout.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = record["kind"].as_str().unwrap().to_owned();
        if kind == "decision" {
            *rules
                .entry(record["rule"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        if kind == "approval" {
            *statuses
                .entry(record["status"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        *kinds.entry(kind).or_default() += 1;
    }
    for rule in [
        "speeding_detected",
        "flood_traffic_coordination",
        "clear_route_for_emergency",
        "flood_emergency_protocol",
        "declare_major_flood",
        "relay_flood_emergency_protocol",
        "close_roads_for_flood",
        "sound_flood_sirens",
    ] {
        assert!(
            rules.contains_key(rule),
            "no decision of `{rule}`: {rules:?}"
        );
    }
    for kind in [
        "approval",
        "escalation",
        "command",
        "action",
        "report",
        "dead_letter",
    ] {
        assert!(kinds.contains_key(kind), "no `{kind}` record: {kinds:?}");
    }
    for status in ["approved", "rejected", "auto_approved"] {
        assert!(
            statuses.contains_key(status),
            "no `{status}` approval: {statuses:?}"
        );
    }
    assert_eq!(
        kinds["dead_letter"], 10,
        "8 malformed lines and 2 refused answers"
    );
    for needle in [
        "dead-lettered",
        "speeding_detected:",
        "escalations",
        "reports",
        "by timeout",
        "events/s",
    ] {
        assert!(
            stderr.contains(needle),
            "the summary lacks `{needle}`:\n{stderr}"
        );
    }
    // No progress line when standard error is not a terminal.
    assert!(!stderr.contains('\r'));
}

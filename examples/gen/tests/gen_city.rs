//! `gen-city` is deterministic, and `examples/city-day.ndjson` is exactly what it writes for
//! `--seed 7 --hours 24`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;
use std::process::Command;

fn generate(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_gen-city"))
        .args(args)
        .output()
        .expect("gen-city runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = generate(&["--seed", "11", "--hours", "3"]);
    let b = generate(&["--seed", "11", "--hours", "3"]);
    let c = generate(&["--seed", "12", "--hours", "3"]);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_shipped_city_day_is_reproducible() {
    let shipped = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../city-day.ndjson"))
        .expect("examples/city-day.ndjson exists");
    let generated = generate(&["--seed", "7", "--hours", "24"]);
    assert!(
        shipped.len() < 5 << 20,
        "city-day.ndjson must stay under 5 MB"
    );
    assert!(
        shipped == generated,
        "examples/city-day.ndjson is not what `gen-city --seed 7 --hours 24` writes: regenerate it"
    );
}

#[test]
fn every_event_type_of_the_contract_and_every_zone_level_is_there() {
    let text = String::from_utf8(generate(&["--seed", "7", "--hours", "24"])).unwrap();
    let mut types = std::collections::BTreeSet::new();
    let mut zones = std::collections::BTreeSet::new();
    let mut not_json = 0;
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            not_json += 1;
            continue;
        };
        types.insert(value["type"].as_str().unwrap_or("").to_owned());
        zones.insert(value["zone"].as_str().unwrap_or("").to_owned());
    }
    for t in [
        "violation_event",
        "flood_warning",
        "traffic_status",
        "air_quality_alert",
        "waste_bin_full",
        "emergency_call",
        "resource_status",
        "approval_response",
    ] {
        assert!(types.contains(t), "no `{t}`");
    }
    let districts: std::collections::BTreeSet<_> = zones
        .iter()
        .filter(|z| z.split('.').count() == 4)
        .map(|z| z.rsplit_once('.').unwrap().0)
        .collect();
    assert!(zones.len() >= 10 && districts.len() >= 3, "{zones:?}");
    assert_eq!(not_json, 2, "the truncated line and the empty line");
    assert!((10_000..50_000).contains(&text.lines().count()));
}

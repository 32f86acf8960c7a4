//! Checking 100,000 lines (10,000 rules across 100 files) is clean, and a one-rule edit
//! re-checks one rule. How fast is measured by `benches/check.rs`, not here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;
use std::fmt::Write;

fn shared() -> String {
    r#"package city.scale
event flood_warning { water_level_cm: int  road_ids: list<string>? }
event traffic_status { road_id: string  congestion: float in 0.0..1.0 }
incident major_flood { reason: string  roads: list<string> }
system traffic_control_system { layer: local  kind: actuator }
authority officer { level: L1 }
"#
    .to_owned()
}

fn file(n: usize) -> String {
    let mut s = String::from("package city.scale\n");
    for r in 0..100 {
        let k = n * 100 + r;
        write!(
            s,
            r#"
rule rule_{k} at local {{
    on f: flood_warning
    when f.water_level_cm > {k} and f.severity >= medium
    correlate jams: traffic_status over last 5m within 500m where jams.congestion > 0.5
    let roads = distinct(jams.road_id)
    then {{
        log traffic_control_system {{ roads: roads, level: f.water_level_cm }}
        escalate major_flood to district {{ reason: "r{k}", roads: roads }}
    }}
}}
"#
        )
        .unwrap();
    }
    s
}

#[test]
fn hundred_thousand_lines() {
    let files: Vec<String> = (0..100).map(file).collect();
    let lines: usize = files.iter().map(|f| f.lines().count()).sum();
    assert!(lines >= 100_000, "{lines} lines");
    let mut c = Compiler::new();
    c.set_file("shared.cbp", shared());
    for (i, text) in files.iter().enumerate() {
        c.set_file(&format!("f{i:03}.cbp"), text.clone());
    }
    // Timings of this workload are the `check` benchmark's job; here only correctness at scale.
    let ds = c.diagnostics();
    assert!(ds.is_empty(), "{:?}", ds.first());

    // An edit inside one rule body: only that rule is re-checked.
    c.enable_query_log();
    let edited = files[42].replace("f.water_level_cm > 4217 ", "f.water_level_cm > 99999 ");
    assert_ne!(edited, files[42]);
    c.set_file("f042.cbp", edited);
    let ds = c.diagnostics();
    assert!(ds.is_empty());
    let log = c.take_query_log();
    let checks = log.iter().filter(|l| l.starts_with("check_item(")).count();
    assert_eq!(checks, 1, "{log:?}");
}

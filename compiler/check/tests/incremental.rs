//! Incrementality, pinned through the query log: an edit inside one rule body re-checks that
//! rule only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;

const TRAFFIC: &str = r#"
package city
event flood_warning { water_level_cm: int }
event traffic_status { road_id: string  congestion: float }
system traffic_control_system { layer: local  kind: actuator }

rule deep_flood at local {
    on f: flood_warning
    when f.water_level_cm > 30
    then { log traffic_control_system { level: f.water_level_cm } }
}

rule jam at local {
    on t: traffic_status
    when t.congestion > 0.8
    then { log traffic_control_system { road: t.road_id } }
}
"#;

const OTHER: &str = r#"
package city
rule other_flood at local {
    on f: flood_warning
    when f.water_level_cm > 10
    then { log traffic_control_system {} }
}
"#;

fn count(log: &[String], query: &str) -> usize {
    log.iter()
        .filter(|l| l.starts_with(&format!("{query}(")))
        .count()
}

#[test]
fn editing_one_rule_body_rechecks_only_that_rule() {
    let mut c = Compiler::new();
    c.set_file("a.cbp", TRAFFIC.to_owned());
    c.set_file("b.cbp", OTHER.to_owned());
    assert!(c.diagnostics().is_empty(), "{:?}", c.diagnostics());
    c.enable_query_log();
    c.take_query_log();

    // A one-line edit that changes the length of the text (so later spans shift).
    let edited = TRAFFIC.replace("f.water_level_cm > 30", "f.water_level_cm > 3000");
    c.set_file("a.cbp", edited);
    let ds = c.diagnostics();
    assert!(ds.is_empty(), "{ds:?}");
    let log = c.take_query_log();

    assert_eq!(count(&log, "parse_file"), 1, "{log:#?}");
    assert_eq!(count(&log, "file_signature"), 1, "{log:#?}");
    assert_eq!(
        count(&log, "item_table"),
        0,
        "signatures unchanged: table backdated\n{log:#?}"
    );
    assert_eq!(count(&log, "file_scope"), 0, "{log:#?}");
    assert_eq!(
        count(&log, "check_item"),
        1,
        "only the edited rule\n{log:#?}"
    );
}

#[test]
fn editing_a_signature_rechecks_dependents() {
    let mut c = Compiler::new();
    c.set_file("a.cbp", TRAFFIC.to_owned());
    c.set_file("b.cbp", OTHER.to_owned());
    assert!(c.diagnostics().is_empty());
    c.enable_query_log();
    c.take_query_log();

    let edited = TRAFFIC.replace("water_level_cm: int", "water_level_cm: string");
    c.set_file("a.cbp", edited);
    let ds = c.diagnostics();
    assert!(
        ds.iter()
            .any(|d| d.code == "E0202" && d.primary.file == "b.cbp"),
        "{ds:?}"
    );
    let log = c.take_query_log();
    assert_eq!(count(&log, "item_table"), 1, "{log:#?}");
}

#[test]
fn diagnostics_are_deterministic_and_repeatable() {
    let mut c = Compiler::new();
    c.set_file("a.cbp", TRAFFIC.replace("> 30", "> \"x\""));
    let first = c.diagnostics();
    assert!(!first.is_empty());
    assert_eq!(first, c.diagnostics());
    c.remove_file("a.cbp");
    assert!(c.diagnostics().is_empty());
    assert!(c.source("std/envelope.cbp").is_some());
}

const THIRD: &str = r#"
package city
rule third at local {
    on t: traffic_status
    when t.congestion > 0.1
    then { log traffic_control_system {} }
}
"#;

#[test]
fn a_lint_appearing_elsewhere_reruns_only_the_files_it_lands_in() {
    let mut c = Compiler::new();
    c.set_file("a.cbp", TRAFFIC.to_owned());
    c.set_file("b.cbp", OTHER.to_owned());
    c.set_file("c.cbp", THIRD.to_owned());
    assert!(c.diagnostics().is_empty());
    c.enable_query_log();
    c.take_query_log();

    // `deep_flood` (a.cbp) now has `other_flood`'s (b.cbp) trigger and condition.
    c.set_file(
        "a.cbp",
        TRAFFIC.replace("f.water_level_cm > 30", "f.water_level_cm > 10"),
    );
    let ds = c.diagnostics();
    let codes: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (d.code, d.primary.file.as_str()))
        .collect();
    assert_eq!(codes, [("W0004", "b.cbp")], "{ds:?}");
    let b = c.source("b.cbp").unwrap();
    assert_eq!(&b[ds[0].primary.span.range()], "other_flood");
    let log = c.take_query_log();
    assert_eq!(count(&log, "check_item"), 1, "{log:#?}");
    assert_eq!(count(&log, "file_summaries"), 1, "{log:#?}");
    assert_eq!(
        count(&log, "file_diagnostics"),
        2,
        "a.cbp (edited) and b.cbp (the lint), not c.cbp\n{log:#?}"
    );
}

#[test]
fn after_many_edits_every_file_still_checks_like_new() {
    let mut c = Compiler::new();
    c.set_file("a.cbp", TRAFFIC.to_owned());
    c.set_file("b.cbp", OTHER.to_owned());
    for round in 0..4 {
        let threshold = if round % 2 == 0 { "10" } else { "30" };
        let a = TRAFFIC.replace(
            "f.water_level_cm > 30",
            &format!("f.water_level_cm > {threshold}"),
        );
        c.set_file("a.cbp", a.clone());
        let b = OTHER.replace("> 10", &format!("> {}", 10 + round));
        c.set_file("b.cbp", b.clone());
        let mut fresh = Compiler::new();
        fresh.set_file("a.cbp", a);
        fresh.set_file("b.cbp", b);
        assert_eq!(c.diagnostics(), fresh.diagnostics(), "round {round}");
        assert_eq!(
            c.file_diagnostics("b.cbp"),
            fresh.file_diagnostics("b.cbp"),
            "round {round}"
        );
        assert_eq!(
            c.checked_program(),
            fresh.checked_program(),
            "round {round}"
        );
    }
}

//! Engines that run part of the hierarchy (`RunOptions::lowest_layer`/`highest_layer`),
//! wired as a district and its neighbourhoods would be, make the records one engine running
//! the whole hierarchy makes: each record once, by the engine that runs its node.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_runtime::{Engine, LineOutcome, Record, RunOptions, interpreter};

mod common;

use common::policies;

const DISTRICT: &str = "ka.bengaluru.east";
const NEIGHBOURHOODS: [&str; 2] = [
    "ka.bengaluru.east.indiranagar",
    "ka.bengaluru.east.koramangala",
];
/// 2025-12-03T06:00:00Z: every engine's clock ends here.
const UNTIL: i64 = 1_764_741_600_000;

/// Two emergency calls: the first tells the district where Koramangala is; the second's
/// route from Indiranagar to a hospital in Koramangala passes both neighbourhoods.
fn calls() -> Vec<String> {
    vec![
        r#"{"event_id":"em-1","model_id":"emergency-dispatch","type":"emergency_call","timestamp":"2025-12-03T03:00:00.000Z","location":{"latitude":12.936051,"longitude":77.622946},"zone":"ka.bengaluru.east.koramangala","severity":"critical","confidence":0.99,"metadata":{},"payload":{"destination":{"latitude":12.9102,"longitude":77.6100},"incident":"road_accident","patient_condition":"high"}}"#.to_string(),
        r#"{"event_id":"em-2","model_id":"emergency-dispatch","type":"emergency_call","timestamp":"2025-12-03T03:17:00.000Z","location":{"latitude":12.976031,"longitude":77.642021},"zone":"ka.bengaluru.east.indiranagar","severity":"critical","confidence":0.99,"metadata":{},"payload":{"destination":{"latitude":12.9299,"longitude":77.6187},"incident":"cardiac_arrest","patient_condition":"critical"}}"#.to_string(),
    ]
}

fn engine(lowest_layer: u8, highest_layer: u8) -> Engine {
    let program = policies();
    let options = RunOptions {
        until: Some(UNTIL),
        lowest_layer,
        highest_layer,
        ..RunOptions::default()
    };
    Engine::new(program.clone(), interpreter(&program), options)
}

fn lines(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records.iter().map(Record::to_json_line).collect();
    lines.sort();
    lines
}

/// The node a record goes to, and the message it carries, when another engine runs it.
fn addressed(record: &Record) -> Option<(String, String)> {
    let (to, message) = match record {
        Record::Escalation(e) => (&e.to.node, e.message.as_ref()?),
        Record::Command(c) => (&c.to.node, c.message.as_ref()?),
        _ => return None,
    };
    Some((to.clone(), message.to_value().to_string()))
}

/// Runs `events` through one engine for the whole hierarchy, and through a district engine
/// (L2 and up, its children named) and one engine per neighbourhood (L1 only), passing the
/// escalations and commands between them as nodes do; returns the records of both.
fn one_and_many(events: &[String], neighbourhoods: &[&str]) -> (Vec<Record>, Vec<Record>) {
    let mut whole = engine(1, 5);
    let mut expected = Vec::new();
    for (i, line) in events.iter().enumerate() {
        whole.push_line(i as u64 + 1, line, &mut |r| expected.push(r.clone()));
    }
    whole.finish(&mut |r| expected.push(r.clone()));

    // The district has children (it runs no layer below its own) and no parent.
    let mut district = engine(2, 5);
    for name in neighbourhoods {
        district.add_remote_node(name);
    }
    let mut children: Vec<Engine> = neighbourhoods.iter().map(|_| engine(1, 1)).collect();
    let mut got: Vec<Record> = Vec::new();
    for (i, line) in events.iter().enumerate() {
        let child = neighbourhoods
            .iter()
            .position(|n| line.contains(&format!("\"zone\":\"{n}\"")))
            .unwrap();
        let mut made = Vec::new();
        children[child].push_line(i as u64 + 1, line, &mut |r| made.push(r.clone()));
        // What a node forwards: records addressed to a node another engine runs.
        while !made.is_empty() {
            let mut sent = Vec::new();
            for record in made.drain(..) {
                if let Some((to, message)) = addressed(&record) {
                    if to == DISTRICT {
                        sent.push((None, to, message));
                    } else if let Some(child) = neighbourhoods.iter().position(|n| *n == to)
                        && matches!(record, Record::Command(_))
                    {
                        sent.push((Some(child), to, message));
                    }
                }
                got.push(record);
            }
            for (child, to, message) in sent {
                let target = match child {
                    Some(child) => &mut children[child],
                    None => &mut district,
                };
                let outcome = target.push_at(0, &to, &message, &mut |r| made.push(r.clone()));
                assert_eq!(outcome, LineOutcome::Processed);
            }
        }
    }
    district.finish(&mut |r| got.push(r.clone()));
    for child in &mut children {
        child.finish(&mut |r| got.push(r.clone()));
    }
    (expected, got)
}

#[test]
fn a_district_and_its_neighbourhoods_make_what_one_engine_makes() {
    let (expected, got) = one_and_many(&calls(), &NEIGHBOURHOODS);
    let commands = expected
        .iter()
        .filter(|r| matches!(r, Record::Command(_)))
        .count();
    assert_eq!(commands, 3, "the second route passes both neighbourhoods");
    assert!(expected.iter().any(|r| matches!(r, Record::Report(_))));
    assert_eq!(lines(&got), lines(&expected));
}

/// The district's `command … to children` reaches Koramangala, which sent it nothing: it is
/// a named child (one engine reaches it because it had an event).
#[test]
fn commands_to_children_reach_the_named_children() {
    let flood = |id: &str, time: &str, zone: &str, lat: f64, lon: f64, water: i64| {
        format!(
            r#"{{"event_id":"{id}","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"2025-12-03T{time}:00.000Z","location":{{"latitude":{lat},"longitude":{lon}}},"zone":"ka.bengaluru.east.{zone}","severity":"high","confidence":0.9,"metadata":{{}},"payload":{{"water_level_cm":{water}}}}}"#
        )
    };
    let traffic = |id: &str, time: &str, zone: &str, lat: f64, lon: f64| {
        format!(
            r#"{{"event_id":"{id}","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"2025-12-03T{time}:00.000Z","location":{{"latitude":{lat},"longitude":{lon}}},"zone":"ka.bengaluru.east.{zone}","severity":"medium","confidence":0.9,"metadata":{{}},"payload":{{"road_id":"r-{id}","congestion":0.8,"avg_speed_kmh":8}}}}"#
        )
    };
    let events = vec![
        flood("k-1", "04:00", "koramangala", 12.9352, 77.6245, 20),
        traffic("t-1", "04:04", "indiranagar", 12.9802, 77.6408),
        flood("f-1", "04:05", "indiranagar", 12.9784, 77.6408, 60),
        traffic("t-2", "04:19", "domlur", 12.962, 77.6387),
        flood("f-2", "04:20", "domlur", 12.961, 77.6387, 70),
    ];
    let neighbourhoods = [
        "ka.bengaluru.east.domlur",
        "ka.bengaluru.east.indiranagar",
        "ka.bengaluru.east.koramangala",
    ];
    let (expected, got) = one_and_many(&events, &neighbourhoods);
    let closed: Vec<&str> = expected
        .iter()
        .filter_map(|r| match r {
            Record::Decision(d) if d.rule == "close_roads_for_flood" => Some(d.node.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 3, "{closed:?}");
    assert_eq!(lines(&got), lines(&expected));
}

#[test]
fn a_node_outside_the_layers_runs_nothing_but_the_record_that_sent_it_stays() {
    let call = &calls()[1];
    // Neighbourhoods only: the escalation is made, the district's rule is not.
    let mut local = engine(1, 1);
    let mut records = Vec::new();
    local.push_line(1, call, &mut |r| records.push(r.clone()));
    let rules: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Decision(d) => Some(d.rule.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(rules, ["request_emergency_route"]);
    let Some(Record::Escalation(escalation)) = records.get(1) else {
        panic!("{records:?}")
    };
    let message = escalation.message.as_ref().unwrap().to_value();
    assert_eq!(message["type"], "emergency_route_request");
    assert_eq!(message["event_id"], escalation.incident_id.clone().unwrap());
    assert_eq!(message["zone"], NEIGHBOURHOODS[0]);

    // A district alone: the neighbourhood's event runs nothing and no neighbourhood
    // reports; the same incident delivered at the district runs its rule.
    let mut upper = engine(2, 5);
    let mut records = Vec::new();
    upper.push_line(1, call, &mut |r| records.push(r.clone()));
    upper.push_at(2, DISTRICT, &message.to_string(), &mut |r| {
        records.push(r.clone())
    });
    upper.finish(&mut |r| records.push(r.clone()));
    let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
    // The district knows where Indiranagar is only: its route is Indiranagar alone.
    assert_eq!(kinds, ["decision", "command"], "{records:?}");
    let Record::Decision(decision) = &records[0] else {
        panic!()
    };
    assert_eq!(decision.rule, "clear_route_for_emergency");
    assert_eq!(decision.node, DISTRICT);
    assert_eq!(upper.summary().events, 2);
}

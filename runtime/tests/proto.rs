//! The protobuf side: the hand-written messages of `cbp_runtime::proto` agree with
//! `proto/cbp/v1/*.proto` (parsed with protox), and no byte string makes the reader or the
//! engine panic or lose a message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_runtime::proto::{self, Event, EventReader, Frame, value};
use cbp_runtime::{Engine, LineOutcome, RunOptions, interpreter};
use proptest::prelude::*;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use std::collections::{BTreeMap, BTreeSet};

mod common;

use common::{policies, repo};

fn pool() -> DescriptorPool {
    let mut compiler = protox::Compiler::new([repo().join("proto")]).unwrap();
    compiler.include_imports(true);
    compiler
        .open_files(["cbp/v1/event.proto", "cbp/v1/records.proto"])
        .unwrap();
    compiler.descriptor_pool()
}

/// Decodes `bytes` as the `.proto`'s message `name` and returns the numbers of the fields it
/// set; fails on a wire-type mismatch or a field the `.proto` does not declare.
fn fields_seen(pool: &DescriptorPool, name: &str, bytes: &[u8]) -> BTreeSet<u32> {
    let desc: MessageDescriptor = pool.get_message_by_name(name).unwrap();
    let message = DynamicMessage::decode(desc.clone(), bytes)
        .unwrap_or_else(|e| panic!("`{name}` does not decode with the .proto: {e}"));
    assert_eq!(
        message.unknown_fields().count(),
        0,
        "`{name}` has fields the .proto does not declare"
    );
    desc.fields()
        .filter(|f| message.has_field(f))
        .map(|f| f.number())
        .collect()
}

fn all_fields(pool: &DescriptorPool, name: &str) -> BTreeSet<u32> {
    pool.get_message_by_name(name)
        .unwrap()
        .fields()
        .map(|f| f.number())
        .collect()
}

/// Every field of every sample set, every sample decoded by the `.proto`'s descriptor.
fn assert_in_sync<M: Message>(pool: &DescriptorPool, name: &str, samples: &[M]) {
    let mut seen = BTreeSet::new();
    for sample in samples {
        seen.extend(fields_seen(pool, name, &sample.encode_to_vec()));
    }
    assert_eq!(seen, all_fields(pool, name), "fields of `{name}`");
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn object() -> proto::Struct {
    proto::Struct {
        fields: BTreeMap::from([(s("k"), proto::json_to_value(&serde_json::json!(1)))]),
    }
}

fn place() -> Option<proto::Place> {
    Some(proto::Place {
        layer: s("L1"),
        node: s("ka.bengaluru.east.indiranagar"),
    })
}

#[test]
fn the_event_messages_match_the_proto_file() {
    let pool = pool();
    let event = Event {
        event_id: Some(s("e")),
        model_id: Some(s("m")),
        timestamp_ms: Some(1),
        r#type: Some(s("flood_warning")),
        severity: Some(s("high")),
        location: Some(proto::Location {
            latitude: Some(1.5),
            longitude: Some(2.5),
            address: Some(s("a")),
        }),
        metadata: BTreeMap::from([(s("a"), s("b"))]),
        payload: Some(object()),
        confidence: Some(0.5),
        zone: Some(s("ka.b.c.d")),
        timestamp: Some(s("2025-12-03T14:00:00Z")),
    };
    assert_in_sync(&pool, "cbp.v1.Event", std::slice::from_ref(&event));
    assert_in_sync(&pool, "cbp.v1.Location", &[event.location.clone().unwrap()]);
    let kinds = [
        value::Kind::NullValue(true),
        value::Kind::BoolValue(true),
        value::Kind::IntValue(-3),
        value::Kind::UintValue(u64::MAX),
        value::Kind::DoubleValue(0.5),
        value::Kind::StringValue(s("x")),
        value::Kind::ListValue(proto::ListValue {
            values: vec![proto::json_to_value(&serde_json::json!("x"))],
        }),
        value::Kind::StructValue(object()),
    ];
    let values: Vec<proto::Value> = kinds
        .into_iter()
        .map(|k| proto::Value { kind: Some(k) })
        .collect();
    assert_in_sync(&pool, "cbp.v1.Value", &values);
    // A negative int must read back as itself (sint64 in both).
    let bytes = values[2].encode_to_vec();
    let desc = pool.get_message_by_name("cbp.v1.Value").unwrap();
    let dynamic = DynamicMessage::decode(desc.clone(), bytes.as_slice()).unwrap();
    let field = desc.get_field_by_name("int_value").unwrap();
    assert_eq!(dynamic.get_field(&field).as_i64(), Some(-3));
}

#[test]
fn the_record_messages_match_the_proto_file() {
    let pool = pool();
    let value = proto::json_to_value(&serde_json::json!({"a": 1}));
    let action = proto::Action {
        action_id: s("a"),
        r#type: s("notify"),
        target_system: s("t"),
        parameters: Some(object()),
        status: s("done"),
        executed_at_ms: 1,
        result: s("ok"),
        decision_id: s("d"),
        rule: s("r"),
    };
    assert_in_sync(&pool, "cbp.v1.Action", std::slice::from_ref(&action));
    let decision = proto::Decision {
        decision_id: s("d"),
        event_id: s("e"),
        decision_time_ms: 1,
        deciding_layer: s("L1"),
        deciding_brain_id: s("n"),
        actions: vec![action.clone()],
        rationale: vec![value.clone()],
        approval_status: s("pending"),
        approver_id: s("o"),
        rule: s("r"),
        related: vec![s("x")],
        approval: Some(value.clone()),
        priority: Some(value.clone()),
    };
    assert_in_sync(&pool, "cbp.v1.Decision", std::slice::from_ref(&decision));
    let approval = proto::ApprovalOutcome {
        decision_id: s("d"),
        rule: s("r"),
        status: s("approved"),
        by: s("o"),
        time_ms: 1,
    };
    assert_in_sync(
        &pool,
        "cbp.v1.ApprovalOutcome",
        std::slice::from_ref(&approval),
    );
    let escalation = proto::Escalation {
        decision_id: s("d"),
        incident_id: Some(s("i")),
        incident: Some(s("major_flood")),
        rule: s("r"),
        reason: s("why"),
        from: place(),
        to: place(),
        time_ms: 1,
        fields: Some(object()),
        message: Some(object()),
    };
    assert_in_sync(
        &pool,
        "cbp.v1.Escalation",
        std::slice::from_ref(&escalation),
    );
    let directive = proto::Directive {
        decision_id: s("d"),
        command_id: s("c"),
        rule: s("r"),
        from: place(),
        to: place(),
        directive: s("x"),
        actions: vec![value.clone()],
        params: Some(object()),
        time_ms: 1,
        message: Some(object()),
    };
    assert_in_sync(&pool, "cbp.v1.Directive", std::slice::from_ref(&directive));
    let report = proto::Report {
        report: s("r"),
        from: place(),
        to: place(),
        window_start_ms: 1,
        window_end_ms: 2,
        total_events: 3,
        event_breakdown: BTreeMap::from([(s("t"), 3)]),
        escalated_incidents: 1,
        escalated_incident_ids: vec![s("i-1")],
        fields: Some(object()),
    };
    assert_in_sync(&pool, "cbp.v1.Report", std::slice::from_ref(&report));
    let dead = proto::DeadLetter {
        line: 1,
        error: s("e"),
        input: s("i"),
    };
    assert_in_sync(&pool, "cbp.v1.DeadLetter", std::slice::from_ref(&dead));
    assert_in_sync(&pool, "cbp.v1.Place", &[place().unwrap()]);
    use proto::output_record::Kind;
    let records: Vec<proto::OutputRecord> = [
        Kind::Decision(decision),
        Kind::Approval(approval),
        Kind::Escalation(escalation),
        Kind::Command(directive),
        Kind::Action(action),
        Kind::Report(report),
        Kind::DeadLetter(dead),
    ]
    .into_iter()
    .map(|k| proto::OutputRecord { kind: Some(k) })
    .collect();
    assert_in_sync(&pool, "cbp.v1.Record", &records);
}

#[test]
fn every_message_of_the_proto_files_has_a_rust_side() {
    let names: BTreeSet<String> = pool()
        .all_messages()
        .map(|m| m.full_name().to_owned())
        .filter(|n| n.starts_with("cbp.v1.") && !n.contains("Entry"))
        .collect();
    let covered: BTreeSet<String> = [
        "Event",
        "Location",
        "Value",
        "ListValue",
        "Struct",
        "Record",
        "Place",
        "Decision",
        "Action",
        "ApprovalOutcome",
        "Escalation",
        "Directive",
        "Report",
        "DeadLetter",
    ]
    .iter()
    .map(|n| format!("cbp.v1.{n}"))
    .collect();
    assert_eq!(names, covered);
}

/// Feeds a byte stream to a fresh engine; returns (frames, outcomes, dead letters written).
/// The stream is fed twice, as `cbpc run` does (each message read straight from the wire
/// format, prost only for what that reader refuses) and decoded by prost first (the
/// reference): both must give the same outcomes and the same records, byte for byte.
fn feed(bytes: &[u8]) -> (u64, Vec<LineOutcome>, u64) {
    let program = policies();
    let engine = || {
        Engine::new(
            program.clone(),
            interpreter(&program),
            RunOptions::default(),
        )
    };
    let (mut direct, mut reference) = (engine(), engine());
    let (mut direct_records, mut reference_records) = (Vec::new(), Vec::new());
    let mut reader = EventReader::new(bytes);
    let mut outcomes = Vec::new();
    let mut n = 0;
    while let Some(frame) = reader.next_message().unwrap() {
        n += 1;
        let (outcome, expected) = match frame {
            proto::RawFrame::Message(body) => (
                proto::push_message(&mut direct, n, body, &mut |r| {
                    direct_records.push(r.to_json_line())
                }),
                proto::push_frame(&mut reference, n, &proto::decode_frame(body), &mut |r| {
                    reference_records.push(r.to_json_line())
                }),
            ),
            proto::RawFrame::Broken(frame) => (
                proto::push_frame(&mut direct, n, &frame, &mut |r| {
                    direct_records.push(r.to_json_line())
                }),
                proto::push_frame(&mut reference, n, &frame, &mut |r| {
                    reference_records.push(r.to_json_line())
                }),
            ),
        };
        assert_eq!(outcome, expected, "message {n}");
        outcomes.push(outcome);
    }
    direct.finish(&mut |r| direct_records.push(r.to_json_line()));
    reference.finish(&mut |r| reference_records.push(r.to_json_line()));
    assert_eq!(direct_records, reference_records);
    let dead = direct_records
        .iter()
        .filter(|r| r.starts_with(r#"{"kind":"dead_letter""#))
        .count() as u64;
    (n, outcomes, dead)
}

#[test]
fn a_real_event_is_processed_and_garbage_is_a_dead_letter() {
    let line = r#"{"event_id":"e-1","model_id":"traffic-violation-detector-v2","type":"violation_event","timestamp":"2025-12-03T14:00:05Z","location":{"latitude":12.9716,"longitude":77.5946},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.93,"metadata":{"camera":"cam-44"},"payload":{"violation_type":"speeding","vehicle_data":{"license_plate":"KA01AB1234","vehicle_type":"car","speed_kmh":85},"evidence":{"image_urls":["https://evidence.example/e17.jpg"]}}}"#;
    let object = serde_json::from_str(line).unwrap();
    let mut bytes = Vec::new();
    proto::encode_event(&proto::json_to_event(&object).unwrap(), &mut bytes);
    bytes.extend_from_slice(&[3, 0xff, 0xff, 0xff]);
    let (frames, outcomes, dead) = feed(&bytes);
    assert_eq!(frames, 2);
    assert_eq!(
        outcomes,
        vec![LineOutcome::Processed, LineOutcome::DeadLettered]
    );
    assert_eq!(dead, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes: no panic, every frame ends as exactly one outcome, and every refused
    /// frame writes a dead letter.
    #[test]
    fn random_bytes_never_panic_nor_vanish(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (frames, outcomes, dead) = feed(&bytes);
        prop_assert_eq!(frames as usize, outcomes.len());
        let refused = outcomes.iter().filter(|o| **o == LineOutcome::DeadLettered).count() as u64;
        prop_assert!(dead >= refused);
    }

    /// Valid frames around one corrupted byte: still no panic, still one outcome each.
    #[test]
    fn a_flipped_byte_in_a_valid_stream_is_contained(position in 0usize..2000, flip in 1u8..=255) {
        let event = Event {
            event_id: Some("e-1".into()),
            model_id: Some("flood_prediction_model".into()),
            r#type: Some("flood_warning".into()),
            timestamp_ms: Some(1_764_770_400_000),
            zone: Some("ka.bengaluru.east.indiranagar".into()),
            severity: Some("high".into()),
            confidence: Some(0.9),
            location: Some(proto::Location { latitude: Some(12.97), longitude: Some(77.64), address: None }),
            payload: Some(proto::Struct { fields: BTreeMap::from([("water_level_cm".to_owned(), proto::json_to_value(&serde_json::json!(45)))]) }),
            ..Event::default()
        };
        let mut bytes = Vec::new();
        for _ in 0..5 {
            proto::encode_event(&event, &mut bytes);
        }
        let at = position % bytes.len();
        bytes[at] ^= flip;
        let (frames, outcomes, _) = feed(&bytes);
        prop_assert_eq!(frames as usize, outcomes.len());
        prop_assert!(frames >= 1);
    }
}

#[test]
fn frames_are_read_one_by_one() {
    let mut bytes = Vec::new();
    proto::encode_event(&Event::default(), &mut bytes);
    proto::encode_event(&Event::default(), &mut bytes);
    let mut reader = EventReader::new(bytes.as_slice());
    assert!(matches!(
        reader.next_frame().unwrap(),
        Some(Frame::Event(_))
    ));
    assert!(matches!(
        reader.next_frame().unwrap(),
        Some(Frame::Event(_))
    ));
    assert!(reader.next_frame().unwrap().is_none());
}

/// What a node's Kafka sink with `format = "proto"` sends: each record of the city's day,
/// read back from its JSON line, is the message `encode_record` writes for it.
#[test]
fn the_city_days_json_records_map_to_their_messages() {
    let program = policies();
    let mut engine = Engine::new(
        program.clone(),
        interpreter(&program),
        RunOptions {
            lateness_ms: 30_000,
            ..RunOptions::default()
        },
    );
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).unwrap();
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        engine.push_line(i as u64 + 1, line, &mut |r| records.push(r.clone()));
    }
    engine.finish(&mut |r| records.push(r.clone()));
    let kinds: BTreeSet<&str> = records.iter().map(|r| r.kind()).collect();
    assert!(
        kinds.len() >= 5,
        "the day makes most kinds of record: {kinds:?}"
    );
    for record in &records {
        // The record's JSON value, not its line read back: serde_json's default reading of
        // a float may be a unit in the last place off (`cbp-node` reads lines exactly).
        let json = record.to_value();
        let mut bytes = Vec::new();
        proto::encode_record(record, &mut bytes);
        let expected = proto::OutputRecord::decode_length_delimited(bytes.as_slice()).unwrap();
        let mapped = proto::record_json_to_proto(&json).unwrap();
        assert_eq!(mapped, expected, "{json}");
    }
}

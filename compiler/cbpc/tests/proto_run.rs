//! `cbpc run --format proto`: the examples' events, converted to length-delimited
//! `cbp.v1.Event` messages, give the same output records, byte for byte, as the same events
//! in NDJSON; a stream of garbage gives dead letters and exit 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_runtime::proto;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cbpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("cbpc runs")
}

/// The lines of `file` that are JSON objects, as (NDJSON text, protobuf stream). Each
/// NDJSON line is the JSON form of its protobuf message, the same JSON value as the
/// original line (checked), so the raw text in dead letters is the same in both runs.
fn convert(file: &Path) -> (String, Vec<u8>, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut ndjson = String::new();
    let mut bytes = Vec::new();
    let mut skipped = 0;
    for line in text.lines() {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) else {
            skipped += 1;
            continue;
        };
        let event = proto::json_to_event(&object)
            .unwrap_or_else(|e| panic!("{}: {e}: {line}", file.display()));
        let back = proto::event_to_json(&event).unwrap();
        assert_eq!(back, object, "the protobuf form loses something of {line}");
        ndjson.push_str(&serde_json::to_string(&back).unwrap());
        ndjson.push('\n');
        proto::encode_event(&event, &mut bytes);
    }
    (ndjson, bytes, skipped)
}

#[test]
fn the_examples_in_protobuf_give_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let (ndjson, bytes, skipped) = convert(&file);
        assert!(skipped <= 2, "{}: {skipped} lines skipped", file.display());
        let json_path = dir.path().join("events.ndjson");
        let proto_path = dir.path().join("events.pb");
        std::fs::write(&json_path, &ndjson).unwrap();
        std::fs::write(&proto_path, &bytes).unwrap();
        let common = [
            "run",
            "policies",
            "--engine",
            "interp",
            "--until",
            "2025-12-04T00:00:00Z",
        ];
        let from_json = cbpc(&[&common[..], &["--events", json_path.to_str().unwrap()]].concat());
        let from_proto = cbpc(
            &[
                &common[..],
                &[
                    "--format",
                    "proto",
                    "--events",
                    proto_path.to_str().unwrap(),
                ],
            ]
            .concat(),
        );
        assert_eq!(from_json.status.code(), Some(0));
        assert_eq!(
            from_proto.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&from_proto.stderr)
        );
        assert!(!from_json.stdout.is_empty());
        let (a, b) = (
            String::from_utf8(from_json.stdout).unwrap(),
            String::from_utf8(from_proto.stdout).unwrap(),
        );
        if a != b {
            let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            panic!(
                "{}: outputs differ (first at record {first:?}); {} vs {} records",
                file.display(),
                a.lines().count(),
                b.lines().count()
            );
        }
    }
}

#[test]
fn a_garbage_stream_is_dead_letters_and_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.pb");
    // A frame of two bytes that are no message, then a length prefix promising 100 bytes.
    std::fs::write(&path, [2u8, 0xff, 0xff, 100, 1, 2, 3]).unwrap();
    let out = cbpc(&[
        "run",
        "policies",
        "--format",
        "proto",
        "--events",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let dead: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(r#""kind":"dead_letter""#))
        .collect();
    assert_eq!(dead.len(), 2, "{stdout}");
    assert!(dead[0].contains(r#""line":1"#) && dead[0].contains("invalid protobuf"));
    assert!(
        dead[1].contains(r#""line":2"#) && dead[1].contains("the stream ends inside a message")
    );
}

/// `--out-format proto`: the city's day (NDJSON in, and protobuf in), written as
/// length-delimited `cbp.v1.Record`s, reads back record by record as the NDJSON output of
/// the same run.
#[test]
fn records_written_as_protobuf_read_back_as_the_ndjson_records() {
    let dir = tempfile::tempdir().unwrap();
    let (_, events_pb, _) = convert(&repo().join("examples/city-day.ndjson"));
    let pb_path = dir.path().join("city-day.pb");
    std::fs::write(&pb_path, &events_pb).unwrap();
    let common = ["run", "policies", "--until", "2025-12-04T00:00:00Z"];
    for input in [
        vec!["--events", "examples/city-day.ndjson"],
        vec!["--events", pb_path.to_str().unwrap(), "--format", "proto"],
    ] {
        let json = cbpc(&[&common[..], &input[..]].concat());
        assert_eq!(json.status.code(), Some(0));
        let expected: Vec<serde_json::Value> = String::from_utf8(json.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(expected.len() > 1000, "{}", expected.len());
        let out = cbpc(&[&common[..], &input[..], &["--out-format", "proto"]].concat());
        assert_eq!(out.status.code(), Some(0));
        let records = proto::decode_records(&out.stdout).expect("length-delimited records");
        assert_eq!(records.len(), expected.len());
        for (i, (record, want)) in records.iter().zip(&expected).enumerate() {
            // Through text, as the NDJSON was: serde_json's float parsing may miss the exact
            // double by an ulp, and then it misses it alike on both sides.
            let text = serde_json::to_string(&proto::record_json(record)).unwrap();
            let got: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&got, want, "record {i}");
        }
        if input.len() == 2 {
            let kinds: std::collections::BTreeSet<&str> =
                expected.iter().filter_map(|r| r["kind"].as_str()).collect();
            assert_eq!(kinds.len(), 7, "every kind of record is covered: {kinds:?}");
        }
    }
}

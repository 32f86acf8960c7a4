//! The streaming decoders against the reference: for any line, `decode_line` (the scanner,
//! falling back to serde_json) gives what `decode_line_reference` gives; for any bytes,
//! `decode_wire` decodes exactly when prost and the JSON form decode, to the same row.

use super::Decoder;
use crate::intern::Interner;
use crate::proto::{Event, encode_event, event_to_json, json_to_event};
use crate::values::message_json;
use cbp_ir::{Program, Row};
use proptest::prelude::*;
use prost::Message;
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The shipped policies, lowered once.
fn program() -> Arc<Program> {
    static PROGRAM: OnceLock<Arc<Program>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let mut compiler = cbp_check::Compiler::new();
            let mut sources = Vec::new();
            let mut paths: Vec<_> = std::fs::read_dir(repo().join("policies"))
                .expect("policies")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "cbp"))
                .collect();
            paths.sort();
            for path in paths {
                let name = format!(
                    "policies/{}",
                    path.file_name().unwrap_or_default().display()
                );
                let text = std::fs::read_to_string(&path).expect("policy");
                compiler.set_file(&name, text.clone());
                sources.push((name, text));
            }
            Arc::new(cbp_lower::lower(&compiler.checked_program(), &sources).expect("lowers"))
        })
        .clone()
}

/// Some lines of the examples (every kind of event they have), plus odd ones.
fn sample_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("example");
        lines.extend(text.lines().step_by(23).take(120).map(str::to_string));
    }
    lines
}

/// What a decode gave, comparable across interners: the row's JSON form, or the error.
fn outcome(program: &Program, interner: &Interner, result: Result<Row, String>) -> String {
    match result {
        Ok(row) => message_json(program, interner, &row).to_value().to_string(),
        Err(error) => format!("error: {error}"),
    }
}

fn check_line(decoder: &Decoder, line: &str) -> Result<(), TestCaseError> {
    let program = decoder.program();
    let mut fast = Interner::new();
    let mut reference = Interner::new();
    let a = decoder.decode_line(&mut fast, line);
    let b = decoder.decode_line_reference(&mut reference, line);
    prop_assert_eq!(
        outcome(program, &fast, a),
        outcome(program, &reference, b),
        "{}",
        line
    );
    Ok(())
}

#[test]
fn the_examples_decode_alike_and_mostly_without_serde_json() {
    let decoder = Decoder::new(program());
    let mut streamed = 0;
    let lines = sample_lines();
    for line in &lines {
        check_line(&decoder, line).expect("same outcome");
        let arena = bumpalo::Bump::new();
        if let Some(object) = super::scan::parse_object(line, &arena)
            && decoder.decode_input(&mut Interner::new(), &object).is_ok()
        {
            streamed += 1;
        }
    }
    assert!(lines.len() > 100, "{}", lines.len());
    assert!(
        streamed * 10 >= lines.len() * 9,
        "{streamed} of {}",
        lines.len()
    );
}

/// Characters that matter to JSON and to the walk.
const PIECES: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "0",
    "1",
    "-",
    ".",
    "e",
    " ",
    "x",
    "null",
    "true",
    "1e400",
    "-0",
    "\u{1}",
    "é",
    "\\n",
    "\\u00e9",
    "9999999999999999999",
    "0.1",
    "\"type\":",
];

/// A message with some bytes changed, inserted or removed: each edit is (where, the byte,
/// 0 to change, 1 to insert, else to remove).
pub(super) fn mutate_bytes(bytes: &mut Vec<u8>, edits: &[(usize, u8, u8)]) {
    for &(at, value, kind) in edits {
        let at = at % (bytes.len() + 1);
        match kind {
            0 if at < bytes.len() => bytes[at] = value,
            1 => bytes.insert(at, value),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
}

fn mutate(line: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for &(kind, at, piece) in edits {
        if chars.is_empty() {
            break;
        }
        let at = at % (chars.len() + 1);
        let piece: Vec<char> = PIECES[piece % PIECES.len()].chars().collect();
        match kind % 3 {
            0 => {
                chars.splice(at..at, piece);
            }
            1 => {
                let end = (at + 1 + piece.len() % 3).min(chars.len());
                chars.splice(at.min(end)..end, piece);
            }
            _ => {
                let end = (at + 1 + kind % 5).min(chars.len());
                chars.drain(at.min(end)..end);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A valid line with a few edits: the same row or the same dead-letter message.
    #[test]
    fn mutated_lines_decode_as_the_reference_does(
        index in 0usize..10_000,
        edits in proptest::collection::vec((0usize..30, 0usize..2000, 0usize..100), 0..4),
    ) {
        static LINES: OnceLock<Vec<String>> = OnceLock::new();
        let lines = LINES.get_or_init(sample_lines);
        let decoder = Decoder::new(program());
        let line = mutate(&lines[index % lines.len()], &edits);
        check_line(&decoder, &line)?;
    }

    /// Any text at all.
    #[test]
    fn random_text_decodes_as_the_reference_does(line in "\\PC{0,80}|\\{[ -~]{0,80}\\}") {
        let decoder = Decoder::new(program());
        check_line(&decoder, &line)?;
    }

    /// A valid event's protobuf bytes with a few bytes changed: read straight from the wire
    /// exactly when prost and the JSON form decode it, to the same row.
    #[test]
    fn mutated_messages_decode_as_prost_does(
        index in 0usize..10_000,
        flips in proptest::collection::vec((0usize..4000, 0u8..=255), 0..3),
    ) {
        static MESSAGES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        let messages = MESSAGES.get_or_init(|| {
            sample_lines()
                .iter()
                .filter_map(|l| serde_json::from_str(l).ok())
                .filter_map(|o| json_to_event(&o).ok())
                .map(|e| e.encode_to_vec())
                .collect()
        });
        let decoder = Decoder::new(program());
        let mut bytes = messages[index % messages.len()].clone();
        for (at, value) in flips {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = value;
            }
        }
        check_bytes(&decoder, &bytes)?;
    }

    #[test]
    fn random_bytes_decode_as_prost_does(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let decoder = Decoder::new(program());
        check_bytes(&decoder, &bytes)?;
    }
}

/// The way a line went before the fused decoder: the scanner and the walk, else serde_json.
fn decode_unfused(decoder: &Decoder, interner: &mut Interner, line: &str) -> Result<Row, String> {
    let arena = bumpalo::Bump::new();
    if let Some(object) = super::scan::parse_object(line, &arena)
        && let Ok(row) = decoder.decode_tok(interner, &object)
    {
        return Ok(row);
    }
    decoder.decode_line_reference(interner, line)
}

/// When the fused decoder takes a line, its row is the row the other ways give: the same
/// slots, the same objects, the same symbol ids from a fresh interner (texts interned in the
/// same order). Returns whether it took the line.
fn check_fused(decoder: &Decoder, line: &str) -> Result<bool, TestCaseError> {
    let mut fused = Interner::new();
    let mut other = Interner::new();
    let Some(row) = decoder.decode_fused(&mut fused, line, &bumpalo::Bump::new()) else {
        return Ok(false);
    };
    let expected = decode_unfused(decoder, &mut other, line);
    prop_assert_eq!(Ok(&row), expected.as_ref(), "{}", line);
    prop_assert_eq!(
        outcome(decoder.program(), &fused, Ok(row)),
        outcome(decoder.program(), &other, expected),
        "{}",
        line
    );
    Ok(true)
}

/// A line's top-level keys, and those of the objects under them, in another order
/// (`order` picks each next key among those left).
fn reorder(line: &str, order: &[usize]) -> Option<String> {
    fn shuffle(value: &mut serde_json::Value, order: &[usize], at: &mut usize) {
        if let serde_json::Value::Object(map) = value {
            let mut entries: Vec<_> = std::mem::take(map).into_iter().collect();
            let mut out = serde_json::Map::new();
            while !entries.is_empty() {
                let pick = order.get(*at % order.len().max(1)).copied().unwrap_or(0);
                *at += 1;
                let (key, mut inner) = entries.remove(pick % entries.len());
                shuffle(&mut inner, order, at);
                out.insert(key, inner);
            }
            *map = out;
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(line).ok()?;
    let mut at = 0;
    shuffle(&mut value, order, &mut at);
    Some(value.to_string())
}

/// Values a field may be given in place of its own, right or wrong for its type.
const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-1",
    "7",
    "1.5",
    "-0.0",
    "100",
    "101",
    "1e2",
    "\"x\"",
    "\"\"",
    "\"low\"",
    "\"speeding\"",
    "\"ka.a.b.c\"",
    "\"a.b\"",
    "[]",
    "[\"r-1\"]",
    "{}",
    "{\"a\":\"b\"}",
    "{\"latitude\":1,\"longitude\":2}",
    "\"2025-12-02T18:30:32Z\"",
];

/// A line with some of its values (at any depth) replaced by others of [`VALUES`]: `picks`
/// chooses, value by value in document order, to keep it (most) or which to put instead.
fn revalue(line: &str, picks: &[usize]) -> Option<String> {
    fn walk(value: &mut serde_json::Value, picks: &[usize], at: &mut usize) {
        let pick = picks.get(*at % picks.len().max(1)).copied().unwrap_or(0);
        *at += 1;
        if let Some(Ok(other)) = VALUES.get(pick).map(|v| serde_json::from_str(v)) {
            *value = other;
            return;
        }
        match value {
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, picks, at)),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, picks, at)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(line).ok()?;
    if let serde_json::Value::Object(map) = &mut value {
        let mut at = 0;
        // `type` stays, or nothing would decode.
        map.iter_mut()
            .filter(|(k, _)| *k != "type")
            .for_each(|(_, v)| walk(v, picks, &mut at));
    }
    Some(value.to_string())
}

/// Checks that at least nine in ten of `lines` take the fused way, each to the row the
/// other ways give.
fn assert_mostly_fused(lines: &[String]) {
    let decoder = Decoder::new(program());
    let fused = lines
        .iter()
        .filter(|line| check_fused(&decoder, line).expect("same row"))
        .count();
    assert!(fused * 10 >= lines.len() * 9, "{fused} of {}", lines.len());
}

#[test]
fn the_examples_mostly_take_the_fused_way_to_the_same_rows() {
    assert_mostly_fused(&sample_lines());
}

#[test]
fn lines_with_sorted_keys_take_the_fused_way_too() {
    // serde_json's own map is sorted: `location` and `payload` come before `type`.
    let sorted: Vec<String> = sample_lines()
        .iter()
        .map(
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(value) => value.to_string(),
                Err(_) => line.clone(),
            },
        )
        .collect();
    assert_mostly_fused(&sorted);
}

#[test]
fn the_fused_way_leaves_the_unusual_to_the_others() {
    let decoder = Decoder::new(program());
    let line = r#"{"event_id":"e-1","model_id":"m","type":"flood_warning","timestamp":"2025-12-02T18:30:32.191Z","location":{"latitude":12.9,"longitude":77.6},"zone":"ka.bengaluru.east.indiranagar","severity":"low","confidence":0.73,"metadata":{},"payload":{"water_level_cm":9}}"#;
    let fused = |line: &str| {
        decoder
            .decode_fused(&mut Interner::new(), line, &bumpalo::Bump::new())
            .is_some()
    };
    assert!(fused(line));
    assert!(check_fused(&decoder, line).expect("same row"));
    for unusual in [
        // `payload` before `type`, and not an object.
        format!(
            "{},\"type\":\"flood_warning\"}}",
            line.replace(r#""type":"flood_warning","#, "")
                .replace(r#"{"water_level_cm":9}"#, "7")
                .strip_suffix('}')
                .unwrap_or_default()
        ),
        line.replace(r#""e-1""#, r#""e-\u0031""#),
        line.replace(
            r#""water_level_cm":9"#,
            r#""water_level_cm":9,"water_level_cm":9"#,
        ),
        line.replace(r#""zone""#, r#""zone":"a.b.c.d","zone""#),
        line.replace(r#""water_level_cm":9"#, r#""water_level_cm":9.5"#),
        line.replace(
            r#""zone":"ka.bengaluru.east.indiranagar""#,
            r#""zone":"ka.bengaluru""#,
        ),
        line.replace(r#""confidence":0.73"#, r#""confidence":1.5"#),
        line.replace(r#""severity":"low""#, r#""severity":"dire""#),
        line.replace(r#""payload":{"water_level_cm":9}"#, r#""payload":[]"#),
        line.replace(r#"9}}"#, r#"9}} x"#),
        line.replace(r#""event_id":"e-1","#, ""),
    ] {
        assert!(!fused(&unusual), "taken: {unusual}");
        check_line(&decoder, &unusual).expect("same outcome");
    }
    // Unknown keys are skipped (and validated), nulls of optional fields are absent, a
    // payload met before `type` is read once the layout is known.
    for usual in [
        format!(
            "{},\"type\":\"flood_warning\"}}",
            line.replace(r#""type":"flood_warning","#, "")
                .strip_suffix('}')
                .unwrap_or_default()
        ),
        line.replace(
            r#""metadata":{}"#,
            r#""metadata":{},"extra":[1,{"a":null}]"#,
        ),
        line.replace(
            r#""water_level_cm":9"#,
            r#""water_level_cm":9,"road_ids":null"#,
        ),
        line.replace(
            r#""water_level_cm":9"#,
            r#""water_level_cm":9,"road_ids":["r-1"]"#,
        ),
        line.replace(r#"}"#, r#" } "#),
    ] {
        assert!(check_fused(&decoder, &usual).expect("same row"), "{usual}");
    }
    let broken = line.replace(r#""metadata":{}"#, r#""metadata":{},"extra":[1,}"#);
    assert!(!fused(&broken));
    check_line(&decoder, &broken).expect("same outcome");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A valid line with a few edits: when the fused decoder takes it, the same row as the
    /// scanner and the walk (or serde_json) give.
    #[test]
    fn mutated_lines_decode_fused_as_otherwise(
        index in 0usize..10_000,
        edits in proptest::collection::vec((0usize..30, 0usize..2000, 0usize..100), 0..4),
    ) {
        static LINES: OnceLock<Vec<String>> = OnceLock::new();
        let lines = LINES.get_or_init(sample_lines);
        let decoder = Decoder::new(program());
        let line = mutate(&lines[index % lines.len()], &edits);
        check_fused(&decoder, &line)?;
    }

    /// A valid line with its keys in another order: the same row when taken.
    #[test]
    fn reordered_lines_decode_fused_as_otherwise(
        index in 0usize..10_000,
        order in proptest::collection::vec(0usize..12, 1..40),
    ) {
        static LINES: OnceLock<Vec<String>> = OnceLock::new();
        let lines = LINES.get_or_init(sample_lines);
        let decoder = Decoder::new(program());
        if let Some(line) = reorder(&lines[index % lines.len()], &order) {
            check_fused(&decoder, &line)?;
            check_line(&decoder, &line)?;
        }
    }

    /// A valid line with values of other types, nulls, out of range: the same row when
    /// taken, the same outcome either way.
    #[test]
    fn revalued_lines_decode_fused_as_otherwise(
        index in 0usize..10_000,
        picks in proptest::collection::vec(0usize..(VALUES.len() * 6), 1..30),
    ) {
        static LINES: OnceLock<Vec<String>> = OnceLock::new();
        let lines = LINES.get_or_init(sample_lines);
        let decoder = Decoder::new(program());
        if let Some(line) = revalue(&lines[index % lines.len()], &picks) {
            check_fused(&decoder, &line)?;
            check_line(&decoder, &line)?;
        }
    }

    /// Any text at all.
    #[test]
    fn random_text_decodes_fused_as_otherwise(line in "\\PC{0,80}|\\{[ -~]{0,80}\\}") {
        let decoder = Decoder::new(program());
        check_fused(&decoder, &line)?;
    }
}

fn check_bytes(decoder: &Decoder, bytes: &[u8]) -> Result<(), TestCaseError> {
    let program = decoder.program();
    let mut direct = Interner::new();
    let mut reference = Interner::new();
    let Some(row) = decoder.decode_wire(&mut direct, bytes) else {
        return Ok(()); // prost and the JSON form decide
    };
    let event = Event::decode(bytes);
    prop_assert!(event.is_ok(), "read directly, refused by prost");
    let object = event_to_json(&event.unwrap_or_default());
    prop_assert!(object.is_ok(), "read directly, no JSON form");
    let expected = decoder.decode_object(&mut reference, &object.unwrap_or_default());
    prop_assert_eq!(
        outcome(program, &direct, Ok(row)),
        outcome(program, &reference, expected)
    );
    Ok(())
}

#[test]
fn a_wire_event_reads_as_its_json_form() {
    let decoder = Decoder::new(program());
    let mut read = 0;
    for line in sample_lines() {
        let Ok(object) = serde_json::from_str(&line) else {
            continue;
        };
        let Ok(event) = json_to_event(&object) else {
            continue;
        };
        let mut bytes = Vec::new();
        encode_event(&event, &mut bytes);
        // Without the length prefix.
        let body = event.encode_to_vec();
        assert!(bytes.ends_with(&body));
        check_bytes(&decoder, &body).expect("same row");
        if decoder.decode_wire(&mut Interner::new(), &body).is_some() {
            read += 1;
        }
    }
    assert!(read > 100, "{read}");
}

proptest! {
    /// The one-pass zone check accepts exactly the zones of four or more non-empty segments.
    #[test]
    fn zone_check_accepts_exactly_four_non_empty_segments(zone in "[a.]{0,12}|[a-z._]{0,40}") {
        let segments: Vec<&str> = zone.split('.').collect();
        let valid = segments.len() >= 4 && segments.iter().all(|s| !s.is_empty());
        let checked = super::check_zone(&zone);
        prop_assert_eq!(checked.is_ok(), valid);
        if segments.len() < 4 {
            let named = format!("has {} segments", segments.len());
            prop_assert!(checked.is_err_and(|e| e.contains(&named)));
        }
    }
}

/// The city's day goes the fused way but for its few deliberately odd lines.
#[test]
fn the_city_day_takes_the_fused_way() {
    let decoder = Decoder::new(program());
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).expect("day");
    let mut interner = Interner::new();
    let arena = bumpalo::Bump::new();
    let lines: Vec<&str> = text.lines().collect();
    let fused = lines
        .iter()
        .filter(|line| decoder.decode_fused(&mut interner, line, &arena).is_some())
        .count();
    assert!(
        fused * 1000 >= lines.len() * 999,
        "{fused} of {}",
        lines.len()
    );
}

/// The way a message went before the fused protobuf decoder: the wire reader and the walk.
fn decode_wire_unfused(decoder: &Decoder, interner: &mut Interner, bytes: &[u8]) -> Option<Row> {
    let arena = bumpalo::Bump::new();
    let object = super::wire::parse_event(bytes, &arena)?;
    decoder.decode_tok(interner, &object).ok()
}

/// When the fused protobuf decoder takes a message, its row is the row of the wire reader
/// and the walk, with the same symbol ids from a fresh interner. Returns whether it took it.
fn check_fused_wire(decoder: &Decoder, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let mut fused = Interner::new();
    let mut other = Interner::new();
    let Some(row) = decoder.decode_fused_wire(&mut fused, bytes, &bumpalo::Bump::new()) else {
        return Ok(false);
    };
    let expected = decode_wire_unfused(decoder, &mut other, bytes);
    prop_assert_eq!(Some(&row), expected.as_ref(), "{:?}", bytes);
    prop_assert_eq!(
        outcome(decoder.program(), &fused, Ok(row)),
        outcome(
            decoder.program(),
            &other,
            expected.ok_or_else(|| "refused".to_string())
        ),
        "{:?}",
        bytes
    );
    Ok(true)
}

/// The examples' events as protobuf messages (without the length prefix).
fn sample_messages() -> &'static [Vec<u8>] {
    static MESSAGES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        sample_lines()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter_map(|o| json_to_event(&o).ok())
            .map(|e| e.encode_to_vec())
            .collect()
    })
}

#[test]
fn the_example_messages_mostly_take_the_fused_way_to_the_same_rows() {
    let decoder = Decoder::new(program());
    let messages = sample_messages();
    let mut taken = 0;
    for bytes in messages {
        if check_fused_wire(&decoder, bytes).expect("same row") {
            taken += 1;
        }
    }
    assert!(
        taken * 10 >= messages.len() * 9,
        "{taken} of {}",
        messages.len()
    );
}

#[test]
fn the_fused_wire_way_leaves_the_unusual_to_the_others() {
    let decoder = Decoder::new(program());
    let Some(bytes) = sample_messages().iter().find(|b| {
        decoder
            .decode_fused_wire(&mut Interner::new(), b, &bumpalo::Bump::new())
            .is_some()
    }) else {
        panic!("no message takes the fused way");
    };
    // The `type` field (4) given again, or after the payload (8): not taken, though the
    // wire reader takes the second.
    let mut twice = bytes.clone();
    twice.extend_from_slice(&[4 << 3 | 2, 1, b'x']);
    let mut late = bytes.clone();
    let mut event = Event::decode(bytes.as_slice()).expect("decodes");
    let name = event.r#type.take().expect("a type");
    late.clear();
    event.encode(&mut late).expect("encodes");
    late.push(4 << 3 | 2);
    late.push(name.len() as u8);
    late.extend_from_slice(name.as_bytes());
    for unusual in [&twice, &late] {
        assert!(
            decoder
                .decode_fused_wire(&mut Interner::new(), unusual, &bumpalo::Bump::new())
                .is_none()
        );
    }
    assert!(decode_wire_unfused(&decoder, &mut Interner::new(), &late).is_some());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// An example message with a few bytes changed, inserted or removed.
    #[test]
    fn mutated_messages_decode_fused_as_otherwise(
        index in 0usize..10_000,
        edits in proptest::collection::vec((0usize..4000, 0u8..=255, 0u8..3), 0..4),
    ) {
        let messages = sample_messages();
        let decoder = Decoder::new(program());
        let mut bytes = messages[index % messages.len()].clone();
        mutate_bytes(&mut bytes, &edits);
        check_fused_wire(&decoder, &bytes)?;
        check_bytes(&decoder, &bytes)?;
    }

    #[test]
    fn random_bytes_decode_fused_as_otherwise(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let decoder = Decoder::new(program());
        check_fused_wire(&decoder, &bytes)?;
    }
}

#[test]
fn the_city_day_as_protobuf_takes_the_fused_way() {
    let decoder = Decoder::new(program());
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).expect("day");
    let messages: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter_map(|o| json_to_event(&o).ok())
        .map(|e| e.encode_to_vec())
        .collect();
    let mut interner = Interner::new();
    let arena = bumpalo::Bump::new();
    let fused = messages
        .iter()
        .filter(|m| {
            decoder
                .decode_fused_wire(&mut interner, m, &arena)
                .is_some()
        })
        .count();
    assert!(
        fused * 1000 >= messages.len() * 999,
        "{fused} of {}",
        messages.len()
    );
}

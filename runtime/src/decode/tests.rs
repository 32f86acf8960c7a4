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
    fn zone_check_accepts_exactly_four_non_empty_segments(zone in "[a.]{0,12}") {
        let segments: Vec<&str> = zone.split('.').collect();
        let valid = segments.len() >= 4 && segments.iter().all(|s| !s.is_empty());
        prop_assert_eq!(super::check_zone(&zone).is_ok(), valid);
    }
}

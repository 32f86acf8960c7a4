//! `cbpc run` end to end, in process: the shipped policies with the JIT evaluator replaying
//! `examples/city-day.ndjson` (every record written out as JSON, as `cbpc run` does), next
//! to the floor the issue names — parsing the same lines into `serde_json::Value` — and the
//! same events as length-delimited protobuf (`cbpc run --format proto`).
//!
//! Only the lines that have a protobuf form (JSON objects with an envelope) are used, so the
//! three benchmarks see the same events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench helpers may panic

use cbp_ir::Program;
use cbp_runtime::proto::{
    EventReader, RawFrame, encode_event, json_to_event, push_frame, push_message,
};
use cbp_runtime::{Engine, RunOptions};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn policies() -> Arc<Program> {
    let mut compiler = cbp_check::Compiler::new();
    let mut sources = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(repo().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbp"))
        .collect();
    paths.sort();
    for path in paths {
        let name = format!("policies/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).unwrap();
        compiler.set_file(&name, text.clone());
        sources.push((name, text));
    }
    Arc::new(cbp_lower::lower(&compiler.checked_program(), &sources).unwrap())
}

/// The lines of the city's day that have a protobuf form, and that form (length-delimited).
fn events() -> (Vec<String>, Vec<u8>) {
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).unwrap();
    let mut lines = Vec::new();
    let mut frames = Vec::new();
    for line in text.lines() {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) else {
            continue;
        };
        let Ok(event) = json_to_event(&object) else {
            continue;
        };
        encode_event(&event, &mut frames);
        lines.push(line.to_string());
    }
    (lines, frames)
}

/// What `cbpc run` writes for a record.
fn write(out: &mut Vec<u8>, record: &cbp_runtime::Record) {
    record.write_json(out);
    out.push(b'\n');
}

/// The lines of `input` (split with `memchr`, as `cbpc run`'s `read_until` does).
fn split_lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = input;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        Some(line)
    })
}

fn replay_ndjson(mut engine: Engine, input: &[u8]) -> usize {
    let mut out = Vec::new();
    for (n, line) in split_lines(input).enumerate() {
        if line.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(line).unwrap();
        engine.push_line(n as u64 + 1, text, &mut |r| write(&mut out, r));
    }
    engine.finish(&mut |r| write(&mut out, r));
    out.len()
}

fn replay_proto(mut engine: Engine, input: &[u8]) -> usize {
    let mut out = Vec::new();
    let mut reader = EventReader::new(input);
    let mut n = 0;
    while let Some(frame) = reader.next_message().unwrap() {
        n += 1;
        match frame {
            RawFrame::Message(bytes) => {
                push_message(&mut engine, n, bytes, &mut |r| write(&mut out, r));
            }
            RawFrame::Broken(frame) => {
                push_frame(&mut engine, n, &frame, &mut |r| write(&mut out, r));
            }
        }
    }
    engine.finish(&mut |r| write(&mut out, r));
    out.len()
}

fn bench(c: &mut Criterion) {
    let program = policies();
    let (lines, frames) = events();
    let ndjson: Vec<u8> = lines
        .iter()
        .flat_map(|l| [l.as_bytes(), b"\n"])
        .flatten()
        .copied()
        .collect();
    let engine = || {
        Engine::new(
            program.clone(),
            cbp_jit::evaluator(&program),
            RunOptions::default(),
        )
    };
    // Both inputs give the same records.
    let (a, b) = (
        replay_ndjson(engine(), &ndjson),
        replay_proto(engine(), &frames),
    );
    eprintln!(
        "run: {} events, {} bytes of NDJSON, {} bytes of protobuf; {a} and {b} bytes of records",
        lines.len(),
        ndjson.len(),
        frames.len()
    );

    let mut group = c.benchmark_group("run");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("serde_json_value_parse", |b| {
        b.iter(|| {
            split_lines(&ndjson)
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok() as usize)
                .sum::<usize>()
        })
    });
    group.bench_function("engine_jit_ndjson", |b| {
        b.iter_batched(
            engine,
            |e| replay_ndjson(e, &ndjson),
            BatchSize::PerIteration,
        )
    });
    // The same events with their keys sorted, as many writers of JSON put them (`location`
    // and `payload` before the `type` that says how to read them).
    let sorted: Vec<u8> = lines
        .iter()
        .flat_map(|l| {
            let value: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            [value.to_string().into_bytes(), b"\n".to_vec()]
        })
        .flatten()
        .collect();
    group.bench_function("engine_jit_ndjson_sorted_keys", |b| {
        b.iter_batched(
            engine,
            |e| replay_ndjson(e, &sorted),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("engine_jit_proto", |b| {
        b.iter_batched(
            engine,
            |e| replay_proto(e, &frames),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("engine_interp_ndjson", |b| {
        b.iter_batched(
            || {
                Engine::new(
                    program.clone(),
                    cbp_runtime::interpreter(&program),
                    RunOptions::default(),
                )
            },
            |e| replay_ndjson(e, &ndjson),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);

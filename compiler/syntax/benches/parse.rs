//! Lexer and parser throughput on a generated 100,000-line file, and formatter throughput.
//!
//! `cargo bench -p cbp-syntax --bench parse`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn generated(rules: usize) -> String {
    let mut text = String::from("package bench\n\nevent reading {\n    value: int\n}\n");
    for rule in 0..rules {
        text.push_str(&format!(
            "
/// Rule {rule}.
rule r_{rule} at local {{
    on e: reading
    when e.value > {rule} and e.severity >= high or e.confidence < 0.5
    correlate others: reading over last 5m within 500m where others.value > 10
    then {{
        notify operator {{ priority: high, message: \"reading over {rule}\" }}
        log readings_db {{ value: e.value, at: e.timestamp }}
    }}
    approval by operator within 30m else approve
}}
"
        ));
    }
    text
}

fn bench_parse(c: &mut Criterion) {
    let text = generated(8_400);
    eprintln!(
        "generated file: {} lines, {} bytes",
        text.lines().count(),
        text.len()
    );
    let parsed = cbp_syntax::parse("bench.cbp", &text);
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        parsed.diagnostics.first()
    );

    let mut group = c.benchmark_group("syntax");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("lex_100k_lines", |b| {
        b.iter(|| black_box(cbp_syntax::lexer::tokenize(&text)))
    });
    group.bench_function("parse_100k_lines", |b| {
        b.iter(|| black_box(cbp_syntax::parse("bench.cbp", &text)))
    });
    group.bench_function("format_100k_lines", |b| {
        b.iter(|| black_box(cbp_syntax::format::format_source("bench.cbp", &text)))
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);

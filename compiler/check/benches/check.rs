//! Check throughput on a generated policy of 10,000 rules (~110,000 lines in 101 files), and
//! the cost of re-checking after a one-line edit inside one rule: the whole workspace's
//! diagnostics, and the edited file's only.
//!
//! `cargo bench -p cbp-check --bench check`

use cbp_check::Compiler;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const FILES: usize = 100;
const RULES_PER_FILE: usize = 100;

fn shared_file() -> String {
    "package bench

authority operator {
    level: L1
}

system readings_db {
    layer: local
    kind: database
}
"
    .to_owned()
}

/// One file of the generated policy; `threshold_bump` changes one literal in its first rule.
fn rules_file(file: usize, threshold_bump: i64) -> String {
    let mut text = format!(
        "package bench

/// Readings of sensor family {file}.
event reading_{file} {{
    value: int
    sensor: string
}}
"
    );
    for rule in 0..RULES_PER_FILE {
        let threshold = rule as i64 + if rule == 0 { threshold_bump } else { 0 };
        text.push_str(&format!(
            "
rule r_{file}_{rule} at local {{
    on e: reading_{file}
    when e.value > {threshold} and e.severity >= high
    correlate others: reading_{file} over last 5m within 500m where others.value > 10
    then {{
        notify operator {{ priority: high, message: \"reading over {threshold}\" }}
        log readings_db {{ value: e.value }}
    }}
    approval by operator within 30m else approve
}}
"
        ));
    }
    text
}

fn generated() -> Vec<(String, String)> {
    let mut files = vec![("bench/shared.cbp".to_owned(), shared_file())];
    files.extend((0..FILES).map(|f| (format!("bench/rules_{f:03}.cbp"), rules_file(f, 0))));
    files
}

fn load(files: &[(String, String)]) -> Compiler {
    let mut compiler = Compiler::new();
    for (path, text) in files {
        compiler.set_file(path, text.clone());
    }
    compiler
}

fn bench_check(c: &mut Criterion) {
    let files = generated();
    let lines: usize = files.iter().map(|(_, t)| t.lines().count()).sum();
    let warm = load(&files);
    let diagnostics = warm.diagnostics();
    assert!(
        diagnostics.is_empty(),
        "the generated policy must check clean: {diagnostics:?}"
    );
    eprintln!(
        "generated policy: {} files, {lines} lines, {} rules",
        files.len(),
        FILES * RULES_PER_FILE
    );

    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("full_10k_rules", |b| {
        b.iter_batched(
            || files.clone(),
            |files| black_box(load(&files).diagnostics()),
            BatchSize::LargeInput,
        )
    });

    // Each iteration flips one literal in the first rule of one file (`threshold_bump` 1 makes
    // that rule a duplicate of the next, so a W0004 warning comes and goes): the text is made
    // outside the timing, like an editor that already has it.
    let mut compiler = warm;
    let mut bump = 0;
    let edits = [rules_file(50, 0), rules_file(50, 1)];
    group.sample_size(50);
    group.bench_function("one_line_edit_recheck", |b| {
        b.iter_batched(
            || {
                bump = 1 - bump;
                edits[bump].clone()
            },
            |text| {
                compiler.set_file("bench/rules_050.cbp", text);
                black_box(compiler.diagnostics())
            },
            BatchSize::SmallInput,
        )
    });
    // What a language server asks after a keystroke: the edited file's diagnostics only.
    group.bench_function("one_line_edit_file_diagnostics", |b| {
        b.iter_batched(
            || {
                bump = 1 - bump;
                edits[bump].clone()
            },
            |text| {
                compiler.set_file("bench/rules_050.cbp", text);
                black_box(compiler.file_diagnostics("bench/rules_050.cbp"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);

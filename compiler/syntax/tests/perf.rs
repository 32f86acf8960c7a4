//! Parsing time grows linearly: a 100,000-line file is parsed in one pass.
#![allow(clippy::unwrap_used)] // test helpers may panic

use cbp_syntax::parse;
use std::time::Instant;

/// About `lines` lines of realistic policy text, with unique names.
fn big_file(lines: usize) -> String {
    let mut s = String::with_capacity(lines * 40);
    let mut i = 0;
    while s.bytes().filter(|b| *b == b'\n').count() < lines {
        for _ in 0..100 {
            s.push_str(&format!(
                "/// Rule {i}.\nrule r{i} at local {{\n  on v: e{i} from p\n  let s = v.speed ?? 0\n  when s > {i} and v.zone in [\"a\", \"b\"]\n  \
                 correlate k: e over last 5min within 500m where k.speed ?? 0 > 3 at least 2\n  \
                 then {{ notify officer {{ priority: high, message: \"x{i}\" }} }} // done\n}}\n\
                 record R{i} {{ @pii plate: string  speed: int? in 0..300 }}\n"
            ));
            i += 1;
        }
    }
    s
}

#[test]
fn large_files_parse_in_linear_time() {
    let small = big_file(10_000);
    let large = big_file(40_000);
    let time = |src: &str| {
        let start = Instant::now();
        let parsed = parse("big.cbp", src);
        assert!(parsed.diagnostics.is_empty());
        start.elapsed()
    };
    let _ = time(&small);
    let t_small = time(&small);
    let t_large = time(&large);
    println!("10k lines: {t_small:?}, 40k lines: {t_large:?}");
    // Four times the input may take at most ~8 times as long (generous for noisy machines);
    // quadratic work would take ~16 times.
    assert!(
        t_large < t_small * 8 + std::time::Duration::from_millis(200),
        "{t_small:?} vs {t_large:?}"
    );
}

/// The 100,000-line target; run with `cargo test --release -- --ignored` to time it.
#[test]
#[ignore]
fn hundred_thousand_lines() {
    let src = big_file(100_000);
    let start = Instant::now();
    let parsed = parse("big.cbp", &src);
    let elapsed = start.elapsed();
    println!(
        "{} lines, {} items: {elapsed:?}",
        src.lines().count(),
        parsed.file.items.len()
    );
    assert!(parsed.diagnostics.is_empty());
}

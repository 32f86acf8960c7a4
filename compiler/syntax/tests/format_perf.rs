//! Formatting time grows linearly with the file.

use std::time::{Duration, Instant};

/// About `rules` rules (9 lines each) with comments in awkward places.
fn big_file(rules: usize) -> String {
    let mut s = String::from("package big // the package\n\nimport std.geo\n");
    for i in 0..rules {
        s.push_str(&format!(
            "/// Rule {i}.\nrule r{i} at local {{ // opens\n  on v: e{i} from p\n  let s = v.speed ?? 0 // default\n  \
             when s > {i} and v.zone in [\"a\", // first\n \"b\"]\n  \
             correlate k: e over last 5min within 500m where k.speed ?? 0 > 3 at least 2\n  \
             then {{ notify officer {{ priority: high, message: \"x{i}\" }} }} // done\n}}\n"
        ));
    }
    s
}

fn time(source: &str) -> Duration {
    let start = Instant::now();
    let formatted = cbp_syntax::format::format_source("big.cbp", source);
    assert!(formatted.is_ok());
    start.elapsed()
}

#[test]
fn large_files_format_in_linear_time() {
    let (small, large) = (big_file(2_000), big_file(8_000));
    let _ = time(&small);
    let (t_small, t_large) = (time(&small), time(&large));
    println!("2k rules: {t_small:?}, 8k rules: {t_large:?}");
    // Four times the input may take at most ~8 times as long (generous for noisy machines);
    // quadratic work would take ~16 times.
    assert!(
        t_large < t_small * 8 + Duration::from_millis(50),
        "{t_small:?} vs {t_large:?}"
    );
}

//! `gen-city`: a synthetic day of Bengaluru in the NDJSON of contract section 2, seeded and
//! deterministic (the same arguments give the same bytes).
//!
//! ```sh
//! cargo run -p cbp-examples --bin gen-city -- --seed 7 --hours 24 --out examples/city-day.ndjson
//! ```
//!
//! The day starts at midnight in Bengaluru (2025-12-02T18:30:00Z). Every neighbourhood's
//! sensors report at rates that rise in the morning and evening rush hours; on top of that
//! run the scripted episodes of [`scenario`]: an evening flood in two neighbourhoods of the
//! east district (escalated to the district, declared a major flood, sent to the city,
//! directives back down), emergency calls, officers answering speeding reviews, and a few
//! malformed or late lines that end as dead letters.

mod city;
mod rng;
mod scenario;
mod streams;

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "gen-city",
    about = "A synthetic city's day of events (contract NDJSON)"
)]
struct Args {
    /// The seed: the same seed gives the same events.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// How many hours from midnight (Bengaluru time) to generate.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// Multiplies the background rates (1.0 gives about 12 000 events a day).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where to write (standard output by default).
    #[arg(long)]
    out: Option<PathBuf>,
    /// `ndjson`, or `proto` (length-delimited `cbp.v1.Event`; lines that are not JSON
    /// objects have no protobuf form and are left out).
    #[arg(long, default_value = "ndjson")]
    format: String,
}

/// Midnight of 2025-12-03 in Bengaluru (UTC+05:30), in Unix milliseconds.
pub const DAY_START_MS: i64 = 1_764_700_200_000;

/// One output line: when it arrives, and its text.
pub struct Line {
    pub arrival_ms: i64,
    pub text: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let hours_ok = args.hours > 0.0 && args.hours <= 24.0 * 7.0;
    if !hours_ok || args.scale.is_nan() || args.scale <= 0.0 {
        eprintln!("error: `--hours` must be in 0..=168 and `--scale` above 0");
        return std::process::ExitCode::from(2);
    }
    let end_ms = DAY_START_MS + (args.hours * 3_600_000.0) as i64;
    let mut rng = rng::Rng::new(args.seed);
    let mut lines = Vec::new();
    let speeding = streams::background(&mut rng, end_ms, args.scale, &mut lines);
    scenario::all(&mut rng, end_ms, &speeding, &mut lines);
    lines.retain(|l| l.arrival_ms < end_ms);
    // Stable: lines of one instant keep the order they were made in.
    lines.sort_by_key(|l| l.arrival_ms);

    let bytes = match args.format.as_str() {
        "ndjson" => {
            let mut text = String::new();
            for line in &lines {
                text.push_str(&line.text);
                text.push('\n');
            }
            text.into_bytes()
        }
        "proto" => to_proto(&lines),
        other => {
            eprintln!("error: unknown format `{other}` (expected `ndjson` or `proto`)");
            return std::process::ExitCode::from(2);
        }
    };
    let written = match &args.out {
        Some(path) => std::fs::write(path, &bytes),
        None => std::io::stdout().write_all(&bytes),
    };
    if let Err(e) = written {
        eprintln!("error: cannot write the events: {e}");
        return std::process::ExitCode::from(2);
    }
    eprintln!("gen-city: {} events (seed {})", lines.len(), args.seed);
    std::process::ExitCode::SUCCESS
}

fn to_proto(lines: &[Line]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&line.text) else {
            continue;
        };
        if let Ok(event) = cbp_runtime::proto::json_to_event(&object) {
            cbp_runtime::proto::encode_event(&event, &mut out);
        }
    }
    out
}

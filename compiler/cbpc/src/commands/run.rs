//! `cbpc run PATH... --events FILE [--format ndjson|proto] [--out FILE]
//! [--out-format ndjson|proto] [--until TIME]
//! [--engine jit|interp] [--lateness DUR]`: check, lower (or read one bundle written by
//! `cbpc compile`), and replay the events through the embedded runtime.

use super::fail;
use crate::cli::{EngineKind, EventFormat, RunArgs};
use crate::render::{Style, render_human};
use crate::{Exit, Io, files};
use cbp_ir::Program;
use cbp_runtime::proto::RawFrame;
use cbp_runtime::{Engine, Evaluator, LineOutcome, RunOptions};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Checks and lowers the policies under `paths`. Problems are reported on standard error;
/// the error is the exit code to return.
pub(crate) fn compile(paths: &[PathBuf], io: &mut Io<'_>) -> Result<Arc<Program>, Exit> {
    compile_or_say(paths, io, "nothing was run")
}

/// [`compile`], saying `outcome` after the error count when the policy has errors.
pub(crate) fn compile_or_say(
    paths: &[PathBuf],
    io: &mut Io<'_>,
    outcome: &str,
) -> Result<Arc<Program>, Exit> {
    let sources = files::collect(paths)
        .and_then(|p| files::read_all(&p))
        .map_err(|m| fail(io, &m))?;
    let compiler = super::check::load(&sources);
    let diagnostics = compiler.diagnostics();
    let style = if io.colour {
        Style::Colour
    } else {
        Style::Plain
    };
    let mut errors = 0;
    for diagnostic in &diagnostics {
        if diagnostic.is_error() {
            errors += 1;
            let _ = write!(io.stderr, "{}", render_human(diagnostic, &compiler, style));
        }
    }
    if errors > 0 {
        let _ = writeln!(
            io.stderr,
            "error: the policy has {errors} error(s); {outcome}"
        );
        return Err(Exit::Problems);
    }
    let texts: Vec<(String, String)> = sources
        .iter()
        .map(|f| {
            (
                files::std_name(f).unwrap_or_else(|| f.name.clone()),
                f.text.clone(),
            )
        })
        .collect();
    match cbp_lower::lower(&compiler.checked_program(), &texts) {
        Ok(program) => Ok(Arc::new(program)),
        Err(error) => {
            let _ = writeln!(io.stderr, "error: {error}");
            Err(Exit::Problems)
        }
    }
}

/// The evaluator `--engine` asks for: the Cranelift JIT (conditions as native code, the
/// rest by the interpreter) or the reference interpreter alone.
pub(crate) fn evaluator_factory(kind: EngineKind) -> fn(&Program) -> Box<dyn Evaluator> {
    match kind {
        EngineKind::Jit => cbp_jit::evaluator,
        EngineKind::Interp => cbp_runtime::interpreter,
    }
}

pub fn run(args: &RunArgs, io: &mut Io<'_>) -> Exit {
    let until = match args
        .until
        .as_deref()
        .map(|t| cbp_runtime::time::parse_rfc3339(t).ok_or(t))
    {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(text)) => return fail(io, &format!("`--until {text}` is not an RFC 3339 time")),
    };
    let lateness_ms = match args
        .lateness
        .as_deref()
        .map(|t| cbp_runtime::time::parse_duration(t).ok_or(t))
    {
        None => 0,
        Some(Ok(ms)) => ms,
        Some(Err(text)) => {
            return fail(
                io,
                &format!("`--lateness {text}` is not a duration (like `30s` or `5min`)"),
            );
        }
    };
    let loaded = match bundle_path(&args.paths) {
        Some(path) => load_bundle(path, io),
        None => compile(&args.paths, io),
    };
    let program = match loaded {
        Ok(program) => program,
        Err(exit) => return exit,
    };
    let make = evaluator_factory(args.engine);
    let mut engine = Engine::new(
        program.clone(),
        make(&program),
        RunOptions {
            until,
            lateness_ms,
            ..RunOptions::default()
        },
    );

    let stdin_events = args.events == Path::new("-");
    let file: Box<dyn Read> = if stdin_events {
        Box::new(std::io::empty())
    } else {
        match std::fs::File::open(&args.events) {
            Ok(file) => Box::new(file),
            Err(e) => return fail(io, &format!("cannot read `{}`: {e}", args.events.display())),
        }
    };
    let mut out_file = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some(BufWriter::new(file)),
            Err(e) => return fail(io, &format!("cannot write `{}`: {e}", path.display())),
        },
        None => None,
    };

    let result = {
        let Io { stdin, stdout, .. } = io;
        let reader: Box<dyn BufRead + '_> = if stdin_events {
            Box::new(BufReader::new(&mut **stdin))
        } else {
            Box::new(BufReader::new(file))
        };
        let sink: &mut dyn Write = match out_file.as_mut() {
            Some(file) => file,
            None => &mut **stdout,
        };
        let mut tally = Tally::new(std::io::stderr().is_terminal());
        let result = match args.format {
            EventFormat::Ndjson => replay(&mut engine, reader, sink, args.out_format, &mut tally),
            EventFormat::Proto => {
                replay_proto(&mut engine, reader, sink, args.out_format, &mut tally)
            }
        };
        result.map(|()| tally)
    };
    let tally = match result {
        Ok(tally) => tally,
        Err(message) => return fail(io, &message),
    };
    if let Some(mut file) = out_file
        && let Err(e) = file.flush()
    {
        return fail(io, &format!("cannot write the output: {e}"));
    }
    let _ = write!(
        io.stderr,
        "ran with the {} engine\n{}{}",
        engine.evaluator_name(),
        engine.summary().render(),
        tally.render(engine.summary().lines)
    );
    Exit::Clean
}

/// The one path of `paths` when it names a bundle (`*.cbpb`, or a file that starts like
/// one) rather than policy sources.
fn bundle_path(paths: &[PathBuf]) -> Option<&Path> {
    let [path] = paths else { return None };
    if !path.is_file() {
        return None;
    }
    if path.extension().is_some_and(|e| e == "cbpb") {
        return Some(path);
    }
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n]
        .starts_with(b"{\"header\":")
        .then_some(path.as_path())
}

/// Reads a bundle, refusing one whose magic, version or content hash is wrong.
fn load_bundle(path: &Path, io: &mut Io<'_>) -> Result<Arc<Program>, Exit> {
    let bytes = std::fs::read(path)
        .map_err(|e| fail(io, &format!("cannot read `{}`: {e}", path.display())))?;
    match cbp_ir::bundle::read_bundle(&bytes) {
        Ok(program) => Ok(Arc::new(program)),
        Err(error) => {
            let _ = writeln!(
                io.stderr,
                "error: the bundle `{}` is refused: {error}\nhelp: rebuild it with `cbpc compile`; a bundle must not be edited",
                path.display()
            );
            Err(Exit::Problems)
        }
    }
}

/// What the run's summary adds to the engine's: approvals by who resolved them, the rate,
/// and a progress line on a terminal.
struct Tally {
    started: Instant,
    answered: u64,
    by_timeout: u64,
    progress: bool,
}

impl Tally {
    fn new(progress: bool) -> Tally {
        Tally {
            started: Instant::now(),
            answered: 0,
            by_timeout: 0,
            progress,
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            enabled: self.progress,
            started: self.started,
            last: self.started,
        }
    }

    fn count(&mut self, record: &cbp_runtime::Record) {
        if let cbp_runtime::Record::Approval(approval) = record {
            if approval.by == "timeout" {
                self.by_timeout += 1;
            } else {
                self.answered += 1;
            }
        }
    }

    fn render(&self, lines: u64) -> String {
        if self.progress {
            eprint!("\r\x1b[K");
        }
        let elapsed = self.started.elapsed();
        format!(
            "approvals: {} answered, {} by timeout\n{lines} events in {:.2} s: {:.0} events/s\n",
            self.answered,
            self.by_timeout,
            elapsed.as_secs_f64(),
            rate(lines, elapsed)
        )
    }
}

/// The progress line, drawn on standard error only when it is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// Redraws the line at most four times a second.
    fn tick(&mut self, lines: u64) {
        if !self.enabled || !lines.is_multiple_of(1024) {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.last) < Duration::from_millis(250) {
            return;
        }
        self.last = now;
        let rate = rate(lines, now.duration_since(self.started));
        eprint!("\r\x1b[K{lines} events read, {rate:.0} events/s");
    }
}

fn rate(lines: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { lines as f64 / secs } else { 0.0 }
}

/// Writes one record: a JSON line, or a length-delimited `cbp.v1.Record` (`buffer` is
/// reused between records).
fn write_record(
    sink: &mut dyn Write,
    record: &cbp_runtime::Record,
    format: EventFormat,
    buffer: &mut Vec<u8>,
) -> std::io::Result<()> {
    match format {
        EventFormat::Ndjson => {
            buffer.clear();
            record.write_json(buffer);
            buffer.push(b'\n');
            sink.write_all(buffer)
        }
        EventFormat::Proto => {
            buffer.clear();
            cbp_runtime::proto::encode_record(record, buffer);
            sink.write_all(buffer)
        }
    }
}

/// Feeds every line to the engine and writes the records; an IO error stops the run.
fn replay(
    engine: &mut Engine,
    mut reader: Box<dyn BufRead + '_>,
    sink: &mut dyn Write,
    out_format: EventFormat,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut progress = tally.progress();
    let mut write_error: Option<std::io::Error> = None;
    let mut encoded = Vec::new();
    let mut emit = |record: &cbp_runtime::Record| {
        tally.count(record);
        if write_error.is_none()
            && let Err(e) = write_record(sink, record, out_format, &mut encoded)
        {
            write_error = Some(e);
        }
    };
    let mut buffer = Vec::new();
    let mut line_no = 0u64;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| format!("cannot read the events: {e}"))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        while buffer.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buffer.pop();
        }
        let _: LineOutcome = match std::str::from_utf8(&buffer) {
            Ok(text) => engine.push_line(line_no, text, &mut emit),
            Err(_) => {
                let text = String::from_utf8_lossy(&buffer).into_owned();
                engine.push_unreadable(
                    line_no,
                    &text,
                    "the line is not UTF-8 text".into(),
                    &mut emit,
                )
            }
        };
        progress.tick(line_no);
    }
    engine.finish(&mut emit);
    match write_error {
        Some(e) => Err(format!("cannot write the output: {e}")),
        None => Ok(()),
    }
}

/// Feeds every length-delimited `cbp.v1.Event` to the engine, the way [`replay`] feeds lines:
/// message `n` is "line" `n` of its dead letter; a message that does not decode is a dead
/// letter, and broken framing dead-letters the rest of the stream as one.
fn replay_proto(
    engine: &mut Engine,
    reader: Box<dyn BufRead + '_>,
    sink: &mut dyn Write,
    out_format: EventFormat,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut progress = tally.progress();
    let mut write_error: Option<std::io::Error> = None;
    let mut encoded = Vec::new();
    let mut emit = |record: &cbp_runtime::Record| {
        tally.count(record);
        if write_error.is_none()
            && let Err(e) = write_record(sink, record, out_format, &mut encoded)
        {
            write_error = Some(e);
        }
    };
    let mut frames = cbp_runtime::proto::EventReader::new(reader);
    let mut n = 0u64;
    while let Some(frame) = frames
        .next_message()
        .map_err(|e| format!("cannot read the events: {e}"))?
    {
        n += 1;
        match frame {
            RawFrame::Message(bytes) => {
                cbp_runtime::proto::push_message(engine, n, bytes, &mut emit);
            }
            RawFrame::Broken(frame) => {
                cbp_runtime::proto::push_frame(engine, n, &frame, &mut emit);
            }
        }
        progress.tick(n);
    }
    engine.finish(&mut emit);
    match write_error {
        Some(e) => Err(format!("cannot write the output: {e}")),
        None => Ok(()),
    }
}

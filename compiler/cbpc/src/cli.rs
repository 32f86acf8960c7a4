//! The command line: `cbpc check`, `cbpc fmt`, `cbpc compile`, `cbpc run`, `cbpc test`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "cbpc", version, about = "The City Brain Policy compiler")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, resolve and type-check every `.cbp` file under each PATH.
    Check(CheckArgs),
    /// Rewrite `.cbp` files in canonical form (`-` formats standard input to standard output).
    Fmt(FmtArgs),
    /// Check and lower the policies into a deployable bundle (or print the IR, or emit an
    /// object file of the native conditions).
    Compile(CompileArgs),
    /// Replay an event stream through the policies and write the output records.
    Run(RunArgs),
    /// Run the test blocks written in the policies.
    Test(TestArgs),
    /// Serve the language server protocol over standard input and output (for editors).
    Lsp,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or folders; folders are searched for `.cbp` files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `human` (miette reports on standard error) or `json` (one object per line on standard
    /// output).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors for the exit code.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Files or folders; `-` reads standard input and writes standard output.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 if a file is not formatted.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// Policy files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The output file (required for `bundle` and `obj`; `ir` goes to standard output
    /// without it).
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// What to write: the hashed policy `bundle`, the `ir` as text, or an `obj` file of the
    /// conditions compiled to native code.
    #[arg(long, value_enum, default_value_t = Emit::Bundle)]
    pub emit: Emit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    Bundle,
    Ir,
    Obj,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Policy files or folders, or one bundle written by `cbpc compile`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The events: one JSON object per line, or length-delimited protobuf `cbp.v1.Event`
    /// messages with `--format proto`; `-` reads standard input.
    #[arg(long)]
    pub events: PathBuf,
    /// The encoding of the events file.
    #[arg(long, value_enum, default_value_t = EventFormat::Ndjson)]
    pub format: EventFormat,
    /// Where the output records go (standard output by default).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The encoding of the output records: one JSON object per line, or length-delimited
    /// protobuf `cbp.v1.Record` messages (`proto/cbp/v1/records.proto`).
    #[arg(long, value_enum, default_value_t = EventFormat::Ndjson)]
    pub out_format: EventFormat,
    /// At the end of the input, move the clock to this RFC 3339 time first.
    #[arg(long)]
    pub until: Option<String>,
    /// `jit` (native code) or `interp` (the reference interpreter); same output.
    #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
    pub engine: EngineKind,
    /// How late (in event time) a message may arrive and still be processed: `30s`, `5min`.
    #[arg(long)]
    pub lateness: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Policy files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `jit` (native code) or `interp` (the reference interpreter).
    #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
    pub engine: EngineKind,
}

/// How `cbpc run` reads its events (`--format`) and writes its records (`--out-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// Newline-delimited JSON (contract sections 2 and 3).
    Ndjson,
    /// Length-delimited protobuf: `cbp.v1.Event` messages in (`proto/cbp/v1/event.proto`),
    /// `cbp.v1.Record` messages out (`proto/cbp/v1/records.proto`).
    Proto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    Jit,
    Interp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

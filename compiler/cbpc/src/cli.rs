//! The command line: `cbpc check`, `cbpc fmt`.

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

//! The `cbpc` command: a thin layer that reads files, hands them to the pure compiler crates
//! (`cbp-syntax`, `cbp-check`) and prints what they say. All IO of the compiler lives here.

pub mod cli;
mod commands;
pub use commands::check::load;
pub mod files;
pub mod render;

use clap::Parser;
use std::ffi::OsString;
use std::io::{Read, Write};

/// Exit codes of the contract: 0 clean, 1 problems in the input, 2 usage or IO error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Clean = 0,
    Problems = 1,
    Usage = 2,
}

/// The process's standard streams, so that tests can run commands in-process.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Standard error is a terminal: draw diagnostics in colour.
    pub colour: bool,
}

/// Runs `cbpc` with these arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>, io: &mut Io<'_>) -> Exit {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let exit = if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Clean
            };
            let text = error.to_string();
            let stream: &mut dyn Write = if error.use_stderr() {
                io.stderr
            } else {
                io.stdout
            };
            let _ = write!(stream, "{text}");
            return exit;
        }
    };
    match cli.command {
        cli::Command::Check(args) => commands::check::run(&args, io),
        cli::Command::Fmt(args) => commands::fmt::run(&args, io),
        cli::Command::Compile(args) => commands::compile::run(&args, io),
        cli::Command::Run(args) => commands::run::run(&args, io),
        cli::Command::Test(args) => commands::test::run(&args, io),
        cli::Command::Lsp => commands::lsp::run(io),
    }
}

//! `cbpc fmt [--check] PATH...`

use super::fail;
use crate::cli::FmtArgs;
use crate::render::{Sources, Style, render_human};
use crate::{Exit, Io, files};
use cbp_syntax::format::format_source;
use std::path::Path;

pub fn run(args: &FmtArgs, io: &mut Io<'_>) -> Exit {
    if args.paths.iter().any(|p| p == Path::new("-")) {
        return format_stdin(args, io);
    }
    let sources = match files::collect(&args.paths).and_then(|paths| files::read_all(&paths)) {
        Ok(sources) => sources,
        Err(message) => return fail(io, &message),
    };
    let mut exit = Exit::Clean;
    for file in &sources {
        match format_source(&file.name, &file.text) {
            Ok(formatted) if formatted == file.text => {}
            Ok(_) if args.check => {
                let _ = writeln!(io.stderr, "not formatted: {}", file.name);
                exit = Exit::Problems;
            }
            Ok(formatted) => {
                if let Err(e) = std::fs::write(&file.path, formatted) {
                    return fail(io, &format!("cannot write `{}`: {e}", file.name));
                }
                let _ = writeln!(io.stderr, "formatted {}", file.name);
            }
            Err(diagnostics) => {
                show(&diagnostics, &file.name, &file.text, io);
                exit = Exit::Problems;
            }
        }
    }
    exit
}

fn format_stdin(args: &FmtArgs, io: &mut Io<'_>) -> Exit {
    if args.paths.len() > 1 {
        return fail(
            io,
            "`-` (standard input) cannot be combined with other paths",
        );
    }
    let mut text = String::new();
    if let Err(e) = io.stdin.read_to_string(&mut text) {
        return fail(io, &format!("cannot read standard input: {e}"));
    }
    match format_source("<stdin>", &text) {
        Ok(formatted) if args.check && formatted != text => {
            let _ = writeln!(io.stderr, "not formatted: <stdin>");
            Exit::Problems
        }
        Ok(formatted) => {
            if !args.check {
                let _ = write!(io.stdout, "{formatted}");
            }
            Exit::Clean
        }
        Err(diagnostics) => {
            show(&diagnostics, "<stdin>", &text, io);
            Exit::Problems
        }
    }
}

struct OneFile<'a> {
    name: &'a str,
    text: &'a str,
}

impl Sources for OneFile<'_> {
    fn text(&self, file: &str) -> Option<String> {
        (file == self.name).then(|| self.text.to_owned())
    }
}

fn show(diagnostics: &[cbp_syntax::Diagnostic], name: &str, text: &str, io: &mut Io<'_>) {
    let style = if io.colour {
        Style::Colour
    } else {
        Style::Plain
    };
    let sources = OneFile { name, text };
    for diagnostic in diagnostics {
        let _ = write!(io.stderr, "{}", render_human(diagnostic, &sources, style));
    }
    let _ = writeln!(io.stderr, "not formatted: {name} has syntax errors");
}

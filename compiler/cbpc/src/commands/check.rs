//! `cbpc check PATH...`

use super::fail;
use crate::cli::{CheckArgs, Format};
use crate::render::{Style, render_human, render_json};
use crate::{Exit, Io, files};
use cbp_check::Compiler;
use cbp_syntax::{Diagnostic, Severity};

pub fn run(args: &CheckArgs, io: &mut Io<'_>) -> Exit {
    let sources = match files::collect(&args.paths).and_then(|paths| files::read_all(&paths)) {
        Ok(sources) => sources,
        Err(message) => return fail(io, &message),
    };
    let compiler = load(&sources);
    let diagnostics = compiler.diagnostics();
    report(&diagnostics, &compiler, args.format, io);
    summarise(&diagnostics, sources.len(), args.format, io);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let fatal = errors > 0 || (args.deny_warnings && !diagnostics.is_empty());
    if fatal { Exit::Problems } else { Exit::Clean }
}

/// A compiler holding the given files; files of `package std` replace the embedded library.
pub fn load(sources: &[files::SourceFile]) -> Compiler {
    let mut compiler = Compiler::new();
    for file in sources {
        let name = files::std_name(file).unwrap_or_else(|| file.name.clone());
        compiler.set_file(&name, file.text.clone());
    }
    compiler
}

fn report(diagnostics: &[Diagnostic], compiler: &Compiler, format: Format, io: &mut Io<'_>) {
    let style = if io.colour {
        Style::Colour
    } else {
        Style::Plain
    };
    for diagnostic in diagnostics {
        let _ = match format {
            Format::Human => write!(io.stderr, "{}", render_human(diagnostic, compiler, style)),
            Format::Json => writeln!(io.stdout, "{}", render_json(diagnostic, compiler)),
        };
    }
}

fn summarise(diagnostics: &[Diagnostic], files: usize, format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        return;
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let files = plural(files, "file");
    let _ = if diagnostics.is_empty() {
        writeln!(io.stderr, "checked {files}: no problems")
    } else {
        writeln!(
            io.stderr,
            "checked {files}: {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    };
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

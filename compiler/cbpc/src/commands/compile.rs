//! `cbpc compile PATH... -o BUNDLE [--emit bundle|ir|obj]`: check and lower the policies,
//! then write the deployable bundle (`cbp_ir::bundle`, deterministic bytes), the IR as text
//! (`cbp_ir::print`) or an object file of the conditions compiled to native code
//! (`cbp_jit::emit_object`). Exit codes as `check`: 0 written, 1 policy errors, 2 usage or IO.

use super::fail;
use crate::cli::{CompileArgs, Emit};
use crate::{Exit, Io};
use std::path::Path;

pub fn run(args: &CompileArgs, io: &mut Io<'_>) -> Exit {
    if args.out.is_none() && args.emit != Emit::Ir {
        let what = match args.emit {
            Emit::Obj => "an object file",
            _ => "a bundle",
        };
        return fail(
            io,
            &format!("`cbpc compile` writes {what}: name it with `-o FILE`"),
        );
    }
    let program = match super::run::compile_or_say(&args.paths, io, "nothing was written") {
        Ok(program) => program,
        Err(exit) => return exit,
    };
    let bytes = match args.emit {
        Emit::Bundle => cbp_ir::bundle::write_bundle(&program),
        Emit::Ir => cbp_ir::print::print(&program).into_bytes(),
        Emit::Obj => match cbp_jit::emit_object(&program) {
            Ok(bytes) => bytes,
            Err(error) => {
                let _ = writeln!(io.stderr, "error: {error}");
                return Exit::Problems;
            }
        },
    };
    match &args.out {
        None => {
            if let Err(e) = io.stdout.write_all(&bytes) {
                return fail(io, &format!("cannot write the output: {e}"));
            }
            Exit::Clean
        }
        Some(path) => write_file(path, &bytes, args.emit, io),
    }
}

fn write_file(path: &Path, bytes: &[u8], emit: Emit, io: &mut Io<'_>) -> Exit {
    if let Err(e) = std::fs::write(path, bytes) {
        return fail(io, &format!("cannot write `{}`: {e}", path.display()));
    }
    let what = match emit {
        Emit::Bundle => "bundle",
        Emit::Ir => "IR",
        Emit::Obj => "object file",
    };
    let _ = writeln!(
        io.stderr,
        "wrote the {what} `{}` ({} bytes)",
        path.display(),
        bytes.len()
    );
    Exit::Clean
}

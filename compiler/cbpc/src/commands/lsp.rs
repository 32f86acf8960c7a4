//! `cbpc lsp`: the language server, over the process's own standard input and output (the
//! protocol owns them; nothing else may be written to standard output).

use crate::{Exit, Io};

pub fn run(io: &mut Io<'_>) -> Exit {
    match cbp_lsp::serve_stdio() {
        Ok(()) => Exit::Clean,
        Err(error) => super::fail(io, &format!("the language server stopped: {error}")),
    }
}

//! The language server of the City Brain Policy language (`cbpc lsp`).
//!
//! Built on `tower-lsp-server` (the maintained fork of `tower-lsp`). The compiler's salsa
//! database sits behind a mutex in [`Backend`]; every edit is a salsa input update, so
//! diagnostics and answers are recomputed incrementally. Position queries (hover, definition,
//! references, rename, semantic tokens) read a per-file semantic index (`index.rs`) built from
//! the syntax tree and the checked program.

mod analysis;
mod assist;
mod braces;
mod complete;
mod describe;
mod diagnostics;
mod fixes;
mod glossary;
mod hover;
mod index;
mod navigate;
mod outline;
mod resolve;
mod server;
mod text;
mod tokens;

pub use server::Backend;
pub use tower_lsp_server::{LspService, Server};

/// Serves the language server over standard input and output until the client exits.
///
/// The caller may hold the locks of `std::io::stdin()`/`stdout()` (`cbpc` does), so on Unix
/// the server reads and writes duplicates of file descriptors 0 and 1 rather than going
/// through those locked handles.
pub fn serve_stdio() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let result = runtime.block_on(async {
        let (input, output) = stdio()?;
        let (service, socket) = LspService::new(Backend::new);
        Server::new(input, output, socket).serve(service).await;
        Ok(())
    });
    // A blocking read of standard input may still be pending; do not wait for it.
    runtime.shutdown_background();
    result
}

#[cfg(unix)]
fn stdio() -> std::io::Result<(tokio::fs::File, tokio::fs::File)> {
    use std::os::fd::AsFd;
    let input = std::io::stdin().as_fd().try_clone_to_owned()?;
    let output = std::io::stdout().as_fd().try_clone_to_owned()?;
    Ok((
        tokio::fs::File::from_std(std::fs::File::from(input)),
        tokio::fs::File::from_std(std::fs::File::from(output)),
    ))
}

#[cfg(not(unix))]
fn stdio() -> std::io::Result<(tokio::io::Stdin, tokio::io::Stdout)> {
    Ok((tokio::io::stdin(), tokio::io::stdout()))
}

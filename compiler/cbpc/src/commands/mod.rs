pub mod check;
pub mod compile;
pub mod fmt;
pub mod lsp;
pub mod run;
pub mod test;

use crate::{Exit, Io};

/// Reports an IO or usage problem the way every command does.
pub(crate) fn fail(io: &mut Io<'_>, message: &str) -> Exit {
    let _ = writeln!(io.stderr, "error: {message}");
    Exit::Usage
}

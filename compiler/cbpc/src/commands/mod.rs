pub mod check;
pub mod fmt;

use crate::{Exit, Io};

/// Reports an IO or usage problem the way every command does.
pub(crate) fn fail(io: &mut Io<'_>, message: &str) -> Exit {
    let _ = writeln!(io.stderr, "error: {message}");
    Exit::Usage
}

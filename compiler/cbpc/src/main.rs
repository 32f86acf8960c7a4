//! `cbpc`: see the crate documentation of the `cbpc` library.

use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let colour = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut io = cbpc::Io {
        stdin: &mut stdin.lock(),
        stdout: &mut stdout.lock(),
        stderr: &mut stderr.lock(),
        colour,
    };
    let exit = cbpc::run(std::env::args_os(), &mut io);
    std::process::ExitCode::from(exit as u8)
}

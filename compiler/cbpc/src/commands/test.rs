//! `cbpc test PATH...`: run the test blocks of the policies.

use crate::cli::TestArgs;
use crate::{Exit, Io};

pub fn run(args: &TestArgs, io: &mut Io<'_>) -> Exit {
    let program = match super::run::compile(&args.paths, io) {
        Ok(program) => program,
        Err(exit) => return exit,
    };
    let make = super::run::evaluator_factory(args.engine);
    let for_program = program.clone();
    let outcomes = cbp_runtime::run_tests(program, &|| make(&for_program));
    let mut failed = 0;
    for outcome in &outcomes {
        if outcome.passed() {
            let _ = writeln!(io.stdout, "test {} ({}) ... ok", outcome.name, outcome.file);
        } else {
            failed += 1;
            let _ = writeln!(
                io.stdout,
                "test {} ({}) ... FAILED",
                outcome.name, outcome.file
            );
            for failure in &outcome.failures {
                let _ = writeln!(io.stdout, "  {}", failure.replace('\n', "\n  "));
            }
        }
    }
    let passed = outcomes.len() - failed;
    let _ = writeln!(
        io.stdout,
        "\ntest result: {}. {passed} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed == 0 {
        Exit::Clean
    } else {
        Exit::Problems
    }
}

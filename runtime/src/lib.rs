//! The embedded runtime core of City Brain Policy: it executes a compiled program
//! ([`cbp_ir::Program`]) against a stream of messages and writes output records, exactly as
//! `docs/execution.md` says. Synchronous and free of IO: `cbpc run` feeds it lines, a
//! service can wrap it.
//!
//! - [`decode`]: one NDJSON line → a row, schema-directed by the layout of its `type`.
//! - [`eval`]: the [`Evaluator`] trait the engine evaluates expressions through, and the
//!   reference [`Interpreter`]; a native backend implements the same trait.
//! - [`window`]: correlation windows, indexed by time and a spatial grid.
//! - [`engine`]: nodes, dispatch, rules, decisions, approvals, timers, reports.
//! - [`record`]: the output records, serialized with a fixed key order.
//! - [`testing`]: the runner of the policies' `test` blocks.
//! - [`proto`]: the protobuf messages of `proto/cbp/v1` and the length-delimited reader.
//!
//! ```text
//! let mut engine = Engine::new(program, Box::new(Interpreter::new(&program)), RunOptions::default());
//! for (n, line) in input.lines().enumerate() {
//!     engine.push_line(n as u64 + 1, line, &mut |record| println!("{}", record.to_json_line()));
//! }
//! engine.finish(&mut |record| println!("{}", record.to_json_line()));
//! ```

pub mod decode;
pub mod engine;
pub mod eval;
pub mod geo;
pub mod intern;
pub mod json;
pub mod proto;
pub mod record;
pub mod testing;
pub mod time;
pub mod values;
pub mod window;

pub use engine::{Engine, LineOutcome, RunOptions, Summary};
pub use eval::{Aggregates, EvalContext, Evaluator, Interpreter};
pub use record::Record;
pub use testing::{TestOutcome, run_tests};

/// A boxed reference interpreter for `program` (what `--engine interp` uses).
pub fn interpreter(program: &cbp_ir::Program) -> Box<dyn Evaluator> {
    Box::new(Interpreter::new(program))
}

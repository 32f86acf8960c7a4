//! Native code for the conditions the engine evaluates on every event.
//!
//! [`Jit::compile`] compiles, with Cranelift, each rule's `when` condition and each
//! correlation's `where` filter whose node graph uses only the supported nodes; the engine
//! asks [`Jit::condition`] for a node and falls back to the interpreter when it gets `None`.
//! [`emit_object`] writes the same functions to an object file (`cbpc compile --emit obj`).
//! [`evaluator`] / [`JitEvaluator`] plug it into the engine as a
//! [`cbp_runtime::Evaluator`]: compiled conditions run natively, every other node goes to
//! the reference interpreter.
//!
//! # What is compiled
//!
//! `Lit` (strings and zones become symbol ids through the caller's interner), `Load`,
//! `Present`, `Not`, `Neg`, `Arith`, `Cmp`, `And`, `Or`, `IntToFloat`, `Coalesce`, `If`, and
//! `In` over a list literal (`severity in [high, critical]`). A condition whose graph reaches
//! any other node (`Local`, `Matches`, `GetField`, `Call`, list values such as `x in
//! order.actions`, …), orders strings (`<` on text), or does arithmetic the JIT does not
//! define (see [`shape::arith_result`]) is listed by [`Jit::skipped`] with the reason.
//!
//! # Semantics (identical to the interpreter)
//!
//! - A `Load` of a slot whose presence bit is clear is null; null propagates through `not`,
//!   negation, arithmetic, comparisons and `IntToFloat`.
//! - `and`/`or` are three-valued: `false and null` is false, `true or null` is true,
//!   otherwise null if either side is null.
//! - `x in [a, b]` is null when `x` is, else whether some element equals `x` (a null element
//!   equals nothing).
//! - `a ?? b` is `a` unless `a` is null; `if c then a else b` takes `b` when `c` is false
//!   or null.
//! - Integer arithmetic (ints, durations, timestamps) is checked: overflow, division by
//!   zero and `i64::MIN / -1` give null (Rust's `checked_*`).
//! - A float result (`float op float`, `duration / duration`, `distance / distance`,
//!   `distance / number`) that is not finite is null; `distance ± distance` and `distance *
//!   number` are plain IEEE. `duration * number` and `duration / number` compute in `f64`
//!   milliseconds, round half away from zero, and are null unless finite and below 9e18.
//! - Comparisons: integers, durations, timestamps, enum indexes (the low 32 bits of the
//!   slot) and bools as signed integers; floats and distances as IEEE, where `==` with NaN
//!   is false, `!=` true, and an ordering with NaN is null; strings and zones by symbol id,
//!   equality only (the rows' ids must come from the interner the literals were given to).
//!
//! # The ABI
//!
//! ```text
//! extern "C" fn(trigger: *const u64, candidate: *const u64) -> u8
//! ```
//!
//! Each pointer is a row's `words` buffer in the encoding of [`cbp_ir::Row`] (blocks of 65
//! words: a presence word, then its 64 slots; see [`cbp_ir::value::slot_word`] and
//! [`cbp_ir::value::presence_word`]), so a slot and its presence bit are at offsets fixed at
//! compile time. The result is 0 (false), 1 (true) or 2 (null: the engine treats it
//! as false). The function reads nothing else, writes nothing, calls nothing, never traps
//! and never unwinds. [`CompiledCondition::eval`] is the safe entry: it checks the rows
//! are long enough for what the condition reads ([`CompiledCondition::needs`]) and pads
//! them with absent slots otherwise; a missing candidate reads as all absent.
//!
//! # The code
//!
//! Every compiled node is total and pure (checked arithmetic gives null instead of
//! trapping; divisors are guarded), so below its top-level `and`s a condition is
//! straight-line code: both sides of `and`, `or`, `??` and `if` are computed and combined
//! with `band`/`bor`/`select`, which gives what short-circuit evaluation gives, without
//! branches to mispredict. Every node under a root is one SSA value, so a subexpression shared
//! through hash-consing is computed once per call. Booleans are carried as two flags,
//! "certainly true" and "certainly false" (null is neither), so Kleene's `and` is one `band`
//! and one `bor`; other values carry a validity flag unless they can never be null.
//!
//! In front of it, a fast path for the common row: one test of all the presence bits the
//! condition reads (a mask per presence word). When every one is set, no load can be null,
//! so loads carry no validity flag and `present` is constant. On that path and on the
//! general one, the top-level conjuncts are tested in order and the first one that is
//! certainly false returns false, like `&&` (a null conjunct — a missing field, NaN
//! ordering, overflow — does not stop the test, since a later false one still makes the
//! `and` false). [`clif`] shows the IR of a condition.
//!
//! The code lives in pages mapped next to the executable's own code (x86-64 Unix; see
//! `call::near_memory`): called across the address space, as from cranelift-jit's default
//! mappings, each call cost about 1 ns more.

mod call;
mod codegen;
mod evaluator;
mod isa;
mod jit;
mod object;
pub mod shape;

pub use call::{CompiledCondition, ConditionFn};
pub use codegen::NULL_RESULT;
pub use evaluator::{JitEvaluator, evaluator};
pub use jit::{Jit, clif, condition_roots};
pub use object::emit_object;
pub use shape::{Needs, RowNeed, Unsupported};

/// Why code could not be generated at all.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("the host machine is not supported by the code generator: {0}")]
    Host(String),
    #[error("code generation failed: {0}")]
    Module(String),
    #[error("condition not compiled: {0}")]
    Unsupported(Unsupported),
    #[error("cannot write the object file: {0}")]
    Object(String),
    #[error("internal error in the JIT: {0}")]
    Internal(String),
}

impl JitError {
    fn module(err: cranelift_module::ModuleError) -> Self {
        JitError::Module(err.to_string())
    }
}

//! Timestamps and durations: the one implementation lives in [`cbp_ir::time`], shared with
//! the compiler (which folds `timestamp("…")` of a literal).

pub use cbp_ir::time::*;

//! The syntax of the City Brain Policy language: text → tokens → syntax tree, and back to
//! canonical text.
//!
//! - [`lexer`]: logos-based tokens, with comments kept aside for the formatter.
//! - [`parser`]: the lalrpop grammar; [`parse`] never fails, it returns a tree and the
//!   diagnostics of every error it recovered from.
//! - [`ast`]: the tree; every node carries its [`Span`].
//! - [`format`](mod@format): the canonical formatter behind `cbpc fmt`.
//!
//! This crate does no IO.

pub mod ast;
mod diagnostic;
pub mod format;
pub mod lexer;
pub mod parser;
mod span;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use parser::{Parsed, parse};
pub use span::{Span, line_col};

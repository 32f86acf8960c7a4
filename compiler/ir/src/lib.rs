//! The IR: what a checked policy compiles to, and what runtime nodes execute.
//!
//! A [`Program`] is self-contained — it names no file and needs no checker — so it is what a
//! bundle carries down the hierarchy. It has four parts:
//!
//! - **Row layouts** ([`layout`]): for every message type, a flat row of 8-byte slots at fixed
//!   offsets. Scalars (int, float, bool, enum index, duration in ms, distance in metres,
//!   timestamp in ms, interned string id) sit in a slot each; nested records are flattened into
//!   consecutive slots; lists and maps sit in a side table the slot points into. Every slot has
//!   a presence bit (for optional fields). Decoders write rows; compiled code reads slots.
//! - **The expression graph** ([`expr`]): every expression of every rule in one hash-consed
//!   DAG of typed nodes, so a subexpression written in many rules (`v.severity >= medium`) is
//!   one node, evaluated once per event. Nodes are typed at the operator
//!   (`Cmp { ty: Scalar::Float, .. }`), so neither the interpreter nor the JIT infers types.
//! - **Rules, reports and tests** ([`program`]): triggers, conditions (node ids), correlation
//!   windows, action templates, approvals, escalations, commands, report schedules.
//! - **Dispatch** ([`program::Dispatch`]): for each message type, the rules it can trigger,
//!   indexed by discriminating equality tests and by range tests on one slot (binary search
//!   over sorted constants), so an event is tested only against rules that can match it.
//!
//! `print` renders a program as text (`cbpc compile --emit ir`); the text is stable and
//! snapshot-tested.
//! [`bundle`] writes and reads the bundle file: the program as canonical JSON under a header
//! with its SHA-256, checked on load.

pub mod bundle;
pub mod expr;
pub mod layout;
pub mod print;
pub mod program;
pub mod time;
pub mod types;
pub mod value;

pub use expr::{Builtin, Node, NodeId, RowRef};
pub use layout::{FieldLayout, MessageLayout, Storage};
pub use program::Program;
pub use types::{EnumId, MessageId, RecordId, Scalar, Ty};
pub use value::{Row, Value};

/// Bumped whenever the serialized form of [`Program`] changes incompatibly; a runtime refuses
/// a bundle of another format version. 2: dispatch has range indexes (a runtime of format 1
/// would ignore them and never test the rules they hold).
pub const FORMAT_VERSION: u32 = 2;

//! Types as the IR sees them: what a slot holds, and the shape of complex values.

use serde::{Deserialize, Serialize};

/// Index into [`crate::Program::messages`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub u32);

/// Index into [`crate::Program::enums`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EnumId(pub u32);

/// Index into [`crate::Program::records`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordId(pub u32);

/// A value that fits one 8-byte slot. The encoding in a slot (`u64`):
///
/// | scalar | slot holds |
/// | --- | --- |
/// | `Int` | `i64` |
/// | `Float` | `f64` bits |
/// | `Bool` | 0 or 1 |
/// | `Str`, `Zone` | interned symbol id (the runtime's interner) |
/// | `Duration` | `i64` milliseconds |
/// | `Distance` | `f64` metres, bits |
/// | `Timestamp` | `i64` Unix milliseconds |
/// | `Enum` | variant index in declaration order |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scalar {
    Int,
    Float,
    Bool,
    Str,
    Zone,
    Duration,
    Distance,
    Timestamp,
    Enum(EnumId),
}

impl Scalar {
    /// Held as `f64` bits rather than `i64`.
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::Float | Scalar::Distance)
    }

    /// Held as an interned symbol id.
    pub fn is_symbol(self) -> bool {
        matches!(self, Scalar::Str | Scalar::Zone)
    }
}

/// The full type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ty {
    Scalar(Scalar),
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Record(RecordId),
    Message(MessageId),
    Optional(Box<Ty>),
    /// No value at all: the type of `null` before it meets its context, and of the element of
    /// an empty list literal.
    Never,
}

impl Ty {
    pub fn scalar(&self) -> Option<Scalar> {
        match self {
            Ty::Scalar(s) => Some(*s),
            _ => None,
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_))
    }

    /// The type without one level of `?`.
    pub fn strip_optional(&self) -> &Ty {
        match self {
            Ty::Optional(inner) => inner,
            other => other,
        }
    }
}

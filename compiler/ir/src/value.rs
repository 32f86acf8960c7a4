//! Runtime values: rows (the flat form compiled code reads) and dynamic values (for lists,
//! maps, records, and the interpreter).

use crate::types::{EnumId, MessageId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One message, decoded into its layout. `slots[i]` holds the scalar of slot `i` in the
/// encoding of [`crate::Scalar`]; bit `i` of `present` says whether slot `i` holds a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub message: MessageId,
    pub slots: Vec<u64>,
    pub present: Vec<u64>,
    pub objects: Vec<Value>,
}

impl Row {
    pub fn new(message: MessageId, slots: u32, objects: u32) -> Self {
        Row {
            message,
            slots: vec![0; slots as usize],
            present: vec![0; (slots as usize).div_ceil(64)],
            objects: vec![Value::Null; objects as usize],
        }
    }

    pub fn set(&mut self, slot: u32, bits: u64) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = bits;
        }
        self.mark_present(slot);
    }

    pub fn mark_present(&mut self, slot: u32) {
        if let Some(word) = self.present.get_mut(slot as usize / 64) {
            *word |= 1 << (slot % 64);
        }
    }

    pub fn is_present(&self, slot: u32) -> bool {
        self.present
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    pub fn get(&self, slot: u32) -> u64 {
        self.slots.get(slot as usize).copied().unwrap_or(0)
    }

    pub fn int(&self, slot: u32) -> i64 {
        self.get(slot) as i64
    }

    pub fn float(&self, slot: u32) -> f64 {
        f64::from_bits(self.get(slot))
    }
}

/// A dynamic value. Strings are text here (rows hold symbol ids; the runtime's interner maps
/// between them).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Arc<str>),
    Zone(Arc<str>),
    /// Milliseconds.
    Duration(i64),
    /// Metres.
    Distance(f64),
    /// Unix milliseconds.
    Timestamp(i64),
    Enum(EnumId, u32),
    List(Arc<Vec<Value>>),
    Map(Arc<BTreeMap<String, Value>>),
    /// A record value: its fields by name, in declaration order.
    Record(Arc<Vec<(Arc<str>, Value)>>),
    /// A whole message (a correlated event, `latest(T)`).
    Message(MessageId, Arc<Row>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

//! Runtime values: rows (the flat form compiled code reads) and dynamic values (for lists,
//! maps, records, and the interpreter).

use crate::types::{EnumId, MessageId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Slots and their presence bits share one buffer, in blocks of [`BLOCK_WORDS`] words: a
/// block's first word holds the presence bits of its 64 slots (bit `i` for slot `64b + i`),
/// the next 64 words the slots themselves. A row is then one allocation, and compiled code
/// finds both a slot and its presence bit at fixed offsets from one pointer, whatever the
/// row's length.
pub const BLOCK_WORDS: usize = 65;

/// The index in [`Row::words`] of slot `slot`.
#[inline]
pub const fn slot_word(slot: u32) -> usize {
    (slot as usize / 64) * BLOCK_WORDS + 1 + slot as usize % 64
}

/// The index in [`Row::words`] of the word holding slot `slot`'s presence bit.
#[inline]
pub const fn presence_word(slot: u32) -> usize {
    (slot as usize / 64) * BLOCK_WORDS
}

/// The length of the buffer of a row with `slots` slots.
pub const fn row_words(slots: u32) -> usize {
    if slots == 0 {
        0
    } else {
        slot_word(slots - 1) + 1
    }
}

/// One message, decoded into its layout: slot `i` holds its scalar in the encoding of
/// [`crate::Scalar`], and its presence bit says whether it holds a value (see
/// [`BLOCK_WORDS`] for where each lives in `words`).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub message: MessageId,
    pub words: Vec<u64>,
    pub objects: Vec<Value>,
}

impl Row {
    pub fn new(message: MessageId, slots: u32, objects: u32) -> Self {
        Row::with_object_capacity(message, slots, objects, objects as usize)
    }

    /// As [`Row::new`], with room for `capacity` objects (at least `objects`).
    pub fn with_object_capacity(
        message: MessageId,
        slots: u32,
        objects: u32,
        capacity: usize,
    ) -> Self {
        let mut object_values = Vec::with_capacity(capacity.max(objects as usize));
        object_values.resize(objects as usize, Value::Null);
        Row {
            message,
            words: vec![0; row_words(slots)],
            objects: object_values,
        }
    }

    #[inline]
    pub fn set(&mut self, slot: u32, bits: u64) {
        if let Some(s) = self.words.get_mut(slot_word(slot)) {
            *s = bits;
            self.mark_present(slot);
        }
    }

    #[inline]
    pub fn mark_present(&mut self, slot: u32) {
        // Only a slot the row has gets a presence bit.
        if slot_word(slot) < self.words.len()
            && let Some(word) = self.words.get_mut(presence_word(slot))
        {
            *word |= 1 << (slot % 64);
        }
    }

    #[inline]
    pub fn is_present(&self, slot: u32) -> bool {
        slot_word(slot) < self.words.len()
            && self
                .words
                .get(presence_word(slot))
                .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    #[inline]
    pub fn get(&self, slot: u32) -> u64 {
        self.words.get(slot_word(slot)).copied().unwrap_or(0)
    }

    #[inline]
    pub fn int(&self, slot: u32) -> i64 {
        self.get(slot) as i64
    }

    #[inline]
    pub fn float(&self, slot: u32) -> f64 {
        f64::from_bits(self.get(slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_presence_bits_interleave_in_blocks() {
        assert_eq!((slot_word(0), presence_word(0)), (1, 0));
        assert_eq!((slot_word(63), presence_word(63)), (64, 0));
        assert_eq!((slot_word(64), presence_word(64)), (66, 65));
        assert_eq!(row_words(0), 0);
        assert_eq!(row_words(1), 2);
        assert_eq!(row_words(64), 65);
        assert_eq!(row_words(65), 67);
    }

    #[test]
    fn a_set_slot_reads_back_present_and_others_absent() {
        let mut row = Row::new(MessageId(0), 70, 0);
        row.set(3, 42);
        row.set(66, 7);
        assert_eq!((row.get(3), row.is_present(3)), (42, true));
        assert_eq!((row.get(66), row.is_present(66)), (7, true));
        assert!(!row.is_present(4) && !row.is_present(65));
        // beyond the row: absent, and setting it changes nothing
        row.set(70, 1);
        assert!(!row.is_present(70));
        assert_eq!(row.words.len(), row_words(70));
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

//! Row layouts: where each field of a message lives in a flat row.

use crate::types::{MessageId, Ty};
use serde::{Deserialize, Serialize};

/// The slots of the envelope fields, the same in every message layout: the runtime reads
/// event time, zone and location without looking at the layout.
pub mod envelope {
    pub const EVENT_ID: u32 = 0;
    pub const MODEL_ID: u32 = 1;
    pub const TIMESTAMP: u32 = 2;
    pub const LATITUDE: u32 = 3;
    pub const LONGITUDE: u32 = 4;
    pub const ADDRESS: u32 = 5;
    /// Presence slot of the `location` record.
    pub const LOCATION: u32 = 6;
    pub const ZONE: u32 = 7;
    pub const SEVERITY: u32 = 8;
    pub const CONFIDENCE: u32 = 9;
    /// Object index (not a slot) of the `metadata` map.
    pub const METADATA_OBJECT: u32 = 0;
    /// Presence slot of `metadata`. It has no slot of its own: `metadata` is always there (an
    /// input without it decodes as `{}`), so its presence is that of `event_id`, which every
    /// message has.
    pub const METADATA_PRESENCE: u32 = EVENT_ID;
    /// Slots used by the envelope; payload slots start here.
    pub const SLOTS: u32 = 10;
    /// Objects used by the envelope; payload objects start here.
    pub const OBJECTS: u32 = 1;
}

/// What kind of message a layout is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    Event,
    Incident,
    Directive,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageLayout {
    pub id: MessageId,
    /// The name messages carry in their `type` field (the declared name, unqualified).
    pub name: String,
    pub kind: MessageKind,
    /// Envelope fields first, in the order of [`envelope`], then the payload fields in
    /// declaration order.
    pub fields: Vec<FieldLayout>,
    pub slots: u32,
    pub objects: u32,
}

impl MessageLayout {
    /// The field at a dotted path, like `vehicle_data.license_plate`.
    pub fn field(&self, path: &str) -> Option<&FieldLayout> {
        let mut fields = &self.fields;
        let mut found = None;
        for part in path.split('.') {
            let field = fields.iter().find(|f| f.name == part)?;
            if let Storage::Record { fields: inner, .. } = &field.storage {
                fields = inner;
            }
            found = Some(field);
        }
        found
    }

    /// The payload fields (everything after the envelope).
    pub fn payload(&self) -> &[FieldLayout] {
        self.fields.get(ENVELOPE_FIELDS..).unwrap_or(&[])
    }
}

/// Number of top-level envelope fields: event_id, model_id, timestamp, location, zone,
/// severity, confidence, metadata.
pub const ENVELOPE_FIELDS: usize = 8;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldLayout {
    pub name: String,
    pub ty: Ty,
    /// Declared without `?`: a message lacking it is refused (dead-lettered).
    pub required: bool,
    /// Annotated `@pii`.
    pub pii: bool,
    /// `in LOW..HIGH`, inclusive; a value outside is refused.
    pub range: Option<(f64, f64)>,
    pub storage: Storage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Storage {
    /// A scalar in this slot; its presence bit says whether it was given.
    Slot(u32),
    /// A nested record, flattened: its fields have slots of their own; the presence bit of
    /// `presence` says whether the record was given.
    Record {
        presence: u32,
        fields: Vec<FieldLayout>,
    },
    /// A list, map, or anything not flat, as a [`crate::Value`] in `Row::objects[index]`; the
    /// presence bit of `presence` says whether it was given.
    Object { presence: u32, index: u32 },
}

//! The fused protobuf decoder: one pass over a `cbp.v1.Event`'s wire bytes, directed by the
//! layout of its `type`, into the same per-layout entries as the fused NDJSON decoder
//! ([`super::fused`]): envelope fields by field number, the payload `Struct`'s entries (and
//! those of a nested record's `Struct`, and the `location` message's fields) matched by key
//! against the layout's key tables. The values are then written by the fused decoder's own
//! writer, in the walk's order, so rows and interning order are those of the other ways.
//!
//! It reads exactly what [`super::wire`] reads (its readers are reused for every value it
//! does not take apart, unknown ones included, so the same bytes are refused), and only the
//! plain case besides: `type` before `payload` and `location`, no payload key given twice.
//! Anything else gives `None`, and the message goes [`super::wire`] and the walk, then prost
//! and the JSON form, whose outcome is the reference.

use super::fused::{Group, Kind, LayoutPlan, Val, Written};
use super::scan::{MAX_DEPTH, Tok};
use super::wire::{self, DELIMITED, Wire};
use super::{Decoder, TOP_KEYS, top_keys};
use crate::intern::Interner;
use bumpalo::Bump;
use bumpalo::collections::{String as ArenaString, Vec as ArenaVec};
use cbp_ir::Row;
use cbp_ir::layout::MessageLayout;

/// By `cbp.v1.Event` field number: the index of its JSON key in [`TOP_KEYS`].
const FIELD_KEYS: [Option<usize>; 12] = [
    None,
    Some(0),  // 1 event_id
    Some(1),  // 2 model_id
    Some(4),  // 3 timestamp_ms
    Some(2),  // 4 type
    Some(7),  // 5 severity
    Some(5),  // 6 location
    Some(9),  // 7 metadata
    Some(10), // 8 payload
    Some(8),  // 9 confidence
    Some(6),  // 10 zone
    Some(3),  // 11 timestamp
];

const LOCATION: usize = 5;

/// One message's pass: the entries' values, the texts they name (copied into one buffer, as
/// the fused writer reads strings from one text), the values read whole.
struct Pass<'a> {
    arena: &'a Bump,
    texts: ArenaString<'a>,
    vals: &'a mut [Val],
    others: ArenaVec<'a, Tok<'a>>,
}

impl<'a> Pass<'a> {
    fn text(&mut self, text: &str) -> Option<Val> {
        let start = u64::try_from(self.texts.len()).ok()?;
        self.texts.push_str(text);
        Some(Val::of(Kind::Str, (start << 32) | text.len() as u64))
    }

    /// A value [`super::wire`] read, as the fused writer keeps it.
    fn val(&mut self, tok: Tok<'a>) -> Option<Val> {
        Some(match tok {
            Tok::Null => Val::of(Kind::Null, 0),
            Tok::Bool(false) => Val::of(Kind::False, 0),
            Tok::Bool(true) => Val::of(Kind::True, 0),
            Tok::Int(i) => Val::of(Kind::Int, i as u64),
            Tok::Float(x) => Val::of(Kind::Float, x.to_bits()),
            Tok::Str(text) => self.text(text)?,
            other => {
                self.others.push(other);
                Val::of(Kind::Other, self.others.len() as u64 - 1)
            }
        })
    }

    /// An envelope field other than `type`, `metadata` and `payload`, as the wire reader
    /// reads it (straight to its value: a [`Tok`] returned by value is copied piecewise,
    /// and reading it back stalls on the partial stores).
    fn envelope(&mut self, field: u32, wire: &mut Wire<'a>, wire_type: u8) -> Option<Val> {
        Some(match field {
            3 => Val::of(Kind::Int, wire.varint_of(wire_type)?),
            9 => Val::of(
                Kind::Float,
                wire::finite(wire.double(wire_type)?)?.to_bits(),
            ),
            6 => {
                let tok = wire::location(wire.delimited(wire_type)?, self.arena)?;
                self.val(tok)?
            }
            _ => self.text(wire::text(wire.delimited(wire_type)?)?)?,
        })
    }

    fn set(&mut self, entry: u32, val: Val) -> Option<()> {
        let slot = self.vals.get_mut(entry as usize)?;
        // A repeated key: the walk decides.
        if slot.kind != Kind::Absent {
            return None;
        }
        *slot = val;
        Some(())
    }

    /// A `Struct`'s entries into the entries of `group` (as [`wire::structure`] at `depth`).
    fn group(
        &mut self,
        plan: &LayoutPlan,
        group: &Group,
        bytes: &'a [u8],
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut wire = Wire { bytes, pos: 0 };
        let mut hint = 0;
        while let Some((field, wire_type)) = wire.key()? {
            if field != 1 {
                wire.skip(wire_type)?;
                continue;
            }
            let (key, value) = raw_map_entry(wire.delimited(wire_type)?)?;
            let found = group.keys.find(key, (0, key.len()), hint);
            // A key the table holds is text; any other is checked as the wire reader does.
            if found.is_none() {
                wire::text(key)?;
            }
            match found.and_then(|i| Some((i, group.children.get(i).copied()?))) {
                Some((i, entry)) => {
                    hint = i + 1;
                    self.entry(plan, entry, value, depth + 1)?;
                }
                // Read all the same, to refuse what the wire reader refuses.
                None => {
                    if let Some(value) = value {
                        wire::value(value, depth + 1, self.arena)?;
                    }
                }
            }
        }
        Some(())
    }

    /// One entry's `Value` (a missing one is null): a record given as a `Struct` into its
    /// fields' entries, anything else as [`wire::value`] reads it.
    fn entry(
        &mut self,
        plan: &LayoutPlan,
        entry: u32,
        value: Option<&'a [u8]>,
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH || self.vals.get(entry as usize)?.kind != Kind::Absent {
            return None;
        }
        let Some(value) = value else {
            return self.set(entry, Val::of(Kind::Null, 0));
        };
        if let Some((_, group)) = &plan.entries.get(entry as usize)?.record
            && let Some(inner) = only_struct(value)
        {
            // Marked first, so a key of the record cannot be this entry again.
            self.set(entry, Val::of(Kind::Object, 0))?;
            return self.group(plan, group, inner, depth + 1);
        }
        let val = match self.scalar(value) {
            Some(val) => val,
            None => {
                let tok = wire::value(value, depth, self.arena)?;
                self.val(tok)?
            }
        };
        self.set(entry, val)
    }

    /// A `Value` that is one scalar and nothing else, read as [`wire::value`] reads it;
    /// `None` for any other (that reader then decides).
    #[inline(always)]
    fn scalar(&mut self, bytes: &'a [u8]) -> Option<Val> {
        let mut wire = Wire { bytes, pos: 0 };
        let (field, wire_type) = wire.key()??;
        let val = match field {
            2 => Val::of(
                if wire.varint_of(wire_type)? != 0 {
                    Kind::True
                } else {
                    Kind::False
                },
                0,
            ),
            3 => {
                let raw = wire.varint_of(wire_type)?;
                // sint64: zigzag.
                Val::of(Kind::Int, ((raw >> 1) as i64 ^ -((raw & 1) as i64)) as u64)
            }
            4 => Val::of(
                Kind::Int,
                i64::try_from(wire.varint_of(wire_type)?).ok()? as u64,
            ),
            5 => Val::of(
                Kind::Float,
                wire::finite(wire.double(wire_type)?)?.to_bits(),
            ),
            6 => {
                let text = wire::text(wire.delimited(wire_type)?)?;
                if wire.pos != bytes.len() {
                    return None;
                }
                return self.text(text);
            }
            _ => return None,
        };
        (wire.pos == bytes.len()).then_some(val)
    }

    /// The `location` message into its record's entries (as [`wire::location`] reads it).
    fn location(&mut self, group: &Group, bytes: &'a [u8]) -> Option<()> {
        let mut wire = Wire { bytes, pos: 0 };
        let mut seen = 0u8;
        while let Some((field, wire_type)) = wire.key()? {
            let Some(name) = wire::location_field(field) else {
                wire.skip(wire_type)?;
                continue;
            };
            let name = name.as_bytes();
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
            let val = if field == 3 {
                self.text(wire::text(wire.delimited(wire_type)?)?)?
            } else {
                Val::of(
                    Kind::Float,
                    wire::finite(wire.double(wire_type)?)?.to_bits(),
                )
            };
            let found = group.keys.find(name, (0, name.len()), 0);
            if let Some(entry) = found.and_then(|i| group.children.get(i).copied()) {
                self.set(entry, val)?;
            }
        }
        Some(())
    }
}

/// [`wire::map_entry`] with the key's bytes (not yet checked as text) and the value's.
#[inline(always)]
fn raw_map_entry(bytes: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut wire = Wire { bytes, pos: 0 };
    let (mut key, mut found) = (None, None);
    while let Some((field, wire_type)) = wire.key()? {
        match field {
            1 if key.is_none() => key = Some(wire.delimited(wire_type)?),
            2 if found.is_none() => found = Some(wire.delimited(wire_type)?),
            1 | 2 => return None,
            _ => wire.skip(wire_type)?,
        }
    }
    Some((key.unwrap_or_default(), found))
}

/// The `Struct` of a `Value` that holds exactly one, and nothing else.
fn only_struct(bytes: &[u8]) -> Option<&[u8]> {
    let mut wire = Wire { bytes, pos: 0 };
    let (8, DELIMITED) = wire.key()?? else {
        return None;
    };
    let inner = wire.delimited(DELIMITED)?;
    (wire.pos == bytes.len()).then_some(inner)
}

impl Decoder {
    /// The fused decode of one message's bytes (see the module's comment): `None` whenever
    /// it does not take them, or they do not decode.
    pub(crate) fn decode_fused_wire(
        &self,
        interner: &mut Interner,
        bytes: &[u8],
        arena: &Bump,
    ) -> Option<Row> {
        // Texts are kept as 32-bit offsets (and never outgrow the message).
        if u32::try_from(bytes.len()).is_err() {
            return None;
        }
        let mut pass = Pass {
            arena,
            texts: ArenaString::with_capacity_in(bytes.len(), arena),
            vals: &mut [],
            others: ArenaVec::new_in(arena),
        };
        let mut known = [Val::ABSENT; TOP_KEYS.len()];
        let mut layout: Option<(&MessageLayout, &LayoutPlan)> = None;
        let mut wire = Wire { bytes, pos: 0 };
        let mut seen = 0u32;
        let mut metadata = ArenaVec::new_in(arena);
        while let Some((field, wire_type)) = wire.key()? {
            let Some(&Some(key)) = FIELD_KEYS.get(field as usize) else {
                wire.skip(wire_type)?;
                continue;
            };
            if key == top_keys::METADATA {
                // As the wire reader reads it: a missing value is "".
                let entry = wire.delimited(wire_type)?;
                let (key, value) = wire::map_entry(entry, |v| wire::text(v).map(Tok::Str))?;
                metadata.push((key, value.unwrap_or(Tok::Str(""))));
                continue;
            }
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
            match key {
                top_keys::TYPE => {
                    let name = wire::text(wire.delimited(wire_type)?)?;
                    let id = self.plans.types.find(name.as_bytes(), (0, name.len()))?;
                    let found = self.program.message(id)?;
                    let plan = self.plans.by_message.get(found.id.0 as usize)?.as_ref()?;
                    pass.vals = arena.alloc_slice_fill_copy(plan.entries.len(), Val::ABSENT);
                    layout = Some((found, plan));
                }
                top_keys::PAYLOAD => {
                    // Without the layout, the payload cannot be read here.
                    let (_, plan) = layout?;
                    pass.group(plan, &plan.payload, wire.delimited(wire_type)?, 1)?;
                    known[key] = Val::of(Kind::Object, 0);
                }
                _ => {
                    // Before `type` names the layout, a value is kept in `known`.
                    let entry = layout.and_then(|(_, p)| p.top_entry.get(key).copied().flatten());
                    let record = layout
                        .zip(entry)
                        .and_then(|((_, p), e)| p.entries.get(e as usize)?.record.as_ref());
                    match (entry, record) {
                        (Some(entry), Some((_, group))) if key == LOCATION => {
                            pass.set(entry, Val::of(Kind::Object, 0))?;
                            pass.location(group, wire.delimited(wire_type)?)?;
                        }
                        _ => {
                            let val = pass.envelope(field, &mut wire, wire_type)?;
                            match entry {
                                Some(entry) => pass.set(entry, val)?,
                                None => known[key] = val,
                            }
                        }
                    }
                }
            }
        }
        let (layout, plan) = layout?;
        // The JSON form always has `metadata`.
        pass.others.push(Tok::Object(metadata.into_bump_slice()));
        known[top_keys::METADATA] = Val::of(Kind::Other, pass.others.len() as u64 - 1);
        let written = Written {
            line: pass.texts.into_bump_str(),
            others: &pass.others,
            vals: pass.vals,
        };
        self.write_fused(interner, layout, plan, &known, &written)
    }
}

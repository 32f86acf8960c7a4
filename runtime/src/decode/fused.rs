//! The fused NDJSON decoder: one pass over a line's bytes, directed by the layout of its
//! `type`, that keeps each declared field's value in a flat table (one entry per field of
//! the layout, nested records flattened, found by a key table built once per layout) and
//! then writes them into the row in the layout's order — no tree of the whole line, no
//! search by name. Unknown keys are skipped by the scanner (which validates what it skips).
//!
//! It only takes the plain case: no repeated key, every value in the scanner's subset, every
//! field decoding. A record (`location`, `payload`) met before `type` (keys sorted, as many
//! writers of JSON put them) is skipped and read once `type` has named the layout. Anything
//! else gives `None`, and the line goes the ordinary way ([`super::scan`] and the walk, then
//! `serde_json`), whose outcome is the reference. Writing goes in the walk's order through
//! the walk's own code for all but the plainest scalars, so texts are interned in the same
//! order and rows come out the same.

use super::input::Input;
use super::scan::{Scanner, Tok};
use super::{Decoder, ENVELOPE_FIELDS, Path, TOP_KEYS, Writer, check_zone, top_keys};
use crate::intern::{Interner, same};
use bumpalo::Bump;
use cbp_ir::layout::{FieldLayout, MessageLayout, Storage};
use cbp_ir::{EnumId, MessageId, Program, Row, Scalar};

/// The fused decoder's tables for one program, built once by [`Decoder::new`].
#[derive(Debug, Default)]
pub(crate) struct Plans {
    /// The top-level keys ([`TOP_KEYS`]) by their index there.
    top: KeyTable,
    /// Message type names to their message ids (what [`Decoder::message_named`] finds).
    pub(super) types: NameTable,
    /// By message id; `None` for a layout the fused decoder leaves to the walk.
    pub(super) by_message: Vec<Option<LayoutPlan>>,
}

impl Plans {
    /// `names`: the message type names and their messages, as the decoder finds them.
    pub(crate) fn new<'n>(
        program: &Program,
        names: impl Iterator<Item = (&'n str, MessageId)>,
    ) -> Self {
        let mut by_message: Vec<Option<LayoutPlan>> = Vec::new();
        for layout in &program.messages {
            let index = layout.id.0 as usize;
            if by_message.len() <= index {
                by_message.resize_with(index + 1, || None);
            }
            by_message[index] = LayoutPlan::new(layout);
        }
        Plans {
            top: KeyTable::new(TOP_KEYS.iter().copied()),
            types: NameTable::new(names),
            by_message,
        }
    }
}

/// One layout: its fields as entries (envelope fields that are read as entries, then the
/// payload's), each nested record's fields after it.
#[derive(Debug)]
pub(super) struct LayoutPlan {
    pub(super) entries: Vec<Entry>,
    /// By index in [`TOP_KEYS`]: the entry an envelope key is read into, if any (`type`,
    /// `timestamp`, `timestamp_ms`, `metadata` and `payload` are read apart).
    pub(super) top_entry: [Option<u32>; TOP_KEYS.len()],
    /// By envelope field: how it is written.
    envelope: [EnvelopeField; ENVELOPE_FIELDS],
    /// The payload's fields (entries in declaration order) and its key table.
    pub(super) payload: Group,
}

#[derive(Clone, Copy, Debug)]
enum EnvelopeField {
    /// Written by [`Writer::envelope_field`] from the top-level value of this key.
    Special(usize),
    /// An entry (and its key, for a value met before `type` named the layout).
    Entry(u32, usize),
}

/// The fields of a record (or of the payload): their entries in declaration order and the
/// table from key to entry.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) children: Vec<u32>,
    pub(super) keys: KeyTable,
}

#[derive(Debug)]
pub(super) struct Entry {
    field: FieldLayout,
    /// Declared without `?` and required: absent or null refuses the message.
    required: bool,
    /// How a plain value is written; [`Leaf::Walk`] hands it to the walk's code.
    leaf: Leaf,
    /// The envelope's `zone`, checked before it is interned.
    zone: bool,
    /// A flattened record: its presence bit and its fields.
    pub(super) record: Option<(u32, Group)>,
}

/// The plain scalars written here directly (the same bits [`Writer::field`] writes).
#[derive(Clone, Copy, Debug)]
enum Leaf {
    Symbol(u32),
    Int(u32, Option<(f64, f64)>),
    Float(u32, Option<(f64, f64)>),
    Bool(u32),
    Enum(u32, EnumId),
    Walk,
}

impl Leaf {
    fn of(field: &FieldLayout) -> Leaf {
        let Storage::Slot(slot) = field.storage else {
            return Leaf::Walk;
        };
        let Some(scalar) = field.ty.strip_optional().scalar() else {
            return Leaf::Walk;
        };
        match (scalar, field.range) {
            (Scalar::Str | Scalar::Zone, None) => Leaf::Symbol(slot),
            (Scalar::Int, range) => Leaf::Int(slot, range),
            (Scalar::Float, range) => Leaf::Float(slot, range),
            (Scalar::Bool, None) => Leaf::Bool(slot),
            (Scalar::Enum(id), None) => Leaf::Enum(slot, id),
            _ => Leaf::Walk,
        }
    }
}

impl LayoutPlan {
    /// `None` for a layout whose envelope is not the usual one (the walk takes those).
    fn new(layout: &MessageLayout) -> Option<LayoutPlan> {
        let mut plan = LayoutPlan {
            entries: Vec::new(),
            top_entry: [None; TOP_KEYS.len()],
            envelope: [EnvelopeField::Special(0); ENVELOPE_FIELDS],
            payload: Group::default(),
        };
        let mut seen = [false; TOP_KEYS.len()];
        for (i, field) in layout.fields.get(..ENVELOPE_FIELDS)?.iter().enumerate() {
            let key = super::top_key(&field.name)?;
            if std::mem::replace(&mut seen[key], true) {
                return None;
            }
            plan.envelope[i] = match key {
                top_keys::TIMESTAMP | top_keys::METADATA => EnvelopeField::Special(key),
                top_keys::TYPE | top_keys::TIMESTAMP_MS | top_keys::PAYLOAD => return None,
                _ => {
                    let entry = plan.add(field, key == top_keys::ZONE);
                    plan.top_entry[key] = Some(entry);
                    EnvelopeField::Entry(entry, key)
                }
            };
        }
        if !seen[top_keys::TIMESTAMP] {
            return None;
        }
        plan.payload = plan.group(layout.payload());
        Some(plan)
    }

    /// Adds the entry of `field` (and those of its record's fields).
    fn add(&mut self, field: &FieldLayout, zone: bool) -> u32 {
        let index = self.entries.len() as u32;
        self.entries.push(Entry {
            field: field.clone(),
            required: field.required && !field.ty.is_optional(),
            leaf: Leaf::of(field),
            zone,
            record: None,
        });
        if let Storage::Record { presence, fields } = &field.storage {
            let group = self.group(fields);
            if let Some(entry) = self.entries.get_mut(index as usize) {
                entry.record = Some((*presence, group));
            }
        }
        index
    }

    fn group(&mut self, fields: &[FieldLayout]) -> Group {
        let children: Vec<u32> = fields.iter().map(|f| self.add(f, false)).collect();
        let keys = KeyTable::new(fields.iter().map(|f| f.name.as_str()));
        Group { children, keys }
    }
}

/// Keys to their index: compared by their first sixteen bytes as two words (then the rest,
/// for a longer key), which for the dozen keys of an envelope and the few of a record beats
/// hashing.
#[derive(Debug, Default)]
pub(super) struct KeyTable {
    keys: Vec<([u64; 2], Box<[u8]>)>,
}

/// Bytes `at..at + 8` of `bytes` as a word, those at `len` and after zeroed.
#[inline(always)]
fn word(bytes: &[u8], at: usize, len: usize) -> u64 {
    let keep = len.saturating_sub(at);
    if keep == 0 {
        return 0;
    }
    let word = match bytes.get(at..).and_then(|b| b.first_chunk::<8>()) {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => {
            let mut chunk = [0u8; 8];
            for (c, b) in chunk.iter_mut().zip(bytes.iter().skip(at)) {
                *c = *b;
            }
            u64::from_le_bytes(chunk)
        }
    };
    if keep >= 8 {
        word
    } else {
        word & ((1u64 << (8 * keep)) - 1)
    }
}

impl KeyTable {
    fn new<'k>(keys: impl Iterator<Item = &'k str>) -> Self {
        KeyTable {
            keys: keys
                .map(|k| {
                    let b = k.as_bytes();
                    ([word(b, 0, b.len()), word(b, 8, b.len())], b.into())
                })
                .collect(),
        }
    }

    /// The index of the key that is bytes `start..start + len` of `text`, trying the one at
    /// `hint` first (inputs tend to give keys in the same order line after line). Reads the
    /// words straight from `text`, past the key when there is room (then masked).
    #[inline(always)]
    pub(super) fn find(
        &self,
        text: &[u8],
        (start, len): (usize, usize),
        hint: usize,
    ) -> Option<usize> {
        let end = start + len;
        let want = [word(text, start, end), word(text, start + 8, end)];
        let is = |(words, k): &([u64; 2], Box<[u8]>)| {
            *words == want
                && k.len() == len
                && (len <= 16 || k.get(16..) == text.get(start + 16..end))
        };
        if self.keys.get(hint).is_some_and(is) {
            return Some(hint);
        }
        self.keys.iter().position(is)
    }
}

/// Names to values by an open-addressing table over the names' first sixteen bytes (the
/// words [`KeyTable`] compares): one multiply to a slot, then the same comparison.
#[derive(Debug, Default)]
pub(super) struct NameTable {
    /// Indexes into `names` (`u32::MAX`: empty); a power of two long.
    slots: Vec<u32>,
    names: Vec<([u64; 2], Box<[u8]>, MessageId)>,
}

impl NameTable {
    fn new<'n>(names: impl Iterator<Item = (&'n str, MessageId)>) -> Self {
        let names: Vec<([u64; 2], Box<[u8]>, MessageId)> = names
            .map(|(name, id)| {
                let b = name.as_bytes();
                ([word(b, 0, b.len()), word(b, 8, b.len())], b.into(), id)
            })
            .collect();
        let mut slots = vec![u32::MAX; (names.len() * 2).next_power_of_two()];
        let mask = slots.len() - 1;
        for (i, (words, name, _)) in names.iter().enumerate() {
            let mut at = NameTable::slot(*words, name.len(), mask);
            while slots.get(at).is_some_and(|s| *s != u32::MAX) {
                at = (at + 1) & mask;
            }
            if let Some(slot) = slots.get_mut(at) {
                *slot = i as u32;
            }
        }
        NameTable { slots, names }
    }

    #[inline(always)]
    fn slot(words: [u64; 2], len: usize, mask: usize) -> usize {
        let mixed =
            (words[0] ^ words[1].rotate_left(29) ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 32) as usize & mask
    }

    /// The value of the name that is bytes `start..start + len` of `text`.
    #[inline(always)]
    pub(super) fn find(&self, text: &[u8], (start, len): (usize, usize)) -> Option<MessageId> {
        let end = start + len;
        let want = [word(text, start, end), word(text, start + 8, end)];
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = NameTable::slot(want, len, mask);
        loop {
            let (words, name, id) = self.names.get(*self.slots.get(at)? as usize)?;
            if *words == want
                && name.len() == len
                && (len <= 16 || name.get(16..) == text.get(start + 16..end))
            {
                return Some(*id);
            }
            at = (at + 1) & mask;
        }
    }
}

/// Reads a key and its colon; the key's start and length in the line.
#[inline(always)]
fn key(scanner: &mut Scanner<'_>) -> Option<(usize, usize)> {
    let (start, end) = scanner.string_span()?;
    scanner.whitespace();
    scanner.eat(b':')?;
    scanner.whitespace();
    Some((start, end - start))
}

/// What the pass found for one entry: a word-sized kind and one word of bits, so storing
/// and loading it is two plain moves (a `Tok` in an enum is copied piecewise, and reading it
/// back stalls on the partial stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Val {
    pub(super) kind: Kind,
    /// `Int`: the `i64`; `Float`: the `f64`'s bits; `Str`: start << 32 | length in the
    /// line; `Other`: the index in the pass's other values.
    pub(super) bits: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(super) enum Kind {
    Absent,
    Null,
    False,
    True,
    Int,
    Float,
    Str,
    /// A record given as an object: its fields are in their own entries.
    Object,
    /// A list or an object read by the scanner.
    Other,
}

impl Val {
    pub(super) const ABSENT: Val = Val::of(Kind::Absent, 0);

    pub(super) const fn of(kind: Kind, bits: u64) -> Val {
        Val { kind, bits }
    }
}

/// One line's pass: the scanner, the entries' values, the values the scanner read whole.
struct Pass<'a> {
    scanner: Scanner<'a>,
    vals: &'a mut [Val],
    others: bumpalo::collections::Vec<'a, Tok<'a>>,
}

impl<'a> Pass<'a> {
    /// A value that is not a record read into its fields: strings and numbers first.
    #[inline(always)]
    fn value(&mut self, depth: usize) -> Option<Val> {
        let scanner = &mut self.scanner;
        Some(match scanner.peek()? {
            b'"' => {
                let (start, end) = scanner.string_span()?;
                Val::of(Kind::Str, ((start as u64) << 32) | (end - start) as u64)
            }
            b'-' | b'0'..=b'9' => match scanner.number_fast()? {
                Tok::Int(i) => Val::of(Kind::Int, i as u64),
                Tok::Float(x) => Val::of(Kind::Float, x.to_bits()),
                _ => return None,
            },
            _ => match scanner.member(depth)? {
                Tok::Null => Val::of(Kind::Null, 0),
                Tok::Bool(false) => Val::of(Kind::False, 0),
                Tok::Bool(true) => Val::of(Kind::True, 0),
                other => {
                    self.others.push(other);
                    Val::of(Kind::Other, self.others.len() as u64 - 1)
                }
            },
        })
    }

    /// The members of an object into the entries of `group` (unknown keys skipped).
    fn group(&mut self, plan: &LayoutPlan, group: &Group, depth: usize) -> Option<()> {
        self.scanner.eat(b'{')?;
        self.scanner.whitespace();
        if self.scanner.eat(b'}').is_some() {
            return Some(());
        }
        let mut hint = 0;
        loop {
            let key = key(&mut self.scanner)?;
            let found = group.keys.find(self.scanner.text.as_bytes(), key, hint);
            match found.and_then(|i| group.children.get(i).copied()) {
                Some(entry) => {
                    hint = found.unwrap_or_default() + 1;
                    self.entry(plan, entry, depth + 1)?;
                }
                None => {
                    self.scanner.member(depth + 1)?;
                }
            }
            self.scanner.whitespace();
            match self.scanner.peek()? {
                b',' => {
                    self.scanner.pos += 1;
                    self.scanner.whitespace();
                }
                b'}' => {
                    self.scanner.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The payload's members into their entries (`null` is taken as no payload; anything
    /// else that is not an object the walk refuses).
    fn payload(&mut self, plan: &LayoutPlan) -> Option<Val> {
        if self.scanner.peek() == Some(b'{') {
            self.group(plan, &plan.payload, TOP_MEMBER)?;
            Some(Val::of(Kind::Object, 0))
        } else {
            Some(self.value(TOP_MEMBER)?).filter(|v| v.kind == Kind::Null)
        }
    }

    /// The value of one entry (a record's object into its fields' entries).
    fn entry(&mut self, plan: &LayoutPlan, entry: u32, depth: usize) -> Option<()> {
        // A repeated key: the walk decides.
        if self.vals.get(entry as usize)?.kind != Kind::Absent {
            return None;
        }
        let val = match &plan.entries.get(entry as usize)?.record {
            Some((_, group)) if self.scanner.peek() == Some(b'{') => {
                self.group(plan, group, depth)?;
                Val::of(Kind::Object, 0)
            }
            _ => self.value(depth)?,
        };
        *self.vals.get_mut(entry as usize)? = val;
        Some(())
    }
}

/// Nesting of the values under a top-level key (as the scanner counts it).
const TOP_MEMBER: usize = 1;

impl Decoder {
    /// The fused decode of one line (see the module's comment): `None` whenever it does not
    /// take the line, or the line does not decode.
    pub(crate) fn decode_fused(
        &self,
        interner: &mut Interner,
        line: &str,
        arena: &Bump,
    ) -> Option<Row> {
        // Strings are kept as 32-bit offsets.
        if u32::try_from(line.len()).is_err() {
            return None;
        }
        let mut pass = Pass {
            scanner: Scanner {
                text: line,
                pos: 0,
                arena,
            },
            vals: &mut [],
            others: bumpalo::collections::Vec::new_in(arena),
        };
        pass.scanner.whitespace();
        pass.scanner.eat(b'{')?;
        pass.scanner.whitespace();
        let mut known = [Val::ABSENT; TOP_KEYS.len()];
        let mut layout: Option<(&MessageLayout, &LayoutPlan)> = None;
        // Records met before `type` named the layout (keys sorted, as many writers of JSON
        // put them: `location` and `payload` come first): where each is, to be read into
        // its fields once the layout is known.
        let mut deferred: [Option<(usize, usize)>; TOP_KEYS.len()] = [None; TOP_KEYS.len()];
        if pass.scanner.peek() != Some(b'}') {
            let mut hint = 0;
            loop {
                let key = key(&mut pass.scanner)?;
                let found = self.plans.top.find(line.as_bytes(), key, hint);
                hint = found.map_or(hint, |k| k + 1);
                match found {
                    None => {
                        pass.scanner.member(TOP_MEMBER)?;
                    }
                    // A repeated key: the walk decides.
                    Some(k) if known.get(k)?.kind != Kind::Absent => return None,
                    Some(top_keys::TYPE) => {
                        let val = pass.value(TOP_MEMBER)?;
                        if val.kind != Kind::Str {
                            return None;
                        }
                        let span = ((val.bits >> 32) as usize, (val.bits & 0xffff_ffff) as usize);
                        let id = self.plans.types.find(line.as_bytes(), span)?;
                        let found = self.program.message(id)?;
                        let plan = self.plans.by_message.get(found.id.0 as usize)?.as_ref()?;
                        pass.vals = arena.alloc_slice_fill_copy(plan.entries.len(), Val::ABSENT);
                        layout = Some((found, plan));
                        known[top_keys::TYPE] = val;
                    }
                    Some(k)
                        if layout.is_none()
                            && k != top_keys::METADATA
                            && pass.scanner.peek() == Some(b'{') =>
                    {
                        // Only its end is found now: it is read (and checked) below.
                        let start = pass.scanner.pos;
                        pass.scanner.pos = super::skip::skip_nested(line.as_bytes(), start)?;
                        *deferred.get_mut(k)? = Some((start, pass.scanner.pos));
                        // Marks the key as met.
                        known[k] = Val::of(Kind::Object, 0);
                    }
                    Some(top_keys::PAYLOAD) => {
                        let (_, plan) = layout?;
                        known[top_keys::PAYLOAD] = pass.payload(plan)?;
                    }
                    Some(k) => {
                        match layout.and_then(|(_, p)| Some((p, p.top_entry[k]?))) {
                            Some((plan, entry)) => pass.entry(plan, entry, TOP_MEMBER)?,
                            None => known[k] = pass.value(TOP_MEMBER)?,
                        }
                        // Marks the key as met.
                        if known[k].kind == Kind::Absent {
                            known[k] = Val::of(Kind::Object, 0);
                        }
                    }
                }
                pass.scanner.whitespace();
                match pass.scanner.peek()? {
                    b',' => {
                        pass.scanner.pos += 1;
                        pass.scanner.whitespace();
                    }
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        pass.scanner.eat(b'}')?;
        pass.scanner.whitespace();
        if pass.scanner.pos != line.len() {
            return None;
        }
        let (layout, plan) = layout?;
        for (k, span) in deferred.iter().enumerate() {
            let Some((start, end)) = *span else { continue };
            pass.scanner.pos = start;
            match (k, plan.top_entry[k]) {
                (top_keys::PAYLOAD, _) => known[k] = pass.payload(plan)?,
                (_, Some(entry)) => pass.entry(plan, entry, TOP_MEMBER)?,
                (_, None) => known[k] = pass.value(TOP_MEMBER)?,
            }
            if pass.scanner.pos != end {
                return None;
            }
        }
        let written = Written {
            line,
            others: &pass.others,
            vals: pass.vals,
        };
        self.write_fused(interner, layout, plan, &known, &written)
    }

    /// Writes what the pass found, in the walk's order (see [`Decoder::decode_input`]).
    pub(super) fn write_fused(
        &self,
        interner: &mut Interner,
        layout: &MessageLayout,
        plan: &LayoutPlan,
        known: &[Val; TOP_KEYS.len()],
        pass: &Written<'_>,
    ) -> Option<Row> {
        let mut row = self.new_row(layout);
        let mut writer = Writer {
            program: &self.program,
            empty_map: &self.empty_map,
            interner,
            row: &mut row,
        };
        for (i, how) in plan.envelope.iter().enumerate() {
            let field = layout.fields.get(i)?;
            match *how {
                EnvelopeField::Special(key) => {
                    // `timestamp` looks at `timestamp_ms` too; nothing else looks further.
                    let given = pass.tok(*known.get(key)?);
                    let ms = match key {
                        top_keys::TIMESTAMP => pass.tok(*known.get(top_keys::TIMESTAMP_MS)?),
                        _ => None,
                    };
                    let top = |i: usize| match i {
                        _ if i == key => given.as_ref(),
                        top_keys::TIMESTAMP_MS => ms.as_ref(),
                        _ => None,
                    };
                    let given = given.as_ref().filter(|v| !v.is_null());
                    writer.envelope_field(field, Some(key), given, &top).ok()?;
                }
                EnvelopeField::Entry(entry, key) => {
                    // A value met before `type` named the layout is in `known`.
                    let val = match pass.vals.get(entry as usize) {
                        Some(val) if val.kind != Kind::Absent => *val,
                        _ => *known.get(key)?,
                    };
                    write_entry(&mut writer, plan, entry, val, pass)?;
                }
            }
        }
        for &entry in &plan.payload.children {
            let val = pass
                .vals
                .get(entry as usize)
                .copied()
                .unwrap_or(Val::ABSENT);
            write_entry(&mut writer, plan, entry, val, pass)?;
        }
        Some(row)
    }
}

/// What a pass found, for writing.
pub(super) struct Written<'a> {
    pub(super) line: &'a str,
    pub(super) others: &'a [Tok<'a>],
    pub(super) vals: &'a [Val],
}

impl<'a> Written<'a> {
    /// The value as the scanner would have given it (`None` for absent, or a record read
    /// into its fields).
    fn tok(&self, val: Val) -> Option<Tok<'a>> {
        Some(match val.kind {
            Kind::Absent | Kind::Object => return None,
            Kind::Null => Tok::Null,
            Kind::False => Tok::Bool(false),
            Kind::True => Tok::Bool(true),
            Kind::Int => Tok::Int(val.bits as i64),
            Kind::Float => Tok::Float(f64::from_bits(val.bits)),
            Kind::Str => Tok::Str(text(self.line, val)?),
            Kind::Other => *self.others.get(usize::try_from(val.bits).ok()?)?,
        })
    }
}

/// The text of a string value.
#[inline(always)]
fn text(line: &str, val: Val) -> Option<&str> {
    if val.kind != Kind::Str {
        return None;
    }
    let start = (val.bits >> 32) as usize;
    line.get(start..start + (val.bits & 0xffff_ffff) as usize)
}

/// Writes one entry as [`Writer::field`] would (`None` where the walk would refuse it).
fn write_entry(
    writer: &mut Writer<'_>,
    plan: &LayoutPlan,
    entry: u32,
    val: Val,
    pass: &Written<'_>,
) -> Option<()> {
    let e = plan.entries.get(entry as usize)?;
    let in_range = |range: Option<(f64, f64)>, x: f64| {
        range.is_none_or(|(low, high)| (low..=high).contains(&x))
    };
    match (val.kind, e.leaf) {
        (Kind::Absent | Kind::Null, _) => return (!e.required).then_some(()),
        (Kind::Object, _) => {
            let (presence, group) = e.record.as_ref()?;
            for &child in &group.children {
                let val = pass
                    .vals
                    .get(child as usize)
                    .copied()
                    .unwrap_or(Val::ABSENT);
                write_entry(writer, plan, child, val, pass)?;
            }
            writer.row.mark_present(*presence);
        }
        (Kind::Str, Leaf::Symbol(slot)) => {
            let text = text(pass.line, val)?;
            let id = writer.intern(text);
            // A zone is checked once while its text keeps its id (a bad one refuses the
            // line, whatever was interned).
            if e.zone && !writer.interner.is_known_zone(id) {
                check_zone(text).ok()?;
                writer.interner.mark_zone(id);
            }
            writer.row.set(slot, id);
        }
        (Kind::Int, Leaf::Int(slot, range)) => {
            in_range(range, val.bits as i64 as f64).then_some(())?;
            writer.row.set(slot, val.bits);
        }
        (Kind::Int | Kind::Float, Leaf::Float(slot, range)) => {
            let x = match val.kind {
                Kind::Int => val.bits as i64 as f64,
                _ => f64::from_bits(val.bits),
            };
            in_range(range, x).then_some(())?;
            writer.row.set(slot, x.to_bits());
        }
        (Kind::False | Kind::True, Leaf::Bool(slot)) => {
            writer.row.set(slot, u64::from(val.kind == Kind::True));
        }
        (Kind::Str, Leaf::Enum(slot, id)) => {
            let text = text(pass.line, val)?;
            let def = writer.program.enums.get(id.0 as usize)?;
            let index = def
                .variants
                .iter()
                .position(|v| same(v.as_bytes(), text.as_bytes()))?;
            writer.row.set(slot, index as u64);
        }
        // Everything else the walk writes (or refuses) itself.
        _ => {
            let tok = pass.tok(val)?;
            if e.zone
                && let Tok::Str(text) = tok
            {
                check_zone(text).ok()?;
            }
            writer.field(&e.field, Some(&tok), &Path::Root("")).ok()?;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_found_exactly() {
        let names = [
            "flood_warning",
            "flood_warnings",
            "flood_warning_long_name_a",
            "flood_warning_long_name_b",
            "a",
            "",
            "traffic_status",
        ];
        let table = NameTable::new(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (*n, MessageId(i as u32))),
        );
        let keys = KeyTable::new(names.iter().copied());
        for (i, name) in names.iter().enumerate() {
            // In a line, with more bytes after the name (read, then masked off).
            let line = format!("{{\"{name}\":1,\"padding\":2}}");
            let span = (2, name.len());
            assert_eq!(table.find(line.as_bytes(), span), Some(MessageId(i as u32)));
            for hint in 0..names.len() + 1 {
                assert_eq!(keys.find(line.as_bytes(), span, hint), Some(i), "{name}");
            }
        }
        for other in [
            "flood_warnin",
            "flood_warning_long_name_c",
            "b",
            "traffic_statuz",
        ] {
            let line = format!("\"{other}\"");
            assert_eq!(
                table.find(line.as_bytes(), (1, other.len())),
                None,
                "{other}"
            );
            assert_eq!(
                keys.find(line.as_bytes(), (1, other.len()), 0),
                None,
                "{other}"
            );
        }
    }
}

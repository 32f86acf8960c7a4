//! Row layouts: the envelope in the fixed slots of `cbp_ir::layout::envelope`, then the
//! payload in declaration order. Scalars take a slot each; a nested record is flattened (its
//! fields, then its presence slot); lists, maps and anything else not flat are objects.

use crate::index::Index;
use cbp_check::hir::{self, ItemKind};
use cbp_ir::layout::{FieldLayout, MessageKind, MessageLayout, Storage, envelope};
use cbp_ir::{MessageId, Ty};

/// Records nested deeper than this are kept as objects (only a self-referencing record, which
/// no message can hold, gets near it).
const MAX_FLATTEN_DEPTH: u32 = 16;

struct Alloc<'a, 'h> {
    ix: &'a Index<'h>,
    slots: u32,
    objects: u32,
    in_envelope: bool,
}

impl Alloc<'_, '_> {
    fn slot(&mut self) -> u32 {
        self.slots += 1;
        self.slots - 1
    }

    fn object(&mut self) -> u32 {
        self.objects += 1;
        self.objects - 1
    }

    fn field(&mut self, f: &hir::Field, depth: u32) -> FieldLayout {
        let inner = f.ty.optional_inner().unwrap_or(&f.ty);
        let storage = if self.ix.scalar(inner).is_some() {
            Storage::Slot(self.slot())
        } else if let hir::Ty::Record(id) = inner
            && depth < MAX_FLATTEN_DEPTH
        {
            let fields = self
                .ix
                .record_fields(id)
                .iter()
                .map(|sub| self.field(sub, depth + 1))
                .collect();
            Storage::Record {
                presence: self.slot(),
                fields,
            }
        } else if self.in_envelope && depth == 0 && f.name.as_ref() == "metadata" {
            // The envelope's metadata: always present, no slot of its own.
            Storage::Object {
                presence: envelope::METADATA_PRESENCE,
                index: self.object(),
            }
        } else {
            let presence = self.slot();
            Storage::Object {
                presence,
                index: self.object(),
            }
        };
        FieldLayout {
            name: f.name.to_string(),
            ty: self.ix.ty(&f.ty),
            required: !matches!(f.ty, hir::Ty::Optional(_)),
            pii: f.pii,
            range: f.range.map(|(lo, hi)| (lo.0, hi.0)),
            storage,
        }
    }
}

/// The layout of every message, in `MessageId` order.
pub fn layouts(ix: &Index<'_>) -> Vec<MessageLayout> {
    ix.messages
        .iter()
        .enumerate()
        .map(|(i, (id, item))| {
            let kind = match &item.kind {
                ItemKind::Message(m) => match m.kind {
                    cbp_syntax::ast::MessageKind::Event => MessageKind::Event,
                    cbp_syntax::ast::MessageKind::Incident => MessageKind::Incident,
                    cbp_syntax::ast::MessageKind::Directive => MessageKind::Directive,
                },
                _ => MessageKind::Event,
            };
            let mut alloc = Alloc {
                ix,
                slots: 0,
                objects: 0,
                in_envelope: true,
            };
            let mut fields: Vec<FieldLayout> =
                ix.envelope().iter().map(|f| alloc.field(f, 0)).collect();
            alloc.in_envelope = false;
            // The envelope's slots are fixed whatever std says; they match by construction
            // (see the `envelope_slots_are_fixed` test).
            alloc.slots = alloc.slots.max(envelope::SLOTS);
            alloc.objects = alloc.objects.max(envelope::OBJECTS);
            fields.extend(ix.message_fields(id).iter().map(|f| alloc.field(f, 0)));
            MessageLayout {
                id: MessageId(i as u32),
                name: id.name.to_string(),
                kind,
                fields,
                slots: alloc.slots,
                objects: alloc.objects,
            }
        })
        .collect()
}

/// The scalar type of a layout field, when it has a slot.
pub fn slot_scalar(f: &FieldLayout) -> Option<cbp_ir::Scalar> {
    match (&f.storage, &f.ty) {
        (Storage::Slot(_), Ty::Scalar(s)) => Some(*s),
        (Storage::Slot(_), Ty::Optional(inner)) => inner.scalar(),
        _ => None,
    }
}

//! The items of a checked program by name, and the IR's tables: enums, records, messages.

use cbp_check::hir::{self, ItemId, ItemKind};
use cbp_ir::program::{EnumDef, RecordDef};
use cbp_ir::{EnumId, MessageId, RecordId, Scalar, Ty};
use std::collections::HashMap;

/// The envelope record every message carries.
pub fn envelope_id() -> ItemId {
    ItemId::new("std", "Envelope")
}

pub struct Index<'h> {
    pub items: HashMap<ItemId, &'h hir::Item>,
    pub enum_ids: HashMap<ItemId, EnumId>,
    pub enums: Vec<EnumDef>,
    pub record_ids: HashMap<ItemId, RecordId>,
    pub records: Vec<RecordDef>,
    pub message_ids: HashMap<ItemId, MessageId>,
    /// In `MessageId` order.
    pub messages: Vec<(ItemId, &'h hir::Item)>,
}

impl<'h> Index<'h> {
    /// Ids in program order: std first, then the files by path, each by position.
    pub fn new(program: &'h hir::Program) -> Self {
        let mut ix = Index {
            items: HashMap::new(),
            enum_ids: HashMap::new(),
            enums: Vec::new(),
            record_ids: HashMap::new(),
            records: Vec::new(),
            message_ids: HashMap::new(),
            messages: Vec::new(),
        };
        for item in &program.items {
            let Some(id) = &item.id else { continue };
            ix.items.insert(id.clone(), item);
            match &item.kind {
                ItemKind::Enum(e) => {
                    ix.enum_ids
                        .insert(id.clone(), EnumId(ix.enums.len() as u32));
                    ix.enums.push(EnumDef {
                        name: id.name.to_string(),
                        ordered: e.ordered,
                        variants: e.variants.iter().map(|v| v.to_string()).collect(),
                    });
                }
                ItemKind::Record(_) => {
                    ix.record_ids
                        .insert(id.clone(), RecordId(ix.records.len() as u32));
                    ix.records.push(RecordDef {
                        name: id.name.to_string(),
                        fields: Vec::new(),
                    });
                }
                ItemKind::Message(_) => {
                    ix.message_ids
                        .insert(id.clone(), MessageId(ix.messages.len() as u32));
                    ix.messages.push((id.clone(), item));
                }
                _ => {}
            }
        }
        // Record fields need every record's id first (records nest).
        for (id, rid) in ix.record_ids.clone() {
            if let Some(ItemKind::Record(r)) = ix.items.get(&id).map(|i| &i.kind) {
                let fields = r
                    .fields
                    .iter()
                    .map(|f| (f.name.to_string(), ix.ty(&f.ty)))
                    .collect();
                if let Some(def) = ix.records.get_mut(rid.0 as usize) {
                    def.fields = fields;
                }
            }
        }
        ix
    }

    pub fn item(&self, id: &ItemId) -> Option<&'h hir::Item> {
        self.items.get(id).copied()
    }

    /// The fields of `std.Envelope`.
    pub fn envelope(&self) -> &'h [hir::Field] {
        match self.item(&envelope_id()).map(|i| &i.kind) {
            Some(ItemKind::Record(r)) => &r.fields,
            _ => &[],
        }
    }

    pub fn record_fields(&self, id: &ItemId) -> &'h [hir::Field] {
        match self.item(id).map(|i| &i.kind) {
            Some(ItemKind::Record(r)) => &r.fields,
            _ => &[],
        }
    }

    pub fn message_fields(&self, id: &ItemId) -> &'h [hir::Field] {
        match self.item(id).map(|i| &i.kind) {
            Some(ItemKind::Message(m)) => &m.fields,
            _ => &[],
        }
    }

    pub fn scalar(&self, t: &hir::Ty) -> Option<Scalar> {
        Some(match t {
            hir::Ty::Int => Scalar::Int,
            hir::Ty::Float => Scalar::Float,
            hir::Ty::Bool => Scalar::Bool,
            hir::Ty::String => Scalar::Str,
            hir::Ty::Zone => Scalar::Zone,
            hir::Ty::Duration => Scalar::Duration,
            hir::Ty::Distance => Scalar::Distance,
            hir::Ty::Timestamp => Scalar::Timestamp,
            hir::Ty::Enum(id) => Scalar::Enum(*self.enum_ids.get(id)?),
            _ => return None,
        })
    }

    pub fn ty(&self, t: &hir::Ty) -> Ty {
        if let Some(s) = self.scalar(t) {
            return Ty::Scalar(s);
        }
        match t {
            hir::Ty::List(e) => Ty::List(Box::new(self.ty(e))),
            hir::Ty::Map(k, v) => Ty::Map(Box::new(self.ty(k)), Box::new(self.ty(v))),
            hir::Ty::Optional(inner) => Ty::Optional(Box::new(self.ty(inner))),
            hir::Ty::Record(id) => self
                .record_ids
                .get(id)
                .map_or(Ty::Never, |r| Ty::Record(*r)),
            hir::Ty::Message(id) => self
                .message_ids
                .get(id)
                .map_or(Ty::Never, |m| Ty::Message(*m)),
            _ => Ty::Never,
        }
    }

    pub fn message_id(&self, id: &ItemId) -> Option<MessageId> {
        self.message_ids.get(id).copied()
    }
}

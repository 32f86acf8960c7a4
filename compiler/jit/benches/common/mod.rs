//! The setup both JIT benchmarks share: the speeding condition as an IR program, a batch of
//! decoded rows, and an evaluation context for the engine-facing evaluators.

#![allow(dead_code)] // each bench binary uses its own part of it

use cbp_ir::expr::{CmpOp, GraphBuilder, Lit, Node, NodeId};
use cbp_ir::layout::envelope;
use cbp_ir::program::{Rule, Step};
use cbp_ir::{EnumId, MessageId, Program, Row, RowRef, Scalar};
use cbp_runtime::eval::EvalContext;
use cbp_runtime::intern::Interner;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const VIOLATION_TYPE: u32 = envelope::SLOTS;
pub const SLOTS: u32 = envelope::SLOTS + 1;
pub const MEDIUM: u32 = 1;
pub const ROWS: usize = 64;

pub fn speeding_program() -> (Program, NodeId) {
    let mut g = GraphBuilder::default();
    let severity = Scalar::Enum(EnumId(0));
    let kind = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: VIOLATION_TYPE,
        ty: Scalar::Str,
    });
    let speeding = g.add(Node::Lit(Lit::Str("speeding".into())));
    let is_speeding = g.add(Node::Cmp {
        op: CmpOp::Eq,
        ty: Scalar::Str,
        lhs: kind,
        rhs: speeding,
    });
    let level = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: envelope::SEVERITY,
        ty: severity,
    });
    let medium = g.add(Node::Lit(Lit::Enum(EnumId(0), MEDIUM)));
    let serious = g.add(Node::Cmp {
        op: CmpOp::Ge,
        ty: severity,
        lhs: level,
        rhs: medium,
    });
    let confidence = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: envelope::CONFIDENCE,
        ty: Scalar::Float,
    });
    let threshold = g.add(Node::Lit(Lit::Float(0.85f64.to_bits())));
    let sure = g.add(Node::Cmp {
        op: CmpOp::Gt,
        ty: Scalar::Float,
        lhs: confidence,
        rhs: threshold,
    });
    let both = g.add(Node::And(is_speeding, serious));
    let cond = g.add(Node::And(both, sure));
    let program = Program {
        format_version: cbp_ir::FORMAT_VERSION,
        nodes: g.finish(),
        rules: vec![Rule {
            name: "speeding".into(),
            qualified: "traffic.speeding".into(),
            layer: 1,
            trigger: MessageId(0),
            source: None,
            steps: vec![Step::When {
                cond,
                text: "speeding".into(),
                shows: Vec::new(),
            }],
            locals: 0,
            priority: None,
            then: Vec::new(),
            approval: None,
            on_approve: Vec::new(),
            on_reject: Vec::new(),
            no_response: None,
        }],
        ..Program::default()
    };
    (program, cond)
}

/// Rows with every mix of the three tests, some fields absent.
/// The speeding condition written by hand in Rust (the floor both benches compare with);
/// `speeding_id` is the interned `speeding`.
#[inline]
pub fn speeding_by_hand(row: &Row, speeding_id: u64) -> bool {
    row.is_present(VIOLATION_TYPE)
        && row.get(VIOLATION_TYPE) == speeding_id
        && row.is_present(envelope::SEVERITY)
        && row.get(envelope::SEVERITY) as u32 >= MEDIUM
        && row.is_present(envelope::CONFIDENCE)
        && row.float(envelope::CONFIDENCE) > 0.85
}

pub fn rows(interner: &mut Interner) -> Vec<Arc<Row>> {
    let kinds = [interner.intern("speeding"), interner.intern("red_light")];
    (0..ROWS)
        .map(|i| {
            let mut row = Row::new(MessageId(0), SLOTS, 1);
            row.set(VIOLATION_TYPE, kinds[i % 2]);
            row.set(envelope::SEVERITY, (i / 2 % 4) as u64);
            if i % 7 != 0 {
                row.set(
                    envelope::CONFIDENCE,
                    (0.80 + (i % 5) as f64 * 0.03).to_bits(),
                );
            }
            Arc::new(row)
        })
        .collect()
}

/// What an evaluation context borrows besides the row.
pub struct Env<'a> {
    pub program: &'a Program,
    pub interner: &'a Interner,
    pub places: &'a BTreeMap<Arc<str>, cbp_runtime::geo::Point>,
}

impl<'a> Env<'a> {
    pub fn context(self, row: &'a Arc<Row>) -> EvalContext<'a> {
        EvalContext {
            program: self.program,
            interner: self.interner,
            trigger: row,
            candidate: None,
            locals: &[],
            matches: &[],
            places: self.places,
            aggregates: None,
        }
    }
}

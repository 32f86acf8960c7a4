//! Dispatch tables: per message type, rules indexed by an equality test of their first
//! `when` on one trigger slot (`v.violation_type == speeding`), so a message is tested only
//! against the rules that can match it.
//!
//! A rule is indexed when a top-level conjunct of its first `when` is `slot == literal`,
//! `slot in [literals]`, or a bare bool slot (`order.urgent`, `not order.urgent`). Per message
//! type the slot indexed by most rules is chosen (ties: the lower slot). The other rules are
//! indexed by a range comparison of their first `when` when they have one (`ranges.rs`), and
//! tested always otherwise.

use crate::fold::is_key_scalar;
use crate::ranges::{Range, rule_ranges};
use cbp_ir::expr::{CmpOp, Lit, Node};
use cbp_ir::program::{Discriminator, Dispatch, Key, MessageDispatch, Step};
use cbp_ir::{NodeId, Program, RowRef, Scalar};
use std::collections::BTreeMap;

/// A rule's possible discriminators: (slot, type, keys).
type Candidate = (u32, Scalar, Vec<Key>);

pub fn build(program: &Program) -> Dispatch {
    let mut by_message = vec![MessageDispatch::default(); program.messages.len()];
    let mut candidates: Vec<Vec<Candidate>> = Vec::with_capacity(program.rules.len());
    let mut ranges: Vec<Vec<Range>> = Vec::with_capacity(program.rules.len());
    for rule in &program.rules {
        let first_when = rule.steps.iter().find_map(|s| match s {
            Step::When { cond, .. } => Some(*cond),
            _ => None,
        });
        candidates.push(
            first_when
                .map(|c| rule_candidates(program, c))
                .unwrap_or_default(),
        );
        ranges.push(
            first_when
                .map(|c| rule_ranges(program, c))
                .unwrap_or_default(),
        );
    }
    for (m, dispatch) in by_message.iter_mut().enumerate() {
        let rules: Vec<usize> = program
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.trigger.0 as usize == m)
            .map(|(i, _)| i)
            .collect();
        // Rules per (slot, type); the most-shared wins.
        let mut counts: BTreeMap<(u32, String), (Scalar, usize)> = BTreeMap::new();
        for &i in &rules {
            for (slot, ty, _) in candidates.get(i).into_iter().flatten() {
                counts
                    .entry((*slot, format!("{ty:?}")))
                    .or_insert((*ty, 0))
                    .1 += 1;
            }
        }
        let best = counts
            .iter()
            .max_by(|a, b| a.1.1.cmp(&b.1.1).then(b.0.0.cmp(&a.0.0)))
            .map(|((slot, _), (ty, _))| (*slot, *ty));
        let mut cases: BTreeMap<Key, Vec<u32>> = BTreeMap::new();
        let mut rest = Vec::new();
        for &i in &rules {
            let hit = best.and_then(|(slot, ty)| {
                candidates
                    .get(i)
                    .into_iter()
                    .flatten()
                    .find(|(s, t, _)| *s == slot && *t == ty)
            });
            match hit {
                Some((_, _, keys)) => {
                    for k in keys {
                        let list = cases.entry(k.clone()).or_default();
                        if !list.contains(&(i as u32)) {
                            list.push(i as u32);
                        }
                    }
                }
                None => rest.push(i as u32),
            }
        }
        let (range_indexes, always) = crate::ranges::build(&ranges, rest);
        dispatch.always = always;
        dispatch.ranges = range_indexes;
        if let Some((slot, ty)) = best {
            dispatch.indexed.push(Discriminator {
                slot,
                ty,
                cases: cases.into_iter().collect(),
            });
        }
    }
    Dispatch { by_message }
}

pub(crate) fn conjuncts(program: &Program, id: NodeId, out: &mut Vec<NodeId>) {
    match program.node(id) {
        Some(Node::And(a, b)) => {
            conjuncts(program, *a, out);
            conjuncts(program, *b, out);
        }
        _ => out.push(id),
    }
}

fn trigger_slot(program: &Program, id: NodeId) -> Option<(u32, Scalar)> {
    match program.node(id)? {
        Node::Load {
            row: RowRef::Trigger,
            slot,
            ty,
        } if is_key_scalar(*ty) => Some((*slot, *ty)),
        _ => None,
    }
}

fn key(program: &Program, id: NodeId) -> Option<Key> {
    match program.node(id)? {
        Node::Lit(Lit::Enum(_, ix)) => Some(Key::Int(i64::from(*ix))),
        Node::Lit(Lit::Str(s) | Lit::Zone(s)) => Some(Key::Str(s.clone())),
        Node::Lit(Lit::Int(v)) => Some(Key::Int(*v)),
        Node::Lit(Lit::Bool(b)) => Some(Key::Int(i64::from(*b))),
        _ => None,
    }
}

fn rule_candidates(program: &Program, cond: NodeId) -> Vec<Candidate> {
    let mut parts = Vec::new();
    conjuncts(program, cond, &mut parts);
    let mut out: Vec<Candidate> = Vec::new();
    for part in parts {
        let found = match program.node(part) {
            Some(Node::Cmp {
                op: CmpOp::Eq,
                lhs,
                rhs,
                ..
            }) => match (trigger_slot(program, *lhs), trigger_slot(program, *rhs)) {
                (Some((slot, ty)), None) => key(program, *rhs).map(|k| (slot, ty, vec![k])),
                (None, Some((slot, ty))) => key(program, *lhs).map(|k| (slot, ty, vec![k])),
                _ => None,
            },
            Some(Node::In { item, list, .. }) => {
                let slot = trigger_slot(program, *item);
                let keys = match program.node(*list) {
                    Some(Node::List { items, .. }) if !items.is_empty() => items
                        .iter()
                        .map(|i| key(program, *i))
                        .collect::<Option<Vec<Key>>>(),
                    _ => None,
                };
                slot.zip(keys).map(|((slot, ty), keys)| (slot, ty, keys))
            }
            Some(Node::Load {
                row: RowRef::Trigger,
                slot,
                ty: Scalar::Bool,
            }) => Some((*slot, Scalar::Bool, vec![Key::Int(1)])),
            Some(Node::Not(x)) => match program.node(*x) {
                Some(Node::Load {
                    row: RowRef::Trigger,
                    slot,
                    ty: Scalar::Bool,
                }) => Some((*slot, Scalar::Bool, vec![Key::Int(0)])),
                _ => None,
            },
            _ => None,
        };
        if let Some(c) = found
            && !out.iter().any(|(s, _, _)| *s == c.0)
        {
            out.push(c);
        }
    }
    out
}

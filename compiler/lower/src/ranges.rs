//! Range indexes: rules whose first `when` compares a trigger slot with a constant
//! (`v.confidence < 0.2`, `v.severity >= high`, `v.count == 3`), for the rules the equality
//! dispatch leaves unindexed.
//!
//! A top-level conjunct `slot op constant` of the first `when` must be true for the rule to
//! fire (`and` is true only when both sides are; a null comparison — absent slot, NaN —
//! is not true), so a rule whose comparison is not true for the message's value can be
//! skipped without changing any output. The runtime keeps each index's constants sorted and
//! finds, by binary search, the rules whose comparison holds.
//!
//! Per message type, slots are chosen greedily: the slot whose index would exclude the most
//! rules goes first, its rules into its index, then the same again with the rules left. The
//! estimate assumes the message's value is as likely to fall on any of the slot's k distinct
//! constants as in any gap between them (2k + 1 cells), so a slot compared with one constant
//! by every rule (`v.severity >= medium`) scores below one compared with many (`v.confidence
//! < 0.1…`). A rule with several comparisons on the chosen slot is indexed by the one that
//! excludes the most cells. Rules with no comparison left are tested always.

use crate::dispatch::conjuncts;
use cbp_ir::expr::{CmpOp, Lit, Node};
use cbp_ir::program::RangeIndex;
use cbp_ir::{NodeId, Program, RowRef, Scalar};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// `slot op bound`: a comparison a rule's first `when` requires to be true.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Range {
    slot: u32,
    ty: Scalar,
    op: CmpOp,
    bound: Lit,
}

/// The range comparisons among the top-level conjuncts of `cond`.
pub(crate) fn rule_ranges(program: &Program, cond: NodeId) -> Vec<Range> {
    let mut parts = Vec::new();
    conjuncts(program, cond, &mut parts);
    parts
        .into_iter()
        .filter_map(|part| range_of(program, part))
        .collect()
}

fn range_of(program: &Program, id: NodeId) -> Option<Range> {
    let Some(Node::Cmp { op, ty, lhs, rhs }) = program.node(id) else {
        return None;
    };
    if *op == CmpOp::Ne || !orderable(*ty) {
        return None;
    }
    let (slot, bound, op) = match (program.node(*lhs)?, program.node(*rhs)?) {
        (load, Node::Lit(lit)) => (trigger_slot(load, *ty)?, lit, *op),
        (Node::Lit(lit), load) => (trigger_slot(load, *ty)?, lit, flipped(*op)),
        _ => return None,
    };
    Some(Range {
        slot,
        ty: *ty,
        op,
        bound: bound_of(bound, *ty)?,
    })
}

/// Types whose comparisons the runtime evaluates as numbers (enums by variant index).
fn orderable(ty: Scalar) -> bool {
    matches!(
        ty,
        Scalar::Int
            | Scalar::Float
            | Scalar::Duration
            | Scalar::Distance
            | Scalar::Timestamp
            | Scalar::Enum(_)
    )
}

/// A load of a trigger slot of exactly the comparison's type.
fn trigger_slot(node: &Node, ty: Scalar) -> Option<u32> {
    match node {
        Node::Load {
            row: RowRef::Trigger,
            slot,
            ty: loaded,
        } if *loaded == ty => Some(*slot),
        _ => None,
    }
}

/// `c op x` as `x op' c`.
fn flipped(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The literal as an index constant, when it is of the comparison's type (any other pair
/// compares as null in the interpreter and is left alone). NaN is refused (no order);
/// `-0.0` becomes `0.0`, which compares equal to it.
fn bound_of(lit: &Lit, ty: Scalar) -> Option<Lit> {
    let float = |bits: u64| {
        let value = f64::from_bits(bits);
        (!value.is_nan()).then(|| (value + 0.0).to_bits())
    };
    Some(match (lit, ty) {
        (Lit::Int(v), Scalar::Int) => Lit::Int(*v),
        (Lit::Duration(v), Scalar::Duration) => Lit::Duration(*v),
        (Lit::Timestamp(v), Scalar::Timestamp) => Lit::Timestamp(*v),
        (Lit::Float(bits), Scalar::Float) => Lit::Float(float(*bits)?),
        (Lit::Distance(bits), Scalar::Distance) => Lit::Distance(float(*bits)?),
        (Lit::Enum(id, ix), Scalar::Enum(e)) if *id == e => Lit::Enum(*id, *ix),
        _ => return None,
    })
}

/// A constant's place in its index's order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(lit: &Lit) -> Num {
    match lit {
        Lit::Float(bits) | Lit::Distance(bits) => Num::Float(f64::from_bits(*bits)),
        Lit::Int(v) | Lit::Duration(v) | Lit::Timestamp(v) => Num::Int(*v),
        Lit::Enum(_, ix) => Num::Int(i64::from(*ix)),
        _ => Num::Int(0),
    }
}

fn order(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Float(x), Num::Float(y)) => x.total_cmp(&y),
        (Num::Int(_), Num::Float(_)) => Ordering::Less,
        (Num::Float(_), Num::Int(_)) => Ordering::Greater,
    }
}

fn op_rank(op: CmpOp) -> u8 {
    match op {
        CmpOp::Lt => 0,
        CmpOp::Le => 1,
        CmpOp::Eq => 2,
        CmpOp::Ge => 3,
        CmpOp::Gt => 4,
        CmpOp::Ne => 5,
    }
}

/// Of the 2k + 1 cells of `k` distinct constants, how many `x op c` is false in, for the
/// constant at (0-based) position `p`.
fn excluded_cells(op: CmpOp, p: u64, k: u64) -> u64 {
    match op {
        CmpOp::Lt => 2 * k - 2 * p,
        CmpOp::Le => 2 * k - 2 * p - 1,
        CmpOp::Gt => 2 * p + 2,
        CmpOp::Ge => 2 * p + 1,
        CmpOp::Eq => 2 * k,
        CmpOp::Ne => 0,
    }
}

/// Indexes for the rules of `rest` (ascending rule indexes of one message type), given each
/// rule's comparisons (`ranges[i]` for rule `i`); returns the indexes and the rules left to
/// test always, ascending.
pub(crate) fn build(ranges: &[Vec<Range>], rest: Vec<u32>) -> (Vec<RangeIndex>, Vec<u32>) {
    let mut rest = rest;
    let mut indexes = Vec::new();
    while let Some((slot, ty)) = best_slot(ranges, &rest) {
        let mut chosen: Vec<(u32, Range)> = Vec::new();
        let mut left = Vec::new();
        let on_slot = |i: u32| -> Vec<&Range> {
            ranges
                .get(i as usize)
                .into_iter()
                .flatten()
                .filter(|r| r.slot == slot && r.ty == ty)
                .collect()
        };
        let bounds = distinct_bounds(rest.iter().flat_map(|&i| on_slot(i)));
        let k = bounds.len() as u64;
        for &i in &rest {
            let best = on_slot(i)
                .into_iter()
                .max_by_key(|r| excluded_cells(r.op, position(&bounds, &r.bound), k));
            match best {
                Some(range) => chosen.push((i, range.clone())),
                None => left.push(i),
            }
        }
        chosen.sort_by(|(i, a), (j, b)| {
            order(num(&a.bound), num(&b.bound))
                .then(op_rank(a.op).cmp(&op_rank(b.op)))
                .then(i.cmp(j))
        });
        let mut cases: Vec<(CmpOp, Lit, Vec<u32>)> = Vec::new();
        for (i, range) in chosen {
            match cases.last_mut() {
                Some((op, bound, rules)) if *op == range.op && *bound == range.bound => {
                    rules.push(i)
                }
                _ => cases.push((range.op, range.bound, vec![i])),
            }
        }
        indexes.push(RangeIndex { slot, ty, cases });
        rest = left;
    }
    (indexes, rest)
}

/// The sorted distinct constants of some comparisons.
fn distinct_bounds<'r>(ranges: impl Iterator<Item = &'r Range>) -> Vec<Num> {
    let mut bounds: Vec<Num> = ranges.map(|r| num(&r.bound)).collect();
    bounds.sort_by(|a, b| order(*a, *b));
    bounds.dedup_by(|a, b| order(*a, *b) == Ordering::Equal);
    bounds
}

fn position(bounds: &[Num], bound: &Lit) -> u64 {
    let value = num(bound);
    bounds.partition_point(|b| order(*b, value) == Ordering::Less) as u64
}

/// A slot's comparisons, by rule.
type ByRule<'r> = BTreeMap<u32, Vec<&'r Range>>;

/// The (slot, type) whose index would exclude the most cells over the rules of `rest`
/// (ties: the lower slot); `None` when no rule of `rest` has a comparison.
fn best_slot(ranges: &[Vec<Range>], rest: &[u32]) -> Option<(u32, Scalar)> {
    // (slot, type's name) → (type, comparisons by rule).
    let mut slots: BTreeMap<(u32, String), (Scalar, ByRule<'_>)> = BTreeMap::new();
    for &i in rest {
        for range in ranges.get(i as usize).into_iter().flatten() {
            slots
                .entry((range.slot, format!("{:?}", range.ty)))
                .or_insert_with(|| (range.ty, BTreeMap::new()))
                .1
                .entry(i)
                .or_default()
                .push(range);
        }
    }
    let mut best: Option<((u32, Scalar), u128, u128)> = None;
    for ((slot, _), (ty, rules)) in &slots {
        let bounds = distinct_bounds(rules.values().flatten().copied());
        let k = bounds.len() as u64;
        let excluded: u128 = rules
            .values()
            .map(|list| {
                list.iter()
                    .map(|r| excluded_cells(r.op, position(&bounds, &r.bound), k))
                    .max()
                    .unwrap_or(0)
            })
            .map(u128::from)
            .sum();
        let cells = u128::from(2 * k + 1);
        // excluded / cells > best's, compared without division.
        let better = best.is_none_or(|(_, e, c)| excluded * c > e * cells);
        if better {
            best = Some(((*slot, *ty), excluded, cells));
        }
    }
    best.map(|(slot, _, _)| slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(slot: u32, op: CmpOp, bound: f64) -> Range {
        Range {
            slot,
            ty: Scalar::Float,
            op,
            bound: Lit::Float(bound.to_bits()),
        }
    }

    #[test]
    fn many_constants_beat_one_shared_constant() {
        // Every rule: `s1 >= 1.0 and s2 < 0.1 + i/1000`.
        let ranges: Vec<Vec<Range>> = (0..20)
            .map(|i| {
                vec![
                    range(1, CmpOp::Ge, 1.0),
                    range(2, CmpOp::Lt, 0.1 + f64::from(i) / 1000.0),
                ]
            })
            .collect();
        let (indexes, always) = build(&ranges, (0..20).collect());
        assert!(always.is_empty());
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0].slot, 2);
        assert_eq!(indexes[0].cases.len(), 20);
        assert_eq!(indexes[0].cases[0].2, vec![0]);
    }

    #[test]
    fn equal_constants_share_a_case_and_rules_without_ranges_stay() {
        let ranges = vec![
            vec![range(3, CmpOp::Gt, 5.0)],
            vec![],
            vec![range(3, CmpOp::Gt, 5.0)],
            vec![range(3, CmpOp::Le, -2.5)],
        ];
        let (indexes, always) = build(&ranges, vec![0, 1, 2, 3]);
        assert_eq!(always, vec![1]);
        assert_eq!(
            indexes[0].cases,
            vec![
                (CmpOp::Le, Lit::Float((-2.5f64).to_bits()), vec![3]),
                (CmpOp::Gt, Lit::Float(5.0f64.to_bits()), vec![0, 2]),
            ]
        );
    }

    #[test]
    fn rules_on_other_slots_get_their_own_index() {
        let ranges = vec![
            vec![range(3, CmpOp::Gt, 5.0)],
            vec![range(4, CmpOp::Lt, 1.0)],
        ];
        let (indexes, always) = build(&ranges, vec![0, 1]);
        assert!(always.is_empty());
        let slots: Vec<u32> = indexes.iter().map(|x| x.slot).collect();
        assert_eq!(slots, vec![3, 4]);
    }

    #[test]
    fn nan_is_not_a_bound_and_negative_zero_is_zero() {
        assert_eq!(
            bound_of(&Lit::Float(f64::NAN.to_bits()), Scalar::Float),
            None
        );
        assert_eq!(
            bound_of(&Lit::Float((-0.0f64).to_bits()), Scalar::Float),
            Some(Lit::Float(0.0f64.to_bits()))
        );
        // A literal of another type compares as null: not an index constant.
        assert_eq!(bound_of(&Lit::Int(3), Scalar::Float), None);
    }
}

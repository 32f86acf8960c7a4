//! Each compiled node kind against expected values.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod support;

use cbp_ir::expr::{ArithOp, CmpOp, GraphBuilder, Lit, Node, NodeId};
use cbp_ir::{EnumId, Row, RowRef, Scalar};
use cbp_jit::{Jit, Unsupported, clif, emit_object};
use support::{Symbols, float, lit, program, row, with_condition};

/// Compiles the condition `build` returns and evaluates it over `trigger` (and `candidate`).
fn eval_with(
    build: impl FnOnce(&mut GraphBuilder, &mut Symbols) -> NodeId,
    trigger: &Row,
    candidate: Option<&Row>,
    symbols: &mut Symbols,
) -> Option<bool> {
    let mut g = GraphBuilder::default();
    let root = build(&mut g, symbols);
    let program = program(g.finish());
    let jit = Jit::compile_roots(&program, &[root], &mut |s| symbols.intern(s)).expect("jit");
    assert!(
        jit.skipped().is_empty(),
        "not compiled: {:?}",
        jit.skipped()
    );
    jit.condition(root)
        .expect("compiled")
        .eval(trigger, candidate)
}

fn eval(build: impl FnOnce(&mut GraphBuilder) -> NodeId) -> Option<bool> {
    eval_with(|g, _| build(g), &row(0), None, &mut Symbols::default())
}

fn load(g: &mut GraphBuilder, slot: u32, ty: Scalar) -> NodeId {
    g.add(Node::Load {
        row: RowRef::Trigger,
        slot,
        ty,
    })
}

fn cmp(g: &mut GraphBuilder, op: CmpOp, ty: Scalar, lhs: NodeId, rhs: NodeId) -> NodeId {
    g.add(Node::Cmp { op, ty, lhs, rhs })
}

/// `lhs op rhs` (operands of types `ty`, `rhs_ty`) compared with `expected` as `result_ty`,
/// or, for `expected == None`, tested for null with `??`.
fn arith(
    op: ArithOp,
    (ty, lhs): (Scalar, Lit),
    (rhs_ty, rhs): (Scalar, Lit),
    result_ty: Scalar,
    expected: Option<Lit>,
) -> Option<bool> {
    eval(|g| {
        let lhs = lit(g, lhs);
        let rhs = lit(g, rhs);
        let value = g.add(Node::Arith {
            op,
            ty,
            rhs_ty,
            lhs,
            rhs,
        });
        match expected {
            Some(expected) => {
                let expected = lit(g, expected);
                cmp(g, CmpOp::Eq, result_ty, value, expected)
            }
            None => {
                // null ?? false is false; any value compared to itself is true (not NaN here)
                let same = cmp(g, CmpOp::Eq, result_ty, value, value);
                let no = lit(g, Lit::Bool(false));
                g.add(Node::Coalesce {
                    value: same,
                    default: no,
                })
            }
        }
    })
}

const INT: Scalar = Scalar::Int;
const FLOAT: Scalar = Scalar::Float;
const DUR: Scalar = Scalar::Duration;
const DIST: Scalar = Scalar::Distance;
const TS: Scalar = Scalar::Timestamp;

fn f(v: f64) -> Lit {
    Lit::Float(v.to_bits())
}

#[test]
fn literals() {
    assert_eq!(eval(|g| lit(g, Lit::Bool(true))), Some(true));
    assert_eq!(eval(|g| lit(g, Lit::Bool(false))), Some(false));
    assert_eq!(eval(|g| lit(g, Lit::Null)), None);
}

#[test]
fn loads_are_null_when_absent() {
    let mut trigger = row(3);
    trigger.set(0, 7);
    trigger.set(1, 1);
    let is_seven = |g: &mut GraphBuilder, _: &mut Symbols| {
        let x = load(g, 0, INT);
        let seven = lit(g, Lit::Int(7));
        cmp(g, CmpOp::Eq, INT, x, seven)
    };
    assert_eq!(
        eval_with(is_seven, &trigger, None, &mut Symbols::default()),
        Some(true)
    );
    assert_eq!(
        eval_with(is_seven, &row(3), None, &mut Symbols::default()),
        None
    );
    // a bool slot holding 1, and one that is absent
    assert_eq!(
        eval_with(
            |g, _| load(g, 1, Scalar::Bool),
            &trigger,
            None,
            &mut Symbols::default()
        ),
        Some(true)
    );
    assert_eq!(
        eval_with(
            |g, _| load(g, 2, Scalar::Bool),
            &trigger,
            None,
            &mut Symbols::default()
        ),
        None
    );
}

#[test]
fn present_reads_the_presence_bit_in_any_word() {
    let mut trigger = row(130);
    trigger.set(129, 0);
    let present = |slot| {
        move |g: &mut GraphBuilder, _: &mut Symbols| {
            g.add(Node::Present {
                row: RowRef::Trigger,
                slot,
            })
        }
    };
    assert_eq!(
        eval_with(present(129), &trigger, None, &mut Symbols::default()),
        Some(true)
    );
    assert_eq!(
        eval_with(present(128), &trigger, None, &mut Symbols::default()),
        Some(false)
    );
    // beyond the row: absent, not out of bounds
    assert_eq!(
        eval_with(present(500), &trigger, None, &mut Symbols::default()),
        Some(false)
    );
}

/// Slots of the third block of 64 are read at their own offset, next to their presence word.
#[test]
fn loads_read_slots_in_any_block() {
    let mut trigger = row(140);
    trigger.set(129, 5);
    trigger.set(130, 6);
    let equals = |slot: u32, value: i64| {
        move |g: &mut GraphBuilder, _: &mut Symbols| {
            let x = load(g, slot, INT);
            let v = lit(g, Lit::Int(value));
            cmp(g, CmpOp::Eq, INT, x, v)
        }
    };
    let eval_on = |f, row: &Row| eval_with(f, row, None, &mut Symbols::default());
    assert_eq!(eval_on(equals(129, 5), &trigger), Some(true));
    assert_eq!(eval_on(equals(130, 6), &trigger), Some(true));
    assert_eq!(eval_on(equals(130, 5), &trigger), Some(false));
    // absent in this row, and a row too short for the slot: null
    assert_eq!(eval_on(equals(131, 0), &trigger), None);
    assert_eq!(eval_on(equals(129, 5), &row(100)), None);
}

#[test]
fn not_keeps_null() {
    assert_eq!(
        eval(|g| {
            let t = lit(g, Lit::Bool(true));
            g.add(Node::Not(t))
        }),
        Some(false)
    );
    assert_eq!(
        eval(|g| {
            let n = lit(g, Lit::Null);
            g.add(Node::Not(n))
        }),
        None
    );
    let mut symbols = Symbols::default();
    let absent_not = |g: &mut GraphBuilder, _: &mut Symbols| {
        let b = load(g, 0, Scalar::Bool);
        g.add(Node::Not(b))
    };
    assert_eq!(eval_with(absent_not, &row(1), None, &mut symbols), None);
}

#[test]
fn negation_is_checked() {
    let neg_eq = |ty: Scalar, value: Lit, expected: Option<Lit>| {
        eval(|g| {
            let v = lit(g, value);
            let n = g.add(Node::Neg { ty, value: v });
            match expected {
                Some(e) => {
                    let e = lit(g, e);
                    cmp(g, CmpOp::Eq, ty, n, e)
                }
                None => cmp(g, CmpOp::Eq, ty, n, n),
            }
        })
    };
    assert_eq!(neg_eq(INT, Lit::Int(5), Some(Lit::Int(-5))), Some(true));
    assert_eq!(neg_eq(INT, Lit::Int(i64::MIN), None), None);
    assert_eq!(neg_eq(DUR, Lit::Duration(i64::MIN), None), None);
    assert_eq!(neg_eq(FLOAT, f(1.5), Some(f(-1.5))), Some(true));
    assert_eq!(
        neg_eq(
            DIST,
            Lit::Distance(2.0f64.to_bits()),
            Some(Lit::Distance((-2.0f64).to_bits()))
        ),
        Some(true)
    );
}

#[test]
fn integer_arithmetic_is_checked() {
    let int = |i| (INT, Lit::Int(i));
    assert_eq!(
        arith(ArithOp::Add, int(2), int(3), INT, Some(Lit::Int(5))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Sub, int(2), int(3), INT, Some(Lit::Int(-1))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Mul, int(-4), int(3), INT, Some(Lit::Int(-12))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, int(-7), int(2), INT, Some(Lit::Int(-3))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Rem, int(-7), int(2), INT, Some(Lit::Int(-1))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Add, int(i64::MAX), int(1), INT, None),
        Some(false)
    );
    assert_eq!(
        arith(ArithOp::Sub, int(i64::MIN), int(1), INT, None),
        Some(false)
    );
    assert_eq!(
        arith(ArithOp::Mul, int(i64::MAX), int(2), INT, None),
        Some(false)
    );
    assert_eq!(arith(ArithOp::Div, int(1), int(0), INT, None), Some(false));
    assert_eq!(arith(ArithOp::Rem, int(1), int(0), INT, None), Some(false));
    assert_eq!(
        arith(ArithOp::Div, int(i64::MIN), int(-1), INT, None),
        Some(false)
    );
    assert_eq!(
        arith(ArithOp::Rem, int(i64::MIN), int(-1), INT, None),
        Some(false)
    );
    // null operands
    assert_eq!(
        arith(ArithOp::Add, int(1), (INT, Lit::Null), INT, None),
        Some(false)
    );
}

#[test]
fn float_arithmetic_is_null_when_not_finite() {
    assert_eq!(
        arith(
            ArithOp::Add,
            (FLOAT, f(0.5)),
            (FLOAT, f(0.25)),
            FLOAT,
            Some(f(0.75))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Div,
            (FLOAT, f(1.0)),
            (FLOAT, f(4.0)),
            FLOAT,
            Some(f(0.25))
        ),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, (FLOAT, f(1.0)), (FLOAT, f(0.0)), FLOAT, None),
        Some(false)
    );
    assert_eq!(
        arith(
            ArithOp::Mul,
            (FLOAT, f(f64::MAX)),
            (FLOAT, f(2.0)),
            FLOAT,
            None
        ),
        Some(false)
    );
}

#[test]
fn quantities() {
    let dur = |ms| (DUR, Lit::Duration(ms));
    let ts = |ms| (TS, Lit::Timestamp(ms));
    let dist = |m: f64| (DIST, Lit::Distance(m.to_bits()));
    assert_eq!(
        arith(
            ArithOp::Sub,
            ts(10_000),
            ts(4_000),
            DUR,
            Some(Lit::Duration(6_000))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Add,
            ts(10_000),
            dur(500),
            TS,
            Some(Lit::Timestamp(10_500))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Add,
            dur(500),
            ts(10_000),
            TS,
            Some(Lit::Timestamp(10_500))
        ),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, dur(3_000), dur(2_000), FLOAT, Some(f(1.5))),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, dur(3_000), dur(0), FLOAT, None),
        Some(false)
    );
    assert_eq!(
        arith(
            ArithOp::Rem,
            dur(3_500),
            dur(1_000),
            DUR,
            Some(Lit::Duration(500))
        ),
        Some(true)
    );
    // a duration scaled by a number rounds half away from zero
    assert_eq!(
        arith(
            ArithOp::Mul,
            dur(5),
            (FLOAT, f(0.5)),
            DUR,
            Some(Lit::Duration(3))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Mul,
            dur(-5),
            (FLOAT, f(0.5)),
            DUR,
            Some(Lit::Duration(-3))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Div,
            dur(1_000),
            (INT, Lit::Int(3)),
            DUR,
            Some(Lit::Duration(333))
        ),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Mul,
            (INT, Lit::Int(3)),
            dur(1_000),
            DUR,
            Some(Lit::Duration(3_000))
        ),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, dur(1_000), (INT, Lit::Int(0)), DUR, None),
        Some(false)
    );
    assert_eq!(
        arith(ArithOp::Mul, dur(i64::MAX), (FLOAT, f(1.0)), DUR, None),
        Some(false)
    );
    assert_eq!(
        arith(
            ArithOp::Add,
            dist(1.5),
            dist(2.0),
            DIST,
            Some(Lit::Distance(3.5f64.to_bits()))
        ),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, dist(3.0), dist(1.5), FLOAT, Some(f(2.0))),
        Some(true)
    );
    assert_eq!(
        arith(
            ArithOp::Mul,
            dist(3.0),
            (INT, Lit::Int(2)),
            DIST,
            Some(Lit::Distance(6.0f64.to_bits()))
        ),
        Some(true)
    );
    assert_eq!(
        arith(ArithOp::Div, dist(3.0), (FLOAT, f(0.0)), DIST, None),
        Some(false)
    );
}

#[test]
fn comparisons_by_type() {
    let c = |op, ty, a: Lit, b: Lit| {
        eval(|g| {
            let a = lit(g, a);
            let b = lit(g, b);
            cmp(g, op, ty, a, b)
        })
    };
    assert_eq!(c(CmpOp::Lt, INT, Lit::Int(-1), Lit::Int(1)), Some(true));
    assert_eq!(c(CmpOp::Ge, INT, Lit::Int(-1), Lit::Int(1)), Some(false));
    assert_eq!(c(CmpOp::Le, FLOAT, f(0.85), f(0.85)), Some(true));
    assert_eq!(c(CmpOp::Gt, FLOAT, f(0.85), f(0.85)), Some(false));
    assert_eq!(c(CmpOp::Ne, FLOAT, f(f64::NAN), f(f64::NAN)), Some(true));
    assert_eq!(c(CmpOp::Eq, FLOAT, f(f64::NAN), f(f64::NAN)), Some(false));
    assert_eq!(
        c(CmpOp::Lt, FLOAT, f(f64::NAN), f(1.0)),
        None,
        "an ordering with NaN is unknown"
    );
    assert_eq!(
        c(CmpOp::Lt, Scalar::Bool, Lit::Bool(false), Lit::Bool(true)),
        Some(true)
    );
    assert_eq!(
        c(CmpOp::Gt, TS, Lit::Timestamp(5), Lit::Timestamp(4)),
        Some(true)
    );
    assert_eq!(
        c(CmpOp::Eq, DUR, Lit::Duration(5), Lit::Duration(5)),
        Some(true)
    );
    let level = Scalar::Enum(EnumId(0));
    assert_eq!(
        c(
            CmpOp::Ge,
            level,
            Lit::Enum(EnumId(0), 2),
            Lit::Enum(EnumId(0), 1)
        ),
        Some(true)
    );
    assert_eq!(c(CmpOp::Eq, INT, Lit::Null, Lit::Int(1)), None);
    assert_eq!(
        c(
            CmpOp::Eq,
            Scalar::Str,
            Lit::Str("a".into()),
            Lit::Zone("a".into())
        ),
        Some(true)
    );
    assert_eq!(
        c(
            CmpOp::Ne,
            Scalar::Str,
            Lit::Str("a".into()),
            Lit::Str("b".into())
        ),
        Some(true)
    );
}

#[test]
fn strings_compare_by_symbol_id() {
    let mut symbols = Symbols::default();
    let mut trigger = row(1);
    trigger.set(0, symbols.intern("speeding"));
    let is = |text: &'static str| {
        move |g: &mut GraphBuilder, _: &mut Symbols| {
            let slot = load(g, 0, Scalar::Str);
            let text = lit(g, Lit::Str(text.into()));
            cmp(g, CmpOp::Eq, Scalar::Str, slot, text)
        }
    };
    assert_eq!(
        eval_with(is("speeding"), &trigger, None, &mut symbols),
        Some(true)
    );
    assert_eq!(
        eval_with(is("red_light"), &trigger, None, &mut symbols),
        Some(false)
    );
}

#[test]
fn enum_slots_are_variant_indexes() {
    let level = Scalar::Enum(EnumId(1));
    let mut trigger = row(1);
    trigger.set(0, 2 | (1 << 40)); // high bits are not part of a `u32` index
    let at_least_medium = |g: &mut GraphBuilder, _: &mut Symbols| {
        let slot = load(g, 0, level);
        let medium = lit(g, Lit::Enum(EnumId(1), 1));
        cmp(g, CmpOp::Ge, level, slot, medium)
    };
    let high = |g: &mut GraphBuilder, _: &mut Symbols| {
        let slot = load(g, 0, level);
        let high = lit(g, Lit::Enum(EnumId(1), 2));
        cmp(g, CmpOp::Eq, level, slot, high)
    };
    assert_eq!(
        eval_with(at_least_medium, &trigger, None, &mut Symbols::default()),
        Some(true)
    );
    assert_eq!(
        eval_with(high, &trigger, None, &mut Symbols::default()),
        Some(true)
    );
}

/// `and`/`or` over {true, false, null} on both sides, against Kleene's tables.
#[test]
fn three_valued_logic() {
    let values = [Some(true), Some(false), None];
    let as_lit = |v: Option<bool>| v.map(Lit::Bool).unwrap_or(Lit::Null);
    for a in values {
        for b in values {
            let expected_and = match (a, b) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            let expected_or = match (a, b) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            };
            // both as literals and as loads (dynamic null flags)
            let mut trigger = row(2);
            for (slot, v) in [(0, a), (1, b)] {
                if let Some(v) = v {
                    trigger.set(slot, u64::from(v));
                }
            }
            for dynamic in [false, true] {
                for (is_and, expected) in [(true, expected_and), (false, expected_or)] {
                    let build = |g: &mut GraphBuilder, _: &mut Symbols| {
                        let (x, y) = if dynamic {
                            (load(g, 0, Scalar::Bool), load(g, 1, Scalar::Bool))
                        } else {
                            (lit(g, as_lit(a)), lit(g, as_lit(b)))
                        };
                        g.add(if is_and {
                            Node::And(x, y)
                        } else {
                            Node::Or(x, y)
                        })
                    };
                    let got = eval_with(build, &trigger, None, &mut Symbols::default());
                    assert_eq!(
                        got,
                        expected,
                        "{a:?} {} {b:?} (dynamic: {dynamic})",
                        if is_and { "and" } else { "or" }
                    );
                }
            }
        }
    }
}

#[test]
fn int_to_float() {
    assert_eq!(
        eval(|g| {
            let i = lit(g, Lit::Int(3));
            let x = g.add(Node::IntToFloat(i));
            let three = float(g, 3.0);
            cmp(g, CmpOp::Eq, FLOAT, x, three)
        }),
        Some(true)
    );
}

#[test]
fn coalesce_and_if() {
    let mut trigger = row(2);
    trigger.set(1, 10);
    let build = |slot: u32| {
        move |g: &mut GraphBuilder, _: &mut Symbols| {
            let x = load(g, slot, INT);
            let zero = lit(g, Lit::Int(0));
            let v = g.add(Node::Coalesce {
                value: x,
                default: zero,
            });
            cmp(g, CmpOp::Gt, INT, v, zero)
        }
    };
    assert_eq!(
        eval_with(build(0), &trigger, None, &mut Symbols::default()),
        Some(false)
    );
    assert_eq!(
        eval_with(build(1), &trigger, None, &mut Symbols::default()),
        Some(true)
    );
    let choose = |cond: Lit| {
        eval(|g| {
            let c = lit(g, cond);
            let a = lit(g, Lit::Int(1));
            let b = lit(g, Lit::Int(2));
            let v = g.add(Node::If {
                cond: c,
                then: a,
                otherwise: b,
            });
            cmp(g, CmpOp::Eq, INT, v, a)
        })
    };
    assert_eq!(choose(Lit::Bool(true)), Some(true));
    assert_eq!(choose(Lit::Bool(false)), Some(false));
    assert_eq!(
        choose(Lit::Null),
        Some(false),
        "a null condition takes the else branch"
    );
}

#[test]
fn membership_in_list_literals() {
    let level = Scalar::Enum(EnumId(0));
    let member = |item: Lit, items: Vec<Lit>, elem: Scalar| {
        eval(|g| {
            let item = lit(g, item);
            let items = items.into_iter().map(|l| lit(g, l)).collect();
            let ty = cbp_ir::Ty::Scalar(elem);
            let list = g.add(Node::List {
                items,
                ty: cbp_ir::Ty::List(Box::new(ty.clone())),
            });
            g.add(Node::In {
                item,
                list,
                elem: ty,
            })
        })
    };
    let high = Lit::Enum(EnumId(0), 2);
    let critical = Lit::Enum(EnumId(0), 3);
    assert_eq!(
        member(high.clone(), vec![high.clone(), critical.clone()], level),
        Some(true)
    );
    assert_eq!(
        member(Lit::Enum(EnumId(0), 1), vec![high, critical], level),
        Some(false)
    );
    assert_eq!(
        member(Lit::Int(1), vec![Lit::Null, Lit::Int(1)], INT),
        Some(true)
    );
    assert_eq!(
        member(Lit::Int(2), vec![Lit::Null, Lit::Int(1)], INT),
        Some(false),
        "a null element equals nothing"
    );
    assert_eq!(member(Lit::Null, vec![Lit::Int(1)], INT), None);
    assert_eq!(member(Lit::Int(1), vec![], INT), Some(false));
    assert_eq!(member(f(f64::NAN), vec![f(f64::NAN)], FLOAT), Some(false));
    assert_eq!(
        member(
            Lit::Str("a".into()),
            vec![Lit::Str("b".into()), Lit::Zone("a".into())],
            Scalar::Str
        ),
        Some(true)
    );
}

#[test]
fn candidate_rows_and_missing_candidates() {
    let mut trigger = row(1);
    trigger.set(0, 5);
    let mut candidate = row(1);
    candidate.set(0, 5);
    let same = |g: &mut GraphBuilder, _: &mut Symbols| {
        let a = load(g, 0, INT);
        let b = g.add(Node::Load {
            row: RowRef::Candidate,
            slot: 0,
            ty: INT,
        });
        cmp(g, CmpOp::Eq, INT, a, b)
    };
    assert_eq!(
        eval_with(same, &trigger, Some(&candidate), &mut Symbols::default()),
        Some(true)
    );
    assert_eq!(
        eval_with(same, &trigger, None, &mut Symbols::default()),
        None
    );
}

#[test]
fn short_rows_read_as_absent() {
    let build = |g: &mut GraphBuilder, _: &mut Symbols| {
        let x = load(g, 70, INT);
        let p = g.add(Node::Present {
            row: RowRef::Trigger,
            slot: 70,
        });
        let one = lit(g, Lit::Int(1));
        let eq = cmp(g, CmpOp::Eq, INT, x, one);
        g.add(Node::Or(eq, p))
    };
    assert_eq!(
        eval_with(build, &row(1), None, &mut Symbols::default()),
        None
    );
    let mut long = row(71);
    long.set(70, 1);
    assert_eq!(
        eval_with(build, &long, None, &mut Symbols::default()),
        Some(true)
    );
}

#[test]
fn unsupported_nodes_are_left_to_the_interpreter() {
    let mut g = GraphBuilder::default();
    let local = g.add(Node::Local(0));
    let t = lit(&mut g, Lit::Bool(true));
    let uses_local = g.add(Node::And(local, t));
    let a = lit(&mut g, Lit::Str("a".into()));
    let ordered = cmp(&mut g, CmpOp::Lt, Scalar::Str, a, a);
    let int = lit(&mut g, Lit::Int(1));
    let fine = cmp(&mut g, CmpOp::Eq, INT, int, int);
    let program = program(g.finish());
    let jit =
        Jit::compile_roots(&program, &[uses_local, ordered, fine, int], &mut |_| 0).expect("jit");
    assert_eq!(jit.compiled().collect::<Vec<_>>(), vec![fine]);
    let reasons: Vec<_> = jit.skipped().iter().map(|(n, r)| (*n, r.clone())).collect();
    assert_eq!(
        reasons,
        vec![
            (
                uses_local,
                Unsupported::Node {
                    node: local,
                    what: "local".into()
                }
            ),
            (
                ordered,
                Unsupported::Node {
                    node: ordered,
                    what: "ordering of Str (by text)".into()
                }
            ),
            (int, Unsupported::NotBoolean { node: int }),
        ]
    );
    assert!(jit.condition(uses_local).is_none());
}

#[test]
fn conditions_are_send_and_sync_and_outlive_the_jit() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let mut g = GraphBuilder::default();
    let t = lit(&mut g, Lit::Bool(true));
    let program = program(g.finish());
    let condition = {
        let jit = Jit::compile_roots(&program, &[t], &mut |_| 0).expect("jit");
        assert_send_sync(&jit);
        jit.condition(t).expect("compiled")
    };
    assert_send_sync(&condition);
    let handle = std::thread::spawn(move || condition.eval(&row(0), None));
    assert_eq!(handle.join().expect("thread"), Some(true));
}

#[test]
fn object_files_export_each_condition() {
    let mut g = GraphBuilder::default();
    let x = load(&mut g, 0, Scalar::Str);
    let s = lit(&mut g, Lit::Str("speeding".into()));
    let cond = cmp(&mut g, CmpOp::Eq, Scalar::Str, x, s);
    let program = with_condition(program(g.finish()), cond);
    let bytes = emit_object(&program).expect("object");
    assert!(bytes.len() > 64);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(format!("cbp_cond_{}", cond.0).as_bytes()));
    assert!(contains(b"cbp_symbols"));
    assert!(contains(b"speeding\0"));
}

/// `x + 1 > 2 and x + 1 < 10`: `x + 1` is one node, so one load and one addition on each
/// path (the fast path, where `x` is present, and the general one).
#[test]
fn shared_subexpressions_are_computed_once() {
    let mut g = GraphBuilder::default();
    let x = load(&mut g, 3, INT);
    let one = lit(&mut g, Lit::Int(1));
    let sum = g.add(Node::Arith {
        op: ArithOp::Add,
        ty: INT,
        rhs_ty: INT,
        lhs: x,
        rhs: one,
    });
    let two = lit(&mut g, Lit::Int(2));
    let ten = lit(&mut g, Lit::Int(10));
    let above = cmp(&mut g, CmpOp::Gt, INT, sum, two);
    let below = cmp(&mut g, CmpOp::Lt, INT, sum, ten);
    let both = g.add(Node::And(above, below));
    let program = program(g.finish());
    let text = clif(&program, both, &mut |_| 0).expect("clif");
    assert_eq!(text.matches("sadd_overflow").count(), 2, "{text}");
    // one load of the presence word, shared, and one of the slot per path (slot 3 is word 4
    // of the row, after the presence word: offset 32)
    assert_eq!(text.matches("load.i64").count(), 3, "{text}");
    assert_eq!(text.matches("+32").count(), 2, "{text}");
    let mut trigger = row(4);
    trigger.set(3, 4);
    let jit = Jit::compile_roots(&program, &[both], &mut |_| 0).expect("jit");
    assert_eq!(
        jit.condition(both).expect("compiled").eval(&trigger, None),
        Some(true)
    );
}

/// Every slot present (the fast path): `x > 0.5 and y > 0.5 and z > 0.5` over floats where
/// NaN makes a conjunct null. A false conjunct anywhere — even after a null one — makes the
/// whole false; otherwise a null one makes it null. The same rows with a slot absent take
/// the general path and must agree.
#[test]
fn conjunctions_on_present_rows_stop_at_false_and_keep_null() {
    let values = [(0.9, Some(true)), (0.1, Some(false)), (f64::NAN, None)];
    let build = |g: &mut GraphBuilder, _: &mut Symbols| {
        let half = float(g, 0.5);
        let parts: Vec<NodeId> = (0..3)
            .map(|slot| {
                let x = load(g, slot, Scalar::Float);
                cmp(g, CmpOp::Gt, Scalar::Float, x, half)
            })
            .collect();
        let first = g.add(Node::And(parts[0], parts[1]));
        g.add(Node::And(first, parts[2]))
    };
    for a in values {
        for b in values {
            for c in values {
                let parts = [a.1, b.1, c.1];
                let expected = if parts.contains(&Some(false)) {
                    Some(false)
                } else if parts.contains(&None) {
                    None
                } else {
                    Some(true)
                };
                let mut trigger = row(3);
                for (slot, (v, _)) in [a, b, c].into_iter().enumerate() {
                    trigger.set(slot as u32, v.to_bits());
                }
                let got = eval_with(build, &trigger, None, &mut Symbols::default());
                assert_eq!(got, expected, "{:?} {:?} {:?}", a.0, b.0, c.0);
                // Slot 2 absent: null unless an earlier conjunct is false.
                let mut partial = row(3);
                partial.set(0, a.0.to_bits());
                partial.set(1, b.0.to_bits());
                let expected = if parts[..2].contains(&Some(false)) {
                    Some(false)
                } else {
                    None
                };
                let got = eval_with(build, &partial, None, &mut Symbols::default());
                assert_eq!(got, expected, "{:?} {:?} absent", a.0, b.0);
            }
        }
    }
}

//! Random typed expression graphs over a random row layout, random rows with nulls, and a
//! small reference evaluator of the semantics the crate documents.
//!
//! Graphs are built from a list of choices (proptest shrinks the list, so a failure shrinks
//! to a small graph); an exhausted list chooses leaves.

use super::Symbols;
use cbp_ir::expr::{ArithOp, CmpOp, GraphBuilder, Lit, Node, NodeId};
use cbp_ir::{EnumId, MessageId, Program, Row, RowRef, Scalar};
use std::collections::HashMap;

/// The types the generator builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum T {
    Bool,
    Int,
    Float,
    Dur,
    Ts,
    Dist,
    Str,
    Enum,
}

pub const TYPES: [T; 8] = [
    T::Bool,
    T::Int,
    T::Float,
    T::Dur,
    T::Ts,
    T::Dist,
    T::Str,
    T::Enum,
];

pub fn scalar(t: T) -> Scalar {
    match t {
        T::Bool => Scalar::Bool,
        T::Int => Scalar::Int,
        T::Float => Scalar::Float,
        T::Dur => Scalar::Duration,
        T::Ts => Scalar::Timestamp,
        T::Dist => Scalar::Distance,
        T::Str => Scalar::Str,
        T::Enum => Scalar::Enum(EnumId(0)),
    }
}

pub const WORDS: [&str; 4] = ["speeding", "red_light", "", "ka.bengaluru"];

const INTS: [i64; 11] = [0, 1, -1, 2, 3, -3, 5, 7, 1000, i64::MAX, i64::MIN];
const FLOATS: [f64; 15] = [
    0.0,
    -0.0,
    0.5,
    0.85,
    1.0,
    1.5,
    -2.5,
    2.5,
    3.0,
    1e308,
    -1e-300,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    -f64::NAN,
];
const DURS: [i64; 12] = [
    0,
    1,
    2,
    3,
    -3,
    5,
    -5,
    1000,
    3_600_000,
    -500,
    i64::MAX,
    i64::MIN,
];
const TSS: [i64; 6] = [
    0,
    -1,
    1_700_000_000_000,
    1_700_000_001_000,
    i64::MAX,
    i64::MIN,
];
const DISTS: [f64; 7] = [0.0, 100.5, -3.0, 2.5, 1e308, f64::INFINITY, 1.0];

/// A cursor over proptest's choices.
pub struct Choices<'a> {
    choices: &'a [u32],
    next: usize,
}

impl<'a> Choices<'a> {
    pub fn new(choices: &'a [u32]) -> Self {
        Choices { choices, next: 0 }
    }

    /// A choice below `n` (0 once the list is used up).
    pub fn pick(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        c as usize % n.max(1)
    }

    pub fn raw(&mut self) -> u32 {
        let c = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        c
    }
}

/// The slot layout: slot `i` holds a value of type `layout[i]`.
pub fn layout(choices: &mut Choices<'_>) -> Vec<T> {
    let n = 1 + choices.pick(10);
    (0..n).map(|_| TYPES[choices.pick(TYPES.len())]).collect()
}

/// A row over `layout`: each slot present or not, with an interesting or random value.
pub fn row(layout: &[T], choices: &mut Choices<'_>, symbols: &mut Symbols) -> Row {
    // Some rows are longer (with padding slots in a second presence word) or shorter than
    // the layout; the JIT pads short rows.
    let len = match choices.pick(8) {
        0 => layout.len() / 2,
        1 => layout.len() + 64,
        _ => layout.len(),
    };
    let mut row = Row::new(MessageId(0), len as u32, 0);
    for (slot, t) in layout.iter().enumerate().take(len) {
        if choices.pick(6) == 0 {
            continue; // absent
        }
        let raw = choices.raw();
        let k = choices.pick(3);
        let bits = match t {
            T::Bool => [0, 1, 2][k],
            T::Int if k == 0 => (raw as i32) as i64 as u64,
            T::Int => INTS[raw as usize % INTS.len()] as u64,
            T::Float if k == 0 => ((raw as f32 / 7.0) as f64).to_bits(),
            T::Float => FLOATS[raw as usize % FLOATS.len()].to_bits(),
            T::Dur => DURS[raw as usize % DURS.len()] as u64,
            T::Ts => TSS[raw as usize % TSS.len()] as u64,
            T::Dist => DISTS[raw as usize % DISTS.len()].to_bits(),
            T::Str => symbols.intern(WORDS[raw as usize % WORDS.len()]),
            // now and then an index with high bits set: only the low 32 bits count
            T::Enum if k == 0 => (1u64 << 40) | u64::from(raw % 4),
            T::Enum => u64::from(raw % 4),
        };
        row.set(slot as u32, bits);
    }
    row
}

/// Builds a random boolean graph over `layout`.
pub struct GraphGen<'a, 'c> {
    pub g: GraphBuilder,
    layout: &'a [T],
    choices: &'a mut Choices<'c>,
    made: HashMap<T, Vec<NodeId>>,
}

impl<'a, 'c> GraphGen<'a, 'c> {
    pub fn new(layout: &'a [T], choices: &'a mut Choices<'c>) -> Self {
        GraphGen {
            g: GraphBuilder::default(),
            layout,
            choices,
            made: HashMap::new(),
        }
    }

    fn add(&mut self, t: T, node: Node) -> NodeId {
        let id = self.g.add(node);
        self.made.entry(t).or_default().push(id);
        id
    }

    fn lit(&mut self, t: T) -> NodeId {
        let k = self.choices.raw() as usize;
        let lit = match t {
            T::Bool => Lit::Bool(k.is_multiple_of(2)),
            T::Int => Lit::Int(INTS[k % INTS.len()]),
            T::Float => Lit::Float(FLOATS[k % FLOATS.len()].to_bits()),
            T::Dur => Lit::Duration(DURS[k % DURS.len()]),
            T::Ts => Lit::Timestamp(TSS[k % TSS.len()]),
            T::Dist => Lit::Distance(DISTS[k % DISTS.len()].to_bits()),
            T::Str if k.is_multiple_of(5) => Lit::Zone(WORDS[k % WORDS.len()].into()),
            // a word no row holds, too
            T::Str => Lit::Str(if k.is_multiple_of(7) {
                "nowhere".into()
            } else {
                WORDS[k % WORDS.len()].into()
            }),
            T::Enum => Lit::Enum(EnumId(0), (k % 4) as u32),
        };
        self.add(t, Node::Lit(lit))
    }

    fn leaf(&mut self, t: T) -> NodeId {
        match self.choices.pick(12) {
            0 => self.add(t, Node::Lit(Lit::Null)),
            1..=3 => self.lit(t),
            4 | 5 => match self.made.get(&t).map(Vec::len).unwrap_or(0) {
                0 => self.lit(t),
                n => {
                    let i = self.choices.pick(n);
                    self.made[&t][i]
                }
            },
            _ => {
                let slots: Vec<u32> = self
                    .layout
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s == t)
                    .map(|(i, _)| i as u32)
                    .collect();
                if slots.is_empty() {
                    return self.lit(t);
                }
                let slot = slots[self.choices.pick(slots.len())];
                let row = if self.choices.pick(3) == 0 {
                    RowRef::Candidate
                } else {
                    RowRef::Trigger
                };
                self.add(
                    t,
                    Node::Load {
                        row,
                        slot,
                        ty: scalar(t),
                    },
                )
            }
        }
    }

    fn arith(&mut self, t: T, op: ArithOp, (lt, rt): (T, T), depth: u32) -> NodeId {
        let lhs = self.expr(lt, depth - 1);
        let rhs = self.expr(rt, depth - 1);
        self.add(
            t,
            Node::Arith {
                op,
                ty: scalar(lt),
                rhs_ty: scalar(rt),
                lhs,
                rhs,
            },
        )
    }

    /// A boolean root: often a comparison of two numeric expressions, where wrong values (not
    /// just wrong nulls) show.
    pub fn root(&mut self, depth: u32) -> NodeId {
        if self.choices.pick(2) == 0 {
            return self.expr(T::Bool, depth);
        }
        let ct = [T::Int, T::Float, T::Dur, T::Ts, T::Dist][self.choices.pick(5)];
        let op = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][self.choices.pick(6)];
        let lhs = self.expr(ct, depth);
        let rhs = self.expr(ct, depth.saturating_sub(2));
        self.add(
            T::Bool,
            Node::Cmp {
                op,
                ty: scalar(ct),
                lhs,
                rhs,
            },
        )
    }

    /// An expression of type `t`, at most `depth` deep.
    pub fn expr(&mut self, t: T, depth: u32) -> NodeId {
        if depth == 0 || self.choices.pick(6) == 0 {
            return self.leaf(t);
        }
        use ArithOp::*;
        let num = |c: &mut Choices<'_>| if c.pick(2) == 0 { T::Int } else { T::Float };
        // shared by every type: `??` and `if`
        match self.choices.pick(10) {
            0 => {
                let value = self.expr(t, depth - 1);
                let default = self.expr(t, depth - 1);
                return self.add(t, Node::Coalesce { value, default });
            }
            1 => {
                let cond = self.expr(T::Bool, depth - 1);
                let then = self.expr(t, depth - 1);
                let otherwise = self.expr(t, depth - 1);
                return self.add(
                    t,
                    Node::If {
                        cond,
                        then,
                        otherwise,
                    },
                );
            }
            _ => {}
        }
        match t {
            T::Bool => match self.choices.pick(9) {
                8 => {
                    let ct = TYPES[self.choices.pick(TYPES.len())];
                    let item = self.expr(ct, depth - 1);
                    let n = self.choices.pick(4);
                    let items = (0..n).map(|_| self.expr(ct, depth - 1)).collect();
                    let elem = cbp_ir::Ty::Scalar(scalar(ct));
                    let list = self.g.add(Node::List {
                        items,
                        ty: cbp_ir::Ty::List(Box::new(elem.clone())),
                    });
                    self.add(t, Node::In { item, list, elem })
                }
                0 => {
                    let v = self.expr(T::Bool, depth - 1);
                    self.add(t, Node::Not(v))
                }
                1 | 2 => {
                    let a = self.expr(T::Bool, depth - 1);
                    let b = self.expr(T::Bool, depth - 1);
                    let node = if self.choices.pick(2) == 0 {
                        Node::And(a, b)
                    } else {
                        Node::Or(a, b)
                    };
                    self.add(t, node)
                }
                3 => {
                    let slot = self.choices.pick(self.layout.len() + 2) as u32;
                    let row = if self.choices.pick(3) == 0 {
                        RowRef::Candidate
                    } else {
                        RowRef::Trigger
                    };
                    self.add(t, Node::Present { row, slot })
                }
                _ => {
                    let ct = TYPES[self.choices.pick(TYPES.len())];
                    let ops = [
                        CmpOp::Eq,
                        CmpOp::Ne,
                        CmpOp::Lt,
                        CmpOp::Le,
                        CmpOp::Gt,
                        CmpOp::Ge,
                    ];
                    let op = if ct == T::Str {
                        ops[self.choices.pick(2)]
                    } else {
                        ops[self.choices.pick(6)]
                    };
                    let lhs = self.expr(ct, depth - 1);
                    let rhs = self.expr(ct, depth - 1);
                    self.add(
                        t,
                        Node::Cmp {
                            op,
                            ty: scalar(ct),
                            lhs,
                            rhs,
                        },
                    )
                }
            },
            T::Int => match self.choices.pick(6) {
                0 => {
                    let v = self.expr(T::Int, depth - 1);
                    self.add(
                        t,
                        Node::Neg {
                            ty: Scalar::Int,
                            value: v,
                        },
                    )
                }
                k => self.arith(t, [Add, Sub, Mul, Div, Rem][k - 1], (T::Int, T::Int), depth),
            },
            T::Float => match self.choices.pick(8) {
                0 => {
                    let v = self.expr(T::Float, depth - 1);
                    self.add(
                        t,
                        Node::Neg {
                            ty: Scalar::Float,
                            value: v,
                        },
                    )
                }
                1 => {
                    let v = self.expr(T::Int, depth - 1);
                    self.add(t, Node::IntToFloat(v))
                }
                2 => self.arith(t, Div, (T::Dur, T::Dur), depth),
                3 => self.arith(t, Div, (T::Dist, T::Dist), depth),
                k => self.arith(t, [Add, Sub, Mul, Div][k - 4], (T::Float, T::Float), depth),
            },
            T::Dur => match self.choices.pick(8) {
                0 => {
                    let v = self.expr(T::Dur, depth - 1);
                    self.add(
                        t,
                        Node::Neg {
                            ty: Scalar::Duration,
                            value: v,
                        },
                    )
                }
                1 => self.arith(t, Sub, (T::Ts, T::Ts), depth),
                2 | 3 => {
                    let n = num(self.choices);
                    let op = [Mul, Div][self.choices.pick(2)];
                    self.arith(t, op, (T::Dur, n), depth)
                }
                4 => {
                    let n = num(self.choices);
                    self.arith(t, Mul, (n, T::Dur), depth)
                }
                k => self.arith(t, [Add, Sub, Rem][k - 5], (T::Dur, T::Dur), depth),
            },
            T::Ts => match self.choices.pick(3) {
                0 => self.arith(t, Add, (T::Dur, T::Ts), depth),
                k => self.arith(t, [Add, Sub][k - 1], (T::Ts, T::Dur), depth),
            },
            T::Dist => match self.choices.pick(6) {
                0 => {
                    let v = self.expr(T::Dist, depth - 1);
                    self.add(
                        t,
                        Node::Neg {
                            ty: Scalar::Distance,
                            value: v,
                        },
                    )
                }
                1 => {
                    let n = num(self.choices);
                    self.arith(t, Mul, (n, T::Dist), depth)
                }
                2 | 3 => {
                    let n = num(self.choices);
                    let op = [Mul, Div][self.choices.pick(2)];
                    self.arith(t, op, (T::Dist, n), depth)
                }
                k => self.arith(t, [Add, Sub][k - 4], (T::Dist, T::Dist), depth),
            },
            T::Str | T::Enum => self.leaf(t),
        }
    }
}

/// A value as the reference evaluator holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum V {
    I(i64),
    F(f64),
    B(bool),
}

/// The reference semantics, written from the crate docs, node by node.
pub struct Reference<'a> {
    pub program: &'a Program,
    pub symbols: &'a mut Symbols,
}

fn finite(x: f64) -> Option<V> {
    x.is_finite().then_some(V::F(x))
}

fn scaled_ms(ms: f64) -> Option<V> {
    (ms.is_finite() && ms.abs() < 9.0e18).then(|| V::I(ms.round() as i64))
}

impl Reference<'_> {
    pub fn eval(&mut self, id: NodeId, trigger: &Row, candidate: Option<&Row>) -> Option<V> {
        let node = self.program.node(id).expect("node").clone();
        let mut ev = |n: NodeId| self.eval(n, trigger, candidate);
        match node {
            Node::Lit(lit) => match lit {
                Lit::Null => None,
                Lit::Int(i) | Lit::Duration(i) | Lit::Timestamp(i) => Some(V::I(i)),
                Lit::Float(b) | Lit::Distance(b) => Some(V::F(f64::from_bits(b))),
                Lit::Bool(b) => Some(V::B(b)),
                Lit::Str(s) | Lit::Zone(s) => Some(V::I(self.symbols.intern(&s) as i64)),
                Lit::Enum(_, v) => Some(V::I(i64::from(v))),
            },
            Node::Load { row, slot, ty } => {
                let r = match row {
                    RowRef::Trigger => Some(trigger),
                    RowRef::Candidate => candidate,
                }?;
                if !r.is_present(slot) {
                    return None;
                }
                let bits = r.get(slot);
                Some(match ty {
                    Scalar::Bool => V::B(bits != 0),
                    Scalar::Float | Scalar::Distance => V::F(f64::from_bits(bits)),
                    Scalar::Enum(_) => V::I(i64::from(bits as u32)),
                    _ => V::I(bits as i64),
                })
            }
            Node::Present { row, slot } => Some(V::B(match row {
                RowRef::Trigger => trigger.is_present(slot),
                RowRef::Candidate => candidate.is_some_and(|c| c.is_present(slot)),
            })),
            Node::Not(v) => match ev(v)? {
                V::B(b) => Some(V::B(!b)),
                _ => None,
            },
            Node::Neg { value, .. } => match ev(value)? {
                V::I(i) => i.checked_neg().map(V::I),
                V::F(f) => Some(V::F(-f)),
                V::B(_) => None,
            },
            Node::IntToFloat(v) => match ev(v)? {
                V::I(i) => Some(V::F(i as f64)),
                _ => None,
            },
            Node::And(a, b) => match (ev(a), ev(b)) {
                (Some(V::B(false)), _) | (_, Some(V::B(false))) => Some(V::B(false)),
                (Some(V::B(true)), Some(V::B(true))) => Some(V::B(true)),
                _ => None,
            },
            Node::Or(a, b) => match (ev(a), ev(b)) {
                (Some(V::B(true)), _) | (_, Some(V::B(true))) => Some(V::B(true)),
                (Some(V::B(false)), Some(V::B(false))) => Some(V::B(false)),
                _ => None,
            },
            Node::Coalesce { value, default } => ev(value).or_else(|| ev(default)),
            Node::If {
                cond,
                then,
                otherwise,
            } => match ev(cond) {
                Some(V::B(true)) => ev(then),
                _ => ev(otherwise),
            },
            Node::Cmp { op, ty, lhs, rhs } => {
                let (a, b) = (ev(lhs)?, ev(rhs)?);
                let ordering = match (a, b) {
                    (V::I(x), V::I(y)) => Some(x.cmp(&y)),
                    (V::B(x), V::B(y)) => Some(x.cmp(&y)),
                    (V::F(x), V::F(y)) => x.partial_cmp(&y),
                    _ => panic!("ill-typed comparison"),
                };
                let equal = match (a, b) {
                    (V::F(x), V::F(y)) => x == y,
                    _ => a == b,
                };
                let _ = ty;
                use std::cmp::Ordering::*;
                match op {
                    CmpOp::Eq => Some(V::B(equal)),
                    CmpOp::Ne => Some(V::B(!equal)),
                    CmpOp::Lt => ordering.map(|o| V::B(o == Less)),
                    CmpOp::Le => ordering.map(|o| V::B(o != Greater)),
                    CmpOp::Gt => ordering.map(|o| V::B(o == Greater)),
                    CmpOp::Ge => ordering.map(|o| V::B(o != Less)),
                }
            }
            Node::Arith {
                op,
                ty,
                rhs_ty,
                lhs,
                rhs,
            } => {
                let (a, b) = (ev(lhs)?, ev(rhs)?);
                let f = |v: V| match v {
                    V::I(i) => i as f64,
                    V::F(x) => x,
                    V::B(_) => f64::NAN,
                };
                use ArithOp::*;
                use Scalar::*;
                match (ty, rhs_ty) {
                    (Int, Int)
                    | (Duration, Duration)
                    | (Timestamp, Duration)
                    | (Duration, Timestamp)
                    | (Timestamp, Timestamp)
                        if !(ty == Duration && rhs_ty == Duration && op == Div) =>
                    {
                        let (V::I(x), V::I(y)) = (a, b) else {
                            panic!("ill-typed")
                        };
                        match op {
                            Add => x.checked_add(y),
                            Sub => x.checked_sub(y),
                            Mul => x.checked_mul(y),
                            Div => x.checked_div(y),
                            Rem => x.checked_rem(y),
                        }
                        .map(V::I)
                    }
                    (Duration, Duration) => finite(f(a) / f(b)),
                    (Float, Float) => finite(match op {
                        Add => f(a) + f(b),
                        Sub => f(a) - f(b),
                        Mul => f(a) * f(b),
                        Div => f(a) / f(b),
                        Rem => panic!("not generated"),
                    }),
                    (Duration, _) | (_, Duration) => {
                        scaled_ms(if op == Mul { f(a) * f(b) } else { f(a) / f(b) })
                    }
                    (Distance, Distance) => match op {
                        Add => Some(V::F(f(a) + f(b))),
                        Sub => Some(V::F(f(a) - f(b))),
                        _ => finite(f(a) / f(b)),
                    },
                    (Distance, _) | (_, Distance) => match op {
                        Mul => Some(V::F(f(a) * f(b))),
                        _ => finite(f(a) / f(b)),
                    },
                    _ => panic!("not generated: {op:?} {ty:?} {rhs_ty:?}"),
                }
            }
            Node::In { item, list, .. } => {
                let x = ev(item)?;
                let Some(Node::List { items, .. }) = self.program.node(list).cloned() else {
                    panic!("not generated")
                };
                let found = items
                    .iter()
                    .any(|e| match (self.eval(*e, trigger, candidate), x) {
                        (Some(V::F(a)), V::F(b)) => a == b,
                        (Some(a), b) => a == b,
                        (None, _) => false,
                    });
                Some(V::B(found))
            }
            other => panic!("not generated: {other:?}"),
        }
    }

    /// The condition at `root` as the engine sees it.
    pub fn condition(
        &mut self,
        root: NodeId,
        trigger: &Row,
        candidate: Option<&Row>,
    ) -> Option<bool> {
        match self.eval(root, trigger, candidate) {
            Some(V::B(b)) => Some(b),
            None => None,
            Some(other) => panic!("not a boolean: {other:?}"),
        }
    }
}

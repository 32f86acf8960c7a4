//! Constant folding and dead-node removal: the graph is rebuilt from the nodes the program
//! uses, in program order, each folded as it is added. Hash-consing in the new graph keeps
//! subexpressions shared across rules (and shares again what folding made equal).

use cbp_ir::expr::{ArithOp, Builtin, CmpOp, GraphBuilder, Lit, Node};
use cbp_ir::program::{ActionTemplate, CommandTarget, Step};
use cbp_ir::{NodeId, Program, Scalar};
use std::cmp::Ordering;

struct Folder<'a> {
    old: &'a [Node],
    new: GraphBuilder,
    memo: Vec<Option<NodeId>>,
}

/// Folds `program.nodes` and renumbers every reference to them.
pub fn fold_program(program: &mut Program) {
    // The first pass folds; operands of folded nodes were added before their fold was
    // known, so a second pass (which finds nothing left to fold) drops them.
    for _ in 0..2 {
        let old = std::mem::take(&mut program.nodes);
        let mut f = Folder {
            old: &old,
            new: GraphBuilder::default(),
            memo: vec![None; old.len()],
        };
        remap(program, &mut |id| f.get(id));
        program.nodes = f.new.finish();
    }
}

/// Applies `map` to every node reference of the program, in program order.
pub fn remap(program: &mut Program, map: &mut dyn FnMut(NodeId) -> NodeId) {
    for rule in &mut program.rules {
        for step in &mut rule.steps {
            match step {
                Step::When { cond, shows, .. } => {
                    *cond = map(*cond);
                    for (_, n) in shows {
                        *n = map(*n);
                    }
                }
                Step::Let { value, .. } => *value = map(*value),
                Step::Correlate(c) => {
                    if let Some(f) = &mut c.filter {
                        *f = map(*f);
                    }
                }
            }
        }
        if let Some(p) = &mut rule.priority {
            *p = map(*p);
        }
        let blocks = [&mut rule.then, &mut rule.on_approve, &mut rule.on_reject];
        for block in blocks {
            remap_actions(block, map);
        }
        if let Some((_, block)) = &mut rule.no_response {
            remap_actions(block, map);
        }
    }
    for report in &mut program.reports {
        for (_, n) in &mut report.fields {
            *n = map(*n);
        }
    }
}

fn remap_actions(actions: &mut [ActionTemplate], map: &mut dyn FnMut(NodeId) -> NodeId) {
    for a in actions {
        let fields = match a {
            ActionTemplate::Invoke { params, .. } => params,
            ActionTemplate::Escalate { fields, .. } => fields,
            ActionTemplate::Command { to, fields, .. } => {
                if let CommandTarget::Zones(z) = to {
                    *z = map(*z);
                }
                fields
            }
        };
        for (_, n) in fields {
            *n = map(*n);
        }
    }
}

impl Folder<'_> {
    fn get(&mut self, old: NodeId) -> NodeId {
        if let Some(Some(done)) = self.memo.get(old.0 as usize) {
            return *done;
        }
        let node = match self.old.get(old.0 as usize) {
            Some(n) => n.clone(),
            None => Node::Lit(Lit::Null),
        };
        let new = self.fold(node);
        if let Some(slot) = self.memo.get_mut(old.0 as usize) {
            *slot = Some(new);
        }
        new
    }

    fn lit_of(&self, id: NodeId) -> Option<&Lit> {
        match self.new.node(id) {
            Some(Node::Lit(l)) => Some(l),
            _ => None,
        }
    }

    fn bool_of(&self, id: NodeId) -> Option<bool> {
        match self.lit_of(id) {
            Some(Lit::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn lit(&mut self, l: Lit) -> NodeId {
        self.new.add(Node::Lit(l))
    }

    fn fold(&mut self, node: Node) -> NodeId {
        match node {
            // Short-circuits: the operand that decides is folded first, the other only when
            // it matters.
            Node::And(a, b) => {
                let a = self.get(a);
                match self.bool_of(a) {
                    Some(false) => return a,
                    Some(true) => return self.get(b),
                    None => {}
                }
                let b = self.get(b);
                match self.bool_of(b) {
                    Some(true) => a,
                    Some(false) => b,
                    None => self.new.add(Node::And(a, b)),
                }
            }
            Node::Or(a, b) => {
                let a = self.get(a);
                match self.bool_of(a) {
                    Some(true) => return a,
                    Some(false) => return self.get(b),
                    None => {}
                }
                let b = self.get(b);
                match self.bool_of(b) {
                    Some(false) => a,
                    Some(true) => b,
                    None => self.new.add(Node::Or(a, b)),
                }
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.get(cond);
                match self.bool_of(cond) {
                    Some(true) => self.get(then),
                    Some(false) => self.get(otherwise),
                    None => {
                        let then = self.get(then);
                        let otherwise = self.get(otherwise);
                        if then == otherwise {
                            then
                        } else {
                            self.new.add(Node::If {
                                cond,
                                then,
                                otherwise,
                            })
                        }
                    }
                }
            }
            Node::Coalesce { value, default } => {
                let value = self.get(value);
                match self.lit_of(value) {
                    Some(Lit::Null) => self.get(default),
                    Some(_) => value,
                    None => {
                        let default = self.get(default);
                        self.new.add(Node::Coalesce { value, default })
                    }
                }
            }
            other => {
                let mapped = self.map_operands(other);
                match self.simplify(&mapped) {
                    Some(l) => self.lit(l),
                    None => self.new.add(mapped),
                }
            }
        }
    }

    fn map_operands(&mut self, node: Node) -> Node {
        match node {
            Node::Not(x) => Node::Not(self.get(x)),
            Node::IntToFloat(x) => Node::IntToFloat(self.get(x)),
            Node::Neg { ty, value } => Node::Neg {
                ty,
                value: self.get(value),
            },
            Node::Arith {
                op,
                ty,
                rhs_ty,
                lhs,
                rhs,
            } => Node::Arith {
                op,
                ty,
                rhs_ty,
                lhs: self.get(lhs),
                rhs: self.get(rhs),
            },
            Node::Cmp { op, ty, lhs, rhs } => Node::Cmp {
                op,
                ty,
                lhs: self.get(lhs),
                rhs: self.get(rhs),
            },
            Node::And(a, b) => Node::And(self.get(a), self.get(b)),
            Node::Or(a, b) => Node::Or(self.get(a), self.get(b)),
            Node::Coalesce { value, default } => Node::Coalesce {
                value: self.get(value),
                default: self.get(default),
            },
            Node::If {
                cond,
                then,
                otherwise,
            } => Node::If {
                cond: self.get(cond),
                then: self.get(then),
                otherwise: self.get(otherwise),
            },
            Node::In { item, list, elem } => Node::In {
                item: self.get(item),
                list: self.get(list),
                elem,
            },
            Node::List { items, ty } => Node::List {
                items: items.into_iter().map(|i| self.get(i)).collect(),
                ty,
            },
            Node::Record { record, fields } => Node::Record {
                record,
                fields: fields.into_iter().map(|i| self.get(i)).collect(),
            },
            Node::GetField { base, field, ty } => Node::GetField {
                base: self.get(base),
                field,
                ty,
            },
            Node::MapField { list, field, ty } => Node::MapField {
                list: self.get(list),
                field,
                ty,
            },
            Node::Call { builtin, args, ty } => Node::Call {
                builtin,
                args: args.into_iter().map(|a| self.get(a)).collect(),
                ty,
            },
            leaf => leaf,
        }
    }

    /// The literal a node with folded operands evaluates to, when it is constant.
    fn simplify(&self, node: &Node) -> Option<Lit> {
        match node {
            Node::Not(x) => match self.lit_of(*x)? {
                Lit::Bool(b) => Some(Lit::Bool(!b)),
                _ => None,
            },
            Node::IntToFloat(x) => match self.lit_of(*x)? {
                Lit::Int(v) => Some(Lit::Float((*v as f64).to_bits())),
                _ => None,
            },
            Node::Neg { value, .. } => match self.lit_of(*value)? {
                Lit::Int(v) => v.checked_neg().map(Lit::Int),
                Lit::Duration(v) => v.checked_neg().map(Lit::Duration),
                Lit::Float(b) => Some(Lit::Float((-f64::from_bits(*b)).to_bits())),
                Lit::Distance(b) => Some(Lit::Distance((-f64::from_bits(*b)).to_bits())),
                _ => None,
            },
            Node::Arith { op, lhs, rhs, .. } => arith(*op, self.lit_of(*lhs)?, self.lit_of(*rhs)?),
            Node::Cmp { op, lhs, rhs, .. } => {
                let ord = compare(self.lit_of(*lhs)?, self.lit_of(*rhs)?)?;
                Some(Lit::Bool(match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::Ne => ord != Ordering::Equal,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Ge => ord != Ordering::Less,
                }))
            }
            Node::Call { builtin, args, .. } => {
                let arg = self.lit_of(*args.first()?)?;
                match (builtin, arg) {
                    (Builtin::ParseTimestamp, Lit::Str(s)) => {
                        cbp_ir::time::parse_rfc3339(s).map(Lit::Timestamp)
                    }
                    (Builtin::Minutes, Lit::Duration(ms)) => {
                        Some(Lit::Float((*ms as f64 / 60_000.0).to_bits()))
                    }
                    (Builtin::Seconds, Lit::Duration(ms)) => {
                        Some(Lit::Float((*ms as f64 / 1000.0).to_bits()))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn f(bits: u64) -> f64 {
    f64::from_bits(bits)
}

fn float_lit(v: f64, make: fn(u64) -> Lit) -> Option<Lit> {
    v.is_finite().then(|| make(v.to_bits()))
}

/// Arithmetic on two literals, when its result does not depend on runtime choices
/// (overflow, division by zero and rounding of scaled durations are left to the runtime).
fn arith(op: ArithOp, a: &Lit, b: &Lit) -> Option<Lit> {
    use ArithOp::*;
    use Lit as L;
    match (a, b) {
        (L::Int(x), L::Int(y)) => Some(L::Int(match op {
            Add => x.checked_add(*y)?,
            Sub => x.checked_sub(*y)?,
            Mul => x.checked_mul(*y)?,
            Div => x.checked_div(*y)?,
            Rem => x.checked_rem(*y)?,
        })),
        (L::Float(x), L::Float(y)) => float_lit(
            match op {
                Add => f(*x) + f(*y),
                Sub => f(*x) - f(*y),
                Mul => f(*x) * f(*y),
                Div if f(*y) != 0.0 => f(*x) / f(*y),
                _ => return None,
            },
            L::Float,
        ),
        (L::Duration(x), L::Duration(y)) => match op {
            Add => x.checked_add(*y).map(L::Duration),
            Sub => x.checked_sub(*y).map(L::Duration),
            Div if *y != 0 => float_lit(*x as f64 / *y as f64, L::Float),
            _ => None,
        },
        (L::Duration(x), L::Int(y)) if op == Mul => x.checked_mul(*y).map(L::Duration),
        (L::Distance(x), L::Distance(y)) => match op {
            Add => float_lit(f(*x) + f(*y), L::Distance),
            Sub => float_lit(f(*x) - f(*y), L::Distance),
            Div if f(*y) != 0.0 => float_lit(f(*x) / f(*y), L::Float),
            _ => None,
        },
        (L::Distance(x), L::Int(y)) => match op {
            Mul => float_lit(f(*x) * *y as f64, L::Distance),
            Div if *y != 0 => float_lit(f(*x) / *y as f64, L::Distance),
            _ => None,
        },
        (L::Distance(x), L::Float(y)) => match op {
            Mul => float_lit(f(*x) * f(*y), L::Distance),
            Div if f(*y) != 0.0 => float_lit(f(*x) / f(*y), L::Distance),
            _ => None,
        },
        (L::Timestamp(t), L::Duration(d)) => match op {
            Add => t.checked_add(*d).map(L::Timestamp),
            Sub => t.checked_sub(*d).map(L::Timestamp),
            _ => None,
        },
        (L::Timestamp(x), L::Timestamp(y)) if op == Sub => x.checked_sub(*y).map(L::Duration),
        _ => None,
    }
}

/// The order of two literals of one type; `None` for null and NaN.
fn compare(a: &Lit, b: &Lit) -> Option<Ordering> {
    use Lit as L;
    match (a, b) {
        (L::Int(x), L::Int(y))
        | (L::Duration(x), L::Duration(y))
        | (L::Timestamp(x), L::Timestamp(y)) => Some(x.cmp(y)),
        (L::Float(x), L::Float(y)) | (L::Distance(x), L::Distance(y)) => f(*x).partial_cmp(&f(*y)),
        (L::Bool(x), L::Bool(y)) => Some(x.cmp(y)),
        (L::Str(x) | L::Zone(x), L::Str(y) | L::Zone(y)) => Some(x.cmp(y)),
        (L::Enum(e, x), L::Enum(g, y)) if e == g => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether a scalar's literal is a dispatch key (see `dispatch`).
pub fn is_key_scalar(s: Scalar) -> bool {
    matches!(
        s,
        Scalar::Enum(_) | Scalar::Str | Scalar::Zone | Scalar::Int | Scalar::Bool
    )
}

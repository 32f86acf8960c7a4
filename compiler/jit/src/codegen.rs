//! Cranelift IR for one condition: the nodes under a root, in id order.
//!
//! Every compiled node is total (checked integer arithmetic yields null instead of trapping,
//! divisors are guarded) and pure, so evaluating both sides of `and`, `or`, `??` and `if`
//! gives exactly the result short-circuit evaluation would. Below the top-level `and`s the
//! code is therefore straight-line loads, ALU operations and `select`s — no branches to
//! mispredict — and each node under the root (hash-consed, so shared subexpressions are one
//! node) is one SSA value, computed once per path.
//!
//! A scalar node's value is its bits (`i64` or `f64`) and, unless it always has one, an `i8`
//! validity flag; a boolean node's value is a pair of `i8` flags, "certainly true" and
//! "certainly false" (null is neither), which makes Kleene's `and`/`or` one `band` and one
//! `bor`.
//!
//! Most rows have every field a condition reads, so the function first tests all the
//! presence bits the condition reads at once (one mask per presence word). When they are all
//! set it takes a fast path where no load can be null — loads carry no validity flag, `present`
//! is constant true. Otherwise it runs the general three-valued code. On both paths the
//! top-level conjuncts of the condition are tested in order, returning false at the first
//! one that is certainly false (what `&&` does; a later conjunct cannot change a false `and`,
//! and every node is pure), so a row missing a field only pays for the conjuncts up to the
//! first false one. Both paths compute the same result; the fast path only drops work whose
//! outcome is known.

use crate::JitError;
use crate::shape::{Analysis, ArithKind, Needs, Repr, Shape, arith_result, list_items, repr};
use cbp_ir::expr::{ArithOp, CmpOp, Lit, Node, NodeId};
use cbp_ir::value::{presence_word, slot_word};
use cbp_ir::{Program, RowRef, Scalar, Ty};
use cranelift_codegen::Context;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, Endianness, InstBuilder, MemFlagsData, Signature, UserFuncName, Value, types,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use std::collections::{BTreeMap, HashMap};

/// The value the generated function returns for a null (unknown) condition.
pub const NULL_RESULT: u8 = 2;

/// The signature of every condition: two row pointers in, a `u8` out.
fn signature<M: Module>(module: &M) -> Signature {
    let pointer = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    for _ in 0..2 {
        sig.params.push(AbiParam::new(pointer));
    }
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

/// Compiles the condition at `root` into `module` under `name`.
#[expect(
    clippy::too_many_arguments,
    reason = "the shared state of one module's compilation"
)]
pub fn define_condition<M: Module>(
    module: &mut M,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    program: &Program,
    analysis: &Analysis,
    root: NodeId,
    name: &str,
    linkage: Linkage,
    intern: &mut dyn FnMut(&str) -> u64,
) -> Result<(FuncId, Needs), JitError> {
    let needs = match build_condition(module, ctx, fctx, program, analysis, root, intern) {
        Ok(needs) => needs,
        Err(err) => {
            module.clear_context(ctx);
            return Err(err);
        }
    };
    let id = module
        .declare_function(name, linkage, &ctx.func.signature)
        .map_err(JitError::module)?;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    module.define_function(id, ctx).map_err(JitError::module)?;
    module.clear_context(ctx);
    Ok((id, needs))
}

/// Builds the Cranelift IR of the condition at `root` into `ctx.func` (not yet compiled).
pub fn build_condition<M: Module>(
    module: &M,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    program: &Program,
    analysis: &Analysis,
    root: NodeId,
    intern: &mut dyn FnMut(&str) -> u64,
) -> Result<Needs, JitError> {
    module.clear_context(ctx);
    ctx.func.signature = signature(module);
    let mut builder = FunctionBuilder::new(&mut ctx.func, fctx);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    // The signature has the two row pointers, so `params` always matches.
    let params = match *builder.block_params(block) {
        [trigger, candidate] => Some([trigger, candidate]),
        _ => None,
    };
    let zero = builder.ins().iconst(types::I64, 0);
    let mut translator = Translator {
        builder,
        program,
        analysis,
        intern,
        rows: params.unwrap_or([zero; 2]),
        values: HashMap::new(),
        words: HashMap::new(),
        needs: Needs::default(),
        assume_present: false,
        negations: HashMap::new(),
        orderings: HashMap::new(),
        little_endian: module.isa().endianness() == Endianness::Little,
    };
    let emitted = match params {
        Some(_) => translator.condition(root),
        None => Err(JitError::Internal("a condition has two parameters".into())),
    };
    // Every block is ended (the builder insists), even when the function is thrown away: an
    // error leaves the current block open (no fallible step comes between a block's
    // terminator and the switch to the next block), and blocks never switched to are empty.
    if emitted.is_err() {
        let unknown = translator
            .builder
            .ins()
            .iconst(types::I8, i64::from(NULL_RESULT));
        translator.builder.ins().return_(&[unknown]);
    }
    translator.builder.seal_all_blocks();
    let needs = translator.needs;
    translator.builder.finalize(module.target_config());
    emitted.map(|_| needs)
}

/// A node's compiled value.
#[derive(Clone, Copy)]
enum Val {
    /// The null literal (or a result statically known to be null).
    Null,
    /// A scalar: its bits and, unless it always has a value, an `i8` validity flag (1 when
    /// there is a value, 0 when null). Bits without a value are meaningless but defined.
    Scalar(Value, Option<Value>),
    /// A boolean in Kleene form: `t` is 1 when it is certainly true, `f` when certainly
    /// false, neither when null (never both). `and`, `or` and `not` are then one or two
    /// instructions, and a condition's result is read off directly.
    Logic { t: Value, f: Value },
}

struct Translator<'a, 'b> {
    builder: FunctionBuilder<'b>,
    program: &'a Program,
    analysis: &'a Analysis,
    intern: &'a mut dyn FnMut(&str) -> u64,
    /// The `words` pointers of the trigger and the candidate row.
    rows: [Value; 2],
    values: HashMap<NodeId, Val>,
    /// Presence words already loaded, by row and word index.
    words: HashMap<(usize, u32), Value>,
    needs: Needs,
    /// On the fast path: every slot the condition reads is present, so loads are never null.
    assume_present: bool,
    /// `not1(x)` → `x`: a boolean whose "false" flag is the negation of its "true" flag is
    /// never null, which lets the fast path branch on `x` and return it as the result.
    negations: HashMap<Value, Value>,
    /// A float ordering of operands that are never null, by its "false" flag: its "true"
    /// flag and its "unordered" flag (a NaN operand, which makes it null). The `u8` result
    /// is then `t + 2 * unordered`, one comparison instead of computing "false".
    orderings: HashMap<Value, (Value, Value)>,
    /// The target stores the low half of a word first (a `u32` enum index is then a 32-bit
    /// load at the word's own offset).
    little_endian: bool,
}

fn row_index(row: RowRef) -> usize {
    match row {
        RowRef::Trigger => 0,
        RowRef::Candidate => 1,
    }
}

/// The byte offset of word `index` of a row; `Analysis` refuses slots whose offset would
/// not fit an `i32`.
fn offset(index: usize) -> i32 {
    i32::try_from(index.saturating_mul(8)).unwrap_or(i32::MAX)
}

fn int_cc(op: CmpOp) -> IntCC {
    match op {
        CmpOp::Eq => IntCC::Equal,
        CmpOp::Ne => IntCC::NotEqual,
        CmpOp::Lt => IntCC::SignedLessThan,
        CmpOp::Le => IntCC::SignedLessThanOrEqual,
        CmpOp::Gt => IntCC::SignedGreaterThan,
        CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
    }
}

/// The ordering that holds exactly when `op` fails, for ordered operands (`<` and `>=`).
fn opposite_ordering(op: CmpOp) -> Option<CmpOp> {
    match op {
        CmpOp::Lt => Some(CmpOp::Ge),
        CmpOp::Le => Some(CmpOp::Gt),
        CmpOp::Gt => Some(CmpOp::Le),
        CmpOp::Ge => Some(CmpOp::Lt),
        CmpOp::Eq | CmpOp::Ne => None,
    }
}

/// IEEE comparisons as Rust's `f64` operators: `==` with NaN is false, `!=` true (orderings
/// with NaN are made null by the caller).
fn float_cc(op: CmpOp) -> FloatCC {
    match op {
        CmpOp::Eq => FloatCC::Equal,
        CmpOp::Ne => FloatCC::NotEqual,
        CmpOp::Lt => FloatCC::LessThan,
        CmpOp::Le => FloatCC::LessThanOrEqual,
        CmpOp::Gt => FloatCC::GreaterThan,
        CmpOp::Ge => FloatCC::GreaterThanOrEqual,
    }
}

impl Translator<'_, '_> {
    /// Emits the function's body: the fast path when every presence bit the condition reads
    /// is set, the general three-valued code otherwise (see the module docs). Each path
    /// returns the `u8` result: 0, 1, or [`NULL_RESULT`].
    fn condition(&mut self, root: NodeId) -> Result<(), JitError> {
        self.analysis
            .condition(root)
            .map_err(JitError::Unsupported)?;
        let masks = self.presence_masks(root)?;
        if masks.is_empty() {
            let result = self.general(root)?;
            self.builder.ins().return_(&[result]);
            return Ok(());
        }
        let fast = self.builder.create_block();
        let general = self.builder.create_block();
        // Laid out after the fast path, which then falls through from the entry.
        self.builder.set_cold_block(general);
        match self.missing(&masks) {
            Some(missing) => self.builder.ins().brif(missing, general, &[], fast, &[]),
            None => self.builder.ins().jump(fast, &[]),
        };
        self.builder.switch_to_block(fast);
        self.assume_present = true;
        self.values.clear();
        self.conjunct_chain(root)?;
        // The same chain in the three-valued code: a conjunct that is certainly false (its
        // fields present and the test failing) still returns false at once, so a row
        // missing a field the condition reads only pays for the conjuncts up to the first
        // false one.
        self.builder.switch_to_block(general);
        self.assume_present = false;
        self.values.clear();
        self.conjunct_chain(root)?;
        Ok(())
    }

    /// The bits of the masks that are clear in their presence words, or-ed over the words:
    /// zero when every field of the masks is present (`not`, then `test` against the mask, on
    /// x86-64). `None` for no mask.
    fn missing(&mut self, masks: &BTreeMap<(usize, u32), u64>) -> Option<Value> {
        let mut missing: Option<Value> = None;
        for (&(row, word_index), &mask) in masks {
            let word = self.word(row, word_index);
            let b = &mut self.builder;
            let absent = b.ins().bnot(word);
            let absent = b.ins().band_imm_u(absent, mask as i64);
            missing = Some(match missing {
                Some(before) => b.ins().bor(before, absent),
                None => absent,
            });
        }
        missing
    }

    /// Every node under `root` in one straight-line block; the `u8` result.
    fn general(&mut self, root: NodeId) -> Result<Value, JitError> {
        self.emit_under(root)?;
        let (t, f) = self.logic(root)?;
        Ok(self.result(t, f))
    }

    /// 1 when true, 0 when false, 2 when neither: 2 - 2f - t.
    fn result(&mut self, t: Value, f: Value) -> Value {
        if let Some(&(ordering_t, unordered)) = self.orderings.get(&f)
            && ordering_t == t
        {
            // t, f and "unordered" are exclusive and one of them holds: 2 - 2f - t is
            // t + 2 * unordered, without the opposite comparison behind `f`.
            let b = &mut self.builder;
            let twice = b.ins().ishl_imm_u(unordered, 1);
            return b.ins().bor(twice, t);
        }
        let b = &mut self.builder;
        let twice_f = b.ins().ishl_imm_u(f, 1);
        let sum = b.ins().iadd(twice_f, t);
        let unknown = b.ins().iconst(types::I8, i64::from(NULL_RESULT));
        b.ins().isub(unknown, sum)
    }

    /// The top-level conjuncts in order: a conjunct that is certainly false returns 0 at once
    /// (the `and` is false whatever the others are; every node is pure, so skipping them
    /// changes nothing else); after the last, 1 when all were true, else null. On the fast
    /// path (`assume_present`) only a NaN ordering or an overflow can make a conjunct null;
    /// otherwise a missing field can too. Blocks after the first are cold unless on the
    /// fast path.
    fn conjunct_chain(&mut self, root: NodeId) -> Result<(), JitError> {
        let cold = !self.assume_present;
        let mut parts = Vec::new();
        self.conjuncts(root, &mut parts);
        // The "true" flags of the conjuncts passed so far that could be null: a conjunct
        // that is never null and was not false is true, nothing to remember.
        let mut maybe_null_true: Option<Value> = None;
        let mut last = None;
        let count = parts.len();
        // One block returns false for every conjunct, laid out at the end: a row that passes
        // a conjunct falls through to the next.
        let stop = self.builder.create_block();
        self.builder.set_cold_block(stop);
        for (i, part) in parts.into_iter().enumerate() {
            self.emit_under(part)?;
            let (t, f) = self.logic(part)?;
            let never_null = self.negations.get(&f) == Some(&t);
            if i + 1 == count {
                last = Some((t, f, never_null));
                break;
            }
            let next = self.builder.create_block();
            if cold {
                self.builder.set_cold_block(next);
            }
            if never_null {
                self.builder.ins().brif(t, next, &[], stop, &[]);
            } else {
                maybe_null_true = Some(match maybe_null_true {
                    Some(before) => self.builder.ins().band(before, t),
                    None => t,
                });
                self.builder.ins().brif(f, stop, &[], next, &[]);
            }
            self.builder.switch_to_block(next);
        }
        let Some((t, f, never_null)) = last else {
            return Err(JitError::Internal("a condition without conjuncts".into()));
        };
        let result = match maybe_null_true {
            // No conjunct can be null: the result is whether the last is true.
            None if never_null => t,
            None => self.result(t, f),
            Some(before) => {
                let all_true = self.builder.ins().band(before, t);
                self.result(all_true, f)
            }
        };
        self.builder.ins().return_(&[result]);
        // Only reached from the branches above; without one it stays empty.
        if count > 1 {
            self.builder.switch_to_block(stop);
            let no = self.i8(0);
            self.builder.ins().return_(&[no]);
        }
        Ok(())
    }

    /// The operands of the `and`s at the top of `id`, left to right.
    fn conjuncts(&self, id: NodeId, out: &mut Vec<NodeId>) {
        match self.program.node(id) {
            Some(Node::And(a, b)) => {
                self.conjuncts(*a, out);
                self.conjuncts(*b, out);
            }
            _ => out.push(id),
        }
    }

    /// Emits the nodes under `id` not emitted yet, operands first.
    fn emit_under(&mut self, id: NodeId) -> Result<(), JitError> {
        for id in self.reachable(id)? {
            if self.values.contains_key(&id) {
                continue;
            }
            let node = self
                .program
                .node(id)
                .ok_or(JitError::Internal(format!("missing node n{}", id.0)))?;
            let value = self.node(id, node)?;
            self.values.insert(id, value);
        }
        Ok(())
    }

    /// The presence bits the condition reads, as a mask per (row, presence word).
    fn presence_masks(&self, root: NodeId) -> Result<BTreeMap<(usize, u32), u64>, JitError> {
        let mut masks: BTreeMap<(usize, u32), u64> = BTreeMap::new();
        for id in self.reachable(root)? {
            if let Some(Node::Load { row, slot, .. } | Node::Present { row, slot }) =
                self.program.node(id)
            {
                *masks.entry((row_index(*row), slot / 64)).or_default() |= 1u64 << (slot % 64);
            }
        }
        Ok(masks)
    }

    /// The nodes under `root` (itself included), ascending: operands before their users.
    fn reachable(&self, root: NodeId) -> Result<Vec<NodeId>, JitError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let node = self
                .program
                .node(id)
                .ok_or(JitError::Internal(format!("missing node n{}", id.0)))?;
            if let Node::In { item, list, .. } = node {
                // the list literal's items, not the list value (which is not compiled)
                stack.push(*item);
                let items =
                    list_items(id, *list, &self.program.nodes).map_err(JitError::Unsupported)?;
                stack.extend(items);
            } else {
                stack.extend(operands(node));
            }
        }
        Ok(seen.into_iter().collect())
    }

    fn get(&self, id: NodeId) -> Result<Val, JitError> {
        self.values
            .get(&id)
            .copied()
            .ok_or(JitError::Internal(format!(
                "node n{} used before it is computed",
                id.0
            )))
    }

    fn i8(&mut self, value: i64) -> Value {
        self.builder.ins().iconst(types::I8, value)
    }

    fn not1(&mut self, flag: Value) -> Value {
        let negated = self.builder.ins().bxor_imm_s(flag, 1);
        self.negations.insert(negated, flag);
        negated
    }

    /// A boolean node in Kleene form (the null literal is neither true nor false).
    fn logic(&mut self, id: NodeId) -> Result<(Value, Value), JitError> {
        Ok(match self.get(id)? {
            Val::Logic { t, f } => (t, f),
            Val::Null => {
                let no = self.i8(0);
                (no, no)
            }
            Val::Scalar(v, valid) => self.logic_of(v, valid),
        })
    }

    /// Kleene form of a boolean value `v` (0 or 1) and its validity flag.
    fn logic_of(&mut self, v: Value, valid: Option<Value>) -> (Value, Value) {
        match valid {
            None => (v, self.not1(v)),
            Some(valid) => {
                let b = &mut self.builder;
                let t = b.ins().band(v, valid);
                let f = b.ins().band_not(valid, v);
                (t, f)
            }
        }
    }

    /// The value of `id` as bits of representation `r` and a validity flag; the null literal
    /// becomes zero bits that are not valid, a boolean its `t` bit, valid when `t | f`.
    fn scalar(&mut self, id: NodeId, r: Repr) -> Result<(Value, Option<Value>), JitError> {
        Ok(match self.get(id)? {
            Val::Scalar(v, valid) => (v, valid),
            Val::Logic { t, f } => (t, Some(self.builder.ins().bor(t, f))),
            Val::Null => {
                let b = &mut self.builder;
                let zero = match r {
                    Repr::Int => b.ins().iconst(types::I64, 0),
                    Repr::Float => b.ins().f64const(0.0),
                    Repr::Bool => b.ins().iconst(types::I8, 0),
                };
                (zero, Some(self.i8(0)))
            }
        })
    }

    /// Valid when both are.
    fn both(&mut self, a: Option<Value>, b: Option<Value>) -> Option<Value> {
        match (a, b) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x),
            (Some(x), Some(y)) => Some(self.builder.ins().band(x, y)),
        }
    }

    /// Presence word `word_index` of row `index` (0 trigger, 1 candidate), loaded once (the
    /// first load is in the entry block, which every path goes through).
    fn word(&mut self, index: usize, word_index: u32) -> Value {
        let row = if index == 0 {
            RowRef::Trigger
        } else {
            RowRef::Candidate
        };
        self.needs.row(row).present(word_index.saturating_mul(64));
        match self.words.get(&(index, word_index)) {
            Some(word) => *word,
            None => {
                let row = self.rows[index];
                let at = offset(presence_word(word_index.saturating_mul(64)));
                let word = self.builder.ins().load(types::I64, readonly(), row, at);
                self.words.insert((index, word_index), word);
                word
            }
        }
    }

    /// Bit `slot` of a row's presence words, as an `i8` 0 or 1.
    fn present_bit(&mut self, row: RowRef, slot: u32) -> Value {
        self.needs.row(row).present(slot);
        let word = self.word(row_index(row), slot / 64);
        let b = &mut self.builder;
        let shifted = b.ins().ushr_imm_u(word, i64::from(slot % 64));
        let bit = b.ins().ireduce(types::I8, shifted);
        b.ins().band_imm_u(bit, 1)
    }

    fn node(&mut self, id: NodeId, node: &Node) -> Result<Val, JitError> {
        match node {
            Node::Lit(lit) => Ok(self.literal(lit)),
            Node::Load { row, slot, ty } => {
                self.needs.row(*row).load(*slot);
                let words = self.rows[row_index(*row)];
                let at = offset(slot_word(*slot));
                // On the fast path the slot is known to be present: no validity flag.
                let present = if self.assume_present {
                    None
                } else {
                    Some(self.present_bit(*row, *slot))
                };
                let b = &mut self.builder;
                let bits = match repr(*ty) {
                    // An enum slot holds a `u32` variant index (the interpreter reads
                    // `bits as u32`): a zero-extending 32-bit load of the word's low half
                    // (one `mov` on x86-64, where masking the 64-bit word took two).
                    Repr::Int if matches!(ty, Scalar::Enum(_)) => {
                        let low = if self.little_endian { at } else { at + 4 };
                        b.ins().uload32(readonly(), words, low)
                    }
                    Repr::Int => b.ins().load(types::I64, readonly(), words, at),
                    Repr::Float => b.ins().load(types::F64, readonly(), words, at),
                    Repr::Bool => {
                        let raw = b.ins().load(types::I64, readonly(), words, at);
                        let v = b.ins().icmp_imm_s(IntCC::NotEqual, raw, 0);
                        let (t, f) = self.logic_of(v, present);
                        return Ok(Val::Logic { t, f });
                    }
                };
                Ok(Val::Scalar(bits, present))
            }
            Node::Present { row, slot } => {
                if self.assume_present {
                    let t = self.i8(1);
                    let f = self.i8(0);
                    return Ok(Val::Logic { t, f });
                }
                let t = self.present_bit(*row, *slot);
                let f = self.not1(t);
                Ok(Val::Logic { t, f })
            }
            Node::Not(value) => Ok(match self.get(*value)? {
                Val::Null => Val::Null,
                _ => {
                    let (t, f) = self.logic(*value)?;
                    Val::Logic { t: f, f: t }
                }
            }),
            Node::Neg { ty, value } => self.negate(*ty, *value),
            Node::Arith {
                op,
                ty,
                rhs_ty,
                lhs,
                rhs,
            } => self.arith(id, *op, *ty, *rhs_ty, *lhs, *rhs),
            Node::Cmp { op, ty, lhs, rhs } => self.compare(*op, *ty, *lhs, *rhs),
            Node::And(a, b) => {
                let ((ta, fa), (tb, fb)) = (self.logic(*a)?, self.logic(*b)?);
                let b = &mut self.builder;
                Ok(Val::Logic {
                    t: b.ins().band(ta, tb),
                    f: b.ins().bor(fa, fb),
                })
            }
            Node::Or(a, b) => {
                let ((ta, fa), (tb, fb)) = (self.logic(*a)?, self.logic(*b)?);
                let b = &mut self.builder;
                Ok(Val::Logic {
                    t: b.ins().bor(ta, tb),
                    f: b.ins().band(fa, fb),
                })
            }
            Node::IntToFloat(value) => Ok(match self.get(*value)? {
                Val::Scalar(v, valid) => {
                    Val::Scalar(self.builder.ins().fcvt_from_sint(types::F64, v), valid)
                }
                _ => Val::Null,
            }),
            Node::Coalesce { value, default } => self.coalesce(*value, *default),
            Node::If {
                cond,
                then,
                otherwise,
            } => self.choose(id, *cond, *then, *otherwise),
            Node::In { item, list, elem } => self.member(id, *item, *list, elem),
            _ => Err(JitError::Internal(format!(
                "node n{} is not compilable",
                id.0
            ))),
        }
    }

    fn literal(&mut self, lit: &Lit) -> Val {
        let b = &mut self.builder;
        let bits = match lit {
            Lit::Null => return Val::Null,
            Lit::Int(i) | Lit::Duration(i) | Lit::Timestamp(i) => b.ins().iconst(types::I64, *i),
            Lit::Float(bits) | Lit::Distance(bits) => b.ins().f64const(f64::from_bits(*bits)),
            Lit::Bool(v) => {
                let t = self.i8(i64::from(*v));
                let f = self.i8(i64::from(!*v));
                return Val::Logic { t, f };
            }
            Lit::Str(text) | Lit::Zone(text) => {
                let symbol = (self.intern)(text);
                self.builder.ins().iconst(types::I64, symbol as i64)
            }
            Lit::Enum(_, variant) => b.ins().iconst(types::I64, i64::from(*variant)),
        };
        Val::Scalar(bits, None)
    }

    fn negate(&mut self, ty: Scalar, value: NodeId) -> Result<Val, JitError> {
        let Val::Scalar(v, valid) = self.get(value)? else {
            return Ok(Val::Null);
        };
        let b = &mut self.builder;
        Ok(if ty.is_float() {
            Val::Scalar(b.ins().fneg(v), valid)
        } else {
            // `-i64::MIN` overflows: null, as `checked_neg`.
            let fits = b.ins().icmp_imm_s(IntCC::NotEqual, v, i64::MIN);
            let negated = b.ins().ineg(v);
            let valid = self.both(valid, Some(fits));
            Val::Scalar(negated, valid)
        })
    }

    fn arith(
        &mut self,
        id: NodeId,
        op: ArithOp,
        ty: Scalar,
        rhs_ty: Scalar,
        lhs: NodeId,
        rhs: NodeId,
    ) -> Result<Val, JitError> {
        let (_, kind) = arith_result(op, ty, rhs_ty).ok_or_else(|| {
            JitError::Internal(format!("node n{} has unsupported arithmetic", id.0))
        })?;
        // Null in, null out: nothing to compute.
        let (Val::Scalar(a, va), Val::Scalar(c, vc)) = (self.get(lhs)?, self.get(rhs)?) else {
            return Ok(Val::Null);
        };
        let valid = self.both(va, vc);
        if kind == ArithKind::CheckedInt {
            let (bits, overflow) = self.checked_int(op, a, c);
            let valid = match valid {
                None => self.not1(overflow),
                Some(valid) => self.builder.ins().band_not(valid, overflow),
            };
            return Ok(Val::Scalar(bits, Some(valid)));
        }
        // Floating point: convert integer operands (ints, durations) first.
        let b = &mut self.builder;
        let a = if repr(ty) == Repr::Int {
            b.ins().fcvt_from_sint(types::F64, a)
        } else {
            a
        };
        let c = if repr(rhs_ty) == Repr::Int {
            b.ins().fcvt_from_sint(types::F64, c)
        } else {
            c
        };
        let bits = match op {
            ArithOp::Add => b.ins().fadd(a, c),
            ArithOp::Sub => b.ins().fsub(a, c),
            ArithOp::Mul => b.ins().fmul(a, c),
            ArithOp::Div => b.ins().fdiv(a, c),
            ArithOp::Rem => {
                return Err(JitError::Internal(format!(
                    "node n{} has float remainder",
                    id.0
                )));
            }
        };
        match kind {
            ArithKind::AnyFloat | ArithKind::CheckedInt => Ok(Val::Scalar(bits, valid)),
            ArithKind::FiniteFloat => {
                let infinity = b.ins().f64const(f64::INFINITY);
                let magnitude = b.ins().fabs(bits);
                // false for NaN too
                let finite = b.ins().fcmp(FloatCC::LessThan, magnitude, infinity);
                let valid = self.both(valid, Some(finite));
                Ok(Val::Scalar(bits, valid))
            }
            ArithKind::ScaledMs => {
                let (ms, in_range) = self.scaled_ms(bits);
                let valid = self.both(valid, Some(in_range));
                Ok(Val::Scalar(ms, valid))
            }
        }
    }

    /// Milliseconds `ms` as a duration: rounded half away from zero (`f64::round`), valid
    /// only when finite and below 9e18 in magnitude. Returns the bits and the validity flag.
    fn scaled_ms(&mut self, ms: Value) -> (Value, Value) {
        let b = &mut self.builder;
        let limit = b.ins().f64const(9.0e18);
        let magnitude = b.ins().fabs(ms);
        let in_range = b.ins().fcmp(FloatCC::LessThan, magnitude, limit);
        // round(x) = trunc(x) + sign(x) when the dropped fraction is at least one half; the
        // fraction `x - trunc(x)` is exact.
        let truncated = b.ins().trunc(ms);
        let fraction = b.ins().fsub(ms, truncated);
        let fraction = b.ins().fabs(fraction);
        let half = b.ins().f64const(0.5);
        let round_away = b.ins().fcmp(FloatCC::GreaterThanOrEqual, fraction, half);
        let one = b.ins().f64const(1.0);
        let step = b.ins().fcopysign(one, ms);
        let zero = b.ins().f64const(0.0);
        let step = b.ins().select(round_away, step, zero);
        let rounded = b.ins().fadd(truncated, step);
        let safe = b.ins().select(in_range, rounded, zero);
        let bits = b.ins().fcvt_to_sint_sat(types::I64, safe);
        (bits, in_range)
    }

    /// `a op c` on `i64` with Rust's `checked_*` semantics: the bits, and an overflow flag
    /// (overflow, division by zero, `i64::MIN / -1`) that makes the result null.
    fn checked_int(&mut self, op: ArithOp, a: Value, c: Value) -> (Value, Value) {
        let b = &mut self.builder;
        match op {
            ArithOp::Add => b.ins().sadd_overflow(a, c),
            ArithOp::Sub => b.ins().ssub_overflow(a, c),
            ArithOp::Mul => b.ins().smul_overflow(a, c),
            ArithOp::Div | ArithOp::Rem => {
                let zero = b.ins().icmp_imm_s(IntCC::Equal, c, 0);
                let min = b.ins().icmp_imm_s(IntCC::Equal, a, i64::MIN);
                let minus_one = b.ins().icmp_imm_s(IntCC::Equal, c, -1);
                let overflow = b.ins().band(min, minus_one);
                let bad = b.ins().bor(zero, overflow);
                // Divide by 1 instead, so the instruction never traps; the result is null.
                let one = b.ins().iconst(types::I64, 1);
                let divisor = b.ins().select(bad, one, c);
                let bits = if op == ArithOp::Div {
                    b.ins().sdiv(a, divisor)
                } else {
                    b.ins().srem(a, divisor)
                };
                (bits, bad)
            }
        }
    }

    fn compare(
        &mut self,
        op: CmpOp,
        ty: Scalar,
        lhs: NodeId,
        rhs: NodeId,
    ) -> Result<Val, JitError> {
        if matches!(self.get(lhs)?, Val::Null) || matches!(self.get(rhs)?, Val::Null) {
            return Ok(Val::Null);
        }
        let r = repr(ty);
        let (a, va) = self.scalar(lhs, r)?;
        let (c, vc) = self.scalar(rhs, r)?;
        let valid = self.both(va, vc);
        let b = &mut self.builder;
        if ty.is_float()
            && let Some(opposite) = opposite_ordering(op)
        {
            // An ordering with NaN has no answer (`partial_cmp` is `None`): null. IEEE
            // orderings are false with NaN, so `a < c` is certainly true when `fcmp lt`
            // holds and certainly false when `fcmp ge` does; with NaN, neither.
            let holds = b.ins().fcmp(float_cc(op), a, c);
            let fails = b.ins().fcmp(float_cc(opposite), a, c);
            return Ok(match valid {
                None => {
                    let unordered = self.unordered(lhs, a, rhs, c);
                    self.orderings.insert(fails, (holds, unordered));
                    Val::Logic { t: holds, f: fails }
                }
                Some(valid) => Val::Logic {
                    t: b.ins().band(holds, valid),
                    f: b.ins().band(fails, valid),
                },
            });
        }
        let holds = if ty.is_float() {
            b.ins().fcmp(float_cc(op), a, c)
        } else {
            b.ins().icmp(int_cc(op), a, c)
        };
        let (t, f) = self.logic_of(holds, valid);
        Ok(Val::Logic { t, f })
    }

    /// Whether `a` or `c` is NaN, as an `i8` flag. A float literal that is not NaN is left
    /// out of the test (then `fcmp uno` compares the other operand with itself, needing no
    /// constant).
    fn unordered(&mut self, lhs: NodeId, a: Value, rhs: NodeId, c: Value) -> Value {
        let number = |id: NodeId| {
            matches!(
                self.program.node(id),
                Some(Node::Lit(Lit::Float(bits) | Lit::Distance(bits)))
                    if !f64::from_bits(*bits).is_nan()
            )
        };
        let (x, y) = match (number(lhs), number(rhs)) {
            (false, true) => (a, a),
            (true, false) => (c, c),
            _ => (a, c),
        };
        self.builder.ins().fcmp(FloatCC::Unordered, x, y)
    }

    /// `item in [a, b, …]`: null when `item` is; otherwise whether some element equals it (a
    /// null element equals nothing).
    fn member(
        &mut self,
        id: NodeId,
        item: NodeId,
        list: NodeId,
        elem: &Ty,
    ) -> Result<Val, JitError> {
        if matches!(self.get(item)?, Val::Null) {
            return Ok(Val::Null);
        }
        let Some(scalar) = elem.scalar() else {
            return Err(JitError::Internal(format!(
                "node n{} is not a scalar membership",
                id.0
            )));
        };
        let r = repr(scalar);
        let (x, item_valid) = self.scalar(item, r)?;
        let items = list_items(id, list, &self.program.nodes).map_err(JitError::Unsupported)?;
        let mut found = self.i8(0);
        for element in items {
            if matches!(self.get(*element)?, Val::Null) {
                continue;
            }
            let (e, element_valid) = self.scalar(*element, r)?;
            let b = &mut self.builder;
            let equal = if scalar.is_float() {
                b.ins().fcmp(FloatCC::Equal, x, e)
            } else {
                b.ins().icmp(IntCC::Equal, x, e)
            };
            let hit = match element_valid {
                None => equal,
                Some(valid) => b.ins().band(equal, valid),
            };
            found = self.builder.ins().bor(found, hit);
        }
        let (t, f) = self.logic_of(found, item_valid);
        Ok(Val::Logic { t, f })
    }

    /// `value ?? default`.
    fn coalesce(&mut self, value: NodeId, default: NodeId) -> Result<Val, JitError> {
        Ok(match (self.get(value)?, self.get(default)?) {
            (Val::Null, other) => other,
            (known, Val::Null) => known,
            (Val::Scalar(_, None), _) => self.get(value)?,
            (Val::Logic { .. }, _) | (_, Val::Logic { .. }) => {
                // t = ta | (null(a) & tb), f likewise
                let (ta, fa) = self.logic(value)?;
                let (tb, fb) = self.logic(default)?;
                let b = &mut self.builder;
                let known = b.ins().bor(ta, fa);
                let t_default = b.ins().band_not(tb, known);
                let f_default = b.ins().band_not(fb, known);
                Val::Logic {
                    t: b.ins().bor(ta, t_default),
                    f: b.ins().bor(fa, f_default),
                }
            }
            (Val::Scalar(v, Some(valid)), Val::Scalar(d, default_valid)) => {
                let b = &mut self.builder;
                let bits = b.ins().select(valid, v, d);
                let valid = default_valid.map(|dv| b.ins().bor(valid, dv));
                Val::Scalar(bits, valid)
            }
        })
    }

    /// `if c then a else b`: a null condition takes the `else` branch, as `when` treats null
    /// as false.
    fn choose(
        &mut self,
        id: NodeId,
        cond: NodeId,
        then: NodeId,
        otherwise: NodeId,
    ) -> Result<Val, JitError> {
        if matches!(self.get(cond)?, Val::Null) {
            return self.get(otherwise);
        }
        let (take_then, _) = self.logic(cond)?;
        let bool_shaped = matches!(self.analysis.shape(id), Ok(Shape::Scalar(Scalar::Bool)));
        if bool_shaped {
            let (tt, ft) = self.logic(then)?;
            let (te, fe) = self.logic(otherwise)?;
            let b = &mut self.builder;
            let t = b.ins().select(take_then, tt, te);
            let f = b.ins().select(take_then, ft, fe);
            return Ok(Val::Logic { t, f });
        }
        let r = match self.analysis.shape(id) {
            Ok(Shape::Scalar(s)) => repr(s),
            _ => return Ok(Val::Null),
        };
        let (t, tv) = self.scalar(then, r)?;
        let (e, ev) = self.scalar(otherwise, r)?;
        let bits = self.builder.ins().select(take_then, t, e);
        let valid = match (tv, ev) {
            (None, None) => None,
            (tv, ev) => {
                let yes = self.i8(1);
                let b = &mut self.builder;
                Some(
                    b.ins()
                        .select(take_then, tv.unwrap_or(yes), ev.unwrap_or(yes)),
                )
            }
        };
        Ok(Val::Scalar(bits, valid))
    }
}

/// Loads from rows: aligned, in bounds (the caller pads short rows), unchanged during a call.
fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
}

/// The operands of a node (of the kinds the JIT compiles; others have none it follows).
fn operands(node: &Node) -> Vec<NodeId> {
    match node {
        Node::Not(v) | Node::Neg { value: v, .. } | Node::IntToFloat(v) => vec![*v],
        Node::Arith { lhs, rhs, .. } | Node::Cmp { lhs, rhs, .. } => vec![*lhs, *rhs],
        Node::And(a, b) | Node::Or(a, b) => vec![*a, *b],
        Node::Coalesce { value, default } => vec![*value, *default],
        Node::If {
            cond,
            then,
            otherwise,
        } => vec![*cond, *then, *otherwise],
        _ => Vec::new(),
    }
}

//! The JIT as the engine's [`Evaluator`]: compiled conditions natively, everything else by
//! the reference [`Interpreter`].
//!
//! Compilation happens at the first evaluation, because string literals must become the
//! symbol ids of the engine's own interner, which the engine creates (and fills with every
//! literal of the program) when it starts; the evaluator sees it through
//! [`EvalContext::interner`]. A condition whose literal the interner does not know is left
//! to the interpreter rather than guessed.

use crate::jit::{Jit, condition_roots};
use cbp_ir::expr::{Lit, Node};
use cbp_ir::{NodeId, Program, Value};
use cbp_runtime::eval::{EvalContext, Evaluator, Interpreter};
use cbp_runtime::intern::Interner;

use crate::call::CompiledCondition;

/// A boxed JIT evaluator for `program` (what `--engine jit` uses); the counterpart of
/// `cbp_runtime::interpreter`.
pub fn evaluator(program: &Program) -> Box<dyn Evaluator> {
    Box::new(JitEvaluator::new(program))
}

pub struct JitEvaluator {
    interpreter: Interpreter,
    /// Indexed by node id; `None` before the first evaluation.
    compiled: Option<Vec<Option<CompiledCondition>>>,
}

impl JitEvaluator {
    pub fn new(program: &Program) -> Self {
        JitEvaluator {
            interpreter: Interpreter::new(program),
            compiled: None,
        }
    }

    /// How many conditions run as native code (after the first evaluation).
    pub fn compiled_count(&self) -> usize {
        self.compiled
            .as_ref()
            .map_or(0, |c| c.iter().flatten().count())
    }

    /// Compiles the program's conditions, once. Kept out of line: inlined, its frame (six
    /// registers saved, 248 bytes of stack) was paid by every evaluation, which it made
    /// about twice as slow.
    #[cold]
    #[inline(never)]
    fn compile_now(&mut self, program: &Program, interner: &Interner) {
        self.compiled = Some(compile(program, interner));
    }

    /// The compiled condition's result, or `None` when `node` is left to the interpreter.
    #[inline]
    fn native(&mut self, cx: &EvalContext<'_>, node: NodeId) -> Option<Option<bool>> {
        if self.compiled.is_none() {
            self.compile_now(cx.program, cx.interner);
        }
        let condition = self.compiled.as_deref()?.get(node.0 as usize)?.as_ref()?;
        Some(condition.eval(cx.trigger, cx.candidate.map(|row| &**row)))
    }
}

/// Every supported condition of `program`, by node id. Nothing compiled when the host has
/// no code generator: then every node goes to the interpreter.
fn compile(program: &Program, interner: &Interner) -> Vec<Option<CompiledCondition>> {
    let unknown = unknown_literals(program, interner);
    let roots: Vec<NodeId> = condition_roots(program)
        .into_iter()
        .filter(|r| !unknown.get(r.0 as usize).copied().unwrap_or(true))
        .collect();
    let mut table = vec![None; program.nodes.len()];
    // Every literal reached is known (filtered above); the fallback id is never used.
    let mut intern = |text: &str| interner.lookup(text).unwrap_or(u64::MAX);
    if let Ok(jit) = Jit::compile_roots(program, &roots, &mut intern) {
        for root in jit.compiled() {
            if let Some(slot) = table.get_mut(root.0 as usize) {
                *slot = jit.condition(root);
            }
        }
    }
    table
}

/// For every node, whether its subtree holds a string or zone literal the interner lacks.
fn unknown_literals(program: &Program, interner: &Interner) -> Vec<bool> {
    let mut out: Vec<bool> = Vec::with_capacity(program.nodes.len());
    for node in &program.nodes {
        let unknown = match node {
            Node::Lit(Lit::Str(text) | Lit::Zone(text)) => interner.lookup(text).is_none(),
            other => other
                .operands()
                .iter()
                .any(|o| out.get(o.0 as usize).copied().unwrap_or(true)),
        };
        out.push(unknown);
    }
    out
}

impl Evaluator for JitEvaluator {
    fn name(&self) -> &str {
        "jit"
    }

    #[inline]
    fn eval(&mut self, cx: &EvalContext<'_>, node: NodeId) -> Value {
        match self.native(cx, node) {
            Some(Some(b)) => Value::Bool(b),
            Some(None) => Value::Null,
            None => self.interpreter.eval(cx, node),
        }
    }

    #[inline]
    fn eval_bool(&mut self, cx: &EvalContext<'_>, node: NodeId) -> bool {
        match self.native(cx, node) {
            Some(result) => result == Some(true),
            None => self.interpreter.eval_bool(cx, node),
        }
    }
}

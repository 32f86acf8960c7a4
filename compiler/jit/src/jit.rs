//! Compiling a program's conditions into executable memory.

use crate::JitError;
use crate::call::{CodeMemory, CompiledCondition, near_memory};
use crate::codegen::{build_condition, define_condition};
use crate::isa::host_isa;
use crate::shape::{Analysis, Unsupported};
use cbp_ir::program::Step;
use cbp_ir::{NodeId, Program};
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, default_libcall_names};
use std::collections::{BTreeMap, BTreeSet};

/// The conditions of a program compiled to native code.
pub struct Jit {
    conditions: BTreeMap<NodeId, CompiledCondition>,
    skipped: Vec<(NodeId, Unsupported)>,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit")
            .field("compiled", &self.conditions.keys().collect::<Vec<_>>())
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// The conditions the engine evaluates per event: every rule's `when` conditions and every
/// correlation's `where` filter, ascending and without repeats.
pub fn condition_roots(program: &Program) -> Vec<NodeId> {
    let mut roots = BTreeSet::new();
    for rule in &program.rules {
        for step in &rule.steps {
            match step {
                Step::When { cond, .. } => {
                    roots.insert(*cond);
                }
                Step::Correlate(correlation) => roots.extend(correlation.filter),
                Step::Let { .. } => {}
            }
        }
    }
    roots.into_iter().collect()
}

impl Jit {
    /// Compiles every condition of [`condition_roots`] that the JIT supports. `intern` maps
    /// string and zone literals to the runtime's symbol ids (the ids rows hold).
    pub fn compile(
        program: &Program,
        intern: &mut dyn FnMut(&str) -> u64,
    ) -> Result<Jit, JitError> {
        Self::compile_roots(program, &condition_roots(program), intern)
    }

    /// Compiles the given boolean nodes (those the JIT supports; the others are listed by
    /// [`Jit::skipped`]). Fails only when the host cannot generate code at all.
    pub fn compile_roots(
        program: &Program,
        roots: &[NodeId],
        intern: &mut dyn FnMut(&str) -> u64,
    ) -> Result<Jit, JitError> {
        let analysis = Analysis::new(program);
        let isa = host_isa(false)?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        if let Some(memory) = near_memory() {
            builder.memory_provider(memory);
        }
        let mut module = JITModule::new(builder);
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        let mut defined = Vec::new();
        let mut skipped = Vec::new();
        let unique: BTreeSet<NodeId> = roots.iter().copied().collect();
        for root in unique {
            if let Err(reason) = analysis.condition(root) {
                skipped.push((root, reason));
                continue;
            }
            let name = format!("cbp_cond_{}", root.0);
            let defined_here = define_condition(
                &mut module,
                &mut ctx,
                &mut fctx,
                program,
                &analysis,
                root,
                &name,
                Linkage::Local,
                intern,
            );
            match defined_here {
                Ok((func, needs)) => defined.push((root, func, needs)),
                // A bug of ours, not of the program: leave the condition to the interpreter.
                Err(err) => skipped.push((
                    root,
                    Unsupported::Node {
                        node: root,
                        what: err.to_string(),
                    },
                )),
            }
        }
        module.finalize_definitions().map_err(JitError::module)?;
        let code = CodeMemory::new(module);
        let mut conditions = BTreeMap::new();
        for (root, func, needs) in defined {
            match code.function(func) {
                Some(function) => {
                    conditions.insert(
                        root,
                        CompiledCondition::new(code.clone(), function, needs, root),
                    );
                }
                None => skipped.push((
                    root,
                    Unsupported::Node {
                        node: root,
                        what: "no code".into(),
                    },
                )),
            }
        }
        Ok(Jit {
            conditions,
            skipped,
        })
    }

    /// The compiled condition at `node`, or `None` when it is left to the interpreter.
    pub fn condition(&self, node: NodeId) -> Option<CompiledCondition> {
        self.conditions.get(&node).cloned()
    }

    /// The conditions compiled, ascending.
    pub fn compiled(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.conditions.keys().copied()
    }

    /// The conditions not compiled, and why.
    pub fn skipped(&self) -> &[(NodeId, Unsupported)] {
        &self.skipped
    }
}

/// The Cranelift IR of the condition at `root` as generated, before Cranelift optimizes it:
/// for reading what the JIT makes of a condition (and for tests).
pub fn clif(
    program: &Program,
    root: NodeId,
    intern: &mut dyn FnMut(&str) -> u64,
) -> Result<String, JitError> {
    let analysis = Analysis::new(program);
    analysis.condition(root).map_err(JitError::Unsupported)?;
    // Nothing is defined in this module, so dropping it frees nothing it allocated.
    let module = JITModule::new(JITBuilder::with_isa(
        host_isa(false)?,
        default_libcall_names(),
    ));
    let mut ctx = Context::new();
    let mut fctx = FunctionBuilderContext::new();
    build_condition(
        &module, &mut ctx, &mut fctx, program, &analysis, root, intern,
    )?;
    Ok(ctx.func.display().to_string())
}

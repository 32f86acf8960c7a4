//! The one place that touches generated code: owning its memory and calling it.
//!
//! Everything unsafe in the crate is here. The generated functions read only the two row
//! buffers they are given, within the bounds recorded in [`Needs`] at compile time, never
//! trap (division is guarded, arithmetic is checked), call nothing and so never unwind.
#![allow(unsafe_code)]

use crate::shape::{Needs, RowNeed};
use cbp_ir::{NodeId, Row};
use cranelift_jit::JITModule;
use cranelift_module::FuncId;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

/// The native signature of a compiled condition (see the crate docs for the ABI).
pub type ConditionFn = unsafe extern "C" fn(trigger: *const u64, candidate: *const u64) -> u8;

/// The executable memory of one compilation; freed when the last condition using it is
/// dropped.
pub(crate) struct CodeMemory {
    module: Mutex<Option<JITModule>>,
}

impl CodeMemory {
    /// Takes a module whose definitions are finalized.
    pub(crate) fn new(module: JITModule) -> Arc<Self> {
        Arc::new(CodeMemory {
            module: Mutex::new(Some(module)),
        })
    }

    /// The entry point of a finalized function of the module.
    pub(crate) fn function(&self, id: FuncId) -> Option<ConditionFn> {
        let guard = self.module.lock().unwrap_or_else(PoisonError::into_inner);
        let code = guard.as_ref()?.get_finalized_function(id);
        if code.is_null() {
            return None;
        }
        // SAFETY: `code` is the entry of a function the caller defined with the signature
        // `codegen::signature` builds — two pointer parameters and an `i8` return in the
        // host's default calling convention, which is the C convention — and finalized, so
        // the memory is executable. Both types are pointer-sized.
        Some(unsafe { std::mem::transmute::<*const u8, ConditionFn>(code) })
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let module = self
            .module
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(module) = module {
            // SAFETY: every pointer into this memory is held by a `CompiledCondition`, and
            // each of those holds an `Arc` to this `CodeMemory`: it is dropped only when no
            // pointer into the code is left.
            unsafe { module.free_memory() };
        }
    }
}

/// A condition compiled to native code. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct CompiledCondition {
    #[expect(dead_code, reason = "owns the memory `function` points into")]
    code: Arc<CodeMemory>,
    function: ConditionFn,
    needs: Needs,
    /// `needs.candidate` is not empty: only then must a candidate row be checked.
    reads_candidate: bool,
    node: NodeId,
}

impl std::fmt::Debug for CompiledCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledCondition")
            .field("node", &self.node)
            .field("needs", &self.needs)
            .finish()
    }
}

impl CompiledCondition {
    pub(crate) fn new(
        code: Arc<CodeMemory>,
        function: ConditionFn,
        needs: Needs,
        node: NodeId,
    ) -> Self {
        CompiledCondition {
            code,
            function,
            needs,
            reads_candidate: needs.candidate != RowNeed::default(),
            node,
        }
    }

    /// The root node this condition computes.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// How far into each row the condition reads.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Whether the condition reads the candidate row (it is a correlation filter).
    pub fn reads_candidate(&self) -> bool {
        self.reads_candidate
    }

    /// The condition over `trigger` and, for a correlation filter, `candidate`:
    /// `Some(true)`, `Some(false)`, or `None` when it is null (unknown). Slots of a missing
    /// candidate, or beyond the end of a row, read as absent.
    #[inline]
    pub fn eval(&self, trigger: &Row, candidate: Option<&Row>) -> Option<bool> {
        self.eval_words(&trigger.words, candidate.map(|row| row.words.as_slice()))
    }

    /// As [`CompiledCondition::eval`], on `words` buffers in the encoding of [`Row`].
    #[inline]
    pub fn eval_words(&self, trigger: &[u64], candidate: Option<&[u64]>) -> Option<bool> {
        let candidate = candidate.unwrap_or(&[]);
        match self.call(trigger, candidate) {
            Some(result) => result,
            None => self.call_padded(trigger, candidate),
        }
    }

    /// Calls the code on rows long enough for it; `None` (without calling) when one is not.
    #[inline]
    fn call(&self, trigger: &[u64], candidate: &[u64]) -> Option<Option<bool>> {
        // A condition that reads no candidate needs nothing of it (any buffer will do).
        if trigger.len() < self.needs.trigger.words
            || (self.reads_candidate && candidate.len() < self.needs.candidate.words)
        {
            return None;
        }
        // SAFETY: `function` points into `self.code`, alive as long as `self`. It reads at
        // most the first `needs.*.words` words of each row, and the check above guarantees
        // that many (for a candidate it does not read, `needs` is zero and nothing needs
        // guaranteeing); the buffers are borrowed for the whole call and it writes nothing.
        // It never traps nor unwinds.
        let result = unsafe { (self.function)(trigger.as_ptr(), candidate.as_ptr()) };
        Some(match result {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        })
    }

    /// The slow path for short rows (or a missing candidate): copies padded with absent
    /// slots.
    #[cold]
    fn call_padded(&self, trigger: &[u64], candidate: &[u64]) -> Option<bool> {
        let trigger = padded(trigger, self.needs.trigger.words);
        let candidate = padded(candidate, self.needs.candidate.words);
        self.call(&trigger, &candidate).unwrap_or(None)
    }
}

/// `buffer` itself when it has `len` words, else a copy padded with zeros (absent slots).
fn padded(buffer: &[u64], len: usize) -> Cow<'_, [u64]> {
    if buffer.len() >= len {
        Cow::Borrowed(buffer)
    } else {
        let mut owned = vec![0; len];
        owned[..buffer.len()].copy_from_slice(buffer);
        Cow::Owned(owned)
    }
}

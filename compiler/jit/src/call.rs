//! The one place that touches generated code: owning its memory and calling it.
//!
//! Everything unsafe in the crate is here. The generated functions read only the two row
//! buffers they are given, within the bounds recorded in [`Needs`] at compile time, never
//! trap (division is guarded, arithmetic is checked), call nothing and so never unwind.
#![allow(unsafe_code)]

use crate::codegen::NULL_RESULT;
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
            Some(result) => decode(result),
            None => decode(self.call_padded(trigger, candidate)),
        }
    }

    /// Calls the code on rows long enough for it, giving its `u8` result; `None` (without
    /// calling) when one is not.
    #[inline]
    fn call(&self, trigger: &[u64], candidate: &[u64]) -> Option<u8> {
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
        Some(unsafe { (self.function)(trigger.as_ptr(), candidate.as_ptr()) })
    }

    /// The slow path for short rows (or a missing candidate): copies padded with absent
    /// slots.
    #[cold]
    fn call_padded(&self, trigger: &[u64], candidate: &[u64]) -> u8 {
        let trigger = padded(trigger, self.needs.trigger.words);
        let candidate = padded(candidate, self.needs.candidate.words);
        self.call(&trigger, &candidate).unwrap_or(NULL_RESULT)
    }
}

/// The `u8` result as an `Option<bool>`. Clamped first: the optimiser then knows the value is
/// 0, 1 or 2 — the bits of `Some(false)`, `Some(true)` and `None` — and `eval(..) ==
/// Some(true)`, what the engine asks, becomes one `cmp`/`sete` on the result (a plain
/// `match` on 0 and 1 left six more instructions and a jump in the bench's loop).
#[inline]
fn decode(result: u8) -> Option<bool> {
    match result.min(NULL_RESULT) {
        0 => Some(false),
        1 => Some(true),
        _ => None,
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

/// Where cranelift-jit puts the code: pages mapped next to this executable's own code, on
/// x86-64 Unix; `None` elsewhere (then cranelift-jit's default provider is used).
///
/// Why: by default each function gets its own `mmap`, which the kernel places far from the
/// executable (x86-64 Linux: `0x7f…` against `0x55…` for a PIE). Calling code that far away
/// and returning from it cost about 1 ns more per call on the bench machine (Xeon, family 6
/// model 207) than calling the same bytes copied next to the executable: a trivial `return
/// 0` function took 2.51–2.59 ns a row against 1.59–1.64 in a loop like `benches/eval.rs`'s,
/// and copies placed outside the caller's 4 GiB-aligned block were slow again even when
/// closer than 4 GiB (presumably the branch predictor stores only the low 32 bits of a
/// target). Inside the block, the JIT's calls cost what a Rust function's do. Packing every
/// function of a module into one mapping also takes one page instead of one per condition.
pub(crate) fn near_memory() -> Option<Box<dyn cranelift_jit::JITMemoryProvider + Send>> {
    #[cfg(all(unix, target_arch = "x86_64"))]
    {
        Some(Box::new(near::NearMemory::default()))
    }
    #[cfg(not(all(unix, target_arch = "x86_64")))]
    {
        None
    }
}

/// Executable memory mapped close to the executable's code (see [`near_memory`]). x86-64
/// only: its instruction cache is coherent with stores, so nothing needs flushing before the
/// code runs (`mprotect` is a serializing system call for this thread; other threads only
/// receive a function pointer through a synchronizing handoff).
#[cfg(all(unix, target_arch = "x86_64"))]
mod near {
    use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
    use cranelift_module::{ModuleError, ModuleResult};
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes mapped at a time (more when one allocation is larger); a module's conditions
    /// usually fit in one.
    const CHUNK: usize = 64 * 1024;

    /// The address of the last mapping (0 before the first), below which the next one is
    /// asked for; shared by every module of the process, so that they do not all ask for
    /// the same pages.
    static NEXT_HINT: AtomicUsize = AtomicUsize::new(0);

    /// One mapping: its address, length, bytes handed out, kind, and whether it has its final
    /// protection (then nothing more is allocated in it).
    struct Chunk {
        address: usize,
        len: usize,
        used: usize,
        kind: Kind,
        sealed: bool,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Code,
        ReadOnly,
        Writable,
    }

    #[derive(Default)]
    pub(super) struct NearMemory {
        chunks: Vec<Chunk>,
    }

    impl JITMemoryProvider for NearMemory {
        fn allocate(
            &mut self,
            size: usize,
            align: u64,
            kind: JITMemoryKind,
        ) -> io::Result<*mut u8> {
            let kind = match kind {
                JITMemoryKind::Executable => Kind::Code,
                JITMemoryKind::ReadOnly => Kind::ReadOnly,
                JITMemoryKind::Writable => Kind::Writable,
            };
            let align = usize::try_from(align)
                .ok()
                .filter(|a| a.is_power_of_two())
                .ok_or_else(|| io::Error::other("bad alignment"))?;
            let open = self
                .chunks
                .iter_mut()
                .rev()
                .find(|c| c.kind == kind && !c.sealed);
            if let Some(chunk) = open {
                let start = chunk.used.next_multiple_of(align);
                if start.checked_add(size).is_some_and(|end| end <= chunk.len) {
                    chunk.used = start + size;
                    return Ok((chunk.address + start) as *mut u8);
                }
            }
            // Mappings are page-aligned, which covers any alignment Cranelift asks for.
            let page = page_size();
            if align > page {
                return Err(io::Error::other("alignment above the page size"));
            }
            let len = size
                .max(1)
                .checked_next_multiple_of(page)
                .ok_or_else(|| io::Error::other("allocation too large"))?
                .max(CHUNK);
            let address = map_near(len, page)?;
            self.chunks.push(Chunk {
                address,
                len,
                used: size,
                kind,
                sealed: false,
            });
            Ok(address as *mut u8)
        }

        unsafe fn free_memory(&mut self) {
            for chunk in self.chunks.drain(..) {
                // SAFETY: the caller guarantees nothing uses the memory any more (the
                // trait's contract); each chunk is a mapping of ours, unmapped once.
                unsafe { libc::munmap(chunk.address as *mut libc::c_void, chunk.len) };
            }
        }

        fn finalize(&mut self, _branch_protection: BranchProtection) -> ModuleResult<()> {
            for chunk in self.chunks.iter_mut().filter(|c| !c.sealed) {
                let protection = match chunk.kind {
                    Kind::Code => libc::PROT_READ | libc::PROT_EXEC,
                    Kind::ReadOnly => libc::PROT_READ,
                    Kind::Writable => libc::PROT_READ | libc::PROT_WRITE,
                };
                // SAFETY: a whole mapping of ours; only its permissions change.
                let status = unsafe {
                    libc::mprotect(chunk.address as *mut libc::c_void, chunk.len, protection)
                };
                if status != 0 {
                    return Err(ModuleError::Backend(io::Error::last_os_error().into()));
                }
                chunk.sealed = true;
            }
            Ok(())
        }
    }

    fn page_size() -> usize {
        // SAFETY: `sysconf` only reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two())
            .unwrap_or(4096)
    }

    /// A fresh read-write mapping of `len` bytes in the same 4 GiB-aligned block as this
    /// executable's code when the kernel grants one, anywhere otherwise. The addresses tried
    /// are only hints (no `MAP_FIXED`): nothing already mapped is ever replaced. Tried in
    /// order: just below the previous mapping, then below the code, then far above it (the
    /// heap grows up from the end of the executable).
    fn map_near(len: usize, page: usize) -> io::Result<usize> {
        const MIB: usize = 1 << 20;
        // Opaque: folded into the instructions, `anchor ± 3 GiB` would not fit an x86-64
        // address displacement.
        let anchor =
            std::hint::black_box(map_near as fn(usize, usize) -> io::Result<usize>) as usize;
        let block = anchor >> 32;
        let in_block = |address: usize| {
            address >> 32 == block
                && address.checked_add(len - 1).map(|end| end >> 32) == Some(block)
        };
        let previous = NEXT_HINT.load(Ordering::Relaxed);
        let below_previous = (previous != 0).then(|| previous.checked_sub(len)).flatten();
        let below = [64, 256, 1024, 2048, 3072].map(|mib| anchor.checked_sub(mib * MIB));
        let above = [3072, 2048, 1024].map(|mib| anchor.checked_add(mib * MIB));
        let hints = std::iter::once(below_previous)
            .chain(below)
            .chain(above)
            .flatten()
            .map(|hint| hint - hint % page)
            .filter(|&hint| in_block(hint));
        for hint in hints {
            let address = map(hint, len)?;
            if in_block(address) {
                NEXT_HINT.store(address, Ordering::Relaxed);
                return Ok(address);
            }
            // The range is taken: the kernel put the mapping elsewhere. Give it back.
            unmap(address, len);
        }
        map(0, len)
    }

    fn map(hint: usize, len: usize) -> io::Result<usize> {
        // SAFETY: an anonymous private mapping; without `MAP_FIXED` the address is a hint
        // and no existing mapping is touched.
        let address = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            Err(io::Error::last_os_error())
        } else {
            Ok(address as usize)
        }
    }

    fn unmap(address: usize, len: usize) {
        // SAFETY: a mapping just made by `map` and not handed out.
        unsafe { libc::munmap(address as *mut libc::c_void, len) };
    }
}

#[cfg(all(test, unix, target_arch = "x86_64"))]
mod tests {
    use super::near::NearMemory;
    use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};

    /// The upper 32 bits of an address in this executable's code.
    fn code_block() -> usize {
        (code_block as fn() -> usize as usize) >> 32
    }

    #[test]
    fn code_is_mapped_in_the_block_of_the_executable() {
        let mut memory = NearMemory::default();
        let code = memory
            .allocate(100, 16, JITMemoryKind::Executable)
            .expect("code") as usize;
        assert_eq!(code >> 32, code_block(), "code at {code:#x}");
        assert_eq!(code % 16, 0);
        memory.finalize(BranchProtection::None).expect("finalize");
        // SAFETY: nothing points into the memory.
        unsafe { memory.free_memory() };
    }

    #[test]
    fn allocations_share_a_mapping_until_it_is_full_or_sealed() {
        let mut memory = NearMemory::default();
        let a = memory
            .allocate(10, 16, JITMemoryKind::Executable)
            .expect("a") as usize;
        let b = memory
            .allocate(10, 32, JITMemoryKind::Executable)
            .expect("b") as usize;
        assert_eq!(b, a + 32, "aligned, in the same mapping");
        let data = memory
            .allocate(8, 8, JITMemoryKind::ReadOnly)
            .expect("data") as usize;
        assert!(
            data.abs_diff(a) >= 4096,
            "another mapping for another protection"
        );
        let big = memory
            .allocate(200_000, 16, JITMemoryKind::Executable)
            .expect("big") as usize;
        assert!(big.abs_diff(a) >= 64 * 1024, "a mapping of its own");
        memory.finalize(BranchProtection::None).expect("finalize");
        let after = memory
            .allocate(10, 16, JITMemoryKind::Executable)
            .expect("after") as usize;
        assert!(
            !(a..a + 64 * 1024).contains(&after),
            "a sealed mapping takes nothing more"
        );
        assert_eq!(after >> 32, code_block());
        memory.finalize(BranchProtection::None).expect("finalize");
        // SAFETY: nothing points into the memory.
        unsafe { memory.free_memory() };
    }
}

//! `cbpc compile --emit obj`: the same condition functions in a relocatable object file.
//!
//! Each compiled condition is an exported function `cbp_cond_<node id>` with the ABI of the
//! crate docs. String and zone literals are symbol ids numbered from 0 in order of first
//! use; the data object `cbp_symbols` holds their texts in id order, each ended by a NUL,
//! so a loader can map them to its own interner.

use crate::JitError;
use crate::codegen::define_condition;
use crate::isa::host_isa;
use crate::jit::condition_roots;
use crate::shape::Analysis;
use cbp_ir::Program;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{DataDescription, Linkage, Module, default_libcall_names};
use cranelift_object::{ObjectBuilder, ObjectModule};
use std::collections::HashMap;

/// An object file of every condition of [`condition_roots`] the JIT supports.
pub fn emit_object(program: &Program) -> Result<Vec<u8>, JitError> {
    let analysis = Analysis::new(program);
    let builder = ObjectBuilder::new(host_isa(true)?, "cbp_conditions", default_libcall_names())
        .map_err(JitError::module)?;
    let mut module = ObjectModule::new(builder);
    let mut ctx = Context::new();
    let mut fctx = FunctionBuilderContext::new();
    let mut symbols: Vec<String> = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut intern = |text: &str| -> u64 {
        if let Some(id) = ids.get(text) {
            return *id;
        }
        let id = symbols.len() as u64;
        symbols.push(text.to_owned());
        ids.insert(text.to_owned(), id);
        id
    };
    for root in condition_roots(program) {
        if analysis.condition(root).is_err() {
            continue;
        }
        let name = format!("cbp_cond_{}", root.0);
        define_condition(
            &mut module,
            &mut ctx,
            &mut fctx,
            program,
            &analysis,
            root,
            &name,
            Linkage::Export,
            &mut intern,
        )?;
    }
    let mut table = Vec::new();
    for text in &symbols {
        table.extend_from_slice(text.as_bytes());
        table.push(0);
    }
    let data = module
        .declare_data("cbp_symbols", Linkage::Export, false, false)
        .map_err(JitError::module)?;
    let mut description = DataDescription::new();
    description.define(table.into_boxed_slice());
    module
        .define_data(data, &description)
        .map_err(JitError::module)?;
    module
        .finish()
        .emit()
        .map_err(|err| JitError::Object(err.to_string()))
}

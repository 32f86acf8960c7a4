//! Lowering of a checked policy ([`cbp_check::hir::Program`]) to the IR
//! ([`cbp_ir::Program`]): row layouts, the hash-consed expression graph, rules, reports,
//! tests, constant folding and dispatch tables.
//!
//! ```text
//! hir::Program ─▶ index (enum, record, message ids) ─▶ layouts
//!              ─▶ rules, reports (expression graph) ─▶ fold ─▶ dispatch
//!              ─▶ tests (JSON values)
//! ```
//!
//! Everything is in program order (std first, then files by path, then position), so the
//! same policy always lowers to the same program.

mod consts;
mod dispatch;
mod expr;
mod fold;
mod index;
mod layouts;
mod ranges;
mod rules;
mod sources;
mod testcases;

use cbp_check::hir::{self, ItemKind};
use cbp_ir::program::{AuthorityDef, PluginDef, SystemDef};
use cbp_ir::{FORMAT_VERSION, Program};
use expr::Lowerer;
use index::Index;
use sources::Sources;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// The checker reported errors; only a clean program is lowered.
    #[error("the policy has errors; fix them before compiling")]
    HasErrors,
    /// A checked item uses something the IR cannot express yet (or the HIR is inconsistent).
    #[error("cannot compile `{item}` in `{file}`: {what}")]
    Unsupported {
        item: String,
        file: String,
        what: String,
    },
}

/// Lowers a checked program. `sources` are `(path, text)` of the policy files: their hash is
/// the program's `source_hash`, and rationales and test locations quote them (std's files
/// may be left out).
pub fn lower(program: &hir::Program, sources: &[(String, String)]) -> Result<Program, LowerError> {
    if program.has_errors {
        return Err(LowerError::HasErrors);
    }
    let mut src = Sources::new(sources);
    let ix = Index::new(program);
    let messages = layouts::layouts(&ix);
    let mut lw = Lowerer {
        ix: &ix,
        layouts: &messages,
        g: Default::default(),
    };
    let mut out = Program {
        format_version: FORMAT_VERSION,
        source_hash: src.hash.clone(),
        enums: ix.enums.clone(),
        records: ix.records.clone(),
        ..Program::default()
    };
    for item in &program.items {
        let name = item
            .id
            .as_ref()
            .map(|id| id.name.to_string())
            .unwrap_or_default();
        match &item.kind {
            ItemKind::Rule(r) => out.rules.push(lw.rule(item, r, &mut src)?),
            ItemKind::Report(r) => out.reports.push(lw.report(item, r)?),
            ItemKind::Test(t) => out.tests.push(testcases::test(&ix, &mut src, item, t)?),
            ItemKind::Authority(a) => out.authorities.push(AuthorityDef {
                name,
                level: a.level,
            }),
            ItemKind::System(s) => out.systems.push(SystemDef {
                name,
                layer: s.layer.level(),
            }),
            ItemKind::Plugin(p) => out.plugins.push(PluginDef {
                model_id: p.model_id.clone(),
                name,
                emits: p.emits.iter().filter_map(|m| ix.message_id(m)).collect(),
            }),
            _ => {}
        }
    }
    out.nodes = lw.g.finish();
    out.nodes_before_folding = u32::try_from(out.nodes.len()).unwrap_or(u32::MAX);
    out.messages = messages;
    fold::fold_program(&mut out);
    out.dispatch = dispatch::build(&out);
    Ok(out)
}

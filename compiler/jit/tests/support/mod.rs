//! Programs and rows for the JIT's tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

pub mod graphs;

use cbp_ir::expr::{GraphBuilder, Lit, Node, NodeId};
use cbp_ir::{MessageId, Program, Row};

/// A program holding just a node graph (no layouts or rules: the tests name their roots).
pub fn program(nodes: Vec<Node>) -> Program {
    Program {
        format_version: cbp_ir::FORMAT_VERSION,
        nodes,
        ..Program::default()
    }
}

/// The runtime's interner: rows and literals get their symbol ids from it.
pub type Symbols = cbp_runtime::intern::Interner;

/// A row of `slots` slots, every one absent.
pub fn row(slots: u32) -> Row {
    Row::new(MessageId(0), slots, 0)
}

pub fn lit(g: &mut GraphBuilder, lit: Lit) -> NodeId {
    g.add(Node::Lit(lit))
}

pub fn float(g: &mut GraphBuilder, value: f64) -> NodeId {
    g.add(Node::Lit(Lit::Float(value.to_bits())))
}

/// `program` with a rule whose one step is `when cond` (so the engine-facing evaluator
/// compiles `cond`).
pub fn with_condition(mut program: Program, cond: NodeId) -> Program {
    program.rules.push(cbp_ir::program::Rule {
        name: "r".into(),
        qualified: "p.r".into(),
        layer: 1,
        trigger: MessageId(0),
        source: None,
        steps: vec![cbp_ir::program::Step::When {
            cond,
            text: "cond".into(),
            shows: Vec::new(),
        }],
        locals: 0,
        priority: None,
        then: Vec::new(),
        approval: None,
        on_approve: Vec::new(),
        on_reject: Vec::new(),
        no_response: None,
    });
    program
}

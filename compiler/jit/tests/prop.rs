//! The JIT against the runtime's reference interpreter, and against a small reference
//! evaluator of the documented semantics, on random typed graphs and random rows with nulls.
//! `PROPTEST_CASES=10000 cargo test -p cbp-jit --test prop` for a long run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod support;

use cbp_ir::Value;
use cbp_jit::JitEvaluator;
use cbp_runtime::eval::{EvalContext, Evaluator, Interpreter};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use support::graphs::{Choices, GraphGen, Reference, layout, row};
use support::{Symbols, program, with_condition};

/// Rows evaluated per compiled graph.
const ROWS: usize = 6;

proptest! {
    #[test]
    fn jit_matches_the_reference(
        shape in prop::collection::vec(any::<u32>(), 0..300),
        rows in prop::collection::vec(any::<u32>(), 0..400),
        depth in 1u32..8,
    ) {
        let mut symbols = Symbols::default();
        let mut shape = Choices::new(&shape);
        let layout = layout(&mut shape);
        let mut graph = GraphGen::new(&layout, &mut shape);
        let root = graph.root(depth);
        let program = with_condition(program(graph.g.finish()), root);

        let jit = cbp_jit::Jit::compile_roots(&program, &[root], &mut |s| symbols.intern(s)).expect("jit");
        prop_assert!(jit.skipped().is_empty(), "not compiled: {:?}", jit.skipped());
        let condition = jit.condition(root).expect("compiled");
        let mut interpreter = Interpreter::new(&program);
        let mut evaluator = JitEvaluator::new(&program);

        let mut rows = Choices::new(&rows);
        for _ in 0..ROWS {
            let trigger = row(&layout, &mut rows, &mut symbols);
            let candidate = (rows.pick(4) != 0).then(|| row(&layout, &mut rows, &mut symbols));
            let expected = Reference { program: &program, symbols: &mut symbols }.condition(root, &trigger, candidate.as_ref());
            let got = condition.eval(&trigger, candidate.as_ref());
            let context = || format!("graph {:#?}\ntrigger {:?}\ncandidate {:?}", program.nodes, trigger, candidate);
            prop_assert_eq!(got, expected, "jit vs reference: {}", context());

            // The runtime's interpreter, and the JIT as the engine's evaluator.
            let (trigger, candidate) = (Arc::new(trigger.clone()), candidate.clone().map(Arc::new));
            let places = BTreeMap::new();
            let cx = EvalContext {
                program: &program,
                interner: &symbols,
                trigger: &trigger,
                candidate: candidate.as_ref(),
                locals: &[],
                matches: &[],
                places: &places,
                aggregates: None,
            };
            let as_value = |b: Option<bool>| b.map(Value::Bool).unwrap_or(Value::Null);
            let interpreted = interpreter.eval(&cx, root);
            prop_assert_eq!(&interpreted, &as_value(got), "jit vs interpreter: {}", context());
            prop_assert_eq!(evaluator.eval(&cx, root), interpreted.clone(), "evaluator vs interpreter: {}", context());
            prop_assert_eq!(evaluator.eval_bool(&cx, root), interpreted == Value::Bool(true));
            prop_assert_eq!(evaluator.compiled_count(), 1, "the evaluator runs the condition natively");
        }
    }
}

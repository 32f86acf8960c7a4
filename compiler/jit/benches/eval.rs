//! The speeding condition — `v.violation_type == speeding and v.severity >= medium and
//! v.confidence > 0.85` — over a batch of rows: JIT-compiled, through the engine-facing
//! evaluator, by the reference interpreter, and as a hand-written Rust closure (the floor).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::expr::{CmpOp, GraphBuilder, Lit, Node, NodeId};
use cbp_ir::layout::envelope;
use cbp_ir::program::{Rule, Step};
use cbp_ir::{EnumId, MessageId, Program, Row, RowRef, Scalar, Value};
use cbp_jit::{Jit, JitEvaluator};
use cbp_runtime::eval::{EvalContext, Evaluator, Interpreter};
use cbp_runtime::intern::Interner;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

const VIOLATION_TYPE: u32 = envelope::SLOTS;
const SLOTS: u32 = envelope::SLOTS + 1;
const MEDIUM: u32 = 1;
const ROWS: usize = 64;

fn speeding_program() -> (Program, NodeId) {
    let mut g = GraphBuilder::default();
    let severity = Scalar::Enum(EnumId(0));
    let kind = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: VIOLATION_TYPE,
        ty: Scalar::Str,
    });
    let speeding = g.add(Node::Lit(Lit::Str("speeding".into())));
    let is_speeding = g.add(Node::Cmp {
        op: CmpOp::Eq,
        ty: Scalar::Str,
        lhs: kind,
        rhs: speeding,
    });
    let level = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: envelope::SEVERITY,
        ty: severity,
    });
    let medium = g.add(Node::Lit(Lit::Enum(EnumId(0), MEDIUM)));
    let serious = g.add(Node::Cmp {
        op: CmpOp::Ge,
        ty: severity,
        lhs: level,
        rhs: medium,
    });
    let confidence = g.add(Node::Load {
        row: RowRef::Trigger,
        slot: envelope::CONFIDENCE,
        ty: Scalar::Float,
    });
    let threshold = g.add(Node::Lit(Lit::Float(0.85f64.to_bits())));
    let sure = g.add(Node::Cmp {
        op: CmpOp::Gt,
        ty: Scalar::Float,
        lhs: confidence,
        rhs: threshold,
    });
    let both = g.add(Node::And(is_speeding, serious));
    let cond = g.add(Node::And(both, sure));
    let program = Program {
        format_version: cbp_ir::FORMAT_VERSION,
        nodes: g.finish(),
        rules: vec![Rule {
            name: "speeding".into(),
            qualified: "traffic.speeding".into(),
            layer: 1,
            trigger: MessageId(0),
            source: None,
            steps: vec![Step::When {
                cond,
                text: "speeding".into(),
                shows: Vec::new(),
            }],
            locals: 0,
            priority: None,
            then: Vec::new(),
            approval: None,
            on_approve: Vec::new(),
            on_reject: Vec::new(),
            no_response: None,
        }],
        ..Program::default()
    };
    (program, cond)
}

/// Rows with every mix of the three tests, some fields absent.
fn rows(interner: &mut Interner) -> Vec<Arc<Row>> {
    let kinds = [interner.intern("speeding"), interner.intern("red_light")];
    (0..ROWS)
        .map(|i| {
            let mut row = Row::new(MessageId(0), SLOTS, 1);
            row.set(VIOLATION_TYPE, kinds[i % 2]);
            row.set(envelope::SEVERITY, (i / 2 % 4) as u64);
            if i % 7 != 0 {
                row.set(
                    envelope::CONFIDENCE,
                    (0.80 + (i % 5) as f64 * 0.03).to_bits(),
                );
            }
            Arc::new(row)
        })
        .collect()
}

/// What an evaluation context borrows besides the row.
struct Env<'a> {
    program: &'a Program,
    interner: &'a Interner,
    places: &'a BTreeMap<Arc<str>, cbp_runtime::geo::Point>,
}

impl<'a> Env<'a> {
    fn context(self, row: &'a Arc<Row>) -> EvalContext<'a> {
        EvalContext {
            program: self.program,
            interner: self.interner,
            trigger: row,
            candidate: None,
            locals: &[],
            matches: &[],
            places: self.places,
            aggregates: None,
        }
    }
}

fn bench(c: &mut Criterion) {
    let (program, cond) = speeding_program();
    let mut interner = Interner::new();
    // as the engine does at start: every literal first
    interner.intern("speeding");
    let rows = rows(&mut interner);
    let speeding_id = interner.lookup("speeding").unwrap_or(u64::MAX);
    let places = BTreeMap::new();
    let context = |row| {
        Env {
            program: &program,
            interner: &interner,
            places: &places,
        }
        .context(row)
    };

    let jit = Jit::compile(&program, &mut |s| interner.lookup(s).unwrap_or(u64::MAX)).expect("jit");
    let compiled = jit.condition(cond).expect("compiled");
    let mut interpreter = Interpreter::new(&program);
    let mut evaluator = JitEvaluator::new(&program);

    // All four agree before they race.
    for row in &rows {
        let expected = interpreter.eval(&context(row), cond) == Value::Bool(true);
        assert_eq!(compiled.eval(row, None) == Some(true), expected);
        assert_eq!(evaluator.eval_bool(&context(row), cond), expected);
    }

    let hand_written = |row: &Row| {
        row.is_present(VIOLATION_TYPE)
            && row.get(VIOLATION_TYPE) == speeding_id
            && row.is_present(envelope::SEVERITY)
            && row.get(envelope::SEVERITY) as u32 >= MEDIUM
            && row.is_present(envelope::CONFIDENCE)
            && row.float(envelope::CONFIDENCE) > 0.85
    };
    for row in &rows {
        assert_eq!(hand_written(row), compiled.eval(row, None) == Some(true));
    }

    let mut group = c.benchmark_group("speeding");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("jit", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| compiled.eval(black_box(row), None) == Some(true))
                .count()
        })
    });
    group.bench_function("jit_evaluator", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| evaluator.eval_bool(&context(black_box(row)), cond))
                .count()
        })
    });
    group.bench_function("interpreter", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| interpreter.eval_bool(&context(black_box(row)), cond))
                .count()
        })
    });
    group.bench_function("hand_written", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| hand_written(black_box(row)))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

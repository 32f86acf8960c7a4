//! The reference interpreter on a hand-built expression graph: null propagation, Kleene
//! logic, quantities, builtins.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::expr::{ArithOp, Builtin, CmpOp, GraphBuilder, Lit, Node};
use cbp_ir::program::{Dispatch, Program};
use cbp_ir::{MessageId, NodeId, Row, Scalar, Ty, Value};
use cbp_runtime::geo::Point;
use cbp_runtime::intern::Interner;
use cbp_runtime::{EvalContext, Evaluator, Interpreter};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Fields added to `Program` later keep their serde defaults here.
fn empty() -> Program {
    serde_json::from_value(serde_json::json!({
        "format_version": cbp_ir::FORMAT_VERSION, "source_hash": "", "messages": [], "enums": [],
        "records": [], "nodes": [], "authorities": [], "systems": [], "plugins": [], "rules": [],
        "reports": [], "tests": [], "dispatch": {"by_message": []}
    }))
    .expect("an empty program deserializes")
}

fn program(nodes: Vec<Node>) -> Program {
    Program {
        format_version: cbp_ir::FORMAT_VERSION,
        source_hash: String::new(),
        messages: Vec::new(),
        enums: Vec::new(),
        records: vec![cbp_ir::program::RecordDef {
            name: "GeoPoint".into(),
            fields: vec![
                ("latitude".into(), Ty::Scalar(Scalar::Float)),
                ("longitude".into(), Ty::Scalar(Scalar::Float)),
                (
                    "address".into(),
                    Ty::Optional(Box::new(Ty::Scalar(Scalar::Str))),
                ),
            ],
        }],
        nodes,
        authorities: Vec::new(),
        systems: Vec::new(),
        plugins: Vec::new(),
        rules: Vec::new(),
        reports: Vec::new(),
        tests: Vec::new(),
        dispatch: Dispatch::default(),
        ..empty()
    }
}

fn eval_all(g: GraphBuilder, ids: &[NodeId]) -> Vec<Value> {
    let program = program(g.finish());
    let interner = Interner::new();
    let trigger = Arc::new(Row::new(MessageId(0), 0, 0));
    let mut places = BTreeMap::new();
    places.insert(
        Arc::<str>::from("ka.bengaluru.east.indiranagar"),
        Point {
            lat: 12.9716,
            lon: 77.6412,
        },
    );
    places.insert(
        Arc::<str>::from("ka.bengaluru.east.koramangala"),
        Point {
            lat: 12.9352,
            lon: 77.6245,
        },
    );
    places.insert(
        Arc::<str>::from("ka.mysuru.north.far"),
        Point {
            lat: 12.3,
            lon: 76.6,
        },
    );
    let cx = EvalContext {
        program: &program,
        interner: &interner,
        trigger: &trigger,
        candidate: None,
        locals: &[],
        matches: &[],
        places: &places,
        aggregates: None,
    };
    let mut interp = Interpreter::new(&program);
    ids.iter().map(|id| interp.eval(&cx, *id)).collect()
}

fn geo(g: &mut GraphBuilder, lat: f64, lon: f64) -> NodeId {
    let lat = g.add(Node::Lit(Lit::Float(lat.to_bits())));
    let lon = g.add(Node::Lit(Lit::Float(lon.to_bits())));
    let null = g.add(Node::Lit(Lit::Null));
    g.add(Node::Record {
        record: cbp_ir::RecordId(0),
        fields: vec![lat, lon, null],
    })
}

#[test]
fn null_propagates_and_logic_is_kleene() {
    let mut g = GraphBuilder::default();
    let null = g.add(Node::Lit(Lit::Null));
    let one = g.add(Node::Lit(Lit::Int(1)));
    let t = g.add(Node::Lit(Lit::Bool(true)));
    let f = g.add(Node::Lit(Lit::Bool(false)));
    let sum = g.add(Node::Arith {
        op: ArithOp::Add,
        ty: Scalar::Int,
        rhs_ty: Scalar::Int,
        lhs: null,
        rhs: one,
    });
    let cmp = g.add(Node::Cmp {
        op: CmpOp::Gt,
        ty: Scalar::Int,
        lhs: null,
        rhs: one,
    });
    let f_and_null = g.add(Node::And(f, null));
    let t_and_null = g.add(Node::And(t, null));
    let t_or_null = g.add(Node::Or(null, t));
    let coalesce = g.add(Node::Coalesce {
        value: null,
        default: one,
    });
    let cond = g.add(Node::If {
        cond: null,
        then: t,
        otherwise: f,
    });
    let zero = g.add(Node::Lit(Lit::Int(0)));
    let div0 = g.add(Node::Arith {
        op: ArithOp::Div,
        ty: Scalar::Int,
        rhs_ty: Scalar::Int,
        lhs: one,
        rhs: zero,
    });
    let values = eval_all(
        g,
        &[
            sum, cmp, f_and_null, t_and_null, t_or_null, coalesce, cond, div0,
        ],
    );
    assert_eq!(
        values,
        vec![
            Value::Null,
            Value::Null,
            Value::Bool(false),
            Value::Null,
            Value::Bool(true),
            Value::Int(1),
            Value::Bool(false),
            Value::Null
        ]
    );
}

#[test]
fn quantities_keep_their_units() {
    let mut g = GraphBuilder::default();
    let five_min = g.add(Node::Lit(Lit::Duration(300_000)));
    let half = g.add(Node::Lit(Lit::Float(0.5f64.to_bits())));
    let t0 = g.add(Node::Lit(Lit::Timestamp(1_000_000)));
    let scaled = g.add(Node::Arith {
        op: ArithOp::Mul,
        ty: Scalar::Duration,
        rhs_ty: Scalar::Float,
        lhs: five_min,
        rhs: half,
    });
    let later = g.add(Node::Arith {
        op: ArithOp::Add,
        ty: Scalar::Timestamp,
        rhs_ty: Scalar::Duration,
        lhs: t0,
        rhs: five_min,
    });
    let between = g.add(Node::Arith {
        op: ArithOp::Sub,
        ty: Scalar::Timestamp,
        rhs_ty: Scalar::Timestamp,
        lhs: later,
        rhs: t0,
    });
    let minutes = g.add(Node::Call {
        builtin: Builtin::Minutes,
        args: vec![five_min],
        ty: Ty::Scalar(Scalar::Float),
    });
    let values = eval_all(g, &[scaled, later, between, minutes]);
    assert_eq!(
        values,
        vec![
            Value::Duration(150_000),
            Value::Timestamp(1_300_000),
            Value::Duration(300_000),
            Value::Float(5.0)
        ]
    );
}

#[test]
fn builtins() {
    let mut g = GraphBuilder::default();
    let a = geo(&mut g, 12.9784, 77.6408);
    let b = geo(&mut g, 12.9802, 77.6408);
    let distance = g.add(Node::Call {
        builtin: Builtin::Distance,
        args: vec![a, b],
        ty: Ty::Scalar(Scalar::Distance),
    });
    let zone = g.add(Node::Lit(Lit::Zone("ka.bengaluru.east.indiranagar".into())));
    let parent = g.add(Node::Call {
        builtin: Builtin::ParentZone,
        args: vec![zone],
        ty: Ty::Scalar(Scalar::Zone),
    });
    let inside = g.add(Node::Call {
        builtin: Builtin::InZone,
        args: vec![zone, parent],
        ty: Ty::Scalar(Scalar::Bool),
    });
    let x = g.add(Node::Lit(Lit::Str("x".into())));
    let y = g.add(Node::Lit(Lit::Str("y".into())));
    let list = g.add(Node::List {
        items: vec![x, y, x],
        ty: Ty::List(Box::new(Ty::Scalar(Scalar::Str))),
    });
    let distinct = g.add(Node::Call {
        builtin: Builtin::Distinct,
        args: vec![list],
        ty: Ty::List(Box::new(Ty::Scalar(Scalar::Str))),
    });
    let len = g.add(Node::Call {
        builtin: Builtin::ListLen,
        args: vec![distinct],
        ty: Ty::Scalar(Scalar::Int),
    });
    let two = g.add(Node::Lit(Lit::Int(2)));
    let three = g.add(Node::Lit(Lit::Int(3)));
    let ints = g.add(Node::List {
        items: vec![two, three],
        ty: Ty::List(Box::new(Ty::Scalar(Scalar::Int))),
    });
    let sum = g.add(Node::Call {
        builtin: Builtin::Sum,
        args: vec![ints],
        ty: Ty::Scalar(Scalar::Int),
    });
    let max = g.add(Node::Call {
        builtin: Builtin::Max,
        args: vec![ints],
        ty: Ty::Scalar(Scalar::Int),
    });
    let is_in = g.add(Node::In {
        item: y,
        list,
        elem: Ty::Scalar(Scalar::Str),
    });
    let origin = geo(&mut g, 12.9716, 77.6412);
    let hospital = geo(&mut g, 12.9352, 77.6245);
    let route = g.add(Node::Call {
        builtin: Builtin::Route,
        args: vec![origin, hospital],
        ty: Ty::Never,
    });
    let values = eval_all(g, &[distance, parent, inside, len, sum, max, is_in, route]);
    let Value::Distance(d) = values[0] else {
        panic!("{:?}", values[0])
    };
    assert!((d - 200.15).abs() < 0.1, "{d}");
    assert_eq!(values[1], Value::Zone(Arc::from("ka.bengaluru.east")));
    assert_eq!(values[2], Value::Bool(true));
    assert_eq!(values[3], Value::Int(2));
    assert_eq!(values[4], Value::Int(5));
    assert_eq!(values[5], Value::Int(3));
    assert_eq!(values[6], Value::Bool(true));
    let Value::Record(fields) = &values[7] else {
        panic!("{:?}", values[7])
    };
    let zones = &fields.iter().find(|(k, _)| &**k == "zones").unwrap().1;
    assert_eq!(
        zones,
        &Value::List(Arc::new(vec![
            Value::Zone(Arc::from("ka.bengaluru.east.indiranagar")),
            Value::Zone(Arc::from("ka.bengaluru.east.koramangala")),
        ]))
    );
}

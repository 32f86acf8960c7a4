//! Checking one item's body against the item table, producing its HIR.

use crate::diag::{Loc, LocDiag};
use crate::expr::{Cx, Local};
use crate::hir::{self, FieldValue, ItemId, Layer, Ty};
use crate::queries::ItemCheck;
use crate::scope::Scope;
use crate::suggest::did_you_mean;
use crate::table::{FieldSig, SigKind, Table, Tag};
use cbp_syntax::ast::{self, Expr, Item};
use std::collections::HashSet;
use std::sync::Arc;

pub fn check_item(table: &Table, scope: &Scope, here: Loc, is_std: bool, item: &Item) -> ItemCheck {
    let mut cx = Cx::new(table, scope, here);
    crate::annotations::check(&mut cx, item, is_std);
    let id = item.name().map(|n| ItemId::new(&scope.package, &n.name));
    // Items that lost a duplicate-name clash are not checked against the winner's signature.
    let sig = id
        .as_ref()
        .and_then(|id| table.get(id))
        .filter(|s| s.loc.file == here.file && s.loc.item == here.item);
    let kind = match (item, sig) {
        (Item::Rule(r), _) => crate::rule::check_rule(&mut cx, r).map(hir::ItemKind::Rule),
        (Item::Report(r), _) => check_report(&mut cx, r).map(hir::ItemKind::Report),
        (Item::Test(t), _) => Some(hir::ItemKind::Test(check_test(&mut cx, t))),
        (Item::Const(c), Some(sig)) => check_const(&mut cx, c, &sig.kind).map(hir::ItemKind::Const),
        (Item::Fn(f), Some(sig)) => check_fn(&mut cx, f, &sig.kind).map(hir::ItemKind::Fn),
        (Item::Plugin(p), Some(_)) => Some(hir::ItemKind::Plugin(crate::props::check_plugin(
            &mut cx, p,
        ))),
        (Item::Authority(a), Some(_)) => Some(hir::ItemKind::Authority(
            crate::props::check_authority(&mut cx, a),
        )),
        (Item::System(s), Some(_)) => {
            crate::props::check_system(&mut cx, s).map(hir::ItemKind::System)
        }
        (_, Some(sig)) => declaration(&sig.kind),
        _ => None,
    };
    let mut used: Vec<Arc<str>> = cx.used.into_iter().collect();
    used.sort();
    ItemCheck {
        id,
        kind,
        diags: cx.diags,
        used_imports: used,
    }
}

fn hir_fields(fields: &[FieldSig]) -> Vec<hir::Field> {
    fields
        .iter()
        .map(|f| hir::Field {
            name: f.name.clone(),
            ty: f.ty.clone(),
            pii: f.pii,
            range: f.range,
        })
        .collect()
}

/// Enums, records, messages and action kinds: everything was checked with the signatures.
fn declaration(kind: &SigKind) -> Option<hir::ItemKind> {
    Some(match kind {
        SigKind::Enum { ordered, variants } => hir::ItemKind::Enum(hir::Enum {
            ordered: *ordered,
            variants: variants.clone(),
        }),
        SigKind::Record { fields } => hir::ItemKind::Record(hir::Record {
            fields: hir_fields(fields),
        }),
        SigKind::Message { kind, fields } => hir::ItemKind::Message(hir::Message {
            kind: *kind,
            fields: hir_fields(fields),
        }),
        SigKind::Action { open, params } => hir::ItemKind::Action(hir::ActionKind {
            open: *open,
            params: hir_fields(params),
        }),
        _ => return None,
    })
}

fn check_const(cx: &mut Cx<'_>, c: &ast::ConstDecl, sig: &SigKind) -> Option<hir::Const> {
    let SigKind::Const { ty, .. } = sig else {
        return None;
    };
    // The signature reported an untyped constant it could not type; one report is enough.
    cx.quiet_ambiguous_m = c.ty.is_none() && ty.is_unknown();
    let (value, _) = cx.expect(&c.value, ty);
    Some(hir::Const {
        ty: ty.clone(),
        value,
    })
}

fn check_fn(cx: &mut Cx<'_>, f: &ast::FnDecl, sig: &SigKind) -> Option<hir::Fn> {
    let SigKind::Fn {
        params,
        ret,
        sanitizes,
        aggregate,
        ..
    } = sig
    else {
        return None;
    };
    for ((name, ty), p) in params.iter().zip(&f.params) {
        cx.locals.push(Local {
            name: name.clone(),
            ty: ty.clone(),
            taint: None,
            span: p.span,
            is_let: false,
        });
    }
    let body = match &f.body {
        Some(b) => Some(cx.expect(b, ret).0),
        None if !f.is_extern => None,
        None => None,
    };
    Some(hir::Fn {
        params: params.clone(),
        ret: ret.clone(),
        body,
        sanitizes: *sanitizes,
        aggregate: *aggregate,
    })
}

/// A layer name (`local` … `national`), reporting unknown ones with a suggestion.
pub fn layer(cx: &mut Cx<'_>, name: &ast::Ident) -> Option<Layer> {
    if let Some(l) = Layer::from_name(&name.name) {
        return Some(l);
    }
    let help = did_you_mean(&name.name, Layer::ALL.iter().map(|l| l.name()))
        .unwrap_or_else(|| "layers are `local`, `district`, `city`, `state` and `national`".into());
    cx.push(
        LocDiag::error(
            "E0108",
            cx.at(name.span),
            format!("unknown layer `{}`", name.name),
        )
        .label("not a layer")
        .help(help),
    );
    None
}

/// The value in milliseconds of a constant duration: a literal or a duration constant.
pub fn const_duration(cx: &Cx<'_>, x: &hir::Expr) -> Option<i64> {
    match &x.kind {
        hir::ExprKind::Duration(ms) => Some(*ms),
        hir::ExprKind::Const(id) => match cx.table.get(id).map(|s| &s.kind) {
            Some(SigKind::Const { duration_ms, .. }) => *duration_ms,
            _ => None,
        },
        _ => None,
    }
}

const HOUR_MS: i64 = 3_600_000;

fn check_report(cx: &mut Cx<'_>, r: &ast::ReportDecl) -> Option<hir::Report> {
    cx.in_report = true;
    let at = layer(cx, &r.layer);
    let to = layer(cx, &r.to);
    if let (Some(at), Some(to)) = (at, to)
        && to <= at
    {
        cx.push(
            LocDiag::error(
                "E0417",
                cx.at(r.to.span),
                format!(
                    "report goes to `{}`, which is not above `{}`",
                    to.name(),
                    at.name()
                ),
            )
            .label("reports go up the hierarchy")
            .help(format!("send it to a layer above `{}`", at.name())),
        );
    }
    let (every, _) = cx.expect(&r.every, &Ty::Duration);
    let every_ms = const_duration(cx, &every);
    match every_ms {
        Some(ms) if ms > 0 && (HOUR_MS % ms == 0 || ms % HOUR_MS == 0) => {}
        Some(_) => cx.push(
            LocDiag::error(
                "E0416",
                cx.at(every.span),
                "report period does not align to the hour",
            )
            .label("must divide 1h or be a multiple of 1h")
            .help("use a period like `15m`, `30m`, `1h` or `24h`"),
        ),
        None if every.ty == Ty::Duration => cx.push(
            LocDiag::error(
                "E0416",
                cx.at(every.span),
                "report period must be a duration literal",
            )
            .label("not a constant duration")
            .help("write the period, like `every 15m`"),
        ),
        None => {}
    }
    let name = r.name.name.clone();
    let mut seen = HashSet::new();
    let mut fields = Vec::with_capacity(r.fields.len());
    for p in &r.fields {
        if !seen.insert(p.name.name.as_str()) {
            cx.push(
                LocDiag::error(
                    "E0113",
                    cx.at(p.name.span),
                    format!("`{}` is given twice", p.name.name),
                )
                .label("duplicate field"),
            );
            continue;
        }
        let (value, taint) = cx.check(&p.value, None);
        let into = format!("report `{name}` field `{}`", p.name.name);
        let text = crate::print::expr_text(&p.value);
        let ty = value.ty.clone();
        cx.sink(taint, &ty, p.value.span(), &text, &into);
        fields.push(FieldValue {
            name: p.name.name.as_str().into(),
            value,
        });
    }
    Some(hir::Report {
        layer: at?,
        every_ms: every_ms.unwrap_or(0),
        to: to?,
        fields,
    })
}

/// Fields of the output records of CONTRACT.md section 3, by `expect` kind.
fn expect_fields(kind: ast::ExpectKind) -> &'static [&'static str] {
    use ast::ExpectKind::*;
    match kind {
        Decision => &[
            "decision_id",
            "rule",
            "trigger",
            "related",
            "layer",
            "node",
            "time",
            "actions",
            "approval",
            "rationale",
        ],
        Approval => &["decision_id", "status", "by", "time", "rule"],
        Escalation => &[
            "decision_id",
            "incident_id",
            "incident",
            "from",
            "to",
            "reason",
            "time",
            "rule",
        ],
        Report => &[
            "report",
            "from",
            "to",
            "window_start",
            "window_end",
            "total_events",
            "event_breakdown",
            "escalated_incidents",
        ],
        Command => &["from", "to", "directive", "actions", "time", "rule"],
        Action => &["type", "target", "params", "rule", "decision_id"],
        DeadLetter => &["line", "error", "input"],
    }
}

fn check_test(cx: &mut Cx<'_>, t: &ast::TestDecl) -> hir::Test {
    let mut steps = Vec::new();
    for s in &t.steps {
        match s {
            ast::TestStep::Send(x) => {
                let Some(id) = cx.resolve_kind(&x.message, "message type", &|t| {
                    matches!(t, Tag::Message(_))
                }) else {
                    continue;
                };
                let (at, _) = cx.check(&x.at, Some(&Ty::Duration));
                if !matches!(at.ty, Ty::Duration | Ty::Timestamp) && !at.ty.is_unknown() {
                    cx.push(
                        LocDiag::error("E0201", cx.at(at.span), format!("expected a duration offset or a timestamp, found `{}`", at.ty))
                            .label("when the message is sent")
                            .help("write an offset like `at 5s` or `at timestamp(\"2025-01-01T00:05:00Z\")`"),
                    );
                }
                let table = cx.table;
                let payload = table.get(&id).map(|s| s.fields()).unwrap_or(&[]);
                let fields = cx.props(
                    &x.fields,
                    payload,
                    &table.envelope,
                    false,
                    &format!("message `{}`", id.name),
                    x.span,
                    &mut |_, _, _| {},
                );
                steps.push(hir::Step::Send {
                    message: id,
                    at,
                    fields,
                });
            }
            ast::TestStep::Advance(e, _) => {
                let (d, _) = cx.expect(e, &Ty::Duration);
                steps.push(hir::Step::Advance(d));
            }
            ast::TestStep::Expect(x) => steps.extend(check_expect(cx, x)),
            ast::TestStep::Error(_) => {}
        }
    }
    hir::Test {
        name: t.name.value.clone(),
        steps,
    }
}

fn check_expect(cx: &mut Cx<'_>, x: &ast::ExpectStep) -> Option<hir::Step> {
    use ast::ExpectKind as K;
    let count = match &x.count {
        Some(Expr::Int(n, _)) => Some(*n),
        Some(e) => {
            cx.expect(e, &Ty::Int);
            None
        }
        None => None,
    };
    let subject = match &x.subject {
        None => None,
        Some(p) => {
            let (what, ok): (&str, &dyn Fn(Tag) -> bool) = match x.kind {
                K::Decision | K::Approval => ("rule", &|t| t == Tag::Rule),
                K::Escalation => ("incident or rule", &|t| {
                    matches!(t, Tag::Rule | Tag::Message(ast::MessageKind::Incident))
                }),
                K::Report => ("report", &|t| t == Tag::Report),
                K::Command => ("directive or rule", &|t| {
                    matches!(t, Tag::Rule | Tag::Message(ast::MessageKind::Directive))
                }),
                K::Action => ("action kind", &|t| t == Tag::Action),
                K::DeadLetter => ("nothing", &|_| false),
            };
            if x.kind == K::DeadLetter {
                cx.push(
                    LocDiag::error(
                        "E0418",
                        cx.at(p.span),
                        "`expect dead_letter` takes no subject",
                    )
                    .label("remove this")
                    .help("match dead letters by their fields: `expect dead_letter { line: 3 }`"),
                );
                None
            } else {
                cx.resolve_kind(p, what, ok)
            }
        }
    };
    let known = expect_fields(x.kind);
    let mut fields = Vec::new();
    for p in &x.fields {
        if !known.contains(&p.name.name.as_str()) {
            let help = did_you_mean(&p.name.name, known.iter().copied());
            cx.push(
                LocDiag::error(
                    "E0418",
                    cx.at(p.name.span),
                    format!(
                        "`{}` records have no field `{}`",
                        x.kind.keyword(),
                        p.name.name
                    ),
                )
                .label("unknown output field")
                .help(help.unwrap_or_else(|| {
                    format!(
                        "fields are {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })),
            );
            continue;
        }
        let value = expect_value(cx, &p.value);
        fields.push(FieldValue {
            name: p.name.name.as_str().into(),
            value,
        });
    }
    Some(hir::Step::Expect {
        negated: x.negated,
        count,
        kind: x.kind,
        subject,
        fields,
    })
}

/// An expected output value: any expression; a bare name that is not a constant (a rule,
/// a layer, `L1`, `auto_approved`…) stands for itself as a string. Output records hold JSON
/// (`params`, `from`, `event_breakdown`), so a record literal or a list is a JSON-like value
/// here, its fields checked the same way rather than against a declared record.
fn expect_value(cx: &mut Cx<'_>, e: &Expr) -> hir::Expr {
    match e {
        Expr::Name(i) => {
            let is_const = cx
                .scope
                .lookup(&cx.table.names, &i.name)
                .is_some_and(|(id, _)| cx.table.get(&id).is_some_and(|s| s.tag == Tag::Const));
            if !is_const {
                return hir::Expr {
                    kind: hir::ExprKind::Str(i.name.clone()),
                    ty: Ty::String,
                    span: i.span,
                };
            }
            cx.check(e, None).0
        }
        Expr::Record(props, span) => {
            let mut seen = HashSet::new();
            let mut fields = Vec::with_capacity(props.len());
            for p in props {
                if !seen.insert(p.name.name.as_str()) {
                    cx.push(
                        LocDiag::error(
                            "E0113",
                            cx.at(p.name.span),
                            format!("`{}` is given twice", p.name.name),
                        )
                        .label("duplicate field"),
                    );
                    continue;
                }
                fields.push(FieldValue {
                    name: p.name.name.as_str().into(),
                    value: expect_value(cx, &p.value),
                });
            }
            hir::Expr {
                kind: hir::ExprKind::Record(fields),
                ty: json_object(),
                span: *span,
            }
        }
        Expr::List(xs, span) => {
            let items: Vec<hir::Expr> = xs.iter().map(|x| expect_value(cx, x)).collect();
            let first = items.first().map(|x| x.ty.clone());
            // A list of one type keeps it; a mixed list is a list of JSON values.
            let elem = match first {
                Some(t) if items.iter().all(|x| x.ty == t) => t,
                _ => Ty::Any,
            };
            hir::Expr {
                kind: hir::ExprKind::List(items),
                ty: Ty::List(Box::new(elem)),
                span: *span,
            }
        }
        _ => cx.check(e, None).0,
    }
}

/// The type of a JSON object written in an `expect`: string keys, values of any type.
fn json_object() -> Ty {
    Ty::Map(Box::new(Ty::String), Box::new(Ty::Any))
}

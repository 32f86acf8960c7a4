//! Rules: trigger, conditions, correlations with bounded windows, actions, escalations,
//! commands and the approval workflow.

use crate::check::{const_duration, layer};
use crate::diag::LocDiag;
use crate::expr::{Cx, Local};
use crate::hir::{self, ItemId, Layer, Ty};
use crate::print::expr_text;
use crate::table::{SigKind, Tag};
use cbp_syntax::ast::{self, MessageKind, Outcome, RuleClause};
use std::sync::Arc;

const MAX_WINDOW_MS: i64 = 7 * 86_400_000;

struct RuleCx<'r> {
    name: &'r str,
    layer: Option<Layer>,
}

pub fn check_rule(cx: &mut Cx<'_>, r: &ast::RuleDecl) -> Option<hir::Rule> {
    let rule_layer = layer(cx, &r.layer);
    let rc = RuleCx {
        name: &r.name.name,
        layer: rule_layer,
    };

    // The trigger comes first, wherever it is written.
    let ons: Vec<&ast::OnClause> = r
        .clauses
        .iter()
        .filter_map(|c| {
            if let RuleClause::On(o) = c {
                Some(o)
            } else {
                None
            }
        })
        .collect();
    // A clause the parser could not read may have been the trigger: say nothing more.
    let broken = r.clauses.iter().any(|c| matches!(c, RuleClause::Error(_)));
    let trigger = match ons.as_slice() {
        [] if broken => {
            cx.quiet_unknown_names = true;
            None
        }
        [] => {
            cx.push(
                LocDiag::error(
                    "E0400",
                    cx.at(r.name.span),
                    format!("rule `{}` has no trigger", r.name.name),
                )
                .label("no `on` clause")
                .help("add a trigger: `on v: some_event`"),
            );
            None
        }
        [first, rest @ ..] => {
            for extra in rest {
                cx.push(
                    LocDiag::error(
                        "E0400",
                        cx.at(extra.span),
                        "a rule has exactly one `on` trigger",
                    )
                    .label("second trigger")
                    .secondary(cx.at(first.span), "first trigger here")
                    .help("use `correlate` to combine messages, or write a second rule"),
                );
            }
            trigger(cx, first)
        }
    };
    let approvals: Vec<&ast::ApprovalClause> = r
        .clauses
        .iter()
        .filter_map(|c| {
            if let RuleClause::Approval(a) = c {
                Some(a)
            } else {
                None
            }
        })
        .collect();
    for extra in approvals.iter().skip(1) {
        cx.push(
            LocDiag::error(
                "E0422",
                cx.at(extra.span),
                "a rule has at most one `approval` clause",
            )
            .label("second approval clause"),
        );
    }

    let mut clauses = Vec::new();
    let mut priority = None;
    let mut then = Vec::new();
    let mut approval: Option<hir::Approval> = None;
    let mut approval_span = None;
    let mut authority_approves: Option<(ItemId, Vec<Arc<str>>)> = None;
    let mut on_approve = Vec::new();
    let mut on_reject = Vec::new();
    let mut no_response = None;
    let mut seen_priority = false;

    for clause in &r.clauses {
        match clause {
            RuleClause::On(_) | RuleClause::Error(_) => {}
            RuleClause::When(e, _) => {
                let (x, _) = cx.expect(e, &Ty::Bool);
                clauses.push(hir::Clause::When(x));
            }
            RuleClause::Let(l) => {
                let (x, taint) = cx.check(&l.value, None);
                if let Some(prev) = cx.locals.iter().rev().find(|p| *p.name == *l.name.name) {
                    let prev_span = prev.span;
                    cx.push(
                        LocDiag::warning(
                            "W0002",
                            cx.at(l.name.span),
                            format!("`{}` shadows an earlier binding", l.name.name),
                        )
                        .label("shadows")
                        .secondary(cx.at(prev_span), "first bound here")
                        .help("choose a different name"),
                    );
                }
                let name: Arc<str> = l.name.name.as_str().into();
                cx.locals.push(Local {
                    name: name.clone(),
                    ty: x.ty.clone(),
                    taint,
                    span: l.name.span,
                    is_let: true,
                });
                clauses.push(hir::Clause::Let { name, value: x });
            }
            RuleClause::Correlate(k) => {
                if let Some(c) = correlate(cx, k) {
                    clauses.push(c);
                }
            }
            RuleClause::Priority(e, s) => {
                if seen_priority {
                    cx.push(
                        LocDiag::error("E0422", cx.at(*s), "a rule has at most one `priority`")
                            .label("second priority"),
                    );
                }
                seen_priority = true;
                let (x, _) = cx.expect(e, &cx.std_ty("Priority"));
                priority = Some(x);
            }
            RuleClause::Then(b) => then.extend(actions(cx, &rc, b)),
            RuleClause::Approval(a) => {
                if approval.is_some() {
                    continue;
                }
                approval_span = Some(a.span);
                let (within, _) = cx.expect(&a.within, &Ty::Duration);
                let within_ms = const_duration(cx, &within);
                if let Some(auth) =
                    cx.resolve_kind(&a.authority, "authority", &|t| t == Tag::Authority)
                {
                    let sig = cx.table.get(&auth).cloned();
                    if let Some(sig) = sig
                        && let SigKind::Authority { level, approves } = &sig.kind
                    {
                        if let (Some(level), Some(rl)) = (level, rule_layer)
                            && *level < rl.level()
                        {
                            cx.push(
                                LocDiag::error(
                                    "E0406",
                                    cx.at(a.authority.span),
                                    format!(
                                        "authority `{}` (level L{level}) cannot approve a rule at the `{}` layer (L{})",
                                        auth.name,
                                        rl.name(),
                                        rl.level()
                                    ),
                                )
                                .label(format!("L{level} is below L{}", rl.level()))
                                .secondary(sig.loc, "authority declared here")
                                .help(format!("choose an authority of level L{} or above", rl.level())),
                            );
                        }
                        if let Some(list) = approves {
                            authority_approves = Some((auth.clone(), list.clone()));
                        }
                    }
                    approval = Some(hir::Approval {
                        authority: auth,
                        within_ms: within_ms.unwrap_or(0),
                        default: a.default,
                    });
                }
            }
            RuleClause::OnOutcome(o) => {
                if approvals.is_empty() {
                    cx.push(
                        LocDiag::error(
                            "E0407",
                            cx.at(o.span),
                            format!("`on {}` without an `approval` clause", o.outcome.keyword()),
                        )
                        .label("nothing to approve or reject")
                        .help("add `approval by <authority> within 30m else approve`"),
                    );
                }
                let acts = actions(cx, &rc, &o.block);
                if o.outcome == Outcome::Approve
                    && let Some((auth, list)) = &authority_approves
                {
                    for a in &acts {
                        if let hir::Action::Invoke { kind, span, .. } = a
                            && !list.iter().any(|k| **k == *kind.name)
                        {
                            let decl = cx.table.get(auth).map(|s| s.loc);
                            let mut d = LocDiag::error(
                                "E0415",
                                cx.at(*span),
                                format!(
                                    "authority `{}` does not approve `{}` actions",
                                    auth.name, kind.name
                                ),
                            )
                            .label("not in the authority's `approves` list")
                            .help(format!(
                                "add `{}` to `approves` of `{}` or ask another authority",
                                kind.name, auth.name
                            ));
                            if let Some(decl) = decl {
                                d = d.secondary(decl, "authority declared here");
                            }
                            cx.push(d);
                        }
                    }
                }
                match o.outcome {
                    Outcome::Reject => on_reject.extend(acts),
                    _ => on_approve.extend(acts),
                }
            }
            RuleClause::NoResponse(n) => {
                let (within, _) = cx.expect(&n.within, &Ty::Duration);
                let ms = const_duration(cx, &within);
                match (approvals.first(), approval.as_ref()) {
                    (None, _) => cx.push(
                        LocDiag::error(
                            "E0407",
                            cx.at(n.span),
                            "`if no response` without an `approval` clause",
                        )
                        .label("no response to what?")
                        .help("add `approval by <authority> within 30m else approve`"),
                    ),
                    (Some(a), Some(ap)) => {
                        if let Some(ms) = ms
                            && ap.within_ms > 0
                            && ms >= ap.within_ms
                        {
                            cx.push(
                                LocDiag::error(
                                    "E0408",
                                    cx.at(within.span),
                                    "the no-response deadline is not before the approval deadline",
                                )
                                .label("must be shorter than the approval deadline")
                                .secondary(cx.at(a.within.span()), "approval deadline here")
                                .help("escalate before the fail-safe default applies"),
                            );
                        }
                    }
                    _ => {}
                }
                let acts = actions(cx, &rc, &n.block);
                no_response = Some((ms.unwrap_or(0), acts));
            }
        }
    }
    let _ = approval_span;
    Some(hir::Rule {
        layer: rule_layer?,
        trigger: trigger?,
        clauses,
        priority,
        then,
        approval,
        on_approve,
        on_reject,
        no_response,
    })
}

fn trigger(cx: &mut Cx<'_>, o: &ast::OnClause) -> Option<hir::Trigger> {
    let message = cx.resolve_kind(&o.message, "message type", &|t| {
        matches!(t, Tag::Message(_))
    });
    let binding: Arc<str> = o.binding.name.as_str().into();
    let ty = message.clone().map_or(Ty::Error, Ty::Message);
    cx.locals.push(Local {
        name: binding.clone(),
        ty,
        taint: None,
        span: o.binding.span,
        is_let: false,
    });
    let source = match &o.source {
        Some(p) => {
            let plugin = cx.resolve_kind(p, "plugin", &|t| t == Tag::Plugin);
            if let (Some(pl), Some(msg)) = (&plugin, &message)
                && let Some(SigKind::Plugin { emits }) = cx.table.get(pl).map(|s| &s.kind)
                && !emits.contains(msg)
            {
                let decl = cx.table.get(pl).map(|s| s.loc);
                let mut d = LocDiag::error(
                    "E0403",
                    cx.at(p.span),
                    format!("plugin `{}` does not emit `{}`", pl.name, msg.name),
                )
                .label(format!("not in `{}`'s `emits`", pl.name))
                .help(format!("add `{}` to the plugin's `emits` list", msg.name));
                if let Some(decl) = decl {
                    d = d.secondary(decl, "plugin declared here");
                }
                cx.push(d);
            }
            plugin
        }
        None => None,
    };
    Some(hir::Trigger {
        binding,
        message: message?,
        source,
    })
}

fn correlate(cx: &mut Cx<'_>, k: &ast::CorrelateClause) -> Option<hir::Clause> {
    let message = cx.resolve_kind(&k.message, "message type", &|t| {
        matches!(t, Tag::Message(_))
    });
    let what = if k.absent { "absent" } else { "correlate" };
    let window_ms = match &k.window {
        None => {
            cx.push(
                LocDiag::error("E0401", cx.at(k.span), "window is not bounded in time")
                    .label(format!("`{what}` needs a window"))
                    .help("add `over last 5m`"),
            );
            None
        }
        Some(w) => {
            let (x, _) = cx.expect(w, &Ty::Duration);
            let ms = const_duration(cx, &x);
            match ms {
                Some(ms) if ms <= 0 || ms > MAX_WINDOW_MS => {
                    cx.push(
                        LocDiag::error(
                            "E0402",
                            cx.at(x.span),
                            "window must be longer than 0 and at most 7d",
                        )
                        .label("out of range")
                        .help("windows are kept in memory; use at most `over last 7d`"),
                    );
                }
                None if x.ty == Ty::Duration => {
                    cx.push(
                        LocDiag::error(
                            "E0402",
                            cx.at(x.span),
                            "window must be a constant duration",
                        )
                        .label("not a constant")
                        .help("write the window, like `over last 5m`"),
                    );
                }
                _ => {}
            }
            ms
        }
    };
    let radius = k.radius.as_ref().map(|e| cx.expect(e, &Ty::Distance).0);
    let binding: Arc<str> = k.binding.name.as_str().into();
    let one = message.clone().map_or(Ty::Error, Ty::Message);
    // Inside `where` the binding is one message.
    cx.locals.push(Local {
        name: binding.clone(),
        ty: one.clone(),
        taint: None,
        span: k.binding.span,
        is_let: false,
    });
    let filter = k.filter.as_ref().map(|e| cx.expect(e, &Ty::Bool).0);
    cx.locals.pop();
    let min_count = k.min_count.as_ref().map(|e| {
        let (x, _) = cx.expect(e, &Ty::Int);
        if let hir::ExprKind::Int(n) = x.kind
            && n < 1
        {
            cx.push(
                LocDiag::error(
                    "E0419",
                    cx.at(x.span),
                    format!("`at least {n}` can never fail"),
                )
                .label("must be at least 1")
                .help("use `absent` to require that no message exists"),
            );
        }
        x
    });
    // After the clause it is the list of matching messages.
    cx.locals.push(Local {
        name: binding.clone(),
        ty: Ty::List(Box::new(one)),
        taint: None,
        span: k.binding.span,
        is_let: false,
    });
    Some(hir::Clause::Correlate(Box::new(hir::Correlation {
        absent: k.absent,
        binding,
        message: message?,
        window_ms: window_ms.unwrap_or(0),
        radius,
        filter,
        min_count,
    })))
}

fn actions(cx: &mut Cx<'_>, rc: &RuleCx<'_>, block: &ast::ActionBlock) -> Vec<hir::Action> {
    let mut out = Vec::new();
    for a in &block.actions {
        let checked = match a {
            ast::Action::Invoke(i) => invoke(cx, rc, i),
            ast::Action::Escalate(e) => escalate(cx, rc, e),
            ast::Action::Command(c) => command(cx, rc, c),
            ast::Action::Error(_) => None,
        };
        out.extend(checked);
    }
    out
}

fn invoke(cx: &mut Cx<'_>, rc: &RuleCx<'_>, i: &ast::InvokeAction) -> Option<hir::Action> {
    let kind_path = ast::Path {
        segments: vec![i.kind.clone()],
        span: i.kind.span,
    };
    let kind = cx.resolve_kind(&kind_path, "action kind", &|t| t == Tag::Action);
    let target = cx.resolve_kind(&i.target, "authority or system", &|t| {
        matches!(t, Tag::Authority | Tag::System)
    });
    // Personal data may go only to local targets from local rules.
    let leaves_local = rc.layer.is_some_and(|l| l > Layer::Local)
        || target
            .as_ref()
            .and_then(|t| cx.table.get(t))
            .is_some_and(|s| match &s.kind {
                SigKind::Authority { level, .. } => level.is_some_and(|l| l > 1),
                SigKind::System { layer } => layer.is_some_and(|l| l > Layer::Local),
                _ => false,
            });
    let table = cx.table;
    let (open, params) = match kind.as_ref().and_then(|k| table.get(k)).map(|s| &s.kind) {
        Some(SigKind::Action { open, params }) => (*open, params.as_slice()),
        _ => (true, &[][..]),
    };
    let kind_name = i.kind.name.clone();
    let target_name = i.target.dotted();
    let values = cx.props(
        &i.params,
        params,
        &[],
        open,
        &format!("action `{kind_name}`"),
        i.span,
        &mut |cx, (name, span, ty), taint| {
            if leaves_local {
                let into = format!("action `{kind_name}` on `{target_name}` parameter `{name}`");
                let text = name.to_owned();
                cx.sink(taint, ty, span, &text, &into);
            }
        },
    );
    Some(hir::Action::Invoke {
        kind: kind?,
        target: target?,
        params: values,
        span: i.span,
    })
}

fn escalate(cx: &mut Cx<'_>, rc: &RuleCx<'_>, e: &ast::EscalateAction) -> Option<hir::Action> {
    let incident = cx.resolve_kind(&e.incident, "incident", &|t| {
        t == Tag::Message(MessageKind::Incident)
    });
    let to = layer(cx, &e.to);
    if let (Some(to), Some(from)) = (to, rc.layer)
        && to <= from
    {
        cx.push(
            LocDiag::error(
                "E0404",
                cx.at(e.to.span),
                format!("cannot escalate from `{}` to `{}`", from.name(), to.name()),
            )
            .label("escalations go strictly up the hierarchy")
            .help(format!(
                "escalate to a layer above `{}`, or use `command` to go down",
                from.name()
            )),
        );
    }
    let table = cx.table;
    let payload = incident
        .as_ref()
        .and_then(|i| table.get(i))
        .map(|s| s.fields())
        .unwrap_or(&[]);
    let inc_name = e.incident.dotted();
    let owner = format!("incident `{inc_name}`");
    let values = cx.props(
        &e.fields,
        payload,
        &table.envelope,
        incident.is_none(),
        &owner,
        e.span,
        &mut |cx, (name, span, ty), taint| {
            let into = format!("escalation `{inc_name}` field `{name}`");
            cx.sink(taint, ty, span, name, &into);
        },
    );
    let _ = rc.name;
    Some(hir::Action::Escalate {
        incident: incident?,
        to: to?,
        fields: values,
        span: e.span,
    })
}

fn command(cx: &mut Cx<'_>, rc: &RuleCx<'_>, c: &ast::CommandAction) -> Option<hir::Action> {
    let directive = cx.resolve_kind(&c.directive, "directive", &|t| {
        t == Tag::Message(MessageKind::Directive)
    });
    if rc.layer == Some(Layer::Local) {
        cx.push(
            LocDiag::error(
                "E0405",
                cx.at(c.span),
                "a rule at the `local` layer cannot send commands",
            )
            .label("the local layer has no nodes below it")
            .help("send commands from a district or higher rule; act locally with an action"),
        );
    }
    let to = match &c.to {
        ast::CommandTarget::Children(_) => hir::CommandTarget::Children,
        ast::CommandTarget::Zones(e) => {
            let (x, _) = cx.expect(e, &Ty::List(Box::new(Ty::Zone)));
            hir::CommandTarget::Zones(x)
        }
    };
    let table = cx.table;
    let payload = directive
        .as_ref()
        .and_then(|d| table.get(d))
        .map(|s| s.fields())
        .unwrap_or(&[]);
    let owner = format!("directive `{}`", c.directive.dotted());
    // Commands go down the hierarchy: personal data may flow with them.
    let values = cx.props(
        &c.fields,
        payload,
        &table.envelope,
        directive.is_none(),
        &owner,
        c.span,
        &mut |_, _, _| {},
    );
    let _ = expr_text;
    Some(hir::Action::Command {
        directive: directive?,
        to,
        fields: values,
        span: c.span,
    })
}

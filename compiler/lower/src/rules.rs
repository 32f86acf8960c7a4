//! Rules and reports: steps, correlations, actions and approvals over graph nodes.

use crate::LowerError;
use crate::consts;
use crate::expr::{Binding, Lowerer, Scope};
use crate::sources::Sources;
use cbp_check::hir::{self, ItemId, ItemKind};
use cbp_ir::expr::Node;
use cbp_ir::program::{
    ActionTemplate, Approval, CommandTarget, Correlation, Outcome, Report, Rule, Step,
};
use cbp_ir::{MessageId, NodeId, RowRef};
use cbp_syntax::ast;

type R<T> = Result<T, LowerError>;

fn err(item: &hir::Item, what: impl Into<String>) -> LowerError {
    LowerError::Unsupported {
        item: item
            .id
            .as_ref()
            .map_or_else(|| "a test".to_owned(), ItemId::to_string),
        file: item.file.clone(),
        what: what.into(),
    }
}

impl<'h> Lowerer<'_, 'h> {
    fn message(&self, item: &hir::Item, id: &ItemId) -> R<MessageId> {
        self.ix
            .message_id(id)
            .ok_or_else(|| err(item, format!("unknown message `{id}`")))
    }

    pub fn rule(&mut self, item: &'h hir::Item, r: &'h hir::Rule, src: &mut Sources) -> R<Rule> {
        let Some(id) = &item.id else {
            return Err(err(item, "a rule without a name"));
        };
        let trigger = self.message(item, &r.trigger.message)?;
        let mut sc = Scope::new(item);
        sc.bind(&r.trigger.binding, Binding::Row(RowRef::Trigger, trigger));
        let mut texts = src.correlate_texts(item).into_iter();
        let mut steps = Vec::with_capacity(r.clauses.len());
        let mut locals = 0u32;
        let mut correlations = 0u32;
        for clause in &r.clauses {
            match clause {
                hir::Clause::When(e) => {
                    sc.shows = Some(Vec::new());
                    let cond = self.expr(&mut sc, e)?;
                    let reads = sc.shows.take().unwrap_or_default();
                    let mut shows: Vec<(String, NodeId)> = Vec::new();
                    for (span, node) in reads {
                        let text = src.slice(item, span);
                        if !shows.iter().any(|(t, _)| *t == text) {
                            shows.push((text, node));
                        }
                    }
                    let text = src.slice_line(item, e.span);
                    steps.push(Step::When { cond, text, shows });
                }
                hir::Clause::Let { name, value: e } => {
                    let value = self.expr(&mut sc, e)?;
                    let local = locals;
                    locals += 1;
                    // `let r = station.reading`: `r.x` still reads its slot.
                    let binding = match self.row_binding(&sc, e) {
                        Some(b) => b,
                        None => Binding::Node(self.g.add(Node::Local(local))),
                    };
                    sc.bind(name, binding);
                    steps.push(Step::Let {
                        local,
                        name: name.to_string(),
                        value,
                    });
                }
                hir::Clause::Correlate(c) => {
                    let index = correlations;
                    correlations += 1;
                    let corr = self.correlation(&mut sc, item, c, index, texts.next())?;
                    let matches = self.g.add(Node::Matches(index));
                    sc.bind(&c.binding, Binding::Node(matches));
                    steps.push(Step::Correlate(corr));
                }
            }
        }
        let priority = r
            .priority
            .as_ref()
            .map(|p| self.expr(&mut sc, p))
            .transpose()?;
        let then = self.actions(&mut sc, &r.then)?;
        let on_approve = self.actions(&mut sc, &r.on_approve)?;
        let on_reject = self.actions(&mut sc, &r.on_reject)?;
        let no_response = match &r.no_response {
            Some((ms, actions)) => Some((*ms, self.actions(&mut sc, actions)?)),
            None => None,
        };
        let approval = r
            .approval
            .as_ref()
            .map(|a| self.approval(item, a))
            .transpose()?;
        let source = match &r.trigger.source {
            Some(p) => match self.ix.item(p).map(|i| &i.kind) {
                Some(ItemKind::Plugin(pl)) => Some(pl.model_id.clone()),
                _ => return Err(err(item, format!("unknown plugin `{p}`"))),
            },
            None => None,
        };
        Ok(Rule {
            name: id.name.to_string(),
            qualified: id.to_string(),
            layer: r.layer.level(),
            trigger,
            source,
            steps,
            locals,
            priority,
            then,
            approval,
            on_approve,
            on_reject,
            no_response,
        })
    }

    fn correlation(
        &mut self,
        sc: &mut Scope<'h>,
        item: &hir::Item,
        c: &'h hir::Correlation,
        index: u32,
        text: Option<String>,
    ) -> R<Correlation> {
        let message = self.message(item, &c.message)?;
        let filter = match &c.filter {
            Some(f) => {
                sc.bind(&c.binding, Binding::Row(RowRef::Candidate, message));
                let node = self.expr(sc, f);
                sc.bindings.pop();
                Some(node?)
            }
            None => None,
        };
        let radius_m = match &c.radius {
            Some(e) => Some(
                consts::eval(self.ix, e)
                    .and_then(|v| v.as_f64())
                    .ok_or_else(|| err(item, "a `within` radius that is not a constant"))?,
            ),
            None => None,
        };
        let min_count = match &c.min_count {
            Some(e) => consts::eval(self.ix, e)
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| err(item, "an `at least` count that is not a constant"))?,
            None => 1,
        };
        Ok(Correlation {
            index,
            binding: c.binding.to_string(),
            absent: c.absent,
            message,
            window_ms: c.window_ms,
            radius_m,
            filter,
            min_count,
            text: text.unwrap_or_default(),
        })
    }

    fn approval(&self, item: &hir::Item, a: &hir::Approval) -> R<Approval> {
        let level = match self.ix.item(&a.authority).map(|i| &i.kind) {
            Some(ItemKind::Authority(auth)) => auth.level,
            _ => return Err(err(item, format!("unknown authority `{}`", a.authority))),
        };
        Ok(Approval {
            authority: a.authority.name.to_string(),
            level,
            within_ms: a.within_ms,
            default: match a.default {
                ast::Outcome::Approve => Outcome::Approve,
                ast::Outcome::Reject => Outcome::Reject,
                ast::Outcome::Escalate => Outcome::Escalate,
            },
        })
    }

    /// Fields of an action, each lowered where its declared type is expected.
    fn fields(
        &mut self,
        sc: &mut Scope<'h>,
        values: &'h [hir::FieldValue],
        declared: &[&hir::Field],
    ) -> R<Vec<(String, NodeId)>> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let node = match declared.iter().find(|f| f.name == v.name) {
                Some(f) => self.expr_as(sc, &v.value, &f.ty)?,
                None => self.expr(sc, &v.value)?,
            };
            out.push((v.name.to_string(), node));
        }
        Ok(out)
    }

    /// A message's payload fields, then the envelope's.
    fn message_fields(&self, id: &ItemId) -> Vec<&'h hir::Field> {
        self.ix
            .message_fields(id)
            .iter()
            .chain(self.ix.envelope())
            .collect()
    }

    fn actions(
        &mut self,
        sc: &mut Scope<'h>,
        actions: &'h [hir::Action],
    ) -> R<Vec<ActionTemplate>> {
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            out.push(match a {
                hir::Action::Invoke {
                    kind,
                    target,
                    params,
                    ..
                } => {
                    let declared: Vec<&hir::Field> = match self.ix.item(kind).map(|i| &i.kind) {
                        Some(ItemKind::Action(k)) => k.params.iter().collect(),
                        _ => Vec::new(),
                    };
                    ActionTemplate::Invoke {
                        kind: kind.name.to_string(),
                        target: target.name.to_string(),
                        params: self.fields(sc, params, &declared)?,
                    }
                }
                hir::Action::Escalate {
                    incident,
                    to,
                    fields,
                    ..
                } => {
                    let declared = self.message_fields(incident);
                    ActionTemplate::Escalate {
                        incident: self.message(sc.item, incident)?,
                        to_layer: to.level(),
                        fields: self.fields(sc, fields, &declared)?,
                    }
                }
                hir::Action::Command {
                    directive,
                    to,
                    fields,
                    ..
                } => {
                    let declared = self.message_fields(directive);
                    let to = match to {
                        hir::CommandTarget::Children => CommandTarget::Children,
                        hir::CommandTarget::Zones(e) => CommandTarget::Zones(self.expr(sc, e)?),
                    };
                    ActionTemplate::Command {
                        directive: self.message(sc.item, directive)?,
                        to,
                        fields: self.fields(sc, fields, &declared)?,
                    }
                }
            });
        }
        Ok(out)
    }

    pub fn report(&mut self, item: &'h hir::Item, r: &'h hir::Report) -> R<Report> {
        let Some(id) = &item.id else {
            return Err(err(item, "a report without a name"));
        };
        let mut sc = Scope::new(item);
        let fields = self.fields(&mut sc, &r.fields, &[])?;
        Ok(Report {
            name: id.name.to_string(),
            layer: r.layer.level(),
            every_ms: r.every_ms,
            to_layer: r.to.level(),
            fields,
        })
    }
}

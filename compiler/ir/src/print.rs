//! The text form of a program (`cbpc compile --emit ir`): stable, one node per line, for
//! review and snapshot tests.
//!
//! ```text
//! %12 = cmp.ge enum(Severity) %3, %11
//! ```
//!
//! Nodes are `%N` (their index in [`Program::nodes`]), locals `#N`, slots `sN`, objects
//! `oN`. Everything is printed in program order, so the same program prints the same text.

use crate::expr::{Aggregate, ArithOp, Builtin, CmpOp, Lit, Node, NodeId, RowRef};
use crate::layout::{FieldLayout, MessageKind, MessageLayout, Storage};
use crate::program::{
    ActionTemplate, CommandTarget, Correlation, Discriminator, Key, Outcome, Program, Report, Rule,
    Step, Test, TestStep,
};
use crate::time::{format_duration, format_rfc3339};
use crate::types::{MessageId, Scalar, Ty};
use std::fmt::Write;

/// The whole program as text.
pub fn print(program: &Program) -> String {
    let mut p = Printer {
        program,
        out: String::new(),
    };
    p.header();
    p.tables();
    p.layouts();
    p.nodes();
    for (i, rule) in program.rules.iter().enumerate() {
        p.rule(i, rule);
    }
    p.dispatch();
    for report in &program.reports {
        p.report(report);
    }
    for test in &program.tests {
        p.test(test);
    }
    p.out
}

/// One node as text, without its `%N = ` prefix: `cmp.ge enum(Severity) %3, %11`.
pub fn node_text(program: &Program, node: &Node) -> String {
    Printer {
        program,
        out: String::new(),
    }
    .node(node)
}

/// A type as text: `list<string>`, `enum(Severity)`, `GeoPoint?`.
pub fn ty_text(program: &Program, ty: &Ty) -> String {
    Printer {
        program,
        out: String::new(),
    }
    .ty(ty)
}

struct Printer<'p> {
    program: &'p Program,
    out: String,
}

fn n(id: NodeId) -> String {
    format!("%{}", id.0)
}

fn layer_name(level: u8) -> &'static str {
    match level {
        1 => "local",
        2 => "district",
        3 => "city",
        4 => "state",
        5 => "national",
        _ => "?",
    }
}

fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Source text on one line: runs of whitespace (line breaks of a long condition) as one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn metres(m: f64) -> String {
    if m.fract() == 0.0 && m.abs() < 1e15 {
        format!("{}m", m as i64)
    } else {
        format!("{m}m")
    }
}

pub fn builtin_name(b: Builtin) -> &'static str {
    match b {
        Builtin::Distance => "distance",
        Builtin::Route => "route",
        Builtin::ParentZone => "parent_zone",
        Builtin::InZone => "in_zone",
        Builtin::ParseTimestamp => "timestamp",
        Builtin::HourOfDay => "hour_of_day",
        Builtin::Minutes => "minutes",
        Builtin::Seconds => "seconds",
        Builtin::StrLen => "str_len",
        Builtin::Lower => "lower",
        Builtin::Upper => "upper",
        Builtin::StartsWith => "starts_with",
        Builtin::EndsWith => "ends_with",
        Builtin::StrContains => "str_contains",
        Builtin::ListLen => "list_len",
        Builtin::Distinct => "distinct",
        Builtin::Sum => "sum",
        Builtin::Min => "min",
        Builtin::Max => "max",
        Builtin::Avg => "avg",
        Builtin::Tokenize => "tokenize",
        Builtin::Redact => "redact",
        Builtin::Concat => "concat",
        Builtin::ListConcat => "list_concat",
    }
}

impl Printer<'_> {
    fn line(&mut self, text: impl AsRef<str>) {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }

    fn message_name(&self, id: MessageId) -> String {
        self.program
            .message(id)
            .map_or_else(|| format!("message#{}", id.0), |m| m.name.clone())
    }

    fn enum_name(&self, id: crate::types::EnumId) -> String {
        self.program
            .enums
            .get(id.0 as usize)
            .map_or_else(|| format!("enum#{}", id.0), |e| e.name.clone())
    }

    fn variant(&self, id: crate::types::EnumId, index: u32) -> String {
        self.program
            .enums
            .get(id.0 as usize)
            .and_then(|e| e.variants.get(index as usize))
            .cloned()
            .unwrap_or_else(|| format!("#{index}"))
    }

    fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Int => "int".into(),
            Scalar::Float => "float".into(),
            Scalar::Bool => "bool".into(),
            Scalar::Str => "string".into(),
            Scalar::Zone => "zone".into(),
            Scalar::Duration => "duration".into(),
            Scalar::Distance => "distance".into(),
            Scalar::Timestamp => "timestamp".into(),
            Scalar::Enum(id) => format!("enum({})", self.enum_name(id)),
        }
    }

    fn ty(&self, t: &Ty) -> String {
        match t {
            Ty::Scalar(s) => self.scalar(*s),
            Ty::List(e) => format!("list<{}>", self.ty(e)),
            Ty::Map(k, v) => format!("map<{}, {}>", self.ty(k), self.ty(v)),
            Ty::Record(id) => self
                .program
                .records
                .get(id.0 as usize)
                .map_or_else(|| format!("record#{}", id.0), |r| r.name.clone()),
            Ty::Message(id) => self.message_name(*id),
            Ty::Optional(inner) => format!("{}?", self.ty(inner)),
            Ty::Never => "never".into(),
        }
    }

    fn lit(&self, l: &Lit) -> String {
        match l {
            Lit::Null => "null".into(),
            Lit::Int(v) => format!("int {v}"),
            Lit::Float(bits) => format!("float {:?}", f64::from_bits(*bits)),
            Lit::Bool(b) => format!("bool {b}"),
            Lit::Str(s) => format!("string {}", quote(s)),
            Lit::Zone(s) => format!("zone {}", quote(s)),
            Lit::Duration(ms) => format!("duration {}", format_duration(*ms)),
            Lit::Distance(bits) => format!("distance {}", metres(f64::from_bits(*bits))),
            Lit::Timestamp(ms) => format!("timestamp {}", format_rfc3339(*ms)),
            Lit::Enum(id, ix) => {
                format!("enum({}) {}", self.enum_name(*id), self.variant(*id, *ix))
            }
        }
    }

    fn row(r: RowRef) -> &'static str {
        match r {
            RowRef::Trigger => "trigger",
            RowRef::Candidate => "candidate",
        }
    }

    fn node(&self, node: &Node) -> String {
        match node {
            Node::Lit(l) => format!("lit {}", self.lit(l)),
            Node::Load { row, slot, ty } => {
                format!("load {} s{slot} {}", Self::row(*row), self.scalar(*ty))
            }
            Node::Present { row, slot } => format!("present {} s{slot}", Self::row(*row)),
            Node::LoadRecord {
                row,
                presence,
                record,
            } => format!(
                "load.record {} s{presence} {}",
                Self::row(*row),
                self.ty(&Ty::Record(*record))
            ),
            Node::LoadObject {
                row,
                presence,
                index,
                ty,
            } => format!(
                "load.object {} s{presence} o{index} {}",
                Self::row(*row),
                self.ty(ty)
            ),
            Node::RowValue { row, message } => {
                format!("row {} {}", Self::row(*row), self.message_name(*message))
            }
            Node::Local(slot) => format!("local #{slot}"),
            Node::Matches(i) => format!("matches #{i}"),
            Node::Not(x) => format!("not {}", n(*x)),
            Node::Neg { ty, value } => format!("neg {} {}", self.scalar(*ty), n(*value)),
            Node::Arith {
                op,
                ty,
                rhs_ty,
                lhs,
                rhs,
            } => {
                let op = match op {
                    ArithOp::Add => "add",
                    ArithOp::Sub => "sub",
                    ArithOp::Mul => "mul",
                    ArithOp::Div => "div",
                    ArithOp::Rem => "rem",
                };
                let ty = if ty == rhs_ty {
                    self.scalar(*ty)
                } else {
                    format!("{}×{}", self.scalar(*ty), self.scalar(*rhs_ty))
                };
                format!("arith.{op} {ty} {}, {}", n(*lhs), n(*rhs))
            }
            Node::Cmp { op, ty, lhs, rhs } => {
                let op = match op {
                    CmpOp::Eq => "eq",
                    CmpOp::Ne => "ne",
                    CmpOp::Lt => "lt",
                    CmpOp::Le => "le",
                    CmpOp::Gt => "gt",
                    CmpOp::Ge => "ge",
                };
                format!("cmp.{op} {} {}, {}", self.scalar(*ty), n(*lhs), n(*rhs))
            }
            Node::And(a, b) => format!("and {}, {}", n(*a), n(*b)),
            Node::Or(a, b) => format!("or {}, {}", n(*a), n(*b)),
            Node::IntToFloat(x) => format!("int_to_float {}", n(*x)),
            Node::Coalesce { value, default } => {
                format!("coalesce {}, {}", n(*value), n(*default))
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                format!("if {} then {} else {}", n(*cond), n(*then), n(*otherwise))
            }
            Node::In { item, list, elem } => {
                format!("in {} {}, {}", self.ty(elem), n(*item), n(*list))
            }
            Node::List { items, ty } => {
                let items: Vec<String> = items.iter().map(|i| n(*i)).collect();
                format!("list {} [{}]", self.ty(ty), items.join(", "))
            }
            Node::Record { record, fields } => {
                let def = self.program.records.get(record.0 as usize);
                let parts: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let name = def
                            .and_then(|d| d.fields.get(i))
                            .map_or_else(|| format!("#{i}"), |(name, _)| name.clone());
                        format!("{name}: {}", n(*f))
                    })
                    .collect();
                format!(
                    "record {} {{ {} }}",
                    self.ty(&Ty::Record(*record)),
                    parts.join(", ")
                )
            }
            Node::GetField { base, field, ty } => {
                format!("field {}.{field} {}", n(*base), self.ty(ty))
            }
            Node::MapField { list, field, ty } => {
                format!("map_field {}.{field} {}", n(*list), self.ty(ty))
            }
            Node::Call { builtin, args, ty } => {
                let args: Vec<String> = args.iter().map(|a| n(*a)).collect();
                format!(
                    "call {}({}) {}",
                    builtin_name(*builtin),
                    args.join(", "),
                    self.ty(ty)
                )
            }
            Node::Aggregate(a) => match a {
                Aggregate::TotalEvents => "aggregate total_events".into(),
                Aggregate::EventBreakdown => "aggregate event_breakdown".into(),
                Aggregate::EscalatedIncidents => "aggregate escalated_incidents".into(),
                Aggregate::AvgLatencyMs => "aggregate avg_latency_ms".into(),
                Aggregate::Latest(m) => format!("aggregate latest({})", self.message_name(*m)),
            },
        }
    }

    fn header(&mut self) {
        let p = self.program;
        self.line(format!("cbp-ir format {}", p.format_version));
        self.line(format!("source_hash {}", p.source_hash));
        self.line(format!(
            "messages {}, enums {}, records {}, rules {}, reports {}, tests {}",
            p.messages.len(),
            p.enums.len(),
            p.records.len(),
            p.rules.len(),
            p.reports.len(),
            p.tests.len()
        ));
        let before = if p.nodes_before_folding == 0 {
            "not recorded".to_owned()
        } else {
            p.nodes_before_folding.to_string()
        };
        self.line(format!(
            "nodes {} after constant folding and dead-node removal ({before} as lowered); \
             hash-consed: a subexpression written in several rules is one node",
            p.nodes.len()
        ));
    }

    fn tables(&mut self) {
        let p = self.program;
        if !p.enums.is_empty() {
            self.line("");
        }
        for (i, e) in p.enums.iter().enumerate() {
            let ordered = if e.ordered { "ordered " } else { "" };
            self.line(format!(
                "{ordered}enum E{i} {}: {}",
                e.name,
                e.variants.join(", ")
            ));
        }
        if !p.records.is_empty() {
            self.line("");
        }
        for (i, r) in p.records.iter().enumerate() {
            let fields: Vec<String> = r
                .fields
                .iter()
                .map(|(name, t)| format!("{name}: {}", self.ty(t)))
                .collect();
            self.line(format!(
                "record R{i} {} {{ {} }}",
                r.name,
                fields.join(", ")
            ));
        }
        if !(p.authorities.is_empty() && p.systems.is_empty() && p.plugins.is_empty()) {
            self.line("");
        }
        for a in &p.authorities {
            self.line(format!("authority {} L{}", a.name, a.level));
        }
        for s in &p.systems {
            self.line(format!("system {} at {}", s.name, layer_name(s.layer)));
        }
        for pl in &p.plugins {
            let emits: Vec<String> = pl.emits.iter().map(|m| self.message_name(*m)).collect();
            self.line(format!(
                "plugin {} model_id {} emits [{}]",
                pl.name,
                quote(&pl.model_id),
                emits.join(", ")
            ));
        }
    }

    fn layouts(&mut self) {
        for m in &self.program.messages {
            self.layout(m);
        }
    }

    fn layout(&mut self, m: &MessageLayout) {
        let kind = match m.kind {
            MessageKind::Event => "event",
            MessageKind::Incident => "incident",
            MessageKind::Directive => "directive",
        };
        self.line("");
        self.line(format!(
            "message M{} {} ({kind}): {} slots, {} objects",
            m.id.0, m.name, m.slots, m.objects
        ));
        for f in &m.fields {
            self.field(f, "");
        }
    }

    fn field(&mut self, f: &FieldLayout, prefix: &str) {
        let path = format!("{prefix}{}", f.name);
        let at = match &f.storage {
            Storage::Slot(s) => format!("s{s}"),
            Storage::Record { presence, .. } => format!("s{presence} record"),
            Storage::Object { presence, index } => format!("s{presence} o{index}"),
        };
        let mut flags = String::new();
        if !f.required {
            flags.push_str(" optional");
        }
        if f.pii {
            flags.push_str(" @pii");
        }
        if let Some((lo, hi)) = f.range {
            let _ = write!(flags, " in {lo:?}..{hi:?}");
        }
        let line = format!("  {at:<10} {path}: {}{flags}", self.ty(&f.ty));
        self.line(line);
        if let Storage::Record { fields, .. } = &f.storage {
            let inner = format!("{path}.");
            for sub in fields {
                self.field(sub, &inner);
            }
        }
    }

    fn nodes(&mut self) {
        self.line("");
        self.line("nodes");
        for (i, node) in self.program.nodes.iter().enumerate() {
            let text = self.node(node);
            self.line(format!("  %{i} = {text}"));
        }
    }

    fn rule(&mut self, index: usize, r: &Rule) {
        self.line("");
        self.line(format!(
            "rule {index} {} ({}) at {}, locals {}",
            r.name,
            r.qualified,
            layer_name(r.layer),
            r.locals
        ));
        let source = r
            .source
            .as_ref()
            .map(|s| format!(" from {}", quote(s)))
            .unwrap_or_default();
        self.line(format!("  on {}{source}", self.message_name(r.trigger)));
        for step in &r.steps {
            match step {
                Step::When { cond, text, shows } => {
                    self.line(format!("  when {}  # {}", n(*cond), one_line(text)));
                    for (src, node) in shows {
                        self.line(format!("    show {src} = {}", n(*node)));
                    }
                }
                Step::Let { local, name, value } => {
                    self.line(format!("  let #{local} {name} = {}", n(*value)));
                }
                Step::Correlate(c) => self.correlation(c),
            }
        }
        if let Some(p) = r.priority {
            self.line(format!("  priority {}", n(p)));
        }
        self.actions("then", &r.then);
        if let Some(a) = &r.approval {
            let default = match a.default {
                Outcome::Approve => "approve",
                Outcome::Reject => "reject",
                Outcome::Escalate => "escalate",
            };
            self.line(format!(
                "  approval by {} (level L{}) within {} else {default}",
                a.authority,
                a.level,
                format_duration(a.within_ms)
            ));
        }
        if !r.on_approve.is_empty() {
            self.actions("on approve", &r.on_approve);
        }
        if !r.on_reject.is_empty() {
            self.actions("on reject", &r.on_reject);
        }
        if let Some((ms, actions)) = &r.no_response {
            self.actions(
                &format!("if no response within {}", format_duration(*ms)),
                actions,
            );
        }
    }

    fn correlation(&mut self, c: &Correlation) {
        let kind = if c.absent { "absent" } else { "correlate" };
        let mut line = format!(
            "  {kind} #{} {}: {} over last {}",
            c.index,
            c.binding,
            self.message_name(c.message),
            format_duration(c.window_ms)
        );
        if let Some(r) = c.radius_m {
            let _ = write!(line, " within {}", metres(r));
        }
        if let Some(f) = c.filter {
            let _ = write!(line, " where {}", n(f));
        }
        let _ = write!(line, " at least {}  # {}", c.min_count, one_line(&c.text));
        self.line(line);
    }

    fn params(params: &[(String, NodeId)]) -> String {
        if params.is_empty() {
            return "{}".into();
        }
        let parts: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}: {}", n(*v)))
            .collect();
        format!("{{ {} }}", parts.join(", "))
    }

    fn actions(&mut self, label: &str, actions: &[ActionTemplate]) {
        self.line(format!("  {label}"));
        for a in actions {
            let text = match a {
                ActionTemplate::Invoke {
                    kind,
                    target,
                    params,
                } => {
                    format!("{kind} {target} {}", Self::params(params))
                }
                ActionTemplate::Escalate {
                    incident,
                    to_layer,
                    fields,
                } => format!(
                    "escalate {} to {} {}",
                    self.message_name(*incident),
                    layer_name(*to_layer),
                    Self::params(fields)
                ),
                ActionTemplate::Command {
                    directive,
                    to,
                    fields,
                } => {
                    let to = match to {
                        CommandTarget::Children => "children".to_owned(),
                        CommandTarget::Zones(z) => n(*z),
                    };
                    format!(
                        "command {} to {to} {}",
                        self.message_name(*directive),
                        Self::params(fields)
                    )
                }
            };
            self.line(format!("    {text}"));
        }
    }

    fn dispatch(&mut self) {
        self.line("");
        self.line("dispatch");
        let rules = |ids: &[u32]| {
            let v: Vec<String> = ids.iter().map(u32::to_string).collect();
            format!("[{}]", v.join(", "))
        };
        for (i, d) in self.program.dispatch.by_message.iter().enumerate() {
            if d.always.is_empty() && d.indexed.is_empty() && d.ranges.is_empty() {
                continue;
            }
            let name = self.message_name(MessageId(i as u32));
            self.line(format!("  {name}: always {}", rules(&d.always)));
            for disc in &d.indexed {
                let cases: Vec<String> = disc
                    .cases
                    .iter()
                    .map(|(k, ids)| format!("{} → {}", self.key(disc, k), rules(ids)))
                    .collect();
                self.line(format!(
                    "    by s{} {}: {}",
                    disc.slot,
                    self.scalar(disc.ty),
                    cases.join("; ")
                ));
            }
            for range in &d.ranges {
                let cases: Vec<String> = range
                    .cases
                    .iter()
                    .map(|(op, bound, ids)| {
                        let text = self.lit(bound);
                        // The type is on the line already: `float 0.1` → `0.1`.
                        let value = text.split_once(' ').map_or(text.as_str(), |(_, v)| v);
                        format!("{} {value} → {}", cmp_symbol(*op), rules(ids))
                    })
                    .collect();
                self.line(format!(
                    "    range s{} {}: {}",
                    range.slot,
                    self.scalar(range.ty),
                    cases.join("; ")
                ));
            }
        }
    }

    fn key(&self, d: &Discriminator, k: &Key) -> String {
        match (k, d.ty) {
            (Key::Int(v), Scalar::Enum(id)) => self.variant(id, *v as u32),
            (Key::Int(v), Scalar::Bool) => (*v != 0).to_string(),
            (Key::Int(v), _) => v.to_string(),
            (Key::Str(s), _) => quote(s),
        }
    }

    fn report(&mut self, r: &Report) {
        self.line("");
        self.line(format!(
            "report {} at {} every {} to {}",
            r.name,
            layer_name(r.layer),
            format_duration(r.every_ms),
            layer_name(r.to_layer)
        ));
        for (name, node) in &r.fields {
            self.line(format!("  {name}: {}", n(*node)));
        }
    }

    fn test(&mut self, t: &Test) {
        self.line("");
        self.line(format!("test {} ({})", quote(&t.name), t.file));
        for step in &t.steps {
            let text = match step {
                TestStep::Send {
                    message,
                    at_ms,
                    absolute,
                    fields,
                } => {
                    let at = if *absolute {
                        format_rfc3339(*at_ms)
                    } else {
                        format!("+{}", format_duration(*at_ms))
                    };
                    let fields = serde_json::to_string(fields).unwrap_or_default();
                    format!("send {} at {at} {fields}", self.message_name(*message))
                }
                TestStep::Advance { by_ms } => format!("advance {}", format_duration(*by_ms)),
                TestStep::Expect(x) => {
                    let mut s = String::from("expect ");
                    if x.negated {
                        s.push_str("no ");
                    }
                    if let Some(c) = x.count {
                        let _ = write!(s, "{c} ");
                    }
                    s.push_str(&x.kind);
                    if let Some(subject) = &x.subject {
                        let _ = write!(s, " {subject}");
                    }
                    if !x.fields.is_empty() {
                        let _ = write!(
                            s,
                            " {}",
                            serde_json::to_string(&x.fields).unwrap_or_default()
                        );
                    }
                    let _ = write!(s, "  @ {}", x.location);
                    s
                }
            };
            self.line(format!("  {text}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::EnumDef;
    use crate::types::EnumId;

    #[test]
    fn nodes_print_with_their_types() {
        let program = Program {
            enums: vec![EnumDef {
                name: "Severity".into(),
                ordered: true,
                variants: vec!["low".into(), "medium".into()],
            }],
            nodes: vec![
                Node::Load {
                    row: RowRef::Trigger,
                    slot: 8,
                    ty: Scalar::Enum(EnumId(0)),
                },
                Node::Lit(Lit::Enum(EnumId(0), 1)),
                Node::Cmp {
                    op: CmpOp::Ge,
                    ty: Scalar::Enum(EnumId(0)),
                    lhs: NodeId(0),
                    rhs: NodeId(1),
                },
            ],
            ..Program::default()
        };
        let text = print(&program);
        assert!(
            text.contains("  %0 = load trigger s8 enum(Severity)\n"),
            "{text}"
        );
        assert!(
            text.contains("  %1 = lit enum(Severity) medium\n"),
            "{text}"
        );
        assert!(
            text.contains("  %2 = cmp.ge enum(Severity) %0, %1\n"),
            "{text}"
        );
        assert_eq!(text, print(&program.clone()));
    }
}

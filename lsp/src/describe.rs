//! One-line summaries of items, fields and variants, shown by hover and completion.

use cbp_check::hir::{self, ItemKind, Ty};

/// `30min`, `5s`, `1d`: a duration in milliseconds, in its largest exact unit.
pub fn duration(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1_000),
    ] {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

pub fn kind_keyword(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Enum(_) => "enum",
        ItemKind::Record(_) => "record",
        ItemKind::Message(m) => m.kind.keyword(),
        ItemKind::Plugin(_) => "plugin",
        ItemKind::Authority(_) => "authority",
        ItemKind::System(_) => "system",
        ItemKind::Action(_) => "action",
        ItemKind::Const(_) => "const",
        ItemKind::Fn(_) => "fn",
        ItemKind::Rule(_) => "rule",
        ItemKind::Report(_) => "report",
        ItemKind::Test(_) => "test",
    }
}

fn field_line(f: &hir::Field) -> String {
    let mut line = format!("{}: {}", f.name, f.ty);
    if let Some((lo, hi)) = f.range {
        line.push_str(&format!(" in {}..{}", lo.0, hi.0));
    }
    if f.pii {
        line.insert_str(0, "@pii ");
    }
    line
}

fn fields_block(fields: &[hir::Field]) -> String {
    if fields.is_empty() {
        return "{ }".to_owned();
    }
    let lines: Vec<String> = fields
        .iter()
        .map(|f| format!("    {}", field_line(f)))
        .collect();
    format!("{{\n{}\n}}", lines.join("\n"))
}

fn ids(ids: &[hir::ItemId]) -> String {
    ids.iter()
        .map(|i| i.name.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The declaration of an item, as code, plus a line of facts where useful.
pub fn item(item: &hir::Item) -> String {
    let name = item
        .id
        .as_ref()
        .map(|i| i.name.to_string())
        .unwrap_or_default();
    match &item.kind {
        ItemKind::Enum(e) => format!(
            "{}enum {name} {{ {} }}",
            if e.ordered { "ordered " } else { "" },
            e.variants
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ItemKind::Record(r) => format!("record {name} {}", fields_block(&r.fields)),
        ItemKind::Message(m) => format!(
            "{} {name} {}\n// plus the envelope fields of std.Envelope",
            m.kind.keyword(),
            fields_block(&m.fields)
        ),
        ItemKind::Plugin(p) => {
            let mut s = format!("plugin \"{}\" as {name}", p.model_id);
            if !p.emits.is_empty() {
                s.push_str(&format!("\n// emits {}", ids(&p.emits)));
            }
            if p.requires_approval {
                s.push_str("\n// requires approval");
                if let Some(a) = &p.approval_authority {
                    s.push_str(&format!(" by {}", a.name));
                }
            }
            s
        }
        ItemKind::Authority(a) => {
            let mut s = format!("authority {name} // level L{}", a.level);
            match &a.approves {
                Some(kinds) => s.push_str(&format!("\n// approves {}", ids(kinds))),
                None => s.push_str("\n// approves any action"),
            }
            if !a.overrides.is_empty() {
                s.push_str(&format!("\n// overrides {}", ids(&a.overrides)));
            }
            s
        }
        ItemKind::System(s) => {
            let kind = s
                .kind
                .as_ref()
                .map(|k| format!(", kind {k}"))
                .unwrap_or_default();
            format!(
                "system {name} // layer {} (L{}){kind}",
                s.layer.name(),
                s.layer.level()
            )
        }
        ItemKind::Action(a) => format!(
            "{}action {name} {}",
            if a.open { "@open " } else { "" },
            fields_block(&a.params)
        ),
        ItemKind::Const(c) => format!("const {name}: {}", c.ty),
        ItemKind::Fn(f) => {
            let ext = if f.body.is_none() { "extern " } else { "" };
            format!("{ext}fn {}", signature(&name, f))
        }
        ItemKind::Rule(r) => rule(&name, r),
        ItemKind::Report(r) => format!(
            "report {name} at {} every {} to {}",
            r.layer.name(),
            duration(r.every_ms),
            r.to.name()
        ),
        ItemKind::Test(t) => format!("test \"{}\"", t.name),
    }
}

pub fn signature(name: &str, f: &hir::Fn) -> String {
    let params: Vec<String> = f.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    format!("{name}({}) -> {}", params.join(", "), f.ret)
}

fn rule(name: &str, r: &hir::Rule) -> String {
    let mut s = format!(
        "rule {name} at {} // L{}\n    on {}: {}",
        r.layer.name(),
        r.layer.level(),
        r.trigger.binding,
        r.trigger.message.name
    );
    if let Some(source) = &r.trigger.source {
        s.push_str(&format!(" from {}", source.name));
    }
    if let Some(a) = &r.approval {
        s.push_str(&format!(
            "\n    approval by {} within {} else {}",
            a.authority.name,
            duration(a.within_ms),
            a.default.keyword()
        ));
    }
    let actions = r.then.len() + r.on_approve.len() + r.on_reject.len();
    s.push_str(&format!("\n// {actions} action(s)"));
    if let Some((ms, _)) = &r.no_response {
        s.push_str(&format!(
            ", escalates if no response within {}",
            duration(*ms)
        ));
    }
    s
}

/// `field: type` of a member of a record, message (payload or envelope) or action kind.
pub fn field(kind: Option<&ItemKind>, envelope: Option<&ItemKind>, name: &str) -> Option<String> {
    let find = |fields: &[hir::Field]| fields.iter().find(|f| &*f.name == name).map(field_line);
    match kind? {
        ItemKind::Record(r) => find(&r.fields),
        ItemKind::Action(a) => find(&a.params),
        ItemKind::Message(m) => find(&m.fields).or_else(|| match envelope {
            Some(ItemKind::Record(e)) => find(&e.fields),
            _ => None,
        }),
        _ => None,
    }
}

/// The fields a value of a record or message type has (payload, then envelope).
pub fn fields_of(kind: &ItemKind, envelope: Option<&ItemKind>) -> Vec<(String, Ty, bool)> {
    let payload = |fs: &[hir::Field]| {
        fs.iter()
            .map(|f| (f.name.to_string(), f.ty.clone(), false))
            .collect::<Vec<_>>()
    };
    match kind {
        ItemKind::Record(r) => payload(&r.fields),
        ItemKind::Message(m) => {
            let mut out = payload(&m.fields);
            if let Some(ItemKind::Record(e)) = envelope {
                out.extend(
                    e.fields
                        .iter()
                        .map(|f| (f.name.to_string(), f.ty.clone(), true)),
                );
            }
            out
        }
        _ => Vec::new(),
    }
}

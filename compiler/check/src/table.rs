//! The global item table: every item's signature (names, kinds, field types — not bodies),
//! resolved against the package scopes. Built from all files' signatures; salsa backdates it
//! when an edit leaves every signature equal, so per-item checks are not re-run.

use crate::db::SourceFile;
use crate::diag::{Loc, LocDiag};
use crate::hir::{ItemId, Layer, Ty};
use crate::scope::{ImportSig, Names, PathRes, STD, Scope};
use crate::suggest::did_you_mean;
use cbp_syntax::Span;
use cbp_syntax::ast::{self, Expr, FloatLit, Item, MessageKind, TypeExpr};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One file's signatures: package, imports and its items with bodies stripped, spans relative
/// to each item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSig {
    pub package: String,
    pub imports: Vec<ImportSig>,
    pub items: Vec<Item>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Enum,
    Record,
    Message(MessageKind),
    Plugin,
    Authority,
    System,
    Action,
    Const,
    Fn,
    Rule,
    Report,
}

impl Tag {
    pub fn describe(self) -> &'static str {
        match self {
            Tag::Enum => "an enum",
            Tag::Record => "a record",
            Tag::Message(MessageKind::Event) => "an event",
            Tag::Message(MessageKind::Incident) => "an incident",
            Tag::Message(MessageKind::Directive) => "a directive",
            Tag::Plugin => "a plugin",
            Tag::Authority => "an authority",
            Tag::System => "a system",
            Tag::Action => "an action kind",
            Tag::Const => "a constant",
            Tag::Fn => "a function",
            Tag::Rule => "a rule",
            Tag::Report => "a report",
        }
    }

    fn of(item: &Item) -> Option<Tag> {
        Some(match item {
            Item::Enum(_) => Tag::Enum,
            Item::Record(_) => Tag::Record,
            Item::Message(m) => Tag::Message(m.kind),
            Item::Plugin(_) => Tag::Plugin,
            Item::Authority(_) => Tag::Authority,
            Item::System(_) => Tag::System,
            Item::Action(_) => Tag::Action,
            Item::Const(_) => Tag::Const,
            Item::Fn(_) => Tag::Fn,
            Item::Rule(_) => Tag::Rule,
            Item::Report(_) => Tag::Report,
            Item::Test(_) | Item::Error(_) => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSig {
    pub name: Arc<str>,
    pub ty: Ty,
    pub pii: bool,
    /// Where the field is declared (its whole declaration).
    pub loc: Loc,
    pub range: Option<(FloatLit, FloatLit)>,
}

impl FieldSig {
    pub fn required(&self) -> bool {
        !matches!(self.ty, Ty::Optional(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigKind {
    Enum {
        ordered: bool,
        variants: Vec<Arc<str>>,
    },
    Record {
        fields: Vec<FieldSig>,
    },
    Message {
        kind: MessageKind,
        fields: Vec<FieldSig>,
    },
    Action {
        open: bool,
        params: Vec<FieldSig>,
    },
    Plugin {
        emits: Vec<ItemId>,
    },
    Authority {
        level: Option<u8>,
        approves: Option<Vec<Arc<str>>>,
    },
    System {
        layer: Option<Layer>,
    },
    /// `duration_ms`: the value, when it is a duration literal (windows may use it).
    Const {
        ty: Ty,
        duration_ms: Option<i64>,
    },
    Fn {
        params: Vec<(Arc<str>, Ty)>,
        ret: Ty,
        is_extern: bool,
        sanitizes: bool,
        aggregate: bool,
    },
    Rule {
        layer: Option<Layer>,
    },
    Report,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemSig {
    pub id: ItemId,
    pub tag: Tag,
    /// The item's name (relative span inside its item).
    pub loc: Loc,
    pub kind: SigKind,
}

impl ItemSig {
    pub fn fields(&self) -> &[FieldSig] {
        match &self.kind {
            SigKind::Record { fields } | SigKind::Message { fields, .. } => fields,
            SigKind::Action { params, .. } => params,
            _ => &[],
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub names: Names,
    pub items: HashMap<ItemId, ItemSig>,
    /// The fields of `std.Envelope`, which every message has.
    pub envelope: Vec<FieldSig>,
    /// Variant name → the enums declaring it, for bare variants.
    pub variant_owners: HashMap<Arc<str>, Vec<ItemId>>,
    /// For records and messages holding personal data somewhere inside: the path of the first
    /// `@pii` field (`vehicle_data.license_plate`) and its declaration.
    pub pii_paths: HashMap<ItemId, (String, Loc)>,
    /// Per file, the imports its signatures (field and parameter types) use.
    pub used_imports: HashMap<SourceFile, HashSet<Arc<str>>>,
    pub diags: Vec<LocDiag>,
}

impl Table {
    pub fn get(&self, id: &ItemId) -> Option<&ItemSig> {
        self.items.get(id)
    }

    /// A field of a record or message type (payload first, then the envelope), and whether it
    /// is an envelope field.
    pub fn field(&self, owner: &Ty, name: &str) -> Option<(&FieldSig, bool)> {
        match owner {
            Ty::Record(id) => self
                .get(id)?
                .fields()
                .iter()
                .find(|f| &*f.name == name)
                .map(|f| (f, false)),
            Ty::Message(id) => {
                let own = self.get(id)?.fields().iter().find(|f| &*f.name == name);
                match own {
                    Some(f) => Some((f, false)),
                    None => self
                        .envelope
                        .iter()
                        .find(|f| &*f.name == name)
                        .map(|f| (f, true)),
                }
            }
            _ => None,
        }
    }

    /// Every field name of a record or message type, for suggestions.
    pub fn field_names(&self, owner: &Ty) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match owner {
            Ty::Record(id) | Ty::Message(id) => {
                if let Some(sig) = self.get(id) {
                    out.extend(sig.fields().iter().map(|f| &*f.name));
                }
                if matches!(owner, Ty::Message(_)) {
                    out.extend(self.envelope.iter().map(|f| &*f.name));
                }
            }
            _ => {}
        }
        out
    }

    pub fn enum_variants(&self, id: &ItemId) -> Option<(bool, &[Arc<str>])> {
        match &self.get(id)?.kind {
            SigKind::Enum { ordered, variants } => Some((*ordered, variants)),
            _ => None,
        }
    }
}

pub const BUILTIN_TYPES: [&str; 8] = [
    "int",
    "float",
    "bool",
    "string",
    "duration",
    "distance",
    "timestamp",
    "zone",
];

pub fn builtin_type(name: &str) -> Option<Ty> {
    Some(match name {
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        "string" => Ty::String,
        "duration" => Ty::Duration,
        "distance" => Ty::Distance,
        "timestamp" => Ty::Timestamp,
        "zone" => Ty::Zone,
        _ => return None,
    })
}

pub fn has_annotation(anns: &[ast::Annotation], name: &str) -> bool {
    anns.iter().any(|a| a.name.name == name)
}

/// The last name of `x`, `a.x` or `Level.L1` written as an expression.
pub fn expr_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(i) => Some(&i.name),
        Expr::Field(_, f, _) => Some(&f.name),
        Expr::Paren(x, _) => expr_name(x),
        _ => None,
    }
}

/// Resolves type expressions in one file's scope, reporting unknown types.
pub struct TypeResolver<'a> {
    pub names: &'a Names,
    pub tags: &'a HashMap<ItemId, Tag>,
    pub scope: &'a Scope,
    /// Imports the resolved types went through (for unused-import warnings).
    pub used: RefCell<HashSet<Arc<str>>>,
}

impl TypeResolver<'_> {
    pub fn resolve(&self, t: &TypeExpr, at: Loc, allow_any: bool, diags: &mut Vec<LocDiag>) -> Ty {
        match t {
            TypeExpr::List(inner, _) => {
                Ty::List(Box::new(self.resolve(inner, at, allow_any, diags)))
            }
            TypeExpr::Map(k, v, _) => Ty::Map(
                Box::new(self.resolve(k, at, allow_any, diags)),
                Box::new(self.resolve(v, at, allow_any, diags)),
            ),
            TypeExpr::Optional(inner, _) => {
                Ty::Optional(Box::new(self.resolve(inner, at, allow_any, diags)))
            }
            TypeExpr::Error(_) => Ty::Error,
            TypeExpr::Named(path) => {
                let at = at.with_span(path.span);
                let segs: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
                if let [single] = segs.as_slice() {
                    if let Some(ty) = builtin_type(single) {
                        return ty;
                    }
                    if *single == "any" {
                        if allow_any {
                            return Ty::Any;
                        }
                        diags.push(
                            LocDiag::error(
                                "E0114",
                                at,
                                "the type `any` is reserved for std externs",
                            )
                            .label("not allowed here")
                            .help("write the precise type"),
                        );
                        return Ty::Error;
                    }
                }
                match self.scope.resolve_path(self.names, &segs) {
                    PathRes::Item(id, via) => match self.tags.get(&id) {
                        Some(tag @ (Tag::Enum | Tag::Record | Tag::Message(_))) => {
                            if let Some(via) = via {
                                self.used.borrow_mut().insert(via);
                            }
                            match tag {
                                Tag::Enum => Ty::Enum(id),
                                Tag::Record => Ty::Record(id),
                                _ => Ty::Message(id),
                            }
                        }
                        Some(tag) => {
                            diags.push(
                                LocDiag::error(
                                    "E0109",
                                    at,
                                    format!(
                                        "`{}` is {}, not a type",
                                        path.dotted(),
                                        tag.describe()
                                    ),
                                )
                                .label("expected a type"),
                            );
                            Ty::Error
                        }
                        None => Ty::Error,
                    },
                    _ => {
                        let candidates = BUILTIN_TYPES.iter().copied().chain(
                            self.scope.visible(self.names).filter_map(|(n, id)| {
                                matches!(
                                    self.tags.get(id),
                                    Some(Tag::Enum | Tag::Record | Tag::Message(_))
                                )
                                .then_some(n)
                            }),
                        );
                        let name = path.last().map_or("", |i| i.name.as_str());
                        diags.push(
                            LocDiag::error(
                                "E0102",
                                at,
                                format!("unknown type `{}`", path.dotted()),
                            )
                            .label("not a known type")
                            .help_opt(did_you_mean(name, candidates)),
                        );
                        Ty::Error
                    }
                }
            }
        }
    }
}

struct Entry<'a> {
    id: ItemId,
    file: SourceFile,
    index: u32,
    item: &'a Item,
    is_std: bool,
    scope_ix: usize,
}

/// Builds the table from every file's signatures (in workspace order).
pub fn build(files: &[(SourceFile, Arc<FileSig>, bool)]) -> Table {
    let mut table = Table::default();
    let mut tags: HashMap<ItemId, Tag> = HashMap::new();
    let mut first: HashMap<ItemId, Loc> = HashMap::new();
    let mut entries: Vec<Entry<'_>> = Vec::new();

    // 1. Names, with duplicates reported at the later declaration.
    for (scope_ix, (file, sig, is_std)) in files.iter().enumerate() {
        table
            .names
            .packages
            .entry(sig.package.as_str().into())
            .or_default();
        for (index, item) in sig.items.iter().enumerate() {
            let (Some(name), Some(tag)) = (item.name(), Tag::of(item)) else {
                continue;
            };
            let index = index as u32;
            let loc = Loc {
                file: *file,
                item: Some(index),
                span: name.span,
            };
            let id = ItemId::new(&sig.package, &name.name);
            if let Some(prev) = first.get(&id) {
                table.diags.push(
                    LocDiag::error("E0104", loc, format!("`{}` is declared twice", name.name))
                        .label("declared again here")
                        .secondary(*prev, "first declared here")
                        .help("rename one of them; names are unique within a package"),
                );
                continue;
            }
            first.insert(id.clone(), loc);
            tags.insert(id.clone(), tag);
            table
                .names
                .packages
                .entry(sig.package.as_str().into())
                .or_default()
                .insert(name.name.as_str().into(), id.clone());
            entries.push(Entry {
                id,
                file: *file,
                index,
                item,
                is_std: *is_std,
                scope_ix,
            });
        }
    }

    // 2. Scopes and signatures.
    let scopes: Vec<Scope> = files
        .iter()
        .map(|(_, sig, _)| Scope::build(&sig.package, &sig.imports, &table.names))
        .collect();
    let mut diags = Vec::new();
    for e in &entries {
        let Some(scope) = scopes.get(e.scope_ix) else {
            continue;
        };
        let resolver = TypeResolver {
            names: &table.names,
            tags: &tags,
            scope,
            used: RefCell::default(),
        };
        let loc = Loc {
            file: e.file,
            item: Some(e.index),
            span: Span::default(),
        };
        let kind = signature(e, &resolver, loc, &mut diags);
        let used = resolver.used.into_inner();
        if !used.is_empty() {
            table.used_imports.entry(e.file).or_default().extend(used);
        }
        let Some(tag) = tags.get(&e.id).copied() else {
            continue;
        };
        let name_span = e.item.name().map_or(Span::default(), |n| n.span);
        table.items.insert(
            e.id.clone(),
            ItemSig {
                id: e.id.clone(),
                tag,
                loc: loc.with_span(name_span),
                kind,
            },
        );
    }
    table.diags.extend(diags);

    // 3. The envelope, variant owners, envelope clashes and personal-data paths.
    if let Some(sig) = table.items.get(&ItemId::new(STD, "Envelope")) {
        table.envelope = sig.fields().to_vec();
    }
    let mut ids: Vec<&ItemId> = table.items.keys().collect();
    ids.sort();
    for id in &ids {
        let Some(sig) = table.items.get(*id) else {
            continue;
        };
        match &sig.kind {
            SigKind::Enum { variants, .. } => {
                for v in variants {
                    table
                        .variant_owners
                        .entry(v.clone())
                        .or_default()
                        .push((*id).clone());
                }
            }
            SigKind::Message { fields, .. } => {
                for f in fields {
                    if let Some(env) = table.envelope.iter().find(|e| e.name == f.name) {
                        table.diags.push(
                            LocDiag::error(
                                "E0210",
                                f.loc,
                                format!("payload field `{}` repeats an envelope field", f.name),
                            )
                            .label("already part of every message")
                            .secondary(env.loc, "envelope field declared here")
                            .help(format!(
                                "every message already has `{}`; rename the payload field",
                                f.name
                            )),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    let pii = pii_paths(&table);
    table.pii_paths = pii;
    table
}

fn signature(e: &Entry<'_>, r: &TypeResolver<'_>, loc: Loc, diags: &mut Vec<LocDiag>) -> SigKind {
    match e.item {
        Item::Enum(d) => {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for v in &d.variants {
                if let Some(prev) = seen.insert(&v.name.name, v.name.span) {
                    diags.push(duplicate(loc, "variant", &v.name, prev));
                }
            }
            SigKind::Enum {
                ordered: d.ordered,
                variants: d
                    .variants
                    .iter()
                    .map(|v| v.name.name.as_str().into())
                    .collect(),
            }
        }
        Item::Record(d) => SigKind::Record {
            fields: fields(&d.fields, r, loc, diags),
        },
        Item::Message(d) => SigKind::Message {
            kind: d.kind,
            fields: fields(&d.fields, r, loc, diags),
        },
        Item::Action(d) => SigKind::Action {
            open: has_annotation(&d.annotations, "open"),
            params: fields(&d.params, r, loc, diags),
        },
        Item::Plugin(d) => {
            let emits = d
                .properties
                .iter()
                .filter(|p| p.name.name == "emits")
                .flat_map(|p| list_names(&p.value))
                .filter_map(|n| match r.scope.resolve_path(r.names, &[n]) {
                    PathRes::Item(id, _) => Some(id),
                    _ => None,
                })
                .collect();
            SigKind::Plugin { emits }
        }
        Item::Authority(d) => {
            let level = prop(&d.properties, "level")
                .and_then(expr_name)
                .and_then(level_of);
            let approves = prop(&d.properties, "approves")
                .map(|v| list_names(v).into_iter().map(Arc::from).collect());
            SigKind::Authority { level, approves }
        }
        Item::System(d) => SigKind::System {
            layer: prop(&d.properties, "layer")
                .and_then(expr_name)
                .and_then(Layer::from_name),
        },
        Item::Const(d) => {
            let ty = match &d.ty {
                Some(t) => r.resolve(t, loc, false, diags),
                None => crate::const_type::untyped(d, literal_type(&d.value), loc, diags),
            };
            SigKind::Const {
                ty,
                duration_ms: duration_literal_ms(&d.value),
            }
        }
        Item::Fn(d) => {
            let allow_any = e.is_std && d.is_extern;
            if d.is_extern && !e.is_std {
                diags.push(
                    LocDiag::error(
                        "E0111",
                        loc.with_span(d.name.span),
                        format!("`extern fn {}` outside the standard library", d.name.name),
                    )
                    .label("only `std` may declare extern functions")
                    .help("give the function a body: `fn f(x: int) -> int = …`"),
                );
            }
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for p in &d.params {
                if let Some(prev) = seen.insert(&p.name.name, p.name.span) {
                    diags.push(duplicate(loc, "parameter", &p.name, prev));
                }
            }
            SigKind::Fn {
                params: d
                    .params
                    .iter()
                    .map(|p| {
                        (
                            p.name.name.as_str().into(),
                            r.resolve(&p.ty, loc, allow_any, diags),
                        )
                    })
                    .collect(),
                ret: r.resolve(&d.ret, loc, allow_any, diags),
                is_extern: d.is_extern,
                // Outside std these are errors (E0118) and change nothing.
                sanitizes: e.is_std && has_annotation(&d.annotations, "sanitizes"),
                aggregate: e.is_std && has_annotation(&d.annotations, "aggregate"),
            }
        }
        Item::Rule(d) => SigKind::Rule {
            layer: Layer::from_name(&d.layer.name),
        },
        Item::Report(_) | Item::Test(_) | Item::Error(_) => SigKind::Report,
    }
}

fn duplicate(loc: Loc, what: &str, name: &ast::Ident, prev: Span) -> LocDiag {
    LocDiag::error(
        "E0113",
        loc.with_span(name.span),
        format!("duplicate {what} `{}`", name.name),
    )
    .label("declared again here")
    .secondary(loc.with_span(prev), "first declared here")
}

fn fields(
    decls: &[ast::FieldDecl],
    r: &TypeResolver<'_>,
    loc: Loc,
    diags: &mut Vec<LocDiag>,
) -> Vec<FieldSig> {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut out = Vec::with_capacity(decls.len());
    for f in decls {
        if let Some(prev) = seen.insert(&f.name.name, f.name.span) {
            diags.push(duplicate(loc, "field", &f.name, prev));
            continue;
        }
        let ty = r.resolve(&f.ty, loc, false, diags);
        let range = f
            .range
            .as_ref()
            .and_then(|rc| check_range(rc, &ty, &f.name.name, loc, diags));
        out.push(FieldSig {
            name: f.name.name.as_str().into(),
            ty,
            pii: has_annotation(&f.annotations, "pii"),
            loc: loc.with_span(f.span),
            range,
        });
    }
    out
}

/// `in LOW..HIGH`: literal bounds of the field's (numeric) type, `LOW <= HIGH`.
fn check_range(
    rc: &ast::RangeConstraint,
    ty: &Ty,
    field: &str,
    loc: Loc,
    diags: &mut Vec<LocDiag>,
) -> Option<(FloatLit, FloatLit)> {
    let base = ty.optional_inner().unwrap_or(ty);
    if base.is_unknown() {
        return None;
    }
    let at = loc.with_span(rc.span);
    if !base.is_numeric() {
        diags.push(
            LocDiag::error(
                "E0211",
                at,
                format!("field `{field}` of type `{ty}` cannot have a range"),
            )
            .label("ranges need a number type")
            .help("ranges apply to `int` and `float` fields"),
        );
        return None;
    }
    let bound = |e: &Expr| -> Option<(f64, bool)> {
        match e {
            Expr::Int(n, _) => Some((*n as f64, true)),
            Expr::Float(f, _) => Some((f.0, false)),
            Expr::Unary(ast::UnaryOp::Neg, x, _) => match x.as_ref() {
                Expr::Int(n, _) => Some((-(*n as f64), true)),
                Expr::Float(f, _) => Some((-f.0, false)),
                _ => None,
            },
            _ => None,
        }
    };
    let (Some((lo, lo_int)), Some((hi, hi_int))) = (bound(&rc.low), bound(&rc.high)) else {
        diags.push(
            LocDiag::error(
                "E0211",
                at,
                format!("the range of `{field}` must have literal bounds"),
            )
            .label("not a number literal")
            .help("write the bounds as numbers: `in 0.0..1.0`"),
        );
        return None;
    };
    if *base == Ty::Int && !(lo_int && hi_int) {
        diags.push(
            LocDiag::error(
                "E0211",
                at,
                format!("the range of `int` field `{field}` has float bounds"),
            )
            .label("expected `int` bounds")
            .help("write integer bounds: `in 0..100`"),
        );
        return None;
    }
    if lo > hi {
        diags.push(
            LocDiag::error(
                "E0211",
                at,
                format!("the range of `{field}` is empty: {lo:?} > {hi:?}"),
            )
            .label("low bound above high bound")
            .help("write the low bound first"),
        );
        return None;
    }
    Some((FloatLit(lo), FloatLit(hi)))
}

fn prop<'a>(props: &'a [ast::Property], name: &str) -> Option<&'a Expr> {
    props.iter().find(|p| p.name.name == name).map(|p| &p.value)
}

fn list_names(e: &Expr) -> Vec<&str> {
    match e {
        Expr::List(xs, _) => xs.iter().filter_map(expr_name).collect(),
        _ => Vec::new(),
    }
}

pub fn level_of(name: &str) -> Option<u8> {
    match name {
        "L1" => Some(1),
        "L2" => Some(2),
        "L3" => Some(3),
        "L4" => Some(4),
        "L5" => Some(5),
        _ => None,
    }
}

/// The type of a constant written without one: literals only.
fn literal_type(e: &Expr) -> Option<Ty> {
    Some(match e {
        Expr::Int(..) => Ty::Int,
        Expr::Float(..) => Ty::Float,
        Expr::Str(_) => Ty::String,
        Expr::Bool(..) => Ty::Bool,
        Expr::Quantity(q) => match q.unit.as_str() {
            "ms" | "s" | "min" | "h" | "d" => Ty::Duration,
            "km" => Ty::Distance,
            _ => return None,
        },
        Expr::Unary(ast::UnaryOp::Neg, x, _) | Expr::Paren(x, _) => return literal_type(x),
        Expr::List(xs, _) => Ty::List(Box::new(literal_type(xs.first()?)?)),
        _ => return None,
    })
}

fn pii_paths(table: &Table) -> HashMap<ItemId, (String, Loc)> {
    let mut memo: HashMap<ItemId, Option<(String, Loc)>> = HashMap::new();
    let mut ids: Vec<&ItemId> = table.items.keys().collect();
    ids.sort();
    for id in ids {
        let mut visiting = HashSet::new();
        pii_of(table, id, &mut memo, &mut visiting);
    }
    memo.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn pii_of(
    table: &Table,
    id: &ItemId,
    memo: &mut HashMap<ItemId, Option<(String, Loc)>>,
    visiting: &mut HashSet<ItemId>,
) -> Option<(String, Loc)> {
    if let Some(known) = memo.get(id) {
        return known.clone();
    }
    if !visiting.insert(id.clone()) {
        return None;
    }
    let mut found = None;
    if let Some(sig) = table.get(id)
        && matches!(sig.kind, SigKind::Record { .. } | SigKind::Message { .. })
    {
        for f in sig.fields() {
            if f.pii {
                found = Some((f.name.to_string(), f.loc));
                break;
            }
            if let Some(inner) = record_of(&f.ty)
                && let Some((path, loc)) = pii_of(table, inner, memo, visiting)
            {
                found = Some((format!("{}.{path}", f.name), loc));
                break;
            }
        }
    }
    memo.insert(id.clone(), found.clone());
    found
}

/// The record or message a type holds (through lists and optionals).
pub fn record_of(ty: &Ty) -> Option<&ItemId> {
    match ty {
        Ty::Record(id) | Ty::Message(id) => Some(id),
        Ty::List(t) | Ty::Optional(t) => record_of(t),
        Ty::Map(_, v) => record_of(v),
        _ => None,
    }
}

/// The value in milliseconds of a duration literal (`5m` counts as minutes here).
pub fn duration_literal_ms(e: &Expr) -> Option<i64> {
    match e {
        Expr::Quantity(q) => {
            let scale = match q.unit.as_str() {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" | "min" => 60_000.0,
                "h" => 3_600_000.0,
                "d" => 86_400_000.0,
                _ => return None,
            };
            Some((q.value.0 * scale).round() as i64)
        }
        Expr::Paren(x, _) => duration_literal_ms(x),
        _ => None,
    }
}

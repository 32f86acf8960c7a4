//! Incremental semantic front end of the City Brain Policy language: name resolution, type
//! checking (with units and optionals), policy checks (windows, layers, approvals, data
//! sovereignty) and the standard library.
//!
//! [`Compiler`] owns a salsa database; see `queries.rs` for the query graph and why an edit in
//! one rule body re-checks only that rule.

mod annotations;
mod check;
mod const_type;
mod db;
mod diag;
mod expr;
pub mod hir;
mod lints;
mod print;
mod props;
mod queries;
mod rebase;
mod rule;
mod scope;
mod stdlib;
mod suggest;
mod table;

pub use cbp_syntax::{Diagnostic, Label, Severity, Span};

use db::{CheckDb, SourceFile, Workspace};
use salsa::Setter;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The compiler front end: a set of files (the standard library preloaded) and their checks.
pub struct Compiler {
    db: CheckDb,
    workspace: Workspace,
    /// Path → file, std files included (`std/<name>.cbp`).
    files: BTreeMap<String, SourceFile>,
}

impl Default for Compiler {
    fn default() -> Self {
        Self::new()
    }
}

impl Compiler {
    pub fn new() -> Self {
        let db = CheckDb::default();
        let mut files = BTreeMap::new();
        let mut list = Vec::new();
        for (path, text) in stdlib::FILES {
            let file = SourceFile::builder(path.to_string(), text.to_string())
                .durability(salsa::Durability::HIGH)
                .new(&db);
            files.insert(path.to_string(), file);
            list.push(file);
        }
        let workspace = Workspace::new(&db, list);
        Compiler {
            db,
            workspace,
            files,
        }
    }

    /// Adds a file, or replaces its text.
    pub fn set_file(&mut self, path: &str, text: String) {
        if let Some(file) = self.files.get(path).copied() {
            if file.text(&self.db) != &text {
                file.set_text(&mut self.db).to(text);
            }
            return;
        }
        let file = SourceFile::new(&self.db, path.to_owned(), text);
        self.files.insert(path.to_owned(), file);
        self.sync_workspace();
    }

    pub fn remove_file(&mut self, path: &str) {
        if self.files.remove(path).is_some() {
            self.sync_workspace();
        }
    }

    fn sync_workspace(&mut self) {
        // Std files first, then user files by path: a deterministic order.
        let (std, user): (Vec<_>, Vec<_>) = self
            .files
            .iter()
            .partition(|(p, _)| queries::is_std_file(p));
        let list: Vec<SourceFile> = std.into_iter().chain(user).map(|(_, f)| *f).collect();
        self.workspace.set_files(&mut self.db).to(list);
    }

    /// The text of a user or std file, for rendering diagnostics.
    pub fn source(&self, path: &str) -> Option<String> {
        self.files.get(path).map(|f| f.text(&self.db).clone())
    }

    /// Paths of every file, std included.
    pub fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Every diagnostic of every file, sorted by (file, start, code).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for file in self.workspace.files(&self.db) {
            out.extend(
                queries::file_diagnostics(&self.db, self.workspace, *file)
                    .iter()
                    .cloned(),
            );
        }
        sort(&mut out);
        out
    }

    pub fn file_diagnostics(&self, path: &str) -> Vec<Diagnostic> {
        let Some(file) = self.files.get(path) else {
            return Vec::new();
        };
        let mut out = queries::file_diagnostics(&self.db, self.workspace, *file).clone();
        sort(&mut out);
        out
    }

    /// The checked program: every item's HIR, in workspace order.
    pub fn checked_program(&self) -> hir::Program {
        let mut program = hir::Program::default();
        for file in self.workspace.files(&self.db) {
            let parsed = queries::parse_file(&self.db, *file);
            for key in queries::file_items(&self.db, *file) {
                let checked = queries::check_item(&self.db, *key);
                if let Some(kind) = &checked.kind {
                    program.items.push(Arc::new(hir::Item {
                        id: checked.id.clone(),
                        file: file.path(&self.db).clone(),
                        offset: parsed.item_offset(key.index(&self.db)),
                        kind: kind.clone(),
                    }));
                }
            }
        }
        program.has_errors = self.diagnostics().iter().any(Diagnostic::is_error);
        program
    }

    /// Starts recording which tracked queries execute (see [`Compiler::take_query_log`]).
    pub fn enable_query_log(&mut self) {
        self.db.set_query_log(true);
    }

    /// The tracked queries executed since the last call, like `check_item(Id(402))`; empty
    /// unless [`Compiler::enable_query_log`] was called.
    pub fn take_query_log(&mut self) -> Vec<String> {
        self.db.take_query_log()
    }

    /// Where an item's name is declared (for "go to definition").
    pub fn item_location(&self, id: &hir::ItemId) -> Option<Label> {
        let table = queries::item_table(&self.db, self.workspace);
        let sig = table.get(id)?;
        let d = diag::LocDiag::error("", sig.loc, "");
        Some(queries::resolve(&self.db, &d).primary)
    }

    /// The doc comment of an item (for hover), when it has one.
    pub fn item_docs(&self, id: &hir::ItemId) -> Option<String> {
        let table = queries::item_table(&self.db, self.workspace);
        let loc = table.get(id)?.loc;
        let parsed = queries::parse_file(&self.db, loc.file);
        let item = parsed.ast.items.get(loc.item? as usize)?;
        let docs = match item {
            cbp_syntax::ast::Item::Enum(i) => &i.docs,
            cbp_syntax::ast::Item::Record(i) => &i.docs,
            cbp_syntax::ast::Item::Message(i) => &i.docs,
            cbp_syntax::ast::Item::Plugin(i) => &i.docs,
            cbp_syntax::ast::Item::Authority(i) => &i.docs,
            cbp_syntax::ast::Item::System(i) => &i.docs,
            cbp_syntax::ast::Item::Action(i) => &i.docs,
            cbp_syntax::ast::Item::Const(i) => &i.docs,
            cbp_syntax::ast::Item::Fn(i) => &i.docs,
            cbp_syntax::ast::Item::Rule(i) => &i.docs,
            cbp_syntax::ast::Item::Report(i) => &i.docs,
            cbp_syntax::ast::Item::Test(i) => &i.docs,
            cbp_syntax::ast::Item::Error(_) => return None,
        };
        (!docs.is_empty()).then(|| docs.text())
    }
}

fn sort(ds: &mut [Diagnostic]) {
    ds.sort_by(|a, b| {
        (&a.primary.file, a.primary.span.start, a.code, &a.message).cmp(&(
            &b.primary.file,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hir::{Clause, ExprKind, ItemKind, Ty};

    const FLOOD: &str = r#"
package city
event flood_warning { water_level_cm: int }
event traffic_status { road_id: string }
incident major_flood { roads: list<string> }
system pumps { layer: local  kind: actuator }
rule deep at local {
    on f: flood_warning
    when f.severity >= high
    correlate jams: traffic_status over last 5m within 500m
    let roads = jams.road_id
    then {
        actuate pumps { rate: 2 }
        escalate major_flood to district { roads: roads }
    }
}
"#;

    fn rule(c: &Compiler, name: &str) -> hir::Rule {
        let program = c.checked_program();
        assert!(!program.has_errors);
        program
            .items
            .iter()
            .find_map(|i| match (&i.id, &i.kind) {
                (Some(id), ItemKind::Rule(r)) if &*id.name == name => Some(r.clone()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn hir_resolves_names_and_types() {
        let mut c = Compiler::new();
        c.set_file("flood.cbp", FLOOD.to_owned());
        let r = rule(&c, "deep");
        assert_eq!(r.layer, hir::Layer::Local);
        assert_eq!(r.trigger.message, hir::ItemId::new("city", "flood_warning"));
        let Clause::When(cond) = &r.clauses[0] else {
            panic!("{:?}", r.clauses[0])
        };
        assert_eq!(cond.ty, Ty::Bool);
        let ExprKind::Binary(_, lhs, rhs) = &cond.kind else {
            panic!()
        };
        assert!(matches!(&lhs.kind, ExprKind::Field { envelope: true, .. }));
        // `high` resolved by the expected type: Severity, index 2.
        assert!(
            matches!(&rhs.kind, ExprKind::Variant(id, v, 2) if &*id.name == "Severity" && &**v == "high")
        );
        let Clause::Correlate(k) = &r.clauses[1] else {
            panic!()
        };
        assert_eq!(k.window_ms, 300_000);
        let radius = k.radius.as_ref().unwrap();
        assert!(
            matches!(radius.kind, ExprKind::Distance(m) if m.0 == 500.0),
            "m is metres here"
        );
        let Clause::Let { value, .. } = &r.clauses[2] else {
            panic!()
        };
        assert_eq!(
            value.ty,
            Ty::List(Box::new(Ty::String)),
            "field access maps over the list"
        );
        assert!(matches!(
            value.kind,
            ExprKind::Field {
                over_list: true,
                ..
            }
        ));
        assert_eq!(r.then.len(), 2);
        assert!(matches!(
            &r.then[1],
            hir::Action::Escalate {
                to: hir::Layer::District,
                ..
            }
        ));
    }

    #[test]
    fn items_carry_their_file_and_offset() {
        let mut c = Compiler::new();
        c.set_file("flood.cbp", FLOOD.to_owned());
        let program = c.checked_program();
        let item = program
            .items
            .iter()
            .find(|i| i.file == "flood.cbp")
            .unwrap();
        assert_eq!(
            &FLOOD[item.offset as usize..item.offset as usize + 5],
            "event"
        );
    }

    #[test]
    fn diagnostics_point_into_the_right_file_after_edits() {
        let mut c = Compiler::new();
        c.set_file("flood.cbp", FLOOD.replace("> = high", ""));
        c.set_file(
            "flood.cbp",
            format!("\n\n{}", FLOOD.replace("within 500m", "within 5min")),
        );
        let ds = c.file_diagnostics("flood.cbp");
        assert_eq!(ds.len(), 1, "{ds:?}");
        assert_eq!(ds[0].code, "E0304");
        let src = c.source("flood.cbp").unwrap();
        assert_eq!(&src[ds[0].primary.span.range()], "5min");
    }

    #[test]
    fn std_files_are_visible_and_clean() {
        let c = Compiler::new();
        assert!(c.paths().iter().all(|p| p.starts_with("std/")));
        assert!(c.source("std/privacy.cbp").unwrap().contains("tokenize"));
        assert!(c.diagnostics().is_empty());
    }

    #[test]
    fn compiler_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Compiler>();
    }

    #[test]
    fn items_can_be_located_and_documented() {
        let c = Compiler::new();
        let id = hir::ItemId::new("std", "tokenize");
        let at = c.item_location(&id).unwrap();
        assert_eq!(at.file, "std/privacy.cbp");
        let src = c.source(&at.file).unwrap();
        assert_eq!(&src[at.span.range()], "tokenize");
        assert!(c.item_docs(&id).unwrap().contains("token"));
    }

    #[test]
    fn set_file_with_same_text_keeps_results() {
        let mut c = Compiler::new();
        c.set_file("flood.cbp", FLOOD.to_owned());
        let _ = c.diagnostics();
        c.enable_query_log();
        c.take_query_log();
        c.set_file("flood.cbp", FLOOD.to_owned());
        let _ = c.diagnostics();
        assert!(c.take_query_log().is_empty());
    }

    fn diags_of(text: &str) -> Vec<Diagnostic> {
        let mut c = Compiler::new();
        c.set_file("t.cbp", text.to_owned());
        c.diagnostics()
    }

    #[test]
    fn a_user_sanitizer_does_not_launder_personal_data() {
        let ds = diags_of(
            r#"
package city
record Car { @pii plate: string }
event seen { car: Car }
incident wanted { plate: string }
@sanitizes
fn launder(s: string) -> string = s
rule r at local {
    on x: seen
    then { escalate wanted to district { plate: launder(x.car.plate) } }
}
"#,
        );
        let codes: Vec<&str> = ds.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0118", "E0410"], "{ds:?}");
    }

    #[test]
    fn unknown_names_read_as_plain_nouns() {
        let ds = diags_of(
            r#"
package p
event e { x: int }
rule r at local {
    on f: e
    then {
        escalate deep_water_seen to district { a: 1 }
        notify nobody { }
        escalate e to city { x: 1 }
    }
}
test "t" {
    send nothing at 1s { }
    expect escalation deep_water_seen
}
"#,
        );
        let messages: Vec<&str> = ds.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown incident `deep_water_seen`",
                "unknown authority or system `nobody`",
                "`e` is an event, not an incident",
                "unknown message type `nothing`",
                "unknown incident or rule `deep_water_seen`",
            ],
            "{ds:?}"
        );
        assert_eq!(ds[2].primary.message, "expected an incident");
    }

    /// (constant, code, help) for constants written without a type.
    fn untyped_const(value: &str) -> (String, String) {
        let ds = diags_of(&format!("package p\nconst X = {value}\n"));
        assert_eq!(ds.len(), 1, "one mistake, one diagnostic: {ds:?}");
        (
            ds[0].code.to_owned(),
            ds[0].help.clone().unwrap_or_default(),
        )
    }

    #[test]
    fn an_untyped_constant_gets_one_diagnostic_naming_its_likely_type() {
        for value in ["30m", "-30m", "[30m]", "30m * 2"] {
            let (code, help) = untyped_const(value);
            assert_eq!(code, "E0302", "{value}");
            assert!(help.contains("`30min`"), "{value}: {help}");
            assert!(
                help.ends_with("add a type: `: duration` or `: distance`"),
                "{value}: {help}"
            );
        }
        for (value, ty) in [
            ("30 + 5", "int"),
            ("1.5 * 2", "float"),
            ("30m + 5min", "duration"),
            ("2km + 500m", "distance"),
            ("3 > 2", "bool"),
        ] {
            let (code, help) = untyped_const(value);
            assert_eq!(code, "E0207", "{value}");
            assert_eq!(help, format!("add a type: `const X: {ty} = …`"), "{value}");
        }
        let (code, _) = untyped_const("30sec");
        assert_eq!(
            code, "E0009",
            "the lexer reports an unknown unit, and only it"
        );
        assert!(diags_of("package p\nconst X = 15min\nconst Y: duration = 30m * 2\n").is_empty());
    }
}

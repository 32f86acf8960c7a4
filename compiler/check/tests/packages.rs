//! Packages spanning files, imports, and cross-file diagnostics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;

const MODEL_A: &str = r#"
package city.model
event flood_warning { water_level_cm: int  reading: Reading }
"#;

const MODEL_B: &str = r#"
package city.model
/// Declared in another file of the same package: visible unqualified.
record Reading { value: int }
const LIMIT: int = 30
"#;

const RULES: &str = r#"
package city.rules
import city.model
import city.model.{flood_warning}
record Wrapper { inner: model.Reading }
rule deep at local {
    on f: flood_warning
    when f.water_level_cm > model.LIMIT and f.reading.value > 1
}
"#;

fn codes(c: &Compiler) -> Vec<(String, &'static str)> {
    c.diagnostics()
        .into_iter()
        .map(|d| (d.primary.file.clone(), d.code))
        .collect()
}

#[test]
fn a_package_spans_files_and_imports_resolve() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file("rules.cbp", RULES.to_owned());
    assert_eq!(codes(&c), vec![]);
}

#[test]
fn an_unused_import_warns() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file(
        "rules.cbp",
        RULES
            .replace("inner: model.Reading", "inner: int")
            .replace("model.LIMIT", "30"),
    );
    assert_eq!(codes(&c), vec![("rules.cbp".to_owned(), "W0001")]);
}

#[test]
fn names_of_other_packages_need_an_import() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file(
        "rules.cbp",
        RULES.replace("import city.model.{flood_warning}\n", ""),
    );
    let ds = c.diagnostics();
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0].code, "E0101");
    assert!(ds[0].message.contains("flood_warning"));
}

#[test]
fn duplicates_across_files_show_both_places() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file(
        "model/c.cbp",
        "package city.model\nrecord Reading { other: int }\n".to_owned(),
    );
    let ds = c.diagnostics();
    let dup = ds.iter().find(|d| d.code == "E0104").expect("E0104");
    assert_eq!(dup.primary.file, "model/c.cbp");
    assert_eq!(dup.secondary[0].file, "model/b.cbp");
}

#[test]
fn unknown_package_suggests_a_close_one() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file(
        "rules.cbp",
        RULES.replace("import city.model\n", "import city.modle\n"),
    );
    let ds = c.diagnostics();
    let d = ds.iter().find(|d| d.code == "E0100").expect("E0100");
    assert_eq!(d.help.as_deref(), Some("did you mean `city.model`?"));
}

#[test]
fn removing_a_file_removes_its_items() {
    let mut c = Compiler::new();
    c.set_file("model/a.cbp", MODEL_A.to_owned());
    c.set_file("model/b.cbp", MODEL_B.to_owned());
    c.set_file("rules.cbp", RULES.to_owned());
    c.remove_file("model/b.cbp");
    let ds = c.diagnostics();
    assert!(
        ds.iter()
            .any(|d| d.code == "E0102" && d.message.contains("Reading")),
        "{ds:?}"
    );
}

//! The IR text of every policy under `tests/data/ir/`, pinned as a snapshot in
//! `tests/snapshots/` next to this file. Adding a case is adding a file.

mod common;

#[test]
fn ir_text_is_pinned() {
    let root = common::repo_root();
    insta::glob!(
        "../../../tests/data/ir",
        "*.cbp",
        |path: &std::path::Path| {
            let name = path
                .strip_prefix(&root)
                .expect("inside root")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(path).expect("read");
            let program = common::lower_sources(&[(name, text)]);
            let printed = cbp_ir::print::print(&program);
            insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(printed);
            });
        }
    );
}

/// The shipped policies change with the language; their text is not pinned, only stable.
#[test]
fn shipped_policies_print_stably() {
    let sources = common::folder("policies");
    let a = cbp_ir::print::print(&common::lower_sources(&sources));
    let b = cbp_ir::print::print(&common::lower_sources(&sources));
    assert_eq!(a, b);
    assert!(a.contains("\nrule "), "{a}");
}

//! Random edits of the ok files (deleting and duplicating byte ranges) never panic the
//! checker, and an edited-then-restored file checks clean again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;
use proptest::prelude::*;
use std::path::PathBuf;

fn ok_files() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/check/ok");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    let piece: Vec<u8> = bytes[at..end].to_vec();
                    bytes.splice(end..end, piece);
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), 1usize..60).prop_map(|(a, n)| Edit::Duplicate(a, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_never_panic(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        let files = ok_files();
        let original = &files[which % files.len()];
        let mut c = Compiler::new();
        c.set_file("fuzz.cbp", apply(original, &edits));
        let _ = c.diagnostics();
        let _ = c.checked_program();
        // Incremental path: restore the original; it checks clean again.
        c.set_file("fuzz.cbp", original.clone());
        prop_assert!(c.diagnostics().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Incremental results equal from-scratch results after any sequence of edits.
    #[test]
    fn incremental_equals_from_scratch(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..8)) {
        let files = ok_files();
        let other = &files[(which + 1) % files.len()];
        let mut text = files[which % files.len()].clone();
        let mut inc = Compiler::new();
        inc.set_file("other.cbp", other.clone());
        inc.set_file("fuzz.cbp", text.clone());
        let _ = inc.diagnostics();
        for e in &edits {
            text = apply(&text, std::slice::from_ref(e));
            inc.set_file("fuzz.cbp", text.clone());
            let _ = inc.diagnostics();
        }
        let mut fresh = Compiler::new();
        fresh.set_file("other.cbp", other.clone());
        fresh.set_file("fuzz.cbp", text);
        prop_assert_eq!(inc.diagnostics(), fresh.diagnostics());
        prop_assert_eq!(inc.checked_program(), fresh.checked_program());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Edits alternating between two files (lints and imports cross files) still give the
    /// from-scratch result.
    #[test]
    fn edits_across_files_equal_from_scratch(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..8)) {
        let files = ok_files();
        let mut texts = [files[which % files.len()].clone(), files[(which + 1) % files.len()].clone()];
        let paths = ["one.cbp", "two.cbp"];
        let mut inc = Compiler::new();
        for (p, t) in paths.iter().zip(&texts) {
            inc.set_file(p, t.clone());
        }
        let _ = inc.diagnostics();
        for (i, e) in edits.iter().enumerate() {
            let k = i % 2;
            texts[k] = apply(&texts[k], std::slice::from_ref(e));
            inc.set_file(paths[k], texts[k].clone());
            let _ = inc.file_diagnostics(paths[k]);
        }
        let mut fresh = Compiler::new();
        for (p, t) in paths.iter().zip(&texts) {
            fresh.set_file(p, t.clone());
        }
        prop_assert_eq!(inc.diagnostics(), fresh.diagnostics());
        prop_assert_eq!(inc.checked_program(), fresh.checked_program());
    }
}

//! Every `.cbp` file of the repository that parses cleanly formats to a fixpoint with the
//! same tree (up to spans) and the same comments, in order.

mod format_support;

use format_support::{CORPUS, cbp_files, check_formatting, parses_cleanly, repo_root};

#[test]
fn every_clean_file_formats_faithfully() {
    let mut checked = 0;
    for path in cbp_files(CORPUS) {
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !parses_cleanly(&source) {
            continue;
        }
        let name = path
            .strip_prefix(repo_root())
            .unwrap_or(&path)
            .display()
            .to_string();
        check_formatting(&name, &source);
        checked += 1;
    }
    // The formatter's own cases are always there.
    assert!(checked >= 12, "only {checked} files were checked");
}

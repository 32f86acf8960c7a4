//! The Helix configuration users copy: `editors/helix/languages.toml` starts `cbpc lsp` for
//! `.cbp` files, and both READMEs show it exactly as it is. (Debian has no `helix` package,
//! so no test runs Helix itself.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text of every fenced ```toml block of a Markdown file, without the fence's indent.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut current {
            None if trimmed == "```toml" => current = Some((indent, String::new())),
            Some((_, text)) if trimmed == "```" => {
                blocks.push(std::mem::take(text));
                current = None;
            }
            Some((indent, text)) => {
                text.push_str(line.get(*indent..).unwrap_or(""));
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn helix_configuration_starts_cbpc_lsp_for_cbp_files() {
    let config = repo_file("editors/helix/languages.toml");
    let lines: Vec<&str> = config.lines().map(str::trim).collect();
    for expected in [
        "[language-server.cbpc]",
        "command = \"cbpc\"",
        "args = [\"lsp\"]",
        "[[language]]",
        "name = \"cbp\"",
        "file-types = [\"cbp\"]",
        "language-servers = [\"cbpc\"]",
    ] {
        assert!(lines.contains(&expected), "missing `{expected}`");
    }
}

#[test]
fn readmes_show_the_helix_configuration_as_it_is() {
    let config = repo_file("editors/helix/languages.toml");
    for readme in ["editors/helix/README.md", "lsp/README.md"] {
        let blocks = toml_blocks(&repo_file(readme));
        assert!(
            blocks.contains(&config),
            "{readme} does not show editors/helix/languages.toml verbatim"
        );
    }
}

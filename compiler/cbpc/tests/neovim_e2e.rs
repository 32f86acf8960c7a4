//! `cbpc lsp` through a real editor: Neovim, headless, with its built-in LSP client and the
//! configuration users copy (`editors/neovim/cbp.lua`), driven by `editors/neovim/e2e.lua`.
//!
//! Skips (and says so) only when `nvim` is not on `PATH`; CI (`.ci/run`) installs it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVENTS: &str = "package city

/// A flood prediction.
event flood_warning {
    /// Water above the kerb, in centimetres.
    water_level_cm: int
}
";

const RULES: &str = "package city

rule pumps_on at local {
    on f: flood_warning
    when f.water_level_cm > 30
    then { }
}

rule pumps_check at local {
    on g: flood_warnin
    when g.water_level_cm > 40
    then { }
}
";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Neovim's position (1-based line, 0-based byte column) of `needle`'s first occurrence in
/// `text`, moved `into` bytes into it.
fn position(text: &str, needle: &str, into: usize) -> Value {
    let offset = text.find(needle).expect("the needle is in the fixture") + into;
    let line = text[..offset].matches('\n').count() + 1;
    let col = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1);
    json!([line, col])
}

#[test]
fn neovim_gets_diagnostics_hover_and_definition_from_cbpc_lsp() {
    let Some(nvim) = on_path("nvim") else {
        println!(
            "SKIPPED: `nvim` is not on PATH, so the Neovim end-to-end test did not run \
             (install it: apt-get install neovim; .ci/run does)"
        );
        return;
    };
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("events.cbp"), EVENTS).unwrap();
    std::fs::write(workspace.path().join("rules.cbp"), RULES).unwrap();
    let out = workspace.path().join("out.json");
    let spec = json!({
        "file": "rules.cbp",
        "out": out,
        // `water_level_cm` in `f.water_level_cm > 30`
        "hover": position(RULES, "f.water_level_cm", 4),
        // `flood_warning` in `on f: flood_warning`, declared in events.cbp (not open)
        "definition": position(RULES, "f: flood_warning", 6),
        "fix": { "line": 10, "text": "    on g: flood_warning" },
    });

    // The `cbpc` the configuration starts is the one cargo just built.
    let cbpc = Path::new(env!("CARGO_BIN_EXE_cbpc"));
    let mut path = vec![cbpc.parent().unwrap().to_path_buf()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let script = repo_root().join("editors/neovim/e2e.lua");
    let mut child = Command::new(&nvim)
        .args(["--headless", "-n", "-i", "NONE", "-u", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(workspace.path())
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("CBP_E2E", spec.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every step of the script has its own 10 s timeout; this one catches a hung editor.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("nvim did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let report: Value = std::fs::read_to_string(&out)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null);
    assert!(
        status.success(),
        "nvim exited with {status:?}; its report: {report}; its stderr: {stderr}"
    );

    // Diagnostics, as Neovim stores them: the unknown type on line 10, column 10.
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{report}");
    assert_eq!(diagnostics[0]["code"], "E0101", "{report}");
    assert_eq!(diagnostics[0]["line"], 10, "{report}");
    assert_eq!(diagnostics[0]["col"], 10, "{report}");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `flood_warning`?"),
        "{report}"
    );

    // Hover: the floating window shows the field with its type and its doc comment.
    let hover: Vec<&str> = report["hover"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(hover.contains(&"water_level_cm: int"), "{hover:?}");
    assert!(
        hover.contains(&"Water above the kerb, in centimetres."),
        "{hover:?}"
    );

    // Definition: the cursor is on `flood_warning` in events.cbp, line 4 (`event flood_warning`).
    assert_eq!(
        report["definition"],
        json!({ "file": "events.cbp", "line": 4, "col": 6 }),
        "{report}"
    );

    // After the edit fixing the type, the server republished no diagnostics.
    assert_eq!(report["after_fix"], json!([]), "{report}");
}

/// lsp/README.md shows the Neovim configuration the test above runs, line for line (the
/// README indents it inside a list item).
#[test]
fn the_readme_shows_the_tested_neovim_configuration() {
    let config = std::fs::read_to_string(repo_root().join("editors/neovim/cbp.lua")).unwrap();
    let readme = std::fs::read_to_string(repo_root().join("lsp/README.md")).unwrap();
    let config: Vec<&str> = config.lines().map(str::trim).collect();
    let readme: Vec<&str> = readme.lines().map(str::trim).collect();
    assert!(
        readme.windows(config.len()).any(|w| w == config.as_slice()),
        "lsp/README.md must show editors/neovim/cbp.lua as it is"
    );
}

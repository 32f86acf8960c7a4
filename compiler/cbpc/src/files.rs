//! Finding the `.cbp` files named on the command line and reading them.

use std::path::{Path, PathBuf};

/// A source file as the compiler sees it: the name diagnostics show, and the text.
pub struct SourceFile {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// Every `.cbp` file under each path (a file is taken whatever its extension), in a stable
/// order, each once. Hidden folders and `target/` are skipped.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}`: {}", path.display(), lower(&e)))?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read folder `{}`: {}", dir.display(), lower(&e)))?;
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if child.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&child, found)?;
            }
        } else if name.ends_with(".cbp") {
            found.push(child);
        }
    }
    Ok(())
}

/// Reads each file. A file that is not UTF-8 is an error that names it.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<SourceFile>, String> {
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read `{}`: {}", path.display(), lower(&e)))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| format!("`{}` is not UTF-8 text: {}", path.display(), e))?;
            Ok(SourceFile {
                name: display_name(path),
                path: path.clone(),
                text,
            })
        })
        .collect()
}

/// The name used in diagnostics: the path as given, with `/` separators and no `./`.
pub fn display_name(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// When a file is part of the standard library (`package std`), the name of the embedded std
/// file it replaces, so that `cbpc check stdlib` checks the files on disk instead of loading
/// the library twice.
pub fn std_name(file: &SourceFile) -> Option<String> {
    let declares_std = file.text.lines().any(|line| line.trim() == "package std");
    let base = file.path.file_name()?.to_str()?;
    declares_std.then(|| format!("std/{base}"))
}

fn lower(error: &std::io::Error) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

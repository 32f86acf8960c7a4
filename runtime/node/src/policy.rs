//! Loading the policy a node runs: a bundle written by `cbpc compile`, policy sources
//! (checked and lowered as `cbpc run` does), or the shipped policies built into the binary,
//! so the default node needs no files beside it.

use cbp_ir::Program;
use cbpc::files::SourceFile;
use cbpc::render::plain_line;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shipped policies (`policies/` of the repository), as `cbpc run policies` reads them.
const SHIPPED: &[(&str, &str)] = &[
    (
        "policies/authorities.cbp",
        include_str!("../../../policies/authorities.cbp"),
    ),
    (
        "policies/clear_route_for_emergency.cbp",
        include_str!("../../../policies/clear_route_for_emergency.cbp"),
    ),
    (
        "policies/events.cbp",
        include_str!("../../../policies/events.cbp"),
    ),
    (
        "policies/flood_emergency_protocol.cbp",
        include_str!("../../../policies/flood_emergency_protocol.cbp"),
    ),
    (
        "policies/flood_traffic_coordination.cbp",
        include_str!("../../../policies/flood_traffic_coordination.cbp"),
    ),
    (
        "policies/neighbourhood_report.cbp",
        include_str!("../../../policies/neighbourhood_report.cbp"),
    ),
    (
        "policies/orders.cbp",
        include_str!("../../../policies/orders.cbp"),
    ),
    (
        "policies/plugins.cbp",
        include_str!("../../../policies/plugins.cbp"),
    ),
    (
        "policies/speeding_detected.cbp",
        include_str!("../../../policies/speeding_detected.cbp"),
    ),
];

/// Where a policy came from, for logs and the API.
#[derive(Clone, Debug)]
pub enum PolicySource {
    Shipped,
    Paths(Vec<PathBuf>),
    Bundle(PathBuf),
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Shipped => write!(f, "the shipped policies"),
            PolicySource::Paths(paths) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "{}", names.join(" "))
            }
            PolicySource::Bundle(path) => write!(f, "bundle {}", path.display()),
        }
    }
}

/// Checks, lowers or reads the policy; the error lists every problem, one per line.
pub fn load(source: &PolicySource) -> Result<Arc<Program>, String> {
    match source {
        PolicySource::Shipped => {
            let files = SHIPPED
                .iter()
                .map(|(name, text)| SourceFile {
                    name: (*name).to_string(),
                    path: PathBuf::from(name),
                    text: (*text).to_string(),
                })
                .collect::<Vec<_>>();
            compile(&files)
        }
        PolicySource::Paths(paths) => {
            let files = cbpc::files::collect(paths).and_then(|p| cbpc::files::read_all(&p))?;
            compile(&files)
        }
        PolicySource::Bundle(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            read_bundle(&bytes, path)
        }
    }
}

/// A bundle's bytes (from a file or the reload API) → its program, refusing a tampered one.
pub fn read_bundle(bytes: &[u8], origin: &Path) -> Result<Arc<Program>, String> {
    cbp_ir::bundle::read_bundle(bytes)
        .map(Arc::new)
        .map_err(|e| format!("the bundle `{}` is refused: {e}", origin.display()))
}

fn compile(files: &[SourceFile]) -> Result<Arc<Program>, String> {
    if files.is_empty() {
        return Err("no `.cbp` files to load".into());
    }
    let compiler = cbpc::load(files);
    let errors: Vec<String> = compiler
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| plain_line(d, &compiler))
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "the policy has {} error(s):\n{}",
            errors.len(),
            errors.join("\n")
        ));
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                cbpc::files::std_name(f).unwrap_or_else(|| f.name.clone()),
                f.text.clone(),
            )
        })
        .collect();
    cbp_lower::lower(&compiler.checked_program(), &texts)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_is_the_policies_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cbp"))
            .map(|n| format!("policies/{n}"))
            .collect();
        on_disk.sort();
        let built_in: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            built_in, on_disk,
            "update SHIPPED in runtime/node/src/policy.rs"
        );
    }

    #[test]
    fn the_shipped_policies_compile_like_the_folder() {
        let shipped = load(&PolicySource::Shipped).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let from_disk = load(&PolicySource::Paths(vec![dir])).unwrap();
        assert_eq!(shipped.rules.len(), from_disk.rules.len());
        assert!(shipped.rules.iter().any(|r| r.name == "speeding_detected"));
    }

    #[test]
    fn a_broken_policy_names_file_and_line() {
        let files = [SourceFile {
            name: "bad.cbp".into(),
            path: PathBuf::from("bad.cbp"),
            text: "package city\nrule r at local { on x: nothing }\n".into(),
        }];
        let error = compile(&files).unwrap_err();
        assert!(error.starts_with("the policy has"), "{error}");
        assert!(error.contains("bad.cbp:2:"), "{error}");
    }
}

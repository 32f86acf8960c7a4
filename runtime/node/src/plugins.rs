//! Plugin registration (seed 2.2, step 1): a plugin model sends its configuration manifest;
//! the node accepts it only when the running policy declares that plugin and the manifest
//! agrees with the declaration.

use cbp_ir::Program;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /api/v1/plugin/register`'s body: the seed's `{"plugin_manifest": {…}}`, with the
/// endpoints the plugin offers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub plugin_manifest: PluginManifest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PluginManifest {
    pub model_id: String,
    pub model_name: Option<String>,
    pub vendor: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub output_types: Vec<String>,
    /// Everything else of the manifest (capabilities, latency SLA, …), kept as sent.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// The plugin id when the manifest matches the policy's declaration; otherwise every
/// mismatch, in one message.
pub fn check_manifest(program: &Program, manifest: &Manifest) -> Result<String, String> {
    let m = &manifest.plugin_manifest;
    let Some(declared) = program.plugins.iter().find(|p| p.model_id == m.model_id) else {
        let known: Vec<&str> = program
            .plugins
            .iter()
            .map(|p| p.model_id.as_str())
            .collect();
        return Err(format!(
            "the policy declares no plugin `{}`; it declares {}",
            m.model_id,
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    // The IR keeps a plugin's id and what it emits (the rest of the declaration is for the
    // checker and people), so those are what a manifest must agree with.
    let mut problems = Vec::new();
    let emits: Vec<&str> = declared
        .emits
        .iter()
        .filter_map(|id| program.message(*id).map(|m| m.name.as_str()))
        .collect();
    let undeclared: Vec<&str> = m
        .output_types
        .iter()
        .map(String::as_str)
        .filter(|t| !emits.contains(t))
        .collect();
    if !undeclared.is_empty() {
        problems.push(format!(
            "`output_types` has {} that the policy's `emits` does not list ({})",
            undeclared
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", "),
            emits.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(declared.model_id.clone())
    } else {
        Err(format!(
            "the manifest of `{}` does not match the policy: {}",
            m.model_id,
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicySource, load};

    fn manifest(json: &str) -> Manifest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_seed_manifest_matches_but_for_what_the_policy_leaves_out() {
        let program = load(&PolicySource::Shipped).unwrap();
        let ok = manifest(
            r#"{"plugin_manifest": {"model_id": "traffic-violation-detector-v2",
                "model_name": "Traffic Violation Detection System",
                "output_types": ["violation_event"], "latency_sla": "< 2 seconds"}}"#,
        );
        assert_eq!(
            check_manifest(&program, &ok).unwrap(),
            "traffic-violation-detector-v2"
        );
        let extra = manifest(
            r#"{"plugin_manifest": {"model_id": "traffic-violation-detector-v2",
                "output_types": ["violation_event", "alert"]}}"#,
        );
        let error = check_manifest(&program, &extra).unwrap_err();
        assert!(error.contains("`alert`"), "{error}");
        let unknown = manifest(r#"{"plugin_manifest": {"model_id": "nobody"}}"#);
        let error = check_manifest(&program, &unknown).unwrap_err();
        assert!(error.contains("no plugin `nobody`"), "{error}");
        assert!(error.contains("`flood_prediction_model`"), "{error}");
    }
}

//! `manifest.json`: what a run was made from, so it can be reproduced and
//! checked. Everything in it but `created` is the same on a rerun.

use crate::error::Error;
use crate::load::Loaded;
use cohortflow_analysis::Results;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;

pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn file_entry(path: &Path) -> Result<serde_json::Value, Error> {
    Ok(json!({ "file": path.display().to_string(), "sha256": sha256_file(path)? }))
}

/// The manifest of a run whose other outputs are already in `folder`.
pub(crate) fn build(loaded: &Loaded, folder: &Path, results: &Results) -> Result<String, Error> {
    let mut sources = Vec::new();
    for s in &loaded.sources {
        let mut entry = file_entry(&s.file)?;
        entry["name"] = json!(s.config.name);
        entry["centre"] = json!(s.config.centre);
        entry["data"] = file_entry(&crate::load::normalize(&s.data_path()))?;
        entry["settings"] = settings(&s.text);
        sources.push(entry);
    }
    let mut outputs = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map_err(|e| Error::io(folder, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    for name in names {
        outputs.push(json!({ "file": name, "sha256": sha256_file(&folder.join(&name))? }));
    }
    let mut pipeline = file_entry(&loaded.path)?;
    pipeline["name"] = json!(loaded.name());
    pipeline["settings"] = settings(&loaded.text);
    let mut schema = file_entry(&loaded.schema_path)?;
    let schema_text = std::fs::read_to_string(&loaded.schema_path)
        .map_err(|e| Error::io(&loaded.schema_path, e))?;
    schema["settings"] = settings(&schema_text);
    let manifest = json!({
        "tool": { "name": "cohortflow", "version": env!("CARGO_PKG_VERSION") },
        "created": created(),
        "pipeline": pipeline,
        "schema": schema,
        "row_key": loaded.file.pipeline.row_key.get_ref(),
        "sources": sources,
        "outputs": outputs,
        "conventions": results.conventions,
    });
    Ok(crate::run::to_json(&manifest))
}

/// A TOML file's keys and values as JSON, so that `cohortflow diff` can
/// say which setting changed between two runs (cohortflow-regress).
fn settings(text: &str) -> serde_json::Value {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// UTC time of the run; `SOURCE_DATE_EPOCH` (seconds) overrides it for
/// byte-identical reruns.
fn created() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

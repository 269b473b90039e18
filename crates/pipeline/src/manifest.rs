//! `manifest.json`: what a run was made from, so it can be reproduced and
//! checked. Everything in it but `created` is the same on a rerun.
//!
//! Takes plain data (names and paths), not the loaded pipeline or the run,
//! so that it depends on nothing else in this crate but its errors.

use crate::error::Error;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One source of the run: its names, its source file (and its text) and
/// its data file, or for a database source what it read.
pub(crate) struct SourceFiles {
    pub name: String,
    pub centre: String,
    pub file: PathBuf,
    pub text: String,
    pub data: PathBuf,
    /// A database source: connection without password, query, rows and
    /// their hash (`cohortflow_ingest::DatabaseRead`), recorded as `data`
    /// in place of a data file's name and hash.
    pub database: Option<serde_json::Value>,
}

/// Everything the manifest records.
pub(crate) struct Inputs<'a> {
    pub pipeline_name: &'a str,
    pub pipeline: &'a Path,
    pub pipeline_text: &'a str,
    pub schema: &'a Path,
    /// The row key the cohort was sorted by.
    pub row_key: &'a [String],
    pub sources: Vec<SourceFiles>,
    /// The folder the outputs are in, and their names in the order listed.
    pub folder: &'a Path,
    pub outputs: Vec<String>,
    pub conventions: serde_json::Value,
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn file_entry(path: &Path) -> Result<serde_json::Value, Error> {
    Ok(json!({ "file": path.display().to_string(), "sha256": sha256_file(path)? }))
}

/// The text of `manifest.json`.
pub(crate) fn build(inputs: &Inputs) -> Result<String, Error> {
    let mut sources = Vec::new();
    for s in &inputs.sources {
        let mut entry = file_entry(&s.file)?;
        entry["name"] = json!(s.name);
        entry["centre"] = json!(s.centre);
        entry["data"] = match &s.database {
            Some(read) => read.clone(),
            None => file_entry(&s.data)?,
        };
        entry["settings"] = settings(&s.text);
        sources.push(entry);
    }
    let mut outputs = Vec::new();
    for name in &inputs.outputs {
        outputs.push(json!({ "file": name, "sha256": sha256_file(&inputs.folder.join(name))? }));
    }
    let mut pipeline = file_entry(inputs.pipeline)?;
    pipeline["name"] = json!(inputs.pipeline_name);
    pipeline["settings"] = settings(inputs.pipeline_text);
    let mut schema = file_entry(inputs.schema)?;
    let schema_text =
        std::fs::read_to_string(inputs.schema).map_err(|e| Error::io(inputs.schema, e))?;
    schema["settings"] = settings(&schema_text);
    let manifest = json!({
        "tool": { "name": "cohortflow", "version": env!("CARGO_PKG_VERSION") },
        "created": created(),
        "pipeline": pipeline,
        "schema": schema,
        "row_key": inputs.row_key,
        "sources": sources,
        "outputs": outputs,
        "conventions": inputs.conventions,
    });
    let mut text = serde_json::to_string_pretty(&manifest).expect("a JSON value serialises");
    text.push('\n');
    Ok(text)
}

/// A TOML file's keys and values as JSON (for `cohortflow diff`, which
/// names the settings that changed between two runs); null if it does not
/// parse (it did, when the pipeline was loaded).
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

//! `manifest.json`: what a run was made from, so it can be reproduced and
//! checked. Everything in it but `created` and `stages` (what each stage
//! cost on this machine, [`crate::meter`]) is the same on a rerun; with
//! `SOURCE_DATE_EPOCH` set, `created` is that time and `stages` is not
//! recorded, so the whole manifest is the same bytes.
//!
//! The outputs' hashes are computed on the bytes as they are written and
//! the inputs' by a thread of their own once ingest is done with them
//! ([`hash_files`]), so the manifest reads no file again.
//!
//! Takes plain data (names and paths), not the loaded pipeline or the run,
//! so that it depends on nothing else in this crate but its errors.

use crate::error::Error;
use crate::meter::StageCost;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One source of the run: its names, its source file (and its text) and
/// its data file, or for a database source what it read.
pub(crate) struct SourceFiles {
    pub name: String,
    pub centre: String,
    pub file: PathBuf,
    pub text: String,
    pub data: PathBuf,
    /// A REDCap export's data dictionary.
    pub dictionary: Option<PathBuf>,
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
    /// sha256 of the outputs, by name, as they were written; an output not
    /// in it is read and hashed.
    pub output_hashes: &'a HashMap<String, String>,
    /// sha256 of the input files ([`hash_files`]); a file not in it is read
    /// and hashed.
    pub input_hashes: &'a HashMap<PathBuf, String>,
    pub conventions: serde_json::Value,
    pub stages: &'a [StageCost],
}

/// sha256 of a file, read in blocks (a registry export may not fit in
/// memory twice).
pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// sha256 of each file (each once, whatever the repeats in `files`).
pub(crate) fn hash_files(files: &[PathBuf]) -> Result<HashMap<PathBuf, String>, Error> {
    let mut hashes = HashMap::new();
    for f in files {
        if !hashes.contains_key(f) {
            hashes.insert(f.clone(), sha256_file(f)?);
        }
    }
    Ok(hashes)
}

fn file_entry(path: &Path, hashes: &HashMap<PathBuf, String>) -> Result<serde_json::Value, Error> {
    let sha = match hashes.get(path) {
        Some(h) => h.clone(),
        None => sha256_file(path)?,
    };
    Ok(json!({ "file": path.display().to_string(), "sha256": sha }))
}

/// The text of `manifest.json`.
pub(crate) fn build(inputs: &Inputs) -> Result<String, Error> {
    let mut sources = Vec::new();
    for s in &inputs.sources {
        let mut entry = file_entry(&s.file, inputs.input_hashes)?;
        entry["name"] = json!(s.name);
        entry["centre"] = json!(s.centre);
        entry["data"] = match &s.database {
            Some(read) => read.clone(),
            None => file_entry(&s.data, inputs.input_hashes)?,
        };
        if let Some(d) = &s.dictionary {
            entry["dictionary"] = file_entry(d, inputs.input_hashes)?;
        }
        entry["settings"] = settings(&s.text);
        sources.push(entry);
    }
    let mut outputs = Vec::new();
    for name in &inputs.outputs {
        let sha = match inputs.output_hashes.get(name) {
            Some(h) => h.clone(),
            None => sha256_file(&inputs.folder.join(name))?,
        };
        outputs.push(json!({ "file": name, "sha256": sha }));
    }
    let mut pipeline = file_entry(inputs.pipeline, inputs.input_hashes)?;
    pipeline["name"] = json!(inputs.pipeline_name);
    pipeline["settings"] = settings(inputs.pipeline_text);
    let mut schema = file_entry(inputs.schema, inputs.input_hashes)?;
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
        "stages": stages(inputs.stages),
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

/// What each stage cost; left out when `SOURCE_DATE_EPOCH` asks for
/// byte-identical reruns (the log still has the figures).
fn stages(costs: &[StageCost]) -> serde_json::Value {
    if source_date_epoch().is_some() {
        json!("not recorded: SOURCE_DATE_EPOCH is set (byte-identical reruns); see the log")
    } else {
        json!(costs)
    }
}

fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
}

/// UTC time of the run; `SOURCE_DATE_EPOCH` (seconds) overrides it for
/// byte-identical reruns.
fn created() -> String {
    let secs = source_date_epoch().unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

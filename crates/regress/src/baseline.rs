//! Baselines: a run's small text outputs, kept next to the pipeline file in
//! `baselines/<name>/` and meant for version control. Counts and estimates
//! only; no patient rows (no stage tables, no rejects with their values).

use crate::Error;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The files a baseline keeps, copied from the run folder as they are
/// (`manifest.json` is kept without its timestamp and output hashes).
pub const FILES: [&str; 4] = ["results.json", "ledger.csv", "attrition.csv", "table1.csv"];

/// `<folder of the pipeline file>/baselines/<name>`.
pub fn dir(pipeline_file: &Path, name: &str) -> PathBuf {
    pipeline_file
        .parent()
        .unwrap_or(Path::new(""))
        .join("baselines")
        .join(name)
}

/// Stores the run folder `run` as the baseline of pipeline `name` in `to`,
/// replacing what was there. Returns the files written.
pub fn accept(run: &Path, name: &str, to: &Path) -> Result<Vec<String>, Error> {
    let manifest_path = run.join("manifest.json");
    let manifest: Value = std::fs::read_to_string(&manifest_path)
        .map_err(|e| {
            Error::new(
                &manifest_path,
                format!("{e}; run the pipeline first (`cohortflow run {name}`)"),
            )
        })
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| Error::new(&manifest_path, e.to_string()))
        })?;
    let made_by = manifest
        .get("pipeline")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if made_by != name {
        return Err(Error::new(
            run,
            format!(
                "was made by pipeline '{made_by}', not '{name}'; give the run folder of '{name}' \
                 with --run"
            ),
        ));
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for f in FILES {
        let p = run.join(f);
        if !p.is_file() {
            if f == "results.json" {
                return Err(Error::new(&p, "is missing; the run folder is incomplete"));
            }
            continue;
        }
        let bytes = std::fs::read(&p).map_err(|e| Error::new(&p, e))?;
        files.push((f.to_string(), bytes));
    }
    let mut kept = manifest.clone();
    if let Some(m) = kept.as_object_mut() {
        m.remove("created");
        m.remove("outputs");
        m.remove("stages");
    }
    let mut text = serde_json::to_string_pretty(&kept).expect("JSON serialises");
    text.push('\n');
    files.push(("manifest.json".to_string(), text.into_bytes()));

    // Written beside the old baseline and swapped in, so that a failure
    // leaves the old one whole.
    let parent = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::new(parent, e))?;
    let leaf = to.file_name().unwrap_or_default().to_string_lossy();
    let staging = parent.join(format!(".{leaf}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| Error::new(&staging, e))?;
    for (f, bytes) in &files {
        let p = staging.join(f);
        if let Err(e) = std::fs::write(&p, bytes) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Error::new(&p, e));
        }
    }
    let old = parent.join(format!(".{leaf}.old-{}", std::process::id()));
    if to.exists() {
        std::fs::rename(to, &old).map_err(|e| Error::new(to, e))?;
    }
    if let Err(e) = std::fs::rename(&staging, to) {
        let _ = std::fs::rename(&old, to);
        let _ = std::fs::remove_dir_all(&staging);
        return Err(Error::new(to, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    let mut names: Vec<String> = files.into_iter().map(|(f, _)| f).collect();
    names.sort();
    Ok(names)
}

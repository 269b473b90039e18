//! Regression testing of a study's outputs: what changed between two run
//! folders (`cohortflow diff`), and pinned baselines a run is checked
//! against (`cohortflow baseline accept`, `cohortflow check`).
//!
//! - [`folder`] reads a run folder or a baseline (a baseline keeps a run's
//!   `results.json`, `ledger.csv`, `attrition.csv`, `table1.csv` and its
//!   manifest without timestamps: counts and estimates, no patient rows).
//! - [`diff`] compares two of them section by section: inputs and settings
//!   (from the manifests), patients entering, leaving or changing at each
//!   stage (by row key, never by position; named by source and line), the
//!   ledger and the attrition per step, source and arm, every field of
//!   `results.json` under the `[regression]` tolerances ([`config`]), and
//!   the cells of Table 1.
//! - [`baseline`] writes a baseline next to the pipeline file.
//!
//! Depends on cohortflow-core (provenance column names, SQL expressions),
//! polars and polars-io (the stage tables), serde, serde_json and csv. It
//! reads run folders and never calls a stage: it must not depend on the
//! stage crates.

pub mod baseline;
pub mod config;
pub mod estimates;
pub mod folder;
pub mod inputs;
pub mod patients;
mod render;
pub mod tables;

pub use config::{RegressionConfig, Tolerance};
pub use folder::RunFolder;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A problem reading or writing a run folder, a baseline or a keys file:
/// the path and what is wrong, never a patient's values.
#[derive(Debug)]
pub struct Error {
    pub path: PathBuf,
    pub message: String,
}

impl Error {
    pub fn new(path: &Path, message: impl ToString) -> Error {
        Error {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for Error {}

/// Everything that differs between two runs.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    /// True when nothing moved beyond the tolerances (inputs may differ).
    pub identical: bool,
    pub tolerances: RegressionConfig,
    pub alpha: f64,
    pub inputs: inputs::Inputs,
    pub patients: patients::Patients,
    pub ledger: Vec<tables::CellChange>,
    pub attrition: Vec<tables::CellChange>,
    pub estimates: Vec<estimates::Moved>,
    pub table1: Vec<tables::CellChange>,
}

impl Diff {
    /// The report for people (no row keys, no patient values).
    pub fn to_text(&self) -> String {
        render::text(self)
    }

    /// The report for programs, pretty JSON (no row keys either).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a diff serialises");
        s.push('\n');
        s
    }

    /// The paths of the results fields that moved.
    pub fn moved_fields(&self) -> Vec<&str> {
        self.estimates.iter().map(|m| m.path.as_str()).collect()
    }
}

/// The tolerances and α a run declares: its pipeline's `[regression]` and
/// `[report] alpha`, as its manifest records them (the defaults when it
/// does not).
pub fn declared(run: &RunFolder) -> Result<(RegressionConfig, f64), Error> {
    let settings = run.pipeline_settings();
    let tol = match settings.and_then(|s| s.get("regression")) {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                &run.path.join("manifest.json"),
                format!("its [regression] section cannot be read: {e}"),
            )
        })?,
        None => RegressionConfig::default(),
    };
    let alpha = settings
        .and_then(|s| s.get("report")?.get("alpha")?.as_f64())
        .unwrap_or(0.05);
    Ok((tol, alpha))
}

/// Compares `old` with `new` under `tol`; p-values on different sides of
/// `alpha` are named.
pub fn diff(
    old: &RunFolder,
    new: &RunFolder,
    tol: &RegressionConfig,
    alpha: f64,
) -> Result<Diff, Error> {
    let counts = tables::Cells::Counts(tol.counts_absolute.0);
    let both = |a: &Option<folder::Table>, b: &Option<folder::Table>, keys, cells| match (a, b) {
        (Some(a), Some(b)) => tables::compare(a, b, keys, cells),
        _ => Vec::new(),
    };
    let inputs = inputs::compare(old.manifest.as_ref(), new.manifest.as_ref());
    let patients = patients::compare(old, new)?;
    let ledger = both(&old.ledger, &new.ledger, 3, counts);
    let attrition = both(&old.attrition, &new.attrition, 4, counts);
    let table1 = both(&old.table1, &new.table1, 3, tables::Cells::Text);
    let estimates = estimates::compare(&old.results, &new.results, tol, alpha);
    let columns_differ = patients
        .stages
        .iter()
        .any(|s| !s.columns_added.is_empty() || !s.columns_removed.is_empty());
    let identical = !patients.moved()
        && !columns_differ
        && ledger.is_empty()
        && attrition.is_empty()
        && table1.is_empty()
        && estimates.is_empty();
    Ok(Diff {
        old: old.path.display().to_string(),
        new: new.path.display().to_string(),
        identical,
        tolerances: *tol,
        alpha,
        inputs,
        patients,
        ledger,
        attrition,
        estimates,
        table1,
    })
}

//! Reading a run folder (or a baseline, which keeps a run folder's small
//! text files and none of its patient rows).

use crate::Error;
use polars::prelude::{DataFrame, PolarsResult};
use polars_io::prelude::{ParquetReader, SerReader};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The stage tables a run folder may hold, in the order the rows go
/// through them (`matched` only with `[matching]`).
pub const STAGES: [&str; 5] = ["ingest", "clean", "derive", "cohort", "matched"];

/// A CSV file as text: its header and its records.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// What a comparison reads from a run folder or a baseline.
#[derive(Debug)]
pub struct RunFolder {
    pub path: PathBuf,
    pub manifest: Option<Value>,
    pub results: Value,
    pub ledger: Option<Table>,
    pub attrition: Option<Table>,
    pub table1: Option<Table>,
    pub rejects: Option<Table>,
    /// The stage tables present, in [`STAGES`] order.
    pub stages: Vec<(String, DataFrame)>,
}

impl RunFolder {
    /// Reads `path`. It must hold `results.json`; every other file is read
    /// when present.
    pub fn read(path: &Path) -> Result<RunFolder, Error> {
        if !path.is_dir() {
            return Err(Error::new(
                path,
                "is not a folder; give a run folder (`cohortflow run` writes runs/<pipeline>) \
                 or a baseline folder",
            ));
        }
        let results_path = path.join("results.json");
        if !results_path.is_file() {
            return Err(Error::new(
                path,
                "has no results.json, so it is not a run folder or a baseline; give the folder \
                 `cohortflow run` wrote",
            ));
        }
        let results = read_json(&results_path)?;
        let manifest_path = path.join("manifest.json");
        let manifest = if manifest_path.is_file() {
            Some(read_json(&manifest_path)?)
        } else {
            None
        };
        let mut stages = Vec::new();
        for stage in STAGES {
            let file = path.join(format!("{stage}.parquet"));
            if file.is_file() {
                let f = std::fs::File::open(&file).map_err(|e| Error::new(&file, e))?;
                let df = ParquetReader::new(f)
                    .finish()
                    .and_then(categories_as_text)
                    .map_err(|e| Error::new(&file, format!("cannot be read as Parquet: {e}")))?;
                stages.push((stage.to_string(), df));
            }
        }
        Ok(RunFolder {
            path: path.to_path_buf(),
            manifest,
            results,
            ledger: read_csv_if_present(&path.join("ledger.csv"))?,
            attrition: read_csv_if_present(&path.join("attrition.csv"))?,
            table1: read_csv_if_present(&path.join("table1.csv"))?,
            rejects: read_csv_if_present(&path.join("rejects.csv"))?,
            stages,
        })
    }

    /// The pipeline's settings as the manifest carries them (the pipeline
    /// file's TOML as JSON), if it does.
    pub fn pipeline_settings(&self) -> Option<&Value> {
        self.manifest.as_ref()?.get("pipeline")?.get("settings")
    }

    /// The row key the run sorted its cohort by.
    pub fn row_key(&self) -> Vec<String> {
        self.manifest
            .as_ref()
            .and_then(|m| m.get("row_key"))
            .and_then(|k| k.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| vec!["source".to_string(), "source_row".to_string()])
    }
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::new(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            path,
            format!(
                "is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn read_csv_if_present(path: &Path) -> Result<Option<Table>, Error> {
    if !path.is_file() {
        return Ok(None);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| Error::new(path, e))?;
    let header = reader
        .headers()
        .map_err(|e| Error::new(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record
            .map_err(|e| Error::new(path, format!("line {}: not a CSV record: {e}", i + 2)))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Some(Table { header, rows }))
}

/// A stage table with its categories (`Enum` codes since the tables keep
/// codes) as text, so that a run folder written before, with text
/// columns, and one written after compare value by value: a level is the
/// same value either way.
fn categories_as_text(df: DataFrame) -> PolarsResult<DataFrame> {
    let height = df.height();
    let columns = df
        .columns()
        .iter()
        .map(cohortflow_core::table::as_text)
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, columns)
}

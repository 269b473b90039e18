use cohortflow_core::schema::Schema;
use cohortflow_ingest::{IngestError, Ingested, Source, SourceFile, ingest};
use polars::prelude::*;
use std::path::Path;

pub const SCHEMA: &str = r#"
name = "test"

[[column]]
name = "patient_id"
type = "string"
required = true

[[column]]
name = "sex"
type = "category"
levels = ["M", "F"]
required = true

[[column]]
name = "age"
type = "integer"

[[column]]
name = "tumor_size"
type = "float"
unit = "mm"

[[column]]
name = "im_start"
type = "date"
required = true

[[column]]
name = "mets_liver"
type = "boolean"

[[column]]
name = "note"
type = "string"
"#;

pub fn schema() -> Schema {
    toml::from_str(SCHEMA).expect("test schema parses")
}

/// Writes `data` as `data.<ext>` and `source` (a `[source]` body; `path` is
/// added) as `source.toml` into `dir`, and parses the source file.
pub fn source_in(dir: &Path, data_name: &str, data: &[u8], source: &str) -> Source {
    std::fs::write(dir.join(data_name), data).unwrap();
    source_file(dir, &format!("[source]\npath = \"{data_name}\"\n{source}"))
}

pub fn source_file(dir: &Path, text: &str) -> Source {
    let file = dir.join("source.toml");
    std::fs::write(&file, text).unwrap();
    let parsed: SourceFile = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    Source {
        config: parsed.source,
        file,
        text: text.to_string(),
    }
}

/// The usual header part of a CSV source: all columns mapped to English headers.
pub const BASIC: &str = r#"
name = "center_a"
centre = "Centre A"
format = "csv"
date_formats = ["%d.%m.%Y"]

[source.columns]
patient_id = "id"
sex = "sex"
age = "age"
tumor_size = "size"
im_start = "start"
mets_liver = "liver"
"#;

pub fn run_csv(data: &str, source: &str) -> (tempfile::TempDir, Result<Ingested, IngestError>) {
    run_csv_bytes(data.as_bytes(), source)
}

pub fn run_csv_bytes(
    data: &[u8],
    source: &str,
) -> (tempfile::TempDir, Result<Ingested, IngestError>) {
    let dir = tempfile::tempdir().unwrap();
    let src = source_in(dir.path(), "data.csv", data, source);
    let out = ingest(&src, &schema());
    (dir, out)
}

pub fn ok(r: Result<Ingested, IngestError>) -> Ingested {
    r.unwrap_or_else(|e| panic!("ingest failed: {e}"))
}

pub fn err(r: Result<Ingested, IngestError>) -> IngestError {
    match r {
        Ok(i) => panic!("expected an error, got {} rows", i.frame.height()),
        Err(e) => e,
    }
}

/// A column rendered as text (dates ISO, floats shortest), nulls as None.
pub fn col(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    let c = df
        .column(name)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::String)
        .unwrap();
    c.str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

pub fn s(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|x| x.map(str::to_string)).collect()
}

pub fn rows(df: &DataFrame) -> Vec<i64> {
    df.column("source_row")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

/// Asserts `hay` contains every needle, showing `hay` when it does not.
#[track_caller]
pub fn has(hay: &str, needles: &[&str]) {
    for n in needles {
        assert!(hay.contains(n), "expected {n:?} in:\n{hay}");
    }
}

use crate::common::col;
use crate::common::*;
use cohortflow_ingest::ingest;
use polars::prelude::*;
use polars_io::prelude::ParquetWriter;

const SOURCE: &str = r#"
name = "center_p"
centre = "Centre P"
format = "parquet"
missing = ["-1"]

[source.columns]
patient_id = "pid"
sex = { column = "gender", values = { "1" = "M", "2" = "F" } }
age = "age"
tumor_size = { column = "size_cm", unit = "cm" }
im_start = "start"
mets_liver = "liver"
note = "note"
"#;

fn write(dir: &std::path::Path, df: &mut DataFrame) {
    let f = std::fs::File::create(dir.join("data.parquet")).unwrap();
    ParquetWriter::new(f).finish(df).unwrap();
}

fn frame() -> DataFrame {
    let start = Series::new("start".into(), [Some(18293i32), Some(18000), None])
        .cast(&DataType::Date)
        .unwrap();
    DataFrame::new_infer_height(vec![
        Series::new("pid".into(), [1001i64, 1002, 1003]).into_column(),
        Series::new("gender".into(), [1i32, 2, 1]).into_column(),
        Series::new("age".into(), [Some(61.0f64), Some(-1.0), None]).into_column(),
        Series::new("size_cm".into(), [Some(1.5f64), None, Some(2.0)]).into_column(),
        start.into_column(),
        Series::new("liver".into(), [Some(true), Some(false), None]).into_column(),
        Series::new("note".into(), [Some("a"), None, Some("  c ")]).into_column(),
        Series::new("extra".into(), [1u32, 2, 3]).into_column(),
    ])
    .unwrap()
}

#[test]
fn parquet_values_go_through_the_same_converter() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame();
    // The third row has no start date: make it optional for this test by rejecting.
    write(dir.path(), &mut df);
    let src = source_file(
        dir.path(),
        &format!(
            "[source]\npath = \"data.parquet\"\n{}",
            SOURCE.replace("missing", "on_error = \"reject\"\nmissing")
        ),
    );
    let out = ingest(&src, &schema()).unwrap();
    let df = &out.frame;
    assert_eq!(
        df.schema().as_ref(),
        &schema().polars_schema(&["center_p".to_string()])
    );
    assert_eq!(col(df, "patient_id"), s(&[Some("1001"), Some("1002")]));
    assert_eq!(col(df, "sex"), s(&[Some("M"), Some("F")]));
    assert_eq!(col(df, "age"), s(&[Some("61"), None]));
    assert_eq!(col(df, "tumor_size"), s(&[Some("15.0"), None]));
    assert_eq!(
        col(df, "im_start"),
        s(&[Some("2020-02-01"), Some("2019-04-14")])
    );
    assert_eq!(col(df, "mets_liver"), s(&[Some("true"), Some("false")]));
    assert_eq!(col(df, "note"), s(&[Some("a"), None]));
    // Row index + 2: as if the column names were line 1.
    assert_eq!(rows(df), vec![2, 3]);
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(out.rejects[0].source_row, 4);
    assert_eq!(out.rejects[0].rule, "missing required value");
    assert_eq!(out.rejects[0].values, "start=");
}

#[test]
fn parquet_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame().drop("gender").unwrap();
    write(dir.path(), &mut df);
    let src = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.parquet\"\n{SOURCE}"),
    );
    let e = ingest(&src, &schema()).unwrap_err();
    has(
        &e.message,
        &[
            "column \"gender\" (mapped to sex) is not in the header on the parquet schema; headers found: \"pid\"",
        ],
    );
}

#[test]
fn corrupt_parquet_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.parquet"), b"PAR1 not really").unwrap();
    let src = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.parquet\"\n{SOURCE}"),
    );
    let e = ingest(&src, &schema()).unwrap_err();
    assert_eq!(e.file, dir.path().join("data.parquet"));
    assert!(
        e.message.starts_with("cannot read the parquet file: "),
        "{}",
        e.message
    );
}

#[test]
fn truncated_parquet_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame();
    write(dir.path(), &mut df);
    let path = dir.path().join("data.parquet");
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 4, 8] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let src = source_file(
            dir.path(),
            &format!("[source]\npath = \"data.parquet\"\n{SOURCE}"),
        );
        let e = ingest(&src, &schema()).unwrap_err();
        assert!(
            e.message.starts_with("cannot read the parquet file: "),
            "{}",
            e.message
        );
    }
}

#[test]
fn damaged_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame();
    write(dir.path(), &mut df);
    let path = dir.path().join("data.parquet");
    let good = std::fs::read(&path).unwrap();
    let src = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.parquet\"\n{SOURCE}"),
    );
    let step = (good.len() / 40).max(1);
    for at in (4..good.len().saturating_sub(8)).step_by(step) {
        let mut bad = good.clone();
        for b in bad.iter_mut().skip(at).take(8) {
            *b ^= 0x5A;
        }
        std::fs::write(&path, &bad).unwrap();
        if let Err(e) = ingest(&src, &schema()) {
            assert!(!e.message.is_empty());
        }
    }
}

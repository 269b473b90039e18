//! The library on small hand-made run folders: rows matched by key whatever
//! their order, refused rows without a key compared by count, changed
//! values named by column and never by value, and baselines that keep no
//! patient rows.

use cohortflow_regress::{RegressionConfig, RunFolder, baseline, diff};
use polars::prelude::*;
use polars_io::prelude::ParquetWriter;
use serde_json::json;
use std::path::Path;

/// A patient: (source, source_row, patient_id, score, arm or "" when the
/// row is excluded at the cohort stage).
type Row = (&'static str, i64, &'static str, f64, &'static str);

const PATIENTS: [Row; 4] = [
    ("a", 2, "SECRET-1", 1.5, "S"),
    ("a", 3, "SECRET-2", 2.5, "NS"),
    ("a", 4, "SECRET-3", 3.5, ""),
    ("b", 2, "SECRET-4", 4.5, "S"),
];

fn frame(rows: &[Row], with_arm: bool) -> DataFrame {
    let mut cols = vec![
        Column::new(
            "source".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "source_row".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "patient_id".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
        Column::new("score".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
    ];
    if with_arm {
        cols.push(Column::new(
            "arm".into(),
            rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        ));
    }
    DataFrame::new_infer_height(cols).unwrap()
}

fn parquet(path: &Path, df: &DataFrame) {
    let mut df = df.clone();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// A run folder of `rows` (one refused at ingest on `rejected_line` of
/// source a), with a results.json whose one estimate is the mean score of
/// the cohort.
fn run_folder(dir: &Path, rows: &[Row], rejected_line: i64) {
    std::fs::create_dir_all(dir).unwrap();
    for stage in ["ingest", "clean", "derive"] {
        parquet(&dir.join(format!("{stage}.parquet")), &frame(rows, false));
    }
    let cohort: Vec<Row> = rows.iter().copied().filter(|r| !r.4.is_empty()).collect();
    parquet(&dir.join("cohort.parquet"), &frame(&cohort, true));
    let mean = cohort.iter().map(|r| r.3).sum::<f64>() / cohort.len() as f64;
    let results = json!({
        "arms": [{"name": "S", "n": cohort.iter().filter(|r| r.4 == "S").count()},
                 {"name": "NS", "n": cohort.iter().filter(|r| r.4 == "NS").count()}],
        "mean_score": mean,
        "log_rank": {"p_value": 0.2},
    });
    std::fs::write(dir.join("results.json"), results.to_string()).unwrap();
    std::fs::write(
        dir.join("rejects.csv"),
        format!(
            "source,source_row,stage,rule,columns,values\na,{rejected_line},ingest,unparseable date,d,d=SECRET-DATE\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("ledger.csv"),
        format!(
            "stage,source,item,rows\ningest,a,in,{}\ningest,a,out,{}\n",
            rows.iter().filter(|r| r.0 == "a").count() + 1,
            rows.iter().filter(|r| r.0 == "a").count()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("table1.csv"),
        format!("variable,level,statistic,S,NS\nscore,,mean,{mean:.1},\n"),
    )
    .unwrap();
    let manifest = json!({
        "created": "2026-01-01T00:00:00Z",
        "pipeline": {"name": "toy", "file": "toy.toml", "sha256": "1",
                     "settings": {"pipeline": {"name": "toy"}, "cohort": {"criterion": [
                         {"name": "has an arm", "where": "score < 3 OR score > 4"}]}}},
        "schema": {"file": "s.toml", "sha256": "2"},
        "row_key": ["source", "patient_id"],
        "sources": [],
        "outputs": [{"file": "results.json", "sha256": "3"}],
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

fn compare(a: &Path, b: &Path) -> cohortflow_regress::Diff {
    diff(
        &RunFolder::read(a).unwrap(),
        &RunFolder::read(b).unwrap(),
        &RegressionConfig::default(),
        0.05,
    )
    .unwrap()
}

#[test]
fn rows_in_another_order_and_a_refused_row_on_another_line_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let mut reordered = PATIENTS;
    reordered.reverse();
    // The same patients on other lines: the key is source + patient_id.
    for (i, r) in reordered.iter_mut().enumerate() {
        r.1 = 10 + i as i64;
    }
    run_folder(&dir.path().join("old"), &PATIENTS, 5);
    run_folder(&dir.path().join("new"), &reordered, 9);
    let d = compare(&dir.path().join("old"), &dir.path().join("new"));
    assert!(d.identical, "{}", d.to_text());
    assert!(d.patients.compared && d.patients.rows.is_empty());
    assert!(d.to_text().contains("identical within the tolerances"));
}

#[test]
fn a_changed_value_is_named_by_column_and_line_never_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut changed = PATIENTS;
    changed[1].3 = 2.75;
    run_folder(&dir.path().join("old"), &PATIENTS, 5);
    run_folder(&dir.path().join("new"), &changed, 5);
    let d = compare(&dir.path().join("old"), &dir.path().join("new"));
    assert!(!d.identical);
    let text = d.to_text();
    assert!(
        text.contains(
            "a line 3: arm NS → arm NS; values changed at ingest (score), clean (score), \
             derive (score), cohort (score)"
        ),
        "{text}"
    );
    assert_eq!(d.moved_fields(), ["mean_score"]);
    assert!(
        text.contains("score /  / mean / S: \"2.8\" → \"2.9\""),
        "{text}"
    );
    for shown in [text, d.to_json()] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("2.75"),
            "{shown}"
        );
    }

    // The key goes to the keys file only.
    let keys = dir.path().join("keys.csv");
    cohortflow_regress::patients::write_keys(&keys, &d.patients).unwrap();
    assert_eq!(
        std::fs::read_to_string(&keys).unwrap(),
        "source,old_line,new_line,key:source,key:patient_id,old,new,entered,left,changed\n\
         a,3,3,a,SECRET-2,arm NS,arm NS,,,ingest: score; clean: score; derive: score; cohort: score\n"
    );
}

#[test]
fn a_row_leaving_the_cohort_gets_the_criterion_that_excluded_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut changed = PATIENTS;
    changed[0].3 = 3.25;
    changed[0].4 = "";
    run_folder(&dir.path().join("old"), &PATIENTS, 5);
    run_folder(&dir.path().join("new"), &changed, 5);
    let d = compare(&dir.path().join("old"), &dir.path().join("new"));
    let text = d.to_text();
    assert!(
        text.contains("a line 2: arm S → excluded at cohort: has an arm; left cohort"),
        "{text}"
    );
    assert!(text.contains("arms[S].n: 2 → 1 (Δ -1)"), "{text}");
}

#[test]
fn a_second_refused_row_without_a_key_is_a_change() {
    let dir = tempfile::tempdir().unwrap();
    run_folder(&dir.path().join("old"), &PATIENTS, 5);
    run_folder(&dir.path().join("new"), &PATIENTS, 5);
    let rejects = dir.path().join("new/rejects.csv");
    let mut text = std::fs::read_to_string(&rejects).unwrap();
    text.push_str("a,6,ingest,unparseable date,d,d=SECRET-DATE\n");
    std::fs::write(&rejects, text).unwrap();
    let d = compare(&dir.path().join("old"), &dir.path().join("new"));
    assert!(!d.identical);
    let text = d.to_text();
    assert!(
        text.contains(
            "a rejected at ingest before it had a row key, unparseable date: 1 → 2 rows \
             (lines 5 → 5, 6)"
        ),
        "{text}"
    );
    assert!(!text.contains("SECRET"));
}

#[test]
fn a_baseline_keeps_no_patient_rows_and_is_compared_by_counts_and_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    run_folder(&run, &PATIENTS, 5);
    let to = baseline::dir(&dir.path().join("pipelines/toy.toml"), "toy");
    assert_eq!(to, dir.path().join("pipelines/baselines/toy"));
    let written = baseline::accept(&run, "toy", &to).unwrap();
    assert_eq!(
        written,
        ["ledger.csv", "manifest.json", "results.json", "table1.csv"]
    );
    let mut present: Vec<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(present, written);
    let manifest = std::fs::read_to_string(to.join("manifest.json")).unwrap();
    assert!(!manifest.contains("created") && !manifest.contains("outputs"));
    for f in &present {
        let text = std::fs::read_to_string(to.join(f)).unwrap();
        assert!(!text.contains("SECRET"), "{f} holds a patient value");
    }

    let d = compare(&to, &run);
    assert!(d.identical, "{}", d.to_text());
    assert!(!d.patients.compared);
    assert!(
        d.to_text()
            .contains("a baseline keeps counts, not patient rows")
    );

    // Accepting again replaces the baseline; another pipeline's run is refused.
    baseline::accept(&run, "toy", &to).unwrap();
    let e = baseline::accept(&run, "other", &to)
        .unwrap_err()
        .to_string();
    assert!(e.contains("was made by pipeline 'toy', not 'other'"), "{e}");
}

#[test]
fn tolerances_are_read_from_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    run_folder(&run, &PATIENTS, 5);
    let path = run.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["pipeline"]["settings"]["regression"] = json!({"estimates_relative": 0.5});
    m["pipeline"]["settings"]["report"] = json!({"alpha": 0.1});
    std::fs::write(&path, m.to_string()).unwrap();
    let (tol, alpha) = cohortflow_regress::declared(&RunFolder::read(&run).unwrap()).unwrap();
    assert_eq!(tol.estimates_relative.0, 0.5);
    assert_eq!(tol.counts_absolute.0, 0.0);
    assert_eq!(alpha, 0.1);

    m["pipeline"]["settings"]["regression"] = json!({"estimates_relative": -1});
    std::fs::write(&path, m.to_string()).unwrap();
    let e = cohortflow_regress::declared(&RunFolder::read(&run).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[regression]") && e.contains("0 or more"), "{e}");
}

#[test]
fn a_new_column_is_reported_once_per_stage_not_on_every_row() {
    let dir = tempfile::tempdir().unwrap();
    run_folder(&dir.path().join("old"), &PATIENTS, 5);
    run_folder(&dir.path().join("new"), &PATIENTS, 5);
    let mut derived = frame(&PATIENTS, false);
    derived
        .with_column(Column::new("bmi".into(), [20.0, 21.0, 22.0, 23.0]))
        .unwrap();
    parquet(&dir.path().join("new/derive.parquet"), &derived);
    let d = compare(&dir.path().join("old"), &dir.path().join("new"));
    let text = d.to_text();
    assert!(!d.identical);
    assert!(d.patients.rows.is_empty(), "{text}");
    assert!(
        text.contains("derive: columns only in the new run: bmi"),
        "{text}"
    );
    assert!(
        text.contains("changed: 1 difference outside the tolerances (1 stage column)"),
        "{text}"
    );
}

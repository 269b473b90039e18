//! Every pipeline under `pipelines/` is run on its bundled inputs and each
//! stage's output is pinned as a readable snapshot. A new pipeline file gets
//! its snapshots by existing (run `INSTA_UPDATE=always cargo test` once and
//! review the new `.snap` files).

use cohortflow_pipeline::{load, run};
use polars::prelude::*;
use polars_io::prelude::{ParquetReader, SerReader};
use std::path::Path;

/// A table as CSV under a header with its shape and schema, so that a type
/// change shows in the diff. Floats with 4 decimals: enough to see any
/// change that matters, few enough to read.
fn render(df: &DataFrame) -> String {
    let schema: Vec<String> = df
        .schema()
        .iter()
        .map(|(n, t)| format!("{n}: {t}"))
        .collect();
    format!(
        "# {} rows x {} columns\n# {}\n{}",
        df.height(),
        df.width(),
        schema.join(", "),
        cohortflow_core::table::to_csv(df, 4).unwrap()
    )
}

/// JSON with every number rounded to 6 decimals: the exact values are in
/// the run folder and checked against R by the stats crate's conformance
/// tests; the snapshot is for seeing what moved.
fn rounded_json(v: &serde_json::Value) -> String {
    fn round(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) if n.is_f64() => {
                let x = n.as_f64().unwrap();
                serde_json::json!((x * 1e6).round() / 1e6)
            }
            Value::Array(a) => Value::Array(a.iter().map(round).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), round(v))).collect())
            }
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&round(v)).unwrap()
}

fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap();
    ParquetReader::new(file).finish().unwrap()
}

#[test]
fn every_pipeline_stage_is_pinned() {
    insta::glob!("../../../pipelines", "*.toml", |path| {
        let loaded = load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        run(&loaded, &out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

        // Name snapshots after the pipeline explicitly: insta's own suffix
        // is empty while only one file matches the glob, and would change
        // when a second pipeline is added.
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(path.file_stem().unwrap().to_string_lossy());
        settings.bind(|| {
            for stage in cohortflow_pipeline::STAGE_TABLES {
                let df = read_parquet(&out.join(format!("{stage}.parquet")));
                insta::assert_snapshot!(stage, render(&df));
            }
            // Stages a pipeline may declare.
            if loaded.file.matching.is_some() {
                let df = read_parquet(&out.join("matched.parquet"));
                insta::assert_snapshot!("matched", render(&df));
                for file in ["balance.csv", "love.svg"] {
                    let text = std::fs::read_to_string(out.join(file)).unwrap();
                    insta::assert_snapshot!(file, text);
                }
            }
            for file in [
                "rejects.csv",
                "attrition.csv",
                "ledger.csv",
                "km.csv",
                "flow.svg",
                "report.md",
                "table1.csv",
            ] {
                let text = std::fs::read_to_string(out.join(file)).unwrap();
                insta::assert_snapshot!(file, text);
            }
            let results: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap())
                    .unwrap();
            insta::assert_snapshot!("results.json", rounded_json(&results));
        });
    });
}

/// Rerunning gives the same bytes: every file but the manifest is identical,
/// and the manifest differs at most in `created` and `stages` (the run's
/// time and its stages' costs).
#[test]
fn reruns_are_byte_identical() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    let loaded = load(&root.join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&loaded, &a).unwrap();
    run(&loaded, &b).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    for name in names {
        let x = std::fs::read(a.join(&name)).unwrap();
        let y = std::fs::read(b.join(&name)).unwrap();
        if name == "manifest.json" {
            let strip = |v: &[u8]| {
                let mut m: serde_json::Value = serde_json::from_slice(v).unwrap();
                let m = m.as_object_mut().unwrap();
                assert!(m.remove("created").is_some() && m.remove("stages").is_some());
                serde_json::to_string_pretty(m).unwrap()
            };
            assert_eq!(
                strip(&x),
                strip(&y),
                "manifest differs beyond its timestamp"
            );
        } else {
            assert!(
                x == y,
                "{} differs between two runs",
                name.to_string_lossy()
            );
        }
    }
}

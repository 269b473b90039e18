//! The mGIST study with centre A read from an SPSS, a Stata and a SAS
//! transport file and from REDCap exports (raw and labels) instead of its
//! CSV (`fixtures/mgist/statfiles.R` writes them from `center_a.csv`;
//! `pipelines/sources/center_a_*.toml` describe them): the cohort table is
//! the one the CSV gives. A statistical file's row is its record number
//! (the CSV's line minus its header line), so centre A's `source_row` is
//! one less there and everything else is identical; a REDCap export is a
//! CSV, and its rows are lines as in `center_a.csv`.

use cohortflow_pipeline::{load, run};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs mgist-cytoreduction with `center_a` replaced by the source file
/// `source` (a path relative to the repository) and returns cohort.csv.
fn cohort_with(dir: &Path, source: &Path) -> String {
    let repo = repo();
    let text = std::fs::read_to_string(repo.join("pipelines/mgist-cytoreduction.toml")).unwrap();
    let schema = repo.join("pipelines/schemas/mgist.toml");
    let b = repo.join("pipelines/sources/center_b.toml");
    let text = text
        .replace(
            "schema = \"schemas/mgist.toml\"",
            &format!("schema = {:?}", schema.display().to_string()),
        )
        .replace(
            "sources = [\"sources/center_a.toml\", \"sources/center_b.toml\"]",
            &format!(
                "sources = [{:?}, {:?}]",
                source.display().to_string(),
                b.display().to_string()
            ),
        );
    assert!(
        text.contains(&source.display().to_string()),
        "sources replaced"
    );
    let pipeline = dir.join("mgist-cytoreduction.toml");
    std::fs::write(&pipeline, text).unwrap();
    let loaded = load(&pipeline).unwrap_or_else(|e| panic!("{source:?}: {e}"));
    let out = dir.join("run");
    run(&loaded, &out).unwrap_or_else(|e| panic!("{source:?}: {e}"));
    std::fs::read_to_string(out.join("cohort.csv")).unwrap()
}

/// cohort.csv with centre A's `source_row` shifted by `shift`.
fn shifted(csv: &str, shift: i64) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let cols: Vec<&str> = header.split(',').collect();
    let source = cols.iter().position(|c| *c == "source").unwrap();
    let row = cols.iter().position(|c| *c == "source_row").unwrap();
    let mut out = vec![header.to_string()];
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if fields[source] == "center_a" {
            let r: i64 = fields[row].parse().unwrap();
            fields[row] = (r + shift).to_string();
        }
        out.push(fields.join(","));
    }
    out.join("\n") + "\n"
}

fn check(source: &str, path: Option<&str>, shift: i64) {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let csv_dir = dir.path().join("csv");
    std::fs::create_dir_all(&csv_dir).unwrap();
    let expected = cohort_with(&csv_dir, &repo.join("pipelines/sources/center_a.toml"));
    assert!(
        expected.lines().filter(|l| l.contains("center_a")).count() >= 20,
        "centre A is in the cohort"
    );
    let mut file = repo.join("pipelines/sources").join(source);
    if let Some(path) = path {
        // The same source description over another export.
        let text = std::fs::read_to_string(&file).unwrap();
        let from = text
            .lines()
            .find(|l| l.starts_with("path = "))
            .unwrap()
            .to_string();
        let text = text.replace(
            &from,
            &format!("path = {:?}", repo.join(path).display().to_string()),
        );
        let text = text.replace(
            "dictionary = \"../../",
            &format!("dictionary = \"{}/", repo.display()),
        );
        file = dir.path().join(source);
        std::fs::write(&file, text).unwrap();
    }
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let got = cohort_with(&other_dir, &file);
    assert_eq!(shifted(&got, shift), expected, "{source}");
}

#[test]
fn spss_centre_gives_the_csv_cohort() {
    check("center_a_spss.toml", None, 1);
}

#[test]
fn stata_centre_gives_the_csv_cohort() {
    check("center_a_stata.toml", None, 1);
}

#[test]
fn sas_transport_centre_gives_the_csv_cohort() {
    check("center_a_sas.toml", None, 1);
}

#[test]
fn redcap_raw_export_gives_the_csv_cohort() {
    check("center_a_redcap.toml", None, 0);
}

#[test]
fn redcap_labels_export_gives_the_csv_cohort() {
    check(
        "center_a_redcap.toml",
        Some("fixtures/mgist/center_a_redcap_labels.csv"),
        0,
    );
}

/// A REDCap source's data dictionary is an input like the export: the
/// manifest records it with its hash, so a changed dictionary shows.
#[test]
fn redcap_dictionary_is_in_the_manifest() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    cohort_with(
        dir.path(),
        &repo.join("pipelines/sources/center_a_redcap.toml"),
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/manifest.json")).unwrap(),
    )
    .unwrap();
    let a = &manifest["sources"][0];
    let dictionary = a["dictionary"]["file"].as_str().unwrap();
    assert!(dictionary.ends_with(".csv"), "{dictionary}");
    let sha = a["dictionary"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(manifest["sources"][1].get("dictionary").is_none());
}

/// Centre A's export rewritten cell for cell (every value as the text the
/// CSV holds) into `format` ("xlsx" or "parquet") in `dir`, with its source
/// file: the same description but for the format, path and the CSV-only
/// keys.
fn centre_a_as(dir: &Path, format: &str) -> PathBuf {
    let repo = repo();
    let raw = std::fs::read(repo.join("fixtures/mgist/center_a.csv")).unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&raw);
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(';').map(String::from).collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(';').map(String::from).collect())
        .collect();
    assert!(
        rows.iter().all(|r| r.len() == header.len()),
        "a plain export"
    );
    let data = dir.join(format!("center_a.{format}"));
    match format {
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (j, h) in header.iter().enumerate() {
                sheet.write_string(0, j as u16, h).unwrap();
            }
            for (i, r) in rows.iter().enumerate() {
                for (j, v) in r.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                    sheet.write_string(i as u32 + 1, j as u16, v).unwrap();
                }
            }
            book.save(&data).unwrap();
        }
        _ => {
            use polars::prelude::*;
            let columns: Vec<Column> = header
                .iter()
                .enumerate()
                .map(|(j, h)| {
                    let values: Vec<Option<&str>> = rows
                        .iter()
                        .map(|r| Some(r[j].as_str()).filter(|v| !v.is_empty()))
                        .collect();
                    Column::new(h.as_str().into(), values)
                })
                .collect();
            let mut df = DataFrame::new(rows.len(), columns).unwrap();
            let file = std::fs::File::create(&data).unwrap();
            polars_io::prelude::ParquetWriter::new(file)
                .finish(&mut df)
                .unwrap();
        }
    }
    let toml = std::fs::read_to_string(repo.join("pipelines/sources/center_a.toml")).unwrap();
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("separator") && !l.starts_with("encoding"))
        .map(|l| {
            if l.starts_with("format = ") {
                format!("format = \"{format}\"")
            } else if l.starts_with("path = ") {
                format!("path = {:?}", data.display().to_string())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = dir.join(format!("center_a_{format}.toml"));
    std::fs::write(&file, toml + "\n").unwrap();
    file
}

/// The same patients from a workbook and from a Parquet file give the CSV's
/// cohort (a sheet's row and a Parquet row index + 2 are the CSV's line).
#[test]
fn xlsx_and_parquet_centres_give_the_csv_cohort() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let csv_dir = dir.path().join("csv");
    std::fs::create_dir_all(&csv_dir).unwrap();
    let expected = cohort_with(&csv_dir, &repo.join("pipelines/sources/center_a.toml"));
    for format in ["xlsx", "parquet"] {
        let run_dir = dir.path().join(format);
        std::fs::create_dir_all(&run_dir).unwrap();
        let source = centre_a_as(&run_dir, format);
        assert_eq!(cohort_with(&run_dir, &source), expected, "{format}");
    }
}

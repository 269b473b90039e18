//! The exports `cohortflow synth mgist` writes: the same size and seed give
//! the same bytes, and a tiny export reads as the sources expect (pinned as
//! text).

use calamine::{Data, Reader, Xlsx, open_workbook};
use cohortflow_synth::{CentreBFormat, Options, Study, SynthError, write};
use std::path::Path;

fn options(out: &Path, patients: u64, seed: u64, b: CentreBFormat) -> Options {
    Options {
        study: Study::Mgist,
        patients,
        seed,
        out: out.to_path_buf(),
        centre_b_format: b,
    }
}

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_same_size_and_seed_give_the_same_bytes() {
    for b in [CentreBFormat::Xlsx, CentreBFormat::Csv] {
        let (one, two, other) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        write(&options(one.path(), 3000, 9, b)).unwrap();
        write(&options(two.path(), 3000, 9, b)).unwrap();
        write(&options(other.path(), 3000, 10, b)).unwrap();
        let (one, two, other) = (files(one.path()), files(two.path()), files(other.path()));
        assert_eq!(one.len(), 7);
        assert!(one == two, "same seed, same bytes");
        let data = |f: &[(String, Vec<u8>)]| f[..2].to_vec();
        assert_ne!(data(&one), data(&other), "another seed, other data");
    }
}

#[test]
fn a_row_does_not_depend_on_the_size_of_the_export() {
    let (small, large) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(&options(small.path(), 500, 4, CentreBFormat::Csv)).unwrap();
    write(&options(large.path(), 2000, 4, CentreBFormat::Csv)).unwrap();
    for f in ["center_a.csv", "center_b.csv"] {
        let (s, l) = (
            std::fs::read(small.path().join(f)).unwrap(),
            std::fs::read(large.path().join(f)).unwrap(),
        );
        assert!(l.starts_with(&s), "{f}: the small export is a prefix");
    }
}

#[test]
fn too_many_rows_for_a_workbook_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let err = write(&options(&out, 2_300_000, 1, CentreBFormat::Xlsx)).unwrap_err();
    assert!(matches!(err, SynthError::TooManyRowsForXlsx { rows } if rows > 1_048_575));
    assert!(err.to_string().contains("--centre-b-format csv"));
    assert!(!out.exists());
}

/// A workbook sheet as text: one line per row, cells `|`-separated, dates
/// as `date:yyyy-mm-dd`.
fn sheet_text(path: &Path, sheet: &str) -> String {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    let mut out = String::new();
    for row in range.rows() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(x) => format!("{x}"),
                Data::Int(x) => format!("{x}"),
                Data::DateTime(d) => format!("date:{}", d.as_datetime().unwrap().date()),
                other => format!("{other:?}"),
            })
            .collect();
        out.push_str(&cells.join("|"));
        out.push('\n');
    }
    out
}

#[test]
fn a_tiny_export_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("xlsx");
    let csv = dir.path().join("csv");
    write(&options(&xlsx, 24, 1, CentreBFormat::Xlsx)).unwrap();
    write(&options(&csv, 24, 1, CentreBFormat::Csv)).unwrap();
    let a = std::fs::read(xlsx.join("center_a.csv")).unwrap();
    let (a, _, bad) = encoding_rs::WINDOWS_1251.decode(&a);
    assert!(!bad);
    assert!(a.contains("\r\n"));
    insta::assert_snapshot!(
        "center_a_csv", // windows-1251 decoded, CRLF shown as LF
        a.replace("\r\n", "\n")
    );
    insta::assert_snapshot!(
        "center_b_csv",
        std::fs::read_to_string(csv.join("center_b.csv")).unwrap()
    );
    let b = xlsx.join("center_b.xlsx");
    insta::assert_snapshot!("center_b_xlsx_patients", sheet_text(&b, "Patients"));
    insta::assert_snapshot!("center_b_xlsx_notes", sheet_text(&b, "Notes"));
    insta::assert_snapshot!(
        "center_b_csv_source_toml",
        std::fs::read_to_string(csv.join("sources/center_b.toml")).unwrap()
    );
}

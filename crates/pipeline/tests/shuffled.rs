//! The matched study does not depend on the order of rows in the exports: a
//! copy of both exports with their rows shuffled gives the same matched set,
//! balance, curves and results, byte for byte.

use calamine::{Data, DataType, Reader, open_workbook_auto};
use cohortflow_pipeline::{load, run};
use polars::prelude::*;
use polars_io::prelude::{ParquetReader, SerReader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A fixed permutation of 0..n (a seeded Fisher-Yates with a small LCG).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        p.swap(i, (seed >> 33) as usize % (i + 1));
    }
    p
}

/// The CSV export with its data lines in another order (the header stays).
fn shuffle_csv(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let (header, body) = lines.split_first().unwrap();
    let mut out = header.to_vec();
    for i in permutation(body.len(), 7) {
        out.extend_from_slice(body[i]);
    }
    std::fs::write(to, out).unwrap();
}

/// The workbook with the data rows of its "Patients" sheet in another
/// order; cells keep their types (date cells stay dates).
fn shuffle_xlsx(from: &Path, to: &Path) {
    let mut book = open_workbook_auto(from).unwrap();
    let mut out = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        let order: Vec<usize> = if name == "Patients" {
            std::iter::once(0)
                .chain(permutation(rows.len() - 1, 11).into_iter().map(|i| i + 1))
                .collect()
        } else {
            (0..rows.len()).collect()
        };
        let ws = out.add_worksheet();
        ws.set_name(&name).unwrap();
        for (r, &src) in order.iter().enumerate() {
            for (c, cell) in rows[src].iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Data::String(s) => {
                        ws.write_string(r, c, s).unwrap();
                    }
                    Data::Float(f) => {
                        ws.write_number(r, c, *f).unwrap();
                    }
                    Data::Int(i) => {
                        ws.write_number(r, c, *i as f64).unwrap();
                    }
                    Data::DateTime(_) => {
                        let d = cell.as_date().unwrap();
                        let x = ExcelDateTime::from_ymd(
                            chrono::Datelike::year(&d) as u16,
                            chrono::Datelike::month(&d) as u8,
                            chrono::Datelike::day(&d) as u8,
                        )
                        .unwrap();
                        ws.write_datetime_with_format(r, c, &x, &date).unwrap();
                    }
                    Data::Empty => {}
                    other => panic!("unexpected cell {other:?}"),
                }
            }
        }
    }
    out.save(to).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn read_parquet_without_row(path: &Path) -> DataFrame {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    df.drop("source_row").unwrap()
}

#[test]
fn shuffled_exports_give_the_same_matched_study() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    copy_dir(&repo().join("pipelines"), &copy.join("pipelines"));
    std::fs::create_dir_all(copy.join("fixtures/mgist")).unwrap();
    let fixtures = repo().join("fixtures/mgist");
    shuffle_csv(
        &fixtures.join("center_a.csv"),
        &copy.join("fixtures/mgist/center_a.csv"),
    );
    shuffle_xlsx(
        &fixtures.join("center_b.xlsx"),
        &copy.join("fixtures/mgist/center_b.xlsx"),
    );
    assert_ne!(
        std::fs::read(fixtures.join("center_a.csv")).unwrap(),
        std::fs::read(copy.join("fixtures/mgist/center_a.csv")).unwrap()
    );

    let name = "mgist-cytoreduction-matched.toml";
    let original = run(
        &load(&repo().join("pipelines").join(name)).unwrap(),
        &dir.path().join("a"),
    )
    .unwrap();
    let shuffled = run(
        &load(&copy.join("pipelines").join(name)).unwrap(),
        &dir.path().join("b"),
    )
    .unwrap();
    assert!(original.results.matching.is_some() && shuffled.results.matching.is_some());
    for file in [
        "results.json",
        "balance.csv",
        "km.csv",
        "attrition.csv",
        "ledger.csv",
    ] {
        let a = std::fs::read(dir.path().join("a").join(file)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(file)).unwrap();
        assert!(a == b, "{file} differs when the exports' rows are shuffled");
    }
    // The matched rows, in row-key order: identical but for the line numbers
    // they came from, which the shuffle changed on purpose.
    for table in ["matched.parquet", "cohort.parquet"] {
        let a = read_parquet_without_row(&dir.path().join("a").join(table));
        let b = read_parquet_without_row(&dir.path().join("b").join(table));
        assert!(
            a.equals_missing(&b),
            "{table} differs when the exports' rows are shuffled"
        );
    }
}

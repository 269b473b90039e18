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

// ---- the model --------------------------------------------------------------

use cohortflow_synth::model::{self, Centre, Defect, SAMPLER, patient};

#[test]
fn calendar_constants() {
    assert_eq!(model::cutoff(), 19538);
    assert_eq!(model::ymd(model::cutoff()), (2023, 6, 30));
    assert_eq!(model::ymd(0), (1970, 1, 1));
    assert_eq!(model::day(2023, 6, 30), model::cutoff());
}

#[test]
fn snils_check_digits_match_the_fixtures() {
    // fixtures/mgist/center_a.csv: 755-285-091 27, 333-565-939 93,
    // 020-236-690 02.
    assert_eq!(model::snils_check(755_285_091), 27);
    assert_eq!(model::snils_check(333_565_939), 93);
    assert_eq!(model::snils_check(20_236_690), 2);
}

/// Only the planted duplicates share a SNILS.
#[test]
fn snils_numbers_do_not_repeat_by_chance() {
    let mut seen: Vec<u32> = (0..100_000)
        .map(|r| patient(7, r))
        .filter(|p| p.defect != Defect::DuplicateSnils)
        .map(|p| p.snils)
        .collect();
    let n = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), n);
    assert!(seen.iter().all(|&s| (2_000_000..=998_999_999).contains(&s)));
}

/// Every plain row satisfies what the pipeline checks: the dates are in
/// order and before the cut-off, the age is adult, the size plausible.
#[test]
fn plain_rows_are_plausible() {
    for row in 18..20_000 {
        let p = patient(3, row);
        if p.defect != Defect::None {
            continue;
        }
        assert!(p.birth < p.diagnosis && p.diagnosis < p.start, "row {row}");
        let age = f64::from(p.start - p.birth) / 365.25;
        assert!((30.0..=80.0).contains(&age), "row {row}");
        for d in [p.progression, p.surgery, p.death].into_iter().flatten() {
            assert!(p.start < d && d <= p.last_followup, "row {row}");
        }
        if let Some(d) = p.death {
            assert_eq!(d, p.last_followup, "row {row}");
            assert!(p.progression.is_none_or(|x| x <= d), "row {row}");
        }
        assert!(p.last_followup <= model::cutoff(), "row {row}");
        assert!(
            p.size_mm.is_none_or(|s| (20..=300).contains(&s)),
            "row {row}"
        );
    }
}

#[test]
fn the_sampler_rows_carry_their_defects() {
    for seed in 0..200 {
        for (row, (centre, defect)) in SAMPLER.iter().enumerate() {
            let p = patient(seed, row as u64);
            assert_eq!((p.centre, p.defect), (*centre, *defect), "row {row}");
        }
        let (copy, source) = (patient(seed, 9), patient(seed, 8));
        assert_eq!((copy.centre, source.centre), (Centre::A, Centre::B));
        assert_eq!(copy.snils, source.snils);
        assert!(copy.last_followup < source.last_followup);
        assert!(copy.death.is_none());
        assert_eq!(patient(seed, 11).id_number, patient(seed, 10).id_number);
    }
}

/// The defects' rates are what the documentation says (0.37 % in all).
#[test]
fn defect_rates_add_up_to_the_documented_total() {
    let total: f64 = model::DEFECT_RATES.iter().map(|(_, r)| r).sum();
    assert!((total - 0.0037).abs() < 1e-12, "{total}");
}

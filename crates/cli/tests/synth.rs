//! `cohortflow synth`: a generated export runs through `cohortflow run` with
//! a ledger that balances and every planted defect accounted for; a centre
//! B too large for a workbook stops before anything is written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn cohortflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohortflow"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn synth(dir: &Path, patients: &str, extra: &[&str]) -> Output {
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "synth",
        "mgist",
        "--patients",
        patients,
        "--seed",
        "42",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    cohortflow(&args)
}

/// `ledger.csv` as (stage, source) -> item -> rows.
fn ledger(run: &Path) -> BTreeMap<(String, String), BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(run.join("ledger.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut out: BTreeMap<_, BTreeMap<String, u64>> = BTreeMap::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        out.entry((rec[0].to_string(), rec[1].to_string()))
            .or_default()
            .insert(rec[2].to_string(), rec[3].parse().unwrap());
    }
    out
}

fn check_study_runs(centre_b: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = synth(&data, "400", centre_b);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let run = dir.path().join("run");
    let out = cohortflow(&[
        "run",
        data.join("mgist-cytoreduction.toml").to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Per stage and source: in = rejected + excluded + out, and each
    // stage's in is the previous stage's out.
    let ledger = ledger(&run);
    let mut read = 0;
    let mut rejected = 0;
    for source in ["center_a", "center_b"] {
        let mut previous_out = None;
        for stage in ["ingest", "clean", "derive", "cohort"] {
            let items = &ledger[&(stage.to_string(), source.to_string())];
            let removed: u64 = items
                .iter()
                .filter(|(k, _)| k.starts_with("rejected: ") || k.starts_with("excluded: "))
                .map(|(_, n)| n)
                .sum();
            assert_eq!(items["in"], removed + items["out"], "{stage} {source}");
            if let Some(prev) = previous_out {
                assert_eq!(items["in"], prev, "{stage} {source}");
            } else {
                read += items["in"];
            }
            rejected += items
                .iter()
                .filter(|(k, _)| k.starts_with("rejected: "))
                .map(|(_, n)| n)
                .sum::<u64>();
            previous_out = Some(items["out"]);
        }
    }
    assert_eq!(read, 400);

    // Every planted defect is rejected where the pipeline rejects it.
    let rejects = std::fs::read_to_string(run.join("rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count() as u64 - 1, rejected);
    for (stage, rule) in [
        ("ingest", "unparseable date"),
        ("ingest", "duplicate patient_id"),
        ("clean", "surgery before imatinib start"),
        ("clean", "death before diagnosis"),
        ("clean", "progression after death"),
        ("clean", "tumour_size out of range"),
        ("clean", "same patient in both centres"),
        ("derive", "age out of range"),
    ] {
        assert!(
            rejects.contains(&format!(",{stage},{rule}")),
            "{stage} {rule}:\n{rejects}"
        );
    }
    let summary = text(&out.stdout);
    assert!(
        summary.contains(&format!("ledger: 400 rows read = {rejected} rejected")),
        "{summary}"
    );
}

#[test]
fn a_generated_study_runs_and_its_ledger_balances() {
    check_study_runs(&[]);
}

#[test]
fn a_generated_study_with_centre_b_as_csv_runs_too() {
    check_study_runs(&["--centre-b-format", "csv"]);
}

#[test]
fn centre_b_too_large_for_a_workbook_stops_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // About 47 % of the rows are centre B's: 1,048,576 of 2,300,000.
    let out = synth(&data, "2300000", &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("centre B would have ")
            && stderr.contains(
                "an XLSX sheet holds 1,048,576 rows (1,048,575 below the header): \
                 pass --centre-b-format csv"
            )
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing is written");
}

//! The `cohortflow` binary as a user runs it, from the repository root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cohortflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohortflow"))
        .args(args)
        .current_dir(root())
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn list_names_the_bundled_pipelines() {
    let out = cohortflow(&["list"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("mgist-cytoreduction"), "{stdout}");
    assert!(
        stdout.contains("surgery (S) vs imatinib alone (NS)"),
        "{stdout}"
    );
}

#[test]
fn validate_reads_no_data_and_says_valid() {
    let out = cohortflow(&["validate", "mgist-cytoreduction"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("valid (2 sources"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn unknown_pipeline_fails_with_the_known_names() {
    let out = cohortflow(&["run", "mgist"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no pipeline named 'mgist'"), "{stderr}");
    assert!(
        stderr.contains("known pipelines: mgist-cytoreduction"),
        "{stderr}"
    );
}

/// Runs the bundled study into a temporary folder.
fn run_study() -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let out = cohortflow(&[
        "run",
        "mgist-cytoreduction",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    (out, dir)
}

#[test]
fn run_prints_arms_and_medians_and_writes_the_folder() {
    let (out, dir) = run_study();
    let out_dir = dir.path().join("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "arms: S n = 15 (Cytoreductive surgery), NS n = 29 (Imatinib alone, response > 12 months)",
        "Progression-free survival (months)",
        "S      78.0 [18.9, not reached]",
        "NS     35.0 [27.2, 50.3]",
        "p = 0.0871",
        "S      141.0 [91.8, not reached]",
        "p = 0.1522",
        "102 rows read = 8 rejected (rejects.csv) + 50 excluded (ledger.csv) + 44 analysed",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    for file in [
        "ledger.csv",
        "results.json",
        "manifest.json",
        "cohort.parquet",
        "rejects.csv",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["list", "--help"],
    ] {
        let out = cohortflow(args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: cohortflow"), "{args:?}");
    }
}

#[test]
fn patient_identifiers_stay_out_of_info_logs() {
    let (out, _dir) = run_study();
    let stderr = text(&out.stderr);
    // A record number and a SNILS from the fixtures.
    for id in ["А-2010-042", "149-903-869 13", "B1375"] {
        assert!(!stderr.contains(id), "{id} appears in the log:\n{stderr}");
    }
    assert!(stderr.contains("INFO"), "no info log at all:\n{stderr}");
}

/// rejects.csv names rows, rules and columns; the values of the refused
/// cells (patient data) only with `run --show-values`.
#[test]
fn rejects_values_only_with_show_values() {
    let (out, dir) = run_study();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hidden = std::fs::read_to_string(dir.path().join("run/rejects.csv")).unwrap();
    assert!(hidden.contains("center_b,12,ingest,unparseable date,Surgery date,\n"));
    assert!(!hidden.contains("15.13.2016"), "{hidden}");
    let shown_dir = dir.path().join("shown");
    let out = cohortflow(&[
        "run",
        "mgist-cytoreduction",
        "--out",
        shown_dir.to_str().unwrap(),
        "--show-values",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = std::fs::read_to_string(shown_dir.join("rejects.csv")).unwrap();
    assert!(shown.contains("Surgery date=15.13.2016"), "{shown}");
}

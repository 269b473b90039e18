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

/// `--stages` decides which Parquet stage tables are written; the results,
/// the report and cohort.csv are the same bytes whatever it says, the
/// manifest lists exactly what was written, and every stage's cost is in
/// the manifest and the log.
#[test]
fn stages_choose_the_stage_tables_and_change_no_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for stages in ["all", "cohort", "none"] {
        let out_dir = dir.path().join(stages);
        let out = cohortflow(&[
            "run",
            "mgist-cytoreduction",
            "--stages",
            stages,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let log = text(&out.stderr);
        for stage in ["ingest", "clean", "derive", "cohort", "analysis", "write"] {
            assert!(
                log.contains(&format!("stage cost stage={stage} wall_s=")),
                "{stage} not in:\n{log}"
            );
        }
        let parquet: Vec<String> = ["ingest", "clean", "derive", "cohort"]
            .iter()
            .filter(|s| out_dir.join(format!("{s}.parquet")).is_file())
            .map(|s| s.to_string())
            .collect();
        let expected: &[&str] = match stages {
            "all" => &["ingest", "clean", "derive", "cohort"],
            "cohort" => &["cohort"],
            _ => &[],
        };
        assert_eq!(parquet, expected, "--stages {stages}");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
                .unwrap();
        let listed: Vec<&str> = manifest["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["file"].as_str().unwrap())
            .filter(|f| f.ends_with(".parquet"))
            .collect();
        // The manifest lists the outputs by name.
        let mut wanted: Vec<String> = expected.iter().map(|s| format!("{s}.parquet")).collect();
        wanted.sort();
        assert_eq!(listed, wanted);
        let costs = manifest["stages"].as_array().unwrap();
        let names: Vec<&str> = costs.iter().map(|c| c["stage"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["ingest", "clean", "derive", "cohort", "analysis", "write"]
        );
        assert!(
            costs
                .iter()
                .all(|c| c["wall_seconds"].as_f64().unwrap() >= 0.0)
        );
        runs.push(out_dir);
    }
    for file in [
        "results.json",
        "cohort.csv",
        "report.md",
        "ledger.csv",
        "rejects.csv",
    ] {
        let first = std::fs::read(runs[0].join(file)).unwrap();
        for r in &runs[1..] {
            assert!(
                std::fs::read(r.join(file)).unwrap() == first,
                "{file} differs in {}",
                r.display()
            );
        }
    }
    let bad = cohortflow(&["run", "mgist-cytoreduction", "--stages", "some"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("expected all, cohort or none"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn scan_prints_the_report_and_writes_drafts_without_replacing_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("scan");
    let out_arg = out_dir.display().to_string();
    let out = cohortflow(&[
        "scan",
        "fixtures/mgist/center_a.csv",
        "fixtures/mgist/center_b.xlsx",
        "--schema",
        "pipelines/schemas/mgist.toml",
        "--out",
        &out_arg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("cohortflow scan of center_a.csv"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cohortflow scan of center_b.xlsx"),
        "{stdout}"
    );
    for f in [
        "center_a.scan.txt",
        "center_a.scan.html",
        "center_a.toml",
        "center_b.scan.txt",
        "center_b.scan.html",
        "center_b.toml",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} not written");
    }
    let draft = std::fs::read_to_string(out_dir.join("center_a.toml")).unwrap();
    assert!(draft.contains("patient_id = \"№ истории\""), "{draft}");
    // A second scan replaces its own files; a file it did not write stops it.
    assert!(
        cohortflow(&["scan", "fixtures/mgist/center_a.csv", "--out", &out_arg])
            .status
            .success()
    );
    std::fs::write(out_dir.join("center_a.scan.txt"), "my notes").unwrap();
    let out = cohortflow(&["scan", "fixtures/mgist/center_a.csv", "--out", &out_arg]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("was not written by cohortflow scan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("center_a.scan.txt")).unwrap(),
        "my notes"
    );
}

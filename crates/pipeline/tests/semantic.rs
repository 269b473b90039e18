//! The bundled mGIST study against damaged copies of its exports: semantic
//! promises that hold on the real pipeline, schema and sources (linkage keys
//! normalised as declared, plausible ranges), on a copy in a temporary
//! folder. The bad-input corpus (`tests/bad_inputs/semantic_*`) has the
//! small cases.

use cohortflow_pipeline::{Outcome, RunSummary, load, run};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pipelines folder and the mGIST fixtures copied into `dir` with the
/// same layout, so the sources' relative paths hold.
fn copy_study(dir: &Path) {
    for sub in [
        "pipelines",
        "pipelines/schemas",
        "pipelines/sources",
        "fixtures/mgist",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
}

/// Replaces the first `from` in a file (bytes: centre A is windows-1251).
fn edit(path: &Path, from: &str, to: &str) {
    let bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from:?} is not in {}", path.display()));
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(&bytes[at + from.len()..]);
    std::fs::write(path, out).unwrap();
}

fn run_copy(dir: &Path, pipeline: &str) -> (RunSummary, String) {
    let loaded = load(&dir.join("pipelines").join(pipeline)).unwrap();
    let out = dir.join("run");
    let summary = run(&loaded, &out).unwrap();
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    (summary, rejects)
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn linked(summary: &RunSummary, source: &str) -> u64 {
    summary
        .ledger
        .accounts()
        .iter()
        .filter(|a| a.stage == "clean" && a.source == source)
        .flat_map(|a| &a.outcomes)
        .filter(|(o, why, _)| *o == Outcome::Rejected && why == "same patient in both centres")
        .map(|(_, _, n)| n)
        .sum()
}

/// The duplicate patient of centre A (fixtures/mgist/expected_rows.csv,
/// group duplicate_snils) with its SNILS written without dash and space is
/// still linked to centre B's row: the results are those of the bundled run.
#[test]
fn a_snils_without_dashes_links_as_declared_and_the_results_do_not_change() {
    let original = tempfile::tempdir().unwrap();
    copy_study(original.path());
    let (expected, _) = run_copy(original.path(), "mgist-cytoreduction.toml");

    let dir = tempfile::tempdir().unwrap();
    copy_study(dir.path());
    edit(
        &dir.path().join("fixtures/mgist/center_a.csv"),
        ";149-903-869 13;",
        ";14990386913;",
    );
    let (summary, rejects) = run_copy(dir.path(), "mgist-cytoreduction.toml");
    assert_eq!(linked(&summary, "center_a"), 1);
    assert!(
        rejects.contains("center_a,47,clean,same patient in both centres"),
        "{rejects}"
    );
    assert_eq!(json(&summary.results), json(&expected.results));

    // Without the declared normalisation the two rows are two patients.
    edit(
        &dir.path().join("pipelines/mgist-cytoreduction.toml"),
        "normalize = \"digits\"",
        "",
    );
    let (unlinked, _) = run_copy(dir.path(), "mgist-cytoreduction.toml");
    assert_eq!(linked(&unlinked, "center_a"), 0);
}

/// An age of 112 (a birth year typed 1909) and a tumour of -9 cm in centre A
/// are rejected by the study's declared ranges, each with its reason.
#[test]
fn implausible_values_in_the_bundled_study_are_rejected_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    copy_study(dir.path());
    let csv = dir.path().join("fixtures/mgist/center_a.csv");
    // Line 3: born 13.10.1968, imatinib in 2021 (excluded later: lung
    // metastases); line 2: tumour 9,0 cm (excluded later: progression).
    edit(&csv, ";13.10.1968;", ";13.10.1909;");
    edit(&csv, ";9,0;", ";-9,0;");
    let (_, rejects) = run_copy(dir.path(), "mgist-cytoreduction.toml");
    assert!(
        rejects.contains("center_a,3,derive,age out of range (derive.column[0])"),
        "{rejects}"
    );
    assert!(
        rejects.contains("center_a,2,clean,tumour_size out of range"),
        "{rejects}"
    );
}

//! `cohortflow diff`, `baseline accept` and `check` as a user runs them:
//! the binary on a copy of the bundled study whose exports are edited
//! (one patient's date, rows reordered, a third centre), and `check` on the
//! bundled studies against their committed baselines.

use calamine::{Data, DataType, Reader, open_workbook_auto};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STUDY: &str = "mgist-cytoreduction";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cohortflow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohortflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

/// A copy of the bundled pipelines and fixtures in `dir`, with the study's
/// rows identified by centre and record number (`row_key`), as a study
/// that wants order-independent diffs declares.
fn study_copy(dir: &Path) -> PathBuf {
    copy_dir(&repo().join("pipelines"), &dir.join("pipelines"));
    copy_dir(&repo().join("fixtures/mgist"), &dir.join("fixtures/mgist"));
    let file = dir.join("pipelines").join(format!("{STUDY}.toml"));
    let toml = std::fs::read_to_string(&file).unwrap();
    let sources = "sources = [\"sources/center_a.toml\", \"sources/center_b.toml\"]\n";
    assert!(toml.contains(sources));
    let toml = toml.replacen(
        sources,
        &format!("{sources}row_key = [\"source\", \"patient_id\"]\n"),
        1,
    );
    std::fs::write(&file, toml).unwrap();
    dir.to_path_buf()
}

/// Runs the study in `copy` into `out` (relative to `copy`).
fn run(copy: &Path, out: &str) {
    let o = cohortflow(copy, &["run", STUDY, "--out", out]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// Replaces `from` by `to` in line `line` (1-based) of an export; the
/// bytes around stay as they are (the file is windows-1251).
fn edit_line(file: &Path, line: usize, from: &str, to: &str) {
    let bytes = std::fs::read(file).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let l = &mut lines[line - 1];
    let at = l
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not on line {line}"));
    l.splice(at..at + from.len(), to.bytes());
    std::fs::write(file, lines.concat()).unwrap();
}

fn center_a(copy: &Path) -> PathBuf {
    copy.join("fixtures/mgist/center_a.csv")
}

/// Leaves of a JSON document that differ between two documents, by
/// position: an independent count of the fields of results.json that moved
/// beyond the default tolerances (p-values 1e-9 absolute, other numbers
/// 1e-9 relative; a p-value of 0.9999999999999858 that becomes 1 has not
/// moved).
fn differing_leaves(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                differing_leaves(
                    v,
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differing_leaves(v, w, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let tolerance = if path.ends_with("p_value") {
                1e-9
            } else {
                1e-9 * x.abs().max(y.abs())
            };
            if (x - y).abs() > tolerance {
                out.push(path.to_string());
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

fn results(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

fn diff_json(copy: &Path, old: &str, new: &str) -> (Output, Value) {
    let o = cohortflow(copy, &["diff", old, new, "--json"]);
    let v = serde_json::from_str(&text(&o.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    (o, v)
}

fn moved_paths(diff: &Value) -> Vec<String> {
    diff["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_string())
        .collect()
}

/// The record number of the patient on line 11 of centre A's export (NS
/// arm, progressed before death).
const PATIENT_11: &str = "А-2007-293";
/// The record number of the patient on line 15 (S arm, progressed, alive).
const PATIENT_15: &str = "А-2007-230";

#[test]
fn a_progression_date_after_death_names_the_patient_the_stages_and_every_moved_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let copy = study_copy(dir.path());
    run(&copy, "old");
    edit_line(&center_a(&copy), 11, ";29.06.2015;", ";29.06.2018;");
    run(&copy, "new");

    let o = cohortflow(&copy, &["diff", "old", "new", "--keys-out", "keys.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    for needle in [
        "data of center_a: content changed (sha256)",
        "rows matched by the row key (source, patient_id)",
        "center_a line 11: arm NS → rejected at clean: progression after death; left clean, \
         derive, cohort",
        "clean / center_a / rejected: progression after death / rows: \"0\" → \"1\"",
        "4 / in no arm / all / NS / after: \"29\" → \"28\"",
        "arms[NS].n: 29 → 28 (Δ -1)",
        "endpoints[pfs].log_rank.p_value: ",
        "row keys of the rows above: keys.csv",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    assert!(!stdout.contains(PATIENT_11), "a record number is printed");

    // The key file names the patient, by centre and record number.
    let keys = std::fs::read_to_string(copy.join("keys.csv")).unwrap();
    let lines: Vec<&str> = keys.lines().collect();
    assert_eq!(
        lines,
        [
            "source,old_line,new_line,key:source,key:patient_id,old,new,entered,left,changed",
            &format!(
                "center_a,11,11,center_a,{PATIENT_11},arm NS,rejected at clean: progression \
                 after death,,clean derive cohort,ingest: progression_date"
            ),
        ]
    );

    // Every field of results.json that differs is named, and no other.
    let (o, diff) = diff_json(&copy, "old", "new");
    assert_eq!(o.status.code(), Some(1));
    assert!(!text(&o.stdout).contains(PATIENT_11));
    let mut differing = Vec::new();
    differing_leaves(
        &results(&copy.join("old")),
        &results(&copy.join("new")),
        "",
        &mut differing,
    );
    let moved = moved_paths(&diff);
    assert!(differing.len() > 50, "{differing:?}");
    assert_eq!(moved.len(), differing.len(), "{moved:#?}\n{differing:#?}");
    for p in [
        "arms[NS].n",
        "endpoints[os].log_rank.chisq",
        "baseline[age].p_value",
    ] {
        assert!(moved.iter().any(|m| m == p), "{p} not in {moved:#?}");
    }
}

#[test]
fn a_later_progression_in_the_cohort_changes_the_row_at_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let copy = study_copy(dir.path());
    run(&copy, "old");
    edit_line(&center_a(&copy), 15, ";26.04.2014;", ";26.04.2016;");
    run(&copy, "new");

    let o = cohortflow(&copy, &["diff", "old", "new", "--keys-out", "keys.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let needle = "center_a line 15: arm S → arm S; values changed at ingest (progression_date), \
                  clean (progression_date), derive (progression_date, response_months, \
                  pfs_time), cohort (progression_date, response_months, pfs_time)";
    assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    assert!(!stdout.contains(PATIENT_15));
    let keys = std::fs::read_to_string(copy.join("keys.csv")).unwrap();
    assert!(keys.contains(&format!("center_a,15,15,center_a,{PATIENT_15},arm S,arm S")));

    let (_, diff) = diff_json(&copy, "old", "new");
    let mut differing = Vec::new();
    differing_leaves(
        &results(&copy.join("old")),
        &results(&copy.join("new")),
        "",
        &mut differing,
    );
    let moved = moved_paths(&diff);
    assert!(!moved.is_empty());
    assert_eq!(moved.len(), differing.len(), "{moved:#?}\n{differing:#?}");
    assert!(moved.contains(&"endpoints[pfs].by_arm[S].median.estimate".to_string()));
    assert!(
        moved
            .contains(&"endpoints[pfs].cox.unadjusted.terms[arm S vs NS].hazard_ratio".to_string())
    );
    // Counts did not move: no patient changed arm or event.
    assert_eq!(diff["ledger"], Value::Array(vec![]));
    assert_eq!(diff["attrition"], Value::Array(vec![]));
    assert!(!moved.iter().any(|m| m.starts_with("arms[")));
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

fn shuffle_csv(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let (header, body) = lines.split_first().unwrap();
    let mut out = header.to_vec();
    for i in permutation(body.len(), 7) {
        out.extend_from_slice(body[i]);
    }
    std::fs::write(file, out).unwrap();
}

/// The workbook with the data rows of its "Patients" sheet in another
/// order; cells keep their types (date cells stay dates).
fn shuffle_xlsx(file: &Path) {
    let mut book = open_workbook_auto(file).unwrap();
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
    out.save(file).unwrap();
}

#[test]
fn reordered_exports_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let original = study_copy(&dir.path().join("original"));
    let shuffled = study_copy(&dir.path().join("shuffled"));
    shuffle_csv(&center_a(&shuffled));
    shuffle_xlsx(&shuffled.join("fixtures/mgist/center_b.xlsx"));
    run(&original, "../old");
    run(&shuffled, "../new");

    let o = cohortflow(dir.path(), &["diff", "old", "new"]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", text(&o.stderr));
    for needle in [
        "data of center_a: content changed (sha256)",
        "data of center_b: content changed (sha256)",
        "no row entered, left or changed",
        "identical within the tolerances",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    // The rows really moved: the same patients are on other lines.
    let line_of = |run: &str| -> Vec<String> {
        std::fs::read_to_string(dir.path().join(run).join("cohort.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_ne!(line_of("old"), line_of("new"));
}

#[test]
fn check_passes_within_the_tolerances_and_fails_outside_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let copy = study_copy(dir.path());
    let pipelines = ["--pipelines", "pipelines"];
    run(&copy, &format!("runs/{STUDY}"));
    let o = cohortflow(
        &copy,
        &[&pipelines[..], &["baseline", "accept", STUDY]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let base = copy.join("pipelines/baselines").join(STUDY);
    for f in [
        "results.json",
        "ledger.csv",
        "attrition.csv",
        "table1.csv",
        "manifest.json",
    ] {
        assert!(base.join(f).is_file(), "{f} not in the baseline");
    }
    // No patient rows in a baseline.
    assert!(!base.join("cohort.parquet").exists() && !base.join("rejects.csv").exists());

    let check = || cohortflow(&copy, &[&pipelines[..], &["check", STUDY]].concat());
    let o = check();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("check passed"));

    // One day later: the same patients and events, slightly other times.
    edit_line(&center_a(&copy), 15, ";26.04.2014;", ";27.04.2014;");
    let o = check();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("check failed; results fields outside the tolerances: ")
            && stdout.contains("endpoints[pfs].by_arm[S].median.estimate"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ledger (rows per stage, source and item)\n  no change")
            && stdout.contains("attrition (per step, criterion, source and arm)\n  no change"),
        "counts must not move:\n{stdout}"
    );

    // Declared tolerances wide enough for a day's shift: the check passes.
    let file = copy.join("pipelines").join(format!("{STUDY}.toml"));
    let toml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{toml}\n[regression]\nestimates_relative = 0.01\np_values_absolute = 0.01\n"),
    )
    .unwrap();
    let o = check();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("counts exact, estimates 1e-2 relative, p-values 1e-2 absolute"),
        "{stdout}"
    );
    assert!(stdout.contains("pipeline setting regression.estimates_relative: (absent) → 0.01"));

    // A patient more in an arm is a count: exact however wide the rest.
    edit_line(&center_a(&copy), 11, ";29.06.2015;", ";29.06.2018;");
    let o = check();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("arms[NS].n: 29 → 28"), "{stdout}");
}

#[test]
fn a_new_centre_shows_its_source_its_patients_entering_and_the_moved_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let copy = study_copy(dir.path());
    run(&copy, "old");

    // Centre C: centre A's export under new record numbers and national
    // ids (so linkage does not take them for the same patients).
    let bytes = std::fs::read(center_a(&copy)).unwrap();
    let mut out = Vec::new();
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if i == 0 {
            out.extend_from_slice(line);
            continue;
        }
        let fields: Vec<&[u8]> = line.splitn(3, |&b| b == b';').collect();
        out.extend_from_slice(format!("C-{i:03};900-000-{i:03} 00;").as_bytes());
        out.extend_from_slice(fields[2]);
    }
    std::fs::write(copy.join("fixtures/mgist/center_c.csv"), out).unwrap();
    let a = std::fs::read_to_string(copy.join("pipelines/sources/center_a.toml")).unwrap();
    let c = a
        .replace("name = \"center_a\"", "name = \"center_c\"")
        .replace("centre = \"Centre A\"", "centre = \"Centre C\"")
        .replace("center_a.csv", "center_c.csv");
    std::fs::write(copy.join("pipelines/sources/center_c.toml"), c).unwrap();
    let file = copy.join("pipelines").join(format!("{STUDY}.toml"));
    let toml = std::fs::read_to_string(&file).unwrap().replace(
        "\"sources/center_b.toml\"]",
        "\"sources/center_b.toml\", \"sources/center_c.toml\"]",
    );
    std::fs::write(&file, toml).unwrap();
    run(&copy, "new");

    let o = cohortflow(&copy, &["diff", "old", "new", "--keys-out", "keys.csv"]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    for needle in [
        "source center_c: added (pipelines/sources/center_c.toml)",
        "data of center_c: added (fixtures/mgist/center_c.csv)",
        "pipeline setting pipeline.sources[2]: (absent) → \"sources/center_c.toml\"",
        "center_c line 2: absent → ",
        "center_c rejected at ingest before it had a row key, unparseable date: 0 → 1 rows",
        "arms[S].n: 15 → ",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }

    let (_, diff) = diff_json(&copy, "old", "new");
    let ingest = diff["patients"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "ingest")
        .unwrap();
    // Centre C's rows are centre A's: 53 of its 54 records pass ingest.
    assert_eq!(ingest["entered"], 53);
    assert_eq!(ingest["left"], 0);
    assert_eq!(ingest["changed"], 0);
    let rows = diff["patients"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 53);
    assert!(
        rows.iter()
            .all(|r| r["source"] == "center_c" && r["old"] == "absent")
    );
    let into_cohort = rows
        .iter()
        .filter(|r| {
            r["entered"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "cohort")
        })
        .count();
    let old = results(&copy.join("old"));
    let new = results(&copy.join("new"));
    let n = |r: &Value| -> u64 {
        r["arms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["n"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(into_cohort as u64, n(&new) - n(&old));
    let moved = moved_paths(&diff);
    let mut differing = Vec::new();
    differing_leaves(&old, &new, "", &mut differing);
    assert_eq!(moved.len(), differing.len(), "{moved:#?}\n{differing:#?}");
    let keys = std::fs::read_to_string(copy.join("keys.csv")).unwrap();
    assert!(
        keys.contains("center_c,,2,center_c,C-001,absent,"),
        "{keys}"
    );
}

#[test]
fn the_bundled_studies_pass_check_against_their_baselines() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    for name in names {
        assert!(
            repo()
                .join("pipelines/baselines")
                .join(&name)
                .join("results.json")
                .is_file(),
            "{name} has no baseline: `cohortflow run {name}` then `cohortflow baseline accept {name}`"
        );
        let o = cohortflow(&repo(), &["check", &name]);
        let stdout = text(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name} moved from its baseline:\n{stdout}{}",
            text(&o.stderr)
        );
        assert!(stdout.contains("check passed"), "{stdout}");
    }
}

#[test]
fn errors_exit_2_and_name_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let o = cohortflow(dir.path(), &["diff", "nowhere", "also-nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("nowhere: is not a folder"),
        "{}",
        text(&o.stderr)
    );

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let o = cohortflow(dir.path(), &["diff", "empty", "empty"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("empty: has no results.json"));

    let copy = study_copy(&dir.path().join("copy"));
    let o = cohortflow(
        &copy,
        &["--pipelines", "pipelines", "baseline", "accept", STUDY],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("run the pipeline first"),
        "{}",
        text(&o.stderr)
    );
    std::fs::remove_dir_all(copy.join("pipelines/baselines")).unwrap();
    let o = cohortflow(&copy, &["--pipelines", "pipelines", "check", STUDY]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no baseline of mgist-cytoreduction"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_regression_commands_have_help() {
    for args in [
        &["diff", "--help"][..],
        &["baseline", "accept", "--help"],
        &["check", "--help"],
    ] {
        let o = cohortflow(&repo(), args);
        assert!(o.status.success(), "{args:?}");
        assert!(text(&o.stdout).contains("Usage: cohortflow"), "{args:?}");
    }
}

#[test]
fn a_negative_tolerance_stops_the_pipeline_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let copy = study_copy(dir.path());
    let file = copy.join("pipelines").join(format!("{STUDY}.toml"));
    let toml = std::fs::read_to_string(&file).unwrap();
    let lines = toml.lines().count();
    std::fs::write(
        &file,
        format!("{toml}\n[regression]\np_values_absolute = -0.01\n"),
    )
    .unwrap();
    let o = cohortflow(&copy, &["--pipelines", "pipelines", "validate", STUDY]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains(&format!("{STUDY}.toml:{}", lines + 3))
            && stderr.contains("a tolerance must be a finite number, 0 or more"),
        "{stderr}"
    );
}

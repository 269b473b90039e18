//! The report as a journal reads it, on the bundled studies: every
//! labelled column named by its label, Table 1's levels in the declared
//! order with its tests as footnotes and the declared summaries, the
//! Methods of each design, the patient flow whose counts add up, and a
//! `validate` that reports every problem at once.

use cohortflow_pipeline::{Error, load, run};
use std::path::{Path, PathBuf};

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../pipelines")
        .canonicalize()
        .unwrap()
}

/// A bundled pipeline, its text changed by `edits`, run in a temporary
/// folder: (report.md, report.html, results.json).
fn run_variant(name: &str, edits: &[(&str, &str)]) -> (String, String, serde_json::Value) {
    let root = pipelines();
    let mut text = std::fs::read_to_string(root.join(format!("{name}.toml"))).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let text = text
        .replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
        .replace("\"sources/", &format!("\"{}/sources/", root.display()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("run");
    run(&load(&path).unwrap_or_else(|e| panic!("{e}")), &out).unwrap_or_else(|e| panic!("{e}"));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    (
        read("report.md"),
        read("report.html"),
        serde_json::from_str(&read("results.json")).unwrap(),
    )
}

fn run_bundled(name: &str) -> (String, String, serde_json::Value) {
    run_variant(name, &[])
}

/// Text with everything between `open` and `close` removed.
fn without(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        match rest[i + open.len()..].find(close) {
            Some(j) => rest = &rest[i + open.len() + j + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `name` occurs in `text` as a whole word (`age` not in `page`).
fn has_word(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The labelled columns: (name, label).
fn labelled(results: &serde_json::Value) -> Vec<(String, String)> {
    results["labels"]["variables"]
        .as_array()
        .expect("results.json has labels")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["label"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(n, l)| n != l)
        .collect()
}

/// The lines of one section of report.md (from its heading to the next of
/// the same level).
fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md.find(heading).unwrap_or_else(|| panic!("no {heading:?}"));
    let level = heading.chars().take_while(|c| *c == '#').count();
    let marker = format!("\n{} ", "#".repeat(level));
    let rest = &md[start + heading.len()..];
    let end = rest
        .find(&marker)
        .map_or(md.len(), |e| start + heading.len() + e);
    &md[start..end]
}

/// The rows of the Markdown table whose caption is `caption`, as cells.
fn table(md: &str, caption: &str) -> Vec<Vec<String>> {
    let start = md
        .find(&format!("**{caption}**"))
        .unwrap_or_else(|| panic!("no table {caption:?}"));
    md[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("| ---"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_labelled_column_is_named_by_its_label() {
    for name in ["mgist-cytoreduction", "mgist-cytoreduction-matched"] {
        let (md, html, results) = run_bundled(name);
        let names = labelled(&results);
        assert!(names.len() >= 15, "{name}: labels {names:?}");
        // Code (conditions, formulas) and the design warnings name columns
        // on purpose; everything else uses the labels.
        let html = without(&html, "<code>", "</code>");
        let html = without(&html, "<div class=\"warning\"", "</div>");
        let html = without(&html, "<style>", "</style>");
        let md = without(&md, "`", "`");
        let md: String = md
            .lines()
            .filter(|l| !l.starts_with("> **Warning.**"))
            .collect::<Vec<_>>()
            .join("\n");
        for (column, label) in &names {
            assert!(
                !has_word(&html, column),
                "{name}: report.html names '{column}' instead of \"{label}\""
            );
            assert!(
                !has_word(&md, column),
                "{name}: report.md names '{column}' instead of \"{label}\""
            );
        }
        let t1 = section(&md, "## Baseline characteristics");
        for needle in [
            "Age at imatinib start, years, median [IQR]",
            "Tumour size, mm, median [IQR]",
            "Primary tumour site, n (%)",
            "Small bowel",
            "KIT exon 11",
            "Liver metastases, n (%)",
        ] {
            assert!(
                t1.contains(needle),
                "{name}: {needle:?} not in Table 1:\n{t1}"
            );
        }
    }
}

#[test]
fn table1_shows_levels_in_the_declared_order_and_tests_as_footnotes() {
    let (md, _, results) = run_bundled("mgist-cytoreduction");
    let t1 = section(&md, "## Baseline characteristics");
    let at = |s: &str| {
        t1.find(&format!("| \u{2003}{s} |"))
            .unwrap_or_else(|| panic!("no level {s:?} in Table 1:\n{t1}"))
    };
    // The schema's order, not the alphabet's (F < M, other < rectum < ...).
    assert!(at("Male") < at("Female"));
    assert!(at("Stomach") < at("Small bowel"));
    assert!(at("Small bowel") < at("Rectum"));
    assert!(at("Rectum") < at("Other"));
    assert!(at("KIT exon 11") < at("KIT exon 9"));
    assert!(at("KIT exon 9") < at("PDGFRA"));
    assert!(at("PDGFRA") < at("Wild type"));
    assert!(at("Partial response") < at("Stable disease"));

    let rows = table(&md, "Table 1. Baseline characteristics by arm");
    assert_eq!(
        rows[0],
        [
            "Characteristic",
            "S: Cytoreductive surgery (n = 15)",
            "NS: Imatinib alone, response > 12 months (n = 29)",
            "p",
            "SMD"
        ],
        "no test column: the tests are footnotes"
    );
    // Each test used is one footnote, named once, and marked on its rows.
    let mut tests: Vec<String> = results["baseline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["test"].as_str().map(str::to_string))
        .collect();
    tests.sort();
    tests.dedup();
    assert!(tests.len() >= 3, "{tests:?}");
    let marks = ["ᵃ", "ᵇ", "ᶜ", "ᵈ", "ᵉ", "ᶠ"];
    for test in &tests {
        let notes: Vec<&str> = t1
            .lines()
            .filter(|l| l.starts_with("- ") && l.ends_with(test.as_str()))
            .collect();
        assert_eq!(notes.len(), 1, "{test:?}: footnotes {notes:?}");
        let mark = marks
            .iter()
            .find(|m| notes[0].starts_with(&format!("- {m} ")))
            .unwrap_or_else(|| panic!("footnote without a mark: {}", notes[0]));
        assert!(
            rows.iter().any(|r| r[r.len() - 2].ends_with(mark)),
            "no p-value carries {mark} ({test})"
        );
    }
    // Summaries as declared: median [IQR] by default, never both.
    let line = |start: &str| {
        rows.iter()
            .find(|r| r[0].starts_with(start))
            .unwrap_or_else(|| panic!("no row {start:?}"))
            .clone()
    };
    assert_eq!(
        line("Age at imatinib start")[0],
        "Age at imatinib start, years, median [IQR]"
    );
    assert!(!t1.contains("mean (SD) |"), "both summaries shown:\n{t1}");
    let (md, _, _) = run_variant(
        "mgist-cytoreduction",
        &[(
            "unit = \"years\"\n",
            "unit = \"years\"\nsummary = \"mean\"\n",
        )],
    );
    let rows = table(&md, "Table 1. Baseline characteristics by arm");
    let age = rows
        .iter()
        .find(|r| r[0].starts_with("Age at imatinib start"))
        .unwrap();
    assert_eq!(age[0], "Age at imatinib start, years, mean (SD)");
    assert_eq!(age[1], "58.2 (10.4)");
    let tumour = rows
        .iter()
        .find(|r| r[0].starts_with("Tumour size"))
        .unwrap();
    assert_eq!(tumour[0], "Tumour size, mm, median [IQR]");
}

#[test]
fn methods_describe_each_design() {
    let (md, _, _) = run_bundled("mgist-cytoreduction");
    let methods = section(&md, "## Methods");
    for needle in [
        "time from Imatinib start (`im_start`) to the first of Progression (`progression_date`) or Death (`death_date`)",
        "censored at Last contact (`last_followup`)",
        "data cut-off 2023-06-30",
        "The latest date of follow-up (event or censoring) among the analysed patients is",
        "Median follow-up (reverse Kaplan–Meier: censoring as the event)",
        "Kaplan–Meier method with Greenwood variance and 95% pointwise confidence intervals on the log scale",
        "Arms were compared by the log-rank test (R's survdiff).",
        "Efron ties",
        "adjusted for Best response to imatinib: Stable disease, Peritoneal metastases: yes",
        "Restricted mean survival time to 60",
        "Landmark analysis at 12 months",
        "Cytoreductive surgery as a time-varying covariate",
        "emulated by clone–censor–weight",
        "linked by National insurance number (SNILS) (`national_id`) (compared as digits only)",
        "first-line imatinib (`im_line = 1`)",
        "S = Cytoreductive surgery (`surgery_date IS NOT NULL`)",
        "### Missing data",
        "No value is imputed.",
        "R version 4.2.2",
        "survival package 3.5.3",
        "manifest.json (`created`)",
    ] {
        assert!(
            methods.contains(needle),
            "{needle:?} not in Methods:\n{methods}"
        );
    }
    assert!(!methods.contains("stratified"), "{methods}");
    assert!(!methods.contains("The arms were matched"), "{methods}");
    assert!(
        methods.contains(&format!("cohortflow {}", env!("CARGO_PKG_VERSION"))),
        "{methods}"
    );

    let (md, _, _) = run_bundled("mgist-cytoreduction-matched");
    let methods = section(&md, "## Methods");
    for needle in [
        "The arms were matched (S against NS)",
        "caliper 0.2 SD of the score",
        "the propensity score's covariates: Age at imatinib start, Sex, Primary tumour site, Mutation, Liver metastases, Peritoneal metastases, Best response to imatinib",
        "Matching: missing covariates handled as `indicator`.",
        "Landmark analysis at 12 months",
    ] {
        assert!(
            methods.contains(needle),
            "{needle:?} not in Methods:\n{methods}"
        );
    }
    assert!(!methods.contains("clone–censor–weight"), "{methods}");

    let (md, _, _) = run_variant(
        "mgist-cytoreduction",
        &[(
            "reference_arm = \"NS\"",
            "reference_arm = \"NS\"\nstrata = \"source\"",
        )],
    );
    let methods = section(&md, "## Methods");
    assert!(
        methods.contains(
            "Arms were compared by the log-rank test, stratified by centre (R's survdiff)."
        ),
        "{methods}"
    );
    assert!(
        methods.contains("(Efron ties, stratified by centre;"),
        "{methods}"
    );
}

/// Integers of a table cell, `None` when it is empty.
fn n(cell: &str) -> Option<u64> {
    (!cell.is_empty()).then(|| {
        cell.parse()
            .unwrap_or_else(|_| panic!("not a count: {cell:?}"))
    })
}

#[test]
fn the_flow_counts_patients_by_centre_and_arm_and_adds_up() {
    for name in ["mgist-cytoreduction", "mgist-cytoreduction-matched"] {
        let (md, _, results) = run_bundled(name);
        let rows = table(&md, "Patient flow by centre and arm");
        assert_eq!(
            rows[0],
            [
                "",
                "Centre A",
                "Centre B",
                "Total",
                "of which S",
                "of which NS",
                "of which in no arm"
            ]
        );
        let counts: Vec<(&str, Vec<Option<u64>>)> = rows[1..]
            .iter()
            .filter(|r| !r[0].starts_with("**"))
            .map(|r| (r[0].as_str(), r[1..].iter().map(|c| n(c)).collect()))
            .collect();
        let mut running = None;
        let mut analysed = 0;
        for (label, c) in &counts {
            // Centres add up to the total, and so do the arms where split.
            if let (Some(a), Some(b), Some(t)) = (c[0], c[1], c[2]) {
                assert_eq!(a + b, t, "{name}: {label}");
            }
            if c[3].is_some() {
                let split: u64 = c[3..].iter().map(|x| x.unwrap()).sum();
                assert_eq!(Some(split), c[2], "{name}: {label}: arms");
            }
            let t = c[2].unwrap();
            if label.starts_with("Records read") {
                running = Some(t);
            } else if label.starts_with("− ") && !label.contains("not matched") {
                running = running.map(|r| r - t);
            } else if label.starts_with("Patients") {
                assert_eq!(running, Some(t), "{name}: records − removed = patients");
                assert_eq!(t, 94, "{name}: patients after linkage");
            } else if label.starts_with("S: ") && !label.ends_with("matched")
                || label.starts_with("NS: ") && !label.ends_with("matched")
            {
                analysed += t;
            }
        }
        let arms_n: u64 = results["arms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["n"].as_u64().unwrap())
            .sum();
        if name.ends_with("matched") {
            // The analysed arms are the matched sets; before matching 44.
            assert_eq!(running, Some(44), "{name}");
            assert_eq!(analysed, 44, "{name}");
            let matched: u64 = counts
                .iter()
                .filter(|(l, _)| l.ends_with(", matched"))
                .map(|(_, c)| c[2].unwrap())
                .sum();
            assert_eq!(matched, arms_n, "{name}");
            let unmatched: Vec<u64> = counts
                .iter()
                .filter(|(l, _)| l.ends_with("not matched"))
                .map(|(_, c)| c[2].unwrap())
                .collect();
            assert_eq!(unmatched.len(), 2, "{name}: unmatched by arm");
            assert_eq!(unmatched.iter().sum::<u64>() + matched, 44, "{name}");
        } else {
            assert_eq!(
                running,
                Some(arms_n),
                "{name}: patients − excluded = analysed"
            );
            assert_eq!(analysed, arms_n, "{name}");
        }
        // The patients in no arm are named by what put them there.
        assert!(
            rows.iter().any(|r| r[0].starts_with(
                "− in no arm: met the criteria but no arm's condition (not S: `surgery_date IS NOT NULL`; not NS:"
            )),
            "{name}: {rows:?}"
        );
    }
}

/// Three independent mistakes in three files (the schema, a source, the
/// pipeline): one `validate` names all three, each with its file.
#[test]
fn validate_reports_every_problem_in_every_file() {
    let root = pipelines();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("schemas")).unwrap();
    std::fs::create_dir_all(d.join("sources")).unwrap();
    let schema = std::fs::read_to_string(root.join("schemas/mgist.toml"))
        .unwrap()
        .replacen(
            "name = \"sex\"\ntype = \"category\"",
            "name = \"sex\"\ntype = \"category\"\nsummary = \"mean\"",
            1,
        );
    std::fs::write(d.join("schemas/mgist.toml"), schema).unwrap();
    for s in ["center_a", "center_b"] {
        let mut text = std::fs::read_to_string(root.join(format!("sources/{s}.toml")))
            .unwrap()
            .replace(
                "\"../../fixtures",
                &format!("\"{}/../fixtures", root.display()),
            );
        if s == "center_a" {
            text = text.replacen("im_line = ", "im_lin = ", 1);
        }
        std::fs::write(d.join(format!("sources/{s}.toml")), text).unwrap();
    }
    let pipeline = std::fs::read_to_string(root.join("mgist-cytoreduction.toml"))
        .unwrap()
        .replacen(
            "\"tumour_size\", \"best_response\"",
            "\"tumor_size\", \"best_response\"",
            1,
        )
        .replacen("[report.variables.age]", "[report.variables.agee]", 1);
    let path = d.join("mgist-cytoreduction.toml");
    std::fs::write(&path, pipeline).unwrap();
    let problems = match load(&path) {
        Err(Error::Config(p)) => p,
        Err(other) => panic!("expected configuration problems, got {other}"),
        Ok(_) => panic!("loaded with four mistakes"),
    };
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |file: &str, needle: &str| {
        assert!(
            text.iter().any(|t| t.contains(file) && t.contains(needle)),
            "no problem in {file} with {needle:?}: {text:#?}"
        );
    };
    has("mgist.toml", "a summary needs a numeric column ('sex')");
    has("center_a.toml", "did you mean 'im_line'?");
    has(
        "mgist-cytoreduction.toml",
        "unknown column 'tumor_size'; did you mean 'tumour_size'?",
    );
    has("mgist-cytoreduction.toml", "report.variables.agee");
    has("mgist-cytoreduction.toml", "did you mean 'age'?");
}

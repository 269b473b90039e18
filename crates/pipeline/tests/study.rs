//! The mGIST study reproduces the abstract's numbers, and a run is written
//! whole or not at all.

use cohortflow_analysis::Population;
use cohortflow_pipeline::{Error, load, run};
use std::path::{Path, PathBuf};

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines")
}

#[test]
fn mgist_reproduces_the_abstract() {
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&loaded, &dir.path().join("run")).unwrap();
    let r = &summary.results;
    let n: Vec<(&str, u64)> = r.arms.iter().map(|a| (a.name.as_str(), a.n)).collect();
    assert_eq!(n, [("S", 15), ("NS", 29)]);

    // (endpoint, median S, median NS, log-rank p) as published.
    for (endpoint, s, ns, p) in [("pfs", 78.0, 35.0, 0.088), ("os", 141.0, 80.0, 0.154)] {
        let e = r.endpoints.iter().find(|e| e.name == endpoint).unwrap();
        let median = |arm: &str| {
            e.by_arm
                .iter()
                .find(|a| a.arm == arm)
                .unwrap()
                .median
                .estimate
                .unwrap()
        };
        assert!(
            (median("S") - s).abs() <= 1.0,
            "{endpoint} S median {}",
            median("S")
        );
        assert!(
            (median("NS") - ns).abs() <= 1.0,
            "{endpoint} NS median {}",
            median("NS")
        );
        assert!(
            (e.log_rank.as_ref().expect("two arms").p_value - p).abs() <= 0.02,
            "{endpoint} log-rank p {}",
            e.log_rank.as_ref().expect("two arms").p_value
        );
    }

    // Partial responses 13/15 vs 16/29; peritoneal metastases 4/15 vs 13/29;
    // median time to surgery 8 months.
    let json = serde_json::to_value(r).unwrap();
    let row = |column: &str| {
        json["baseline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["variable"] == column)
            .unwrap()
            .clone()
    };
    let count = |column: &str, arm: usize, value: &str| {
        let row = row(column);
        let level = row["levels"]
            .as_array()
            .unwrap()
            .iter()
            .position(|l| l == value)
            .unwrap();
        row["by_arm"][arm]["counts"][level].as_u64().unwrap()
    };
    assert_eq!(count("best_response", 0, "PR"), 13);
    assert_eq!(count("best_response", 1, "PR"), 16);
    assert_eq!(count("mets_peritoneum", 0, "true"), 4);
    assert_eq!(count("mets_peritoneum", 1, "true"), 13);
    let to_surgery = row("months_to_surgery")["by_arm"][0]["median"]
        .as_f64()
        .unwrap();
    assert!((to_surgery - 8.0).abs() <= 0.5, "{to_surgery}");
}

#[test]
fn the_ledger_accounts_for_every_row_of_each_source() {
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&loaded, &dir.path().join("run")).unwrap();
    assert!(summary.ledger.imbalances().is_empty());
    let rejects = std::fs::read_to_string(dir.path().join("run/rejects.csv")).unwrap();
    for source in ["center_a", "center_b"] {
        let accounts: Vec<_> = summary
            .ledger
            .accounts()
            .iter()
            .filter(|a| a.source == source)
            .collect();
        let read = accounts
            .iter()
            .find(|a| a.stage == "ingest")
            .unwrap()
            .rows_in;
        let analysed = accounts.last().unwrap().rows_out;
        let removed: u64 = accounts
            .iter()
            .flat_map(|a| &a.outcomes)
            .filter(|(o, _, _)| *o != cohortflow_core::ledger::Outcome::Flagged)
            .map(|(_, _, n)| n)
            .sum();
        assert_eq!(read, analysed + removed, "{source}");
        // Every rejected row is in rejects.csv, once.
        let rejected: u64 = accounts
            .iter()
            .flat_map(|a| &a.outcomes)
            .filter(|(o, _, _)| *o == cohortflow_core::ledger::Outcome::Rejected)
            .map(|(_, _, n)| n)
            .sum();
        let lines = rejects
            .lines()
            .filter(|l| l.starts_with(&format!("{source},")))
            .count();
        assert_eq!(rejected, lines as u64, "{source}");
    }
    // 102 raw rows: 54 in centre A, 48 in centre B (fixtures/mgist/README.md).
    let read: u64 = summary
        .ledger
        .accounts()
        .iter()
        .filter(|a| a.stage == "ingest")
        .map(|a| a.rows_in)
        .sum();
    assert_eq!(read, 102);
}

/// A copy of the mgist pipeline in a temporary folder whose first source is
/// replaced by `source_text` (its data path made absolute).
fn pipeline_with_source(dir: &Path, source_text: &str) -> PathBuf {
    let root = pipelines();
    let text = std::fs::read_to_string(root.join("mgist-cytoreduction.toml"))
        .unwrap()
        .replace(
            "schemas/mgist.toml",
            &root.join("schemas/mgist.toml").display().to_string(),
        )
        .replace(
            "sources/center_b.toml",
            &root.join("sources/center_b.toml").display().to_string(),
        )
        .replace("sources/center_a.toml", "center_a.toml");
    std::fs::write(dir.join("center_a.toml"), source_text).unwrap();
    let path = dir.join("mgist-cytoreduction.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_failing_run_leaves_no_folder_and_keeps_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = pipelines();
    let fixture = root.join("../fixtures/mgist/center_a.csv");
    let good = std::fs::read_to_string(root.join("sources/center_a.toml"))
        .unwrap()
        .replace(
            "../../fixtures/mgist/center_a.csv",
            &fixture.display().to_string(),
        );
    let out = dir.path().join("runs/study");

    // A good run first.
    let path = pipeline_with_source(dir.path(), &good);
    run(&load(&path).unwrap(), &out).unwrap();
    let before = std::fs::read(out.join("results.json")).unwrap();

    // The same source set to stop at the first bad value: the run fails on
    // the unparseable date at line 46 and writes nothing.
    let strict = good.replace("on_error = \"reject\"", "on_error = \"fail\"");
    let path = pipeline_with_source(dir.path(), &strict);
    let err = run(&load(&path).unwrap(), &out).unwrap_err();
    let Error::Input(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.line, Some(46), "{err}");
    // The error names file, line and column, never the value.
    assert!(err.to_string().contains("no such day"), "{err}");
    assert!(!err.to_string().contains("31.02.2014"), "{err}");
    assert_eq!(std::fs::read(out.join("results.json")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, ["study"], "a partial folder was left behind");
}

/// Both arm definitions of the unchanged study look past imatinib start,
/// and the run says what each guarantees, whatever remedy the analysis
/// declares: S by surgery (immortal time), NS by response_months, a derived
/// column known only at progression, death or last contact (found through
/// its expression, not its name).
#[test]
fn mgist_arm_definitions_are_named_with_what_they_guarantee() {
    use cohortflow_core::lineage::{ConditionKind, DesignWarningKind};
    let root = pipelines();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(
        &load(&root.join("mgist-cytoreduction.toml")).unwrap(),
        &dir.path().join("run"),
    )
    .unwrap();
    let design = &summary.results.design_warnings;
    assert_eq!(design.len(), 2, "{design:?}");
    let s = &design[0];
    assert_eq!(
        (s.step, s.name.as_str(), s.kind),
        (ConditionKind::Arm, "S", DesignWarningKind::ImmortalTime)
    );
    assert_eq!(s.known_at, ["surgery_date"]);
    assert_eq!((s.rows_after, s.rows), (15, 15));
    assert_eq!(s.endpoints, ["pfs", "os"]);
    let ns = &design[1];
    assert_eq!(
        (ns.step, ns.name.as_str(), ns.kind),
        (
            ConditionKind::Arm,
            "NS",
            DesignWarningKind::ConditionedOnFuture
        )
    );
    assert_eq!(ns.condition, "response_months > 12");
    assert_eq!(
        ns.known_at,
        ["death_date", "last_followup", "progression_date"]
    );
    assert!(
        ns.guarantee.contains(
            "NS requires response_months > 12: NS cannot have an event of pfs or os, nor leave follow-up, at or before 12 months after im_start"
        ),
        "{}",
        ns.guarantee
    );
    assert!(design.iter().all(|w| w.acknowledged.is_none()));
    // In results.json and the report's Design section, as warnings.
    let results = std::fs::read_to_string(dir.path().join("run/results.json")).unwrap();
    assert!(results.contains("\"design_warnings\""));
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    let design_section =
        &report[report.find("## Design").unwrap()..report.find("## Main results").unwrap()];
    for w in design {
        assert!(
            design_section.contains(&format!("> **Warning.** {}", w.text())),
            "{design_section}"
        );
    }

    // Acknowledged with a reason: still listed, with the reason, not as a
    // warning box.
    let text = std::fs::read_to_string(root.join("mgist-cytoreduction.toml")).unwrap();
    let acknowledged = format!(
        "{text}\n[[design.acknowledge]]\narm = \"NS\"\nreason = \"the abstract's definition of the comparison group\"\n\
         \n[[design.acknowledge]]\ncriterion = \"first-line imatinib\"\nreason = \"nothing to keep\"\n"
    );
    let path = in_temp_dir(dir.path(), &acknowledged);
    let summary = run(&load(&path).unwrap(), &dir.path().join("run2")).unwrap();
    let design = &summary.results.design_warnings;
    assert_eq!(design.len(), 2);
    assert_eq!(design[0].acknowledged, None);
    assert_eq!(
        design[1].acknowledged.as_deref(),
        Some("the abstract's definition of the comparison group")
    );
    let report = std::fs::read_to_string(dir.path().join("run2/report.md")).unwrap();
    assert!(report.contains(
        "**Design warning, acknowledged by the pipeline** (the abstract's definition of the comparison group): NS requires response_months > 12"
    ));
    assert!(report.contains("> **Warning.** immortal time: S requires surgery_date"));
    // An acknowledgement that keeps nothing is said to.
    assert_eq!(
        summary.results.warnings,
        [
            "design.acknowledge[1]: criterion first-line imatinib has no design warning to acknowledge (its condition uses nothing known after an endpoint's origin); remove the acknowledgement"
        ]
    );

    // An acknowledgement of an arm that does not exist is a configuration
    // problem, found before any data is read.
    let wrong = acknowledged.replace("arm = \"NS\"", "arm = \"N\"");
    let path = in_temp_dir(dir.path(), &wrong);
    let err = load(&path).unwrap_err().to_string();
    assert!(
        err.contains("design.acknowledge[0].arm") && err.contains("unknown arm 'N'"),
        "{err}"
    );
}

/// The study's medians, confidence limits, log-rank tests, Cox models and
/// time-varying model equal R's
/// (`conformance/mgist.R` on `fixtures/mgist/study_endpoints.csv`, whose
/// times the generator rounded to 1e-10 months: far inside 1e-9 relative).
#[test]
fn mgist_survival_results_equal_r() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/mgist.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&loaded, &dir.path().join("run")).unwrap();
    let close = |ours: Option<f64>, r: &serde_json::Value, what: &str| match (ours, r.as_f64()) {
        (Some(a), Some(b)) => assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-300),
            "{what}: cohortflow {a} vs R {b}"
        ),
        (None, None) => {}
        (a, _) => panic!("{what}: cohortflow {a:?} vs R {r}"),
    };
    let mut compared = 0;
    for e in &summary.results.endpoints {
        let r = &reference[&e.name];
        for (k, arm) in e.by_arm.iter().enumerate() {
            assert_eq!(r["arms"][k], arm.arm.as_str());
            assert_eq!(r["n"][k].as_u64(), Some(arm.n));
            close(Some(arm.events), &r["events"][k], "events");
            close(
                arm.median.estimate,
                &r["median"][k],
                &format!("{} {} median", e.name, arm.arm),
            );
            close(
                arm.median.lower,
                &r["lower"][k],
                &format!("{} {} lower", e.name, arm.arm),
            );
            close(
                arm.median.upper,
                &r["upper"][k],
                &format!("{} {} upper", e.name, arm.arm),
            );
            close(
                Some(e.log_rank.as_ref().expect("two arms").expected[k]),
                &r["expected"][k],
                "expected",
            );
            let rmst = arm
                .rmst
                .as_ref()
                .expect("the mgist pipeline declares rmst_tau");
            close(
                Some(rmst.estimate),
                &r["rmst"][k],
                &format!("{} {} RMST", e.name, arm.arm),
            );
            close(
                Some(rmst.se),
                &r["rmst_se"][k],
                &format!("{} {} RMST se", e.name, arm.arm),
            );
            for (q, key) in arm.quantiles.iter().zip(["q25", "q75"]) {
                let what = format!("{} {} {key}", e.name, arm.arm);
                close(q.quantile.estimate, &r[key][k], &what);
                close(q.quantile.lower, &r[format!("{key}_lower")][k], &what);
                close(q.quantile.upper, &r[format!("{key}_upper")][k], &what);
            }
            assert_eq!(arm.quantiles.len(), 2);
            compared += 13;
        }
        close(
            Some(e.log_rank.as_ref().expect("two arms").chisq),
            &r["chisq"],
            &format!("{} chisq", e.name),
        );
        close(
            Some(e.log_rank.as_ref().expect("two arms").p_value),
            &r["p_value"],
            &format!("{} p", e.name),
        );
        compared += 2;

        let cox = e
            .cox
            .as_ref()
            .expect("the mgist pipeline declares [analysis.cox]");
        let adjusted = cox.adjusted.as_ref().expect("and an adjusted model");
        for (model, r) in [
            (&cox.unadjusted, &r["cox_unadjusted"]),
            (adjusted, &r["cox_adjusted"]),
        ] {
            for (j, t) in model.terms.iter().enumerate() {
                let what = format!("{} {} {}", e.name, model.formula, t.term);
                close(Some(t.coef), &r["coef"][j], &format!("{what} coef"));
                close(Some(t.se), &r["se"][j], &format!("{what} se"));
                close(Some(t.lower), &r["hr_lower"][j], &format!("{what} lower"));
                close(Some(t.upper), &r["hr_upper"][j], &format!("{what} upper"));
                close(Some(t.p_value), &r["p_value"][j], &format!("{what} p"));
                compared += 5;
            }
            close(Some(model.loglik), &r["loglik"], "loglik");
            close(Some(model.likelihood_ratio.statistic), &r["lr"], "LR test");
            close(Some(model.wald.statistic), &r["wald"], "Wald test");
            close(Some(model.score.statistic), &r["score"], "score test");
            for (j, (_, t)) in model.ph_test.iter().enumerate() {
                close(Some(t.p_value), &r["zph_p"][j], "cox.zph p");
                compared += 1;
            }
            compared += 4;
        }
    }
    // 2 endpoints x (28 KM/quantiles/RMST/log-rank + unadjusted 5 + 4 + 2 + adjusted 15 + 4 + 4).
    assert_eq!(compared, 124);

    // Surgery as a time-varying covariate on the arms' patients
    // (population = "arms"), against survSplit-style rows of the 44 in R.
    let text = std::fs::read_to_string(pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let arms_only = text.replace(
        "[analysis.time_varying]\nexposure = \"surgery_date\"\n",
        "[analysis.time_varying]\nexposure = \"surgery_date\"\npopulation = \"arms\"\n",
    );
    assert_ne!(arms_only, text);
    let path = in_temp_dir(dir.path(), &arms_only);
    let summary = run(&load(&path).unwrap(), &dir.path().join("run-arms")).unwrap();
    let tv = summary.results.time_varying.as_ref().expect("declared");
    assert_eq!(tv.population_n, 44);
    for m in &tv.endpoints {
        let r = &reference[&m.name]["time_varying"];
        let t = &m.model.terms[0];
        close(Some(t.coef), &r["coef"], "time-varying coef");
        close(Some(t.se), &r["se"], "time-varying se");
        close(Some(t.p_value), &r["p_value"], "time-varying p");
    }
}

/// A pipeline text written next to the bundled schema and sources.
fn in_temp_dir(dir: &Path, text: &str) -> PathBuf {
    let root = pipelines();
    let path = dir.join("mgist-cytoreduction.toml");
    std::fs::write(
        &path,
        text.replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
            .replace("\"sources/", &format!("\"{}/sources/", root.display())),
    )
    .unwrap();
    path
}

/// The landmark analysis (Kaplan–Meier medians and limits, log-rank test,
/// Cox hazard ratio of surgery by 12 months) and the time-varying Cox model
/// on the eligible population (the default), equal R's
/// (`conformance/mgist_eligible.R`, which reads the raw exports itself).
/// OS landmark: n = 51 of the 57 eligible, HR 0.379, log-rank p = 0.040.
#[test]
fn mgist_landmark_and_time_varying_on_the_eligible_patients_equal_r() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/mgist_eligible.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&loaded, &dir.path().join("run")).unwrap();
    let close = |ours: Option<f64>, r: &serde_json::Value, what: &str| match (ours, r.as_f64()) {
        (Some(a), Some(b)) => assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-300),
            "{what}: cohortflow {a} vs R {b}"
        ),
        (None, None) => {}
        (a, _) => panic!("{what}: cohortflow {a:?} vs R {r}"),
    };
    let mut compared = 0;
    let landmark = summary.results.landmark.as_ref().expect("declared");
    assert_eq!(landmark.population, Population::Eligible);
    assert_eq!(Some(landmark.population_n), reference["eligible"].as_u64());
    for e in &landmark.endpoints {
        let r = &reference[&e.result.name]["landmark"];
        assert_eq!(
            Some(e.excluded_before_landmark),
            r["excluded_before_landmark"].as_u64()
        );
        for (k, g) in e.result.by_arm.iter().enumerate() {
            let what = format!("{} landmark {}", e.result.name, g.arm);
            assert_eq!(r["groups"][k], g.arm.as_str());
            assert_eq!(r["n"][k].as_u64(), Some(g.n), "{what} n");
            close(Some(g.events), &r["events"][k], &format!("{what} events"));
            close(
                g.median.estimate,
                &r["median"][k],
                &format!("{what} median"),
            );
            close(g.median.lower, &r["lower"][k], &format!("{what} lower"));
            close(g.median.upper, &r["upper"][k], &format!("{what} upper"));
            let lr = e.result.log_rank.as_ref().expect("two groups");
            close(
                Some(lr.observed[k]),
                &r["observed"][k],
                &format!("{what} O"),
            );
            close(
                Some(lr.expected[k]),
                &r["expected"][k],
                &format!("{what} E"),
            );
            compared += 7;
        }
        let lr = e.result.log_rank.as_ref().expect("two groups");
        close(Some(lr.chisq), &r["chisq"], "landmark chisq");
        close(Some(lr.p_value), &r["p_value"], "landmark p");
        let cox = &e
            .result
            .cox
            .as_ref()
            .expect("both groups have patients")
            .unadjusted;
        let t = &cox.terms[0];
        let rc = &r["cox"];
        close(Some(t.coef), &rc["coef"], "landmark Cox coef");
        close(Some(t.se), &rc["se"], "landmark Cox se");
        close(Some(t.hazard_ratio), &rc["hazard_ratio"], "landmark HR");
        close(Some(t.lower), &rc["hr_lower"], "landmark HR lower");
        close(Some(t.upper), &rc["hr_upper"], "landmark HR upper");
        close(Some(t.p_value), &rc["p_value"], "landmark Cox p");
        close(Some(cox.loglik), &rc["loglik"], "landmark Cox loglik");
        compared += 9;
    }
    let tv = summary.results.time_varying.as_ref().expect("declared");
    assert_eq!(tv.population, Population::Eligible);
    for m in &tv.endpoints {
        let r = &reference[&m.name]["time_varying"];
        assert_eq!(Some(tv.population_n), r["patients"].as_u64());
        assert_eq!(Some(m.model.n as u64), r["rows"].as_u64());
        assert_eq!(Some(m.model.events as u64), r["events"].as_u64());
        let t = &m.model.terms[0];
        close(Some(t.coef), &r["coef"], "time-varying coef");
        close(Some(t.se), &r["se"], "time-varying se");
        close(Some(t.hazard_ratio), &r["hazard_ratio"], "time-varying HR");
        close(Some(t.lower), &r["hr_lower"], "time-varying HR lower");
        close(Some(t.upper), &r["hr_upper"], "time-varying HR upper");
        close(Some(t.p_value), &r["p_value"], "time-varying p");
        close(Some(m.model.loglik), &r["loglik"], "time-varying loglik");
        compared += 7;
    }
    // 2 endpoints x (2 groups x 7 + 9) + 2 x 7.
    assert_eq!(compared, 60);
    // The outside recomputation, to the digits it quotes.
    let os = landmark
        .endpoints
        .iter()
        .find(|e| e.result.name == "os")
        .unwrap();
    let n: u64 = os.result.by_arm.iter().map(|g| g.n).sum();
    assert_eq!(n, 51);
}

/// `strata = "source"` stratifies the log-rank test and the Cox model by
/// centre, as survdiff(... + strata(centre)) and coxph(... + strata(centre)).
#[test]
fn stratified_by_centre_equals_r() {
    let root = pipelines();
    let text = std::fs::read_to_string(root.join("mgist-cytoreduction.toml"))
        .unwrap()
        .replace(
            "reference_arm = \"NS\"",
            "reference_arm = \"NS\"\nstrata = \"source\"",
        )
        .replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
        .replace("\"sources/", &format!("\"{}/sources/", root.display()));
    assert!(text.contains("strata = \"source\""));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mgist-cytoreduction.toml");
    std::fs::write(&path, text).unwrap();
    let summary = run(&load(&path).unwrap(), &dir.path().join("run")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/mgist.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for e in &summary.results.endpoints {
        let r = &reference[&e.name]["by_centre"];
        let arm = &e.cox.as_ref().unwrap().unadjusted.terms[0];
        for (ours, theirs, what) in [
            (
                e.log_rank.as_ref().expect("two arms").chisq,
                &r["chisq"],
                "stratified chisq",
            ),
            (
                e.log_rank.as_ref().expect("two arms").p_value,
                &r["p_value"],
                "stratified p",
            ),
            (arm.coef, &r["coef"], "stratified Cox coef"),
            (arm.se, &r["se"], "stratified Cox se"),
        ] {
            let theirs = theirs.as_f64().unwrap();
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs(),
                "{} {what}: cohortflow {ours} vs R {theirs}",
                e.name
            );
        }
    }
}

/// `exact = ["mets_liver"]` in `[matching]`: every matched set has one
/// value of it (without `exact`, 3 of the 7 sets mix them).
#[test]
fn exact_matching_keeps_sets_within_a_level() {
    let root = pipelines();
    let text = std::fs::read_to_string(root.join("mgist-cytoreduction-matched.toml"))
        .unwrap()
        .replace(
            "missing = \"indicator\"\n",
            "missing = \"indicator\"\nexact = [\"mets_liver\"]\n",
        )
        .replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
        .replace("\"sources/", &format!("\"{}/sources/", root.display()));
    assert!(text.contains("exact = [\"mets_liver\"]"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mgist-cytoreduction-matched.toml");
    std::fs::write(&path, text).unwrap();
    run(&load(&path).unwrap(), &dir.path().join("run")).unwrap();
    let matched = std::fs::read_to_string(dir.path().join("run/matched.csv")).unwrap();
    let mut lines = matched.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, level) = (col("match_id"), col("mets_liver"));
    let mut sets: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        sets.entry(cells[id].to_string())
            .or_default()
            .push(cells[level].to_string());
    }
    assert!(sets.len() >= 2, "{sets:?}");
    for (set, values) in &sets {
        assert_eq!(values.len(), 2, "1:1 set {set}: {values:?}");
        assert!(
            values.iter().all(|v| v == &values[0]),
            "set {set} mixes levels: {values:?}"
        );
    }
}

/// `exact` with a caliper: a stratum in which nobody finds a control within
/// the whole sample's caliper is counted and warned about, not fatal (it
/// stopped the run with "no units were matched"); the change of estimand and
/// the poor balance after matching are design warnings.
#[test]
fn exact_strata_without_a_match_are_counted_not_fatal() {
    let root = pipelines();
    let text = std::fs::read_to_string(root.join("mgist-cytoreduction-matched.toml"))
        .unwrap()
        .replace(
            "missing = \"indicator\"\n",
            "missing = \"indicator\"\nexact = [\"primary_site\", \"sex\"]\n",
        )
        .replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
        .replace("\"sources/", &format!("\"{}/sources/", root.display()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mgist-cytoreduction-matched.toml");
    std::fs::write(&path, text).unwrap();
    let s = run(&load(&path).unwrap(), &dir.path().join("run")).unwrap();
    let m = s.results.matching.as_ref().unwrap();
    let e = m.exact_strata.as_ref().expect("exact strata counted");
    assert_eq!((e.strata, e.without_match, e.treated_in_them), (6, 3, 4));
    let u = m.unmatched_treated.as_ref().expect("unmatched treated");
    assert_eq!((u.unmatched, u.treated), (8, 15));
    assert_eq!(u.profile[0].term, "distance");
    let w = &s.results.warnings;
    let has = |needle: &str| w.iter().any(|x| x.contains(needle));
    assert!(has("8 of 15 patients of arm S found no control"), "{w:?}");
    assert!(has("the estimand changed"), "{w:?}");
    assert!(
        has("in 3 of 6 exact strata (primary_site, sex) no patient of arm S found a control"),
        "{w:?}"
    );
    assert!(has("balance after matching is poor for age"), "{w:?}");
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    assert!(report.contains("the estimand changed"), "report:\n{report}");
}

//! Studies of real data declared in TOML only, the way a user declares a
//! new study, and compared with R value by value (`conformance/groups.R` →
//! `conformance/groups.json`): follow-up data that hold a time and a status
//! (no dates), one group (no arms), three and four arms, survival at
//! declared times in the data's own unit (days), median follow-up, the
//! log-rank test and pairwise tests.

use cohortflow_pipeline::{load, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Writes a study over `fixtures/real/<data>` into `dir` and runs it.
fn run_study(
    dir: &Path,
    data: &str,
    schema: &str,
    columns: &str,
    endpoint: &str,
    arms: &str,
    analysis: &str,
) -> cohortflow_pipeline::RunSummary {
    run_study_at(
        dir,
        data,
        schema,
        columns,
        endpoint,
        arms,
        analysis,
        "[30, 90, 180, 365]",
    )
}

/// [`run_study`] reading the curves at `at` (a TOML array).
#[allow(clippy::too_many_arguments)]
fn run_study_at(
    dir: &Path,
    data: &str,
    schema: &str,
    columns: &str,
    endpoint: &str,
    arms: &str,
    analysis: &str,
    at: &str,
) -> cohortflow_pipeline::RunSummary {
    std::fs::write(dir.join("schema.toml"), schema).unwrap();
    std::fs::write(
        dir.join("source.toml"),
        format!(
            "[source]\nname = \"registry\"\ncentre = \"Registry\"\nformat = \"csv\"\n\
             path = \"{}\"\non_error = \"fail\"\nmissing = [\"NA\", \"\"]\n\n\
             [source.csv]\nseparator = \",\"\n\n[source.columns]\n{columns}",
            repo().join("fixtures/real").join(data).display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("study.toml"),
        format!(
            "[pipeline]\nname = \"study\"\nschema = \"schema.toml\"\nsources = [\"source.toml\"]\n\n\
             {endpoint}\n{arms}\n[analysis]\nendpoints = [\"os\"]\npairwise = \"holm\"\n\
             at = {at}\n{analysis}"
        ),
    )
    .unwrap();
    let loaded = load(&dir.join("study.toml")).unwrap_or_else(|e| panic!("{e}"));
    run(&loaded, &dir.join("run")).unwrap_or_else(|e| panic!("{e}"))
}

fn close(got: Option<f64>, want: &Value, what: &str) {
    if want.as_str() == Some("NaN") {
        assert!(
            got.is_some_and(f64::is_nan),
            "{what}: cohortflow {got:?}, R NaN"
        );
        return;
    }
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1e-3),
            "{what}: cohortflow {g}, R {w}"
        ),
        (g, _) => panic!("{what}: cohortflow {g:?}, R {want}"),
    }
}

/// Compares the run's one endpoint with R's case `name`.
fn equals_r(summary: &cohortflow_pipeline::RunSummary, name: &str) -> usize {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/groups.json")).unwrap(),
    )
    .unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    let ep = &summary.results.endpoints[0];
    let groups = case["groups"].as_array().unwrap();
    assert_eq!(ep.by_arm.len(), groups.len(), "{name}: groups");
    let mut checked = 0;
    for (s, r) in ep.by_arm.iter().zip(groups) {
        let w = |f: &str| format!("{name} {}: {f}", s.arm);
        assert_eq!(s.n, r["n"].as_u64().unwrap(), "{}", w("n"));
        close(Some(s.events), &r["events"], &w("events"));
        close(s.median.estimate, &r["median"], &w("median"));
        close(s.median.lower, &r["median_lower"], &w("median lower"));
        close(s.median.upper, &r["median_upper"], &w("median upper"));
        close(
            s.median_follow_up.estimate,
            &r["follow_up"],
            &w("follow-up"),
        );
        for (k, at) in s.survival_at.iter().enumerate() {
            close(Some(at.surv), &r["surv"][k], &w("surv"));
            close(at.lower, &r["lower"][k], &w("lower"));
            close(at.upper, &r["upper"][k], &w("upper"));
            close(Some(at.n_risk), &r["n_risk"][k], &w("n.risk"));
            checked += 4;
        }
        checked += 6;
    }
    match (&ep.log_rank, case.get("log_rank")) {
        (None, None) => assert!(ep.pairwise.is_empty()),
        (Some(l), Some(r)) => {
            close(Some(l.chisq), &r["chisq"], &format!("{name}: chisq"));
            close(Some(l.p_value), &r["p_value"], &format!("{name}: p"));
            for (p, r) in ep.pairwise.iter().zip(case["pairwise"].as_array().unwrap()) {
                close(Some(p.p_value), &r["p_value"], &format!("{name}: pair p"));
                close(
                    Some(p.p_adjusted),
                    &r["p_holm"],
                    &format!("{name}: pair p holm"),
                );
                checked += 2;
            }
            checked += 2;
        }
        (l, r) => panic!("{name}: log-rank {l:?} vs R {r:?}"),
    }
    checked
}

const VETERAN_SCHEMA: &str = r#"name = "veteran"
[[column]]
name = "trt"
type = "integer"
[[column]]
name = "celltype"
type = "category"
levels = ["squamous", "smallcell", "adeno", "large"]
[[column]]
name = "time"
type = "float"
[[column]]
name = "status"
type = "integer"
[[column]]
name = "karno"
type = "integer"
"#;

const VETERAN_COLUMNS: &str = "trt = \"trt\"\ncelltype = \"celltype\"\ntime = \"time\"\nstatus = \"status\"\nkarno = \"karno\"\n";

/// The endpoint as a user with follow-up data declares it: a time in days
/// and a status, no dates.
const VETERAN_OS: &str = r#"[endpoints.os]
label = "Overall survival"
time = "time"
event = "status = 1"
unit = "days"
"#;

#[test]
fn a_time_and_status_study_of_four_arms_equals_r() {
    let dir = tempfile::tempdir().unwrap();
    let arms: String = ["squamous", "smallcell", "adeno", "large"]
        .iter()
        .map(|a| format!("[[cohort.arm]]\nname = \"{a}\"\nwhere = \"celltype = '{a}'\"\n"))
        .collect();
    let s = run_study(
        dir.path(),
        "veteran.csv",
        VETERAN_SCHEMA,
        VETERAN_COLUMNS,
        VETERAN_OS,
        &arms,
        "baseline = [\"karno\"]\n[analysis.tests]\nkarno = \"anova\"\n",
    );
    assert!(equals_r(&s, "veteran_celltype") > 50);
    // The test named for karno across the four arms: one-way ANOVA, as R's
    // summary(aov(karno ~ celltype)) (conformance/kgroups.json).
    let kg: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/kgroups.json")).unwrap(),
    )
    .unwrap();
    let r = &kg["continuous"][0];
    assert_eq!(r["name"], "veteran karno by celltype");
    let row = &s.results.baseline[0];
    close(row.statistic, &r["anova"]["f"], "karno F");
    close(row.p_value, &r["anova"]["p_value"], "karno F p");
    close(row.df_residual, &r["anova"]["df2"], "karno df2");
    // In its own unit: the report reads the curve at 365 days, not at 12
    // months of 30.4375 days.
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    assert!(report.contains("estimate at 365 days"), "report:\n{report}");
}

#[test]
fn a_one_group_study_without_arms_equals_r() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_study(
        dir.path(),
        "veteran.csv",
        VETERAN_SCHEMA,
        VETERAN_COLUMNS,
        VETERAN_OS,
        "",
        "",
    );
    assert_eq!(s.results.arms.len(), 1);
    assert!(equals_r(&s, "veteran_whole_cohort") > 10);
}

#[test]
fn a_three_arm_study_equals_r() {
    let dir = tempfile::tempdir().unwrap();
    let schema = r#"name = "gbsg"
[[column]]
name = "grade"
type = "category"
levels = ["1", "2", "3"]
[[column]]
name = "rfstime"
type = "float"
[[column]]
name = "status"
type = "integer"
"#;
    let arms: String = ["1", "2", "3"]
        .iter()
        .map(|a| format!("[[cohort.arm]]\nname = \"grade {a}\"\nwhere = \"grade = '{a}'\"\n"))
        .collect();
    let endpoint = "[endpoints.os]\nlabel = \"Recurrence-free survival\"\ntime = \"rfstime\"\n\
                    event = \"status = 1\"\nunit = \"days\"\n";
    let s = run_study(
        dir.path(),
        "gbsg.csv",
        schema,
        "grade = \"grade\"\nrfstime = \"rfstime\"\nstatus = \"status\"\n",
        endpoint,
        &arms,
        "",
    );
    // R's groups are named by the grade alone.
    let names: Vec<&str> = s.results.arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["grade 1", "grade 2", "grade 3"]);
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/groups.json")).unwrap(),
    )
    .unwrap();
    let at: Vec<f64> = doc["cases"][2]["at"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // gbsg's R case reads the curves at other times: compare the rest.
    let ep = &s.results.endpoints[0];
    let case = &doc["cases"][2];
    assert_eq!(case["name"], "gbsg_grade");
    assert_eq!(at.len(), 4);
    for (s, r) in ep.by_arm.iter().zip(case["groups"].as_array().unwrap()) {
        assert_eq!(s.n, r["n"].as_u64().unwrap());
        close(s.median.estimate, &r["median"], "gbsg median");
        close(s.median.lower, &r["median_lower"], "gbsg median lower");
        close(s.median.upper, &r["median_upper"], "gbsg median upper");
        close(
            s.median_follow_up.estimate,
            &r["follow_up"],
            "gbsg follow-up",
        );
    }
    let l = ep.log_rank.as_ref().unwrap();
    close(Some(l.chisq), &case["log_rank"]["chisq"], "gbsg chisq");
    for (p, r) in ep.pairwise.iter().zip(case["pairwise"].as_array().unwrap()) {
        close(Some(p.p_adjusted), &r["p_holm"], "gbsg pair p holm");
    }
}

#[test]
fn an_endpoint_declared_both_ways_or_half_is_a_configuration_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.toml"), VETERAN_SCHEMA).unwrap();
    for (endpoint, expect) in [
        (
            "[endpoints.os]\nlabel = \"OS\"\ntime = \"time\"\nunit = \"days\"\n",
            "needs both `time` and `event`",
        ),
        (
            "[endpoints.os]\nlabel = \"OS\"\ntime = \"celltype\"\nevent = \"status = 1\"\n",
            "not a number",
        ),
        (
            "[endpoints.os]\nlabel = \"OS\"\ntime = \"time\"\nevent = \"status = 1\"\nadmin_censor = \"2020-01-01\"\n",
            "admin_censor is a date",
        ),
        (
            "[endpoints.os]\nlabel = \"OS\"\ntime = \"time\"\nevent = \"status = 1\"\n\n\
             [analysis.time_varying]\nexposure = \"karno\"\n",
            "without an origin date",
        ),
    ] {
        std::fs::write(
            dir.path().join("source.toml"),
            format!(
                "[source]\nname = \"r\"\ncentre = \"R\"\nformat = \"csv\"\npath = \"{}\"\n\n\
                 [source.csv]\nseparator = \",\"\n\n[source.columns]\n{VETERAN_COLUMNS}",
                repo().join("fixtures/real/veteran.csv").display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("study.toml"),
            format!(
                "[pipeline]\nname = \"s\"\nschema = \"schema.toml\"\nsources = [\"source.toml\"]\n\n\
                 {endpoint}\n[analysis]\nendpoints = [\"os\"]\n"
            ),
        )
        .unwrap();
        let Err(err) = load(&dir.path().join("study.toml")) else {
            panic!("accepted: {endpoint}");
        };
        assert!(err.to_string().contains(expect), "{err}");
    }
}

const LUNG_SCHEMA: &str = r#"name = "lung"
[[column]]
name = "time"
type = "float"
[[column]]
name = "status"
type = "integer"
[[column]]
name = "sex"
type = "integer"
[[column]]
name = "ph_ecog"
type = "integer"
[[column]]
name = "ph_karno"
type = "integer"
[[column]]
name = "meal_cal"
type = "integer"
[[column]]
name = "wt_loss"
type = "integer"
"#;

/// A Cox model with missing covariates (`missing = "exclude"`, the
/// default): the model equals R's `coxph` with `na.omit`, and the patients
/// it left out are in the ledger (`model` lines, each under the first
/// covariate it misses), the flow diagram and the report, never only in
/// results.json (conformance/missing.R).
#[test]
fn patients_a_model_leaves_out_for_a_missing_covariate_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let columns = "time = \"time\"\nstatus = \"status\"\nsex = \"sex\"\nph_ecog = \"ph.ecog\"\n\
                   ph_karno = \"ph.karno\"\nmeal_cal = \"meal.cal\"\nwt_loss = \"wt.loss\"\n";
    let endpoint = "[endpoints.os]\nlabel = \"Overall survival\"\ntime = \"time\"\n\
                    event = \"status = 2\"\nunit = \"days\"\n";
    let arms = "[[cohort.arm]]\nname = \"male\"\nwhere = \"sex = 1\"\n\
                [[cohort.arm]]\nname = \"female\"\nwhere = \"sex = 2\"\n";
    let s = run_study(
        dir.path(),
        "lung.csv",
        LUNG_SCHEMA,
        columns,
        endpoint,
        arms,
        "reference_arm = \"male\"\n[analysis.cox]\n\
         adjust = [\"ph_ecog\", \"ph_karno\", \"meal_cal\", \"wt_loss\"]\n",
    );
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/missing.json")).unwrap(),
    )
    .unwrap();
    let m = s.results.endpoints[0]
        .cox
        .as_ref()
        .and_then(|c| c.adjusted.as_ref())
        .expect("the adjusted model");
    assert_eq!(m.n as u64, r["n"].as_u64().unwrap());
    assert_eq!(m.events as u64, r["events"].as_u64().unwrap());
    assert_eq!(m.excluded_missing as u64, r["left_out"].as_u64().unwrap());
    let by: Vec<(String, u64)> = r["missing_by_covariate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap().replace('.', "_"),
                c["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(String, u64)> = m
        .missing_by_covariate
        .iter()
        .map(|c| (c.column.clone(), c.rows as u64))
        .collect();
    assert_eq!(got, by);
    for (j, t) in m.terms.iter().enumerate() {
        close(Some(t.coef), &r["coef"][j], &format!("{} coef", t.term));
        close(Some(t.se), &r["se"][j], &format!("{} se", t.term));
        close(Some(t.p_value), &r["p_value"][j], &format!("{} p", t.term));
    }
    close(Some(m.loglik), &r["loglik"], "loglik");
    // The ledger: every analysed patient used or left out, by covariate.
    let rows = r["rows"].as_u64().unwrap();
    let model = s
        .ledger
        .models()
        .iter()
        .find(|a| a.model.starts_with("os: "))
        .expect("the model's ledger account");
    assert_eq!(model.rows_in, rows);
    assert_eq!(model.rows_used, m.n as u64);
    assert_eq!(model.missing, by);
    let ledger = std::fs::read_to_string(dir.path().join("run/ledger.csv")).unwrap();
    assert!(
        ledger.contains(",left out: missing meal_cal,46\n"),
        "ledger:\n{ledger}"
    );
    let flow = std::fs::read_to_string(dir.path().join("run/flow.svg")).unwrap();
    assert!(
        flow.contains(&format!(
            "58 of {rows} left out for a missing covariate (ph_ecog 1, ph_karno 1, meal_cal 46, \
             wt_loss 10); 170 used"
        )),
        "flow:\n{flow}"
    );
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    assert!(
        report.contains("n = 170, 58 left out for a missing covariate"),
        "report:\n{report}"
    );
}

/// A time-and-status study in months (mgus2's `futime`, `death`) equals R in
/// its own unit: no conversion through days, and the report reads the
/// curves at 12, 60, 120 and 240 months of the data, not of 30.4375 days.
#[test]
fn a_time_and_status_study_in_months_equals_r_in_its_unit() {
    let dir = tempfile::tempdir().unwrap();
    let schema = "name = \"mgus2\"\n[[column]]\nname = \"sex\"\ntype = \"category\"\n\
                  levels = [\"F\", \"M\"]\n[[column]]\nname = \"futime\"\ntype = \"float\"\n\
                  [[column]]\nname = \"death\"\ntype = \"integer\"\n";
    let s = run_study_at(
        dir.path(),
        "mgus2.csv",
        schema,
        "sex = \"sex\"\nfutime = \"futime\"\ndeath = \"death\"\n",
        "[endpoints.os]\nlabel = \"Overall survival\"\ntime = \"futime\"\n\
         event = \"death = 1\"\nunit = \"months\"\n",
        "[[cohort.arm]]\nname = \"F\"\nwhere = \"sex = 'F'\"\n\
         [[cohort.arm]]\nname = \"M\"\nwhere = \"sex = 'M'\"\n",
        "",
        "[12, 60, 120, 240]",
    );
    assert!(equals_r(&s, "mgus2_death_by_sex_months") > 40);
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    assert!(
        report.contains("estimate at 12 months"),
        "report:\n{report}"
    );
    assert!(
        report.contains("estimate at 240 months"),
        "report:\n{report}"
    );
}

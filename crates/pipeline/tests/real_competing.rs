//! Competing-risks studies declared in TOML only, the way a user declares
//! them, over real data (`fixtures/real/melanoma.csv`, `mgus2.csv`), and
//! compared with R value by value (`conformance/competing.R` →
//! `conformance/competing.json`): per cause and arm the Aalen–Johansen
//! cumulative incidence at the declared times (R's multi-state `survfit`),
//! Gray's test (`cmprsk::cuminc`), and the cause-specific Cox model
//! (`coxph(Surv(time, cause == j) ~ group)`); plus the dates form of
//! `causes` on a small hand-made export (the first date decides the cause,
//! a tie goes to the cause declared first).

use cohortflow_analysis::CompetingResult;
use cohortflow_pipeline::{load, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Writes a study (schema, one CSV source, pipeline body) into `dir` and
/// runs it.
fn run_study(
    dir: &Path,
    data: &Path,
    schema: &str,
    columns: &str,
    body: &str,
) -> cohortflow_pipeline::RunSummary {
    std::fs::write(dir.join("schema.toml"), schema).unwrap();
    std::fs::write(
        dir.join("source.toml"),
        format!(
            "[source]\nname = \"registry\"\ncentre = \"Registry\"\nformat = \"csv\"\n\
             path = \"{}\"\non_error = \"fail\"\nmissing = [\"NA\", \"\"]\n\
             date_formats = [\"%Y-%m-%d\"]\n\n\
             [source.csv]\nseparator = \",\"\n\n[source.columns]\n{columns}",
            data.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("study.toml"),
        format!(
            "[pipeline]\nname = \"study\"\nschema = \"schema.toml\"\nsources = [\"source.toml\"]\n\n{body}"
        ),
    )
    .unwrap();
    let loaded = load(&dir.join("study.toml")).unwrap_or_else(|e| panic!("{e}"));
    run(&loaded, &dir.join("run")).unwrap_or_else(|e| panic!("{e}"))
}

fn close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs() || (g - w).abs() <= 1e-12,
            "{what}: cohortflow {g}, R {w}"
        ),
        (g, w) => panic!("{what}: cohortflow {g:?}, R {w:?}"),
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Compares the run's competing results with R's case `name` (two groups:
/// arm 0 is R's group 0). Returns the number of values compared.
fn equals_r(competing: &CompetingResult, name: &str) -> usize {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/competing.json")).unwrap(),
    )
    .unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let curves = case["curves"].as_array().unwrap();
    let mut checked = 0;
    for (c, cause) in competing.causes.iter().enumerate() {
        let state = c + 1;
        assert_eq!(cause.by_arm.len(), curves.len(), "{name}: arms");
        for (arm, curve) in cause.by_arm.iter().zip(curves) {
            let steps = &curve["steps"];
            let times: Vec<f64> = steps["time"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(arm.n, curve["n"].as_u64().unwrap(), "{name} {}: n", arm.arm);
            for at in &arm.incidence_at {
                let what = format!("{name} {} {} at {}", cause.cause, arm.arm, at.time);
                // R's summary(fit, times = t): the last row at or before t,
                // n.risk of the first row at or after t
                let last = times.partition_point(|&t| t <= at.time);
                let first = times.partition_point(|&t| t < at.time);
                let (p, se, lo, hi) = if last == 0 {
                    (Some(0.0), Some(0.0), Some(0.0), Some(0.0))
                } else {
                    let i = last - 1;
                    (
                        num(&steps["pstate"][state][i]),
                        num(&steps["std_err"][state][i]),
                        num(&steps["lower"][state][i]),
                        num(&steps["upper"][state][i]),
                    )
                };
                let n_risk = if first < times.len() {
                    num(&steps["n_risk"][first])
                } else {
                    Some(0.0)
                };
                close(Some(at.incidence), p, &format!("{what}: incidence"));
                close(Some(at.std_err), se, &format!("{what}: std.err"));
                close(at.lower, lo, &format!("{what}: lower"));
                close(at.upper, hi, &format!("{what}: upper"));
                close(Some(at.n_risk), n_risk, &format!("{what}: n.risk"));
                checked += 5;
            }
        }
        let gray = cause.gray.as_ref().expect("Gray's test");
        let r = case["gray"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["cause"].as_f64() == Some(state as f64))
            .unwrap();
        close(Some(gray.statistic), num(&r["statistic"]), "Gray statistic");
        close(Some(gray.p_value), num(&r["p_value"]), "Gray p");
        assert_eq!(gray.df as f64, r["df"].as_f64().unwrap());
        let cox = &cause
            .cause_specific_cox
            .as_ref()
            .expect("cause-specific Cox")
            .unadjusted;
        let r = &case["cause_specific_cox"][c];
        assert_eq!(cox.terms.len(), 1, "{name}: one term (the arm)");
        close(
            Some(cox.terms[0].coef),
            num(&r["coef"]),
            "cause-specific coef",
        );
        close(Some(cox.terms[0].se), num(&r["se"]), "cause-specific se");
        close(
            Some(cox.terms[0].p_value),
            num(&r["p_value"]),
            "cause-specific p",
        );
        // Fine–Gray: coxph on finegray() data, R's default robust variance.
        let fg = &cause
            .fine_gray
            .as_ref()
            .expect("Fine-Gray model")
            .unadjusted;
        let r = &case["fine_gray"][c];
        assert_eq!(fg.terms.len(), 1, "{name}: one term (the arm)");
        let t = &fg.terms[0];
        close(Some(t.coef), num(&r["coef"]), "Fine-Gray coef");
        close(Some(t.se), num(&r["se"]), "Fine-Gray naive se");
        close(t.robust_se, num(&r["robust_se"]), "Fine-Gray robust se");
        close(Some(t.p_value), num(&r["p_value"]), "Fine-Gray p (robust)");
        assert_eq!(fg.events as f64, r["events"].as_f64().unwrap());
        checked += 11;
    }
    checked
}

const MELANOMA_SCHEMA: &str = r#"name = "melanoma"
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
name = "ulcer"
type = "integer"
"#;

#[test]
fn melanoma_deaths_from_melanoma_and_other_causes_equal_r() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_study(
        dir.path(),
        &repo().join("fixtures/real/melanoma.csv"),
        MELANOMA_SCHEMA,
        "time = \"time\"\nstatus = \"status\"\nsex = \"sex\"\nulcer = \"ulcer\"\n",
        r#"[endpoints.death]
label = "Death"
time = "time"
unit = "days"
causes = { melanoma = "status = 1", other = "status = 3" }

[[cohort.arm]]
name = "no ulcer"
where = "ulcer = 0"
[[cohort.arm]]
name = "ulcer"
where = "ulcer = 1"

[analysis]
endpoints = ["death"]
at = [0, 365, 1000, 1825, 3650, 6000]
reference_arm = "no ulcer"
[analysis.cox]
"#,
    );
    let ep = &s.results.endpoints[0];
    let competing = ep.competing.as_ref().expect("competing results");
    let names: Vec<&str> = competing.causes.iter().map(|c| c.cause.as_str()).collect();
    assert_eq!(names, ["melanoma", "other"]);
    assert!(equals_r(competing, "melanoma_ulcer") >= 120);
    // events per cause: 57 died of melanoma, 14 of other causes (?Melanoma)
    let events: Vec<f64> = competing
        .causes
        .iter()
        .map(|c| c.by_arm.iter().map(|a| a.events).sum())
        .collect();
    assert_eq!(events, [57.0, 14.0]);
    let cif = std::fs::read_to_string(dir.path().join("run/cif.csv")).unwrap();
    assert!(
        cif.starts_with("analysis,endpoint,arm,cause,time,"),
        "{cif}"
    );
    assert!(cif.contains("naive,death,ulcer,other,"), "{cif}");
    let report = std::fs::read_to_string(dir.path().join("run/report.md")).unwrap();
    assert!(report.contains("Cumulative incidence"), "report:\n{report}");
    assert!(report.contains("Gray"), "report:\n{report}");
    // The Methods name the endpoint's causes and the competing-risks methods.
    for needle in [
        "**Death** (`death`): the follow-up time as recorded in `time`; competing causes: melanoma (`status = 1`), other (`status = 3`)",
        "Competing risks: the cumulative incidence of each cause by the Aalen–Johansen estimator, compared by Gray's test",
    ] {
        assert!(
            report.contains(needle),
            "{needle:?} not in report:\n{report}"
        );
    }
}

#[test]
fn mgus2_progression_and_death_from_derived_time_equal_r() {
    let dir = tempfile::tempdir().unwrap();
    let schema = r#"name = "mgus2"
[[column]]
name = "sex"
type = "category"
levels = ["F", "M"]
[[column]]
name = "ptime"
type = "float"
[[column]]
name = "pstat"
type = "integer"
[[column]]
name = "futime"
type = "float"
[[column]]
name = "death"
type = "integer"
"#;
    let s = run_study(
        dir.path(),
        &repo().join("fixtures/real/mgus2.csv"),
        schema,
        "sex = \"sex\"\nptime = \"ptime\"\npstat = \"pstat\"\nfutime = \"futime\"\ndeath = \"death\"\n",
        r#"# as the survival package's "compete" vignette: time to progression, or
# to death or last contact without progression
[[derive.column]]
name = "etime"
expr = "CASE WHEN pstat = 0 THEN futime ELSE ptime END"

[endpoints.pcm]
label = "Progression or death"
time = "etime"
unit = "months"
causes = { progression = "pstat = 1", death = "pstat = 0 AND death = 1" }

[[cohort.arm]]
name = "F"
where = "sex = 'F'"
[[cohort.arm]]
name = "M"
where = "sex = 'M'"

[analysis]
endpoints = ["pcm"]
at = [12, 60, 120, 240, 400]
reference_arm = "F"
[analysis.cox]
"#,
    );
    let competing = s.results.endpoints[0].competing.as_ref().unwrap();
    assert!(equals_r(competing, "mgus2_sex_log") >= 110);
}

/// The dates form: the earliest date of any cause is the event and decides
/// its cause; a tie goes to the cause declared first; admin_censor censors
/// a later event (no cause).
#[test]
fn the_dates_form_takes_the_first_date_and_breaks_ties_by_declared_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("export.csv");
    std::fs::write(
        &data,
        "id,arm,start,progression,death,last_seen\n\
         1,a,2020-01-01,2020-03-01,2020-06-01,2020-06-01\n\
         2,a,2020-01-01,,2020-02-01,2020-02-01\n\
         3,a,2020-01-01,2020-04-01,2020-04-01,2020-04-01\n\
         4,b,2020-01-01,,,2021-01-01\n\
         5,b,2020-01-01,2022-01-01,,2022-01-01\n\
         6,b,2020-01-01,,2020-05-01,2020-05-01\n",
    )
    .unwrap();
    let schema = r#"name = "d"
[[column]]
name = "id"
type = "integer"
[[column]]
name = "arm"
type = "category"
levels = ["a", "b"]
[[column]]
name = "start"
type = "date"
[[column]]
name = "progression"
type = "date"
[[column]]
name = "death"
type = "date"
[[column]]
name = "last_seen"
type = "date"
"#;
    let s = run_study(
        dir.path(),
        &data,
        schema,
        "id = \"id\"\narm = \"arm\"\nstart = \"start\"\nprogression = \"progression\"\n\
         death = \"death\"\nlast_seen = \"last_seen\"\n",
        r#"[endpoints.pfs]
label = "Progression or death"
origin = "start"
censor = "last_seen"
admin_censor = "2021-06-30"
causes = { progression = ["progression"], death = ["death"] }
unit = "days"

[[cohort.arm]]
name = "a"
where = "arm = 'a'"
[[cohort.arm]]
name = "b"
where = "arm = 'b'"

[analysis]
endpoints = ["pfs"]
"#,
    );
    let cohort = std::fs::read_to_string(dir.path().join("run/cohort.csv")).unwrap();
    let header: Vec<&str> = cohort.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, cause, event) = (col("id"), col("pfs_cause"), col("pfs_event"));
    let mut got: Vec<(String, String, String)> = cohort
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[id].to_string(),
                f[cause].to_string(),
                f[event].to_string(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("1", "progression", "true"),
        ("2", "death", "true"),
        ("3", "progression", "true"),
        ("4", "", "false"),
        ("5", "", "false"),
        ("6", "death", "true"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    let competing = s.results.endpoints[0].competing.as_ref().unwrap();
    let events: Vec<Vec<f64>> = competing
        .causes
        .iter()
        .map(|c| c.by_arm.iter().map(|a| a.events).collect())
        .collect();
    assert_eq!(events, [vec![2.0, 0.0], vec![1.0, 1.0]]);
}

/// `causes` is checked before any data is read, naming the key.
#[test]
fn causes_that_do_not_fit_the_endpoint_are_configuration_problems() {
    let dir = tempfile::tempdir().unwrap();
    for (endpoint, expect) in [
        (
            "time = \"time\"\nevent = \"status = 1\"\ncauses = { a = \"status = 1\", b = \"status = 3\" }\n",
            "both `event` and `causes`",
        ),
        (
            "time = \"time\"\ncauses = { a = \"status = 1\" }\n",
            "at least two",
        ),
        (
            "time = \"time\"\ncauses = { a = [\"time\"], b = \"status = 3\" }\n",
            "cause 'a' lists date columns",
        ),
        (
            "time = \"time\"\ncauses = { a = \"no_such = 1\", b = \"status = 3\" }\n",
            "cause 'a'",
        ),
    ] {
        std::fs::write(dir.path().join("schema.toml"), MELANOMA_SCHEMA).unwrap();
        std::fs::write(
            dir.path().join("source.toml"),
            format!(
                "[source]\nname = \"r\"\ncentre = \"R\"\nformat = \"csv\"\npath = \"{}\"\n\n\
                 [source.csv]\nseparator = \",\"\n\n[source.columns]\n\
                 time = \"time\"\nstatus = \"status\"\nsex = \"sex\"\nulcer = \"ulcer\"\n",
                repo().join("fixtures/real/melanoma.csv").display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("study.toml"),
            format!(
                "[pipeline]\nname = \"s\"\nschema = \"schema.toml\"\nsources = [\"source.toml\"]\n\n\
                 [endpoints.death]\nlabel = \"Death\"\nunit = \"days\"\n{endpoint}\n\
                 [analysis]\nendpoints = [\"death\"]\n"
            ),
        )
        .unwrap();
        let Err(err) = load(&dir.path().join("study.toml")) else {
            panic!("accepted: {endpoint}");
        };
        let text = err.to_string();
        assert!(text.contains(expect), "{text}");
        assert!(text.contains("endpoints.death.causes"), "{text}");
    }
}

/// A row whose status fits two causes is rejected, named, and counted:
/// nothing is lost and no cause is guessed.
#[test]
fn a_row_that_fits_two_causes_is_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_study(
        dir.path(),
        &repo().join("fixtures/real/melanoma.csv"),
        MELANOMA_SCHEMA,
        "time = \"time\"\nstatus = \"status\"\nsex = \"sex\"\nulcer = \"ulcer\"\n",
        r#"[endpoints.death]
label = "Death"
time = "time"
unit = "days"
causes = { any = "status <> 2", other = "status = 3" }

[analysis]
endpoints = ["death"]
"#,
    );
    let rejects = std::fs::read_to_string(dir.path().join("run/rejects.csv")).unwrap();
    let why = "endpoint death: the conditions of more than one cause hold";
    // 14 patients died of other causes (status 3): both conditions hold
    assert_eq!(rejects.lines().filter(|l| l.contains(why)).count(), 14);
    let ledger = std::fs::read_to_string(dir.path().join("run/ledger.csv")).unwrap();
    assert!(ledger.contains(why), "{ledger}");
    assert_eq!(s.results.arms[0].n, 205 - 14);
}

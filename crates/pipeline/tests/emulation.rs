//! The target trial emulated by clone–censor–weight (`[analysis.emulation]`
//! of mgist-cytoreduction) equals R's recomputation from the raw exports
//! (`conformance/emulation.R`: survSplit, glm, survfit, coxph), value by
//! value at 1e-9 relative: every row's interval, times and weight, the
//! weighted curves, the weighted Cox model with its robust (patient-
//! clustered) variance, the risk and RMST differences. The bootstrap
//! intervals are cohortflow's own (seeded): checked for determinism and
//! sanity only.

use cohortflow_analysis::emulation::{self, Patient, Settings};
use cohortflow_analysis::{ConfTypeName, TiesName};
use cohortflow_pipeline::{load, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/emulation.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines")
}

/// `|ours - R| <= 1e-9 |R|`, or `1e-12` absolute near zero.
fn close(ours: f64, r: &Value, what: &str) {
    let b = r
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: R gives {r}, not a number"));
    assert!(
        (ours - b).abs() <= (1e-9 * b.abs()).max(1e-12),
        "{what}: cohortflow {ours} vs R {b}"
    );
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn settings(r: &Value) -> Settings {
    let s = &r["settings"];
    let t = numbers(&s["truncate"]);
    Settings {
        grace: s["grace"].as_f64().unwrap(),
        interval: s["interval"].as_f64().unwrap(),
        stabilise: s["stabilise"].as_bool().unwrap(),
        truncate: Some([t[0], t[1]]),
        at: numbers(&s["at"]),
        rmst_tau: s["rmst_tau"].as_f64(),
        conf_type: ConfTypeName::Log,
        conf_level: 0.95,
        ties: TiesName::Efron,
    }
}

/// The patients as R read them (time, event, exposure, covariates).
fn patients(e: &Value) -> Vec<Patient> {
    let p = &e["patient"];
    let n = p["time"].as_array().unwrap().len();
    (0..n)
        .map(|i| Patient {
            time: p["time"][i].as_f64().unwrap(),
            event: p["event"][i].as_f64().unwrap() == 1.0,
            exposure: p["exposure"][i].as_f64(),
            covariates: vec![
                p["age"][i].as_f64().unwrap(),
                f64::from(u8::from(p["best_response"][i].as_str().unwrap() == "SD")),
                f64::from(u8::from(p["mets_peritoneum"][i].as_bool().unwrap())),
            ],
        })
        .collect()
}

/// On R's patients: every split row (interval, start, stop, event,
/// artificial censoring, weight), both curves step by step, the Cox model.
#[test]
fn emulation_rows_weights_curves_and_cox_equal_r() {
    let r = reference();
    let s = settings(&r);
    for endpoint in ["pfs", "os"] {
        let e = &r[endpoint];
        let f = emulation::fit(&patients(e), &s).unwrap();
        let d = &f.data;
        let rows = &e["rows"];
        let n = rows["id"].as_array().unwrap().len();
        assert_eq!(d.stop.len(), n, "{endpoint}: rows");
        let ours: BTreeMap<(usize, usize, usize), usize> = (0..n)
            .map(|k| ((d.strategy[k], d.patient[k], d.interval[k]), k))
            .collect();
        assert_eq!(ours.len(), n);
        for j in 0..n {
            let key = (
                rows["arm"][j].as_f64().unwrap() as usize,
                rows["id"][j].as_f64().unwrap() as usize - 1,
                rows["interval"][j].as_f64().unwrap() as usize,
            );
            let k = *ours
                .get(&key)
                .unwrap_or_else(|| panic!("{endpoint}: R row {key:?} missing"));
            let what = format!("{endpoint} row {key:?}");
            close(d.start[k], &rows["tstart"][j], &format!("{what} tstart"));
            close(d.stop[k], &rows["tstop"][j], &format!("{what} tstop"));
            assert_eq!(
                f64::from(u8::from(d.event[k])),
                rows["event"][j].as_f64().unwrap(),
                "{what} event"
            );
            assert_eq!(
                f64::from(u8::from(d.censored[k])),
                rows["censored"][j].as_f64().unwrap(),
                "{what} censored"
            );
            close(d.weight[k], &rows["weight"][j], &format!("{what} weight"));
        }
        let bounds = f.truncated_at.unwrap();
        close(bounds[0], &e["truncated_at"][0], "truncation lower");
        close(bounds[1], &e["truncated_at"][1], "truncation upper");
        assert_eq!(
            f.truncated_rows as u64,
            e["truncated_rows"].as_u64().unwrap()
        );
        for (k, name) in ["exposed", "unexposed"].into_iter().enumerate() {
            let rs = &e[name];
            let steps = f.curves[k].steps();
            let times = numbers(&rs["curve_time"]);
            assert_eq!(steps.len(), times.len(), "{endpoint} {name}: curve rows");
            for (i, st) in steps.iter().enumerate() {
                let what = format!("{endpoint} {name} step {i}");
                close(st.time, &rs["curve_time"][i], &format!("{what} time"));
                close(st.surv, &rs["curve_surv"][i], &format!("{what} surv"));
                // robust fits: R stores the SE of S itself (logse = FALSE)
                close(
                    st.std_err,
                    &rs["curve_std_err"][i],
                    &format!("{what} std.err"),
                );
            }
            assert_eq!(f.clones[k] as u64, rs["clones"].as_u64().unwrap());
            assert_eq!(
                f.artificially_censored[k] as u64,
                rs["artificially_censored"].as_u64().unwrap()
            );
            assert_eq!(
                f.model_rows[k] as u64,
                rs["weight_model_rows"].as_u64().unwrap()
            );
            close(f.curves[k].events(), &rs["events"], "weighted events");
            close(
                f.rmst.unwrap()[k],
                &rs["rmst"],
                &format!("{endpoint} {name} RMST"),
            );
        }
        let cox = emulation::cox(&f.data, &s).unwrap();
        let rc = &e["cox"];
        assert_eq!(cox.rows as u64, rc["rows"].as_u64().unwrap());
        assert_eq!(cox.events as u64, rc["events"].as_u64().unwrap());
        close(cox.coef, &rc["coef"], "Cox coef");
        close(cox.robust_se, &rc["robust_se"], "Cox robust se");
        close(cox.hazard_ratio, &rc["hazard_ratio"], "HR");
        close(cox.lower, &rc["lower"], "HR lower");
        close(cox.upper, &rc["upper"], "HR upper");
        close(cox.p_value, &rc["p_value"], "Cox p");
    }
}

/// The study as declared in TOML, run from the raw exports: results.json's
/// `emulation` equals R's.
#[test]
fn mgist_emulation_in_results_equals_r() {
    let r = reference();
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&loaded, &dir.path().join("run")).unwrap();
    let em = summary.results.emulation.as_ref().expect("declared");
    assert_eq!(Some(em.population_n), r["eligible"].as_u64());
    assert_eq!(em.excluded_missing, 0);
    assert_eq!(em.endpoints.len(), 2);
    for ep in &em.endpoints {
        let e = &r[&ep.name];
        let what = |x: &str| format!("{} {x}", ep.name);
        assert_eq!(Some(ep.patients), e["patients"].as_u64());
        let t = ep.truncated_at.unwrap();
        close(t[0], &e["truncated_at"][0], &what("truncation lower"));
        close(t[1], &e["truncated_at"][1], &what("truncation upper"));
        assert_eq!(Some(ep.truncated_rows), e["truncated_rows"].as_u64());
        for (k, name) in ["exposed", "unexposed"].into_iter().enumerate() {
            let s = &ep.by_strategy[k];
            let rs = &e[name];
            assert_eq!(s.strategy, name);
            assert_eq!(Some(s.clones), rs["clones"].as_u64());
            assert_eq!(
                Some(s.artificially_censored),
                rs["artificially_censored"].as_u64()
            );
            assert_eq!(Some(s.weight_model_rows), rs["weight_model_rows"].as_u64());
            close(s.events, &rs["events"], &what("weighted events"));
            close(s.weight_min, &rs["weight_min"], &what("weight min"));
            close(s.weight_max, &rs["weight_max"], &what("weight max"));
            close(s.weight_mean, &rs["weight_mean"], &what("weight mean"));
            for (i, a) in s.survival_at.iter().enumerate() {
                let w = what(&format!("{name} at {}", a.time));
                close(a.surv, &rs["surv"][i], &format!("{w} surv"));
                close(a.std_err, &rs["std_err"][i], &format!("{w} std.err"));
                close(a.lower.unwrap(), &rs["lower"][i], &format!("{w} lower"));
                close(a.upper.unwrap(), &rs["upper"][i], &format!("{w} upper"));
            }
        }
        for (i, rd) in ep.risk_difference.iter().enumerate() {
            close(
                rd.estimate,
                &e["risk_difference"][i],
                &what("risk difference"),
            );
            close(
                rd.risk_exposed,
                &(1.0 - e["exposed"]["surv"][i].as_f64().unwrap()).into(),
                &what("risk exposed"),
            );
            let (lo, hi) = (rd.lower.unwrap(), rd.upper.unwrap());
            assert!(lo < hi && (-1.0..=1.0).contains(&lo) && (-1.0..=1.0).contains(&hi));
        }
        let rm = ep.rmst.as_ref().unwrap();
        close(rm.exposed, &e["exposed"]["rmst"], &what("RMST exposed"));
        close(
            rm.unexposed,
            &e["unexposed"]["rmst"],
            &what("RMST unexposed"),
        );
        close(
            rm.difference,
            &e["rmst_difference"],
            &what("RMST difference"),
        );
        let (lo, hi) = (rm.lower.unwrap(), rm.upper.unwrap());
        assert!(lo < hi && lo.abs() <= rm.tau && hi.abs() <= rm.tau);
        // at most 5% of the replicates may fail
        assert!(
            ep.bootstrap_failed * 20 <= em.bootstrap,
            "{}",
            ep.bootstrap_failed
        );
        let c = &ep.cox;
        let rc = &e["cox"];
        assert_eq!(Some(c.rows as u64), rc["rows"].as_u64());
        assert_eq!(Some(c.events as u64), rc["events"].as_u64());
        assert_eq!(c.clusters as u64, em.population_n);
        close(c.coef, &rc["coef"], &what("Cox coef"));
        close(c.robust_se, &rc["robust_se"], &what("Cox robust se"));
        close(c.hazard_ratio, &rc["hazard_ratio"], &what("HR"));
        close(c.lower, &rc["lower"], &what("HR lower"));
        close(c.upper, &rc["upper"], &what("HR upper"));
        close(c.p_value, &rc["p_value"], &what("Cox p"));
    }
}

/// The bootstrap is a function of the seed: the same seed gives the same
/// replicates, another seed others; its percentile interval of the OS RMST
/// difference holds the point estimate.
#[test]
fn emulation_bootstrap_is_seeded() {
    let r = reference();
    let s = settings(&r);
    let p = patients(&r["os"]);
    let (a, fa) = emulation::bootstrap(&p, &s, 50, 1);
    let (b, fb) = emulation::bootstrap(&p, &s, 50, 1);
    let (c, _) = emulation::bootstrap(&p, &s, 50, 2);
    assert_eq!((a.clone(), fa), (b, fb));
    assert_ne!(a, c);
    assert_eq!(a.len(), s.at.len() + 1);
    assert!(a.iter().all(|q| q.len() + fa == 50));
    let rmst = a.last().unwrap();
    let estimate = r["os"]["rmst_difference"].as_f64().unwrap();
    let below = rmst.iter().filter(|&&x| x < estimate).count();
    assert!(
        below > 2 && below < rmst.len() - 2,
        "{below} of {}",
        rmst.len()
    );
}

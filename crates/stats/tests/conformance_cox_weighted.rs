//! `cox_ph_weighted` against R's `coxph(..., weights = w, cluster = id)` /
//! `robust = TRUE` and `summary.coxph`, from `conformance/cox_weighted.json`
//! (written by `conformance/cox_weighted.R`). Tolerance: see `common/mod.rs`
//! (1e-9 relative, 1e-12 absolute near zero), for every value, p-values
//! included.

mod common;

use cohortflow_stats::{
    CoxData, CoxFit, CoxOptions, CoxVariance, Test, Ties, cox_ph, cox_ph_weighted,
};
use common::{Checker, bools, f64s, load, num, usizes};
use serde_json::Value;

struct Input {
    start: Option<Vec<f64>>,
    stop: Vec<f64>,
    event: Vec<bool>,
    covariates: Vec<Vec<f64>>,
    strata: Option<Vec<usize>>,
    weights: Option<Vec<f64>>,
    cluster: Option<Vec<usize>>,
}

impl Input {
    fn read(v: &Value) -> Input {
        let opt_f64s = |k: &str| (!v[k].is_null()).then(|| f64s(&v[k]));
        Input {
            start: opt_f64s("start"),
            stop: f64s(&v["stop"]),
            event: bools(&v["event"]),
            covariates: v["covariates"]
                .as_array()
                .unwrap()
                .iter()
                .map(f64s)
                .collect(),
            strata: (!v["strata"].is_null()).then(|| usizes(&v["strata"])),
            weights: opt_f64s("weights"),
            cluster: (!v["cluster"].is_null()).then(|| usizes(&v["cluster"])),
        }
    }

    fn fit(&self, variance: &str, opts: &CoxOptions) -> CoxFit {
        let cols: Vec<&[f64]> = self.covariates.iter().map(|c| c.as_slice()).collect();
        let data = CoxData {
            start: self.start.as_deref(),
            stop: &self.stop,
            event: &self.event,
            covariates: &cols,
            strata: self.strata.as_deref(),
        };
        let v = match variance {
            "Naive" => CoxVariance::Naive,
            "Robust" => CoxVariance::Robust,
            "Cluster" => CoxVariance::Cluster(self.cluster.as_deref().expect("cluster")),
            other => panic!("variance {other}"),
        };
        cox_ph_weighted(&data, self.weights.as_deref(), v, opts).expect("fit")
    }
}

/// The common checker with vector, matrix and test helpers.
struct Ck<'a> {
    ck: &'a mut Checker,
}

impl Ck<'_> {
    fn num(&mut self, ctx: &str, a: f64, e: f64) {
        self.ck.num(ctx, a, Some(e));
    }
    fn vec(&mut self, ctx: &str, ours: &[f64], r: &Value) {
        let r = f64s(r);
        assert_eq!(r.len(), ours.len(), "{ctx}: length");
        for (i, (&a, &e)) in ours.iter().zip(&r).enumerate() {
            self.num(&format!("{ctx}[{i}]"), a, e);
        }
    }
    fn mat(&mut self, ctx: &str, ours: &[Vec<f64>], r: &Value) {
        let rows = r.as_array().unwrap();
        assert_eq!(rows.len(), ours.len(), "{ctx}: rows");
        for (i, row) in ours.iter().enumerate() {
            self.vec(&format!("{ctx}[{i}]"), row, &rows[i]);
        }
    }
    fn test(&mut self, ctx: &str, ours: &Test, r: &Value) {
        self.num(
            &format!("{ctx} statistic"),
            ours.statistic,
            num(&r["statistic"]).unwrap(),
        );
        self.num(&format!("{ctx} df"), ours.df as f64, num(&r["df"]).unwrap());
        self.num(
            &format!("{ctx} p"),
            ours.p_value,
            num(&r["p_value"]).unwrap(),
        );
    }
}

#[test]
fn cox_ph_weighted_matches_r() {
    let doc = load("cox_weighted.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 16,
        "cox_weighted.json has {} cases",
        cases.len()
    );
    let mut checker = Checker::default();
    let mut robust_cases = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = Input::read(&case["input"]);
        let opts = CoxOptions {
            ties: match case["ties"].as_str().unwrap() {
                "Efron" => Ties::Efron,
                "Breslow" => Ties::Breslow,
                t => panic!("{name}: ties {t}"),
            },
            ..CoxOptions::default()
        };
        let variance = case["variance"].as_str().unwrap();
        let fit = input.fit(variance, &opts);
        let mut ck = Ck { ck: &mut checker };
        for (field, ours) in [
            ("n", fit.n as f64),
            ("events", fit.events as f64),
            ("iterations", fit.iterations as f64),
        ] {
            ck.num(&format!("{name} {field}"), ours, num(&case[field]).unwrap());
        }
        ck.vec(&format!("{name} coef"), &fit.coef, &case["coef"]);
        ck.vec(&format!("{name} se"), &fit.se, &case["se"]);
        ck.mat(
            &format!("{name} naive variance"),
            &fit.variance,
            &case["variance_naive"],
        );
        ck.vec(
            &format!("{name} hazard_ratio"),
            &fit.hazard_ratio,
            &case["hazard_ratio"],
        );
        ck.vec(
            &format!("{name} hr_lower"),
            &fit.hr_lower,
            &case["hr_lower"],
        );
        ck.vec(
            &format!("{name} hr_upper"),
            &fit.hr_upper,
            &case["hr_upper"],
        );
        ck.vec(&format!("{name} z"), &fit.z, &case["z"]);
        ck.vec(&format!("{name} p_value"), &fit.p_value, &case["p_value"]);
        ck.num(
            &format!("{name} loglik_null"),
            fit.loglik_null,
            num(&case["loglik_null"]).unwrap(),
        );
        ck.num(
            &format!("{name} loglik"),
            fit.loglik,
            num(&case["loglik"]).unwrap(),
        );
        ck.test(
            &format!("{name} LR"),
            &fit.likelihood_ratio,
            &case["likelihood_ratio"],
        );
        ck.test(&format!("{name} Wald"), &fit.wald, &case["wald"]);
        ck.test(&format!("{name} score"), &fit.score, &case["score"]);
        match (&fit.robust, variance) {
            (None, "Naive") => {
                assert!(case["robust_se"].is_null(), "{name}: R has a robust SE");
            }
            (Some(rb), "Robust" | "Cluster") => {
                robust_cases += 1;
                ck.vec(&format!("{name} robust se"), &rb.se, &case["robust_se"]);
                ck.mat(
                    &format!("{name} robust variance"),
                    &rb.variance,
                    &case["variance_robust"],
                );
                ck.test(
                    &format!("{name} robust score"),
                    &rb.score,
                    &case["robust_score"],
                );
                let expected_clusters = match &input.cluster {
                    Some(c) => {
                        let mut u = c.clone();
                        u.sort_unstable();
                        u.dedup();
                        u.len()
                    }
                    None => input.stop.len(),
                };
                assert_eq!(rb.clusters, expected_clusters, "{name}: clusters");
            }
            (r, v) => panic!("{name}: variance {v} but robust = {}", r.is_some()),
        }
    }
    assert!(
        robust_cases >= 12,
        "only {robust_cases} robust fits compared"
    );
    checker.finish("cox_ph_weighted", 800);
}

/// Without weights and with the naive variance, `cox_ph_weighted` is
/// `cox_ph` bit for bit; a cluster changes only the robust part.
#[test]
fn unweighted_naive_is_cox_ph_bit_for_bit() {
    let doc = load("cox.json");
    let mut compared = 0;
    for case in doc["cases"].as_array().unwrap() {
        let input = Input::read(&case["input"]);
        let opts = CoxOptions {
            ties: if case["ties"] == "Breslow" {
                Ties::Breslow
            } else {
                Ties::Efron
            },
            ..CoxOptions::default()
        };
        let cols: Vec<&[f64]> = input.covariates.iter().map(|c| c.as_slice()).collect();
        let data = CoxData {
            start: input.start.as_deref(),
            stop: &input.stop,
            event: &input.event,
            covariates: &cols,
            strata: input.strata.as_deref(),
        };
        let plain = cox_ph(&data, &opts).unwrap();
        let same = cox_ph_weighted(&data, None, CoxVariance::Naive, &opts).unwrap();
        assert_eq!(plain, same, "{}", case["name"]);
        let robust = cox_ph_weighted(&data, None, CoxVariance::Robust, &opts).unwrap();
        assert_eq!(plain.coef, robust.coef);
        assert_eq!(plain.variance, robust.variance);
        assert_eq!(plain.loglik, robust.loglik);
        assert!(robust.robust.is_some());
        compared += 1;
    }
    assert!(compared >= 29);
}

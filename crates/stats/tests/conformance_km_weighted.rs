//! `kaplan_meier_weighted` against R's `survfit(Surv(time, event) ~ 1,
//! weights = w, robust = ..., id = ...)`, `summary.survfit`,
//! `print.survfit` (median), `quantile.survfit` and `summary(fit, times,
//! extend = TRUE)`, from `conformance/km_weighted.json` (written by
//! `conformance/km_weighted.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{
    ConfType, KaplanMeier, KmOptions, KmVariance, kaplan_meier, kaplan_meier_weighted,
};
use common::{Checker, bools, f64s, load, num, nums, usizes};
use serde_json::Value;

fn fit_case(case: &Value) -> KaplanMeier {
    let input = &case["input"];
    let time = f64s(&input["time"]);
    let event = bools(&input["event"]);
    let weights = f64s(&input["weights"]);
    let cluster = (!input["cluster"].is_null()).then(|| usizes(&input["cluster"]));
    let opts = KmOptions {
        conf_type: match case["conf_type"].as_str().unwrap() {
            "Log" => ConfType::Log,
            "LogLog" => ConfType::LogLog,
            "Plain" => ConfType::Plain,
            other => panic!("conf_type {other}"),
        },
        conf_level: num(&case["conf_level"]).unwrap(),
    };
    let variance = match case["variance"].as_str().unwrap() {
        "Greenwood" => KmVariance::Greenwood,
        "Robust" => KmVariance::Robust,
        "Cluster" => KmVariance::Cluster(cluster.as_deref().expect("cluster")),
        other => panic!("variance {other}"),
    };
    kaplan_meier_weighted(&time, &event, &weights, variance, &opts).expect("fit")
}

#[test]
fn kaplan_meier_weighted_matches_r() {
    let doc = load("km_weighted.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 17,
        "km_weighted.json has {} cases",
        cases.len()
    );
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let fit = fit_case(case);
        ck.num(&format!("{name} n"), fit.n() as f64, num(&case["n"]));
        ck.num(
            &format!("{name} events"),
            fit.events(),
            num(&case["events"]),
        );
        let logse = case["logse"].as_bool().unwrap();
        let s = &case["steps"];
        let rt = f64s(&s["time"]);
        assert_eq!(fit.steps().len(), rt.len(), "{name}: steps");
        let col = |c: &str| nums(&s[c]);
        let (nr, ne, nc, sv) = (col("n_risk"), col("n_event"), col("n_censor"), col("surv"));
        let (se_sum, se_obj, lo, hi) = (
            col("std_err_summary"),
            col("std_err_object"),
            col("lower"),
            col("upper"),
        );
        for (i, st) in fit.steps().iter().enumerate() {
            let ctx = |f: &str| format!("{name} step {i} {f}");
            ck.num(&ctx("time"), st.time, Some(rt[i]));
            ck.num(&ctx("n_risk"), st.n_risk, nr[i]);
            ck.num(&ctx("n_event"), st.n_event, ne[i]);
            ck.num(&ctx("n_censor"), st.n_censor, nc[i]);
            ck.num(&ctx("surv"), st.surv, sv[i]);
            ck.num(&ctx("std_err (summary)"), st.std_err, se_sum[i]);
            // the object's std.err: of log S (Greenwood) or of S (jackknife)
            let obj = if logse { st.std_err_cumhaz } else { st.std_err };
            ck.num(&ctx("std_err (object)"), obj, se_obj[i]);
            ck.limit(&ctx("lower"), st.lower, lo[i]);
            ck.limit(&ctx("upper"), st.upper, hi[i]);
        }
        let m = fit.median();
        let rm = &case["median"];
        ck.opt(&format!("{name} median"), m.estimate, num(&rm["estimate"]));
        ck.opt(&format!("{name} median LCL"), m.lower, num(&rm["lower"]));
        ck.opt(&format!("{name} median UCL"), m.upper, num(&rm["upper"]));
        let q = &case["quantiles"];
        let (qp, qe, ql, qu) = (
            f64s(&q["p"]),
            nums(&q["estimate"]),
            nums(&q["lower"]),
            nums(&q["upper"]),
        );
        for (i, &p) in qp.iter().enumerate() {
            let est = fit.quantile(p);
            ck.opt(&format!("{name} quantile({p})"), est.estimate, qe[i]);
            ck.opt(&format!("{name} quantile({p}) lower"), est.lower, ql[i]);
            ck.opt(&format!("{name} quantile({p}) upper"), est.upper, qu[i]);
        }
        let sa = &case["survival_at"];
        let at = f64s(&sa["time"]);
        let (s_surv, s_se, s_lo, s_hi, s_nr) = (
            nums(&sa["surv"]),
            nums(&sa["std_err"]),
            nums(&sa["lower"]),
            nums(&sa["upper"]),
            nums(&sa["n_risk"]),
        );
        for (i, &t) in at.iter().enumerate() {
            let v = fit.survival_at(t);
            let ctx = |f: &str| format!("{name} survival_at({t}) {f}");
            ck.num(&ctx("surv"), v.surv, s_surv[i]);
            ck.num(&ctx("std_err"), v.std_err, s_se[i]);
            ck.limit(&ctx("lower"), v.lower, s_lo[i]);
            ck.limit(&ctx("upper"), v.upper, s_hi[i]);
            ck.num(&ctx("n_risk"), v.n_risk, s_nr[i]);
        }
    }
    ck.finish("kaplan_meier_weighted", 5000);
}

/// With unit weights and Greenwood's variance the weighted curve is the
/// unweighted one.
#[test]
fn unit_weights_greenwood_equal_kaplan_meier() {
    let doc = load("km_weighted.json");
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gbsg_unit_weights_greenwood")
        .expect("case");
    let time = f64s(&case["input"]["time"]);
    let event = bools(&case["input"]["event"]);
    let ones = vec![1.0; time.len()];
    let opts = KmOptions::default();
    let w = kaplan_meier_weighted(&time, &event, &ones, KmVariance::Greenwood, &opts).unwrap();
    let u = kaplan_meier(&time, &event, &opts).unwrap();
    assert_eq!(w.steps(), u.steps());
    assert_eq!(w.events(), u.events());
}

//! `kaplan_meier` against R's survfit / summary.survfit / quantile.survfit /
//! print.survfit, from `conformance/km.json` (written by `conformance/km.R`).
//! Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{ConfType, KaplanMeier, KmOptions, kaplan_meier, kaplan_meier_by_group};
use common::{Checker, bools, f64s, load, num, nums, usizes};
use serde_json::Value;

fn conf_type(s: &str) -> ConfType {
    match s {
        "Log" => ConfType::Log,
        "LogLog" => ConfType::LogLog,
        "Plain" => ConfType::Plain,
        other => panic!("unknown conf type {other}"),
    }
}

#[test]
fn kaplan_meier_matches_r() {
    let doc = load("km.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 60, "km.json has {} cases", cases.len());
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let time = f64s(&case["input"]["time"]);
        let event = bools(&case["input"]["event"]);
        let opts = KmOptions {
            conf_type: conf_type(case["conf_type"].as_str().unwrap()),
            conf_level: num(&case["conf_level"]).unwrap(),
        };
        let fit = kaplan_meier(&time, &event, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_curve(&mut ck, name, &fit, case);
    }
    ck.finish("kaplan_meier vs R", 10_000);
}

/// Compare one fitted curve with R's values for it (`case` holds `n`,
/// `events`, `steps`, `median`, `quantiles`, `survival_at`).
fn check_curve(ck: &mut Checker, name: &str, fit: &KaplanMeier, case: &Value) {
    ck.num(&format!("{name} n"), fit.n() as f64, num(&case["n"]));
    ck.num(
        &format!("{name} events"),
        fit.events(),
        num(&case["events"]),
    );

    let s = &case["steps"];
    let rt = nums(&s["time"]);
    if fit.steps().len() != rt.len() {
        ck.failures.push(format!(
            "{name}: {} steps, R has {}",
            fit.steps().len(),
            rt.len()
        ));
        return;
    }
    let cols = [
        "n_risk",
        "n_event",
        "n_censor",
        "surv",
        "std_err",
        "std_err_cumhaz",
    ];
    let r: Vec<Vec<Option<f64>>> = cols.iter().map(|c| nums(&s[*c])).collect();
    let rl = nums(&s["lower"]);
    let ru = nums(&s["upper"]);
    for (i, st) in fit.steps().iter().enumerate() {
        let ctx = |f: &str| format!("{name} step {i} {f}");
        ck.num(&ctx("time"), st.time, rt[i]);
        let ours = [
            st.n_risk,
            st.n_event,
            st.n_censor,
            st.surv,
            st.std_err,
            st.std_err_cumhaz,
        ];
        for (c, (&a, e)) in cols.iter().zip(ours.iter().zip(&r)) {
            ck.num(&ctx(c), a, e[i]);
        }
        ck.limit(&ctx("lower"), st.lower, rl[i]);
        ck.limit(&ctx("upper"), st.upper, ru[i]);
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
    let beyond = bools(&sa["beyond_last_time"]);
    for (i, &t) in at.iter().enumerate() {
        let v = fit.survival_at(t);
        let ctx = |f: &str| format!("{name} survival_at({t}) {f}");
        ck.num(&ctx("surv"), v.surv, s_surv[i]);
        ck.num(&ctx("std_err"), v.std_err, s_se[i]);
        ck.limit(&ctx("lower"), v.lower, s_lo[i]);
        ck.limit(&ctx("upper"), v.upper, s_hi[i]);
        ck.num(&ctx("n_risk"), v.n_risk, s_nr[i]);
        ck.num(
            &ctx("beyond_last_time"),
            f64::from(u8::from(v.beyond_last_time)),
            Some(f64::from(u8::from(beyond[i]))),
        );
    }
}

#[test]
fn kaplan_meier_by_group_matches_r() {
    let doc = load("km.json");
    let cases = doc["group_cases"].as_array().expect("group_cases");
    assert!(cases.len() >= 4, "km.json has {} group cases", cases.len());
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let time = f64s(&case["input"]["time"]);
        let event = bools(&case["input"]["event"]);
        let group = usizes(&case["input"]["group"]);
        let opts = KmOptions {
            conf_type: conf_type(case["conf_type"].as_str().unwrap()),
            conf_level: num(&case["conf_level"]).unwrap(),
        };
        let fits = kaplan_meier_by_group(&time, &event, &group, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let curves = case["curves"].as_array().unwrap();
        assert_eq!(fits.len(), curves.len(), "{name}: number of curves");
        for (g, (fit, curve)) in fits.iter().zip(curves).enumerate() {
            check_curve(&mut ck, &format!("{name} group {g}"), fit, curve);
        }
    }
    ck.finish("kaplan_meier_by_group vs R", 5_000);
}

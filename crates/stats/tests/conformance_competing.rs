//! `cumulative_incidence_by_group` against R's multi-state `survfit`
//! (Aalen–Johansen, infinitesimal-jackknife standard errors, pointwise
//! limits, `summary(fit, times =, extend = TRUE)`) and `gray_test` against
//! `cmprsk::cuminc(...)$Tests`, from `conformance/competing.json` (written by
//! `conformance/competing.R` on mgus2, Melanoma and hand-made edge cases).
//! Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{
    ConfType, CumulativeIncidence, KmOptions, cumulative_incidence, cumulative_incidence_by_group,
    gray_test,
};
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

/// The columns of a JSON list of arrays (one array per state or cause).
fn columns(v: &Value) -> Vec<Vec<Option<f64>>> {
    v.as_array()
        .expect("array of columns")
        .iter()
        .map(nums)
        .collect()
}

#[test]
fn aalen_johansen_and_gray_match_r() {
    let doc = load("competing.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 14,
        "competing.json has {} cases",
        cases.len()
    );
    let mut ck = Checker::default();
    let mut gray_checked = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let time = f64s(&case["input"]["time"]);
        let cause = usizes(&case["input"]["cause"]);
        let group = usizes(&case["input"]["group"]);
        let n_causes = num(&case["n_causes"]).unwrap() as usize;
        let opts = KmOptions {
            conf_type: conf_type(case["conf_type"].as_str().unwrap()),
            conf_level: num(&case["conf_level"]).unwrap(),
        };
        let fits = cumulative_incidence_by_group(&time, &cause, n_causes, &group, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let curves = case["curves"].as_array().unwrap();
        assert_eq!(fits.len(), curves.len(), "{name}: number of curves");
        for (g, (fit, curve)) in fits.iter().zip(curves).enumerate() {
            check_curve(&mut ck, &format!("{name} group {g}"), fit, curve);
        }
        if fits.len() == 1 {
            // the one-group function is the grouped one with one group
            let one = cumulative_incidence(&time, &cause, n_causes, &opts).unwrap();
            check_curve(&mut ck, &format!("{name} ungrouped"), &one, &curves[0]);
        }
        if let Some(tests) = case["gray"].as_array() {
            for t in tests {
                let target = num(&t["cause"]).unwrap() as usize;
                let ctx = format!("{name} gray cause {target}");
                let got = gray_test(&time, &cause, &group, target, 0.0)
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                ck.num(
                    &format!("{ctx} statistic"),
                    got.statistic,
                    num(&t["statistic"]),
                );
                ck.num(&format!("{ctx} p"), got.p_value, num(&t["p_value"]));
                ck.num(&format!("{ctx} df"), got.df as f64, num(&t["df"]));
                gray_checked += 1;
            }
        }
    }
    assert!(
        gray_checked >= 20,
        "only {gray_checked} Gray tests compared"
    );
    ck.finish("cumulative incidence and Gray's test vs R", 30_000);
}

fn check_curve(ck: &mut Checker, name: &str, fit: &CumulativeIncidence, curve: &Value) {
    ck.num(&format!("{name} n"), fit.n() as f64, num(&curve["n"]));
    let s = &curve["steps"];
    let rt = nums(&s["time"]);
    if fit.steps().len() != rt.len() {
        ck.failures.push(format!(
            "{name}: {} steps, R has {}",
            fit.steps().len(),
            rt.len()
        ));
        return;
    }
    let n_risk = nums(&s["n_risk"]);
    let n_censor = nums(&s["n_censor"]);
    let n_event = columns(&s["n_event"]);
    let pstate = columns(&s["pstate"]);
    let std_err = columns(&s["std_err"]);
    let lower = columns(&s["lower"]);
    let upper = columns(&s["upper"]);
    assert_eq!(pstate.len(), fit.n_causes() + 1, "{name}: states");
    for (i, step) in fit.steps().iter().enumerate() {
        let ctx = format!("{name} step {i}");
        ck.num(&format!("{ctx} time"), step.time, rt[i]);
        ck.num(&format!("{ctx} n_risk"), step.n_risk, n_risk[i]);
        ck.num(&format!("{ctx} n_censor"), step.n_censor, n_censor[i]);
        for (c, col) in n_event.iter().enumerate() {
            ck.num(&format!("{ctx} n_event[{c}]"), step.n_event[c], col[i]);
        }
        for j in 0..pstate.len() {
            ck.num(&format!("{ctx} pstate[{j}]"), step.pstate[j], pstate[j][i]);
            ck.num(
                &format!("{ctx} std_err[{j}]"),
                step.std_err[j],
                std_err[j][i],
            );
            ck.limit(&format!("{ctx} lower[{j}]"), step.lower[j], lower[j][i]);
            ck.limit(&format!("{ctx} upper[{j}]"), step.upper[j], upper[j][i]);
        }
    }
    let a = &curve["at"];
    let times = f64s(&a["time"]);
    let n_risk = nums(&a["n_risk"]);
    let pstate = columns(&a["pstate"]);
    let std_err = columns(&a["std_err"]);
    let lower = columns(&a["lower"]);
    let upper = columns(&a["upper"]);
    let beyond = bools(&a["beyond_last_time"]);
    for (i, &t) in times.iter().enumerate() {
        let at = fit.at(t);
        let ctx = format!("{name} at {t}");
        ck.num(&format!("{ctx} n_risk"), at.n_risk, n_risk[i]);
        if at.beyond_last_time != beyond[i] {
            ck.failures.push(format!("{ctx}: beyond_last_time differs"));
        }
        for j in 0..pstate.len() {
            ck.num(&format!("{ctx} pstate[{j}]"), at.pstate[j], pstate[j][i]);
            ck.num(&format!("{ctx} std_err[{j}]"), at.std_err[j], std_err[j][i]);
            ck.limit(&format!("{ctx} lower[{j}]"), at.lower[j], lower[j][i]);
            ck.limit(&format!("{ctx} upper[{j}]"), at.upper[j], upper[j][i]);
        }
    }
}

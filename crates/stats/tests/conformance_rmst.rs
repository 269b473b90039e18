//! `rmst` against R's `summary(survfit(...), rmean = tau)$table` (the
//! `*rmean` and `*se(rmean)` of `print(fit, rmean = tau)`), from
//! `conformance/rmst.json` (written by `conformance/rmst.R`). Where R stops
//! (a horizon before the first time; JSON `null`) `rmst` must return an
//! error. Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{KmOptions, StatsError, kaplan_meier, rmst};
use common::{Checker, bools, f64s, load, nums};

#[test]
fn rmst_matches_r() {
    let doc = load("rmst.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15, "rmst.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let mut refused = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let time = f64s(&case["input"]["time"]);
        let event = bools(&case["input"]["event"]);
        let km = kaplan_meier(&time, &event, &KmOptions::default()).unwrap();
        let taus = f64s(&case["tau"]);
        let (est, se) = (nums(&case["rmean"]), nums(&case["se_rmean"]));
        for (i, &tau) in taus.iter().enumerate() {
            match (rmst(&km, tau), est[i]) {
                (Ok(r), Some(_)) => {
                    ck.num(&format!("{name} rmst({tau})"), r.estimate, est[i]);
                    ck.num(&format!("{name} se({tau})"), r.se, se[i]);
                }
                (Err(StatsError::InvalidParameter { name: "tau", .. }), None) => {
                    refused += 1;
                    ck.compared += 1;
                }
                (got, _) => ck
                    .failures
                    .push(format!("{name} tau {tau}: ours {got:?}, R {:?}", est[i])),
            }
        }
    }
    assert!(refused >= 5, "only {refused} horizons refused by R");
    ck.finish("rmst vs R", 250);
}

#[test]
fn rmst_rejects_non_finite_tau() {
    let km = kaplan_meier(&[1.0, 2.0], &[true, false], &KmOptions::default()).unwrap();
    for tau in [f64::NAN, f64::INFINITY, -1.0, 0.5] {
        assert!(matches!(
            rmst(&km, tau),
            Err(StatsError::InvalidParameter { name: "tau", .. })
        ));
    }
    assert_eq!(rmst(&km, 1.0).unwrap().estimate, 1.0);
}

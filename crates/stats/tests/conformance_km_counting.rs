//! `kaplan_meier_weighted_counting` against R's
//! `survfit(Surv(start, stop, event) ~ 1, weights = w, id = id, robust = TRUE)`
//! (every row of the curve: time, weighted numbers at risk, events and
//! censorings, survival, standard error, limits) and
//! `summary(fit, times, extend = TRUE)`, from `conformance/km_counting.json`
//! (written by `conformance/km_counting.R`): late entry, a gap in a
//! subject's follow-up, ties, a zero weight, weights changing within a
//! subject. Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{ConfType, KmOptions, kaplan_meier_weighted_counting};
use common::{Checker, bools, f64s, load, nums, usizes};

#[test]
fn kaplan_meier_weighted_counting_matches_r() {
    let doc = load("km_counting.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let opts = KmOptions {
            conf_type: match case["conf_type"].as_str().unwrap() {
                "log" => ConfType::Log,
                "log-log" => ConfType::LogLog,
                "plain" => ConfType::Plain,
                other => panic!("conf_type {other}"),
            },
            conf_level: 0.95,
        };
        let fit = kaplan_meier_weighted_counting(
            &f64s(&case["start"]),
            &f64s(&case["stop"]),
            &bools(&case["event"]),
            &f64s(&case["weight"]),
            &usizes(&case["id"]),
            &opts,
        )
        .expect("fit");
        let steps = fit.steps();
        let time = f64s(&case["time"]);
        assert_eq!(steps.len(), time.len(), "{name}: rows of the curve");
        for (field, values) in [
            ("time", steps.iter().map(|s| s.time).collect::<Vec<_>>()),
            ("n_risk", steps.iter().map(|s| s.n_risk).collect()),
            ("n_event", steps.iter().map(|s| s.n_event).collect()),
            ("n_censor", steps.iter().map(|s| s.n_censor).collect()),
            ("surv", steps.iter().map(|s| s.surv).collect()),
            ("std_err", steps.iter().map(|s| s.std_err).collect()),
        ] {
            for (i, (v, r)) in values.iter().zip(nums(&case[field])).enumerate() {
                ck.num(&format!("{name} {field}[{i}]"), *v, r);
            }
        }
        for (i, (s, (lo, hi))) in steps
            .iter()
            .zip(nums(&case["lower"]).into_iter().zip(nums(&case["upper"])))
            .enumerate()
        {
            ck.limit(&format!("{name} lower[{i}]"), s.lower, lo);
            ck.limit(&format!("{name} upper[{i}]"), s.upper, hi);
        }
        let at = f64s(&case["at"]);
        for (i, t) in at.iter().enumerate() {
            let a = fit.survival_at(*t);
            let what = format!("{name} at {t}");
            ck.num(&format!("{what} surv"), a.surv, nums(&case["at_surv"])[i]);
            ck.num(
                &format!("{what} std.err"),
                a.std_err,
                nums(&case["at_std_err"])[i],
            );
            ck.limit(
                &format!("{what} lower"),
                a.lower,
                nums(&case["at_lower"])[i],
            );
            ck.limit(
                &format!("{what} upper"),
                a.upper,
                nums(&case["at_upper"])[i],
            );
        }
    }
    ck.finish("kaplan_meier_weighted_counting", 400);
}

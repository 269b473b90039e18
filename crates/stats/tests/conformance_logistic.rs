//! `logistic_regression` against R's `glm(family = binomial)` and
//! `summary.glm`, from `conformance/logistic.json` (written by
//! `conformance/logistic.R`). Tolerance: see `common/mod.rs`.
//!
//! Cases where R only warns (separation, non-convergence) or reports an `NA`
//! coefficient (a collinear or constant column) must give an error here whose
//! message names the problem (and the column).

mod common;

use cohortflow_stats::{GlmOptions, StatsError, logistic_regression};
use common::{Checker, bools, f64s, load, num};
use serde_json::Value;

fn inputs(case: &Value) -> (Vec<bool>, Vec<Vec<f64>>, GlmOptions) {
    let y = bools(&case["input"]["y"]);
    // serde_json's map is sorted by key: take the columns in R's order
    let cols: Vec<Vec<f64>> = case["column_names"]
        .as_array()
        .expect("column_names")
        .iter()
        .map(|n| f64s(&case["input"]["columns"][n.as_str().unwrap()]))
        .collect();
    let opts = GlmOptions {
        maxit: num(&case["input"]["maxit"]).unwrap() as usize,
        ..GlmOptions::default()
    };
    (y, cols, opts)
}

#[test]
fn logistic_regression_matches_r() {
    let doc = load("logistic.json");
    let cases = doc["cases"].as_array().expect("cases");
    let mut ck = Checker::default();
    let mut fitted_cases = 0;
    for case in cases.iter().filter(|c| c["expect_error"].is_null()) {
        let name = case["name"].as_str().unwrap();
        let (y, cols, opts) = inputs(case);
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let fit = logistic_regression(&y, &refs, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = &case["fit"];
        for (field, ours) in [
            ("coef", &fit.coef),
            ("se", &fit.se),
            ("z", &fit.z),
            ("p_value", &fit.p_value),
            ("fitted", &fit.fitted),
            ("linear_predictor", &fit.linear_predictor),
        ] {
            let theirs = f64s(&r[field]);
            assert_eq!(ours.len(), theirs.len(), "{name} {field}: length");
            for (i, (&a, &e)) in ours.iter().zip(&theirs).enumerate() {
                ck.num(&format!("{name} {field}[{i}]"), a, Some(e));
            }
        }
        ck.num(
            &format!("{name} deviance"),
            fit.deviance,
            num(&r["deviance"]),
        );
        ck.num(
            &format!("{name} null_deviance"),
            fit.null_deviance,
            num(&r["null_deviance"]),
        );
        ck.num(&format!("{name} aic"), fit.aic, num(&r["aic"]));
        ck.num(
            &format!("{name} iterations"),
            fit.iterations as f64,
            num(&r["iterations"]),
        );
        fitted_cases += 1;
    }
    assert!(fitted_cases >= 10, "only {fitted_cases} fitted cases");
    ck.finish("logistic_regression vs R", 7_500);
}

#[test]
fn logistic_regression_errors_where_r_warns() {
    let doc = load("logistic.json");
    let cases = doc["cases"].as_array().expect("cases");
    let mut seen = 0;
    for case in cases.iter().filter(|c| !c["expect_error"].is_null()) {
        let name = case["name"].as_str().unwrap();
        let expected = case["expect_error"].as_str().unwrap();
        let (y, cols, opts) = inputs(case);
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let err = logistic_regression(&y, &refs, &opts)
            .expect_err(&format!("{name}: R warned {}", case["r_warnings"]));
        let StatsError::Degenerate { reason, .. } = &err else {
            panic!("{name}: unexpected error kind {err:?}");
        };
        assert!(
            reason.contains(expected),
            "{name}: message {reason:?} does not say {expected:?}"
        );
        // an NA coefficient in R: our message names the same column
        for idx in case["r_na_coefficients"].as_array().unwrap() {
            let idx = idx.as_u64().unwrap();
            assert!(
                reason.contains(&format!("column {idx}"))
                    || reason.contains(&format!("column(s) {idx}")),
                "{name}: message {reason:?} does not name column {idx}"
            );
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} error cases");
}

#[test]
fn logistic_regression_rejects_bad_input() {
    let o = GlmOptions::default();
    assert!(matches!(
        logistic_regression(&[], &[], &o),
        Err(StatsError::EmptyInput { .. })
    ));
    let x = [1.0, 2.0, 3.0];
    assert!(matches!(
        logistic_regression(&[true, false], &[&x], &o),
        Err(StatsError::LengthMismatch { .. })
    ));
    let bad = [1.0, f64::NAN, 3.0];
    assert!(matches!(
        logistic_regression(&[true, false, true], &[&bad], &o),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        logistic_regression(&[true, true, true], &[&x], &o),
        Err(StatsError::Degenerate { .. })
    ));
    for (epsilon, maxit) in [(0.0, 25), (f64::NAN, 25), (1e-8, 0)] {
        assert!(matches!(
            logistic_regression(&[true, false, true], &[&x], &GlmOptions { epsilon, maxit }),
            Err(StatsError::InvalidParameter { .. })
        ));
    }
}

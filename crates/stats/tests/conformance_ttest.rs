//! `welch_t_test` against R's t.test, from `conformance/ttest.json` (written
//! by `conformance/ttest.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::welch_t_test;
use common::{Checker, f64s, load, num};

#[test]
fn welch_t_test_matches_r() {
    let doc = load("ttest.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10, "ttest.json has {} cases", cases.len());
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let x = f64s(&case["x"]);
        let y = f64s(&case["y"]);
        let level = num(&case["conf_level"]).unwrap();
        let r = welch_t_test(&x, &y, level).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (field, ours) in [
            ("t", r.t),
            ("df", r.df),
            ("p_value", r.p_value),
            ("mean_x", r.mean_x),
            ("mean_y", r.mean_y),
            ("std_err", r.std_err),
            ("conf_low", r.conf_low),
            ("conf_high", r.conf_high),
        ] {
            ck.num(&format!("{name} {field}"), ours, num(&case[field]));
        }
    }
    ck.finish("welch_t_test vs R", 80);
}

#[test]
fn welch_t_test_errors_and_symmetry() {
    use cohortflow_stats::StatsError;
    assert!(matches!(
        welch_t_test(&[1.0], &[1.0, 2.0], 0.95),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        welch_t_test(&[1.0, f64::INFINITY], &[1.0, 2.0], 0.95),
        Err(StatsError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        welch_t_test(&[3.0, 3.0], &[3.0, 3.0, 3.0], 0.95),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        welch_t_test(&[1.0, 2.0], &[1.0, 3.0], 1.0),
        Err(StatsError::InvalidParameter { .. })
    ));
    let x = [5.1, 4.9, 6.2, 5.8, 6.0];
    let y = [4.1, 3.9, 5.0, 4.4];
    let a = welch_t_test(&x, &y, 0.95).unwrap();
    let b = welch_t_test(&y, &x, 0.95).unwrap();
    assert!((a.t + b.t).abs() < 1e-12 && (a.p_value - b.p_value).abs() < 1e-15);
    assert!((a.conf_low + b.conf_high).abs() < 1e-12);
}

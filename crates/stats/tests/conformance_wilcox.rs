//! `wilcoxon_rank_sum` against R's wilcox.test, from `conformance/wilcox.json`
//! (written by `conformance/wilcox.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::wilcoxon_rank_sum;
use common::{Checker, f64s, load, num};

#[test]
fn wilcoxon_rank_sum_matches_r() {
    let doc = load("wilcox.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 12, "wilcox.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let mut exact_cases = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let x = f64s(&case["x"]);
        let y = f64s(&case["y"]);
        let r = wilcoxon_rank_sum(&x, &y).unwrap_or_else(|e| panic!("{name}: {e}"));
        ck.num(&format!("{name} W"), r.w, num(&case["w"]));
        ck.num(&format!("{name} p"), r.p_value, num(&case["p_value"]));
        let exact = case["exact"].as_bool().unwrap();
        if r.exact != exact {
            ck.failures
                .push(format!("{name}: exact = {}, R {}", r.exact, exact));
        }
        exact_cases += usize::from(exact);
    }
    assert!(exact_cases >= 4, "only {exact_cases} exact cases");
    ck.finish("wilcoxon_rank_sum vs R", 24);
}

#[test]
fn wilcoxon_rank_sum_errors_and_symmetry() {
    use cohortflow_stats::StatsError;
    assert!(matches!(
        wilcoxon_rank_sum(&[], &[1.0]),
        Err(StatsError::EmptyInput { .. })
    ));
    assert!(matches!(
        wilcoxon_rank_sum(&[1.0, f64::NAN], &[1.0]),
        Err(StatsError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        wilcoxon_rank_sum(&[2.0; 60], &[2.0; 3]),
        Err(StatsError::Degenerate { .. })
    ));
    // swapping the samples gives W' = n_x n_y - W and the same p-value
    let x = [1.2, 3.4, 0.5, 7.7, 2.2, 9.1];
    let y = [4.4, 5.5, 6.1, 8.0, 0.1];
    let a = wilcoxon_rank_sum(&x, &y).unwrap();
    let b = wilcoxon_rank_sum(&y, &x).unwrap();
    assert_eq!(a.w + b.w, 30.0);
    assert!((a.p_value - b.p_value).abs() < 1e-15);
}

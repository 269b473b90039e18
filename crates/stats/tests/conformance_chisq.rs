//! `chi_square_test` against R's chisq.test, from `conformance/chisq.json`
//! (written by `conformance/chisq.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::chi_square_test;
use common::{Checker, f64s, load, num, usizes};

#[test]
fn chi_square_test_matches_r() {
    let doc = load("chisq.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 12, "chisq.json has {} cases", cases.len());
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let table: Vec<Vec<u64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| usizes(r).into_iter().map(|v| v as u64).collect())
            .collect();
        let correct = case["correct"].as_bool().unwrap();
        let res = chi_square_test(&table, correct).unwrap_or_else(|e| panic!("{name}: {e}"));
        ck.num(
            &format!("{name} statistic"),
            res.statistic,
            num(&case["statistic"]),
        );
        ck.num(&format!("{name} df"), res.df as f64, num(&case["df"]));
        ck.num(&format!("{name} p"), res.p_value, num(&case["p_value"]));
        let yates = case["yates"].as_bool().unwrap();
        ck.num(
            &format!("{name} yates"),
            f64::from(u8::from(res.yates)),
            Some(f64::from(u8::from(yates))),
        );
        for (i, row) in case["expected"].as_array().unwrap().iter().enumerate() {
            for (j, e) in f64s(row).into_iter().enumerate() {
                ck.num(&format!("{name} E[{i}][{j}]"), res.expected[i][j], Some(e));
            }
        }
    }
    ck.finish("chi_square_test vs R", 100);
}

//! The Table 1 arithmetic (`summarize_continuous`, `compare_continuous`,
//! `compare_categorical`, `min_expected_count`, `sample_sd`) against R, from
//! `conformance/table1.json` (written by `conformance/table1.R`): per-arm
//! mean, sd, type-7 quartiles, min and max; `wilcox.test` and `t.test`
//! between two arms; and the test choice (Fisher when an expected count is
//! under 5, else chi-square with Yates for 2 x 2) with its p-value, on the
//! real data sets. Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::{
    ContinuousComparison, Table1Test, compare_categorical, compare_continuous, min_expected_count,
    sample_sd, summarize_continuous,
};
use common::{Checker, f64s, load, num, usizes};
use serde_json::Value;

fn check_summary(ck: &mut Checker, ctx: &str, arm: &Value) -> Vec<f64> {
    let x = f64s(&arm["values"]);
    let s = summarize_continuous(&x).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    ck.num(&format!("{ctx} n"), s.n as f64, num(&arm["n"]));
    ck.opt(&format!("{ctx} mean"), s.mean, num(&arm["mean"]));
    ck.opt(&format!("{ctx} sd"), s.sd, num(&arm["sd"]));
    ck.opt(&format!("{ctx} sample_sd"), sample_sd(&x), num(&arm["sd"]));
    ck.opt(&format!("{ctx} q1"), s.q1, num(&arm["q1"]));
    ck.opt(&format!("{ctx} median"), s.median, num(&arm["median"]));
    ck.opt(&format!("{ctx} q3"), s.q3, num(&arm["q3"]));
    ck.opt(&format!("{ctx} min"), s.min, num(&arm["min"]));
    ck.opt(&format!("{ctx} max"), s.max, num(&arm["max"]));
    x
}

#[test]
fn continuous_summaries_and_tests_match_r() {
    let doc = load("table1.json");
    let cases = doc["continuous"].as_array().expect("continuous");
    assert!(cases.len() >= 10, "table1.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let mut exact_seen = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let x = check_summary(&mut ck, &format!("{name} x"), &case["x"]);
        let y = check_summary(&mut ck, &format!("{name} y"), &case["y"]);
        let w = compare_continuous(&x, &y, ContinuousComparison::Wilcoxon)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let exact = case["wilcox_exact"].as_bool().unwrap();
        exact_seen += usize::from(exact);
        let expected_test = if exact {
            Table1Test::WilcoxonExact
        } else {
            Table1Test::WilcoxonNormal
        };
        assert_eq!(w.test, expected_test, "{name}: Wilcoxon exact or normal");
        ck.num(
            &format!("{name} wilcox p"),
            w.p_value,
            num(&case["wilcox_p"]),
        );
        let t = compare_continuous(&x, &y, ContinuousComparison::Welch)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.test, Table1Test::WelchT);
        ck.num(&format!("{name} welch p"), t.p_value, num(&case["welch_p"]));
    }
    assert!(exact_seen >= 1, "no exact Wilcoxon case");
    ck.finish("Table 1 continuous vs R", 200);
}

#[test]
fn categorical_test_choice_matches_r() {
    let doc = load("table1.json");
    let cases = doc["categorical"].as_array().expect("categorical");
    assert!(cases.len() >= 10, "table1.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let (mut fisher, mut chisq) = (0, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let table: Vec<Vec<u64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| usizes(r).into_iter().map(|v| v as u64).collect())
            .collect();
        ck.num(
            &format!("{name} min expected"),
            min_expected_count(&table),
            num(&case["min_expected"]),
        );
        let got = compare_categorical(&table, None)
            .unwrap_or_else(|| panic!("{name}: no test"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let yates = case["yates"].as_bool().unwrap();
        let expected_test = match case["test"].as_str().unwrap() {
            "fisher" => {
                fisher += 1;
                Table1Test::FisherExact
            }
            "chisq" => {
                chisq += 1;
                Table1Test::ChiSquare { yates }
            }
            other => panic!("{name}: unknown test {other}"),
        };
        assert_eq!(got.test, expected_test, "{name}: test chosen");
        ck.num(&format!("{name} p"), got.p_value, num(&case["p_value"]));
    }
    assert!(fisher >= 2 && chisq >= 2, "fisher {fisher}, chisq {chisq}");
    ck.finish("Table 1 categorical vs R", 20);
}

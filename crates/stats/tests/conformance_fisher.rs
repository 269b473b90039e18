//! `fisher_exact` against R's fisher.test, from `conformance/fisher.json`
//! (written by `conformance/fisher.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::fisher_exact;
use common::{Checker, load, num, usizes};

/// Every case of `fisher.json`, lung's 18 x 2 and 2 x 18 institution by sex
/// tables included (about 3 s each in a debug build, 0.7 s in release).
#[test]
fn fisher_exact_matches_r() {
    let doc = load("fisher.json");
    let cases = doc["cases"].as_array().expect("cases");
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let table: Vec<Vec<u64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| usizes(r).into_iter().map(|v| v as u64).collect())
            .collect();
        let res = fisher_exact(&table).unwrap_or_else(|e| panic!("{name}: {e}"));
        ck.num(&format!("{name} p"), res.p_value, num(&case["p_value"]));
    }
    ck.finish("fisher_exact vs R", 23);
}

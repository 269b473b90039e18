//! `log_rank` against R's survdiff, from `conformance/logrank.json` (written
//! by `conformance/logrank.R`). Tolerance: see `common/mod.rs`.

mod common;

use cohortflow_stats::log_rank;
use common::{Checker, bools, f64s, load, num, usizes};

#[test]
fn log_rank_matches_r() {
    let doc = load("logrank.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "logrank.json has {} cases", cases.len());
    let mut ck = Checker::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let time = f64s(&input["time"]);
        let event = bools(&input["event"]);
        let group = usizes(&input["group"]);
        let strata = if input["strata"].is_null() {
            None
        } else {
            Some(usizes(&input["strata"]))
        };
        let rho = num(&case["rho"]).unwrap();
        let lr = log_rank(&time, &event, &group, strata.as_deref(), rho)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let rn = usizes(&case["n"]);
        if lr.n != rn {
            ck.failures
                .push(format!("{name}: n {:?}, R {:?}", lr.n, rn));
        }
        for (field, ours) in [
            ("observed", &lr.observed),
            ("expected", &lr.expected),
            ("variance", &lr.variance),
        ] {
            let r = f64s(&case[field]);
            if r.len() != ours.len() {
                ck.failures.push(format!("{name}: {field} length"));
                continue;
            }
            for (i, (&a, &e)) in ours.iter().zip(&r).enumerate() {
                ck.num(&format!("{name} {field}[{i}]"), a, Some(e));
            }
        }
        ck.num(&format!("{name} chisq"), lr.chisq, num(&case["chisq"]));
        ck.num(&format!("{name} df"), lr.df as f64, num(&case["df"]));
        ck.num(&format!("{name} p"), lr.p_value, num(&case["p_value"]));
    }
    ck.finish("log_rank vs R", 300);
}

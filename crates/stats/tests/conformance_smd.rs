//! `smd_continuous` / `smd_categorical` against tableone's formulas, from
//! `conformance/smd.json` (written by `conformance/smd.R`). Tolerance: see
//! `common/mod.rs`.

mod common;

use cohortflow_stats::{smd_categorical, smd_continuous};
use common::{Checker, f64s, load, num, usizes};

#[test]
fn smd_matches_tableone() {
    let doc = load("smd.json");
    let mut ck = Checker::default();
    for case in doc["continuous"].as_array().expect("continuous") {
        let name = case["name"].as_str().unwrap();
        let v = smd_continuous(&f64s(&case["x"]), &f64s(&case["y"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        ck.num(&format!("{name} smd"), v, num(&case["smd"]));
    }
    for case in doc["categorical"].as_array().expect("categorical") {
        let name = case["name"].as_str().unwrap();
        let cx: Vec<u64> = usizes(&case["counts_x"])
            .into_iter()
            .map(|v| v as u64)
            .collect();
        let cy: Vec<u64> = usizes(&case["counts_y"])
            .into_iter()
            .map(|v| v as u64)
            .collect();
        let v = smd_categorical(&cx, &cy).unwrap_or_else(|e| panic!("{name}: {e}"));
        ck.num(&format!("{name} smd"), v, num(&case["smd"]));
    }
    ck.finish("smd vs tableone formulas", 15);
}

#[test]
fn smd_errors() {
    use cohortflow_stats::StatsError;
    assert!(matches!(
        smd_continuous(&[1.0], &[1.0, 2.0]),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        smd_continuous(&[2.0, 2.0], &[2.0, 2.0]),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        smd_continuous(&[2.0, f64::NAN], &[2.0, 3.0]),
        Err(StatsError::NonFinite { .. })
    ));
    assert!(matches!(
        smd_categorical(&[1, 2], &[1, 2, 3]),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        smd_categorical(&[0, 0], &[1, 2]),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        smd_categorical(&[], &[]),
        Err(StatsError::EmptyInput { .. })
    ));
}

//! `fine_gray_expand` against R's `finegray()` row for row, and the
//! Fine–Gray model `coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights =
//! fgwt)` fitted on the expansion with `cox_ph_weighted` (R's default robust
//! variance, each expanded row its own cluster, and `cluster = id`), from
//! `conformance/finegray.json` (written by `conformance/finegray.R`).
//! Tolerance: see `common/mod.rs` (1e-9 relative, 1e-12 absolute near
//! zero); the row numbers, status and count columns exactly.

mod common;

use cohortflow_stats::{
    CoxData, CoxFit, CoxOptions, CoxVariance, FineGrayVariance, Test, Ties, cox_ph_weighted,
    fine_gray, fine_gray_expand,
};
use common::{Checker, bools, f64s, load, num, usizes};
use serde_json::Value;

fn check_vec(ck: &mut Checker, ctx: &str, ours: &[f64], r: &Value) {
    let r = f64s(r);
    assert_eq!(r.len(), ours.len(), "{ctx}: length");
    for (i, (&a, &e)) in ours.iter().zip(&r).enumerate() {
        ck.num(&format!("{ctx}[{i}]"), a, Some(e));
    }
}

fn check_test(ck: &mut Checker, ctx: &str, ours: &Test, r: &Value) {
    ck.num(
        &format!("{ctx} statistic"),
        ours.statistic,
        num(&r["statistic"]),
    );
    ck.num(&format!("{ctx} df"), ours.df as f64, num(&r["df"]));
    ck.num(&format!("{ctx} p"), ours.p_value, num(&r["p_value"]));
}

fn check_fit(ck: &mut Checker, ctx: &str, fit: &CoxFit, r: &Value) {
    for (field, ours) in [
        ("n", fit.n as f64),
        ("events", fit.events as f64),
        ("iterations", fit.iterations as f64),
    ] {
        ck.num(&format!("{ctx} {field}"), ours, num(&r[field]));
    }
    check_vec(ck, &format!("{ctx} coef"), &fit.coef, &r["coef"]);
    check_vec(ck, &format!("{ctx} se"), &fit.se, &r["se"]);
    let robust = fit.robust.as_ref().expect("robust variance");
    check_vec(ck, &format!("{ctx} robust se"), &robust.se, &r["robust_se"]);
    for (i, row) in fit.variance.iter().enumerate() {
        check_vec(
            ck,
            &format!("{ctx} naive variance[{i}]"),
            row,
            &r["variance_naive"][i],
        );
    }
    for (i, row) in robust.variance.iter().enumerate() {
        check_vec(
            ck,
            &format!("{ctx} robust variance[{i}]"),
            row,
            &r["variance_robust"][i],
        );
    }
    check_vec(
        ck,
        &format!("{ctx} HR"),
        &fit.hazard_ratio,
        &r["hazard_ratio"],
    );
    check_vec(
        ck,
        &format!("{ctx} HR lower"),
        &fit.hr_lower,
        &r["hr_lower"],
    );
    check_vec(
        ck,
        &format!("{ctx} HR upper"),
        &fit.hr_upper,
        &r["hr_upper"],
    );
    check_vec(ck, &format!("{ctx} z"), &fit.z, &r["z"]);
    check_vec(ck, &format!("{ctx} p"), &fit.p_value, &r["p_value"]);
    ck.num(
        &format!("{ctx} loglik_null"),
        fit.loglik_null,
        num(&r["loglik_null"]),
    );
    ck.num(&format!("{ctx} loglik"), fit.loglik, num(&r["loglik"]));
    check_test(
        ck,
        &format!("{ctx} LR"),
        &fit.likelihood_ratio,
        &r["likelihood_ratio"],
    );
    check_test(ck, &format!("{ctx} Wald"), &fit.wald, &r["wald"]);
    check_test(ck, &format!("{ctx} score"), &fit.score, &r["score"]);
    check_test(
        ck,
        &format!("{ctx} robust score"),
        &robust.score,
        &r["robust_score"],
    );
}

#[test]
fn fine_gray_matches_r() {
    let doc = load("finegray.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 7, "finegray.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let mut rows_compared = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let time = f64s(&input["time"]);
        let status = usizes(&input["status"]);
        let cause = input["cause"].as_u64().unwrap() as usize;
        let strata = (!input["strata"].is_null()).then(|| usizes(&input["strata"]));
        let covariates: Vec<Vec<f64>> = input["covariates"]
            .as_array()
            .unwrap()
            .iter()
            .map(f64s)
            .collect();
        let fg = fine_gray_expand(&time, &status, cause, strata.as_deref())
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        // the expansion, row for row
        let r = &case["expanded"];
        assert_eq!(fg.row, usizes(&r["row"]), "{name}: rows");
        assert_eq!(fg.event, bools(&r["event"]), "{name}: fgstatus");
        assert_eq!(fg.count, usizes(&r["count"]), "{name}: count");
        check_vec(&mut ck, &format!("{name} fgstart"), &fg.start, &r["start"]);
        check_vec(&mut ck, &format!("{name} fgstop"), &fg.stop, &r["stop"]);
        check_vec(&mut ck, &format!("{name} fgwt"), &fg.weight, &r["weight"]);
        rows_compared += fg.len();

        // the weighted Cox fit on it
        let xs: Vec<Vec<f64>> = covariates
            .iter()
            .map(|c| fg.row.iter().map(|&i| c[i]).collect())
            .collect();
        let cols: Vec<&[f64]> = xs.iter().map(|c| c.as_slice()).collect();
        let fg_strata: Option<Vec<usize>> = strata
            .as_ref()
            .map(|s| fg.row.iter().map(|&i| s[i]).collect());
        let data = CoxData {
            start: Some(&fg.start),
            stop: &fg.stop,
            event: &fg.event,
            covariates: &cols,
            strata: fg_strata.as_deref(),
        };
        let opts = CoxOptions {
            ties: if case["ties"] == "Breslow" {
                Ties::Breslow
            } else {
                Ties::Efron
            },
            ..CoxOptions::default()
        };
        let by_rows = cox_ph_weighted(&data, Some(&fg.weight), CoxVariance::Robust, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_fit(
            &mut ck,
            &format!("{name} robust rows"),
            &by_rows,
            &case["fit_robust_rows"],
        );
        // cluster = id through the one-call fine_gray
        let cov_cols: Vec<&[f64]> = covariates.iter().map(|c| c.as_slice()).collect();
        let one_call = fine_gray(
            &time,
            &status,
            cause,
            &cov_cols,
            strata.as_deref(),
            FineGrayVariance::BySubject,
            &opts,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(one_call.data, fg, "{name}: fine_gray's expansion");
        let by_id = one_call.fit;
        check_fit(
            &mut ck,
            &format!("{name} cluster id"),
            &by_id,
            &case["fit_cluster_id"],
        );
    }
    assert!(rows_compared > 50_000, "only {rows_compared} expanded rows");
    ck.finish("fine_gray", 150_000);
}

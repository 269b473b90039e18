//! Properties of the weighted estimators that hold whatever R says: integer
//! case weights are replicated rows (Breslow Cox, Greenwood Kaplan–Meier),
//! a cluster per row is the robust variance, the robust variance does not
//! depend on the order of the rows, and Fine–Gray without competing events
//! is the ordinary Cox model.

mod common;

use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    CoxData, CoxOptions, CoxVariance, KmOptions, KmVariance, Ties, cox_ph, cox_ph_weighted,
    fine_gray_expand, kaplan_meier, kaplan_meier_weighted,
};
use common::{bools, f64s, load};

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300) || (a - b).abs() <= 1e-13
}

/// lung (complete cases) from cox_weighted.json: stop, event, 3 covariates.
fn lung() -> (Vec<f64>, Vec<bool>, Vec<Vec<f64>>) {
    let doc = load("cox_weighted.json");
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lung_cluster_inst_efron")
        .expect("case");
    let input = &case["input"];
    (
        f64s(&input["stop"]),
        bools(&input["event"]),
        input["covariates"]
            .as_array()
            .unwrap()
            .iter()
            .map(f64s)
            .collect(),
    )
}

fn weights(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| 1.0 + (rng.next_u64() % 3) as f64).collect()
}

#[test]
fn integer_weights_are_replicated_rows_breslow_cox() {
    let (stop, event, cov) = lung();
    let n = stop.len();
    let w = weights(n, 11);
    let cols: Vec<&[f64]> = cov.iter().map(|c| c.as_slice()).collect();
    let data = CoxData {
        start: None,
        stop: &stop,
        event: &event,
        covariates: &cols,
        strata: None,
    };
    let opts = CoxOptions {
        ties: Ties::Breslow,
        ..CoxOptions::default()
    };
    let weighted = cox_ph_weighted(&data, Some(&w), CoxVariance::Naive, &opts).unwrap();
    // the same rows, row i repeated w[i] times
    let rep: Vec<usize> = (0..n)
        .flat_map(|i| std::iter::repeat_n(i, w[i] as usize))
        .collect();
    let rstop: Vec<f64> = rep.iter().map(|&i| stop[i]).collect();
    let revent: Vec<bool> = rep.iter().map(|&i| event[i]).collect();
    let rcov: Vec<Vec<f64>> = cov
        .iter()
        .map(|c| rep.iter().map(|&i| c[i]).collect())
        .collect();
    let rcols: Vec<&[f64]> = rcov.iter().map(|c| c.as_slice()).collect();
    let replicated = cox_ph(
        &CoxData {
            start: None,
            stop: &rstop,
            event: &revent,
            covariates: &rcols,
            strata: None,
        },
        &opts,
    )
    .unwrap();
    for j in 0..cov.len() {
        assert!(rel_close(weighted.coef[j], replicated.coef[j], 1e-9));
        assert!(rel_close(weighted.se[j], replicated.se[j], 1e-9));
    }
    assert!(rel_close(weighted.loglik, replicated.loglik, 1e-12));
    assert!(rel_close(
        weighted.score.statistic,
        replicated.score.statistic,
        1e-9
    ));
}

#[test]
fn integer_weights_are_replicated_rows_greenwood_km() {
    let (stop, event, _) = lung();
    let n = stop.len();
    let w = weights(n, 5);
    let opts = KmOptions::default();
    let weighted = kaplan_meier_weighted(&stop, &event, &w, KmVariance::Greenwood, &opts).unwrap();
    let rep: Vec<usize> = (0..n)
        .flat_map(|i| std::iter::repeat_n(i, w[i] as usize))
        .collect();
    let rstop: Vec<f64> = rep.iter().map(|&i| stop[i]).collect();
    let revent: Vec<bool> = rep.iter().map(|&i| event[i]).collect();
    let replicated = kaplan_meier(&rstop, &revent, &opts).unwrap();
    assert_eq!(weighted.steps().len(), replicated.steps().len());
    for (a, b) in weighted.steps().iter().zip(replicated.steps()) {
        assert_eq!((a.time, a.n_risk, a.n_event), (b.time, b.n_risk, b.n_event));
        assert!(rel_close(a.surv, b.surv, 1e-14));
        assert!(rel_close(a.std_err, b.std_err, 1e-12));
    }
}

#[test]
fn one_cluster_per_row_is_the_robust_variance_and_row_order_does_not_matter() {
    let (stop, event, cov) = lung();
    let n = stop.len();
    let mut rng = SplitMix64::new(3);
    let w: Vec<f64> = (0..n)
        .map(|_| 0.2 + (rng.next_u64() % 1000) as f64 / 400.0)
        .collect();
    let cols: Vec<&[f64]> = cov.iter().map(|c| c.as_slice()).collect();
    let data = CoxData {
        start: None,
        stop: &stop,
        event: &event,
        covariates: &cols,
        strata: None,
    };
    let opts = CoxOptions::default();
    let robust = cox_ph_weighted(&data, Some(&w), CoxVariance::Robust, &opts).unwrap();
    let labels: Vec<usize> = (0..n).map(|i| 7 * (n - i)).collect();
    let cluster = cox_ph_weighted(&data, Some(&w), CoxVariance::Cluster(&labels), &opts).unwrap();
    let (r, c) = (robust.robust.unwrap(), cluster.robust.unwrap());
    assert_eq!(r.clusters, n);
    for i in 0..cov.len() {
        assert!(rel_close(r.se[i], c.se[i], 1e-12));
    }
    assert!(rel_close(r.score.statistic, c.score.statistic, 1e-12));

    // reversed rows
    let rev = |v: &[f64]| v.iter().rev().copied().collect::<Vec<f64>>();
    let (rstop, rw) = (rev(&stop), rev(&w));
    let revent: Vec<bool> = event.iter().rev().copied().collect();
    let rcov: Vec<Vec<f64>> = cov.iter().map(|c| rev(c)).collect();
    let rcols: Vec<&[f64]> = rcov.iter().map(|c| c.as_slice()).collect();
    let reversed = cox_ph_weighted(
        &CoxData {
            start: None,
            stop: &rstop,
            event: &revent,
            covariates: &rcols,
            strata: None,
        },
        Some(&rw),
        CoxVariance::Robust,
        &opts,
    )
    .unwrap();
    let rr = reversed.robust.unwrap();
    for i in 0..cov.len() {
        assert!(rel_close(reversed.coef[i], robust.coef[i], 1e-10));
        assert!(rel_close(rr.se[i], r.se[i], 1e-10));
    }
}

#[test]
fn fine_gray_without_competing_events_is_the_cox_model() {
    let (stop, event, cov) = lung();
    let status: Vec<usize> = event.iter().map(|&e| usize::from(e)).collect();
    let fg = fine_gray_expand(&stop, &status, 1, None).unwrap();
    assert_eq!(fg.row, (0..stop.len()).collect::<Vec<_>>());
    assert!(fg.weight.iter().all(|&w| w == 1.0));
    assert!(fg.start.iter().all(|&s| s == 0.0));
    let cols: Vec<&[f64]> = cov.iter().map(|c| c.as_slice()).collect();
    let plain = cox_ph(
        &CoxData {
            start: None,
            stop: &stop,
            event: &event,
            covariates: &cols,
            strata: None,
        },
        &CoxOptions::default(),
    )
    .unwrap();
    let fgfit = cox_ph_weighted(
        &CoxData {
            start: Some(&fg.start),
            stop: &fg.stop,
            event: &fg.event,
            covariates: &cols,
            strata: None,
        },
        Some(&fg.weight),
        CoxVariance::Naive,
        &CoxOptions::default(),
    )
    .unwrap();
    for j in 0..cov.len() {
        assert!(rel_close(fgfit.coef[j], plain.coef[j], 1e-9));
        assert!(rel_close(fgfit.se[j], plain.se[j], 1e-9));
    }
}

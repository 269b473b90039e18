//! `nearest_neighbor_match` and `balance` against MatchIt, from
//! `conformance/matchit.json` (written by `conformance/matchit.R`).
//!
//! * `cases`: the installed MatchIt 4.5.1's own `matchit(method = "nearest")`
//!   on a propensity score, reproduced by `MatchItCompat::V4_5_1` (MatchIt
//!   4.5.1 ignores the caliper there: its issue #163).
//! * `intended_cases`: MatchIt's general matcher (`nn_matchC`, on a distance
//!   matrix), which applies the caliper: reproduced by the default
//!   `MatchItCompat::Intended`.
//!
//! Matched pairs and unmatched units must be identical; weights and balance
//! statistics within the tolerance of `common/mod.rs`. The tie key is the
//! 0-based row number, which makes ties resolve as in R.

mod common;

use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    GlmOptions, MOrder, MatchItCompat, MatchOptions, Matching, balance, logistic_regression,
    nearest_neighbor_match, nearest_neighbor_match_exact,
};
use common::{Checker, bools, f64s, load, num, nums, usizes};
use serde_json::Value;

fn options(case: &Value, compat: MatchItCompat) -> MatchOptions {
    let input = &case["input"];
    MatchOptions {
        ratio: num(&input["ratio"]).unwrap() as usize,
        caliper: num(&input["caliper"]),
        m_order: match input["m_order"].as_str().unwrap() {
            "Largest" => MOrder::Largest,
            "Smallest" => MOrder::Smallest,
            "Data" => MOrder::Data,
            other => panic!("m_order {other}"),
        },
        replace: false,
        compat,
    }
}

fn row_keys(n: usize) -> Vec<u64> {
    (0..n as u64).collect()
}

/// Our controls per treated row, for the treated rows R lists.
fn check_pairs(ck: &mut Checker, name: &str, m: &Matching, case: &Value) {
    let treated_rows: Vec<usize> = f64s(&case["treated_rows"])
        .iter()
        .map(|&v| v as usize)
        .collect();
    let r_mm = case["match_matrix"].as_array().unwrap();
    let ours: std::collections::HashMap<usize, &Vec<usize>> =
        m.matches.iter().map(|(t, c)| (*t, c)).collect();
    let mut r_unmatched = Vec::new();
    for (t, row) in treated_rows.iter().zip(r_mm) {
        let r_ctrl: Vec<usize> = nums(row)
            .into_iter()
            .flatten()
            .map(|v| v as usize)
            .collect();
        let our_ctrl: Vec<usize> = ours.get(t).map(|c| (*c).clone()).unwrap_or_default();
        ck.compared += 1;
        if r_ctrl != our_ctrl {
            ck.failures.push(format!(
                "{name}: treated row {t}: ours {our_ctrl:?}, MatchIt {r_ctrl:?}"
            ));
        }
        if r_ctrl.is_empty() {
            r_unmatched.push(*t);
        }
    }
    ck.compared += 1;
    if r_unmatched != m.unmatched_treated {
        ck.failures
            .push(format!("{name}: unmatched treated differ"));
    }
    let r_w = f64s(&case["weights"]);
    for (i, (&a, &e)) in m.weights.iter().zip(&r_w).enumerate() {
        ck.num(&format!("{name} weight[{i}]"), a, Some(e));
    }
    let n_t = r_mm.iter().filter(|r| !r[0].is_null()).count();
    ck.num(
        &format!("{name} n_matched_treated"),
        m.n_matched_treated as f64,
        Some(n_t as f64),
    );
    let n_c = r_w
        .iter()
        .zip(bools(&case["input"]["treated"]))
        .filter(|(w, t)| !t && **w > 0.0)
        .count();
    ck.num(
        &format!("{name} n_matched_control"),
        m.n_matched_control as f64,
        Some(n_c as f64),
    );
    ck.opt(
        &format!("{name} caliper_distance"),
        m.caliper_distance,
        num(&case["caliper_distance"]),
    );
}

/// Every row of R's `sum_all` (weights 1) and `sum_matched` (our weights).
fn check_balance(ck: &mut Checker, name: &str, weights: &[f64], case: &Value, data: &Value) {
    let treated = bools(&case["input"]["treated"]);
    let distance = f64s(&case["input"]["distance"]);
    let ones = vec![1.0; treated.len()];
    for (table, w) in [("sum_all", &ones[..]), ("sum_matched", weights)] {
        let t = &case[table];
        let vars = t["variable"].as_array().unwrap();
        assert!(vars.len() >= 8, "{name} {table}: {} rows", vars.len());
        for (k, var) in vars.iter().enumerate() {
            let var = var.as_str().unwrap();
            let x = if var == "distance" {
                distance.clone()
            } else {
                f64s(&data["covariates"][var])
            };
            let binary = x.iter().all(|&v| v == 0.0 || v == 1.0);
            let row = balance(&x, &treated, w, binary)
                .unwrap_or_else(|e| panic!("{name} {table} {var}: {e}"));
            let ctx = |f: &str| format!("{name} {table} {var} {f}");
            ck.num(
                &ctx("mean_treated"),
                row.mean_treated,
                nums(&t["mean_treated"])[k],
            );
            ck.num(
                &ctx("mean_control"),
                row.mean_control,
                nums(&t["mean_control"])[k],
            );
            ck.opt(
                &ctx("std_mean_diff"),
                row.std_mean_diff,
                nums(&t["std_mean_diff"])[k],
            );
            ck.opt(&ctx("var_ratio"), row.var_ratio, nums(&t["var_ratio"])[k]);
            ck.opt(&ctx("ecdf_mean"), row.ecdf_mean, nums(&t["ecdf_mean"])[k]);
            ck.opt(&ctx("ecdf_max"), row.ecdf_max, nums(&t["ecdf_max"])[k]);
        }
    }
}

fn run_cases(key: &str, compat: MatchItCompat, min_cases: usize, min_values: usize) {
    let doc = load("matchit.json");
    let cases = doc[key].as_array().expect(key);
    assert!(cases.len() >= min_cases, "{key}: {} cases", cases.len());
    let mut ck = Checker::default();
    let mut exact_cases = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let distance = f64s(&case["input"]["distance"]);
        let treated = bools(&case["input"]["treated"]);
        let keys = row_keys(distance.len());
        let m = match case["input"].get("exact") {
            // exact = ~ x: the labels of x
            Some(labels) => {
                let labels: Vec<u64> = usizes(labels).into_iter().map(|v| v as u64).collect();
                exact_cases += 1;
                nearest_neighbor_match_exact(
                    &distance,
                    &treated,
                    &keys,
                    &labels,
                    &options(case, compat),
                )
            }
            None => nearest_neighbor_match(&distance, &treated, &keys, &options(case, compat)),
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_pairs(&mut ck, name, &m, case);
        let data = &doc["datasets"][case["dataset"].as_str().unwrap()];
        check_balance(&mut ck, name, &m.weights, case, data);
    }
    assert!(exact_cases >= 3, "{key}: {exact_cases} cases with exact");
    ck.finish(
        &format!("nearest_neighbor_match + balance vs MatchIt ({key})"),
        min_values,
    );
}

#[test]
fn matches_installed_matchit_4_5_1_exactly() {
    let doc = load("matchit.json");
    assert_eq!(doc["matchit_version"].as_str(), Some("4.5.1"));
    run_cases("cases", MatchItCompat::V4_5_1, 16, 14_000);
}

#[test]
fn matches_matchit_general_matcher_with_caliper() {
    run_cases("intended_cases", MatchItCompat::Intended, 16, 14_000);
}

/// The propensity score of `logistic_regression` equals MatchIt's
/// `distance`, and matching on it gives MatchIt's pairs.
#[test]
fn propensity_score_pipeline_reproduces_matchit() {
    let doc = load("matchit.json");
    // the design of `treat ~ age + educ + race + married + nodegree + re74 +
    // re75`: race (levels black, hispan, white) by treatment contrasts
    let raw = &doc["datasets"]["lalonde"]["raw"];
    let race: Vec<&str> = raw["race"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let level =
        |l: &str| -> Vec<f64> { race.iter().map(|&r| f64::from(u8::from(r == l))).collect() };
    let cols: Vec<Vec<f64>> = vec![
        f64s(&raw["age"]),
        f64s(&raw["educ"]),
        level("hispan"),
        level("white"),
        f64s(&raw["married"]),
        f64s(&raw["nodegree"]),
        f64s(&raw["re74"]),
        f64s(&raw["re75"]),
    ];
    // ... which is R's model.matrix
    let design = &doc["datasets"]["lalonde"]["ps_design"];
    let names: Vec<&str> = design["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "age",
            "educ",
            "racehispan",
            "racewhite",
            "married",
            "nodegree",
            "re74",
            "re75"
        ]
    );
    for (ours, r) in cols.iter().zip(design["columns"].as_array().unwrap()) {
        assert_eq!(ours, &f64s(r));
    }
    let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
    let mut ck = Checker::default();
    for (key, compat) in [
        ("cases", MatchItCompat::V4_5_1),
        ("intended_cases", MatchItCompat::Intended),
    ] {
        for case in doc[key].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            if case["dataset"] != "lalonde" || name.contains("tied") {
                continue;
            }
            let treated = bools(&case["input"]["treated"]);
            let fit = logistic_regression(&treated, &refs, &GlmOptions::default()).unwrap();
            let r_ps = f64s(&case["input"]["distance"]);
            for (i, (&a, &e)) in fit.fitted.iter().zip(&r_ps).enumerate() {
                ck.num(&format!("{key} {name} ps[{i}]"), a, Some(e));
            }
            let keys = row_keys(treated.len());
            let m = match case["input"].get("exact") {
                Some(labels) => {
                    let labels: Vec<u64> = usizes(labels).into_iter().map(|v| v as u64).collect();
                    nearest_neighbor_match_exact(
                        &fit.fitted,
                        &treated,
                        &keys,
                        &labels,
                        &options(case, compat),
                    )
                }
                None => {
                    nearest_neighbor_match(&fit.fitted, &treated, &keys, &options(case, compat))
                }
            }
            .unwrap();
            check_pairs(&mut ck, &format!("{key} {name} (our PS)"), &m, case);
        }
    }
    ck.finish(
        "logistic_regression -> nearest_neighbor_match vs MatchIt",
        10_000,
    );
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
fn permutation(rng: &mut SplitMix64, n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.below(i + 1));
    }
    p
}

type KeyedMatching = (Vec<(u64, Vec<u64>)>, Vec<(u64, f64)>);

/// The matching expressed in keys: sorted (treated key, control keys in
/// match order), and (key, weight) sorted by key.
fn by_key(m: &Matching, key: &[u64]) -> KeyedMatching {
    let mut pairs: Vec<(u64, Vec<u64>)> = m
        .matches
        .iter()
        .map(|(t, c)| (key[*t], c.iter().map(|&i| key[i]).collect()))
        .collect();
    pairs.sort();
    let mut w: Vec<(u64, f64)> = m
        .weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (key[i], w))
        .collect();
    w.sort_by_key(|p| p.0);
    (pairs, w)
}

fn assert_same(a: &KeyedMatching, b: &KeyedMatching, ctx: &str) {
    assert_eq!(a.0, b.0, "{ctx}: matched sets differ after shuffling");
    for ((ka, wa), (kb, wb)) in a.1.iter().zip(&b.1) {
        assert_eq!(ka, kb);
        assert!(
            (wa - wb).abs() <= 1e-12 * wa.abs().max(1.0),
            "{ctx}: weight of key {ka}: {wa} vs {wb}"
        );
    }
}

/// Shuffling the rows (each unit keeping its key) gives the same matched set,
/// on MatchIt's cases and on random data sets full of tied distances.
#[test]
fn matching_does_not_depend_on_row_order() {
    let doc = load("matchit.json");
    let mut rng = SplitMix64::new(20_261_127);
    let mut checked = 0;
    let orders = [
        MOrder::Largest,
        MOrder::Smallest,
        MOrder::Data,
        MOrder::Random { seed: 7 },
    ];
    for (key, compat) in [
        ("cases", MatchItCompat::V4_5_1),
        ("intended_cases", MatchItCompat::Intended),
    ] {
        for case in doc[key].as_array().unwrap() {
            let d = f64s(&case["input"]["distance"]);
            let t = bools(&case["input"]["treated"]);
            let keys = row_keys(d.len());
            for m_order in orders {
                let opts = MatchOptions {
                    m_order,
                    ..options(case, compat)
                };
                let base = by_key(
                    &nearest_neighbor_match(&d, &t, &keys, &opts).unwrap(),
                    &keys,
                );
                for _ in 0..3 {
                    let p = permutation(&mut rng, d.len());
                    let (d2, t2, k2): (Vec<f64>, Vec<bool>, Vec<u64>) = p
                        .iter()
                        .map(|&i| (d[i], t[i], keys[i]))
                        .fold((vec![], vec![], vec![]), |mut acc, (a, b, c)| {
                            acc.0.push(a);
                            acc.1.push(b);
                            acc.2.push(c);
                            acc
                        });
                    let m2 = nearest_neighbor_match(&d2, &t2, &k2, &opts).unwrap();
                    assert_same(&base, &by_key(&m2, &k2), case["name"].as_str().unwrap());
                    checked += 1;
                }
            }
        }
    }
    // random data sets: few distinct distances (many ties), random keys
    for trial in 0..1500 {
        let n = 4 + rng.below(120);
        let levels = 1 + rng.below(12);
        let d: Vec<f64> = (0..n)
            .map(|_| rng.below(levels) as f64 / 16.0 + 0.01)
            .collect();
        let mut t: Vec<bool> = (0..n).map(|_| rng.below(3) == 0).collect();
        t[0] = true;
        t[1] = false;
        let keys: Vec<u64> = {
            let mut k: Vec<u64> = (0..n as u64).map(|i| i * 7 + rng.below(7) as u64).collect();
            let p = permutation(&mut rng, n);
            k = p.iter().map(|&i| k[i]).collect();
            k
        };
        let caliper = if rng.below(2) == 0 {
            None
        } else {
            Some(0.05 + rng.next_f64())
        };
        let opts = MatchOptions {
            ratio: 1 + rng.below(3),
            caliper,
            m_order: orders[rng.below(4)],
            replace: false,
            compat: if rng.below(4) == 0 {
                MatchItCompat::V4_5_1
            } else {
                MatchItCompat::Intended
            },
        };
        let Ok(m) = nearest_neighbor_match(&d, &t, &keys, &opts) else {
            continue; // e.g. a two-valued distance with a caliper, or nothing matched
        };
        // invariants: no control used twice, at most `ratio` controls, within
        // the caliper (intended algorithm)
        let mut used = std::collections::HashSet::new();
        for (ti, cs) in &m.matches {
            assert!(t[*ti] && cs.len() <= opts.ratio && !cs.is_empty());
            for &c in cs {
                assert!(!t[c] && used.insert(c), "trial {trial}: control {c} reused");
                if let (Some(cal), MatchItCompat::Intended) = (m.caliper_distance, opts.compat) {
                    assert!(
                        (d[c] - d[*ti]).abs() <= cal,
                        "trial {trial}: outside caliper"
                    );
                }
            }
        }
        let base = by_key(&m, &keys);
        let p = permutation(&mut rng, n);
        let d2: Vec<f64> = p.iter().map(|&i| d[i]).collect();
        let t2: Vec<bool> = p.iter().map(|&i| t[i]).collect();
        let k2: Vec<u64> = p.iter().map(|&i| keys[i]).collect();
        let m2 = nearest_neighbor_match(&d2, &t2, &k2, &opts).unwrap();
        assert_same(&base, &by_key(&m2, &k2), &format!("random trial {trial}"));
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} shuffles checked");
}

/// The intended algorithm is the nearest available control: no available
/// control within the caliper is strictly nearer than the one chosen, at the
/// moment it was chosen (checked on 1:1 matching by replaying the order).
#[test]
fn intended_matching_takes_the_nearest_available_control() {
    let mut rng = SplitMix64::new(42);
    for trial in 0..500 {
        let n = 5 + rng.below(80);
        let d: Vec<f64> = (0..n)
            .map(|_| (rng.next_f64() * 50.0).round() / 50.0)
            .collect();
        let mut t: Vec<bool> = (0..n).map(|_| rng.below(3) == 0).collect();
        t[0] = true;
        t[1] = false;
        let keys = row_keys(n);
        let opts = MatchOptions {
            caliper: Some(0.3),
            m_order: MOrder::Data,
            ..MatchOptions::default()
        };
        let Ok(m) = nearest_neighbor_match(&d, &t, &keys, &opts) else {
            continue;
        };
        let cal = m.caliper_distance;
        let chosen: std::collections::HashMap<usize, usize> =
            m.matches.iter().map(|(ti, c)| (*ti, c[0])).collect();
        let mut taken = vec![false; n];
        for ti in (0..n).filter(|&i| t[i]) {
            let best = (0..n)
                .filter(|&c| !t[c] && !taken[c])
                .filter(|&c| cal.is_none_or(|cal| (d[c] - d[ti]).abs() <= cal))
                .min_by(|&a, &b| {
                    (d[a] - d[ti])
                        .abs()
                        .total_cmp(&(d[b] - d[ti]).abs())
                        .then(a.cmp(&b))
                });
            assert_eq!(
                chosen.get(&ti).copied(),
                best,
                "trial {trial}, treated {ti}"
            );
            if let Some(c) = best {
                taken[c] = true;
            }
        }
    }
}

#[test]
fn matching_and_balance_reject_bad_input() {
    use cohortflow_stats::StatsError;
    let o = MatchOptions::default();
    let d = [0.1, 0.2, 0.3];
    let t = [true, false, false];
    assert!(matches!(
        nearest_neighbor_match(&[], &[], &[], &o),
        Err(StatsError::EmptyInput { .. })
    ));
    assert!(matches!(
        nearest_neighbor_match(&d, &t, &[0, 1], &o),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        nearest_neighbor_match(&d, &t, &[0, 1, 1], &o),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        nearest_neighbor_match(&[0.1, f64::NAN, 0.3], &t, &[0, 1, 2], &o),
        Err(StatsError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        nearest_neighbor_match(&d, &[true, true, true], &[0, 1, 2], &o),
        Err(StatsError::Degenerate { .. })
    ));
    for bad in [
        MatchOptions { ratio: 0, ..o },
        MatchOptions {
            caliper: Some(-1.0),
            ..o
        },
        MatchOptions {
            caliper: Some(f64::NAN),
            ..o
        },
        MatchOptions { replace: true, ..o },
    ] {
        assert!(matches!(
            nearest_neighbor_match(&d, &t, &[0, 1, 2], &bad),
            Err(StatsError::InvalidParameter { .. })
        ));
    }
    // a two-valued distance with a caliper: MatchIt refuses it
    assert!(matches!(
        nearest_neighbor_match(
            &[0.1, 0.2, 0.2],
            &t,
            &[0, 1, 2],
            &MatchOptions {
                caliper: Some(0.2),
                ..o
            }
        ),
        Err(StatsError::Degenerate { .. })
    ));
    // nothing within the caliper
    assert!(matches!(
        nearest_neighbor_match(
            &[0.0, 1.0, 0.99, 0.98, 0.97],
            &[true, false, false, false, false],
            &[0, 1, 2, 3, 4],
            &MatchOptions {
                caliper: Some(0.1),
                ..o
            }
        ),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        balance(&[1.0, 2.0], &[true, false], &[1.0], false),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        balance(&[1.0, 2.0], &[true, false], &[1.0, 0.0], false),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        balance(&[1.0, 2.0], &[true, false], &[1.0, 1.0], true),
        Err(StatsError::Degenerate { .. })
    ));
}

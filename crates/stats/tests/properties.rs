//! Property tests on thousands of random data sets from a small seeded
//! generator (SplitMix64), so every run checks the same data sets.

mod common;
use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{ConfType, KmOptions, kaplan_meier, log_rank};

/// Random survival data: sometimes integer times (many ties), sometimes
/// continuous, sometimes a few time-zero rows; event probability varies.
fn data(rng: &mut SplitMix64, n: usize) -> (Vec<f64>, Vec<bool>) {
    let discrete = rng.next_f64() < 0.5;
    let p_event = rng.next_f64();
    let mut time = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    for _ in 0..n {
        let t = if rng.next_f64() < 0.03 {
            0.0
        } else if discrete {
            (1 + rng.below(12)) as f64
        } else {
            -rng.next_f64().max(1e-300).ln() * 100.0
        };
        time.push(t);
        event.push(rng.next_f64() < p_event);
    }
    (time, event)
}

const CONF: [ConfType; 3] = [ConfType::Log, ConfType::LogLog, ConfType::Plain];

#[test]
fn kaplan_meier_invariants() {
    let mut rng = SplitMix64::new(20_261_127);
    let mut checked = 0;
    for iter in 0..3000 {
        let n = 1 + rng.below(80);
        let (time, event) = data(&mut rng, n);
        let opts = KmOptions {
            conf_type: CONF[iter % 3],
            conf_level: [0.95, 0.9, 0.99][rng.below(3)],
        };
        let fit = kaplan_meier(&time, &event, &opts).expect("valid data");
        let steps = fit.steps();
        assert_eq!(fit.n(), n);
        assert_eq!(steps[0].n_risk, n as f64, "first n_risk is n");
        let mut prev_surv = 1.0;
        let mut prev_time = f64::NEG_INFINITY;
        let mut total = 0.0;
        for (i, s) in steps.iter().enumerate() {
            assert!(s.time > prev_time, "times strictly increase");
            assert!((0.0..=1.0).contains(&s.surv), "S in [0,1]: {}", s.surv);
            assert!(s.surv <= prev_surv, "S non-increasing");
            assert!(s.n_event + s.n_censor >= 1.0, "every row has a subject");
            if let Some(next) = steps.get(i + 1) {
                assert_eq!(
                    next.n_risk,
                    s.n_risk - s.n_event - s.n_censor,
                    "n_risk chain"
                );
            } else {
                assert_eq!(
                    s.n_risk,
                    s.n_event + s.n_censor,
                    "last row empties the risk set"
                );
            }
            if s.surv > 0.0 {
                assert!(s.std_err >= 0.0 && s.std_err.is_finite());
            } else {
                assert!(s.std_err.is_nan(), "NaN std_err only at S = 0");
            }
            if let Some(lo) = s.lower {
                assert!(lo <= s.surv + 1e-15 && lo >= 0.0);
            }
            if let Some(hi) = s.upper {
                assert!(hi >= s.surv - 1e-15 && hi <= 1.0);
            }
            let at = fit.survival_at(s.time);
            assert_eq!(at.surv, s.surv, "survival_at reads the step");
            assert_eq!(at.n_risk, s.n_risk, "survival_at n_risk at a step");
            prev_surv = s.surv;
            prev_time = s.time;
            total += s.n_event;
            checked += 1;
        }
        assert_eq!(total, fit.events());
        assert_eq!(
            fit.events(),
            event.iter().filter(|&&e| e).count() as f64,
            "events counted"
        );
        // quantiles are non-decreasing in p where both exist
        let mut last_q = f64::NEG_INFINITY;
        for p in [0.1, 0.25, 0.5, 0.75, 0.9] {
            if let Some(q) = fit.quantile(p).estimate {
                assert!(q >= last_q, "quantiles non-decreasing");
                last_q = q;
            }
        }
    }
    assert!(checked > 30_000, "only {checked} steps checked");
}

#[test]
fn log_rank_invariant_to_relabelling_and_row_order() {
    let mut rng = SplitMix64::new(42);
    let mut tested = 0;
    for _ in 0..2000 {
        let k = 2 + rng.below(3);
        let n = k + rng.below(60);
        let (time, event) = data(&mut rng, n);
        // every group gets at least one row
        let mut group: Vec<usize> = (0..n)
            .map(|i| if i < k { i } else { rng.below(k) })
            .collect();
        for i in (1..n).rev() {
            group.swap(i, rng.below(i + 1));
        }
        let strata: Option<Vec<usize>> = if rng.next_f64() < 0.3 {
            Some((0..n).map(|_| 10 + rng.below(3)).collect())
        } else {
            None
        };
        let rho = [0.0, 1.0, 0.5][rng.below(3)];
        let Ok(base) = log_rank(&time, &event, &group, strata.as_deref(), rho) else {
            continue; // no events, or only one group at risk: checked elsewhere
        };
        assert!(base.chisq >= -1e-9, "chisq {}", base.chisq);
        assert!((0.0..=1.0).contains(&base.p_value));
        if rho == 0.0 {
            let so: f64 = base.observed.iter().sum();
            let se: f64 = base.expected.iter().sum();
            assert!((so - se).abs() <= 1e-9 * so.max(1.0), "sum O = sum E");
        }
        // relabel: new label = perm[old]
        let mut perm: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let relabelled: Vec<usize> = group.iter().map(|&g| perm[g]).collect();
        // and shuffle the rows
        let mut rows: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            rows.swap(i, rng.below(i + 1));
        }
        let pick_f = |v: &[f64]| rows.iter().map(|&r| v[r]).collect::<Vec<_>>();
        let t2 = pick_f(&time);
        let e2: Vec<bool> = rows.iter().map(|&r| event[r]).collect();
        let g2: Vec<usize> = rows.iter().map(|&r| relabelled[r]).collect();
        let s2: Option<Vec<usize>> = strata
            .as_ref()
            .map(|s| rows.iter().map(|&r| s[r]).collect());
        let other = log_rank(&t2, &e2, &g2, s2.as_deref(), rho).expect("same data");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-3);
        assert!(
            close(other.chisq, base.chisq),
            "chisq {} vs {}",
            other.chisq,
            base.chisq
        );
        assert!(close(other.p_value, base.p_value));
        assert_eq!(other.df, base.df);
        for (g, &pg) in perm.iter().enumerate() {
            assert!(close(other.observed[pg], base.observed[g]));
            assert!(close(other.expected[pg], base.expected[g]));
            assert_eq!(other.n[pg], base.n[g]);
        }
        tested += 1;
    }
    assert!(tested > 1500, "only {tested} data sets tested");
}

#[test]
fn fisher_exact_invariant_to_transposing_and_row_order() {
    use cohortflow_stats::fisher_exact;
    let mut rng = SplitMix64::new(7);
    for _ in 0..500 {
        let r = 2 + rng.below(2);
        let c = 2 + rng.below(2);
        let t: Vec<Vec<u64>> = (0..r)
            .map(|_| (0..c).map(|_| rng.below(7) as u64).collect())
            .collect();
        let Ok(base) = fisher_exact(&t) else {
            continue;
        };
        assert!((0.0..=1.0).contains(&base.p_value));
        let tr: Vec<Vec<u64>> = (0..c).map(|j| (0..r).map(|i| t[i][j]).collect()).collect();
        let mut rev = t.clone();
        rev.reverse();
        for other in [fisher_exact(&tr).unwrap(), fisher_exact(&rev).unwrap()] {
            assert!(
                (other.p_value - base.p_value).abs() <= 1e-9 * base.p_value.max(1e-12),
                "{t:?}: {} vs {}",
                other.p_value,
                base.p_value
            );
        }
    }
}

/// Fisher's r x c enumeration sums many terms: the order of the sums must
/// not change between calls (it once did, through a HashMap), or a rerun
/// of the same study would print another last digit.
#[test]
fn fisher_rxc_is_bitwise_reproducible() {
    let table = [[9u64, 18], [3, 9], [1, 1], [2, 1]];
    let first = cohortflow_stats::fisher_exact(&table).unwrap().p_value;
    for _ in 0..50 {
        let again = cohortflow_stats::fisher_exact(&table).unwrap().p_value;
        assert_eq!(first.to_bits(), again.to_bits());
    }
}

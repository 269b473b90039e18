//! Property test: the prepared API ([`SurvTimes`] built once, then
//! `kaplan_meier_by_group_prepared` and `log_rank_prepared` sharing it)
//! gives bit-identical results to the plain functions, on random data sets
//! with ties, near ties (merged or not by timefix) and time-zero rows.

mod common;
use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    ConfType, KaplanMeier, KmOptions, LogRank, SurvTimes, aeq_times, kaplan_meier,
    kaplan_meier_by_group, kaplan_meier_by_group_prepared, log_rank, log_rank_prepared,
};

/// Integer times (exact ties), continuous times, or integer times moved by
/// relative noise of 1e-12 .. 1e-7 (near ties, some within timefix's
/// tolerance 1.5e-8, some not); a few time-zero rows.
fn data(rng: &mut SplitMix64, n: usize) -> (Vec<f64>, Vec<bool>) {
    let kind = rng.below(3);
    let p_event = rng.next_f64();
    let mut time = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    for _ in 0..n {
        let t = if rng.next_f64() < 0.03 {
            0.0
        } else {
            match kind {
                0 => (1 + rng.below(12)) as f64,
                1 => -rng.next_f64().max(1e-300).ln() * 100.0,
                _ => {
                    let base = (1 + rng.below(10)) as f64;
                    base * (1.0 + [0.0, 1e-12, 1e-9, 1e-8, 3e-8, 1e-7][rng.below(6)])
                }
            }
        };
        time.push(t);
        event.push(rng.next_f64() < p_event);
    }
    (time, event)
}

fn bits(x: f64) -> u64 {
    x.to_bits()
}

fn assert_same_curve(a: &KaplanMeier, b: &KaplanMeier) {
    assert_eq!(a.n(), b.n());
    assert_eq!(bits(a.events()), bits(b.events()));
    assert_eq!(a.options(), b.options());
    assert_eq!(a.steps().len(), b.steps().len());
    for (x, y) in a.steps().iter().zip(b.steps()) {
        for (u, v) in [
            (x.time, y.time),
            (x.n_risk, y.n_risk),
            (x.n_event, y.n_event),
            (x.n_censor, y.n_censor),
            (x.surv, y.surv),
            (x.std_err, y.std_err),
            (x.std_err_cumhaz, y.std_err_cumhaz),
        ] {
            assert_eq!(bits(u), bits(v), "{x:?} vs {y:?}");
        }
        for (u, v) in [(x.lower, y.lower), (x.upper, y.upper)] {
            assert_eq!(u.map(bits), v.map(bits), "{x:?} vs {y:?}");
        }
    }
    let (ma, mb) = (a.median(), b.median());
    assert_eq!(ma.estimate.map(bits), mb.estimate.map(bits));
    assert_eq!(ma.lower.map(bits), mb.lower.map(bits));
    assert_eq!(ma.upper.map(bits), mb.upper.map(bits));
}

fn assert_same_test(a: &LogRank, b: &LogRank) {
    assert_eq!(a.n, b.n);
    assert_eq!(a.df, b.df);
    for (u, v) in a
        .observed
        .iter()
        .chain(&a.expected)
        .chain(&a.variance)
        .chain([&a.chisq, &a.p_value])
        .zip(
            b.observed
                .iter()
                .chain(&b.expected)
                .chain(&b.variance)
                .chain([&b.chisq, &b.p_value]),
        )
    {
        assert_eq!(bits(*u), bits(*v));
    }
}

#[test]
fn prepared_api_is_bit_identical_to_the_plain_functions() {
    let mut rng = SplitMix64::new(20_261_128);
    let confs = [ConfType::Log, ConfType::LogLog, ConfType::Plain];
    let (mut curves, mut tests) = (0, 0);
    for iter in 0..3000 {
        let n = 2 + rng.below(150);
        let (time, event) = data(&mut rng, n);
        let k = 1 + rng.below(4);
        let mut group: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
        group[0] = k - 1;
        let opts = KmOptions {
            conf_type: confs[iter % 3],
            conf_level: [0.95, 0.9][rng.below(2)],
        };
        let strata: Option<Vec<usize>> =
            (rng.below(3) == 0).then(|| (0..n).map(|_| 10 * rng.below(3)).collect());
        let rho = [0.0, 0.0, 1.0, 0.5][rng.below(4)];

        // one SurvTimes shared by every estimator below
        let times = SurvTimes::new(&time, &event).expect("valid data");
        assert_eq!(times.len(), n);
        let fixed = aeq_times(&time).unwrap();
        let distinct = times.distinct_times();
        assert!(distinct.windows(2).all(|w| w[0] < w[1]));
        for (i, &f) in fixed.iter().enumerate() {
            assert_eq!(bits(distinct[times.rank(i)]), bits(f));
            assert_eq!(times.event(i), event[i]);
        }

        let plain = kaplan_meier_by_group(&time, &event, &group, &opts);
        let prepared = kaplan_meier_by_group_prepared(&times, &group, &opts);
        match (plain, prepared) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert_same_curve(x, y);
                    curves += 1;
                }
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!("plain {a:?} vs prepared {b:?}"),
        }
        // one group: the plain single-curve fit
        let zeros = vec![0; n];
        let one = kaplan_meier_by_group_prepared(&times, &zeros, &opts).unwrap();
        assert_same_curve(&kaplan_meier(&time, &event, &opts).unwrap(), &one[0]);

        let plain = log_rank(&time, &event, &group, strata.as_deref(), rho);
        let prepared = log_rank_prepared(&times, &group, strata.as_deref(), rho);
        match (plain, prepared) {
            (Ok(a), Ok(b)) => {
                assert_same_test(&a, &b);
                tests += 1;
            }
            (Err(a), Err(b)) => assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{a} vs {b}"
            ),
            (a, b) => panic!("plain {a:?} vs prepared {b:?}"),
        }
    }
    assert!(
        curves > 5000 && tests > 1500,
        "{curves} curves, {tests} tests"
    );
}

/// A near tie that exists only across groups is merged because timefix
/// runs on the pooled times of the `SurvTimes`, as R's
/// `survfit(Surv(t, d) ~ g)`.
#[test]
fn timefix_is_pooled_over_all_rows() {
    let time = [1.0, 2.0, 1.0 + 1e-12, 3.0];
    let event = [true, true, true, false];
    let group = [0, 0, 1, 1];
    let times = SurvTimes::new(&time, &event).unwrap();
    assert_eq!(times.distinct_times(), &[1.0, 2.0, 3.0]);
    let fits = kaplan_meier_by_group_prepared(&times, &group, &KmOptions::default()).unwrap();
    assert_eq!(fits[1].steps()[0].time, 1.0);
    let alone = kaplan_meier(&time[2..], &event[2..], &KmOptions::default()).unwrap();
    assert_eq!(alone.steps()[0].time, 1.0 + 1e-12);
}

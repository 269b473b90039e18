//! Property tests of `cox_ph` / `cox_zph` on thousands of random data sets
//! from a seeded generator (SplitMix64), so every run checks the same data:
//!
//! * invariance to the order of the rows;
//! * rescaling covariate `j` by `c` divides `coef[j]` (and `se[j]`, by `|c|`)
//!   by `c` and leaves the other coefficients, the log-likelihoods, the three
//!   tests and `cox.zph` unchanged; shifting a covariate changes nothing;
//! * Breslow = Efron when no two events share a time;
//! * splitting every row at an interior time into two counting-process rows
//!   `(start, cut]`, `(cut, stop]` gives the same fit (the partial likelihood
//!   only sees risk sets);
//! * near-ties within `aeqSurv`'s tolerance give the fit of exact ties.
//!
//! Comparisons are at 1e-8 relative (1e-11 absolute near zero): the
//! transformed data are summed in another order, so results agree to
//! rounding, not bit for bit (except Breslow = Efron, which is exact).

use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    CoxData, CoxFit, CoxOptions, CoxZph, StatsError, Ties, ZphTransform, cox_ph, cox_zph,
};

/// Standard normal from two uniforms (Box–Muller, one value per call).
fn normal(rng: &mut SplitMix64) -> f64 {
    (-2.0 * rng.next_f64_open().ln()).sqrt() * (std::f64::consts::TAU * rng.next_f64_open()).cos()
}

#[derive(Clone, Debug)]
struct Data {
    start: Option<Vec<f64>>,
    stop: Vec<f64>,
    event: Vec<bool>,
    x: Vec<Vec<f64>>,
    strata: Option<Vec<usize>>,
}

impl Data {
    fn with<T>(&self, f: impl FnOnce(&CoxData) -> T) -> T {
        let cols: Vec<&[f64]> = self.x.iter().map(|c| c.as_slice()).collect();
        f(&CoxData {
            start: self.start.as_deref(),
            stop: &self.stop,
            event: &self.event,
            covariates: &cols,
            strata: self.strata.as_deref(),
        })
    }
    fn fit(&self, ties: Ties) -> Result<(CoxFit, CoxZph), StatsError> {
        self.with(|d| {
            let opts = CoxOptions {
                ties,
                ..CoxOptions::default()
            };
            let fit = cox_ph(d, &opts)?;
            let zph = cox_zph(&fit, d, ZphTransform::Km)?;
            Ok((fit, zph))
        })
    }
    fn permuted(&self, perm: &[usize]) -> Data {
        let pick = |v: &Vec<f64>| perm.iter().map(|&i| v[i]).collect::<Vec<_>>();
        Data {
            start: self.start.as_ref().map(pick),
            stop: pick(&self.stop),
            event: perm.iter().map(|&i| self.event[i]).collect(),
            x: self.x.iter().map(pick).collect(),
            strata: self
                .strata
                .as_ref()
                .map(|s| perm.iter().map(|&i| s[i]).collect()),
        }
    }
}

/// Random data: 15–150 rows, 1–4 covariates (normal, binary, integer with a
/// large mean), integer times (ties) or continuous times, optional strata.
fn random_data(rng: &mut SplitMix64, continuous: bool) -> Data {
    let n = 15 + rng.below(136);
    let p = 1 + rng.below(4);
    let mut x = vec![Vec::with_capacity(n); p];
    let beta: Vec<f64> = (0..p).map(|_| normal(rng) * 0.5).collect();
    let kind: Vec<usize> = (0..p).map(|_| rng.below(3)).collect();
    let mut stop = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    let p_cens = 0.1 + 0.5 * rng.next_f64_open();
    for _ in 0..n {
        let mut lp = 0.0;
        for j in 0..p {
            let v = match kind[j] {
                0 => normal(rng),
                1 => f64::from(u8::from(rng.next_f64_open() < 0.5)),
                _ => (50 + rng.below(30)) as f64,
            };
            lp += beta[j] * if kind[j] == 2 { (v - 65.0) / 10.0 } else { v };
            x[j].push(v);
        }
        let t = -rng.next_f64_open().ln() / lp.exp() * 10.0;
        stop.push(if continuous { t } else { t.ceil().min(12.0) });
        event.push(rng.next_f64_open() > p_cens);
    }
    let strata = (rng.next_f64_open() < 0.3).then(|| (0..n).map(|_| rng.below(3) * 7).collect());
    Data {
        start: None,
        stop,
        event,
        x,
        strata,
    }
}

fn close(a: f64, b: f64) -> bool {
    let d = (a - b).abs();
    d <= 1e-8 * b.abs().max(a.abs()) || d <= 1e-11 || (a.is_nan() && b.is_nan())
}

/// Compare two fits; `skip_coef` excludes one coefficient (rescaled).
fn same_fit(
    ctx: &str,
    (a, za): &(CoxFit, CoxZph),
    (b, zb): &(CoxFit, CoxZph),
    skip_coef: Option<usize>,
) -> Result<(), String> {
    let mut bad = Vec::new();
    let mut cmp = |what: String, x: f64, y: f64| {
        if !close(x, y) {
            bad.push(format!("{what}: {x} vs {y}"));
        }
    };
    for j in 0..a.coef.len() {
        if Some(j) != skip_coef {
            cmp(format!("coef[{j}]"), a.coef[j], b.coef[j]);
            cmp(format!("se[{j}]"), a.se[j], b.se[j]);
        }
        // a negative scale flips the sign of its z
        if Some(j) == skip_coef {
            cmp(format!("|z[{j}]|"), a.z[j].abs(), b.z[j].abs());
        } else {
            cmp(format!("z[{j}]"), a.z[j], b.z[j]);
        }
        cmp(format!("p[{j}]"), a.p_value[j], b.p_value[j]);
    }
    cmp("loglik".into(), a.loglik, b.loglik);
    cmp("loglik_null".into(), a.loglik_null, b.loglik_null);
    for (name, s, t) in [
        ("LR", &a.likelihood_ratio, &b.likelihood_ratio),
        ("Wald", &a.wald, &b.wald),
        ("score", &a.score, &b.score),
    ] {
        cmp(name.to_string(), s.statistic, t.statistic);
        cmp(format!("{name} p"), s.p_value, t.p_value);
    }
    for (j, (s, t)) in za.terms.iter().zip(&zb.terms).enumerate() {
        cmp(format!("zph[{j}]"), s.statistic, t.statistic);
    }
    cmp(
        "zph global".into(),
        za.global.statistic,
        zb.global.statistic,
    );
    // (splitting rows changes n, never the events)
    if a.events != b.events {
        bad.push("events".into());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("{ctx}: {}", bad.join("; ")))
    }
}

/// Both fits succeed and agree, or both fail with the same kind of error.
fn check_pair(
    ctx: &str,
    a: &Result<(CoxFit, CoxZph), StatsError>,
    b: &Result<(CoxFit, CoxZph), StatsError>,
    skip: Option<usize>,
    compared: &mut usize,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            same_fit(ctx, a, b, skip).unwrap_or_else(|e| panic!("{e}"));
            *compared += 1;
        }
        (Err(x), Err(y)) => assert_eq!(
            std::mem::discriminant(x),
            std::mem::discriminant(y),
            "{ctx}: {x} vs {y}"
        ),
        _ => panic!("{ctx}: {a:?} vs {b:?}"),
    }
}

#[test]
fn invariant_to_row_order() {
    let mut rng = SplitMix64::new(0xC0C5_0001);
    let mut compared = 0;
    for case in 0..1500 {
        let d = random_data(&mut rng, case % 3 == 0);
        let ties = if case % 2 == 0 {
            Ties::Efron
        } else {
            Ties::Breslow
        };
        let mut perm: Vec<usize> = (0..d.stop.len()).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let base = d.fit(ties);
        let shuffled = d.permuted(&perm).fit(ties);
        check_pair(
            &format!("case {case}"),
            &base,
            &shuffled,
            None,
            &mut compared,
        );
    }
    assert!(compared >= 1200, "only {compared} of 1500 fits compared");
}

#[test]
fn rescaling_a_covariate_rescales_only_its_coefficient() {
    let mut rng = SplitMix64::new(0xC0C5_0002);
    let mut compared = 0;
    for case in 0..1500 {
        let d = random_data(&mut rng, case % 3 == 0);
        let j = rng.below(d.x.len());
        let c = [1000.0, 0.001, -2.5, 7.0][case % 4];
        let shift = [0.0, 100.0, -3.0][case % 3];
        let mut scaled = d.clone();
        scaled.x[j].iter_mut().for_each(|v| *v = *v * c + shift);
        let base = d.fit(Ties::Efron);
        let other = scaled.fit(Ties::Efron);
        let ctx = format!("case {case}, x[{j}] * {c} + {shift}");
        check_pair(&ctx, &base, &other, Some(j), &mut compared);
        if let (Ok((a, _)), Ok((b, _))) = (&base, &other) {
            assert!(close(b.coef[j] * c, a.coef[j]), "{ctx}: coef");
            assert!(close(b.se[j] * c.abs(), a.se[j]), "{ctx}: se");
        }
    }
    assert!(compared >= 1200, "only {compared} of 1500 fits compared");
}

#[test]
fn breslow_equals_efron_without_tied_events() {
    let mut rng = SplitMix64::new(0xC0C5_0003);
    let mut compared = 0;
    for _ in 0..1000 {
        let d = random_data(&mut rng, true);
        let (e, b) = (d.fit(Ties::Efron), d.fit(Ties::Breslow));
        match (&e, &b) {
            (Ok((e, ze)), Ok((b, zb))) => {
                // exactly: with one event per time both are the same sum
                assert_eq!(
                    (&e.coef, &e.variance, e.loglik, e.score, e.wald),
                    (&b.coef, &b.variance, b.loglik, b.score, b.wald)
                );
                assert_eq!(ze, zb);
                compared += 1;
            }
            _ => check_pair("breslow/efron", &e, &b, None, &mut 0),
        }
    }
    assert!(compared >= 800, "only {compared} of 1000 fits compared");
}

#[test]
fn splitting_rows_into_counting_process_intervals_changes_nothing() {
    let mut rng = SplitMix64::new(0xC0C5_0004);
    let mut compared = 0;
    for case in 0..1000 {
        let d = random_data(&mut rng, case % 2 == 0);
        let n = d.stop.len();
        let mut s = Data {
            start: Some(Vec::new()),
            stop: Vec::new(),
            event: Vec::new(),
            x: vec![Vec::new(); d.x.len()],
            strata: d.strata.as_ref().map(|_| Vec::new()),
        };
        let push = |s: &mut Data, i: usize, a: f64, b: f64, e: bool| {
            s.start.as_mut().unwrap().push(a);
            s.stop.push(b);
            s.event.push(e);
            for j in 0..d.x.len() {
                s.x[j].push(d.x[j][i]);
            }
            if let (Some(st), Some(ds)) = (s.strata.as_mut(), &d.strata) {
                st.push(ds[i]);
            }
        };
        for i in 0..n {
            let t = d.stop[i];
            // a cut strictly inside (0, t), on the grid of event times half
            // the time, so that cuts coincide with other rows' times
            let cut = if rng.next_f64_open() < 0.5 {
                (t * rng.next_f64_open()).floor()
            } else {
                t * (0.05 + 0.9 * rng.next_f64_open())
            };
            if cut > 0.0 && cut < t && rng.next_f64_open() < 0.7 {
                push(&mut s, i, 0.0, cut, false);
                push(&mut s, i, cut, t, d.event[i]);
            } else {
                push(&mut s, i, 0.0, t, d.event[i]);
            }
        }
        let mut d0 = d.clone();
        d0.start = Some(vec![0.0; n]);
        // the unsplit data as (0, t]: identical fit to right-censored data
        let a = d0.fit(Ties::Efron);
        let b = s.fit(Ties::Efron);
        let r = d.fit(Ties::Efron);
        check_pair(&format!("case {case} (0, t]"), &r, &a, None, &mut 0);
        match (&a, &b) {
            (Ok((fa, _)), Ok((fb, _))) => {
                // the fit is unchanged; cox.zph is not compared (its KM
                // transform is computed on the split rows, as R's)
                let dummy = CoxZph {
                    terms: vec![],
                    global: fa.score,
                };
                same_fit(
                    &format!("case {case} split"),
                    &(fa.clone(), dummy.clone()),
                    &(fb.clone(), dummy),
                    None,
                )
                .unwrap_or_else(|e| panic!("{e}"));
                compared += 1;
            }
            _ => check_pair(&format!("case {case} split"), &a, &b, None, &mut 0),
        }
    }
    assert!(compared >= 800, "only {compared} of 1000 fits compared");
}

#[test]
fn near_ties_are_merged_as_exact_ties() {
    let mut rng = SplitMix64::new(0xC0C5_0005);
    let mut compared = 0;
    for case in 0..500 {
        let d = random_data(&mut rng, false);
        let mut noisy = d.clone();
        // integer times moved by less than aeqSurv's tolerance, both ways
        for t in noisy.stop.iter_mut() {
            *t += (rng.next_f64_open() - 0.5) * 1e-9;
        }
        let a = d.fit(Ties::Efron);
        let b = noisy.fit(Ties::Efron);
        check_pair(&format!("case {case}"), &a, &b, None, &mut compared);
    }
    assert!(compared >= 400, "only {compared} of 500 fits compared");
}

/// Invalid input gives the typed error that names the problem.
#[test]
fn invalid_input_gives_typed_errors() {
    let stop = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let event = [true, false, true, true, false, true];
    let x = [0.5, -1.0, 2.0, 0.0, 1.0, -0.5];
    let cols: [&[f64]; 1] = [&x];
    let base = CoxData {
        start: None,
        stop: &stop,
        event: &event,
        covariates: &cols,
        strata: None,
    };
    let opts = CoxOptions::default();
    assert!(cox_ph(&base, &opts).is_ok());
    let fit = |d: &CoxData, o: &CoxOptions| cox_ph(d, o).unwrap_err();

    let empty: [&[f64]; 1] = [&[]];
    assert!(matches!(
        fit(
            &CoxData {
                stop: &[],
                event: &[],
                covariates: &empty,
                ..base
            },
            &opts
        ),
        StatsError::EmptyInput { what: "cox_ph" }
    ));
    assert!(matches!(
        fit(
            &CoxData {
                covariates: &[],
                ..base
            },
            &opts
        ),
        StatsError::InvalidParameter {
            name: "covariates",
            ..
        }
    ));
    assert!(matches!(
        fit(
            &CoxData {
                event: &event[..5],
                ..base
            },
            &opts
        ),
        StatsError::LengthMismatch { right: "event", .. }
    ));
    let neg = [1.0, 2.0, -3.0, 4.0, 5.0, 6.0];
    assert!(matches!(
        fit(&CoxData { stop: &neg, ..base }, &opts),
        StatsError::InvalidTime { index: 2, .. }
    ));
    let nan_x = [0.5, -1.0, f64::NAN, 0.0, 1.0, -0.5];
    let nan_cols: [&[f64]; 1] = [&nan_x];
    assert!(matches!(
        fit(
            &CoxData {
                covariates: &nan_cols,
                ..base
            },
            &opts
        ),
        StatsError::NonFinite { index: 2, .. }
    ));
    let start = [0.0, 0.0, 3.0, 0.0, 0.0, 0.0];
    assert!(matches!(
        fit(
            &CoxData {
                start: Some(&start),
                ..base
            },
            &opts
        ),
        StatsError::EmptyInterval { index: 2, .. }
    ));
    // an interval that aeqSurv shrinks to length 0
    let start_near = [0.0, 0.0, 3.0 - 1e-12, 0.0, 0.0, 0.0];
    assert!(matches!(
        fit(
            &CoxData {
                start: Some(&start_near),
                ..base
            },
            &opts
        ),
        StatsError::EmptyInterval { index: 2, .. }
    ));
    assert!(matches!(
        fit(
            &CoxData {
                event: &[false; 6],
                ..base
            },
            &opts
        ),
        StatsError::NoEvents { what: "cox_ph" }
    ));
    let x2 = [1.0, 0.0, 1.0, 2.0, 0.0, 1.0];
    let x3 = [3.0, 1.0, 0.0, 2.0, 5.0, 1.0];
    let three: [&[f64]; 3] = [&x, &x2, &x3];
    assert!(matches!(
        fit(
            &CoxData {
                event: &[true, false, false, true, false, false],
                covariates: &three,
                ..base
            },
            &opts
        ),
        StatsError::TooFewEvents {
            events: 2,
            parameters: 3,
            ..
        }
    ));
    assert!(matches!(
        fit(
            &base,
            &CoxOptions {
                max_iter: 1,
                ..opts
            }
        ),
        StatsError::NotConverged { iterations: 1, .. }
    ));
    for bad in [
        CoxOptions {
            conf_level: 1.0,
            ..opts
        },
        CoxOptions { eps: 0.0, ..opts },
        CoxOptions {
            max_iter: 0,
            ..opts
        },
    ] {
        assert!(matches!(
            fit(&base, &bad),
            StatsError::InvalidParameter { .. }
        ));
    }
    // cox_zph refuses data other than the fit's
    let f = cox_ph(&base, &opts).unwrap();
    assert!(matches!(
        cox_zph(
            &f,
            &CoxData {
                event: &[true, true, true, true, false, true],
                ..base
            },
            ZphTransform::Km
        ),
        Err(StatsError::Degenerate {
            what: "cox_zph",
            ..
        })
    ));
    let zero = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let z0 = CoxData {
        stop: &zero,
        ..base
    };
    let f0 = cox_ph(&z0, &opts).unwrap();
    assert!(matches!(
        cox_zph(&f0, &z0, ZphTransform::Log),
        Err(StatsError::Degenerate { .. })
    ));
}

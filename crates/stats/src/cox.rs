//! Cox proportional hazards regression, as R's `survival::coxph`,
//! `summary.coxph` and `cox.zph` (survival 3.5).
//!
//! The formulas, the algorithm and the references are in the documentation
//! of [`cox_ph`] (this module is private).

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

use statrs::distribution::{ContinuousCDF, Normal};

use crate::StatsError;
use crate::linalg::CHOL_TOLERANCE;
use crate::logrank::chisq_upper;
use crate::timefix::aeq_unchecked;

mod zph;

pub use zph::{CoxZph, ZphTransform, cox_zph};

const WHAT: &str = "cox_ph";

/// How tied event times enter the partial likelihood (`ties` of R's `coxph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ties {
    /// Efron (1977) approximation, R's default (`ties = "efron"`): with `d`
    /// tied events at `t`, the `k`-th (k = 0..d-1) denominator is
    /// `S0(t) - k/d S0_D(t)`.
    #[default]
    Efron,
    /// Breslow (1974) approximation (`ties = "breslow"`): every tied event
    /// sees the full risk set, `d log S0(t)`.
    Breslow,
}

/// Options of [`cox_ph`]: R's `coxph(ties = ...)` and `coxph.control()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoxOptions {
    /// Handling of tied event times (R `ties`, Efron by default).
    pub ties: Ties,
    /// Maximum Newton–Raphson iterations (R `iter.max`, 20).
    pub max_iter: usize,
    /// Convergence criterion on the relative change of the log partial
    /// likelihood, `|1 - l_old / l_new| <= eps` (R `eps`, 1e-9). It also sets
    /// the infinite-coefficient check (R `toler.inf = sqrt(eps)`).
    pub eps: f64,
    /// Pivot tolerance of the Cholesky decomposition, relative to the largest
    /// diagonal element (R `toler.chol`, `.Machine$double.eps^0.75`); a
    /// covariate whose pivot falls below it is collinear.
    pub toler_chol: f64,
    /// Level of the hazard-ratio confidence intervals (R `summary(fit,
    /// conf.int = 0.95)`).
    pub conf_level: f64,
}

impl Default for CoxOptions {
    /// Efron ties and R's `coxph.control()` defaults: `iter.max = 20`,
    /// `eps = 1e-9`, `toler.chol = .Machine$double.eps^0.75`; level 0.95.
    fn default() -> Self {
        CoxOptions {
            ties: Ties::Efron,
            max_iter: 20,
            eps: 1e-9,
            toler_chol: CHOL_TOLERANCE,
            conf_level: 0.95,
        }
    }
}

/// Input of [`cox_ph`] and [`cox_zph`]: parallel slices, one entry per row.
///
/// Right-censored data (`start = None`) is R's `Surv(stop, event)`;
/// counting-process data (`start = Some(..)`) is `Surv(start, stop, event)`,
/// where a row is at risk on `(start, stop]` — the form for time-varying
/// covariates (one row per interval with constant covariates).
///
/// Times must be finite and `>= 0` (cohortflow's times are durations from
/// the index date; R would also accept negative ones), covariates finite,
/// and `start < stop` on every row (R's `Surv()` turns such a row into `NA`
/// with a warning and `coxph` drops it; here it is an error). Rows with
/// missing values must be removed by the caller, as R's `na.omit`.
#[derive(Debug, Clone, Copy)]
pub struct CoxData<'a> {
    /// Start of each interval (counting process), or `None`.
    pub start: Option<&'a [f64]>,
    /// Event or censoring time (end of the interval).
    pub stop: &'a [f64],
    /// `true` for an event at `stop`, `false` for censoring.
    pub event: &'a [bool],
    /// One slice per covariate, each of length `n` (R's model matrix, by
    /// column; code factors as 0/1 dummies beforehand).
    pub covariates: &'a [&'a [f64]],
    /// Stratum label of each row (R's `strata()`); any labels, each label
    /// its own baseline hazard. `None`: one stratum.
    pub strata: Option<&'a [usize]>,
}

/// A chi-square test: statistic, degrees of freedom and upper-tail p-value
/// (`pchisq(statistic, df, lower.tail = FALSE)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// The chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// Upper-tail chi-square probability.
    pub p_value: f64,
}

/// A fitted Cox model: the numbers of R's `coxph` object and
/// `summary.coxph`. Vectors are indexed like [`CoxData::covariates`].
#[derive(Debug, Clone, PartialEq)]
pub struct CoxFit {
    /// Estimated coefficients `beta` (R `coef(fit)`).
    pub coef: Vec<f64>,
    /// Standard errors `sqrt(diag(variance))` (`se(coef)`).
    pub se: Vec<f64>,
    /// `exp(coef)` (`exp(coef)`).
    pub hazard_ratio: Vec<f64>,
    /// Lower confidence limit of the hazard ratio, `exp(coef - z se)` with
    /// `z = qnorm((1 + conf_level) / 2)` (`lower .95`).
    pub hr_lower: Vec<f64>,
    /// Upper confidence limit, `exp(coef + z se)` (`upper .95`).
    pub hr_upper: Vec<f64>,
    /// Wald statistic `coef / se` (`z`).
    pub z: Vec<f64>,
    /// Two-sided p-value of `z`, `pchisq(z^2, 1, lower.tail = FALSE)`
    /// (`Pr(>|z|)`).
    pub p_value: Vec<f64>,
    /// Variance–covariance matrix of `coef`, the inverse information at the
    /// final iteration (`vcov(fit)`, `fit$var`), `variance[i][j]`.
    pub variance: Vec<Vec<f64>>,
    /// Log partial likelihood at `beta = 0` (`fit$loglik[1]`).
    pub loglik_null: f64,
    /// Log partial likelihood at `coef` (`fit$loglik[2]`).
    pub loglik: f64,
    /// Newton–Raphson iterations (`fit$iter`).
    pub iterations: usize,
    /// Number of rows (`fit$n`).
    pub n: usize,
    /// Number of events (`fit$nevent`).
    pub events: usize,
    /// Likelihood-ratio test `2 (loglik - loglik_null)`, df = number of
    /// covariates (`summary(fit)$logtest`).
    pub likelihood_ratio: Test,
    /// Wald test `coef' variance^-1 coef` (`summary(fit)$waldtest`; R
    /// prints the statistic rounded to 2 decimals, this is the unrounded
    /// `fit$wald.test`).
    pub wald: Test,
    /// Score (log-rank) test `U(0)' I(0)^-1 U(0)` at `beta = 0`
    /// (`summary(fit)$sctest`, `fit$score`).
    pub score: Test,
    ties: Ties,
    counting: bool,
}

/// Fit a Cox proportional hazards model as R's
/// `coxph(Surv(stop, event) ~ x1 + ... + strata(s), ties = "efron")` (or
/// `Surv(start, stop, event)`), with the summaries of `summary.coxph`.
///
/// # Model
///
/// The hazard of subject `i` is `h_i(t) = h_0s(t) exp(x_i' beta)`, with a
/// baseline hazard `h_0s` free in each stratum `s`. `beta` maximises the
/// partial log-likelihood (Cox 1972)
///
/// ```text
/// l(beta) = sum over event times t, per stratum:
///           sum_{i in D(t)} x_i' beta - sum_{k=0}^{d-1} log( S0(t) - k/d S0_D(t) )   (Efron)
///           sum_{i in D(t)} x_i' beta - d log S0(t)                                  (Breslow)
/// ```
///
/// where `D(t)` are the `d` events at `t`, `R(t)` the risk set (subjects with
/// `stop >= t`, and `start < t` for counting-process data),
/// `S0(t) = sum_{R(t)} exp(x' beta)` and `S0_D(t)` the same sum over `D(t)`.
/// The score `U` and information `I` are the first and minus second
/// derivatives (Therneau & Grambsch 2000, §3.2–3.3).
///
/// # Algorithm (that of survival's `coxfit6.c` and `agfit4.c`)
///
/// * Times are merged with `aeqSurv` ([`crate::aeq_times`]; for
///   counting-process data on the pooled start and stop times), as
///   `coxph(control = coxph.control(timefix = TRUE))`.
/// * Covariates are centred at their means and scaled by
///   `n / sum |x - mean|` before fitting (results are returned on the
///   original scale); this changes only rounding.
/// * Rows are sorted once by stratum and descending stop time; each
///   evaluation of `l`, `U`, `I` is one pass over the rows, accumulating the
///   risk-set sums `S0`, `S1 = sum exp(eta) x`, `S2 = sum exp(eta) x x'`
///   (O(n p²); for counting-process data a second pointer over the rows
///   sorted by descending start time removes rows from the risk set).
/// * Newton–Raphson from `beta = 0`; a step that lowers the log-likelihood
///   (or makes it non-finite) is "halved": `beta_new = (beta_new + h beta) /
///   (h + 1)` for the `h`-th consecutive failure. Convergence when
///   `|1 - l_best / l_new| <= eps`. For counting-process data `agfit4`'s rule
///   is used: no convergence is declared on a step that follows halving.
/// * The variance is the inverse of `I` at the final `beta` (Cholesky
///   `LDL'` with pivots below `toler_chol * max(diag)` treated as zero,
///   survival's `cholesky2`/`chinv2`).
/// * The arithmetic is that of the C code, except that each Efron step
///   multiplies by `1 / S0` where `coxfit6.c` divides element by element,
///   that the `d` logarithms of Efron's denominators at one time are taken
///   as logarithms of running products (flushed before they can overflow),
///   and that `agfit4.c`'s recentring of `eta` (only when the mean linear
///   predictor of a risk set exceeds 200 in absolute value) is not done.
///   These change results by rounding only (the conformance tests measure
///   at most 2.4e-12 relative against R's `coxph` values).
///
/// # References
///
/// * Cox DR (1972). Regression models and life-tables. JRSS B 34:187–220.
/// * Efron B (1977). The efficiency of Cox's likelihood function for
///   censored data. JASA 72:557–565.
/// * Breslow NE (1974). Covariance analysis of censored survival data.
///   Biometrics 30:89–99.
/// * Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the
///   Cox Model. Springer (§3 estimation and tests, §6.2 the `cox.zph` test).
/// * Therneau T (2023). survival 3.5: `coxph`, `coxph.fit`, `agreg.fit`,
///   `coxfit6.c`, `agfit4.c`, `cox.zph`, `zph1.c`, `zph2.c`.
///
/// # Results
///
/// The algorithm follows survival 3.5's `coxfit6.c` (right-censored) and
/// `agfit4.c` (counting process) step for step, so the iterations, and hence
/// every digit of the result, agree with R. Tests:
///
/// * likelihood ratio `2 (l(beta) - l(0))`,
/// * Wald `beta' V^-1 beta` (R's `coxph.wtest`),
/// * score `U(0)' I(0)^-1 U(0)` (the log-rank test for one binary covariate),
///
/// each on `p` degrees of freedom.
///
/// Where R warns and carries on, this returns an error (a silent wrong
/// number is worse than none):
///
/// * [`StatsError::Collinear`]: a covariate is constant or collinear
///   (R: coefficient `NA`, "X matrix deemed to be singular").
/// * [`StatsError::NotConverged`]: `max_iter` reached (R: "Ran out of
///   iterations and did not converge").
/// * [`StatsError::InfiniteCoefficient`]: monotone likelihood, flagged by
///   R's own rule: the last Newton step `|U' V|` exceeds `eps` and
///   `sqrt(eps) |beta|` (right-censored; `sqrt(eps) (1 + |beta|)` for
///   counting-process data, as `agreg.fit`) (R: "coefficient may be
///   infinite"). R skips this check when `iter.max <= 1`; here it always
///   applies.
///
/// Other errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::InvalidTime`] (negative or non-finite time),
/// [`StatsError::NonFinite`] (covariate), [`StatsError::EmptyInterval`],
/// [`StatsError::NoEvents`], [`StatsError::TooFewEvents`] (fewer events
/// than covariates), [`StatsError::InvalidParameter`] (no covariates, or
/// options out of range).
///
/// Reference: Therneau & Grambsch (2000) §3; R `survival::coxph`,
/// `coxph.fit`, `agreg.fit`, `summary.coxph`.
pub fn cox_ph(data: &CoxData, opts: &CoxOptions) -> Result<CoxFit, StatsError> {
    check_options(opts)?;
    let prep = Prepared::new(WHAT, data)?;
    let p = prep.p;
    if prep.events == 0 {
        return Err(StatsError::NoEvents { what: WHAT });
    }
    if prep.events < p {
        return Err(StatsError::TooFewEvents {
            what: WHAT,
            events: prep.events,
            parameters: p,
        });
    }
    let newton = if prep.counting.is_some() {
        newton_agfit4(&prep, opts)?
    } else {
        newton_coxfit6(&prep, opts)?
    };

    // back to the original scale
    let coef: Vec<f64> = (0..p).map(|i| newton.beta[i] * prep.scale[i]).collect();
    let u: Vec<f64> = (0..p).map(|i| newton.u[i] / prep.scale[i]).collect();
    let mut var = newton.var;
    for i in 0..p {
        for j in 0..p {
            var[i * p + j] *= prep.scale[i] * prep.scale[j];
        }
    }

    // R's infinite-coefficient warning (coxph.fit / agreg.fit), as an error
    let toler_inf = opts.eps.sqrt();
    for i in 0..p {
        let step: f64 = (0..p).map(|j| u[j] * var[j * p + i]).sum::<f64>().abs();
        let infinite = if prep.counting.is_some() {
            !u[i].is_finite() || step > toler_inf * (1.0 + coef[i].abs())
        } else {
            !u[i].is_finite() || (step > opts.eps && step > toler_inf * coef[i].abs())
        };
        if infinite || !coef[i].is_finite() {
            return Err(StatsError::InfiniteCoefficient {
                what: WHAT,
                covariate: i,
            });
        }
    }

    let se: Vec<f64> = (0..p).map(|i| var[i * p + i].sqrt()).collect();
    let zq = Normal::standard().inverse_cdf((1.0 + opts.conf_level) / 2.0);
    let z: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| b / s).collect();
    let p_value = z
        .iter()
        .map(|z| chisq_upper(WHAT, z * z, 1))
        .collect::<Result<Vec<_>, _>>()?;
    let lr = 2.0 * (newton.loglik - newton.loglik_null);
    let wald = wald_statistic(&var, &coef, p, opts.toler_chol);
    let test = |statistic: f64| -> Result<Test, StatsError> {
        Ok(Test {
            statistic,
            df: p,
            p_value: chisq_upper(WHAT, statistic, p)?,
        })
    };
    Ok(CoxFit {
        hazard_ratio: coef.iter().map(|b| b.exp()).collect(),
        hr_lower: coef
            .iter()
            .zip(&se)
            .map(|(b, s)| (b - zq * s).exp())
            .collect(),
        hr_upper: coef
            .iter()
            .zip(&se)
            .map(|(b, s)| (b + zq * s).exp())
            .collect(),
        variance: (0..p).map(|i| var[i * p..(i + 1) * p].to_vec()).collect(),
        likelihood_ratio: test(lr)?,
        wald: test(wald)?,
        score: test(newton.score)?,
        coef,
        se,
        z,
        p_value,
        loglik_null: newton.loglik_null,
        loglik: newton.loglik,
        iterations: newton.iterations,
        n: prep.n,
        events: prep.events,
        ties: opts.ties,
        counting: prep.counting.is_some(),
    })
}

fn check_options(opts: &CoxOptions) -> Result<(), StatsError> {
    let bad = |name, value: f64, expected| {
        Err(StatsError::InvalidParameter {
            what: WHAT,
            name,
            value,
            expected,
        })
    };
    if !(opts.conf_level > 0.0 && opts.conf_level < 1.0) {
        return bad(
            "conf_level",
            opts.conf_level,
            "a number strictly between 0 and 1",
        );
    }
    if !(opts.eps > 0.0 && opts.eps.is_finite()) {
        return bad("eps", opts.eps, "a finite number > 0");
    }
    if !(opts.toler_chol > 0.0 && opts.toler_chol < 1.0) {
        return bad("toler_chol", opts.toler_chol, "a number in (0, 1)");
    }
    if opts.max_iter == 0 {
        return bad("max_iter", 0.0, "at least 1");
    }
    Ok(())
}

/// R's `coxph.wtest(var, b, toler.chol)`: `b' var^- b` through `cholesky2`.
fn wald_statistic(var: &[f64], b: &[f64], p: usize, toler: f64) -> f64 {
    if p == 1 {
        return b[0] * b[0] / var[0];
    }
    let ch = Chol::new(var, p, toler);
    let mut s = b.to_vec();
    ch.solve(&mut s);
    b.iter().zip(&s).map(|(x, y)| x * y).sum()
}

// ---------------------------------------------------------------------------
// Data preparation: validation, timefix, one sort, centring and scaling.
// ---------------------------------------------------------------------------

/// Counting-process part of [`Prepared`].
pub(crate) struct Counting {
    /// Start time (after timefix), in processing order.
    pub(crate) start: Vec<f64>,
    /// Processing positions sorted by stratum block, then descending start.
    pub(crate) by_start: Vec<u32>,
    /// `start` in the order of `by_start`.
    pub(crate) start_desc: Vec<f64>,
    /// The covariate rows (`n * p`) in the order of `by_start`.
    pub(crate) x_desc: Vec<f64>,
}

/// The rows in processing order: strata blocks (in order of the label),
/// descending stop time within each; covariates centred and scaled,
/// row-major.
pub(crate) struct Prepared {
    pub(crate) n: usize,
    pub(crate) p: usize,
    pub(crate) events: usize,
    /// Stop time (after timefix).
    pub(crate) time: Vec<f64>,
    pub(crate) status: Vec<bool>,
    /// `n * p`, row-major, `(x - mean) * scale`.
    pub(crate) x: Vec<f64>,
    /// `[lo, hi)` of each stratum in processing order.
    pub(crate) blocks: Vec<(usize, usize)>,
    pub(crate) counting: Option<Counting>,
    /// Column scale factors `n / sum |x - mean|` (1 for a constant column).
    pub(crate) scale: Vec<f64>,
}

impl Prepared {
    pub(crate) fn new(what: &'static str, data: &CoxData) -> Result<Prepared, StatsError> {
        let n = data.stop.len();
        let p = data.covariates.len();
        if n == 0 {
            return Err(StatsError::EmptyInput { what });
        }
        if p == 0 {
            return Err(StatsError::InvalidParameter {
                what,
                name: "covariates",
                value: 0.0,
                expected: "at least one covariate",
            });
        }
        let same = |right: &'static str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(StatsError::LengthMismatch {
                    what,
                    left: "stop",
                    left_len: n,
                    right,
                    right_len: len,
                })
            }
        };
        same("event", data.event.len())?;
        if let Some(s) = data.start {
            same("start", s.len())?;
        }
        if let Some(s) = data.strata {
            same("strata", s.len())?;
        }
        for c in data.covariates {
            same("covariates[j]", c.len())?;
        }
        crate::km::check_times(what, data.stop)?;
        if let Some(s) = data.start {
            crate::km::check_times(what, s)?;
            for i in 0..n {
                if s[i] >= data.stop[i] {
                    return Err(StatsError::EmptyInterval {
                        what,
                        index: i,
                        start: s[i],
                        stop: data.stop[i],
                    });
                }
            }
        }
        for c in data.covariates {
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(StatsError::NonFinite {
                    what,
                    name: "covariates",
                    index: i,
                    value: c[i],
                });
            }
        }

        // stratum of each row as a dense rank of its label
        let (srank, nstrata) = match data.strata {
            None => (None, 1),
            Some(s) => {
                let (r, k) = dense_ranks(s);
                (Some(r), k)
            }
        };

        // timefix (aeqSurv): merge near-tied times among the distinct
        // values (of stop, or of start and stop together); every row gets
        // the index of its time among those distinct values
        let tf = timefix(what, data.stop, data.start)?;

        // one sort, stable counting sorts on the distinct-time index:
        // stratum ascending, stop descending
        let k = tf.merged.len();
        let desc_stop: Vec<u32> = tf.stop_idx.iter().map(|&i| (k - 1) as u32 - i).collect();
        let mut order = counting_sort((0..n as u32).collect(), &desc_stop, k);
        if let Some(r) = &srank {
            order = counting_sort(order, r, nstrata);
        }

        let time: Vec<f64> = order
            .iter()
            .map(|&i| tf.merged[tf.stop_idx[i as usize] as usize])
            .collect();
        let status: Vec<bool> = order.iter().map(|&i| data.event[i as usize]).collect();
        let events = status.iter().filter(|&&e| e).count();
        let mut blocks = Vec::with_capacity(nstrata);
        match &srank {
            None => blocks.push((0, n)),
            Some(r) => {
                let mut lo = 0;
                for k in 1..=n {
                    if k == n || r[order[k] as usize] != r[order[lo] as usize] {
                        blocks.push((lo, k));
                        lo = k;
                    }
                }
            }
        }

        // centre and scale (coxfit6.c): mean over all rows,
        // scale = n / sum |x - mean|
        // rows are read in their original order and scattered to their
        // sorted position (random stores are cheaper than random loads)
        let mut pos_of = vec![0u32; n];
        for (pos, &i) in order.iter().enumerate() {
            pos_of[i as usize] = pos as u32;
        }
        let mut x = vec![0.0; n * p];
        let mut scale = vec![1.0; p];
        for (j, col) in data.covariates.iter().enumerate() {
            let mean = col.iter().sum::<f64>() / n as f64;
            let abs_dev: f64 = col.iter().map(|v| (v - mean).abs()).sum();
            let s = if abs_dev > 0.0 {
                n as f64 / abs_dev
            } else {
                1.0
            };
            scale[j] = s;
            for (v, &pos) in col.iter().zip(&pos_of) {
                x[pos as usize * p + j] = (v - mean) * s;
            }
        }

        let counting = tf.start_idx.as_ref().map(|start_idx| {
            let start: Vec<f64> = order
                .iter()
                .map(|&i| tf.merged[start_idx[i as usize] as usize])
                .collect();
            // positions by descending start, then (stably) by block
            let desc_start: Vec<u32> = order
                .iter()
                .map(|&i| (k - 1) as u32 - start_idx[i as usize])
                .collect();
            let mut by_start = counting_sort((0..n as u32).collect(), &desc_start, k);
            if blocks.len() > 1 {
                let mut block_of = vec![0u32; n];
                for (b, &(lo, hi)) in blocks.iter().enumerate() {
                    block_of[lo..hi].iter_mut().for_each(|v| *v = b as u32);
                }
                by_start = counting_sort(by_start, &block_of, blocks.len());
            }
            let start_desc = by_start.iter().map(|&pos| start[pos as usize]).collect();
            let mut x_desc = vec![0.0; n * p];
            for (w, &pos) in by_start.iter().enumerate() {
                let pos = pos as usize;
                for j in 0..p {
                    x_desc[w * p + j] = x[pos * p + j];
                }
            }
            Counting {
                start,
                by_start,
                start_desc,
                x_desc,
            }
        });

        Ok(Prepared {
            n,
            p,
            events,
            time,
            status,
            x,
            blocks,
            counting,
            scale,
        })
    }
}

/// Dense ranks `0..k` of arbitrary labels, in order of the label.
fn dense_ranks(s: &[usize]) -> (Vec<u32>, usize) {
    let max = s.iter().copied().max().unwrap_or(0);
    if max <= 4 * s.len() + 16 {
        let mut seen = vec![u32::MAX; max + 1];
        for &v in s {
            seen[v] = 0;
        }
        let mut k = 0u32;
        for v in seen.iter_mut() {
            if *v == 0 {
                *v = k;
                k += 1;
            }
        }
        (s.iter().map(|&v| seen[v]).collect(), k as usize)
    } else {
        let mut u = s.to_vec();
        u.sort_unstable();
        u.dedup();
        let r = s
            .iter()
            .map(|v| u.binary_search(v).expect("present") as u32)
            .collect();
        (r, u.len())
    }
}

/// Stable counting sort of `items` (row numbers) by `key[item]` in
/// `0..buckets`.
fn counting_sort(items: Vec<u32>, key: &[u32], buckets: usize) -> Vec<u32> {
    let mut first = vec![0usize; buckets + 1];
    for &it in &items {
        first[key[it as usize] as usize + 1] += 1;
    }
    for b in 0..buckets {
        first[b + 1] += first[b];
    }
    let mut out = vec![0u32; items.len()];
    for &it in &items {
        let b = key[it as usize] as usize;
        out[first[b]] = it;
        first[b] += 1;
    }
    out
}

/// The distinct values of `all` (ascending) and the index of each element
/// among them, through a small open-addressing hash table, or `None` if
/// there are more than `limit` distinct values (times are finite and >= 0,
/// so `u64::MAX`, a NaN pattern, marks an empty slot).
fn few_distinct(all: &[f64], limit: usize) -> Option<(Vec<f64>, Vec<u32>)> {
    // the table starts small (cache-resident) and doubles at half load
    let mut bits = 10u32;
    let mut keys = vec![u64::MAX; 1 << bits];
    let mut ids = vec![0u32; 1 << bits];
    let slot = |b: u64, bits: u32| (b.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize;
    let mut vals: Vec<f64> = Vec::new();
    let mut idx: Vec<u32> = Vec::with_capacity(all.len());
    for &t in all {
        let b = t.to_bits();
        let mask = (1usize << bits) - 1;
        let mut h = slot(b, bits);
        loop {
            if keys[h] == b {
                idx.push(ids[h]);
                break;
            }
            if keys[h] == u64::MAX {
                if vals.len() == limit {
                    return None;
                }
                keys[h] = b;
                ids[h] = vals.len() as u32;
                idx.push(ids[h]);
                vals.push(t);
                if 2 * vals.len() > mask + 1 {
                    bits += 1;
                    keys = vec![u64::MAX; 1 << bits];
                    ids = vec![0u32; 1 << bits];
                    let mask = (1usize << bits) - 1;
                    for (id, v) in vals.iter().enumerate() {
                        let vb = v.to_bits();
                        let mut h = slot(vb, bits);
                        while keys[h] != u64::MAX {
                            h = (h + 1) & mask;
                        }
                        keys[h] = vb;
                        ids[h] = id as u32;
                    }
                }
                break;
            }
            h = (h + 1) & mask;
        }
    }
    let mut ord: Vec<u32> = (0..vals.len() as u32).collect();
    ord.sort_unstable_by(|&a, &b| vals[a as usize].total_cmp(&vals[b as usize]));
    let mut rank = vec![0u32; vals.len()];
    for (r, &id) in ord.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    idx.iter_mut().for_each(|i| *i = rank[*i as usize]);
    Some((ord.iter().map(|&id| vals[id as usize]).collect(), idx))
}

/// [`few_distinct`] for many distinct values: one sort of (value, position).
fn sorted_distinct(all: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let mut pairs: Vec<(u64, u32)> = all
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_bits(), i as u32))
        .collect();
    pairs.sort_unstable();
    let mut idx = vec![0u32; all.len()];
    let mut u: Vec<f64> = Vec::new();
    for w in 0..pairs.len() {
        if w == 0 || pairs[w].0 != pairs[w - 1].0 {
            u.push(f64::from_bits(pairs[w].0));
        }
        idx[pairs[w].1 as usize] = (u.len() - 1) as u32;
    }
    (u, idx)
}

/// Times after R's `aeqSurv`: the merged distinct times (ascending) and the
/// index of each row's stop (and start) time among them.
struct TimeIndex {
    merged: Vec<f64>,
    stop_idx: Vec<u32>,
    start_idx: Option<Vec<u32>>,
}

/// R's `aeqSurv` on `Surv(stop, event)` or `Surv(start, stop, event)`:
/// [`crate::aeq_times`] applied to the distinct values of the time columns
/// together (its result depends only on those), then mapped back to the
/// rows.
fn timefix(
    what: &'static str,
    stop: &[f64],
    start: Option<&[f64]>,
) -> Result<TimeIndex, StatsError> {
    let n = stop.len();
    // all time values, -0.0 normalised to +0.0 (times are >= 0, so the bit
    // patterns sort like the numbers)
    let mut all: Vec<f64> = Vec::with_capacity(if start.is_some() { 2 * n } else { n });
    all.extend(stop.iter().map(|t| t + 0.0));
    if let Some(s) = start {
        all.extend(s.iter().map(|t| t + 0.0));
    }
    let m = all.len();
    let (u, idx) = match few_distinct(&all, m / 8 + 64) {
        Some(found) => found,
        None => sorted_distinct(&all),
    };
    let merged = aeq_unchecked(&u);
    let mut stop_idx = idx;
    let start_idx = start.map(|_| stop_idx.split_off(n));
    if let (Some(s), Some(si)) = (start, &start_idx) {
        for i in 0..n {
            if merged[si[i] as usize] >= merged[stop_idx[i] as usize] {
                // R: "aeqSurv exception, an interval has effective length 0"
                return Err(StatsError::EmptyInterval {
                    what,
                    index: i,
                    start: s[i],
                    stop: stop[i],
                });
            }
        }
    }
    Ok(TimeIndex {
        merged,
        stop_idx,
        start_idx,
    })
}

// ---------------------------------------------------------------------------
// One pass: log partial likelihood, score and information at beta.
// ---------------------------------------------------------------------------

/// Result of one pass. With a time weight `g` (the `cox.zph` case), `u` and
/// `imat` are the `2p` system of `zph1.c`/`zph2.c`: `u[p + i]` and the blocks
/// `I_g = sum g V`, `I_gg = sum g^2 V`.
pub(crate) struct Pass {
    pub(crate) loglik: f64,
    pub(crate) u: Vec<f64>,
    /// `q x q` row-major, `q = p` (or `2p` with a time weight), full.
    pub(crate) imat: Vec<f64>,
}

/// Running risk-set sums of one stratum: `S0`, `S1` and the lower triangle
/// of `S2` (packed), for the rows at risk (`main`) and the tied events of
/// the current time (`dead`).
struct Sums {
    denom: f64,
    a: Vec<f64>,
    cmat: Vec<f64>,
}

impl Sums {
    fn new(p: usize) -> Sums {
        Sums {
            denom: 0.0,
            a: vec![0.0; p],
            cmat: vec![0.0; p * p],
        }
    }
    fn clear(&mut self) {
        self.denom = 0.0;
        self.a.iter_mut().for_each(|v| *v = 0.0);
        self.cmat.iter_mut().for_each(|v| *v = 0.0);
    }
    /// Add a row with risk score `risk` and covariates `xi` (`p` is a
    /// compile-time constant in the specialised passes, so these loops
    /// unroll and lose their bounds checks).
    #[inline(always)]
    fn add(&mut self, risk: f64, xi: &[f64], p: usize) {
        self.denom += risk;
        let a = &mut self.a[..p];
        let c = &mut self.cmat[..p * p];
        let xi = &xi[..p];
        for i in 0..p {
            let rx = risk * xi[i];
            a[i] += rx;
            for j in 0..=i {
                c[i * p + j] += rx * xi[j];
            }
        }
    }
    #[inline(always)]
    fn sub(&mut self, risk: f64, xi: &[f64], p: usize) {
        self.denom -= risk;
        let a = &mut self.a[..p];
        let c = &mut self.cmat[..p * p];
        let xi = &xi[..p];
        for i in 0..p {
            let rx = risk * xi[i];
            a[i] -= rx;
            for j in 0..=i {
                c[i * p + j] -= rx * xi[j];
            }
        }
    }
}

/// Accumulator of one pass.
struct Acc {
    p: usize,
    q: usize,
    inc_a: Vec<f64>,
    inc_c: Vec<f64>,
    loglik: f64,
    u: Vec<f64>,
    imat: Vec<f64>,
}

impl Acc {
    /// Add the `ndead` tied events at one time (sums of the events in
    /// `dead`, already summed `x` of the events in `u`), as the death step
    /// of `coxfit6.c` (Breslow, or Efron's `ndead` fractional steps), with
    /// the optional time weight `g` of `zph1.c`.
    #[inline(always)]
    fn deaths(
        &mut self,
        main: &mut Sums,
        dead: &Sums,
        ndead: usize,
        ties: Ties,
        g: Option<f64>,
        p: usize,
    ) {
        let q = self.q;
        let deadwt = ndead as f64;
        let (steps, frac, wt) = if ties == Ties::Breslow || ndead == 1 {
            (1, 1.0, deadwt)
        } else {
            (ndead, deadwt, 1.0)
        };
        if steps == 1 {
            // Breslow, or a single event (coxfit6.c's first branch)
            main.denom += dead.denom;
            let denom = main.denom;
            self.loglik -= wt * denom.ln();
            let inv = 1.0 / denom;
            let a = &mut main.a[..p];
            let cmat = &mut main.cmat[..p * p];
            for i in 0..p {
                a[i] += dead.a[i];
                let mean = a[i] * inv;
                self.u[i] -= wt * mean;
                if let Some(g) = g {
                    self.u[i + p] -= g * wt * mean;
                }
                for j in 0..=i {
                    let k = i * p + j;
                    cmat[k] += dead.cmat[k];
                    let v = wt * (cmat[k] - mean * a[j]) * inv;
                    self.imat[i * q + j] += v;
                    if let Some(g) = g {
                        self.imat[i * q + j + p] += v * g;
                        self.imat[(i + p) * q + j + p] += v * g * g;
                    }
                }
            }
            return;
        }
        // the increments of one Efron step, dead/ndead: the same quotients
        // coxfit6.c recomputes at every step
        let inc_denom = dead.denom / frac;
        let inc_a = &mut self.inc_a[..p];
        let inc_c = &mut self.inc_c[..p * p];
        for i in 0..p {
            inc_a[i] = dead.a[i] / frac;
            for j in 0..=i {
                inc_c[i * p + j] = dead.cmat[i * p + j] / frac;
            }
        }
        let a = &mut main.a[..p];
        let cmat = &mut main.cmat[..p * p];
        // sum of log(denom_k) as the log of running products (flushed long
        // before they could overflow or underflow): far fewer logarithms
        // than one per step, the same sum up to rounding (wt = 1 here)
        let mut log_sum = 0.0;
        let mut prod = 1.0_f64;
        for _ in 0..steps {
            main.denom += inc_denom;
            let denom = main.denom;
            if (1e-100..=1e100).contains(&denom) {
                prod *= denom;
                if !(1e-150..=1e150).contains(&prod) {
                    log_sum += prod.ln();
                    prod = 1.0;
                }
            } else {
                log_sum += denom.ln();
            }
            // one division per step (coxfit6.c divides per element; the
            // difference is at most an ulp per term)
            let inv = 1.0 / denom;
            for i in 0..p {
                a[i] += inc_a[i];
                let mean = a[i] * inv;
                self.u[i] -= wt * mean;
                if let Some(g) = g {
                    self.u[i + p] -= g * wt * mean;
                }
                for j in 0..=i {
                    let k = i * p + j;
                    cmat[k] += inc_c[k];
                    let v = wt * (cmat[k] - mean * a[j]) * inv;
                    self.imat[i * q + j] += v;
                    if let Some(g) = g {
                        self.imat[i * q + j + p] += v * g;
                        self.imat[(i + p) * q + j + p] += v * g * g;
                    }
                }
            }
        }
        self.loglik -= wt * (log_sum + prod.ln());
    }

    fn finish(mut self) -> Pass {
        // fill the symmetric matrix from its lower triangle(s)
        let (p, q) = (self.p, self.q);
        for i in 0..p {
            for j in 0..i {
                self.imat[j * q + i] = self.imat[i * q + j];
                if q > p {
                    self.imat[(j + p) * q + i + p] = self.imat[(i + p) * q + j + p];
                    self.imat[j * q + i + p] = self.imat[i * q + j + p];
                }
            }
        }
        if q > p {
            for i in 0..p {
                for j in 0..p {
                    self.imat[(i + p) * q + j] = self.imat[j * q + i + p];
                }
            }
        }
        Pass {
            loglik: self.loglik,
            u: self.u,
            imat: self.imat,
        }
    }
}

/// Evaluate the log partial likelihood, score and information at `beta`
/// (scaled coordinates). `gt`, per processing position, turns on the `2p`
/// system of `cox.zph`.
pub(crate) fn pass(prep: &Prepared, beta: &[f64], ties: Ties, gt: Option<&[f64]>) -> Pass {
    match prep.p {
        1 => pass_p::<1>(prep, beta, ties, gt),
        2 => pass_p::<2>(prep, beta, ties, gt),
        3 => pass_p::<3>(prep, beta, ties, gt),
        4 => pass_p::<4>(prep, beta, ties, gt),
        5 => pass_p::<5>(prep, beta, ties, gt),
        6 => pass_p::<6>(prep, beta, ties, gt),
        _ => pass_p::<0>(prep, beta, ties, gt),
    }
}

/// [`pass`] for `P` covariates (`P = 0`: any number, known at run time).
fn pass_p<const P: usize>(prep: &Prepared, beta: &[f64], ties: Ties, gt: Option<&[f64]>) -> Pass {
    let p = if P == 0 { prep.p } else { P };
    let beta = &beta[..p];
    let q = if gt.is_some() { 2 * p } else { p };
    let mut acc = Acc {
        p,
        q,
        inc_a: vec![0.0; p],
        inc_c: vec![0.0; p * p],
        loglik: 0.0,
        u: vec![0.0; q],
        imat: vec![0.0; q * q],
    };
    let mut main = Sums::new(p);
    let mut dead = Sums::new(p);
    let x = &prep.x;
    let time = &prep.time;
    let status = &prep.status;
    match &prep.counting {
        None => {
            // sums[0]: rows at risk; sums[1]: the tied events of this time.
            // A row goes to sums[status] and adds status * (x, x'beta) to the
            // score and log-likelihood: no data-dependent branch.
            let mut sums = [main, dead];
            for &(lo, hi) in &prep.blocks {
                sums[0].clear();
                let mut i = lo;
                while i < hi {
                    let dtime = time[i];
                    let g = gt.map(|g| g[i]);
                    let mut ndead = 0;
                    sums[1].clear();
                    while i < hi && time[i] == dtime {
                        let xi = &x[i * p..(i + 1) * p];
                        let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                        let risk = zb.exp();
                        let d = usize::from(status[i]);
                        let w = d as f64;
                        ndead += d;
                        acc.loglik += w * zb;
                        let u = &mut acc.u[..p];
                        for k in 0..p {
                            u[k] += w * xi[k];
                        }
                        if let Some(g) = g {
                            for k in 0..p {
                                acc.u[k + p] += w * g * xi[k];
                            }
                        }
                        sums[d].add(risk, xi, p);
                        i += 1;
                    }
                    if ndead > 0 {
                        let (m, dd) = sums.split_at_mut(1);
                        acc.deaths(&mut m[0], &dd[0], ndead, ties, g, p);
                    }
                }
            }
        }
        Some(cp) => {
            let start = &cp.start;
            let mut added = vec![false; prep.n];
            let mut ip = 0; // pointer into by_start (blocks are consecutive)
            for &(lo, hi) in &prep.blocks {
                main.clear();
                let mut nrisk = 0usize;
                let mut person = lo;
                while person < hi {
                    // next event time
                    let Some(k) = (person..hi).find(|&k| status[k]) else {
                        break;
                    };
                    let dtime = time[k];
                    let g = gt.map(|g| g[k]);
                    // rows whose interval starts at or after dtime leave
                    // (read in start order from copies, so sequentially; the
                    // risk score is recomputed, the same double as when the
                    // row entered)
                    while ip < hi && cp.start_desc[ip] >= dtime {
                        let r = cp.by_start[ip] as usize;
                        let xr = &cp.x_desc[ip * p..(ip + 1) * p];
                        ip += 1;
                        if !added[r] {
                            continue;
                        }
                        nrisk -= 1;
                        if nrisk == 0 {
                            main.clear();
                        } else {
                            let zb: f64 = beta.iter().zip(xr).map(|(b, v)| b * v).sum();
                            main.sub(zb.exp(), xr, p);
                        }
                    }
                    // rows with stop >= dtime enter (if start < dtime)
                    let mut ndead = 0;
                    dead.clear();
                    while person < hi && time[person] >= dtime {
                        let r = person;
                        person += 1;
                        let xi = &x[r * p..(r + 1) * p];
                        if status[r] {
                            let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                            let rk = zb.exp();
                            added[r] = true;
                            nrisk += 1;
                            ndead += 1;
                            acc.loglik += zb;
                            for k in 0..p {
                                acc.u[k] += xi[k];
                            }
                            if let Some(g) = g {
                                for k in 0..p {
                                    acc.u[k + p] += g * xi[k];
                                }
                            }
                            dead.add(rk, xi, p);
                        } else if start[r] < dtime {
                            let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                            let rk = zb.exp();
                            added[r] = true;
                            nrisk += 1;
                            main.add(rk, xi, p);
                        }
                    }
                    acc.deaths(&mut main, &dead, ndead, ties, g, p);
                }
                // skip the remaining start pointers of this block
                while ip < hi {
                    ip += 1;
                }
            }
        }
    }
    acc.finish()
}

// ---------------------------------------------------------------------------
// Newton–Raphson drivers.
// ---------------------------------------------------------------------------

struct Newton {
    beta: Vec<f64>,
    u: Vec<f64>,
    var: Vec<f64>,
    loglik_null: f64,
    loglik: f64,
    score: f64,
    iterations: usize,
}

fn first_dropped(ch: &Chol) -> usize {
    (0..ch.p)
        .find(|&i| ch.m[i * ch.p + i] == 0.0)
        .unwrap_or(ch.p - 1)
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// `coxfit6.c`: Newton–Raphson with step halving for right-censored data.
fn newton_coxfit6(prep: &Prepared, opts: &CoxOptions) -> Result<Newton, StatsError> {
    let p = prep.p;
    let mut beta = vec![0.0; p];
    let first = pass(prep, &beta, opts.ties, None);
    let loglik_null = first.loglik;
    let ch = Chol::new(&first.imat, p, opts.toler_chol);
    if ch.rank < p {
        return Err(StatsError::Collinear {
            what: WHAT,
            covariate: first_dropped(&ch),
        });
    }
    let mut a = first.u.clone();
    ch.solve(&mut a);
    let score: f64 = first.u.iter().zip(&a).map(|(x, y)| x * y).sum();
    if !loglik_null.is_finite() {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "the log partial likelihood at beta = 0 is not finite".to_string(),
        });
    }
    let mut best = loglik_null;
    let mut newbeta: Vec<f64> = (0..p).map(|i| beta[i] + a[i]).collect();
    let mut halving = 0usize;
    for iter in 1..=opts.max_iter {
        let ps = pass(prep, &newbeta, opts.ties, None);
        let ch = Chol::new(&ps.imat, p, opts.toler_chol);
        let finite = all_finite(&ps.u) && all_finite(&ch.m) && ps.loglik.is_finite();
        if finite && (1.0 - best / ps.loglik).abs() <= opts.eps {
            if ch.rank < p {
                return Err(StatsError::Collinear {
                    what: WHAT,
                    covariate: first_dropped(&ch),
                });
            }
            return Ok(Newton {
                beta: newbeta,
                u: ps.u,
                var: ch.inverse(),
                loglik_null,
                loglik: ps.loglik,
                score,
                iterations: iter,
            });
        }
        if !finite || ps.loglik < best {
            halving += 1;
            let h = halving as f64;
            for i in 0..p {
                newbeta[i] = (newbeta[i] + h * beta[i]) / (h + 1.0);
            }
        } else {
            halving = 0;
            best = ps.loglik;
            let mut step = ps.u;
            ch.solve(&mut step);
            beta.copy_from_slice(&newbeta);
            for i in 0..p {
                newbeta[i] += step[i];
            }
        }
    }
    Err(StatsError::NotConverged {
        what: WHAT,
        iterations: opts.max_iter,
    })
}

/// `agfit4.c`: Newton–Raphson with step halving for counting-process data.
fn newton_agfit4(prep: &Prepared, opts: &CoxOptions) -> Result<Newton, StatsError> {
    let p = prep.p;
    let mut beta = vec![0.0; p];
    let first = pass(prep, &beta, opts.ties, None);
    let loglik_null = first.loglik;
    let ch = Chol::new(&first.imat, p, opts.toler_chol);
    let rank = ch.rank;
    if rank < p {
        return Err(StatsError::Collinear {
            what: WHAT,
            covariate: first_dropped(&ch),
        });
    }
    let mut a = first.u.clone();
    ch.solve(&mut a);
    let score: f64 = first.u.iter().zip(&a).map(|(x, y)| x * y).sum();
    if !loglik_null.is_finite() {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "the log partial likelihood at beta = 0 is not finite".to_string(),
        });
    }
    let mut best = loglik_null;
    let mut oldbeta = beta.clone();
    for i in 0..p {
        beta[i] += a[i];
    }
    let mut halving = 0usize;
    for iter in 1..=opts.max_iter {
        let ps = pass(prep, &beta, opts.ties, None);
        let mut fail = (0..p).filter(|&i| !ps.imat[i * p + i].is_finite()).count();
        let ch = Chol::new(&ps.imat, p, opts.toler_chol);
        fail += usize::from(!ps.loglik.is_finite()) + rank.abs_diff(ch.rank);
        if fail == 0 && halving == 0 && (1.0 - best / ps.loglik).abs() <= opts.eps {
            return Ok(Newton {
                beta,
                u: ps.u,
                var: ch.inverse(),
                loglik_null,
                loglik: ps.loglik,
                score,
                iterations: iter,
            });
        }
        if iter == opts.max_iter {
            break;
        }
        if fail > 0 || ps.loglik < best {
            halving += 1;
            let h = halving as f64;
            for i in 0..p {
                beta[i] = (oldbeta[i] * h + beta[i]) / (h + 1.0);
            }
        } else {
            halving = 0;
            best = ps.loglik;
            let mut step = ps.u;
            ch.solve(&mut step);
            oldbeta.copy_from_slice(&beta);
            for i in 0..p {
                beta[i] += step[i];
            }
        }
    }
    Err(StatsError::NotConverged {
        what: WHAT,
        iterations: opts.max_iter,
    })
}

// ---------------------------------------------------------------------------
// survival's cholesky2 / chsolve2 / chinv2.
// ---------------------------------------------------------------------------

/// `LDL'` decomposition of a symmetric matrix (row-major, full): `m` holds
/// `L` below the diagonal and `D` on it; pivots below `toler * max(diag)`
/// (or non-finite) are set to 0 (survival's `cholesky2`).
pub(crate) struct Chol {
    pub(crate) m: Vec<f64>,
    pub(crate) p: usize,
    pub(crate) rank: usize,
}

impl Chol {
    pub(crate) fn new(a: &[f64], p: usize, toler: f64) -> Chol {
        let mut m = a.to_vec();
        let mut eps = 0.0_f64;
        for i in 0..p {
            if m[i * p + i] > eps {
                eps = m[i * p + i];
            }
        }
        let mut rank = 0;
        if eps == 0.0 {
            for i in 0..p {
                m[i * p + i] = 0.0;
            }
            return Chol { m, p, rank };
        }
        eps *= toler;
        for i in 0..p {
            let pivot = m[i * p + i];
            if !pivot.is_finite() || pivot < eps {
                m[i * p + i] = 0.0;
            } else {
                rank += 1;
                for j in (i + 1)..p {
                    let temp = m[j * p + i] / pivot;
                    m[j * p + i] = temp;
                    m[j * p + j] -= temp * temp * pivot;
                    for k in (j + 1)..p {
                        m[k * p + j] -= temp * m[k * p + i];
                    }
                }
            }
        }
        Chol { m, p, rank }
    }

    /// `chsolve2`: overwrite `y` with `A^- y`.
    pub(crate) fn solve(&self, y: &mut [f64]) {
        let (m, p) = (&self.m, self.p);
        for i in 0..p {
            let mut temp = y[i];
            for j in 0..i {
                temp -= y[j] * m[i * p + j];
            }
            y[i] = temp;
        }
        for i in (0..p).rev() {
            if m[i * p + i] == 0.0 {
                y[i] = 0.0;
            } else {
                let mut temp = y[i] / m[i * p + i];
                for j in (i + 1)..p {
                    temp -= y[j] * m[j * p + i];
                }
                y[i] = temp;
            }
        }
    }

    /// `chinv2`: the (generalised) inverse, full symmetric row-major.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let p = self.p;
        let mut m = self.m.clone();
        for i in 0..p {
            if m[i * p + i] > 0.0 {
                m[i * p + i] = 1.0 / m[i * p + i];
                for j in (i + 1)..p {
                    m[j * p + i] = -m[j * p + i];
                    for k in 0..i {
                        m[j * p + k] += m[j * p + i] * m[i * p + k];
                    }
                }
            }
        }
        for i in 0..p {
            if m[i * p + i] == 0.0 {
                for j in 0..i {
                    m[j * p + i] = 0.0;
                }
                for j in i..p {
                    m[i * p + j] = 0.0;
                }
            } else {
                for j in (i + 1)..p {
                    let temp = m[j * p + i] * m[j * p + j];
                    m[i * p + j] = temp;
                    for k in i..j {
                        m[i * p + k] += temp * m[j * p + k];
                    }
                }
            }
        }
        // the upper triangle and diagonal hold the inverse
        for i in 0..p {
            for j in 0..i {
                m[i * p + j] = m[j * p + i];
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chol_inverse_of_spd() {
        let a = [4.0, 2.0, 0.6, 2.0, 3.0, 0.4, 0.6, 0.4, 2.0];
        let inv = Chol::new(&a, 3, CHOL_TOLERANCE).inverse();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((v - e).abs() < 1e-14, "{i} {j} {v}");
            }
        }
    }

    #[test]
    fn chol_flags_collinear_column() {
        let a = [1.0, 2.0, 2.0, 4.0];
        let ch = Chol::new(&a, 2, CHOL_TOLERANCE);
        assert_eq!(ch.rank, 1);
        assert_eq!(first_dropped(&ch), 1);
    }
}

//! Cox proportional hazards regression, as R's `survival::coxph` (with case
//! weights and the robust variance too), `summary.coxph` and `cox.zph`
//! (survival 3.5).
//!
//! The formulas, the algorithm and the references are in the documentation
//! of [`cox_ph`] (this module is private). This file holds the public API and
//! the results; the work is done in
//!
//! * [`prepare`]: validation, timefix, one sort by stratum and descending
//!   time, centring and scaling, the counting-process start order;
//! * [`pass`]: one evaluation of the log partial likelihood, score and
//!   information (Efron or Breslow);
//! * [`newton`]: Newton–Raphson with step halving (`coxfit6.c`, `agfit4.c`);
//! * [`residuals`]: the score residuals behind the robust variance of
//!   [`cox_ph_weighted`] (`coxscore2.c`, `agscore2.c`);
//! * [`zph`]: the proportional-hazards test of `cox.zph`;
//!
//! with the Cholesky of [`crate::linalg`] (survival's `cholesky2`).

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

use statrs::distribution::{ContinuousCDF, Normal};

use crate::StatsError;
use crate::linalg::{CHOL_TOLERANCE, Chol};
use crate::logrank::chisq_upper;

mod newton;
mod pass;
mod prepare;
mod residuals;
mod zph;

use newton::{newton_agfit4, newton_coxfit6};
use prepare::Prepared;

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
    /// `z = qnorm((1 + conf_level) / 2)` (`lower .95`; with a robust
    /// variance, `se` is the robust SE, as `summary.coxph`).
    pub hr_lower: Vec<f64>,
    /// Upper confidence limit, `exp(coef + z se)` (`upper .95`).
    pub hr_upper: Vec<f64>,
    /// Wald statistic `coef / se` (`z`; the robust SE with a robust
    /// variance).
    pub z: Vec<f64>,
    /// Two-sided p-value of `z`, `pchisq(z^2, 1, lower.tail = FALSE)`
    /// (`Pr(>|z|)`).
    pub p_value: Vec<f64>,
    /// Variance–covariance matrix of `coef`, the inverse information at the
    /// final iteration (`vcov(fit)`, `fit$var`; `fit$naive.var` of a robust
    /// fit, whose `fit$var` is [`RobustVariance::variance`]),
    /// `variance[i][j]`.
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
    /// `fit$wald.test`). With a robust variance, `coef' (D'D)^-1 coef`.
    pub wald: Test,
    /// Score (log-rank) test `U(0)' I(0)^-1 U(0)` at `beta = 0`
    /// (`summary(fit)$sctest`, `fit$score`).
    pub score: Test,
    /// The robust (sandwich) variance, when asked for with
    /// [`CoxVariance::Robust`] or [`CoxVariance::Cluster`] in
    /// [`cox_ph_weighted`]; `None` otherwise. When present, `z`,
    /// `p_value`, `hr_lower`, `hr_upper` and `wald` use the robust variance,
    /// as `summary.coxph` does, while `se` and `variance` stay the naive
    /// (model-based) ones.
    pub robust: Option<RobustVariance>,
    ties: Ties,
    counting: bool,
    weighted: bool,
}

/// The robust (sandwich) variance of a Cox fit, as R's
/// `coxph(..., cluster = id)` or `coxph(..., robust = TRUE)`.
///
/// `D` is the matrix of dfbeta residuals, one row per cluster:
/// `D = rowsum(w_i L_i' V, cluster)`, with `L_i` the score residual of row
/// `i` (see [`cox_ph_weighted`]), `w_i` its case weight and `V` the naive
/// variance. The robust variance is `D' D` (Lin & Wei 1989; with clusters,
/// Lee, Wei & Amato 1992).
#[derive(Debug, Clone, PartialEq)]
pub struct RobustVariance {
    /// `D' D` (R `fit$var`, `vcov(fit)` of a robust fit), `variance[i][j]`.
    pub variance: Vec<Vec<f64>>,
    /// `sqrt(diag(D' D))` (the `robust se` column of `summary.coxph`).
    pub se: Vec<f64>,
    /// Robust score test `U' (T' T)^- U` at `beta = 0`, `T` the weighted
    /// score residuals at `beta = 0` summed within cluster and `U = 1' T`
    /// (`summary(fit)$robscore`, `fit$rscore`).
    pub score: Test,
    /// Number of clusters (rows of `D`).
    pub clusters: usize,
}

/// How [`cox_ph_weighted`] computes the variance of the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoxVariance<'a> {
    /// The inverse of the (weighted) information only (R
    /// `coxph(..., robust = FALSE)`).
    Naive,
    /// The robust sandwich variance with each row its own cluster (R
    /// `coxph(..., robust = TRUE)` without `cluster`/`id`; also R's default
    /// when the case weights are not all integers).
    Robust,
    /// The robust sandwich variance with the dfbeta residuals summed
    /// within clusters: one label per row, any labels (R
    /// `coxph(..., cluster = id)`).
    Cluster(&'a [usize]),
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
    fit(data, None, CoxVariance::Naive, opts)
}

/// Fit a Cox model with case weights and/or a robust (sandwich) variance,
/// as R's `coxph(Surv(...) ~ x + strata(s), weights = w, cluster = id)`
/// (`robust = TRUE` for [`CoxVariance::Robust`]).
///
/// # Weights
///
/// `weights` (finite, `> 0`, need not be integers) are case weights: row
/// `i` counts `w_i` times in every sum of the partial likelihood
/// (`coxfit6.c`, `agfit4.c`):
///
/// ```text
/// l(beta) = sum over event times t: sum_{D(t)} w_i x_i' beta
///           - sum_{k=0}^{d-1} mean_D(w) log( S0(t) - k/d S0_D(t) )    (Efron)
///           - (sum_D w) log S0(t)                                     (Breslow)
/// S0(t) = sum_{R(t)} w_i exp(x_i' beta)
/// ```
///
/// Covariates are centred at the weighted mean and scaled by
/// `sum w / sum w |x - mean|`. `n` and `events` stay counts of rows (R
/// `fit$n`, `fit$nevent`). With `weights = None` and
/// [`CoxVariance::Naive`] the result is [`cox_ph`]'s, bit for bit.
///
/// # Robust variance
///
/// With [`CoxVariance::Robust`] or [`CoxVariance::Cluster`], R's
/// `coxph` computes, after the fit (Lin & Wei 1989; Therneau & Grambsch
/// 2000 §7.2):
///
/// * the score residuals `L_i` (R `residuals(fit, type = "score")`,
///   `coxscore2.c` / `agscore2.c`):
///   `L_i = dN_i (x_i - xbar(t_i)) - sum_{t in (start_i, stop_i]} exp(eta_i) (x_i - xbar(t)) dLambda(t)`
///   with Efron's tied-event adjustment;
/// * the dfbeta residuals `w_i L_i' V` (`type = "dfbeta", weighted = TRUE`),
///   `V` the naive variance, summed within cluster (`rowsum`) into `D`;
/// * the robust variance `D' D` ([`RobustVariance`]);
/// * the robust score test from the weighted score residuals at `beta = 0`
///   summed within cluster ([`RobustVariance::score`]).
///
/// The Wald test, `z`, p-values and confidence limits of the hazard ratios
/// then use `D' D`, as `summary.coxph` does for a robust fit; `se` and
/// `variance` keep the naive values (R's `se(coef)` column and
/// `fit$naive.var`). The likelihood-ratio and score tests are not
/// robust (as in R).
///
/// R turns the robust variance on by itself when the weights are not all
/// integers (`robust` missing): pass [`CoxVariance::Robust`] then to get
/// R's default. With a cluster, the labels need not be sorted or dense.
///
/// Errors: those of [`cox_ph`], and [`StatsError::InvalidParameter`] for a
/// weight that is not finite and `> 0`, [`StatsError::LengthMismatch`] for
/// `weights` or the cluster labels.
///
/// References: Lin DY, Wei LJ (1989). The robust inference for the Cox
/// proportional hazards model. JASA 84:1074–1078. Lee EW, Wei LJ, Amato DA
/// (1992). Cox-type regression analysis for large numbers of small groups
/// of correlated failure time observations. In: Survival Analysis: State of
/// the Art, 237–247. Binder DA (1992). Fitting Cox's proportional hazards
/// models from survey data. Biometrika 79:139–147 (case weights).
/// Therneau & Grambsch (2000) §7. R `survival::coxph` (`robust`,
/// `cluster`, `weights`), `residuals.coxph`, `coxph.wtest`.
pub fn cox_ph_weighted(
    data: &CoxData,
    weights: Option<&[f64]>,
    variance: CoxVariance,
    opts: &CoxOptions,
) -> Result<CoxFit, StatsError> {
    fit(data, weights, variance, opts)
}

fn fit(
    data: &CoxData,
    weights: Option<&[f64]>,
    variance: CoxVariance,
    opts: &CoxOptions,
) -> Result<CoxFit, StatsError> {
    check_options(opts)?;
    check_cluster(data, variance)?;
    let prep = Prepared::with_weights(WHAT, data, weights)?;
    fit_prepared(&prep, weights.is_some(), variance, opts)
}

/// [`cox_ph_weighted`] without weights, and [`cox_zph`] of its fit on the
/// same preparation of the data (validation, timefix, the sort by stratum
/// and time, centring and scaling), which the two calls would each make:
/// the same numbers, bit for bit, as `cox_ph_weighted(data, None,
/// variance, opts)` then `cox_zph(&fit, data, transform)`. The test's own
/// error (a singular information matrix, a time 0 under `Log`) is returned
/// beside the fit; an error of the fit stops both.
pub fn cox_ph_zph(
    data: &CoxData,
    variance: CoxVariance,
    opts: &CoxOptions,
    transform: ZphTransform,
) -> Result<(CoxFit, Result<CoxZph, StatsError>), StatsError> {
    check_options(opts)?;
    check_cluster(data, variance)?;
    let prep = Prepared::new(WHAT, data)?;
    let fit = fit_prepared(&prep, false, variance, opts)?;
    let zph = zph::zph_prepared(&fit, &prep, transform);
    Ok((fit, zph))
}

/// The cluster of a [`CoxVariance::Cluster`] has one label per row.
fn check_cluster(data: &CoxData, variance: CoxVariance) -> Result<(), StatsError> {
    if let CoxVariance::Cluster(c) = variance {
        if c.len() != data.stop.len() {
            return Err(StatsError::LengthMismatch {
                what: WHAT,
                left: "stop",
                left_len: data.stop.len(),
                right: "cluster",
                right_len: c.len(),
            });
        }
    }
    Ok(())
}

/// The fit of the prepared rows (`weighted`: `prep` holds case weights).
fn fit_prepared(
    prep: &Prepared,
    weighted: bool,
    variance: CoxVariance,
    opts: &CoxOptions,
) -> Result<CoxFit, StatsError> {
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
        newton_agfit4(prep, opts)?
    } else {
        newton_coxfit6(prep, opts)?
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
    let test = |statistic: f64| -> Result<Test, StatsError> {
        Ok(Test {
            statistic,
            df: p,
            p_value: chisq_upper(WHAT, statistic, p)?,
        })
    };
    let robust = match variance {
        CoxVariance::Naive => None,
        CoxVariance::Robust => Some(robust_variance(prep, &newton.beta, &var, None, opts)?),
        CoxVariance::Cluster(c) => Some(robust_variance(prep, &newton.beta, &var, Some(c), opts)?),
    };
    // the variance behind z, p, the confidence limits and the Wald test:
    // the robust one when present (summary.coxph)
    let (used_var, used_se) = match &robust {
        None => (var.clone(), se.clone()),
        Some((rv, _)) => (rv.clone(), (0..p).map(|i| rv[i * p + i].sqrt()).collect()),
    };
    let zq = Normal::standard().inverse_cdf((1.0 + opts.conf_level) / 2.0);
    let z: Vec<f64> = coef.iter().zip(&used_se).map(|(b, s)| b / s).collect();
    let p_value = z
        .iter()
        .map(|z| chisq_upper(WHAT, z * z, 1))
        .collect::<Result<Vec<_>, _>>()?;
    let lr = 2.0 * (newton.loglik - newton.loglik_null);
    let wald = wald_statistic(&used_var, &coef, p, opts.toler_chol);
    let robust = match robust {
        None => None,
        Some((rv, (rscore, clusters))) => Some(RobustVariance {
            variance: (0..p).map(|i| rv[i * p..(i + 1) * p].to_vec()).collect(),
            se: used_se.clone(),
            score: test(rscore)?,
            clusters,
        }),
    };
    Ok(CoxFit {
        hazard_ratio: coef.iter().map(|b| b.exp()).collect(),
        hr_lower: coef
            .iter()
            .zip(&used_se)
            .map(|(b, s)| (b - zq * s).exp())
            .collect(),
        hr_upper: coef
            .iter()
            .zip(&used_se)
            .map(|(b, s)| (b + zq * s).exp())
            .collect(),
        variance: (0..p).map(|i| var[i * p..(i + 1) * p].to_vec()).collect(),
        likelihood_ratio: test(lr)?,
        wald: test(wald)?,
        score: test(newton.score)?,
        robust,
        weighted,
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

/// The robust variance `D' D` (row-major, original scale) and the robust
/// score statistic with the number of clusters; `beta` in the scaled
/// coordinates of `prep`, `var` the naive variance on the original scale.
fn robust_variance(
    prep: &Prepared,
    beta: &[f64],
    var: &[f64],
    cluster: Option<&[usize]>,
    opts: &CoxOptions,
) -> Result<(Vec<f64>, (f64, usize)), StatsError> {
    let p = prep.p;
    let n = prep.n;
    // cluster of each processing position, dense in order of the label
    // (R: match(cluster, sort(unique(cluster))))
    let (cl_of_row, k): (Vec<usize>, usize) = match cluster {
        None => ((0..n).collect(), n),
        Some(c) => {
            let mut u = c.to_vec();
            u.sort_unstable();
            u.dedup();
            (
                c.iter()
                    .map(|v| u.binary_search(v).expect("present"))
                    .collect(),
                u.len(),
            )
        }
    };
    // weighted score residuals on the original scale, summed within
    // cluster (rows in their original order, as R's rowsum)
    let collapse = |resid: &[f64]| -> Vec<f64> {
        let mut by_row = vec![0.0; n * p];
        for (pos, &row) in prep.order.iter().enumerate() {
            let w = prep.weights.as_ref().map_or(1.0, |w| w[pos]);
            for j in 0..p {
                by_row[row as usize * p + j] = resid[pos * p + j] / prep.scale[j] * w;
            }
        }
        by_row
    };
    let score = collapse(&residuals::score_residuals(prep, beta, opts.ties));
    // dfbeta: score %*% V, then rowsum by cluster
    let mut d = vec![0.0; k * p];
    for row in 0..n {
        let c = cl_of_row[row];
        for j in 0..p {
            let v: f64 = (0..p).map(|l| score[row * p + l] * var[l * p + j]).sum();
            d[c * p + j] += v;
        }
    }
    let mut rv = vec![0.0; p * p];
    for c in 0..k {
        for i in 0..p {
            for j in 0..p {
                rv[i * p + j] += d[c * p + i] * d[c * p + j];
            }
        }
    }
    // robust score test at beta = 0
    let zero = vec![0.0; p];
    let score0 = collapse(&residuals::score_residuals(prep, &zero, opts.ties));
    let mut t = vec![0.0; k * p];
    for row in 0..n {
        let c = cl_of_row[row];
        for j in 0..p {
            t[c * p + j] += score0[row * p + j];
        }
    }
    let mut tt = vec![0.0; p * p];
    let mut u = vec![0.0; p];
    for c in 0..k {
        for i in 0..p {
            u[i] += t[c * p + i];
            for j in 0..p {
                tt[i * p + j] += t[c * p + i] * t[c * p + j];
            }
        }
    }
    let rscore = wald_statistic(&tt, &u, p, opts.toler_chol);
    if !rscore.is_finite() || rv.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "the robust variance is not finite".to_string(),
        });
    }
    Ok((rv, (rscore, k)))
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

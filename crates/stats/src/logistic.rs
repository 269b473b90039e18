//! Logistic regression as R's `glm(y ~ x, family = binomial)`, for
//! propensity scores.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::StatsError;

/// Options of [`logistic_regression`]: R's `glm.control()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlmOptions {
    /// Convergence tolerance `epsilon`: the fit has converged when
    /// `|dev - dev_old| / (|dev| + 0.1) < epsilon`. R's default `1e-8`.
    pub epsilon: f64,
    /// Maximum number of IRLS iterations `maxit`. R's default 25.
    pub maxit: usize,
}

impl Default for GlmOptions {
    /// `epsilon = 1e-8`, `maxit = 25`: R's `glm.control()` defaults.
    fn default() -> Self {
        GlmOptions {
            epsilon: 1e-8,
            maxit: 25,
        }
    }
}

/// A fitted logistic regression; see [`logistic_regression`]. Vectors over
/// coefficients have the intercept first, then one entry per covariate column
/// in the order given; vectors over observations are in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// Coefficients on the log-odds scale (`coef(fit)`).
    pub coef: Vec<f64>,
    /// Standard errors, `sqrt(diag((X' W X)^-1))` with `W` the IRLS weights
    /// of the last iteration (`summary(fit)$coefficients[, "Std. Error"]`).
    pub se: Vec<f64>,
    /// Wald statistics `coef / se` (`z value`).
    pub z: Vec<f64>,
    /// Two-sided p-values `2 * pnorm(-|z|)` (`Pr(>|z|)`).
    pub p_value: Vec<f64>,
    /// Fitted probabilities `1 / (1 + exp(-eta))` (`fitted(fit)`): the
    /// propensity scores when `y` is the treatment.
    pub fitted: Vec<f64>,
    /// Linear predictors `eta = X coef` (`fit$linear.predictors`).
    pub linear_predictor: Vec<f64>,
    /// Residual deviance `-2 sum(y log mu + (1 - y) log(1 - mu))`
    /// (`deviance(fit)`).
    pub deviance: f64,
    /// Deviance of the intercept-only model (`fit$null.deviance`).
    pub null_deviance: f64,
    /// `-2 log L + 2 p` (`AIC(fit)`); for 0/1 data `deviance + 2 p`.
    pub aic: f64,
    /// Number of IRLS iterations (`fit$iter`).
    pub iterations: usize,
}

/// Fit a logistic regression exactly as R's
/// `glm(y ~ x1 + ... + xk, family = binomial)` (`stats::glm.fit`, R 4.2).
///
/// `covariates` holds one slice per column of the design matrix *without*
/// the intercept, which is added here as the first column (factors must be
/// expanded to indicator columns by the caller, as R's treatment contrasts
/// do). `y[i]` is `true` for a 1.
///
/// Iteratively reweighted least squares, as `glm.fit`:
///
/// * start: `mu = (y + 0.5) / 2`, `eta = log(mu / (1 - mu))`;
/// * each iteration: `z = eta + (y - mu) / mu'(eta)`,
///   `w = mu'(eta) / sqrt(mu (1 - mu))` with `mu'(eta) = e^eta / (1 + e^eta)^2`,
///   and the new coefficients solve the least-squares problem
///   `min |w z - w X b|` by a Householder QR with R's limited column pivoting
///   (LINPACK `dqrdc2`/`dqrsl`, as `C_Cdqrls`, tolerance
///   `min(1e-7, epsilon / 1000)`);
/// * the inverse link is clamped as R's `logit_linkinv`: for `eta < -30`
///   the odds are taken as `DBL_EPSILON`, for `eta > 30` as
///   `1 / DBL_EPSILON`; and `mu'(eta) = DBL_EPSILON` outside `[-30, 30]`
///   (`logit_mu_eta`);
/// * stop when `|dev - dev_old| / (|dev| + 0.1) < epsilon`, with the
///   deviance `2 sum(y log(y/mu) + (1-y) log((1-y)/(1-mu)))`;
/// * standard errors from the QR factor `R` of the last iteration:
///   `(X'WX)^-1 = (R'R)^-1` (`summary.glm`, `chol2inv`), dispersion 1.
///
/// Where R only warns, this function returns an error
/// ([`StatsError::Degenerate`], whose message names the problem):
///
/// * separation: any fitted probability within `10 * DBL_EPSILON` of 0 or 1
///   (R: "glm.fit: fitted probabilities numerically 0 or 1 occurred"), the
///   sign of complete or quasi-complete separation, whose maximum-likelihood
///   coefficients are infinite;
/// * no convergence within `maxit` iterations (R: "glm.fit: algorithm did not
///   converge");
/// * a constant covariate column, or a column that is a linear combination of
///   the intercept and earlier columns (R: an `NA` coefficient), naming the
///   0-based covariate index;
/// * `y` all `true` or all `false`; fewer observations than coefficients.
///
/// Other errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::Degenerate`] for a non-finite covariate value (naming
/// column and row), [`StatsError::InvalidParameter`] for `epsilon <= 0` or
/// `maxit = 0`.
///
/// References: McCullagh P, Nelder JA (1989), Generalized Linear Models, 2nd
/// ed., §2.5 (IRLS) and §4.4 (binary data); R `stats::glm.fit`,
/// `summary.glm`, `binomial()`; Albert A, Anderson JA (1984), On the
/// existence of maximum likelihood estimates in logistic regression models,
/// Biometrika 71:1–10 (separation).
pub fn logistic_regression(
    y: &[bool],
    covariates: &[&[f64]],
    opts: &GlmOptions,
) -> Result<LogisticFit, StatsError> {
    const WHAT: &str = "logistic_regression";
    let n = y.len();
    if n == 0 {
        return Err(StatsError::EmptyInput { what: WHAT });
    }
    if !(opts.epsilon > 0.0 && opts.epsilon.is_finite()) {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "epsilon",
            value: opts.epsilon,
            expected: "a positive finite number",
        });
    }
    if opts.maxit == 0 {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "maxit",
            value: 0.0,
            expected: "at least 1",
        });
    }
    for col in covariates {
        if col.len() != n {
            return Err(StatsError::LengthMismatch {
                what: WHAT,
                left: "y",
                left_len: n,
                right: "covariates[j]",
                right_len: col.len(),
            });
        }
    }
    for (j, col) in covariates.iter().enumerate() {
        if let Some((i, v)) = col.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!("covariate column {j}, row {i}: value {v} is not a finite number"),
            });
        }
        if col.iter().all(|&v| v == col[0]) {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!(
                    "covariate column {j} is constant ({}), so it is collinear with the intercept \
                     (R's glm would report an NA coefficient); remove it",
                    col[0]
                ),
            });
        }
    }
    let ones = y.iter().filter(|&&b| b).count();
    if ones == 0 || ones == n {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!(
                "every outcome is {}, so the intercept is infinite (fitted probabilities 0 or 1)",
                ones == n
            ),
        });
    }
    let p = covariates.len() + 1;
    if n < p {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!("{n} observation(s) for {p} coefficients (intercept included)"),
        });
    }

    // design matrix, column-major, intercept first
    let mut x = vec![1.0; n * p];
    for (j, col) in covariates.iter().enumerate() {
        x[(j + 1) * n..(j + 2) * n].copy_from_slice(col);
    }
    let yv: Vec<f64> = y.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    let tol = (opts.epsilon / 1000.0).min(1e-7);

    // initialize: mustart = (weights * y + 0.5) / (weights + 1)
    let mut eta: Vec<f64> = yv
        .iter()
        .map(|&yi| {
            let m = (yi + 0.5) / 2.0;
            (m / (1.0 - m)).ln()
        })
        .collect();
    let mut mu: Vec<f64> = eta.iter().map(|&e| linkinv(e)).collect();
    let mut devold = deviance(&yv, &mu);
    let mut coef = vec![0.0; p];
    let mut coefold: Option<Vec<f64>> = None;
    let mut conv = false;
    let mut iter = 0;
    let mut qr_r = vec![0.0; p * p];
    let mut dev = devold;

    let mut xw = vec![0.0; n * p];
    let mut zw = vec![0.0; n];
    for it in 1..=opts.maxit {
        iter = it;
        for i in 0..n {
            let me = mu_eta(eta[i]);
            let var = mu[i] * (1.0 - mu[i]);
            let z = eta[i] + (yv[i] - mu[i]) / me;
            let w = (me * me / var).sqrt();
            zw[i] = z * w;
            for j in 0..p {
                xw[j * n + i] = x[j * n + i] * w;
            }
        }
        let qr = dqrls(&mut xw, n, p, &zw, tol);
        if qr.rank < p {
            let aliased: Vec<String> = qr.pivot[qr.rank..]
                .iter()
                .map(|&c| {
                    if c == 0 {
                        "the intercept".to_string()
                    } else {
                        format!("{}", c - 1)
                    }
                })
                .collect();
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!(
                    "covariate column(s) {} are linear combinations of the intercept and the \
                     other columns (collinear; R's glm would report NA coefficients)",
                    aliased.join(", ")
                ),
            });
        }
        if qr.coef.iter().any(|c| !c.is_finite()) {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!("non-finite coefficients at iteration {it}"),
            });
        }
        let mut start = vec![0.0; p];
        for (k, &c) in qr.pivot.iter().enumerate() {
            start[c] = qr.coef[k];
        }
        // keep R (upper triangle of the first p rows), in pivoted order
        for j in 0..p {
            for i in 0..p {
                qr_r[j * p + i] = if i <= j { xw[j * n + i] } else { 0.0 };
            }
        }
        predict(&x, n, p, &start, &mut eta, &mut mu);
        dev = deviance(&yv, &mu);
        if !dev.is_finite() {
            // step halving, as glm.fit (cannot happen with the clamped logit
            // link, kept for fidelity)
            let Some(old) = coefold.as_ref() else {
                return Err(StatsError::Degenerate {
                    what: WHAT,
                    reason: "no valid set of coefficients has been found".to_string(),
                });
            };
            let mut ii = 1;
            while !dev.is_finite() {
                if ii > opts.maxit {
                    return Err(StatsError::Degenerate {
                        what: WHAT,
                        reason: "inner loop 1; cannot correct step size".to_string(),
                    });
                }
                ii += 1;
                for (s, o) in start.iter_mut().zip(old) {
                    *s = (*s + o) / 2.0;
                }
                predict(&x, n, p, &start, &mut eta, &mut mu);
                dev = deviance(&yv, &mu);
            }
        }
        if (dev - devold).abs() / (0.1 + dev.abs()) < opts.epsilon {
            conv = true;
            coef = start;
            break;
        }
        devold = dev;
        coef = start.clone();
        coefold = Some(start);
    }

    let eps10 = 10.0 * f64::EPSILON;
    if let Some(i) = mu.iter().position(|&m| m > 1.0 - eps10 || m < eps10) {
        let count = mu.iter().filter(|&&m| m > 1.0 - eps10 || m < eps10).count();
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!(
                "separation: fitted probabilities numerically 0 or 1 occurred ({count} \
                 observation(s), first at row {i}); the outcome is (quasi-)completely separated \
                 by the covariates, so some coefficients diverge to infinity"
            ),
        });
    }
    if !conv {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!(
                "the IRLS algorithm did not converge in {} iterations (deviance {dev}, relative \
                 change {:e} >= epsilon {:e})",
                opts.maxit,
                (dev - devold).abs() / (0.1 + dev.abs()),
                opts.epsilon
            ),
        });
    }

    // (R'R)^{-1} = R^{-1} R^{-T}; full rank, so the pivot is the identity
    let rinv = invert_upper(&qr_r, p);
    let mut se = vec![0.0; p];
    for (i, s) in se.iter_mut().enumerate() {
        // row i of R^{-1} dotted with itself
        let mut acc = 0.0;
        for j in i..p {
            let v = rinv[j * p + i];
            acc += v * v;
        }
        *s = acc.sqrt();
    }
    let z: Vec<f64> = coef.iter().zip(&se).map(|(c, s)| c / s).collect();
    let normal = Normal::standard();
    let p_value = z.iter().map(|v| 2.0 * normal.cdf(-v.abs())).collect();

    let ybar = ones as f64 / n as f64;
    let null_deviance = yv.iter().map(|&yi| dev_resid(yi, ybar)).sum();
    let loglik: f64 = yv
        .iter()
        .zip(&mu)
        .map(|(&yi, &m)| if yi == 1.0 { m.ln() } else { (1.0 - m).ln() })
        .sum();
    Ok(LogisticFit {
        coef,
        se,
        z,
        p_value,
        fitted: mu,
        linear_predictor: eta,
        deviance: dev,
        null_deviance,
        aic: -2.0 * loglik + 2.0 * p as f64,
        iterations: iter,
    })
}

const THRESH: f64 = 30.0;
const MTHRESH: f64 = -30.0;

/// R's `C_logit_linkinv`.
fn linkinv(eta: f64) -> f64 {
    let tmp = if eta < MTHRESH {
        f64::EPSILON
    } else if eta > THRESH {
        1.0 / f64::EPSILON
    } else {
        eta.exp()
    };
    tmp / (1.0 + tmp)
}

/// R's `C_logit_mu_eta`.
fn mu_eta(eta: f64) -> f64 {
    let opexp = 1.0 + eta.exp();
    if !(MTHRESH..=THRESH).contains(&eta) {
        f64::EPSILON
    } else {
        eta.exp() / (opexp * opexp)
    }
}

/// R's `C_binomial_dev_resids` for weight 1.
fn dev_resid(y: f64, mu: f64) -> f64 {
    let ylogy = |y: f64, mu: f64| if y != 0.0 { y * (y / mu).ln() } else { 0.0 };
    2.0 * (ylogy(y, mu) + ylogy(1.0 - y, 1.0 - mu))
}

fn deviance(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(&yi, &m)| dev_resid(yi, m)).sum()
}

fn predict(x: &[f64], n: usize, p: usize, b: &[f64], eta: &mut [f64], mu: &mut [f64]) {
    for i in 0..n {
        let mut e = 0.0;
        for j in 0..p {
            e += x[j * n + i] * b[j];
        }
        eta[i] = e;
        mu[i] = linkinv(e);
    }
}

/// Inverse of an upper-triangular `p x p` matrix (column-major).
fn invert_upper(r: &[f64], p: usize) -> Vec<f64> {
    let mut inv = vec![0.0; p * p];
    for col in 0..p {
        // solve R x = e_col
        for i in (0..=col).rev() {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for k in (i + 1)..=col {
                s -= r[k * p + i] * inv[col * p + k];
            }
            inv[col * p + i] = s / r[i * p + i];
        }
    }
    inv
}

struct Qr {
    rank: usize,
    /// coefficients in pivoted order (first `rank` meaningful)
    coef: Vec<f64>,
    /// `pivot[k]` = original column at position `k`
    pivot: Vec<usize>,
}

fn nrm2(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// R's `dqrls`: Householder QR of the column-major `n x p` matrix `x` (in
/// place, as LINPACK `dqrdc2` with R's limited pivoting: a column whose
/// remaining norm falls below `tol` times its original norm is moved to the
/// end), then the least-squares coefficients for `y` (`dqrsl`).
fn dqrls(x: &mut [f64], n: usize, p: usize, y: &[f64], tol: f64) -> Qr {
    let col = |j: usize| j * n;
    let mut qraux: Vec<f64> = (0..p).map(|j| nrm2(&x[col(j)..col(j) + n])).collect();
    let mut work0 = qraux.clone();
    let mut work1: Vec<f64> = qraux
        .iter()
        .map(|&q| if q == 0.0 { 1.0 } else { q })
        .collect();
    let mut pivot: Vec<usize> = (0..p).collect();
    let lup = n.min(p);
    // k: 1-based index of the first negligible column, as in the Fortran
    let mut k = p + 1;
    for l in 0..lup {
        // cycle negligible columns to the end
        while l + 1 < k && qraux[l] < work1[l] * tol {
            let saved: Vec<f64> = x[col(l)..col(l) + n].to_vec();
            for j in (l + 1)..p {
                x.copy_within(col(j)..col(j) + n, col(j - 1));
            }
            x[col(p - 1)..col(p - 1) + n].copy_from_slice(&saved);
            pivot[l..].rotate_left(1);
            qraux[l..].rotate_left(1);
            work0[l..].rotate_left(1);
            work1[l..].rotate_left(1);
            k -= 1;
        }
        if l + 1 == n {
            break;
        }
        let cl = col(l);
        let mut nrmxl = nrm2(&x[cl + l..cl + n]);
        if nrmxl == 0.0 {
            continue;
        }
        if x[cl + l] != 0.0 {
            nrmxl = nrmxl.abs().copysign(x[cl + l]);
        }
        for v in &mut x[cl + l..cl + n] {
            *v *= 1.0 / nrmxl;
        }
        x[cl + l] += 1.0;
        for j in (l + 1)..p {
            let cj = col(j);
            let t = -dot(&x[cl + l..cl + n], &x[cj + l..cj + n]) / x[cl + l];
            for i in l..n {
                x[cj + i] += t * x[cl + i];
            }
            if qraux[j] != 0.0 {
                let r = x[cj + l].abs() / qraux[j];
                let tt = (1.0 - r * r).max(0.0);
                if tt.abs() < 1e-6 {
                    qraux[j] = nrm2(&x[cj + l + 1..cj + n]);
                    work0[j] = qraux[j];
                } else {
                    qraux[j] *= tt.sqrt();
                }
            }
        }
        qraux[l] = x[cl + l];
        x[cl + l] = -nrmxl;
    }
    let rank = (k - 1).min(n);

    // dqrsl: qty = Q' y, then solve R b = qty[0..rank]
    let mut qty = y.to_vec();
    let ju = rank.min(n - 1);
    for j in 0..ju {
        if qraux[j] == 0.0 {
            continue;
        }
        let cj = col(j);
        let temp = x[cj + j];
        x[cj + j] = qraux[j];
        let t = -dot(&x[cj + j..cj + n], &qty[j..n]) / x[cj + j];
        for i in j..n {
            qty[i] += t * x[cj + i];
        }
        x[cj + j] = temp;
    }
    let mut b = vec![0.0; p];
    b[..rank].copy_from_slice(&qty[..rank]);
    for j in (0..rank).rev() {
        b[j] /= x[col(j) + j];
        let bj = b[j];
        for i in 0..j {
            b[i] -= bj * x[col(j) + i];
        }
    }
    Qr {
        rank,
        coef: b,
        pivot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_solves_least_squares() {
        // y = 1 + 2 x exactly
        let n = 4;
        let mut x = vec![1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        let qr = dqrls(&mut x, n, 2, &y, 1e-11);
        assert_eq!(qr.rank, 2);
        assert!((qr.coef[0] - 1.0).abs() < 1e-14 && (qr.coef[1] - 2.0).abs() < 1e-14);
    }

    #[test]
    fn qr_pivots_aliased_column_to_the_end() {
        let n = 4;
        // columns: 1, 2 * 1, x
        let mut x = vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0, 2.0, 3.0];
        let qr = dqrls(&mut x, n, 3, &[1.0, 3.0, 5.0, 7.0], 1e-11);
        assert_eq!(qr.rank, 2);
        assert_eq!(qr.pivot, vec![0, 2, 1]);
    }
}

//! Standardized mean differences, as R's tableone.

use crate::StatsError;
use crate::describe::{check_sample, mean, var};
use crate::linalg::ginv_solve;

/// Absolute standardized mean difference of a continuous variable between
/// two groups, as tableone's `StdDiff` (the "SMD" column of
/// `print(CreateTableOne(..., test = FALSE), smd = TRUE)`):
///
/// `|mean_x - mean_y| / sqrt((s_x² + s_y²) / 2)`
///
/// (the pooled-SD denominator of Austin 2009; `s²` is the sample variance
/// with `n - 1`).
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::NonFinite`] (missing
/// values must be removed by the caller, as tableone's `na.rm = TRUE`),
/// [`StatsError::Degenerate`] for fewer than 2 values in a group or zero
/// variance in both groups (R: NaN or Inf).
///
/// References: Austin PC (2009), Balance diagnostics for comparing the
/// distribution of baseline covariates between treatment groups in
/// propensity-score matched samples, Stat Med 28:3083–3107; tableone
/// `R/smdModules.R`.
pub fn smd_continuous(x: &[f64], y: &[f64]) -> Result<f64, StatsError> {
    const WHAT: &str = "smd_continuous";
    check_sample(WHAT, "x", x, 2)?;
    check_sample(WHAT, "y", y, 2)?;
    let pooled = (var(x) + var(y)) / 2.0;
    if pooled <= 0.0 {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "both groups have zero variance".to_string(),
        });
    }
    Ok(((mean(x) - mean(y)) / pooled.sqrt()).abs())
}

/// Standardized difference of a categorical variable between two groups, as
/// tableone's `StdDiffMulti` (Yang & Dalton 2012), from the counts of each
/// level in each group (`counts_x[l]`, `counts_y[l]`, same level order):
///
/// with `p`, `q` the level proportions of the two groups without the first
/// level (when there are 2 or more levels), `V(p) = diag(p) - p p'`,
/// `S = (V(p) + V(q)) / 2`:
///
/// `SMD = sqrt((p - q)' S⁻ (p - q))`
///
/// where `S⁻` is a generalized inverse (tableone uses `MASS::ginv`; here a
/// Cholesky with zeroed pivots, which gives the same value because `p - q`
/// lies in the range of `S`). For two levels this is
/// `|p - q| / sqrt((p(1-p) + q(1-q))/2)`. As in tableone, when `S = 0`
/// (each group entirely in one level) the result is 0, even if the two
/// groups are in different levels.
///
/// Errors: [`StatsError::EmptyInput`] (no levels),
/// [`StatsError::LengthMismatch`], [`StatsError::Degenerate`] when a group has
/// no observations.
///
/// References: Yang D, Dalton JE (2012), A unified approach to measuring the
/// effect size between two groups using SAS, SAS Global Forum paper 335-2012;
/// tableone `R/smdModules.R`.
pub fn smd_categorical(counts_x: &[u64], counts_y: &[u64]) -> Result<f64, StatsError> {
    const WHAT: &str = "smd_categorical";
    if counts_x.is_empty() {
        return Err(StatsError::EmptyInput { what: WHAT });
    }
    if counts_x.len() != counts_y.len() {
        return Err(StatsError::LengthMismatch {
            what: WHAT,
            left: "counts_x",
            left_len: counts_x.len(),
            right: "counts_y",
            right_len: counts_y.len(),
        });
    }
    let props = |c: &[u64], name: &str| -> Result<Vec<f64>, StatsError> {
        let total: u64 = c.iter().sum();
        if total == 0 {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!("group {name} has no observations"),
            });
        }
        let p: Vec<f64> = c.iter().map(|&v| v as f64 / total as f64).collect();
        Ok(if p.len() > 1 { p[1..].to_vec() } else { p })
    };
    let p = props(counts_x, "x")?;
    let q = props(counts_y, "y")?;
    let k = p.len();
    let mut s = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            let vp = if a == b {
                p[a] * (1.0 - p[a])
            } else {
                -p[a] * p[b]
            };
            let vq = if a == b {
                q[a] * (1.0 - q[a])
            } else {
                -q[a] * q[b]
            };
            s[a * k + b] = (vp + vq) / 2.0;
        }
    }
    let d: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
    let (x, _rank) = ginv_solve(&s, k, &d);
    let sq: f64 = x.iter().zip(&d).map(|(a, b)| a * b).sum();
    Ok(sq.max(0.0).sqrt())
}

//! Welch's two-sample t-test, as R's `t.test`.

use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

use crate::StatsError;
use crate::describe::{check_sample, mean, var};

/// Result of [`welch_t_test`].
#[derive(Debug, Clone, PartialEq)]
pub struct WelchTTest {
    /// `t = (mean_x - mean_y) / std_err`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value `2 pt(-|t|, df)`.
    pub p_value: f64,
    /// Mean of `x`.
    pub mean_x: f64,
    /// Mean of `y`.
    pub mean_y: f64,
    /// Standard error of the difference, `sqrt(s_x²/n_x + s_y²/n_y)`.
    pub std_err: f64,
    /// Lower limit of the confidence interval of `mean_x - mean_y`.
    pub conf_low: f64,
    /// Upper limit of that interval.
    pub conf_high: f64,
    /// The confidence level used.
    pub conf_level: f64,
}

/// Welch's unequal-variance two-sample t-test, two-sided, as R's
/// `t.test(x, y, conf.level = conf_level)` (stats 4.2; `var.equal = FALSE`
/// is R's default).
///
/// `se = sqrt(s_x²/n_x + s_y²/n_y)`, `t = (mean_x - mean_y)/se`,
/// `df = se⁴ / ((s_x²/n_x)²/(n_x - 1) + (s_y²/n_y)²/(n_y - 1))`
/// (Welch 1947, Satterthwaite 1946), `p = 2 pt(-|t|, df)`, and the interval
/// `mean_x - mean_y ± qt(1 - (1 - conf_level)/2, df) se`. The t quantile is
/// statrs' inverse CDF polished by Newton steps on the upper tail.
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::NonFinite`] (R drops
/// NA; here missing values must be removed by the caller),
/// [`StatsError::Degenerate`] for fewer than 2 values in a group or data that
/// are essentially constant (R: "data are essentially constant", when
/// `se < 10 eps max(|mean_x|, |mean_y|)`), [`StatsError::InvalidParameter`]
/// for `conf_level` outside (0, 1).
///
/// Reference: Welch BL (1947), The generalization of Student's problem when
/// several different population variances are involved, Biometrika
/// 34:28–35; R `t.test`.
pub fn welch_t_test(x: &[f64], y: &[f64], conf_level: f64) -> Result<WelchTTest, StatsError> {
    const WHAT: &str = "welch_t_test";
    check_sample(WHAT, "x", x, 2)?;
    check_sample(WHAT, "y", y, 2)?;
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "conf_level",
            value: conf_level,
            expected: "a number strictly between 0 and 1",
        });
    }
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (mx, my) = (mean(x), mean(y));
    let (vx, vy) = (var(x), var(y));
    let sx2 = vx / nx;
    let sy2 = vy / ny;
    let std_err = (sx2 + sy2).sqrt();
    if std_err < 10.0 * f64::EPSILON * mx.abs().max(my.abs()) || std_err == 0.0 {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "data are essentially constant".to_string(),
        });
    }
    let df = std_err.powi(4) / (sx2 * sx2 / (nx - 1.0) + sy2 * sy2 / (ny - 1.0));
    let t = (mx - my) / std_err;
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|e| StatsError::Degenerate {
        what: WHAT,
        reason: format!("t distribution with {df} df: {e}"),
    })?;
    let p_value = (2.0 * dist.cdf(-t.abs())).min(1.0);
    let q = t_upper_quantile(&dist, (1.0 - conf_level) / 2.0);
    Ok(WelchTTest {
        t,
        df,
        p_value,
        mean_x: mx,
        mean_y: my,
        std_err,
        conf_low: (t - q) * std_err,
        conf_high: (t + q) * std_err,
        conf_level,
    })
}

/// `qt(1 - alpha, df)` for small `alpha`: statrs' inverse CDF, then Newton
/// steps on `sf(q) = alpha` (statrs' inverse alone is less accurate than
/// 1e-9 for some df).
fn t_upper_quantile(dist: &StudentsT, alpha: f64) -> f64 {
    let mut q = dist.inverse_cdf(1.0 - alpha);
    for _ in 0..4 {
        let f = dist.sf(q) - alpha;
        let d = dist.pdf(q);
        if d <= 0.0 || !d.is_finite() {
            break;
        }
        let step = f / d;
        q += step;
        if step.abs() <= 1e-15 * q.abs() {
            break;
        }
    }
    q
}

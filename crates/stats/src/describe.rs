//! Means and variances: as R computes them (two passes), and the plain
//! sample standard deviation of Table 1 and the matching caliper.

use crate::StatsError;

/// Sample standard deviation `sqrt(sum((x - m)^2) / (n - 1))` with the plain
/// mean `m = sum(x) / n`: R's `sd(x)` up to rounding (R accumulates the mean
/// in long double, as this module's two-pass `mean` mimics;
/// `conformance/table1.json` checks the two agree to 1e-9 relative). `None`
/// for fewer than two values.
///
/// It is the SD of Table 1 ([`crate::summarize_continuous`]) and the one
/// that scales the matching caliper in the `cohort` crate, kept in this
/// form because their published outputs are pinned to its last bits.
pub fn sample_sd(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    Some((x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

/// R's `mean(x)`: the sum divided by n, then corrected by the mean of the
/// residuals (R accumulates in long double; this second pass recovers most
/// of that accuracy in f64).
pub(crate) fn mean(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let t = x.iter().map(|v| v - m).sum::<f64>();
    m + t / n
}

/// R's `var(x)`: `sum((x - mean)^2) / (n - 1)`.
pub(crate) fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    let n = x.len() as f64;
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)
}

/// Every value finite, at least `min_len` values.
pub(crate) fn check_sample(
    what: &'static str,
    name: &'static str,
    x: &[f64],
    min_len: usize,
) -> Result<(), StatsError> {
    if x.is_empty() {
        return Err(StatsError::EmptyInput { what });
    }
    for (index, &value) in x.iter().enumerate() {
        if !value.is_finite() {
            return Err(StatsError::NonFinite {
                what,
                name,
                index,
                value,
            });
        }
    }
    if x.len() < min_len {
        return Err(StatsError::Degenerate {
            what,
            reason: format!(
                "`{name}` has {} value(s); at least {min_len} are needed",
                x.len()
            ),
        });
    }
    Ok(())
}

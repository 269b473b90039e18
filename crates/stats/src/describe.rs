//! Means and variances as R computes them (two passes).

use crate::StatsError;

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

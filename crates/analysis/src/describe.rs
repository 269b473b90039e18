//! Per-arm summaries of declared columns.

use crate::{ArmCounts, ArmInfo, ArmNumeric, Description, ValueCount};
use polars::prelude::*;

pub(crate) fn describe_column(
    frame: &DataFrame,
    column: &str,
    arms: &[ArmInfo],
    arm_index: &[Option<usize>],
) -> PolarsResult<Description> {
    let col = frame.column(column)?;
    let numeric = col.dtype().is_primitive_numeric();
    if numeric {
        let values = col.cast(&DataType::Float64)?;
        let values = values.f64()?;
        let by_arm = arms
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let mut xs: Vec<f64> = Vec::new();
                let mut n = 0;
                for (i, v) in values.iter().enumerate() {
                    if arm_index[i] == Some(k) {
                        n += 1;
                        xs.extend(v.filter(|x| x.is_finite()));
                    }
                }
                xs.sort_by(f64::total_cmp);
                let q = |p: f64| quantile_type7(&xs, p);
                ArmNumeric {
                    arm: a.name.clone(),
                    n,
                    missing: n - xs.len() as u64,
                    median: q(0.5),
                    q1: q(0.25),
                    q3: q(0.75),
                    min: xs.first().copied(),
                    max: xs.last().copied(),
                }
            })
            .collect();
        return Ok(Description::Numeric {
            column: column.to_string(),
            by_arm,
        });
    }
    let text = col.cast(&DataType::String)?;
    let text = text.str()?;
    let by_arm = arms
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
            let (mut n, mut missing) = (0, 0);
            for (i, v) in text.iter().enumerate() {
                if arm_index[i] == Some(k) {
                    n += 1;
                    match v {
                        Some(v) => *counts.entry(v.to_string()).or_default() += 1,
                        None => missing += 1,
                    }
                }
            }
            let present = (n - missing) as f64;
            ArmCounts {
                arm: a.name.clone(),
                n,
                missing,
                values: counts
                    .into_iter()
                    .map(|(value, count)| ValueCount {
                        value,
                        count,
                        percent: 100.0 * count as f64 / present,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Description::Counts {
        column: column.to_string(),
        by_arm,
    })
}

/// R's default `quantile(x, p, type = 7)` on sorted data.
pub(crate) fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::quantile_type7;

    #[test]
    fn quantiles_match_r_type_7() {
        // R: quantile(c(1, 2, 4, 7, 11), c(.25, .5, .75)) -> 2, 4, 7
        let x = [1.0, 2.0, 4.0, 7.0, 11.0];
        assert_eq!(quantile_type7(&x, 0.25), Some(2.0));
        assert_eq!(quantile_type7(&x, 0.5), Some(4.0));
        // R: quantile(c(1, 2, 4, 7), .5) -> 3; quantile(c(1,2,4,7), .25) -> 1.75
        let y = [1.0, 2.0, 4.0, 7.0];
        assert_eq!(quantile_type7(&y, 0.5), Some(3.0));
        assert_eq!(quantile_type7(&y, 0.25), Some(1.75));
        assert_eq!(quantile_type7(&[], 0.5), None);
    }
}

//! R's `aeqSurv`: merging of times that differ only by rounding noise.

use crate::StatsError;

/// Tolerance of [`aeq_times`]: `sqrt(.Machine$double.eps)` = 2^-26, about
/// 1.49e-8, the default of R's `aeqSurv`.
pub const AEQ_TOLERANCE: f64 = 1.490_116_119_384_765_6e-8;

/// Merge near-tied times exactly as R's `survival::aeqSurv` (the `timefix =
/// TRUE` default of `survfit` and `survdiff`, survival >= 2.40).
///
/// Let `y` be the sorted distinct times and `dy[i] = y[i+1] - y[i]`. A gap is
/// *tied* when `dy[i] <= tol` or `dy[i] / mean(|y|) <= tol`, with
/// `tol =` [`AEQ_TOLERANCE`]. The cut points are `y[0]` and every `y[i+1]`
/// whose gap is not tied; every time is replaced by the largest cut point
/// `<=` it (R: `cuts[findInterval(x, cuts)]`). Chains of near ties therefore
/// collapse onto their smallest member. When nothing is tied the input is
/// returned unchanged.
///
/// [`crate::kaplan_meier`], [`crate::kaplan_meier_by_group`] and
/// [`crate::log_rank`] apply this rule to all the times they are given, via
/// [`crate::SurvTimes::new`] (which computes the same merged times as ranks
/// among the distinct merged times, without a sort of the rows). R's
/// `survfit(Surv(t, d) ~ g)` calls it once on the pooled times of all groups,
/// which [`crate::kaplan_meier_by_group`] reproduces; [`crate::kaplan_meier`]
/// on one group's rows sees only that group's times, and so can differ from
/// the grouped fit when a near tie exists only across groups.
///
/// Errors: [`StatsError::NonFinite`] if a time is NaN or infinite (R drops
/// non-finite values from the cut computation; cohortflow rejects them
/// earlier).
///
/// Reference: Therneau T, "Roundoff error and tied times", vignette of the R
/// survival package (`vignette("tiedtimes", package = "survival")`).
pub fn aeq_times(time: &[f64]) -> Result<Vec<f64>, StatsError> {
    for (i, &t) in time.iter().enumerate() {
        if !t.is_finite() {
            return Err(StatsError::NonFinite {
                what: "aeq_times",
                name: "time",
                index: i,
                value: t,
            });
        }
    }
    Ok(aeq_unchecked(time))
}

/// [`aeq_times`] for times already known to be finite.
pub(crate) fn aeq_unchecked(time: &[f64]) -> Vec<f64> {
    let mut y: Vec<f64> = time.to_vec();
    y.sort_by(f64::total_cmp);
    y.dedup();
    if y.len() < 2 {
        return time.to_vec();
    }
    let mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
    let tol = AEQ_TOLERANCE;
    let mut cuts = Vec::with_capacity(y.len());
    cuts.push(y[0]);
    let mut any_tied = false;
    for w in y.windows(2) {
        let dy = w[1] - w[0];
        let tied = dy <= tol || dy / mean_abs <= tol;
        if tied {
            any_tied = true;
        } else {
            cuts.push(w[1]);
        }
    }
    if !any_tied {
        return time.to_vec();
    }
    time.iter()
        .map(|&t| {
            // largest cut <= t; every t >= cuts[0] since cuts[0] = min(t)
            let k = cuts.partition_point(|&c| c <= t);
            cuts[k.saturating_sub(1)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_chain_onto_smallest() {
        let t = [1.0, 1.0 + 1e-12, 2.0, 2.0 + 1e-9, 3.0];
        let out = aeq_times(&t).unwrap();
        assert_eq!(out, vec![1.0, 1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn unchanged_without_ties() {
        let t = [3.0, 1.0, 2.0];
        assert_eq!(aeq_times(&t).unwrap(), t.to_vec());
    }

    #[test]
    fn rejects_nan() {
        assert!(matches!(
            aeq_times(&[1.0, f64::NAN]),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
    }
}

//! Restricted mean survival time, as R's `print(survfit(...), rmean = tau)`.

use crate::{KaplanMeier, StatsError};

/// Restricted mean survival time to a horizon `tau` and its standard error;
/// see [`rmst`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmst {
    /// `∫_0^tau S(t) dt`, the area under the Kaplan–Meier curve up to `tau`
    /// (R's `*rmean`).
    pub estimate: f64,
    /// Its standard error (R's `*se(rmean)`).
    pub se: f64,
}

/// Restricted mean survival time of a Kaplan–Meier curve up to `tau`, with
/// its standard error, exactly as R's `print(fit, rmean = tau)` /
/// `summary(fit, rmean = tau)$table` (survival 3.5, `survival:::survmean`).
///
/// With the curve's rows `t_1 < ... < t_k <= tau` (times after `tau` are
/// ignored), `t_0 = 0`, `t_{k+1} = tau`, `S_0 = 1`:
///
/// * estimate: `sum_{i=1}^{k+1} (t_i - t_{i-1}) S_{i-1}` — the area of the
///   rectangles under the step function;
/// * variance (the Greenwood-type estimator of Klein & Moeschberger 2003,
///   §4.5): `sum_{i=1}^{k} A_i^2 d_i / (n_i (n_i - d_i))`, where
///   `A_i = ∫_{t_i}^{tau} S(t) dt` is the area after `t_i` and the term is 0
///   when `n_i = d_i`.
///
/// When `tau` is before the first event (but not before the first time) the
/// estimate is `tau` and the standard error 0; when `tau` is beyond the last
/// time the last value of `S` is carried forward to `tau` (R does the same).
///
/// Errors: [`StatsError::InvalidParameter`] when `tau` is NaN, infinite, or
/// smaller than the curve's first time (R stops there: "Truncation point for
/// the mean is < smallest survival").
///
/// References: Irwin JO (1949), The standard error of an estimate of
/// expectation of life, J Hyg 47:188–189; Klein JP, Moeschberger ML (2003),
/// Survival Analysis, 2nd ed., §4.5; Royston P, Parmar MKB (2013),
/// Restricted mean survival time: an alternative to the hazard ratio..., BMC
/// Med Res Methodol 13:152; R `survival:::survmean`.
pub fn rmst(km: &KaplanMeier, tau: f64) -> Result<Rmst, StatsError> {
    let steps = km.steps();
    if !(tau.is_finite() && tau >= steps[0].time) {
        return Err(StatsError::InvalidParameter {
            what: "rmst",
            name: "tau",
            value: tau,
            expected: "a finite horizon at or after the curve's first time (R: 'Truncation point \
                       for the mean is < smallest survival')",
        });
    }
    let kept = steps.partition_point(|s| s.time <= tau);
    // temptime = c(time[keep], tau); tempsurv = c(surv[keep], surv[last])
    // rectangles = diff(c(0, temptime)) * c(1, tempsurv[-n])
    let n = kept + 1;
    let mut rect = Vec::with_capacity(n);
    let mut prev_t = 0.0;
    let mut prev_s = 1.0;
    for s in &steps[..kept] {
        rect.push((s.time - prev_t) * prev_s);
        prev_t = s.time;
        prev_s = s.surv;
    }
    rect.push((tau - prev_t) * prev_s);
    // hh = n.event / (n.risk (n.risk - n.event)), 0 where n.risk = n.event;
    // varmean = sum(cumsum(rev(rectangles[-1]))^2 * rev(hh)[-1]), hh padded
    // with a final 0
    let hh = |i: usize| -> f64 {
        if i >= kept {
            return 0.0;
        }
        let s = &steps[i];
        if s.n_risk - s.n_event == 0.0 {
            0.0
        } else {
            s.n_event / (s.n_risk * (s.n_risk - s.n_event))
        }
    };
    let mut var = 0.0;
    let mut area = 0.0;
    // rev(rectangles[-1]) = rect[n-1], ..., rect[1]; rev(hh)[-1] = hh[n-2], ..., hh[0]
    for j in 0..(n - 1) {
        area += rect[n - 1 - j];
        var += area * area * hh(n - 2 - j);
    }
    Ok(Rmst {
        estimate: rect.iter().sum(),
        se: var.sqrt(),
    })
}

//! Kaplan–Meier estimator with Greenwood variance, as R's `survfit`.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::StatsError;
use crate::survtimes::{Slots, SurvTimes, group_sizes};

/// Scale on which the pointwise confidence interval of S(t) is built, as the
/// `conf.type` argument of R's `survfit` (default `"log"`).
///
/// With `z = qnorm(1 - (1 - conf_level)/2)` and `se` the Greenwood standard
/// error of the cumulative hazard, `se = sqrt(sum d_i / (n_i (n_i - d_i)))`:
///
/// * `Log` (R `"log"`): `S exp(±z se)`, upper limit capped at 1; no interval
///   where `S = 0`.
/// * `LogLog` (R `"log-log"`): `exp(-exp(log(-log S) ∓ z se / log S))`; no
///   interval where `S = 0` or `S = 1`.
/// * `Plain` (R `"plain"`): `S ± z se S`, clipped to `[0, 1]` (Klein &
///   Moeschberger eq. 4.3.1).
///
/// Reference: R `survival:::survfit_confint`; Klein & Moeschberger (2003) §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfType {
    /// `conf.type = "log"`, R's default.
    #[default]
    Log,
    /// `conf.type = "log-log"`.
    LogLog,
    /// `conf.type = "plain"`.
    Plain,
}

/// Options of [`kaplan_meier`]: R's `survfit(..., conf.type, conf.int)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KmOptions {
    /// Scale of the pointwise confidence interval (`conf.type`).
    pub conf_type: ConfType,
    /// Confidence level in (0, 1) (`conf.int`), 0.95 by default.
    pub conf_level: f64,
}

impl Default for KmOptions {
    /// `ConfType::Log`, level 0.95: R's defaults.
    fn default() -> Self {
        KmOptions {
            conf_type: ConfType::Log,
            conf_level: 0.95,
        }
    }
}

/// One row of a Kaplan–Meier curve: one distinct (timefix-merged) time, as a
/// row of R's `survfit` object, including times with censorings only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KmStep {
    /// The time (after [`crate::aeq_times`]).
    pub time: f64,
    /// Number at risk just before `time`: subjects with time `>= time`
    /// (`n.risk`).
    pub n_risk: f64,
    /// Number of events at `time` (`n.event`).
    pub n_event: f64,
    /// Number censored at `time` (`n.censor`).
    pub n_censor: f64,
    /// Kaplan–Meier estimate `S(t) = prod_{t_i <= t} (1 - d_i / n_i)`.
    pub surv: f64,
    /// Greenwood standard error of `S(t)`, `S(t) sqrt(sum d_i/(n_i(n_i-d_i)))`,
    /// as `summary.survfit`'s `std.err` (R's `survfit` object itself stores the
    /// standard error of the cumulative hazard: see [`KmStep::std_err_cumhaz`]).
    /// Where every subject at risk has the event (`S = 0`), R computes
    /// `0 * Inf = NaN`; this field is then `NaN` too, and only then.
    pub std_err: f64,
    /// Lower pointwise confidence limit; `None` where R gives `NA`/`NaN`
    /// (see [`ConfType`]).
    pub lower: Option<f64>,
    /// Upper pointwise confidence limit; `None` where R gives `NA`/`NaN`.
    pub upper: Option<f64>,
    /// Greenwood standard error of the cumulative hazard (of `log S`),
    /// `sqrt(sum d_i/(n_i(n_i-d_i)))`: the `std.err` of R's `survfit` object.
    /// `+Inf` once `S = 0`.
    pub std_err_cumhaz: f64,
}

/// A quantile of the survival distribution with its confidence limits; `None`
/// means "not reached" (R's `NA`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantileEstimate {
    /// The quantile time, or `None` if the curve never reaches the level.
    pub estimate: Option<f64>,
    /// Lower confidence limit (from the lower pointwise curve), or `None`.
    pub lower: Option<f64>,
    /// Upper confidence limit (from the upper pointwise curve), or `None`.
    pub upper: Option<f64>,
}

/// The curve read at one time, as one row of R's `summary(fit, times = t,
/// extend = TRUE)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvivalAt {
    /// The time asked for.
    pub time: f64,
    /// `S(t)`: the estimate at the last step `<= t` (1 before the first).
    pub surv: f64,
    /// Greenwood standard error of `S(t)` (as [`KmStep::std_err`]); 0 before
    /// the first step.
    pub std_err: f64,
    /// Lower confidence limit at `t` (1 before the first step, as R's
    /// `survfit0`).
    pub lower: Option<f64>,
    /// Upper confidence limit at `t`.
    pub upper: Option<f64>,
    /// Number still at risk at `t`: subjects with time `>= t` (0 beyond the
    /// last time).
    pub n_risk: f64,
    /// `true` when `t` is after the last observed time. R's `summary` drops
    /// such times unless `extend = TRUE`; the values are then those of
    /// `extend = TRUE` (last step carried forward, `n_risk = 0`).
    pub beyond_last_time: bool,
}

/// A fitted Kaplan–Meier curve; see [`kaplan_meier`].
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    steps: Vec<KmStep>,
    n: usize,
    events: f64,
    opts: KmOptions,
}

/// Fit a Kaplan–Meier curve as R's
/// `survfit(Surv(time, event) ~ 1, conf.type = ..., conf.int = ...)`
/// (survival 3.5, `timefix = TRUE`).
///
/// * Times are first merged with [`crate::aeq_times`].
/// * At each distinct time `t_i` with `n_i` at risk and `d_i` events:
///   `S(t) = prod_{t_i <= t} (1 - d_i/n_i)` (Kaplan & Meier 1958).
/// * Greenwood: `var(log S(t)) = sum_{t_i <= t} d_i / (n_i (n_i - d_i))`
///   (Greenwood 1926); infinite once `d_i = n_i`.
/// * Pointwise intervals as described in [`ConfType`].
///
/// `event[i]` is `true` for an event (death, progression), `false` for a
/// censored time.
///
/// Computed as [`crate::SurvTimes::new`] then the code of
/// [`kaplan_meier_by_group_prepared`] with every row in one group (without
/// allocating a group column).
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::InvalidTime`] (NaN, infinite or negative time),
/// [`StatsError::InvalidParameter`] (`conf_level` not in (0, 1)).
///
/// Reference: R `survival::survfit.formula`, `survfitKM`, `survfit_confint`.
pub fn kaplan_meier(
    time: &[f64],
    event: &[bool],
    opts: &KmOptions,
) -> Result<KaplanMeier, StatsError> {
    const WHAT: &str = "kaplan_meier";
    let times = SurvTimes::build(WHAT, time, event)?;
    let z = z_value(WHAT, opts.conf_level)?;
    let slots = Slots::count(
        times.codes().iter().map(|&c| (c, 0)),
        times.len(),
        times.distinct_times().len(),
        1,
    );
    let neg_zero = times.neg_zero_rows().is_some_and(|r| !r.is_empty());
    Ok(curve_from_slots(
        &times,
        &slots,
        0,
        times.len(),
        neg_zero,
        opts,
        z,
    ))
}

/// One Kaplan–Meier curve per group, as R's
/// `survfit(Surv(time, event) ~ group, conf.type = ..., conf.int = ...)`.
///
/// The difference from calling [`kaplan_meier`] on each group's rows is
/// R's `timefix`: `survfit` merges near-tied times ([`crate::aeq_times`]) once
/// on the pooled times of all groups, so two times in different groups that
/// R treats as tied are tied here too. `group[i]` numbers the groups `0..k`
/// and every number must occur; the result has one curve per group, in
/// order. Each curve is computed exactly as in [`kaplan_meier`].
///
/// Computed as [`crate::SurvTimes::new`] then
/// [`kaplan_meier_by_group_prepared`] (one code path).
///
/// Errors: those of [`kaplan_meier`], plus [`StatsError::LengthMismatch`] for
/// `group` and [`StatsError::EmptyGroup`].
///
/// Reference: R `survival::survfit.formula` (`timefix`, then `survfitKM` per
/// stratum).
pub fn kaplan_meier_by_group(
    time: &[f64],
    event: &[bool],
    group: &[usize],
    opts: &KmOptions,
) -> Result<Vec<KaplanMeier>, StatsError> {
    const WHAT: &str = "kaplan_meier_by_group";
    let times = SurvTimes::build(WHAT, time, event)?;
    by_group(WHAT, &times, group, opts)
}

/// [`kaplan_meier_by_group`] on times already validated, timefixed and
/// ranked by [`crate::SurvTimes::new`] (timefix pooled over all its rows),
/// so that the same [`crate::SurvTimes`] can feed several estimators
/// (e.g. also [`crate::log_rank_prepared`]). Results are identical, bit for
/// bit, to [`kaplan_meier_by_group`] on the same `time`, `event`, `group`.
///
/// Algorithm: one pass counts events and censorings per (distinct time,
/// group); each curve is then the usual product-limit recursion over the
/// distinct times of its group, the number at risk starting at the group's
/// size and dropping by the events and censorings of each time. No sort of
/// the rows.
///
/// `kaplan_meier(time, event, opts)` equals this with every row in group 0.
///
/// Errors: [`StatsError::LengthMismatch`] (`group`),
/// [`StatsError::InvalidParameter`] (`conf_level`),
/// [`StatsError::EmptyGroup`].
pub fn kaplan_meier_by_group_prepared(
    times: &SurvTimes,
    group: &[usize],
    opts: &KmOptions,
) -> Result<Vec<KaplanMeier>, StatsError> {
    by_group("kaplan_meier_by_group_prepared", times, group, opts)
}

fn by_group(
    what: &'static str,
    times: &SurvTimes,
    group: &[usize],
    opts: &KmOptions,
) -> Result<Vec<KaplanMeier>, StatsError> {
    if group.len() != times.len() {
        return Err(StatsError::LengthMismatch {
            what,
            left: "time",
            left_len: times.len(),
            right: "group",
            right_len: group.len(),
        });
    }
    let z = z_value(what, opts.conf_level)?;
    let (k, sizes, empty) = group_sizes(group);
    if let Some(g) = empty {
        return Err(StatsError::EmptyGroup { what, group: g });
    }
    let codes = times.codes();
    let slots = Slots::count(
        codes.iter().zip(group).map(|(&c, &g)| (c, g)),
        codes.len(),
        times.distinct_times().len(),
        k,
    );
    // groups whose time-zero step is -0.0 (see `SurvTimes::neg_zero_rows`)
    let mut neg_zero = vec![false; k];
    if let Some(rows) = times.neg_zero_rows() {
        for &i in rows {
            neg_zero[group[i as usize]] = true;
        }
    }
    Ok((0..k)
        .map(|g| curve_from_slots(times, &slots, g, sizes[g], neg_zero[g], opts, z))
        .collect())
}

/// The Kaplan–Meier curve of group `g` (`n` rows) from the counts per
/// distinct time: the same arithmetic, in the same order, as a walk over
/// the group's rows sorted by time.
fn curve_from_slots(
    times: &SurvTimes,
    slots: &Slots,
    g: usize,
    n: usize,
    neg_zero: bool,
    opts: &KmOptions,
    z: f64,
) -> KaplanMeier {
    let k = slots.k;
    let distinct = times.distinct_times();
    let mut steps = Vec::new();
    let mut at_risk = n as f64;
    let mut surv = 1.0_f64;
    let mut varhaz = 0.0_f64;
    let mut total_events = 0.0;
    for s in 0..slots.len() {
        let (d, c) = (slots.ev[s * k + g], slots.cen[s * k + g]);
        if d == 0 && c == 0 {
            continue;
        }
        let (d, c) = (f64::from(d), f64::from(c));
        let r = slots.rank[s] as usize;
        let ti = if r == 0 && times.neg_zero_rows().is_some() {
            if neg_zero { -0.0 } else { 0.0 }
        } else {
            distinct[r]
        };
        if d > 0.0 {
            surv *= (at_risk - d) / at_risk;
            if at_risk > d {
                varhaz += d / (at_risk * (at_risk - d));
            } else {
                varhaz = f64::INFINITY;
            }
        }
        let se = varhaz.sqrt();
        let (lower, upper) = conf_limits(surv, se, opts.conf_type, z);
        steps.push(KmStep {
            time: ti,
            n_risk: at_risk,
            n_event: d,
            n_censor: c,
            surv,
            std_err: se * surv,
            lower,
            upper,
            std_err_cumhaz: se,
        });
        total_events += d;
        at_risk -= d + c;
    }
    KaplanMeier {
        steps,
        n,
        events: total_events,
        opts: *opts,
    }
}

pub(crate) fn check_times(what: &'static str, time: &[f64]) -> Result<(), StatsError> {
    if time.is_empty() {
        return Err(StatsError::EmptyInput { what });
    }
    for (index, &value) in time.iter().enumerate() {
        if !(value.is_finite() && value >= 0.0) {
            return Err(StatsError::InvalidTime { what, index, value });
        }
    }
    Ok(())
}

/// `qnorm(1 - (1 - level)/2)`.
pub(crate) fn z_value(what: &'static str, level: f64) -> Result<f64, StatsError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::InvalidParameter {
            what,
            name: "conf_level",
            value: level,
            expected: "a number strictly between 0 and 1",
        });
    }
    let std_normal = Normal::standard();
    Ok(std_normal.inverse_cdf(1.0 - (1.0 - level) / 2.0))
}

fn finite(x: f64) -> Option<f64> {
    if x.is_nan() { None } else { Some(x) }
}

/// R `survfit_confint(p, se, logse = TRUE, conf.type, conf.int)` with the
/// "usual" lower limit; `NA`/`NaN` become `None`.
pub(crate) fn conf_limits(
    p: f64,
    se: f64,
    conf_type: ConfType,
    z: f64,
) -> (Option<f64>, Option<f64>) {
    match conf_type {
        ConfType::Plain => {
            let se2 = se * p * z;
            if se2.is_nan() {
                return (None, None);
            }
            (Some((p - se2).max(0.0)), Some((p + se2).min(1.0)))
        }
        ConfType::Log => {
            if p == 0.0 {
                return (None, None);
            }
            let se2 = z * se;
            let lo = (p.ln() - se2).exp();
            let hi = (p.ln() + se2).exp();
            (finite(lo), finite(hi).map(|h| h.min(1.0)))
        }
        ConfType::LogLog => {
            if p == 0.0 || p == 1.0 {
                return (None, None);
            }
            let se2 = z * se / p.ln();
            let ll = (-p.ln()).ln();
            let lo = (-(ll - se2).exp()).exp();
            let hi = (-(ll + se2).exp()).exp();
            (finite(lo), finite(hi))
        }
    }
}

impl KaplanMeier {
    /// The curve's rows, one per distinct time (events or censorings), in
    /// increasing time: the rows of R's `survfit` object.
    pub fn steps(&self) -> &[KmStep] {
        &self.steps
    }

    /// Number of observations (`n` of `print.survfit`).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Total number of events (`events` of `print.survfit`).
    pub fn events(&self) -> f64 {
        self.events
    }

    /// The options the curve was fitted with.
    pub fn options(&self) -> KmOptions {
        self.opts
    }

    /// The time by which a fraction `p` of subjects has had the event, i.e.
    /// the `p` quantile of the event-time distribution `F = 1 - S`, with its
    /// confidence limits read off the pointwise confidence curves, as R's
    /// `quantile(fit, probs = p)` (survival 3.5, `quantile.survfit`).
    ///
    /// With `x = (0, t_1, ..., t_m)` and `y = (0, 1 - S(t_1), ...)`: the
    /// quantile is the first `x` where `y` reaches `p`. When `y` equals `p`
    /// (within `tol = sqrt(.Machine$double.eps)`) on a flat stretch, it is the
    /// midpoint between the start of that stretch and the next time `y` rises
    /// (or the last time of the curve, if it never rises again). The lower
    /// limit applies the same rule to `1 - lower`, the upper limit to
    /// `1 - upper`; a curve that never reaches `p` gives `None`. `p = 0`
    /// gives time 0.
    ///
    /// `p` outside `[0, 1]` or NaN (an error in R) gives all `None`; use
    /// [`KaplanMeier::try_quantile`] to get an error instead.
    ///
    /// Reference: R `survival:::quantile.survfit`, `doquant`, `findq`;
    /// Brookmeyer & Crowley (1982).
    pub fn quantile(&self, p: f64) -> QuantileEstimate {
        self.try_quantile(p).unwrap_or(QuantileEstimate {
            estimate: None,
            lower: None,
            upper: None,
        })
    }

    /// [`KaplanMeier::quantile`], with [`StatsError::InvalidParameter`] when
    /// `p` is not in `[0, 1]`.
    pub fn try_quantile(&self, p: f64) -> Result<QuantileEstimate, StatsError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(StatsError::InvalidParameter {
                what: "KaplanMeier::quantile",
                name: "p",
                value: p,
                expected: "a probability in [0, 1]",
            });
        }
        let mut x = Vec::with_capacity(self.steps.len() + 1);
        x.push(0.0);
        x.extend(self.steps.iter().map(|s| s.time));
        let curve = |f: &dyn Fn(&KmStep) -> Option<f64>| -> Vec<Option<f64>> {
            let mut y = Vec::with_capacity(x.len());
            y.push(Some(0.0));
            y.extend(self.steps.iter().map(|s| f(s).map(|v| 1.0 - v)));
            y
        };
        let tol = crate::AEQ_TOLERANCE;
        Ok(QuantileEstimate {
            estimate: findq(&x, &curve(&|s| Some(s.surv)), p, tol),
            lower: findq(&x, &curve(&|s| s.lower), p, tol),
            upper: findq(&x, &curve(&|s| s.upper), p, tol),
        })
    }

    /// Median survival with its confidence limits as printed by R's
    /// `print(fit)` (`median`, `0.95LCL`, `0.95UCL`; `survival:::survmean`).
    ///
    /// The median is the first time where `S(t) < 0.5 + tol`
    /// (`tol = sqrt(.Machine$double.eps)`); if `S` there equals 0.5 within
    /// `tol` and drops lower later, it is the midpoint between that time and
    /// the first time `S` is lower. The limits apply the same rule to the
    /// lower and upper pointwise curves (Brookmeyer & Crowley 1982). `None`
    /// = not reached (`NA`).
    ///
    /// R's `print.survfit` and `quantile.survfit` use different rules, so this
    /// and `quantile(0.5)` can differ in edge cases, exactly as in R: a curve
    /// that ends on a flat stretch at exactly 0.5 (case
    /// `curve_ends_flat_at_half` in `conformance/km.json`: median 2 here and
    /// in `print`, 3 in `quantile`).
    pub fn median(&self) -> QuantileEstimate {
        let x: Vec<f64> = self.steps.iter().map(|s| s.time).collect();
        let s: Vec<Option<f64>> = self.steps.iter().map(|s| Some(s.surv)).collect();
        let lo: Vec<Option<f64>> = self.steps.iter().map(|s| s.lower).collect();
        let hi: Vec<Option<f64>> = self.steps.iter().map(|s| s.upper).collect();
        QuantileEstimate {
            estimate: minmin(&s, &x),
            lower: minmin(&lo, &x),
            upper: minmin(&hi, &x),
        }
    }

    /// The curve at time `t`, as R's `summary(fit, times = t, extend = TRUE)`
    /// (survival 3.5): `S`, its standard error and confidence limits are those
    /// of the last step at or before `t` (1, 0, 1, 1 before the first step, as
    /// `survfit0` adds a row at time 0); `n_risk` is the number with time
    /// `>= t`. See [`SurvivalAt::beyond_last_time`] for `t` after the last
    /// time. A NaN `t` gives NaN numbers and `None` limits (the only NaN
    /// output that does not come from R itself).
    pub fn survival_at(&self, t: f64) -> SurvivalAt {
        if t.is_nan() {
            return SurvivalAt {
                time: t,
                surv: f64::NAN,
                std_err: f64::NAN,
                lower: None,
                upper: None,
                n_risk: f64::NAN,
                beyond_last_time: false,
            };
        }
        // survfit0: prepend a row at time 0 unless the first time is 0.
        let first = &self.steps[0];
        let row0 = KmStep {
            time: 0.0,
            n_risk: first.n_risk,
            n_event: 0.0,
            n_censor: 0.0,
            surv: 1.0,
            std_err: 0.0,
            lower: Some(1.0),
            upper: Some(1.0),
            std_err_cumhaz: 0.0,
        };
        // rows = [row0] ++ steps, unless the first time is already 0
        let extra = usize::from(first.time != 0.0);
        let len = self.steps.len() + extra;
        let row_at = |i: usize| -> &KmStep {
            if i < extra {
                &row0
            } else {
                &self.steps[i - extra]
            }
        };
        // findInterval(t, time): number of times <= t
        let index1 = extra * usize::from(0.0 <= t) + self.steps.partition_point(|r| r.time <= t);
        let row = row_at(index1.max(1) - 1);
        // 1 + findInterval(t, time, left.open = TRUE): first time >= t
        let index2 = extra * usize::from(0.0 < t) + self.steps.partition_point(|r| r.time < t);
        let n_risk = if index2 < len {
            row_at(index2).n_risk
        } else {
            0.0
        };
        let last = self.steps[self.steps.len() - 1].time;
        SurvivalAt {
            time: t,
            surv: row.surv,
            std_err: row.std_err_cumhaz * row.surv,
            lower: row.lower,
            upper: row.upper,
            n_risk,
            beyond_last_time: t > last,
        }
    }
}

/// R `survival:::findq(x, y, p, tol)`; `y` is a non-decreasing cumulative
/// curve with `None` for `NA`.
fn findq(x: &[f64], y: &[Option<f64>], p: f64, tol: f64) -> Option<f64> {
    // if (max(y, na.rm=TRUE) < min(p)) return NA
    let ymax = y.iter().flatten().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    if ymax < p {
        return None;
    }
    let xmax = x[x.len() - 1];
    // drop duplicated y, keeping the first of each value (R's
    // `duplicated`: NA duplicates NA, 0 equals -0)
    let mut seen = std::collections::HashSet::with_capacity(y.len());
    let mut xs = Vec::with_capacity(x.len());
    let mut ys: Vec<Option<f64>> = Vec::with_capacity(y.len());
    for (&xi, &yi) in x.iter().zip(y) {
        let key = yi.map(|v| {
            if v == 0.0 {
                0.0_f64.to_bits()
            } else {
                v.to_bits()
            }
        });
        if seen.insert(key) {
            xs.push(xi);
            ys.push(yi);
        }
    }
    let n = ys.len();
    let idx1 = approx_const_right(&ys, tol, p);
    let idx2 = approx_const_right(&ys, -tol, p);
    let at = |i: Option<usize>| i.map(|i| xs[i]);
    let mut quant = match (at(idx1), at(idx2)) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        _ => None,
    };
    if p == 0.0 {
        quant = Some(xs[0]);
    }
    if let Some(yn) = ys[n - 1] {
        if (p - yn).abs() < tol {
            quant = at(idx1).map(|a| (a + xmax) / 2.0);
        }
    }
    quant
}

/// `approx(y + shift, 1:n, p, method = "constant", f = 1)$y - 1` (0-based),
/// with NA pairs removed and pairs sorted by abscissa as R's
/// `regularize.values` does; `None` outside the range (rule = 1).
fn approx_const_right(y: &[Option<f64>], shift: f64, v: f64) -> Option<usize> {
    let mut pts: Vec<(f64, usize)> = y
        .iter()
        .enumerate()
        .filter_map(|(i, yi)| yi.map(|val| (val + shift, i)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0)); // stable, as R's order()
    let first = pts[0].0;
    let last = pts[pts.len() - 1].0;
    if v < first || v > last {
        return None;
    }
    // the first abscissa >= v; on an exact hit that point, else the right end
    let j = pts.partition_point(|p| p.0 < v);
    Some(pts[j].1)
}

/// R `survmean`'s `minmin(y, x)`.
fn minmin(y: &[Option<f64>], x: &[f64]) -> Option<f64> {
    let tol = crate::AEQ_TOLERANCE;
    let kept: Vec<(f64, f64)> = y
        .iter()
        .zip(x)
        .filter_map(|(yi, &xi)| yi.filter(|&v| v < 0.5 + tol).map(|v| (v, xi)))
        .collect();
    let &(y1, x1) = kept.first()?;
    if (y1 - 0.5).abs() < tol {
        if let Some(&(_, x2)) = kept.iter().find(|(v, _)| *v < y1) {
            return Some((x1 + x2) / 2.0);
        }
    }
    Some(x1)
}

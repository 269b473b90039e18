//! The Fine–Gray data expansion of R's `survival::finegray`: competing-risk
//! data turned into weighted counting-process rows whose weighted Cox fit is
//! the Fine–Gray subdistribution hazard model.

use crate::StatsError;
use crate::timefix::aeq_times;

/// The expanded data of [`fine_gray_expand`]: one entry per output row, the
/// columns `fgstart`, `fgstop`, `fgstatus`, `fgwt` of R's `finegray()`
/// (and the `count` column), plus the input row each comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FineGrayData {
    /// Input row (0-based) of each output row (R: the row of `data` the
    /// covariates are copied from).
    pub row: Vec<usize>,
    /// Start of the interval (`fgstart`): 0 on a subject's first row (R:
    /// `2 min(time) - 1` when a time is 0, see [`fine_gray_expand`]), the
    /// previous censoring time on an added row.
    pub start: Vec<f64>,
    /// End of the interval (`fgstop`), after `aeqSurv`.
    pub stop: Vec<f64>,
    /// `true` for an event of the cause of interest at `stop` (`fgstatus`).
    pub event: Vec<bool>,
    /// Case weight (`fgwt`): 1 on a subject's own row; on the added rows of
    /// a subject with a competing event, `G(start) / G(t_i)` (see
    /// [`fine_gray_expand`]).
    pub weight: Vec<f64>,
    /// 0 on a subject's own row, `1, 2, ...` on the rows added after it
    /// (R's `count` column).
    pub count: Vec<usize>,
}

impl FineGrayData {
    /// Number of output rows.
    pub fn len(&self) -> usize {
        self.row.len()
    }

    /// `true` when there are no output rows.
    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }
}

/// Expand competing-risk data for a Fine–Gray model, exactly as R's
/// `finegray(Surv(time, factor(status)) ~ ., data, etype = cause)`
/// (survival 3.5, right-censored data, optional `strata()`, no user
/// weights, `timefix = TRUE`).
///
/// `status[i]` is 0 for a censored row and `k > 0` for an event of cause
/// `k`; `cause` is the event of interest. The subdistribution hazard model
/// of Fine & Gray (1999) is then the weighted Cox fit
///
/// ```text
/// coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt, data = fg)
/// ```
///
/// i.e. [`crate::cox_ph_weighted`] with `start = Some(&fg.start)`,
/// `stop = &fg.stop`, `event = &fg.event`, the covariates of the input rows
/// `fg.row`, and `weights = Some(&fg.weight)`. R's default variance for
/// these non-integer weights is the robust one with each output row its own
/// cluster ([`crate::CoxVariance::Robust`]); `cluster = id` (the input row,
/// [`crate::CoxVariance::Cluster`] on `fg.row`) sums the rows of a subject.
///
/// # What the expansion does (the code of `finegray` and `finegray.c`)
///
/// 1. Times are merged with [`aeq_times`]. Subjects start at 0 (R: at
///    `2 min(time) - 1` if a time is `<= 0`).
/// 2. `G` is the Kaplan–Meier curve of the censoring distribution (per
///    stratum), with censorings counted as "events" and, at a time with
///    both, the events counted before the censorings (R moves each event
///    0.2 of a rank earlier): the risk set of a censoring time `c` holds the
///    subjects with time `> c` and those censored at `c`.
/// 3. The cut points are the censoring times `c_1 < ... < c_m` (times with at
///    least one censoring) followed by the largest time of the stratum;
///    `G` just after each (`G(c_0) = 1` before the first).
/// 4. A subject censored or with an event of interest keeps one row
///    `(0, t_i]` with weight 1. A subject with a competing event (any other
///    cause) stays at risk: its row is extended to `(0, c_j]`, `c_j` the
///    first cut point `>= t_i`, and it gets one more row `(c_{k-1}, c_k]`
///    with weight `G(c_{k-1}) / G(c_{j-1})` for each later cut interval
///    `k > j` that contains an event time of the cause of interest
///    (intervals without such an event would add nothing to the fit).
///
/// Output rows are grouped by stratum (in order of the label), the input
/// rows in their order within each, each followed by its added rows.
///
/// Not implemented: R's `(start, stop]` input with delayed entry (an `id`
/// and a second, truncation curve) and user case weights (R multiplies
/// `fgwt` by them). A time of 0 makes R's start `-1`, which
/// [`crate::cox_ph_weighted`] rejects (times must be `>= 0`): shift the
/// times by a constant first (the Cox fit depends only on their order).
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::InvalidTime`] (negative or non-finite time),
/// [`StatsError::InvalidParameter`] (`cause` is 0), [`StatsError::NoEvents`]
/// (no event of `cause` in any stratum; R then fails too).
///
/// References: Fine JP, Gray RJ (1999). A proportional hazards model for
/// the subdistribution of a competing risk. JASA 94:496–509. Geskus RB
/// (2011). Cause-specific cumulative incidence estimation and the Fine and
/// Gray model under both left truncation and right censoring. Biometrics
/// 67:39–49 (the weighted counting-process form). Therneau T, Crowson C,
/// Atkinson E, "Multi-state models and competing risks", vignette of the R
/// survival package (`vignette("compete")`). R `survival::finegray`.
pub fn fine_gray_expand(
    time: &[f64],
    status: &[usize],
    cause: usize,
    strata: Option<&[usize]>,
) -> Result<FineGrayData, StatsError> {
    const WHAT: &str = "fine_gray_expand";
    let n = time.len();
    if n == 0 {
        return Err(StatsError::EmptyInput { what: WHAT });
    }
    let mismatch = |right: &'static str, len: usize| StatsError::LengthMismatch {
        what: WHAT,
        left: "time",
        left_len: n,
        right,
        right_len: len,
    };
    if status.len() != n {
        return Err(mismatch("status", status.len()));
    }
    if let Some(s) = strata {
        if s.len() != n {
            return Err(mismatch("strata", s.len()));
        }
    }
    if cause == 0 {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "cause",
            value: 0.0,
            expected: "a cause code > 0 (0 is censoring)",
        });
    }
    crate::km::check_times(WHAT, time)?;
    let y = aeq_times(time)?;
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    let zero = if min > 0.0 { 0.0 } else { 2.0 * min - 1.0 };

    // strata in order of the label
    let mut labels: Vec<usize> = strata.map_or_else(|| vec![0], |s| s.to_vec());
    labels.sort_unstable();
    labels.dedup();
    let stratum_of = |i: usize| strata.map_or(0, |s| s[i]);

    let mut out = FineGrayData {
        row: Vec::new(),
        start: Vec::new(),
        stop: Vec::new(),
        event: Vec::new(),
        weight: Vec::new(),
        count: Vec::new(),
    };
    let mut any_event = false;
    for &label in &labels {
        let rows: Vec<usize> = (0..n).filter(|&i| stratum_of(i) == label).collect();
        // event times of interest (R: sort(unique(Y[keep & status == enum, 2])))
        let mut times: Vec<f64> = rows
            .iter()
            .filter(|&&i| status[i] == cause)
            .map(|&i| y[i])
            .collect();
        if times.is_empty() {
            continue; // R's stratfun returns NULL
        }
        any_event = true;
        times.sort_by(f64::total_cmp);
        times.dedup();
        let maxtime = rows.iter().map(|&i| y[i]).fold(f64::NEG_INFINITY, f64::max);

        // censoring Kaplan-Meier: distinct times ascending, with the number
        // censored and the number at risk (time > c, or censored at c)
        let mut sorted: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let k = sorted.len();
        let mut censored = vec![0usize; k];
        let mut at_or_after_events = vec![0usize; k]; // events at exactly this time
        let mut total_at = vec![0usize; k];
        for &i in &rows {
            let r = sorted.partition_point(|&t| t < y[i]);
            total_at[r] += 1;
            if status[i] == 0 {
                censored[r] += 1;
            } else {
                at_or_after_events[r] += 1;
            }
        }
        // ctime, cprob: the censoring times and G just after each
        let mut ctime = Vec::new();
        let mut cprob = Vec::new();
        let mut at_risk = rows.len() as f64; // rows with time >= sorted[r]
        let mut g = 1.0_f64;
        for r in 0..k {
            // the events at this time are not at risk for its censorings
            let n_risk = at_risk - at_or_after_events[r] as f64;
            if censored[r] > 0 {
                let d = censored[r] as f64;
                g *= (n_risk - d) / n_risk;
                ctime.push(sorted[r]);
                cprob.push(g);
            }
            at_risk -= total_at[r] as f64;
        }
        // ct2 = c(ctime, maxtime), cp2 = c(1, cprob)
        let mut ct2 = ctime;
        ct2.push(maxtime);
        let mut cp2 = Vec::with_capacity(ct2.len());
        cp2.push(1.0);
        cp2.extend(cprob);
        let ncut = ct2.len();
        // keep[j] (j >= 1): the interval (ct2[j-1], ct2[j]] holds an event
        // time of interest (R: ckeep[findInterval(times, ct2, left.open = TRUE)])
        let mut keep = vec![false; ncut + 1];
        keep[0] = true;
        for &t in &times {
            let idx = ct2.partition_point(|&c| c < t);
            if idx >= 1 {
                keep[idx] = true;
            }
        }
        for &i in &rows {
            let expand = status[i] != 0 && status[i] != cause;
            out.row.push(i);
            out.start.push(zero);
            out.event.push(status[i] == cause);
            out.weight.push(1.0);
            out.count.push(0);
            if !expand {
                out.stop.push(y[i]);
                continue;
            }
            let mut j = ct2.partition_point(|&c| c < y[i]);
            out.stop.push(ct2[j]);
            let tempwt = cp2[j];
            j += 1;
            let mut iadd = 0;
            while j < ncut {
                if keep[j] {
                    iadd += 1;
                    out.row.push(i);
                    out.start.push(ct2[j - 1]);
                    out.stop.push(ct2[j]);
                    out.event.push(false);
                    out.weight.push(cp2[j] / tempwt);
                    out.count.push(iadd);
                }
                j += 1;
            }
        }
    }
    if !any_event {
        return Err(StatsError::NoEvents { what: WHAT });
    }
    Ok(out)
}

/// The variance of [`fine_gray`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FineGrayVariance {
    /// Robust, each expanded row its own cluster: R's default for
    /// `coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt, data = fg)`
    /// (the weights are not integers, so `coxph` turns `robust` on).
    #[default]
    RobustRows,
    /// Robust, clustered on the subject (the input row): R's
    /// `coxph(..., weights = fgwt, cluster = id)`, the variance of Fine &
    /// Gray's estimator that accounts for a subject's several rows.
    BySubject,
    /// The model-based variance only (R `robust = FALSE`).
    Naive,
}

/// A Fine–Gray fit: the expanded data and the weighted Cox model on it.
#[derive(Debug, Clone, PartialEq)]
pub struct FineGrayFit {
    /// The rows of [`fine_gray_expand`].
    pub data: FineGrayData,
    /// The subdistribution hazard model: `exp(coef)` are subdistribution
    /// hazard ratios.
    pub fit: crate::CoxFit,
}

/// Fit the Fine–Gray subdistribution hazard model of `cause`, as R's
///
/// ```text
/// fg  <- finegray(Surv(time, factor(status)) ~ ., data, etype = cause)
/// fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + ... [+ strata(s)],
///              weights = fgwt, data = fg [, cluster = id])
/// ```
///
/// [`fine_gray_expand`] then [`crate::cox_ph_weighted`] on the expanded
/// rows, the covariates (and strata) of each input row copied to its rows.
/// `strata`, when given, both makes the censoring curve per stratum (as
/// `strata()` in the `finegray` formula) and stratifies the Cox model.
///
/// Errors: those of [`fine_gray_expand`] and [`crate::cox_ph_weighted`],
/// and [`StatsError::LengthMismatch`] for a covariate of the wrong length.
///
/// References: Fine & Gray (1999); R `survival::finegray`, `coxph`
/// (see [`fine_gray_expand`]).
pub fn fine_gray(
    time: &[f64],
    status: &[usize],
    cause: usize,
    covariates: &[&[f64]],
    strata: Option<&[usize]>,
    variance: FineGrayVariance,
    opts: &crate::CoxOptions,
) -> Result<FineGrayFit, StatsError> {
    if let Some(c) = covariates.iter().find(|c| c.len() != time.len()) {
        return Err(StatsError::LengthMismatch {
            what: "fine_gray",
            left: "time",
            left_len: time.len(),
            right: "covariates[j]",
            right_len: c.len(),
        });
    }
    let data = fine_gray_expand(time, status, cause, strata)?;
    let x: Vec<Vec<f64>> = covariates
        .iter()
        .map(|c| data.row.iter().map(|&i| c[i]).collect())
        .collect();
    let cols: Vec<&[f64]> = x.iter().map(|c| c.as_slice()).collect();
    let s: Option<Vec<usize>> = strata.map(|s| data.row.iter().map(|&i| s[i]).collect());
    let cox_data = crate::CoxData {
        start: Some(&data.start),
        stop: &data.stop,
        event: &data.event,
        covariates: &cols,
        strata: s.as_deref(),
    };
    let v = match variance {
        FineGrayVariance::RobustRows => crate::CoxVariance::Robust,
        FineGrayVariance::BySubject => crate::CoxVariance::Cluster(&data.row),
        FineGrayVariance::Naive => crate::CoxVariance::Naive,
    };
    let fit = crate::cox_ph_weighted(&cox_data, Some(&data.weight), v, opts)?;
    Ok(FineGrayFit { data, fit })
}

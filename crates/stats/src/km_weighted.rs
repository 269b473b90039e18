//! Kaplan–Meier with case weights, as R's
//! `survfit(Surv(time, event) ~ 1, weights = w)`: weighted Greenwood or
//! infinitesimal-jackknife (robust) variance.

use crate::StatsError;
use crate::km::{KaplanMeier, KmOptions, KmStep, check_times, conf_limits, z_value};
use crate::timefix::aeq_times;

/// The variance of [`kaplan_meier_weighted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmVariance<'a> {
    /// Greenwood's formula on the weighted counts (R `robust = FALSE`; R's
    /// default when every weight is an integer and there is no `id` or
    /// `cluster`).
    Greenwood,
    /// The infinitesimal-jackknife variance with each row its own cluster
    /// (R `robust = TRUE`; R's default when a weight is not an integer).
    Robust,
    /// The infinitesimal-jackknife variance with the influence of the rows
    /// of one cluster summed (R `survfit(..., id = id)` with an id repeated
    /// among the events, or `cluster = id`). One label per row, any labels.
    Cluster(&'a [usize]),
}

/// Fit a Kaplan–Meier curve with case weights, as R's
/// `survfit(Surv(time, event) ~ 1, weights = w, robust = ..., id = ...)`
/// (survival 3.5, `survfitKM` and `survfitkm.c`, `timefix = TRUE`).
///
/// * Times are merged with [`crate::aeq_times`].
/// * At each distinct time `t_i`: `n_i = sum of w` over the rows with time
///   `>= t_i`, `d_i = sum of w` over the events at `t_i` (and the weighted
///   censorings); these are [`KmStep::n_risk`], [`KmStep::n_event`],
///   [`KmStep::n_censor`], as R's `n.risk`, `n.event`, `n.censor`.
/// * `S(t) = prod_{t_i <= t} (1 - d_i / n_i)` over the times with an event
///   of positive weight.
/// * [`KmVariance::Greenwood`]: `var(log S(t)) = sum d_i / (n_i (n_i - d_i))`;
///   `std_err_cumhaz` is its square root and `std_err = S sqrt(...)`, as in
///   [`crate::kaplan_meier`] (R: `logse = TRUE`).
/// * [`KmVariance::Robust`], [`KmVariance::Cluster`]: the infinitesimal
///   jackknife (Efron 1982; Therneau & Grambsch 2000 §7.2.2, the survfit
///   vignette): the influence of cluster `k` on `S`, updated at each event
///   time as `U_k <- U_k (1 - h) + W_k S(t-) h / n_i`, minus
///   `S(t-) w_j / n_i` for each event `j` of the cluster at `t_i`, where
///   `h = d_i / n_i` and `W_k` is the weight of the cluster still at risk;
///   `var S(t) = sum_k U_k^2`. `std_err` is `sqrt(var S)` (R stores it as is,
///   `logse = FALSE`) and `std_err_cumhaz` is `std_err / S` (0 where
///   `std_err = 0`), the log-scale error R's `survfit_confint` derives from
///   it for the confidence limits.
/// * Pointwise confidence limits as [`crate::ConfType`], from that log-scale
///   error.
///
/// R chooses the variance by itself: the jackknife when a weight is not an
/// integer (or with `cluster`, or an `id` repeated among the events),
/// Greenwood otherwise; the caller chooses here.
///
/// [`KaplanMeier::n`] is the number of rows, [`KaplanMeier::events`] the
/// weighted number of events; medians, quantiles and
/// [`KaplanMeier::survival_at`] work as for the unweighted curve.
///
/// The jackknife costs `O(distinct event times x clusters)`.
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::InvalidTime`], [`StatsError::InvalidParameter`] (a weight
/// that is negative or not finite, as R's "weights must be non-negative",
/// or `conf_level` not in (0, 1)).
///
/// References: Kaplan & Meier (1958); Greenwood (1926); Efron B (1982). The
/// Jackknife, the Bootstrap and Other Resampling Plans. SIAM; Therneau T,
/// "The survfit function" (`vignette("survival")` §2 and the robust variance
/// section of the survival package); R `survival::survfitKM`,
/// `survfit_confint`.
pub fn kaplan_meier_weighted(
    time: &[f64],
    event: &[bool],
    weights: &[f64],
    variance: KmVariance,
    opts: &KmOptions,
) -> Result<KaplanMeier, StatsError> {
    const WHAT: &str = "kaplan_meier_weighted";
    check_times(WHAT, time)?;
    let n = time.len();
    let mismatch = |right: &'static str, len: usize| StatsError::LengthMismatch {
        what: WHAT,
        left: "time",
        left_len: n,
        right,
        right_len: len,
    };
    if event.len() != n {
        return Err(mismatch("event", event.len()));
    }
    if weights.len() != n {
        return Err(mismatch("weights", weights.len()));
    }
    if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "weights",
            value: weights[i],
            expected: "finite case weights >= 0 (R: \"weights must be non-negative\")",
        });
    }
    if let KmVariance::Cluster(c) = variance {
        if c.len() != n {
            return Err(mismatch("cluster", c.len()));
        }
    }
    let z = z_value(WHAT, opts.conf_level)?;
    let y = aeq_times(time)?;
    // rows by ascending time, ties in row order (R: order(y[, 1]))
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| y[a].total_cmp(&y[b]));

    // distinct times: [lo, hi) in `order`, and the counts, accumulated
    // backwards as survfitkm.c does
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut lo = 0;
    for k in 1..=n {
        if k == n || y[order[k]] != y[order[lo]] {
            groups.push((lo, k));
            lo = k;
        }
    }
    let ntime = groups.len();
    let mut wt_risk = vec![0.0; ntime];
    let mut n_dead = vec![0usize; ntime];
    let mut wt_dead = vec![0.0; ntime];
    let mut wt_cens = vec![0.0; ntime];
    let mut wt1 = 0.0;
    for (k, &(lo, hi)) in groups.iter().enumerate().rev() {
        let (mut n2, mut wt2, mut wt3) = (0usize, 0.0, 0.0);
        for &i in order[lo..hi].iter().rev() {
            wt1 += weights[i];
            if event[i] {
                n2 += 1;
                wt2 += weights[i];
            } else {
                wt3 += weights[i];
            }
        }
        wt_risk[k] = wt1;
        n_dead[k] = n2;
        wt_dead[k] = wt2;
        wt_cens[k] = wt3;
    }

    // survival and its standard error (of log S for Greenwood, of S for
    // the jackknife) at each distinct time
    let mut surv = vec![0.0; ntime];
    let mut se = vec![0.0; ntime];
    let logse;
    match variance {
        KmVariance::Greenwood => {
            logse = true;
            let mut km = 1.0_f64;
            let mut v1 = 0.0_f64;
            for i in 0..ntime {
                if n_dead[i] > 0 && wt_dead[i] > 0.0 {
                    let (n3, n4) = (wt_risk[i], wt_dead[i]);
                    km *= (n3 - n4) / n3;
                    v1 += n4 / (n3 * (n3 - n4));
                }
                surv[i] = km;
                se[i] = v1.sqrt();
            }
        }
        KmVariance::Robust | KmVariance::Cluster(_) => {
            logse = false;
            let (id, nid): (Vec<usize>, usize) = match variance {
                KmVariance::Cluster(c) => {
                    let mut u = c.to_vec();
                    u.sort_unstable();
                    u.dedup();
                    (
                        c.iter()
                            .map(|v| u.binary_search(v).expect("present"))
                            .collect(),
                        u.len(),
                    )
                }
                _ => ((0..n).collect(), n),
            };
            let mut gcount = vec![0usize; nid];
            let mut gwt = vec![0.0; nid];
            let mut inf1 = vec![0.0; nid];
            // at the start everyone is at risk
            for i in 0..n {
                gcount[id[i]] += 1;
                gwt[id[i]] += weights[i];
            }
            let mut km = 1.0_f64;
            let mut v1 = 0.0_f64;
            for (t, &(lo, hi)) in groups.iter().enumerate() {
                let events = n_dead[t] > 0 && wt_dead[t] > 0.0;
                if events {
                    let n3 = wt_risk[t];
                    let haz = wt_dead[t] / n3;
                    for k in 0..nid {
                        inf1[k] = inf1[k] * (1.0 - haz) + gwt[k] * km * haz / n3;
                    }
                    for &i in &order[lo..hi] {
                        if event[i] {
                            inf1[id[i]] -= km * weights[i] / n3;
                        }
                    }
                    km *= 1.0 - haz;
                    v1 = inf1.iter().map(|u| u * u).sum();
                }
                // the rows of this time leave the risk set
                for &i in &order[lo..hi] {
                    let k = id[i];
                    gcount[k] -= 1;
                    if gcount[k] == 0 {
                        gwt[k] = 0.0;
                    } else {
                        gwt[k] -= weights[i];
                    }
                }
                surv[t] = km;
                se[t] = v1.sqrt();
            }
        }
    }

    let mut steps = Vec::with_capacity(ntime);
    let mut total_events = 0.0;
    for (t, &(lo, _)) in groups.iter().enumerate() {
        let p = surv[t];
        // survfit_confint(logse = FALSE) works with se / p
        let se_log = if logse || se[t] == 0.0 {
            se[t]
        } else {
            se[t] / p
        };
        let (lower, upper) = conf_limits(p, se_log, opts.conf_type, z);
        steps.push(KmStep {
            time: y[order[lo]],
            n_risk: wt_risk[t],
            n_event: wt_dead[t],
            n_censor: wt_cens[t],
            surv: p,
            std_err: if logse { se[t] * p } else { se[t] },
            lower,
            upper,
            std_err_cumhaz: se_log,
        });
        total_events += wt_dead[t];
    }
    Ok(KaplanMeier::from_parts(steps, n, total_events, *opts))
}

/// Fit a Kaplan–Meier curve on counting-process rows `(start, stop]` with
/// case weights that may change from row to row of one subject, as R's
/// `survfit(Surv(start, stop, event) ~ 1, weights = w, id = id, robust = TRUE)`
/// (survival 3.5, `survfitKM` and `survfitkm.c` with three-column data,
/// `timefix = TRUE`): the weighted product-limit estimate with the
/// infinitesimal-jackknife variance clustered on `id`. This is the curve of
/// inverse-probability-of-censoring weighted data, whose weights change at
/// the cut points of each subject's follow-up.
///
/// * `start` and `stop` are merged together with [`crate::aeq_times`], as
///   R does with both columns of `Surv(start, stop, event)`.
/// * A subject (`id`) may have several rows; sorted by `stop`, a row is the
///   last of a string when it is the subject's last or the next row starts
///   after its stop (a gap) (R's `survflag` position 2): only there is a row
///   without an event a real censoring ([`KmStep::n_censor`]). The curve has a row
///   at every distinct `stop` time, cut points included, as survival 3.5.3
///   (later versions keep only the times of events and last rows; the
///   curve's values at those times are the same).
/// * At each such time `t`: `n_risk = sum of w` over the rows with
///   `start < t <= stop`, `n_event = sum of w` over the events at `t`;
///   `S(t) = prod (1 - n_event / n_risk)` over the times with an event of
///   positive weight.
/// * Variance: the infinitesimal jackknife of [`kaplan_meier_weighted`]
///   with [`KmVariance::Cluster`], where a subject's weight at risk `W_k`
///   now counts the rows of `id` with `start < t <= stop` (rows enter the
///   risk set at their start).
///
/// [`KaplanMeier::n`] is the number of distinct ids.
///
/// Errors: as [`kaplan_meier_weighted`], and [`StatsError::EmptyInterval`]
/// for a row with `start >= stop` (R drops it: "Stop time must be > start
/// time").
pub fn kaplan_meier_weighted_counting(
    start: &[f64],
    stop: &[f64],
    event: &[bool],
    weights: &[f64],
    id: &[usize],
    opts: &KmOptions,
) -> Result<KaplanMeier, StatsError> {
    const WHAT: &str = "kaplan_meier_weighted_counting";
    check_times(WHAT, stop)?;
    check_times(WHAT, start)?;
    let n = stop.len();
    let mismatch = |right: &'static str, len: usize| StatsError::LengthMismatch {
        what: WHAT,
        left: "stop",
        left_len: n,
        right,
        right_len: len,
    };
    for (name, len) in [
        ("start", start.len()),
        ("event", event.len()),
        ("weights", weights.len()),
        ("id", id.len()),
    ] {
        if len != n {
            return Err(mismatch(name, len));
        }
    }
    if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "weights",
            value: weights[i],
            expected: "finite case weights >= 0 (R: \"weights must be non-negative\")",
        });
    }
    let z = z_value(WHAT, opts.conf_level)?;
    // timefix on the pooled start and stop times
    let pooled: Vec<f64> = start.iter().chain(stop).copied().collect();
    let merged = aeq_times(&pooled)?;
    let (t1, t2) = merged.split_at(n);
    if let Some(index) = (0..n).find(|&i| t1[i] >= t2[i]) {
        return Err(StatsError::EmptyInterval {
            what: WHAT,
            index,
            start: t1[index],
            stop: t2[index],
        });
    }
    // ids to 0..nid; the last row of each id (latest stop)
    let mut labels = id.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let nid = labels.len();
    let gid: Vec<usize> = id
        .iter()
        .map(|v| labels.binary_search(v).expect("present"))
        .collect();
    // R's survflag: by id and stop, a row is the last of a string when the
    // id's next row does not start at its stop (a gap) or there is none
    let mut by_id: Vec<usize> = (0..n).collect();
    by_id.sort_by(|&a, &b| gid[a].cmp(&gid[b]).then(t2[a].total_cmp(&t2[b])));
    let mut last = vec![true; n];
    for w in by_id.windows(2) {
        let (a, b) = (w[0], w[1]);
        if gid[a] == gid[b] && t2[a] >= t1[b] {
            last[a] = false;
        }
    }

    let mut sort2: Vec<usize> = (0..n).collect();
    sort2.sort_by(|&a, &b| t2[a].total_cmp(&t2[b]));
    let mut sort1: Vec<usize> = (0..n).collect();
    sort1.sort_by(|&a, &b| t1[a].total_cmp(&t1[b]));
    // the curve's times: every distinct stop time (survfitkm.c of
    // survival 3.5.3)
    let mut dtime: Vec<f64> = Vec::new();
    for &i in &sort2 {
        if dtime.last() != Some(&t2[i]) {
            dtime.push(t2[i]);
        }
    }
    let ntime = dtime.len();
    // counts, accumulated backwards as survfitkm.c does
    let mut wt_risk = vec![0.0; ntime];
    let mut n_dead = vec![0usize; ntime];
    let mut wt_dead = vec![0.0; ntime];
    let mut wt_cens = vec![0.0; ntime];
    let (mut p1, mut p2) = (n, n);
    let mut wt1 = 0.0;
    for k in (0..ntime).rev() {
        let (mut n2, mut wt2, mut wt3) = (0usize, 0.0, 0.0);
        while p2 > 0 {
            let i = sort2[p2 - 1];
            if t2[i] != dtime[k] {
                break;
            }
            wt1 += weights[i];
            if event[i] {
                n2 += 1;
                wt2 += weights[i];
            } else if last[i] {
                wt3 += weights[i];
            }
            p2 -= 1;
        }
        while p1 > 0 {
            let i = sort1[p1 - 1];
            if t1[i] < dtime[k] {
                break;
            }
            wt1 -= weights[i];
            p1 -= 1;
        }
        wt_risk[k] = wt1;
        n_dead[k] = n2;
        wt_dead[k] = wt2;
        wt_cens[k] = wt3;
    }

    // survival and the infinitesimal jackknife (survfitkm.c, type 1, ny = 3)
    let mut gcount = vec![0usize; nid];
    let mut gwt = vec![0.0; nid];
    let mut inf1 = vec![0.0; nid];
    let (mut person1, mut person2) = (0, 0);
    let mut km = 1.0_f64;
    let mut v1 = 0.0_f64;
    let mut surv = vec![0.0; ntime];
    let mut se = vec![0.0; ntime];
    for t in 0..ntime {
        // rows whose start is before this time enter the risk set
        while person1 < n {
            let i = sort1[person1];
            if t1[i] >= dtime[t] {
                break;
            }
            gcount[gid[i]] += 1;
            gwt[gid[i]] += weights[i];
            person1 += 1;
        }
        let events = n_dead[t] > 0 && wt_dead[t] > 0.0;
        let n3 = wt_risk[t];
        let haz = if events { wt_dead[t] / n3 } else { 0.0 };
        if events {
            for k in 0..nid {
                inf1[k] = inf1[k] * (1.0 - haz) + gwt[k] * km * haz / n3;
            }
        }
        // the rows ending at this time leave it
        while person2 < n {
            let i = sort2[person2];
            if t2[i] > dtime[t] {
                break;
            }
            let k = gid[i];
            if events && event[i] {
                inf1[k] -= km * weights[i] / n3;
            }
            gcount[k] -= 1;
            if gcount[k] == 0 {
                gwt[k] = 0.0;
            } else {
                gwt[k] -= weights[i];
            }
            person2 += 1;
        }
        if events {
            km *= 1.0 - haz;
            v1 = inf1.iter().map(|u| u * u).sum();
        }
        surv[t] = km;
        se[t] = v1.sqrt();
    }

    let mut steps = Vec::with_capacity(ntime);
    let mut total_events = 0.0;
    for t in 0..ntime {
        let p = surv[t];
        let se_log = if se[t] == 0.0 { se[t] } else { se[t] / p };
        let (lower, upper) = conf_limits(p, se_log, opts.conf_type, z);
        steps.push(KmStep {
            time: dtime[t],
            n_risk: wt_risk[t],
            n_event: wt_dead[t],
            n_censor: wt_cens[t],
            surv: p,
            std_err: se[t],
            lower,
            upper,
            std_err_cumhaz: se_log,
        });
        total_events += wt_dead[t];
    }
    Ok(KaplanMeier::from_parts(steps, nid, total_events, *opts))
}

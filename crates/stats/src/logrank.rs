//! The G-rho family of k-sample tests (log-rank, Peto–Peto), as R's
//! `survdiff`.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::StatsError;
use crate::linalg::ginv_solve;
use crate::survtimes::{Slots, SurvTimes, group_sizes};

/// Result of [`log_rank`]: the numbers printed by R's `survdiff`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRank {
    /// Number of observations in each group (`N`).
    pub n: Vec<usize>,
    /// Observed events per group, weighted by `S(t-)^rho` (`Observed`;
    /// unweighted counts when `rho = 0`), summed over strata.
    pub observed: Vec<f64>,
    /// Expected events per group under equal hazards, weighted likewise
    /// (`Expected`), summed over strata.
    pub expected: Vec<f64>,
    /// Variance–covariance matrix of `observed - expected`, row-major
    /// `k x k` (R's `$var`), summed over strata.
    pub variance: Vec<f64>,
    /// Chi-square statistic (`Chisq`).
    pub chisq: f64,
    /// Degrees of freedom: number of groups with `expected > 0`, minus 1.
    pub df: usize,
    /// Upper-tail chi-square probability of `chisq` on `df` degrees of freedom.
    pub p_value: f64,
}

/// Test equality of survival across groups as R's
/// `survdiff(Surv(time, event) ~ group + strata(strata), rho = rho)`
/// (survival 3.5, `timefix = TRUE`).
///
/// `group[i]` numbers the groups `0..k`; every number in `0..k` must occur
/// and `k >= 2`. `strata`, if given, are arbitrary labels; the test is summed
/// over strata. Times are first merged with [`crate::aeq_times`] (on all rows
/// together, as R).
///
/// Within each stratum, at each distinct event time with `n` at risk (`n_j`
/// in group `j`) and `d` events, weight `w = S(t-)^rho` where `S(t-)` is the
/// left-continuous Kaplan–Meier of the pooled stratum:
///
/// * `O_j += w d_j`, `E_j += w d n_j / n`,
/// * `V_jl += w² d (n - d) / (n (n - 1)) * n_j (δ_jl - n_l / n)` (for `n > 1`).
///
/// `rho = 0` is the log-rank test (Mantel–Haenszel), `rho = 1` the Peto–Peto
/// modification of the Gehan–Wilcoxon test (Harrington & Fleming 1982).
/// Groups with `E_j = 0` are dropped, then one more group (the first
/// remaining), and `chisq = (O - E)' V⁻ (O - E)` on the remaining groups;
/// `df` = number of groups with `E_j > 0` minus 1; `p` is the chi-square
/// upper tail (`pchisq(chisq, df, lower.tail = FALSE)`). R uses `solve()`,
/// which fails on a singular matrix; here `V⁻` is a generalized inverse
/// (Cholesky with zeroed pivots, as survival's `cholesky2`), identical to
/// `solve()` whenever R succeeds.
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::InvalidTime`], [`StatsError::NonFinite`] (`rho`),
/// [`StatsError::EmptyGroup`], [`StatsError::TooFewGroups`],
/// [`StatsError::NoEvents`], and [`StatsError::Degenerate`] when fewer than
/// two groups have expected events > 0 (R then reports `chisq = 0` with
/// `df <= 0`, which is not a test).
///
/// Reference: R `survival::survdiff`, `survdiff.fit`, C `survdiff2`;
/// Klein & Moeschberger (2003) §7.3.
pub fn log_rank(
    time: &[f64],
    event: &[bool],
    group: &[usize],
    strata: Option<&[usize]>,
    rho: f64,
) -> Result<LogRank, StatsError> {
    const WHAT: &str = "log_rank";
    let times = SurvTimes::build(WHAT, time, event)?;
    test(WHAT, &times, group, strata, rho)
}

/// [`log_rank`] on times already validated, timefixed (pooled over all
/// rows, as R) and ranked by [`crate::SurvTimes::new`], so that the same
/// [`crate::SurvTimes`] can feed several estimators (e.g. also
/// [`crate::kaplan_meier_by_group_prepared`]). Results are identical, bit for
/// bit, to [`log_rank`] on the same `time`, `event`, `group`, `strata`,
/// `rho`; [`log_rank`] is this function after [`crate::SurvTimes::new`].
///
/// Algorithm: one pass counts events and rows per (stratum, distinct time,
/// group) (a table when it is small, else a sort of the row keys); the
/// sums of [`log_rank`] then run over the distinct times of each stratum,
/// backwards, the risk sets accumulating, exactly as R's `survdiff2` walks
/// the sorted rows.
///
/// Errors: [`StatsError::LengthMismatch`] (`group`, `strata`),
/// [`StatsError::NonFinite`] (`rho`), [`StatsError::EmptyGroup`],
/// [`StatsError::TooFewGroups`], [`StatsError::NoEvents`],
/// [`StatsError::Degenerate`], as [`log_rank`].
pub fn log_rank_prepared(
    times: &SurvTimes,
    group: &[usize],
    strata: Option<&[usize]>,
    rho: f64,
) -> Result<LogRank, StatsError> {
    test("log_rank_prepared", times, group, strata, rho)
}

fn test(
    what: &'static str,
    times: &SurvTimes,
    group: &[usize],
    strata: Option<&[usize]>,
    rho: f64,
) -> Result<LogRank, StatsError> {
    let len = times.len();
    let mismatch = |right: &'static str, right_len: usize| StatsError::LengthMismatch {
        what,
        left: "time",
        left_len: len,
        right,
        right_len,
    };
    if group.len() != len {
        return Err(mismatch("group", group.len()));
    }
    if let Some(s) = strata {
        if s.len() != len {
            return Err(mismatch("strata", s.len()));
        }
    }
    if !rho.is_finite() {
        return Err(StatsError::NonFinite {
            what,
            name: "rho",
            index: 0,
            value: rho,
        });
    }
    let (k, n, empty) = group_sizes(group);
    if k < 2 {
        return Err(StatsError::TooFewGroups { what, groups: k });
    }
    if let Some(g) = empty {
        return Err(StatsError::EmptyGroup { what, group: g });
    }
    if times.n_events() == 0 {
        return Err(StatsError::NoEvents { what });
    }

    let mut acc = Sums {
        obs: vec![0.0; k],
        exp: vec![0.0; k],
        var: vec![0.0; k * k],
        risk: vec![0.0; k],
        kaplan: Vec::new(),
    };
    let codes = times.codes();
    let d = times.distinct_times().len();
    match strata.map(stratum_rows) {
        None => {
            let slots = Slots::count(codes.iter().zip(group).map(|(&c, &g)| (c, g)), len, d, k);
            acc.add_stratum(&slots, len, rho);
        }
        Some((offsets, rows)) => {
            // strata in increasing label order, as R's order(strat, ...)
            for w in offsets.windows(2) {
                let rows = &rows[w[0]..w[1]];
                let slots = Slots::count(
                    rows.iter().map(|&i| (codes[i as usize], group[i as usize])),
                    rows.len(),
                    d,
                    k,
                );
                acc.add_stratum(&slots, rows.len(), rho);
            }
        }
    }
    let Sums { obs, exp, var, .. } = acc;

    let keep: Vec<usize> = (0..k).filter(|&g| exp[g] > 0.0).collect();
    if keep.len() < 2 {
        return Err(StatsError::Degenerate {
            what,
            reason: format!(
                "only {} group(s) have subjects at risk at an event time (expected > 0); \
                 at least 2 are needed for a test",
                keep.len()
            ),
        });
    }
    let used = &keep[1..];
    let kk = used.len();
    let diff: Vec<f64> = used.iter().map(|&g| obs[g] - exp[g]).collect();
    let mut vv = vec![0.0; kk * kk];
    for (a, &ga) in used.iter().enumerate() {
        for (b, &gb) in used.iter().enumerate() {
            vv[a * kk + b] = var[ga * k + gb];
        }
    }
    let (x, _rank) = ginv_solve(&vv, kk, &diff);
    let chisq: f64 = x.iter().zip(&diff).map(|(a, b)| a * b).sum();
    let df = keep.len() - 1;
    let p_value = chisq_upper(what, chisq, df)?;
    Ok(LogRank {
        n,
        observed: obs,
        expected: exp,
        variance: var,
        chisq,
        df,
        p_value,
    })
}

/// The rows of each stratum, strata in increasing label order: `rows[
/// offsets[s]..offsets[s + 1]]` are the rows of the `s`-th smallest label.
fn stratum_rows(strata: &[usize]) -> (Vec<usize>, Vec<u32>) {
    let n = strata.len();
    let max = strata.iter().copied().max().unwrap_or(0);
    // label -> stratum index, in increasing label order
    let index: Vec<usize> = if max <= 4 * n + 1024 {
        let mut present = vec![usize::MAX; max + 1];
        for &s in strata {
            present[s] = 0;
        }
        for (next, p) in present.iter_mut().filter(|p| **p == 0).enumerate() {
            *p = next;
        }
        strata.iter().map(|&s| present[s]).collect()
    } else {
        let mut labels = strata.to_vec();
        labels.sort_unstable();
        labels.dedup();
        strata
            .iter()
            .map(|s| labels.binary_search(s).unwrap_or(0))
            .collect()
    };
    let ns = index.iter().copied().max().map_or(0, |m| m + 1);
    let mut offsets = vec![0usize; ns + 1];
    for &s in &index {
        offsets[s + 1] += 1;
    }
    for s in 0..ns {
        offsets[s + 1] += offsets[s];
    }
    let mut fill = offsets.clone();
    let mut rows = vec![0u32; n];
    for (i, &s) in index.iter().enumerate() {
        rows[fill[s]] = i as u32;
        fill[s] += 1;
    }
    (offsets, rows)
}

/// The sums of [`log_rank`] over strata.
struct Sums {
    obs: Vec<f64>,
    exp: Vec<f64>,
    var: Vec<f64>,
    risk: Vec<f64>,
    kaplan: Vec<f64>,
}

impl Sums {
    /// Add one stratum of `m` rows, counted per distinct time in `slots`:
    /// R's `survdiff2` (and the row-by-row walk this replaced), one distinct
    /// time at a time. Counts are exact in `f64`, so summing a time's rows
    /// at once gives the same numbers as adding them one by one; only the
    /// `rho != 0` weights of the observed counts are added once per event.
    fn add_stratum(&mut self, slots: &Slots, m: usize, rho: f64) {
        let k = slots.k;
        let ns = slots.len();
        let Sums {
            obs,
            exp,
            var,
            risk,
            kaplan,
        } = self;
        risk.iter_mut().for_each(|r| *r = 0.0);
        // left-continuous pooled KM of the stratum, for the weights
        if rho != 0.0 {
            kaplan.clear();
            let mut km = 1.0;
            let mut i = 0usize;
            for s in 0..ns {
                let nrisk = (m - i) as f64;
                let ev = &slots.ev[s * k..(s + 1) * k];
                let cen = &slots.cen[s * k..(s + 1) * k];
                let deaths: u32 = ev.iter().sum();
                kaplan.push(km);
                km *= (nrisk - f64::from(deaths)) / nrisk;
                i += (deaths + cen.iter().sum::<u32>()) as usize;
            }
        }
        // backwards over distinct times, accumulating the risk sets
        let mut nrisk_rows = 0usize;
        for s in (0..ns).rev() {
            let wt = if rho == 0.0 { 1.0 } else { kaplan[s].powf(rho) };
            let ev = &slots.ev[s * k..(s + 1) * k];
            let cen = &slots.cen[s * k..(s + 1) * k];
            let mut deaths = 0u32;
            for g in 0..k {
                let (e, c) = (ev[g], cen[g]);
                deaths += e;
                nrisk_rows += (e + c) as usize;
                risk[g] += f64::from(e + c);
                if rho == 0.0 {
                    obs[g] += f64::from(e);
                } else {
                    // per row `obs += d * wt`: a censored row adds 0 * wt
                    // (NaN if wt overflowed), an event wt
                    if c > 0 {
                        obs[g] += 0.0 * wt;
                    }
                    for _ in 0..e {
                        obs[g] += wt;
                    }
                }
            }
            let deaths = f64::from(deaths);
            let nrisk = nrisk_rows as f64;
            if deaths > 0.0 {
                for g in 0..k {
                    exp[g] += wt * deaths * risk[g] / nrisk;
                }
                if nrisk > 1.0 {
                    let kt = wt * wt * deaths * (nrisk - deaths) / (nrisk * (nrisk - 1.0));
                    for a in 0..k {
                        let tmp = kt * risk[a];
                        var[a * k + a] += tmp;
                        for b in 0..k {
                            var[a * k + b] -= tmp * risk[b] / nrisk;
                        }
                    }
                }
            }
        }
    }
}

/// `pchisq(x, df, lower.tail = FALSE)` via statrs.
pub(crate) fn chisq_upper(what: &'static str, x: f64, df: usize) -> Result<f64, StatsError> {
    let dist = ChiSquared::new(df as f64).map_err(|e| StatsError::Degenerate {
        what,
        reason: format!("chi-square with {df} degrees of freedom: {e}"),
    })?;
    if x.is_nan() {
        return Err(StatsError::Degenerate {
            what,
            reason: "the test statistic is NaN".to_string(),
        });
    }
    Ok(if x <= 0.0 { 1.0 } else { dist.sf(x) })
}

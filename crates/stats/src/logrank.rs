//! The G-rho family of k-sample tests (log-rank, Peto–Peto), as R's
//! `survdiff`.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::StatsError;
use crate::km::check_times;
use crate::linalg::ginv_solve;
use crate::timefix::aeq_unchecked;

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
    check_times(WHAT, time)?;
    let mismatch = |right: &'static str, right_len: usize| StatsError::LengthMismatch {
        what: WHAT,
        left: "time",
        left_len: time.len(),
        right,
        right_len,
    };
    if event.len() != time.len() {
        return Err(mismatch("event", event.len()));
    }
    if group.len() != time.len() {
        return Err(mismatch("group", group.len()));
    }
    if let Some(s) = strata {
        if s.len() != time.len() {
            return Err(mismatch("strata", s.len()));
        }
    }
    if !rho.is_finite() {
        return Err(StatsError::NonFinite {
            what: WHAT,
            name: "rho",
            index: 0,
            value: rho,
        });
    }
    let k = group.iter().max().map_or(0, |&m| m + 1);
    let mut n = vec![0usize; k];
    for &g in group {
        n[g] += 1;
    }
    if k < 2 {
        return Err(StatsError::TooFewGroups {
            what: WHAT,
            groups: k,
        });
    }
    if let Some(g) = n.iter().position(|&c| c == 0) {
        return Err(StatsError::EmptyGroup {
            what: WHAT,
            group: g,
        });
    }
    if !event.iter().any(|&e| e) {
        return Err(StatsError::NoEvents { what: WHAT });
    }

    let t = aeq_unchecked(time);
    // order(strat, time, -status)
    let mut order: Vec<usize> = (0..t.len()).collect();
    let st = |i: usize| strata.map_or(0, |s| s[i]);
    order.sort_by(|&a, &b| {
        st(a)
            .cmp(&st(b))
            .then(t[a].total_cmp(&t[b]))
            .then(event[b].cmp(&event[a]))
    });

    let mut obs = vec![0.0; k];
    let mut exp = vec![0.0; k];
    let mut var = vec![0.0; k * k];
    let mut risk = vec![0.0; k];
    let mut kaplan = vec![1.0; order.len()];

    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end < order.len() && st(order[end]) == st(order[start]) {
            end += 1;
        }
        let rows = &order[start..end];
        let m = rows.len();
        risk.iter_mut().for_each(|r| *r = 0.0);
        // left-continuous pooled KM of the stratum, for the weights
        if rho != 0.0 {
            let mut km = 1.0;
            let mut i = 0;
            while i < m {
                let nrisk = (m - i) as f64;
                let mut deaths = 0.0;
                let mut j = i;
                while j < m && t[rows[j]] == t[rows[i]] {
                    kaplan[start + j] = km;
                    if event[rows[j]] {
                        deaths += 1.0;
                    }
                    j += 1;
                }
                km *= (nrisk - deaths) / nrisk;
                i = j;
            }
        }
        // backwards over distinct times, accumulating the risk sets
        let mut i = m;
        while i > 0 {
            let last = i - 1;
            let ti = t[rows[last]];
            let wt = if rho == 0.0 {
                1.0
            } else {
                kaplan[start + last].powf(rho)
            };
            let mut deaths = 0.0;
            let mut j = last as isize;
            while j >= 0 && t[rows[j as usize]] == ti {
                let r = rows[j as usize];
                let g = group[r];
                let d = if event[r] { 1.0 } else { 0.0 };
                deaths += d;
                risk[g] += 1.0;
                obs[g] += d * wt;
                j -= 1;
            }
            let first = (j + 1) as usize;
            let nrisk = (m - first) as f64;
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
            i = first;
        }
        start = end;
    }

    let keep: Vec<usize> = (0..k).filter(|&g| exp[g] > 0.0).collect();
    if keep.len() < 2 {
        return Err(StatsError::Degenerate {
            what: WHAT,
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
    let p_value = chisq_upper(WHAT, chisq, df)?;
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

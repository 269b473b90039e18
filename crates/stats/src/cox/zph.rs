//! The proportional-hazards test of R's `cox.zph` (survival >= 3.0).

use super::pass::pass;
use super::prepare::Prepared;
use super::{CoxData, CoxFit, Test};
use crate::StatsError;
use crate::linalg::lu_solve;
use crate::logrank::chisq_upper;

const WHAT: &str = "cox_zph";

/// The function of time `g(t)` against which `cox.zph` tests each
/// coefficient (`transform` of R's `cox.zph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZphTransform {
    /// `g(t) = 1 - S(t-)`, with `S` the Kaplan–Meier estimate of the pooled
    /// data (all strata together; left-continuous), R's default
    /// `transform = "km"`.
    #[default]
    Km,
    /// `g(t) = t` (`"identity"`).
    Identity,
    /// `g(t)` = the average rank of `t` among all the rows' stop times
    /// (`"rank"`).
    Rank,
    /// `g(t) = log t` (`"log"`); every stop time must be > 0.
    Log,
}

/// Result of [`cox_zph`]: R's `cox.zph(fit)$table`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxZph {
    /// One test per covariate (1 df each), in the order of
    /// [`CoxData::covariates`].
    pub terms: Vec<Test>,
    /// The global test (df = number of covariates), row `GLOBAL`.
    pub global: Test,
}

/// Test the proportional-hazards assumption of a fitted Cox model as R's
/// `cox.zph(fit, transform = "km", terms = TRUE, global = TRUE)` of survival
/// 3.x: the score test of adding the time-varying terms `x_j g(t)` to the
/// model, evaluated at the fitted `beta` (Therneau & Grambsch 2000 §6.2).
///
/// With `gt = g(t) - mean of g over the event times`, one pass over the
/// risk sets gives the `2p` score vector `(0, sum_events gt (x - xbar(t)))`
/// and the `2p x 2p` information `[[I, I_g], [I_g, I_gg]]` with
/// `I_g = sum gt V(t)` and `I_gg = sum gt² V(t)` (Efron or Breslow weights as
/// in the fit; survival's `zph1.c`, `zph2.c` for counting-process data). The
/// test of covariate `j` is `u' A^-1 u` on the rows and columns
/// `1..p, p + j` (1 df); the global test uses all `2p` (df = `p`). R solves
/// with `solve()`; so does this (Gaussian elimination with partial pivoting).
///
/// `data` must be the data the model was fitted on (same rows, same order is
/// not required). Times are merged with `aeqSurv` first, as in the fit.
///
/// Errors: those of [`crate::cox_ph`]'s input checks;
/// [`StatsError::Degenerate`] if `data` does not match `fit` (number of rows,
/// events or covariates, or counting-process form), if `Log` meets a time
/// 0, or if the information matrix is singular (R: "system is
/// computationally singular").
///
/// Reference: Grambsch PM, Therneau TM (1994). Proportional hazards tests
/// and diagnostics based on weighted residuals. Biometrika 81:515–526;
/// Therneau & Grambsch (2000) §6.2; R `survival::cox.zph` (3.5).
pub fn cox_zph(
    fit: &CoxFit,
    data: &CoxData,
    transform: ZphTransform,
) -> Result<CoxZph, StatsError> {
    if fit.weighted {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "cox_zph of a weighted fit (cox_ph_weighted with weights) is not \
                     implemented; test proportional hazards on the unweighted fit"
                .to_string(),
        });
    }
    let prep = Prepared::new(WHAT, data)?;
    zph_prepared(fit, &prep, transform)
}

/// [`cox_zph`] on the data as [`Prepared`] already (for the fit itself:
/// `super::cox_ph_zph`).
pub(super) fn zph_prepared(
    fit: &CoxFit,
    prep: &Prepared,
    transform: ZphTransform,
) -> Result<CoxZph, StatsError> {
    let p = prep.p;
    if prep.n != fit.n
        || prep.events != fit.events
        || p != fit.coef.len()
        || prep.counting.is_some() != fit.counting
    {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!(
                "the data ({} rows, {} events, {} covariates{}) are not those of the fit ({} rows, {} events, {} covariates{})",
                prep.n,
                prep.events,
                p,
                if prep.counting.is_some() {
                    ", counting process"
                } else {
                    ""
                },
                fit.n,
                fit.events,
                fit.coef.len(),
                if fit.counting {
                    ", counting process"
                } else {
                    ""
                },
            ),
        });
    }
    let beta: Vec<f64> = (0..p).map(|i| fit.coef[i] / prep.scale[i]).collect();

    let ttimes = transformed_times(prep, transform)?;
    let (sum, cnt) = ttimes
        .iter()
        .zip(&prep.status)
        .filter(|(_, e)| **e)
        .fold((0.0, 0usize), |(s, c), (t, _)| (s + t, c + 1));
    let center = sum / cnt as f64;
    let gt: Vec<f64> = ttimes.iter().map(|t| t - center).collect();

    let ps = pass(prep, &beta, fit.ties, Some(&gt));
    let q = 2 * p;
    let mut terms = Vec::with_capacity(p);
    for j in 0..p {
        let idx: Vec<usize> = (0..p).chain(std::iter::once(p + j)).collect();
        let k = idx.len();
        let mut a = vec![0.0; k * k];
        for (r, &ir) in idx.iter().enumerate() {
            for (c, &ic) in idx.iter().enumerate() {
                a[r * k + c] = ps.imat[ir * q + ic];
            }
        }
        let mut b = vec![0.0; k];
        b[p] = ps.u[p + j];
        let x = solve(a, b.clone(), k)?;
        let stat: f64 = x.iter().zip(&b).map(|(x, y)| x * y).sum();
        terms.push(Test {
            statistic: stat,
            df: 1,
            p_value: chisq_upper(WHAT, stat, 1)?,
        });
    }
    let mut b = vec![0.0; q];
    b[p..].copy_from_slice(&ps.u[p..]);
    let x = solve(ps.imat.clone(), b.clone(), q)?;
    let stat: f64 = x.iter().zip(&b).map(|(x, y)| x * y).sum();
    Ok(CoxZph {
        terms,
        global: Test {
            statistic: stat,
            df: p,
            p_value: chisq_upper(WHAT, stat, p)?,
        },
    })
}

/// `g(t)` of each row (processing order) before centring.
fn transformed_times(prep: &Prepared, transform: ZphTransform) -> Result<Vec<f64>, StatsError> {
    let t = &prep.time;
    Ok(match transform {
        ZphTransform::Identity => t.clone(),
        ZphTransform::Log => {
            if let Some(i) = t.iter().position(|&v| v <= 0.0) {
                return Err(StatsError::Degenerate {
                    what: WHAT,
                    reason: format!(
                        "the log transform needs stop times > 0; a row has stop time {}",
                        t[i]
                    ),
                });
            }
            t.iter().map(|v| v.ln()).collect()
        }
        ZphTransform::Rank => crate::wilcoxon::average_ranks(t).0,
        ZphTransform::Km => {
            // pooled Kaplan–Meier (survfitKM on all rows, strata ignored):
            // at each event time u, n(u) = #{stop >= u} - #{start >= u}.
            // The stops (and the starts, in `start_desc`) are in
            // decreasing order within each stratum: with one stratum they
            // are searched as they are, not sorted again (an already
            // decreasing list with ties is a full sort for the unstable
            // sort: the sorts and copies were 40 % of this test's time on
            // the benchmark's 600k rows, perf).
            let stops = decreasing(t);
            let starts = prep.counting.as_ref().map(|c| decreasing(&c.start_desc));
            // the event times, increasing
            let mut ev: Vec<f64> = t
                .iter()
                .zip(&prep.status)
                .filter(|(_, e)| **e)
                .map(|(v, _)| *v)
                .rev()
                .collect();
            if !ev.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
                ev.sort_unstable_by(f64::total_cmp);
            }
            let mut times = Vec::new();
            let mut surv = Vec::new();
            let mut s = 1.0;
            let mut i = 0;
            while i < ev.len() {
                let u = ev[i];
                let mut d = 0usize;
                while i < ev.len() && ev[i] == u {
                    d += 1;
                    i += 1;
                }
                // the times are finite (`Prepared`): in a decreasing list
                // those >= u come first
                let at_or_after = |v: &[f64]| v.partition_point(|&x| x >= u);
                let mut n = at_or_after(&stops);
                if let Some(st) = &starts {
                    n -= at_or_after(st);
                }
                s *= (n - d) as f64 / n as f64;
                times.push(u);
                surv.push(s);
            }
            // Per row, k = the number of event times < its time. The rows
            // are in processing order, descending time within each
            // stratum: k only falls within a stratum (a step down from the
            // last row's), and is searched for afresh where a stratum starts.
            let mut k = times.len();
            let mut last = f64::INFINITY;
            t.iter()
                .map(|&v| {
                    if v > last {
                        k = times.partition_point(|&x| x < v);
                    } else {
                        while k > 0 && times[k - 1] >= v {
                            k -= 1;
                        }
                    }
                    last = v;
                    debug_assert_eq!(k, times.partition_point(|&x| x < v));
                    1.0 - if k == 0 { 1.0 } else { surv[k - 1] }
                })
                .collect()
        }
    })
}

/// `v` in decreasing order (`total_cmp`): itself when it is so already
/// (one stratum), else a sorted copy.
fn decreasing(v: &[f64]) -> std::borrow::Cow<'_, [f64]> {
    if v.is_sorted_by(|a, b| a.total_cmp(b).is_ge()) {
        std::borrow::Cow::Borrowed(v)
    } else {
        let mut s = v.to_vec();
        s.sort_unstable_by(|a, b| b.total_cmp(a));
        std::borrow::Cow::Owned(s)
    }
}

/// [`lu_solve`], with a singular matrix as an error.
fn solve(a: Vec<f64>, b: Vec<f64>, k: usize) -> Result<Vec<f64>, StatsError> {
    lu_solve(a, b, k).ok_or_else(|| StatsError::Degenerate {
        what: WHAT,
        reason: "the information matrix of the test is singular".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cox::CoxData;
    use crate::rng::SplitMix64;

    /// The KM transform as it was computed before the stops were searched
    /// in their processing order: every list copied and sorted.
    fn km_times_by_sorting(prep: &Prepared) -> Vec<f64> {
        let t = &prep.time;
        let mut stops = t.clone();
        stops.sort_unstable_by(f64::total_cmp);
        let starts = prep.counting.as_ref().map(|c| {
            let mut s = c.start.clone();
            s.sort_unstable_by(f64::total_cmp);
            s
        });
        let mut ev: Vec<f64> = t
            .iter()
            .zip(&prep.status)
            .filter(|(_, e)| **e)
            .map(|(v, _)| *v)
            .collect();
        ev.sort_unstable_by(f64::total_cmp);
        let (mut times, mut surv, mut s, mut i) = (Vec::new(), Vec::new(), 1.0, 0);
        while i < ev.len() {
            let u = ev[i];
            let mut d = 0usize;
            while i < ev.len() && ev[i] == u {
                d += 1;
                i += 1;
            }
            let at_or_after = |v: &[f64]| v.len() - v.partition_point(|&x| x < u);
            let mut n = at_or_after(&stops);
            if let Some(st) = &starts {
                n -= at_or_after(st);
            }
            s *= (n - d) as f64 / n as f64;
            times.push(u);
            surv.push(s);
        }
        t.iter()
            .map(|&v| {
                let k = times.partition_point(|&x| x < v);
                1.0 - if k == 0 { 1.0 } else { surv[k - 1] }
            })
            .collect()
    }

    /// Random data with many ties (and zeros of both signs), with and
    /// without strata and start times: the KM transform is the one the
    /// sorted copies gave, bit for bit.
    #[test]
    fn km_times_are_those_of_the_sorted_lists() {
        let mut rng = SplitMix64::new(0x02a9_71e5);
        for round in 0..400 {
            let n = 2 + rng.below(200);
            let distinct = 1 + rng.below(30);
            let counting = rng.below(2) == 0;
            let mut start = Vec::with_capacity(n);
            let mut stop = Vec::with_capacity(n);
            for _ in 0..n {
                let a = rng.below(distinct) as f64;
                let b = a + 1.0 + rng.below(distinct) as f64;
                // -0.0 starts, where the data allow them
                start.push(if a == 0.0 && rng.below(2) == 0 {
                    -0.0
                } else {
                    a
                });
                stop.push(if counting { b } else { b - 1.0 + 0.5 });
            }
            let mut event: Vec<bool> = (0..n).map(|_| rng.below(3) > 0).collect();
            event[0] = true;
            let x: Vec<f64> = (0..n).map(|_| rng.below(2) as f64).collect();
            let strata: Vec<usize> = (0..n).map(|_| rng.below(3)).collect();
            let covariates = [x.as_slice()];
            let data = CoxData {
                start: counting.then_some(start.as_slice()),
                stop: &stop,
                event: &event,
                covariates: &covariates,
                strata: (round % 3 == 0).then_some(strata.as_slice()),
            };
            let prep = Prepared::new(WHAT, &data).unwrap();
            let got = transformed_times(&prep, ZphTransform::Km).unwrap();
            let want = km_times_by_sorting(&prep);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "round {round}");
        }
    }
}

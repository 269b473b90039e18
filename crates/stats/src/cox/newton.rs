//! Newton–Raphson with step halving: survival's `coxfit6.c` (right-censored)
//! and `agfit4.c` (counting process) drivers around [`super::pass::pass`].

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

use super::pass::pass;
use super::prepare::Prepared;
use super::{CoxOptions, WHAT};
use crate::StatsError;
use crate::linalg::Chol;

/// What the Newton iteration hands back to [`super::cox_ph`] (scaled
/// coordinates).
pub(super) struct Newton {
    pub(super) beta: Vec<f64>,
    pub(super) u: Vec<f64>,
    pub(super) var: Vec<f64>,
    pub(super) loglik_null: f64,
    pub(super) loglik: f64,
    pub(super) score: f64,
    pub(super) iterations: usize,
}

/// The covariate to name in [`StatsError::Collinear`].
fn first_dropped(ch: &Chol) -> usize {
    ch.first_zero_pivot().unwrap_or(ch.p - 1)
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// The step from `beta` (zero) that both drivers start with: the log
/// partial likelihood there, the score test statistic `u' I⁻¹ u`, and the
/// Newton step `I⁻¹ u`. A singular information matrix names the first
/// collinear covariate.
fn first_step(
    prep: &Prepared,
    opts: &CoxOptions,
    beta: &[f64],
) -> Result<(f64, f64, Vec<f64>), StatsError> {
    let p = prep.p;
    let first = pass(prep, beta, opts.ties, None);
    let ch = Chol::new(&first.imat, p, opts.toler_chol);
    if ch.rank < p {
        return Err(StatsError::Collinear {
            what: WHAT,
            covariate: first_dropped(&ch),
        });
    }
    let mut a = first.u.clone();
    ch.solve(&mut a);
    let score: f64 = first.u.iter().zip(&a).map(|(x, y)| x * y).sum();
    if !first.loglik.is_finite() {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "the log partial likelihood at beta = 0 is not finite".to_string(),
        });
    }
    Ok((first.loglik, score, a))
}

/// `coxfit6.c`: Newton–Raphson with step halving for right-censored data.
pub(super) fn newton_coxfit6(prep: &Prepared, opts: &CoxOptions) -> Result<Newton, StatsError> {
    let p = prep.p;
    let mut beta = vec![0.0; p];
    let (loglik_null, score, a) = first_step(prep, opts, &beta)?;
    let mut best = loglik_null;
    let mut newbeta: Vec<f64> = (0..p).map(|i| beta[i] + a[i]).collect();
    let mut halving = 0usize;
    for iter in 1..=opts.max_iter {
        let ps = pass(prep, &newbeta, opts.ties, None);
        let ch = Chol::new(&ps.imat, p, opts.toler_chol);
        let finite = all_finite(&ps.u) && all_finite(&ch.m) && ps.loglik.is_finite();
        if finite && (1.0 - best / ps.loglik).abs() <= opts.eps {
            if ch.rank < p {
                return Err(StatsError::Collinear {
                    what: WHAT,
                    covariate: first_dropped(&ch),
                });
            }
            return Ok(Newton {
                beta: newbeta,
                u: ps.u,
                var: ch.inverse(),
                loglik_null,
                loglik: ps.loglik,
                score,
                iterations: iter,
            });
        }
        if !finite || ps.loglik < best {
            halving += 1;
            let h = halving as f64;
            for i in 0..p {
                newbeta[i] = (newbeta[i] + h * beta[i]) / (h + 1.0);
            }
        } else {
            halving = 0;
            best = ps.loglik;
            let mut step = ps.u;
            ch.solve(&mut step);
            beta.copy_from_slice(&newbeta);
            for i in 0..p {
                newbeta[i] += step[i];
            }
        }
    }
    Err(StatsError::NotConverged {
        what: WHAT,
        iterations: opts.max_iter,
    })
}

/// `agfit4.c`: Newton–Raphson with step halving for counting-process data.
pub(super) fn newton_agfit4(prep: &Prepared, opts: &CoxOptions) -> Result<Newton, StatsError> {
    let p = prep.p;
    let mut beta = vec![0.0; p];
    let (loglik_null, score, a) = first_step(prep, opts, &beta)?;
    // The first step found full rank (or stopped): later ranks must keep it.
    let rank = p;
    let mut best = loglik_null;
    let mut oldbeta = beta.clone();
    for i in 0..p {
        beta[i] += a[i];
    }
    let mut halving = 0usize;
    for iter in 1..=opts.max_iter {
        let ps = pass(prep, &beta, opts.ties, None);
        let mut fail = (0..p).filter(|&i| !ps.imat[i * p + i].is_finite()).count();
        let ch = Chol::new(&ps.imat, p, opts.toler_chol);
        fail += usize::from(!ps.loglik.is_finite()) + rank.abs_diff(ch.rank);
        if fail == 0 && halving == 0 && (1.0 - best / ps.loglik).abs() <= opts.eps {
            return Ok(Newton {
                beta,
                u: ps.u,
                var: ch.inverse(),
                loglik_null,
                loglik: ps.loglik,
                score,
                iterations: iter,
            });
        }
        if iter == opts.max_iter {
            break;
        }
        if fail > 0 || ps.loglik < best {
            halving += 1;
            let h = halving as f64;
            for i in 0..p {
                beta[i] = (oldbeta[i] * h + beta[i]) / (h + 1.0);
            }
        } else {
            halving = 0;
            best = ps.loglik;
            let mut step = ps.u;
            ch.solve(&mut step);
            oldbeta.copy_from_slice(&beta);
            for i in 0..p {
                beta[i] += step[i];
            }
        }
    }
    Err(StatsError::NotConverged {
        what: WHAT,
        iterations: opts.max_iter,
    })
}

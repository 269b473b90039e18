//! Score residuals of a Cox fit, as survival's `coxscore2.c` (right
//! censored) and `agscore2.c` (counting process): R's
//! `residuals(fit, type = "score", weighted = FALSE)`, the building block of
//! the dfbeta residuals and of the robust (sandwich) variance.
//!
//! For row `i` at risk on `(start_i, stop_i]` with risk score
//! `r_i = exp(eta_i)`, case weight `w_i` and event indicator `dN_i`:
//!
//! ```text
//! L_i = dN_i (x_i - xbar(stop_i)) - sum_{t in (start_i, stop_i]} r_i (x_i - xbar(t)) dLambda(t)
//! ```
//!
//! where at each event time `t` (within the stratum), with `D` the `d`
//! tied events, `S0 = sum_{R(t)} w r`, `S1 = sum_{R(t)} w r x`:
//!
//! * Breslow (or one event): `dLambda = sum_D w / S0`, `xbar = S1 / S0`;
//! * Efron: `d` sub-steps `k = 0..d-1` with `f = k/d`, denominator
//!   `S0 - f S0_D`, hazard `h_k = mean_D(w) / (S0 - f S0_D)`, mean
//!   `(S1 - f S1_D) / (S0 - f S0_D)`; the tied events take only the part
//!   `(1 - f)` of each sub-step and the average `sum_k xbar_k / d` of the
//!   means as their own `xbar` (the `mh1`, `mh2`, `mh3` and `temp1`,
//!   `temp2` of `agscore2.c`).
//!
//! The sums over event times are taken as differences of cumulative sums
//! per stratum (O(n p) after the sort, as `coxscore2.c` since 2023), the
//! risk-set sums by the same descending sweep as [`super::pass`]. The
//! residuals are unweighted: R multiplies them by `w_i` afterwards
//! (`weighted = TRUE`), as does the caller here.

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

use super::Ties;
use super::prepare::Prepared;

/// The per-event-time quantities of one stratum (`agscore2.c`'s `temp1`,
/// `temp2`, `mh1`, `mh2`, `mh3`).
struct EventTime {
    time: f64,
    /// `sum_k h_k`: the hazard increment seen by rows that are not events.
    temp1: f64,
    /// `sum_k (1 - f_k) h_k`: the part seen by the tied events.
    temp2: f64,
    /// `sum_k xbar_k h_k` (p).
    mh1: Vec<f64>,
    /// `sum_k (1 - f_k) xbar_k h_k` (p).
    mh2: Vec<f64>,
    /// `sum_k xbar_k / d` (p).
    mh3: Vec<f64>,
}

/// Risk-set sums at one event time, before the hazard is formed.
struct RiskSums {
    denom: f64,
    a: Vec<f64>,
    e_denom: f64,
    a2: Vec<f64>,
    deaths: usize,
    meanwt: f64,
}

fn event_time(time: f64, s: &RiskSums, ties: Ties, p: usize) -> EventTime {
    let mut ev = EventTime {
        time,
        temp1: 0.0,
        temp2: 0.0,
        mh1: vec![0.0; p],
        mh2: vec![0.0; p],
        mh3: vec![0.0; p],
    };
    if s.deaths < 2 || ties == Ties::Breslow {
        let hazard = s.meanwt / s.denom;
        ev.temp1 = hazard;
        ev.temp2 = hazard;
        for i in 0..p {
            let mean = s.a[i] / s.denom;
            ev.mh1[i] = mean * hazard;
            ev.mh2[i] = mean * hazard;
            ev.mh3[i] = mean;
        }
    } else {
        let deaths = s.deaths as f64;
        let meanwt = s.meanwt / deaths;
        for dd in 0..s.deaths {
            let downwt = dd as f64 / deaths;
            let d2 = s.denom - downwt * s.e_denom;
            let hazard = meanwt / d2;
            ev.temp1 += hazard;
            ev.temp2 += (1.0 - downwt) * hazard;
            for i in 0..p {
                let mean = (s.a[i] - downwt * s.a2[i]) / d2;
                ev.mh1[i] += mean * hazard;
                ev.mh2[i] += mean * (1.0 - downwt) * hazard;
                ev.mh3[i] += mean / deaths;
            }
        }
    }
    ev
}

/// Unweighted score residuals at `beta` (scaled coordinates), `n * p`
/// row-major in processing order, in the scaled coordinates of `prep.x`
/// (divide column `j` by `prep.scale[j]` for the original scale).
pub(crate) fn score_residuals(prep: &Prepared, beta: &[f64], ties: Ties) -> Vec<f64> {
    let p = prep.p;
    let n = prep.n;
    let x = &prep.x;
    let time = &prep.time;
    let status = &prep.status;
    let wts = prep.weights.as_deref();
    let weight = |i: usize| wts.map_or(1.0, |w| w[i]);
    let risk: Vec<f64> = (0..n)
        .map(|i| {
            let zb: f64 = (0..p).map(|k| beta[k] * x[i * p + k]).sum();
            zb.exp()
        })
        .collect();
    let mut resid = vec![0.0; n * p];
    let mut ip = 0; // pointer into by_start (counting process)
    for &(lo, hi) in &prep.blocks {
        // 1. the event times of this stratum, in descending order, with the
        //    risk-set sums (rows enter by descending stop, leave by
        //    descending start as in `pass`)
        let mut events: Vec<EventTime> = Vec::new();
        let mut denom = 0.0;
        let mut a = vec![0.0; p];
        let mut nrisk = 0usize;
        let mut added = vec![false; hi - lo];
        let mut i = lo;
        while i < hi {
            let dtime = time[i];
            if let Some(cp) = &prep.counting {
                // rows whose interval starts at or after dtime leave
                while ip < hi && cp.start_desc[ip] >= dtime {
                    let r = cp.by_start[ip] as usize;
                    ip += 1;
                    if !added[r - lo] {
                        continue;
                    }
                    nrisk -= 1;
                    if nrisk == 0 {
                        denom = 0.0;
                        a.iter_mut().for_each(|v| *v = 0.0);
                    } else {
                        let wr = risk[r] * weight(r);
                        denom -= wr;
                        for k in 0..p {
                            a[k] -= wr * x[r * p + k];
                        }
                    }
                }
            }
            let mut s = RiskSums {
                denom: 0.0,
                a: vec![0.0; p],
                e_denom: 0.0,
                a2: vec![0.0; p],
                deaths: 0,
                meanwt: 0.0,
            };
            while i < hi && time[i] == dtime {
                let enters = match &prep.counting {
                    None => true,
                    Some(cp) => cp.start[i] < dtime,
                };
                if enters {
                    added[i - lo] = true;
                    nrisk += 1;
                    let wr = risk[i] * weight(i);
                    denom += wr;
                    for k in 0..p {
                        a[k] += wr * x[i * p + k];
                    }
                    if status[i] {
                        s.deaths += 1;
                        s.e_denom += wr;
                        s.meanwt += weight(i);
                        for k in 0..p {
                            s.a2[k] += wr * x[i * p + k];
                        }
                    }
                }
                i += 1;
            }
            if s.deaths > 0 {
                s.denom = denom;
                s.a.copy_from_slice(&a);
                events.push(event_time(dtime, &s, ties, p));
            }
        }
        // skip the remaining start pointers of this block (the pointers of
        // block [lo, hi) occupy positions lo..hi of by_start)
        ip = hi;
        // 2. cumulative sums in ascending time: hcum[m] = sum of temp1 over
        //    the first m event times, xcum[m] the same of mh1
        events.reverse();
        let m = events.len();
        let mut hcum = vec![0.0; m + 1];
        let mut xcum = vec![0.0; (m + 1) * p];
        for (e, ev) in events.iter().enumerate() {
            hcum[e + 1] = hcum[e] + ev.temp1;
            for k in 0..p {
                xcum[(e + 1) * p + k] = xcum[e * p + k] + ev.mh1[k];
            }
        }
        let etimes: Vec<f64> = events.iter().map(|e| e.time).collect();
        // 3. each row: the event times in (start, stop]
        for r in lo..hi {
            let m_hi = etimes.partition_point(|&t| t <= time[r]);
            let m_lo = match &prep.counting {
                None => 0,
                Some(cp) => etimes.partition_point(|&t| t <= cp.start[r]),
            };
            let own = status[r] && m_hi > m_lo;
            let m_end = if own { m_hi - 1 } else { m_hi };
            let rk = risk[r];
            let xr = &x[r * p..(r + 1) * p];
            let out = &mut resid[r * p..(r + 1) * p];
            if m_end > m_lo {
                let dh = hcum[m_end] - hcum[m_lo];
                for k in 0..p {
                    let dx = xcum[m_end * p + k] - xcum[m_lo * p + k];
                    out[k] -= rk * (xr[k] * dh - dx);
                }
            }
            if own {
                let ev = &events[m_hi - 1];
                for k in 0..p {
                    out[k] += xr[k] - ev.mh3[k] - rk * xr[k] * ev.temp2 + rk * ev.mh2[k];
                }
            }
        }
    }
    resid
}

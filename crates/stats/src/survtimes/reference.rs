//! The Kaplan–Meier and log-rank code as it was before [`super::SurvTimes`]
//! (commit 7d2b8f2: comparison sorts of the rows), kept verbatim for tests
//! only: the new code must give the same numbers bit for bit.

use crate::timefix::aeq_unchecked;

/// Old `km::fit_fixed`, without the confidence limits (functions of `surv`
/// and `std_err_cumhaz` only): per step (time, n_risk, n_event, n_censor,
/// surv, std_err, std_err_cumhaz), plus n and events.
pub(crate) type OldStep = (f64, f64, f64, f64, f64, f64, f64);

pub(crate) fn fit_fixed(t: &[f64], event: &[bool]) -> (Vec<OldStep>, usize, f64) {
    let mut order: Vec<usize> = (0..t.len()).collect();
    order.sort_by(|&a, &b| t[a].total_cmp(&t[b]));

    let n = t.len();
    let mut steps = Vec::new();
    let mut at_risk = n as f64;
    let mut surv = 1.0_f64;
    let mut varhaz = 0.0_f64;
    let mut total_events = 0.0;
    let mut i = 0;
    while i < n {
        let ti = t[order[i]];
        let mut d = 0.0;
        let mut c = 0.0;
        let mut j = i;
        while j < n && t[order[j]] == ti {
            if event[order[j]] {
                d += 1.0;
            } else {
                c += 1.0;
            }
            j += 1;
        }
        if d > 0.0 {
            surv *= (at_risk - d) / at_risk;
            if at_risk > d {
                varhaz += d / (at_risk * (at_risk - d));
            } else {
                varhaz = f64::INFINITY;
            }
        }
        let se = varhaz.sqrt();
        steps.push((ti, at_risk, d, c, surv, se * surv, se));
        total_events += d;
        at_risk -= d + c;
        i = j;
    }
    (steps, n, total_events)
}

/// Old `kaplan_meier` (valid input only).
pub(crate) fn kaplan_meier(time: &[f64], event: &[bool]) -> (Vec<OldStep>, usize, f64) {
    let t = aeq_unchecked(time);
    fit_fixed(&t, event)
}

/// Old `kaplan_meier_by_group` (valid input only).
pub(crate) fn kaplan_meier_by_group(
    time: &[f64],
    event: &[bool],
    group: &[usize],
) -> Vec<(Vec<OldStep>, usize, f64)> {
    let k = group.iter().max().map_or(0, |&m| m + 1);
    let t = aeq_unchecked(time);
    let mut curves = Vec::with_capacity(k);
    for g in 0..k {
        let rows: Vec<usize> = (0..t.len()).filter(|&i| group[i] == g).collect();
        let tg: Vec<f64> = rows.iter().map(|&i| t[i]).collect();
        let eg: Vec<bool> = rows.iter().map(|&i| event[i]).collect();
        curves.push(fit_fixed(&tg, &eg));
    }
    curves
}

/// Old `log_rank` up to the sums (valid input only): observed, expected,
/// variance.
pub(crate) fn log_rank_sums(
    time: &[f64],
    event: &[bool],
    group: &[usize],
    strata: Option<&[usize]>,
    rho: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let k = group.iter().max().map_or(0, |&m| m + 1);
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
    (obs, exp, var)
}

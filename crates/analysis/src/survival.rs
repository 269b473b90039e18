//! Kaplan–Meier per group and the log-rank test between groups: the one
//! comparison the naive and the landmark analyses share.

use crate::config::DEFAULT_AT_MONTHS;
use crate::{
    AnalysisError, AnalysisKind, ArmInfo, ArmSurvival, Curve, EndpointColumns, EndpointResult,
    LogRankResult, PairwiseTest, QuantileAt, RmstResult,
};
use cohortflow_core::table::csv_field;
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::{KmOptions, PAdjust, kaplan_meier_by_group, log_rank, p_adjust, rmst};

/// How groups are estimated and compared.
pub(crate) struct CompareOptions {
    pub km: KmOptions,
    /// 0: log-rank; 1: Peto-Peto (survdiff's rho).
    pub rho: f64,
    /// Horizon of the restricted mean survival time, in the endpoint's unit.
    pub rmst_tau: Option<f64>,
    /// Quantiles reported besides the median.
    pub quantiles: Vec<f64>,
    /// Times at which the curves are read, in the endpoint's unit (none:
    /// [`DEFAULT_AT_MONTHS`] in the endpoint's unit).
    pub at: Option<Vec<f64>>,
    /// Compare each pair of groups too, with this p-value adjustment.
    pub pairwise: Option<PAdjust>,
}
use polars::prelude::*;
use std::fmt::Write as _;

/// The time and event columns of an endpoint.
pub(crate) fn endpoint_columns(
    frame: &DataFrame,
    ep: &EndpointColumns,
) -> PolarsResult<(Float64Chunked, BooleanChunked)> {
    Ok((
        frame.column(&ep.time)?.f64()?.clone(),
        frame.column(&ep.event)?.bool()?.clone(),
    ))
}

/// KM per group and the log-rank test on `(row, time, event, group index)`
/// rows (the rows the Cox models take; the row itself is not used here);
/// appends the curves to `km_csv` under `analysis`.
pub(crate) fn compare(
    ep: &EndpointColumns,
    groups: &[ArmInfo],
    rows: &[(usize, f64, bool, usize)],
    strata: Option<&[usize]>,
    opts: &CompareOptions,
    analysis: AnalysisKind,
    curves: &mut Vec<Curve>,
) -> Result<EndpointResult, AnalysisError> {
    let failed = |what: &'static str| {
        move |source| AnalysisError::Estimator {
            endpoint: ep.name.clone(),
            analysis,
            what,
            source,
        }
    };
    // Only groups with patients are estimated and compared; an empty group
    // keeps its n = 0 in `Results.arms`.
    let present: Vec<usize> = (0..groups.len())
        .filter(|&g| rows.iter().any(|r| r.3 == g))
        .collect();
    let compact = |g: usize| present.iter().position(|&p| p == g).expect("present group");
    let time: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let event: Vec<bool> = rows.iter().map(|r| r.2).collect();
    let group: Vec<usize> = rows.iter().map(|r| compact(r.3)).collect();
    // One fit over all groups, so that near-tied times are merged on the
    // pooled times as R's survfit(Surv(t, e) ~ group) does.
    let fits = if rows.is_empty() {
        Vec::new()
    } else {
        kaplan_meier_by_group(&time, &event, &group, &opts.km).map_err(failed("Kaplan-Meier"))?
    };
    // Reverse Kaplan–Meier: censoring is the event (median follow-up).
    let censored: Vec<bool> = event.iter().map(|e| !e).collect();
    let follow_up = if rows.is_empty() {
        Vec::new()
    } else {
        kaplan_meier_by_group(&time, &censored, &group, &opts.km)
            .map_err(failed("reverse Kaplan-Meier (follow-up)"))?
    };
    let at: Vec<f64> = match &opts.at {
        Some(at) => at.clone(),
        None => DEFAULT_AT_MONTHS
            .iter()
            .map(|m| m * ep.unit.per(TimeUnit::Months))
            .collect(),
    };
    let mut by_arm = Vec::new();
    for ((&g, km), reverse) in present.iter().zip(fits).zip(&follow_up) {
        let rmst = match opts.rmst_tau {
            Some(tau) => {
                let r = rmst(&km, tau).map_err(failed("restricted mean survival time"))?;
                Some(RmstResult {
                    tau,
                    estimate: r.estimate,
                    se: r.se,
                })
            }
            None => None,
        };
        by_arm.push(ArmSurvival {
            arm: groups[g].name.clone(),
            n: km.n() as u64,
            events: km.events(),
            median: km.median().into(),
            quantiles: opts
                .quantiles
                .iter()
                .map(|&p| QuantileAt {
                    p,
                    quantile: km.quantile(p).into(),
                })
                .collect(),
            rmst,
            survival_at: at.iter().map(|&t| km.survival_at(t).into()).collect(),
            median_follow_up: reverse.median().into(),
        });
        curves.push(Curve {
            analysis,
            endpoint: ep.name.clone(),
            arm: groups[g].name.clone(),
            km,
        });
    }
    // The test is a result of the data, not a condition of the run: when
    // the data cannot give it (e.g. only one group still at risk at every
    // event time), the endpoint says why instead of stopping the run.
    let mut log_rank_note = None;
    let log_rank_result = if present.len() >= 2 {
        match log_rank(&time, &event, &group, strata, opts.rho) {
            Ok(lr) => Some(LogRankResult {
                arms: present.iter().map(|&g| groups[g].name.clone()).collect(),
                observed: lr.observed,
                expected: lr.expected,
                chisq: lr.chisq,
                df: lr.df,
                p_value: lr.p_value,
            }),
            Err(e) => {
                log_rank_note = Some(format!("log-rank test not computed: {e}"));
                None
            }
        }
    } else {
        None
    };
    let mut pairwise = Vec::new();
    if let Some(method) = opts.pairwise
        && present.len() >= 2
    {
        for a in 0..present.len() {
            for b in a + 1..present.len() {
                let keep: Vec<usize> = (0..rows.len())
                    .filter(|&i| group[i] == a || group[i] == b)
                    .collect();
                let t: Vec<f64> = keep.iter().map(|&i| time[i]).collect();
                let e: Vec<bool> = keep.iter().map(|&i| event[i]).collect();
                let g: Vec<usize> = keep.iter().map(|&i| usize::from(group[i] == b)).collect();
                let s: Option<Vec<usize>> = strata.map(|s| keep.iter().map(|&i| s[i]).collect());
                // A pair the data cannot test keeps NaN (null in
                // results.json) and does not count in the adjustment.
                let (chisq, df, p_value) = match log_rank(&t, &e, &g, s.as_deref(), opts.rho) {
                    Ok(lr) => (lr.chisq, lr.df, lr.p_value),
                    Err(_) => (f64::NAN, 0, f64::NAN),
                };
                pairwise.push(PairwiseTest {
                    a: groups[present[a]].name.clone(),
                    b: groups[present[b]].name.clone(),
                    chisq,
                    df,
                    p_value,
                    p_adjusted: f64::NAN,
                });
            }
        }
        let p: Vec<f64> = pairwise.iter().map(|t| t.p_value).collect();
        for (t, q) in pairwise.iter_mut().zip(p_adjust(&p, method)) {
            t.p_adjusted = q;
        }
    }
    Ok(EndpointResult {
        name: ep.name.clone(),
        label: ep.label.clone(),
        unit: ep.unit,
        by_arm,
        log_rank: log_rank_result,
        log_rank_note,
        pairwise,
        cox: None,
        competing: None,
    })
}

pub(crate) fn km_csv(curves: &[Curve]) -> String {
    let mut out = String::from(
        "analysis,endpoint,arm,time,n_risk,n_event,n_censor,surv,std_err,lower,upper\n",
    );
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    for c in curves {
        for s in c.km.steps() {
            let _ = writeln!(
                out,
                "{},{},{},{:.6},{},{},{},{:.6},{},{},{}",
                csv_field(c.analysis.name()),
                csv_field(&c.endpoint),
                csv_field(&c.arm),
                s.time,
                s.n_risk,
                s.n_event,
                s.n_censor,
                s.surv,
                f(s.std_err.is_finite().then_some(s.std_err)),
                f(s.lower),
                f(s.upper)
            );
        }
    }
    out
}

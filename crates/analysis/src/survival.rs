//! Kaplan–Meier per group and the log-rank test between groups: the one
//! comparison the naive and the landmark analyses share.

use crate::{
    AnalysisError, AnalysisKind, ArmInfo, ArmSurvival, Curve, EndpointColumns, EndpointResult,
    LogRankResult, QuantileAt, RmstResult,
};
use cohortflow_core::ledger::csv_field;
use cohortflow_stats::{KmOptions, kaplan_meier_by_group, log_rank, rmst};

/// How groups are estimated and compared.
pub(crate) struct CompareOptions {
    pub km: KmOptions,
    /// 0: log-rank; 1: Peto-Peto (survdiff's rho).
    pub rho: f64,
    /// Horizon of the restricted mean survival time, in the endpoint's unit.
    pub rmst_tau: Option<f64>,
    /// Quantiles reported besides the median.
    pub quantiles: Vec<f64>,
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

/// KM per group and the log-rank test on `(time, event, group index)` rows;
/// appends the curves to `km_csv` under `analysis`.
pub(crate) fn compare(
    ep: &EndpointColumns,
    groups: &[ArmInfo],
    rows: &[(f64, bool, usize)],
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
    let time: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
    let group: Vec<usize> = rows.iter().map(|r| r.2).collect();
    // One fit over all groups, so that near-tied times are merged on the
    // pooled times as R's survfit(Surv(t, e) ~ group) does.
    let fits =
        kaplan_meier_by_group(&time, &event, &group, &opts.km).map_err(failed("Kaplan-Meier"))?;
    let mut by_arm = Vec::new();
    for (g, km) in groups.iter().zip(fits) {
        by_arm.push(ArmSurvival {
            arm: g.name.clone(),
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
            rmst: match opts.rmst_tau {
                Some(tau) => {
                    let r = rmst(&km, tau).map_err(failed("restricted mean survival time"))?;
                    Some(RmstResult {
                        tau,
                        estimate: r.estimate,
                        se: r.se,
                    })
                }
                None => None,
            },
        });
        curves.push(Curve {
            analysis,
            endpoint: ep.name.clone(),
            arm: g.name.clone(),
            km,
        });
    }
    let lr = log_rank(&time, &event, &group, strata, opts.rho).map_err(failed("log-rank test"))?;
    Ok(EndpointResult {
        name: ep.name.clone(),
        label: ep.label.clone(),
        unit: ep.unit,
        by_arm,
        log_rank: LogRankResult {
            arms: groups.iter().map(|a| a.name.clone()).collect(),
            observed: lr.observed,
            expected: lr.expected,
            chisq: lr.chisq,
            df: lr.df,
            p_value: lr.p_value,
        },
        cox: None,
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

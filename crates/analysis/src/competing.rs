//! Competing-risks endpoints: per cause and arm, the Aalen–Johansen
//! cumulative incidence (curve and values at the `at` times), Gray's test
//! across the arms, and the cause-specific Cox hazard ratios of the arms
//! (the other causes censored). The numbers come from
//! `cohortflow_stats::cumulative_incidence_by_group`, `gray_test` (checked
//! against R's multi-state `survfit` and `cmprsk::cuminc`) and the Cox path
//! of [`crate::cox`].

use crate::config::DEFAULT_AT_MONTHS;
use crate::{AnalysisConfig, AnalysisError, AnalysisKind, ArmInfo, CoxModel, EndpointColumns};
use cohortflow_core::table::csv_field;
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::{
    CumulativeIncidence, KmOptions, cause_specific_event, cumulative_incidence_by_group, gray_test,
};
use polars::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;

/// The causes of a competing-risks endpoint, as the analysis reads them.
#[derive(Debug, Clone)]
pub struct CompetingColumns {
    /// String column naming each row's cause (empty = censored).
    pub cause: String,
    /// The cause names, in declared order.
    pub causes: Vec<String>,
}

/// `results.json` `endpoints[].competing`: one entry per cause.
#[derive(Debug, Clone, Serialize)]
pub struct CompetingResult {
    pub causes: Vec<CauseResult>,
}

/// One cause of a competing-risks endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct CauseResult {
    pub cause: String,
    /// Cumulative incidence per arm with patients.
    pub by_arm: Vec<IncidenceByArm>,
    /// Gray's test of equal cumulative incidence across the arms (two or
    /// more arms with patients and at least one event of the cause).
    pub gray: Option<GrayResult>,
    /// Why Gray's test is absent when it could have been computed.
    pub gray_note: Option<String>,
    /// Cox model of the cause-specific hazard (other causes censored).
    pub cause_specific_cox: Option<CauseCox>,
    /// Fine–Gray model of the subdistribution hazard of the cause, by arm
    /// (with `[analysis.cox]`, as the cause-specific model): R's `coxph` on
    /// `finegray()` data with its default robust variance.
    pub fine_gray: Option<CauseCox>,
}

/// The unadjusted and (when `[analysis.cox] adjust` is declared) adjusted
/// model of one cause.
#[derive(Debug, Clone, Serialize)]
pub struct CauseCox {
    pub unadjusted: CoxModel,
    pub adjusted: Option<CoxModel>,
}

/// The cumulative incidence of one cause in one arm.
#[derive(Debug, Clone, Serialize)]
pub struct IncidenceByArm {
    pub arm: String,
    pub n: u64,
    pub events: f64,
    pub incidence_at: Vec<IncidenceAt>,
}

/// The cumulative incidence read at one time (R: `summary(fit, times =
/// t, extend = TRUE)` of the multi-state fit).
#[derive(Debug, Clone, Serialize)]
pub struct IncidenceAt {
    pub time: f64,
    pub incidence: f64,
    pub std_err: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub n_risk: f64,
    pub beyond_last_time: bool,
}

/// Gray's test of one cause.
#[derive(Debug, Clone, Serialize)]
pub struct GrayResult {
    pub arms: Vec<String>,
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
}

/// The Aalen–Johansen fit of one arm of a competing-risks endpoint, for
/// `cif.csv` and the report's figure.
#[derive(Debug, Clone)]
pub struct CifCurve {
    pub analysis: AnalysisKind,
    pub endpoint: String,
    pub arm: String,
    /// The cause names; cause `j` is state `j + 1` of the fit.
    pub causes: Vec<String>,
    pub fit: CumulativeIncidence,
}

/// The rows of one endpoint: `(frame row, time, event, arm)`.
pub(crate) type Rows = [(usize, f64, bool, usize)];

/// The data of one endpoint and how its Cox models are fitted.
pub(crate) struct Inputs<'a> {
    pub arms: &'a [ArmInfo],
    pub frame: &'a DataFrame,
    pub rows: &'a Rows,
    /// Index of the reference arm in `arms`.
    pub reference: usize,
    /// Stratum of each frame row (`[analysis] strata`).
    pub strata: Option<&'a [usize]>,
    /// Matched sets of the frame's rows (a matched study): the
    /// cause-specific Cox models are clustered on them, as the arms' model.
    pub sets: Option<&'a crate::cox::MatchedSets>,
}

/// Everything of one competing-risks endpoint; appends its curves.
pub(crate) fn analyse(
    cfg: &AnalysisConfig,
    ep: &EndpointColumns,
    comp: &CompetingColumns,
    cox: &Inputs<'_>,
    curves: &mut Vec<CifCurve>,
) -> Result<CompetingResult, AnalysisError> {
    let (arms, frame, rows) = (cox.arms, cox.frame, cox.rows);
    let failed = |what: &'static str| {
        move |source| AnalysisError::Estimator {
            endpoint: ep.name.clone(),
            analysis: AnalysisKind::Naive,
            what,
            source,
        }
    };
    let cause_col = cohortflow_core::table::as_text(frame.column(&comp.cause)?)?;
    let cause_col = cause_col.str()?.clone();
    // cause code per row: 0 censored, 1..=K the declared causes
    let mut cause = Vec::with_capacity(rows.len());
    for &(i, _, event, _) in rows {
        let code = match cause_col.get(i) {
            Some(name) if event => comp.causes.iter().position(|c| c == name).map(|k| k + 1),
            _ if event => None,
            _ => Some(0),
        };
        cause.push(code.ok_or_else(|| AnalysisError::Model {
            endpoint: ep.name.clone(),
            model: "competing risks",
            message: format!(
                "column {} has an event without one of the declared causes",
                comp.cause
            ),
        })?);
    }
    let present: Vec<usize> = (0..arms.len())
        .filter(|&k| rows.iter().any(|r| r.3 == k))
        .collect();
    let time: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let group: Vec<usize> = rows
        .iter()
        .map(|r| present.iter().position(|&p| p == r.3).expect("present arm"))
        .collect();
    let opts = KmOptions {
        conf_type: cfg.conf_type.to_stats(),
        conf_level: cfg.conf_level,
    };
    let k = comp.causes.len();
    let fits = if rows.is_empty() {
        Vec::new()
    } else {
        cumulative_incidence_by_group(&time, &cause, k, &group, &opts)
            .map_err(failed("cumulative incidence (Aalen-Johansen)"))?
    };
    let at: Vec<f64> = match &cfg.at {
        Some(at) => at.clone(),
        None => DEFAULT_AT_MONTHS
            .iter()
            .map(|m| m * ep.unit.per(TimeUnit::Months))
            .collect(),
    };
    let arm_names: Vec<String> = present.iter().map(|&g| arms[g].name.clone()).collect();
    let mut causes = Vec::with_capacity(k);
    for (c, name) in comp.causes.iter().enumerate() {
        let state = c + 1;
        let by_arm = fits
            .iter()
            .zip(&arm_names)
            .map(|(fit, arm)| IncidenceByArm {
                arm: arm.clone(),
                n: fit.n() as u64,
                events: fit.events()[c],
                incidence_at: at
                    .iter()
                    .map(|&t| {
                        let a = fit.at(t);
                        IncidenceAt {
                            time: t,
                            incidence: a.pstate[state],
                            std_err: a.std_err[state],
                            lower: a.lower[state],
                            upper: a.upper[state],
                            n_risk: a.n_risk,
                            beyond_last_time: a.beyond_last_time,
                        }
                    })
                    .collect(),
            })
            .collect();
        let has_events = cause.contains(&state);
        let (gray, gray_note) = if present.len() >= 2 && has_events {
            match gray_test(&time, &cause, &group, state, 0.0) {
                Ok(g) => (
                    Some(GrayResult {
                        arms: arm_names.clone(),
                        statistic: g.statistic,
                        df: g.df,
                        p_value: g.p_value,
                    }),
                    None,
                ),
                Err(e) => (None, Some(format!("Gray's test not computed: {e}"))),
            }
        } else {
            (None, None)
        };
        let cause_specific_cox = match &cfg.cox {
            Some(c) if present.len() >= 2 && has_events => {
                let reference = present
                    .iter()
                    .position(|&p| p == cox.reference)
                    .ok_or_else(|| AnalysisError::Model {
                        endpoint: ep.name.clone(),
                        model: "cause-specific Cox model",
                        message: format!(
                            "the reference arm {} has no patients; declare another reference_arm",
                            arms[cox.reference].name
                        ),
                    })?;
                let event = cause_specific_event(&cause, state);
                let cs_rows: Vec<(usize, f64, bool, usize)> = rows
                    .iter()
                    .zip(&event)
                    .zip(&group)
                    .map(|((r, &e), &g)| (r.0, r.1, e, g))
                    .collect();
                let model = |adjust: &[String]| {
                    crate::cox::by_arm(
                        frame,
                        &cs_rows,
                        &arm_names,
                        reference,
                        adjust,
                        cox.strata,
                        cox.sets,
                        c.missing,
                        c.ties,
                        cfg.conf_level,
                    )
                    .map(|mut m| {
                        m.formula = m.formula.replacen(
                            "Surv(time, event)",
                            &format!("Surv(time, cause == \"{name}\")"),
                            1,
                        );
                        m
                    })
                    .map_err(|message| AnalysisError::Model {
                        endpoint: ep.name.clone(),
                        model: "cause-specific Cox model",
                        message: format!("cause {name}: {message}"),
                    })
                };
                Some(CauseCox {
                    unadjusted: model(&[])?,
                    adjusted: match c.adjust.get_ref().as_slice() {
                        [] => None,
                        adjust => Some(model(adjust)?),
                    },
                })
            }
            _ => None,
        };
        // The subdistribution hazard of the cause (Fine–Gray), by arm.
        let fine_gray = match &cfg.cox {
            Some(c) if present.len() >= 2 && has_events => {
                let reference = present
                    .iter()
                    .position(|&p| p == cox.reference)
                    .expect("checked for the cause-specific model");
                let g_rows: Vec<(usize, f64, bool, usize)> = rows
                    .iter()
                    .zip(&group)
                    .map(|(r, &g)| (r.0, r.1, r.2, g))
                    .collect();
                let model = |adjust: &[String]| {
                    crate::cox::fine_gray_by_arm(
                        frame,
                        &g_rows,
                        &cause,
                        state,
                        &arm_names,
                        reference,
                        adjust,
                        cox.strata,
                        c.missing,
                        c.ties,
                        cfg.conf_level,
                    )
                    .map(|mut m| {
                        m.formula = m.formula.replace(
                            &format!("etype = cause {state}"),
                            &format!("etype = \"{name}\""),
                        );
                        m
                    })
                    .map_err(|message| AnalysisError::Model {
                        endpoint: ep.name.clone(),
                        model: "Fine-Gray model",
                        message: format!("cause {name}: {message}"),
                    })
                };
                Some(CauseCox {
                    unadjusted: model(&[])?,
                    adjusted: match c.adjust.get_ref().as_slice() {
                        [] => None,
                        adjust => Some(model(adjust)?),
                    },
                })
            }
            _ => None,
        };
        causes.push(CauseResult {
            cause: name.clone(),
            by_arm,
            gray,
            gray_note,
            cause_specific_cox,
            fine_gray,
        });
    }
    for (fit, arm) in fits.into_iter().zip(arm_names) {
        curves.push(CifCurve {
            analysis: AnalysisKind::Naive,
            endpoint: ep.name.clone(),
            arm,
            causes: comp.causes.clone(),
            fit,
        });
    }
    Ok(CompetingResult { causes })
}

/// `cif.csv`: every step of every cumulative-incidence curve, one line per
/// cause.
pub(crate) fn cif_csv(curves: &[CifCurve]) -> String {
    let mut out = String::from(
        "analysis,endpoint,arm,cause,time,n_risk,n_event,n_censor,incidence,std_err,lower,upper\n",
    );
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    for c in curves {
        for (j, cause) in c.causes.iter().enumerate() {
            for s in c.fit.steps() {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{:.6},{},{},{},{:.6},{},{},{}",
                    csv_field(c.analysis.name()),
                    csv_field(&c.endpoint),
                    csv_field(&c.arm),
                    csv_field(cause),
                    s.time,
                    s.n_risk,
                    s.n_event[j],
                    s.n_censor,
                    s.pstate[j + 1],
                    f(Some(s.std_err[j + 1])),
                    f(s.lower[j + 1]),
                    f(s.upper[j + 1])
                );
            }
        }
    }
    out
}

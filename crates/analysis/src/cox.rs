//! Cox proportional-hazards models of the analysis: the arms' hazard ratio,
//! unadjusted and adjusted for declared covariates, with the PH test; and
//! the exposure as a time-varying covariate (counting-process rows split at
//! the exposure date), the standard answer to immortal time besides the
//! landmark analysis. The numbers come from `cohortflow_stats::cox_ph` and
//! `cox_zph`, checked against R's `coxph` and `cox.zph`.

use cohortflow_core::Spanned;
use cohortflow_core::design::{MissingRule, design, model_terms};
use cohortflow_stats::{CoxData, CoxFit, CoxOptions, Ties, ZphTransform, cox_ph, cox_zph};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// `[analysis.cox]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoxConfig {
    /// Covariates of the adjusted model (besides the arm).
    #[serde(default = "crate::config::no_columns")]
    pub adjust: Spanned<Vec<String>>,
    #[serde(default)]
    pub ties: TiesName,
    /// Missing covariate values: `exclude` (the row leaves the adjusted
    /// model; `n` says how many stayed) or `indicator`.
    #[serde(default)]
    pub missing: MissingRule,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TiesName {
    #[default]
    Efron,
    Breslow,
}

/// `[analysis.time_varying]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeVaryingConfig {
    /// Date column of the exposure (e.g. `surgery_date`): a patient is
    /// unexposed from the origin to this date and exposed after it.
    pub exposure: Spanned<String>,
    /// Whom the model is fitted on (default: the eligible patients).
    #[serde(default)]
    pub population: crate::config::Population,
}

/// One fitted Cox model, as `summary(coxph(...))` and `cox.zph(fit)`.
#[derive(Debug, Clone, Serialize)]
pub struct CoxModel {
    /// The model, in R's formula notation.
    pub formula: String,
    pub ties: TiesName,
    pub n: usize,
    pub events: usize,
    /// Rows left out for a missing covariate.
    pub excluded_missing: usize,
    pub terms: Vec<CoxTerm>,
    pub loglik: f64,
    pub likelihood_ratio: TestResult,
    pub wald: TestResult,
    pub score: TestResult,
    /// Proportional-hazards test (`cox.zph`, KM transform): per term and global.
    pub ph_test: Vec<(String, TestResult)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoxTerm {
    pub term: String,
    pub coef: f64,
    pub se: f64,
    pub hazard_ratio: f64,
    pub lower: f64,
    pub upper: f64,
    pub z: f64,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
}

impl From<&cohortflow_stats::Test> for TestResult {
    fn from(t: &cohortflow_stats::Test) -> Self {
        TestResult {
            statistic: t.statistic,
            df: t.df,
            p_value: t.p_value,
        }
    }
}

/// Fits `Surv(start, stop, event) ~ terms` and packs the result.
/// One model to fit: its formula (for messages and results), the outcome,
/// the terms (name, values) and the strata.
struct Model<'a> {
    formula: String,
    start: Option<&'a [f64]>,
    stop: &'a [f64],
    event: &'a [bool],
    terms: &'a [(String, Vec<f64>)],
    strata: Option<&'a [usize]>,
    /// Rows left out for a missing covariate (reported with the model).
    excluded_missing: usize,
}

fn fit(model: Model, ties: TiesName, conf_level: f64) -> Result<CoxModel, String> {
    let Model {
        formula,
        start,
        stop,
        event,
        terms,
        strata,
        excluded_missing,
    } = model;
    let x: Vec<&[f64]> = terms.iter().map(|(_, v)| v.as_slice()).collect();
    let data = CoxData {
        start,
        stop,
        event,
        covariates: &x,
        strata,
    };
    let opts = CoxOptions {
        ties: match ties {
            TiesName::Efron => Ties::Efron,
            TiesName::Breslow => Ties::Breslow,
        },
        conf_level,
        ..CoxOptions::default()
    };
    let f: CoxFit = cox_ph(&data, &opts).map_err(|e| format!("{formula}: {e}"))?;
    let zph =
        cox_zph(&f, &data, ZphTransform::Km).map_err(|e| format!("{formula}: PH test: {e}"))?;
    let mut ph_test: Vec<(String, TestResult)> = terms
        .iter()
        .zip(&zph.terms)
        .map(|((n, _), t)| (n.clone(), t.into()))
        .collect();
    ph_test.push(("GLOBAL".into(), (&zph.global).into()));
    Ok(CoxModel {
        formula,
        ties,
        n: f.n,
        events: f.events,
        excluded_missing,
        terms: terms
            .iter()
            .enumerate()
            .map(|(j, (name, _))| CoxTerm {
                term: name.clone(),
                coef: f.coef[j],
                se: f.se[j],
                hazard_ratio: f.hazard_ratio[j],
                lower: f.hr_lower[j],
                upper: f.hr_upper[j],
                z: f.z[j],
                p_value: f.p_value[j],
            })
            .collect(),
        loglik: f.loglik,
        likelihood_ratio: (&f.likelihood_ratio).into(),
        wald: (&f.wald).into(),
        score: (&f.score).into(),
        ph_test,
    })
}

/// The arms' model on `rows` = (frame row, time, event, arm index): one
/// indicator per arm but `reference`, then the `adjust` covariates.
#[allow(clippy::too_many_arguments)]
pub(crate) fn by_arm(
    frame: &DataFrame,
    rows: &[(usize, f64, bool, usize)],
    arm_names: &[String],
    reference: usize,
    adjust: &[String],
    strata: Option<&[usize]>,
    missing: MissingRule,
    ties: TiesName,
    conf_level: f64,
) -> Result<CoxModel, String> {
    let frame_rows: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let (_, excluded) = design(frame, adjust, &frame_rows, missing).map_err(|e| e.to_string())?;
    let keep: Vec<usize> = (0..rows.len()).filter(|&k| !excluded[k]).collect();
    let (covariates, _) = design(
        frame,
        adjust,
        &keep.iter().map(|&k| frame_rows[k]).collect::<Vec<_>>(),
        missing,
    )
    .map_err(|e| e.to_string())?;
    let mut terms: Vec<(String, Vec<f64>)> = arm_names
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != reference)
        .map(|(k, name)| {
            let v = keep
                .iter()
                .map(|&r| if rows[r].3 == k { 1.0 } else { 0.0 })
                .collect();
            (format!("arm {name} vs {}", arm_names[reference]), v)
        })
        .collect();
    terms.extend(
        model_terms(&covariates)
            .into_iter()
            .map(|t| (t.name.clone(), t.values.clone())),
    );
    let stop: Vec<f64> = keep.iter().map(|&r| rows[r].1).collect();
    let event: Vec<bool> = keep.iter().map(|&r| rows[r].2).collect();
    let rhs: Vec<&str> = std::iter::once("arm")
        .chain(adjust.iter().map(String::as_str))
        .collect();
    let row_strata: Option<Vec<usize>> =
        strata.map(|s| keep.iter().map(|&r| s[rows[r].0]).collect());
    fit(
        Model {
            formula: format!(
                "Surv(time, event) ~ {}{}",
                rhs.join(" + "),
                if strata.is_some() {
                    " + strata(...)"
                } else {
                    ""
                }
            ),
            start: None,
            stop: &stop,
            event: &event,
            terms: &terms,
            strata: row_strata.as_deref(),
            excluded_missing: rows.len() - keep.len(),
        },
        ties,
        conf_level,
    )
}

/// The exposure as a time-varying covariate: each patient is split at the
/// exposure time into an unexposed interval (0, e] and an exposed interval
/// (e, t]. Exposure at or after the end of follow-up leaves the patient
/// unexposed throughout; exposure at time 0 makes him exposed throughout.
/// `rows` = (time, event, exposure time in the same unit).
pub(crate) fn time_varying(
    rows: &[(f64, bool, Option<f64>)],
    exposure: &str,
    ties: TiesName,
    conf_level: f64,
) -> Result<CoxModel, String> {
    let (mut start, mut stop, mut event, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(t, e, exp) in rows {
        match exp {
            Some(s) if s <= 0.0 => {
                start.push(0.0);
                stop.push(t);
                event.push(e);
                x.push(1.0);
            }
            Some(s) if s < t => {
                start.extend([0.0, s]);
                stop.extend([s, t]);
                event.extend([false, e]);
                x.extend([0.0, 1.0]);
            }
            _ => {
                start.push(0.0);
                stop.push(t);
                event.push(e);
                x.push(0.0);
            }
        }
    }
    // A patient with an event at time 0 has an empty interval (0, 0]: R
    // drops it with a warning; no such row can carry information, so leave
    // it out here too.
    let keep: Vec<usize> = (0..stop.len()).filter(|&i| stop[i] > start[i]).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let (start, stop, x) = (pick(&start), pick(&stop), pick(&x));
    let event: Vec<bool> = keep.iter().map(|&i| event[i]).collect();
    fit(
        Model {
            formula: format!("Surv(start, stop, event) ~ {exposure} (time-varying)"),
            start: Some(&start),
            stop: &stop,
            event: &event,
            terms: &[(format!("{exposure} (time-varying)"), x)],
            strata: None,
            excluded_missing: 0,
        },
        ties,
        conf_level,
    )
}

//! Cox proportional-hazards models of the analysis: the arms' hazard ratio,
//! unadjusted and adjusted for declared covariates, with the PH test; and
//! the exposure as a time-varying covariate (counting-process rows split at
//! the exposure date), the standard answer to immortal time besides the
//! landmark analysis. The numbers come from `cohortflow_stats::cox_ph_zph`
//! (the fit and its `cox_zph` on one preparation of the rows;
//! `cox_ph_weighted` for a matched table), checked against R's `coxph` and
//! `cox.zph`.
//!
//! On a matched table (columns `match_id`, `match_weight` of the matching
//! stage) the models are fitted as MatchIt recommends,
//! `coxph(..., weights = match_weight, cluster = match_id)`: the standard
//! errors, Wald tests and confidence intervals are robust (sandwich),
//! clustered on the matched set; the weights enter only when they are not
//! all 1 (1:k matching).

use cohortflow_core::Spanned;
use cohortflow_core::design::{MissingRule, design, model_terms};
use cohortflow_stats::{
    CoxData, CoxFit, CoxOptions, CoxVariance, FineGrayVariance, Ties, ZphTransform,
    cox_ph_weighted, cox_ph_zph, fine_gray,
};
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
    /// Rows left out for a missing covariate (`missing = "exclude"`).
    pub excluded_missing: usize,
    /// `excluded_missing` by covariate: a row missing several covariates is
    /// counted once, under the first of them in `adjust` order, so the
    /// counts add up to `excluded_missing` (the ledger's `model` lines).
    pub missing_by_covariate: Vec<MissingCount>,
    pub terms: Vec<CoxTerm>,
    pub loglik: f64,
    pub likelihood_ratio: TestResult,
    pub wald: TestResult,
    pub score: TestResult,
    /// Proportional-hazards test (`cox.zph`, KM transform): per term and
    /// global (empty for a weighted fit, which `cox_zph` does not handle).
    pub ph_test: Vec<(String, TestResult)>,
    /// How the standard errors were computed, when not the model-based
    /// (naive) ones: the pair-robust variance of a matched table. `se` of
    /// each term stays the naive one; `robust_se`, `z`, `p_value`, the
    /// confidence limits and `wald` use the robust variance (as
    /// `summary.coxph`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance: Option<String>,
    /// Robust score test (`summary(fit)$robscore`), with a robust variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robust_score: Option<TestResult>,
}

/// Rows a model left out for one missing covariate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingCount {
    pub column: String,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoxTerm {
    pub term: String,
    pub coef: f64,
    pub se: f64,
    /// Robust standard error (clustered on the matched set), when the model
    /// has a robust variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robust_se: Option<f64>,
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

/// The matched sets of a matched table: per frame row, the set
/// (`match_id`) and the matching weight (`match_weight`).
pub(crate) struct MatchedSets {
    pub(crate) id: Vec<usize>,
    pub(crate) weight: Vec<f64>,
}

/// The matched sets, when the analysed table comes from the matching stage
/// (both columns present, no missing value).
pub(crate) fn matched_sets(frame: &DataFrame) -> PolarsResult<Option<MatchedSets>> {
    let (Ok(id), Ok(weight)) = (frame.column("match_id"), frame.column("match_weight")) else {
        return Ok(None);
    };
    let id = id.cast(&DataType::Int64)?;
    let weight = weight.cast(&DataType::Float64)?;
    let (id, weight) = (id.i64()?, weight.f64()?);
    let mut sets = MatchedSets {
        id: Vec::with_capacity(frame.height()),
        weight: Vec::with_capacity(frame.height()),
    };
    for (i, w) in id.iter().zip(weight.iter()) {
        match (i, w) {
            (Some(i), Some(w)) if i >= 0 => {
                sets.id.push(i as usize);
                sets.weight.push(w);
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(sets))
}

/// Cluster and weights of the rows `rows` (frame rows) of a matched table;
/// the weights only when they are not all 1.
fn cluster_of(
    sets: Option<&MatchedSets>,
    rows: &[usize],
) -> (Option<Vec<usize>>, Option<Vec<f64>>) {
    match sets {
        None => (None, None),
        Some(s) => {
            let w: Vec<f64> = rows.iter().map(|&r| s.weight[r]).collect();
            let weighted = w.iter().any(|&v| v != 1.0);
            (
                Some(rows.iter().map(|&r| s.id[r]).collect()),
                weighted.then_some(w),
            )
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
    /// Rows left out for a missing covariate, by covariate (reported with
    /// the model).
    missing: Vec<MissingCount>,
    /// Matched set of each row (robust variance clustered on it) and the
    /// matching weights (1:k matching).
    cluster: Option<&'a [usize]>,
    weights: Option<&'a [f64]>,
}

fn fit(model: Model, ties: TiesName, conf_level: f64) -> Result<CoxModel, String> {
    let Model {
        formula,
        start,
        stop,
        event,
        terms,
        strata,
        missing,
        cluster,
        weights,
    } = model;
    let formula = match (cluster, weights) {
        (None, _) => formula,
        (Some(_), None) => format!("{formula}, cluster = match_id"),
        (Some(_), Some(_)) => format!("{formula}, weights = match_weight, cluster = match_id"),
    };
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
    let variance = match cluster {
        Some(c) => CoxVariance::Cluster(c),
        None => CoxVariance::Naive,
    };
    // Unweighted, the PH test (cox.zph) shares the fit's preparation of
    // the rows (`cox_ph_zph`); a weighted fit has none.
    let (f, zph): (CoxFit, _) = match weights {
        None => {
            let (f, zph) = cox_ph_zph(&data, variance, &opts, ZphTransform::Km)
                .map_err(|e| format!("{formula}: {e}"))?;
            (f, Some(zph))
        }
        Some(_) => (
            cox_ph_weighted(&data, weights, variance, &opts)
                .map_err(|e| format!("{formula}: {e}"))?,
            None,
        ),
    };
    let mut ph_test: Vec<(String, TestResult)> = Vec::new();
    if let Some(zph) = zph {
        let zph = zph.map_err(|e| format!("{formula}: PH test: {e}"))?;
        ph_test = terms
            .iter()
            .zip(&zph.terms)
            .map(|((n, _), t)| (n.clone(), t.into()))
            .collect();
        ph_test.push(("GLOBAL".into(), (&zph.global).into()));
    }
    let variance = f.robust.as_ref().map(|r| {
        format!(
            "robust (sandwich), clustered on the matched set (match_id, {} sets){}, as coxph(..., cluster = match_id)",
            r.clusters,
            if weights.is_some() {
                ", weighted by match_weight"
            } else {
                ""
            }
        )
    });
    Ok(pack(formula, ties, terms, missing, &f, ph_test, variance))
}

/// A fitted model as `results.json` holds it.
fn pack(
    formula: String,
    ties: TiesName,
    terms: &[(String, Vec<f64>)],
    missing: Vec<MissingCount>,
    f: &CoxFit,
    ph_test: Vec<(String, TestResult)>,
    variance: Option<String>,
) -> CoxModel {
    CoxModel {
        formula,
        ties,
        n: f.n,
        events: f.events,
        excluded_missing: missing.iter().map(|m| m.rows).sum(),
        missing_by_covariate: missing,
        terms: terms
            .iter()
            .enumerate()
            .map(|(j, (name, _))| CoxTerm {
                term: name.clone(),
                coef: f.coef[j],
                se: f.se[j],
                robust_se: f.robust.as_ref().map(|r| r.se[j]),
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
        variance,
        robust_score: f.robust.as_ref().map(|r| (&r.score).into()),
    }
}

/// The arms' design on `rows` = (frame row, time, event, arm index): one
/// indicator per arm but `reference`, then the `adjust` covariates; the
/// rows kept (positions in `rows`) and those left out for a missing
/// covariate, each under the first it misses.
struct ArmDesign {
    keep: Vec<usize>,
    missing: Vec<MissingCount>,
    terms: Vec<(String, Vec<f64>)>,
    /// The right-hand side in R's notation: `arm + x + ...`.
    rhs: String,
}

fn arm_design(
    frame: &DataFrame,
    rows: &[(usize, f64, bool, usize)],
    arm_names: &[String],
    reference: usize,
    adjust: &[String],
    missing: MissingRule,
) -> Result<ArmDesign, String> {
    let frame_rows: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let (all, excluded) = design(frame, adjust, &frame_rows, missing).map_err(|e| e.to_string())?;
    let keep: Vec<usize> = (0..rows.len()).filter(|&k| !excluded[k]).collect();
    // Each left-out row under the first covariate it misses.
    let mut counted = vec![false; rows.len()];
    let mut missing_by: Vec<MissingCount> = Vec::new();
    // With no row left out, the design of the kept rows is the one just
    // built: nothing to attribute, nothing to build again.
    let none_left_out = keep.len() == rows.len();
    for column in adjust.iter().filter(|_| !none_left_out) {
        let (_, miss) = design(frame, std::slice::from_ref(column), &frame_rows, missing)
            .map_err(|e| e.to_string())?;
        let mut n = 0;
        for k in 0..rows.len() {
            if excluded[k] && miss[k] && !counted[k] {
                counted[k] = true;
                n += 1;
            }
        }
        if n > 0 {
            missing_by.push(MissingCount {
                column: column.clone(),
                rows: n,
            });
        }
    }
    debug_assert_eq!(
        missing_by.iter().map(|m| m.rows).sum::<usize>(),
        rows.len() - keep.len()
    );
    let covariates = if none_left_out {
        all
    } else {
        design(
            frame,
            adjust,
            &keep.iter().map(|&k| frame_rows[k]).collect::<Vec<_>>(),
            missing,
        )
        .map_err(|e| e.to_string())?
        .0
    };
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
    let rhs: Vec<&str> = std::iter::once("arm")
        .chain(adjust.iter().map(String::as_str))
        .collect();
    Ok(ArmDesign {
        keep,
        missing: missing_by,
        terms,
        rhs: rhs.join(" + "),
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
    sets: Option<&MatchedSets>,
    missing: MissingRule,
    ties: TiesName,
    conf_level: f64,
) -> Result<CoxModel, String> {
    let ArmDesign {
        keep,
        missing,
        terms,
        rhs,
    } = arm_design(frame, rows, arm_names, reference, adjust, missing)?;
    let stop: Vec<f64> = keep.iter().map(|&r| rows[r].1).collect();
    let event: Vec<bool> = keep.iter().map(|&r| rows[r].2).collect();
    let row_strata: Option<Vec<usize>> =
        strata.map(|s| keep.iter().map(|&r| s[rows[r].0]).collect());
    let kept_rows: Vec<usize> = keep.iter().map(|&r| rows[r].0).collect();
    let (cluster, weights) = cluster_of(sets, &kept_rows);
    fit(
        Model {
            formula: format!(
                "Surv(time, event) ~ {rhs}{}",
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
            missing,
            cluster: cluster.as_deref(),
            weights: weights.as_deref(),
        },
        ties,
        conf_level,
    )
}

/// The Fine–Gray model of the subdistribution hazard of cause `cause` (a
/// code of `status`: 0 censored, 1.. the causes) by arm, as R's
/// `coxph(Surv(fgstart, fgstop, fgstatus) ~ arm [+ adjust], weights = fgwt,
/// data = finegray(Surv(time, factor(status)) ~ ., data, etype = cause))`
/// with R's default variance for it (robust, each expanded row its own
/// cluster: the weights are not integers). `rows` = (frame row, time, any
/// event, arm index), `status` one code per row. Strata (`[analysis]
/// strata`) make the censoring curve and the model per stratum.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fine_gray_by_arm(
    frame: &DataFrame,
    rows: &[(usize, f64, bool, usize)],
    status: &[usize],
    cause: usize,
    arm_names: &[String],
    reference: usize,
    adjust: &[String],
    strata: Option<&[usize]>,
    missing: MissingRule,
    ties: TiesName,
    conf_level: f64,
) -> Result<CoxModel, String> {
    let ArmDesign {
        keep,
        missing,
        terms,
        rhs,
    } = arm_design(frame, rows, arm_names, reference, adjust, missing)?;
    let time: Vec<f64> = keep.iter().map(|&r| rows[r].1).collect();
    let codes: Vec<usize> = keep.iter().map(|&r| status[r]).collect();
    let row_strata: Option<Vec<usize>> =
        strata.map(|s| keep.iter().map(|&r| s[rows[r].0]).collect());
    let x: Vec<&[f64]> = terms.iter().map(|(_, v)| v.as_slice()).collect();
    let formula = format!(
        "coxph(Surv(fgstart, fgstop, fgstatus) ~ {rhs}{}, weights = fgwt, data = finegray(..., etype = cause {cause}))",
        if strata.is_some() {
            " + strata(...)"
        } else {
            ""
        }
    );
    let opts = CoxOptions {
        ties: match ties {
            TiesName::Efron => Ties::Efron,
            TiesName::Breslow => Ties::Breslow,
        },
        conf_level,
        ..CoxOptions::default()
    };
    let fg = fine_gray(
        &time,
        &codes,
        cause,
        &x,
        row_strata.as_deref(),
        FineGrayVariance::RobustRows,
        &opts,
    )
    .map_err(|e| format!("{formula}: {e}"))?;
    let mut model = pack(
        formula,
        ties,
        &terms,
        missing,
        &fg.fit,
        Vec::new(),
        Some(
            "robust (sandwich), each row of the finegray() data its own cluster: R's default for \
             coxph(..., weights = fgwt)"
                .to_string(),
        ),
    );
    // Patients, not the rows of the expanded data.
    model.n = time.len();
    Ok(model)
}

/// The exposure as a time-varying covariate: each patient is split at the
/// exposure time into an unexposed interval (0, e] and an exposed interval
/// (e, t]. Exposure at or after the end of follow-up leaves the patient
/// unexposed throughout; exposure at time 0 makes him exposed throughout.
/// `rows` = (frame row, time, event, exposure time in the same unit).
pub(crate) fn time_varying(
    rows: &[(usize, f64, bool, Option<f64>)],
    exposure: &str,
    sets: Option<&MatchedSets>,
    ties: TiesName,
    conf_level: f64,
) -> Result<CoxModel, String> {
    // Made at their full size: a row for each patient and a second for
    // each exposed during follow-up.
    let size = rows.len()
        + rows
            .iter()
            .filter(|r| matches!(r.3, Some(s) if s > 0.0 && s < r.1))
            .count();
    let mut start = Vec::with_capacity(size);
    let mut stop = Vec::with_capacity(size);
    let mut event = Vec::with_capacity(size);
    let mut x = Vec::with_capacity(size);
    let mut frame_row = Vec::with_capacity(size);
    for &(i, t, e, exp) in rows {
        match exp {
            Some(s) if s <= 0.0 => {
                start.push(0.0);
                stop.push(t);
                event.push(e);
                x.push(1.0);
                frame_row.push(i);
            }
            Some(s) if s < t => {
                start.extend([0.0, s]);
                stop.extend([s, t]);
                event.extend([false, e]);
                x.extend([0.0, 1.0]);
                frame_row.extend([i, i]);
            }
            _ => {
                start.push(0.0);
                stop.push(t);
                event.push(e);
                x.push(0.0);
                frame_row.push(i);
            }
        }
    }
    // A patient with an event at time 0 has an empty interval (0, 0]: R
    // drops it with a warning; no such row can carry information, so leave
    // it out here too.
    // (Nearly always none: the lists are then kept as they are.)
    let (start, stop, x, event, kept_rows) = if stop.iter().zip(&start).all(|(b, a)| b > a) {
        (start, stop, x, event, frame_row)
    } else {
        let keep: Vec<usize> = (0..stop.len()).filter(|&i| stop[i] > start[i]).collect();
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        (
            pick(&start),
            pick(&stop),
            pick(&x),
            keep.iter().map(|&i| event[i]).collect(),
            keep.iter().map(|&i| frame_row[i]).collect(),
        )
    };
    let (cluster, weights) = cluster_of(sets, &kept_rows);
    fit(
        Model {
            formula: format!("Surv(start, stop, event) ~ {exposure} (time-varying)"),
            start: Some(&start),
            stop: &stop,
            event: &event,
            terms: &[(format!("{exposure} (time-varying)"), x)],
            strata: None,
            missing: Vec::new(),
            cluster: cluster.as_deref(),
            weights: weights.as_deref(),
        },
        ties,
        conf_level,
    )
}

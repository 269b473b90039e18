//! The analysis stage: per-arm summaries, Kaplan–Meier estimates and the
//! log-rank test on the selected cohort, gathered into `results.json` and the
//! `km.csv` curve table; for a competing-risks endpoint also the
//! cumulative incidence of each cause, Gray's test and cause-specific Cox
//! models (`competing`, `cif.csv`); and, when declared, the target trial
//! emulated by clone–censor–weight on the eligible patients ([`emulation`]).
//!
//! All numbers come from cohortflow-stats (which is checked value by value
//! against R); this crate only pulls columns out of the cohort table, calls
//! the estimators, and names what it computed and with which convention.
//!
//! Depends on cohortflow-core, cohortflow-stats, polars, serde, thiserror,
//! rayon (the independent analyses run side by side on every core) and
//! foldhash (a fast, fixed-seed hash for counting Table 1's levels; polars
//! already builds it).

mod baseline;
mod competing;
mod config;
mod cox;
pub mod emulation;
mod landmark;
mod results;
mod survival;
mod validate;

pub use competing::{
    CauseCox, CauseResult, CifCurve, CompetingColumns, CompetingResult, GrayResult, IncidenceAt,
    IncidenceByArm,
};
pub use config::{
    AnalysisConfig, BaselineTest, ConfTypeName, ContinuousTest, CoxConfig, DEFAULT_AT_MONTHS,
    EmulationConfig, EmulationWeights, LandmarkConfig, PairwiseAdjust, Population, TiesName,
    TimeVaryingConfig, WeightModel,
};
pub use cox::{CoxModel, CoxTerm, MissingCount, TestResult};
pub use results::*;
pub use validate::validate;

use cohortflow_core::time::{DAYS_PER_MONTH, TimeUnit};
use cohortflow_stats::{KmOptions, StatsError};
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;

/// Why the analysis could not be completed. Every variant names the
/// endpoint, arm or column concerned; none carries a patient's values.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The cohort table lacks a column the analysis needs, or has it with
    /// another type (a bug upstream: `validate` checks the configuration).
    #[error("reading the cohort table: {0}")]
    Table(#[from] PolarsError),
    #[error("unknown reference arm '{0}'")]
    UnknownReferenceArm(String),
    #[error("baseline table: {0}")]
    Baseline(String),
    /// An estimator refused its input.
    #[error("{endpoint} ({analysis}): {what}: {source}")]
    Estimator {
        endpoint: String,
        analysis: AnalysisKind,
        what: &'static str,
        #[source]
        source: StatsError,
    },
    /// An analysis of the eligible patients was asked for, but the cohort
    /// stage did not keep them (a bug: see [`AnalysisConfig::uses_eligible`]).
    #[error(
        "the eligible patients were not kept for an analysis that needs them; this is a bug in cohortflow"
    )]
    NoEligible,
    /// A Cox model could not be fitted.
    #[error("{endpoint}: {model}: {message}")]
    Model {
        endpoint: String,
        model: &'static str,
        message: String,
    },
}

/// Which comparison a result or a curve belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisKind {
    /// The declared arms, time from each endpoint's origin.
    Naive,
    /// Exposed or not by the landmark, time from the landmark.
    Landmark,
    /// The strategies of the emulated target trial (clone–censor–weight).
    Emulation,
}

impl AnalysisKind {
    pub const fn name(self) -> &'static str {
        match self {
            AnalysisKind::Naive => "naive",
            AnalysisKind::Landmark => "landmark",
            AnalysisKind::Emulation => "emulation",
        }
    }
}

impl fmt::Display for AnalysisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the analysis needs to know of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointColumns {
    pub name: String,
    pub label: String,
    pub unit: TimeUnit,
    /// Column of the time, in `unit`.
    pub time: String,
    /// Boolean event column.
    pub event: String,
    /// Date column of the origin (for the landmark's and the time-varying
    /// model's exposure time); `None` for an endpoint declared by a time and
    /// a status, which then takes part in neither.
    pub origin: Option<String>,
    /// The causes of a competing-risks endpoint (`causes` in its
    /// `[endpoints.<name>]` table); `None` for one kind of event.
    pub competing: Option<CompetingColumns>,
}

/// An arm: short name and label, in the order tables show them.
#[derive(Debug, Clone, Serialize)]
pub struct ArmInfo {
    pub name: String,
    pub label: String,
}

/// A Kaplan–Meier curve of one group, for plots and `km.csv`.
#[derive(Debug, Clone)]
pub struct Curve {
    pub analysis: AnalysisKind,
    pub endpoint: String,
    pub arm: String,
    pub km: cohortflow_stats::KaplanMeier,
}

/// What [`analyse`] returns.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub results: Results,
    pub curves: Vec<Curve>,
    /// Cumulative-incidence curves of the competing-risks endpoints.
    pub cif_curves: Vec<CifCurve>,
}

/// One endpoint's part of the analysis, computed on a thread of its own.
struct EndpointWork {
    result: EndpointResult,
    curves: Vec<Curve>,
    cif_curves: Vec<CifCurve>,
    warnings: Vec<String>,
}

/// Runs the analysis on the cohort (a table with an `arm` column).
/// `eligible` is every patient who passed the cohort criteria, before the
/// arms (the population of the landmark and time-varying analyses unless
/// they declare `population = "arms"`); it must be given when
/// [`AnalysisConfig::uses_eligible`].
pub fn analyse(
    cfg: &AnalysisConfig,
    arms: &[ArmInfo],
    endpoints: &[EndpointColumns],
    arm_column: &str,
    frame: &DataFrame,
    eligible: Option<&DataFrame>,
) -> Result<Analysis, AnalysisError> {
    analyse_observed(cfg, arms, endpoints, arm_column, frame, eligible, &|| ())
}

/// The independent parts [`analyse_observed`] reports as done: each
/// baseline row, each declared endpoint among `endpoints` (its comparison,
/// Cox models and competing risks), and the time-varying model, the
/// landmark and the emulation when declared.
pub fn steps(cfg: &AnalysisConfig, endpoints: &[EndpointColumns]) -> u64 {
    let selected = selected_endpoints(cfg, endpoints).len();
    let declared = [
        cfg.time_varying.is_some(),
        cfg.landmark.is_some(),
        cfg.emulation.is_some(),
    ];
    (cfg.baseline.get_ref().len() + selected + declared.iter().filter(|d| **d).count()) as u64
}

/// The endpoints the analysis declares, in its order, among those the run
/// derived: what [`analyse_observed`] computes and [`steps`] counts.
fn selected_endpoints<'a>(
    cfg: &AnalysisConfig,
    endpoints: &'a [EndpointColumns],
) -> Vec<&'a EndpointColumns> {
    cfg.endpoints
        .get_ref()
        .iter()
        .filter_map(|n| endpoints.iter().find(|e| &e.name == n))
        .collect()
}

/// [`analyse`], calling `step_done` as each of its [`steps`] ends (a run's
/// progress bar), from whichever thread computed it.
pub fn analyse_observed(
    cfg: &AnalysisConfig,
    arms: &[ArmInfo],
    endpoints: &[EndpointColumns],
    arm_column: &str,
    frame: &DataFrame,
    eligible: Option<&DataFrame>,
    step_done: &(dyn Fn() + Sync),
) -> Result<Analysis, AnalysisError> {
    let no_eligible;
    let eligible = match eligible {
        Some(e) => e,
        None if cfg.uses_eligible() => return Err(AnalysisError::NoEligible),
        None => {
            no_eligible = frame.clear();
            &no_eligible
        }
    };
    let arm_index = arm_indices(frame.column(arm_column)?, arms)?;
    let arm_counts: Vec<ArmCount> = arms
        .iter()
        .enumerate()
        .map(|(k, a)| ArmCount {
            name: a.name.clone(),
            label: a.label.clone(),
            n: arm_index.iter().filter(|x| **x == Some(k)).count() as u64,
        })
        .collect();
    let mut warnings = Vec::new();
    for empty in arm_counts.iter().filter(|a| a.n == 0) {
        warnings.push(format!(
            "arm {} has no patients after the cohort criteria (see attrition.csv): it is shown with n = 0 and takes part in no estimate or comparison",
            empty.name
        ));
    }
    let with_patients = arm_counts.iter().filter(|a| a.n > 0).count();
    if with_patients < 2 && arms.len() > 1 {
        warnings.push(
            "fewer than two arms have patients: no comparison (log-rank test, hazard ratios) is made".into(),
        );
    }

    let reference = match &cfg.reference_arm {
        Some(r) => arms
            .iter()
            .position(|a| &a.name == r.get_ref())
            .ok_or_else(|| AnalysisError::UnknownReferenceArm(r.get_ref().clone()))?,
        None => arms.len() - 1,
    };
    // Table 1's rows, each endpoint's comparisons and models, the
    // time-varying model, the landmark and the emulated trial do not depend
    // on each other: they run side by side on every core (rayon), and their
    // results, curves and warnings are put back in the order of the
    // declaration, which is the order they had when computed one after
    // another. Every computation is the same sequence of floating-point
    // operations whatever the thread, so the numbers are the same bits.
    let baseline_rows = || -> Result<Vec<BaselineRow>, AnalysisError> {
        cfg.baseline
            .get_ref()
            .par_iter()
            .map(|c| {
                let row = baseline::row(
                    frame,
                    c,
                    arms,
                    &arm_index,
                    cfg.continuous_test,
                    cfg.tests.get(c).copied(),
                )
                .map_err(AnalysisError::Baseline);
                step_done();
                row
            })
            .collect()
    };

    let strata: Option<Vec<usize>> = match &cfg.strata {
        Some(col) => Some(strata_index(frame, col.get_ref())?),
        None => None,
    };
    // a matched table: Cox models with a variance robust to the pairing
    let matched_sets = cox::matched_sets(frame)?;
    let opts = survival::CompareOptions {
        km: KmOptions {
            conf_type: cfg.conf_type.to_stats(),
            conf_level: cfg.conf_level,
        },
        rho: cfg.rho,
        rmst_tau: cfg.rmst_tau,
        quantiles: cfg.quantiles.clone(),
        at: cfg.at.clone(),
        pairwise: cfg.pairwise.map(PairwiseAdjust::to_stats),
    };
    let selected = selected_endpoints(cfg, endpoints);
    // One endpoint's comparison, Cox models and competing risks, with the
    // curves and warnings it adds.
    let one_endpoint = |ep: &&EndpointColumns| -> Result<EndpointWork, AnalysisError> {
        let mut curves = Vec::new();
        let mut cif_curves = Vec::new();
        let mut warnings = Vec::new();
        let (time, event) = survival::endpoint_columns(frame, ep)?;
        // Read from each column's one array (a chunked array's iterator
        // calls through a pointer per value, and `get` finds each row's
        // chunk), into a list made once at its largest.
        let (time, event) = (time.rechunk(), event.rechunk());
        let (time, event) = (time.downcast_as_array(), event.downcast_as_array());
        let mut with_row: Vec<(usize, f64, bool, usize)> = Vec::with_capacity(arm_index.len());
        with_row.extend(
            arm_index
                .iter()
                .enumerate()
                .filter_map(|(i, a)| Some((i, time.get(i)?, event.get(i)?, (*a)?))),
        );
        let row_strata: Option<Vec<usize>> = strata
            .as_ref()
            .map(|s| with_row.iter().map(|r| s[r.0]).collect());
        let mut result = survival::compare(
            ep,
            arms,
            &with_row,
            row_strata.as_deref(),
            &opts,
            AnalysisKind::Naive,
            &mut curves,
        )?;
        if let Some(note) = &result.log_rank_note {
            warnings.push(format!("{}: {note}", ep.name));
        }
        // Hazard ratios between the arms that have patients for this
        // endpoint (an empty arm has no indicator: it would be all zeros).
        let present: Vec<usize> = (0..arms.len())
            .filter(|&k| with_row.iter().any(|r| r.3 == k))
            .collect();
        if let Some(c) = &cfg.cox
            && present.len() >= 2
        {
            let names: Vec<String> = present.iter().map(|&k| arms[k].name.clone()).collect();
            let reference = present
                .iter()
                .position(|&k| k == reference)
                .ok_or_else(|| AnalysisError::Model {
                    endpoint: ep.name.clone(),
                    model: "Cox model",
                    message: format!(
                        "the reference arm {} has no patients; declare another reference_arm",
                        arms[reference].name
                    ),
                })?;
            // The arms' indices among those present: the same as in
            // `with_row` (not copied) when every arm has patients.
            let cox_rows: std::borrow::Cow<[(usize, f64, bool, usize)]> =
                if present.len() == arms.len() {
                    std::borrow::Cow::Borrowed(&with_row)
                } else {
                    with_row
                        .iter()
                        .map(|&(i, t, e, k)| {
                            (
                                i,
                                t,
                                e,
                                present.iter().position(|&p| p == k).expect("present"),
                            )
                        })
                        .collect()
                };
            let model = |adjust: &[String]| {
                cox::by_arm(
                    frame,
                    &cox_rows,
                    &names,
                    reference,
                    adjust,
                    strata.as_deref(),
                    matched_sets.as_ref(),
                    c.missing,
                    c.ties,
                    cfg.conf_level,
                )
                .map_err(|message| AnalysisError::Model {
                    endpoint: ep.name.clone(),
                    model: "Cox model",
                    message,
                })
            };
            let (unadjusted, adjusted) = rayon::join(
                || model(&[]),
                || match c.adjust.get_ref().as_slice() {
                    [] => Ok(None),
                    adjust => model(adjust).map(Some),
                },
            );
            result.cox = Some(CoxModels {
                unadjusted: unadjusted?,
                adjusted: adjusted?,
            });
        }
        if let Some(comp) = &ep.competing {
            let inputs = competing::Inputs {
                arms,
                frame,
                rows: &with_row,
                reference,
                strata: strata.as_deref(),
                sets: matched_sets.as_ref(),
            };
            let competing = competing::analyse(cfg, ep, comp, &inputs, &mut cif_curves)?;
            for c in &competing.causes {
                if let Some(note) = &c.gray_note {
                    warnings.push(format!("{} ({}): {note}", ep.name, c.cause));
                }
            }
            result.competing = Some(competing);
        }
        Ok(EndpointWork {
            result,
            curves,
            cif_curves,
            warnings,
        })
    };
    // The population of an analysis of the exposure date: the table and
    // which of its rows take part.
    let in_arm: Vec<bool> = arm_index.iter().map(Option::is_some).collect();
    let population = |p: Population| -> (&DataFrame, Vec<bool>) {
        match p {
            Population::Eligible => (eligible, vec![true; eligible.height()]),
            Population::Arms => (frame, in_arm.clone()),
        }
    };
    let ties = cfg.cox.as_ref().map_or(TiesName::Efron, |c| c.ties);
    let time_varying = || -> Result<Option<TimeVaryingResult>, AnalysisError> {
        Ok(match &cfg.time_varying {
            Some(tv) => {
                let (frame, include) = population(tv.population);
                let mut out = Vec::new();
                for ep in &selected {
                    let (time, event) = survival::endpoint_columns(frame, ep)?;
                    let origin =
                        cohortflow_core::table::date_days(frame, origin_of(ep, "time-varying")?)?;
                    let exposure = cohortflow_core::table::date_days(frame, tv.exposure.get_ref())?;
                    // Each column read from its one array (as the
                    // endpoints' rows above): through the chunked arrays,
                    // these rows took 60–90 ms per endpoint on 600k
                    // patients (timing prints).
                    let (time, event) = (time.rechunk(), event.rechunk());
                    let (origin, exposure) = (origin.rechunk(), exposure.rechunk());
                    let (time, event) = (time.downcast_as_array(), event.downcast_as_array());
                    let (origin, exposure) =
                        (origin.downcast_as_array(), exposure.downcast_as_array());
                    let per_unit = ep.unit.days();
                    let rows: Vec<(usize, f64, bool, Option<f64>)> = (0..frame.height())
                        .filter(|&i| include[i])
                        .filter_map(|i| {
                            let exp = match (exposure.get(i), origin.get(i)) {
                                (Some(x), Some(o)) => Some(f64::from(x - o) / per_unit),
                                _ => None,
                            };
                            Some((i, time.get(i)?, event.get(i)?, exp))
                        })
                        .collect();
                    // The matched sets are rows of the analysed (matched) table:
                    // they cluster the model on the arms' population only.
                    let sets = match tv.population {
                        Population::Arms => matched_sets.as_ref(),
                        Population::Eligible => None,
                    };
                    let model =
                        cox::time_varying(&rows, tv.exposure.get_ref(), sets, ties, cfg.conf_level)
                            .map_err(|message| AnalysisError::Model {
                                endpoint: ep.name.clone(),
                                model: "time-varying Cox model",
                                message,
                            })?;
                    out.push(TimeVaryingEndpoint {
                        name: ep.name.clone(),
                        model,
                    });
                }
                Some(TimeVaryingResult {
                    exposure: tv.exposure.get_ref().clone(),
                    population: tv.population,
                    population_n: include.iter().filter(|x| **x).count() as u64,
                    endpoints: out,
                })
            }
            None => None,
        })
    };

    let landmark = |curves: &mut Vec<Curve>| -> Result<Option<LandmarkResult>, AnalysisError> {
        Ok(match &cfg.landmark {
            Some(l) => {
                let (frame, include) = population(l.population);
                let strata = match &cfg.strata {
                    Some(col) => Some(strata_index(frame, col.get_ref())?),
                    None => None,
                };
                Some(landmark::landmark(
                    l,
                    &selected,
                    frame,
                    &include,
                    strata.as_deref(),
                    &opts,
                    &landmark::CoxSettings {
                        ties,
                        conf_level: cfg.conf_level,
                    },
                    curves,
                )?)
            }
            None => None,
        })
    };
    let emulation = |curves: &mut Vec<Curve>| -> Result<Option<EmulationResult>, AnalysisError> {
        Ok(match &cfg.emulation {
            Some(e) => Some(emulation::emulation(
                e,
                &selected,
                eligible,
                cfg.at.as_deref(),
                cfg.rmst_tau,
                ties,
                cfg.conf_type,
                cfg.conf_level,
                curves,
            )?),
            None => None,
        })
    };

    // A declared part's end, for the progress (`steps`).
    let ended = |declared: bool| {
        if declared {
            step_done();
        }
    };
    let ((baseline, endpoint_work), ((time_varying, landmark), emulation)) = rayon::join(
        || {
            rayon::join(baseline_rows, || {
                selected
                    .par_iter()
                    .map(|ep| {
                        let work = one_endpoint(ep);
                        step_done();
                        work
                    })
                    .collect::<Vec<Result<EndpointWork, AnalysisError>>>()
            })
        },
        || {
            rayon::join(
                || {
                    rayon::join(
                        || {
                            let tv = time_varying();
                            ended(cfg.time_varying.is_some());
                            tv
                        },
                        || {
                            let mut curves = Vec::new();
                            let l = landmark(&mut curves).map(|l| (l, curves));
                            ended(cfg.landmark.is_some());
                            l
                        },
                    )
                },
                || {
                    let mut curves = Vec::new();
                    let e = emulation(&mut curves).map(|e| (e, curves));
                    ended(cfg.emulation.is_some());
                    e
                },
            )
        },
    );
    let baseline = baseline?;
    let mut results = Vec::new();
    let mut curves = Vec::new();
    let mut cif_curves = Vec::new();
    for work in endpoint_work {
        let work = work?;
        results.push(work.result);
        curves.extend(work.curves);
        cif_curves.extend(work.cif_curves);
        warnings.extend(work.warnings);
    }
    let time_varying = time_varying?;
    let (landmark, landmark_curves) = landmark?;
    curves.extend(landmark_curves);
    let (emulation, emulation_curves) = emulation?;
    curves.extend(emulation_curves);
    if let Some(l) = &landmark {
        for e in &l.endpoints {
            if let Some(note) = &e.result.log_rank_note {
                warnings.push(format!("{} (landmark): {note}", e.result.name));
            }
        }
    }

    Ok(Analysis {
        results: Results {
            arms: arm_counts,
            baseline,
            endpoints: results,
            landmark,
            time_varying,
            emulation,
            warnings,
            design_warnings: Vec::new(),
            labels: Default::default(),
            matching: None,
            conventions: Conventions {
                survival_estimator: "Kaplan-Meier (R survival::survfit)".into(),
                variance: "Greenwood".into(),
                conf_type: cfg.conf_type,
                conf_level: cfg.conf_level,
                median: "first time S(t) <= 0.5; midpoint when S(t) = 0.5 exactly on a flat stretch; CI limits from the pointwise confidence curves, as quantile.survfit; null = not reached".into(),
                comparison: if cfg.rho == 0.0 {
                    "log-rank test (rho = 0), as R survival::survdiff".into()
                } else {
                    format!("G-rho test, rho = {} (1 = Peto-Peto), as R survival::survdiff", cfg.rho)
                },
                rmst: "restricted mean survival time to tau and its SE as R's print(survfit, rmean = tau)".into(),
                tied_times: "times closer than sqrt(machine epsilon) relative are merged, as R's timefix".into(),
                quantiles: "R quantile type 7".into(),
                continuous_test: cfg.continuous_test,
                pairwise_adjust: cfg.pairwise.map(|p| p.to_stats().name().to_string()),
                landmark: format!(
                    "{}, with an endpoint time after the landmark; exposed when the exposure date is on or before origin + landmark; time counted from the landmark; Cox hazard ratio of the exposed against the unexposed",
                    cfg.landmark.as_ref().map_or(Population::Eligible, |l| l.population).describe()
                ),
                cox: "Cox proportional hazards as R survival::coxph (Efron ties unless declared), Wald CI for the hazard ratio; PH test as cox.zph (KM transform); hazard ratios of each arm against the reference arm".into(),
                strata: cfg.strata.as_ref().map(|s| format!("log-rank test and Cox models stratified by {}", s.get_ref())),
                time_varying: format!(
                    "exposure as a time-varying covariate: (0, exposure] unexposed, (exposure, end] exposed, as survSplit + coxph(Surv(start, stop, event) ~ exposure), on {}",
                    cfg.time_varying.as_ref().map_or(Population::Eligible, |t| t.population).describe()
                ),
                month_days: DAYS_PER_MONTH,
            },
        },
        curves,
        cif_curves,
    })
}

/// The origin date column of an endpoint that an analysis of the exposure
/// date needs (landmark, time-varying).
pub(crate) fn origin_of<'a>(
    ep: &'a EndpointColumns,
    analysis: &'static str,
) -> Result<&'a str, AnalysisError> {
    ep.origin.as_deref().ok_or_else(|| AnalysisError::Model {
        endpoint: ep.name.clone(),
        model: analysis,
        message: "the endpoint is declared by a time and a status, without dates: an analysis of the exposure date needs the endpoint's origin date (declare the endpoint by its dates, or leave it out of this analysis)".into(),
    })
}

/// `km.csv`: every step of every curve.
pub fn km_csv(curves: &[Curve]) -> String {
    survival::km_csv(curves)
}

/// `cif.csv`: every step of every cumulative-incidence curve, per cause.
pub fn cif_csv(curves: &[CifCurve]) -> String {
    competing::cif_csv(curves)
}

/// Each row's arm as its index in `arms` (`None`: in none of them), by
/// name. An arm column of codes (the cohort's, an `Enum` of its labels) is
/// read by its codes, each label looked up once: no text column of the
/// cohort's rows is made while the analysis runs.
fn arm_indices(column: &Column, arms: &[ArmInfo]) -> PolarsResult<Vec<Option<usize>>> {
    let index_of = |name: &str| arms.iter().position(|x| x.name == name);
    if let Some((labels, codes)) = cohortflow_core::table::level_codes(column)? {
        let by_code: Vec<Option<usize>> = labels.into_iter().map(index_of).collect();
        return Ok(codes
            .iter()
            .map(|c| c.and_then(|c| by_code[c as usize]))
            .collect());
    }
    let text = cohortflow_core::table::as_text(column)?;
    Ok(text.str()?.iter().map(|a| a.and_then(index_of)).collect())
}

/// Each row's stratum: the index of its value among the column's sorted
/// distinct values (an empty value is a stratum of its own).
fn strata_index(frame: &DataFrame, column: &str) -> PolarsResult<Vec<usize>> {
    let text = frame.column(column)?.cast(&DataType::String)?;
    let text = text.str()?;
    let mut values: Vec<Option<&str>> = text.iter().collect();
    values.sort();
    values.dedup();
    Ok(text
        .iter()
        .map(|v| values.binary_search(&v).expect("value seen"))
        .collect())
}

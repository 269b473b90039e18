//! The analysis stage: per-arm summaries, Kaplan–Meier estimates and the
//! log-rank test on the selected cohort, gathered into `results.json` and the
//! `km.csv` curve table.
//!
//! All numbers come from cohortflow-stats (which is checked value by value
//! against R); this crate only pulls columns out of the cohort table, calls
//! the estimators, and names what it computed and with which convention.
//!
//! Depends on cohortflow-core, cohortflow-stats, polars and serde.

mod baseline;
mod cox;
mod survival;

use cohortflow_core::{ConfigProblem, Spanned};
use cohortflow_stats::{ConfType, KmOptions, QuantileEstimate};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// The `[analysis]` section of a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Endpoints to estimate and compare, by name (`[endpoints.<name>]`).
    pub endpoints: Spanned<Vec<String>>,
    /// Columns of the baseline table (Table 1): counts and percentages per
    /// value for categories and booleans, median [IQR] and mean (SD) for
    /// numbers, each with a test between arms and the standardized mean
    /// difference.
    #[serde(default = "no_columns")]
    pub baseline: Spanned<Vec<String>>,
    /// Scale of the Kaplan–Meier confidence intervals, as R's `conf.type`.
    #[serde(default)]
    pub conf_type: ConfTypeName,
    /// Confidence level of every interval.
    #[serde(default = "default_conf_level")]
    pub conf_level: f64,
    /// The G-rho test comparing the curves: 0 = log-rank, 1 = Peto-Peto.
    #[serde(default)]
    pub rho: f64,
    /// Horizon of the restricted mean survival time per arm, in each
    /// endpoint's unit (none when absent).
    pub rmst_tau: Option<f64>,
    /// Test of continuous variables in the baseline table.
    #[serde(default)]
    pub continuous_test: ContinuousTest,
    /// Stratify the log-rank test and the Cox models by this column (e.g.
    /// `source`, the centre): as `survdiff(... + strata(x))` and
    /// `coxph(... + strata(x))`.
    pub strata: Option<Spanned<String>>,
    /// Survival quantiles reported per arm besides the median (probability of
    /// the event, as `quantile(fit, probs)`: 0.25 = the time by which 25% had
    /// the event).
    #[serde(default)]
    pub quantiles: Vec<f64>,
    /// A landmark analysis against immortal-time bias.
    pub landmark: Option<LandmarkConfig>,
    /// Cox models of the arms' hazard ratio.
    pub cox: Option<CoxConfig>,
    /// Cox model with the exposure as a time-varying covariate.
    pub time_varying: Option<TimeVaryingConfig>,
    /// The arm hazard ratios are relative to (default: the last arm).
    pub reference_arm: Option<Spanned<String>>,
}

/// The test of continuous variables in the baseline table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContinuousTest {
    /// Wilcoxon rank-sum (`wilcox.test`).
    #[default]
    Wilcoxon,
    /// Welch's t-test (`t.test`).
    Welch,
}

pub use cox::{CoxConfig, CoxModel, CoxTerm, TestResult, TiesName, TimeVaryingConfig};

/// `[analysis.landmark]`: only patients alive, event-free and under
/// follow-up at the landmark time are analysed, grouped by whether the
/// exposure (a date) happened by then, with time counted from the landmark.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkConfig {
    /// Landmark time after each endpoint's origin, in `unit`.
    pub time: f64,
    #[serde(default = "default_landmark_unit")]
    pub unit: String,
    /// Date column of the exposure (e.g. `surgery_date`).
    pub exposure: Spanned<String>,
    #[serde(default = "default_exposed")]
    pub exposed_label: String,
    #[serde(default = "default_unexposed")]
    pub unexposed_label: String,
}

fn default_landmark_unit() -> String {
    "months".into()
}

fn default_exposed() -> String {
    "exposed by the landmark".into()
}

fn default_unexposed() -> String {
    "not exposed by the landmark".into()
}

/// Days in one time unit (a month is 30.4375 days, a year 365.25).
pub fn unit_days(unit: &str) -> Option<f64> {
    match unit {
        "days" => Some(1.0),
        "weeks" => Some(7.0),
        "months" => Some(30.4375),
        "years" => Some(365.25),
        _ => None,
    }
}

pub(crate) fn no_columns() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}

fn default_conf_level() -> f64 {
    0.95
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ConfTypeName {
    #[default]
    #[serde(rename = "log")]
    Log,
    #[serde(rename = "log-log")]
    LogLog,
    #[serde(rename = "plain")]
    Plain,
}

impl ConfTypeName {
    fn to_stats(self) -> ConfType {
        match self {
            ConfTypeName::Log => ConfType::Log,
            ConfTypeName::LogLog => ConfType::LogLog,
            ConfTypeName::Plain => ConfType::Plain,
        }
    }
}

/// What the analysis needs to know of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointColumns {
    pub name: String,
    pub label: String,
    pub unit: String,
    /// Column of the time, in `unit`.
    pub time: String,
    /// Boolean event column.
    pub event: String,
    /// Date column of the origin (for the landmark's exposure time).
    pub origin: String,
}

/// An arm: short name and label, in the order tables show them.
#[derive(Debug, Clone, Serialize)]
pub struct ArmInfo {
    pub name: String,
    pub label: String,
}

/// Everything the analysis computed; serialised as `results.json` and
/// documented in `docs/results.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub arms: Vec<ArmCount>,
    /// The baseline table (Table 1), one row per `analysis.baseline` column.
    pub baseline: Vec<BaselineRow>,
    /// The comparison of the declared arms from each endpoint's origin.
    pub endpoints: Vec<EndpointResult>,
    pub landmark: Option<LandmarkResult>,
    pub time_varying: Option<TimeVaryingResult>,
    /// Design warnings (e.g. immortal time), in plain words.
    pub warnings: Vec<String>,
    /// The matching, when the pipeline declares one (filled in by the
    /// pipeline from the cohort stage's summary).
    pub matching: Option<serde_json::Value>,
    pub conventions: Conventions,
}

#[derive(Debug, Clone, Serialize)]
pub struct LandmarkResult {
    pub time: f64,
    pub unit: String,
    pub exposure: String,
    /// Group names in the order of each endpoint's `by_arm`.
    pub groups: Vec<ArmInfo>,
    pub endpoints: Vec<LandmarkEndpoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LandmarkEndpoint {
    /// Cohort patients left out: event, death or end of follow-up at or
    /// before the landmark.
    pub excluded_before_landmark: u64,
    #[serde(flatten)]
    pub result: EndpointResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmCount {
    pub name: String,
    pub label: String,
    pub n: u64,
}

pub use baseline::{BaselineRow, BaselineSummary, CategoricalCell, ContinuousCell};

#[derive(Debug, Clone, Serialize)]
pub struct EndpointResult {
    pub name: String,
    pub label: String,
    pub unit: String,
    pub by_arm: Vec<ArmSurvival>,
    pub log_rank: LogRankResult,
    /// Cox models of the arms, when `[analysis.cox]` is declared.
    pub cox: Option<CoxModels>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoxModels {
    pub unadjusted: CoxModel,
    pub adjusted: Option<CoxModel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeVaryingResult {
    pub exposure: String,
    /// One model per endpoint, in the order of `endpoints`.
    pub endpoints: Vec<TimeVaryingEndpoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeVaryingEndpoint {
    pub name: String,
    pub model: CoxModel,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmSurvival {
    pub arm: String,
    pub n: u64,
    pub events: f64,
    /// Median survival time with its confidence limits; `null` = not reached.
    pub median: Quantile,
    /// Restricted mean survival time to `rmst_tau`, as R's
    /// `print(fit, rmean = tau)`.
    pub rmst: Option<RmstResult>,
    /// The declared `quantiles`, as R's `quantile(fit, probs)`.
    pub quantiles: Vec<QuantileAt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuantileAt {
    /// Probability of the event by that time.
    pub p: f64,
    #[serde(flatten)]
    pub quantile: Quantile,
}

#[derive(Debug, Clone, Serialize)]
pub struct RmstResult {
    pub tau: f64,
    pub estimate: f64,
    pub se: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quantile {
    pub estimate: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<QuantileEstimate> for Quantile {
    fn from(q: QuantileEstimate) -> Self {
        Quantile {
            estimate: q.estimate,
            lower: q.lower,
            upper: q.upper,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogRankResult {
    /// Arms in the order of `observed` and `expected`.
    pub arms: Vec<String>,
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    pub chisq: f64,
    pub df: usize,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conventions {
    pub survival_estimator: String,
    pub variance: String,
    pub conf_type: ConfTypeName,
    pub conf_level: f64,
    pub median: String,
    pub comparison: String,
    pub rmst: String,
    pub tied_times: String,
    pub quantiles: String,
    pub landmark: String,
    pub cox: String,
    pub strata: Option<String>,
    pub time_varying: String,
    pub month_days: f64,
}

/// Checks the section against the cohort's columns and the declared
/// endpoints, before any data is read.
pub fn validate(
    cfg: &AnalysisConfig,
    endpoint_names: &[String],
    frame: &DataFrame,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if cfg.endpoints.get_ref().is_empty() {
        problems.push(ConfigProblem::new(
            "analysis.endpoints",
            Some(cfg.endpoints.span()),
            "no endpoint to analyse",
            "the names of one or more [endpoints.<name>] tables",
        ));
    }
    for e in cfg.endpoints.get_ref() {
        if !endpoint_names.contains(e) {
            problems.push(ConfigProblem::new(
                "analysis.endpoints",
                Some(cfg.endpoints.span()),
                format!("unknown endpoint '{e}'"),
                format!(
                    "one of the declared endpoints: {}",
                    endpoint_names.join(", ")
                ),
            ));
        }
    }
    for c in cfg.baseline.get_ref() {
        match frame.column(c).map(|c| c.dtype().clone()) {
            Err(_) => problems.push(ConfigProblem::new(
                "analysis.baseline",
                Some(cfg.baseline.span()),
                format!("unknown column '{c}'"),
                "a column of the schema or a derived column",
            )),
            Ok(DataType::Date) => problems.push(ConfigProblem::new(
                "analysis.baseline",
                Some(cfg.baseline.span()),
                format!("'{c}' is a date; put a duration derived from it in the table instead"),
                "a category, boolean or numeric column",
            )),
            Ok(_) => {}
        }
    }
    if let Some(l) = &cfg.landmark {
        if !(l.time.is_finite() && l.time > 0.0) {
            problems.push(ConfigProblem::new(
                "analysis.landmark.time",
                None,
                format!("landmark time {} is not a positive number", l.time),
                "a time after the origin, e.g. time = 12",
            ));
        }
        if unit_days(&l.unit).is_none() {
            problems.push(ConfigProblem::new(
                "analysis.landmark.unit",
                None,
                format!("unknown unit '{}'", l.unit),
                "days, weeks, months or years",
            ));
        }
        match frame
            .column(l.exposure.get_ref())
            .map(|c| c.dtype().clone())
        {
            Ok(DataType::Date) => {}
            Ok(other) => problems.push(ConfigProblem::new(
                "analysis.landmark.exposure",
                Some(l.exposure.span()),
                format!("'{}' is {other}, not a date", l.exposure.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
            Err(_) => problems.push(ConfigProblem::new(
                "analysis.landmark.exposure",
                Some(l.exposure.span()),
                format!("unknown column '{}'", l.exposure.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
        }
    }
    let date_column =
        |problems: &mut Vec<ConfigProblem>, key: &str, col: &Spanned<String>| match frame
            .column(col.get_ref())
            .map(|c| c.dtype().clone())
        {
            Ok(DataType::Date) => {}
            Ok(other) => problems.push(ConfigProblem::new(
                key,
                Some(col.span()),
                format!("'{}' is {other}, not a date", col.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
            Err(_) => problems.push(ConfigProblem::new(
                key,
                Some(col.span()),
                format!("unknown column '{}'", col.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
        };
    if let Some(tv) = &cfg.time_varying {
        date_column(
            &mut problems,
            "analysis.time_varying.exposure",
            &tv.exposure,
        );
    }
    if let Some(c) = &cfg.cox {
        for a in c.adjust.get_ref() {
            match frame.column(a).map(|c| c.dtype().clone()) {
                Ok(DataType::Date) => problems.push(ConfigProblem::new(
                    "analysis.cox.adjust",
                    Some(c.adjust.span()),
                    format!("'{a}' is a date"),
                    "a number, boolean or category column",
                )),
                Ok(_) => {}
                Err(_) => problems.push(ConfigProblem::new(
                    "analysis.cox.adjust",
                    Some(c.adjust.span()),
                    format!("unknown column '{a}'"),
                    "a column of the schema or a derived column",
                )),
            }
        }
    }
    if let Some(st) = &cfg.strata
        && frame.column(st.get_ref()).is_err()
    {
        problems.push(ConfigProblem::new(
            "analysis.strata",
            Some(st.span()),
            format!("unknown column '{}'", st.get_ref()),
            "a column such as source (the centre)",
        ));
    }
    for q in &cfg.quantiles {
        if !(*q > 0.0 && *q < 1.0) {
            problems.push(ConfigProblem::new(
                "analysis.quantiles",
                None,
                format!("quantile {q} is not between 0 and 1"),
                "probabilities such as [0.25, 0.75]",
            ));
        }
    }
    if !(cfg.rho.is_finite() && cfg.rho >= 0.0) {
        problems.push(ConfigProblem::new(
            "analysis.rho",
            None,
            format!("rho = {} is not a non-negative number", cfg.rho),
            "0 (log-rank) or 1 (Peto-Peto)",
        ));
    }
    if let Some(t) = cfg.rmst_tau
        && !(t.is_finite() && t > 0.0)
    {
        problems.push(ConfigProblem::new(
            "analysis.rmst_tau",
            None,
            format!("rmst_tau = {t} is not a positive number"),
            "a horizon in the endpoints' unit, e.g. 60",
        ));
    }
    if !(cfg.conf_level > 0.0 && cfg.conf_level < 1.0) {
        problems.push(ConfigProblem::new(
            "analysis.conf_level",
            None,
            format!("conf_level = {} is not between 0 and 1", cfg.conf_level),
            "a level such as 0.95",
        ));
    }
    problems
}

/// A Kaplan–Meier curve of one group, for plots and `km.csv`.
#[derive(Debug, Clone)]
pub struct Curve {
    /// `naive` (declared arms from the origin) or `landmark`.
    pub analysis: String,
    pub endpoint: String,
    pub arm: String,
    pub km: cohortflow_stats::KaplanMeier,
}

/// What [`analyse`] returns.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub results: Results,
    pub curves: Vec<Curve>,
}

/// Runs the analysis on the cohort (a table with an `arm` column).
pub fn analyse(
    cfg: &AnalysisConfig,
    arms: &[ArmInfo],
    endpoints: &[EndpointColumns],
    arm_column: &str,
    frame: &DataFrame,
) -> Result<Analysis, String> {
    let pe = |e: PolarsError| e.to_string();
    let arm_col = frame
        .column(arm_column)
        .map_err(pe)?
        .str()
        .map_err(pe)?
        .clone();
    let arm_index: Vec<Option<usize>> = arm_col
        .iter()
        .map(|a| a.and_then(|a| arms.iter().position(|x| x.name == a)))
        .collect();
    let arm_counts: Vec<ArmCount> = arms
        .iter()
        .enumerate()
        .map(|(k, a)| ArmCount {
            name: a.name.clone(),
            label: a.label.clone(),
            n: arm_index.iter().filter(|x| **x == Some(k)).count() as u64,
        })
        .collect();
    if let Some(empty) = arm_counts.iter().find(|a| a.n == 0) {
        return Err(format!(
            "arm '{}' has no patients after the cohort criteria; nothing can be estimated for it (see attrition.csv)",
            empty.name
        ));
    }

    let reference = match &cfg.reference_arm {
        Some(r) => arms
            .iter()
            .position(|a| &a.name == r.get_ref())
            .ok_or_else(|| format!("unknown reference arm '{}'", r.get_ref()))?,
        None => arms.len() - 1,
    };
    let mut baseline = Vec::new();
    for c in cfg.baseline.get_ref() {
        baseline.push(baseline::row(
            frame,
            c,
            arms,
            &arm_index,
            cfg.continuous_test,
        )?);
    }

    let strata: Option<Vec<usize>> = match &cfg.strata {
        Some(col) => Some(strata_index(frame, col.get_ref()).map_err(pe)?),
        None => None,
    };
    let opts = survival::CompareOptions {
        km: KmOptions {
            conf_type: cfg.conf_type.to_stats(),
            conf_level: cfg.conf_level,
        },
        rho: cfg.rho,
        rmst_tau: cfg.rmst_tau,
        quantiles: cfg.quantiles.clone(),
    };
    let mut curves = Vec::new();
    let selected: Vec<&EndpointColumns> = cfg
        .endpoints
        .get_ref()
        .iter()
        .filter_map(|n| endpoints.iter().find(|e| &e.name == n))
        .collect();
    let mut results = Vec::new();
    for ep in &selected {
        let (time, event) = survival::endpoint_columns(frame, ep).map_err(pe)?;
        let with_row: Vec<(usize, f64, bool, usize)> = (0..frame.height())
            .filter_map(|i| Some((i, time.get(i)?, event.get(i)?, arm_index[i]?)))
            .collect();
        let rows: Vec<(f64, bool, usize)> = with_row.iter().map(|r| (r.1, r.2, r.3)).collect();
        let row_strata: Option<Vec<usize>> = strata
            .as_ref()
            .map(|s| with_row.iter().map(|r| s[r.0]).collect());
        let mut result = survival::compare(
            ep,
            arms,
            &rows,
            row_strata.as_deref(),
            &opts,
            "naive",
            &mut curves,
        )?;
        if let Some(c) = &cfg.cox {
            let names: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
            let model = |adjust: &[String]| {
                cox::by_arm(
                    frame,
                    &with_row,
                    &names,
                    reference,
                    adjust,
                    strata.as_deref(),
                    c.missing,
                    c.ties,
                    cfg.conf_level,
                )
                .map_err(|e| format!("{}: Cox model: {e}", ep.name))
            };
            result.cox = Some(CoxModels {
                unadjusted: model(&[])?,
                adjusted: match c.adjust.get_ref().as_slice() {
                    [] => None,
                    adjust => Some(model(adjust)?),
                },
            });
        }
        results.push(result);
    }

    let time_varying = match &cfg.time_varying {
        Some(tv) => {
            let mut out = Vec::new();
            for ep in &selected {
                let (time, event) = survival::endpoint_columns(frame, ep).map_err(pe)?;
                let origin = cohortflow_core::table::date_days(frame, &ep.origin).map_err(pe)?;
                let exposure =
                    cohortflow_core::table::date_days(frame, tv.exposure.get_ref()).map_err(pe)?;
                let per_unit = unit_days(&ep.unit).ok_or("bad endpoint unit")?;
                let rows: Vec<(f64, bool, Option<f64>)> = (0..frame.height())
                    .filter(|&i| arm_index[i].is_some())
                    .filter_map(|i| {
                        let exp = match (exposure.get(i), origin.get(i)) {
                            (Some(x), Some(o)) => Some(f64::from(x - o) / per_unit),
                            _ => None,
                        };
                        Some((time.get(i)?, event.get(i)?, exp))
                    })
                    .collect();
                let ties = cfg.cox.as_ref().map_or(TiesName::Efron, |c| c.ties);
                let model = cox::time_varying(&rows, tv.exposure.get_ref(), ties, cfg.conf_level)
                    .map_err(|e| format!("{}: time-varying Cox model: {e}", ep.name))?;
                out.push(TimeVaryingEndpoint {
                    name: ep.name.clone(),
                    model,
                });
            }
            Some(TimeVaryingResult {
                exposure: tv.exposure.get_ref().clone(),
                endpoints: out,
            })
        }
        None => None,
    };

    let landmark = match &cfg.landmark {
        Some(l) => Some(landmark(
            l,
            &selected,
            frame,
            strata.as_deref(),
            &opts,
            &mut curves,
        )?),
        None => None,
    };

    Ok(Analysis {
        results: Results {
            arms: arm_counts,
            baseline,
            endpoints: results,
            landmark,
            time_varying,
            warnings: Vec::new(),
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
                landmark: "patients with an endpoint time after the landmark; exposed when the exposure date is on or before origin + landmark; time counted from the landmark".into(),
                cox: "Cox proportional hazards as R survival::coxph (Efron ties unless declared), Wald CI for the hazard ratio; PH test as cox.zph (KM transform); hazard ratios of each arm against the reference arm".into(),
                strata: cfg.strata.as_ref().map(|s| format!("log-rank test and Cox models stratified by {}", s.get_ref())),
                time_varying: "exposure as a time-varying covariate: (0, exposure] unexposed, (exposure, end] exposed, as survSplit + coxph(Surv(start, stop, event) ~ exposure)".into(),
                month_days: 30.4375,
            },
        },
        curves,
    })
}

/// `km.csv`: every step of every curve.
pub fn km_csv(curves: &[Curve]) -> String {
    survival::km_csv(curves)
}

/// The landmark analysis of every selected endpoint.
fn landmark(
    cfg: &LandmarkConfig,
    endpoints: &[&EndpointColumns],
    frame: &DataFrame,
    strata: Option<&[usize]>,
    opts: &survival::CompareOptions,
    curves: &mut Vec<Curve>,
) -> Result<LandmarkResult, String> {
    let pe = |e: PolarsError| e.to_string();
    let landmark_days = cfg.time * unit_days(&cfg.unit).ok_or("bad landmark unit")?;
    let groups = vec![
        ArmInfo {
            name: "exposed".into(),
            label: cfg.exposed_label.clone(),
        },
        ArmInfo {
            name: "unexposed".into(),
            label: cfg.unexposed_label.clone(),
        },
    ];
    let exposure = cohortflow_core::table::date_days(frame, cfg.exposure.get_ref()).map_err(pe)?;
    let mut out = Vec::new();
    for ep in endpoints {
        let (time, event) = survival::endpoint_columns(frame, ep).map_err(pe)?;
        let origin = cohortflow_core::table::date_days(frame, &ep.origin).map_err(pe)?;
        let per_unit = unit_days(&ep.unit).ok_or("bad endpoint unit")?;
        let l = landmark_days / per_unit;
        let mut rows = Vec::new();
        let mut row_strata = Vec::new();
        let mut excluded = 0;
        for i in 0..frame.height() {
            let (Some(t), Some(e), Some(o)) = (time.get(i), event.get(i), origin.get(i)) else {
                continue;
            };
            if t <= l {
                excluded += 1;
                continue;
            }
            let exposed = exposure
                .get(i)
                .is_some_and(|x| f64::from(x - o) <= landmark_days);
            rows.push((t - l, e, if exposed { 0 } else { 1 }));
            row_strata.push(strata.map_or(0, |s| s[i]));
        }
        let result = survival::compare(
            ep,
            &groups,
            &rows,
            strata.map(|_| row_strata.as_slice()),
            opts,
            "landmark",
            curves,
        )
        .map_err(|e| format!("landmark at {} {}: {e}", cfg.time, cfg.unit))?;
        out.push(LandmarkEndpoint {
            excluded_before_landmark: excluded,
            result,
        });
    }
    Ok(LandmarkResult {
        time: cfg.time,
        unit: cfg.unit.clone(),
        exposure: cfg.exposure.get_ref().clone(),
        groups,
        endpoints: out,
    })
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

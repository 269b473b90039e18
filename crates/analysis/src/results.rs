//! What the analysis computed: the types serialised as `results.json`
//! (documented field by field in `docs/results.md`) and read by the report.

use crate::config::{ConfTypeName, ContinuousTest, Population};
use crate::{ArmInfo, CoxModel};
use cohortflow_core::lineage::DesignWarning;
use cohortflow_core::matching::MatchingSummary;
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::QuantileEstimate;
use serde::Serialize;

pub use crate::baseline::{BaselineRow, BaselineSummary, CategoricalCell, ContinuousCell};

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
    /// The target trial emulated by clone–censor–weight, when declared.
    pub emulation: Option<EmulationResult>,
    /// Warnings of the analysis (an empty arm, a test the data cannot
    /// give), in plain words.
    pub warnings: Vec<String>,
    /// The criteria and arms whose condition uses something known after an
    /// endpoint's origin, with what each guarantees (found by the lineage of
    /// the columns; set by the pipeline from the cohort stage). Acknowledged
    /// ones carry their reason and are still listed.
    pub design_warnings: Vec<DesignWarning>,
    /// The matching, when the pipeline declares one (the cohort stage's
    /// summary, set by the pipeline).
    pub matching: Option<MatchingSummary>,
    pub conventions: Conventions,
    /// The labels, units, level order and Table 1 summaries of the
    /// variables, as declared in the schema and `[report.variables]` (set
    /// by the pipeline); every output names a variable by them.
    pub labels: cohortflow_core::schema::Labels,
}

#[derive(Debug, Clone, Serialize)]
pub struct LandmarkResult {
    /// The patients the landmark analysis starts from.
    pub population: Population,
    /// How many patients that population has (before the landmark).
    pub population_n: u64,
    pub time: f64,
    pub unit: TimeUnit,
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

#[derive(Debug, Clone, Serialize)]
pub struct EndpointResult {
    pub name: String,
    pub label: String,
    pub unit: TimeUnit,
    /// One entry per group with patients, in the declared order (a group
    /// with no patient has none: see `Results.arms` for its n = 0).
    pub by_arm: Vec<ArmSurvival>,
    /// The test between the groups; `null` when fewer than two groups have
    /// patients (nothing to compare).
    pub log_rank: Option<LogRankResult>,
    /// Why there is no log-rank test although two or more groups have
    /// patients (the data cannot give it); `null` otherwise.
    pub log_rank_note: Option<String>,
    /// Each pair of groups compared on its own (`analysis.pairwise`), with
    /// p-values adjusted for the number of pairs.
    pub pairwise: Vec<PairwiseTest>,
    /// Cox models of the arms, when `[analysis.cox]` is declared and two or
    /// more arms have patients.
    pub cox: Option<CoxModels>,
    /// Competing-risks results (an endpoint with `causes`); not written
    /// for an endpoint with one kind of event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub competing: Option<crate::CompetingResult>,
}

/// The log-rank test of one pair of groups, on that pair's patients only
/// (as `survdiff` on the subset; survminer's `pairwise_survdiff`).
#[derive(Debug, Clone, Serialize)]
pub struct PairwiseTest {
    pub a: String,
    pub b: String,
    pub chisq: f64,
    pub df: usize,
    pub p_value: f64,
    /// `p_value` adjusted over all pairs of the endpoint, as R's
    /// `p.adjust(p, method)`.
    pub p_adjusted: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoxModels {
    pub unadjusted: CoxModel,
    pub adjusted: Option<CoxModel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeVaryingResult {
    pub exposure: String,
    /// The patients the models are fitted on.
    pub population: Population,
    /// How many patients that population has (each model's `n` counts
    /// its intervals).
    pub population_n: u64,
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
    /// The curve at the declared times (`analysis.at`, in the endpoint's
    /// unit), as R's `summary(fit, times = at, extend = TRUE)`.
    pub survival_at: Vec<SurvivalAtTime>,
    /// Median follow-up by the reverse Kaplan–Meier method (censoring as
    /// the event: `survfit(Surv(time, 1 - event) ~ arm)`), with its CI;
    /// `null` estimate = not reached.
    pub median_follow_up: Quantile,
}

/// The survival curve read at one time.
#[derive(Debug, Clone, Serialize)]
pub struct SurvivalAtTime {
    pub time: f64,
    pub surv: f64,
    pub std_err: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Patients at risk at `time` (time >= `time`).
    pub n_risk: f64,
    /// The time is after the group's last observed time: the estimate is
    /// the last value of the curve, carried forward (R's `extend = TRUE`).
    pub beyond_last_time: bool,
}

impl From<cohortflow_stats::SurvivalAt> for SurvivalAtTime {
    fn from(s: cohortflow_stats::SurvivalAt) -> Self {
        SurvivalAtTime {
            time: s.time,
            surv: s.surv,
            std_err: s.std_err,
            lower: s.lower,
            upper: s.upper,
            n_risk: s.n_risk,
            beyond_last_time: s.beyond_last_time,
        }
    }
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
    /// The adjustment of pairwise log-rank p-values (R's `p.adjust`
    /// method), when pairwise comparisons were asked for.
    pub pairwise_adjust: Option<String>,
    /// The test of continuous variables in the baseline table.
    pub continuous_test: ContinuousTest,
    pub landmark: String,
    pub cox: String,
    pub strata: Option<String>,
    pub time_varying: String,
    pub month_days: f64,
}

/// `[analysis.emulation]`: the emulated target trial (conventions in the
/// `emulation` module and docs/pipeline.md).
#[derive(Debug, Clone, Serialize)]
pub struct EmulationResult {
    /// Eligible patients (before leaving out a missing covariate).
    pub population_n: u64,
    /// Patients left out for a missing covariate of the weight model.
    pub excluded_missing: u64,
    pub exposure: String,
    /// Grace period, in each endpoint's unit.
    pub grace: f64,
    /// `exposed` (within grace), `unexposed`, with their labels.
    pub strategies: Vec<ArmInfo>,
    pub weight_model: String,
    pub covariates: Vec<String>,
    pub interval: f64,
    pub stabilise: bool,
    pub truncate: Option<[f64; 2]>,
    pub bootstrap: u64,
    pub seed: u64,
    pub endpoints: Vec<EmulationEndpoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmulationEndpoint {
    pub name: String,
    pub label: String,
    pub unit: TimeUnit,
    /// Patients with this endpoint (each cloned into both strategies).
    pub patients: u64,
    pub by_strategy: Vec<EmulationStrategy>,
    /// The weights' truncation bounds, when declared.
    pub truncated_at: Option<[f64; 2]>,
    /// Rows whose weight the truncation changed.
    pub truncated_rows: u64,
    /// `(1 - S_exposed) - (1 - S_unexposed)` at each time, bootstrap CI.
    pub risk_difference: Vec<RiskDifferenceAt>,
    pub rmst: Option<EmulationRmst>,
    pub cox: EmulationCox,
    /// Bootstrap replicates that could not be fitted (left out of the CI).
    pub bootstrap_failed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmulationStrategy {
    pub strategy: String,
    /// Clones in this strategy (a clone with no follow-up is not one).
    pub clones: u64,
    pub artificially_censored: u64,
    /// Weighted events.
    pub events: f64,
    /// Rows of the strategy's weight model (0 = no artificial censoring:
    /// every weight is 1).
    pub weight_model_rows: u64,
    pub weight_min: f64,
    pub weight_max: f64,
    pub weight_mean: f64,
    /// The weighted curve at the times of `risk_difference` (robust CI).
    pub survival_at: Vec<SurvivalAtTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskDifferenceAt {
    pub time: f64,
    pub risk_exposed: f64,
    pub risk_unexposed: f64,
    pub estimate: f64,
    /// Percentile bootstrap limits; `null` without replicates.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmulationRmst {
    pub tau: f64,
    pub exposed: f64,
    pub unexposed: f64,
    /// Exposed minus unexposed.
    pub difference: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The weighted Cox model of the exposed strategy against the unexposed,
/// robust variance clustered on the patient.
#[derive(Debug, Clone, Serialize)]
pub struct EmulationCox {
    pub formula: String,
    pub rows: usize,
    pub events: usize,
    pub clusters: usize,
    pub coef: f64,
    pub robust_se: f64,
    pub hazard_ratio: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_value: f64,
}

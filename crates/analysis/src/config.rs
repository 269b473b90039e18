//! The `[analysis]` section of a pipeline file: what to estimate, compare
//! and model, and with which conventions.

use cohortflow_core::Spanned;
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::{ConfType, NamedTest, PAdjust};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::cox::{CoxConfig, TiesName, TimeVaryingConfig};

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
    /// The test of a baseline variable by name (`[analysis.tests]`,
    /// `sex = "fisher"`); the others follow the rule.
    #[serde(default)]
    pub tests: BTreeMap<String, BaselineTest>,
    /// Stratify the log-rank test and the Cox models by this column (e.g.
    /// `source`, the centre): as `survdiff(... + strata(x))` and
    /// `coxph(... + strata(x))`.
    pub strata: Option<Spanned<String>>,
    /// Survival quantiles reported per arm besides the median (probability of
    /// the event, as `quantile(fit, probs)`: 0.25 = the time by which 25% had
    /// the event).
    #[serde(default)]
    pub quantiles: Vec<f64>,
    /// Times (in each endpoint's unit) at which the survival curves are
    /// read, with CIs and numbers at risk. When absent: 12, 36 and 60
    /// months, expressed in the endpoint's unit.
    pub at: Option<Vec<f64>>,
    /// Compare every pair of arms too (log-rank on each pair's patients),
    /// with p-values adjusted by this method; absent = no pairwise tests.
    pub pairwise: Option<PairwiseAdjust>,
    /// A landmark analysis against immortal-time bias.
    pub landmark: Option<LandmarkConfig>,
    /// Cox models of the arms' hazard ratio.
    pub cox: Option<CoxConfig>,
    /// Cox model with the exposure as a time-varying covariate.
    pub time_varying: Option<TimeVaryingConfig>,
    /// The arm hazard ratios are relative to (default: the last arm).
    pub reference_arm: Option<Spanned<String>>,
    /// A target trial emulated by clone–censor–weight on the eligible
    /// patients.
    pub emulation: Option<EmulationConfig>,
}

impl AnalysisConfig {
    /// Whether an analysis reads the eligible patients (every patient past
    /// the criteria, before the arms): the time-varying model, the landmark
    /// and the emulation. Without them the cohort stage keeps no copy.
    pub fn uses_eligible(&self) -> bool {
        self.time_varying.is_some() || self.landmark.is_some() || self.emulation.is_some()
    }
}

/// `[analysis.emulation]`: a target trial emulated by clone–censor–weight
/// (see the `emulation` module for every convention).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulationConfig {
    /// Date column of the exposure (e.g. `surgery_date`).
    pub exposure: Spanned<String>,
    /// The grace period after each endpoint's origin, in the endpoint's
    /// unit: exposed within it, or not.
    pub grace: f64,
    /// Labels of the two strategies: exposed within the grace period, not
    /// exposed within it.
    #[serde(default = "default_strategies")]
    pub strategies: [String; 2],
    pub weights: EmulationWeights,
    /// Times of the risk differences (default: `analysis.at`, else 12, 36
    /// and 60 months).
    pub at: Option<Vec<f64>>,
    /// Horizon of the RMST difference (default: `analysis.rmst_tau`; none
    /// when both are absent).
    pub rmst_tau: Option<f64>,
    /// Bootstrap replicates of the differences' intervals (0 = none).
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Seed of the bootstrap's `SplitMix64`.
    #[serde(default)]
    pub seed: u64,
}

/// `[analysis.emulation.weights]`: the model of artificial censoring.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulationWeights {
    /// Only `"logistic"`: pooled logistic regression over intervals, time
    /// as a factor.
    #[serde(default)]
    pub model: WeightModel,
    /// Baseline covariates of the model (columns).
    #[serde(default = "no_columns")]
    pub covariates: Spanned<Vec<String>>,
    /// Length of the intervals, in the endpoints' unit.
    #[serde(alias = "intervals")]
    pub interval: f64,
    /// Stabilise by the per-interval share censored.
    #[serde(default = "yes")]
    pub stabilise: bool,
    /// Clamp the weights to these quantiles of all rows, e.g. `[0.01, 0.99]`.
    pub truncate: Option<[f64; 2]>,
}

/// The model of the censoring weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightModel {
    #[default]
    Logistic,
}

fn default_strategies() -> [String; 2] {
    [
        "exposed within grace".into(),
        "not exposed within grace".into(),
    ]
}

fn default_bootstrap() -> usize {
    200
}

fn yes() -> bool {
    true
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

impl ContinuousTest {
    /// The test's name in a sentence ("compared by ...").
    pub const fn description(self) -> &'static str {
        match self {
            ContinuousTest::Wilcoxon => "the Wilcoxon rank-sum test",
            ContinuousTest::Welch => "Welch's two-sample t-test",
        }
    }
}

/// A test named for one baseline variable, as R's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineTest {
    /// `fisher.test`.
    Fisher,
    /// `chisq.test(correct = FALSE)` (gtsummary's default).
    Chisq,
    /// `chisq.test()`, Yates' correction for 2 x 2 tables.
    ChisqYates,
    /// `wilcox.test` (two arms).
    Wilcoxon,
    /// `kruskal.test` (two or more arms).
    Kruskal,
    /// `t.test`, Welch (two arms).
    T,
    /// `summary(aov())`, one-way ANOVA (two or more arms).
    Anova,
}

impl BaselineTest {
    pub(crate) fn to_stats(self) -> NamedTest {
        match self {
            BaselineTest::Fisher => NamedTest::Fisher,
            BaselineTest::Chisq => NamedTest::ChiSquare,
            BaselineTest::ChisqYates => NamedTest::ChiSquareYates,
            BaselineTest::Wilcoxon => NamedTest::Wilcoxon,
            BaselineTest::Kruskal => NamedTest::KruskalWallis,
            BaselineTest::T => NamedTest::T,
            BaselineTest::Anova => NamedTest::Anova,
        }
    }

    /// Whether the test compares a continuous variable.
    pub fn is_continuous(self) -> bool {
        self.to_stats().is_continuous()
    }
}

/// The adjustment of pairwise p-values, named as R's `p.adjust` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PairwiseAdjust {
    #[serde(rename = "holm")]
    Holm,
    #[serde(rename = "hochberg")]
    Hochberg,
    #[serde(rename = "bonferroni")]
    Bonferroni,
    #[serde(rename = "BH")]
    BenjaminiHochberg,
    #[serde(rename = "BY")]
    BenjaminiYekutieli,
    #[serde(rename = "none")]
    None,
}

impl PairwiseAdjust {
    pub(crate) fn to_stats(self) -> PAdjust {
        match self {
            PairwiseAdjust::Holm => PAdjust::Holm,
            PairwiseAdjust::Hochberg => PAdjust::Hochberg,
            PairwiseAdjust::Bonferroni => PAdjust::Bonferroni,
            PairwiseAdjust::BenjaminiHochberg => PAdjust::BenjaminiHochberg,
            PairwiseAdjust::BenjaminiYekutieli => PAdjust::BenjaminiYekutieli,
            PairwiseAdjust::None => PAdjust::None,
        }
    }
}

/// Survival is read at these months when `at` is not declared.
pub const DEFAULT_AT_MONTHS: [f64; 3] = [12.0, 36.0, 60.0];

/// `[analysis.landmark]`: only patients alive, event-free and under
/// follow-up at the landmark time are analysed, grouped by whether the
/// exposure (a date) happened by then, with time counted from the landmark.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkConfig {
    /// Landmark time after each endpoint's origin, in `unit`.
    pub time: f64,
    #[serde(default)]
    pub unit: TimeUnit,
    /// Date column of the exposure (e.g. `surgery_date`).
    pub exposure: Spanned<String>,
    #[serde(default = "default_exposed")]
    pub exposed_label: String,
    #[serde(default = "default_unexposed")]
    pub unexposed_label: String,
    /// Whom the landmark analysis is made on (default: the eligible
    /// patients, grouped by the exposure date alone).
    #[serde(default)]
    pub population: Population,
}

/// The patients an analysis of the exposure date (landmark, time-varying
/// Cox) is made on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Population {
    /// Every patient who passes the cohort criteria, before the arms are
    /// formed: the exposure date alone says who is exposed, so an arm
    /// condition that looks at the future (e.g. a response longer than the
    /// landmark) does not decide who enters.
    #[default]
    Eligible,
    /// The patients of the declared arms (the analysed, or matched, cohort).
    Arms,
}

impl Population {
    /// The population in words, for results and the report.
    pub const fn describe(self) -> &'static str {
        match self {
            Population::Eligible => {
                "the eligible patients (every patient passing the cohort criteria, before the arms)"
            }
            Population::Arms => "the patients of the declared arms",
        }
    }
}

fn default_exposed() -> String {
    "exposed by the landmark".into()
}

fn default_unexposed() -> String {
    "not exposed by the landmark".into()
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
    pub(crate) fn to_stats(self) -> ConfType {
        match self {
            ConfTypeName::Log => ConfType::Log,
            ConfTypeName::LogLog => ConfType::LogLog,
            ConfTypeName::Plain => ConfType::Plain,
        }
    }
}

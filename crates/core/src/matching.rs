//! What a matching produced, as `results.json` and the report see it: the
//! counts per arm, the propensity model and the balance of every term
//! before and after. The cohort stage fills it in; the analysis stage's
//! `Results` carries it; the report reads it. Plain data, no behaviour.

use crate::design::MissingRule;
use serde::{Deserialize, Serialize};

/// The order in which treated units are matched, as MatchIt's `m.order`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderName {
    #[default]
    Largest,
    Smallest,
    Random,
    Data,
}

impl OrderName {
    /// The order's name as written in pipeline files and `results.json`.
    pub const fn name(self) -> &'static str {
        match self {
            OrderName::Largest => "largest",
            OrderName::Smallest => "smallest",
            OrderName::Random => "random",
            OrderName::Data => "data",
        }
    }
}

/// The matching part of `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MatchingSummary {
    pub method: String,
    pub treated: String,
    pub control: String,
    pub ratio: usize,
    pub caliper_sd: Option<f64>,
    pub m_order: OrderName,
    pub missing: MissingRule,
    pub exact: Vec<String>,
    /// Terms of the propensity model and their coefficients (intercept first).
    pub model_terms: Vec<String>,
    pub model_coef: Vec<f64>,
    /// Rows per arm: before matching, matched, unmatched.
    pub counts: Vec<ArmMatchCount>,
    /// SMD, variance ratio and eCDF statistics of every term and level,
    /// before and after matching.
    pub balance: Vec<BalanceLine>,
    /// The thresholds `balance` is flagged against after matching.
    pub thresholds: BalanceThresholds,
    /// With `exact`: how many exact strata there were and in how many no
    /// treated patient found a control (counted, not an error).
    pub exact_strata: Option<ExactStrata>,
    /// The treated patients left without a control: how many, and how they
    /// differ from the matched treated (the estimand changes from all the
    /// treated to the matched ones). `None` when every treated was matched.
    pub unmatched_treated: Option<UnmatchedTreated>,
}

/// Balance after matching is flagged when `|SMD| > smd` or the variance
/// ratio is outside `variance_ratio` (defaults 0.1 and 0.5–2, as Austin
/// 2009 and Stuart 2010 recommend; `cobalt`'s `thresholds`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceThresholds {
    #[serde(default = "default_smd")]
    pub smd: f64,
    #[serde(default = "default_variance_ratio")]
    pub variance_ratio: [f64; 2],
}

fn default_smd() -> f64 {
    0.1
}

fn default_variance_ratio() -> [f64; 2] {
    [0.5, 2.0]
}

impl Default for BalanceThresholds {
    fn default() -> Self {
        BalanceThresholds {
            smd: default_smd(),
            variance_ratio: default_variance_ratio(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExactStrata {
    /// Combinations of the exact variables present.
    pub strata: usize,
    /// Strata with a treated patient in which none found a control.
    pub without_match: usize,
    /// Treated patients in those strata.
    pub treated_in_them: u64,
}

/// The treated patients matching left out, against the matched treated.
#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedTreated {
    pub unmatched: u64,
    pub treated: u64,
    /// Mean of each term (the propensity score `distance` first) among the
    /// matched and the unmatched treated.
    pub profile: Vec<ProfileRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    pub term: String,
    pub mean_matched: f64,
    pub mean_unmatched: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmMatchCount {
    pub arm: String,
    pub before: u64,
    pub matched: u64,
    pub unmatched: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BalanceLine {
    /// The covariate, and for a category the level (`sex = F`).
    pub term: String,
    pub before: BalanceStats,
    pub after: BalanceStats,
    /// What is out of [`BalanceThresholds`] after matching, in words
    /// (`|SMD| 0.57 > 0.1`); empty when balanced.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BalanceStats {
    pub mean_treated: f64,
    pub mean_control: f64,
    pub std_mean_diff: Option<f64>,
    pub var_ratio: Option<f64>,
    pub ecdf_mean: Option<f64>,
    pub ecdf_max: Option<f64>,
}

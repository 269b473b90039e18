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

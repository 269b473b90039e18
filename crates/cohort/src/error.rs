//! Why the cohort or matching stage stopped. Each error names the criterion,
//! arm, model or term concerned, and rows only by source and line.

use cohortflow_stats::StatsError;
use polars::prelude::PolarsError;

#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// The table lacks a column or has it with another type (a bug upstream:
    /// the configuration is checked before any data is read).
    #[error("reading the table: {0}")]
    Table(#[from] PolarsError),
    /// A criterion's or an arm's SQL condition could not be evaluated.
    #[error("{what}: {message}")]
    Condition { what: String, message: String },
    /// Rows that satisfy more than one arm condition (each as "source row
    /// N is in A & B").
    #[error(
        "{} row(s) satisfy more than one arm condition ({}{}); make the arms' `where` conditions exclusive",
        rows.len(),
        rows.iter().take(3).cloned().collect::<Vec<_>>().join("; "),
        if rows.len() > 3 { "; ..." } else { "" }
    )]
    OverlappingArms { rows: Vec<String> },
    #[error("propensity score model ({formula}): {source}")]
    PropensityModel {
        formula: String,
        #[source]
        source: StatsError,
    },
    #[error("nearest-neighbour matching: {0}")]
    Matching(#[source] StatsError),
    #[error("balance of {term}: {source}")]
    Balance {
        term: String,
        #[source]
        source: StatsError,
    },
}

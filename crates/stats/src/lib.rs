//! # cohortflow-stats
//!
//! The statistics of cohortflow, checked value for value against R.
//!
//! This crate turns plain slices into plain structs: Kaplan–Meier curves with
//! Greenwood confidence intervals and quantiles ([`kaplan_meier`], as R's
//! `survival::survfit`, `summary.survfit`, `quantile.survfit` and
//! `print.survfit`) and the G-rho family of log-rank tests ([`log_rank`], as
//! `survival::survdiff`). It knows nothing of polars, TOML, files or the
//! pipeline; the `analysis` crate feeds it columns and formats its results.
//!
//! ## What it may depend on
//!
//! * [`statrs`], for probability distributions only (the normal quantile of a
//!   confidence level, the chi-square upper tail of a test statistic).
//! * [`thiserror`], for [`StatsError`].
//!
//! Nothing else: no I/O, no global state, no allocation beyond the outputs.
//!
//! ## Why Kaplan–Meier and log-rank are written by hand
//!
//! The estimators are a few dozen lines each, while the crates.io `survival`
//! crate is large, has an unstable API, builds C code, and does not apply R's
//! `timefix` (merging of times that differ only by floating-point noise, see
//! [`aeq_times`]), so it cannot reproduce `survfit`/`survdiff` on tied-looking
//! data. Writing them here lets every convention be the one R uses, and the
//! conformance tests (`conformance/*.json`, produced by `conformance/*.R`)
//! prove it to 1e-9 relative on real data sets and edge cases.
//!
//! ## Conventions (all as R's survival 3.5)
//!
//! * Ties: events and censorings at the same time are grouped; a censoring at
//!   the time of an event is counted at risk for that event.
//! * Greenwood variance; confidence intervals on the log scale by default
//!   ([`ConfType`]).
//! * Times are merged with `aeqSurv` (`timefix = TRUE`) before anything else.
//! * Errors instead of panics or NaN: every invalid input gives a typed
//!   [`StatsError`] that names the problem.
//!
//! ## References
//!
//! * Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete
//!   observations. JASA 53:457–481.
//! * Greenwood M (1926). The natural duration of cancer. Reports on Public
//!   Health and Medical Subjects 33.
//! * Klein JP, Moeschberger ML (2003). Survival Analysis, 2nd ed., §4.3
//!   (confidence intervals), §7.3 (log-rank).
//! * Harrington DP, Fleming TR (1982). A class of rank test procedures for
//!   censored survival data. Biometrika 69:553–566 (the rho family).
//! * Brookmeyer R, Crowley J (1982). A confidence interval for the median
//!   survival time. Biometrics 38:29–41.
//! * Therneau T (2023). survival: A Package for Survival Analysis in R,
//!   version 3.5 (the reference implementation matched here).

mod chisq;
mod describe;
mod error;
mod fisher;
mod km;
mod linalg;
mod logrank;
mod smd;
mod timefix;
mod ttest;
mod wilcoxon;

pub use chisq::{ChiSquareTest, chi_square_test};
pub use error::StatsError;
pub use fisher::{
    FISHER_2X2_REL_TOL, FISHER_BOUND_LIMIT, FISHER_MAX_TABLES, FISHER_RXC_LOG_TOL, FisherExact,
    fisher_exact,
};
pub use km::{
    ConfType, KaplanMeier, KmOptions, KmStep, QuantileEstimate, SurvivalAt, kaplan_meier,
};
pub use logrank::{LogRank, log_rank};
pub use smd::{smd_categorical, smd_continuous};
pub use timefix::{AEQ_TOLERANCE, aeq_times};
pub use ttest::{WelchTTest, welch_t_test};
pub use wilcoxon::{WilcoxonRankSum, wilcoxon_rank_sum};

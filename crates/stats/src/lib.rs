//! # cohortflow-stats
//!
//! The statistics of cohortflow, checked value for value against R.
//!
//! This crate turns plain slices into plain structs. It knows nothing of
//! polars, TOML, files or the pipeline; the `analysis` crate feeds it columns
//! and formats its results.
//!
//! | function | R equivalent |
//! |---|---|
//! | [`kaplan_meier`] (+ [`KaplanMeier::quantile`], [`KaplanMeier::median`], [`KaplanMeier::survival_at`]) | `survival::survfit`, `quantile.survfit`, `print.survfit`, `summary.survfit(times=)` |
//! | [`kaplan_meier_by_group`] | `survfit(Surv(time, event) ~ group)` (timefix on the pooled times) |
//! | [`cumulative_incidence`], [`cumulative_incidence_by_group`] (+ [`CumulativeIncidence::at`]) | `survfit(Surv(time, factor(cause)) ~ group)` multi-state (Aalen–Johansen, infinitesimal-jackknife SE), `summary(fit, times=)` |
//! | [`gray_test`] | `cmprsk::cuminc(time, cause, group)$Tests` (Gray's test) |
//! | [`log_rank`] | `survival::survdiff` (rho family, strata) |
//! | [`SurvTimes`] + [`kaplan_meier_by_group_prepared`], [`log_rank_prepared`] | the same fits sharing one validation, timefix and ranking of the times |
//! | [`cox_ph`], [`cox_zph`] | `survival::coxph` + `summary.coxph` (Efron/Breslow, strata, `(start, stop]`), `cox.zph` |
//! | [`cox_ph_weighted`] (+ [`CoxVariance`], [`RobustVariance`]) | `coxph(..., weights = w)`, `cluster = id`, `robust = TRUE` + `summary.coxph` (`robust se`, robust Wald test, `robscore`) |
//! | [`kaplan_meier_weighted`] (+ [`KmVariance`]) | `survfit(Surv(time, event) ~ 1, weights = w, robust = , id = )` (weighted Greenwood or infinitesimal jackknife) |
//! | [`kaplan_meier_weighted_counting`] | `survfit(Surv(start, stop, event) ~ 1, weights = w, id = id, robust = TRUE)` (time-varying weights, infinitesimal jackknife clustered on `id`) |
//! | [`fine_gray_expand`] (+ [`FineGrayData`]), [`fine_gray`] | `survival::finegray`; with `coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt)` on its rows: the Fine–Gray model |
//! | [`aeq_times`] | `survival::aeqSurv` (`timefix = TRUE`) |
//! | [`fisher_exact`] | `stats::fisher.test` (two-sided p, 2 x 2 and r x c) |
//! | [`chi_square_test`] | `stats::chisq.test` (Yates for 2 x 2) |
//! | [`wilcoxon_rank_sum`] | `stats::wilcox.test(x, y)` |
//! | [`welch_t_test`] | `stats::t.test(x, y)` (Welch) |
//! | [`smd_continuous`], [`smd_categorical`] | tableone's standardized mean differences |
//! | [`logistic_regression`] | `stats::glm(family = binomial)` (+ `summary.glm`) |
//! | [`nearest_neighbor_match`] | `MatchIt::matchit(method = "nearest")` (4.5.1) |
//! | [`nearest_neighbor_match_exact`] | `MatchIt::matchit(method = "nearest", exact = ~ x)` |
//! | [`balance`] | one row of `summary(matchit(...))$sum.all` / `$sum.matched` |
//! | [`rmst`] | `print(survfit(...), rmean = tau)` (`*rmean`, `*se(rmean)`) |
//! | [`kruskal_wallis`], [`one_way_anova`] | `stats::kruskal.test(x, g)`, `summary(aov(x ~ g))` |
//! | [`p_adjust`] | `stats::p.adjust(p, method)` (holm, hochberg, bonferroni, BH, BY, none) |
//! | [`summarize_continuous`] (+ [`quantile_type7`], [`sample_sd`], [`percents`]) | Table 1's `mean`, `sd`, `quantile(x, c(.25, .5, .75))`, `min`, `max` per arm |
//! | [`compare_continuous`], [`compare_categorical`] (+ [`min_expected_count`]) | Table 1's tests: `wilcox.test` or `t.test`; `fisher.test` when an expected count is under 5, else `chisq.test` |
//!
//! Modules (private; the items above are re-exported at the root): `km`,
//! `km_weighted`, `finegray`, `logrank`, `competing` (Aalen–Johansen, Gray's test), `survtimes` (shared validation and ranking of survival times),
//! `timefix` (`aeqSurv`), `cox` (with `cox::prepare`, `cox::pass`,
//! `cox::newton`, `cox::residuals` (score residuals for the robust variance)
//! and `cox::zph`), `logistic`, `matching`, `rmst`, `fisher`,
//! `chisq`, `wilcoxon`, `ttest`, `kgroups`, `smd`, `table1`, `padjust`, `describe` (means,
//! variances, SD), `linalg` (the one Cholesky, survival's `cholesky2`), and
//! the public [`rng`] (the project's one seeded generator, [`rng::SplitMix64`],
//! used by the random matching order, the tests and the benchmark).
//!
//! The propensity-score functions are checked against MatchIt 4.5.1 (see
//! [`MatchItCompat`] for a bug of that version that is reproduced only on
//! request).
//!
//! Every function is checked against R (4.2.2, survival 3.5.3, cmprsk 2.2.11; the SMDs
//! against tableone's formulas run in R, tableone not being packaged in
//! Debian) value by value to 1e-9 relative by the tests in `crates/stats/tests/conformance_*.rs`,
//! which read the reference files written by `conformance/*.R`.
//!
//! ## What it may depend on
//!
//! * [`statrs`], for probability distributions only (normal, Student t and
//!   chi-square CDFs and quantiles).
//! * [`thiserror`], for [`StatsError`].
//!
//! Nothing else: no I/O, no global state, no polars, no TOML.
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
//! ## Survival conventions (all as R's survival 3.5)
//!
//! * Ties: events and censorings at the same time are grouped; a censoring at
//!   the time of an event is counted at risk for that event.
//! * Greenwood variance; confidence intervals on the log scale by default
//!   ([`ConfType`]).
//! * Times are merged with `aeqSurv` (`timefix = TRUE`) before anything else.
//! * Errors instead of panics or NaN: every invalid input gives a typed
//!   [`StatsError`] that names the problem. The only NaN an output can hold
//!   is [`KmStep::std_err`] where `S = 0`, because R reports NaN there
//!   (`0 * Inf`), and the outputs of `survival_at(NaN)`.
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
//! * Aalen OO, Johansen S (1978). An empirical transition matrix for
//!   non-homogeneous Markov chains based on censored observations. Scand J
//!   Statist 5:141–150 (the cumulative incidence).
//! * Gray RJ (1988). A class of K-sample tests for comparing the cumulative
//!   incidence of a competing risk. Ann Statist 16:1141–1154; R package
//!   cmprsk 2.2.11 (the reference implementation of Gray's test).
//! * Therneau T (2023). survival: A Package for Survival Analysis in R,
//!   version 3.5 (the reference implementation matched here).

#![warn(missing_docs)]

mod chisq;
mod competing;
mod cox;
mod describe;
mod error;
mod finegray;
mod fisher;
mod kgroups;
mod km;
mod km_weighted;
mod linalg;
mod logistic;
mod logrank;
mod matching;
mod padjust;
mod rmst;
pub mod rng;
mod smd;
mod survtimes;
mod table1;
mod timefix;
mod ttest;
mod wilcoxon;

pub use chisq::{ChiSquareTest, chi_square_test};
pub use competing::{
    CifAt, CifStep, CumulativeIncidence, GrayTest, cause_specific_event, cumulative_incidence,
    cumulative_incidence_by_group, gray_test,
};
pub use cox::{
    CoxData, CoxFit, CoxOptions, CoxVariance, CoxZph, RobustVariance, Test, Ties, ZphTransform,
    cox_ph, cox_ph_weighted, cox_ph_zph, cox_zph,
};
pub use describe::sample_sd;
pub use error::StatsError;
pub use finegray::{FineGrayData, FineGrayFit, FineGrayVariance, fine_gray, fine_gray_expand};
pub use fisher::{
    FISHER_2X2_REL_TOL, FISHER_BOUND_LIMIT, FISHER_MAX_NODES, FISHER_MAX_TABLES,
    FISHER_RXC_LOG_TOL, FisherExact, fisher_exact,
};
pub use kgroups::{KruskalWallis, OneWayAnova, kruskal_wallis, one_way_anova};
pub use km::{
    ConfType, KaplanMeier, KmOptions, KmStep, QuantileEstimate, SurvivalAt, kaplan_meier,
    kaplan_meier_by_group, kaplan_meier_by_group_prepared,
};
pub use km_weighted::{KmVariance, kaplan_meier_weighted, kaplan_meier_weighted_counting};
pub use logistic::{GlmOptions, LogisticFit, logistic_regression};
pub use logrank::{LogRank, log_rank, log_rank_prepared};
pub use matching::{
    BalanceRow, MOrder, MatchItCompat, MatchOptions, Matching, balance, nearest_neighbor_match,
    nearest_neighbor_match_exact,
};
pub use padjust::{PAdjust, p_adjust};
pub use rmst::{Rmst, rmst};
pub use smd::{smd_categorical, smd_continuous};
pub use survtimes::SurvTimes;
pub use table1::{
    ArmComparison, ContinuousComparison, ContinuousSummary, NamedTest, Table1Test,
    compare_categorical, compare_continuous, compare_continuous_groups, min_expected_count,
    percents, quantile_type7, summarize_continuous,
};
pub use timefix::{AEQ_TOLERANCE, aeq_times};
pub use ttest::{WelchTTest, welch_t_test};
pub use wilcoxon::{WilcoxonRankSum, wilcoxon_rank_sum};

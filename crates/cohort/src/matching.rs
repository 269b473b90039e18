//! Propensity-score matching of two arms, as `MatchIt::matchit(method =
//! "nearest")`, with exact matching on declared variables, and the balance
//! table before and after.
//!
//! The cohort is matched in the order of the declared row key (the
//! pipeline sorts it before this stage), and ties are broken by that key, so
//! the matched set never depends on the order of rows in the exports.
//! The propensity score is a logistic regression (`glm(family = binomial)`)
//! of the treated arm on the covariates: numbers as they are, booleans as
//! 0/1, categories as indicators of every level but the first (R's
//! treatment contrasts). Missing covariate values follow the declared rule:
//! `exclude` removes the row from matching (counted in the ledger), and
//! `indicator` keeps it, with missing as a level of its own for categories
//! and the mean plus a missing-indicator for numbers.

use crate::CohortError;
use cohortflow_core::ledger::{Outcome, StageAccount};
use cohortflow_core::{ConfigProblem, Spanned, table};
use cohortflow_stats::{
    BalanceRow, GlmOptions, MOrder, MatchItCompat, MatchOptions, balance, logistic_regression,
    nearest_neighbor_match, nearest_neighbor_match_exact,
};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

const STAGE: &str = "matching";
/// Column with the matched set (1, 2, ...: one per matched treated unit).
pub const MATCH_ID: &str = "match_id";
/// Column with MatchIt's matching weight.
pub const MATCH_WEIGHT: &str = "match_weight";
/// Column with the propensity score.
pub const DISTANCE: &str = "distance";

/// `[matching]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingConfig {
    /// The arm treated as "treated" (each of its patients gets controls).
    pub treated: Spanned<String>,
    /// The arm the controls come from.
    pub control: Spanned<String>,
    /// Covariates of the propensity-score model.
    pub covariates: Spanned<Vec<String>>,
    /// Variables matched exactly: controls come from the same combination.
    #[serde(default = "no_columns")]
    pub exact: Spanned<Vec<String>>,
    /// Controls per treated patient.
    #[serde(default = "one")]
    pub ratio: usize,
    /// Caliper in standard deviations of the propensity score (all units).
    pub caliper: Option<f64>,
    #[serde(default)]
    pub m_order: OrderName,
    /// Seed of `m_order = "random"`.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub missing: MissingRule,
    /// `"intended"` (default): MatchIt's documented algorithm. `"4.5.1"`:
    /// bit-for-bit MatchIt 4.5.1, whose caliper has no effect on a
    /// propensity score (MatchIt issue #163); for reproducing old analyses.
    #[serde(default)]
    pub matchit: CompatName,
    /// Balance after matching is flagged against these (`[matching.balance]`
    /// `smd = 0.1`, `variance_ratio = [0.5, 2]`).
    #[serde(default)]
    pub balance: BalanceThresholds,
}

fn no_columns() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}

fn one() -> usize {
    1
}

pub use cohortflow_core::design::MissingRule;
use cohortflow_core::design::{design, model_terms};
pub use cohortflow_core::matching::{
    ArmMatchCount, BalanceLine, BalanceStats, BalanceThresholds, ExactStrata, MatchingSummary,
    OrderName, ProfileRow, UnmatchedTreated,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum CompatName {
    #[default]
    #[serde(rename = "intended")]
    Intended,
    #[serde(rename = "4.5.1")]
    V451,
}

/// What matching produced.
pub struct Matched {
    /// The matched rows, with `distance`, `match_id` and `match_weight`.
    pub frame: DataFrame,
    pub accounts: Vec<StageAccount>,
    pub summary: MatchingSummary,
}

fn balance_stats(b: BalanceRow) -> BalanceStats {
    {
        BalanceStats {
            mean_treated: b.mean_treated,
            mean_control: b.mean_control,
            std_mean_diff: b.std_mean_diff,
            var_ratio: b.var_ratio,
            ecdf_mean: b.ecdf_mean,
            ecdf_max: b.ecdf_max,
        }
    }
}

pub fn validate(cfg: &MatchingConfig, frame: &DataFrame, arms: &[String]) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (key, arm) in [
        ("matching.treated", &cfg.treated),
        ("matching.control", &cfg.control),
    ] {
        if !arms.contains(arm.get_ref()) {
            problems.push(ConfigProblem::new(
                key,
                Some(arm.span()),
                format!("unknown arm '{}'", arm.get_ref()),
                format!("one of the arms: {}", arms.join(", ")),
            ));
        }
    }
    if cfg.treated.get_ref() == cfg.control.get_ref() {
        problems.push(ConfigProblem::new(
            "matching.control",
            Some(cfg.control.span()),
            "the treated and control arms are the same",
            "two different arms",
        ));
    }
    for (key, list) in [
        ("matching.covariates", &cfg.covariates),
        ("matching.exact", &cfg.exact),
    ] {
        for c in list.get_ref() {
            match frame.column(c).map(|c| c.dtype().clone()) {
                Err(_) => problems.push(ConfigProblem::new(
                    key,
                    Some(list.span()),
                    cohortflow_core::expr::unknown_column(c, frame),
                    "a column of the schema or a derived column",
                )),
                Ok(DataType::Date) => problems.push(ConfigProblem::new(
                    key,
                    Some(list.span()),
                    format!("'{c}' is a date"),
                    "a number, boolean or category",
                )),
                Ok(_) => {}
            }
        }
    }
    if cfg.covariates.get_ref().is_empty() {
        problems.push(ConfigProblem::new(
            "matching.covariates",
            Some(cfg.covariates.span()),
            "no covariate for the propensity score",
            "one or more columns",
        ));
    }
    if cfg.ratio == 0 {
        problems.push(ConfigProblem::new(
            "matching.ratio",
            None,
            "ratio = 0",
            "1 or more",
        ));
    }
    if let Some(c) = cfg.caliper
        && !(c.is_finite() && c > 0.0)
    {
        problems.push(ConfigProblem::new(
            "matching.caliper",
            None,
            format!("caliper = {c} is not a positive number"),
            "a width in standard deviations of the propensity score, e.g. 0.2",
        ));
    }
    let t = &cfg.balance;
    if !(t.smd.is_finite() && t.smd > 0.0) {
        problems.push(ConfigProblem::new(
            "matching.balance.smd",
            None,
            format!("smd = {} is not a positive number", t.smd),
            "the largest acceptable |SMD| after matching, e.g. 0.1",
        ));
    }
    let [lo, hi] = t.variance_ratio;
    if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < 1.0 && 1.0 < hi) {
        problems.push(ConfigProblem::new(
            "matching.balance.variance_ratio",
            None,
            format!("variance_ratio = [{lo}, {hi}] is not a range around 1"),
            "[low, high] with 0 < low < 1 < high, e.g. [0.5, 2]",
        ));
    }
    problems
}

/// Matches the treated arm to the control arm. `cohort` must be sorted by
/// the row key; `sources` are the source names for the ledger.
pub fn match_arms(
    cfg: &MatchingConfig,
    cohort: &DataFrame,
    arm_column: &str,
    sources: &[String],
) -> Result<Matched, CohortError> {
    let mut accounts = table::open_accounts(STAGE, cohort, sources)?;
    let arms = table::as_text(cohort.column(arm_column)?)?;
    let arms = arms.str()?;
    let (treated_arm, control_arm) = (cfg.treated.get_ref(), cfg.control.get_ref());
    let in_pair: Vec<usize> = (0..cohort.height())
        .filter(|&i| matches!(arms.get(i), Some(a) if a == treated_arm || a == control_arm))
        .collect();
    let mut removed_other = vec![true; cohort.height()];
    for &i in &in_pair {
        removed_other[i] = false;
    }
    let (_, excluded_missing) = design(cohort, cfg.covariates.get_ref(), &in_pair, cfg.missing)?;
    let rows: Vec<usize> = in_pair
        .iter()
        .zip(&excluded_missing)
        .filter(|(_, x)| !**x)
        .map(|(i, _)| *i)
        .collect();
    let (terms, _) = design(cohort, cfg.covariates.get_ref(), &rows, cfg.missing)?;
    let treated: Vec<bool> = rows
        .iter()
        .map(|&i| arms.get(i) == Some(treated_arm.as_str()))
        .collect();

    let model_terms = model_terms(&terms);
    let x: Vec<&[f64]> = model_terms.iter().map(|t| t.values.as_slice()).collect();
    let fit = logistic_regression(&treated, &x, &GlmOptions::default()).map_err(|source| {
        CohortError::PropensityModel {
            formula: format!(
                "{} ~ {}",
                treated_arm,
                model_terms
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
            source,
        }
    })?;
    let distance = fit.fitted.clone();

    // Exact matching: match within each combination of the exact variables.
    let exact_key: Vec<String> = {
        let cols: Vec<Series> = cfg
            .exact
            .get_ref()
            .iter()
            .map(|c| {
                cohort
                    .column(c)
                    .and_then(|c| c.cast(&DataType::String))
                    .map(|c| c.as_materialized_series().clone())
            })
            .collect::<PolarsResult<_>>()?;
        rows.iter()
            .map(|&i| {
                cols.iter()
                    .map(|s| {
                        s.str()
                            .ok()
                            .and_then(|s| s.get(i))
                            .unwrap_or("(missing)")
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("\u{1f}")
            })
            .collect()
    };
    // Each combination of the exact variables is a label; with none, one
    // label for all. The caliper, the order of the treated and the weights
    // are the whole sample's (MatchIt's `exact`).
    let mut strata: Vec<&String> = exact_key.iter().collect();
    strata.sort();
    strata.dedup();
    let labels: Vec<u64> = exact_key
        .iter()
        .map(|k| strata.binary_search(&k).expect("a key of the list") as u64)
        .collect();
    let opts = MatchOptions {
        ratio: cfg.ratio,
        caliper: cfg.caliper,
        m_order: match cfg.m_order {
            OrderName::Largest => MOrder::Largest,
            OrderName::Smallest => MOrder::Smallest,
            OrderName::Random => MOrder::Random { seed: cfg.seed },
            OrderName::Data => MOrder::Data,
        },
        replace: false,
        compat: match cfg.matchit {
            CompatName::Intended => MatchItCompat::Intended,
            CompatName::V451 => MatchItCompat::V4_5_1,
        },
    };
    // Position in the row-key order: the tie breaker.
    let key: Vec<u64> = (0..rows.len() as u64).collect();
    let m = if cfg.exact.get_ref().is_empty() {
        nearest_neighbor_match(&distance, &treated, &key, &opts)
    } else {
        nearest_neighbor_match_exact(&distance, &treated, &key, &labels, &opts)
    }
    .map_err(CohortError::Matching)?;
    let weights = m.weights.clone();
    let mut match_id: Vec<Option<i64>> = vec![None; rows.len()];
    for (id, (tr, controls)) in m.matches.iter().enumerate() {
        for &u in std::iter::once(tr).chain(controls) {
            match_id[u] = Some(id as i64 + 1);
        }
    }
    // Exact strata in which no treated patient found a control.
    let exact_strata = (!cfg.exact.get_ref().is_empty()).then(|| {
        let mut without = 0;
        let mut treated_there = 0;
        for s in 0..strata.len() as u64 {
            let t: Vec<usize> = (0..rows.len())
                .filter(|&k| labels[k] == s && treated[k])
                .collect();
            if !t.is_empty() && t.iter().all(|&k| weights[k] == 0.0) {
                without += 1;
                treated_there += t.len() as u64;
            }
        }
        ExactStrata {
            strata: strata.len(),
            without_match: without,
            treated_in_them: treated_there,
        }
    });

    // Balance of the distance and of every term, before and after.
    let ones = vec![1.0; rows.len()];
    let mut lines = Vec::new();
    let all_terms = std::iter::once(("distance".to_string(), distance.as_slice(), false)).chain(
        terms
            .iter()
            .map(|t| (t.name.clone(), t.values.as_slice(), t.binary)),
    );
    for (name, values, binary) in all_terms {
        let b = |w: &[f64]| {
            balance(values, &treated, w, binary)
                .map(balance_stats)
                .map_err(|source| CohortError::Balance {
                    term: name.clone(),
                    source,
                })
        };
        let after = b(&weights)?;
        lines.push(BalanceLine {
            term: name.clone(),
            before: b(&ones)?,
            flags: balance_flags(&after, &cfg.balance),
            after,
        });
    }
    // The treated left without a control, against the matched treated.
    let unmatched_treated = (!m.unmatched_treated.is_empty()).then(|| {
        let matched: Vec<usize> = (0..rows.len())
            .filter(|&k| treated[k] && weights[k] > 0.0)
            .collect();
        let mean =
            |v: &[f64], ks: &[usize]| ks.iter().map(|&k| v[k]).sum::<f64>() / ks.len() as f64;
        let profile = std::iter::once(("distance".to_string(), distance.as_slice()))
            .chain(terms.iter().map(|t| (t.name.clone(), t.values.as_slice())))
            .map(|(term, v)| ProfileRow {
                term,
                mean_matched: mean(v, &matched),
                mean_unmatched: mean(v, &m.unmatched_treated),
            })
            .collect();
        UnmatchedTreated {
            unmatched: m.unmatched_treated.len() as u64,
            treated: (matched.len() + m.unmatched_treated.len()) as u64,
            profile,
        }
    });

    // The matched frame and the ledger.
    let mut keep = vec![false; cohort.height()];
    let mut dist_col: Vec<Option<f64>> = vec![None; cohort.height()];
    let mut id_col: Vec<Option<i64>> = vec![None; cohort.height()];
    let mut w_col: Vec<Option<f64>> = vec![None; cohort.height()];
    for (k, &i) in rows.iter().enumerate() {
        keep[i] = weights[k] > 0.0;
        dist_col[i] = Some(distance[k]);
        id_col[i] = match_id[k];
        w_col[i] = Some(weights[k]);
    }
    let mut excluded_missing_row = vec![false; cohort.height()];
    for (&i, &x) in in_pair.iter().zip(&excluded_missing) {
        excluded_missing_row[i] = x;
    }
    let count = |mask: &[bool]| -> PolarsResult<Vec<u64>> {
        let m: BooleanChunked = mask.iter().map(|x| Some(*x)).collect();
        table::counts_by_source(&cohort.filter(&m)?, sources)
    };
    let not_kept: Vec<bool> = (0..cohort.height())
        .map(|i| !keep[i] && !removed_other[i] && !excluded_missing_row[i])
        .collect();
    let other = count(&removed_other)?;
    let missing = count(&excluded_missing_row)?;
    let unmatched = count(&not_kept)?;
    for (s, acc) in accounts.iter_mut().enumerate() {
        acc.add(Outcome::Excluded, "not in the matched arms", other[s]);
        acc.add(Outcome::Excluded, "missing matching covariate", missing[s]);
        acc.add(Outcome::Excluded, "unmatched", unmatched[s]);
    }
    let mut frame = cohort.clone();
    frame.with_column(Column::new(DISTANCE.into(), dist_col))?;
    frame.with_column(Column::new(MATCH_ID.into(), id_col))?;
    frame.with_column(Column::new(MATCH_WEIGHT.into(), w_col))?;
    let keep_mask: BooleanChunked = keep.iter().map(|x| Some(*x)).collect();
    let frame = frame.filter(&keep_mask)?;

    let counts = [treated_arm, control_arm]
        .iter()
        .map(|arm| {
            let is_arm = |k: usize| arms.get(rows[k]) == Some(arm.as_str());
            let before = in_pair
                .iter()
                .filter(|&&i| arms.get(i) == Some(arm.as_str()))
                .count() as u64;
            let matched = (0..rows.len())
                .filter(|&k| is_arm(k) && weights[k] > 0.0)
                .count() as u64;
            ArmMatchCount {
                arm: arm.to_string(),
                before,
                matched,
                unmatched: before - matched,
            }
        })
        .collect();
    let mut model_names = vec!["(Intercept)".to_string()];
    model_names.extend(model_terms.iter().map(|t| t.name.clone()));
    Ok(Matched {
        frame,
        accounts,
        summary: MatchingSummary {
            method: "nearest-neighbour matching on a logistic propensity score, without replacement, as MatchIt::matchit(method = \"nearest\")".into(),
            treated: treated_arm.clone(),
            control: control_arm.clone(),
            ratio: cfg.ratio,
            caliper_sd: cfg.caliper,
            m_order: cfg.m_order,
            missing: cfg.missing,
            exact: cfg.exact.get_ref().clone(),
            model_terms: model_names,
            model_coef: fit.coef,
            counts,
            balance: lines,
            thresholds: cfg.balance,
            exact_strata,
            unmatched_treated,
        },
    })
}

/// What is out of the thresholds after matching, in words.
fn balance_flags(after: &BalanceStats, t: &BalanceThresholds) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(smd) = after.std_mean_diff
        && smd.abs() > t.smd
    {
        flags.push(format!("|SMD| {:.2} > {}", smd.abs(), t.smd));
    }
    if let Some(vr) = after.var_ratio
        && (vr < t.variance_ratio[0] || vr > t.variance_ratio[1])
    {
        flags.push(format!(
            "variance ratio {vr:.2} outside {}–{}",
            t.variance_ratio[0], t.variance_ratio[1]
        ));
    }
    flags
}

/// The design warnings of a matching, for the log, `results.json` and the
/// report: the change of estimand when treated patients were left without
/// a control, exact strata without a match, and every term out of balance
/// after matching.
pub fn warnings(s: &MatchingSummary) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(u) = &s.unmatched_treated {
        out.push(format!(
            "matching: {} of {} patients of arm {} found no control and were dropped; the \
             matched comparison estimates the effect in the matched {} patients, not in all \
             of arm {} (the estimand changed: see the profile of the unmatched in \
             results.json, matching.unmatched_treated)",
            u.unmatched, u.treated, s.treated, s.treated, s.treated
        ));
    }
    if let Some(e) = &s.exact_strata
        && e.without_match > 0
    {
        out.push(format!(
            "matching: in {} of {} exact strata ({}) no patient of arm {} found a control ({} \
             patients)",
            e.without_match,
            e.strata,
            s.exact.join(", "),
            s.treated,
            e.treated_in_them
        ));
    }
    let off: Vec<String> = s
        .balance
        .iter()
        .filter(|l| !l.flags.is_empty())
        .map(|l| format!("{} ({})", l.term, l.flags.join("; ")))
        .collect();
    if !off.is_empty() {
        out.push(format!(
            "matching: balance after matching is poor for {}: thresholds |SMD| ≤ {} and \
             variance ratio {}–{} ([matching.balance])",
            off.join(", "),
            s.thresholds.smd,
            s.thresholds.variance_ratio[0],
            s.thresholds.variance_ratio[1]
        ));
    }
    out
}

/// `balance.csv`: one line per term, before and after matching.
pub fn balance_csv(summary: &MatchingSummary) -> String {
    use std::fmt::Write as _;
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    let mut s = String::from(
        "term,mean_treated_before,mean_control_before,smd_before,var_ratio_before,\
         mean_treated_after,mean_control_after,smd_after,var_ratio_after,ecdf_max_after\n",
    );
    for l in &summary.balance {
        let _ = writeln!(
            s,
            "{},{:.6},{:.6},{},{},{:.6},{:.6},{},{},{}",
            cohortflow_core::table::csv_field(&l.term),
            l.before.mean_treated,
            l.before.mean_control,
            f(l.before.std_mean_diff),
            f(l.before.var_ratio),
            l.after.mean_treated,
            l.after.mean_control,
            f(l.after.std_mean_diff),
            f(l.after.var_ratio),
            f(l.after.ecdf_max)
        );
    }
    s
}

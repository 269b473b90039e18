//! The baseline table (Table 1): each declared column summarised per arm,
//! with a test between arms and the standardized mean difference.
//!
//! Conventions, as a reader of a clinical paper expects and as R computes:
//! - continuous: n, missing, mean (SD), median [Q1, Q3] (R's quantile type
//!   7), min, max; two arms compared by the Wilcoxon rank-sum test as
//!   `wilcox.test` (exact when R chooses exact), or by Welch's t-test as
//!   `t.test` when `continuous_test = "welch"`;
//! - categorical (categories, strings, booleans): count and percent of the
//!   non-missing per value; Fisher's exact test as `fisher.test` (r x c)
//!   when any expected count is under 5, else Pearson's chi-squared test as
//!   `chisq.test` (Yates' correction for 2 x 2);
//! - SMD between two arms as tableone: pooled-SD for continuous, the
//!   multinomial (Yang & Dalton) form for categorical.
//!
//! With more than two arms, continuous variables are compared by the
//! Kruskal–Wallis test (or one-way ANOVA when `continuous_test = "welch"`),
//! counts by the r x c tests, and the SMD is the mean of the pairwise SMDs
//! (as tableone). A pipeline may name the test of any variable
//! (`[analysis.tests]`); the statistic and its degrees of freedom are in
//! `results.json` with the p-value.
//!
//! The arithmetic (summaries, the choice of test, the tests, the SMDs) is
//! `cohortflow_stats`'s (`summarize_continuous`, `compare_continuous`,
//! `compare_categorical`, `smd_*`), checked against R there; this module
//! pulls the columns out of the frame and assembles the rows.

use crate::config::BaselineTest;
use crate::{ArmInfo, ContinuousTest};
use cohortflow_stats::{
    ArmComparison, ContinuousComparison, Table1Test, compare_categorical,
    compare_continuous_groups, percents, smd_categorical, smd_continuous, summarize_continuous,
};
use polars::prelude::*;
use serde::Serialize;

/// One row of the baseline table.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineRow {
    pub variable: String,
    #[serde(flatten)]
    pub summary: BaselineSummary,
    /// The test that gave `p_value`, by name.
    pub test: Option<String>,
    pub p_value: Option<f64>,
    /// The test statistic (`W`, `t`, `X-squared`, `Kruskal-Wallis
    /// chi-squared`, `F`); `null` for Fisher's exact test.
    pub statistic: Option<f64>,
    /// Its degrees of freedom (the numerator's for F).
    pub df: Option<f64>,
    /// The denominator's degrees of freedom of F (ANOVA).
    pub df_residual: Option<f64>,
    /// Standardized mean difference between the two arms.
    pub smd: Option<f64>,
    /// Why a test or the SMD is missing, in plain words.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BaselineSummary {
    Continuous {
        by_arm: Vec<ContinuousCell>,
    },
    Categorical {
        /// Values seen in the cohort, sorted.
        levels: Vec<String>,
        by_arm: Vec<CategoricalCell>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ContinuousCell {
    pub arm: String,
    pub n: u64,
    pub missing: u64,
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1).
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub q1: Option<f64>,
    pub q3: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoricalCell {
    pub arm: String,
    pub n: u64,
    pub missing: u64,
    /// Count per level, in the order of `levels`.
    pub counts: Vec<u64>,
    /// Percent of the non-missing per level.
    pub percents: Vec<f64>,
}

pub(crate) fn row(
    frame: &DataFrame,
    column: &str,
    arms: &[ArmInfo],
    arm_index: &[Option<usize>],
    test: ContinuousTest,
    named: Option<BaselineTest>,
) -> Result<BaselineRow, String> {
    let named = named.map(BaselineTest::to_stats);
    let pe = |e: PolarsError| format!("baseline '{column}': {e}");
    let col = frame.column(column).map_err(pe)?;
    if col.dtype().is_primitive_numeric() {
        let values = col.cast(&DataType::Float64).map_err(pe)?;
        let values = values.f64().map_err(pe)?;
        let mut per_arm: Vec<Vec<f64>> = vec![Vec::new(); arms.len()];
        let mut n = vec![0u64; arms.len()];
        for (i, v) in values.iter().enumerate() {
            if let Some(k) = arm_index[i] {
                n[k] += 1;
                per_arm[k].extend(v.filter(|x| x.is_finite()));
            }
        }
        continuous(column, arms, &n, per_arm, test, named)
    } else if let Some((texts, codes)) = cohortflow_core::table::level_codes(col).map_err(pe)? {
        // A category's codes counted per arm directly.
        let codes = codes.iter().map(|c| c.map(|c| c as usize));
        let (levels, counts, missing) = count_levels(codes, &texts, arms.len(), arm_index);
        Ok(categorical(column, arms, levels, counts, missing, named))
    } else if let DataType::Boolean = col.dtype() {
        // A boolean's values counted directly, as the texts a cast gives
        // ("false", "true") would be: the cast made a text view per row,
        // 14 % of Table 1's CPU on 10M rows (perf).
        let flags = col.bool().map_err(pe)?.iter().map(|v| v.map(usize::from));
        let (levels, counts, missing) =
            count_levels(flags, &["false", "true"], arms.len(), arm_index);
        Ok(categorical(column, arms, levels, counts, missing, named))
    } else {
        let text = col.cast(&DataType::String).map_err(pe)?;
        let text = text.str().map_err(pe)?;
        // One pass counts each level per arm by its first-seen number (a
        // registry's column has a handful of levels and millions of rows:
        // no sort of the rows' values); the levels are then sorted and
        // their counts put in that order.
        // foldhash, not std's SipHash: hashing the level of every row was
        // a third of Table 1's time on a million rows (perf).
        let mut index: std::collections::HashMap<&str, usize, foldhash::fast::FixedState> =
            std::collections::HashMap::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut by_seen: Vec<Vec<u64>> = vec![Vec::new(); arms.len()];
        let mut missing = vec![0u64; arms.len()];
        for (i, v) in text.iter().enumerate() {
            let Some(v) = v else {
                if let Some(k) = arm_index[i] {
                    missing[k] += 1;
                }
                continue;
            };
            let j = *index.entry(v).or_insert_with(|| {
                seen.push(v);
                seen.len() - 1
            });
            if let Some(k) = arm_index[i] {
                if by_seen[k].len() <= j {
                    by_seen[k].resize(j + 1, 0);
                }
                by_seen[k][j] += 1;
            }
        }
        let mut order: Vec<usize> = (0..seen.len()).collect();
        order.sort_by_key(|&j| seen[j]);
        let levels: Vec<String> = order.iter().map(|&j| seen[j].to_string()).collect();
        let counts: Vec<Vec<u64>> = by_seen
            .iter()
            .map(|c| {
                order
                    .iter()
                    .map(|&j| c.get(j).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        Ok(categorical(column, arms, levels, counts, missing, named))
    }
}

/// Each row's level (`Some(code)` into `texts`, `None` missing) counted
/// per arm: the levels met in any row sorted by their text, each arm's
/// counts in that order, and each arm's missing.
fn count_levels(
    codes: impl Iterator<Item = Option<usize>>,
    texts: &[&str],
    arms: usize,
    arm_index: &[Option<usize>],
) -> (Vec<String>, Vec<Vec<u64>>, Vec<u64>) {
    let mut met = vec![false; texts.len()];
    let mut by_code: Vec<Vec<u64>> = vec![vec![0; texts.len()]; arms];
    let mut missing = vec![0u64; arms];
    for (v, arm) in codes.zip(arm_index) {
        match v {
            Some(c) => {
                met[c] = true;
                if let Some(k) = arm {
                    by_code[*k][c] += 1;
                }
            }
            None => {
                if let Some(k) = arm {
                    missing[*k] += 1;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..texts.len()).filter(|&c| met[c]).collect();
    order.sort_by_key(|&c| texts[c]);
    let levels = order.iter().map(|&c| texts[c].to_string()).collect();
    let counts = by_code
        .iter()
        .map(|c| order.iter().map(|&j| c[j]).collect())
        .collect();
    (levels, counts, missing)
}

fn continuous(
    column: &str,
    arms: &[ArmInfo],
    n: &[u64],
    mut per_arm: Vec<Vec<f64>>,
    test: ContinuousTest,
    named: Option<cohortflow_stats::NamedTest>,
) -> Result<BaselineRow, String> {
    // Sorted once, so the tests and the SMD see the values in increasing
    // order whatever the row order (their sums are order-dependent to the
    // last bit).
    for xs in &mut per_arm {
        xs.sort_by(f64::total_cmp);
    }
    let by_arm = arms
        .iter()
        .zip(n)
        .zip(&per_arm)
        .map(|((a, &n), xs)| {
            let s = summarize_continuous(xs).map_err(|e| format!("baseline '{column}': {e}"))?;
            Ok(ContinuousCell {
                arm: a.name.clone(),
                n,
                missing: n - s.n as u64,
                mean: s.mean,
                sd: s.sd,
                median: s.median,
                q1: s.q1,
                q3: s.q3,
                min: s.min,
                max: s.max,
            })
        })
        .collect::<Result<_, String>>()?;
    let mut out = BaselineRow {
        variable: column.to_string(),
        summary: BaselineSummary::Continuous { by_arm },
        test: None,
        p_value: None,
        statistic: None,
        df: None,
        df_residual: None,
        smd: None,
        note: None,
    };
    let with_values: Vec<&[f64]> = per_arm
        .iter()
        .filter(|x| !x.is_empty())
        .map(Vec::as_slice)
        .collect();
    if with_values.len() < 2 {
        out.note = Some("no test: fewer than two arms have a value".into());
    } else {
        let two = match test {
            ContinuousTest::Wilcoxon => ContinuousComparison::Wilcoxon,
            ContinuousTest::Welch => ContinuousComparison::Welch,
        };
        let groups: Vec<&[f64]> = per_arm.iter().map(Vec::as_slice).collect();
        set_test(&mut out, compare_continuous_groups(&groups, named, two));
        out.smd = mean_pairwise(&with_values, |x, y| smd_continuous(x, y).ok());
    }
    Ok(out)
}

/// The SMD of two groups, or with more the mean of every pair's SMD (as
/// tableone); `None` if any pair has none.
fn mean_pairwise<T: ?Sized>(groups: &[&T], smd: impl Fn(&T, &T) -> Option<f64>) -> Option<f64> {
    let mut sum = 0.0;
    let mut pairs = 0;
    for a in 0..groups.len() {
        for b in a + 1..groups.len() {
            sum += smd(groups[a], groups[b])?;
            pairs += 1;
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

/// The test's name and p-value into `out`, or why there is none.
fn set_test(out: &mut BaselineRow, result: Result<ArmComparison, cohortflow_stats::StatsError>) {
    match result {
        Ok(c) => {
            out.test = Some(test_name(c.test).to_string());
            out.p_value = Some(c.p_value);
            out.statistic = c.statistic;
            out.df = c.df;
            out.df_residual = c.df_residual;
        }
        Err(e) => out.note = Some(format!("no test: {e}")),
    }
}

fn test_name(test: Table1Test) -> &'static str {
    match test {
        Table1Test::FisherExact => "Fisher's exact test",
        Table1Test::ChiSquare { yates: true } => {
            "Pearson's chi-squared test with Yates' continuity correction"
        }
        Table1Test::ChiSquare { yates: false } => "Pearson's chi-squared test",
        Table1Test::WilcoxonExact => "Wilcoxon rank-sum test (exact)",
        Table1Test::WilcoxonNormal => {
            "Wilcoxon rank-sum test (normal approximation, continuity correction)"
        }
        Table1Test::WelchT => "Welch two-sample t-test",
        Table1Test::KruskalWallis => "Kruskal-Wallis rank sum test",
        Table1Test::Anova => "one-way analysis of variance (F test)",
    }
}

fn categorical(
    column: &str,
    arms: &[ArmInfo],
    levels: Vec<String>,
    counts: Vec<Vec<u64>>,
    missing: Vec<u64>,
    named: Option<cohortflow_stats::NamedTest>,
) -> BaselineRow {
    let by_arm = arms
        .iter()
        .zip(&counts)
        .zip(&missing)
        .map(|((a, c), &m)| {
            let present: u64 = c.iter().sum();
            CategoricalCell {
                arm: a.name.clone(),
                n: present + m,
                missing: m,
                counts: c.clone(),
                percents: percents(c),
            }
        })
        .collect();
    let mut out = BaselineRow {
        variable: column.to_string(),
        summary: BaselineSummary::Categorical {
            levels: levels.clone(),
            by_arm,
        },
        test: None,
        p_value: None,
        statistic: None,
        df: None,
        df_residual: None,
        smd: None,
        note: None,
    };
    // Levels x arms, as R's table(variable, arm).
    let table: Vec<Vec<u64>> = (0..levels.len())
        .map(|l| counts.iter().map(|c| c[l]).collect())
        .collect();
    match compare_categorical(&table, named) {
        None => {
            out.note =
                Some("no test: the table has fewer than two levels or arms with values".into())
        }
        Some(result) => set_test(&mut out, result),
    }
    let with_values: Vec<&[u64]> = counts
        .iter()
        .filter(|c| c.iter().any(|&k| k > 0))
        .map(Vec::as_slice)
        .collect();
    out.smd = mean_pairwise(&with_values, |x, y| smd_categorical(x, y).ok());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A boolean column's row is the row of its text: random columns
    /// (true, false and missing in random shares, one value absent in
    /// some, rows in no arm), against the same values cast to text, to
    /// every field of the row as results.json writes it.
    #[test]
    fn a_boolean_is_summarised_as_its_text() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0xb001_ea17);
        let arms: Vec<ArmInfo> = ["S", "NS"]
            .iter()
            .map(|n| ArmInfo {
                name: n.to_string(),
                label: n.to_string(),
            })
            .collect();
        for case in 0..200 {
            let n = 1 + rng.below(300);
            let (p_true, p_null) = (rng.below(101), rng.below(30));
            let values: Vec<Option<bool>> = (0..n)
                .map(|_| (rng.below(100) >= p_null).then(|| rng.below(100) < p_true))
                .collect();
            let arm_index: Vec<Option<usize>> = (0..n)
                .map(|_| [None, Some(0), Some(1)][rng.below(3)])
                .collect();
            let flags = Column::new("flag".into(), &values);
            let text = flags.cast(&DataType::String).unwrap();
            let frame = DataFrame::new(n, vec![flags]).unwrap();
            let as_text = DataFrame::new(n, vec![text]).unwrap();
            let row = |f: &DataFrame| {
                let r = row(f, "flag", &arms, &arm_index, ContinuousTest::Wilcoxon, None);
                serde_json::to_string(&r.unwrap()).unwrap()
            };
            assert_eq!(row(&frame), row(&as_text), "case {case}");
        }
    }
}

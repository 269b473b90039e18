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
//! With more than two arms the tests of k groups that the stats crate does
//! not have (Kruskal-Wallis) and the SMD are left out, and the row says so.

use crate::{ArmInfo, ContinuousTest};
use cohortflow_stats::{
    chi_square_test, fisher_exact, smd_categorical, smd_continuous, welch_t_test, wilcoxon_rank_sum,
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
) -> Result<BaselineRow, String> {
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
        Ok(continuous(column, arms, &n, per_arm, test))
    } else {
        let text = col.cast(&DataType::String).map_err(pe)?;
        let text = text.str().map_err(pe)?;
        let mut levels: Vec<String> = text.iter().flatten().map(str::to_string).collect();
        levels.sort();
        levels.dedup();
        let mut counts = vec![vec![0u64; levels.len()]; arms.len()];
        let mut missing = vec![0u64; arms.len()];
        for (i, v) in text.iter().enumerate() {
            if let Some(k) = arm_index[i] {
                match v {
                    Some(v) => {
                        counts[k][levels
                            .binary_search_by(|l| l.as_str().cmp(v))
                            .expect("level seen")] += 1
                    }
                    None => missing[k] += 1,
                }
            }
        }
        Ok(categorical(column, arms, levels, counts, missing))
    }
}

fn continuous(
    column: &str,
    arms: &[ArmInfo],
    n: &[u64],
    mut per_arm: Vec<Vec<f64>>,
    test: ContinuousTest,
) -> BaselineRow {
    let by_arm = arms
        .iter()
        .zip(n)
        .zip(per_arm.iter_mut())
        .map(|((a, &n), xs)| {
            xs.sort_by(f64::total_cmp);
            let q = |p: f64| quantile_type7(xs, p);
            let m = xs.len() as f64;
            let mean = (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / m);
            let sd = mean
                .filter(|_| xs.len() > 1)
                .map(|mu| (xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (m - 1.0)).sqrt());
            ContinuousCell {
                arm: a.name.clone(),
                n,
                missing: n - xs.len() as u64,
                mean,
                sd,
                median: q(0.5),
                q1: q(0.25),
                q3: q(0.75),
                min: xs.first().copied(),
                max: xs.last().copied(),
            }
        })
        .collect();
    let mut out = BaselineRow {
        variable: column.to_string(),
        summary: BaselineSummary::Continuous { by_arm },
        test: None,
        p_value: None,
        smd: None,
        note: None,
    };
    match per_arm.as_slice() {
        [x, y] if !x.is_empty() && !y.is_empty() => {
            let result = match test {
                ContinuousTest::Wilcoxon => wilcoxon_rank_sum(x, y).map(|w| {
                    let name = if w.exact {
                        "Wilcoxon rank-sum test (exact)"
                    } else {
                        "Wilcoxon rank-sum test (normal approximation, continuity correction)"
                    };
                    (name.to_string(), w.p_value)
                }),
                ContinuousTest::Welch => welch_t_test(x, y, 0.95)
                    .map(|t| ("Welch two-sample t-test".to_string(), t.p_value)),
            };
            match result {
                Ok((name, p)) => {
                    out.test = Some(name);
                    out.p_value = Some(p);
                }
                Err(e) => out.note = Some(format!("no test: {e}")),
            }
            out.smd = smd_continuous(x, y).ok();
        }
        [_, _] => out.note = Some("no test: an arm has no value".into()),
        _ => out.note = Some("no test or SMD: they are computed for two arms".into()),
    }
    out
}

fn categorical(
    column: &str,
    arms: &[ArmInfo],
    levels: Vec<String>,
    counts: Vec<Vec<u64>>,
    missing: Vec<u64>,
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
                percents: c
                    .iter()
                    .map(|&k| {
                        if present == 0 {
                            0.0
                        } else {
                            100.0 * k as f64 / present as f64
                        }
                    })
                    .collect(),
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
        smd: None,
        note: None,
    };
    // Levels x arms, as R's table(variable, arm).
    let table: Vec<Vec<u64>> = (0..levels.len())
        .map(|l| counts.iter().map(|c| c[l]).collect())
        .collect();
    let arm_totals: Vec<u64> = counts.iter().map(|c| c.iter().sum()).collect();
    if levels.len() < 2 || arm_totals.iter().filter(|&&t| t > 0).count() < 2 {
        out.note = Some("no test: the table has fewer than two levels or arms with values".into());
    } else {
        let total: u64 = arm_totals.iter().sum();
        let min_expected = table
            .iter()
            .flat_map(|row| {
                let r: u64 = row.iter().sum();
                arm_totals
                    .iter()
                    .map(move |&c| r as f64 * c as f64 / total as f64)
            })
            .fold(f64::INFINITY, f64::min);
        let result = if min_expected < 5.0 {
            fisher_exact(&table).map(|f| ("Fisher's exact test".to_string(), f.p_value))
        } else {
            chi_square_test(&table, true).map(|c| {
                let name = if c.yates {
                    "Pearson's chi-squared test with Yates' continuity correction"
                } else {
                    "Pearson's chi-squared test"
                };
                (name.to_string(), c.p_value)
            })
        };
        match result {
            Ok((test, p)) => {
                out.test = Some(test);
                out.p_value = Some(p);
            }
            Err(e) => out.note = Some(format!("no test: {e}")),
        }
    }
    match counts.as_slice() {
        [x, y] => out.smd = smd_categorical(x, y).ok(),
        _ => {
            out.note
                .get_or_insert_with(|| "no SMD: it is computed for two arms".into());
        }
    }
    out
}

/// R's default `quantile(x, p, type = 7)` on sorted data.
pub(crate) fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::quantile_type7;

    #[test]
    fn quantiles_match_r_type_7() {
        // R: quantile(c(1, 2, 4, 7, 11), c(.25, .5, .75)) -> 2, 4, 7
        let x = [1.0, 2.0, 4.0, 7.0, 11.0];
        assert_eq!(quantile_type7(&x, 0.25), Some(2.0));
        assert_eq!(quantile_type7(&x, 0.5), Some(4.0));
        // R: quantile(c(1, 2, 4, 7), .5) -> 3; quantile(c(1,2,4,7), .25) -> 1.75
        let y = [1.0, 2.0, 4.0, 7.0];
        assert_eq!(quantile_type7(&y, 0.5), Some(3.0));
        assert_eq!(quantile_type7(&y, 0.25), Some(1.75));
        assert_eq!(quantile_type7(&[], 0.5), None);
    }
}

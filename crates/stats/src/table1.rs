//! The arithmetic of Table 1 (baseline characteristics by arm): per-arm
//! summaries and the test between arms, on plain slices. The `analysis`
//! crate pulls the columns out of the data and assembles the table.

use crate::{
    StatsError, chi_square_test, describe::sample_sd, fisher_exact, kruskal_wallis, one_way_anova,
    welch_t_test, wilcoxon_rank_sum,
};

/// Summary of one arm's values of a continuous variable: what a Table 1
/// shows as "mean (SD)" and "median [Q1, Q3]", and the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousSummary {
    /// Number of values summarised (the non-missing ones).
    pub n: usize,
    /// Plain mean `sum(x) / n` (R's `mean(x)` up to rounding); `None` if
    /// there is no value.
    pub mean: Option<f64>,
    /// Sample SD ([`crate::sample_sd`]); `None` for fewer than two values.
    pub sd: Option<f64>,
    /// Median, `quantile(x, 0.5)` ([`quantile_type7`]).
    pub median: Option<f64>,
    /// First quartile, `quantile(x, 0.25)`.
    pub q1: Option<f64>,
    /// Third quartile, `quantile(x, 0.75)`.
    pub q3: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

/// Summarise one arm's values as R's `mean`, `sd`, `quantile(x, c(.25, .5,
/// .75))` (type 7), `min` and `max` (missing values already dropped by the
/// caller, as `na.rm = TRUE`). Empty input gives `n = 0` and every statistic
/// `None`.
///
/// The values are sorted once (total order) and every statistic is taken on
/// the sorted values.
///
/// Errors: [`StatsError::NonFinite`] if a value is NaN or infinite.
pub fn summarize_continuous(values: &[f64]) -> Result<ContinuousSummary, StatsError> {
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite {
            what: "summarize_continuous",
            name: "values",
            index,
            value: values[index],
        });
    }
    // Table 1 passes each arm's values sorted: then they are read as they
    // are (their copies were 48 MB of fresh pages a variable at 10M rows).
    let xs: std::borrow::Cow<[f64]> = if values.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        std::borrow::Cow::Borrowed(values)
    } else {
        let mut xs = values.to_vec();
        xs.sort_by(f64::total_cmp);
        std::borrow::Cow::Owned(xs)
    };
    let q = |p: f64| quantile_type7(&xs, p);
    let mean = (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    Ok(ContinuousSummary {
        n: xs.len(),
        mean,
        sd: sample_sd(&xs),
        median: q(0.5),
        q1: q(0.25),
        q3: q(0.75),
        min: xs.first().copied(),
        max: xs.last().copied(),
    })
}

/// R's default `quantile(x, p, type = 7)` on sorted data: with
/// `h = (n - 1) p`, `x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] -
/// x[floor(h)])` (0-based; R writes the same interpolation as `(1 - g) lo +
/// g hi`, equal up to rounding). `None` for empty data.
///
/// Reference: Hyndman RJ, Fan Y (1996). Sample quantiles in statistical
/// packages. The American Statistician 50:361–365 (definition 7).
pub fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Percent of `counts` in their total, per entry (`100 * k / sum`); all 0
/// when the total is 0.
pub fn percents(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&k| {
            if total == 0 {
                0.0
            } else {
                100.0 * k as f64 / total as f64
            }
        })
        .collect()
}

/// The test Table 1 ran between the arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table1Test {
    /// Fisher's exact test (`fisher.test`), r x c.
    FisherExact,
    /// Pearson's chi-squared test (`chisq.test`); `yates`: with Yates'
    /// continuity correction (2 x 2 tables).
    ChiSquare {
        /// Whether Yates' correction was applied.
        yates: bool,
    },
    /// Wilcoxon rank-sum test (`wilcox.test`), exact p-value.
    WilcoxonExact,
    /// Wilcoxon rank-sum test, normal approximation with continuity
    /// correction.
    WilcoxonNormal,
    /// Welch's two-sample t-test (`t.test`).
    WelchT,
    /// Kruskal–Wallis rank sum test (`kruskal.test`), k groups.
    KruskalWallis,
    /// One-way analysis of variance (`summary(aov(x ~ g))`), k groups.
    Anova,
}

/// A test between arms: which one, and its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmComparison {
    /// The test run.
    pub test: Table1Test,
    /// Its p-value.
    pub p_value: f64,
    /// The test statistic, as R names it: `W` (Wilcoxon), `t` (Welch),
    /// `X-squared` (chi-squared), `Kruskal-Wallis chi-squared`, `F` (ANOVA);
    /// `None` for Fisher's exact test.
    pub statistic: Option<f64>,
    /// Its degrees of freedom (the numerator's for F); `None` where the test
    /// has none (Fisher, Wilcoxon).
    pub df: Option<f64>,
    /// The denominator's degrees of freedom of F (ANOVA only).
    pub df_residual: Option<f64>,
}

/// A test a pipeline names for one variable of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedTest {
    /// `fisher.test`.
    Fisher,
    /// `chisq.test(correct = FALSE)` (gtsummary's default).
    ChiSquare,
    /// `chisq.test()` (Yates' correction for 2 x 2).
    ChiSquareYates,
    /// `wilcox.test` (two groups).
    Wilcoxon,
    /// `kruskal.test`.
    KruskalWallis,
    /// `t.test` (Welch, two groups).
    T,
    /// `summary(aov())`.
    Anova,
}

impl NamedTest {
    /// Whether the test compares a continuous variable.
    pub fn is_continuous(self) -> bool {
        matches!(
            self,
            NamedTest::Wilcoxon | NamedTest::KruskalWallis | NamedTest::T | NamedTest::Anova
        )
    }
}

/// Compare a continuous variable across the groups of `groups` with the
/// named test, or by the rule (two groups: `two`, Wilcoxon unless Welch is
/// asked; more: Kruskal–Wallis, or ANOVA when `two` is Welch).
///
/// Errors: those of the test; [`StatsError::TooFewGroups`] when a
/// two-group test is named for another number of groups with values.
pub fn compare_continuous_groups(
    groups: &[&[f64]],
    named: Option<NamedTest>,
    two: ContinuousComparison,
) -> Result<ArmComparison, StatsError> {
    let present: Vec<&[f64]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    let test = named.unwrap_or(match (present.len(), two) {
        (2, ContinuousComparison::Wilcoxon) => NamedTest::Wilcoxon,
        (2, ContinuousComparison::Welch) => NamedTest::T,
        (_, ContinuousComparison::Wilcoxon) => NamedTest::KruskalWallis,
        (_, ContinuousComparison::Welch) => NamedTest::Anova,
    });
    let two_groups = |what: &'static str| -> Result<(&[f64], &[f64]), StatsError> {
        match present.as_slice() {
            [x, y] => Ok((x, y)),
            _ => Err(StatsError::TooFewGroups {
                what,
                groups: present.len(),
            }),
        }
    };
    match test {
        NamedTest::Wilcoxon => {
            let (x, y) = two_groups("wilcox.test (two groups only)")?;
            compare_continuous(x, y, ContinuousComparison::Wilcoxon)
        }
        NamedTest::T => {
            let (x, y) = two_groups("t.test (two groups only)")?;
            compare_continuous(x, y, ContinuousComparison::Welch)
        }
        NamedTest::KruskalWallis => kruskal_wallis(&present).map(|k| ArmComparison {
            test: Table1Test::KruskalWallis,
            p_value: k.p_value,
            statistic: Some(k.statistic),
            df: Some(k.df as f64),
            df_residual: None,
        }),
        NamedTest::Anova => one_way_anova(&present).map(|a| ArmComparison {
            test: Table1Test::Anova,
            p_value: a.p_value,
            statistic: Some(a.f),
            df: Some(a.df_groups as f64),
            df_residual: Some(a.df_residual as f64),
        }),
        NamedTest::Fisher | NamedTest::ChiSquare | NamedTest::ChiSquareYates => {
            Err(StatsError::Degenerate {
                what: "baseline test",
                reason: "a test of counts was named for a continuous variable".into(),
            })
        }
    }
}

/// How Table 1 compares two arms on a continuous variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContinuousComparison {
    /// Wilcoxon rank-sum ([`crate::wilcoxon_rank_sum`], `wilcox.test(x, y)`).
    #[default]
    Wilcoxon,
    /// Welch's t-test ([`crate::welch_t_test`], `t.test(x, y)`).
    Welch,
}

/// Compare two arms' values of a continuous variable with the chosen test.
///
/// Errors: those of [`crate::wilcoxon_rank_sum`] or [`crate::welch_t_test`].
pub fn compare_continuous(
    x: &[f64],
    y: &[f64],
    test: ContinuousComparison,
) -> Result<ArmComparison, StatsError> {
    match test {
        ContinuousComparison::Wilcoxon => wilcoxon_rank_sum(x, y).map(|w| ArmComparison {
            statistic: Some(w.w),
            df: None,
            df_residual: None,
            test: if w.exact {
                Table1Test::WilcoxonExact
            } else {
                Table1Test::WilcoxonNormal
            },
            p_value: w.p_value,
        }),
        ContinuousComparison::Welch => welch_t_test(x, y, 0.95).map(|t| ArmComparison {
            statistic: Some(t.t),
            df: Some(t.df),
            df_residual: None,
            test: Table1Test::WelchT,
            p_value: t.p_value,
        }),
    }
}

/// Smallest expected count `row total * column total / grand total` of a
/// contingency table (as `min(chisq.test(table)$expected)`); infinite for an
/// empty table, NaN when the grand total is 0.
pub fn min_expected_count<R: AsRef<[u64]>>(table: &[R]) -> f64 {
    let ncol = table.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let col_totals: Vec<u64> = (0..ncol)
        .map(|j| {
            table
                .iter()
                .map(|r| r.as_ref().get(j).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let total: u64 = col_totals.iter().sum();
    table
        .iter()
        .flat_map(|row| {
            let r: u64 = row.as_ref().iter().sum();
            col_totals
                .iter()
                .map(move |&c| r as f64 * c as f64 / total as f64)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Compare the arms on a categorical variable: `table[level][arm]` (R's
/// `table(variable, arm)`), with the usual rule of a clinical Table 1:
/// Fisher's exact test ([`crate::fisher_exact`], r x c) when any expected
/// count ([`min_expected_count`]) is under 5, else Pearson's chi-squared
/// test ([`crate::chi_square_test`], Yates' correction for 2 x 2). In R:
///
/// ```r
/// if (any(suppressWarnings(chisq.test(tab))$expected < 5)) fisher.test(tab) else chisq.test(tab)
/// ```
///
/// `None` when there is nothing to test: fewer than two levels, or fewer
/// than two arms with a value.
///
/// Errors: those of the test run (e.g. Fisher's limits on large tables).
pub fn compare_categorical<R: AsRef<[u64]>>(
    table: &[R],
    named: Option<NamedTest>,
) -> Option<Result<ArmComparison, StatsError>> {
    let ncol = table.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let arms_with_values = (0..ncol)
        .filter(|&j| {
            table
                .iter()
                .any(|r| r.as_ref().get(j).is_some_and(|&k| k > 0))
        })
        .count();
    if table.len() < 2 || arms_with_values < 2 {
        return None;
    }
    let fisher = || {
        fisher_exact(table).map(|f| ArmComparison {
            test: Table1Test::FisherExact,
            p_value: f.p_value,
            statistic: None,
            df: None,
            df_residual: None,
        })
    };
    let chisq = |correct: bool| {
        chi_square_test(table, correct).map(|c| ArmComparison {
            test: Table1Test::ChiSquare { yates: c.yates },
            p_value: c.p_value,
            statistic: Some(c.statistic),
            df: Some(c.df as f64),
            df_residual: None,
        })
    };
    Some(match named {
        Some(NamedTest::Fisher) => fisher(),
        Some(NamedTest::ChiSquare) => chisq(false),
        Some(NamedTest::ChiSquareYates) => chisq(true),
        Some(other) if other.is_continuous() => Err(StatsError::Degenerate {
            what: "baseline test",
            reason: "a test of a continuous variable was named for counts".into(),
        }),
        _ if min_expected_count(table) < 5.0 => fisher(),
        _ => chisq(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn empty_and_single_summaries() {
        let e = summarize_continuous(&[]).unwrap();
        assert_eq!((e.n, e.mean, e.sd, e.median), (0, None, None, None));
        let one = summarize_continuous(&[3.5]).unwrap();
        assert_eq!((one.n, one.mean, one.sd), (1, Some(3.5), None));
        assert_eq!(
            (one.min, one.max, one.q1),
            (Some(3.5), Some(3.5), Some(3.5))
        );
        assert!(matches!(
            summarize_continuous(&[1.0, f64::NAN]),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn nothing_to_test() {
        // one level
        assert!(compare_categorical(&[[3u64, 4]], None).is_none());
        // one arm with values
        assert!(compare_categorical(&[[3u64, 0], [5, 0]], None).is_none());
        // small expected counts: Fisher; large: chi-square with Yates
        let small = compare_categorical(&[[1u64, 4], [6, 2]], None)
            .unwrap()
            .unwrap();
        assert_eq!(small.test, Table1Test::FisherExact);
        let large = compare_categorical(&[[30u64, 40], [60, 20]], None)
            .unwrap()
            .unwrap();
        assert_eq!(large.test, Table1Test::ChiSquare { yates: true });
    }

    #[test]
    fn percents_of_an_empty_arm_are_zero() {
        assert_eq!(percents(&[0, 0]), vec![0.0, 0.0]);
        assert_eq!(percents(&[1, 3]), vec![25.0, 75.0]);
    }
}

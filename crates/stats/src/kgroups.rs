//! Tests of a continuous variable across k groups: the Kruskal–Wallis rank
//! sum test as R's `kruskal.test(x, g)` and one-way analysis of variance as
//! R's `summary(aov(x ~ g))`.
//!
//! Kruskal–Wallis (Kruskal & Wallis 1952, JASA 47:583–621): with the `N`
//! values ranked together (ties averaged), `R_j` the rank sum and `n_j` the
//! size of group `j`,
//! `H = (12 / (N (N + 1)) Σ R_j² / n_j − 3 (N + 1)) / (1 − Σ (t³ − t) / (N³ − N))`
//! over the tie groups `t`; `df = k − 1`; p from the chi-squared
//! distribution. Groups without values do not count in `k`, as R drops
//! unused factor levels.
//!
//! One-way ANOVA: `F = (SSB / (k − 1)) / (SSW / (N − k))` with SSB the sum
//! of `n_j (m_j − m)²` and SSW the within-group sum of squares; p from the F
//! distribution on `(k − 1, N − k)` degrees of freedom.

use crate::StatsError;
use crate::wilcoxon::average_ranks;
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

/// The result of [`kruskal_wallis`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KruskalWallis {
    /// `Kruskal-Wallis chi-squared`.
    pub statistic: f64,
    /// Degrees of freedom, the number of groups with values minus 1.
    pub df: usize,
    /// `pchisq(statistic, df, lower.tail = FALSE)`.
    pub p_value: f64,
}

/// The result of [`one_way_anova`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneWayAnova {
    /// `F value`.
    pub f: f64,
    /// Degrees of freedom of the groups, `k − 1`.
    pub df_groups: usize,
    /// Residual degrees of freedom, `N − k`.
    pub df_residual: usize,
    /// `pf(f, k − 1, N − k, lower.tail = FALSE)`.
    pub p_value: f64,
}

/// The groups with values, checked: finite values, two or more groups.
fn groups_with_values<'a>(
    what: &'static str,
    groups: &[&'a [f64]],
) -> Result<Vec<&'a [f64]>, StatsError> {
    for g in groups {
        if let Some(index) = g.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite {
                what,
                name: "values",
                index,
                value: g[index],
            });
        }
    }
    let present: Vec<&[f64]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    if present.len() < 2 {
        return Err(StatsError::TooFewGroups {
            what,
            groups: present.len(),
        });
    }
    Ok(present)
}

/// Kruskal–Wallis rank sum test of `groups` (one slice of values each).
///
/// Errors: [`StatsError::NonFinite`] for a NaN or infinite value,
/// [`StatsError::TooFewGroups`] with fewer than two groups with values, and
/// [`StatsError::Degenerate`] when every value is tied (the statistic
/// is 0 / 0; R returns NaN).
pub fn kruskal_wallis(groups: &[&[f64]]) -> Result<KruskalWallis, StatsError> {
    const WHAT: &str = "kruskal_wallis";
    let present = groups_with_values(WHAT, groups)?;
    let all: Vec<f64> = present.iter().flat_map(|g| g.iter().copied()).collect();
    let n = all.len() as f64;
    let (ranks, ties) = average_ranks(&all);
    let mut sum = 0.0;
    let mut start = 0;
    for g in &present {
        let r: f64 = ranks[start..start + g.len()].iter().sum();
        sum += r * r / g.len() as f64;
        start += g.len();
    }
    let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
    let denominator = 1.0 - tie_term / (n * n * n - n);
    if denominator <= 0.0 {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "every value is the same; the test is undefined".into(),
        });
    }
    let statistic = (12.0 * sum / (n * (n + 1.0)) - 3.0 * (n + 1.0)) / denominator;
    let df = present.len() - 1;
    let p_value = ChiSquared::new(df as f64).expect("df >= 1").sf(statistic);
    Ok(KruskalWallis {
        statistic,
        df,
        p_value,
    })
}

/// One-way analysis of variance of `groups`, as `summary(aov(x ~ g))`.
///
/// Errors: those of [`kruskal_wallis`] for the input, and
/// [`StatsError::Degenerate`] when no residual degree of freedom is
/// left (every group has one value) or the residual sum of squares is 0.
pub fn one_way_anova(groups: &[&[f64]]) -> Result<OneWayAnova, StatsError> {
    const WHAT: &str = "one_way_anova";
    let present = groups_with_values(WHAT, groups)?;
    let k = present.len();
    let n: usize = present.iter().map(|g| g.len()).sum();
    if n <= k {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "no residual degree of freedom (one value per group)".into(),
        });
    }
    let grand = present.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for g in &present {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        ssb += g.len() as f64 * (m - grand) * (m - grand);
        ssw += g.iter().map(|v| (v - m) * (v - m)).sum::<f64>();
    }
    if ssw <= 0.0 {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "no variation within the groups; F is undefined".into(),
        });
    }
    let (df_groups, df_residual) = (k - 1, n - k);
    let f = (ssb / df_groups as f64) / (ssw / df_residual as f64);
    let p_value = FisherSnedecor::new(df_groups as f64, df_residual as f64)
        .expect("positive degrees of freedom")
        .sf(f);
    Ok(OneWayAnova {
        f,
        df_groups,
        df_residual,
        p_value,
    })
}

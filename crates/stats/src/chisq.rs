//! Pearson's chi-square test of independence, as R's `chisq.test`.

use crate::StatsError;
use crate::fisher::check_table;
use crate::logrank::chisq_upper;

/// Result of [`chi_square_test`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChiSquareTest {
    /// `X-squared`.
    pub statistic: f64,
    /// Degrees of freedom `(r - 1)(c - 1)`.
    pub df: usize,
    /// `pchisq(statistic, df, lower.tail = FALSE)`.
    pub p_value: f64,
    /// `true` when Yates' continuity correction was applied (2 x 2, asked for,
    /// and `min |O - E| > 0`; R then says "with Yates' continuity correction").
    pub yates: bool,
    /// Expected counts `E_ij = r_i c_j / n`, row by row.
    pub expected: Vec<Vec<f64>>,
    /// The smallest expected count; R warns "Chi-squared approximation may be
    /// incorrect" when it is below 5.
    pub min_expected: f64,
}

/// Pearson's chi-square test of independence in an r x c table, as R's
/// `chisq.test(table, correct = correct)` (stats 4.2; R's default is
/// `correct = TRUE`).
///
/// `E_ij = r_i c_j / n`; `X² = sum_ij (|O_ij - E_ij| - Y)² / E_ij` with
/// `Y = min(0.5, min_ij |O_ij - E_ij|)` for a 2 x 2 table when `correct`
/// (Yates 1934, exactly as R computes it), else `Y = 0`;
/// `df = (r - 1)(c - 1)`; p from the chi-square upper tail (statrs).
///
/// Errors: [`StatsError::EmptyInput`]; [`StatsError::Degenerate`] for ragged
/// rows, fewer than 2 rows or columns, or a row or column that sums to 0
/// (an expected count of 0, where R returns NaN).
///
/// Reference: Pearson K (1900), Phil. Mag. 50:157–175; Yates F (1934),
/// Contingency tables involving small numbers and the chi-squared test,
/// Suppl. JRSS 1:217–235; R `chisq.test`.
pub fn chi_square_test<R: AsRef<[u64]>>(
    table: &[R],
    correct: bool,
) -> Result<ChiSquareTest, StatsError> {
    const WHAT: &str = "chi_square_test";
    let (rows, cols) = check_table(WHAT, table)?;
    if let Some(i) = rows.iter().position(|&r| r == 0) {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!("row {i} sums to 0, so its expected counts are 0"),
        });
    }
    if let Some(j) = cols.iter().position(|&c| c == 0) {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!("column {j} sums to 0, so its expected counts are 0"),
        });
    }
    let n = rows.iter().sum::<u64>() as f64;
    let expected: Vec<Vec<f64>> = rows
        .iter()
        .map(|&r| cols.iter().map(|&c| r as f64 * c as f64 / n).collect())
        .collect();
    let two_by_two = rows.len() == 2 && cols.len() == 2;
    let mut y = 0.0;
    if correct && two_by_two {
        y = 0.5_f64;
        for (o_row, e_row) in table.iter().zip(&expected) {
            for (&o, &e) in o_row.as_ref().iter().zip(e_row) {
                y = y.min((o as f64 - e).abs());
            }
        }
    }
    let mut statistic = 0.0;
    for (o_row, e_row) in table.iter().zip(&expected) {
        for (&o, &e) in o_row.as_ref().iter().zip(e_row) {
            let d = (o as f64 - e).abs() - y;
            statistic += d * d / e;
        }
    }
    let df = (rows.len() - 1) * (cols.len() - 1);
    let p_value = chisq_upper(WHAT, statistic, df)?;
    let min_expected = expected
        .iter()
        .flatten()
        .fold(f64::INFINITY, |a, &b| a.min(b));
    Ok(ChiSquareTest {
        statistic,
        df,
        p_value,
        yates: y > 0.0,
        expected,
        min_expected,
    })
}

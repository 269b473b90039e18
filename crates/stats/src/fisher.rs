//! Fisher's exact test for r x c contingency tables, as R's `fisher.test`.

use crate::StatsError;

/// Relative tolerance of "as or more extreme" for 2 x 2 tables:
/// R's `relErr <- 1 + 10^(-7)` in `fisher.test`.
pub const FISHER_2X2_REL_TOL: f64 = 1e-7;

/// Tolerance of "as or more extreme" for larger tables, on the log-probability
/// scale: `TOL = 3.45254e-7` of R's FEXACT (`src/library/stats/src/fexact.c`),
/// i.e. a relative tolerance of about 3.45e-7 on the probability.
pub const FISHER_RXC_LOG_TOL: f64 = 3.45254e-7;

/// Upper limit on the number of tables [`fisher_exact`] enumerates before it
/// gives up with [`StatsError::TooLarge`].
pub const FISHER_MAX_TABLES: u64 = 100_000_000;

/// Upper limit on a quick bound of the number of tables (the product over all
/// columns but the last of the number of ways to split the column total
/// into r non-negative parts); above it [`fisher_exact`] refuses at once with
/// [`StatsError::TooLarge`] instead of starting the enumeration.
pub const FISHER_BOUND_LIMIT: f64 = 1e10;

/// Result of [`fisher_exact`].
#[derive(Debug, Clone, PartialEq)]
pub struct FisherExact {
    /// Two-sided p-value: the probability, under independence with all
    /// margins fixed, of the tables at most as probable as the observed one.
    pub p_value: f64,
    /// Number of tables with the observed margins (2 x 2: the support of the
    /// hypergeometric distribution).
    pub tables: u64,
}

/// Fisher's exact test of independence in an r x c table of counts, two-sided,
/// as R's `fisher.test(table)` (stats 4.2, `alternative = "two.sided"`).
///
/// With all margins fixed, a table `x` has the multivariate hypergeometric
/// probability `P(x) = prod_i r_i! prod_j c_j! / (n! prod_ij x_ij!)`. The
/// p-value is the sum of `P(x)` over the tables "as or more extreme", i.e.
/// with `P(x) <= P(observed)` up to R's tolerance:
///
/// * 2 x 2 (R computes it with `dhyper`): `P(x) <= P(obs) * (1 + 1e-7)`
///   ([`FISHER_2X2_REL_TOL`]), with the probabilities normalized to sum 1 as R
///   does.
/// * any other shape (R's FEXACT network algorithm, Mehta & Patel 1983):
///   `log P(x) <= log P(obs) + 3.45254e-7` ([`FISHER_RXC_LOG_TOL`]). Here the
///   tables are enumerated one by one (column by column, each cell within the
///   bounds its row and column margins leave); this gives the same sum as the
///   network algorithm, which only avoids visiting tables one by one.
///
/// `table[i][j]` is the count in row `i`, column `j`; rows must have equal
/// lengths; at least 2 rows and 2 columns are needed (R: "'x' must have at
/// least 2 rows and columns"). A table whose margins admit only one table
/// has p = 1.
///
/// Not computed: the conditional maximum-likelihood odds ratio and its
/// confidence interval that R adds for 2 x 2 tables (R finds them with
/// `uniroot` at its default tolerance of about 1e-4, so they cannot be
/// matched to 1e-9).
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::Degenerate`] (ragged
/// rows, fewer than 2 rows or columns, total 0), [`StatsError::TooLarge`]
/// when a quick bound on the number of tables exceeds
/// [`FISHER_BOUND_LIMIT`] or the enumeration exceeds [`FISHER_MAX_TABLES`]
/// tables (R's FEXACT would need a larger `workspace` there too). r x 2
/// tables, the usual baseline-table case, are always cheap: about
/// `n^(r-1)/(r-1)!` tables.
///
/// References: Fisher RA (1935), The logic of inductive inference, JRSS 98;
/// Mehta CR, Patel NR (1983), A network algorithm for performing Fisher's
/// exact test in r x c contingency tables, JASA 78:427–434; R `fisher.test`.
pub fn fisher_exact<R: AsRef<[u64]>>(table: &[R]) -> Result<FisherExact, StatsError> {
    const WHAT: &str = "fisher_exact";
    let (rows, cols) = check_table(WHAT, table)?;
    let nr = rows.len();
    let nc = cols.len();
    let n: u64 = rows.iter().sum();
    let lf = log_factorials(n as usize);
    let lfact = |k: u64| lf[k as usize];

    if nr == 2 && nc == 2 {
        // R: m <- sum(x[, 1]); n <- sum(x[, 2]); k <- sum(x[1, ]); x <- x[1, 1]
        let m = cols[0];
        let nn = cols[1];
        let k = rows[0];
        let x = table[0].as_ref()[0];
        let lo = k.saturating_sub(nn);
        let hi = k.min(m);
        let logdc: Vec<f64> = (lo..=hi)
            .map(|s| {
                // log dhyper(s, m, nn, k) up to a constant
                -(lfact(s) + lfact(m - s) + lfact(k - s) + lfact(nn - (k - s)))
            })
            .collect();
        let max = logdc.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let d: Vec<f64> = logdc.iter().map(|&l| (l - max).exp()).collect();
        let total: f64 = d.iter().sum();
        let d: Vec<f64> = d.iter().map(|v| v / total).collect();
        let dobs = d[(x - lo) as usize];
        let p: f64 = d
            .iter()
            .filter(|&&v| v <= dobs * (1.0 + FISHER_2X2_REL_TOL))
            .sum();
        return Ok(FisherExact {
            p_value: p.clamp(0.0, 1.0),
            tables: hi - lo + 1,
        });
    }

    // r x c: enumerate column by column, after a cheap upper bound on the
    // number of tables (compositions of each column total but the last into
    // nr parts, ignoring the row limits).
    let mut bound = 1.0_f64;
    for &c in &cols[..nc - 1] {
        bound *= choose_f64(c + nr as u64 - 1, nr as u64 - 1);
    }
    if bound > FISHER_BOUND_LIMIT {
        return Err(StatsError::TooLarge {
            what: WHAT,
            reason: format!(
                "up to {bound:.3e} tables share these margins (limit {FISHER_BOUND_LIMIT:e}); \
                 exact enumeration is too slow"
            ),
        });
    }
    let konst = rows.iter().map(|&r| lfact(r)).sum::<f64>()
        + cols.iter().map(|&c| lfact(c)).sum::<f64>()
        - lfact(n);
    let s_obs: f64 = table
        .iter()
        .flat_map(|r| r.as_ref().iter())
        .map(|&v| lfact(v))
        .sum();
    let mut e = Enum {
        lf: &lf,
        cols: &cols,
        nr,
        nc,
        row_rem: rows.clone(),
        threshold: s_obs - FISHER_RXC_LOG_TOL,
        konst,
        p: 0.0,
        count: 0,
        too_large: false,
    };
    let col_rem = cols[0];
    e.cell(0, 0, col_rem, 0.0);
    if e.too_large {
        return Err(StatsError::TooLarge {
            what: WHAT,
            reason: format!(
                "more than {FISHER_MAX_TABLES} tables share these margins; \
                 exact enumeration is too slow"
            ),
        });
    }
    Ok(FisherExact {
        p_value: e.p.clamp(0.0, 1.0),
        tables: e.count,
    })
}

/// Validate a contingency table; return its row and column sums.
pub(crate) fn check_table<R: AsRef<[u64]>>(
    what: &'static str,
    table: &[R],
) -> Result<(Vec<u64>, Vec<u64>), StatsError> {
    if table.is_empty() {
        return Err(StatsError::EmptyInput { what });
    }
    let nc = table[0].as_ref().len();
    for (i, r) in table.iter().enumerate() {
        if r.as_ref().len() != nc {
            return Err(StatsError::Degenerate {
                what,
                reason: format!(
                    "row {i} has {} columns but row 0 has {nc}",
                    r.as_ref().len()
                ),
            });
        }
    }
    if table.len() < 2 || nc < 2 {
        return Err(StatsError::Degenerate {
            what,
            reason: format!(
                "the table is {} x {nc}; at least 2 rows and 2 columns are needed",
                table.len()
            ),
        });
    }
    let rows: Vec<u64> = table.iter().map(|r| r.as_ref().iter().sum()).collect();
    let cols: Vec<u64> = (0..nc)
        .map(|j| table.iter().map(|r| r.as_ref()[j]).sum())
        .collect();
    if rows.iter().sum::<u64>() == 0 {
        return Err(StatsError::Degenerate {
            what,
            reason: "all counts are 0".to_string(),
        });
    }
    Ok((rows, cols))
}

/// `choose(n, k)` as a float (exact for the small values that matter here).
fn choose_f64(n: u64, k: u64) -> f64 {
    let k = k.min(n - k);
    (1..=k).fold(1.0, |acc, i| acc * (n - k + i) as f64 / i as f64)
}

/// `log(k!)` for `k = 0..=n`, by cumulative sums of `log(i)`.
fn log_factorials(n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n + 1);
    let mut acc = 0.0_f64;
    v.push(0.0);
    for i in 1..=n {
        acc += (i as f64).ln();
        v.push(acc);
    }
    v
}

struct Enum<'a> {
    lf: &'a [f64],
    cols: &'a [u64],
    nr: usize,
    nc: usize,
    row_rem: Vec<u64>,
    threshold: f64,
    konst: f64,
    p: f64,
    count: u64,
    too_large: bool,
}

impl Enum<'_> {
    /// Fill cell (i, j) with `col_rem` still to place in column j; `s` is the
    /// running sum of log(x!) over the cells filled so far.
    fn cell(&mut self, i: usize, j: usize, col_rem: u64, s: f64) {
        if self.too_large {
            return;
        }
        if j == self.nc - 1 {
            // last column: determined by the remaining row totals
            let s_all = s + self
                .row_rem
                .iter()
                .map(|&r| self.lf[r as usize])
                .sum::<f64>();
            self.count += 1;
            if self.count > FISHER_MAX_TABLES {
                self.too_large = true;
                return;
            }
            if s_all >= self.threshold {
                self.p += (self.konst - s_all).exp();
            }
            return;
        }
        if i == self.nr - 1 {
            // last row of this column: determined
            let x = col_rem;
            self.row_rem[i] -= x;
            let next = self.cols[j + 1];
            self.cell(0, j + 1, next, s + self.lf[x as usize]);
            self.row_rem[i] += x;
            return;
        }
        let below: u64 = self.row_rem[i + 1..].iter().sum();
        let lo = col_rem.saturating_sub(below);
        let hi = col_rem.min(self.row_rem[i]);
        for x in lo..=hi {
            self.row_rem[i] -= x;
            self.cell(i + 1, j, col_rem - x, s + self.lf[x as usize]);
            self.row_rem[i] += x;
        }
    }
}

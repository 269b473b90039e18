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

/// Upper limit on the nodes the two-column network search of
/// [`fisher_exact`] expands before it gives up with [`StatsError::TooLarge`].
pub const FISHER_MAX_NODES: u64 = 5_000_000;

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
///   `log P(x) <= log P(obs) + 3.45254e-7` ([`FISHER_RXC_LOG_TOL`]).
///   - r x 2 and 2 x c tables (the baseline-table case: a factor by two
///     arms) use a network search over rows (sorted by margin): a node is
///     (row, count left for the first column); the smallest and largest
///     completion and the total probability of all completions of a node are
///     known in closed form, so nodes that are entirely "as or more extreme"
///     or entirely not are settled without visiting their tables, and paths
///     that meet with equal partial sums are merged.
///   - larger tables (3 or more rows and columns) are enumerated one by one,
///     column by column, each cell within the bounds its margins leave.
///
///   Both give the same sum as FEXACT (which also merges and settles nodes),
///   up to rounding: within the 1e-9 relative tolerance of the conformance
///   tests on every reference table.
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
/// when the two-column search needs more than [`FISHER_MAX_NODES`] node
/// expansions, or, for larger tables, when a quick bound on the number of
/// tables exceeds [`FISHER_BOUND_LIMIT`] or the enumeration exceeds
/// [`FISHER_MAX_TABLES`] tables. R's FEXACT also gives up on such tables
/// unless given a larger `workspace` (it fails on gbsg's 12 x 2
/// `table(pmin(nodes, 12), hormon)` even with `workspace = 2e8`). Measured
/// on the 2-core development machine under load (CPU time per call, 5 calls,
/// release build): the 18 x 2 `table(inst, sex)` of lung takes 0.76 s here
/// and 1.40 s in R 4.2.2 (`fisher.test(t, workspace = 2e7)`, `user.self` of
/// `system.time`); 12 x 2 and smaller tables take milliseconds.
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

    let konst = rows.iter().map(|&r| lfact(r)).sum::<f64>()
        + cols.iter().map(|&c| lfact(c)).sum::<f64>()
        - lfact(n);
    let s_obs: f64 = table
        .iter()
        .flat_map(|r| r.as_ref().iter())
        .map(|&v| lfact(v))
        .sum();
    let threshold = s_obs - FISHER_RXC_LOG_TOL;

    // r x 2 (or 2 x c, transposed): network search with exact bounds.
    if nc == 2 || nr == 2 {
        let mut margins = if nc == 2 { rows.clone() } else { cols.clone() };
        let total_first = if nc == 2 { cols[0] } else { rows[0] };
        // Equal margins next to each other, so that paths that differ only by
        // a permutation within a group of equal rows meet and are merged.
        margins.sort_unstable();
        let (p, tables) = two_column_network(&lf, &margins, total_first, threshold, konst)
            .map_err(|expanded| StatsError::TooLarge {
                what: WHAT,
                reason: format!(
                    "the network search needed more than {FISHER_MAX_NODES} node \
                     expansions ({expanded} so far); R's FEXACT typically needs a larger \
                     `workspace` for such tables too"
                ),
            })?;
        return Ok(FisherExact {
            p_value: p.clamp(0.0, 1.0),
            tables,
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
    let mut e = Enum {
        lf: &lf,
        cols: &cols,
        nr,
        nc,
        row_rem: rows.clone(),
        threshold,
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

/// A node of [`two_column_network`]: (count left for the first column,
/// partial sum rounded to 1e-10), the index of its parent in the previous
/// level (while sorting), the partial sum of `log(x!)` terms and the log of
/// the summed weights of the paths merged into it.
#[derive(Clone, Copy)]
struct Node {
    key: (usize, i64),
    parent: u32,
    partial: f64,
    logw: f64,
}

/// Fisher's exact p for a table with two columns (rows with totals
/// `margins`, `total_first` in the first column), by the network idea of
/// Mehta & Patel (1983): rows are stages, a node is (row, count still to place
/// in the first column). For every node the smallest and largest possible
/// `sum log(x!)` of its completions are known (dynamic programming), and so is
/// the total probability of its completions (Vandermonde's identity:
/// `sum prod_j 1/(x_j! (r_j - x_j)!) = C(R, s) / prod_j r_j!`). A node whose
/// completions are all as or more extreme is added whole, one whose
/// completions are all less extreme is dropped, and only the others are
/// expanded. Returns the p-value and the number of tables with these margins
/// (saturating at `u64::MAX`), or the number of expanded nodes when it
/// exceeds [`FISHER_MAX_NODES`].
fn two_column_network(
    lf: &[f64],
    margins: &[u64],
    total_first: u64,
    threshold: f64,
    konst: f64,
) -> Result<(f64, u64), u64> {
    let k = margins.len();
    let s_max = total_first as usize;
    // suffix sums of the margins
    let mut suffix = vec![0u64; k + 1];
    for i in (0..k).rev() {
        suffix[i] = suffix[i + 1] + margins[i];
    }
    let cell = |i: usize, x: u64| lf[x as usize] + lf[(margins[i] - x) as usize];
    // lo[i][s], hi[i][s]: min / max of sum_{j>=i} log(x_j!(r_j-x_j)!) over
    // completions placing s in the first column; count[i][s]: number of them.
    let inf = f64::INFINITY;
    let mut lo = vec![vec![inf; s_max + 1]; k + 1];
    let mut hi = vec![vec![-inf; s_max + 1]; k + 1];
    let mut count = vec![vec![0u64; s_max + 1]; k + 1];
    lo[k][0] = 0.0;
    hi[k][0] = 0.0;
    count[k][0] = 1;
    for i in (0..k).rev() {
        for s in 0..=s_max {
            let top = (s as u64).min(margins[i]);
            for x in 0..=top {
                let rest = s - x as usize;
                if count[i + 1][rest] == 0 {
                    continue;
                }
                let c = cell(i, x);
                lo[i][s] = lo[i][s].min(c + lo[i + 1][rest]);
                hi[i][s] = hi[i][s].max(c + hi[i + 1][rest]);
                count[i][s] = count[i][s].saturating_add(count[i + 1][rest]);
            }
        }
    }
    // log of the summed weights exp(-sum cells) of all completions of (i, s)
    let mut suffix_lf = vec![0.0_f64; k + 1];
    for i in (0..k).rev() {
        suffix_lf[i] = suffix_lf[i + 1] + lf[margins[i] as usize];
    }
    let lmass = |i: usize, s: usize| {
        let r = suffix[i] as usize;
        lf[r] - lf[s] - lf[r - s] - suffix_lf[i]
    };
    // Breadth-first over rows, nodes in key order (a HashMap would change
    // the order of the floating-point sums from run to run). Paths reaching
    // the same node with the same partial sum (to 1e-10, i.e. equal up to
    // rounding) are merged, in the order they were made (parent by parent,
    // child by child), keeping the log of their summed weights
    // exp(konst - partial), as FEXACT merges equal "past path lengths".
    //
    // The parents are visited in key order, so the children made with one
    // count `x` come out already sorted by key (`c(i, x)` is added to every
    // parent's partial sum); they are collected in one run per `x`, and the
    // runs, laid end to end, are sorted by (key, parent) with the stable,
    // run-merging sort: a few merge passes instead of a full sort or an
    // ordered map, and the same merges in the same order as either.
    let mut p = 0.0;
    let mut expanded: u64 = 0;
    let max_margin = margins.iter().copied().max().unwrap_or(0) as usize;
    let mut level: Vec<Node> = vec![Node {
        key: (s_max, 0),
        parent: 0,
        partial: 0.0,
        logw: konst,
    }];
    let mut runs: Vec<Vec<Node>> = vec![Vec::new(); max_margin + 1];
    let mut next: Vec<Node> = Vec::new();
    for i in 0..k {
        for (parent, node) in level.iter().enumerate() {
            let (s, partial, logw) = (node.key.0, node.partial, node.logw);
            if count[i][s] == 0 {
                continue;
            }
            if partial + lo[i][s] >= threshold {
                p += (logw + lmass(i, s)).exp();
                continue;
            }
            if partial + hi[i][s] < threshold {
                continue;
            }
            expanded += 1;
            if expanded > FISHER_MAX_NODES {
                return Err(expanded);
            }
            let top = (s as u64).min(margins[i]);
            for x in 0..=top {
                let rest = s - x as usize;
                if count[i + 1][rest] == 0 {
                    continue;
                }
                let c = cell(i, x);
                let np = partial + c;
                let nw = logw - c;
                // settle the child at once when its bounds decide it
                if np + lo[i + 1][rest] >= threshold {
                    p += (nw + lmass(i + 1, rest)).exp();
                    continue;
                }
                if np + hi[i + 1][rest] < threshold {
                    continue;
                }
                runs[x as usize].push(Node {
                    key: (rest, (np * 1e10).round() as i64),
                    parent: parent as u32,
                    partial: np,
                    logw: nw,
                });
            }
        }
        next.clear();
        for run in &mut runs {
            next.append(run);
        }
        // (key, parent) is unique: the order of the paths as made
        next.sort_by_key(|n| (n.key, n.parent));
        level.clear();
        for n in &next {
            match level.last_mut() {
                Some(last) if last.key == n.key => {
                    let (a, b) = if last.logw > n.logw {
                        (last.logw, n.logw)
                    } else {
                        (n.logw, last.logw)
                    };
                    last.logw = a + (b - a).exp().ln_1p();
                }
                _ => level.push(Node { parent: 0, ..*n }),
            }
        }
    }
    // after the last row only (k, 0) remains: complete tables
    for n in &level {
        if n.key.0 == 0 && n.partial >= threshold {
            p += n.logw.exp();
        }
    }
    Ok((p, count[0][s_max]))
}

//! Nearest-neighbour matching on a distance (propensity score) as
//! `MatchIt::matchit(method = "nearest")`, and the balance statistics of
//! `summary.matchit`.

use crate::StatsError;
use crate::describe::{mean, var};
use crate::rng::SplitMix64;

/// The order in which treated units pick their controls: MatchIt's
/// `m.order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MOrder {
    /// Largest distance first (`m.order = "largest"`, MatchIt's default for
    /// a propensity score and the ATT). Equal distances in increasing
    /// `tie_key`.
    #[default]
    Largest,
    /// Smallest distance first (`m.order = "smallest"`). Equal distances in
    /// increasing `tie_key`.
    Smallest,
    /// A random order (`m.order = "random"`). R's `sample.int` and its RNG
    /// cannot be reproduced, so this is cohortflow's own: a Fisher–Yates
    /// shuffle of the treated units taken in increasing `tie_key`, driven by
    /// [`crate::rng::SplitMix64`] seeded with `seed`. Deterministic given the seed and the
    /// keys; never equal to MatchIt's random order.
    Random {
        /// Seed of the generator.
        seed: u64,
    },
    /// Increasing `tie_key` (`m.order = "data"`: the data order when the key
    /// is the row number).
    Data,
}

/// Which MatchIt behaviour [`nearest_neighbor_match`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchItCompat {
    /// MatchIt's documented algorithm, as its general matcher (`nn_matchC`)
    /// runs it: each treated unit takes the available control at the
    /// smallest `|d_c - d_t|`, only if `|d_c - d_t| <= caliper`; equal
    /// distances go to the smallest `tie_key`. The default.
    #[default]
    Intended,
    /// Bit-for-bit MatchIt 4.5.1 (Debian 12's `r-cran-matchit`) with a
    /// propensity-score distance (`nn_matchC_vec`). Versions 4.5.1 to 4.5.3
    /// call C's integer `abs()` on distance differences (MatchIt issue #163,
    /// "Caliper not working as intended on versions 4.5.1 - 4.5.3"): a
    /// difference below 1 counts as 0, so the caliper never excludes a
    /// propensity-score match, and between the nearest available control
    /// below and the nearest above the treated unit's score the one below is
    /// always taken. With `ratio > 1`, a later round also skips the control
    /// whose row follows (key + 1) one already matched to the same treated
    /// unit (an off-by-one in its "already matched" check). Use only to
    /// reproduce results computed with those versions; the key must then be
    /// the 0-based row number.
    V4_5_1,
}

/// Options of [`nearest_neighbor_match`]: the arguments of
/// `matchit(method = "nearest", ...)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchOptions {
    /// Number of controls per treated unit (`ratio`), at least 1.
    pub ratio: usize,
    /// Caliper in standard deviations of the distance (`caliper` with
    /// `std.caliper = TRUE`, MatchIt's default): the absolute caliper is
    /// `caliper * sd(distance)`, the sample SD over all units. `None`: no
    /// caliper.
    pub caliper: Option<f64>,
    /// Order in which treated units are matched (`m.order`).
    pub m_order: MOrder,
    /// Matching with replacement (`replace = TRUE`) is not implemented: must
    /// be `false`.
    pub replace: bool,
    /// [`MatchItCompat::Intended`] (default) or bug-compatible MatchIt 4.5.1.
    pub compat: MatchItCompat,
}

impl Default for MatchOptions {
    /// 1:1, no caliper, largest first, without replacement, intended
    /// algorithm: `matchit(method = "nearest")`'s defaults.
    fn default() -> Self {
        MatchOptions {
            ratio: 1,
            caliper: None,
            m_order: MOrder::Largest,
            replace: false,
            compat: MatchItCompat::Intended,
        }
    }
}

/// The result of [`nearest_neighbor_match`]. Indices are positions in the
/// input slices.
#[derive(Debug, Clone, PartialEq)]
pub struct Matching {
    /// For each treated unit with at least one control, in increasing index:
    /// its index and its controls' indices in the order they were matched
    /// (the row of `m.out$match.matrix`).
    pub matches: Vec<(usize, Vec<usize>)>,
    /// MatchIt's matching weights (ATT, `m.out$weights`), one per unit:
    /// 1 for a matched treated unit; for a control, the sum over the treated
    /// units it is matched to of `1 / (number of controls of that treated
    /// unit)`, then all control weights scaled so that they sum to the
    /// number of matched controls; 0 for unmatched units.
    pub weights: Vec<f64>,
    /// Number of treated units with at least one control.
    pub n_matched_treated: usize,
    /// Number of controls matched.
    pub n_matched_control: usize,
    /// Treated units without any control, in increasing index.
    pub unmatched_treated: Vec<usize>,
    /// The caliper on the distance scale, `caliper * sd(distance)`
    /// (`m.out$caliper`), if a caliper was used.
    pub caliper_distance: Option<f64>,
}

/// Nearest-neighbour matching without replacement on a scalar distance
/// (usually a propensity score from [`crate::logistic_regression`]) for the
/// ATT, as `MatchIt::matchit(treat ~ ..., method = "nearest", ratio, caliper,
/// m.order)` (MatchIt 4.5, `matchit2nearest`).
///
/// The algorithm ([`MatchItCompat::Intended`]):
///
/// 1. Caliper on the distance scale: `c = caliper * sd(distance)` over all
///    units (`process.caliper`, `std.caliper = TRUE`). As MatchIt, a caliper
///    is ignored when all distances are equal and refused (an error) when
///    the distance takes exactly two values.
/// 2. Treated units are ordered by `m_order`.
/// 3. In rounds `r = 1..ratio`: each treated unit in turn, if it is not
///    done, takes the available control with the smallest `|d_c - d_t|`
///    among those with `|d_c - d_t| <= c` (ties: smallest `tie_key`); a
///    matched control is no longer available. Every treated unit gets its
///    first control before any gets a second. Matching stops when no control
///    is left.
/// 4. Weights as [`Matching::weights`] (`weights.matrix`).
///
/// `tie_key` must be unique per unit (e.g. a patient number): every
/// ordering uses `(distance, tie_key)`, so the result (as a set of
/// `(treated key, control keys)`) does not depend on the row order. With the
/// 0-based row number as key, ties resolve as in MatchIt.
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::NonFinite`] (distance), [`StatsError::InvalidParameter`]
/// (`ratio = 0`, a caliper that is not finite and positive, `replace =
/// true`), [`StatsError::Degenerate`] (duplicate `tie_key`, no treated or no
/// control units, a two-valued distance with a caliper, no unit matched —
/// MatchIt's "No units were matched").
///
/// References: Ho DE, Imai K, King G, Stuart EA (2011), MatchIt:
/// Nonparametric Preprocessing for Parametric Causal Inference, J Stat Softw
/// 42(8); Austin PC (2011), Optimal caliper widths for propensity-score
/// matching..., Pharm Stat 10:150–161 (caliper of 0.2 SD); Stuart EA (2010),
/// Matching methods for causal inference: a review, Stat Sci 25:1–21.
pub fn nearest_neighbor_match(
    distance: &[f64],
    treated: &[bool],
    tie_key: &[u64],
    opts: &MatchOptions,
) -> Result<Matching, StatsError> {
    nn_match(distance, treated, tie_key, None, opts)
}

/// [`nearest_neighbor_match`] with exact matching (`matchit(..., exact =
/// ~ x)`): a treated unit takes controls of its own `exact` label only.
///
/// As MatchIt, everything but the choice of controls is done on the whole
/// sample: the caliper on the distance scale is `caliper * sd(distance)`
/// over all units (a label's own spread plays no part, and a label whose
/// distance takes two values is no reason to refuse the caliper), the
/// treated units are ordered by `m_order` once (with `Random`, one
/// permutation of all of them), the weights are scaled over the whole
/// sample, and only "no unit matched at all" is an error: a label with no
/// control, no treated unit or no control within the caliper leaves its
/// treated units in [`Matching::unmatched_treated`].
pub fn nearest_neighbor_match_exact(
    distance: &[f64],
    treated: &[bool],
    tie_key: &[u64],
    exact: &[u64],
    opts: &MatchOptions,
) -> Result<Matching, StatsError> {
    if exact.len() != distance.len() {
        return Err(StatsError::LengthMismatch {
            what: "nearest_neighbor_match_exact",
            left: "distance",
            left_len: distance.len(),
            right: "exact",
            right_len: exact.len(),
        });
    }
    nn_match(distance, treated, tie_key, Some(exact), opts)
}

fn nn_match(
    distance: &[f64],
    treated: &[bool],
    tie_key: &[u64],
    exact: Option<&[u64]>,
    opts: &MatchOptions,
) -> Result<Matching, StatsError> {
    const WHAT: &str = "nearest_neighbor_match";
    let n = distance.len();
    if n == 0 {
        return Err(StatsError::EmptyInput { what: WHAT });
    }
    for (right, right_len) in [("treated", treated.len()), ("tie_key", tie_key.len())] {
        if right_len != n {
            return Err(StatsError::LengthMismatch {
                what: WHAT,
                left: "distance",
                left_len: n,
                right,
                right_len,
            });
        }
    }
    if let Some((index, &value)) = distance.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StatsError::NonFinite {
            what: WHAT,
            name: "distance",
            index,
            value,
        });
    }
    if opts.ratio == 0 {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "ratio",
            value: 0.0,
            expected: "at least 1",
        });
    }
    if opts.replace {
        return Err(StatsError::InvalidParameter {
            what: WHAT,
            name: "replace",
            value: 1.0,
            expected: "false (matching with replacement is not implemented)",
        });
    }
    if let Some(c) = opts.caliper {
        if !(c.is_finite() && c > 0.0) {
            return Err(StatsError::InvalidParameter {
                what: WHAT,
                name: "caliper",
                value: c,
                expected: "a positive finite number of standard deviations",
            });
        }
    }
    {
        let mut keys = tie_key.to_vec();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!(
                    "tie_key {} occurs more than once; each unit needs its own key so that the \
                     matching does not depend on the row order",
                    w[0]
                ),
            });
        }
    }
    let n1 = treated.iter().filter(|&&t| t).count();
    if n1 == 0 || n1 == n {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!(
                "{n1} treated and {} control units; both groups are needed",
                n - n1
            ),
        });
    }

    // caliper on the distance scale (MatchIt's process.caliper)
    let caliper_distance = match opts.caliper {
        None => None,
        Some(c) => {
            let mut uniq = distance.to_vec();
            uniq.sort_by(f64::total_cmp);
            uniq.dedup();
            match uniq.len() {
                1 => None,
                2 => {
                    return Err(StatsError::Degenerate {
                        what: WHAT,
                        reason: "the distance takes only two values; MatchIt refuses a caliper \
                                 on a binary variable"
                            .to_string(),
                    });
                }
                _ => Some(c * var(distance).sqrt()),
            }
        }
    };

    // treated units in m.order
    let mut order: Vec<usize> = (0..n).filter(|&i| treated[i]).collect();
    match opts.m_order {
        MOrder::Largest => order.sort_by(|&a, &b| {
            distance[b]
                .total_cmp(&distance[a])
                .then(tie_key[a].cmp(&tie_key[b]))
        }),
        MOrder::Smallest => order.sort_by(|&a, &b| {
            distance[a]
                .total_cmp(&distance[b])
                .then(tie_key[a].cmp(&tie_key[b]))
        }),
        MOrder::Data => order.sort_by_key(|&i| tie_key[i]),
        MOrder::Random { seed } => {
            order.sort_by_key(|&i| tie_key[i]);
            let mut rng = SplitMix64::new(seed);
            for i in (1..order.len()).rev() {
                let j = rng.below(i + 1);
                order.swap(i, j);
            }
        }
    }

    let matcher = match opts.compat {
        MatchItCompat::Intended => match_intended,
        MatchItCompat::V4_5_1 => match_v451,
    };
    let mm = match exact {
        None => matcher(
            distance,
            treated,
            tie_key,
            &order,
            opts.ratio,
            caliper_distance,
        ),
        Some(labels) => {
            // Each label on its own: controls are never shared between
            // labels, so matching them one by one in the global order of
            // the treated units is matching them all at once.
            let mut mm: Vec<Vec<usize>> = vec![Vec::new(); n];
            let mut distinct = labels.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            for label in distinct {
                let idx: Vec<usize> = (0..n).filter(|&i| labels[i] == label).collect();
                let mut local = vec![usize::MAX; n];
                for (k, &i) in idx.iter().enumerate() {
                    local[i] = k;
                }
                let sub = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
                let (d, t): (Vec<f64>, Vec<bool>) =
                    (sub(distance), idx.iter().map(|&i| treated[i]).collect());
                // MatchIt 4.5.1 matches each label with positions local
                // to it, and its off-by-one "already matched" check
                // compares those: in that mode the label's own positions
                // are the keys (their order is the keys' order when the
                // keys are row numbers, as that mode assumes).
                let key: Vec<u64> = match opts.compat {
                    MatchItCompat::Intended => idx.iter().map(|&i| tie_key[i]).collect(),
                    MatchItCompat::V4_5_1 => {
                        let mut by_key = idx.clone();
                        by_key.sort_by_key(|&i| tie_key[i]);
                        let mut key = vec![0; idx.len()];
                        for (rank, i) in by_key.into_iter().enumerate() {
                            key[local[i]] = rank as u64;
                        }
                        key
                    }
                };
                let sub_order: Vec<usize> = order
                    .iter()
                    .filter(|&&i| labels[i] == label)
                    .map(|&i| local[i])
                    .collect();
                let sub_mm = matcher(&d, &t, &key, &sub_order, opts.ratio, caliper_distance);
                for (k, controls) in sub_mm.into_iter().enumerate() {
                    mm[idx[k]] = controls.into_iter().map(|c| idx[c]).collect();
                }
            }
            mm
        }
    };

    // weights (weights.matrix, ATT)
    let mut weights = vec![0.0; n];
    let mut matches = Vec::new();
    let mut unmatched_treated = Vec::new();
    for i in 0..n {
        if !treated[i] {
            continue;
        }
        let ctrl = &mm[i];
        if ctrl.is_empty() {
            unmatched_treated.push(i);
            continue;
        }
        weights[i] = 1.0;
        let k = ctrl.len() as f64;
        for &c in ctrl {
            weights[c] += 1.0 / k;
        }
        matches.push((i, ctrl.clone()));
    }
    if matches.is_empty() {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: "no units were matched (is the caliper too narrow?)".to_string(),
        });
    }
    let n_matched_control = (0..n).filter(|&i| !treated[i] && weights[i] > 0.0).count();
    let sum_c: f64 = (0..n).filter(|&i| !treated[i]).map(|i| weights[i]).sum();
    for i in 0..n {
        if !treated[i] {
            weights[i] = weights[i] * n_matched_control as f64 / sum_c;
        }
    }
    Ok(Matching {
        n_matched_treated: matches.len(),
        matches,
        weights,
        n_matched_control,
        unmatched_treated,
        caliper_distance,
    })
}

/// The documented algorithm (MatchIt's `nn_matchC`): returns, per unit, its
/// controls in match order (empty for controls and unmatched treated).
fn match_intended(
    d: &[f64],
    treated: &[bool],
    key: &[u64],
    order: &[usize],
    ratio: usize,
    caliper: Option<f64>,
) -> Vec<Vec<usize>> {
    let n = d.len();
    // controls sorted by (distance, key)
    let mut ctrl: Vec<usize> = (0..n).filter(|&i| !treated[i]).collect();
    ctrl.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(key[a].cmp(&key[b])));
    let m = ctrl.len();
    let mut avail = Avail::new(m);
    let mut left_remaining = m;
    let mut mm: Vec<Vec<usize>> = vec![Vec::new(); n];
    'rounds: for _r in 0..ratio {
        for &t in order {
            if left_remaining == 0 {
                break 'rounds;
            }
            let dt = d[t];
            // first control position with distance >= dt
            let pos = ctrl.partition_point(|&c| d[c] < dt);
            let within = |delta: f64| caliper.is_none_or(|c| delta <= c);
            let mut best: Option<(f64, u64, usize)> = None; // (delta, key, position)
            let mut consider = |delta: f64, p: usize| {
                let c = ctrl[p];
                let better = match best {
                    None => true,
                    Some((bd, bk, _)) => delta < bd || (delta == bd && key[c] < bk),
                };
                if better {
                    best = Some((delta, key[c], p));
                }
            };
            // left: the nearest available below, and every available one at
            // the same |delta|
            if let Some(p) = avail.left(pos) {
                let dl = (d[ctrl[p]] - dt).abs();
                if within(dl) {
                    let mut q = Some(p);
                    while let Some(qq) = q {
                        if (d[ctrl[qq]] - dt).abs() != dl {
                            break;
                        }
                        consider(dl, qq);
                        q = if qq == 0 { None } else { avail.left(qq) };
                    }
                }
            }
            if let Some(p) = avail.right(pos) {
                let dr = (d[ctrl[p]] - dt).abs();
                if within(dr) {
                    let mut q = Some(p);
                    while let Some(qq) = q {
                        if (d[ctrl[qq]] - dt).abs() != dr {
                            break;
                        }
                        consider(dr, qq);
                        q = avail.right(qq + 1);
                    }
                }
            }
            if let Some((_, _, p)) = best {
                mm[t].push(ctrl[p]);
                avail.remove(p);
                left_remaining -= 1;
            }
        }
    }
    mm
}

/// Available positions `0..m` with "nearest available at or left of /
/// right of" queries (path-compressed skip pointers).
struct Avail {
    /// `right[i]`: a position `>= i` on the way to the first available one;
    /// `m` = none.
    right: Vec<usize>,
    /// `left[i + 1]`: a position `<= i` (+1) on the way to the last
    /// available one; 0 = none.
    left: Vec<usize>,
}

impl Avail {
    fn new(m: usize) -> Self {
        Avail {
            right: (0..=m).collect(),
            left: (0..=m).collect(),
        }
    }

    /// First available position `>= i`.
    fn right(&mut self, i: usize) -> Option<usize> {
        let m = self.right.len() - 1;
        let mut r = i.min(m);
        while self.right[r] != r {
            r = self.right[r];
        }
        let mut j = i.min(m);
        while self.right[j] != j {
            let next = self.right[j];
            self.right[j] = r;
            j = next;
        }
        (r < m).then_some(r)
    }

    /// Last available position `< i`.
    fn left(&mut self, i: usize) -> Option<usize> {
        let mut r = i;
        while self.left[r] != r {
            r = self.left[r];
        }
        let mut j = i;
        while self.left[j] != j {
            let next = self.left[j];
            self.left[j] = r;
            j = next;
        }
        (r > 0).then(|| r - 1)
    }

    fn remove(&mut self, p: usize) {
        self.right[p] = p + 1;
        self.left[p + 1] = p;
    }
}

/// C's `abs(int)` applied to a double, as MatchIt 4.5.1's `nn_matchC_vec`
/// does: truncation toward zero, then the absolute value.
fn int_abs(x: f64) -> f64 {
    f64::from((x as i32).saturating_abs())
}

/// MatchIt 4.5.1's `nn_matchC_vec`, reproduced with its integer `abs()` and
/// its off-by-one "already matched to this unit" check.
fn match_v451(
    d: &[f64],
    treated: &[bool],
    key: &[u64],
    order: &[usize],
    ratio: usize,
    caliper: Option<f64>,
) -> Vec<Vec<usize>> {
    let n = d.len();
    // all units sorted by distance, ties by key (R's stable sort.list)
    let mut s: Vec<usize> = (0..n).collect();
    s.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(key[a].cmp(&key[b])));
    let mut pos_of = vec![0; n];
    for (p, &u) in s.iter().enumerate() {
        pos_of[u] = p;
    }
    let mut can = vec![false; n]; // by sorted position
    for (p, &u) in s.iter().enumerate() {
        can[p] = !treated[u];
    }
    let mut remaining = can.iter().filter(|&&c| c).count();
    let mut mm: Vec<Vec<usize>> = vec![Vec::new(); n];
    for r in 0..ratio {
        for &t in order {
            let ii = pos_of[t];
            let dt = d[t];
            let row: Vec<u64> = mm[t].iter().map(|&c| key[c]).collect();
            let ok = |p: usize, can: &[bool]| -> Option<bool> {
                // None: skip; Some(true): candidate; Some(false): stop
                let u = s[p];
                if treated[u] {
                    return None;
                }
                if r > 0 && row.iter().any(|&k| key[u] == k.wrapping_add(1)) {
                    return None;
                }
                if !can[p] {
                    return None;
                }
                if let Some(c) = caliper {
                    if int_abs(dt - d[u]) > c {
                        return Some(false);
                    }
                }
                Some(true)
            };
            let mut k_left = None;
            for p in (0..ii).rev() {
                match ok(p, &can) {
                    None => continue,
                    Some(true) => {
                        k_left = Some(p);
                        break;
                    }
                    Some(false) => break,
                }
            }
            let mut k_right = None;
            for p in (ii + 1)..n {
                match ok(p, &can) {
                    None => continue,
                    Some(true) => {
                        k_right = Some(p);
                        break;
                    }
                    Some(false) => break,
                }
            }
            let k = match (k_left, k_right) {
                (Some(l), Some(rr)) => {
                    if int_abs(d[s[l]] - dt) <= int_abs(d[s[rr]] - dt) {
                        l
                    } else {
                        rr
                    }
                }
                (Some(l), None) => l,
                (None, Some(rr)) => rr,
                (None, None) => continue,
            };
            mm[t].push(s[k]);
            can[k] = false;
            remaining -= 1;
            if remaining == 0 {
                return mm;
            }
        }
    }
    mm
}

/// One row of MatchIt's balance table: a covariate's balance between the
/// treated and the control group under the given weights, as
/// `summary.matchit(standardize = TRUE)` computes it for the ATT
/// (`MatchIt:::bal1var` with `s.d.denom = "treated"`). With all weights 1 it
/// is the row of `summary(m, un = TRUE)$sum.all`; with
/// [`Matching::weights`], the row of `$sum.matched`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BalanceRow {
    /// Weighted mean in the treated group, `sum(w x) / sum(w)` (`Means
    /// Treated`).
    pub mean_treated: f64,
    /// Weighted mean in the control group (`Means Control`).
    pub mean_control: f64,
    /// `Std. Mean Diff.`: `(mean_treated - mean_control) / s_t` where `s_t`
    /// is the standard deviation of the covariate over *all* treated units,
    /// unweighted (so the same denominator before and after matching): the
    /// sample SD (`n - 1`) for a continuous covariate, `sqrt(p (1 - p))` for
    /// a binary one. If `s_t` is below `sqrt(DBL_EPSILON)`, the pooled SD
    /// over both groups is used instead (`MatchIt:::pooled_sd`). When
    /// `|difference| <= sqrt(DBL_EPSILON)` it is the raw difference. `None`
    /// when both groups have fewer than two units of non-zero weight (R `NA`).
    pub std_mean_diff: Option<f64>,
    /// `Var. Ratio`: weighted variance treated / weighted variance control,
    /// each `sum(w (x - m)^2) / (1 - sum(w^2))` with `w` normalised to sum
    /// to 1 (`MatchIt:::wvar`). `None` for a binary covariate (R `NA`) or
    /// too few units.
    pub var_ratio: Option<f64>,
    /// `eCDF Mean`: mean over the distinct values of `x` (all units, also
    /// those of weight 0) of `|F_t(x) - F_c(x)|`, the weighted empirical CDFs;
    /// for a binary covariate `|mean_treated - mean_control|`.
    pub ecdf_mean: Option<f64>,
    /// `eCDF Max`: the maximum of the same differences (the weighted
    /// Kolmogorov–Smirnov statistic).
    pub ecdf_max: Option<f64>,
}

/// Balance of one covariate `x` between `treated` and control units under
/// `weights` (all 1 before matching, [`Matching::weights`] after), as one
/// row of `summary(matchit(...), un = TRUE)` (MatchIt 4.5, `bal1var`,
/// `wm`, `wvar`, `qqsum`, `pooled_sd`); see [`BalanceRow`] for each formula.
///
/// `binary` must be `true` exactly when every `x` is 0 or 1, as MatchIt
/// decides (a factor level's indicator is binary); it switches the SD to
/// `sqrt(p (1 - p))`, drops the variance ratio and makes the eCDF statistics
/// the absolute difference in proportions.
///
/// Errors: [`StatsError::EmptyInput`], [`StatsError::LengthMismatch`],
/// [`StatsError::NonFinite`] (`x`, `weights`), [`StatsError::Degenerate`]
/// (negative weight, a group with zero total weight, `binary = true` with a
/// value other than 0 or 1).
///
/// References: Austin PC (2009), Balance diagnostics for comparing the
/// distribution of baseline covariates between treatment groups in
/// propensity-score matched samples, Stat Med 28:3083–3107; Stuart EA, Lee
/// BK, Leacy FP (2013), Prognostic score-based balance measures..., J Clin
/// Epidemiol 66:S84–S90 (eCDF statistics); MatchIt `summary.matchit`.
pub fn balance(
    x: &[f64],
    treated: &[bool],
    weights: &[f64],
    binary: bool,
) -> Result<BalanceRow, StatsError> {
    const WHAT: &str = "balance";
    let n = x.len();
    if n == 0 {
        return Err(StatsError::EmptyInput { what: WHAT });
    }
    for (right, right_len) in [("treated", treated.len()), ("weights", weights.len())] {
        if right_len != n {
            return Err(StatsError::LengthMismatch {
                what: WHAT,
                left: "x",
                left_len: n,
                right,
                right_len,
            });
        }
    }
    for (name, v) in [("x", x), ("weights", weights)] {
        if let Some((index, &value)) = v.iter().enumerate().find(|(_, a)| !a.is_finite()) {
            return Err(StatsError::NonFinite {
                what: WHAT,
                name,
                index,
                value,
            });
        }
    }
    if let Some(i) = weights.iter().position(|&w| w < 0.0) {
        return Err(StatsError::Degenerate {
            what: WHAT,
            reason: format!("weights[{i}] = {} is negative", weights[i]),
        });
    }
    if binary {
        if let Some(i) = x.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!("binary = true but x[{i}] = {} is not 0 or 1", x[i]),
            });
        }
    }
    let (x1, w1): (Vec<f64>, Vec<f64>) = (0..n)
        .filter(|&i| treated[i])
        .map(|i| (x[i], weights[i]))
        .unzip();
    let (x0, w0): (Vec<f64>, Vec<f64>) = (0..n)
        .filter(|&i| !treated[i])
        .map(|i| (x[i], weights[i]))
        .unzip();
    for (group, w) in [("treated", &w1), ("control", &w0)] {
        if sum(w) <= 0.0 {
            return Err(StatsError::Degenerate {
                what: WHAT,
                reason: format!("the {group} group has no units of positive weight"),
            });
        }
    }
    let mean_treated = wmean(&x1, &w1);
    let mean_control = wmean(&x0, &w0);
    let mdiff = mean_treated - mean_control;
    let too_small = w1.iter().filter(|&&w| w != 0.0).count() < 2
        && w0.iter().filter(|&&w| w != 0.0).count() < 2;
    let tol = f64::EPSILON.sqrt();
    let std_mean_diff = if mdiff.abs() > tol {
        if too_small {
            None
        } else {
            let ones = vec![1.0; x1.len()];
            let mut sd = wvar(&x1, binary, &ones).sqrt();
            if !sd.is_finite() || sd < tol {
                sd = pooled_sd(x, treated, binary);
            }
            Some(mdiff / sd)
        }
    } else {
        Some(mdiff)
    };
    let (var_ratio, ecdf_mean, ecdf_max) = if binary {
        (None, Some(mdiff.abs()), Some(mdiff.abs()))
    } else if too_small {
        (None, None, None)
    } else {
        let vr = wvar(&x1, false, &w1) / wvar(&x0, false, &w0);
        let (m, mx) = ecdf_diffs(x, treated, weights);
        (Some(vr), Some(m), Some(mx))
    };
    Ok(BalanceRow {
        mean_treated,
        mean_control,
        std_mean_diff,
        var_ratio,
        ecdf_mean,
        ecdf_max,
    })
}

/// Neumaier-compensated sum (R's `sum` accumulates in extended precision).
fn sum(v: &[f64]) -> f64 {
    let mut s = 0.0_f64;
    let mut c = 0.0_f64;
    for &x in v {
        let t = s + x;
        if s.abs() >= x.abs() {
            c += (s - t) + x;
        } else {
            c += (x - t) + s;
        }
        s = t;
    }
    s + c
}

/// `MatchIt:::wm`: `sum(x * w) / sum(w)`.
fn wmean(x: &[f64], w: &[f64]) -> f64 {
    let xw: Vec<f64> = x.iter().zip(w).map(|(a, b)| a * b).collect();
    sum(&xw) / sum(w)
}

/// `MatchIt:::wvar(x, bin.var, w)`.
fn wvar(x: &[f64], binary: bool, w: &[f64]) -> f64 {
    let sw = sum(w);
    let wn: Vec<f64> = w.iter().map(|v| v / sw).collect();
    let mx = sum(&x.iter().zip(&wn).map(|(a, b)| a * b).collect::<Vec<_>>());
    if binary {
        mx * (1.0 - mx)
    } else {
        let num = sum(&x
            .iter()
            .zip(&wn)
            .map(|(a, b)| b * ((a - mx) * (a - mx)))
            .collect::<Vec<_>>());
        let w2 = sum(&wn.iter().map(|b| b * b).collect::<Vec<_>>());
        num / (1.0 - w2)
    }
}

/// `MatchIt:::pooled_sd(x, t, w = 1, bin.var, contribution = "proportional")`.
fn pooled_sd(x: &[f64], treated: &[bool], binary: bool) -> f64 {
    let n = x.len() as f64;
    let groups = [true, false];
    let v = if binary {
        groups
            .iter()
            .map(|&g| {
                let xs: Vec<f64> = (0..x.len())
                    .filter(|&i| treated[i] == g)
                    .map(|i| x[i])
                    .collect();
                let sxi = sum(&xs);
                let ni = xs.len() as f64;
                sxi * (1.0 - sxi / ni) / n
            })
            .sum::<f64>()
    } else {
        let mut centred = x.to_vec();
        for &g in &groups {
            let xs: Vec<f64> = (0..x.len())
                .filter(|&i| treated[i] == g)
                .map(|i| x[i])
                .collect();
            let m = sum(&xs) / xs.len() as f64;
            for i in 0..x.len() {
                if treated[i] == g {
                    centred[i] -= m;
                }
            }
        }
        let wn = 1.0 / n;
        let num = sum(&centred.iter().map(|c| wn * c * c).collect::<Vec<_>>());
        num / (1.0 - n * wn * wn)
    };
    v.sqrt()
}

/// `MatchIt:::qqsum(x, t, w, standardize = TRUE)`: mean and max of the
/// absolute differences between the weighted eCDFs of the two groups, at
/// every distinct value of `x`.
fn ecdf_diffs(x: &[f64], treated: &[bool], weights: &[f64]) -> (f64, f64) {
    let n = x.len();
    let s1 = sum(&(0..n)
        .filter(|&i| treated[i])
        .map(|i| weights[i])
        .collect::<Vec<_>>());
    let s0 = sum(&(0..n)
        .filter(|&i| !treated[i])
        .map(|i| weights[i])
        .collect::<Vec<_>>());
    let mut ord: Vec<usize> = (0..n).collect();
    ord.sort_by(|&a, &b| x[a].total_cmp(&x[b])); // stable, as R's order()
    // the group of the smallest x is counted negatively (sign is irrelevant
    // after abs(), but the summation order is R's)
    let first = treated[ord[0]];
    let mut cum = 0.0;
    let mut diffs = Vec::new();
    for (k, &i) in ord.iter().enumerate() {
        let w = if treated[i] {
            weights[i] / s1
        } else {
            weights[i] / s0
        };
        cum += if treated[i] == first { -w } else { w };
        if k + 1 == n || x[ord[k + 1]] != x[i] {
            diffs.push(cum.abs());
        }
    }
    let mx = diffs.iter().fold(0.0_f64, |a, &b| a.max(b));
    (mean(&diffs), mx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avail_skips_removed_positions() {
        let mut a = Avail::new(5);
        assert_eq!(a.right(0), Some(0));
        assert_eq!(a.left(5), Some(4));
        a.remove(4);
        a.remove(3);
        assert_eq!(a.left(5), Some(2));
        assert_eq!(a.right(3), None);
        a.remove(0);
        assert_eq!(a.right(0), Some(1));
        assert_eq!(a.left(1), None);
    }

    #[test]
    fn int_abs_truncates_like_c() {
        assert_eq!(int_abs(0.9), 0.0);
        assert_eq!(int_abs(-1.7), 1.0);
        assert_eq!(int_abs(2.0), 2.0);
    }
}

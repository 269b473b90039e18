//! R's `aeqSurv`: merging of times that differ only by rounding noise.

use crate::StatsError;

/// Tolerance of [`aeq_times`]: `sqrt(.Machine$double.eps)` = 2^-26, about
/// 1.49e-8, the default of R's `aeqSurv`.
pub const AEQ_TOLERANCE: f64 = 1.490_116_119_384_765_6e-8;

/// Merge near-tied times exactly as R's `survival::aeqSurv` (the `timefix =
/// TRUE` default of `survfit` and `survdiff`, survival >= 2.40).
///
/// Let `y` be the sorted distinct times and `dy[i] = y[i+1] - y[i]`. A gap is
/// *tied* when `dy[i] <= tol` or `dy[i] / mean(|y|) <= tol`, with
/// `tol =` [`AEQ_TOLERANCE`]. The cut points are `y[0]` and every `y[i+1]`
/// whose gap is not tied; every time is replaced by the largest cut point
/// `<=` it (R: `cuts[findInterval(x, cuts)]`). Chains of near ties therefore
/// collapse onto their smallest member. When nothing is tied the input is
/// returned unchanged.
///
/// [`crate::kaplan_meier`], [`crate::kaplan_meier_by_group`] and
/// [`crate::log_rank`] apply this rule to all the times they are given, via
/// [`crate::SurvTimes::new`] (which computes the same merged times as ranks
/// among the distinct merged times, without a sort of the rows). R's
/// `survfit(Surv(t, d) ~ g)` calls it once on the pooled times of all groups,
/// which [`crate::kaplan_meier_by_group`] reproduces; [`crate::kaplan_meier`]
/// on one group's rows sees only that group's times, and so can differ from
/// the grouped fit when a near tie exists only across groups.
///
/// Errors: [`StatsError::NonFinite`] if a time is NaN or infinite (R drops
/// non-finite values from the cut computation; cohortflow rejects them
/// earlier).
///
/// Reference: Therneau T, "Roundoff error and tied times", vignette of the R
/// survival package (`vignette("tiedtimes", package = "survival")`).
pub fn aeq_times(time: &[f64]) -> Result<Vec<f64>, StatsError> {
    for (i, &t) in time.iter().enumerate() {
        if !t.is_finite() {
            return Err(StatsError::NonFinite {
                what: "aeq_times",
                name: "time",
                index: i,
                value: t,
            });
        }
    }
    Ok(aeq_unchecked(time))
}

/// [`aeq_times`] for times already known to be finite.
pub(crate) fn aeq_unchecked(time: &[f64]) -> Vec<f64> {
    let mut y: Vec<f64> = time.to_vec();
    y.sort_by(f64::total_cmp);
    y.dedup();
    if y.len() < 2 {
        return time.to_vec();
    }
    let AeqCuts { cuts, any_tied, .. } = aeq_cuts(&y);
    if !any_tied {
        return time.to_vec();
    }
    time.iter()
        .map(|&t| {
            // largest cut <= t; every t >= cuts[0] since cuts[0] = min(t)
            let k = cuts.partition_point(|&c| c <= t);
            cuts[k.saturating_sub(1)]
        })
        .collect()
}

/// The cut points of R's `aeqSurv` on sorted distinct finite values.
pub(crate) struct AeqCuts {
    /// `y[0]` and every `y[i + 1]` whose gap to `y[i]` is not tied.
    pub(crate) cuts: Vec<f64>,
    /// For each `y[j]`, the index of its cut (the largest cut `<= y[j]`).
    pub(crate) cut_of: Vec<u32>,
    /// Whether any gap was tied (otherwise `cuts == y`).
    pub(crate) any_tied: bool,
}

/// The one `aeqSurv` loop of the crate (see [`aeq_times`] for the rule):
/// `y` sorted ascending, distinct, finite. [`aeq_times`],
/// [`crate::SurvTimes`] and the Cox models' [`timefix_rows`] all merge
/// through it.
pub(crate) fn aeq_cuts(y: &[f64]) -> AeqCuts {
    let mut cuts: Vec<f64> = Vec::with_capacity(y.len());
    let mut cut_of: Vec<u32> = Vec::with_capacity(y.len());
    let mut any_tied = false;
    let Some(&first) = y.first() else {
        return AeqCuts {
            cuts,
            cut_of,
            any_tied,
        };
    };
    cuts.push(first);
    cut_of.push(0);
    if y.len() >= 2 {
        let mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
        let tol = AEQ_TOLERANCE;
        for w in y.windows(2) {
            let dy = w[1] - w[0];
            let tied = dy <= tol || dy / mean_abs <= tol;
            if tied {
                any_tied = true;
            } else {
                cuts.push(w[1]);
            }
            cut_of.push((cuts.len() - 1) as u32);
        }
    }
    AeqCuts {
        cuts,
        cut_of,
        any_tied,
    }
}

/// Open-addressing hash map from the bits of a time to a dense id (ids in
/// order of first appearance). Keys are the bits of finite times, so
/// `u64::MAX`, a NaN pattern, marks an empty slot.
pub(crate) struct IdTable {
    slots: Vec<(u64, u32)>,
    shift: u32,
    len: usize,
}

const EMPTY: u64 = u64::MAX; // a NaN pattern: never the bits of a valid time

impl IdTable {
    pub(crate) fn new() -> Self {
        let bits = 12;
        IdTable {
            slots: vec![(EMPTY, 0); 1 << bits],
            shift: 64 - bits,
            len: 0,
        }
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        let h = (key ^ (key >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> self.shift) as usize
    }

    /// The id of `key`, inserting it with `new_id` if absent.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, key: u64, new_id: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, v) = self.slots[i];
            if k == key {
                return v;
            }
            if k == EMPTY {
                self.slots[i] = (key, new_id);
                self.len += 1;
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return new_id;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![(EMPTY, 0); size]);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for (k, v) in old {
            if k != EMPTY {
                let mut i = self.slot(k);
                while self.slots[i].0 != EMPTY {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (k, v);
            }
        }
    }
}

/// The distinct values of `all` (finite, `>= 0`, no `-0.0`; ascending) and
/// the index of each element among them, through [`IdTable`], or `None` if
/// there are more than `limit` distinct values.
fn few_distinct(all: &[f64], limit: usize) -> Option<(Vec<f64>, Vec<u32>)> {
    let mut table = IdTable::new();
    let mut vals: Vec<f64> = Vec::new();
    let mut idx: Vec<u32> = Vec::with_capacity(all.len());
    for &t in all {
        let id = table.get_or_insert(t.to_bits(), vals.len() as u32);
        if id as usize == vals.len() {
            if vals.len() == limit {
                return None;
            }
            vals.push(t);
        }
        idx.push(id);
    }
    let mut ord: Vec<u32> = (0..vals.len() as u32).collect();
    ord.sort_unstable_by(|&a, &b| vals[a as usize].total_cmp(&vals[b as usize]));
    let mut rank = vec![0u32; vals.len()];
    for (r, &id) in ord.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    idx.iter_mut().for_each(|i| *i = rank[*i as usize]);
    Some((ord.iter().map(|&id| vals[id as usize]).collect(), idx))
}

/// [`few_distinct`] for many distinct values: one sort of (value, position).
fn sorted_distinct(all: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let mut pairs: Vec<(u64, u32)> = all
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_bits(), i as u32))
        .collect();
    pairs.sort_unstable();
    let mut idx = vec![0u32; all.len()];
    let mut u: Vec<f64> = Vec::new();
    for w in 0..pairs.len() {
        if w == 0 || pairs[w].0 != pairs[w - 1].0 {
            u.push(f64::from_bits(pairs[w].0));
        }
        idx[pairs[w].1 as usize] = (u.len() - 1) as u32;
    }
    (u, idx)
}

/// Row times after R's `aeqSurv`: the merged distinct times (ascending, one
/// per distinct input value, so equal merged values can repeat) and the
/// index of each row's stop (and start) time among them.
pub(crate) struct TimeIndex {
    pub(crate) merged: Vec<f64>,
    pub(crate) stop_idx: Vec<u32>,
    pub(crate) start_idx: Option<Vec<u32>>,
}

/// R's `aeqSurv` on `Surv(stop, event)` or `Surv(start, stop, event)` (the
/// Cox models): [`aeq_cuts`] applied to the distinct values of the time
/// columns together (its result depends only on those), then mapped back to
/// the rows. Times must be finite and `>= 0` (checked by the caller).
///
/// Errors: [`StatsError::EmptyInterval`] when merging makes a row's start
/// equal to its stop (R: "aeqSurv exception, an interval has effective
/// length 0").
pub(crate) fn timefix_rows(
    what: &'static str,
    stop: &[f64],
    start: Option<&[f64]>,
) -> Result<TimeIndex, StatsError> {
    let n = stop.len();
    // all time values, -0.0 normalised to +0.0 (times are >= 0, so the bit
    // patterns sort like the numbers)
    let mut all: Vec<f64> = Vec::with_capacity(if start.is_some() { 2 * n } else { n });
    all.extend(stop.iter().map(|t| t + 0.0));
    if let Some(s) = start {
        all.extend(s.iter().map(|t| t + 0.0));
    }
    let m = all.len();
    let (u, idx) = match few_distinct(&all, m / 8 + 64) {
        Some(found) => found,
        None => sorted_distinct(&all),
    };
    let AeqCuts {
        cuts,
        cut_of,
        any_tied,
    } = aeq_cuts(&u);
    let merged = if any_tied {
        cut_of.iter().map(|&c| cuts[c as usize]).collect()
    } else {
        u
    };
    let mut stop_idx = idx;
    let start_idx = start.map(|_| stop_idx.split_off(n));
    if let (Some(s), Some(si)) = (start, &start_idx) {
        for i in 0..n {
            if merged[si[i] as usize] >= merged[stop_idx[i] as usize] {
                // R: "aeqSurv exception, an interval has effective length 0"
                return Err(StatsError::EmptyInterval {
                    what,
                    index: i,
                    start: s[i],
                    stop: stop[i],
                });
            }
        }
    }
    Ok(TimeIndex {
        merged,
        stop_idx,
        start_idx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_chain_onto_smallest() {
        let t = [1.0, 1.0 + 1e-12, 2.0, 2.0 + 1e-9, 3.0];
        let out = aeq_times(&t).unwrap();
        assert_eq!(out, vec![1.0, 1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn unchanged_without_ties() {
        let t = [3.0, 1.0, 2.0];
        assert_eq!(aeq_times(&t).unwrap(), t.to_vec());
    }

    #[test]
    fn rejects_nan() {
        assert!(matches!(
            aeq_times(&[1.0, f64::NAN]),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
    }
}

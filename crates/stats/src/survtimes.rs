//! [`SurvTimes`]: survival times validated, merged by R's timefix and ranked
//! once, so that several estimators share that work.

use crate::StatsError;
use crate::timefix::{AeqCuts, IdTable, aeq_cuts};

/// Survival times and event indicators, validated, merged with R's timefix
/// ([`crate::aeq_times`], on all rows pooled) and reduced to one rank per
/// row among the sorted distinct merged times; built once and shared by
/// [`crate::kaplan_meier_by_group_prepared`] and
/// [`crate::log_rank_prepared`].
///
/// The plain functions ([`crate::kaplan_meier`],
/// [`crate::kaplan_meier_by_group`], [`crate::log_rank`]) build one of these
/// and call the prepared ones, so both give the same results bit for bit.
/// Building it costs one pass over the rows plus a sort of the distinct
/// times (no comparison sort of the rows); the estimators then count rows
/// per (group, distinct time) in one more pass.
///
/// Timefix is applied to all rows together, as R's
/// `survfit(Surv(time, event) ~ group)` and `survdiff` do: two times in
/// different groups that differ only by rounding noise are one time for
/// every estimator given this value.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvTimes {
    /// Sorted distinct times after timefix.
    times: Vec<f64>,
    /// Per row: `rank << 1 | event`.
    code: Vec<u32>,
    /// Number of rows with an event.
    n_events: usize,
    /// Rows whose time is `-0.0`, kept only when timefix merged nothing
    /// and both `-0.0` and `+0.0` occur: the old per-group sort reported the
    /// time of such a step as `-0.0` only in groups holding a `-0.0` row.
    neg_zero_rows: Option<Vec<u32>>,
}

/// Largest number of rows: the per-row code `rank << 1 | event` is a `u32`.
const MAX_ROWS: usize = (u32::MAX >> 1) as usize;

impl SurvTimes {
    /// Validate `time` and `event`, merge near-tied times as R's `aeqSurv`
    /// ([`crate::aeq_times`]) and rank every row among the distinct merged
    /// times.
    ///
    /// Errors: [`StatsError::EmptyInput`], [`StatsError::InvalidTime`] (NaN,
    /// infinite or negative time; the first such row),
    /// [`StatsError::LengthMismatch`] (`event`), [`StatsError::TooLarge`]
    /// (more than 2^31 - 1 rows).
    pub fn new(time: &[f64], event: &[bool]) -> Result<SurvTimes, StatsError> {
        Self::build("SurvTimes::new", time, event)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Always `false`: an empty input is rejected by [`SurvTimes::new`].
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// The sorted distinct times after timefix (R's `aeqSurv`), one per rank.
    pub fn distinct_times(&self) -> &[f64] {
        &self.times
    }

    /// Rank of row `i`'s merged time in [`SurvTimes::distinct_times`].
    /// Panics if `i >= len()`.
    pub fn rank(&self, i: usize) -> usize {
        (self.code[i] >> 1) as usize
    }

    /// Event indicator of row `i`. Panics if `i >= len()`.
    pub fn event(&self, i: usize) -> bool {
        self.code[i] & 1 == 1
    }

    /// Number of rows with an event.
    pub fn n_events(&self) -> usize {
        self.n_events
    }

    /// Per row `rank << 1 | event`.
    pub(crate) fn codes(&self) -> &[u32] {
        &self.code
    }

    /// The rows whose time is `-0.0` when they must be told apart from
    /// `+0.0` rows (see the field).
    pub(crate) fn neg_zero_rows(&self) -> Option<&[u32]> {
        self.neg_zero_rows.as_deref()
    }

    /// [`SurvTimes::new`], with errors naming `what`. The checks come in the
    /// order of the plain functions: empty, each time, then `event`'s length.
    pub(crate) fn build(
        what: &'static str,
        time: &[f64],
        event: &[bool],
    ) -> Result<SurvTimes, StatsError> {
        if time.is_empty() {
            return Err(StatsError::EmptyInput { what });
        }
        let n = time.len();
        // One pass: validate, and give each distinct value an id (in order
        // of first appearance). +0.0 and -0.0 share one id, as `==` (and so
        // `Vec::dedup` in R's aeqSurv port and the old grouping) ties them.
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        let mut table = IdTable::new();
        let mut values: Vec<f64> = Vec::new();
        let mut any_neg_zero = false;
        let mut any_pos_zero = false;
        for (index, &value) in time.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(StatsError::InvalidTime { what, index, value });
            }
            let key = if value == 0.0 {
                if value.is_sign_negative() {
                    any_neg_zero = true;
                } else {
                    any_pos_zero = true;
                }
                0
            } else {
                value.to_bits()
            };
            let id = table.get_or_insert(key, values.len() as u32);
            if id as usize == values.len() {
                values.push(if key == 0 { 0.0 } else { value });
            }
            ids.push(id);
        }
        if event.len() != n {
            return Err(StatsError::LengthMismatch {
                what,
                left: "time",
                left_len: n,
                right: "event",
                right_len: event.len(),
            });
        }
        if n > MAX_ROWS {
            return Err(StatsError::TooLarge {
                what,
                reason: format!("{n} rows; at most {MAX_ROWS} are supported"),
            });
        }
        drop(table);

        // Sorted distinct values y, as `sort_by(total_cmp)` + `dedup()` in
        // `aeq_unchecked`: a -0.0 sorts first and is the one kept.
        let mut by_value: Vec<u32> = (0..values.len() as u32).collect();
        by_value.sort_unstable_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
        let mut y: Vec<f64> = by_value.iter().map(|&i| values[i as usize]).collect();
        if any_neg_zero {
            y[0] = -0.0;
        }

        // aeqSurv: cut points and the cut index of each distinct value.
        let AeqCuts {
            cuts,
            cut_of: cut_of_sorted,
            any_tied,
        } = aeq_cuts(&y);
        let mut rank_of_id = vec![0u32; values.len()];
        for (j, &id) in by_value.iter().enumerate() {
            rank_of_id[id as usize] = cut_of_sorted[j];
        }
        let mut n_events = 0usize;
        for (c, &e) in ids.iter_mut().zip(event) {
            *c = (rank_of_id[*c as usize] << 1) | u32::from(e);
            n_events += usize::from(e);
        }
        // Without merging, aeqSurv returns the times unchanged, so a -0.0
        // and a +0.0 row keep their own signs (with merging both become the
        // first cut, -0.0).
        let neg_zero_rows = (!any_tied && any_neg_zero && any_pos_zero).then(|| {
            time.iter()
                .enumerate()
                .filter(|(_, t)| t.to_bits() == (-0.0f64).to_bits())
                .map(|(i, _)| i as u32)
                .collect()
        });
        Ok(SurvTimes {
            times: cuts,
            code: ids,
            n_events,
            neg_zero_rows,
        })
    }
}

#[cfg(test)]
thread_local! {
    /// Tests only: 1 forces the dense count, 2 the sorted one.
    static FORCE: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

/// Rows counted per distinct time (slot) and group: only the times at which
/// at least one of the counted rows lies, in increasing order.
pub(crate) struct Slots {
    /// Number of groups `k`.
    pub k: usize,
    /// Rank (index into [`SurvTimes::distinct_times`]) of each slot.
    pub rank: Vec<u32>,
    /// Events at slot `s` in group `g`: `ev[s * k + g]`.
    pub ev: Vec<u32>,
    /// Censorings at slot `s` in group `g`: `cen[s * k + g]`.
    pub cen: Vec<u32>,
}

impl Slots {
    /// Number of slots.
    pub fn len(&self) -> usize {
        self.rank.len()
    }

    /// Count the rows `(code, group)` given by `rows` (`m` of them; groups
    /// `< k`; `d` distinct times). A dense table when it is small compared
    /// with the rows (always on the benchmark's shape), else a sort of the
    /// row keys.
    pub fn count(rows: impl Iterator<Item = (u32, usize)>, m: usize, d: usize, k: usize) -> Slots {
        let width = 2 * d;
        #[cfg(test)]
        match FORCE.with(|f| f.get()) {
            1 => return Self::count_dense(rows, d, k),
            2 => return Self::count_sorted(rows, m, k),
            _ => {}
        }
        if width.saturating_mul(k) <= 4 * m + (1 << 16) {
            Self::count_dense(rows, d, k)
        } else {
            Self::count_sorted(rows, m, k)
        }
    }

    pub(crate) fn count_dense(
        rows: impl Iterator<Item = (u32, usize)>,
        d: usize,
        k: usize,
    ) -> Slots {
        let mut table = vec![0u32; 2 * d * k];
        if k == 1 {
            for (c, _) in rows {
                table[c as usize] += 1;
            }
        } else {
            for (c, g) in rows {
                table[c as usize * k + g] += 1;
            }
        }
        let mut out = Slots {
            k,
            rank: Vec::new(),
            ev: Vec::new(),
            cen: Vec::new(),
        };
        for (r, pair) in table.chunks_exact(2 * k).enumerate() {
            let (cen, ev) = pair.split_at(k);
            if cen.iter().chain(ev).any(|&x| x != 0) {
                out.rank.push(r as u32);
                out.ev.extend_from_slice(ev);
                out.cen.extend_from_slice(cen);
            }
        }
        out
    }

    pub(crate) fn count_sorted(
        rows: impl Iterator<Item = (u32, usize)>,
        m: usize,
        k: usize,
    ) -> Slots {
        let mut keys: Vec<u64> = Vec::with_capacity(m);
        keys.extend(rows.map(|(c, g)| (c as u64) * k as u64 + g as u64));
        keys.sort_unstable();
        let mut out = Slots {
            k,
            rank: Vec::new(),
            ev: Vec::new(),
            cen: Vec::new(),
        };
        let mut i = 0;
        while i < keys.len() {
            let key = keys[i];
            let mut j = i;
            while j < keys.len() && keys[j] == key {
                j += 1;
            }
            let count = (j - i) as u32;
            let code = key / k as u64;
            let g = (key % k as u64) as usize;
            let r = (code >> 1) as u32;
            if out.rank.last() != Some(&r) {
                out.rank.push(r);
                out.ev.resize(out.ev.len() + k, 0);
                out.cen.resize(out.cen.len() + k, 0);
            }
            let s = out.rank.len() - 1;
            if code & 1 == 1 {
                out.ev[s * k + g] += count;
            } else {
                out.cen[s * k + g] += count;
            }
            i = j;
        }
        out
    }
}

/// Number of groups `k = max(group) + 1`, the rows per group, and the first
/// group number in `0..k` with no rows (if any). Never allocates more than
/// `group.len() + 1` counters, so an absurd group number gives an
/// [`StatsError::EmptyGroup`] instead of a huge allocation.
pub(crate) fn group_sizes(group: &[usize]) -> (usize, Vec<usize>, Option<usize>) {
    // saturating: a group number usize::MAX is an empty-group error, not an
    // overflow (some number below it has no rows)
    let k = group.iter().max().map_or(0, |&m| m.saturating_add(1));
    let cap = k.min(group.len() + 1);
    let mut n = vec![0usize; cap];
    for &g in group {
        if g < cap {
            n[g] += 1;
        }
    }
    let empty = n.iter().position(|&c| c == 0);
    (k, n, empty)
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::{KmOptions, aeq_times, kaplan_meier, kaplan_meier_by_group, log_rank};

    /// Times with exact ties, near ties (within and beyond timefix's
    /// tolerance), zeros of both signs, or continuous values.
    fn data(rng: &mut SplitMix64, n: usize) -> (Vec<f64>, Vec<bool>) {
        let kind = rng.below(4);
        let p_event = rng.next_f64();
        let mut time = Vec::with_capacity(n);
        for _ in 0..n {
            let u = rng.next_f64();
            let t = if u < 0.03 {
                0.0
            } else if u < 0.05 && kind == 3 {
                -0.0
            } else if u < 0.06 && kind == 3 {
                1e-300
            } else {
                match kind {
                    0 => (1 + rng.below(12)) as f64,
                    1 => -rng.next_f64().max(1e-300).ln() * 100.0,
                    _ => {
                        let base = (1 + rng.below(8)) as f64;
                        base + [0.0, 1e-12, 1e-9, 1e-7, 2e-8, -1e-10][rng.below(6)] * base
                    }
                }
            };
            time.push(t);
        }
        let event = (0..n).map(|_| rng.next_f64() < p_event).collect();
        (time, event)
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits()
    }

    fn check_curve(new: &crate::KaplanMeier, old: &(Vec<reference::OldStep>, usize, f64)) {
        assert_eq!(new.n(), old.1);
        assert!(same(new.events(), old.2));
        assert_eq!(new.steps().len(), old.0.len());
        for (s, o) in new.steps().iter().zip(&old.0) {
            let got = (
                s.time,
                s.n_risk,
                s.n_event,
                s.n_censor,
                s.surv,
                s.std_err,
                s.std_err_cumhaz,
            );
            let fields = [
                (got.0, o.0),
                (got.1, o.1),
                (got.2, o.2),
                (got.3, o.3),
                (got.4, o.4),
                (got.5, o.5),
                (got.6, o.6),
            ];
            for (a, b) in fields {
                assert!(same(a, b), "{got:?} vs {o:?}");
            }
        }
    }

    /// The prepared code equals, bit for bit, the row-sorting code it
    /// replaced (`reference`), with the dense and the sorted counts.
    #[test]
    fn equals_the_old_row_sorting_code_bit_for_bit() {
        let mut rng = SplitMix64::new(20_261_127);
        let opts = KmOptions::default();
        let mut tests = 0;
        for iter in 0..3000 {
            FORCE.with(|f| f.set((iter % 3) as u8));
            let n = 1 + rng.below(120);
            let (time, event) = data(&mut rng, n);
            let k = 1 + rng.below(4);
            let mut group: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
            group[0] = k - 1;
            let old_single = reference::kaplan_meier(&time, &event);
            check_curve(&kaplan_meier(&time, &event, &opts).unwrap(), &old_single);
            if let Ok(fits) = kaplan_meier_by_group(&time, &event, &group, &opts) {
                let old = reference::kaplan_meier_by_group(&time, &event, &group);
                assert_eq!(fits.len(), old.len());
                for (f, o) in fits.iter().zip(&old) {
                    check_curve(f, o);
                }
            }
            let strata: Option<Vec<usize>> = match rng.below(3) {
                0 => None,
                1 => Some((0..n).map(|_| rng.below(3) * 7).collect()),
                _ => Some(
                    (0..n)
                        .map(|_| [5, usize::MAX, 1 << 40][rng.below(3)])
                        .collect(),
                ),
            };
            let rho = [0.0, 1.0, 0.5, -0.5, 2.0][rng.below(5)];
            if let Ok(lr) = log_rank(&time, &event, &group, strata.as_deref(), rho) {
                let (obs, exp, var) =
                    reference::log_rank_sums(&time, &event, &group, strata.as_deref(), rho);
                for (a, b) in [
                    (&lr.observed, &obs),
                    (&lr.expected, &exp),
                    (&lr.variance, &var),
                ] {
                    assert_eq!(a.len(), b.len());
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert!(same(*x, *y), "{x} vs {y}");
                    }
                }
                tests += 1;
            }
        }
        FORCE.with(|f| f.set(0));
        assert!(tests > 1000, "only {tests} log-rank tests ran");
    }

    #[test]
    fn absurd_group_numbers_are_empty_group_errors() {
        let (t, e) = ([1.0, 2.0, 3.0], [true, false, true]);
        let o = KmOptions::default();
        for g in [[0, usize::MAX, 0], [0, 1 << 50, 1]] {
            let want = if g[2] == 0 { 1 } else { 2 };
            assert!(matches!(
                kaplan_meier_by_group(&t, &e, &g, &o),
                Err(StatsError::EmptyGroup { group, .. }) if group == want
            ));
            assert!(matches!(
                log_rank(&t, &e, &g, None, 0.0),
                Err(StatsError::EmptyGroup { group, .. }) if group == want
            ));
        }
    }

    #[test]
    fn signed_zeros_as_the_old_code() {
        let opts = KmOptions::default();
        let time = [0.0, -0.0, 1.0, 0.0, 2.0, -0.0];
        let event = [true, false, true, true, false, true];
        let group = [0, 1, 0, 0, 1, 2];
        let fits = kaplan_meier_by_group(&time, &event, &group, &opts).unwrap();
        let old = reference::kaplan_meier_by_group(&time, &event, &group);
        for (f, o) in fits.iter().zip(&old) {
            check_curve(f, o);
        }
        assert!(same(fits[0].steps()[0].time, 0.0));
        assert!(same(fits[1].steps()[0].time, -0.0));
        check_curve(
            &kaplan_meier(&time, &event, &opts).unwrap(),
            &reference::kaplan_meier(&time, &event),
        );
    }

    #[test]
    fn ranks_match_aeq_times() {
        let t = [3.0, 1.0 + 1e-12, 1.0, 2.0, 2.0 + 1e-9, 0.0, 5.5, 3.0];
        let e = [true, false, true, true, false, false, true, true];
        let st = SurvTimes::new(&t, &e).unwrap();
        let fixed = aeq_times(&t).unwrap();
        assert_eq!(st.distinct_times(), &[0.0, 1.0, 2.0, 3.0, 5.5]);
        for i in 0..t.len() {
            assert_eq!(st.distinct_times()[st.rank(i)], fixed[i]);
            assert_eq!(st.event(i), e[i]);
        }
        assert_eq!(st.n_events(), 5);
        assert_eq!(st.len(), 8);
    }

    #[test]
    fn many_distinct_times_grow_the_table() {
        let t: Vec<f64> = (0..100_000)
            .map(|i| ((i * 7919) % 100_000) as f64 * 0.5)
            .collect();
        let e = vec![true; t.len()];
        let st = SurvTimes::new(&t, &e).unwrap();
        assert_eq!(st.distinct_times().len(), 100_000);
        for (i, &ti) in t.iter().enumerate() {
            assert_eq!(st.distinct_times()[st.rank(i)], ti);
        }
    }

    #[test]
    fn errors_in_the_order_of_the_plain_functions() {
        assert!(matches!(
            SurvTimes::new(&[], &[true]),
            Err(StatsError::EmptyInput { .. })
        ));
        assert!(matches!(
            SurvTimes::new(&[1.0, -1.0, f64::NAN], &[true]),
            Err(StatsError::InvalidTime { index: 1, .. })
        ));
        assert!(matches!(
            SurvTimes::new(&[1.0, 2.0], &[true]),
            Err(StatsError::LengthMismatch { right_len: 1, .. })
        ));
    }

    #[test]
    fn dense_and_sorted_counts_agree() {
        let mut s = 12345u64;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        for _ in 0..200 {
            let n = 1 + next() % 300;
            let d = 1 + next() % 40;
            let k = 1 + next() % 5;
            let rows: Vec<(u32, usize)> = (0..n)
                .map(|_| ((next() % (2 * d)) as u32, next() % k))
                .collect();
            let a = Slots::count_dense(rows.iter().copied(), d, k);
            let b = Slots::count_sorted(rows.iter().copied(), n, k);
            assert_eq!(a.rank, b.rank);
            assert_eq!(a.ev, b.ev);
            assert_eq!(a.cen, b.cen);
        }
    }
}

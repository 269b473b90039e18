//! Data preparation for [`super::cox_ph`] and [`super::cox_zph`]:
//! validation, timefix, one sort by stratum and descending time, centring
//! and scaling of the covariates, and the counting-process start order.

use super::CoxData;
use crate::StatsError;
use crate::timefix::timefix_rows;

/// Counting-process part of [`Prepared`].
pub(crate) struct Counting {
    /// Start time (after timefix), in processing order.
    pub(crate) start: Vec<f64>,
    /// Processing positions sorted by stratum block, then descending start.
    pub(crate) by_start: Vec<u32>,
    /// `start` in the order of `by_start`.
    pub(crate) start_desc: Vec<f64>,
    /// The covariate rows (`n * p`) in the order of `by_start`.
    pub(crate) x_desc: Vec<f64>,
    /// The case weights in the order of `by_start` (weighted fits only).
    pub(crate) w_desc: Option<Vec<f64>>,
}

/// The rows in processing order: strata blocks (in order of the label),
/// descending stop time within each; covariates centred and scaled,
/// row-major.
pub(crate) struct Prepared {
    pub(crate) n: usize,
    pub(crate) p: usize,
    pub(crate) events: usize,
    /// Stop time (after timefix).
    pub(crate) time: Vec<f64>,
    pub(crate) status: Vec<bool>,
    /// `n * p`, row-major, `(x - mean) * scale`.
    pub(crate) x: Vec<f64>,
    /// `[lo, hi)` of each stratum in processing order.
    pub(crate) blocks: Vec<(usize, usize)>,
    pub(crate) counting: Option<Counting>,
    /// Column scale factors `n / sum |x - mean|` (1 for a constant column;
    /// `sum w / sum w |x - mean_w|` in a weighted fit).
    pub(crate) scale: Vec<f64>,
    /// Case weights in processing order (`None`: every weight is 1, the
    /// unweighted arithmetic).
    pub(crate) weights: Option<Vec<f64>>,
    /// Original row of each processing position.
    pub(crate) order: Vec<u32>,
}

impl Prepared {
    pub(crate) fn new(what: &'static str, data: &CoxData) -> Result<Prepared, StatsError> {
        Prepared::with_weights(what, data, None)
    }

    /// [`Prepared::new`] with optional case weights (finite and `> 0`, as
    /// `coxph.fit` requires); with weights the centring and scaling are the
    /// weighted ones of `coxfit6.c`/`agfit4.c`: `mean = sum w x / sum w`,
    /// `scale = sum w / sum w |x - mean|`.
    pub(crate) fn with_weights(
        what: &'static str,
        data: &CoxData,
        weights: Option<&[f64]>,
    ) -> Result<Prepared, StatsError> {
        let n = data.stop.len();
        let p = data.covariates.len();
        if n == 0 {
            return Err(StatsError::EmptyInput { what });
        }
        if p == 0 {
            return Err(StatsError::InvalidParameter {
                what,
                name: "covariates",
                value: 0.0,
                expected: "at least one covariate",
            });
        }
        let same = |right: &'static str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(StatsError::LengthMismatch {
                    what,
                    left: "stop",
                    left_len: n,
                    right,
                    right_len: len,
                })
            }
        };
        same("event", data.event.len())?;
        if let Some(s) = data.start {
            same("start", s.len())?;
        }
        if let Some(s) = data.strata {
            same("strata", s.len())?;
        }
        for c in data.covariates {
            same("covariates[j]", c.len())?;
        }
        if let Some(w) = weights {
            same("weights", w.len())?;
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(StatsError::InvalidParameter {
                    what,
                    name: "weights",
                    value: w[i],
                    expected: "finite case weights > 0 (R: \"Invalid weights, must be >0\")",
                });
            }
        }
        crate::km::check_times(what, data.stop)?;
        if let Some(s) = data.start {
            crate::km::check_times(what, s)?;
            for i in 0..n {
                if s[i] >= data.stop[i] {
                    return Err(StatsError::EmptyInterval {
                        what,
                        index: i,
                        start: s[i],
                        stop: data.stop[i],
                    });
                }
            }
        }
        for c in data.covariates {
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(StatsError::NonFinite {
                    what,
                    name: "covariates",
                    index: i,
                    value: c[i],
                });
            }
        }

        // stratum of each row as a dense rank of its label
        let (srank, nstrata) = match data.strata {
            None => (None, 1),
            Some(s) => {
                let (r, k) = dense_ranks(s);
                (Some(r), k)
            }
        };

        // timefix (aeqSurv): merge near-tied times among the distinct
        // values (of stop, or of start and stop together); every row gets
        // the index of its time among those distinct values
        let tf = timefix_rows(what, data.stop, data.start)?;

        // one sort, stable counting sorts on the distinct-time index:
        // stratum ascending, stop descending
        let k = tf.merged.len();
        let desc_stop: Vec<u32> = tf.stop_idx.iter().map(|&i| (k - 1) as u32 - i).collect();
        let mut order = counting_sort((0..n as u32).collect(), &desc_stop, k);
        if let Some(r) = &srank {
            order = counting_sort(order, r, nstrata);
        }

        let time: Vec<f64> = order
            .iter()
            .map(|&i| tf.merged[tf.stop_idx[i as usize] as usize])
            .collect();
        let status: Vec<bool> = order.iter().map(|&i| data.event[i as usize]).collect();
        let events = status.iter().filter(|&&e| e).count();
        let mut blocks = Vec::with_capacity(nstrata);
        match &srank {
            None => blocks.push((0, n)),
            Some(r) => {
                let mut lo = 0;
                for k in 1..=n {
                    if k == n || r[order[k] as usize] != r[order[lo] as usize] {
                        blocks.push((lo, k));
                        lo = k;
                    }
                }
            }
        }

        // centre and scale (coxfit6.c): mean over all rows,
        // scale = n / sum |x - mean|
        // rows are read in their original order and scattered to their
        // sorted position (random stores are cheaper than random loads)
        let mut pos_of = vec![0u32; n];
        for (pos, &i) in order.iter().enumerate() {
            pos_of[i as usize] = pos as u32;
        }
        let mut x = vec![0.0; n * p];
        let mut scale = vec![1.0; p];
        let wsum = weights.map(|w| w.iter().sum::<f64>());
        for (j, col) in data.covariates.iter().enumerate() {
            let (mean, abs_dev, total) = match (weights, wsum) {
                (Some(w), Some(ws)) => {
                    let mean = col.iter().zip(w).map(|(v, w)| w * v).sum::<f64>() / ws;
                    let dev = col.iter().zip(w).map(|(v, w)| w * (v - mean).abs()).sum();
                    (mean, dev, ws)
                }
                _ => {
                    let mean = col.iter().sum::<f64>() / n as f64;
                    let dev: f64 = col.iter().map(|v| (v - mean).abs()).sum();
                    (mean, dev, n as f64)
                }
            };
            let s = if abs_dev > 0.0 { total / abs_dev } else { 1.0 };
            scale[j] = s;
            for (v, &pos) in col.iter().zip(&pos_of) {
                x[pos as usize * p + j] = (v - mean) * s;
            }
        }

        let counting = tf.start_idx.as_ref().map(|start_idx| {
            let start: Vec<f64> = order
                .iter()
                .map(|&i| tf.merged[start_idx[i as usize] as usize])
                .collect();
            // positions by descending start, then (stably) by block
            let desc_start: Vec<u32> = order
                .iter()
                .map(|&i| (k - 1) as u32 - start_idx[i as usize])
                .collect();
            let mut by_start = counting_sort((0..n as u32).collect(), &desc_start, k);
            if blocks.len() > 1 {
                let mut block_of = vec![0u32; n];
                for (b, &(lo, hi)) in blocks.iter().enumerate() {
                    block_of[lo..hi].iter_mut().for_each(|v| *v = b as u32);
                }
                by_start = counting_sort(by_start, &block_of, blocks.len());
            }
            let start_desc = by_start.iter().map(|&pos| start[pos as usize]).collect();
            let mut x_desc = vec![0.0; n * p];
            for (w, &pos) in by_start.iter().enumerate() {
                let pos = pos as usize;
                for j in 0..p {
                    x_desc[w * p + j] = x[pos * p + j];
                }
            }
            let w_desc = weights.map(|w| {
                by_start
                    .iter()
                    .map(|&pos| w[order[pos as usize] as usize])
                    .collect()
            });
            Counting {
                start,
                by_start,
                start_desc,
                x_desc,
                w_desc,
            }
        });
        let weights = weights.map(|w| order.iter().map(|&i| w[i as usize]).collect());

        Ok(Prepared {
            n,
            p,
            events,
            time,
            status,
            x,
            blocks,
            counting,
            scale,
            weights,
            order,
        })
    }
}

/// Dense ranks `0..k` of arbitrary labels, in order of the label.
fn dense_ranks(s: &[usize]) -> (Vec<u32>, usize) {
    let max = s.iter().copied().max().unwrap_or(0);
    if max <= 4 * s.len() + 16 {
        let mut seen = vec![u32::MAX; max + 1];
        for &v in s {
            seen[v] = 0;
        }
        let mut k = 0u32;
        for v in seen.iter_mut() {
            if *v == 0 {
                *v = k;
                k += 1;
            }
        }
        (s.iter().map(|&v| seen[v]).collect(), k as usize)
    } else {
        let mut u = s.to_vec();
        u.sort_unstable();
        u.dedup();
        let r = s
            .iter()
            .map(|v| u.binary_search(v).expect("present") as u32)
            .collect();
        (r, u.len())
    }
}

/// Stable counting sort of `items` (row numbers) by `key[item]` in
/// `0..buckets`.
fn counting_sort(items: Vec<u32>, key: &[u32], buckets: usize) -> Vec<u32> {
    let mut first = vec![0usize; buckets + 1];
    for &it in &items {
        first[key[it as usize] as usize + 1] += 1;
    }
    for b in 0..buckets {
        first[b + 1] += first[b];
    }
    let mut out = vec![0u32; items.len()];
    for &it in &items {
        let b = key[it as usize] as usize;
        out[first[b]] = it;
        first[b] += 1;
    }
    out
}

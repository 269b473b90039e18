//! One pass over the prepared rows: log partial likelihood, score and
//! information at `beta` (Efron or Breslow ties), as the inner loops of
//! survival's `coxfit6.c` and `agfit4.c` (and `zph1.c`/`zph2.c` with a time
//! weight).

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

use super::Ties;
use super::prepare::Prepared;

/// `exp` of the linear predictors met most recently, two of them: with a
/// few distinct covariate rows (an arm, a binary factor) each pass computes
/// a handful of exponentials instead of one per row. A value is looked up by
/// its bits and the same `f64::exp` gives it, so every risk score is the
/// double it was without the cache (`exp` was 8 % of the analysis's CPU
/// at 1M and at 10M, perf). The test `exp_cache_gives_exp` checks it.
pub(crate) struct ExpCache {
    keys: [u64; 2],
    values: [f64; 2],
    /// The slot a miss replaces next.
    next: usize,
}

impl ExpCache {
    pub(crate) fn new() -> ExpCache {
        // exp(0) and exp(-0) are exactly 1.
        ExpCache {
            keys: [0f64.to_bits(), (-0f64).to_bits()],
            values: [1.0, 1.0],
            next: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn exp(&mut self, zb: f64) -> f64 {
        let bits = zb.to_bits();
        // Which slot holds it is unpredictable (the arms alternate in time
        // order), so the slot is an index (the second if it holds it, else
        // the first) and only whether that one holds it is branched on
        // (nearly always yes). The index goes through `black_box`: the
        // compiler otherwise sees that it came from a comparison and makes
        // a branch of it again (as of `first | second` and of
        // `select_unpredictable`), which cost a fifth of the pass in
        // mispredictions (perf, 1M).
        let slot = std::hint::black_box(usize::from(bits == self.keys[1]));
        if bits == self.keys[slot] {
            return self.values[slot];
        }
        let e = zb.exp();
        self.keys[self.next] = bits;
        self.values[self.next] = e;
        self.next ^= 1;
        e
    }
}

/// Result of one pass. With a time weight `g` (the `cox.zph` case), `u` and
/// `imat` are the `2p` system of `zph1.c`/`zph2.c`: `u[p + i]` and the blocks
/// `I_g = sum g V`, `I_gg = sum g^2 V`.
pub(crate) struct Pass {
    pub(crate) loglik: f64,
    pub(crate) u: Vec<f64>,
    /// `q x q` row-major, `q = p` (or `2p` with a time weight), full.
    pub(crate) imat: Vec<f64>,
}

/// Running risk-set sums of one stratum: `S0`, `S1` and the lower triangle
/// of `S2` (packed), for the rows at risk (`main`) and the tied events of
/// the current time (`dead`).
struct Sums {
    denom: f64,
    a: Vec<f64>,
    cmat: Vec<f64>,
}

impl Sums {
    fn new(p: usize) -> Sums {
        Sums {
            denom: 0.0,
            a: vec![0.0; p],
            cmat: vec![0.0; p * p],
        }
    }
    fn clear(&mut self) {
        self.denom = 0.0;
        self.a.iter_mut().for_each(|v| *v = 0.0);
        self.cmat.iter_mut().for_each(|v| *v = 0.0);
    }
    /// Add a row with risk score `risk` and covariates `xi` (`p` is a
    /// compile-time constant in the specialised passes, so these loops
    /// unroll and lose their bounds checks).
    #[inline(always)]
    fn add(&mut self, risk: f64, xi: &[f64], p: usize) {
        self.denom += risk;
        let a = &mut self.a[..p];
        let c = &mut self.cmat[..p * p];
        let xi = &xi[..p];
        for i in 0..p {
            let rx = risk * xi[i];
            a[i] += rx;
            for j in 0..=i {
                c[i * p + j] += rx * xi[j];
            }
        }
    }
    #[inline(always)]
    fn sub(&mut self, risk: f64, xi: &[f64], p: usize) {
        self.denom -= risk;
        let a = &mut self.a[..p];
        let c = &mut self.cmat[..p * p];
        let xi = &xi[..p];
        for i in 0..p {
            let rx = risk * xi[i];
            a[i] -= rx;
            for j in 0..=i {
                c[i * p + j] -= rx * xi[j];
            }
        }
    }
}

/// Accumulator of one pass.
struct Acc {
    p: usize,
    q: usize,
    inc_a: Vec<f64>,
    inc_c: Vec<f64>,
    loglik: f64,
    u: Vec<f64>,
    imat: Vec<f64>,
}

impl Acc {
    /// Add the `ndead` tied events at one time (sums of the events in
    /// `dead`, already summed `x` of the events in `u`), as the death step
    /// of `coxfit6.c` (Breslow, or Efron's `ndead` fractional steps), with
    /// the optional time weight `g` of `zph1.c`.
    #[inline(always)]
    fn deaths(
        &mut self,
        main: &mut Sums,
        dead: &Sums,
        (ndead, deadwt): (usize, f64),
        ties: Ties,
        g: Option<f64>,
        p: usize,
    ) {
        let q = self.q;
        // deadwt: the sum of the case weights of the events (ndead when
        // unweighted); Efron's steps each carry the mean weight (exactly 1
        // when unweighted, as in coxfit6.c's wtave)
        let (steps, frac, wt) = if ties == Ties::Breslow || ndead == 1 {
            (1, 1.0, deadwt)
        } else {
            let nd = ndead as f64;
            (ndead, nd, deadwt / nd)
        };
        if steps == 1 {
            // Breslow, or a single event (coxfit6.c's first branch)
            main.denom += dead.denom;
            let denom = main.denom;
            self.loglik -= wt * denom.ln();
            let inv = 1.0 / denom;
            let a = &mut main.a[..p];
            let cmat = &mut main.cmat[..p * p];
            for i in 0..p {
                a[i] += dead.a[i];
                let mean = a[i] * inv;
                self.u[i] -= wt * mean;
                if let Some(g) = g {
                    self.u[i + p] -= g * wt * mean;
                }
                for j in 0..=i {
                    let k = i * p + j;
                    cmat[k] += dead.cmat[k];
                    let v = wt * (cmat[k] - mean * a[j]) * inv;
                    self.imat[i * q + j] += v;
                    if let Some(g) = g {
                        self.imat[i * q + j + p] += v * g;
                        self.imat[(i + p) * q + j + p] += v * g * g;
                    }
                }
            }
            return;
        }
        // the increments of one Efron step, dead/ndead: the same quotients
        // coxfit6.c recomputes at every step
        let inc_denom = dead.denom / frac;
        let inc_a = &mut self.inc_a[..p];
        let inc_c = &mut self.inc_c[..p * p];
        for i in 0..p {
            inc_a[i] = dead.a[i] / frac;
            for j in 0..=i {
                inc_c[i * p + j] = dead.cmat[i * p + j] / frac;
            }
        }
        let a = &mut main.a[..p];
        let cmat = &mut main.cmat[..p * p];
        // sum of log(denom_k) as the log of running products (flushed long
        // before they could overflow or underflow): far fewer logarithms
        // than one per step, the same sum up to rounding (wt = 1 here)
        let mut log_sum = 0.0;
        let mut prod = 1.0_f64;
        for _ in 0..steps {
            main.denom += inc_denom;
            let denom = main.denom;
            if (1e-100..=1e100).contains(&denom) {
                prod *= denom;
                if !(1e-150..=1e150).contains(&prod) {
                    log_sum += prod.ln();
                    prod = 1.0;
                }
            } else {
                log_sum += denom.ln();
            }
            // one division per step (coxfit6.c divides per element; the
            // difference is at most an ulp per term)
            let inv = 1.0 / denom;
            for i in 0..p {
                a[i] += inc_a[i];
                let mean = a[i] * inv;
                self.u[i] -= wt * mean;
                if let Some(g) = g {
                    self.u[i + p] -= g * wt * mean;
                }
                for j in 0..=i {
                    let k = i * p + j;
                    cmat[k] += inc_c[k];
                    let v = wt * (cmat[k] - mean * a[j]) * inv;
                    self.imat[i * q + j] += v;
                    if let Some(g) = g {
                        self.imat[i * q + j + p] += v * g;
                        self.imat[(i + p) * q + j + p] += v * g * g;
                    }
                }
            }
        }
        self.loglik -= wt * (log_sum + prod.ln());
    }

    fn finish(mut self) -> Pass {
        // fill the symmetric matrix from its lower triangle(s)
        let (p, q) = (self.p, self.q);
        for i in 0..p {
            for j in 0..i {
                self.imat[j * q + i] = self.imat[i * q + j];
                if q > p {
                    self.imat[(j + p) * q + i + p] = self.imat[(i + p) * q + j + p];
                    self.imat[j * q + i + p] = self.imat[i * q + j + p];
                }
            }
        }
        if q > p {
            for i in 0..p {
                for j in 0..p {
                    self.imat[(i + p) * q + j] = self.imat[j * q + i + p];
                }
            }
        }
        Pass {
            loglik: self.loglik,
            u: self.u,
            imat: self.imat,
        }
    }
}

/// Evaluate the log partial likelihood, score and information at `beta`
/// (scaled coordinates). `gt`, per processing position, turns on the `2p`
/// system of `cox.zph`.
pub(crate) fn pass(prep: &Prepared, beta: &[f64], ties: Ties, gt: Option<&[f64]>) -> Pass {
    match prep.p {
        1 => pass_p::<1>(prep, beta, ties, gt),
        2 => pass_p::<2>(prep, beta, ties, gt),
        3 => pass_p::<3>(prep, beta, ties, gt),
        4 => pass_p::<4>(prep, beta, ties, gt),
        5 => pass_p::<5>(prep, beta, ties, gt),
        6 => pass_p::<6>(prep, beta, ties, gt),
        _ => pass_p::<0>(prep, beta, ties, gt),
    }
}

/// [`pass`] for `P` covariates (`P = 0`: any number, known at run time).
fn pass_p<const P: usize>(prep: &Prepared, beta: &[f64], ties: Ties, gt: Option<&[f64]>) -> Pass {
    let p = if P == 0 { prep.p } else { P };
    let beta = &beta[..p];
    let q = if gt.is_some() { 2 * p } else { p };
    let mut acc = Acc {
        p,
        q,
        inc_a: vec![0.0; p],
        inc_c: vec![0.0; p * p],
        loglik: 0.0,
        u: vec![0.0; q],
        imat: vec![0.0; q * q],
    };
    let mut main = Sums::new(p);
    let mut dead = Sums::new(p);
    let mut exp = ExpCache::new();
    let x = &prep.x;
    let time = &prep.time;
    let status = &prep.status;
    // case weights (multiplying by 1.0 is exact: unweighted fits keep
    // their arithmetic bit for bit)
    let wts = prep.weights.as_deref();
    match &prep.counting {
        None => {
            // sums[0]: rows at risk; sums[1]: the tied events of this time.
            // A row goes to sums[status] and adds status * (x, x'beta) to the
            // score and log-likelihood: no data-dependent branch.
            let mut sums = [main, dead];
            for &(lo, hi) in &prep.blocks {
                sums[0].clear();
                let mut i = lo;
                while i < hi {
                    let dtime = time[i];
                    let g = gt.map(|g| g[i]);
                    let mut ndead = 0;
                    let mut deadwt = 0.0;
                    sums[1].clear();
                    while i < hi && time[i] == dtime {
                        let xi = &x[i * p..(i + 1) * p];
                        let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                        let wi = wts.map_or(1.0, |w| w[i]);
                        let risk = exp.exp(zb) * wi;
                        let d = usize::from(status[i]);
                        let w = d as f64 * wi;
                        ndead += d;
                        deadwt += w;
                        acc.loglik += w * zb;
                        let u = &mut acc.u[..p];
                        for k in 0..p {
                            u[k] += w * xi[k];
                        }
                        if let Some(g) = g {
                            for k in 0..p {
                                acc.u[k + p] += w * g * xi[k];
                            }
                        }
                        sums[d].add(risk, xi, p);
                        i += 1;
                    }
                    if ndead > 0 {
                        let (m, dd) = sums.split_at_mut(1);
                        acc.deaths(&mut m[0], &dd[0], (ndead, deadwt), ties, g, p);
                    }
                }
            }
        }
        Some(cp) => {
            let start = &cp.start;
            let mut added = vec![false; prep.n];
            let mut ip = 0; // pointer into by_start (blocks are consecutive)
            for &(lo, hi) in &prep.blocks {
                main.clear();
                let mut nrisk = 0usize;
                let mut person = lo;
                while person < hi {
                    // next event time
                    let Some(k) = (person..hi).find(|&k| status[k]) else {
                        break;
                    };
                    let dtime = time[k];
                    let g = gt.map(|g| g[k]);
                    // rows whose interval starts at or after dtime leave
                    // (read in start order from copies, so sequentially; the
                    // risk score is recomputed, the same double as when the
                    // row entered)
                    while ip < hi && cp.start_desc[ip] >= dtime {
                        let r = cp.by_start[ip] as usize;
                        let xr = &cp.x_desc[ip * p..(ip + 1) * p];
                        ip += 1;
                        if !added[r] {
                            continue;
                        }
                        nrisk -= 1;
                        if nrisk == 0 {
                            main.clear();
                        } else {
                            let zb: f64 = beta.iter().zip(xr).map(|(b, v)| b * v).sum();
                            let wr = cp.w_desc.as_ref().map_or(1.0, |w| w[ip - 1]);
                            main.sub(exp.exp(zb) * wr, xr, p);
                        }
                    }
                    // rows with stop >= dtime enter (if start < dtime)
                    let mut ndead = 0;
                    let mut deadwt = 0.0;
                    dead.clear();
                    while person < hi && time[person] >= dtime {
                        let r = person;
                        person += 1;
                        let xi = &x[r * p..(r + 1) * p];
                        if status[r] {
                            let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                            added[r] = true;
                            nrisk += 1;
                            ndead += 1;
                            match wts {
                                None => {
                                    deadwt += 1.0;
                                    acc.loglik += zb;
                                    for k in 0..p {
                                        acc.u[k] += xi[k];
                                    }
                                    if let Some(g) = g {
                                        for k in 0..p {
                                            acc.u[k + p] += g * xi[k];
                                        }
                                    }
                                    dead.add(exp.exp(zb), xi, p);
                                }
                                Some(w) => {
                                    let wr = w[r];
                                    deadwt += wr;
                                    acc.loglik += wr * zb;
                                    for k in 0..p {
                                        acc.u[k] += wr * xi[k];
                                    }
                                    if let Some(g) = g {
                                        for k in 0..p {
                                            acc.u[k + p] += wr * g * xi[k];
                                        }
                                    }
                                    dead.add(exp.exp(zb) * wr, xi, p);
                                }
                            }
                        } else if start[r] < dtime {
                            let zb: f64 = beta.iter().zip(xi).map(|(b, v)| b * v).sum();
                            let rk = exp.exp(zb) * wts.map_or(1.0, |w| w[r]);
                            added[r] = true;
                            nrisk += 1;
                            main.add(rk, xi, p);
                        }
                    }
                    acc.deaths(&mut main, &dead, (ndead, deadwt), ties, g, p);
                }
                // skip the remaining start pointers of this block
                while ip < hi {
                    ip += 1;
                }
            }
        }
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::ExpCache;

    /// The cache gives `f64::exp`'s double for every value, whatever it
    /// held before: two values alternating, runs, fresh values, zeros of
    /// both signs, infinities and NaN.
    #[test]
    fn exp_cache_gives_exp() {
        let mut rng = crate::rng::SplitMix64::new(0xe4b_ca5e);
        let mut cache = ExpCache::new();
        let pool = [
            0.0,
            -0.0,
            0.731_f64,
            -1.25,
            700.0,
            -745.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut hits = 0;
        for _ in 0..100_000 {
            let zb = match rng.below(4) {
                0 => pool[rng.below(pool.len())],
                1 => (rng.below(2_000_001) as f64 - 1e6) / 3e5,
                _ => pool[2 + rng.below(2)],
            };
            let before = cache.keys;
            let got = cache.exp(zb);
            hits += usize::from(before.contains(&zb.to_bits()));
            assert_eq!(got.to_bits(), zb.exp().to_bits(), "{zb}");
        }
        assert!(hits > 20_000, "{hits}");
    }
}

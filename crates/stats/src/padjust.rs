//! Adjustment of p-values for multiple comparisons, as R's
//! `stats::p.adjust(p, method)`.
//!
//! With `n` p-values sorted increasingly as `p(1) <= ... <= p(n)` (ties in
//! their input order, as R's `order`):
//!
//! - Bonferroni: `min(1, n p)`.
//! - Holm (step-down): `min(1, max_{j <= i} (n - j + 1) p(j))`.
//! - Hochberg (step-up): `min(1, min_{j >= i} (n - j + 1) p(j))`.
//! - Benjamini–Hochberg (`"BH"`, false discovery rate):
//!   `min(1, min_{j >= i} n / j p(j))`.
//! - Benjamini–Yekutieli (`"BY"`): BH times `sum_{k=1..n} 1/k`.
//!
//! References: Holm (1979) Scand J Statist 6:65–70; Hochberg (1988)
//! Biometrika 75:800–803; Benjamini & Hochberg (1995) JRSS B 57:289–300;
//! Benjamini & Yekutieli (2001) Ann Statist 29:1165–1188.

/// The adjustment, named as R's `p.adjust.methods`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PAdjust {
    /// Holm's step-down (R's default).
    #[default]
    Holm,
    /// Hochberg's step-up.
    Hochberg,
    /// Bonferroni.
    Bonferroni,
    /// Benjamini–Hochberg (`"BH"`, `"fdr"`).
    BenjaminiHochberg,
    /// Benjamini–Yekutieli (`"BY"`).
    BenjaminiYekutieli,
    /// No adjustment.
    None,
}

impl PAdjust {
    /// The method's name as R spells it.
    pub const fn name(self) -> &'static str {
        match self {
            PAdjust::Holm => "holm",
            PAdjust::Hochberg => "hochberg",
            PAdjust::Bonferroni => "bonferroni",
            PAdjust::BenjaminiHochberg => "BH",
            PAdjust::BenjaminiYekutieli => "BY",
            PAdjust::None => "none",
        }
    }
}

/// The adjusted p-values, in the order of `p`. NaN stays NaN and does not
/// count in `n` (R's `p.adjust` with `n = sum(!is.na(p))`).
pub fn p_adjust(p: &[f64], method: PAdjust) -> Vec<f64> {
    let valid: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let n = valid.len();
    let mut out = vec![f64::NAN; p.len()];
    if n == 0 {
        return out;
    }
    let nf = n as f64;
    // Increasing order, ties in input order (a stable sort, as R's order).
    let mut inc = valid.clone();
    inc.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    match method {
        PAdjust::None => {
            for &i in &valid {
                out[i] = p[i];
            }
        }
        PAdjust::Bonferroni => {
            for &i in &valid {
                out[i] = (nf * p[i]).min(1.0);
            }
        }
        PAdjust::Holm => {
            let mut run = f64::NEG_INFINITY;
            for (k, &i) in inc.iter().enumerate() {
                run = run.max((nf - k as f64) * p[i]);
                out[i] = run.min(1.0);
            }
        }
        PAdjust::Hochberg | PAdjust::BenjaminiHochberg | PAdjust::BenjaminiYekutieli => {
            // R orders decreasingly (order(p, decreasing = TRUE), ties in
            // input order) and takes the running minimum.
            let mut dec = valid.clone();
            dec.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            let q: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
            let mut run = f64::INFINITY;
            for (k, &i) in dec.iter().enumerate() {
                let rank = (n - k) as f64; // i = n, n-1, ..., 1
                let v = match method {
                    PAdjust::Hochberg => (nf - rank + 1.0) * p[i],
                    PAdjust::BenjaminiHochberg => nf / rank * p[i],
                    _ => q * nf / rank * p[i],
                };
                run = run.min(v);
                out[i] = run.min(1.0);
            }
        }
    }
    out
}

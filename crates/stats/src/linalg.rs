//! Small dense linear algebra: for symmetric positive semi-definite
//! matrices survival's `cholesky2` / `chsolve2` / `chinv2` ([`Chol`]), the
//! one Cholesky of the crate, used by the Cox model (information matrix,
//! Wald test), the log-rank test and the categorical SMD ([`ginv_solve`]);
//! and the LU solve of R's `solve()` for `cox.zph` ([`lu_solve`]).

// Index loops are kept where they mirror survival's C code line by line.
#![allow(clippy::needless_range_loop)]

/// Pivot tolerance, relative to the largest diagonal element:
/// `.Machine$double.eps^0.75`, the `toler.chol` default of R's survival.
pub(crate) const CHOL_TOLERANCE: f64 = 1.818_989_403_545_856e-12;

/// Solve `A x = b` for a symmetric positive semi-definite `A` (row-major,
/// `k x k`) with a generalized inverse: an LDL' Cholesky decomposition in
/// which any pivot below `CHOL_TOLERANCE * max(diag)` (or non-finite) is set
/// to zero and its component of `x` to zero, as survival's `cholesky2` /
/// `chsolve2` ([`Chol`]). For a non-singular `A` this is the ordinary
/// solution (R's `solve`). Returns `(x, rank)`.
pub(crate) fn ginv_solve(a: &[f64], k: usize, b: &[f64]) -> (Vec<f64>, usize) {
    let ch = Chol::new(a, k, CHOL_TOLERANCE);
    let mut x = b.to_vec();
    ch.solve(&mut x);
    (x, ch.rank)
}

/// `LDL'` decomposition of a symmetric matrix (row-major, full): `m` holds
/// `L` below the diagonal and `D` on it; pivots below `toler * max(diag)`
/// (or non-finite) are set to 0 (survival's `cholesky2`).
pub(crate) struct Chol {
    pub(crate) m: Vec<f64>,
    pub(crate) p: usize,
    pub(crate) rank: usize,
}

impl Chol {
    pub(crate) fn new(a: &[f64], p: usize, toler: f64) -> Chol {
        let mut m = a.to_vec();
        let mut eps = 0.0_f64;
        for i in 0..p {
            if m[i * p + i] > eps {
                eps = m[i * p + i];
            }
        }
        let mut rank = 0;
        if eps == 0.0 {
            for i in 0..p {
                m[i * p + i] = 0.0;
            }
            return Chol { m, p, rank };
        }
        eps *= toler;
        for i in 0..p {
            let pivot = m[i * p + i];
            if !pivot.is_finite() || pivot < eps {
                m[i * p + i] = 0.0;
            } else {
                rank += 1;
                for j in (i + 1)..p {
                    let temp = m[j * p + i] / pivot;
                    m[j * p + i] = temp;
                    m[j * p + j] -= temp * temp * pivot;
                    for k in (j + 1)..p {
                        m[k * p + j] -= temp * m[k * p + i];
                    }
                }
            }
        }
        Chol { m, p, rank }
    }

    /// The first pivot set to zero (a constant or collinear column), if any.
    pub(crate) fn first_zero_pivot(&self) -> Option<usize> {
        (0..self.p).find(|&i| self.m[i * self.p + i] == 0.0)
    }

    /// `chsolve2`: overwrite `y` with `A^- y`.
    pub(crate) fn solve(&self, y: &mut [f64]) {
        let (m, p) = (&self.m, self.p);
        for i in 0..p {
            let mut temp = y[i];
            for j in 0..i {
                temp -= y[j] * m[i * p + j];
            }
            y[i] = temp;
        }
        for i in (0..p).rev() {
            if m[i * p + i] == 0.0 {
                y[i] = 0.0;
            } else {
                let mut temp = y[i] / m[i * p + i];
                for j in (i + 1)..p {
                    temp -= y[j] * m[j * p + i];
                }
                y[i] = temp;
            }
        }
    }

    /// `chinv2`: the (generalised) inverse, full symmetric row-major.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let p = self.p;
        let mut m = self.m.clone();
        for i in 0..p {
            if m[i * p + i] > 0.0 {
                m[i * p + i] = 1.0 / m[i * p + i];
                for j in (i + 1)..p {
                    m[j * p + i] = -m[j * p + i];
                    for k in 0..i {
                        m[j * p + k] += m[j * p + i] * m[i * p + k];
                    }
                }
            }
        }
        for i in 0..p {
            if m[i * p + i] == 0.0 {
                for j in 0..i {
                    m[j * p + i] = 0.0;
                }
                for j in i..p {
                    m[i * p + j] = 0.0;
                }
            } else {
                for j in (i + 1)..p {
                    let temp = m[j * p + i] * m[j * p + j];
                    m[i * p + j] = temp;
                    for k in i..j {
                        m[i * p + k] += temp * m[j * p + k];
                    }
                }
            }
        }
        // the upper triangle and diagonal hold the inverse
        for i in 0..p {
            for j in 0..i {
                m[i * p + j] = m[j * p + i];
            }
        }
        m
    }
}

/// Solve `A x = b` (`k x k`, row-major) by Gaussian elimination with partial
/// pivoting, as LAPACK's `dgesv` behind R's `solve()` (the `cox.zph`
/// tests). `None` if `A` is singular (a zero or non-finite pivot, or a
/// non-finite solution).
pub(crate) fn lu_solve(mut a: Vec<f64>, mut b: Vec<f64>, k: usize) -> Option<Vec<f64>> {
    for c in 0..k {
        let piv = (c..k)
            .max_by(|&i, &j| a[i * k + c].abs().total_cmp(&a[j * k + c].abs()))
            .expect("non-empty");
        let pv = a[piv * k + c];
        if pv == 0.0 || !pv.is_finite() {
            return None;
        }
        if piv != c {
            for j in 0..k {
                a.swap(piv * k + j, c * k + j);
            }
            b.swap(piv, c);
        }
        for r in (c + 1)..k {
            let f = a[r * k + c] / pv;
            if f != 0.0 {
                for j in c..k {
                    a[r * k + j] -= f * a[c * k + j];
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let mut s = b[r];
        for j in (r + 1)..k {
            s -= a[r * k + j] * x[j];
        }
        x[r] = s / a[r * k + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_nonsingular() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let (x, r) = ginv_solve(&a, 2, &[2.0, 1.0]);
        assert_eq!(r, 2);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
    }

    #[test]
    fn singular_drops_aliased_column() {
        let a = [1.0, 1.0, 1.0, 1.0];
        let (x, r) = ginv_solve(&a, 2, &[2.0, 2.0]);
        assert_eq!(r, 1);
        assert_eq!(x, vec![2.0, 0.0]);
    }

    #[test]
    fn chol_inverse_of_spd() {
        let a = [4.0, 2.0, 0.6, 2.0, 3.0, 0.4, 0.6, 0.4, 2.0];
        let inv = Chol::new(&a, 3, CHOL_TOLERANCE).inverse();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((v - e).abs() < 1e-14, "{i} {j} {v}");
            }
        }
    }

    #[test]
    fn chol_flags_collinear_column() {
        let a = [1.0, 2.0, 2.0, 4.0];
        let ch = Chol::new(&a, 2, CHOL_TOLERANCE);
        assert_eq!(ch.rank, 1);
        assert_eq!(ch.first_zero_pivot(), Some(1));
    }
}

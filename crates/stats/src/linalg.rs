//! Small dense linear algebra: a generalized-inverse solve for symmetric
//! positive semi-definite matrices.

/// Pivot tolerance, relative to the largest diagonal element:
/// `.Machine$double.eps^0.75`, the `toler.chol` default of R's survival.
pub(crate) const CHOL_TOLERANCE: f64 = 1.818_989_403_545_856e-12;

/// Solve `A x = b` for a symmetric positive semi-definite `A` (row-major,
/// `k x k`) with a generalized inverse: an LDL' Cholesky decomposition in
/// which any pivot below `CHOL_TOLERANCE * max(diag)` (or non-finite) is set
/// to zero and its component of `x` to zero, as survival's `cholesky2` /
/// `chsolve2`. For a non-singular `A` this is the ordinary solution (R's
/// `solve`). Returns `(x, rank)`.
pub(crate) fn ginv_solve(a: &[f64], k: usize, b: &[f64]) -> (Vec<f64>, usize) {
    let mut m = a.to_vec();
    let at = |i: usize, j: usize| i * k + j;
    let mut eps = 0.0_f64;
    for i in 0..k {
        if m[at(i, i)] > eps {
            eps = m[at(i, i)];
        }
    }
    eps = if eps == 0.0 {
        CHOL_TOLERANCE
    } else {
        eps * CHOL_TOLERANCE
    };
    let mut rank = 0;
    // lower triangle holds L (unit diagonal implied), diagonal holds D
    for i in 0..k {
        let pivot = m[at(i, i)];
        if !pivot.is_finite() || pivot < eps {
            m[at(i, i)] = 0.0;
        } else {
            rank += 1;
            for j in (i + 1)..k {
                let temp = m[at(j, i)] / pivot;
                m[at(j, i)] = temp;
                m[at(j, j)] -= temp * temp * pivot;
                for l in (j + 1)..k {
                    m[at(l, j)] -= temp * m[at(l, i)];
                }
            }
        }
    }
    // forward: L y = b
    let mut y = b.to_vec();
    for i in 0..k {
        for j in 0..i {
            y[i] -= m[at(i, j)] * y[j];
        }
    }
    // diagonal
    for i in 0..k {
        let d = m[at(i, i)];
        y[i] = if d == 0.0 { 0.0 } else { y[i] / d };
    }
    // back: L' x = y
    for i in (0..k).rev() {
        for j in (i + 1)..k {
            y[i] -= m[at(j, i)] * y[j];
        }
    }
    (y, rank)
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
}

//! Cholesky factor, log-determinant, inverse and solves of a symmetric
//! positive definite matrix, on column-major storage: the few dense
//! kernels the optimizer runs every iteration (Sigma, the information
//! matrix), written as contiguous column updates that the compiler
//! vectorizes. nalgebra's general `Cholesky` is several times slower on the
//! small matrices of a typical model (p = 25, q = 60).
//!
//! Left-looking (Crout) by columns: for j = 0..n,
//!
//!   L(j:n, j) = A(j:n, j) - sum_{k<j} L(j, k) L(j:n, k),   then divided by sqrt(L(j, j)),
//!
//! and the inverse from W = L^-1 (forward substitution, column by column) as
//! A^-1 = W' W, of which only the lower half is summed.

use nalgebra::{DMatrix, DVector};

/// Above this order the factor is computed by blocks, its O(n^3) part as
/// matrix products (matrixmultiply, which picks SIMD kernels at run time).
const BLOCKED_FROM: usize = 96;
const BLOCK: usize = 48;

/// Columns k0..k1 of the factor, in place, rows k0..n: the contributions of
/// the columns before k0 must already be subtracted. `None` when a pivot is
/// not positive.
fn factor_columns(l: &mut [f64], n: usize, k0: usize, k1: usize) -> Option<()> {
    for j in k0..k1 {
        let (done, rest) = l.split_at_mut(j * n);
        let col = &mut rest[..n];
        for k in k0..j {
            let ljk = done[k * n + j];
            if ljk != 0.0 {
                let ck = &done[k * n + j..k * n + n];
                for (x, y) in col[j..].iter_mut().zip(ck) {
                    *x -= ljk * y;
                }
            }
        }
        let d = col[j];
        // NaN fails too
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let s = d.sqrt();
        col[j] = s;
        let inv = 1.0 / s;
        for x in col[j + 1..].iter_mut() {
            *x *= inv;
        }
    }
    Some(())
}

/// The lower Cholesky factor L (A = L L') of a symmetric positive definite
/// matrix, of which only the lower triangle is read.
pub struct Chol {
    n: usize,
    /// column-major, lower triangle (the upper one is zero)
    l: Vec<f64>,
}

impl Chol {
    /// `None` when A is not (numerically) positive definite.
    pub fn new(a: &DMatrix<f64>) -> Option<Chol> {
        let n = a.nrows();
        let mut l = a.as_slice().to_vec();
        if n <= BLOCKED_FROM {
            factor_columns(&mut l, n, 0, n)?;
        } else {
            // right-looking by blocks of columns: factor a panel, then take
            // it out of the trailing matrix with one matrix product
            let mut k0 = 0;
            while k0 < n {
                let k1 = (k0 + BLOCK).min(n);
                factor_columns(&mut l, n, k0, k1)?;
                if k1 < n {
                    let m = n - k1;
                    let panel = DMatrix::from_fn(m, k1 - k0, |i, j| l[(k0 + j) * n + k1 + i]);
                    let update = &panel * panel.transpose();
                    for j in 0..m {
                        let col = &mut l[(k1 + j) * n + k1..(k1 + j + 1) * n];
                        for (x, u) in col[j..].iter_mut().zip(&update.as_slice()[j * m + j..(j + 1) * m]) {
                            *x -= u;
                        }
                    }
                }
                k0 = k1;
            }
        }
        for j in 0..n {
            l[j * n..j * n + j].fill(0.0);
        }
        Some(Chol { n, l })
    }

    /// log |A| = 2 sum log L_jj
    pub fn logdet(&self) -> f64 {
        2.0 * (0..self.n).map(|j| self.l[j * self.n + j].ln()).sum::<f64>()
    }

    /// W = L^-1, lower triangular, column-major.
    fn inverse_factor(&self) -> Vec<f64> {
        let n = self.n;
        let l = &self.l;
        let mut w = vec![0.0; n * n];
        // column j of W solves L w = e_j: zero above j
        for j in 0..n {
            let col = &mut w[j * n..(j + 1) * n];
            col[j] = 1.0;
            for k in j..n {
                let v = col[k] / l[k * n + k];
                col[k] = v;
                if v != 0.0 {
                    let lk = &l[k * n + k + 1..(k + 1) * n];
                    for (x, y) in col[k + 1..].iter_mut().zip(lk) {
                        *x -= v * y;
                    }
                }
            }
        }
        w
    }

    /// A^-1 = W' W with W = L^-1 (one matrix product).
    pub fn inverse(&self) -> DMatrix<f64> {
        let n = self.n;
        let w = DMatrix::from_vec(n, n, self.inverse_factor());
        let mut out = w.transpose() * &w;
        // exactly symmetric
        for j in 0..n {
            for i in j + 1..n {
                out[(j, i)] = out[(i, j)];
            }
        }
        out
    }

    /// Solve A x = b.
    pub fn solve(&self, b: &[f64]) -> DVector<f64> {
        let n = self.n;
        let l = &self.l;
        let mut x = b.to_vec();
        // L y = b
        for k in 0..n {
            let v = x[k] / l[k * n + k];
            x[k] = v;
            for (xi, lik) in x[k + 1..].iter_mut().zip(&l[k * n + k + 1..(k + 1) * n]) {
                *xi -= v * lik;
            }
        }
        // L' x = y
        for k in (0..n).rev() {
            let s: f64 = x[k + 1..].iter().zip(&l[k * n + k + 1..(k + 1) * n]).map(|(a, b)| a * b).sum();
            x[k] = (x[k] - s) / l[k * n + k];
        }
        DVector::from_vec(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> DMatrix<f64> {
        let m = DMatrix::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.4);
        &m * m.transpose() + DMatrix::identity(n, n) * 0.5
    }

    #[test]
    fn agrees_with_nalgebra() {
        for n in [1, 2, 5, 25, 60, 97, 200, 301] {
            let a = spd(n);
            let c = Chol::new(&a).unwrap();
            let reference = a.clone().cholesky().unwrap();
            let ld = 2.0 * reference.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
            assert!((c.logdet() - ld).abs() < 1e-10 * (1.0 + ld.abs()), "n = {n}");
            let inv = c.inverse();
            assert!((&inv - reference.inverse()).amax() < 1e-9 * inv.amax(), "n = {n}");
            assert!(
                (c.l.iter().zip(reference.l().iter())).all(|(a, b)| (a - b).abs() < 1e-10),
                "n = {n}"
            );
            assert!((&a * &inv - DMatrix::identity(n, n)).amax() < 1e-9, "n = {n}");
            let b: Vec<f64> = (0..n).map(|i| i as f64 - 1.5).collect();
            let x = c.solve(&b);
            assert!((&a * &x - DVector::from_vec(b)).amax() < 1e-9, "n = {n}");
        }
    }

    #[test]
    fn refuses_indefinite_and_nan() {
        let mut a = spd(4);
        a[(2, 2)] = -1.0;
        assert!(Chol::new(&a).is_none());
        let mut a = spd(4);
        a[(1, 1)] = f64::NAN;
        assert!(Chol::new(&a).is_none());
        assert!(Chol::new(&DMatrix::zeros(3, 3)).is_none());
    }
}

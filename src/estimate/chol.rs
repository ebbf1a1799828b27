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
//!
//! Large matrices (the information matrix of a model with thousands of free
//! parameters) take all three steps by blocks, so that their O(n^3) work is
//! matrix products of blocks (matrixmultiply's SIMD kernels) over the lower
//! triangles only: the factor, W block column by block column, and W'W
//! block by block of the lower half. The unblocked loops were memory-bound,
//! and W'W as one full product did six times the needed work.

use nalgebra::{DMatrix, DVector};

/// Above this order the factor is computed by blocks, its O(n^3) part as
/// matrix products (matrixmultiply, which picks SIMD kernels at run time).
const BLOCKED_FROM: usize = 96;
const BLOCK: usize = 48;
/// Block order of the inverse and of the trailing updates of large factors.
const BIG_BLOCK: usize = 128;

/// Columns k0..k1 of the factor, in place, rows k0..n: the contributions of
/// the columns before k0 must already be subtracted. `Err(j)` when the pivot
/// of column j is not positive.
fn factor_columns(l: &mut [f64], n: usize, k0: usize, k1: usize) -> Result<(), usize> {
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
            return Err(j);
        }
        let s = d.sqrt();
        col[j] = s;
        let inv = 1.0 / s;
        for x in col[j + 1..].iter_mut() {
            *x *= inv;
        }
    }
    Ok(())
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
        Chol::try_new(a).ok()
    }

    /// `Err(j)` when A is not (numerically) positive definite, j the first
    /// pivot that is not positive: the leading j x j block of A is positive
    /// definite and the leading (j + 1) x (j + 1) block is not.
    pub fn try_new(a: &DMatrix<f64>) -> Result<Chol, usize> {
        let n = a.nrows();
        let mut l = a.as_slice().to_vec();
        if n <= BLOCKED_FROM {
            factor_columns(&mut l, n, 0, n)?;
        } else {
            // right-looking by blocks of columns: factor a panel, then take
            // it out of the lower triangle of the trailing matrix, one block
            // column at a time, by matrix products
            let mut k0 = 0;
            while k0 < n {
                let k1 = (k0 + BLOCK).min(n);
                factor_columns(&mut l, n, k0, k1)?;
                if k1 < n {
                    let m = n - k1;
                    let panel = DMatrix::from_fn(m, k1 - k0, |i, j| l[(k0 + j) * n + k1 + i]);
                    let mut j0 = 0;
                    while j0 < m {
                        let jb = (j0 + BIG_BLOCK).min(m) - j0;
                        let update = panel.rows(j0, m - j0) * panel.rows(j0, jb).transpose();
                        for j in 0..jb {
                            let col = &mut l[(k1 + j0 + j) * n + k1 + j0..(k1 + j0 + j + 1) * n];
                            for (x, u) in col[j..].iter_mut().zip(update.column(j).iter().skip(j)) {
                                *x -= u;
                            }
                        }
                        j0 += jb;
                    }
                }
                k0 = k1;
            }
        }
        for j in 0..n {
            l[j * n..j * n + j].fill(0.0);
        }
        Ok(Chol { n, l })
    }

    /// log |A| = 2 sum log L_jj
    pub fn logdet(&self) -> f64 {
        2.0 * (0..self.n).map(|j| self.l[j * self.n + j].ln()).sum::<f64>()
    }

    /// W = L^-1, lower triangular, column-major.
    fn inverse_factor(&self) -> Vec<f64> {
        let n = self.n;
        if n > BLOCKED_FROM {
            return self.inverse_factor_blocked().as_slice().to_vec();
        }
        let mut w = vec![0.0; n * n];
        // column j of W solves L w = e_j: zero above j
        for j in 0..n {
            self.forward_unit(&mut w[j * n..(j + 1) * n], j, n);
        }
        w
    }

    /// Forward substitution of column `j` of L^-1 over rows j..end (the
    /// column holds e_j on entry, rows below `end` are left alone).
    fn forward_unit(&self, col: &mut [f64], j: usize, end: usize) {
        let (n, l) = (self.n, &self.l);
        col[j] = 1.0;
        for k in j..end {
            let v = col[k] / l[k * n + k];
            col[k] = v;
            if v != 0.0 {
                let lk = &l[k * n + k + 1..k * n + end];
                for (x, y) in col[k + 1..end].iter_mut().zip(lk) {
                    *x -= v * y;
                }
            }
        }
    }

    /// W = L^-1 by blocks: the inverses of the diagonal blocks, then block
    /// row I of block column J as -W_II (L[I, J..I] W[J..I, J]).
    fn inverse_factor_blocked(&self) -> DMatrix<f64> {
        let n = self.n;
        let l = DMatrix::from_column_slice(n, n, &self.l);
        let mut w = DMatrix::<f64>::zeros(n, n);
        let starts: Vec<usize> = (0..n).step_by(BIG_BLOCK).collect();
        let size = |b: usize| (starts[b] + BIG_BLOCK).min(n) - starts[b];
        // diagonal blocks: forward substitution within the block
        for (b, &i0) in starts.iter().enumerate() {
            let end = i0 + size(b);
            for j in i0..end {
                let mut col = vec![0.0; n];
                self.forward_unit(&mut col, j, end);
                w.column_mut(j).rows_mut(i0, end - i0).copy_from_slice(&col[i0..end]);
            }
        }
        for (jb, &j0) in starts.iter().enumerate() {
            let bj = size(jb);
            for (ib, &i0) in starts.iter().enumerate().skip(jb + 1) {
                let bi = size(ib);
                let t = l.view((i0, j0), (bi, i0 - j0)) * w.view((j0, j0), (i0 - j0, bj));
                let block = -(w.view((i0, i0), (bi, bi)) * t);
                w.view_mut((i0, j0), (bi, bj)).copy_from(&block);
            }
        }
        w
    }

    /// A^-1 = W' W with W = L^-1 (the lower half by blocks, mirrored).
    pub fn inverse(&self) -> DMatrix<f64> {
        let n = self.n;
        let w = DMatrix::from_vec(n, n, self.inverse_factor());
        let mut out = if n > BLOCKED_FROM {
            // block (I, J), I >= J: sum over rows K >= I of W[K, I]' W[K, J]
            let mut out = DMatrix::<f64>::zeros(n, n);
            let starts: Vec<usize> = (0..n).step_by(BIG_BLOCK).collect();
            for &i0 in &starts {
                let bi = (i0 + BIG_BLOCK).min(n) - i0;
                let wi = w.view((i0, i0), (n - i0, bi));
                let lower = wi.transpose() * w.view((i0, 0), (n - i0, i0 + bi));
                out.view_mut((i0, 0), (bi, i0 + bi)).copy_from(&lower);
            }
            out
        } else {
            w.transpose() * &w
        };
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
        for n in [1, 2, 5, 25, 60, 97, 128, 129, 200, 301, 517] {
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
        // the first failing pivot, blocked or not: column n/2 repeats column 10
        for n in [60, 300] {
            let mut a = spd(n);
            let k = n / 2;
            for i in 0..n {
                a[(i, k)] = a[(i, 10)];
                a[(k, i)] = a[(10, i)];
            }
            a[(k, k)] = a[(10, 10)];
            assert_eq!(Chol::try_new(&a).err(), Some(k), "n = {n}");
        }
        let mut a = spd(4);
        a[(1, 1)] = f64::NAN;
        assert!(Chol::new(&a).is_none());
        assert!(Chol::new(&DMatrix::zeros(3, 3)).is_none());
    }
}

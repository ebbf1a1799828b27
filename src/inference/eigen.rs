//! Eigen decomposition of a symmetric matrix by cyclic Jacobi rotations.
//!
//! It exists because nalgebra 0.33's `SymmetricEigen` can return an
//! eigenvalue paired with another eigenvalue's eigenvector
//! (dimforge/nalgebra#1109): on the information matrix of the public case
//! `fiml_se_many_patterns` (48 parameters) V diag(lambda) V' missed the
//! matrix by 0.02, and the FIML standard errors built from it were off by up
//! to 28%, depending on which rows happened to be in the file (issue 19).
//! Jacobi is slower than QR but unconditionally accurate (each rotation is
//! exactly orthogonal, the off-diagonal mass falls quadratically), and the
//! matrices decomposed here are small (the free parameters, the observed
//! variables), so correctness wins.
//!
//! Each rotation J (angle phi in the (p, q) plane) replaces A by J'AJ with
//! tan phi = t the smaller root of t^2 + 2 theta t - 1 = 0,
//! theta = (a_qq - a_pp) / (2 a_pq), which zeroes a_pq; the product of the
//! rotations is V, and A = V diag(lambda) V' at convergence.

use nalgebra::{DMatrix, DVector};

/// Eigenvalues (unsorted) and unit eigenvectors (the columns of `vectors`).
#[derive(Debug, Clone)]
pub struct Eigen {
    pub values: DVector<f64>,
    pub vectors: DMatrix<f64>,
}

impl Eigen {
    /// V diag(f(lambda)) V'.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> DMatrix<f64> {
        let n = self.values.len();
        let scaled = DMatrix::from_fn(n, n, |i, k| self.vectors[(i, k)] * f(self.values[k]));
        scaled * self.vectors.transpose()
    }
}

/// Eigen decomposition of the symmetric part of `m` ((m + m') / 2). A matrix
/// with a non-finite entry gives NaN eigenvalues.
pub fn symmetric_eigen(m: &DMatrix<f64>) -> Eigen {
    let n = m.nrows();
    assert_eq!(n, m.ncols(), "symmetric_eigen: square matrix expected");
    if m.iter().any(|v| !v.is_finite()) {
        return Eigen {
            values: DVector::from_element(n, f64::NAN),
            vectors: DMatrix::identity(n, n),
        };
    }
    let mut a = (m + m.transpose()) * 0.5;
    let mut v = DMatrix::<f64>::identity(n, n);
    let norm2: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|j| (0..j).map(move |i| (i, j)))
            .map(|(i, j)| 2.0 * a[(i, j)] * a[(i, j)])
            .sum();
        if off <= f64::EPSILON * f64::EPSILON * norm2 || off == 0.0 {
            break;
        }
        for q in 1..n {
            for p in 0..q {
                let apq = a[(p, q)];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[(q, q)] - a[(p, p)]) / (2.0 * apq);
                let t = if theta.is_finite() {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                } else {
                    // a_pq negligible next to the diagonal gap
                    0.5 / theta
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[(k, p)], a[(k, q)]);
                    a[(k, p)] = c * akp - s * akq;
                    a[(k, q)] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[(p, k)], a[(q, k)]);
                    a[(p, k)] = c * apk - s * aqk;
                    a[(q, k)] = s * apk + c * aqk;
                }
                a[(p, q)] = 0.0;
                a[(q, p)] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[(k, p)], v[(k, q)]);
                    v[(k, p)] = c * vkp - s * vkq;
                    v[(k, q)] = s * vkp + c * vkq;
                }
            }
        }
    }
    Eigen {
        values: a.diagonal(),
        vectors: v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: &DMatrix<f64>) {
        let e = symmetric_eigen(m);
        let n = m.nrows();
        let scale = m.abs().max().max(1e-300);
        let recon = e.map(|x| x);
        assert!(
            (&recon - m).abs().max() < 1e-12 * scale,
            "reconstruction off by {}",
            (&recon - m).abs().max()
        );
        let orth = e.vectors.transpose() * &e.vectors - DMatrix::<f64>::identity(n, n);
        assert!(orth.abs().max() < 1e-12);
    }

    #[test]
    fn decomposes_the_matrix_nalgebra_gets_wrong() {
        // dimforge/nalgebra#1109
        let m = DMatrix::from_row_slice(
            4,
            4,
            &[
                -19884.07, -10.07188, 11.277279, -188560.63, -10.07188, 12.518197, 1.3770627, -102.97504, 11.277279, 1.3770627, 14.587362,
                113.26099, -188560.63, -102.97504, 113.26099, -1788112.3,
            ],
        );
        check(&m);
    }

    #[test]
    fn decomposes_random_and_degenerate_matrices() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1, 2, 3, 7, 30, 60] {
            let b = DMatrix::from_fn(n, n, |_, _| rnd());
            check(&(&b + b.transpose()));
            // rank deficient, with widely different scales
            let r = DMatrix::from_fn(n, n.div_ceil(2), |i, _| rnd() * 10f64.powi((i % 5) as i32 * 2));
            check(&(&r * r.transpose()));
        }
        check(&DMatrix::identity(5, 5));
        assert!(symmetric_eigen(&DMatrix::from_element(2, 2, f64::NAN)).values[0].is_nan());
    }

    #[test]
    fn finds_a_null_direction() {
        // x0 and x1 enter only through their sum
        let m = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 0.2, 1.0, 1.0, 0.2, 0.2, 0.2, 2.0]);
        let e = symmetric_eigen(&m);
        let k = (0..3).min_by(|&i, &j| e.values[i].total_cmp(&e.values[j])).unwrap();
        assert!(e.values[k].abs() < 1e-14);
        assert!((e.vectors[(0, k)] + e.vectors[(1, k)]).abs() < 1e-12 && e.vectors[(2, k)].abs() < 1e-12);
    }
}

//! The scaled-shifted difference test of two nested fits of the WLS family
//! (WLSMV, ULSMV): what lavaan 0.6-14's `lavTestLRT()` computes by default
//! for these estimators ("satorra.2000" with `scaled.shifted = TRUE`,
//! `A.method = "delta"`, `H1 = TRUE`). The Satorra-Bentler (2001) formula
//! used for MLM/MLR (`crate::compare::lr_test`) only needs the two scaling
//! factors; this one needs the general model's Jacobian, weight, NACOV and
//! information, and the restricted model's Jacobian, so each estimator that
//! supports it hands them over as `DiffPieces`.
//!
//! With model 1 the general and model 0 the restricted one, Delta_g the
//! per-group Jacobians of the implied statistics (groups stacked: D1 at
//! model 1's estimates, D0 at model 0's), W_g the weights, Gamma_g the NACOV,
//! f_g = n_g / N and E = sum_g f_g D1_g'W_g D1_g:
//!
//! - H = D1^+ D0; A's rows span the orthogonal complement of H's columns
//!   (the directions of model 1 that model 0 restricts);
//! - M = E^-1 A' (A E^-1 A')^+ A E^-1;
//! - U = W D1 M D1' W (W = bdiag W_g), Gamma = bdiag(f_g Gamma_g),
//!   t1 = tr(U Gamma), t2 = tr((U Gamma)^2);
//! - with m = df0 - df1: a = sqrt(m / t2), b = m - a t1 and the difference
//!   statistic (T0 - T1) a + b on m degrees of freedom, T the standard
//!   (unscaled) test statistics. We report 1/a as the scaling factor and b
//!   as the shift, as the model test's `chisq_scaling_factor` and
//!   `chisq_shift_parameters`.
//!
//! Equality constraints need no projection here: the parameter vectors are
//! already the free, constraint-reduced ones, and the statistic does not
//! depend on how a model is parameterized.

use nalgebra::{DMatrix, SymmetricEigen};

/// What the Satorra (2000) difference test needs from one fit, at its
/// estimates.
#[derive(Debug, Clone)]
pub struct DiffPieces {
    /// per group: the Jacobian of the implied statistics (rows: lavaan's
    /// `wls.obs` order; columns: the free parameters)
    pub jac: Vec<DMatrix<f64>>,
    /// per group: the weight W_g (`wls.v`)
    pub weight: Vec<DMatrix<f64>>,
    /// per group: the NACOV Gamma_g of the sample statistics
    pub gamma: Vec<DMatrix<f64>>,
    /// per group: n_g / N
    pub fg: Vec<f64>,
    /// the inverse of the (expected) information E = sum_g f_g D_g'W_g D_g
    pub info_inv: DMatrix<f64>,
}

/// The difference test: statistic, degrees of freedom, scaling factor 1/a
/// and shift b (NaN when m = 0: then the statistic is the plain difference).
#[derive(Debug, Clone, Copy)]
pub struct Difference {
    pub stat: f64,
    pub df: f64,
    pub scaling_factor: f64,
    pub shift: f64,
}

/// The Moore-Penrose inverse of a symmetric matrix (eigenvalues below
/// a relative tolerance count as zero, as MASS::ginv).
fn ginv_sym(m: &DMatrix<f64>) -> DMatrix<f64> {
    let e = SymmetricEigen::new((m + m.transpose()) * 0.5);
    let top = e.eigenvalues.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let tol = top * 1.5e-8;
    let mut out = DMatrix::zeros(m.nrows(), m.ncols());
    for (k, &l) in e.eigenvalues.iter().enumerate() {
        if l.abs() > tol {
            let v = e.eigenvectors.column(k);
            out += v * v.transpose() / l;
        }
    }
    out
}

/// The rows of the stacked per-group matrices.
fn stack(blocks: &[DMatrix<f64>]) -> DMatrix<f64> {
    crate::estimator::wls::vstack(blocks)
}

/// lavaan's scaled-shifted difference test (see the module doc); `t1`,
/// `df1` of the general model, `t0`, `df0` of the restricted one, whose
/// Jacobian at its estimates is `jac0` (same rows as `general.jac`).
pub fn difference(general: &DiffPieces, jac0: &[DMatrix<f64>], t1: f64, df1: f64, t0: f64, df0: f64) -> Result<Difference, String> {
    let m = df0 - df1;
    if m == 0.0 {
        return Ok(Difference {
            stat: t0 - t1,
            df: 0.0,
            scaling_factor: f64::NAN,
            shift: f64::NAN,
        });
    }
    if jac0.len() != general.jac.len() || jac0.iter().zip(&general.jac).any(|(a, b)| a.nrows() != b.nrows()) {
        return Err("the two models are not fitted to the same sample statistics".into());
    }
    let d1 = stack(&general.jac);
    let d0 = stack(jac0);
    let n1 = d1.ncols();
    // H = D1^+ D0, through the normal equations of D1
    let h = ginv_sym(&(d1.transpose() * &d1)) * d1.transpose() * d0;
    // A: orthonormal rows spanning the orthogonal complement of H's columns
    let proj = &h * ginv_sym(&(h.transpose() * &h)) * h.transpose();
    let comp = DMatrix::identity(n1, n1) - proj;
    let e = SymmetricEigen::new((&comp + comp.transpose()) * 0.5);
    let keep: Vec<usize> = (0..n1).filter(|&k| e.eigenvalues[k] > 0.5).collect();
    if keep.is_empty() {
        return Err("the restricted model imposes no restriction on the general one (are they nested?)".into());
    }
    let mut a = DMatrix::zeros(keep.len(), n1);
    for (r, &k) in keep.iter().enumerate() {
        a.row_mut(r).copy_from(&e.eigenvectors.column(k).transpose());
    }
    let ei = &general.info_inv;
    let aei = &a * ei;
    let mid = ginv_sym(&(&aei * a.transpose()));
    let mm = aei.transpose() * mid * &aei;
    // U Gamma = W D1 M D1' W bdiag(f_g Gamma_g)
    let wd: Vec<DMatrix<f64>> = general.weight.iter().zip(&general.jac).map(|(w, j)| w * j).collect();
    let wd = stack(&wd);
    let fgam = crate::estimator::wls::bdiag(general.gamma.iter().zip(&general.fg).map(|(g, f)| g * *f).collect());
    let ug = (&wd * mm) * (wd.transpose() * fgam);
    let tr1 = ug.trace();
    let tr2 = crate::estimator::wls::trace_prod(&ug, &ug);
    if !(tr1.is_finite() && tr2.is_finite() && tr2 > 0.0) {
        return Err("the difference test's traces could not be computed".into());
    }
    let a = (m / tr2).sqrt();
    let b = m - a * tr1;
    Ok(Difference {
        stat: (t0 - t1) * a + b,
        df: m,
        scaling_factor: 1.0 / a,
        shift: b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ginv_of_singular_matrix_inverts_its_range() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let g = ginv_sym(&m);
        assert!((&m * &g * &m - &m).abs().max() < 1e-12);
        assert!((g[(0, 0)] - 0.25).abs() < 1e-12);
    }

    #[test]
    fn no_df_difference_gives_the_plain_difference() {
        let p = DiffPieces {
            jac: vec![],
            weight: vec![],
            gamma: vec![],
            fg: vec![],
            info_inv: DMatrix::zeros(0, 0),
        };
        let d = difference(&p, &[], 10.0, 5.0, 12.5, 5.0).unwrap();
        assert_eq!((d.stat, d.df), (2.5, 0.0));
        assert!(d.shift.is_nan());
    }
}

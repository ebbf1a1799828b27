//! Standard errors of the standardized solution (`std_all_se`), as lavaan's
//! `standardizedSolution()` `se` column: the delta method J V J', with J the
//! Jacobian of the std.all value of every parameter-table row (defined `:=`
//! rows too, evaluated on the standardized values) with respect to the free
//! parameters. lavaan differentiates by complex step; here J comes from
//! central differences of `standardize::standardize`, accurate to about
//! 1e-9, far inside the 1e-3 the numbers are held to.

use super::defined::evaluate_definitions;
use super::standardize::standardize;
use crate::model::Model;
use nalgebra::DMatrix;

/// std.all of every row at `x` (NaN where it does not exist).
fn std_all_values(model: &Model, x: &[f64]) -> Vec<f64> {
    let (_, all) = standardize(model, x);
    with_definitions(model, all.iter().map(|o| o.unwrap_or(f64::NAN)).collect())
}

/// The std.all values `v` of the rows with the defined (`:=`) rows
/// evaluated on them.
pub fn with_definitions(model: &Model, mut v: Vec<f64>) -> Vec<f64> {
    if let Ok(defs) = evaluate_definitions(model, &v) {
        for (row, d) in defs {
            v[row] = d.v;
        }
    }
    v
}

/// `std_all_se` per parameter-table row; `None` where the standardized
/// value or its derivative does not exist.
pub fn std_all_se(model: &Model, x: &[f64], vcov: &DMatrix<f64>) -> Vec<Option<f64>> {
    std_all_se_by(model.pt.rows.len(), x, vcov, |x| std_all_values(model, x))
}

/// `std_all_se` of the std.all values that `values` gives at a parameter
/// vector (one per row; NaN, or a short vector, where there is none): for
/// estimators that standardize rows the RAM matrices do not hold
/// (`crate::estimator::Fitting::std_all_at`).
pub fn std_all_se_by(nrows: usize, x: &[f64], vcov: &DMatrix<f64>, mut values: impl FnMut(&[f64]) -> Vec<f64>) -> Vec<Option<f64>> {
    let nx = x.len();
    let mut values = |x: &[f64]| {
        let mut v = values(x);
        v.resize(nrows, f64::NAN);
        v
    };
    let base = values(x);
    let mut jac = DMatrix::<f64>::zeros(nrows, nx);
    let mut xp = x.to_vec();
    for k in 0..nx {
        let h = 1e-5 * x[k].abs().max(1.0);
        xp[k] = x[k] + h;
        let up = values(&xp);
        xp[k] = x[k] - h;
        let down = values(&xp);
        xp[k] = x[k];
        for r in 0..nrows {
            jac[(r, k)] = (up[r] - down[r]) / (2.0 * h);
        }
    }
    // J V once (rows with a non-finite derivative are refused below; a
    // product row depends on its own Jacobian row only)
    let finite = DMatrix::from_fn(nrows, nx, |r, k| if jac[(r, k)].is_finite() { jac[(r, k)] } else { 0.0 });
    let jv = &finite * vcov;
    (0..nrows)
        .map(|r| {
            if !base[r].is_finite() {
                return None;
            }
            let j = jac.row(r);
            if j.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let var = jv.row(r).dot(&j);
            if var.is_nan() || var < -1e-12 {
                return None;
            }
            let se = var.max(0.0).sqrt();
            // lavaan: a standard error below sqrt(machine epsilon) is zero
            Some(if se < f64::EPSILON.sqrt() { 0.0 } else { se })
        })
        .collect()
}

//! Standard errors of the standardized solution (`std_all_se`), as lavaan's
//! `standardizedSolution()` `se` column: the delta method J V J', with J the
//! Jacobian of the std.all value of every parameter-table row (defined `:=`
//! rows too, evaluated on the standardized values) with respect to the free
//! parameters.
//!
//! For a model of RAM matrices J is analytic and sparse: a std.all value is
//! its raw value divided by standard deviations sqrt(C_vv), C = B S B' with
//! B = (I - A)^-1, and the derivative of C_vv is a product of columns of B
//! and C (dC_vv/dA_ij = 2 B_vi C_jv, dC_vv/dS_ij = B_vi B_vj, twice off the
//! diagonal). A loading's row then depends on three parameters instead of
//! all of them, so a one-factor model with thousands of indicators costs
//! milliseconds here, where central differences (one standardization, O(p^3),
//! per free parameter) took minutes. lavaan differentiates by complex step;
//! both are exact to rounding, far inside the 1e-3 the numbers are held to.
//! Estimators that standardize rows the RAM matrices do not hold (ordinal
//! variables) use central differences of their own values (`std_all_se_by`).

use super::defined::{definitions_over_rows, evaluate_definitions};
use super::standardize::standardize;
use crate::model::ram::{Implied, Mat};
use crate::model::Model;
use nalgebra::DMatrix;

/// std.all of every row at `x` (NaN where it does not exist): the central
/// differences that check the analytic Jacobian.
#[cfg(test)]
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
    let (values, jac) = std_all_jacobian(model, x);
    values
        .iter()
        .zip(&jac)
        .map(|(v, j)| {
            if !v.is_finite() {
                return None;
            }
            let j = j.as_ref()?;
            if j.iter().any(|(_, d)| !d.is_finite()) {
                return None;
            }
            let var: f64 = j
                .iter()
                .map(|&(a, da)| da * j.iter().map(|&(b, db)| vcov[(a, b)] * db).sum::<f64>())
                .sum();
            delta_se(var)
        })
        .collect()
}

/// A sparse gradient: (free parameter, derivative) pairs, each parameter once.
type Sparse = Vec<(usize, f64)>;

/// Sum the entries of each parameter (parameters tied by equality
/// constraints appear in several cells) and drop exact zeros.
fn merge(mut v: Sparse) -> Sparse {
    v.sort_unstable_by_key(|e| e.0);
    let mut out: Sparse = Vec::with_capacity(v.len());
    for (k, d) in v {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 += d,
            _ => out.push((k, d)),
        }
    }
    out.retain(|e| e.1 != 0.0);
    out
}

/// `a * u + b * w` of two sparse gradients.
fn axpy(a: f64, u: &Sparse, b: f64, w: &Sparse) -> Sparse {
    merge(
        u.iter()
            .map(|&(k, d)| (k, a * d))
            .chain(w.iter().map(|&(k, d)| (k, b * d)))
            .collect(),
    )
}

/// The std.all value of every row (NaN where there is none) and its sparse
/// gradient with respect to the free parameters (`None` where there is no
/// value), defined rows included.
pub fn std_all_jacobian(model: &Model, x: &[f64]) -> (Vec<f64>, Vec<Option<Sparse>>) {
    let nrows = model.pt.rows.len();
    let (_, all) = standardize(model, x);
    let values = with_definitions(model, all.iter().map(|o| o.unwrap_or(f64::NAN)).collect());
    let mut jac: Vec<Option<Sparse>> = vec![None; nrows];
    let ram = &model.ram;
    let p = ram.p();
    let nv = ram.nv();
    for (g, gm) in ram.groups.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let Some(imp) = Implied::new(&a, &s, &m, p) else {
            continue;
        };
        let (b, c) = (&imp.b, &imp.c);
        // d C_vv / d x of every variable v
        let mut dvar: Vec<Sparse> = vec![Vec::new(); nv];
        // the free parameter of each diagonal S cell (the raw residual
        // variances a residual correlation divides by)
        let mut sdiag: Vec<Option<usize>> = vec![None; nv];
        for cell in &gm.cells {
            let Some(k) = cell.x else { continue };
            let (i, j) = (cell.i, cell.j);
            match cell.mat {
                Mat::A => {
                    for v in 0..nv {
                        let d = 2.0 * b[(v, i)] * c[(j, v)];
                        if d != 0.0 {
                            dvar[v].push((k, d));
                        }
                    }
                }
                Mat::S => {
                    let twice = if i == j { 1.0 } else { 2.0 };
                    if i == j {
                        sdiag[i] = Some(k);
                    }
                    for v in 0..nv {
                        let d = twice * b[(v, i)] * b[(v, j)];
                        if d != 0.0 {
                            dvar[v].push((k, d));
                        }
                    }
                }
                Mat::M => {}
            }
        }
        let dvar: Vec<Sparse> = dvar.into_iter().map(merge).collect();
        let own = |cell: &crate::model::ram::Cell, scale: f64| -> Sparse { cell.x.map(|k| vec![(k, scale)]).unwrap_or_default() };
        for cell in &gm.cells {
            let sv = values[cell.row];
            if !sv.is_finite() {
                continue;
            }
            let (i, j) = (cell.i, cell.j);
            let grad = match cell.mat {
                // val sd_j / sd_i
                Mat::A => {
                    let rel = axpy(0.5 * sv / c[(j, j)], &dvar[j], -0.5 * sv / c[(i, i)], &dvar[i]);
                    axpy(1.0, &own(cell, (c[(j, j)] / c[(i, i)]).sqrt()), 1.0, &rel)
                }
                // val / C_ii
                Mat::S if i == j => axpy(1.0, &own(cell, 1.0 / c[(i, i)]), -sv / c[(i, i)], &dvar[i]),
                // val / sqrt(|S_ii| |S_jj|)
                Mat::S => {
                    let den = (s[(i, i)].abs() * s[(j, j)].abs()).sqrt();
                    let mut v = own(cell, 1.0 / den);
                    for (t, k) in [(i, sdiag[i]), (j, sdiag[j])] {
                        if let Some(k) = k {
                            v.push((k, -0.5 * sv / s[(t, t)]));
                        }
                    }
                    merge(v)
                }
                // val / sd_i
                Mat::M => axpy(1.0, &own(cell, 1.0 / c[(i, i)].sqrt()), -0.5 * sv / c[(i, i)], &dvar[i]),
            };
            jac[cell.row] = Some(grad);
        }
    }
    // defined rows: the chain rule through the row values they use
    if let Ok(defs) = definitions_over_rows(model, &values) {
        for (row, d) in defs {
            let mut v = Sparse::new();
            let mut ok = true;
            for (r, &dr) in d.d.iter().enumerate() {
                if dr == 0.0 {
                    continue;
                }
                match &jac[r] {
                    Some(jr) => v.extend(jr.iter().map(|&(k, dk)| (k, dr * dk))),
                    None => ok = false,
                }
            }
            jac[row] = ok.then(|| merge(v));
        }
    }
    (values, jac)
}

/// The standard error from a delta-method variance, as lavaan reports it:
/// `None` when the variance is negative beyond rounding or not a number,
/// zero below sqrt(machine epsilon).
fn delta_se(var: f64) -> Option<f64> {
    if var.is_nan() || var < -1e-12 {
        return None;
    }
    let se = var.max(0.0).sqrt();
    Some(if se < f64::EPSILON.sqrt() { 0.0 } else { se })
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
            delta_se(jv.row(r).dot(&j))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::partable::TableOptions;

    /// The analytic std_all_se equals the central differences on models
    /// with every kind of cell: loadings, regressions, (residual)
    /// covariances, means, equality ties, fixed values, defined parameters,
    /// a non-recursive pair and two groups, at an arbitrary parameter point
    /// and an arbitrary positive definite vcov.
    #[test]
    fn analytic_jacobian_equals_central_differences() {
        let models = [
            (
                "f =~ x1 + a*x2 + a*x3\ng =~ x4 + x5 + x6\ng ~ b*f\nx1 ~~ x4\nind := b*a\n",
                1,
                false,
            ),
            ("f =~ x1 + x2 + x3\ny1 ~ f + x4\ny2 ~ y1\ny1 ~~ y2\nf ~ 1\n", 1, true),
            ("y1 ~ y2 + x1\ny2 ~ y1 + x2\ny1 ~~ y2\n", 1, false),
            ("f =~ x1 + c(l2, l2)*x2 + x3\nx1 ~~ 0.3*x1\nd := l2^2\n", 2, true),
        ];
        for (text, ngroups, meanstructure) in models {
            let syn = crate::syntax::parse(text).unwrap();
            let opt = TableOptions {
                ngroups,
                meanstructure,
                // free exogenous variances (fixed.x would fix them at sample values there are none of)
                fixed_x: false,
                ..TableOptions::sem()
            };
            let model = Model::new(&syn, &opt).unwrap();
            let nx = model.ram.nx;
            let x: Vec<f64> = (0..nx).map(|k| 0.4 + 0.37 * ((k * 7 % 11) as f64) / 11.0).collect();
            let l = DMatrix::from_fn(nx, nx, |i, j| if j <= i { 0.1 + 0.05 * ((i * 3 + j * 5) % 7) as f64 } else { 0.0 });
            let v = &l * l.transpose();
            let analytic = std_all_se(&model, &x, &v);
            let numeric = std_all_se_by(model.pt.rows.len(), &x, &v, |x| std_all_values(&model, x));
            let mut compared = 0;
            for (r, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
                match (a, n) {
                    (Some(a), Some(n)) => {
                        assert!((a - n).abs() <= 1e-6 * n.abs().max(1.0), "{text}row {r}: {a} vs {n}");
                        compared += 1;
                    }
                    (None, None) => {}
                    _ => panic!("{text}row {r}: {a:?} vs {n:?}"),
                }
            }
            assert!(compared >= nx, "{text}: {compared} rows compared");
        }
    }
}

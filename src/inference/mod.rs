//! Inference at the estimate: the covariance matrix of the estimates from
//! the expected information (lavaan's default for complete-data ML:
//! vcov = I(theta)^-1 / N, equality constraints honoured through the shared
//! free parameters), an identification check on that information matrix,
//! z-tests, normal confidence intervals, the delta method for defined
//! parameters (`defined`), and the standardized solution (`standardize`).

pub mod defined;
pub mod modindices;
pub mod residuals;
pub mod standardize;

use crate::estimate::objective::{expected_information, GroupData};
use crate::model::ram::Mat;
use crate::model::Model;
use nalgebra::{DMatrix, SymmetricEigen};
use statrs::distribution::{ContinuousCDF, Normal};

/// One row of lavaan's `parameterEstimates()`.
#[derive(Debug, Clone, Default)]
pub struct RowEstimate {
    pub est: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub pvalue: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    pub std_lv: Option<f64>,
    pub std_all: Option<f64>,
}

/// Why standard errors could not be computed.
#[derive(Debug, Clone)]
pub struct NotIdentified {
    /// parameter-table rows involved in the (near) singularity
    pub rows: Vec<usize>,
}

/// Value of every parameter-table row at `x` (fixed rows at their value,
/// fixed.x rows at the sample value, constraint rows NaN).
pub fn row_values(model: &Model, x: &[f64]) -> Vec<f64> {
    let mut v = vec![f64::NAN; model.pt.rows.len()];
    for g in &model.ram.groups {
        for c in &g.cells {
            v[c.row] = c.x.map_or(c.fixed, |k| x[k]);
        }
    }
    v
}

/// vcov of the free parameters: I^-1 / N, or the rows that make I singular.
pub fn vcov(model: &Model, x: &[f64], data: &[GroupData]) -> Result<DMatrix<f64>, NotIdentified> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let info = expected_information(&model.ram, x, data).ok_or(NotIdentified { rows: vec![] })?;
    let nx = info.nrows();
    if nx == 0 {
        return Ok(info);
    }
    // fast path: a Cholesky inverse, kept when it proves the matrix well
    // conditioned. lambda_min >= 1 / ||I^-1||_F and lambda_max <= ||I||_F, so
    // 1 / ||I^-1||_F > 1e-10 ||I||_F implies the eigenvalue test below.
    if let Some(chol) = crate::estimate::chol::Chol::new(&info) {
        let inv = chol.inverse();
        let (ninv, ninfo) = (inv.norm(), info.norm());
        if ninv.is_finite() && ninfo.is_finite() && 1.0 / ninv > 1e-10 * ninfo {
            return Ok(inv / ntot as f64);
        }
    }
    let eig = SymmetricEigen::new(info.clone());
    let max = eig.eigenvalues.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (kmin, min) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .fold((0, f64::INFINITY), |acc, (k, v)| if *v < acc.1 { (k, *v) } else { acc });
    if min.is_nan() || min <= 1e-10 * max.max(1e-300) {
        let vec = eig.eigenvectors.column(kmin);
        let mut rows: Vec<usize> = Vec::new();
        for (xi, val) in vec.iter().enumerate() {
            if val.abs() > 0.1 {
                rows.extend(model.ram.x_rows[xi].iter().copied().take(1));
            }
        }
        return Err(NotIdentified { rows });
    }
    // invert through the eigen decomposition (symmetric positive definite)
    let inv = &eig.eigenvectors * DMatrix::from_diagonal(&eig.eigenvalues.map(|v| 1.0 / v)) * eig.eigenvectors.transpose();
    Ok(inv / ntot as f64)
}

/// lavaan's `parameterEstimates(standardized = TRUE)` for every row.
pub fn estimates(model: &Model, x: &[f64], vcov: Option<&DMatrix<f64>>, level: f64) -> (Vec<RowEstimate>, Vec<String>) {
    let mut warnings = Vec::new();
    let values = row_values(model, x);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let zq = normal.inverse_cdf(0.5 + level / 2.0);
    let (std_lv, std_all) = standardize::standardize(model, x);
    let mut out = vec![RowEstimate::default(); model.pt.rows.len()];
    let test = |est: f64, se: Option<f64>, r: &mut RowEstimate| {
        r.est = Some(est);
        r.se = se;
        match se {
            Some(se) if se > 0.0 => {
                let z = est / se;
                r.z = Some(z);
                r.pvalue = Some(2.0 * (1.0 - normal.cdf(z.abs())));
                r.ci_lower = Some(est - zq * se);
                r.ci_upper = Some(est + zq * se);
            }
            Some(_) => {
                r.ci_lower = Some(est);
                r.ci_upper = Some(est);
            }
            None => {}
        }
    };
    for (i, row) in model.pt.rows.iter().enumerate() {
        if !matches!(row.op.as_str(), "=~" | "~" | "~~" | "~1") {
            continue;
        }
        let se = match model.x_of_row[i] {
            Some(k) => vcov.and_then(|v| {
                let var = v[(k, k)];
                if var >= 0.0 {
                    let s = var.sqrt();
                    Some(if s < f64::EPSILON.sqrt() { 0.0 } else { s })
                } else {
                    None
                }
            }),
            None => Some(0.0),
        };
        test(values[i], se, &mut out[i]);
        out[i].std_lv = std_lv[i];
        out[i].std_all = std_all[i];
    }
    // defined parameters: delta method
    match defined::evaluate_definitions(model, &values) {
        Ok(defs) => {
            let std_eval = |vals: &[Option<f64>]| {
                let v: Vec<f64> = vals.iter().map(|o| o.unwrap_or(f64::NAN)).collect();
                defined::evaluate_definitions(model, &v).ok()
            };
            let slv = std_eval(&std_lv);
            let sall = std_eval(&std_all);
            for (k, (row, d)) in defs.iter().enumerate() {
                let se = vcov.and_then(|v| {
                    let j = nalgebra::DVector::from_column_slice(&d.d);
                    let var = (j.transpose() * v * &j)[(0, 0)];
                    (var >= 0.0).then(|| var.sqrt())
                });
                if d.v.is_finite() {
                    test(d.v, se, &mut out[*row]);
                } else {
                    warnings.push(format!(
                        "the defined parameter `{}` could not be evaluated at the estimates",
                        model.pt.rows[*row].lhs
                    ));
                }
                let fin = |x: f64| x.is_finite().then_some(x);
                out[*row].std_lv = slv.as_ref().and_then(|s| fin(s[k].1.v));
                out[*row].std_all = sall.as_ref().and_then(|s| fin(s[k].1.v));
            }
        }
        Err(e) => warnings.push(format!("defined parameters could not be evaluated: {e}")),
    }
    (out, warnings)
}

/// Free parameter values of the variance rows that are negative (Heywood cases).
pub fn negative_variances(model: &Model, x: &[f64]) -> Vec<usize> {
    let mut out = vec![];
    for g in &model.ram.groups {
        for c in &g.cells {
            if c.mat == Mat::S && c.i == c.j {
                if let Some(k) = c.x {
                    if x[k] < 0.0 {
                        out.push(c.row);
                    }
                }
            }
        }
    }
    out
}

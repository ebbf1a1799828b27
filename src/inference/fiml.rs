//! Standard errors under FIML as lavaan computes them by default with
//! `missing = "ml"` (`information = "observed"`, `observed.information =
//! "hessian"`): vcov = I_obs^-1 / N, with I_obs half the Hessian of the FIML
//! discrepancy (`estimate::fiml::observed_information`). A (near) singular
//! information matrix means the model is not identified; its smallest
//! eigenvector names the parameters involved, as for complete data.

use super::robust::{inverse, inverse_nonzero, Robust};
use super::NotIdentified;
use crate::estimate::fiml::{observed_information, FimlData};
use crate::estimate::h1::{casewise_scores, delta, h1_observed_missing, Layout};
use crate::estimate::objective::GroupData;
use crate::model::ram::{Implied, Ram};
use crate::model::Model;
use nalgebra::{DMatrix, SymmetricEigen};

/// vcov of the free parameters from the observed information.
pub fn vcov(model: &Model, x: &[f64], f: &FimlData) -> Result<DMatrix<f64>, NotIdentified> {
    let info = observed_information(&model.ram, x, f).ok_or(NotIdentified { rows: vec![] })?;
    invert(model, info, f.ntotal() as f64)
}

/// info^-1 / n, or the rows of the parameters in its null space.
pub fn invert(model: &Model, info: DMatrix<f64>, n: f64) -> Result<DMatrix<f64>, NotIdentified> {
    if info.nrows() == 0 {
        return Ok(info);
    }
    let eig = SymmetricEigen::new(info);
    let max = eig.eigenvalues.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (kmin, min) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .fold((0, f64::INFINITY), |acc, (k, v)| if *v < acc.1 { (k, *v) } else { acc });
    if min.is_nan() || min <= 1e-10 * max.max(1e-300) {
        let rows = eig
            .eigenvectors
            .column(kmin)
            .iter()
            .enumerate()
            .filter(|(_, v)| v.abs() > 0.1)
            .filter_map(|(xi, _)| model.ram.x_rows[xi].first().copied())
            .collect();
        return Err(NotIdentified { rows });
    }
    let inv = &eig.eigenvectors * DMatrix::from_diagonal(&eig.eigenvalues.map(|v| 1.0 / v)) * eig.eigenvectors.transpose();
    Ok(inv / n)
}

/// The rows FIML uses in a group (as `data::patterns::Patterns` keeps them:
/// at least one value, none missing on a fixed.x covariate), NaN for missing.
pub fn used_rows(ds: &crate::data::Dataset, rows: &[usize], xi: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|&i| ds.row(i))
        .filter(|r| r.iter().any(|v| !v.is_nan()) && xi.iter().all(|&k| !r[k].is_nan()))
        .map(|r| r.to_vec())
        .collect()
}

/// Per group, the unit first-order information of the saturated model at the
/// EM moments (lavaan's `lav_mvnorm_missing_information_firstorder`,
/// h1.information = "unstructured"), over the elements `lay` keeps.
pub fn h1_firstorder(rows: &[Vec<Vec<f64>>], data: &[GroupData], lay: &Layout) -> Option<Vec<DMatrix<f64>>> {
    rows.iter()
        .zip(data)
        .map(|(r, d)| casewise_scores(r, &d.mean, &d.cov, lay).map(|z| z.transpose() * &z / r.len() as f64))
        .collect()
}

/// MLR under FIML (lavaan's estimator = "MLR", missing = "ml"): the
/// Huber-White sandwich H^-1 B0 H^-1 / N with H the unit observed
/// information and B0 the mean outer product of the casewise scores
/// (chained through Delta), and the Yuan-Bentler (Mplus) trace
/// sum_g tr(A1_g^-1 B1_g) - tr(H^-1 B0), A1 and B1 the observed and
/// first-order information of the saturated model at the EM moments.
pub fn mlr(ram: &Ram, x: &[f64], f: &FimlData, data: &[GroupData], rows: &[Vec<Vec<f64>>], xi: &[usize]) -> Robust {
    let none = Robust {
        vcov: None,
        trace: None,
        factors_h1_h0: None,
    };
    let ntot = f.ntotal() as f64;
    let Some(h_inv) = observed_information(ram, x, f).and_then(|h| inverse(&h)) else {
        return none;
    };
    let lay = Layout::new(ram.p(), xi);
    let Some(b1) = h1_firstorder(rows, data, &lay) else { return none };
    let mut b0 = DMatrix::zeros(ram.nx, ram.nx);
    let (mut trace, mut ndat) = (0.0, 0usize);
    for (g, d) in data.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let Some(implied) = Implied::new(&a, &s, &m, ram.p()) else {
            return none;
        };
        let (Some(z), Some(dl)) = (casewise_scores(&rows[g], &implied.mu, &implied.sigma, &lay), delta(ram, g, x, &lay)) else {
            return none;
        };
        let s0 = z * dl.select_rows(lay.keep.iter());
        b0 += s0.transpose() * &s0 / ntot;
        let Some(a1) = h1_observed_missing(&f.patterns[g], &d.mean, &d.cov, &lay) else {
            return none;
        };
        let Some((a1_inv, kept)) = inverse_nonzero(&lay.reduce(&a1)) else {
            return none;
        };
        trace += (&b1[g] * a1_inv).trace();
        ndat += kept;
    }
    let trace_h0 = (&b0 * &h_inv).trace();
    Robust {
        vcov: Some(&h_inv * b0 * &h_inv / ntot),
        trace: Some(trace - trace_h0),
        factors_h1_h0: Some((trace / ndat as f64, trace_h0)),
    }
}

//! Standard errors under FIML as lavaan computes them by default with
//! `missing = "ml"` (`information = "observed"`, `observed.information =
//! "hessian"`): vcov = I_obs^-1 / N, with I_obs half the Hessian of the FIML
//! discrepancy (`estimate::fiml::observed_information`). A (near) singular
//! information matrix means the model is not identified; its smallest
//! eigenvector names the parameters involved, as for complete data.

use super::NotIdentified;
use crate::estimate::fiml::{observed_information, FimlData};
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

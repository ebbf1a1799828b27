//! The baseline (independence) model as a model of its own, for what needs
//! more than its closed-form chi-square (the scaling factor of its robust
//! test): free variances (and intercepts) of the non-x variables, the
//! fixed.x block at its sample values, nothing else. Its ML estimates are
//! the sample variances and means, so it is never optimised.

use crate::estimate::objective::GroupData;
use crate::model::ram::{Cell, GroupModel, Mat, Ram};
use crate::model::Model;

/// The baseline model's RAM form and its estimates.
pub fn baseline(model: &Model, data: &[GroupData]) -> (Ram, Vec<f64>) {
    let src = &model.ram;
    let p = src.p();
    let mut x = Vec::new();
    let mut groups = Vec::new();
    // exogenous covariates keep their covariance block: fixed at the sample
    // values with fixed.x, free (starting there) without, as lavaan
    let exo: Vec<usize> = model.pt.names.exo.iter().filter_map(|v| src.index(v)).collect();
    let fixed = !src.x_ov.is_empty();
    for (g, d) in data.iter().enumerate() {
        let mut cells = Vec::new();
        let is_x = |i: usize| exo.contains(&i);
        for i in 0..p {
            if is_x(i) {
                for j in (0..=i).filter(|&j| is_x(j)) {
                    if fixed {
                        cells.push(Cell {
                            row: usize::MAX,
                            mat: Mat::S,
                            i,
                            j,
                            x: None,
                            fixed: d.cov[(i, j)],
                        });
                    } else {
                        cells.push(Cell {
                            row: usize::MAX,
                            mat: Mat::S,
                            i,
                            j,
                            x: Some(x.len()),
                            fixed: 0.0,
                        });
                        x.push(d.cov[(i, j)]);
                    }
                }
            } else {
                cells.push(Cell {
                    row: usize::MAX,
                    mat: Mat::S,
                    i,
                    j: i,
                    x: Some(x.len()),
                    fixed: 0.0,
                });
                x.push(d.cov[(i, i)]);
            }
            if src.meanstructure {
                if is_x(i) && fixed {
                    cells.push(Cell {
                        row: usize::MAX,
                        mat: Mat::M,
                        i,
                        j: 0,
                        x: None,
                        fixed: d.mean[i],
                    });
                } else {
                    cells.push(Cell {
                        row: usize::MAX,
                        mat: Mat::M,
                        i,
                        j: 0,
                        x: Some(x.len()),
                        fixed: 0.0,
                    });
                    x.push(d.mean[i]);
                }
            }
        }
        groups.push(GroupModel { group: g + 1, cells });
    }
    let nx = x.len();
    let ram = Ram {
        ov: src.ov.clone(),
        lv: vec![],
        groups,
        nx,
        x_rows: vec![vec![]; nx],
        meanstructure: src.meanstructure,
        x_ov: src.x_ov.clone(),
        name_index: Default::default(),
        constraints: None,
    };
    (ram, x)
}

/// Degrees of freedom of the baseline model: the model's sample moments
/// less its variances (and the free covariances among exogenous covariates
/// when fixed.x is off).
pub fn df(model: &Model) -> f64 {
    let p = model.ram.p() as f64;
    let px = model.ram.x_ov.len() as f64;
    let free_x_cov = if px == 0.0 {
        let e = model.pt.names.exo.len() as f64;
        e * (e - 1.0) / 2.0
    } else {
        0.0
    };
    model.ram.groups.len() as f64 * (p * (p + 1.0) / 2.0 - px * (px + 1.0) / 2.0 - (p - px) - free_x_cov)
}

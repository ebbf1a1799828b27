//! Residuals of the fitted moments, as lavaan's `residuals()`:
//! raw (S - Sigma), correlation (cov2cor(S) - cov2cor(Sigma), type "cor")
//! and standardized (type "standardized"): each raw residual divided by its
//! standard error under the model, from
//!
//! computed as lavaan does it: Q Gamma Q' / n with Q = I - Delta Omega
//! Delta' W, Gamma_(ij),(kl) = s_ik s_jl + s_il s_jk the normal-theory
//! covariance of the sample moments, W the structured h1 information at the
//! implied Sigma, Delta the Jacobian of vech(Sigma) (and of the means) and
//! Omega = N vcov. Beyond 4000 moments the standardized residuals are left
//! missing (the matrices would be too large to be worth it).

use crate::estimate::objective::{eval_group, jacobian, GroupData};
use crate::model::Model;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// Residuals of one group; matrices as rows of the observed variables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupResiduals {
    pub group: usize,
    pub names: Vec<String>,
    pub raw: Vec<Vec<f64>>,
    pub cor: Vec<Vec<f64>>,
    /// raw / se; null where the residual has no sampling variance under the model
    pub standardized: Vec<Vec<Option<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_raw: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_standardized: Option<Vec<Option<f64>>>,
    /// ordinal data: the threshold residuals (sample minus implied, lavaan's
    /// `residuals()$th`), named `x1|t1`, in lavaan's order
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub th_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub th_raw: Option<Vec<f64>>,
}

fn ratio(r: f64, var: f64) -> Option<f64> {
    if var > 1e-14 {
        Some(r / var.sqrt())
    } else if r.abs() < 1e-8 {
        Some(0.0)
    } else {
        None
    }
}

pub fn residuals(model: &Model, x: &[f64], data: &[GroupData], vcov: Option<&DMatrix<f64>>) -> Vec<GroupResiduals> {
    let ram = &model.ram;
    let p = ram.p();
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let mut out = Vec::new();
    for (g, d) in data.iter().enumerate() {
        let Some(e) = eval_group(ram, g, x, d) else { continue };
        let sig = &e.implied.sigma;
        let raw = &d.cov - sig;
        let cor = DMatrix::from_fn(p, p, |i, j| {
            d.cov[(i, j)] / (d.cov[(i, i)] * d.cov[(j, j)]).sqrt() - sig[(i, j)] / (sig[(i, i)] * sig[(j, j)]).sqrt()
        });
        let jac = jacobian(ram, g, &e.implied);
        let ms = ram.meanstructure;
        // moments: the means (with a mean structure), then vech, column-wise
        let mut elems: Vec<(usize, usize, bool)> = Vec::new();
        if ms {
            elems.extend((0..p).map(|i| (i, i, true)));
        }
        for j in 0..p {
            for i in j..p {
                elems.push((i, j, false));
            }
        }
        let m = elems.len();
        let (std, mean_std) = if m > 4000 {
            (vec![vec![None; p]; p], ms.then(|| vec![None; p]))
        } else {
            let q = jac.cols.len();
            let k = &e.k;
            let s = &d.cov;
            let pos = |i: usize, j: usize| if i == j { vec![(i, i)] } else { vec![(i, j), (j, i)] };
            // W: the structured h1 information; Gamma: normal-theory acov of the sample moments
            let mut w = DMatrix::zeros(m, m);
            let mut gamma = DMatrix::zeros(m, m);
            for (a, &(i, j, ma)) in elems.iter().enumerate() {
                for (b, &(kk, l, mb)) in elems.iter().enumerate() {
                    match (ma, mb) {
                        (true, true) => {
                            w[(a, b)] = k[(i, kk)];
                            gamma[(a, b)] = s[(i, kk)];
                        }
                        (false, false) => {
                            let mut v = 0.0;
                            for (x, y) in pos(i, j) {
                                for (u, z) in pos(kk, l) {
                                    v += k[(x, u)] * k[(y, z)];
                                }
                            }
                            w[(a, b)] = 0.5 * v;
                            gamma[(a, b)] = s[(i, kk)] * s[(j, l)] + s[(i, l)] * s[(j, kk)];
                        }
                        _ => {}
                    }
                }
            }
            let delta = DMatrix::from_fn(m, q, |a, c| {
                let (i, j, mean) = elems[a];
                if mean {
                    jac.dmu[(i, c)]
                } else {
                    jac.a[(i, c)] * jac.b[(j, c)] + jac.b[(i, c)] * jac.a[(j, c)]
                }
            });
            let gw = d.n as f64 / ntot;
            let acov = match vcov {
                Some(v) => {
                    let omega = DMatrix::from_fn(q, q, |a, b| v[(jac.cols[a].1, jac.cols[b].1)] * ntot);
                    let qm = DMatrix::identity(m, m) - &delta * omega * delta.transpose() * &w * gw;
                    &qm * &gamma * qm.transpose() / d.n as f64
                }
                None => gamma / d.n as f64,
            };
            let mut std = vec![vec![None; p]; p];
            let mut mean_std = ms.then(|| vec![None; p]);
            for (a, &(i, j, mean)) in elems.iter().enumerate() {
                if mean {
                    if let Some(ms) = mean_std.as_mut() {
                        ms[i] = ratio(d.mean[i] - e.implied.mu[i], acov[(a, a)]);
                    }
                } else {
                    let v = ratio(raw[(i, j)], acov[(a, a)]);
                    std[i][j] = v;
                    std[j][i] = v;
                }
            }
            (std, mean_std)
        };
        let mean_raw = ms.then(|| (0..p).map(|i| d.mean[i] - e.implied.mu[i]).collect());
        let rows = |m: &DMatrix<f64>| (0..p).map(|i| (0..p).map(|j| m[(i, j)]).collect()).collect();
        out.push(GroupResiduals {
            group: g + 1,
            names: ram.ov.clone(),
            raw: rows(&raw),
            cor: rows(&cor),
            standardized: std,
            mean_raw,
            mean_standardized: mean_std,
            th_names: None,
            th_raw: None,
        });
    }
    out
}

//! Modification indices, as lavaan's `modindices()` computes them for ML:
//! the model is extended by every parameter it could have (lavaan's
//! `lav_partable_full`: loadings of every factor on every non-dependent
//! observed variable, residual covariances among indicators, covariances
//! among latent variables, regressions among the variables of the
//! structural part, intercepts with a mean structure) plus every fixed
//! parameter set free. With s the unit score of the log-likelihood
//! (-1/2 dF/dtheta) and I the unit expected information of the extended
//! model, for an added parameter k
//!
//!   V_k = I_kk - I_k,m I_mm^-1 I_m,k,   MI = N s_k^2 / V_k,   EPC = s_k / V_k
//!
//! (m: the model's own free parameters). Parameters with V_k below
//! eps^(1/3) cannot be freed on their own (MI missing) and are left out.

use crate::estimate::objective::{expected_information, gradient, GroupData};
use crate::model::ram::{Cell, Implied, Mat};
use crate::model::Model;
use nalgebra::DMatrix;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModIndex {
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub group: usize,
    pub mi: f64,
    pub epc: f64,
    pub sepc_lv: Option<f64>,
    pub sepc_all: Option<f64>,
}

struct Candidate {
    lhs: String,
    op: &'static str,
    rhs: String,
    group: usize,
    cell: (Mat, usize, usize),
    /// starting value (a fixed parameter's value; 0 for a new one)
    value: f64,
}

fn uniq<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for s in it {
        if !v.contains(s) {
            v.push(s.clone());
        }
    }
    v
}

/// Parameters the model could have but does not estimate.
fn candidates(model: &Model) -> Vec<Candidate> {
    let pt = &model.pt;
    let ram = &model.ram;
    let names = &pt.names;
    let idx = |v: &str| ram.index(v).unwrap();
    let ov_nox: Vec<String> = names.ov.iter().filter(|v| !names.ov_x.contains(v)).cloned().collect();
    let ov_ind = uniq(pt.rows.iter().filter(|r| r.op == "=~" && !names.is_lv(&r.rhs)).map(|r| &r.rhs));
    let eqs_y = uniq(pt.rows.iter().filter(|r| r.op == "~").map(|r| &r.lhs));
    let eqs = uniq(pt.rows.iter().filter(|r| r.op == "~").flat_map(|r| [&r.lhs, &r.rhs]));
    let mut out = Vec::new();
    for g in 1..=pt.ngroups {
        let exists = |lhs: &str, op: &str, rhs: &str| {
            pt.rows
                .iter()
                .any(|r| r.group == g && r.op == op && ((r.lhs == lhs && r.rhs == rhs) || (op == "~~" && r.lhs == rhs && r.rhs == lhs)))
        };
        let mut add = |lhs: &str, op: &'static str, rhs: &str, cell: (Mat, usize, usize)| {
            if !exists(lhs, op, rhs) {
                out.push(Candidate {
                    lhs: lhs.into(),
                    op,
                    rhs: rhs.into(),
                    group: g,
                    cell,
                    value: 0.0,
                });
            }
        };
        for f in &names.lv {
            for v in &ov_nox {
                if !eqs_y.contains(v) {
                    add(f, "=~", v, (Mat::A, idx(v), idx(f)));
                }
            }
        }
        for (i, a) in ov_nox.iter().enumerate() {
            for b in &ov_nox[i..] {
                if ov_ind.contains(a) && ov_ind.contains(b) {
                    add(a, "~~", b, (Mat::S, idx(a), idx(b)));
                }
            }
        }
        for (i, a) in names.lv.iter().enumerate() {
            for b in &names.lv[i..] {
                add(a, "~~", b, (Mat::S, idx(a), idx(b)));
            }
        }
        for y in &eqs {
            for x in &eqs {
                if x != y && !(ov_ind.contains(y) && names.is_lv(x)) {
                    add(y, "~", x, (Mat::A, idx(y), idx(x)));
                }
            }
        }
        if pt.meanstructure {
            for v in names.ov.iter().chain(&names.lv) {
                add(v, "~1", "", (Mat::M, idx(v), 0));
            }
        }
    }
    // fixed parameters of the model, set free one at a time
    for gm in &ram.groups {
        for c in &gm.cells {
            if c.x.is_none() {
                let r = &pt.rows[c.row];
                let op = match r.op.as_str() {
                    "=~" => "=~",
                    "~" => "~",
                    "~~" => "~~",
                    _ => "~1",
                };
                out.push(Candidate {
                    lhs: r.lhs.clone(),
                    op,
                    rhs: r.rhs.clone(),
                    group: r.group,
                    cell: (c.mat, c.i, c.j),
                    value: c.fixed,
                });
            }
        }
    }
    out
}

fn sym_inverse(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    // not nalgebra's SymmetricEigen, which can mismatch eigenvalues and vectors (see `eigen`)
    let eig = super::eigen::symmetric_eigen(m);
    let max = eig.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if eig.values.iter().any(|v| *v <= 1e-12 * max) {
        return None;
    }
    Some(eig.map(|v| 1.0 / v))
}

/// The model's RAM matrices extended by every candidate (new parameters
/// after the model's own, at `x`'s end), and the extended parameter vector.
fn extend(model: &Model, x: &[f64], cands: &[Candidate]) -> (crate::model::Ram, Vec<f64>) {
    let nx = model.ram.nx;
    let mut ram = model.ram.clone();
    let mut xe = x.to_vec();
    for (k, c) in cands.iter().enumerate() {
        let gm = &mut ram.groups[c.group - 1];
        let (mat, i, j) = c.cell;
        let xi = nx + k;
        match gm
            .cells
            .iter_mut()
            .find(|cell| cell.mat == mat && ((cell.i == i && cell.j == j) || (mat == Mat::S && cell.i == j && cell.j == i)))
        {
            Some(cell) => cell.x = Some(xi),
            None => gm.cells.push(Cell {
                row: usize::MAX,
                mat,
                i,
                j,
                x: Some(xi),
                fixed: 0.0,
            }),
        }
        xe.push(c.value);
    }
    ram.nx = nx + cands.len();
    (ram, xe)
}

/// All modification indices, largest first.
pub fn modindices(model: &Model, x: &[f64], data: &[GroupData]) -> Result<Vec<ModIndex>, String> {
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    of_discrepancy(model, x, ntot, |ram, xe| {
        Some((expected_information(ram, xe, data)?, gradient(ram, xe, data)?))
    })
}

/// The modification indices under FIML (lavaan's `modindices()` with
/// missing = "ml"): the expected information of the extended model under
/// the missing-data patterns (`modindices()` asks for the expected one
/// whatever the fit used) and the gradient of the FIML discrepancy, both at
/// the estimates.
pub fn modindices_fiml(model: &Model, x: &[f64], f: &crate::estimate::fiml::FimlData) -> Result<Vec<ModIndex>, String> {
    use crate::estimate::fiml;
    of_discrepancy(model, x, f.ntotal() as f64, |ram, xe| {
        Some((fiml::expected_information(ram, xe, f)?, fiml::gradient(ram, xe, f)?))
    })
}

/// The indices of a likelihood discrepancy F from `info_grad`: the unit
/// information and the gradient of F of the extended model (the score is
/// -F'/2), `ntot` cases.
fn of_discrepancy(
    model: &Model,
    x: &[f64],
    ntot: f64,
    info_grad: impl Fn(&crate::model::Ram, &[f64]) -> Option<(DMatrix<f64>, Vec<f64>)>,
) -> Result<Vec<ModIndex>, String> {
    let cands = candidates(model);
    let (ram, xe) = extend(model, x, &cands);
    let (info, grad) = info_grad(&ram, &xe).ok_or("the implied covariance matrix is not positive definite")?;
    let score: Vec<f64> = grad.iter().map(|g| -0.5 * g).collect();
    indices(model, x, &cands, &info, &score, ntot)
}

/// Modification indices of the WLS family (ordinal data), as lavaan's
/// `modindices()` for DWLS/WLS/ULS: the same candidates, with E = sum_g
/// f_g Delta_g'W_g Delta_g the expected information of the extended model
/// and s = (N - G)/N sum_g f_g Delta_g'W_g (s_g - sigma_g) the score (Delta
/// the Jacobian of the implied thresholds and correlations; the factor is
/// that of lavaan's test statistic (N - G) F). `std_model` is the
/// model whose variances standardize the EPCs (the delta
/// parameterization's latent-response variances filled in).
pub fn modindices_wls(
    model: &Model,
    std_model: &Model,
    x: &[f64],
    groups: &[crate::estimate::wls::WlsGroup],
) -> Result<Vec<ModIndex>, String> {
    use crate::estimate::wls as ew;
    let mut cands = candidates(model);
    // conditional.x: the covariates stay exogenous with their sample moments
    // (lavaan offers no parameter that would make them dependent or free them)
    if let Some(xs) = groups.iter().map(|g| &g.lay.x).find(|xs| !xs.is_empty()) {
        cands.retain(|c| match c.cell {
            (Mat::A, i, _) | (Mat::M, i, _) => !xs.contains(&i),
            (Mat::S, i, j) => !xs.contains(&i) && !xs.contains(&j),
        });
    }
    let (ram, xe) = extend(model, x, &cands);
    let ext = Model { ram, ..model.clone() };
    let ntot: f64 = groups.iter().map(|g| g.n as f64).sum();
    let ne = xe.len();
    let mut info = DMatrix::zeros(ne, ne);
    let mut score = nalgebra::DVector::zeros(ne);
    for g in groups {
        let fg = g.n as f64 / ntot;
        let jac = ew::jacobian(&ext, &g.lay, &xe).ok_or("the implied statistics could not be computed")?;
        let imp = ew::implied(&ext, &g.lay, &xe).ok_or("the implied statistics could not be computed")?;
        let wd = g.weigh(&jac);
        info += wd.transpose() * &jac * fg;
        score += wd.transpose() * (&g.obs - imp) * fg;
    }
    // lavaan's WLS gradient carries the (N - G) / N of its test statistic
    let shrink = (ntot - groups.len() as f64) / ntot;
    let score: Vec<f64> = score.iter().map(|v| v * shrink).collect();
    indices(std_model, x, &cands, &info, &score, ntot)
}

/// MI and EPC of every candidate from the extended model's unit information
/// and score (the model's own parameters first).
fn indices(model: &Model, x: &[f64], cands: &[Candidate], info: &DMatrix<f64>, score: &[f64], ntot: f64) -> Result<Vec<ModIndex>, String> {
    let nx = model.ram.nx;
    let i22 = info.view((0, 0), (nx, nx)).into_owned();
    // under constraints, the constrained inverse (lavaan's augmented information)
    let i22_inv = crate::estimate::constrained::constrained_inverse(&model.ram, x, &i22, sym_inverse)
        .ok_or("could not compute modification indices: the information matrix is singular")?;
    let (std_lv, std_all) = std_factors(model, x);
    let mut out = Vec::new();
    for (k, c) in cands.iter().enumerate() {
        let e = nx + k;
        let i12 = info.view((e, 0), (1, nx)).into_owned();
        let v = info[(e, e)] - (&i12 * &i22_inv * i12.transpose())[(0, 0)];
        if v.is_nan() || v < f64::EPSILON.cbrt() {
            continue;
        }
        let s = score[e];
        let mi = ntot * s * s / v;
        let epc = s / v;
        let (fl, fa) = (std_lv[c.group - 1](c), std_all[c.group - 1](c));
        out.push(ModIndex {
            lhs: c.lhs.clone(),
            op: c.op.to_string(),
            rhs: c.rhs.clone(),
            group: c.group,
            mi,
            epc,
            sepc_lv: fl.map(|f| epc * f),
            sepc_all: fa.map(|f| epc * f),
        });
    }
    out.sort_by(|a, b| b.mi.partial_cmp(&a.mi).unwrap_or(std::cmp::Ordering::Equal));
    Ok(out)
}

type Scale = Box<dyn Fn(&Candidate) -> Option<f64>>;

/// Per group, the factor that standardizes a parameter value (std.lv and
/// std.all rules, see `standardize`): covariances use the model's
/// (residual) variances, as lavaan's `cov.std`.
fn std_factors(model: &Model, x: &[f64]) -> (Vec<Scale>, Vec<Scale>) {
    let p = model.ram.p();
    let mut lv: Vec<Scale> = Vec::new();
    let mut all: Vec<Scale> = Vec::new();
    for g in 0..model.ram.groups.len() {
        let (a, s, m) = model.ram.matrices(g, x);
        let Some(imp) = Implied::new(&a, &s, &m, p) else {
            lv.push(Box::new(|_| None));
            all.push(Box::new(|_| None));
            continue;
        };
        let sd: Vec<f64> = (0..imp.c.nrows()).map(|v| imp.c[(v, v)].max(0.0).sqrt()).collect();
        let resid: Vec<f64> = (0..s.nrows()).map(|v| s[(v, v)]).collect();
        let make = |latent_only: bool| -> Scale {
            let sd = sd.clone();
            let resid = resid.clone();
            Box::new(move |c: &Candidate| {
                let (mat, i, j) = c.cell;
                let f = |v: usize| if latent_only && v < p { 1.0 } else { sd[v] };
                let r = match mat {
                    Mat::A => f(j) / f(i),
                    Mat::S if i == j => 1.0 / (f(i) * f(i)),
                    Mat::S => {
                        if latent_only && (i < p || j < p) {
                            1.0
                        } else {
                            1.0 / (resid[i].abs() * resid[j].abs()).sqrt()
                        }
                    }
                    Mat::M => 1.0 / f(i),
                };
                r.is_finite().then_some(r)
            })
        };
        lv.push(make(true));
        all.push(make(false));
    }
    (lv, all)
}

//! Robust standard errors and scaled test statistics for non-normal data,
//! as lavaan computes them (complete data):
//!
//! - MLM (`se = "robust.sem"`, `test = "satorra.bentler"`): with E the unit
//!   expected information, W the structured h1 information at the implied
//!   moments, Delta the Jacobian of the moments and Gamma the sample
//!   (ADF) covariance of z_i = [y_i, vech((y_i - ybar)(y_i - ybar)')],
//!   vcov = E^-1 (sum_g f_g Delta' W Gamma W Delta) E^-1 / N and the
//!   Satorra-Bentler factor c = tr(U Gamma) / df with
//!   U = W - f_g W Delta E^-1 Delta' W.
//! - MLR (`se = "robust.huber.white"`, `test = "yuan.bentler.mplus"`):
//!   with H the unit observed information (Hessian of F/2 by a five-point
//!   stencil on the analytic gradient, lavaan's `lav_model_hessian`) and B0
//!   the mean outer product of the casewise scores, vcov = H^-1 B0 H^-1 / N;
//!   c = (tr(A1^-1 B1) - f_g tr(H^-1 B0_g)) / df with A1, B1 the same two
//!   matrices for the saturated model at the sample moments. The bread may
//!   be the expected information instead (`information = "expected"`), and
//!   with the standard test this is `se = "robust.huber.white"`.
//! - MLMV, MLMVS: MLM's sandwich; their tests also need tr((U Gamma)^2)
//!   with the groups stacked (`ug_traces`).
//! - MLF (`information = "first.order"`): the information is B0 itself
//!   (`first_order_information`).
//!
//! Moments are ordered as lavaan's: the means (with a mean structure), then
//! the lower triangle of the covariance matrix column by column.

use crate::data::Dataset;
use crate::estimate::objective::{eval_group, gradient, jacobian, GroupData};
use crate::model::ram::Ram;
use nalgebra::{DMatrix, DVector};

/// Positions of the moments: (row, column, is_mean).
pub fn moment_elems(p: usize, meanstructure: bool) -> Vec<(usize, usize, bool)> {
    let mut e = Vec::with_capacity(p * (p + 3) / 2);
    if meanstructure {
        e.extend((0..p).map(|i| (i, i, true)));
    }
    for j in 0..p {
        for i in j..p {
            e.push((i, j, false));
        }
    }
    e
}

/// Jacobian of the group's moments with respect to the free parameters.
///
/// It needs only the implied moments, never Sigma^-1: least squares asks
/// for it at points where Sigma is not positive definite. `None` only when
/// I - A is singular.
pub fn delta(ram: &Ram, g: usize, x: &[f64], _d: &GroupData, elems: &[(usize, usize, bool)]) -> Option<DMatrix<f64>> {
    let (a, s, m) = ram.matrices(g, x);
    let implied = crate::model::ram::Implied::new(&a, &s, &m, ram.p())?;
    let jac = jacobian(ram, g, &implied);
    let mut out = DMatrix::zeros(elems.len(), ram.nx);
    for (c, &(_, xi)) in jac.cols.iter().enumerate() {
        for (r, &(i, j, mean)) in elems.iter().enumerate() {
            out[(r, xi)] += if mean {
                jac.dmu[(i, c)]
            } else {
                jac.a[(i, c)] * jac.b[(j, c)] + jac.b[(i, c)] * jac.a[(j, c)]
            };
        }
    }
    Some(out)
}

/// The normal-theory (h1) information at Sigma: K for the means and
/// 1/2 D'(K (x) K) D for the covariances, fixed.x moments given zero weight.
pub fn h1_weight(sigma: &DMatrix<f64>, elems: &[(usize, usize, bool)], x_ov: &[usize]) -> Option<DMatrix<f64>> {
    let k = sigma.clone().cholesky()?.inverse();
    let m = elems.len();
    let pos = |i: usize, j: usize| if i == j { vec![(i, i)] } else { vec![(i, j), (j, i)] };
    let is_x = |&(i, j, mean): &(usize, usize, bool)| x_ov.contains(&i) && (mean || x_ov.contains(&j));
    let mut w = DMatrix::zeros(m, m);
    for (a, ea) in elems.iter().enumerate() {
        if is_x(ea) {
            continue;
        }
        for (b, eb) in elems.iter().enumerate().skip(a) {
            if is_x(eb) || ea.2 != eb.2 {
                continue;
            }
            let v = if ea.2 {
                k[(ea.0, eb.0)]
            } else {
                let mut s = 0.0;
                for (x, y) in pos(ea.0, ea.1) {
                    for (u, z) in pos(eb.0, eb.1) {
                        s += k[(x, u)] * k[(y, z)];
                    }
                }
                0.5 * s
            };
            w[(a, b)] = v;
            w[(b, a)] = v;
        }
    }
    Some(w)
}

/// Complete rows of a group, as vectors.
pub fn complete_rows(ds: &Dataset, rows: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|&i| ds.row(i))
        .filter(|r| r.iter().all(|v| !v.is_nan()))
        .map(|r| r.to_vec())
        .collect()
}

/// The ADF covariance (divisor n) of z_i = [y_i, vech((y_i - ybar)(y_i - ybar)')].
/// With fixed.x covariates, lavaan's version: z_i minus the same moments of
/// the fitted values of the regressions of the other variables on the
/// covariates (the covariates themselves left as they are).
pub fn gamma_adf(rows: &[Vec<f64>], elems: &[(usize, usize, bool)], x_ov: &[usize]) -> DMatrix<f64> {
    let n = rows.len() as f64;
    let p = rows.first().map_or(0, |r| r.len());
    let means = |rs: &[Vec<f64>]| -> Vec<f64> { (0..p).map(|j| rs.iter().map(|r| r[j]).sum::<f64>() / n).collect() };
    let moments = |rs: &[Vec<f64>]| -> Vec<DVector<f64>> {
        let mean = means(rs);
        rs.iter()
            .map(|r| {
                DVector::from_iterator(
                    elems.len(),
                    elems
                        .iter()
                        .map(|&(i, j, m)| if m { r[i] } else { (r[i] - mean[i]) * (r[j] - mean[j]) }),
                )
            })
            .collect()
    };
    let mut z = moments(rows);
    if !x_ov.is_empty() {
        let fitted = fitted_on_x(rows, x_ov);
        for (zi, hi) in z.iter_mut().zip(moments(&fitted)) {
            *zi -= hi;
        }
    }
    let zbar = z.iter().fold(DVector::zeros(elems.len()), |acc, v| acc + v) / n;
    let mut g = DMatrix::zeros(elems.len(), elems.len());
    for v in &z {
        let d = v - &zbar;
        g.ger(1.0 / n, &d, &d, 1.0);
    }
    g
}

/// Each row with its non-x values replaced by their OLS fitted values on
/// (1, x).
fn fitted_on_x(rows: &[Vec<f64>], x_ov: &[usize]) -> Vec<Vec<f64>> {
    let p = rows[0].len();
    let k = x_ov.len() + 1;
    let xm = DMatrix::from_fn(rows.len(), k, |i, j| if j == 0 { 1.0 } else { rows[i][x_ov[j - 1]] });
    let xtx_inv = inverse(&(xm.transpose() * &xm)).unwrap_or_else(|| DMatrix::zeros(k, k));
    let hat = &xm * xtx_inv * xm.transpose();
    let mut out = rows.to_vec();
    for v in (0..p).filter(|v| !x_ov.contains(v)) {
        let y = DVector::from_fn(rows.len(), |i, _| rows[i][v]);
        let yhat = &hat * y;
        for (i, r) in out.iter_mut().enumerate() {
            r[v] = yhat[i];
        }
    }
    out
}

/// Inverse of a symmetric matrix over the rows and columns whose diagonal is
/// not zero (zero elsewhere), as lavaan inverts the h1 information when the
/// fixed.x moments have zero weight; also their number.
pub fn inverse_nonzero(m: &DMatrix<f64>) -> Option<(DMatrix<f64>, usize)> {
    let keep: Vec<usize> = (0..m.nrows()).filter(|&i| m[(i, i)] != 0.0).collect();
    let sub = DMatrix::from_fn(keep.len(), keep.len(), |a, b| m[(keep[a], keep[b])]);
    let inv = inverse(&sub)?;
    let mut out = DMatrix::zeros(m.nrows(), m.ncols());
    for (a, &i) in keep.iter().enumerate() {
        for (b, &j) in keep.iter().enumerate() {
            out[(i, j)] = inv[(a, b)];
        }
    }
    Some((out, keep.len()))
}

/// Casewise scores of the normal log-likelihood with respect to the moments,
/// at (mu, Sigma): K d for the means, 1/2 (K d d' K - K) (doubled off the
/// diagonal) for the covariances, with d = y_i - mu. One row per case.
pub fn casewise_moment_scores(
    rows: &[Vec<f64>],
    mu: &DVector<f64>,
    sigma: &DMatrix<f64>,
    elems: &[(usize, usize, bool)],
) -> Option<DMatrix<f64>> {
    let k = sigma.clone().cholesky()?.inverse();
    let p = mu.len();
    let mut out = DMatrix::zeros(rows.len(), elems.len());
    for (r, row) in rows.iter().enumerate() {
        let d = DVector::from_fn(p, |i, _| row[i] - mu[i]);
        let kd = &k * &d;
        for (c, &(i, j, mean)) in elems.iter().enumerate() {
            out[(r, c)] = if mean {
                kd[i]
            } else {
                let gij = 0.5 * (kd[i] * kd[j] - k[(i, j)]);
                if i == j {
                    gij
                } else {
                    2.0 * gij
                }
            };
        }
    }
    Some(out)
}

/// Unit observed information: the Hessian of F/2 (F = sum_g n_g/N F_g), by
/// lavaan's five-point stencil on the analytic gradient (h = 1e-6), symmetrized.
pub fn observed_information(ram: &Ram, x: &[f64], data: &[GroupData]) -> Option<DMatrix<f64>> {
    let n = x.len();
    let h = 1e-6;
    let mut hess = DMatrix::zeros(n, n);
    for j in 0..n {
        let at = |d: f64| {
            let mut y = x.to_vec();
            y[j] += d;
            gradient(ram, &y, data)
        };
        let (l2, l1, r1, r2) = (at(-2.0 * h)?, at(-h)?, at(h)?, at(2.0 * h)?);
        for i in 0..n {
            hess[(i, j)] = 0.5 * (l2[i] - 8.0 * l1[i] + 8.0 * r1[i] - r2[i]) / (12.0 * h);
        }
    }
    Some((&hess + hess.transpose()) * 0.5)
}

pub fn inverse(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    m.clone().cholesky().map(|c| c.inverse()).or_else(|| m.clone().try_inverse())
}

/// Per-group inputs of the robust computations.
pub struct GroupRaw {
    pub rows: Vec<Vec<f64>>,
}

/// Result: the covariance matrix of the estimates and the test scaling factor.
pub struct Robust {
    pub vcov: Option<DMatrix<f64>>,
    /// trace(U Gamma) (MLM) or the Yuan-Bentler trace (MLR); scaling factor = trace / df
    pub trace: Option<f64>,
    /// MLR: the two parts of the Yuan-Bentler trace, lavaan's
    /// `scaling.factor.h1` (tr(A1^-1 B1) per sample moment) and the trace
    /// f_g tr(H^-1 B0), which lavaan divides by its number of free
    /// parameters (counted before equality constraints) for `scaling.factor.h0`
    pub factors_h1_h0: Option<(f64, f64)>,
}

impl Robust {
    /// Nothing computed.
    pub fn none() -> Robust {
        Robust {
            vcov: None,
            trace: None,
            factors_h1_h0: None,
        }
    }
}

/// MLM: sandwich with the expected information and the ADF Gamma; the
/// Satorra-Bentler trace.
pub fn mlm(ram: &Ram, x: &[f64], data: &[GroupData], raw: &[GroupRaw], info: &DMatrix<f64>) -> Robust {
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let Some(e_inv) = crate::estimate::constrained::constrained_inverse(ram, x, info, inverse) else {
        return Robust {
            vcov: None,
            trace: None,
            factors_h1_h0: None,
        };
    };
    let elems = moment_elems(ram.p(), ram.meanstructure);
    let mut middle = DMatrix::zeros(ram.nx, ram.nx);
    let mut trace = 0.0;
    for (g, d) in data.iter().enumerate() {
        let fg = d.n as f64 / ntot;
        let (Some(dl), Some(e)) = (delta(ram, g, x, d, &elems), eval_group(ram, g, x, d)) else {
            return Robust {
                vcov: None,
                trace: None,
                factors_h1_h0: None,
            };
        };
        let Some(w) = h1_weight(&e.implied.sigma, &elems, &ram.x_ov) else {
            return Robust {
                vcov: None,
                trace: None,
                factors_h1_h0: None,
            };
        };
        let gamma = gamma_adf(&raw[g].rows, &elems, &ram.x_ov);
        let wd = &w * &dl;
        middle += wd.transpose() * &gamma * &wd * fg;
        // tr(U Gamma/fg) with U = fg W - fg^2 W Delta E^-1 Delta' W
        let wg = &w * &gamma;
        trace += wg.trace() - fg * (&wd * &e_inv * wd.transpose() * &gamma).trace();
    }
    Robust {
        vcov: Some(&e_inv * middle * &e_inv / ntot),
        trace: Some(trace),
        factors_h1_h0: None,
    }
}

/// One group's first-order information B0_g: the mean outer product of
/// the casewise scores of the normal log-likelihood with respect to the free
/// parameters (scores in the moments, at the implied moments, chained
/// through Delta). Without a mean structure the means are the sample means,
/// as lavaan's (`lav_model_h1_information_firstorder`).
fn group_first_order(
    ram: &Ram,
    g: usize,
    x: &[f64],
    d: &GroupData,
    rows: &[Vec<f64>],
    elems: &[(usize, usize, bool)],
) -> Option<DMatrix<f64>> {
    let dl = delta(ram, g, x, d, elems)?;
    let e = eval_group(ram, g, x, d)?;
    let mu = if ram.meanstructure { e.implied.mu.clone() } else { d.mean.clone() };
    let sc = casewise_moment_scores(rows, &mu, &e.implied.sigma, elems)?;
    let s0 = sc * dl;
    Some(s0.transpose() * &s0 / rows.len() as f64)
}

/// The unit first-order information sum_g f_g B0_g (lavaan's
/// `information = "first.order"`, the information of estimator MLF).
pub fn first_order_information(ram: &Ram, x: &[f64], data: &[GroupData], raw: &[GroupRaw]) -> Option<DMatrix<f64>> {
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let elems = moment_elems(ram.p(), ram.meanstructure);
    let mut b0 = DMatrix::zeros(ram.nx, ram.nx);
    for (g, d) in data.iter().enumerate() {
        b0 += group_first_order(ram, g, x, d, &raw[g].rows, &elems)? * (d.n as f64 / ntot);
    }
    Some(b0)
}

/// MLR (and `se = "robust.huber.white"`): Huber-White sandwich with the
/// `bread` (the unit observed information by default, lavaan's
/// `information = "observed"`; the expected one with `information =
/// "expected"`) and the casewise scores; the Yuan-Bentler (Mplus) trace with
/// the same bread.
pub fn mlr(ram: &Ram, x: &[f64], data: &[GroupData], raw: &[GroupRaw], bread: &DMatrix<f64>) -> Robust {
    let none = Robust {
        vcov: None,
        trace: None,
        factors_h1_h0: None,
    };
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let Some(h_inv) = crate::estimate::constrained::constrained_inverse(ram, x, bread, inverse) else {
        return none;
    };
    let elems = moment_elems(ram.p(), ram.meanstructure);
    let mut b0_total = DMatrix::zeros(ram.nx, ram.nx);
    let (mut trace_h1, mut trace_h0, mut ndat) = (0.0, 0.0, 0usize);
    for (g, d) in data.iter().enumerate() {
        let fg = d.n as f64 / ntot;
        let Some(b0) = group_first_order(ram, g, x, d, &raw[g].rows, &elems) else {
            return none;
        };
        // saturated model at the sample moments: A1 and B1 = A1 Gamma A1
        let Some(a1) = h1_weight(&d.cov, &elems, &ram.x_ov) else {
            return none;
        };
        let Some((a1_inv, kept)) = inverse_nonzero(&a1) else { return none };
        let gamma = gamma_adf(&raw[g].rows, &elems, &ram.x_ov);
        let b1 = &a1 * gamma * &a1;
        trace_h1 += (&b1 * &a1_inv).trace();
        trace_h0 += fg * (&b0 * &h_inv).trace();
        ndat += kept;
        b0_total += b0 * fg;
    }
    Robust {
        vcov: Some(&h_inv * b0_total * &h_inv / ntot),
        trace: Some(trace_h1 - trace_h0),
        factors_h1_h0: Some((trace_h1 / ndat as f64, trace_h0)),
    }
}

/// tr(U Gamma) and tr((U Gamma)^2) with the groups stacked, as lavaan 0.6-14
/// computes them for its mean-and-variance adjusted tests (MLMV's
/// "scaled.shifted", MLMVS's "mean.var.adjusted"; `lav_test_satorra_bentler`
/// with method "original", the 0.6-13 multiple-group fix):
/// U = V - V Delta E^-1 Delta' V with V = bdiag(f_g W_g), Delta the groups'
/// Jacobians stacked, E the unit expected information (`info`, constrained
/// inverse) and Gamma = bdiag(Gamma_g / f_g). The first trace is MLM's.
pub fn ug_traces(ram: &Ram, x: &[f64], data: &[GroupData], raw: &[GroupRaw], info: &DMatrix<f64>) -> Option<(f64, f64)> {
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let e_inv = crate::estimate::constrained::constrained_inverse(ram, x, info, inverse)?;
    let elems = moment_elems(ram.p(), ram.meanstructure);
    let m = elems.len();
    let ng = data.len();
    // W_g Gamma_g on the diagonal blocks (f_g cancels), f_g W_g Delta_g
    // stacked, and Delta_g' W_g Gamma_g side by side
    let mut ug = DMatrix::zeros(m * ng, m * ng);
    let mut vd = DMatrix::zeros(m * ng, ram.nx);
    let mut dvg = DMatrix::zeros(ram.nx, m * ng);
    for (g, d) in data.iter().enumerate() {
        let fg = d.n as f64 / ntot;
        let dl = delta(ram, g, x, d, &elems)?;
        let e = eval_group(ram, g, x, d)?;
        let w = h1_weight(&e.implied.sigma, &elems, &ram.x_ov)?;
        let gamma = gamma_adf(&raw[g].rows, &elems, &ram.x_ov);
        let wd = &w * &dl;
        ug.view_mut((g * m, g * m), (m, m)).copy_from(&(&w * &gamma));
        vd.view_mut((g * m, 0), (m, ram.nx)).copy_from(&(&wd * fg));
        dvg.view_mut((0, g * m), (ram.nx, m)).copy_from(&(wd.transpose() * &gamma));
    }
    ug -= vd * e_inv * dvg;
    let tr1 = ug.trace();
    let ugt = ug.transpose();
    let tr2: f64 = ug.iter().zip(ugt.iter()).map(|(a, b)| a * b).sum();
    Some((tr1, tr2))
}

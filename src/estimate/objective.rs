//! The ML discrepancy, its analytic gradient and its expected Hessian.
//!
//! Per group, with K = Sigma^-1 and d = ybar - mu (means only with a mean structure):
//!
//!   F_g = log|Sigma| + tr(S K) - log|S| - p + d' K d
//!
//! and F = sum_g (n_g / N) F_g, so that chi-square = N F (lavaan's 2 N fmin).
//! With W = K (Sigma - S) K - K d d' K the gradient of F_g in a RAM cell is
//!
//!   A(i,j):  2 (B' W C)_ij - 2 (B' K d)_i (B m)_j
//!   S(i,j):  2 (B' W B)_ij   (i != j),   (B' W B)_ii   (i == j)
//!   m(i):   -2 (B' K d)_i
//!
//! (B, C padded to the observed rows). Each cell moves Sigma by a rank-two
//! matrix a b' + b a' (A(i,j): a = (FB)_i, b = (FC)_j; S(i,j): a = (FB)_i,
//! b = (FB)_j, halved on the diagonal), so the expected information
//! 1/2 tr(K dSigma_k K dSigma_l) + dmu_k' K dmu_l is
//!
//!   (a_k' K a_l)(b_k' K b_l) + (a_k' K b_l)(b_k' K a_l) + dmu_k' K dmu_l
//!
//! from one product P' K P of the stacked vectors: no p^2 x p^2 Kronecker
//! product, no per-parameter p x p matrix.

use crate::data::SampleStats;
use crate::model::ram::{Implied, Mat, Ram};
use nalgebra::{DMatrix, DVector};

/// Sample moments of one group with the constants the objective needs.
#[derive(Debug, Clone)]
pub struct GroupData {
    pub n: usize,
    pub cov: DMatrix<f64>,
    pub mean: DVector<f64>,
    pub logdet_s: f64,
}

impl GroupData {
    pub fn new(s: &SampleStats) -> GroupData {
        let logdet_s = s
            .cov
            .clone()
            .cholesky()
            .map_or(f64::NAN, |c| 2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>());
        GroupData {
            n: s.nobs,
            cov: s.cov.clone(),
            mean: s.mean.clone(),
            logdet_s,
        }
    }
}

/// Everything evaluated at one parameter vector for one group.
pub struct GroupEval {
    pub implied: Implied,
    /// Sigma^-1
    pub k: DMatrix<f64>,
    pub logdet: f64,
    pub f: f64,
}

/// Evaluate group `g` at `x`; `None` when Sigma is not positive definite.
pub fn eval_group(ram: &Ram, g: usize, x: &[f64], d: &GroupData) -> Option<GroupEval> {
    let p = ram.p();
    let (a, s, m) = ram.matrices(g, x);
    let implied = Implied::new(&a, &s, &m, p)?;
    let chol = implied.sigma.clone().cholesky()?;
    let logdet = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let k = chol.inverse();
    let mut f = logdet + (&d.cov * &k).trace() - d.logdet_s - p as f64;
    if ram.meanstructure {
        let dm = &d.mean - &implied.mu;
        f += (dm.transpose() * &k * &dm)[(0, 0)];
    }
    if !f.is_finite() {
        return None;
    }
    Some(GroupEval { implied, k, logdet, f })
}

/// F = sum_g (n_g/N) F_g, or +inf outside the admissible region.
pub fn objective(ram: &Ram, x: &[f64], data: &[GroupData]) -> f64 {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut f = 0.0;
    for (g, d) in data.iter().enumerate() {
        match eval_group(ram, g, x, d) {
            Some(e) => f += d.n as f64 / ntot as f64 * e.f,
            None => return f64::INFINITY,
        }
    }
    f
}

/// Gradient of F with respect to the free parameters.
pub fn gradient(ram: &Ram, x: &[f64], data: &[GroupData]) -> Option<Vec<f64>> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut grad = vec![0.0; ram.nx];
    let p = ram.p();
    for (g, d) in data.iter().enumerate() {
        let e = eval_group(ram, g, x, d)?;
        let w_g = d.n as f64 / ntot as f64;
        let k = &e.k;
        let mut w = k * (&e.implied.sigma - &d.cov) * k;
        let fb = e.implied.b.rows(0, p);
        let fc = e.implied.c.rows(0, p);
        let mut u = DVector::zeros(ram.nv());
        if ram.meanstructure {
            let kd = k * (&d.mean - &e.implied.mu);
            w -= &kd * kd.transpose();
            u = fb.transpose() * &kd;
        }
        let bwb = fb.transpose() * &w * fb;
        let bwc = fb.transpose() * &w * fc;
        for c in &ram.groups[g].cells {
            let Some(xi) = c.x else { continue };
            let v = match c.mat {
                Mat::A => 2.0 * bwc[(c.i, c.j)] - 2.0 * u[c.i] * e.implied.bm[c.j],
                Mat::S if c.i == c.j => bwb[(c.i, c.i)],
                Mat::S => 2.0 * bwb[(c.i, c.j)],
                Mat::M => -2.0 * u[c.i],
            };
            grad[xi] += w_g * v;
        }
    }
    Some(grad)
}

/// Derivatives of (Sigma, mu) of one group in rank-two form, per free cell.
pub struct Jacobian {
    /// `(cell index, free parameter)` of the columns
    pub cols: Vec<(usize, usize)>,
    /// p x q: dSigma_k = a_k b_k' + b_k a_k'
    pub a: DMatrix<f64>,
    pub b: DMatrix<f64>,
    /// p x q: dmu_k
    pub dmu: DMatrix<f64>,
}

pub fn jacobian(ram: &Ram, g: usize, implied: &Implied) -> Jacobian {
    let p = ram.p();
    let cells = &ram.groups[g].cells;
    let cols: Vec<(usize, usize)> = cells.iter().enumerate().filter_map(|(ci, c)| c.x.map(|x| (ci, x))).collect();
    let q = cols.len();
    let mut a = DMatrix::zeros(p, q);
    let mut b = DMatrix::zeros(p, q);
    let mut dmu = DMatrix::zeros(p, q);
    let fb = implied.b.rows(0, p);
    let fc = implied.c.rows(0, p);
    for (k, &(ci, _)) in cols.iter().enumerate() {
        let c = &cells[ci];
        match c.mat {
            Mat::A => {
                a.set_column(k, &fb.column(c.i));
                b.set_column(k, &fc.column(c.j));
                if ram.meanstructure {
                    dmu.set_column(k, &(fb.column(c.i) * implied.bm[c.j]));
                }
            }
            Mat::S => {
                a.set_column(k, &fb.column(c.i));
                if c.i == c.j {
                    b.set_column(k, &(fb.column(c.i) * 0.5));
                } else {
                    b.set_column(k, &fb.column(c.j));
                }
            }
            Mat::M => dmu.set_column(k, &fb.column(c.i)),
        }
    }
    Jacobian { cols, a, b, dmu }
}

/// Unit expected information (per observation) over the free parameters:
/// sum_g (n_g/N) Delta_g' A_g Delta_g, with A_g from the implied moments.
pub fn expected_information(ram: &Ram, x: &[f64], data: &[GroupData]) -> Option<DMatrix<f64>> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut info = DMatrix::zeros(ram.nx, ram.nx);
    for (g, d) in data.iter().enumerate() {
        let e = eval_group(ram, g, x, d)?;
        let w_g = d.n as f64 / ntot as f64;
        let mut jac = jacobian(ram, g, &e.implied);
        let q = jac.cols.len();
        let p = ram.p();
        // the x-x block of each dSigma_k (zero unless a parameter moves the
        // fixed.x moments): (Pa)(Pb)' + (Pb)(Pa)' with P keeping the x rows
        let mut pa = DMatrix::zeros(p, q);
        let mut pb = DMatrix::zeros(p, q);
        for &i in &ram.x_ov {
            pa.set_row(i, &jac.a.row(i));
            pb.set_row(i, &jac.b.row(i));
            jac.dmu.row_mut(i).fill(0.0);
        }
        let xblock = pa.iter().chain(pb.iter()).any(|v| *v != 0.0);
        let blocks = if xblock { 4 } else { 2 };
        let mut pm = DMatrix::zeros(p, blocks * q);
        pm.view_mut((0, 0), (p, q)).copy_from(&jac.a);
        pm.view_mut((0, q), (p, q)).copy_from(&jac.b);
        if xblock {
            pm.view_mut((0, 2 * q), (p, q)).copy_from(&pa);
            pm.view_mut((0, 3 * q), (p, q)).copy_from(&pb);
        }
        let kp = &e.k * &pm;
        let gm = pm.transpose() * kp;
        let mm = if ram.meanstructure {
            Some(jac.dmu.transpose() * &e.k * &jac.dmu)
        } else {
            None
        };
        // 1/2 tr(K (u v' + v u') K (w z' + z w')) = (u'Kw)(v'Kz) + (u'Kz)(v'Kw),
        // with (u, v) the k-th pair of block s and (w, z) the l-th of block t
        let f = |s: usize, k: usize, t: usize, l: usize| {
            let (u, v, w, z) = (s * q + k, (s + 1) * q + k, t * q + l, (t + 1) * q + l);
            gm[(u, w)] * gm[(v, z)] + gm[(u, z)] * gm[(v, w)]
        };
        for k in 0..q {
            for l in 0..q {
                let mut v = f(0, k, 0, l);
                if xblock {
                    v += f(2, k, 2, l) - f(2, k, 0, l) - f(0, k, 2, l);
                }
                if let Some(mm) = &mm {
                    v += mm[(k, l)];
                }
                info[(jac.cols[k].1, jac.cols[l].1)] += w_g * v;
            }
        }
    }
    Some(info)
}

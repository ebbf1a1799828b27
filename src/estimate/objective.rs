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
//! product, no per-parameter p x p matrix. The vectors a, b are columns of
//! FB and FC, and many cells share them (every loading of a factor has the
//! same b), so P' K P is formed over the distinct columns only: U' K U with
//! U of p x r, r <= 2 nv, instead of p x 2q.
//!
//! The optimizer evaluates each point once (`evaluate`): the cost, and from
//! the same Sigma^-1 the gradient (`gradient_at`) and the information
//! (`information_at`); `objective`, `gradient` and `expected_information`
//! are the one-call forms.

use super::chol::Chol;
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
        let logdet_s = Chol::new(&s.cov).map_or(f64::NAN, |c| c.logdet());
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
    let chol = Chol::new(&implied.sigma)?;
    let logdet = chol.logdet();
    let k = chol.inverse();
    // tr(S K) as the elementwise sum over two symmetric matrices: O(p^2),
    // where the product of the two took O(p^3)
    let mut f = logdet + d.cov.dot(&k) - d.logdet_s - p as f64;
    if ram.meanstructure {
        let dm = &d.mean - &implied.mu;
        f += (dm.transpose() * &k * &dm)[(0, 0)];
    }
    if !f.is_finite() {
        return None;
    }
    Some(GroupEval { implied, k, logdet, f })
}

/// Every group evaluated at one parameter vector.
pub struct Evaluation {
    pub groups: Vec<GroupEval>,
    /// F = sum_g (n_g/N) F_g
    pub f: f64,
}

/// Evaluate every group at `x`; `None` outside the admissible region.
pub fn evaluate(ram: &Ram, x: &[f64], data: &[GroupData]) -> Option<Evaluation> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut f = 0.0;
    let mut groups = Vec::with_capacity(data.len());
    for (g, d) in data.iter().enumerate() {
        let e = eval_group(ram, g, x, d)?;
        f += d.n as f64 / ntot as f64 * e.f;
        groups.push(e);
    }
    Some(Evaluation { groups, f })
}

/// F = sum_g (n_g/N) F_g, or +inf outside the admissible region.
pub fn objective(ram: &Ram, x: &[f64], data: &[GroupData]) -> f64 {
    evaluate(ram, x, data).map_or(f64::INFINITY, |e| e.f)
}

/// Gradient of F with respect to the free parameters.
pub fn gradient(ram: &Ram, x: &[f64], data: &[GroupData]) -> Option<Vec<f64>> {
    Some(gradient_at(ram, data, &evaluate(ram, x, data)?))
}

/// `y += alpha x`
#[inline]
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[inline]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Column `j` of FB (rows `0..p` of column `j` of B, column-major).
#[inline]
fn fcol(m: &DMatrix<f64>, j: usize, p: usize) -> &[f64] {
    let nv = m.nrows();
    &m.as_slice()[j * nv..j * nv + p]
}

/// Gradient of F from an evaluation. Per group, with W = K (Sigma - S) K
/// (less K d d' K with means), only the columns Y(:,i) = W FB(:,i) that a
/// free cell needs are formed (over the nonzeros of FB), and each cell's
/// derivative is then one dot product of length p.
pub fn gradient_at(ram: &Ram, data: &[GroupData], ev: &Evaluation) -> Vec<f64> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut grad = vec![0.0; ram.nx];
    let p = ram.p();
    let nv = ram.nv();
    for (g, (d, e)) in data.iter().zip(&ev.groups).enumerate() {
        let w_g = d.n as f64 / ntot as f64;
        let k = &e.k;
        let b = &e.implied.b;
        let c = &e.implied.c;
        let mut w = k * (&e.implied.sigma - &d.cov) * k;
        let mut kd = None;
        if ram.meanstructure {
            let v = k * (&d.mean - &e.implied.mu);
            w.ger(-1.0, &v, &v, 1.0);
            kd = Some(v);
        }
        // Y(:,i) = W FB(:,i) for the i that the free cells use
        let cells = &ram.groups[g].cells;
        let mut slot = vec![usize::MAX; nv];
        let mut need = Vec::new();
        for cell in cells.iter().filter(|c| c.x.is_some()) {
            let cols: &[usize] = match cell.mat {
                Mat::A => &[cell.i],
                Mat::S => &[cell.i, cell.j],
                Mat::M => &[],
            };
            for &i in cols {
                if slot[i] == usize::MAX {
                    slot[i] = need.len();
                    need.push(i);
                }
            }
        }
        let mut y = vec![0.0; p * need.len()];
        let ws = w.as_slice();
        for (s, &i) in need.iter().enumerate() {
            let yi = &mut y[s * p..(s + 1) * p];
            for (r, &fb) in fcol(b, i, p).iter().enumerate() {
                if fb != 0.0 {
                    axpy(yi, fb, &ws[r * p..(r + 1) * p]);
                }
            }
        }
        let ycol = |i: usize| &y[slot[i] * p..(slot[i] + 1) * p];
        let u = |i: usize| kd.as_ref().map_or(0.0, |kd| dot(fcol(b, i, p), kd.as_slice()));
        for cell in cells {
            let Some(xi) = cell.x else { continue };
            let v = match cell.mat {
                Mat::A => {
                    let mut v = 2.0 * dot(ycol(cell.i), fcol(c, cell.j, p));
                    if ram.meanstructure {
                        v -= 2.0 * u(cell.i) * e.implied.bm[cell.j];
                    }
                    v
                }
                Mat::S if cell.i == cell.j => dot(ycol(cell.i), fcol(b, cell.i, p)),
                Mat::S => 2.0 * dot(ycol(cell.i), fcol(b, cell.j, p)),
                Mat::M => -2.0 * u(cell.i),
            };
            grad[xi] += w_g * v;
        }
    }
    grad
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
    Some(information_at(ram, data, &evaluate(ram, x, data)?))
}

/// Which rows of a column of FB or FC a vector keeps: all of them, only the
/// fixed.x rows (the x-x block of dSigma, which lavaan leaves out), or all
/// but those (the mean part, whose x rows lavaan leaves out too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    All = 0,
    X = 1,
    NonX = 2,
}

/// The distinct vectors of one group's rank-two derivatives, as columns of
/// U (p x r), with the index of each (source, column, rows) triple.
struct Columns<'a> {
    p: usize,
    nv: usize,
    b: &'a DMatrix<f64>,
    c: &'a DMatrix<f64>,
    is_x: Vec<bool>,
    /// slot of (src * 3 + rows) * nv + col, src 0 = FB, 1 = FC
    slot: Vec<usize>,
    u: Vec<f64>,
    r: usize,
}

impl Columns<'_> {
    /// Index of the vector (or `None` when it is zero), with its values added to U.
    fn get(&mut self, src: usize, col: usize, rows: Rows) -> Option<usize> {
        let rows = if rows == Rows::NonX && !self.is_x.iter().any(|v| *v) {
            Rows::All
        } else {
            rows
        };
        let key = (src * 3 + rows as usize) * self.nv + col;
        if self.slot[key] != usize::MAX {
            return Some(self.slot[key]);
        }
        let m = if src == 0 { self.b } else { self.c };
        let full = fcol(m, col, self.p);
        let keep = |r: usize| match rows {
            Rows::All => true,
            Rows::X => self.is_x[r],
            Rows::NonX => !self.is_x[r],
        };
        if !full.iter().enumerate().any(|(r, v)| *v != 0.0 && keep(r)) {
            return None;
        }
        self.u.extend(full.iter().enumerate().map(|(r, v)| if keep(r) { *v } else { 0.0 }));
        self.slot[key] = self.r;
        self.r += 1;
        Some(self.r - 1)
    }
}

/// One free cell's derivative: dSigma = ca cb (U_a U_b' + U_b U_a'),
/// its x-x block likewise, dmu = cm U_m.
#[derive(Clone, Copy)]
struct Deriv {
    x: usize,
    ab: Option<(usize, usize, f64)>,
    abx: Option<(usize, usize, f64)>,
    mu: Option<(usize, f64)>,
}

/// U' K U for a symmetric K. The columns of U are columns of B and C, and in
/// a wide measurement model most are unit vectors (the direct paths of B
/// restricted to the observed rows): then U is taken column by column over
/// its nonzero rows, O(p nnz(U)) instead of two dense O(p^2 r) products
/// (with thousands of indicators, most of the time of the whole fit).
fn gram(k: &DMatrix<f64>, u: &DMatrix<f64>) -> DMatrix<f64> {
    let (p, r) = u.shape();
    let nz: Vec<Vec<usize>> = (0..r).map(|c| (0..p).filter(|&i| u[(i, c)] != 0.0).collect()).collect();
    let nnz: usize = nz.iter().map(Vec::len).sum();
    if nnz * 4 > p * r {
        let ku = k * u;
        return u.transpose() * ku;
    }
    let mut ku = DMatrix::<f64>::zeros(p, r);
    for (c, rows) in nz.iter().enumerate() {
        let mut col = ku.column_mut(c);
        for &i in rows {
            col.axpy(u[(i, c)], &k.column(i), 1.0);
        }
    }
    let mut gm = DMatrix::<f64>::zeros(r, r);
    for b in 0..r {
        let kb = ku.column(b);
        for (a, rows) in nz.iter().enumerate() {
            gm[(a, b)] = rows.iter().map(|&i| u[(i, a)] * kb[i]).sum();
        }
    }
    gm
}

/// Unit expected information from an evaluation.
pub fn information_at(ram: &Ram, data: &[GroupData], ev: &Evaluation) -> DMatrix<f64> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let mut info = DMatrix::zeros(ram.nx, ram.nx);
    let p = ram.p();
    let nv = ram.nv();
    for (g, (d, e)) in data.iter().zip(&ev.groups).enumerate() {
        let w_g = d.n as f64 / ntot as f64;
        let mut is_x = vec![false; p];
        for &i in &ram.x_ov {
            is_x[i] = true;
        }
        let mut cols = Columns {
            p,
            nv,
            b: &e.implied.b,
            c: &e.implied.c,
            is_x,
            slot: vec![usize::MAX; 6 * nv],
            u: Vec::new(),
            r: 0,
        };
        let pair = |cols: &mut Columns, (sa, ia): (usize, usize), (sb, ib): (usize, usize), coef: f64, rows: Rows| {
            Some((cols.get(sa, ia, rows)?, cols.get(sb, ib, rows)?, coef))
        };
        let mut derivs = Vec::new();
        for cell in &ram.groups[g].cells {
            let Some(x) = cell.x else { continue };
            let (a, b, coef) = match cell.mat {
                Mat::A => ((0, cell.i), (1, cell.j), 1.0),
                Mat::S => ((0, cell.i), (0, cell.j), if cell.i == cell.j { 0.5 } else { 1.0 }),
                Mat::M => ((0, 0), (0, 0), 0.0),
            };
            let (ab, abx) = if cell.mat == Mat::M {
                (None, None)
            } else {
                (pair(&mut cols, a, b, coef, Rows::All), pair(&mut cols, a, b, coef, Rows::X))
            };
            let mu = match cell.mat {
                Mat::A if ram.meanstructure && e.implied.bm[cell.j] != 0.0 => {
                    cols.get(0, cell.i, Rows::NonX).map(|s| (s, e.implied.bm[cell.j]))
                }
                Mat::M => cols.get(0, cell.i, Rows::NonX).map(|s| (s, 1.0)),
                _ => None,
            };
            derivs.push(Deriv { x, ab, abx, mu });
        }
        let r = cols.r;
        let gm = gram(&e.k, &DMatrix::from_vec(p, r, cols.u));
        // 1/2 tr(K (u v' + v u') K (w z' + z w')) = (u'Kw)(v'Kz) + (u'Kz)(v'Kw)
        let f = |(u, v, cu): (usize, usize, f64), (w, z, cw): (usize, usize, f64)| {
            cu * cw * (gm[(u, w)] * gm[(v, z)] + gm[(u, z)] * gm[(v, w)])
        };
        for (k, dk) in derivs.iter().enumerate() {
            for dl in &derivs[..=k] {
                let mut v = 0.0;
                if let (Some(a), Some(b)) = (dk.ab, dl.ab) {
                    v += f(a, b);
                }
                if let Some(ax) = dk.abx {
                    if let Some(bx) = dl.abx {
                        v += f(ax, bx);
                    }
                    if let Some(b) = dl.ab {
                        v -= f(ax, b);
                    }
                }
                if let (Some(a), Some(bx)) = (dk.ab, dl.abx) {
                    v -= f(a, bx);
                }
                if let (Some((mk, ck)), Some((ml, cl))) = (dk.mu, dl.mu) {
                    v += ck * cl * gm[(mk, ml)];
                }
                info[(dk.x, dl.x)] += w_g * v;
                if !std::ptr::eq(dk, dl) {
                    info[(dl.x, dk.x)] += w_g * v;
                }
            }
        }
    }
    info
}

//! The weighted least-squares family for ordinal data (lavaan's DWLS, WLS
//! and ULS with `ordered=`), delta parameterization: the model's implied
//! sample statistics and the discrepancy function.
//!
//! With y* the latent responses behind the ordinal variables, the RAM
//! matrices give their implied covariance Sigma* and means mu*. In the delta
//! parameterization the residual variances theta_j of the ordinal variables
//! are not parameters: they are whatever makes the total variance of y*_j
//! equal 1 / Delta_j^2, with Delta_j the scale factor (`y ~*~ y`, fixed at 1
//! in one group). In the theta parameterization the residual variances are
//! in the table (fixed at 1 in one group) and Delta_j = 1 / sqrt(Sigma*_jj).
//! The implied statistics, in lavaan's `wls.obs` order, are
//!
//!   thresholds  (tau_jk - mu*_j) Delta_j,
//!   correlations  Delta_i Delta_j Sigma*_ij  (i > j, column by column),
//!
//! and the estimates minimise F = sum_g (n_g/N) (s_g - sigma_g)' W_g (s_g - sigma_g)
//! with W the `wls.v` weight (inverse NACOV, its diagonal, or I). The
//! Jacobian Delta = d sigma / d x is analytic (`jacobian`; checked against
//! central differences in the tests); the Gauss-Newton Hessian 2 Delta'W Delta drives the Fisher-scoring solver of
//! `crate::estimate`.

use super::{Estimate, Scoring};
use crate::model::ram::{Implied, Mat};
use crate::model::Model;
use argmin::core::Error;
use nalgebra::{DMatrix, DVector};

/// Where one threshold or scale factor gets its value: a free parameter
/// or a fixed value.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Free(usize),
    Fixed(f64),
}

impl Value {
    pub fn at(self, x: &[f64]) -> f64 {
        match self {
            Value::Free(k) => x[k],
            Value::Fixed(v) => v,
        }
    }
}

/// The layout of one group's ordinal statistics in the model.
#[derive(Debug, Clone)]
pub struct Layout {
    /// the group (0-based)
    pub group: usize,
    /// per threshold in `wls.obs` order: its observed variable, its
    /// parameter-table row and its value
    pub th: Vec<(usize, usize, Value)>,
    /// per observed variable: the scale factor Delta_j
    pub scale: Vec<Value>,
    /// observed indices of the ordinal variables
    pub ord: Vec<usize>,
    /// observed indices of the continuous variables (their `th` entries are
    /// minus their means, then their variances follow the thresholds)
    pub num: Vec<usize>,
    /// theta parameterization: the residual variances are in the table and
    /// the scale factors follow from them (Delta_j = 1 / sd(y*_j))
    pub theta: bool,
    /// observed indices of the exogenous covariates the statistics are
    /// conditional on (lavaan's `conditional.x`, `super::wls_x`); empty
    /// without covariates
    pub x: Vec<usize>,
}

impl Layout {
    /// Read group `g`'s thresholds, the means of the continuous variables
    /// and the scale factors from the parameter table; an error when an
    /// ordinal variable has no threshold.
    pub fn new(model: &Model, g: usize, ordered: &[bool], theta: bool) -> Result<Layout, String> {
        let ram = &model.ram;
        let p = ram.p();
        let value = |r: usize| match model.x_of_row[r] {
            Some(k) => Value::Free(k),
            None => Value::Fixed(model.pt.rows[r].ustart.unwrap_or(0.0)),
        };
        let mut th = Vec::new();
        let mut scale = vec![Value::Fixed(1.0); p];
        let find = |op: &str, v: &str| {
            (0..model.pt.rows.len()).find(|&r| {
                let row = &model.pt.rows[r];
                row.group == g + 1 && row.op == op && row.lhs == v
            })
        };
        for j in 0..p {
            if !ordered[j] {
                // a continuous variable: its mean (the intercept row, or 0 without one)
                let v = find("~1", &ram.ov[j]).map_or((usize::MAX, Value::Fixed(0.0)), |r| (r, value(r)));
                th.push((j, v.0, v.1));
                continue;
            }
            let rows: Vec<usize> = (0..model.pt.rows.len())
                .filter(|&r| {
                    let row = &model.pt.rows[r];
                    row.group == g + 1 && row.op == "|" && row.lhs == ram.ov[j]
                })
                .collect();
            if rows.is_empty() {
                return Err(format!("the ordinal variable `{}` has no thresholds in the model", ram.ov[j]));
            }
            th.extend(rows.into_iter().map(|r| (j, r, value(r))));
            if let Some(r) = (0..model.pt.rows.len()).find(|&r| {
                let row = &model.pt.rows[r];
                row.group == g + 1 && row.op == "~*~" && row.lhs == ram.ov[j]
            }) {
                scale[j] = value(r);
            }
        }
        Ok(Layout {
            group: g,
            th,
            scale,
            ord: (0..p).filter(|&j| ordered[j]).collect(),
            num: (0..p).filter(|&j| !ordered[j]).collect(),
            theta,
            x: vec![],
        })
    }

    /// The layout conditional on the exogenous covariates `xs` (observed
    /// indices): they leave the thresholds/means, their slopes follow.
    pub fn conditional(mut self, xs: &[usize]) -> Layout {
        self.th.retain(|t| !xs.contains(&t.0));
        self.num.retain(|j| !xs.contains(j));
        self.x = xs.to_vec();
        self
    }

    /// Number of statistics: thresholds (and means), slopes on the
    /// covariates (conditional.x), variances of the continuous variables,
    /// correlations (covariances) among the variables other than covariates.
    pub fn len(&self, p: usize) -> usize {
        let q = p - self.x.len();
        self.first() + q * (q - 1) / 2
    }

    /// Number of statistics before the correlations: thresholds, means,
    /// slopes and variances (what the baseline model fits freely).
    pub fn first(&self) -> usize {
        self.th.len() + self.num.len() + (self.ord.len() + self.num.len()) * self.x.len()
    }

    /// Whether `th` entry `k` is a continuous variable's (minus) mean.
    pub fn is_mean(&self, k: usize) -> bool {
        self.num.contains(&self.th[k].0)
    }

    pub fn is_empty(&self) -> bool {
        self.th.is_empty()
    }
}

/// The delta parameterization's residual variances of the latent
/// responses, given the implied moments `imp0` with those variances at 0:
/// diag(Sigma) = diag(Sigma0) + sum_k theta_k B_jk^2 must equal 1/Delta_j^2
/// (Delta the scale factors), a linear system in theta. Shared with the
/// statistics given covariates (`super::wls_x`).
pub(crate) fn delta_residual_variances(lay: &Layout, x: &[f64], imp0: &Implied) -> Option<DVector<f64>> {
    let k = lay.ord.len();
    let mut mm = DMatrix::zeros(k, k);
    let mut rhs = DVector::zeros(k);
    for (a_, &j) in lay.ord.iter().enumerate() {
        for (b_, &l) in lay.ord.iter().enumerate() {
            mm[(a_, b_)] = imp0.b[(j, l)] * imp0.b[(j, l)];
        }
        let d = lay.scale[j].at(x);
        rhs[a_] = 1.0 / (d * d) - imp0.sigma[(j, j)];
    }
    mm.lu().solve(&rhs)
}

/// The implied latent-response moments at `x` with the delta
/// parameterization's residual variances filled in: the implied matrices
/// and theta_j per ordinal variable.
pub fn implied_moments(model: &Model, lay: &Layout, x: &[f64]) -> Option<(Implied, Vec<f64>)> {
    if !lay.x.is_empty() {
        return super::wls_x::implied_moments(model, lay, x);
    }
    let ram = &model.ram;
    let p = ram.p();
    let (a, mut s, m) = ram.matrices(lay.group, x);
    if lay.theta {
        let imp = Implied::new(&a, &s, &m, p)?;
        let theta = lay.ord.iter().map(|&j| s[(j, j)]).collect();
        return Some((imp, theta));
    }
    for &j in &lay.ord {
        s[(j, j)] = 0.0;
    }
    let imp0 = Implied::new(&a, &s, &m, p)?;
    let theta = delta_residual_variances(lay, x, &imp0)?;
    // C is linear in S: adding theta_j at S_jj adds theta_j B(:,j) B(:,j)'
    // (the means do not depend on S), so no second B S B'
    let mut imp = imp0;
    let nv = imp.c.nrows();
    for (a_, &j) in lay.ord.iter().enumerate() {
        let t = theta[a_];
        let nz: Vec<(usize, f64)> = (0..nv).map(|i| (i, imp.b[(i, j)])).filter(|&(_, v)| v != 0.0).collect();
        for &(r, br) in &nz {
            for &(c, bc) in &nz {
                imp.c[(r, c)] += t * br * bc;
                if r < p && c < p {
                    imp.sigma[(r, c)] += t * br * bc;
                }
            }
        }
    }
    Some((imp, theta.iter().copied().collect()))
}

/// The scale factors Delta_j at `x`: parameters (delta) or 1 / sd(y*_j) (theta).
pub fn scales(lay: &Layout, imp: &Implied, x: &[f64]) -> Vec<f64> {
    (0..lay.scale.len())
        .map(|j| {
            if lay.theta {
                1.0 / imp.sigma[(j, j)].sqrt()
            } else {
                lay.scale[j].at(x)
            }
        })
        .collect()
}

/// The implied statistics sigma(x) of one group in `wls.obs` order.
pub fn implied(model: &Model, lay: &Layout, x: &[f64]) -> Option<DVector<f64>> {
    if !lay.x.is_empty() {
        return super::wls_x::implied(model, lay, x);
    }
    let (imp, _) = implied_moments(model, lay, x)?;
    statistics(model, lay, x, &imp)
}

/// The implied statistics from the implied moments at `x`.
fn statistics(model: &Model, lay: &Layout, x: &[f64], imp: &Implied) -> Option<DVector<f64>> {
    let p = model.ram.p();
    let d = scales(lay, imp, x);
    let mut out = DVector::zeros(lay.len(p));
    for (k, &(j, _, v)) in lay.th.iter().enumerate() {
        out[k] = if lay.is_mean(k) { -imp.mu[j] } else { (v.at(x) - imp.mu[j]) * d[j] };
    }
    let mut k = lay.th.len();
    for &j in &lay.num {
        out[k] = imp.sigma[(j, j)];
        k += 1;
    }
    for j in 0..p {
        for i in j + 1..p {
            out[k] = d[i] * d[j] * imp.sigma[(i, j)];
            k += 1;
        }
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// d sigma / d x of one group, analytically. With B = (I - A)^-1, C = B S B'
/// and mu = B m (all variables; the delta parameterization's residual
/// variances theta of the latent responses filled in), a free parameter in
///
/// - A_ij changes C by B e_i C_j. + (B e_i C_j.)' and mu by B_.i mu_j,
/// - S_ij changes C by B_.i B_.j' + B_.j B_.i' (once when i = j),
/// - m_i changes mu by B_.i;
///
/// in the delta parameterization theta then moves so that the variances of
/// the latent responses stay 1/Delta_j^2: M dtheta = d(1/Delta^2) -
/// diag(dC) over the ordinal variables (M_jk = B_jk^2, as in
/// `implied_moments`), adding sum_k dtheta_k B_.k B_.k'; in the theta
/// parameterization Delta_j = 1/sqrt(Sigma_jj) moves with Sigma_jj. The
/// statistics' derivatives follow by the product rule:
/// d[(tau - mu_j) Delta_j] and d[Delta_i Delta_j Sigma_ij].
pub fn jacobian(model: &Model, lay: &Layout, x: &[f64]) -> Option<DMatrix<f64>> {
    if !lay.x.is_empty() {
        return super::wls_x::jacobian(model, lay, x);
    }
    let (imp, _) = implied_moments(model, lay, x)?;
    Some(jacobian_at(model, lay, x, &imp)?.to_dense())
}

/// sigma(x) and d sigma / d x (its nonzeros) from one implied-moments pass.
pub fn implied_and_jacobian(model: &Model, lay: &Layout, x: &[f64]) -> Option<(DVector<f64>, SparseCols)> {
    if !lay.x.is_empty() {
        let jac = super::wls_x::jacobian(model, lay, x)?;
        return Some((super::wls_x::implied(model, lay, x)?, SparseCols::new(&jac)));
    }
    let (imp, _) = implied_moments(model, lay, x)?;
    Some((statistics(model, lay, x, &imp)?, jacobian_at(model, lay, x, &imp)?))
}

/// `jacobian` from the implied moments at `x`, as its nonzeros column by
/// column (a threshold's column has one, a loading's the correlations of
/// its indicator): the scoring iterations use it without a dense n x nx
/// matrix.
fn jacobian_at(model: &Model, lay: &Layout, x: &[f64], imp: &Implied) -> Option<SparseCols> {
    let mut out = SparseCols {
        nrows: 0,
        cols: Vec::new(),
    };
    jacobian_into(model, lay, x, imp, &mut JacWork::default(), &mut out).then_some(out)
}

/// d Sigma (observed block, column-major p x p), d mu and d Delta of one
/// parameter that enters the RAM matrices or a scale factor.
#[derive(Default)]
struct Deriv {
    /// the parameter
    k: usize,
    sig: Vec<f64>,
    mu: Vec<f64>,
    delta: Vec<f64>,
    /// the observed variables whose row and column of d Sigma may be
    /// nonzero (`touched[v]`), as a list (`rows`, unordered, no repeats): a
    /// correlation (i, j) moves only when i or j is among them
    touched: Vec<bool>,
    rows: Vec<usize>,
    /// whether d mu, d Delta have a nonzero (else the threshold entries of
    /// the column are all 0)
    mu_nz: bool,
    delta_nz: bool,
}

impl Deriv {
    /// Zeroed for parameter `k`: d Sigma is nonzero only in the rows and
    /// columns of the variables touched last time, so only those are
    /// cleared when the size is unchanged.
    fn reset(&mut self, k: usize, p: usize) {
        self.k = k;
        if self.sig.len() == p * p && self.touched.len() == p {
            for &r in &self.rows {
                self.sig[r * p..(r + 1) * p].fill(0.0);
                for t in 0..p {
                    self.sig[t * p + r] = 0.0;
                }
                self.touched[r] = false;
            }
        } else {
            self.sig.clear();
            self.sig.resize(p * p, 0.0);
            self.touched.clear();
            self.touched.resize(p, false);
        }
        for v in [&mut self.mu, &mut self.delta] {
            v.clear();
            v.resize(p, 0.0);
        }
        self.rows.clear();
        self.mu_nz = false;
        self.delta_nz = false;
    }
    fn touch(&mut self, v: usize) {
        if !self.touched[v] {
            self.touched[v] = true;
            self.rows.push(v);
        }
    }
}

/// The buffers of `jacobian_into`, kept from one scoring iteration to the
/// next (`WlsProblem`): a fresh p x p d Sigma per parameter and a fresh
/// column list per call were ~1.7 MB in ~2000 allocations per Bradford fit.
#[derive(Default)]
pub struct JacWork {
    /// per parameter in use (the first `nder`), see `Deriv`
    der: Vec<Deriv>,
    nder: usize,
    /// per free parameter: its index in `der`, or usize::MAX
    slot: Vec<usize>,
    /// per variable: the nonzeros of B's column over the observed rows
    bnz: Vec<Vec<(usize, f64)>>,
    /// the column's entries before the correlations, dense
    col: Vec<f64>,
}

impl JacWork {
    /// `der`'s entry of parameter `k`, made (zeroed) on first use.
    fn at(&mut self, k: usize, p: usize) -> usize {
        if self.slot[k] == usize::MAX {
            self.slot[k] = self.nder;
            if self.der.len() == self.nder {
                self.der.push(Deriv::default());
            }
            self.der[self.nder].reset(k, p);
            self.nder += 1;
        }
        self.slot[k]
    }
}

/// `jacobian_at` into `out` with the buffers of `work`; false where the
/// Jacobian has a non-finite entry or the delta parameterization's system
/// for the residual variances is singular.
///
/// Only the correlations that can move are visited: those of a variable
/// whose row of d Sigma the parameter touches (a loading: its indicator's
/// 24 of 300). The delta parameterization's residual variances (theta)
/// move only the diagonal of Sigma when every ordinal variable's column of
/// B is its own unit vector (no observed variable predicts it, the usual
/// case): no statistic reads that diagonal, so their solve is skipped then.
/// The entries that are computed are computed as before, in the same order,
/// so the Jacobian is the same bit for bit.
fn jacobian_into(model: &Model, lay: &Layout, x: &[f64], imp: &Implied, work: &mut JacWork, out: &mut SparseCols) -> bool {
    let nx = x.len();
    let p = model.ram.p();
    let n = lay.len(p);
    let d = scales(lay, imp, x);
    let (b, c, bm) = (&imp.b, &imp.c, &imp.bm);
    let nv = b.nrows();
    let (bs, cs) = (b.as_slice(), c.as_slice());
    work.nder = 0;
    work.slot.clear();
    work.slot.resize(nx, usize::MAX);
    let ord_diag = |i: usize, j: usize| !lay.theta && i == j && lay.ord.contains(&i);
    // the nonzeros of B's columns over the observed rows: an indicator's
    // column has one, a factor's its indicators (and those downstream)
    work.bnz.resize_with(nv, Vec::new);
    for (i, bz) in work.bnz.iter_mut().enumerate() {
        bz.clear();
        bz.extend(
            bs[i * nv..i * nv + p]
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(r, v)| (r, *v)),
        );
    }
    for cell in &model.ram.groups[lay.group].cells {
        let Some(k) = cell.x else { continue };
        let (i, j) = (cell.i, cell.j);
        if cell.mat == Mat::S && ord_diag(i, j) {
            continue;
        }
        let q = work.at(k, p);
        let (dk, bnz) = (&mut work.der[q], &work.bnz);
        match cell.mat {
            Mat::A => {
                // B e_i C_j. + its transpose
                for &(r, bri) in &bnz[i] {
                    dk.mu[r] += bri * bm[j];
                    dk.mu_nz |= bri * bm[j] != 0.0;
                    dk.touch(r);
                    for t in 0..p {
                        let v = bri * cs[t * nv + j];
                        dk.sig[t * p + r] += v;
                        dk.sig[r * p + t] += v;
                    }
                }
            }
            Mat::S => {
                for &(r, bri) in &bnz[i] {
                    dk.touch(r);
                    for &(t, btj) in &bnz[j] {
                        dk.touch(t);
                        let v = bri * btj;
                        dk.sig[t * p + r] += v;
                        if i != j {
                            dk.sig[r * p + t] += v;
                        }
                    }
                }
            }
            Mat::M => {
                for &(r, bri) in &bnz[i] {
                    dk.mu[r] += bri;
                    dk.mu_nz = true;
                }
            }
        }
    }
    if !lay.theta {
        for (j, v) in lay.scale.iter().enumerate() {
            if let Value::Free(k) = v {
                let s = work.at(*k, p);
                let dk = &mut work.der[s];
                dk.delta[j] += 1.0;
                dk.delta_nz = true;
                dk.touch(j);
            }
        }
        // theta keeps the latent responses' variances at 1/Delta^2: one
        // solve for all parameters, unless it moves only what no statistic
        // reads (see above)
        let ko = lay.ord.len();
        let own = lay.ord.iter().all(|&l| matches!(work.bnz[l].as_slice(), [(r, _)] if *r == l));
        if ko > 0 && work.nder > 0 && !own {
            let der = &mut work.der[..work.nder];
            let mm = DMatrix::from_fn(ko, ko, |a, l| b[(lay.ord[a], lay.ord[l])].powi(2));
            let mut rhs = DMatrix::zeros(ko, der.len());
            for (q, dk) in der.iter().enumerate() {
                for (a, &j) in lay.ord.iter().enumerate() {
                    rhs[(a, q)] = -2.0 * dk.delta[j] / d[j].powi(3) - dk.sig[j * p + j];
                }
            }
            let Some(dth) = mm.lu().solve(&rhs) else { return false };
            for (q, dk) in der.iter_mut().enumerate() {
                for (a, &l) in lay.ord.iter().enumerate() {
                    let t = dth[(a, q)];
                    if t == 0.0 {
                        continue;
                    }
                    for &(r, brl) in &work.bnz[l] {
                        dk.touch(r);
                        for &(u, bul) in &work.bnz[l] {
                            dk.sig[u * p + r] += t * brl * bul;
                        }
                    }
                }
            }
        }
    } else {
        for dk in work.der[..work.nder].iter_mut() {
            for j in 0..p {
                dk.delta[j] = -0.5 * imp.sigma[(j, j)].powf(-1.5) * dk.sig[j * p + j];
            }
            dk.delta_nz = dk.delta.iter().any(|v| *v != 0.0);
        }
    }
    // the threshold entries, then each RAM / scale parameter's column:
    // its entries before the correlations filled densely in `col`, its
    // correlations only where they can move
    out.nrows = n;
    out.cols.resize_with(nx, Vec::new);
    for c in out.cols.iter_mut() {
        c.clear();
    }
    let cols = &mut out.cols;
    for (e, &(j, _, v)) in lay.th.iter().enumerate() {
        if let (Value::Free(k), false) = (v, lay.is_mean(e)) {
            cols[k].push((e, d[j]));
        }
    }
    let sig = imp.sigma.as_slice();
    let first = lay.th.len() + lay.num.len();
    // (every implied correlation enters every column through d Delta)
    let lower_finite = || (0..p).all(|j| sig[j * p + j + 1..(j + 1) * p].iter().all(|v| v.is_finite()));
    let mut finite = d.iter().all(|v| v.is_finite()) && (work.nder == 0 || lower_finite());
    let col = &mut work.col;
    for dk in work.der[..work.nder].iter_mut() {
        col.clear();
        col.resize(first, 0.0);
        for &(e, v) in &cols[dk.k] {
            col[e] += v;
        }
        // with d mu = d Delta = 0 every threshold term is 0
        if dk.mu_nz || dk.delta_nz {
            for (e, &(j, _, tv)) in lay.th.iter().enumerate() {
                col[e] += if lay.is_mean(e) {
                    -dk.mu[j]
                } else {
                    -dk.mu[j] * d[j] + (tv.at(x) - imp.mu[j]) * dk.delta[j]
                };
            }
        }
        for (e, &j) in lay.num.iter().enumerate() {
            col[lay.th.len() + e] += dk.sig[j * p + j];
        }
        finite &= col.iter().all(|v| v.is_finite());
        let ck = &mut cols[dk.k];
        ck.clear();
        ck.extend(col.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(r, v)| (r, *v)));
        // the correlations (i > j, column by column), ascending
        dk.rows.sort_unstable();
        let rows = &dk.rows;
        let mut e0 = first;
        for j in 0..p {
            let (ddj, dj) = (dk.delta[j], d[j]);
            let (scol, dcol) = (&sig[j * p..(j + 1) * p], &dk.sig[j * p..(j + 1) * p]);
            let mut put = |i: usize| {
                let v = 0.0 + ((dk.delta[i] * dj + d[i] * ddj) * scol[i] + d[i] * dj * dcol[i]);
                finite &= v.is_finite();
                if v != 0.0 {
                    ck.push((e0 + i - j - 1, v));
                }
            };
            if dk.touched[j] {
                (j + 1..p).for_each(&mut put);
            } else {
                rows.iter().copied().filter(|&i| i > j).for_each(&mut put);
            }
            e0 += p - j - 1;
        }
    }
    finite
}

/// d sigma / d x of one group by central differences (the check of
/// `jacobian` in the tests): central differences for the parameters of
/// the RAM matrices and the scale factors; exact for a parameter that is a
/// threshold only (d sigma_k / d tau = Delta_j on its own entries) or does
/// not enter this group at all (0).
#[cfg(test)]
pub fn jacobian_numeric(model: &Model, lay: &Layout, x: &[f64]) -> Option<DMatrix<f64>> {
    let nx = x.len();
    let p = model.ram.p();
    let n = lay.len(p);
    let mut numeric = vec![false; nx];
    for c in &model.ram.groups[lay.group].cells {
        if let Some(k) = c.x {
            numeric[k] = true;
        }
    }
    for v in &lay.scale {
        if let Value::Free(k) = v {
            numeric[*k] = true;
        }
    }
    let (imp, _) = implied_moments(model, lay, x)?;
    let d = scales(lay, &imp, x);
    let mut jac = DMatrix::zeros(n, nx);
    for (e, &(j, _, v)) in lay.th.iter().enumerate() {
        if let (Value::Free(k), false) = (v, lay.is_mean(e)) {
            if !numeric[k] {
                jac[(e, k)] += d[j];
            }
        }
    }
    let mut xx = x.to_vec();
    for k in (0..nx).filter(|&k| numeric[k]) {
        let h = 1e-6 * x[k].abs().max(1.0);
        xx[k] = x[k] + h;
        let up = implied(model, lay, &xx)?;
        xx[k] = x[k] - h;
        let down = implied(model, lay, &xx)?;
        xx[k] = x[k];
        jac.set_column(k, &((up - down) / (2.0 * h)));
    }
    Some(jac)
}

/// One group's side of the fit: its layout, observed statistics, weight
/// and size.
pub struct WlsGroup {
    pub lay: Layout,
    pub obs: DVector<f64>,
    /// the weight W as a dense matrix (`weight()`): given, or built from
    /// `wdiag` on first use (most products with a diagonal W never need it)
    dense: std::sync::OnceLock<DMatrix<f64>>,
    pub n: usize,
    /// the weight's diagonal when it is diagonal (DWLS, ULS): products with
    /// W are then row scalings, O(n k) instead of O(n^2 k)
    pub wdiag: Option<DVector<f64>>,
}

impl WlsGroup {
    pub fn new(lay: Layout, obs: DVector<f64>, weight: DMatrix<f64>, n: usize) -> WlsGroup {
        let wdiag = diagonal_of(&weight);
        WlsGroup {
            lay,
            obs,
            dense: std::sync::OnceLock::from(weight),
            n,
            wdiag,
        }
    }

    /// A group whose weight is the diagonal matrix of `wdiag` (DWLS, ULS),
    /// without the p x p matrix until something asks for it.
    pub fn diagonal(lay: Layout, obs: DVector<f64>, wdiag: DVector<f64>, n: usize) -> WlsGroup {
        WlsGroup {
            lay,
            obs,
            dense: std::sync::OnceLock::new(),
            n,
            wdiag: Some(wdiag),
        }
    }

    /// The weight W as a dense matrix.
    pub fn weight(&self) -> &DMatrix<f64> {
        // a group made by `new` has its matrix from the start
        self.dense.get_or_init(|| match &self.wdiag {
            Some(w) => DMatrix::from_diagonal(w),
            None => DMatrix::zeros(0, 0),
        })
    }

    /// W m.
    pub fn weigh(&self, m: &DMatrix<f64>) -> DMatrix<f64> {
        match &self.wdiag {
            Some(w) => {
                let mut out = m.clone();
                let w = w.as_slice();
                for col in out.as_mut_slice().chunks_exact_mut(w.len().max(1)) {
                    for (v, wi) in col.iter_mut().zip(w) {
                        *v *= wi;
                    }
                }
                out
            }
            None => self.weight() * m,
        }
    }

    /// The nonzeros of W S: S's entries scaled by a diagonal W, else the
    /// dense product.
    pub fn weigh_sparse(&self, sp: &SparseCols) -> SparseCols {
        match &self.wdiag {
            Some(w) => SparseCols {
                nrows: sp.nrows,
                cols: sp.cols.iter().map(|c| c.iter().map(|&(r, a)| (r, a * w[r])).collect()).collect(),
            },
            None => SparseCols::new(&self.weigh(&sp.to_dense())),
        }
    }

    /// W v.
    pub fn weigh_vec(&self, v: &DVector<f64>) -> DVector<f64> {
        match &self.wdiag {
            Some(w) => v.component_mul(w),
            None => self.weight() * v,
        }
    }

    /// Delta'W Delta from the nonzeros of Delta. With a diagonal W, row by
    /// row over the nonzeros: entry (k, l) sums w_r D_rk D_rl over the
    /// statistics r where both columns are nonzero (a correlation depends on
    /// a handful of parameters, a threshold on one), without visiting every
    /// pair of columns. Each term is (D_r,s w_r) D_r,o with s the sparser
    /// column of the two, summed over r ascending: bit for bit the dot
    /// product of the sparser weighted column with the other column (the
    /// terms where it is zero add nothing), which the estimates depend on
    /// at the last digits the convergence tolerance leaves open.
    pub fn gram(&self, sp: &SparseCols) -> DMatrix<f64> {
        let Some(w) = &self.wdiag else {
            return sp.tr_mul_sym(&self.weigh(&sp.to_dense()));
        };
        let nx = sp.cols.len();
        let mut out = DMatrix::zeros(nx, nx);
        Self::gram_diag(w, sp, out.as_mut_slice());
        out
    }

    /// `gram` added to `h` times `scale` (h += scale Delta'W Delta), with
    /// `buf` as the scratch for Delta'W Delta: the scoring iterations reuse
    /// both instead of two fresh nx x nx matrices per iteration.
    pub fn add_gram(&self, sp: &SparseCols, scale: f64, h: &mut DMatrix<f64>, buf: &mut Vec<f64>) {
        let Some(w) = &self.wdiag else {
            *h += self.gram(sp) * scale;
            return;
        };
        let nx = sp.cols.len();
        buf.clear();
        buf.resize(nx * nx, 0.0);
        Self::gram_diag(w, sp, buf);
        for (hv, g) in h.as_mut_slice().iter_mut().zip(buf.iter()) {
            *hv += g * scale;
        }
    }

    /// Delta'W Delta with the diagonal W `w` into `os` (nx x nx,
    /// column-major, zeroed).
    fn gram_diag(w: &DVector<f64>, sp: &SparseCols, os: &mut [f64]) {
        let nx = sp.cols.len();
        let (start, entries) = sp.rows();
        let nnz: Vec<usize> = sp.cols.iter().map(Vec::len).collect();
        for (r, wr) in w.iter().enumerate() {
            let row = &entries[start[r]..start[r + 1]];
            for (i, &(k, a)) in row.iter().enumerate() {
                for &(l, b) in &row[..=i] {
                    // l <= k: column k is the sparser one on a tie
                    os[l * nx + k] += if nnz[k] <= nnz[l] { a * wr * b } else { b * wr * a };
                }
            }
        }
        // the lower triangle (k >= l) is filled: mirror it
        for k in 0..nx {
            for l in 0..k {
                os[k * nx + l] = os[l * nx + k];
            }
        }
    }

    /// r'W r.
    pub fn quad(&self, r: &DVector<f64>) -> f64 {
        match &self.wdiag {
            Some(w) => r.iter().zip(w.iter()).map(|(a, b)| a * a * b).sum(),
            None => (r.transpose() * self.weight() * r)[(0, 0)],
        }
    }
}

/// The diagonal of a square matrix whose off-diagonal entries are all 0.
pub fn diagonal_of(m: &DMatrix<f64>) -> Option<DVector<f64>> {
    let n = m.nrows();
    let diag = n == m.ncols()
        && m.as_slice()
            .chunks_exact(n.max(1))
            .enumerate()
            .all(|(j, c)| c[..j].iter().chain(&c[j + 1..]).all(|v| *v == 0.0));
    diag.then(|| m.diagonal())
}

/// The nonzero entries (row, value) of every column of a matrix. The
/// Jacobian of the ordinal statistics is mostly zeros (a threshold moves
/// one statistic, a loading the correlations of its indicator), so its
/// products go over the nonzeros, column by column or row by row (`rows`):
/// Delta'W Delta of the Bradford model (400 x 134) is ~45 k multiplications
/// instead of 7.2 M.
pub struct SparseCols {
    pub nrows: usize,
    pub cols: Vec<Vec<(usize, f64)>>,
}

impl SparseCols {
    pub fn new(m: &DMatrix<f64>) -> SparseCols {
        SparseCols {
            nrows: m.nrows(),
            cols: (0..m.ncols())
                .map(|k| {
                    let c = &m.as_slice()[k * m.nrows()..(k + 1) * m.nrows()];
                    c.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(r, v)| (r, *v)).collect()
                })
                .collect(),
        }
    }

    /// The dense matrix.
    pub fn to_dense(&self) -> DMatrix<f64> {
        let mut m = DMatrix::zeros(self.nrows, self.cols.len());
        for (k, c) in self.cols.iter().enumerate() {
            let mc = &mut m.as_mut_slice()[k * self.nrows..(k + 1) * self.nrows];
            for &(r, a) in c {
                mc[r] = a;
            }
        }
        m
    }

    /// The same nonzeros row by row: row r's (column, value) pairs are
    /// `entries[start[r]..start[r + 1]]`, columns ascending.
    pub fn rows(&self) -> (Vec<usize>, Vec<(usize, f64)>) {
        let mut start = vec![0; self.nrows + 1];
        for c in &self.cols {
            for &(r, _) in c {
                start[r + 1] += 1;
            }
        }
        for r in 0..self.nrows {
            start[r + 1] += start[r];
        }
        let mut fill = start.clone();
        let mut entries = vec![(0, 0.0); start[self.nrows]];
        for (k, c) in self.cols.iter().enumerate() {
            for &(r, a) in c {
                entries[fill[r]] = (k, a);
                fill[r] += 1;
            }
        }
        (start, entries)
    }

    /// S' B when it is symmetric (B = W S, B = Gamma W S with W and Gamma
    /// symmetric): entry (k, l) and (l, k) from the sparser of columns k
    /// and l, B's columns read at its nonzeros.
    pub fn tr_mul_sym(&self, b: &DMatrix<f64>) -> DMatrix<f64> {
        let n = self.cols.len();
        let nr = b.nrows();
        let bs = b.as_slice();
        let mut out = DMatrix::zeros(n, n);
        for k in 0..n {
            for l in 0..=k {
                let (s, o) = if self.cols[k].len() <= self.cols[l].len() { (k, l) } else { (l, k) };
                let bc = &bs[o * nr..(o + 1) * nr];
                let v: f64 = self.cols[s].iter().map(|&(r, a)| a * bc[r]).sum();
                out[(k, l)] = v;
                out[(l, k)] = v;
            }
        }
        out
    }

    /// S' v.
    pub fn tr_mul_vec(&self, v: &DVector<f64>) -> DVector<f64> {
        DVector::from_iterator(self.cols.len(), self.cols.iter().map(|sc| sc.iter().map(|&(r, a)| a * v[r]).sum()))
    }

    /// B S (B with `nrows` columns).
    pub fn left_mul(&self, b: &DMatrix<f64>) -> DMatrix<f64> {
        let n = b.nrows();
        let mut out = DMatrix::zeros(n, self.cols.len());
        let bs = b.as_slice();
        for (oc, sc) in out.as_mut_slice().chunks_exact_mut(n.max(1)).zip(&self.cols) {
            for &(r, a) in sc {
                for (o, v) in oc.iter_mut().zip(&bs[r * n..(r + 1) * n]) {
                    *o += a * v;
                }
            }
        }
        out
    }
}

/// The discrepancy function as a Fisher-scoring problem.
pub struct WlsProblem<'a> {
    pub model: &'a Model,
    pub groups: &'a [WlsGroup],
    /// the buffers of the Jacobian and the Hessian, reused by every
    /// iteration (`gradient_hessian`)
    work: std::cell::RefCell<ScoringWork>,
}

/// What `WlsProblem::gradient_hessian` keeps between iterations.
#[derive(Default)]
struct ScoringWork {
    jac: JacWork,
    sp: Option<SparseCols>,
    gram: Vec<f64>,
}

/// One evaluation of the discrepancy: the point and per group its residuals
/// s - sigma(x), with the implied latent-response moments they came from
/// (none given covariates, whose Jacobian `super::wls_x` computes on its
/// own), so the gradient at an accepted point needs no second pass.
pub struct WlsEval {
    x: Vec<f64>,
    groups: Vec<(Option<Implied>, DVector<f64>)>,
}

impl<'a> WlsProblem<'a> {
    pub fn new(model: &'a Model, groups: &'a [WlsGroup]) -> WlsProblem<'a> {
        WlsProblem {
            model,
            groups,
            work: Default::default(),
        }
    }

    fn fg(&self) -> Vec<f64> {
        let n: f64 = self.groups.iter().map(|g| g.n as f64).sum();
        self.groups.iter().map(|g| g.n as f64 / n).collect()
    }

    /// F = sum_g (n_g/N) r_g' W_g r_g, +inf where sigma cannot be computed.
    pub fn fmin(&self, x: &[f64]) -> f64 {
        self.eval(x).0
    }

    /// F at `x` and the evaluation behind it (`None` where sigma cannot be
    /// computed, F = +inf).
    fn eval(&self, x: &[f64]) -> (f64, Option<WlsEval>) {
        let fg = self.fg();
        let mut f = 0.0;
        let mut groups = Vec::with_capacity(self.groups.len());
        for (g, grp) in self.groups.iter().enumerate() {
            let at = if grp.lay.x.is_empty() {
                implied_moments(self.model, &grp.lay, x).and_then(|(imp, _)| {
                    let s = statistics(self.model, &grp.lay, x, &imp)?;
                    Some((Some(imp), s))
                })
            } else {
                super::wls_x::implied(self.model, &grp.lay, x).map(|s| (None, s))
            };
            let Some((imp, s)) = at else {
                return (f64::INFINITY, None);
            };
            let r = &grp.obs - s;
            f += fg[g] * grp.quad(&r);
            groups.push((imp, r));
        }
        (f, Some(WlsEval { x: x.to_vec(), groups }))
    }
}

impl Scoring for WlsProblem<'_> {
    type Eval = WlsEval;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<WlsEval>), Error> {
        let (f, e) = self.eval(x);
        Ok((f, e.filter(|_| f.is_finite())))
    }
    fn gradient_hessian(&self, e: &WlsEval) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        let fg = self.fg();
        let x = &e.x;
        let nx = x.len();
        let mut grad = DVector::zeros(nx);
        let mut h = DMatrix::zeros(nx, nx);
        let bad = || Error::msg("the implied correlations cannot be computed");
        let mut work = self.work.borrow_mut();
        let ScoringWork { jac, sp, gram } = &mut *work;
        let sp = sp.get_or_insert_with(|| SparseCols {
            nrows: 0,
            cols: Vec::new(),
        });
        for (g, (grp, (imp, r))) in self.groups.iter().zip(&e.groups).enumerate() {
            let ok = match imp {
                Some(imp) => jacobian_into(self.model, &grp.lay, x, imp, jac, sp),
                None => super::wls_x::jacobian(self.model, &grp.lay, x)
                    .map(|j| *sp = SparseCols::new(&j))
                    .is_some(),
            };
            if !ok {
                return Err(bad());
            }
            grad -= sp.tr_mul_vec(&grp.weigh_vec(r)) * (2.0 * fg[g]);
            grp.add_gram(sp, 2.0 * fg[g], &mut h, gram);
        }
        Ok((grad.iter().copied().collect(), h))
    }
    /// Delta'W Delta with a diagonal W is block diagonal (in the delta
    /// parameterization every threshold is a 1 x 1 block): solved by blocks
    fn blocks_from(&self) -> usize {
        if self.groups.iter().all(|g| g.wdiag.is_some()) {
            2
        } else {
            super::BLOCKS_FROM
        }
    }
}

/// Converged when a full scoring step moves no parameter by more than
/// this (relative above 1). Gauss-Newton on a discrepancy with nonzero
/// residuals converges linearly: the Bradford model's steps shrink five- to
/// tenfold per iteration (2.7e-7, 2.2e-8, 4.7e-9, 3.7e-10), so a step
/// below 1e-7 leaves ~5e-9 to go. That is the precision rounding leaves
/// anyway: the same fit with its Hessian summed in another order (last-bit
/// differences) lands 5e-9 away. The 1e-9 of the ML fits cost two more
/// iterations here for digits that are noise.
const XTOL: f64 = 1e-7;

/// Minimise from `x0`.
pub fn minimize(model: &Model, groups: &[WlsGroup], x0: Vec<f64>, max_iter: u64) -> Estimate {
    let problem = WlsProblem::new(model, groups);
    super::constrained::solve_for(&model.ram, problem, x0, max_iter, XTOL, |x| WlsProblem::new(model, groups).fmin(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{prepare, FitOptions};
    use std::path::Path;

    /// The analytic Jacobian against central differences at the start and
    /// at a perturbed point, delta and theta, one and two groups, mixed.
    #[test]
    fn analytic_jacobian_matches_central_differences() {
        for (case, theta) in [
            ("hs4_wlsmv", false),
            ("hs4_theta", true),
            ("hs_mixed", false),
            ("hs4_groups_eq", false),
            ("hs4_groups_eq_theta", true),
        ] {
            let d = Path::new("tests/fixtures/ordinal").join(case);
            let args = std::fs::read_to_string(d.join("args")).unwrap();
            let mut opt = FitOptions {
                ordered: crate::ordinal::columns::OrderedSpec::parse(&["all".to_string()]).unwrap(),
                ..FitOptions::default()
            };
            if case == "hs_mixed" {
                opt.ordered = crate::ordinal::columns::OrderedSpec::parse(&["x1", "x2", "x4", "x5", "x7", "x8"].map(String::from)).unwrap();
            }
            if args.contains("school") {
                opt.group = Some("school".into());
                opt.group_equal = vec!["thresholds".into(), "loadings".into()];
            }
            if theta {
                opt.parameterization = crate::model::partable::Parameterization::Theta;
            }
            let prep = prepare(&d.join("model.lav"), &d.join("data.csv"), &opt).unwrap();
            let model = &prep.model;
            let stats = prep.ordinal.as_ref().unwrap();
            let nx = model.ram.nx;
            let x: Vec<f64> = (0..nx).map(|k| 0.4 + 0.05 * (k % 7) as f64).collect();
            for (g, st) in stats.iter().enumerate() {
                let lay = Layout::new(model, g, &st.ordered, theta).unwrap();
                let (Some(a), Some(n)) = (jacobian(model, &lay, &x), jacobian_numeric(model, &lay, &x)) else {
                    panic!("{case}: no Jacobian")
                };
                let err = (&a - &n).abs().max();
                assert!(err < 1e-6, "{case} group {g}: analytic and numeric Jacobians differ by {err}");
            }
        }
    }
}

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
    // diag(Sigma) = diag(Sigma0) + sum_k theta_k B_jk^2 must equal 1/Delta_j^2
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
    let theta = mm.lu().solve(&rhs)?;
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
    let p = model.ram.p();
    let (imp, _) = implied_moments(model, lay, x)?;
    let d = scales(lay, &imp, x);
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
    let nx = x.len();
    let p = model.ram.p();
    let n = lay.len(p);
    let (imp, _) = implied_moments(model, lay, x)?;
    let d = scales(lay, &imp, x);
    let (b, c, bm) = (&imp.b, &imp.c, &imp.bm);
    // per parameter: d Sigma (observed block), d mu, d Delta
    struct Deriv {
        sig: DMatrix<f64>,
        mu: DVector<f64>,
        delta: DVector<f64>,
    }
    let mut der: Vec<Option<Deriv>> = (0..nx).map(|_| None).collect();
    let new = || Deriv {
        sig: DMatrix::zeros(p, p),
        mu: DVector::zeros(p),
        delta: DVector::zeros(p),
    };
    let ord_diag = |i: usize, j: usize| !lay.theta && i == j && lay.ord.contains(&i);
    for cell in &model.ram.groups[lay.group].cells {
        let Some(k) = cell.x else { continue };
        let (i, j) = (cell.i, cell.j);
        match cell.mat {
            Mat::A => {
                let dk = der[k].get_or_insert_with(new);
                for r in 0..p {
                    let bri = b[(r, i)];
                    dk.mu[r] += bri * bm[j];
                    for t in 0..p {
                        dk.sig[(r, t)] += bri * c[(j, t)] + c[(r, j)] * b[(t, i)];
                    }
                }
            }
            Mat::S if ord_diag(i, j) => {}
            Mat::S => {
                let dk = der[k].get_or_insert_with(new);
                for r in 0..p {
                    for t in 0..p {
                        dk.sig[(r, t)] += if i == j {
                            b[(r, i)] * b[(t, i)]
                        } else {
                            b[(r, i)] * b[(t, j)] + b[(r, j)] * b[(t, i)]
                        };
                    }
                }
            }
            Mat::M => {
                let dk = der[k].get_or_insert_with(new);
                for r in 0..p {
                    dk.mu[r] += b[(r, i)];
                }
            }
        }
    }
    if !lay.theta {
        for (j, v) in lay.scale.iter().enumerate() {
            if let Value::Free(k) = v {
                der[*k].get_or_insert_with(new).delta[j] += 1.0;
            }
        }
        // theta keeps the latent responses' variances at 1/Delta^2
        let ko = lay.ord.len();
        if ko > 0 {
            let mut mm = DMatrix::zeros(ko, ko);
            for (a_, &j) in lay.ord.iter().enumerate() {
                for (b_, &l) in lay.ord.iter().enumerate() {
                    mm[(a_, b_)] = b[(j, l)] * b[(j, l)];
                }
            }
            let lu = mm.lu();
            for dk in der.iter_mut().flatten() {
                let mut rhs = DVector::zeros(ko);
                for (a_, &j) in lay.ord.iter().enumerate() {
                    rhs[a_] = -2.0 * dk.delta[j] / d[j].powi(3) - dk.sig[(j, j)];
                }
                let dth = lu.solve(&rhs)?;
                for (b_, &l) in lay.ord.iter().enumerate() {
                    let t = dth[b_];
                    if t == 0.0 {
                        continue;
                    }
                    for r in 0..p {
                        let brl = b[(r, l)];
                        if brl == 0.0 {
                            continue;
                        }
                        for u in 0..p {
                            dk.sig[(r, u)] += t * brl * b[(u, l)];
                        }
                    }
                }
            }
        }
    } else {
        for dk in der.iter_mut().flatten() {
            for j in 0..p {
                dk.delta[j] = -0.5 * imp.sigma[(j, j)].powf(-1.5) * dk.sig[(j, j)];
            }
        }
    }
    let mut jac: DMatrix<f64> = DMatrix::zeros(n, nx);
    for (e, &(j, _, v)) in lay.th.iter().enumerate() {
        if let (Value::Free(k), false) = (v, lay.is_mean(e)) {
            jac[(e, k)] += d[j];
        }
    }
    for (k, dk) in der.iter().enumerate() {
        let Some(dk) = dk else { continue };
        let mut col = jac.column_mut(k);
        for (e, &(j, _, v)) in lay.th.iter().enumerate() {
            col[e] += if lay.is_mean(e) {
                -dk.mu[j]
            } else {
                -dk.mu[j] * d[j] + (v.at(x) - imp.mu[j]) * dk.delta[j]
            };
        }
        let mut e = lay.th.len();
        for &j in &lay.num {
            col[e] += dk.sig[(j, j)];
            e += 1;
        }
        for j in 0..p {
            for i in j + 1..p {
                let sij = imp.sigma[(i, j)];
                col[e] += (dk.delta[i] * d[j] + d[i] * dk.delta[j]) * sij + d[i] * d[j] * dk.sig[(i, j)];
                e += 1;
            }
        }
    }
    jac.iter().all(|v| v.is_finite()).then_some(jac)
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
    pub weight: DMatrix<f64>,
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
            weight,
            n,
            wdiag,
        }
    }

    /// W m.
    pub fn weigh(&self, m: &DMatrix<f64>) -> DMatrix<f64> {
        match &self.wdiag {
            Some(w) => {
                let mut out = m.clone();
                for (i, mut row) in out.row_iter_mut().enumerate() {
                    row *= w[i];
                }
                out
            }
            None => &self.weight * m,
        }
    }

    /// r'W r.
    pub fn quad(&self, r: &DVector<f64>) -> f64 {
        match &self.wdiag {
            Some(w) => r.iter().zip(w.iter()).map(|(a, b)| a * a * b).sum(),
            None => (r.transpose() * &self.weight * r)[(0, 0)],
        }
    }
}

/// The diagonal of a square matrix whose off-diagonal entries are all 0.
pub fn diagonal_of(m: &DMatrix<f64>) -> Option<DVector<f64>> {
    let n = m.nrows();
    let diag = (0..n).all(|j| (0..n).all(|i| i == j || m[(i, j)] == 0.0));
    diag.then(|| m.diagonal())
}

/// The discrepancy function as a Fisher-scoring problem.
pub struct WlsProblem<'a> {
    pub model: &'a Model,
    pub groups: &'a [WlsGroup],
}

impl WlsProblem<'_> {
    fn fg(&self) -> Vec<f64> {
        let n: f64 = self.groups.iter().map(|g| g.n as f64).sum();
        self.groups.iter().map(|g| g.n as f64 / n).collect()
    }

    /// F = sum_g (n_g/N) r_g' W_g r_g, +inf where sigma cannot be computed.
    pub fn fmin(&self, x: &[f64]) -> f64 {
        let fg = self.fg();
        let mut f = 0.0;
        for (g, grp) in self.groups.iter().enumerate() {
            match implied(self.model, &grp.lay, x) {
                Some(s) => {
                    let r = &grp.obs - s;
                    f += fg[g] * grp.quad(&r);
                }
                None => return f64::INFINITY,
            }
        }
        f
    }
}

impl Scoring for WlsProblem<'_> {
    type Eval = Vec<f64>;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<Vec<f64>>), Error> {
        let f = self.fmin(x);
        Ok((f, f.is_finite().then(|| x.to_vec())))
    }
    fn gradient_hessian(&self, x: &Vec<f64>) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        let fg = self.fg();
        let nx = x.len();
        let mut grad = DVector::zeros(nx);
        let mut h = DMatrix::zeros(nx, nx);
        let bad = || Error::msg("the implied correlations cannot be computed");
        for (g, grp) in self.groups.iter().enumerate() {
            let s = implied(self.model, &grp.lay, x).ok_or_else(bad)?;
            let jac = jacobian(self.model, &grp.lay, x).ok_or_else(bad)?;
            let r = &grp.obs - s;
            let wd = grp.weigh(&jac);
            grad -= wd.transpose() * r * (2.0 * fg[g]);
            h += jac.transpose() * wd * (2.0 * fg[g]);
        }
        Ok((grad.iter().copied().collect(), h))
    }
}

/// Minimise from `x0`.
pub fn minimize(model: &Model, groups: &[WlsGroup], x0: Vec<f64>, max_iter: u64) -> Estimate {
    let problem = WlsProblem { model, groups };
    super::constrained::solve_for(&model.ram, problem, x0, max_iter, 1e-9, |x| WlsProblem { model, groups }.fmin(x))
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

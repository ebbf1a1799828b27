//! The implied statistics of the WLS family when the ordinal items are
//! conditional on observed exogenous covariates (lavaan's `conditional.x`,
//! its default with ordinal data and a covariate): the sample side is
//! `crate::ordinal::exo`. Delta or theta parameterization.
//!
//! The covariates have no parents in the RAM matrices. With their variances,
//! covariances and means set to zero, B = (I - A)^-1 and C0 = B S0 B' give
//! the covariance of the latent responses given the covariates, mu0 = B m0
//! their means at x = 0, and the columns of B for the covariates the
//! reduced-form slopes Pi. The residual variances theta_j of the ordinal
//! items make diag(C0) = 1 / Delta_j^2 (the delta parameterization given x,
//! as lavaan); in the theta parameterization they are parameters and
//! Delta_j = 1 / sqrt(C0_jj). In lavaan's `wls.obs` order with `conditional.x`:
//!
//!   thresholds  (tau_jk - mu0_j) Delta_j (minus the intercept mu0_j of a
//!               continuous variable),
//!   slopes      Pi_jk Delta_j (covariate by covariate; Delta_j = 1 when continuous),
//!   residual variances C0_jj of the continuous variables,
//!   correlations  Delta_i Delta_j C0_ij (i > j, column by column; covariances
//!               where continuous variables are involved).
//!
//! The Jacobian is by central differences of these statistics (the
//! analytic one of `super::wls` does not cover the slopes).

use super::wls::Layout;
use crate::model::ram::Implied;
use crate::model::Model;
use nalgebra::{DMatrix, DVector};

/// The moments given the covariates, with theta filled in: the implied
/// matrices of the conditional model and theta per ordinal item.
fn conditional(model: &Model, lay: &Layout, x: &[f64]) -> Option<(Implied, Vec<f64>, DMatrix<f64>)> {
    let ram = &model.ram;
    let p = ram.p();
    let (a, s, mut m) = ram.matrices(lay.group, x);
    let full_s = s.clone();
    let mut s = s;
    for &k in &lay.x {
        s.row_mut(k).fill(0.0);
        s.column_mut(k).fill(0.0);
        m[k] = 0.0;
    }
    if lay.theta {
        // theta: the residual variances are parameters; the scale factors follow
        let theta = lay.ord.iter().map(|&j| s[(j, j)]).collect();
        let imp = Implied::new(&a, &s, &m, p)?;
        return Some((imp, theta, full_s));
    }
    for &j in &lay.ord {
        s[(j, j)] = 0.0;
    }
    let imp0 = Implied::new(&a, &s, &m, p)?;
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
    for (a_, &j) in lay.ord.iter().enumerate() {
        s[(j, j)] = theta[a_];
    }
    let imp = Implied::new(&a, &s, &m, p)?;
    let mut full_s = full_s;
    for (a_, &j) in lay.ord.iter().enumerate() {
        full_s[(j, j)] = theta[a_];
    }
    Some((imp, theta.iter().copied().collect(), full_s))
}

/// The implied moments of the whole model (covariates included, at their
/// fixed sample values) with the residual variances theta of the delta
/// parameterization given x: what the standardized solution uses.
pub fn implied_moments(model: &Model, lay: &Layout, x: &[f64]) -> Option<(Implied, Vec<f64>)> {
    let (_, theta, s) = conditional(model, lay, x)?;
    let (a, _, m) = model.ram.matrices(lay.group, x);
    Some((Implied::new(&a, &s, &m, model.ram.p())?, theta))
}

/// The scale factors Delta_j given the covariates: parameters (delta) or
/// 1 / sd(y*_j | x) of the ordinal variables (theta); 1 for continuous ones.
fn deltas(lay: &Layout, cond: &Implied, x: &[f64]) -> Vec<f64> {
    (0..lay.scale.len())
        .map(|j| match (lay.theta, lay.ord.contains(&j)) {
            (true, true) => 1.0 / cond.sigma[(j, j)].sqrt(),
            (true, false) => 1.0,
            (false, _) => lay.scale[j].at(x),
        })
        .collect()
}

/// The scale factors at `x` (what `~*~` rows report in the theta
/// parameterization).
pub fn scales(model: &Model, lay: &Layout, x: &[f64]) -> Option<Vec<f64>> {
    let (imp, _, _) = conditional(model, lay, x)?;
    Some(deltas(lay, &imp, x))
}

/// The implied statistics of one group in `wls.obs` order.
pub fn implied(model: &Model, lay: &Layout, x: &[f64]) -> Option<DVector<f64>> {
    let p = model.ram.p();
    let (imp, _, _) = conditional(model, lay, x)?;
    let d = deltas(lay, &imp, x);
    let ys: Vec<usize> = (0..p).filter(|j| !lay.x.contains(j)).collect();
    let mut out = Vec::with_capacity(lay.len(p));
    for (e, &(j, _, v)) in lay.th.iter().enumerate() {
        // a continuous variable's entry is minus its intercept
        out.push(if lay.is_mean(e) { -imp.mu[j] } else { (v.at(x) - imp.mu[j]) * d[j] });
    }
    for &k in &lay.x {
        for &j in &ys {
            out.push(imp.b[(j, k)] * d[j]);
        }
    }
    for &j in &lay.num {
        out.push(imp.sigma[(j, j)]);
    }
    for (c, &j) in ys.iter().enumerate() {
        for &i in &ys[c + 1..] {
            out.push(d[i] * d[j] * imp.sigma[(i, j)]);
        }
    }
    out.iter().all(|v| v.is_finite()).then(|| DVector::from_vec(out))
}

/// d sigma / d x of one group by central differences.
pub fn jacobian(model: &Model, lay: &Layout, x: &[f64]) -> Option<DMatrix<f64>> {
    let n = lay.len(model.ram.p());
    let mut jac = DMatrix::zeros(n, x.len());
    let mut xx = x.to_vec();
    for k in 0..x.len() {
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

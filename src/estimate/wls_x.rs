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
//! The Jacobian is analytic (`jacobian`), checked against central
//! differences in the tests.

use super::wls::{Layout, Value};
use crate::model::ram::Implied;
use crate::model::ram::Mat;
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
    let theta = super::wls::delta_residual_variances(lay, x, &imp0)?;
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

/// d sigma / d x of one group, analytically (as `super::wls::jacobian`,
/// with the slopes): with B = (I - A)^-1 and C0, mu0 of the conditional
/// model, a free parameter in
///
/// - A_il changes B by B e_i e_l' B: C0 by B_.i C0_l. + (B_.i C0_l.)', mu0 by
///   B_.i mu0_l and the slopes Pi_.k by B_.i B_lk (covariate k);
/// - S_il changes C0 by B_.i B_.l' + B_.l B_.i' (once when i = l);
/// - m_i changes mu0 by B_.i;
///
/// then the delta parameterization moves theta so that diag(C0) stays
/// 1/Delta^2 over the ordinal items (M dtheta = d(1/Delta^2) - diag(dC0),
/// M_jk = B_jk^2), and the theta parameterization moves Delta_j =
/// 1/sqrt(C0_jj). The statistics follow by the product rule.
pub fn jacobian(model: &Model, lay: &Layout, x: &[f64]) -> Option<DMatrix<f64>> {
    let nx = x.len();
    let p = model.ram.p();
    let n = lay.len(p);
    let (imp, _, _) = conditional(model, lay, x)?;
    let d = deltas(lay, &imp, x);
    let (b, c, bm) = (&imp.b, &imp.c, &imp.bm);
    let ys: Vec<usize> = (0..p).filter(|j| !lay.x.contains(j)).collect();
    let nxs = lay.x.len();
    struct Deriv {
        sig: DMatrix<f64>,
        mu: DVector<f64>,
        pi: DMatrix<f64>,
        delta: DVector<f64>,
    }
    let new = || Deriv {
        sig: DMatrix::zeros(p, p),
        mu: DVector::zeros(p),
        pi: DMatrix::zeros(p, nxs),
        delta: DVector::zeros(p),
    };
    let mut der: Vec<Option<Deriv>> = (0..nx).map(|_| None).collect();
    let ord_diag = |i: usize, l: usize| !lay.theta && i == l && lay.ord.contains(&i);
    for cell in &model.ram.groups[lay.group].cells {
        let Some(k) = cell.x else { continue };
        let (i, l) = (cell.i, cell.j);
        match cell.mat {
            Mat::A => {
                let dk = der[k].get_or_insert_with(new);
                for r in 0..p {
                    let bri = b[(r, i)];
                    if bri == 0.0 {
                        continue;
                    }
                    dk.mu[r] += bri * bm[l];
                    for (kx, &xk) in lay.x.iter().enumerate() {
                        dk.pi[(r, kx)] += bri * b[(l, xk)];
                    }
                }
                for r in 0..p {
                    for t in 0..p {
                        dk.sig[(r, t)] += b[(r, i)] * c[(l, t)] + c[(r, l)] * b[(t, i)];
                    }
                }
            }
            Mat::S if ord_diag(i, l) => {}
            Mat::S => {
                let dk = der[k].get_or_insert_with(new);
                for r in 0..p {
                    for t in 0..p {
                        dk.sig[(r, t)] += if i == l {
                            b[(r, i)] * b[(t, i)]
                        } else {
                            b[(r, i)] * b[(t, l)] + b[(r, l)] * b[(t, i)]
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
            for &j in &lay.ord {
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
        for (kx, &xk) in lay.x.iter().enumerate() {
            for &j in &ys {
                col[e] += dk.pi[(j, kx)] * d[j] + b[(j, xk)] * dk.delta[j];
                e += 1;
            }
        }
        for &j in &lay.num {
            col[e] += dk.sig[(j, j)];
            e += 1;
        }
        for (ci, &j) in ys.iter().enumerate() {
            for &i in &ys[ci + 1..] {
                let sij = imp.sigma[(i, j)];
                col[e] += (dk.delta[i] * d[j] + d[i] * dk.delta[j]) * sij + d[i] * d[j] * dk.sig[(i, j)];
                e += 1;
            }
        }
    }
    jac.iter().all(|v| v.is_finite()).then_some(jac)
}

/// d sigma / d x of one group by central differences (the check of
/// `jacobian` in the tests).
#[cfg(test)]
pub fn jacobian_numeric(model: &Model, lay: &Layout, x: &[f64]) -> Option<DMatrix<f64>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{prepare, FitOptions};
    use std::path::Path;

    /// The analytic Jacobian against central differences at a point away
    /// from the estimates: delta and theta, one and two groups, a direct
    /// effect, continuous indicators and outcomes.
    #[test]
    fn analytic_jacobian_with_covariates_matches_central_differences() {
        for case in [
            "mimic_direct",
            "mimic_groups_eq",
            "mimic_mixed_paths",
            "mimic_mixed_paths_theta",
            "mimic_groups_eq_theta",
        ] {
            let d = Path::new("tests/fixtures/ordinal").join(case);
            let args = std::fs::read_to_string(d.join("args")).unwrap();
            let words: Vec<&str> = args.split_whitespace().collect();
            let val = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1].to_string());
            let mut opt = FitOptions {
                ordered: crate::ordinal::columns::OrderedSpec::parse(
                    &val("--ordered").unwrap().split(',').map(String::from).collect::<Vec<_>>(),
                )
                .unwrap(),
                ..FitOptions::default()
            };
            opt.group = val("--group");
            if let Some(e) = val("--group-equal") {
                opt.group_equal = e.split(',').map(String::from).collect();
            }
            let theta = val("--parameterization").as_deref() == Some("theta");
            if theta {
                opt.parameterization = crate::model::partable::Parameterization::Theta;
            }
            let prep = prepare(&d.join("model.lav"), &d.join("data.csv"), &opt).unwrap();
            let model = &prep.model;
            let nx = model.ram.nx;
            let x: Vec<f64> = (0..nx).map(|k| 0.4 + 0.05 * (k % 7) as f64).collect();
            let xs = &model.ram.x_ov;
            for (g, st) in prep.ordinal.as_ref().unwrap().iter().enumerate() {
                let mut ys = st.ordered.iter();
                let ordered: Vec<bool> = (0..model.ram.p())
                    .map(|j| !xs.contains(&j) && ys.next().copied().unwrap_or(false))
                    .collect();
                let lay = Layout::new(model, g, &ordered, theta).unwrap().conditional(xs);
                let (Some(a), Some(n)) = (jacobian(model, &lay, &x), jacobian_numeric(model, &lay, &x)) else {
                    panic!("{case}: no Jacobian")
                };
                let err = (&a - &n).abs().max();
                assert!(err < 1e-6, "{case} group {g}: analytic and numeric Jacobians differ by {err}");
            }
        }
    }
}

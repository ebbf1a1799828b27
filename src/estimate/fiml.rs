//! Full-information ML (`--missing fiml`, lavaan's `missing = "ml"`): the
//! casewise normal log-likelihood of the incomplete rows, summed by missing-
//! data pattern (`data::patterns`), with the mean structure always on.
//!
//! The objective is scaled like the complete-data discrepancy, so that
//! chi-square = N F at the minimum:
//!
//!   F = sum_g -2 (logl_g - logl_h1_g) / N,
//!   logl_g = sum_p -n_p/2 [ p_o log 2pi + log|Sigma_oo| + tr(K_o (S_p + d_p d_p')) ],
//!
//! with K_o = Sigma_oo^-1, d_p = ybar_p - mu_o and logl_h1_g the EM
//! (saturated) log-likelihood. Its gradient has the complete-data form of
//! `objective::gradient` with, per group,
//!
//!   W = (1/n_g) sum_p n_p [K_o (Sigma_oo - S_p) K_o - K_o d_p d_p' K_o]   (padded with zeros),
//!   k = (1/n_g) sum_p n_p K_o d_p                                         (padded with zeros),
//!
//! in place of K (Sigma - S) K - K d d' K and K d. Fisher scoring uses the
//! complete-data expected information (see `FimlProblem`); the standard
//! errors use the observed information (lavaan's default with missing =
//! "ml"), half the Hessian of F (`observed_information`).
//!
//! fixed.x (lavaan keeps it with missing = "ml"): the covariates' moments are
//! fixed at their sample values (rows missing on a covariate are dropped, so
//! these are also the EM values), and their log-likelihood is subtracted from
//! logl, as lavaan's `lav_mvnorm_missing_loglik_samplestats` does.

use super::objective::{self, jacobian, GroupData};
use super::start;
use super::Estimate;
use crate::data::em::{self, Saturated};
use crate::data::patterns::{sub, Patterns};
use crate::data::{DataError, Dataset, SampleStats};
use crate::model::ram::{Implied, Mat, Ram};
use crate::model::Model;
use argmin::core::{CostFunction, Error, Gradient, Hessian};
use nalgebra::{DMatrix, DVector};

/// What FIML needs besides the EM moments in `GroupData`: per group the
/// patterns, the saturated fit, and the covariates' log-likelihood.
#[derive(Debug, Clone)]
pub struct FimlData {
    pub patterns: Vec<Patterns>,
    pub h1: Vec<Saturated>,
    /// per group, log-likelihood of the fixed.x covariates at their sample
    /// moments (0 without covariates); subtracted from every logl
    pub logl_x: Vec<f64>,
}

impl FimlData {
    pub fn ntotal(&self) -> usize {
        self.patterns.iter().map(|p| p.n).sum()
    }
    /// Unrestricted log-likelihood per group (conditional on the covariates).
    pub fn logl_h1(&self) -> Vec<f64> {
        self.h1.iter().zip(&self.logl_x).map(|(h, lx)| h.logl - lx).collect()
    }
}

/// The groups of a data set prepared for FIML.
pub struct Prepared {
    /// n = rows used, mean and cov = the EM estimates
    pub data: Vec<GroupData>,
    pub fiml: FimlData,
    /// rows dropped: missing on every variable, missing on a covariate
    pub empty: usize,
    pub x_missing: usize,
}

/// Patterns and EM moments of every group. `x_idx` are the fixed.x
/// covariates; `what(g)` names group g of the data file in messages.
pub fn prepare(ds: &Dataset, group_rows: &[Vec<usize>], x_idx: &[usize], what: &dyn Fn(usize) -> String) -> Result<Prepared, DataError> {
    let (mut data, mut patterns, mut h1, mut logl_x) = (vec![], vec![], vec![], vec![]);
    let (mut empty, mut x_missing) = (0, 0);
    for (g, rows) in group_rows.iter().enumerate() {
        let pats = Patterns::new(ds, rows, x_idx);
        empty += pats.empty;
        x_missing += pats.x_missing;
        if pats.n == 0 {
            return Err(DataError(format!(
                "{}: no row has a value on the model's variables{}",
                what(g),
                if x_idx.is_empty() {
                    ""
                } else {
                    " and on all its exogenous covariates"
                }
            )));
        }
        for (k, (nk, _, _)) in pats.available_cases().iter().enumerate() {
            if *nk == 0 {
                return Err(DataError(format!(
                    "{}: column `{}` has no value in any row used; a variable that is never observed cannot be modelled: drop it from the model",
                    what(g),
                    ds.names[k]
                )));
            }
        }
        let sat = em::saturated(&pats, 1e-5, 500);
        let stats = SampleStats {
            nobs: pats.n,
            mean: sat.mean.clone(),
            cov: sat.cov.clone(),
            dropped: pats.empty + pats.x_missing,
        };
        stats.check(&ds.names, &what(g))?;
        logl_x.push(if x_idx.is_empty() {
            0.0
        } else {
            let sxx = sub(&sat.cov, x_idx);
            let px = x_idx.len() as f64;
            let ld = sxx
                .cholesky()
                .map_or(f64::NAN, |c| 2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>());
            -(pats.n as f64) / 2.0 * (px * (2.0 * std::f64::consts::PI).ln() + ld + px)
        });
        data.push(GroupData::new(&stats));
        patterns.push(pats);
        h1.push(sat);
    }
    Ok(Prepared {
        data,
        fiml: FimlData { patterns, h1, logl_x },
        empty,
        x_missing,
    })
}

/// Group g at x: the implied moments and the observed-data log-likelihood
/// (joint, before the covariates' part is subtracted), with the gradient
/// pieces (W, k) of the module docs when asked.
struct GroupEval {
    implied: Implied,
    logl: f64,
    grad: Option<(DMatrix<f64>, DVector<f64>)>,
}

fn eval_group(ram: &Ram, g: usize, x: &[f64], pats: &Patterns, want_grad: bool) -> Option<GroupEval> {
    let p = ram.p();
    let (a, s, m) = ram.matrices(g, x);
    let implied = Implied::new(&a, &s, &m, p)?;
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let mut logl = 0.0;
    let mut w = DMatrix::zeros(p, p);
    let mut kd = DVector::zeros(p);
    for (pat, (k, logdet)) in pats.patterns.iter().zip(pats.inverses(&implied.sigma)?) {
        let o = &pat.obs;
        let d = &pat.mean - DVector::from_iterator(o.len(), o.iter().map(|&i| implied.mu[i]));
        let kdp = &k * &d;
        let np = pat.freq as f64;
        // tr(K S_p) = tr(R K R') and K S_p K = (K R')(K R')' with R'R = S_p
        let kr = &k * pat.root.transpose();
        let trks = kr.component_mul(&pat.root.transpose()).sum();
        logl += -np / 2.0 * (o.len() as f64 * ln2pi + logdet + trks + d.dot(&kdp));
        if want_grad {
            // K (Sigma_oo - S_p) K - K d d' K = K - K S_p K - (K d)(K d)'
            let wp = &k - &kr * kr.transpose() - &kdp * kdp.transpose();
            for (a, &i) in o.iter().enumerate() {
                kd[i] += np * kdp[a];
                for (b, &j) in o.iter().enumerate() {
                    w[(i, j)] += np * wp[(a, b)];
                }
            }
        }
    }
    if !logl.is_finite() {
        return None;
    }
    let n = pats.n as f64;
    Some(GroupEval {
        implied,
        logl,
        grad: want_grad.then(|| (w / n, kd / n)),
    })
}

/// Log-likelihood of each group at x, conditional on the fixed.x covariates
/// (lavaan's logl); `None` outside the admissible region.
pub fn logl(ram: &Ram, x: &[f64], f: &FimlData) -> Option<Vec<f64>> {
    (0..f.patterns.len())
        .map(|g| eval_group(ram, g, x, &f.patterns[g], false).map(|e| e.logl - f.logl_x[g]))
        .collect()
}

/// F = sum_g -2 (logl_g - logl_h1_g) / N, or +inf outside the admissible region.
pub fn objective(ram: &Ram, x: &[f64], f: &FimlData) -> f64 {
    let ntot = f.ntotal() as f64;
    let mut out = 0.0;
    for (g, pats) in f.patterns.iter().enumerate() {
        match eval_group(ram, g, x, pats, false) {
            Some(e) => out += -2.0 * (e.logl - f.h1[g].logl) / ntot,
            None => return f64::INFINITY,
        }
    }
    out
}

/// Gradient of F with respect to the free parameters.
pub fn gradient(ram: &Ram, x: &[f64], f: &FimlData) -> Option<Vec<f64>> {
    let ntot = f.ntotal() as f64;
    let mut grad = vec![0.0; ram.nx];
    for (g, pats) in f.patterns.iter().enumerate() {
        let e = eval_group(ram, g, x, pats, true)?;
        let (w, kd) = e.grad?;
        chain(ram, g, &e.implied, &w, &kd, pats.n as f64 / ntot, &mut grad);
    }
    Some(grad)
}

/// Add w_g Delta' G to `grad`: the chain rule from the derivatives of F_g in
/// (W, k) form (see the module docs) to the RAM cells of group g.
fn chain(ram: &Ram, g: usize, implied: &Implied, w: &DMatrix<f64>, kd: &DVector<f64>, w_g: f64, grad: &mut [f64]) {
    let p = ram.p();
    let fb = implied.b.rows(0, p);
    let fc = implied.c.rows(0, p);
    let u = fb.transpose() * kd;
    let bwb = fb.transpose() * w * fb;
    let bwc = fb.transpose() * w * fc;
    for c in &ram.groups[g].cells {
        let Some(xi) = c.x else { continue };
        let v = match c.mat {
            Mat::A => 2.0 * bwc[(c.i, c.j)] - 2.0 * u[c.i] * implied.bm[c.j],
            Mat::S if c.i == c.j => bwb[(c.i, c.i)],
            Mat::S => 2.0 * bwb[(c.i, c.j)],
            Mat::M => -2.0 * u[c.i],
        };
        grad[xi] += w_g * v;
    }
}

/// sum_p n_p Delta_o' H_p Delta_o over the free parameters, with H_p the
/// pattern's observed information of the saturated model at the implied
/// moments (see `h1`), evaluated through Gram matrices of the rank-two
/// Jacobian (dSigma_k = a_k b_k' + b_k a_k'):
///
///   1/2 tr(dSigma_k A dSigma_l K) + r'dSigma_k K dmu_l + r'dSigma_l K dmu_k + dmu_k'K dmu_l
///
/// with K = Sigma_oo^-1, r = K (ybar_p - mu_o), A = K (2 T - Sigma_oo) K and
/// T = S_p + (ybar_p - mu_o)(ybar_p - mu_o)'.
///
/// `expected`: the expectation of the same under the model (T = Sigma_oo,
/// so A = K, and r = 0): lavaan's structured expected information with
/// missing = "ml", 1/2 tr(dSigma_k K dSigma_l K) + dmu_k'K dmu_l per row.
fn pattern_information(ram: &Ram, g: usize, implied: &Implied, pats: &Patterns, expected: bool) -> Option<DMatrix<f64>> {
    let jac = jacobian(ram, g, implied);
    let q = jac.cols.len();
    let mut block = DMatrix::<f64>::zeros(q, q);
    for (pat, (k, _)) in pats.patterns.iter().zip(pats.inverses(&implied.sigma)?) {
        let o = &pat.obs;
        let pa = jac.a.select_rows(o.iter());
        let pb = jac.b.select_rows(o.iter());
        let pm = jac.dmu.select_rows(o.iter());
        let (kpa, kpb, kpm) = (&k * &pa, &k * &pb, &k * &pm);
        let gaa = pa.transpose() * &kpa;
        let gbb = pb.transpose() * &kpb;
        let gab = pa.transpose() * &kpb;
        let gmm = pm.transpose() * &kpm;
        let np = pat.freq as f64;
        let (r, a) = if expected {
            (DVector::zeros(o.len()), k.clone())
        } else {
            let dev = &pat.mean - DVector::from_iterator(o.len(), o.iter().map(|&i| implied.mu[i]));
            let t = (&pat.cov + &dev * dev.transpose()) * 2.0 - sub(&implied.sigma, o);
            (&k * &dev, &k * t * &k)
        };
        let (apa, apb) = (&a * &pa, &a * &pb);
        let (aaa, abb, aab) = (pa.transpose() * &apa, pb.transpose() * &apb, pa.transpose() * &apb);
        let (gbm, gam) = (pb.transpose() * &kpm, pa.transpose() * &kpm);
        let (ra, rb) = (pa.transpose() * &r, pb.transpose() * &r);
        let covcov =
            (aab.transpose().component_mul(&gab) + abb.component_mul(&gaa) + aaa.component_mul(&gbb) + aab.component_mul(&gab.transpose()))
                * 0.5;
        let cross = DMatrix::from_fn(q, q, |kk, l| ra[kk] * gbm[(kk, l)] + rb[kk] * gam[(kk, l)]);
        block += (covcov + &cross + cross.transpose() + gmm) * np;
    }
    let mut out = DMatrix::zeros(ram.nx, ram.nx);
    for kk in 0..q {
        for l in 0..q {
            out[(jac.cols[kk].1, jac.cols[l].1)] += block[(kk, l)];
        }
    }
    Some(out)
}

/// Unit observed information: half the Hessian of F. With s = (mu, vech
/// Sigma) and G = dF/ds, the Hessian is Delta' (d2F/ds2) Delta + sum_k G_k
/// d2s_k/dtheta2: the first term analytic (twice the saturated model's
/// observed information at the implied moments, `pattern_information`), the
/// second a five-point central difference of Delta(theta)' G with G held at
/// the estimate (cheap: no pass over the data).
pub fn observed_information(ram: &Ram, x: &[f64], f: &FimlData) -> Option<DMatrix<f64>> {
    let ntot = f.ntotal() as f64;
    let nx = x.len();
    let mut h = DMatrix::zeros(nx, nx);
    let mut pieces = Vec::with_capacity(f.patterns.len());
    for (g, pats) in f.patterns.iter().enumerate() {
        let e = eval_group(ram, g, x, pats, true)?;
        h += pattern_information(ram, g, &e.implied, pats, false)? * (2.0 / ntot);
        pieces.push(e.grad?);
    }
    for j in 0..nx {
        let step = 1e-4 * x[j].abs().max(1.0);
        let at = |t: f64| {
            let mut y = x.to_vec();
            y[j] += t * step;
            let mut out = vec![0.0; nx];
            for (g, (w, kd)) in pieces.iter().enumerate() {
                let (a, s, m) = ram.matrices(g, &y);
                let implied = Implied::new(&a, &s, &m, ram.p())?;
                chain(ram, g, &implied, w, kd, f.patterns[g].n as f64 / ntot, &mut out);
            }
            Some(out)
        };
        let (l2, l1, r1, r2) = (at(-2.0)?, at(-1.0)?, at(1.0)?, at(2.0)?);
        for i in 0..nx {
            h[(i, j)] += (l2[i] - 8.0 * l1[i] + 8.0 * r1[i] - r2[i]) / (12.0 * step);
        }
    }
    Some((&h + h.transpose()) * 0.25)
}

/// Unit expected information under FIML (lavaan's information = "expected"
/// with missing = "ml", h1.information = "structured"): sum over the
/// patterns of n_p Delta_o' E_p Delta_o / N, E_p the expected information of
/// the pattern's observed variables at the implied moments. Used to check
/// the observed-information standard errors (`inference::fiml`).
pub fn expected_information(ram: &Ram, x: &[f64], f: &FimlData) -> Option<DMatrix<f64>> {
    let ntot = f.ntotal() as f64;
    let mut h = DMatrix::zeros(x.len(), x.len());
    for (g, pats) in f.patterns.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let implied = Implied::new(&a, &s, &m, ram.p())?;
        h += pattern_information(ram, g, &implied, pats, true)? / ntot;
    }
    Some((&h + h.transpose()) * 0.5)
}

/// The observed information by a five-point central difference of the
/// analytic gradient (as lavaan's `lav_model_hessian`): slow, kept to check
/// `observed_information`.
pub fn observed_information_numeric(ram: &Ram, x: &[f64], f: &FimlData) -> Option<DMatrix<f64>> {
    let nx = x.len();
    let mut h = DMatrix::zeros(nx, nx);
    for j in 0..nx {
        let step = 1e-4 * x[j].abs().max(1.0);
        let at = |t: f64| {
            let mut y = x.to_vec();
            y[j] += t * step;
            gradient(ram, &y, f)
        };
        let (l2, l1, r1, r2) = (at(-2.0)?, at(-1.0)?, at(1.0)?, at(2.0)?);
        for i in 0..nx {
            h[(i, j)] = (l2[i] - 8.0 * l1[i] + 8.0 * r1[i] - r2[i]) / (12.0 * step);
        }
    }
    Some((&h + h.transpose()) * 0.25)
}

/// The FIML problem in argmin's terms. The Hessian for Fisher scoring is
/// twice the complete-data expected information at the implied moments
/// (`objective::expected_information`): it ignores that values are missing,
/// so the steps are somewhat too short and convergence is linear at the rate
/// of the fraction of missing information, a few more iterations than with
/// the missing-data information, each far cheaper (no pass over the patterns
/// and no q x q work per pattern).
pub struct FimlProblem<'a> {
    pub ram: &'a Ram,
    /// the groups' EM moments (only n_g is used)
    pub data: &'a [GroupData],
    pub fiml: &'a FimlData,
}

impl CostFunction for FimlProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok(objective(self.ram, x, self.fiml))
    }
}

impl Gradient for FimlProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        gradient(self.ram, x, self.fiml).ok_or_else(|| Error::msg("the implied covariance matrix is not positive definite"))
    }
}

impl Hessian for FimlProblem<'_> {
    type Param = Vec<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, x: &Vec<f64>) -> Result<DMatrix<f64>, Error> {
        objective::expected_information(self.ram, x, self.data)
            .map(|i| i * 2.0)
            .ok_or_else(|| Error::msg("the implied covariance matrix is not positive definite"))
    }
}

/// Fisher scoring on F from `x0`.
pub fn minimize(ram: &Ram, data: &[GroupData], fiml: &FimlData, x0: Vec<f64>, max_iter: u64) -> Estimate {
    super::constrained::solve_for(ram, FimlProblem { ram, data, fiml }, x0, max_iter, 1e-9, |x| {
        objective(ram, x, fiml)
    })
}

/// Estimate by FIML: lavaan-style starts from the EM moments (in `data`),
/// then the simple ones if that fails.
pub fn estimate(model: &Model, data: &[GroupData], fiml: &FimlData, max_iter: u64) -> Estimate {
    let first = minimize(&model.ram, data, fiml, start::default_start(model, data, false), max_iter);
    if first.converged {
        return first;
    }
    let second = minimize(&model.ram, data, fiml, start::default_start(model, data, true), max_iter);
    if second.converged {
        second
    } else {
        first
    }
}

impl super::Scoring for FimlProblem<'_> {
    type Eval = Vec<f64>;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<Vec<f64>>), argmin::core::Error> {
        use argmin::core::CostFunction;
        let f = self.cost(&x.to_vec())?;
        Ok((f, f.is_finite().then(|| x.to_vec())))
    }
    fn gradient_hessian(&self, x: &Vec<f64>) -> Result<(Vec<f64>, nalgebra::DMatrix<f64>), argmin::core::Error> {
        use argmin::core::{Gradient, Hessian};
        Ok((self.gradient(x)?, self.hessian(x)?))
    }
}

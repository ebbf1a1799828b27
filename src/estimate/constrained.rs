//! Estimation under general constraints (`crate::model::constraints`), for
//! every estimator alike: each wraps its `Scoring` problem and calls
//! `solve_for` with its model's RAM matrices.
//!
//! - Linear equalities only: Fisher scoring in the reduced parameters z of
//!   x = k0 + K z (lavaan's K matrix): the gradient is K'g, the Hessian
//!   K'HK, and the start is the point of the constraint set closest to the
//!   usual start.
//! - Nonlinear equalities or inequalities: an augmented Lagrangian (the
//!   method of lavaan's `nlminb.constr`): F(x) + sum lambda_i c_i(x) +
//!   mu/2 sum c_i(x)^2 for the equalities, and for each inequality h(x) >= 0
//!   the term -lambda h + mu/2 h^2 while mu h < lambda, -lambda^2 / (2 mu)
//!   beyond (Rockafellar's form). Each inner problem is solved by Fisher
//!   scoring with the Gauss-Newton Hessian H + mu J'J; after it the
//!   multipliers move (lambda + mu c, max(0, lambda - mu h)) and mu grows
//!   tenfold when the violation did not shrink to a quarter.

use super::{solve, Estimate, Scoring};
use crate::model::constraints::{Constraints, LinearEq};
use crate::model::Ram;
use argmin::core::Error;
use nalgebra::{DMatrix, DVector};

/// Fisher scoring in the reduced parameters of linear equalities.
struct Reduced<'a, P> {
    inner: &'a P,
    eq: &'a LinearEq,
}

impl<P: Scoring> Scoring for Reduced<'_, P> {
    type Eval = P::Eval;
    fn evaluate(&self, z: &[f64]) -> Result<(f64, Option<P::Eval>), Error> {
        self.inner.evaluate(&self.eq.expand(z))
    }
    fn gradient_hessian(&self, e: &P::Eval) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        let (g, h) = self.inner.gradient_hessian(e)?;
        let k = &self.eq.k;
        let gz = k.transpose() * DVector::from_vec(g);
        Ok((gz.iter().copied().collect(), k.transpose() * h * k))
    }
}

/// The augmented Lagrangian of one outer iteration.
struct Penalized<'a, P> {
    inner: &'a P,
    cons: &'a Constraints,
    lambda_eq: &'a [f64],
    lambda_in: &'a [f64],
    mu: f64,
}

impl<P: Scoring> Penalized<'_, P> {
    /// The penalty at x with its gradient and Gauss-Newton Hessian.
    fn penalty(&self, x: &[f64]) -> Option<(f64, Vec<f64>, DMatrix<f64>)> {
        let v = self.cons.values(x).ok()?;
        let n = x.len();
        let (mut f, mut g, mut h) = (0.0, vec![0.0; n], DMatrix::zeros(n, n));
        let mut add = |d: &[f64], w: f64, curv: f64| {
            for i in 0..n {
                g[i] += w * d[i];
                if curv != 0.0 && d[i] != 0.0 {
                    for j in 0..n {
                        h[(i, j)] += curv * d[i] * d[j];
                    }
                }
            }
        };
        for (c, l) in v.eq.iter().zip(self.lambda_eq) {
            f += l * c.v + 0.5 * self.mu * c.v * c.v;
            add(&c.d, l + self.mu * c.v, self.mu);
        }
        for (c, l) in v.ins.iter().zip(self.lambda_in) {
            if self.mu * c.v < *l {
                f += -l * c.v + 0.5 * self.mu * c.v * c.v;
                add(&c.d, self.mu * c.v - l, self.mu);
            } else {
                f -= l * l / (2.0 * self.mu);
            }
        }
        Some((f, g, h))
    }
}

impl<P: Scoring> Scoring for Penalized<'_, P> {
    type Eval = (P::Eval, Vec<f64>);
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<Self::Eval>), Error> {
        let (f, e) = self.inner.evaluate(x)?;
        let Some(e) = e.filter(|_| f.is_finite()) else {
            return Ok((f64::INFINITY, None));
        };
        match self.penalty(x) {
            Some((p, _, _)) => Ok((f + p, Some((e, x.to_vec())))),
            None => Ok((f64::INFINITY, None)),
        }
    }
    fn gradient_hessian(&self, e: &Self::Eval) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        let (mut g, mut h) = self.inner.gradient_hessian(&e.0)?;
        let (_, pg, ph) = self.penalty(&e.1).ok_or_else(|| Error::msg("a constraint cannot be evaluated"))?;
        for (a, b) in g.iter_mut().zip(&pg) {
            *a += b;
        }
        h += ph;
        Ok((g, h))
    }
}

/// Run Fisher scoring on `problem` from `x0` under the constraints of
/// `ram` (plain `solve` when it has none); `fmin` is the discrepancy.
pub fn solve_for<P: Scoring>(ram: &Ram, problem: P, x0: Vec<f64>, max_iter: u64, xtol: f64, fmin: impl Fn(&[f64]) -> f64) -> Estimate {
    let Some(cons) = ram.constraints.as_deref() else {
        return solve(problem, x0, max_iter, xtol, fmin);
    };
    if let (Some(eq), true) = (&cons.linear, cons.ins.is_empty()) {
        let z0 = eq.reduce(&x0);
        let mut est = solve(Reduced { inner: &problem, eq }, z0, max_iter, xtol, |z| fmin(&eq.expand(z)));
        est.x = eq.expand(&est.x);
        return est;
    }
    augmented_lagrangian(cons, &problem, x0, max_iter, xtol, fmin)
}

/// The largest violation of the constraints at x (equalities |c|,
/// inequalities max(0, -h)).
fn violation(cons: &Constraints, x: &[f64]) -> f64 {
    match cons.values(x) {
        Ok(v) => {
            v.eq.iter()
                .map(|c| c.v.abs())
                .chain(v.ins.iter().map(|h| (-h.v).max(0.0)))
                .fold(0.0, f64::max)
        }
        Err(_) => f64::INFINITY,
    }
}

fn augmented_lagrangian<P: Scoring>(
    cons: &Constraints,
    problem: &P,
    x0: Vec<f64>,
    max_iter: u64,
    xtol: f64,
    fmin: impl Fn(&[f64]) -> f64,
) -> Estimate {
    let mut lambda_eq = vec![0.0; cons.eqs.len()];
    let mut lambda_in = vec![0.0; cons.ins.len()];
    let mut mu = 10.0;
    let mut x = x0;
    let mut iterations = 0;
    let mut last = f64::INFINITY;
    let mut est = None;
    for _ in 0..60 {
        let pen = Penalized {
            inner: problem,
            cons,
            lambda_eq: &lambda_eq,
            lambda_in: &lambda_in,
            mu,
        };
        let budget = max_iter.saturating_sub(iterations).max(1);
        let e = solve(pen, x.clone(), budget, xtol, |x| fmin(x));
        iterations += e.iterations;
        if !e.fmin.is_finite() {
            return Estimate { iterations, ..e };
        }
        x = e.x.clone();
        let viol = violation(cons, &x);
        let step_small = est
            .as_ref()
            .is_some_and(|p: &Estimate| p.x.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) < 1e-9);
        est = Some(e);
        if viol < 1e-10 || (viol < 1e-7 && step_small) {
            break;
        }
        let Ok(v) = cons.values(&x) else { break };
        for (l, c) in lambda_eq.iter_mut().zip(&v.eq) {
            *l += mu * c.v;
        }
        for (l, h) in lambda_in.iter_mut().zip(&v.ins) {
            *l = (*l - mu * h.v).max(0.0);
        }
        if viol > 0.25 * last {
            mu = (mu * 10.0).min(1e10);
        }
        last = viol;
        if iterations >= max_iter {
            break;
        }
    }
    let mut est = est.expect("at least one outer iteration");
    cons.clamp_bounds(&mut x);
    est.x = x.clone();
    est.iterations = iterations;
    est.fmin = fmin(&x);
    let viol = violation(cons, &x);
    if viol > 1e-6 {
        est.converged = false;
        est.message = Some(format!(
            "the constraints could not be satisfied (largest violation {viol:.3e}): they may have no solution together with the model"
        ));
    }
    est
}

/// The constrained inverse K (K' M K)^-1 K' of a matrix M at the estimate
/// x, where K spans the directions the constraints leave free
/// (`Constraints::basis_at`); `invert` inverts the reduced matrix. Plain
/// `invert(M)` without constraints, or when none binds at x.
pub fn constrained_inverse(
    ram: &Ram,
    x: &[f64],
    m: &DMatrix<f64>,
    invert: impl FnOnce(&DMatrix<f64>) -> Option<DMatrix<f64>>,
) -> Option<DMatrix<f64>> {
    match ram.constraints.as_deref().and_then(|c| c.basis_at(x)) {
        Some(k) => {
            let r = invert(&(k.transpose() * m * &k))?;
            Some(&k * r * k.transpose())
        }
        None => invert(m),
    }
}

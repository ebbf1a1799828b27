//! Least-squares estimators, GLS and ULS, as lavaan defines them: with s the
//! sample moments (covariances with divisor N - 1, as lavaan uses for these
//! estimators; means with a mean structure), sigma(theta) the implied ones
//! and V the weight,
//!
//!   F = sum_g (n_g/N) (s - sigma)' V (s - sigma) (minimised),
//!   chi-square = sum_g (n_g - 1) (s - sigma)' V (s - sigma) = 2 N fmin,
//!
//! V = 1/2 D'(S^-1 (x) S^-1) D (and S^-1 for the means) for GLS, so that
//! fmin = 1/2 tr[(S^-1 (S - Sigma))^2]; V = I for ULS. The gradient is
//! -2 Delta' V (s - sigma) and the Gauss-Newton Hessian 2 Delta' V Delta:
//! the same Fisher-scoring solver as ML minimises it. Standard errors
//! ("standard"): (Delta' V Delta)^-1 / (N - G), as lavaan.

use super::objective::GroupData;
use crate::inference::robust::{delta, h1_weight, moment_elems};
use crate::model::ram::{Implied, Ram};
use argmin::core::{CostFunction, Error, Gradient, Hessian};
use nalgebra::{DMatrix, DVector};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LsKind {
    Gls,
    Uls,
}

/// The sample side of a least-squares fit of one group.
pub struct LsGroup {
    pub obs: DVector<f64>,
    pub weight: DMatrix<f64>,
    /// the group's moments with the N - 1 covariance (for the model's helpers)
    pub data: GroupData,
    pub uls: bool,
}

pub struct LsProblem<'a> {
    pub ram: &'a Ram,
    pub groups: &'a [LsGroup],
    pub elems: Vec<(usize, usize, bool)>,
}

/// Sample moments and weights with lavaan's N - 1 covariance.
pub fn ls_groups(ram: &Ram, data: &[GroupData], kind: LsKind) -> Option<Vec<LsGroup>> {
    let elems = moment_elems(ram.p(), ram.meanstructure);
    data.iter()
        .map(|d| {
            let n = d.n as f64;
            let cov = &d.cov * (n / (n - 1.0));
            let obs = DVector::from_iterator(elems.len(), elems.iter().map(|&(i, j, m)| if m { d.mean[i] } else { cov[(i, j)] }));
            let weight = match kind {
                LsKind::Gls => h1_weight(&cov, &elems, &[])?,
                LsKind::Uls => DMatrix::identity(elems.len(), elems.len()),
            };
            let mut data = d.clone();
            data.cov = cov;
            Some(LsGroup {
                obs,
                weight,
                data,
                uls: kind == LsKind::Uls,
            })
        })
        .collect()
}

impl LsProblem<'_> {
    fn weights(&self) -> Vec<f64> {
        let n: f64 = self.groups.iter().map(|g| g.data.n as f64).sum();
        self.groups.iter().map(|g| g.data.n as f64 / n).collect()
    }

    fn residual(&self, g: usize, x: &[f64]) -> Option<DVector<f64>> {
        let (a, s, m) = self.ram.matrices(g, x);
        let imp = Implied::new(&a, &s, &m, self.ram.p())?;
        let est = DVector::from_iterator(
            self.elems.len(),
            self.elems.iter().map(|&(i, j, mm)| if mm { imp.mu[i] } else { imp.sigma[(i, j)] }),
        );
        Some(&self.groups[g].obs - est)
    }

    /// lavaan's test statistic: sum_g (n_g - 1) F_g (F_g = r'V r).
    pub fn chisq(&self, x: &[f64]) -> f64 {
        let mut t = 0.0;
        for (g, grp) in self.groups.iter().enumerate() {
            match self.residual(g, x) {
                Some(r) => t += (grp.data.n as f64 - 1.0) * (r.transpose() * &grp.weight * &r)[(0, 0)],
                None => return f64::NAN,
            }
        }
        t
    }

    pub fn fmin(&self, x: &[f64]) -> f64 {
        let w = self.weights();
        let mut f = 0.0;
        for (g, grp) in self.groups.iter().enumerate() {
            match self.residual(g, x) {
                Some(r) => f += w[g] * (r.transpose() * &grp.weight * &r)[(0, 0)],
                None => return f64::INFINITY,
            }
        }
        f
    }

    /// Gauss-Newton pieces: gradient -2 sum f_g Delta'V r and sum f_g Delta'V Delta.
    pub fn pieces(&self, x: &[f64]) -> Option<(Vec<f64>, DMatrix<f64>)> {
        let w = self.weights();
        let mut grad = DVector::zeros(self.ram.nx);
        let mut info = DMatrix::zeros(self.ram.nx, self.ram.nx);
        for (g, grp) in self.groups.iter().enumerate() {
            let r = self.residual(g, x)?;
            let dl = delta(self.ram, g, x, &grp.data, &self.elems)?;
            let vd = &grp.weight * &dl;
            grad -= vd.transpose() * &r * (2.0 * w[g]);
            info += dl.transpose() * vd * w[g];
        }
        Some((grad.iter().copied().collect(), info))
    }
}

impl CostFunction for LsProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.fmin(x))
    }
}

impl Gradient for LsProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        self.pieces(x)
            .map(|p| p.0)
            .ok_or_else(|| Error::msg("the implied moments cannot be computed"))
    }
}

impl Hessian for LsProblem<'_> {
    type Param = Vec<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, x: &Vec<f64>) -> Result<DMatrix<f64>, Error> {
        self.pieces(x)
            .map(|p| p.1 * 2.0)
            .ok_or_else(|| Error::msg("the implied moments cannot be computed"))
    }
}

/// Minimise from `x0`.
pub fn minimize(ram: &Ram, groups: &[LsGroup], x0: Vec<f64>, max_iter: u64) -> super::Estimate {
    let problem = |elems| LsProblem { ram, groups, elems };
    let check = problem(moment_elems(ram.p(), ram.meanstructure));
    super::constrained::solve_for(ram, problem(moment_elems(ram.p(), ram.meanstructure)), x0, max_iter, 1e-9, |x| {
        check.fmin(x)
    })
}

/// Estimate from the default start, falling back to the simple one (as ML).
pub fn estimate(model: &crate::model::Model, groups: &[LsGroup], data: &[GroupData], max_iter: u64) -> super::Estimate {
    let x0 = super::start::default_start(model, data, false);
    let x1 = super::start::default_start(model, data, true);
    super::with_fallback(|x, n| minimize(&model.ram, groups, x, n), x0, x1, max_iter)
}

/// vcov for se = "standard": (sum_g f_g Delta'V Delta)^-1 / (N - G).
pub fn vcov(ram: &Ram, groups: &[LsGroup], x: &[f64]) -> Option<DMatrix<f64>> {
    let p = LsProblem {
        ram,
        groups,
        elems: moment_elems(ram.p(), ram.meanstructure),
    };
    let (_, info) = p.pieces(x)?;
    let n: f64 = groups.iter().map(|g| g.data.n as f64).sum();
    super::constrained::constrained_inverse(ram, x, &info, crate::inference::robust::inverse).map(|i| i / (n - groups.len() as f64))
}

impl super::Scoring for LsProblem<'_> {
    type Eval = Vec<f64>;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<Vec<f64>>), Error> {
        let f = self.fmin(x);
        Ok((f, f.is_finite().then(|| x.to_vec())))
    }
    fn gradient_hessian(&self, x: &Vec<f64>) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        self.pieces(x)
            .map(|(g, h)| (g, h * 2.0))
            .ok_or_else(|| Error::msg("the implied moments cannot be computed"))
    }
}

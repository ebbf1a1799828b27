//! Estimation: minimise the ML discrepancy (`objective`) from lavaan-style
//! starting values (`start`). The problem is stated through argmin's traits
//! (cost, gradient, Hessian = twice the expected information) and solved by
//! Fisher scoring with step halving, written as an argmin `Solver`: near the
//! optimum it converges in a handful of steps, and the step halving keeps
//! Sigma positive definite all the way. If the first attempt fails, a second
//! one starts from lavaan's "simple" values.

pub mod fiml;
pub mod h1;
pub mod ls;
pub mod objective;
pub mod start;

use argmin::core::{
    CostFunction, Error, Executor, Gradient, Hessian, IterState, Problem, Solver, State, TerminationReason, TerminationStatus, KV,
};
use nalgebra::{DMatrix, DVector};
use objective::GroupData;

use crate::model::{Model, Ram};

/// The ML problem in argmin's terms.
pub struct MlProblem<'a> {
    pub ram: &'a Ram,
    pub data: &'a [GroupData],
}

impl CostFunction for MlProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok(objective::objective(self.ram, x, self.data))
    }
}

impl Gradient for MlProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        objective::gradient(self.ram, x, self.data).ok_or_else(|| Error::msg("the implied covariance matrix is not positive definite"))
    }
}

impl Hessian for MlProblem<'_> {
    type Param = Vec<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, x: &Vec<f64>) -> Result<DMatrix<f64>, Error> {
        objective::expected_information(self.ram, x, self.data)
            .map(|i| i * 2.0)
            .ok_or_else(|| Error::msg("the implied covariance matrix is not positive definite"))
    }
}

type St = IterState<Vec<f64>, Vec<f64>, (), DMatrix<f64>, (), f64>;

/// Fisher scoring: x <- x - alpha H^-1 g with H the expected Hessian and
/// alpha halved until the discrepancy goes down.
pub struct FisherScoring {
    /// stop when the largest change in a parameter is below this
    pub xtol: f64,
    last_step: f64,
    stalled: bool,
}

impl FisherScoring {
    pub fn new(xtol: f64) -> FisherScoring {
        FisherScoring {
            xtol,
            last_step: f64::INFINITY,
            stalled: false,
        }
    }
}

/// Solve H s = -g, with a ridge when H is singular or indefinite.
fn newton_step(h: &DMatrix<f64>, g: &[f64]) -> Option<DVector<f64>> {
    let n = g.len();
    let gv = DVector::from_column_slice(g);
    let scale = (0..n).map(|i| h[(i, i)].abs()).fold(0.0, f64::max).max(1e-12);
    let mut ridge = 0.0;
    for _ in 0..12 {
        let hr = h + DMatrix::identity(n, n) * ridge;
        if let Some(c) = hr.cholesky() {
            return Some(-c.solve(&gv));
        }
        ridge = if ridge == 0.0 { 1e-10 * scale } else { ridge * 10.0 };
    }
    None
}

impl<O> Solver<O, St> for FisherScoring
where
    O: CostFunction<Param = Vec<f64>, Output = f64>
        + Gradient<Param = Vec<f64>, Gradient = Vec<f64>>
        + Hessian<Param = Vec<f64>, Hessian = DMatrix<f64>>,
{
    const NAME: &'static str = "Fisher scoring";

    fn init(&mut self, problem: &mut Problem<O>, state: St) -> Result<(St, Option<KV>), Error> {
        let x = state.get_param().ok_or_else(|| Error::msg("no starting values"))?.clone();
        let f = problem.cost(&x)?;
        if !f.is_finite() {
            return Err(Error::msg(
                "the starting values give an implied covariance matrix that is not positive definite",
            ));
        }
        Ok((state.param(x).cost(f), None))
    }

    fn next_iter(&mut self, problem: &mut Problem<O>, mut state: St) -> Result<(St, Option<KV>), Error> {
        let x = state.take_param().ok_or_else(|| Error::msg("lost the parameters"))?;
        let f0 = state.get_cost();
        let g = problem.gradient(&x)?;
        let h = problem.hessian(&x)?;
        let s = newton_step(&h, &g).ok_or_else(|| Error::msg("the information matrix is singular"))?;
        let slope: f64 = s.iter().zip(&g).map(|(a, b)| a * b).sum();
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let xn: Vec<f64> = x.iter().zip(s.iter()).map(|(a, b)| a + alpha * b).collect();
            let fnew = problem.cost(&xn)?;
            if fnew.is_finite() && fnew <= f0 + 1e-4 * alpha * slope.min(0.0) + 1e-13 * (1.0 + f0.abs()) {
                accepted = Some((xn, fnew));
                break;
            }
            alpha *= 0.5;
        }
        match accepted {
            Some((xn, fnew)) => {
                self.last_step = s.iter().map(|v| (alpha * v).abs()).fold(0.0, f64::max);
                Ok((state.param(xn).cost(fnew).gradient(g), None))
            }
            None => {
                self.stalled = true;
                self.last_step = 0.0;
                Ok((state.param(x).cost(f0).gradient(g), None))
            }
        }
    }

    fn terminate(&mut self, state: &St) -> TerminationStatus {
        if self.stalled {
            // no step lowers F: converged if the gradient is negligible
            let gmax = state
                .get_gradient()
                .map_or(f64::INFINITY, |g| g.iter().fold(0.0, |m, v| f64::max(m, v.abs())));
            return if gmax < 1e-5 {
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            } else {
                TerminationStatus::Terminated(TerminationReason::SolverExit("no step lowers the discrepancy".into()))
            };
        }
        if self.last_step < self.xtol {
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        TerminationStatus::NotTerminated
    }
}

#[derive(Debug, Clone)]
pub struct Estimate {
    pub x: Vec<f64>,
    /// F = sum_g (n_g/N) F_g at the estimate
    pub fmin: f64,
    pub iterations: u64,
    pub converged: bool,
    /// why it did not converge, in plain words
    pub message: Option<String>,
}

/// Run the optimizer from `x0`.
pub fn minimize(ram: &Ram, data: &[GroupData], x0: Vec<f64>, max_iter: u64) -> Estimate {
    minimize_tol(ram, data, x0, max_iter, 1e-9)
}

/// Run the optimizer from `x0`, converged when no parameter moves by more
/// than `xtol` (the bootstrap's draws need less precision than a fit).
pub fn minimize_tol(ram: &Ram, data: &[GroupData], x0: Vec<f64>, max_iter: u64, xtol: f64) -> Estimate {
    let problem = MlProblem { ram, data };
    let res = Executor::new(problem, FisherScoring::new(xtol))
        .configure(|s| s.param(x0.clone()).max_iters(max_iter))
        .run();
    match res {
        Ok(r) => {
            let st = r.state();
            let reason = st.get_termination_reason().cloned();
            let x = st.get_best_param().or(st.get_param()).cloned().unwrap_or(x0);
            let fmin = objective::objective(ram, &x, data);
            let converged = matches!(reason, Some(TerminationReason::SolverConverged)) && fmin.is_finite();
            let message = match reason {
                Some(TerminationReason::SolverConverged) => None,
                Some(TerminationReason::MaxItersReached) => Some(format!("the optimizer reached its limit of {max_iter} iterations")),
                Some(r) => Some(r.text().to_string()),
                None => Some("the optimizer stopped for an unknown reason".into()),
            };
            Estimate {
                x,
                fmin,
                iterations: st.get_iter(),
                converged,
                message,
            }
        }
        Err(e) => Estimate {
            x: x0,
            fmin: f64::NAN,
            iterations: 0,
            converged: false,
            message: Some(e.to_string()),
        },
    }
}

/// Estimate the model: default starts, then the simple ones if that fails.
pub fn estimate(model: &Model, data: &[GroupData], max_iter: u64) -> Estimate {
    let x0 = start::default_start(model, data, false);
    let first = minimize(&model.ram, data, x0, max_iter);
    if first.converged {
        return first;
    }
    let x1 = start::default_start(model, data, true);
    let second = minimize(&model.ram, data, x1, max_iter);
    if second.converged {
        second
    } else {
        first
    }
}

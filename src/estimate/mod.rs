//! Estimation: minimise the ML discrepancy (`objective`) from lavaan-style
//! starting values (`start`). The problem is stated through argmin's traits
//! (cost, gradient, Hessian = twice the expected information) and solved by
//! Fisher scoring with step halving, written as an argmin `Solver`: near the
//! optimum it converges in a handful of steps, and the step halving keeps
//! Sigma positive definite all the way. A run whose steps stop shrinking is
//! stopped as stagnant, and a default start not converged after
//! `PROBE_ITER` iterations gives way to lavaan's "simple" values
//! (`with_fallback`), so a stuck run never burns the whole iteration cap.
//!
//! The solver asks its problem for one evaluation per point (`Scoring`):
//! the point a line search accepts is not evaluated again for the gradient
//! and the information of the next step.

pub mod chol;
pub mod constrained;
pub mod fiml;
pub mod h1;
pub mod ls;
pub mod objective;
pub mod start;
pub mod wls;
pub mod wls_x;

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

/// What Fisher scoring needs: an evaluation per point (its cost, +inf
/// outside the admissible region, and what the derivatives need), and the
/// gradient and expected Hessian from an evaluation.
pub trait Scoring {
    type Eval;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<Self::Eval>), Error>;
    fn gradient_hessian(&self, e: &Self::Eval) -> Result<(Vec<f64>, DMatrix<f64>), Error>;
    /// From how many parameters on a block-diagonal Hessian is solved block
    /// by block (`BLOCKS_FROM`); a problem whose Hessian is block diagonal by
    /// construction says so with a smaller number.
    fn blocks_from(&self) -> usize {
        BLOCKS_FROM
    }
}

impl Scoring for MlProblem<'_> {
    type Eval = objective::Evaluation;
    fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<objective::Evaluation>), Error> {
        Ok(match objective::evaluate(self.ram, x, self.data) {
            Some(e) => (e.f, Some(e)),
            None => (f64::INFINITY, None),
        })
    }
    fn gradient_hessian(&self, e: &objective::Evaluation) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
        let g = objective::gradient_at(self.ram, self.data, e);
        let h = objective::information_at(self.ram, self.data, e) * 2.0;
        Ok((g, h))
    }
}

type St = IterState<Vec<f64>, Vec<f64>, (), DMatrix<f64>, (), f64>;

/// Fisher scoring: x <- x - alpha H^-1 g with H the expected Hessian and
/// alpha halved until the discrepancy goes down.
pub struct FisherScoring<E> {
    /// stop when the largest change in a parameter is below this
    pub xtol: f64,
    last_step: f64,
    stalled: bool,
    /// the evaluation at the current point
    current: Option<E>,
    /// stagnation watch: the smallest full scoring step so far (largest
    /// absolute change it asks for) and the iterations since it last
    /// shrank by `STAGNATION_SHRINK`
    best_step: f64,
    since_best: u64,
}

/// A run whose full scoring step has not shrunk by this factor for
/// `STAGNATION_WINDOW` iterations is stagnant: drifting along a ridge or
/// towards an infinite estimate. Converging runs shrink it every few
/// iterations (quadratically near the optimum); a linear rate slow enough
/// to miss this needs far more iterations than the default cap of 10,000.
const STAGNATION_SHRINK: f64 = 0.9;
const STAGNATION_WINDOW: u64 = 500;

impl<E> FisherScoring<E> {
    pub fn new(xtol: f64) -> FisherScoring<E> {
        FisherScoring {
            xtol,
            last_step: f64::INFINITY,
            stalled: false,
            current: None,
            best_step: f64::INFINITY,
            since_best: 0,
        }
    }
}

/// From this many parameters on, a block-diagonal H (groups that share no
/// parameter) is solved block by block: one 1900 x 1900 Cholesky factor per
/// iteration becomes 100 of order 19 for 100 unconstrained groups. Smaller
/// problems keep the one dense solve (and so their bits).
const BLOCKS_FROM: usize = 200;

/// The index sets of the diagonal blocks of a symmetric matrix (the
/// connected components of its nonzero pattern), in order of their first
/// index; one block when everything is connected.
pub(crate) fn diagonal_blocks(h: &DMatrix<f64>) -> Vec<Vec<usize>> {
    let n = h.nrows();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for j in 0..n {
        for i in (j + 1)..n {
            if h[(i, j)] != 0.0 || h[(j, i)] != 0.0 {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut at = vec![usize::MAX; n];
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        if at[r] == usize::MAX {
            at[r] = blocks.len();
            blocks.push(Vec::new());
        }
        blocks[at[r]].push(i);
    }
    blocks
}

/// Solve H s = -g, with a ridge when H is singular or indefinite; block by
/// block when H is block diagonal and large (`BLOCKS_FROM`).
fn newton_step(h: &DMatrix<f64>, g: &[f64], blocks_from: usize) -> Option<DVector<f64>> {
    if g.len() >= blocks_from {
        let blocks = diagonal_blocks(h);
        if blocks.len() > 1 {
            let mut s = DVector::zeros(g.len());
            for b in &blocks {
                let hb = DMatrix::from_fn(b.len(), b.len(), |i, j| h[(b[i], b[j])]);
                let gb: Vec<f64> = b.iter().map(|&i| g[i]).collect();
                let sb = dense_newton_step(&hb, &gb)?;
                for (k, &i) in b.iter().enumerate() {
                    s[i] = sb[k];
                }
            }
            return Some(s);
        }
    }
    dense_newton_step(h, g)
}

/// From this many free parameters the step is first sought by conjugate
/// gradients: a Cholesky factor of H is n^3/3 flops per iteration (seconds
/// at n = 6000, a one-factor model with 3000 indicators), a CG iteration one
/// product H v, and the information of a measurement model needs a few dozen.
const CG_FROM: usize = 1500;

/// Solve H s = -g by conjugate gradients with the diagonal of H as the
/// preconditioner, to a residual of 1e-12 |g|; `None` when H shows itself
/// not positive definite or the iterations do not converge (the caller then
/// factors H).
fn cg_newton_step(h: &DMatrix<f64>, g: &[f64]) -> Option<DVector<f64>> {
    let n = g.len();
    let diag: Vec<f64> = (0..n).map(|i| h[(i, i)]).collect();
    if diag.iter().any(|d| !(*d > 0.0 && d.is_finite())) {
        return None;
    }
    let b = -DVector::from_column_slice(g);
    let bnorm = b.norm();
    if bnorm == 0.0 {
        return Some(DVector::zeros(n));
    }
    let mut x = DVector::zeros(n);
    let mut r = b.clone();
    let mut z = DVector::from_fn(n, |i, _| r[i] / diag[i]);
    let mut d = z.clone();
    let mut rz = r.dot(&z);
    let mut hd = DVector::zeros(n);
    for _ in 0..n.min(1000) {
        hd.gemv(1.0, h, &d, 0.0);
        let dhd = d.dot(&hd);
        if dhd.is_nan() || dhd <= 0.0 {
            return None;
        }
        let alpha = rz / dhd;
        x.axpy(alpha, &d, 1.0);
        r.axpy(-alpha, &hd, 1.0);
        if r.norm() <= 1e-12 * bnorm {
            return Some(x);
        }
        z = DVector::from_fn(n, |i, _| r[i] / diag[i]);
        let rz_new = r.dot(&z);
        d = &z + &d * (rz_new / rz);
        rz = rz_new;
    }
    None
}

/// Solve H s = -g densely, with a ridge when H is singular or indefinite.
fn dense_newton_step(h: &DMatrix<f64>, g: &[f64]) -> Option<DVector<f64>> {
    let n = g.len();
    if n >= CG_FROM {
        if let Some(s) = cg_newton_step(h, g) {
            return Some(s);
        }
    }
    let scale = (0..n).map(|i| h[(i, i)].abs()).fold(0.0, f64::max).max(1e-12);
    let mut ridge = 0.0;
    for _ in 0..12 {
        let mut hr = h.clone();
        for i in 0..n {
            hr[(i, i)] += ridge;
        }
        if let Some(c) = chol::Chol::new(&hr) {
            return Some(-c.solve(g));
        }
        ridge = if ridge == 0.0 { 1e-10 * scale } else { ridge * 10.0 };
    }
    None
}

impl<O: Scoring> Solver<O, St> for FisherScoring<O::Eval> {
    const NAME: &'static str = "Fisher scoring";

    fn init(&mut self, problem: &mut Problem<O>, state: St) -> Result<(St, Option<KV>), Error> {
        let x = state.get_param().ok_or_else(|| Error::msg("no starting values"))?.clone();
        let (f, e) = problem.problem("cost_count", |p| p.evaluate(&x))?;
        self.current = e;
        if !f.is_finite() || self.current.is_none() {
            return Err(Error::msg(
                "the starting values give an implied covariance matrix that is not positive definite",
            ));
        }
        Ok((state.param(x).cost(f), None))
    }

    fn next_iter(&mut self, problem: &mut Problem<O>, mut state: St) -> Result<(St, Option<KV>), Error> {
        let x = state.take_param().ok_or_else(|| Error::msg("lost the parameters"))?;
        let f0 = state.get_cost();
        let e = self
            .current
            .take()
            .ok_or_else(|| Error::msg("the implied covariance matrix is not positive definite"))?;
        crate::stage::set(format!("estimating: iteration {}, F = {f0:.6}", state.get_iter() + 1));
        let (g, h) = problem.problem("gradient_count", |p| p.gradient_hessian(&e))?;
        let blocks_from = problem.problem.as_ref().map_or(BLOCKS_FROM, |p| p.blocks_from());
        let s = newton_step(&h, &g, blocks_from).ok_or_else(|| Error::msg("the information matrix is singular"))?;
        // convergence is judged on steps relative to the parameter's size
        // (absolute below 1): a variance of 1e8 (a variable in other units)
        // cannot move by less than 1e-8, so an absolute tolerance of 1e-9 never
        // declared it converged. Stagnation is judged on absolute steps: an
        // estimate drifting to infinity by constant steps has relative steps
        // that shrink forever.
        let full = s.iter().zip(&x).fold(0.0, |m: f64, (v, xi)| m.max(v.abs() / xi.abs().max(1.0)));
        let full_abs = s.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
        if full_abs < STAGNATION_SHRINK * self.best_step {
            self.best_step = full_abs;
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        let slope: f64 = s.iter().zip(&g).map(|(a, b)| a * b).sum();
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let xn: Vec<f64> = x.iter().zip(s.iter()).map(|(a, b)| a + alpha * b).collect();
            let (fnew, en) = problem.problem("cost_count", |p| p.evaluate(&xn))?;
            if fnew.is_finite() && fnew <= f0 + 1e-4 * alpha * slope.min(0.0) + 1e-13 * (1.0 + f0.abs()) {
                if let Some(en) = en {
                    accepted = Some((xn, fnew));
                    self.current = Some(en);
                    break;
                }
            }
            alpha *= 0.5;
        }
        match accepted {
            Some((xn, fnew)) => {
                // the full scoring step, not the halved one: a step made tiny by
                // halving far from the optimum is not convergence
                self.last_step = full.max(if alpha < 1.0 { f64::INFINITY } else { 0.0 });
                Ok((state.param(xn).cost(fnew).gradient(g), None))
            }
            None => {
                self.current = Some(e);
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
        if self.since_best >= STAGNATION_WINDOW {
            return TerminationStatus::Terminated(TerminationReason::SolverExit(format!(
                "the optimizer stagnated: its steps stopped shrinking over {STAGNATION_WINDOW} iterations (a flat ridge, or an estimate drifting towards infinity)"
            )));
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
    constrained::solve_for(ram, MlProblem { ram, data }, x0, max_iter, xtol, |x| {
        objective::objective(ram, x, data)
    })
}

/// Run Fisher scoring on any problem (ML, least squares, FIML) from `x0`;
/// `fmin` evaluates the discrepancy at the result.
pub fn solve<P: Scoring>(problem: P, x0: Vec<f64>, max_iter: u64, xtol: f64, fmin: impl Fn(&[f64]) -> f64) -> Estimate {
    let res = Executor::new(problem, FisherScoring::new(xtol))
        .configure(|s| s.param(x0.clone()).max_iters(max_iter))
        .run();
    match res {
        Ok(r) => {
            let st = r.state();
            let reason = st.get_termination_reason().cloned();
            let x = st.get_best_param().or(st.get_param()).cloned().unwrap_or(x0);
            let f = fmin(&x);
            let converged = matches!(reason, Some(TerminationReason::SolverConverged)) && f.is_finite();
            let message = match reason {
                Some(TerminationReason::SolverConverged) => None,
                Some(TerminationReason::MaxItersReached) => Some(format!("the optimizer reached its limit of {max_iter} iterations")),
                Some(r) => Some(r.text().to_string()),
                None => Some("the optimizer stopped for an unknown reason".into()),
            };
            Estimate {
                x,
                fmin: f,
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
    let x1 = start::default_start(model, data, true);
    with_fallback(|x, n| minimize(&model.ram, data, x, n), x0, x1, max_iter)
}

/// Iterations the default start gets before the fallback start is tried.
/// Fisher scoring from lavaan's starts converges in tens of iterations when
/// it converges at all; a run still going after this many is on a ridge or
/// drifting to the boundary, and the fallback start often converges at once.
pub const PROBE_ITER: u64 = 300;

/// The start strategy shared by the estimators: `x0` for up to
/// `PROBE_ITER` iterations; if that has not converged, `x1` with the full
/// budget; if that fails too, `x0`'s run resumes where it stopped for the
/// rest of its budget. So a stuck default start costs `PROBE_ITER`
/// iterations before the fallback, not the whole cap, and a model that
/// needs many iterations still gets them. The result reports the
/// iterations of the run it comes from; of two failures, the one with the
/// lower discrepancy.
pub fn with_fallback(minimize: impl Fn(Vec<f64>, u64) -> Estimate, x0: Vec<f64>, x1: Vec<f64>, max_iter: u64) -> Estimate {
    let probe = max_iter.min(PROBE_ITER);
    let first = minimize(x0, probe);
    if first.converged {
        return first;
    }
    let second = minimize(x1, max_iter);
    if second.converged {
        return second;
    }
    let first = if max_iter > probe && first.fmin.is_finite() {
        let mut rest = minimize(first.x.clone(), max_iter - probe);
        rest.iterations += first.iterations;
        rest
    } else {
        first
    };
    // the second only when its discrepancy is (finite and) lower
    let second_better = second.fmin.partial_cmp(&first.fmin) == Some(std::cmp::Ordering::Less);
    if first.converged || !second_better {
        first
    } else {
        second
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn run(x: &[f64], n: u64, converges_after: Option<u64>) -> Estimate {
        let done = converges_after.is_some_and(|k| n >= k);
        Estimate {
            x: x.to_vec(),
            fmin: x[0],
            iterations: converges_after.filter(|_| done).unwrap_or(n),
            converged: done,
            message: None,
        }
    }

    /// A default start that would need the whole cap is given PROBE_ITER
    /// iterations before the fallback start, which converges at once.
    #[test]
    fn stuck_default_start_costs_only_the_probe() {
        let calls = RefCell::new(vec![]);
        let est = with_fallback(
            |x, n| {
                calls.borrow_mut().push((x[0], n));
                run(&x, n, if x[0] == 1.0 { None } else { Some(18) })
            },
            vec![1.0],
            vec![2.0],
            10_000,
        );
        assert!(est.converged && est.x == vec![2.0] && est.iterations == 18);
        assert_eq!(calls.into_inner(), vec![(1.0, PROBE_ITER), (2.0, 10_000)]);
    }

    /// A default start that needs many iterations still gets the full budget.
    #[test]
    fn slow_default_start_resumes() {
        let est = with_fallback(
            |x, n| {
                if x[0] == 2.0 {
                    run(&x, n, None)
                } else {
                    run(&[0.5], n, Some(1000))
                }
            },
            vec![1.0],
            vec![2.0],
            10_000,
        );
        assert!(est.converged, "{est:?}");
        assert_eq!(est.iterations, PROBE_ITER + 1000);
    }

    /// F(x) = exp(-x): every Newton step is +1 and F keeps falling, towards
    /// an optimum at infinity. The run stops as stagnant after
    /// STAGNATION_WINDOW iterations instead of using the whole cap.
    struct Drift;
    impl Scoring for Drift {
        type Eval = f64;
        fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<f64>), Error> {
            Ok(((-x[0]).exp(), Some(x[0])))
        }
        fn gradient_hessian(&self, x: &f64) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
            Ok((vec![-(-x).exp()], DMatrix::from_element(1, 1, (-x).exp())))
        }
    }

    /// F(x) = (x - 3)^2 / 2 + x^4 / 100: converges in a few steps.
    struct Bowl;
    impl Scoring for Bowl {
        type Eval = f64;
        fn evaluate(&self, x: &[f64]) -> Result<(f64, Option<f64>), Error> {
            let v = x[0];
            Ok(((v - 3.0).powi(2) / 2.0 + v.powi(4) / 100.0, Some(v)))
        }
        fn gradient_hessian(&self, v: &f64) -> Result<(Vec<f64>, DMatrix<f64>), Error> {
            Ok((
                vec![v - 3.0 + v.powi(3) / 25.0],
                DMatrix::from_element(1, 1, 1.0 + 3.0 * v * v / 25.0),
            ))
        }
    }

    #[test]
    fn block_diagonal_steps_solve_each_block() {
        // two uncoupled 150 x 150 blocks (one of them coupled in a chain)
        let n = 300;
        let mut h = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            h[(i, i)] = 2.0 + (i % 7) as f64;
            if i + 1 < n && i + 1 != 150 {
                h[(i, i + 1)] = 0.5;
                h[(i + 1, i)] = 0.5;
            }
        }
        let blocks = diagonal_blocks(&h);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], (0..150).collect::<Vec<_>>());
        let g: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let s = newton_step(&h, &g, BLOCKS_FROM).unwrap();
        let dense = dense_newton_step(&h, &g).unwrap();
        assert!((s - dense).amax() < 1e-12);
    }

    #[test]
    fn drift_to_infinity_stagnates_early() {
        let est = solve(Drift, vec![0.0], 10_000, 1e-9, |x| (-x[0]).exp());
        assert!(!est.converged);
        assert!(est.iterations <= STAGNATION_WINDOW + 2, "{}", est.iterations);
        assert!(est.message.unwrap_or_default().contains("stagnated"));
    }

    #[test]
    fn converging_runs_are_not_stagnant() {
        let est = solve(Bowl, vec![-20.0], 10_000, 1e-9, |_| 0.0);
        assert!(est.converged && est.iterations < 50, "{est:?}");
    }

    /// Two failures: the lower discrepancy is reported.
    #[test]
    fn two_failures_keep_the_better() {
        let est = with_fallback(|x, n| run(&x, n, None), vec![3.0], vec![2.0], 10_000);
        assert!(!est.converged);
        assert_eq!(est.x, vec![2.0]);
    }
}

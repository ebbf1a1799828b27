//! General constraints: `==`, `<` and `>` between expressions of labels,
//! `:=` names and numbers, as functions of the free parameters x. Two labels
//! tied by `a == b` share one free parameter already (`Model`'s union of
//! rows); everything else lands here.
//!
//! lavaan (lav_constraints.R) writes the equalities as c(x) = 0 and the
//! inequalities as h(x) >= 0 (`a > b` is a - b, `a < b` is b - a). When the
//! equalities are all linear and there is no inequality, it estimates in the
//! null space of their Jacobian J: x = k0 + K z with K an orthonormal basis
//! of null(J) and k0 a point that satisfies them, so the optimizer sees
//! fewer parameters (`LinearEq`). Otherwise it runs a constrained optimizer
//! (an augmented Lagrangian, `crate::estimate::constrained`). Either way the
//! covariance matrix of the estimates is the constrained inverse of the
//! information, K (K' I K)^-1 K' with K the null space of the Jacobian of the
//! equalities and of the active inequalities at the estimate: the upper-left
//! block of the inverse of lavaan's bordered matrix [I J'; J 0]. The degrees
//! of freedom gain the rank of the equalities' Jacobian; inequalities, active
//! or not, do not change them (lavaan 0.6-14).

use super::partable::ParTable;
use crate::inference::defined::{eval_with, Dual};
use crate::syntax::Expr;
use nalgebra::{DMatrix, DVector};
use std::collections::HashMap;

/// Where a name in a constraint takes its value from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// a free parameter
    Free(usize),
    /// a fixed parameter's value
    Fixed(f64),
    /// the k-th `:=` definition
    Def(usize),
}

/// One constraint: value = sign * (lhs - rhs), `== 0` or `>= 0`.
#[derive(Debug, Clone)]
pub struct Con {
    /// the parameter-table row of the constraint (of the bounded parameter)
    pub row: usize,
    form: Form,
    sign: f64,
}

#[derive(Debug, Clone)]
enum Form {
    /// `lhs op rhs` as written
    Expr(Expr, Expr),
    /// a bound `lower(v)` / `upper(v)` on free parameter k
    Bound(usize, f64),
}

impl Con {
    /// Whether this is a `lower()`/`upper()` bound: lavaan keeps it in the
    /// optimizer only (the standard errors ignore it).
    pub fn is_bound(&self) -> bool {
        matches!(self.form, Form::Bound(..))
    }
}

/// The linear reduction x = k0 + K z (K orthonormal, nx by nz).
#[derive(Debug, Clone)]
pub struct LinearEq {
    pub k: DMatrix<f64>,
    pub k0: DVector<f64>,
}

impl LinearEq {
    /// x from the reduced parameters z.
    pub fn expand(&self, z: &[f64]) -> Vec<f64> {
        (&self.k * DVector::from_column_slice(z) + &self.k0).iter().copied().collect()
    }
    /// The reduced parameters of the point of the constraint set closest to x.
    pub fn reduce(&self, x: &[f64]) -> Vec<f64> {
        (self.k.transpose() * (DVector::from_column_slice(x) - &self.k0))
            .iter()
            .copied()
            .collect()
    }
}

/// The general constraints of a model, compiled against its free parameters.
#[derive(Debug, Clone)]
pub struct Constraints {
    nx: usize,
    names: HashMap<String, Source>,
    defs: Vec<Expr>,
    pub eqs: Vec<Con>,
    pub ins: Vec<Con>,
    /// the reduction when the equalities are linear and there is no inequality
    pub linear: Option<LinearEq>,
    /// rank of the equalities' Jacobian: the free parameters they remove
    pub rank: usize,
    /// the `lower()`/`upper()` bounds were dropped (linear equalities present)
    pub bounds_ignored: bool,
}

/// The value and gradient of every equality and inequality at x.
pub struct Values {
    pub eq: Vec<Dual>,
    pub ins: Vec<Dual>,
}

/// A generic point for rank and linearity checks: no parameter at zero
/// (lavaan perturbs zero starting values for the same reason).
fn generic_point(nx: usize, shift: f64) -> Vec<f64> {
    (0..nx)
        .map(|k| 0.3 + shift + 0.7 * (((k as f64 + 1.0) * 0.618_034 + shift).fract()))
        .collect()
}

impl Constraints {
    /// Compile the constraints of `pt` that are not simple ties (`skip`
    /// rows were honoured by sharing a parameter). `Ok(None)` when none is
    /// left; `Err((row, message))` for constraints that cannot hold.
    pub fn new(pt: &ParTable, x_of_row: &[Option<usize>], nx: usize, skip: &[usize]) -> Result<Option<Constraints>, (usize, String)> {
        let mut names: HashMap<String, Source> = HashMap::new();
        // a label is its first row (as lavaan's constraint functions and `:=`)
        for (i, r) in pt.rows.iter().enumerate() {
            if !matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1") {
                continue;
            }
            let src = match x_of_row[i] {
                Some(k) => Source::Free(k),
                None => Source::Fixed(r.ustart.unwrap_or(0.0)),
            };
            if !r.label.is_empty() {
                names.entry(r.label.clone()).or_insert(src);
            }
            names.entry(r.plabel.clone()).or_insert(src);
        }
        let mut defs = Vec::new();
        let mut eqs = Vec::new();
        let mut ins = Vec::new();
        for e in &pt.exprs {
            let row = &pt.rows[e.row];
            let Some(lhs) = e.lhs.clone() else {
                if row.op == ":=" {
                    names.insert(row.lhs.clone(), Source::Def(defs.len()));
                    defs.push(e.rhs.clone());
                }
                continue;
            };
            let con = |sign| Con {
                row: e.row,
                form: Form::Expr(lhs.clone(), e.rhs.clone()),
                sign,
            };
            match row.op.as_str() {
                ":=" => {
                    names.insert(row.lhs.clone(), Source::Def(defs.len()));
                    defs.push(e.rhs.clone());
                }
                "==" if !skip.contains(&e.row) => eqs.push(con(1.0)),
                ">" => ins.push(con(1.0)),
                "<" => ins.push(con(-1.0)),
                _ => {}
            }
        }
        // bounds on free parameters (on fixed ones they mean nothing)
        for b in &pt.bounds {
            let Some(k) = x_of_row[b.row] else { continue };
            let mut add = |v: f64, sign| {
                ins.push(Con {
                    row: b.row,
                    form: Form::Bound(k, v),
                    sign,
                })
            };
            if let Some(v) = b.lower {
                add(v, 1.0);
            }
            if let Some(v) = b.upper {
                add(v, -1.0);
            }
        }
        if eqs.is_empty() && ins.is_empty() {
            return Ok(None);
        }
        let mut c = Constraints {
            nx,
            names,
            defs,
            eqs,
            ins,
            linear: None,
            rank: 0,
            bounds_ignored: false,
        };
        // every name must resolve; a constraint on fixed values only must hold
        // (a tie between rows that already share a parameter is redundant)
        let x = generic_point(nx, 0.0);
        let v = c.values(&x)?;
        for (k, (con, d)) in c.eqs.iter().chain(&c.ins).zip(v.eq.iter().chain(&v.ins)).enumerate() {
            let is_eq = k < c.eqs.len();
            let holds = if is_eq {
                d.v.abs() <= 1e-10 * (1.0 + d.v.abs())
            } else {
                d.v >= 0.0
            };
            if d.d.iter().all(|g| *g == 0.0) && !holds {
                return Err((
                    con.row,
                    "this constraint cannot hold: it involves no free parameter, and the fixed values in it do not satisfy it".into(),
                ));
            }
        }
        let j = jacobian(&v.eq, nx);
        let (basis, rank) = null_space(&j);
        c.rank = rank;
        // linear: the same Jacobian at a second point
        let v2 = c.values(&generic_point(nx, 0.37))?;
        let j2 = jacobian(&v2.eq, nx);
        let scale = j.iter().fold(1.0f64, |m, a| m.max(a.abs()));
        let linear = (&j - &j2).iter().all(|d| d.abs() <= 1e-10 * scale);
        // lavaan 0.6-14 drops the bounds when the equalities (shared labels
        // and ties included) are all linear and nothing else constrains
        let tied = pt.rows.iter().filter(|r| r.free > 0).count() > nx;
        if linear && (tied || !c.eqs.is_empty()) && !c.ins.is_empty() && c.ins.iter().all(Con::is_bound) {
            c.ins.clear();
            c.bounds_ignored = true;
            if c.eqs.is_empty() {
                return Ok(Some(c));
            }
        }
        if linear && c.ins.is_empty() && !c.eqs.is_empty() {
            // c(x) = J x + c(0): a point with J k0 = -c(0), the least-squares one
            let c0 = DVector::from_iterator(c.eqs.len(), c.values(&vec![0.0; nx])?.eq.iter().map(|d| d.v));
            let k0 = least_squares(&j, &(-&c0));
            let consistent = |m: usize| {
                let (jm, cm) = (j.rows(0, m).into_owned(), c0.rows(0, m).into_owned());
                let r = &jm * least_squares(&jm, &(-&cm)) + &cm;
                r.amax() <= 1e-8 * (1.0 + cm.amax())
            };
            if !consistent(c.eqs.len()) {
                // the first constraint that contradicts the ones before it
                let first = (1..=c.eqs.len()).find(|&m| !consistent(m)).unwrap_or(c.eqs.len());
                return Err((
                    c.eqs[first - 1].row,
                    "this equality constraint contradicts the ones before it: no parameter values satisfy all of them".into(),
                ));
            }
            c.linear = Some(LinearEq { k: basis, k0 });
        } else {
            c.check_feasible()?;
        }
        Ok(Some(c))
    }

    /// The residuals of the constraints at x: c(x) for the equalities,
    /// min(0, h(x)) for the inequalities, with their Jacobian.
    fn residuals(&self, x: &[f64]) -> Option<(DVector<f64>, DMatrix<f64>)> {
        let v = self.values(x).ok()?;
        let rows: Vec<Dual> =
            v.eq.into_iter()
                .chain(v.ins.into_iter().map(|h| {
                    if h.v < 0.0 {
                        h
                    } else {
                        Dual {
                            v: 0.0,
                            d: vec![0.0; self.nx],
                        }
                    }
                }))
                .collect();
        Some((
            DVector::from_iterator(rows.len(), rows.iter().map(|d| d.v)),
            jacobian(&rows, self.nx),
        ))
    }

    /// Whether some parameter values satisfy the constraints by themselves
    /// (before the model has a say): Levenberg-Marquardt on the residuals
    /// from a few generic points. `Err` names the constraint that stays
    /// furthest from holding.
    fn check_feasible(&self) -> Result<(), (usize, String)> {
        let mut worst: Option<(f64, usize)> = None;
        for shift in [0.0, 0.37, -1.3, 2.1] {
            let mut x = generic_point(self.nx, shift);
            let Some((mut r, mut j)) = self.residuals(&x) else { return Ok(()) };
            let mut damp = 1e-3;
            for _ in 0..300 {
                if r.amax() < 1e-10 {
                    return Ok(());
                }
                let jtj = j.transpose() * &j;
                let g = j.transpose() * &r;
                let scale = (0..self.nx).map(|i| jtj[(i, i)]).fold(0.0, f64::max).max(1e-12);
                let step = (jtj + DMatrix::identity(self.nx, self.nx) * (damp * scale)).lu().solve(&g);
                let Some(step) = step else { break };
                let xn: Vec<f64> = x.iter().zip(step.iter()).map(|(a, b)| a - b).collect();
                match self.residuals(&xn) {
                    Some((rn, jn)) if rn.norm() < r.norm() => {
                        (x, r, j) = (xn, rn, jn);
                        damp = (damp / 3.0).max(1e-12);
                    }
                    _ => {
                        damp *= 10.0;
                        if damp > 1e12 {
                            break;
                        }
                    }
                }
            }
            if r.amax() < 1e-8 {
                return Ok(());
            }
            let k = (0..r.len()).max_by(|&a, &b| r[a].abs().total_cmp(&r[b].abs())).unwrap_or(0);
            if worst.is_none_or(|(w, _)| r.amax() < w) {
                worst = Some((r.amax(), k));
            }
        }
        let (_, k) = worst.unwrap_or((0.0, 0));
        let con = self.eqs.iter().chain(&self.ins).nth(k).expect("a constraint");
        Err((
            con.row,
            "no parameter values satisfy this constraint together with the others: the constraints have no solution".into(),
        ))
    }

    /// Values and gradients of the constraints at x; `Err((row, message))`
    /// when one cannot be evaluated.
    pub fn values(&self, x: &[f64]) -> Result<Values, (usize, String)> {
        let n = self.nx;
        let mut defs: Vec<Dual> = Vec::with_capacity(self.defs.len());
        let lookup = |defs: &[Dual], name: &str| -> Option<Dual> {
            Some(match *self.names.get(name)? {
                Source::Free(k) => {
                    let mut d = vec![0.0; n];
                    d[k] = 1.0;
                    Dual { v: x[k], d }
                }
                Source::Fixed(v) => Dual { v, d: vec![0.0; n] },
                Source::Def(k) => defs.get(k)?.clone(),
            })
        };
        for e in &self.defs {
            let d = eval_with(e, n, &|name| lookup(&defs, name)).map_err(|m| (usize::MAX, m))?;
            defs.push(d);
        }
        let eval = |c: &Con| -> Result<Dual, (usize, String)> {
            let (lhs, rhs) = match &c.form {
                Form::Expr(l, r) => (l, r),
                Form::Bound(k, v) => {
                    let mut d = vec![0.0; n];
                    d[*k] = c.sign;
                    return Ok(Dual {
                        v: c.sign * (x[*k] - v),
                        d,
                    });
                }
            };
            let a = eval_with(lhs, n, &|name| lookup(&defs, name)).map_err(|m| (c.row, m))?;
            let b = eval_with(rhs, n, &|name| lookup(&defs, name)).map_err(|m| (c.row, m))?;
            Ok(Dual {
                v: c.sign * (a.v - b.v),
                d: a.d.iter().zip(&b.d).map(|(p, q)| c.sign * (p - q)).collect(),
            })
        };
        Ok(Values {
            eq: self.eqs.iter().map(eval).collect::<Result<_, _>>()?,
            ins: self.ins.iter().map(eval).collect::<Result<_, _>>()?,
        })
    }

    /// Put every parameter beyond a `lower()`/`upper()` bound on it (the
    /// augmented Lagrangian leaves them a rounding error outside).
    pub fn clamp_bounds(&self, x: &mut [f64]) {
        for c in &self.ins {
            if let Form::Bound(k, v) = c.form {
                if c.sign * (x[k] - v) < 0.0 {
                    x[k] = v;
                }
            }
        }
    }

    /// Whether an inequality with value h counts as active (on its bound).
    pub fn is_active(h: f64) -> bool {
        h.abs() <= 1e-6
    }

    /// The basis K of the directions the constraints leave free at x: the
    /// null space of the equalities and the active inequalities (`None`
    /// when nothing binds at x).
    pub fn basis_at(&self, x: &[f64]) -> Option<DMatrix<f64>> {
        if let (Some(l), true) = (&self.linear, self.ins.iter().all(Con::is_bound)) {
            return Some(l.k.clone());
        }
        self.active_basis(x, false)
    }

    /// The directions in which x can still move without leaving the
    /// constraint set, active bounds included (where the gradient of an
    /// optimum must vanish); `None` when nothing binds.
    pub fn tangent_basis(&self, x: &[f64]) -> Option<DMatrix<f64>> {
        if let (Some(l), true) = (&self.linear, self.ins.is_empty()) {
            return Some(l.k.clone());
        }
        self.active_basis(x, true)
    }

    fn active_basis(&self, x: &[f64], bounds: bool) -> Option<DMatrix<f64>> {
        let v = self.values(x).ok()?;
        let rows: Vec<Dual> =
            v.eq.into_iter()
                .chain(
                    v.ins
                        .into_iter()
                        .zip(&self.ins)
                        .filter(|(h, c)| (bounds || !c.is_bound()) && Constraints::is_active(h.v))
                        .map(|(h, _)| h),
                )
                .collect();
        if rows.is_empty() {
            return None;
        }
        Some(null_space(&jacobian(&rows, self.nx)).0)
    }
}

/// The Jacobian (one row per constraint) of dual values over nx parameters.
pub fn jacobian(v: &[Dual], nx: usize) -> DMatrix<f64> {
    DMatrix::from_fn(v.len(), nx, |i, j| v[i].d[j])
}

/// An orthonormal basis of the null space of J (m by n) and the rank of J,
/// from the eigen decomposition of J'J.
pub fn null_space(j: &DMatrix<f64>) -> (DMatrix<f64>, usize) {
    let n = j.ncols();
    if j.nrows() == 0 {
        return (DMatrix::identity(n, n), 0);
    }
    let jtj = j.transpose() * j;
    let eig = crate::inference::eigen::symmetric_eigen(&jtj);
    let max = eig.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = 1e-10 * max.max(1e-300);
    let null: Vec<usize> = (0..n).filter(|&k| eig.values[k] <= tol).collect();
    let basis = DMatrix::from_fn(n, null.len(), |i, c| eig.vectors[(i, null[c])]);
    (basis, n - null.len())
}

/// The minimum-norm least-squares solution of J x = r.
fn least_squares(j: &DMatrix<f64>, r: &DVector<f64>) -> DVector<f64> {
    let jjt = j * j.transpose();
    let eig = crate::inference::eigen::symmetric_eigen(&jjt);
    let max = eig.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = 1e-10 * max.max(1e-300);
    let pinv = eig.map(|v| if v > tol { 1.0 / v } else { 0.0 });
    j.transpose() * (pinv * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_space_of_a_sum() {
        let j = DMatrix::from_row_slice(2, 3, &[1.0, 1.0, 0.0, 2.0, 2.0, 0.0]);
        let (k, rank) = null_space(&j);
        assert_eq!(rank, 1);
        assert_eq!(k.ncols(), 2);
        assert!((&j * &k).amax() < 1e-12);
        assert!((k.transpose() * &k - DMatrix::identity(2, 2)).amax() < 1e-12);
        let x = least_squares(&j.rows(0, 1).into_owned(), &DVector::from_element(1, 2.0));
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12 && x[2].abs() < 1e-12);
    }
}

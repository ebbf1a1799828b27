//! Defined parameters (`ab := a*b`) and their gradients. An expression is
//! evaluated with forward-mode dual numbers over the free parameters, so the
//! delta-method standard error J V J' uses an exact Jacobian (lavaan uses a
//! complex-step numerical one; both are exact to rounding). A label refers to
//! the first parameter-table row that carries it, as in lavaan.

use crate::model::Model;
use crate::syntax::Expr;

/// A value with its gradient with respect to the free parameters.
#[derive(Debug, Clone)]
pub struct Dual {
    pub v: f64,
    pub d: Vec<f64>,
}

impl Dual {
    fn constant(v: f64, n: usize) -> Dual {
        Dual { v, d: vec![0.0; n] }
    }
    fn map(&self, v: f64, dv: f64) -> Dual {
        Dual {
            v,
            d: self.d.iter().map(|x| x * dv).collect(),
        }
    }
}

/// Values of every parameter-table row and of the definitions evaluated so
/// far, as dual numbers.
pub struct Scope<'a> {
    pub model: &'a Model,
    /// row values (estimates, or standardized values)
    pub values: &'a [f64],
    /// whether the row value depends on free parameter x (gradient 1)
    pub n: usize,
    pub defined: Vec<(String, Dual)>,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<Dual> {
        if let Some((_, d)) = self.defined.iter().find(|(n, _)| n == name) {
            return Some(d.clone());
        }
        let r = row_of_label(self.model, name)?;
        let mut d = Dual::constant(self.values[r], self.n);
        if let Some(x) = self.model.x_of_row[r] {
            d.d[x] = 1.0;
        }
        Some(d)
    }

    pub fn eval(&self, e: &Expr) -> Result<Dual, String> {
        eval_with(e, self.n, &|name| self.lookup(name))
    }
}

/// The parameter-table row a label names: the first model row carrying it
/// as a label, else the row with that plabel (`.p3.`).
pub fn row_of_label(model: &Model, name: &str) -> Option<usize> {
    let rows = &model.pt.rows;
    rows.iter()
        .position(|r| matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1") && r.label == name)
        .or_else(|| rows.iter().position(|r| r.plabel == name))
}

/// Every `:=` row evaluated on the row values `values`, with gradients with
/// respect to those row values (not the free parameters): the chain rule of
/// the standardized solution's delta method (`super::std_se`).
pub fn definitions_over_rows(model: &Model, values: &[f64]) -> Result<Vec<(usize, Dual)>, String> {
    let n = values.len();
    let mut defined: Vec<(String, Dual)> = Vec::new();
    let mut out = Vec::new();
    for e in &model.pt.exprs {
        let row = &model.pt.rows[e.row];
        if row.op != ":=" {
            continue;
        }
        let lookup = |name: &str| {
            if let Some((_, d)) = defined.iter().find(|(n, _)| n == name) {
                return Some(d.clone());
            }
            let r = row_of_label(model, name)?;
            let mut d = Dual::constant(values[r], n);
            d.d[r] = 1.0;
            Some(d)
        };
        let d = eval_with(&e.rhs, n, &lookup)?;
        defined.push((row.lhs.clone(), d.clone()));
        out.push((e.row, d));
    }
    Ok(out)
}

/// Evaluate an expression over `n` free parameters, a name's value and
/// gradient coming from `lookup` (the parameter table's rows and the
/// definitions for `:=`; the constraint functions of `crate::model::constraints`).
pub fn eval_with(e: &Expr, n: usize, lookup: &dyn Fn(&str) -> Option<Dual>) -> Result<Dual, String> {
    let ev = |e: &Expr| eval_with(e, n, lookup);
    {
        Ok(match e {
            Expr::Num(v) => Dual::constant(*v, n),
            Expr::Var(name) => lookup(&name.name).ok_or_else(|| format!("unknown label `{}`", name.name))?,
            Expr::Neg(a) => {
                let a = ev(a)?;
                a.map(-a.v, -1.0)
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (ev(a)?, ev(b)?);
                let comb = |v: f64, da: f64, db: f64| Dual {
                    v,
                    d: a.d.iter().zip(&b.d).map(|(x, y)| da * x + db * y).collect(),
                };
                match op {
                    '+' => comb(a.v + b.v, 1.0, 1.0),
                    '-' => comb(a.v - b.v, 1.0, -1.0),
                    '*' => comb(a.v * b.v, b.v, a.v),
                    '/' => comb(a.v / b.v, 1.0 / b.v, -a.v / (b.v * b.v)),
                    '^' => {
                        let v = a.v.powf(b.v);
                        let da = if a.v == 0.0 { 0.0 } else { b.v * a.v.powf(b.v - 1.0) };
                        let db = if a.v > 0.0 { v * a.v.ln() } else { 0.0 };
                        comb(v, da, db)
                    }
                    _ => return Err(format!("unknown operator `{op}`")),
                }
            }
            Expr::Call(f, args) => {
                if args.len() != 1 {
                    return Err(format!("`{}` takes one argument", f.name));
                }
                let a = ev(&args[0])?;
                let x = a.v;
                let normal = statrs::distribution::Normal::new(0.0, 1.0).unwrap();
                use statrs::distribution::{Continuous, ContinuousCDF};
                match f.name.as_str() {
                    "exp" => a.map(x.exp(), x.exp()),
                    "log" => a.map(x.ln(), 1.0 / x),
                    "sqrt" => a.map(x.sqrt(), 0.5 / x.sqrt()),
                    "abs" => a.map(x.abs(), x.signum()),
                    "sin" => a.map(x.sin(), x.cos()),
                    "cos" => a.map(x.cos(), -x.sin()),
                    "tan" => a.map(x.tan(), 1.0 / (x.cos() * x.cos())),
                    "pnorm" => a.map(normal.cdf(x), normal.pdf(x)),
                    "qnorm" => {
                        let q = normal.inverse_cdf(x);
                        a.map(q, 1.0 / normal.pdf(q))
                    }
                    other => return Err(format!("unknown function `{other}`")),
                }
            }
        })
    }
}

/// Evaluate every `:=` row in order; returns (row index, value with gradient).
pub fn evaluate_definitions(model: &Model, values: &[f64]) -> Result<Vec<(usize, Dual)>, String> {
    let mut scope = Scope {
        model,
        values,
        n: model.ram.nx,
        defined: vec![],
    };
    let mut out = Vec::new();
    for e in &model.pt.exprs {
        let row = &model.pt.rows[e.row];
        if row.op != ":=" {
            continue;
        }
        let d = scope.eval(&e.rhs)?;
        scope.defined.push((row.lhs.clone(), d.clone()));
        out.push((e.row, d));
    }
    Ok(out)
}

/// The delta-method standard error sqrt(J V J'), computed scale-safely:
/// J is divided by its largest element s before the product and s is put
/// back after the square root, so `1e200*a` does not overflow to infinity
/// and `1e-170*a` does not underflow to zero. `Err(var)` when the variance
/// is negative or not a number (with the scaled-back variance, for the
/// message), `Ok(None)` when the SE is not representable (beyond f64).
pub fn delta_se(j: &[f64], v: &nalgebra::DMatrix<f64>) -> Result<Option<f64>, f64> {
    let s = j.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if s.is_nan() || j.iter().any(|x| x.is_nan()) {
        return Err(f64::NAN);
    }
    if s == 0.0 {
        return Ok(Some(0.0));
    }
    if !s.is_finite() {
        return Ok(None);
    }
    let u = nalgebra::DVector::from_iterator(j.len(), j.iter().map(|x| x / s));
    let q = (u.transpose() * v * &u)[(0, 0)];
    if q.is_nan() || q < 0.0 {
        return Err(q * s * s);
    }
    let se = q.sqrt() * s;
    Ok(se.is_finite().then_some(se))
}

#[cfg(test)]
mod tests {
    use super::delta_se;
    use nalgebra::DMatrix;

    #[test]
    fn delta_se_is_scale_safe() {
        let v = DMatrix::from_row_slice(2, 2, &[0.04, 0.01, 0.01, 0.09]);
        let base = delta_se(&[1.0, 2.0], &v).unwrap().unwrap();
        let want = (0.04f64 + 4.0 * 0.01 + 4.0 * 0.09).sqrt();
        assert!((base - want).abs() < 1e-15);
        for k in [1e200, 1e-170, 1e300, 1e-300] {
            let se = delta_se(&[k, 2.0 * k], &v).unwrap().unwrap();
            assert!((se / (k * want) - 1.0).abs() < 1e-12, "{k}: {se:e}");
        }
        assert_eq!(delta_se(&[0.0, 0.0], &v), Ok(Some(0.0)));
        // the SE itself beyond f64: not representable, not infinite
        assert_eq!(delta_se(&[1e308, 1e308], &DMatrix::from_element(2, 2, 1e10)), Ok(None));
        assert!(delta_se(&[1.0, -1.0], &DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0])).is_err());
    }
}

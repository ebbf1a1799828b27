//! Direct, indirect and total effects (`--effects`): the second table of a
//! paper, what lavaan users write by hand as `ind := a*b`, `tot := c + a*b`.
//! For every ordered pair (from, to) of variables of the structural part
//! (the `~` rows of a group) joined by at least one directed path of two or
//! more steps: the direct effect (the `to ~ from` coefficient, 0 without
//! one), the total indirect effect (the sum over those paths of the
//! products of their coefficients), and the total effect (direct +
//! indirect). Each is built as a `:=` expression over the coefficients'
//! parameter labels and evaluated by `defined` (dual numbers), so the
//! delta-method standard error J V J', z, p and normal interval are exactly
//! those lavaan prints for the hand-written `:=` line. std.all is the
//! effect times sd(from) / sd(to) (model-implied), which equals lavaan's
//! `standardizedSolution()` of the `:=` line (path products telescope).
//! With `--se bootstrap`, SEs and intervals come from the same bootstrap
//! draws as the parameters (the expressions evaluated at every draw).
//! `--effects all` adds every specific indirect path. Feedback loops are
//! refused with a warning: their effects are not finite sums of paths.

use super::bootstrap::{summarize_one, CiType, Draws};
use super::defined::{Dual, Scope};
use crate::model::ram::Implied;
use crate::model::Model;
use crate::syntax::ast::Name;
use crate::syntax::{Expr, Span};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Totals only, or also each specific indirect path (`--effects all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Totals,
    All,
}

/// One effect with its test.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpecificEffect {
    /// the variables along the path, from first to last
    pub path: Vec<String>,
    pub est: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub pvalue: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    pub std_all: Option<f64>,
}

/// One ordered pair: direct, total indirect and total effect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub from: String,
    pub to: String,
    pub group: usize,
    pub direct: Option<f64>,
    pub direct_std_all: Option<f64>,
    pub indirect: Option<f64>,
    pub indirect_se: Option<f64>,
    pub indirect_z: Option<f64>,
    pub indirect_pvalue: Option<f64>,
    pub indirect_ci_lower: Option<f64>,
    pub indirect_ci_upper: Option<f64>,
    pub indirect_std_all: Option<f64>,
    pub total: Option<f64>,
    pub total_se: Option<f64>,
    pub total_z: Option<f64>,
    pub total_pvalue: Option<f64>,
    pub total_ci_lower: Option<f64>,
    pub total_ci_upper: Option<f64>,
    pub total_std_all: Option<f64>,
    /// with `--effects all`: each indirect path
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specific: Option<Vec<SpecificEffect>>,
}

/// How standard errors and intervals are made.
pub enum Uncertainty<'a> {
    /// delta method with this covariance matrix of the free parameters
    Delta(Option<&'a DMatrix<f64>>),
    /// the bootstrap draws of the free parameters
    Bootstrap(&'a Draws, CiType),
}

/// The most paths enumerated per pair before giving up (a dense model).
const MAX_PATHS: usize = 10_000;

fn var(name: &str) -> Expr {
    Expr::Var(Name {
        name: name.to_string(),
        span: Span { start: 0, end: 0 },
    })
}

fn sum(terms: Vec<Expr>) -> Expr {
    terms
        .into_iter()
        .reduce(|a, b| Expr::Bin('+', Box::new(a), Box::new(b)))
        .unwrap_or(Expr::Num(0.0))
}

/// A path as a product of its coefficients' plabels (edges: `~` rows).
fn product(edges: &[usize], model: &Model) -> Expr {
    edges
        .iter()
        .map(|&r| var(&model.pt.rows[r].plabel))
        .reduce(|a, b| Expr::Bin('*', Box::new(a), Box::new(b)))
        .unwrap_or(Expr::Num(0.0))
}

struct Stat {
    est: Option<f64>,
    se: Option<f64>,
    z: Option<f64>,
    pvalue: Option<f64>,
    ci: Option<(f64, f64)>,
    std_all: Option<f64>,
}

/// Every effect of every group, with warnings for what could not be computed.
pub fn effects(
    model: &Model,
    x: &[f64],
    unc: &Uncertainty,
    level: f64,
    detail: Detail,
    labels: &crate::data::groups::GroupLabels,
) -> (Vec<Effect>, Vec<String>) {
    let ram = &model.ram;
    let p = ram.p();
    let values = super::row_values(model, x);
    let scope = Scope {
        model,
        values: &values,
        n: ram.nx,
        defined: vec![],
    };
    // bootstrap draws: row values of each draw
    let draw_values: Vec<Vec<f64>> = match unc {
        Uncertainty::Bootstrap(d, _) => d.x.iter().map(|xb| super::row_values(model, xb)).collect(),
        Uncertainty::Delta(_) => vec![],
    };
    let normal = Normal::new(0.0, 1.0).unwrap();
    let zq = normal.inverse_cdf(0.5 + level / 2.0);
    let mut warnings = Vec::new();
    let mut extreme = false;
    let mut out = Vec::new();
    let ngroups = ram.groups.len();
    for g in 0..ngroups {
        let in_group = labels.in_group(g, ngroups);
        // the structural graph: variables in order of appearance, edges from rhs to lhs
        let mut vars: Vec<String> = Vec::new();
        let mut edges: Vec<(usize, usize, usize)> = Vec::new(); // (from, to, row)
        for (r, row) in model.pt.rows.iter().enumerate() {
            if row.op != "~" || row.group.max(1) != g + 1 {
                continue;
            }
            let mut at = |n: &str| match vars.iter().position(|v| v == n) {
                Some(k) => k,
                None => {
                    vars.push(n.to_string());
                    vars.len() - 1
                }
            };
            let (to, from) = (at(&row.lhs), at(&row.rhs));
            edges.push((from, to, r));
        }
        if edges.is_empty() {
            if g == 0 {
                warnings.push(
                    "--effects: the model has no regressions (`y ~ x`), so there are no direct, indirect or total effects to report".into(),
                );
            }
            continue;
        }
        if let Some(v) = cycle(vars.len(), &edges) {
            warnings.push(format!(
                "--effects: the structural model{in_group} has a feedback loop through `{}`; its effects are not finite sums of paths, so no effects are reported",
                vars[v]
            ));
            continue;
        }
        let sd: Vec<Option<f64>> = {
            let (a, s, m) = ram.matrices(g, x);
            let imp = Implied::new(&a, &s, &m, p);
            vars.iter()
                .map(|v| {
                    let i = ram.index(v)?;
                    let c = imp.as_ref()?.c[(i, i)];
                    (c > 0.0 && c.is_finite()).then(|| c.sqrt())
                })
                .collect()
        };
        let start = out.len();
        for from in 0..vars.len() {
            for to in 0..vars.len() {
                if from == to {
                    continue;
                }
                let mut paths: Vec<Vec<usize>> = Vec::new();
                let mut stack = vec![];
                let mut overflow = false;
                walk(from, to, &edges, &mut stack, &mut vec![from], &mut paths, &mut overflow);
                if overflow {
                    warnings.push(format!(
                        "--effects: more than {MAX_PATHS} paths lead from `{}` to `{}`{in_group}; their effects are left out",
                        vars[from], vars[to]
                    ));
                    continue;
                }
                let (direct, indirect): (Vec<Vec<usize>>, Vec<Vec<usize>>) = paths.into_iter().partition(|p| p.len() == 1);
                if indirect.is_empty() {
                    continue;
                }
                let scale = match (sd[from], sd[to]) {
                    (Some(a), Some(b)) => Some(a / b),
                    _ => None,
                };
                let stat = |e: &Expr, extreme: &mut bool| -> Stat {
                    let d: Option<Dual> = scope.eval(e).ok().filter(|d| d.v.is_finite());
                    let Some(d) = d else {
                        return Stat {
                            est: None,
                            se: None,
                            z: None,
                            pvalue: None,
                            ci: None,
                            std_all: None,
                        };
                    };
                    let est = d.v;
                    let (se, ci) = match unc {
                        Uncertainty::Delta(v) => {
                            let se = v.and_then(|v| {
                                let j = DVector::from_column_slice(&d.d);
                                let var = (j.transpose() * v * &j)[(0, 0)];
                                (var >= 0.0).then(|| var.sqrt())
                            });
                            (se, se.map(|s| (est - zq * s, est + zq * s)))
                        }
                        Uncertainty::Bootstrap(_, ci) => {
                            let col: Vec<f64> = draw_values
                                .iter()
                                .map(|vals| {
                                    let s = Scope {
                                        model,
                                        values: vals,
                                        n: ram.nx,
                                        defined: vec![],
                                    };
                                    s.eval(e).map_or(f64::NAN, |d| d.v)
                                })
                                .collect();
                            let b = summarize_one(est, &col, 1.0, level, *ci, false, extreme);
                            (b.se, b.ci)
                        }
                    };
                    let (z, pvalue) = match se {
                        Some(s) if s > 0.0 => {
                            let z = est / s;
                            (Some(z), Some(2.0 * (1.0 - normal.cdf(z.abs()))))
                        }
                        _ => (None, None),
                    };
                    Stat {
                        est: Some(est),
                        se,
                        z,
                        pvalue,
                        ci,
                        std_all: scale.map(|k| est * k).filter(|v| v.is_finite()),
                    }
                };
                let direct_row = direct.first().map(|p| p[0]);
                let direct_est = match direct_row {
                    Some(r) => values[r],
                    None => 0.0,
                };
                let ind_expr = sum(indirect.iter().map(|p| product(p, model)).collect());
                let mut all_terms: Vec<Expr> = direct.iter().map(|p| product(p, model)).collect();
                all_terms.extend(indirect.iter().map(|p| product(p, model)));
                let tot_expr = sum(all_terms);
                let ind = stat(&ind_expr, &mut extreme);
                let tot = stat(&tot_expr, &mut extreme);
                let specific = (detail == Detail::All).then(|| {
                    indirect
                        .iter()
                        .map(|path| {
                            let s = stat(&product(path, model), &mut extreme);
                            let mut names = vec![vars[from].clone()];
                            names.extend(path.iter().map(|&r| model.pt.rows[r].lhs.clone()));
                            SpecificEffect {
                                path: names,
                                est: s.est,
                                se: s.se,
                                z: s.z,
                                pvalue: s.pvalue,
                                ci_lower: s.ci.map(|c| c.0),
                                ci_upper: s.ci.map(|c| c.1),
                                std_all: s.std_all,
                            }
                        })
                        .collect()
                });
                out.push(Effect {
                    from: vars[from].clone(),
                    to: vars[to].clone(),
                    group: g + 1,
                    direct: Some(direct_est),
                    direct_std_all: scale.map(|k| direct_est * k).filter(|v| v.is_finite()),
                    indirect: ind.est,
                    indirect_se: ind.se,
                    indirect_z: ind.z,
                    indirect_pvalue: ind.pvalue,
                    indirect_ci_lower: ind.ci.map(|c| c.0),
                    indirect_ci_upper: ind.ci.map(|c| c.1),
                    indirect_std_all: ind.std_all,
                    total: tot.est,
                    total_se: tot.se,
                    total_z: tot.z,
                    total_pvalue: tot.pvalue,
                    total_ci_lower: tot.ci.map(|c| c.0),
                    total_ci_upper: tot.ci.map(|c| c.1),
                    total_std_all: tot.std_all,
                    specific,
                });
            }
        }
        if out.len() == start && g == 0 {
            warnings.push(
                "--effects: no two variables are joined by a path of two or more regressions, so there are no indirect effects to report"
                    .into(),
            );
        }
    }
    if extreme {
        warnings.push(
            "some bootstrap intervals of effects use the smallest or largest draw as an end point; use more --bootstrap draws".into(),
        );
    }
    (out, warnings)
}

/// Depth-first enumeration of the simple paths from `at` to `to`; each path
/// is the list of its edges' rows.
fn walk(
    at: usize,
    to: usize,
    edges: &[(usize, usize, usize)],
    stack: &mut Vec<usize>,
    seen: &mut Vec<usize>,
    paths: &mut Vec<Vec<usize>>,
    overflow: &mut bool,
) {
    if *overflow {
        return;
    }
    if at == to {
        paths.push(stack.clone());
        if paths.len() > MAX_PATHS {
            *overflow = true;
        }
        return;
    }
    for &(f, t, r) in edges {
        if f != at || seen.contains(&t) {
            continue;
        }
        stack.push(r);
        seen.push(t);
        walk(t, to, edges, stack, seen, paths, overflow);
        seen.pop();
        stack.pop();
    }
}

/// A variable on a directed cycle, if the graph has one.
fn cycle(n: usize, edges: &[(usize, usize, usize)]) -> Option<usize> {
    // Kahn's algorithm: what cannot be ordered lies on (or behind) a cycle
    let mut indeg = vec![0usize; n];
    for &(_, t, _) in edges {
        indeg[t] += 1;
    }
    let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut done = 0;
    while let Some(v) = queue.pop() {
        done += 1;
        for &(f, t, _) in edges {
            if f == v {
                indeg[t] -= 1;
                if indeg[t] == 0 {
                    queue.push(t);
                }
            }
        }
    }
    (done < n).then(|| (0..n).find(|&v| indeg[v] > 0)).flatten()
}

//! From syntax to a model that can be estimated: the parameter table with
//! lavaan's defaults (`partable`, `vnames`), the free parameters after
//! equality constraints, identification pre-checks, and the RAM matrices
//! (`ram`) the estimator works on. A `Model` cannot exist without a valid
//! parameter table.

pub mod constraints;
pub mod partable;
pub mod ram;
pub mod vnames;

pub use partable::{ParRow, ParTable, TableOptions};
pub use ram::Ram;

use crate::syntax::{Diagnostic, ModelSyntax};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct Model {
    pub pt: ParTable,
    pub ram: Ram,
    /// for each parameter-table row, its free parameter after equality constraints
    pub x_of_row: Vec<Option<usize>>,
    /// constraints the estimator cannot honour yet: the table is valid, but
    /// `fit` refuses the model with this message
    pub unsupported: Vec<String>,
    /// the rank of the general `==` constraints (`constraints`): the free
    /// parameters they remove from npar
    pub extra_eq: usize,
}

/// Errors found in a model that parses but cannot be fitted.
#[derive(Debug, Clone)]
pub enum ModelError {
    /// points into the model file
    Syntax(Diagnostic),
    /// a problem with the model as a whole (identification, unsupported feature)
    Model(String),
}

impl Model {
    pub fn new(syntax: &ModelSyntax, opt: &TableOptions) -> Result<Model, ModelError> {
        let pt = partable::build(syntax, opt).map_err(ModelError::Syntax)?;
        let (x_of_row, nx, unsupported, tied) = free_parameters(&pt);
        check_scale(&pt).map_err(ModelError::Model)?;
        let mut ram = Ram::new(&pt, &x_of_row, nx);
        let cons =
            constraints::Constraints::new(&pt, &x_of_row, nx, &tied).map_err(|(row, msg)| match pt.rows.get(row).and_then(|r| r.span) {
                Some(span) => ModelError::Syntax(Diagnostic::new(msg, span, "this constraint")),
                None => ModelError::Model(msg),
            })?;
        let extra_eq = cons.as_ref().map_or(0, |c| c.rank);
        let mut pt = pt;
        if cons.as_ref().is_some_and(|c| c.bounds_ignored) {
            pt.warnings.push(
                "lower() and upper() bounds have no effect in the presence of linear equality constraints (shared labels, group.equal, `==`); they are ignored, as in lavaan"
                    .into(),
            );
        }
        let cons = cons.filter(|c| !(c.eqs.is_empty() && c.ins.is_empty()));
        ram.constraints = cons.map(std::sync::Arc::new);
        Ok(Model {
            pt,
            ram,
            x_of_row,
            unsupported,
            extra_eq,
        })
    }

    /// Effective number of free parameters (free less equality constraints).
    pub fn npar(&self) -> usize {
        self.ram.nx.saturating_sub(self.extra_eq)
    }

    /// Number of sample moments the model accounts for (lavaan's ndat): the
    /// variances, covariances (and means) of the observed variables, less those
    /// of fixed.x covariates, which are taken from the sample as they are.
    pub fn ndat(&self) -> usize {
        if !self.pt.names.ov_ord.is_empty() {
            return self.ndat_categorical();
        }
        let p = self.pt.names.ov.len();
        let nx = self.pt.names.ov_x.len();
        let mut per = p * (p + 1) / 2 - nx * (nx + 1) / 2;
        if self.pt.meanstructure {
            per += p - nx;
        }
        per * self.pt.ngroups
    }

    /// lavaan's ndat with ordinal variables: the length of `wls.obs` summed
    /// over groups (thresholds, means and variances of the continuous
    /// variables, correlations), one threshold per `|` row.
    fn ndat_categorical(&self) -> usize {
        let names = &self.pt.names;
        let p = names.ov_nox().len();
        let ord: HashSet<&String> = names.ov_ord.iter().collect();
        let ncont = names.ov_nox().iter().filter(|v| !ord.contains(v)).count();
        // conditional.x: each endogenous variable's slopes on the covariates
        let slopes = p * names.ov_x.len();
        (1..=self.pt.ngroups)
            .map(|g| self.pt.rows.iter().filter(|r| r.group == g && r.op == "|").count() + 2 * ncont + p * (p - 1) / 2 + slopes)
            .sum()
    }

    pub fn df(&self) -> i64 {
        self.ndat() as i64 - self.npar() as i64
    }
}

/// Map free rows to free parameters: rows that share a label (or are tied by
/// a `lbl == lbl` constraint) share one parameter. Also returns the `==`
/// rows honoured that way; the other constraints are `constraints`'.
fn free_parameters(pt: &ParTable) -> (Vec<Option<usize>>, usize, Vec<String>, Vec<usize>) {
    let unsupported = Vec::new();
    let mut tied = Vec::new();
    let n = pt.rows.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while p[r] != r {
            r = p[r];
        }
        p[i] = r;
        r
    }
    // free rows by label, in table order (a linear search per labelled row
    // would be quadratic: with group.equal every row has a label); a plabel
    // `.pN.` is row N - 1 itself
    let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in pt.rows.iter().enumerate().filter(|(_, r)| r.free > 0 && !r.label.is_empty()) {
        by_label.entry(r.label.as_str()).or_default().push(i);
    }
    let lookup = |name: &str| -> Vec<usize> {
        let mut v = by_label.get(name).cloned().unwrap_or_default();
        let by_plabel = name
            .strip_prefix(".p")
            .and_then(|s| s.strip_suffix('.'))
            .and_then(|s| s.parse::<usize>().ok())
            .and_then(|id| id.checked_sub(1))
            .filter(|&i| i < n && pt.rows[i].free > 0 && pt.rows[i].plabel == name);
        if let Some(i) = by_plabel {
            if let Err(at) = v.binary_search(&i) {
                v.insert(at, i);
            }
        }
        v
    };
    // shared labels
    let mut joined: HashSet<&str> = HashSet::new();
    for i in 0..n {
        if pt.rows[i].free == 0 || pt.rows[i].label.is_empty() {
            continue;
        }
        // every free row named by this label joins row i (each label once:
        // a second holder would join the same rows again)
        if !joined.insert(pt.rows[i].label.as_str()) {
            continue;
        }
        for j in lookup(pt.rows[i].label.as_str()) {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[b] = a;
        }
    }
    // the `==` rows the table implies between plabels (a label written as a
    // parameter name, `equal("f=~x2")`, ties rows whose labels differ)
    for r in pt.rows.iter().filter(|r| r.op == "==" && r.user == 2) {
        if let (Some(&a), Some(&b)) = (lookup(&r.lhs).first(), lookup(&r.rhs).first()) {
            let (a, b) = (find(&mut parent, a), find(&mut parent, b));
            parent[b] = a;
        }
    }
    for e in &pt.exprs {
        if pt.rows[e.row].op != "==" {
            continue;
        }
        use crate::syntax::Expr;
        let single = |e: &Expr| {
            if let Expr::Var(n) = e {
                Some(n.name.clone())
            } else {
                None
            }
        };
        if let (Some(a), Some(b)) = (e.lhs.as_ref().and_then(single), single(&e.rhs)) {
            if let (Some(&ra), Some(&rb)) = (lookup(&a).first(), lookup(&b).first()) {
                let (ra, rb) = (find(&mut parent, ra), find(&mut parent, rb));
                parent[rb] = ra;
                tied.push(e.row);
            }
        }
    }
    let mut x_of_row = vec![None; n];
    let mut root_x: Vec<Option<usize>> = vec![None; n];
    let mut nx = 0;
    for (i, slot) in x_of_row.iter_mut().enumerate() {
        if pt.rows[i].free == 0 {
            continue;
        }
        let r = find(&mut parent, i);
        let x = *root_x[r].get_or_insert_with(|| {
            nx += 1;
            nx - 1
        });
        *slot = Some(x);
    }
    (x_of_row, nx, unsupported, tied)
}

/// Every latent variable needs a scale: a fixed loading or a fixed variance,
/// or, in a multiple-group model, a loading held equal to one of a group
/// where the factor has its scale (lavaan's std.lv with equal loadings frees
/// the variances of groups 2..G).
fn check_scale(pt: &ParTable) -> Result<(), String> {
    // one pass over the rows: per (group, factor) its loadings and whether
    // it has a scale of its own (a loading fixed at a nonzero value, or a
    // fixed variance); a linear search per factor and group would be quadratic
    let mut loads: HashMap<(usize, &str), Vec<&ParRow>> = HashMap::new();
    let mut own: HashSet<(usize, &str)> = HashSet::new();
    for r in &pt.rows {
        let key = (r.group, r.lhs.as_str());
        // the phantom row `f =~ f` of `f =~ 0` is no indicator: such a factor
        // takes its scale from the paths that use it
        if r.op == "=~" && r.rhs != r.lhs {
            loads.entry(key).or_default().push(r);
            if r.free == 0 && r.ustart.is_some_and(|v| v != 0.0) {
                own.insert(key);
            }
        } else if r.op == "~~" && r.lhs == r.rhs && r.free == 0 {
            own.insert(key);
        }
    }
    for f in &pt.names.lv {
        let f = f.as_str();
        let scaled_labels: HashSet<&str> = (1..=pt.ngroups)
            .filter(|&g| own.contains(&(g, f)))
            .flat_map(|g| loads.get(&(g, f)).into_iter().flatten())
            .filter(|r| !r.label.is_empty())
            .map(|r| r.label.as_str())
            .collect();
        for g in 1..=pt.ngroups {
            let Some(ls) = loads.get(&(g, f)) else { continue };
            if own.contains(&(g, f)) {
                continue;
            }
            let borrowed = ls.iter().any(|r| !r.label.is_empty() && scaled_labels.contains(r.label.as_str()));
            if !borrowed {
                return Err(format!(
                    "the latent variable `{f}` has no scale: all its loadings and its variance are free, so the model is not identified. Fix one loading (`{f} =~ 1*{}`) or its variance (`{f} ~~ 1*{f}`), or use --std-lv",
                    ls[0].rhs
                ));
            }
        }
    }
    Ok(())
}

//! `sem simulate`: draw a data set from a population model, so that a claim
//! ("H3 holds in real estate, not in a small B2B sample") can be tried on data
//! whose truth is known. The population model is ordinary lavaan syntax with
//! fixed values (`ALLO =~ 0.8*allo1`, `NET ~ 0.3*ALLO`), read with `sem()`'s
//! defaults (`TableOptions::sem()`, the table `sem check MODEL` prints).
//!
//! Population values. Every row takes the value written for it (`0.8*x`, or
//! `start(0.8)*x` on a free row, as lavaan's `simulateData()` reads `ustart`).
//! A row without a value gets lavaan's `simulateData()` default:
//!
//! | row | value |
//! |---|---|
//! | loading `=~` | 1 (0.7 with `standardized`); a first loading fixed to 1 by the marker rule keeps 1 (0.7 with `standardized`) |
//! | regression `~` | 0 |
//! | variance `x ~~ x` | 1: residual variances of observed and latent variables, variances of exogenous factors and of exogenous covariates (fixed.x rows) |
//! | covariance `x ~~ y` | 0, also among exogenous factors, dependent variables and covariates |
//! | intercept `~ 1` | 0: all means are 0 unless the model writes intercepts |
//!
//! Rows `sem()` fixes itself keep that value (the zero residual variance of a
//! single indicator of a factor, zero latent means). With `standardized`
//! (lavaan's `standardized = TRUE`) the unwritten residual variance of every
//! dependent variable, observed or latent, is 1 minus its explained variance,
//! found by the fixed point `psi_i <- psi_i + 1 - C_ii` (exact after as many
//! passes as the longest chain of effects), so every variable has variance 1
//! (lavaan 0.6-14 solves the latent ones in a single pass, which leaves a
//! factor at the end of a chain of latent effects with a variance above 1;
//! its observed variables it does standardize exactly, as here).
//! Unwritten loadings and regressions are listed in a warning; `==`, `<`, `>`
//! constraints and `:=` definitions do not change a population and are
//! ignored (constraints with a warning). A population is refused when a
//! variance is negative, a written covariance implies a correlation beyond
//! ±1, `I - A` is singular, or the implied covariance matrix Sigma of the
//! observed variables is not positive definite. A model built with groups
//! (`sem power --n 200+200`) has one population per group, from that group's
//! rows (`y ~ c(0.1, 0.5)*f`: 0.1 in group 1, 0.5 in group 2).
//!
//! Drawing. Sigma = F B S B' F' and mu = F B m with B = (I - A)^-1 from the
//! RAM matrices (`model::ram`); the products are plain loops in a fixed order
//! rather than `Implied::new`, whose nalgebra products go through
//! `matrixmultiply`, which picks SIMD (and FMA) kernels at run time and so
//! may differ in the last bit between machines. One ChaCha8 stream
//! (`rand_chacha`, seeded with `seed_from_u64(seed)`) gives uniforms
//! `(u64 >> 11) * 2^-53` and standard normals by Marsaglia's polar method
//! (with the pure-Rust `libm` log). Row by row, column by column, `N x p`
//! normals `z` are drawn and `x = mu + L z` with `L` the Cholesky factor of
//! Sigma (nalgebra). With `likert = K`, variable `j` becomes
//! `1 + #{k in 1..K-1 : x_j > mu_j + sd_j * qnorm(k/K)}`, `sd_j` its
//! population standard deviation: K categories of equal probability 1/K, a
//! value on a threshold falling in the lower category. With `missing = RATE`,
//! after all the data, one more uniform `u` per cell from the same stream,
//! row by row: the cell is left empty when `u < RATE` (missing completely at
//! random). So the same seed gives the same underlying draws with and without
//! `likert` and `missing`, and the same bytes on every machine and thread
//! count. The CSV has a header of the observed variables in the model's order
//! and every value with `digits` decimals (`-0.000000` is written `0.000000`).

use crate::model::ram::Mat;
use crate::model::{Model, ModelError, TableOptions};
use crate::pipeline::{read_model_file, SemError};
use crate::syntax::{self, Lhs, ModKind, ModelSyntax, Op, Rhs};
use nalgebra::{DMatrix, DVector};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// The defaults as `sem simulate --help` prints them.
pub const RULES: &str = "\
Population values: every parameter takes the value written in MODEL (`0.8*x1`, or
start(0.8)*x1). The model is read with sem()'s defaults (see `sem check MODEL`). A
parameter without a value gets lavaan's simulateData() default:
  loading  =~          1 (0.7 with --standardized); a first loading fixed to 1 by the
                       marker rule stays 1 (0.7 with --standardized)
  regression  ~        0
  variance  x ~~ x     1: residual variances of observed and latent variables, variances of
                       exogenous factors and covariates. With --standardized, the residual
                       variance of every dependent variable is 1 minus its explained variance,
                       so that every variable has variance 1
  covariance  x ~~ y   0 (also among exogenous factors and covariates)
  intercept  ~ 1       0: all means are 0 unless the model writes intercepts
Unwritten loadings and regressions are listed in a warning. Constraints (==, <, >) and :=
are ignored. A model with a negative variance, a correlation beyond 1, or an implied
covariance matrix that is not positive definite is refused (exit 2).

Drawing: one ChaCha8 stream seeded with --seed; N x p standard normals (polar method), row
by row, x = mu + L z with L the Cholesky factor of the implied covariance matrix. The same
seed gives the same bytes on every machine. Columns: the observed variables in the model's
order.
  --likert K      x_j becomes 1 + #{k : x_j > mu_j + sd_j * qnorm(k/K), k = 1..K-1}, sd_j its
                  population sd: K categories of equal probability
  --missing RATE  after the data, one uniform u per cell (row by row) from the same stream;
                  the cell is left empty when u < RATE (missing completely at random)
The same seed with and without --likert or --missing gives the same underlying draws.";

/// The largest data set drawn at once (rows x columns), about 1 GB in memory.
pub const MAX_CELLS: usize = 50_000_000;

/// What `draw` is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// number of rows, at least 1
    pub n: usize,
    pub seed: u64,
    /// number of ordered categories (2..=100), or continuous values
    pub likert: Option<u32>,
    /// probability that a cell is left empty, in [0, 1)
    pub missing: f64,
    /// unwritten loadings 0.7, unwritten residual variances so every variable has variance 1
    pub standardized: bool,
    /// decimals of continuous values (0..=17)
    pub digits: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            n: 100,
            seed: 1,
            likert: None,
            missing: 0.0,
            standardized: false,
            digits: 6,
        }
    }
}

/// Errors of this stage; all are bad input (exit 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// an option out of range
    #[error("{0}")]
    Options(String),
    /// a population that cannot be drawn from; `row` points into the parameter table
    #[error("{message}")]
    Population { message: String, row: Option<usize> },
}

impl From<SimError> for SemError {
    fn from(e: SimError) -> Self {
        SemError::Input(e.to_string())
    }
}

impl SimOptions {
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Options(m));
        if self.n < 1 {
            return bad("--n must be at least 1 (the number of rows to draw)".into());
        }
        if let Some(k) = self.likert {
            if !(2..=100).contains(&k) {
                return bad(format!("--likert takes a number of categories from 2 to 100, not {k}"));
            }
        }
        if !(self.missing >= 0.0 && self.missing < 1.0) {
            return bad(format!(
                "--missing takes the probability that a cell is empty, from 0 up to (not including) 1, not {}",
                self.missing
            ));
        }
        if self.digits > 17 {
            return bad(format!("--digits takes 0 to 17 decimals, not {}", self.digits));
        }
        Ok(())
    }
}

/// Where a population value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// written in the model (a fixed value or start(v))
    Written,
    /// a first loading fixed to 1 by the marker rule
    Marker,
    /// fixed by `sem()` itself (single-indicator residual, latent mean)
    Rule,
    /// no value written: the default of the table above
    Default,
    /// a residual variance solved so that the variable has variance 1
    Standardized,
}

/// The value of one parameter-table row in the population.
#[derive(Debug, Clone, PartialEq)]
pub struct PopValue {
    pub row: usize,
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub value: f64,
    pub source: Source,
}

/// A population ready to draw from.
#[derive(Debug, Clone)]
pub struct Population {
    /// observed variables, the CSV columns
    pub ov: Vec<String>,
    /// latent variables
    pub lv: Vec<String>,
    /// implied covariance matrix of the observed variables
    pub sigma: DMatrix<f64>,
    /// implied means of the observed variables
    pub mu: DVector<f64>,
    /// implied covariance matrix of all variables, observed then latent
    pub cov_all: DMatrix<f64>,
    /// lower Cholesky factor of sigma
    pub chol: DMatrix<f64>,
    /// one value per row of the parameter table that enters the matrices
    pub values: Vec<PopValue>,
    pub warnings: Vec<String>,
}

impl Population {
    /// The value of `lhs op rhs` (a covariance in either order), if the table has that row.
    pub fn value(&self, lhs: &str, op: &str, rhs: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.op == op && ((v.lhs == lhs && v.rhs == rhs) || (op == "~~" && v.lhs == rhs && v.rhs == lhs)))
            .map(|v| v.value)
    }
}

/// The population model: the parameter table with `sem()`'s defaults.
pub fn population_model(syntax: &ModelSyntax) -> Result<Model, ModelError> {
    population_model_groups(syntax, 1)
}

/// The population model of `ngroups` groups (`sem power --n 200+200`): a
/// value written `c(0.1, 0.5)*x` gives each group its own, a single value
/// applies to every group (as lavaan's `simulateData()` with groups).
pub fn population_model_groups(syntax: &ModelSyntax, ngroups: usize) -> Result<Model, ModelError> {
    Model::new(
        syntax,
        &TableOptions {
            ngroups: ngroups.max(1),
            ..TableOptions::sem()
        },
    )
}

/// `(lhs, op, rhs)` of every term written with a fixed value or start().
fn valued_terms(syntax: &ModelSyntax) -> HashSet<(String, String, String)> {
    let mut out = HashSet::new();
    for st in &syntax.statements {
        let (Lhs::Names(lhs), Rhs::Terms(terms)) = (&st.lhs, &st.rhs) else {
            continue;
        };
        for t in terms {
            let valued = t.mods.iter().any(|m| match &m.kind {
                ModKind::Fixed(v) | ModKind::Start(v) => v.iter().any(Option::is_some),
                ModKind::Label(_) | ModKind::Lower(_) | ModKind::Upper(_) => false,
            });
            if !valued {
                continue;
            }
            for l in lhs {
                let (op, rhs): (&'static str, String) = match (&t.var, st.op) {
                    (None, Op::Measure) => ("=~", l.name.clone()),
                    (None, _) => ("~1", String::new()),
                    (Some(v), Op::Measure) => ("=~", v.clone()),
                    (Some(v), Op::Regress | Op::Form) => ("~", v.clone()),
                    (Some(v), _) => ("~~", v.clone()),
                };
                if op == "~~" {
                    out.insert((rhs.clone(), op.to_string(), l.name.clone()));
                }
                out.insert((l.name.clone(), op.to_string(), rhs));
            }
        }
    }
    out
}

fn pop_err(message: String, row: Option<usize>) -> SimError {
    SimError::Population { message, row }
}

/// Population values of every row, the implied moments, and their checks
/// (the first group of a model with groups).
pub fn population(model: &Model, syntax: &ModelSyntax, standardized: bool) -> Result<Population, SimError> {
    population_of_group(model, syntax, standardized, 0)
}

/// The population of each group of the model, in group order.
pub fn populations(model: &Model, syntax: &ModelSyntax, standardized: bool) -> Result<Vec<Population>, SimError> {
    (0..model.pt.ngroups.max(1))
        .map(|g| population_of_group(model, syntax, standardized, g))
        .collect()
}

/// The population of group `g` (from 0): the rows of that group and its RAM
/// cells; the other groups' rows do not enter.
pub fn population_of_group(model: &Model, syntax: &ModelSyntax, standardized: bool, g: usize) -> Result<Population, SimError> {
    let pt = &model.pt;
    let ram = &model.ram;
    let valued = valued_terms(syntax);
    let mut warnings = pt.warnings.clone();
    let constraints: Vec<String> = pt
        .rows
        .iter()
        .filter(|r| matches!(r.op.as_str(), "==" | "<" | ">") && r.user == 1)
        .map(|r| format!("{} {} {}", r.lhs, r.op, r.rhs))
        .collect();
    if !constraints.is_empty() {
        warnings.push(format!(
            "constraints do not apply to a population model and are ignored: {}; write the values themselves",
            constraints.join(", ")
        ));
    }
    let loading_default = if standardized { 0.7 } else { 1.0 };
    let mut values = Vec::new();
    let mut unvalued = Vec::new();
    for (r, row) in pt.rows.iter().enumerate() {
        if !matches!(row.op.as_str(), "=~" | "~" | "~~" | "~1") || row.group.max(1) != g + 1 {
            continue;
        }
        let written = valued.contains(&(row.lhs.clone(), row.op.clone(), row.rhs.clone()));
        let (value, source) = if row.op == "=~" && row.free == 0 && !written {
            (loading_default, Source::Marker)
        } else if let Some(v) = row.ustart {
            (v, if row.user == 0 { Source::Rule } else { Source::Written })
        } else {
            let v = match row.op.as_str() {
                "=~" => loading_default,
                "~~" if row.lhs == row.rhs => 1.0,
                _ => 0.0,
            };
            if matches!(row.op.as_str(), "=~" | "~") {
                unvalued.push(format!("{} {} {} ({v})", row.lhs, row.op, row.rhs));
            }
            (v, Source::Default)
        };
        values.push(PopValue {
            row: r,
            lhs: row.lhs.clone(),
            op: row.op.clone(),
            rhs: row.rhs.clone(),
            value,
            source,
        });
    }
    if !unvalued.is_empty() {
        warnings.push(format!(
            "no population value is written for {}; these take lavaan's defaults (loadings {loading_default}, regressions 0)",
            unvalued.join(", ")
        ));
    }
    // a marker next to written loadings of the same factor is probably an oversight
    let markers: Vec<String> = values
        .iter()
        .filter(|v| v.source == Source::Marker)
        .filter(|v| values.iter().any(|w| w.op == "=~" && w.lhs == v.lhs && w.source == Source::Written))
        .map(|v| format!("{} =~ {}", v.lhs, v.rhs))
        .collect();
    if !markers.is_empty() {
        warnings.push(format!(
            "first loadings without a written value take {loading_default} (the marker rule), next to written loadings of the same factor: {}",
            markers.join(", ")
        ));
    }

    // the RAM matrices filled with the population values
    let nv = ram.nv();
    let p = ram.p();
    let names: Vec<&String> = ram.ov.iter().chain(ram.lv.iter()).collect();
    let value_of_row: std::collections::HashMap<usize, usize> = values.iter().enumerate().map(|(k, v)| (v.row, k)).collect();
    let (mut a, mut s, mut m) = (DMatrix::zeros(nv, nv), DMatrix::zeros(nv, nv), DVector::zeros(nv));
    let mut s_cell = vec![None; nv];
    let cells = ram.groups.get(g).map_or(&[][..], |gr| &gr.cells[..]);
    for c in cells {
        let Some(&k) = value_of_row.get(&c.row) else { continue };
        let v = values[k].value;
        match c.mat {
            Mat::A => a[(c.i, c.j)] = v,
            Mat::S => {
                s[(c.i, c.j)] = v;
                s[(c.j, c.i)] = v;
                if c.i == c.j {
                    s_cell[c.i] = Some(k);
                }
            }
            Mat::M => m[c.i] = v,
        }
    }
    let b = total_effects(&a).ok_or_else(|| {
        pop_err(
            "the population model has no solution: I - A is singular (the regressions among the variables feed back on themselves with a total effect of 1); change the values of the feedback loop".into(),
            None,
        )
    })?;

    if standardized {
        let dependent: HashSet<&str> = pt
            .rows
            .iter()
            .filter_map(|r| match r.op.as_str() {
                "=~" => Some(r.rhs.as_str()),
                "~" => Some(r.lhs.as_str()),
                _ => None,
            })
            .collect();
        let endogenous = |v: &str| dependent.contains(v);
        let mut solve = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if !endogenous(name) {
                continue;
            }
            match s_cell[i] {
                Some(k) if values[k].source == Source::Default => solve.push((i, k)),
                Some(k) if values[k].source == Source::Written => warnings.push(format!(
                    "with --standardized, the written residual variance of `{name}` ({}) is kept, so `{name}` need not have variance 1",
                    values[k].value
                )),
                _ => {}
            }
        }
        let mut converged = solve.is_empty();
        for _ in 0..(4 * nv + 100) {
            if converged {
                break;
            }
            let c = sandwich(&b, &s);
            let mut worst: f64 = 0.0;
            for &(i, _) in &solve {
                let d = 1.0 - c[(i, i)];
                s[(i, i)] += d;
                worst = worst.max(d.abs());
            }
            converged = worst < 1e-13;
        }
        if !converged {
            return Err(pop_err(
                "with --standardized, the residual variances that give every variable variance 1 could not be found (the model has feedback loops); write the residual variances instead".into(),
                None,
            ));
        }
        for &(i, k) in &solve {
            values[k].value = s[(i, i)];
            values[k].source = Source::Standardized;
        }
    }

    // checks: variances, correlations, Sigma positive definite
    for i in 0..nv {
        if s[(i, i)] < 0.0 {
            let k = s_cell[i];
            let what = if values
                .get(k.unwrap_or(usize::MAX))
                .is_some_and(|v| v.source == Source::Standardized)
            {
                format!(
                    "with --standardized, the loadings and paths into `{}` explain more than all of its variance (R² = {:.3}); lower them",
                    names[i],
                    1.0 - s[(i, i)]
                )
            } else {
                format!(
                    "the (residual) variance of `{}` is negative ({}); a variance must be 0 or more",
                    names[i],
                    s[(i, i)]
                )
            };
            return Err(pop_err(what, k.map(|k| values[k].row)));
        }
    }
    for v in &values {
        if v.op != "~~" || v.lhs == v.rhs {
            continue;
        }
        let (i, j) = (ram.index(&v.lhs).unwrap_or(0), ram.index(&v.rhs).unwrap_or(0));
        let bound = (s[(i, i)] * s[(j, j)]).sqrt();
        if v.value.abs() > bound * (1.0 + 1e-12) {
            return Err(pop_err(
                format!(
                    "`{} ~~ {}` = {} is larger than the (residual) standard deviations allow ({:.4}): a correlation beyond ±1",
                    v.lhs, v.rhs, v.value, bound
                ),
                Some(v.row),
            ));
        }
    }
    if !positive_semidefinite(&s) {
        return Err(pop_err(
            "the variances and covariances written in the model do not form a valid covariance matrix (not positive semi-definite); lower the covariances".into(),
            None,
        ));
    }
    let cov_all = sandwich(&b, &s);
    let sigma = cov_all.view((0, 0), (p, p)).into_owned();
    let mut bm = DVector::zeros(nv);
    for i in 0..nv {
        let mut acc = 0.0;
        for k in 0..nv {
            acc += b[(i, k)] * m[k];
        }
        bm[i] = acc;
    }
    let mu = bm.rows(0, p).into_owned();
    let chol = match nalgebra::Cholesky::new(sigma.clone()) {
        Some(c) => c.l(),
        None => {
            let flat: Vec<&str> = (0..p).filter(|&i| sigma[(i, i)] <= 0.0).map(|i| ram.ov[i].as_str()).collect();
            let hint = if flat.is_empty() {
                "some observed variables are exact linear combinations of others; give them residual variances above 0".to_string()
            } else {
                format!(
                    "{} would have no variance; give them a loading or a residual variance above 0",
                    flat.join(", ")
                )
            };
            return Err(pop_err(
                format!("the implied covariance matrix of the observed variables is not positive definite: {hint}"),
                None,
            ));
        }
    };
    Ok(Population {
        ov: ram.ov.clone(),
        lv: ram.lv.clone(),
        sigma,
        mu,
        cov_all,
        chol,
        values,
        warnings,
    })
}

/// The nonzero entries of each row of a matrix, `(column, value)` in column
/// order.
fn sparse_rows(m: &DMatrix<f64>) -> Vec<Vec<(usize, f64)>> {
    (0..m.nrows())
        .map(|i| (0..m.ncols()).filter(|&k| m[(i, k)] != 0.0).map(|k| (k, m[(i, k)])).collect())
        .collect()
}

/// B S B' with plain loops in a fixed order (see the module doc): every sum
/// runs over k in increasing order, as the dense triple loop would, but
/// skips the terms whose factor of B or S is zero (adding `0 * x` leaves a
/// finite sum unchanged, bit for bit). B and S of a measurement model are
/// sparse (a loading per indicator, a variance per variable), so this is
/// O(nv^2 x nonzeros per row) instead of O(nv^3): seconds, not hours, for
/// 3000 indicators.
fn sandwich(b: &DMatrix<f64>, s: &DMatrix<f64>) -> DMatrix<f64> {
    let n = b.nrows();
    let b_rows = sparse_rows(b);
    let s_rows = sparse_rows(s);
    // row i of B S: sum over k (increasing) of b[i,k] * row k of S
    let mut bs = DMatrix::zeros(n, n);
    let mut row = vec![0.0; n];
    for i in 0..n {
        row.iter_mut().for_each(|v| *v = 0.0);
        for &(k, bik) in &b_rows[i] {
            for &(j, skj) in &s_rows[k] {
                row[j] += bik * skj;
            }
        }
        for (j, v) in row.iter().enumerate() {
            bs[(i, j)] = *v;
        }
    }
    let mut c = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let mut acc = 0.0;
            for &(k, bjk) in &b_rows[j] {
                acc += bs[(i, k)] * bjk;
            }
            c[(i, j)] = acc;
            c[(j, i)] = acc;
        }
    }
    c
}

/// B = (I - A)^-1, the total effects. When the paths have no feedback loop
/// (A is nilpotent), B = I + A B solved row by row in an order where every
/// variable comes after its causes: O(nonzeros of A x nv) instead of the
/// O(nv^3) of an LU inverse. With a feedback loop, the LU inverse; None when
/// I - A is singular.
fn total_effects(a: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = a.nrows();
    let causes = sparse_rows(a);
    // Kahn's algorithm over the edges k -> i (a[i,k] != 0)
    let mut effects: Vec<Vec<usize>> = vec![vec![]; n];
    let mut pending: Vec<usize> = causes.iter().map(Vec::len).collect();
    for (i, c) in causes.iter().enumerate() {
        for &(k, _) in c {
            effects[k].push(i);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let k = order[next];
        next += 1;
        for &i in &effects[k] {
            pending[i] -= 1;
            if pending[i] == 0 {
                order.push(i);
            }
        }
    }
    if order.len() < n || causes.iter().enumerate().any(|(i, c)| c.iter().any(|&(k, _)| k == i)) {
        // a feedback loop (or a self-loop): the general inverse
        return (DMatrix::<f64>::identity(n, n) - a).try_inverse();
    }
    // row i of B = e_i + sum over its causes k (in column order) of a[i,k] * row k of B
    let mut b = DMatrix::<f64>::zeros(n, n);
    let mut row = vec![0.0; n];
    for &i in &order {
        row.iter_mut().for_each(|v| *v = 0.0);
        row[i] = 1.0;
        for &(k, aik) in &causes[i] {
            for (j, v) in row.iter_mut().enumerate() {
                let bkj = b[(k, j)];
                if bkj != 0.0 {
                    *v += aik * bkj;
                }
            }
        }
        for (j, v) in row.iter().enumerate() {
            b[(i, j)] = *v;
        }
    }
    Some(b)
}

/// Is the symmetric matrix S positive semi-definite (smallest eigenvalue at
/// least -1e-10 of its largest diagonal entry)? S is block diagonal once its
/// variables are grouped by the covariances that join them, so each block's
/// eigenvalues are found on their own (a population with thousands of
/// uncorrelated residuals has thousands of 1 x 1 blocks, not one
/// eigen-decomposition of a 3000 x 3000 matrix).
fn positive_semidefinite(s: &DMatrix<f64>) -> bool {
    let n = s.nrows();
    let scale = s.diagonal().iter().fold(1.0f64, |acc, x| acc.max(x.abs()));
    // union-find over the nonzero off-diagonal cells
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
            if s[(i, j)] != 0.0 {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let mut blocks: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        blocks.entry(r).or_default().push(i);
    }
    blocks.values().all(|idx| {
        let m = DMatrix::from_fn(idx.len(), idx.len(), |r, c| s[(idx[r], idx[c])]);
        nalgebra::SymmetricEigen::new(m).eigenvalues.iter().all(|&e| e >= -1e-10 * scale)
    })
}

/// The seeded stream: uniforms in [0, 1) and standard normals.
struct Stream {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream {
            rng: ChaCha8Rng::seed_from_u64(seed),
            spare: None,
        }
    }
    fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Marsaglia's polar method: two normals per accepted pair, the second kept.
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }
}

/// The standard normal quantile, by bisection on `0.5 erfc(-x / sqrt 2)`
/// (pure-Rust libm, so thresholds are the same bits everywhere).
pub fn qnorm(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if 0.5 * libm::erfc(-mid / std::f64::consts::SQRT_2) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A drawn data set: `n` rows of `ov.len()` cells, row-major; `None` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub names: Vec<String>,
    pub n: usize,
    pub cells: Vec<Option<f64>>,
    /// the values are category numbers 1..K
    pub likert: Option<u32>,
}

/// Draw `opt.n` rows from the population (see the module doc for the order).
pub fn draw(pop: &Population, opt: &SimOptions) -> Result<Sample, SimError> {
    opt.validate()?;
    let p = pop.ov.len();
    if opt.n.saturating_mul(p) > MAX_CELLS {
        return Err(SimError::Options(format!(
            "--n {} x {p} variables is more than the {MAX_CELLS} cells sem simulate draws at once; draw several files with different seeds",
            opt.n
        )));
    }
    let mut st = Stream::new(opt.seed);
    let mut cells = Vec::with_capacity(opt.n * p);
    let mut z = vec![0.0; p];
    // the rows of L, packed once (nalgebra stores columns, and a row of L
    // read from there is p cache lines per drawn value); the sums below run
    // over k in the same order as before, so the bytes are the same
    let lower: Vec<f64> = (0..p).flat_map(|i| (0..=i).map(move |k| (i, k))).map(|ik| pop.chol[ik]).collect();
    for _ in 0..opt.n {
        for zj in z.iter_mut() {
            *zj = st.normal();
        }
        let mut at = 0;
        for i in 0..p {
            let l = &lower[at..at + i + 1];
            at += i + 1;
            let mut acc = 0.0;
            for (lk, zk) in l.iter().zip(&z) {
                acc += lk * zk;
            }
            cells.push(Some(pop.mu[i] + acc));
        }
    }
    if let Some(k) = opt.likert {
        let q: Vec<f64> = (1..k).map(|c| qnorm(f64::from(c) / f64::from(k))).collect();
        let cuts: Vec<Vec<f64>> = (0..p)
            .map(|j| {
                let sd = pop.sigma[(j, j)].sqrt();
                q.iter().map(|qk| pop.mu[j] + sd * qk).collect()
            })
            .collect();
        for (idx, c) in cells.iter_mut().enumerate() {
            if let Some(x) = c {
                let above = cuts[idx % p].iter().filter(|t| *x > **t).count();
                *c = Some(1.0 + above as f64);
            }
        }
    }
    if opt.missing > 0.0 {
        for c in cells.iter_mut() {
            if st.uniform() < opt.missing {
                *c = None;
            }
        }
    }
    Ok(Sample {
        names: pop.ov.clone(),
        n: opt.n,
        cells,
        likert: opt.likert,
    })
}

fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) || name.trim() != name {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// The CSV text: a header row, then one line per row, values with `digits` decimals.
pub fn to_csv(sample: &Sample, digits: usize) -> String {
    let p = sample.names.len();
    let mut out = String::with_capacity((sample.n + 1) * p * (digits + 5));
    let header: Vec<String> = sample.names.iter().map(|n| csv_field(n)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in 0..sample.n {
        for j in 0..p {
            if j > 0 {
                out.push(',');
            }
            match sample.cells[r * p + j] {
                None => {}
                Some(v) if sample.likert.is_some() => {
                    let _ = write!(out, "{}", v as i64);
                }
                Some(v) => {
                    let start = out.len();
                    let _ = write!(out, "{v:.digits$}");
                    // `-0.000000` is zero
                    if out[start..].starts_with('-') && out[start + 1..].bytes().all(|b| b == b'0' || b == b'.') {
                        out.remove(start);
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

/// A simulated data set and what the user should know about its population.
#[derive(Debug, Clone)]
pub struct Simulated {
    pub csv: String,
    pub population: Population,
    pub warnings: Vec<String>,
}

/// Simulate from model text; errors name `file` (and the line, where a row is at fault).
pub fn simulate_source(src: &str, file: &str, opt: &SimOptions) -> Result<Simulated, SemError> {
    opt.validate()?;
    let syn = syntax::parse(src).map_err(|d| SemError::Input(d.render(file, src)))?;
    let model = population_model(&syn).map_err(|e| match e {
        ModelError::Syntax(d) => SemError::Input(d.render(file, src)),
        ModelError::Model(m) => SemError::Input(format!("{file}: {m}")),
    })?;
    let pop = population(&model, &syn, opt.standardized).map_err(|e| match e {
        SimError::Population { message, row: Some(r) } if model.pt.rows[r].span.is_some() => {
            let span = model.pt.rows[r].span.unwrap_or(syntax::Span::new(0, 0));
            SemError::Input(syntax::Diagnostic::new(message, span, "this parameter").render(file, src))
        }
        SimError::Population { message, .. } => SemError::Input(format!("{file}: {message}")),
        e => e.into(),
    })?;
    let sample = draw(&pop, opt)?;
    Ok(Simulated {
        csv: to_csv(&sample, opt.digits),
        warnings: pop.warnings.clone(),
        population: pop,
    })
}

/// `sem simulate MODEL`: read the model file and simulate.
pub fn simulate_file(path: &Path, opt: &SimOptions) -> Result<Simulated, SemError> {
    opt.validate()?;
    let src = read_model_file(path)?;
    simulate_source(&src, &path.display().to_string(), opt)
}

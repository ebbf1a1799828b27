//! The parameter table: the one source of truth every later stage reads, built
//! from the parsed syntax with lavaan's `sem()` defaults (lavaanify with
//! `auto.*` switched on). It is a list of rows `lhs op rhs` with the columns
//! lavaan users know from `parTable()`: user, group, free, ustart, exo, label,
//! plabel. Rows come in lavaan's order: the user's formulas, then residual and
//! latent variances, covariances among exogenous latents, among pure
//! dependent variables, the fixed.x block, intercepts, definitions, and last
//! the `==` rows implied by shared labels.

use super::vnames::VarNames;
use crate::syntax::{Diagnostic, Expr, Lhs, ModKind, ModelSyntax, Op, Rhs, Span};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Options that change the defaults (lavaan's `sem()` arguments).
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    pub std_lv: bool,
    pub meanstructure: bool,
    /// lavaan's `fixed.x`: on by default (set by `Default` to false, so use
    /// `TableOptions::sem()`).
    pub fixed_x: bool,
    pub ngroups: usize,
    /// lavaan's `group.equal`: loadings, intercepts, means, residuals,
    /// residual.covariances, lv.variances, lv.covariances, regressions
    pub group_equal: Vec<String>,
    /// lavaan's `group.partial`: parameters (`visual=~x3`, `x7~1`) that
    /// `group_equal` leaves free across groups
    pub group_partial: Vec<String>,
    /// observed intercepts free (lavaan's int.ov.free; false for growth())
    pub int_ov_free: bool,
    /// latent intercepts free (lavaan's int.lv.free; true for growth())
    pub int_lv_free: bool,
    /// ordinal observed variables with their number of thresholds
    /// (categories - 1), from `--ordered` and the data; a variable with `|`
    /// rows in the model is ordinal too (lavaan's ov.ord), but only the ones
    /// listed here get lavaan's categorical defaults (the full set of
    /// thresholds, fixed residual variances and scales, zero intercepts)
    pub ordered: Vec<(String, usize)>,
    /// lavaan's `parameterization` for ordinal variables
    pub parameterization: Parameterization,
}

/// How the latent responses of ordinal variables are scaled (lavaan's
/// `parameterization`): their total variances fixed through the scale
/// factors `~*~` (delta), or their residual variances fixed (theta). The
/// table differs only in later groups when thresholds are equal across
/// groups: delta frees the scale factors there, theta the residual variances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parameterization {
    #[default]
    Delta,
    Theta,
}

impl Parameterization {
    pub fn name(self) -> &'static str {
        match self {
            Parameterization::Delta => "delta",
            Parameterization::Theta => "theta",
        }
    }
}

/// The keywords `group.equal` understands.
pub const GROUP_EQUAL: &[&str] = &[
    "loadings",
    "thresholds",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
    "regressions",
];

impl TableOptions {
    pub fn sem() -> TableOptions {
        TableOptions {
            std_lv: false,
            meanstructure: false,
            fixed_x: true,
            ngroups: 1,
            group_equal: vec![],
            group_partial: vec![],
            int_ov_free: true,
            int_lv_free: false,
            ordered: vec![],
            parameterization: Parameterization::Delta,
        }
    }

    /// lavaan's `growth()`: observed intercepts fixed to 0, latent means free.
    pub fn growth() -> TableOptions {
        TableOptions {
            meanstructure: true,
            int_ov_free: false,
            int_lv_free: true,
            ..TableOptions::sem()
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ParRow {
    pub id: usize,
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    /// 1 written by the user, 0 added by a default, 2 implied (shared labels)
    pub user: u8,
    pub block: usize,
    pub group: usize,
    /// 0 when fixed, otherwise the 1-based position among free parameters
    pub free: usize,
    /// The fixed value of a fixed row (1 for a marker loading); for a free
    /// row, the user's `start(v)`. Exactly lavaan's `ustart`.
    pub ustart: Option<f64>,
    /// 1 for the fixed.x rows of exogenous observed covariates
    pub exo: u8,
    pub label: String,
    pub plabel: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl ParRow {
    pub fn is_free(&self) -> bool {
        self.free > 0
    }
    pub fn key(&self) -> (&str, &str, &str, usize) {
        (&self.lhs, &self.op, &self.rhs, self.group)
    }
}

/// A parsed constraint or definition that later stages evaluate.
#[derive(Debug, Clone)]
pub struct ExprRow {
    pub row: usize,
    pub lhs: Option<Expr>,
    pub rhs: Expr,
}

#[derive(Debug, Clone)]
pub struct ParTable {
    pub rows: Vec<ParRow>,
    pub names: VarNames,
    /// Expressions of `:=`, `==`, `<`, `>` rows, by row index.
    pub exprs: Vec<ExprRow>,
    /// `lower()` / `upper()` bounds of rows (lavaan's lower and upper columns)
    pub bounds: Vec<Bound>,
    /// (composite, part) of each `f <~ x` row, held as the regression `f ~ x`
    pub formative: std::collections::HashSet<(String, String)>,
    pub meanstructure: bool,
    pub ngroups: usize,
    /// Non-fatal remarks (lavaan prints them as warnings).
    pub warnings: Vec<String>,
}

/// The bounds `lower(v)*x`, `upper(v)*x` of one row (in its group).
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub row: usize,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Accumulates the modifiers written for one `lhs op rhs` (terms may repeat).
#[derive(Default, Clone)]
struct Mods {
    fixed: Option<Vec<Option<f64>>>,
    label: Option<Vec<Option<String>>>,
    start: Option<Vec<Option<f64>>>,
    lower: Option<Vec<Option<f64>>>,
    upper: Option<Vec<Option<f64>>>,
}

struct Flat {
    lhs: String,
    op: &'static str,
    rhs: String,
    mods: Mods,
    span: Span,
    stmt: usize,
}

fn per_group<T: Clone>(v: &[T], g: usize, ngroups: usize, span: Span, what: &str) -> Result<T, Diagnostic> {
    if v.len() == 1 {
        Ok(v[0].clone())
    } else if v.len() == ngroups {
        Ok(v[g].clone())
    } else {
        Err(Diagnostic::new(
            format!(
                "this {what} has {} values but the model has {ngroups} group{}",
                v.len(),
                if ngroups == 1 { "" } else { "s" }
            ),
            span,
            "one value per group expected",
        )
        .help("use c(...) with as many values as groups, or a single value for all groups"))
    }
}

/// Build the parameter table from the syntax.
pub fn build(syntax: &ModelSyntax, opt: &TableOptions) -> Result<ParTable, Diagnostic> {
    // lavaan (lav_options_set): with categorical data, equal intercepts
    // imply equal thresholds and equal thresholds imply equal intercepts
    // (of the continuous variables)
    let categorical = !opt.ordered.is_empty() || syntax.statements.iter().any(|s| s.op == Op::Threshold);
    let eq = |k: &str| opt.group_equal.iter().any(|x| x == k);
    let implied_eq = if categorical && eq("thresholds") != eq("intercepts") {
        let mut ge = opt.group_equal.clone();
        ge.push(if eq("thresholds") { "intercepts" } else { "thresholds" }.to_string());
        Some(TableOptions {
            group_equal: ge,
            ..opt.clone()
        })
    } else {
        None
    };
    let opt = implied_eq.as_ref().unwrap_or(opt);
    let ngroups = opt.ngroups.max(1);
    // 1. flatten the user's formulas, merging repeated terms
    let mut flat: Vec<Flat> = Vec::new();
    let mut index: HashMap<(String, &'static str, String), usize> = HashMap::new();
    let mut exprs_src: Vec<(usize, &crate::syntax::Statement)> = Vec::new();
    let mut meanstructure = opt.meanstructure || ngroups > 1;
    let mut warnings: Vec<String> = Vec::new();
    // (lhs, op, rhs, group) of each bounded row, its bounds and where they were written
    type BoundKey = ((String, &'static str, String, usize), Option<f64>, Option<f64>, Span);
    let mut bound_keys: Vec<BoundKey> = Vec::new();
    for (si, st) in syntax.statements.iter().enumerate() {
        match (&st.lhs, &st.rhs) {
            (Lhs::Names(lhs), Rhs::Terms(terms)) => {
                for l in lhs {
                    for t in terms {
                        let (op, rhs): (&'static str, String) = match (&t.var, st.op) {
                            // `f =~ 0`: lavaan's phantom latent, the row `f =~ f` fixed at 0
                            (None, Op::Measure) => ("=~", l.name.clone()),
                            (None, _) => {
                                meanstructure = true;
                                ("~1", String::new())
                            }
                            (Some(v), Op::Measure) => ("=~", v.clone()),
                            (Some(v), Op::Regress) => ("~", v.clone()),
                            (Some(v), Op::Form) => ("<~", v.clone()),
                            (Some(v), Op::Threshold) => ("|", v.clone()),
                            (Some(v), Op::Scale) => ("~*~", v.clone()),
                            (Some(v), _) => ("~~", v.clone()),
                        };
                        // `x2 ~~ x1` is the same parameter as `x1 ~~ x2`
                        let mut k = (l.name.clone(), op, rhs.clone());
                        if op == "~~" && !index.contains_key(&k) {
                            let rev = (rhs.clone(), op, l.name.clone());
                            if index.contains_key(&rev) {
                                k = rev;
                            }
                        }
                        let at = match index.get(&k) {
                            Some(&i) if flat[i].stmt != si => {
                                let same_order = flat[i].lhs == l.name;
                                if op == "~~" && same_order {
                                    warnings.push(format!(
                                        "`{} ~~ {}` is written twice; the second one is ignored (as in lavaan)",
                                        l.name, flat[i].rhs
                                    ));
                                    continue;
                                }
                                return Err(Diagnostic::new(
                                    format!(
                                        "duplicate model element: `{} {} {}` is already in the model",
                                        flat[i].lhs, op, flat[i].rhs
                                    ),
                                    t.var_span,
                                    "written before",
                                )
                                .help("give all modifiers of a parameter in one formula, e.g. `y ~ a*x + start(0.5)*x`"));
                            }
                            Some(&i) => i,
                            None => {
                                flat.push(Flat {
                                    lhs: l.name.clone(),
                                    op,
                                    rhs,
                                    mods: Mods::default(),
                                    span: t.var_span,
                                    stmt: si,
                                });
                                index.insert(k, flat.len() - 1);
                                flat.len() - 1
                            }
                        };
                        for m in &t.mods {
                            let f = &mut flat[at].mods;
                            match &m.kind {
                                // within a formula the leftmost modifier of each kind wins
                                ModKind::Fixed(v) => {
                                    f.fixed.get_or_insert_with(|| v.clone());
                                }
                                ModKind::Label(v) => {
                                    f.label.get_or_insert_with(|| v.clone());
                                }
                                ModKind::Start(v) => {
                                    f.start.get_or_insert_with(|| v.clone());
                                }
                                ModKind::Lower(v) => {
                                    f.lower.get_or_insert_with(|| v.clone());
                                }
                                ModKind::Upper(v) => {
                                    f.upper.get_or_insert_with(|| v.clone());
                                }
                            }
                            // check vector length now so the error points at the modifier
                            let len = match &m.kind {
                                ModKind::Fixed(v) | ModKind::Start(v) | ModKind::Lower(v) | ModKind::Upper(v) => v.len(),
                                ModKind::Label(v) => v.len(),
                            };
                            if len != 1 && len != ngroups {
                                return Err(Diagnostic::new(
                                    format!(
                                        "`c(...)` has {len} values but the model has {ngroups} group{}",
                                        if ngroups == 1 { "" } else { "s" }
                                    ),
                                    m.span,
                                    "one value per group expected",
                                )
                                .help("give a single value, or as many values as there are groups (--group)"));
                            }
                        }
                    }
                }
            }
            _ => exprs_src.push((flat.len(), st)),
        }
    }
    let mut names = VarNames::from_flat(flat.iter().map(|f| (f.lhs.as_str(), f.op, f.rhs.as_str())), opt.fixed_x);
    check_names(&flat, &names)?;
    // ordinal variables (lavaan's ov.ord): declared ones and those with `|`
    // rows, in the order of the observed variables
    // (every name looked up in a hash map: linear in the rows, see tests/complexity.rs)
    let nth: HashMap<&str, usize> = opt.ordered.iter().rev().map(|(n, k)| (n.as_str(), *k)).collect();
    let nth_of = |v: &str| nth.get(v).copied();
    let has_th: HashSet<&str> = flat.iter().filter(|f| f.op == "|").map(|f| f.lhs.as_str()).collect();
    names.ov_ord = names
        .ov
        .iter()
        .filter(|v| nth_of(v).is_some() || has_th.contains(v.as_str()))
        .cloned()
        .collect();
    check_thresholds(&flat, &names, &nth_of)?;
    let categorical = !names.ov_ord.is_empty();
    if categorical {
        meanstructure = true;
    }
    // `~~` rows read lhs before rhs in the order (latent, observed), as lavaan writes them
    let mut pos: HashMap<&str, usize> = HashMap::new();
    for (k, v) in names.lv.iter().chain(names.ov.iter()).enumerate() {
        pos.entry(v.as_str()).or_insert(k);
    }
    let order = |v: &str| pos.get(v).copied().unwrap_or(usize::MAX);
    for f in flat.iter_mut() {
        if f.op == "~~" && order(&f.rhs) < order(&f.lhs) {
            std::mem::swap(&mut f.lhs, &mut f.rhs);
        }
    }
    warnings.extend(syntax.warnings.iter().map(|d| d.message.clone()));

    let mut rows: Vec<ParRow> = Vec::new();
    if !names.exo_freed.is_empty() && !names.ov_x.is_empty() && opt.fixed_x {
        warnings.push(format!(
            "the model has variance, covariance or intercept formulas for exogenous covariate(s) {}; they are now treated as random, which adds free parameters (as lavaan does)",
            names.exo_freed.join(", ")
        ));
    }
    // rows as integer keys (variable ids, operator), for the hash set below
    let ids: HashMap<&str, u32> = names
        .lv
        .iter()
        .chain(&names.ov)
        .enumerate()
        .map(|(k, v)| (v.as_str(), k as u32))
        .collect();
    let key = |lhs: &str, op: &str, rhs: &str| -> Option<(u32, u8, u32)> {
        let op = ["~~", "~1", "=~", "~"].iter().position(|o| *o == op)? as u8;
        let r = if rhs.is_empty() { u32::MAX } else { *ids.get(rhs)? };
        Some((*ids.get(lhs)?, op, r))
    };
    for g in 0..ngroups {
        let group = g + 1;
        let start_len = rows.len();
        let push = |rows: &mut Vec<ParRow>, lhs: &str, op: &str, rhs: &str, user: u8, free: bool, ustart: Option<f64>, exo: u8| {
            rows.push(ParRow {
                id: 0,
                lhs: lhs.to_string(),
                op: op.to_string(),
                rhs: rhs.to_string(),
                user,
                block: group,
                group,
                free: usize::from(free),
                ustart,
                exo,
                label: String::new(),
                plabel: String::new(),
                span: None,
            })
        };
        // user rows
        for f in &flat {
            let fixed = match &f.mods.fixed {
                Some(v) => Some(per_group(v, g, ngroups, f.span, "fixed value")?),
                None => None,
            };
            let label = match &f.mods.label {
                Some(v) => per_group(v, g, ngroups, f.span, "label")?.unwrap_or_default(),
                None => String::new(),
            };
            let start = match &f.mods.start {
                Some(v) => per_group(v, g, ngroups, f.span, "starting value")?,
                None => None,
            };
            // Some(Some(v)): fixed at v; Some(None): NA, explicitly free; None: default
            let (mut free, mut ustart) = match fixed {
                Some(Some(v)) => (false, Some(v)),
                Some(None) => (true, None),
                None => (true, None),
            };
            let explicit = fixed.is_some();
            if f.op == "=~" && !explicit {
                let first = names.first_indicator(&f.lhs) == Some(f.rhs.as_str());
                if first && !opt.std_lv {
                    free = false;
                    ustart = Some(1.0);
                }
            }
            if f.op == "~~" && f.lhs == f.rhs && !explicit && opt.std_lv && names.is_lv(&f.lhs) {
                free = false;
                ustart = Some(1.0);
            }
            // lavaan: start(v) sets ustart and leaves `free` alone, so on a
            // fixed row (a marker loading) it becomes the fixed value
            if let Some(v) = start {
                ustart = Some(v);
            }
            // a composite's `<~` rows are regressions of it on its parts
            // (reported as `<~`: `ParTable::display_op`)
            let op = if f.op == "<~" { "~" } else { f.op };
            push(&mut rows, &f.lhs, op, &f.rhs, 1, free, ustart, 0);
            let r = rows.last_mut().unwrap();
            r.label = label;
            r.span = Some(f.span);
            let bound = |v: &Option<Vec<Option<f64>>>, what| match v {
                Some(v) => per_group(v, g, ngroups, f.span, what),
                None => Ok(None),
            };
            let (lower, upper) = (bound(&f.mods.lower, "lower bound")?, bound(&f.mods.upper, "upper bound")?);
            if lower.is_some() || upper.is_some() {
                bound_keys.push(((f.lhs.clone(), f.op, f.rhs.clone(), g + 1), lower, upper, f.span));
            }
        }
        // default rows, only where the user wrote nothing: the user rows of
        // this group in a hash set (`a ~~ b` under both orders), so that the
        // loops over pairs of variables below stay linear in their pairs;
        // other rows (thresholds) are looked up in the rows themselves
        let mut written: HashSet<(u32, u8, u32)> = HashSet::new();
        let mut written_other: HashSet<(String, String, String)> = HashSet::new();
        for r in &rows[start_len..] {
            match key(&r.lhs, &r.op, &r.rhs) {
                Some(k) => {
                    written.insert(k);
                    if r.op == "~~" {
                        written.insert((k.2, k.1, k.0));
                    }
                }
                None => {
                    written_other.insert((r.lhs.clone(), r.op.clone(), r.rhs.clone()));
                }
            }
        }
        // a row the user wrote in this group (thresholds and scale factors
        // are the few rows without integer keys)
        let exists = |lhs: &str, op: &str, rhs: &str| match key(lhs, op, rhs) {
            Some(k) => written.contains(&k),
            None => written_other.contains(&(lhs.to_string(), op.to_string(), rhs.to_string())),
        };
        let exo: HashSet<&str> = names.exo.iter().map(String::as_str).collect();
        // thresholds of ordinal variables (free, lavaan's auto.th)
        for v in &names.ov_ord {
            for k in 1..=nth_of(v).unwrap_or(0) {
                let t = format!("t{k}");
                if !exists(v, "|", &t) {
                    push(&mut rows, v, "|", &t, 0, true, None, 0);
                }
            }
        }
        let ord_set: HashSet<&str> = names.ov_ord.iter().map(String::as_str).collect();
        let ord = |v: &str| ord_set.contains(v);
        // theta parameterization, later groups, equal thresholds: the
        // residual variances of ordinal variables are free
        let eq_th = g > 0 && opt.group_equal.iter().any(|x| x == "thresholds");
        let free_ord_var = eq_th && opt.parameterization == Parameterization::Theta;
        // residual variances of observed variables (not the fixed.x ones);
        // those of ordinal variables fixed at 1
        for v in &names.ov {
            if exo.contains(v.as_str()) || exists(v, "~~", v) {
                continue;
            }
            if ord(v) {
                push(
                    &mut rows,
                    v,
                    "~~",
                    v,
                    0,
                    free_ord_var,
                    if free_ord_var { None } else { Some(1.0) },
                    0,
                );
                continue;
            }
            let single = names.single_indicator_of(v);
            push(&mut rows, v, "~~", v, 0, !single, if single { Some(0.0) } else { None }, 0);
        }
        let composites: std::collections::HashSet<&str> = flat.iter().filter(|f| f.op == "<~").map(|f| f.lhs.as_str()).collect();
        for v in &names.lv {
            if exists(v, "~~", v) {
                continue;
            }
            if names.single_indicator_of(v) || composites.contains(v.as_str()) {
                // a factor that is the only indicator of a higher-order factor,
                // or a composite (`f <~ x1 + x2`: no disturbance, as lavaan)
                push(&mut rows, v, "~~", v, 0, false, Some(0.0), 0);
            } else {
                // lavaan (0.6-4 on): with std.lv and loadings equal across
                // groups (but not lv.variances), the factor variances of
                // groups 2..G are free; only group 1 sets the scale
                let eq = |k: &str| opt.group_equal.iter().any(|x| x == k);
                let fixed = opt.std_lv && !(g > 0 && eq("loadings") && !eq("lv.variances"));
                push(&mut rows, v, "~~", v, 0, !fixed, if fixed { Some(1.0) } else { None }, 0);
            }
        }
        // covariances among exogenous latent variables
        // (the pairs below look their names up once, not once per pair)
        let id_of = |vs: &[&String]| -> Vec<Option<u32>> { vs.iter().map(|v| ids.get(v.as_str()).copied()).collect() };
        let cov_written = |a: Option<u32>, b: Option<u32>| matches!((a, b), (Some(a), Some(b)) if written.contains(&(a, 0, b)));
        let lx: Vec<&String> = names.lv_x.iter().collect();
        let lx_id = id_of(&lx);
        for (i, a) in lx.iter().enumerate() {
            for (j, b) in lx.iter().enumerate().skip(i + 1) {
                if !cov_written(lx_id[i], lx_id[j]) {
                    push(&mut rows, a, "~~", b, 0, true, None, 0);
                }
            }
        }
        // covariances among pure dependent variables (latent first, then observed)
        let ys: Vec<&String> = names.lv_y.iter().chain(names.ov_y.iter()).collect();
        let ys_id = id_of(&ys);
        for (i, a) in ys.iter().enumerate() {
            for (j, b) in ys.iter().enumerate().skip(i + 1) {
                if !cov_written(ys_id[i], ys_id[j]) {
                    push(&mut rows, a, "~~", b, 0, true, None, 0);
                }
            }
        }
        // fixed.x: variances and covariances of exogenous covariates, fixed at sample values
        let exo_v: Vec<&String> = names.exo.iter().collect();
        let exo_id = id_of(&exo_v);
        for (i, a) in exo_v.iter().enumerate() {
            for (j, b) in exo_v.iter().enumerate().skip(i) {
                if !cov_written(exo_id[i], exo_id[j]) {
                    // without fixed.x they are ordinary free parameters
                    push(&mut rows, a, "~~", b, 0, !opt.fixed_x, None, u8::from(opt.fixed_x));
                }
            }
        }
        // scale factors of ordinal variables: fixed at 1 (delta: free in
        // later groups when thresholds are equal across groups)
        for v in &names.ov_ord {
            if !exists(v, "~*~", v) {
                push(&mut rows, v, "~*~", v, 0, false, Some(1.0), 0);
            }
        }
        if eq_th {
            let delta = opt.parameterization == Parameterization::Delta;
            for r in rows[start_len..].iter_mut() {
                let hit = if delta {
                    r.op == "~*~"
                } else {
                    r.op == "~~" && r.lhs == r.rhs && ord(&r.lhs)
                };
                // a value the user fixed (`u3 ~*~ c(1, 1)*u3`) stays fixed, as in lavaan
                let user_fixed = r.user == 1 && r.free == 0 && r.ustart.is_some();
                if hit && ord(&r.lhs) && !user_fixed {
                    r.free = 1;
                    r.ustart = None;
                }
            }
        }
        if meanstructure {
            for v in &names.ov {
                if exists(v, "~1", "") {
                    continue;
                }
                let exo = names.is_ov_x(v);
                let free = !exo && opt.int_ov_free && !ord(v);
                push(
                    &mut rows,
                    v,
                    "~1",
                    "",
                    0,
                    free,
                    if exo || free { None } else { Some(0.0) },
                    u8::from(exo),
                );
            }
            // latent means: fixed at 0 unless int.lv.free, or, in later groups,
            // when intercepts are equal across groups but means are not
            let eq = |k: &str| opt.group_equal.iter().any(|x| x == k);
            let lv_free = opt.int_lv_free || (g > 0 && (eq("intercepts") || eq("thresholds")) && !eq("means"));
            for v in &names.lv {
                if !exists(v, "~1", "") {
                    push(&mut rows, v, "~1", "", 0, lv_free, if lv_free { None } else { Some(0.0) }, 0);
                }
            }
        }
    }
    // definitions and constraints, in the order written; a defined name must
    // be new: not a label, not a variable, not defined before (lavaan refuses
    // each, and the first of two definitions would silently win)
    let labels: HashSet<String> = rows.iter().filter(|r| !r.label.is_empty()).map(|r| r.label.clone()).collect();
    let mut defined: HashSet<String> = HashSet::new();
    let mut exprs = Vec::new();
    for (_, st) in &exprs_src {
        let st = *st;
        if let (Op::Define, Lhs::Names(n)) = (st.op, &st.lhs) {
            let name = &n[0];
            let refuse = |msg: String, label: &str, help: &str| Err(Diagnostic::new(msg, name.span, label).help(help));
            if defined.contains(&name.name) {
                return refuse(
                    format!("`{}` is defined twice", name.name),
                    "defined again here",
                    "give each defined parameter (`:=`) its own name",
                );
            }
            if labels.contains(&name.name) {
                return refuse(
                    format!(
                        "`{}` is already the label of a parameter; a defined parameter needs a name of its own",
                        name.name
                    ),
                    "a label of the model",
                    "rename the defined parameter, e.g. `a_def := ...`",
                );
            }
            if names.is_lv(&name.name) || names.is_ov(&name.name) {
                return refuse(
                    format!(
                        "`{}` is a variable of the model; a defined parameter needs a name of its own",
                        name.name
                    ),
                    "a variable name",
                    "rename the defined parameter; a variable cannot be defined with `:=`",
                );
            }
            defined.insert(name.name.clone());
        }
        let (lhs, lhs_expr) = match &st.lhs {
            Lhs::Names(n) => (n[0].name.clone(), None),
            Lhs::Expr(e) => (st.lhs_text.clone(), Some(e.clone())),
        };
        let Rhs::Expr(rhs_expr) = &st.rhs else { unreachable!() };
        let label = if st.op == Op::Define { lhs.clone() } else { String::new() };
        rows.push(ParRow {
            id: 0,
            lhs,
            op: st.op.as_str().to_string(),
            rhs: st.rhs_text.clone(),
            user: 1,
            block: 0,
            group: 0,
            free: 0,
            ustart: None,
            exo: 0,
            label,
            plabel: String::new(),
            span: Some(st.span),
        });
        exprs.push(ExprRow {
            row: rows.len() - 1,
            lhs: lhs_expr,
            rhs: rhs_expr.clone(),
        });
    }
    // ids and plabels
    for (i, r) in rows.iter_mut().enumerate() {
        r.id = i + 1;
        if matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1" | "|" | "~*~") {
            r.plabel = format!(".p{}.", i + 1);
        }
    }
    apply_group_equal(&mut rows, &names, &opt.group_equal, &opt.group_partial);
    for p in &opt.group_partial {
        let p: String = p.split_whitespace().collect();
        if !rows.iter().any(|r| partial_names(r).contains(&p)) {
            warnings.push(format!("--group-partial: `{p}` names no parameter of the model; it has no effect"));
        }
    }
    // shared labels: `==` rows between the first holder and every other one.
    // As lavaan's lav_partable_labels, an unlabelled row answers to its
    // `lhs op rhs` (`.gN` appended in group N > 1), so `equal("f=~x2")*x6`
    // (a label written as such a name) ties x6's loading to `f=~x2`.
    // Without any label no two rows share a name (every `lhs op rhs` is
    // unique) and nothing is tied, so the names are not even formed.
    let any_label = rows.iter().any(|r| !r.label.is_empty());
    let mut by_label: Vec<(String, Vec<usize>)> = Vec::new();
    let mut label_at: HashMap<String, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate().filter(|_| any_label) {
        if !matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1" | "|" | "~*~") {
            continue;
        }
        let label = virtual_label(r, ngroups);
        match label_at.get(&label) {
            Some(&k) => by_label[k].1.push(i),
            None => {
                label_at.insert(label.clone(), by_label.len());
                by_label.push((label, vec![i]));
            }
        }
    }
    for (label, idx) in &by_label {
        if idx.len() == 1 && rows[idx[0]].label == *label && OPERATORS.iter().any(|op| label.contains(op)) {
            warnings.push(format!(
                "the label `{label}` looks like a parameter name (`lhs op rhs`, `.gN` for group N) but no parameter has that name; it ties nothing"
            ));
        }
        if idx.len() > 1 {
            // lavaan shows the first holder's plabel on tied rows without a label
            if idx.iter().all(|&i| rows[i].free > 0) {
                let p = rows[idx[0]].plabel.clone();
                for &i in idx {
                    if rows[i].label.is_empty() {
                        rows[i].label = p.clone();
                    }
                }
            }
            if let Some(&fx) = idx.iter().find(|&&i| rows[i].free == 0) {
                // one holder is fixed: lavaan fixes every holder at that value
                let v = rows[fx].ustart;
                for &i in idx {
                    if rows[i].free > 0 || rows[i].ustart != v {
                        if rows[i].free == 0 {
                            warnings.push(format!(
                                "rows labelled `{label}` are fixed at different values; all take {}",
                                v.unwrap_or(f64::NAN)
                            ));
                        }
                        rows[i].free = 0;
                        rows[i].ustart = v;
                    }
                }
                continue;
            }
        }
        let free: Vec<usize> = idx.iter().copied().filter(|&i| rows[i].free > 0).collect();
        for &j in free.iter().skip(1) {
            let (a, b) = (rows[free[0]].plabel.clone(), rows[j].plabel.clone());
            let id = rows.len() + 1;
            rows.push(ParRow {
                id,
                lhs: a,
                op: "==".into(),
                rhs: b,
                user: 2,
                block: 0,
                group: 0,
                free: 0,
                ustart: None,
                exo: 0,
                label: String::new(),
                plabel: String::new(),
                span: None,
            });
        }
    }
    // free parameters numbered in table order
    let mut nfree = 0;
    for r in rows.iter_mut() {
        if r.free > 0 {
            nfree += 1;
            r.free = nfree;
        }
    }
    check_expr_names(&rows, &exprs, &names)?;
    let mut bounds = Vec::with_capacity(bound_keys.len());
    let row_at: std::collections::HashMap<(&str, &str, &str, usize), usize> = if bound_keys.is_empty() {
        Default::default()
    } else {
        // the first row of each key, as a search from the top would find
        let mut at = std::collections::HashMap::with_capacity(rows.len());
        for (k, r) in rows.iter().enumerate() {
            at.entry((r.lhs.as_str(), r.op.as_str(), r.rhs.as_str(), r.group)).or_insert(k);
        }
        at
    };
    for ((lhs, op, rhs, g), lower, upper, span) in bound_keys {
        let Some(&row) = row_at.get(&(lhs.as_str(), op, rhs.as_str(), g)) else {
            continue;
        };
        if let (Some(l), Some(u)) = (lower, upper) {
            if l > u {
                return Err(Diagnostic::new(
                    format!("the lower bound {l} is above the upper bound {u}"),
                    span,
                    "no value fits both bounds",
                ));
            }
        }
        bounds.push(Bound { row, lower, upper });
    }
    let formative: std::collections::HashSet<(String, String)> = flat
        .iter()
        .filter(|f| f.op == "<~")
        .map(|f| (f.lhs.clone(), f.rhs.clone()))
        .collect();
    Ok(ParTable {
        rows,
        names,
        exprs,
        bounds,
        formative,
        meanstructure,
        ngroups,
        warnings,
    })
}

impl ParTable {
    /// The operator a row is reported with: `<~` for a composite's rows
    /// (held as regressions), else its own.
    pub fn display_op<'a>(&self, r: &'a ParRow) -> &'a str {
        if r.op == "~" && self.formative.contains(&(r.lhs.clone(), r.rhs.clone())) {
            "<~"
        } else {
            &r.op
        }
    }
}

/// Operators whose presence marks a label as a parameter name.
const OPERATORS: &[&str] = &["=~", "~", "|"];

/// The name lavaan matches labels against: the user's label, or else
/// `lhs op rhs` with `.gN` in group N > 1 of a multi-group model.
fn virtual_label(r: &ParRow, ngroups: usize) -> String {
    if !r.label.is_empty() {
        return r.label.clone();
    }
    let mut l = format!("{}{}{}", r.lhs, r.op, r.rhs);
    if ngroups > 1 && r.group > 1 {
        l.push_str(&format!(".g{}", r.group));
    }
    l
}

/// The name `group.partial` gives a row: `lhs op rhs` without spaces
/// (`visual=~x3`, `x7~1`, `x1~~x2` in either order).
fn partial_names(r: &ParRow) -> [String; 2] {
    [format!("{}{}{}", r.lhs, r.op, r.rhs), format!("{}{}{}", r.rhs, r.op, r.lhs)]
}

/// lavaan's group.equal: a free row of a listed kind in group g > 1 shares a
/// label with the same row of group 1 (the group-1 row's plabel, unless the
/// user labelled it); rows the user labelled in later groups keep their label.
/// Rows named in `partial` (lavaan's group.partial) stay free in every group.
fn apply_group_equal(rows: &mut [ParRow], names: &VarNames, keys: &[String], partial: &[String]) {
    if keys.is_empty() {
        return;
    }
    let partial: Vec<String> = partial.iter().map(|p| p.split_whitespace().collect::<String>()).collect();
    let kind = |r: &ParRow| -> &'static str {
        let lv = |v: &str| names.is_lv(v);
        match r.op.as_str() {
            "=~" => "loadings",
            "~" => "regressions",
            "|" => "thresholds",
            "~1" if lv(&r.lhs) => "means",
            "~1" => "intercepts",
            "~~" if r.lhs == r.rhs && lv(&r.lhs) => "lv.variances",
            "~~" if r.lhs == r.rhs => "residuals",
            "~~" if lv(&r.lhs) && lv(&r.rhs) => "lv.covariances",
            "~~" if !lv(&r.lhs) && !lv(&r.rhs) => "residual.covariances",
            _ => "",
        }
    };
    let exo_set: HashSet<&str> = names.exo.iter().map(String::as_str).collect();
    let exo = |v: &str| exo_set.contains(v);
    // group-1 rows by (op, lhs, rhs): the first one, as a linear search finds it
    let mut first: HashMap<(String, String, String), usize> = HashMap::new();
    for (j, r) in rows.iter().enumerate().rev() {
        if r.group == 1 {
            first.insert((r.op.clone(), r.lhs.clone(), r.rhs.clone()), j);
        }
    }
    for i in 0..rows.len() {
        if rows[i].group < 2 || rows[i].free == 0 || !rows[i].label.is_empty() || rows[i].exo == 1 {
            continue;
        }
        let k = kind(&rows[i]);
        if !keys.iter().any(|x| x == k) {
            continue;
        }
        // lavaan applies intercepts, residuals and residual.covariances to
        // ov.nox only: an exogenous covariate's mean and variance stay free
        // in every group even without fixed.x (GLS, ULS)
        if matches!(k, "intercepts" | "residuals" | "residual.covariances") && exo(&rows[i].lhs) {
            continue;
        }
        let Some(&j) = first.get(&(rows[i].op.clone(), rows[i].lhs.clone(), rows[i].rhs.clone())) else {
            continue;
        };
        if rows[j].free == 0 {
            // equal to a fixed row: fixed at its value, as lavaan (the
            // residual variances of ordinal variables in the theta
            // parameterization, free in later groups with equal
            // thresholds, stay at group 1's 1 with equal residuals)
            if k == "residuals" && rows[j].ustart.is_some() {
                rows[i].free = 0;
                rows[i].ustart = rows[j].ustart;
            }
            continue;
        }
        let pn = partial_names(&rows[i]);
        if partial.iter().any(|p| pn.contains(p)) {
            continue;
        }
        if rows[j].label.is_empty() {
            rows[j].label = rows[j].plabel.clone();
        }
        rows[i].label = rows[j].label.clone();
    }
}

/// `|` rows: on an observed variable, and (when its categories are known)
/// naming one of its thresholds; `~*~` rows: a variable's own scale factor.
fn check_thresholds(flat: &[Flat], names: &VarNames, nth_of: &dyn Fn(&str) -> Option<usize>) -> Result<(), Diagnostic> {
    for f in flat {
        if (f.op == "|" || f.op == "~*~") && names.is_lv(&f.lhs) {
            return Err(Diagnostic::new(
                format!("`{}` is a latent variable; `{}` applies to observed ordinal variables", f.lhs, f.op),
                f.span,
                "latent variable",
            ));
        }
        if f.op == "~*~" && f.lhs != f.rhs {
            return Err(Diagnostic::new(
                format!("a scale factor is written `{} ~*~ {}`", f.lhs, f.lhs),
                f.span,
                "expected the same variable on both sides",
            ));
        }
        if f.op == "|" {
            if let Some(n) = nth_of(&f.lhs) {
                let k: usize = f.rhs[1..].parse().unwrap_or(usize::MAX);
                if k > n {
                    return Err(Diagnostic::new(
                        format!(
                            "`{}` has {} categories in the data, so its thresholds are t1 to t{n}; there is no {}",
                            f.lhs,
                            n + 1,
                            f.rhs
                        ),
                        f.span,
                        "no such threshold",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A name used both as a latent variable and elsewhere in a way that cannot be.
fn check_names(flat: &[Flat], names: &VarNames) -> Result<(), Diagnostic> {
    for f in flat {
        // `f =~ 0` (lavaan's phantom latent) is the row `f =~ f` fixed at 0;
        // a self-loading written out is refused by the parser
        let phantom = f.mods.fixed.as_deref() == Some(&[Some(0.0)][..]);
        if f.op == "=~" && f.rhs == f.lhs && !phantom {
            return Err(Diagnostic::new(
                "a factor cannot be measured by itself",
                f.span,
                "same name as the factor",
            ));
        }
    }
    let _ = names;
    Ok(())
}

/// Names in `:=`, `==`, `<`, `>` must be labels (or earlier definitions).
fn check_expr_names(rows: &[ParRow], exprs: &[ExprRow], _names: &VarNames) -> Result<(), Diagnostic> {
    let is_param = |r: &ParRow| matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1" | "|" | "~*~");
    let mut known: HashSet<&str> = rows
        .iter()
        .filter(|r| is_param(r) && !r.label.is_empty())
        .map(|r| r.label.as_str())
        .collect();
    // a plabel `.pN.` names row N - 1 (no set of every row's plabel needed)
    let plabel = |name: &str| {
        name.strip_prefix(".p")
            .and_then(|s| s.strip_suffix('.'))
            .and_then(|s| s.parse::<usize>().ok())
            .and_then(|id| rows.get(id.checked_sub(1)?))
            .is_some_and(|r| is_param(r) && r.plabel == name)
    };
    for e in exprs {
        let mut used = Vec::new();
        if let Some(l) = &e.lhs {
            l.names(&mut used);
        }
        e.rhs.names(&mut used);
        for n in used {
            if !known.contains(&n.name.as_str()) && !plabel(&n.name) {
                return Err(
                    Diagnostic::new(format!("`{}` is not the label of any parameter", n.name), n.span, "unknown label")
                        .help("label a parameter by writing the label and `*` before the variable, e.g. `y ~ a*x`"),
                );
            }
        }
        if rows[e.row].op == ":=" {
            known.insert(rows[e.row].lhs.as_str());
        }
    }
    Ok(())
}

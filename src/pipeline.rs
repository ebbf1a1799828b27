//! The pipeline behind `sem fit` and `sem check`: read the model, build the
//! parameter table, read the data, estimate, infer, assess fit, and gather
//! it all in a `FitReport`. Every failure becomes a `SemError` that already
//! says, in words a user can act on, which file, line, column or variable is
//! at fault, and which exit code the contract gives it.

use crate::data::{read::read_csv, stream::moments_csv, CsvOptions, DataError, SampleStats};
use crate::estimate::{self, objective::GroupData, start::bind_fixed_x};
use crate::model::{Model, ModelError, TableOptions};
use crate::report::check::{CheckReport, Variables};
use crate::report::{FitReport, HypothesisOut, ParamOut};
use crate::syntax::{self, ModelSyntax};
use crate::{fit, hypotheses as hyp, inference};
use serde_json::{Map, Value};
use std::path::Path;

/// Errors with their exit code: 2 for bad usage or input, 1 for a model that
/// cannot be estimated (not identified, no convergence).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SemError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Model(String),
}

impl SemError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SemError::Input(_) => 2,
            SemError::Model(_) => 1,
        }
    }
}

impl From<DataError> for SemError {
    fn from(e: DataError) -> Self {
        SemError::Input(e.0)
    }
}

#[derive(Debug, Clone)]
pub struct FitOptions {
    pub std_lv: bool,
    pub meanstructure: bool,
    /// multiple-group analysis by this column
    pub group: Option<String>,
    pub group_equal: Vec<String>,
    /// lavaan's growth() defaults
    pub growth: bool,
    /// add modification indices to the report
    pub modindices: bool,
    /// add residuals (raw, correlation, standardized) to the report
    pub residuals: bool,
    pub ci_level: f64,
    pub alpha: f64,
    pub max_iter: u64,
    pub csv: CsvOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            std_lv: false,
            meanstructure: false,
            group: None,
            group_equal: vec![],
            growth: false,
            modindices: false,
            residuals: false,
            ci_level: 0.95,
            alpha: 0.05,
            max_iter: 10_000,
            csv: CsvOptions::default(),
        }
    }
}

/// Read a model file: it must exist and be UTF-8 text.
pub fn read_model_file(path: &Path) -> Result<String, SemError> {
    let file = path.display();
    let bytes = std::fs::read(path).map_err(|e| SemError::Input(format!("cannot read model file {file}: {e}")))?;
    if bytes.contains(&0) {
        return Err(SemError::Input(format!(
            "model file {file} is a binary file, not lavaan model syntax"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, col) = syntax::diag::line_col(std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or(""), at);
        SemError::Input(format!(
            "model file {file} is not UTF-8 text (invalid byte at line {line}, column {col}); save it as UTF-8"
        ))
    })?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// Parse the model file into syntax, with errors rendered against the file.
pub fn parse_model(path: &Path) -> Result<(String, ModelSyntax), SemError> {
    let src = read_model_file(path)?;
    let file = path.display().to_string();
    let syn = syntax::parse(&src).map_err(|d| SemError::Input(d.render(&file, &src)))?;
    Ok((src, syn))
}

/// Build the model (parameter table, free parameters, scale checks) for
/// `ngroups` groups.
pub fn build_model(path: &Path, opt: &FitOptions) -> Result<Model, SemError> {
    let (src, syn) = parse_model(path)?;
    model_from_syntax(path, &src, &syn, opt, 1)
}

fn model_from_syntax(path: &Path, src: &str, syn: &ModelSyntax, opt: &FitOptions, ngroups: usize) -> Result<Model, SemError> {
    let file = path.display().to_string();
    let base = if opt.growth { TableOptions::growth() } else { TableOptions::sem() };
    let topt = TableOptions {
        std_lv: opt.std_lv,
        meanstructure: opt.meanstructure || base.meanstructure,
        ngroups,
        group_equal: opt.group_equal.clone(),
        ..base
    };
    Model::new(syn, &topt).map_err(|e| match e {
        ModelError::Syntax(d) => SemError::Input(d.render(&file, src)),
        ModelError::Model(m) => SemError::Model(format!("{file}: {m}")),
    })
}

/// A model bound to its data: the parameter table for as many groups as the
/// data hold, the per-group sample moments, and the remarks made so far.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub model: Model,
    pub data: Vec<GroupData>,
    /// the model's columns, row by row; the rows are not kept (no values,
    /// no lines) when only the moments were needed (see `moments_suffice`)
    pub dataset: crate::data::Dataset,
    /// rows of data read (with or without missing values)
    pub rows_read: usize,
    /// group names in order of first appearance (empty without --group)
    pub group_names: Vec<String>,
    /// dataset row indices of each group (empty when the rows were not kept)
    pub group_rows: Vec<Vec<usize>>,
    pub dropped: usize,
    pub warnings: Vec<String>,
    pub model_file: String,
    pub data_file: String,
    /// the model's `# expect:` directives
    pub expect: hyp::Expectations,
}

/// Whether the fit needs only the listwise sample moments of one group, so
/// that the data can be streamed without keeping the rows: true for ML with
/// listwise deletion without groups. Every option that needs the rows
/// (groups here; raw-data estimators, FIML, the bootstrap) must make it false.
pub fn moments_suffice(opt: &FitOptions) -> bool {
    opt.group.is_none()
}

/// Read model and data and bind them (everything before estimation).
pub fn prepare(model_path: &Path, data_path: &Path, opt: &FitOptions) -> Result<Prepared, SemError> {
    let (src, syn) = parse_model(model_path)?;
    let mfile = model_path.display().to_string();
    let dfile = data_path.display().to_string();
    // variable names first (a model written with c(a, b) needs two groups to build)
    let probe_groups = if opt.group.is_some() { syn.max_vector_len() } else { 1 };
    let probe = model_from_syntax(model_path, &src, &syn, opt, probe_groups)?;
    if let Some(u) = probe.unsupported.first() {
        return Err(SemError::Input(format!("{mfile}: {u}")));
    }
    let (ds, streamed) = if moments_suffice(opt) {
        let (stats, rows) = moments_csv(data_path, &probe.ram.ov, &opt.csv)?;
        let ds = crate::data::Dataset {
            file: dfile.clone(),
            names: probe.ram.ov.clone(),
            values: vec![],
            lines: vec![],
            group: None,
        };
        (ds, Some((stats, rows)))
    } else {
        (read_csv(data_path, &probe.ram.ov, opt.group.as_deref(), &opt.csv)?, None)
    };
    let rows_read = streamed.as_ref().map_or(ds.nrows(), |s| s.1);
    let mut warnings = Vec::new();
    let (group_names, group_rows) = match &ds.group {
        None if streamed.is_some() => (vec![], vec![vec![]]),
        None => (vec![], vec![(0..ds.nrows()).collect::<Vec<usize>>()]),
        Some(labels) => {
            let mut names: Vec<String> = Vec::new();
            let mut rows: Vec<Vec<usize>> = Vec::new();
            let mut unlabelled = 0;
            for (i, l) in labels.iter().enumerate() {
                if l.is_empty() || l == "NA" || l == "." || opt.csv.na.contains(l) {
                    unlabelled += 1;
                    continue;
                }
                match names.iter().position(|n| n == l) {
                    Some(k) => rows[k].push(i),
                    None => {
                        names.push(l.clone());
                        rows.push(vec![i]);
                    }
                }
            }
            if unlabelled > 0 {
                warnings.push(format!(
                    "{unlabelled} rows of {dfile} have no value in the group column and were dropped"
                ));
            }
            if names.len() < 2 {
                return Err(SemError::Input(format!(
                    "{dfile}: the group column `{}` has {} distinct value(s); a multiple-group analysis needs at least two groups",
                    opt.group.as_deref().unwrap_or(""),
                    names.len()
                )));
            }
            (names, rows)
        }
    };
    let ngroups = group_rows.len();
    let mut model = if ngroups == probe_groups {
        probe
    } else {
        model_from_syntax(model_path, &src, &syn, opt, ngroups)?
    };
    if model.df() < 0 {
        return Err(SemError::Model(format!(
            "{mfile}: the model is not identified: it has {} free parameters but the data give only {} sample moments (df = {}); fix or remove parameters",
            model.npar(),
            model.ndat(),
            model.df()
        )));
    }
    let mut data = Vec::with_capacity(ngroups);
    let mut dropped = 0;
    for (g, rows) in group_rows.iter().enumerate() {
        let stats = match &streamed {
            Some((stats, _)) => stats.clone(),
            None => SampleStats::listwise(&ds, Some(rows))?,
        };
        let what = match group_names.get(g) {
            Some(n) => format!("{dfile} (group {n})"),
            None => dfile.clone(),
        };
        stats.check(&ds.names, &what)?;
        dropped += stats.dropped;
        data.push(GroupData::new(&stats));
    }
    if dropped > 0 {
        let used: usize = data.iter().map(|d| d.n).sum();
        warnings.push(format!(
            "{dropped} of {rows_read} rows of {dfile} have missing values on the model's variables and were dropped (listwise deletion); {used} rows used"
        ));
    }
    bind_fixed_x(&mut model, &data);
    let expect = hyp::expectations(&src, &mfile, &model.pt.rows).map_err(SemError::Input)?;
    let mut all = model.pt.warnings.clone();
    all.extend(hyp::paper::warnings(&model.pt.rows));
    all.extend(warnings);
    Ok(Prepared {
        model,
        data,
        dataset: ds,
        rows_read,
        group_names,
        group_rows,
        dropped,
        warnings: all,
        model_file: mfile,
        data_file: dfile,
        expect,
    })
}

/// The model's `# expect:` directives (checked against its hypotheses) and
/// the warnings about labels that drift from the paper's hypotheses.
fn hypothesis_setup(path: &Path, model: &Model) -> Result<(hyp::Expectations, Vec<String>), SemError> {
    let src = read_model_file(path)?;
    let file = path.display().to_string();
    let expect = hyp::expectations(&src, &file, &model.pt.rows).map_err(SemError::Input)?;
    Ok((expect, hyp::paper::warnings(&model.pt.rows)))
}

/// `sem check MODEL [DATA]`.
pub fn check(model_path: &Path, data_path: Option<&Path>, opt: &FitOptions) -> Result<CheckReport, SemError> {
    let model = build_model(model_path, opt)?;
    let (expect, paper_warnings) = hypothesis_setup(model_path, &model)?;
    let mut warnings = model.pt.warnings.clone();
    warnings.extend(paper_warnings);
    let (mut data_file, mut columns, mut nobs) = (None, None, None);
    if let Some(dp) = data_path {
        let ds = read_csv(dp, &model.ram.ov, None, &opt.csv)?;
        data_file = Some(dp.display().to_string());
        columns = Some(model.ram.ov.clone());
        nobs = Some(ds.nrows());
    }
    if model.df() < 0 {
        warnings.push(format!(
            "the model has more free parameters ({}) than sample moments ({}): df = {}; it is not identified",
            model.npar(),
            model.ndat(),
            model.df()
        ));
    }
    Ok(CheckReport {
        model_file: model_path.display().to_string(),
        npar: model.npar(),
        nfree: model.pt.rows.iter().filter(|r| r.free > 0).count(),
        ndat: model.ndat(),
        df: model.df(),
        meanstructure: model.pt.meanstructure,
        variables: Variables {
            latent: model.pt.names.lv.clone(),
            observed: model.pt.names.ov.clone(),
            fixed_x: model.pt.names.ov_x.clone(),
        },
        parameters: model.pt.rows.clone(),
        hypotheses: hyp::declared(&model.pt.rows, &expect),
        data_file,
        columns_used: columns,
        nobs,
        warnings,
    })
}

/// `sem fit MODEL DATA`: the report and whether the fit is usable.
pub fn fit(model_path: &Path, data_path: &Path, opt: &FitOptions) -> Result<FitReport, SemError> {
    let prep = prepare(model_path, data_path, opt)?;
    Ok(fit_prepared(&prep, opt))
}

/// Estimate a prepared model and report it.
pub fn fit_prepared(prep: &Prepared, opt: &FitOptions) -> FitReport {
    let model = &prep.model;
    let gd = &prep.data;
    let mut warnings = prep.warnings.clone();
    let est = estimate::estimate(model, gd, opt.max_iter);
    if !est.converged {
        warnings.push(format!(
            "the model did not converge: {}. Try --max-iter with a larger number, check the model for misspecification, or give start values with start(v)",
            est.message.clone().unwrap_or_default()
        ));
    }
    let x = &est.x;
    let vcov = match inference::vcov(model, x, gd) {
        Ok(v) => Some(v),
        Err(ni) => {
            let names: Vec<String> = ni.rows.iter().map(|&r| describe_row(model, r)).collect();
            warnings.push(format!(
                "the model is not identified: the information matrix is singular{}; standard errors could not be computed",
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" (parameters involved: {})", names.join(", "))
                }
            ));
            None
        }
    };
    for r in inference::negative_variances(model, x) {
        warnings.push(format!(
            "the variance of `{}` is negative ({:.4}): an inadmissible solution (Heywood case)",
            model.pt.rows[r].lhs,
            inference::row_values(model, x)[r]
        ));
    }
    let (rows, w2) = inference::estimates(model, x, vcov.as_ref(), opt.ci_level);
    warnings.extend(w2);
    let parameters: Vec<ParamOut> = model
        .pt
        .rows
        .iter()
        .zip(&rows)
        .filter(|(r, _)| matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1" | ":="))
        .map(|(r, e)| ParamOut {
            lhs: r.lhs.clone(),
            op: r.op.clone(),
            rhs: r.rhs.clone(),
            group: if r.op == ":=" && model.pt.ngroups > 1 { 0 } else { r.group.max(1) },
            label: r.label.clone(),
            free: r.free > 0,
            est: e.est,
            se: e.se,
            z: e.z,
            pvalue: e.pvalue,
            ci_lower: e.ci_lower,
            ci_upper: e.ci_upper,
            std_lv: e.std_lv,
            std_all: e.std_all,
        })
        .collect();
    let measures = fit::measures(model, x, gd);
    let mut fitmap = Map::new();
    for (k, v) in measures {
        fitmap.insert(k.to_string(), v.filter(|v| v.is_finite()).map_or(Value::Null, Value::from));
    }
    let r2 = r_square(model, &parameters, &prep.group_names);
    let modindices = if opt.modindices {
        match inference::modindices::modindices(model, x, gd) {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(format!("modification indices: {e}"));
                None
            }
        }
    } else {
        None
    };
    let hypotheses = hyp::evaluate(&parameters, &prep.expect, opt.alpha);
    let nobs: Vec<usize> = gd.iter().map(|d| d.n).collect();
    FitReport {
        converged: est.converged,
        estimator: "ML".into(),
        nobs: if nobs.len() == 1 { Value::from(nobs[0]) } else { Value::from(nobs) },
        groups: (!prep.group_names.is_empty()).then(|| prep.group_names.clone()),
        parameters,
        fit: fitmap,
        r2,
        hypotheses,
        modindices,
        residuals: opt.residuals.then(|| inference::residuals::residuals(model, x, gd, vcov.as_ref())),
        warnings,
        model_file: prep.model_file.clone(),
        data_file: prep.data_file.clone(),
        rows_read: prep.rows_read,
        rows_dropped: prep.dropped,
        iterations: est.iterations,
        optimizer: "Fisher scoring".into(),
        se_type: if vcov.is_some() {
            "Standard".into()
        } else {
            "none (not identified)".into()
        },
        ci_level: opt.ci_level,
        alpha: opt.alpha,
        sem_version: env!("CARGO_PKG_VERSION").into(),
    }
}

fn describe_row(model: &Model, r: usize) -> String {
    let row = &model.pt.rows[r];
    format!("{} {} {}", row.lhs, row.op, row.rhs).trim().to_string()
}

/// R-square of every indicator and every dependent variable: 1 - the
/// standardized (residual) variance, as lavInspect(fit, "r2"); per group
/// (group name -> map) in a multiple-group model.
fn r_square(model: &Model, params: &[ParamOut], groups: &[String]) -> Value {
    let is_endo = |v: &str| {
        model
            .pt
            .rows
            .iter()
            .any(|r| (r.op == "=~" && r.rhs == v) || (r.op == "~" && r.lhs == v))
    };
    let one = |g: usize| {
        let mut m = Map::new();
        for p in params.iter().filter(|p| p.group == g) {
            if p.op == "~~" && p.lhs == p.rhs && is_endo(&p.lhs) {
                let v = p.std_all.map(|s| 1.0 - s).filter(|v| *v <= 1.0);
                m.insert(p.lhs.clone(), v.map_or(Value::Null, Value::from));
            }
        }
        Value::Object(m)
    };
    if groups.is_empty() {
        return one(1);
    }
    Value::Object(groups.iter().enumerate().map(|(g, name)| (name.clone(), one(g + 1))).collect())
}

/// Labelled regression paths and defined parameters, one per label, all
/// expected positive (the model file's `# expect:` directives are applied by
/// `fit`; see `crate::hypotheses`).
pub fn hypotheses(params: &[ParamOut], alpha: f64) -> Vec<HypothesisOut> {
    hyp::evaluate(params, &hyp::Expectations::default(), alpha)
}

//! The pipeline behind `sem fit` and `sem check`: read the model, build the
//! parameter table, read the data, estimate, infer, assess fit, and gather
//! it all in a `FitReport`. Every failure becomes a `SemError` that already
//! says, in words a user can act on, which file, line, column or variable is
//! at fault, and which exit code the contract gives it.

use crate::data::{read::read_csv, CsvOptions, DataError, SampleStats};
use crate::estimate::{self, objective::GroupData, start::bind_fixed_x};
use crate::model::{Model, ModelError, TableOptions};
use crate::report::check::{CheckReport, Variables};
use crate::report::{FitReport, HypothesisOut, ParamOut};
use crate::syntax::{self, ModelSyntax};
use crate::{fit, inference};
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
    let bytes = crate::data::read::read_file("model file", path).map_err(SemError::Input)?;
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SemError::Input(format!("model file {file} is UTF-16 text; save it as UTF-8")));
    }
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
    let syn = syntax::parse(&src).map_err(|mut d| {
        if looks_like_csv(&src) {
            d.help = Some(format!(
                "{file} looks like a CSV data file, not a model; the model file comes first: sem fit MODEL DATA"
            ));
        }
        SemError::Input(d.render(&file, &src))
    })?;
    Ok((src, syn))
}

/// A first line such as `"id","x1","x2"` or `1.5;2;3`: data given as the model.
fn looks_like_csv(src: &str) -> bool {
    let first = src.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let seps = first.chars().filter(|c| matches!(c, ',' | ';' | '\t')).count();
    seps >= 2 && !first.contains('~') && !first.contains(":=")
}

/// Build the model (parameter table, free parameters, scale checks).
pub fn build_model(path: &Path, opt: &FitOptions) -> Result<Model, SemError> {
    let (src, syn) = parse_model(path)?;
    let file = path.display().to_string();
    let topt = TableOptions {
        std_lv: opt.std_lv,
        meanstructure: opt.meanstructure,
        fixed_x: true,
        ngroups: 1,
    };
    Model::new(&syn, &topt).map_err(|e| match e {
        ModelError::Syntax(d) => SemError::Input(d.render(&file, &src)),
        ModelError::Model(m) => SemError::Model(format!("{file}: {m}")),
    })
}

/// `sem check MODEL [DATA]`.
pub fn check(model_path: &Path, data_path: Option<&Path>, opt: &FitOptions) -> Result<CheckReport, SemError> {
    let model = build_model(model_path, opt)?;
    let mut warnings = model.pt.warnings.clone();
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
        data_file,
        columns_used: columns,
        nobs,
        warnings,
    })
}

/// `sem fit MODEL DATA`: the report and whether the fit is usable.
pub fn fit(model_path: &Path, data_path: &Path, opt: &FitOptions) -> Result<FitReport, SemError> {
    let mut model = build_model(model_path, opt)?;
    let mfile = model_path.display().to_string();
    if let Some(u) = model.unsupported.first() {
        return Err(SemError::Input(format!("{mfile}: {u}")));
    }
    if model.df() < 0 {
        return Err(SemError::Model(format!(
            "{mfile}: the model is not identified: it has {} free parameters but the data give only {} sample moments (df = {}); fix or remove parameters",
            model.npar(),
            model.ndat(),
            model.df()
        )));
    }
    let ds = read_csv(data_path, &model.ram.ov, None, &opt.csv)?;
    let dfile = data_path.display().to_string();
    let stats = SampleStats::listwise(&ds, None)?;
    stats.check(&ds.names, &dfile)?;
    let gd = vec![GroupData::new(&stats)];
    bind_fixed_x(&mut model, &gd);
    let mut warnings = model.pt.warnings.clone();
    if stats.dropped > 0 {
        warnings.push(format!(
            "{} of {} rows of {dfile} have missing values on the model's variables and were dropped (listwise deletion); {} rows used",
            stats.dropped,
            ds.nrows(),
            stats.nobs
        ));
    }
    warnings.extend(stats.scale_warning(&ds.names));
    let est = estimate::estimate(&model, &gd, opt.max_iter);
    if !est.converged {
        let why = est.message.clone().unwrap_or_default();
        let more_iterations = if est.iterations >= opt.max_iter {
            "a larger --max-iter, "
        } else {
            ""
        };
        warnings.push(format!(
            "{NOT_CONVERGED}: {}. Try {more_iterations}checking the model for misspecification (a missing path, a wrong indicator), or start values with start(v)",
            why.trim_end_matches('.')
        ));
    }
    let x = &est.x;
    let vcov = match inference::vcov(&model, x, &gd) {
        Ok(v) => Some(v),
        Err(ni) if ni.rows.is_empty() => {
            warnings.push(format!(
                "{NOT_IDENTIFIED}, or the estimates are unusable: the information matrix cannot be computed at them, so standard errors could not be computed"
            ));
            None
        }
        Err(ni) => {
            let names: Vec<String> = ni.rows.iter().map(|&r| format!("`{}`", inference::describe(&model, r))).collect();
            warnings.push(format!(
                "{NOT_IDENTIFIED}: the information matrix is singular, so these parameters cannot be told apart by the data: {}; standard errors could not be computed. Fix one of them (a loading or a variance), constrain them equal, or give a factor more indicators",
                names.join(", ")
            ));
            None
        }
    };
    warnings.extend(inference::admissibility(&model, x));
    let (rows, w2) = inference::estimates(&model, x, vcov.as_ref(), opt.ci_level);
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
            group: r.group.max(1),
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
    let measures = fit::measures(&model, x, &gd);
    let mut fitmap = Map::new();
    for (k, v) in measures {
        fitmap.insert(k.to_string(), v.filter(|v| v.is_finite()).map_or(Value::Null, Value::from));
    }
    let r2 = r_square(&model, &parameters);
    let hypotheses = hypotheses(&parameters, opt.alpha);
    Ok(FitReport {
        converged: est.converged,
        estimator: "ML".into(),
        nobs: Value::from(stats.nobs),
        groups: None,
        parameters,
        fit: fitmap,
        r2,
        hypotheses,
        warnings,
        model_file: mfile,
        data_file: dfile,
        rows_read: ds.nrows(),
        rows_dropped: stats.dropped,
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
    })
}

/// How the warning starts when the information matrix is singular.
pub const NOT_IDENTIFIED: &str = "the model is not identified";
/// How the warning starts when the optimizer gave up.
pub const NOT_CONVERGED: &str = "the model did not converge";

/// Why a fit report is no result (exit 1): the model is not identified or
/// did not converge. That one message is printed instead of the report, so
/// estimates that mean nothing are never shown as if they did.
pub fn unusable(r: &FitReport) -> Option<SemError> {
    let pick = |prefix: &str, fallback: &str| {
        r.warnings
            .iter()
            .find(|w| w.starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| format!("{prefix}{fallback}"))
    };
    let not_converged = (!r.converged).then(|| pick(NOT_CONVERGED, "; try a larger --max-iter"));
    let not_identified = (r.se_type != "Standard").then(|| pick(NOT_IDENTIFIED, ": standard errors could not be computed"));
    let why = match (not_converged, not_identified) {
        // a model that is not identified often does not converge either: say both
        (Some(nc), Some(ni)) => format!(
            "{}; at the last estimates {}",
            nc.trim_end_matches('.'),
            ni.replacen(NOT_IDENTIFIED, "the model may not be identified", 1)
        ),
        (Some(why), None) | (None, Some(why)) => why,
        (None, None) => return None,
    };
    Some(SemError::Model(format!("{}: {why}", r.model_file)))
}

/// R-square of every indicator and every dependent variable: 1 - the
/// standardized (residual) variance, as lavInspect(fit, "r2").
fn r_square(model: &Model, params: &[ParamOut]) -> Value {
    let mut m = Map::new();
    let is_endo = |v: &str| {
        model
            .pt
            .rows
            .iter()
            .any(|r| (r.op == "=~" && r.rhs == v) || (r.op == "~" && r.lhs == v))
    };
    for p in params {
        if p.op == "~~" && p.lhs == p.rhs && is_endo(&p.lhs) {
            let v = p.std_all.map(|s| 1.0 - s).filter(|v| *v <= 1.0);
            m.insert(p.lhs.clone(), v.map_or(Value::Null, Value::from));
        }
    }
    Value::Object(m)
}

/// Labelled regression paths and defined parameters, one per label.
pub fn hypotheses(params: &[ParamOut], alpha: f64) -> Vec<HypothesisOut> {
    let mut out: Vec<HypothesisOut> = Vec::new();
    for p in params {
        let is_h = (p.op == "~" && !p.label.is_empty()) || p.op == ":=";
        if !is_h || out.iter().any(|h| h.name == p.label) {
            continue;
        }
        let sign = 1.0;
        let supported = matches!((p.est, p.pvalue), (Some(e), Some(pv)) if e * sign > 0.0 && pv < alpha);
        out.push(HypothesisOut {
            name: p.label.clone(),
            lhs: p.lhs.clone(),
            op: p.op.clone(),
            rhs: p.rhs.clone(),
            expected_sign: "+".into(),
            est: p.est,
            se: p.se,
            z: p.z,
            pvalue: p.pvalue,
            std_all: p.std_all,
            supported,
        });
    }
    out
}

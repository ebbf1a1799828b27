//! The pipeline behind `sem fit` and `sem check`: read the model, build the
//! parameter table, read the data, estimate, infer, assess fit, and gather
//! it all in a `FitReport`. Every failure becomes a `SemError` that already
//! says, in words a user can act on, which file, line, column or variable is
//! at fault, and which exit code the contract gives it.

use crate::data::{formats, CsvOptions, DataError, SampleStats};
use crate::estimate::{self, objective::GroupData, start::bind_fixed_x};
use crate::model::{Model, ModelError, TableOptions};
use crate::report::check::{CheckReport, Variables};
use crate::report::{FitReport, HypothesisOut, ParamOut};
use crate::syntax::{self, ModelSyntax};
use crate::{hypotheses as hyp, inference};
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

pub use crate::estimator::EstimatorKind;

#[derive(Debug, Clone)]
pub struct FitOptions {
    pub estimator: EstimatorKind,
    pub std_lv: bool,
    pub meanstructure: bool,
    /// multiple-group analysis by this column
    pub group: Option<String>,
    pub group_equal: Vec<String>,
    /// lavaan's group.partial: parameters `--group-equal` leaves free
    pub group_partial: Vec<String>,
    /// lavaan's growth() defaults
    pub growth: bool,
    /// add modification indices to the report
    pub modindices: bool,
    /// --se robust: robust.sem standard errors with ML (lavaan's se = "robust")
    pub se_robust: bool,
    /// --se robust.huber.white: Huber-White standard errors with ML and the
    /// standard test (lavaan's se = "robust.huber.white")
    pub se_huber_white: bool,
    /// --information: lavaan's `information` for the ML family; `None`: the
    /// estimator's default (expected; observed for MLR, FIML and
    /// Huber-White standard errors; first-order for MLF)
    pub information: Option<crate::estimator::Information>,
    /// add residuals (raw, correlation, standardized) to the report
    pub residuals: bool,
    pub ci_level: f64,
    pub alpha: f64,
    pub max_iter: u64,
    pub csv: CsvOptions,
    /// full-information ML for missing values (lavaan's missing = "ml") instead of listwise deletion
    pub fiml: bool,
    /// --se bootstrap and/or --test bollen-stine
    pub bootstrap: Option<inference::bootstrap::BootSettings>,
    /// --ordered: ordinal observed variables
    pub ordered: Option<crate::ordinal::columns::OrderedSpec>,
    /// whether --estimator was given (without it, ordinal data get WLSMV)
    pub estimator_chosen: bool,
    /// --parameterization of the ordinal variables' latent responses
    pub parameterization: crate::model::partable::Parameterization,
    /// --missing pairwise (ordinal data): lavaan's missing = "pairwise"
    pub pairwise: bool,
    /// --validity: reliability, AVE, Fornell–Larcker and HTMT (`inference::validity`)
    pub validity: bool,
    /// --effects: direct, indirect and total effects (`inference::effects`); `All` adds specific paths
    pub effects: Option<inference::effects::Detail>,
    /// what only a printed report needs: the standard errors of the standardized
    /// solution (`std_all_se`) and the eigenvalue check of the vcov (`vcov_warning`);
    /// `sem power`, which never shows them, turns them off (40% of a fit's time)
    pub report_extras: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            estimator: EstimatorKind::Ml,
            std_lv: false,
            meanstructure: false,
            group: None,
            group_equal: vec![],
            group_partial: vec![],
            growth: false,
            modindices: false,
            se_robust: false,
            se_huber_white: false,
            information: None,
            residuals: false,
            ci_level: 0.95,
            alpha: 0.05,
            max_iter: 10_000,
            csv: CsvOptions::default(),
            fiml: false,
            bootstrap: None,
            ordered: None,
            estimator_chosen: false,
            parameterization: Default::default(),
            pairwise: false,
            validity: false,
            effects: None,
            report_extras: true,
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
    let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
    Ok(syntax::diag::lone_cr_to_lf(text))
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

/// Build the model (parameter table, free parameters, scale checks) for
/// `ngroups` groups.
pub fn build_model(path: &Path, opt: &FitOptions) -> Result<Model, SemError> {
    let (src, syn) = parse_model(path)?;
    model_from_syntax(path, &src, &syn, opt, 1, &[])
}

/// `ordered`: the ordinal variables with their number of thresholds.
fn model_from_syntax(
    path: &Path,
    src: &str,
    syn: &ModelSyntax,
    opt: &FitOptions,
    ngroups: usize,
    ordered: &[(String, usize)],
) -> Result<Model, SemError> {
    let file = path.display().to_string();
    // an estimator the data rule out is refused once the data are read (`prepare`)
    let fixed_x = crate::estimator::select(opt).map_or(true, |e| e.fixed_x());
    let base = if opt.growth { TableOptions::growth() } else { TableOptions::sem() };
    let topt = TableOptions {
        fixed_x,
        std_lv: opt.std_lv,
        meanstructure: opt.meanstructure || base.meanstructure || opt.fiml,
        ngroups,
        group_equal: opt.group_equal.clone(),
        group_partial: opt.group_partial.clone(),
        ordered: ordered.to_vec(),
        parameterization: opt.parameterization,
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
    /// with --missing fiml: the missing-data patterns and EM moments (`data` then holds the EM moments)
    pub fiml: Option<estimate::fiml::FimlData>,
    /// with ordinal variables (--ordered or `|` rows): lavaan's three-stage
    /// sample statistics of each group, variables in `model.pt.names.ov`
    /// order (listwise deletion); `data` still holds the raw moments
    pub ordinal: Option<Vec<crate::ordinal::OrdinalStats>>,
}

/// Whether the fit needs only the listwise sample moments of one group, so
/// that the data can be streamed without keeping the rows: when the
/// estimator says so (`Estimator::moments_suffice`), without groups. Every
/// option that needs the rows (groups here; raw-data estimators, FIML, the
/// bootstrap) must make it false.
pub fn moments_suffice(opt: &FitOptions) -> bool {
    opt.group.is_none()
        && opt.bootstrap.is_none()
        && opt.ordered.is_none()
        && crate::estimator::select(opt).is_ok_and(|e| e.moments_suffice())
}

/// A model file read, parsed and built once, ready to be bound to many data
/// sets (`sem power` binds it to every replication without reading or
/// parsing it again).
#[derive(Debug, Clone)]
pub struct ModelInput {
    pub path: std::path::PathBuf,
    pub src: String,
    pub syn: ModelSyntax,
    /// the model built for `probe_groups` groups, without data
    pub probe: Model,
    pub probe_groups: usize,
}

impl ModelInput {
    /// Read, parse and build the model for `opt` (the checks made before any data).
    pub fn read(model_path: &Path, opt: &FitOptions) -> Result<ModelInput, SemError> {
        let (src, syn) = parse_model(model_path)?;
        Self::from_source(model_path, src, syn, opt)
    }

    /// The same from text already read (`model_path` names it in messages).
    pub fn from_source(model_path: &Path, src: String, syn: ModelSyntax, opt: &FitOptions) -> Result<ModelInput, SemError> {
        let mfile = model_path.display().to_string();
        // variable names first (a model written with c(a, b) needs two groups to build)
        let probe_groups = if opt.group.is_some() { syn.max_vector_len() } else { 1 };
        let probe = model_from_syntax(model_path, &src, &syn, opt, probe_groups, &[])?;
        if let Some(u) = probe.unsupported.first() {
            return Err(SemError::Input(format!("{mfile}: {u}")));
        }
        Ok(ModelInput {
            path: model_path.to_path_buf(),
            src,
            syn,
            probe,
            probe_groups,
        })
    }

    /// Whether the model has ordinal variables (with `opt`'s --ordered).
    pub fn ordinal(&self, opt: &FitOptions) -> bool {
        opt.ordered.is_some() || !self.probe.pt.names.ov_ord.is_empty()
    }
}

/// The data a model is bound to: rows read (or made in memory), or only
/// their listwise moments when those suffice (`moments_suffice`).
pub struct DataInput<'a> {
    pub dataset: crate::data::Dataset,
    /// the listwise moments and the number of rows read, when the rows were not kept
    pub moments: Option<(SampleStats, usize)>,
    /// whether a name that is not a model variable is a column of the data (for --ordered)
    pub is_column: &'a dyn Fn(&str) -> bool,
    /// what the reader noticed (a missing-value code left in a column, ...)
    pub warnings: Vec<String>,
}

/// Standard input (`-`) can be the model or the data, not both.
pub fn not_both_stdin(model: &Path, data: &Path) -> Result<(), SemError> {
    if crate::data::read::is_stdin(model) && crate::data::read::is_stdin(data) {
        return Err(SemError::Input(
            "the model and the data cannot both come from standard input (`-`); give one of them as a file".into(),
        ));
    }
    Ok(())
}

/// Read model and data and bind them (everything before estimation).
pub fn prepare(model_path: &Path, data_path: &Path, opt: &FitOptions) -> Result<Prepared, SemError> {
    crate::stage::set("reading the model and the data");
    not_both_stdin(model_path, data_path)?;
    let input = ModelInput::read(model_path, opt)?;
    let dfile = data_path.display().to_string();
    let probe = &input.probe;
    // ordinal variables need the rows (their statistics are not moments)
    let ordinal = input.ordinal(opt);
    check_missing_options(opt, ordinal)?;
    // interaction terms (`x1:x2`) are read as their components and multiplied
    let products = probe.ram.ov.iter().any(|v| v.contains(':'));
    let (ds, streamed, data_warnings) = if moments_suffice(opt) && !ordinal && !products {
        let (stats, rows, w) = formats::moments(data_path, &probe.ram.ov, &opt.csv)?;
        let ds = crate::data::Dataset {
            file: dfile.clone(),
            names: probe.ram.ov.clone(),
            values: vec![],
            lines: vec![],
            group: None,
        };
        (ds, Some((stats, rows)), w)
    } else {
        let ov = &probe.ram.ov;
        let mfile = model_path.display().to_string();
        let base = crate::data::products::base_columns(ov).map_err(|e| SemError::Input(format!("{mfile}: {e}")))?;
        let (ds, w) = formats::read(data_path, &base, opt.group.as_deref(), &opt.csv).map_err(|e| ordinal_read_error(e, opt, probe))?;
        (crate::data::products::with_products(ds, ov), None, w)
    };
    let is_column = |c: &str| formats::has_column(data_path, c, &opt.csv);
    bind(
        &input,
        DataInput {
            dataset: ds,
            moments: streamed,
            is_column: &is_column,
            warnings: data_warnings,
        },
        opt,
    )
}

/// The missing-data options that do not go with the kind of data.
fn check_missing_options(opt: &FitOptions, ordinal: bool) -> Result<(), SemError> {
    if opt.pairwise && !ordinal {
        return Err(SemError::Input(
            "--missing pairwise applies to ordinal variables (--ordered) for now; use --missing listwise or fiml".into(),
        ));
    }
    if ordinal && opt.fiml {
        return Err(SemError::Input(
            "--missing fiml does not apply to ordinal variables (lavaan's WLSMV uses listwise or pairwise deletion); drop --missing fiml"
                .into(),
        ));
    }
    Ok(())
}

/// Bind a model read once to one data set: groups, ordinal categories, the
/// model for as many groups as the data hold, sample statistics (listwise,
/// FIML patterns or three-stage ordinal statistics), fixed.x values and
/// the hypotheses' directives.
pub fn bind(input: &ModelInput, data: DataInput, opt: &FitOptions) -> Result<Prepared, SemError> {
    let (model_path, src, syn) = (input.path.as_path(), input.src.as_str(), &input.syn);
    let probe_groups = input.probe_groups;
    let mfile = model_path.display().to_string();
    let ordinal = input.ordinal(opt);
    check_missing_options(opt, ordinal)?;
    let DataInput {
        dataset: ds,
        moments: streamed,
        is_column,
        warnings: data_warnings,
    } = data;
    let dfile = ds.file.clone();
    let rows_read = streamed.as_ref().map_or(ds.nrows(), |s| s.1);
    let mut warnings = data_warnings;
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
    let mut levels = vec![];
    if ordinal {
        let names = &input.probe.pt.names;
        let ord = crate::ordinal::columns::ordinal_names(
            opt.ordered.as_ref(),
            &names.ov,
            &names.ov_ord,
            &names.exo,
            &dfile,
            is_column,
            &mut warnings,
        )
        .map_err(SemError::Input)?;
        levels = crate::ordinal::columns::detect_levels(&ds, &ord).map_err(SemError::Input)?;
    }
    let nthresholds: Vec<(String, usize)> = levels.iter().map(|(n, l)| (n.clone(), l.len() - 1)).collect();
    let mut model = if ngroups == probe_groups && !ordinal {
        input.probe.clone()
    } else {
        model_from_syntax(model_path, src, syn, opt, ngroups, &nthresholds)?
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
    let mut fiml = None;
    if opt.fiml {
        // a group is named by its value in the group column, never by a position
        let what = |g: usize| match group_names.get(g) {
            Some(n) => format!("{dfile} (rows with {} = {n})", opt.group.as_deref().unwrap_or("group")),
            None => dfile.clone(),
        };
        let x_idx: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| model.ram.index(v)).collect();
        let fp = estimate::fiml::prepare(&ds, &group_rows, &x_idx, &what)?;
        warnings.extend(fiml_warnings(
            &fp,
            &dfile,
            ds.nrows(),
            &crate::data::groups::GroupLabels::new(opt.group.as_deref(), &group_names),
        ));
        dropped = fp.empty + fp.x_missing;
        data = fp.data;
        fiml = Some(fp.fiml);
    }
    for (g, rows) in group_rows.iter().enumerate().filter(|_| !opt.fiml) {
        let stats = match &streamed {
            Some((stats, _)) => stats.clone(),
            None => SampleStats::listwise(&ds, Some(rows))?,
        };
        let what = match group_names.get(g) {
            Some(n) => format!("{dfile} (rows with {} = {n})", opt.group.as_deref().unwrap_or("group")),
            None => dfile.clone(),
        };
        stats.check(&ds.names, &what)?;
        warnings.extend(stats.scale_warning(&ds.names));
        dropped += stats.dropped;
        data.push(GroupData::new(&stats));
    }
    if dropped > 0 && !opt.fiml && !opt.pairwise {
        let used: usize = data.iter().map(|d| d.n).sum();
        warnings.push(format!(
            "{dropped} of {rows_read} rows of {dfile} have missing values on the model's variables and were dropped (listwise deletion); {used} rows used (--missing fiml would use every row)"
        ));
    }
    let ordinal = if ordinal {
        let missing = if opt.pairwise {
            crate::ordinal::OrdMissing::Pairwise
        } else {
            crate::ordinal::OrdMissing::Listwise
        };
        let st = if model.pt.names.ov_x.is_empty() {
            crate::ordinal::columns::group_stats(&ds, &group_rows, &group_names, &model.pt.names.ov, &levels, missing)
                .map_err(SemError::Input)?
        } else {
            // lavaan's conditional.x: statistics given the covariates
            crate::ordinal::exo::prepare(&ds, &group_rows, &group_names, &model, &levels, opt.pairwise).map_err(SemError::Input)?
        };
        warnings.extend(st.iter().flat_map(|s| s.warnings.iter().cloned()));
        let used: usize = st.iter().map(|s| s.nobs).sum();
        if opt.pairwise && dropped > 0 {
            warnings.push(format!(
                "{dropped} of {rows_read} rows of {dfile} have missing values; with --missing pairwise each threshold and correlation uses the rows where its variables are observed ({used} rows with at least one value)"
            ));
        }
        Some(st)
    } else {
        None
    };
    bind_fixed_x(&mut model, &data);
    if let Some(st) = ordinal.as_ref().filter(|st| st.iter().any(|s| s.exo.is_some())) {
        crate::ordinal::exo::bind_covariates(&mut model, st);
    }
    let expect = hyp::expectations(src, &mfile, &model.pt.rows).map_err(SemError::Input)?;
    let mut all = model.pt.warnings.clone();
    all.extend(hyp::warnings(&model.pt.rows, &expect));
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
        model_file: mfile.clone(),
        data_file: dfile,
        expect,
        fiml,
        ordinal,
    })
    .and_then(|p: Prepared| {
        let est = crate::estimator::select_for(opt, p.ordinal.is_some()).map_err(SemError::Input)?;
        est.check(&p).map_err(|e| SemError::Input(format!("{mfile}: {e}")))?;
        Ok(p)
    })
}

/// A read error in an ordinal column: say that its categories must be numeric codes.
fn ordinal_read_error(e: DataError, opt: &FitOptions, probe: &Model) -> SemError {
    let ord = |c: &str| match &opt.ordered {
        Some(crate::ordinal::columns::OrderedSpec::All) => true,
        Some(crate::ordinal::columns::OrderedSpec::Cols(cs)) => cs.iter().any(|x| x == c),
        None => false,
    } || probe.pt.names.ov_ord.iter().any(|x| x == c);
    let col = e.0.split('`').nth(1).unwrap_or("");
    if e.0.contains("which is not a number") && ord(col) {
        return SemError::Input(format!(
            "{}; `{col}` is ordinal: its categories must be numeric codes (such as 1 to 5) in the CSV, so recode the text labels to numbers in their order",
            e.0
        ));
    }
    SemError::from(e)
}

/// What FIML dropped, and how many missing-data patterns it found.
fn fiml_warnings(fp: &estimate::fiml::Prepared, dfile: &str, nrows: usize, labels: &crate::data::groups::GroupLabels) -> Vec<String> {
    let mut w = Vec::new();
    if fp.empty > 0 {
        w.push(format!(
            "{} of {nrows} rows of {dfile} have no value on any of the model's variables and were dropped",
            fp.empty
        ));
    }
    if fp.x_missing > 0 {
        w.push(format!(
            "{} of {nrows} rows of {dfile} have a missing value on an exogenous covariate and were dropped (fixed.x: lavaan does the same with missing = \"ml\")",
            fp.x_missing
        ));
    }
    let pats: Vec<String> = fp.fiml.patterns.iter().map(|p| p.patterns.len().to_string()).collect();
    let used: usize = fp.fiml.ntotal();
    w.push(format!(
        "full-information ML (--missing fiml): {used} rows used, {} missing-data pattern{}",
        pats.join(" + "),
        if pats.len() == 1 && pats[0] == "1" { "" } else { "s" }
    ));
    let ngroups = fp.fiml.h1.len();
    for (g, h) in fp.fiml.h1.iter().enumerate() {
        if !h.converged {
            w.push(format!(
                "the EM estimate of the saturated model{} did not converge in {} iterations; chi-square and SRMR may be inaccurate",
                labels.in_group(g, ngroups),
                h.iterations
            ));
        }
    }
    w
}

/// The model's `# expect:` directives (checked against its hypotheses) and
/// the warnings about labels that drift from the paper's hypotheses.
fn hypothesis_setup(path: &Path, src: &str, model: &Model) -> Result<(hyp::Expectations, Vec<String>), SemError> {
    let file = path.display().to_string();
    let expect = hyp::expectations(src, &file, &model.pt.rows).map_err(SemError::Input)?;
    let paper = hyp::warnings(&model.pt.rows, &expect);
    Ok((expect, paper))
}

/// `sem check MODEL [DATA]`.
pub fn check(model_path: &Path, data_path: Option<&Path>, opt: &FitOptions) -> Result<CheckReport, SemError> {
    // the model file is read once (it may be a FIFO or `<(...)`)
    if let Some(dp) = data_path {
        not_both_stdin(model_path, dp)?;
    }
    let (src, syn) = parse_model(model_path)?;
    let mut model = model_from_syntax(model_path, &src, &syn, opt, 1, &[])?;
    let ordinal = opt.ordered.is_some() || !model.pt.names.ov_ord.is_empty();
    let mut warnings = vec![];
    let (mut data_file, mut columns, mut nobs, mut describe) = (None, None, None, None);
    if let Some(dp) = data_path {
        let (ds, w) = formats::read(dp, &model.ram.ov, None, &opt.csv).map_err(|e| ordinal_read_error(e, opt, &model))?;
        warnings.extend(w);
        data_file = Some(dp.display().to_string());
        columns = Some(model.ram.ov.clone());
        nobs = Some(ds.nrows());
        describe = Some(crate::data::describe::describe(&ds));
        if ordinal {
            // the thresholds of each ordinal variable: one fewer than its categories
            let n = &model.pt.names;
            let is_column = |c: &str| formats::has_column(dp, c, &opt.csv);
            let dfile = dp.display().to_string();
            let ord =
                crate::ordinal::columns::ordinal_names(opt.ordered.as_ref(), &n.ov, &n.ov_ord, &n.exo, &dfile, &is_column, &mut warnings)
                    .map_err(SemError::Input)?;
            let levels = crate::ordinal::columns::detect_levels(&ds, &ord).map_err(SemError::Input)?;
            let nth: Vec<(String, usize)> = levels.iter().map(|(n, l)| (n.clone(), l.len() - 1)).collect();
            model = model_from_syntax(model_path, &src, &syn, opt, 1, &nth)?;
        }
    } else if opt.ordered.is_some() {
        return Err(SemError::Input(
            "--ordered needs the DATA argument: the categories of each ordinal variable come from the data".into(),
        ));
    }
    let (expect, paper_warnings) = hypothesis_setup(model_path, &src, &model)?;
    warnings.splice(0..0, model.pt.warnings.iter().cloned().chain(paper_warnings));
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
        hypotheses: hyp::declared(&model.pt.rows, &expect),
        // the model is not used after this: its rows move into the report
        parameters: std::mem::take(&mut model.pt.rows),
        data_file,
        columns_used: columns,
        nobs,
        describe,
        warnings,
    })
}

/// `sem fit MODEL DATA`: the report and whether the fit is usable.
pub fn fit(model_path: &Path, data_path: &Path, opt: &FitOptions) -> Result<FitReport, SemError> {
    let prep = prepare(model_path, data_path, opt)?;
    let report = fit_prepared(&prep, opt);
    drop_in_background(prep);
    Ok(report)
}

/// Free what a fit no longer needs on the rayon pool, not on the caller's
/// thread, when it is big: the statistics of an ordinal or large data set
/// are megabytes in a few big blocks (the Bradford WLSMV fit's 400 x 400
/// NACOV and influence matrix), and giving them back to the system (munmap,
/// with its TLB shootdowns on every core) took 0.4 ms of a 20 ms `sem fit`,
/// just before the report is printed. A small continuous fit frees its few
/// kilobytes at once (and starts no thread pool for it).
fn drop_in_background(prep: Prepared) {
    if prep.ordinal.is_some() || prep.dataset.values.len() > 1 << 16 {
        rayon::spawn(move || drop(prep));
    }
}

/// `fit`, with what the estimator's nested-model difference test needs
/// (`Fitting::difference_pieces`; `None` for estimators without one).
pub fn fit_with_pieces(
    model_path: &Path,
    data_path: &Path,
    opt: &FitOptions,
) -> Result<(FitReport, Option<crate::fit::satorra2000::DiffPieces>), SemError> {
    let prep = prepare(model_path, data_path, opt)?;
    let out = fit_prepared_full(&prep, opt, true);
    drop_in_background(prep);
    Ok(out)
}

/// Estimate a prepared model and report it: the estimator chosen in `opt`
/// (`crate::estimator`) estimates, gives the vcov, scales the test and
/// computes the fit measures; the rest is the same for every estimator.
pub fn fit_prepared(prep: &Prepared, opt: &FitOptions) -> FitReport {
    fit_prepared_full(prep, opt, false).0
}

/// Free parameters from which the vcov check gets a thread of its own:
/// its Cholesky factor (n^3 / 6) then outweighs starting a thread (~50 us).
const VCOV_CHECK_THREAD_FROM: usize = 80;

/// `fit_prepared`, with the difference-test pieces when `pieces`.
fn fit_prepared_full(prep: &Prepared, opt: &FitOptions, pieces: bool) -> (FitReport, Option<crate::fit::satorra2000::DiffPieces>) {
    let model = &prep.model;
    let gd = &prep.data;
    let mut warnings = prep.warnings.clone();
    // `prepare` has already refused a choice that has no estimator
    let estimator = crate::estimator::select_for(opt, prep.ordinal.is_some()).unwrap_or_else(|e| {
        warnings.push(format!("{e}; the default estimator was used"));
        crate::estimator::fallback()
    });
    let mut fitting = estimator.bind(prep, opt, &mut warnings);
    // a group is named by its value in the group column and its position
    let labels = crate::data::groups::GroupLabels::new(opt.group.as_deref(), &prep.group_names);
    crate::stage::set("estimating");
    let est = fitting.estimate();
    crate::stage::set("standard errors");
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
    let mut vcov_warnings = Vec::new();
    let vcov = match fitting.vcov(x, &mut vcov_warnings) {
        Ok(v) => v,
        Err(ni) if ni.rows.is_empty() => {
            warnings.push(format!(
                "{NOT_IDENTIFIED}, or the estimates are unusable: the information matrix cannot be computed at them, so standard errors could not be computed"
            ));
            None
        }
        Err(ni) => {
            // in a multiple-group model, each named with its group's value
            let group = |r: usize| match model.pt.ngroups {
                n if n > 1 => format!(" ({})", labels.describe(model.pt.rows[r].group.max(1) - 1, n)),
                _ => String::new(),
            };
            let names: Vec<String> = ni
                .rows
                .iter()
                .map(|&r| format!("`{}`{}", inference::describe(model, r), group(r)))
                .collect();
            warnings.push(format!(
                "{NOT_IDENTIFIED}: the information matrix is singular, so these parameters cannot be told apart by the data: {}; standard errors could not be computed. Fix one of them (a loading or a variance), constrain them equal, or give a factor more indicators",
                names.join(", ")
            ));
            None
        }
    };
    warnings.extend(vcov_warnings);
    // the vcov's eigenvalue check (a Cholesky factor of the vcov) needs only
    // the vcov: with many parameters it runs on a thread of its own while
    // the estimator scales the test statistic (its warning keeps its place)
    let vcov_check = || vcov.as_ref().and_then(|v| inference::vcov_warning_at(model, x, v));
    let at = warnings.len();
    let (scaling, vcov_warning) = match opt.report_extras {
        false => (fitting.test_scaling(x, &mut warnings), None),
        true if x.len() < VCOV_CHECK_THREAD_FROM => {
            let w = vcov_check();
            (fitting.test_scaling(x, &mut warnings), w)
        }
        // (inline when the system will not start a thread)
        true => std::thread::scope(|s| {
            let check = std::thread::Builder::new().spawn_scoped(s, vcov_check);
            let scaling = fitting.test_scaling(x, &mut warnings);
            let w = match check {
                Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(_) => vcov_check(),
            };
            (scaling, w)
        }),
    };
    if let Some(w) = vcov_warning {
        warnings.insert(at, w);
    }
    let reported = fitting.reported_model(x);
    let model = reported.as_ref().unwrap_or(model);
    warnings.extend(inference::admissibility_in(model, x, &labels));
    let (mut rows, w2) = inference::estimates(model, x, vcov.as_ref(), opt.ci_level);
    warnings.extend(w2);
    fitting.finish_rows(x, vcov.as_ref(), opt.ci_level, &mut rows);
    let boot = run_bootstrap(prep, opt, &est, vcov.is_some(), &mut warnings);
    crate::stage::set("standardized solution");
    if let Some(b) = boot.as_ref().and_then(|b| b.rows.as_ref()) {
        inference::bootstrap::apply(&mut rows, b);
    }
    // standard errors of the standardized solution: delta method with the
    // (standard or robust) vcov; not computed from bootstrap draws; with
    // ordinal variables the estimator standardizes (`Fitting::std_all_at`);
    // skipped when the caller asks for no extras (`sem power`)
    let nrows = model.pt.rows.len();
    let std_se = match (&vcov, boot.as_ref().is_some_and(|b| b.rows.is_some())) {
        (Some(v), false) if opt.report_extras && fitting.std_all_at(x).is_some() => match fitting.std_all_se(x, v) {
            Some(se) => se,
            None => inference::std_se::std_all_se_by(nrows, x, v, |x| fitting.std_all_at(x).unwrap_or_default()),
        },
        (Some(v), false) if opt.report_extras && prep.ordinal.is_none() => inference::std_se::std_all_se(model, x, v),
        _ => vec![None; nrows],
    };
    let parameters: Vec<ParamOut> = model
        .pt
        .rows
        .iter()
        .zip(&rows)
        .zip(&std_se)
        .map(|((r, e), s)| (r, e, *s))
        .filter(|(r, _, _)| matches!(r.op.as_str(), "=~" | "~" | "~~" | "~1" | ":=" | "|" | "~*~"))
        .map(|(r, e, std_all_se)| ParamOut {
            lhs: r.lhs.clone(),
            op: model.pt.display_op(r).to_string(),
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
            std_all_se,
        })
        .collect();
    crate::stage::set("fit measures");
    let measures = fitting.measures(x, scaling);
    let mut fitmap = Map::new();
    for (k, v) in measures {
        fitmap.insert(k.to_string(), v.filter(|v| v.is_finite()).map_or(Value::Null, Value::from));
    }
    if opt.bootstrap.as_ref().is_some_and(|b| b.bollen_stine) {
        let p = boot.as_ref().and_then(|b| b.bollen_stine_pvalue);
        fitmap.insert("bollen_stine_pvalue".into(), p.map_or(Value::Null, Value::from));
    }
    let r2 = r_square(model, &parameters, &prep.group_names);
    // diagnostics: the estimator's own (ordinal data), else the moment-based
    // ones when the estimator allows them
    let diagnostics = fitting.diagnostics_unavailable();
    let own_residuals = if opt.residuals { fitting.residuals(x) } else { None };
    let own_modindices = if opt.modindices { fitting.modindices(x) } else { None };
    if own_residuals.as_ref().is_some_and(|r| r.iter().any(|g| g.th_raw.is_some())) {
        warnings.push("--residuals with ordinal data: raw and correlation residuals (thresholds too); standardized residuals are null (lavaan 0.6-14 has none for categorical data)".into());
    }
    let (mi_left_out, res_left_out) = (opt.modindices && own_modindices.is_none(), opt.residuals && own_residuals.is_none());
    if let (Some(why), true) = (diagnostics, mi_left_out || res_left_out) {
        warnings.push(why.into());
    }
    let modindices = match own_modindices {
        Some(r) => Some(r),
        None if opt.modindices && diagnostics.is_none() => Some(match &prep.fiml {
            Some(f) => inference::modindices::modindices_fiml(model, x, f),
            None => inference::modindices::modindices(model, x, gd),
        }),
        None => None,
    }
    .and_then(|r| match r {
        Ok(m) => Some(m),
        Err(e) => {
            warnings.push(format!("modification indices: {e}"));
            None
        }
    });
    let hypotheses = hyp::evaluate(&parameters, &prep.expect, opt.alpha);
    let effects = opt.effects.map(|detail| {
        use inference::effects::Uncertainty;
        let unc = match (boot.as_ref().and_then(|b| b.draws.as_ref()), &opt.bootstrap) {
            (Some(d), Some(s)) if d.x.len() >= 2 => Uncertainty::Bootstrap(d, s.ci),
            _ => Uncertainty::Delta(vcov.as_ref()),
        };
        let (e, w) = inference::effects::effects(model, x, &unc, opt.ci_level, detail, &labels);
        warnings.extend(w);
        e
    });
    let validity = opt.validity.then(|| {
        let (v, w) = inference::validity::validity(
            model,
            x,
            gd,
            &labels,
            prep.ordinal
                .as_deref()
                .map(|stats| {
                    let mut thresholds: std::collections::HashMap<(String, usize), Vec<f64>> = Default::default();
                    let mut scales = std::collections::HashMap::new();
                    for p in &parameters {
                        match (p.op.as_str(), p.est) {
                            ("|", Some(v)) => thresholds.entry((p.lhs.clone(), p.group)).or_default().push(v),
                            ("~*~", Some(v)) => {
                                scales.insert((p.lhs.clone(), p.group), v);
                            }
                            _ => {}
                        }
                    }
                    inference::validity::OrdinalData {
                        stats,
                        delta: opt.parameterization == crate::model::partable::Parameterization::Delta,
                        thresholds,
                        scales,
                    }
                })
                .as_ref(),
        );
        warnings.extend(w);
        v
    });
    let residuals = (opt.residuals && diagnostics.is_none() && own_residuals.is_none()).then(|| {
        let mut r = inference::residuals::residuals(model, x, gd, vcov.as_ref());
        if prep.fiml.is_some() {
            // under FIML `gd` holds the EM moments: raw and correlation residuals
            // are lavaan's; its standardized ones need the missing-data h1 acov
            for g in &mut r {
                g.standardized.iter_mut().flatten().for_each(|v| *v = None);
                g.mean_standardized = g.mean_standardized.take().map(|m| m.iter().map(|_| None).collect());
            }
            warnings.push("--residuals with --missing fiml: raw and correlation residuals against the EM estimates of the saturated model; standardized residuals are not computed under FIML yet (null)".into());
        }
        r
    });
    let nobs: Vec<usize> = fitting.nobs().unwrap_or_else(|| gd.iter().map(|d| d.n).collect());
    let diff_pieces = if pieces { fitting.difference_pieces(x) } else { None };
    let report = FitReport {
        converged: est.converged,
        estimator: estimator.name().into(),
        nobs: if nobs.len() == 1 { Value::from(nobs[0]) } else { Value::from(nobs) },
        groups: (!prep.group_names.is_empty()).then(|| prep.group_names.clone()),
        parameters,
        fit: fitmap,
        r2,
        hypotheses,
        modindices,
        residuals: own_residuals.or(residuals),
        validity,
        effects,
        warnings,
        model_file: prep.model_file.clone(),
        data_file: prep.data_file.clone(),
        rows_read: prep.rows_read,
        rows_dropped: prep.dropped,
        iterations: est.iterations,
        optimizer: "Fisher scoring".into(),
        missing_patterns: prep.fiml.as_ref().map(|f| {
            let n: Vec<usize> = f.patterns.iter().map(|p| p.patterns.len()).collect();
            if n.len() == 1 {
                Value::from(n[0])
            } else {
                Value::from(n)
            }
        }),
        se_type: match (&vcov, boot.as_ref().filter(|b| b.rows.is_some())) {
            (None, _) => crate::report::SE_NOT_IDENTIFIED.into(),
            (Some(_), None) => fitting.se_type().into(),
            (Some(_), Some(b)) if b.info.successful >= 2 => "Bootstrap".into(),
            (Some(_), Some(_)) => "none (too few successful bootstrap draws)".into(),
        },
        // bootstrap standard errors come from no information matrix
        information: if boot.as_ref().is_some_and(|b| b.rows.is_some()) {
            None
        } else {
            fitting.information().map(|i| i.label().into())
        },
        bootstrap: boot.map(|b| b.info),
        ci_level: opt.ci_level,
        alpha: opt.alpha,
        sem_version: env!("CARGO_PKG_VERSION").into(),
    };
    (report, diff_pieces)
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
    let not_identified = if r.se_type == crate::report::SE_NOT_IDENTIFIED {
        Some(pick(NOT_IDENTIFIED, ": standard errors could not be computed"))
    } else if r.se_type.starts_with("none") {
        Some(format!(
            "no standard errors: {}",
            r.se_type
                .trim_start_matches("none")
                .trim_matches(|c| c == ' ' || c == '(' || c == ')')
        ))
    } else {
        None
    };
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
    // a missing-value code left in the data is the likeliest cause: say so
    let codes: Vec<&str> = r
        .warnings
        .iter()
        .filter(|w| w.contains(formats::NA_HINT))
        .map(String::as_str)
        .collect();
    let codes = if codes.is_empty() {
        String::new()
    } else {
        format!("; note: {}", codes.join("; "))
    };
    Some(SemError::Model(format!("{}: {why}{codes}", r.model_file)))
}

/// The bootstrap of `--se bootstrap` / `--test bollen-stine`, when asked
/// for and the fit can be bootstrapped (converged, identified).
fn run_bootstrap(
    prep: &Prepared,
    opt: &FitOptions,
    est: &estimate::Estimate,
    identified: bool,
    warnings: &mut Vec<String>,
) -> Option<inference::bootstrap::Outcome> {
    let s = opt.bootstrap.as_ref()?;
    if !est.converged || !identified {
        warnings.push("no bootstrap: the model did not converge or is not identified".into());
        return None;
    }
    let (m, ds, gd) = (&prep.model, &prep.dataset, &prep.data);
    let out = inference::bootstrap::run(m, ds, &prep.group_rows, gd, &est.x, s, opt.max_iter, opt.ci_level);
    warnings.extend(out.warnings.iter().cloned());
    Some(out)
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

/// Labelled regression paths and defined parameters named like hypotheses
/// (H1, H1a, ...), one per label, all expected positive (the model file's
/// directives are applied by `fit`; see `crate::hypotheses`).
pub fn hypotheses(params: &[ParamOut], alpha: f64) -> Vec<HypothesisOut> {
    hyp::evaluate(params, &hyp::Expectations::default(), alpha)
}

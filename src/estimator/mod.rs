//! The estimator seam: everything that differs between estimators lives
//! behind two traits, so the pipeline (`crate::pipeline::fit_prepared`) runs
//! the same steps for all of them and never names one.
//!
//! An `Estimator` is a choice of `--estimator` and `--missing` (the
//! registry, `select`, maps the choice to its module, one line each) and
//! says what the steps before estimation need from it (lavaan's fixed.x
//! default; whether one group's sample moments suffice). Bound to the data
//! (`Estimator::bind`), it becomes a `Fitting`, which says, in the order
//! the pipeline asks:
//!
//! 1. how it estimates (`estimate`),
//! 2. its information matrix and the variance-covariance matrix of the
//!    estimates, model-based or robust (`vcov`),
//! 3. how it fits its baseline (independence) model (`baseline`),
//! 4. how its test statistic is scaled (`test_scaling`: none, or the
//!    scaling factors of the model and baseline tests),
//! 5. which fit measures it gives (`measures`), and
//! 6. the name of its standard errors and whether the moment-based
//!    diagnostics (modification indices, residuals) apply.
//!
//! Modules: `ml` (ML with its robust variants MLM, MLR and `--se robust`),
//! `ls` (GLS, ULS for continuous data), `fiml` (`--missing fiml`, also with
//! MLR). Adding an estimator means one module and one line in `select`.

pub mod fiml;
pub mod ls;
pub mod ml;
pub mod wls;

use crate::estimate::Estimate;
use crate::fit::Measures;
use crate::inference::NotIdentified;
use crate::model::Ram;
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::DMatrix;

/// The `--estimator` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EstimatorKind {
    #[default]
    Ml,
    /// Satorra-Bentler: robust.sem standard errors, scaled chi-square
    Mlm,
    /// Huber-White standard errors, Yuan-Bentler (Mplus) scaled chi-square
    Mlr,
    /// generalized least squares (weight from the sample covariance)
    Gls,
    /// unweighted least squares (continuous data; with --ordered the
    /// ordinal ULS of the WLS family)
    Uls,
    /// ordinal data: DWLS, robust standard errors, scaled.shifted test
    Wlsmv,
    /// ordinal data: ULS, robust standard errors, scaled.shifted test
    Ulsmv,
    /// ordinal data: full weighted least squares
    Wls,
    /// ordinal data: diagonally weighted least squares
    Dwls,
}

impl EstimatorKind {
    /// lavaan's name of the estimator, as the report shows it.
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::Ml => "ML",
            EstimatorKind::Mlm => "MLM",
            EstimatorKind::Mlr => "MLR",
            EstimatorKind::Gls => "GLS",
            EstimatorKind::Uls => "ULS",
            EstimatorKind::Wlsmv => "WLSMV",
            EstimatorKind::Ulsmv => "ULSMV",
            EstimatorKind::Wls => "WLS",
            EstimatorKind::Dwls => "DWLS",
        }
    }
}

/// An estimator before it sees the data.
pub trait Estimator {
    /// lavaan's name of the estimator, as the report shows it.
    fn name(&self) -> &'static str;
    /// lavaan's fixed.x default: observed exogenous covariates fixed at
    /// their sample moments (on for the ML family).
    fn fixed_x(&self) -> bool {
        true
    }
    /// Whether the listwise sample moments of each group are all it needs
    /// (no raw rows kept).
    fn moments_suffice(&self) -> bool {
        false
    }
    /// Whether this estimator can fit the prepared model and data: a clear
    /// message when not (`prepare` refuses the fit with it, exit 2).
    fn check(&self, _prep: &Prepared) -> Result<(), String> {
        Ok(())
    }
    /// Bind to a prepared model and its data; remarks about the data
    /// (a weight that cannot be computed, ...) go to `warnings`.
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, warnings: &mut Vec<String>) -> Box<dyn Fitting + 'a>;
}

/// The baseline (independence) model: its RAM matrices (when it is a RAM
/// model; the ordinal baseline is thresholds only) and its estimates.
pub struct Baseline {
    pub ram: Option<Ram>,
    pub x: Vec<f64>,
}

/// Scaling factors of a scaled test statistic: `model` for the model's
/// test, `baseline` for the baseline model's (NaN when not computable).
#[derive(Debug, Clone, Copy)]
pub struct Scaling {
    pub model: f64,
    pub baseline: f64,
    /// lavaan's "scaled.shifted" test: T_scaled = T / model + shift (0 for
    /// the Satorra-Bentler and Yuan-Bentler tests)
    pub shift: f64,
    pub baseline_shift: f64,
}

/// An estimator bound to its data.
pub trait Fitting {
    /// The point estimates.
    fn estimate(&mut self) -> Estimate;
    /// The variance-covariance matrix of the estimates at `x`:
    /// `Err` when the (model-based) information matrix is singular,
    /// `Ok(None)` when it is not but the estimator's own (robust) matrix
    /// could not be computed (a warning says so).
    fn vcov(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified>;
    /// The baseline model fitted by this estimator (cached: asked for by
    /// `test_scaling` and `measures`).
    fn baseline(&mut self) -> &Baseline;
    /// How the test statistic is scaled: `None` for the standard test.
    fn test_scaling(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Option<Scaling>;
    /// The fit measures, in lavaan's order, with the scaled ones when the
    /// test is scaled.
    fn measures(&mut self, x: &[f64], scaling: Option<Scaling>) -> Measures;
    /// The report's `se_type` when the standard errors exist.
    fn se_type(&self) -> &'static str;
    /// The model to report the estimates with, when the estimator derives
    /// fixed values from the estimates (the delta parameterization's
    /// residual variances of latent responses); `None`: the prepared model.
    fn reported_model(&mut self, _x: &[f64]) -> Option<crate::model::Model> {
        None
    }
    /// Fill the rows the RAM matrices do not hold (thresholds `|`, scale
    /// factors `~*~`) in the per-row estimates.
    fn finish_rows(&mut self, _x: &[f64], _vcov: Option<&DMatrix<f64>>, _level: f64, _rows: &mut [crate::inference::RowEstimate]) {}
    /// Cases used per group when they differ from the listwise moments'
    /// (ordinal data with pairwise deletion); `None`: those.
    fn nobs(&self) -> Option<Vec<usize>> {
        None
    }
    /// Modification indices by the estimator's own statistics (ordinal
    /// data); `None`: the moment-based ones, when `diagnostics_unavailable`
    /// allows them.
    fn modindices(&mut self, _x: &[f64]) -> Option<Result<Vec<crate::inference::modindices::ModIndex>, String>> {
        None
    }
    /// The residuals of the fitted statistics (lavaan's `residuals()`), for
    /// estimators whose statistics are not the sample moments (ordinal
    /// data); `None`: the moment-based residuals, when
    /// `diagnostics_unavailable` allows them.
    fn residuals(&mut self, _x: &[f64]) -> Option<Vec<crate::inference::residuals::GroupResiduals>> {
        None
    }
    /// std.all of every parameter-table row at `x` (NaN where there is
    /// none), for estimators whose standardized values are not those of
    /// the prepared RAM model at `x` (ordinal data: thresholds, scale
    /// factors, latent-response variances that follow from `x`); the
    /// delta method of `std_all_se` differentiates it. `None`: standardize
    /// the prepared model.
    fn std_all_at(&mut self, _x: &[f64]) -> Option<Vec<f64>> {
        None
    }
    /// `std_all_se` per row by the delta method with an analytic Jacobian
    /// of `std_all_at`; `None`: central differences of `std_all_at`.
    fn std_all_se(&mut self, _x: &[f64], _vcov: &DMatrix<f64>) -> Option<Vec<Option<f64>>> {
        None
    }
    /// What the Satorra (2000) scaled-shifted difference test of nested
    /// models needs from this fit at `x` (`crate::fit::satorra2000`), for
    /// estimators whose `compare` uses that test; `None` otherwise.
    fn difference_pieces(&mut self, _x: &[f64]) -> Option<crate::fit::satorra2000::DiffPieces> {
        None
    }
    /// `None` when modification indices and residuals (moment-based
    /// diagnostics) apply, else why not.
    fn diagnostics_unavailable(&self) -> Option<&'static str> {
        None
    }
}

/// The estimator of the options, with ordinal variables when --ordered is given.
pub fn select(opt: &FitOptions) -> Result<Box<dyn Estimator>, String> {
    select_for(opt, opt.ordered.is_some())
}

/// The registry: the estimator of an `--estimator` / `--missing` / `--se`
/// choice for data with (`ordinal`) or without ordinal variables, one line
/// each. Without --estimator, ordinal data get WLSMV, as lavaan.
pub fn select_for(opt: &FitOptions, ordinal: bool) -> Result<Box<dyn Estimator>, String> {
    use EstimatorKind as K;
    if ordinal && opt.fiml {
        return Err("--missing fiml does not apply to ordinal data; ordinal variables use listwise deletion".into());
    }
    let theta = opt.parameterization == crate::model::partable::Parameterization::Theta;
    let family = |k| -> Box<dyn Estimator> { Box::new(wls::Wls(k, theta)) };
    Ok(match (opt.estimator, opt.fiml) {
        (K::Ml, false) if ordinal && !opt.estimator_chosen => family(wls::Kind::Wlsmv),
        (K::Wlsmv, false) => family(wls::Kind::Wlsmv),
        (K::Ulsmv, false) => family(wls::Kind::Ulsmv),
        (K::Wls, false) => family(wls::Kind::Wls),
        (K::Dwls, false) => family(wls::Kind::Dwls),
        (K::Uls, false) if ordinal => family(wls::Kind::Uls),
        (K::Wlsmv | K::Ulsmv | K::Wls | K::Dwls, _) if !ordinal => {
            return Err(format!(
                "--estimator {} is for ordinal data: declare the ordinal variables with --ordered",
                opt.estimator.name().to_lowercase()
            ))
        }
        (K::Ml | K::Mlm | K::Mlr | K::Gls, _) if ordinal => {
            return Err(format!(
                "--estimator {} does not apply to ordinal data; use wlsmv (the default), ulsmv, wls, dwls or uls",
                opt.estimator.name().to_lowercase()
            ))
        }
        (K::Ml, false) if opt.se_robust => Box::new(ml::Ml(ml::Robust::SeRobust)),
        (K::Ml, false) => Box::new(ml::Ml(ml::Robust::None)),
        (K::Mlm, false) => Box::new(ml::Ml(ml::Robust::Mlm)),
        (K::Mlr, false) => Box::new(ml::Ml(ml::Robust::Mlr)),
        (K::Gls, false) => Box::new(ls::Ls(crate::estimate::ls::LsKind::Gls)),
        (K::Uls, false) => Box::new(ls::Ls(crate::estimate::ls::LsKind::Uls)),
        (K::Ml, true) => Box::new(fiml::Fiml { mlr: false }),
        (K::Mlr, true) => Box::new(fiml::Fiml { mlr: true }),
        (k, true) => {
            return Err(format!(
                "--missing fiml works with --estimator ml or mlr, not {}",
                k.name().to_lowercase()
            ))
        }
    })
}

/// The default estimator (ML), for a choice `select` refuses.
pub fn fallback() -> Box<dyn Estimator> {
    Box::new(ml::Ml(ml::Robust::None))
}

/// The robust variants' remark when the sandwich cannot be computed.
pub(crate) const ROBUST_FAILED: &str = "robust standard errors could not be computed (a singular information matrix)";

/// The scaling factors from the traces of the model's and the baseline's
/// U Gamma matrices: c = trace / df (NaN when not computable, with a warning
/// when the model has degrees of freedom).
pub(crate) fn scaling_from_traces(t: Option<f64>, t0: Option<f64>, df: f64, dfn: f64, warnings: &mut Vec<String>) -> Scaling {
    let c = t.map(|t| t / df).filter(|c| *c > 0.0 && df > 0.0);
    let c0 = t0.map(|t| t / dfn).filter(|c| *c > 0.0);
    if c.is_none() && df > 0.0 {
        warnings.push("the scaled test statistic could not be computed".into());
    }
    Scaling {
        model: c.unwrap_or(f64::NAN),
        baseline: c0.unwrap_or(f64::NAN),
        shift: 0.0,
        baseline_shift: 0.0,
    }
}

/// The scaled measures (chisq_scaled, cfi_scaled, rmsea_robust, ...) of a
/// scaled test, computed from the standard ones; lavaan lists them next to
/// their unscaled ones, here they are appended.
pub(crate) fn scaled_measures(measures: &Measures, s: Scaling, ngroups: usize) -> Measures {
    let get = |k: &str| measures.iter().find(|(n, _)| *n == k).and_then(|(_, v)| *v).unwrap_or(f64::NAN);
    let (x2, df, x2n, dfn, n) = (get("chisq"), get("df"), get("baseline_chisq"), get("baseline_df"), get("ntotal"));
    crate::fit::indices::scaled(x2, df, s.model, x2n, dfn, s.baseline, n, ngroups as f64)
}

/// lavaan's `scaling_factor_h1` and `scaling_factor_h0` of the Yuan-Bentler
/// (MLR) test from the two parts of its trace (`robust::Robust::factors_h1_h0`):
/// lavaan divides the h0 part by its number of free parameters counted
/// before equality constraints.
pub(crate) fn yb_scaling_factors(model: &crate::model::Model, parts: Option<(f64, f64)>) -> Measures {
    let Some((h1, h0_trace)) = parts else { return vec![] };
    let nfree = model.pt.rows.iter().filter(|r| r.free > 0).count() as f64;
    vec![("scaling_factor_h1", Some(h1)), ("scaling_factor_h0", Some(h0_trace / nfree))]
}

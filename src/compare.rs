//! Comparing fitted models: the likelihood-ratio (chi-square difference)
//! test of nested models, as lavaan's `lavTestLRT()`/`anova()` computes it
//! for ML (the difference of the two test statistics, on the difference of
//! their degrees of freedom), and the measurement-invariance sequence
//! (configural, metric, scalar, strict) that `semTools::measurementInvariance`
//! users know, each step a `group.equal` of the one before. With a robust
//! estimator each model line carries its scaled test and robust indices too
//! and the difference test is the Satorra-Bentler (2001) scaled one, as in
//! `lavTestLRT()`, computed from the standard statistics and the scaling
//! factors. The reports are rendered as text, markdown and CSV by
//! `crate::report::comparison`; JSON is the serialized value.

use crate::fit::distributions::pchisq;
use crate::inference::modindices::ModIndex;
use crate::pipeline::{self, FitOptions, SemError};
use crate::report::FitReport;
use serde::Serialize;
use std::path::Path;

/// One model's line in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ModelLine {
    /// the model file (compare) or the step (invariance); in JSON as `model` or `step`
    #[serde(skip)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub converged: bool,
    pub npar: Option<f64>,
    pub chisq: Option<f64>,
    pub df: Option<f64>,
    pub pvalue: Option<f64>,
    pub cfi: Option<f64>,
    pub tli: Option<f64>,
    pub rmsea: Option<f64>,
    pub srmr: Option<f64>,
    pub aic: Option<f64>,
    pub bic: Option<f64>,
    /// the robust test's scaling factor (MLM, MLR)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chisq_scaling_factor: Option<f64>,
    /// with a scaled test (MLM, MLR, ...): the scaled statistic, its df and p
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chisq_scaled: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_scaled: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvalue_scaled: Option<f64>,
    /// ... and lavaan's robust indices
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cfi_robust: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tli_robust: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmsea_robust: Option<f64>,
    /// the estimator, for the name of the scaled test's correction
    #[serde(skip)]
    pub estimator: String,
    #[serde(skip)]
    pub ntotal: f64,
    #[serde(skip)]
    pub ngroups: f64,
}

impl ModelLine {
    pub fn new(name: &str, r: &FitReport) -> ModelLine {
        let f = |k: &str| r.fit_value(k);
        ModelLine {
            name: name.to_string(),
            model: Some(name.to_string()),
            step: None,
            converged: r.converged,
            npar: f("npar"),
            chisq: f("chisq"),
            df: f("df"),
            pvalue: f("pvalue"),
            cfi: f("cfi"),
            tli: f("tli"),
            rmsea: f("rmsea"),
            srmr: f("srmr"),
            aic: f("aic"),
            bic: f("bic"),
            chisq_scaling_factor: f("chisq_scaling_factor"),
            chisq_scaled: f("chisq_scaled"),
            df_scaled: f("df_scaled"),
            pvalue_scaled: f("pvalue_scaled"),
            cfi_robust: f("cfi_robust"),
            tli_robust: f("tli_robust"),
            rmsea_robust: f("rmsea_robust"),
            estimator: r.estimator.clone(),
            ntotal: f("ntotal").unwrap_or(f64::NAN),
            ngroups: r.groups.as_ref().map_or(1.0, |g| g.len() as f64),
        }
    }
}

/// The chi-square difference test between a restricted and a general model.
#[derive(Debug, Clone, Serialize)]
pub struct DiffTest {
    pub from: String,
    pub to: String,
    pub chisq_diff: Option<f64>,
    pub df_diff: Option<f64>,
    pub pvalue: Option<f64>,
    /// "standard", or "satorra.bentler.2001" for robust estimators
    pub method: String,
    /// the Satorra-Bentler (2001) scaling factor of the difference
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_factor: Option<f64>,
    /// RMSEA of the difference (lavaan's lavTestLRT column):
    /// sqrt(max(0, (dchisq - ddf) / (N ddf))) sqrt(G)
    pub rmsea: Option<f64>,
    /// the change in CFI, RMSEA and SRMR from the general to the restricted
    /// model (restricted minus general, as semTools' compareFit): the usual
    /// decision aids next to the difference test (e.g. Chen 2007: a drop in
    /// CFI of more than .01). From the standard (unscaled) indices.
    pub cfi_diff: Option<f64>,
    pub rmsea_diff: Option<f64>,
    pub srmr_diff: Option<f64>,
}

/// Likelihood-ratio test: the model with more df is the restricted one.
pub fn lr_test(a: &ModelLine, b: &ModelLine) -> DiffTest {
    let (general, restricted) = if a.df.unwrap_or(0.0) <= b.df.unwrap_or(0.0) {
        (a, b)
    } else {
        (b, a)
    };
    let (mut chisq_diff, df_diff) = match (restricted.chisq, general.chisq, restricted.df, general.df) {
        (Some(c1), Some(c0), Some(d1), Some(d0)) => (Some(c1 - c0), Some(d1 - d0)),
        _ => (None, None),
    };
    // robust estimators: the Satorra-Bentler (2001) scaled difference,
    // cd = (r0 c0 - r1 c1) / (r0 - r1), T = (T0 - T1) / cd
    let mut method = "standard".to_string();
    let mut scaling_factor = None;
    if let (Some(c0), Some(c1g), Some(r0), Some(r1), Some(d)) = (
        restricted.chisq_scaling_factor,
        general.chisq_scaling_factor.or(Some(1.0)),
        restricted.df,
        general.df,
        chisq_diff,
    ) {
        let c1 = if r1 == 0.0 { 1.0 } else { c1g };
        let m = r0 - r1;
        method = "satorra.bentler.2001".into();
        if m > 0.0 {
            let cd = (r0 * c0 - r1 * c1) / m;
            scaling_factor = (cd > 0.0).then_some(cd);
            chisq_diff = scaling_factor.map(|cd| d / cd);
        }
    }
    let pvalue = match (chisq_diff, df_diff) {
        (Some(c), Some(d)) if d > 0.0 => Some(1.0 - pchisq(c.max(0.0), d)),
        _ => None,
    };
    // lavaan reports the RMSEA of the difference for the standard test only
    let rmsea = match (chisq_diff, df_diff) {
        (Some(c), Some(d)) if d > 0.0 && scaling_factor.is_none() && method == "standard" => {
            Some(((c - d) / (restricted.ntotal * d)).max(0.0).sqrt() * restricted.ngroups.sqrt()).filter(|v| v.is_finite())
        }
        _ => None,
    };
    DiffTest {
        from: general.name.clone(),
        to: restricted.name.clone(),
        chisq_diff,
        df_diff,
        pvalue,
        method,
        scaling_factor,
        rmsea,
        cfi_diff: change(restricted.cfi, general.cfi),
        rmsea_diff: change(restricted.rmsea, general.rmsea),
        srmr_diff: change(restricted.srmr, general.srmr),
    }
}

/// restricted minus general, when both exist.
fn change(restricted: Option<f64>, general: Option<f64>) -> Option<f64> {
    Some(restricted? - general?).filter(|v| v.is_finite())
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub data_file: String,
    pub models: Vec<ModelLine>,
    pub test: DiffTest,
    pub warnings: Vec<String>,
}

/// `sem compare MODEL_A MODEL_B DATA`.
pub fn compare(a: &Path, b: &Path, data: &Path, opt: &FitOptions) -> Result<CompareReport, SemError> {
    let ra = pipeline::fit(a, data, opt)?;
    let rb = pipeline::fit(b, data, opt)?;
    refuse_ordinal(&ra, "sem compare")?;
    let (la, lb) = (
        ModelLine::new(&a.display().to_string(), &ra),
        ModelLine::new(&b.display().to_string(), &rb),
    );
    let mut warnings = Vec::new();
    if ra.nobs != rb.nobs {
        warnings.push(format!(
            "the two models use different rows ({} vs {}): the models are not fitted to the same data, so the test is not valid",
            ra.nobs, rb.nobs
        ));
    }
    if la.df == lb.df {
        warnings.push("the two models have the same degrees of freedom: they are not nested, so there is no chi-square difference test; compare AIC and BIC".into());
    }
    for (l, r) in [(&la, &ra), (&lb, &rb)] {
        if !r.converged {
            warnings.push(format!("{} did not converge", l.name));
        }
    }
    let test = lr_test(&la, &lb);
    if test.chisq_diff.is_some_and(|c| c < 0.0) {
        warnings
            .push("the restricted model fits better than the general one (negative difference): the models are probably not nested".into());
    }
    Ok(CompareReport {
        data_file: data.display().to_string(),
        models: vec![la, lb],
        test,
        warnings,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct InvarianceReport {
    pub data_file: String,
    pub group: String,
    pub groups: Vec<String>,
    pub steps: Vec<ModelLine>,
    pub tests: Vec<DiffTest>,
    /// with --modindices: each step's modification indices, largest first
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modindices: Option<Vec<StepModIndices>>,
    pub warnings: Vec<String>,
}

/// The modification indices of one invariance step (lavaan's `modindices()`
/// of that step's fit).
#[derive(Debug, Clone, Serialize)]
pub struct StepModIndices {
    pub step: String,
    pub modindices: Vec<ModIndex>,
}

/// The steps and their `group.equal` lists.
pub const STEPS: &[(&str, &[&str])] = &[
    ("configural", &[]),
    ("metric", &["loadings"]),
    ("scalar", &["loadings", "intercepts"]),
    ("strict", &["loadings", "intercepts", "residuals"]),
];

/// `sem invariance MODEL DATA --group COL`.
/// lavaan's difference test for the WLS family (ordinal data) is not the
/// Satorra-Bentler one used here: refuse rather than give a wrong p-value.
fn refuse_ordinal(r: &FitReport, what: &str) -> Result<(), SemError> {
    if r.parameters.iter().any(|p| p.op == "|") {
        return Err(SemError::Input(format!(
            "{what} with ordinal variables is not supported yet: lavaan's scaled difference test for {} is not implemented; compare the models' fit measures from `sem fit` instead",
            r.estimator
        )));
    }
    Ok(())
}

pub fn invariance(model: &Path, data: &Path, opt: &FitOptions) -> Result<InvarianceReport, SemError> {
    if opt.ordered.is_some() {
        return Err(SemError::Input(
            "sem invariance with ordinal variables (--ordered) is not supported yet: lavaan's scaled difference test for WLSMV is not implemented".into(),
        ));
    }
    let group = opt
        .group
        .clone()
        .ok_or_else(|| SemError::Input("sem invariance needs --group COL".into()))?;
    let mut steps = Vec::new();
    let mut groups = Vec::new();
    let mut warnings = Vec::new();
    let mut mis = Vec::new();
    for (name, eq) in STEPS {
        let o = FitOptions {
            group_equal: eq.iter().map(|s| s.to_string()).collect(),
            ..opt.clone()
        };
        let r = pipeline::fit(model, data, &o)?;
        if !r.converged {
            warnings.push(format!("the {name} model did not converge"));
        }
        groups = r.groups.clone().unwrap_or_default();
        if opt.modindices {
            match &r.modindices {
                Some(m) => mis.push(StepModIndices {
                    step: name.to_string(),
                    modindices: m.clone(),
                }),
                None => {
                    let why = r
                        .warnings
                        .iter()
                        .find(|w| w.contains("modification indices") || w.contains("--modindices"));
                    warnings.push(format!(
                        "no modification indices for the {name} model{}",
                        why.map_or(String::new(), |w| format!(": {w}"))
                    ));
                }
            }
        }
        steps.push(ModelLine {
            model: None,
            step: Some(name.to_string()),
            ..ModelLine::new(name, &r)
        });
    }
    let tests = steps.windows(2).map(|w| lr_test(&w[0], &w[1])).collect();
    Ok(InvarianceReport {
        data_file: data.display().to_string(),
        group,
        groups,
        steps,
        tests,
        modindices: opt.modindices.then_some(mis),
        warnings,
    })
}

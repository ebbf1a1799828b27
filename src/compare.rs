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
use crate::fit::satorra2000::DiffPieces;
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
    /// "standard", "satorra.bentler.2001" for robust estimators (MLM,
    /// MLR), or "satorra.2000" for WLSMV and ULSMV (lavaan's default there)
    pub method: String,
    /// the Satorra-Bentler (2001) scaling factor of the difference; for
    /// "satorra.2000" 1/a of the scaled-shifted statistic (T0 - T1) a + b
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_factor: Option<f64>,
    /// "satorra.2000": the shift b of the scaled-shifted statistic
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<f64>,
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
        shift: None,
        rmsea,
        cfi_diff: change(restricted.cfi, general.cfi),
        rmsea_diff: change(restricted.rmsea, general.rmsea),
        srmr_diff: change(restricted.srmr, general.srmr),
    }
}

/// The difference test of two fits with the estimator's own pieces
/// (`pipeline::fit_with_pieces`): with both pieces (WLSMV, ULSMV) lavaan's
/// scaled-shifted Satorra (2000) test, else `lr_test`. A test that cannot
/// be computed has null statistics and a warning in `warnings`.
pub fn diff_test(a: &ModelLine, pa: Option<&DiffPieces>, b: &ModelLine, pb: Option<&DiffPieces>, warnings: &mut Vec<String>) -> DiffTest {
    let mut t = lr_test(a, b);
    let (Some(pa), Some(pb)) = (pa, pb) else { return t };
    let ((general, pg), (restricted, pr)) = if a.df.unwrap_or(0.0) <= b.df.unwrap_or(0.0) {
        ((a, pa), (b, pb))
    } else {
        ((b, pb), (a, pa))
    };
    t.method = "satorra.2000".into();
    t.rmsea = None;
    t.chisq_diff = None;
    t.pvalue = None;
    let (Some(t1), Some(d1), Some(t0), Some(d0)) = (general.chisq, general.df, restricted.chisq, restricted.df) else {
        warnings.push(format!(
            "{} vs {}: no test statistics, so no difference test",
            general.name, restricted.name
        ));
        return t;
    };
    match crate::fit::satorra2000::difference(pg, &pr.jac, t1, d1, t0, d0) {
        Ok(d) => {
            t.chisq_diff = Some(d.stat);
            t.df_diff = Some(d.df);
            t.scaling_factor = Some(d.scaling_factor).filter(|v| v.is_finite());
            t.shift = Some(d.shift).filter(|v| v.is_finite());
            t.pvalue = (d.df > 0.0).then(|| 1.0 - pchisq(d.stat.max(0.0), d.df));
        }
        Err(e) => warnings.push(format!(
            "{} vs {}: the scaled difference test could not be computed: {e}",
            general.name, restricted.name
        )),
    }
    t
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
    let (ra, pa) = pipeline::fit_with_pieces(a, data, opt)?;
    let (rb, pb) = pipeline::fit_with_pieces(b, data, opt)?;
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
    let test = diff_test(&la, pa.as_ref(), &lb, pb.as_ref(), &mut warnings);
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

/// The steps with ordinal variables: thresholds and loadings are
/// constrained together (lavaan's `group.equal = c("thresholds",
/// "loadings")`, the usual second step for ordinal items), then intercepts,
/// then residuals.
pub const STEPS_ORDINAL: &[(&str, &[&str])] = &[
    ("configural", &[]),
    ("metric", &["thresholds", "loadings"]),
    ("scalar", &["thresholds", "loadings", "intercepts"]),
    ("strict", &["thresholds", "loadings", "intercepts", "residuals"]),
];

/// `sem invariance MODEL DATA --group COL`.
pub fn invariance(model: &Path, data: &Path, opt: &FitOptions) -> Result<InvarianceReport, SemError> {
    let group = opt
        .group
        .clone()
        .ok_or_else(|| SemError::Input("sem invariance needs --group COL".into()))?;
    let mut steps = Vec::new();
    let mut groups = Vec::new();
    let mut warnings = Vec::new();
    let mut mis = Vec::new();
    let mut pieces = Vec::new();
    let steps_of = if opt.ordered.is_some() { STEPS_ORDINAL } else { STEPS };
    for (name, eq) in steps_of {
        let o = FitOptions {
            group_equal: eq.iter().map(|s| s.to_string()).collect(),
            ..opt.clone()
        };
        let (r, p) = pipeline::fit_with_pieces(model, data, &o)?;
        pieces.push(p);
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
    let mut tests = Vec::new();
    for k in 1..steps.len() {
        let t = diff_test(&steps[k - 1], pieces[k - 1].as_ref(), &steps[k], pieces[k].as_ref(), &mut warnings);
        if t.df_diff == Some(0.0) {
            warnings.push(format!(
                "the {} step constrains nothing beyond the {} step (same degrees of freedom){}",
                steps[k].name,
                steps[k - 1].name,
                match (opt.ordered.is_some(), steps[k].name.as_str()) {
                    (true, "scalar") => ": with ordinal data equal thresholds already make the intercepts equal (lavaan), and those of the latent responses are fixed at 0",
                    (true, "strict") => ": in the delta parameterization the residual variances of the latent responses are not parameters",
                    _ => "",
                }
            ));
        }
        tests.push(t);
    }
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

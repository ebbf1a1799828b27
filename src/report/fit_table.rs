//! lavaan's fit-measure sections, as data: what `summary(fit, fit.measures =
//! TRUE)` prints, section by section, built from whatever keys the report's
//! `fit` map holds. When the map has a scaled test (`chisq_scaled`: MLM, MLR,
//! and any estimator that adds scaled keys such as `df_scaled` or
//! `chisq_shift_parameters`) every section gets lavaan's second column,
//! "Standard" and "Scaled", and the robust CFI/TLI/RMSEA rows under it; the
//! layout is decided by the keys, never by the estimator's name (only the
//! one-line name of the correction is). The text and markdown renderers both
//! print these sections, so they cannot disagree. `estimates_header` gives
//! the lines lavaan prints under "Parameter Estimates:" (standard errors and
//! the information matrix they come from).

use super::FitReport;

/// How a value is printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// a number with the report's decimals; `None` is a `null` (printed NA)
    Num(Option<f64>),
    /// a count (degrees of freedom); non-integers fall back to decimals
    Int(Option<f64>),
    /// nothing in this column
    Blank,
}

/// One line of a section: a label, the standard column and the scaled one.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRow {
    pub label: String,
    pub standard: Cell,
    pub scaled: Cell,
}

impl FitRow {
    /// an empty line between groups of rows, as lavaan leaves one
    pub fn is_spacer(&self) -> bool {
        self.label.is_empty() && self.standard == Cell::Blank && self.scaled == Cell::Blank
    }
}

/// One titled block ("Model Test User Model", "Root Mean Square Error of Approximation", ...).
#[derive(Debug, Clone, PartialEq)]
pub struct FitSection {
    pub title: &'static str,
    pub rows: Vec<FitRow>,
}

/// All sections of a report, and whether they have the "Scaled" column.
#[derive(Debug, Clone, PartialEq)]
pub struct FitTable {
    pub scaled: bool,
    pub sections: Vec<FitSection>,
}

/// Whether a report carries a scaled test statistic.
pub fn is_scaled(r: &FitReport) -> bool {
    r.fit.contains_key("chisq_scaled")
}

/// The name lavaan prints under the scaling factor, by estimator (the
/// scaled-and-shifted test of WLSMV, ULSMV and MLMV is "simple second-order
/// correction" in lavaan 0.6-14; `fit_table` also says so whenever the fit
/// map has a shift parameter).
pub fn correction_name(estimator: &str) -> Option<&'static str> {
    match estimator.to_ascii_uppercase().as_str() {
        "MLR" => Some("Yuan-Bentler correction (Mplus variant)"),
        "MLM" => Some("Satorra-Bentler correction"),
        "MLMVS" => Some("mean and variance adjusted correction"),
        "MLMV" | "WLSMV" | "ULSMV" => Some(SECOND_ORDER),
        _ => None,
    }
}

const SECOND_ORDER: &str = "simple second-order correction";

struct Builder<'a> {
    r: &'a FitReport,
    scaled: bool,
    rows: Vec<FitRow>,
}

impl Builder<'_> {
    fn has(&self, k: &str) -> bool {
        self.r.fit.contains_key(k)
    }
    fn val(&self, k: &str) -> Option<f64> {
        self.r.fit.get(k).and_then(|v| v.as_f64()).filter(|v| v.is_finite())
    }
    fn cell(&self, k: &str, int: bool) -> Cell {
        if !self.has(k) {
            return Cell::Blank;
        }
        if int {
            Cell::Int(self.val(k))
        } else {
            Cell::Num(self.val(k))
        }
    }
    /// a row with `key` in the standard column and `scaled_key` (when the
    /// report has a scaled test) in the second
    fn row(&mut self, label: impl Into<String>, key: &str, scaled_key: Option<&str>, int: bool) {
        let standard = self.cell(key, int);
        let scaled = match scaled_key {
            Some(k) if self.scaled => self.cell(k, int),
            _ => Cell::Blank,
        };
        self.rows.push(FitRow {
            label: label.into(),
            standard,
            scaled,
        });
    }
    /// the same value in both columns (log-likelihoods, information criteria, SRMR)
    fn same(&mut self, label: &str, key: &str) {
        self.row(label, key, Some(key), false);
    }
    /// a value of the scaled column only
    fn scaled_only(&mut self, label: impl Into<String>, key: &str) {
        if self.has(key) {
            let scaled = self.cell(key, false);
            self.rows.push(FitRow {
                label: label.into(),
                standard: Cell::Blank,
                scaled,
            });
        }
    }
    fn text(&mut self, label: &str) {
        self.rows.push(FitRow {
            label: label.into(),
            standard: Cell::Blank,
            scaled: Cell::Blank,
        });
    }
    fn spacer(&mut self) {
        self.text("");
    }
    fn take(&mut self, title: &'static str) -> FitSection {
        FitSection {
            title,
            rows: std::mem::take(&mut self.rows),
        }
    }
}

/// The fit-measure sections of a report, empty when it has no test statistic.
pub fn fit_table(r: &FitReport) -> FitTable {
    let scaled = is_scaled(r);
    let mut b = Builder {
        r,
        scaled,
        rows: Vec::new(),
    };
    let mut sections = Vec::new();
    if !b.has("chisq") {
        return FitTable { scaled, sections };
    }
    // lavaan capitalises "Statistic" in its two-column layout only
    let label = if scaled { "Test Statistic" } else { "Test statistic" };
    b.row(label, "chisq", Some("chisq_scaled"), false);
    let df_scaled = if b.has("df_scaled") { "df_scaled" } else { "df" };
    b.row("Degrees of freedom", "df", Some(df_scaled), true);
    b.row("P-value (Chi-square)", "pvalue", Some("pvalue_scaled"), false);
    if scaled {
        b.scaled_only("Scaling correction factor", "chisq_scaling_factor");
        b.scaled_only("Shift parameter", "chisq_shift_parameters");
        let name = if b.has("chisq_shift_parameters") {
            Some(SECOND_ORDER)
        } else {
            correction_name(&r.estimator)
        };
        if let Some(name) = name {
            b.text(&format!("  {name}"));
        }
    }
    if b.has("bollen_stine_pvalue") {
        b.row("P-value (Bollen-Stine bootstrap)", "bollen_stine_pvalue", None, false);
    }
    sections.push(b.take("Model Test User Model"));

    if b.has("baseline_chisq") {
        b.row("Test statistic", "baseline_chisq", Some("baseline_chisq_scaled"), false);
        let df_scaled = if b.has("baseline_df_scaled") {
            "baseline_df_scaled"
        } else {
            "baseline_df"
        };
        b.row("Degrees of freedom", "baseline_df", Some(df_scaled), true);
        b.row("P-value", "baseline_pvalue", Some("baseline_pvalue_scaled"), false);
        if scaled {
            b.scaled_only("Scaling correction factor", "baseline_chisq_scaling_factor");
        }
        sections.push(b.take("Model Test Baseline Model"));

        b.row("Comparative Fit Index (CFI)", "cfi", Some("cfi_scaled"), false);
        b.row("Tucker-Lewis Index (TLI)", "tli", Some("tli_scaled"), false);
        if scaled && (b.has("cfi_robust") || b.has("tli_robust")) {
            b.spacer();
            b.scaled_only("Robust Comparative Fit Index (CFI)", "cfi_robust");
            b.scaled_only("Robust Tucker-Lewis Index (TLI)", "tli_robust");
        }
        sections.push(b.take("User Model versus Baseline Model"));
    }

    // least-squares and categorical estimators have no log-likelihood (null): no section, as lavaan
    if b.val("logl").is_some() {
        b.same("Loglikelihood user model (H0)", "logl");
        if scaled && b.has("scaling_factor_h0") {
            b.scaled_only("Scaling correction factor", "scaling_factor_h0");
            b.text("    for the MLR correction");
        }
        b.same("Loglikelihood unrestricted model (H1)", "unrestricted_logl");
        if scaled && b.has("scaling_factor_h1") {
            b.scaled_only("Scaling correction factor", "scaling_factor_h1");
            b.text("    for the MLR correction");
        }
        b.spacer();
        b.same("Akaike (AIC)", "aic");
        b.same("Bayesian (BIC)", "bic");
        b.same("Sample-size adjusted Bayesian (SABIC)", "bic2");
        sections.push(b.take("Loglikelihood and Information Criteria"));
    }

    if b.has("rmsea") {
        let level = b.val("rmsea_ci_level").unwrap_or(0.90) * 100.0;
        let close = b.val("rmsea_close_h0").unwrap_or(0.05);
        let notclose = b.val("rmsea_notclose_h0").unwrap_or(0.08);
        b.row("RMSEA", "rmsea", Some("rmsea_scaled"), false);
        b.row(
            format!("{level:.0} Percent confidence interval - lower"),
            "rmsea_ci_lower",
            Some("rmsea_ci_lower_scaled"),
            false,
        );
        b.row(
            format!("{level:.0} Percent confidence interval - upper"),
            "rmsea_ci_upper",
            Some("rmsea_ci_upper_scaled"),
            false,
        );
        b.row(
            format!("P-value H_0: RMSEA <= {close:.3}"),
            "rmsea_pvalue",
            Some("rmsea_pvalue_scaled"),
            false,
        );
        b.row(
            format!("P-value H_0: RMSEA >= {notclose:.3}"),
            "rmsea_notclose_pvalue",
            Some("rmsea_notclose_pvalue_scaled"),
            false,
        );
        if scaled && b.has("rmsea_robust") {
            b.spacer();
            b.scaled_only("Robust RMSEA", "rmsea_robust");
            b.scaled_only(format!("{level:.0} Percent confidence interval - lower"), "rmsea_ci_lower_robust");
            b.scaled_only(format!("{level:.0} Percent confidence interval - upper"), "rmsea_ci_upper_robust");
            b.scaled_only(format!("P-value H_0: Robust RMSEA <= {close:.3}"), "rmsea_pvalue_robust");
            b.scaled_only(
                format!("P-value H_0: Robust RMSEA >= {notclose:.3}"),
                "rmsea_notclose_pvalue_robust",
            );
        }
        sections.push(b.take("Root Mean Square Error of Approximation"));
    }

    if b.has("srmr") {
        b.same("SRMR", "srmr");
        sections.push(b.take("Standardized Root Mean Square Residual"));
    }
    if b.has("wrmr") {
        b.row("WRMR", "wrmr", None, false);
        sections.push(b.take("Weighted Root Mean Square Residual"));
    }
    FitTable { scaled, sections }
}

/// Print a cell with `d` decimals: blank, NA for null, integers as integers.
pub fn show(c: Cell, d: usize) -> String {
    match c {
        Cell::Blank => String::new(),
        Cell::Num(None) | Cell::Int(None) => "NA".into(),
        Cell::Int(Some(v)) if v.fract() == 0.0 => format!("{}", v as i64),
        Cell::Num(Some(v)) | Cell::Int(Some(v)) => format!("{v:.d$}"),
    }
}

/// The lines lavaan prints under "Parameter Estimates:": how the standard
/// errors were computed and from which information matrix. lavaan 0.6-14:
/// ML and MLM (and `--se robust`) use the expected information of the
/// structured h1 model; MLR's sandwich has an observed-information bread
/// (the Hessian); FIML uses the observed information; ULS the unstructured
/// h1 model; bootstrap standard errors name no information matrix. With
/// `--information` (the report's `information`) the matrix named is that one.
pub fn estimates_header(r: &FitReport) -> Vec<(String, String)> {
    let se = r.se_type.as_str();
    let fiml = r.missing_patterns.is_some();
    let mut boot: Vec<(String, String)> = Vec::new();
    if let Some(b) = &r.bootstrap {
        boot.push(("Number of requested bootstrap draws".into(), b.draws.to_string()));
        boot.push(("Number of successful bootstrap draws".into(), b.successful.to_string()));
        boot.push(("Bootstrap seed".into(), b.seed.to_string()));
        if let Some(ci) = &b.ci_type {
            boot.push(("Bootstrap confidence intervals".into(), ci.clone()));
        }
    }
    let mut out: Vec<(String, String)> = Vec::new();
    if se == "Bootstrap" {
        out.push(("Standard errors".into(), se.into()));
        out.extend(boot);
        return out;
    }
    // the information matrix: the report's (`--information`, the ML
    // family), else the estimator's default
    let default = if se == "Robust.huber.white" || fiml {
        "Observed"
    } else {
        "Expected"
    };
    let info = r.information.as_deref().unwrap_or(default);
    if se == "Robust.huber.white" {
        out.push(("Standard errors".into(), "Sandwich".into()));
        out.push(("Information bread".into(), info.into()));
    } else {
        out.push(("Standard errors".into(), se.into()));
        out.push(("Information".into(), info.into()));
    }
    if info == "Observed" {
        out.push(("Observed information based on".into(), "Hessian".into()));
    } else {
        // lavaan 0.6-14: ULS and the categorical least-squares estimators
        // (WLS, DWLS, WLSMV, ULSMV) use the unstructured h1 model; ML, MLM, GLS the structured one
        let unstructured = ["ULS", "ULSMV", "WLS", "DWLS", "WLSMV", "WLSM", "ULSM"];
        let h1 = if unstructured.iter().any(|e| r.estimator.eq_ignore_ascii_case(e)) {
            "Unstructured"
        } else {
            "Structured"
        };
        out.push(("Information saturated (h1) model".into(), h1.into()));
    }
    out.extend(boot);
    out
}

/// Whether the parameter tables carry interval columns in text and
/// markdown: with bootstrap standard errors (lavaan's `summary(ci = TRUE)`
/// columns `ci.lower ci.upper`, the bootstrap intervals).
pub fn shows_intervals(r: &FitReport) -> bool {
    r.bootstrap.as_ref().is_some_and(|b| b.ci_type.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn report(estimator: &str, fit: Value) -> FitReport {
        serde_json::from_value(json!({
            "converged": true, "estimator": estimator, "nobs": 100, "parameters": [], "fit": fit,
            "r2": {}, "hypotheses": [], "warnings": [], "model_file": "", "data_file": "",
            "rows_read": 100, "rows_dropped": 0, "iterations": 1, "optimizer": "",
            "se_type": "Standard", "ci_level": 0.95, "alpha": 0.05, "sem_version": ""
        }))
        .unwrap()
    }

    fn labels(t: &FitTable) -> Vec<String> {
        t.sections
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r.label.trim().to_string()))
            .collect()
    }

    #[test]
    fn layout_follows_the_keys_not_the_estimator() {
        // a WLSMV-like map: scaled keys, a shift parameter, df_scaled, no logl
        let r = report(
            "WLSMV",
            json!({"chisq": 10.0, "df": 5.0, "pvalue": 0.07, "chisq_scaled": 12.0, "df_scaled": 5.0,
                   "pvalue_scaled": 0.03, "chisq_scaling_factor": 0.9, "chisq_shift_parameters": 1.2,
                   "srmr": 0.05, "wrmr": 0.8}),
        );
        let t = fit_table(&r);
        assert!(t.scaled);
        let l = labels(&t);
        assert!(l.contains(&"Shift parameter".to_string()), "{l:?}");
        assert!(l.contains(&"simple second-order correction".to_string()), "{l:?}");
        assert!(l.contains(&"WRMR".to_string()));
        assert!(!l.iter().any(|x| x.starts_with("Loglikelihood")), "no logl key, no section: {l:?}");
        let user = &t.sections[0];
        assert_eq!(user.rows[0].scaled, Cell::Num(Some(12.0)));
        assert_eq!(show(user.rows[1].scaled, 3), "5");
        // ML: one column, no scaled rows
        let r = report("ML", json!({"chisq": 10.0, "df": 5.0, "pvalue": null}));
        let t = fit_table(&r);
        assert!(!t.scaled);
        assert_eq!(show(t.sections[0].rows[2].standard, 3), "NA");
        assert!(t.sections[0].rows.iter().all(|r| r.scaled == Cell::Blank));
    }

    #[test]
    fn information_lines_as_lavaan_prints_them() {
        let mut r = report("MLR", json!({}));
        r.se_type = "Robust.huber.white".into();
        let h = estimates_header(&r);
        assert_eq!(h[1], ("Information bread".to_string(), "Observed".to_string()));
        r.se_type = "Standard".into();
        r.estimator = "ULS".into();
        assert_eq!(estimates_header(&r)[2].1, "Unstructured");
        r.estimator = "ML".into();
        r.missing_patterns = Some(json!(3));
        assert_eq!(estimates_header(&r)[1], ("Information".to_string(), "Observed".to_string()));
        // --information: the report's choice wins over the default, with
        // lavaan's third line for it
        let pairs = |r: &FitReport| -> Vec<(String, String)> { estimates_header(r) };
        let line = |a: &str, b: &str| (a.to_string(), b.to_string());
        r.information = Some("First.order".into());
        assert_eq!(
            pairs(&r)[1..],
            [
                line("Information", "First.order"),
                line("Information saturated (h1) model", "Structured")
            ]
        );
        r.missing_patterns = None;
        r.information = Some("Observed".into());
        assert_eq!(
            pairs(&r)[1..],
            [line("Information", "Observed"), line("Observed information based on", "Hessian")]
        );
        r.se_type = "Robust.huber.white".into();
        r.information = Some("Expected".into());
        assert_eq!(
            pairs(&r)[1..],
            [
                line("Information bread", "Expected"),
                line("Information saturated (h1) model", "Structured")
            ]
        );
    }
}

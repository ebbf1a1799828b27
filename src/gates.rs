//! CI gates: criteria a fit must meet for a pipeline to pass, checked after
//! the report is made (so the report is printed either way). `--require
//! "cfi>=0.95,rmsea<=0.06"` compares fit measures (any key of the report's
//! `fit` map; lavaan's dotted names such as `rmsea.ci.upper` work too) with
//! `>=`, `<=`, `>` or `<`; a measure that is missing or `null` fails its
//! criterion. `--require-supported H1a,H2` (or `all`) asks that hypotheses
//! be supported. A failed gate is not an error of the run: `sem` exits with
//! code 3 ("ran fine, but a gate failed") unless a worse code applies.

use crate::report::FitReport;
use serde::{Deserialize, Serialize};

/// A comparison in a fit criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Ge,
    Le,
    Gt,
    Lt,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Lt => "<",
        }
    }
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Ge => a >= b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Lt => a < b,
        }
    }
}

/// `key op value`, e.g. `cfi >= 0.95`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitCriterion {
    pub key: String,
    pub cmp: Cmp,
    pub value: f64,
}

impl FitCriterion {
    pub fn text(&self) -> String {
        format!("{}{}{}", self.key, self.cmp.symbol(), self.value)
    }
}

/// Which hypotheses must be supported.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RequireSupported {
    #[default]
    None,
    All,
    Names(Vec<String>),
}

/// All gates of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gates {
    pub fit: Vec<FitCriterion>,
    pub supported: RequireSupported,
}

/// One criterion a fit did not meet, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GateFailure {
    /// as written: `cfi>=0.95`, `supported:H3`
    pub criterion: String,
    pub reason: String,
}

/// Every measure a criterion may name: lavaan 0.6-14's `fitMeasures()` names
/// (with `.` as `_`) for all its estimators, `sem`'s additions to the fit
/// map, and the `--validity` measures of the contract. A name outside this
/// list is a typo, refused before anything is fitted; a listed name that a
/// particular report lacks (`cfi_robust` with plain ML) fails its criterion.
pub const KNOWN_MEASURES: &[&str] = &[
    "npar",
    "fmin",
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "chisq_shift_parameters",
    "baseline_chisq",
    "baseline_df",
    "baseline_pvalue",
    "baseline_chisq_scaled",
    "baseline_df_scaled",
    "baseline_pvalue_scaled",
    "baseline_chisq_scaling_factor",
    "baseline_chisq_shift_parameters",
    "cfi",
    "tli",
    "cfi_scaled",
    "tli_scaled",
    "cfi_robust",
    "tli_robust",
    "nnfi",
    "rfi",
    "nfi",
    "pnfi",
    "ifi",
    "rni",
    "nnfi_scaled",
    "rfi_scaled",
    "nfi_scaled",
    "pnfi_scaled",
    "ifi_scaled",
    "rni_scaled",
    "nnfi_robust",
    "rni_robust",
    "logl",
    "unrestricted_logl",
    "aic",
    "bic",
    "ntotal",
    "bic2",
    "scaling_factor_h1",
    "scaling_factor_h0",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "rmsea_ci_level",
    "rmsea_pvalue",
    "rmsea_close_h0",
    "rmsea_notclose_pvalue",
    "rmsea_notclose_h0",
    "rmsea_scaled",
    "rmsea_ci_lower_scaled",
    "rmsea_ci_upper_scaled",
    "rmsea_pvalue_scaled",
    "rmsea_notclose_pvalue_scaled",
    "rmsea_robust",
    "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust",
    "rmsea_pvalue_robust",
    "rmsea_notclose_pvalue_robust",
    "rmr",
    "rmr_nomean",
    "srmr",
    "srmr_bentler",
    "srmr_bentler_nomean",
    "crmr",
    "crmr_nomean",
    "srmr_mplus",
    "srmr_mplus_nomean",
    "cn_05",
    "cn_01",
    "gfi",
    "agfi",
    "pgfi",
    "mfi",
    "ecvi",
    "wrmr",
    "bollen_stine_pvalue",
    "omega",
    "alpha",
    "ave",
    "htmt",
];

/// The known measure nearest to a misspelt one, if it is near enough.
pub fn did_you_mean(key: &str) -> Option<&'static str> {
    KNOWN_MEASURES
        .iter()
        .map(|k| (crate::data::read::levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

const REQUIRE_HELP: &str =
    "write criteria as MEASURE OP NUMBER with OP one of >= <= > <, separated by commas, e.g. --require \"cfi>=0.95,rmsea<=0.06,srmr<=0.08\"";

fn parse_criterion(s: &str) -> Result<FitCriterion, String> {
    let s = s.trim();
    let bad = |why: &str| format!("--require: cannot read `{s}`: {why}; {REQUIRE_HELP}");
    let at = s.find(['<', '>', '=']).ok_or_else(|| bad("no comparison operator"))?;
    let (key, rest) = s.split_at(at);
    let (cmp, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Cmp::Ge, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Cmp::Le, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Cmp::Gt, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Cmp::Lt, v)
    } else {
        return Err(bad("the operator must be >=, <=, > or <"));
    };
    let key = key.trim().replace('.', "_").to_lowercase();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad("the left side must be a fit measure such as cfi, tli, rmsea, srmr"));
    }
    if !KNOWN_MEASURES.contains(&key.as_str()) {
        let hint = match did_you_mean(&key) {
            Some(k) => format!("did you mean `{k}`? "),
            None => String::new(),
        };
        return Err(format!(
            "--require: `{key}` in `{s}` is not a fit measure; {hint}measures are lavaan's fitMeasures() names, e.g. cfi, tli, rmsea, rmsea_ci_upper, srmr, cfi_robust, rmsea_scaled, chisq, pvalue"
        ));
    }
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad("the right side must be a number"))?;
    Ok(FitCriterion { key, cmp, value })
}

impl Gates {
    /// Parse `--require` items (each may hold several comma-separated
    /// criteria) and `--require-supported` names (or `all`).
    pub fn parse(require: &[String], supported: &[String]) -> Result<Gates, String> {
        let mut fit = Vec::new();
        for item in require.iter().flat_map(|s| s.split(',')) {
            if item.trim().is_empty() {
                continue;
            }
            fit.push(parse_criterion(item)?);
        }
        let names: Vec<String> = supported
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let supported = if names.iter().any(|n| n == "all") {
            if names.len() > 1 {
                return Err("--require-supported: give either `all` or a list of hypothesis names, not both".into());
            }
            RequireSupported::All
        } else if names.is_empty() {
            RequireSupported::None
        } else {
            RequireSupported::Names(names)
        };
        Ok(Gates { fit, supported })
    }

    /// Whether a criterion names a `--validity` measure (omega, alpha, ave,
    /// htmt): the run then computes the validity table even without `--validity`.
    pub fn needs_validity(&self) -> bool {
        self.fit.iter().any(|c| VALIDITY_MEASURES.contains(&c.key.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.fit.is_empty() && self.supported == RequireSupported::None
    }

    /// Every name in `--require-supported` must be a hypothesis of the model.
    pub fn check_names(&self, hypotheses: &[String]) -> Result<(), String> {
        let known = || {
            if hypotheses.is_empty() {
                "the model has no hypotheses (labelled `~` paths or `:=` definitions named like H1, H1a, or listed in a `# hypotheses:` comment)".to_string()
            } else {
                format!("the model's hypotheses are {}", hypotheses.join(", "))
            }
        };
        match &self.supported {
            RequireSupported::None => Ok(()),
            RequireSupported::All if hypotheses.is_empty() => Err(format!("--require-supported all: {}", known())),
            RequireSupported::All => Ok(()),
            RequireSupported::Names(ns) => match ns.iter().find(|n| !hypotheses.contains(n)) {
                Some(n) => Err(format!("--require-supported: `{n}` is not a hypothesis of the model; {}", known())),
                None => Ok(()),
            },
        }
    }

    /// The criteria a fit report does not meet.
    pub fn evaluate(&self, r: &FitReport) -> Vec<GateFailure> {
        let mut out = Vec::new();
        for c in &self.fit {
            if VALIDITY_MEASURES.contains(&c.key.as_str()) {
                out.extend(validity_failures(c, r));
                continue;
            }
            let reason = match r.fit.get(&c.key) {
                None => Some(format!(
                    "`{}` is not a fit measure of this report (it has {})",
                    c.key,
                    r.fit.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
                Some(v) => match v.as_f64() {
                    None => Some(format!("{} is not available (null) for this fit", c.key)),
                    Some(x) if !c.cmp.holds(x, c.value) => Some(format!(
                        "{} = {} does not meet {} {} {}",
                        c.key,
                        short(x),
                        c.key,
                        c.cmp.symbol(),
                        c.value
                    )),
                    Some(_) => None,
                },
            };
            if let Some(reason) = reason {
                out.push(GateFailure {
                    criterion: c.text(),
                    reason,
                });
            }
        }
        let wanted: Vec<&str> = match &self.supported {
            RequireSupported::None => Vec::new(),
            RequireSupported::All => r.hypotheses.iter().map(|h| h.name.as_str()).collect(),
            RequireSupported::Names(ns) => ns.iter().map(String::as_str).collect(),
        };
        for name in wanted {
            let criterion = format!("supported:{name}");
            let Some(h) = r.hypotheses.iter().find(|h| h.name == name) else {
                out.push(GateFailure {
                    criterion,
                    reason: format!("hypothesis {name} is not in this report"),
                });
                continue;
            };
            if h.supported {
                continue;
            }
            let sign = if h.expected_sign == "-" { "negative" } else { "positive" };
            let est = h.est.map_or("NA".to_string(), short);
            let p = h.pvalue.map_or("NA".to_string(), short);
            out.push(GateFailure {
                criterion,
                reason: format!(
                    "hypothesis {name} ({} {} {}) is not supported: est = {est}, p = {p}; it needs a {sign} estimate with p < {}",
                    h.lhs, h.op, h.rhs, r.alpha
                ),
            });
        }
        out
    }
}

/// The measures of `--validity` a criterion may name; each is checked on
/// every factor (htmt: every pair of factors) of every group.
const VALIDITY_MEASURES: &[&str] = &["omega", "alpha", "ave", "htmt"];

/// The factors (or pairs) that do not meet a validity criterion; a null
/// measure (not defined for that factor) fails it, with the reason.
fn validity_failures(c: &FitCriterion, r: &FitReport) -> Vec<GateFailure> {
    let fail = |reason: String| GateFailure {
        criterion: c.text(),
        reason,
    };
    let Some(v) = &r.validity else {
        return vec![fail(format!(
            "{} is a --validity measure and this report has no validity table",
            c.key
        ))];
    };
    let labels = crate::data::groups::GroupLabels::new(None, r.groups.as_deref().unwrap_or(&[]));
    let in_group = |g: usize| labels.in_group(g.max(1) - 1, labels.values.len());
    let mut items: Vec<(String, Option<f64>)> = Vec::new();
    if c.key == "htmt" {
        for h in &v.htmt {
            items.push((format!("factors {} and {}{}", h.a, h.b, in_group(h.group)), h.htmt));
        }
    } else {
        for f in &v.factors {
            let value = match c.key.as_str() {
                "omega" => f.omega,
                "alpha" => f.alpha,
                _ => f.ave,
            };
            items.push((format!("factor {}{}", f.factor, in_group(f.group)), value));
        }
    }
    if items.is_empty() {
        return vec![fail(format!(
            "{} is not defined: the model has no {}",
            c.key,
            if c.key == "htmt" {
                "pair of factors"
            } else {
                "factor with observed indicators"
            }
        ))];
    }
    items
        .into_iter()
        .filter_map(|(what, value)| match value {
            None => Some(fail(format!("{what}: {} is not defined (null; see the warnings)", c.key))),
            Some(x) if !c.cmp.holds(x, c.value) => Some(fail(format!(
                "{what}: {} = {} does not meet {} {} {}",
                c.key,
                short(x),
                c.key,
                c.cmp.symbol(),
                c.value
            ))),
            Some(_) => None,
        })
        .collect()
}

/// A number in a message: four significant decimals, no trailing noise.
fn short(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_criteria() {
        let g = Gates::parse(&["cfi>=0.95, rmsea<=0.06".into(), "RMSEA.ci.upper < 0.1".into()], &[]).unwrap();
        assert_eq!(g.fit.len(), 3);
        assert_eq!(g.fit[0].cmp, Cmp::Ge);
        assert_eq!(g.fit[2].key, "rmsea_ci_upper");
        assert_eq!(g.fit[2].cmp, Cmp::Lt);
        assert!(Gates::parse(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in ["cfi", "cfi=0.9", "cfi>=high", ">=0.9", "cfi=>0.9", "c fi>=0.9", "rmsae<=0.08"] {
            let e = Gates::parse(&[bad.into()], &[]).unwrap_err();
            assert!(e.contains("--require"), "{bad}: {e}");
        }
        let e = Gates::parse(&["rmsae<=0.08".into()], &[]).unwrap_err();
        assert!(e.contains("did you mean `rmsea`?"), "{e}");
        let e = Gates::parse(&["CFI.Robust>=0.9".into(), "zzzzzz>1".into()], &[]).unwrap_err();
        assert!(e.contains("`zzzzzz`") && !e.contains("did you mean"), "{e}");
        assert!(Gates::parse(&[], &["all,H1".into()]).is_err());
    }

    #[test]
    fn supported_names_must_exist() {
        let g = Gates::parse(&[], &["H1,H9".into()]).unwrap();
        let e = g.check_names(&["H1".into(), "H2".into()]).unwrap_err();
        assert!(e.contains("`H9`") && e.contains("H1, H2"), "{e}");
        let g = Gates::parse(&[], &["all".into()]).unwrap();
        assert!(g.check_names(&[]).is_err());
        assert!(g.check_names(&["H1".into()]).is_ok());
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(0.912345), "0.9123");
        assert_eq!(short(0.95), "0.95");
        assert_eq!(short(3.0), "3");
        assert_eq!(short(0.0000123), "1.230e-5");
    }
}

//! One report type for `sem fit`, rendered many ways. `FitReport` is the
//! JSON contract (`../shared/CONTRACT.md`): keys are lavaan's names with `.`
//! replaced by `_`, a value that does not exist is `null`. The text,
//! CSV, markdown and HTML renderers (and the path diagram, `crate::diagram`) read the same value and nothing else, so the
//! formats cannot disagree. `check` holds the report of `sem check`.

pub mod apa;
pub mod batch;
pub mod batch_csv;
pub mod batch_markdown;
pub mod batch_table;
pub mod check;
pub mod comparison;
pub mod csv_out;
pub mod fit_table;
pub mod html;
pub mod markdown;
pub mod quality;
pub mod text;
pub mod width;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One row of lavaan's `parameterEstimates(standardized = TRUE)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamOut {
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub group: usize,
    pub label: String,
    pub free: bool,
    pub est: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub pvalue: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    pub std_lv: Option<f64>,
    pub std_all: Option<f64>,
    /// standard error of std_all (lavaan's `standardizedSolution()` `se`, delta method)
    #[serde(default)]
    pub std_all_se: Option<f64>,
}

/// A hypothesis (a labelled regression path or a defined parameter named
/// like one, H1, H1a, ..., or listed in a `# hypotheses:`/`# expect:`
/// comment; see `crate::hypotheses`), tested in the expected direction:
/// supported when the estimate has the expected sign and the (two-sided, as
/// lavaan prints it) p-value is below alpha.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HypothesisOut {
    pub name: String,
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    /// "+" or "-"
    pub expected_sign: String,
    pub est: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub pvalue: Option<f64>,
    pub std_all: Option<f64>,
    pub supported: bool,
    /// "supported", "not supported", or "undetermined" when the p-value
    /// cannot be computed (no standard error): never "not supported" then
    #[serde(default)]
    pub decision: String,
}

/// A hypothesis as the model states it, before any data: the columns of
/// `sem batch`'s table and the list `sem check` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HypothesisSpec {
    pub name: String,
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    /// "+" or "-" (declared with a `# expect:` comment in the model file)
    pub expected_sign: String,
}

/// Everything `sem fit` reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FitReport {
    pub converged: bool,
    pub estimator: String,
    /// a number for one group, a list (one per group) otherwise
    pub nobs: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub groups: Option<Vec<String>>,
    pub parameters: Vec<ParamOut>,
    /// lavaan's `fitMeasures()`, in its order
    pub fit: Map<String, Value>,
    /// R-square of every endogenous variable (per group: group name -> map)
    pub r2: Value,
    pub hypotheses: Vec<HypothesisOut>,
    /// with --modindices: lhs, op, rhs, group, mi, epc, sepc_lv, sepc_all; largest first
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modindices: Option<Vec<crate::inference::modindices::ModIndex>>,
    /// with --residuals: raw, correlation and standardized residuals per group
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residuals: Option<Vec<crate::inference::residuals::GroupResiduals>>,
    /// with --validity: alpha, omega, AVE, Fornell–Larcker per factor and HTMT per pair
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<crate::inference::validity::Validity>,
    /// with --effects: direct, indirect and total effects per ordered pair
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effects: Option<Vec<crate::inference::effects::Effect>>,
    pub warnings: Vec<String>,
    /// what was fitted, for the record
    pub model_file: String,
    pub data_file: String,
    /// rows read from the data file and rows dropped because of missing values
    pub rows_read: usize,
    pub rows_dropped: usize,
    pub iterations: u64,
    pub optimizer: String,
    /// with --missing fiml: the number of missing-data patterns (per group: a list);
    /// standard errors then come from the observed information (Hessian), as lavaan's
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_patterns: Option<Value>,
    pub se_type: String,
    /// the information matrix the standard errors come from, lavaan's
    /// `information` as `summary()` prints it ("Expected", "Observed",
    /// "First.order"); for the ML family (with FIML too), absent otherwise
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<String>,
    /// with --se bootstrap or --test bollen-stine: type, draws, successful, failed, seed, ci_type
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<crate::inference::bootstrap::BootstrapInfo>,
    pub ci_level: f64,
    pub alpha: f64,
    pub sem_version: String,
}

impl FitReport {
    pub fn fit_value(&self, key: &str) -> Option<f64> {
        self.fit.get(key).and_then(|v| v.as_f64())
    }

    /// The contract's exit code for a fit that produced a report: 0 when it
    /// converged and has standard errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.converged && !self.se_type.starts_with("none") {
            0
        } else {
            1
        }
    }
}

/// `se_type` of a fit whose standard errors could not be computed because the
/// information matrix is singular.
pub const SE_NOT_IDENTIFIED: &str = "none (not identified)";

/// How the human-readable renderers print numbers: `--digits N` decimals
/// (3, lavaan's, when not given) in text and markdown; CSV keeps full
/// precision unless `--digits` is given; JSON always has full precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub digits: Option<usize>,
}

impl Style {
    pub fn with_digits(digits: Option<usize>) -> Style {
        Style { digits }
    }
    /// decimals of estimates, tests and fit measures (3 unless `--digits`)
    pub fn d(&self) -> usize {
        self.digits.unwrap_or(3)
    }
    /// decimals where the default is `default` (e.g. 1 for AIC in markdown)
    pub fn d_or(&self, default: usize) -> usize {
        self.digits.unwrap_or(default)
    }
}

/// Numbers for people: fixed decimals, blank for a missing value.
pub fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    match v {
        // beyond a column's width (5.5e199 would be 200 digits): scientific
        Some(v) if v.is_finite() && v.abs() >= 1e9 => format!("{v:.decimals$e}"),
        Some(v) if v.is_finite() => fixed(v, decimals).unwrap_or_else(|| format!("{v:.decimals$}")),
        _ => String::new(),
    }
}

/// `format!("{v:.d$}")` without the formatter's exact-decimal machinery,
/// which takes about a microsecond a number (a report prints hundreds):
/// v 10^d is rounded to an integer when it is below 1e9, where its one
/// rounding error (under 1.2e-7) cannot move it across a rounding boundary
/// more than 1e-6 away; nearer a tie (x.5), or larger, `None` and the
/// formatter decides. The sign is kept as the formatter keeps it (-0.000).
fn fixed(v: f64, d: usize) -> Option<String> {
    const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    let x = v.abs() * *POW10.get(d)?;
    if x >= 1e9 || (x.fract() - 0.5).abs() < 1e-6 {
        return None;
    }
    // the digits of round(x) from the last, the point after d of them
    let mut n = x.round() as u64;
    let mut buf = [0u8; 24];
    let mut at = buf.len();
    let mut k = 0;
    while k <= d || n > 0 {
        if k == d && d > 0 {
            at -= 1;
            buf[at] = b'.';
        }
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        k += 1;
    }
    if v.is_sign_negative() {
        at -= 1;
        buf[at] = b'-';
    }
    Some(buf[at..].iter().map(|&b| char::from(b)).collect())
}

#[cfg(test)]
mod fixed_tests {
    #[test]
    fn fixed_decimals_print_as_the_formatter_prints_them() {
        let mut vals = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.0004,
            -0.0005,
            0.0005,
            0.125,
            999999.9995,
            1e-300,
            123.4565,
            0.1 + 0.2,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..40_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // magnitudes 1e-6 .. 1e9, both signs; and values on a grid of
            // thousandths (ties in decimal, near-ties in binary)
            let m = (x >> 11) as f64 / (1u64 << 53) as f64;
            let e = ((x >> 3) % 16) as i32 - 6;
            let v = m * 10f64.powi(e);
            vals.push(if x & 1 == 1 { -v } else { v });
            vals.push(((x >> 20) % 2_000_000) as f64 / 1000.0 - 1000.0 + 0.0005);
        }
        for &v in &vals {
            for d in 0..=6 {
                let want = format!("{v:.d$}");
                if let Some(got) = super::fixed(v, d) {
                    assert_eq!(got, want, "{v:e} with {d} decimals");
                }
                assert_eq!(super::fmt_opt(Some(v), d), if v.abs() >= 1e9 { format!("{v:.d$e}") } else { want });
            }
        }
    }
}

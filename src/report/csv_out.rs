//! CSV: one row per parameter (lavaan's `parameterEstimates()` columns),
//! empty cells for values that do not exist. Meant for spreadsheets and
//! scripts that want the estimates and nothing else.

use super::{FitReport, Style};

pub const COLUMNS: &[&str] = &[
    "lhs", "op", "rhs", "group", "label", "free", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all",
];

pub fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => String::new(),
    }
}

/// A cell with `digits` decimals, or full precision without `--digits`.
pub fn cell_digits(v: Option<f64>, digits: Option<usize>) -> String {
    match (v, digits) {
        (Some(v), Some(d)) if v.is_finite() => format!("{v:.d$}"),
        _ => cell(v),
    }
}

/// Full precision (the default: `--digits` not given).
pub fn render(r: &FitReport) -> String {
    render_styled(r, Style::default())
}

/// With `--digits N` every number is rounded to N decimals.
pub fn render_styled(r: &FitReport, style: Style) -> String {
    let cell = |v: Option<f64>| cell_digits(v, style.digits);
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for p in &r.parameters {
        let _ = w.write_record([
            p.lhs.clone(),
            p.op.clone(),
            p.rhs.clone(),
            p.group.to_string(),
            p.label.clone(),
            p.free.to_string(),
            cell(p.est),
            cell(p.se),
            cell(p.z),
            cell(p.pvalue),
            cell(p.ci_lower),
            cell(p.ci_upper),
            cell(p.std_lv),
            cell(p.std_all),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

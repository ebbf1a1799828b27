//! APA style for the tables people paste into papers (`--format markdown`
//! and `html`): a p-value is `< .001` or `.034`, a value that cannot exceed 1
//! in absolute value (p, R², standardized coefficients and correlations, CFI,
//! RMSEA, SRMR, reliabilities) has no leading zero (`.87`, `-.27`), and a
//! fixed parameter has no SE, z or p. The numbers are the text report's,
//! with its decimals (`--digits`); only the way they are written differs.

/// `v` with `digits` decimals; without the leading zero when `bounded`;
/// `1.04` keeps its integer part, and a value that rounds to zero is never `-0`.
pub fn number(v: f64, digits: usize, bounded: bool) -> String {
    let mut s = format!("{v:.digits$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s.remove(0);
    }
    if bounded {
        if let Some(rest) = s.strip_prefix("0.") {
            return format!(".{rest}");
        }
        if let Some(rest) = s.strip_prefix("-0.") {
            return format!("-.{rest}");
        }
    }
    s
}

/// A number cell: blank for a missing or non-finite value.
pub fn cell(v: Option<f64>, digits: usize, bounded: bool) -> String {
    match v {
        Some(v) if v.is_finite() => number(v, digits, bounded),
        _ => String::new(),
    }
}

/// A p-value cell: `< .001`, else the value with at least 3 decimals and no
/// leading zero; blank when missing.
pub fn p(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() && v < 0.001 => "< .001".into(),
        Some(v) if v.is_finite() => number(v, digits.max(3), true),
        _ => String::new(),
    }
}

/// A cell of lavaan's fit sections (`fit_table`): p-values and the measures
/// bounded by 1 (CFI, TLI, RMSEA and its interval, SRMR) in APA style, the
/// rest as the text report prints them.
pub fn fit_measure(label: &str, c: super::fit_table::Cell, digits: usize) -> String {
    use super::fit_table::{show, Cell};
    let label = label.trim();
    match c {
        Cell::Num(Some(v)) if label.starts_with("P-value") => p(Some(v), digits),
        Cell::Num(Some(v)) if ["(CFI)", "(TLI)", "RMSEA", "SRMR", "Percent"].iter().any(|k| label.contains(k)) => {
            cell(Some(v), digits, true)
        }
        c => show(c, digits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apa_numbers() {
        assert_eq!(number(0.173, 2, true), ".17");
        assert_eq!(number(-0.273, 2, true), "-.27");
        assert_eq!(number(1.043, 2, true), "1.04");
        assert_eq!(number(0.173, 2, false), "0.17");
        assert_eq!(number(-0.001, 2, true), ".00");
        assert_eq!(number(-0.001, 2, false), "0.00");
        assert_eq!(p(Some(0.0004), 3), "< .001");
        assert_eq!(p(Some(0.0341), 3), ".034");
        assert_eq!(p(Some(0.0341), 2), ".034");
        assert_eq!(p(None, 3), "");
        assert_eq!(cell(Some(f64::NAN), 3, true), "");
    }
}

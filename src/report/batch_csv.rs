//! `sem batch --format csv`: long format, one row per data set and
//! hypothesis, ready for a pivot table or `read.csv()`. The first columns are
//! the contract's (`dataset,hypothesis,lhs,op,rhs,est,se,z,pvalue,std_all,
//! supported`); then the expected sign, the data set's fit (`nobs` ...
//! `srmr`; `pvalue_chisq` is the chi-square test's p-value), its status, the
//! reason it failed and the gates it failed (`;`-separated). A data set that
//! could not be fitted still has its rows (empty numbers, the reason in
//! `error`); a model without hypotheses gives one row per data set.

use super::batch::{BatchReport, DatasetOut};
use super::csv_out::cell_digits;
use super::{HypothesisSpec, Style};

pub const COLUMNS: &[&str] = &[
    "dataset",
    "hypothesis",
    "lhs",
    "op",
    "rhs",
    "est",
    "se",
    "z",
    "pvalue",
    "std_all",
    "supported",
    "expected_sign",
    "nobs",
    "chisq",
    "df",
    "pvalue_chisq",
    "cfi",
    "tli",
    "rmsea",
    "srmr",
    "status",
    "error",
    "gate_failures",
];

fn nobs(d: &DatasetOut) -> String {
    match &d.nobs {
        Some(serde_json::Value::Array(ns)) => ns.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(";"),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

fn row(d: &DatasetOut, h: Option<&HypothesisSpec>, style: Style) -> Vec<String> {
    let cell = |v: Option<f64>| cell_digits(v, style.digits);
    let fitted = h.and_then(|h| d.hypothesis(&h.name));
    let num = |f: fn(&super::HypothesisOut) -> Option<f64>| cell(fitted.and_then(f));
    let status = serde_json::to_value(d.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    vec![
        d.dataset.clone(),
        h.map_or(String::new(), |h| h.name.clone()),
        h.map_or(String::new(), |h| h.lhs.clone()),
        h.map_or(String::new(), |h| h.op.clone()),
        h.map_or(String::new(), |h| h.rhs.clone()),
        num(|x| x.est),
        num(|x| x.se),
        num(|x| x.z),
        num(|x| x.pvalue),
        num(|x| x.std_all),
        fitted.map_or(String::new(), |x| x.supported.to_string()),
        h.map_or(String::new(), |h| h.expected_sign.clone()),
        nobs(d),
        cell(d.fit_value("chisq")),
        cell(d.fit_value("df")),
        cell(d.fit_value("pvalue")),
        cell(d.fit_value("cfi")),
        cell(d.fit_value("tli")),
        cell(d.fit_value("rmsea")),
        cell(d.fit_value("srmr")),
        status,
        d.error.clone().unwrap_or_default(),
        d.gate_failures.iter().map(|g| g.criterion.as_str()).collect::<Vec<_>>().join(";"),
    ]
}

/// Full precision.
pub fn render(r: &BatchReport) -> String {
    render_styled(r, Style::default())
}

/// With `--digits N` every number rounded to N decimals.
pub fn render_styled(r: &BatchReport, style: Style) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for d in &r.datasets {
        if r.hypotheses.is_empty() {
            let _ = w.write_record(row(d, None, style));
        }
        for h in &r.hypotheses {
            let _ = w.write_record(row(d, Some(h), style));
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

//! `sem batch`'s default output, for a person at a terminal: a matrix of
//! hypotheses (rows) by data sets (columns `[1]`, `[2]`, ...) with the
//! standardized estimate and a `*` when the hypothesis is supported, then one
//! line of fit per data set (which also says which path each `[n]` is), then
//! failures, failed gates and warnings. Wide batches are split into blocks
//! of columns, as R prints a wide matrix.

use super::batch::{BatchReport, DatasetOut, Status};
use super::fmt_opt;
use std::fmt::Write as _;

/// Total width a block of columns aims to fit in.
const WIDTH: usize = 100;
const COL: usize = 8;

/// The matrix cell of one hypothesis in one data set: `0.39*`, `0.02 `, `-`.
pub fn cell(d: &DatasetOut, name: &str) -> String {
    match d.hypothesis(name) {
        None => "-".into(),
        Some(h) => {
            let v = h.std_all.or(h.est).map_or("NA".to_string(), |v| format!("{v:.2}"));
            format!("{v}{}", if h.supported { '*' } else { ' ' })
        }
    }
}

/// `k/n` supported hypotheses of a data set, or `-` when it was not fitted.
pub fn supported_count(d: &DatasetOut, n: usize) -> String {
    if d.converged.is_none() {
        "-".into()
    } else {
        format!("{}/{} ", d.hypotheses.iter().filter(|h| h.supported).count(), n)
    }
}

fn path_of(op: &str, lhs: &str, rhs: &str) -> String {
    if op == ":=" {
        format!("{lhs} := {rhs}")
    } else {
        format!("{lhs} {op} {rhs}")
    }
}

pub fn render(r: &BatchReport) -> String {
    let mut o = String::new();
    let n = r.datasets.len();
    let failed = n - r.n_ok();
    let _ = writeln!(
        o,
        "sem batch: {} on {} data set{} ({} fitted{})",
        r.model_file,
        n,
        if n == 1 { "" } else { "s" },
        r.n_ok(),
        if failed > 0 { format!(", {failed} failed") } else { String::new() }
    );
    if !r.hypotheses.is_empty() {
        let _ = writeln!(
            o,
            "\nHypotheses: standardized estimates (std.all); * supported (expected sign and p < {})",
            r.alpha
        );
        let paths: Vec<String> = r.hypotheses.iter().map(|h| path_of(&h.op, &h.lhs, &h.rhs)).collect();
        let nw = r.hypotheses.iter().map(|h| h.name.len()).max().unwrap_or(0).max("hypothesis".len());
        let pw = paths.iter().map(|p| p.chars().count()).max().unwrap_or(0).max(4);
        let prefix = 2 + nw + 2 + pw + 6;
        let per_block = ((WIDTH.saturating_sub(prefix)) / COL).max(1);
        let idx: Vec<usize> = (0..n).collect();
        for block in idx.chunks(per_block) {
            let _ = write!(o, "\n  {:<nw$}  {:<pw$}  sign", "hypothesis", "path");
            for &i in block {
                let _ = write!(o, "{:>COL$}", format!("[{}] ", i + 1));
            }
            o.push('\n');
            for (h, path) in r.hypotheses.iter().zip(&paths) {
                let _ = write!(o, "  {:<nw$}  {:<pw$}  {:>4}", h.name, path, h.expected_sign);
                for &i in block {
                    let _ = write!(o, "{:>COL$}", cell(&r.datasets[i], &h.name));
                }
                o.push('\n');
            }
            let _ = write!(o, "  {:<nw$}  {:<pw$}  {:>4}", "supported", "", "");
            for &i in block {
                let _ = write!(o, "{:>COL$}", supported_count(&r.datasets[i], r.hypotheses.len()));
            }
            o.push('\n');
        }
    }
    let _ = writeln!(o, "\nFit:");
    let kw = format!("[{n}]").len();
    let _ = writeln!(
        o,
        "  {:<kw$} {:>6} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6}  data set",
        "", "N", "chisq", "df", "p", "CFI", "TLI", "RMSEA", "SRMR"
    );
    for (i, d) in r.datasets.iter().enumerate() {
        let key = format!("[{}]", i + 1);
        if d.converged.is_none() {
            let _ = writeln!(
                o,
                "  {key:<kw$} {:<58}  {}",
                format!("  failed: {} (see below)", d.status.describe()),
                d.dataset
            );
            continue;
        }
        let f = |k: &str, dec: usize| {
            let s = fmt_opt(d.fit_value(k), dec);
            if s.is_empty() {
                "NA".to_string()
            } else {
                s
            }
        };
        let nobs = d.nobs.as_ref().map_or(String::new(), |v| v.to_string());
        let mark = if d.status == Status::Ok { "" } else { "  (!)" };
        let _ = writeln!(
            o,
            "  {key:<kw$} {:>6} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6}  {}{mark}",
            nobs,
            f("chisq", 3),
            f("df", 0),
            f("pvalue", 3),
            f("cfi", 3),
            f("tli", 3),
            f("rmsea", 3),
            f("srmr", 3),
            d.dataset
        );
    }
    let failures: Vec<(usize, &DatasetOut)> = r.datasets.iter().enumerate().filter(|(_, d)| d.status != Status::Ok).collect();
    if !failures.is_empty() {
        let _ = writeln!(o, "\nFailures:");
        for (i, d) in failures {
            let why = d.reason().replace('\n', "\n      ");
            let _ = writeln!(o, "  [{}] {}: {}: {}", i + 1, d.dataset, d.status.describe(), why);
        }
    }
    let gated: Vec<(usize, &DatasetOut)> = r.datasets.iter().enumerate().filter(|(_, d)| !d.gate_failures.is_empty()).collect();
    if !gated.is_empty() {
        let _ = writeln!(o, "\nFailed gates:");
        for (i, d) in gated {
            for g in &d.gate_failures {
                let _ = writeln!(o, "  [{}] {}: {}: {}", i + 1, d.dataset, g.criterion, g.reason);
            }
        }
    }
    let warnings = r.warning_lines();
    if !warnings.is_empty() {
        let _ = writeln!(o, "\nWarnings:");
        for (at, w) in warnings {
            let _ = match at {
                Some((i, d)) => writeln!(o, "  - [{i}] {d}: {w}"),
                None => writeln!(o, "  - {w}"),
            };
        }
    }
    o.lines().map(|l| l.trim_end().to_string() + "\n").collect()
}

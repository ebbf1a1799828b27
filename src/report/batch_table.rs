//! `sem batch`'s default output, for a person at a terminal: a matrix of
//! hypotheses (rows) by data sets (columns `[1]`, `[2]`, ...) with the
//! standardized estimate and a `*` when the hypothesis is supported, then one
//! line of fit per data set (which also says which path each `[n]` is), then
//! failures, failed gates and warnings. Wide batches are split into blocks
//! of columns, as R prints a wide matrix.

use super::batch::{BatchReport, DatasetOut, Status};
use super::{fmt_opt, Style};
use std::fmt::Write as _;

/// Total width a block of columns aims to fit in.
const WIDTH: usize = 100;
const COL: usize = 8;

/// Decimals of the matrix cells: 2, or `--digits`.
pub fn cell_decimals(style: Style) -> usize {
    style.d_or(2)
}

/// The matrix cell of one hypothesis in one data set: `0.39*`, `0.02 `, `-`
/// (with `dec` decimals).
pub fn cell(d: &DatasetOut, name: &str, dec: usize) -> String {
    match d.hypothesis(name) {
        None => "-".into(),
        Some(h) => {
            let v = h.std_all.or(h.est).map_or("NA".to_string(), |v| format!("{v:.dec$}"));
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

/// Whether any data set has a scaled test (MLM, MLR, ...): then the fit
/// lines above are the standard test's, and a second block gives the scaled
/// test and the robust indices, labelled.
pub fn any_scaled(r: &BatchReport) -> bool {
    r.datasets.iter().any(|d| d.fit.contains_key("chisq_scaled"))
}

/// The keys and headers of the scaled block.
pub const SCALED: &[(&str, &str)] = &[
    ("chisq_scaled", "chisq.scaled"),
    ("df_scaled", "df"),
    ("pvalue_scaled", "p"),
    ("chisq_scaling_factor", "scaling"),
    ("cfi_robust", "CFI.rob"),
    ("tli_robust", "TLI.rob"),
    ("rmsea_robust", "RMSEA.rob"),
];

fn scaled_lines(o: &mut String, r: &BatchReport, fd: usize, kw: usize) {
    if !any_scaled(r) {
        return;
    }
    let w = 9.max(fd + 6);
    let _ = writeln!(o, "\nScaled test and robust indices (the lines above are the standard test):");
    let _ = write!(o, "  {:<kw$}", "");
    for (_, h) in SCALED {
        let _ = write!(o, " {h:>w$}", w = w.max(h.len()));
    }
    o.push('\n');
    for (i, d) in r.datasets.iter().enumerate().filter(|(_, d)| d.converged.is_some()) {
        let _ = write!(o, "  {:<kw$}", format!("[{}]", i + 1));
        for (k, h) in SCALED {
            // degrees of freedom are counts, except MLMVS's fractional scaled df
            let fractional = d.fit_value(k).is_some_and(|v| v.fract() != 0.0);
            let dec = if k.starts_with("df") && !fractional { 0 } else { fd };
            let v = fmt_opt(d.fit_value(k), dec);
            let _ = write!(o, " {:>w$}", if v.is_empty() { "NA" } else { &v }, w = w.max(h.len()));
        }
        o.push('\n');
    }
}

fn path_of(op: &str, lhs: &str, rhs: &str) -> String {
    if op == ":=" {
        format!("{lhs} := {rhs}")
    } else {
        format!("{lhs} {op} {rhs}")
    }
}

/// With 2 decimals in the matrix and 3 in the fit lines.
pub fn render(r: &BatchReport) -> String {
    render_styled(r, Style::default())
}

/// With `--digits` decimals everywhere.
pub fn render_styled(r: &BatchReport, style: Style) -> String {
    let cd = cell_decimals(style);
    let fd = style.d();
    let col = COL.max(cd + 6);
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
        let per_block = ((WIDTH.saturating_sub(prefix)) / col).max(1);
        let idx: Vec<usize> = (0..n).collect();
        for block in idx.chunks(per_block) {
            let _ = write!(o, "\n  {:<nw$}  {:<pw$}  sign", "hypothesis", "path");
            for &i in block {
                let _ = write!(o, "{:>col$}", format!("[{}] ", i + 1));
            }
            o.push('\n');
            for (h, path) in r.hypotheses.iter().zip(&paths) {
                let _ = write!(o, "  {:<nw$}  {:<pw$}  {:>4}", h.name, path, h.expected_sign);
                for &i in block {
                    let _ = write!(o, "{:>col$}", cell(&r.datasets[i], &h.name, cd));
                }
                o.push('\n');
            }
            let _ = write!(o, "  {:<nw$}  {:<pw$}  {:>4}", "supported", "", "");
            for &i in block {
                let _ = write!(o, "{:>col$}", supported_count(&r.datasets[i], r.hypotheses.len()));
            }
            o.push('\n');
        }
    }
    let _ = writeln!(o, "\nFit:");
    let kw = format!("[{n}]").len();
    let _ = writeln!(
        o,
        "  {:<kw$} {:>6} {:>cw$} {:>5} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}  data set",
        "",
        "N",
        "chisq",
        "df",
        "p",
        "CFI",
        "TLI",
        "RMSEA",
        "SRMR",
        w = 6.max(fd + 3),
        cw = 9.max(fd + 6)
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
            "  {key:<kw$} {:>6} {:>cw$} {:>5} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}  {}{mark}",
            nobs,
            f("chisq", fd),
            f("df", 0),
            f("pvalue", fd),
            f("cfi", fd),
            f("tli", fd),
            f("rmsea", fd),
            f("srmr", fd),
            d.dataset,
            w = 6.max(fd + 3),
            cw = 9.max(fd + 6)
        );
    }
    scaled_lines(&mut o, r, fd, kw);
    // --validity / --effects: each data set's tables, as `sem fit` prints them
    for (i, d) in r.datasets.iter().enumerate() {
        let t = super::quality::Tables::of_dataset(d);
        if t.any() {
            let _ = writeln!(o, "\n[{}] {}:", i + 1, d.dataset);
            super::quality::validity_text_of(&mut o, &t, fd);
            super::quality::effects_text_of(&mut o, &t, fd);
        }
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

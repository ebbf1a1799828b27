//! The text report, laid out like lavaan's
//! `summary(fit, fit.measures = TRUE, standardized = TRUE, rsquare = TRUE)`
//! so that a lavaan user finds every number where they expect it, followed by
//! the hypothesis table and any warnings.

use super::width::{cell, pad_left, pad_right, take_width};
use super::{fit_table, fmt_opt, FitReport, HypothesisOut, ParamOut, Style};
use std::fmt::Write as _;

fn line(out: &mut String, label: &str, value: String) {
    let _ = writeln!(out, "  {label:<42}{value:>15}");
}

fn int(r: &FitReport, key: &str) -> String {
    r.fit_value(key).map_or("NA".into(), |v| format!("{}", v.round() as i64))
}

/// The fit-measure sections, one column or lavaan's "Standard  Scaled" two.
fn fit_sections(o: &mut String, r: &FitReport, d: usize) {
    let table = fit_table::fit_table(r);
    for (i, sec) in table.sections.iter().enumerate() {
        let _ = writeln!(o, "\n{}:", sec.title);
        if table.scaled && i == 0 {
            let _ = writeln!(o, "  {:<42}{:>15}{:>12}", "", "Standard", "Scaled");
        } else {
            o.push('\n');
        }
        for row in &sec.rows {
            let std = fit_table::show(row.standard, d);
            if table.scaled {
                let sc = fit_table::show(row.scaled, d);
                let _ = writeln!(o, "{}", format!("  {:<42}{std:>15}{sc:>12}", row.label).trim_end());
            } else {
                let _ = writeln!(o, "{}", format!("  {:<42}{std:>15}", row.label).trim_end());
            }
        }
    }
}

/// The report as text, with lavaan's 3 decimals.
pub fn render(r: &FitReport) -> String {
    render_styled(r, Style::default())
}

/// The report as text, with `style`'s decimals.
pub fn render_styled(r: &FitReport, style: Style) -> String {
    let d = style.d();
    let mut o = String::new();
    let status = if r.converged { "ended normally" } else { "did NOT converge" };
    let _ = writeln!(o, "sem {} {} after {} iterations\n", r.sem_version, status, r.iterations);
    line(&mut o, "Estimator", r.estimator.clone());
    line(&mut o, "Optimization method", r.optimizer.to_uppercase());
    line(&mut o, "Number of model parameters", int(r, "npar"));
    o.push('\n');
    match (&r.groups, r.nobs.as_array()) {
        (Some(gs), Some(ns)) => {
            line(&mut o, "Number of observations per group:", String::new());
            for (g, n) in gs.iter().zip(ns) {
                let _ = writeln!(o, "    {}{:>15}", pad_right(g, 40), n.to_string());
            }
        }
        _ => line(&mut o, "Number of observations", r.nobs.to_string()),
    }
    match &r.missing_patterns {
        Some(pats) => {
            if r.rows_dropped > 0 {
                line(&mut o, "Number of rows dropped", r.rows_dropped.to_string());
            }
            line(&mut o, "Number of missing patterns", pats.to_string());
        }
        None if r.rows_dropped > 0 => line(&mut o, "Number of rows dropped (listwise)", r.rows_dropped.to_string()),
        None => {}
    }
    fit_sections(&mut o, r, d);
    let _ = writeln!(o, "\nParameter Estimates:\n");
    for (k, v) in fit_table::estimates_header(r) {
        line(&mut o, &k, v);
    }
    let ci = fit_table::shows_intervals(r);
    let groups: Vec<usize> = {
        let mut g: Vec<usize> = r.parameters.iter().map(|p| p.group).filter(|g| *g > 0).collect();
        g.dedup();
        g
    };
    let cx = Cx { d, ci, all: &r.parameters };
    for &g in &groups {
        if let Some(names) = &r.groups {
            let _ = writeln!(o, "\n\nGroup {} [{}]:", g, names.get(g - 1).map_or("", |s| s.as_str()));
        }
        let rows: Vec<&ParamOut> = r.parameters.iter().filter(|p| p.group == g).collect();
        section(&mut o, &cx, "Latent Variables", &rows, "=~", true);
        section(&mut o, &cx, "Regressions", &rows, "~", true);
        let covs: Vec<&ParamOut> = rows.iter().copied().filter(|p| p.op == "~~" && p.lhs != p.rhs).collect();
        section(&mut o, &cx, "Covariances", &covs, "~~", true);
        section(&mut o, &cx, "Intercepts", &rows, "~1", false);
        // ordinal indicators: thresholds (`x1|t1`) and scale factors, as lavaan prints them
        section(&mut o, &cx, "Thresholds", &rows, "|", false);
        let vars: Vec<&ParamOut> = rows.iter().copied().filter(|p| p.op == "~~" && p.lhs == p.rhs).collect();
        section(&mut o, &cx, "Variances", &vars, "~~", false);
        section(&mut o, &cx, "Scales y*", &rows, "~*~", false);
    }
    let defs: Vec<&ParamOut> = r.parameters.iter().filter(|p| p.op == ":=").collect();
    section(&mut o, &cx, "Defined Parameters", &defs, ":=", false);
    r2_section(&mut o, r, d);
    hypotheses_section(&mut o, r, &cx);
    super::quality::validity_text(&mut o, r, d);
    super::quality::effects_text(&mut o, r, d);
    if let Some(res) = &r.residuals {
        for gr in res {
            let title = match &r.groups {
                Some(g) => format!(" [{}]", g.get(gr.group - 1).map_or("", |s| s.as_str())),
                None => String::new(),
            };
            let _ = writeln!(o, "\nCorrelation residuals{title}:\n");
            lower_triangle(&mut o, &gr.names, d, |i, j| Some(gr.cor[i][j]));
            if let (Some(names), Some(th)) = (&gr.th_names, &gr.th_raw) {
                // ordinal data: threshold residuals; no standardized residuals (as lavaan)
                let _ = writeln!(o, "\nThreshold residuals{title}:\n");
                for (n, v) in names.iter().zip(th) {
                    let _ = writeln!(o, "  {n:<12} {v:>9.d$}");
                }
                continue;
            }
            let _ = writeln!(o, "\nStandardized residuals{title}:\n");
            lower_triangle(&mut o, &gr.names, d, |i, j| gr.standardized[i][j]);
        }
    }
    if let Some(mis) = &r.modindices {
        let _ = writeln!(o, "\nModification Indices (largest first):\n");
        let multi = r.groups.is_some();
        let _ = writeln!(
            o,
            "  {:>10} {:>3} {:<10} {}{:>9} {:>8} {:>8} {:>8}",
            "lhs",
            "op",
            "rhs",
            if multi { "group " } else { "" },
            "mi",
            "epc",
            "sepc.lv",
            "sepc.all"
        );
        for m in mis {
            let g = if multi { format!("{:>5} ", m.group) } else { String::new() };
            let _ = writeln!(
                o,
                "  {} {:>3} {} {g}{:>9} {:>8} {:>8} {:>8}",
                pad_left(&m.lhs, 10),
                m.op,
                pad_right(&m.rhs, 10),
                format!("{:.d$}", m.mi),
                format!("{:.d$}", m.epc),
                fmt_opt(m.sepc_lv, d),
                fmt_opt(m.sepc_all, d)
            );
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\nWarnings:");
        for w in &r.warnings {
            let _ = writeln!(o, "  - {w}");
        }
    }
    o
}

fn lower_triangle(o: &mut String, names: &[String], d: usize, v: impl Fn(usize, usize) -> Option<f64>) {
    let _ = write!(o, "  {:>8}", "");
    for n in names {
        let _ = write!(o, " {}", pad_left(&take_width(n, 7), 7));
    }
    o.push('\n');
    for (i, n) in names.iter().enumerate() {
        let _ = write!(o, "  {}", pad_left(&take_width(n, 8), 8));
        for j in 0..=i {
            let _ = write!(o, " {:>7}", v(i, j).map_or("NA".to_string(), |x| format!("{x:.d$}")));
        }
        o.push('\n');
    }
}

fn is_endogenous(all: &[ParamOut], v: &str) -> bool {
    all.iter().any(|p| (p.op == "=~" && p.rhs == v) || (p.op == "~" && p.lhs == v))
}

/// What every parameter section needs: decimals, whether the interval
/// columns show, and all rows (to tell endogenous variables).
struct Cx<'a> {
    d: usize,
    ci: bool,
    all: &'a [ParamOut],
}

impl Cx<'_> {
    /// width of a number column
    fn w(&self) -> usize {
        9.max(self.d + 6)
    }
}

fn section(o: &mut String, cx: &Cx, title: &str, rows: &[&ParamOut], op: &str, grouped: bool) {
    let rows: Vec<&&ParamOut> = rows.iter().filter(|p| p.op == op).collect();
    if rows.is_empty() {
        return;
    }
    let (d, w) = (cx.d, cx.w());
    let _ = writeln!(o, "\n{title}:");
    let mut head = format!(
        "{:<20}{:>e$}{:>w$}{:>w$}{:>w$}",
        "",
        "Estimate",
        "Std.Err",
        "z-value",
        "P(>|z|)",
        e = w + 1
    );
    if cx.ci {
        let _ = write!(head, "{:>w$}{:>w$}", "ci.lower", "ci.upper");
    }
    let _ = write!(head, "{:>w$}{:>w$}", "Std.lv", "Std.all");
    let _ = writeln!(o, "{head}");
    let mut current = "";
    for p in rows {
        let mut name = match op {
            "~1" | "~*~" => p.lhs.clone(),
            "|" => format!("{}|{}", p.lhs, p.rhs),
            ":=" => p.lhs.clone(),
            "~~" if p.lhs == p.rhs => p.lhs.clone(),
            _ => p.rhs.clone(),
        };
        if grouped && p.lhs != current {
            let _ = writeln!(o, "  {} {}", p.lhs, p.op);
            current = &p.lhs;
        }
        if !p.label.is_empty() && op != ":=" {
            name = format!("{name} ({})", p.label);
        }
        // lavaan marks residual (co)variances and intercepts of endogenous variables with a dot
        if !grouped && !matches!(op, ":=" | "|" | "~*~") && is_endogenous(cx.all, &p.lhs) {
            name = format!(".{name}");
        }
        let indent = if grouped { "    " } else { "   " };
        let free = p.free || op == ":=";
        let test = |v: Option<f64>| if free { fmt_opt(v, d) } else { String::new() };
        let mut row = format!(
            "{indent}{}{}{}{}{}",
            pad_right(&name, 20 - indent.len()),
            cell(fmt_opt(p.est, d), w + 1),
            cell(test(p.se), w),
            cell(test(p.z), w),
            cell(test(p.pvalue), w),
        );
        if cx.ci {
            let _ = write!(row, "{:>w$}{:>w$}", fmt_opt(p.ci_lower, d), fmt_opt(p.ci_upper, d));
        }
        let _ = write!(row, "{}{}", cell(fmt_opt(p.std_lv, d), w), cell(fmt_opt(p.std_all, d), w));
        let _ = writeln!(o, "{row}");
    }
}

/// The parameter row a hypothesis was read from (for its interval).
fn hypothesis_row<'a>(all: &'a [ParamOut], h: &HypothesisOut) -> Option<&'a ParamOut> {
    all.iter()
        .find(|p| p.lhs == h.lhs && p.op == h.op && p.rhs == h.rhs && (p.op == ":=" || p.label == h.name))
}

fn hypotheses_section(o: &mut String, r: &FitReport, cx: &Cx) {
    if r.hypotheses.is_empty() {
        return;
    }
    let (d, w) = (cx.d, cx.w().max(8));
    let path = |h: &HypothesisOut| {
        if h.op == ":=" {
            format!("{} := {}", h.lhs, h.rhs)
        } else {
            format!("{} {} {}", h.lhs, h.op, h.rhs)
        }
    };
    let pw = r
        .hypotheses
        .iter()
        .map(|h| unicode_width::UnicodeWidthStr::width(path(h).as_str()))
        .max()
        .unwrap_or(0)
        .max(24);
    let _ = writeln!(o, "\nHypotheses (alpha = {}):", r.alpha);
    let mut head = format!(
        "  {:<8} {:<pw$} {:>4} {:>w$} {:>w$} {:>w$} {:>w$}",
        "", "path", "sign", "Estimate", "Std.all", "z-value", "P(>|z|)"
    );
    if cx.ci {
        let _ = write!(head, " {:>w$} {:>w$}", "ci.lower", "ci.upper");
    }
    let _ = writeln!(o, "{head}  result");
    for h in &r.hypotheses {
        let mut row = format!(
            "  {} {} {:>4} {:>w$} {:>w$} {:>w$} {:>w$}",
            pad_right(&h.name, 8),
            pad_right(&path(h), pw),
            h.expected_sign,
            fmt_opt(h.est, d),
            fmt_opt(h.std_all, d),
            fmt_opt(h.z, d),
            fmt_opt(h.pvalue, d),
        );
        if cx.ci {
            let p = hypothesis_row(cx.all, h);
            let _ = write!(
                row,
                " {:>w$} {:>w$}",
                fmt_opt(p.and_then(|p| p.ci_lower), d),
                fmt_opt(p.and_then(|p| p.ci_upper), d)
            );
        }
        let verdict = crate::hypotheses::decision(h.supported, h.est, h.pvalue);
        let _ = writeln!(o, "{row}  {verdict}");
    }
}

fn r2_section(o: &mut String, r: &FitReport, d: usize) {
    let print = |o: &mut String, m: &serde_json::Map<String, serde_json::Value>| {
        for (k, v) in m {
            let v = v.as_f64().map_or("NA".to_string(), |v| format!("{v:.d$}"));
            let _ = writeln!(o, "    {}{v:>10}", pad_right(k, 16));
        }
    };
    match &r.r2 {
        serde_json::Value::Object(m) if !m.is_empty() => {
            if m.values().all(|v| v.is_object()) {
                for (g, inner) in m {
                    let _ = writeln!(o, "\nR-Square ({g}):");
                    print(o, inner.as_object().unwrap());
                }
            } else {
                let _ = writeln!(o, "\nR-Square:");
                print(o, m);
            }
        }
        _ => {}
    }
}

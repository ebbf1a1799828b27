//! The power report in every format: JSON (the `PowerReport` value itself),
//! and text, markdown and HTML built from the same tables (`tables`): the
//! power of each hypothesis by N, the replications by N, and per N the
//! parameter summaries. CSV is one row per N and hypothesis or parameter.
//! Numbers have 3 decimals (`--digits`), bias 4; a value that could not be
//! computed is `NA` (empty in CSV, null in JSON).

use super::PowerReport;
use crate::report::width::{pad_left, pad_right};
use std::fmt::Write as _;

/// Output formats of `sem power` and `sem merge`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerFormat {
    Text,
    Json,
    Csv,
    Markdown,
    Html,
}

/// One table: a title, a note under it, a header and rows of cells.
pub struct Table {
    pub title: String,
    pub note: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// leading columns that are names (left-aligned)
    pub name_cols: usize,
}

fn num(v: Option<f64>, d: usize) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let s = format!("{x:.d$}");
            if s.starts_with('-') && s[1..].bytes().all(|b| b == b'0' || b == b'.') {
                s[1..].to_string()
            } else {
                s
            }
        }
        _ => "NA".into(),
    }
}

/// The header lines: what was simulated and how it was analysed.
pub fn preamble(r: &PowerReport) -> Vec<String> {
    let mut v = vec![
        format!("population model: {}", r.population_file),
        format!(
            "analysis model: {}{}",
            r.model_file,
            if r.model_file == r.population_file { " (values freed)" } else { "" }
        ),
        format!(
            "estimator {}, {} replications per N, seed {}, alpha {}, {}% intervals",
            r.estimator,
            r.reps,
            r.seed,
            r.alpha,
            r.ci_level * 100.0
        ),
    ];
    if let Some(k) = r.likert {
        v.push(format!("data cut into {k} categories of equal probability"));
    }
    if r.missing > 0.0 {
        v.push(format!("each value missing with probability {} (completely at random)", r.missing));
    }
    v
}

fn n_label(c: &super::ConditionOut) -> String {
    match &c.group_n {
        Some(g) => g.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("+"),
        None => c.n.to_string(),
    }
}

/// The report's tables, in order.
pub fn tables(r: &PowerReport, digits: Option<usize>) -> Vec<Table> {
    let d = digits.unwrap_or(3);
    let db = digits.unwrap_or(4);
    let mut out = Vec::new();
    if let Some(first) = r.conditions.first() {
        let mut header = vec!["hypothesis".to_string(), "path".into(), "sign".into()];
        for c in &r.conditions {
            header.push(format!("N = {}", n_label(c)));
        }
        let has_wald = r.conditions.iter().any(|c| c.hypotheses.iter().any(|h| h.wald_power.is_some()));
        let rows = first
            .hypotheses
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let mut row = vec![h.name.clone(), format!("{} {} {}", h.lhs, h.op, h.rhs), h.expected_sign.clone()];
                for c in &r.conditions {
                    let hp = &c.hypotheses[k];
                    let mut cell = format!("{} ({})", num(hp.power, d), num(hp.mc_se, d));
                    if has_wald {
                        let _ = write!(cell, " [{}]", num(hp.wald_power, d));
                    }
                    row.push(cell);
                }
                row
            })
            .collect();
        // a model without hypotheses (no H-labels) has no power table
        if !first.hypotheses.is_empty() {
            out.push(Table {
                title: "Power of the hypotheses".into(),
                note: format!(
                    "share of converged replications in which the hypothesis is supported (expected sign, p < {}), (Monte-Carlo SE){}",
                    r.alpha,
                    if has_wald {
                        ", [asymptotic Wald power at the population values]"
                    } else {
                        ""
                    }
                ),
                header,
                rows,
                name_cols: 3,
            });
        }
        let header = [
            "N",
            "replications",
            "converged",
            "not admissible",
            "not converged",
            "not identified",
            "failed",
            "chisq rejects",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rows = r
            .conditions
            .iter()
            .map(|c| {
                vec![
                    n_label(c),
                    c.reps.to_string(),
                    c.converged.to_string(),
                    c.not_admissible.to_string(),
                    c.not_converged.to_string(),
                    c.not_identified.to_string(),
                    c.failed.to_string(),
                    num(c.chisq_rejection, d),
                ]
            })
            .collect();
        out.push(Table {
            title: "Replications".into(),
            note: "not admissible: converged with a negative variance or a correlation beyond ±1 (kept in the summaries); chisq rejects: share of converged replications whose chi-square test rejects the model".into(),
            header,
            rows,
            name_cols: 1,
        });
    }
    for c in &r.conditions {
        let multi = c.group_n.is_some();
        let mut header: Vec<String> = vec!["parameter".into()];
        if multi {
            header.push("group".into());
        }
        header.extend(
            [
                "population",
                "mean est",
                "bias",
                "rel bias",
                "sd est",
                "mean se",
                "coverage",
                "power",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let rows = c
            .parameters
            .iter()
            .map(|p| {
                let mut name = format!("{} {} {}", p.lhs, p.op, p.rhs);
                if !p.label.is_empty() {
                    let _ = write!(name, " ({})", p.label);
                }
                let mut row = vec![name];
                if multi {
                    row.push(p.group.to_string());
                }
                row.extend([
                    num(p.population, d),
                    num(p.mean_est, d),
                    num(p.bias, db),
                    num(p.rel_bias, d),
                    num(p.sd_est, d),
                    num(p.mean_se, d),
                    num(p.coverage, d),
                    num(p.power, d),
                ]);
                row
            })
            .collect();
        let mut note = format!(
            "over {} converged replications; coverage of the {}% interval; power: share with p < {}",
            c.converged,
            r.ci_level * 100.0,
            r.alpha
        );
        if let Some(p) = &c.first_problem {
            let _ = write!(note, "; first problem: {p}");
        }
        out.push(Table {
            title: format!("Parameters at N = {}", n_label(c)),
            note,
            header,
            rows,
            name_cols: if multi { 2 } else { 1 },
        });
    }
    out
}

fn target_line(r: &PowerReport) -> Option<String> {
    let t = r.target.as_ref()?;
    let evaluated: Vec<String> = t.evaluated.iter().map(|n| n.to_string()).collect();
    Some(match t.n {
        Some(n) => format!(
            "Smallest N with power >= {} for {}: {n} (N tried: {})",
            t.power,
            t.hypotheses.join(", "),
            evaluated.join(", ")
        ),
        None => format!(
            "Power {} for {} is not reached at any N up to {} (N tried: {})",
            t.power,
            t.hypotheses.join(", "),
            t.evaluated.iter().max().copied().unwrap_or(0),
            evaluated.join(", ")
        ),
    })
}

/// Plain text, columns aligned.
pub fn text(r: &PowerReport, digits: Option<usize>) -> String {
    let mut o = String::from("Monte Carlo power\n\n");
    for l in preamble(r) {
        let _ = writeln!(o, "  {l}");
    }
    if let Some(t) = target_line(r) {
        let _ = writeln!(o, "\n{t}");
    }
    for t in tables(r, digits) {
        let _ = writeln!(o, "\n{}:\n", t.title);
        let ncol = t.header.len();
        let w: Vec<usize> = (0..ncol)
            .map(|j| {
                std::iter::once(&t.header[j])
                    .chain(t.rows.iter().map(|row| &row[j]))
                    .map(|s| unicode_width::UnicodeWidthStr::width(s.as_str()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| -> String {
            let mut s = String::from(" ");
            for (j, c) in cells.iter().enumerate() {
                s.push_str("  ");
                if j < t.name_cols {
                    s.push_str(&pad_right(c, w[j]));
                } else {
                    s.push_str(&pad_left(c, w[j]));
                }
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(o, "{}", line(&t.header));
        for row in &t.rows {
            let _ = writeln!(o, "{}", line(row));
        }
        let _ = writeln!(o, "\n  {}", t.note);
    }
    for w in &r.warnings {
        let _ = writeln!(o, "\nwarning: {w}");
    }
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Markdown tables.
pub fn markdown(r: &PowerReport, digits: Option<usize>) -> String {
    let mut o = String::from("## Monte Carlo power\n\n");
    for l in preamble(r) {
        let _ = writeln!(o, "- {}", md_cell(&l));
    }
    if let Some(t) = target_line(r) {
        let _ = writeln!(o, "\n**{}**", md_cell(&t));
    }
    for t in tables(r, digits) {
        let _ = writeln!(o, "\n### {}\n", md_cell(&t.title));
        let _ = writeln!(o, "| {} |", t.header.iter().map(|h| md_cell(h)).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(
            o,
            "|{}|",
            (0..t.header.len())
                .map(|j| if j < t.name_cols { "---" } else { "---:" })
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &t.rows {
            let _ = writeln!(o, "| {} |", row.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "));
        }
        let _ = writeln!(o, "\n{}", md_cell(&t.note));
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\n### Warnings\n");
        for w in &r.warnings {
            let _ = writeln!(o, "- {}", md_cell(w));
        }
    }
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained HTML page (no scripts, no network).
pub fn html(r: &PowerReport, digits: Option<usize>) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Monte Carlo power</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:2em;max-width:75em}\ntable{border-collapse:collapse;margin:0.5em 0}\nth,td{padding:0.2em 0.6em;border-bottom:1px solid #ccc}\ntd.n{text-align:right;font-variant-numeric:tabular-nums}\np.note{color:#555;font-size:0.9em}\n</style>\n</head>\n<body>\n<h1>Monte Carlo power</h1>\n<ul>\n",
    );
    for l in preamble(r) {
        let _ = writeln!(o, "<li>{}</li>", esc(&l));
    }
    o.push_str("</ul>\n");
    if let Some(t) = target_line(r) {
        let _ = writeln!(o, "<p><strong>{}</strong></p>", esc(&t));
    }
    for t in tables(r, digits) {
        let _ = writeln!(o, "<h2>{}</h2>\n<table>\n<tr>", esc(&t.title));
        for h in &t.header {
            let _ = write!(o, "<th>{}</th>", esc(h));
        }
        o.push_str("</tr>\n");
        for row in &t.rows {
            o.push_str("<tr>");
            for (j, c) in row.iter().enumerate() {
                if j < t.name_cols {
                    let _ = write!(o, "<td>{}</td>", esc(c));
                } else {
                    let _ = write!(o, "<td class=\"n\">{}</td>", esc(c));
                }
            }
            o.push_str("</tr>\n");
        }
        let _ = writeln!(o, "</table>\n<p class=\"note\">{}</p>", esc(&t.note));
    }
    for w in &r.warnings {
        let _ = writeln!(o, "<p class=\"note\">warning: {}</p>", esc(w));
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn csv_num(v: Option<f64>, digits: Option<usize>) -> String {
    match (v, digits) {
        (Some(x), Some(d)) if x.is_finite() => format!("{x:.d$}"),
        (Some(x), None) if x.is_finite() => x.to_string(),
        _ => String::new(),
    }
}

/// One row per N and hypothesis, then per N and parameter.
pub fn csv(r: &PowerReport, digits: Option<usize>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "n",
        "group_n",
        "kind",
        "name",
        "lhs",
        "op",
        "rhs",
        "group",
        "population",
        "mean_est",
        "bias",
        "rel_bias",
        "sd_est",
        "mean_se",
        "coverage",
        "power",
        "mc_se",
        "wald_power",
        "reps",
        "converged",
        "not_admissible",
    ]);
    let f = |v: Option<f64>| csv_num(v, digits);
    for c in &r.conditions {
        let gn = c
            .group_n
            .as_ref()
            .map(|g| g.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("+"))
            .unwrap_or_default();
        let (n, reps, conv, adm) = (
            c.n.to_string(),
            c.reps.to_string(),
            c.converged.to_string(),
            c.not_admissible.to_string(),
        );
        for h in &c.hypotheses {
            let _ = w.write_record([
                n.as_str(),
                &gn,
                "hypothesis",
                &h.name,
                &h.lhs,
                &h.op,
                &h.rhs,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &f(h.power),
                &f(h.mc_se),
                &f(h.wald_power),
                &reps,
                &conv,
                &adm,
            ]);
        }
        for p in &c.parameters {
            let _ = w.write_record([
                n.as_str(),
                &gn,
                "parameter",
                &p.label,
                &p.lhs,
                &p.op,
                &p.rhs,
                &p.group.to_string(),
                &f(p.population),
                &f(p.mean_est),
                &f(p.bias),
                &f(p.rel_bias),
                &f(p.sd_est),
                &f(p.mean_se),
                &f(p.coverage),
                &f(p.power),
                "",
                "",
                &reps,
                &conv,
                &adm,
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The report in `format`.
pub fn render(r: &PowerReport, format: PowerFormat, digits: Option<usize>) -> String {
    match format {
        PowerFormat::Text => text(r, digits),
        PowerFormat::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        PowerFormat::Csv => csv(r, digits),
        PowerFormat::Markdown => markdown(r, digits),
        PowerFormat::Html => html(r, digits),
    }
}

//! The measurement-quality and effects sections of the text and markdown
//! reports, laid out as a paper's Table 1 (reliability and convergent /
//! discriminant validity) and Table 2 (direct, indirect and total effects).
//! They read only `FitReport::validity` and `FitReport::effects`, so text,
//! markdown and JSON say the same; a null measure prints as `—` (text) or
//! an empty cell, never as a number.

use super::{apa, fmt_opt, FitReport};
use crate::inference::validity::Validity;
use std::fmt::Write as _;

fn cell(v: Option<f64>, d: usize) -> String {
    let s = fmt_opt(v, d);
    if s.is_empty() {
        "—".into()
    } else {
        s
    }
}

fn group_title(r: &FitReport, g: usize) -> Option<String> {
    r.groups
        .as_ref()
        .map(|names| names.get(g - 1).cloned().unwrap_or_else(|| g.to_string()))
}

fn groups_of(v: &Validity) -> Vec<usize> {
    let mut g: Vec<usize> = v.factors.iter().map(|f| f.group).chain(v.htmt.iter().map(|h| h.group)).collect();
    g.sort_unstable();
    g.dedup();
    g
}

/// HTMT with its flag: `*` above 0.85, `**` above 0.90.
fn htmt_cell(h: Option<f64>, d: usize) -> String {
    match h {
        Some(h) if h.is_finite() => {
            let flag = if h > 0.90 {
                "**"
            } else if h > 0.85 {
                "*"
            } else {
                ""
            };
            format!("{h:.d$}{flag}")
        }
        _ => "—".into(),
    }
}

/// Factor names of a group, in table order.
fn factor_names(v: &Validity, g: usize) -> Vec<String> {
    let mut names: Vec<String> = v.factors.iter().filter(|f| f.group == g).map(|f| f.factor.clone()).collect();
    for h in v.htmt.iter().filter(|h| h.group == g) {
        for n in [&h.a, &h.b] {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    names
}

fn htmt_of(v: &Validity, g: usize, a: &str, b: &str) -> Option<f64> {
    v.htmt
        .iter()
        .find(|h| h.group == g && ((h.a == a && h.b == b) || (h.a == b && h.b == a)))
        .and_then(|h| h.htmt)
}

const NOTE: &str = "alpha and omega: semTools' compRelSEM(tau.eq = TRUE) and compRelSEM(); AVE: AVE(); max r²: the largest squared factor correlation; F–L: Fornell–Larcker, AVE above every squared correlation";
const HTMT_NOTE: &str = "HTMT: semTools' htmt(); * above 0.85, ** above 0.90";

/// The text section (lavaan-summary style, fixed-width columns).
pub fn validity_text(o: &mut String, r: &FitReport, d: usize) {
    let Some(v) = &r.validity else { return };
    for g in groups_of(v) {
        let title = group_title(r, g).map_or(String::new(), |n| format!(" [{n}]"));
        let _ = writeln!(o, "\nMeasurement quality{title}:\n");
        let _ = writeln!(
            o,
            "  {:<14} {:>5} {:>7} {:>7} {:>7} {:>9} {:>7} {:>4}",
            "Factor", "Items", "alpha", "omega", "AVE", "sqrt(AVE)", "max r2", "F-L"
        );
        for f in v.factors.iter().filter(|f| f.group == g) {
            let fl = match f.fornell_larcker {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            };
            let _ = writeln!(
                o,
                "  {:<14} {:>5} {:>7} {:>7} {:>7} {:>9} {:>7} {:>4}",
                f.factor,
                f.indicators,
                cell(f.alpha, d),
                cell(f.omega, d),
                cell(f.ave, d),
                cell(f.sqrt_ave, d),
                cell(f.max_squared_correlation, d),
                fl
            );
        }
        let names = factor_names(v, g);
        if names.len() > 1 {
            let _ = writeln!(o, "\n  HTMT{title}:\n");
            let _ = write!(o, "  {:<14}", "");
            for n in &names[..names.len() - 1] {
                let _ = write!(o, " {:>9}", truncate(n, 9));
            }
            let _ = writeln!(o);
            for (i, a) in names.iter().enumerate().skip(1) {
                let _ = write!(o, "  {:<14}", a);
                for b in &names[..i] {
                    let _ = write!(o, " {:>9}", htmt_cell(htmt_of(v, g, a, b), d));
                }
                let _ = writeln!(o);
            }
        }
    }
    if !v.factors.is_empty() {
        let _ = writeln!(o, "\n  {NOTE}.\n  {HTMT_NOTE}.");
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The markdown section: one reliability/validity table and one HTMT matrix per group.
pub fn validity_markdown(o: &mut String, r: &FitReport, d: usize) {
    let Some(v) = &r.validity else { return };
    let _ = writeln!(o, "\n## Measurement quality\n");
    if v.factors.is_empty() {
        let _ = writeln!(
            o,
            "No factor with observed indicators: reliability and validity are not defined (see the warnings)."
        );
        return;
    }
    for g in groups_of(v) {
        if let Some(n) = group_title(r, g) {
            let _ = writeln!(o, "### Group {n}\n");
        }
        let _ = writeln!(o, "| Factor | Items | α | ω | AVE | √AVE | max r² | Fornell–Larcker |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
        for f in v.factors.iter().filter(|f| f.group == g) {
            let fl = match f.fornell_larcker {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                f.factor,
                f.indicators,
                apa::cell(f.alpha, d, true),
                apa::cell(f.omega, d, true),
                apa::cell(f.ave, d, true),
                apa::cell(f.sqrt_ave, d, true),
                apa::cell(f.max_squared_correlation, d, true),
                fl
            );
        }
        let names = factor_names(v, g);
        if names.len() > 1 {
            let _ = writeln!(o, "\n| HTMT | {} |", names[..names.len() - 1].join(" | "));
            let _ = writeln!(o, "|---|{}", "---|".repeat(names.len() - 1));
            for (i, a) in names.iter().enumerate().skip(1) {
                let cells: Vec<String> = (0..names.len() - 1)
                    .map(|j| {
                        if j < i {
                            htmt_cell(htmt_of(v, g, a, &names[j]), d)
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                let _ = writeln!(o, "| {a} | {} |", cells.join(" | "));
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "{NOTE}. {HTMT_NOTE}.");
}

fn effects_groups(r: &FitReport) -> Vec<usize> {
    let mut g: Vec<usize> = r.effects.iter().flatten().map(|e| e.group).collect();
    g.dedup();
    g
}

fn se_source(r: &FitReport) -> &'static str {
    if r.se_type == "Bootstrap" {
        "bootstrap standard errors and intervals"
    } else {
        "delta-method standard errors (as lavaan's `:=`)"
    }
}

/// The text section: one row per ordered pair, specific paths beneath it.
pub fn effects_text(o: &mut String, r: &FitReport, d: usize) {
    let Some(effects) = &r.effects else { return };
    if effects.is_empty() {
        return;
    }
    let level = format!("{}%", (r.ci_level * 100.0).round());
    for g in effects_groups(r) {
        let title = group_title(r, g).map_or(String::new(), |n| format!(" [{n}]"));
        let _ = writeln!(o, "\nEffects{title}:\n");
        let _ = writeln!(
            o,
            "  {:<24} {:>8} {:>8} {:>7} {:>7} {:>16} {:>8} {:>7} {:>7} {:>8} {:>8}",
            "from -> to",
            "direct",
            "indirect",
            "se",
            "P(>|z|)",
            format!("{level} CI"),
            "total",
            "se",
            "P(>|z|)",
            "std.ind",
            "std.tot"
        );
        for e in effects.iter().filter(|e| e.group == g) {
            let ci = format!("[{}, {}]", fmt_opt(e.indirect_ci_lower, d), fmt_opt(e.indirect_ci_upper, d));
            let _ = writeln!(
                o,
                "  {:<24} {:>8} {:>8} {:>7} {:>7} {:>16} {:>8} {:>7} {:>7} {:>8} {:>8}",
                truncate(&format!("{} -> {}", e.from, e.to), 24),
                cell(e.direct, d),
                cell(e.indirect, d),
                cell(e.indirect_se, d),
                cell(e.indirect_pvalue, d),
                ci,
                cell(e.total, d),
                cell(e.total_se, d),
                cell(e.total_pvalue, d),
                cell(e.indirect_std_all, d),
                cell(e.total_std_all, d)
            );
            for s in e.specific.iter().flatten() {
                let ci = format!("[{}, {}]", fmt_opt(s.ci_lower, d), fmt_opt(s.ci_upper, d));
                let mut label = format!("via {}", s.path.join(" -> "));
                if label.chars().count() > 31 {
                    let _ = writeln!(o, "    {label}");
                    label = String::new();
                }
                let _ = writeln!(
                    o,
                    "    {:<31} {:>8} {:>7} {:>7} {:>16} {:>8} {:>7} {:>7} {:>8}",
                    label,
                    cell(s.est, d),
                    cell(s.se, d),
                    cell(s.pvalue, d),
                    ci,
                    "",
                    "",
                    "",
                    cell(s.std_all, d)
                );
            }
        }
    }
    let _ = writeln!(
        o,
        "\n  indirect: the sum over every path of two or more steps; total = direct + indirect;\n  {}; std = std.all.",
        se_source(r)
    );
}

/// The markdown section: the paper's effects table.
pub fn effects_markdown(o: &mut String, r: &FitReport, d: usize) {
    let Some(effects) = &r.effects else { return };
    let _ = writeln!(o, "\n## Direct, indirect and total effects\n");
    if effects.is_empty() {
        let _ = writeln!(
            o,
            "No pair of variables is joined by a path of two or more steps (see the warnings)."
        );
        return;
    }
    let level = format!("{}%", (r.ci_level * 100.0).round());
    for g in effects_groups(r) {
        if let Some(n) = group_title(r, g) {
            let _ = writeln!(o, "### Group {n}\n");
        }
        let _ = writeln!(
            o,
            "| effect | direct | indirect | se | p | {level} CI | total | se | p | {level} CI | std. indirect | std. total |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|---|");
        for e in effects.iter().filter(|e| e.group == g) {
            let _ = writeln!(
                o,
                "| {} → {} | {} | {} | {} | {} | [{}, {}] | {} | {} | {} | [{}, {}] | {} | {} |",
                e.from,
                e.to,
                fmt_opt(e.direct, d),
                fmt_opt(e.indirect, d),
                fmt_opt(e.indirect_se, d),
                apa::p(e.indirect_pvalue, d),
                fmt_opt(e.indirect_ci_lower, d),
                fmt_opt(e.indirect_ci_upper, d),
                fmt_opt(e.total, d),
                fmt_opt(e.total_se, d),
                apa::p(e.total_pvalue, d),
                fmt_opt(e.total_ci_lower, d),
                fmt_opt(e.total_ci_upper, d),
                apa::cell(e.indirect_std_all, d, true),
                apa::cell(e.total_std_all, d, true)
            );
            for s in e.specific.iter().flatten() {
                let _ = writeln!(
                    o,
                    "| &nbsp;&nbsp;via {} | | {} | {} | {} | [{}, {}] | | | | | {} | |",
                    s.path.join(" → "),
                    fmt_opt(s.est, d),
                    fmt_opt(s.se, d),
                    apa::p(s.pvalue, d),
                    fmt_opt(s.ci_lower, d),
                    fmt_opt(s.ci_upper, d),
                    apa::cell(s.std_all, d, true)
                );
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "Indirect: the sum over every path of two or more steps; total = direct + indirect; {}; std. = std.all.",
        se_source(r)
    );
}

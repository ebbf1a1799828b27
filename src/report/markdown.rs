//! Markdown: the fit summary, the hypotheses and the parameter table, ready
//! to paste into a paper draft or a CI job summary. With a scaled test
//! (MLM, MLR, ...) the summary has one row per test (standard, scaled,
//! robust) and the fit measures follow in lavaan's "Standard | Scaled"
//! layout (`fit_table`), so the scaled numbers are never hidden behind the
//! unscaled ones. With bootstrap standard errors the tables carry the
//! intervals (lavaan's `ci.lower`, `ci.upper`). Numbers are written in APA
//! style (`apa`): p as `< .001`, no leading zero for values bounded by 1,
//! fixed parameters without SE, z and p.

use super::{apa, fit_table, fmt_opt, FitReport, Style};
use std::fmt::Write as _;

/// The report as markdown, with 3 decimals (1 for AIC and BIC).
pub fn render(r: &FitReport) -> String {
    render_styled(r, Style::default())
}

/// The report as markdown, with `style`'s decimals.
pub fn render_styled(r: &FitReport, style: Style) -> String {
    let d = style.d();
    let mut o = String::new();
    let scaled = fit_table::is_scaled(r);
    let ci = fit_table::shows_intervals(r);
    let _ = writeln!(o, "## Model fit\n");
    let f = |k: &str, dd: usize| fmt_opt(r.fit_value(k), dd);
    // measures bounded by 1, APA style
    let b = |k: &str| apa::cell(r.fit_value(k), d, true);
    let ic = style.d_or(1);
    let lead = if scaled { "| test " } else { "" };
    let _ = writeln!(
        o,
        "{lead}| N | npar | chisq | df | p | CFI | TLI | RMSEA [90% CI] | SRMR | AIC | BIC |"
    );
    let _ = writeln!(
        o,
        "{}|---|---|---|---|---|---|---|---|---|---|---|",
        if scaled { "|---" } else { "" }
    );
    let row = |o: &mut String, test: &str, sfx: &str, rmsea_sfx: &str| {
        let key = |k: &str| format!("{k}{sfx}");
        let rm = |k: &str| format!("{k}{rmsea_sfx}");
        let df = if r.fit.contains_key(&key("df")) { key("df") } else { "df".into() };
        let _ = writeln!(
            o,
            "{}| {} | {} | {} | {} | {} | {} | {} | {} [{}, {}] | {} | {} | {} |",
            if scaled { format!("| {test} ") } else { String::new() },
            r.nobs,
            f("npar", 0),
            f(&key("chisq"), d),
            f(&df, 0),
            apa::p(r.fit_value(&key("pvalue")), d),
            b(&key("cfi")),
            b(&key("tli")),
            b(&rm("rmsea")),
            b(&rm("rmsea_ci_lower")),
            b(&rm("rmsea_ci_upper")),
            b("srmr"),
            f("aic", ic),
            f("bic", ic)
        );
    };
    row(&mut o, "standard", "", "");
    if scaled {
        row(&mut o, "scaled", "_scaled", "_scaled");
        if r.fit.contains_key("cfi_robust") || r.fit.contains_key("rmsea_robust") {
            // robust indices: the scaled test's chi-square, robust CFI/TLI/RMSEA
            row(&mut o, "robust", "_robust", "_robust");
        }
        fit_measures(&mut o, r, d);
    }
    if !r.hypotheses.is_empty() {
        let _ = writeln!(o, "\n## Hypotheses (alpha = {})\n", r.alpha);
        let (cih, cis) = if ci { (" ci.lower | ci.upper |", "---|---|") } else { ("", "") };
        let _ = writeln!(o, "| hypothesis | path | sign | est | se | z | p |{cih} std.all | supported |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|{cis}---|---|");
        for h in &r.hypotheses {
            let interval = if ci {
                let p = r
                    .parameters
                    .iter()
                    .find(|p| p.lhs == h.lhs && p.op == h.op && p.rhs == h.rhs && (p.op == ":=" || p.label == h.name));
                format!(
                    " {} | {} |",
                    fmt_opt(p.and_then(|p| p.ci_lower), d),
                    fmt_opt(p.and_then(|p| p.ci_upper), d)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "| {} | `{} {} {}` | {} | {} | {} | {} | {} |{interval} {} | {} |",
                h.name,
                h.lhs,
                h.op,
                h.rhs,
                h.expected_sign,
                fmt_opt(h.est, d),
                fmt_opt(h.se, d),
                fmt_opt(h.z, d),
                apa::p(h.pvalue, d),
                apa::cell(h.std_all, d, true),
                match crate::hypotheses::decision(h.supported, h.est, h.pvalue) {
                    "supported" => "yes",
                    "not supported" => "no",
                    other => other,
                }
            );
        }
    }
    super::quality::validity_markdown(&mut o, r, d);
    super::quality::effects_markdown(&mut o, r, d);
    let _ = writeln!(o, "\n## Parameter estimates\n");
    let grouped = r.groups.is_some();
    let (g_h, g_s) = if grouped { ("| group ", "|---") } else { ("", "") };
    let (ci_h, ci_s) = if ci { (" ci.lower | ci.upper |", "---|---|") } else { ("", "") };
    let _ = writeln!(o, "{g_h}| lhs | op | rhs | label | est | se | z | p |{ci_h} std.lv | std.all |");
    let _ = writeln!(o, "{g_s}|---|---|---|---|---|---|---|---|{ci_s}---|---|");
    for p in &r.parameters {
        let g = if grouped { format!("| {} ", p.group) } else { String::new() };
        // a fixed parameter has no SE, z, p or interval (APA)
        let free = p.free || p.op == ":=";
        let shown = |v: Option<f64>| if free { v } else { None };
        let interval = if ci {
            format!(" {} | {} |", fmt_opt(shown(p.ci_lower), d), fmt_opt(shown(p.ci_upper), d))
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "{g}| {} | `{}` | {} | {} | {} | {} | {} | {} |{interval} {} | {} |",
            p.lhs,
            p.op,
            p.rhs,
            p.label,
            fmt_opt(p.est, d),
            fmt_opt(shown(p.se), d),
            fmt_opt(shown(p.z), d),
            apa::p(shown(p.pvalue), d),
            fmt_opt(p.std_lv, d),
            apa::cell(p.std_all, d, p.op != "~1" && p.op != "|")
        );
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\n## Warnings\n");
        for w in &r.warnings {
            let _ = writeln!(o, "- {w}");
        }
    }
    o
}

/// lavaan's fit-measure sections as one table with its two columns.
fn fit_measures(o: &mut String, r: &FitReport, d: usize) {
    let table = fit_table::fit_table(r);
    let _ = writeln!(o, "\n### Fit measures\n");
    let _ = writeln!(o, "| measure | Standard | Scaled |");
    let _ = writeln!(o, "|---|---|---|");
    for sec in &table.sections {
        let _ = writeln!(o, "| **{}** | | |", sec.title);
        for row in sec.rows.iter().filter(|r| !r.is_spacer()) {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                row.label.trim(),
                apa::fit_measure(&row.label, row.standard, d),
                apa::fit_measure(&row.label, row.scaled, d)
            );
        }
    }
}

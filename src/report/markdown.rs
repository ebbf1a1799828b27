//! Markdown: the fit summary, the hypotheses and the parameter table, ready
//! to paste into a paper draft or a CI job summary.

use super::{fmt_opt, FitReport};
use std::fmt::Write as _;

pub fn render(r: &FitReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## Model fit\n");
    let _ = writeln!(o, "| N | npar | chisq | df | p | CFI | TLI | RMSEA [90% CI] | SRMR | AIC | BIC |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    let f = |k: &str, d: usize| fmt_opt(r.fit_value(k), d);
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {} [{}, {}] | {} | {} | {} |",
        r.nobs,
        f("npar", 0),
        f("chisq", 3),
        f("df", 0),
        f("pvalue", 3),
        f("cfi", 3),
        f("tli", 3),
        f("rmsea", 3),
        f("rmsea_ci_lower", 3),
        f("rmsea_ci_upper", 3),
        f("srmr", 3),
        f("aic", 1),
        f("bic", 1)
    );
    if !r.hypotheses.is_empty() {
        let _ = writeln!(o, "\n## Hypotheses (alpha = {})\n", r.alpha);
        let _ = writeln!(o, "| hypothesis | path | sign | est | se | z | p | std.all | supported |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
        for h in &r.hypotheses {
            let _ = writeln!(
                o,
                "| {} | `{} {} {}` | {} | {} | {} | {} | {} | {} | {} |",
                h.name,
                h.lhs,
                h.op,
                h.rhs,
                h.expected_sign,
                fmt_opt(h.est, 3),
                fmt_opt(h.se, 3),
                fmt_opt(h.z, 3),
                fmt_opt(h.pvalue, 3),
                fmt_opt(h.std_all, 3),
                match crate::hypotheses::decision(h.supported, h.est, h.pvalue) {
                    "supported" => "yes",
                    "not supported" => "no",
                    other => other,
                }
            );
        }
    }
    let _ = writeln!(o, "\n## Parameter estimates\n");
    let grouped = r.groups.is_some();
    if grouped {
        let _ = writeln!(o, "| group | lhs | op | rhs | label | est | se | z | p | std.lv | std.all |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    } else {
        let _ = writeln!(o, "| lhs | op | rhs | label | est | se | z | p | std.lv | std.all |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    }
    for p in &r.parameters {
        let g = if grouped { format!("| {} ", p.group) } else { String::new() };
        let _ = writeln!(
            o,
            "{g}| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.lhs,
            p.op,
            p.rhs,
            p.label,
            fmt_opt(p.est, 3),
            fmt_opt(p.se, 3),
            fmt_opt(p.z, 3),
            fmt_opt(p.pvalue, 3),
            fmt_opt(p.std_lv, 3),
            fmt_opt(p.std_all, 3)
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

//! `sem batch --format markdown`: the hypotheses-by-data-sets matrix and the
//! fit table of `batch_table`, as markdown tables for a paper draft or a CI
//! job summary, followed by failures, failed gates and warnings as lists.

use super::batch::{BatchReport, Status};
use super::batch_table::{cell, cell_decimals, supported_count};
use super::{fmt_opt, Style};
use std::fmt::Write as _;

/// Text that is safe inside a table cell.
fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// With 2 decimals in the matrix and 3 in the fit table.
pub fn render(r: &BatchReport) -> String {
    render_styled(r, Style::default())
}

/// With `--digits` decimals everywhere.
pub fn render_styled(r: &BatchReport, style: Style) -> String {
    let (cd, fd) = (cell_decimals(style), style.d());
    let mut o = String::new();
    let n = r.datasets.len();
    let _ = writeln!(
        o,
        "## sem batch: `{}` on {} data set{} ({} fitted)\n",
        r.model_file,
        n,
        if n == 1 { "" } else { "s" },
        r.n_ok()
    );
    if !r.hypotheses.is_empty() {
        let _ = writeln!(
            o,
            "### Hypotheses\n\nStandardized estimates (std.all); `*` supported (expected sign and p < {}). Data sets `[n]` as in the fit table.\n",
            r.alpha
        );
        let _ = write!(o, "| hypothesis | path | sign |");
        for i in 0..n {
            let _ = write!(o, " [{}] |", i + 1);
        }
        let _ = write!(o, "\n|---|---|---|");
        for _ in 0..n {
            o.push_str("---:|");
        }
        o.push('\n');
        for h in &r.hypotheses {
            let path = if h.op == ":=" {
                format!("{} := {}", h.lhs, h.rhs)
            } else {
                format!("{} {} {}", h.lhs, h.op, h.rhs)
            };
            let _ = write!(o, "| {} | `{}` | {} |", h.name, path, h.expected_sign);
            for d in &r.datasets {
                let _ = write!(o, " {} |", cell(d, &h.name, cd).trim_end().replace('*', "\\*"));
            }
            o.push('\n');
        }
        let _ = write!(o, "| supported | | |");
        for d in &r.datasets {
            let _ = write!(o, " {} |", supported_count(d, r.hypotheses.len()).trim_end());
        }
        o.push('\n');
    }
    let _ = writeln!(o, "\n### Fit\n");
    let _ = writeln!(o, "| | data set | status | N | chisq | df | p | CFI | TLI | RMSEA | SRMR |");
    let _ = writeln!(o, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, d) in r.datasets.iter().enumerate() {
        let f = |k: &str, dec: usize| fmt_opt(d.fit_value(k), dec);
        let _ = writeln!(
            o,
            "| [{}] | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            esc(&d.dataset),
            d.status.describe(),
            d.nobs.as_ref().map_or(String::new(), |v| v.to_string()),
            f("chisq", fd),
            f("df", 0),
            f("pvalue", fd),
            f("cfi", fd),
            f("tli", fd),
            f("rmsea", fd),
            f("srmr", fd)
        );
    }
    if super::batch_table::any_scaled(r) {
        let _ = writeln!(
            o,
            "\n### Scaled test and robust indices\n\nThe fit table above has the standard test.\n"
        );
        let _ = write!(o, "| |");
        for (_, h) in super::batch_table::SCALED {
            let _ = write!(o, " {h} |");
        }
        let _ = write!(o, "\n|---|");
        for _ in super::batch_table::SCALED {
            o.push_str("---:|");
        }
        o.push('\n');
        for (i, d) in r.datasets.iter().enumerate().filter(|(_, d)| d.converged.is_some()) {
            let _ = write!(o, "| [{}] |", i + 1);
            for (k, _) in super::batch_table::SCALED {
                let dec = if k.starts_with("df") { 0 } else { fd };
                let _ = write!(o, " {} |", fmt_opt(d.fit_value(k), dec));
            }
            o.push('\n');
        }
    }
    // --validity / --effects: each data set's tables as `sem fit` writes them,
    // their headings two levels down (under this data set's heading)
    for (i, d) in r.datasets.iter().enumerate() {
        let t = super::quality::Tables::of_dataset(d);
        if t.any() {
            let _ = writeln!(o, "\n### [{}] `{}`", i + 1, esc(&d.dataset));
            let mut section = String::new();
            super::quality::validity_markdown_of(&mut section, &t, fd);
            super::quality::effects_markdown_of(&mut section, &t, fd);
            for line in section.lines() {
                if line.starts_with('#') {
                    o.push_str("##");
                }
                o.push_str(line);
                o.push('\n');
            }
        }
    }
    let failures: Vec<_> = r.datasets.iter().enumerate().filter(|(_, d)| d.status != Status::Ok).collect();
    if !failures.is_empty() {
        let _ = writeln!(o, "\n### Failures\n");
        for (i, d) in failures {
            let _ = writeln!(o, "- [{}] `{}`: {}: {}", i + 1, d.dataset, d.status.describe(), esc(&d.reason()));
        }
    }
    let gated: Vec<_> = r.datasets.iter().enumerate().filter(|(_, d)| !d.gate_failures.is_empty()).collect();
    if !gated.is_empty() {
        let _ = writeln!(o, "\n### Failed gates\n");
        for (i, d) in gated {
            for g in &d.gate_failures {
                let _ = writeln!(o, "- [{}] `{}`: `{}`: {}", i + 1, d.dataset, g.criterion, g.reason);
            }
        }
    }
    let warnings = r.warning_lines();
    if !warnings.is_empty() {
        let _ = writeln!(o, "\n### Warnings\n");
        for (at, w) in warnings {
            let _ = match at {
                Some((i, d)) => writeln!(o, "- [{i}] `{d}`: {w}"),
                None => writeln!(o, "- {w}"),
            };
        }
    }
    o
}

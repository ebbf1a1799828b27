//! Text, markdown and CSV renderers of the two comparison reports, `sem
//! compare` (`CompareReport`) and `sem invariance` (`InvarianceReport`):
//! both are a list of fitted models and the difference tests between them,
//! so both go through one `View` and one renderer per format. With a scaled
//! test (MLM, MLR, ...) the models' table is labelled "standard test" and a
//! second table gives the scaled statistics and robust indices, and each
//! difference test says whether it is the standard or the Satorra-Bentler
//! (2001) scaled one, so a scaled and an unscaled number are never in one
//! unlabelled column. JSON is the serialized report (`crate::compare`).

use super::{fit_table, Style};
use crate::compare::{CompareReport, DiffTest, InvarianceReport, ModelLine, StepModIndices};
use std::fmt::Write as _;

/// What every comparison report shows.
pub struct View<'a> {
    pub title: String,
    /// "model" (compare) or "step" (invariance)
    pub kind: &'static str,
    pub lines: &'a [ModelLine],
    pub tests: &'a [DiffTest],
    pub modindices: Option<&'a [StepModIndices]>,
    pub warnings: &'a [String],
}

impl<'a> View<'a> {
    pub fn of_compare(r: &'a CompareReport) -> View<'a> {
        View {
            title: format!("Chi-square difference test (likelihood ratio), data {}", r.data_file),
            kind: "model",
            lines: &r.models,
            tests: std::slice::from_ref(&r.test),
            modindices: None,
            warnings: &r.warnings,
        }
    }

    pub fn of_invariance(r: &'a InvarianceReport) -> View<'a> {
        View {
            title: format!(
                "Measurement invariance across `{}` ({}), data {}",
                r.group,
                r.groups.join(", "),
                r.data_file
            ),
            kind: "step",
            lines: &r.steps,
            tests: &r.tests,
            modindices: r.modindices.as_deref(),
            warnings: &r.warnings,
        }
    }

    /// Whether the models have a scaled test.
    pub fn scaled(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.chisq_scaled.is_some() || l.chisq_scaling_factor.is_some())
    }

    /// "scaled test (Yuan-Bentler correction (Mplus variant))" or "scaled test".
    fn scaled_title(&self) -> String {
        let name = self.lines.first().and_then(|l| fit_table::correction_name(&l.estimator));
        match name {
            Some(n) => format!("scaled test ({n}) and robust indices"),
            None => "scaled test and robust indices".into(),
        }
    }
}

/// How a difference test was computed, in words.
pub fn method_words(t: &DiffTest) -> &'static str {
    if t.method == "satorra.bentler.2001" {
        "scaled (Satorra-Bentler 2001)"
    } else if t.method == "satorra.2000" {
        "scaled-shifted (Satorra 2000)"
    } else {
        "standard"
    }
}

fn f(v: Option<f64>, d: usize) -> String {
    v.filter(|v| v.is_finite()).map_or("NA".into(), |v| format!("{v:.d$}"))
}

/// A model's standard-test cells, as text and markdown both show them:
/// name, npar, chisq, df, p, CFI, TLI, RMSEA, SRMR, AIC, BIC.
fn standard_cells(l: &ModelLine, d: usize, ic: usize) -> Vec<String> {
    vec![
        l.name.clone(),
        f(l.npar, 0),
        f(l.chisq, d),
        f(l.df, 0),
        f(l.pvalue, d),
        f(l.cfi, d),
        f(l.tli, d),
        f(l.rmsea, d),
        f(l.srmr, d),
        f(l.aic, ic),
        f(l.bic, ic),
    ]
}

/// A model's scaled-test cells: name, scaled chisq, df, scaled p, scaling
/// factor, robust CFI, TLI and RMSEA.
fn scaled_cells(l: &ModelLine, d: usize) -> Vec<String> {
    vec![
        l.name.clone(),
        f(l.chisq_scaled, d),
        // MLMVS's scaled df is fractional
        f(
            l.df_scaled.or(l.df),
            if l.df_scaled.is_some_and(|v| v.fract() != 0.0) { d } else { 0 },
        ),
        f(l.pvalue_scaled, d),
        f(l.chisq_scaling_factor, d),
        f(l.cfi_robust, d),
        f(l.tli_robust, d),
        f(l.rmsea_robust, d),
    ]
}

/// A text table row: the first cell left-aligned, the others right-aligned,
/// each in its width, two spaces in front.
fn text_row(cells: &[String], widths: &[usize]) -> String {
    let mut row = String::from(" ");
    for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if k == 0 {
            let _ = write!(row, " {cell:<w$}");
        } else {
            let _ = write!(row, " {cell:>w$}");
        }
    }
    row
}

/// Modification indices shown per step in text and markdown (JSON has all).
pub const MI_SHOWN: usize = 10;

// ------------------------------------------------------------------ text

pub fn text(v: &View, style: Style) -> String {
    let d = style.d();
    let ic = style.d_or(1);
    let mut o = format!("{}\n\n", v.title);
    let w = v.lines.iter().map(|l| l.name.len()).max().unwrap_or(5).max(5);
    let n = 7.max(d + 5);
    let scaled = v.scaled();
    if scaled {
        let _ = writeln!(o, "Standard test:");
    }
    let _ = writeln!(
        o,
        "  {:<w$} {:>5} {:>c$} {:>4} {:>n$} {:>n$} {:>n$} {:>n$} {:>n$} {:>a$} {:>a$}",
        v.kind,
        "npar",
        "chisq",
        "df",
        "pvalue",
        "cfi",
        "tli",
        "rmsea",
        "srmr",
        "aic",
        "bic",
        c = n + 3,
        a = 10.max(ic + 8)
    );
    for l in v.lines {
        let cells = standard_cells(l, d, ic);
        let widths = [w, 5, n + 3, 4, n, n, n, n, n, 10.max(ic + 8), 10.max(ic + 8)];
        let _ = writeln!(o, "{}", text_row(&cells, &widths));
    }
    if scaled {
        let _ = writeln!(o, "\n{}:", capitalise(&v.scaled_title()));
        let _ = writeln!(
            o,
            "  {:<w$} {:>c$} {:>4} {:>n$} {:>n$} {:>n$} {:>n$} {:>n$}",
            v.kind,
            "chisq.scaled",
            "df",
            "pvalue",
            "scaling",
            "cfi.rob",
            "tli.rob",
            "rmsea.rob",
            c = (n + 3).max(12),
            n = n.max(9)
        );
        for l in v.lines {
            let (c, n) = ((n + 3).max(12), n.max(9));
            let _ = writeln!(o, "{}", text_row(&scaled_cells(l, d), &[w, c, 4, n, n, n, n, n]));
        }
    }
    o.push('\n');
    let tw = v.tests.iter().map(|t| t.to.len() + t.from.len() + 4).max().unwrap_or(0).max(24);
    let _ = writeln!(
        o,
        "  {:<tw$} {:>11} {:>8} {:>n$} {:>n$} {:>n$} {:>8} {:>8} {:>8}  method",
        "test",
        "chisq_diff",
        "df_diff",
        "pvalue",
        "scaling",
        "rmsea",
        "d_cfi",
        "d_rmsea",
        "d_srmr",
        n = n.max(9)
    );
    for t in v.tests {
        let _ = writeln!(
            o,
            "  {:<tw$} {:>11} {:>8} {:>n$} {:>n$} {:>n$} {:>8} {:>8} {:>8}  {}",
            format!("{} vs {}", t.to, t.from),
            f(t.chisq_diff, d),
            f(t.df_diff, 0),
            f(t.pvalue, d.max(4)),
            t.scaling_factor.map_or(String::new(), |s| format!("{s:.d$}")),
            t.rmsea.map_or(String::new(), |s| format!("{s:.d$}")),
            f(t.cfi_diff, d),
            f(t.rmsea_diff, d),
            f(t.srmr_diff, d),
            method_words(t),
            n = n.max(9)
        );
    }
    if let Some(mis) = v.modindices {
        for s in mis {
            let _ = writeln!(
                o,
                "\nModification indices, {} model (largest {} of {}):\n",
                s.step,
                MI_SHOWN.min(s.modindices.len()),
                s.modindices.len()
            );
            let _ = writeln!(
                o,
                "  {:>10} {:>3} {:<10} {:>5} {:>9} {:>8} {:>8} {:>8}",
                "lhs", "op", "rhs", "group", "mi", "epc", "sepc.lv", "sepc.all"
            );
            for m in s.modindices.iter().take(MI_SHOWN) {
                let _ = writeln!(
                    o,
                    "  {:>10} {:>3} {:<10} {:>5} {:>9} {:>8} {:>8} {:>8}",
                    m.lhs,
                    m.op,
                    m.rhs,
                    m.group,
                    f(Some(m.mi), d),
                    f(Some(m.epc), d),
                    f(m.sepc_lv, d),
                    f(m.sepc_all, d)
                );
            }
        }
    }
    for w in v.warnings {
        let _ = writeln!(o, "\nwarning: {w}");
    }
    o
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str())
}

// -------------------------------------------------------------- markdown

pub fn markdown(v: &View, style: Style) -> String {
    let d = style.d();
    let ic = style.d_or(1);
    let mut o = format!("## {}\n\n", v.title);
    let scaled = v.scaled();
    if scaled {
        let _ = writeln!(o, "### Standard test\n");
    }
    let _ = writeln!(o, "| {} | npar | chisq | df | p | CFI | TLI | RMSEA | SRMR | AIC | BIC |", v.kind);
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for l in v.lines {
        let _ = writeln!(o, "| {} |", standard_cells(l, d, ic).join(" | "));
    }
    if scaled {
        let _ = writeln!(o, "\n### {}\n", capitalise(&v.scaled_title()));
        let _ = writeln!(
            o,
            "| {} | chisq (scaled) | df | p (scaled) | scaling factor | robust CFI | robust TLI | robust RMSEA |",
            v.kind
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
        for l in v.lines {
            let _ = writeln!(o, "| {} |", scaled_cells(l, d).join(" | "));
        }
    }
    let _ = writeln!(o, "\n### Difference tests\n");
    let _ = writeln!(
        o,
        "| test | chisq diff | df diff | p | scaling factor | RMSEA | ΔCFI | ΔRMSEA | ΔSRMR | method |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    for t in v.tests {
        let _ = writeln!(
            o,
            "| {} vs {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.to,
            t.from,
            f(t.chisq_diff, d),
            f(t.df_diff, 0),
            f(t.pvalue, d.max(4)),
            t.scaling_factor.map_or(String::new(), |s| format!("{s:.d$}")),
            t.rmsea.map_or(String::new(), |s| format!("{s:.d$}")),
            f(t.cfi_diff, d),
            f(t.rmsea_diff, d),
            f(t.srmr_diff, d),
            method_words(t)
        );
    }
    if let Some(mis) = v.modindices {
        for s in mis {
            let _ = writeln!(
                o,
                "\n### Modification indices, {} model (largest {} of {})\n",
                s.step,
                MI_SHOWN.min(s.modindices.len()),
                s.modindices.len()
            );
            let _ = writeln!(o, "| lhs | op | rhs | group | mi | epc | sepc.lv | sepc.all |");
            let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
            for m in s.modindices.iter().take(MI_SHOWN) {
                let _ = writeln!(
                    o,
                    "| {} | `{}` | {} | {} | {} | {} | {} | {} |",
                    m.lhs,
                    m.op,
                    m.rhs,
                    m.group,
                    f(Some(m.mi), d),
                    f(Some(m.epc), d),
                    f(m.sepc_lv, d),
                    f(m.sepc_all, d)
                );
            }
        }
    }
    if !v.warnings.is_empty() {
        let _ = writeln!(o, "\n### Warnings\n");
        for w in v.warnings {
            let _ = writeln!(o, "- {w}");
        }
    }
    o
}

// ------------------------------------------------------------------- CSV

/// The CSV columns: one row per model (step), with the difference test of
/// that model against the one it is compared with on the same row.
pub const CSV_COLUMNS: &[&str] = &[
    "kind",
    "name",
    "converged",
    "npar",
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "srmr",
    "aic",
    "bic",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "tested_against",
    "chisq_diff",
    "df_diff",
    "pvalue_diff",
    "diff_method",
    "diff_scaling_factor",
    "rmsea_diff",
    "delta_cfi",
    "delta_rmsea",
    "delta_srmr",
];

pub fn csv(v: &View, style: Style) -> String {
    let c = |x: Option<f64>| super::csv_out::cell_digits(x, style.digits);
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_COLUMNS);
    for l in v.lines {
        let t = v.tests.iter().find(|t| t.to == l.name);
        let mut rec = vec![
            v.kind.to_string(),
            l.name.clone(),
            l.converged.to_string(),
            c(l.npar),
            c(l.chisq),
            c(l.df),
            c(l.pvalue),
            c(l.cfi),
            c(l.tli),
            c(l.rmsea),
            c(l.srmr),
            c(l.aic),
            c(l.bic),
            c(l.chisq_scaled),
            c(l.df_scaled),
            c(l.pvalue_scaled),
            c(l.chisq_scaling_factor),
            c(l.cfi_robust),
            c(l.tli_robust),
            c(l.rmsea_robust),
        ];
        match t {
            Some(t) => rec.extend([
                t.from.clone(),
                c(t.chisq_diff),
                c(t.df_diff),
                c(t.pvalue),
                t.method.clone(),
                c(t.scaling_factor),
                c(t.rmsea),
                c(t.cfi_diff),
                c(t.rmsea_diff),
                c(t.srmr_diff),
            ]),
            None => rec.extend(std::iter::repeat_n(String::new(), 10)),
        }
        let _ = w.write_record(&rec);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

//! The report of `sem check`: lavaan's parameter table (`parTable()`
//! columns), the effective number of parameters, the variables by role and,
//! when a data file is given, the degrees of freedom and the columns used;
//! rendered as text or markdown here, as JSON and CSV (the parameter table)
//! by the command.

use super::HypothesisSpec;
use crate::model::ParRow;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct Variables {
    pub latent: Vec<String>,
    pub observed: Vec<String>,
    /// exogenous covariates whose variances and covariances are fixed at the sample values
    pub fixed_x: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub model_file: String,
    /// effective free parameters (free rows less equality constraints), as fitMeasures()
    pub npar: usize,
    /// free rows, as lavInspect(fit, "npar")
    pub nfree: usize,
    /// sample moments the model reproduces (lavaan's ndat)
    pub ndat: usize,
    pub df: i64,
    pub meanstructure: bool,
    pub variables: Variables,
    pub parameters: Vec<ParRow>,
    /// the hypotheses (H-named or listed labelled `~` paths and `:=` definitions), with their expected signs
    pub hypotheses: Vec<HypothesisSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns_used: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nobs: Option<usize>,
    /// with DATA: a description of each model variable (`data::describe`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describe: Option<Vec<crate::data::describe::VariableSummary>>,
    pub warnings: Vec<String>,
}

/// A number of the description, or `NA`.
fn num(v: Option<f64>) -> String {
    v.map_or("NA".into(), |v| format!("{v:.3}"))
}

/// The categories of a variable: `1: 146, 2: 155`.
fn categories(s: &crate::data::describe::VariableSummary) -> String {
    s.categories
        .as_ref()
        .map(|c| c.iter().map(|(v, n)| format!("{v}: {n}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

pub fn render_text(r: &CheckReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Model {}: parsed, {} parameter-table rows\n", r.model_file, r.parameters.len());
    let _ = writeln!(
        o,
        "  {:>3} {:>10} {:>3} {:<10} {:>4} {:>5} {:>4} {:>7} {:>3} {:<8} {:<7}",
        "id", "lhs", "op", "rhs", "user", "group", "free", "ustart", "exo", "label", "plabel"
    );
    for p in &r.parameters {
        let ustart = p.ustart.map_or("NA".to_string(), |v| format!("{v}"));
        let _ = writeln!(
            o,
            "  {:>3} {:>10} {:>3} {:<10} {:>4} {:>5} {:>4} {:>7} {:>3} {:<8} {:<7}",
            p.id, p.lhs, p.op, p.rhs, p.user, p.group, p.free, ustart, p.exo, p.label, p.plabel
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  latent variables:    {}",
        if r.variables.latent.is_empty() {
            "(none)".into()
        } else {
            r.variables.latent.join(", ")
        }
    );
    let _ = writeln!(o, "  observed variables:  {}", r.variables.observed.join(", "));
    if !r.variables.fixed_x.is_empty() {
        let _ = writeln!(o, "  fixed.x covariates:  {}", r.variables.fixed_x.join(", "));
    }
    let _ = writeln!(o, "  free parameters:     {} ({} free rows)", r.npar, r.nfree);
    let _ = writeln!(o, "  sample moments:      {}", r.ndat);
    let _ = writeln!(o, "  degrees of freedom:  {}", r.df);
    if !r.hypotheses.is_empty() {
        let hs: Vec<String> = r
            .hypotheses
            .iter()
            .map(|h| format!("{} ({} {} {}, {})", h.name, h.lhs, h.op, h.rhs, h.expected_sign))
            .collect();
        let _ = writeln!(o, "  hypotheses:          {}", hs.join(", "));
    }
    if let (Some(f), Some(cols)) = (&r.data_file, &r.columns_used) {
        let _ = writeln!(o, "  data:                {} ({} rows)", f, r.nobs.unwrap_or(0));
        let _ = writeln!(o, "  columns used:        {}", cols.join(", "));
    }
    if let Some(d) = &r.describe {
        let w = d.iter().map(|s| s.name.len()).max().unwrap_or(8).max(8);
        let _ = writeln!(
            o,
            "\n  {:<w$} {:<11} {:>6} {:>7} {:>9} {:>9} {:>9} {:>9}  categories",
            "variable", "type", "n", "missing", "mean", "sd", "min", "max"
        );
        for s in d {
            let _ = writeln!(
                o,
                "{}",
                format!(
                    "  {:<w$} {:<11} {:>6} {:>7} {:>9} {:>9} {:>9} {:>9}  {}",
                    s.name,
                    s.kind,
                    s.n,
                    s.missing,
                    num(s.mean),
                    num(s.sd),
                    num(s.min),
                    num(s.max),
                    categories(s)
                )
                .trim_end()
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// `sem check --format markdown`: the summary as a list, the hypotheses and
/// the parameter table as markdown tables.
pub fn render_markdown(r: &CheckReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## Model `{}`\n", r.model_file);
    let none = |v: &[String]| if v.is_empty() { "(none)".to_string() } else { v.join(", ") };
    let _ = writeln!(o, "- latent variables: {}", none(&r.variables.latent));
    let _ = writeln!(o, "- observed variables: {}", none(&r.variables.observed));
    if !r.variables.fixed_x.is_empty() {
        let _ = writeln!(o, "- fixed.x covariates: {}", r.variables.fixed_x.join(", "));
    }
    let _ = writeln!(o, "- free parameters: {} ({} free rows)", r.npar, r.nfree);
    let _ = writeln!(o, "- sample moments: {}", r.ndat);
    let _ = writeln!(o, "- degrees of freedom: {}", r.df);
    if let (Some(f), Some(cols)) = (&r.data_file, &r.columns_used) {
        let _ = writeln!(
            o,
            "- data: `{}` ({} rows), columns used: {}",
            f,
            r.nobs.unwrap_or(0),
            cols.join(", ")
        );
    }
    if let Some(d) = &r.describe {
        let _ = writeln!(o, "\n## Variables\n");
        let _ = writeln!(o, "| variable | type | n | missing | mean | sd | min | max | categories |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
        for s in d {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.name,
                s.kind,
                s.n,
                s.missing,
                num(s.mean),
                num(s.sd),
                num(s.min),
                num(s.max),
                categories(s)
            );
        }
    }
    if !r.hypotheses.is_empty() {
        let _ = writeln!(o, "\n## Hypotheses\n");
        let _ = writeln!(o, "| hypothesis | path | sign |");
        let _ = writeln!(o, "|---|---|---|");
        for h in &r.hypotheses {
            let _ = writeln!(o, "| {} | `{} {} {}` | {} |", h.name, h.lhs, h.op, h.rhs, h.expected_sign);
        }
    }
    let _ = writeln!(o, "\n## Parameter table\n");
    let _ = writeln!(o, "| id | lhs | op | rhs | user | group | free | ustart | exo | label | plabel |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for p in &r.parameters {
        let ustart = p.ustart.map_or("NA".to_string(), |v| format!("{v}"));
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id, p.lhs, p.op, p.rhs, p.user, p.group, p.free, ustart, p.exo, p.label, p.plabel
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

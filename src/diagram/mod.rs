//! Path diagrams: the picture every SEM paper shows before its tables. This
//! module turns a report (a fitted `FitReport`, or the `CheckReport` of a
//! model without data) into a `Diagram`: per group a panel of nodes (latent
//! variables as ellipses, observed ones as rectangles, R² inside endogenous
//! ones) and edges (loadings, regressions with their hypothesis labels and
//! stars, covariances, optional residual variances), every label already
//! formatted. `layout` places it (a pure function with geometry that tests
//! can check), `svg` and `dot` write it. Nothing here touches the estimates'
//! algebra: it reads the report and nothing else, so the picture shows the
//! same numbers as the tables.

pub mod command;
pub mod dot;
pub mod layout;
pub mod svg;

use crate::report::check::CheckReport;
use crate::report::{FitReport, HypothesisSpec};
use serde_json::Value;

/// Which value goes on a path: the standardized solution (`std.all`,
/// the paper convention) or the raw estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Std,
    Est,
}

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub values: Values,
    /// leave the indicators (and their loadings and covariances) out
    pub structural: bool,
    /// draw (residual) variances as small circles pointing into their variable
    pub residuals: bool,
    /// only this group (1-based); all groups as panels otherwise
    pub group_index: Option<usize>,
    /// decimals of the values (2, a paper's, unless `--digits`)
    pub digits: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            values: Values::Std,
            structural: false,
            residuals: false,
            group_index: None,
            digits: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// a latent variable: an ellipse
    Latent,
    /// an observed variable: a rectangle
    Observed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub shape: Shape,
    /// "R² = .45" inside the node, when the variable is endogenous and fitted
    pub r2: Option<String>,
    /// the home factor of an indicator (index into the panel's nodes); None for
    /// a variable of the structural part
    pub factor: Option<usize>,
    /// the (residual) variance drawn beside the node (with `--residuals`)
    pub variance: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// factor -> indicator (`=~`)
    Loading,
    /// predictor -> outcome (`~`)
    Regression,
    /// a two-headed curved arrow (`~~` between two variables)
    Covariance,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// tail (predictor, factor); for a covariance the first variable
    pub from: usize,
    /// head (outcome, indicator); for a covariance the second variable
    pub to: usize,
    pub kind: EdgeKind,
    /// what is written on the arrow (`H3: .17**`, `.81***`, `a`), maybe empty
    pub label: String,
    /// an unsupported hypothesis
    pub dashed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// the group's name with several groups
    pub title: Option<String>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Everything a renderer needs: the panels and the lines of the note under them.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub panels: Vec<Panel>,
    pub notes: Vec<String>,
}

/// One row of a parameter table as the diagram needs it.
struct Row<'a> {
    lhs: &'a str,
    op: &'a str,
    rhs: &'a str,
    group: usize,
    label: &'a str,
    /// the value to print (std.all or est, or the fixed value without data)
    value: Option<f64>,
    pvalue: Option<f64>,
}

/// A hypothesis as the diagram needs it: where it sits and whether a fit supports it.
struct Hyp<'a> {
    name: &'a str,
    lhs: &'a str,
    op: &'a str,
    rhs: &'a str,
    /// None without data
    supported: Option<bool>,
    text: Option<String>,
}

/// `*`, `**`, `***` for p below .05, .01, .001.
pub fn stars(p: Option<f64>) -> &'static str {
    match p {
        Some(p) if p < 0.001 => "***",
        Some(p) if p < 0.01 => "**",
        Some(p) if p < 0.05 => "*",
        _ => "",
    }
}

/// A number in APA style (`crate::report::apa`): no leading zero when bounded by 1.
pub fn apa(v: f64, digits: usize, bounded: bool) -> String {
    crate::report::apa::number(v, digits, bounded)
}

/// A p-value in APA style: `< .001`, else `= .034` without the leading zero.
pub fn apa_p(p: f64, digits: usize) -> String {
    let d = digits.max(3);
    if p < 0.001 {
        "< .001".to_string()
    } else {
        format!("= {}", apa(p, d, true))
    }
}

impl Diagram {
    /// The diagram of a fitted model: values, stars, R², hypotheses decided.
    pub fn from_fit(r: &FitReport, opt: &Options) -> Diagram {
        let rows: Vec<Row> = r
            .parameters
            .iter()
            .map(|p| Row {
                lhs: &p.lhs,
                op: &p.op,
                rhs: &p.rhs,
                group: p.group,
                label: &p.label,
                value: match opt.values {
                    Values::Std => p.std_all,
                    Values::Est => p.est,
                },
                pvalue: if p.free { p.pvalue } else { None },
            })
            .collect();
        let hyps: Vec<Hyp> = r
            .hypotheses
            .iter()
            .map(|h| Hyp {
                name: &h.name,
                lhs: &h.lhs,
                op: &h.op,
                rhs: &h.rhs,
                supported: Some(h.supported),
                text: {
                    let v = match opt.values {
                        Values::Std => h.std_all,
                        Values::Est => h.est,
                    };
                    v.map(|v| format!("{}{}", apa(v, opt.digits, opt.values == Values::Std), stars(h.pvalue)))
                },
            })
            .collect();
        let groups: Vec<String> = r.groups.clone().unwrap_or_default();
        let r2 = |g: usize, name: &str| -> Option<f64> {
            let map = if groups.is_empty() {
                r.r2.as_object()
            } else {
                r.r2.get(groups.get(g - 1)?).and_then(Value::as_object)
            };
            map?.get(name)?.as_f64()
        };
        let mut d = build(&rows, &hyps, &groups, opt, &r2, true);
        let what = match opt.values {
            Values::Std => "Standardized estimates (std.all)",
            Values::Est => "Unstandardized estimates",
        };
        let mut note = format!("{what}; * p < .05, ** p < .01, *** p < .001");
        if !r.hypotheses.is_empty() {
            note.push_str("; dashed: hypothesis not supported");
        }
        note.push('.');
        d.notes.insert(0, note);
        d.notes.insert(1, fit_line(r, opt.digits));
        d
    }

    /// The diagram of a model without data: its structure, hypothesis and
    /// parameter labels on the arrows, fixed values where the model fixes them.
    pub fn from_check(r: &CheckReport, opt: &Options) -> Diagram {
        let rows: Vec<Row> = r
            .parameters
            .iter()
            .map(|p| Row {
                lhs: &p.lhs,
                op: &p.op,
                rhs: &p.rhs,
                group: p.group,
                label: &p.label,
                value: if p.free > 0 { None } else { p.ustart },
                pvalue: None,
            })
            .collect();
        let hyps: Vec<Hyp> = r.hypotheses.iter().map(spec_hyp).collect();
        let mut d = build(&rows, &hyps, &[], opt, &|_, _| None, false);
        d.notes
            .insert(0, "Model structure (no data): hypotheses and labels on their paths.".into());
        d
    }
}

fn spec_hyp(h: &HypothesisSpec) -> Hyp<'_> {
    Hyp {
        name: &h.name,
        lhs: &h.lhs,
        op: &h.op,
        rhs: &h.rhs,
        supported: None,
        text: None,
    }
}

/// `χ²(24) = 85.31, p < .001; CFI = .93; TLI = .90; RMSEA = .09 [.07, .11]; SRMR = .07`
/// (the scaled test and robust indices when the estimator has them).
fn fit_line(r: &FitReport, digits: usize) -> String {
    let scaled = r.fit_value("chisq_scaled").is_some();
    let key = |k: &str, sfx: &str| -> Option<f64> {
        if scaled {
            r.fit_value(&format!("{k}{sfx}")).or_else(|| r.fit_value(k))
        } else {
            r.fit_value(k)
        }
    };
    let mut parts = vec![];
    if let (Some(c), Some(df)) = (key("chisq", "_scaled"), key("df", "_scaled")) {
        let mut s = format!("χ²({}) = {c:.digits$}", apa(df, if df.fract() == 0.0 { 0 } else { digits }, false));
        if let Some(p) = key("pvalue", "_scaled") {
            s.push_str(&format!(", p {}", apa_p(p, digits)));
        }
        parts.push(s);
    }
    for (name, k) in [("CFI", "cfi"), ("TLI", "tli")] {
        if let Some(v) = key(k, "_robust") {
            parts.push(format!("{name} = {}", apa(v, digits, true)));
        }
    }
    if let Some(v) = key("rmsea", "_robust") {
        let mut s = format!("RMSEA = {}", apa(v, digits, true));
        if let (Some(lo), Some(hi)) = (key("rmsea_ci_lower", "_robust"), key("rmsea_ci_upper", "_robust")) {
            s.push_str(&format!(" [{}, {}]", apa(lo, digits, true), apa(hi, digits, true)));
        }
        parts.push(s);
    }
    if let Some(v) = r.fit_value("srmr") {
        parts.push(format!("SRMR = {}", apa(v, digits, true)));
    }
    let n = match &r.nobs {
        Value::Array(a) => a.iter().filter_map(Value::as_u64).sum::<u64>(),
        v => v.as_u64().unwrap_or(0),
    };
    let mut s = format!("N = {n}");
    if !parts.is_empty() {
        s.push_str("; ");
        s.push_str(&parts.join("; "));
    }
    if scaled {
        s.push_str(&format!(" ({} scaled test, robust indices)", r.estimator));
    }
    s
}

/// The panels from the rows: one per group (or only `opt.group_index`).
fn build(rows: &[Row], hyps: &[Hyp], groups: &[String], opt: &Options, r2: &dyn Fn(usize, &str) -> Option<f64>, fitted: bool) -> Diagram {
    let ngroups = rows.iter().map(|r| r.group).max().unwrap_or(1).max(1);
    let wanted: Vec<usize> = match opt.group_index {
        Some(k) => vec![k],
        None => (1..=ngroups).collect(),
    };
    let mut panels = vec![];
    for g in wanted {
        let grows: Vec<&Row> = rows.iter().filter(|r| r.group == g || r.op == ":=").collect();
        let mut p = panel(&grows, hyps, opt, &|n| r2(g, n), fitted);
        if ngroups > 1 {
            p.title = Some(match groups.get(g - 1) {
                Some(name) => format!("Group {g}: {name}"),
                None => format!("Group {g}"),
            });
        }
        panels.push(p);
    }
    // defined hypotheses (`H5 := a*b`) have no arrow: they are named under the picture
    let mut notes = vec![];
    let defined: Vec<String> = hyps
        .iter()
        .filter(|h| h.op == ":=")
        .map(|h| {
            let mut s = if h.lhs == h.name {
                format!("{} := {}", h.name, h.rhs)
            } else {
                format!("{}: {} := {}", h.name, h.lhs, h.rhs)
            };
            if let Some(t) = &h.text {
                s.push_str(&format!(" = {t}"));
            }
            if h.supported == Some(false) {
                s.push_str(" (not supported)");
            }
            s
        })
        .collect();
    if !defined.is_empty() {
        notes.push(format!("Defined: {}", defined.join("; ")));
    }
    Diagram { panels, notes }
}

fn is_hyp_row(h: &Hyp, r: &Row) -> bool {
    h.op == r.op && h.lhs == r.lhs && h.rhs == r.rhs && (r.label == h.name || h.op == ":=")
}

/// The value on a path: APA number and stars (bounded by 1 when standardized).
fn value_text(r: &Row, opt: &Options, fitted: bool) -> String {
    match r.value {
        Some(v) if fitted => format!("{}{}", apa(v, opt.digits, opt.values == Values::Std), stars(r.pvalue)),
        Some(v) => apa(v, opt.digits.max(2), false)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
        None => String::new(),
    }
}

fn panel(rows: &[&Row], hyps: &[Hyp], opt: &Options, r2: &dyn Fn(&str) -> Option<f64>, fitted: bool) -> Panel {
    // latent variables: the left-hand sides of =~ (and of <~)
    let mut latent: Vec<&str> = vec![];
    for r in rows.iter().filter(|r| r.op == "=~" || r.op == "<~") {
        if !latent.contains(&r.lhs) {
            latent.push(r.lhs);
        }
    }
    let in_structure = |v: &str| rows.iter().any(|r| r.op == "~" && (r.lhs == v || r.rhs == v));
    // an observed variable measured by a factor and in no regression is an indicator
    let home = |v: &str| -> Option<&str> {
        if latent.contains(&v) || in_structure(v) {
            return None;
        }
        rows.iter().find(|r| r.op == "=~" && r.rhs == v).map(|r| r.lhs)
    };
    let mut order: Vec<&str> = vec![];
    for r in rows.iter().filter(|r| matches!(r.op, "=~" | "<~" | "~" | "~~")) {
        for v in [r.lhs, r.rhs] {
            if !v.is_empty() && !order.contains(&v) {
                order.push(v);
            }
        }
    }
    // structural variables first (in order of appearance), then indicators
    let keep: Vec<&str> = order.iter().copied().filter(|v| !(opt.structural && home(v).is_some())).collect();
    let mut names: Vec<&str> = keep.iter().copied().filter(|v| home(v).is_none()).collect();
    names.extend(keep.iter().copied().filter(|v| home(v).is_some()));
    let idx = |v: &str| names.iter().position(|n| *n == v);
    let mut nodes: Vec<Node> = names
        .iter()
        .map(|&v| Node {
            name: v.to_string(),
            shape: if latent.contains(&v) { Shape::Latent } else { Shape::Observed },
            r2: if fitted && home(v).is_none() {
                r2(v).map(|x| format!("R² = {}", apa(x, opt.digits, true)))
            } else {
                None
            },
            factor: home(v).and_then(idx),
            variance: None,
        })
        .collect();
    let mut edges = vec![];
    for r in rows {
        let (Some(a), Some(b)) = (idx(r.lhs), idx(r.rhs)) else { continue };
        let hyp = hyps.iter().find(|h| is_hyp_row(h, r));
        let value = value_text(r, opt, fitted);
        let label = match hyp {
            Some(h) if value.is_empty() => h.name.to_string(),
            Some(h) => format!("{}: {value}", h.name),
            None if !fitted && !r.label.is_empty() => r.label.to_string(),
            None => value.clone(),
        };
        let dashed = hyp.and_then(|h| h.supported) == Some(false);
        match r.op {
            "=~" => edges.push(Edge {
                from: a,
                to: b,
                kind: EdgeKind::Loading,
                label,
                dashed,
            }),
            "<~" => edges.push(Edge {
                from: b,
                to: a,
                kind: EdgeKind::Regression,
                label,
                dashed,
            }),
            "~" => edges.push(Edge {
                from: b,
                to: a,
                kind: EdgeKind::Regression,
                label,
                dashed,
            }),
            "~~" if a != b => edges.push(Edge {
                from: a,
                to: b,
                kind: EdgeKind::Covariance,
                label,
                dashed,
            }),
            "~~" if opt.residuals && r.value.is_some() => {
                let v = r.value.unwrap_or_default();
                nodes[a].variance = Some(if fitted {
                    apa(v, opt.digits, opt.values == Values::Std)
                } else {
                    value
                })
            }
            _ => {}
        }
    }
    Panel { title: None, nodes, edges }
}

/// Escape text for XML and HTML (element content and attribute values).
pub fn escape_xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // characters XML 1.0 does not allow
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apa_numbers() {
        assert_eq!(apa_p(0.0004, 3), "< .001");
        assert_eq!(apa_p(0.0341, 3), "= .034");
        assert_eq!(stars(Some(0.0004)), "***");
        assert_eq!(stars(Some(0.004)), "**");
        assert_eq!(stars(Some(0.04)), "*");
        assert_eq!(stars(Some(0.05)), "");
        assert_eq!(stars(None), "");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape_xml("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }
}

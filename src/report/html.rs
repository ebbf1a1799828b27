//! HTML: one self-contained page a researcher opens, reads and pastes from
//! (`sem fit ... --format html`). It is another renderer of the same
//! `FitReport`: the path diagram (the SVG renderer's output, inline), the fit
//! table (with the scaled and robust columns when the estimator has them),
//! the hypotheses, the validity and effects tables when they were asked for,
//! the parameter table, R², the modification indices and residuals when asked
//! for, and the warnings, with the text report's numbers and
//! decimals. Tables follow APA style: p as `< .001`, no leading zero for
//! values bounded by 1 (p, R², standardized values, CFI, RMSEA, reliability),
//! fixed parameters without SE, z and p. The page loads nothing (CSS and SVG
//! inline, no script, no URL; a Content-Security-Policy forbids every load),
//! so it opens offline and in a mail attachment.
//! Every name or value that comes from the model or the data is escaped.
//! `markdown_page` turns the markdown of `batch` and `invariance` into the
//! same kind of page, so those reports have one too.

use super::{apa, fit_table, FitReport, Style};
use crate::diagram::{apa, escape_xml as esc, svg, Diagram, Options};
use std::fmt::Write as _;

const CSS: &str = "body{font-family:\"DejaVu Sans\",Arial,Helvetica,sans-serif;color:#000;background:#fff;margin:2em auto;max-width:72em;padding:0 1em;line-height:1.4}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}h3{font-size:1.05em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}\
caption{text-align:left;font-style:italic;padding-bottom:.4em}\
thead th{border-top:2px solid #000;border-bottom:1px solid #000}\
tbody tr:last-child td{border-bottom:2px solid #000}\
th,td{padding:.2em .7em;text-align:right;vertical-align:top}\
th:first-child,td:first-child,td.l,th.l{text-align:left}\
tr.section td{text-align:left;font-weight:bold;padding-top:.7em}\
figure{margin:1em 0}figcaption{font-style:italic;margin-top:.4em}\
svg.sem-diagram{max-width:100%;height:auto;border:1px solid #ddd}\
.meta{color:#333}.note{font-size:.9em}code{font-size:.95em}";

/// A complete page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// A p-value in APA style (`apa::p`), escaped for HTML.
pub fn p_cell(p: Option<f64>, d: usize) -> String {
    esc(&apa::p(p, d))
}

/// A number; `bounded` drops the leading zero (APA).
pub fn num(v: Option<f64>, d: usize, bounded: bool) -> String {
    apa::cell(v, d, bounded)
}

/// The headers of the columns that hold names and words.
const TEXT_COLUMNS: &[&str] = &[
    "path",
    "label",
    "decision",
    "expected",
    "test",
    "variable",
    "group",
    "Fornell–Larcker",
    "status",
    "data set",
    "method",
    "step",
];

/// A row; cells that are not numbers are aligned left.
fn cells(o: &mut String, tag: &str, cs: &[String]) {
    o.push_str("<tr>");
    for (k, c) in cs.iter().enumerate() {
        let numeric =
            c.is_empty() || c.starts_with(|ch: char| ch.is_ascii_digit() || "-.[".contains(ch)) || c.starts_with("&lt; .") || c == "NA";
        // a header is aligned as its column: left over names, right over numbers
        let left = if tag == "th" {
            TEXT_COLUMNS.contains(&c.as_str())
        } else {
            !numeric
        };
        if k > 0 && left {
            let _ = write!(o, "<{tag} class=\"l\">{c}</{tag}>");
        } else {
            let _ = write!(o, "<{tag}>{c}</{tag}>");
        }
    }
    o.push_str("</tr>\n");
}

fn table_head(o: &mut String, caption: &str, head: &[&str]) {
    let _ = writeln!(o, "<table>\n<caption>{caption}</caption>\n<thead>");
    cells(o, "th", &head.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    o.push_str("</thead>\n<tbody>\n");
}

/// The fit report as a page.
pub fn render(r: &FitReport, style: Style) -> String {
    let d = style.d();
    let mut o = String::new();
    let _ = writeln!(o, "<h1>{} fitted to {}</h1>", esc(&r.model_file), esc(&r.data_file));
    let groups = r.groups.clone().unwrap_or_default();
    let nobs = match &r.nobs {
        serde_json::Value::Array(a) => a
            .iter()
            .zip(groups.iter())
            .map(|(n, g)| format!("{} {}", esc(g), n))
            .collect::<Vec<_>>()
            .join(", "),
        v => v.to_string(),
    };
    let _ = writeln!(
        o,
        "<p class=\"meta\">Estimator {}; N = {}; {} after {} iterations; standard errors: {}; sem {}.</p>",
        esc(&r.estimator),
        nobs,
        if r.converged { "converged" } else { "did not converge" },
        r.iterations,
        match &r.information {
            Some(i) => format!("{} ({} information)", esc(&r.se_type), esc(&i.to_lowercase())),
            None => esc(&r.se_type),
        },
        esc(&r.sem_version)
    );
    let mut table_no = 0;
    let mut caption = |what: &str| {
        table_no += 1;
        format!("Table {table_no}. {what}")
    };
    // the diagram
    let diagram = Diagram::from_fit(r, &Options::default());
    let _ = writeln!(
        o,
        "<figure>\n{}<figcaption>Figure 1. Path diagram with the standardized estimates.</figcaption>\n</figure>",
        svg::render_inline(&diagram, "fig1")
    );
    // fit
    let scaled = fit_table::is_scaled(r);
    let _ = writeln!(o, "<h2>Model fit</h2>");
    let f = |k: &str| r.fit_value(k);
    let mut head = vec![];
    if scaled {
        head.push("test");
    }
    head.extend(["N", "npar", "χ²", "df", "p", "CFI", "TLI", "RMSEA", "90% CI", "SRMR", "AIC", "BIC"]);
    table_head(&mut o, &caption("Fit of the model"), &head);
    let ic = style.d_or(1);
    let row = |o: &mut String, test: &str, sfx: &str| {
        let key = |k: &str| format!("{k}{sfx}");
        let df = if r.fit.contains_key(&key("df")) { key("df") } else { "df".into() };
        let chisq_key = if sfx == "_robust" {
            "chisq_scaled".to_string()
        } else {
            key("chisq")
        };
        let pkey = if sfx == "_robust" {
            "pvalue_scaled".to_string()
        } else {
            key("pvalue")
        };
        let mut cs = vec![];
        if scaled {
            cs.push(test.to_string());
        }
        cs.extend([
            esc(&match &r.nobs {
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_u64()).sum::<u64>().to_string(),
                v => v.to_string(),
            }),
            num(f("npar"), 0, false),
            num(f(&chisq_key), d, false),
            f(&df).map_or(String::new(), |v| {
                if v.fract() == 0.0 {
                    format!("{}", v as i64)
                } else {
                    format!("{v:.d$}")
                }
            }),
            p_cell(f(&pkey), d),
            num(f(&key("cfi")), d, true),
            num(f(&key("tli")), d, true),
            num(f(&key("rmsea")), d, true),
            match (f(&key("rmsea_ci_lower")), f(&key("rmsea_ci_upper"))) {
                (Some(a), Some(b)) => format!("[{}, {}]", apa(a, d, true), apa(b, d, true)),
                _ => String::new(),
            },
            num(f("srmr"), d, true),
            num(f("aic"), ic, false),
            num(f("bic"), ic, false),
        ]);
        cells(o, "td", &cs);
    };
    row(&mut o, "standard", "");
    if scaled {
        row(&mut o, "scaled", "_scaled");
        if r.fit.contains_key("cfi_robust") || r.fit.contains_key("rmsea_robust") {
            row(&mut o, "robust", "_robust");
        }
    }
    o.push_str("</tbody>\n</table>\n");
    fit_sections(&mut o, r, d, &caption("Fit measures (lavaan's summary)"));
    // hypotheses
    if !r.hypotheses.is_empty() {
        let _ = writeln!(o, "<h2>Hypotheses</h2>");
        let ci = fit_table::shows_intervals(r);
        let mut head = vec!["hypothesis", "path", "expected", "b", "SE", "z", "p"];
        let level = format!("{}% CI", (r.ci_level * 100.0).round());
        if ci {
            head.push(&level);
        }
        head.extend(["β", "decision"]);
        table_head(
            &mut o,
            &caption(&format!("Hypotheses (α = {})", apa(r.alpha, 3, true).trim_end_matches('0'))),
            &head,
        );
        for h in &r.hypotheses {
            let mut cs = vec![
                esc(&h.name),
                format!("{} {} {}", esc(&h.lhs), esc(&h.op), esc(&h.rhs)),
                esc(&h.expected_sign),
                num(h.est, d, false),
                num(h.se, d, false),
                num(h.z, d, false),
                p_cell(h.pvalue, d),
            ];
            if ci {
                let p = r
                    .parameters
                    .iter()
                    .find(|p| p.lhs == h.lhs && p.op == h.op && p.rhs == h.rhs && (p.op == ":=" || p.label == h.name));
                cs.push(interval(p.and_then(|p| p.ci_lower), p.and_then(|p| p.ci_upper), d, false));
            }
            cs.push(num(h.std_all, d, true));
            cs.push(crate::hypotheses::decision(h.supported, h.est, h.pvalue).to_string());
            cells(&mut o, "td", &cs);
        }
        o.push_str("</tbody>\n</table>\n");
    }
    validity(&mut o, r, d, &mut caption);
    effects(&mut o, r, d, &mut caption);
    parameters(&mut o, r, d, &caption("Parameter estimates"));
    r_square(&mut o, r, d, &caption("R² of the endogenous variables"));
    modindices(&mut o, r, d, &mut caption);
    residuals(&mut o, r, d, &mut caption);
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "<h2>Warnings</h2>\n<ul>");
        for w in &r.warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul>\n");
    }
    page(&format!("sem: {} on {}", r.model_file, r.data_file), &o)
}

fn interval(lo: Option<f64>, hi: Option<f64>, d: usize, bounded: bool) -> String {
    match (lo, hi) {
        (Some(a), Some(b)) => format!("[{}, {}]", num(Some(a), d, bounded), num(Some(b), d, bounded)),
        _ => String::new(),
    }
}

/// lavaan's fit sections with their Standard (and Scaled) columns.
fn fit_sections(o: &mut String, r: &FitReport, d: usize, caption: &str) {
    let t = fit_table::fit_table(r);
    let head: &[&str] = if t.scaled {
        &["measure", "Standard", "Scaled"]
    } else {
        &["measure", "value"]
    };
    table_head(o, caption, head);
    for sec in &t.sections {
        let _ = writeln!(
            o,
            "<tr class=\"section\"><td colspan=\"{}\">{}</td></tr>",
            head.len(),
            esc(sec.title)
        );
        for row in sec.rows.iter().filter(|r| !r.is_spacer()) {
            let label = row.label.trim();
            let show = |c: fit_table::Cell| esc(&apa::fit_measure(label, c, d));
            let mut cs = vec![esc(label), show(row.standard)];
            if t.scaled {
                cs.push(show(row.scaled));
            }
            cells(o, "td", &cs);
        }
    }
    o.push_str("</tbody>\n</table>\n");
}

fn validity(o: &mut String, r: &FitReport, d: usize, caption: &mut dyn FnMut(&str) -> String) {
    let Some(v) = &r.validity else { return };
    let _ = writeln!(o, "<h2>Measurement quality</h2>");
    if v.factors.is_empty() {
        let _ = writeln!(
            o,
            "<p>No factor with observed indicators: reliability and validity are not defined (see the warnings).</p>"
        );
        return;
    }
    let mut gs: Vec<usize> = v.factors.iter().map(|f| f.group).collect();
    gs.dedup();
    for g in gs {
        let gname = group_name(r, g);
        table_head(
            o,
            &caption(&format!("Reliability and convergent validity{gname}")),
            &["factor", "items", "α", "ω", "AVE", "√AVE", "max r²", "Fornell–Larcker"],
        );
        for f in v.factors.iter().filter(|f| f.group == g) {
            cells(
                o,
                "td",
                &[
                    esc(&f.factor),
                    f.indicators.to_string(),
                    num(f.alpha, d, true),
                    num(f.omega, d, true),
                    num(f.ave, d, true),
                    num(f.sqrt_ave, d, true),
                    num(f.max_squared_correlation, d, true),
                    match f.fornell_larcker {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => String::new(),
                    },
                ],
            );
        }
        o.push_str("</tbody>\n</table>\n");
        let mut names: Vec<&str> = vec![];
        for p in v.htmt.iter().filter(|p| p.group == g) {
            for n in [p.a.as_str(), p.b.as_str()] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        if names.len() > 1 {
            let mut head = vec!["HTMT"];
            head.extend(names[..names.len() - 1].iter().copied());
            let head_esc: Vec<String> = head.iter().map(|h| esc(h)).collect();
            let head_ref: Vec<&str> = head_esc.iter().map(String::as_str).collect();
            table_head(o, &caption(&format!("Heterotrait–monotrait ratios{gname}")), &head_ref);
            for (i, a) in names.iter().enumerate().skip(1) {
                let mut cs = vec![esc(a)];
                for b in &names[..names.len() - 1] {
                    let j = names.iter().position(|n| n == b).unwrap_or(0);
                    cs.push(if j < i {
                        let h = v
                            .htmt
                            .iter()
                            .find(|p| p.group == g && ((p.a == *a && p.b == *b) || (p.a == *b && p.b == *a)))
                            .and_then(|p| p.htmt);
                        let flag = match h {
                            Some(x) if x > 0.90 => "**",
                            Some(x) if x > 0.85 => "*",
                            _ => "",
                        };
                        format!("{}{flag}", num(h, d, false))
                    } else {
                        String::new()
                    });
                }
                cells(o, "td", &cs);
            }
            o.push_str("</tbody>\n</table>\n");
        }
    }
    let _ = writeln!(
        o,
        "<p class=\"note\">α and ω: semTools' compRelSEM(tau.eq = TRUE) and compRelSEM(); AVE: AVE(); max r²: the largest squared factor correlation; Fornell–Larcker: AVE above every squared correlation. HTMT: semTools' htmt(); * above .85, ** above .90.</p>"
    );
}

fn group_name(r: &FitReport, g: usize) -> String {
    match &r.groups {
        Some(gs) => format!(" (group {g}: {})", esc(gs.get(g - 1).map_or("", String::as_str))),
        None => String::new(),
    }
}

fn effects(o: &mut String, r: &FitReport, d: usize, caption: &mut dyn FnMut(&str) -> String) {
    let Some(effects) = &r.effects else { return };
    let _ = writeln!(o, "<h2>Direct, indirect and total effects</h2>");
    if effects.is_empty() {
        let _ = writeln!(
            o,
            "<p>No pair of variables is joined by a path of two or more steps (see the warnings).</p>"
        );
        return;
    }
    let level = format!("{}% CI", (r.ci_level * 100.0).round());
    let mut gs: Vec<usize> = effects.iter().map(|e| e.group).collect();
    gs.dedup();
    for g in gs {
        table_head(
            o,
            &caption(&format!("Direct, indirect and total effects{}", group_name(r, g))),
            &[
                "effect",
                "direct",
                "indirect",
                "SE",
                "p",
                &level,
                "total",
                "SE",
                "p",
                &level,
                "std. indirect",
                "std. total",
            ],
        );
        for e in effects.iter().filter(|e| e.group == g) {
            cells(
                o,
                "td",
                &[
                    format!("{} → {}", esc(&e.from), esc(&e.to)),
                    num(e.direct, d, false),
                    num(e.indirect, d, false),
                    num(e.indirect_se, d, false),
                    p_cell(e.indirect_pvalue, d),
                    interval(e.indirect_ci_lower, e.indirect_ci_upper, d, false),
                    num(e.total, d, false),
                    num(e.total_se, d, false),
                    p_cell(e.total_pvalue, d),
                    interval(e.total_ci_lower, e.total_ci_upper, d, false),
                    num(e.indirect_std_all, d, true),
                    num(e.total_std_all, d, true),
                ],
            );
            for s in e.specific.iter().flatten() {
                let path: Vec<String> = s.path.iter().map(|p| esc(p)).collect();
                cells(
                    o,
                    "td",
                    &[
                        format!("&nbsp;&nbsp;via {}", path.join(" → ")),
                        String::new(),
                        num(s.est, d, false),
                        num(s.se, d, false),
                        p_cell(s.pvalue, d),
                        interval(s.ci_lower, s.ci_upper, d, false),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        num(s.std_all, d, true),
                        String::new(),
                    ],
                );
            }
        }
        o.push_str("</tbody>\n</table>\n");
    }
    let _ = writeln!(
        o,
        "<p class=\"note\">Indirect: the sum over every path of two or more steps; total = direct + indirect; {}; std. = std.all.</p>",
        if r.se_type == "Bootstrap" {
            "bootstrap standard errors and intervals"
        } else {
            "delta-method standard errors (as lavaan's :=)"
        }
    );
}

/// lavaan's sections of the parameter table, in its order.
fn section_of(op: &str) -> (usize, &'static str) {
    match op {
        "=~" => (0, "Latent variables"),
        "<~" => (1, "Composites"),
        "~" => (2, "Regressions"),
        "~~" => (3, "Covariances and variances"),
        "~1" => (4, "Intercepts"),
        "|" => (5, "Thresholds"),
        "~*~" => (6, "Scales"),
        ":=" => (7, "Defined parameters"),
        _ => (8, "Constraints"),
    }
}

fn parameters(o: &mut String, r: &FitReport, d: usize, caption: &str) {
    let _ = writeln!(o, "<h2>Parameter estimates</h2>");
    let ci = fit_table::shows_intervals(r);
    let level = format!("{}% CI", (r.ci_level * 100.0).round());
    let mut head = vec!["parameter", "label", "estimate", "SE", "z", "p"];
    if ci {
        head.push(&level);
    }
    head.extend(["std.lv", "std.all"]);
    table_head(o, caption, &head);
    let ngroups = r.parameters.iter().map(|p| p.group).max().unwrap_or(1);
    for g in 1..=ngroups.max(1) {
        if ngroups > 1 {
            let name = r
                .groups
                .as_ref()
                .and_then(|gs| gs.get(g - 1))
                .map_or(String::new(), |n| format!(": {}", esc(n)));
            let _ = writeln!(o, "<tr class=\"section\"><td colspan=\"{}\">Group {g}{name}</td></tr>", head.len());
        }
        let mut rows: Vec<&super::ParamOut> = r.parameters.iter().filter(|p| p.group == g || (g == 1 && p.group == 0)).collect();
        // stable: lavaan's order within each section
        rows.sort_by_key(|p| section_of(&p.op).0);
        let mut last = usize::MAX;
        for p in rows {
            let (k, title) = section_of(&p.op);
            if k != last {
                let _ = writeln!(o, "<tr class=\"section\"><td colspan=\"{}\">{title}</td></tr>", head.len());
                last = k;
            }
            let free = p.free || p.op == ":=";
            let mut cs = vec![
                format!("{} {} {}", esc(&p.lhs), esc(&p.op), esc(&p.rhs)),
                esc(&p.label),
                num(p.est, d, false),
            ];
            if free {
                cs.extend([num(p.se, d, false), num(p.z, d, false), p_cell(p.pvalue, d)]);
            } else {
                // a fixed parameter has no standard error, z or p (APA)
                cs.extend([String::new(), String::new(), String::new()]);
            }
            if ci {
                cs.push(if free {
                    interval(p.ci_lower, p.ci_upper, d, false)
                } else {
                    String::new()
                });
            }
            cs.push(num(p.std_lv, d, false));
            cs.push(num(p.std_all, d, p.op != "~1" && p.op != "|"));
            cells(o, "td", &cs);
        }
    }
    o.push_str("</tbody>\n</table>\n");
}

fn r_square(o: &mut String, r: &FitReport, d: usize, caption: &str) {
    let mut rows: Vec<(String, String, f64)> = vec![];
    match (&r.groups, &r.r2) {
        (Some(gs), serde_json::Value::Object(m)) => {
            for g in gs {
                if let Some(serde_json::Value::Object(inner)) = m.get(g) {
                    for (k, v) in inner {
                        if let Some(x) = v.as_f64() {
                            rows.push((g.clone(), k.clone(), x));
                        }
                    }
                }
            }
        }
        (None, serde_json::Value::Object(m)) => {
            for (k, v) in m {
                if let Some(x) = v.as_f64() {
                    rows.push((String::new(), k.clone(), x));
                }
            }
        }
        _ => {}
    }
    if rows.is_empty() {
        return;
    }
    let grouped = r.groups.is_some();
    let head: &[&str] = if grouped {
        &["group", "variable", "R²"]
    } else {
        &["variable", "R²"]
    };
    table_head(o, caption, head);
    for (g, v, x) in rows {
        let mut cs = vec![];
        if grouped {
            cs.push(esc(&g));
        }
        cs.push(esc(&v));
        cs.push(apa(x, d, true));
        cells(o, "td", &cs);
    }
    o.push_str("</tbody>\n</table>\n");
}

/// With `--modindices`: lavaan's modification indices, largest first.
fn modindices(o: &mut String, r: &FitReport, d: usize, caption: &mut dyn FnMut(&str) -> String) {
    let Some(mi) = &r.modindices else { return };
    let _ = writeln!(o, "<h2>Modification indices</h2>");
    let grouped = r.groups.is_some();
    let mut head = vec![];
    if grouped {
        head.push("group");
    }
    head.extend(["parameter", "mi", "epc", "sepc.lv", "sepc.all"]);
    table_head(o, &caption("Modification indices (largest first)"), &head);
    for m in mi {
        let mut cs = vec![];
        if grouped {
            cs.push(m.group.to_string());
        }
        cs.extend([
            format!("{} {} {}", esc(&m.lhs), esc(&m.op), esc(&m.rhs)),
            num(Some(m.mi), d, false),
            num(Some(m.epc), d, false),
            num(m.sepc_lv, d, false),
            num(m.sepc_all, d, false),
        ]);
        cells(o, "td", &cs);
    }
    o.push_str("</tbody>\n</table>\n");
}

/// With `--residuals`: the correlation and the standardized residuals, lower triangles.
fn residuals(o: &mut String, r: &FitReport, d: usize, caption: &mut dyn FnMut(&str) -> String) {
    let Some(res) = &r.residuals else { return };
    let _ = writeln!(o, "<h2>Residuals</h2>");
    for g in res {
        let names: Vec<String> = g.names.iter().map(|n| esc(n)).collect();
        let head: Vec<&str> = std::iter::once("").chain(names.iter().map(String::as_str)).collect();
        for (what, m) in [
            (
                "Correlation residuals",
                g.cor
                    .iter()
                    .map(|row| row.iter().map(|v| Some(*v)).collect())
                    .collect::<Vec<Vec<Option<f64>>>>(),
            ),
            ("Standardized residuals", g.standardized.clone()),
        ] {
            table_head(o, &caption(&format!("{what}{}", group_name(r, g.group))), &head);
            for (i, row) in m.iter().enumerate() {
                let mut cs = vec![names.get(i).cloned().unwrap_or_default()];
                cs.extend(
                    row.iter()
                        .enumerate()
                        .map(|(j, v)| if j <= i { num(*v, d, false) } else { String::new() }),
                );
                cells(o, "td", &cs);
            }
            o.push_str("</tbody>\n</table>\n");
        }
    }
}

/// A page from the markdown of a report (`batch`, `invariance`): headings,
/// tables, lists and paragraphs, every text escaped; `figure` (an inline
/// SVG) goes under the first heading.
pub fn markdown_page(title: &str, md: &str, figure: Option<&str>) -> String {
    let mut o = String::new();
    let mut lines = md.lines().peekable();
    let mut figure = figure;
    let mut in_list = false;
    while let Some(line) = lines.next() {
        let t = line.trim_end();
        if !t.starts_with("- ") && in_list {
            o.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(h) = t.strip_prefix('#') {
            let level = 1 + h.chars().take_while(|&c| c == '#').count();
            let text = h.trim_start_matches('#').trim();
            let _ = writeln!(o, "<h{level}>{}</h{level}>", inline(text));
            if let Some(f) = figure.take() {
                let _ = writeln!(o, "<figure>\n{f}<figcaption>Figure 1. The model.</figcaption>\n</figure>");
            }
        } else if t.starts_with('|') {
            let mut rows = vec![t.to_string()];
            while let Some(next) = lines.peek() {
                if next.trim_start().starts_with('|') {
                    rows.push(lines.next().unwrap_or_default().trim_end().to_string());
                } else {
                    break;
                }
            }
            md_table(&mut o, &rows);
        } else if let Some(item) = t.strip_prefix("- ") {
            if !in_list {
                o.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(o, "<li>{}</li>", inline(item));
        } else if !t.is_empty() {
            let _ = writeln!(o, "<p>{}</p>", inline(t));
        }
    }
    if in_list {
        o.push_str("</ul>\n");
    }
    page(title, &o)
}

/// The cells of a markdown table row (`\|` is a literal bar).
fn md_cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                if let Some(s) = out.last_mut() {
                    s.push('|');
                }
                chars.next();
            }
            '|' => out.push(String::new()),
            c => {
                if let Some(s) = out.last_mut() {
                    s.push(c)
                }
            }
        }
    }
    out.iter().map(|s| s.trim().to_string()).collect()
}

fn md_table(o: &mut String, rows: &[String]) {
    let is_rule = |r: &str| {
        md_cells(r)
            .iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
    };
    o.push_str("<table>\n");
    let mut body = false;
    for (k, r) in rows.iter().enumerate() {
        if is_rule(r) {
            continue;
        }
        let head = k == 0 && rows.len() > 1 && is_rule(&rows[1]);
        if head {
            o.push_str("<thead>");
        } else if !body {
            o.push_str("<tbody>\n");
            body = true;
        }
        let cs: Vec<String> = md_cells(r).iter().map(|c| inline(c)).collect();
        cells(o, if head { "th" } else { "td" }, &cs);
        if head {
            o.push_str("</thead>\n");
        }
    }
    if body {
        o.push_str("</tbody>\n");
    }
    o.push_str("</table>\n");
}

/// Inline markdown: `code`, **bold**, `\*` escapes and `&nbsp;`; the rest escaped.
fn inline(s: &str) -> String {
    let s = s.replace("&nbsp;", "\u{a0}");
    let mut o = String::new();
    let mut code = false;
    let mut bold = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                if let Some(n) = chars.next() {
                    o.push_str(&esc(&n.to_string()));
                }
            }
            '`' => {
                o.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            '*' if !code && chars.peek() == Some(&'*') => {
                chars.next();
                o.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
            }
            c => o.push_str(&esc(&c.to_string())),
        }
    }
    if code {
        o.push_str("</code>");
    }
    if bold {
        o.push_str("</strong>");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apa_cells() {
        assert_eq!(p_cell(Some(0.0002), 3), "&lt; .001");
        assert_eq!(p_cell(Some(0.0342), 3), ".034");
        assert_eq!(p_cell(None, 3), "");
        assert_eq!(num(Some(0.5), 3, true), ".500");
        assert_eq!(num(Some(0.5), 3, false), "0.500");
    }

    #[test]
    fn markdown_pages_escape_and_keep_tables() {
        let md = "## Batch: `m.lav`\n\n| a | b\\|c |\n|---|---:|\n| <x> | 0.5\\* |\n\n- one & two\n";
        let html = markdown_page("t<", md, None);
        assert!(html.contains("<h2>Batch: <code>m.lav</code></h2>"));
        assert!(html.contains("<th>a</th><th>b|c</th>"));
        assert!(html.contains("<td>&lt;x&gt;</td><td>0.5*</td>"));
        assert!(html.contains("<li>one &amp; two</li>"));
        assert!(html.contains("<title>t&lt;</title>"));
    }
}

//! The text report, laid out like lavaan's
//! `summary(fit, fit.measures = TRUE, standardized = TRUE, rsquare = TRUE)`
//! so that a lavaan user finds every number where they expect it, followed by
//! the hypothesis table and any warnings.

use super::width::{cell, pad_left, pad_right, take_width};
use super::{fmt_opt, FitReport, ParamOut};
use std::fmt::Write as _;

fn line(out: &mut String, label: &str, value: String) {
    let _ = writeln!(out, "  {label:<42}{value:>15}");
}

fn num(r: &FitReport, key: &str, d: usize) -> String {
    match r.fit.get(key).and_then(|v| v.as_f64()) {
        Some(v) => format!("{v:.d$}"),
        None => "NA".into(),
    }
}

fn int(r: &FitReport, key: &str) -> String {
    r.fit_value(key).map_or("NA".into(), |v| format!("{}", v.round() as i64))
}

pub fn render(r: &FitReport) -> String {
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
    if r.fit.contains_key("chisq") {
        let _ = writeln!(o, "\nModel Test User Model:\n");
        line(&mut o, "Test statistic", num(r, "chisq", 3));
        line(&mut o, "Degrees of freedom", int(r, "df"));
        line(&mut o, "P-value (Chi-square)", num(r, "pvalue", 3));
        if r.fit.contains_key("bollen_stine_pvalue") {
            line(&mut o, "P-value (Bollen-Stine bootstrap)", num(r, "bollen_stine_pvalue", 3));
        }
        let _ = writeln!(o, "\nModel Test Baseline Model:\n");
        line(&mut o, "Test statistic", num(r, "baseline_chisq", 3));
        line(&mut o, "Degrees of freedom", int(r, "baseline_df"));
        line(&mut o, "P-value", num(r, "baseline_pvalue", 3));
        let _ = writeln!(o, "\nUser Model versus Baseline Model:\n");
        line(&mut o, "Comparative Fit Index (CFI)", num(r, "cfi", 3));
        line(&mut o, "Tucker-Lewis Index (TLI)", num(r, "tli", 3));
        let _ = writeln!(o, "\nLoglikelihood and Information Criteria:\n");
        line(&mut o, "Loglikelihood user model (H0)", num(r, "logl", 3));
        line(&mut o, "Loglikelihood unrestricted model (H1)", num(r, "unrestricted_logl", 3));
        o.push('\n');
        line(&mut o, "Akaike (AIC)", num(r, "aic", 3));
        line(&mut o, "Bayesian (BIC)", num(r, "bic", 3));
        line(&mut o, "Sample-size adjusted Bayesian (SABIC)", num(r, "bic2", 3));
        let _ = writeln!(o, "\nRoot Mean Square Error of Approximation:\n");
        line(&mut o, "RMSEA", num(r, "rmsea", 3));
        line(&mut o, "90 Percent confidence interval - lower", num(r, "rmsea_ci_lower", 3));
        line(&mut o, "90 Percent confidence interval - upper", num(r, "rmsea_ci_upper", 3));
        line(&mut o, "P-value H_0: RMSEA <= 0.050", num(r, "rmsea_pvalue", 3));
        line(&mut o, "P-value H_0: RMSEA >= 0.080", num(r, "rmsea_notclose_pvalue", 3));
        let _ = writeln!(o, "\nStandardized Root Mean Square Residual:\n");
        line(&mut o, "SRMR", num(r, "srmr", 3));
    }
    let _ = writeln!(o, "\nParameter Estimates:\n");
    line(&mut o, "Standard errors", r.se_type.clone());
    if let Some(b) = &r.bootstrap {
        line(&mut o, "Number of requested bootstrap draws", b.draws.to_string());
        line(&mut o, "Number of successful bootstrap draws", b.successful.to_string());
        line(&mut o, "Bootstrap seed", b.seed.to_string());
        if let Some(ci) = &b.ci_type {
            line(&mut o, "Bootstrap confidence intervals", ci.clone());
        }
    }
    if r.missing_patterns.is_some() {
        line(&mut o, "Information", "Observed".into());
        line(&mut o, "Observed information based on", "Hessian".into());
    } else {
        line(&mut o, "Information", "Expected".into());
        line(&mut o, "Information saturated (h1) model", "Structured".into());
    }
    let groups: Vec<usize> = {
        let mut g: Vec<usize> = r.parameters.iter().map(|p| p.group).filter(|g| *g > 0).collect();
        g.dedup();
        g
    };
    for &g in &groups {
        if let Some(names) = &r.groups {
            let _ = writeln!(o, "\n\nGroup {} [{}]:", g, names.get(g - 1).map_or("", |s| s.as_str()));
        }
        let rows: Vec<&ParamOut> = r.parameters.iter().filter(|p| p.group == g).collect();
        section(&mut o, "Latent Variables", &rows, "=~", true, &r.parameters);
        section(&mut o, "Regressions", &rows, "~", true, &r.parameters);
        let covs: Vec<&ParamOut> = rows.iter().copied().filter(|p| p.op == "~~" && p.lhs != p.rhs).collect();
        section(&mut o, "Covariances", &covs, "~~", true, &r.parameters);
        section(&mut o, "Intercepts", &rows, "~1", false, &r.parameters);
        let vars: Vec<&ParamOut> = rows.iter().copied().filter(|p| p.op == "~~" && p.lhs == p.rhs).collect();
        section(&mut o, "Variances", &vars, "~~", false, &r.parameters);
    }
    let defs: Vec<&ParamOut> = r.parameters.iter().filter(|p| p.op == ":=").collect();
    section(&mut o, "Defined Parameters", &defs, ":=", false, &r.parameters);
    r2_section(&mut o, r);
    if !r.hypotheses.is_empty() {
        let _ = writeln!(o, "\nHypotheses (alpha = {}):", r.alpha);
        let _ = writeln!(
            o,
            "  {:<8} {:<24} {:>4} {:>9} {:>8} {:>8} {:>8}  result",
            "", "path", "sign", "Estimate", "Std.all", "z-value", "P(>|z|)"
        );
        for h in &r.hypotheses {
            let path = if h.op == ":=" {
                format!("{} := {}", h.lhs, h.rhs)
            } else {
                format!("{} {} {}", h.lhs, h.op, h.rhs)
            };
            let _ = writeln!(
                o,
                "  {} {} {:>4} {:>9} {:>8} {:>8} {:>8}  {}",
                pad_right(&h.name, 8),
                pad_right(&path, 24),
                h.expected_sign,
                fmt_opt(h.est, 3),
                fmt_opt(h.std_all, 3),
                fmt_opt(h.z, 3),
                fmt_opt(h.pvalue, 3),
                crate::hypotheses::decision(h.supported, h.est, h.pvalue)
            );
        }
    }
    if let Some(res) = &r.residuals {
        for gr in res {
            let title = match &r.groups {
                Some(g) => format!(" [{}]", g.get(gr.group - 1).map_or("", |s| s.as_str())),
                None => String::new(),
            };
            let _ = writeln!(o, "\nCorrelation residuals{title}:\n");
            lower_triangle(&mut o, &gr.names, |i, j| Some(gr.cor[i][j]));
            let _ = writeln!(o, "\nStandardized residuals{title}:\n");
            lower_triangle(&mut o, &gr.names, |i, j| gr.standardized[i][j]);
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
                "  {} {:>3} {} {g}{:>9.3} {:>8.3} {:>8} {:>8}",
                pad_left(&m.lhs, 10),
                m.op,
                pad_right(&m.rhs, 10),
                m.mi,
                m.epc,
                fmt_opt(m.sepc_lv, 3),
                fmt_opt(m.sepc_all, 3)
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

fn lower_triangle(o: &mut String, names: &[String], v: impl Fn(usize, usize) -> Option<f64>) {
    let _ = write!(o, "  {:>8}", "");
    for n in names {
        let _ = write!(o, " {}", pad_left(&take_width(n, 7), 7));
    }
    o.push('\n');
    for (i, n) in names.iter().enumerate() {
        let _ = write!(o, "  {}", pad_left(&take_width(n, 8), 8));
        for j in 0..=i {
            let _ = write!(o, " {:>7}", v(i, j).map_or("NA".to_string(), |x| format!("{x:.3}")));
        }
        o.push('\n');
    }
}

fn is_endogenous(all: &[ParamOut], v: &str) -> bool {
    all.iter().any(|p| (p.op == "=~" && p.rhs == v) || (p.op == "~" && p.lhs == v))
}

fn section(o: &mut String, title: &str, rows: &[&ParamOut], op: &str, grouped: bool, rows_all: &[ParamOut]) {
    let rows: Vec<&&ParamOut> = rows.iter().filter(|p| p.op == op).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{title}:");
    let _ = writeln!(
        o,
        "{:<20}{:>10}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "", "Estimate", "Std.Err", "z-value", "P(>|z|)", "Std.lv", "Std.all"
    );
    let mut current = "";
    for p in rows {
        let mut name = match op {
            "~1" => p.lhs.clone(),
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
        if !grouped && op != ":=" && is_endogenous(rows_all, &p.lhs) {
            name = format!(".{name}");
        }
        let indent = if grouped { "    " } else { "   " };
        let free = p.free || op == ":=";
        let _ = writeln!(
            o,
            "{indent}{}{}{}{}{}{}{}",
            pad_right(&name, 20 - indent.len()),
            cell(fmt_opt(p.est, 3), 10),
            cell(if free { fmt_opt(p.se, 3) } else { String::new() }, 9),
            cell(if free { fmt_opt(p.z, 3) } else { String::new() }, 9),
            cell(if free { fmt_opt(p.pvalue, 3) } else { String::new() }, 9),
            cell(fmt_opt(p.std_lv, 3), 9),
            cell(fmt_opt(p.std_all, 3), 9),
        );
    }
}

fn r2_section(o: &mut String, r: &FitReport) {
    let print = |o: &mut String, m: &serde_json::Map<String, serde_json::Value>| {
        for (k, v) in m {
            let v = v.as_f64().map_or("NA".to_string(), |v| format!("{v:.3}"));
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

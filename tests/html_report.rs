//! `--format html`: one self-contained page (no URL, no script, a policy that
//! forbids every load), the text report's numbers in APA style (p as
//! `< .001`, no leading zero for values bounded by 1, fixed parameters
//! without SE, z and p), the scaled and robust rows of a robust estimator,
//! the validity and effects tables when asked, `--digits`, names from the
//! data escaped; and the pages of `batch`, `invariance` and `check`.

mod common;

use common::{scratch, sem, stderr, stdout, write};
use std::path::Path;

fn root(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p).display().to_string()
}

fn run(args: &[&str]) -> String {
    let o = sem(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// What every page promises.
fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    for bad in ["http://", "https://", "<script", "src=", "href=", "@import", "url(http"] {
        assert!(!html.contains(bad), "the page contains {bad}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\""));
}

#[test]
fn fit_page_has_the_diagram_and_the_text_reports_numbers() {
    let (m, d) = (root("models/bradford.lav"), root("data/bradford_demo.csv"));
    let html = run(&["fit", &m, &d, "--format", "html", "--validity", "--effects"]);
    self_contained(&html);
    let json: serde_json::Value = serde_json::from_str(&run(&["fit", &m, &d, "--format", "json"])).unwrap();
    let text = run(&["fit", &m, &d]);
    // the diagram, inline, without the namespace URL
    assert_eq!(html.matches("<svg class=\"sem-diagram\"").count(), 1);
    assert_eq!(html.matches("<ellipse").count(), 7);
    // the fit: same chi-square as the text report, CFI and RMSEA without the leading zero
    let chisq = format!("{:.3}", json["fit"]["chisq"].as_f64().unwrap());
    assert!(text.contains(&chisq) && html.contains(&format!("<td>{chisq}</td>")));
    let rmsea = format!("{:.3}", json["fit"]["rmsea"].as_f64().unwrap());
    assert!(
        html.contains(&format!("<td>{}</td>", rmsea.trim_start_matches('0'))),
        "RMSEA {rmsea}"
    );
    // every hypothesis with the text report's estimate and an APA p-value
    for h in json["hypotheses"].as_array().unwrap() {
        let est = format!("{:.3}", h["est"].as_f64().unwrap());
        assert!(text.contains(&est));
        let p = h["pvalue"].as_f64().unwrap();
        let pcell = if p < 0.001 {
            "&lt; .001".to_string()
        } else {
            format!("{p:.3}").trim_start_matches('0').to_string()
        };
        let row = format!("<td>{est}</td>");
        assert!(html.contains(&row), "{} {est}", h["name"]);
        assert!(html.contains(&format!("<td>{pcell}</td>")), "{} p {pcell}", h["name"]);
    }
    // a fixed loading: its estimate, no SE, z or p
    assert!(
        html.contains("<tr><td>ALLO =~ allo1</td><td></td><td>1.000</td><td></td><td></td><td></td>"),
        "fixed loading row"
    );
    // validity and effects tables
    assert!(html.contains("Reliability and convergent validity") && html.contains("Heterotrait–monotrait"));
    assert!(html.contains("Direct, indirect and total effects") && html.contains("HELP → EOIS"));
    // --digits
    let two = run(&["fit", &m, &d, "--format", "html", "--digits", "2"]);
    let c2 = format!("{:.2}", json["fit"]["chisq"].as_f64().unwrap());
    assert!(two.contains(&format!("<td>{c2}</td>")));
}

#[test]
fn robust_fit_shows_scaled_and_robust_rows() {
    let html = run(&[
        "fit",
        &root("models/holzinger_swineford.lav"),
        &root("data/HolzingerSwineford1939.csv"),
        "--estimator",
        "mlr",
        "--format",
        "html",
    ]);
    self_contained(&html);
    for t in [
        "<tr><td>standard</td>",
        "<tr><td>scaled</td>",
        "<tr><td>robust</td>",
        "<th>Scaled</th>",
    ] {
        assert!(html.contains(t), "{t} missing");
    }
    assert!(html.contains("Robust Comparative Fit Index (CFI)"));
}

#[test]
fn names_from_the_data_are_escaped() {
    let dir = scratch("escape");
    let csv = std::fs::read_to_string(root("data/HolzingerSwineford1939.csv"))
        .unwrap()
        .replace("\"Pasteur\"", "\"<script>alert(1)</script>\"")
        .replace("\"Grant-White\"", "\"G&<>\"\"'W\"");
    let data = write(&dir, "hs.csv", csv);
    let html = run(&[
        "fit",
        &root("models/holzinger_swineford.lav"),
        &data,
        "--group",
        "school",
        "--format",
        "html",
    ]);
    self_contained(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("G&amp;&lt;&gt;&quot;&#39;W"));
    // one panel per group
    assert_eq!(html.matches("<ellipse").count(), 6);
}

#[test]
fn batch_invariance_and_check_pages() {
    let m = root("models/bradford.lav");
    let html = run(&[
        "batch",
        &m,
        &root("data/bradford_demo.csv"),
        &root("data/bradford_realestate.csv"),
        "--format",
        "html",
    ]);
    self_contained(&html);
    assert!(html.contains("<svg class=\"sem-diagram\""));
    assert!(html.contains("<th>hypothesis</th>") && html.contains("<td>H1a</td>"));
    assert!(html.contains("<code>CRQ ~ EOIS</code>"));
    let html = run(&[
        "invariance",
        &root("models/holzinger_swineford.lav"),
        &root("data/HolzingerSwineford1939.csv"),
        "--group",
        "school",
        "--format",
        "html",
    ]);
    self_contained(&html);
    for step in ["configural", "metric", "scalar", "strict"] {
        assert!(html.contains(&format!("<td>{step}</td>")), "{step}");
    }
    assert!(html.contains("<svg class=\"sem-diagram\""));
    let html = run(&["check", &m, "--format", "html"]);
    self_contained(&html);
    assert!(html.contains("<svg class=\"sem-diagram\"") && html.contains("H1a"));
}

#[test]
fn markdown_is_apa_too() {
    let (m, d) = (root("models/bradford.lav"), root("data/bradford_demo.csv"));
    let md = run(&["fit", &m, &d, "--format", "markdown", "--validity", "--effects"]);
    // a fixed loading: estimate only; a free one: p as < .001 and std.all without the leading zero
    let fixed = md.lines().find(|l| l.starts_with("| ALLO | `=~` | allo1 |")).unwrap();
    assert!(fixed.contains("| 1.000 |  |  |  |"), "{fixed}");
    let free = md.lines().find(|l| l.starts_with("| ALLO | `=~` | allo2 |")).unwrap();
    assert!(free.contains("| < .001 |") && free.ends_with(" | .721 |"), "{free}");
    let h6 = md.lines().find(|l| l.starts_with("| H6 |")).unwrap();
    assert!(h6.contains("| < .001 | .276 | yes |"), "{h6}");
    for l in md.lines().filter(|l| l.contains("`~`") || l.contains("`=~`")) {
        assert!(!l.contains("| 0.000 |"), "a p-value as 0.000: {l}");
    }
    // reliability without leading zeros, effects with APA p-values
    let allo = md.lines().find(|l| l.starts_with("| ALLO | 4 |")).unwrap();
    assert!(allo.starts_with("| ALLO | 4 | .813 | .812 | .523 | .723 |"), "{allo}");
    let e = md.lines().find(|l| l.starts_with("| HELP → EOIS |")).unwrap();
    assert!(e.contains("| < .001 |") && e.ends_with("| .164 | .337 |"), "{e}");
}

#[test]
fn modification_indices_and_residuals_when_asked() {
    let (m, d) = (root("models/holzinger_swineford.lav"), root("data/HolzingerSwineford1939.csv"));
    let html = run(&["fit", &m, &d, "--modindices", "--residuals", "--format", "html"]);
    self_contained(&html);
    let json: serde_json::Value = serde_json::from_str(&run(&["fit", &m, &d, "--modindices", "--format", "json"])).unwrap();
    let top = &json["modindices"][0];
    let row = format!(
        "<td>{} {} {}</td><td>{:.3}</td>",
        top["lhs"].as_str().unwrap(),
        top["op"].as_str().unwrap(),
        top["rhs"].as_str().unwrap(),
        top["mi"].as_f64().unwrap()
    );
    assert!(html.contains(&row), "{row}");
    assert!(html.contains("Correlation residuals") && html.contains("Standardized residuals"));
    let plain = run(&["fit", &m, &d, "--format", "html"]);
    assert!(!plain.contains("Modification indices") && !plain.contains("Correlation residuals"));
}

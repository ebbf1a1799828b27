//! Reports that must not mislead: the text report's fit sections against
//! lavaan 0.6-14's own `summary(fit, fit.measures = TRUE)` printout
//! (`tests/fixtures/reports/*.txt`, made by `make_summaries.R`): every
//! labelled number lavaan prints, in both the "Standard" and "Scaled"
//! columns, must be in sem's report under the same section and label, and
//! the lines under "Parameter Estimates:" (standard errors, information)
//! must say what lavaan says. Also the markdown layout of scaled tests,
//! bootstrap intervals and `--digits` in every format.

mod common;
use common::*;

const FIT: &str = "tests/fixtures/fit";
const SUMMARIES: &str = "tests/fixtures/reports";

/// A section of a printed summary: its title and its lines.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in text.lines() {
        if !l.starts_with(' ') && l.ends_with(':') {
            out.push((l.trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some(last) = out.last_mut() {
            if !l.trim().is_empty() {
                last.1.push(l.to_string());
            }
        }
    }
    out
}

fn number(tok: &str) -> Option<Option<f64>> {
    if tok == "NA" {
        return Some(None);
    }
    tok.parse::<f64>().ok().map(Some)
}

/// A line as (lower-case label, trailing numbers); words that are not
/// numbers at the end (Sandwich, Observed) count as the value.
fn split(line: &str) -> (String, Vec<Option<f64>>, String) {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let mut k = toks.len();
    while k > 0 && number(toks[k - 1]).is_some() {
        k -= 1;
    }
    let nums: Vec<Option<f64>> = toks[k..].iter().map(|t| number(t).unwrap()).collect();
    (toks[..k].join(" ").to_lowercase(), nums, toks.join(" ").to_lowercase())
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1.5e-3 + 1e-3 * a.abs(),
        (None, None) => true,
        _ => false,
    }
}

/// Check sem's text report against lavaan's summary of the same fit.
fn matches_lavaan(case: &str) {
    let dir = format!("{FIT}/{case}");
    let args = std::fs::read_to_string(format!("{dir}/args")).unwrap();
    let model = format!("{dir}/model.lav");
    let data = format!("{dir}/data.csv");
    let mut a: Vec<&str> = vec!["fit", &model, &data];
    a.extend(args.split_whitespace());
    let o = sem(&a);
    assert_eq!(o.status.code(), Some(0), "{case}: {}", stderr(&o));
    let ours = sections(&stdout(&o));
    let mut aj = a.clone();
    aj.extend(["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&sem(&aj).stdout).unwrap();
    let has_h0_factor = v["fit"].get("scaling_factor_h0").is_some();
    let groups: Vec<String> = v["groups"]
        .as_array()
        .map(|g| g.iter().map(|s| s.as_str().unwrap().to_lowercase()).collect())
        .unwrap_or_default();

    let lavaan = std::fs::read_to_string(format!("{SUMMARIES}/{case}.txt")).unwrap();
    compare_with_lavaan(case, &ours, &lavaan, has_h0_factor, &groups);
}

/// Every labelled line of lavaan's fit sections and estimates header is in
/// sem's report, in the same section, in the same order, with the same numbers.
fn compare_with_lavaan(case: &str, ours: &[(String, Vec<String>)], lavaan: &str, has_h0_factor: bool, groups: &[String]) {
    let mut checked = 0;
    let mut in_fit = false;
    for (title, lines) in sections(lavaan) {
        if title == "Model Test User Model" {
            in_fit = true;
        }
        if !in_fit {
            continue;
        }
        let estimates = title == "Parameter Estimates";
        let (_, mine) = ours
            .iter()
            .find(|(t, _)| *t == title)
            .unwrap_or_else(|| panic!("{case}: section `{title}` missing in sem's report"));
        let mut cursor = 0;
        let mut skip_mlr_note = false;
        for l in &lines {
            let (label, nums, whole) = split(l);
            // lavaan's per-group test statistics: not in sem's fit map (yet)
            if label == "test statistic for each group:" || groups.contains(&label) {
                continue;
            }
            // the MLR log-likelihood scaling factors, when sem's fit map lacks them
            if title.starts_with("Loglikelihood") && label == "scaling correction factor" && !has_h0_factor {
                skip_mlr_note = true;
                continue;
            }
            if skip_mlr_note && whole == "for the mlr correction" {
                continue;
            }
            let found = mine[cursor..].iter().position(|m| {
                let (ml, mn, mw) = split(m);
                if nums.is_empty() {
                    mw == whole
                } else {
                    ml == label && mn.len() == nums.len() && mn.iter().zip(&nums).all(|(a, b)| close(*a, *b))
                }
            });
            match found {
                Some(k) => {
                    cursor += k + 1;
                    checked += 1;
                }
                None => panic!(
                    "{case}: lavaan's line `{}` in `{title}` is not in sem's report:\n{}",
                    l.trim(),
                    mine.join("\n")
                ),
            }
        }
        if estimates {
            break;
        }
    }
    assert!(checked >= 20, "{case}: only {checked} lines compared");
}

/// The layout follows the fit map's keys, whatever the estimator: a report
/// holding exactly lavaan's fitMeasures() of a WLSMV fit (ordinal data; made
/// by make_wlsmv_layout.R) prints lavaan's summary lines, shift parameter and
/// "simple second-order correction" included.
#[test]
fn wlsmv_keys_give_lavaans_layout() {
    let fm: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{SUMMARIES}/wlsmv_fit.json")).unwrap()).unwrap();
    let fit: serde_json::Map<String, serde_json::Value> = fm
        .into_iter()
        .map(|(k, v)| (k, if v.is_number() { v } else { serde_json::Value::Null }))
        .collect();
    // built through serde, so that fields added to the report later (with defaults) need no edit here
    let r: sem::report::FitReport = serde_json::from_value(serde_json::json!({
        "converged": true, "estimator": "WLSMV", "nobs": 301, "parameters": [], "fit": fit,
        "r2": {}, "hypotheses": [], "warnings": [], "model_file": "", "data_file": "",
        "rows_read": 301, "rows_dropped": 0, "iterations": 1, "optimizer": "test",
        "se_type": "Robust.sem", "ci_level": 0.95, "alpha": 0.05, "sem_version": ""
    }))
    .unwrap();
    let text = sem::report::text::render(&r);
    assert!(!text.contains("Loglikelihood"), "no log-likelihood section without logl:\n{text}");
    let lavaan = std::fs::read_to_string(format!("{SUMMARIES}/wlsmv.txt")).unwrap();
    compare_with_lavaan("wlsmv", &sections(&text), &lavaan, true, &[]);
}

#[test]
fn ml_report_matches_lavaan_summary() {
    matches_lavaan("hs_cfa");
}

#[test]
fn mlr_report_has_lavaans_standard_and_scaled_columns() {
    matches_lavaan("hs_mlr");
    // and the information lines say where the standard errors come from
    let t = stdout(&sem(&[
        "fit",
        &format!("{FIT}/hs_mlr/model.lav"),
        &format!("{FIT}/hs_mlr/data.csv"),
        "--estimator",
        "mlr",
    ]));
    assert!(t.contains("Information bread") && t.contains("Observed"), "{t}");
    assert!(!t.contains("Information saturated (h1) model"), "{t}");
}

#[test]
fn mlm_report_matches_lavaan_summary() {
    matches_lavaan("hs_mlm");
}

#[test]
fn fiml_mlr_report_matches_lavaan_summary() {
    matches_lavaan("fiml_hs_mlr");
}

#[test]
fn grouped_mlr_report_matches_lavaan_summary() {
    matches_lavaan("hs_group_metric_mlr");
}

#[test]
fn markdown_shows_the_scaled_and_robust_tests() {
    let dir = format!("{FIT}/hs_mlr");
    let md = stdout(&sem(&[
        "fit",
        &format!("{dir}/model.lav"),
        &format!("{dir}/data.csv"),
        "--estimator",
        "mlr",
        "--format",
        "markdown",
    ]));
    // lavaan: chisq 85.306 / scaled 87.132, CFI 0.931 / 0.925, robust CFI 0.930, robust RMSEA 0.092
    assert!(md.contains("| test | N | npar | chisq |"), "{md}");
    assert!(md.contains("| standard | 301 | 21 | 85.306 | 24 |"), "{md}");
    // APA style: p as < .001, no leading zero for CFI, TLI, RMSEA
    assert!(md.contains("| scaled | 301 | 21 | 87.132 | 24 | < .001 | .925 | .888 |"), "{md}");
    assert!(
        md.contains("| robust | 301 | 21 |  | 24 |  | .930 | .895 | .092 [.072, .114]"),
        "{md}"
    );
    assert!(md.contains("| measure | Standard | Scaled |"), "{md}");
    assert!(md.contains("| Scaling correction factor |  | 0.979 |"), "{md}");
    assert!(md.contains("| Robust Comparative Fit Index (CFI) |  | .930 |"), "{md}");
    // plain ML keeps the one-row table
    let md = stdout(&sem(&[
        "fit",
        &format!("{dir}/model.lav"),
        &format!("{dir}/data.csv"),
        "--format",
        "markdown",
    ]));
    assert!(md.contains("| N | npar | chisq |") && !md.contains("Scaled"), "{md}");
}

#[test]
fn bootstrap_intervals_show_in_text_and_markdown() {
    let d = scratch("boot");
    let m = write(
        &d,
        "med.lav",
        "visual  =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed   =~ x7 + x8 + x9\ntextual ~ a*visual\nspeed ~ b*textual + c*visual\nH1 := a*b\n",
    );
    let data = format!("{FIT}/mediation_defined/data.csv");
    let base = [
        "fit",
        m.as_str(),
        data.as_str(),
        "--se",
        "bootstrap",
        "--bootstrap",
        "60",
        "--seed",
        "3",
    ];
    let json: serde_json::Value = {
        let mut a = base.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_slice(&sem(&a).stdout).unwrap()
    };
    let h1 = json["parameters"].as_array().unwrap().iter().find(|p| p["op"] == ":=").unwrap();
    let (lo, hi) = (h1["ci_lower"].as_f64().unwrap(), h1["ci_upper"].as_f64().unwrap());
    let t = stdout(&sem(&base));
    assert!(t.contains("ci.lower") && t.contains("ci.upper"), "{t}");
    let def = t.lines().skip_while(|l| !l.starts_with("Defined Parameters")).nth(2).unwrap();
    assert!(def.contains(&format!("{lo:.3}")) && def.contains(&format!("{hi:.3}")), "{def}");
    let hyp = t.lines().find(|l| l.trim_start().starts_with("H1 ")).unwrap();
    assert!(hyp.contains(&format!("{lo:.3}")) && hyp.contains(&format!("{hi:.3}")), "{hyp}");
    let mut a = base.to_vec();
    a.extend(["--format", "markdown"]);
    let md = stdout(&sem(&a));
    assert!(md.contains("| p | ci.lower | ci.upper | std.all | supported |"), "{md}");
    assert!(md.contains(&format!("| {lo:.3} | {hi:.3} |")), "{md}");
    // without the bootstrap there are no interval columns in text
    let t = stdout(&sem(&["fit", &m, &data]));
    assert!(!t.contains("ci.lower"), "{t}");
}

#[test]
fn digits_apply_to_text_markdown_and_csv_not_json() {
    let (m, d) = ("models/holzinger_swineford.lav", "data/HolzingerSwineford1939.csv");
    let t = stdout(&sem(&["fit", m, d, "--digits", "5"]));
    assert!(t.contains("85.30552"), "chisq with 5 decimals:\n{t}");
    assert!(t.lines().any(|l| l.trim_start().starts_with("x2") && l.contains("0.55350")), "{t}");
    let md = stdout(&sem(&["fit", m, d, "--format", "markdown", "--digits", "2"]));
    assert!(md.contains("| 85.31 | 24 |"), "{md}");
    let csv = stdout(&sem(&["fit", m, d, "--format", "csv", "--digits", "2"]));
    let x2 = csv.lines().find(|l| l.starts_with("visual,=~,x2,")).unwrap();
    assert!(x2.contains(",0.55,0.10,"), "{x2}");
    let full = stdout(&sem(&["fit", m, d, "--format", "csv"]));
    let x2 = full.lines().find(|l| l.starts_with("visual,=~,x2,")).unwrap();
    assert!(x2.contains(",0.5535"), "CSV has full precision without --digits: {x2}");
    let json = sem(&["fit", m, d, "--format", "json", "--digits", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        (v["fit"]["chisq"].as_f64().unwrap() - 85.3055).abs() < 1e-3,
        "JSON keeps full precision"
    );
    let bad = sem(&["fit", m, d, "--digits", "40"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn digits_apply_to_batch_formats() {
    let (m, d) = ("models/bradford.lav", "data/bradford_demo.csv");
    let t = stdout(&sem(&["batch", m, d, "--digits", "4"]));
    assert!(t.contains("266.4726"), "{t}");
    let h6 = t.lines().find(|l| l.trim_start().starts_with("H6")).unwrap();
    assert!(h6.contains("0.2755*"), "{h6}");
    let md = stdout(&sem(&["batch", m, d, "--format", "markdown", "--digits", "1"]));
    assert!(md.contains("| 266.5 | 266 |"), "{md}");
    let csv = stdout(&sem(&["batch", m, d, "--format", "csv", "--digits", "2"]));
    assert!(csv.lines().nth(1).unwrap().contains(",266.47,266.00,"), "{csv}");
    let t = stdout(&sem(&["batch", m, d]));
    assert!(t.contains("266.473") && t.contains("0.28*"), "defaults: 3 and 2 decimals\n{t}");
}

/// `sem batch` with MLR: the fit lines are the standard test and say so; the
/// scaled test and robust indices follow, with lavaan's numbers
/// (tests/fixtures/fit/bradford_mlr/expected.json).
#[test]
fn batch_labels_the_scaled_test() {
    let case = format!("{FIT}/bradford_mlr");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{case}/expected.json")).unwrap()).unwrap();
    let f = |k: &str| format!("{:.3}", expected["fit"][k].as_f64().unwrap());
    let args = ["batch", "models/bradford.lav", "data/bradford_demo.csv", "--estimator", "mlr"];
    let t = stdout(&sem(&args));
    assert!(
        t.contains("Scaled test and robust indices (the lines above are the standard test):"),
        "{t}"
    );
    let line = t.lines().skip_while(|l| !l.starts_with("Scaled test")).nth(2).unwrap();
    for k in ["chisq_scaled", "cfi_robust", "rmsea_robust"] {
        assert!(line.contains(&f(k)), "{k} = {} not in `{line}`", f(k));
    }
    let mut a = args.to_vec();
    a.extend(["--format", "markdown"]);
    let md = stdout(&sem(&a));
    assert!(md.contains(&format!("| [1] | {} | 266 |", f("chisq_scaled"))), "{md}");
    // plain ML: no scaled block
    assert!(!stdout(&sem(&args[..3])).contains("Scaled test"));
}

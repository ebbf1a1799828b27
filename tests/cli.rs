//! The binary as a user runs it: exit codes, formats, `--output`, and the
//! messages for bad input (file, line, column or column name; never a panic,
//! never a printed result).

mod common;
use common::*;

const HS_MODEL: &str = "models/holzinger_swineford.lav";
const HS_DATA: &str = "data/HolzingerSwineford1939.csv";

#[test]
fn fit_text_report_reads_like_lavaan() {
    let o = sem(&["fit", "models/bradford.lav", "data/bradford_demo.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    for s in [
        "Model Test User Model:",
        "Comparative Fit Index (CFI)",
        "RMSEA",
        "SRMR",
        "Latent Variables:",
        "Regressions:",
        "R-Square:",
        "Hypotheses",
    ] {
        assert!(t.contains(s), "missing `{s}` in\n{t}");
    }
    assert!(t.contains("ALLO (H6)"), "labels are shown");
    assert!(t.contains("266.473"), "chi-square as lavaan prints it");
}

#[test]
fn fit_json_follows_the_contract() {
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["converged"], true);
    assert_eq!(v["estimator"], "ML");
    assert_eq!(v["nobs"], 301);
    let x2 = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lhs"] == "visual" && p["op"] == "=~" && p["rhs"] == "x2")
        .unwrap();
    assert!((x2["est"].as_f64().unwrap() - 0.554).abs() < 1e-3);
    assert_eq!(x2["free"], true);
    let x1 = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rhs"] == "x1" && p["op"] == "=~")
        .unwrap();
    assert_eq!(x1["free"], false);
    assert!(x1["z"].is_null() && x1["pvalue"].is_null(), "fixed rows have no test");
    assert_eq!(v["fit"]["npar"], 21.0);
    assert!((v["fit"]["chisq"].as_f64().unwrap() - 85.306).abs() < 1e-3);
    // the report round-trips through the typed schema (unknown keys rejected)
    let r: sem::report::FitReport = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r.parameters.len(), v["parameters"].as_array().unwrap().len());
}

#[test]
fn fit_csv_and_markdown() {
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(t.starts_with("lhs,op,rhs,group,label,free,est,se,z,pvalue,ci_lower,ci_upper,std_lv,std_all\n"));
    assert_eq!(t.lines().count(), 1 + 24, "one row per parameter");
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--format", "markdown"]);
    assert!(stdout(&o).contains("| N | npar | chisq |"));
}

#[test]
fn output_file_is_written_whole() {
    let d = scratch("out");
    let out = d.join("fit.json");
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--format", "json", "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).is_empty());
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["converged"], true);
    // no temporary file left behind
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    // a failing run does not touch an existing output file
    let o = sem(&["fit", HS_MODEL, "no/such.csv", "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"converged\": true"));
}

#[test]
fn check_prints_the_parameter_table() {
    let o = sem(&["check", HS_MODEL]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("free parameters:     21"));
    let o = sem(&["check", "models/bradford.lav", "data/bradford_demo.csv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["npar"], 59);
    assert_eq!(v["df"], 266);
    assert_eq!(v["columns_used"].as_array().unwrap().len(), 25);
    let o = sem(&["check", HS_MODEL, "--std-lv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let vis = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lhs"] == "visual" && p["rhs"] == "visual")
        .unwrap();
    assert_eq!(vis["free"], 0);
    assert_eq!(vis["ustart"], 1.0);
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let d = scratch("syntax");
    let m = write(&d, "m.lav", "visual =~ x1 + x2 + x3\ntextual =~ x4 + + x5\n");
    let o = sem(&["fit", &m, HS_DATA]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("m.lav:2:17"), "{e}");
    assert!(e.contains('^'));
    assert!(stdout(&o).is_empty(), "no result on bad input");
}

#[test]
fn unknown_column_suggests_the_near_miss() {
    let d = scratch("col");
    let m = write(&d, "m.lav", "visual =~ x1 + x2 + X3\n");
    let o = sem(&["fit", &m, HS_DATA]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("`X3`") && e.contains("did you mean `x3`"), "{e}");
}

#[test]
fn non_numeric_cell_names_line_and_column() {
    let d = scratch("cell");
    let data = write(&d, "d.csv", "a,b,c\n1,2,3\n2,oops,4\n3,4,5\n4,5,7\n");
    let m = write(&d, "m.lav", "f =~ a + b + c\n");
    let o = sem(&["fit", &m, &data]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("d.csv:3") && e.contains("`b`") && e.contains("oops"), "{e}");
}

#[test]
fn listwise_deletion_is_reported() {
    let o = sem(&[
        "fit",
        "tests/fixtures/fit/listwise/model.lav",
        "tests/fixtures/fit/listwise/data.csv",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["nobs"], 136);
    assert_eq!(v["rows_dropped"], 165);
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("listwise")));
}

#[test]
fn missing_files_and_bad_options_exit_2() {
    assert_eq!(sem(&["fit", "no/model.lav", HS_DATA]).status.code(), Some(2));
    assert_eq!(sem(&["fit", HS_MODEL, "no/data.csv"]).status.code(), Some(2));
    assert_eq!(sem(&["fit", HS_MODEL]).status.code(), Some(2));
    assert_eq!(sem(&["fit", HS_MODEL, HS_DATA, "--format", "xml"]).status.code(), Some(2));
    assert_eq!(sem(&["fit", HS_MODEL, HS_DATA, "--ci-level", "95"]).status.code(), Some(2));
}

#[test]
fn not_identified_exits_1() {
    let d = scratch("ident");
    // 4 free parameters for 3 moments
    let m = write(&d, "m.lav", "f =~ x1 + x2\nx1 ~~ x2\n");
    let o = sem(&["fit", &m, HS_DATA]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not identified"));
    // no scale for the factor
    let m = write(&d, "m2.lav", "f =~ NA*x1 + x2 + x3\n");
    let o = sem(&["fit", &m, HS_DATA]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("has no scale"));
}

#[test]
fn no_convergence_exits_1_and_says_what_to_try() {
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--max-iter", "2", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "estimates that did not converge are no result");
    let e = stderr(&o);
    assert!(e.contains("did not converge") && e.contains("--max-iter"), "{e}");
}

#[test]
fn defined_parameters_and_hypotheses() {
    // plain labels (a, b, c, ab, total) are no hypotheses: nothing is "not supported"
    let (model, data) = (
        "tests/fixtures/fit/mediation_defined/model.lav",
        "tests/fixtures/fit/mediation_defined/data.csv",
    );
    let o = sem(&["fit", model, data, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["hypotheses"].as_array().unwrap().len(), 0, "{}", v["hypotheses"]);
    let t = stdout(&sem(&["fit", model, data]));
    assert!(!t.contains("not supported") && !t.contains("Hypotheses"), "{t}");

    // listed in `# hypotheses:`, or named like one, they are
    let d = scratch("defined");
    let text = std::fs::read_to_string(model).unwrap().replace("ab    := a*b", "H2 := a*b") + "# hypotheses: a, b\n";
    let m = write(&d, "listed.lav", text);
    let o = sem(&["fit", &m, data, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let hs = v["hypotheses"].as_array().unwrap();
    let names: Vec<&str> = hs.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "H2"]);
    assert_eq!(hs[2]["supported"], false, "ab = 0.027, p = 0.31 in lavaan");
    assert_eq!(hs[0]["supported"], true);
}

/// Every estimator and option family through the binary, as a user runs
/// it (the library-level fixture tests do not go through the CLI's checks).
#[test]
fn every_estimator_runs_end_to_end() {
    for args in [
        vec!["--estimator", "mlm"],
        vec!["--estimator", "mlr"],
        vec!["--estimator", "gls"],
        vec!["--estimator", "uls"],
        vec!["--missing", "fiml"],
        vec!["--group", "school", "--group-equal", "loadings"],
        vec!["--meanstructure", "--modindices", "--residuals"],
    ] {
        let mut a = vec!["fit", HS_MODEL, HS_DATA, "--format", "json"];
        a.extend(&args);
        let o = sem(&a);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["converged"], true, "{args:?}");
        assert!(
            v["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["se"].as_f64().is_some_and(|s| s > 0.0)),
            "{args:?}"
        );
    }
}

/// `--se robust` with ML is lavaan's se = "robust" (robust.sem): the MLM
/// standard errors (lavaan fixture hs_mlm) with the standard, unscaled test.
#[test]
fn se_robust_with_ml_gives_robust_sem_standard_errors() {
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--se", "robust", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["se_type"], "Robust.sem");
    assert!(v["fit"].get("chisq_scaled").is_none());
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/fit/hs_mlm/expected.json").unwrap()).unwrap();
    for (g, w) in v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["parameters"].as_array().unwrap())
    {
        assert_eq!((&g["lhs"], &g["op"], &g["rhs"]), (&w["lhs"], &w["op"], &w["rhs"]));
        let (a, b) = (g["se"].as_f64().unwrap(), w["se"].as_f64().unwrap());
        assert!(
            (a - b).abs() < 1e-3 * b.max(1e-3),
            "{} {} {}: {a} vs lavaan {b}",
            g["lhs"],
            g["op"],
            g["rhs"]
        );
    }
}

#[test]
fn crlf_and_cr_line_ends_keep_line_numbers() {
    let d = scratch("crlf");
    let model = write(&d, "m.lav", "f =~ x1 + x2 + x3\n");
    // the bad cell is on line 4 whatever the line ends
    for (name, nl) in [("lf.csv", "\n"), ("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
        let text = ["x1,x2,x3", "1,2,3", "4,5,6", "7,abc,9", "1,2,3", ""].join(nl);
        let data = write(&d, name, text);
        let o = sem(&["fit", &model, &data]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(
            stderr(&o).contains(&format!("{name}:4: column `x2` holds `abc`")),
            "{name}: {}",
            stderr(&o)
        );
    }
    // a short row after blank CRLF lines
    let data = write(&d, "blank.csv", "x1,x2,x3\r\n1,2,3\r\n\r\n\r\n4,5\r\n");
    assert!(stderr(&sem(&["fit", &model, &data])).contains("blank.csv:5: this row has 2 fields"));
    // model files: the unknown label is on line 3 with LF, CRLF and lone CR
    for (name, nl) in [("lf.lav", "\n"), ("crlf.lav", "\r\n"), ("cr.lav", "\r")] {
        let m = write(&d, name, ["f =~ x1 + x2 + x3", "x4 ~ a*f", "ab := a*zz", ""].join(nl));
        let o = sem(&["check", &m]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(stderr(&o).contains(&format!("{name}:3:9")), "{name}: {}", stderr(&o));
    }
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    for (shell, marker) in [
        ("bash", "complete -F _sem"),
        ("zsh", "#compdef sem"),
        ("fish", "complete -c sem"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = sem(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let t = stdout(&o);
        assert!(t.contains(marker), "{shell}: no `{marker}`");
        for opt in ["estimator", "digits", "require-supported"] {
            // fish writes `-l digits`, the others `--digits`
            let written = if shell == "fish" { format!("-l {opt}") } else { format!("--{opt}") };
            assert!(t.contains(&written), "{shell}: `{written}` missing");
        }
    }
    assert_eq!(sem(&["completions", "tcsh"]).status.code(), Some(2));
    let o = sem(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(t.contains(".TH sem 1"), "roff title");
    for s in [
        "SEM FIT",
        "SEM INVARIANCE",
        "\\-\\-digits",
        "\\-\\-group\\-equal",
        "\\-\\-modindices",
    ] {
        assert!(t.contains(s), "man page lacks `{s}`");
    }
    let d = scratch("man");
    let out = d.join("sem.1");
    assert_eq!(sem(&["man", "--output", out.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), t);
}

#[test]
fn check_markdown_is_markdown() {
    let o = sem(&["check", "models/bradford.lav", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let md = stdout(&o);
    assert!(md.starts_with("## Model `models/bradford.lav`"), "{md}");
    assert!(md.contains("| H1a | `CRQ ~ EOIS` | + |"), "{md}");
    assert!(
        md.contains("| id | lhs | op | rhs |") && md.contains("- degrees of freedom: 266"),
        "{md}"
    );
    assert_ne!(md, stdout(&sem(&["check", "models/bradford.lav"])), "not the text report");
}

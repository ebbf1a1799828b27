//! Hypotheses as a user declares and gates them: the `# expect:` sign
//! directive (and that lavaan's reading of the model is unchanged), the
//! warnings when labels drift from the paper's H1a–H8, and the CI gates of
//! `sem fit` (`--require`, `--require-supported`, exit code 3).

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

const MODEL: &str = "models/bradford.lav";
const DATA: &str = "data/bradford_demo.csv";

fn bradford_with(extra: &str) -> String {
    std::fs::read_to_string(MODEL).unwrap() + extra
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

fn hypothesis<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap()
}

/// The demo data with the HELP items reversed, so that H3, H4 and H6 (all
/// paths into or out of HELP) come out negative.
fn reversed_help(dir: &Path) -> String {
    let text = std::fs::read_to_string(DATA).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let cols: Vec<&str> = header.split(',').map(|c| c.trim_matches('"')).collect();
    let flip: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].starts_with("help")).collect();
    assert_eq!(flip.len(), 3);
    let mut out = format!("{header}\n");
    for l in lines {
        let cells: Vec<String> = l
            .split(',')
            .enumerate()
            .map(|(i, c)| {
                if !flip.contains(&i) {
                    c.to_string()
                } else if let Some(pos) = c.strip_prefix('-') {
                    pos.to_string()
                } else {
                    format!("-{c}")
                }
            })
            .collect();
        out += &(cells.join(",") + "\n");
    }
    write(dir, "reversed_help.csv", &out)
}

#[test]
fn expect_directive_changes_the_expected_sign_and_supported() {
    let d = scratch("expect");
    let plain = json(&sem(&["fit", MODEL, DATA, "--format", "json"]));
    assert_eq!(hypothesis(&plain, "H3")["expected_sign"], "+");
    assert_eq!(hypothesis(&plain, "H3")["supported"], true);

    // declared negative: the positive, significant H3 and H8 are no longer supported
    let m = write(&d, "neg.lav", bradford_with("# expect: H3 < 0, H8 < 0\n"));
    let o = sem(&["fit", &m, DATA, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    for h in ["H3", "H8"] {
        assert_eq!(hypothesis(&v, h)["expected_sign"], "-");
        assert_eq!(hypothesis(&v, h)["supported"], false);
        assert_eq!(hypothesis(&v, h)["est"], hypothesis(&plain, h)["est"], "numbers do not change");
    }
    assert_eq!(hypothesis(&v, "H2")["expected_sign"], "+");
    assert_eq!(hypothesis(&v, "H2")["supported"], true);
    // the contract's keys are all there
    for k in ["name", "lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "supported"] {
        assert!(hypothesis(&v, "H3").get(k).is_some(), "{k}");
    }

    // a negative estimate is supported only when declared negative
    let data = reversed_help(&d);
    let v = json(&sem(&["fit", MODEL, &data, "--format", "json"]));
    for h in ["H3", "H4", "H6"] {
        assert!(hypothesis(&v, h)["est"].as_f64().unwrap() < 0.0, "{h}");
        assert_eq!(hypothesis(&v, h)["supported"], false, "{h}");
    }
    // after a statement, or on a line of its own
    let text = bradford_with("! expect: H6 < 0\n").replace("H3*HELP", "H3*HELP  # expect: H3 < 0, H4<0");
    let m = write(&d, "neg_help.lav", &text);
    let v = json(&sem(&["fit", &m, &data, "--format", "json"]));
    for h in ["H3", "H4", "H6"] {
        assert_eq!(hypothesis(&v, h)["supported"], true, "{h}");
    }
    let v_plain = json(&sem(&["fit", MODEL, &data, "--format", "json"]));
    assert_eq!(v["fit"], v_plain["fit"], "the directive is only a comment to the model");
}

#[test]
fn expect_directive_is_shown_in_text_markdown_and_check() {
    let d = scratch("show");
    let m = write(&d, "neg.lav", bradford_with("# expect: H8 < 0\n"));
    let t = stdout(&sem(&["fit", &m, DATA]));
    let line = t.lines().find(|l| l.trim_start().starts_with("H8 ")).unwrap();
    assert!(line.contains(" - ") && line.ends_with("not supported"), "{line}");
    let md = stdout(&sem(&["fit", &m, DATA, "--format", "markdown"]));
    assert!(md.contains("| H8 | `CRQ ~ COS` | - |"), "{md}");
    let o = sem(&["check", &m, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(hypothesis(&v, "H8")["expected_sign"], "-");
    // the parameter table is the one lavaan reads: the directive is a comment
    let plain = json(&sem(&["check", MODEL, "--format", "json"]));
    assert_eq!(v["parameters"], plain["parameters"]);
    assert!(stdout(&sem(&["check", &m])).contains("H8 (CRQ ~ COS, -)"));
}

#[test]
fn expect_directive_errors_name_file_line_and_column() {
    let d = scratch("bad");
    let m = write(&d, "unknown.lav", bradford_with("# expect: H3 < 0, H9 < 0\n"));
    for cmd in ["fit", "check"] {
        let o = if cmd == "fit" { sem(&[cmd, &m, DATA]) } else { sem(&[cmd, &m]) };
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let e = stderr(&o);
        assert!(e.contains("unknown.lav:17:19") && e.contains("`H9`") && e.contains("H1a"), "{e}");
        assert!(stdout(&o).is_empty(), "no result on bad input");
    }
    let m = write(&d, "syntax.lav", bradford_with("# expect: H3 negative\n"));
    let o = sem(&["fit", &m, DATA]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("syntax.lav:17:11") && e.contains("H3 negative") && e.contains("NAME < 0"),
        "{e}"
    );
}

#[test]
fn labels_that_drift_from_the_paper_are_warned_about() {
    let d = scratch("paper");
    // H4 left off its path, H2's label moved to NET ~ HELP
    let text = std::fs::read_to_string(MODEL)
        .unwrap()
        .replace("H5*ALLO + H4*HELP", "H5*ALLO + H2*HELP")
        .replace("H2*NET", "NET");
    let m = write(&d, "drift.lav", &text);
    let o = sem(&["check", &m, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let w: Vec<String> = json(&o)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert!(
        w.iter().any(|w| w.starts_with("label H4 is missing: the paper's H4 is NET ~ HELP")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("label H2 is on NET ~ HELP, but the paper's H2 is EOIS ~ NET")),
        "{w:?}"
    );
    assert_eq!(w.len(), 2, "{w:?}");
    let o = sem(&["fit", &m, DATA, "--format", "json"]);
    let fw = json(&o)["warnings"].to_string();
    assert!(fw.contains("label H4 is missing"), "{fw}");
    assert!(stdout(&sem(&["check", &m])).contains("warning: label H4 is missing"));

    // the shipped model follows the paper; unrelated models stay quiet
    for m in [
        MODEL,
        "models/political_democracy.lav",
        "tests/fixtures/fit/mediation_defined/model.lav",
    ] {
        let v = json(&sem(&["check", m, "--format", "json"]));
        let w = v["warnings"].to_string();
        assert!(!w.contains("paper"), "{m}: {w}");
    }
    // H-labels without `# paper:` are the model's own hypotheses, not the paper's: quiet
    let own = write(&d, "own.lav", text.replace("# paper: bradford2019\n", ""));
    let v = json(&sem(&["check", &own, "--format", "json"]));
    assert!(!v["warnings"].to_string().contains("paper"), "{}", v["warnings"]);
    assert_eq!(
        v["hypotheses"].as_array().unwrap().len(),
        8,
        "still hypotheses: {}",
        v["hypotheses"]
    );
    let m = write(
        &d,
        "three.lav",
        "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ H1*f\nx7 ~ H2*g + H3*f\n",
    );
    let v = json(&sem(&["check", &m, "--format", "json"]));
    assert!(!v["warnings"].to_string().contains("paper"), "{}", v["warnings"]);
    // an unknown paper is an error at its line and column
    let m = write(&d, "unknown_paper.lav", "y ~ H1*x\n# paper: smith2020\n");
    let o = sem(&["check", &m]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown_paper.lav:2:10") && e.contains("smith2020") && e.contains("bradford2019"),
        "{e}"
    );
}

#[test]
fn only_hypothesis_like_or_listed_labels_are_hypotheses() {
    let d = scratch("which");
    let base = "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ a*f\nx7 ~ H2*g + c*f\ntotal := c + a*H2\n";
    let m = write(&d, "plain.lav", base);
    let v = json(&sem(&["check", &m, "--format", "json"]));
    let names: Vec<&str> = v["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["H2"], "a, c and total are plain labels");
    let m = write(&d, "listed.lav", format!("{base}# hypotheses: total\n# expect: c < 0\n"));
    let v = json(&sem(&["check", &m, "--format", "json"]));
    let names: Vec<&str> = v["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["H2", "c", "total"], "listed in # hypotheses: or # expect:");
    assert_eq!(hypothesis(&v, "c")["expected_sign"], "-");
    // a listed name that is not a labelled path or definition: exit 2 at its column
    let m = write(&d, "bad.lav", format!("{base}# hypotheses: total, f\n"));
    let o = sem(&["check", &m]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.lav:6:22") && stderr(&o).contains("`f`"), "{}", stderr(&o));
    // a label that nearly follows the naming is not silently dropped: a warning says why
    let m = write(&d, "near.lav", "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ h1*f\n");
    let v = json(&sem(&["check", &m, "--format", "json"]));
    assert_eq!(v["hypotheses"].as_array().unwrap().len(), 0);
    assert!(
        v["warnings"].to_string().contains("label `h1` is not a hypothesis"),
        "{}",
        v["warnings"]
    );
    let m = write(
        &d,
        "near_listed.lav",
        "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ h1*f\n# hypotheses: h1\n",
    );
    let v = json(&sem(&["check", &m, "--format", "json"]));
    assert_eq!(v["hypotheses"][0]["name"], "h1");
    assert!(!v["warnings"].to_string().contains("not a hypothesis"), "{}", v["warnings"]);
    // the gate names the rule when nothing is a hypothesis
    let m = write(&d, "none.lav", "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ a*f\n");
    let o = sem(&["fit", &m, "data/HolzingerSwineford1939.csv", "--require-supported", "all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("named like H1"), "{}", stderr(&o));
}

#[test]
fn fit_gates_pass_fail_and_bad_syntax() {
    let d = scratch("gates");
    let o = sem(&[
        "fit",
        MODEL,
        DATA,
        "--require",
        "cfi>=0.95,rmsea<=0.06,srmr<=0.08",
        "--require-supported",
        "all",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty());

    // a failed fit criterion: exit 3, the report is still printed, stderr says which
    let o = sem(&[
        "fit",
        MODEL,
        DATA,
        "--require",
        "cfi>=0.95",
        "--require",
        "srmr<0.01",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(json(&o)["converged"], true);
    let e = stderr(&o);
    assert!(e.contains(DATA) && e.contains("srmr<0.01") && e.contains("srmr = 0.0379"), "{e}");
    assert!(!e.contains("cfi"), "{e}");

    // a hypothesis declared negative is not supported: exit 3
    let m = write(&d, "neg.lav", bradford_with("# expect: H8 < 0\n"));
    let o = sem(&["fit", &m, DATA, "--require-supported", "H1a,H8"]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(e.contains("supported:H8") && e.contains("negative") && !e.contains("H1a"), "{e}");
    assert!(stdout(&o).contains("Hypotheses"));

    // a measure that does not exist fails its gate with that reason
    let o = sem(&["fit", MODEL, DATA, "--require", "cfi_robust>=0.9"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("`cfi_robust` is not a fit measure"), "{}", stderr(&o));

    // lavaan's dotted names work
    let o = sem(&["fit", MODEL, DATA, "--require", "rmsea.ci.upper<=0.05"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // bad gate syntax or an unknown hypothesis: exit 2, nothing printed
    for args in [
        vec!["--require", "cfi=0.95"],
        vec!["--require", "cfi>=good"],
        vec!["--require", "rmsae<=0.08"],
        vec!["--require-supported", "H9"],
        vec!["--require-supported", "all,H1a"],
    ] {
        let mut a = vec!["fit", MODEL, DATA];
        a.extend(args.iter());
        let o = sem(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
        assert!(stderr(&o).contains("--require"), "{args:?}: {}", stderr(&o));
    }

    // an unknown measure is bad usage, refused before fitting, with a did-you-mean
    let o = sem(&["fit", MODEL, "no_such_data.csv", "--require", "rmsae<=0.08"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("`rmsae`") && e.contains("did you mean `rmsea`?") && !e.contains("no_such_data"),
        "{e}"
    );

    // not converged wins over a failed gate
    let o = sem(&["fit", MODEL, DATA, "--max-iter", "2", "--require", "cfi>=0.999"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn help_documents_the_directive_gates_and_exit_code_3() {
    let h = stdout(&sem(&["fit", "--help"]));
    for s in ["# expect: H3 < 0", "--require", "--require-supported", "3 ran fine"] {
        assert!(h.contains(s), "`{s}` missing in\n{h}");
    }
}

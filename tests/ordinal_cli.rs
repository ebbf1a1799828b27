//! `--ordered` as a user meets it: the categories come from the data, the
//! parameter table gains lavaan's thresholds and scale factors, and every
//! bad input (a name that is not a column, too many or too few categories,
//! text in an ordinal column, a category missing from one group, ordinal
//! covariates) is one message naming the column, exit 2, nothing on stdout.

mod common;
use common::*;

const MODEL: &str = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n";
const HS3: &str = "tests/fixtures/ordinal_stats/hs3.csv";

fn refused(o: &std::process::Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    assert!(o.stdout.is_empty(), "nothing on stdout, got {}", stdout(o));
    let e = stderr(o);
    for n in needles {
        assert!(e.contains(n), "`{n}` missing from: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn check_adds_thresholds_and_scales_from_the_data() {
    let d = scratch("check");
    let m = write(&d, "m.lav", MODEL);
    let o = sem(&["check", &m, HS3, "--ordered", "all", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["parameters"].as_array().unwrap();
    let count = |op: &str| rows.iter().filter(|r| r["op"] == op).count();
    // nine 3-category items: two thresholds each, one scale factor each
    assert_eq!(count("|"), 18);
    assert_eq!(count("~*~"), 9);
    // lavaan: ndat = 18 thresholds + 36 polychoric correlations; npar = 6 + 18 + 6 variances/covariances
    assert_eq!(v["ndat"], 54);
    assert_eq!(v["npar"], 30);
    assert_eq!(v["df"], 24);
    // only some variables ordinal: the others keep free intercepts and variances
    let o = sem(&["check", &m, HS3, "--ordered", "x1,x2", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["parameters"].as_array().unwrap();
    let th: Vec<&str> = rows.iter().filter(|r| r["op"] == "|").map(|r| r["lhs"].as_str().unwrap()).collect();
    assert_eq!(th, ["x1", "x1", "x2", "x2"]);
}

#[test]
fn threshold_syntax_is_checked_against_the_categories() {
    let d = scratch("tsyntax");
    let m = write(&d, "m.lav", format!("{MODEL}x1 | a*t1 + t2 + t3\n"));
    refused(&sem(&["check", &m, HS3, "--ordered", "all"]), &["x1", "there is no t3"]);
}

#[test]
fn an_ordered_name_must_be_a_column() {
    let d = scratch("notcol");
    let m = write(&d, "m.lav", MODEL);
    refused(
        &sem(&["fit", &m, HS3, "--ordered", "x1,x10"]),
        &["--ordered: `x10` is not a column of"],
    );
    refused(&sem(&["fit", &m, HS3, "--ordered", "x1,all"]), &["`all` alone"]);
    refused(&sem(&["check", &m, "--ordered", "all"]), &["needs the DATA argument"]);
}

#[test]
fn a_continuous_column_is_not_ordinal() {
    let d = scratch("many");
    let m = write(&d, "m.lav", MODEL);
    refused(
        &sem(&["fit", &m, "data/HolzingerSwineford1939.csv", "--ordered", "x2"]),
        &["ordinal column `x2`", "distinct values", "at most 20 categories"],
    );
}

#[test]
fn one_category_is_not_enough() {
    let d = scratch("one");
    let m = write(&d, "m.lav", "f =~ a + b + c\n");
    let data = write(&d, "d.csv", "a,b,c\n1,1,2\n1,2,1\n1,1,2\n1,2,2\n");
    refused(
        &sem(&["fit", &m, &data, "--ordered", "all"]),
        &["ordinal column `a`", "only one value (1)"],
    );
}

#[test]
fn text_in_an_ordinal_column_names_the_column() {
    let d = scratch("text");
    let m = write(&d, "m.lav", "f =~ a + b + c\n");
    let data = write(&d, "d.csv", "a,b,c\nlow,1,2\nhigh,2,1\nlow,1,2\nhigh,2,2\n");
    refused(
        &sem(&["fit", &m, &data, "--ordered", "a,b,c"]),
        &["column `a`", "low", "ordinal", "numeric codes"],
    );
}

#[test]
fn a_category_missing_from_a_group_is_lavaans_error() {
    let d = scratch("groups");
    let m = write(&d, "m.lav", "f =~ a + b + c\n");
    let mut text = String::from("a,b,c,g\n");
    for i in 0..40 {
        let g = if i % 2 == 0 { "A" } else { "B" };
        // category 3 of `a` only in group A
        let a = if g == "A" && i % 4 == 0 { 3 } else { 1 + (i / 3) % 2 };
        text.push_str(&format!("{a},{},{},{g}\n", 1 + (i / 2) % 2, 1 + (i / 5) % 2));
    }
    let data = write(&d, "d.csv", text);
    refused(
        &sem(&["fit", &m, &data, "--ordered", "all", "--group", "g"]),
        &[
            "(group \"B\" (2nd of 2))",
            "some categories of ordinal variable `a` are empty",
            "[1 2 3]",
        ],
    );
}

#[test]
fn ordinal_covariates_are_conditioned_on() {
    let d = scratch("cov");
    let m = write(&d, "m.lav", "f =~ x1 + x2 + x3\nf ~ x4\n");
    refused(&sem(&["fit", &m, HS3, "--ordered", "x4"]), &["`x4` is an exogenous covariate"]);
    // continuous items: the statistics are conditional on `x4` (lavaan's conditional.x)
    let ok = sem(&["fit", &m, HS3, "--ordered", "x1,x2,x3", "--format", "json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["lhs"] == "f" && p["op"] == "~" && p["rhs"] == "x4" && p["se"].as_f64().is_some_and(|s| s > 0.0)));
    let theta = sem(&["fit", &m, HS3, "--ordered", "x1,x2,x3", "--parameterization", "theta"]);
    assert_eq!(theta.status.code(), Some(0), "{}", stderr(&theta));
    // a continuous indicator next to ordinal ones: its regression on `x4` joins the statistics
    let mixed = sem(&["fit", &m, HS3, "--ordered", "x1,x2", "--format", "json"]);
    assert_eq!(mixed.status.code(), Some(0), "{}", stderr(&mixed));
    let pairwise = sem(&["fit", &m, HS3, "--ordered", "x1,x2,x3", "--missing", "pairwise"]);
    assert_eq!(pairwise.status.code(), Some(0), "{}", stderr(&pairwise));
    refused(
        &sem(&["fit", &m, HS3, "--ordered", "all", "--missing", "fiml"]),
        &["--missing fiml"],
    );
}

#[test]
fn pairwise_deletion_is_for_ordinal_data() {
    let d = scratch("pairwise");
    let m = write(&d, "m.lav", MODEL);
    refused(
        &sem(&["fit", &m, HS3, "--missing", "pairwise"]),
        &["--missing pairwise applies to ordinal variables"],
    );
}

/// The NACOV is formed in the background on the rayon pool
/// (`ordinal::nacov`); the full WLS weight needs it at once. With a pool of
/// one thread the main thread once started the product on the pool while
/// the pool's only thread, running the background job, waited for it: the
/// run hung. It must finish (here: WLS on 400 statistics with N = 400 does
/// not converge, exit 1, as lavaan's fails too), and WLSMV must give the
/// same answer with one thread as with the default pool.
#[test]
fn one_rayon_thread_never_hangs_on_the_background_nacov() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let dir = "tests/fixtures/ordinal/bradford_likert5";
    let (model, data) = (format!("{dir}/model.lav"), format!("{dir}/data.csv"));
    let run = |args: &[&str], threads: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sem"));
        c.args(["fit", &model, &data, "--ordered", "all", "--format", "json"]).args(args);
        if let Some(t) = threads {
            c.env("RAYON_NUM_THREADS", t);
        }
        let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        // read the output on a thread (a full pipe would stall the child)
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("sem fit {args:?} with RAYON_NUM_THREADS={threads:?} hung");
            }
        }
    };
    for _ in 0..3 {
        let o = run(&["--estimator", "wls"], Some("1"));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("did not converge"), "{}", stderr(&o));
    }
    let one: serde_json::Value = serde_json::from_slice(&run(&[], Some("1")).stdout).unwrap();
    let pool: serde_json::Value = serde_json::from_slice(&run(&[], None).stdout).unwrap();
    assert_eq!(one["parameters"], pool["parameters"]);
    assert_eq!(one["fit"], pool["fit"]);
}

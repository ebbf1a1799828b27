//! `sem batch` as a user runs it: the same numbers as `sem fit` on every
//! shipped Bradford data set, output independent of the thread count, glob
//! expansion, failing data sets reported while the others finish, exit codes
//! (0, 1, 2, and 3 for a failed gate), and the four formats.

mod common;
use common::*;

use sem::report::batch::BatchReport;
use std::path::{Path, PathBuf};
use std::process::Output;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

const MODEL: &str = "models/bradford.lav";
const DEMO: &str = "data/bradford_demo.csv";

/// Every shipped data set for the Bradford model: data/bradford_*.csv.
fn shipped() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("data")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("bradford_") && n.ends_with(".csv"))
        .map(|n| format!("data/{n}"))
        .collect();
    v.sort();
    assert!(v.iter().any(|p| p == DEMO));
    v
}

/// A good data set, one missing a column, and a file that does not exist.
fn mixed(dir: &Path) -> (String, String, String) {
    let good = write(dir, "a_good.csv", std::fs::read_to_string(DEMO).unwrap());
    let text: String = std::fs::read_to_string(DEMO)
        .unwrap()
        .lines()
        .map(|l| l.split(',').skip(1).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let bad = write(dir, "b_no_allo1.csv", &text);
    let missing = dir.join("c_missing.csv").display().to_string();
    (good, bad, missing)
}

#[test]
fn batch_equals_fit_on_every_shipped_data_set() {
    let data = shipped();
    let o = sem(&["batch", MODEL, "data/bradford_*.csv", "--format", "json"]);
    let b = json(&o);
    let sets = b["datasets"].as_array().unwrap();
    let names: Vec<&str> = sets.iter().map(|d| d["dataset"].as_str().unwrap()).collect();
    assert_eq!(names, data, "the glob finds every shipped data set, sorted");
    let mut worst = 0;
    for (path, d) in data.iter().zip(sets) {
        let f = sem(&["fit", MODEL, path, "--format", "json"]);
        let code = f.status.code().unwrap();
        worst = worst.max(code);
        if code == 2 {
            assert_eq!(d["status"], "error", "{path}");
            continue;
        }
        let f = json(&f);
        assert_eq!(d["hypotheses"], f["hypotheses"], "{path}: hypotheses identical to sem fit");
        assert_eq!(d["fit"], f["fit"], "{path}: fit measures identical to sem fit");
        assert_eq!(d["nobs"], f["nobs"], "{path}");
        assert_eq!(d["converged"], f["converged"], "{path}");
    }
    if worst == 0 {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // the typed schema reads it back (unknown keys rejected)
    let r: BatchReport = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r.hypotheses.len(), 9);
    assert_eq!(r.exit_code as i32, o.status.code().unwrap());
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let d = scratch("threads");
    let demo = std::fs::read_to_string(DEMO).unwrap();
    let lines: Vec<&str> = demo.lines().collect();
    let mut args = vec!["batch".to_string(), MODEL.to_string()];
    for (i, n) in [300, 150, 220, 260].iter().enumerate() {
        args.push(write(&d, &format!("s{i}.csv"), &(lines[..=*n].join("\n") + "\n")));
    }
    let run = |jobs: &str, format: &str| {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--jobs", jobs, "--format", format]);
        let o = sem(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    for format in ["json", "csv", "table", "markdown"] {
        assert_eq!(run("1", format), run("4", format), "{format}");
    }
    assert_eq!(sem(&["batch", MODEL, DEMO, "--jobs", "0"]).status.code(), Some(2));
}

#[test]
fn a_failing_data_set_is_reported_and_the_others_finish() {
    let d = scratch("fail");
    let (good, bad, missing) = mixed(&d);
    let o = sem(&["batch", MODEL, &good, &bad, &missing, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "bad input in one data set: exit 2");
    let v = json(&o);
    let sets = v["datasets"].as_array().unwrap();
    assert_eq!(sets.len(), 3);
    assert_eq!(sets[0]["status"], "ok");
    assert_eq!(sets[0]["hypotheses"].as_array().unwrap().len(), 9);
    assert_eq!(sets[1]["status"], "error");
    assert!(sets[1]["error"].as_str().unwrap().contains("`allo1`"), "{}", sets[1]);
    assert_eq!(sets[2]["status"], "error");
    assert!(sets[2]["error"].as_str().unwrap().contains("does not exist"), "{}", sets[2]);
    assert_eq!(v["exit_code"], 2);
    let e = stderr(&o);
    assert!(e.contains(&bad) && e.contains(&missing) && e.contains("`allo1`"), "{e}");

    // every format tells the reasons
    for format in ["table", "csv", "markdown"] {
        let o = sem(&["batch", MODEL, &good, &bad, &missing, "--format", format]);
        assert_eq!(o.status.code(), Some(2), "{format}");
        let t = stdout(&o);
        assert!(t.contains("`allo1`") && t.contains("does not exist"), "{format}:\n{t}");
    }
    let t = stdout(&sem(&["batch", MODEL, &good, &bad, &missing]));
    assert!(t.contains("Failures:") && t.contains("failed: bad input"), "{t}");
    assert!(t.contains("0.39*"), "H1a's standardized estimate, supported:\n{t}");

    // a data set that does not converge: exit 1 (unless one had bad input)
    let o = sem(&["batch", MODEL, &good, "--max-iter", "2", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["datasets"][0]["status"], "not_converged");
    let o = sem(&["batch", MODEL, &good, &missing, "--max-iter", "2"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_bad_model_stops_the_batch_before_any_data() {
    let d = scratch("model");
    let m = write(&d, "m.lav", "f =~ allo1 + + allo2\n");
    let o = sem(&["batch", &m, DEMO]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("m.lav:1:"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn globs_are_expanded_sorted_and_deduplicated() {
    let d = scratch("glob");
    let demo = std::fs::read_to_string(DEMO).unwrap();
    let b = write(&d, "b.csv", &demo);
    let a = write(&d, "a.csv", &demo);
    write(&d, "notes.txt", "not data");
    std::fs::create_dir_all(d.join("sub.csv")).unwrap();
    let pattern = format!("{}/*.csv", d.display());
    let o = sem(&["batch", MODEL, &b, &pattern, &a, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let names: Vec<&str> = v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(names, [a.as_str(), b.as_str()]);

    let nothing = format!("{}/*.sav", d.display());
    let o = sem(&["batch", MODEL, &a, &nothing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&nothing), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn batch_gates_exit_3_and_name_the_data_set() {
    let d = scratch("gates");
    let demo = std::fs::read_to_string(DEMO).unwrap();
    let lines: Vec<&str> = demo.lines().collect();
    let full = write(&d, "full.csv", &demo);
    let half = write(&d, "half.csv", &(lines[..150].join("\n") + "\n"));
    let o = sem(&["batch", MODEL, &full, &half, "--require", "cfi>=0.95,rmsea<=0.06,srmr<=0.08"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = sem(&["batch", MODEL, &full, &half, "--require", "srmr<=0.05", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let v = json(&o);
    assert!(v["datasets"][0]["gate_failures"].as_array().unwrap().is_empty());
    assert_eq!(v["datasets"][1]["gate_failures"][0]["criterion"], "srmr<=0.05");
    let e = stderr(&o);
    assert!(e.contains(&half) && e.contains("srmr<=0.05") && !e.contains(&full), "{e}");

    let o = sem(&["batch", MODEL, &full, &half, "--require-supported", "all", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("supported:H5"), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.ends_with("supported:H5;supported:H8")),
        "{}",
        stdout(&o)
    );

    // bad input outranks a failed gate
    let o = sem(&["batch", MODEL, &half, "no/such.csv", "--require", "srmr<=0.05"]);
    assert_eq!(o.status.code(), Some(2));
    // bad gate syntax, unknown hypothesis: exit 2 before any fitting
    for args in [["--require", "srmr=<0.05"], ["--require-supported", "H42"]] {
        let o = sem(&["batch", MODEL, &full, args[0], args[1]]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn formats_follow_the_contract() {
    let d = scratch("formats");
    let (good, bad, _) = mixed(&d);
    let o = sem(&["batch", MODEL, &good, &bad, "--format", "csv"]);
    let t = stdout(&o);
    let header = t.lines().next().unwrap();
    assert!(
        header.starts_with("dataset,hypothesis,lhs,op,rhs,est,se,z,pvalue,std_all,supported,"),
        "{header}"
    );
    for c in [
        "nobs",
        "chisq",
        "df",
        "pvalue_chisq",
        "cfi",
        "tli",
        "rmsea",
        "srmr",
        "status",
        "error",
    ] {
        assert!(header.split(',').any(|h| h == c), "{c}");
    }
    assert_eq!(t.lines().count(), 1 + 2 * 9, "one row per data set and hypothesis");
    let mut r = csv::Reader::from_reader(t.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(&rows[0][0], good.as_str());
    assert_eq!(&rows[0][1], "H6");
    assert_eq!(&rows[0][12], "300");
    assert_eq!(&rows[9][20], "error");

    let t = stdout(&sem(&["batch", MODEL, &good, &bad]));
    for s in [
        "Hypotheses:",
        "* supported",
        "Fit:",
        "CFI",
        "RMSEA",
        "SRMR",
        "[1]",
        "[2]",
        "H1a",
        "CRQ ~ EOIS",
        "9/9",
    ] {
        assert!(t.contains(s), "`{s}` missing in\n{t}");
    }
    let t = stdout(&sem(&["batch", MODEL, &good, &bad, "--format", "markdown"]));
    assert!(t.contains("| hypothesis | path | sign | [1] | [2] |"), "{t}");
    assert!(t.contains("### Failures"), "{t}");

    // --output writes the report there
    let out = d.join("batch.json");
    let o = sem(&["batch", MODEL, &good, "--format", "json", "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).is_empty());
    let r: BatchReport = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r.datasets.len(), 1);
}

#[test]
fn the_library_runs_a_batch() {
    let data = vec![PathBuf::from(DEMO), PathBuf::from("no/such.csv")];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let r = sem::batch::run(
        Path::new(MODEL),
        &data,
        &sem::pipeline::FitOptions::default(),
        &sem::gates::Gates::default(),
        Some(2),
        &|_| {
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        },
    )
    .unwrap();
    assert_eq!(done.into_inner(), 2);
    assert_eq!(r.exit_code, 2);
    let fit = sem::pipeline::fit(Path::new(MODEL), Path::new(DEMO), &Default::default()).unwrap();
    assert_eq!(r.datasets[0].hypotheses, fit.hypotheses);
    assert_eq!(r.datasets[0].fit, fit.fit);
}

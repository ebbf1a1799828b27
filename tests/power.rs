//! `sem power` and sharding: the Monte Carlo power of small effects against
//! lavaan's asymptotic Wald power (tests/fixtures/power/wald.json, written
//! by wald_power.R), the coverage of the intervals, the contract's JSON
//! shape, the other data options (Likert + ordinal, missing + FIML, groups),
//! shards merged in any order against one run byte for byte (power and
//! batch, in every format; shards as parallel processes; a Slurm job array
//! with a dependent merge job when Slurm is there), and the refusals.

use sem::pipeline::FitOptions;
use sem::power::{finish, Design, PowerOptions, PowerReport, Study};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const FIX: &str = "tests/fixtures/power";

fn sem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sem")).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "sem failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected exit 2, stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(o.stdout.is_empty(), "a refusal prints no report");
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        e.trim_end().lines().filter(|l| l.starts_with("error")).count(),
        1,
        "one message: {e}"
    );
    e
}

/// Byte-for-byte equality, with the first differing line in the message.
fn same(a: &str, b: &str, what: &str) {
    if a != b {
        let (i, (x, y)) = a
            .lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .unwrap_or((0, ("(lengths differ)", "")));
        panic!("{what}: line {}: `{x}` vs `{y}` ({} vs {} bytes)", i + 1, a.len(), b.len());
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sem-power-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixture(name: &str) -> String {
    format!("{FIX}/{name}")
}

fn run_study(pop: &str, model: &str, ns: &[usize], reps: usize, seed: u64) -> PowerReport {
    let opts = PowerOptions {
        population: PathBuf::from(fixture(pop)),
        model: Some(PathBuf::from(fixture(model))),
        designs: ns.iter().map(|&n| Design { groups: vec![n] }).collect(),
        reps,
        seed,
        likert: None,
        missing: 0.0,
        fit: FitOptions::default(),
        jobs: None,
    };
    let study = Study::new(opts).unwrap();
    let accs = study.run(None, &|| {}).unwrap();
    finish(&study.frame, &accs)
}

/// Monte Carlo power within 4 MC SEs of lavaan's Wald power; sem's own Wald
/// power equal to lavaan's; mean coverage of loadings and paths in [0.93, 0.97].
fn check_against_lavaan(study: &str, pop: &str, model: &str) {
    let wald: Value = serde_json::from_str(&std::fs::read_to_string(fixture("wald.json")).unwrap()).unwrap();
    let reference = &wald["studies"][study]["conditions"];
    let r = run_study(pop, model, &[200, 400], 500, 20261128);
    let mut coverage = Vec::new();
    for c in &r.conditions {
        assert_eq!(c.reps, 500);
        assert!(c.converged >= 495, "N = {}: {} converged", c.n, c.converged);
        for h in &c.hypotheses {
            let lav = reference[c.n.to_string()][&h.name]["wald_power"].as_f64().unwrap();
            let ours = h.wald_power.unwrap();
            assert!(
                (ours - lav).abs() < 1e-4,
                "{study} N = {} {}: Wald power {ours} vs lavaan {lav}",
                c.n,
                h.name
            );
            let (p, se) = (h.power.unwrap(), h.mc_se.unwrap());
            // the MC SE at the reference power (ours is 0 when power is 0 or 1)
            let se_ref = (lav * (1.0 - lav) / c.converged as f64).sqrt().max(se);
            eprintln!("{study} N = {} {}: MC {p:.3} (SE {se:.3}), Wald {lav:.3}", c.n, h.name);
            if h.op == ":=" {
                // a product's delta-method z is not normal in finite samples (its SE moves with
                // the estimates): the Wald power of an indirect effect is a poor approximation,
                // known to understate the test's power at moderate N; only a lower bound here
                assert!(
                    p >= lav - 4.0 * se_ref,
                    "{study} N = {} {}: MC power {p} below Wald {lav}",
                    c.n,
                    h.name
                );
                continue;
            }
            assert!(
                (p - lav).abs() <= 4.0 * se_ref,
                "{study} N = {} {}: Monte Carlo power {p} (MC SE {se}) vs Wald {lav}",
                c.n,
                h.name
            );
        }
        coverage.extend(
            c.parameters
                .iter()
                .filter(|p| p.op == "=~" || p.op == "~")
                .map(|p| p.coverage.unwrap()),
        );
    }
    let mean = coverage.iter().sum::<f64>() / coverage.len() as f64;
    eprintln!("{study}: mean coverage of {} loadings and paths {mean:.4}", coverage.len());
    assert!((0.93..=0.97).contains(&mean), "{study}: mean coverage {mean}");
}

#[test]
fn small_effects_power_agrees_with_lavaans_wald_power() {
    check_against_lavaan("small_effects", "small_effects.lav", "small_effects_model.lav");
}

#[test]
fn mediation_power_agrees_with_lavaans_wald_power() {
    check_against_lavaan("mediation", "mediation.lav", "mediation_model.lav");
}

#[test]
fn json_has_the_contracts_shape_and_the_population_values() {
    let out = ok(&sem(&[
        "power",
        &fixture("small_effects.lav"),
        "--model",
        &fixture("small_effects_model.lav"),
        "--n",
        "150,300",
        "--reps",
        "20",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let conds = v["conditions"].as_array().unwrap();
    assert_eq!(conds.len(), 2);
    assert_eq!(conds[0]["n"], 150);
    for c in conds {
        for k in ["n", "reps", "converged", "not_admissible", "hypotheses", "parameters"] {
            assert!(c.get(k).is_some(), "{k}");
        }
        for h in c["hypotheses"].as_array().unwrap() {
            for k in ["name", "lhs", "op", "rhs", "power", "mc_se"] {
                assert!(h.get(k).is_some(), "{k}");
            }
        }
        for p in c["parameters"].as_array().unwrap() {
            for k in [
                "lhs",
                "op",
                "rhs",
                "group",
                "population",
                "mean_est",
                "bias",
                "rel_bias",
                "sd_est",
                "mean_se",
                "coverage",
                "power",
            ] {
                assert!(p.get(k).is_some(), "{k}");
            }
        }
    }
    // the marker-scaled analysis model: loading 1 on x1, so the others are 0.7/0.7 = 1 and
    // the path F2 ~ F1 keeps 0.15 (both factors scaled by 0.7)
    let params = conds[0]["parameters"].as_array().unwrap();
    let find = |lhs: &str, op: &str, rhs: &str| {
        params.iter().find(|p| p["lhs"] == lhs && p["op"] == op && p["rhs"] == rhs).unwrap()["population"]
            .as_f64()
            .unwrap()
    };
    assert!((find("F1", "=~", "x2") - 1.0).abs() < 1e-6);
    assert!((find("F2", "~", "F1") - 0.15).abs() < 1e-6);
    assert!((find("F1", "~~", "F1") - 0.49).abs() < 1e-6);
    // the same numbers whatever the thread count
    let one = ok(&sem(&[
        "power",
        &fixture("small_effects.lav"),
        "--model",
        &fixture("small_effects_model.lav"),
        "--n",
        "150,300",
        "--reps",
        "20",
        "--format",
        "json",
        "--jobs",
        "1",
    ]));
    same(&one, &out, "--jobs 1");
}

#[test]
fn default_analysis_model_frees_the_population_values() {
    let out = ok(&sem(&[
        "power",
        &fixture("mediation.lav"),
        "--n",
        "100",
        "--reps",
        "10",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let params = v["conditions"][0]["parameters"].as_array().unwrap();
    let b = params
        .iter()
        .find(|p| p["lhs"] == "y" && p["op"] == "~" && p["rhs"] == "m")
        .unwrap();
    assert!((b["population"].as_f64().unwrap() - 0.20).abs() < 1e-9);
    assert_eq!(v["model_file"], v["population_file"]);
}

#[test]
fn likert_ordinal_missing_fiml_and_groups_run() {
    let base = [
        "power",
        &fixture("small_effects.lav"),
        "--model",
        &fixture("small_effects_model.lav"),
        "--reps",
        "6",
        "--format",
        "json",
    ];
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["--n", "300", "--likert", "5", "--ordered", "all"],
        vec!["--n", "200", "--missing", "0.1", "--missing", "fiml"],
        vec!["--n", "150+150"],
    ];
    cases.push(vec!["--n", "200", "--missing", "fiml", "--missing", "0.2", "--estimator", "mlr"]);
    for extra in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter());
        let v: Value = serde_json::from_str(&ok(&sem(&args))).unwrap();
        let c = &v["conditions"][0];
        assert_eq!(c["reps"], 6, "{extra:?}");
        assert!(c["converged"].as_u64().unwrap() >= 5, "{extra:?}: {c}");
        let h = &c["hypotheses"][0];
        assert!(h["power"].as_f64().is_some(), "{extra:?}");
        if extra.contains(&"--ordered") {
            assert_eq!(v["estimator"], "WLSMV");
            let t = c["parameters"].as_array().unwrap().iter().find(|p| p["op"] == "|").unwrap();
            // thresholds of five equiprobable categories: qnorm(0.2), ...
            assert!((t["population"].as_f64().unwrap() + 0.8416212).abs() < 1e-6, "{t}");
        }
        if extra.contains(&"150+150") {
            assert_eq!(c["group_n"], serde_json::json!([150, 150]));
            assert!(c["parameters"].as_array().unwrap().iter().any(|p| p["group"] == 2));
        }
    }
}

fn power_args<'a>(pop: &'a str, model: &'a str) -> Vec<&'a str> {
    vec!["power", pop, "--model", model, "--n", "60,120", "--reps", "14", "--seed", "5"]
}

fn shards(dir: &Path, extra: &[&str], of: usize) -> Vec<PathBuf> {
    let (pop, model) = (fixture("small_effects.lav"), fixture("small_effects_model.lav"));
    (1..=of)
        .map(|k| {
            let out = dir.join(format!("part-{k}.json"));
            let shard = format!("{k}/{of}");
            let mut args = power_args(&pop, &model);
            args.extend(extra);
            args.extend(["--shard", &shard, "--output", out.to_str().unwrap()]);
            ok(&sem(&args));
            out
        })
        .collect()
}

fn merge(parts: &[&PathBuf], format: &str) -> Output {
    let mut args: Vec<&str> = vec!["merge", "--format", format];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    sem(&args)
}

#[test]
fn three_power_shards_merged_in_any_order_equal_one_run() {
    let dir = scratch("shards");
    let (pop, model) = (fixture("small_effects.lav"), fixture("small_effects_model.lav"));
    let parts = shards(&dir, &[], 3);
    for format in ["json", "text", "csv", "markdown", "html"] {
        let mut args = power_args(&pop, &model);
        args.extend(["--format", format]);
        let whole = ok(&sem(&args));
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            let merged = ok(&merge(&[&parts[order[0]], &parts[order[1]], &parts[order[2]]], format));
            same(&merged, &whole, &format!("{format}, order {order:?}"));
        }
    }
    // a shard's partial is not the report
    let partial: Value = serde_json::from_str(&std::fs::read_to_string(&parts[0]).unwrap()).unwrap();
    assert_eq!(partial["sem_partial"]["kind"], "power");
    assert_eq!(partial["conditions"][0]["reps"], 5);
}

#[test]
fn shards_run_as_parallel_processes_and_merge() {
    let dir = scratch("parallel");
    let (pop, model) = (fixture("small_effects.lav"), fixture("small_effects_model.lav"));
    let children: Vec<_> = (1..=3)
        .map(|k| {
            let out = dir.join(format!("p{k}.json"));
            let shard = format!("{k}/3");
            let mut args = power_args(&pop, &model);
            args.extend(["--shard", &shard, "--output", out.to_str().unwrap(), "--jobs", "1"]);
            (Command::new(env!("CARGO_BIN_EXE_sem")).args(&args).spawn().unwrap(), out)
        })
        .collect();
    let mut parts = Vec::new();
    for (mut child, out) in children {
        assert!(child.wait().unwrap().success());
        parts.push(out);
    }
    let mut args = power_args(&pop, &model);
    args.extend(["--format", "json"]);
    let whole = ok(&sem(&args));
    same(&ok(&merge(&[&parts[1], &parts[2], &parts[0]], "json")), &whole, "parallel shards");
}

#[test]
fn merge_refuses_incomplete_sets_and_different_studies() {
    let dir = scratch("refuse");
    let parts = shards(&dir, &[], 3);
    let e = fails(&merge(&[&parts[0], &parts[2]], "json"));
    assert!(e.contains("incomplete") && e.contains("2/3"), "{e}");
    let e = fails(&merge(&[&parts[0], &parts[0], &parts[1], &parts[2]], "json"));
    assert!(e.contains("given twice"), "{e}");
    let other = scratch("refuse-other");
    let seed2 = shards(&other, &["--alpha", "0.1"], 3);
    let e = fails(&merge(&[&parts[0], &seed2[1], &parts[2]], "json"));
    assert!(e.contains("different studies") && e.contains("--alpha"), "{e}");
    let not_partial = dir.join("report.json");
    std::fs::write(&not_partial, "{\"conditions\": []}").unwrap();
    let e = fails(&merge(&[&not_partial], "json"));
    assert!(e.contains("not a partial report"), "{e}");
}

#[test]
fn batch_shards_merged_in_any_order_equal_one_run() {
    let dir = scratch("batch");
    let mut files = Vec::new();
    for s in 1..=7 {
        let f = dir.join(format!("d{s}.csv"));
        ok(&sem(&[
            "simulate",
            &fixture("mediation.lav"),
            "--n",
            "80",
            "--seed",
            &s.to_string(),
            "--output",
            f.to_str().unwrap(),
        ]));
        files.push(f);
    }
    let pattern = dir.join("d*.csv");
    let model = fixture("mediation_model.lav");
    let base = ["batch", model.as_str(), pattern.to_str().unwrap()];
    let parts: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let out = dir.join(format!("part-{k}.json"));
            let shard = format!("{k}/3");
            let mut args = base.to_vec();
            args.extend(["--shard", &shard, "--output", out.to_str().unwrap()]);
            ok(&sem(&args));
            out
        })
        .collect();
    let p1: Value = serde_json::from_str(&std::fs::read_to_string(&parts[0]).unwrap()).unwrap();
    // positions 0, 3, 6 of the sorted list
    assert_eq!(p1["positions"], serde_json::json!([0, 3, 6]));
    for (format, merge_format) in [
        ("json", "json"),
        ("table", "text"),
        ("csv", "csv"),
        ("markdown", "markdown"),
        ("html", "html"),
    ] {
        let mut args = base.to_vec();
        args.extend(["--format", format]);
        let whole = ok(&sem(&args));
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            let merged = ok(&merge(&[&parts[order[0]], &parts[order[1]], &parts[order[2]]], merge_format));
            same(&merged, &whole, &format!("{format}, order {order:?}"));
        }
    }
    let e = fails(&merge(&[&parts[0], &parts[1]], "json"));
    assert!(e.contains("3/3"), "{e}");
}

#[test]
fn bad_input_is_one_clear_message() {
    let dir = scratch("bad");
    let free = dir.join("free.lav");
    std::fs::write(&free, "F =~ 0.7*x1 + x2 + 0.7*x3\nF ~~ 1*F\n").unwrap();
    let e = fails(&sem(&["power", free.to_str().unwrap(), "--n", "100", "--reps", "5"]));
    assert!(e.contains("free parameters") && e.contains("F =~ x2") && e.contains(":1:"), "{e}");
    let impossible = dir.join("impossible.lav");
    std::fs::write(
        &impossible,
        "F1 =~ 0.7*x1 + 0.7*x2\nF2 =~ 0.7*x3 + 0.7*x4\nF1 ~~ 1*F1\nF2 ~~ 1*F2\nF1 ~~ 1.5*F2\n",
    )
    .unwrap();
    let e = fails(&sem(&["power", impossible.to_str().unwrap(), "--n", "100", "--reps", "5"]));
    assert!(e.contains("beyond ±1") && e.contains(":5:"), "{e}");
    let pop = fixture("small_effects.lav");
    let e = fails(&sem(&["power", &pop, "--n", "100,8", "--reps", "5"]));
    assert!(e.contains("--n 8") && e.contains("9 observed variables"), "{e}");
    let e = fails(&sem(&["power", &pop, "--n", "100", "--reps", "5", "--shard", "4/3"]));
    assert!(e.contains("--shard 4/3"), "{e}");
    let e = fails(&sem(&[
        "batch",
        &fixture("mediation_model.lav"),
        "data/bradford_demo.csv",
        "--shard",
        "4/3",
    ]));
    assert!(e.contains("--shard 4/3"), "{e}");
    let e = fails(&sem(&["power", &pop, "--n", "100", "--missing", "1.5"]));
    assert!(e.contains("--missing"), "{e}");
    let e = fails(&sem(&["power", &pop, "--n", "100", "--reps", "0"]));
    assert!(e.contains("--reps"), "{e}");
}

#[test]
fn target_power_finds_the_smallest_n() {
    let out = ok(&sem(&[
        "power",
        &fixture("mediation.lav"),
        "--model",
        &fixture("mediation_model.lav"),
        "--reps",
        "60",
        "--target-power",
        "0.8",
        "--hypotheses",
        "H3",
        "--n",
        "100",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let t = &v["target"];
    assert_eq!(t["reached"], true);
    let n = t["n"].as_u64().unwrap() as usize;
    // lavaan's Wald power of H3 is 0.664 at N = 400: 80% needs more
    assert!(n > 400 && n < 1200, "{n}");
    let conds = v["conditions"].as_array().unwrap();
    let ns: Vec<u64> = conds.iter().map(|c| c["n"].as_u64().unwrap()).collect();
    let mut sorted = ns.clone();
    sorted.sort();
    assert_eq!(ns, sorted, "the curve is sorted by N");
    let at = conds.iter().find(|c| c["n"].as_u64() == Some(n as u64)).unwrap();
    assert!(at["hypotheses"][0]["power"].as_f64().unwrap() >= 0.8);
    let e = fails(&sem(&[
        "power",
        &fixture("mediation.lav"),
        "--target-power",
        "0.8",
        "--hypotheses",
        "H9",
        "--reps",
        "5",
    ]));
    assert!(e.contains("H9"), "{e}");
}

/// `sbatch --array` on a real (single-node) Slurm: examples/slurm/submit.sh runs three
/// shards as an array job and the merge as a dependent job; the report equals one run.
#[test]
fn slurm_job_array_with_dependent_merge() {
    let required = std::env::var("SEM_REQUIRE_SLURM").is_ok_and(|v| v == "1");
    let up = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        assert!(
            !required,
            "SEM_REQUIRE_SLURM=1 but Slurm is not running (sinfo failed): start it with ../shared/tools/slurm-local.sh start"
        );
        println!("skipped: slurm not installed");
        return;
    }
    let dir = scratch("slurm");
    let root = std::env::current_dir().unwrap();
    let (pop, model) = (
        root.join(fixture("small_effects.lav")),
        root.join(fixture("small_effects_model.lav")),
    );
    let report = dir.join("report.json");
    let mut child = Command::new(root.join("examples/slurm/submit.sh"))
        .current_dir(&dir)
        .env("SEM", env!("CARGO_BIN_EXE_sem"))
        .env("POPULATION", &pop)
        .env("MODEL", &model)
        .env("NS", "60")
        .env("REPS", "9")
        .env("SEED", "3")
        .env("SHARDS", "3")
        .env("OUT", dir.join("parts"))
        .env("FORMAT", "json")
        .env("REPORT", &report)
        .env("WAIT", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the Slurm jobs did not finish in 10 minutes (squeue shows them)");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "submit.sh failed: {}{}\nlogs in {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        dir.display()
    );
    for k in 1..=3 {
        assert!(dir.join(format!("parts/part-{k}.json")).exists(), "array task {k} wrote its shard");
    }
    let whole = ok(&sem(&[
        "power",
        pop.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--n",
        "60",
        "--reps",
        "9",
        "--seed",
        "3",
        "--format",
        "json",
    ]));
    // the settings name the files as given: the same absolute paths here and in the jobs
    same(&std::fs::read_to_string(&report).unwrap(), &whole, "Slurm");
}

#[test]
fn groups_draw_from_their_own_populations() {
    let pop = fixture("two_groups.lav");
    let run = |extra: &[&str]| -> String {
        let mut args = vec!["power", &pop, "--n", "200+200", "--reps", "400", "--seed", "17"];
        args.extend(extra);
        ok(&sem(&args))
    };
    let v: Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    let c = &v["conditions"][0];
    assert_eq!(c["group_n"], serde_json::json!([200, 200]));
    let converged = c["converged"].as_f64().unwrap();
    assert!(converged >= 395.0, "{converged} converged");
    let params = c["parameters"].as_array().unwrap();
    let row = |op: &str, rhs: &str, group: u64| -> &Value {
        params
            .iter()
            .find(|p| p["lhs"] != "d" && p["op"] == op && p["rhs"] == rhs && p["group"] == group)
            .unwrap_or_else(|| panic!("no row {op} {rhs} in group {group}"))
    };
    let num = |p: &Value, k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{k} of {p}"));
    // each group's own population value, in the marker metric
    for (group, beta) in [(1, 0.1), (2, 0.5)] {
        let path = row("~", "f", group);
        assert!((num(path, "population") - beta / 0.7).abs() < 1e-6, "{path}");
        // bias within 4 Monte Carlo SEs of 0
        let mc_se = num(path, "sd_est") / converged.sqrt();
        assert!(num(path, "bias").abs() < 4.0 * mc_se, "{path}");
        for p in [path, row("=~", "x2", group), row("=~", "x3", group)] {
            let cov = num(p, "coverage");
            assert!((0.9..=0.98).contains(&cov), "coverage {cov}: {p}");
        }
    }
    // the small path is rarely detected, the large one always
    let (low, high) = (num(row("~", "f", 1), "power"), num(row("~", "f", 2), "power"));
    assert!(low < 0.4 && high > 0.95, "{low} {high}");
    let hyp = |name: &str| {
        let h = c["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap();
        num(h, "power")
    };
    assert!(hyp("H1") < 0.4 && hyp("H2") > 0.95, "{}", c["hypotheses"]);
    // supported = significant with the expected sign, a subset of the rejections
    assert!(hyp("H1") <= low && hyp("H2") <= high);
    // the difference at the groups' own values
    let d = params.iter().find(|p| p["lhs"] == "d").unwrap();
    assert!((num(d, "population") - 0.4 / 0.7).abs() < 1e-6, "{d}");
    assert!(num(d, "bias").abs() < 4.0 * num(d, "sd_est") / converged.sqrt(), "{d}");
    // groups drawn alike are no longer said to be
    assert!(!v["warnings"].to_string().contains("same population"), "{}", v["warnings"]);
    let text = run(&[]);
    assert!(text.contains("0.143") && text.contains("0.714"), "{text}");
}

#[test]
fn group_population_shards_merge_and_wrong_group_counts_are_refused() {
    let dir = scratch("groupshards");
    let pop = fixture("two_groups.lav");
    let base = ["power", &pop, "--n", "40+40,60+50", "--reps", "9", "--seed", "3"];
    let parts: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let out = dir.join(format!("part-{k}.json"));
            let shard = format!("{k}/3");
            let mut args = base.to_vec();
            args.extend(["--shard", &shard, "--output", out.to_str().unwrap()]);
            ok(&sem(&args));
            out
        })
        .collect();
    let mut args = base.to_vec();
    args.extend(["--format", "json"]);
    let whole = ok(&sem(&args));
    let merged = ok(&merge(&[&parts[2], &parts[0], &parts[1]], "json"));
    same(&merged, &whole, "two populations, shards 3, 1, 2");
    // c(0.1, 0.5) is two groups: refused with three, and with one
    for n in ["100+100+100", "300"] {
        let e = fails(&sem(&["power", &pop, "--n", n, "--reps", "5"]));
        let groups = if n == "300" { "1 group" } else { "3 groups" };
        assert!(
            e.contains(&format!("has 2 values but --n {n} draws {groups}")) && e.contains("two_groups.lav:7:"),
            "{e}"
        );
    }
}

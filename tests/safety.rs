//! Regression tests of the adversarial review (issue 18) that are not about
//! `--output` (see `output_safety.rs`): numbers that must not be silently
//! wrong, names that lavaan refuses, inputs that must not hang or exhaust
//! memory, and messages that must say what they mean.

mod common;
use common::*;

const HS_DATA: &str = "data/HolzingerSwineford1939.csv";

fn json(o: &std::process::Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn param<'a>(r: &'a serde_json::Value, lhs: &str, op: &str) -> &'a serde_json::Value {
    r["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lhs"] == lhs && p["op"] == op)
        .unwrap_or_else(|| panic!("no row {lhs} {op}"))
}

#[test]
fn defined_parameters_are_scale_safe() {
    let d = scratch("defined-scale");
    let m = write(
        &d,
        "m.lav",
        "# hypotheses: big, small, u\nvisual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ a*visual\nbig := 1e200*a\nsmall := 1e-170*a\nu := sqrt(a - a)\n",
    );
    let r = json(&sem(&["fit", &m, HS_DATA, "--format", "json"]));
    let a = param(&r, "textual", "~");
    let za = a["z"].as_f64().unwrap();
    for (name, k) in [("big", 1e200), ("small", 1e-170)] {
        let p = param(&r, name, ":=");
        let z = p["z"].as_f64().unwrap_or_else(|| panic!("{name}: no z"));
        assert!((z / za - 1.0).abs() < 1e-9, "{name}: z {z} vs {za}");
        let se = p["se"].as_f64().unwrap();
        assert!((se / (k * a["se"].as_f64().unwrap()) - 1.0).abs() < 1e-9, "{name}: se {se:e}");
        assert!(
            p["ci_upper"].as_f64().unwrap() > p["ci_lower"].as_f64().unwrap(),
            "{name}: a real interval"
        );
    }
    // an SE that cannot be computed: no z, p or interval, and the hypothesis is undetermined
    let u = param(&r, "u", ":=");
    for k in ["se", "z", "pvalue", "ci_lower", "ci_upper"] {
        assert!(u[k].is_null(), "u: {k} = {}", u[k]);
    }
    let h = r["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == "u").unwrap();
    assert_eq!(h["decision"], "undetermined");
    assert_eq!(h["supported"], false);
    let big = r["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == "big").unwrap();
    assert_eq!(big["decision"], "supported");
    let text = stdout(&sem(&["fit", &m, HS_DATA]));
    let line = text.lines().find(|l| l.contains("u := ")).unwrap();
    assert!(line.ends_with("undetermined"), "{line}");
    // a huge estimate is printed in scientific notation, not 200 digits
    let line = text.lines().find(|l| l.contains("big := ")).unwrap();
    assert!(line.len() < 120 && line.contains("e199"), "{line}");
}

/// Display width of a line in terminal columns (CJK characters take two).
fn width(s: &str) -> usize {
    s.chars().map(|c| if ('\u{3000}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum()
}

#[test]
fn cjk_names_are_aligned_by_display_width() {
    let d = scratch("cjk");
    let hs = std::fs::read_to_string(HS_DATA).unwrap();
    let (head, rest) = hs.split_once('\n').unwrap();
    let head = head.replace("x1", "視覚1").replace("x2", "視覚2").replace("x3", "視覚3");
    let data = write(&d, "cjk.csv", format!("{head}\n{rest}"));
    let m = write(
        &d,
        "cjk.lav",
        "# hypotheses: 仮説, d\n視覚 =~ 視覚1 + 視覚2 + 視覚3\ntextual =~ x4 + x5 + x6\ntextual ~ 仮説*視覚\nd := 2*仮説\n",
    );
    let o = sem(&["fit", &m, &data]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    // rows of one table end in the same terminal column, whatever the script of the name
    let rows = |a: &str, b: &str| {
        let la = text.lines().find(|l| l.trim_start().starts_with(a)).unwrap();
        let lb = text.lines().find(|l| l.trim_start().starts_with(b)).unwrap();
        assert_eq!(width(la), width(lb), "\n{la}\n{lb}");
    };
    rows("視覚2 ", "x5 ");
    rows(".視覚2", ".x5");
    rows("仮説 ", "d        d := ");
}

#[test]
fn defined_names_must_be_new() {
    let d = scratch("defined-names");
    let base = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ a*visual\n";
    for (extra, line, words) in [
        ("d := 2*a\nd := 3*a\n", 5, "`d` is defined twice"),
        ("a := 2*a\n", 4, "`a` is already the label of a parameter"),
        ("x4 := 2*a\n", 4, "`x4` is a variable of the model"),
        ("visual := 2*a\n", 4, "`visual` is a variable of the model"),
    ] {
        let m = write(&d, "m.lav", format!("{base}{extra}"));
        for cmd in ["check", "fit"] {
            let o = if cmd == "check" {
                sem(&[cmd, &m])
            } else {
                sem(&[cmd, &m, HS_DATA])
            };
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{extra}: {e}");
            assert!(e.contains(words) && e.contains(&format!("m.lav:{line}:1")), "{extra}: {e}");
            assert!(stdout(&o).is_empty());
        }
    }
}

/// The parameter table of a wide model (its defaults found through the
/// hash index): every factor pair has one covariance, every indicator one
/// residual variance, none twice, and user rows are not repeated.
#[test]
fn wide_models_get_every_default_row_once() {
    let d = scratch("wide");
    let f = 60;
    let mut m = String::new();
    for a in 0..f {
        m.push_str(&format!("F{a} =~ x{a}_1 + x{a}_2 + x{a}_3\n"));
    }
    // user rows, one in reversed order: not duplicated by the defaults
    m.push_str("F1 ~~ F0\nx0_1 ~~ x0_1\n");
    let m = write(&d, "wide.lav", m);
    let o = sem(&["check", &m, "--format", "json"]);
    let r = json(&o);
    let rows = r["parameters"].as_array().unwrap();
    let mut seen = std::collections::HashSet::new();
    for p in rows {
        let (l, op, rh) = (p["lhs"].as_str().unwrap(), p["op"].as_str().unwrap(), p["rhs"].as_str().unwrap());
        let key = if op == "~~" && l > rh { (rh, op, l) } else { (l, op, rh) };
        assert!(seen.insert(key), "{l} {op} {rh} twice");
    }
    let count = |op: &str, same: bool| rows.iter().filter(|p| p["op"] == op && (p["lhs"] == p["rhs"]) == same).count();
    assert_eq!(count("=~", false), 3 * f);
    assert_eq!(count("~~", true), 3 * f + f, "residual and factor variances");
    assert_eq!(count("~~", false), f * (f - 1) / 2, "factor covariances");
    assert_eq!(r["npar"], 3 * f * 2 - f + f + f * (f - 1) / 2);
}

/// A column in tiny units or far from zero is not "constant": the check is
/// relative to the column's own scale, and the standardized solution is the
/// one of the unscaled data. A truly constant column is still refused.
#[test]
fn constant_is_relative_to_the_columns_scale() {
    let d = scratch("scaled");
    let hs = std::fs::read_to_string(HS_DATA).unwrap();
    let mut lines = hs.lines();
    let head = lines.next().unwrap();
    let cols: Vec<&str> = head.split(',').collect();
    let (i1, i2) = (
        cols.iter().position(|c| *c == "\"x1\"").unwrap(),
        cols.iter().position(|c| *c == "\"x2\"").unwrap(),
    );
    let mut scaled = format!("{head}\n");
    let mut constant = format!("{head}\n");
    for l in lines {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        let (a, b): (f64, f64) = (f[i1].parse().unwrap(), f[i2].parse().unwrap());
        f[i1] = format!("{:e}", a * 1e-7);
        f[i2] = format!("{}", b + 1e7);
        scaled.push_str(&f.join(","));
        scaled.push('\n');
        f[i1] = "1e7".into();
        constant.push_str(&f.join(","));
        constant.push('\n');
    }
    let scaled = write(&d, "scaled.csv", scaled);
    let m = write(&d, "m.lav", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n");
    let a = json(&sem(&["fit", &m, &scaled, "--format", "json"]));
    let b = json(&sem(&["fit", &m, HS_DATA, "--format", "json"]));
    for rhs in ["x1", "x2", "x3"] {
        let pa = a["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["op"] == "=~" && p["rhs"] == rhs)
            .unwrap();
        let pb = b["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["op"] == "=~" && p["rhs"] == rhs)
            .unwrap();
        let (x, y) = (pa["std_all"].as_f64().unwrap(), pb["std_all"].as_f64().unwrap());
        assert!((x - y).abs() < 1e-4, "{rhs}: std_all {x} vs {y}");
    }
    let constant = write(&d, "constant.csv", constant);
    let o = sem(&["fit", &m, &constant]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("column `x1` is constant"), "{}", stderr(&o));
}

/// Huge bootstrap counts are refused up front with the cap named (no
/// abort, no capacity-overflow panic, no memory growing with the draws).
#[test]
fn huge_bootstrap_counts_are_refused() {
    let m = "tests/fixtures/fit/hs_cfa/model.lav";
    let data = "tests/fixtures/fit/hs_cfa/data.csv";
    for n in [
        "100001",
        "10000000",
        "1000000000000",
        "18446744073709551615",
        "18446744073709551616",
    ] {
        for test in [&["--se", "bootstrap"][..], &["--test", "bollen-stine"][..]] {
            let mut a = vec!["fit", m, data, "--bootstrap", n];
            a.extend_from_slice(test);
            let o = sem(&a);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{n}: {e}");
            assert!(!e.contains("panicked") && stdout(&o).is_empty(), "{n}: {e}");
            assert!(e.contains("--bootstrap") || e.contains("bootstrap"), "{n}: {e}");
            if n != "18446744073709551616" {
                assert!(e.contains("at most 100000"), "{n}: {e}");
            }
        }
    }
}

const HS_MODEL: &str = "tests/fixtures/fit/hs_cfa/model.lav";
const HS_CSV: &str = "tests/fixtures/fit/hs_cfa/data.csv";

/// Feed `bytes` into a new FIFO from a thread; the thread ends when the
/// reader has read it all or has gone (a broken pipe).
fn fifo_with(dir: &std::path::Path, name: &str, bytes: Vec<u8>, repeat: bool) -> (String, std::thread::JoinHandle<()>) {
    let p = dir.join(name);
    assert!(std::process::Command::new("mkfifo").arg(&p).status().unwrap().success());
    let q = p.clone();
    let h = std::thread::spawn(move || {
        use std::io::Write;
        let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&q) else {
            return;
        };
        loop {
            if f.write_all(&bytes).is_err() || !repeat {
                return;
            }
        }
    });
    (p.display().to_string(), h)
}

/// Wait for a FIFO's writer; if `sem` never opened the FIFO, open it here
/// (without blocking) so that the writer is not left waiting forever.
fn finish(h: std::thread::JoinHandle<()>, fifo: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    if !h.is_finished() {
        // O_NONBLOCK: opening the read end never waits
        let r = std::fs::OpenOptions::new().read(true).custom_flags(0o4000).open(fifo);
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(r);
    }
    h.join().unwrap();
}

/// Data and models from a FIFO or a process substitution are read once, as
/// a stream: no hang, no "empty" on a second open; `compare` (which fits
/// twice) sees the same data both times.
#[test]
fn fifos_and_process_substitution_are_read_once() {
    let d = scratch("fifo-data");
    let want = json(&sem(&["fit", HS_MODEL, HS_DATA, "--format", "json"]));
    let data = std::fs::read(HS_DATA).unwrap();
    for (i, extra) in [&[][..], &["--group", "school"][..], &["--estimator", "mlr"][..]]
        .iter()
        .enumerate()
    {
        let (fifo, h) = fifo_with(&d, &format!("data{i}.csv"), data.clone(), false);
        let mut a = vec!["fit", HS_MODEL, fifo.as_str(), "--format", "json"];
        a.extend_from_slice(extra);
        let o = sem(&a);
        finish(h, &fifo);
        let r = json(&o);
        if extra.is_empty() {
            assert_eq!(r["fit"]["chisq"], want["fit"]["chisq"]);
        }
    }
    // the model from a FIFO too, with `check` (which reads the model's comments as well)
    let (fifo, h) = fifo_with(&d, "model.lav", std::fs::read(HS_MODEL).unwrap(), false);
    let o = sem(&["check", &fifo]);
    finish(h, &fifo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // process substitution through bash: /dev/fd/N, a pipe
    let bin = env!("CARGO_BIN_EXE_sem");
    for cmd in [
        format!("{bin} fit {HS_MODEL} <(cat {HS_CSV}) --format json"),
        format!("{bin} fit <(cat {HS_MODEL}) <(cat {HS_CSV}) --format json"),
        format!("{bin} compare {HS_MODEL} {HS_MODEL} <(cat {HS_CSV}) --format json"),
    ] {
        let o = std::process::Command::new("bash").arg("-c").arg(&cmd).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        assert!(!stderr(&o).contains("empty"), "{}", stderr(&o));
    }
}

/// `/dev/zero` and `/dev/urandom` (private nodes made with mknod) as data
/// or model, and an endless line, are refused early with bounded memory.
#[test]
fn binary_devices_and_endless_lines_are_refused_early() {
    let d = scratch("devices");
    let mut nodes = vec![];
    for (name, minor) in [("zero", 5), ("urandom", 9)] {
        let p = d.join(name);
        let ok = std::process::Command::new("mknod")
            .arg(&p)
            .args(["c", "1", &minor.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            nodes.push(p.display().to_string());
        } else {
            eprintln!("skipped the device nodes: mknod needs root");
        }
    }
    for node in &nodes {
        for (args, what) in [
            (vec!["fit", HS_MODEL, node.as_str()], "data file"),
            (vec!["fit", HS_MODEL, node.as_str(), "--group", "school"], "data file"),
            (vec!["fit", node.as_str(), HS_CSV], "model file"),
            (vec!["check", node.as_str()], "model file"),
        ] {
            let o = sem(&args);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
            assert!(e.contains(what) && e.contains("binary"), "{args:?}: {e}");
        }
    }
    // an endless line without a zero byte, fed through a FIFO until the reader gives up
    let (fifo, h) = fifo_with(&d, "endless.csv", vec![b'a'; 1 << 16], true);
    let o = sem(&["fit", HS_MODEL, &fifo]);
    finish(h, &fifo);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1 is longer than 64 MB"), "{}", stderr(&o));
    let (fifo, h) = fifo_with(&d, "endless.lav", vec![b'a'; 1 << 16], true);
    let o = sem(&["check", &fifo]);
    finish(h, &fifo);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1 is longer than 1 MB"), "{}", stderr(&o));
}

/// A long fit shows a spinner on stderr when it is a terminal (here a
/// pseudo-terminal from `script`, with the delay set to 0), and nothing at
/// all when stderr is a pipe.
#[test]
fn long_fits_show_progress_on_a_terminal_only() {
    let d = scratch("progress");
    let out = d.join("report.txt");
    let bin = env!("CARGO_BIN_EXE_sem");
    let cmd = format!("{bin} fit {HS_MODEL} {HS_CSV} --output {}", out.display());
    match std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("SEM_PROGRESS_AFTER_MS", "0")
        .output()
    {
        Ok(o) if o.status.success() => {
            let tty = String::from_utf8_lossy(&o.stdout);
            assert!(tty.contains("fitting") && tty.contains("model.lav"), "{tty:?}");
        }
        _ => eprintln!("skipped the terminal half: no `script` here"),
    }
    let o = std::process::Command::new(bin)
        .args(["fit", HS_MODEL, HS_CSV])
        .env("SEM_PROGRESS_AFTER_MS", "0")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

/// The fit names its stages (`sem::stage`), which the spinner shows after
/// the elapsed time: reading, estimating with the iteration and F, standard
/// errors, fit measures, in that order.
#[test]
fn a_fit_names_its_stages_for_the_spinner() {
    let opt = sem::pipeline::FitOptions::default();
    sem::pipeline::fit(std::path::Path::new(HS_MODEL), std::path::Path::new(HS_CSV), &opt).unwrap();
    let seen = sem::stage::seen();
    let at = |k: &str| {
        seen.iter()
            .position(|s| s == k)
            .unwrap_or_else(|| panic!("no stage {k:?} in {seen:?}"))
    };
    let read = at("reading the model and the data");
    let est = read + seen[read..].iter().position(|s| s == "estimating").unwrap();
    let se = est + seen[est..].iter().position(|s| s == "standard errors").unwrap();
    assert!(seen[se..].iter().any(|s| s == "fit measures"), "{seen:?}");
}

/// Names with an accent typed as a combining character (NFD) are the same
/// names as the composed ones (NFC), in the model and in the data's header.
#[test]
fn identifiers_are_normalized_to_nfc() {
    let d = scratch("nfc");
    let hs = std::fs::read_to_string(HS_DATA).unwrap();
    let (head, rest) = hs.split_once('\n').unwrap();
    // the header spells x1 as "ré1" decomposed, the model composed; and the other way round for x2
    let head = head.replace("\"x1\"", "\"re\u{301}1\"").replace("\"x2\"", "\"r\u{e9}2\"");
    let data = write(&d, "nfd.csv", format!("{head}\n{rest}"));
    let m = write(
        &d,
        "nfd.lav",
        "caf\u{e9} =~ r\u{e9}1 + re\u{301}2 + x3\ncafe\u{301} ~~ a*cafe\u{301}\n",
    );
    for extra in [&[][..], &["--estimator", "mlr"][..]] {
        let mut a = vec!["fit", m.as_str(), data.as_str(), "--format", "json"];
        a.extend_from_slice(extra);
        let r = json(&sem(&a));
        let lv: Vec<&str> = r["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["op"] == "=~")
            .map(|p| p["lhs"].as_str().unwrap())
            .collect();
        assert_eq!(lv, vec!["caf\u{e9}"; 3], "one factor, named in NFC");
    }
}

#[test]
fn messages_say_what_they_mean() {
    // a letter as the delimiter is named as such, not "other"
    let o = sem(&["fit", HS_MODEL, HS_DATA, "--delimiter", "n"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("not `n`-separated") && !e.contains("other"), "{e}");
    // a group is named by its value in the group column, never a bare number
    let d = scratch("groupmsg");
    let data = write(&d, "g.csv", "x1,x2,x3,g\n1,2,3,16\n2,3,4,16\n1,2,5,7\n3,3,3,7\n4,2,1,7\n2,5,1,7\n");
    let m = write(&d, "g.lav", "f =~ x1 + x2 + x3\n");
    let o = sem(&["fit", &m, &data, "--group", "g"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("(rows with g = 16)"), "{e}");
}

/// Parameters that are not identified in one group are named with that
/// group's value in the group column.
#[test]
fn not_identified_parameters_name_their_group_by_value() {
    let d = scratch("ni-group");
    let m = write(&d, "ni.lav", "f1 =~ x1 + x2\nf2 =~ x4 + x5\nf1 ~~ c(NA, 0)*f2\n");
    let o = sem(&["fit", &m, HS_DATA, "--group", "school"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("`f1 =~ x2` (group school = \"Grant-White\" (2nd of 2))"), "{e}");
    assert!(!e.contains("Pasteur"), "only the group where it happens: {e}");
}

/// Every message about one group of a multiple-group model names it by its
/// value and its position (issue 18: "group 2" said neither): inadmissible
/// solutions, --validity and --effects warnings.
#[test]
fn group_warnings_name_the_group_by_value_and_position() {
    let d = scratch("group-labels");
    let check = |model: &str, extra: &[&str], want: &[&str]| {
        let m = write(&d, "m.lav", model);
        let mut args = vec!["fit", m.as_str(), HS_DATA, "--group", "school"];
        args.extend_from_slice(extra);
        let e = stderr(&sem(&args)) + &stdout(&sem(&args));
        for w in want {
            assert!(e.contains(w), "{w}: {e}");
        }
        assert!(
            !e.contains("in group 1") && !e.contains("in group 2") && !e.contains("(group 2)"),
            "{e}"
        );
    };
    // theta not positive definite in the second group only
    check(
        "f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6\nx1 ~~ c(NA, -0.2)*x1\n",
        &[],
        &["(theta) in group school = \"Grant-White\" (2nd of 2) is not positive definite"],
    );
    check(
        "f1 =~ x1 + x2 + x3\nf2 =~ x4\n",
        &["--validity"],
        &[
            "factor `f2` in group school = \"Pasteur\" (1st of 2) has 1 indicator",
            "factor `f2` in group school = \"Grant-White\" (2nd of 2) has 1 indicator",
        ],
    );
    check(
        "f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6\nf3 =~ x7 + x8 + x9\nf2 ~ f1\nf3 ~ f2\nf1 ~ f3\n",
        &["--effects"],
        &["the structural model in group school = \"Pasteur\" (1st of 2) has a feedback loop"],
    );
}

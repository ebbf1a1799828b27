//! Every data format `sem` reads gives the CSV's numbers (issue 15): the
//! same survey (tests/fixtures/formats, made by make_formats.R with haven
//! and openxlsx) as CSV, SPSS .sav (raw and bytecode) and .zsav with -99
//! and a range declared missing, Stata .dta 117/118/119 with `.` and `.a`,
//! Excel with the data on the second sheet, a semicolon/decimal-comma CSV
//! and standard input. Then the bad files: truncated, corrupt, encrypted,
//! of an unsupported version, with a sheet or a label that does not work;
//! each is one message naming the file, exit 2, never a panic.

mod common;
mod fuzz_harness;
use common::*;

use std::io::Write;
use std::process::{Command, Output, Stdio};

const DIR: &str = "tests/fixtures/formats";
const MODEL: &str = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn model(tag: &str) -> (std::path::PathBuf, String) {
    let d = scratch(tag);
    let m = write(&d, "m.lav", MODEL);
    (d, m)
}

/// `sem ARGS` with `input` on standard input.
fn sem_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = c.stdin.take().unwrap();
    let input = input.to_vec();
    let t = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let o = c.wait_with_output().unwrap();
    t.join().unwrap();
    o
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The estimates and standard errors of two reports agree to 1e-12
/// (relative), and so do N and the group names.
fn same_numbers(what: &str, a: &serde_json::Value, b: &serde_json::Value) {
    assert_eq!(a["nobs"], b["nobs"], "{what}: N");
    let pa = a["parameters"].as_array().unwrap();
    let pb = b["parameters"].as_array().unwrap();
    assert_eq!(pa.len(), pb.len(), "{what}");
    for (x, y) in pa.iter().zip(pb) {
        for key in ["lhs", "op", "rhs", "group"] {
            assert_eq!(x[key], y[key], "{what}");
        }
        for key in ["est", "se"] {
            let (u, v) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!(
                (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
                "{what}: {} {} {} {key}: {u} vs {v}",
                x["lhs"],
                x["op"],
                x["rhs"]
            );
        }
    }
    let (ca, cb) = (a["fit"]["chisq"].as_f64().unwrap(), b["fit"]["chisq"].as_f64().unwrap());
    assert!((ca - cb).abs() <= 1e-12 * cb, "{what}: chisq {ca} vs {cb}");
}

fn fit(m: &str, data: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["fit", m, data, "--format", "json"];
    args.extend_from_slice(extra);
    json(&sem(&args))
}

#[test]
fn every_format_gives_the_csv_numbers() {
    let (d, m) = model("every");
    let csv = fit(&m, &fixture("hs.csv"), &[]);
    assert_eq!(csv["nobs"], 289, "12 rows have a planted missing value");
    for (file, extra) in [
        ("hs.sav", &[][..]),
        ("hs_plain.sav", &[]),
        ("hs.zsav", &[]),
        ("hs_117.dta", &[]),
        ("hs_118.dta", &[]),
        ("hs_119.dta", &[]),
        ("hs.xlsx", &["--sheet", "survey"]),
        ("hs_semicolon.csv", &["--decimal", ","]),
        ("hs_semicolon.csv", &["--decimal", ",", "--delimiter", ";"]),
    ] {
        same_numbers(file, &fit(&m, &fixture(file), extra), &csv);
    }
    // the row-keeping reader (FIML) too
    let fiml = fit(&m, &fixture("hs.csv"), &["--missing", "fiml"]);
    for file in ["hs.zsav", "hs_118.dta", "hs.sav"] {
        same_numbers(file, &fit(&m, &fixture(file), &["--missing", "fiml"]), &fiml);
    }
    // standard input: text and binary
    for file in ["hs.csv", "hs.sav", "hs_119.dta"] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        same_numbers(file, &json(&sem_stdin(&["fit", &m, "-", "--format", "json"], &bytes)), &csv);
    }
    // the model from standard input
    let o = sem_stdin(&["fit", "-", &fixture("hs.zsav"), "--format", "json"], MODEL.as_bytes());
    same_numbers("model on stdin", &json(&o), &csv);
    // a .tsv file is tab-separated without --delimiter
    let tsv = write(
        &d,
        "survey.tsv",
        std::fs::read_to_string(fixture("hs.csv")).unwrap().replace(',', "\t"),
    );
    same_numbers("tsv", &fit(&m, &tsv, &[]), &csv);
    // an extension that lies: the content decides
    let lying = write(&d, "survey.csv", std::fs::read(fixture("hs.sav")).unwrap());
    same_numbers("sav named .csv", &fit(&m, &lying, &[]), &csv);
    let lying = write(&d, "survey.sav", std::fs::read(fixture("hs_118.dta")).unwrap());
    same_numbers("dta named .sav", &fit(&m, &lying, &[]), &csv);
}

#[test]
fn groups_from_value_labels() {
    let (_d, m) = model("groups");
    let csv = fit(&m, &fixture("hs.csv"), &["--group", "school"]);
    for file in ["hs.sav", "hs.zsav", "hs_117.dta", "hs_119.dta"] {
        let r = fit(&m, &fixture(file), &["--group", "school"]);
        same_numbers(file, &r, &csv);
        let o = sem(&["fit", &m, &fixture(file), "--group", "school"]);
        let text = stdout(&o);
        assert!(text.contains("Pasteur") && text.contains("Grant-White"), "{file}:\n{text}");
    }
    let r = fit(&m, &fixture("hs.xlsx"), &["--group", "school", "--sheet", "survey"]);
    same_numbers("xlsx", &r, &csv);
    // a labelled numeric column used as data is its codes
    let o = sem(&["fit", &m, &fixture("hs.sav"), "--group", "sex"]);
    assert!(stdout(&o).contains("boy") && stdout(&o).contains("girl"), "{}", stderr(&o));
}

/// One failure: exit 2, nothing on stdout, one message holding `words`.
fn fails(o: &Output, words: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "exit code; stderr:\n{e}");
    assert!(stdout(o).is_empty(), "{}", stdout(o));
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(e.lines().filter(|l| l.starts_with("error")).count(), 1, "{e}");
    for w in words {
        assert!(e.contains(w), "`{w}` missing from:\n{e}");
    }
}

#[test]
fn bad_files_are_one_message() {
    let (d, m) = model("bad");
    let sav = std::fs::read(fixture("hs.sav")).unwrap();
    // truncated anywhere: in the header, the dictionary, the data
    for cut in [10, 100, 200, 700, 1500, 3000, sav.len() / 2, sav.len() - 3] {
        let f = write(&d, &format!("cut{cut}.sav"), &sav[..cut]);
        fails(&sem(&["fit", &m, &f]), &[&format!("cut{cut}.sav")]);
    }
    for (name, src) in [("hs.zsav", "z"), ("hs_118.dta", "dta"), ("hs.xlsx", "xlsx")] {
        let b = std::fs::read(fixture(name)).unwrap();
        for cut in [20, 300, b.len() / 2, b.len() - 1] {
            let f = write(&d, &format!("cut{cut}-{src}.{}", name.rsplit('.').next().unwrap()), &b[..cut]);
            let o = sem(&["fit", &m, &f, "--sheet", "survey"]);
            fails(&o, &[&format!("cut{cut}-{src}")]);
        }
    }
    // the announced number of cases is not there
    let mut short = sav.clone();
    short.truncate(sav.len() - 8 * 40);
    let f = write(&d, "short.sav", &short);
    fails(&sem(&["fit", &m, &f]), &["short.sav", "truncated"]);
    // a corrupt dictionary record
    let mut bad = sav.clone();
    bad[176] = 42;
    let f = write(&d, "rec.sav", &bad);
    fails(&sem(&["fit", &m, &f]), &["rec.sav", "not a valid SPSS file", "record type 42"]);
    // an extension that promises a format the bytes are not
    let f = write(&d, "text.sav", "x1,x2\n1,2\n");
    fails(&sem(&["fit", &m, &f]), &["text.sav", "not an SPSS data file", "rename it to .csv"]);
    let f = write(&d, "notzip.xlsx", "x1,x2\n1,2\n");
    fails(&sem(&["fit", &m, &f]), &["notzip.xlsx", "not an Excel workbook"]);
    let f = write(&d, "zip.xlsx", b"PK\x03\x04 not really a zip");
    fails(&sem(&["fit", &m, &f]), &["zip.xlsx", "not a readable Excel workbook"]);
}

#[test]
fn sheets_versions_passwords_and_labels() {
    let (d, m) = model("sheets");
    // an unknown sheet lists the sheets; the first sheet without the columns says so
    fails(
        &sem(&["fit", &m, &fixture("hs.xlsx"), "--sheet", "data"]),
        &["hs.xlsx", "no sheet named `data`", "`notes`, `survey`"],
    );
    fails(
        &sem(&["fit", &m, &fixture("hs.xlsx")]),
        &["hs.xlsx", "`x1`", "sheet `notes`", "--sheet"],
    );
    fails(
        &sem(&["fit", &m, &fixture("hs.csv"), "--sheet", "survey"]),
        &["hs.csv", "--sheet", "delimited text"],
    );
    // a password-protected workbook is an encrypted compound file
    let mut enc = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    enc.extend(vec![0u8; 500]);
    enc.extend("EncryptionInfo".encode_utf16().flat_map(|u| u.to_le_bytes()));
    enc.extend("EncryptedPackage".encode_utf16().flat_map(|u| u.to_le_bytes()));
    enc.extend(vec![7u8; 500]);
    let f = write(&d, "secret.xlsx", &enc);
    fails(&sem(&["fit", &m, &f]), &["secret.xlsx", "password-protected"]);
    // Stata formats before 117, and a release number that is not 117-119
    let f = write(&d, "old.dta", b"\x72\x02\x01\x00\x0a\x00\x2c\x01\x00\x00");
    fails(&sem(&["fit", &m, &f]), &["old.dta", "format 114", "Stata 13"]);
    let mut dta = std::fs::read(fixture("hs_118.dta")).unwrap();
    dta[28..31].copy_from_slice(b"120");
    let f = write(&d, "v120.dta", &dta);
    fails(&sem(&["fit", &m, &f]), &["v120.dta", "format 120", "not supported"]);
    // two codes of the group column share a label: refused, not merged
    let mut dup = std::fs::read(fixture("hs_duplabel.sav")).unwrap();
    let at = dup.windows(4).position(|w| w == b"BBBB").unwrap();
    dup[at..at + 4].copy_from_slice(b"AAAA");
    let f = write(&d, "dup.sav", &dup);
    fails(
        &sem(&["fit", &m, &f, "--group", "school"]),
        &["dup.sav", "`school`", "label `AAAA`", "two codes"],
    );
    // without --group the labels do not matter
    assert!(sem(&["fit", &m, &f]).status.success());
    // model and data cannot both be standard input
    fails(&sem_stdin(&["fit", "-", "-"], b""), &["standard input"]);
}

#[test]
fn numeric_missing_codes_and_the_warning_that_suggests_them() {
    let (d, m) = model("na");
    let text = std::fs::read_to_string(fixture("hs.csv")).unwrap();
    // the planted missing x5 values as -99, the x7 ones as 999
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for l in lines.iter_mut().skip(1) {
        let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
        if cells[8].is_empty() {
            cells[8] = "-99".into();
        }
        if cells[10].is_empty() {
            cells[10] = "999".into();
        }
        *l = cells.join(",");
    }
    let coded = write(&d, "coded.csv", lines.join("\n") + "\n");
    // the fit does not converge with the codes as data: the message says why
    let o = sem(&["fit", &m, &coded]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--na -99"), "{}", stderr(&o));
    let o = sem(&["check", &m, &coded]);
    let warnings = stderr(&o) + &stdout(&o);
    assert!(warnings.contains("`x5`") && warnings.contains("--na -99"), "{warnings}");
    assert!(warnings.contains("`x7`") && warnings.contains("--na 999"), "{warnings}");
    let csv = fit(&m, &fixture("hs.csv"), &[]);
    same_numbers("--na", &fit(&m, &coded, &["--na", "-99,999"]), &csv);
    // a numeric code matches however the number is written
    let decimals = write(
        &d,
        "decimals.csv",
        std::fs::read_to_string(&coded).unwrap().replace(",-99,", ",-99.00,"),
    );
    same_numbers("--na -99 on -99.00", &fit(&m, &decimals, &["--na", "-99,999"]), &csv);
    same_numbers(
        "--na -99 on -99.00, FIML",
        &fit(&m, &decimals, &["--na", "-99,999", "--missing", "fiml"]),
        &fit(&m, &fixture("hs.csv"), &["--missing", "fiml"]),
    );
    // the same for the row-keeping reader, and no warning once declared
    let r = fit(&m, &coded, &["--na", "-99,999", "--missing", "fiml"]);
    assert!(!r["warnings"].to_string().contains("--na"), "{}", r["warnings"]);
    // SPSS's declared -99 needs no --na; a numeric --na code applies to SPSS too
    let sav = fit(&m, &fixture("hs.sav"), &[]);
    assert!(!sav["warnings"].to_string().contains("--na"), "{}", sav["warnings"]);
    let r = fit(&m, &fixture("hs.sav"), &["--na", "1"]);
    assert!(r["nobs"].as_u64().unwrap() < 289);
}

#[test]
fn a_decimal_comma_without_the_option_says_what_to_do() {
    let (_d, m) = model("decimal");
    fails(
        &sem(&["fit", &m, &fixture("hs_semicolon.csv"), "--delimiter", ";"]),
        &["hs_semicolon.csv", "`x1`", "--decimal ,"],
    );
    fails(
        &sem(&["fit", &m, &fixture("hs.csv"), "--decimal", ",", "--delimiter", ","]),
        &["--decimal", "--delimiter ';'"],
    );
}

/// Deterministic mutations of every fixture (byte flips, truncations,
/// insertions, huge counts written over header fields) through the
/// readers: an error or data, never a panic.
#[test]
fn mutated_fixtures_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in [
        "hs.sav",
        "hs_plain.sav",
        "hs.zsav",
        "hs_117.dta",
        "hs_118.dta",
        "hs_119.dta",
        "hs.xlsx",
    ] {
        let orig = std::fs::read(fixture(name)).unwrap();
        for round in 0..120 {
            let mut b = orig.clone();
            match round % 4 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let i = (next() as usize) % b.len();
                        b[i] = next() as u8;
                    }
                }
                1 => b.truncate((next() as usize) % b.len()),
                2 => {
                    let i = (next() as usize) % 2000.min(b.len());
                    let end = (i + 4).min(b.len());
                    b[i..end].fill(0xff);
                }
                _ => {
                    let i = (next() as usize) % b.len();
                    let extra: Vec<u8> = (0..next() % 16).map(|_| next() as u8).collect();
                    b.splice(i..i, extra);
                }
            }
            let group = if round % 3 == 0 { Some("school") } else { None };
            fuzz_harness::read_formats(&b, &["x1", "x5", "x7"], group);
        }
    }
}

/// Hostile 1 KiB files whose headers claim billions of cases, variables or
/// labels: refused quickly, in little memory (the binary runs with its
/// address space capped at 1 GiB).
#[test]
fn hostile_headers_in_bounded_memory() {
    let (d, m) = model("hostile");
    let sav = std::fs::read(fixture("hs.sav")).unwrap();
    let dta = std::fs::read(fixture("hs_118.dta")).unwrap();
    let mut cases = vec![];
    // SPSS: huge case count, huge label count, huge extension record, huge string width
    let mut b = sav[..1024].to_vec();
    b[80..84].copy_from_slice(&i32::MAX.to_le_bytes());
    cases.push(("cases.sav", b));
    let mut b = sav[..176].to_vec();
    b.extend(3i32.to_le_bytes());
    b.extend(u32::MAX.to_le_bytes());
    b.resize(1024, 0x41);
    cases.push(("labels.sav", b));
    let mut b = sav[..176].to_vec();
    for v in [7i32, 13, 1, i32::MAX] {
        b.extend(v.to_le_bytes());
    }
    b.resize(1024, 0x41);
    cases.push(("ext.sav", b));
    // Stata: N and K at their largest
    let mut b = dta[..1024.min(dta.len())].to_vec();
    let n_at = b.windows(3).position(|w| w == b"<N>").unwrap() + 3;
    b[n_at..n_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("rows.dta", b));
    let mut b = dta[..1024].to_vec();
    let k_at = b.windows(3).position(|w| w == b"<K>").unwrap() + 3;
    b[k_at..k_at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    cases.push(("vars.dta", b));
    // a zsav whose block index claims 4 MB from a few bytes
    let z = std::fs::read(fixture("hs.zsav")).unwrap();
    let mut b = z.clone();
    let n = b.len();
    b[n - 8..n - 4].copy_from_slice(&(1u32 << 22).to_le_bytes());
    cases.push(("bomb.zsav", b));
    for (name, bytes) in cases {
        let f = write(&d, name, &bytes);
        let cmd = format!("ulimit -v 1048576; exec {} fit {m} {f}", env!("CARGO_BIN_EXE_sem"));
        let start = std::time::Instant::now();
        let o = Command::new("sh").args(["-c", &cmd]).output().unwrap();
        assert!(start.elapsed().as_secs() < 20, "{name}: took {:?}", start.elapsed());
        fails(&o, &[name]);
    }
}

#[test]
fn check_describes_each_variable_in_every_format() {
    let (d, _) = model("describe");
    let m = write(&d, "m.lav", "f =~ sex + grade + x1 + x5\n");
    let csv = json(&sem(&["check", &m, &fixture("hs.csv"), "--format", "json"]));
    let vars = csv["describe"].as_array().unwrap();
    let by = |n: &str| vars.iter().find(|v| v["name"] == n).unwrap().clone();
    assert_eq!((by("x1")["n"].as_u64(), by("x1")["missing"].as_u64()), (Some(297), Some(4)));
    assert_eq!(by("x1")["type"], "continuous");
    assert_eq!(by("sex")["type"], "categorical");
    assert_eq!(by("sex")["categories"], serde_json::json!([[1.0, 146], [2.0, 155]]));
    // x5 with -99 declared missing in SPSS: the same description
    for file in ["hs.sav", "hs.zsav", "hs_119.dta"] {
        let r = json(&sem(&["check", &m, &fixture(file), "--format", "json"]));
        assert_eq!(r["describe"], csv["describe"], "{file}");
    }
    let text = stdout(&sem(&["check", &m, &fixture("hs.xlsx"), "--sheet", "survey"]));
    assert!(text.contains("categorical") && text.contains("1: 146, 2: 155"), "{text}");
}

#[test]
fn every_command_takes_every_format() {
    let (d, m) = model("commands");
    let b = write(&d, "b.lav", format!("{MODEL}visual ~~ 0*textual\n"));
    let files: Vec<String> = ["hs.sav", "hs.zsav", "hs_118.dta"].iter().map(|f| fixture(f)).collect();
    let mut args = vec!["batch", m.as_str()];
    args.extend(files.iter().map(String::as_str));
    let o = sem(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["hs.sav", "hs.zsav", "hs_118.dta"] {
        assert!(stdout(&o).contains(f), "{}", stdout(&o));
    }
    let o = sem(&["compare", &m, &b, &fixture("hs_117.dta")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sem(&["invariance", &m, &fixture("hs.zsav"), "--group", "school"]);
    assert!(o.status.success() && stdout(&o).contains("scalar"), "{}", stderr(&o));
}

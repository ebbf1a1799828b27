//! Hostile input through the binary, one test per case: every bad input
//! gets one clear message on stderr (file, line, column name), the
//! contract's exit code and nothing on stdout; awkward but valid input
//! (BOM, CRLF, quotes, `;`, missing-value tokens, text columns, spaces)
//! gives exactly the numbers of the clean file; inadmissible solutions are
//! reported as warnings in every output format.

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

const HS_DATA: &str = "data/HolzingerSwineford1939.csv";
const TWO_FACTORS: &str = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n";

fn hs_text() -> String {
    std::fs::read_to_string(HS_DATA).unwrap()
}

/// A failure: the exit code, nothing on stdout, one message on stderr that
/// holds every one of `words`. Returns the message.
fn fails(o: &Output, code: i32, words: &[&str]) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr:\n{e}");
    assert!(stdout(o).is_empty(), "a failure prints no result, got:\n{}", stdout(o));
    assert!(!e.contains("panicked"), "{e}");
    assert!(e.starts_with("error"), "{e}");
    assert_eq!(e.lines().filter(|l| l.starts_with("error")).count(), 1, "one message:\n{e}");
    for w in words {
        assert!(e.contains(w), "`{w}` missing from:\n{e}");
    }
    e
}

/// Fit the two-factor model (JSON) and return the parsed report.
fn fit_json(dir: &Path, data: &str, extra: &[&str]) -> serde_json::Value {
    let m = write(dir, "m.lav", TWO_FACTORS);
    let mut args = vec!["fit", m.as_str(), data, "--format", "json"];
    args.extend_from_slice(extra);
    let o = sem(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn chisq(v: &serde_json::Value) -> f64 {
    v["fit"]["chisq"].as_f64().unwrap()
}

/// Run the two-factor model on `data` and expect exit 2 with `words`.
fn data_fails(dir: &Path, data: &str, words: &[&str]) -> String {
    let m = write(dir, "m.lav", TWO_FACTORS);
    fails(&sem(&["fit", &m, data]), 2, words)
}

/// A small numeric data set: `header`, then rows built by `row(i)`.
fn table(header: &str, n: usize, mut row: impl FnMut(usize) -> String) -> String {
    let mut s = format!("{header}\n");
    for i in 0..n {
        s.push_str(&row(i));
        s.push('\n');
    }
    s
}

/// Deterministic standard normal draws (splitmix64 + Box-Muller).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn draw(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

// ---------------------------------------------------------------- bad data

#[test]
fn data_missing_a_model_variable_suggests_the_near_miss() {
    let d = scratch("missing-var");
    let m = write(&d, "m.lav", "visual =~ x1 + x2 + X3\n");
    fails(
        &sem(&["fit", &m, HS_DATA]),
        2,
        &["HolzingerSwineford1939.csv", "`X3`", "did you mean `x3`"],
    );
}

#[test]
fn non_numeric_cell_names_line_and_column() {
    let d = scratch("non-numeric");
    let text = hs_text().replacen(",0.375,", ",zero,", 1);
    let data = write(&d, "d.csv", text);
    data_fails(&d, &data, &["d.csv:2", "`x3`", "`zero`", "not a number"]);
}

#[test]
fn constant_column() {
    let d = scratch("constant");
    let data = write(&d, "d.csv", table("a,b,c", 20, |i| format!("{},{},7", i % 5, (i * 7) % 11)));
    let m = write(&d, "m.lav", "a ~ b + c\n");
    fails(&sem(&["fit", &m, &data]), 2, &["d.csv", "`c`", "constant", "7"]);
}

#[test]
fn header_without_rows() {
    let d = scratch("header-only");
    let first = hs_text().lines().next().unwrap().to_string();
    let data = write(&d, "d.csv", format!("{first}\n"));
    data_fails(&d, &data, &["d.csv", "no rows"]);
}

#[test]
fn empty_file_and_blank_file() {
    let d = scratch("empty");
    let data = write(&d, "empty.csv", "");
    data_fails(&d, &data, &["empty.csv", "empty"]);
    let data = write(&d, "blank.csv", "\n  \r\n\n");
    data_fails(&d, &data, &["blank.csv", "empty"]);
}

#[test]
fn duplicate_column_names() {
    let d = scratch("duplicate");
    let text = hs_text().replacen("\"x9\"", "\"x1\"", 1);
    let data = write(&d, "d.csv", text);
    data_fails(&d, &data, &["d.csv", "`x1` twice", "columns 7 and 15"]);
}

#[test]
fn fewer_rows_than_variables() {
    let d = scratch("few-rows");
    let text: String = hs_text().lines().take(5).map(|l| format!("{l}\n")).collect();
    let data = write(&d, "d.csv", text);
    data_fails(&d, &data, &["d.csv", "4 complete rows for 6 variables", "singular"]);
}

#[test]
fn singular_covariance_matrix() {
    let d = scratch("singular");
    let data = write(
        &d,
        "d.csv",
        table("a,b,c,e", 30, |i| {
            let (a, b) = ((i * 7 % 13) as f64, (i * 5 % 11) as f64);
            format!("{a},{b},{},{}", a + b, (i * 3 % 7) as f64)
        }),
    );
    let m = write(&d, "m.lav", "f =~ a + b + c + e\n");
    fails(&sem(&["fit", &m, &data]), 2, &["d.csv", "singular", "`c`", "linear combination"]);
    // nearly singular: a sum of two columns, rounded, is no information either
    let text = hs_text();
    let mut lines = text.lines();
    let mut near = format!("{},\"s\"\n", lines.next().unwrap());
    for l in lines {
        let c: Vec<f64> = l.split(',').skip(6).take(2).map(|v| v.parse().unwrap()).collect();
        near += &format!("{l},{:.6}\n", c[0] + c[1]);
    }
    let data = write(&d, "near.csv", near);
    let m = write(&d, "m2.lav", "f =~ x1 + x2 + s + x3\n");
    fails(&sem(&["fit", &m, &data]), 2, &["near.csv", "singular", "`s`", "linear combination"]);
}

#[test]
fn infinite_and_nan_cells_never_become_numbers() {
    let d = scratch("inf-nan");
    for (i, token) in ["Inf", "-inf", "NaN", "infinity", "1e999"].iter().enumerate() {
        let text = hs_text().replacen(",0.375,", &format!(",{token},"), 1);
        let data = write(&d, &format!("d{i}.csv"), text);
        let e = data_fails(&d, &data, &[&format!("d{i}.csv:2"), "`x3`", token]);
        assert!(e.contains("finite") || e.contains("NaN"), "{e}");
    }
}

#[test]
fn numbers_too_large_to_square() {
    let d = scratch("huge");
    let data = write(
        &d,
        "d.csv",
        table("a,b,c", 20, |i| format!("{}e300,{},{}", i % 7 + 1, i % 5, i % 3)),
    );
    let m = write(&d, "m.lav", "a ~ b + c\n");
    fails(&sem(&["fit", &m, &data]), 2, &["d.csv", "`a`", "too large", "rescale"]);
}

#[test]
fn ragged_row_names_the_line() {
    let d = scratch("ragged");
    let mut lines: Vec<String> = hs_text().lines().map(String::from).collect();
    lines[10].push_str(",99");
    let data = write(&d, "d.csv", lines.join("\n"));
    data_fails(&d, &data, &["d.csv:11", "16 fields", "header has 15"]);
}

#[test]
fn non_utf8_data_file() {
    let d = scratch("latin1-data");
    // Latin-1 `é` in a column the model uses
    let mut bytes = hs_text().into_bytes();
    let at = bytes.windows(7).position(|w| w == b",0.375,").unwrap();
    bytes.splice(at + 1..at + 6, b"caf\xe9".iter().copied());
    let data = write(&d, "d.csv", &bytes);
    data_fails(&d, &data, &["d.csv:2", "`x3`", "UTF-8"]);
    // UTF-16, as some spreadsheets save "Unicode text"
    let mut utf16 = vec![0xFF, 0xFE];
    for u in hs_text().encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let data = write(&d, "u16.csv", &utf16);
    data_fails(&d, &data, &["u16.csv", "UTF-16", "UTF-8"]);
    // a binary file
    let data = write(&d, "bin.csv", b"PK\x03\x04\x00\x00binary");
    data_fails(&d, &data, &["bin.csv", "binary"]);
}

#[test]
fn semicolon_file_without_delimiter_gets_a_hint() {
    let d = scratch("semicolon-hint");
    let data = write(&d, "d.csv", hs_text().replace(',', ";"));
    data_fails(&d, &data, &["d.csv", "semicolon", "--delimiter ';'"]);
    // the other way round: --delimiter ';' on a comma file
    let m = write(&d, "m.lav", TWO_FACTORS);
    fails(
        &sem(&["fit", &m, HS_DATA, "--delimiter", ";"]),
        2,
        &["HolzingerSwineford1939.csv", "comma-separated", "--delimiter ','"],
    );
}

#[test]
fn file_without_header_row() {
    let d = scratch("no-header");
    let text: String = hs_text().lines().skip(1).map(|l| format!("{l}\n")).collect();
    let data = write(&d, "d.csv", text.replace("\"Pasteur\"", "1").replace("\"Grant-White\"", "2"));
    data_fails(&d, &data, &["d.csv", "`x1`", "first row looks like data", "no header row"]);
    // with its text column (the school) the first row still looks like data, and no
    // "did you mean `1`?" points at a number
    let data = write(&d, "text.csv", text);
    data_fails(
        &d,
        &data,
        &["text.csv", "`x1`", "first row looks like data", "Pasteur", "no header row"],
    );
    let o = sem(&["fit", "models/holzinger_swineford.lav", &data]);
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
}

// ---------------------------------------------------------------- bad files

#[test]
fn binary_and_non_utf8_model_files() {
    let d = scratch("bad-model");
    let m = write(&d, "bin.lav", b"visual =~ x1\x00\x01\x02");
    fails(&sem(&["fit", &m, HS_DATA]), 2, &["bin.lav", "binary"]);
    let m = write(&d, "latin1.lav", b"visual =~ x1 + x2 + x3 # caf\xe9\n");
    fails(&sem(&["fit", &m, HS_DATA]), 2, &["latin1.lav", "not UTF-8", "line 1, column 29"]);
    let m = write(&d, "u16.lav", b"\xFF\xFEv\x00=\x00~\x00");
    fails(&sem(&["check", &m]), 2, &["u16.lav", "UTF-16"]);
}

#[test]
fn data_given_as_the_model() {
    let d = scratch("swapped");
    let m = write(&d, "m.lav", TWO_FACTORS);
    fails(
        &sem(&["fit", HS_DATA, &m]),
        2,
        &["HolzingerSwineford1939.csv:1:1", "looks like a CSV data file", "sem fit MODEL DATA"],
    );
}

#[test]
fn missing_files() {
    let d = scratch("missing-files");
    let m = write(&d, "m.lav", TWO_FACTORS);
    fails(
        &sem(&["fit", "no/such/model.lav", HS_DATA]),
        2,
        &["no/such/model.lav", "does not exist"],
    );
    fails(&sem(&["fit", &m, "no/such/data.csv"]), 2, &["no/such/data.csv", "does not exist"]);
    fails(&sem(&["check", "no/such/model.lav"]), 2, &["no/such/model.lav", "does not exist"]);
}

#[test]
fn a_directory_given_as_a_file() {
    let d = scratch("directory");
    let m = write(&d, "m.lav", TWO_FACTORS);
    let dir = d.display().to_string();
    fails(&sem(&["fit", &dir, HS_DATA]), 2, &[&dir, "is a directory"]);
    fails(&sem(&["fit", &m, &dir]), 2, &[&dir, "is a directory"]);
}

#[test]
fn output_into_a_missing_directory() {
    let d = scratch("output-dir");
    let m = write(&d, "m.lav", TWO_FACTORS);
    let out = d.join("no-such-dir").join("fit.json");
    let o = sem(&["fit", &m, HS_DATA, "--format", "json", "--output", out.to_str().unwrap()]);
    fails(&o, 2, &["fit.json", "cannot write", "no-such-dir does not exist"]);
    assert!(!d.join("no-such-dir").exists(), "nothing created");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no temporary file left behind");
    // a directory as the output file: refused, the directory untouched
    let o = sem(&["fit", &m, HS_DATA, "--output", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
}

// ---------------------------------------------------------------- models that cannot be estimated

#[test]
fn not_identified_by_counting() {
    let d = scratch("ni-count");
    let m = write(&d, "m.lav", "f =~ x1 + x2\nx1 ~~ x2\n");
    fails(
        &sem(&["fit", &m, HS_DATA]),
        1,
        &["m.lav", "not identified", "5 free parameters", "df = -2"],
    );
}

#[test]
fn not_identified_with_nonnegative_df_names_the_parameters() {
    // df = 2, yet two uncorrelated factors with two indicators each are not
    // identified: only the information matrix shows it
    let d = scratch("ni-info");
    let m = write(&d, "m.lav", "f1 =~ x1 + x2\nf2 =~ x3 + x4\nf1 ~~ 0*f2\n");
    let o = sem(&["check", &m]);
    assert!(stdout(&o).contains("degrees of freedom:  2"), "{}", stdout(&o));
    for fmt in ["text", "json", "csv"] {
        let e = fails(
            &sem(&["fit", &m, HS_DATA, "--format", fmt]),
            1,
            &["m.lav", "not identified", "information matrix"],
        );
        assert!(e.contains("`f1 =~ x2`") && e.contains("`f2 =~ x4`"), "both parts named: {e}");
    }
}

#[test]
fn no_convergence_says_what_to_try() {
    let d = scratch("no-convergence");
    let m = write(&d, "m.lav", TWO_FACTORS);
    for fmt in ["text", "json"] {
        fails(
            &sem(&["fit", &m, HS_DATA, "--max-iter", "1", "--format", fmt]),
            1,
            &["m.lav", "did not converge", "limit of 1 iterations", "--max-iter", "start("],
        );
    }
}

// ---------------------------------------------------------------- awkward but valid

#[test]
fn awkward_but_valid_files_give_the_same_numbers() {
    let d = scratch("awkward");
    let clean = fit_json(&d, HS_DATA, &[]);
    let x2 = chisq(&clean);
    let text = hs_text();
    let unquoted_header = {
        let (h, rest) = text.split_once('\n').unwrap();
        format!("{}\n{rest}", h.replace('"', ""))
    };
    let spaced: String = text
        .lines()
        .map(|l| l.split(',').map(|c| format!("  {c}\t")).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n");
    let mut latin1_unused = text.clone().into_bytes();
    let at = latin1_unused.windows(9).position(|w| w == b"\"Pasteur\"").unwrap();
    latin1_unused.splice(at + 1..at + 8, b"P\xe4steur".iter().copied());
    let mut blank_middle: Vec<&str> = text.lines().collect();
    blank_middle.insert(100, "   ");
    blank_middle.insert(50, "");
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("bom.csv", format!("\u{feff}{text}").into_bytes(), vec![]),
        ("crlf.csv", text.replace('\n', "\r\n").into_bytes(), vec![]),
        ("unquoted.csv", unquoted_header.into_bytes(), vec![]),
        ("semicolon.csv", text.replace(',', ";").into_bytes(), vec!["--delimiter", ";"]),
        ("tab.tsv", text.replace(',', "\t").into_bytes(), vec!["--delimiter", "tab"]),
        ("spaces.csv", spaced.into_bytes(), vec![]),
        ("trailing_blank.csv", format!("{text}\n\n").into_bytes(), vec![]),
        ("no_final_newline.csv", text.trim_end().as_bytes().to_vec(), vec![]),
        ("latin1_unused.csv", latin1_unused, vec![]),
        ("blank_middle.csv", blank_middle.join("\n").into_bytes(), vec![]),
    ];
    for (name, bytes, extra) in cases {
        let data = write(&d, name, &bytes);
        let v = fit_json(&d, &data, &extra);
        assert_eq!(v["nobs"], 301, "{name}");
        assert!((chisq(&v) - x2).abs() < 1e-9, "{name}: {} vs {x2}", chisq(&v));
    }
}

#[test]
fn missing_value_tokens() {
    let d = scratch("na-tokens");
    let lines: Vec<String> = hs_text().lines().map(String::from).collect();
    // rows 2..=6 get a missing value in a model column, each written differently
    let tokens = ["", "NA", ".", "-999", "-99"];
    let mut marked = lines.clone();
    for (k, t) in tokens.iter().enumerate() {
        let mut cells: Vec<String> = marked[k + 1].split(',').map(String::from).collect();
        cells[6 + k] = t.to_string();
        marked[k + 1] = cells.join(",");
    }
    let dropped: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !(1..=5).contains(i))
        .map(|(_, l)| l.clone())
        .collect();
    let reference = chisq(&fit_json(&d, &write(&d, "ref.csv", dropped.join("\n")), &[]));
    let data = write(&d, "na.csv", marked.join("\n"));
    for extra in [vec!["--na", "-999,-99"], vec!["--na", "-999", "--na", "-99"], vec!["--na=-999,-99"]] {
        let v = fit_json(&d, &data, &extra);
        assert_eq!(v["nobs"], 296);
        assert_eq!(v["rows_dropped"], 5);
        assert!((chisq(&v) - reference).abs() < 1e-9);
        assert!(v["warnings"][0].as_str().unwrap().contains("listwise"), "{}", v["warnings"]);
    }
    // a word used as a missing-value marker: the message names the fix
    let o = sem(&[
        "fit",
        &write(&d, "m2.lav", TWO_FACTORS),
        &write(&d, "na2.csv", marked.join("\n").replace("-999", "missing")),
    ]);
    fails(&o, 2, &["na2.csv:5", "`missing`", "--na missing"]);
}

#[test]
fn text_columns_the_model_does_not_use() {
    // HS has a text column `school`; one with commas inside quotes too
    let d = scratch("text-columns");
    let text = hs_text().replace("\"Pasteur\"", "\"Pasteur, Paris; \"\"east\"\"\"");
    let v = fit_json(&d, &write(&d, "d.csv", text), &[]);
    assert_eq!(v["nobs"], 301);
}

// ---------------------------------------------------------------- warnings in every format

fn warnings_everywhere(model: &str, data: &str, words: &[&str]) {
    for fmt in ["text", "json", "markdown"] {
        let o = sem(&["fit", model, data, "--format", fmt]);
        assert_eq!(o.status.code(), Some(0), "{fmt}: {}", stderr(&o));
        let out = stdout(&o);
        for w in words {
            assert!(out.contains(w), "{fmt}: `{w}` missing from\n{out}");
        }
    }
    let o = sem(&["fit", model, data, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("lhs,op,rhs"), "csv holds estimates only");
    let e = stderr(&o);
    for w in words {
        assert!(e.contains(w), "csv: `{w}` missing from stderr\n{e}");
    }
}

#[test]
fn heywood_case_is_a_warning_in_every_format() {
    warnings_everywhere(
        "tests/fixtures/fit/heywood_small/model.lav",
        "tests/fixtures/fit/heywood_small/data.csv",
        &["variance of `x1` is negative", "Heywood"],
    );
}

#[test]
fn latent_correlation_beyond_one_is_a_warning_in_every_format() {
    // two sets of three items whose items correlate more across the sets
    // (pairwise shared factors) than within them: the factor correlation
    // comes out above 1 and the latent covariance matrix is not positive definite
    let d = scratch("r-beyond-one");
    let mut z = Normal(7);
    let data = table("a1,a2,a3,b1,b2,b3", 500, |_| {
        let g = z.draw();
        let pairs: Vec<f64> = (0..3).map(|_| z.draw()).collect();
        let mut cells = Vec::new();
        for _set in 0..2 {
            for p in &pairs {
                cells.push(format!("{:.5}", 0.5 * g + 0.7 * p + 0.5 * z.draw()));
            }
        }
        cells.join(",")
    });
    let data = write(&d, "d.csv", data);
    let m = write(&d, "m.lav", "fa =~ a1 + a2 + a3\nfb =~ b1 + b2 + b3\n");
    warnings_everywhere(&m, &data, &["`fa ~~ fb`", "beyond ±1", "latent variables is not positive definite"]);
}

#[test]
fn unusual_scales_are_a_warning() {
    let d = scratch("scales");
    let text = hs_text();
    let (h, rest) = text.split_once('\n').unwrap();
    let scaled: String = rest
        .lines()
        .map(|l| {
            let mut c: Vec<String> = l.split(',').map(String::from).collect();
            c[6] = format!("{}", c[6].parse::<f64>().unwrap() * 1000.0);
            c.join(",") + "\n"
        })
        .collect();
    let v = fit_json(&d, &write(&d, "d.csv", format!("{h}\n{scaled}")), &[]);
    assert!(v["warnings"].to_string().contains("factor 1000"), "{}", v["warnings"]);
}

#[test]
fn standard_error_that_cannot_be_computed_names_the_parameter() {
    use sem::model::{Model, TableOptions};
    let syn = sem::syntax::parse("f =~ x1 + x2 + x3\n").unwrap();
    let model = Model::new(&syn, &TableOptions::sem()).unwrap();
    let n = model.ram.nx;
    let x = vec![1.0; n];
    let mut vcov = nalgebra::DMatrix::identity(n, n) * 0.01;
    let k = model.x_of_row.iter().position(|x| *x == Some(0)).unwrap();
    vcov[(0, 0)] = -1e-4;
    let (rows, warnings) = sem::inference::estimates(&model, &x, Some(&vcov), 0.95);
    assert!(rows[k].se.is_none() && rows[k].z.is_none());
    let what = sem::inference::describe(&model, k);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("`{what}`")) && w.contains("standard error")),
        "{warnings:?}"
    );
}

#[test]
fn non_positive_definite_latent_covariance_is_a_warning() {
    use sem::model::{Model, TableOptions};
    // three factors correlating .9, .9 and -.9: each |r| < 1, together impossible
    let syn = sem::syntax::parse("f1 =~ x1 + x2\nf2 =~ x3 + x4\nf3 =~ x5 + x6\n").unwrap();
    let model = Model::new(&syn, &TableOptions::sem()).unwrap();
    let mut x = vec![1.0; model.ram.nx];
    for (r, row) in model.pt.rows.iter().enumerate() {
        if let Some(k) = model.x_of_row[r] {
            if row.op == "~~" && row.lhs != row.rhs {
                x[k] = if row.lhs == "f2" && row.rhs == "f3" { -0.9 } else { 0.9 };
            }
        }
    }
    let w = sem::inference::admissibility(&model, &x);
    assert!(w.iter().any(|w| w.contains("latent variables is not positive definite")), "{w:?}");
    assert!(!w.iter().any(|w| w.contains("estimated correlation")), "{w:?}");
}

// ---------------------------------------------------------------- hostile model text

#[test]
fn deeply_nested_or_huge_expressions_are_refused_not_a_stack_overflow() {
    let d = scratch("deep");
    let cases = [
        (
            "parens.lav",
            format!("f =~ x1 + x2 + x3\nd := {}1{}\n", "(".repeat(100_000), ")".repeat(100_000)),
            "nested too deeply",
        ),
        (
            "signs.lav",
            format!("f =~ x1 + x2 + x3\nd := {}1\n", "-".repeat(100_000)),
            "nested too deeply",
        ),
        (
            "powers.lav",
            format!("f =~ x1 + x2 + x3\nd := 1{}\n", "^2".repeat(100_000)),
            "nested too deeply",
        ),
        (
            "calls.lav",
            format!("f =~ x1 + x2 + x3\nd := {}1{}\n", "exp(".repeat(100_000), ")".repeat(100_000)),
            "nested too deeply",
        ),
        (
            "sum.lav",
            format!("f =~ x1 + x2 + x3\nd := 1{}\n", "+1".repeat(100_000)),
            "too long",
        ),
        (
            "modifier.lav",
            format!("f =~ x1 + x2\nf =~ {}1{}*x3\n", "(".repeat(100_000), ")".repeat(100_000)),
            "nested too deeply",
        ),
    ];
    for (name, text, words) in cases {
        let m = write(&d, name, text);
        let e = fails(&sem(&["check", &m]), 2, &[name, ":2:", words]);
        assert!(e.len() < 2000, "a long line is shown cut around the caret: {} bytes", e.len());
    }
}

#[test]
fn numbers_beyond_double_precision_in_a_model() {
    let d = scratch("huge-number");
    let m = write(&d, "m.lav", "visual =~ 1e999*x1 + x2 + x3\n");
    fails(&sem(&["fit", &m, HS_DATA]), 2, &["m.lav:1:11", "`1e999`", "too large"]);
}

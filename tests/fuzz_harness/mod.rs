//! What the fuzz targets (`fuzz/fuzz_targets/`) run on every input, shared
//! with the regression tests (`tests/fuzz_regressions.rs`) so that a crash
//! input kept under `tests/fixtures/fuzz/` is replayed by plain `cargo test`.
//! Each function must return for any input; a panic is the bug.

#![allow(dead_code)]

use nalgebra::{DMatrix, DVector};
use sem::data::{read::read_csv_bytes, CsvOptions, SampleStats};
use sem::estimate::{self, objective::GroupData, start::bind_fixed_x};
use sem::model::{Model, ModelError, TableOptions};
use sem::syntax::Diagnostic;

/// A diagnostic must point inside the text, on character boundaries, and render.
pub fn check_span(src: &str, d: &Diagnostic) {
    let s = d.span;
    assert!(
        s.start <= s.end && s.end <= src.len(),
        "span {s:?} outside a text of {} bytes: {}",
        src.len(),
        d.message
    );
    assert!(
        src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
        "span {s:?} splits a character: {}",
        d.message
    );
    let r = d.render("fuzz.lav", src);
    assert!(r.starts_with("error: ") && r.contains("fuzz.lav:"), "{r}");
}

/// Any text through the parser and the parameter table; a small model that
/// comes out is fitted to a fixed covariance matrix, so the estimator,
/// inference and fit measures see the odd models too.
pub fn parse_model(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let syn = match sem::syntax::parse(src) {
        Ok(s) => s,
        Err(d) => return check_span(src, &d),
    };
    for (std_lv, meanstructure) in [(false, false), (true, true)] {
        let opt = TableOptions {
            std_lv,
            meanstructure,
            ..TableOptions::sem()
        };
        let mut model = match Model::new(&syn, &opt) {
            Ok(m) => m,
            Err(ModelError::Syntax(d)) => {
                check_span(src, &d);
                continue;
            }
            Err(ModelError::Model(_)) => continue,
        };
        let p = model.ram.p();
        if p == 0 || p > 12 || model.ram.nx > 40 || model.df() < 0 || !model.unsupported.is_empty() {
            continue;
        }
        let cov = DMatrix::from_fn(p, p, |i, j| if i == j { 1.0 } else { 0.3 });
        let stats = SampleStats {
            nobs: 100,
            mean: DVector::from_fn(p, |i, _| i as f64),
            cov,
            dropped: 0,
        };
        let gd = vec![GroupData::new(&stats)];
        bind_fixed_x(&mut model, &gd);
        let est = estimate::estimate(&model, &gd, 20);
        let vcov = sem::inference::vcov(&model, &est.x, &gd).ok();
        let _ = sem::inference::estimates(&model, &est.x, vcov.as_ref(), 0.95);
        let _ = sem::inference::admissibility(&model, &est.x);
        let _ = sem::fit::measures(&model, &est.x, &gd);
    }
}

/// Any bytes through the CSV reader. The first byte picks the delimiter,
/// how many header names the "model" asks for, whether the last one is a
/// group column and whether a column that is not there is asked for too.
pub fn read_csv(data: &[u8]) {
    let Some((&ctl, bytes)) = data.split_first() else { return };
    let delimiter = [b',', b';', b'\t', b' '][usize::from(ctl & 3)];
    let opt = CsvOptions {
        delimiter,
        na: vec!["-999".into(), "".into()],
        ..Default::default()
    };
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let mut want: Vec<String> = Vec::new();
    for name in String::from_utf8_lossy(first).split(delimiter as char) {
        let name = name.trim().trim_matches('"').to_string();
        if !want.contains(&name) && want.len() < usize::from((ctl >> 2) & 3) + 1 {
            want.push(name);
        }
    }
    let group = if ctl & 0x10 != 0 { want.pop() } else { None };
    if ctl & 0x20 != 0 {
        want.push("missing_column".into());
    }
    match read_csv_bytes("fuzz.csv", bytes, &want, group.as_deref(), &opt) {
        Ok(ds) => {
            assert!(ds.values.iter().all(|v| v.is_nan() || v.is_finite()), "a value became infinite");
            assert_eq!(ds.values.len(), ds.nrows() * ds.names.len());
            if let Ok(st) = SampleStats::listwise(&ds, None) {
                let _ = st.check(&ds.names, "fuzz.csv");
            }
        }
        Err(e) => assert!(
            !e.0.is_empty() && e.0.contains("fuzz.csv"),
            "message without the file name: {}",
            e.0
        ),
    }
}

/// The binary data readers (SPSS, Stata, Excel) on any bytes: an error or
/// a data set, never a panic; what comes out is consistent.
pub fn read_formats(bytes: &[u8], want: &[&str], group: Option<&str>) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    let opt = CsvOptions {
        na: vec!["-99".into()],
        ..Default::default()
    };
    match sem::data::formats::read_bytes("fuzz.bin", bytes.to_vec(), &want, group, &opt) {
        Ok((ds, _)) => {
            assert!(ds.values.iter().all(|v| v.is_nan() || v.is_finite()), "a value became infinite");
            assert_eq!(ds.values.len(), ds.nrows() * ds.names.len());
            if let Some(g) = &ds.group {
                assert_eq!(g.len(), ds.nrows());
            }
        }
        Err(e) => assert!(e.0.contains("fuzz.bin"), "an error that does not name the file: {}", e.0),
    }
    if let Ok((st, rows, _)) = sem::data::formats::moments_bytes("fuzz.bin", bytes.to_vec(), &want, &opt) {
        assert!(st.nobs <= rows);
    }
}

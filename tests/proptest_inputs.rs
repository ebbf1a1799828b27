//! Property tests over everything that reads user input, the quick
//! counterpart of the cargo-fuzz targets in `fuzz/` (same harness,
//! `tests/fuzz_harness/`): the model parser and parameter table on
//! arbitrary text, on lavaan-like token soup and on mutated valid models
//! (never a panic; every error's span inside the text), and the CSV reader
//! on arbitrary bytes (never a panic) and on decorated tables of numbers
//! (every number read back exactly), and the SPSS, Stata and Excel readers
//! on mutated fixture files (never a panic, never a hang).
//! `PROPTEST_CASES=100000` makes a long run.

mod fuzz_harness;

use proptest::prelude::*;
use proptest::sample::Index;
use sem::data::{read::read_csv_bytes, CsvOptions};

/// The valid models shipped with the tests and the binary.
fn valid_models() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures/syntax", "models"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.extension().is_some_and(|x| x == "lav") && !name.starts_with("bad_") {
                out.push(std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out.sort();
    out
}

/// Pieces of lavaan syntax, right and wrong.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "=~", "~", "~~", "~1", ":=", "==", "<", ">", "+", "*", "-", "/", "^", "(", ")", ",", "\n", ";", "#", "!", "NA", "start(",
            "equal(", "label(", "c(", "\"", "'", "1", "0.5", "1e3", "-1", "f", "x1", "x2", "y", "a", "b", "é", "\u{feff}", "\r", "\t", " ",
            "_", ".", "?", "|", "%",
        ])
        .prop_map(String::from),
        "[a-z][a-z0-9._]{0,4}",
        "[0-9.eE+-]{1,5}",
    ]
}

/// A valid model with one to three random edits (by character, so the text stays UTF-8).
fn mutated_model() -> impl Strategy<Value = String> {
    let models = valid_models();
    (
        prop::sample::select(models),
        prop::collection::vec((0u8..4, any::<Index>(), any::<Index>(), token()), 1..4),
    )
        .prop_map(|(m, edits)| {
            let mut c: Vec<char> = m.chars().collect();
            for (op, i, j, tok) in edits {
                let n = c.len().max(1);
                let (a, b) = {
                    let (x, y) = (i.index(n + 1).min(c.len()), j.index(n + 1).min(c.len()));
                    (x.min(y), x.max(y))
                };
                match op {
                    0 => {
                        c.drain(a..b.min(a + 8));
                    }
                    1 => {
                        c.splice(a..a, tok.chars());
                    }
                    2 => {
                        let piece: Vec<char> = c[a..b].to_vec();
                        c.splice(a..a, piece);
                    }
                    _ => {
                        c.splice(a..b.min(a + 3), tok.chars());
                    }
                }
            }
            c.into_iter().collect()
        })
}

/// The binary fixtures of tests/fixtures/formats.
const FORMAT_FIXTURES: [&str; 7] = [
    "hs.sav",
    "hs_plain.sav",
    "hs.zsav",
    "hs_117.dta",
    "hs_118.dta",
    "hs_119.dta",
    "hs.xlsx",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Flipped, overwritten, cut and inserted bytes anywhere in a binary
    /// data file: an error naming the file, or consistent data.
    #[test]
    fn format_readers_survive_mutated_files(
        which in 0..FORMAT_FIXTURES.len(),
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..4), 1..6),
        cut in prop::option::weighted(0.3, any::<Index>()),
        group in any::<bool>(),
    ) {
        let mut b = std::fs::read(format!("tests/fixtures/formats/{}", FORMAT_FIXTURES[which])).unwrap();
        for (at, byte, how) in edits {
            let i = at.index(b.len());
            match how {
                0 => b[i] = byte,
                1 => b[i] ^= 1 << (byte % 8),
                2 => { let end = (i + 8).min(b.len()); b[i..end].fill(byte); }
                _ => b.insert(i, byte),
            }
        }
        if let Some(c) = cut {
            let n = c.index(b.len());
            b.truncate(n);
        }
        fuzz_harness::read_formats(&b, &["x1", "x5", "x7"], group.then_some("school"));
    }

    /// Any short bytes behind each format's signature.
    #[test]
    fn format_readers_survive_any_bytes_after_a_signature(
        sig in prop::sample::select(vec![&b"$FL2"[..], b"$FL3", b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder><K>", b"PK\x03\x04", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"]),
        rest in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut b = sig.to_vec();
        b.extend(rest);
        fuzz_harness::read_formats(&b, &["x1"], None);
    }

    #[test]
    fn parser_survives_any_text(s in "\\PC{0,200}") {
        fuzz_harness::parse_model(s.as_bytes());
    }

    #[test]
    fn parser_survives_token_soup(toks in prop::collection::vec(token(), 0..40)) {
        fuzz_harness::parse_model(toks.join(" ").as_bytes());
        fuzz_harness::parse_model(toks.concat().as_bytes());
    }

    #[test]
    fn parser_survives_mutated_models(src in mutated_model()) {
        fuzz_harness::parse_model(src.as_bytes());
    }

    #[test]
    fn csv_reader_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        fuzz_harness::read_csv(&bytes);
    }

    #[test]
    fn csv_reader_survives_csv_like_bytes(
        ctl in any::<u8>(),
        bytes in prop::collection::vec(prop::sample::select(b"ab,;\t\n\r\". 0123456789-eE+NAinf\xef\xbb\xbf\x00\xff".to_vec()), 0..300),
    ) {
        let mut input = vec![ctl];
        input.extend(bytes);
        fuzz_harness::read_csv(&input);
    }

    /// Whatever the decoration (BOM, CRLF, quotes, spaces, `;`, blank lines,
    /// a missing final newline), every number comes back exactly and every
    /// missing-value token comes back missing.
    #[test]
    fn csv_values_come_back_exactly(
        rows in prop::collection::vec(prop::collection::vec(prop::option::weighted(0.9, -1e6f64..1e6), 3), 1..20),
        bom in any::<bool>(), crlf in any::<bool>(), quote in any::<bool>(), pad in any::<bool>(),
        semicolon in any::<bool>(), final_newline in any::<bool>(), blank_line in any::<bool>(),
        na in prop::sample::select(vec!["", "NA", ".", "-999"]),
    ) {
        let d = if semicolon { ";" } else { "," };
        let nl = if crlf { "\r\n" } else { "\n" };
        let q = |s: &str| if quote { format!("\"{s}\"") } else { s.to_string() };
        let p = |s: String| if pad { format!("  {s} ") } else { s };
        let mut text = String::new();
        if bom {
            text.push('\u{feff}');
        }
        text += &["x", "y", "note"].iter().map(|h| q(h)).collect::<Vec<_>>().join(d);
        for (i, r) in rows.iter().enumerate() {
            text += nl;
            if blank_line && i == rows.len() / 2 {
                text += nl;
            }
            let cells: Vec<String> = r.iter().map(|v| p(v.map_or(na.to_string(), |v| format!("{v}")))).collect();
            text += &cells.join(d);
        }
        if final_newline {
            text += nl;
        }
        let opt = CsvOptions { delimiter: d.as_bytes()[0], na: vec!["-999".into()], ..Default::default() };
        let want = vec!["x".to_string(), "y".to_string()];
        let ds = read_csv_bytes("t.csv", text.as_bytes(), &want, None, &opt).unwrap();
        prop_assert_eq!(ds.nrows(), rows.len());
        for (i, r) in rows.iter().enumerate() {
            for (k, cell) in r.iter().take(2).enumerate() {
                match *cell {
                    Some(v) => prop_assert_eq!(ds.row(i)[k], v),
                    None => prop_assert!(ds.row(i)[k].is_nan()),
                }
            }
        }
    }
}

//! Reading a CSV file into the columns a model needs. Missing values are the
//! empty cell, `NA`, `.` and any `--na` tokens; every other cell must be a
//! number, and when it is not the message names the file, the line and the
//! column. Columns the model does not use are never parsed, so text columns
//! (names, comments, even in another encoding than UTF-8) do no harm. What
//! spreadsheets export awkwardly still reads: a UTF-8 byte-order mark, CRLF
//! line ends, quoted headers, spaces around numbers, blank lines. What would
//! silently go wrong is refused with a message: `Inf` or `NaN` cells, UTF-16
//! or binary files, rows with the wrong number of fields, a header that is
//! one column because the file uses another delimiter.

use super::DataError;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    /// extra missing-value tokens besides empty, `NA` and `.`; in SPSS,
    /// Stata and Excel files a token that is a number is a numeric code
    pub na: Vec<String>,
    /// the decimal mark of delimited text: `.` or `,` (`--decimal ,`)
    pub decimal: u8,
    /// the worksheet of an Excel workbook (`--sheet`); the first when `None`
    pub sheet: Option<String>,
}

impl CsvOptions {
    /// The `--na` tokens that are numbers: codes that mark a missing value
    /// however the number is written (`-99`, `-99.0`).
    pub fn na_codes(&self) -> Vec<f64> {
        self.na.iter().filter_map(|t| parse_number(t.trim()).ok()).collect()
    }
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            na: vec![],
            decimal: b'.',
            sheet: None,
        }
    }
}

/// The model's columns, row by row; `NaN` marks a missing value.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub file: String,
    pub names: Vec<String>,
    /// row-major values, `names.len()` per row
    pub values: Vec<f64>,
    /// 1-based line numbers of the rows (for messages)
    pub lines: Vec<u64>,
    /// group label of each row, when a group column was asked for
    pub group: Option<Vec<String>>,
}

impl Dataset {
    pub fn nrows(&self) -> usize {
        if self.names.is_empty() {
            self.lines.len()
        } else {
            self.values.len() / self.names.len()
        }
    }
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.names.len();
        &self.values[i * p..(i + 1) * p]
    }
}

/// A cell or name without the spaces around it, and without quotes that
/// the CSV reader left because spaces came before them (`  "x1"`).
fn clean(cell: &str) -> &str {
    let t = cell.trim();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None => t,
    }
}

fn is_missing(cell: &str, opt: &CsvOptions) -> bool {
    let t = clean(cell);
    t.is_empty() || t == "NA" || t == "." || opt.na.iter().any(|n| n.trim() == t)
}

/// Edit distance, for "did you mean" on a misspelt column.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest header name to `want`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(want: &str, have: &'a [String]) -> Option<&'a str> {
    let lw = want.to_lowercase();
    have.iter()
        .map(|h| (levenshtein(&lw, &h.to_lowercase()), h))
        .filter(|(d, h)| *d <= (want.chars().count().max(h.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h.as_str())
}

/// A file-system error in words: the file does not exist, is a directory, ...
pub fn describe_io_error(what: &str, file: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("{what} {file} does not exist; check the path"),
        std::io::ErrorKind::IsADirectory => format!("{what} {file} is a directory, not a file"),
        std::io::ErrorKind::PermissionDenied => format!("cannot read {what} {file}: permission denied"),
        _ => format!("cannot read {what} {file}: {e}"),
    }
}

/// The longest line a model file may have (a model of 3000 indicators on
/// one line is some 30 KB).
pub const MAX_MODEL_LINE: usize = 1 << 20;
/// The longest line a data file may have (100,000 columns of 20
/// characters are 2 MB).
pub const MAX_DATA_LINE: usize = 64 << 20;

/// Read a whole file, refusing a directory with a clear message on every
/// platform (reading one fails with an OS-specific error, or not at all).
/// The file is opened once and read as a stream, so a FIFO or a process
/// substitution (`<(cat data.csv)`) works; binary content (a zero byte) and
/// a line longer than `MAX_*_LINE` stop the reading at once, so that
/// `/dev/zero` or `/dev/urandom` is an error, not gigabytes of memory.
/// What is not a regular file can be read only once: its bytes are kept for
/// the rest of the run, so that commands that read their data more than
/// once (`compare`, `invariance`) see the same bytes every time.
pub fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    let file = path.display().to_string();
    if is_stdin(path) {
        if let Some(b) = once_read().lock().ok().and_then(|m| m.get(path).cloned()) {
            return Ok(b.to_vec());
        }
        let bytes = read_stream(what, "(standard input)", &mut std::io::stdin().lock())?;
        if let Ok(mut m) = once_read().lock() {
            m.insert(path.to_path_buf(), std::sync::Arc::new(bytes.clone()));
        }
        return Ok(bytes);
    }
    if path.is_dir() {
        return Err(format!("{what} {file} is a directory, not a file"));
    }
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if !regular {
        if let Some(b) = once_read().lock().ok().and_then(|m| m.get(path).cloned()) {
            return Ok(b.to_vec());
        }
    }
    let mut f = std::fs::File::open(path).map_err(|e| describe_io_error(what, &file, &e))?;
    let bytes = read_stream(what, &file, &mut f)?;
    if !regular {
        if let Ok(mut m) = once_read().lock() {
            m.insert(path.to_path_buf(), std::sync::Arc::new(bytes.clone()));
        }
    }
    Ok(bytes)
}

/// Whether a path is `-`, standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The bytes of the FIFOs, process substitutions and devices read so far.
type OnceRead = std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, std::sync::Arc<Vec<u8>>>>;
fn once_read() -> &'static OnceRead {
    static READ: std::sync::OnceLock<OnceRead> = std::sync::OnceLock::new();
    READ.get_or_init(Default::default)
}

/// `read_file` on an open reader: everything up to its end, checked chunk
/// by chunk (see `read_file`). A UTF-16 byte-order mark ends the reading
/// too: the caller refuses such a file by its first bytes.
pub fn read_stream(what: &str, file: &str, r: &mut impl std::io::Read) -> Result<Vec<u8>, String> {
    let model = what.starts_with("model");
    let max_line = if model { MAX_MODEL_LINE } else { MAX_DATA_LINE };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    // 1-based number of the line that starts at `line_start`
    let (mut line, mut line_start) = (1usize, 0usize);
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(describe_io_error(what, file, &e)),
        };
        let start = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        if buf.starts_with(b"\xFF\xFE") || buf.starts_with(b"\xFE\xFF") {
            return Ok(buf);
        }
        // an SPSS, Stata or Excel file (the data formats' magic bytes) is
        // binary by design: read it whole, the format's reader checks it
        if !model && start < 16 && super::formats::binary_magic(&buf) {
            return r.read_to_end(&mut buf).map(|_| buf).map_err(|e| describe_io_error(what, file, &e));
        }
        let new = &buf[start..];
        if let Some(at) = memchr::memchr(0, new) {
            let line = line + memchr::memchr_iter(b'\n', &new[..at]).count();
            let not = if model { "lavaan model syntax" } else { "CSV text" };
            return Err(format!(
                "{what} {file} is a binary file, not {not} (a zero byte on line {line}){}",
                if model { "" } else { "; export the data as CSV" }
            ));
        }
        if let Some(last) = memchr::memrchr(b'\n', new) {
            line += memchr::memchr_iter(b'\n', new).count();
            line_start = start + last + 1;
        }
        if buf.len() - line_start > max_line {
            return Err(format!(
                "{what} {file}: line {line} is longer than {} MB without a line end; it is not {}",
                max_line >> 20,
                if model { "a model file" } else { "a CSV file" }
            ));
        }
    }
}

/// Read the columns `want` (and the group column) from a CSV file.
pub fn read_csv(path: &Path, want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<Dataset, DataError> {
    let file = path.display().to_string();
    let bytes = read_file("data file", path).map_err(DataError)?;
    read_csv_bytes(&file, &bytes, want, group, opt)
}

/// What a delimiter is called in a message and on the command line.
fn delimiter_words(d: u8) -> (String, String) {
    match d {
        b',' => ("comma".into(), ",".into()),
        b';' => ("semicolon".into(), ";".into()),
        b'\t' => ("tab".into(), "\\t".into()),
        b'|' => ("pipe".into(), "|".into()),
        b' ' => ("space".into(), " ".into()),
        _ => (format!("`{}`", d as char), (d as char).to_string()),
    }
}

/// A hint when the header is one column that holds another delimiter.
fn delimiter_hint(header: &[String], opt: &CsvOptions) -> Option<String> {
    if header.len() != 1 {
        return None;
    }
    let found = [b';', b'\t', b',', b'|']
        .into_iter()
        .filter(|&d| d != opt.delimiter)
        .max_by_key(|&d| header[0].bytes().filter(|&b| b == d).count())
        .filter(|&d| header[0].as_bytes().contains(&d))?;
    let (name, arg) = delimiter_words(found);
    let (was, _) = delimiter_words(opt.delimiter);
    let shown: String = header[0].chars().take(60).collect();
    let cut = if shown.len() < header[0].len() { "..." } else { "" };
    Some(format!(
        "the header is one single column `{shown}{cut}`: the file looks {name}-separated, not {was}-separated; try --delimiter '{arg}'"
    ))
}

/// Refuse bytes that are not CSV text: UTF-16 (what some spreadsheet
/// programs export as "Unicode text") or a binary file.
fn check_text(file: &str, bytes: &[u8]) -> Result<(), DataError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DataError(format!(
            "data file {file} is UTF-16 text; save it as UTF-8 CSV (in a spreadsheet: \"CSV UTF-8\")"
        )));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(DataError(format!(
            "data file {file} is a binary file, not CSV text (a zero byte on line {line}); export the data as CSV"
        )));
    }
    Ok(())
}

pub fn read_csv_bytes(file: &str, bytes: &[u8], want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<Dataset, DataError> {
    check_text(file, bytes)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError(format!(
            "data file {file} is empty: expected a header row with column names and rows of numbers"
        )));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opt.delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let raw_header = rdr
        .byte_headers()
        .map_err(|e| DataError(format!("cannot read the header of {file}: {e}")))?
        .clone();
    // names are matched as text; a non-UTF-8 name only matters if the model uses it
    let header_utf8 = std::str::from_utf8(raw_header.as_slice()).is_ok();
    // names in NFC, as the model's names are (an accent typed either way matches)
    let header: Vec<String> = raw_header
        .iter()
        .map(|h| crate::syntax::lexer::nfc(clean(&String::from_utf8_lossy(h))))
        .collect();
    // duplicate names make "which column?" ambiguous
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) && (want.contains(h) || group == Some(h.as_str())) {
            return Err(DataError(format!(
                "{file}: the header has the column name `{h}` twice (columns {} and {}); rename one of them",
                header.iter().position(|x| x == h).map_or(0, |k| k + 1),
                i + 1
            )));
        }
    }
    let mut idx = Vec::with_capacity(want.len());
    for w in want {
        match header.iter().position(|h| h == w) {
            Some(i) => idx.push(i),
            None => {
                let mut msg = format!("{file}: the model uses the variable `{w}`, but the data have no column of that name");
                if let Some(hint) = delimiter_hint(&header, opt) {
                    msg.push_str(&format!("; {hint}"));
                } else if looks_like_data(&header) {
                    msg.push_str(&format!(
                        "; the first row looks like data, not column names ({}{}): the file seems to have no header row; add one with the column names",
                        header.iter().take(6).map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                        if header.len() > 6 { ", ..." } else { "" }
                    ));
                } else if let Some(d) = did_you_mean(w, &header) {
                    msg.push_str(&format!("; did you mean `{d}`?"));
                } else {
                    let shown: Vec<&str> = header.iter().take(12).map(|s| s.as_str()).collect();
                    msg.push_str(&format!(
                        " (columns: {}{})",
                        shown.join(", "),
                        if header.len() > 12 { ", ..." } else { "" }
                    ));
                    if !header_utf8 {
                        msg.push_str("; the header is not UTF-8 text: save the file as UTF-8");
                    }
                }
                return Err(DataError(msg));
            }
        }
    }
    let gidx = match group {
        Some(g) => Some(header.iter().position(|h| h == g).ok_or_else(|| {
            let mut msg = format!("{file}: the group column `{g}` is not in the data");
            if let Some(d) = did_you_mean(g, &header) {
                msg.push_str(&format!("; did you mean `{d}`?"));
            }
            DataError(msg)
        })?),
        None => None,
    };
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut groups = gidx.map(|_| Vec::new());
    let mut rec = csv::ByteRecord::new();
    let codes = opt.na_codes();
    // without --na tokens and with the decimal point, a plain number is never missing
    let plain = opt.na.is_empty() && opt.decimal == b'.';
    let mut cursor = LineCursor::default();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte() as usize));
                return Err(DataError(format!("{file}:{line}: {e}")));
            }
        }
        let line = rec.position().map_or(0, |p| cursor.line_at(bytes, p.byte() as usize));
        if rec.iter().all(|c| c.trim_ascii().is_empty()) && rec.len() < header.len().max(2) {
            continue; // a blank line, perhaps with spaces
        }
        if rec.len() != header.len() {
            let mut msg = format!(
                "{file}:{line}: this row has {} fields but the header has {}",
                rec.len(),
                header.len()
            );
            if let Some(hint) = delimiter_hint(&header, opt) {
                msg.push_str(&format!("; {hint}"));
            } else {
                msg.push_str("; a cell that holds the delimiter must be quoted");
            }
            return Err(DataError(msg));
        }
        for (k, &i) in idx.iter().enumerate() {
            // the usual cell, a plain number (`4`, `-1.25`): read at once
            if plain {
                if let Some(v) = plain_number(&rec[i]) {
                    values.push(v);
                    continue;
                }
            }
            let cell = std::str::from_utf8(&rec[i]).map_err(|_| {
                DataError(format!(
                    "{file}:{line}: column `{}` holds `{}`, which is not UTF-8 text (nor a number); save the file as UTF-8",
                    want[k],
                    String::from_utf8_lossy(&rec[i]).trim()
                ))
            })?;
            let v = if is_missing(cell, opt) {
                f64::NAN
            } else {
                parse_cell(clean(cell), opt.decimal).map_err(|why| {
                    let mut msg = format!("{file}:{line}: column `{}` holds `{}`, which is {why}", want[k], cell.trim());
                    if why != "not a number" {
                        msg.push_str("; mark missing values as empty cells, NA or with --na");
                    } else if cell.contains(',') && opt.delimiter != b',' && opt.decimal != b',' {
                        msg.push_str("; if it uses a decimal comma, add --decimal ,");
                    } else {
                        msg.push_str("; if it marks a missing value, add --na ");
                        msg.push_str(clean(cell));
                    }
                    DataError(msg)
                })?
            };
            values.push(if codes.contains(&v) { f64::NAN } else { v });
        }
        if let (Some(gi), Some(gs)) = (gidx, groups.as_mut()) {
            gs.push(clean(&String::from_utf8_lossy(&rec[gi])).to_string());
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(DataError(format!("data file {file} has a header but no rows of data")));
    }
    Ok(Dataset {
        file: file.to_string(),
        names: want.to_vec(),
        values,
        lines,
        group: groups,
    })
}

/// Whether a header row is really a row of data: most of its cells are
/// numbers (a data row may also hold a text column, such as a group name).
pub fn looks_like_data(header: &[String]) -> bool {
    let numbers = header.iter().filter(|h| parse_number(h).is_ok()).count();
    numbers > 0 && 2 * numbers > header.len()
}

/// `line_at` for records read in order: the line breaks before the last
/// position are counted once, so reading a file costs one pass over it
/// instead of one pass per record.
#[derive(Default)]
struct LineCursor {
    pos: usize,
    breaks: u64,
}

impl LineCursor {
    fn line_at(&mut self, bytes: &[u8], at: usize) -> u64 {
        let mut at = at.min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        if at < self.pos {
            *self = LineCursor::default();
        }
        self.breaks += count_breaks(bytes, self.pos, at);
        self.pos = at;
        self.breaks + 1
    }
}

/// Line ends (`\n`, `\r\n`, a lone `\r`) in `bytes[from..to]`.
fn count_breaks(bytes: &[u8], from: usize, to: usize) -> u64 {
    bytes[from..to]
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(from + i + 1) != Some(&b'\n')))
        .count() as u64
}

/// The 1-based line of the record that starts at byte `at`. The csv crate's
/// own line count is one short after CRLF line ends (and does not count a
/// lone `\r`), so lines are counted here: a line ends at `\n`, `\r\n` or a
/// lone `\r`; the line ends a record starts after are skipped first.
pub fn line_at(bytes: &[u8], at: usize) -> u64 {
    let mut at = at.min(bytes.len());
    while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
        at += 1;
    }
    let breaks = bytes[..at]
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    breaks as u64 + 1
}

/// A cell as a number with the decimal mark of `--decimal`: with `,` the
/// comma is the decimal mark and a point is not (`1.234` is refused rather
/// than read as a thousands separator or a decimal).
pub fn parse_cell(t: &str, decimal: u8) -> Result<f64, &'static str> {
    if decimal == b',' {
        if t.contains('.') {
            return Err("not a number");
        }
        return parse_number(&t.replacen(',', ".", 1));
    }
    parse_number(t)
}

/// A cell that is a plain decimal number (an optional `-`, at most 15
/// digits, at most one `.`, nothing else) read exactly as `str::parse`
/// reads it, without its general machinery: the digits make an integer m
/// below 2^53 and the value is m / 10^k with k < 16 fractional digits,
/// both exact in f64, so the one division is correctly rounded (Clinger's
/// fast path, the first thing Rust's own parser tries). Anything else
/// (spaces, quotes, exponents, more digits, text) is `None` and goes the
/// general way. A survey file's cells are nearly all of this kind, and
/// reading them this way makes reading a CSV several times faster.
fn plain_number(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let (mut m, mut nd, mut frac, mut point) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        match c {
            // (more than 15 digits: not plain, before m could overflow)
            b'0'..=b'9' if nd < 15 => {
                m = m * 10 + u64::from(c - b'0');
                nd += 1;
                frac += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if nd == 0 {
        return None;
    }
    let v = m as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// A finite number, or why not. Rust's parser would also read `inf`,
/// `infinity` and `NaN` (any case); those never become numbers here.
pub fn parse_number(t: &str) -> Result<f64, &'static str> {
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Err("not a number (NaN)"),
        Ok(_) if t.bytes().any(|b| b.is_ascii_digit()) => Err("too large to be a finite number"),
        Ok(_) => Err("infinite, not a finite number"),
        Err(_) => Err("not a number"),
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn plain_numbers_read_as_the_general_parser_reads_them() {
        let mut cells: Vec<String> = [
            "0",
            "-0",
            "5",
            "5.",
            ".5",
            "-.5",
            "007",
            "1.000",
            "123456789012345",
            "0.1",
            "0.3",
            "-2.675",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // pseudo-random digits and points, up to 15 digits
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..40_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let nd = 1 + (x % 15) as usize;
            let mut s: String = (0..nd).map(|i| char::from(b'0' + ((x >> (4 + 3 * i)) % 10) as u8)).collect();
            let at = ((x >> 60) as usize) % (nd + 2);
            if at <= nd {
                s.insert(at, '.');
            }
            if x & 1 == 1 {
                s.insert(0, '-');
            }
            cells.push(s);
        }
        for c in &cells {
            let fast = plain_number(c.as_bytes()).unwrap_or_else(|| panic!("`{c}` not plain"));
            let slow: f64 = c.parse().unwrap();
            assert_eq!(fast.to_bits(), slow.to_bits(), "`{c}`");
        }
        // not plain: the general parser (and its messages) take them
        for c in [
            "",
            "-",
            ".",
            "1e3",
            " 1",
            "1 ",
            "\"1\"",
            "1.2.3",
            "+1",
            "1234567890123456",
            "0.33333333333333333333",
            "99999999999999999999",
            "-123456789012345678901234567890",
            "NA",
            "1,5",
            "inf",
        ] {
            assert_eq!(plain_number(c.as_bytes()), None, "`{c}`");
        }
    }

    #[test]
    fn line_cursor_agrees_with_line_at() {
        let bytes = b"a,b\n1,2\r\n3,4\r5,6\n\n7,8\r\n";
        let mut c = LineCursor::default();
        for at in 0..=bytes.len() {
            assert_eq!(c.line_at(bytes, at), line_at(bytes, at), "at {at}");
        }
        // going back restarts the count
        assert_eq!(c.line_at(bytes, 4), line_at(bytes, 4));
    }
}

//! Listwise sample moments straight from a CSV file, in one pass and without
//! keeping the rows: what ML with listwise deletion needs, at a memory cost
//! that does not grow with the number of rows.
//!
//! The file is read in blocks of whole lines. Each block is parsed on its
//! own (in parallel, on rayon's pool) into a `Moments` accumulator: complete
//! rows are gathered `BATCH` at a time, and each batch's mean and centred
//! cross-products are merged into the running ones by Chan et al.'s update
//!
//!   n = n_a + n_b,   delta = mean_b - mean_a,
//!   mean = mean_a + delta n_b / n,   M2 = M2_a + M2_b + delta delta' n_a n_b / n,
//!
//! which is as stable as Welford's one-row update and lets the batch
//! cross-products go through a matrix product. Blocks are merged in file
//! order, so the result does not depend on the number of threads.
//!
//! Lines are split by hand when the data part has no quote character and
//! no bare carriage return (the usual export); otherwise the `csv` crate
//! reads the records, still streaming. Cells are read exactly as
//! `read::read_csv` reads them (trimmed; empty, `NA`, `.` and `--na` tokens
//! missing). Anything that `read_csv` would reject, and a file with no
//! complete row, is handed to `read_csv` and `SampleStats::listwise`, so that
//! every error message is theirs, word for word. A FIFO, a process
//! substitution or a device is not opened again for that: it is read once,
//! whole and bounded (`read::read_file`), and the same steps run on its bytes.

use super::{read::read_csv, CsvOptions, DataError, SampleStats};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes read per block (whole lines are kept together).
const BLOCK: usize = 1 << 22;
/// Complete rows per cross-product batch.
const BATCH: usize = 256;

/// Running listwise moments: count, mean and centred cross-products (M2).
/// The mean is kept relative to a shift (the first complete row seen), so
/// that values far from zero lose no digits to it.
#[derive(Debug, Clone)]
pub struct Moments {
    pub n: usize,
    pub shift: DVector<f64>,
    /// mean - shift
    pub mean: DVector<f64>,
    pub m2: DMatrix<f64>,
    /// records read (complete or not)
    pub rows: usize,
    /// records with a missing value on a wanted column
    pub incomplete: usize,
    /// extremes and missing-value-like codes of the complete rows
    pub ext: super::formats::Extremes,
}

impl Moments {
    pub fn new(p: usize) -> Moments {
        Moments {
            n: 0,
            shift: DVector::zeros(p),
            mean: DVector::zeros(p),
            m2: DMatrix::zeros(p, p),
            rows: 0,
            incomplete: 0,
            ext: super::formats::Extremes::new(p),
        }
    }

    /// Merge `other` (the rows after these) into `self`.
    pub fn merge(&mut self, other: &Moments) {
        self.rows += other.rows;
        self.incomplete += other.incomplete;
        self.ext.merge(&other.ext);
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            self.n = other.n;
            self.shift.copy_from(&other.shift);
            self.mean.copy_from(&other.mean);
            self.m2.copy_from(&other.m2);
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        // the difference of the means, in self's frame
        let delta = (&other.shift - &self.shift) + (&other.mean - &self.mean);
        self.mean.axpy(nb / n, &delta, 1.0);
        self.m2 += &other.m2;
        self.m2.ger(na * nb / n, &delta, &delta, 1.0);
        self.n += other.n;
    }

    /// Merge a batch of complete rows less `shift`, stored row after row in `buf`.
    pub fn add_batch(&mut self, shift: &DVector<f64>, buf: &[f64]) {
        let p = self.mean.len();
        if p == 0 || buf.is_empty() {
            return;
        }
        let k = buf.len() / p;
        // column per row: p x k
        let mut x = DMatrix::from_column_slice(p, k, buf);
        let mean = x.column_mean();
        for mut col in x.column_iter_mut() {
            col -= &mean;
        }
        let m2 = &x * x.transpose();
        self.merge(&Moments {
            n: k,
            shift: shift.clone(),
            mean,
            m2,
            rows: 0,
            incomplete: 0,
            ext: super::formats::Extremes::new(0),
        });
    }

    /// The moments with divisor N, as `SampleStats::listwise` gives them.
    pub fn stats(&self) -> SampleStats {
        let n = self.n as f64;
        let p = self.mean.len();
        let cov = DMatrix::from_fn(p, p, |a, b| {
            let (a, b) = if a >= b { (a, b) } else { (b, a) };
            self.m2[(a, b)] / n
        });
        SampleStats {
            nobs: self.n,
            mean: &self.shift + &self.mean,
            cov,
            dropped: self.incomplete,
        }
    }
}

/// Listwise moments of the columns `want` of a CSV file and the number of
/// rows read, without keeping the rows; the errors are `read_csv`'s.
pub fn moments_csv(path: &Path, want: &[String], opt: &CsvOptions) -> Result<(SampleStats, usize, super::formats::Extremes), DataError> {
    // a FIFO, a process substitution (`<(cat data.csv)`) or a device can be
    // read only once: read it whole (bounded, see `read_file`) and work on the bytes
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        let file = path.display().to_string();
        let bytes = super::read::read_file("data file", path).map_err(DataError)?;
        let m = match stream_split(&bytes[..], want, opt, BLOCK) {
            Ok(m) => Some(m),
            Err(Stop::Csv) => stream_csv(&bytes[..], want, opt),
            Err(Stop::Invalid) => None,
        };
        return match m {
            Some(m) if m.n > 0 => Ok((m.stats(), m.rows, m.ext)),
            _ => {
                let ds = super::read::read_csv_bytes(&file, &bytes, want, None, opt)?;
                let stats = SampleStats::listwise(&ds, None)?;
                Ok((stats, ds.nrows(), super::formats::Extremes::of(&ds)))
            }
        };
    }
    match stream(path, want, opt) {
        Some(m) if m.n > 0 => Ok((m.stats(), m.rows, m.ext)),
        _ => {
            let ds = read_csv(path, want, None, opt)?;
            let stats = SampleStats::listwise(&ds, None)?;
            Ok((stats, ds.nrows(), super::formats::Extremes::of(&ds)))
        }
    }
}

/// Why the hand-split reader gave up.
enum Stop {
    /// quotes or bare carriage returns: let the csv crate read the file
    Csv,
    /// something `read_csv` rejects, or an unusual file: let it say what
    Invalid,
}

/// The moments, or `None` when `read_csv` should read the file.
fn stream(path: &Path, want: &[String], opt: &CsvOptions) -> Option<Moments> {
    match stream_split(File::open(path).ok()?, want, opt, BLOCK) {
        Ok(m) => Some(m),
        Err(Stop::Csv) => stream_csv(File::open(path).ok()?, want, opt),
        Err(Stop::Invalid) => None,
    }
}

/// Column indices of `want` in the header, or `None` when a column is
/// missing or named twice (`read_csv` explains either).
fn want_indices(header: &[String], want: &[String]) -> Option<Vec<usize>> {
    let mut idx = Vec::with_capacity(want.len());
    for w in want {
        let mut hits = header.iter().enumerate().filter(|(_, h)| *h == w);
        let (i, _) = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        idx.push(i);
    }
    Some(idx)
}

/// The header's names as `read_csv` trims them.
fn parse_header(line: &[u8], opt: &CsvOptions) -> Option<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opt.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(line);
    let h = rdr.headers().ok()?;
    Some(h.iter().map(|s| crate::syntax::lexer::nfc(s.trim())).collect())
}

/// A cell as `read_csv` reads it: `Some(NaN)` when missing, `None` when it
/// is not a finite number (an error there).
#[inline]
fn cell_value(cell: &str, opt: &CsvOptions) -> Option<f64> {
    let b = cell.as_bytes();
    // trim only when an end is not a plain ASCII character
    let t = match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => cell,
        _ => cell.trim(),
    };
    if t.is_empty() || t == "NA" || t == "." || opt.na.iter().any(|n| n == t) {
        return Some(f64::NAN);
    }
    if opt.decimal != b'.' {
        return super::read::parse_cell(t, opt.decimal).ok();
    }
    decimal(t.as_bytes()).or_else(|| t.parse::<f64>().ok()).filter(|v| v.is_finite())
}

/// Exact powers of ten up to 10^22, the largest that a double holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path for plain decimals (`-12.345`): when the digits
/// make an integer m < 2^53 and there are at most 22 decimals, m / 10^k is
/// one correctly rounded division of exact numbers, so it is the correctly
/// rounded value that `str::parse` gives. `None` for anything else.
#[inline]
fn decimal(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mut m, mut nd, mut frac, mut dot) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        if c.is_ascii_digit() {
            if nd == 19 {
                return None;
            }
            m = m * 10 + u64::from(c - b'0');
            nd += 1;
            frac += usize::from(dot);
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            return None;
        }
    }
    if nd == 0 || m > (1u64 << 53) || frac > 22 {
        return None;
    }
    let v = m as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// Accumulates records of one block.
struct Block<'a> {
    opt: &'a CsvOptions,
    /// wanted position of each header column (usize::MAX: not wanted)
    target: &'a [usize],
    ncol: usize,
    p: usize,
    row: Vec<f64>,
    /// the first complete row, subtracted from every row
    shift: Option<DVector<f64>>,
    buf: Vec<f64>,
    acc: Moments,
    /// numeric `--na` codes
    codes: Vec<f64>,
}

impl<'a> Block<'a> {
    fn new(opt: &'a CsvOptions, target: &'a [usize], p: usize) -> Block<'a> {
        Block {
            opt,
            target,
            ncol: target.len(),
            p,
            row: vec![0.0; p],
            shift: None,
            buf: Vec::with_capacity(BATCH * p),
            acc: Moments::new(p),
            codes: opt.na_codes(),
        }
    }

    /// One record's fields; `false` when `read_csv` would reject it.
    /// Fields are `None` when they are not UTF-8.
    fn record<'f>(&mut self, fields: impl Iterator<Item = Option<&'f str>>) -> bool {
        let mut nf = 0;
        let mut complete = true;
        let mut blank = true;
        for (k, f) in fields.enumerate() {
            nf += 1;
            if k >= self.ncol {
                return false;
            }
            let Some(s) = f else { return false };
            blank &= s.trim_ascii().is_empty();
            let t = self.target[k];
            if t != usize::MAX {
                match cell_value(s, self.opt) {
                    Some(v) => {
                        let v = if self.codes.contains(&v) { f64::NAN } else { v };
                        complete &= !v.is_nan();
                        self.row[t] = v;
                    }
                    None => return false,
                }
            }
        }
        // a line of blanks with fewer fields than the header: skipped, as read_csv does
        if blank && nf < self.ncol.max(2) {
            return true;
        }
        self.end_record(nf, complete)
    }

    /// Count a record of `nf` fields whose wanted values are in `row`.
    fn end_record(&mut self, nf: usize, complete: bool) -> bool {
        // the csv crate rejects a record of another length (a line of
        // spaces too), and skips only empty lines
        if nf != self.ncol {
            return false;
        }
        self.acc.rows += 1;
        if complete {
            self.acc.ext.push(&self.row);
            let shift = self.shift.get_or_insert_with(|| DVector::from_column_slice(&self.row));
            self.buf.extend(self.row.iter().zip(shift.iter()).map(|(v, s)| v - s));
            if self.buf.len() == BATCH * self.p {
                self.flush();
            }
        } else {
            self.acc.incomplete += 1;
        }
        true
    }

    fn flush(&mut self) {
        if let Some(shift) = &self.shift {
            self.acc.add_batch(shift, &self.buf);
        }
        self.buf.clear();
    }

    fn finish(mut self) -> Moments {
        self.flush();
        self.acc
    }
}

/// Wanted position of each header column.
fn targets(ncol: usize, idx: &[usize]) -> Vec<usize> {
    let mut t = vec![usize::MAX; ncol];
    for (k, &i) in idx.iter().enumerate() {
        t[i] = k;
    }
    t
}

/// Parse a block of whole lines split by hand.
fn parse_block(bytes: &[u8], delim: u8, opt: &CsvOptions, target: &[usize], p: usize) -> Result<Moments, Stop> {
    // quotes, or decimal commas: the csv crate splits the fields
    if memchr::memchr(b'"', bytes).is_some() || opt.decimal != b'.' {
        return Err(Stop::Csv);
    }
    if memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n')) {
        return Err(Stop::Csv);
    }
    // a delimiter byte beyond ASCII could cut a character in two; one that
    // can be part of a number or a line end is left to the csv crate too
    if !delim.is_ascii() || delim.is_ascii_digit() || b".-+\r\n".contains(&delim) {
        return Err(Stop::Csv);
    }
    std::str::from_utf8(bytes).map_err(|_| Stop::Invalid)?;
    let mut b = Block::new(opt, target, p);
    let n = bytes.len();
    let end_of_field = |c: u8| c == delim || c == b'\n' || c == b'\r';
    let mut i = 0;
    while i < n {
        // an empty line (the csv crate skips it)
        if bytes[i] == b'\n' {
            i += 1;
            continue;
        }
        if bytes[i] == b'\r' {
            i += 2;
            continue;
        }
        // a line of blanks: skipped, as read_csv skips it, when it has fewer
        // fields than the header (and fewer than two)
        let line_end = memchr::memchr(b'\n', &bytes[i..]).map_or(n, |e| i + e);
        let line = &bytes[i..line_end];
        if line.iter().all(|c| c.is_ascii_whitespace() || *c == delim) {
            let nf = line.iter().filter(|c| **c == delim).count() + 1;
            if nf < b.ncol.max(2) {
                i = line_end + 1;
                continue;
            }
        }
        let mut k = 0;
        let mut complete = true;
        loop {
            // one field from i: a plain decimal is read as it is scanned
            let start = i;
            let (mut m, mut nd, mut frac, mut dot) = (0u64, 0usize, 0usize, false);
            let neg = i < n && bytes[i] == b'-';
            if neg {
                i += 1;
            }
            while i < n {
                let c = bytes[i];
                if c.is_ascii_digit() {
                    m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                    nd += 1;
                    frac += usize::from(dot);
                } else if c == b'.' && !dot {
                    dot = true;
                } else {
                    break;
                }
                i += 1;
            }
            let plain = (i == n || end_of_field(bytes[i]))
                && nd > 0
                && nd <= 19
                && m <= (1u64 << 53)
                && frac <= 22
                && !opt.na.iter().any(|t| t.as_bytes() == &bytes[start..i]);
            if !plain {
                while i < n && !end_of_field(bytes[i]) {
                    i += 1;
                }
            }
            if k < b.ncol {
                let t = b.target[k];
                if t != usize::MAX {
                    let v = if plain {
                        let v = m as f64 / POW10[frac];
                        if neg {
                            -v
                        } else {
                            v
                        }
                    } else {
                        // validated as UTF-8 above, and cut at ASCII bytes
                        let cell = std::str::from_utf8(&bytes[start..i]).map_err(|_| Stop::Invalid)?;
                        cell_value(cell, opt).ok_or(Stop::Invalid)?
                    };
                    let v = if !b.codes.is_empty() && b.codes.contains(&v) { f64::NAN } else { v };
                    complete &= !v.is_nan();
                    b.row[t] = v;
                }
            }
            k += 1;
            if i < n && bytes[i] == delim {
                i += 1;
                continue;
            }
            // end of the line (\r is always followed by \n here)
            i += if i < n && bytes[i] == b'\r' { 2 } else { 1 };
            break;
        }
        if !b.end_record(k, complete) {
            return Err(Stop::Invalid);
        }
    }
    Ok(b.finish())
}

/// Read the file in blocks of whole lines, split them by hand, in parallel.
fn stream_split(mut file: impl Read, want: &[String], opt: &CsvOptions, block: usize) -> Result<Moments, Stop> {
    // grown by read_to_end as needed: a small file costs a small buffer
    let mut pending: Vec<u8> = Vec::new();
    // the header: the first line (a quote in it means a quoted header,
    // which may span lines: let the csv crate read such a file)
    let header_end = loop {
        if let Some(i) = memchr::memchr(b'\n', &pending) {
            break i;
        }
        let before = pending.len();
        let got = (&mut file).take(65536).read_to_end(&mut pending).map_err(|_| Stop::Invalid)?;
        if got == 0 {
            return Err(Stop::Invalid);
        }
        if before > (1 << 24) {
            return Err(Stop::Invalid);
        }
    };
    let start = if pending.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let header_line = &pending[start..header_end];
    if header_line.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Stop::Invalid);
    }
    if memchr::memchr(b'"', header_line).map_or(0, |_| header_line.iter().filter(|b| **b == b'"').count()) % 2 == 1 {
        return Err(Stop::Csv);
    }
    let header = parse_header(header_line, opt).ok_or(Stop::Invalid)?;
    let idx = want_indices(&header, want).ok_or(Stop::Invalid)?;
    let target = targets(header.len(), &idx);
    let p = want.len();
    pending.drain(..=header_end);
    let threads = rayon::current_num_threads().max(1);
    let mut total = Moments::new(p);
    let mut eof = false;
    while !eof {
        // gather up to `threads` blocks of whole lines
        let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(threads);
        while blocks.len() < threads && !eof {
            let want_len = block.saturating_sub(pending.len()).max(block / 16 + 1);
            let got = (&mut file)
                .take(want_len as u64)
                .read_to_end(&mut pending)
                .map_err(|_| Stop::Invalid)?;
            if got == 0 {
                eof = true;
            }
            let cut = if eof {
                pending.len()
            } else {
                match memchr::memrchr(b'\n', &pending) {
                    Some(i) => i + 1,
                    None => continue, // a line longer than a block: read on
                }
            };
            let rest = pending.split_off(cut);
            if !pending.is_empty() {
                blocks.push(std::mem::replace(&mut pending, rest));
            } else {
                pending = rest;
            }
        }
        let parts: Vec<Result<Moments, Stop>> = if blocks.len() > 1 {
            blocks.par_iter().map(|b| parse_block(b, opt.delimiter, opt, &target, p)).collect()
        } else {
            blocks.iter().map(|b| parse_block(b, opt.delimiter, opt, &target, p)).collect()
        };
        for part in parts {
            total.merge(&part?);
        }
    }
    Ok(total)
}

/// Stream the records through the csv crate (quoted fields and the like).
fn stream_csv(file: impl Read, want: &[String], opt: &CsvOptions) -> Option<Moments> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    // skip a byte-order mark, as read_csv does
    {
        use std::io::BufRead;
        let head = reader.fill_buf().ok()?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opt.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = rdr.headers().ok()?.iter().map(|h| crate::syntax::lexer::nfc(h.trim())).collect();
    let idx = want_indices(&header, want)?;
    let target = targets(header.len(), &idx);
    let mut b = Block::new(opt, &target, want.len());
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => return None,
        }
        if !b.record(rec.iter().map(|f| std::str::from_utf8(f).ok())) {
            return None;
        }
    }
    Some(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read::read_csv_bytes;

    fn write(name: &str, text: impl AsRef<[u8]>) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sem-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Streaming and the row-storing reader agree on counts and moments.
    fn agree(name: &str, text: &str, want: &[&str]) {
        agree_with(name, text, want, &CsvOptions::default())
    }

    fn agree_with(name: &str, text: &str, want: &[&str], opt: &CsvOptions) {
        let want = names(want);
        let p = write(name, text);
        let (s, rows, _) = moments_csv(&p, &want, opt).unwrap();
        let ds = read_csv_bytes("x", text.as_bytes(), &want, None, opt).unwrap();
        let r = SampleStats::listwise(&ds, None).unwrap();
        assert_eq!(rows, ds.nrows(), "{name}");
        assert_eq!((s.nobs, s.dropped), (r.nobs, r.dropped), "{name}");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(
            s.mean.iter().zip(r.mean.iter()).all(|(a, b)| close(*a, *b)),
            "{name}: {} vs {}",
            s.mean,
            r.mean
        );
        let worst = s
            .cov
            .iter()
            .zip(r.cov.iter())
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f64::max);
        assert!(worst <= 1e-12, "{name}: relative difference {worst:e} in the covariances");
    }

    #[test]
    fn agrees_with_the_row_reader() {
        let mut big = String::from("a,b,c,name\n");
        for i in 0..2000 {
            let x = i as f64;
            let a = if i % 17 == 0 {
                "NA".to_string()
            } else {
                format!("{}", 1e6 + (x * 0.37).sin())
            };
            big.push_str(&format!("{a}, {} ,{},row{i}\n", (x * 0.11).cos() * 3.0, x * 1e-3));
        }
        agree("big.csv", &big, &["c", "a", "b"]);
        // many small blocks, merged in order: the same moments
        let p = write("blocks.csv", &big);
        let want = names(&["c", "a", "b"]);
        let opt = CsvOptions::default();
        let one = stream_split(File::open(&p).unwrap(), &want, &opt, BLOCK).ok().unwrap();
        for block in [64, 1000, 4096] {
            let many = stream_split(File::open(&p).unwrap(), &want, &opt, block).ok().unwrap();
            assert_eq!((many.n, many.rows, many.incomplete), (one.n, one.rows, one.incomplete));
            let (a, b) = (many.stats(), one.stats());
            assert!(
                (&a.cov - &b.cov).amax() < 1e-12 && (&a.mean - &b.mean).amax() < 1e-9,
                "block {block}"
            );
        }
        agree("crlf.csv", "\u{feff}x,y\r\n1,2\r\n3,5\r\n\r\n4,4\r\n", &["y", "x"]);
        agree(
            "quoted.csv",
            "\"x\",\"y\",\"t\"\n1,2,\"a,b\"\n3,5,\"c\"\n6,.,\"d\"\n7,1,e\n",
            &["x", "y"],
        );
        agree("blank.csv", "x,y\n1,2\n\n3,5\n\n\n8,1", &["x", "y"]);
        agree("one.csv", "x\n1\n  \n3\n8", &["x"]);
        agree("spaces.csv", "x,y\n1,2\n   \n3,4\n5,9\n", &["x", "y"]);
        let semi = CsvOptions {
            delimiter: b';',
            na: vec!["-99".into()],
            ..Default::default()
        };
        agree_with("semicolon.csv", "x;y\n1;2\n3;-99\n6;6\n4; 1\n", &["y", "x"], &semi);
    }

    #[test]
    fn errors_are_read_csv_errors() {
        let opt = CsvOptions::default();
        for (name, text) in [
            ("bad.csv", "x,y\n1,2\n3,oops\n"),
            ("short.csv", "x,y\n1,2\n3\n"),
            ("long.csv", "x,y\n1,2\n3,4,5\n"),
            ("inf.csv", "x,y\n1,2\n3,inf\n"),
            ("nocol.csv", "x,z\n1,2\n"),
            ("norows.csv", "x,y\n"),
            ("allmissing.csv", "x,y\n1,NA\nNA,2\n"),
            ("empty.csv", "\n \n"),
        ] {
            let p = write(name, text);
            let e = moments_csv(&p, &names(&["x", "y"]), &opt)
                .err()
                .unwrap_or_else(|| panic!("{name}: no error"));
            let want = read_csv(&p, &names(&["x", "y"]), None, &opt).and_then(|d| SampleStats::listwise(&d, None).map(|_| ()));
            assert_eq!(Some(e.0), want.err().map(|e| e.0), "{name}");
        }
        // not UTF-8 in a column the model does not use: accepted, as read_csv does
        let p = write("latin1.csv", b"x,y,z\n1,2,caf\xe9\n3,1,a\n");
        let (s, rows, _) = moments_csv(&p, &names(&["x", "y"]), &opt).unwrap();
        assert_eq!((rows, s.nobs), (2, 2));
    }

    #[test]
    fn decimals_parse_as_std_does() {
        for s in [
            "0",
            "-0",
            "1.5",
            "-12.345678",
            "0.1",
            "123456789012345678",
            "9007199254740993",
            "1.7976931348623157",
            "+3.25",
            "0.000000000000000000001",
            "5.",
        ] {
            let want: f64 = s.parse().unwrap();
            let got = decimal(s.as_bytes()).unwrap_or_else(|| s.parse().unwrap());
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        for s in ["1e5", "", "-", ".", "1.2.3", "1,5", "nan", "0x10"] {
            assert!(decimal(s.as_bytes()).is_none(), "{s}");
        }
        // every 6-decimal value of a range, bit for bit
        for i in -200_000..200_000 {
            let s = format!("{:.6}", i as f64 * 0.000_731);
            assert_eq!(decimal(s.as_bytes()).unwrap().to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
        }
    }

    #[test]
    fn merging_is_stable_far_from_zero() {
        // values near 1e9 with unit spread: naive sums of squares lose it all
        let mut m = Moments::new(1);
        let target = [0];
        let opt = CsvOptions::default();
        for chunk in 0..10 {
            let mut b = Block::new(&opt, &target, 1);
            for i in chunk * 1000..(chunk + 1) * 1000 {
                let v = format!("{}", 1e9 + (i % 7) as f64);
                assert!(b.record(std::iter::once(Some(v.as_str()))));
            }
            m.merge(&b.finish());
        }
        let s = m.stats();
        // mean of 0..6 repeated: 10_000 = 1428 * 7 + 4
        let vals: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
        let mu = vals.iter().sum::<f64>() / 1e4;
        let var = vals.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / 1e4;
        assert!((s.mean[0] - 1e9 - mu).abs() < 1e-14 * 1e9, "{} vs {mu}", s.mean[0] - 1e9);
        assert!((s.cov[(0, 0)] - var).abs() < 1e-9, "{} vs {var}", s.cov[(0, 0)]);
    }
}

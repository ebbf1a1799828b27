//! Reading a CSV file into the columns a model needs. Missing values are the
//! empty cell, `NA`, `.` and any `--na` tokens; every other cell must be a
//! number, and when it is not the message names the file, the line and the
//! column. Columns the model does not use are never parsed, so text columns
//! (names, comments) do no harm.

use super::DataError;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    /// extra missing-value tokens besides empty, `NA` and `.`
    pub na: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            na: vec![],
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

fn is_missing(cell: &str, opt: &CsvOptions) -> bool {
    let t = cell.trim();
    t.is_empty() || t == "NA" || t == "." || opt.na.iter().any(|n| n == t)
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

/// Read the columns `want` (and the group column) from a CSV file.
pub fn read_csv(path: &Path, want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<Dataset, DataError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError(format!("cannot read data file {file}: {e}")))?;
    read_csv_bytes(&file, &bytes, want, group, opt)
}

pub fn read_csv_bytes(file: &str, bytes: &[u8], want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<Dataset, DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError(format!(
            "data file {file} is empty: expected a header row with column names and rows of numbers"
        )));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opt.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| DataError(format!("cannot read the header of {file}: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    // duplicate names make "which column?" ambiguous
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) && (want.contains(h) || group == Some(h.as_str())) {
            return Err(DataError(format!(
                "{file}: the header has the column name `{h}` twice (columns {} and {}); rename one of them",
                header.iter().position(|x| x == h).unwrap() + 1,
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
                if let Some(d) = did_you_mean(w, &header) {
                    msg.push_str(&format!("; did you mean `{d}`?"));
                } else if header.len() == 1 && opt.delimiter == b',' && (header[0].contains(';') || header[0].contains('\t')) {
                    let sep = if header[0].contains(';') { ";" } else { "\\t" };
                    msg.push_str(&format!(
                        "; the header looks {}-separated: try --delimiter '{sep}'",
                        if sep == ";" { "semicolon" } else { "tab" }
                    ));
                } else {
                    let shown: Vec<&str> = header.iter().take(12).map(|s| s.as_str()).collect();
                    msg.push_str(&format!(
                        " (columns: {}{})",
                        shown.join(", "),
                        if header.len() > 12 { ", ..." } else { "" }
                    ));
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
    let p = want.len();
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut groups = gidx.map(|_| Vec::new());
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let detail = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("this row has {len} fields but the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8 text".to_string(),
                    _ => e.to_string(),
                };
                return Err(DataError(format!("{file}:{line}: {detail}")));
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec[0].trim().is_empty() && header.len() > 1 {
            continue; // a blank line
        }
        for (k, &i) in idx.iter().enumerate() {
            let cell = &rec[i];
            let v = if is_missing(cell, opt) {
                f64::NAN
            } else {
                match cell.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => v,
                    Ok(_) => {
                        return Err(DataError(format!(
                            "{file}:{line}: column `{}` holds `{}`, which is not a finite number; mark missing values as empty, NA or with --na",
                            want[k],
                            cell.trim()
                        )))
                    }
                    Err(_) => {
                        let mut msg = format!("{file}:{line}: column `{}` holds `{}`, which is not a number", want[k], cell.trim());
                        if cell.contains(',') && opt.delimiter != b',' {
                            msg.push_str("; if it uses a decimal comma, convert it to a decimal point");
                        } else {
                            msg.push_str("; if it marks a missing value, add --na ");
                            msg.push_str(cell.trim());
                        }
                        return Err(DataError(msg));
                    }
                }
            };
            values.push(v);
        }
        if let (Some(gi), Some(gs)) = (gidx, groups.as_mut()) {
            gs.push(rec[gi].trim().to_string());
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(DataError(format!("data file {file} has a header but no rows of data")));
    }
    let _ = p;
    Ok(Dataset {
        file: file.to_string(),
        names: want.to_vec(),
        values,
        lines,
        group: groups,
    })
}

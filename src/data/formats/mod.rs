//! DATA in the formats survey researchers have it: delimited text (CSV,
//! semicolon and decimal-comma exports, standard input `-`), SPSS
//! `.sav`/`.zsav`, Stata `.dta` (117–119) and Excel workbooks. One reader per
//! format behind one interface (`read`, `moments`, `columns`), so every
//! command takes every format. The format is told by the file's first bytes
//! (an SPSS file renamed `.csv` is still read as SPSS) and, when those are
//! not a known signature, by the extension, which then must be honest.
//!
//! Delimited text keeps its own tuned readers (`read::read_csv_bytes`,
//! `stream::moments_csv`). The binary formats are `Table`s: named columns,
//! read a row at a time, whose cells are numbers (missing already decoded:
//! SPSS system- and user-missing values, Stata's `.` and `.a`–`.z`, empty
//! Excel cells) or text (read like a CSV cell). `read` gathers the model's
//! columns into a `Dataset`; `moments` streams them into listwise moments
//! without keeping the rows, as the CSV reader does.

pub mod csv;
pub mod excel;
pub mod source;
pub mod spss;
pub mod stata;

use super::read::{did_you_mean, is_stdin, parse_cell, read_file};
use super::stream::Moments;
use super::{CsvOptions, DataError, Dataset, SampleStats};
use nalgebra::DVector;
use std::borrow::Cow;
use std::path::Path;

/// The formats DATA may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Spss,
    Stata,
    Excel,
}

const CFB: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The format announced by a file's first bytes, if any.
pub fn magic(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"$FL2") || head.starts_with(b"$FL3") {
        Some(Format::Spss)
    } else if head.starts_with(b"<stata_dta>") {
        Some(Format::Stata)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(CFB) {
        Some(Format::Excel)
    } else {
        None
    }
}

/// Whether bytes start like a binary data format (read whole from a pipe).
pub fn binary_magic(head: &[u8]) -> bool {
    magic(head).is_some()
}

/// The format an extension promises.
fn by_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "sav" | "zsav" => Some(Format::Spss),
        "dta" => Some(Format::Stata),
        "xlsx" | "xlsm" | "xls" | "ods" => Some(Format::Excel),
        _ => None,
    }
}

/// Where a binary file's bytes come from: a regular file (streamed) or
/// bytes already read from standard input, a FIFO or a device.
pub enum Origin {
    File(std::fs::File, u64),
    Bytes(Vec<u8>),
}

/// The format of `path` and its bytes' origin. A regular file is opened
/// once and only its first bytes are looked at; anything else is read once,
/// whole (and kept for a second read, see `read::read_file`).
pub fn open(path: &Path) -> Result<(Format, Option<Origin>), DataError> {
    let file = path.display().to_string();
    let regular = !is_stdin(path) && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    let (head, origin) = if regular {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| DataError(super::read::describe_io_error("data file", &file, &e)))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = Vec::with_capacity(16);
        (&mut f)
            .take(16)
            .read_to_end(&mut head)
            .map_err(|e| DataError(format!("cannot read data file {file}: {e}")))?;
        (head, Origin::File(f, len))
    } else {
        let bytes = read_file("data file", path).map_err(DataError)?;
        (bytes.iter().take(16).copied().collect(), Origin::Bytes(bytes))
    };
    let by_magic = magic(&head);
    let by_ext = by_extension(path);
    let format = match (by_magic, by_ext) {
        (Some(f), _) => f,
        (None, None) => return Ok((Format::Text, None)),
        (None, Some(Format::Stata)) => return Err(stata::old_version(&file, &head)),
        (None, Some(f)) => {
            let what = match f {
                Format::Spss => "an SPSS data file (it does not start with $FL2 or $FL3)",
                _ => "an Excel workbook (it is not a zip archive nor an Excel 97 file)",
            };
            let hint = if head.is_ascii() && !head.is_empty() {
                "; it looks like text: if it is CSV, rename it to .csv"
            } else {
                ""
            };
            return Err(DataError(format!(
                "data file {file} has the extension of {} but is not {what}{hint}",
                if f == Format::Spss { "an SPSS file" } else { "an Excel workbook" }
            )));
        }
    };
    Ok((format, Some(origin)))
}

/// One column of a binary file.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// value labels of a numeric column (code, label)
    pub labels: Vec<(f64, String)>,
}

/// A cell of a binary file: a number (`NaN` when missing, whatever the
/// file's code for it) or text, read as a CSV cell is.
pub enum Cell<'a> {
    Num(f64),
    Text(Cow<'a, str>),
}

/// A binary data file read a row at a time.
pub trait Table {
    fn columns(&self) -> &[Column];
    /// Move to the next row; `false` after the last.
    fn next_row(&mut self) -> Result<bool, DataError>;
    /// Cell `c` of the current row.
    fn cell(&self, c: usize) -> Cell<'_>;
    /// What to add when a column is not found (a workbook's other sheets).
    fn hint(&self) -> Option<String> {
        None
    }
}

/// The table of a binary file, its format chosen already.
fn table(file: &str, format: Format, origin: Origin, opt: &CsvOptions) -> Result<Box<dyn Table>, DataError> {
    Ok(match format {
        Format::Spss => Box::new(spss::Sav::open(file, origin)?),
        Format::Stata => Box::new(stata::Dta::open(file, origin)?),
        Format::Excel => Box::new(excel::Sheet::open(file, origin, opt.sheet.as_deref())?),
        Format::Text => unreachable!("text is not a table"),
    })
}

/// What `read` and `moments` found besides the data: warnings for the report.
pub type Warnings = Vec<String>;

/// Read the columns `want` (and the group column) of a data file in any format.
pub fn read(path: &Path, want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<(Dataset, Warnings), DataError> {
    let file = path.display().to_string();
    match open(path)? {
        (Format::Text, _) => {
            check_sheet(&file, opt)?;
            let ds = csv::read(path, want, group, opt)?;
            let w = Extremes::of(&ds).warnings(&file, &ds.names);
            Ok((ds, w))
        }
        (f, Some(origin)) => {
            let mut t = table(&file, f, origin, opt)?;
            read_table(&file, t.as_mut(), want, group, opt)
        }
        (_, None) => unreachable!("a binary format has its bytes"),
    }
}

/// `read` on bytes already in memory (the format told by their first
/// bytes alone): what the fuzz tests drive.
pub fn read_bytes(
    file: &str,
    bytes: Vec<u8>,
    want: &[String],
    group: Option<&str>,
    opt: &CsvOptions,
) -> Result<(Dataset, Warnings), DataError> {
    match magic(&bytes) {
        None => {
            let ds = super::read::read_csv_bytes(file, &bytes, want, group, opt)?;
            let w = Extremes::of(&ds).warnings(file, &ds.names);
            Ok((ds, w))
        }
        Some(f) => {
            let mut t = table(file, f, Origin::Bytes(bytes), opt)?;
            read_table(file, t.as_mut(), want, group, opt)
        }
    }
}

/// `moments` on bytes in memory (a binary format).
pub fn moments_bytes(file: &str, bytes: Vec<u8>, want: &[String], opt: &CsvOptions) -> Result<(SampleStats, usize, Warnings), DataError> {
    match magic(&bytes) {
        None => Err(DataError(format!("{file}: not a binary data format"))),
        Some(f) => {
            let mut t = table(file, f, Origin::Bytes(bytes), opt)?;
            moments_table(file, t.as_mut(), want, opt)
        }
    }
}

/// The listwise moments of the columns `want` and the number of rows read,
/// without keeping the rows.
pub fn moments(path: &Path, want: &[String], opt: &CsvOptions) -> Result<(SampleStats, usize, Warnings), DataError> {
    let file = path.display().to_string();
    match open(path)? {
        (Format::Text, _) => {
            check_sheet(&file, opt)?;
            let (m, rows) = csv::moments(path, want, opt)?;
            Ok((m.0, rows, m.1))
        }
        (f, Some(origin)) => {
            let mut t = table(&file, f, origin, opt)?;
            moments_table(&file, t.as_mut(), want, opt)
        }
        (_, None) => unreachable!("a binary format has its bytes"),
    }
}

/// Whether the data have a column of this name (for `--ordered` lists).
pub fn has_column(path: &Path, name: &str, opt: &CsvOptions) -> bool {
    read(path, &[name.to_string()], None, opt).is_ok()
}

/// `--sheet` names a worksheet: it means nothing for delimited text.
fn check_sheet(file: &str, opt: &CsvOptions) -> Result<(), DataError> {
    match &opt.sheet {
        Some(s) => Err(DataError(format!(
            "--sheet {s} applies to Excel workbooks, but data file {file} is delimited text; drop --sheet"
        ))),
        None => Ok(()),
    }
}

/// Column positions of `want` and of the group column. A name matches
/// exactly, else (SPSS names are case-blind) in another case when only one
/// column does.
fn resolve(file: &str, t: &dyn Table, want: &[String], group: Option<&str>) -> Result<(Vec<usize>, Option<usize>), DataError> {
    let cols = t.columns();
    let names: Vec<String> = cols.iter().map(|c| crate::syntax::lexer::nfc(&c.name)).collect();
    let find = |w: &str| -> Result<Option<usize>, DataError> {
        let exact: Vec<usize> = (0..names.len()).filter(|&i| names[i] == w).collect();
        let hits = if exact.is_empty() {
            (0..names.len()).filter(|&i| names[i].to_lowercase() == w.to_lowercase()).collect()
        } else {
            exact
        };
        match hits.as_slice() {
            [i] => Ok(Some(*i)),
            [] => Ok(None),
            [a, b, ..] => Err(DataError(format!(
                "{file}: the data have two columns named `{w}` (columns {} and {}); rename one of them",
                a + 1,
                b + 1
            ))),
        }
    };
    let mut idx = Vec::with_capacity(want.len());
    for w in want {
        match find(w)? {
            Some(i) => idx.push(i),
            None => {
                let mut msg = format!("{file}: the model uses the variable `{w}`, but the data have no column of that name");
                if let Some(d) = did_you_mean(w, &names) {
                    msg.push_str(&format!("; did you mean `{d}`?"));
                } else {
                    let shown: Vec<&str> = names.iter().take(12).map(|s| s.as_str()).collect();
                    msg.push_str(&format!(
                        " (columns: {}{})",
                        shown.join(", "),
                        if names.len() > 12 { ", ..." } else { "" }
                    ));
                }
                if let Some(h) = t.hint() {
                    msg.push_str(&format!("; {h}"));
                }
                return Err(DataError(msg));
            }
        }
    }
    let gidx = match group {
        Some(g) => Some(find(g)?.ok_or_else(|| {
            let mut msg = format!("{file}: the group column `{g}` is not in the data");
            if let Some(d) = did_you_mean(g, &names) {
                msg.push_str(&format!("; did you mean `{d}`?"));
            }
            DataError(msg)
        })?),
        None => None,
    };
    Ok((idx, gidx))
}

/// A cell as a value of the model: a number, or text read as CSV reads it.
fn value(file: &str, row: usize, name: &str, cell: Cell<'_>, opt: &CsvOptions, codes: &[f64]) -> Result<f64, DataError> {
    match cell {
        Cell::Num(v) if v.is_nan() || codes.contains(&v) => Ok(f64::NAN),
        Cell::Num(v) if v.is_finite() => Ok(v),
        Cell::Num(v) => Err(DataError(format!(
            "{file}: row {row}: column `{name}` holds {v}, which is not a finite number"
        ))),
        Cell::Text(t) => {
            let t = t.trim();
            if t.is_empty() || t == "NA" || t == "." || opt.na.iter().any(|n| n.trim() == t) {
                return Ok(f64::NAN);
            }
            parse_cell(t, b'.').map_err(|why| {
                DataError(format!(
                    "{file}: row {row}: column `{name}` holds `{t}`, which is {why}; if it marks a missing value, add --na {t}"
                ))
            })
        }
    }
}

/// How a group column's cells are named: by their value labels. Two codes
/// that share a label would merge two groups silently: refused.
fn group_namer<'c>(file: &str, col: &'c Column) -> Result<impl Fn(Cell<'_>) -> String + 'c, DataError> {
    for (i, (a, la)) in col.labels.iter().enumerate() {
        if let Some((b, _)) = col.labels[..i].iter().find(|(b, lb)| lb == la && b != a) {
            return Err(DataError(format!(
                "{file}: the group column `{}` gives the label `{la}` to two codes ({b} and {a}), so the groups are ambiguous; give each code its own label",
                col.name
            )));
        }
    }
    Ok(move |c: Cell<'_>| match c {
        Cell::Num(v) if v.is_nan() => String::new(),
        Cell::Num(v) => col
            .labels
            .iter()
            .find(|(k, _)| *k == v)
            .map_or_else(|| format!("{v}"), |(_, l)| l.clone()),
        Cell::Text(t) => t.trim().to_string(),
    })
}

fn read_table(
    file: &str,
    t: &mut dyn Table,
    want: &[String],
    group: Option<&str>,
    opt: &CsvOptions,
) -> Result<(Dataset, Warnings), DataError> {
    let (idx, gidx) = resolve(file, t, want, group)?;
    let codes = opt.na_codes();
    let gcol = gidx.map(|g| t.columns()[g].clone());
    let namer = gcol.as_ref().map(|c| group_namer(file, c)).transpose()?;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut groups = gidx.map(|_| Vec::new());
    let mut row = 0usize;
    while t.next_row()? {
        row += 1;
        for (k, &i) in idx.iter().enumerate() {
            values.push(value(file, row, &want[k], t.cell(i), opt, &codes)?);
        }
        if let (Some(g), Some(gs), Some(name)) = (gidx, groups.as_mut(), namer.as_ref()) {
            gs.push(name(t.cell(g)));
        }
        lines.push(row as u64);
    }
    if row == 0 {
        return Err(DataError(format!("data file {file} has its columns but no rows of data")));
    }
    let ds = Dataset {
        file: file.to_string(),
        names: want.to_vec(),
        values,
        lines,
        group: groups,
    };
    let w = Extremes::of(&ds).warnings(file, &ds.names);
    Ok((ds, w))
}

/// Complete rows per cross-product batch.
const BATCH: usize = 256;

fn moments_table(file: &str, t: &mut dyn Table, want: &[String], opt: &CsvOptions) -> Result<(SampleStats, usize, Warnings), DataError> {
    let (idx, _) = resolve(file, t, want, None)?;
    let codes = opt.na_codes();
    let p = want.len();
    let mut acc = Moments::new(p);
    let mut shift: Option<DVector<f64>> = None;
    let mut buf: Vec<f64> = Vec::with_capacity(BATCH * p);
    let mut row_vals = vec![0.0; p];
    let mut row = 0usize;
    while t.next_row()? {
        row += 1;
        let mut complete = true;
        for (k, &i) in idx.iter().enumerate() {
            let v = value(file, row, &want[k], t.cell(i), opt, &codes)?;
            complete &= !v.is_nan();
            row_vals[k] = v;
        }
        acc.rows += 1;
        if !complete {
            acc.incomplete += 1;
            continue;
        }
        acc.ext.push(&row_vals);
        let s = shift.get_or_insert_with(|| DVector::from_column_slice(&row_vals));
        buf.extend(row_vals.iter().zip(s.iter()).map(|(v, s)| v - s));
        if buf.len() == BATCH * p {
            acc.add_batch(s, &buf);
            buf.clear();
        }
    }
    if let Some(s) = &shift {
        acc.add_batch(s, &buf);
    }
    if row == 0 {
        return Err(DataError(format!("data file {file} has its columns but no rows of data")));
    }
    if acc.n == 0 {
        // the message SampleStats::listwise gives for no complete row
        let ds = Dataset {
            file: file.to_string(),
            names: want.to_vec(),
            values: vec![f64::NAN; p],
            lines: vec![1],
            group: None,
        };
        let e = SampleStats::listwise(&ds, None)
            .err()
            .unwrap_or_else(|| DataError(format!("{file}: no complete row")));
        return Err(DataError(e.0.replace("(1 rows,", &format!("({row} rows,"))));
    }
    let w = acc.ext.warnings(file, want);
    Ok((acc.stats(), row, w))
}

/// The words of the warning about a code that looks like a missing value.
pub const NA_HINT: &str = "if that is a missing-value code, add --na";

/// The codes that questionnaires use for "no answer" and that, left in the
/// data, make an outlier of every non-response.
const CLASSIC: [f64; 4] = [-999.0, -99.0, 99.0, 999.0];

/// Per column: the smallest and largest value that is not a classic
/// missing-value code, and how often each code occurs (complete rows).
#[derive(Debug, Clone)]
pub struct Extremes {
    lo: Vec<f64>,
    hi: Vec<f64>,
    count: Vec<[usize; 4]>,
}

impl Extremes {
    pub fn new(p: usize) -> Extremes {
        Extremes {
            lo: vec![f64::INFINITY; p],
            hi: vec![f64::NEG_INFINITY; p],
            count: vec![[0; 4]; p],
        }
    }

    /// The extremes of a data set's observed values.
    pub fn of(ds: &Dataset) -> Extremes {
        let mut e = Extremes::new(ds.names.len());
        for i in 0..ds.nrows() {
            e.push(ds.row(i));
        }
        e
    }

    pub fn merge(&mut self, o: &Extremes) {
        for k in 0..o.lo.len().min(self.lo.len()) {
            self.lo[k] = self.lo[k].min(o.lo[k]);
            self.hi[k] = self.hi[k].max(o.hi[k]);
            for j in 0..4 {
                self.count[k][j] += o.count[k][j];
            }
        }
    }

    pub fn push(&mut self, row: &[f64]) {
        for (k, &v) in row.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            // every classic code is at least 99 in size
            let code = if v.abs() < 99.0 {
                None
            } else {
                CLASSIC.iter().position(|&c| c == v)
            };
            match code {
                Some(j) => self.count[k][j] += 1,
                None => {
                    self.lo[k] = self.lo[k].min(v);
                    self.hi[k] = self.hi[k].max(v);
                }
            }
        }
    }

    /// A warning for each column whose classic codes lie far outside its
    /// other values (more than twice their range away), suggesting `--na`.
    pub fn warnings(&self, file: &str, names: &[String]) -> Warnings {
        let mut out = vec![];
        for (k, name) in names.iter().enumerate() {
            let (lo, hi) = (self.lo[k], self.hi[k]);
            if lo > hi {
                continue;
            }
            let spread = (hi - lo).max(1.0);
            let far: Vec<(f64, usize)> = CLASSIC
                .iter()
                .zip(self.count[k])
                .filter(|&(&c, n)| n > 0 && (c - hi > 2.0 * spread || lo - c > 2.0 * spread))
                .map(|(&c, n)| (c, n))
                .collect();
            if far.is_empty() {
                continue;
            }
            let said: Vec<String> = far.iter().map(|(c, n)| format!("{n} value(s) {c}")).collect();
            let codes: Vec<String> = far.iter().map(|(c, _)| format!("{c}")).collect();
            out.push(format!(
                "{file}: column `{name}` has {}, far outside its other values ({lo} to {hi}); {NA_HINT} {}",
                said.join(" and "),
                codes.join(",")
            ));
        }
        out
    }
}

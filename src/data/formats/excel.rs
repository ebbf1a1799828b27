//! Excel workbooks (`.xlsx`, `.xlsm`, and what calamine gives besides:
//! `.xls` and OpenDocument `.ods`) as data: one worksheet (`--sheet NAME`,
//! else the first) whose first used row holds the column names. Empty cells
//! and `#N/A` are missing; numbers are numbers; text cells are read like CSV
//! cells (a number typed as text is a number, a word is an error naming the
//! row and column). A password-protected workbook is an encrypted container,
//! not a zip archive: it is told apart before calamine sees it.

use super::{Cell, Column, Origin, Table};
use crate::data::DataError;
use calamine::{Data, Range, Reader};
use std::borrow::Cow;
use std::io::Read;

/// One worksheet, in memory (calamine reads a sheet whole).
pub struct Sheet {
    range: Range<Data>,
    /// the sheet read, and the workbook's sheets, for messages
    name: String,
    sheets: Vec<String>,
    chosen: bool,
    columns: Vec<Column>,
    /// the row of the range being read (0 is the header)
    row: usize,
}

/// The name of the encrypted stream of a password-protected OOXML file.
const ENCRYPTED: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";

impl Sheet {
    pub fn open(file: &str, origin: Origin, sheet: Option<&str>) -> Result<Sheet, DataError> {
        let bytes = match origin {
            Origin::Bytes(b) => b,
            Origin::File(mut f, _) => {
                use std::io::Seek;
                let mut b = Vec::new();
                f.rewind()
                    .and_then(|_| f.read_to_end(&mut b))
                    .map_err(|e| DataError(format!("cannot read data file {file}: {e}")))?;
                b
            }
        };
        if bytes.starts_with(super::CFB) && bytes.windows(ENCRYPTED.len()).any(|w| w == ENCRYPTED) {
            return Err(DataError(format!(
                "data file {file} is a password-protected (encrypted) workbook; remove the password in Excel (File > Info > Protect Workbook) or export the sheet as CSV"
            )));
        }
        let zip = bytes.starts_with(b"PK\x03\x04");
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| {
            DataError(if zip {
                format!("data file {file} is a zip archive but not a readable Excel workbook (a binary file, not CSV text): {e}")
            } else {
                format!("data file {file} is not a readable Excel workbook: {e}")
            })
        })?;
        let names = wb.sheet_names();
        let name = match sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(s)))
                .cloned()
                .ok_or_else(|| {
                    DataError(format!(
                        "data file {file} has no sheet named `{s}`; its sheets: {}",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ))
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| DataError(format!("data file {file} is a workbook without sheets")))?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| DataError(format!("data file {file}: cannot read the sheet `{name}`: {e}")))?;
        if range.is_empty() {
            return Err(DataError(format!(
                "data file {file}: the sheet `{name}` is empty{}",
                if names.len() > 1 && sheet.is_none() {
                    format!("; choose another with --sheet (its sheets: {})", names.join(", "))
                } else {
                    String::new()
                }
            )));
        }
        let columns = range
            .rows()
            .next()
            .map(|h| {
                h.iter()
                    .map(|c| Column {
                        name: c.to_string().trim().to_string(),
                        labels: vec![],
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Sheet {
            range,
            columns,
            row: 0,
            chosen: sheet.is_some(),
            name,
            sheets: names,
        })
    }
}

impl Table for Sheet {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn hint(&self) -> Option<String> {
        let others: Vec<String> = self.sheets.iter().filter(|s| **s != self.name).map(|s| format!("`{s}`")).collect();
        if others.is_empty() {
            return None;
        }
        Some(format!(
            "this is the sheet `{}`{}; the workbook also has {}: choose one with --sheet NAME",
            self.name,
            if self.chosen { "" } else { " (the first)" },
            others.join(", ")
        ))
    }

    fn next_row(&mut self) -> Result<bool, DataError> {
        if self.row + 1 >= self.range.height() {
            return Ok(false);
        }
        self.row += 1;
        Ok(true)
    }

    fn cell(&self, c: usize) -> Cell<'_> {
        let Some(d) = self.range.get((self.row, c)) else {
            return Cell::Num(f64::NAN);
        };
        match d {
            Data::Empty => Cell::Num(f64::NAN),
            Data::Int(i) => Cell::Num(*i as f64),
            Data::Float(f) => Cell::Num(*f),
            Data::String(s) => Cell::Text(Cow::Borrowed(s)),
            Data::Error(calamine::CellErrorType::NA) => Cell::Num(f64::NAN),
            Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => Cell::Text(Cow::Owned(format!("{d} (a date)"))),
            other => Cell::Text(Cow::Owned(other.to_string())),
        }
    }
}

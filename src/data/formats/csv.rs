//! Delimited text as a data format: the CSV reader of `read` (a `Dataset`)
//! and the streaming one of `stream` (listwise moments without the rows),
//! unchanged, behind the same interface as the binary formats. Standard
//! input (`-`), FIFOs and process substitutions are read once and kept
//! (`read::read_file`); `--decimal ,` is handled by both readers.

use super::Warnings;
use crate::data::{read::read_csv, stream::moments_csv, CsvOptions, DataError, Dataset, SampleStats};
use std::path::Path;

pub fn read(path: &Path, want: &[String], group: Option<&str>, opt: &CsvOptions) -> Result<Dataset, DataError> {
    let opt = &by_extension(path, opt);
    check(opt)?;
    read_csv(path, want, group, opt)
}

/// A `.tsv` file is tab-separated unless `--delimiter` says otherwise.
fn by_extension(path: &Path, opt: &CsvOptions) -> CsvOptions {
    let mut o = opt.clone();
    let tsv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    if tsv && o.delimiter == b',' {
        o.delimiter = b'\t';
    }
    o
}

/// Listwise moments, the rows read, and the warnings about missing-value codes.
pub fn moments(path: &Path, want: &[String], opt: &CsvOptions) -> Result<((SampleStats, Warnings), usize), DataError> {
    let opt = &by_extension(path, opt);
    check(opt)?;
    let file = path.display().to_string();
    let (stats, rows, ext) = moments_csv(path, want, opt)?;
    Ok(((stats, ext.warnings(&file, want)), rows))
}

/// A decimal comma cannot also be the delimiter.
fn check(opt: &CsvOptions) -> Result<(), DataError> {
    if opt.decimal == b',' && opt.delimiter == b',' {
        return Err(DataError(
            "--decimal , needs another delimiter than the comma; add --delimiter ';' (the usual one with decimal commas)".into(),
        ));
    }
    Ok(())
}

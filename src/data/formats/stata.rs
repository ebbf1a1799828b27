//! Stata `.dta` files of format 117 (Stata 13), 118 (Stata 14–18) and 119
//! (more than 32,767 variables), read from Stata's published description of
//! the format: a tagged header (release, byte order, K variables, N
//! observations), a map of section offsets, the variable types and names,
//! the value-label names, then N fixed-width rows and the value-label
//! tables. Numbers above each type's largest valid value are Stata's
//! missing values (`.` and `.a`–`.z`). Rows are read one at a time, so
//! memory does not grow with N. Older formats (Stata 12 and before) are
//! refused with the way to re-save them.
//!
//! No crate was taken: the one pure-Rust reader on crates.io is a young
//! single-author project (edition 2024, typestate API) and the format's
//! part needed here is small.

use super::source::{text, Src};
use super::{Cell, Column, Origin, Table};
use crate::data::DataError;
use std::borrow::Cow;

/// A column's storage type.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str(usize),
    StrL,
    Double,
    Float,
    Long,
    Int,
    Byte,
}

impl Ty {
    fn width(self) -> usize {
        match self {
            Ty::Str(n) => n,
            Ty::StrL | Ty::Double => 8,
            Ty::Float | Ty::Long => 4,
            Ty::Int => 2,
            Ty::Byte => 1,
        }
    }
}

/// An open `.dta` file, positioned in its rows.
pub struct Dta {
    src: Src,
    types: Vec<Ty>,
    offsets: Vec<usize>,
    columns: Vec<Column>,
    row: Vec<u8>,
    n: u64,
    read: u64,
    utf8: bool,
}

/// The message for a `.dta` file that is not format 117–119.
pub fn old_version(file: &str, head: &[u8]) -> DataError {
    let stata = |v: u8| match v {
        113 => Some("Stata 8 or 9"),
        114 => Some("Stata 10"),
        115 => Some("Stata 12"),
        102..=112 => Some("Stata 7 or older"),
        _ => None,
    };
    match head.first().copied().and_then(|v| stata(v).map(|s| (v, s))) {
        Some((v, s)) => DataError(format!(
            "data file {file} is a Stata file of format {v} ({s}), which is not supported: formats 117-119 (Stata 13 and later) are; open it in Stata 13 or later and save it again, or export it as CSV"
        )),
        None => DataError(format!(
            "data file {file} has the extension .dta but is not a Stata data file (it does not start with <stata_dta>)"
        )),
    }
}

impl Dta {
    pub fn open(file: &str, origin: Origin) -> Result<Dta, DataError> {
        let mut src = match origin {
            Origin::File(f, len) => Src::from_file(file, "Stata", f, len),
            Origin::Bytes(b) => Src::from_bytes(file, "Stata", b),
        };
        src.seek(0, "the header")?;
        src.expect("<stata_dta><header><release>")?;
        let rel = src.arr::<3>("the header")?;
        let release: u32 = std::str::from_utf8(&rel).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        if !(117..=119).contains(&release) {
            return Err(DataError(format!(
                "data file {file} is a Stata file of format {}, which is not supported: formats 117-119 (Stata 13 and later) are",
                String::from_utf8_lossy(&rel)
            )));
        }
        src.expect("</release><byteorder>")?;
        src.big = match &src.arr::<3>("the header")? {
            b"MSF" => true,
            b"LSF" => false,
            o => return Err(src.corrupt(format!("byte order `{}`", String::from_utf8_lossy(o)))),
        };
        src.expect("</byteorder><K>")?;
        let k = if release == 119 {
            src.u32("the header")? as usize
        } else {
            usize::from(src.u16("the header")?)
        };
        src.expect("</K><N>")?;
        let n = if release == 117 {
            u64::from(src.u32("the header")?)
        } else {
            src.u64("the header")?
        };
        src.expect("</N><label>")?;
        let label_len = if release == 117 {
            u64::from(src.u8("the header")?)
        } else {
            u64::from(src.u16("the header")?)
        };
        src.skip(label_len, "the data label")?;
        src.expect("</label><timestamp>")?;
        let ts = src.u8("the header")?;
        src.skip(u64::from(ts), "the timestamp")?;
        src.expect("</timestamp></header><map>")?;
        let mut map = [0u64; 14];
        for m in map.iter_mut() {
            *m = src.u64("the map")?;
        }
        src.expect("</map><variable_types>")?;
        // each variable takes at least 2 + 33 + 2 + 49 + 33 + 81 bytes
        if (k as u64) * 200 > src.remaining() {
            return Err(src.truncated("the variable descriptions"));
        }
        let mut types = Vec::with_capacity(k);
        for _ in 0..k {
            let t = src.u16("the variable types")?;
            types.push(match t {
                1..=2045 => Ty::Str(usize::from(t)),
                32768 => Ty::StrL,
                65526 => Ty::Double,
                65527 => Ty::Float,
                65528 => Ty::Long,
                65529 => Ty::Int,
                65530 => Ty::Byte,
                _ => return Err(src.corrupt(format!("unknown variable type {t}"))),
            });
        }
        src.expect("</variable_types><varnames>")?;
        let name_len = if release == 117 { 33 } else { 129 };
        let mut names = Vec::with_capacity(k);
        for _ in 0..k {
            names.push(text(&src.bytes(name_len, "the variable names")?));
        }
        src.expect("</varnames><sortlist>")?;
        src.skip((k as u64 + 1) * if release == 119 { 4 } else { 2 }, "the sort list")?;
        src.expect("</sortlist><formats>")?;
        src.skip(k as u64 * if release == 117 { 49 } else { 57 }, "the formats")?;
        src.expect("</formats><value_label_names>")?;
        let mut label_names = Vec::with_capacity(k);
        for _ in 0..k {
            label_names.push(text(&src.bytes(name_len, "the value label names")?));
        }
        // the value labels (after the data), then back to the data
        src.seek(map[11], "the value labels")?;
        src.expect("<value_labels>")?;
        let mut tables: Vec<(String, Vec<(f64, String)>)> = vec![];
        loop {
            let at = src.pos;
            let tag = src.bytes(5, "the value labels")?;
            if tag == b"</val" {
                src.expect("ue_labels></stata_dta>")?;
                break;
            }
            if tag != b"<lbl>" {
                return Err(src.corrupt(format!("expected <lbl> at byte {at}")));
            }
            let len = u64::from(src.u32("a value label table")?);
            let name = text(&src.bytes(name_len, "a value label table")?);
            src.skip(3, "a value label table")?;
            let table = src.bytes(len, "a value label table")?;
            tables.push((
                name,
                label_table(&table, &src).ok_or_else(|| src.corrupt(format!("the value label table at byte {at} is inconsistent")))?,
            ));
            src.expect("</lbl>")?;
        }
        let columns = names
            .iter()
            .zip(&label_names)
            .map(|(name, ln)| Column {
                name: name.clone(),
                labels: tables
                    .iter()
                    .find(|(t, _)| !ln.is_empty() && t == ln)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let mut offsets = Vec::with_capacity(k);
        let mut w = 0usize;
        for t in &types {
            offsets.push(w);
            w += t.width();
        }
        src.seek(map[9], "the data")?;
        src.expect("<data>")?;
        if (w as u64).saturating_mul(n) > src.remaining() {
            return Err(DataError(format!(
                "data file {file} is truncated or corrupt: its header announces {n} rows of {w} bytes, more than the file holds"
            )));
        }
        Ok(Dta {
            src,
            types,
            offsets,
            columns,
            row: vec![0; w],
            n,
            read: 0,
            utf8: release >= 118,
        })
    }

    fn num<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut b = [0u8; N];
        b.copy_from_slice(&self.row[at..at + N]);
        if self.src.big {
            b.reverse();
        }
        b
    }
}

/// One value-label table: n, text length, offsets, values, texts.
fn label_table(t: &[u8], src: &Src) -> Option<Vec<(f64, String)>> {
    let word = |i: usize| -> Option<u32> {
        let b: [u8; 4] = t.get(i..i + 4)?.try_into().ok()?;
        Some(if src.big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let n = word(0)? as usize;
    let txtlen = word(4)? as usize;
    let txt_at = 8usize.checked_add(n.checked_mul(8)?)?;
    if txt_at.checked_add(txtlen)? != t.len() {
        return None;
    }
    let txt = &t[txt_at..];
    (0..n)
        .map(|i| {
            let off = word(8 + 4 * i)? as usize;
            let val = word(8 + 4 * n + 4 * i)? as i32;
            let s = txt.get(off..)?;
            Some((f64::from(val), text(s)))
        })
        .collect()
}

impl Table for Dta {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn next_row(&mut self) -> Result<bool, DataError> {
        if self.read == self.n {
            return Ok(false);
        }
        let mut row = std::mem::take(&mut self.row);
        let r = self.src.read_into(&mut row, "the data");
        self.row = row;
        r?;
        self.read += 1;
        Ok(true)
    }

    fn cell(&self, c: usize) -> Cell<'_> {
        let at = self.offsets[c];
        let v = match self.types[c] {
            Ty::Byte => {
                let v = self.row[at] as i8;
                if v > 100 {
                    f64::NAN
                } else {
                    f64::from(v)
                }
            }
            Ty::Int => {
                let v = i16::from_le_bytes(self.num(at));
                if v > 32740 {
                    f64::NAN
                } else {
                    f64::from(v)
                }
            }
            Ty::Long => {
                let v = i32::from_le_bytes(self.num(at));
                if v > 2_147_483_620 {
                    f64::NAN
                } else {
                    f64::from(v)
                }
            }
            Ty::Float => {
                let v = f32::from_le_bytes(self.num(at));
                if v.is_nan() || v >= f32::from_bits(0x7f00_0000) {
                    f64::NAN
                } else {
                    f64::from(v)
                }
            }
            Ty::Double => {
                let v = f64::from_le_bytes(self.num(at));
                if v.is_nan() || v >= f64::from_bits(0x7fe0_0000_0000_0000) {
                    f64::NAN
                } else {
                    v
                }
            }
            Ty::Str(w) => {
                let b = &self.row[at..at + w];
                let end = b.iter().position(|&x| x == 0).unwrap_or(w);
                let b = &b[..end];
                return Cell::Text(match std::str::from_utf8(b) {
                    Ok(s) if self.utf8 || s.is_ascii() => Cow::Borrowed(s),
                    _ => Cow::Owned(text(b)),
                });
            }
            Ty::StrL => return Cell::Text(Cow::Borrowed("(a strL long string)")),
        };
        Cell::Num(v)
    }
}

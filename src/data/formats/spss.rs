//! SPSS system files (`.sav`, and `.zsav` with zlib-compressed data), read
//! from the published layout (as PSPP documents it and ReadStat writes it):
//! a 176-byte header, the dictionary (variable records with their missing
//! values, value labels, documents, extension records for long names, very
//! long strings and the character encoding) ended by record 999, then the
//! cases: raw, bytecode-compressed, or bytecode inside zlib blocks. Numbers
//! are read in the file's byte order; system-missing and the user-missing
//! values a variable declares (up to three codes, or a range and a code)
//! become missing. The data part is decoded a case at a time, so memory
//! does not grow with the number of cases.
//!
//! No crate was taken: the pure-Rust SPSS readers on crates.io either bring
//! Apache Arrow along (a large build for 300 lines of format) or are young
//! single-author projects without the bounds checks a hostile file needs.

use super::source::{text, Src};
use super::{Cell, Column, Origin, Table};
use crate::data::DataError;
use std::borrow::Cow;
use std::io::Read;

/// What a variable declares missing besides system-missing.
#[derive(Debug, Clone, Default)]
struct Missing {
    codes: Vec<f64>,
    range: Option<(f64, f64)>,
    /// string variables: up to three 8-byte values
    text: Vec<Vec<u8>>,
}

/// A variable: where its 8-byte units start in a case, and how many.
#[derive(Debug, Clone)]
struct Var {
    short: String,
    name: String,
    /// 0 numeric, else the string width
    width: usize,
    unit: usize,
    units: usize,
    missing: Missing,
    labels: Vec<(f64, String)>,
    /// very long strings: the widths of the segments after the first
    segments: Vec<usize>,
}

/// An open `.sav`/`.zsav` file, positioned in its cases.
pub struct Sav {
    vars: Vec<Var>,
    columns: Vec<Column>,
    /// the current case, one u64 per unit (numbers as native f64 bits,
    /// strings as their 8 raw bytes)
    case: Vec<u64>,
    numeric_unit: Vec<bool>,
    data: Cases,
    sysmis: f64,
    ncases: Option<u64>,
    read: u64,
    file: String,
}

/// The case stream: the bytes after the dictionary, or the inflated zlib
/// blocks, read through a buffer; bytecode-compressed or raw.
struct Cases {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    at: usize,
    end: usize,
    eof: bool,
    compressed: bool,
    bias: f64,
    big: bool,
    /// the bytecode block being decoded, and the next code in it
    codes: [u8; 8],
    next_code: usize,
    file: String,
}

impl Cases {
    /// `n` bytes at the buffer's head, or fewer at the end of the data.
    fn fill(&mut self, n: usize) -> Result<usize, DataError> {
        if self.end - self.at >= n || self.eof {
            return Ok((self.end - self.at).min(n));
        }
        self.buf.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        while self.end < n && !self.eof {
            let got = loop {
                match self.input.read(&mut self.buf[self.end..]) {
                    Ok(g) => break g,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(DataError(format!("data file {} is not a valid SPSS file: {e}", self.file))),
                }
            };
            if got == 0 {
                self.eof = true;
            }
            self.end += got;
        }
        Ok((self.end - self.at).min(n))
    }

    fn take8(&mut self) -> Result<Option<[u8; 8]>, DataError> {
        if self.fill(8)? < 8 {
            return Ok(None);
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[self.at..self.at + 8]);
        self.at += 8;
        Ok(Some(b))
    }

    fn to_f64(&self, b: [u8; 8]) -> f64 {
        f64::from_bits(if self.big { u64::from_be_bytes(b) } else { u64::from_le_bytes(b) })
    }

    /// Decode one case into `case`; `false` at a clean end of the data.
    fn case(&mut self, case: &mut [u64], numeric: &[bool], sysmis: f64) -> Result<bool, DataError> {
        let truncated = |file: &str| DataError(format!("data file {file} is truncated or corrupt: its last case is incomplete"));
        if !self.compressed {
            for (k, slot) in case.iter_mut().enumerate() {
                match self.take8()? {
                    Some(b) => {
                        *slot = if numeric[k] {
                            self.to_f64(b).to_bits()
                        } else {
                            u64::from_ne_bytes(b)
                        }
                    }
                    None if k == 0 && self.fill(1)? == 0 => return Ok(false),
                    None => return Err(truncated(&self.file)),
                }
            }
            return Ok(true);
        }
        let mut k = 0;
        while k < case.len() {
            if self.next_code == 8 {
                match self.take8()? {
                    Some(c) => self.codes = c,
                    None if k == 0 && self.fill(1)? == 0 => return Ok(false),
                    None => return Err(truncated(&self.file)),
                }
                self.next_code = 0;
            }
            let code = self.codes[self.next_code];
            self.next_code += 1;
            case[k] = match code {
                0 => continue,
                1..=251 => (f64::from(code) - self.bias).to_bits(),
                252 if k == 0 => return Ok(false),
                252 => return Err(truncated(&self.file)),
                253 => match self.take8()? {
                    Some(b) if numeric[k] => self.to_f64(b).to_bits(),
                    Some(b) => u64::from_ne_bytes(b),
                    None => return Err(truncated(&self.file)),
                },
                254 if numeric[k] => sysmis.to_bits(),
                254 => u64::from_ne_bytes(*b"        "),
                _ => {
                    if numeric[k] {
                        sysmis.to_bits()
                    } else {
                        u64::from_ne_bytes(*b"        ")
                    }
                }
            };
            k += 1;
        }
        Ok(true)
    }
}

/// The inflated zlib blocks of a `.zsav`, one block in memory at a time.
struct Zlib {
    src: Src,
    /// (compressed offset, compressed size, uncompressed size)
    blocks: Vec<(u64, u64, usize)>,
    next: usize,
    out: Vec<u8>,
    at: usize,
}

impl Read for Zlib {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            let Some(&(ofs, csize, usize_)) = self.blocks.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
            self.src.seek(ofs, "a zlib block").map_err(|e| bad(e.0))?;
            let comp = self.src.bytes(csize, "a zlib block").map_err(|e| bad(e.0))?;
            self.out.clear();
            self.out.reserve(usize_);
            let mut dec = flate2::read::ZlibDecoder::new(&comp[..]);
            (&mut dec)
                .take(usize_ as u64 + 1)
                .read_to_end(&mut self.out)
                .map_err(|e| bad(format!("zlib block {} does not inflate: {e}", self.next)))?;
            if self.out.len() != usize_ {
                return Err(bad(format!(
                    "zlib block {} inflates to {} bytes, not the {usize_} its index says",
                    self.next,
                    self.out.len()
                )));
            }
            self.at = 0;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Sav {
    pub fn open(file: &str, origin: Origin) -> Result<Sav, DataError> {
        let mut src = match origin {
            Origin::File(f, len) => Src::from_file(file, "SPSS", f, len),
            Origin::Bytes(b) => Src::from_bytes(file, "SPSS", b),
        };
        src.seek(0, "the header")?;
        let magic = src.arr::<4>("the header")?;
        let zsav = &magic == b"$FL3";
        src.skip(60, "the header")?;
        let layout = src.arr::<4>("the header")?;
        src.big = match (i32::from_le_bytes(layout), i32::from_be_bytes(layout)) {
            (2 | 3, _) => false,
            (_, 2 | 3) => true,
            _ => return Err(src.corrupt("its header has no valid layout code (2 or 3)")),
        };
        let _nominal = src.i32("the header")?;
        let compression = src.i32("the header")?;
        let _weight = src.i32("the header")?;
        let ncases = src.i32("the header")?;
        let bias = src.f64("the header")?;
        src.skip(9 + 8 + 64 + 3, "the header")?;
        match (compression, zsav) {
            (0 | 1, false) | (2, true) => {}
            (2, false) => return Err(src.corrupt("zlib compression in a file that starts with $FL2 (a .zsav starts with $FL3)")),
            (c, _) => return Err(src.corrupt(format!("unknown compression code {c}"))),
        }
        if compression != 0 && !(bias.is_finite() && (-1e6..=1e6).contains(&bias)) {
            return Err(src.corrupt(format!("compression bias {bias} is not a usable number")));
        }
        let mut sysmis = -f64::MAX;
        let mut vars: Vec<Var> = Vec::new();
        // dictionary index (one per variable record) -> variable, for value labels
        let mut unit_var: Vec<Option<usize>> = Vec::new();
        let mut long_names: Option<Vec<u8>> = None;
        let mut very_long: Option<Vec<u8>> = None;
        loop {
            let at = src.pos;
            let rec = src.i32("the dictionary")?;
            match rec {
                2 => {
                    let ty = src.i32("a variable record")?;
                    let has_label = src.i32("a variable record")?;
                    let nmiss = src.i32("a variable record")?;
                    src.skip(8, "a variable record")?;
                    let name = src.arr::<8>("a variable record")?;
                    if has_label == 1 {
                        let len = src.u32("a variable label")?;
                        src.skip(u64::from(len).div_ceil(4) * 4, "a variable label")?;
                    } else if has_label != 0 {
                        return Err(src.corrupt(format!("the variable record at byte {at} has a label flag of {has_label}")));
                    }
                    if !matches!(nmiss, -3 | -2 | 0..=3) {
                        return Err(src.corrupt(format!("the variable record at byte {at} declares {nmiss} missing values")));
                    }
                    let mut raw = Vec::new();
                    for _ in 0..nmiss.unsigned_abs() {
                        raw.push(src.arr::<8>("the missing values of a variable")?);
                    }
                    if ty == -1 {
                        // the next 8 bytes of the string before
                        match vars.last_mut() {
                            Some(v) if v.width > 0 => v.units += 1,
                            _ => return Err(src.corrupt(format!("a string continuation record at byte {at} follows no string"))),
                        }
                        unit_var.push(None);
                        continue;
                    }
                    if !(0..=255).contains(&ty) {
                        return Err(src.corrupt(format!("the variable record at byte {at} has type {ty}")));
                    }
                    let mut missing = Missing::default();
                    if ty == 0 {
                        let vals: Vec<f64> = raw.iter().map(|b| src.f64_of(*b)).collect();
                        if nmiss < 0 {
                            missing.range = Some((vals[0], vals[1]));
                            missing.codes = vals[2..].to_vec();
                        } else {
                            missing.codes = vals;
                        }
                    } else {
                        missing.text = raw.iter().map(|b| b.to_vec()).collect();
                    }
                    let short = text(&name);
                    unit_var.push(Some(vars.len()));
                    vars.push(Var {
                        name: short.clone(),
                        short,
                        width: ty as usize,
                        unit: unit_var.len() - 1,
                        units: 1,
                        missing,
                        labels: vec![],
                        segments: vec![],
                    });
                }
                3 => {
                    let n = src.u32("a value label record")?;
                    // each label takes at least 16 bytes
                    if u64::from(n) * 16 > src.remaining() {
                        return Err(src.truncated("a value label record"));
                    }
                    let mut labels = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        let v = src.arr::<8>("a value label")?;
                        let len = src.u8("a value label")?;
                        let padded = (u64::from(len) + 1).div_ceil(8) * 8 - 1;
                        let b = src.bytes(padded, "a value label")?;
                        labels.push((v, text(&b[..len as usize])));
                    }
                    if src.i32("a value label record")? != 4 {
                        return Err(src.corrupt(format!(
                            "the value labels at byte {at} are not followed by their variables (record 4)"
                        )));
                    }
                    let nv = src.u32("a value label record")?;
                    if u64::from(nv) * 4 > src.remaining() {
                        return Err(src.truncated("a value label record"));
                    }
                    for _ in 0..nv {
                        let ix = src.u32("a value label record")? as usize;
                        let Some(Some(v)) = ix.checked_sub(1).and_then(|i| unit_var.get(i)) else {
                            return Err(src.corrupt(format!("value labels at byte {at} name variable {ix}, which does not exist")));
                        };
                        if vars[*v].width == 0 {
                            let l: Vec<(f64, String)> = labels.iter().map(|(b, s)| (src.f64_of(*b), s.clone())).collect();
                            vars[*v].labels.extend(l);
                        }
                    }
                }
                6 => {
                    let n = src.u32("a document record")?;
                    src.skip(u64::from(n) * 80, "a document record")?;
                }
                7 => {
                    let sub = src.i32("an extension record")?;
                    let size = src.u32("an extension record")?;
                    let count = src.u32("an extension record")?;
                    let total = u64::from(size) * u64::from(count);
                    match sub {
                        4 if size == 8 && count == 3 => {
                            sysmis = src.f64("the machine float record")?;
                            src.skip(16, "the machine float record")?;
                        }
                        13 => long_names = Some(src.bytes(total, "the long variable names")?),
                        14 => very_long = Some(src.bytes(total, "the very long string record")?),
                        _ => src.skip(total, "an extension record")?,
                    }
                }
                999 => {
                    src.skip(4, "the end of the dictionary")?;
                    break;
                }
                r => return Err(src.corrupt(format!("unknown record type {r} at byte {at}"))),
            }
        }
        if vars.is_empty() {
            return Err(src.corrupt("its dictionary has no variables"));
        }
        if let Some(b) = long_names {
            for pair in b.split(|&c| c == b'\t') {
                let s = text(pair);
                if let Some((short, long)) = s.split_once('=') {
                    if let Some(v) = vars.iter_mut().find(|v| v.short.eq_ignore_ascii_case(short)) {
                        v.name = long.to_string();
                    }
                }
            }
        }
        if let Some(b) = very_long {
            merge_very_long(&mut vars, &b).map_err(|m| src.corrupt(m))?;
        }
        let nunits = unit_var.len();
        let mut numeric_unit = vec![false; nunits];
        for v in &vars {
            if v.width == 0 {
                numeric_unit[v.unit] = true;
            }
        }
        // the cases: from here, or from zlib blocks
        let big = src.big;
        let input: Box<dyn Read + Send> = if zsav {
            let zheader = src.pos;
            let ofs = src.u64("the zlib header")?;
            let trailer = src.u64("the zlib header")?;
            let tlen = src.u64("the zlib header")?;
            if ofs != zheader || trailer < src.pos || trailer.saturating_add(tlen) > src.len {
                return Err(src.corrupt("its zlib header points outside the file"));
            }
            src.seek(trailer, "the zlib trailer")?;
            let _bias = src.u64("the zlib trailer")?;
            let _zero = src.u64("the zlib trailer")?;
            let block = src.u32("the zlib trailer")?;
            let n = src.u32("the zlib trailer")?;
            if u64::from(n) * 24 > src.remaining() {
                return Err(src.truncated("the zlib trailer"));
            }
            let mut blocks = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let _uofs = src.u64("the zlib trailer")?;
                let cofs = src.u64("the zlib trailer")?;
                let usz = src.u32("the zlib trailer")?;
                let csz = src.u32("the zlib trailer")?;
                // deflate inflates at most ~1032 to 1: a bigger claim is corrupt
                if cofs.saturating_add(u64::from(csz)) > trailer || usz > block.max(1 << 22) || u64::from(usz) > u64::from(csz) * 1032 + 64
                {
                    return Err(src.corrupt("its zlib block index is inconsistent"));
                }
                blocks.push((cofs, u64::from(csz), usz as usize));
            }
            Box::new(Zlib {
                src,
                blocks,
                next: 0,
                out: vec![],
                at: 0,
            })
        } else {
            Box::new(SrcRead(src))
        };
        let columns = vars
            .iter()
            .map(|v| Column {
                name: v.name.clone(),
                labels: v.labels.clone(),
            })
            .collect();
        Ok(Sav {
            columns,
            case: vec![0; nunits],
            numeric_unit,
            data: Cases {
                input,
                buf: vec![0; 1 << 16],
                at: 0,
                end: 0,
                eof: false,
                compressed: compression != 0,
                bias,
                big,
                codes: [0; 8],
                next_code: 8,
                file: file.to_string(),
            },
            vars,
            sysmis,
            ncases: u64::try_from(ncases).ok(),
            read: 0,
            file: file.to_string(),
        })
    }
}

/// The byte stream after the dictionary of an uncompressed or bytecode file.
struct SrcRead(Src);

impl Read for SrcRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_some(buf).map_err(|e| std::io::Error::other(e.0))
    }
}

/// Very long strings (over 255 bytes) are stored as segments of 255-byte
/// strings, one variable record each; record 14 names the first with the
/// whole width. The segments after the first are folded into it.
fn merge_very_long(vars: &mut Vec<Var>, rec: &[u8]) -> Result<(), String> {
    for pair in rec.split(|&c| c == b'\t' || c == 0) {
        let s = text(pair);
        let Some((short, width)) = s.split_once('=') else { continue };
        let width: usize = width
            .trim()
            .parse()
            .map_err(|_| format!("very long string width `{width}` is not a number"))?;
        let Some(i) = vars.iter().position(|v| v.short.eq_ignore_ascii_case(short)) else {
            continue;
        };
        let nseg = width.div_ceil(252);
        if nseg < 2 || i + nseg > vars.len() {
            continue;
        }
        let rest: Vec<Var> = vars.drain(i + 1..i + nseg).collect();
        let v = &mut vars[i];
        v.segments = rest.iter().map(|r| r.units).collect();
        v.units += rest.iter().map(|r| r.units).sum::<usize>();
        v.width = width;
    }
    Ok(())
}

impl Table for Sav {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn next_row(&mut self) -> Result<bool, DataError> {
        if self.ncases == Some(self.read) {
            return Ok(false);
        }
        let more = self.data.case(&mut self.case, &self.numeric_unit, self.sysmis)?;
        if !more {
            if let Some(n) = self.ncases {
                return Err(DataError(format!(
                    "data file {} is truncated: its header announces {n} cases but the data end after {}",
                    self.file, self.read
                )));
            }
            return Ok(false);
        }
        self.read += 1;
        Ok(true)
    }

    fn cell(&self, c: usize) -> Cell<'_> {
        let v = &self.vars[c];
        if v.width == 0 {
            let x = f64::from_bits(self.case[v.unit]);
            let m = &v.missing;
            let missing = x == self.sysmis || x.is_nan() || m.codes.contains(&x) || m.range.is_some_and(|(lo, hi)| x >= lo && x <= hi);
            return Cell::Num(if missing { f64::NAN } else { x });
        }
        let mut bytes: Vec<u8> = Vec::with_capacity(v.units * 8);
        if v.segments.is_empty() {
            for u in &self.case[v.unit..v.unit + v.units] {
                bytes.extend_from_slice(&u.to_ne_bytes());
            }
            bytes.truncate(v.width);
            if v.missing
                .text
                .iter()
                .any(|m| m.len() <= bytes.len() && bytes.starts_with(m) && bytes[m.len()..].iter().all(|&b| b == b' '))
            {
                return Cell::Num(f64::NAN);
            }
        } else {
            // each segment but the last holds 252 bytes of the text
            let mut u = v.unit;
            let first = v.units - v.segments.iter().sum::<usize>();
            for (k, n) in std::iter::once(first).chain(v.segments.iter().copied()).enumerate() {
                let mut seg: Vec<u8> = self.case[u..u + n].iter().flat_map(|x| x.to_ne_bytes()).collect();
                if k < v.segments.len() {
                    seg.truncate(252);
                }
                bytes.extend(seg);
                u += n;
            }
            bytes.truncate(v.width);
        }
        Cell::Text(Cow::Owned(text(&bytes)))
    }
}

//! The bytes of a binary data file (SPSS, Stata) read with every length and
//! offset checked against the file's size first: a header that claims a
//! billion variables or a label of 2 GB in a 1 KiB file is "truncated or
//! corrupt", never an allocation of that size, a panic or a read past the
//! end. A regular file is read through a buffer (the data part streams, so
//! memory does not grow with the number of rows); standard input, a FIFO or
//! a process substitution arrives as bytes already read.

use crate::data::DataError;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// A bounded reader of a binary file, in the file's byte order.
pub struct Src {
    r: Box<dyn ReadSeek>,
    pub len: u64,
    pub pos: u64,
    /// big-endian (most significant byte first)
    pub big: bool,
    pub file: String,
    /// the format's name for messages ("SPSS", "Stata")
    pub kind: &'static str,
}

impl Src {
    pub fn from_file(file: &str, kind: &'static str, f: std::fs::File, len: u64) -> Src {
        Src {
            r: Box::new(BufReader::with_capacity(1 << 16, f)),
            len,
            pos: 0,
            big: false,
            file: file.to_string(),
            kind,
        }
    }

    pub fn from_bytes(file: &str, kind: &'static str, bytes: Vec<u8>) -> Src {
        let len = bytes.len() as u64;
        Src {
            r: Box::new(Cursor::new(bytes)),
            len,
            pos: 0,
            big: false,
            file: file.to_string(),
            kind,
        }
    }

    /// "data file F is not a valid K file: WHY" (a corrupt or truncated file).
    pub fn corrupt(&self, why: impl std::fmt::Display) -> DataError {
        DataError(format!("data file {} is not a valid {} file: {why}", self.file, self.kind))
    }

    /// The error for a file that ends before `what`.
    pub fn truncated(&self, what: &str) -> DataError {
        DataError(format!(
            "data file {} is truncated or corrupt: it ends inside {what} (at byte {} of {})",
            self.file, self.pos, self.len
        ))
    }

    pub fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Fill `buf` from the current position.
    pub fn read_into(&mut self, buf: &mut [u8], what: &str) -> Result<(), DataError> {
        if buf.len() as u64 > self.remaining() {
            return Err(self.truncated(what));
        }
        self.r.read_exact(buf).map_err(|e| self.io(e, what))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Up to `buf.len()` bytes (fewer only at the end of the file).
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DataError> {
        let n = (buf.len() as u64).min(self.remaining()) as usize;
        self.r.read_exact(&mut buf[..n]).map_err(|e| self.io(e, "the data"))?;
        self.pos += n as u64;
        Ok(n)
    }

    fn io(&self, e: std::io::Error, what: &str) -> DataError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.truncated(what)
        } else {
            DataError(format!("cannot read data file {}: {e}", self.file))
        }
    }

    /// `n` bytes, refused before allocating when the file is shorter.
    pub fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, DataError> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        let mut v = vec![0u8; n as usize];
        self.read_into(&mut v, what)?;
        Ok(v)
    }

    pub fn skip(&mut self, n: u64, what: &str) -> Result<(), DataError> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        self.seek(self.pos + n, what)
    }

    pub fn seek(&mut self, to: u64, what: &str) -> Result<(), DataError> {
        if to > self.len {
            return Err(self.corrupt(format!(
                "{what} would start at byte {to}, past the end of the file ({} bytes)",
                self.len
            )));
        }
        self.r.seek(SeekFrom::Start(to)).map_err(|e| self.io(e, what))?;
        self.pos = to;
        Ok(())
    }

    pub fn arr<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DataError> {
        let mut b = [0u8; N];
        self.read_into(&mut b, what)?;
        Ok(b)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, DataError> {
        Ok(self.arr::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, DataError> {
        let b = self.arr(what)?;
        Ok(if self.big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, DataError> {
        let b = self.arr(what)?;
        Ok(if self.big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }

    pub fn i32(&mut self, what: &str) -> Result<i32, DataError> {
        Ok(self.u32(what)? as i32)
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, DataError> {
        let b = self.arr(what)?;
        Ok(if self.big { u64::from_be_bytes(b) } else { u64::from_le_bytes(b) })
    }

    pub fn f64(&mut self, what: &str) -> Result<f64, DataError> {
        Ok(f64::from_bits(self.u64(what)?))
    }

    /// A number in the file's byte order from 8 raw bytes.
    pub fn f64_of(&self, b: [u8; 8]) -> f64 {
        f64::from_bits(if self.big { u64::from_be_bytes(b) } else { u64::from_le_bytes(b) })
    }

    /// The next bytes must be `tag` (Stata's XML-like section tags).
    pub fn expect(&mut self, tag: &str) -> Result<(), DataError> {
        let at = self.pos;
        let got = self.bytes(tag.len() as u64, tag)?;
        if got != tag.as_bytes() {
            return Err(self.corrupt(format!("expected {tag} at byte {at}")));
        }
        Ok(())
    }
}

/// Text from a file: UTF-8 when it is, else Latin-1 (Windows code pages
/// agree with it on letters), without trailing NULs and spaces.
pub fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let b = &b[..end];
    let s = match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    };
    s.trim_end().to_string()
}

//! Exact sums of floating-point numbers, so that a Monte Carlo summary does
//! not depend on the order in which replications are added: whatever the
//! thread count, and whether the replications ran in one process or in
//! shards merged later (`sem merge`), the sum is the same number and the
//! report the same bytes. Floating-point addition is not associative
//! (Welford's running mean, or a plain `+=`, gives different last bits for
//! different orders); integer addition is.
//!
//! Every finite f64 is `m * 2^e` with an integer `m < 2^53` and
//! `-1074 <= e <= 971`, so it is an integer multiple of 2^-1074. The sum is
//! kept as that integer in base 2^32: `sum = Σ_k limb[k] * 2^(32 k - 1074)`
//! with `LIMBS` signed 64-bit limbs (2,176 bits: every f64 and 2^60 more
//! additions fit). Adding a number touches three limbs; carries are
//! propagated every 2^29 additions and before the sum is read, after which
//! every limb but the top one lies in [0, 2^32) (the canonical form; the top
//! limb carries the sign). Reading the sum as an f64 rounds the top 96 bits
//! once (ties to even, by the u128 -> f64 conversion); the bits below only
//! ever decide a tie, so the result is within one unit in the last place
//! and, above all, a function of the exact sum alone.
//!
//! A sum is written into a partial report as text: `"0"`, or `"-"` for a
//! negative sum followed by the lowest used limb's index, `:`, and the
//! limbs of the absolute value from there up in hex, `.`-separated.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const LIMBS: usize = 68;
const OFFSET: i32 = 1074;
/// additions between two carry propagations (each adds < 2^32 per limb)
const CARRY_EVERY: u32 = 1 << 29;

/// An exact sum of f64 values.
#[derive(Clone, PartialEq, Eq)]
pub struct ExactSum {
    limbs: Box<[i64; LIMBS]>,
    pending: u32,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            limbs: Box::new([0; LIMBS]),
            pending: 0,
        }
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExactSum({})", self.value())
    }
}

impl ExactSum {
    pub fn new() -> ExactSum {
        ExactSum::default()
    }

    /// Add a finite value (a non-finite one is a caller's bug and is ignored).
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() || v == 0.0 {
            return;
        }
        let bits = v.to_bits();
        let negative = bits >> 63 == 1;
        let exp_field = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        // v = m * 2^(e) with e counted from 2^-1074
        let (m, e) = if exp_field == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), exp_field - 1)
        };
        // position of m's lowest bit above 2^-1074: e (subnormals: 0)
        let pos = e as usize;
        let (k, s) = (pos / 32, pos % 32);
        let wide = (m as u128) << s;
        let parts = [
            (wide & 0xffff_ffff) as i64,
            ((wide >> 32) & 0xffff_ffff) as i64,
            ((wide >> 64) & 0xffff_ffff) as i64,
        ];
        for (j, part) in parts.iter().enumerate() {
            if *part != 0 {
                if negative {
                    self.limbs[k + j] -= part;
                } else {
                    self.limbs[k + j] += part;
                }
            }
        }
        self.pending += 1;
        if self.pending >= CARRY_EVERY {
            self.normalize();
        }
    }

    /// Add another exact sum.
    pub fn merge(&mut self, other: &ExactSum) {
        let mut o = other.clone();
        o.normalize();
        self.normalize();
        for (a, b) in self.limbs.iter_mut().zip(o.limbs.iter()) {
            *a += b;
        }
        self.normalize();
    }

    /// Propagate carries: every limb but the top one into [0, 2^32).
    fn normalize(&mut self) {
        for k in 0..LIMBS - 1 {
            let carry = self.limbs[k] >> 32;
            self.limbs[k] -= carry << 32;
            self.limbs[k + 1] += carry;
        }
        self.pending = 0;
    }

    fn is_negative(&self) -> bool {
        self.limbs[LIMBS - 1] < 0
    }

    /// The absolute value's canonical limbs.
    fn magnitude(&self) -> [i64; LIMBS] {
        let mut c = self.clone();
        c.normalize();
        if c.is_negative() {
            for l in c.limbs.iter_mut() {
                *l = -*l;
            }
            c.normalize();
        }
        *c.limbs
    }

    /// The sum as the nearest f64 (see the module doc).
    pub fn value(&self) -> f64 {
        let mag = self.magnitude();
        let Some(top) = mag.iter().rposition(|&l| l != 0) else {
            return 0.0;
        };
        let lo = top.saturating_sub(2);
        let mut acc: u128 = 0;
        for k in (lo..=top).rev() {
            acc = (acc << 32) | mag[k] as u128;
        }
        // a bit below the 96 kept ones, so that a tie is not mistaken
        let sticky = mag[..lo].iter().any(|&l| l != 0);
        if sticky {
            acc = (acc << 1) | 1;
        }
        let shift = 32 * lo as i32 - OFFSET - i32::from(sticky);
        let v = libm::scalbn(acc as f64, shift);
        if self.is_negative_sum() {
            -v
        } else {
            v
        }
    }

    fn is_negative_sum(&self) -> bool {
        let mut c = self.clone();
        c.normalize();
        c.is_negative()
    }

    /// The text form written into partial reports.
    pub fn to_text(&self) -> String {
        let mag = self.magnitude();
        let Some(top) = mag.iter().rposition(|&l| l != 0) else {
            return "0".into();
        };
        let low = mag.iter().position(|&l| l != 0).unwrap_or(0);
        let digits: Vec<String> = mag[low..=top].iter().map(|l| format!("{l:x}")).collect();
        format!("{}{low}:{}", if self.is_negative_sum() { "-" } else { "" }, digits.join("."))
    }

    /// Read the text form back.
    pub fn from_text(t: &str) -> Result<ExactSum, String> {
        let bad = || format!("`{t}` is not an exact sum written by sem");
        let mut out = ExactSum::new();
        if t == "0" {
            return Ok(out);
        }
        let (negative, rest) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let (low, digits) = rest.split_once(':').ok_or_else(bad)?;
        let low: usize = low.parse().map_err(|_| bad())?;
        for (j, d) in digits.split('.').enumerate() {
            let v = u32::from_str_radix(d, 16).map_err(|_| bad())?;
            let k = low + j;
            if k >= LIMBS - 1 {
                return Err(bad());
            }
            out.limbs[k] = if negative { -i64::from(v) } else { i64::from(v) };
        }
        out.normalize();
        Ok(out)
    }
}

impl Serialize for ExactSum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for ExactSum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExactSum, D::Error> {
        let t = String::deserialize(d)?;
        ExactSum::from_text(&t).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(v: &[f64]) -> ExactSum {
        let mut s = ExactSum::new();
        for x in v {
            s.add(*x);
        }
        s
    }

    #[test]
    fn exact_where_floating_point_is_not() {
        // (1e16 + 1) - 1e16 is 0 in f64, 1 exactly
        assert_eq!(sum(&[1e16, 1.0, -1e16]).value(), 1.0);
        assert_eq!(sum(&[0.1, 0.2, 0.3]).value(), sum(&[0.3, 0.2, 0.1]).value());
        assert_eq!(sum(&[0.1, 0.2]).value(), 0.30000000000000004);
        assert_eq!(sum(&[-2.5, 1.0]).value(), -1.5);
        assert_eq!(sum(&[]).value(), 0.0);
        assert_eq!(sum(&[f64::MIN_POSITIVE / 4.0, 1e300]).value(), 1e300);
        assert_eq!(sum(&[5e-324, 5e-324]).value(), 1e-323);
    }

    #[test]
    fn order_and_grouping_do_not_matter() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1013) as f64 * 1.37e-3 - 0.61).collect();
        let whole = sum(&xs);
        let mut rev = xs.clone();
        rev.reverse();
        assert_eq!(whole, sum(&rev));
        let mut parts: Vec<ExactSum> = (0..3).map(|_| ExactSum::new()).collect();
        for (i, x) in xs.iter().enumerate() {
            parts[i % 3].add(*x);
        }
        let mut merged = parts[2].clone();
        merged.merge(&parts[0]);
        merged.merge(&parts[1]);
        assert_eq!(merged.value(), whole.value());
        assert_eq!(merged.to_text(), whole.to_text());
        let naive: f64 = xs.iter().sum();
        assert!((whole.value() - naive).abs() < 1e-9);
    }

    #[test]
    fn text_round_trips() {
        for v in [vec![], vec![1.0], vec![-3.25, 1e-300], vec![1e300, -1e-10], vec![-0.5]] {
            let s = sum(&v);
            let back = ExactSum::from_text(&s.to_text()).unwrap();
            assert_eq!(back.value(), s.value(), "{v:?}");
            assert_eq!(back.to_text(), s.to_text());
        }
        assert!(ExactSum::from_text("12:zz").is_err());
        assert!(ExactSum::from_text("nonsense").is_err());
    }
}

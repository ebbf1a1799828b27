//! Stage 1: one variable at a time. An ordinal variable gets its thresholds
//! from its margin, `qnorm` of the cumulative proportions (the ML estimate
//! of a probit model without covariates, lavaan's `lav_uvord_fit`); a
//! continuous one its mean and N-denominator variance (`lav_uvreg_fit`).
//! Both give per-case scores (derivatives of the case's log-likelihood),
//! the raw material of the NACOV.

use super::normal::{dnorm, pnorm, qnorm};

/// One observed variable of one group, after stage 1.
#[derive(Debug, Clone)]
pub enum Uni {
    Ord(OrdVar),
    Num(NumVar),
}

/// The category of a missing value (pairwise deletion).
pub const MISSING: usize = usize::MAX;

/// The 0-based categories of an ordinal column's values (`MISSING` for
/// NaN), given its sorted categories `levels`: an error names the column
/// when a value is not one of them, or when a category has no case
/// (lavaan's "some categories of variable are empty"). Shared by the
/// marginal statistics and the ones given covariates.
pub fn codes(values: impl Iterator<Item = f64>, levels: &[f64], name: &str) -> Result<Vec<usize>, String> {
    let mut y = Vec::with_capacity(values.size_hint().0);
    for v in values {
        if v.is_nan() {
            y.push(MISSING);
            continue;
        }
        match levels.binary_search_by(|a| a.total_cmp(&v)) {
            Ok(k) => y.push(k),
            Err(_) => return Err(format!("ordinal variable `{name}` has value {v}, not one of its categories")),
        }
    }
    let mut freq = vec![0usize; levels.len()];
    for &k in y.iter().filter(|&&k| k != MISSING) {
        freq[k] += 1;
    }
    if freq.contains(&0) {
        let f: Vec<String> = freq.iter().map(|f| f.to_string()).collect();
        return Err(format!(
            "some categories of ordinal variable `{name}` are empty; frequencies are [{}] for categories [{}]",
            f.join(" "),
            levels.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")
        ));
    }
    Ok(y)
}

#[derive(Debug, Clone)]
pub struct OrdVar {
    /// per case: 0-based category, `MISSING` when missing
    pub y: Vec<usize>,
    /// the K-1 thresholds
    pub th: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct NumVar {
    /// per case: the value, NaN when missing
    pub x: Vec<f64>,
    pub mean: f64,
    /// N-denominator variance
    pub var: f64,
}

impl OrdVar {
    /// Thresholds from the category counts of the observed `y` (K
    /// categories, each seen).
    pub fn fit(y: Vec<usize>, ncat: usize) -> OrdVar {
        let mut freq = vec![0.0_f64; ncat];
        for &c in y.iter().filter(|&&c| c != MISSING) {
            freq[c] += 1.0;
        }
        let n: f64 = freq.iter().sum();
        let mut cum = 0.0;
        let th = freq[..ncat - 1]
            .iter()
            .map(|f| {
                cum += f / n;
                qnorm(cum)
            })
            .collect();
        OrdVar { y, th }
    }

    pub fn nth(&self) -> usize {
        self.th.len()
    }

    /// The threshold above category `c` (+inf for the last).
    pub fn upper(&self, c: usize) -> f64 {
        self.th.get(c).copied().unwrap_or(f64::INFINITY)
    }

    /// The threshold below category `c` (-inf for the first).
    pub fn lower(&self, c: usize) -> f64 {
        if c == 0 {
            f64::NEG_INFINITY
        } else {
            self.th[c - 1]
        }
    }

    /// Per category: the scores of a case in it for the thresholds, as
    /// (threshold index, value); at most two are non-zero (the thresholds
    /// around the category), and they are the same for every case of the
    /// category.
    pub fn category_scores(&self) -> Vec<[(usize, f64); 2]> {
        (0..=self.nth())
            .map(|c| {
                let (u, l) = (self.upper(c), self.lower(c));
                let p = if l > 1.0 { pnorm(-l) - pnorm(-u) } else { pnorm(u) - pnorm(l) };
                [(c, dnorm(u) / p), (c.wrapping_sub(1), -dnorm(l) / p)]
            })
            .collect()
    }
}

impl NumVar {
    /// Mean and variance of the observed values (denominator: their count).
    pub fn fit(x: Vec<f64>) -> NumVar {
        let obs = || x.iter().filter(|v| !v.is_nan());
        let n = obs().count() as f64;
        let mean = obs().sum::<f64>() / n;
        let var = obs().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        NumVar { x, mean, var }
    }

    /// Case i's scores for (mean, variance); zero for a missing value.
    pub fn scores(&self, i: usize) -> (f64, f64) {
        if self.x[i].is_nan() {
            return (0.0, 0.0);
        }
        let r = self.x[i] - self.mean;
        (r / self.var, -1.0 / (2.0 * self.var) + r * r / (2.0 * self.var * self.var))
    }
}

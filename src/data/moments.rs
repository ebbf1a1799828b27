//! Sample moments for ML: the mean vector and the covariance matrix with
//! divisor N (lavaan's `sample.cov` for ML, not R's `cov()` with N - 1),
//! after listwise deletion of rows with any missing value. Checks that ML
//! can use them: enough rows, no constant column, a positive definite matrix.

use super::{DataError, Dataset};
use nalgebra::{DMatrix, DVector};

/// Smallest eigenvalue of the sample correlation matrix below which it
/// counts as singular: one column explains another with R^2 > 1 - 1e-9.
const NEARLY_SINGULAR: f64 = 1e-9;

#[derive(Debug, Clone)]
pub struct SampleStats {
    pub nobs: usize,
    pub mean: DVector<f64>,
    /// covariance with divisor N
    pub cov: DMatrix<f64>,
    /// rows dropped because of missing values
    pub dropped: usize,
}

impl SampleStats {
    /// Listwise moments of the rows `rows` of `data` (all rows when `None`).
    pub fn listwise(data: &Dataset, rows: Option<&[usize]>) -> Result<SampleStats, DataError> {
        let p = data.names.len();
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..data.nrows()).collect();
                &all
            }
        };
        let complete: Vec<usize> = rows.iter().copied().filter(|&i| data.row(i).iter().all(|v| !v.is_nan())).collect();
        let n = complete.len();
        let dropped = rows.len() - n;
        if n == 0 {
            return Err(DataError(format!(
                "{}: no row is complete on the model's variables ({} rows, all with a missing value); try --missing fiml",
                data.file,
                rows.len()
            )));
        }
        // two-pass for accuracy: means first, then centred cross-products
        let mut mean = DVector::zeros(p);
        for &i in &complete {
            for (k, v) in data.row(i).iter().enumerate() {
                mean[k] += v;
            }
        }
        mean /= n as f64;
        let mut cov = DMatrix::zeros(p, p);
        let mut d = vec![0.0; p];
        for &i in &complete {
            for (k, v) in data.row(i).iter().enumerate() {
                d[k] = v - mean[k];
            }
            // the lower triangle column by column: contiguous in memory, so the
            // inner loop vectorizes (each element's sum keeps its order)
            let c = cov.as_mut_slice();
            for b in 0..p {
                let db = d[b];
                for (out, &da) in c[b * p + b..(b + 1) * p].iter_mut().zip(&d[b..]) {
                    *out += da * db;
                }
            }
        }
        for a in 0..p {
            for b in 0..=a {
                let v = cov[(a, b)] / n as f64;
                cov[(a, b)] = v;
                cov[(b, a)] = v;
            }
        }
        Ok(SampleStats {
            nobs: n,
            mean,
            cov,
            dropped,
        })
    }

    /// Problems that make ML impossible, phrased with the column names.
    pub fn check(&self, names: &[String], file: &str) -> Result<(), DataError> {
        let p = names.len();
        if self.nobs <= 1 {
            return Err(DataError(format!(
                "{file}: only {} complete row(s); ML needs many more rows than variables ({p})",
                self.nobs
            )));
        }
        for (k, name) in names.iter().enumerate() {
            let finite = self.mean[k].is_finite() && (0..p).all(|j| self.cov[(k, j)].is_finite());
            if !finite {
                return Err(DataError(format!(
                    "{file}: column `{name}` holds numbers too large to compute its variance; rescale it (divide by a power of ten)"
                )));
            }
            // constant relative to the column's own scale: its values agree
            // to 12 significant digits (a column in units of 1e-7, or around
            // 1e7 with unit spread, varies; the moments are computed with a
            // shift, so a truly constant column has variance exactly 0)
            if self.cov[(k, k)].sqrt() <= 1e-12 * self.mean[k].abs() || self.cov[(k, k)] <= 0.0 {
                return Err(DataError(format!(
                    "{file}: column `{name}` is constant (every complete row holds {}); a variable without variance cannot be modelled: drop it from the model",
                    fmt_num(self.mean[k])
                )));
            }
        }
        if self.nobs < p + 1 {
            return Err(DataError(format!(
                "{file}: {} complete rows for {p} variables: the sample covariance matrix is singular; ML needs more rows than variables",
                self.nobs
            )));
        }
        // singular, or so nearly singular (a column that is a sum of others,
        // rounded) that the information matrix is noise: judged on the
        // correlation matrix, whose smallest eigenvalue is 1 - R^2 of the
        // most redundant column at most
        let sd: Vec<f64> = (0..p).map(|k| self.cov[(k, k)].sqrt()).collect();
        let corr = DMatrix::from_fn(p, p, |i, j| self.cov[(i, j)] / (sd[i] * sd[j]));
        // every eigenvalue of R above the bound <=> R - bound I positive
        // definite, and by interlacing the first Cholesky pivot that fails is
        // the first column whose leading block has an eigenvalue below the
        // bound: the first column that is (nearly) a combination of earlier
        // ones. One factorization: an eigen decomposition per leading block
        // took hours on thousands of columns.
        let shifted = corr - DMatrix::identity(p, p) * NEARLY_SINGULAR;
        if let Err(k) = crate::estimate::chol::Chol::try_new(&shifted) {
            let which = format!(" (column `{}` is a linear combination of the columns before it)", names[k]);
            return Err(DataError(format!(
                "{file}: the sample covariance matrix is singular{which}; drop a redundant variable"
            )));
        }
        Ok(())
    }
}

impl SampleStats {
    /// lavaan's warning when the variances differ by more than a factor
    /// 1000: the optimizer may struggle and the estimates are hard to read.
    pub fn scale_warning(&self, names: &[String]) -> Option<String> {
        let p = names.len();
        let by = |f: fn(f64, f64) -> bool| (0..p).reduce(|a, b| if f(self.cov[(b, b)], self.cov[(a, a)]) { b } else { a });
        let (lo, hi) = (by(|x, y| x < y)?, by(|x, y| x > y)?);
        (self.cov[(hi, hi)] > 1000.0 * self.cov[(lo, lo)]).then(|| {
            format!(
                "some observed variances are (at least) a factor 1000 times larger than others (`{}`: {}, `{}`: {}); consider rescaling the variables",
                names[hi],
                fmt_num(self.cov[(hi, hi)]),
                names[lo],
                fmt_num(self.cov[(lo, lo)])
            )
        })
    }
}

fn fmt_num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e9) {
        return format!("{v:.3e}");
    }
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

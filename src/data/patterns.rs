//! Missing-data patterns for full-information ML (`--missing fiml`, lavaan's
//! `missing = "ml"`). The rows of a group are sorted by which model variables
//! they observe; each pattern keeps its rows' sufficient statistics on the
//! observed variables (mean and covariance with divisor n_p), which is all
//! the casewise normal log-likelihood needs:
//!
//!   logl = sum_p -n_p/2 [ p_o log(2 pi) + log|Sigma_oo| + tr(Sigma_oo^-1 (S_p + d_p d_p')) ],
//!   d_p = ybar_p - mu_o.
//!
//! As lavaan does, a row missing on every model variable is dropped, and so
//! is (with fixed.x, lavaan's default also under `missing = "ml"`) a row
//! missing on an exogenous covariate whose moments are taken as fixed.

use super::Dataset;
use nalgebra::{DMatrix, DVector};

/// Rows that observe the same variables.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// indices of the observed variables, ascending
    pub obs: Vec<usize>,
    /// indices of the missing variables, ascending
    pub miss: Vec<usize>,
    /// number of rows
    pub freq: usize,
    /// mean of the observed variables over the pattern's rows
    pub mean: DVector<f64>,
    /// their covariance with divisor `freq`
    pub cov: DMatrix<f64>,
    /// a factor R (r x p_o, r <= p_o) with R'R = cov: the centred rows / sqrt(freq)
    /// when there are few rows, else the transposed Cholesky factor, so that
    /// K cov K = (K R')(K R')' costs p_o^2 r
    pub root: DMatrix<f64>,
}

/// The missing-data patterns of one group.
#[derive(Debug, Clone)]
pub struct Patterns {
    /// number of model variables
    pub p: usize,
    pub patterns: Vec<Pattern>,
    /// rows used (observed on at least one variable and on every fixed.x covariate)
    pub n: usize,
    /// rows missing on every model variable (dropped)
    pub empty: usize,
    /// rows missing on a fixed.x covariate (dropped)
    pub x_missing: usize,
}

impl Patterns {
    /// Patterns of `rows` of `data`; `x_idx` are the fixed.x covariates, which
    /// must be observed for a row to be used.
    pub fn new(data: &Dataset, rows: &[usize], x_idx: &[usize]) -> Patterns {
        let p = data.names.len();
        let (mut empty, mut x_missing) = (0, 0);
        let mut keyed: Vec<(Vec<bool>, usize)> = Vec::with_capacity(rows.len());
        for &i in rows {
            let r = data.row(i);
            let seen: Vec<bool> = r.iter().map(|v| !v.is_nan()).collect();
            if !seen.iter().any(|s| *s) {
                empty += 1;
            } else if x_idx.iter().any(|&k| !seen[k]) {
                x_missing += 1;
            } else {
                keyed.push((seen, i));
            }
        }
        // most complete patterns first, then by the observed set; rows in file order
        keyed.sort_by(|a, b| {
            let (na, nb) = (a.0.iter().filter(|s| **s).count(), b.0.iter().filter(|s| **s).count());
            nb.cmp(&na).then_with(|| b.0.cmp(&a.0)).then(a.1.cmp(&b.1))
        });
        let n = keyed.len();
        let mut patterns = Vec::new();
        let mut start = 0;
        while start < keyed.len() {
            let mut end = start + 1;
            while end < keyed.len() && keyed[end].0 == keyed[start].0 {
                end += 1;
            }
            let obs: Vec<usize> = (0..p).filter(|&k| keyed[start].0[k]).collect();
            let members: Vec<usize> = keyed[start..end].iter().map(|t| t.1).collect();
            patterns.push(Pattern::from_rows(data, &obs, &members));
            start = end;
        }
        Patterns {
            p,
            patterns,
            n,
            empty,
            x_missing,
        }
    }

    /// Sigma_oo^-1 and log|Sigma_oo| of every pattern (see `Pattern::inverse`).
    pub fn inverses(&self, sigma: &DMatrix<f64>) -> Option<Vec<(DMatrix<f64>, f64)>> {
        let (w, logdet) = spd_inverse(sigma)?;
        self.patterns.iter().map(|pat| pat.inverse(sigma, &w, logdet)).collect()
    }

    /// Normal log-likelihood of the group's observed values under (mu, Sigma),
    /// with the 2 pi constant; `None` when a Sigma_oo is not positive definite.
    pub fn loglik(&self, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> Option<f64> {
        let ln2pi = (2.0 * std::f64::consts::PI).ln();
        let mut ll = 0.0;
        for (pat, (k, logdet)) in self.patterns.iter().zip(self.inverses(sigma)?) {
            let d = &pat.mean - DVector::from_iterator(pat.obs.len(), pat.obs.iter().map(|&k| mu[k]));
            let quad = k.component_mul(&pat.cov).sum() + d.dot(&(&k * &d));
            ll += -(pat.freq as f64) / 2.0 * (pat.obs.len() as f64 * ln2pi + logdet + quad);
        }
        ll.is_finite().then_some(ll)
    }

    /// Per variable: number of rows that observe it, mean and variance (divisor n)
    /// over those rows (the available cases).
    pub fn available_cases(&self) -> Vec<(usize, f64, f64)> {
        let mut out = Vec::with_capacity(self.p);
        for k in 0..self.p {
            let (mut n, mut s1) = (0.0, 0.0);
            for pat in &self.patterns {
                if let Some(a) = pat.obs.iter().position(|&o| o == k) {
                    n += pat.freq as f64;
                    s1 += pat.freq as f64 * pat.mean[a];
                }
            }
            let m = if n > 0.0 { s1 / n } else { f64::NAN };
            let mut s2 = 0.0;
            for pat in &self.patterns {
                if let Some(a) = pat.obs.iter().position(|&o| o == k) {
                    let dm = pat.mean[a] - m;
                    s2 += pat.freq as f64 * (pat.cov[(a, a)] + dm * dm);
                }
            }
            out.push((n as usize, m, if n > 0.0 { s2 / n } else { f64::NAN }));
        }
        out
    }

    /// lavaan's `sample.cov`/`sample.mean` under missing = "ml" (used by its
    /// GFI): available-case means, and pairwise covariances as R's
    /// `cov(use = "pairwise")` (divisor n_ij - 1, means over the pair's rows)
    /// rescaled by (N - 1) / N.
    pub fn pairwise(&self) -> (DVector<f64>, DMatrix<f64>) {
        let p = self.p;
        let mean = DVector::from_iterator(p, self.available_cases().iter().map(|t| t.1));
        let mut cov = DMatrix::zeros(p, p);
        let nn = self.n as f64;
        for i in 0..p {
            for j in 0..=i {
                let (mut n, mut si, mut sj, mut sij) = (0.0, 0.0, 0.0, 0.0);
                for pat in &self.patterns {
                    let (Some(a), Some(b)) = (pat.obs.iter().position(|&o| o == i), pat.obs.iter().position(|&o| o == j)) else {
                        continue;
                    };
                    let f = pat.freq as f64;
                    n += f;
                    si += f * pat.mean[a];
                    sj += f * pat.mean[b];
                    sij += f * (pat.cov[(a, b)] + pat.mean[a] * pat.mean[b]);
                }
                let v = if n > 1.0 {
                    (sij - si * sj / n) / (n - 1.0) * (nn - 1.0) / nn
                } else {
                    f64::NAN
                };
                cov[(i, j)] = v;
                cov[(j, i)] = v;
            }
        }
        (mean, cov)
    }
}

impl Pattern {
    fn from_rows(data: &Dataset, obs: &[usize], rows: &[usize]) -> Pattern {
        let po = obs.len();
        let n = rows.len() as f64;
        let mut mean = DVector::zeros(po);
        for &i in rows {
            let r = data.row(i);
            for (a, &k) in obs.iter().enumerate() {
                mean[a] += r[k];
            }
        }
        mean /= n;
        let mut cov = DMatrix::zeros(po, po);
        let mut d = vec![0.0; po];
        for &i in rows {
            let r = data.row(i);
            for (a, &k) in obs.iter().enumerate() {
                d[a] = r[k] - mean[a];
            }
            for a in 0..po {
                for b in 0..=a {
                    cov[(a, b)] += d[a] * d[b];
                }
            }
        }
        for a in 0..po {
            for b in 0..=a {
                let v = cov[(a, b)] / n;
                cov[(a, b)] = v;
                cov[(b, a)] = v;
            }
        }
        let centred = || DMatrix::from_fn(rows.len(), po, |i, a| (data.row(rows[i])[obs[a]] - mean[a]) / n.sqrt());
        let root = if rows.len() <= po {
            centred()
        } else {
            cov.clone().cholesky().map_or_else(centred, |c| c.unpack().transpose())
        };
        let p = data.names.len();
        Pattern {
            obs: obs.to_vec(),
            miss: (0..p).filter(|k| !obs.contains(k)).collect(),
            freq: rows.len(),
            mean,
            cov,
            root,
        }
    }

    /// Sigma_oo^-1 and log|Sigma_oo|. With few missing variables, from
    /// W = Sigma^-1 (and its log-determinant): W_oo - W_om W_mm^-1 W_mo and
    /// log|Sigma| + log|W_mm|, which costs p_o^2 p_m instead of p_o^3.
    pub fn inverse(&self, sigma: &DMatrix<f64>, w: &DMatrix<f64>, logdet: f64) -> Option<(DMatrix<f64>, f64)> {
        if self.miss.is_empty() {
            return Some((w.clone(), logdet));
        }
        if self.miss.len() > self.obs.len() {
            return spd_inverse(&sub(sigma, &self.obs));
        }
        let Some((wmm, ld)) = spd_inverse(&sub(w, &self.miss)) else {
            // rounding made W_mm indefinite: invert Sigma_oo itself
            return spd_inverse(&sub(sigma, &self.obs));
        };
        let (o, m) = (&self.obs, &self.miss);
        let (po, pm, p) = (o.len(), m.len(), w.nrows());
        let ws = w.as_slice();
        let wmm = wmm.as_slice();
        // t = W_om W_mm^-1 (p_o x p_m, column-major)
        let mut t = vec![0.0; po * pm];
        for c in 0..pm {
            for (a, &i) in o.iter().enumerate() {
                t[a + c * po] = (0..pm).map(|e| ws[i + m[e] * p] * wmm[e + c * pm]).sum();
            }
        }
        let mut k = DMatrix::zeros(po, po);
        let ks = k.as_mut_slice();
        for (b, &j) in o.iter().enumerate() {
            for (a, &i) in o.iter().enumerate().skip(b) {
                let v = ws[i + j * p] - (0..pm).map(|c| t[a + c * po] * ws[m[c] + j * p]).sum::<f64>();
                ks[a + b * po] = v;
                ks[b + a * po] = v;
            }
        }
        Some((k, logdet + ld))
    }
}

/// Inverse and log-determinant of a symmetric positive definite matrix, by
/// its Cholesky factor L: L^-1 by forward substitution, then L^-T L^-1.
/// Plain loops over the column-major storage: these small inversions run
/// once per missing-data pattern and evaluation, and stay fast in debug
/// builds too (where nalgebra's generic code is not optimized).
pub fn spd_inverse(m: &DMatrix<f64>) -> Option<(DMatrix<f64>, f64)> {
    let n = m.nrows();
    let a = m.as_slice();
    // lower Cholesky factor, column-major: l[i + j n] = L_ij
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = a[j + j * n];
        for k in 0..j {
            d -= l[j + k * n] * l[j + k * n];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        l[j + j * n] = d;
        for i in j + 1..n {
            let mut v = a[i + j * n];
            for k in 0..j {
                v -= l[i + k * n] * l[j + k * n];
            }
            l[i + j * n] = v / d;
        }
    }
    // L^-1, lower triangular
    let mut li = vec![0.0; n * n];
    for j in 0..n {
        li[j + j * n] = 1.0 / l[j + j * n];
        for i in j + 1..n {
            let mut v = 0.0;
            for k in j..i {
                v += l[i + k * n] * li[k + j * n];
            }
            li[i + j * n] = -v / l[i + i * n];
        }
    }
    // (L^-T L^-1)_ij = sum_k>=max(i,j) li_ki li_kj
    let mut inv = DMatrix::zeros(n, n);
    let out = inv.as_mut_slice();
    for j in 0..n {
        for i in j..n {
            let mut v = 0.0;
            for k in i..n {
                v += li[k + i * n] * li[k + j * n];
            }
            out[i + j * n] = v;
            out[j + i * n] = v;
        }
    }
    let logdet = 2.0 * (0..n).map(|j| l[j + j * n].ln()).sum::<f64>();
    Some((inv, logdet))
}

/// The rows and columns `idx` of a square matrix.
pub fn sub(m: &DMatrix<f64>, idx: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(idx.len(), idx.len(), |a, b| m[(idx[a], idx[b])])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(values: Vec<f64>, p: usize) -> Dataset {
        let n = values.len() / p;
        Dataset {
            file: "t.csv".into(),
            names: (0..p).map(|k| format!("v{k}")).collect(),
            values,
            lines: (2..2 + n as u64).collect(),
            group: None,
        }
    }

    #[test]
    fn groups_rows_by_pattern_and_drops_empty_rows() {
        let nan = f64::NAN;
        let d = ds(vec![1.0, 2.0, 3.0, 4.0, nan, nan, 5.0, nan, 7.0, 8.0], 2);
        let pats = Patterns::new(&d, &[0, 1, 2, 3, 4], &[]);
        assert_eq!(pats.n, 4);
        assert_eq!(pats.empty, 1);
        assert_eq!(pats.patterns.len(), 2);
        assert_eq!(pats.patterns[0].obs, vec![0, 1]);
        assert_eq!(pats.patterns[0].freq, 3);
        assert!((pats.patterns[0].mean[1] - 14.0 / 3.0).abs() < 1e-12);
        assert_eq!(pats.patterns[1].obs, vec![0]);
        let ac = pats.available_cases();
        assert_eq!(ac[0].0, 4);
        assert!((ac[0].1 - 4.0).abs() < 1e-12);
        // with v1 a fixed.x covariate, the row missing on it is dropped too
        let px = Patterns::new(&d, &[0, 1, 2, 3, 4], &[1]);
        assert_eq!((px.n, px.x_missing), (3, 1));
    }

    #[test]
    fn spd_inverse_inverts() {
        let m = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0]);
        let (inv, logdet) = spd_inverse(&m).unwrap();
        assert!((&m * inv - DMatrix::<f64>::identity(3, 3)).abs().max() < 1e-12);
        assert!((logdet - m.determinant().ln()).abs() < 1e-12);
        assert!(spd_inverse(&DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0])).is_none());
    }

    #[test]
    fn complete_data_loglik_is_the_usual_one() {
        let d = ds(vec![1.0, 2.0, 2.0, 1.0, 3.0, 5.0, 0.0, 1.0], 2);
        let pats = Patterns::new(&d, &[0, 1, 2, 3], &[]);
        let pt = &pats.patterns[0];
        let ll = pats.loglik(&pt.mean, &pt.cov).unwrap();
        let logdet = pt.cov.determinant().ln();
        let expect = -4.0 / 2.0 * (2.0 * (2.0 * std::f64::consts::PI).ln() + logdet + 2.0);
        assert!((ll - expect).abs() < 1e-10);
    }
}

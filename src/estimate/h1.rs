//! The saturated (h1) model's information matrices in the coordinates
//! (mu, vech Sigma), and the model's Jacobian Delta in those coordinates:
//! the pieces of the FIML expected and observed information
//! (`estimate::fiml`) and of lavaan's FIML-corrected fit indices
//! (`fit::fiml`). Per missing-data pattern, with K = Sigma_oo^-1 padded with
//! zeros, r = K (ybar_p - mu), T = S_p + (ybar_p - mu)(ybar_p - mu)' and
//! A = K (2 T - Sigma) K (lavaan's `lav_mvnorm_missing_*` functions):
//!
//!   expected:  [K, 0; 0, 1/2 D'(K x K) D]
//!   observed:  [K, (r' x K) D; D'(r x K), 1/2 D'(K x A) D]
//!
//! summed with weights n_p / n. The x-block elements of a fixed.x model
//! (their means and covariances) carry no information; `Layout` lists the
//! elements that remain.

use crate::data::patterns::{spd_inverse, sub, Patterns};
use crate::estimate::objective::jacobian;
use crate::model::ram::{Implied, Ram};
use nalgebra::{DMatrix, DVector};

/// The x-block elements lavaan leaves out: (mean k) and (cov i, j) with both in x.
pub struct Layout {
    pub p: usize,
    /// (i, j), i >= j, column by column
    pub pairs: Vec<(usize, usize)>,
    /// kept element indices into (means, vech)
    pub keep: Vec<usize>,
}

impl Layout {
    pub fn new(p: usize, xi: &[usize]) -> Layout {
        let pairs: Vec<(usize, usize)> = (0..p).flat_map(|j| (j..p).map(move |i| (i, j))).collect();
        let mut keep: Vec<usize> = (0..p).filter(|k| !xi.contains(k)).collect();
        keep.extend(
            pairs
                .iter()
                .enumerate()
                .filter(|(_, (i, j))| !(xi.contains(i) && xi.contains(j)))
                .map(|(u, _)| p + u),
        );
        Layout { p, pairs, keep }
    }
    pub fn dim(&self) -> usize {
        self.p + self.pairs.len()
    }
    pub fn reduce(&self, m: &DMatrix<f64>) -> DMatrix<f64> {
        sub(m, &self.keep)
    }
    /// indices of the pairs with both variables in `o`
    pub fn pairs_within(&self, o: &[usize]) -> Vec<usize> {
        (0..self.pairs.len())
            .filter(|&u| o.contains(&self.pairs[u].0) && o.contains(&self.pairs[u].1))
            .collect()
    }
}

/// Pad the inverse of the rows/columns `o` of Sigma into a p x p matrix.
fn embedded_inverse(sigma: &DMatrix<f64>, o: &[usize]) -> Option<DMatrix<f64>> {
    let (k, _) = spd_inverse(&sub(sigma, o))?;
    let p = sigma.nrows();
    let mut out = DMatrix::zeros(p, p);
    for (a, &i) in o.iter().enumerate() {
        for (b, &j) in o.iter().enumerate() {
            out[(i, j)] = k[(a, b)];
        }
    }
    Some(out)
}

/// Add w * 1/2 D'(K (x) A) D on the pairs `idx` (both matrices symmetric, zero outside).
fn add_i22(h: &mut DMatrix<f64>, w: f64, k: &DMatrix<f64>, a: &DMatrix<f64>, lay: &Layout, idx: &[usize]) {
    // lower triangle of the pair block only (see `mirror_i22`); K and A are
    // symmetric, so column i of the column-major storage is row i
    let (p, dim) = (lay.p, h.nrows());
    let (ks, as_) = (k.as_slice(), a.as_slice());
    let hs = h.as_mut_slice();
    let w = 0.5 * w;
    for (s, &u) in idx.iter().enumerate() {
        let (i, j) = lay.pairs[u];
        let (ai, aj) = (&as_[i * p..(i + 1) * p], &as_[j * p..(j + 1) * p]);
        let (ki, kj) = (&ks[i * p..(i + 1) * p], &ks[j * p..(j + 1) * p]);
        let row = p + u;
        for &v in &idx[..=s] {
            let (c, d) = lay.pairs[v];
            let mut t = ai[c] * kj[d];
            if c != d {
                t += ai[d] * kj[c];
            }
            if i != j {
                t += aj[c] * ki[d];
                if c != d {
                    t += aj[d] * ki[c];
                }
            }
            hs[(p + v) * dim + row] += w * t;
        }
    }
}

/// Copy the lower triangle of the pair block to the upper one.
fn mirror_i22(h: &mut DMatrix<f64>, lay: &Layout) {
    let p = lay.p;
    for u in 0..lay.pairs.len() {
        for v in 0..u {
            h[(p + v, p + u)] = h[(p + u, p + v)];
        }
    }
}

/// Unit observed information of the saturated model under missing data at
/// (mu, Sigma): minus lavaan's `lav_mvnorm_missing_logl_hessian_samplestats` / n.
pub fn h1_observed_missing(pats: &Patterns, mu: &DVector<f64>, sigma: &DMatrix<f64>, lay: &Layout) -> Option<DMatrix<f64>> {
    let p = lay.p;
    let mut h = DMatrix::zeros(lay.dim(), lay.dim());
    for pat in &pats.patterns {
        let o = &pat.obs;
        let k = embedded_inverse(sigma, o)?;
        let mut dev = DVector::zeros(p);
        for (a, &i) in o.iter().enumerate() {
            dev[i] = pat.mean[a] - mu[i];
        }
        let r = &k * &dev;
        let mut wt = DMatrix::zeros(p, p);
        for (a, &i) in o.iter().enumerate() {
            for (b, &j) in o.iter().enumerate() {
                wt[(i, j)] = 2.0 * (pat.cov[(a, b)] + dev[i] * dev[j]) - sigma[(i, j)];
            }
        }
        let a = &k * wt * &k;
        let np = pat.freq as f64;
        for &i in o {
            for &j in o {
                h[(i, j)] += np * k[(i, j)];
            }
        }
        let idx = lay.pairs_within(o);
        for &u in &idx {
            let (i, j) = lay.pairs[u];
            for &c in o {
                let v = if i == j {
                    r[j] * k[(i, c)]
                } else {
                    r[j] * k[(i, c)] + r[i] * k[(j, c)]
                };
                h[(p + u, c)] += np * v;
                h[(c, p + u)] += np * v;
            }
        }
        add_i22(&mut h, np, &k, &a, lay, &idx);
    }
    mirror_i22(&mut h, lay);
    Some(h / pats.n as f64)
}

/// Unit information of the saturated model for complete data at covariance S.
pub fn h1_complete(s: &DMatrix<f64>, lay: &Layout) -> Option<DMatrix<f64>> {
    let (k, _) = spd_inverse(s)?;
    let mut h = DMatrix::zeros(lay.dim(), lay.dim());
    h.view_mut((0, 0), (lay.p, lay.p)).copy_from(&k);
    let all: Vec<usize> = (0..lay.pairs.len()).collect();
    add_i22(&mut h, 1.0, &k, &k, lay, &all);
    mirror_i22(&mut h, lay);
    Some(h)
}

/// The model's Jacobian of (mu, vech Sigma) in group g over the free parameters.
pub fn delta(ram: &Ram, g: usize, x: &[f64], lay: &Layout) -> Option<DMatrix<f64>> {
    let (a, s, m) = ram.matrices(g, x);
    let implied = Implied::new(&a, &s, &m, ram.p())?;
    let jac = jacobian(ram, g, &implied);
    let mut d = DMatrix::zeros(lay.dim(), ram.nx);
    for (c, &(_, xi)) in jac.cols.iter().enumerate() {
        for k in 0..lay.p {
            d[(k, xi)] += jac.dmu[(k, c)];
        }
        for (u, &(i, j)) in lay.pairs.iter().enumerate() {
            d[(lay.p + u, xi)] += jac.a[(i, c)] * jac.b[(j, c)] + jac.b[(i, c)] * jac.a[(j, c)];
        }
    }
    Some(d)
}

/// Unit expected information of the saturated model under missing data at
/// Sigma (lavaan's `lav_mvnorm_missing_information_expected`).
pub fn h1_expected_missing(pats: &Patterns, sigma: &DMatrix<f64>, lay: &Layout) -> Option<DMatrix<f64>> {
    let mut h = DMatrix::zeros(lay.dim(), lay.dim());
    for pat in &pats.patterns {
        let o = &pat.obs;
        let k = embedded_inverse(sigma, o)?;
        let np = pat.freq as f64;
        for &i in o {
            for &j in o {
                h[(i, j)] += np * k[(i, j)];
            }
        }
        add_i22(&mut h, np, &k, &k, lay, &lay.pairs_within(o));
    }
    mirror_i22(&mut h, lay);
    Some(h / pats.n as f64)
}

/// Casewise scores of the saturated model under missing data at (mu, Sigma),
/// one row per case over the kept elements of `lay` (lavaan's
/// `lav_mvnorm_missing_scores_mu_vech_sigma`): with o the case's observed
/// variables, K = Sigma_oo^-1 and d = y_o - mu_o, K d for the means and
/// 1/2 (K d d' K - K) (doubled off the diagonal) for the covariances, zero
/// for the elements the case does not observe. NaN marks a missing value.
pub fn casewise_scores(rows: &[Vec<f64>], mu: &DVector<f64>, sigma: &DMatrix<f64>, lay: &Layout) -> Option<DMatrix<f64>> {
    let p = lay.p;
    let mut out = DMatrix::zeros(rows.len(), lay.keep.len());
    let mut full = vec![0.0; lay.dim()];
    for (r, row) in rows.iter().enumerate() {
        let o: Vec<usize> = (0..p).filter(|&i| !row[i].is_nan()).collect();
        let k = embedded_inverse(sigma, &o)?;
        let mut dev = DVector::zeros(p);
        for &i in &o {
            dev[i] = row[i] - mu[i];
        }
        let kd = &k * dev;
        full.iter_mut().for_each(|v| *v = 0.0);
        full[..p].copy_from_slice(kd.as_slice());
        for (u, &(i, j)) in lay.pairs.iter().enumerate() {
            let g = 0.5 * (kd[i] * kd[j] - k[(i, j)]);
            full[p + u] = if i == j { g } else { 2.0 * g };
        }
        for (c, &e) in lay.keep.iter().enumerate() {
            out[(r, c)] = full[e];
        }
    }
    Some(out)
}

//! The saturated (h1) model under missing data: the ML estimates of the mean
//! vector and covariance matrix from incomplete rows, by the EM algorithm
//! (lavaan's `lav_mvnorm_missing_h1_estimate_moments`). They give the
//! unrestricted log-likelihood (chi-square = 2 (logl_h1 - logl_h0)), play
//! the part of the sample moments in SRMR and its relatives, and seed the
//! starting values and the fixed.x moments.
//!
//! E-step, per pattern with observed o and missing m, beta = Sigma_mo Sigma_oo^-1:
//!
//!   E[y_m | y_o] = mu_m + beta (y_o - mu_o),   Var[y_m | y_o] = Sigma_mm - beta Sigma_om,
//!
//! summed into T1 = sum E[y] and T2 = sum E[y y']; M-step: mu = T1/N,
//! Sigma = T2/N - mu mu'. Start: available-case means and variances, no
//! covariances (as lavaan).

use super::patterns::{sub, Patterns};
use nalgebra::{DMatrix, DVector};

/// The EM estimates of the saturated model.
#[derive(Debug, Clone)]
pub struct Saturated {
    pub mean: DVector<f64>,
    /// covariance with divisor N
    pub cov: DMatrix<f64>,
    /// log-likelihood at the estimates (with the 2 pi constant)
    pub logl: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Run EM until no mean or covariance moves by more than `tol`.
pub fn saturated(pats: &Patterns, tol: f64, max_iter: usize) -> Saturated {
    let p = pats.p;
    let n = pats.n as f64;
    let ac = pats.available_cases();
    let mut mu = DVector::from_iterator(p, ac.iter().map(|t| t.1));
    let mut sigma = DMatrix::from_diagonal(&DVector::from_iterator(
        p,
        ac.iter().map(|t| if t.2.is_finite() && t.2 > 0.0 { t.2 } else { 1.0 }),
    ));
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        iterations += 1;
        let Some((t1, t2)) = estep(pats, &mu, &sigma) else {
            break;
        };
        let mu_new = t1 / n;
        let mut s_new = t2 / n - &mu_new * mu_new.transpose();
        s_new = (&s_new + s_new.transpose()) * 0.5;
        let delta = (&mu_new - &mu)
            .iter()
            .chain((&s_new - &sigma).iter())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        mu = mu_new;
        sigma = s_new;
        if delta < tol {
            converged = true;
            break;
        }
    }
    let logl = pats.loglik(&mu, &sigma).unwrap_or(f64::NAN);
    Saturated {
        mean: mu,
        cov: sigma,
        logl,
        iterations,
        converged,
    }
}

/// The expected sufficient statistics T1 = sum E[y], T2 = sum E[y y'].
fn estep(pats: &Patterns, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let p = pats.p;
    let mut t1 = DVector::zeros(p);
    let mut t2 = DMatrix::zeros(p, p);
    let inverses = pats.inverses(sigma)?;
    for (pat, (inv, _)) in pats.patterns.iter().zip(inverses) {
        let o = &pat.obs;
        let m = &pat.miss;
        let np = pat.freq as f64;
        // sum y_o and sum y_o y_o' over the pattern's rows
        let s1 = &pat.mean * np;
        let s2 = (&pat.cov + &pat.mean * pat.mean.transpose()) * np;
        for (a, &i) in o.iter().enumerate() {
            t1[i] += s1[a];
            for (b, &j) in o.iter().enumerate() {
                t2[(i, j)] += s2[(a, b)];
            }
        }
        if m.is_empty() {
            continue;
        }
        let smo = DMatrix::from_fn(m.len(), o.len(), |a, b| sigma[(m[a], o[b])]);
        let beta = &smo * &inv;
        let cvar = sub(sigma, m) - &beta * smo.transpose();
        // E[y_m] = c + beta y_o with c = mu_m - beta mu_o
        let mu_o = DVector::from_iterator(o.len(), o.iter().map(|&k| mu[k]));
        let mu_m = DVector::from_iterator(m.len(), m.iter().map(|&k| mu[k]));
        let c = mu_m - &beta * mu_o;
        let e1 = &c * np + &beta * &s1; // sum E[y_m]
        let cross = &c * s1.transpose() + &beta * &s2; // sum E[y_m] y_o'
        let bs1 = &beta * &s1;
        let mm = &c * c.transpose() * np + &c * bs1.transpose() + &bs1 * c.transpose() + &beta * &s2 * beta.transpose() + cvar * np;
        for (a, &i) in m.iter().enumerate() {
            t1[i] += e1[a];
            for (b, &j) in o.iter().enumerate() {
                t2[(i, j)] += cross[(a, b)];
                t2[(j, i)] += cross[(a, b)];
            }
            for (b, &j) in m.iter().enumerate() {
                t2[(i, j)] += mm[(a, b)];
            }
        }
    }
    Some((t1, t2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    #[test]
    fn complete_data_gives_the_sample_moments_and_em_raises_the_loglik() {
        let nan = f64::NAN;
        let values = vec![
            1.0, 2.0, 0.5, 2.0, 1.0, 1.5, 3.0, 5.0, 2.5, 0.0, 1.0, nan, 2.0, nan, 1.0, nan, 3.0, 2.0, 1.5, 2.5, 0.7, 2.2, 1.1, 1.9,
        ];
        let d = Dataset {
            file: "t".into(),
            names: vec!["a".into(), "b".into(), "c".into()],
            values,
            lines: (0..8).collect(),
            group: None,
        };
        let complete = Patterns::new(&d, &[0, 1, 2], &[]);
        let s = saturated(&complete, 1e-12, 1000);
        assert!(s.converged && s.iterations <= 2);
        let pt = &complete.patterns[0];
        assert!((&s.cov - &pt.cov).abs().max() < 1e-12);
        let pats = Patterns::new(&d, &(0..8).collect::<Vec<_>>(), &[]);
        let s = saturated(&pats, 1e-12, 10_000);
        assert!(s.converged);
        // the EM estimate is a maximum: moving it lowers the log-likelihood
        for k in 0..3 {
            let mut m2 = s.mean.clone();
            m2[k] += 1e-3;
            assert!(pats.loglik(&m2, &s.cov).unwrap() < s.logl);
            let mut c2 = s.cov.clone();
            c2[(k, k)] *= 1.01;
            assert!(pats.loglik(&s.mean, &c2).unwrap() < s.logl);
        }
    }
}

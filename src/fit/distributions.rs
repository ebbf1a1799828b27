//! The chi-square distribution, central and non-central, as R computes it.
//! statrs has the central one; the non-central CDF (needed for the RMSEA
//! interval and its p-values) is the Poisson mixture
//!
//!   P(x; k, lambda) = sum_j e^(-lambda/2) (lambda/2)^j / j!  P(x; k + 2j)
//!
//! summed outward from the largest Poisson weight until the terms vanish.
//! p-values are `1 - cdf`, as lavaan writes them, so that values beyond
//! double precision come out as 0 exactly as in lavaan's output.

use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::gamma::ln_gamma;

pub fn pchisq(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.cdf(x),
        Err(_) => f64::NAN,
    }
}

/// Quantile by bisection on the CDF (statrs' inverse is only accurate to
/// about 1e-3 at large df, which shows in lavaan's CN index).
pub fn qchisq(p: f64, df: f64) -> f64 {
    if !(0.0..1.0).contains(&p) || df <= 0.0 {
        return f64::NAN;
    }
    let mut hi = df + 10.0 * (2.0 * df).sqrt() + 10.0;
    while pchisq(hi, df) < p {
        hi *= 2.0;
    }
    bisect(|x| pchisq(x, df) - p, 0.0, hi).unwrap_or(f64::NAN)
}

/// Non-central chi-square CDF.
pub fn pnchisq(x: f64, df: f64, ncp: f64) -> f64 {
    if ncp <= 0.0 {
        return pchisq(x, df);
    }
    if x <= 0.0 {
        return 0.0;
    }
    let h = ncp / 2.0;
    let j0 = h.floor() as i64;
    let weight = |j: i64| (-h + j as f64 * h.ln() - ln_gamma(j as f64 + 1.0)).exp();
    let mut sum = 0.0;
    let mut j = j0;
    loop {
        let t = weight(j) * pchisq(x, df + 2.0 * j as f64);
        sum += t;
        if (t < 1e-17 * sum.max(1e-300) && j > j0 + 5) || j > j0 + 100_000 {
            break;
        }
        j += 1;
    }
    let mut j = j0 - 1;
    while j >= 0 {
        let w = weight(j);
        let t = w * pchisq(x, df + 2.0 * j as f64);
        sum += t;
        if w < 1e-17 && j < j0 - 5 {
            break;
        }
        j -= 1;
    }
    sum.min(1.0)
}

/// Root of a decreasing or increasing function on [lo, hi] by bisection,
/// to double precision; `None` when the ends do not bracket a root.
pub fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> Option<f64> {
    let (mut flo, fhi) = (f(lo), f(hi));
    if flo == 0.0 {
        return Some(lo);
    }
    if fhi == 0.0 {
        return Some(hi);
    }
    if flo.signum() == fhi.signum() || flo.is_nan() || fhi.is_nan() {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let fm = f(mid);
        if fm == 0.0 || (hi - lo) < 1e-12 * (1.0 + mid.abs()) {
            return Some(mid);
        }
        if fm.signum() == flo.signum() {
            lo = mid;
            flo = fm;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    // values from R: pchisq(85.3055217699727, 24, ncp = 36.84674) etc.
    #[test]
    fn quantile_matches_r() {
        // R: qchisq(0.95, 266) = 305.0415..., qchisq(0.99, 24) = 42.97982
        assert!((qchisq(0.99, 24.0) - 42.97982).abs() < 1e-4);
        assert!((qchisq(0.95, 266.0) - 305.04).abs() < 0.01);
    }

    #[test]
    fn noncentral_matches_r() {
        assert!((pchisq(85.3055217699727, 24.0) - (1.0 - 8.50255321704907e-09)).abs() < 1e-12);
        // at the lower RMSEA bound lambda_L the CDF is 0.95 (lavaan's HS CFA)
        assert!((pnchisq(85.3055217699727, 24.0, 36.84674) - 0.95).abs() < 1e-5);
        assert!((pnchisq(85.3055217699727, 24.0, 93.35352) - 0.05).abs() < 1e-5);
    }
}

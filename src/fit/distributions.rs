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
    // statrs panics outside (0, inf); a broken fit must not
    if x.is_nan() || !(df > 0.0 && df.is_finite()) {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x == f64::INFINITY {
        return 1.0;
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

/// Beyond this half non-centrality the series needs thousands of terms per
/// call; there Sankaran's approximation agrees with it to better than 1e-6 (see
/// the test), so a huge chi-square (a hopeless model, a run that did not
/// converge) cannot stall the fit measures.
const SERIES_LIMIT: f64 = 2e4;

/// Non-central chi-square CDF.
pub fn pnchisq(x: f64, df: f64, ncp: f64) -> f64 {
    if x.is_nan() || df.is_nan() || ncp.is_nan() || ncp == f64::INFINITY {
        return f64::NAN;
    }
    if ncp <= 0.0 {
        return pchisq(x, df);
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x == f64::INFINITY {
        return 1.0;
    }
    if ncp / 2.0 > SERIES_LIMIT {
        return sankaran(x, df, ncp);
    }
    pnchisq_series(x, df, ncp)
}

/// Sankaran's (1963) normal approximation of a power of x / (k + lambda):
/// with h = 1 - 2/3 (k + l)(k + 3l)/(k + 2l)^2, p = (k + 2l)/(k + l)^2 and
/// m = (h - 1)(1 - 3h),
///   z = ((x/(k+l))^h - 1 - h p (h - 1 - (2 - h) m p / 2)) / (h sqrt(2p) (1 + m p / 2)).
fn sankaran(x: f64, df: f64, ncp: f64) -> f64 {
    let (k, l) = (df, ncp);
    let h = 1.0 - 2.0 / 3.0 * (k + l) * (k + 3.0 * l) / (k + 2.0 * l).powi(2);
    let p = (k + 2.0 * l) / (k + l).powi(2);
    let m = (h - 1.0) * (1.0 - 3.0 * h);
    let z = ((x / (k + l)).powf(h) - 1.0 - h * p * (h - 1.0 - 0.5 * (2.0 - h) * m * p)) / (h * (2.0 * p).sqrt() * (1.0 + 0.5 * m * p));
    if z.is_nan() {
        return f64::NAN;
    }
    statrs::distribution::Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.cdf(z))
}

/// The Poisson mixture, for a half non-centrality up to `SERIES_LIMIT`.
fn pnchisq_series(x: f64, df: f64, ncp: f64) -> f64 {
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

    #[test]
    fn huge_or_broken_arguments_return_quickly() {
        for (x, df, ncp) in [
            (1e12, 3.0, 4e12),
            (f64::INFINITY, 3.0, 1e3),
            (5.0, 3.0, f64::INFINITY),
            (f64::NAN, 3.0, 1.0),
            (1e300, 1e300, 1e300),
        ] {
            let p = pnchisq(x, df, ncp);
            assert!(p.is_nan() || (0.0..=1.0).contains(&p), "{x} {df} {ncp} -> {p}");
        }
    }

    #[test]
    fn approximation_agrees_with_the_series_at_the_switch() {
        let ncp = 2.0 * SERIES_LIMIT;
        for df in [1.0, 24.0, 300.0] {
            let sd = (2.0 * df + 4.0 * ncp).sqrt();
            for z in [-1.645, 0.0, 1.645] {
                let x = df + ncp + z * sd;
                let (a, b) = (pnchisq_series(x, df, ncp), sankaran(x, df, ncp));
                assert!((a - b).abs() < 1e-6, "df {df} x {x}: {a} vs {b}");
            }
        }
    }
}

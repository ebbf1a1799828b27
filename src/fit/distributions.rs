//! The chi-square distribution, central and non-central, as R computes it.
//! statrs has the central one; the non-central CDF (needed for the RMSEA
//! interval and its p-values) is the Poisson mixture
//!
//!   P(x; k, lambda) = sum_j e^(-lambda/2) (lambda/2)^j / j!  P(x; k + 2j)
//!
//! summed outward from the largest Poisson weight until the terms vanish.
//! Only the central term needs an incomplete gamma function: the others
//! follow from P(x; k + 2) = P(x; k) - (x/2)^(k/2) e^(-x/2) / Gamma(k/2 + 1),
//! with the Poisson weights and those terms updated by one ratio per step.
//! Roots (the RMSEA interval, quantiles) are found by Brent's method.
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
    brent(|x| pchisq(x, df) - p, 0.0, hi).unwrap_or(f64::NAN)
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
    let hx = x / 2.0;
    let (lh, lhx) = (h.ln(), hx.ln());
    let j0 = h.floor() as i64;
    // at the centre: Poisson weight, central CDF, and log of the term
    // (x/2)^(k/2) e^(-x/2) / Gamma(k/2 + 1) that steps it to k + 2
    let k0 = df + 2.0 * j0 as f64;
    let w0 = (-h + j0 as f64 * lh - ln_gamma(j0 as f64 + 1.0)).exp();
    let p0 = pchisq(x, k0);
    let lt0 = k0 / 2.0 * lhx - hx - ln_gamma(k0 / 2.0 + 1.0);
    let mut sum = w0 * p0;
    // upward: P(k + 2) = P(k) - t(k), t(k + 2) = t(k) (x/2) / (k/2 + 1)
    let (mut w, mut pk, mut lt, mut k) = (w0, p0, lt0, k0);
    let mut j = j0;
    loop {
        pk = (pk - lt.exp()).max(0.0);
        lt += lhx - (k / 2.0 + 1.0).ln();
        k += 2.0;
        j += 1;
        w *= h / j as f64;
        let t = w * pk;
        sum += t;
        if (t < 1e-17 * sum.max(1e-300) && j > j0 + 5) || pk == 0.0 || j > j0 + 100_000 {
            break;
        }
    }
    // downward: t(k - 2) = t(k) (k/2) / (x/2), P(k - 2) = P(k) + t(k - 2)
    let (mut w, mut pk, mut lt, mut k) = (w0, p0, lt0, k0);
    let mut j = j0;
    while j > 0 {
        lt += (k / 2.0).ln() - lhx;
        k -= 2.0;
        pk = (pk + lt.exp()).min(1.0);
        w *= j as f64 / h;
        j -= 1;
        sum += w * pk;
        if w < 1e-17 && j < j0 - 5 {
            break;
        }
    }
    sum.min(1.0)
}

/// Root of a function on [lo, hi] whose ends bracket it, by Brent's method
/// (inverse quadratic interpolation with bisection as the safeguard), to
/// the precision of `bisect`; `None` when the ends do not bracket a root.
pub fn brent(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> Option<f64> {
    let (mut a, mut b) = (lo, hi);
    let (mut fa, mut fb) = (f(a), f(b));
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    if fa.signum() == fb.signum() || fa.is_nan() || fb.is_nan() {
        return None;
    }
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 0.5e-12 * (1.0 + b.abs());
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q) = if a == c {
                (2.0 * m * s, 1.0 - s)
            } else {
                let q = fa / fc;
                let r = fb / fc;
                (s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0)), (q - 1.0) * (r - 1.0) * (s - 1.0))
            };
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    Some(b)
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

    /// The recurrences against the plain Poisson mixture of central CDFs.
    #[test]
    fn noncentral_equals_the_mixture() {
        let mixture = |x: f64, df: f64, ncp: f64| {
            let h = ncp / 2.0;
            (0..2000)
                .map(|j| (-h + j as f64 * h.ln() - ln_gamma(j as f64 + 1.0)).exp() * pchisq(x, df + 2.0 * j as f64))
                .sum::<f64>()
        };
        for &(x, df, ncp) in &[
            (85.3, 24.0, 36.8),
            (5043.9, 4840.0, 120.0),
            (3.0, 2.0, 0.7),
            (300.0, 266.0, 900.0),
            (20.0, 1.0, 0.01),
        ] {
            let (a, b) = (pnchisq(x, df, ncp), mixture(x, df, ncp));
            assert!((a - b).abs() < 1e-12, "pnchisq({x}, {df}, {ncp}) = {a}, mixture {b}");
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

    #[test]
    fn brent_finds_roots() {
        let r = brent(|x| x * x - 2.0, 0.0, 2.0).unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-11);
        assert!(brent(|x| x - 3.0, 0.0, 2.0).is_none());
        let q = qchisq(0.95, 10.0);
        assert!((pchisq(q, 10.0) - 0.95).abs() < 1e-12);
    }
}

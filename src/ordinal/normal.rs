//! The normal distribution functions the three-stage statistics need, with
//! R's accuracy: the density and distribution function (via `libm::erfc`),
//! the quantile function by Wichura's algorithm AS 241 (what R's `qnorm`
//! uses), and the bivariate normal distribution function by Genz's method
//! (Drezner–Wesolowsky with Gauss–Legendre quadrature, the algorithm behind
//! R's `pbivnorm`, which lavaan calls), accurate to about 1e-15.

use std::f64::consts::{PI, SQRT_2};

const TWO_PI: f64 = 2.0 * PI;

/// Standard normal density.
pub fn dnorm(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    (-0.5 * x * x).exp() / (TWO_PI).sqrt()
}

/// Standard normal distribution function.
pub fn pnorm(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// Standard normal quantile function (AS 241, PPND16), as R's `qnorm`.
#[allow(clippy::excessive_precision)] // the published AS 241 coefficients, verbatim
pub fn qnorm(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// Standard bivariate normal density with correlation `r` (0 when either
/// argument is infinite).
pub fn dbinorm(x: f64, y: f64, r: f64) -> f64 {
    if x.is_infinite() || y.is_infinite() {
        return 0.0;
    }
    let s = 1.0 - r * r;
    (-(x * x - 2.0 * r * x * y + y * y) / (2.0 * s)).exp() / (TWO_PI * s.sqrt())
}

/// Gauss–Legendre nodes and weights of order 2m on [-1, 1]; only the m
/// negative nodes are returned (the rule is symmetric).
fn gauss_legendre_half(m: usize) -> Vec<(f64, f64)> {
    let n = 2 * m;
    let mut out = Vec::with_capacity(m);
    for i in 0..m {
        // Newton's method on P_n from the Chebyshev-like first guess
        let mut x = -(PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        out.push((x, w));
    }
    out
}

/// Gauss–Legendre rules of orders 2, 4, 6 and 8 on [-1, 1], each as its
/// (node, weight) pairs: the short rules `bivariate`'s Plackett updates
/// integrate the density over a small step of the correlation with.
pub(super) fn short_rules() -> &'static [Vec<(f64, f64)>; 4] {
    static RULES: std::sync::OnceLock<[Vec<(f64, f64)>; 4]> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        std::array::from_fn(|i| {
            let half = gauss_legendre_half(i + 1);
            half.iter().copied().chain(half.iter().map(|&(x, w)| (-x, w))).collect()
        })
    })
}

fn rules() -> &'static [Vec<(f64, f64)>; 3] {
    static RULES: std::sync::OnceLock<[Vec<(f64, f64)>; 3]> = std::sync::OnceLock::new();
    RULES.get_or_init(|| [gauss_legendre_half(3), gauss_legendre_half(6), gauss_legendre_half(10)])
}

/// The bivariate normal distribution function for one correlation r, with
/// everything that depends on r alone (the quadrature nodes mapped through
/// Genz's substitutions) computed once: a polychoric table evaluates it at
/// every corner with the same r.
pub struct Bvn {
    r: f64,
    kind: Kind,
}

enum Kind {
    /// |r| < 0.925: (weight, sin, 1 - sin^2) per node, and asin(r)
    Low { asr: f64, nodes: Vec<(f64, f64, f64)> },
    /// |r| >= 0.925 (|r| < 1): 1 - r^2, its root, and (weight, xs, rs) per node
    High { as_: f64, a: f64, nodes: Vec<(f64, f64, f64)> },
    /// |r| = 1
    One,
}

impl Bvn {
    pub fn new(r: f64) -> Bvn {
        let rule = &rules()[if r.abs() < 0.3 {
            0
        } else if r.abs() < 0.75 {
            1
        } else {
            2
        }];
        let kind = if r.abs() < 0.925 {
            let asr = r.asin();
            let mut nodes = Vec::with_capacity(2 * rule.len());
            for &(x, w) in rule {
                for s in [x, -x] {
                    let sn = (asr * (s + 1.0) / 2.0).sin();
                    nodes.push((w, sn, 1.0 - sn * sn));
                }
            }
            Kind::Low { asr, nodes }
        } else if r.abs() < 1.0 {
            let as_ = (1.0 - r) * (1.0 + r);
            let a = as_.sqrt();
            let mut nodes = Vec::with_capacity(2 * rule.len());
            for &(x, w) in rule {
                for s in [x, -x] {
                    let xs = (a / 2.0 * (s + 1.0)).powi(2);
                    nodes.push((w, xs, (1.0 - xs).sqrt()));
                }
            }
            Kind::High { as_, a, nodes }
        } else {
            Kind::One
        };
        Bvn { r, kind }
    }

    /// P(X < h, Y < k); h and k may be infinite.
    pub fn cdf(&self, h: f64, k: f64) -> f64 {
        self.cdf_at(Margin::new(h), Margin::new(k))
    }

    /// P(X < h.x, Y < k.x) with the margins' distribution functions
    /// given: a table of corners evaluates `pnorm` once per threshold
    /// instead of once per corner and correlation.
    pub fn cdf_at(&self, h: Margin, k: Margin) -> f64 {
        if h.x == f64::NEG_INFINITY || k.x == f64::NEG_INFINITY {
            return 0.0;
        }
        if h.x == f64::INFINITY {
            return k.p;
        }
        if k.x == f64::INFINITY {
            return h.p;
        }
        self.upper(-h.x, -k.x, h.p, k.p).clamp(0.0, 1.0)
    }

    /// P(X > h, Y > k) for finite h and k (Genz's BVNU), given
    /// `ph` = pnorm(-h) and `pk` = pnorm(-k).
    fn upper(&self, h: f64, k: f64, ph: f64, pk: f64) -> f64 {
        let r = self.r;
        let mut hk = h * k;
        let mut bvn = 0.0;
        match &self.kind {
            Kind::Low { asr, nodes } => {
                let hs = (h * h + k * k) / 2.0;
                for &(w, sn, c) in nodes {
                    bvn += w * ((sn * hk - hs) / c).exp();
                }
                return bvn * asr / (2.0 * TWO_PI) + ph * pk;
            }
            Kind::High { .. } | Kind::One => {}
        }
        let mut k = k;
        if r < 0.0 {
            k = -k;
            hk = -hk;
        }
        if let Kind::High { as_, a, nodes } = &self.kind {
            let (as_, a) = (*as_, *a);
            let bs = (h - k) * (h - k);
            let c = (4.0 - hk) / 8.0;
            let d = (12.0 - hk) / 16.0;
            bvn = a * (-(bs / as_ + hk) / 2.0).exp() * (1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0);
            if hk > -160.0 {
                let b = bs.sqrt();
                bvn -= (-hk / 2.0).exp() * TWO_PI.sqrt() * pnorm(-b / a) * b * (1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0);
            }
            let half = a / 2.0;
            for &(w, xs, rs) in nodes {
                let asr = -(bs / xs + hk) / 2.0;
                if asr > -100.0 {
                    bvn += half * w * asr.exp() * ((-hk * (1.0 - rs) / (2.0 * (1.0 + rs))).exp() / rs - (1.0 + c * xs * (1.0 + d * xs)));
                }
            }
            bvn = -bvn / TWO_PI;
        }
        if r > 0.0 {
            // pnorm(-max(h, k)); k is as given for r > 0
            bvn + if h >= k { ph } else { pk }
        } else {
            bvn = -bvn;
            if k > h {
                if h < 0.0 {
                    bvn += pnorm(k) - pnorm(h);
                } else {
                    bvn += pnorm(-h) - pnorm(-k);
                }
            }
            bvn
        }
    }
}

/// A bound of the bivariate normal's support with the standard normal
/// distribution function there, `p` = pnorm(x).
#[derive(Debug, Clone, Copy)]
pub struct Margin {
    pub x: f64,
    pub p: f64,
}

impl Margin {
    pub fn new(x: f64) -> Margin {
        Margin { x, p: pnorm(x) }
    }
}

/// P(X < h, Y < k) for a standard bivariate normal with correlation r;
/// h and k may be infinite.
pub fn pbinorm(h: f64, k: f64, r: f64) -> f64 {
    Bvn::new(r).cdf(h, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_inverts_the_distribution_function() {
        for p in [1e-300, 1e-10, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 - 1e-12] {
            let x = qnorm(p);
            assert!((pnorm(x) - p).abs() <= 1e-15_f64.max(p * 1e-13), "p = {p}");
        }
        assert!((qnorm(0.975) - 1.959963984540054).abs() < 1e-15);
    }

    #[test]
    fn bivariate_cdf_limits_and_known_values() {
        // P(X<0, Y<0) = 1/4 + asin(r)/(2 pi)
        for r in [-0.99, -0.9, -0.5, 0.0, 0.2, 0.6, 0.93, 0.999] {
            let exact = 0.25 + f64::asin(r) / TWO_PI;
            assert!((pbinorm(0.0, 0.0, r) - exact).abs() < 1e-15, "r = {r}");
        }
        // independence
        assert!((pbinorm(0.3, -1.2, 0.0) - pnorm(0.3) * pnorm(-1.2)).abs() < 1e-16);
        // the derivative with respect to r is the density (Plackett)
        for (h, k, r) in [(0.3, -0.7, 0.4), (-1.1, 0.2, 0.95), (1.5, 1.2, -0.96), (0.1, 0.4, -0.5)] {
            let e = 1e-6;
            let num = (pbinorm(h, k, r + e) - pbinorm(h, k, r - e)) / (2.0 * e);
            assert!((num - dbinorm(h, k, r)).abs() < 1e-8, "({h}, {k}, {r})");
        }
    }
}

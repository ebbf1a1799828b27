//! Standard errors under FIML as lavaan computes them by default with
//! `missing = "ml"` (`information = "observed"`, `observed.information =
//! "hessian"`): vcov = I_obs^-1 / N, with I_obs half the Hessian of the FIML
//! discrepancy (`estimate::fiml::observed_information`). A (near) singular
//! information matrix means the model is not identified; its smallest
//! eigenvector names the parameters involved, as for complete data (the same
//! scale-free check, `inference::invert_information`).

use super::robust::{inverse, inverse_nonzero, Robust};
use super::NotIdentified;
use crate::estimate::fiml::{expected_information, observed_information, FimlData};
use crate::estimate::h1::{casewise_scores, delta, h1_expected_missing, h1_observed_missing, Layout};
use crate::estimate::objective::GroupData;
use crate::model::ram::{Implied, Ram};
use crate::model::Model;
use nalgebra::DMatrix;

/// vcov of the free parameters from the observed information.
pub fn vcov(model: &Model, x: &[f64], f: &FimlData) -> Result<DMatrix<f64>, NotIdentified> {
    let info = observed_information(&model.ram, x, f).ok_or(NotIdentified { rows: vec![] })?;
    super::invert_information(model, x, &info, f.ntotal() as f64)
}

/// The observed- and expected-information standard errors of a parameter
/// may differ (they estimate the same thing only under a correct model and
/// large N), but a ratio beyond this, either way, is worth a warning: it
/// points to misspecification, an estimate on the boundary, or an
/// information matrix that could not be computed accurately.
pub const SE_RATIO_WARN: f64 = 1.5;

/// A warning naming the parameter whose observed-information SE (from
/// `vcov`) and expected-information SE (`estimate::fiml::expected_information`)
/// differ most, when they differ by more than `SE_RATIO_WARN`; None when
/// they agree or the expected information cannot be inverted.
pub fn check_against_expected(model: &Model, x: &[f64], f: &FimlData, vcov: &DMatrix<f64>) -> Option<String> {
    let info = expected_information(&model.ram, x, f)?;
    let exp = super::invert_information(model, x, &info, f.ntotal() as f64).ok()?;
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    for k in 0..vcov.nrows() {
        let (so, se) = (vcov[(k, k)].sqrt(), exp[(k, k)].sqrt());
        if !(so > 0.0 && se > 0.0) {
            continue;
        }
        let ratio = (so / se).max(se / so);
        if worst.is_none_or(|w| ratio > w.3) {
            worst = Some((k, so, se, ratio));
        }
    }
    let (k, so, se, ratio) = worst.filter(|w| w.3 > SE_RATIO_WARN)?;
    let what = model.ram.x_rows[k]
        .first()
        .map_or_else(|| format!("parameter {}", k + 1), |&r| super::describe(model, r));
    Some(format!(
        "the standard errors from the observed information (reported) and from the expected information differ by a factor of {ratio:.2} (more than {SE_RATIO_WARN}) for `{what}`: {so:.4} vs {se:.4}; the model may be misspecified or the solution near a boundary"
    ))
}

/// The rows FIML uses in a group (as `data::patterns::Patterns` keeps them:
/// at least one value, none missing on a fixed.x covariate), NaN for missing.
pub fn used_rows(ds: &crate::data::Dataset, rows: &[usize], xi: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|&i| ds.row(i))
        .filter(|r| r.iter().any(|v| !v.is_nan()) && xi.iter().all(|&k| !r[k].is_nan()))
        .map(|r| r.to_vec())
        .collect()
}

/// Per group, the unit first-order information of the saturated model at the
/// EM moments (lavaan's `lav_mvnorm_missing_information_firstorder`,
/// h1.information = "unstructured"), over the elements `lay` keeps.
pub fn h1_firstorder(rows: &[Vec<Vec<f64>>], data: &[GroupData], lay: &Layout) -> Option<Vec<DMatrix<f64>>> {
    rows.iter()
        .zip(data)
        .map(|(r, d)| casewise_scores(r, &d.mean, &d.cov, lay).map(|z| z.transpose() * &z / r.len() as f64))
        .collect()
}

/// The unit first-order information of the model under FIML (lavaan's
/// `information = "first.order"` with missing = "ml"): the mean outer
/// product of the casewise scores at the implied moments, chained through
/// Delta, sum_g (S_g'S_g) / N.
pub fn first_order_information(ram: &Ram, x: &[f64], rows: &[Vec<Vec<f64>>], xi: &[usize], ntot: f64) -> Option<DMatrix<f64>> {
    let lay = Layout::new(ram.p(), xi);
    let mut b0 = DMatrix::zeros(ram.nx, ram.nx);
    for (g, r) in rows.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let implied = Implied::new(&a, &s, &m, ram.p())?;
        let z = casewise_scores(r, &implied.mu, &implied.sigma, &lay)?;
        let s0 = z * delta(ram, g, x, &lay)?.select_rows(lay.keep.iter());
        b0 += s0.transpose() * &s0 / ntot;
    }
    Some(b0)
}

/// MLR under FIML (lavaan's estimator = "MLR", missing = "ml"; also
/// se = "robust.huber.white"): the Huber-White sandwich
/// H^-1 B0 H^-1 / N with H the unit `bread` (the observed information by
/// default, the expected one with information = "expected") and B0 the
/// mean outer product of the casewise scores (chained through Delta), and
/// the Yuan-Bentler (Mplus) trace sum_g tr(A1_g^-1 B1_g) - tr(H^-1 B0), A1
/// and B1 the observed (with `a1_expected`, as lavaan's information =
/// "expected": the expected) and first-order information of the saturated
/// model at the EM moments.
#[allow(clippy::too_many_arguments)]
pub fn mlr(
    ram: &Ram,
    x: &[f64],
    f: &FimlData,
    data: &[GroupData],
    rows: &[Vec<Vec<f64>>],
    xi: &[usize],
    bread: &DMatrix<f64>,
    a1_expected: bool,
) -> Robust {
    let none = Robust {
        vcov: None,
        trace: None,
        factors_h1_h0: None,
    };
    let ntot = f.ntotal() as f64;
    let Some(h_inv) = crate::estimate::constrained::constrained_inverse(ram, x, bread, inverse) else {
        return none;
    };
    let lay = Layout::new(ram.p(), xi);
    let Some(b1) = h1_firstorder(rows, data, &lay) else { return none };
    let Some(b0) = first_order_information(ram, x, rows, xi, ntot) else {
        return none;
    };
    let (mut trace, mut ndat) = (0.0, 0usize);
    for (g, d) in data.iter().enumerate() {
        let a1 = if a1_expected {
            h1_expected_missing(&f.patterns[g], &d.cov, &lay)
        } else {
            h1_observed_missing(&f.patterns[g], &d.mean, &d.cov, &lay)
        };
        let Some(a1) = a1 else {
            return none;
        };
        let Some((a1_inv, kept)) = inverse_nonzero(&lay.reduce(&a1)) else {
            return none;
        };
        trace += (&b1[g] * a1_inv).trace();
        ndat += kept;
    }
    let trace_h0 = (&b0 * &h_inv).trace();
    Robust {
        vcov: Some(&h_inv * b0 * &h_inv / ntot),
        trace: Some(trace - trace_h0),
        factors_h1_h0: Some((trace / ndat as f64, trace_h0)),
    }
}

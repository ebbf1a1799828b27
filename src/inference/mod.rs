//! Inference at the estimate: the covariance matrix of the estimates from
//! the expected information (lavaan's default for complete-data ML:
//! vcov = I(theta)^-1 / N, equality constraints honoured through the shared
//! free parameters), an identification check on that information matrix,
//! z-tests, normal confidence intervals, the delta method for defined
//! parameters (`defined`), the standardized solution (`standardize`), and
//! the nonparametric and Bollen-Stine bootstrap (`bootstrap`).

pub mod bootstrap;
pub mod defined;
pub mod effects;
pub mod eigen;
pub mod fiml;
pub mod modindices;
pub mod residuals;
pub mod robust;
pub mod standardize;
pub mod std_ordinal;
pub mod std_se;
pub mod validity;

use crate::estimate::objective::{expected_information, GroupData};
use crate::model::ram::Mat;
use crate::model::Model;
use nalgebra::DMatrix;
use statrs::distribution::{ContinuousCDF, Normal};

/// One row of lavaan's `parameterEstimates()`.
#[derive(Debug, Clone, Default)]
pub struct RowEstimate {
    pub est: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub pvalue: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    pub std_lv: Option<f64>,
    pub std_all: Option<f64>,
}

/// Fill one row's estimate, standard error, z, p-value and interval at
/// confidence `level` (for rows an estimator adds itself, as thresholds).
pub fn fill_row(r: &mut RowEstimate, est: f64, se: Option<f64>, level: f64) {
    let normal = Normal::new(0.0, 1.0).expect("the standard normal");
    let zq = normal.inverse_cdf(0.5 + level / 2.0);
    r.est = Some(est);
    r.se = se.map(|s| if s < f64::EPSILON.sqrt() { 0.0 } else { s });
    match r.se {
        Some(se) if se > 0.0 => {
            let z = est / se;
            r.z = Some(z);
            r.pvalue = Some(2.0 * (1.0 - normal.cdf(z.abs())));
            r.ci_lower = Some(est - zq * se);
            r.ci_upper = Some(est + zq * se);
        }
        Some(_) => {
            r.ci_lower = Some(est);
            r.ci_upper = Some(est);
        }
        None => {}
    }
}

/// Why standard errors could not be computed.
#[derive(Debug, Clone)]
pub struct NotIdentified {
    /// parameter-table rows involved in the (near) singularity
    pub rows: Vec<usize>,
}

/// Value of every parameter-table row at `x` (fixed rows at their value,
/// fixed.x rows at the sample value, constraint rows NaN).
pub fn row_values(model: &Model, x: &[f64]) -> Vec<f64> {
    let mut v = vec![f64::NAN; model.pt.rows.len()];
    for g in &model.ram.groups {
        for c in &g.cells {
            v[c.row] = c.x.map_or(c.fixed, |k| x[k]);
        }
    }
    v
}

/// vcov of the free parameters: I^-1 / N, or the rows that make I singular.
pub fn vcov(model: &Model, x: &[f64], data: &[GroupData]) -> Result<DMatrix<f64>, NotIdentified> {
    let ntot: usize = data.iter().map(|d| d.n).sum();
    let info = expected_information(&model.ram, x, data).ok_or(NotIdentified { rows: vec![] })?;
    invert_information(model, x, &info, ntot as f64)
}

/// info^-1 / n for a unit information matrix (expected or observed), or
/// the rows of the parameters in its (near) null space. The verdict is taken
/// on the correlation form, so it does not depend on the units the
/// variables are measured in.
///
/// Under general constraints (`crate::model::constraints`) the inverse is
/// the constrained one, K (K' I K)^-1 K' with K the directions the
/// constraints leave free at the estimate `x` (lavaan's bordered
/// information), and a null direction of K' I K is reported by the rows
/// it moves.
pub fn invert_information(model: &Model, x: &[f64], info: &DMatrix<f64>, n: f64) -> Result<DMatrix<f64>, NotIdentified> {
    match model.ram.constraints.as_deref().and_then(|c| c.basis_at(x)) {
        Some(k) => {
            let inv = invert_scaled(model, &(k.transpose() * info * &k), n, Some(&k))?;
            Ok(&k * inv * k.transpose())
        }
        None => invert_scaled(model, info, n, None),
    }
}

/// The rows a direction `v` of the (reduced, when `k`) parameters moves.
fn rows_moved(model: &Model, v: &[f64], k: Option<&DMatrix<f64>>) -> Vec<usize> {
    let w: Vec<f64> = match k {
        Some(k) => (k * nalgebra::DVector::from_column_slice(v)).iter().copied().collect(),
        None => v.to_vec(),
    };
    let max = w.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    (0..w.len())
        .filter(|&xi| w[xi].is_nan() || (w[xi].abs() > 0.1 * max.max(1e-300) && (k.is_some() || w[xi].abs() > 0.1)))
        .filter_map(|xi| model.ram.x_rows[xi].first().copied())
        .collect()
}

fn invert_scaled(model: &Model, info: &DMatrix<f64>, n: f64, k: Option<&DMatrix<f64>>) -> Result<DMatrix<f64>, NotIdentified> {
    let nx = info.nrows();
    if nx == 0 {
        return Ok(info.clone());
    }
    // test and invert the information in correlation form, D^-1/2 I D^-1/2,
    // so that the verdict does not depend on the scale of the variables (a
    // variable measured in thousands is not a reason to call a model
    // unidentified)
    let d: Vec<f64> = (0..nx).map(|k| info[(k, k)]).collect();
    let zero: Vec<usize> = (0..nx).filter(|&k| !(d[k] > 0.0 && d[k].is_finite())).collect();
    if !zero.is_empty() {
        // a parameter the data carry no information about at all
        let mut rows: Vec<usize> = zero
            .iter()
            .flat_map(|&z| {
                let mut e = vec![0.0; nx];
                e[z] = 1.0;
                rows_moved(model, &e, k)
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows.sort_unstable();
        return Err(NotIdentified { rows });
    }
    let scale: Vec<f64> = d.iter().map(|v| 1.0 / v.sqrt()).collect();
    let scaled = DMatrix::from_fn(nx, nx, |i, j| info[(i, j)] * scale[i] * scale[j]);
    // fast path: a Cholesky inverse, kept when it proves the scaled matrix well
    // conditioned: lambda_min >= 1 / ||S^-1||_F and lambda_max <= ||S||_F, so
    // 1 / ||S^-1||_F > 1e-10 ||S||_F implies the eigenvalue test below
    if let Some(chol) = crate::estimate::chol::Chol::new(&scaled) {
        let inner = chol.inverse();
        let (ninv, nsc) = (inner.norm(), scaled.norm());
        if ninv.is_finite() && nsc.is_finite() && 1.0 / ninv > 1e-10 * nsc {
            let inv = DMatrix::from_fn(nx, nx, |i, j| inner[(i, j)] * scale[i] * scale[j]);
            return Ok(inv / n);
        }
    }
    let eig = eigen::symmetric_eigen(&scaled);
    let max = eig.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (kmin, min) = eig
        .values
        .iter()
        .enumerate()
        .fold((0, f64::INFINITY), |acc, (k, v)| if *v < acc.1 { (k, *v) } else { acc });
    let tol = 1e-10 * max.max(1e-300);
    if min.is_nan() || min <= tol {
        // every direction of the (near) null space: a model can have several
        // unidentified parts (two factors with two indicators each)
        let mut rows: Vec<usize> = Vec::new();
        for (c, ev) in eig.values.iter().enumerate() {
            if !(ev.is_nan() || *ev <= tol) && c != kmin {
                continue;
            }
            let v: Vec<f64> = eig.vectors.column(c).iter().copied().collect();
            rows.extend(rows_moved(model, &v, k));
        }
        rows.sort_unstable();
        rows.dedup();
        return Err(NotIdentified { rows });
    }
    // I^-1 = D^-1/2 (scaled)^-1 D^-1/2, the inverse through the eigen decomposition
    let inner = eig.map(|v| 1.0 / v);
    let inv = DMatrix::from_fn(nx, nx, |i, j| inner[(i, j)] * scale[i] * scale[j]);
    Ok(inv / n)
}

/// lavaan's `parameterEstimates(standardized = TRUE)` for every row.
pub fn estimates(model: &Model, x: &[f64], vcov: Option<&DMatrix<f64>>, level: f64) -> (Vec<RowEstimate>, Vec<String>) {
    let mut warnings = Vec::new();
    let values = row_values(model, x);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let zq = normal.inverse_cdf(0.5 + level / 2.0);
    let (std_lv, std_all) = standardize::standardize(model, x);
    let mut out = vec![RowEstimate::default(); model.pt.rows.len()];
    let test = |est: f64, se: Option<f64>, r: &mut RowEstimate| {
        r.est = Some(est);
        r.se = se;
        match se {
            Some(se) if se > 0.0 && se.is_finite() => {
                let z = est / se;
                r.z = Some(z);
                r.pvalue = Some(2.0 * (1.0 - normal.cdf(z.abs())));
                r.ci_lower = Some(est - zq * se);
                r.ci_upper = Some(est + zq * se);
            }
            Some(0.0) => {
                r.ci_lower = Some(est);
                r.ci_upper = Some(est);
            }
            // an SE that cannot be computed: no z, p or interval either
            _ => r.se = None,
        }
    };
    for (i, row) in model.pt.rows.iter().enumerate() {
        if !matches!(row.op.as_str(), "=~" | "~" | "~~" | "~1") {
            continue;
        }
        let se = match model.x_of_row[i] {
            Some(k) => vcov.and_then(|v| {
                let var = v[(k, k)];
                if var >= 0.0 {
                    let s = var.sqrt();
                    Some(if s < f64::EPSILON.sqrt() { 0.0 } else { s })
                } else {
                    warnings.push(no_se(&describe(model, i), var));
                    None
                }
            }),
            None => Some(0.0),
        };
        test(values[i], se, &mut out[i]);
        out[i].std_lv = std_lv[i];
        out[i].std_all = std_all[i];
    }
    // lavaan: no p-value for a parameter on its lower() or upper() bound
    for b in &model.pt.bounds {
        let Some(est) = out[b.row].est else { continue };
        let on = |v: Option<f64>| v.is_some_and(|v| (est - v).abs() < f64::EPSILON.sqrt());
        if model.x_of_row[b.row].is_some() && (on(b.lower) || on(b.upper)) {
            out[b.row].pvalue = None;
        }
    }
    // defined parameters: delta method
    match defined::evaluate_definitions(model, &values) {
        Ok(defs) => {
            let std_eval = |vals: &[Option<f64>]| {
                let v: Vec<f64> = vals.iter().map(|o| o.unwrap_or(f64::NAN)).collect();
                defined::evaluate_definitions(model, &v).ok()
            };
            let slv = std_eval(&std_lv);
            let sall = std_eval(&std_all);
            for (k, (row, d)) in defs.iter().enumerate() {
                // scale-safe: `1e200*a` neither overflows nor `1e-170*a` underflows
                let se = vcov.and_then(|v| match defined::delta_se(&d.d, v) {
                    // a definition the constraints pin down: no sampling
                    // variance (lavaan: below sqrt(eps) is 0)
                    Ok(Some(se)) if se < f64::EPSILON.sqrt() && model.ram.constraints.is_some() => Some(0.0),
                    Ok(Some(se)) => Some(se),
                    Ok(None) => {
                        if d.v.is_finite() {
                            warnings.push(format!(
                                "the standard error of `{}` could not be computed: it is beyond the range of floating-point numbers",
                                describe(model, *row)
                            ));
                        }
                        None
                    }
                    Err(var) if var.abs() < f64::EPSILON && model.ram.constraints.is_some() => Some(0.0),
                    Err(var) => {
                        if d.v.is_finite() {
                            warnings.push(no_se(&describe(model, *row), var));
                        }
                        None
                    }
                });
                if d.v.is_finite() {
                    test(d.v, se, &mut out[*row]);
                } else {
                    warnings.push(format!(
                        "the defined parameter `{}` could not be evaluated at the estimates",
                        model.pt.rows[*row].lhs
                    ));
                }
                let fin = |x: f64| x.is_finite().then_some(x);
                out[*row].std_lv = slv.as_ref().and_then(|s| fin(s[k].1.v));
                out[*row].std_all = sall.as_ref().and_then(|s| fin(s[k].1.v));
            }
        }
        Err(e) => warnings.push(format!("defined parameters could not be evaluated: {e}")),
    }
    (out, warnings)
}

/// A parameter-table row as it reads in the model: `f =~ x1`, `ind := a*b`.
pub fn describe(model: &Model, r: usize) -> String {
    let row = &model.pt.rows[r];
    format!("{} {} {}", row.lhs, row.op, row.rhs).trim().to_string()
}

fn no_se(what: &str, var: f64) -> String {
    let why = if var.is_nan() {
        "its sampling variance is not a number".to_string()
    } else {
        format!("its sampling variance is negative ({var:.3e})")
    };
    format!(
        "the standard error of `{what}` could not be computed: {why}; the solution may be inadmissible or the model nearly not identified"
    )
}

/// Warnings for an inadmissible solution at `x`, as lavaan's
/// `lav_object_post_check`: negative variances (Heywood cases), per group a
/// model-implied covariance matrix of the latent variables that is not
/// positive definite (checked when no latent variance is negative) and a
/// residual covariance matrix of the observed variables, Theta, that is not
/// positive definite (checked when no observed variance is negative); and,
/// beyond lavaan, correlations beyond +-1 among latent variables or
/// residuals, which name the culprit.
pub fn admissibility(model: &Model, x: &[f64]) -> Vec<String> {
    admissibility_in(model, x, &crate::data::groups::GroupLabels::default())
}

/// `admissibility` with each group named by its value in the group column.
pub fn admissibility_in(model: &Model, x: &[f64], labels: &crate::data::groups::GroupLabels) -> Vec<String> {
    let mut out = Vec::new();
    let values = row_values(model, x);
    let negative = negative_variances(model, x);
    let p = model.ram.p();
    let var_of = |r: usize| model.ram.index(&model.pt.rows[r].lhs);
    let ov_negative = negative.iter().any(|&r| var_of(r).is_some_and(|i| i < p));
    let lv_negative = negative.iter().any(|&r| var_of(r).is_some_and(|i| i >= p));
    // lavaan's tolerance for a negative eigenvalue
    let tol = f64::EPSILON.powf(0.75);
    for g in (0..model.ram.groups.len()).filter(|_| !ov_negative) {
        let (_, s, _) = model.ram.matrices(g, x);
        let theta = s.view((0, 0), (p, p)).into_owned();
        if p == 0 || theta.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let min = eigen::symmetric_eigen(&theta).values.iter().fold(f64::INFINITY, |m, v| m.min(*v));
        if min < -tol {
            let in_group = labels.in_group(g, model.ram.groups.len());
            out.push(format!(
                "the covariance matrix of the residuals of the observed variables (theta){in_group} is not positive definite (smallest eigenvalue {min:.4}): an inadmissible solution; look for a residual covariance with a variable whose residual variance is small, zero or fixed"
            ));
        }
    }
    for r in negative {
        let in_group = labels.in_group(model.pt.rows[r].group.max(1) - 1, model.ram.groups.len());
        out.push(format!(
            "the variance of `{}`{in_group} is negative ({:.4}): an inadmissible solution (Heywood case)",
            model.pt.rows[r].lhs, values[r]
        ));
    }
    let ram = &model.ram;
    let p = ram.p();
    let ngroups = ram.groups.len();
    for (g, gm) in ram.groups.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let in_group = labels.in_group(g, ngroups);
        for c in &gm.cells {
            if c.mat != Mat::S || c.i == c.j {
                continue;
            }
            let (vi, vj) = (s[(c.i, c.i)], s[(c.j, c.j)]);
            if vi > 0.0 && vj > 0.0 {
                let r = s[(c.i, c.j)] / (vi * vj).sqrt();
                if r.abs() > 1.0 + 1e-8 {
                    out.push(format!(
                        "`{}`: the estimated correlation is {r:.3}{in_group}, beyond ±1: an inadmissible solution",
                        describe(model, c.row)
                    ));
                }
            }
        }
        let nlv = ram.lv.len();
        if nlv == 0 || lv_negative {
            continue;
        }
        let Some(imp) = crate::model::ram::Implied::new(&a, &s, &m, p) else {
            continue;
        };
        let cov_lv = imp.c.view((p, p), (nlv, nlv)).into_owned();
        if cov_lv.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let eig = eigen::symmetric_eigen(&cov_lv).values;
        let max = eig.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let min = eig.iter().fold(f64::INFINITY, |m, v| m.min(*v));
        // lavaan's threshold: an eigenvalue below -eps^(3/4)
        if min < -tol * max {
            out.push(format!(
                "the model-implied covariance matrix of the latent variables{in_group} is not positive definite (smallest eigenvalue {min:.4}): an inadmissible solution; look for a negative variance or a correlation beyond ±1 among {}",
                ram.lv.join(", ")
            ));
        }
    }
    out
}

/// lavaan's warning when the covariance matrix of the estimates is not
/// positive definite: its smallest eigenvalue is below eps^(3/4) (a symptom
/// of a model that is not or barely identified).
pub fn vcov_warning(vcov: &DMatrix<f64>) -> Option<String> {
    if vcov.nrows() == 0 || vcov.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // the usual case first: a Cholesky factor of V - s I (s well above the
    // threshold and the rounding of the factorization) proves every
    // eigenvalue larger than the threshold, at a fraction of the cost of
    // the eigenvalues; otherwise the eigenvalues decide
    let n = vcov.nrows();
    let scale = vcov.diagonal().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let shift = 2.0 * f64::EPSILON.powf(0.75) + 1e3 * n as f64 * f64::EPSILON * scale;
    let sym = (vcov + vcov.transpose()) * 0.5 - DMatrix::identity(n, n) * shift;
    if sym.cholesky().is_some() {
        return None;
    }
    // eigenvalues only: nalgebra's QR iteration is exact enough for them and
    // much faster than Jacobi on a vcov of a hundred parameters and more
    // (dimforge/nalgebra#1109 pairs eigenvectors wrongly, not eigenvalues)
    let min = vcov.symmetric_eigenvalues().iter().fold(f64::INFINITY, |m, v| m.min(*v));
    (min < f64::EPSILON.powf(0.75)).then(|| {
        format!(
            "the covariance matrix of the estimates (vcov) does not appear to be positive definite: its smallest eigenvalue ({min:.3e}) is {} zero; the model may not be identified",
            if min > 0.0 { "close to" } else { "smaller than" }
        )
    })
}

/// `vcov_warning` on the directions the constraints leave free at x (K' V K):
/// under constraints the vcov of all free parameters is singular by design.
pub fn vcov_warning_at(model: &Model, x: &[f64], vcov: &DMatrix<f64>) -> Option<String> {
    match model.ram.constraints.as_deref().and_then(|c| c.basis_at(x)) {
        Some(k) => vcov_warning(&(k.transpose() * vcov * &k)),
        None => vcov_warning(vcov),
    }
}

/// Free parameter values of the variance rows that are negative (Heywood cases).
pub fn negative_variances(model: &Model, x: &[f64]) -> Vec<usize> {
    let mut out = vec![];
    for g in &model.ram.groups {
        for c in &g.cells {
            if c.mat == Mat::S && c.i == c.j {
                if let Some(k) = c.x {
                    if x[k] < 0.0 {
                        out.push(c.row);
                    }
                }
            }
        }
    }
    out
}

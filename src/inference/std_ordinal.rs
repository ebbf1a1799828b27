//! The analytic Jacobian of the standardized solution of an ordinal fit
//! (the values `crate::estimator::Fitting::std_all_at` gives for the WLS
//! family), for the delta-method `std_all_se`. Central differences took two
//! implied-moments passes and two standardizations per free parameter,
//! about a fifth of a whole WLSMV run on 25 items; here the derivatives
//! come from one pass.
//!
//! With B = (I - A)^-1 and C = B S B' (the delta parameterization's
//! residual variances theta of the latent responses filled in), a free
//! parameter moves the variances C_vv by 2 B_vi C_jv (A_ij), B_vi^2 (S_ii)
//! or 2 B_vi B_vj (S_ij); in the delta parameterization theta then moves so
//! that the latent responses keep their variances 1/Delta_j^2:
//! M dtheta = d(1/Delta^2) - dC_jj over the ordinal variables (M_jl = B_jl^2),
//! adding sum_l dtheta_l B_vl^2 to dC_vv. The std.all values are the raw
//! values over standard deviations (`crate::inference::standardize`), a
//! threshold is tau_j Delta_j (Delta_j = 1/sd(y*_j) in the theta
//! parameterization), a scale factor is 1; their derivatives follow by the
//! product rule. Defined (`:=`) rows are differentiated along each column
//! of the Jacobian of the rows they use (directional central differences of
//! the definitions only).

use super::std_se::with_definitions;
use crate::estimate::wls::{implied_moments, scales, Value, WlsGroup};
use crate::model::ram::Mat;
use crate::model::Model;
use nalgebra::DMatrix;

/// d std.all / d x (parameter-table rows x free parameters) at `x`, for
/// the std.all values `base` of `std_all_at` (definitions included);
/// `None` when the implied moments do not exist, a latent response has
/// no residual-variance cell to standardize, or the statistics are
/// conditional on covariates (then central differences).
pub fn jacobian(model: &Model, groups: &[WlsGroup], x: &[f64], base: &[f64]) -> Option<DMatrix<f64>> {
    let nx = x.len();
    // conditional.x: the statistics are given the covariates, std.all is not;
    // central differences of `std_all_at` (which knows both) instead
    if groups.iter().any(|g| !g.lay.x.is_empty()) {
        return None;
    }
    let nrows = model.pt.rows.len();
    let ram = &model.ram;
    let nv = ram.nv();
    let mut jac = DMatrix::zeros(nrows, nx);
    for grp in groups {
        let lay = &grp.lay;
        let cells = &ram.groups[lay.group].cells;
        let (imp, theta) = implied_moments(model, lay, x)?;
        let d = scales(lay, &imp, x);
        let (b, c) = (&imp.b, &imp.c);
        let ord_pos = |i: usize| lay.ord.iter().position(|&j| j == i);
        // the latent-response residual variances that follow from x
        // (delta parameterization: fixed S diagonal cells of ordinal variables)
        let follows = |mat: Mat, i: usize, j: usize, free: bool| !lay.theta && mat == Mat::S && i == j && !free && ord_pos(i).is_some();
        if !lay.theta {
            let covered = lay
                .ord
                .iter()
                .all(|&j| cells.iter().any(|cl| cl.mat == Mat::S && cl.i == j && cl.j == j && cl.x.is_none()));
            if !covered {
                return None;
            }
        }
        // d C_vv / d x, before the delta parameterization's theta moves
        let mut dcd = DMatrix::<f64>::zeros(nv, nx);
        for cell in cells {
            let Some(k) = cell.x else { continue };
            let (i, j) = (cell.i, cell.j);
            let mut col = dcd.column_mut(k);
            match cell.mat {
                Mat::A => {
                    for r in 0..nv {
                        col[r] += 2.0 * b[(r, i)] * c[(j, r)];
                    }
                }
                // a free latent-response variance that theta overrides
                Mat::S if !lay.theta && i == j && ord_pos(i).is_some() => {}
                Mat::S => {
                    let t = if i == j { 1.0 } else { 2.0 };
                    for r in 0..nv {
                        col[r] += t * b[(r, i)] * b[(r, j)];
                    }
                }
                Mat::M => {}
            }
        }
        // d Delta_j / d x (observed variables)
        let p = ram.p();
        let mut dd = DMatrix::<f64>::zeros(p, nx);
        // d theta / d x (ordinal variables, delta parameterization)
        let mut dth = DMatrix::<f64>::zeros(lay.ord.len(), nx);
        if !lay.theta {
            for (j, v) in lay.scale.iter().enumerate() {
                if let Value::Free(k) = v {
                    dd[(j, *k)] += 1.0;
                }
            }
            let ko = lay.ord.len();
            if ko > 0 {
                let mm = DMatrix::from_fn(ko, ko, |a, l| b[(lay.ord[a], lay.ord[l])].powi(2));
                let mut rhs = DMatrix::zeros(ko, nx);
                for (a, &j) in lay.ord.iter().enumerate() {
                    for k in 0..nx {
                        rhs[(a, k)] = -2.0 * dd[(j, k)] / d[j].powi(3) - dcd[(j, k)];
                    }
                }
                dth = mm.lu().solve(&rhs)?;
                let b2 = DMatrix::from_fn(nv, ko, |r, l| b[(r, lay.ord[l])].powi(2));
                dcd += b2 * &dth;
            }
        } else {
            for j in 0..p {
                let f = -0.5 * c[(j, j)].powf(-1.5);
                for k in 0..nx {
                    dd[(j, k)] = f * dcd[(j, k)];
                }
            }
        }
        // a cell's value and its derivative as `standardize` sees them
        let value = |cl: &crate::model::ram::Cell| match cl.x {
            Some(k) => x[k],
            None if follows(cl.mat, cl.i, cl.j, false) => theta[ord_pos(cl.i).expect("ordinal")],
            None => cl.fixed,
        };
        // where a cell's derivative comes from, decided once per cell (not
        // per parameter): its own parameter, a row of d theta, or nowhere
        let dsource = |cl: &crate::model::ram::Cell| match cl.x {
            Some(kk) => DSource::Own(kk),
            None if follows(cl.mat, cl.i, cl.j, false) => DSource::Theta(ord_pos(cl.i).expect("ordinal")),
            None => DSource::Fixed,
        };
        let dget = |src: DSource, k: usize| match src {
            DSource::Own(kk) => f64::from(u8::from(kk == k)),
            DSource::Theta(a) => dth[(a, k)],
            DSource::Fixed => 0.0,
        };
        let mut sdiag = vec![0.0; nv];
        let mut dsdiag: Vec<Option<&crate::model::ram::Cell>> = vec![None; nv];
        for cl in cells.iter().filter(|cl| cl.mat == Mat::S && cl.i == cl.j) {
            sdiag[cl.i] = value(cl);
            dsdiag[cl.i] = Some(cl);
        }
        let dssrc: Vec<DSource> = dsdiag.iter().map(|c| c.map_or(DSource::Fixed, &dsource)).collect();
        let ds = |i: usize, k: usize| dget(dssrc[i], k);
        for cl in cells {
            let (i, j, val) = (cl.i, cl.j, value(cl));
            let src = dsource(cl);
            let dvalue = |_: &crate::model::ram::Cell, k: usize| dget(src, k);
            let mut row = jac.row_mut(cl.row);
            match cl.mat {
                Mat::A => {
                    let (cii, cjj) = (c[(i, i)], c[(j, j)]);
                    let ratio = (cjj / cii).sqrt();
                    let f = val * ratio;
                    for k in 0..nx {
                        row[k] = ratio * dvalue(cl, k) + f * (0.5 * dcd[(j, k)] / cjj - 0.5 * dcd[(i, k)] / cii);
                    }
                }
                Mat::S if i == j => {
                    let cii = c[(i, i)];
                    let f = val / cii;
                    for k in 0..nx {
                        row[k] = dvalue(cl, k) / cii - f * dcd[(i, k)] / cii;
                    }
                }
                Mat::S => {
                    let den = (sdiag[i].abs() * sdiag[j].abs()).sqrt();
                    let f = val / den;
                    for k in 0..nx {
                        row[k] = dvalue(cl, k) / den - f * (0.5 * ds(i, k) / sdiag[i] + 0.5 * ds(j, k) / sdiag[j]);
                    }
                }
                Mat::M => {
                    let cii = c[(i, i)];
                    let f = val / cii.sqrt();
                    for k in 0..nx {
                        row[k] = dvalue(cl, k) / cii.sqrt() - 0.5 * f * dcd[(i, k)] / cii;
                    }
                }
            }
        }
        // thresholds tau Delta_j
        for (e, &(j, r, v)) in lay.th.iter().enumerate() {
            if lay.is_mean(e) {
                continue;
            }
            let tau = v.at(x);
            let mut row = jac.row_mut(r);
            for k in 0..nx {
                row[k] = tau * dd[(j, k)];
            }
            if let Value::Free(k) = v {
                row[k] += d[j];
            }
        }
    }
    // scale factors: std.all 1
    for (r, row) in model.pt.rows.iter().enumerate() {
        if row.op == "~*~" {
            jac.row_mut(r).fill(0.0);
        }
    }
    // defined rows: central differences of the definitions along each
    // column of the Jacobian of the other rows
    let defs: Vec<usize> = (0..nrows).filter(|&r| model.pt.rows[r].op == ":=").collect();
    if !defs.is_empty() {
        for &r in &defs {
            jac.row_mut(r).fill(0.0);
        }
        for k in 0..nx {
            let h = 1e-5 * x[k].abs().max(1.0);
            let at = |s: f64| {
                let v: Vec<f64> = base.iter().enumerate().map(|(r, b)| b + s * h * jac[(r, k)]).collect();
                with_definitions(model, v)
            };
            let (up, down) = (at(1.0), at(-1.0));
            for &r in &defs {
                jac[(r, k)] = (up[r] - down[r]) / (2.0 * h);
            }
        }
    }
    Some(jac)
}

/// The source of a cell's derivative in `jacobian`.
#[derive(Clone, Copy)]
enum DSource {
    /// its own free parameter
    Own(usize),
    /// a fixed latent-response variance of the delta parameterization: row
    /// of d theta / d x
    Theta(usize),
    /// fixed
    Fixed,
}

/// `std_all_se` per row from the std.all values, their Jacobian and the
/// vcov: sqrt(J V J') row by row over the row's nonzeros (a threshold's
/// std.all moves with one parameter, a loading's with the variances it is
/// scaled by); `None` where the value or a derivative is not finite or the
/// variance is negative beyond rounding; zero below sqrt(machine epsilon),
/// as lavaan.
pub fn se_from_jacobian(base: &[f64], jac: &DMatrix<f64>, vcov: &DMatrix<f64>) -> Vec<Option<f64>> {
    let nx = jac.ncols();
    let mut nz: Vec<(usize, f64)> = Vec::with_capacity(nx);
    // the rows of J as contiguous columns of J' (one pass each, not strided
    // twice); the columns of the vcov as slices
    let jt = jac.transpose();
    let (jt, v) = (jt.as_slice(), vcov.as_slice());
    let nv = vcov.nrows();
    (0..jac.nrows())
        .map(|r| {
            if !base.get(r).is_some_and(|v| v.is_finite()) {
                return None;
            }
            nz.clear();
            for (k, &jk) in jt[r * nx..(r + 1) * nx].iter().enumerate() {
                if !jk.is_finite() {
                    return None;
                }
                if jk != 0.0 {
                    nz.push((k, jk));
                }
            }
            let var: f64 = nz
                .iter()
                .map(|&(b, jb)| {
                    let vb = &v[b * nv..(b + 1) * nv];
                    nz.iter().map(|&(a, ja)| ja * vb[a]).sum::<f64>() * jb
                })
                .sum();
            if var.is_nan() || var < -1e-12 {
                return None;
            }
            let se = var.max(0.0).sqrt();
            Some(if se < f64::EPSILON.sqrt() { 0.0 } else { se })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use crate::inference::std_se::std_all_se_by;
    use clap::Parser;
    use nalgebra::DMatrix;
    use std::path::Path;

    /// The analytic std_all_se equals the central differences of
    /// `std_all_at` (what it replaced) on every ordinal fixture (delta and
    /// theta, free scale factors and means, mixed, two groups with
    /// equalities) and on one with a defined parameter, at the estimates
    /// and an arbitrary positive definite vcov.
    #[test]
    fn analytic_std_all_se_equals_central_differences() {
        let dir = Path::new("tests/fixtures/ordinal");
        let mut cases: Vec<(String, Option<String>)> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("args").exists())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), None))
            .collect();
        cases.sort();
        let defined = "f1 =~ x1 + a*x2 + x3\nf2 =~ x4 + b*x5 + x6\nf3 =~ x7 + x8 + x9\nab := a*b\n";
        cases.push(("hs4_wlsmv".into(), Some(defined.into())));
        let tmp = std::env::temp_dir().join(format!("sem_std_ordinal_{}.lav", std::process::id()));
        let (mut analytic_cases, mut with_covariates) = (0, 0);
        for (case, model) in cases {
            let d = dir.join(&case);
            let model_path = match &model {
                Some(text) => {
                    std::fs::write(&tmp, text).unwrap();
                    tmp.clone()
                }
                None => d.join("model.lav"),
            };
            let args = std::fs::read_to_string(d.join("args")).unwrap();
            let mut argv: Vec<String> = vec![
                "sem".into(),
                "fit".into(),
                model_path.display().to_string(),
                d.join("data.csv").display().to_string(),
            ];
            argv.extend(args.split_whitespace().map(String::from));
            let Command::Fit(a) = Cli::try_parse_from(&argv).unwrap().command else {
                unreachable!()
            };
            let opt = a.options().unwrap();
            let prep = crate::pipeline::prepare(&a.model, &a.data, &opt).unwrap();
            let est = crate::estimator::select_for(&opt, true).unwrap();
            let mut warnings = Vec::new();
            let mut fit = est.bind(&prep, &opt, &mut warnings);
            let x = fit.estimate().x;
            let nx = x.len();
            let l = DMatrix::from_fn(
                nx,
                nx,
                |i, j| if j <= i { 0.01 + 0.005 * ((i * 3 + j * 5) % 7) as f64 } else { 0.0 },
            );
            let v = &l * l.transpose();
            let nrows = prep.model.pt.rows.len();
            let Some(analytic) = fit.std_all_se(&x, &v) else {
                // conditional.x fits fall back to central differences by design
                assert!(!prep.model.ram.x_ov.is_empty(), "{case}: no analytic std_all_se");
                with_covariates += 1;
                continue;
            };
            analytic_cases += 1;
            let numeric = std_all_se_by(nrows, &x, &v, |x| fit.std_all_at(x).unwrap_or_default());
            let mut compared = 0;
            for (r, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
                match (a, n) {
                    (Some(a), Some(n)) => {
                        assert!((a - n).abs() <= 1e-6 * n.abs().max(1e-3), "{case} row {r}: {a} vs {n}");
                        compared += 1;
                    }
                    (None, None) => {}
                    _ => panic!("{case} row {r}: {a:?} vs {n:?}"),
                }
            }
            assert!(compared >= nx, "{case}: {compared} rows compared");
            if model.is_some() {
                let r = prep.model.pt.rows.iter().position(|r| r.op == ":=").unwrap();
                assert!(analytic[r].is_some_and(|s| s > 0.0), "{case}: defined row {:?}", analytic[r]);
            }
        }
        let _ = std::fs::remove_file(&tmp);
        assert!(
            analytic_cases >= 18 && with_covariates >= 1,
            "{analytic_cases} analytic, {with_covariates} with covariates"
        );
    }
}

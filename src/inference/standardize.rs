//! The standardized solution as lavaan computes it (`standardizedSolution`,
//! columns std.lv and std.all). With C = B S B' the implied covariance of
//! all variables, sd(v) = sqrt(C_vv). std.lv rescales latent variables only,
//! std.all every variable:
//!
//!   f =~ y   lambda sd(f) [/ sd(y)]
//!   y ~ x    beta sd(x) / sd(y)        (each side only if it is rescaled)
//!   v ~~ v   psi / sd(v)^2
//!   a ~~ b   psi_ab / sqrt(|psi_aa| |psi_bb|)  (the raw residual variances:
//!            a residual correlation)
//!   v ~1     alpha / sd(v)

use crate::model::ram::Mat;
use crate::model::Model;

/// (std_lv, std_all) per parameter-table row.
pub fn standardize(model: &Model, x: &[f64]) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let n = model.pt.rows.len();
    let mut slv = vec![None; n];
    let mut sall = vec![None; n];
    let ram = &model.ram;
    let p = ram.p();
    for (g, gm) in ram.groups.iter().enumerate() {
        let (a, s, m) = ram.matrices(g, x);
        let Some(imp) = crate::model::ram::Implied::new(&a, &s, &m, p) else {
            continue;
        };
        let sd = |v: usize| {
            let c = imp.c[(v, v)];
            (c > 0.0).then(|| c.sqrt())
        };
        let is_lv = |v: usize| v >= p;
        // scale factor of a variable in std.lv (latent only) and std.all (all)
        let f_lv = |v: usize| if is_lv(v) { sd(v) } else { Some(1.0) };
        let f_all = |v: usize| sd(v);
        for c in &gm.cells {
            let val = c.x.map_or(c.fixed, |k| x[k]);
            let (lv, all) = match c.mat {
                Mat::A => {
                    // A(i, j): effect of j on i; value * sd(j) / sd(i)
                    let one = |f: &dyn Fn(usize) -> Option<f64>| Some(val * f(c.j)? / f(c.i)?);
                    (one(&f_lv), one(&f_all))
                }
                Mat::S if c.i == c.j => {
                    let one = |f: &dyn Fn(usize) -> Option<f64>| Some(val / (f(c.i)? * f(c.i)?));
                    (one(&f_lv), one(&f_all))
                }
                Mat::S => {
                    let (vi, vj) = (s[(c.i, c.i)], s[(c.j, c.j)]);
                    let corr = (vi.abs() * vj.abs() > 0.0).then(|| val / (vi.abs() * vj.abs()).sqrt());
                    // std.lv touches a covariance only when both sides are latent
                    let lv = if is_lv(c.i) && is_lv(c.j) {
                        corr
                    } else if !is_lv(c.i) && !is_lv(c.j) {
                        Some(val)
                    } else {
                        let l = if is_lv(c.i) { c.i } else { c.j };
                        sd(l).map(|s| val / s)
                    };
                    (lv, corr)
                }
                Mat::M => {
                    let one = |f: &dyn Fn(usize) -> Option<f64>| Some(val / f(c.i)?);
                    (one(&f_lv), one(&f_all))
                }
            };
            slv[c.row] = lv.filter(|v| v.is_finite());
            sall[c.row] = all.filter(|v| v.is_finite());
        }
    }
    (slv, sall)
}

//! The analytic gradient and the rank-two expected information against
//! finite differences, on models that exercise every kind of RAM cell
//! (loadings, regressions among latent and observed variables, variances,
//! covariances, intercepts, shared labels, fixed.x covariates).

use sem::data::{read_csv, CsvOptions, SampleStats};
use sem::estimate::objective::{expected_information, gradient, objective, GroupData};
use sem::estimate::start::{bind_fixed_x, default_start};
use sem::model::{Model, TableOptions};
use std::path::Path;

fn setup(model: &str, data: &str, meanstructure: bool) -> (Model, Vec<GroupData>, Vec<f64>) {
    let syn = sem::syntax::parse(model).unwrap();
    let mut m = Model::new(
        &syn,
        &TableOptions {
            meanstructure,
            ..TableOptions::sem()
        },
    )
    .unwrap();
    let ds = read_csv(Path::new(data), &m.ram.ov, None, &CsvOptions::default()).unwrap();
    let gd = vec![GroupData::new(&SampleStats::listwise(&ds, None).unwrap())];
    bind_fixed_x(&mut m, &gd);
    // a point away from the optimum, so the gradient is not zero
    let x: Vec<f64> = default_start(&m, &gd, false)
        .iter()
        .enumerate()
        .map(|(i, v)| v * (1.0 + 0.05 * ((i % 5) as f64 - 2.0)) + 0.01)
        .collect();
    (m, gd, x)
}

fn check_gradient(model: &str, data: &str, meanstructure: bool) {
    let (m, gd, x) = setup(model, data, meanstructure);
    let g = gradient(&m.ram, &x, &gd).unwrap();
    for k in 0..x.len() {
        let h = 1e-6 * (1.0 + x[k].abs());
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[k] += h;
        xm[k] -= h;
        let fd = (objective(&m.ram, &xp, &gd) - objective(&m.ram, &xm, &gd)) / (2.0 * h);
        assert!(
            (fd - g[k]).abs() < 1e-6 * (1.0 + fd.abs()),
            "parameter {k}: analytic {} vs numeric {fd}",
            g[k]
        );
    }
}

const POLDEM: &str = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + a*y2 + b*y3 + c*y4\ndem65 =~ y5 + a*y6 + b*y7 + c*y8\n\
dem60 ~ ind60\ndem65 ~ ind60 + dem60\ny1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8\n";

#[test]
fn gradient_matches_finite_differences() {
    check_gradient(POLDEM, "data/PoliticalDemocracy.csv", false);
    check_gradient(POLDEM, "data/PoliticalDemocracy.csv", true);
    check_gradient("y1 ~ x1 + x2\ny5 ~ y1 + x1\n", "data/PoliticalDemocracy.csv", true);
}

/// For ML, the expected information at a perfectly fitting point equals
/// half the Hessian of F; at the saturated path model (df = 0) the estimate
/// fits exactly, so a numeric Hessian of F there checks the information.
#[test]
fn information_is_half_the_hessian_at_perfect_fit() {
    let (m, gd, _) = setup("y1 ~ x1 + x2\ny5 ~ y1 + x1 + x2\n", "data/PoliticalDemocracy.csv", false);
    let est = sem::estimate::estimate(&m, &gd, 1000);
    assert!(est.converged && est.fmin < 1e-12);
    let x = est.x;
    let info = expected_information(&m.ram, &x, &gd).unwrap();
    let n = x.len();
    for a in 0..n {
        for b in 0..n {
            let h = 1e-4;
            let f = |da: f64, db: f64| {
                let mut y = x.clone();
                y[a] += da;
                y[b] += db;
                objective(&m.ram, &y, &gd)
            };
            let hess = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4.0 * h * h);
            assert!(
                (hess / 2.0 - info[(a, b)]).abs() < 1e-4 * (1.0 + info[(a, b)].abs()),
                "({a},{b}): {} vs {}",
                hess / 2.0,
                info[(a, b)]
            );
        }
    }
}

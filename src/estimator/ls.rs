//! Least squares on continuous data, GLS and ULS, as lavaan: the
//! objective, weights and standard errors are in `crate::estimate::ls`.
//! The baseline model is the independence model fitted by the same
//! estimator; the test is 2 N fmin with the standard (unscaled) p-value;
//! there is no likelihood, so no logl, AIC or BIC (`crate::fit::measures_ls`).
//! lavaan's fixed.x default is off for these estimators.

use super::{Baseline, Estimator, Fitting, Scaling};
use crate::estimate::{ls as els, Estimate};
use crate::fit::{self, Measures};
use crate::inference::{self, NotIdentified};
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::DMatrix;

/// GLS or ULS.
pub struct Ls(pub els::LsKind);

impl Estimator for Ls {
    fn name(&self) -> &'static str {
        match self.0 {
            els::LsKind::Gls => "GLS",
            els::LsKind::Uls => "ULS",
        }
    }
    fn fixed_x(&self) -> bool {
        false
    }
    fn moments_suffice(&self) -> bool {
        true
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, warnings: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        let groups = els::ls_groups(&prep.model.ram, &prep.data, self.0);
        if groups.is_none() {
            warnings.push("the GLS weight matrix cannot be computed: the sample covariance matrix is singular".into());
            // without a weight the fit falls back to ML, as it always has
            return super::ml::Ml::plain().bind(prep, opt, warnings);
        }
        Box::new(LsFit {
            prep,
            opt,
            groups: groups.unwrap_or_default(),
            baseline: None,
        })
    }
}

struct LsFit<'a> {
    prep: &'a Prepared,
    opt: &'a FitOptions,
    groups: Vec<els::LsGroup>,
    baseline: Option<Baseline>,
}

impl Fitting for LsFit<'_> {
    fn estimate(&mut self) -> Estimate {
        let (model, gd) = (&self.prep.model, &self.prep.data);
        els::estimate(model, &self.groups, gd, self.opt.max_iter)
    }

    fn vcov(&mut self, x: &[f64], _: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified> {
        // least squares has its own vcov, which needs no Sigma^-1 (the
        // implied Sigma may be indefinite at a ULS estimate); the ML
        // information only names the culprits when it cannot be inverted
        match els::vcov(&self.prep.model.ram, &self.groups, x) {
            Some(v) => Ok(Some(v)),
            None => Err(NotIdentified {
                rows: inference::vcov(&self.prep.model, x, &self.prep.data)
                    .err()
                    .map_or(vec![], |e| e.rows),
            }),
        }
    }

    fn baseline(&mut self) -> &Baseline {
        let (model, gd, groups, max_iter) = (&self.prep.model, &self.prep.data, &self.groups, self.opt.max_iter);
        self.baseline.get_or_insert_with(|| {
            let (ram, bx) = fit::baseline::baseline(model, gd);
            let b = els::minimize(&ram, groups, bx, max_iter);
            Baseline { ram: Some(ram), x: b.x }
        })
    }

    fn test_scaling(&mut self, _: &[f64], _: &mut Vec<String>) -> Option<Scaling> {
        None
    }

    fn measures(&mut self, x: &[f64], _: Option<Scaling>) -> Measures {
        self.baseline();
        let b = self.baseline.as_ref().expect("baseline fitted above");
        let bram = b.ram.as_ref().expect("a RAM baseline");
        fit::measures_ls(&self.prep.model, x, &self.groups, (bram, &b.x))
    }

    fn se_type(&self) -> &'static str {
        "Standard"
    }
}

//! Full-information ML for missing values (`--missing fiml`, lavaan's
//! missing = "ml"), also with MLR. The casewise likelihood, its gradient
//! and observed information are in `crate::estimate::fiml`; the vcov is the
//! inverse observed information / N (checked against the expected
//! information, `inference::fiml::check_against_expected`), or with MLR the Huber-White sandwich
//! from the casewise scores (`crate::inference::fiml::mlr`). The baseline
//! model is fitted by FIML too; with MLR its scaling factor comes from the
//! same sandwich, and the robust CFI/TLI/RMSEA are lavaan's FIML-corrected
//! ones (`crate::fit::fiml`). Modification indices and residuals are
//! moment-based and not available here.
//!
//! `--information expected` (lavaan's expected information under the
//! missing-data patterns, at the implied moments) or `first.order` (the mean
//! outer product of the casewise scores; estimator MLF) replace the observed
//! information in the standard errors, in MLR's bread and in the E of the
//! robust indices, as lavaan; `--se robust.huber.white` gives MLR's
//! sandwich with the standard test.

use super::{scaled_measures, scaling_from_traces, yb_scaling_factors, Baseline, Estimator, Fitting, Information, Scaling, ROBUST_FAILED};
use crate::estimate::{self, fiml::FimlData, h1::Layout, Estimate};
use crate::fit::{self, Measures};
use crate::inference::{self, robust::Robust, NotIdentified};
use crate::model::Ram;
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::DMatrix;

/// FIML: with Huber-White standard errors when `sandwich`, the
/// Yuan-Bentler scaled test when `scaled` (MLR has both), and the
/// information matrix of its standard errors.
pub struct Fiml {
    pub sandwich: bool,
    pub scaled: bool,
    /// estimator MLF (first-order information by default)
    pub mlf: bool,
    pub information: Information,
}

impl Fiml {
    /// FIML as ML (`sandwich` false), MLR, ML with `--se
    /// robust.huber.white` (`sandwich` without `mlr`), or MLF, with
    /// `--information` or its default; or why the combination is refused.
    pub fn with(sandwich: bool, mlf: bool, opt: &FitOptions) -> Result<Box<dyn Estimator>, String> {
        let mlr = opt.estimator == super::EstimatorKind::Mlr;
        let default = if mlf { Information::FirstOrder } else { Information::Observed };
        let information = opt.information.unwrap_or(default);
        if sandwich && information == Information::FirstOrder {
            return Err("--information first.order does not work with Huber-White (MLR) standard errors: their bread is the expected or observed information (as lavaan: \"information must be either expected or observed if robust standard errors are requested\")".into());
        }
        Ok(Box::new(Fiml {
            sandwich: sandwich || mlr,
            scaled: mlr,
            mlf,
            information,
        }))
    }
}

impl Estimator for Fiml {
    fn name(&self) -> &'static str {
        if self.scaled {
            "MLR"
        } else if self.mlf {
            "MLF"
        } else {
            "ML"
        }
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, warnings: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        let Some(f) = prep.fiml.as_ref() else {
            // `prepare` computes the patterns whenever --missing fiml is chosen
            warnings.push("full-information ML needs the missing-data patterns; listwise ML was used".into());
            return super::ml::Ml::plain().bind(prep, opt, warnings);
        };
        // sandwich, first-order information: the rows used, for the casewise scores
        let rows = (self.sandwich || self.information == Information::FirstOrder).then(|| {
            prep.group_rows
                .iter()
                .map(|rows| inference::fiml::used_rows(&prep.dataset, rows, &prep.model.ram.x_ov))
                .collect()
        });
        Box::new(FimlFit {
            sandwich: self.sandwich,
            scaled: self.scaled,
            information: self.information,
            prep,
            opt,
            f,
            rows,
            at_estimate: None,
            baseline: None,
        })
    }
}

struct FimlFit<'a> {
    sandwich: bool,
    scaled: bool,
    information: Information,
    prep: &'a Prepared,
    opt: &'a FitOptions,
    f: &'a FimlData,
    /// with a sandwich or the first-order information: the rows used, per group
    rows: Option<Vec<Vec<Vec<f64>>>>,
    at_estimate: Option<Robust>,
    baseline: Option<Baseline>,
}

impl FimlFit<'_> {
    /// The unit information of `self.information` for a model at `x`.
    fn information_at(&self, ram: &Ram, x: &[f64]) -> Option<DMatrix<f64>> {
        match self.information {
            Information::Observed => estimate::fiml::observed_information(ram, x, self.f),
            Information::Expected => estimate::fiml::expected_information(ram, x, self.f),
            Information::FirstOrder => {
                let rows = self.rows.as_ref()?;
                inference::fiml::first_order_information(ram, x, rows, &self.prep.model.ram.x_ov, self.f.ntotal() as f64)
            }
        }
    }

    fn mlr_at(&self, ram: &Ram, x: &[f64]) -> Robust {
        let Some(rows) = self.rows.as_ref().filter(|_| self.sandwich) else {
            return Robust::none();
        };
        match self.information_at(ram, x) {
            Some(bread) => {
                let a1_expected = self.information == Information::Expected;
                inference::fiml::mlr(
                    ram,
                    x,
                    self.f,
                    &self.prep.data,
                    rows,
                    &self.prep.model.ram.x_ov,
                    &bread,
                    a1_expected,
                )
            }
            None => Robust::none(),
        }
    }
    fn at_estimate(&mut self, x: &[f64]) -> &Robust {
        if self.at_estimate.is_none() {
            let r = self.mlr_at(&self.prep.model.ram, x);
            self.at_estimate = Some(r);
        }
        self.at_estimate.as_ref().expect("computed above")
    }
}

impl Fitting for FimlFit<'_> {
    fn estimate(&mut self) -> Estimate {
        estimate::fiml::estimate(&self.prep.model, &self.prep.data, self.f, self.opt.max_iter)
    }

    fn vcov(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified> {
        // the observed information decides identification, whatever the
        // standard errors are computed from
        let v = inference::fiml::vcov(&self.prep.model, x, self.f)?;
        if !self.sandwich {
            if self.information == Information::Observed {
                // observed-information SEs far from the expected-information ones get a warning
                warnings.extend(inference::fiml::check_against_expected(&self.prep.model, x, self.f, &v));
                return Ok(Some(v));
            }
            let inverted = self
                .information_at(&self.prep.model.ram, x)
                .and_then(|info| inference::invert_information(&self.prep.model, x, &info, self.f.ntotal() as f64).ok());
            if inverted.is_none() {
                warnings.push(format!(
                    "the {} information matrix is singular, so there are no standard errors from it (the observed information is not)",
                    self.information.option()
                ));
            }
            return Ok(inverted);
        }
        let r = self.at_estimate(x).vcov.clone();
        if r.is_none() {
            warnings.push(ROBUST_FAILED.into());
        }
        Ok(r)
    }

    fn baseline(&mut self) -> &Baseline {
        let (model, gd, f, max_iter) = (&self.prep.model, &self.prep.data, self.f, self.opt.max_iter);
        self.baseline.get_or_insert_with(|| {
            let (ram, bx) = fit::baseline::baseline(model, gd);
            let b = estimate::fiml::minimize(&ram, gd, f, bx, max_iter);
            Baseline { ram: Some(ram), x: b.x }
        })
    }

    fn test_scaling(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Option<Scaling> {
        if !self.scaled {
            return None;
        }
        let t = self.at_estimate(x).trace;
        self.baseline();
        let b = self.baseline.as_ref().expect("fitted above");
        let t0 = b.ram.as_ref().and_then(|bram| self.mlr_at(bram, &b.x).trace);
        let model = &self.prep.model;
        Some(scaling_from_traces(t, t0, model.df() as f64, fit::baseline::df(model), warnings))
    }

    fn measures(&mut self, x: &[f64], scaling: Option<Scaling>) -> Measures {
        let (model, gd) = (&self.prep.model, &self.prep.data);
        let lay = Layout::new(model.ram.p(), &model.ram.x_ov);
        let first_order = || self.rows.as_ref().and_then(|rows| inference::fiml::h1_firstorder(rows, gd, &lay));
        let jm = if self.scaled { first_order() } else { None };
        // the saturated information lavaan's E of the robust indices is built from
        let e_h1 = match self.information {
            Information::Observed => None,
            Information::Expected => self
                .f
                .patterns
                .iter()
                .zip(gd.iter())
                .map(|(p, d)| estimate::h1::h1_expected_missing(p, &d.cov, &lay).map(|a| lay.reduce(&a)))
                .collect::<Option<Vec<_>>>(),
            Information::FirstOrder => first_order(),
        };
        let mut m = fit::fiml::measures(model, x, gd, self.f, jm.as_deref(), e_h1.as_deref());
        if let Some(s) = scaling {
            let mut extra = scaled_measures(&m, s, gd.len());
            // the robust indices are lavaan's FIML-corrected ones (fit::fiml)
            extra.retain(|(k, _)| !k.ends_with("_robust"));
            m.extend(extra);
            let yb = self.at_estimate(x).factors_h1_h0;
            m.extend(yb_scaling_factors(model, yb));
        }
        m
    }

    fn se_type(&self) -> &'static str {
        if self.sandwich {
            "Robust.huber.white"
        } else {
            "Standard"
        }
    }

    fn information(&self) -> Option<Information> {
        Some(self.information)
    }
}

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

use super::{scaled_measures, scaling_from_traces, yb_scaling_factors, Baseline, Estimator, Fitting, Scaling, ROBUST_FAILED};
use crate::estimate::{self, fiml::FimlData, h1::Layout, Estimate};
use crate::fit::{self, Measures};
use crate::inference::{self, robust::Robust, NotIdentified};
use crate::model::Ram;
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::DMatrix;

/// FIML, with MLR standard errors and test when `mlr`.
pub struct Fiml {
    pub mlr: bool,
}

impl Estimator for Fiml {
    fn name(&self) -> &'static str {
        if self.mlr {
            "MLR"
        } else {
            "ML"
        }
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, warnings: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        let Some(f) = prep.fiml.as_ref() else {
            // `prepare` computes the patterns whenever --missing fiml is chosen
            warnings.push("full-information ML needs the missing-data patterns; listwise ML was used".into());
            return super::ml::Ml(super::ml::Robust::None).bind(prep, opt, warnings);
        };
        // MLR: the rows used, for the casewise scores
        let rows = self.mlr.then(|| {
            prep.group_rows
                .iter()
                .map(|rows| inference::fiml::used_rows(&prep.dataset, rows, &prep.model.ram.x_ov))
                .collect()
        });
        Box::new(FimlFit {
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
    prep: &'a Prepared,
    opt: &'a FitOptions,
    f: &'a FimlData,
    /// MLR only: the rows used, per group
    rows: Option<Vec<Vec<Vec<f64>>>>,
    at_estimate: Option<Robust>,
    baseline: Option<Baseline>,
}

impl FimlFit<'_> {
    fn mlr_at(&self, ram: &Ram, x: &[f64]) -> Robust {
        match &self.rows {
            Some(rows) => inference::fiml::mlr(ram, x, self.f, &self.prep.data, rows, &self.prep.model.ram.x_ov),
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
        let v = inference::fiml::vcov(&self.prep.model, x, self.f)?;
        // observed-information SEs far from the expected-information ones get a warning
        warnings.extend(inference::fiml::check_against_expected(&self.prep.model, x, self.f, &v));
        if self.rows.is_none() {
            return Ok(Some(v));
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
        self.rows.as_ref()?;
        let t = self.at_estimate(x).trace;
        self.baseline();
        let b = self.baseline.as_ref().expect("fitted above");
        let t0 = b.ram.as_ref().and_then(|bram| self.mlr_at(bram, &b.x).trace);
        let model = &self.prep.model;
        Some(scaling_from_traces(t, t0, model.df() as f64, fit::baseline::df(model), warnings))
    }

    fn measures(&mut self, x: &[f64], scaling: Option<Scaling>) -> Measures {
        let (model, gd) = (&self.prep.model, &self.prep.data);
        let jm = self.rows.as_ref().and_then(|rows| {
            let lay = Layout::new(model.ram.p(), &model.ram.x_ov);
            inference::fiml::h1_firstorder(rows, gd, &lay)
        });
        let mut m = fit::fiml::measures(model, x, gd, self.f, jm.as_deref());
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
        if self.rows.is_some() {
            "Robust.huber.white"
        } else {
            "Standard"
        }
    }
}

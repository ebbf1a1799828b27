//! Maximum likelihood on complete data (listwise deletion), with lavaan's
//! robust variants: MLM (robust.sem standard errors, Satorra-Bentler scaled
//! test), MLR (Huber-White standard errors, Yuan-Bentler scaled test) and
//! `--se robust` (robust.sem standard errors with the standard test).
//!
//! Estimates minimise F_ML (`crate::estimate`); the model-based vcov is the
//! inverse expected information / N; the robust ones are sandwiches built
//! from the raw rows (`crate::inference::robust`). The baseline model needs
//! no iterations under ML: its free variances are the sample variances
//! (`crate::fit::baseline`). A scaled test is chisq / c with c the trace of
//! U Gamma over df, for the model and the baseline alike.

use super::{scaled_measures, scaling_from_traces, yb_scaling_factors, Baseline, Estimator, Fitting, Scaling, ROBUST_FAILED};
use crate::estimate::{self, objective::expected_information, Estimate};
use crate::fit::{self, Measures};
use crate::inference::{self, robust, NotIdentified};
use crate::model::Ram;
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::DMatrix;

/// Which robust variant of ML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Robust {
    /// plain ML: expected information, standard test
    None,
    /// `--se robust`: robust.sem standard errors, standard test
    SeRobust,
    /// MLM: robust.sem standard errors, Satorra-Bentler scaled test
    Mlm,
    /// MLR: Huber-White standard errors, Yuan-Bentler scaled test
    Mlr,
}

/// ML, possibly robust.
pub struct Ml(pub Robust);

impl Estimator for Ml {
    fn name(&self) -> &'static str {
        match self.0 {
            Robust::None | Robust::SeRobust => "ML",
            Robust::Mlm => "MLM",
            Robust::Mlr => "MLR",
        }
    }
    fn moments_suffice(&self) -> bool {
        matches!(self.0, Robust::None)
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, _: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        Box::new(MlFit {
            robust: self.0,
            prep,
            opt,
            raw: None,
            at_estimate: None,
            baseline: None,
        })
    }
}

struct MlFit<'a> {
    robust: Robust,
    prep: &'a Prepared,
    opt: &'a FitOptions,
    /// complete rows per group (robust variants only)
    raw: Option<Vec<robust::GroupRaw>>,
    /// the robust pieces at the estimates (asked for by `vcov` and `test_scaling`)
    at_estimate: Option<robust::Robust>,
    baseline: Option<Baseline>,
}

impl MlFit<'_> {
    fn raw(&mut self) -> &[robust::GroupRaw] {
        let prep = self.prep;
        self.raw.get_or_insert_with(|| {
            prep.group_rows
                .iter()
                .map(|rows| robust::GroupRaw {
                    rows: robust::complete_rows(&prep.dataset, rows),
                })
                .collect()
        })
    }

    /// The robust pieces of the model at its estimates `x`.
    fn at_estimate(&mut self, x: &[f64]) -> &robust::Robust {
        if self.at_estimate.is_none() {
            let ram = &self.prep.model.ram;
            let r = self.robust_at(ram, x);
            self.at_estimate = Some(r);
        }
        self.at_estimate.as_ref().unwrap()
    }

    /// The robust pieces (sandwich vcov, trace of U Gamma) of a model.
    fn robust_at(&mut self, ram: &Ram, x: &[f64]) -> robust::Robust {
        let gd = &self.prep.data;
        let kind = self.robust;
        let raw = self.raw();
        match kind {
            Robust::Mlm | Robust::SeRobust => match expected_information(ram, x, gd) {
                Some(info) => robust::mlm(ram, x, gd, raw, &info),
                None => robust::Robust::none(),
            },
            Robust::Mlr => robust::mlr(ram, x, gd, raw),
            Robust::None => robust::Robust::none(),
        }
    }
}

impl Fitting for MlFit<'_> {
    fn estimate(&mut self) -> Estimate {
        estimate::estimate(&self.prep.model, &self.prep.data, self.opt.max_iter)
    }

    fn vcov(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified> {
        let v = inference::vcov(&self.prep.model, x, &self.prep.data)?;
        if self.robust == Robust::None {
            return Ok(Some(v));
        }
        let r = self.at_estimate(x).vcov.clone();
        if r.is_none() {
            warnings.push(ROBUST_FAILED.into());
        }
        Ok(r)
    }

    fn baseline(&mut self) -> &Baseline {
        let (model, gd) = (&self.prep.model, &self.prep.data);
        self.baseline.get_or_insert_with(|| {
            let (ram, x) = fit::baseline::baseline(model, gd);
            Baseline { ram: Some(ram), x }
        })
    }

    fn test_scaling(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Option<Scaling> {
        if matches!(self.robust, Robust::None | Robust::SeRobust) {
            return None;
        }
        let model = &self.prep.model;
        let t = self.at_estimate(x).trace;
        let b = self.baseline();
        let (bram, bx) = (b.ram.clone(), b.x.clone());
        let t0 = bram.and_then(|bram| self.robust_at(&bram, &bx).trace);
        Some(scaling_from_traces(t, t0, model.df() as f64, fit::baseline::df(model), warnings))
    }

    fn measures(&mut self, x: &[f64], scaling: Option<Scaling>) -> Measures {
        let mut m = fit::measures(&self.prep.model, x, &self.prep.data);
        if let Some(s) = scaling {
            let extra = scaled_measures(&m, s, self.prep.data.len());
            m.extend(extra);
            if self.robust == Robust::Mlr {
                let yb = self.at_estimate(x).factors_h1_h0;
                m.extend(yb_scaling_factors(&self.prep.model, yb));
            }
        }
        m
    }

    fn se_type(&self) -> &'static str {
        match self.robust {
            Robust::None => "Standard",
            Robust::SeRobust | Robust::Mlm => "Robust.sem",
            Robust::Mlr => "Robust.huber.white",
        }
    }
}

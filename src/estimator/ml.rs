//! Maximum likelihood on complete data (listwise deletion), with lavaan's
//! variants: MLM (robust.sem standard errors, Satorra-Bentler scaled test),
//! MLMV (robust.sem, mean-and-variance adjusted "scaled.shifted" test),
//! MLMVS (robust.sem, Satterthwaite "mean.var.adjusted" test), MLR
//! (Huber-White standard errors, Yuan-Bentler scaled test), MLF (standard
//! errors from the first-order information), `--se robust` (robust.sem
//! standard errors with the standard test) and `--se robust.huber.white`
//! (Huber-White standard errors with the standard test).
//!
//! Estimates minimise F_ML (`crate::estimate`); the model-based vcov is the
//! inverse information / N, the information being lavaan's `information=`
//! choice (`super::Information`): expected (the default), observed (the
//! Hessian of the objective, lavaan's observed.information = "hessian") or
//! first-order (the mean outer product of the casewise scores; MLF's
//! default). The robust ones are sandwiches built from the raw rows
//! (`crate::inference::robust`); MLR's bread is the observed information, or
//! the expected one with `--information expected` (the Yuan-Bentler trace
//! then uses it too, as lavaan). The baseline model needs no iterations
//! under ML: its free variances are the sample variances
//! (`crate::fit::baseline`). A scaled test is chisq / c with c the trace of
//! U Gamma over df, for the model and the baseline alike; the
//! mean-and-variance adjusted tests also need the trace of (U Gamma)^2
//! (`crate::fit::adjusted`).

use super::Information;
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
    /// MLMV: robust.sem standard errors, scaled.shifted test
    Mlmv,
    /// MLMVS: robust.sem standard errors, mean.var.adjusted test
    Mlmvs,
    /// MLF: first-order information, standard test
    Mlf,
    /// `--se robust.huber.white`: Huber-White standard errors, standard test
    SeHuberWhite,
}

impl Robust {
    /// lavaan's default information for the standard errors.
    fn default_information(self) -> Information {
        match self {
            Robust::Mlr | Robust::SeHuberWhite => Information::Observed,
            Robust::Mlf => Information::FirstOrder,
            Robust::None | Robust::SeRobust | Robust::Mlm | Robust::Mlmv | Robust::Mlmvs => Information::Expected,
        }
    }
    /// The option lavaan names when it refuses an information choice.
    fn what(self) -> &'static str {
        match self {
            Robust::Mlm => "--estimator mlm",
            Robust::Mlmv => "--estimator mlmv",
            Robust::Mlmvs => "--estimator mlmvs",
            Robust::Mlr => "--estimator mlr",
            Robust::SeRobust => "--se robust",
            Robust::SeHuberWhite => "--se robust.huber.white",
            Robust::None | Robust::Mlf => "ML",
        }
    }
}

/// ML, possibly robust, with the information its standard errors use.
pub struct Ml {
    pub robust: Robust,
    pub information: Information,
}

impl Ml {
    /// Plain ML with the expected information.
    pub fn plain() -> Ml {
        Ml {
            robust: Robust::None,
            information: Information::Expected,
        }
    }

    /// The variant with `--information` (or its default), or why lavaan
    /// 0.6-14 (or `sem`) refuses the combination.
    pub fn with(robust: Robust, opt: &FitOptions) -> Result<Box<dyn Estimator>, String> {
        let information = opt.information.unwrap_or(robust.default_information());
        let sandwich = matches!(robust, Robust::Mlr | Robust::SeHuberWhite);
        let robust_sem = matches!(robust, Robust::SeRobust | Robust::Mlm | Robust::Mlmv | Robust::Mlmvs);
        if information == Information::FirstOrder && (sandwich || robust_sem) {
            return Err(format!(
                "--information first.order does not work with {}: robust standard errors and tests need the expected or observed information (as lavaan: \"information must be either expected or observed if robust standard errors are requested\")",
                robust.what()
            ));
        }
        if information == Information::Observed && robust_sem {
            return Err(format!(
                "--information observed with {} is not available in this version of sem: its robust.sem sandwich and test use the expected information (the default); use --estimator mlr for observed-information robust standard errors",
                robust.what()
            ));
        }
        Ok(Box::new(Ml { robust, information }))
    }
}

impl Estimator for Ml {
    fn name(&self) -> &'static str {
        match self.robust {
            Robust::None | Robust::SeRobust | Robust::SeHuberWhite => "ML",
            Robust::Mlm => "MLM",
            Robust::Mlmv => "MLMV",
            Robust::Mlmvs => "MLMVS",
            Robust::Mlr => "MLR",
            Robust::Mlf => "MLF",
        }
    }
    fn moments_suffice(&self) -> bool {
        matches!(self.robust, Robust::None) && self.information != Information::FirstOrder
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, _: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        Box::new(MlFit {
            robust: self.robust,
            information: self.information,
            prep,
            opt,
            raw: None,
            at_estimate: None,
            baseline: None,
            adjusted: None,
        })
    }
}

struct MlFit<'a> {
    robust: Robust,
    information: Information,
    prep: &'a Prepared,
    opt: &'a FitOptions,
    /// complete rows per group (robust variants only)
    raw: Option<Vec<robust::GroupRaw>>,
    /// the robust pieces at the estimates (asked for by `vcov` and `test_scaling`)
    at_estimate: Option<robust::Robust>,
    baseline: Option<Baseline>,
    /// MLMV, MLMVS: tr(U Gamma) and tr((U Gamma)^2) of the model and the
    /// baseline (set by `test_scaling`, read by `measures`)
    adjusted: Option<(Traces, Traces)>,
}

/// tr(U Gamma) and tr((U Gamma)^2), when computable.
type Traces = Option<(f64, f64)>;

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

    /// The unit information matrix of `self.information` for a model at `x`.
    fn information_at(&mut self, ram: &Ram, x: &[f64]) -> Option<DMatrix<f64>> {
        let gd = &self.prep.data;
        match self.information {
            Information::Expected => expected_information(ram, x, gd),
            Information::Observed => robust::observed_information(ram, x, gd),
            Information::FirstOrder => {
                let raw = self.raw();
                robust::first_order_information(ram, x, gd, raw)
            }
        }
    }

    /// The robust pieces (sandwich vcov, trace of U Gamma) of a model.
    fn robust_at(&mut self, ram: &Ram, x: &[f64]) -> robust::Robust {
        let kind = self.robust;
        let Some(info) = self.information_at(ram, x) else {
            return robust::Robust::none();
        };
        let gd = &self.prep.data;
        let raw = self.raw();
        match kind {
            Robust::Mlm | Robust::Mlmv | Robust::Mlmvs | Robust::SeRobust => robust::mlm(ram, x, gd, raw, &info),
            Robust::Mlr | Robust::SeHuberWhite => robust::mlr(ram, x, gd, raw, &info),
            Robust::None | Robust::Mlf => robust::Robust::none(),
        }
    }

    /// tr(U Gamma) and tr((U Gamma)^2) of a model at `x` (MLMV, MLMVS).
    fn ug_traces(&mut self, ram: &Ram, x: &[f64]) -> Option<(f64, f64)> {
        let info = self.information_at(ram, x)?;
        let gd = &self.prep.data;
        let raw = self.raw();
        robust::ug_traces(ram, x, gd, raw, &info)
    }
}

impl Fitting for MlFit<'_> {
    fn estimate(&mut self) -> Estimate {
        estimate::estimate(&self.prep.model, &self.prep.data, self.opt.max_iter)
    }

    fn vcov(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified> {
        // the expected information decides identification, whatever the
        // standard errors are computed from
        let v = inference::vcov(&self.prep.model, x, &self.prep.data)?;
        if matches!(self.robust, Robust::None | Robust::Mlf) {
            if self.information == Information::Expected {
                return Ok(Some(v));
            }
            let ntot: usize = self.prep.data.iter().map(|d| d.n).sum();
            let ram = &self.prep.model.ram;
            let inverted = self
                .information_at(ram, x)
                .and_then(|info| inference::invert_information(&self.prep.model, x, &info, ntot as f64).ok());
            if inverted.is_none() {
                warnings.push(format!(
                    "the {} information matrix is singular, so there are no standard errors from it (the expected information is not)",
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
        let (model, gd) = (&self.prep.model, &self.prep.data);
        self.baseline.get_or_insert_with(|| {
            let (ram, x) = fit::baseline::baseline(model, gd);
            Baseline { ram: Some(ram), x }
        })
    }

    fn test_scaling(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Option<Scaling> {
        if matches!(self.robust, Robust::None | Robust::SeRobust | Robust::SeHuberWhite | Robust::Mlf) {
            return None;
        }
        if matches!(self.robust, Robust::Mlmv | Robust::Mlmvs) {
            let t = self.ug_traces(&self.prep.model.ram.clone(), x);
            let b = self.baseline();
            let (bram, bx) = (b.ram.clone(), b.x.clone());
            let t0 = bram.and_then(|bram| self.ug_traces(&bram, &bx));
            self.adjusted = Some((t, t0));
            let model = &self.prep.model;
            let (df, dfn) = (model.df() as f64, fit::baseline::df(model));
            let shifted = self.robust == Robust::Mlmv;
            if !shifted {
                warnings.push(fit::adjusted::NO_ROBUST_MVA.into());
            }
            return Some(fit::adjusted::scaling(t, t0, df, dfn, shifted, warnings));
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
        if let (Some(s), Some((t, t0))) = (scaling, self.adjusted) {
            let ng = self.prep.data.len();
            let extra = match self.robust {
                Robust::Mlmv => fit::adjusted::scaled_shifted_measures(&m, s, ng),
                _ => fit::adjusted::mean_var_adjusted_measures(&m, t, t0, ng),
            };
            m.extend(extra);
        } else if let Some(s) = scaling {
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
            Robust::None | Robust::Mlf => "Standard",
            Robust::SeRobust | Robust::Mlm | Robust::Mlmv | Robust::Mlmvs => "Robust.sem",
            Robust::Mlr | Robust::SeHuberWhite => "Robust.huber.white",
        }
    }

    fn information(&self) -> Option<super::Information> {
        Some(self.information)
    }

    /// MLMV and MLMVS: lavTestLRT()'s default for their tests is the
    /// scaled-shifted Satorra (2000) difference, from the Jacobians, the
    /// structured h1 information (lavaan's `WLS.V` for ML), the ADF Gamma
    /// and the inverse expected information of the general model.
    fn difference_pieces(&mut self, x: &[f64]) -> Option<crate::fit::satorra2000::DiffPieces> {
        if !matches!(self.robust, Robust::Mlmv | Robust::Mlmvs) {
            return None;
        }
        let ram = &self.prep.model.ram;
        let info = self.information_at(ram, x)?;
        let info_inv = crate::estimate::constrained::constrained_inverse(ram, x, &info, robust::inverse)?;
        let gd = &self.prep.data;
        let ntot: f64 = gd.iter().map(|d| d.n as f64).sum();
        let elems = robust::moment_elems(ram.p(), ram.meanstructure);
        let raw = self.raw();
        let (mut jac, mut weight, mut gamma, mut fg) = (vec![], vec![], vec![], vec![]);
        for (g, d) in gd.iter().enumerate() {
            let e = crate::estimate::objective::eval_group(ram, g, x, d)?;
            jac.push(robust::delta(ram, g, x, d, &elems)?);
            weight.push(robust::h1_weight(&e.implied.sigma, &elems, &ram.x_ov)?);
            gamma.push(robust::gamma_adf(&raw[g].rows, &elems, &ram.x_ov));
            fg.push(d.n as f64 / ntot);
        }
        Some(crate::fit::satorra2000::DiffPieces {
            jac,
            weight,
            gamma,
            fg,
            info_inv,
        })
    }
}

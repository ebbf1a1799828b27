//! The bootstrap options of `sem fit` (and the commands that share its
//! flags): `--bootstrap N`, `--seed S`, `--boot-ci perc|bca.simple|bca` and
//! `--test standard|bollen-stine`, checked against `--se` and turned into
//! the `BootSettings` the pipeline runs (`crate::inference::bootstrap`).

use crate::inference::bootstrap::{BootSettings, CiType, DEFAULT_DRAWS, DEFAULT_SEED, MAX_DRAWS};
use crate::pipeline::SemError;
use clap::{Args, ValueEnum};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootCi {
    /// percentile interval (lavaan's default boot.ci.type)
    Perc,
    /// bias-corrected percentile interval, no acceleration (lavaan's "bca.simple")
    #[value(name = "bca.simple", alias = "bca-simple")]
    BcaSimple,
    /// bias-corrected and accelerated (lavaan's "bca"; needs at least as many draws as cases)
    Bca,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestKind {
    /// the ML chi-square test
    Standard,
    /// add the Bollen-Stine bootstrap p-value (fit key bollen_stine_pvalue)
    #[value(name = "bollen-stine", alias = "bollen.stine")]
    BollenStine,
}

#[derive(Args, Debug, Clone)]
pub struct BootArgs {
    /// bootstrap draws for --se bootstrap and --test bollen-stine (at most 100000) [default: 1000, as lavaan]
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
    /// seed of the bootstrap draws [default: 1]; the same seed gives the same output, whatever the thread count
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// bootstrap confidence intervals (with --se bootstrap)
    #[arg(long, value_enum, default_value = "perc")]
    pub boot_ci: BootCi,
    /// model test: the standard chi-square, or also a Bollen-Stine bootstrap p-value
    #[arg(long, value_enum, default_value = "standard")]
    pub test: TestKind,
}

impl BootArgs {
    /// The bootstrap to run, if any; `se_bootstrap` is `--se bootstrap`.
    pub fn settings(&self, se_bootstrap: bool) -> Result<Option<BootSettings>, SemError> {
        let bollen_stine = self.test == TestKind::BollenStine;
        if !se_bootstrap && !bollen_stine {
            let stray = [
                (self.bootstrap.is_some(), "--bootstrap"),
                (self.seed.is_some(), "--seed"),
                (self.boot_ci != BootCi::Perc, "--boot-ci"),
            ];
            if let Some((_, flag)) = stray.iter().find(|(given, _)| *given) {
                return Err(SemError::Input(format!("{flag} needs --se bootstrap or --test bollen-stine")));
            }
            return Ok(None);
        }
        if !se_bootstrap && self.boot_ci != BootCi::Perc {
            return Err(SemError::Input("--boot-ci needs --se bootstrap".into()));
        }
        let draws = self.bootstrap.unwrap_or(DEFAULT_DRAWS);
        if draws < 2 {
            return Err(SemError::Input(format!("--bootstrap must be at least 2, not {draws}")));
        }
        if draws > MAX_DRAWS {
            return Err(SemError::Input(format!(
                "--bootstrap takes at most {MAX_DRAWS} draws, not {draws}: every draw's estimates are kept for the intervals; 1000 to 10000 draws are plenty"
            )));
        }
        Ok(Some(BootSettings {
            draws,
            seed: self.seed.unwrap_or(DEFAULT_SEED),
            ci: match self.boot_ci {
                BootCi::Perc => CiType::Perc,
                BootCi::BcaSimple => CiType::BcaSimple,
                BootCi::Bca => CiType::Bca,
            },
            se: se_bootstrap,
            bollen_stine,
            progress: false,
        }))
    }
}

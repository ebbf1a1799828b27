//! `sem simulate`: its options, kept apart from `cli/mod.rs` so that the
//! command list there stays a short list. The rules for unwritten values and
//! the drawing order live in `crate::simulate` and are printed by `--help`.

use crate::pipeline::SemError;
use crate::simulate::{self, SimOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
#[command(after_help = simulate::RULES)]
pub struct SimulateArgs {
    /// population model in lavaan syntax with fixed values (`f =~ 0.8*x1`, `y ~ 0.3*f`)
    pub model: PathBuf,
    /// number of rows to draw (at least 1)
    #[arg(long, value_name = "N")]
    pub n: usize,
    /// seed of the random stream: the same seed gives the same bytes on every machine
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// cut every variable into K ordered categories 1..K of equal probability (2 <= K <= 100)
    #[arg(long, value_name = "K")]
    pub likert: Option<u32>,
    /// leave each cell empty with this probability, completely at random (0 <= RATE < 1)
    #[arg(long, value_name = "RATE", default_value_t = 0.0, allow_negative_numbers = true)]
    pub missing: f64,
    /// unwritten loadings 0.7 and unwritten residual variances such that every variable has
    /// variance 1 (lavaan's standardized = TRUE)
    #[arg(long)]
    pub standardized: bool,
    /// decimals of the values
    #[arg(long, value_name = "D", default_value_t = 6)]
    pub digits: usize,
    /// write the CSV to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
}

impl SimulateArgs {
    pub fn options(&self) -> Result<SimOptions, SemError> {
        let o = SimOptions {
            n: self.n,
            seed: self.seed,
            likert: self.likert,
            missing: self.missing,
            standardized: self.standardized,
            digits: self.digits,
        };
        o.validate()?;
        Ok(o)
    }

    /// Simulate, print the warnings on stderr, write the CSV; the exit code.
    pub fn run(&self) -> Result<u8, SemError> {
        let out = simulate::simulate_file(&self.model, &self.options()?)?;
        for w in &out.warnings {
            eprintln!("warning: {w}");
        }
        super::emit(&out.csv, self.output.as_deref())?;
        Ok(0)
    }
}

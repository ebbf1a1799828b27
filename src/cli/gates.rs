//! The CI-gate options shared by `sem fit` and `sem batch` (`--require`,
//! `--require-supported`), and how a failed gate is told on stderr. The
//! gates themselves live in `crate::gates`.

use crate::gates::{GateFailure, Gates};
use crate::pipeline::SemError;
use clap::Args;

/// Exit code of a run that went fine but failed a gate (an extension of the
/// contract's 0/1/2).
pub const GATE_FAILED: u8 = 3;

#[derive(Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// CI gate on fit measures, e.g. "cfi>=0.95,rmsea<=0.06,srmr<=0.08" (any key of the
    /// report's fit map; >= <= > <); a failed or missing measure exits with code 3
    #[arg(long, value_name = "CRITERIA", value_delimiter = ',')]
    pub require: Vec<String>,
    /// CI gate on hypotheses: these must be supported (comma list of names, or `all`);
    /// otherwise exit with code 3
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub require_supported: Vec<String>,
}

impl GateArgs {
    pub fn gates(&self) -> Result<Gates, SemError> {
        Gates::parse(&self.require, &self.require_supported).map_err(SemError::Input)
    }
}

/// Tell on stderr which criterion failed for which data set.
pub fn report_failures(dataset: &str, failures: &[GateFailure]) {
    for g in failures {
        eprintln!("gate failed: {dataset}: {}: {}", g.criterion, g.reason);
    }
}

/// Text for `--help`: the sign directive, the gates and the exit codes.
pub const AFTER_HELP: &str = "\
Hypotheses:
  A labelled regression path (CRQ ~ H1a*EOIS) or a defined parameter (H5 := a*b) is a
  hypothesis when its name looks like one (H + number + optional letter: H1, H1a, H12)
  or a comment, which lavaan ignores, lists it; other labels are plain labels:
      # hypotheses: ind, total
  It is expected positive unless the model file declares otherwise:
      # expect: H3 < 0, H8 < 0
  It is supported when its estimate has the expected sign and p < --alpha.
  `# paper: bradford2019` checks the labels against that paper's H1a-H8.

CI gates:
  --require \"cfi>=0.95,rmsea<=0.06,srmr<=0.08\"   --require-supported H1a,H2 (or all)

Exit codes:
  0 done; 1 did not converge or not identified; 2 bad usage or input;
  3 ran fine but a --require / --require-supported gate failed (the report is still printed)";

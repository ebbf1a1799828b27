//! Data: the CSV file a survey platform exported, read into the columns the
//! model uses (`read`), with missing values recognised and incomplete rows
//! dropped listwise, and the sample moments ML needs (`moments`): means and
//! the covariance matrix with divisor N, as lavaan uses for ML. When only
//! those moments are needed, `stream` computes them in one pass over the
//! file without keeping the rows.

pub mod describe;
pub mod em;
pub mod formats;
pub mod groups;
pub mod moments;
pub mod patterns;
pub mod products;
pub mod read;
pub mod stream;

pub use moments::SampleStats;
pub use read::{read_csv, CsvOptions, Dataset};

/// A data problem, already phrased for the user (file, line, column named).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

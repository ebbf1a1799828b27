//! `sem`: structural equation modeling with lavaan's syntax and lavaan's numbers.
//!
//! The module tree is the pipeline. `syntax` reads lavaan model syntax into
//! statements; `model` turns them into lavaan's parameter table (with `sem()`
//! defaults) and RAM matrices; `data` reads the CSV and computes sample
//! moments; `estimate` finds the ML estimates (Fisher scoring driven by
//! argmin); `estimator` is the seam between the pipeline and the estimators
//! (ML and its robust variants, GLS/ULS, FIML: one module each behind one
//! trait, chosen by a registry); `inference` computes the information matrix, standard errors and
//! defined parameters; `fit` the test statistic, baseline model and fit
//! indices; `report` gathers everything in one serializable type that is
//! rendered as text, JSON, CSV or markdown; `cli` wires it to the terminal.
//! `pipeline` runs these steps for one model and one data set; `hypotheses`
//! decides which parameters are hypotheses and whether a fit supports them;
//! `batch` runs the pipeline over many data sets in parallel, and `gates`
//! checks a report against a CI's criteria; `diagram` draws the path diagram
//! of a report (SVG, DOT) and `report::html` puts it on a one-file page. `power` runs Monte Carlo studies
//! (simulate, fit, count) and `merge` combines the shards of `power` and
//! `batch` run as separate processes.

pub mod batch;
pub mod cli;
pub mod compare;
pub mod data;
pub mod diagram;
pub mod estimate;
pub mod estimator;
pub mod fit;
pub mod gates;
pub mod hypotheses;
pub mod inference;
pub mod merge;
pub mod model;
pub mod ordinal;
pub mod pipeline;
pub mod power;
pub mod report;
pub mod simulate;
pub mod stage;
pub mod syntax;

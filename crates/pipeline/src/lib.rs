//! The pipeline: the TOML a study is declared in, and the runner that chains
//! the stages and writes the run folder.
//!
//! - [`load`] finds a pipeline by name or path, parses it, its schema and its
//!   sources, and checks every key, column and expression of all of them
//!   before any data is read. Each problem names the file, the line, the key,
//!   and what was expected.
//! - [`run`] chains ingest → clean → derive → cohort → analysis, checks that
//!   the ledger balances, writes every output into a temporary folder and
//!   moves it into place only when the whole run succeeded.
//!
//! Depends on every stage crate and on cohortflow-core; it is the only crate
//! that reads TOML or writes files. The stages never call each other.

mod error;
mod load;
mod manifest;
mod out;
mod run;

pub use cohortflow_core::ledger::Outcome;
pub use error::{Error, LocatedProblem};
pub use load::{Loaded, PipelineFile, PipelineHeader, list, load, locate};
pub use run::{RunOptions, RunSummary, STAGE_TABLES, run, run_with};

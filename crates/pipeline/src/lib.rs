//! The pipeline: the TOML a study is declared in, and the runner that chains
//! the stages and writes the run folder.
//!
//! - [`load`] finds a pipeline by name or path, parses it, its schema and its
//!   sources, and checks every key, column and expression of all of them
//!   before any data is read. Each problem names the file, the line, the key,
//!   and what was expected.
//! - [`run`] chains ingest → clean → derive → cohort → analysis, checks that
//!   the ledger balances and that no source lost more rows to rejects than
//!   it allows (`max_rejected`), writes every output into a staging folder
//!   and swaps it into place in one step only when the whole run succeeded.
//! - `out` owns the run folder: before any data is read it refuses an
//!   `--out` that is, contains or lies inside an input or the working
//!   directory, or that is a folder cohortflow did not write (run folders
//!   carry the marker [`MARKER`]); it locks `out` against a concurrent run
//!   and removes the leftovers of killed runs. At every instant `out` is
//!   the complete earlier run or the complete new one (docs/results.md).
//! - `manifest` writes `manifest.json` from plain data (names and paths).
//! - `meter` measures each stage's wall time, CPU time and peak memory, and
//!   tells a [`Progress`] (the command line's bar) of each stage.
//!
//! Depends on every stage crate and on cohortflow-core, and on
//! cohortflow-regress for the `[regression]` section's type; it is the only
//! crate that reads TOML and the only one that writes run folders. The
//! stages never call each other.

mod error;
mod load;
mod manifest;
mod meter;
mod out;
mod progress;
mod rejected;
mod run;

pub use cohortflow_core::ledger::Outcome;
/// The hook by which the binary gives freed memory back to the system at
/// the points a run marks (`cohortflow_core::memory`).
pub use cohortflow_core::memory::set_release as set_release_memory;
pub use error::{Error, LocatedProblem};
pub use load::{Loaded, PipelineFile, PipelineHeader, list, load, locate};
pub use meter::StageCost;
pub use out::MARKER;
pub use progress::{Progress, Silent, Unit};
pub use run::{RunOptions, RunSummary, STAGE_TABLES, StageTables, run, run_observed, run_with};

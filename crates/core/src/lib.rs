//! The vocabulary every cohortflow stage shares.
//!
//! - [`schema`]: the canonical schema a study declares once (column names,
//!   types, levels, units, plausible ranges) and every source is checked
//!   against.
//! - [`ledger`]: per source and per stage, how many rows came in, how many
//!   were rejected, excluded or flagged and why, and how many went on; it
//!   proves that no row is lost.
//! - [`rejects`]: the rows a stage refused, with the file line and values.
//! - [`expr`]: SQL expressions (filters, derived columns) compiled by polars'
//!   own SQL support and checked against a schema before any data is read.
//! - [`table`]: the provenance columns every row carries and the readable CSV
//!   rendering used for outputs and snapshots; [`fixed`]: its floats, with a
//!   fixed number of decimals, exactly as `format!` writes them but faster;
//!   `csv_out`: the CSV of a table of the stages' column types written by
//!   hand on every core, byte for byte as polars' CSV writer writes it.
//! - [`problem`]: configuration problems located by key and byte span.
//! - [`design`]: covariates turned into model terms (indicators for
//!   categories, a declared rule for missing values).
//! - [`matching`]: what a matching produced (counts, balance), shared by the
//!   cohort stage that computes it, the results and the report.
//! - [`lineage`]: when each column is known (at baseline, or at a date:
//!   a derived column when the latest of its inputs is), the shapes of a
//!   condition's parts, and the design warning a condition known after an
//!   endpoint's origin gets.
//! - [`time`]: units of time (a month is 30.4375 days) for endpoints,
//!   landmarks and reports.
//! - [`memory`]: where a run has just freed much memory, a hook the binary
//!   fills to give it back to the system.
//!
//! May depend on polars, serde, chrono (dates of plausible ranges and
//! their CSV text), sqlparser (the parser of polars' SQL, for lineage),
//! rayon and itoa (the CSV of a table on every core) and foldhash (the
//! levels of a text factor in a model's design) only; it knows nothing of TOML files,
//! sources or the pipeline, and no stage crate reaches around it.

mod csv_out;
pub mod design;
pub mod expr;
pub mod fixed;
pub mod ledger;
pub mod lineage;
pub mod matching;
pub mod memory;
pub mod problem;
pub mod rejects;
pub mod schema;
pub mod table;
pub mod time;

pub use problem::ConfigProblem;
pub use serde_spanned::Spanned;

//! Integration tests of cohortflow-ingest: every source option and every
//! error, on inputs written into temporary directories.

#![allow(clippy::result_large_err)]

mod chunks;
mod common;
mod csv_errors;
mod csv_options;
mod fixtures;
mod lines;
mod modules;
mod parquet;
mod perf;
mod postgres;
mod reject;
mod validate;
mod xlsx;

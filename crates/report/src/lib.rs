//! The report stage: figures and documents people read, made from numbers
//! the other stages already computed (it computes no statistic itself).
//!
//! - [`flow`]: the CONSORT-style flow diagram of a run, from its ledger.
//!
//! May depend on cohortflow-core (the ledger) only; it receives plain data
//! and returns text, so the pipeline crate decides where files go.

pub mod flow;

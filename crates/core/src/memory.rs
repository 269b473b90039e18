//! Freed memory given back to the system where a run has just freed much
//! of it.
//!
//! A run frees large tables and allocates others: a read's text and its
//! chunks' columns once the sources' frame is assembled, a stage's input
//! once the next stage's table is made. An allocator that caches freed
//! pages per thread, as mimalloc does, gives a page back to the system only
//! when the thread that owns it allocates or frees again; a core's thread
//! that read the chunks and then sits idle or makes only large allocations
//! keeps the pages of its freed chunks resident for the rest of the run.
//! Measured on the benchmark's 10M rows after ingest began to read its
//! sources in 8 MiB pieces: 400–600 MiB more resident in every later stage
//! than the whole-file read had (docs/performance.md, "Streaming ingest").
//!
//! The binary that chooses the allocator registers how to give the pages
//! back ([`set_release`]); the pipeline marks the points ([`release`]).
//! Without a registered function (the tests, another binary) [`release`]
//! does nothing.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Registers the function [`release`] calls (the first registration holds).
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Gives freed memory back to the system, if the binary said how.
pub fn release() {
    if let Some(f) = RELEASE.get() {
        f();
    }
}

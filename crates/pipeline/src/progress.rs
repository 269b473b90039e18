//! What a run tells whoever shows its progress: each stage as it starts,
//! how much of its work is known (ingest: the bytes of the exports; the
//! analysis: its independent parts) and
//! done, and its end. The pipeline only reports; the command line draws
//! (a bar on a terminal, nothing otherwise). [`Silent`] ignores it all.

/// Receives a run's progress. Called from the thread that runs the stages,
/// and `advance` also from the threads that read the sources side by side
/// and from those that compute the analysis's parts.
pub trait Progress: Sync {
    /// `stage` starts; `total` is its work in `unit`s, when known.
    fn start(&self, stage: &str, total: Option<u64>, unit: Unit) {
        let _ = (stage, total, unit);
    }
    /// `done` more units of the running stage's work are done.
    fn advance(&self, done: u64) {
        let _ = done;
    }
    /// The running stage ended (the next `start` also ends it).
    fn finish(&self) {}
}

/// What a stage's work is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Steps,
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

//! What a run tells whoever shows its progress (the bar of `cohortflow
//! run` on a terminal): each stage once, in order; ingest's work in bytes,
//! told as the exports are read and adding up to their sizes; the
//! analysis's in its independent parts, each told once as it ends.

use cohortflow_pipeline::{Progress, RunOptions, Unit, load, run_observed};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines")
}

/// A stage as it was told: its name, total and unit, and every advance.
#[derive(Debug)]
struct Told {
    stage: String,
    total: Option<u64>,
    unit: Unit,
    advances: Vec<u64>,
}

#[derive(Default)]
struct Recorder {
    stages: Mutex<Vec<Told>>,
    /// Advances told while no stage ran, and `finish` calls.
    stray: Mutex<Vec<u64>>,
}

impl Progress for Recorder {
    fn start(&self, stage: &str, total: Option<u64>, unit: Unit) {
        self.stages.lock().unwrap().push(Told {
            stage: stage.to_string(),
            total,
            unit,
            advances: Vec::new(),
        });
    }
    fn advance(&self, done: u64) {
        match self.stages.lock().unwrap().last_mut() {
            Some(t) => t.advances.push(done),
            None => self.stray.lock().unwrap().push(done),
        }
    }
}

#[test]
fn a_run_tells_its_bytes_read_and_its_analyses_done() {
    let loaded = load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    run_observed(
        &loaded,
        &dir.path().join("run"),
        RunOptions::default(),
        &recorder,
    )
    .unwrap();
    assert!(recorder.stray.lock().unwrap().is_empty());
    let stages = recorder.stages.into_inner().unwrap();
    let names: Vec<&str> = stages.iter().map(|t| t.stage.as_str()).collect();
    assert_eq!(
        names,
        [
            "ingest", "clean", "derive", "cohort", "analysis", "write", "commit"
        ]
    );

    // Ingest: the exports' bytes (centre A's CSV as it is read, centre B's
    // workbook once read), every byte once.
    let sizes: u64 = ["center_a.csv", "center_b.xlsx"]
        .iter()
        .map(|f| {
            std::fs::metadata(pipelines().join("../fixtures/mgist").join(f))
                .unwrap()
                .len()
        })
        .sum();
    let ingest = &stages[0];
    assert_eq!((ingest.total, ingest.unit), (Some(sizes), Unit::Bytes));
    assert_eq!(ingest.advances.iter().sum::<u64>(), sizes, "{ingest:?}");

    // The analysis: Table 1's nine rows, the two endpoints, the
    // time-varying model, the landmark and the emulation, each once.
    let analysis = &stages[4];
    assert_eq!((analysis.total, analysis.unit), (Some(14), Unit::Steps));
    assert_eq!(analysis.advances, vec![1; 14], "{analysis:?}");

    for t in [&stages[1], &stages[2], &stages[3], &stages[5], &stages[6]] {
        assert_eq!(t.total, None, "{t:?}");
        assert!(t.advances.is_empty(), "{t:?}");
    }
}

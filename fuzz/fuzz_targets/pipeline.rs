//! The pipeline TOML and everything `load` checks before reading data: the
//! pipeline file, the schema file and two source files (syntax, keys, types,
//! paths, value maps, units, date formats, SQL expressions, endpoints,
//! criteria, arms, analysis).
//!
//! Input (text): the four files separated by lines `#---`: the pipeline
//! (written as `mgist-cytoreduction.toml`), the schema (`schema.toml`), and
//! the sources `a.toml` and `b.toml`, all in one temporary folder that also
//! holds copies of the two mgist exports (`center_a.csv`, `center_b.xlsx`).
#![no_main]

use cohortflow_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::LazyLock;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("cohortflow-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("center_a.csv"),
        include_bytes!("../../fixtures/mgist/center_a.csv"),
    )
    .expect("write");
    std::fs::write(
        dir.join("center_b.xlsx"),
        include_bytes!("../../fixtures/mgist/center_b.xlsx"),
    )
    .expect("write");
    dir
});

const FILES: [&str; 4] = [
    "mgist-cytoreduction.toml",
    "schema.toml",
    "a.toml",
    "b.toml",
];

fuzz_target!(|data: &[u8]| {
    let_third_party_panics_unwind();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = &*DIR;
    let mut parts = text.split("\n#---\n");
    for name in FILES {
        let part = parts.next().unwrap_or("");
        std::fs::write(dir.join(name), part).expect("write");
    }
    let _ = cohortflow_pipeline::load(&dir.join(FILES[0]));
});

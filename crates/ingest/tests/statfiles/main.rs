//! The statistical-file and REDCap sources: the readers against R's haven
//! on the same files (`conformance/haven.R` writes them into
//! `fixtures/statfiles/` and dumps haven's reading into
//! `conformance/haven.json`), damaged files, and the sources' options.

#![allow(clippy::result_large_err)]

mod conformance;
mod damaged;
mod redcap;
mod sources;

use cohortflow_core::schema::Schema;
use cohortflow_ingest::{Source, SourceFile};
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn statfile(name: &str) -> PathBuf {
    repo().join("fixtures/statfiles").join(name)
}

pub fn schema(text: &str) -> Schema {
    toml::from_str(text).expect("test schema parses")
}

/// Writes `text` as `source.toml` into `dir` and parses it.
pub fn source_file(dir: &Path, text: &str) -> Source {
    let file = dir.join("source.toml");
    std::fs::write(&file, text).unwrap();
    let parsed: SourceFile = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    Source {
        config: parsed.source,
        file,
        text: text.to_string(),
    }
}

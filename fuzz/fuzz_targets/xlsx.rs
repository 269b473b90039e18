//! Workbook reading (calamine: xlsx, and xls/xlsb/ods recognised from the
//! content) into the mgist schema with the centre B source.
//!
//! Input: the workbook's bytes.
#![no_main]

use cohortflow_fuzz::*;
use cohortflow_ingest::{OnError, ingest_bytes};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SCHEMA: LazyLock<cohortflow_core::schema::Schema> = LazyLock::new(|| schema(MGIST_SCHEMA));
static SOURCE: LazyLock<cohortflow_ingest::Source> = LazyLock::new(|| {
    let mut s = source(CENTER_B, "sources/center_b.toml");
    s.config.on_error = OnError::Reject;
    s
});
static FIRST_SHEET: LazyLock<cohortflow_ingest::Source> = LazyLock::new(|| {
    let mut s = SOURCE.clone();
    s.config.sheet = None;
    s.config.on_error = OnError::Fail;
    s
});

fuzz_target!(|data: &[u8]| {
    let_third_party_panics_unwind();
    // The named sheet with rejects, and the first sheet failing on the first
    // bad cell: both paths of the reader.
    for source in [&*SOURCE, &*FIRST_SHEET] {
        if let Ok(ing) = ingest_bytes(source, &SCHEMA, data) {
            check_ingested(&ing, &SCHEMA, None);
        }
    }
});

//! CSV dialect handling: separators, quotes, encodings, BOMs, header rows,
//! ragged and blank records, every cell of the mgist centre A export.
//!
//! Input: one dialect byte, then the file. The dialect byte picks the
//! separator (bits 0-1: `,` `;` tab `|`), decimal comma (bit 2),
//! windows-1251 (bit 3), on_error = "reject" (bit 4), header_row 2 (bit 5),
//! unmapped_columns = "error" (bit 6) and `'` as quote (bit 7).
#![no_main]

use cohortflow_fuzz::*;
use cohortflow_ingest::{Encoding, OnError, Unmapped, ingest_bytes};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SCHEMA: LazyLock<cohortflow_core::schema::Schema> = LazyLock::new(|| schema(MGIST_SCHEMA));
static SOURCE: LazyLock<cohortflow_ingest::Source> =
    LazyLock::new(|| source(CENTER_A, "sources/center_a.toml"));

fuzz_target!(|data: &[u8]| {
    let_third_party_panics_unwind();
    let Some((&d, file)) = data.split_first() else {
        return;
    };
    let mut source = SOURCE.clone();
    let c = &mut source.config;
    c.csv.separator = [',', ';', '\t', '|'][(d & 3) as usize];
    c.csv.decimal_comma = d & 4 != 0;
    c.csv.encoding = if d & 8 != 0 {
        Encoding::Windows1251
    } else {
        Encoding::Utf8
    };
    c.on_error = if d & 16 != 0 {
        OnError::Reject
    } else {
        OnError::Fail
    };
    c.csv.header_row = 1 + usize::from(d & 32 != 0);
    c.unmapped_columns = if d & 64 != 0 {
        Unmapped::Error
    } else {
        Unmapped::Ignore
    };
    c.csv.quote = if d & 128 != 0 { '\'' } else { '"' };
    if let Ok(ing) = ingest_bytes(&source, &SCHEMA, file) {
        check_ingested(&ing, &SCHEMA, None);
    }
});

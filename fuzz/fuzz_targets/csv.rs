//! CSV dialect handling: separators, quotes, encodings, BOMs, header rows,
//! ragged and blank records, every cell of the mgist centre A export.
//!
//! Input: one dialect byte, then the file. The dialect byte picks the
//! separator (bits 0-1: `,` `;` tab `|`), decimal comma (bit 2),
//! windows-1251 (bit 3), on_error = "reject" (bit 4), header_row 2 (bit 5),
//! unmapped_columns = "error" (bit 6) and `'` as quote (bit 7).
//!
//! The file is also read in chunks of `1 + len % 97` bytes: the table,
//! rejects, line account or error must be those of the one-piece read.
#![no_main]

use cohortflow_fuzz::*;
use cohortflow_ingest::{Encoding, OnError, Unmapped, ingest_bytes, ingest_bytes_chunked};
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
    let whole = ingest_bytes(&source, &SCHEMA, file);
    if let Ok(ing) = &whole {
        check_ingested(ing, &SCHEMA, None);
    }
    // The same file cut into chunks of 1 to 97 bytes (pieces of eight
    // chunks), as a registry-size export is cut at 1 MiB and 8 MiB: the
    // same rows, rejects, line account or error, whatever the cuts.
    let chunk = 1 + file.len() % 97;
    let chunked = ingest_bytes_chunked(&source, &SCHEMA, file, Some(chunk));
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => {
            assert!(
                a.frame.equals_missing(&b.frame) && a.frame.schema() == b.frame.schema(),
                "chunks of {chunk} bytes: another table"
            );
            assert_eq!(a.rejects, b.rejects, "chunks of {chunk} bytes: rejects");
            assert_eq!(a.account, b.account, "chunks of {chunk} bytes: account");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "chunks of {chunk} bytes: another error"),
        _ => panic!("chunks of {chunk} bytes: read in one piece and in chunks differ"),
    }
});

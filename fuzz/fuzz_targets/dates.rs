//! Date parsing: user-declared formats (chrono strftime and `excel-serial`)
//! against date texts.
//!
//! Input (text): the first line lists date formats separated by `|`; every
//! further line is one date cell. Each line is one row, which must be kept
//! or rejected: none may be lost.
#![no_main]

use cohortflow_core::schema::Schema;
use cohortflow_fuzz::*;
use cohortflow_ingest::{Source, ingest_bytes};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const SCHEMA_TEXT: &str = r#"
name = "dates"
[[column]]
name = "patient_id"
type = "string"
required = true
[[column]]
name = "d"
type = "date"
"#;

const SOURCE_TEXT: &str = r#"
[source]
name = "s"
centre = "S"
format = "csv"
path = "dates.csv"
on_error = "reject"
[source.columns]
patient_id = "id"
d = "d"
"#;

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| schema(SCHEMA_TEXT));
static SOURCE: LazyLock<Source> = LazyLock::new(|| source(SOURCE_TEXT, "dates.toml"));

fuzz_target!(|data: &[u8]| {
    let_third_party_panics_unwind();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let formats: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split('|')
        .map(str::to_string)
        .collect();
    let mut source: Source = SOURCE.clone();
    if let Some(m) = source.config.columns.get_mut("d") {
        m.get_mut().date_formats = formats;
    }
    let mut csv = String::from("id,d\n");
    let mut rows = 0;
    for (i, cell) in lines.enumerate() {
        csv.push_str(&format!("{i},\"{}\"\n", cell.replace('"', "\"\"")));
        rows += 1;
    }
    if let Ok(ing) = ingest_bytes(&source, &SCHEMA, csv.as_bytes()) {
        check_ingested(&ing, &SCHEMA, Some(rows));
    }
});

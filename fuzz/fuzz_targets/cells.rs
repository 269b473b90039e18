//! Cell conversion: value maps, missing codes, decimal marks, units, and the
//! conversion into each canonical type.
//!
//! Input (text): byte 0 picks the column type (bits 0-2: string, category,
//! integer, float, date, boolean), decimal comma (bit 3), required (bit 4)
//! and the export's unit (bits 5-7: none, mm, cm, m, g, days, months, years).
//! Line 1 (after byte 0) is the value map, `code=target` pairs separated by
//! tabs (empty: no map); line 2 the missing codes, tab-separated; every
//! further line is one cell, and one row that must be kept or rejected.
#![no_main]

use cohortflow_core::schema::{Schema, Unit};
use cohortflow_fuzz::*;
use cohortflow_ingest::{Source, ingest_bytes};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const TYPES: [&str; 6] = ["string", "category", "integer", "float", "date", "boolean"];

static SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    TYPES
        .iter()
        .map(|t| {
            let extra = match *t {
                "category" => "levels = [\"M\", \"F\", \"x y\"]\n",
                "integer" | "float" => "unit = \"mm\"\n",
                _ => "",
            };
            schema(&format!(
                "name = \"cells\"\n[[column]]\nname = \"patient_id\"\ntype = \"string\"\n\
                 required = true\n[[column]]\nname = \"v\"\ntype = \"{t}\"\n{extra}"
            ))
        })
        .collect()
});

const SOURCE_TEXT: &str = r#"
[source]
name = "s"
centre = "S"
format = "csv"
path = "cells.csv"
on_error = "reject"
date_formats = ["%d.%m.%Y", "%Y-%m-%d", "excel-serial"]
[source.csv]
separator = ";"
[source.columns]
patient_id = "id"
v = "v"
"#;

static SOURCE: LazyLock<Source> = LazyLock::new(|| source(SOURCE_TEXT, "cells.toml"));

fuzz_target!(|data: &[u8]| {
    let_third_party_panics_unwind();
    let Some((&b, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let schema = &SCHEMAS[usize::from(b & 7) % TYPES.len()];
    let mut source = SOURCE.clone();
    source.config.csv.decimal_comma = b & 8 != 0;
    let mut lines = text.split('\n');
    let map_line = lines.next().unwrap_or("");
    let missing_line = lines.next().unwrap_or("");
    if let Some(m) = source.config.columns.get_mut("v") {
        let m = m.get_mut();
        if !map_line.is_empty() {
            let map: BTreeMap<String, String> = map_line
                .split('\t')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (pair.to_string(), String::new()),
                })
                .collect();
            m.values = Some(map);
        }
        if !missing_line.is_empty() {
            m.missing = missing_line.split('\t').map(str::to_string).collect();
        }
        m.unit = [
            None,
            Some(Unit::Mm),
            Some(Unit::Cm),
            Some(Unit::M),
            Some(Unit::G),
            Some(Unit::Days),
            Some(Unit::Months),
            Some(Unit::Years),
        ][usize::from(b >> 5)];
    }
    let required = b & 16 != 0;
    let mut schema = schema.clone();
    schema.columns[1].required = required;
    let mut csv = String::from("id;v\n");
    let mut rows = 0;
    for (i, cell) in lines.enumerate() {
        csv.push_str(&format!("{i};\"{}\"\n", cell.replace('"', "\"\"")));
        rows += 1;
    }
    if let Ok(ing) = ingest_bytes(&source, &schema, csv.as_bytes()) {
        check_ingested(&ing, &schema, Some(rows));
    }
});

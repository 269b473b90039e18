//! Every value of every file in `fixtures/statfiles/` as haven read it
//! (`conformance/haven.json`): numbers exactly (bit for bit), strings
//! exactly, dates as days since 1970-01-01 (a datetime: the day it falls
//! on), missing as missing (system, user-declared, extended and special
//! missing alike), and each variable's value labels.

use crate::{repo, statfile};
use cohortflow_ingest::{Format, StatCell, read_table};
use serde_json::Value;

fn format_of(file: &str) -> Format {
    match file.rsplit('.').next().unwrap() {
        "sav" | "zsav" => Format::Spss,
        "dta" => Format::Stata,
        "xpt" | "sas7bdat" => Format::Sas,
        other => panic!("no format for .{other}"),
    }
}

fn days(d: chrono::NaiveDate) -> i64 {
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
}

#[test]
fn every_value_is_havens() {
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/haven.json")).unwrap(),
    )
    .unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 9, "every file of conformance/haven.R");
    let mut compared = 0usize;
    for f in files {
        let name = f["file"].as_str().unwrap();
        let table =
            read_table(&statfile(name), format_of(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            table.rows as u64,
            f["rows"].as_u64().unwrap(),
            "{name}: rows"
        );
        let cols = f["columns"].as_array().unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let ours: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(ours, names, "{name}: variables");
        for (col, c) in table.columns.iter().zip(cols) {
            let kind = c["kind"].as_str().unwrap();
            let values = c["values"].as_array().unwrap();
            for (i, (cell, want)) in col.cells.iter().zip(values).enumerate() {
                let at = format!("{name} {} record {}", col.name, i + 1);
                match (cell, want) {
                    (StatCell::Missing, Value::Null) => {}
                    (StatCell::Number(x), Value::String(n)) if kind == "number" => {
                        let want: f64 = n.parse().unwrap();
                        assert_eq!(x.to_bits(), want.to_bits(), "{at}: {x} vs {want}");
                    }
                    (StatCell::Text(s), Value::String(w)) if kind == "string" => {
                        assert_eq!(s, w, "{at}")
                    }
                    (StatCell::Date(d), Value::Number(n))
                        if kind == "date" || kind == "datetime" =>
                    {
                        assert_eq!(days(*d), n.as_i64().unwrap(), "{at}")
                    }
                    (got, want) => panic!("{at} ({kind}): read {got:?}, haven {want}"),
                }
                compared += 1;
            }
            let want: std::collections::HashMap<String, String> = c
                .get("labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(col.labels, want, "{name} {}: value labels", col.name);
        }
    }
    // 3 x 228 x 14 (SPSS) + 205 x 10 + 205 x 9 (Stata) + 1384 x 12 + 1384 x 13
    // (transport) + 228 x 8 + 150 x 5 (SAS7BDAT).
    assert_eq!(
        compared,
        3 * 228 * 14 + 205 * 19 + 1384 * 25 + 228 * 8 + 150 * 5
    );
}

/// The special cases of the files, named, so that a reader that read every
/// value as missing could not pass the test above unnoticed.
#[test]
fn missing_codes_dates_and_text_are_read_as_meant() {
    let lung = read_table(&statfile("lung.sav"), Format::Spss).unwrap();
    let col = |t: &cohortflow_ingest::StatTable, n: &str| {
        t.columns
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .cells
            .clone()
    };
    // ph_ecog 9 ("not assessed") is user-missing; meal_cal 9000-9999 a
    // missing range; "н/д" a missing string.
    let missing = |cells: &[StatCell]| cells.iter().filter(|c| **c == StatCell::Missing).count();
    assert_eq!(missing(&col(&lung, "ph_ecog")), 1);
    assert_eq!(missing(&col(&lung, "meal_cal")), 47);
    assert_eq!(missing(&col(&lung, "note")), 45);
    assert_eq!(col(&lung, "centre")[0], StatCell::Text("Центр №3".into()));
    // 1965-06-15: before 1970.
    assert_eq!(
        col(&lung, "dx_date")[0],
        StatCell::Date(chrono::NaiveDate::from_ymd_opt(1965, 6, 15).unwrap())
    );
    let mel = read_table(&statfile("melanoma.dta"), Format::Stata).unwrap();
    // .a every 11th record, .b every 23rd.
    assert_eq!(missing(&col(&mel, "thickness")), 26);
    let mg = read_table(&statfile("mgus2.xpt"), Format::Sas).unwrap();
    assert_eq!(missing(&col(&mg, "hgb")), 13);
    assert_eq!(col(&mg, "hgb")[0], StatCell::Number(13.1));
}

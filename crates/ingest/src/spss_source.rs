//! SPSS `.sav` (uncompressed or bytecode-compressed) and `.zsav` (zlib)
//! through `ambers`, a pure-Rust reader (MIT).
//!
//! ambers gives the data as Arrow arrays and the dictionary as metadata:
//! value labels, missing-value declarations (up to three discrete values,
//! or a range and one value; discrete strings), display formats. Numbers
//! come as doubles with system missing as null; variables with a date
//! format (DATE, ADATE, EDATE, SDATE, JDATE, ...) as days since 1970 and
//! datetimes (DATETIME, YMDHMS) as microseconds since 1970, ambers having
//! converted from SPSS's seconds since 1582-10-14. User-missing values are
//! not applied by ambers: they are applied here, on the value the file
//! stores (for a date variable, the declaration is converted the same way).

use crate::cell::number_text;
use crate::statfile::{StatCell, StatColumn, StatTable, date_cell};
use ambers::MissingSpec;
use arrow_array::{
    Array, Date32Array, DurationMicrosecondArray, Float64Array, StringArray, StringViewArray,
    TimestampMicrosecondArray,
};
use std::collections::HashMap;

const FIX_DAMAGED: &str = "the file is damaged, truncated or not an SPSS .sav/.zsav file; save it \
                           again from SPSS (File > Save As > SPSS Statistics) or export it again";

/// Seconds of SPSS's epoch (1582-10-14) before 1970-01-01.
const SPSS_EPOCH_SECONDS: f64 = 12_219_379_200.0;

pub(crate) fn table(bytes: Vec<u8>) -> Result<StatTable, (String, String)> {
    let read = crate::guard(|| ambers::read_sav_from_reader(std::io::Cursor::new(bytes))).map_err(
        |p| {
            (
                format!("the SPSS reader failed: {p}"),
                FIX_DAMAGED.to_string(),
            )
        },
    )?;
    let (batch, meta) = read.map_err(|e| {
        (
            format!("cannot read the SPSS file: {e}"),
            FIX_DAMAGED.to_string(),
        )
    })?;
    for w in &meta.warnings {
        // A disagreement that can lose or change values stops the run;
        // the others (a case size the writer left at -1) are notes.
        if w.contains("rows were read") || w.contains("set to null") || w.contains("bias") {
            return Err((
                format!("the SPSS file is inconsistent: {w}"),
                FIX_DAMAGED.into(),
            ));
        }
        tracing::warn!("SPSS file: {w}");
    }
    let rows = batch.num_rows();
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (k, field) in batch.schema().fields().iter().enumerate() {
        let name = field.name().clone();
        let array = batch.column(k);
        let missing = meta
            .variable_missing_values
            .get(&name)
            .cloned()
            .unwrap_or_default();
        let labels: HashMap<String, String> = meta
            .variable_value_labels
            .get(&name)
            .map(|l| {
                l.iter()
                    .map(|(code, label)| {
                        let code = match code {
                            ambers::Value::Numeric(f) => number_text(*f),
                            ambers::Value::String(s) => s.trim_end().to_string(),
                        };
                        (code, label.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let any = array.as_any();
        let cells: Vec<StatCell> = if let Some(a) = any.downcast_ref::<Float64Array>() {
            (0..rows)
                .map(|i| {
                    if a.is_null(i) {
                        return StatCell::Missing;
                    }
                    let v = a.value(i);
                    if numeric_missing(v, &missing) {
                        StatCell::Missing
                    } else {
                        StatCell::Number(v)
                    }
                })
                .collect()
        } else if let Some(a) = any.downcast_ref::<Date32Array>() {
            // The declaration is in SPSS seconds; the value in days.
            let missing = days_missing(&missing, 86_400.0);
            (0..rows)
                .map(|i| {
                    if a.is_null(i) {
                        return StatCell::Missing;
                    }
                    let d = f64::from(a.value(i));
                    if numeric_missing(d, &missing) {
                        StatCell::Missing
                    } else {
                        date_cell(d)
                    }
                })
                .collect()
        } else if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
            let missing = days_missing(&missing, 1.0e-6);
            (0..rows)
                .map(|i| {
                    if a.is_null(i) {
                        return StatCell::Missing;
                    }
                    let us = a.value(i) as f64;
                    if numeric_missing(us, &missing) {
                        StatCell::Missing
                    } else {
                        date_cell(a.value(i).div_euclid(86_400_000_000) as f64)
                    }
                })
                .collect()
        } else if let Some(a) = any.downcast_ref::<DurationMicrosecondArray>() {
            // A time of day or a duration: its seconds, as a number.
            (0..rows)
                .map(|i| {
                    if a.is_null(i) {
                        return StatCell::Missing;
                    }
                    let s = a.value(i) as f64 / 1.0e6;
                    if numeric_missing(s, &missing) {
                        StatCell::Missing
                    } else {
                        StatCell::Number(s)
                    }
                })
                .collect()
        } else if let Some(a) = any.downcast_ref::<StringViewArray>() {
            (0..rows)
                .map(|i| text_cell((!a.is_null(i)).then(|| a.value(i)), &missing))
                .collect()
        } else if let Some(a) = any.downcast_ref::<StringArray>() {
            (0..rows)
                .map(|i| text_cell((!a.is_null(i)).then(|| a.value(i)), &missing))
                .collect()
        } else {
            return Err((
                format!(
                    "SPSS variable \"{name}\" has a storage type ({}) cohortflow does not read",
                    field.data_type()
                ),
                "save the variable as a number, a string or a date in SPSS".into(),
            ));
        };
        columns.push(StatColumn {
            name,
            cells,
            labels,
        });
    }
    Ok(StatTable { columns, rows })
}

fn numeric_missing(v: f64, specs: &[MissingSpec]) -> bool {
    specs.iter().any(|s| match s {
        MissingSpec::Value(m) => v == *m,
        MissingSpec::Range { lo, hi } => *lo <= v && v <= *hi,
        MissingSpec::StringValue(_) => false,
    })
}

/// Missing-value declarations of a date or datetime variable, in SPSS
/// seconds since 1582-10-14, in the unit ambers gives the values: days
/// since 1970 (`divisor` 86400) or microseconds since 1970 (`divisor`
/// 1e-6).
fn days_missing(specs: &[MissingSpec], divisor: f64) -> Vec<MissingSpec> {
    let conv = |s: f64| (s - SPSS_EPOCH_SECONDS) / divisor;
    specs
        .iter()
        .map(|s| match s {
            MissingSpec::Value(v) => MissingSpec::Value(conv(*v)),
            MissingSpec::Range { lo, hi } => MissingSpec::Range {
                lo: conv(*lo),
                hi: conv(*hi),
            },
            other => other.clone(),
        })
        .collect()
}

fn text_cell(value: Option<&str>, specs: &[MissingSpec]) -> StatCell {
    let Some(v) = value else {
        return StatCell::Missing;
    };
    // SPSS pads strings with blanks to their width.
    let v = v.trim_end_matches(' ');
    let declared = specs
        .iter()
        .any(|s| matches!(s, MissingSpec::StringValue(m) if m.trim_end_matches(' ') == v));
    if declared {
        StatCell::Missing
    } else {
        StatCell::Text(v.to_string())
    }
}

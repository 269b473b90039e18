//! Statistical files (SPSS, Stata, SAS): one table of typed cells, whatever
//! the package, and the one way its rows go into the converter.
//!
//! Each reader (`spss_source`, `stata_source`, `sas_source`) turns its file
//! into a [`StatTable`]: the variables in file order, each with its cells
//! and its value labels. A cell is already what the package meant by it:
//! a system- or user-declared missing value (SPSS missing values and
//! ranges, Stata `.` and `.a`–`.z`, SAS `.`, `._` and `.A`–`.Z`) is
//! [`StatCell::Missing`]; a value whose display format is a date or a
//! datetime is the [`StatCell::Date`] it falls on (the package's epoch and
//! unit converted: SPSS seconds since 1582-10-14, Stata days or %tc
//! milliseconds since 1960-01-01, SAS days or seconds since 1960-01-01; a
//! datetime gives the day it falls on).
//!
//! [`push`] hands the rows to the converter, record by record: a row's
//! "line" (`source_row`, rejects, errors) is its **record number**, 1-based,
//! counting data records only (there is no header line). A labelled code of a
//! category column, or of a column the source maps with `values`, reads as
//! its label's text unless the source says `value_labels = "codes"`.

use crate::cell::{RawCell, number_text};
use crate::config::{Source, ValueLabels};
use crate::converter::Converter;
use crate::error::IngestError;
use crate::headers::resolve;
use chrono::NaiveDate;
use cohortflow_core::schema::ColumnType;
use std::collections::HashMap;

/// Days from 1960-01-01 (Stata's and SAS's epoch) to 1970-01-01.
pub(crate) const DAYS_1960_TO_1970: f64 = 3653.0;

/// One cell of a statistical file, as the package meant it.
#[derive(Debug, Clone, PartialEq)]
pub enum StatCell {
    /// System missing, or a declared (user, extended, special) missing code.
    Missing,
    /// A number (integer storage types included).
    Number(f64),
    /// Text, with the padding the format adds removed.
    Text(String),
    /// A date, or the day a datetime falls on.
    Date(NaiveDate),
    /// A date or datetime value outside the calendar chrono represents.
    BadDate,
}

/// One variable of a statistical file.
#[derive(Debug, Clone, Default)]
pub struct StatColumn {
    pub name: String,
    pub cells: Vec<StatCell>,
    /// Value labels: the code as text (`number_text` for numbers: `1`,
    /// `7.5`) to its label.
    pub labels: HashMap<String, String>,
}

/// A whole statistical file.
#[derive(Debug, Clone, Default)]
pub struct StatTable {
    pub columns: Vec<StatColumn>,
    pub rows: usize,
}

impl StatTable {
    /// Checks that every column has `rows` cells (a reader's own invariant).
    pub fn check(&self) -> Result<(), String> {
        for c in &self.columns {
            if c.cells.len() != self.rows {
                return Err(format!(
                    "variable \"{}\" has {} values but the file has {} records",
                    c.name,
                    c.cells.len(),
                    self.rows
                ));
            }
        }
        Ok(())
    }
}

/// The code of a cell as the text a value label is keyed by.
pub(crate) fn code_text(cell: &StatCell) -> Option<String> {
    match cell {
        StatCell::Number(f) => Some(number_text(*f)),
        StatCell::Text(s) => Some(s.clone()),
        _ => None,
    }
}

/// Days since 1970-01-01 to a date; `None` outside chrono's calendar.
pub(crate) fn date_from_unix_days(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::try_days(days)?)
}

/// A date cell from days since 1970-01-01 (`floor`ed: a datetime gives the
/// day it falls on, also before 1970).
pub(crate) fn date_cell(days: f64) -> StatCell {
    if !days.is_finite() || days.abs() > 1.0e8 {
        return StatCell::BadDate;
    }
    date_from_unix_days(days.floor() as i64).map_or(StatCell::BadDate, StatCell::Date)
}

/// Hands the table's records to the converter, record number as the line.
pub(crate) fn push(
    source: &Source,
    conv: &mut Converter,
    table: &StatTable,
) -> Result<(), IngestError> {
    let cfg = &source.config;
    let toml = source.file.display().to_string();
    let headers: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    resolve(
        conv,
        &headers,
        0,
        &format!("the variable list of the {} file", cfg.format.name()),
        cfg.unmapped_columns,
        &toml,
        |_| None,
    )
    .map_err(|mut e| {
        // There is no header line: the variables are named in the file's
        // dictionary.
        e.line = None;
        e.fix = e.fix.replace(
            "set header_row in [source.csv] of",
            "check the variable names (not their labels) in",
        );
        e
    })?;
    // Which fields read a labelled code as its label.
    let mut use_label = vec![false; headers.len()];
    if cfg.value_labels == ValueLabels::Labels {
        for (k, &f) in conv.fields.iter().enumerate() {
            let plan = &conv.plans[k];
            let mapped = cfg
                .columns
                .get(&plan.canonical)
                .is_some_and(|m| m.get_ref().values.is_some());
            if mapped || plan.kind == ColumnType::Category {
                use_label[f] = true;
            }
        }
    }
    let texts: Vec<Vec<Option<String>>> = table
        .columns
        .iter()
        .enumerate()
        .map(|(f, c)| {
            if !use_label[f] || c.labels.is_empty() {
                return Vec::new();
            }
            c.cells
                .iter()
                .map(|cell| code_text(cell).and_then(|code| c.labels.get(&code).cloned()))
                .collect()
        })
        .collect();
    for i in 0..table.rows {
        let row = i as i64 + 1;
        conv.push_row(row, |f| {
            let Some(col) = table.columns.get(f) else {
                return RawCell::Empty;
            };
            if let Some(Some(label)) = texts[f].get(i) {
                return RawCell::Text(label);
            }
            match &col.cells[i] {
                StatCell::Missing => RawCell::Empty,
                StatCell::Number(x) => RawCell::Number(*x),
                StatCell::Text(s) => RawCell::Text(s),
                StatCell::Date(d) => RawCell::Date(*d),
                StatCell::BadDate => RawCell::Error(crate::cell::CellIssue::DateOutOfRange),
            }
        })?;
    }
    if table.rows == 0 {
        return Err(conv.error(
            format!(
                "the {} file has its variables but no records",
                cfg.format.name()
            ),
            "check the export: a filter or a query that selected nobody; if the centre has no \
             patients, remove the source from the pipeline",
        ));
    }
    Ok(())
}

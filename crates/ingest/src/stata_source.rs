//! Stata `.dta`, every released format (102–119), through `dta`, a
//! pure-Rust reader (MIT).
//!
//! The value labels come after the data in a `.dta` file, so the records
//! are read first and labelled afterwards. System missing `.` and the
//! extended missing values `.a`–`.z` are all missing. A variable whose
//! display format is a daily date (`%td…`, and the old `%d…`) holds days
//! since 1960-01-01; a `%tc…`/`%tC…` datetime milliseconds since
//! 1960-01-01 00:00 (the day it falls on is read). Weekly, monthly,
//! quarterly, half-yearly and yearly formats (`%tw`, `%tm`, `%tq`, `%th`,
//! `%ty`) are periods, not days: they read as numbers. Byte, int and long
//! variables read as whole numbers; float (4-byte) values are widened to
//! double exactly as Stata and R do.

use crate::statfile::{DAYS_1960_TO_1970, StatCell, StatColumn, StatTable, date_cell};
use dta::stata::dta::dta_reader::DtaReader;
use dta::stata::dta::long_string_ref::LongStringRef;
use dta::stata::dta::long_string_table::LongStringTable;
use dta::stata::dta::value::Value;
use dta::stata::dta::value_label_table::ValueLabelTable;
use dta::stata::stata_byte::StataByte;
use dta::stata::stata_double::StataDouble;
use dta::stata::stata_float::StataFloat;
use dta::stata::stata_int::StataInt;
use dta::stata::stata_long::StataLong;
use std::collections::HashMap;

const FIX_DAMAGED: &str = "the file is damaged, truncated or not a Stata .dta file; save it again \
                           from Stata (`save`, or `saveold` for an older release) or export it \
                           again";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Days,
    Millis,
}

fn kind_of(format: &str) -> Kind {
    let f = format.trim_start_matches('%').trim_start_matches('-');
    if f.starts_with("td") || (f.starts_with('d') && !f.starts_with("dt")) {
        Kind::Days
    } else if f.starts_with("tc") || f.starts_with("tC") {
        Kind::Millis
    } else {
        Kind::Number
    }
}

/// A cell before the long strings (strL) are read.
enum Pending {
    Cell(StatCell),
    Long(LongStringRef),
}

fn err(e: impl std::fmt::Display) -> (String, String) {
    (
        format!("cannot read the Stata file: {e}"),
        FIX_DAMAGED.to_string(),
    )
}

pub(crate) fn table(bytes: Vec<u8>) -> Result<StatTable, (String, String)> {
    // Releases 117 and later are framed by tags: a file that does not end
    // with its closing tag was cut (the reader itself stops at the value
    // labels and would not notice).
    if bytes.starts_with(b"<stata_dta>") && !bytes.trim_ascii_end().ends_with(b"</stata_dta>") {
        return Err((
            "the Stata file is truncated: it does not end with </stata_dta>".into(),
            FIX_DAMAGED.into(),
        ));
    }
    crate::guard(|| read(bytes))
        .map_err(|p| (format!("the Stata reader failed: {p}"), FIX_DAMAGED.into()))?
}

fn read(bytes: Vec<u8>) -> Result<StatTable, (String, String)> {
    let header = DtaReader::new().from_reader(std::io::Cursor::new(bytes));
    let schema_reader = header.read_header().map_err(err)?;
    let declared = schema_reader.header().observation_count();
    let mut chars = schema_reader.read_schema().map_err(err)?;
    chars.skip_to_end().map_err(err)?;
    let mut records = chars.into_record_reader().map_err(err)?;
    let schema = records.schema().clone();
    let vars = schema.variables();
    let kinds: Vec<Kind> = vars.iter().map(|v| kind_of(v.format())).collect();
    let mut pending: Vec<Vec<Pending>> = vars.iter().map(|_| Vec::new()).collect();
    let mut rows = 0usize;
    while let Some(record) = records.read_record().map_err(err)? {
        for (k, value) in record.values().iter().enumerate() {
            let cell = match value {
                Value::Byte(StataByte::Present(x)) => number(f64::from(*x), kinds[k]),
                Value::Int(StataInt::Present(x)) => number(f64::from(*x), kinds[k]),
                Value::Long(StataLong::Present(x)) => number(f64::from(*x), kinds[k]),
                Value::Float(StataFloat::Present(x)) => number(f64::from(*x), kinds[k]),
                Value::Double(StataDouble::Present(x)) => number(*x, kinds[k]),
                Value::Byte(StataByte::Missing(_))
                | Value::Int(StataInt::Missing(_))
                | Value::Long(StataLong::Missing(_))
                | Value::Float(StataFloat::Missing(_))
                | Value::Double(StataDouble::Missing(_)) => Pending::Cell(StatCell::Missing),
                Value::String(s) => Pending::Cell(StatCell::Text(s.to_string())),
                Value::LongStringRef(r) => Pending::Long(*r),
            };
            if let Some(col) = pending.get_mut(k) {
                col.push(cell);
            }
        }
        rows += 1;
    }
    if declared != rows as u64 {
        return Err((
            format!("the Stata file declares {declared} records but {rows} could be read"),
            FIX_DAMAGED.into(),
        ));
    }
    let mut long_reader = records.into_long_string_reader().map_err(err)?;
    let encoding = long_reader.encoding();
    let mut longs = LongStringTable::for_reading();
    long_reader.read_remaining_into(&mut longs).map_err(err)?;
    let mut label_reader = long_reader.into_value_label_reader().map_err(err)?;
    let mut sets = ValueLabelTable::new();
    label_reader.read_remaining_into(&mut sets).map_err(err)?;

    let mut columns = Vec::with_capacity(vars.len());
    for (var, cells) in vars.iter().zip(pending) {
        let cells = cells
            .into_iter()
            .map(|p| match p {
                Pending::Cell(c) => Ok(c),
                Pending::Long(r) => {
                    let s = longs.get(&r).ok_or_else(|| {
                        (
                            format!(
                                "a long string (strL) of variable \"{}\" is missing from the file",
                                var.name()
                            ),
                            FIX_DAMAGED.to_string(),
                        )
                    })?;
                    Ok(StatCell::Text(
                        s.data_str(encoding)
                            .map(|t| t.trim_end_matches('\0').to_string())
                            .unwrap_or_default(),
                    ))
                }
            })
            .collect::<Result<Vec<_>, (String, String)>>()?;
        let labels: HashMap<String, String> = match var.value_label_name() {
            "" => HashMap::new(),
            name => sets
                .get(name)
                .map(|set| {
                    set.entries()
                        .iter()
                        .map(|e| (e.value().to_string(), e.label().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        columns.push(StatColumn {
            name: var.name().to_string(),
            cells,
            labels,
        });
    }
    Ok(StatTable { columns, rows })
}

fn number(x: f64, kind: Kind) -> Pending {
    Pending::Cell(match kind {
        Kind::Number => StatCell::Number(x),
        Kind::Days => date_cell(x - DAYS_1960_TO_1970),
        Kind::Millis => date_cell((x / 86_400_000.0).floor() - DAYS_1960_TO_1970),
    })
}

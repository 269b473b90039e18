//! SAS: `.sas7bdat` through `sas7bdat`, a pure-Rust reader (MIT), and the
//! transport format `.xpt` (v5 and v8) with the small reader below. Which
//! of the two a file is, its first bytes say (a transport file starts with
//! its library header record).
//!
//! SAS has no value labels inside a data file (they live in a format
//! catalog), so a SAS column maps codes or texts as written. Missing
//! values, `.`, `._` and the special missing `.A`–`.Z`, are all missing. A
//! variable whose format is a date (DATE, DDMMYY, MMDDYY, YYMMDD, E8601DA,
//! ...) holds days since 1960-01-01; a datetime (DATETIME, E8601DT, ...)
//! seconds since 1960-01-01 00:00 (the day it falls on is read); a time
//! (TIME, HHMM, TOD) its seconds, read as a number.
//!
//! Why a hand-written transport reader: no crate in reach reads `.xpt`
//! (the `sas7bdat` crate reads SAS7BDAT only, and ReadStat, which R's haven
//! uses, is C and not in this project's registry mirror). The format is
//! small and fully documented by SAS (TS-140, "The record layout of a SAS
//! transport file", and its v8 supplement): 80-byte records; header records
//! for the library, the member, the descriptor, the variables (one
//! 140-byte NAMESTR each) and the observations; then the observations
//! back to back, numbers as big-endian IBM System/360 hexadecimal floats of
//! 2 to 8 bytes (the low bytes cut off), texts blank-padded, the last
//! record padded with blanks. It is proven against haven on the files in
//! `fixtures/statfiles` (`conformance/haven.R`).

use crate::statfile::{DAYS_1960_TO_1970, StatCell, StatColumn, StatTable, date_cell};
use sas7bdat::{Dataset, LogicalType, OwnedCellValue};

const FIX_DAMAGED: &str = "the file is damaged, truncated or not a SAS data set; export it again \
                           from SAS (PROC EXPORT, or PROC COPY / XPORT for a transport file)";

const RECORD: usize = 80;
const HEADER: &[u8] = b"HEADER RECORD*******";

pub(crate) fn table(bytes: Vec<u8>) -> Result<StatTable, (String, String)> {
    if bytes.starts_with(HEADER) {
        crate::guard(|| xpt(&bytes)).map_err(|p| {
            (
                format!("the SAS transport reader failed: {p}"),
                FIX_DAMAGED.into(),
            )
        })?
    } else {
        crate::guard(|| sas7bdat_table(bytes)).map_err(|p| {
            (
                format!("the SAS7BDAT reader failed: {p}"),
                FIX_DAMAGED.into(),
            )
        })?
    }
}

fn sas7bdat_table(bytes: Vec<u8>) -> Result<StatTable, (String, String)> {
    let err = |e: sas7bdat::Error| {
        (
            format!("cannot read the SAS7BDAT file: {e}"),
            FIX_DAMAGED.to_string(),
        )
    };
    let ds = Dataset::from_bytes(bytes).map_err(err)?;
    let meta = ds.metadata();
    let expected = meta.row_count.saturating_sub(meta.deleted_row_count);
    let rows = ds.collect_rows().map_err(err)?;
    if rows.len() as u64 != expected {
        return Err((
            format!(
                "the SAS7BDAT file declares {expected} records but {} could be read",
                rows.len()
            ),
            FIX_DAMAGED.into(),
        ));
    }
    let mut columns: Vec<StatColumn> = ds
        .columns()
        .iter()
        .map(|c| StatColumn {
            name: c.name.trim().to_string(),
            cells: Vec::with_capacity(rows.len()),
            labels: Default::default(),
        })
        .collect();
    let kinds: Vec<LogicalType> = ds.columns().iter().map(|c| c.logical_type).collect();
    for row in &rows {
        if row.cells.len() != columns.len() {
            return Err((
                "a record of the SAS7BDAT file has a different number of values than the file \
                 has variables"
                    .into(),
                FIX_DAMAGED.into(),
            ));
        }
        for (k, cell) in row.cells.iter().enumerate() {
            let c = match cell {
                OwnedCellValue::Null => StatCell::Missing,
                OwnedCellValue::Int32(x) => StatCell::Number(f64::from(*x)),
                OwnedCellValue::Int64(x) => StatCell::Number(*x as f64),
                OwnedCellValue::Float64(x) if x.is_nan() => StatCell::Missing,
                OwnedCellValue::Float64(x) => match kinds[k] {
                    LogicalType::Date => date_cell(*x - DAYS_1960_TO_1970),
                    LogicalType::DateTime => date_cell((*x / 86_400.0).floor() - DAYS_1960_TO_1970),
                    _ => StatCell::Number(*x),
                },
                OwnedCellValue::String(s) => StatCell::Text(s.trim_end_matches(' ').to_string()),
                OwnedCellValue::Bytes(b) => {
                    StatCell::Text(String::from_utf8_lossy(b).trim_end_matches(' ').to_string())
                }
                OwnedCellValue::Date(d) => date_cell(f64::from(d.unix_days())),
                OwnedCellValue::DateTime(t) => {
                    date_cell(t.unix_seconds().div_euclid(86_400) as f64)
                }
                OwnedCellValue::Time(t) => StatCell::Number(f64::from(t.seconds_since_midnight)),
            };
            columns[k].cells.push(c);
        }
    }
    Ok(StatTable {
        columns,
        rows: rows.len(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Days,
    Seconds,
    Text,
}

/// SAS date and datetime formats (the format's name, without width).
fn kind_of_format(name: &str) -> Kind {
    let n = name.trim().to_ascii_uppercase();
    let n = n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    const DATETIMES: &[&str] = &[
        "DATETIME", "DATEAMPM", "E8601DT", "B8601DT", "E8601DN", "B8601DN", "IS8601DT", "MDYAMPM",
        "DTDATE", "DTYYMMDD",
    ];
    const DATES: &[&str] = &[
        "DATE", "DDMMYY", "DDMMYYB", "DDMMYYC", "DDMMYYD", "DDMMYYN", "DDMMYYP", "DDMMYYS",
        "MMDDYY", "MMDDYYB", "MMDDYYC", "MMDDYYD", "MMDDYYN", "MMDDYYP", "MMDDYYS", "YYMMDD",
        "YYMMDDB", "YYMMDDC", "YYMMDDD", "YYMMDDN", "YYMMDDP", "YYMMDDS", "E8601DA", "B8601DA",
        "IS8601DA", "EURDFDD", "EURDFDE", "JULIAN", "WEEKDATE", "WEEKDATX", "WORDDATE", "WORDDATX",
        "NLDATE", "MINGUO", "NENGO",
    ];
    if DATETIMES.contains(&n) {
        Kind::Seconds
    } else if DATES.contains(&n) {
        Kind::Days
    } else {
        Kind::Number
    }
}

struct Var {
    name: String,
    kind: Kind,
    len: usize,
    pos: usize,
}

fn damaged(what: impl Into<String>) -> (String, String) {
    (
        format!("the SAS transport file is damaged: {}", what.into()),
        FIX_DAMAGED.into(),
    )
}

fn be16(b: &[u8]) -> usize {
    u16::from_be_bytes([b[0], b[1]]) as usize
}

fn be32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

fn text(b: &[u8]) -> String {
    let b = match b.iter().rposition(|&c| c != b' ' && c != 0) {
        Some(end) => &b[..=end],
        None => &b[..0],
    };
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        // v5 files are single-byte; SAS writes them in Latin-1/Windows-1252.
        Err(_) => encoding_rs::WINDOWS_1252.decode(b).0.into_owned(),
    }
}

/// The start of the header record named `name` (e.g. `b"OBS"`) at or after
/// `from`, at a record boundary.
fn find_header(bytes: &[u8], from: usize, names: &[&[u8]]) -> Option<usize> {
    let mut at = from.div_ceil(RECORD) * RECORD;
    while at + RECORD <= bytes.len() {
        let rec = &bytes[at..at + RECORD];
        if rec.starts_with(HEADER) && names.iter().any(|n| rec[20..].starts_with(n)) {
            return Some(at);
        }
        at += RECORD;
    }
    None
}

fn xpt(bytes: &[u8]) -> Result<StatTable, (String, String)> {
    if bytes.len() < RECORD * 8 || bytes.len() % RECORD != 0 {
        return Err(damaged(format!(
            "its size ({} bytes) is not a whole number of 80-byte records",
            bytes.len()
        )));
    }
    let v8 = bytes[20..].starts_with(b"LIBV8");
    if !v8 && !bytes[20..].starts_with(b"LIBRARY") {
        return Err(damaged("the first record is not a library header"));
    }
    let member = find_header(bytes, RECORD, &[b"MEMBER", b"MEMBV8"])
        .ok_or_else(|| damaged("it has no member (data set) header"))?;
    // The NAMESTR length: 140 (136 on VAX/VMS).
    let namestr_len = std::str::from_utf8(&bytes[member + 74..member + 78])
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n == 140 || *n == 136)
        .ok_or_else(|| damaged("the member header does not give the variable record length"))?;
    let namestr = find_header(bytes, member + RECORD, &[b"NAMESTR", b"NAMSTV8"])
        .ok_or_else(|| damaged("it has no variable (NAMESTR) header"))?;
    let count = std::str::from_utf8(&bytes[namestr + 54..namestr + 58])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or_else(|| damaged("the variable header does not give the number of variables"))?;
    let first = namestr + RECORD;
    let end = first + count * namestr_len;
    if end > bytes.len() {
        return Err(damaged("the variable records run past the end of the file"));
    }
    let mut vars = Vec::with_capacity(count);
    for k in 0..count {
        let n = &bytes[first + k * namestr_len..first + (k + 1) * namestr_len];
        let numeric = match be16(&n[0..2]) {
            1 => true,
            2 => false,
            t => return Err(damaged(format!("variable {} has type {t}", k + 1))),
        };
        let len = be16(&n[4..6]);
        let short = text(&n[8..16]);
        let name = if v8 && namestr_len >= 120 {
            let long = text(&n[88..120]);
            if long.is_empty() { short } else { long }
        } else {
            short
        };
        let format = text(&n[56..64]);
        let pos = be32(&n[84..88]);
        let kind = if !numeric {
            Kind::Text
        } else if !(2..=8).contains(&len) {
            return Err(damaged(format!(
                "numeric variable \"{name}\" is {len} bytes long (2 to 8 allowed)"
            )));
        } else {
            kind_of_format(&format)
        };
        vars.push(Var {
            name,
            kind,
            len,
            pos,
        });
    }
    let row_len: usize = vars.iter().map(|v| v.len).sum();
    if vars.iter().any(|v| v.pos + v.len > row_len) {
        return Err(damaged("a variable lies outside the observation"));
    }
    let obs = find_header(bytes, end, &[b"OBS     ", b"OBSV8   "])
        .ok_or_else(|| damaged("it has no observation header"))?;
    let data_start = obs + RECORD;
    let data_end = find_header(bytes, data_start, &[b"MEMBER", b"MEMBV8"]);
    if data_end.is_some() {
        return Err((
            "the SAS transport file holds more than one data set; cohortflow reads files with \
             one"
            .into(),
            "export each data set to a transport file of its own".into(),
        ));
    }
    let data = &bytes[data_start..];
    let mut rows = data.len().checked_div(row_len).unwrap_or(0);
    // The last record is padded with blanks; a "row" of blanks that lies in
    // that padding is not an observation.
    while rows > 0 {
        let start = (rows - 1) * row_len;
        let row = &data[start..start + row_len];
        if start + RECORD >= data.len() && row.iter().all(|&b| b == b' ') {
            rows -= 1;
        } else {
            break;
        }
    }
    let rest = &data[rows * row_len..];
    if rest.iter().any(|&b| b != b' ') {
        return Err(damaged(
            "its last observation is incomplete (the file is probably truncated)",
        ));
    }
    let mut columns = Vec::with_capacity(vars.len());
    for v in &vars {
        let mut cells = Vec::with_capacity(rows);
        for i in 0..rows {
            let raw = &data[i * row_len + v.pos..i * row_len + v.pos + v.len];
            cells.push(match v.kind {
                Kind::Text => StatCell::Text(text(raw)),
                kind => match ibm_to_f64(raw) {
                    None => StatCell::Missing,
                    Some(x) => match kind {
                        Kind::Days => date_cell(x - DAYS_1960_TO_1970),
                        Kind::Seconds => date_cell((x / 86_400.0).floor() - DAYS_1960_TO_1970),
                        _ => StatCell::Number(x),
                    },
                },
            });
        }
        columns.push(StatColumn {
            name: v.name.clone(),
            cells,
            labels: Default::default(),
        });
    }
    Ok(StatTable { columns, rows })
}

/// An IBM System/360 hexadecimal float of 2 to 8 bytes (big-endian, the
/// low bytes cut off) as a double; `None` for SAS's missing values (`.`,
/// `._`, `.A`–`.Z`: that character, then zero bytes).
pub(crate) fn ibm_to_f64(b: &[u8]) -> Option<f64> {
    if b.len() >= 2
        && (b[0] == b'.' || b[0] == b'_' || b[0].is_ascii_uppercase())
        && b[1..].iter().all(|&x| x == 0)
    {
        return None;
    }
    let mut full = [0u8; 8];
    full[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    let bits = u64::from_be_bytes(full);
    let negative = bits >> 63 == 1;
    let exponent = ((bits >> 56) & 0x7f) as i32;
    let mantissa = bits & 0x00ff_ffff_ffff_ffff;
    if mantissa == 0 {
        return Some(0.0);
    }
    // value = 0.mantissa (56 bits) * 16^(exponent - 64)
    let v = (mantissa as f64) * 2f64.powi(4 * (exponent - 64) - 56);
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_floats() {
        // 1.0 = 0x41100000 00000000; -118.625 = 0xC276A000 00000000 (TS-140).
        assert_eq!(ibm_to_f64(&[0x41, 0x10, 0, 0, 0, 0, 0, 0]), Some(1.0));
        assert_eq!(
            ibm_to_f64(&[0xC2, 0x76, 0xA0, 0, 0, 0, 0, 0]),
            Some(-118.625)
        );
        assert_eq!(ibm_to_f64(&[0x41, 0x10, 0, 0]), Some(1.0));
        assert_eq!(ibm_to_f64(&[0, 0, 0, 0, 0, 0, 0, 0]), Some(0.0));
        assert_eq!(ibm_to_f64(&[b'.', 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(ibm_to_f64(&[b'A', 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(ibm_to_f64(&[b'_', 0, 0]), None);
    }

    #[test]
    fn date_formats() {
        assert_eq!(kind_of_format("DATE"), Kind::Days);
        assert_eq!(kind_of_format("yymmdd10."), Kind::Days);
        assert_eq!(kind_of_format("DATETIME"), Kind::Seconds);
        assert_eq!(kind_of_format("BEST"), Kind::Number);
        assert_eq!(kind_of_format(""), Kind::Number);
    }
}

//! XLSX (and the other workbook formats calamine reads) through calamine.

use crate::cell::{CellIssue, RawCell};
use crate::config::Source;
use crate::converter::Converter;
use crate::error::IngestError;
use crate::headers::resolve;
use crate::text::quoted;
use calamine::{Data, Range, Reader, Sheets, open_workbook_auto, open_workbook_auto_from_rs};
use chrono::NaiveDate;
use std::collections::HashMap;

pub(crate) fn read(source: &Source, conv: &mut Converter) -> Result<(), IngestError> {
    let path = source.data_path();
    let opened =
        crate::guard(|| open_workbook_auto(&path)).and_then(|r| r.map_err(|e| e.to_string()));
    read_book(source, conv, opened)
}

/// Reads a workbook given as bytes (the format is recognised from the content).
pub(crate) fn read_bytes(
    source: &Source,
    conv: &mut Converter,
    bytes: &[u8],
) -> Result<(), IngestError> {
    let opened = crate::guard(|| open_workbook_auto_from_rs(std::io::Cursor::new(bytes)))
        .and_then(|r| r.map_err(|e| e.to_string()));
    read_book(source, conv, opened)
}

fn read_book<RS: std::io::Read + std::io::Seek>(
    source: &Source,
    conv: &mut Converter,
    opened: Result<Sheets<RS>, String>,
) -> Result<(), IngestError> {
    let cfg = &source.config;
    let toml = source.file.display().to_string();
    let mut book = opened.map_err(|e| {
        conv.error(
            format!("cannot open the workbook: {e}"),
            "the file is damaged, truncated, password-protected or not a workbook; re-export it \
             from the spreadsheet program",
        )
    })?;
    let sheets = book.sheet_names();
    let sheet = match &cfg.sheet {
        Some(s) => {
            if !sheets.iter().any(|n| n == s) {
                return Err(conv
                    .error(
                        format!(
                            "the workbook has no sheet \"{s}\"; its sheets are {}",
                            quoted(&sheets)
                        ),
                        format!("set sheet to one of them in {toml}"),
                    )
                    .column(s.clone()));
            }
            s.clone()
        }
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| conv.error("the workbook has no sheets", "re-export the workbook"))?,
    };
    let range =
        crate::guard(|| book.worksheet_range(&sheet)).and_then(|r| r.map_err(|e| e.to_string()));
    let range = range.map_err(|e| {
        conv.error(
            format!("cannot read sheet \"{sheet}\": {e}"),
            "the file is damaged or truncated; re-export it from the spreadsheet program",
        )
    })?;
    let header_row = cfg.csv.header_row.max(1);
    let Some((r0, _)) = range.start() else {
        return Err(conv.error(
            format!("sheet \"{sheet}\" is empty"),
            format!("choose the sheet with the data (sheet = \"...\" in {toml})"),
        ));
    };
    let r0 = r0 as usize;
    let header_abs = header_row - 1;
    let rel = header_abs.checked_sub(r0).filter(|r| *r < range.height());
    let header = rel
        .and_then(|r| range.rows().nth(r))
        .filter(|row| row.iter().any(|c| !blank(c)));
    let (Some(rel), Some(header)) = (rel, header) else {
        return Err(conv.error(
            format!(
                "row {header_row} of sheet \"{sheet}\" is empty, so it cannot be the header; the \
                 first row with data is row {}",
                r0 + 1
            ),
            format!("set header_row = {} in [source.csv] of {toml}", r0 + 1),
        ));
    };
    let headers: Vec<String> = header
        .iter()
        .map(|c| cell(c).display().trim().to_string())
        .collect();
    resolve(
        conv,
        &headers,
        header_row as u64,
        &format!("row {header_row} of sheet \"{sheet}\""),
        cfg.unmapped_columns,
        &toml,
        |_| {
            (cfg.sheet.is_none() && sheets.len() > 1).then(|| {
                format!(
                    "No sheet was named, so the first sheet \"{sheet}\" was read; the workbook's \
                     sheets are {}: set sheet = \"...\" in the source file",
                    quoted(&sheets)
                )
            })
        },
    )?;
    let issues = cell_issues(&mut book, &sheet, &range);
    let c0 = range.start().map_or(0, |(_, c)| c);
    for (i, row) in range.rows().enumerate().skip(rel + 1) {
        let abs = (r0 + i) as u32;
        let row_no = i64::from(abs) + 1;
        let at = |k: usize| issues.get(&(abs, c0 + k as u32));
        if row.iter().all(blank) && !(0..row.len()).any(|k| at(k).is_some()) {
            conv.blank_row(row_no);
            continue;
        }
        conv.push_row(row_no, |k| match at(k) {
            Some(issue) => RawCell::Error(issue.clone()),
            None => row.get(k).map_or(RawCell::Empty, cell),
        })?;
    }
    if conv.rows_read() == 0 {
        return Err(conv
            .error(
                format!("sheet \"{sheet}\" has a header (row {header_row}) but no rows below it"),
                "check the export: a filter or a query that selected nobody, or the wrong sheet; \
                 if the centre has no patients, remove the source from the pipeline",
            )
            .at(header_row as u64));
    }
    Ok(())
}

/// The cells of the sheet that show no value of their own, by absolute
/// (row, column): the cells of a merged range other than its first, and
/// formulas saved without a value (calamine gives both as empty cells, which
/// would otherwise read as missing values).
fn cell_issues<RS: std::io::Read + std::io::Seek>(
    book: &mut Sheets<RS>,
    sheet: &str,
    range: &Range<Data>,
) -> HashMap<(u32, u32), CellIssue> {
    let mut issues = HashMap::new();
    let merged = match book {
        Sheets::Xlsx(x) => crate::guard(|| x.merge_cells_by_sheet_name(sheet))
            .ok()
            .and_then(Result::ok),
        Sheets::Xls(x) => x.merge_cells_by_sheet_name(sheet).ok(),
        _ => None,
    };
    // Only the cells inside the sheet's data range matter (calamine holds
    // that range densely, so this is bounded by it, whatever a damaged file
    // declares as merged).
    let (Some((top, left)), Some((bottom, right))) = (range.start(), range.end()) else {
        return issues;
    };
    for d in merged.unwrap_or_default() {
        for r in d.start.0.max(top)..=d.end.0.min(bottom) {
            for c in d.start.1.max(left)..=d.end.1.min(right) {
                if (r, c) != d.start {
                    issues.insert((r, c), CellIssue::Merged);
                }
            }
        }
    }
    if let Ok(Ok(formulas)) = crate::guard(|| book.worksheet_formula(sheet)) {
        let (fr, fc) = formulas.start().unwrap_or((0, 0));
        for (r, c, f) in formulas.used_cells() {
            let at = (fr + r as u32, fc + c as u32);
            let empty = range.get_value(at).is_none_or(|v| matches!(v, Data::Empty));
            if !f.trim().is_empty() && empty {
                issues.entry(at).or_insert(CellIssue::FormulaWithoutValue);
            }
        }
    }
    issues
}

fn blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn cell(c: &Data) -> RawCell<'_> {
    match c {
        Data::Empty => RawCell::Empty,
        Data::String(s) | Data::DurationIso(s) => RawCell::Text(s),
        // An ISO date cell (`t="d"`): a date, whatever its time of day.
        Data::DateTimeIso(s) => {
            let day = s.split('T').next().unwrap_or(s);
            match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => RawCell::Date(d),
                Err(_) => RawCell::Text(s),
            }
        }
        Data::Float(f) => RawCell::Number(*f),
        Data::Int(i) => RawCell::Int(*i),
        Data::Bool(b) => RawCell::Bool(*b),
        // calamine's conversion panics on absurd serials (it builds a chrono
        // duration from the value); keep to Excel's range 0..=9999-12-31.
        Data::DateTime(dt) if dt.is_datetime() && !(-1.0..=2_958_466.0).contains(&dt.as_f64()) => {
            RawCell::Error(CellIssue::DateOutOfRange)
        }
        Data::DateTime(dt) if dt.is_datetime() => match dt.as_datetime() {
            Some(d) => RawCell::Date(d.date()),
            None => RawCell::Error(CellIssue::DateOutOfRange),
        },
        Data::DateTime(dt) => RawCell::Number(dt.as_f64()),
        Data::Error(e) => RawCell::Error(CellIssue::SpreadsheetError(e.to_string())),
    }
}

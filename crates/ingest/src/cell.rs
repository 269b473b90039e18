//! Cells and values: a cell as a reader found it (`RawCell`), and the
//! canonical value it becomes (`Value`), with the number and value-map
//! target parsers they share.

use crate::reasons::{REASON_CELL_ERROR, REASON_FORMULA, REASON_MERGED};
use chrono::NaiveDate;
use cohortflow_core::schema::{ColumnDef, ColumnType};

/// What is wrong with one cell. The message and the fix never quote the
/// cell's value (the converter attaches it to an error only with
/// `--show-values`).
#[derive(Debug, Clone)]
pub struct CellProblem {
    pub reason: &'static str,
    pub message: String,
    pub fix: String,
}

pub(crate) fn problem(reason: &'static str, message: String, fix: String) -> CellProblem {
    CellProblem {
        reason,
        message,
        fix,
    }
}

/// A cell that holds no value a reader can give: never read as empty.
#[derive(Debug, Clone, PartialEq)]
pub enum CellIssue {
    /// A spreadsheet error value (`#N/A`, `#DIV/0!`): a code, not data.
    SpreadsheetError(String),
    /// A cell covered by a merged region, other than its top-left cell: the
    /// value shown in the sheet belongs to another cell.
    Merged,
    /// A formula saved without its computed (cached) value.
    FormulaWithoutValue,
    /// A date cell outside the calendar the reader can represent.
    DateOutOfRange,
}

impl CellIssue {
    pub(crate) fn problem(&self) -> CellProblem {
        match self {
            CellIssue::SpreadsheetError(e) => problem(
                REASON_CELL_ERROR,
                format!("the cell holds the spreadsheet error {e}"),
                "fix the formula in the workbook, or replace the error with a value".into(),
            ),
            CellIssue::Merged => problem(
                REASON_MERGED,
                "the cell is part of a merged range, so its value is not its own (the sheet \
                 shows the value of the range's first cell)"
                    .into(),
                "unmerge the cells in the workbook and fill in each row's value".into(),
            ),
            CellIssue::FormulaWithoutValue => problem(
                REASON_FORMULA,
                "the cell holds a formula that was saved without its value (the workbook was \
                 written by a program that does not compute formulas)"
                    .into(),
                "open the workbook in a spreadsheet program and save it again (that stores the \
                 values), or replace the formula with its value"
                    .into(),
            ),
            CellIssue::DateOutOfRange => problem(
                REASON_CELL_ERROR,
                "the cell is a date outside the calendar (year 1 to 9999) or Excel's range".into(),
                "correct the date in the workbook".into(),
            ),
        }
    }
}

/// A cell as a reader found it, before any conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCell<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    /// An exact integer (parquet integer columns).
    Int(i64),
    /// A real date cell (XLSX date-formatted cell, parquet date).
    Date(NaiveDate),
    Bool(bool),
    /// A cell with no value to read: an error value, a merged cell, a
    /// formula without its value.
    Error(CellIssue),
}

impl RawCell<'_> {
    /// The cell as text, for missing codes, value maps, keys and the rejects'
    /// `values` (shown only with `--show-values`); never for a message.
    pub fn display(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => (*s).to_string(),
            RawCell::Number(f) => number_text(*f),
            RawCell::Int(i) => i.to_string(),
            RawCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            RawCell::Bool(b) => b.to_string(),
            RawCell::Error(CellIssue::SpreadsheetError(e)) => e.clone(),
            RawCell::Error(_) => String::new(),
        }
    }

    /// What kind of cell it is, for messages (never its value).
    pub fn kind(&self) -> &'static str {
        match self {
            RawCell::Empty => "empty",
            RawCell::Text(_) => "text",
            RawCell::Number(_) | RawCell::Int(_) => "a number",
            RawCell::Date(_) => "a date",
            RawCell::Bool(_) => "a boolean",
            RawCell::Error(_) => "not readable",
        }
    }
}

/// `29` for 29.0, `7.5` for 7.5.
pub fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// A converted canonical value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    Bool(bool),
}

impl Value {
    /// The value as text (a date as YYYY-MM-DD), for keys and messages.
    pub fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Date(d) => NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(*d))))
                .map_or_else(|| d.to_string(), |d| d.format("%Y-%m-%d").to_string()),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// Parses a number written with the source's decimal mark. Errors are
/// (message, fix) with `<file>` standing for the source file.
pub fn parse_decimal(s: &str, decimal_comma: bool) -> Result<f64, (String, String)> {
    match plain_decimal(s.as_bytes(), decimal_comma) {
        Some(v) => Ok(v),
        None => checked_decimal(s, decimal_comma),
    }
}

/// [`parse_decimal`] with every check, for any text.
fn checked_decimal(s: &str, decimal_comma: bool) -> Result<f64, (String, String)> {
    let digits = s.trim_start_matches(['+', '-']);
    if digits.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\u{a0}') {
        return Err((
            "thousands separators are not accepted".into(),
            "write the number without grouping (12345.6) in the export".into(),
        ));
    }
    let normal: std::borrow::Cow<str> = if decimal_comma {
        if s.contains('.') {
            return Err((
                if s.contains(',') {
                    "it has a point and a comma; thousands separators are not accepted".into()
                } else {
                    "it has a decimal point, but the source declares decimal_comma = true".into()
                },
                "write the number with a decimal comma (7,5) as the rest of the export does, \
                 or set decimal_comma = false in [source.csv] of <file> if the export uses points"
                    .into(),
            ));
        }
        if s.matches(',').count() > 1 {
            return Err((
                "it has more than one comma; thousands separators are not accepted".into(),
                "write the number without grouping in the export".into(),
            ));
        }
        std::borrow::Cow::Owned(s.replacen(',', ".", 1))
    } else {
        if s.contains(',') {
            return Err((
                "it has a comma: a decimal comma or a thousands separator, but the source reads \
                 decimal points"
                    .into(),
                "set decimal_comma = true in [source.csv] of <file> if the export writes 7,5 \
                 (thousands separators are never accepted)"
                    .into(),
            ));
        }
        std::borrow::Cow::Borrowed(s)
    };
    match normal.parse::<f64>() {
        Ok(v) if v.is_finite() && normal.bytes().any(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err((
            "it is not a number".into(),
            "correct the value in the export, or declare it in `missing` if it is a code for an \
             unknown value"
                .into(),
        )),
    }
}

/// The common case of [`parse_decimal`] without its checks and its copy: an
/// optional sign, digits and at most one decimal mark (the declared one)
/// followed by digits. The text is what the checks would pass on to the
/// float parser, so the value is the same; anything else (or a number too
/// large) is `None`, for the full path to read or refuse.
fn plain_decimal(s: &[u8], decimal_comma: bool) -> Option<f64> {
    const MAX: usize = 48;
    if s.is_empty() || s.len() > MAX {
        return None;
    }
    let mark = if decimal_comma { b',' } else { b'.' };
    let body = match s[0] {
        b'+' | b'-' => &s[1..],
        _ => s,
    };
    let int = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if int == 0 {
        return None;
    }
    let rest = &body[int..];
    if !rest.is_empty()
        && (rest[0] != mark || rest.len() < 2 || !rest[1..].iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    let mut buf = [0u8; MAX];
    buf[..s.len()].copy_from_slice(s);
    if decimal_comma && !rest.is_empty() {
        buf[s.len() - rest.len()] = b'.';
    }
    let text = std::str::from_utf8(&buf[..s.len()]).ok()?;
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The canonical value a value-map target stands for. Targets are written in
/// canonical form: a level, `true`/`false`, `3`, `7.5`, `2020-01-31`.
pub(crate) fn canonical_value(def: &ColumnDef, target: &str) -> Result<Value, String> {
    match def.kind {
        ColumnType::String => Ok(Value::Str(target.to_string())),
        ColumnType::Category => {
            if def.levels.iter().any(|l| l == target) {
                Ok(Value::Str(target.to_string()))
            } else {
                Err(format!("which is not a level of '{}'", def.name))
            }
        }
        ColumnType::Boolean => match target {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("which is not \"true\" or \"false\"".into()),
        },
        ColumnType::Integer => target
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| "which is not an integer".into()),
        ColumnType::Float => match target.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Value::Float(v)),
            _ => Err("which is not a number with a decimal point".into()),
        },
        ColumnType::Date => chrono::NaiveDate::parse_from_str(target, "%Y-%m-%d")
            .map(|d| Value::Date(crate::dates::epoch_days(d)))
            .map_err(|_| "which is not an ISO date (YYYY-MM-DD)".into()),
    }
}

/// Whether `text` surely holds no character that is `plan::not_text`: no byte
/// below 0x20 but a tab, no 0x7f (the ASCII controls), and no 0xc2 or 0xef,
/// the first bytes of the other controls (U+0080-U+009F) and of U+FEFF,
/// U+FFFE and U+FFFD. False also for some texts that are clean (a `«` is
/// 0xc2 0xab): they are then checked cell by cell. One pass over a record
/// without a branch per byte, instead of a pass over each of its cells
/// (4 % of ingest's CPU at 1M).
pub(crate) fn clean_text(text: &[u8]) -> bool {
    text.iter().fold(true, |ok, &b| {
        ok & !((b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xef)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rules() {
        assert_eq!(parse_decimal("7.5", false), Ok(7.5));
        assert_eq!(parse_decimal("7,5", true), Ok(7.5));
        assert_eq!(parse_decimal("-3", true), Ok(-3.0));
        assert!(
            parse_decimal("7,5", false)
                .unwrap_err()
                .0
                .contains("decimal comma")
        );
        assert!(
            parse_decimal("7.5", true)
                .unwrap_err()
                .0
                .contains("decimal_comma = true")
        );
        assert!(
            parse_decimal("1 234", false)
                .unwrap_err()
                .0
                .contains("thousands")
        );
        assert!(
            parse_decimal("1.234,5", true)
                .unwrap_err()
                .0
                .contains("thousands")
        );
        assert!(parse_decimal("inf", false).is_err());
        assert!(parse_decimal("NaN", false).is_err());
        assert!(
            parse_decimal("abc", false)
                .unwrap_err()
                .0
                .contains("not a number")
        );
    }

    #[test]
    fn the_plain_path_reads_as_the_full_one() {
        let texts = [
            "0",
            "7",
            "-3",
            "+3",
            "7,5",
            "7.5",
            "-7,25",
            "+0,0",
            "007,50",
            "1,",
            ",5",
            "1,,5",
            "1,5,",
            "--1",
            "+-1",
            "1e5",
            "1,5e3",
            "",
            "-",
            "+",
            "1 234",
            "1.234,5",
            "12345678901234567890123456789012345678901234567890",
            "1797693134862315708145274237317043567981000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        ];
        for comma in [true, false] {
            for t in texts {
                let fast = plain_decimal(t.as_bytes(), comma);
                let full = checked_decimal(t, comma);
                if let Some(v) = fast {
                    assert_eq!(full, Ok(v), "{t:?} comma={comma}");
                    assert_eq!(v.to_bits(), full.unwrap().to_bits());
                }
            }
        }
        assert_eq!(plain_decimal(b"7,5", true), Some(7.5));
        assert_eq!(plain_decimal(b"7.5", true), None);
        assert_eq!(plain_decimal(b"-12.25", false), Some(-12.25));
    }

    #[test]
    fn number_text_drops_integral_fraction() {
        assert_eq!(number_text(29.0), "29");
        assert_eq!(number_text(7.5), "7.5");
    }
}

//! One cell converter for every format: a raw cell (text, number, date, ...)
//! becomes a typed canonical value, or a located problem.

use crate::config::{OnError, Source};
use crate::dates::{self, DateFormat, DateParse};
use crate::error::IngestError;
use crate::validate::{canonical_value, quoted, unit_name};
use chrono::NaiveDate;
use cohortflow_core::ledger::{Outcome, StageAccount};
use cohortflow_core::rejects::Reject;
use cohortflow_core::schema::{ColumnType, Schema};
use cohortflow_core::table::{SOURCE, SOURCE_ROW};
use polars::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Reasons a row is rejected at ingest, in the order the ledger lists them.
pub const REASONS: [&str; 11] = [
    REASON_FIELDS,
    REASON_BLANK,
    REASON_CELL_ERROR,
    REASON_MISSING,
    REASON_UNKNOWN_CODE,
    REASON_LEVEL,
    REASON_NUMBER,
    REASON_INTEGER,
    REASON_BOOLEAN,
    REASON_DATE,
    REASON_DATE_RANGE,
];
pub const REASON_FIELDS: &str = "wrong number of fields";
pub const REASON_BLANK: &str = "blank row";
pub const REASON_CELL_ERROR: &str = "cell error";
pub const REASON_MISSING: &str = "missing required value";
pub const REASON_UNKNOWN_CODE: &str = "unknown code";
pub const REASON_LEVEL: &str = "not a level";
pub const REASON_NUMBER: &str = "not a number";
pub const REASON_INTEGER: &str = "not an integer";
pub const REASON_BOOLEAN: &str = "not a boolean";
pub const REASON_DATE: &str = "unparseable date";
pub const REASON_DATE_RANGE: &str = "date out of range";

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
    /// A spreadsheet error value (`#N/A`, `#DIV/0!`).
    Error(String),
}

impl RawCell<'_> {
    /// The cell as text, for messages, rejects, missing codes and value maps.
    pub fn display(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => (*s).to_string(),
            RawCell::Number(f) => number_text(*f),
            RawCell::Int(i) => i.to_string(),
            RawCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            RawCell::Bool(b) => b.to_string(),
            RawCell::Error(e) => e.clone(),
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

/// What is wrong with one cell.
#[derive(Debug, Clone)]
pub struct CellProblem {
    pub reason: &'static str,
    pub message: String,
    pub fix: String,
}

fn problem(reason: &'static str, message: String, fix: String) -> CellProblem {
    CellProblem {
        reason,
        message,
        fix,
    }
}

/// How one mapped canonical column is read.
pub(crate) struct Plan {
    pub canonical: String,
    pub header: String,
    kind: ColumnType,
    required: bool,
    levels: HashSet<String>,
    level_list: Vec<String>,
    values: Option<HashMap<String, Value>>,
    codes: Vec<String>,
    missing: HashSet<String>,
    factor: f64,
    unit_note: String,
    formats: Vec<DateFormat>,
    decimal_comma: bool,
    toml: String,
}

impl Plan {
    /// Converts one cell. `Ok(None)` is a missing value of an optional column.
    pub fn convert(&self, cell: &RawCell<'_>) -> Result<Option<Value>, CellProblem> {
        let cell = match cell {
            RawCell::Text(s) => RawCell::Text(s.trim()),
            other => other.clone(),
        };
        let missing = match &cell {
            RawCell::Empty => true,
            RawCell::Text(s) => s.is_empty() || self.missing.contains(*s),
            RawCell::Error(_) => false,
            other => !self.missing.is_empty() && self.missing.contains(&other.display()),
        };
        if missing {
            if self.required {
                return Err(problem(
                    REASON_MISSING,
                    format!("'{}' is required but the value is missing", self.canonical),
                    "fill in the value in the export, or set on_error = \"reject\" to set the row aside"
                        .into(),
                ));
            }
            return Ok(None);
        }
        if let RawCell::Error(e) = &cell {
            return Err(problem(
                REASON_CELL_ERROR,
                format!("the cell holds the spreadsheet error {e}"),
                "fix the formula in the workbook, or replace the error with a value".into(),
            ));
        }
        if let Some(values) = &self.values {
            let code = match &cell {
                RawCell::Text(s) => std::borrow::Cow::Borrowed(*s),
                other => std::borrow::Cow::Owned(other.display()),
            };
            return match values.get(code.as_ref()) {
                Some(v) => Ok(Some(v.clone())),
                None => Err(problem(
                    REASON_UNKNOWN_CODE,
                    format!(
                        "unknown code '{code}' for '{}'; known codes: {}",
                        self.canonical,
                        quoted(&self.codes)
                    ),
                    format!(
                        "add \"{code}\" = \"...\" to [source.columns.{}.values] in {} \
                         (or to `missing` if it means the value is unknown)",
                        self.canonical, self.toml
                    ),
                )),
            };
        }
        match self.kind {
            ColumnType::String => Ok(Some(Value::Str(match cell {
                RawCell::Text(s) => s.to_string(),
                other => other.display(),
            }))),
            ColumnType::Category => {
                let text = cell.display();
                if self.levels.contains(&text) {
                    Ok(Some(Value::Str(text)))
                } else {
                    Err(problem(
                        REASON_LEVEL,
                        format!(
                            "'{text}' is not a level of '{}' (levels: {})",
                            self.canonical,
                            quoted(&self.level_list)
                        ),
                        format!(
                            "map it: add \"{text}\" = \"<level>\" to [source.columns.{}.values] in {}",
                            self.canonical, self.toml
                        ),
                    ))
                }
            }
            ColumnType::Boolean => self.boolean(&cell).map(Some),
            ColumnType::Integer => self.integer(&cell).map(Some),
            ColumnType::Float => self.float(&cell).map(Some),
            ColumnType::Date => self.date(&cell).map(Some),
        }
    }

    fn boolean(&self, cell: &RawCell<'_>) -> Result<Value, CellProblem> {
        let b = match cell {
            RawCell::Bool(b) => Some(*b),
            RawCell::Number(f) if *f == 1.0 || *f == 0.0 => Some(*f == 1.0),
            RawCell::Int(i @ (0 | 1)) => Some(*i == 1),
            RawCell::Text(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(Value::Bool).ok_or_else(|| {
            problem(
                REASON_BOOLEAN,
                format!(
                    "'{}' is not true/false for '{}'",
                    cell.display(),
                    self.canonical
                ),
                format!(
                    "map the export's codes: add values = {{ \"{}\" = \"true\", ... }} to \
                     [source.columns.{}] in {}",
                    cell.display(),
                    self.canonical,
                    self.toml
                ),
            )
        })
    }

    fn number(&self, cell: &RawCell<'_>, reason: &'static str) -> Result<f64, CellProblem> {
        match cell {
            RawCell::Number(f) if f.is_finite() => Ok(*f),
            RawCell::Int(i) => Ok(*i as f64),
            RawCell::Text(s) => parse_decimal(s, self.decimal_comma).map_err(|(message, fix)| {
                problem(
                    reason,
                    format!("'{s}' is not a number for '{}': {message}", self.canonical),
                    fix.replace("<file>", &self.toml),
                )
            }),
            other => Err(problem(
                reason,
                format!(
                    "'{}' is not a number for '{}'",
                    other.display(),
                    self.canonical
                ),
                "correct the value in the export".into(),
            )),
        }
    }

    fn integer(&self, cell: &RawCell<'_>) -> Result<Value, CellProblem> {
        if self.factor == 1.0 {
            if let RawCell::Int(i) = cell {
                return Ok(Value::Int(*i));
            }
            if let RawCell::Text(s) = cell
                && let Ok(i) = s.parse::<i64>()
            {
                return Ok(Value::Int(i));
            }
        }
        let v = self.number(cell, REASON_NUMBER)? * self.factor;
        let r = v.round();
        if (v - r).abs() <= 1e-9 * v.abs().max(1.0) && r.abs() < 9.0e15 {
            Ok(Value::Int(r as i64))
        } else {
            Err(problem(
                REASON_INTEGER,
                format!(
                    "'{}'{} is not a whole number, and '{}' is an integer column",
                    cell.display(),
                    self.unit_note,
                    self.canonical
                ),
                "correct the value in the export, or declare the column as float in the schema"
                    .into(),
            ))
        }
    }

    fn float(&self, cell: &RawCell<'_>) -> Result<Value, CellProblem> {
        let v = self.number(cell, REASON_NUMBER)? * self.factor;
        if !v.is_finite() {
            // 1e308 m in mm: finite in the export, infinite after the unit.
            return Err(problem(
                REASON_NUMBER,
                format!(
                    "'{}'{} is too large a number for '{}'",
                    cell.display(),
                    self.unit_note,
                    self.canonical
                ),
                "correct the value in the export".into(),
            ));
        }
        Ok(Value::Float(v))
    }

    fn date(&self, cell: &RawCell<'_>) -> Result<Value, CellProblem> {
        let patterns = || {
            self.formats
                .iter()
                .map(|f| f.pattern().to_string())
                .collect::<Vec<_>>()
        };
        let fix_formats = || {
            format!(
                "correct the value, or add its format to date_formats of [source.columns.{}] \
                 (or [source]) in {}",
                self.canonical, self.toml
            )
        };
        let serial = self
            .formats
            .iter()
            .any(|f| matches!(f, DateFormat::ExcelSerial));
        let d = match cell {
            RawCell::Date(d) => *d,
            RawCell::Number(_) | RawCell::Int(_) => {
                let n = match cell {
                    RawCell::Number(f) => *f,
                    RawCell::Int(i) => *i as f64,
                    _ => f64::NAN,
                };
                if !serial {
                    return Err(problem(
                        REASON_DATE,
                        format!(
                            "the number {} is in date column '{}', which reads formats {}",
                            cell.display(),
                            self.canonical,
                            quoted(&patterns())
                        ),
                        format!(
                            "if the export stores dates as Excel serial numbers, add \"excel-serial\" \
                             to date_formats of [source.columns.{}] in {}",
                            self.canonical, self.toml
                        ),
                    ));
                }
                dates::from_excel_serial(n).ok_or_else(|| {
                    problem(
                        REASON_DATE,
                        format!("{} is not an Excel serial date", cell.display()),
                        fix_formats(),
                    )
                })?
            }
            RawCell::Text(s) => match dates::parse_text(s, &self.formats) {
                DateParse::Ok(d) => d,
                DateParse::NoSuchDay(p) => {
                    return Err(problem(
                        REASON_DATE,
                        format!("'{s}' has the shape of {p} but there is no such day"),
                        "correct the date in the export".into(),
                    ));
                }
                DateParse::NoMatch => {
                    let fix = if !serial && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                        format!(
                            "if the export stores dates as Excel serial numbers, add \"excel-serial\" \
                             to date_formats of [source.columns.{}] in {}; otherwise {}",
                            self.canonical,
                            self.toml,
                            fix_formats()
                        )
                    } else {
                        fix_formats()
                    };
                    return Err(problem(
                        REASON_DATE,
                        format!(
                            "'{s}' matches none of the date formats {} of '{}'",
                            quoted(&patterns()),
                            self.canonical
                        ),
                        fix,
                    ));
                }
            },
            other => {
                return Err(problem(
                    REASON_DATE,
                    format!("'{}' is not a date", other.display()),
                    "correct the value in the export".into(),
                ));
            }
        };
        if !dates::year_plausible(d) {
            return Err(problem(
                REASON_DATE_RANGE,
                format!(
                    "'{}' reads as {}, a year outside {}-{} (two-digit year?)",
                    cell.display(),
                    d.format("%Y-%m-%d"),
                    dates::MIN_YEAR,
                    dates::MAX_YEAR
                ),
                format!(
                    "write four-digit years in the export, or read two-digit years with %y in \
                     date_formats of [source.columns.{}] in {}",
                    self.canonical, self.toml
                ),
            ));
        }
        Ok(Value::Date(dates::epoch_days(d)))
    }
}

/// Parses a number written with the source's decimal mark. Errors are
/// (message, fix) with `<file>` standing for the source file.
pub fn parse_decimal(s: &str, decimal_comma: bool) -> Result<f64, (String, String)> {
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

/// Builds the plans of the mapped columns, in schema order. Assumes the
/// source passed `validate`.
pub(crate) fn plans(source: &Source, schema: &Schema) -> Vec<Plan> {
    let cfg = &source.config;
    let toml = source.file.display().to_string();
    let mut out = Vec::new();
    for def in &schema.columns {
        let Some(m) = cfg.columns.get(&def.name) else {
            continue;
        };
        let m = m.get_ref();
        let values = m.values.as_ref().map(|vals| {
            vals.iter()
                .filter_map(|(k, v)| Some((k.trim().to_string(), canonical_value(def, v).ok()?)))
                .collect::<HashMap<_, _>>()
        });
        let codes = m
            .values
            .as_ref()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let missing = cfg
            .missing
            .iter()
            .chain(&m.missing)
            .map(|s| s.trim().to_string())
            .collect();
        let (factor, unit_note) = match (m.unit, def.unit) {
            (Some(from), Some(to)) if from != to => (
                from.factor_to(to).unwrap_or(1.0),
                format!(" (in {}, converted to {})", unit_name(from), unit_name(to)),
            ),
            _ => (1.0, String::new()),
        };
        let declared = if !m.date_formats.is_empty() {
            &m.date_formats
        } else {
            &cfg.date_formats
        };
        let mut formats: Vec<DateFormat> = declared
            .iter()
            .filter_map(|f| DateFormat::compile(f).ok())
            .collect();
        if declared.is_empty() {
            formats.extend(DateFormat::compile(dates::DEFAULT_FORMAT).ok());
        }
        out.push(Plan {
            canonical: def.name.clone(),
            header: m.column.trim().to_string(),
            kind: def.kind,
            required: def.required,
            levels: def.levels.iter().cloned().collect(),
            level_list: def.levels.clone(),
            values,
            codes,
            missing,
            factor,
            unit_note,
            formats,
            decimal_comma: cfg.csv.decimal_comma,
            toml: toml.clone(),
        });
    }
    out
}

enum Builder {
    Str(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Date(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
}

impl Builder {
    fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::String | ColumnType::Category => Builder::Str(Vec::new()),
            ColumnType::Integer => Builder::Int(Vec::new()),
            ColumnType::Float => Builder::Float(Vec::new()),
            ColumnType::Date => Builder::Date(Vec::new()),
            ColumnType::Boolean => Builder::Bool(Vec::new()),
        }
    }

    /// Values are produced for this builder's type by construction; a
    /// mismatch (impossible) is stored as null rather than panicking.
    fn push(&mut self, v: Option<Value>) {
        match self {
            Builder::Str(b) => b.push(match v {
                Some(Value::Str(s)) => Some(s),
                _ => None,
            }),
            Builder::Int(b) => b.push(match v {
                Some(Value::Int(i)) => Some(i),
                _ => None,
            }),
            Builder::Float(b) => b.push(match v {
                Some(Value::Float(f)) => Some(f),
                _ => None,
            }),
            Builder::Date(b) => b.push(match v {
                Some(Value::Date(d)) => Some(d),
                _ => None,
            }),
            Builder::Bool(b) => b.push(match v {
                Some(Value::Bool(x)) => Some(x),
                _ => None,
            }),
        }
    }

    /// Keeps the values whose `keep` is true.
    fn retain(&mut self, keep: &[bool]) {
        fn go<T>(b: &mut Vec<Option<T>>, keep: &[bool]) {
            let mut i = 0;
            b.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        match self {
            Builder::Str(b) => go(b, keep),
            Builder::Int(b) => go(b, keep),
            Builder::Float(b) => go(b, keep),
            Builder::Date(b) => go(b, keep),
            Builder::Bool(b) => go(b, keep),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Builder::Str(b) => b.truncate(n),
            Builder::Int(b) => b.truncate(n),
            Builder::Float(b) => b.truncate(n),
            Builder::Date(b) => b.truncate(n),
            Builder::Bool(b) => b.truncate(n),
        }
    }

    fn into_series(self, name: &str) -> PolarsResult<Series> {
        let name = PlSmallStr::from(name);
        Ok(match self {
            Builder::Str(b) => Series::new(name, b),
            Builder::Int(b) => Series::new(name, b),
            Builder::Float(b) => Series::new(name, b),
            Builder::Date(b) => Series::new(name, b).cast(&DataType::Date)?,
            Builder::Bool(b) => Series::new(name, b),
        })
    }
}

/// Turns rows of raw cells into typed columns, rejects and the ledger count.
pub(crate) struct Converter {
    pub plans: Vec<Plan>,
    /// For each plan, the index of its column in the source's fields.
    pub fields: Vec<usize>,
    builders: Vec<Builder>,
    rows: Vec<i64>,
    rejects: Vec<Reject>,
    counts: [u64; REASONS.len()],
    read: u64,
    on_error: OnError,
    source: String,
    data_file: PathBuf,
    /// The declared unique key (`unique`): indices into `plans`.
    unique: Vec<usize>,
    /// For each kept row, its key as text (None when a key value is empty).
    keys: Vec<Option<Vec<String>>>,
    /// First line of each key seen.
    seen: HashMap<Vec<String>, i64>,
}

impl Converter {
    pub fn new(source: &Source, schema: &Schema) -> Self {
        let plans = plans(source, schema);
        let builders = plans.iter().map(|p| Builder::new(p.kind)).collect();
        let unique = source
            .config
            .unique
            .get_ref()
            .iter()
            .filter_map(|name| plans.iter().position(|p| &p.canonical == name))
            .collect();
        Self {
            unique,
            keys: Vec::new(),
            seen: HashMap::new(),
            fields: Vec::new(),
            plans,
            builders,
            rows: Vec::new(),
            rejects: Vec::new(),
            counts: [0; REASONS.len()],
            read: 0,
            on_error: source.config.on_error,
            source: source.config.name.clone(),
            data_file: source.data_path(),
        }
    }

    /// Rows read so far (kept, rejected and blank).
    pub fn rows_read(&self) -> u64 {
        self.read
    }

    pub fn error(&self, message: impl Into<String>, fix: impl Into<String>) -> IngestError {
        IngestError::new(&self.data_file, message, fix)
    }

    fn count(&mut self, reason: &'static str) {
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.counts[i] += 1;
        }
    }

    /// A record that is blank in every field: set aside, never an error.
    pub fn blank_row(&mut self, row: i64) {
        self.read += 1;
        self.count(REASON_BLANK);
        self.rejects.push(Reject {
            source: self.source.clone(),
            source_row: row,
            stage: "ingest".into(),
            rule: REASON_BLANK.into(),
            columns: String::new(),
            values: String::new(),
        });
    }

    /// A record that cannot be read as a row at all (wrong field count).
    pub fn bad_record(
        &mut self,
        row: i64,
        reason: &'static str,
        message: String,
        fix: String,
        values: String,
    ) -> Result<(), IngestError> {
        self.read += 1;
        if self.on_error == OnError::Fail {
            return Err(self.error(message, fix).at(row as u64));
        }
        self.count(reason);
        self.rejects.push(Reject {
            source: self.source.clone(),
            source_row: row,
            stage: "ingest".into(),
            rule: reason.into(),
            columns: String::new(),
            values,
        });
        Ok(())
    }

    /// Converts one row. `cell(i)` gives the raw cell of source field `i`.
    pub fn push_row<'a>(
        &mut self,
        row: i64,
        cell: impl Fn(usize) -> RawCell<'a>,
    ) -> Result<(), IngestError> {
        self.read += 1;
        let kept = self.rows.len();
        let mut first: Option<&'static str> = None;
        let mut columns = Vec::new();
        let mut values = Vec::new();
        let mut key: Option<Vec<String>> = Some(Vec::new());
        for (k, plan) in self.plans.iter().enumerate() {
            let raw = cell(self.fields[k]);
            match plan.convert(&raw) {
                // Pushed even after a problem: the row's values are
                // truncated away below when it is rejected.
                Ok(v) => {
                    if self.unique.contains(&k) {
                        match &v {
                            Some(v) => {
                                if let Some(key) = &mut key {
                                    key.push(v.text());
                                }
                            }
                            None => key = None,
                        }
                    }
                    self.builders[k].push(v)
                }
                Err(p) => {
                    if self.on_error == OnError::Fail {
                        return Err(IngestError::new(&self.data_file, p.message, p.fix)
                            .at(row as u64)
                            .column(plan.header.clone())
                            .value(raw.display()));
                    }
                    first.get_or_insert(p.reason);
                    columns.push(plan.header.clone());
                    values.push(format!("{}={}", plan.header, raw.display()));
                }
            }
        }
        match first {
            None => {
                let key = key.filter(|_| !self.unique.is_empty());
                if let Some(key) = &key {
                    if let Some(&line) = self.seen.get(key) {
                        if self.on_error == OnError::Fail {
                            let (names, headers, shown) = self.key_text(row, &cell);
                            return Err(IngestError::new(
                                &self.data_file,
                                format!(
                                    "{names} '{shown}' is also on line {line}, but the source \
                                     declares it unique"
                                ),
                                format!(
                                    "correct the record in the export, or remove one of the two; \
                                     with on_error = \"reject\" every record with the same \
                                     {names} is set aside"
                                ),
                            )
                            .at(row as u64)
                            .column(headers)
                            .value(shown));
                        }
                    } else {
                        self.seen.insert(key.clone(), row);
                    }
                }
                self.rows.push(row);
                self.keys.push(key);
            }
            Some(reason) => {
                for b in &mut self.builders {
                    b.truncate(kept);
                }
                self.count(reason);
                self.rejects.push(Reject {
                    source: self.source.clone(),
                    source_row: row,
                    stage: "ingest".into(),
                    rule: reason.into(),
                    columns: columns.join("; "),
                    values: values.join("; "),
                });
            }
        }
        Ok(())
    }

    /// The unique key's canonical names, source headers and values of a row.
    fn key_text<'a>(
        &self,
        _row: i64,
        cell: &impl Fn(usize) -> RawCell<'a>,
    ) -> (String, String, String) {
        let names: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].canonical.as_str())
            .collect();
        let headers: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].header.as_str())
            .collect();
        let shown: Vec<String> = self
            .unique
            .iter()
            .map(|&k| cell(self.fields[k]).display().trim().to_string())
            .collect();
        (names.join(", "), headers.join(", "), shown.join(", "))
    }

    /// With `on_error = "reject"`: every kept row whose unique key another
    /// kept row shares leaves, into the rejects, naming all their lines.
    fn reject_duplicates(&mut self) -> u64 {
        if self.unique.is_empty() {
            return 0;
        }
        let mut lines: HashMap<&Vec<String>, Vec<i64>> = HashMap::new();
        for (key, row) in self.keys.iter().zip(&self.rows) {
            if let Some(key) = key {
                lines.entry(key).or_default().push(*row);
            }
        }
        let shared: HashMap<i64, Vec<i64>> = lines
            .into_values()
            .filter(|rows| rows.len() > 1)
            .flat_map(|rows| rows.clone().into_iter().map(move |r| (r, rows.clone())))
            .collect();
        if shared.is_empty() {
            return 0;
        }
        let reason = self.duplicate_reason();
        let names: Vec<String> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].header.clone())
            .collect();
        let keep: Vec<bool> = self.rows.iter().map(|r| !shared.contains_key(r)).collect();
        for (i, row) in self.rows.iter().enumerate() {
            let Some(all) = shared.get(row) else { continue };
            let key = self.keys[i]
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_default();
            let all: Vec<String> = all.iter().map(|r| r.to_string()).collect();
            self.rejects.push(Reject {
                source: self.source.clone(),
                source_row: *row,
                stage: "ingest".into(),
                rule: reason.clone(),
                columns: names.join("; "),
                values: format!(
                    "{}={key}; same on lines {}",
                    names.join(", "),
                    all.join(", ")
                ),
            });
        }
        for b in &mut self.builders {
            b.retain(&keep);
        }
        let mut i = 0;
        self.rows.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        shared.len() as u64
    }

    /// The reject reason of a duplicated unique key: `duplicate patient_id`.
    fn duplicate_reason(&self) -> String {
        let names: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].canonical.as_str())
            .collect();
        format!("duplicate {}", names.join(", "))
    }

    pub fn finish(mut self, schema: &Schema) -> Result<crate::Ingested, IngestError> {
        let duplicates = self.reject_duplicates();
        let duplicate_reason = self.duplicate_reason();
        let height = self.rows.len();
        let polars_err = |e: PolarsError| {
            IngestError::new(
                &self.data_file,
                format!("could not assemble the table: {e}"),
                "this is a bug in cohortflow; please report it with the source file",
            )
        };
        let mut by_name: HashMap<String, Series> = HashMap::new();
        for (plan, b) in self.plans.iter().zip(self.builders) {
            by_name.insert(
                plan.canonical.clone(),
                b.into_series(&plan.canonical).map_err(polars_err)?,
            );
        }
        let mut columns: Vec<Column> = vec![
            StringChunked::full(SOURCE.into(), &self.source, height)
                .into_series()
                .into_column(),
            Series::new(SOURCE_ROW.into(), &self.rows).into_column(),
        ];
        for def in &schema.columns {
            columns.push(match by_name.remove(&def.name) {
                Some(s) => s.into_column(),
                None => Column::full_null(def.name.as_str().into(), height, &def.kind.dtype()),
            });
        }
        let frame = DataFrame::new(height, columns).map_err(polars_err)?;
        let mut account = StageAccount::new("ingest", &self.source, self.read);
        for (reason, n) in REASONS.iter().zip(self.counts) {
            if n > 0 {
                account.add(Outcome::Rejected, reason, n);
            }
        }
        if duplicates > 0 {
            account.add(Outcome::Rejected, &duplicate_reason, duplicates);
        }
        debug_assert_eq!(account.rows_out, height as u64);
        tracing::info!(
            source = %self.source,
            read = self.read,
            kept = height,
            rejected = self.rejects.len(),
            "ingested {}",
            self.data_file.display()
        );
        Ok(crate::Ingested {
            frame,
            rejects: self.rejects,
            account,
        })
    }
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
    fn number_text_drops_integral_fraction() {
        assert_eq!(number_text(29.0), "29");
        assert_eq!(number_text(7.5), "7.5");
    }
}

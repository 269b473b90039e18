//! The canonical schema: the columns a study works with, declared once.
//!
//! Every source maps its own columns onto these names; ingest checks each
//! source against the schema and outputs exactly these columns (plus the
//! provenance columns of [`crate::table`]).

use crate::time::TimeUnit;
use polars::prelude::{
    DataFrame, DataType, Expr, Field, FrozenCategories, Schema as PlSchema, col, lit,
};
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// The type of a canonical column. A category's values are one of its
/// declared levels, stored as polars `Enum` codes of those levels
/// ([`ColumnDef::dtype`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Float,
    Date,
    Boolean,
    Category,
}

impl ColumnType {
    /// The polars type of a column of this kind; a category's own type
    /// depends on its levels: [`ColumnDef::dtype`].
    pub fn dtype(self) -> DataType {
        match self {
            ColumnType::String | ColumnType::Category => DataType::String,
            ColumnType::Integer => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Date => DataType::Date,
            ColumnType::Boolean => DataType::Boolean,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
            ColumnType::Boolean => "boolean",
            ColumnType::Category => "category",
        }
    }
}

/// A unit of measurement a numeric column may carry. Sources declare the unit
/// they export in; ingest converts to the canonical column's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Mm,
    Cm,
    M,
    G,
    Kg,
    Days,
    Weeks,
    Months,
    Years,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Length,
    Mass,
    Time,
}

impl Unit {
    /// The dimension and the size of one unit in the dimension's base unit
    /// (mm, g, days); time units as [`crate::time`] defines them.
    pub fn scale(self) -> (Dimension, f64) {
        match self {
            Unit::Mm => (Dimension::Length, 1.0),
            Unit::Cm => (Dimension::Length, 10.0),
            Unit::M => (Dimension::Length, 1000.0),
            Unit::G => (Dimension::Mass, 1.0),
            Unit::Kg => (Dimension::Mass, 1000.0),
            Unit::Days => (Dimension::Time, TimeUnit::Days.days()),
            Unit::Weeks => (Dimension::Time, TimeUnit::Weeks.days()),
            Unit::Months => (Dimension::Time, TimeUnit::Months.days()),
            Unit::Years => (Dimension::Time, TimeUnit::Years.days()),
        }
    }

    /// The factor that turns a value in `self` into a value in `to`, or
    /// `None` when the two measure different things.
    pub fn factor_to(self, to: Unit) -> Option<f64> {
        let (d1, s1) = self.scale();
        let (d2, s2) = to.scale();
        (d1 == d2).then(|| s1 / s2)
    }

    /// The unit as written in the schema and in labels (`mm`, `months`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Mm => "mm",
            Unit::Cm => "cm",
            Unit::M => "m",
            Unit::G => "g",
            Unit::Kg => "kg",
            Unit::Days => "days",
            Unit::Weeks => "weeks",
            Unit::Months => "months",
            Unit::Years => "years",
        }
    }
}

/// How a numeric variable is summarised in Table 1: mean (SD) or median
/// [IQR].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Summary {
    Mean,
    Median,
}

/// What a reader sees instead of a column's name: its label, unit, the
/// labels of its levels and how it is summarised. Declared on a schema
/// column (`label`, `level_labels`, `summary`) or, for any column and
/// derived ones, in the pipeline's `[report.variables.<name>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    pub label: Option<String>,
    /// Free text (`years`, `mm`); a schema column's `unit` when not given.
    pub unit: Option<String>,
    /// Label per level value (`small_bowel = "Small bowel"`); for a yes/no
    /// column, `true` and `false`.
    #[serde(default)]
    pub level_labels: BTreeMap<String, String>,
    /// Level values in the order a reader expects them (a derived column's
    /// levels; a schema column's are its `levels`).
    #[serde(default)]
    pub levels: Vec<String>,
    pub summary: Option<Summary>,
}

/// One level of a labelled variable, in declared order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelLabel {
    pub value: String,
    pub label: String,
}

/// The label of one variable as every output uses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariableLabel {
    /// The column name.
    pub name: String,
    /// Declared label; the column name when none is declared.
    pub label: String,
    pub unit: Option<String>,
    /// Declared levels, in declared order, with their labels.
    pub levels: Vec<LevelLabel>,
    /// Table 1's summary of a numeric variable (`null` for others).
    pub summary: Option<Summary>,
}

/// Labels, units, level order and summaries of the variables of a study:
/// declared once (schema and `[report.variables]`), used by every output
/// (Table 1, balance table, flow, Methods, figures) and written to
/// `results.json` (`labels`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Labels {
    pub variables: Vec<VariableLabel>,
}

impl Labels {
    /// The labels of the schema's columns, overridden and extended by the
    /// declarations of `extra` (the pipeline's, in order). A numeric
    /// column without a declared summary gets `default_summary`.
    pub fn new(
        schema: &Schema,
        extra: &[(String, VariableDecl)],
        numeric: &dyn Fn(&str) -> bool,
        default_summary: Summary,
    ) -> Labels {
        let mut variables: Vec<VariableLabel> = schema
            .columns
            .iter()
            .map(|c| VariableLabel {
                name: c.name.clone(),
                label: c.label.clone().unwrap_or_else(|| c.name.clone()),
                unit: c.unit.map(|u| u.name().to_string()),
                levels: c
                    .levels
                    .iter()
                    .map(|l| LevelLabel {
                        value: l.clone(),
                        label: c.level_labels.get(l).cloned().unwrap_or_else(|| l.clone()),
                    })
                    .collect(),
                summary: matches!(c.kind, ColumnType::Float | ColumnType::Integer)
                    .then(|| c.summary.unwrap_or(default_summary)),
            })
            .collect();
        for (name, d) in extra {
            let i = match variables.iter().position(|v| &v.name == name) {
                Some(i) => i,
                None => {
                    variables.push(VariableLabel {
                        name: name.clone(),
                        label: name.clone(),
                        unit: None,
                        levels: Vec::new(),
                        summary: numeric(name).then_some(default_summary),
                    });
                    variables.len() - 1
                }
            };
            let v = &mut variables[i];
            if let Some(l) = &d.label {
                v.label = l.clone();
            }
            if let Some(u) = &d.unit {
                v.unit = Some(u.clone());
            }
            if !d.levels.is_empty() {
                v.levels = d
                    .levels
                    .iter()
                    .map(|l| LevelLabel {
                        value: l.clone(),
                        label: l.clone(),
                    })
                    .collect();
            }
            for (value, label) in &d.level_labels {
                match v.levels.iter_mut().find(|l| &l.value == value) {
                    Some(l) => l.label = label.clone(),
                    None => v.levels.push(LevelLabel {
                        value: value.clone(),
                        label: label.clone(),
                    }),
                }
            }
            if d.summary.is_some() {
                v.summary = d.summary;
            }
        }
        Labels { variables }
    }

    pub fn get(&self, name: &str) -> Option<&VariableLabel> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// The variable's label with its unit: `Tumour size, mm`; the name
    /// when nothing is declared.
    pub fn titled(&self, name: &str) -> String {
        match self.get(name) {
            Some(v) => match &v.unit {
                Some(u) => format!("{}, {u}", v.label),
                None => v.label.clone(),
            },
            None => name.to_string(),
        }
    }

    /// The variable's label without unit; the name when none is declared.
    pub fn label(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| name.to_string(), |v| v.label.clone())
    }

    /// The label of one level of a variable; the value when none is
    /// declared.
    pub fn level(&self, name: &str, value: &str) -> String {
        self.get(name)
            .and_then(|v| v.levels.iter().find(|l| l.value == value))
            .map_or_else(|| value.to_string(), |l| l.label.clone())
    }

    /// Where a level comes in the declared order (undeclared levels after
    /// the declared ones).
    pub fn level_rank(&self, name: &str, value: &str) -> usize {
        self.get(name)
            .and_then(|v| v.levels.iter().position(|l| l.value == value))
            .unwrap_or(usize::MAX)
    }
}

/// One canonical column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// A required column must be mapped by every source and may not be empty.
    #[serde(default)]
    pub required: bool,
    /// Allowed values of a category column.
    #[serde(default)]
    pub levels: Vec<String>,
    /// Unit of a numeric column; sources exporting another unit convert.
    pub unit: Option<Unit>,
    #[serde(default)]
    pub description: String,
    /// What the report calls the column (`Tumour size`); its unit is
    /// added where a value is shown (`Tumour size, mm`).
    pub label: Option<String>,
    /// What the report calls each level of a category column
    /// (`small_bowel = "Small bowel"`); the level itself when absent.
    #[serde(default)]
    pub level_labels: BTreeMap<String, String>,
    /// Table 1 summary of a numeric column: `mean` (SD) or `median` [IQR]
    /// (default: the pipeline's `[report] summary`).
    pub summary: Option<Summary>,
    /// Smallest plausible value (inclusive): a number, or a date
    /// `"YYYY-MM-DD"` for a date column.
    pub min: Option<Spanned<Limit>>,
    /// Largest plausible value (inclusive), as `min`.
    pub max: Option<Spanned<Limit>>,
    /// Date columns: no date after this one, `"admin_censor"` (the data
    /// cut-off: the latest `admin_censor` of the pipeline's endpoints) or a
    /// date `"YYYY-MM-DD"`.
    pub not_after: Option<Spanned<String>>,
    /// What a value outside the range does to its row (default `reject`).
    pub out_of_range: Option<Spanned<RangeAction>>,
    /// When a column that is not a date is known, relative to the
    /// endpoints' origins: `"baseline"` (the default) or a date column of
    /// the schema at which it is known (a date is known at itself). The
    /// design warnings follow it through derived columns
    /// ([`crate::lineage`]).
    pub known: Option<String>,
}

impl ColumnDef {
    /// The column's polars type. A category is an `Enum` of its declared
    /// levels, in declared order: a cell is the level's number (1 byte
    /// for up to 255 levels, 2 for up to 65,535), not its text (a 16-byte
    /// view, and the text's bytes when longer than 12). Levels that cannot
    /// make an `Enum` (none, or one declared twice: both are schema
    /// problems, [`Schema::problems`]) leave the column text.
    pub fn dtype(&self) -> DataType {
        match self.kind {
            ColumnType::Category => category_dtype(&self.levels).unwrap_or(DataType::String),
            kind => kind.dtype(),
        }
    }

    /// Where a range key (`min`, `max`, `not_after`, `out_of_range`) of the
    /// column is written in the schema file, for messages.
    pub fn range_span(&self, key: &str) -> Option<std::ops::Range<usize>> {
        match key {
            "min" => self.min.as_ref().map(Spanned::span),
            "max" => self.max.as_ref().map(Spanned::span),
            "not_after" => self.not_after.as_ref().map(Spanned::span),
            "out_of_range" => self.out_of_range.as_ref().map(Spanned::span),
            _ => None,
        }
    }
}

/// The `Enum` type of `levels` (in that order), or `None` when there are
/// none or one is repeated.
///
/// The same levels always give the same type. Polars compares two `Enum`
/// types by the identity of their categories, and keeps one set of
/// categories per list of levels only while one is in use; the types made
/// here are kept for the process's life, so that a table made now and
/// one made after every earlier table was dropped have equal types.
pub fn category_dtype(levels: &[String]) -> Option<DataType> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static MADE: OnceLock<Mutex<HashMap<Vec<String>, DataType>>> = OnceLock::new();
    if levels.is_empty() {
        return None;
    }
    let mut made = MADE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(dtype) = made.get(levels) {
        return Some(dtype.clone());
    }
    let frozen = FrozenCategories::new(levels.iter().map(String::as_str)).ok()?;
    let dtype = DataType::from_frozen_categories(frozen);
    made.insert(levels.to_vec(), dtype.clone());
    Some(dtype)
}

/// The schema file: `[schema]` plus `[[column]]` tables, in output order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "column")]
    pub columns: Vec<ColumnDef>,
}

impl Schema {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Structural problems of the schema itself, as (column index, message).
    pub fn problems(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|d| d.name == c.name) {
                out.push((i, format!("column '{}' is declared twice", c.name)));
            }
            if crate::table::PROVENANCE.contains(&c.name.as_str()) {
                out.push((i, format!("'{}' is reserved for provenance", c.name)));
            }
            match c.kind {
                ColumnType::Category if c.levels.is_empty() => out.push((
                    i,
                    format!("category column '{}' declares no levels", c.name),
                )),
                ColumnType::Category => {
                    for (j, level) in c.levels.iter().enumerate() {
                        if c.levels[..j].contains(level) {
                            out.push((
                                i,
                                format!(
                                    "category column '{}' declares the level '{}' twice",
                                    c.name, level
                                ),
                            ));
                        }
                    }
                }
                _ if !c.levels.is_empty() => out.push((
                    i,
                    format!("levels are only for category columns ('{}')", c.name),
                )),
                _ => {}
            }
            match c.known.as_deref() {
                None => {}
                Some(_) if c.kind == ColumnType::Date => out.push((
                    i,
                    format!(
                        "'{}' is a date, known at itself: `known` is for columns that are not dates",
                        c.name
                    ),
                )),
                Some(crate::lineage::BASELINE) => {}
                Some(at)
                    if !self
                        .columns
                        .iter()
                        .any(|d| d.name == at && d.kind == ColumnType::Date) =>
                {
                    out.push((
                        i,
                        format!(
                            "known = \"{at}\" of '{}': write \"baseline\" or a date column of the schema",
                            c.name
                        ),
                    ))
                }
                Some(_) => {}
            }
            for level in c.level_labels.keys() {
                if !c.levels.contains(level) {
                    out.push((
                        i,
                        format!(
                            "level_labels of '{}' names '{level}', which is not one of its levels ({})",
                            c.name,
                            c.levels.join(", ")
                        ),
                    ));
                }
            }
            if c.summary.is_some() && !matches!(c.kind, ColumnType::Float | ColumnType::Integer) {
                out.push((
                    i,
                    format!("a summary needs a numeric column ('{}')", c.name),
                ));
            }
            if c.unit.is_some() && !matches!(c.kind, ColumnType::Float | ColumnType::Integer) {
                out.push((i, format!("a unit needs a numeric column ('{}')", c.name)));
            }
        }
        out
    }

    /// The plausible ranges the schema declares, resolved against the data
    /// cut-off (`cutoff`: days since 1970-01-01 and the date as written),
    /// with the problems of their declarations as (column index, message).
    pub fn range_checks(
        &self,
        cutoff: Option<(i32, &str)>,
    ) -> (Vec<RangeCheck>, Vec<(usize, RangeError)>) {
        let mut checks = Vec::new();
        let mut problems = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            let declared = RangeDecl {
                min: c.min.as_ref().map(Spanned::get_ref),
                max: c.max.as_ref().map(Spanned::get_ref),
                not_after: c.not_after.as_ref().map(|n| n.get_ref().as_str()),
                action: c.out_of_range.as_ref().map(|a| *a.get_ref()),
            };
            match range_check(&c.name, c.dtype(), &declared, cutoff) {
                Ok(Some(r)) => checks.push(r),
                Ok(None) => {}
                Err(e) => problems.push((i, e)),
            }
        }
        (checks, problems)
    }

    /// The polars schema of a table ingested from `sources` (their names,
    /// in order): provenance columns first (`source` an `Enum` of the
    /// names: [`crate::table::source_dtype`]), then the canonical columns
    /// in declared order.
    pub fn polars_schema(&self, sources: &[String]) -> PlSchema {
        let mut fields = vec![
            Field::new(
                crate::table::SOURCE.into(),
                crate::table::source_dtype(sources),
            ),
            Field::new(crate::table::SOURCE_ROW.into(), DataType::Int64),
        ];
        fields.extend(
            self.columns
                .iter()
                .map(|c| Field::new(c.name.as_str().into(), c.dtype())),
        );
        PlSchema::from_iter(fields)
    }

    /// An empty table of the ingested shape, used to type-check expressions
    /// before any data is read.
    pub fn empty_frame(&self, sources: &[String]) -> DataFrame {
        DataFrame::empty_with_schema(&self.polars_schema(sources))
    }
}

/// A bound of a plausible range: a number (numeric columns) or a date
/// written `YYYY-MM-DD` (date columns), quoted or as a TOML date.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or a date \"YYYY-MM-DD\"")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Limit, E> {
                Ok(Limit::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Limit, E> {
                Ok(Limit::Text(v.to_string()))
            }
            // A TOML date written without quotes (`min = 1900-01-01`)
            // arrives as a one-entry map holding its text.
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Limit, A::Error> {
                match map.next_entry::<String, String>()? {
                    Some((_, text)) => Ok(Limit::Text(text)),
                    None => Err(serde::de::Error::custom(
                        "expected a number, or a date \"YYYY-MM-DD\"",
                    )),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Number(n) => write!(f, "{n}"),
            Limit::Text(t) => write!(f, "{t}"),
        }
    }
}

/// What a value outside its plausible range does: the row is rejected
/// (`rejects.csv`), or flagged (it stays; the range is added to `flags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RangeAction {
    #[default]
    Reject,
    Flag,
}

/// A range as declared on a column (schema column or derived column).
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeDecl<'a> {
    pub min: Option<&'a Limit>,
    pub max: Option<&'a Limit>,
    pub not_after: Option<&'a str>,
    pub action: Option<RangeAction>,
}

/// The plausible range of one column, checked and resolved to numbers (for
/// a date column, days since 1970-01-01).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeCheck {
    pub column: String,
    pub date: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The bounds as declared, for people: `min 1, max 500`.
    pub bounds: String,
    pub action: RangeAction,
}

impl RangeCheck {
    /// The reason in the ledger, in `rejects.csv` and in `flags`: the
    /// column (its bounds are in the schema; never a row's value).
    pub fn reason(&self) -> String {
        format!("{} out of range", self.column)
    }

    /// True where the value is present and outside the range; NaN is in no
    /// range. An empty value is not judged (whether it may be empty is
    /// `required`'s business).
    pub fn violated(&self) -> Expr {
        let value = if self.date {
            col(self.column.as_str())
                .cast(DataType::Int32)
                .cast(DataType::Float64)
        } else {
            col(self.column.as_str()).cast(DataType::Float64)
        };
        let mut out = if self.date {
            lit(false)
        } else {
            value.clone().is_nan()
        };
        if let Some(m) = self.min {
            out = out.or(value.clone().lt(lit(m)));
        }
        if let Some(m) = self.max {
            out = out.or(value.clone().gt(lit(m)));
        }
        out.fill_null(lit(false))
    }
}

/// Days since 1970-01-01 of a date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<i32, String> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date written YYYY-MM-DD"))?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    i32::try_from((date - epoch).num_days()).map_err(|_| format!("'{text}' is out of range"))
}

/// A problem with a declared range: the key it concerns (`min`, `max`,
/// `not_after`, `out_of_range`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks and resolves the range declared on `column` of type `dtype`;
/// `None` when nothing is declared. `cutoff` is the data cut-off that
/// `not_after = "admin_censor"` refers to.
pub fn range_check(
    column: &str,
    dtype: DataType,
    d: &RangeDecl<'_>,
    cutoff: Option<(i32, &str)>,
) -> Result<Option<RangeCheck>, RangeError> {
    let err = |key: &'static str, message: String| RangeError { key, message };
    if d.min.is_none() && d.max.is_none() && d.not_after.is_none() {
        return match d.action {
            Some(_) => Err(err(
                "out_of_range",
                format!("column '{column}': out_of_range without min, max or not_after"),
            )),
            None => Ok(None),
        };
    }
    let date = dtype == DataType::Date;
    if !date && !dtype.is_primitive_numeric() {
        let key = if d.min.is_some() {
            "min"
        } else if d.max.is_some() {
            "max"
        } else {
            "not_after"
        };
        return Err(err(
            key,
            format!(
                "column '{column}' is {dtype}: min, max and not_after need a number or date column"
            ),
        ));
    }
    let limit = |key: &'static str, l: Option<&Limit>| -> Result<Option<f64>, RangeError> {
        match (l, date) {
            (None, _) => Ok(None),
            (Some(Limit::Number(n)), false) if n.is_finite() => Ok(Some(*n)),
            (Some(Limit::Text(t)), true) => parse_date(t)
                .map(|d| Some(f64::from(d)))
                .map_err(|e| err(key, format!("column '{column}': {key}: {e}"))),
            (Some(other), true) => Err(err(
                key,
                format!(
                    "column '{column}' is a date: {key} = {other} must be a date \"YYYY-MM-DD\""
                ),
            )),
            (Some(other), false) => Err(err(
                key,
                format!("column '{column}' is a number: {key} = {other} must be a finite number"),
            )),
        }
    };
    let min = limit("min", d.min)?;
    let mut max = limit("max", d.max)?;
    let mut bounds: Vec<String> = Vec::new();
    if let Some(m) = d.min {
        bounds.push(format!("min {m}"));
    }
    if let Some(m) = d.max {
        bounds.push(format!("max {m}"));
    }
    if let Some(na) = d.not_after {
        if !date {
            return Err(err(
                "not_after",
                format!("column '{column}' is a number: not_after is for date columns (use max)"),
            ));
        }
        let (day, text) = if na == "admin_censor" {
            let (day, text) = cutoff.ok_or_else(|| {
                err(
                    "not_after",
                    format!(
                        "column '{column}': not_after = \"admin_censor\" needs the data cut-off, \
                     but no endpoint of the pipeline declares admin_censor; declare \
                     admin_censor = \"YYYY-MM-DD\" on the pipeline's endpoints, or write a \
                     date in not_after"
                    ),
                )
            })?;
            (day, format!("{text}, the data cut-off"))
        } else {
            let day = parse_date(na).map_err(|e| {
                err(
                    "not_after",
                    format!("column '{column}': not_after: {e} (or \"admin_censor\")"),
                )
            })?;
            (day, na.to_string())
        };
        max = Some(max.map_or(f64::from(day), |m| m.min(f64::from(day))));
        bounds.push(format!("not after {text}"));
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(err("min", format!("column '{column}': min is above max")));
    }
    Ok(Some(RangeCheck {
        column: column.to_string(),
        date,
        min,
        max,
        bounds: bounds.join(", "),
        action: d.action.unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    /// A category is an `Enum` of its levels in declared order; the same
    /// levels give an equal type even after every earlier table of them is
    /// gone; no levels, or a level twice, give none (and the latter is a
    /// schema problem).
    #[test]
    fn a_category_is_an_enum_of_its_levels() {
        let levels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let made = category_dtype(&levels(&["z", "b", "a"])).unwrap();
        let DataType::Enum(cats, _) = &made else {
            panic!("not an enum: {made:?}")
        };
        assert_eq!(
            cats.categories().values_iter().collect::<Vec<_>>(),
            ["z", "b", "a"]
        );
        let column = Column::new("x".into(), ["a", "z"]).cast(&made).unwrap();
        drop(made);
        drop(column);
        assert_eq!(
            category_dtype(&levels(&["z", "b", "a"])),
            category_dtype(&levels(&["z", "b", "a"]))
        );
        assert_ne!(
            category_dtype(&levels(&["z", "b", "a"])),
            category_dtype(&levels(&["a", "b", "z"]))
        );
        assert_eq!(category_dtype(&[]), None);
        assert_eq!(category_dtype(&levels(&["a", "a"])), None);
        let schema: super::Schema = toml::from_str(
            "name = \"s\"\n[[column]]\nname = \"x\"\ntype = \"category\"\nlevels = [\"a\", \"b\", \"a\"]\n",
        )
        .unwrap();
        assert_eq!(
            schema.problems(),
            [(
                0,
                "category column 'x' declares the level 'a' twice".to_string()
            )]
        );
        assert_eq!(schema.columns[0].dtype(), DataType::String);
    }

    #[test]
    fn labels_come_from_the_schema_and_the_pipeline_in_declared_order() {
        let schema: super::Schema = toml::from_str(
            r#"
name = "s"
[[column]]
name = "site"
type = "category"
levels = ["stomach", "small_bowel", "other"]
label = "Primary site"
level_labels = { small_bowel = "Small bowel" }
[[column]]
name = "size"
type = "float"
unit = "mm"
label = "Tumour size"
[[column]]
name = "sex"
type = "category"
levels = ["M", "F"]
summary = "mean"
"#,
        )
        .unwrap();
        let problems = schema.problems();
        assert_eq!(
            problems,
            [(2, "a summary needs a numeric column ('sex')".to_string())]
        );
        let extra = vec![
            (
                "age".to_string(),
                VariableDecl {
                    label: Some("Age".into()),
                    unit: Some("years".into()),
                    summary: Some(Summary::Mean),
                    ..Default::default()
                },
            ),
            (
                "size".to_string(),
                VariableDecl {
                    unit: Some("cm".into()),
                    ..Default::default()
                },
            ),
        ];
        let labels = Labels::new(&schema, &extra, &|n: &str| n == "age", Summary::Median);
        assert_eq!(labels.titled("site"), "Primary site");
        assert_eq!(
            labels.titled("size"),
            "Tumour size, cm",
            "the pipeline overrides"
        );
        assert_eq!(labels.titled("age"), "Age, years");
        assert_eq!(labels.titled("unknown"), "unknown");
        assert_eq!(labels.level("site", "small_bowel"), "Small bowel");
        assert_eq!(labels.level("site", "other"), "other");
        assert!(labels.level_rank("site", "stomach") < labels.level_rank("site", "small_bowel"));
        assert!(labels.level_rank("site", "other") < labels.level_rank("site", "nowhere"));
        assert_eq!(labels.get("size").unwrap().summary, Some(Summary::Median));
        assert_eq!(labels.get("age").unwrap().summary, Some(Summary::Mean));
        assert_eq!(labels.get("site").unwrap().summary, None);
    }

    fn decl<'a>(min: Option<&'a Limit>, max: Option<&'a Limit>) -> RangeDecl<'a> {
        RangeDecl {
            min,
            max,
            ..Default::default()
        }
    }

    fn violated(r: &RangeCheck, df: DataFrame) -> Vec<bool> {
        let v = df
            .lazy()
            .select([r.violated().alias("v")])
            .collect()
            .unwrap();
        v.column("v")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|b| b.unwrap())
            .collect()
    }

    #[test]
    fn numbers_outside_the_bounds_are_violations_and_empty_values_are_not() {
        let (lo, hi) = (Limit::Number(1.0), Limit::Number(500.0));
        let r = range_check("size", DataType::Float64, &decl(Some(&lo), Some(&hi)), None)
            .unwrap()
            .unwrap();
        assert_eq!(r.reason(), "size out of range");
        assert_eq!(r.bounds, "min 1, max 500");
        let df =
            df!("size" => [Some(-9.0), Some(1.0), Some(500.0), Some(501.0), None, Some(f64::NAN)])
                .unwrap();
        assert_eq!(violated(&r, df), [true, false, false, true, false, true]);
    }

    #[test]
    fn dates_not_after_the_cut_off() {
        let d = RangeDecl {
            not_after: Some("admin_censor"),
            ..Default::default()
        };
        let cutoff = parse_date("2023-06-30").unwrap();
        let r = range_check("last", DataType::Date, &d, Some((cutoff, "2023-06-30")))
            .unwrap()
            .unwrap();
        assert_eq!(r.bounds, "not after 2023-06-30, the data cut-off");
        let days = [cutoff - 1, cutoff, cutoff + 1];
        let df = df!("last" => days)
            .unwrap()
            .lazy()
            .select([col("last").cast(DataType::Date)])
            .collect()
            .unwrap();
        assert_eq!(violated(&r, df), [false, false, true]);
    }

    #[test]
    fn a_cut_off_reference_without_a_cut_off_is_a_problem() {
        let d = RangeDecl {
            not_after: Some("admin_censor"),
            ..Default::default()
        };
        let e = range_check("last", DataType::Date, &d, None).unwrap_err();
        assert_eq!(e.key, "not_after");
        assert!(
            e.message
                .contains("no endpoint of the pipeline declares admin_censor"),
            "{e}"
        );
    }

    #[test]
    fn bounds_of_the_wrong_kind_are_problems() {
        let text = Limit::Text("2020-01-01".into());
        let num = Limit::Number(3.0);
        assert!(range_check("n", DataType::Int64, &decl(Some(&text), None), None).is_err());
        assert!(range_check("d", DataType::Date, &decl(Some(&num), None), None).is_err());
        assert!(range_check("s", DataType::String, &decl(Some(&num), None), None).is_err());
        let bad = Limit::Text("01.01.2020".into());
        assert!(range_check("d", DataType::Date, &decl(Some(&bad), None), None).is_err());
        let (lo, hi) = (Limit::Number(5.0), Limit::Number(1.0));
        assert!(range_check("n", DataType::Int64, &decl(Some(&lo), Some(&hi)), None).is_err());
        let action_only = RangeDecl {
            action: Some(RangeAction::Flag),
            ..Default::default()
        };
        assert!(range_check("n", DataType::Int64, &action_only, None).is_err());
        assert_eq!(
            range_check("n", DataType::Int64, &RangeDecl::default(), None),
            Ok(None)
        );
    }
}

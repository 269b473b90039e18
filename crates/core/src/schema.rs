//! The canonical schema: the columns a study works with, declared once.
//!
//! Every source maps its own columns onto these names; ingest checks each
//! source against the schema and outputs exactly these columns (plus the
//! provenance columns of [`crate::table`]).

use crate::time::TimeUnit;
use polars::prelude::{DataFrame, DataType, Field, Schema as PlSchema};
use serde::Deserialize;

/// The type of a canonical column. Categories are stored as strings whose
/// values must be one of the declared levels.
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
                ColumnType::Category => {}
                _ if !c.levels.is_empty() => out.push((
                    i,
                    format!("levels are only for category columns ('{}')", c.name),
                )),
                _ => {}
            }
            if c.unit.is_some() && !matches!(c.kind, ColumnType::Float | ColumnType::Integer) {
                out.push((i, format!("a unit needs a numeric column ('{}')", c.name)));
            }
        }
        out
    }

    /// The polars schema of an ingested table: provenance columns first, then
    /// the canonical columns in declared order.
    pub fn polars_schema(&self) -> PlSchema {
        let mut fields = vec![
            Field::new(crate::table::SOURCE.into(), DataType::String),
            Field::new(crate::table::SOURCE_ROW.into(), DataType::Int64),
        ];
        fields.extend(
            self.columns
                .iter()
                .map(|c| Field::new(c.name.as_str().into(), c.kind.dtype())),
        );
        PlSchema::from_iter(fields)
    }

    /// An empty table of the ingested shape, used to type-check expressions
    /// before any data is read.
    pub fn empty_frame(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.polars_schema())
    }
}

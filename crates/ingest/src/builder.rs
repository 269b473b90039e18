//! Typed column builders: converted values of the kept rows, one
//! `Vec<Option<T>>` per column, that become polars `Series` at the end.

use crate::cell::Value;
use cohortflow_core::schema::ColumnType;
use polars::prelude::*;

pub(crate) enum Builder {
    Str(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Date(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
}

impl Builder {
    pub(crate) fn new(kind: ColumnType) -> Self {
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
    pub(crate) fn push(&mut self, v: Option<Value>) {
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
    pub(crate) fn retain(&mut self, keep: &[bool]) {
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

    pub(crate) fn truncate(&mut self, n: usize) {
        match self {
            Builder::Str(b) => b.truncate(n),
            Builder::Int(b) => b.truncate(n),
            Builder::Float(b) => b.truncate(n),
            Builder::Date(b) => b.truncate(n),
            Builder::Bool(b) => b.truncate(n),
        }
    }

    pub(crate) fn into_series(self, name: &str) -> PolarsResult<Series> {
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

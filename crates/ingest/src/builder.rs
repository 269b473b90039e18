//! Typed column builders: the converted values of the kept rows, built in
//! place (a value buffer and a validity list per column; the text of a
//! string or category column in one byte buffer), that become polars
//! `Series` at the end. No `Option<T>` per cell and no `String` per text
//! cell: a cell's text, level or value-map target is copied into the
//! column's buffer.

use crate::cell::Value;
use crate::plan::{Conv, Plan};
use cohortflow_core::schema::ColumnType;
use polars::prelude::*;

/// Values and validity of a column of fixed-width values.
#[derive(Default)]
pub(crate) struct Prim<T> {
    values: Vec<T>,
    valid: Vec<bool>,
}

impl<T: Copy + Default> Prim<T> {
    fn push(&mut self, v: Option<T>) {
        self.valid.push(v.is_some());
        self.values.push(v.unwrap_or_default());
    }

    fn truncate(&mut self, n: usize) {
        self.values.truncate(n);
        self.valid.truncate(n);
    }

    fn retain(&mut self, keep: &[bool]) {
        let mut i = 0;
        self.values.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let mut i = 0;
        self.valid.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }

    /// The values as a polars array: moved when every value is there.
    fn into_chunked<P>(self, name: PlSmallStr) -> ChunkedArray<P>
    where
        P: PolarsNumericType<Native = T>,
    {
        if self.valid.iter().all(|v| *v) {
            ChunkedArray::<P>::from_vec(name, self.values)
        } else {
            ChunkedArray::<P>::from_iter_options(
                name,
                self.values
                    .iter()
                    .zip(&self.valid)
                    .map(|(v, ok)| ok.then_some(*v)),
            )
        }
    }
}

/// The texts of a string or category column, back to back.
#[derive(Default)]
pub(crate) struct Texts {
    bytes: String,
    /// End of each value in `bytes`.
    ends: Vec<usize>,
    valid: Vec<bool>,
}

impl Texts {
    pub(crate) fn push(&mut self, v: Option<&str>) {
        if let Some(s) = v {
            self.bytes.push_str(s);
        }
        self.ends.push(self.bytes.len());
        self.valid.push(v.is_some());
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.valid[i].then(|| &self.bytes[start..self.ends[i]])
    }

    fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        self.bytes
            .truncate(if n == 0 { 0 } else { self.ends[n - 1] });
        self.ends.truncate(n);
        self.valid.truncate(n);
    }

    /// Appends the values of `other`.
    pub(crate) fn append(&mut self, other: Texts) {
        let base = self.bytes.len();
        self.bytes.push_str(&other.bytes);
        self.ends.extend(other.ends.iter().map(|e| e + base));
        self.valid.extend(other.valid);
    }

    /// Room for `values` more values of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, values: usize, bytes: usize) {
        self.bytes.reserve(bytes);
        self.ends.reserve(values);
        self.valid.reserve(values);
    }

    /// The text bytes held.
    pub(crate) fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    fn retain(&mut self, keep: &[bool]) {
        let mut out = Texts::default();
        for (i, k) in keep.iter().enumerate() {
            if *k {
                out.push(self.get(i));
            }
        }
        *self = out;
    }
}

pub(crate) enum Builder {
    Str(Texts),
    Int(Prim<i64>),
    Float(Prim<f64>),
    Date(Prim<i32>),
    Bool(Prim<bool>),
}

impl Builder {
    pub(crate) fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::String | ColumnType::Category => Builder::Str(Texts::default()),
            ColumnType::Integer => Builder::Int(Prim::default()),
            ColumnType::Float => Builder::Float(Prim::default()),
            ColumnType::Date => Builder::Date(Prim::default()),
            ColumnType::Boolean => Builder::Bool(Prim::default()),
        }
    }

    /// Pushes one converted cell of `plan`'s column. Values are produced
    /// for this builder's type by construction; a mismatch (impossible) is
    /// stored as null rather than panicking.
    pub(crate) fn push(&mut self, c: &Conv<'_>, plan: &Plan) {
        let target = match c {
            Conv::Target(i) => Some(plan.target(*i)),
            _ => None,
        };
        match self {
            Builder::Str(b) => b.push(match (c, target) {
                (Conv::Str(s), _) => Some(*s),
                (Conv::Owned(s), _) => Some(s.as_str()),
                (Conv::Level(i), _) => Some(plan.level(*i)),
                (_, Some(Value::Str(s))) => Some(s.as_str()),
                _ => None,
            }),
            Builder::Int(b) => b.push(match (c, target) {
                (Conv::Int(i), _) | (_, Some(Value::Int(i))) => Some(*i),
                _ => None,
            }),
            Builder::Float(b) => b.push(match (c, target) {
                (Conv::Float(f), _) | (_, Some(Value::Float(f))) => Some(*f),
                _ => None,
            }),
            Builder::Date(b) => b.push(match (c, target) {
                (Conv::Date(d), _) | (_, Some(Value::Date(d))) => Some(*d),
                _ => None,
            }),
            Builder::Bool(b) => b.push(match (c, target) {
                (Conv::Bool(x), _) | (_, Some(Value::Bool(x))) => Some(*x),
                _ => None,
            }),
        }
    }

    /// Keeps the values whose `keep` is true.
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        match self {
            Builder::Str(b) => b.retain(keep),
            Builder::Int(b) => b.retain(keep),
            Builder::Float(b) => b.retain(keep),
            Builder::Date(b) => b.retain(keep),
            Builder::Bool(b) => b.retain(keep),
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
            Builder::Str(b) => {
                StringChunked::from_iter_options(name, (0..b.len()).map(|i| b.get(i))).into_series()
            }
            Builder::Int(b) => b.into_chunked::<Int64Type>(name).into_series(),
            Builder::Float(b) => b.into_chunked::<Float64Type>(name).into_series(),
            Builder::Date(b) => b.into_chunked::<Int32Type>(name).into_date().into_series(),
            Builder::Bool(b) => BooleanChunked::from_iter_options(
                name,
                b.values
                    .iter()
                    .zip(&b.valid)
                    .map(|(v, ok)| ok.then_some(*v)),
            )
            .into_series(),
        })
    }
}

//! Typed column builders: the converted values of the kept rows, built in
//! place (a value buffer and a validity list per column; the text of a
//! string column in one byte buffer; a category's level numbers), that
//! [`assemble`] turns into the frame's columns, one polars array per column
//! for all the parts of one or several sources. No `Option<T>` per cell and
//! no `String` per text cell: a cell's text is copied into the column's
//! buffer, a category's level or value-map target becomes its level number.

use crate::cell::Value;
use crate::plan::{Conv, Plan};
use cohortflow_core::schema::{ColumnDef, ColumnType, category_dtype};
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

    /// The values in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Option<&str>> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.valid)
            .map(|((start, &end), &ok)| ok.then(|| &self.bytes[start..end]))
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
        // The runs of kept rows: each run's text is copied in one piece.
        let n = self.len();
        let mut runs = Vec::new();
        let mut i = 0;
        while i < n {
            if keep[i] {
                let from = i;
                while i < n && keep[i] {
                    i += 1;
                }
                runs.push(from..i);
            } else {
                i += 1;
            }
        }
        let start = |i: usize| if i == 0 { 0 } else { self.ends[i - 1] };
        let rows: usize = runs.iter().map(|r| r.len()).sum();
        let text: usize = runs
            .iter()
            .map(|r| self.ends[r.end - 1] - start(r.start))
            .sum();
        let mut out = Texts::default();
        out.reserve(rows, text);
        for r in runs {
            let from = start(r.start);
            let base = out.bytes.len();
            out.bytes.push_str(&self.bytes[from..self.ends[r.end - 1]]);
            out.ends
                .extend(self.ends[r.clone()].iter().map(|&e| e - from + base));
            out.valid.extend_from_slice(&self.valid[r]);
        }
        *self = out;
    }
}

pub(crate) enum Builder {
    Str(Texts),
    /// A category's level numbers (in the schema's declared levels).
    Cat(Prim<u32>),
    Int(Prim<i64>),
    Float(Prim<f64>),
    Date(Prim<i32>),
    Bool(Prim<bool>),
}

impl Builder {
    pub(crate) fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::String => Builder::Str(Texts::default()),
            ColumnType::Category => Builder::Cat(Prim::default()),
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
            Builder::Cat(b) => b.push(plan.level_code(c)),
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
            Builder::Cat(b) => b.retain(keep),
            Builder::Int(b) => b.retain(keep),
            Builder::Float(b) => b.retain(keep),
            Builder::Date(b) => b.retain(keep),
            Builder::Bool(b) => b.retain(keep),
        }
    }

    pub(crate) fn truncate(&mut self, n: usize) {
        match self {
            Builder::Str(b) => b.truncate(n),
            Builder::Cat(b) => b.truncate(n),
            Builder::Int(b) => b.truncate(n),
            Builder::Float(b) => b.truncate(n),
            Builder::Date(b) => b.truncate(n),
            Builder::Bool(b) => b.truncate(n),
        }
    }
}

/// What one source gives a column of the frame: the builders of its rows
/// (a part each, in file order), or `Nulls(n)`: its `n` rows, when it does
/// not map the column.
pub(crate) enum Piece {
    Rows(Builder),
    Nulls(usize),
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Nulls(n) => *n,
            Piece::Rows(Builder::Str(b)) => b.len(),
            Piece::Rows(Builder::Cat(b)) => b.values.len(),
            Piece::Rows(Builder::Int(b)) => b.values.len(),
            Piece::Rows(Builder::Float(b)) => b.values.len(),
            Piece::Rows(Builder::Date(b)) => b.values.len(),
            Piece::Rows(Builder::Bool(b)) => b.values.len(),
        }
    }
}

/// The column `def` made of `pieces` (the rows of one source after
/// another, each source's parts in file order) as one polars array: each
/// value is copied once, from its builder into the array, and a column
/// without nulls takes its values buffer as it is. (Each part becoming
/// polars chunks and then one chunk made of them copied every value
/// twice.) A category becomes an `Enum` of its levels
/// ([`ColumnDef::dtype`]). A builder of another type than the column's
/// (impossible by construction) gives nulls.
pub(crate) fn assemble(def: &ColumnDef, pieces: Vec<Piece>) -> Series {
    let name = PlSmallStr::from(def.name.as_str());
    let n: usize = pieces.iter().map(Piece::len).sum();
    match def.kind {
        ColumnType::Category => categories(name, &def.levels, n, pieces),
        ColumnType::String => {
            let mut out = StringChunkedBuilder::new(name, n);
            for piece in &pieces {
                match piece {
                    Piece::Rows(Builder::Str(b)) => b.iter().for_each(|v| out.append_option(v)),
                    other => (0..other.len()).for_each(|_| out.append_null()),
                }
            }
            out.finish().into_series()
        }
        ColumnType::Integer => prim::<Int64Type, _>(
            name,
            n,
            pieces,
            |b| match b {
                Builder::Int(p) => Ok(p),
                other => Err(other),
            },
            |v| v,
        )
        .into_series(),
        ColumnType::Float => prim::<Float64Type, _>(
            name,
            n,
            pieces,
            |b| match b {
                Builder::Float(p) => Ok(p),
                other => Err(other),
            },
            |v| v,
        )
        .into_series(),
        ColumnType::Date => prim::<Int32Type, _>(
            name,
            n,
            pieces,
            |b| match b {
                Builder::Date(p) => Ok(p),
                other => Err(other),
            },
            |v| v,
        )
        .into_date()
        .into_series(),
        ColumnType::Boolean => {
            let values =
                pieces
                    .iter()
                    .flat_map(|piece| -> Box<dyn Iterator<Item = Option<bool>>> {
                        match piece {
                            Piece::Rows(Builder::Bool(b)) => Box::new(
                                b.values
                                    .iter()
                                    .zip(&b.valid)
                                    .map(|(v, ok)| ok.then_some(*v)),
                            ),
                            other => Box::new(std::iter::repeat_n(None, other.len())),
                        }
                    });
            BooleanChunked::from_iter_options(name, values).into_series()
        }
    }
}

/// A category column of `n` rows from its builders' level numbers: an
/// `Enum` of `levels` whose codes are the numbers, in the type's physical
/// width. Levels that make no `Enum` (none, or repeated: schema problems
/// that stop a run before ingest) give the levels' text instead.
fn categories(name: PlSmallStr, levels: &[String], n: usize, pieces: Vec<Piece>) -> Series {
    let take = |b| match b {
        Builder::Cat(p) => Ok(p),
        other => Err(other),
    };
    let Some(dtype) = category_dtype(levels) else {
        let numbers = prim::<UInt32Type, _>(name.clone(), n, pieces, take, |i: u32| i);
        let text = |i: u32| levels.get(i as usize).map(String::as_str);
        return StringChunked::from_iter_options(name, numbers.iter().map(|v| v.and_then(text)))
            .into_series();
    };
    // A builder's numbers are level numbers, below the number of levels,
    // which is what the physical type is chosen to hold
    // (`FrozenCategories` picks the width for that many levels): the
    // narrowing casts below lose nothing.
    debug_assert!(pieces.iter().all(|p| match p {
        Piece::Rows(Builder::Cat(b)) => b.values.iter().all(|&i| (i as usize) < levels.len()),
        _ => true,
    }));
    // SAFETY (each arm): every code is a level number of `dtype`'s
    // categories (checked above in debug builds); a missing value is null.
    match dtype.cat_physical() {
        Ok(CategoricalPhysical::U8) => {
            let codes = prim::<UInt8Type, _>(name, n, pieces, take, |i: u32| i as u8);
            unsafe { Categorical8Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
        Ok(CategoricalPhysical::U16) => {
            let codes = prim::<UInt16Type, _>(name, n, pieces, take, |i: u32| i as u16);
            unsafe { Categorical16Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
        _ => {
            let codes = prim::<UInt32Type, _>(name, n, pieces, take, |i: u32| i);
            unsafe { Categorical32Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
    }
}

/// The fixed-width values of `pieces` as one array of `n` values, each
/// builder value `map`ped to the array's type; `take` gives a builder's
/// values, or the builder back if it is of another type. A column
/// without nulls whose values keep their type takes its first part's
/// buffer as it is (the collect below reuses it); otherwise the values
/// and their validity are gathered into one buffer each, then the array.
fn prim<P, S>(
    name: PlSmallStr,
    n: usize,
    pieces: Vec<Piece>,
    take: impl Fn(Builder) -> Result<Prim<S>, Builder>,
    map: impl Fn(S) -> P::Native + Copy,
) -> ChunkedArray<P>
where
    P: PolarsNumericType,
    P::Native: Default,
    S: Copy,
{
    let prims: Vec<Result<Prim<S>, usize>> = pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Rows(b) => take(b).map_err(|other| Piece::Rows(other).len()),
            Piece::Nulls(k) => Err(k),
        })
        .collect();
    let all_valid = prims
        .iter()
        .all(|p| matches!(p, Ok(p) if p.valid.iter().all(|v| *v)));
    let mut prims = prims.into_iter();
    let mut values: Vec<P::Native> = Vec::new();
    let mut valid: Vec<bool> = Vec::new();
    if all_valid {
        // One part of the same type: its buffer is the array's, without
        // a copy (an in-place collect).
        if let Some(Ok(first)) = prims.next() {
            values = first.values.into_iter().map(map).collect();
        }
    }
    values.reserve_exact(n - values.len());
    if !all_valid {
        valid.reserve_exact(n);
    }
    for p in prims {
        match p {
            Ok(p) => {
                values.extend(p.values.iter().map(|&v| map(v)));
                if !all_valid {
                    valid.extend_from_slice(&p.valid);
                }
            }
            Err(k) => {
                values.resize(values.len() + k, P::Native::default());
                valid.resize(valid.len() + k, false);
            }
        }
    }
    debug_assert_eq!(values.len(), n);
    if all_valid {
        return ChunkedArray::<P>::from_vec(name, values);
    }
    let cells = values.into_iter().zip(valid).map(|(v, ok)| ok.then_some(v));
    ChunkedArray::<P>::from_iter_options(name, cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text column keeps exactly the values of the kept rows, in order
    /// (nulls, empty texts and multi-byte texts among them), whatever runs
    /// of kept and dropped rows the mask makes.
    #[test]
    fn texts_keep_the_values_of_the_kept_rows() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x1234_5678_9abc_def1);
        let mut next = move |m: u64| rng.below(m as usize) as u64;
        for n in [0usize, 1, 2, 7, 100, 1000] {
            for density in [0, 1, 3, 4] {
                let values: Vec<Option<String>> = (0..n)
                    .map(|i| match next(5) {
                        0 => None,
                        1 => Some(String::new()),
                        2 => Some(format!("ё{i}")),
                        _ => Some(format!("P-{i}")),
                    })
                    .collect();
                let keep: Vec<bool> = (0..n).map(|_| next(4) < density).collect();
                let mut texts = Texts::default();
                values.iter().for_each(|v| texts.push(v.as_deref()));
                texts.retain(&keep);
                let expected: Vec<Option<&str>> = values
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| v.as_deref())
                    .collect();
                assert_eq!(texts.iter().collect::<Vec<_>>(), expected, "{n} rows");
                assert_eq!(texts.len(), expected.len());
            }
        }
    }
}

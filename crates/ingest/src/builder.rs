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

/// A category's level numbers (in the schema's declared levels), each in
/// the narrowest width that holds them: one byte a cell for up to 255
/// levels. The width's largest value marks a missing value: it is never a
/// level number, as polars' `Enum` of that width holds no more levels than
/// the values below it (`CategoricalPhysical::smallest_physical`).
pub(crate) enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Codes {
    fn for_levels(levels: usize) -> Codes {
        match CategoricalPhysical::smallest_physical(levels) {
            Ok(CategoricalPhysical::U8) => Codes::U8(Vec::new()),
            Ok(CategoricalPhysical::U16) => Codes::U16(Vec::new()),
            _ => Codes::U32(Vec::new()),
        }
    }

    fn push(&mut self, code: Option<u32>) {
        // A level number fits its width by construction (`for_levels`).
        match self {
            Codes::U8(v) => v.push(code.map_or(u8::MAX, |c| c as u8)),
            Codes::U16(v) => v.push(code.map_or(u16::MAX, |c| c as u16)),
            Codes::U32(v) => v.push(code.unwrap_or(u32::MAX)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Codes::U8(v) => v.len(),
            Codes::U16(v) => v.len(),
            Codes::U32(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Codes::U8(v) => v.truncate(n),
            Codes::U16(v) => v.truncate(n),
            Codes::U32(v) => v.truncate(n),
        }
    }

    fn retain(&mut self, keep: &[bool]) {
        fn kept<T>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        match self {
            Codes::U8(v) => kept(v, keep),
            Codes::U16(v) => kept(v, keep),
            Codes::U32(v) => kept(v, keep),
        }
    }

    /// Cell `i`'s level number (`None`: missing).
    fn get(&self, i: usize) -> Option<u32> {
        match self {
            Codes::U8(v) => (v[i] != u8::MAX).then_some(v[i] as u32),
            Codes::U16(v) => (v[i] != u16::MAX).then_some(v[i] as u32),
            Codes::U32(v) => (v[i] != u32::MAX).then_some(v[i]),
        }
    }
}

pub(crate) enum Builder {
    Str(Texts),
    Cat(Codes),
    Int(Prim<i64>),
    Float(Prim<f64>),
    Date(Prim<i32>),
    Bool(Prim<bool>),
}

impl Builder {
    /// The builder of `plan`'s column.
    pub(crate) fn new(plan: &Plan) -> Self {
        match plan.kind {
            ColumnType::String => Builder::Str(Texts::default()),
            ColumnType::Category => Builder::Cat(Codes::for_levels(plan.level_count())),
            ColumnType::Integer => Builder::Int(Prim::default()),
            ColumnType::Float => Builder::Float(Prim::default()),
            ColumnType::Date => Builder::Date(Prim::default()),
            ColumnType::Boolean => Builder::Bool(Prim::default()),
        }
    }

    /// Pushes one converted cell of `plan`'s column. Values are produced
    /// for this builder's type by construction; a mismatch (impossible) is
    /// stored as null rather than panicking.
    #[inline(always)]
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
            Piece::Rows(Builder::Cat(b)) => b.len(),
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
        ColumnType::Integer => prim::<Int64Type>(name, n, pieces, |b| match b {
            Builder::Int(p) => Ok(p),
            other => Err(other),
        })
        .into_series(),
        ColumnType::Float => prim::<Float64Type>(name, n, pieces, |b| match b {
            Builder::Float(p) => Ok(p),
            other => Err(other),
        })
        .into_series(),
        ColumnType::Date => prim::<Int32Type>(name, n, pieces, |b| match b {
            Builder::Date(p) => Ok(p),
            other => Err(other),
        })
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
/// `Enum` of `levels` whose codes are the numbers, in the width the
/// builders used (the one polars picks for that many levels). Levels that
/// make no `Enum` (none, or repeated: schema problems that stop a run
/// before ingest) give the levels' text instead.
fn categories(name: PlSmallStr, levels: &[String], n: usize, pieces: Vec<Piece>) -> Series {
    let Some(dtype) = category_dtype(levels) else {
        let text = |i: u32| levels.get(i as usize).map(String::as_str);
        let cells = pieces
            .iter()
            .flat_map(|p| -> Box<dyn Iterator<Item = Option<&str>>> {
                match p {
                    Piece::Rows(Builder::Cat(b)) => {
                        Box::new((0..b.len()).map(|i| b.get(i).and_then(text)))
                    }
                    other => Box::new(std::iter::repeat_n(None, other.len())),
                }
            });
        return StringChunked::from_iter_options(name, cells).into_series();
    };
    debug_assert!(pieces.iter().all(|p| match p {
        Piece::Rows(Builder::Cat(b)) =>
            (0..b.len()).all(|i| b.get(i).is_none_or(|c| (c as usize) < levels.len())),
        _ => true,
    }));
    // SAFETY (each arm): every code is a level number of `dtype`'s
    // categories (checked above in debug builds); a missing value is null.
    match dtype.cat_physical() {
        Ok(CategoricalPhysical::U8) => {
            let codes = code_array::<UInt8Type>(name, n, pieces, u8::MAX, |c| match c {
                Codes::U8(v) => Some(v),
                _ => None,
            });
            unsafe { Categorical8Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
        Ok(CategoricalPhysical::U16) => {
            let codes = code_array::<UInt16Type>(name, n, pieces, u16::MAX, |c| match c {
                Codes::U16(v) => Some(v),
                _ => None,
            });
            unsafe { Categorical16Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
        _ => {
            let codes = code_array::<UInt32Type>(name, n, pieces, u32::MAX, |c| match c {
                Codes::U32(v) => Some(v),
                _ => None,
            });
            unsafe { Categorical32Chunked::from_cats_and_dtype_unchecked(codes, dtype) }
                .into_series()
        }
    }
}

/// The codes of `pieces` as one array of `n` values, `missing` (the
/// width's largest value) as null; `take` gives a builder's codes of this
/// width. A source that does not map the column, or a builder of another
/// width (impossible by construction), gives nulls. Without a missing
/// value the first part's buffer is the array's, without a copy.
fn code_array<P>(
    name: PlSmallStr,
    n: usize,
    pieces: Vec<Piece>,
    missing: P::Native,
    take: impl Fn(Codes) -> Option<Vec<P::Native>>,
) -> ChunkedArray<P>
where
    P: PolarsNumericType,
{
    let mut values: Vec<P::Native> = Vec::new();
    for piece in pieces {
        let part = match piece {
            Piece::Rows(Builder::Cat(c)) => {
                let k = c.len();
                take(c).ok_or(k)
            }
            other => Err(other.len()),
        };
        match part {
            Ok(v) if values.is_empty() => {
                values = v;
                values.reserve_exact(n - values.len());
            }
            Ok(v) => values.extend_from_slice(&v),
            Err(k) => values.resize(values.len() + k, missing),
        }
    }
    debug_assert_eq!(values.len(), n);
    if !values.contains(&missing) {
        return ChunkedArray::<P>::from_vec(name, values);
    }
    let cells = values.into_iter().map(|v| (v != missing).then_some(v));
    ChunkedArray::<P>::from_iter_options(name, cells)
}

/// The fixed-width values of `pieces` as one array of `n` values; `take`
/// gives a builder's values, or the builder back if it is of another
/// type. A column without nulls takes its first part's buffer as it is;
/// otherwise the values and their validity are gathered into one buffer
/// each, then the array.
fn prim<P>(
    name: PlSmallStr,
    n: usize,
    pieces: Vec<Piece>,
    take: impl Fn(Builder) -> Result<Prim<P::Native>, Builder>,
) -> ChunkedArray<P>
where
    P: PolarsNumericType,
    P::Native: Default,
{
    let prims: Vec<Result<Prim<P::Native>, usize>> = pieces
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
        // The first part's buffer is the array's, without a copy.
        if let Some(Ok(first)) = prims.next() {
            values = first.values;
        }
    }
    values.reserve_exact(n - values.len());
    if !all_valid {
        valid.reserve_exact(n);
    }
    for p in prims {
        match p {
            Ok(p) => {
                values.extend_from_slice(&p.values);
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

    /// A category column comes out as the levels of its builders' numbers,
    /// nulls where a cell was missing or a source does not map the
    /// column, whatever the width: 3 levels (a byte), exactly 255 (a
    /// byte, the last level beside the missing marker) and 300 (two
    /// bytes), over several parts and sources, with rows kept and dropped.
    #[test]
    fn categories_come_out_as_their_levels() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x5eed_cafe);
        for count in [3usize, 255, 300] {
            let levels: Vec<String> = (0..count).map(|i| format!("level {i}")).collect();
            let mut pieces = Vec::new();
            let mut expected: Vec<Option<String>> = Vec::new();
            for part in 0..4 {
                if part == 2 {
                    pieces.push(Piece::Nulls(5));
                    expected.extend(std::iter::repeat_n(None, 5));
                    continue;
                }
                let mut codes = Codes::for_levels(count);
                let mut cells = Vec::new();
                for _ in 0..200 {
                    let cell = match rng.below(5) {
                        0 => None,
                        1 => Some(count as u32 - 1),
                        _ => Some(rng.below(count) as u32),
                    };
                    codes.push(cell);
                    cells.push(cell);
                }
                let keep: Vec<bool> = (0..200).map(|_| rng.below(4) > 0).collect();
                codes.retain(&keep);
                expected.extend(
                    cells
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(c, _)| c.map(|c| levels[c as usize].clone())),
                );
                pieces.push(Piece::Rows(Builder::Cat(codes)));
            }
            let n = expected.len();
            let series = categories("x".into(), &levels, n, pieces);
            assert!(series.dtype().is_enum(), "{count} levels");
            let text = series.cast(&DataType::String).unwrap();
            let got: Vec<Option<String>> = text
                .str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect();
            assert_eq!(got, expected, "{count} levels");
        }
    }

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

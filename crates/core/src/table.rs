//! Provenance columns and readable table rendering.

use polars::prelude::*;
use polars_io::prelude::{CsvWriter, SerWriter};

/// Name of the source a row came from (the source file's `name`): an
/// `Enum` of the run's sources ([`source_dtype`]), read as text like a
/// category.
pub const SOURCE: &str = "source";
/// Line (CSV) or sheet row (XLSX) of the record in the original file, 1-based.
pub const SOURCE_ROW: &str = "source_row";
/// Rules and checks that flagged a row without removing it, `; `-joined
/// (added by the clean stage, extended by derive).
pub const FLAGS: &str = "flags";
/// Columns every stage carries through untouched.
pub const PROVENANCE: [&str; 2] = [SOURCE, SOURCE_ROW];

/// The type of the `source` column of a table of `sources` (their names
/// in order, a repeated name once): an `Enum` of the names, one byte a row
/// for up to 255 sources instead of a 16-byte text view; text when there
/// is no source.
pub fn source_dtype(sources: &[String]) -> DataType {
    let mut names: Vec<String> = Vec::new();
    for s in sources {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    crate::schema::category_dtype(&names).unwrap_or(DataType::String)
}

/// The `source` column of a table whose rows are `runs` (a source's name
/// and its number of rows, in row order), of [`source_dtype`]'s type.
pub fn source_column(runs: &[(String, usize)]) -> PolarsResult<Column> {
    let mut names: Vec<String> = Vec::new();
    let mut codes: Vec<u32> = Vec::new();
    for (name, n) in runs {
        let code = match names.iter().position(|l| l == name) {
            Some(c) => c,
            None => {
                names.push(name.clone());
                names.len() - 1
            }
        };
        codes.resize(codes.len() + n, code as u32);
    }
    if names.is_empty() {
        return Ok(Column::new_empty(SOURCE.into(), &DataType::String));
    }
    code_column(SOURCE, &names, &codes)
}

/// A column of `levels[code]` for each of `codes` (every code below the
/// number of levels), held as an `Enum` of the levels
/// ([`crate::schema::category_dtype`]): the codes go straight into the
/// type's width (a byte for up to 255 levels), with no text column in
/// between. Levels that make no `Enum` (none, or one repeated) give the
/// text instead.
pub fn code_column(name: &str, levels: &[String], codes: &[u32]) -> PolarsResult<Column> {
    let Some(dtype) = crate::schema::category_dtype(levels) else {
        let text: StringChunked = codes
            .iter()
            .map(|&c| levels.get(c as usize).map(String::as_str))
            .collect();
        return Ok(text.with_name(name.into()).into_column());
    };
    polars_ensure!(
        codes.iter().all(|&c| (c as usize) < levels.len()),
        ComputeError: "a code of column '{name}' is not one of its {} levels", levels.len()
    );
    // SAFETY (each arm): every code is below the number of levels (checked
    // above), which the `Enum`'s width holds.
    let series = match dtype.cat_physical()? {
        CategoricalPhysical::U8 => unsafe {
            Categorical8Chunked::from_cats_and_dtype_unchecked(
                UInt8Chunked::from_vec(name.into(), codes.iter().map(|&c| c as u8).collect()),
                dtype.clone(),
            )
        }
        .into_series(),
        CategoricalPhysical::U16 => unsafe {
            Categorical16Chunked::from_cats_and_dtype_unchecked(
                UInt16Chunked::from_vec(name.into(), codes.iter().map(|&c| c as u16).collect()),
                dtype.clone(),
            )
        }
        .into_series(),
        CategoricalPhysical::U32 => unsafe {
            Categorical32Chunked::from_cats_and_dtype_unchecked(
                UInt32Chunked::from_slice(name.into(), codes),
                dtype.clone(),
            )
        }
        .into_series(),
    };
    Ok(series.into_column())
}

/// The rows of `frame` still in (`alive`), with only the columns `expr`
/// names when it names them all by name (a selector such as `*` takes the
/// whole table): a condition sees the same rows and values either way, so
/// it gives the same result, aggregates and `COUNT(*)` included. A stage
/// that removes rows step by step judges each step on these rows and filters
/// the whole table once, at its end.
pub fn rows_in(frame: &DataFrame, alive: &[bool], expr: &Expr) -> PolarsResult<DataFrame> {
    let mut names: Vec<PlSmallStr> = Vec::new();
    let mut whole = false;
    for e in expr {
        match e {
            // A column the table lacks: the whole table, for polars' error.
            Expr::Column(c) if frame.column(c).is_err() => whole = true,
            Expr::Column(c) if !names.contains(c) => names.push(c.clone()),
            Expr::Selector(_) => whole = true,
            _ => {}
        }
    }
    // A condition on no column (`TRUE`) still needs the rows' count.
    if names.is_empty() {
        names.push(SOURCE_ROW.into());
    }
    let narrow = if whole {
        frame.clone()
    } else {
        frame.select(names)?
    };
    if alive.iter().all(|a| *a) {
        return Ok(narrow);
    }
    narrow.filter(&BooleanChunked::from_slice("alive".into(), alive))
}

/// A condition's value over a table of `height` rows: a condition that is
/// one value for the whole table (`TRUE`, `COUNT(*) > 10`) holds or fails
/// for every row.
pub fn broadcast(mask: BooleanChunked, height: usize) -> BooleanChunked {
    if mask.len() == 1 && height != 1 {
        mask.new_from_index(0, height)
    } else {
        mask
    }
}

/// A mask of the rows still in (`alive`, as [`rows_in`] gave them) spread
/// over all the rows: false where a row is no longer in.
pub fn spread(mask: &BooleanChunked, alive: &[bool]) -> BooleanChunked {
    let mut values = mask.iter();
    let all: Vec<bool> = alive
        .iter()
        .map(|&a| a && values.next().flatten().unwrap_or(false))
        .collect();
    BooleanChunked::from_slice(mask.name().clone(), &all)
}

/// `frame.filter(mask)`, column by column: each column of `frame` is
/// released as soon as its filtered copy is made (when `frame` held the
/// only reference to it), so a stage that removes rows needs about one
/// table and a column more, not two tables. The columns are filtered on
/// every core (rayon), each core one column at a time.
pub fn filter_owned(frame: DataFrame, mask: &BooleanChunked) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let height = mask.num_trues();
    let columns: Vec<Column> = frame
        .into_columns()
        .into_par_iter()
        .map(|c| c.filter(mask))
        .collect::<PolarsResult<_>>()?;
    DataFrame::new(height, columns)
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Renders a table as CSV text: floats with `float_precision` decimals,
/// dates as ISO 8601, empty cells for null. Used for the human-readable
/// outputs and for snapshots, so it must be stable across runs.
pub fn to_csv(df: &DataFrame, float_precision: usize) -> PolarsResult<String> {
    let mut buf = Vec::new();
    write_csv(df, float_precision, &mut buf)?;
    Ok(String::from_utf8(buf).expect("polars writes UTF-8 CSV"))
}

/// [`to_csv`] streamed into `w` (a large table is never held as text).
/// A table of the stages' column types is written by [`crate::csv_out`]
/// (blocks of rows on every core); any other by polars' writer
/// ([`write_csv_polars`]), whose bytes both give.
pub fn write_csv<W: std::io::Write + Send>(
    df: &DataFrame,
    float_precision: usize,
    w: &mut W,
) -> PolarsResult<()> {
    if crate::csv_out::write(df, float_precision, w)? {
        return Ok(());
    }
    write_csv_polars(df, float_precision, w)
}

/// [`to_csv`] by polars' CSV writer. The float columns are written as
/// text first by [`crate::fixed`] (each column on a thread of its own):
/// the same bytes as polars' own `{:.p$}`, several times faster. The
/// oracle of [`crate::csv_out`]'s tests.
pub(crate) fn write_csv_polars<W: std::io::Write>(
    df: &DataFrame,
    float_precision: usize,
    w: &mut W,
) -> PolarsResult<()> {
    let columns: Vec<Column> = std::thread::scope(|scope| {
        let jobs: Vec<_> = df
            .columns()
            .iter()
            .map(|c| match c.dtype() {
                DataType::Float64 | DataType::Float32 => {
                    Err(scope.spawn(move || fixed_text(c, float_precision)))
                }
                _ => Ok(c.clone()),
            })
            .collect();
        jobs.into_iter()
            .map(|j| match j {
                Ok(c) => Ok(c),
                Err(h) => h.join().expect("writing floats does not panic"),
            })
            .collect::<PolarsResult<_>>()
    })?;
    let mut df = DataFrame::new(df.height(), columns)?;
    CsvWriter::new(w)
        .include_header(true)
        .with_float_precision(Some(float_precision))
        .finish(&mut df)
}

/// A float column as the text [`to_csv`] writes for it (null stays null).
fn fixed_text(c: &Column, p: usize) -> PolarsResult<Column> {
    let f = c.cast(&DataType::Float64)?;
    let mut out = StringChunkedBuilder::new(c.name().clone(), f.len());
    let mut buf = String::new();
    for v in f.f64()?.iter() {
        match v {
            Some(x) => {
                buf.clear();
                crate::fixed::push_fixed(&mut buf, x, p);
                out.append_value(buf.as_str());
            }
            None => out.append_null(),
        }
    }
    Ok(out.finish().into_column())
}

/// `c` as text when it is a category (`Enum` codes, or a `Categorical`):
/// each code's level; any other column as it is. For the few places that
/// read a category's values one by one as text (a key, a cause); the
/// stages keep the codes.
pub fn as_text(c: &Column) -> PolarsResult<Column> {
    if c.dtype().is_enum() || c.dtype().is_categorical() {
        c.cast(&DataType::String)
    } else {
        Ok(c.clone())
    }
}

/// A category column's levels (by code) and each row's code, widened to
/// `u32`; `None` for a column that is not an `Enum`. The one place the
/// stages read codes as numbers: every caller maps a code to its level's
/// meaning through the levels.
pub fn level_codes(c: &Column) -> PolarsResult<Option<(Vec<&str>, UInt32Chunked)>> {
    let DataType::Enum(levels, _) = c.dtype() else {
        return Ok(None);
    };
    let levels: Vec<&str> = levels.categories().values_iter().collect();
    let codes = c
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::UInt32)?;
    Ok(Some((levels, codes.u32()?.clone())))
}

/// Whether each row of `c` is the text `value` (a null is not). A category
/// is compared by its codes with the code of `value` (no row is, when
/// `value` is not one of its levels), without a text column of its rows.
pub fn equals_text(c: &Column, value: &str) -> PolarsResult<Vec<bool>> {
    if let Some((levels, codes)) = level_codes(c)? {
        let Some(code) = levels.iter().position(|l| *l == value) else {
            return Ok(vec![false; c.len()]);
        };
        return Ok(codes.iter().map(|x| x == Some(code as u32)).collect());
    }
    let text = as_text(c)?;
    Ok(text.str()?.iter().map(|x| x == Some(value)).collect())
}

/// The row values of `columns` at `idx`, as `column=value` pairs joined by
/// `; `, for reject reasons. Nulls print as `NULL`.
pub fn describe_row(df: &DataFrame, idx: usize, columns: &[String]) -> String {
    columns
        .iter()
        .filter_map(|c| {
            let col = df.column(c).ok()?;
            let v = col.get(idx).ok()?;
            let text = match v {
                AnyValue::Null => "NULL".to_string(),
                // Text, or a category's level.
                ref v if v.get_str().is_some() => v.get_str().unwrap_or_default().to_string(),
                other => other.to_string(),
            };
            Some(format!("{c}={text}"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rows of each source, as runs of consecutive rows of one source:
/// `(first row, end row, index in sources)`, the index `None` for a null
/// or undeclared source. A table's rows come source after source, so there
/// are a handful of runs however many rows. A stage finds them once and
/// counts every mask of its table with them ([`SourceRuns::counts_where`]).
///
/// Each row's text is compared with the sources only where its 16-byte
/// view differs from the row before's: within one array an equal view is
/// the same text (inline, or the same bytes of the same buffer). The counts
/// compared every row's text for every mask before: at 1M rows the clean
/// stage went from 0.07–0.08 s to 0.06–0.07 s with this alone (three
/// interleaved pairs).
pub struct SourceRuns {
    runs: Vec<(usize, usize, Option<usize>)>,
    sources: usize,
    height: usize,
}

impl SourceRuns {
    /// The runs of `df`'s source column.
    pub fn of(df: &DataFrame, sources: &[String]) -> PolarsResult<SourceRuns> {
        let source = df.column(SOURCE)?;
        if let Some((levels, codes)) = level_codes(source)? {
            return Ok(Self::of_codes(df, &levels, &codes, sources));
        }
        let mut runs: Vec<(usize, usize, Option<usize>)> = Vec::new();
        let mut at = 0;
        let column = source.str()?;
        for (arr, valid) in column.downcast_iter().zip(column.iter_validities()) {
            let views = arr.views();
            // The view and source of the row before, in this array.
            let mut before: Option<(u128, Option<usize>)> = None;
            for (i, view) in views.iter().enumerate() {
                let code = if valid.is_some_and(|v| !v.get_bit(i)) {
                    None
                } else {
                    let view = view.as_u128();
                    match before {
                        Some((v, code)) if v == view => code,
                        _ => {
                            // SAFETY: `i` is below the array's length (its
                            // views).
                            let text = unsafe { arr.value_unchecked(i) };
                            let code = sources.iter().position(|n| n == text);
                            before = Some((view, code));
                            code
                        }
                    }
                };
                match runs.last_mut() {
                    Some((_, end, c)) if *c == code && *end == at + i => *end += 1,
                    _ => runs.push((at + i, at + i + 1, code)),
                }
            }
            at += views.len();
        }
        Ok(SourceRuns {
            runs,
            sources: sources.len(),
            height: df.height(),
        })
    }

    /// [`SourceRuns::of`] for a source column of `Enum` codes: each
    /// level's index in `sources` is found once, and a run is a stretch of
    /// one code.
    fn of_codes(
        df: &DataFrame,
        levels: &[&str],
        codes: &UInt32Chunked,
        sources: &[String],
    ) -> SourceRuns {
        let index: Vec<Option<usize>> = levels
            .iter()
            .map(|name| sources.iter().position(|n| n == name))
            .collect();
        let mut runs: Vec<(usize, usize, Option<usize>)> = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            let code = code.and_then(|c| index[c as usize]);
            match runs.last_mut() {
                Some((_, end, c)) if *c == code && *end == i => *end += 1,
                _ => runs.push((i, i + 1, code)),
            }
        }
        SourceRuns {
            runs,
            sources: sources.len(),
            height: df.height(),
        }
    }

    /// One ledger account per source for `stage` (`sources` as given to
    /// [`SourceRuns::of`]), with the source's rows as the rows in.
    pub fn accounts(&self, stage: &str, sources: &[String]) -> Vec<crate::ledger::StageAccount> {
        self.counts()
            .into_iter()
            .zip(sources)
            .map(|(n, s)| crate::ledger::StageAccount::new(stage, s, n))
            .collect()
    }

    /// The runs, in row order.
    pub fn runs(&self) -> &[(usize, usize, Option<usize>)] {
        &self.runs
    }

    /// Rows per source.
    pub fn counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.sources];
        for &(first, end, code) in &self.runs {
            if let Some(k) = code {
                counts[k] += (end - first) as u64;
            }
        }
        counts
    }

    /// Rows per source where `mask` (over the same rows) is true: the set
    /// bits of its values and validity, run by run.
    pub fn counts_where(&self, mask: &BooleanChunked) -> PolarsResult<Vec<u64>> {
        polars_ensure!(
            mask.len() == self.height,
            ShapeMismatch: "a mask of {} rows for a table of {}", mask.len(), self.height
        );
        let mask = mask.rechunk();
        let mut counts = vec![0u64; self.sources];
        let (Some(arr), Some(valid)) = (mask.downcast_iter().next(), mask.iter_validities().next())
        else {
            return Ok(counts);
        };
        let values = arr.values();
        for &(first, end, code) in &self.runs {
            let Some(k) = code else { continue };
            let len = end - first;
            let trues = len - values.null_count_range(first, len);
            // A null with its value bit set is not a true.
            let null_trues = match valid {
                Some(v) if v.null_count_range(first, len) > 0 => (first..end)
                    .filter(|&i| !v.get_bit(i) && values.get_bit(i))
                    .count(),
                _ => 0,
            };
            counts[k] += (trues - null_trues) as u64;
        }
        Ok(counts)
    }
}

/// Rows per source, for each of `sources` in that order (0 when absent).
pub fn counts_by_source(df: &DataFrame, sources: &[String]) -> PolarsResult<Vec<u64>> {
    Ok(SourceRuns::of(df, sources)?.counts())
}

/// Rows of each source where `mask` is true, counted without copying them
/// ([`SourceRuns::counts_where`]).
pub fn counts_by_source_where(
    df: &DataFrame,
    mask: &BooleanChunked,
    sources: &[String],
) -> PolarsResult<Vec<u64>> {
    SourceRuns::of(df, sources)?.counts_where(mask)
}

/// Opens one ledger account per source for `stage`, with the rows of each
/// source in `df` as the rows in ([`SourceRuns::accounts`]).
pub fn open_accounts(
    stage: &str,
    df: &DataFrame,
    sources: &[String],
) -> PolarsResult<Vec<crate::ledger::StageAccount>> {
    Ok(SourceRuns::of(df, sources)?.accounts(stage, sources))
}

/// The source name and source row of row `i`.
pub fn provenance(df: &DataFrame, i: usize) -> PolarsResult<(String, i64)> {
    let source = df.column(SOURCE)?.get(i)?;
    let source = source.get_str().unwrap_or("").to_string();
    let row = df.column(SOURCE_ROW)?.i64()?.get(i).unwrap_or(0);
    Ok((source, row))
}

/// A date column as days since 1970-01-01 (polars' representation of a
/// date), for arithmetic on dates.
pub fn date_days(df: &DataFrame, column: &str) -> PolarsResult<Int32Chunked> {
    Ok(df.column(column)?.cast(&DataType::Int32)?.i32()?.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts run by run are the counts row by row (each row's text
    /// looked up, a mask value counted when it is `Some(true)`), on random
    /// tables in one or several arrays: sources short and inline, long
    /// (kept in a buffer, so that equal texts may have different views),
    /// null or undeclared, in runs and interleaved, and masks with nulls
    /// (some with their value bit set) and in several arrays.
    #[test]
    fn counts_by_source_are_the_row_by_row_counts() {
        let names = [
            "center_a",
            "a source name longer than twelve bytes",
            "другой центр, длинное имя",
            "undeclared",
        ];
        let declared: Vec<String> = names[..3].iter().map(|s| s.to_string()).collect();
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x50c0_07e5);
        for case in 0..300 {
            let n = rng.below(200);
            let runs = case % 2 == 0;
            let mut current = rng.below(5);
            let texts: Vec<Option<&str>> = (0..n)
                .map(|_| {
                    if !runs || rng.below(20) == 0 {
                        current = rng.below(5);
                    }
                    names.get(current).copied()
                })
                .collect();
            let mask_values: Vec<Option<bool>> = (0..n)
                .map(|_| match rng.below(5) {
                    0 => None,
                    k => Some(k % 2 == 0),
                })
                .collect();
            // In pieces: several arrays per column.
            let pieces = 1 + rng.below(3);
            let cut = |k: usize| k * n / pieces;
            let mut source =
                StringChunked::from_iter_options(SOURCE.into(), std::iter::empty::<Option<&str>>());
            let mut mask = BooleanChunked::from_iter_options("m".into(), std::iter::empty());
            for p in 0..pieces {
                let (lo, hi) = (cut(p), cut(p + 1));
                source
                    .append(&StringChunked::from_iter_options(
                        SOURCE.into(),
                        texts[lo..hi].iter().copied(),
                    ))
                    .unwrap();
                // A null whose value bit is set: a null built from `true`.
                let piece: BooleanChunked = mask_values[lo..hi]
                    .iter()
                    .map(|v| Some(v.unwrap_or(true)))
                    .collect();
                let nulls: BooleanChunked = mask_values[lo..hi]
                    .iter()
                    .map(|v| Some(v.is_some()))
                    .collect();
                let piece = piece.set(&!&nulls, None).unwrap();
                mask.append(&piece).unwrap();
            }
            assert_eq!(mask.iter().collect::<Vec<_>>(), mask_values);
            let df = DataFrame::new(n, vec![source.into_column()]).unwrap();
            let mut all = vec![0u64; 3];
            let mut trues = vec![0u64; 3];
            for (t, m) in texts.iter().zip(&mask_values) {
                if let Some(k) = t.and_then(|t| declared.iter().position(|d| d == t)) {
                    all[k] += 1;
                    trues[k] += u64::from(*m == Some(true));
                }
            }
            assert_eq!(
                counts_by_source(&df, &declared).unwrap(),
                all,
                "case {case}"
            );
            assert_eq!(
                counts_by_source_where(&df, &mask, &declared).unwrap(),
                trues,
                "case {case}"
            );
            // The same sources as codes: an `Enum` of the names (the
            // undeclared one among them, in another order than declared).
            let levels: Vec<String> = names.iter().rev().map(|s| s.to_string()).collect();
            let codes = df
                .column(SOURCE)
                .unwrap()
                .cast(&source_dtype(&levels))
                .unwrap();
            assert!(codes.dtype().is_enum());
            let coded = DataFrame::new(n, vec![codes]).unwrap();
            assert_eq!(
                counts_by_source(&coded, &declared).unwrap(),
                all,
                "case {case}, codes"
            );
            assert_eq!(
                counts_by_source_where(&coded, &mask, &declared).unwrap(),
                trues,
                "case {case}, codes"
            );
        }
    }

    /// A column of codes reads as its levels' text, in a byte for a few
    /// levels and two for 300; repeated levels give text; a code past the
    /// levels is an error, not a wrong level.
    #[test]
    fn a_code_column_reads_as_its_levels() {
        for count in [2usize, 255, 300] {
            let levels: Vec<String> = (0..count).map(|i| format!("l{i}")).collect();
            let codes: Vec<u32> = (0..1000).map(|i| (i * 7 % count) as u32).collect();
            let column = code_column("x", &levels, &codes).unwrap();
            assert!(column.dtype().is_enum(), "{count}");
            let text = as_text(&column).unwrap();
            let got: Vec<&str> = text.str().unwrap().iter().flatten().collect();
            let want: Vec<&str> = codes.iter().map(|&c| levels[c as usize].as_str()).collect();
            assert_eq!(got, want, "{count} levels");
        }
        // A row is a text by its code, as by its text; a text that is not a
        // level is no row's.
        let levels: Vec<String> = ["b", "a"].iter().map(|l| l.to_string()).collect();
        let codes = code_column("x", &levels, &[0, 1, 1, 0]).unwrap();
        let text = as_text(&codes).unwrap();
        for value in ["a", "b", "c"] {
            assert_eq!(
                equals_text(&codes, value).unwrap(),
                equals_text(&text, value).unwrap(),
                "{value}"
            );
        }
        assert_eq!(
            equals_text(&codes, "a").unwrap(),
            [false, true, true, false]
        );
        let twice = ["a".to_string(), "a".to_string()];
        let text = code_column("x", &twice, &[1, 0]).unwrap();
        assert_eq!(text.dtype(), &DataType::String);
        assert!(code_column("x", &["a".to_string()], &[1]).is_err());
    }

    /// The source column of runs of sources is an `Enum` of their names
    /// (a name repeated in another run once), each row its run's name.
    #[test]
    fn a_source_column_is_codes_of_the_names() {
        let runs = [
            ("b".to_string(), 2),
            ("a".to_string(), 1),
            ("b".to_string(), 3),
            ("c".to_string(), 0),
        ];
        let column = source_column(&runs).unwrap();
        let DataType::Enum(levels, _) = column.dtype() else {
            panic!("not an enum: {:?}", column.dtype())
        };
        assert_eq!(
            levels.categories().values_iter().collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        let text = as_text(&column).unwrap();
        let text: Vec<_> = text.str().unwrap().iter().collect();
        assert_eq!(
            text,
            [
                Some("b"),
                Some("b"),
                Some("a"),
                Some("b"),
                Some("b"),
                Some("b")
            ]
        );
        assert_eq!(source_column(&[]).unwrap().dtype(), &DataType::String);
    }

    #[test]
    fn filtering_column_by_column_is_filtering_the_table() {
        let n = 10_000;
        let df = DataFrame::new(
            n,
            vec![
                Int64Chunked::from_iter_options(
                    "i".into(),
                    (0..n as i64).map(|i| (i % 7 != 0).then_some(i)),
                )
                .into_column(),
                StringChunked::from_iter_options(
                    "s".into(),
                    (0..n).map(|i| (i % 5 != 0).then(|| format!("text number {i}"))),
                )
                .into_column(),
                Column::new_scalar("c".into(), Scalar::from(1.5f64), n),
            ],
        )
        .unwrap();
        for keep in [
            (0..n).map(|i| i % 3 != 1).collect::<Vec<bool>>(),
            vec![true; n],
            vec![false; n],
        ] {
            let mask = BooleanChunked::from_slice("keep".into(), &keep);
            let expected = df.filter(&mask).unwrap();
            // The table given up (its columns shared with `df` here, as a
            // stage table handed to the writer would be).
            let got = filter_owned(df.clone(), &mask).unwrap();
            assert_eq!(got.height(), keep.iter().filter(|k| **k).count());
            assert!(got.equals_missing(&expected));
            assert_eq!(got.schema(), expected.schema());
        }
    }
}

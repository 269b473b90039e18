//! Provenance columns and readable table rendering.

use polars::prelude::*;
use polars_io::prelude::{CsvWriter, SerWriter};

/// Name of the source a row came from (the source file's `name`).
pub const SOURCE: &str = "source";
/// Line (CSV) or sheet row (XLSX) of the record in the original file, 1-based.
pub const SOURCE_ROW: &str = "source_row";
/// Rules and checks that flagged a row without removing it, `; `-joined
/// (added by the clean stage, extended by derive).
pub const FLAGS: &str = "flags";
/// Columns every stage carries through untouched.
pub const PROVENANCE: [&str; 2] = [SOURCE, SOURCE_ROW];

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
                AnyValue::String(s) => s.to_string(),
                AnyValue::StringOwned(s) => s.to_string(),
                other => other.to_string(),
            };
            Some(format!("{c}={text}"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Rows per source, for each of `sources` in that order (0 when absent).
pub fn counts_by_source(df: &DataFrame, sources: &[String]) -> PolarsResult<Vec<u64>> {
    let mut counts = vec![0u64; sources.len()];
    for s in df.column(SOURCE)?.str()?.iter().flatten() {
        if let Some(i) = sources.iter().position(|n| n == s) {
            counts[i] += 1;
        }
    }
    Ok(counts)
}

/// Rows of each source where `mask` is true, counted without copying them.
pub fn counts_by_source_where(
    df: &DataFrame,
    mask: &BooleanChunked,
    sources: &[String],
) -> PolarsResult<Vec<u64>> {
    let src = df.column(SOURCE)?.str()?;
    let mut counts = vec![0u64; sources.len()];
    for (m, s) in mask.iter().zip(src.iter()) {
        if m == Some(true)
            && let Some(k) = s.and_then(|s| sources.iter().position(|n| n == s))
        {
            counts[k] += 1;
        }
    }
    Ok(counts)
}

/// Opens one ledger account per source for `stage`, with the rows of each
/// source in `df` as the rows in.
pub fn open_accounts(
    stage: &str,
    df: &DataFrame,
    sources: &[String],
) -> PolarsResult<Vec<crate::ledger::StageAccount>> {
    Ok(counts_by_source(df, sources)?
        .into_iter()
        .zip(sources)
        .map(|(n, s)| crate::ledger::StageAccount::new(stage, s, n))
        .collect())
}

/// The source name and source row of row `i`.
pub fn provenance(df: &DataFrame, i: usize) -> PolarsResult<(String, i64)> {
    let source = df.column(SOURCE)?.str()?.get(i).unwrap_or("").to_string();
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

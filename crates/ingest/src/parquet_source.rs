//! Parquet through polars' reader; each value becomes a raw cell so that the
//! same converter (codes, units, levels) applies.

use crate::cell::{CellIssue, RawCell};
use crate::config::Source;
use crate::converter::Converter;
use crate::error::IngestError;
use crate::headers::resolve;
use chrono::NaiveDate;
use polars::prelude::*;
use polars_io::prelude::{ParquetReader, SerReader};

enum Col {
    Str(StringChunked),
    Int(Int64Chunked),
    Float(Float64Chunked),
    Bool(BooleanChunked),
    /// Days since 1970-01-01.
    Date(Int32Chunked),
    Null,
}

impl Col {
    fn get(&self, i: usize) -> RawCell<'_> {
        match self {
            Col::Str(c) => c.get(i).map_or(RawCell::Empty, RawCell::Text),
            Col::Int(c) => c.get(i).map_or(RawCell::Empty, RawCell::Int),
            Col::Float(c) => c.get(i).map_or(RawCell::Empty, RawCell::Number),
            Col::Bool(c) => c.get(i).map_or(RawCell::Empty, RawCell::Bool),
            Col::Date(c) => c.get(i).map_or(RawCell::Empty, |d| {
                NaiveDate::from_ymd_opt(1970, 1, 1)
                    .and_then(|e| e.checked_add_signed(chrono::Duration::days(d as i64)))
                    .map_or(RawCell::Error(CellIssue::DateOutOfRange), RawCell::Date)
            }),
            Col::Null => RawCell::Empty,
        }
    }
}

pub(crate) fn read(source: &Source, conv: &mut Converter) -> Result<(), IngestError> {
    let path = source.data_path();
    let file = std::fs::File::open(&path).map_err(|e| {
        conv.error(
            format!("cannot open the data file: {e}"),
            "check `path` in the source file",
        )
    })?;
    read_from(source, conv, file)
}

/// Reads parquet from any reader polars accepts (a file, or bytes in a cursor).
pub(crate) fn read_from<R: polars_io::mmap::MmapBytesReader>(
    source: &Source,
    conv: &mut Converter,
    file: R,
) -> Result<(), IngestError> {
    let toml = source.file.display().to_string();
    let df = crate::guard(|| ParquetReader::new(file).finish())
        .map_err(|p| p.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| {
            conv.error(
                format!("cannot read the parquet file: {e}"),
                "the file is damaged or not parquet; re-export it",
            )
        })?;
    let headers: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    resolve(
        conv,
        &headers,
        1,
        "the parquet schema",
        source.config.unmapped_columns,
        &toml,
        |_| None,
    )?;
    let mut cols = Vec::with_capacity(conv.fields.len());
    for (k, &f) in conv.fields.iter().enumerate() {
        let header = &conv.plans[k].header;
        let unsupported = |dtype: &DataType| {
            conv.error(
                format!(
                    "parquet column \"{header}\" has type {dtype}, which cohortflow does not read"
                ),
                "export it as text, a number, a boolean or a date",
            )
            .column(header.clone())
        };
        let s = df.columns()[f].as_materialized_series().rechunk();
        let dtype = s.dtype().clone();
        let cast = |to: &DataType| s.cast(to).map_err(|_| unsupported(&dtype));
        let col = match &dtype {
            DataType::String => Col::Str(
                cast(&DataType::String)?
                    .str()
                    .map_err(|_| unsupported(&dtype))?
                    .clone(),
            ),
            DataType::Boolean => Col::Bool(
                cast(&DataType::Boolean)?
                    .bool()
                    .map_err(|_| unsupported(&dtype))?
                    .clone(),
            ),
            DataType::Float32 | DataType::Float64 => Col::Float(
                cast(&DataType::Float64)?
                    .f64()
                    .map_err(|_| unsupported(&dtype))?
                    .clone(),
            ),
            t if t.is_integer() => Col::Int(
                cast(&DataType::Int64)?
                    .i64()
                    .map_err(|_| unsupported(&dtype))?
                    .clone(),
            ),
            DataType::Date | DataType::Datetime(_, _) => Col::Date(
                cast(&DataType::Date)?
                    .cast(&DataType::Int32)
                    .map_err(|_| unsupported(&dtype))?
                    .i32()
                    .map_err(|_| unsupported(&dtype))?
                    .clone(),
            ),
            DataType::Null => Col::Null,
            other => return Err(unsupported(other)),
        };
        cols.push((f, col));
    }
    // Source field index -> column, for the converter's `cell(i)`.
    let mut by_field: Vec<Option<usize>> = vec![None; headers.len()];
    for (j, (f, _)) in cols.iter().enumerate() {
        by_field[*f] = Some(j);
    }
    for i in 0..df.height() {
        // As if the column names were line 1, like a CSV export of the table.
        let row = i as i64 + 2;
        conv.push_row(row, |f| {
            by_field
                .get(f)
                .copied()
                .flatten()
                .map_or(RawCell::Empty, |j| cols[j].1.get(i))
        })?;
    }
    if df.height() == 0 {
        return Err(conv.error(
            "the parquet file has its columns but no rows",
            "check the export: a filter or a query that selected nobody; if the centre has no \
             patients, remove the source from the pipeline",
        ));
    }
    Ok(())
}

//! cohortflow-ingest: one registry export, described in a source TOML file,
//! read into the study's canonical schema.
//!
//! A source file (`[source]`, `[source.csv]`, `[source.columns]`; see
//! `docs/sources.md`) names the export (CSV, XLSX, Parquet, SPSS, Stata,
//! SAS, or REDCap with `[source.redcap]`), its dialect
//! (separator, quote, decimal comma, encoding, header row, sheet), and for
//! each canonical column the header it comes from, the codes it uses, its
//! unit and its date formats. No Rust code is needed to add a centre.
//!
//! - [`validate`] checks a source against the schema before any data is read
//!   (unknown or unmapped columns, value-map targets, units, date formats,
//!   the data file) and returns located [`ConfigProblem`]s.
//! - [`ingest`] reads the export and returns a polars `DataFrame` with exactly
//!   `schema.polars_schema(sources)` (`source`, `source_row`, then the canonical
//!   columns), the rows it set aside ([`Reject`]) and the ledger account of
//!   stage `ingest` (rows read = rows kept + rows rejected, per reason).
//!   Bad input either stops the run with an [`IngestError`] naming the file,
//!   line, column and fix — never the value, unless [`IngestOptions`] asks
//!   for it (`--show-values`) — (`on_error = "fail"`), or sends the row to
//!   the rejects (`on_error = "reject"`). A bad value never becomes a null,
//!   and neither does a spreadsheet cell without a value of its own (error
//!   value, merged cell, formula without its value).
//!
//! Every format goes through one cell converter: the readers only turn their
//! cells into a `RawCell` (`cell`: empty, text, number, date, boolean,
//! spreadsheet error); `plan` reads one cell of one mapped column into its
//! canonical value or a `CellProblem`; `converter` runs the plans over each
//! row, keeps the row or rejects it, and fills the typed column `builder`s;
//! `reasons` lists the reject reasons in ledger order; `text` holds the
//! wording helpers that `validate` and the messages share. The dependency
//! runs one way: readers -> converter -> plan -> cell, and validate -> cell.
//!
//! The CSV is read with the `csv` crate, not with polars' CSV reader: ingest
//! must report the line where each record starts (in rejects, in errors and
//! as `source_row`), also when a quoted field holds a line break, and must
//! report a ragged row with its line. Polars' reader does not expose record
//! lines. A line whose quotes are all plain (none, or fields quoted whole
//! with no quote inside: most lines of a registry export) is split by hand
//! instead (`csv_source::split_plain`, tested against the `csv` reader on
//! every short line and random long ones): the reader's state machine and
//! its copy of every field into its record were a sixth of ingest's CPU,
//! and no crate splits a line without copying while leaving the other
//! lines to the `csv` reader's rules (a line without a quote is split 16
//! bytes at a time on x86-64, `split_unquoted`). Before it, `decode` turns the bytes into text (UTF-8,
//! windows-1251, UTF-16 by byte order mark, declaration or zero-byte
//! pattern) with every line end as `\n`, and counts the physical lines; the
//! CSV reader's records and the empty lines between them must add up to that
//! count (the ingest account's `lines`). A quoted field over several lines is
//! accepted only where it cannot be records swallowed by a stray quote
//! (`docs/sources.md`).
//!
//! A CSV is never held whole: `decode::Stream` reads it in pieces of about
//! 8 MiB cut after line ends, each decoded and normalised on its own (the
//! pieces joined are the text one decoding of the file gives; UTF-16 is one
//! piece). The records whose end the text read so far holds form a wave,
//! read on all cores while the next piece is read; a record that runs past
//! a piece waits for the next. In a wave, `chunks` cuts the text at record
//! ends (one quote-aware pass with memchr that follows the `csv` reader's
//! quoting, counting the physical lines before each cut), each chunk is
//! read and converted by its own fork of the converter (rayon), and the
//! forks are joined in file order, so rows, `source_row`, rejects, the
//! ledger and the line account are those of one pass over the file. With
//! `on_error = "fail"` and a unique key, a wave where a problem was found
//! apart is read again in one pass knowing the keys of the waves before, so
//! the first problem of the file is the one named. Cells are
//! converted without a `String` per cell: codes, levels and missing codes
//! are looked up by the cell's text (`plan::Lookup`, by length and first
//! 8 bytes), dates of a fixed layout (`%d.%m.%Y`, `%Y-%m-%d`) are counted
//! without chrono when the text has exactly that shape (with chrono's
//! outcome), a text cell that converts without a problem takes an inlined
//! path (`Plan::read_text`, which debug builds check against `Plan::read`
//! on every cell), a plain record is checked once for characters that are
//! not text (`cell::clean_text`) instead of cell by cell, and the typed
//! column `builder`s keep a value buffer and a validity list per column
//! (the text of a string column in one buffer). [`read_with`] stops there;
//! [`assemble`] turns the builders of one or several sources into the
//! frame's columns, one polars array each, every value copied once.
//! The XLSX and Parquet readers (and any other) feed the same converter row
//! by row through `Converter::push_row`.
//!
//! Statistical files (`statfile`): `spss_source` (ambers), `stata_source`
//! (dta) and `sas_source` (sas7bdat, and a transport-file reader of its own)
//! each give a table of typed cells with value labels and missing values
//! already applied; `statfile` hands its records to the converter (the
//! record number is the row). `redcap_source` reads the data dictionary,
//! turns the source's description into the one the export needs (choices as
//! value maps, checkbox columns, date formats) and reads the export with the
//! CSV reader.
//!
//! May depend on: cohortflow-core (schema, ledger, rejects, problems), polars
//! (output frame, parquet), csv, encoding_rs (UTF-8, UTF-16, windows-1251), calamine (XLSX),
//! ambers and arrow-array (SPSS), dta (Stata), sas7bdat (SAS7BDAT),
//! postgres and postgres-protocol (PostgreSQL, without TLS), sha2 (the hash
//! of the rows a database source read), chrono (dates), rayon and memchr
//! (the CSV read on all cores), serde (the source file) and tracing. It does
//! not parse
//! TOML itself (the pipeline crate does) and knows nothing of later stages.

// `IngestError` is the public contract (file, line, column, value, message,
// fix) and is only built on the way out of a failing run; boxing it would
// change the API for no measurable gain.
#![allow(clippy::result_large_err)]

mod builder;
mod cell;
mod chunks;
mod config;
mod converter;
mod csv_source;
mod dates;
mod decode;
mod error;
mod headers;
mod parquet_source;
mod plan;
mod postgres_source;
mod reasons;
mod redcap_source;
mod sas_source;
mod spss_source;
mod stata_source;
mod statfile;
mod text;
mod validate;
mod xlsx_source;

pub use config::{
    ColumnMapping, CsvDialect, Encoding, Format, OnError, PostgresConfig, RedcapConfig, Source,
    SourceConfig, SourceFile, Unmapped, ValueLabels,
};
pub use dates::{DateFormat, DateParse, EXCEL_SERIAL, parse_text};
// For `cohortflow scan` (crates/scan): the same decoding as a run's.
pub use decode::{DecodeError, Decoded, decode};
pub use error::IngestError;
pub use postgres_source::DatabaseRead;
pub use reasons::REASONS;
#[doc(hidden)]
pub use statfile::{StatCell, StatColumn, StatTable};
pub use validate::validate;

use cohortflow_core::ConfigProblem;
use cohortflow_core::ledger::StageAccount;
use cohortflow_core::rejects::Reject;
use cohortflow_core::schema::Schema;
use polars::prelude::DataFrame;

/// What [`ingest`] produces for one source.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// Exactly `schema.polars_schema(&[source name])`; only the rows kept.
    pub frame: DataFrame,
    /// Rows set aside, with reason, line and values.
    pub rejects: Vec<Reject>,
    /// Stage `ingest`, source `config.name`.
    pub account: StageAccount,
    /// A database source: what was read (connection without password,
    /// query, rows, hash), for the manifest. None for a file.
    pub database: Option<DatabaseRead>,
}

/// What [`read_with`] produces for one source: [`Ingested`] before its
/// rows are a polars frame. [`assemble`] makes the frame of one or several
/// sources with each column in one piece, copying each value once.
pub struct SourceRead {
    /// The rows kept, as converted.
    pub columns: Columns,
    /// Rows set aside, with reason, line and values.
    pub rejects: Vec<Reject>,
    /// Stage `ingest`, source `config.name`.
    pub account: StageAccount,
    /// A database source: what was read (see [`Ingested::database`]).
    pub database: Option<DatabaseRead>,
}

/// The kept rows of one source, converted to the canonical types (typed
/// buffers, not yet polars arrays).
pub struct Columns {
    source: String,
    data_file: std::path::PathBuf,
    /// `source_row` of each row.
    rows: Vec<i64>,
    /// The canonical column of each builder.
    names: Vec<String>,
    /// The builders of each part of the rows, in file order.
    parts: Vec<Vec<builder::Builder>>,
}

impl Columns {
    /// Rows held.
    pub fn height(&self) -> usize {
        self.rows.len()
    }
}

impl SourceRead {
    /// The frame of this source alone.
    pub fn into_ingested(self, schema: &Schema) -> Result<Ingested, IngestError> {
        let data_file = self.columns.data_file.clone();
        let frame = assemble(schema, vec![self.columns]).map_err(|e| {
            IngestError::new(
                &data_file,
                format!("could not assemble the table: {e}"),
                "this is a bug in cohortflow; please report it with the source file",
            )
        })?;
        Ok(Ingested {
            frame,
            rejects: self.rejects,
            account: self.account,
            database: self.database,
        })
    }
}

/// The frame of the sources' rows, one source after another in the order
/// given: exactly `schema.polars_schema(their names)`, each column one polars array
/// (a chunk). The columns are built side by side, on all cores; each
/// column's builders are freed as soon as it is built.
pub fn assemble(
    schema: &Schema,
    sources: Vec<Columns>,
) -> polars::prelude::PolarsResult<DataFrame> {
    use polars::prelude::*;
    use rayon::prelude::*;
    let height: usize = sources.iter().map(Columns::height).sum();
    let mut pieces: Vec<Vec<crate::builder::Piece>> =
        schema.columns.iter().map(|_| Vec::new()).collect();
    let mut source_runs: Vec<(String, usize)> = Vec::with_capacity(sources.len());
    let mut rows = Vec::with_capacity(height);
    for s in sources {
        let n = s.rows.len();
        source_runs.push((s.source.clone(), n));
        rows.extend_from_slice(&s.rows);
        // The parts' builders by column.
        let mut by_name: Vec<Vec<crate::builder::Builder>> =
            s.names.iter().map(|_| Vec::new()).collect();
        for part in s.parts {
            for (column, b) in by_name.iter_mut().zip(part) {
                column.push(b);
            }
        }
        for (def, out) in schema.columns.iter().zip(&mut pieces) {
            match s.names.iter().position(|name| name == &def.name) {
                Some(i) => out.extend(
                    std::mem::take(&mut by_name[i])
                        .into_iter()
                        .map(crate::builder::Piece::Rows),
                ),
                None => out.push(crate::builder::Piece::Nulls(n)),
            }
        }
    }
    let built: Vec<Series> = pieces
        .into_par_iter()
        .zip(schema.columns.par_iter())
        .map(|(pieces, def)| crate::builder::assemble(def, pieces))
        .collect();
    let mut columns: Vec<Column> = vec![
        cohortflow_core::table::source_column(&source_runs)?,
        Int64Chunked::from_vec(cohortflow_core::table::SOURCE_ROW.into(), rows)
            .into_series()
            .into_column(),
    ];
    columns.extend(built.into_iter().map(Series::into_column));
    DataFrame::new(height, columns)
}

/// How [`ingest_with`] reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOptions {
    /// Attach the value that failed to errors (the CLI's `--show-values`,
    /// for a local look at a centre's own data). Off by default: messages
    /// name file, line, column and fix, never a patient's value.
    pub show_values: bool,
    /// The wanted size in bytes of a chunk of a CSV export's records read on
    /// one core, and an eighth of the piece read from the file at a time
    /// (`None`: the sizes a real run uses, 1 MiB and up and 8 MiB). For
    /// tests: the oracle reads its small damaged exports in tiny chunks, so
    /// that records, line ends and characters are cut across chunks and
    /// pieces as in a registry-size export. Not part of the stable API.
    #[doc(hidden)]
    pub chunk_bytes: Option<usize>,
}

/// Reads the source's data file into the canonical schema. Runs
/// [`validate`] first and stops on the first configuration problem.
pub fn ingest(source: &Source, schema: &Schema) -> Result<Ingested, IngestError> {
    ingest_with(source, schema, IngestOptions::default())
}

/// [`ingest`] with options.
pub fn ingest_with(
    source: &Source,
    schema: &Schema,
    options: IngestOptions,
) -> Result<Ingested, IngestError> {
    read_with(source, schema, options)?.into_ingested(schema)
}

/// [`ingest_with`] without making the frame: the pipeline reads its
/// sources side by side and [`assemble`]s their rows into one frame.
pub fn read_with(
    source: &Source,
    schema: &Schema,
    options: IngestOptions,
) -> Result<SourceRead, IngestError> {
    read_observed(source, schema, options, &|_| ())
}

/// [`read_with`], telling `on_read` the bytes of a CSV export as each piece
/// of it is read from the file (a run's progress bar: read while the
/// records already read are converted). Other formats are read whole or
/// through their own readers and tell nothing: their caller counts them
/// when they are read.
pub fn read_observed(
    source: &Source,
    schema: &Schema,
    options: IngestOptions,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<SourceRead, IngestError> {
    if let Some(p) = validate(source, schema).into_iter().next() {
        return Err(config_error(source, p));
    }
    if source.config.format == Format::Redcap {
        return redcap_source::ingest(source, schema, options.show_values);
    }
    let mut conv = converter::Converter::new(source, schema, options.show_values);
    let mut database = None;
    match source.config.format {
        Format::Csv => csv_source::read(source, &mut conv, options.chunk_bytes, on_read)?,
        Format::Xlsx => xlsx_source::read(source, &mut conv)?,
        Format::Parquet => parquet_source::read(source, &mut conv)?,
        Format::Spss | Format::Stata | Format::Sas => {
            let path = source.data_path();
            let bytes = std::fs::read(&path).map_err(|e| {
                conv.error(
                    format!("cannot read the data file: {e}"),
                    "check `path` in the source file and the file's permissions",
                )
            })?;
            let table = stat_table(&path, source.config.format, bytes)?;
            statfile::push(source, &mut conv, &table)?
        }
        Format::Redcap => unreachable!("read above"),
        Format::Postgres => database = Some(postgres_source::read(source, &mut conv)?),
    }
    let mut read = conv.finish();
    read.database = database;
    Ok(read)
}

/// Like [`ingest`], but reads the export from `bytes` instead of the file
/// `path` names (which need not exist; the format still comes from
/// `format`). For fuzzing and tests; not part of the stable API.
#[doc(hidden)]
pub fn ingest_bytes(
    source: &Source,
    schema: &Schema,
    bytes: &[u8],
) -> Result<Ingested, IngestError> {
    ingest_bytes_chunked(source, schema, bytes, None)
}

/// [`ingest_bytes`] with the CSV's records cut into chunks of about
/// `chunk_bytes` bytes (`None`: the size a real run uses), each read apart
/// and then joined in file order. For tests that the output does not depend
/// on the cuts; not part of the stable API.
#[doc(hidden)]
pub fn ingest_bytes_chunked(
    source: &Source,
    schema: &Schema,
    bytes: &[u8],
    chunk_bytes: Option<usize>,
) -> Result<Ingested, IngestError> {
    read_bytes_chunked(source, schema, bytes, chunk_bytes)?.into_ingested(schema)
}

/// [`ingest_bytes_chunked`] without making the frame (see [`read_with`]).
/// For tests of [`assemble`]; not part of the stable API.
#[doc(hidden)]
pub fn read_bytes_chunked(
    source: &Source,
    schema: &Schema,
    bytes: &[u8],
    chunk_bytes: Option<usize>,
) -> Result<SourceRead, IngestError> {
    read_bytes_observed(source, schema, bytes, chunk_bytes, &|_| ())
}

/// [`read_bytes_chunked`], telling `on_read` the bytes of a CSV export as
/// each piece is read (as [`read_observed`] does of a file; with
/// `chunk_bytes` the pieces are eight chunks). For tests of the progress
/// a run shows; not part of the stable API.
#[doc(hidden)]
pub fn read_bytes_observed(
    source: &Source,
    schema: &Schema,
    bytes: &[u8],
    chunk_bytes: Option<usize>,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<SourceRead, IngestError> {
    if let Some(p) = validate(source, schema)
        .into_iter()
        .find(|p| p.key != "source.path")
    {
        return Err(config_error(source, p));
    }
    if source.config.format == Format::Redcap {
        return redcap_source::ingest_bytes(source, schema, bytes);
    }
    let mut conv = converter::Converter::new(source, schema, false);
    match source.config.format {
        Format::Csv => csv_source::read_bytes(source, &mut conv, bytes, chunk_bytes, on_read)?,
        Format::Xlsx => xlsx_source::read_bytes(source, &mut conv, bytes)?,
        Format::Parquet => {
            parquet_source::read_from(source, &mut conv, std::io::Cursor::new(bytes.to_vec()))?
        }
        Format::Spss | Format::Stata | Format::Sas => {
            let table = stat_table(&source.data_path(), source.config.format, bytes.to_vec())?;
            statfile::push(source, &mut conv, &table)?
        }
        Format::Redcap => unreachable!("read above"),
        Format::Postgres => {
            return Err(conv.error(
                "a postgres source is read from its database, not from bytes",
                "use ingest() for a postgres source",
            ));
        }
    }
    Ok(conv.finish())
}

/// Reads an SPSS, Stata or SAS file into a [`StatTable`]: its variables,
/// their cells as the package meant them (missing values applied, dates as
/// dates) and their value labels. For the conformance test and tools; not
/// part of the stable API.
#[doc(hidden)]
pub fn read_table(path: &std::path::Path, format: Format) -> Result<StatTable, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| {
        IngestError::new(
            path,
            format!("cannot read the data file: {e}"),
            "check `path` in the source file and the file's permissions",
        )
    })?;
    stat_table(path, format, bytes)
}

/// The table of a statistical file's bytes; errors name `path`.
fn stat_table(
    path: &std::path::Path,
    format: Format,
    bytes: Vec<u8>,
) -> Result<StatTable, IngestError> {
    let table = match format {
        Format::Spss => spss_source::table(bytes),
        Format::Stata => stata_source::table(bytes),
        Format::Sas => sas_source::table(bytes),
        other => Err((
            format!("{} is not a statistical file format", other.name()),
            "use format = \"spss\", \"stata\" or \"sas\"".to_string(),
        )),
    };
    let table = table.map_err(|(message, fix)| IngestError::new(path, message, fix))?;
    table
        .check()
        .map_err(|m| IngestError::new(path, m, "the file is damaged; export it again"))?;
    Ok(table)
}

/// Runs a third-party reader (polars' parquet reader, calamine) so that a
/// panic on a malformed file becomes an error message instead of taking the
/// run down.
pub(crate) fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the reader failed".to_string())
    })
}

fn config_error(source: &Source, p: ConfigProblem) -> IngestError {
    IngestError {
        file: source.file.clone(),
        line: p.span.as_ref().map(|s| source.line_of(s.start)),
        column: Some(p.key),
        value: None,
        message: p.message,
        fix: p.expected,
    }
}

//! The source file: `[source]`, `[source.csv]` and `[source.columns]`, as
//! written by a user to describe one registry export.

use cohortflow_core::Spanned;
use cohortflow_core::schema::Unit;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A whole source TOML file: everything lives under `[source]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    pub source: SourceConfig,
}

/// The description of one registry export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Short name (`center_a`): the value of the `source` column and the
    /// ledger's source.
    pub name: String,
    /// Human label of the centre (`Centre A`).
    pub centre: String,
    pub format: Format,
    /// The data file, relative to the directory of the source TOML file.
    /// Not set for a database source (`format = "postgres"`).
    #[serde(default = "no_path")]
    pub path: Spanned<String>,
    /// CSV dialect; `decimal_comma` and `header_row` also apply to XLSX.
    #[serde(default)]
    pub csv: CsvDialect,
    /// XLSX: the sheet to read (default: the first sheet).
    #[serde(default)]
    pub sheet: Option<String>,
    /// PostgreSQL: `[source.postgres]`, the table or query and the
    /// connection (`format = "postgres"`).
    #[serde(default)]
    pub postgres: Option<Spanned<PostgresConfig>>,
    #[serde(default)]
    pub on_error: OnError,
    #[serde(default)]
    pub unmapped_columns: Unmapped,
    /// Date formats for every date column (chrono strftime, tried in order)
    /// and the token `excel-serial`. Default: `["%Y-%m-%d"]`.
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// Codes meaning "missing" in every column; an empty cell always is.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Canonical column name -> how to read it from the export.
    #[serde(default)]
    pub columns: BTreeMap<String, Spanned<ColumnMapping>>,
    /// Canonical columns whose values together identify a record: two
    /// records of this export with the same (non-empty) values are an error,
    /// or, with `on_error = "reject"`, all of them are rejected.
    #[serde(default = "no_columns")]
    pub unique: Spanned<Vec<String>>,
    /// SPSS, Stata and SAS files: whether a labelled code of a category
    /// column (or of a column with `values`) reads as its value label (the
    /// default) or as the code.
    #[serde(default)]
    pub value_labels: ValueLabels,
    /// `[source.redcap]`: the data dictionary of a REDCap export.
    #[serde(default)]
    pub redcap: Option<RedcapConfig>,
    /// The largest fraction (0 to 1) of this export's rows that ingest,
    /// clean and derive together may reject before the run fails. Not set:
    /// the run fails only when every row is rejected. Checked by the pipeline.
    #[serde(default)]
    pub max_rejected: Option<Spanned<f64>>,
}

fn no_columns() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}

fn no_path() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

/// `[source.postgres]`: what to read from a PostgreSQL database and how to
/// reach it. The connection is named, never written: `connection_env` is
/// the name of an environment variable holding a libpq connection string
/// or URL, `service` a service of the PostgreSQL service file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `schema.table` (or `table`): every column of it is read.
    #[serde(default)]
    pub table: Option<String>,
    /// A `select` whose result columns are the export's columns.
    #[serde(default)]
    pub query: Option<String>,
    /// Result columns whose values, in this order, sort the rows; a row's
    /// line is its 1-based position in that order.
    #[serde(default)]
    pub order_by: Vec<String>,
    /// Name of the environment variable holding the connection string.
    #[serde(default)]
    pub connection_env: Option<String>,
    /// Name of a service in the service file (`PGSERVICEFILE`,
    /// `~/.pg_service.conf`, `PGSYSCONFDIR/pg_service.conf`).
    #[serde(default)]
    pub service: Option<String>,
    /// Never accepted: read only so that `validate` refuses it by name
    /// (its value is not kept).
    #[serde(default)]
    pub password: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
    /// SPSS `.sav` (and `.zsav`).
    Spss,
    /// Stata `.dta`, every release.
    Stata,
    /// SAS: `.sas7bdat`, or transport `.xpt` (v5 and v8), by the content.
    Sas,
    /// A REDCap CSV export (raw or labels) with its data dictionary.
    Redcap,
    /// A PostgreSQL table or query (`[source.postgres]`).
    Postgres,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Parquet => "parquet",
            Format::Spss => "spss",
            Format::Stata => "stata",
            Format::Sas => "sas",
            Format::Redcap => "redcap",
            Format::Postgres => "postgres",
        }
    }

    /// A statistical package's file, with typed columns and value labels.
    pub fn is_statistical(self) -> bool {
        matches!(self, Format::Spss | Format::Stata | Format::Sas)
    }

    /// Read as CSV text (`[source.csv]` applies in full).
    pub fn is_csv(self) -> bool {
        matches!(self, Format::Csv | Format::Redcap)
    }
}

/// `value_labels`: how a labelled code of a statistical file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueLabels {
    /// A code with a value label reads as the label's text in a category
    /// column and in a column with `values` (so `values` maps labels:
    /// `"Male" = "M"`); a code without a label reads as the code.
    #[default]
    Labels,
    /// Every code reads as the code (`values` maps codes: `"1" = "M"`).
    Codes,
}

/// `[source.redcap]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedcapConfig {
    /// The data dictionary (CSV as REDCap downloads it), relative to the
    /// source file's directory.
    pub dictionary: Spanned<String>,
}

/// `"name"`, with inner quotes doubled: a column or table name exactly as
/// the database spells it.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table` or `table` as a quoted SQL name.
pub(crate) fn table_name(table: &str) -> Option<String> {
    let parts: Vec<&str> = table.split('.').collect();
    (matches!(parts.len(), 1 | 2) && parts.iter().all(|p| !p.trim().is_empty()))
        .then(|| parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join("."))
}

/// What a bad row does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the run with an error naming the file, line, column and fix
    /// (the value only with `--show-values`).
    #[default]
    Fail,
    /// Send the row to the rejects with its reason and go on.
    Reject,
}

/// What to do with a header column no canonical column maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    #[default]
    Ignore,
    Error,
}

/// Text encoding of a CSV file. A byte order mark decides: a UTF-8 one is
/// stripped, a UTF-16 one makes the file UTF-16 of that byte order whatever
/// is declared (a declared byte order that contradicts it is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    #[serde(rename = "windows-1251", alias = "cp1251")]
    Windows1251,
    /// UTF-16, little-endian (Excel's "Unicode text" on Windows).
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// UTF-16 of the byte order the byte order mark gives, or, without one,
    /// that the zero bytes of ASCII characters show.
    #[serde(rename = "utf-16")]
    Utf16,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1251 => "windows-1251",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Utf16 => "utf-16",
        }
    }
}

/// `[source.csv]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvDialect {
    /// Field separator, one ASCII character (`","`, `";"`, `"\t"`, `"|"`).
    pub separator: char,
    /// Quote character, one ASCII character.
    pub quote: char,
    /// Numbers are written `7,5` rather than `7.5`.
    pub decimal_comma: bool,
    pub encoding: Encoding,
    /// 1-based line (CSV) or sheet row (XLSX) of the header; lines before it
    /// are skipped.
    pub header_row: usize,
    /// The export has quoted text fields that hold line breaks: `true` for
    /// columns the source does not map (a comment the study ignores), or
    /// the list of mapped `string` columns that may hold them too
    /// (`["comment"]`, canonical names; unmapped columns always may). Without
    /// it a line break inside quotes is never accepted (it is how a stray
    /// quote swallows records); with it, only in those columns and where the
    /// swallowed lines could not be records of their own (`docs/sources.md`,
    /// "Records over several lines").
    pub multiline_fields: MultilineFields,
}

/// `multiline_fields`: where a quoted line break may stand.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum MultilineFields {
    /// `false` (never) or `true` (in unmapped columns only).
    Flag(bool),
    /// In unmapped columns and in these mapped ones (canonical names).
    Columns(Vec<String>),
}

impl Default for MultilineFields {
    fn default() -> Self {
        MultilineFields::Flag(false)
    }
}

impl MultilineFields {
    /// A line break inside quotes may be accepted at all.
    pub fn enabled(&self) -> bool {
        !matches!(self, MultilineFields::Flag(false))
    }

    /// The mapped canonical column may hold a line break.
    pub fn allows(&self, canonical: &str) -> bool {
        matches!(self, MultilineFields::Columns(c) if c.iter().any(|x| x == canonical))
    }
}

impl Default for CsvDialect {
    fn default() -> Self {
        Self {
            separator: ',',
            quote: '"',
            decimal_comma: false,
            encoding: Encoding::Utf8,
            header_row: 1,
            multiline_fields: MultilineFields::Flag(false),
        }
    }
}

/// How one canonical column is read: `sex = "Пол"` or
/// `sex = { column = "Пол", values = { "М" = "M" }, ... }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMapping {
    /// The header of the column in the export.
    pub column: String,
    /// Source code -> canonical value. When present, every non-missing value
    /// must be one of the codes.
    pub values: Option<BTreeMap<String, String>>,
    /// The unit the export uses (converted into the schema column's unit).
    pub unit: Option<Unit>,
    /// Date formats for this column, replacing the source's `date_formats`.
    pub date_formats: Vec<String>,
    /// Extra missing codes for this column (added to the source's).
    pub missing: Vec<String>,
}

impl ColumnMapping {
    /// A mapping that only names the header.
    pub fn header(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            ..Self::default()
        }
    }
}

/// The table form, deserialized with `deny_unknown_fields` so that a typo
/// (`colum`) is reported as "unknown field `colum`, expected one of ...".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnTable {
    column: String,
    #[serde(default)]
    values: Option<BTreeMap<String, String>>,
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    date_formats: Vec<String>,
    #[serde(default)]
    missing: Vec<String>,
}

impl<'de> Deserialize<'de> for ColumnMapping {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MappingVisitor;

        impl<'de> Visitor<'de> for MappingVisitor {
            type Value = ColumnMapping;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a header name (\"Пол\") or a table { column = \"Пол\", values = { ... }, \
                     unit = \"cm\", date_formats = [...], missing = [...] }",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnMapping, E> {
                Ok(ColumnMapping::header(v))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnMapping, A::Error> {
                let t = ColumnTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ColumnMapping {
                    column: t.column,
                    values: t.values,
                    unit: t.unit,
                    date_formats: t.date_formats,
                    missing: t.missing,
                })
            }
        }

        deserializer.deserialize_any(MappingVisitor)
    }
}

/// A parsed source file together with where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    pub config: SourceConfig,
    /// The source TOML file.
    pub file: PathBuf,
    /// Its text, which the spans of `config` point into.
    pub text: String,
}

impl Source {
    /// The data file: `path` resolved against the source file's directory.
    /// A database source has no data file: its errors name the source file.
    pub fn data_path(&self) -> PathBuf {
        if self.config.format == Format::Postgres {
            return self.file.clone();
        }
        let dir = self.file.parent().unwrap_or_else(|| Path::new(""));
        dir.join(self.config.path.get_ref())
    }

    /// A REDCap source's data dictionary, resolved like `path`.
    pub fn dictionary_path(&self) -> Option<PathBuf> {
        let r = self.config.redcap.as_ref()?;
        let dir = self.file.parent().unwrap_or_else(|| Path::new(""));
        Some(dir.join(r.dictionary.get_ref()))
    }

    /// 1-based line of a byte offset of the source file's text.
    pub fn line_of(&self, offset: usize) -> u64 {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1
    }
}

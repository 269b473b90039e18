//! cohortflow-scan: the first look at a new centre's export, made by the
//! tool instead of by eye (`cohortflow scan FILE… [--schema S] [--out DIR]`).
//!
//! For each export (CSV or another delimited text; XLSX and the other
//! workbooks calamine reads) [`scan`] finds how the file is written — the
//! encoding (UTF-16 by byte order mark or zero bytes, UTF-8, windows-1251),
//! line ends, separator, quote, header line or sheet row, decimal mark — and
//! profiles each column in one streaming pass with bounded memory
//! (`profile`): inferred type, the date formats that read its values and how
//! many each fails, missing codes, counts, distinct values up to a cap, and
//! value frequencies.
//!
//! What a scan shows may leave the centre: a value seen fewer than five
//! times is counted, never shown; an identifier column (unique per row,
//! high-cardinality text, SNILS-shaped) is shown only as counts; numeric
//! ranges are rounded outward to a power of ten and date ranges are given
//! to the month, and only with at least five values. The suppression is
//! applied when a column's profile is finished, so no output can show more.
//!
//! From a profile, `report` writes the text report (stdout) and a
//! self-contained HTML page, and `draft` a draft source TOML for a given
//! schema: columns matched by name (with a small Russian/English vocabulary
//! in `words`), type and values; value maps pre-filled where a code matches
//! a level; a `# TODO` on every decision it cannot make. [`write_outputs`]
//! writes them into a folder without replacing a file it did not write.
//!
//! May depend on: cohortflow-core (the schema), cohortflow-ingest (its text
//! decoding and date parsing, so a scan reads a file as a run will), csv,
//! calamine, chrono, and toml (to read the schema file). It writes no run
//! folder and calls no stage.

mod draft;
mod profile;
mod read;
mod report;
mod words;

pub use draft::draft_source;
pub use profile::{ColumnProfile, DISTINCT_CAP, Kind, MIN_CELL, MISSING_CODES};
pub use report::{html_report, text_report};

use cohortflow_core::schema::Schema;
use cohortflow_ingest::Encoding;
use std::fmt;
use std::path::{Path, PathBuf};

/// A scan that could not read a file: the file, what is wrong and the fix.
/// Never a value of the data.
#[derive(Debug, Clone)]
pub struct ScanError {
    pub file: PathBuf,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScanError {}

/// Line ends of a text file, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEnds {
    pub crlf: u64,
    pub lf: u64,
    pub cr: u64,
}

/// How a delimited text file is written.
#[derive(Debug, Clone)]
pub struct CsvFacts {
    pub encoding: Encoding,
    pub bom: bool,
    /// How the encoding was found.
    pub how: &'static str,
    pub separator: char,
    pub quote: char,
    /// The quote character occurs in the file.
    pub quoted: bool,
    pub line_ends: LineEnds,
    /// Physical lines.
    pub lines: u64,
    /// 1-based line of the header.
    pub header_line: u64,
}

/// Which sheet of a workbook holds the table.
#[derive(Debug, Clone)]
pub struct XlsxFacts {
    /// The sheet scanned: the one with most non-empty cells.
    pub sheet: String,
    /// Every sheet: name, rows, columns of its used range.
    pub sheets: Vec<(String, u64, u64)>,
    /// 1-based sheet row of the header.
    pub header_row: u64,
}

#[derive(Debug, Clone)]
pub enum FileFormat {
    Csv(CsvFacts),
    Xlsx(XlsxFacts),
}

/// The profile of one export. Holds nothing that may not leave the centre.
#[derive(Debug, Clone)]
pub struct FileProfile {
    /// The file's name (no folder).
    pub name: String,
    /// The path as given.
    pub path: PathBuf,
    pub format: FileFormat,
    /// Records below the header (blank and ragged ones included).
    pub records: u64,
    /// Records whose every field is empty.
    pub blank: u64,
    /// CSV records with another number of fields than the header (not profiled).
    pub ragged: u64,
    /// In file order.
    pub columns: Vec<ColumnProfile>,
}

impl FileProfile {
    /// The decimal mark of the file's text numbers, when its columns agree.
    pub fn decimal_mark(&self) -> Option<char> {
        let marks: std::collections::BTreeSet<char> = self
            .columns
            .iter()
            .filter_map(|c| c.decimal_mark())
            .collect();
        match (marks.len(), self.columns.iter().any(|c| c.mixed_marks())) {
            (1, false) => marks.into_iter().next(),
            _ => None,
        }
    }

    /// Columns whose numbers use both marks, or files whose columns differ.
    pub fn decimal_conflict(&self) -> bool {
        let marks: std::collections::BTreeSet<char> = self
            .columns
            .iter()
            .filter_map(|c| c.decimal_mark())
            .collect();
        marks.len() > 1 || self.columns.iter().any(|c| c.mixed_marks())
    }
}

/// Scans one export. The format comes from the extension: `.xlsx`, `.xls`,
/// `.xlsm`, `.xlsb` and `.ods` are workbooks, `.parquet` is refused, anything
/// else is delimited text.
pub fn scan(path: &Path) -> Result<FileProfile, ScanError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext == "parquet" {
        return Err(ScanError {
            file: path.to_path_buf(),
            message: "a Parquet file is not scanned: it carries its column names and types".into(),
            fix: "describe it in a source file directly (docs/sources.md), or scan the CSV or XLSX it was made from".into(),
        });
    }
    if ["xlsx", "xls", "xlsm", "xlsb", "ods"].contains(&ext.as_str()) {
        return read::scan_workbook(path);
    }
    let raw = std::fs::read(path).map_err(|e| ScanError {
        file: path.to_path_buf(),
        message: format!("cannot read the file: {e}"),
        fix: "check the path".into(),
    })?;
    read::scan_text(path, &raw)
}

/// Reads a schema file (`pipelines/schemas/*.toml`).
pub fn read_schema(path: &Path) -> Result<Schema, ScanError> {
    let err = |message: String| ScanError {
        file: path.to_path_buf(),
        message,
        fix: "give --schema the schema file a pipeline names (pipelines/schemas/NAME.toml)".into(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let schema: Schema =
        toml::from_str(&text).map_err(|e| err(format!("not a schema: {}", e.message().trim())))?;
    if let Some((_, m)) = schema.problems().into_iter().next() {
        return Err(err(m));
    }
    Ok(schema)
}

/// The first line of every file a scan writes: a file in the output folder
/// that does not start with it was not written by a scan and is never
/// replaced.
pub const MARKER: &str = "cohortflow scan";

/// Writes, for each profile, `<stem>.scan.txt`, `<stem>.scan.html` and,
/// with a schema, the draft `<stem>.toml` into `out` (created if needed).
/// Everything is rendered before anything is written; a file that exists
/// and was not written by a scan stops the whole write. Returns the files
/// written.
pub fn write_outputs(
    profiles: &[FileProfile],
    schema: Option<(&Schema, &Path)>,
    out: &Path,
) -> Result<Vec<PathBuf>, ScanError> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for p in profiles {
        let stem = p.path.file_stem().map_or_else(
            || "export".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        files.push((out.join(format!("{stem}.scan.txt")), text_report(p)));
        files.push((out.join(format!("{stem}.scan.html")), html_report(p)));
        if let Some((schema, schema_path)) = schema {
            files.push((
                out.join(format!("{stem}.toml")),
                draft_source(p, schema, schema_path, out),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in &files {
        if !seen.insert(path.clone()) {
            return Err(ScanError {
                file: path.clone(),
                message: "two exports have the same file name; their outputs would collide".into(),
                fix: "scan them into different --out folders".into(),
            });
        }
        if path.exists() {
            let head = std::fs::read(path).unwrap_or_default();
            let head = String::from_utf8_lossy(&head[..head.len().min(1000)]).into_owned();
            if !head.contains(MARKER) {
                return Err(ScanError {
                    file: path.clone(),
                    message: "exists and was not written by cohortflow scan; it is not replaced"
                        .into(),
                    fix: "choose another --out folder, or move the file".into(),
                });
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| ScanError {
        file: out.to_path_buf(),
        message: format!("cannot create the folder: {e}"),
        fix: "check the path and its permissions".into(),
    })?;
    let mut written = Vec::new();
    for (path, text) in files {
        let tmp = PathBuf::from(format!("{}.partial", path.display()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| ScanError {
                file: path.clone(),
                message: format!("cannot write: {e}"),
                fix: "check the folder's permissions and free space".into(),
            })?;
        written.push(path);
    }
    Ok(written)
}

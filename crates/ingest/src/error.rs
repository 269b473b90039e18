//! The error that stops a run: located in a file, with the fix.

use std::fmt;
use std::path::PathBuf;

/// Why ingest could not produce a table. Names the file (the data file, or
/// the source TOML for configuration problems), the line or sheet row when
/// known, the source column when one is involved, and the fix. `message`
/// and `fix` never hold a value of the data (a patient's id, date or
/// number); `value` holds the value that failed only when the run asked for
/// it (`--show-values`, [`crate::IngestOptions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    pub file: PathBuf,
    pub line: Option<u64>,
    /// Source column name (a header of the export), or a configuration key.
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub fix: String,
}

impl IngestError {
    pub(crate) fn new(
        file: impl Into<PathBuf>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            value: None,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn at(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        match (&self.column, &self.value) {
            (Some(c), Some(v)) => write!(f, " (column '{c}', value '{v}')")?,
            (Some(c), None) => write!(f, " (column '{c}')")?,
            (None, Some(v)) => write!(f, " (value '{v}')")?,
            (None, None) => {}
        }
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

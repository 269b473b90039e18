//! The errors a user sees: each names a file and, where there is one, a line.

use std::fmt;
use std::path::PathBuf;

/// A configuration problem placed in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: String,
    pub message: String,
    pub expected: String,
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.expected.is_empty() {
            write!(f, "\n    expected: {}", self.expected)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Error {
    /// The pipeline, schema or a source file is wrong; nothing was read.
    Config(Vec<LocatedProblem>),
    /// A data file could not be read into the schema. (Boxed: the error is
    /// large, and every `Result` of this crate would carry its size.)
    Input(Box<cohortflow_ingest::IngestError>),
    /// The cohort or matching stage stopped (e.g. a row in two arms).
    Cohort(Box<cohortflow_cohort::CohortError>),
    /// The analysis could not be completed.
    Analysis(Box<cohortflow_analysis::AnalysisError>),
    /// The report could not be made.
    Report(cohortflow_report::ReportError),
    /// A stage failed on the data.
    Stage {
        stage: &'static str,
        message: String,
    },
    /// The ledger does not balance: a row was lost. A bug, never a data problem.
    Ledger(Vec<String>),
    /// Reading or writing a file failed.
    Io { path: PathBuf, message: String },
    /// The run folder cannot be at this path (it is, contains or lies inside
    /// an input or the working directory, or is a folder cohortflow did not
    /// write); nothing was read or changed.
    Output { path: PathBuf, message: String },
    /// Another live cohortflow run is writing the same run folder.
    Busy { path: PathBuf, pid: u32 },
    /// A source lost more rows to rejects than it allows (`max_rejected`).
    Rejected { source: String, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(problems) => {
                let n = problems.len();
                writeln!(
                    f,
                    "{n} problem{} in the pipeline configuration (no data was read):",
                    if n == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    writeln!(f, "  {p}")?;
                }
                Ok(())
            }
            Error::Input(e) => write!(f, "{e}"),
            Error::Cohort(e) => write!(f, "cohort stage: {e}"),
            Error::Analysis(e) => write!(f, "analysis stage: {e}"),
            Error::Report(e) => write!(f, "report: {e}"),
            Error::Stage { stage, message } => write!(f, "{stage} stage: {message}"),
            Error::Ledger(lines) => {
                writeln!(
                    f,
                    "the ledger does not balance (a row was lost; please report this):"
                )?;
                for l in lines {
                    writeln!(f, "  {l}")?;
                }
                Ok(())
            }
            Error::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Output { path, message } => write!(f, "--out {}: {message}", path.display()),
            Error::Busy { path, pid } => write!(
                f,
                "another cohortflow run (pid {pid}) is writing {}; wait for it to finish, \
                 or choose another --out",
                path.display()
            ),
            Error::Rejected { source, message } => write!(f, "source {source}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, e: impl fmt::Display) -> Self {
        Error::Io {
            path: path.into(),
            message: e.to_string(),
        }
    }
}

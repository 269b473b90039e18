//! Synthetic raw registry exports of the bundled studies, at any size
//! (`cohortflow synth`). Today one study: `mgist`, the two centres' exports
//! of `pipelines/mgist-cytoreduction.toml`, written as the fixtures in
//! `fixtures/mgist/` are (centre A: windows-1251 CSV, `;`, Russian headers
//! and codes, `dd.mm.yyyy`, decimal comma, tumour size in cm, CRLF; centre
//! B: an XLSX workbook with a `Notes` sheet and a `Patients` sheet of real
//! date cells, tumour size in mm), together with the pipeline, schema and
//! source files that run the bundled studies on them.
//!
//! # The model
//!
//! Each row (0-based number `r`) has its own PCG-64 draw stream seeded from
//! `(seed, r)` by SplitMix64, so the same seed and size give the same bytes,
//! a row does not depend on the size of the export, and the two files are
//! written in parallel. Per row, in months of 30.4375 days:
//!
//! - centre A with probability 54/102 (the fixtures' split), else B;
//! - imatinib start uniform over 2004-01-15 .. 2022-06-30; second-line
//!   imatinib 10 %; best response PD 12 %, otherwise PR 55 % / SD 45 %;
//!   metastases liver 50 %, peritoneum 22 %, both 18 %, lung 6 %, bone 4 %;
//!   men 55 %; primary site and mutation as the fixtures (stomach 55 %,
//!   small bowel 30 %, rectum 5 %, other 10 %; KIT 11 65 %, KIT 9 10 %,
//!   PDGFRA 4 %, wild type 8 %, not tested 13 %, written as the sources'
//!   missing code); tumour size lognormal (median 8.5 cm, log-SD 0.5)
//!   clipped to 2–30 cm, blank 6 %; age at imatinib start normal (59, 10)
//!   clipped to 31–79.5; diagnosis 10–60 days before imatinib start, or for
//!   35 % a recurrence 1–7 years after the primary diagnosis;
//! - the course: PD progresses uniformly at 1.5–5 months; of the others 30 %
//!   have surgery, lognormal (median 8, log-SD 0.35) clipped to 3–20 months,
//!   and progress Weibull (median 60, shape 1.2) conditional on more than
//!   surgery + 2 months; the rest progress Weibull (median 30, shape 1.3),
//!   so some respond 12 months or less and leave at the arms; 10 % of the
//!   non-PD die without progression (at that time); after progression death
//!   follows Weibull (median 38, PD 16; shape 1.2), at least 21 days later;
//! - censoring: loss to follow-up uniform at 6–240 months, and the
//!   administrative end: last contact 0–150 days before the data cut-off
//!   2023-06-30. Last follow-up is the death date for the dead; a surgery
//!   after the last follow-up is not recorded (the patient is unoperated as
//!   far as the export knows). No date is after the cut-off;
//! - SNILS: a bijection of the row number (no two patients share one by
//!   chance), with valid check digits; centre B writes 10 % as 11 digits
//!   without separators (the linkage compares digits only).
//!
//! Defects, each at a low rate per row (total 0.37 %) and each once in the
//! first 18 rows (a fixed sampler, so a small export exercises them all):
//! last follow-up written as the 31st of February (0.05 %, rejected at
//! ingest); surgery before imatinib start (0.05 %, clean rule); death before
//! diagnosis (0.03 %, clean rule); progression after death (0.02 %, clean
//! rule); the other centre's patient again with an earlier last contact
//! (0.10 %, linkage); a record number repeated in the same centre (0.02 %,
//! both rows rejected at ingest); tumour size typed ten times too large
//! (0.03 %, the schema's range); a birth date 8–16 years before imatinib
//! (0.02 %, the derived `age`'s range); diagnosis after imatinib start
//! (0.05 %, flagged and kept). [`model::Defect`] has the details.
//!
//! # Sizes
//!
//! An XLSX sheet holds 1,048,576 rows, the header included: above 1,048,575
//! centre B rows (about 2.2 million patients) the workbook cannot be
//! written, and `synth` stops before writing anything, naming the limit and
//! the alternative, `CentreBFormat::Csv` (a UTF-8 CSV, `,`, `dd/mm/yyyy`,
//! with a source file to match).
//!
//! Depends on chrono (calendar), encoding_rs (windows-1251), rand_core and
//! rand_pcg (the draw streams), rust_xlsxwriter (the workbook, in its
//! constant-memory mode) and thiserror.

pub mod model;
mod write;

use model::Centre;
use std::path::{Path, PathBuf};

/// The studies `synth` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Study {
    Mgist,
}

/// How centre B's export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CentreBFormat {
    /// An XLSX workbook, as the centre exports it (up to 1,048,575 rows).
    #[default]
    Xlsx,
    /// A UTF-8 CSV (any size), with a source file that reads it.
    Csv,
}

/// What to write.
#[derive(Debug, Clone)]
pub struct Options {
    pub study: Study,
    /// Rows in both exports together.
    pub patients: u64,
    pub seed: u64,
    pub out: PathBuf,
    pub centre_b_format: CentreBFormat,
}

/// Rows a worksheet holds below its header row.
pub const XLSX_MAX_DATA_ROWS: u64 = 1_048_575;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(
        "centre B would have {rows} rows, and an XLSX sheet holds 1,048,576 rows \
         (1,048,575 below the header): pass --centre-b-format csv to write centre B \
         as center_b.csv with a matching sources/center_b.toml; nothing was written"
    )]
    TooManyRowsForXlsx { rows: u64 },
    #[error("--patients must be between 1 and {max}; nothing was written")]
    Patients { max: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: writing the workbook: {message}")]
    Xlsx { path: PathBuf, message: String },
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rows_a: u64,
    pub rows_b: u64,
    /// Paths relative to the output folder, in writing order.
    pub files: Vec<String>,
    /// The bundled study's pipeline file in the output folder.
    pub pipeline: PathBuf,
}

/// Rows of each centre in an export of this size and seed.
pub fn rows_per_centre(patients: u64, seed: u64) -> (u64, u64) {
    let a = (0..patients)
        .filter(|&r| model::centre_of(seed, r) == Centre::A)
        .count() as u64;
    (a, patients - a)
}

/// Writes the exports and the study files into `opts.out` (created if
/// missing; files of the same names are replaced). Checks the sizes first:
/// on a size error nothing is written.
pub fn write(opts: &Options) -> Result<Written, SynthError> {
    let Study::Mgist = opts.study;
    if opts.patients == 0 || opts.patients > model::MAX_PATIENTS {
        return Err(SynthError::Patients {
            max: model::MAX_PATIENTS,
        });
    }
    let (rows_a, rows_b) = rows_per_centre(opts.patients, opts.seed);
    if opts.centre_b_format == CentreBFormat::Xlsx && rows_b > XLSX_MAX_DATA_ROWS {
        return Err(SynthError::TooManyRowsForXlsx { rows: rows_b });
    }
    let files = write::mgist(opts, rows_a, rows_b)?;
    Ok(Written {
        rows_a,
        rows_b,
        files,
        pipeline: opts.out.join(write::PIPELINE),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

//! Rows a stage refused, with enough to find and fix them in the export.

use crate::ledger::csv_field;
use std::fmt::Write as _;

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reject {
    /// Source name, as in the source file's `name`.
    pub source: String,
    /// Line of the CSV file, or row of the sheet, where the record starts.
    pub source_row: i64,
    /// Stage that refused it (`ingest`, `clean`, `derive`).
    pub stage: String,
    /// Name of the rule, or the kind of ingest error.
    pub rule: String,
    /// The columns involved (source column names at ingest, canonical after).
    pub columns: String,
    /// Their values, `column=value` joined by `; `.
    pub values: String,
}

/// `rejects.csv`, sorted by source, row, stage and rule so that the file
/// does not depend on the order in which stages found the problems.
pub fn to_csv(rejects: &[Reject]) -> String {
    let mut sorted: Vec<&Reject> = rejects.iter().collect();
    sorted.sort();
    let mut s = String::from("source,source_row,stage,rule,columns,values\n");
    for r in sorted {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{}",
            csv_field(&r.source),
            r.source_row,
            csv_field(&r.stage),
            csv_field(&r.rule),
            csv_field(&r.columns),
            csv_field(&r.values)
        );
    }
    s
}

//! Rows a stage refused, with enough to find and fix them in the export.
//!
//! `rejects.csv` names each row by source and line, the rule and the columns
//! involved. The values of those columns are a patient's data: they are
//! written into the `values` column only when the run asked for them
//! ([`Values::Shown`], the CLI's `--show-values`, for a look at a centre's own
//! data on its own machine); otherwise that column is empty. Every stage's
//! rejects leave the program through [`to_csv`], so no stage can write a
//! value by forgetting to hide it.

use crate::table::csv_field;
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
    /// Their values, `column=value` joined by `; `. Patient data: written
    /// out only with [`Values::Shown`].
    pub values: String,
}

/// Whether `rejects.csv` shows the values of the rejected cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Values {
    /// The `values` column is empty (the default).
    #[default]
    Hidden,
    /// `--show-values`: the `values` column holds `column=value` pairs.
    Shown,
}

/// `rejects.csv`, sorted by source, row, stage and rule so that the file
/// does not depend on the order in which stages found the problems. The
/// `values` column is empty unless `values` is [`Values::Shown`].
pub fn to_csv(rejects: &[Reject], values: Values) -> String {
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
            csv_field(match values {
                Values::Shown => &r.values,
                Values::Hidden => "",
            })
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_only_when_shown() {
        let r = Reject {
            source: "a".into(),
            source_row: 4,
            stage: "ingest".into(),
            rule: "unknown code".into(),
            columns: "sex".into(),
            values: "sex=X".into(),
        };
        let hidden = to_csv(std::slice::from_ref(&r), Values::Hidden);
        assert_eq!(
            hidden,
            "source,source_row,stage,rule,columns,values\na,4,ingest,unknown code,sex,\n"
        );
        let shown = to_csv(&[r], Values::Shown);
        assert!(
            shown.ends_with("a,4,ingest,unknown code,sex,sex=X\n"),
            "{shown}"
        );
    }
}

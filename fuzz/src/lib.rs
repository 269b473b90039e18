//! Shared pieces of the fuzz targets: the bundled schema and sources, and the
//! checks every successful ingest must pass (the ledger balances; the table
//! has exactly the schema's shape).

use cohortflow_core::ledger::Outcome;
use cohortflow_core::schema::Schema;
use cohortflow_ingest::{Ingested, Source, SourceFile};
use std::path::PathBuf;

pub const MGIST_SCHEMA: &str = include_str!("../../pipelines/schemas/mgist.toml");
pub const CENTER_A: &str = include_str!("../../pipelines/sources/center_a.toml");
pub const CENTER_B: &str = include_str!("../../pipelines/sources/center_b.toml");

pub fn schema(text: &str) -> Schema {
    toml::from_str(text).expect("the fuzz schema parses")
}

/// A source parsed from `text`, as if it were the file `name`.
pub fn source(text: &str, name: &str) -> Source {
    let parsed: SourceFile = toml::from_str(text).expect("the fuzz source parses");
    Source {
        config: parsed.source,
        file: PathBuf::from(name),
        text: text.to_string(),
    }
}

/// libFuzzer's panic hook aborts on every panic, also on one that
/// `cohortflow-ingest` catches around a third-party reader (calamine,
/// polars' parquet reader), which is then reported as an error. This hook
/// lets a panic located in a third-party crate unwind (if nobody catches it,
/// the target still aborts); a panic in cohortflow's own code aborts at once.
pub fn let_third_party_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info.location().is_some_and(|l| {
                let f = l.file();
                f.contains("/.cargo/registry/") || f.contains("/.cargo/git/")
            });
            if third_party {
                eprintln!("third-party panic (caught by ingest's guard?): {info}");
            } else {
                abort(info);
            }
        }));
    });
}

/// Every row read is kept or rejected, and the table has the schema's shape.
pub fn check_ingested(ing: &Ingested, schema: &Schema, expected_rows: Option<u64>) {
    let a = &ing.account;
    let removed: u64 = a
        .outcomes
        .iter()
        .filter(|(o, _, _)| *o != Outcome::Flagged)
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(a.rows_in, a.rows_out + removed, "ingest account: {a:?}");
    assert_eq!(a.rows_out, ing.frame.height() as u64, "rows kept vs table");
    assert_eq!(removed, ing.rejects.len() as u64, "rejected vs rejects");
    if let Some(n) = expected_rows {
        assert_eq!(a.rows_in, n, "rows read");
    }
    for c in ing.frame.columns() {
        if let Ok(f) = c.as_materialized_series().f64() {
            assert!(
                (0..f.len()).filter_map(|i| f.get(i)).all(f64::is_finite),
                "a non-finite number in {}",
                c.name()
            );
        }
    }
    let want = schema.polars_schema(std::slice::from_ref(&a.source));
    let got = ing.frame.schema();
    assert_eq!(got.len(), want.len(), "columns");
    for ((gn, gt), (wn, wt)) in got.iter().zip(want.iter()) {
        assert_eq!((gn, gt), (wn, wt), "column");
    }
}

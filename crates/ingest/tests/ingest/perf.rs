//! Throughput check, ignored by default (it writes a large file). Run with
//! `cargo test --release -p cohortflow-ingest -- --ignored perf` and
//! `COHORTFLOW_PERF_ROWS` to change the size (default 1,000,000 rows).

use crate::common::source_in;
use cohortflow_core::schema::Schema;
use cohortflow_ingest::ingest;
use std::fmt::Write as _;
use std::time::Instant;

#[test]
#[ignore]
fn perf_one_million_rows_by_16_columns() {
    let n: usize = std::env::var("COHORTFLOW_PERF_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kinds = [
        ("string", ""),
        ("category", "levels = [\"M\", \"F\"]"),
        ("integer", ""),
        ("float", "unit = \"mm\""),
        ("date", ""),
        ("boolean", ""),
        (
            "category",
            "levels = [\"stomach\", \"small bowel\", \"other\"]",
        ),
        ("float", ""),
    ];
    let mut schema = String::from("name = \"perf\"\n");
    let mut columns = String::from("[source.columns]\n");
    let mut header = Vec::new();
    for i in 0..16 {
        let (kind, extra) = kinds[i % kinds.len()];
        let _ = writeln!(
            schema,
            "[[column]]\nname = \"c{i}\"\ntype = \"{kind}\"\n{extra}"
        );
        match (i, kind) {
            (_, "category") if extra.contains("\"M\"") => {
                let _ = writeln!(
                    columns,
                    "c{i} = {{ column = \"h{i}\", values = {{ \"М\" = \"M\", \"Ж\" = \"F\" }} }}"
                );
            }
            (_, "float") if extra.contains("mm") => {
                let _ = writeln!(columns, "c{i} = {{ column = \"h{i}\", unit = \"cm\" }}");
            }
            _ => {
                let _ = writeln!(columns, "c{i} = \"h{i}\"");
            }
        }
        header.push(format!("h{i}"));
    }
    let schema: Schema = toml::from_str(&schema).unwrap();
    let mut data = header.join(";");
    data.push('\n');
    let sites = ["stomach", "small bowel", "other"];
    for r in 0..n {
        for i in 0..16 {
            if i > 0 {
                data.push(';');
            }
            let _ = match i % 8 {
                0 => write!(data, "P{r}"),
                1 => write!(data, "{}", if r % 2 == 0 { "М" } else { "Ж" }),
                2 => write!(data, "{}", 20 + r % 60),
                3 => write!(data, "{},{}", r % 20, r % 10),
                4 => write!(
                    data,
                    "{:02}.{:02}.{}",
                    1 + r % 28,
                    1 + r % 12,
                    2000 + r % 20
                ),
                5 => write!(data, "{}", if r % 3 == 0 { "true" } else { "false" }),
                6 => write!(data, "{}", sites[r % 3]),
                _ => write!(data, "{},5", r % 1000),
            };
        }
        data.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "name = \"perf\"\ncentre = \"P\"\nformat = \"csv\"\ndate_formats = [\"%d.%m.%Y\"]\n\
         [source.csv]\nseparator = \";\"\ndecimal_comma = true\n{columns}"
    );
    let source = source_in(dir.path(), "data.csv", data.as_bytes(), &src);
    drop(data);
    let t = Instant::now();
    let out = ingest(&source, &schema).unwrap();
    let elapsed = t.elapsed();
    eprintln!("ingested {n} rows x 16 columns in {elapsed:.2?}");
    assert_eq!(out.frame.height(), n);
    assert_eq!(out.frame.width(), 18);
}

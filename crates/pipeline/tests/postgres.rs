//! The mGIST study with centre A read from PostgreSQL gives the cohort of
//! the CSV run. Needs the server that `COHORTFLOW_TEST_PG` names
//! (`scripts/postgres.sh`, run by `.ci/run`); without it the test says
//! loudly that it was skipped, and fails when `COHORTFLOW_PG_REQUIRED` is
//! set (CI).

use cohortflow_pipeline::{load, run};
use std::io::Write;
use std::path::{Path, PathBuf};

const ENV: &str = "COHORTFLOW_TEST_PG";

fn server(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(s) if !s.trim().is_empty() => Some(s),
        _ => {
            assert!(
                std::env::var_os("COHORTFLOW_PG_REQUIRED").is_none(),
                "COHORTFLOW_PG_REQUIRED is set but {ENV} is not: the PostgreSQL tests must run \
                 against a server (scripts/postgres.sh starts one)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: {ENV} is not set, so no PostgreSQL server to test \
                 against. Run `scripts/postgres.sh cargo test --workspace` to run it. ***"
            );
            None
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Centre A's export as it is: its headers, and per record its CSV line
/// and its fields (an empty field as None).
type Export = (Vec<String>, Vec<(i64, Vec<Option<String>>)>);

fn center_a() -> Export {
    let bytes = std::fs::read(repo().join("fixtures/mgist/center_a.csv")).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    // One record per line after the header (no field holds a line break,
    // no blank line): record i is on line i + 2.
    assert!(text.lines().all(|l| !l.trim().is_empty()));
    let mut records = Vec::new();
    for (i, r) in reader.records().enumerate() {
        let r = r.unwrap();
        assert!(r.iter().all(|f| !f.contains('\n')));
        let line = i as i64 + 2;
        let fields = r
            .iter()
            .map(|f| (!f.is_empty()).then(|| f.to_string()))
            .collect();
        records.push((line, fields));
    }
    assert_eq!(records.len(), text.trim_end().lines().count() - 1);
    (headers, records)
}

/// Writes the export into `cf_mgist.center_a`: every column as text under
/// its own header, plus `csv_line`, the record's line in the CSV file.
fn load_center_a(conn: &str, export: &Export) {
    let mut client = conn
        .parse::<postgres::Config>()
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    let (headers, records) = export;
    let quoted: Vec<String> = headers
        .iter()
        .map(|h| format!("\"{}\"", h.replace('"', "\"\"")))
        .collect();
    let columns: Vec<String> = quoted.iter().map(|q| format!("{q} text")).collect();
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS cf_mgist CASCADE; CREATE SCHEMA cf_mgist;
             CREATE TABLE cf_mgist.center_a (csv_line int4 PRIMARY KEY, {});",
            columns.join(", ")
        ))
        .unwrap();
    let placeholders: Vec<String> = (2..=headers.len() + 1).map(|i| format!("${i}")).collect();
    let insert = client
        .prepare(&format!(
            "INSERT INTO cf_mgist.center_a (csv_line, {}) VALUES ($1, {})",
            quoted.join(", "),
            placeholders.join(", ")
        ))
        .unwrap();
    // In reverse: the table's physical order is not the order read.
    for (line, fields) in records.iter().rev() {
        let line = *line as i32;
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&line];
        for f in fields {
            params.push(f);
        }
        client.execute(&insert, &params).unwrap();
    }
}

/// The study's pipelines folder with centre A's source replaced by one
/// that reads `cf_mgist.center_a`, in `dir`.
fn study_with_center_a_from_postgres(dir: &Path) -> PathBuf {
    let from = repo().join("pipelines");
    let to = dir.join("pipelines");
    std::fs::create_dir_all(to.join("schemas")).unwrap();
    std::fs::create_dir_all(to.join("sources")).unwrap();
    for f in ["mgist-cytoreduction.toml", "schemas/mgist.toml"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let b = std::fs::read_to_string(from.join("sources/center_b.toml")).unwrap();
    let xlsx = repo().join("fixtures/mgist/center_b.xlsx");
    let b = b.replace(
        "\"../../fixtures/mgist/center_b.xlsx\"",
        &format!("{:?}", xlsx.display().to_string()),
    );
    std::fs::write(to.join("sources/center_b.toml"), b).unwrap();

    // Centre A: the same names, codes, units and formats; the export's
    // columns now come from the table, in the order of its CSV lines.
    let a = std::fs::read_to_string(from.join("sources/center_a.toml")).unwrap();
    let mut out = Vec::new();
    let mut section = String::new();
    for line in a.lines() {
        if line.starts_with('[') {
            section = line.to_string();
            if section == "[source.csv]" {
                out.push(line.to_string());
                out.push("decimal_comma = true".to_string());
                continue;
            }
            if section == "[source.columns]" {
                out.push("[source.postgres]".into());
                out.push("table = \"cf_mgist.center_a\"".into());
                out.push("order_by = [\"csv_line\"]".into());
                out.push(format!("connection_env = \"{ENV}\""));
                out.push(String::new());
            }
        }
        if section == "[source.csv]" {
            continue;
        }
        if line.starts_with("format = ") {
            out.push("format = \"postgres\"".into());
        } else if !line.starts_with("path = ") {
            out.push(line.to_string());
        }
    }
    let text = out.join("\n");
    assert!(text.contains("[source.postgres]") && text.contains("unmapped_columns = \"error\""));
    std::fs::write(to.join("sources/center_a.toml"), text).unwrap();
    to.join("mgist-cytoreduction.toml")
}

#[test]
fn mgist_with_center_a_from_postgres_gives_the_csv_runs_cohort() {
    let Some(conn) = server("mgist_with_center_a_from_postgres_gives_the_csv_runs_cohort") else {
        return;
    };
    let export = center_a();
    load_center_a(&conn, &export);
    let dir = tempfile::tempdir().unwrap();

    let csv_run = dir.path().join("csv-run");
    run(
        &load(&repo().join("pipelines/mgist-cytoreduction.toml")).unwrap(),
        &csv_run,
    )
    .unwrap();
    let pg_pipeline = study_with_center_a_from_postgres(dir.path());
    let pg_run = dir.path().join("pg-run");
    let summary = run(&load(&pg_pipeline).unwrap(), &pg_run).unwrap();
    let n: Vec<(&str, u64)> = summary
        .results
        .arms
        .iter()
        .map(|a| (a.name.as_str(), a.n))
        .collect();
    assert_eq!(n, [("S", 15), ("NS", 29)]);

    // A PostgreSQL row's line is its position in csv_line order; the CSV
    // run names the same record by its line in the file.
    let line_of_position: Vec<i64> = {
        let mut lines: Vec<i64> = export.1.iter().map(|(l, _)| *l).collect();
        lines.sort();
        lines
    };
    let csv_cohort = std::fs::read_to_string(csv_run.join("cohort.csv")).unwrap();
    let pg_cohort = std::fs::read_to_string(pg_run.join("cohort.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(pg_cohort.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let source = headers.iter().position(|h| h == "source").unwrap();
    let row = headers.iter().position(|h| h == "source_row").unwrap();
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    let mut translated = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let mut fields: Vec<String> = r.iter().map(str::to_string).collect();
        if fields[source] == "center_a" {
            let position: usize = fields[row].parse().unwrap();
            fields[row] = line_of_position[position - 1].to_string();
            translated += 1;
        }
        writer.write_record(&fields).unwrap();
    }
    let pg_cohort = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    assert!(translated > 0);
    assert_eq!(
        pg_cohort, csv_cohort,
        "the cohort of the PostgreSQL run differs from the CSV run's"
    );
    // The rest of the run follows from the cohort: the results are equal.
    for f in ["results.json", "attrition.csv", "km.csv"] {
        assert_eq!(
            std::fs::read_to_string(pg_run.join(f)).unwrap(),
            std::fs::read_to_string(csv_run.join(f)).unwrap(),
            "{f} differs"
        );
    }

    // The manifest records what was read instead of a data file.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pg_run.join("manifest.json")).unwrap())
            .unwrap();
    let a = manifest["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "center_a")
        .unwrap();
    let data = &a["data"];
    assert_eq!(data["database"], "postgres");
    assert_eq!(
        data["connection_from"],
        format!("environment variable {ENV}")
    );
    assert_eq!(data["rows"], export.1.len() as u64);
    assert_eq!(data["sha256"].as_str().unwrap().len(), 64);
    assert!(
        data["query"].as_str().unwrap().ends_with(
            "FROM (SELECT * FROM \"cf_mgist\".\"center_a\") AS q ORDER BY q.\"csv_line\""
        ),
        "{data}"
    );
    let password = conn
        .parse::<postgres::Config>()
        .unwrap()
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let text = std::fs::read_to_string(pg_run.join("manifest.json")).unwrap();
    assert!(!data["connection"].as_str().unwrap().contains("password"));
    if let Some(p) = password {
        assert!(!text.contains(&p), "the manifest holds the password");
    }
}

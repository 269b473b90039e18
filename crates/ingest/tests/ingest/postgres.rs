//! PostgreSQL sources against a real server: the one `COHORTFLOW_TEST_PG`
//! names (a libpq connection string; `scripts/postgres.sh` starts a
//! throwaway server and sets it, and `.ci/run` runs the tests under it).
//! Without it the tests that need a server say loudly that they were
//! skipped (and fail when `COHORTFLOW_PG_REQUIRED` is set, as in CI). Each
//! test writes its data into a schema of its own.
//!
//! The checks of `validate` need no server and always run.

use crate::common::*;
use cohortflow_ingest::{IngestOptions, Source, ingest, ingest_with, validate};
use std::io::Write;
use std::process::Command;

const ENV: &str = "COHORTFLOW_TEST_PG";

/// The test server's connection string, or None after a loud message.
pub fn server(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(s) if !s.trim().is_empty() => Some(s),
        _ => {
            assert!(
                std::env::var_os("COHORTFLOW_PG_REQUIRED").is_none(),
                "COHORTFLOW_PG_REQUIRED is set but {ENV} is not: the PostgreSQL tests must run \
                 against a server (scripts/postgres.sh starts one)"
            );
            // Straight to the process' stderr: libtest would hide a
            // passing test's eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: {ENV} is not set, so no PostgreSQL server to test \
                 against. Run `scripts/postgres.sh cargo test --workspace` to run it. ***"
            );
            None
        }
    }
}

fn client(conn: &str) -> postgres::Client {
    conn.parse::<postgres::Config>()
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"))
}

/// A fresh schema `name` holding the result of `sql` (statements separated
/// by `;`, `{s}` standing for the schema).
fn setup(conn: &str, name: &str, sql: &str) {
    let mut c = client(conn);
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}; {}",
        sql.replace("{s}", name)
    ))
    .unwrap();
}

const HEAD: &str = r#"
name = "center_pg"
centre = "Centre PG"
format = "postgres"
"#;

/// A postgres source file in `dir`: `[source]` keys, `[source.postgres]`
/// keys, then `[source.columns]`.
fn pg_source(dir: &std::path::Path, source: &str, postgres: &str, columns: &str) -> Source {
    source_file(
        dir,
        &format!(
            "[source]\n{HEAD}{source}\n[source.postgres]\n{postgres}\n[source.columns]\n{columns}"
        ),
    )
}

const COLUMNS: &str = r#"
patient_id = "pid"
sex = "sex"
age = "age"
tumor_size = { column = "size", unit = "cm" }
im_start = "start"
mets_liver = "liver"
note = "note"
"#;

fn keys(src: &Source) -> Vec<String> {
    validate(src, &schema())
        .into_iter()
        .map(|p| p.key)
        .collect()
}

#[test]
fn validate_requires_table_order_and_connection() {
    let dir = tempfile::tempdir().unwrap();
    let src = pg_source(dir.path(), "", "", COLUMNS);
    let problems = validate(&src, &schema());
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {} / {}", p.key, p.message, p.expected))
        .collect();
    let text = text.join("\n");
    has(
        &text,
        &[
            "source.postgres.table: neither table nor query is set",
            "source.postgres.order_by: order_by is not set: a table has no order of its own",
            "1-based position in that order",
            "source.postgres.connection_env: no connection",
        ],
    );
    // No [source.postgres] at all.
    let src = source_file(
        dir.path(),
        &format!("[source]\n{HEAD}\n[source.columns]\n{COLUMNS}"),
    );
    assert_eq!(keys(&src), ["source.postgres"]);
    // Both table and query, both connections, a path, csv-only keys.
    let src = source_file(
        dir.path(),
        &format!(
            "[source]\n{HEAD}path = \"x.csv\"\n[source.csv]\nseparator = \";\"\nheader_row = 2\n\
             [source.postgres]\ntable = \"a.b\"\nquery = \"select 1\"\norder_by = [\"id\"]\n\
             connection_env = \"X\"\nservice = \"y\"\n[source.columns]\n{COLUMNS}"
        ),
    );
    assert_eq!(
        keys(&src),
        [
            "source.path",
            "source.postgres.query",
            "source.postgres.service",
            "source.csv.separator",
            "source.csv.header_row"
        ]
    );
    // A clean one, and decimal_comma is allowed (text columns may hold 7,5).
    let src = pg_source(
        dir.path(),
        "[source.csv]\ndecimal_comma = true",
        "table = \"public.t\"\norder_by = [\"id\"]\nconnection_env = \"X\"",
        COLUMNS,
    );
    assert_eq!(keys(&src), Vec::<String>::new());
    // [source.postgres] on a csv source.
    let src = source_file(
        dir.path(),
        &format!(
            "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"csv\"\npath = \"source.toml\"\n\
             [source.postgres]\ntable = \"t\"\n[source.columns]\n{COLUMNS}"
        ),
    );
    assert_eq!(keys(&src), ["source.postgres"]);
}

#[test]
fn validate_refuses_a_password_in_the_source_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-Pa55";
    for (postgres, key) in [
        (
            format!(
                "table = \"t\"\norder_by = [\"id\"]\nconnection_env = \"X\"\npassword = \"{secret}\""
            ),
            "source.postgres.password",
        ),
        (
            format!(
                "table = \"t\"\norder_by = [\"id\"]\nconnection_env = \"postgresql://me:{secret}@db/reg\""
            ),
            "source.postgres.connection_env",
        ),
        (
            format!("table = \"t\"\norder_by = [\"id\"]\nservice = \"host=db password={secret}\""),
            "source.postgres.service",
        ),
        (
            format!(
                "query = \"select * from dblink('password={secret}', 'x') as t(a int)\"\n\
                 order_by = [\"a\"]\nconnection_env = \"X\""
            ),
            "source.postgres.query",
        ),
    ] {
        let src = pg_source(dir.path(), "", &postgres, COLUMNS);
        let problems = validate(&src, &schema());
        let p = problems
            .iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("no problem for {key}: {problems:?}"));
        has(
            &format!("{} / {}", p.message, p.expected),
            &[
                "password",
                "connection_env = \"NAME\"",
                "service = \"NAME\"",
            ],
        );
        for p in &problems {
            assert!(
                !format!("{} {}", p.message, p.expected).contains(secret),
                "the password is shown: {p:?}"
            );
        }
    }
    // A connection string without a password where a name belongs.
    let src = pg_source(
        dir.path(),
        "",
        "table = \"t\"\norder_by = [\"id\"]\nconnection_env = \"host=db user=me\"",
        COLUMNS,
    );
    let problems = validate(&src, &schema());
    assert_eq!(problems.len(), 1, "{problems:?}");
    has(&problems[0].message, &["looks like a connection string"]);
}

#[test]
fn a_missing_environment_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = pg_source(
        dir.path(),
        "",
        "table = \"t\"\norder_by = [\"id\"]\nconnection_env = \"COHORTFLOW_TEST_PG_UNSET_VARIABLE\"",
        COLUMNS,
    );
    let e = err(ingest(&src, &schema()));
    assert_eq!(e.file, src.file);
    assert_eq!(e.column.as_deref(), Some("source.postgres.connection_env"));
    has(
        &e.to_string(),
        &[
            "COHORTFLOW_TEST_PG_UNSET_VARIABLE is not set",
            "export COHORTFLOW_TEST_PG_UNSET_VARIABLE=",
        ],
    );
}

/// The table of the type tests: one row per patient, a column per type.
const TYPES: &str = r#"
CREATE TYPE {s}.sex AS ENUM ('M', 'F');
CREATE TABLE {s}.a (
    id int4 PRIMARY KEY, pid text, sex {s}.sex, age int2, size numeric(5,2),
    start date, liver bool, note varchar(20), extra jsonb);
INSERT INTO {s}.a VALUES
    (3, 'P-3', 'F', 70, 2.50, '2021-03-04', false, 'third', '{}'),
    (1, 'P-1', 'M', 61, 1.25, '2020-01-31', true, 'first', '{}'),
    (2, 'P-2', 'F', NULL, NULL, '2019-12-31', NULL, NULL, NULL);
CREATE TABLE {s}.b (
    id int8, pid int8, sex char(1), age int8, size float4, start timestamp,
    liver int4, note name);
INSERT INTO {s}.b VALUES
    (10, 90000000001, 'M', 5000000000, 7.1, '2020-05-06 23:59:59', 1, 'b1'),
    (20, 90000000002, 'F', 0, 0.5, '1969-12-31 00:00:01', 0, 'b2');
CREATE TABLE {s}.c (
    id text, pid varchar(10), sex text, age int4, size float8, start text,
    liver text, note text);
INSERT INTO {s}.c VALUES
    ('x', 'C-1', 'M', 44, 12.5, '05.06.2020', 'true', '  spaced  ');
"#;

#[test]
fn every_supported_type_becomes_the_canonical_value() {
    let Some(conn) = server("postgres::every_supported_type_becomes_the_canonical_value") else {
        return;
    };
    setup(&conn, "cf_types", TYPES);
    let dir = tempfile::tempdir().unwrap();
    let read = |table: &str, extra: &str| {
        let src = pg_source(
            dir.path(),
            extra,
            &format!(
                "table = \"cf_types.{table}\"\norder_by = [\"id\"]\nconnection_env = \"{ENV}\""
            ),
            COLUMNS,
        );
        ok(ingest(&src, &schema()))
    };

    // int4 order, text, enum, int2, numeric, date, bool, varchar; NULLs.
    let out = read("a", "on_error = \"reject\"");
    let df = &out.frame;
    assert_eq!(
        df.schema().as_ref(),
        &schema().polars_schema(&["center_pg".to_string()])
    );
    // Lines are positions in order_by order (id 1, 2, 3), not insertion order.
    assert_eq!(rows(df), [1, 2, 3]);
    assert_eq!(
        col(df, "patient_id"),
        s(&[Some("P-1"), Some("P-2"), Some("P-3")])
    );
    assert_eq!(col(df, "sex"), s(&[Some("M"), Some("F"), Some("F")]));
    assert_eq!(col(df, "age"), s(&[Some("61"), None, Some("70")]));
    assert_eq!(
        col(df, "tumor_size"),
        s(&[Some("12.5"), None, Some("25.0")])
    );
    assert_eq!(
        col(df, "im_start"),
        s(&[Some("2020-01-31"), Some("2019-12-31"), Some("2021-03-04")])
    );
    assert_eq!(
        col(df, "mets_liver"),
        s(&[Some("true"), None, Some("false")])
    );
    assert_eq!(col(df, "note"), s(&[Some("first"), None, Some("third")]));
    assert!(out.rejects.is_empty());
    let read_info = out
        .database
        .as_ref()
        .expect("a database source says what it read");
    assert_eq!(read_info.rows, 3);
    assert_eq!(
        read_info.connection_from,
        format!("environment variable {ENV}")
    );
    assert!(
        !read_info.connection.contains("password"),
        "{}",
        read_info.connection
    );
    assert!(
        read_info.query.ends_with("ORDER BY q.\"id\""),
        "{}",
        read_info.query
    );
    // The unmapped jsonb column is not read, so its type does not matter.
    assert!(!read_info.query.contains("extra"), "{}", read_info.query);

    // int8 as text, char(1), int8, float4, timestamp, int4 as boolean, name.
    let out = read("b", "");
    let df = &out.frame;
    assert_eq!(rows(df), [1, 2]);
    assert_eq!(
        col(df, "patient_id"),
        s(&[Some("90000000001"), Some("90000000002")])
    );
    assert_eq!(col(df, "sex"), s(&[Some("M"), Some("F")]));
    assert_eq!(col(df, "age"), s(&[Some("5000000000"), Some("0")]));
    // float4 7.1 is 7.1 (cm), not 7.099999904632568.
    assert_eq!(col(df, "tumor_size"), s(&[Some("71.0"), Some("5.0")]));
    // A timestamp's date, whatever its time of day.
    assert_eq!(
        col(df, "im_start"),
        s(&[Some("2020-05-06"), Some("1969-12-31")])
    );
    assert_eq!(col(df, "mets_liver"), s(&[Some("true"), Some("false")]));
    assert_eq!(col(df, "note"), s(&[Some("b1"), Some("b2")]));

    // Text that the source's formats read: dates, booleans, blanks trimmed.
    let out = read("c", "date_formats = [\"%d.%m.%Y\"]");
    let df = &out.frame;
    assert_eq!(col(df, "age"), s(&[Some("44")]));
    assert_eq!(col(df, "tumor_size"), s(&[Some("125.0")]));
    assert_eq!(col(df, "im_start"), s(&[Some("2020-06-05")]));
    assert_eq!(col(df, "mets_liver"), s(&[Some("true")]));
    assert_eq!(col(df, "note"), s(&[Some("spaced")]));

    // The same rows read twice hash the same; another table does not.
    let again = read("a", "on_error = \"reject\"");
    assert_eq!(again.database.unwrap().sha256, read_info.sha256);
    assert_ne!(out.database.unwrap().sha256, read_info.sha256);
}

#[test]
fn a_bad_value_is_rejected_with_its_position_as_line() {
    let Some(conn) = server("postgres::a_bad_value_is_rejected_with_its_position_as_line") else {
        return;
    };
    setup(
        &conn,
        "cf_reject",
        "CREATE TABLE {s}.t (id int4, pid text, sex text, age text, size float8, start date, \
         liver bool, note text);
         INSERT INTO {s}.t VALUES
            (40, 'P-4', 'M', '50', 1, '2020-01-01', true, NULL),
            (10, 'P-1', 'M', '50', 1, '2020-01-01', true, NULL),
            (30, 'P-3', 'X', 'fifty', 1, '2020-01-01', true, NULL),
            (20, 'P-2', 'F', '51', NULL, NULL, NULL, NULL),
            (50, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let postgres =
        format!("table = \"cf_reject.t\"\norder_by = [\"id\"]\nconnection_env = \"{ENV}\"");
    let src = pg_source(dir.path(), "on_error = \"reject\"", &postgres, COLUMNS);
    let out = ok(ingest(&src, &schema()));
    // id 10, 20, 30, 40, 50 are rows 1..5: row 2 misses its required start,
    // row 3 has an unknown sex and a non-number age, row 5 is blank.
    assert_eq!(rows(&out.frame), [1, 4]);
    let rejects: Vec<(i64, String, String)> = out
        .rejects
        .iter()
        .map(|r| (r.source_row, r.rule.clone(), r.columns.clone()))
        .collect();
    assert_eq!(
        rejects,
        [
            (2, "missing required value".to_string(), "start".to_string()),
            (3, "not a level".to_string(), "sex; age".to_string()),
            (5, "blank row".to_string(), String::new()),
        ]
    );
    assert_eq!(out.account.rows_in, 5);
    assert_eq!(out.account.rows_out, 2);

    // With on_error = "fail": the row's position and column, not its value.
    let src = pg_source(dir.path(), "", &postgres, COLUMNS);
    let e = err(ingest(&src, &schema()));
    assert_eq!(e.file, src.file);
    assert_eq!(e.line, None);
    assert_eq!(e.column.as_deref(), Some("start"));
    has(
        &e.message,
        &[
            "row 2 of table \"cf_reject.t\" in order_by order",
            "required",
        ],
    );
    // Another order, other lines: by pid, P-2 is still second.
    let by_pid = postgres.replace("[\"id\"]", "[\"pid\"]");
    let e = err(ingest(
        &pg_source(dir.path(), "", &by_pid, COLUMNS),
        &schema(),
    ));
    has(&e.message, &["row 2 of table"]);
    // The third row's sex: the message names the column, never the value.
    let src = pg_source(
        dir.path(),
        "",
        &format!(
            "query = \"select * from cf_reject.t where id in (10, 30)\"\norder_by = [\"id\"]\n\
             connection_env = \"{ENV}\""
        ),
        COLUMNS,
    );
    let e = err(ingest(&src, &schema()));
    has(
        &e.to_string(),
        &["row 2 of the query in order_by order", "(column 'sex')"],
    );
    assert!(
        !e.to_string().contains("'X'") && !e.to_string().contains("fifty"),
        "{e}"
    );
    assert_eq!(e.value, None);
    // --show-values: the value, on the user's own machine.
    let e = err(ingest_with(
        &src,
        &schema(),
        IngestOptions {
            show_values: true,
            ..Default::default()
        },
    ));
    assert_eq!(e.value.as_deref(), Some("X"));
}

#[test]
fn errors_name_the_key_and_the_fix() {
    let Some(conn) = server("postgres::errors_name_the_key_and_the_fix") else {
        return;
    };
    setup(
        &conn,
        "cf_errors",
        "CREATE TABLE {s}.t (id int4, pid text, sex text, age int4, size float8, start date, \
         liver bool, note uuid, other text);
         INSERT INTO {s}.t VALUES
            (1, 'P-1', 'M', 50, 1, '2020-01-01', true, NULL, 'x'),
            (1, 'P-2', 'M', 50, 1, '2020-01-01', true, NULL, 'y');",
    );
    let dir = tempfile::tempdir().unwrap();
    let run = |postgres: &str, columns: &str, extra: &str| {
        let src = pg_source(
            dir.path(),
            extra,
            &format!("{postgres}\nconnection_env = \"{ENV}\""),
            columns,
        );
        err(ingest(&src, &schema()))
    };
    let no_note = COLUMNS.replace("note = \"note\"", "");

    // A table that does not exist.
    let e = run(
        "table = \"cf_errors.missing\"\norder_by = [\"id\"]",
        COLUMNS,
        "",
    );
    assert_eq!(e.column.as_deref(), Some("source.postgres.table"));
    has(
        &e.to_string(),
        &["does not exist", "42P01", "case-sensitive"],
    );
    // A mapped column the table does not have.
    let e = run(
        "table = \"cf_errors.t\"\norder_by = [\"id\"]",
        &COLUMNS.replace("\"size\"", "\"size_cm\""),
        "",
    );
    has(
        &e.to_string(),
        &[
            "column \"size_cm\" (mapped to tumor_size) is not in",
            "\"size\"",
        ],
    );
    // An unsupported type, named.
    let e = run("table = \"cf_errors.t\"\norder_by = [\"id\"]", COLUMNS, "");
    assert_eq!(e.column.as_deref(), Some("note"));
    has(
        &e.to_string(),
        &[
            "has PostgreSQL type uuid, which cohortflow does not read",
            "::text",
        ],
    );
    // order_by not a result column.
    let e = run("table = \"cf_errors.t\"\norder_by = [\"nr\"]", &no_note, "");
    assert_eq!(e.column.as_deref(), Some("source.postgres.order_by"));
    has(&e.to_string(), &["\"nr\", which is not a column"]);
    // order_by that ties two rows.
    let e = run("table = \"cf_errors.t\"\norder_by = [\"id\"]", &no_note, "");
    assert_eq!(e.column.as_deref(), Some("source.postgres.order_by"));
    has(
        &e.to_string(),
        &["rows 1 and 2", "same id", "not stable", "primary key"],
    );
    // ... which a second column resolves.
    let src = pg_source(
        dir.path(),
        "",
        &format!(
            "table = \"cf_errors.t\"\norder_by = [\"id\", \"pid\"]\nconnection_env = \"{ENV}\""
        ),
        &no_note,
    );
    assert_eq!(ok(ingest(&src, &schema())).frame.height(), 2);
    // unmapped_columns = "error": the order_by column is used, `other` and `note` are not.
    let e = run(
        "table = \"cf_errors.t\"\norder_by = [\"id\", \"pid\"]",
        &no_note,
        "unmapped_columns = \"error\"",
    );
    assert_eq!(e.column.as_deref(), Some("source.unmapped_columns"));
    has(&e.to_string(), &["\"note\", \"other\""]);
    // A query with a syntax error.
    let e = run(
        "query = \"select * form cf_errors.t\"\norder_by = [\"id\"]",
        COLUMNS,
        "",
    );
    assert_eq!(e.column.as_deref(), Some("source.postgres.query"));
    has(&e.to_string(), &["syntax error", "42601"]);
    // No rows.
    let e = run(
        "query = \"select * from cf_errors.t where false\"\norder_by = [\"id\"]",
        &no_note,
        "",
    );
    has(&e.to_string(), &["has its columns but no rows"]);
}

/// Runs the ignored test `name` of this test binary alone in a child
/// process with `env` set (the parent's environment is left alone), and
/// returns its output; fails when the child fails.
fn in_child(name: &str, env: &[(&str, String)]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} failed:\n{text}");
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
    text
}

const CHILD: &str = "COHORTFLOW_TEST_PG_CHILD";

#[test]
fn a_wrong_password_or_an_unknown_host_is_named_without_the_password() {
    let Some(conn) =
        server("postgres::a_wrong_password_or_an_unknown_host_is_named_without_the_password")
    else {
        return;
    };
    let mut config: postgres::Config = conn.parse().unwrap();
    let wrong = "Wr0ng-Pa55word-91";
    config.password(wrong);
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_string();
    let db = config.get_dbname().unwrap_or("postgres").to_string();
    in_child(
        "postgres::child_connection_errors",
        &[
            (
                "COHORTFLOW_TEST_PG_WRONG",
                format!("host=127.0.0.1 port={port} user={user} dbname={db} password={wrong}"),
            ),
            (
                "COHORTFLOW_TEST_PG_NOHOST",
                format!("postgresql://{user}:{wrong}@no-such-host.invalid:{port}/{db}"),
            ),
            (CHILD, wrong.to_string()),
        ],
    );
}

#[test]
#[ignore = "run by a_wrong_password_or_an_unknown_host_is_named_without_the_password in a child process"]
fn child_connection_errors() {
    let Ok(wrong) = std::env::var(CHILD) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (var, expect) in [
        ("COHORTFLOW_TEST_PG_WRONG", "refused the login"),
        (
            "COHORTFLOW_TEST_PG_NOHOST",
            "cannot connect to the PostgreSQL server",
        ),
    ] {
        let src = pg_source(
            dir.path(),
            "",
            &format!("table = \"t\"\norder_by = [\"id\"]\nconnection_env = \"{var}\""),
            COLUMNS,
        );
        let e = err(ingest(&src, &schema()));
        let text = e.to_string();
        println!("{text}");
        assert_eq!(e.column.as_deref(), Some("source.postgres.connection_env"));
        has(&text, &[expect, var, "fix: check"]);
        assert!(!text.contains(&wrong), "the password is shown: {text}");
    }
}

#[test]
fn a_service_file_names_the_connection() {
    let Some(conn) = server("postgres::a_service_file_names_the_connection") else {
        return;
    };
    setup(
        &conn,
        "cf_service",
        "CREATE TABLE {s}.t (id int4, pid text, sex text, start date);
         INSERT INTO {s}.t VALUES (1, 'P-1', 'M', '2020-01-01');",
    );
    let config: postgres::Config = conn.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg_service.conf");
    std::fs::write(
        &file,
        format!(
            "# test service\n[other]\nhost=nowhere.invalid\n\n[cf_test]\nhost=127.0.0.1\nport={}\n\
             dbname={}\nuser={}\npassword={}\n",
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_dbname().unwrap_or("postgres"),
            config.get_user().unwrap_or("postgres"),
            String::from_utf8_lossy(config.get_password().unwrap_or_default()),
        ),
    )
    .unwrap();
    in_child(
        "postgres::child_service_file",
        &[
            ("PGSERVICEFILE", file.display().to_string()),
            (CHILD, "1".into()),
        ],
    );
}

#[test]
#[ignore = "run by a_service_file_names_the_connection in a child process"]
fn child_service_file() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let columns = "patient_id = \"pid\"\nsex = \"sex\"\nim_start = \"start\"\n";
    let src = pg_source(
        dir.path(),
        "",
        "table = \"cf_service.t\"\norder_by = [\"id\"]\nservice = \"cf_test\"",
        columns,
    );
    let out = ok(ingest(&src, &schema()));
    assert_eq!(col(&out.frame, "patient_id"), s(&[Some("P-1")]));
    let read = out.database.unwrap();
    assert_eq!(read.connection_from, "service cf_test");
    assert!(!read.connection.contains("password"));
    // A service the file does not have.
    let src = pg_source(
        dir.path(),
        "",
        "table = \"cf_service.t\"\norder_by = [\"id\"]\nservice = \"nope\"",
        columns,
    );
    let e = err(ingest(&src, &schema()));
    assert_eq!(e.column.as_deref(), Some("source.postgres.service"));
    has(&e.to_string(), &["no service [nope]", "pg_service.conf"]);
}

/// Rows of the streaming test, and the blanks after each row's note.
const MILLION: i64 = 1_000_000;
const PAD: usize = 1000;

#[test]
fn a_million_rows_stream_in_bounded_memory() {
    let Some(conn) = server("postgres::a_million_rows_stream_in_bounded_memory") else {
        return;
    };
    // Each row's note is one letter and 1000 blanks: the server sends
    // about 1 GB, the converter keeps the letter (values are trimmed). A
    // reader that held the rows would hold that gigabyte; one that streams
    // holds what it keeps.
    setup(
        &conn,
        "cf_million",
        &format!(
            "CREATE TABLE {{s}}.t AS SELECT i AS id, 'P-' || i AS pid,
                CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END AS sex,
                DATE '2020-01-01' + (i % 365)::int AS start,
                'n' || repeat(' ', {PAD}) AS note
             FROM generate_series(1, {MILLION}) AS i;
             ALTER TABLE {{s}}.t ADD PRIMARY KEY (id);"
        ),
    );
    let text = in_child("postgres::child_million", &[(CHILD, "1".into())]);
    let line = text
        .lines()
        .find_map(|l| l.find("million:").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no measurement in:\n{text}"));
    // Shown with --nocapture: the numbers docs/sources.md quotes.
    println!("{line}");
}

fn vm(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .expect("a Linux /proc/self/status")
}

#[test]
#[ignore = "run by a_million_rows_stream_in_bounded_memory in a child process of its own"]
fn child_million() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let columns = "patient_id = \"pid\"\nsex = \"sex\"\nim_start = \"start\"\nnote = \"note\"\n";
    let src = pg_source(
        dir.path(),
        "",
        "table = \"cf_million.t\"\norder_by = [\"id\"]\nconnection_env = \"COHORTFLOW_TEST_PG\"",
        columns,
    );
    let before = vm("VmRSS:");
    let start = std::time::Instant::now();
    let out = ok(ingest(&src, &schema()));
    let seconds = start.elapsed().as_secs_f64();
    let peak = vm("VmHWM:");
    assert_eq!(out.frame.height() as i64, MILLION);
    assert_eq!(out.account.rows_in, MILLION as u64);
    let r = rows(&out.frame);
    assert!(
        r.iter().copied().eq(1..=MILLION),
        "lines are the positions 1..=1,000,000"
    );
    assert_eq!(
        col(&out.frame, "patient_id")[999_999].as_deref(),
        Some("P-1000000")
    );
    assert_eq!(col(&out.frame, "note")[0].as_deref(), Some("n"));
    let streamed_mb = (MILLION as f64) * (PAD as f64 + 30.0) / 1e6;
    let grown_mb = (peak.saturating_sub(before)) as f64 / 1024.0;
    println!(
        "million: {MILLION} rows (about {streamed_mb:.0} MB from the server) in {seconds:.1} s; \
         peak RSS {:.0} MB, {grown_mb:.0} MB above the {:.0} MB before the read",
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    // Well under what holding the rows would take.
    assert!(
        grown_mb < streamed_mb * 0.6,
        "the read grew the process by {grown_mb:.0} MB for {streamed_mb:.0} MB streamed"
    );
}

//! Statistical files through a source: value labels mapped by label (the
//! default) or by code, labels that are levels mapped without `values`,
//! user-missing codes as nulls, dates as dates, record numbers as rows,
//! and the configuration checks.

use crate::{schema, source_file, statfile};
use cohortflow_ingest::{ingest, validate};

const SCHEMA: &str = r#"
name = "lung"

[[column]]
name = "id"
type = "integer"

[[column]]
name = "sex"
type = "category"
levels = ["M", "F"]
required = true

[[column]]
name = "status"
type = "category"
levels = ["censored", "dead"]

[[column]]
name = "ecog"
type = "integer"

[[column]]
name = "diagnosis"
type = "date"
required = true

[[column]]
name = "seen"
type = "date"

[[column]]
name = "note"
type = "string"
"#;

fn lung_source(dir: &std::path::Path, extra: &str, sex: &str) -> cohortflow_ingest::Source {
    let path = statfile("lung.sav");
    source_file(
        dir,
        &format!(
            "[source]\nname = \"lung\"\ncentre = \"L\"\nformat = \"spss\"\npath = {:?}\n{extra}\n\
             [source.columns]\nid = \"time\"\nsex = {sex}\nstatus = \"status\"\necog = \"ph_ecog\"\n\
             diagnosis = \"dx_date\"\nseen = \"dx_time\"\nnote = \"note\"\n",
            path.display().to_string()
        ),
    )
}

#[test]
fn labels_map_codes_and_missing_codes_are_null() {
    let dir = tempfile::tempdir().unwrap();
    let source = lung_source(
        dir.path(),
        "",
        "{ column = \"sex\", values = { \"Male\" = \"M\", \"Female\" = \"F\" } }",
    );
    let got = ingest(&source, &schema(SCHEMA)).unwrap();
    let f = &got.frame;
    assert_eq!(f.height(), 228);
    assert!(got.rejects.is_empty());
    // Record 1: time 306, status dead (2), male, ECOG 1, diagnosed 1965-06-15.
    let rows: Vec<i64> = f
        .column("source_row")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(rows[..3], [1, 2, 3], "rows are record numbers");
    let sex = cohortflow_core::table::as_text(f.column("sex").unwrap()).unwrap();
    let sex = sex.str().unwrap();
    assert_eq!(sex.get(0), Some("M"));
    assert_eq!(sex.iter().filter(|s| *s == Some("F")).count(), 90);
    // status: the labels are the levels; no `values` needed.
    let status = cohortflow_core::table::as_text(f.column("status").unwrap()).unwrap();
    let status = status.str().unwrap();
    assert_eq!(status.get(0), Some("dead"));
    assert_eq!(status.get(2), Some("censored"));
    // ph_ecog 9 is declared missing: null, not 9; ECOG is read as a code.
    let ecog = f.column("ecog").unwrap().i64().unwrap();
    assert_eq!(ecog.null_count(), 1);
    assert!(ecog.into_no_null_iter().all(|e| (0..=3).contains(&e)));
    let dx = f.column("diagnosis").unwrap().date().unwrap();
    assert_eq!(dx.phys.get(0), Some(-1661));
    // A datetime (13:45:30) gives its day.
    let seen = f.column("seen").unwrap().date().unwrap();
    assert_eq!(seen.phys.get(0), Some(-1661));
    // "н/д" is declared missing on the string variable.
    assert_eq!(f.column("note").unwrap().null_count(), 45);
}

#[test]
fn value_labels_codes_maps_codes() {
    let dir = tempfile::tempdir().unwrap();
    let s = SCHEMA.replace(
        "levels = [\"censored\", \"dead\"]",
        "levels = [\"1\", \"2\"]",
    );
    let source = lung_source(
        dir.path(),
        "value_labels = \"codes\"",
        "{ column = \"sex\", values = { \"1\" = \"M\", \"2\" = \"F\" } }",
    );
    let got = ingest(&source, &schema(&s)).unwrap();
    let status = cohortflow_core::table::as_text(got.frame.column("status").unwrap())
        .unwrap()
        .str()
        .unwrap()
        .clone();
    assert_eq!(status.get(0), Some("2"));
    assert_eq!(
        cohortflow_core::table::as_text(got.frame.column("sex").unwrap())
            .unwrap()
            .str()
            .unwrap()
            .get(0),
        Some("M")
    );
}

#[test]
fn an_unmapped_label_is_a_reject_naming_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let source = lung_source(
        dir.path(),
        "on_error = \"reject\"",
        "{ column = \"sex\", values = { \"Male\" = \"M\" } }",
    );
    let got = ingest(&source, &schema(SCHEMA)).unwrap();
    assert_eq!(got.frame.height(), 138);
    assert_eq!(got.rejects.len(), 90);
    assert!(got.rejects.iter().all(|r| r.columns == "sex"));
    assert_eq!(got.account.rows_in, 228);
    // Without rejects the run stops at the first, naming its record.
    let source = lung_source(
        dir.path(),
        "",
        "{ column = \"sex\", values = { \"Male\" = \"M\" } }",
    );
    let e = ingest(&source, &schema(SCHEMA)).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert_eq!(e.column.as_deref(), Some("sex"));
    assert_eq!(e.file, statfile("lung.sav"));
}

#[test]
fn a_variable_that_is_not_in_the_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let source = lung_source(dir.path(), "", "\"gender\"");
    let e = ingest(&source, &schema(SCHEMA)).unwrap_err();
    assert!(e.message.contains("\"gender\""), "{e}");
    assert!(e.message.contains("\"sex\""), "lists the variables: {e}");
    assert_eq!(e.line, None);
}

#[test]
fn statistical_sources_refuse_csv_options() {
    let dir = tempfile::tempdir().unwrap();
    let source = lung_source(
        dir.path(),
        "[source.csv]\nseparator = \";\"\nheader_row = 2\n",
        "\"sex\"",
    );
    let problems = validate(&source, &schema(SCHEMA));
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"source.csv.separator"), "{keys:?}");
    assert!(keys.contains(&"source.csv.header_row"), "{keys:?}");
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(dir2.path().join("a.csv"), "sex\nM\n").unwrap();
    let csv = source_file(
        dir2.path(),
        "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"csv\"\npath = \"a.csv\"\n\
         value_labels = \"codes\"\n[source.columns]\nsex = \"sex\"\ndiagnosis = \"d\"\n",
    );
    let problems = validate(&csv, &schema(SCHEMA));
    assert!(
        problems.iter().any(|p| p.key == "source.value_labels"),
        "{problems:?}"
    );
}

#[test]
fn stata_and_sas_files_read_through_sources() {
    let dir = tempfile::tempdir().unwrap();
    let s = schema(
        r#"
name = "m"
[[column]]
name = "status"
type = "category"
levels = ["melanoma", "alive", "other"]
required = true
[[column]]
name = "thickness"
type = "float"
unit = "mm"
[[column]]
name = "operated"
type = "date"
required = true
"#,
    );
    let source = source_file(
        dir.path(),
        &format!(
            "[source]\nname = \"m\"\ncentre = \"M\"\nformat = \"stata\"\npath = {:?}\n\
             [source.columns]\nstatus = {{ column = \"status\", values = {{ \"died of melanoma\" = \
             \"melanoma\", \"alive\" = \"alive\", \"died of other causes\" = \"other\" }} }}\n\
             thickness = \"thickness\"\noperated = \"op_date\"\n",
            statfile("melanoma.dta").display().to_string()
        ),
    );
    let got = ingest(&source, &s).unwrap();
    assert_eq!(got.frame.height(), 205);
    assert_eq!(got.frame.column("thickness").unwrap().null_count(), 26);
    let status = cohortflow_core::table::as_text(got.frame.column("status").unwrap())
        .unwrap()
        .str()
        .unwrap()
        .clone();
    assert_eq!(status.get(0), Some("other"));

    let s = schema(
        r#"
name = "g"
[[column]]
name = "sex"
type = "category"
levels = ["F", "M"]
required = true
[[column]]
name = "hgb"
type = "float"
[[column]]
name = "diagnosed"
type = "date"
required = true
"#,
    );
    for file in ["mgus2.xpt", "mgus2_v8.xpt"] {
        let source = source_file(
            dir.path(),
            &format!(
                "[source]\nname = \"g\"\ncentre = \"G\"\nformat = \"sas\"\npath = {:?}\n\
                 [source.columns]\nsex = \"sex\"\nhgb = \"hgb\"\ndiagnosed = \"dxdate\"\n",
                statfile(file).display().to_string()
            ),
        );
        let got = ingest(&source, &s).unwrap();
        assert_eq!(got.frame.height(), 1384, "{file}");
        assert_eq!(got.frame.column("hgb").unwrap().null_count(), 13, "{file}");
    }
}

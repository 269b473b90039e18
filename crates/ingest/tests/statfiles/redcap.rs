//! REDCap exports: choices as value maps (by label or code, raw or labels
//! export), checkbox columns as booleans, dates by validation type,
//! repeating instruments refused naming the instrument, and the errors of
//! a mapping the dictionary does not know.

use crate::{schema, source_file};
use cohortflow_ingest::{IngestError, Ingested, ingest, validate};

const DICTIONARY: &str = "\
Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number
record_id,baseline,,text,Record ID,,,
sex,baseline,,radio,Sex,\"1, Male | 2, Female\",,
stage,baseline,,dropdown,Stage,\"1, I | 2, II | 3, III | 4, IV | 9, Unknown\",,
dx_date,baseline,,text,Diagnosis date,,,date_dmy
seen,baseline,,text,Last seen,,,datetime_mdy
smoker,baseline,,yesno,Smoker,,,
mets,baseline,,checkbox,Metastases,\"1, Liver | 2, Peritoneum | 3, Lung\",,
visit_date,followup,,text,Visit date,,,date_ymd
";

const SCHEMA: &str = r#"
name = "r"
[[column]]
name = "id"
type = "string"
required = true
[[column]]
name = "sex"
type = "category"
levels = ["M", "F"]
required = true
[[column]]
name = "stage"
type = "category"
levels = ["I", "II", "III", "IV"]
[[column]]
name = "diagnosis"
type = "date"
required = true
[[column]]
name = "seen"
type = "date"
[[column]]
name = "smoker"
type = "boolean"
[[column]]
name = "liver"
type = "boolean"
[[column]]
name = "peritoneum"
type = "boolean"
"#;

const COLUMNS: &str = r#"
[source.columns]
id = "record_id"
sex = { column = "sex", values = { "Male" = "M", "Female" = "F" } }
stage = { column = "stage", missing = ["Unknown"] }
diagnosis = "dx_date"
seen = "seen"
smoker = "smoker"
liver = "mets___1"
peritoneum = "mets___2"
"#;

fn run(export: &str, columns: &str) -> Result<Ingested, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.csv"), export).unwrap();
    std::fs::write(dir.path().join("dictionary.csv"), DICTIONARY).unwrap();
    let source = source_file(
        dir.path(),
        &format!(
            "[source]\nname = \"r\"\ncentre = \"R\"\nformat = \"redcap\"\npath = \"export.csv\"\n\
             [source.redcap]\ndictionary = \"dictionary.csv\"\n{columns}"
        ),
    );
    ingest(&source, &schema(SCHEMA))
}

const RAW: &str = "\
record_id,sex,stage,dx_date,seen,smoker,mets___1,mets___2,mets___3,baseline_complete
1,1,3,2020-03-01,2021-05-06 14:30,1,1,0,0,2
2,2,9,2019-12-31,,0,0,1,1,2
3,2,,2018-01-15,2019-02-03 08:00,,0,0,0,1
";

const LABELS: &str = "\
record_id,sex,stage,dx_date,seen,smoker,mets___1,mets___2,mets___3,baseline_complete
1,Male,III,2020-03-01,2021-05-06 14:30,Yes,Checked,Unchecked,Unchecked,Complete
2,Female,Unknown,2019-12-31,,No,Unchecked,Checked,Checked,Complete
3,Female,,2018-01-15,2019-02-03 08:00,,Unchecked,Unchecked,Unchecked,Unverified
";

fn strs(got: &Ingested, col: &str) -> Vec<Option<String>> {
    cohortflow_core::table::as_text(got.frame.column(col).unwrap())
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn bools(got: &Ingested, col: &str) -> Vec<Option<bool>> {
    got.frame
        .column(col)
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn raw_and_labels_exports_read_the_same() {
    let raw = run(RAW, COLUMNS).unwrap();
    let labels = run(LABELS, COLUMNS).unwrap();
    for got in [&raw, &labels] {
        assert_eq!(got.frame.height(), 3);
        assert_eq!(
            strs(got, "sex"),
            [Some("M".into()), Some("F".into()), Some("F".into())]
        );
        // Stage labels are the levels: no `values` needed; "Unknown" (9)
        // is declared missing by its label.
        assert_eq!(strs(got, "stage"), [Some("III".into()), None, None]);
        assert_eq!(bools(got, "smoker"), [Some(true), Some(false), None]);
        assert_eq!(bools(got, "liver"), [Some(true), Some(false), Some(false)]);
        assert_eq!(
            bools(got, "peritoneum"),
            [Some(false), Some(true), Some(false)]
        );
        let dx = got.frame.column("diagnosis").unwrap().date().unwrap();
        assert_eq!(dx.phys.get(0), Some(18322)); // 2020-03-01
        let seen = got.frame.column("seen").unwrap().date().unwrap();
        assert_eq!(seen.phys.get(0), Some(18753)); // 2021-05-06
        // Rows are the export's lines, as in any CSV.
        let rows: Vec<i64> = got
            .frame
            .column("source_row")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(rows, [2, 3, 4]);
    }
    assert_eq!(raw.frame, labels.frame);
}

#[test]
fn dmy_dates_as_the_field_orders_them() {
    let export = RAW
        .replace("2020-03-01", "01-03-2020")
        .replace("2019-12-31", "31/12/2019");
    let got = run(&export, COLUMNS).unwrap();
    let dx = got.frame.column("diagnosis").unwrap().date().unwrap();
    assert_eq!(dx.phys.get(0), Some(18322));
    assert_eq!(dx.phys.get(1), Some(18261));
}

#[test]
fn a_code_that_is_no_choice_is_an_unknown_code() {
    let export = RAW.replace("\n2,2,9,", "\n2,7,9,");
    let e = run(&export, COLUMNS).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.column.as_deref(), Some("sex"));
    assert!(e.message.contains("none of the codes"), "{e}");
}

#[test]
fn repeating_instruments_are_refused_naming_the_instrument() {
    let export = "\
record_id,redcap_repeat_instrument,redcap_repeat_instance,sex,stage,dx_date,seen,smoker,mets___1,mets___2,mets___3,visit_date
1,,,1,3,2020-03-01,,1,1,0,0,
1,followup,1,,,,,,,,,2020-06-01
1,followup,2,,,,,,,,,2020-09-01
2,,,2,9,2019-12-31,,0,0,1,1,
";
    let e = run(export, COLUMNS).unwrap_err();
    assert!(e.message.contains("\"followup\""), "{e}");
    assert!(e.message.contains("2 repeated rows"), "{e}");
    assert_eq!(e.line, Some(3));
    assert!(e.fix.contains("instance"), "{}", e.fix);
    // Never a patient's value.
    assert!(!e.message.contains("2020-06-01"));
}

#[test]
fn a_checkbox_field_must_be_mapped_by_choice() {
    let columns = COLUMNS.replace("liver = \"mets___1\"", "liver = \"mets\"");
    let e = run(RAW, &columns).unwrap_err();
    assert!(e.message.contains("checkbox"), "{e}");
    assert!(e.message.contains("mets___1 (Liver)"), "{e}");
    assert!(e.file.ends_with("dictionary.csv"));
    assert_eq!(e.line, Some(8));
}

#[test]
fn a_column_the_dictionary_does_not_know_is_named() {
    let columns = COLUMNS.replace("smoker = \"smoker\"", "smoker = \"smokes\"");
    let e = run(RAW, &columns).unwrap_err();
    assert!(e.message.contains("\"smokes\""), "{e}");
    assert!(e.fix.contains("\"smoker\""), "{}", e.fix);
}

#[test]
fn choices_that_are_no_level_must_be_mapped() {
    let columns = COLUMNS.replace(
        "sex = { column = \"sex\", values = { \"Male\" = \"M\", \"Female\" = \"F\" } }",
        "sex = \"sex\"",
    );
    let e = run(RAW, &columns).unwrap_err();
    assert!(e.message.contains("1 = Male, 2 = Female"), "{e}");
    assert!(e.fix.contains("values"), "{}", e.fix);
}

#[test]
fn a_labels_header_export_is_refused() {
    let export = "Record ID,Sex,Stage\n1,Male,III\n";
    let e = run(export, COLUMNS).unwrap_err();
    assert!(e.message.contains("labels"), "{e}");
    assert!(e.fix.contains("raw variable names"), "{}", e.fix);
}

#[test]
fn the_dictionary_is_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.csv"), RAW).unwrap();
    let keys = |text: &str| -> Vec<String> {
        let source = source_file(dir.path(), text);
        validate(&source, &schema(SCHEMA))
            .into_iter()
            .map(|p| p.key)
            .collect()
    };
    let head = "[source]\nname = \"r\"\ncentre = \"R\"\npath = \"export.csv\"\n";
    // No dictionary named; a dictionary that is not there.
    let k = keys(&format!("{head}format = \"redcap\"\n{COLUMNS}"));
    assert!(k.contains(&"source.redcap".to_string()), "{k:?}");
    let k = keys(&format!(
        "{head}format = \"redcap\"\n[source.redcap]\ndictionary = \"nope.csv\"\n{COLUMNS}"
    ));
    assert!(k.contains(&"source.redcap.dictionary".to_string()), "{k:?}");
    // [source.redcap] on a CSV source.
    std::fs::write(dir.path().join("dictionary.csv"), DICTIONARY).unwrap();
    let k = keys(&format!(
        "{head}format = \"csv\"\n[source.redcap]\ndictionary = \"dictionary.csv\"\n{COLUMNS}"
    ));
    assert!(k.contains(&"source.redcap".to_string()), "{k:?}");
}

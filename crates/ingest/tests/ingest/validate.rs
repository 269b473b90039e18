use crate::common::*;
use cohortflow_core::ConfigProblem;
use cohortflow_ingest::{SourceFile, ingest, validate};

fn problems(source_body: &str) -> (tempfile::TempDir, Vec<ConfigProblem>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), "id\n").unwrap();
    let text = format!("[source]\npath = \"data.csv\"\n{source_body}");
    let src = source_file(dir.path(), &text);
    let p = validate(&src, &schema());
    (dir, p, text)
}

fn one(source_body: &str) -> (ConfigProblem, String) {
    let (_d, p, text) = problems(source_body);
    assert_eq!(p.len(), 1, "{p:#?}");
    (p.into_iter().next().unwrap(), text)
}

#[test]
fn a_complete_source_has_no_problem() {
    let (_d, p, _) = problems(BASIC);
    assert_eq!(p, vec![]);
}

#[test]
fn unknown_canonical_column_suggests_the_closest() {
    let (p, text) = one(&BASIC.replace("sex = \"sex\"", "sex = \"sex\"\nsexx = \"Пол\""));
    assert_eq!(p.key, "source.columns.sexx");
    assert_eq!(p.message, "'sexx' is not a column of schema 'test'");
    assert!(
        p.expected
            .starts_with("did you mean 'sex'? columns: patient_id, sex, age"),
        "{}",
        p.expected
    );
    let span = p.span.expect("span");
    assert_eq!(&text[span], "\"Пол\"");
}

#[test]
fn required_column_not_mapped() {
    let (p, _) = one(&BASIC.replace("im_start = \"start\"\n", ""));
    assert_eq!(p.key, "source.columns");
    assert_eq!(p.message, "required column 'im_start' is not mapped");
    has(
        &p.expected,
        &["add im_start = \"<its header in the export>\" to [source.columns] in"],
    );
}

#[test]
fn value_map_target_must_be_a_level() {
    let (p, text) = one(&BASIC.replace(
        "sex = \"sex\"",
        "sex = { column = \"sex\", values = { \"М\" = \"M\", \"Ж\" = \"W\" } }",
    ));
    assert_eq!(p.key, "source.columns.sex.values");
    assert_eq!(
        p.message,
        "code \"Ж\" maps to \"W\", which is not a level of 'sex'"
    );
    assert_eq!(p.expected, "one of the levels of 'sex': \"M\", \"F\"");
    assert!(text[p.span.unwrap()].starts_with("{ column = \"sex\""));
}

#[test]
fn boolean_value_map_targets_are_true_false() {
    let (p, _) = one(&BASIC.replace(
        "mets_liver = \"liver\"",
        "mets_liver = { column = \"liver\", values = { \"да\" = \"yes\" } }",
    ));
    assert_eq!(p.key, "source.columns.mets_liver.values");
    assert_eq!(
        p.message,
        "code \"да\" maps to \"yes\", which is not \"true\" or \"false\""
    );
}

#[test]
fn unit_on_a_non_numeric_column() {
    let (p, _) = one(&BASIC.replace("sex = \"sex\"", "sex = { column = \"sex\", unit = \"cm\" }"));
    assert_eq!(p.key, "source.columns.sex.unit");
    assert_eq!(
        p.message,
        "a unit is only for numeric columns, and 'sex' is category"
    );
}

#[test]
fn unit_of_another_dimension() {
    let (p, _) = one(&BASIC.replace(
        "tumor_size = \"size\"",
        "tumor_size = { column = \"size\", unit = \"kg\" }",
    ));
    assert_eq!(p.key, "source.columns.tumor_size.unit");
    assert_eq!(
        p.message,
        "unit kg does not measure the same thing as tumor_size's unit mm"
    );
}

#[test]
fn unit_where_the_schema_has_none() {
    let (p, _) = one(&BASIC.replace(
        "age = \"age\"",
        "age = { column = \"age\", unit = \"years\" }",
    ));
    assert_eq!(
        p.message,
        "schema column 'age' declares no unit to convert Years into"
    );
}

#[test]
fn invalid_and_incomplete_date_formats() {
    let (_d, p, _) =
        problems(&BASIC.replace("[\"%d.%m.%Y\"]", "[\"%d.%m.%Y\", \"%d.%Q\", \"%m.%Y\"]"));
    let got: Vec<(&str, &str)> = p
        .iter()
        .map(|p| (p.key.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "source.date_formats[1]",
                "'%d.%Q' is not a valid strftime format"
            ),
            (
                "source.date_formats[2]",
                "date format '%m.%Y' lacks a day (%d)"
            ),
        ]
    );
}

#[test]
fn column_date_formats_are_checked_and_only_for_dates() {
    let (_d, p, _) = problems(
        &BASIC
            .replace(
                "im_start = \"start\"",
                "im_start = { column = \"start\", date_formats = [\"%Y\"] }",
            )
            .replace(
                "age = \"age\"",
                "age = { column = \"age\", date_formats = [\"%Y-%m-%d\"] }",
            ),
    );
    let got: Vec<(&str, &str)> = p
        .iter()
        .map(|p| (p.key.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "source.columns.age.date_formats",
                "date formats on 'age', which is integer, not a date"
            ),
            (
                "source.columns.im_start.date_formats[0]",
                "date format '%Y' lacks a month (%m) and a day (%d)"
            ),
        ]
    );
}

#[test]
fn sheet_only_with_xlsx() {
    let (p, _) = one(&BASIC.replace("format = \"csv\"", "format = \"csv\"\nsheet = \"Лист1\""));
    assert_eq!(p.key, "source.sheet");
    assert_eq!(
        p.message,
        "`sheet` is only for xlsx sources, and this one is csv"
    );
}

#[test]
fn missing_data_file_names_the_resolved_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[source]\npath = \"exports/none.csv\"\n{BASIC}");
    let src = source_file(dir.path(), &text);
    let p = validate(&src, &schema());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].key, "source.path");
    assert_eq!(
        p[0].message,
        format!(
            "data file not found: {}",
            dir.path().join("exports/none.csv").display()
        )
    );
    assert_eq!(&text[p[0].span.clone().unwrap()], "\"exports/none.csv\"");
    // ingest refuses it too, located in the source file.
    let e = ingest(&src, &schema()).unwrap_err();
    assert_eq!(e.file, dir.path().join("source.toml"));
    assert_eq!(e.line, Some(2));
    assert_eq!(e.column.as_deref(), Some("source.path"));
    has(&e.message, &["data file not found"]);
}

#[test]
fn separator_must_be_ascii() {
    let (p, _) = one(&format!("{BASIC}\n[source.csv]\nseparator = \"→\"\n"));
    assert_eq!(p.key, "source.csv.separator");
    assert_eq!(
        p.message,
        "the separator '→' is not a single ASCII character"
    );
}

#[test]
fn typo_inside_a_column_table_is_named() {
    let text = "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"csv\"\npath = \"x.csv\"\n\
                [source.columns]\nsex = { colum = \"Пол\" }\n";
    let e = toml::from_str::<SourceFile>(text).unwrap_err().to_string();
    has(
        &e,
        &[
            "unknown field `colum`, expected one of `column`, `values`, `unit`, `date_formats`, `missing`",
        ],
    );
}

#[test]
fn typo_in_the_source_table_is_named() {
    let text = "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"csv\"\npath = \"x.csv\"\nsheeet = \"x\"\n";
    let e = toml::from_str::<SourceFile>(text).unwrap_err().to_string();
    has(&e, &["unknown field `sheeet`"]);
}

#[test]
fn wrong_type_of_mapping_says_what_is_expected() {
    let text = "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"csv\"\npath = \"x.csv\"\n\
                [source.columns]\nsex = 3\n";
    let e = toml::from_str::<SourceFile>(text).unwrap_err().to_string();
    has(
        &e,
        &["expected a header name (\"Пол\") or a table { column = \"Пол\""],
    );
}

#[test]
fn both_mapping_forms_and_defaults_parse() {
    let text = "[source]\nname = \"a\"\ncentre = \"A\"\nformat = \"xlsx\"\npath = \"x.xlsx\"\n\
                [source.columns]\nsex = \"Пол\"\nage = { column = \"Возраст\", missing = [\"?\"] }\n";
    let f: SourceFile = toml::from_str(text).unwrap();
    let c = &f.source;
    assert_eq!(c.columns["sex"].get_ref().column, "Пол");
    assert_eq!(c.columns["sex"].get_ref().values, None);
    assert_eq!(c.columns["age"].get_ref().missing, vec!["?".to_string()]);
    assert_eq!(c.csv, cohortflow_ingest::CsvDialect::default());
    assert_eq!(c.csv.separator, ',');
    assert_eq!(c.csv.header_row, 1);
    assert_eq!(c.on_error, cohortflow_ingest::OnError::Fail);
    assert_eq!(c.unmapped_columns, cohortflow_ingest::Unmapped::Ignore);
}

#[test]
fn csv_only_options_on_another_format() {
    let (p, _) = one(&format!(
        "{}\n[source.csv]\nseparator = \";\"\n",
        BASIC.replace("format = \"csv\"", "format = \"xlsx\"")
    ));
    assert_eq!(p.key, "source.csv.separator");
    assert_eq!(
        p.message,
        "`separator` is only for csv sources, and this one is xlsx"
    );
}

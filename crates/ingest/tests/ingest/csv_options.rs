use crate::common::*;
use cohortflow_ingest::ingest;

const DATA: &str = "id,sex,age,size,start,liver\n\
                    p1,M,61,12.5,01.02.2020,true\n\
                    p2,F,,,15.03.2019,false\n";

#[test]
fn comma_csv_gives_the_canonical_frame() {
    let (_d, r) = run_csv(DATA, BASIC);
    let out = ok(r);
    let df = &out.frame;
    assert_eq!(
        df.schema().as_ref(),
        &schema().polars_schema(&["center_a".to_string()])
    );
    assert_eq!(col(df, "source"), s(&[Some("center_a"), Some("center_a")]));
    assert_eq!(rows(df), vec![2, 3]);
    assert_eq!(col(df, "patient_id"), s(&[Some("p1"), Some("p2")]));
    assert_eq!(col(df, "sex"), s(&[Some("M"), Some("F")]));
    assert_eq!(col(df, "age"), s(&[Some("61"), None]));
    assert_eq!(col(df, "tumor_size"), s(&[Some("12.5"), None]));
    assert_eq!(
        col(df, "im_start"),
        s(&[Some("2020-02-01"), Some("2019-03-15")])
    );
    assert_eq!(col(df, "mets_liver"), s(&[Some("true"), Some("false")]));
    // Not mapped by the source: all null, still typed.
    assert_eq!(col(df, "note"), s(&[None, None]));
    assert!(out.rejects.is_empty());
    assert_eq!(out.account.stage, "ingest");
    assert_eq!(out.account.source, "center_a");
    assert_eq!((out.account.rows_in, out.account.rows_out), (2, 2));
    assert!(out.account.outcomes.is_empty());
}

fn with_separator(sep: char, toml_sep: &str) {
    let data = DATA.replace(',', &sep.to_string());
    let (_d, r) = run_csv(
        &data,
        &format!("{BASIC}\n[source.csv]\nseparator = {toml_sep}\n"),
    );
    let df = ok(r).frame;
    assert_eq!(
        col(&df, "tumor_size"),
        s(&[Some("12.5"), None]),
        "separator {sep:?}"
    );
    assert_eq!(col(&df, "mets_liver"), s(&[Some("true"), Some("false")]));
}

#[test]
fn semicolon_separator() {
    with_separator(';', "\";\"");
}

#[test]
fn tab_separator() {
    with_separator('\t', "\"\\t\"");
}

#[test]
fn pipe_separator() {
    with_separator('|', "\"|\"");
}

#[test]
fn default_separator_does_not_split_semicolons() {
    let data = DATA.replace(',', ";");
    let (_d, r) = run_csv(&data, BASIC);
    let e = err(r);
    has(
        &e.message,
        &[
            "column \"id\" (mapped to patient_id) is not in the header on line 1",
            "line 1 is probably not the header line (its 1 cells are not shown",
            "A header contains ';': is the separator ';'?",
        ],
    );
}

#[test]
fn custom_quote_protects_separator_and_newline() {
    let data = "id,sex,age,size,start,liver,comment\n\
                'p,1',M,61,1.5,01.02.2020,true,'two\nlines'\n\
                p2,F,40,2,02.02.2020,false,x\n";
    let (_d, r) = run_csv(
        data,
        &format!("{BASIC}\n[source.csv]\nquote = \"'\"\nmultiline_fields = true\n"),
    );
    let df = ok(r).frame;
    assert_eq!(col(&df, "patient_id"), s(&[Some("p,1"), Some("p2")]));
    // The quoted line break puts the second record on line 4, not 3.
    assert_eq!(rows(&df), vec![2, 4]);
}

#[test]
fn double_quote_embedded_newline_moves_the_next_line() {
    let data = "id,sex,age,size,start,liver\n\
                \"p\n1\n\",M,61,1.5,01.02.2020,true\n\
                p2,F,40,2,02.02.2020,false\n";
    let (_d, r) = run_csv(
        data,
        &format!("{BASIC}\n[source.csv]\nmultiline_fields = [\"patient_id\"]\n"),
    );
    let df = ok(r).frame;
    assert_eq!(col(&df, "patient_id"), s(&[Some("p\n1"), Some("p2")]));
    assert_eq!(rows(&df), vec![2, 5]);
}

#[test]
fn decimal_comma() {
    let data = "id;sex;age;size;start;liver\np1;M;61;7,5;01.02.2020;true\np2;F;40;-0,25;02.02.2020;false\n";
    let (_d, r) = run_csv(
        data,
        &format!("{BASIC}\n[source.csv]\nseparator = \";\"\ndecimal_comma = true\n"),
    );
    let df = ok(r).frame;
    assert_eq!(col(&df, "tumor_size"), s(&[Some("7.5"), Some("-0.25")]));
}

const RU_SOURCE: &str = r#"
name = "center_b"
centre = "Центр Б"
format = "csv"
date_formats = ["%d.%m.%Y"]
missing = ["н/д"]

[source.csv]
separator = ";"
decimal_comma = true
encoding = "windows-1251"

[source.columns]
patient_id = "Код"
sex = { column = "Пол", values = { "М" = "M", "Ж" = "F" } }
im_start = "Начало"
tumor_size = "Размер"
"#;

const RU_DATA: &str = "Код;Пол;Начало;Размер\nА-1;М;01.02.2020;н/д\nА-2;Ж;03.04.2021;7,5\n";

#[test]
fn windows_1251_is_transcoded() {
    let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(RU_DATA);
    assert!(!bad);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file must not be UTF-8"
    );
    let (_d, r) = run_csv_bytes(&bytes, RU_SOURCE);
    let df = ok(r).frame;
    assert_eq!(col(&df, "patient_id"), s(&[Some("А-1"), Some("А-2")]));
    assert_eq!(col(&df, "sex"), s(&[Some("M"), Some("F")]));
    assert_eq!(
        col(&df, "im_start"),
        s(&[Some("2020-02-01"), Some("2021-04-03")])
    );
    assert_eq!(col(&df, "tumor_size"), s(&[None, Some("7.5")]));
}

#[test]
fn utf8_source_reads_the_same_file_in_utf8() {
    let src = RU_SOURCE.replace("encoding = \"windows-1251\"", "encoding = \"utf-8\"");
    let (_d, r) = run_csv(RU_DATA, &src);
    assert_eq!(col(&ok(r).frame, "sex"), s(&[Some("M"), Some("F")]));
}

#[test]
fn missing_code_in_a_required_column_is_an_error() {
    let data = "Код;Пол;Начало;Размер\nА-1;М;н/д;1\n";
    let src = RU_SOURCE.replace("encoding = \"windows-1251\"", "encoding = \"utf-8\"");
    let (_d, r) = run_csv(data, &src);
    let e = err(r);
    assert_eq!(e.message, "'im_start' is required but the value is missing");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.column.as_deref(), Some("Начало"));
    assert_eq!(e.value, None, "values are shown only with --show-values");
}

#[test]
fn bom_is_stripped_from_the_first_header() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(DATA.as_bytes());
    let (_d, r) = run_csv_bytes(&bytes, BASIC);
    assert_eq!(
        col(&ok(r).frame, "patient_id"),
        s(&[Some("p1"), Some("p2")])
    );
}

#[test]
fn missing_codes_global_and_per_column_become_null() {
    let data = "id,sex,age,size,start,liver\np1,M,NA,?,01.02.2020,NA\np2,F,-,3,02.02.2020,\n";
    let src = BASIC
        .replace("date_formats", "missing = [\"NA\"]\ndate_formats")
        .replace(
            "age = \"age\"",
            "age = { column = \"age\", missing = [\"-\"] }",
        )
        .replace(
            "tumor_size = \"size\"",
            "tumor_size = { column = \"size\", missing = [\"?\"] }",
        );
    let (_d, r) = run_csv(data, &src);
    let df = ok(r).frame;
    assert_eq!(col(&df, "age"), s(&[None, None]));
    assert_eq!(col(&df, "tumor_size"), s(&[None, Some("3.0")]));
    assert_eq!(col(&df, "mets_liver"), s(&[None, None]));
}

#[test]
fn header_row_skips_leading_lines() {
    let data = format!("Registry export\nexported 2024-01-01\n{DATA}");
    let (_d, r) = run_csv(&data, &format!("{BASIC}\n[source.csv]\nheader_row = 3\n"));
    let df = ok(r).frame;
    assert_eq!(col(&df, "patient_id"), s(&[Some("p1"), Some("p2")]));
    assert_eq!(rows(&df), vec![4, 5]);
}

#[test]
fn date_formats_in_order_and_excel_serial_text() {
    let data = "id,sex,start\np1,M,2020-02-01\np2,F,01.02.2020\np3,F,43831\n";
    let src = r#"
name = "c"
centre = "C"
format = "csv"
date_formats = ["%Y-%m-%d", "%d.%m.%Y", "excel-serial"]
[source.columns]
patient_id = "id"
sex = "sex"
im_start = "start"
"#;
    let (_d, r) = run_csv(data, src);
    let df = ok(r).frame;
    assert_eq!(
        col(&df, "im_start"),
        s(&[Some("2020-02-01"), Some("2020-02-01"), Some("2020-01-01")])
    );
}

#[test]
fn column_date_formats_replace_the_source_ones() {
    let data = "id,sex,start\np1,M,02/01/2020\n";
    let src = BASIC
        .replace(
            "im_start = \"start\"",
            "im_start = { column = \"start\", date_formats = [\"%m/%d/%Y\"] }",
        )
        .replace("age = \"age\"\ntumor_size = \"size\"\n", "")
        .replace("mets_liver = \"liver\"\n", "");
    let (_d, r) = run_csv(data, &src);
    assert_eq!(col(&ok(r).frame, "im_start"), s(&[Some("2020-02-01")]));
}

#[test]
fn default_date_format_is_iso() {
    let data = "id,sex,start\np1,M,2020-02-01\n";
    let src = "name = \"c\"\ncentre = \"C\"\nformat = \"csv\"\n[source.columns]\npatient_id = \"id\"\nsex = \"sex\"\nim_start = \"start\"\n";
    let (_d, r) = run_csv(data, src);
    assert_eq!(col(&ok(r).frame, "im_start"), s(&[Some("2020-02-01")]));
}

#[test]
fn value_maps_translate_codes() {
    let data = "id,sex,start,liver\np1,муж,01.02.2020,да\np2,жен,01.02.2020,нет\n";
    let src = BASIC
        .replace("sex = \"sex\"", "sex = { column = \"sex\", values = { \"муж\" = \"M\", \"жен\" = \"F\" } }")
        .replace(
            "mets_liver = \"liver\"",
            "mets_liver = { column = \"liver\", values = { \"да\" = \"true\", \"нет\" = \"false\" } }",
        )
        .replace("age = \"age\"\ntumor_size = \"size\"\n", "");
    let (_d, r) = run_csv(data, &src);
    let df = ok(r).frame;
    assert_eq!(col(&df, "sex"), s(&[Some("M"), Some("F")]));
    assert_eq!(col(&df, "mets_liver"), s(&[Some("true"), Some("false")]));
}

#[test]
fn units_cm_are_converted_to_mm() {
    let data =
        "id,sex,age,size,start,liver\np1,M,61,1.25,01.02.2020,true\np2,F,61,4,01.02.2020,true\n";
    let src = BASIC.replace(
        "tumor_size = \"size\"",
        "tumor_size = { column = \"size\", unit = \"cm\" }",
    );
    let (_d, r) = run_csv(data, &src);
    assert_eq!(
        col(&ok(r).frame, "tumor_size"),
        s(&[Some("12.5"), Some("40.0")])
    );
}

#[test]
fn units_mm_are_kept() {
    let data = "id,sex,age,size,start,liver\np1,M,61,12.5,01.02.2020,true\n";
    let src = BASIC.replace(
        "tumor_size = \"size\"",
        "tumor_size = { column = \"size\", unit = \"mm\" }",
    );
    let (_d, r) = run_csv(data, &src);
    assert_eq!(col(&ok(r).frame, "tumor_size"), s(&[Some("12.5")]));
}

#[test]
fn integers_accept_whole_decimals_and_booleans_accept_0_1() {
    let data =
        "id,sex,age,size,start,liver\np1,M,61.0,1,01.02.2020,1\np2,F,+7,1,01.02.2020,FALSE\n";
    let (_d, r) = run_csv(data, BASIC);
    let df = ok(r).frame;
    assert_eq!(col(&df, "age"), s(&[Some("61"), Some("7")]));
    assert_eq!(col(&df, "mets_liver"), s(&[Some("true"), Some("false")]));
}

#[test]
fn blank_lines_of_separators_are_set_aside_not_failed() {
    let data =
        "id,sex,age,size,start,liver\np1,M,61,1,01.02.2020,true\n,,,,,\np2,F,1,1,01.02.2020,true\n";
    let (_d, r) = run_csv(data, BASIC);
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![2, 4]);
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(
        (out.rejects[0].source_row, out.rejects[0].rule.as_str()),
        (3, "blank row")
    );
    assert_eq!(out.account.rows_in, 3);
    assert_eq!(
        out.account.outcomes,
        vec![(
            cohortflow_core::ledger::Outcome::Rejected,
            "blank row".to_string(),
            1
        )]
    );
}

#[test]
fn source_toml_path_is_relative_to_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("exports")).unwrap();
    std::fs::write(dir.path().join("exports/a.csv"), DATA).unwrap();
    let src = source_file(
        dir.path(),
        &format!("[source]\npath = \"exports/a.csv\"\n{BASIC}"),
    );
    assert_eq!(src.data_path(), dir.path().join("exports/a.csv"));
    assert_eq!(ingest(&src, &schema()).unwrap().frame.height(), 2);
}

#[test]
fn crlf_line_numbers() {
    let data = DATA.replace('\n', "\r\n") + "p3,F,1,1,01.01.2020,true\r\n";
    let (_d, r) = run_csv(&data, BASIC);
    assert_eq!(rows(&ok(r).frame), vec![2, 3, 4]);
    // A quoted CRLF inside a field, and a header on line 2.
    let data = "title\r\nid,sex,age,size,start,liver\r\n\"p\r\n1\",M,1,1,01.01.2020,true\r\np2,F,1,1,01.01.2020,true\r\n";
    let (_d, r) = run_csv(
        data,
        &format!("{BASIC}\n[source.csv]\nheader_row = 2\nmultiline_fields = [\"patient_id\"]\n"),
    );
    let df = ok(r).frame;
    assert_eq!(rows(&df), vec![3, 5]);
    // Line ends are normalised: the CRLF inside the field is read as \n.
    assert_eq!(col(&df, "patient_id"), s(&[Some("p\n1"), Some("p2")]));
}

use crate::common::*;

const HEAD: &str = "id,sex,age,size,start,liver\n";

fn one_row(row: &str) -> cohortflow_ingest::IngestError {
    let (_d, r) = run_csv(&format!("{HEAD}p0,M,1,1,01.01.2020,true\n{row}\n"), BASIC);
    err(r)
}

#[test]
fn missing_mapped_column_lists_the_headers_found() {
    let (d, r) = run_csv("id,gender,age,size,start,liver\n", BASIC);
    let e = err(r);
    assert_eq!(
        e.message,
        "column \"sex\" (mapped to sex) is not in the header on line 1; headers found: \"id\", \
         \"gender\", \"age\", \"size\", \"start\", \"liver\""
    );
    assert_eq!(e.file, d.path().join("data.csv"));
    assert_eq!(e.line, Some(1));
    assert_eq!(e.column.as_deref(), Some("sex"));
    has(
        &e.fix,
        &[
            "correct column = \"sex\" for sex in [source.columns] of",
            "source.toml",
        ],
    );
}

#[test]
fn missing_column_suggests_a_close_header() {
    let (_d, r) = run_csv("id,Sex,age,size,start,liver\n", BASIC);
    has(&err(r).fix, &["did you mean \"Sex\"?"]);
}

#[test]
fn duplicated_mapped_header() {
    let (_d, r) = run_csv("id,sex,age,size,start,liver,start\n", BASIC);
    let e = err(r);
    assert_eq!(
        e.message,
        "header \"start\" (mapped to im_start) appears 2 times on line 1, in columns 5, 7"
    );
    assert_eq!(e.column.as_deref(), Some("start"));
}

#[test]
fn duplicated_unmapped_header_is_fine() {
    let (_d, r) = run_csv(
        "id,sex,x,x,start\np1,M,1,2,01.01.2020\n",
        &BASIC
            .replace("age = \"age\"\ntumor_size = \"size\"\n", "")
            .replace("mets_liver = \"liver\"\n", ""),
    );
    assert_eq!(ok(r).frame.height(), 1);
}

#[test]
fn unmapped_extra_column_with_error_policy() {
    let src = BASIC.replace("date_formats", "unmapped_columns = \"error\"\ndate_formats");
    let (_d, r) = run_csv("id,sex,age,size,start,liver,Комментарий,\n", &src);
    let e = err(r);
    assert_eq!(
        e.message,
        "headers are not mapped to any canonical column (unmapped_columns = \"error\"): \
         \"Комментарий\", column 8 (no header)"
    );
    has(&e.fix, &["or set unmapped_columns = \"ignore\""]);
    // The default ignores them.
    let (_d, r) = run_csv(
        "id,sex,age,size,start,liver,Комментарий\np1,M,1,1,01.01.2020,true,note\n",
        BASIC,
    );
    assert_eq!(ok(r).frame.height(), 1);
}

#[test]
fn ragged_row_names_its_line() {
    let e = one_row("p1,M,1,1,01.01.2020");
    assert_eq!(e.message, "line 3 has 5 fields but the header has 6");
    assert_eq!(e.line, Some(3));
    has(&e.fix, &["quote fields that contain the separator ','"]);
}

#[test]
fn bad_utf8_names_the_line_and_suggests_windows_1251() {
    let mut bytes = format!("{HEAD}p1,M,1,1,01.01.2020,true\n").into_bytes();
    bytes.extend_from_slice(b"p2,\xcc,1,1,01.01.2020,true\n");
    let (_d, r) = run_csv_bytes(&bytes, BASIC);
    let e = err(r);
    assert_eq!(
        e.message,
        "the file is not valid UTF-8 (byte 0xCC on line 3)"
    );
    assert_eq!(e.line, Some(3));
    has(&e.fix, &["set encoding = \"windows-1251\" in [source.csv]"]);
}

#[test]
fn cp1251_file_read_as_utf8() {
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Код;Пол;Начало\nА-1;М;01.02.2020\n");
    let src = "name = \"c\"\ncentre = \"C\"\nformat = \"csv\"\n[source.csv]\nseparator = \";\"\n\
               [source.columns]\npatient_id = \"Код\"\nsex = \"Пол\"\nim_start = \"Начало\"\n";
    let (_d, r) = run_csv_bytes(&bytes, src);
    let e = err(r);
    assert_eq!(
        e.message,
        "the file is not valid UTF-8 (byte 0xCA on line 1)"
    );
    has(&e.fix, &["encoding = \"windows-1251\""]);
}

#[test]
fn utf8_file_read_as_cp1251_says_so() {
    let src = "name = \"c\"\ncentre = \"C\"\nformat = \"csv\"\n[source.csv]\nseparator = \";\"\n\
               encoding = \"windows-1251\"\n\
               [source.columns]\npatient_id = \"Код\"\nsex = \"Пол\"\nim_start = \"Начало\"\n";
    let (_d, r) = run_csv("Код;Пол;Начало\nА-1;М;01.02.2020\n", src);
    let e = err(r);
    has(
        &e.message,
        &[
            "column \"Код\" (mapped to patient_id) is not in the header on line 1, and neither is any other of the 3 mapped columns",
            "the file is probably UTF-8; set encoding = \"utf-8\" in [source.csv]",
        ],
    );
}

#[test]
fn double_encoded_headers_are_recognised() {
    let src = "name = \"c\"\ncentre = \"C\"\nformat = \"csv\"\n[source.csv]\nseparator = \";\"\n\
               [source.columns]\npatient_id = \"Код\"\nsex = \"Пол\"\nim_start = \"Начало\"\n";
    let (_d, r) = run_csv("РљРѕРґ;РџРѕР»;РќР°С‡Р°Р»Рѕ\n", src);
    has(
        &err(r).message,
        &[
            "look like UTF-8 text that was decoded as windows-1251",
            "\"Код\"",
        ],
    );
}

#[test]
fn unknown_code_names_file_line_column_codes_and_fix_but_no_value() {
    let data = "id,sex,start\np1,М,01.02.2020\np2,X,01.02.2020\n";
    let src = "name = \"c\"\ncentre = \"C\"\nformat = \"csv\"\ndate_formats = [\"%d.%m.%Y\"]\n\
               [source.columns]\npatient_id = \"id\"\nsex = { column = \"sex\", values = { \"М\" = \"M\", \"Ж\" = \"F\" } }\n\
               im_start = \"start\"\n";
    let (d, r) = run_csv(data, src);
    let e = err(r);
    assert_eq!(
        e.message,
        "the value is none of the codes of 'sex' (known codes: \"Ж\", \"М\")"
    );
    assert_eq!(
        (e.line, e.column.as_deref(), e.value.as_deref()),
        (Some(3), Some("sex"), None)
    );
    assert_eq!(e.file, d.path().join("data.csv"));
    assert!(
        e.fix.starts_with(&format!(
            "add the code as \"<code>\" = \"...\" to [source.columns.sex.values] in {}",
            d.path().join("source.toml").display()
        )),
        "{}",
        e.fix
    );
    has(&e.fix, &["--show-values"]);
    let shown = e.to_string();
    has(
        &shown,
        &[
            "data.csv:3: the value is none of the codes",
            "(column 'sex')",
        ],
    );
    // (The temporary folder's random name may hold an X: look for the value.)
    assert!(!shown.contains("'X'"), "{shown}");
    // With --show-values (a local look at the data) the value is named.
    let src = source_in(d.path(), "data.csv", data.as_bytes(), src);
    let shown = cohortflow_ingest::ingest_with(
        &src,
        &schema(),
        cohortflow_ingest::IngestOptions {
            show_values: true,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    has(&shown, &["(column 'sex', value 'X')"]);
}

#[test]
fn category_without_map_must_be_a_level() {
    let e = one_row("p1,m,1,1,01.01.2020,true");
    assert_eq!(
        e.message,
        "the value is not a level of 'sex' (levels: \"M\", \"F\")"
    );
    has(
        &e.fix,
        &["add \"<code>\" = \"<level>\" to [source.columns.sex.values]"],
    );
}

#[test]
fn unparseable_date() {
    let e = one_row("p1,M,1,1,2020/01/02,true");
    assert_eq!(
        e.message,
        "the value matches none of the date formats \"%d.%m.%Y\" of 'im_start'"
    );
    assert_eq!((e.line, e.column.as_deref()), (Some(3), Some("start")));
    assert!(!e.fix.contains("excel-serial"), "{}", e.fix);
}

#[test]
fn impossible_date_31_february() {
    let e = one_row("p1,M,1,1,31.02.2020,true");
    assert_eq!(
        e.message,
        "the value has the shape of %d.%m.%Y but there is no such day"
    );
}

#[test]
fn two_digit_year_is_refused() {
    let e = one_row("p1,M,1,1,01.02.20,true");
    assert_eq!(
        e.message,
        "the value reads as a date in a year outside 1900-2100 (two-digit year?)"
    );
    has(&e.fix, &["read two-digit years with %y"]);
}

#[test]
fn number_in_a_date_column_needs_excel_serial() {
    let e = one_row("p1,M,1,1,43831,true");
    assert_eq!(
        e.message,
        "the value matches none of the date formats \"%d.%m.%Y\" of 'im_start'"
    );
    has(
        &e.fix,
        &["if the export stores dates as Excel serial numbers, add \"excel-serial\""],
    );
}

#[test]
fn decimal_comma_where_points_are_expected() {
    let e = one_row("p1,M,1,\"7,5\",01.01.2020,true");
    assert_eq!(
        e.message,
        "the value is not a number for 'tumor_size': it has a comma: a decimal comma or a thousands \
         separator, but the source reads decimal points"
    );
    has(
        &e.fix,
        &["set decimal_comma = true in [source.csv] of", "source.toml"],
    );
}

#[test]
fn decimal_point_where_commas_are_expected() {
    let data =
        "id;sex;age;size;start;liver\np1;M;1;7,5;01.01.2020;true\np2;M;1;7.5;01.01.2020;true\n";
    let (_d, r) = run_csv(
        data,
        &format!("{BASIC}\n[source.csv]\nseparator = \";\"\ndecimal_comma = true\n"),
    );
    let e = err(r);
    assert_eq!(
        e.message,
        "the value is not a number for 'tumor_size': it has a decimal point, but the source declares \
         decimal_comma = true"
    );
    assert_eq!(e.line, Some(3));
}

#[test]
fn thousands_separator_is_refused() {
    let e = one_row("p1,M,1,1 234,01.01.2020,true");
    has(&e.message, &["thousands separators are not accepted"]);
}

#[test]
fn fractional_integer_is_refused() {
    let e = one_row("p1,M,29.5,1,01.01.2020,true");
    assert_eq!(
        e.message,
        "the value is not a whole number, and 'age' is an integer column"
    );
}

#[test]
fn text_in_a_number_column() {
    let e = one_row("p1,M,old,1,01.01.2020,true");
    assert_eq!(
        e.message,
        "the value is not a number for 'age': it is not a number"
    );
}

#[test]
fn bad_boolean() {
    let e = one_row("p1,M,1,1,01.01.2020,maybe");
    assert_eq!(e.message, "the value is not true/false for 'mets_liver'");
}

#[test]
fn header_row_beyond_the_file() {
    let (_d, r) = run_csv("id\n", &format!("{BASIC}\n[source.csv]\nheader_row = 5\n"));
    assert_eq!(
        err(r).message,
        "header_row = 5 but the file has fewer lines"
    );
}

#[test]
fn empty_file() {
    let (_d, r) = run_csv("", BASIC);
    assert_eq!(err(r).message, "the file has no header line (it is empty)");
}

#[test]
fn utf16_file_with_bom_is_read_as_utf16() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "id,sex\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let (_d, r) = run_csv_bytes(&bytes, BASIC);
    // Decoded: the header is read, and the unmapped columns are named.
    let e = err(r);
    has(
        &e.message,
        &[
            "column \"age\" (mapped to age) is not in the header on line 1; headers found: \"id\", \"sex\"",
        ],
    );
}

use crate::common::*;
use cohortflow_ingest::ingest;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::Path;

const SOURCE: &str = r#"
name = "center_x"
centre = "Centre X"
format = "xlsx"
date_formats = ["%d.%m.%Y"]

[source.columns]
patient_id = "ID"
sex = { column = "Пол", values = { "М" = "M", "Ж" = "F" } }
age = "Возраст"
tumor_size = { column = "Размер", unit = "cm" }
im_start = "Начало"
mets_liver = "Печень"
"#;

/// Writes a workbook: sheet "Notes" first, then "Данные" with a title in row
/// 1, the header in row 2 and data from row 3 (row 5 left blank, row 6 data).
fn workbook(path: &Path) {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "nothing here").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Данные").unwrap();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    ws.write_string(0, 0, "Выгрузка регистра").unwrap();
    for (c, h) in ["ID", "Пол", "Возраст", "Размер", "Начало", "Печень"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    // A date cell, integers as numbers, a number in cm, a real boolean.
    ws.write_string(2, 0, "x1").unwrap();
    ws.write_string(2, 1, "М").unwrap();
    ws.write_number(2, 2, 61.0).unwrap();
    ws.write_number(2, 3, 4.5).unwrap();
    ws.write_datetime_with_format(2, 4, ExcelDateTime::from_ymd(2020, 2, 1).unwrap(), &date)
        .unwrap();
    ws.write_boolean(2, 5, true).unwrap();
    // A date typed as text, a size as text.
    ws.write_number(3, 0, 1002.0).unwrap();
    ws.write_string(3, 1, "Ж").unwrap();
    ws.write_string(3, 3, "1.2").unwrap();
    ws.write_string(3, 4, "15.03.2019").unwrap();
    ws.write_boolean(3, 5, false).unwrap();
    // Row 5 (index 4) blank; row 6 data.
    ws.write_string(5, 0, "x3").unwrap();
    ws.write_string(5, 1, "Ж").unwrap();
    ws.write_datetime_with_format(5, 4, ExcelDateTime::from_ymd(2021, 12, 31).unwrap(), &date)
        .unwrap();
    wb.save(path).unwrap();
}

fn run(
    src: &str,
) -> (
    tempfile::TempDir,
    Result<cohortflow_ingest::Ingested, cohortflow_ingest::IngestError>,
) {
    let dir = tempfile::tempdir().unwrap();
    workbook(&dir.path().join("data.xlsx"));
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{src}"),
    );
    let r = ingest(&s, &schema());
    (dir, r)
}

fn on_data_sheet(extra: &str) -> String {
    format!("{SOURCE}\n[source.csv]\nheader_row = 2\n")
        .replace("date_formats", &format!("{extra}date_formats"))
}

#[test]
fn sheet_selection_header_row_date_cells_and_cm_to_mm() {
    let (_d, r) = run(&on_data_sheet("sheet = \"Данные\"\n"));
    let out = ok(r);
    let df = &out.frame;
    assert_eq!(
        df.schema().as_ref(),
        &schema().polars_schema(&["center_x".to_string()])
    );
    assert_eq!(
        col(df, "patient_id"),
        s(&[Some("x1"), Some("1002"), Some("x3")])
    );
    assert_eq!(col(df, "sex"), s(&[Some("M"), Some("F"), Some("F")]));
    assert_eq!(col(df, "age"), s(&[Some("61"), None, None]));
    assert_eq!(
        col(df, "tumor_size"),
        s(&[Some("45.0"), Some("12.0"), None])
    );
    assert_eq!(
        col(df, "im_start"),
        s(&[Some("2020-02-01"), Some("2019-03-15"), Some("2021-12-31")])
    );
    assert_eq!(
        col(df, "mets_liver"),
        s(&[Some("true"), Some("false"), None])
    );
    // Sheet rows, 1-based; the blank row 5 is set aside.
    assert_eq!(rows(df), vec![3, 4, 6]);
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(
        (out.rejects[0].source_row, out.rejects[0].rule.as_str()),
        (5, "blank row")
    );
    assert_eq!((out.account.rows_in, out.account.rows_out), (4, 3));
}

#[test]
fn first_sheet_is_the_default() {
    let (_d, r) = run(SOURCE);
    let e = err(r);
    assert_eq!(
        e.message,
        "column \"ID\" (mapped to patient_id) is not in the header on row 1 of sheet \"Notes\", \
         and neither is any other of the 6 mapped columns: row 1 of sheet \"Notes\" is probably \
         not the header line (its 1 cells are not shown, as they may be a patient's values; \
         --show-values shows them). No sheet was named, so the first sheet \"Notes\" was \
         read; the workbook's sheets are \"Notes\", \"Данные\": set sheet = \"...\" in the source file"
    );
}

#[test]
fn missing_sheet_lists_the_sheets() {
    let (_d, r) = run(&on_data_sheet("sheet = \"Sheet1\"\n"));
    let e = err(r);
    assert_eq!(
        e.message,
        "the workbook has no sheet \"Sheet1\"; its sheets are \"Notes\", \"Данные\""
    );
}

#[test]
fn empty_header_row_says_where_the_data_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(2, 1, "ID").unwrap();
    wb.save(dir.path().join("data.xlsx")).unwrap();
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{SOURCE}"),
    );
    let e = ingest(&s, &schema()).unwrap_err();
    assert_eq!(
        e.message,
        "row 1 of sheet \"Sheet1\" is empty, so it cannot be the header; the first row with data is row 3"
    );
    has(&e.fix, &["set header_row = 3"]);
}

fn single_row(
    write: impl FnOnce(&mut rust_xlsxwriter::Worksheet),
    src: &str,
) -> Result<cohortflow_ingest::Ingested, cohortflow_ingest::IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["ID", "Пол", "Начало"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "p1").unwrap();
    ws.write_string(1, 1, "M").unwrap();
    write(ws);
    wb.save(dir.path().join("data.xlsx")).unwrap();
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{src}"),
    );
    ingest(&s, &schema())
}

const SMALL: &str = "name = \"x\"\ncentre = \"X\"\nformat = \"xlsx\"\n\
                     [source.columns]\npatient_id = \"ID\"\nsex = \"Пол\"\nim_start = \"Начало\"\n";

#[test]
fn excel_serial_number_cells() {
    let r = single_row(
        |ws| {
            ws.write_number(1, 2, 43831.0).unwrap();
        },
        &SMALL.replace(
            "[source.columns]",
            "date_formats = [\"excel-serial\"]\n[source.columns]",
        ),
    );
    assert_eq!(col(&ok(r).frame, "im_start"), s(&[Some("2020-01-01")]));
}

#[test]
fn number_cell_in_a_date_column_without_excel_serial() {
    let r = single_row(
        |ws| {
            ws.write_number(1, 2, 43831.0).unwrap();
        },
        SMALL,
    );
    let e = err(r);
    assert_eq!(
        e.message,
        "the cell holds a number, and date column 'im_start' reads formats \"%Y-%m-%d\""
    );
    has(&e.fix, &["add \"excel-serial\" to date_formats"]);
    assert_eq!((e.line, e.column.as_deref()), (Some(2), Some("Начало")));
}

#[test]
fn cell_error_is_refused() {
    let r = single_row(
        |ws| {
            ws.write_formula(1, 2, "=NA()").unwrap();
            ws.set_formula_result(1, 2, "#N/A");
        },
        SMALL,
    );
    let e = err(r);
    assert_eq!(e.message, "the cell holds the spreadsheet error #N/A");
    assert_eq!(e.line, Some(2));
    let r = single_row(
        |ws| {
            ws.write_formula(1, 2, "=NA()").unwrap();
            ws.set_formula_result(1, 2, "#N/A");
        },
        &SMALL.replace(
            "[source.columns]",
            "on_error = \"reject\"\n[source.columns]",
        ),
    );
    let out = ok(r);
    assert_eq!(out.rejects[0].rule, "cell error");
    assert_eq!(out.rejects[0].values, "Начало=#N/A");
}

#[test]
fn fractional_number_in_an_integer_column() {
    let r = single_row(
        |ws| {
            ws.write_datetime_with_format(
                1,
                2,
                ExcelDateTime::from_ymd(2020, 1, 1).unwrap(),
                &Format::new().set_num_format("yyyy-mm-dd"),
            )
            .unwrap();
            ws.write_string(0, 3, "Возраст").unwrap();
            ws.write_number(1, 3, 29.5).unwrap();
        },
        &SMALL.replace("[source.columns]", "[source.columns]\nage = \"Возраст\""),
    );
    assert_eq!(
        err(r).message,
        "the value is not a whole number, and 'age' is an integer column"
    );
}

#[test]
fn corrupt_workbook_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.xlsx"), b"this is not a zip file").unwrap();
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{SMALL}"),
    );
    let e = ingest(&s, &schema()).unwrap_err();
    assert_eq!(e.file, dir.path().join("data.xlsx"));
    assert!(
        e.message.starts_with("cannot open the workbook: "),
        "{}",
        e.message
    );
    has(&e.fix, &["damaged, truncated"]);
}

#[test]
fn truncated_workbook_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.xlsx");
    workbook(&path);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{SMALL}"),
    );
    let e = ingest(&s, &schema()).unwrap_err();
    assert_eq!(e.file, path);
    assert!(e.message.starts_with("cannot "), "{}", e.message);
}

#[test]
fn damaged_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.xlsx");
    workbook(&path);
    let good = std::fs::read(&path).unwrap();
    let src = source_file(
        dir.path(),
        &format!(
            "[source]\npath = \"data.xlsx\"\n{}",
            on_data_sheet("sheet = \"Данные\"\n")
        ),
    );
    let step = (good.len() / 40).max(1);
    for at in (0..good.len()).step_by(step) {
        let mut bad = good.clone();
        for b in bad.iter_mut().skip(at).take(16) {
            *b ^= 0x5A;
        }
        std::fs::write(&path, &bad).unwrap();
        // Either a table or a located error; never a panic.
        if let Err(e) = ingest(&src, &schema()) {
            assert!(!e.message.is_empty());
        }
    }
}

/// Replaces the cell `cell` (e.g. "C2") of the first sheet of a saved
/// workbook by `xml`: for cells rust_xlsxwriter does not write (an ISO date
/// cell `t="d"`, a formula without its cached value).
fn rewrite_cell(path: &Path, cell: &str, xml: &str) {
    use std::io::{Read, Write};
    let bytes = std::fs::read(path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut replaced = false;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().to_string();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let text = String::from_utf8(data).unwrap();
            let start = text
                .find(&format!("<c r=\"{cell}\""))
                .unwrap_or_else(|| panic!("no cell {cell} in {text}"));
            let end = start + text[start..].find("</c>").unwrap() + 4;
            data = format!("{}{xml}{}", &text[..start], &text[end..]).into_bytes();
            replaced = true;
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    assert!(replaced);
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

/// A workbook with a header and three patients (rows 2-4), edited by `edit`
/// once saved, read with `src`.
fn three_rows(
    write: impl FnOnce(&mut rust_xlsxwriter::Worksheet),
    edit: impl FnOnce(&Path),
    src: &str,
) -> Result<cohortflow_ingest::Ingested, cohortflow_ingest::IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["ID", "Пол", "Начало"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (id, sex)) in [("p1", "M"), ("p2", "F"), ("p3", "M")].iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, *id).unwrap();
        ws.write_string(r, 1, *sex).unwrap();
        ws.write_string(r, 2, "2020-01-31").unwrap();
    }
    write(ws);
    let path = dir.path().join("data.xlsx");
    wb.save(&path).unwrap();
    edit(&path);
    let s = source_file(
        dir.path(),
        &format!("[source]\npath = \"data.xlsx\"\n{src}"),
    );
    ingest(&s, &schema())
}

fn rejecting(src: &str) -> String {
    src.replace(
        "[source.columns]",
        "on_error = \"reject\"\n[source.columns]",
    )
}

#[test]
fn merged_cells_are_rejects_not_empty_cells() {
    // Sex merged over rows 2-3: row 3 shows row 2's value but holds none.
    let merge = |ws: &mut rust_xlsxwriter::Worksheet| {
        ws.merge_range(1, 1, 2, 1, "M", &Format::new()).unwrap();
    };
    let e = err(three_rows(merge, |_| {}, SMALL));
    assert_eq!((e.line, e.column.as_deref()), (Some(3), Some("Пол")));
    has(&e.message, &["the cell is part of a merged range"]);
    has(&e.fix, &["unmerge the cells"]);
    let out = ok(three_rows(merge, |_| {}, &rejecting(SMALL)));
    assert_eq!(rows(&out.frame), vec![2, 4]);
    assert_eq!(col(&out.frame, "sex"), s(&[Some("M"), Some("M")]));
    assert_eq!(
        (out.rejects[0].source_row, out.rejects[0].rule.as_str()),
        (3, "merged cell")
    );
    assert_eq!((out.account.rows_in, out.account.rows_out), (3, 2));
    // A merged cell in an optional column (note) is a reject too: it never
    // reads as a missing value.
    let merge_note = |ws: &mut rust_xlsxwriter::Worksheet| {
        ws.write_string(0, 3, "Заметка").unwrap();
        ws.merge_range(2, 3, 3, 3, "note", &Format::new()).unwrap();
    };
    let src = rejecting(&SMALL.replace("[source.columns]", "[source.columns]\nnote = \"Заметка\""));
    let out = ok(three_rows(merge_note, |_| {}, &src));
    assert_eq!(rows(&out.frame), vec![2, 3]);
    assert_eq!(out.rejects[0].source_row, 4);
}

#[test]
fn formula_without_a_cached_value_is_a_reject() {
    let formula = |ws: &mut rust_xlsxwriter::Worksheet| {
        ws.write_formula(2, 2, "=DATE(2020,1,31)").unwrap();
    };
    let strip = |p: &Path| rewrite_cell(p, "C3", "<c r=\"C3\"><f>DATE(2020,1,31)</f></c>");
    let e = err(three_rows(formula, strip, SMALL));
    assert_eq!((e.line, e.column.as_deref()), (Some(3), Some("Начало")));
    has(&e.message, &["a formula that was saved without its value"]);
    let out = ok(three_rows(formula, strip, &rejecting(SMALL)));
    assert_eq!(rows(&out.frame), vec![2, 4]);
    assert_eq!(out.rejects[0].rule, "formula without a value");
    // The same formula with its value is read.
    let with_value = |ws: &mut rust_xlsxwriter::Worksheet| {
        ws.write_formula(2, 2, "=\"2020-01-31\"").unwrap();
        ws.set_formula_result(2, 2, "2020-01-31");
    };
    let out = ok(three_rows(with_value, |_| {}, SMALL));
    assert_eq!(rows(&out.frame), vec![2, 3, 4]);
}

#[test]
fn error_cells_are_rejects_whatever_the_error() {
    for code in ["#N/A", "#DIV/0!", "#VALUE!", "#REF!"] {
        let cell = format!("<c r=\"C3\" t=\"e\"><v>{code}</v></c>");
        let edit = |p: &Path| rewrite_cell(p, "C3", &cell);
        let e = err(three_rows(|_| {}, edit, SMALL));
        assert_eq!(
            e.message,
            format!("the cell holds the spreadsheet error {code}")
        );
        assert_eq!(e.line, Some(3));
        let out = ok(three_rows(|_| {}, edit, &rejecting(SMALL)));
        assert_eq!(out.rejects[0].rule, "cell error", "{code}");
        assert_eq!(rows(&out.frame), vec![2, 4]);
    }
}

#[test]
fn iso_date_cells_are_dates() {
    let edit = |p: &Path| {
        rewrite_cell(
            p,
            "C2",
            "<c r=\"C2\" t=\"d\"><v>2019-03-15T00:00:00</v></c>",
        );
        rewrite_cell(p, "C3", "<c r=\"C3\" t=\"d\"><v>2021-12-31</v></c>");
    };
    // Read as dates whatever date_formats says (the text cell of row 4 needs
    // the ISO format, the default).
    let out = ok(three_rows(|_| {}, edit, SMALL));
    assert_eq!(
        col(&out.frame, "im_start"),
        s(&[Some("2019-03-15"), Some("2021-12-31"), Some("2020-01-31")])
    );
    let dotted = SMALL.replace(
        "[source.columns]",
        "date_formats = [\"%d.%m.%Y\"]\n[source.columns]",
    );
    let out = ok(three_rows(|_| {}, edit, &rejecting(&dotted)));
    assert_eq!(rows(&out.frame), vec![2, 3]);
    assert_eq!(out.rejects[0].source_row, 4);
}

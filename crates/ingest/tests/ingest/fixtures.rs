//! The two bundled mGIST exports (fixtures/mgist): a windows-1251 `;` CSV
//! with Russian codes and decimal commas, and an XLSX workbook with date
//! cells, a notes sheet first and sizes in mm. Each holds one row with an
//! unparseable date, which must be the only reject.

use crate::common::{col, rows, source_file};
use cohortflow_core::ledger::Outcome;
use cohortflow_core::schema::Schema;
use cohortflow_ingest::ingest;
use std::path::PathBuf;

const SCHEMA: &str = r#"
name = "mgist"
[[column]]
name = "patient_id"
type = "string"
required = true
[[column]]
name = "snils"
type = "string"
[[column]]
name = "sex"
type = "category"
levels = ["M", "F"]
required = true
[[column]]
name = "birth_date"
type = "date"
[[column]]
name = "diagnosis_date"
type = "date"
[[column]]
name = "primary_site"
type = "category"
levels = ["stomach", "small bowel", "rectum", "other"]
[[column]]
name = "mutation"
type = "category"
levels = ["KIT exon 11", "KIT exon 9", "PDGFRA", "wild type", "not tested"]
[[column]]
name = "tumor_size"
type = "float"
unit = "mm"
[[column]]
name = "mets"
type = "category"
levels = ["liver", "peritoneum", "both", "lung", "bone"]
[[column]]
name = "im_line"
type = "integer"
required = true
[[column]]
name = "im_start"
type = "date"
required = true
[[column]]
name = "best_response"
type = "category"
levels = ["PR", "SD", "PD"]
[[column]]
name = "progression_date"
type = "date"
[[column]]
name = "surgery_date"
type = "date"
[[column]]
name = "death_date"
type = "date"
[[column]]
name = "last_followup"
type = "date"
required = true
"#;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mgist")
        .join(name)
}

fn run(data: &str, body: &str) -> cohortflow_ingest::Ingested {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(data);
    let text = format!("[source]\npath = {:?}\n{body}", path.display().to_string());
    let src = source_file(dir.path(), &text);
    let schema: Schema = toml::from_str(SCHEMA).unwrap();
    ingest(&src, &schema).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn centre_a_cp1251_csv() {
    let out = run(
        "center_a.csv",
        r#"
name = "center_a"
centre = "Centre A"
format = "csv"
on_error = "reject"
unmapped_columns = "error"
date_formats = ["%d.%m.%Y"]
[source.csv]
separator = ";"
decimal_comma = true
encoding = "windows-1251"
[source.columns]
patient_id = "№ истории"
snils = "СНИЛС"
sex = { column = "Пол", values = { "М" = "M", "Ж" = "F" } }
birth_date = "Дата рождения"
diagnosis_date = "Дата диагноза"
primary_site = { column = "Локализация первичной опухоли", values = { "желудок" = "stomach", "тонкая кишка" = "small bowel", "прямая кишка" = "rectum", "другое" = "other" } }
mutation = { column = "Мутация", values = { "KIT 11" = "KIT exon 11", "KIT 9" = "KIT exon 9", "PDGFRA" = "PDGFRA", "дикий тип" = "wild type", "н/д" = "not tested" } }
tumor_size = { column = "Размер опухоли, см", unit = "cm" }
mets = { column = "Метастазы", values = { "печень" = "liver", "брюшина" = "peritoneum", "печень+брюшина" = "both", "лёгкие" = "lung", "кости" = "bone" } }
im_line = "Линия иматиниба"
im_start = "Начало иматиниба"
best_response = { column = "Лучший ответ", values = { "ЧО" = "PR", "СЗ" = "SD", "ПБ" = "PD" } }
progression_date = "Дата прогрессирования"
surgery_date = "Дата операции"
death_date = "Дата смерти"
last_followup = "Дата последнего контакта"
"#,
    );
    assert_eq!(out.frame.height(), 53);
    assert_eq!((out.account.rows_in, out.account.rows_out), (54, 53));
    assert_eq!(
        out.account.outcomes,
        vec![(Outcome::Rejected, "unparseable date".to_string(), 1)]
    );
    assert_eq!(out.rejects.len(), 1);
    let r = &out.rejects[0];
    assert_eq!(
        (r.source_row, r.columns.as_str(), r.values.as_str()),
        (
            46,
            "Дата прогрессирования",
            "Дата прогрессирования=31.02.2014"
        )
    );
    // Line 2 of the file: А-2008-215, 9,0 cm, ПБ.
    assert_eq!(rows(&out.frame)[0], 2);
    assert_eq!(
        col(&out.frame, "patient_id")[0].as_deref(),
        Some("А-2008-215")
    );
    assert_eq!(col(&out.frame, "tumor_size")[0].as_deref(), Some("90.0"));
    assert_eq!(col(&out.frame, "best_response")[0].as_deref(), Some("PD"));
    assert_eq!(
        col(&out.frame, "birth_date")[0].as_deref(),
        Some("1938-07-26")
    );
    assert_eq!(col(&out.frame, "surgery_date")[0], None);
    // Three blank tumour sizes in the file (one may be on the rejected row).
    let blank = col(&out.frame, "tumor_size")
        .iter()
        .filter(|v| v.is_none())
        .count();
    assert!((2..=3).contains(&blank), "{blank}");
}

#[test]
fn centre_b_xlsx() {
    let out = run(
        "center_b.xlsx",
        r#"
name = "center_b"
centre = "Centre B"
format = "xlsx"
sheet = "Patients"
on_error = "reject"
unmapped_columns = "error"
date_formats = ["%d/%m/%Y"]
[source.columns]
patient_id = "Patient ID"
snils = "SNILS"
sex = { column = "Sex", values = { "male" = "M", "female" = "F" } }
birth_date = "Date of birth"
diagnosis_date = "Diagnosis date"
primary_site = { column = "Primary site", values = { "Stomach" = "stomach", "Small bowel" = "small bowel", "Rectum" = "rectum", "Other" = "other" } }
mutation = { column = "Mutation", values = { "KIT exon 11" = "KIT exon 11", "KIT exon 9" = "KIT exon 9", "PDGFRA" = "PDGFRA", "Wild type" = "wild type", "Not tested" = "not tested" } }
tumor_size = { column = "Tumour size (mm)", unit = "mm" }
mets = { column = "Metastatic sites", values = { "liver" = "liver", "peritoneum" = "peritoneum", "liver, peritoneum" = "both", "lung" = "lung", "bone" = "bone" } }
im_line = "Imatinib line"
im_start = "Imatinib start"
best_response = "Best response"
progression_date = "Progression date"
surgery_date = "Surgery date"
death_date = "Death date"
last_followup = "Last follow-up"
"#,
    );
    assert_eq!((out.account.rows_in, out.account.rows_out), (48, 47));
    assert_eq!(out.rejects.len(), 1, "{:?}", out.rejects);
    let r = &out.rejects[0];
    assert_eq!(
        (r.source_row, r.rule.as_str(), r.values.as_str()),
        (12, "unparseable date", "Surgery date=15.13.2016")
    );
    let ids = col(&out.frame, "patient_id");
    let i = ids
        .iter()
        .position(|v| v.as_deref() == Some("B1445"))
        .unwrap();
    assert_eq!(
        col(&out.frame, "surgery_date")[i].as_deref(),
        Some("2008-11-09")
    );
    assert_eq!(
        col(&out.frame, "im_start")[i].as_deref(),
        Some("2009-06-02")
    );
    assert!(
        col(&out.frame, "im_line")
            .iter()
            .all(|v| matches!(v.as_deref(), Some("1" | "2")))
    );
}

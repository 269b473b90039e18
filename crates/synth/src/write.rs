//! The writers: centre A's CSV, centre B's workbook or CSV, and the study
//! files (pipelines, schema, sources) that point at them.

use crate::model::{self, Centre, Patient};
use crate::{CentreBFormat, Options, SynthError, io};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The bundled study's pipeline file, as written into the output folder.
pub const PIPELINE: &str = "mgist-cytoreduction.toml";
const MATCHED: &str = "mgist-cytoreduction-matched.toml";

const PIPELINE_TEXT: &str = include_str!("../../../pipelines/mgist-cytoreduction.toml");
const MATCHED_TEXT: &str = include_str!("../../../pipelines/mgist-cytoreduction-matched.toml");
const SCHEMA_TEXT: &str = include_str!("../../../pipelines/schemas/mgist.toml");
const SOURCE_A_TEXT: &str = include_str!("../../../pipelines/sources/center_a.toml");
const SOURCE_B_TEXT: &str = include_str!("../../../pipelines/sources/center_b.toml");

const HEADER_A: [&str; 16] = [
    "№ истории",
    "СНИЛС",
    "Пол",
    "Дата рождения",
    "Дата диагноза",
    "Локализация первичной опухоли",
    "Мутация",
    "Размер опухоли, см",
    "Метастазы",
    "Линия иматиниба",
    "Начало иматиниба",
    "Лучший ответ",
    "Дата прогрессирования",
    "Дата операции",
    "Дата смерти",
    "Дата последнего контакта",
];
const HEADER_B: [&str; 16] = [
    "Patient ID",
    "SNILS",
    "Sex",
    "Date of birth",
    "Diagnosis date",
    "Primary site",
    "Mutation",
    "Tumour size (mm)",
    "Metastatic sites",
    "Imatinib line",
    "Imatinib start",
    "Best response",
    "Progression date",
    "Surgery date",
    "Death date",
    "Last follow-up",
];

/// A centre's codes, indexed as `Patient`'s fields.
struct Codes {
    sex: [&'static str; 2],
    site: [&'static str; 4],
    mutation: [&'static str; 5],
    mets: [&'static str; 5],
    response: [&'static str; 3],
}

const CODES_A: Codes = Codes {
    sex: ["М", "Ж"],
    site: ["желудок", "тонкая кишка", "прямая кишка", "другое"],
    mutation: ["KIT 11", "KIT 9", "PDGFRA", "дикий тип", "н/д"],
    mets: ["печень", "брюшина", "печень+брюшина", "лёгкие", "кости"],
    response: ["ЧО", "СЗ", "ПБ"],
};
const CODES_B: Codes = Codes {
    sex: ["male", "female"],
    site: ["Stomach", "Small bowel", "Rectum", "Other"],
    mutation: [
        "KIT exon 11",
        "KIT exon 9",
        "PDGFRA",
        "Wild type",
        "Not tested",
    ],
    mets: ["liver", "peritoneum", "liver, peritoneum", "lung", "bone"],
    response: ["PR", "SD", "PD"],
};

/// Writes every file; returns their paths relative to `opts.out`.
pub fn mgist(opts: &Options, rows_a: u64, rows_b: u64) -> Result<Vec<String>, SynthError> {
    let out = &opts.out;
    for dir in [out.clone(), out.join("sources"), out.join("schemas")] {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    }
    let b_file = match opts.centre_b_format {
        CentreBFormat::Xlsx => "center_b.xlsx",
        CentreBFormat::Csv => "center_b.csv",
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| centre_a(opts, &out.join("center_a.csv")));
        let b = s.spawn(|| match opts.centre_b_format {
            CentreBFormat::Xlsx => centre_b_xlsx(opts, &out.join(b_file)),
            CentreBFormat::Csv => centre_b_csv(opts, &out.join(b_file)),
        });
        (a.join(), b.join())
    });
    let (a, b) = (
        a.expect("the centre A writer does not panic"),
        b.expect("the centre B writer does not panic"),
    );
    debug_assert_eq!((a?, b?), (rows_a, rows_b));
    let header = format!(
        "# Written by `cohortflow synth mgist --patients {} --seed {}`: the bundled\n\
         # source file, reading the synthetic export in this folder.\n",
        opts.patients, opts.seed
    );
    let source_a = format!(
        "{header}{}",
        replace_once(
            SOURCE_A_TEXT,
            "path = \"../../fixtures/mgist/center_a.csv\"",
            "path = \"../center_a.csv\""
        )
    );
    let source_b = match opts.centre_b_format {
        CentreBFormat::Xlsx => format!(
            "{header}{}",
            replace_once(
                SOURCE_B_TEXT,
                "path = \"../../fixtures/mgist/center_b.xlsx\"",
                "path = \"../center_b.xlsx\""
            )
        ),
        CentreBFormat::Csv => format!(
            "{header}# Centre B written as a CSV (UTF-8, ',', dates dd/mm/yyyy): larger than an\n\
             # XLSX sheet holds, or asked for with --centre-b-format csv.\n{}",
            replace_once(
                &replace_once(
                    &replace_once(
                        // without the bundled file's opening comment (it
                        // describes the workbook)
                        &SOURCE_B_TEXT[SOURCE_B_TEXT.find("[source]").unwrap_or(0)..],
                        "path = \"../../fixtures/mgist/center_b.xlsx\"",
                        "path = \"../center_b.csv\""
                    ),
                    "format = \"xlsx\"",
                    "format = \"csv\""
                ),
                "sheet = \"Patients\"\n",
                ""
            )
        ),
    };
    let study_files = [
        ("schemas/mgist.toml", SCHEMA_TEXT.to_string()),
        ("sources/center_a.toml", source_a),
        ("sources/center_b.toml", source_b),
        (PIPELINE, PIPELINE_TEXT.to_string()),
        (MATCHED, MATCHED_TEXT.to_string()),
    ];
    let mut files = vec!["center_a.csv".to_string(), b_file.to_string()];
    for (name, text) in study_files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
        files.push(name.to_string());
    }
    Ok(files)
}

/// `text` with its one occurrence of `from` replaced (the bundled files are
/// compiled in: a test keeps each occurrence there).
fn replace_once(text: &str, from: &str, to: &str) -> String {
    debug_assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1)
}

fn cp1251(text: &str) -> Vec<u8> {
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1251.encode(text);
    debug_assert!(!lossy, "{text}");
    bytes.into_owned()
}

/// A centre's code table encoded once.
struct Encoded {
    sex: Vec<Vec<u8>>,
    site: Vec<Vec<u8>>,
    mutation: Vec<Vec<u8>>,
    mets: Vec<Vec<u8>>,
    response: Vec<Vec<u8>>,
}

impl Encoded {
    fn new(codes: &Codes, enc: fn(&str) -> Vec<u8>) -> Encoded {
        let all = |xs: &[&str]| xs.iter().map(|x| enc(x)).collect();
        Encoded {
            sex: all(&codes.sex),
            site: all(&codes.site),
            mutation: all(&codes.mutation),
            mets: all(&codes.mets),
            response: all(&codes.response),
        }
    }
}

fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[k..]);
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// `dd<sep>mm<sep>yyyy`.
fn push_date(buf: &mut Vec<u8>, days: i32, sep: u8) {
    let (y, m, d) = model::ymd(days);
    push_2(buf, d);
    buf.push(sep);
    push_2(buf, m);
    buf.push(sep);
    push_uint(buf, y as u64);
}

fn push_bad_date(buf: &mut Vec<u8>, days: i32, sep: u8) {
    buf.extend_from_slice(b"31");
    buf.push(sep);
    buf.extend_from_slice(b"02");
    buf.push(sep);
    push_uint(buf, model::ymd(days).0 as u64);
}

/// `123-456-789 01` or `12345678901`.
fn snils_text(p: &Patient) -> String {
    let nine = p.snils;
    let check = model::snils_check(nine);
    if p.snils_plain {
        format!("{nine:09}{check:02}")
    } else {
        format!(
            "{:03}-{:03}-{:03} {check:02}",
            nine / 1_000_000,
            nine / 1000 % 1000,
            nine % 1000
        )
    }
}

/// A field of centre B's CSV: quoted when it holds the separator.
fn quote_comma(s: &str) -> Vec<u8> {
    if s.contains(',') {
        format!("\"{s}\"").into_bytes()
    } else {
        s.as_bytes().to_vec()
    }
}

/// The fields after the record number up to the tumour size, each after
/// `sep`, and the `sep` before the size: SNILS, sex, birth and diagnosis
/// dates, primary site, mutation.
fn push_baseline(line: &mut Vec<u8>, p: &Patient, codes: &Encoded, sep: u8, date_sep: u8) {
    line.push(sep);
    line.extend_from_slice(snils_text(p).as_bytes());
    line.push(sep);
    line.extend_from_slice(&codes.sex[usize::from(p.sex)]);
    line.push(sep);
    push_date(line, p.birth, date_sep);
    line.push(sep);
    push_date(line, p.diagnosis, date_sep);
    line.push(sep);
    line.extend_from_slice(&codes.site[usize::from(p.site)]);
    line.push(sep);
    line.extend_from_slice(&codes.mutation[usize::from(p.mutation)]);
    line.push(sep);
}

/// The fields after the tumour size, each after `sep`: metastatic sites,
/// imatinib line and start, best response, the progression, surgery and
/// death dates, and the last follow-up (a planted bad date where the
/// patient has one).
fn push_course(line: &mut Vec<u8>, p: &Patient, codes: &Encoded, sep: u8, date_sep: u8) {
    line.push(sep);
    line.extend_from_slice(&codes.mets[usize::from(p.mets)]);
    line.push(sep);
    push_uint(line, u64::from(p.line));
    line.push(sep);
    push_date(line, p.start, date_sep);
    line.push(sep);
    line.extend_from_slice(&codes.response[usize::from(p.response)]);
    for d in [p.progression, p.surgery, p.death] {
        line.push(sep);
        if let Some(d) = d {
            push_date(line, d, date_sep);
        }
    }
    line.push(sep);
    if p.bad_last_followup {
        push_bad_date(line, p.last_followup, date_sep);
    } else {
        push_date(line, p.last_followup, date_sep);
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, SynthError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(io(path))
}

/// Centre A: windows-1251, `;`, CRLF, dd.mm.yyyy, size in cm with a
/// decimal comma. No field needs quoting.
fn centre_a(opts: &Options, path: &Path) -> Result<u64, SynthError> {
    let mut w = create(path)?;
    let codes = Encoded::new(&CODES_A, cp1251);
    let prefix = cp1251("А-");
    let mut line = cp1251(&HEADER_A.join(";"));
    line.extend_from_slice(b"\r\n");
    w.write_all(&line).map_err(io(path))?;
    let mut rows = 0;
    for row in 0..opts.patients {
        if model::centre_of(opts.seed, row) != Centre::A {
            continue;
        }
        let p = model::patient(opts.seed, row);
        line.clear();
        line.extend_from_slice(&prefix);
        push_uint(&mut line, p.id_year as u64);
        line.push(b'-');
        if p.id_number < 100 {
            line.push(b'0');
        }
        if p.id_number < 10 {
            line.push(b'0');
        }
        push_uint(&mut line, p.id_number);
        push_baseline(&mut line, &p, &codes, b';', b'.');
        if let Some(mm) = p.size_mm {
            push_uint(&mut line, u64::from(mm / 10));
            line.push(b',');
            push_uint(&mut line, u64::from(mm % 10));
        }
        push_course(&mut line, &p, &codes, b';', b'.');
        line.extend_from_slice(b"\r\n");
        w.write_all(&line).map_err(io(path))?;
        rows += 1;
    }
    w.flush().map_err(io(path))?;
    Ok(rows)
}

fn b_id(p: &Patient) -> String {
    format!("B{:04}", p.id_number)
}

/// Centre B as a CSV: UTF-8, `,`, LF, dd/mm/yyyy, size in mm; the one
/// code with a comma (`liver, peritoneum`) quoted.
fn centre_b_csv(opts: &Options, path: &Path) -> Result<u64, SynthError> {
    let mut w = create(path)?;
    let codes = Encoded::new(&CODES_B, quote_comma);
    let mut line: Vec<u8> = HEADER_B
        .iter()
        .map(|h| quote_comma(h))
        .collect::<Vec<_>>()
        .join(&b","[..]);
    line.push(b'\n');
    w.write_all(&line).map_err(io(path))?;
    let mut rows = 0;
    for row in 0..opts.patients {
        if model::centre_of(opts.seed, row) != Centre::B {
            continue;
        }
        let p = model::patient(opts.seed, row);
        line.clear();
        line.extend_from_slice(b_id(&p).as_bytes());
        push_baseline(&mut line, &p, &codes, b',', b'/');
        if let Some(mm) = p.size_mm {
            push_uint(&mut line, u64::from(mm));
        }
        push_course(&mut line, &p, &codes, b',', b'/');
        line.push(b'\n');
        w.write_all(&line).map_err(io(path))?;
        rows += 1;
    }
    w.flush().map_err(io(path))?;
    Ok(rows)
}

/// Centre B as the centre exports it: a `Notes` sheet, then `Patients` with
/// real date cells (`dd/mm/yyyy`), numbers as numbers, an impossible date
/// as a text cell. The sheet is streamed (constant-memory mode) and the
/// document's creation time fixed, so the bytes depend on the data only.
fn centre_b_xlsx(opts: &Options, path: &Path) -> Result<u64, SynthError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};
    let err = |e: XlsxError| SynthError::Xlsx {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2023, 7, 14)
        .and_then(|d| d.and_hms(9, 30, 0))
        .map_err(err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_author("registry export")
            .set_creation_datetime(&created),
    );
    let notes = wb.add_worksheet();
    notes.set_name("Notes").map_err(err)?;
    for (r, text) in [
        "GIST registry extract - metastatic/recurrent GIST on imatinib (synthetic: cohortflow synth)",
        "Data cut-off 30/06/2023.",
        "One row per patient. Dates dd/mm/yyyy. Tumour size = largest diameter of the primary, mm.",
        "Blank cell = not recorded.",
    ]
    .iter()
    .enumerate()
    {
        notes.write_string(r as u32, 0, *text).map_err(err)?;
    }
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = wb.add_worksheet_with_constant_memory();
    ws.set_name("Patients").map_err(err)?;
    for (c, h) in HEADER_B.iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(err)?;
    }
    let c = &CODES_B;
    // Excel's day 0 is 1899-12-30, 25,569 days before 1970-01-01.
    let serial = |d: i32| f64::from(d + 25_569);
    let mut r: u32 = 0;
    for row in 0..opts.patients {
        if model::centre_of(opts.seed, row) != Centre::B {
            continue;
        }
        let p = model::patient(opts.seed, row);
        r += 1;
        ws.write_string(r, 0, b_id(&p)).map_err(err)?;
        ws.write_string(r, 1, snils_text(&p)).map_err(err)?;
        ws.write_string(r, 2, c.sex[usize::from(p.sex)])
            .map_err(err)?;
        ws.write_number_with_format(r, 3, serial(p.birth), &date)
            .map_err(err)?;
        ws.write_number_with_format(r, 4, serial(p.diagnosis), &date)
            .map_err(err)?;
        ws.write_string(r, 5, c.site[usize::from(p.site)])
            .map_err(err)?;
        ws.write_string(r, 6, c.mutation[usize::from(p.mutation)])
            .map_err(err)?;
        if let Some(mm) = p.size_mm {
            ws.write_number(r, 7, f64::from(mm)).map_err(err)?;
        }
        ws.write_string(r, 8, c.mets[usize::from(p.mets)])
            .map_err(err)?;
        ws.write_number(r, 9, f64::from(p.line)).map_err(err)?;
        ws.write_number_with_format(r, 10, serial(p.start), &date)
            .map_err(err)?;
        ws.write_string(r, 11, c.response[usize::from(p.response)])
            .map_err(err)?;
        for (k, d) in [p.progression, p.surgery, p.death].into_iter().enumerate() {
            if let Some(d) = d {
                ws.write_number_with_format(r, 12 + k as u16, serial(d), &date)
                    .map_err(err)?;
            }
        }
        if p.bad_last_followup {
            let mut text = Vec::new();
            push_bad_date(&mut text, p.last_followup, b'/');
            let text = String::from_utf8(text).expect("ASCII");
            ws.write_string(r, 15, text).map_err(err)?;
        } else {
            ws.write_number_with_format(r, 15, serial(p.last_followup), &date)
                .map_err(err)?;
        }
    }
    wb.save(path).map_err(err)?;
    Ok(u64::from(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_have_the_lines_synth_replaces() {
        for (text, from) in [
            (
                SOURCE_A_TEXT,
                "path = \"../../fixtures/mgist/center_a.csv\"",
            ),
            (
                SOURCE_B_TEXT,
                "path = \"../../fixtures/mgist/center_b.xlsx\"",
            ),
            (SOURCE_B_TEXT, "format = \"xlsx\""),
            (SOURCE_B_TEXT, "sheet = \"Patients\"\n"),
        ] {
            assert_eq!(text.matches(from).count(), 1, "{from}");
        }
        for text in [PIPELINE_TEXT, MATCHED_TEXT] {
            assert!(text.contains(
                "schema = \"schemas/mgist.toml\"\nsources = [\"sources/center_a.toml\", \"sources/center_b.toml\"]"
            ));
        }
    }

    #[test]
    fn codes_are_the_sources_value_maps() {
        for (codes, text) in [(&CODES_A, SOURCE_A_TEXT), (&CODES_B, SOURCE_B_TEXT)] {
            let all = codes
                .sex
                .iter()
                .chain(&codes.site)
                .chain(&codes.mutation)
                .chain(&codes.mets)
                .chain(&codes.response);
            for code in all {
                assert!(text.contains(&format!("\"{code}\"")), "{code}");
            }
        }
        for h in HEADER_A.iter().chain(&HEADER_B) {
            assert!(
                SOURCE_A_TEXT.contains(&format!("\"{h}\""))
                    || SOURCE_B_TEXT.contains(&format!("\"{h}\"")),
                "{h}"
            );
        }
    }
}

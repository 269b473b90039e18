//! Writers: a table of cells (what an export holds) into the bytes of every
//! dialect the tool reads — CSV (separators, quoting, decimal marks,
//! encodings, line endings), XLSX (number, date and text cells) and Parquet —
//! and the source TOML that describes it.
//!
//! A table row is one record; the writer says on which line (CSV) or sheet
//! row (XLSX, Parquet: index + 2) each record starts and ends. Lines are
//! counted as physical lines: every `\r\n`, lone `\r` and lone `\n` ends one.

use super::generator::{COLUMNS, Patient, Rng, Val, days};
use chrono::NaiveDate;

/// The two vocabularies of the bundled centres: Russian (centre A: headers,
/// codes) and English (centre B).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Vocab {
    Russian,
    English,
}

impl Vocab {
    pub fn header(self, column: &str, cm: bool) -> &'static str {
        let i = COLUMNS.iter().position(|c| *c == column).unwrap();
        match self {
            Vocab::Russian => {
                if column == "tumour_size" {
                    return if cm {
                        "Размер опухоли, см"
                    } else {
                        "Размер опухоли, мм"
                    };
                }
                [
                    "№ истории",
                    "СНИЛС",
                    "Пол",
                    "Дата рождения",
                    "Дата диагноза",
                    "Локализация первичной опухоли",
                    "Мутация",
                    "",
                    "Метастазы",
                    "Линия иматиниба",
                    "Начало иматиниба",
                    "Лучший ответ",
                    "Дата прогрессирования",
                    "Дата операции",
                    "Дата смерти",
                    "Дата последнего контакта",
                ][i]
            }
            Vocab::English => {
                if column == "tumour_size" {
                    return if cm {
                        "Tumour size (cm)"
                    } else {
                        "Tumour size (mm)"
                    };
                }
                [
                    "Patient ID",
                    "SNILS",
                    "Sex",
                    "Date of birth",
                    "Diagnosis date",
                    "Primary site",
                    "Mutation",
                    "",
                    "Metastatic sites",
                    "Imatinib line",
                    "Imatinib start",
                    "Best response",
                    "Progression date",
                    "Surgery date",
                    "Death date",
                    "Last follow-up",
                ][i]
            }
        }
    }

    pub fn comment_header(self) -> &'static str {
        match self {
            Vocab::Russian => "Комментарий",
            Vocab::English => "Notes",
        }
    }

    /// `(code, canonical)` pairs of a coded column; empty for others.
    pub fn codes(self, column: &str) -> Vec<(&'static str, &'static str)> {
        let ru = self == Vocab::Russian;
        match column {
            "sex" if ru => vec![("М", "M"), ("Ж", "F")],
            "sex" => vec![("male", "M"), ("female", "F")],
            "primary_site" if ru => vec![
                ("желудок", "stomach"),
                ("тонкая кишка", "small_bowel"),
                ("прямая кишка", "rectum"),
                ("другое", "other"),
            ],
            "primary_site" => vec![
                ("Stomach", "stomach"),
                ("Small bowel", "small_bowel"),
                ("Rectum", "rectum"),
                ("Other", "other"),
            ],
            "mutation" if ru => vec![
                ("KIT 11", "KIT11"),
                ("KIT 9", "KIT9"),
                ("PDGFRA", "PDGFRA"),
                ("дикий тип", "wild_type"),
            ],
            "mutation" => vec![
                ("KIT exon 11", "KIT11"),
                ("KIT exon 9", "KIT9"),
                ("PDGFRA", "PDGFRA"),
                ("Wild type", "wild_type"),
            ],
            "mets_site" if ru => vec![
                ("печень", "liver"),
                ("брюшина", "peritoneum"),
                ("печень+брюшина", "liver+peritoneum"),
                ("лёгкие", "lung"),
                ("кости", "bone"),
            ],
            "mets_site" => vec![
                ("liver", "liver"),
                ("peritoneum", "peritoneum"),
                ("liver, peritoneum", "liver+peritoneum"),
                ("lung", "lung"),
                ("bone", "bone"),
            ],
            "best_response" if ru => vec![("ЧО", "PR"), ("СЗ", "SD"), ("ПБ", "PD")],
            "best_response" => vec![("PR", "PR"), ("SD", "SD"), ("PD", "PD")],
            _ => vec![],
        }
    }

    /// The code a column writes for a missing value, if it has one.
    pub fn missing_code(self, column: &str) -> Option<&'static str> {
        match (column, self) {
            ("mutation", Vocab::Russian) => Some("н/д"),
            ("mutation", Vocab::English) => Some("Not tested"),
            _ => None,
        }
    }

    pub fn code_of(self, column: &str, canonical: &str) -> &'static str {
        self.codes(column)
            .into_iter()
            .find(|(_, c)| *c == canonical)
            .map(|(code, _)| code)
            .unwrap()
    }

    pub fn comment(self, rng: &mut Rng, sep: char, multiline: bool) -> String {
        let words: &[&str] = match self {
            Vocab::Russian => &[
                "контроль",
                "КТ",
                "\"без изменений\"",
                "см. выписку",
                "резекция",
                "ёмкость",
            ],
            Vocab::English => &[
                "follow-up",
                "CT",
                "\"stable\"",
                "see letter",
                "resection",
                "O'Brien",
            ],
        };
        let mut s = String::new();
        for i in 0..rng.range(0, 5) {
            if i > 0 {
                s.push(rng.pick(&[' ', ' ', sep]));
            }
            s.push_str(rng.pick(words));
        }
        if multiline && rng.chance(0.3) {
            s.push('\n');
            s.push_str(rng.pick(words));
        }
        s
    }
}

/// A cell as an export holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// CSV: written exactly as given (no quoting, no escaping): a damage.
    Raw(String),
    /// XLSX: a formula whose cached value is empty (a file saved by a tool
    /// that does not compute formulas).
    FormulaNoValue,
    /// XLSX: a formula whose cached value is this error (`#N/A`).
    Error(&'static str),
    /// XLSX: an ISO date cell (`t="d"`, as LibreOffice and some exporters
    /// write dates): must be read as the date.
    IsoDate(NaiveDate),
    /// XLSX: merged with the cell above (the merged range shows the upper
    /// cell's value; this cell is empty in the file).
    MergedWithAbove,
}

/// Formats of the writable date texts.
pub const DATE_FORMATS: [&str; 3] = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1251,
    Utf16Le,
    Utf16Be,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Eol {
    Lf,
    CrLf,
    Cr,
}

impl Eol {
    pub fn text(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::Cr => "\r",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CsvDialect {
    pub separator: char,
    pub quote_all: bool,
    pub decimal_comma: bool,
    pub encoding: Encoding,
    pub eol: Eol,
    /// A title line above the header (`header_row = 2`).
    pub title_line: bool,
}

#[derive(Debug, Clone)]
pub enum Format {
    Csv(CsvDialect),
    Xlsx {
        /// Dates as date cells (else as text in the source's format).
        date_cells: bool,
        /// A sheet before the data sheet.
        extra_sheet: bool,
        decimal_comma: bool,
    },
    Parquet,
}

impl Format {
    pub fn describe(&self) -> String {
        match self {
            Format::Csv(d) => format!(
                "csv sep={:?} quote={} decimal={} enc={:?} eol={:?}{}",
                d.separator,
                if d.quote_all { "all" } else { "minimal" },
                if d.decimal_comma { "comma" } else { "point" },
                d.encoding,
                d.eol,
                if d.title_line { " title-line" } else { "" }
            ),
            Format::Xlsx {
                date_cells,
                extra_sheet,
                decimal_comma,
            } => format!(
                "xlsx dates={} decimal={}{}",
                if *date_cells { "cells" } else { "text" },
                if *decimal_comma { "comma" } else { "point" },
                if *extra_sheet { " second-sheet" } else { "" }
            ),
            Format::Parquet => "parquet".into(),
        }
    }

    pub fn decimal_comma(&self) -> bool {
        match self {
            Format::Csv(d) => d.decimal_comma,
            Format::Xlsx { decimal_comma, .. } => *decimal_comma,
            Format::Parquet => false,
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv(_) => "csv",
            Format::Xlsx { .. } => "xlsx",
            Format::Parquet => "parquet",
        }
    }
}

/// One record of an export: a row of cells, and what a correct reading of
/// it gives.
#[derive(Debug, Clone)]
pub struct Record {
    pub patient: usize,
    pub cells: Vec<Cell>,
    /// The canonical values a correct reading gives (schema order).
    pub truth: Vec<Val>,
    /// Other readings that are acceptable, each with whether the row must
    /// then carry a flag (an implausible value kept as written).
    pub alternatives: Vec<(Vec<Val>, bool)>,
    /// A damage touched this record: it may be rejected (or stop the run).
    pub touched: bool,
    /// Records sharing a patient id within one export (a damage): at most
    /// one of them may be analysed (the source declares `unique`).
    pub dup_group: Option<usize>,
    /// CSV: field count change (−1 drops the last field, +1 adds one).
    pub ragged: i32,
    /// Linked copies of one patient across sources share a group.
    pub link_group: Option<usize>,
    /// Removed from the file (after a truncation): not in the export.
    pub gone: bool,
    /// First and last line (CSV) or sheet row of the record, once written.
    pub lines: (i64, i64),
    /// CSV: a prefix written before the record's first field (a BOM).
    pub prefix: String,
}

/// The written table of one source.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    /// The canonical column of each table column (`None`: the comment).
    pub columns: Vec<Option<&'static str>>,
    pub records: Vec<Record>,
    pub vocab: Vocab,
    pub cm: bool,
    pub date_format: &'static str,
}

pub fn fmt_date(d: NaiveDate, format: &str) -> String {
    d.format(format).to_string()
}

pub fn fmt_number(x: f64, decimal_comma: bool) -> String {
    let s = format!("{x}");
    if decimal_comma {
        s.replace('.', ",")
    } else {
        s
    }
}

/// The table of one source: the patients' records in the source's
/// vocabulary, unit and date format, with the truth of each record.
pub fn build_table(
    rng: &mut Rng,
    patients: &[(usize, Patient)],
    format: &Format,
    vocab: Vocab,
) -> Table {
    let cm = rng.chance(0.5);
    let date_format = rng.pick(&DATE_FORMATS);
    let comment = !matches!(format, Format::Parquet) && rng.chance(0.5);
    let mut columns: Vec<Option<&'static str>> = COLUMNS.iter().map(|c| Some(*c)).collect();
    if comment {
        let at = rng.below(columns.len() + 1);
        columns.insert(at, None);
    }
    // Sometimes the export's columns come in another order.
    if rng.chance(0.3) {
        for i in (1..columns.len()).rev() {
            let j = rng.below(i + 1);
            columns.swap(i, j);
        }
    }
    let headers = columns
        .iter()
        .map(|c| match c {
            Some(c) => vocab.header(c, cm).to_string(),
            None => vocab.comment_header().to_string(),
        })
        .collect();
    let date_cells = matches!(
        format,
        Format::Xlsx {
            date_cells: true,
            ..
        }
    );
    let typed = matches!(format, Format::Parquet | Format::Xlsx { .. });
    let multiline = matches!(format, Format::Csv(_));
    let sep = match format {
        Format::Csv(d) => d.separator,
        _ => ';',
    };
    let records = patients
        .iter()
        .map(|(i, p)| {
            let mut truth: Vec<Val> = COLUMNS.iter().map(|c| p.value(c)).collect();
            let cells = columns
                .iter()
                .map(|c| {
                    let Some(c) = c else {
                        return Cell::Text(vocab.comment(rng, sep, multiline));
                    };
                    let v = p.value(c);
                    match (&v, *c) {
                        (Val::Null, c) => match vocab.missing_code(c) {
                            Some(code) if rng.chance(0.7) => Cell::Text(code.into()),
                            _ => Cell::Empty,
                        },
                        (Val::Str(s), c) if !vocab.codes(c).is_empty() => {
                            Cell::Text(vocab.code_of(c, s).into())
                        }
                        (Val::Str(s), _) => Cell::Text(s.clone()),
                        (Val::Int(n), _) => {
                            if typed && rng.chance(0.7) {
                                Cell::Number(*n as f64)
                            } else {
                                Cell::Text(n.to_string())
                            }
                        }
                        (Val::Float(mm), _) => {
                            let written = if cm { mm / 10.0 } else { *mm };
                            let factor = if cm { 10.0 } else { 1.0 };
                            let at = COLUMNS.iter().position(|x| x == c).unwrap();
                            truth[at] = Val::Float(written * factor);
                            if typed && (rng.chance(0.8) || matches!(format, Format::Parquet)) {
                                Cell::Number(written)
                            } else {
                                Cell::Text(fmt_number(written, format.decimal_comma()))
                            }
                        }
                        (Val::Date(d), _) => {
                            let d = super::generator::from_days(*d);
                            if matches!(format, Format::Parquet) || (date_cells && rng.chance(0.9))
                            {
                                Cell::Date(d)
                            } else {
                                Cell::Text(fmt_date(d, date_format))
                            }
                        }
                    }
                })
                .collect();
            Record {
                patient: *i,
                cells,
                truth,
                alternatives: Vec::new(),
                touched: false,
                dup_group: None,
                ragged: 0,
                link_group: None,
                gone: false,
                lines: (0, 0),
                prefix: String::new(),
            }
        })
        .collect();
    Table {
        headers,
        columns,
        records,
        vocab,
        cm,
        date_format,
    }
}

/// One physical piece of a CSV file: a record, the header, or debris (a
/// blank line, a repeated header).
#[derive(Debug, Clone)]
pub struct Piece {
    pub text: String,
    pub record: Option<usize>,
    pub eol: Eol,
}

fn csv_field(cell: &Cell, d: &CsvDialect, date_format: &str) -> String {
    let text = match cell {
        Cell::Raw(s) => return s.clone(),
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Number(x) => fmt_number(*x, d.decimal_comma),
        Cell::Date(x) => fmt_date(*x, date_format),
        Cell::FormulaNoValue | Cell::Error(_) | Cell::MergedWithAbove | Cell::IsoDate(_) => {
            unreachable!("an XLSX damage in a CSV")
        }
    };
    quote(&text, d)
}

pub fn quote(text: &str, d: &CsvDialect) -> String {
    let needs = d.quote_all
        || text.contains(d.separator)
        || text.contains('"')
        || text.contains('\n')
        || text.contains('\r')
        || text.starts_with(' ')
        || text.ends_with(' ');
    if needs {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The header and the records of a table as CSV pieces (before CSV-level
/// damage and encoding).
pub fn csv_pieces(table: &Table, d: &CsvDialect) -> Vec<Piece> {
    let sep = d.separator.to_string();
    let mut pieces = Vec::new();
    if d.title_line {
        pieces.push(Piece {
            text: match table.vocab {
                Vocab::Russian => "Выгрузка регистра ГИСО".into(),
                Vocab::English => "GIST registry export".into(),
            },
            record: None,
            eol: d.eol,
        });
    }
    pieces.push(Piece {
        text: table
            .headers
            .iter()
            .map(|h| quote(h, d))
            .collect::<Vec<_>>()
            .join(&sep),
        record: None,
        eol: d.eol,
    });
    for (i, r) in table.records.iter().enumerate() {
        let mut fields: Vec<String> = r
            .cells
            .iter()
            .map(|c| csv_field(c, d, table.date_format))
            .collect();
        if r.ragged < 0 {
            fields.pop();
        } else if r.ragged > 0 {
            fields.push(quote("x", d));
        }
        let mut text = fields.join(&sep);
        // A line break inside a quoted field is written as the file's.
        if d.eol != Eol::Lf {
            text = text.replace('\n', d.eol.text());
        }
        text.insert_str(0, &r.prefix);
        pieces.push(Piece {
            text,
            record: Some(i),
            eol: d.eol,
        });
    }
    pieces
}

/// Line breaks in a text: `\r\n`, lone `\r` and lone `\n` each count one.
pub fn breaks(text: &str) -> i64 {
    let b = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\r' {
            n += 1;
            if b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else if b[i] == b'\n' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Private-use markers in piece texts: the text between `WRONG_START` and
/// `WRONG_END` is encoded in the wrong encoding; `RAW_BOM` is the bytes of
/// a byte order mark.
pub const WRONG_START: char = '\u{E000}';
pub const WRONG_END: char = '\u{E001}';
pub const RAW_BOM: char = '\u{E002}';

fn encode_plain(text: &str, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 | Encoding::Utf8Bom => text.as_bytes().to_vec(),
        Encoding::Windows1251 => {
            let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(text);
            assert!(!bad, "not encodable in windows-1251: {text:?}");
            bytes.into_owned()
        }
        Encoding::Utf16Le => text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
        Encoding::Utf16Be => text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
    }
}

fn bom(enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 | Encoding::Utf8Bom | Encoding::Windows1251 => vec![0xEF, 0xBB, 0xBF],
        Encoding::Utf16Le => vec![0xFF, 0xFE],
        Encoding::Utf16Be => vec![0xFE, 0xFF],
    }
}

/// A text in the file's encoding, with the markers' damage applied.
pub fn encode(text: &str, enc: Encoding) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find([WRONG_START, RAW_BOM]) {
        out.extend(encode_plain(&rest[..i], enc));
        let c = rest[i..].chars().next().unwrap();
        rest = &rest[i + c.len_utf8()..];
        if c == RAW_BOM {
            out.extend(bom(enc));
            continue;
        }
        // A file cut inside the marked text ends inside it.
        let end = rest.find(WRONG_END).unwrap_or(rest.len());
        let wrong = if enc == Encoding::Windows1251 {
            Encoding::Utf8
        } else {
            Encoding::Windows1251
        };
        out.extend(encode_plain(&rest[..end], wrong));
        rest = &rest[(end + WRONG_END.len_utf8()).min(rest.len())..];
    }
    out.extend(encode_plain(rest, enc));
    out
}

/// The bytes of a CSV file, and the lines of each record (set in
/// `table.records[..].lines`). `truncate_at`: the file ends inside the piece
/// of that record after `n` characters (no line ending).
pub fn csv_bytes(
    table: &mut Table,
    pieces: &[Piece],
    d: &CsvDialect,
    truncate_at: Option<(usize, usize)>,
) -> (Vec<u8>, Vec<(i64, i64)>) {
    let mut debris = Vec::new();
    let header_piece = usize::from(d.title_line);
    let mut out = Vec::new();
    if matches!(
        d.encoding,
        Encoding::Utf8Bom | Encoding::Utf16Le | Encoding::Utf16Be
    ) {
        out.extend(bom(d.encoding));
    }
    let mut line = 1;
    for (k, p) in pieces.iter().enumerate() {
        let mut text = p.text.as_str();
        let mut last = false;
        if let (Some(r), Some((tr, n))) = (p.record, truncate_at)
            && r == tr
        {
            let cut = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
            text = &text[..cut];
            last = true;
        }
        let n = breaks(text);
        if let Some(r) = p.record {
            table.records[r].lines = (line, line + n);
        } else if k > header_piece {
            debris.push((line, line + n));
        }
        line += n + 1;
        out.extend(encode(text, d.encoding));
        if last {
            break;
        }
        out.extend(encode(p.eol.text(), d.encoding));
    }
    (out, debris)
}

/// The bytes of an XLSX workbook holding the table (header on sheet row 1),
/// with `blank_after` / `header_after`: record indices after which an empty
/// row / a repeated header row follows. Sets each record's sheet row.
pub fn xlsx_bytes(
    table: &mut Table,
    sheet: &str,
    extra_sheet: bool,
    blank_after: &[usize],
    header_after: &[usize],
) -> (Vec<u8>, Vec<(i64, i64)>) {
    let mut debris = Vec::new();
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Formula, Workbook};
    let mut wb = Workbook::new();
    if extra_sheet {
        let ws = wb.add_worksheet();
        ws.set_name("Notes").unwrap();
        ws.write_string(0, 0, "Exported from the registry").unwrap();
    }
    let date_fmt = XFormat::new().set_num_format("dd.mm.yyyy");
    let ws = wb.add_worksheet();
    ws.set_name(sheet).unwrap();
    // A formula written without a result has an empty cached value, as in
    // files saved by tools that do not compute formulas.
    ws.set_formula_result_default("");
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    // Writes one cell; a merged range's upper cell is written again with
    // the value it had, whatever its kind.
    let write = |ws: &mut rust_xlsxwriter::Worksheet, row: u32, c: u16, cell: &Cell| match cell {
        Cell::Empty | Cell::MergedWithAbove => {}
        Cell::Text(s) | Cell::Raw(s) => {
            ws.write_string(row, c, s).unwrap();
        }
        Cell::Number(x) => {
            ws.write_number(row, c, *x).unwrap();
        }
        Cell::Date(d) => {
            use chrono::Datelike;
            let dt =
                ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).unwrap();
            ws.write_datetime_with_format(row, c, &dt, &date_fmt)
                .unwrap();
        }
        Cell::FormulaNoValue => {
            // Written with an empty result; `patch_xlsx` removes the
            // empty <v></v>, so the cell has no cached value at all.
            ws.write_formula(row, c, Formula::new("=A1&\"\"").set_result(""))
                .unwrap();
        }
        Cell::IsoDate(d) => {
            // A marker formula that `patch_xlsx` turns into t="d".
            ws.write_formula(
                row,
                c,
                Formula::new(ISO_MARKER).set_result(format!("{}T00:00:00", d.format("%Y-%m-%d"))),
            )
            .unwrap();
        }
        Cell::Error(e) => {
            ws.write_formula(row, c, Formula::new("=NA()").set_result(*e))
                .unwrap();
        }
    };
    let mut row: u32 = 1;
    let mut prev_row: Option<u32> = None;
    let n = table.records.len();
    for i in 0..n {
        let r = &table.records[i];
        for (c, cell) in r.cells.iter().enumerate() {
            let c = c as u16;
            if let Cell::MergedWithAbove = cell {
                let up = prev_row.expect("a merged cell below a record");
                let above = &table.records[i - 1].cells[c as usize];
                ws.merge_range(up, c, row, c, "", &XFormat::new()).unwrap();
                write(ws, up, c, above);
            } else {
                write(ws, row, c, cell);
            }
        }
        table.records[i].lines = (row as i64 + 1, row as i64 + 1);
        prev_row = Some(row);
        row += 1;
        if blank_after.contains(&i) {
            debris.push((row as i64 + 1, row as i64 + 1));
            row += 1;
        }
        if header_after.contains(&i) {
            debris.push((row as i64 + 1, row as i64 + 1));
            for (c, h) in table.headers.iter().enumerate() {
                ws.write_string(row, c as u16, h).unwrap();
            }
            row += 1;
        }
    }
    let bytes = wb.save_to_buffer().unwrap();
    let sheet_file = if extra_sheet {
        "xl/worksheets/sheet2.xml"
    } else {
        "xl/worksheets/sheet1.xml"
    };
    (patch_xlsx(&bytes, sheet_file), debris)
}

const ISO_MARKER: &str = "=\"ISODATE\"";

/// Rewrites the data sheet's XML: formula cells without a cached value lose
/// their empty `<v></v>`; marker cells become ISO date cells (`t="d"`).
fn patch_xlsx(bytes: &[u8], sheet_file: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        if name == sheet_file {
            let xml = String::from_utf8(data).unwrap();
            data = patch_sheet(&xml).into_bytes();
        }
        out.start_file(name, options).unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn patch_sheet(xml: &str) -> String {
    let xml = xml.replace("<v></v>", "");
    let marker = "<f>\"ISODATE\"</f>";
    let mut out = String::new();
    let mut rest = xml.as_str();
    while let Some(i) = rest.find(marker) {
        // The cell's start tag ends just before the marker.
        let head = &rest[..i];
        let start = head.rfind("<c ").unwrap();
        out.push_str(&head[..start]);
        out.push_str(&head[start..].replace(" t=\"str\"", " t=\"d\""));
        rest = &rest[i + marker.len()..];
    }
    out.push_str(rest);
    out
}

/// The bytes of a Parquet file: a column per table column, typed when every
/// value of the column is a number or a date, else text.
pub fn parquet_bytes(table: &mut Table) -> Vec<u8> {
    use polars::prelude::*;
    let mut cols: Vec<Column> = Vec::new();
    for (c, h) in table.headers.iter().enumerate() {
        let cells: Vec<&Cell> = table.records.iter().map(|r| &r.cells[c]).collect();
        let all = |f: fn(&Cell) -> bool| cells.iter().all(|x| matches!(x, Cell::Empty) || f(x));
        let col = if all(|x| matches!(x, Cell::Number(_))) {
            let v: Vec<Option<f64>> = cells
                .iter()
                .map(|x| match x {
                    Cell::Number(n) => Some(*n),
                    _ => None,
                })
                .collect();
            if table.columns[c] == Some("im_line") {
                let v: Vec<Option<i64>> = v.iter().map(|x| x.map(|x| x as i64)).collect();
                Column::new(h.as_str().into(), v)
            } else {
                Column::new(h.as_str().into(), v)
            }
        } else if all(|x| matches!(x, Cell::Date(_))) {
            let v: Vec<Option<i32>> = cells
                .iter()
                .map(|x| match x {
                    Cell::Date(d) => Some(days(*d)),
                    _ => None,
                })
                .collect();
            Column::new(h.as_str().into(), v)
                .cast(&DataType::Date)
                .unwrap()
        } else {
            let v: Vec<Option<String>> = cells
                .iter()
                .map(|x| match x {
                    Cell::Empty => None,
                    Cell::Text(s) | Cell::Raw(s) => Some(s.clone()),
                    Cell::Number(n) => Some(fmt_number(*n, false)),
                    Cell::Date(d) => Some(fmt_date(*d, table.date_format)),
                    _ => unreachable!("an XLSX damage in Parquet"),
                })
                .collect();
            Column::new(h.as_str().into(), v)
        };
        cols.push(col);
    }
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df).unwrap();
    for (i, r) in table.records.iter_mut().enumerate() {
        r.lines = (i as i64 + 2, i as i64 + 2);
    }
    buf
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The source TOML describing an export of `table` in `format`.
#[allow(clippy::too_many_arguments)]
pub fn source_toml(
    name: &str,
    data_file: &str,
    table: &Table,
    format: &Format,
    sheet: &str,
    on_error_reject: bool,
    header_headers: &[String],
) -> String {
    let mut s = String::new();
    s.push_str("[source]\n");
    s.push_str(&format!("name = {}\n", toml_str(name)));
    s.push_str(&format!(
        "centre = {}\n",
        toml_str(&format!("Centre {name}"))
    ));
    s.push_str(&format!("format = \"{}\"\n", format.extension()));
    s.push_str(&format!("path = {}\n", toml_str(data_file)));
    if matches!(format, Format::Xlsx { .. }) {
        s.push_str(&format!("sheet = {}\n", toml_str(sheet)));
    }
    s.push_str(&format!(
        "on_error = \"{}\"\n",
        if on_error_reject { "reject" } else { "fail" }
    ));
    s.push_str("unmapped_columns = \"ignore\"\n");
    s.push_str("unique = [\"patient_id\"]\n");
    s.push_str(&format!(
        "date_formats = [{}]\n",
        toml_str(table.date_format)
    ));
    s.push_str("missing = [\"NA\"]\n");
    if let Format::Csv(d) = format {
        s.push_str("\n[source.csv]\n");
        s.push_str(&format!(
            "separator = {}\n",
            toml_str(&d.separator.to_string())
        ));
        s.push_str(&format!("decimal_comma = {}\n", d.decimal_comma));
        let enc = match d.encoding {
            Encoding::Windows1251 => "windows-1251",
            // UTF-16 with a byte order mark: detected from the BOM.
            _ => "utf-8",
        };
        s.push_str(&format!("encoding = \"{enc}\"\n"));
        if d.title_line {
            s.push_str("header_row = 2\n");
        }
        // An export whose free text holds line breaks declares it, as a
        // user must (docs/sources.md, "Records over several lines").
        let multiline = table.records.iter().any(|r| {
            r.cells
                .iter()
                .any(|c| matches!(c, Cell::Text(t) if t.contains('\n') || t.contains('\r')))
        });
        if multiline {
            s.push_str("multiline_fields = true\n");
        }
    } else if format.decimal_comma() {
        // decimal_comma lives in [source.csv]; an XLSX source cannot set it.
    }
    s.push_str("\n[source.columns]\n");
    for (c, col) in table.columns.iter().enumerate() {
        let Some(col) = col else { continue };
        // The header as the source file names it (before any header damage).
        let h = toml_str(&header_headers[c]);
        let codes = table.vocab.codes(col);
        let mut parts = vec![format!("column = {h}")];
        if !codes.is_empty() {
            let map: Vec<String> = codes
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
                .collect();
            parts.push(format!("values = {{ {} }}", map.join(", ")));
        }
        if let Some(m) = table.vocab.missing_code(col) {
            parts.push(format!("missing = [{}]", toml_str(m)));
        }
        if *col == "tumour_size" {
            parts.push(format!("unit = \"{}\"", if table.cm { "cm" } else { "mm" }));
        }
        s.push_str(&format!("{col} = {{ {} }}\n", parts.join(", ")));
    }
    s
}

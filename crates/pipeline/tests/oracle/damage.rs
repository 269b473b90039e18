//! The damage catalogue: what goes wrong with real exports, applied at
//! random (seeded) to the cells, lines or bytes of a written export. Each
//! damage marks the records it may touch; a record no damage touched must
//! come out exactly as generated.

use super::generator::{DATE_COLUMNS, REQUIRED, Rng, Val, days, from_days};
use super::writers::{
    Cell, DATE_FORMATS, Encoding, Eol, Format, Piece, RAW_BOM, Table, WRONG_END, WRONG_START,
    fmt_date, fmt_number,
};
use chrono::{Datelike, Duration, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    StrayQuote,
    UnclosedQuote,
    RaggedMissingField,
    RaggedExtraField,
    Truncated,
    BlankLines,
    DuplicatedHeader,
    HeaderTypo,
    BomInTheMiddle,
    MixedLineEndings,
    WrongEncodingBytes,
    InvalidDate,
    DateInAnotherFormat,
    UnknownCode,
    DecimalMarkSwapped,
    NegativeSize,
    Age112,
    LastContactAfterCutoff,
    DuplicatePatientId,
    LinkageKeyWithoutDashes,
    XlsxMergedCells,
    XlsxFormulaWithoutValue,
    XlsxErrorCell,
    EmptyRequiredCell,
    NulByte,
    LongField,
    DerivedDivisionByZero,
    XlsxIsoDateCell,
    SourceFileInCp1251,
}

pub const ALL: [Kind; 29] = [
    Kind::StrayQuote,
    Kind::UnclosedQuote,
    Kind::RaggedMissingField,
    Kind::RaggedExtraField,
    Kind::Truncated,
    Kind::BlankLines,
    Kind::DuplicatedHeader,
    Kind::HeaderTypo,
    Kind::BomInTheMiddle,
    Kind::MixedLineEndings,
    Kind::WrongEncodingBytes,
    Kind::InvalidDate,
    Kind::DateInAnotherFormat,
    Kind::UnknownCode,
    Kind::DecimalMarkSwapped,
    Kind::NegativeSize,
    Kind::Age112,
    Kind::LastContactAfterCutoff,
    Kind::DuplicatePatientId,
    Kind::LinkageKeyWithoutDashes,
    Kind::XlsxMergedCells,
    Kind::XlsxFormulaWithoutValue,
    Kind::XlsxErrorCell,
    Kind::EmptyRequiredCell,
    Kind::NulByte,
    Kind::LongField,
    Kind::DerivedDivisionByZero,
    Kind::XlsxIsoDateCell,
    Kind::SourceFileInCp1251,
];

impl Kind {
    pub fn name(self) -> String {
        let s = format!("{self:?}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// Whether the damage can be written in this format.
    pub fn applies(self, format: &Format) -> bool {
        use Kind::*;
        let csv = matches!(format, Format::Csv(_));
        let xlsx = matches!(format, Format::Xlsx { .. });
        let parquet = matches!(format, Format::Parquet);
        match self {
            StrayQuote | UnclosedQuote | RaggedMissingField | RaggedExtraField | BomInTheMiddle
            | MixedLineEndings => csv,
            WrongEncodingBytes => {
                matches!(format, Format::Csv(d) if !matches!(d.encoding, Encoding::Utf16Le | Encoding::Utf16Be))
            }
            XlsxMergedCells | XlsxFormulaWithoutValue | XlsxErrorCell | XlsxIsoDateCell => xlsx,
            BlankLines | DuplicatedHeader => !parquet,
            NulByte => !xlsx,
            InvalidDate | DateInAnotherFormat => !parquet,
            LongField => !parquet,
            _ => true,
        }
    }

    /// A damage confined to cells or one record: with `on_error =
    /// "reject"` the record must be rejected, the run must not stop.
    pub fn rejects_under_reject(self) -> bool {
        use Kind::*;
        matches!(
            self,
            InvalidDate
                | UnknownCode
                | DecimalMarkSwapped
                | EmptyRequiredCell
                | RaggedMissingField
                | RaggedExtraField
                | DuplicatePatientId
                | XlsxErrorCell
        )
    }

    /// A damage that leaves every record readable: the run must succeed
    /// and analyse every patient (debris lines may be rejected).
    pub fn benign(self) -> bool {
        matches!(
            self,
            Kind::MixedLineEndings | Kind::BlankLines | Kind::XlsxIsoDateCell
        )
    }
}

/// One applied damage: its kind, what it did (for the failure report) and
/// the records (by index in the source's table) it may touch.
#[derive(Debug, Clone)]
pub struct Applied {
    pub kind: Kind,
    pub source: usize,
    pub what: String,
    pub touched: Vec<usize>,
    /// An error naming the file is enough (no line): the file as a whole is
    /// unreadable (truncated workbook, header typo).
    pub file_level: bool,
    /// The damage is in the source TOML: the error must name that file and
    /// a line of it.
    pub config_level: bool,
}

/// CSV-level damage decided on the table and applied when the pieces are
/// written.
#[derive(Debug, Default, Clone)]
pub struct CsvPlan {
    /// Debris pieces to insert after record `i`: `(i, text)`.
    pub insert_after: Vec<(usize, String)>,
    pub mixed_eol: bool,
    pub truncate: Option<(usize, usize)>,
}

/// XLSX-level damage: rows to insert.
#[derive(Debug, Default, Clone)]
pub struct XlsxPlan {
    pub blank_after: Vec<usize>,
    pub header_after: Vec<usize>,
    pub truncate: bool,
}

fn col_index(table: &Table, column: &str) -> Option<usize> {
    table.columns.iter().position(|c| *c == Some(column))
}

fn canon(column: &str) -> usize {
    super::generator::COLUMNS
        .iter()
        .position(|c| *c == column)
        .unwrap()
}

fn live(table: &Table) -> Vec<usize> {
    (0..table.records.len())
        .filter(|&i| !table.records[i].gone)
        .collect()
}

fn text_of(cell: &Cell, table: &Table, decimal_comma: bool) -> String {
    match cell {
        Cell::Text(s) | Cell::Raw(s) => s.clone(),
        Cell::Number(x) => fmt_number(*x, decimal_comma),
        Cell::Date(d) => fmt_date(*d, table.date_format),
        _ => String::new(),
    }
}

/// Applies one damage of `kind` to `table` (and the plans); `None` when the
/// table offers no place for it.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    kind: Kind,
    rng: &mut Rng,
    table: &mut Table,
    source: usize,
    format: &Format,
    csv: &mut CsvPlan,
    xlsx: &mut XlsxPlan,
) -> Option<Applied> {
    use Kind::*;
    let n = table.records.len();
    let records = live(table);
    if records.is_empty() {
        return None;
    }
    let r = rng.pick(&records);
    let mut applied = Applied {
        kind,
        source,
        what: String::new(),
        touched: vec![],
        file_level: false,
        config_level: false,
    };
    let sep = match format {
        Format::Csv(d) => d.separator,
        _ => ',',
    };
    let quote_all = matches!(format, Format::Csv(d) if d.quote_all);
    let dc = format.decimal_comma();
    match kind {
        StrayQuote | UnclosedQuote => {
            // A field that starts with a quote although it is not quoted.
            if quote_all {
                return None;
            }
            let j = rng.below(table.columns.len());
            let plain = |t: &Table, i: usize| {
                let s = text_of(&t.records[i].cells[j], t, dc);
                (!s.contains(['"', sep, '\n', '\r']) && !s.starts_with(' ') && !s.ends_with(' '))
                    .then_some(s)
            };
            let first = plain(table, r)?;
            if kind == UnclosedQuote {
                table.records[r].cells[j] = Cell::Raw(format!("\"{first}"));
                applied.touched = (r..n).collect();
                applied.what = format!("record {r}: a quote opens column {j} and never closes");
            } else {
                let s = (r + 1 + rng.below(3)).min(n - 1);
                if s == r || table.records[s].gone {
                    return None;
                }
                let k = if rng.chance(0.7) {
                    j
                } else {
                    rng.below(table.columns.len())
                };
                let last = text_of(&table.records[s].cells[k], table, dc);
                if last.contains(['"', sep, '\n', '\r']) {
                    return None;
                }
                table.records[r].cells[j] = Cell::Raw(format!("\"{first}"));
                table.records[s].cells[k] = Cell::Raw(format!("{last}\""));
                // Where the damage ends cannot be known from the bytes:
                // the closing quote may as well open a field that joins
                // the next record's line to the span. That record may then
                // be rejected with the span's lines named (it is still
                // never allowed to be kept with altered values).
                applied.touched = (r..=(s + 1).min(n - 1)).collect();
                applied.what = format!(
                    "records {r}..={s}: a stray quote opens column {j} of record {r} and a quote closes column {k} of record {s}"
                );
            }
        }
        RaggedMissingField | RaggedExtraField => {
            table.records[r].ragged = if kind == RaggedMissingField { -1 } else { 1 };
            applied.touched = vec![r];
            applied.what = format!(
                "record {r}: one field {}",
                if kind == RaggedMissingField {
                    "missing"
                } else {
                    "too many"
                }
            );
        }
        Truncated => match format {
            Format::Csv(_) => {
                if csv.truncate.is_some() {
                    return None;
                }
                // Cut inside a record of the second half, before its last
                // separator, so the cut record lacks a field.
                let from = n / 2;
                let cands: Vec<usize> = records.iter().copied().filter(|&i| i >= from).collect();
                let r = rng.pick(&cands);
                csv.truncate = Some((r, usize::MAX));
                for i in r + 1..n {
                    table.records[i].gone = true;
                }
                applied.touched = vec![r];
                applied.what = format!("the file ends inside record {r}");
            }
            _ => {
                xlsx.truncate = true;
                applied.touched = (0..n).collect();
                applied.file_level = true;
                applied.what = "the file is cut in half".into();
            }
        },
        BlankLines => {
            let text = match rng.below(3) {
                0 => String::new(),
                1 => sep.to_string().repeat(table.columns.len() - 1),
                _ => "   ".to_string(),
            };
            match format {
                Format::Csv(_) => csv.insert_after.push((r, text.clone())),
                _ => xlsx.blank_after.push(r),
            }
            applied.what = format!("a blank line {text:?} after record {r}");
        }
        DuplicatedHeader => {
            match format {
                Format::Csv(d) => {
                    let h = table
                        .headers
                        .iter()
                        .map(|h| super::writers::quote(h, d))
                        .collect::<Vec<_>>()
                        .join(&sep.to_string());
                    csv.insert_after.push((r, h));
                }
                _ => xlsx.header_after.push(r),
            }
            applied.what = format!("the header again after record {r}");
        }
        HeaderTypo => {
            let cands: Vec<usize> = (0..table.columns.len())
                .filter(|&c| table.columns[c].is_some())
                .collect();
            let c = rng.pick(&cands);
            let h = &table.headers[c];
            let chars: Vec<char> = h.chars().collect();
            let typo: String = match rng.below(3) {
                0 => chars[..chars.len() - 1].iter().collect(),
                1 => format!("{h}s"),
                _ => {
                    let mut v = chars.clone();
                    let i = rng.below(v.len() - 1);
                    v.swap(i, i + 1);
                    if v == chars {
                        format!("{h}_")
                    } else {
                        v.into_iter().collect()
                    }
                }
            };
            applied.what = format!("header {h:?} written {typo:?}");
            table.headers[c] = typo;
            applied.touched = (0..n).collect();
            applied.file_level = true;
        }
        BomInTheMiddle => {
            table.records[r].prefix.insert(0, RAW_BOM);
            applied.touched = vec![r];
            applied.what = format!("a byte order mark before record {r}");
        }
        MixedLineEndings => {
            csv.mixed_eol = true;
            applied.what = "line endings mixed (LF, CRLF, CR)".into();
        }
        WrongEncodingBytes => {
            // In a windows-1251 file, UTF-8 bytes are valid (odd) windows-1251
            // text: only a coded column can tell, so only coded columns there.
            // In a UTF-8 file, windows-1251 bytes are invalid anywhere.
            let cp1251 = matches!(format, Format::Csv(d) if d.encoding == Encoding::Windows1251);
            let vocab = table.vocab;
            let cands: Vec<usize> = (0..table.columns.len())
                .filter(|&c| matches!(table.records[r].cells[c], Cell::Text(_)))
                .filter(|&c| {
                    !cp1251 || table.columns[c].is_some_and(|col| !vocab.codes(col).is_empty())
                })
                .collect();
            if cands.is_empty() {
                return None;
            }
            let c = rng.pick(&cands);
            let Cell::Text(s) = &table.records[r].cells[c] else {
                unreachable!()
            };
            let mut s = s.clone();
            if s.is_ascii() {
                s.push('ё');
            }
            if s.contains(['"', sep, '\n', '\r']) {
                return None;
            }
            table.records[r].cells[c] = Cell::Raw(format!("{WRONG_START}{s}{WRONG_END}"));
            applied.touched = vec![r];
            applied.what = format!("record {r}: column {c} in another encoding");
        }
        InvalidDate => {
            let col = rng.pick(&DATE_COLUMNS);
            let c = col_index(table, col)?;
            let year = match &table.records[r].truth[canon(col)] {
                Val::Date(d) => from_days(*d).year(),
                _ => 2015,
            };
            let (day, month) = rng.pick(&[(31, 2), (30, 2), (31, 4), (32, 1), (0, 5), (15, 13)]);
            let text = match table.date_format {
                "%Y-%m-%d" => format!("{year}-{month:02}-{day:02}"),
                "%d/%m/%Y" => format!("{day:02}/{month:02}/{year}"),
                _ => format!("{day:02}.{month:02}.{year}"),
            };
            applied.what = format!("record {r}: {col} is {text:?}");
            table.records[r].cells[c] = Cell::Text(text);
            applied.touched = vec![r];
        }
        DateInAnotherFormat => {
            let col = rng.pick(&DATE_COLUMNS);
            let c = col_index(table, col)?;
            let Val::Date(d) = table.records[r].truth[canon(col)] else {
                return None;
            };
            let d = from_days(d);
            // Formats that cannot be read as another valid date in the
            // source's format.
            let others: Vec<&str> = DATE_FORMATS
                .iter()
                .copied()
                .filter(|f| *f != table.date_format)
                .chain(["%d.%m.%y", "%Y%m%d", "%d %B %Y"])
                .collect();
            let f = rng.pick(&others);
            let text = fmt_date(d, f);
            applied.what = format!("record {r}: {col} written as {f}");
            table.records[r].cells[c] = Cell::Text(text);
            applied.touched = vec![r];
        }
        UnknownCode => {
            let col = rng.pick(&[
                "sex",
                "primary_site",
                "mutation",
                "mets_site",
                "best_response",
            ]);
            let c = col_index(table, col)?;
            let code = match &table.records[r].cells[c] {
                Cell::Text(s) => match rng.below(3) {
                    0 => s.to_lowercase() + ".",
                    1 => format!("{s}?"),
                    _ => "X".to_string(),
                },
                _ => "unknown".to_string(),
            };
            applied.what = format!("record {r}: {col} code {code:?}");
            table.records[r].cells[c] = Cell::Text(code);
            applied.touched = vec![r];
        }
        DecimalMarkSwapped => {
            let c = col_index(table, "tumour_size")?;
            let cands: Vec<usize> = records
                .iter()
                .copied()
                .filter(|&i| match &table.records[i].truth[canon("tumour_size")] {
                    Val::Float(x) => {
                        let w = if table.cm { x / 10.0 } else { *x };
                        w.fract() != 0.0
                    }
                    _ => false,
                })
                .collect();
            if cands.is_empty() {
                return None;
            }
            let r = rng.pick(&cands);
            let Val::Float(x) = table.records[r].truth[canon("tumour_size")] else {
                unreachable!()
            };
            let w = if table.cm { x / 10.0 } else { x };
            let text = fmt_number(w, !dc);
            applied.what = format!("record {r}: size written with the other decimal mark");
            table.records[r].cells[c] = Cell::Text(text);
            applied.touched = vec![r];
        }
        NegativeSize => {
            let c = col_index(table, "tumour_size")?;
            let Val::Float(x) = table.records[r].truth[canon("tumour_size")] else {
                return None;
            };
            let w = if table.cm { x / 10.0 } else { x };
            let factor = if table.cm { 10.0 } else { 1.0 };
            table.records[r].cells[c] = match &table.records[r].cells[c] {
                Cell::Number(_) => Cell::Number(-w),
                _ => Cell::Text(fmt_number(-w, dc)),
            };
            add_alternative(
                &mut table.records[r],
                canon("tumour_size"),
                Val::Float(-w * factor),
                true,
            );
            applied.touched = vec![r];
            applied.what = format!("record {r}: a negative tumour size");
        }
        Age112 => {
            let c = col_index(table, "birth_date")?;
            let Val::Date(dx) = table.records[r].truth[canon("diagnosis_date")] else {
                unreachable!()
            };
            let birth = from_days(dx) - Duration::days(112 * 365 + 40);
            set_date(table, r, c, birth);
            add_alternative(
                &mut table.records[r],
                canon("birth_date"),
                Val::Date(days(birth)),
                true,
            );
            applied.touched = vec![r];
            applied.what = format!("record {r}: aged 112 at diagnosis");
        }
        LastContactAfterCutoff => {
            let c = col_index(table, "last_followup")?;
            if table.records[r].truth[canon("death_date")] != Val::Null {
                return None;
            }
            let d = NaiveDate::from_ymd_opt(2031, 1 + rng.below(12) as u32, 15).unwrap();
            set_date(table, r, c, d);
            add_alternative(
                &mut table.records[r],
                canon("last_followup"),
                Val::Date(days(d)),
                true,
            );
            applied.touched = vec![r];
            applied.what = format!("record {r}: last contact in 2031, after the cut-off");
        }
        DuplicatePatientId => {
            let c = col_index(table, "patient_id")?;
            let s = rng.pick(&records);
            if s == r {
                return None;
            }
            let id = table.records[r].cells[c].clone();
            table.records[s].cells[c] = id;
            // Read alone (the other record rejected for another reason),
            // the record carries the id as written.
            let id = table.records[r].truth[0].clone();
            add_alternative(&mut table.records[s], 0, id, false);
            let group = table.records[r].dup_group.unwrap_or(r);
            table.records[s].dup_group = Some(group);
            table.records[r].dup_group = Some(group);
            applied.touched = vec![r, s];
            applied.what = format!("record {s} has the patient id of record {r}");
        }
        LinkageKeyWithoutDashes => {
            // Only on a record linked to another source's.
            let c = col_index(table, "national_id")?;
            let cands: Vec<usize> = records
                .iter()
                .copied()
                .filter(|&i| table.records[i].link_group.is_some())
                .collect();
            if cands.is_empty() {
                return None;
            }
            let r = rng.pick(&cands);
            let Cell::Text(s) = &table.records[r].cells[c] else {
                return None;
            };
            let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
            table.records[r].cells[c] = Cell::Text(digits.clone());
            add_alternative(
                &mut table.records[r],
                canon("national_id"),
                Val::Str(digits),
                false,
            );
            // Not touched: the record must still be read and linked.
            applied.what = format!("record {r}: the SNILS of a linked patient without dashes");
        }
        XlsxMergedCells => {
            if r == 0 || table.records[r - 1].gone {
                return None;
            }
            let c = rng.below(table.columns.len());
            if matches!(table.records[r - 1].cells[c], Cell::Empty) {
                return None;
            }
            table.records[r].cells[c] = Cell::MergedWithAbove;
            applied.touched = vec![r - 1, r];
            applied.what = format!("records {}..={r}: column {c} merged", r - 1);
        }
        XlsxFormulaWithoutValue | XlsxErrorCell => {
            let c = rng.below(table.columns.len());
            table.records[r].cells[c] = if kind == XlsxErrorCell {
                Cell::Error(rng.pick(&["#N/A", "#DIV/0!", "#VALUE!", "#REF!"]))
            } else {
                Cell::FormulaNoValue
            };
            applied.touched = vec![r];
            applied.what = format!("record {r}: column {c} is a {kind:?}");
        }
        EmptyRequiredCell => {
            let col = rng.pick(&REQUIRED);
            let c = col_index(table, col)?;
            table.records[r].cells[c] = if rng.chance(0.5) || matches!(format, Format::Parquet) {
                Cell::Empty
            } else {
                Cell::Text("  ".into())
            };
            applied.touched = vec![r];
            applied.what = format!("record {r}: {col} empty");
        }
        NulByte => {
            let cands: Vec<usize> = (0..table.columns.len())
                .filter(|&c| matches!(table.records[r].cells[c], Cell::Text(_)))
                .collect();
            if cands.is_empty() {
                return None;
            }
            let c = rng.pick(&cands);
            let Cell::Text(s) = &table.records[r].cells[c] else {
                unreachable!()
            };
            let mut s = s.clone();
            let at = s
                .char_indices()
                .nth(rng.below(s.chars().count() + 1))
                .map_or(s.len(), |(i, _)| i);
            s.insert(at, '\0');
            table.records[r].cells[c] = Cell::Text(s);
            applied.touched = vec![r];
            applied.what = format!("record {r}: a NUL byte in column {c}");
        }
        DerivedDivisionByZero => {
            // Imatinib started on the day of diagnosis: size_per_day divides
            // by zero.
            let c = col_index(table, "im_start")?;
            let Val::Date(dx) = table.records[r].truth[canon("diagnosis_date")] else {
                unreachable!()
            };
            if table.records[r].truth[canon("tumour_size")] == Val::Null {
                return None;
            }
            let d = from_days(dx);
            set_date(table, r, c, d);
            add_alternative(
                &mut table.records[r],
                canon("im_start"),
                Val::Date(dx),
                false,
            );
            applied.touched = vec![r];
            applied.what = format!(
                "record {r}: imatinib started on the day of diagnosis (a derived division by zero)"
            );
        }
        SourceFileInCp1251 => {
            // The source TOML (with Russian headers) saved in windows-1251:
            // the run stops naming the source file and its line.
            if table.vocab != super::writers::Vocab::Russian {
                return None;
            }
            applied.touched = (0..n).collect();
            applied.config_level = true;
            applied.what = "the source file saved in windows-1251".into();
        }
        XlsxIsoDateCell => {
            // Not a damage to the record: a date cell of another kind, which
            // must be read as its date.
            let col = rng.pick(&DATE_COLUMNS);
            let c = col_index(table, col)?;
            let Val::Date(d) = table.records[r].truth[canon(col)] else {
                return None;
            };
            table.records[r].cells[c] = Cell::IsoDate(from_days(d));
            applied.what = format!("record {r}: {col} an ISO date cell (t=\"d\")");
        }
        LongField => {
            let len = if matches!(format, Format::Xlsx { .. }) {
                30_000
            } else {
                100_000
            };
            match col_index_none(table) {
                Some(c) if rng.chance(0.6) => {
                    table.records[r].cells[c] =
                        Cell::Text("ж".repeat(len / 2) + &"x".repeat(len / 2));
                    applied.what = format!("record {r}: a {len}-character comment");
                }
                _ => {
                    let col = rng.pick(&["sex", "mets_site", "best_response", "primary_site"]);
                    let c = col_index(table, col)?;
                    table.records[r].cells[c] = Cell::Text("x".repeat(len));
                    applied.touched = vec![r];
                    applied.what = format!("record {r}: a {len}-character {col}");
                }
            }
        }
    }
    for &t in &applied.touched {
        table.records[t].touched = true;
    }
    Some(applied)
}

/// Another acceptable reading of a record: the damaged cell as written, on
/// top of the truth and of every reading earlier damages allowed.
fn add_alternative(record: &mut super::writers::Record, column: usize, value: Val, flag: bool) {
    let mut bases = vec![(record.truth.clone(), false)];
    bases.extend(record.alternatives.iter().cloned());
    for (mut b, f) in bases {
        b[column] = value.clone();
        record.alternatives.push((b, f || flag));
    }
}

fn col_index_none(table: &Table) -> Option<usize> {
    table.columns.iter().position(|c| c.is_none())
}

fn set_date(table: &mut Table, r: usize, c: usize, d: NaiveDate) {
    table.records[r].cells[c] = match &table.records[r].cells[c] {
        // A workbook's date cells start in 1900.
        Cell::Date(_) if d.year() >= 1900 => Cell::Date(d),
        _ => Cell::Text(fmt_date(d, table.date_format)),
    };
}

/// The CSV pieces with the plan's debris and line endings applied.
pub fn apply_csv_plan(rng: &mut Rng, mut pieces: Vec<Piece>, plan: &CsvPlan) -> Vec<Piece> {
    let mut out = Vec::new();
    for p in pieces.drain(..) {
        let after = p.record;
        out.push(p);
        if let Some(r) = after {
            for (i, text) in &plan.insert_after {
                if *i == r {
                    let eol = out.last().unwrap().eol;
                    out.push(Piece {
                        text: text.clone(),
                        record: None,
                        eol,
                    });
                }
            }
        }
    }
    if plan.mixed_eol {
        for p in &mut out {
            p.eol = rng.pick(&[Eol::Lf, Eol::CrLf, Eol::Cr]);
        }
        // A CR before a LF that ends the previous line would join them;
        // an empty piece ending in CR followed by LF is one line break.
        for i in 1..out.len() {
            if out[i - 1].eol == Eol::Cr && out[i].text.is_empty() && out[i].eol != Eol::Cr {
                out[i - 1].eol = Eol::CrLf;
            }
        }
    }
    out
}

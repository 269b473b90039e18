//! Reading an export for a scan: the dialect of a text file (encoding,
//! line ends, separator, quote, header line) found from its bytes, and the
//! sheet and header row of a workbook; then every cell of every record fed
//! to the column accumulators.

use crate::profile::{Cell, ColumnAcc, Formats};
use crate::{CsvFacts, FileFormat, FileProfile, LineEnds, ScanError, XlsxFacts};
use calamine::{Data, Reader, open_workbook_auto};
use cohortflow_ingest::{Encoding, decode};
use std::path::Path;

/// Separators tried, in order of preference on a tie.
const SEPARATORS: &[char] = &[';', ',', '\t', '|'];
/// Records looked at to find the separator and the header.
const SNIFF_RECORDS: usize = 50;

pub(crate) fn scan_text(path: &Path, raw: &[u8]) -> Result<FileProfile, ScanError> {
    let err = |message: String, fix: &str| ScanError {
        file: path.to_path_buf(),
        message,
        fix: fix.to_string(),
    };
    if raw.is_empty() {
        return Err(err("the file is empty".into(), "export the table again"));
    }
    let (decoded, how) = detect_encoding(raw).map_err(|(line, message, _)| {
        err(
            format!(
                "{message}{}",
                line.map_or(String::new(), |l| format!(" (line {l})"))
            ),
            "the file is neither UTF-8, UTF-16 nor windows-1251; save it as \"CSV UTF-8\"",
        )
    })?;
    let bom = raw.starts_with(b"\xEF\xBB\xBF")
        || raw.starts_with(b"\xFF\xFE")
        || raw.starts_with(b"\xFE\xFF");
    let line_ends = count_line_ends(raw, decoded.encoding);
    let text = decoded.text.trim_start_matches('\u{feff}');
    let sample = sniff_sample(text);
    let (separator, header_line) = sniff_dialect(sample).ok_or_else(|| {
        err(
            "no separator (; , tab |) gives the lines a common number of fields".into(),
            "check that the file is a delimited text export (CSV)",
        )
    })?;
    let quote = '"';
    let quoted = text.contains(quote);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator as u8)
        .quote(quote as u8)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let formats = Formats::new();
    let mut accs: Vec<ColumnAcc> = Vec::new();
    let (mut records, mut blank, mut ragged) = (0u64, 0u64, 0u64);
    let mut record = csv::StringRecord::new();
    let mut header_seen = false;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(err(
                    format!("the CSV reader stopped on line {line}: {}", e.kind_name()),
                    "check the quotes around that line",
                ));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if !header_seen {
            if line < header_line {
                continue;
            }
            header_seen = true;
            refuse_data_as_header(record.iter(), line, path)?;
            accs = record
                .iter()
                .enumerate()
                .map(|(i, h)| ColumnAcc::new(header_name(h, i), &formats))
                .collect();
            continue;
        }
        records += 1;
        if record.iter().all(|f| f.trim().is_empty()) {
            blank += 1;
            continue;
        }
        if record.len() != accs.len() {
            ragged += 1;
            continue;
        }
        for (acc, field) in accs.iter_mut().zip(record.iter()) {
            acc.push(Cell::Text(field), &formats);
        }
    }
    Ok(FileProfile {
        name: file_name(path),
        path: path.to_path_buf(),
        format: FileFormat::Csv(CsvFacts {
            encoding: decoded.encoding,
            bom,
            how,
            separator,
            quote,
            quoted,
            line_ends,
            lines: decoded.lines,
            header_line,
        }),
        records,
        blank,
        ragged,
        columns: accs.into_iter().map(|a| a.finish(&formats)).collect(),
    })
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "not valid text",
            csv::ErrorKind::UnequalLengths { .. } => "a record of another length",
            _ => "a malformed record",
        }
    }
}

/// A header whose cells are mostly numbers or dates is a record: the file
/// has no header line, and its cells (a patient's values) must not become
/// column names in a report.
fn refuse_data_as_header<'a>(
    cells: impl Iterator<Item = &'a str>,
    line: u64,
    path: &Path,
) -> Result<(), ScanError> {
    let cells: Vec<&str> = cells.map(str::trim).filter(|c| !c.is_empty()).collect();
    let data = cells
        .iter()
        .filter(|c| {
            c.chars()
                .all(|ch| ch.is_ascii_digit() || " .,/-:".contains(ch))
        })
        .count();
    if data * 2 > cells.len() {
        return Err(ScanError {
            file: path.to_path_buf(),
            message: format!(
                "line or row {line} would be the header, but most of its cells are numbers or dates: \
                 the export seems to have no header (its cells are not shown)"
            ),
            fix: "export the table with its column names in the first line".into(),
        });
    }
    Ok(())
}

pub(crate) fn header_name(h: &str, i: usize) -> String {
    let h = h.trim();
    if h.is_empty() {
        format!("(column {})", i + 1)
    } else {
        h.to_string()
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The encoding the file is in, and how the scan knows: a byte order mark,
/// the zero bytes of UTF-16, valid UTF-8, or windows-1251 when not valid
/// UTF-8. Decoding is ingest's, so the scan reads what a run will read.
fn detect_encoding(
    raw: &[u8],
) -> Result<(cohortflow_ingest::Decoded, &'static str), cohortflow_ingest::DecodeError> {
    if let Ok(d) = decode(raw, Encoding::Utf16, "") {
        let how = if raw.starts_with(b"\xEF\xBB\xBF") {
            "UTF-8 byte order mark"
        } else if raw.starts_with(b"\xFF\xFE") || raw.starts_with(b"\xFE\xFF") {
            "UTF-16 byte order mark"
        } else {
            "no byte order mark; every other byte is zero, as in UTF-16"
        };
        return Ok((d, how));
    }
    match decode(raw, Encoding::Utf8, "") {
        Ok(d) if raw.is_ascii() => Ok((d, "ASCII only (any of utf-8 and windows-1251 reads it)")),
        Ok(d) => Ok((d, "no byte order mark; valid UTF-8")),
        Err(_) => decode(raw, Encoding::Windows1251, "").map(|d| {
            (
                d,
                "no byte order mark; not valid UTF-8, read as windows-1251",
            )
        }),
    }
}

/// Line ends of the raw file, in its code units (two bytes in UTF-16).
fn count_line_ends(raw: &[u8], encoding: Encoding) -> LineEnds {
    let units: Box<dyn Iterator<Item = u16>> = match encoding {
        Encoding::Utf16Le | Encoding::Utf16 => Box::new(
            raw.chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]])),
        ),
        Encoding::Utf16Be => Box::new(
            raw.chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]])),
        ),
        _ => Box::new(raw.iter().map(|b| u16::from(*b))),
    };
    let mut ends = LineEnds::default();
    let mut after_cr = false;
    for u in units {
        match u {
            0x0D => {
                if after_cr {
                    ends.cr += 1;
                }
                after_cr = true;
            }
            0x0A => {
                if after_cr {
                    ends.crlf += 1;
                } else {
                    ends.lf += 1;
                }
                after_cr = false;
            }
            _ => {
                if after_cr {
                    ends.cr += 1;
                }
                after_cr = false;
            }
        }
    }
    if after_cr {
        ends.cr += 1;
    }
    ends
}

/// The start of the text: at most 64 KiB, cut after a line end.
fn sniff_sample(text: &str) -> &str {
    if text.len() <= 1 << 16 {
        return text;
    }
    let mut end = 1 << 16;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind('\n') {
        Some(i) => &text[..=i],
        None => &text[..end],
    }
}

/// The separator that gives most of the first records one common number of
/// fields (more than one), and the line of the first record that has it
/// (the header: title lines above it have fewer fields).
fn sniff_dialect(sample: &str) -> Option<(char, u64)> {
    let mut best: Option<(usize, usize, char, u64)> = None;
    for &sep in SEPARATORS {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sep as u8)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample.as_bytes());
        let mut counts: Vec<(usize, u64)> = Vec::new();
        for r in reader.records().take(SNIFF_RECORDS) {
            let Ok(r) = r else { break };
            if r.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            counts.push((r.len(), r.position().map_or(1, |p| p.line())));
        }
        let mut tally: std::collections::BTreeMap<usize, usize> = Default::default();
        for (n, _) in &counts {
            *tally.entry(*n).or_default() += 1;
        }
        let Some((&width, &agree)) = tally
            .iter()
            .filter(|(w, _)| **w > 1)
            .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        else {
            continue;
        };
        let line = counts.iter().find(|(n, _)| *n == width).map_or(1, |c| c.1);
        let better = match best {
            None => true,
            Some((a, w, _, _)) => agree > a || (agree == a && width > w),
        };
        if better {
            best = Some((agree, width, sep, line));
        }
    }
    best.map(|(_, _, sep, line)| (sep, line))
}

pub(crate) fn scan_workbook(path: &Path) -> Result<FileProfile, ScanError> {
    let err = |message: String, fix: &str| ScanError {
        file: path.to_path_buf(),
        message,
        fix: fix.to_string(),
    };
    let opened = guard(|| open_workbook_auto(path))
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| {
            err(
                format!("cannot open the workbook: {e}"),
                "the file is damaged, truncated, password-protected or not a workbook",
            )
        })?;
    let mut book = opened;
    let names = book.sheet_names();
    let mut sheets = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    let mut ranges = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let range = guard(|| book.worksheet_range(name))
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(|e| {
                err(
                    format!("cannot read sheet \"{name}\": {e}"),
                    "the file is damaged or truncated; re-export it",
                )
            })?;
        let used = range.used_cells().filter(|(_, _, c)| !blank(c)).count();
        sheets.push((name.clone(), range.height() as u64, range.width() as u64));
        if best.is_none_or(|(_, u)| used > u) {
            best = Some((i, used));
        }
        ranges.push(range);
    }
    let Some((chosen, _)) = best.filter(|(_, u)| *u > 0) else {
        return Err(err(
            "the workbook has no sheet with data".into(),
            "check that the export holds the table",
        ));
    };
    let range = &ranges[chosen];
    let (r0, _) = range.start().unwrap_or((0, 0));
    let rows: Vec<&[Data]> = range.rows().collect();
    let nonempty = |r: &[Data]| r.iter().filter(|c| !blank(c)).count();
    let widest = rows
        .iter()
        .take(SNIFF_RECORDS)
        .map(|r| nonempty(r))
        .max()
        .unwrap_or(0);
    let header_idx = rows
        .iter()
        .take(SNIFF_RECORDS)
        .position(|r| nonempty(r) == widest)
        .unwrap_or(0);
    let header_cells: Vec<String> = rows[header_idx]
        .iter()
        .map(|c| match c {
            Data::String(s) => s.clone(),
            Data::Empty => String::new(),
            // A number or a date in a header row is data.
            _ => "0".into(),
        })
        .collect();
    refuse_data_as_header(
        header_cells.iter().map(String::as_str),
        r0 as u64 + header_idx as u64 + 1,
        path,
    )?;
    let formats = Formats::new();
    let mut accs: Vec<ColumnAcc> = rows[header_idx]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let h = match c {
                Data::String(s) => s.clone(),
                _ => String::new(),
            };
            ColumnAcc::new(header_name(&h, i), &formats)
        })
        .collect();
    let (mut records, mut blank_rows) = (0u64, 0u64);
    for row in &rows[header_idx + 1..] {
        records += 1;
        if row.iter().all(blank) {
            blank_rows += 1;
            continue;
        }
        for (acc, c) in accs.iter_mut().zip(row.iter()) {
            acc.push(cell(c), &formats);
        }
    }
    // Trailing blank rows are the range's end, not records.
    Ok(FileProfile {
        name: file_name(path),
        path: path.to_path_buf(),
        format: FileFormat::Xlsx(XlsxFacts {
            sheet: names[chosen].clone(),
            sheets,
            header_row: r0 as u64 + header_idx as u64 + 1,
        }),
        records,
        blank: blank_rows,
        ragged: 0,
        columns: accs.into_iter().map(|a| a.finish(&formats)).collect(),
    })
}

fn blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn cell(c: &Data) -> Cell<'_> {
    match c {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::DateTimeIso(s) => {
            let day = s.split('T').next().unwrap_or(s);
            match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => Cell::Date(d),
                Err(_) => Cell::Text(s),
            }
        }
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() && !(-1.0..=2_958_466.0).contains(&dt.as_f64()) => {
            Cell::Error
        }
        Data::DateTime(dt) if dt.is_datetime() => match dt.as_datetime() {
            Some(d) => Cell::Date(d.date()),
            None => Cell::Error,
        },
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        Data::Error(_) => Cell::Error,
    }
}

/// A third-party reader's panic on a malformed file becomes an error.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "the reader failed on this file".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_and_header_below_a_title_line() {
        let text = "Выгрузка регистра, 01.03.2024\nКод;Пол;Возраст\nБ-1;М;61\nБ-2;Ж;54\n";
        assert_eq!(sniff_dialect(text), Some((';', 2)));
        assert_eq!(sniff_dialect("a,b\n1,2\n3,4\n"), Some((',', 1)));
        assert_eq!(sniff_dialect("a\tb\tc\n1\t2\t3\n"), Some(('\t', 1)));
    }

    #[test]
    fn line_ends_of_each_kind() {
        let e = count_line_ends(b"a\r\nb\nc\rd\r\n", Encoding::Utf8);
        assert_eq!((e.crlf, e.lf, e.cr), (2, 1, 1));
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "a\r\nb\r\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let e = count_line_ends(&utf16, Encoding::Utf16Le);
        assert_eq!((e.crlf, e.lf, e.cr), (2, 0, 0));
    }

    #[test]
    fn encodings() {
        let (d, how) = detect_encoding("id;пол\n1;м\n".as_bytes()).unwrap();
        assert_eq!(
            (d.encoding, how),
            (Encoding::Utf8, "no byte order mark; valid UTF-8")
        );
        let (d, _) = detect_encoding(b"id;\xef\xee\xeb\n1;\xec\n").unwrap();
        assert_eq!(d.encoding, Encoding::Windows1251);
        assert_eq!(d.text, "id;пол\n1;м\n");
        let mut utf16 = Vec::new();
        for u in "id;sex\n1;m\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let (d, how) = detect_encoding(&utf16).unwrap();
        assert_eq!(d.encoding, Encoding::Utf16Le);
        assert!(how.contains("every other byte is zero"), "{how}");
    }
}

//! CSV: read with the `csv` crate so that every record keeps its line.

use crate::cell::RawCell;
use crate::config::{Encoding, Source};
use crate::converter::Converter;
use crate::error::IngestError;
use crate::headers::resolve;
use crate::reasons::REASON_FIELDS;
use std::borrow::Cow;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const SEPARATORS: [char; 4] = [',', ';', '\t', '|'];

pub(crate) fn read(source: &Source, conv: &mut Converter) -> Result<(), IngestError> {
    let path = source.data_path();
    let raw = std::fs::read(&path).map_err(|e| {
        conv.error(
            format!("cannot read the data file: {e}"),
            "check `path` in the source file and the file's permissions",
        )
    })?;
    read_bytes(source, conv, &raw)
}

/// Reads the export's bytes (the whole file).
pub(crate) fn read_bytes(
    source: &Source,
    conv: &mut Converter,
    raw: &[u8],
) -> Result<(), IngestError> {
    let cfg = &source.config;
    let dialect = &cfg.csv;
    let toml = source.file.display().to_string();
    let raw: &[u8] = raw.strip_prefix(BOM).unwrap_or(raw);
    if raw.starts_with(b"\xFF\xFE") || raw.starts_with(b"\xFE\xFF") {
        return Err(conv
            .error(
                "the file is UTF-16 (Excel's \"Unicode text\"), which cohortflow does not read",
                "save the export as \"CSV UTF-8\" (or CSV in windows-1251 with encoding = \
                 \"windows-1251\")",
            )
            .at(1));
    }
    let text: Cow<'_, [u8]> = match dialect.encoding {
        Encoding::Utf8 => match std::str::from_utf8(raw) {
            Ok(_) => Cow::Borrowed(raw),
            Err(e) => {
                let at = e.valid_up_to();
                let line = raw[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                return Err(conv
                    .error(
                        format!(
                            "the file is not valid UTF-8 (byte 0x{:02X} on line {line})",
                            raw.get(at).copied().unwrap_or(0)
                        ),
                        format!(
                            "if the export comes from Russian-locale Windows or Excel, set \
                             encoding = \"windows-1251\" in [source.csv] of {toml}"
                        ),
                    )
                    .at(line));
            }
        },
        Encoding::Windows1251 => {
            let (s, _) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(raw);
            Cow::Owned(s.into_owned().into_bytes())
        }
    };

    // Skip the lines before the header.
    let skip = dialect.header_row.saturating_sub(1);
    let mut start = 0usize;
    for _ in 0..skip {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start += p + 1,
            None => {
                return Err(conv.error(
                    format!(
                        "header_row = {} but the file has fewer lines",
                        dialect.header_row
                    ),
                    format!("set header_row in [source.csv] of {toml} to the line of the header"),
                ));
            }
        }
    }
    let offset = skip as u64;

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.separator as u8)
        .quote(dialect.quote as u8)
        .from_reader(&text[start..]);
    let mut record = csv::StringRecord::new();
    let csv_err = |conv: &Converter, e: csv::Error| {
        let line = e.position().map(|p| p.line() + offset);
        let mut err = conv.error(
            format!("the file cannot be read as CSV: {e}"),
            "check the export",
        );
        err.line = line;
        err
    };
    let has_header = reader
        .read_record(&mut record)
        .map_err(|e| csv_err(conv, e))?;
    if !has_header {
        return Err(conv.error(
            "the file has no header line (it is empty)",
            "export the table with its header line",
        ));
    }
    let body = &text[start..];
    let mut lines = LineCounter::new(body, offset);
    let header_line = lines.line_at(record.position().map_or(0, |p| p.byte()));
    let headers: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
    let header_raw = raw_line(raw, dialect.header_row);
    let hint = || header_hint(&headers, header_raw, dialect.encoding, dialect.separator);
    resolve(
        conv,
        &headers,
        header_line,
        &format!("line {header_line}"),
        cfg.unmapped_columns,
        &toml,
        hint,
    )?;

    let width = headers.len();
    let quote = dialect.quote as u8;
    // The last record: where it starts, its line, and the lines it spans.
    let mut last: Option<(usize, i64, u64)> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(conv, e)),
        }
        let start = record.position().map_or(0, |p| p.byte()) as usize;
        let line = lines.line_at(start as u64) as i64;
        let end = (reader.position().byte() as usize).clamp(start, body.len());
        let breaks = line_breaks(&body[start..end]);
        last = Some((start, line, breaks));
        if record.iter().all(|f| f.trim().is_empty()) {
            conv.blank_row(line);
            continue;
        }
        if record.len() != width && breaks > 0 {
            // A record over several lines with the wrong number of fields is
            // a quote out of place: the lines it swallowed are records of
            // their own, so setting it aside would lose them. Always an error.
            return Err(conv
                .error(
                    format!(
                        "the record that starts on line {line} runs over lines {line}-{} and has \
                         {} fields but the header has {width}: a quote {:?} is probably missing \
                         or out of place",
                        line as u64 + breaks,
                        record.len(),
                        dialect.quote
                    ),
                    format!(
                        "check the quotes from line {line} of the export: a field with a \
                         separator or a line break is quoted, and a quote inside it is doubled ({})",
                        format_args!("{q}{q}", q = dialect.quote)
                    ),
                )
                .at(line as u64));
        }
        if record.len() != width {
            conv.bad_record(
                line,
                REASON_FIELDS,
                format!(
                    "line {line} has {} fields but the header has {width}",
                    record.len()
                ),
                format!(
                    "quote fields that contain the separator {:?} or a line break, and check the \
                     export for stray separators",
                    dialect.separator
                ),
                format!("fields={}; expected={width}", record.len()),
            )?;
            continue;
        }
        let rec = &record;
        conv.push_row(line, |i| RawCell::Text(rec.get(i).unwrap_or("")))?;
    }
    // A quote never closed makes the rest of the file one field of the last
    // record, even when its field count happens to match: the records it
    // swallowed would be lost without a trace.
    if let Some((start, line, breaks)) = last
        && breaks > 0
        && body[start..].iter().filter(|&&b| b == quote).count() % 2 == 1
    {
        return Err(conv
            .error(
                format!(
                    "the record on line {line} opens a quote {:?} that is never closed, so lines \
                     {line}-{} (the end of the file) were read as one record",
                    dialect.quote,
                    line as u64 + breaks
                ),
                format!(
                    "close the quote on line {line} of the export (a quote inside a quoted field \
                     is doubled: {q}{q})",
                    q = dialect.quote
                ),
            )
            .at(line as u64));
    }
    if conv.rows_read() == 0 {
        return Err(conv
            .error(
                format!("the file has a header (line {header_line}) but no records"),
                "check the export: a filter or a query that selected nobody, or a file cut short; \
                 if the centre has no patients, remove the source from the pipeline",
            )
            .at(header_line));
    }
    Ok(())
}

/// Line breaks inside a record's bytes (not counting its own line end).
fn line_breaks(record: &[u8]) -> u64 {
    let trimmed = record
        .iter()
        .rposition(|&b| b != b'\n' && b != b'\r')
        .map_or(&record[..0], |i| &record[..=i]);
    trimmed.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Line numbers of record starts, from their byte offsets. The `csv` crate's
/// own `Position::line` lags by one after CRLF line ends (the record is cut at
/// `\r` and its `\n` is counted with the next record), so lines are counted
/// here: a record starts at its byte offset, past any line-end bytes, and its
/// line is one more than the `\n` bytes before it. Offsets only grow, so the
/// count is incremental (one pass over the file in all).
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    newlines: u64,
    offset: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8], offset: u64) -> Self {
        Self {
            text,
            at: 0,
            newlines: 0,
            offset,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let mut b = (byte as usize).min(self.text.len());
        while b < self.text.len() && matches!(self.text[b], b'\r' | b'\n') {
            b += 1;
        }
        if b >= self.at {
            self.newlines += self.text[self.at..b]
                .iter()
                .filter(|&&c| c == b'\n')
                .count() as u64;
            self.at = b;
        }
        self.offset + self.newlines + 1
    }
}

/// The raw bytes of 1-based line `n` (for encoding guesses).
fn raw_line(raw: &[u8], n: usize) -> &[u8] {
    raw.split(|&b| b == b'\n')
        .nth(n.saturating_sub(1))
        .unwrap_or(&[])
}

/// Why the mapped headers might not have been found: the wrong encoding or
/// the wrong separator.
fn header_hint(
    headers: &[String],
    raw: &[u8],
    encoding: Encoding,
    separator: char,
) -> Option<String> {
    let mut hints = Vec::new();
    let non_ascii = raw.iter().any(|b| !b.is_ascii());
    match encoding {
        Encoding::Windows1251 if non_ascii && std::str::from_utf8(raw).is_ok() => hints.push(
            "The header line is valid UTF-8 read as windows-1251 (mojibake such as \"РџРѕР»\"): \
             the file is probably UTF-8; set encoding = \"utf-8\" in [source.csv]"
                .to_string(),
        ),
        _ => {
            if let Some(fixed) = headers.iter().find_map(|h| undo_mojibake(h)) {
                hints.push(format!(
                    "The headers look like UTF-8 text that was decoded as windows-1251 and saved \
                     again (\"{fixed}\" written as mojibake): re-export the file in one encoding"
                ));
            }
        }
    }
    for s in SEPARATORS.iter().filter(|s| **s != separator) {
        if headers.iter().any(|h| h.contains(*s)) {
            hints.push(format!(
                "A header contains {s:?}: is the separator {s:?}? Set separator = {s:?} in \
                 [source.csv] (it is {separator:?})"
            ));
            break;
        }
    }
    (!hints.is_empty()).then(|| hints.join(". "))
}

/// If `s` is UTF-8 text that was decoded as windows-1251, the original.
fn undo_mojibake(s: &str) -> Option<String> {
    if s.is_ascii() {
        return None;
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(s);
    if unmappable || !bytes.iter().any(|b| !b.is_ascii()) {
        return None;
    }
    std::str::from_utf8(&bytes)
        .ok()
        .filter(|o| *o != s)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake_is_undone() {
        assert_eq!(undo_mojibake("РџРѕР»").as_deref(), Some("Пол"));
        assert_eq!(undo_mojibake("Пол"), None);
        assert_eq!(undo_mojibake("sex"), None);
    }
}

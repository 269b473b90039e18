//! CSV: every record read with its line. A line whose quotes are plain is
//! split by hand (`split_plain`); any other record is read by the `csv`
//! crate's reader, whose rules are the file's.

use crate::cell::RawCell;
use crate::chunks;
use crate::config::{Encoding, Source};
use crate::converter::Converter;
use crate::decode::{DecodeError, Piece, Stream};
use crate::error::IngestError;
use crate::headers::resolve;
use crate::reasons::{REASON_FIELDS, REASON_QUOTE};
use cohortflow_core::ledger::LineAccount;
use rayon::prelude::*;

const SEPARATORS: [char; 4] = [',', ';', '\t', '|'];

pub(crate) fn read(
    source: &Source,
    conv: &mut Converter,
    chunk: Option<usize>,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<(), IngestError> {
    let path = source.data_path();
    let file = std::fs::File::open(&path).map_err(|e| {
        conv.error(
            format!("cannot read the data file: {e}"),
            "check `path` in the source file and the file's permissions",
        )
    })?;
    read_stream(source, conv, file, chunk, block(chunk), on_read)
}

/// The piece read from the file at a time: [`BLOCK`], or eight chunks when
/// a test forces the chunks' size.
fn block(chunk: Option<usize>) -> usize {
    chunk.map_or(BLOCK, |c| c.max(1).saturating_mul(8))
}

/// The bytes of the export read and decoded at a time (`decode::Stream`):
/// the records of one piece are read on all cores while the next piece is
/// read and decoded, so a file is never held whole. 8 MiB: large enough
/// that a piece's chunks (1 MiB each) keep both cores busy, small enough
/// that the text held (the bytes and text of the piece being read, the
/// text of the piece whose records are read, and the record a piece ends
/// inside: about 30 MiB a source) is a small part of the table it becomes.
const BLOCK: usize = 8 << 20;

/// The wanted size of a chunk of records read on one core: a quarter of
/// each core's share, so that the cores end together, but no less than
/// 1 MiB (a small file is one chunk) and no more than 64 MiB.
fn chunk_bytes(len: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (len / (4 * threads)).clamp(1 << 20, 64 << 20)
}

/// Reads the export's `raw` bytes (tests, fuzzing, REDCap's rewritten
/// export): as a file is read, in pieces; `chunk` (tests) also makes the
/// pieces small (8 chunks each), so that records are cut across pieces.
pub(crate) fn read_bytes(
    source: &Source,
    conv: &mut Converter,
    raw: &[u8],
    chunk: Option<usize>,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<(), IngestError> {
    read_stream(source, conv, raw, chunk, block(chunk), on_read)
}

/// Reads the export from `reader`, decoded piece by piece (`decode::Stream`,
/// pieces of about `block` bytes).
///
/// The text is decoded and its line ends normalised (`decode`), so CRLF, LF
/// and CR-only files are the same text here. Every physical line is then
/// accounted for: the lines above the header, the header's, each record's
/// (a record over several lines counts each), and the empty lines between
/// records, which the record reader skips. Their sum must be the number of
/// lines `decode` counted from the line ends, or the run stops: a line the
/// reader consumed without a record to show for it would be a patient lost.
///
/// The header is read from the first pieces; then the records, a wave at a
/// time: the records whose end the text read so far holds are cut in chunks
/// (`chunks`) read on all cores, each into a fork of `conv`, absorbed in
/// file order, while the next piece is read; a record that runs past the
/// text read waits for it. `chunk` is the wanted chunk size in bytes
/// (default: [`chunk_bytes`]; tests force tiny chunks). Rows, rejects,
/// counts and the line account come out as one pass over the records would
/// give them.
fn read_stream<R: std::io::Read + Send>(
    source: &Source,
    conv: &mut Converter,
    reader: R,
    chunk: Option<usize>,
    block: usize,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<(), IngestError> {
    let cfg = &source.config;
    let dialect = &cfg.csv;
    let toml = source.file.display().to_string();
    let (separator, quote) = (dialect.separator as u8, dialect.quote as u8);
    let mut stream = Stream::new(reader, dialect.encoding, &toml, block);
    let decode_error = |conv: &Converter, (line, message, fix): DecodeError| {
        let mut e = conv.error(message, fix);
        e.line = line;
        e
    };
    // The text read and not yet consumed, the file's lines read, and
    // whether the last piece is in.
    let mut held = String::new();
    let mut read_lines = 0u64;
    let mut at_end = false;
    // The bytes of the file read so far are told to `on_read` as each
    // piece is taken (counted by the stream, not by a wrapper around the
    // reader: a file reads into spare capacity without zeroing it first,
    // a wrapper's reads would not).
    let mut told = 0u64;
    let mut take =
        |piece: Option<Piece>, stream: &Stream<R>, held: &mut String, at_end: &mut bool| {
            let bytes_read = stream.bytes_read();
            if bytes_read > told {
                on_read(bytes_read - told);
                told = bytes_read;
            }
            match piece {
                Some(p) => {
                    read_lines += p.lines;
                    *at_end = p.last;
                    // Exactly: a doubled buffer would be held to the end.
                    let text = stream.text();
                    held.reserve_exact(text.len());
                    held.push_str(text);
                }
                None => *at_end = true,
            }
        };
    // The first pieces: up to the header and the end of a record after it.
    let skip = dialect.header_row.saturating_sub(1);
    while !at_end && !header_held(held.as_bytes(), skip, separator, quote) {
        let piece = stream.next_piece().map_err(|e| decode_error(conv, e))?;
        take(piece, &stream, &mut held, &mut at_end);
    }
    let encoding = stream.encoding();
    let text = held.as_bytes();

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
    let body = &text[start..];

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.separator as u8)
        .quote(dialect.quote as u8)
        .from_reader(body);
    let mut record = csv::StringRecord::new();
    let mut lines = Lines::new(body, offset, true);
    let csv_err = |conv: &Converter, e: csv::Error| {
        let mut err = conv.error(
            format!("the file cannot be read as CSV: {e}"),
            "check the export",
        );
        err.line = e.position().map(|p| p.line() + offset);
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
    let header = lines
        .record(record_start(record.position()), reader.position().byte())
        .map_err(|m| conv.error(m, BUG))?;
    let header_line = header.first;
    if header.last > header.first && !dialect.multiline_fields.enabled() {
        return Err(conv
            .error(
                format!(
                    "the header runs over lines {}-{}: a quote {:?} in it is not closed on its \
                     line",
                    header.first, header.last, dialect.quote
                ),
                format!("check the quotes of the header on line {}", header.first),
            )
            .at(header.first));
    }
    let headers: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
    let header_text = String::from_utf8_lossy(&body[header.start..header.end]).into_owned();
    let hint = |show: bool| header_hint(&headers, &header_text, encoding, dialect.separator, show);
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
    // The records' fields are taken as text without a check (`Fields`),
    // which is sound only when the reader splits the text at ASCII bytes:
    // `validate` refuses any other separator or quote, and so does this.
    if !(dialect.separator.is_ascii() && dialect.quote.is_ascii()) {
        return Err(conv.error(
            format!(
                "the separator {:?} or the quote {:?} is not an ASCII character",
                dialect.separator, dialect.quote
            ),
            format!("set separator and quote in [source.csv] of {toml} to ASCII characters"),
        ));
    }
    // The records after the header, a wave at a time.
    let mut from = start + lines.at.min(body.len());
    let (mut base, blank_before) = (lines.line, lines.blank);
    let pristine = conv.fork();
    let mut counts = RecordLines::default();
    let mut waves = 0usize;
    loop {
        let records = &held.as_bytes()[from..];
        let target = chunk.unwrap_or_else(|| chunk_bytes(records.len()));
        let cut = chunks::split_records(records, separator, quote, target, at_end);
        if !at_end && cut.end == 0 {
            // No record ends in the text held (a record longer than a
            // piece, or a quote not closed): read on until the text is
            // twice as long, so that it is scanned a bounded number of times.
            let want = (2 * held.len()).max(held.len() + 1);
            while !at_end && held.len() < want {
                let piece = stream.next_piece().map_err(|e| decode_error(conv, e))?;
                take(piece, &stream, &mut held, &mut at_end);
            }
            continue;
        }
        let wave = &records[..cut.end];
        let read = || read_wave(wave, &cut.chunks, base, at_end, width, dialect, &pristine);
        let (next, results) = if at_end {
            (Ok(None), read())
        } else {
            rayon::join(|| stream.next_piece(), read)
        };
        let c = absorb_wave(conv, results, wave, base, at_end, waves > 0, width, dialect)?;
        counts.records += c.records;
        counts.blank += c.blank;
        base += cut.lines;
        waves += 1;
        if at_end {
            break;
        }
        held.drain(..from + cut.end);
        from = 0;
        let piece = next.map_err(|e| decode_error(conv, e))?;
        take(piece, &stream, &mut held, &mut at_end);
    }
    let account = LineAccount {
        read: read_lines,
        before_header: offset,
        header: header.last - header.first + 1,
        records: counts.records,
        blank: blank_before + counts.blank,
    };
    if account.accounted() != account.read {
        return Err(conv.error(
            format!(
                "the file has {} lines, but the reader accounted for {} ({} before the header, \
                 {} of the header, {} of records, {} blank)",
                account.read,
                account.accounted(),
                account.before_header,
                account.header,
                account.records,
                account.blank
            ),
            BUG,
        ));
    }
    conv.lines = Some(account);
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

/// Physical lines of a chunk: of its records, and empty between them.
#[derive(Default, Clone, Copy)]
struct RecordLines {
    records: u64,
    blank: u64,
}

/// Whether `text` (the start of the file) holds the header: the `skip`
/// lines before it, and the end of a record after them.
fn header_held(text: &[u8], skip: usize, separator: u8, quote: u8) -> bool {
    let mut at = 0;
    for _ in 0..skip {
        match memchr::memchr(b'\n', &text[at..]) {
            Some(i) => at += i + 1,
            None => return false,
        }
    }
    // Empty lines before the header end no record of its.
    while text.get(at) == Some(&b'\n') {
        at += 1;
    }
    chunks::split_records(&text[at..], separator, quote, usize::MAX, false).end > 0
}

/// The results of a wave's chunks (`cuts` of `wave`, whose first line
/// follows `base` lines; `last`: it ends the file), each read into a fork
/// of `pristine`, on all cores, in file order.
fn read_wave(
    wave: &[u8],
    cuts: &[chunks::Chunk],
    base: u64,
    last: bool,
    width: usize,
    dialect: &crate::config::CsvDialect,
    pristine: &Converter,
) -> Vec<Result<(Converter, RecordLines), IngestError>> {
    let n = cuts.len();
    let read_one = |i: usize, last: bool| {
        let c = &cuts[i];
        let mut fork = pristine.fork();
        let counts = read_records(
            &wave[c.start..c.end],
            base + c.lines_before,
            last,
            width,
            dialect,
            &mut fork,
        )?;
        Ok::<_, IngestError>((fork, counts))
    };
    if n == 1 {
        vec![read_one(0, last)]
    } else {
        (0..n)
            .into_par_iter()
            .map(|i| read_one(i, last && i + 1 == n))
            .collect()
    }
}

/// Absorbs a wave's forks into `conv` in file order: the first error in
/// file order stops the run. With on_error = "fail" and a unique key, the
/// first problem in file order may be a key seen in an earlier chunk or
/// wave (`before`: waves were absorbed before this one): then nothing of
/// the wave is absorbed and it is read again in one pass, knowing the keys
/// of the waves before, which names the first problem exactly.
#[allow(clippy::too_many_arguments)]
fn absorb_wave(
    conv: &mut Converter,
    results: Vec<Result<(Converter, RecordLines), IngestError>>,
    wave: &[u8],
    base: u64,
    last: bool,
    before: bool,
    width: usize,
    dialect: &crate::config::CsvDialect,
) -> Result<RecordLines, IngestError> {
    type Read = Result<(Converter, RecordLines), IngestError>;
    fn forks(results: &[Read]) -> impl Iterator<Item = &Converter> + Clone {
        results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(f, _)| f))
    }
    let again = conv.fails_fast() && conv.has_unique_key() && (results.len() > 1 || before);
    if again && (results.iter().any(Result::is_err) || conv.collides(forks(&results))) {
        drop(results);
        let mut fork = conv.fork_seen();
        let counts = read_records(wave, base, last, width, dialect, &mut fork)?;
        conv.absorb_seen(fork);
        return Ok(counts);
    }
    conv.reserve_for(forks(&results));
    let mut counts = RecordLines::default();
    for r in results {
        let (fork, c) = r?;
        conv.absorb(fork);
        counts.records += c.records;
        counts.blank += c.blank;
    }
    Ok(counts)
}

/// Reads the records of one chunk (`text`, whole records after `before`
/// physical lines; `last`: it ends the file) into `conv`.
fn read_records(
    text: &[u8],
    before: u64,
    last: bool,
    width: usize,
    dialect: &crate::config::CsvDialect,
    conv: &mut Converter,
) -> Result<RecordLines, IngestError> {
    let (separator, quote) = (dialect.separator as u8, dialect.quote as u8);
    // The `csv` reader, made the first time a record is not plain.
    let mut reader: Option<csv::Reader<std::io::Cursor<&[u8]>>> = None;
    let mut bytes = csv::ByteRecord::new();
    let mut bounds = Vec::new();
    let body = text;
    let mut lines = Lines::new(text, before, last);
    let csv_err = |conv: &Converter, e: csv::Error| {
        let mut err = conv.error(
            format!("the file cannot be read as CSV: {e}"),
            "check the export",
        );
        err.line = e.position().map(|p| p.line() + before);
        err
    };
    // Where the next record (or the empty lines before it) starts, and how
    // many empty lines were passed since the last record.
    let mut pos = 0;
    let mut empty = 0;
    while pos < text.len() {
        // An empty line is no record (as the `csv` reader skips it); `lines`
        // counts it as the gap before the next record.
        if text[pos] == b'\n' {
            pos += 1;
            empty += 1;
            continue;
        }
        let (line_end, plain) = match split_unquoted(&text[pos..], separator, quote, &mut bounds) {
            Some(len) => (pos + len, true),
            None => {
                let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |k| pos + k);
                (
                    end,
                    split_plain(&text[pos..end], separator, quote, &mut bounds),
                )
            }
        };
        let (next, record, rec) = if plain {
            let next = (line_end + 1).min(text.len());
            let rec = lines.one_line(pos, next);
            (next, Fields::Plain(&text[pos..line_end], &bounds), rec)
        } else {
            // Quotes the plain split does not read (a doubled quote, a
            // quoted field over several lines, a quote out of place):
            // this one record by the `csv` reader, from where it starts.
            let r = reader.get_or_insert_with(|| {
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(separator)
                    .quote(quote)
                    .from_reader(std::io::Cursor::new(text))
            });
            let mut at = csv::Position::new();
            at.set_byte(pos as u64)
                .set_line(lines.line + empty + 1 - before);
            r.seek_raw(std::io::SeekFrom::Start(pos as u64), at)
                .map_err(|e| csv_err(conv, e))?;
            match r.read_byte_record(&mut bytes) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_err(conv, e)),
            }
            let next = r.position().byte();
            let rec = lines
                .record(record_start(bytes.position()), next)
                .map_err(|m| conv.error(m, BUG))?;
            (next as usize, Fields::of(&bytes), rec)
        };
        pos = next.max(pos + 1);
        empty = 0;
        let (line, last) = (rec.first as i64, rec.last as i64);
        lines.records += (last - line + 1) as u64;
        if last > line
            && let Some(message) = swallowed(&rec, body, record, width, dialect)
        {
            conv.reject_span(
                line,
                last,
                message,
                format!(
                    "check the quotes from line {line} of the export: a field with a separator \
                     or a line break is quoted, and a quote inside it is doubled ({q}{q}); with \
                     on_error = \"reject\" lines {line}-{last} are set aside",
                    q = dialect.quote
                ),
            )?;
            continue;
        }
        // A line break inside a field that is not text: the record's lines
        // were joined by a stray quote whose pair happened to keep the field
        // count; every line of it is set aside, named.
        if last > line
            && let Some(field) = (0..record.len()).find(|&i| {
                record.get(i).unwrap_or("").contains('\n')
                    && !conv.may_hold_line_break(i, &dialect.multiline_fields)
            })
        {
            conv.reject_span(
                line,
                last,
                format!(
                    "the record on line {line} runs over lines {line}-{last}, and its field {} \
                     holds a line break, which that column may not (it is not text, or not listed \
                     in multiline_fields): a quote {:?} is probably missing or out of place, and \
                     lines {}-{last} may be records it joined",
                    field + 1,
                    dialect.quote,
                    line + 1
                ),
                format!(
                    "check the quotes from line {line} of the export: a field with a separator \
                     or a line break is quoted, and a quote inside it is doubled ({q}{q})",
                    q = dialect.quote
                ),
            )?;
            continue;
        }
        // A plain record's quotes are in place (`split_plain`).
        if let Some(k) = match record {
            Fields::Plain(..) => None,
            Fields::Csv(_) => stray_quote(&body[rec.start..rec.end], separator, quote),
        } {
            let at = line + k as i64;
            let message = format!(
                "line {at}: a quote {q:?} stands inside a field that is not quoted, or a \
                 quoted field goes on after its closing quote: the quotes of the record on \
                 line {line} are broken, and its values (or its neighbours') cannot be trusted",
                q = dialect.quote
            );
            let fix = format!(
                "check the quotes on line {at} of the export: a field that holds a quote is \
                 quoted as a whole and the quote inside it is doubled ({q}{q})",
                q = dialect.quote
            );
            if last > line {
                conv.reject_span(line, last, message, fix)?;
            } else {
                conv.bad_record(line, REASON_QUOTE, message, fix, String::new())?;
            }
            continue;
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            conv.blank_row(line);
            continue;
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
        let clean = match record {
            Fields::Plain(text, _) => crate::cell::clean_text(text),
            Fields::Csv(_) => false,
        };
        conv.push_row_checked(line, clean, |i| RawCell::Text(record.get(i).unwrap_or("")))?;
    }
    let blank_at_end = lines.rest().map_err(|m| conv.error(m, BUG))?;
    Ok(RecordLines {
        records: lines.records,
        blank: lines.blank + blank_at_end,
    })
}

const BUG: &str = "this is a bug in cohortflow; please report it with the export's line ends and \
                   quotes (not its data)";

fn record_start(position: Option<&csv::Position>) -> u64 {
    position.map_or(0, |p| p.byte())
}

/// A record's fields as text, not checked again: cut from the decoded
/// export (a `str`) at ASCII bytes only (the separator, the quote, a line
/// end; `read_text` refuses a separator or quote that is not ASCII), which
/// never stand inside a multi-byte UTF-8 sequence, so every field is a
/// valid `str` already. (A `StringRecord` checked every record again:
/// about 5 % of a 1M-row ingest's CPU.)
#[derive(Clone, Copy)]
enum Fields<'r> {
    /// A plain line ([`split_plain`]): the line and its fields' bounds.
    Plain(&'r [u8], &'r [(usize, usize)]),
    /// A record the `csv` reader read (quotes the plain split leaves to it).
    Csv(&'r csv::ByteRecord),
}

impl<'r> Fields<'r> {
    fn of(record: &'r csv::ByteRecord) -> Self {
        debug_assert!(
            record.iter().all(|f| std::str::from_utf8(f).is_ok()),
            "a field cut from UTF-8 text at ASCII bytes is UTF-8"
        );
        Fields::Csv(record)
    }

    fn len(self) -> usize {
        match self {
            Fields::Plain(_, bounds) => bounds.len(),
            Fields::Csv(record) => record.len(),
        }
    }

    fn get(self, i: usize) -> Option<&'r str> {
        let field = match self {
            Fields::Plain(line, bounds) => bounds.get(i).map(|&(a, b)| &line[a..b]),
            Fields::Csv(record) => record.get(i),
        };
        debug_assert!(field.is_none_or(|f| std::str::from_utf8(f).is_ok()));
        // SAFETY: see the type's comment; checked in debug builds.
        field.map(|f| unsafe { std::str::from_utf8_unchecked(f) })
    }

    fn iter(self) -> impl Iterator<Item = &'r str> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }
}

/// The first line of `text` split as [`split_plain`] splits it, in one
/// pass that also finds the line's end, if the line holds no quote: its
/// length (without the line end), its fields' bounds in `bounds`. None
/// (and `bounds` empty) when a quote is met first.
///
/// On x86-64 the line is read 16 bytes at a time (SSE2, which every
/// x86-64 processor has): one comparison per byte class gives a bit per
/// separator and per line end or quote, and only those bits are visited.
/// A loop over the bytes with a branch on each was a tenth of ingest's
/// CPU (perf, 1M and 10M); the bytes the blocks leave (under 16 at the
/// end) and other processors take that loop ([`split_unquoted_bytes`]).
/// The test `split_by_blocks_is_split_by_bytes` compares the two.
fn split_unquoted(
    text: &[u8],
    separator: u8,
    quote: u8,
    bounds: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    bounds.clear();
    #[cfg(target_arch = "x86_64")]
    if separator != b'\n' && separator != quote && quote != b'\n' {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let mut start = 0;
        let mut i = 0;
        // SAFETY: SSE2 is in every x86-64 target's baseline features; each
        // load reads the 16 bytes `text[i..i + 16]`, within the slice, and
        // `_mm_loadu_si128` allows any alignment.
        unsafe {
            let sep = _mm_set1_epi8(separator as i8);
            let end = _mm_set1_epi8(b'\n' as i8);
            let quo = _mm_set1_epi8(quote as i8);
            while i + 16 <= text.len() {
                let v = _mm_loadu_si128(text.as_ptr().add(i).cast::<__m128i>());
                let mut seps = _mm_movemask_epi8(_mm_cmpeq_epi8(v, sep)) as u32;
                let stops =
                    _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, end), _mm_cmpeq_epi8(v, quo)))
                        as u32;
                if stops != 0 {
                    // Only the separators before the first line end or quote.
                    seps &= (stops & stops.wrapping_neg()) - 1;
                }
                while seps != 0 {
                    let k = i + seps.trailing_zeros() as usize;
                    bounds.push((start, k));
                    start = k + 1;
                    seps &= seps - 1;
                }
                if stops != 0 {
                    let k = i + stops.trailing_zeros() as usize;
                    if text[k] == b'\n' {
                        bounds.push((start, k));
                        return Some(k);
                    }
                    bounds.clear();
                    return None;
                }
                i += 16;
            }
        }
        return split_unquoted_bytes(text, start, i, separator, quote, bounds);
    }
    split_unquoted_bytes(text, 0, 0, separator, quote, bounds)
}

/// [`split_unquoted`] byte by byte from byte `from` of `text`, the field
/// under way starting at `start` (its bounds so far in `bounds`).
fn split_unquoted_bytes(
    text: &[u8],
    mut start: usize,
    from: usize,
    separator: u8,
    quote: u8,
    bounds: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    for (i, &b) in text.iter().enumerate().skip(from) {
        if b == separator {
            bounds.push((start, i));
            start = i + 1;
        } else if b == b'\n' {
            bounds.push((start, i));
            return Some(i);
        } else if b == quote {
            bounds.clear();
            return None;
        }
    }
    bounds.push((start, text.len()));
    Some(text.len())
}

/// The fields of one line (without its line end) as the `csv` reader reads
/// them, if every field is plain: not quoted and without a quote, or quoted
/// whole (the quote first, the closing quote last) with no quote inside.
/// Their bounds in `line` go to `bounds`. False when a quote is anything
/// else (doubled inside a field, out of place, or opening a field that the
/// line does not close): such a line is left to the `csv` reader, whose
/// rules for those are what the rest of the file is read by.
///
/// Written by hand because the `csv` reader copies every field into its
/// record and walks every byte through its state machine: about a sixth of
/// ingest's CPU on the benchmark's exports, most of whose lines hold no
/// quote. The test `plain_lines_split_as_the_csv_reader_reads_them`
/// compares the two on random lines.
fn split_plain(line: &[u8], separator: u8, quote: u8, bounds: &mut Vec<(usize, usize)>) -> bool {
    bounds.clear();
    if memchr::memchr(quote, line).is_none() {
        let mut start = 0;
        for k in memchr::memchr_iter(separator, line) {
            bounds.push((start, k));
            start = k + 1;
        }
        bounds.push((start, line.len()));
        return true;
    }
    // `i` is where a field starts.
    let mut i = 0;
    loop {
        if line.get(i) == Some(&quote) {
            let Some(k) = memchr::memchr(quote, &line[i + 1..]) else {
                return false;
            };
            let close = i + 1 + k;
            bounds.push((i + 1, close));
            match line.get(close + 1) {
                None => return true,
                Some(&b) if b == separator => i = close + 2,
                Some(_) => return false,
            }
        } else {
            match memchr::memchr2(separator, quote, &line[i..]) {
                None => {
                    bounds.push((i, line.len()));
                    return true;
                }
                Some(k) if line[i + k] == separator => {
                    bounds.push((i, i + k));
                    i += k + 1;
                }
                Some(_) => return false,
            }
        }
    }
}

/// Where a record lies in the (normalised) text: bytes `start..end` without
/// its line end, physical lines `first..=last`.
struct Span {
    start: usize,
    end: usize,
    first: u64,
    last: u64,
    /// The record ends the file.
    at_end: bool,
}

/// Walks the text record by record and counts the lines between them.
struct Lines<'a> {
    text: &'a [u8],
    /// The text ends the file (not a chunk before the last).
    last: bool,
    /// End of the last record, past its line end.
    at: usize,
    /// Lines before `at`.
    line: u64,
    /// Empty lines skipped between records.
    blank: u64,
    /// Lines of records (kept, rejected, blank or set aside).
    records: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8], offset: u64, last: bool) -> Self {
        Self {
            text,
            last,
            at: 0,
            line: offset,
            blank: 0,
            records: 0,
        }
    }

    /// The record the reader found from byte `start` to `next` (where the
    /// reader stands after it). The bytes between the previous record and
    /// this one must be empty lines only.
    fn record(&mut self, start: u64, next: u64) -> Result<Span, String> {
        let len = self.text.len();
        let mut start = (start as usize).clamp(self.at, len);
        let gap = &self.text[self.at..start];
        if let Some(i) = gap.iter().position(|&b| b != b'\n') {
            return Err(format!(
                "the CSV reader skipped text on line {} that is not an empty line",
                self.line + gap[..i].iter().filter(|&&b| b == b'\n').count() as u64 + 1
            ));
        }
        self.blank += gap.len() as u64;
        self.line += gap.len() as u64;
        // The reader may report a record's start at the empty lines before it.
        while start < len && self.text[start] == b'\n' {
            start += 1;
            self.blank += 1;
            self.line += 1;
        }
        let next = (next as usize).clamp(start, len);
        let end = if next > start && self.text[next - 1] == b'\n' {
            next - 1
        } else {
            next
        };
        let breaks = self.text[start..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        let first = self.line + 1;
        let last = first + breaks;
        self.line = if next > end { last } else { last - 1 };
        self.at = next;
        Ok(Span {
            start,
            end,
            first,
            last,
            at_end: self.last && next >= len,
        })
    }

    /// [`Lines::record`] for a record on one line, from `start` to `next`
    /// (past its line end, if it has one), after nothing but the empty
    /// lines its reader passed: nothing to scan.
    fn one_line(&mut self, start: usize, next: usize) -> Span {
        debug_assert!(self.text[self.at..start].iter().all(|&b| b == b'\n'));
        debug_assert!(!self.text[start..next.saturating_sub(1)].contains(&b'\n'));
        let gap = (start - self.at) as u64;
        self.blank += gap;
        self.line += gap;
        let ended = next > start && self.text[next - 1] == b'\n';
        let first = self.line + 1;
        self.line = if ended { first } else { first - 1 };
        self.at = next;
        Span {
            start,
            end: if ended { next - 1 } else { next },
            first,
            last: first,
            at_end: self.last && next >= self.text.len(),
        }
    }

    /// Empty lines after the last record.
    fn rest(&mut self) -> Result<u64, String> {
        let gap = &self.text[self.at.min(self.text.len())..];
        if gap.iter().any(|&b| b != b'\n') {
            return Err(format!(
                "the CSV reader stopped before the end of the file (line {})",
                self.line + 1
            ));
        }
        Ok(gap.len() as u64)
    }
}

/// Why a record over several lines may hold records swallowed by a stray
/// quote (`docs/sources.md`, "Records over several lines"), if it may: a
/// quote never closed; a line break inside quotes where the source does not
/// declare `multiline_fields`; a field count other than the header's; a line
/// of it that reads as a record of its own; a field with a line break that
/// holds as many separators as a whole record.
fn swallowed(
    rec: &Span,
    body: &[u8],
    record: Fields<'_>,
    width: usize,
    dialect: &crate::config::CsvDialect,
) -> Option<String> {
    let (line, last) = (rec.first, rec.last);
    let quote = dialect.quote as u8;
    let bytes = &body[rec.start..rec.end];
    if rec.at_end && bytes.iter().filter(|&&b| b == quote).count() % 2 == 1 {
        return Some(format!(
            "the record on line {line} opens a quote {:?} that is never closed, so lines \
             {line}-{last} (the end of the file) were read as one record",
            dialect.quote
        ));
    }
    if !dialect.multiline_fields.enabled() {
        let inner = if last == line + 1 {
            format!("line {last}")
        } else {
            format!("lines {}-{last}", line + 1)
        };
        return Some(format!(
            "a quoted field of the record on line {line} runs over lines {line}-{last}, and the \
             source does not declare multiline_fields = true: a quote {:?} is probably missing \
             or out of place, and {inner} may be records it swallowed",
            dialect.quote
        ));
    }
    let fields = record.len();
    if fields != width {
        return Some(format!(
            "the record that starts on line {line} runs over lines {line}-{last} and has \
             {fields} fields but the header has {width}: a quote {:?} is probably missing or out \
             of place",
            dialect.quote
        ));
    }
    if let Some(k) = swallowed_line(bytes, dialect.separator as u8, quote, width) {
        return Some(format!(
            "a quoted field of the record on line {line} runs over lines {line}-{last}, and line \
             {} inside it reads as a record of its own ({width} fields, as many as the header): \
             a quote {:?} is probably missing or out of place",
            line + k as u64,
            dialect.quote
        ));
    }
    holds_a_record(record, dialect.separator, width).map(|field| {
        format!(
            "field {} of the record on line {line} runs over lines {line}-{last} and holds {} \
             separators {:?} or more, as many as a whole record of {width} fields: a stray quote \
             {:?} probably joined the end of line {line} and the start of line {} into one field",
            field + 1,
            width.saturating_sub(1),
            dialect.separator,
            dialect.quote,
            line + 1
        )
    })
}

/// The first field (0-based) that holds a line break and at least `width -
/// 1` separators, if any. A stray quote that opens field `j` of a record and
/// is closed by a quote in field `j` of the next keeps the field count, and
/// the joined field then holds the rest of the first record (`width - 1 - j`
/// separators) and the start of the second (`j`): together the separators of
/// a whole record. A text with line breaks (a comment, an address) holding
/// as many separators as a record is refused too: set aside, named, never
/// read as a patient's value.
fn holds_a_record(record: Fields<'_>, separator: char, width: usize) -> Option<usize> {
    let need = width.saturating_sub(1).max(1);
    record
        .iter()
        .position(|f| f.contains('\n') && f.matches(separator).count() >= need)
}

/// Where the quotes of a record break RFC 4180, as the 0-based line within
/// the record: a quote inside a field that is not quoted (`abc"`), or a
/// quoted field that goes on after its closing quote (`"abc"def`). The
/// `csv` reader accepts both leniently, which would keep a stray quote in a
/// value, or hide that a stray quote joined or split records.
///
/// The record is walked field by field with memchr: an unquoted field to
/// its next separator, line break or quote, a quoted one to its next quote
/// or line break. (perf put about 0.1 CPU-s on the walk byte by byte, the
/// test's oracle `stray_quote_bytewise`, on the benchmark's million-row
/// exports, where 84,749 records quote a site.)
fn stray_quote(record: &[u8], separator: u8, quote: u8) -> Option<usize> {
    // Without a quote, no quote is out of place.
    memchr::memchr(quote, record)?;
    let mut line = 0;
    // `i` is where a field starts.
    let mut i = 0;
    while i < record.len() {
        if record[i] != quote || record[i] == separator || record[i] == b'\n' {
            // Unquoted (or empty): it ends at a separator or a line break;
            // a quote before that is out of place.
            let k = i + memchr::memchr3(separator, b'\n', quote, &record[i..])?;
            let b = record[k];
            if b == separator || b == b'\n' {
                line += usize::from(b == b'\n');
                i = k + 1;
                continue;
            }
            return Some(line);
        }
        // Quoted: up to the closing quote (a doubled quote is a quote in
        // the text), counting the line breaks inside.
        i += 1;
        loop {
            let k = i + memchr::memchr2(quote, b'\n', &record[i..])?;
            if record[k] != quote {
                line += 1;
                i = k + 1;
            } else if record.get(k + 1) == Some(&quote) {
                i = k + 2;
            } else {
                i = k + 1;
                break;
            }
        }
        // After the closing quote: the field's end, or the record's.
        match record.get(i) {
            None => return None,
            Some(&b) if b == separator || b == b'\n' => {
                line += usize::from(b == b'\n');
                i += 1;
            }
            Some(_) => return Some(line),
        }
    }
    None
}

/// With `multiline_fields`, a record over several lines is a swallowed one
/// when one of its lines, read on its own, has exactly the header's number
/// of fields: a text field with line breaks does not hold whole records.
/// Judged are the lines strictly inside the record, and its last line when
/// the field that breaks is not the record's first: the last line of a true
/// multi-line field then holds only the fields after it (fewer than the
/// header), so a last line of the header's width is a record of its own.
/// Returns the 0-based index of that line within the record.
fn swallowed_line(record: &[u8], separator: u8, quote: u8, width: usize) -> Option<usize> {
    let fields = |line: &[u8]| {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(separator)
            .quote(quote)
            .from_reader(line);
        let mut rec = csv::ByteRecord::new();
        match r.read_byte_record(&mut rec) {
            Ok(true) => rec.len(),
            _ => 0,
        }
    };
    let lines: Vec<&[u8]> = record.split(|&b| b == b'\n').collect();
    let last = lines.len() - 1;
    let first_fields = fields(lines[0]);
    (1..=last).find(|&k| (k < last || first_fields >= 2) && fields(lines[k]) == width)
}

/// Why the mapped headers might not have been found: the wrong encoding or
/// the wrong separator. `show`: the header's cells may be quoted (they are
/// known to be headers, or `--show-values`).
fn header_hint(
    headers: &[String],
    header_text: &str,
    encoding: Encoding,
    separator: char,
    show: bool,
) -> Option<String> {
    let mut hints = Vec::new();
    let raw = match encoding {
        Encoding::Windows1251 => encoding_rs::WINDOWS_1251.encode(header_text).0.into_owned(),
        _ => Vec::new(),
    };
    let non_ascii = raw.iter().any(|b| !b.is_ascii());
    match encoding {
        Encoding::Windows1251 if non_ascii && std::str::from_utf8(&raw).is_ok() => hints.push(
            "The header line is valid UTF-8 read as windows-1251 (mojibake such as \"РџРѕР»\"): \
             the file is probably UTF-8; set encoding = \"utf-8\" in [source.csv]"
                .to_string(),
        ),
        _ => {
            if let Some(fixed) = headers.iter().find_map(|h| undo_mojibake(h)) {
                let example = if show {
                    format!(" (\"{fixed}\" written as mojibake)")
                } else {
                    String::new()
                };
                hints.push(format!(
                    "The headers look like UTF-8 text that was decoded as windows-1251 and saved \
                     again{example}: re-export the file in one encoding"
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
    fn quotes_that_break_rfc_4180_are_found_on_their_line() {
        let q = |s: &str| stray_quote(s.as_bytes(), b',', b'"');
        assert_eq!(q("a,b,c\n"), None);
        assert_eq!(q("\"a,b\",\"say \"\"hi\"\"\",c\n"), None);
        assert_eq!(q("\"two\nlines\",c\n"), None);
        assert_eq!(q("a,b\",c\n"), Some(0), "a quote inside an unquoted field");
        assert_eq!(q("\"a\"b,c\n"), Some(0), "text after the closing quote");
        assert_eq!(q("\"x\ny\",z\"\n"), Some(1), "on the record's second line");
    }

    /// The byte-by-byte walk the fast [`stray_quote`] replaced: its oracle.
    fn stray_quote_bytewise(record: &[u8], separator: u8, quote: u8) -> Option<usize> {
        // Without a quote, no quote is out of place.
        memchr::memchr(quote, record)?;
        #[derive(PartialEq)]
        enum State {
            FieldStart,
            Unquoted,
            Quoted,
            AfterClosing,
        }
        let mut state = State::FieldStart;
        let mut line = 0;
        let mut i = 0;
        while i < record.len() {
            let b = record[i];
            match state {
                State::FieldStart | State::Unquoted | State::AfterClosing
                    if b == separator || b == b'\n' =>
                {
                    if b == b'\n' {
                        line += 1;
                    }
                    state = State::FieldStart;
                }
                State::FieldStart if b == quote => state = State::Quoted,
                State::FieldStart => state = State::Unquoted,
                State::Unquoted if b == quote => return Some(line),
                State::Unquoted => {}
                State::AfterClosing => return Some(line),
                State::Quoted if b == quote => {
                    if record.get(i + 1) == Some(&quote) {
                        i += 1;
                    } else {
                        state = State::AfterClosing;
                    }
                }
                State::Quoted => {
                    if b == b'\n' {
                        line += 1;
                    }
                }
            }
            i += 1;
        }
        None
    }

    /// The fast walk finds what the byte-by-byte one finds, on every record
    /// of up to 7 bytes from separators, quotes, line breaks and letters,
    /// and on random longer ones.
    #[test]
    fn stray_quotes_are_found_as_byte_by_byte() {
        let alphabet = [b',', b'"', b'\n', b'a'];
        for len in 0..=7u32 {
            for n in 0..4usize.pow(len) {
                let record: Vec<u8> = (0..len).map(|k| alphabet[n / 4usize.pow(k) % 4]).collect();
                assert_eq!(
                    stray_quote(&record, b',', b'"'),
                    stray_quote_bytewise(&record, b',', b'"'),
                    "{:?}",
                    String::from_utf8_lossy(&record)
                );
            }
        }
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x5157_a70e);
        let bytes = [b';', b'\'', b'\n', b'x', b'y', b' ', b','];
        for _ in 0..20_000 {
            let len = rng.below(60);
            let record: Vec<u8> = (0..len).map(|_| bytes[rng.below(bytes.len())]).collect();
            assert_eq!(
                stray_quote(&record, b';', b'\''),
                stray_quote_bytewise(&record, b';', b'\''),
                "{:?}",
                String::from_utf8_lossy(&record)
            );
        }
    }

    /// What the `csv` reader (as `read_records` builds it) reads as the
    /// first record of `line`, with the byte where it ends.
    fn csv_fields(line: &[u8], separator: u8, quote: u8) -> (Vec<Vec<u8>>, u64) {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(separator)
            .quote(quote)
            .from_reader(line);
        let mut record = csv::ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).unwrap());
        let fields = record.iter().map(<[u8]>::to_vec).collect();
        (fields, reader.position().byte())
    }

    /// A line the plain split reads gives the fields the `csv` reader
    /// gives, and the reader ends its record at the line's end; every line
    /// without a quote, and every line of fields quoted whole, is plain.
    /// Every line of up to 7 bytes from separators, quotes, spaces and
    /// letters, then random longer ones with Cyrillic letters.
    #[test]
    fn plain_lines_split_as_the_csv_reader_reads_them() {
        let check = |line: &[u8], separator: u8, quote: u8, bounds: &mut Vec<(usize, usize)>| {
            // The one-pass split, on the line followed by another.
            let mut text = line.to_vec();
            text.extend_from_slice(b"\nnext");
            match split_unquoted(&text, separator, quote, bounds) {
                Some(len) => {
                    assert!(!line.contains(&quote) && len == line.len());
                    let one_pass = bounds.clone();
                    assert!(split_plain(line, separator, quote, bounds));
                    assert_eq!(*bounds, one_pass);
                }
                None => assert!(line.contains(&quote) && bounds.is_empty()),
            }
            let plain = split_plain(line, separator, quote, bounds);
            if !line.contains(&quote) {
                assert!(plain, "{:?}", String::from_utf8_lossy(line));
            }
            if plain {
                let (fields, end) = csv_fields(line, separator, quote);
                let split: Vec<Vec<u8>> =
                    bounds.iter().map(|&(a, b)| line[a..b].to_vec()).collect();
                assert_eq!(split, fields, "{:?}", String::from_utf8_lossy(line));
                assert_eq!(
                    end,
                    line.len() as u64,
                    "{:?}",
                    String::from_utf8_lossy(line)
                );
            }
            plain
        };
        let mut bounds = Vec::new();
        let alphabet = [b',', b'"', b' ', b'a'];
        let mut plain_with_quotes = 0;
        for len in 1..=7u32 {
            for n in 0..4usize.pow(len) {
                let line: Vec<u8> = (0..len).map(|k| alphabet[n / 4usize.pow(k) % 4]).collect();
                if check(&line, b',', b'"', &mut bounds) && line.contains(&b'"') {
                    plain_with_quotes += 1;
                }
            }
        }
        assert!(plain_with_quotes > 100, "{plain_with_quotes}");
        // Fields quoted whole are plain, whatever they hold but a quote.
        assert!(check(b"\"a, b\",,\"\",c,\" \"", b',', b'"', &mut bounds));
        assert_eq!(bounds.len(), 5);
        assert!(!check(b"\"say \"\"hi\"\"\",c", b',', b'"', &mut bounds));
        assert!(!check(b"a,\"open", b',', b'"', &mut bounds));
        assert!(!check(b"\"a\"b,c", b',', b'"', &mut bounds));

        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x0b1a_5e71);
        let parts: [&[u8]; 8] = [
            b";",
            b"'",
            b" ",
            b"x",
            "\u{436}".as_bytes(),
            b",",
            b"';'",
            b"''",
        ];
        for _ in 0..50_000 {
            let len = 1 + rng.below(40);
            let line: Vec<u8> = (0..len)
                .flat_map(|_| parts[rng.below(parts.len())].iter().copied())
                .collect();
            check(&line, b';', b'\'', &mut bounds);
        }
    }

    /// The split by 16-byte blocks gives what the byte loop gives, on
    /// random texts with separators, quotes and line ends at every place of
    /// a block (dense and sparse, Cyrillic letters between), for two dialects.
    #[test]
    fn split_by_blocks_is_split_by_bytes() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x5e9a_b10c);
        let (mut blocks, mut bytes) = (Vec::new(), Vec::new());
        let mut outcomes = [0usize; 2];
        for (separator, quote) in [(b';', b'"'), (b',', b'\'')] {
            for _ in 0..40_000 {
                let len = rng.below(120);
                let dense = 1 + rng.below(30);
                let mut text = Vec::with_capacity(len + 2);
                while text.len() < len {
                    match rng.below(dense + 60) {
                        0 => text.push(b'\n'),
                        1 => text.push(quote),
                        k if k < dense + 2 => text.push(separator),
                        k if k < dense + 12 => text.extend_from_slice("\u{436}".as_bytes()),
                        _ => text.push(b'0' + rng.below(10) as u8),
                    }
                }
                let by_blocks = split_unquoted(&text, separator, quote, &mut blocks);
                bytes.clear();
                let by_bytes = split_unquoted_bytes(&text, 0, 0, separator, quote, &mut bytes);
                assert_eq!(by_blocks, by_bytes, "{:?}", String::from_utf8_lossy(&text));
                assert_eq!(blocks, bytes, "{:?}", String::from_utf8_lossy(&text));
                outcomes[usize::from(by_blocks.is_some())] += 1;
            }
        }
        // Both outcomes, often.
        assert!(outcomes.iter().all(|&n| n > 10_000), "{outcomes:?}");
    }

    #[test]
    fn lines_of_records_and_gaps_add_up() {
        let text = b"h\n\na\nb\nc\n\n";
        let mut l = Lines::new(text, 0, true);
        let h = l.record(0, 2).unwrap();
        assert_eq!((h.first, h.last), (1, 1));
        // "a" on line 3 after the empty line 2; then "b\nc" as one record.
        let a = l.record(3, 5).unwrap();
        assert_eq!((a.first, a.last, l.blank), (3, 3, 1));
        let bc = l.record(5, 9).unwrap();
        assert_eq!((bc.first, bc.last), (4, 5));
        assert_eq!(l.rest().unwrap(), 1);

        // Records on one line counted without a scan, as `record` counts
        // them: after empty lines, and one without a line end at the end.
        let text = b"h\n\n\na\nb";
        let (mut scanned, mut counted) = (Lines::new(text, 7, true), Lines::new(text, 7, true));
        for (start, next) in [(0, 2), (4, 6), (6, 7)] {
            let s = scanned.record(start as u64, next as u64).unwrap();
            let c = counted.one_line(start, next);
            assert_eq!(
                (s.start, s.end, s.first, s.last, s.at_end),
                (c.start, c.end, c.first, c.last, c.at_end)
            );
            assert_eq!((scanned.line, scanned.blank), (counted.line, counted.blank));
        }
        // Lines ended: 7 before, then h, two empty lines and a ("b" has no end).
        assert_eq!((counted.line, counted.blank), (11, 2));
    }

    #[test]
    fn text_the_reader_skipped_stops_the_count() {
        // A record reported at "b" while "a" was never a record: the line
        // account cannot be closed, and says where.
        let mut l = Lines::new(b"h\na\nb\n", 0, true);
        l.record(0, 2).unwrap();
        let e = l.record(4, 6).err().unwrap();
        assert!(e.contains("skipped text on line 2"), "{e}");
        let mut l = Lines::new(b"h\na\n", 0, true);
        l.record(0, 2).unwrap();
        assert!(l.rest().unwrap_err().contains("line 2"));
    }

    #[test]
    fn mojibake_is_undone() {
        assert_eq!(undo_mojibake("РџРѕР»").as_deref(), Some("Пол"));
        assert_eq!(undo_mojibake("Пол"), None);
        assert_eq!(undo_mojibake("sex"), None);
    }
}

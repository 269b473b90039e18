//! From the bytes of a text export to one string with `\n` line ends.
//!
//! The encoding is the byte order mark's (UTF-8, UTF-16 LE/BE), else the
//! declared one. Every encoding is decoded by encoding_rs without
//! replacement, so a byte sequence that is not valid in the encoding is an
//! error naming the line of its first invalid byte, never a replacement
//! character. A file whose bytes show the zero-byte pattern of ASCII text in
//! UTF-16 but that is declared (or defaulted) as an 8-bit encoding is refused
//! with the encoding it probably is.
//!
//! Line ends are normalised: `\r\n`, a lone `\r` and `\n` each end one
//! physical line and all become `\n`, so that CRLF, LF and CR-only files are
//! the same text for the record reader. The number of physical lines is
//! counted here, from the line ends, independently of the record reader.

use crate::config::Encoding;

/// A decoded text export.
#[derive(Debug)]
pub struct Decoded {
    /// The text, every line end written as `\n`.
    pub text: String,
    /// Physical lines of the file: its line ends, plus one for a last line
    /// without a line end.
    pub lines: u64,
    /// The encoding the file was read in (after the byte order mark).
    pub encoding: Encoding,
}

/// Why the bytes are not text in the expected encoding: (1-based line when
/// known, message, fix).
pub type DecodeError = (Option<u64>, String, String);

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// Decodes `raw` (the whole file) declared as `declared`. `toml` names the
/// source file in fixes.
/// The UTF-8 byte-order mark (EF BB BF) decoded as windows-1251.
const CP1251_UTF8_BOM: &str = "\u{43f}\u{bb}\u{457}";

pub fn decode(raw: &[u8], declared: Encoding, toml: &str) -> Result<Decoded, DecodeError> {
    let (encoding, skip) = resolve(raw, declared, toml)?;
    let (text, glued) = decode_body(&raw[skip..], encoding, toml, 0)?;
    Ok(finish(text, glued, encoding))
}

/// A piece of a text export read piece by piece ([`Stream`]); its text is
/// [`Stream::text`] until the next piece is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece {
    /// Physical lines of the piece: its line ends, plus one for a last line
    /// of the file without a line end.
    pub lines: u64,
    /// The piece ends the file.
    pub last: bool,
}

/// A text export decoded piece by piece, so that a registry-size file is
/// never held whole: [`decode`] of the whole file, cut after line ends.
///
/// Each piece is the bytes read up to the last `\n` in about `block` bytes
/// (whole lines: a `\r\n` is never split, nor a character, since no byte
/// of a multi-byte character is `\n` in UTF-8 or a single-byte encoding),
/// decoded and normalised on its own; the bytes after that `\n` wait for
/// the next piece. The pieces joined are the text [`decode`] gives, their
/// lines add up to its count, and an invalid byte is named on the line it
/// has in the file. The encoding is resolved on the file's first 64 KiB, as
/// [`decode`] does. UTF-16 is not cut (a `\n` there is two bytes, one of
/// them maybe zero): that file is one piece.
pub(crate) struct Stream<R> {
    reader: R,
    declared: Encoding,
    toml: String,
    block: usize,
    /// The encoding, once the first 64 KiB are read.
    encoding: Option<Encoding>,
    /// Bytes read and not yet given as a piece (after the last `\n`).
    tail: Vec<u8>,
    /// The reader has no more bytes.
    eof: bool,
    /// The last piece has been given.
    done: bool,
    /// Line ends in the pieces given so far.
    lines: u64,
    /// The text of the last piece: whole physical lines (the last piece:
    /// to the file's end), every line end written as `\n`. Its buffer, as
    /// the bytes', is kept from piece to piece: pages mapped once, not
    /// mapped and zeroed again for every piece.
    text: String,
    /// Bytes read from the reader so far (a run's progress).
    read: u64,
    /// An invalid byte's error, held back while the lines before the
    /// byte's line are given as a piece (see [`Stream::next_piece`]).
    pending: Option<DecodeError>,
}

/// Bytes read before the encoding is resolved: [`utf16_pattern`]'s sample.
const SAMPLE: usize = 1 << 16;

impl<R: std::io::Read> Stream<R> {
    /// A stream of `reader`'s text, in pieces of about `block` bytes.
    pub(crate) fn new(reader: R, declared: Encoding, toml: &str, block: usize) -> Self {
        Stream {
            reader,
            declared,
            toml: toml.to_string(),
            block: block.max(1),
            encoding: None,
            tail: Vec::new(),
            eof: false,
            done: false,
            lines: 0,
            text: String::new(),
            read: 0,
            pending: None,
        }
    }

    /// Bytes read from the reader so far: a piece's and those read ahead
    /// of it.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The text of the piece [`Stream::next_piece`] gave last.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The encoding the file is read in (after the byte order mark), once
    /// the first piece has been read.
    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding.unwrap_or(self.declared)
    }

    /// Reads up to `n` more bytes into the tail; at the end of the file,
    /// `eof`.
    fn fill(&mut self, n: usize) -> Result<(), DecodeError> {
        use std::io::Read;
        // Room for a block at most (tests ask for a whole file as one
        // block of usize::MAX bytes); the read grows it if it must.
        self.tail.reserve(n.min(self.block).min(1 << 26));
        let got = (&mut self.reader)
            .take(n as u64)
            .read_to_end(&mut self.tail)
            .map_err(|e| {
                (
                    None,
                    format!("cannot read the data file: {e}"),
                    "check the file's permissions, and that the disk or share holding it is \
                     readable"
                        .to_string(),
                )
            })?;
        self.read += got as u64;
        if got < n {
            self.eof = true;
        }
        Ok(())
    }

    /// The next piece; `None` after the last.
    ///
    /// An invalid byte is an error once the lines before its line have
    /// been given: a piece holding it ends before that line, and the next
    /// call returns the error. So the text a reader sees before the error
    /// is the same whatever the size of the pieces (everything up to the
    /// last `\n` before the byte), and a problem it finds in that text (a
    /// header that does not match, a record that stops the run) is reported
    /// before the byte, as one pass in file order would, on a 10 KB file
    /// and on a registry's alike. (UTF-16 is one piece: its error comes at
    /// once.)
    pub(crate) fn next_piece(&mut self) -> Result<Option<Piece>, DecodeError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let encoding = match self.encoding {
            Some(e) => e,
            None => {
                while !self.eof && self.tail.len() < SAMPLE {
                    self.fill(SAMPLE - self.tail.len())?;
                }
                let (encoding, skip) = resolve(&self.tail, self.declared, &self.toml)?;
                self.tail.drain(..skip);
                self.encoding = Some(encoding);
                encoding
            }
        };
        let utf16 = matches!(
            encoding,
            Encoding::Utf16 | Encoding::Utf16Le | Encoding::Utf16Be
        );
        // Whole lines: up to the last `\n` in the block, else the first one
        // after it, else (a line longer than the block) read on.
        let cut = loop {
            while !self.eof && (utf16 || self.tail.len() < self.block) {
                self.fill(self.block.saturating_sub(self.tail.len()).max(1 << 16))?;
            }
            if self.eof && (utf16 || self.tail.len() <= self.block) {
                break self.tail.len();
            }
            let within = self.block.min(self.tail.len());
            let found = memchr::memrchr(b'\n', &self.tail[..within])
                .or_else(|| memchr::memchr(b'\n', &self.tail[within..]).map(|i| within + i));
            match found {
                Some(i) => break i + 1,
                None if self.eof => break self.tail.len(),
                None => self.fill(self.block)?,
            }
        };
        let mut cut = cut;
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let glued = if encoding == Encoding::Utf8 && is_utf8(&self.tail[..cut]) {
            // SAFETY: `is_utf8` checked every byte.
            text.push_str(unsafe { std::str::from_utf8_unchecked(&self.tail[..cut]) });
            false
        } else {
            match decode_body_into(
                &self.tail[..cut],
                encoding,
                &self.toml,
                self.lines,
                &mut text,
            ) {
                Ok(glued) => glued,
                Err(e) => {
                    // The lines before the invalid byte's line first.
                    let before = if utf16 {
                        0
                    } else {
                        let bad = first_malformed(&self.tail[..cut], encoding);
                        memchr::memrchr(b'\n', &self.tail[..bad]).map_or(0, |i| i + 1)
                    };
                    if before == 0 {
                        return Err(e);
                    }
                    cut = before;
                    self.pending = Some(e);
                    decode_body_into(
                        &self.tail[..cut],
                        encoding,
                        &self.toml,
                        self.lines,
                        &mut text,
                    )?
                }
            }
        };
        // The file may end right after this piece without the reader having
        // said so yet: the next piece is then empty and the last.
        let last = self.pending.is_none() && self.eof && cut == self.tail.len();
        let lines = finish_in(&mut text, glued);
        self.text = text;
        self.tail.drain(..cut);
        self.lines += lines;
        self.done = last;
        Ok(Some(Piece { lines, last }))
    }
}

/// Whether `bytes` are UTF-8, checked on all cores in pieces cut where a
/// character starts: UTF-8 text cut there is UTF-8 in every piece, and
/// pieces that are each UTF-8 are UTF-8 together. (Cut anywhere else, some
/// piece fails, which only ever happens to text that is not UTF-8.)
fn is_utf8(bytes: &[u8]) -> bool {
    is_utf8_in(bytes, 1 << 22)
}

/// [`is_utf8`] in pieces of about `piece` bytes (tests use tiny ones).
fn is_utf8_in(bytes: &[u8], piece: usize) -> bool {
    use rayon::prelude::*;
    let mut cuts = vec![0];
    let mut at = piece.max(1);
    while at < bytes.len() {
        // A continuation byte (10xxxxxx) never starts a character, and a
        // character is at most four bytes long.
        let last = cuts[cuts.len() - 1];
        let floor = at.saturating_sub(3).max(last);
        let mut cut = at;
        while cut > floor && bytes[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        if cut > last {
            cuts.push(cut);
        }
        at += piece.max(1);
    }
    cuts.push(bytes.len());
    cuts.par_windows(2)
        .all(|w| std::str::from_utf8(&bytes[w[0]..w[1]]).is_ok())
}

/// The encoding to read `raw` in and the length of its byte order mark.
fn resolve(raw: &[u8], declared: Encoding, toml: &str) -> Result<(Encoding, usize), DecodeError> {
    let (encoding, body) = if let Some(rest) = raw.strip_prefix(UTF8_BOM) {
        // A UTF-8 mark on a file declared UTF-16 is UTF-8; one declared
        // windows-1251 keeps its declaration (the header hints tell).
        let e = match declared {
            Encoding::Utf16 | Encoding::Utf16Le | Encoding::Utf16Be => Encoding::Utf8,
            other => other,
        };
        (e, rest)
    } else if let Some(rest) = raw.strip_prefix(UTF16LE_BOM) {
        (bom_wins(declared, Encoding::Utf16Le, toml)?, rest)
    } else if let Some(rest) = raw.strip_prefix(UTF16BE_BOM) {
        (bom_wins(declared, Encoding::Utf16Be, toml)?, rest)
    } else {
        let pattern = utf16_pattern(raw);
        match declared {
            Encoding::Utf16 => match pattern {
                Some(e) => (e, raw),
                None => {
                    return Err((
                        Some(1),
                        "encoding = \"utf-16\" but the file has no byte order mark and its bytes \
                         do not show the byte order"
                            .into(),
                        format!(
                            "declare the byte order: encoding = \"utf-16le\" (Windows) or \
                             \"utf-16be\" in [source.csv] of {toml}"
                        ),
                    ));
                }
            },
            Encoding::Utf8 | Encoding::Windows1251 if pattern.is_some() => {
                let e = pattern.unwrap_or(Encoding::Utf16Le);
                return Err((
                    Some(1),
                    format!(
                        "the file looks like UTF-16 ({}) without a byte order mark: every other \
                         byte is zero, as in ASCII text written in UTF-16; it cannot be read as {}",
                        if e == Encoding::Utf16Le {
                            "little-endian"
                        } else {
                            "big-endian"
                        },
                        declared.label()
                    ),
                    format!(
                        "set encoding = \"{}\" in [source.csv] of {toml}, or save the export as \
                         \"CSV UTF-8\"",
                        e.label()
                    ),
                ));
            }
            other => (other, raw),
        }
    };
    Ok((encoding, raw.len() - body.len()))
}

/// Decodes the bytes after the byte order mark: the text, and whether it
/// holds a glued UTF-8 mark (see below). `lines_before`: the file's lines
/// before these bytes (a piece of it: [`Stream`]), for the line of an
/// invalid byte.
fn decode_body(
    body: &[u8],
    encoding: Encoding,
    toml: &str,
    lines_before: u64,
) -> Result<(String, bool), DecodeError> {
    let (codec, name) = codec(encoding);
    let decoded = decode_strict(codec, body).map_err(|(text, bad)| {
        let line = lines_before + count_lines(text.as_bytes()).1;
        let fix = match encoding {
            Encoding::Utf8 => format!(
                "if the export comes from Russian-locale Windows or Excel, set encoding = \
                 \"windows-1251\" in [source.csv] of {toml}; if it is Excel's \"Unicode text\", \
                 encoding = \"utf-16le\""
            ),
            _ => format!(
                "check encoding in [source.csv] of {toml}, or re-export the file (it may be cut \
                 short or damaged)"
            ),
        };
        (
            Some(line),
            format!(
                "the file is not valid {name} (byte {} on line {line})",
                bad.iter()
                    .map(|b| format!("0x{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            fix,
        )
    })?;
    // The bytes EF BB BF are the UTF-8 byte-order mark. Read as
    // windows-1251 they are "п»ї", which is no Russian text: it is the mark
    // of a UTF-8 file glued into this one. Read them as the mark (U+FEFF),
    // so that the cell holding it is refused as not text instead of
    // becoming part of an id.
    // The three bytes are three characters in windows-1251, so they stand
    // in the bytes where the three characters stand in the text.
    Ok((decoded, glued_mark(body, encoding)))
}

/// encoding_rs's decoder of `encoding`, and its name for messages.
fn codec(encoding: Encoding) -> (&'static encoding_rs::Encoding, &'static str) {
    match encoding {
        Encoding::Utf8 => (encoding_rs::UTF_8, "UTF-8"),
        Encoding::Windows1251 => (encoding_rs::WINDOWS_1251, "windows-1251"),
        Encoding::Utf16Le | Encoding::Utf16 => (encoding_rs::UTF_16LE, "UTF-16LE"),
        Encoding::Utf16Be => (encoding_rs::UTF_16BE, "UTF-16BE"),
    }
}

/// Whether `body` in `encoding` holds a glued UTF-8 mark ([`decode_body`]).
fn glued_mark(body: &[u8], encoding: Encoding) -> bool {
    encoding == Encoding::Windows1251 && memchr::memmem::find(body, UTF8_BOM).is_some()
}

/// [`decode_body`] into `out` (emptied first), whose buffer a single-byte
/// encoding reuses: the glued mark as [`decode_body`] says.
fn decode_body_into(
    body: &[u8],
    encoding: Encoding,
    toml: &str,
    lines_before: u64,
    out: &mut String,
) -> Result<bool, DecodeError> {
    // A single-byte encoding that decodes: into `out`'s buffer. Otherwise
    // (another encoding, or a byte to name) the one-pass decoder.
    if decode_single_byte_into(codec(encoding).0, body, out) {
        return Ok(glued_mark(body, encoding));
    }
    let (text, glued) = decode_body(body, encoding, toml, lines_before)?;
    *out = text;
    Ok(glued)
}

/// The decoded text with a glued UTF-8 mark read as the mark (`glued`) and
/// its line ends normalised.
fn finish(mut decoded: String, glued: bool, encoding: Encoding) -> Decoded {
    let lines = finish_in(&mut decoded, glued);
    Decoded {
        text: decoded,
        lines,
        encoding,
    }
}

/// [`finish`] in place: the text's physical lines.
fn finish_in(text: &mut String, glued: bool) -> u64 {
    if glued {
        *text = text.replace(CP1251_UTF8_BOM, "\u{feff}");
    }
    let (normalised, lines) = normalise(std::mem::take(text));
    *text = normalised;
    lines
}

fn bom_wins(declared: Encoding, bom: Encoding, toml: &str) -> Result<Encoding, DecodeError> {
    match declared {
        Encoding::Utf16Le | Encoding::Utf16Be if declared != bom => Err((
            Some(1),
            format!(
                "the byte order mark says {} but the source declares encoding = \"{}\"",
                bom.label(),
                declared.label()
            ),
            format!(
                "set encoding = \"{}\" (or \"utf-16\") in [source.csv] of {toml}",
                bom.label()
            ),
        )),
        _ => Ok(bom),
    }
}

/// The byte order of UTF-16 text, if `raw` shows the zero bytes that ASCII
/// characters have in UTF-16: in the first 64 KiB, at least a fifth of the
/// byte pairs have a zero in one position and (almost) none in the other.
fn utf16_pattern(raw: &[u8]) -> Option<Encoding> {
    let sample = &raw[..raw.len().min(1 << 16)];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for p in sample.chunks_exact(2) {
        even += usize::from(p[0] == 0);
        odd += usize::from(p[1] == 0);
    }
    let many = |n: usize| n * 5 >= pairs;
    let few = |n: usize| n * 50 <= pairs;
    if many(odd) && few(even) {
        Some(Encoding::Utf16Le)
    } else if many(even) && few(odd) {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// Where the first byte `bytes` cannot be decoded from (`bytes.len()`
/// when every byte can), for a file that is not UTF-16: the place of the
/// error [`decode_body`] names.
fn first_malformed(bytes: &[u8], encoding: Encoding) -> usize {
    if encoding == Encoding::Utf8 {
        return std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| bytes.len());
    }
    let mut decoder = codec(encoding).0.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len().saturating_mul(3) + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, after) => {
            (read - usize::from(after)).saturating_sub(usize::from(bad))
        }
        _ => bytes.len(),
    }
}

/// Decodes without replacement. On a malformed sequence: the text decoded
/// before it and its bytes.
fn decode_strict(
    codec: &'static encoding_rs::Encoding,
    bytes: &[u8],
) -> Result<String, (String, Vec<u8>)> {
    if let Some(text) = decode_single_byte(codec, bytes) {
        return Ok(text);
    }
    let mut decoder = codec.new_decoder_without_bom_handling();
    // encoding_rs touches every page of the capacity it is given: the
    // worst case (three bytes out per byte in for windows-1251) would map
    // twice the memory the text needs. A single-byte encoding's exact
    // length is counted instead; should it fall short the loop reserves.
    let cap = match single_byte_utf8_len(codec, bytes) {
        Some(n) => n,
        None => decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len() * 3 + 16),
    };
    let mut out = String::with_capacity(cap);
    let mut read = 0;
    loop {
        let (result, n) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut out, true);
        read += n;
        match result {
            encoding_rs::DecoderResult::InputEmpty => return Ok(out),
            encoding_rs::DecoderResult::OutputFull => {
                out.reserve(bytes.len() - read + 16);
            }
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                let end = read - usize::from(after);
                let start = end.saturating_sub(usize::from(bad));
                return Err((out, bytes[start..end].to_vec()));
            }
        }
    }
}

/// The UTF-8 length of each byte in a single-byte encoding, from
/// encoding_rs's own decoding of it (0: a byte it cannot decode). `None`
/// for an encoding that is not single-byte.
fn byte_lengths(codec: &'static encoding_rs::Encoding) -> Option<[usize; 256]> {
    if !codec.is_single_byte() {
        return None;
    }
    let mut len = [0usize; 256];
    for (b, l) in len.iter_mut().enumerate() {
        let mut d = codec.new_decoder_without_bom_handling();
        let mut s = String::with_capacity(8);
        if let (encoding_rs::DecoderResult::InputEmpty, _) =
            d.decode_to_string_without_replacement(&[b as u8], &mut s, true)
        {
            *l = s.len();
        }
    }
    Some(len)
}

/// `bytes` in a single-byte encoding decoded on all cores: in a single-byte
/// encoding every byte is a character, so the text can be cut anywhere. Each
/// piece's UTF-8 length is counted first, and each is decoded by encoding_rs
/// into its own place in one buffer of the text's exact length (no copy to
/// join them). `None` for an encoding that is not single-byte, or bytes it
/// cannot decode (the one-pass decoder then names them).
fn decode_single_byte(codec: &'static encoding_rs::Encoding, bytes: &[u8]) -> Option<String> {
    let mut text = String::new();
    decode_single_byte_into(codec, bytes, &mut text).then_some(text)
}

/// [`decode_single_byte`] into `out`, reusing its buffer; `false` (and `out`
/// empty) where that gives `None`.
fn decode_single_byte_into(
    codec: &'static encoding_rs::Encoding,
    bytes: &[u8],
    out: &mut String,
) -> bool {
    use rayon::prelude::*;
    out.clear();
    let Some(len) = byte_lengths(codec) else {
        return false;
    };
    let pieces: Vec<&[u8]> = bytes.chunks(1 << 22).collect();
    let lens: Vec<Option<usize>> = pieces
        .par_iter()
        .map(|p| {
            p.iter().try_fold(0usize, |n, &b| match len[b as usize] {
                0 => None,
                l => Some(n + l),
            })
        })
        .collect();
    let Some(lens) = lens.into_iter().collect::<Option<Vec<usize>>>() else {
        return false;
    };
    // A zeroed allocation of fresh memory is not written twice; a reused
    // buffer's pages are mapped already.
    let mut text = std::mem::take(out).into_bytes();
    text.resize(lens.iter().sum(), 0);
    let mut places: Vec<&mut [u8]> = Vec::with_capacity(pieces.len());
    let mut rest = text.as_mut_slice();
    for &n in &lens {
        let (place, after) = rest.split_at_mut(n);
        places.push(place);
        rest = after;
    }
    let whole = pieces
        .par_iter()
        .zip(places)
        .all(|(piece, place)| decode_into(codec, piece, place));
    if !whole {
        return false;
    }
    // SAFETY: each place holds the UTF-8 text encoding_rs wrote for its
    // piece (`decode_into`: every byte of it written, none left over), and
    // the places are the whole buffer, back to back; UTF-8 strings joined
    // are UTF-8.
    *out = unsafe { String::from_utf8_unchecked(text) };
    true
}

/// Decodes `piece` into `place`, exactly as long as its text, and checks the
/// text is UTF-8. encoding_rs's fast path needs room beyond the last
/// character (it reports the output full a few bytes early), so the last
/// characters are decoded into a small buffer and copied.
fn decode_into(codec: &'static encoding_rs::Encoding, piece: &[u8], place: &mut [u8]) -> bool {
    use encoding_rs::DecoderResult::{InputEmpty, OutputFull};
    let mut d = codec.new_decoder_without_bom_handling();
    let (result, read, written) = d.decode_to_utf8_without_replacement(piece, place, true);
    let tail_done = match result {
        InputEmpty => written == place.len(),
        OutputFull => {
            let rest = &piece[read..];
            let room = d
                .max_utf8_buffer_length_without_replacement(rest.len())
                .unwrap_or(rest.len() * 3 + 16);
            let mut tail = String::with_capacity(room);
            match d.decode_to_string_without_replacement(rest, &mut tail, true) {
                (InputEmpty, _) if written + tail.len() == place.len() => {
                    place[written..].copy_from_slice(tail.as_bytes());
                    true
                }
                _ => false,
            }
        }
        _ => false,
    };
    // encoding_rs writes UTF-8 (its own `decode_to_str` relies on it): the
    // written bytes, and the tail copied over whatever it wrote beyond
    // them, are the piece's text.
    debug_assert!(!tail_done || std::str::from_utf8(place).is_ok());
    tail_done
}

/// The UTF-8 length of `bytes` in a single-byte encoding (each byte's
/// length taken from encoding_rs's own decoding of it; a byte it cannot
/// decode counts 0, the decoder stops there), counted on every core.
/// `None` for an encoding that is not single-byte.
fn single_byte_utf8_len(codec: &'static encoding_rs::Encoding, bytes: &[u8]) -> Option<usize> {
    let len = byte_lengths(codec)?;
    use rayon::prelude::*;
    let counts = bytes
        .par_chunks(1 << 20)
        .map(|c| {
            let mut h = [0usize; 256];
            for &b in c {
                h[b as usize] += 1;
            }
            h
        })
        .reduce(
            || [0usize; 256],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    Some(counts.iter().zip(len).map(|(n, l)| n * l).sum::<usize>() + 16)
}

/// `(bytes of line ends, line of the position after `text`)`: `\r\n`, `\r`
/// and `\n` each end a line.
fn count_lines(text: &[u8]) -> (u64, u64) {
    let mut ends = 0u64;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\n' => ends += 1,
            b'\r' => {
                ends += 1;
                if text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (ends, ends + 1)
}

/// The text with every line end as `\n`, and its number of physical lines.
fn normalise(text: String) -> (String, u64) {
    let trailing = !text.is_empty() && !text.ends_with(['\n', '\r']);
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        let ends = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
        return (text, ends + u64::from(trailing));
    }
    // Every `\r` ends a line: as `\n`, or dropped before a `\n`. Done in
    // place (the text only shrinks), so a CRLF export is not copied.
    let mut bytes = text.into_bytes();
    let mut write = 0;
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'\r', &bytes[from..]) {
        let i = from + k;
        bytes.copy_within(from..i, write);
        write += i - from;
        if bytes.get(i + 1) != Some(&b'\n') {
            bytes[write] = b'\n';
            write += 1;
        }
        from = i + 1;
    }
    let len = bytes.len();
    bytes.copy_within(from..len, write);
    write += len - from;
    bytes.truncate(write);
    // Only ASCII `\r` bytes were removed or replaced by `\n`, which never
    // stand inside a UTF-8 sequence: still UTF-8, not checked again (the
    // check was 2 % of a 1M-row run's CPU: perf, both centres' exports
    // with CRLF line ends). Debug builds check.
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: `bytes` was a `String`, less some ASCII bytes and with others
    // replaced by ASCII bytes: see above.
    let out = unsafe { String::from_utf8_unchecked(bytes) };
    let ends = memchr::memchr_iter(b'\n', out.as_bytes()).count() as u64;
    (out, ends + u64::from(trailing))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of a [`Stream`] are [`decode`] of the whole file cut
    /// after line ends: for random files of every line end (LF, CRLF, a
    /// lone CR, CRLF and CR split across any cut), ASCII, Cyrillic and a
    /// glued UTF-8 mark, in UTF-8 (with and without a mark), windows-1251
    /// and UTF-16, read in blocks of 1 byte to the whole file; a file with
    /// an invalid byte fails naming the line one pass names, after the same
    /// text (the lines before the byte's line) in every block size.
    #[test]
    fn a_file_read_in_pieces_is_the_file_decoded_whole() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x005e_ed0f_0123_4567);
        let mut next = move |m: usize| rng.below(m);
        let parts = ["a", ";", "\"", "ж", "\n", "\r\n", "\r", "\n\n", "\u{feff}"];
        let mut files = 0;
        for _ in 0..400 {
            let text: String = (0..next(60)).map(|_| parts[next(parts.len())]).collect();
            for encoding in [Encoding::Utf8, Encoding::Windows1251, Encoding::Utf16Le] {
                let mut raw: Vec<u8> = match encoding {
                    Encoding::Utf8 => text.as_bytes().to_vec(),
                    Encoding::Windows1251 => {
                        // The glued mark as its three UTF-8 bytes.
                        let t = text.replace('\u{feff}', "");
                        let mut b = encoding_rs::WINDOWS_1251.encode(&t).0.into_owned();
                        if text.contains('\u{feff}') {
                            let at = next(b.len() + 1);
                            b.splice(at..at, UTF8_BOM.iter().copied());
                        }
                        b
                    }
                    _ => {
                        let mut b = UTF16LE_BOM.to_vec();
                        b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                        b
                    }
                };
                if encoding == Encoding::Utf8 && next(3) == 0 {
                    raw.splice(0..0, UTF8_BOM.iter().copied());
                }
                if !raw.is_empty() && next(4) == 0 {
                    // An invalid byte somewhere (0x98 is none in windows-1251).
                    let at = next(raw.len());
                    raw[at] = if encoding == Encoding::Windows1251 {
                        0x98
                    } else {
                        0xFF
                    };
                }
                let whole = decode(&raw, encoding, "s.toml");
                // The text given before an invalid byte's error, the same
                // for every block.
                let mut before_error: Option<String> = None;
                for block in [1, 2, 3, 7, 64, raw.len().max(1)] {
                    files += 1;
                    let mut stream = Stream::new(raw.as_slice(), encoding, "s.toml", block);
                    let mut joined = String::new();
                    let mut lines = 0;
                    let read = loop {
                        match stream.next_piece() {
                            Ok(Some(p)) => {
                                joined.push_str(stream.text());
                                lines += p.lines;
                                if !p.last {
                                    assert!(
                                        stream.text().ends_with('\n'),
                                        "{text:?} block {block}"
                                    );
                                }
                                if p.last {
                                    assert!(stream.next_piece().unwrap().is_none());
                                    break Ok(());
                                }
                            }
                            Ok(None) => panic!("{text:?} block {block}: no last piece"),
                            Err(e) => break Err(e),
                        }
                    };
                    match (&whole, read) {
                        (Ok(w), Ok(())) => {
                            assert_eq!(joined, w.text, "{text:?} {encoding:?} block {block}");
                            assert_eq!(lines, w.lines, "{text:?} {encoding:?} block {block}");
                            assert_eq!(stream.encoding(), w.encoding);
                        }
                        (Err(w), Err(e)) => {
                            assert_eq!(&e, w, "{text:?} {encoding:?} block {block}");
                            let first = before_error.get_or_insert_with(|| joined.clone());
                            assert_eq!(
                                &joined, first,
                                "{text:?} {encoding:?} block {block}: the text before the error"
                            );
                            assert!(joined.is_empty() || joined.ends_with('\n'));
                        }
                        (w, r) => panic!("{text:?} {encoding:?} block {block}: {w:?} {r:?}"),
                    }
                }
            }
        }
        assert!(files > 5000, "{files}");
    }

    /// The check in pieces says what one check of the whole says, for
    /// texts of one- to four-byte characters cut into pieces of 1 to 9
    /// bytes, whole and with a byte changed or cut off.
    #[test]
    fn utf8_checked_in_pieces_is_utf8_checked_whole() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x0bad_5eed_1234_5678);
        let mut next = move |m: u64| rng.below(m as usize) as u64;
        let chars = ['a', ';', 'ж', 'ё', '€', '😀', '\n'];
        for _ in 0..300 {
            let text: String = (0..next(40)).map(|_| chars[next(7) as usize]).collect();
            let mut variants = vec![text.as_bytes().to_vec()];
            if !text.is_empty() {
                let mut changed = text.as_bytes().to_vec();
                let at = next(changed.len() as u64) as usize;
                changed[at] = [0x80, 0xC3, 0xFF, b'x'][next(4) as usize];
                variants.push(changed);
                variants.push(text.as_bytes()[..text.len() - 1].to_vec());
            }
            for bytes in variants {
                let whole = std::str::from_utf8(&bytes).is_ok();
                for piece in 1..10 {
                    assert_eq!(is_utf8_in(&bytes, piece), whole, "{bytes:?} in {piece}");
                }
            }
        }
    }

    fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if le { UTF16LE_BOM } else { UTF16BE_BOM });
        }
        for u in s.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    /// The in-place normalisation against the plain rule (`\r\n`, then a
    /// lone `\r`, become `\n`) on random texts of line ends and letters.
    #[test]
    fn normalising_in_place_is_the_plain_rule() {
        let alphabet = ["a", "\r", "\n", "ж", "\r\n", "€"];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            let mut text = String::new();
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            for _ in 0..(x >> 58) {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(alphabet[(x >> 61) as usize % alphabet.len()]);
            }
            let plain = text.replace("\r\n", "\n").replace('\r', "\n");
            let trailing = u64::from(!text.is_empty() && !text.ends_with(['\n', '\r']));
            let lines = plain.matches('\n').count() as u64 + trailing;
            assert_eq!(normalise(text.clone()), (plain, lines), "{text:?}");
        }
    }

    /// The counted length of a windows-1251 text is its decoded length
    /// (every byte value: one-, two- and three-byte characters).
    #[test]
    fn single_byte_length_is_exact() {
        let all: Vec<u8> = (0..=255u8).collect();
        let mut bytes = all.repeat(3);
        bytes.extend(b"\x88\x84\xb9 \xcf\xee\xeb");
        let text = decode_strict(encoding_rs::WINDOWS_1251, &bytes).unwrap();
        assert_eq!(
            single_byte_utf8_len(encoding_rs::WINDOWS_1251, &bytes),
            Some(text.len() + 16)
        );
        assert!(text.ends_with("€„№ Пол"));
        assert_eq!(single_byte_utf8_len(encoding_rs::UTF_8, &bytes), None);
    }

    /// The text decoded in pieces on all cores is the one-pass decoder's,
    /// whatever the cuts fall on (pieces are 4 MiB: random bytes of 9 MiB
    /// give three, of one-, two- and three-byte characters).
    #[test]
    fn pieces_decoded_apart_are_the_one_pass_text() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..9 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let codec = encoding_rs::WINDOWS_1251;
        let one_pass = codec
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .expect("every byte decodes in windows-1251");
        let pieces = decode_single_byte(codec, &bytes).expect("decoded in pieces");
        assert!(pieces == one_pass, "the texts differ");
        assert_eq!(decode_single_byte(encoding_rs::UTF_8, b"abc"), None);
    }

    #[test]
    fn line_ends_of_every_kind_become_one() {
        for text in ["a\nb\nc\n", "a\r\nb\r\nc\r\n", "a\rb\rc\r", "a\nb\r\nc"] {
            let d = decode(text.as_bytes(), Encoding::Utf8, "s.toml").unwrap();
            assert_eq!(d.text.trim_end(), "a\nb\nc", "{text:?}");
            assert_eq!(d.lines, 3, "{text:?}");
        }
        let d = decode(b"a\n\n\r\rb", Encoding::Utf8, "s.toml").unwrap();
        assert_eq!((d.text.as_str(), d.lines), ("a\n\n\n\nb", 5));
    }

    #[test]
    fn utf16_with_bom_declared_or_detected() {
        let text = "id,Пол\r\n1,м\r\n";
        for le in [true, false] {
            let d = decode(&utf16(text, le, true), Encoding::Utf8, "s.toml").unwrap();
            assert_eq!(d.text, "id,Пол\n1,м\n");
            assert_eq!(d.lines, 2);
            let declared = if le {
                Encoding::Utf16Le
            } else {
                Encoding::Utf16Be
            };
            let d = decode(&utf16(text, le, false), declared, "s.toml").unwrap();
            assert_eq!(d.text, "id,Пол\n1,м\n");
            let d = decode(&utf16(text, le, false), Encoding::Utf16, "s.toml").unwrap();
            assert_eq!((d.text.as_str(), d.encoding), ("id,Пол\n1,м\n", declared));
        }
    }

    #[test]
    fn utf16_without_bom_or_declaration_is_suspected() {
        for (le, label) in [(true, "utf-16le"), (false, "utf-16be")] {
            let (line, message, fix) =
                decode(&utf16("id,sex\n1,m\n", le, false), Encoding::Utf8, "s.toml").unwrap_err();
            assert_eq!(line, Some(1));
            assert!(message.contains("looks like UTF-16"), "{message}");
            assert!(fix.contains(&format!("encoding = \"{label}\"")), "{fix}");
        }
    }

    #[test]
    fn a_utf8_mark_wins_over_a_utf16_declaration() {
        let d = decode(b"\xEF\xBB\xBFid\n1\n", Encoding::Utf16, "s.toml").unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("id\n1\n", Encoding::Utf8));
    }

    #[test]
    fn contradicting_byte_order_is_an_error() {
        let (_, message, _) =
            decode(&utf16("a\n", true, true), Encoding::Utf16Be, "s.toml").unwrap_err();
        assert!(
            message.contains("byte order mark says utf-16le"),
            "{message}"
        );
    }

    #[test]
    fn a_utf8_mark_inside_a_windows_1251_file_is_read_as_the_mark() {
        let d = decode(
            b"id;x\n\xEF\xBB\xBFA-1;2\n",
            Encoding::Windows1251,
            "s.toml",
        )
        .unwrap();
        assert_eq!(d.text, "id;x\n\u{feff}A-1;2\n");
        // Russian text around it is untouched: "\xEF\xF0\xE8" is "при".
        let d = decode(b"\xEF\xF0\xE8\n", Encoding::Windows1251, "s.toml").unwrap();
        assert_eq!(d.text, "\u{43f}\u{440}\u{438}\n");
    }

    #[test]
    fn invalid_bytes_are_named_with_their_line() {
        let (line, message, fix) =
            decode(b"id,sex\r\n1,m\r\n2,\xCC\r\n", Encoding::Utf8, "s.toml").unwrap_err();
        assert_eq!(line, Some(3));
        assert!(message.contains("not valid UTF-8"), "{message}");
        assert!(message.contains("0xCC on line 3"), "{message}");
        assert!(fix.contains("windows-1251"), "{fix}");
        // A lone surrogate in UTF-16 on line 2 (CR-only line ends).
        let mut bytes = utf16("id\r1\r", true, true);
        bytes.extend([0x00, 0xD8, b'x', 0]);
        let (line, message, _) = decode(&bytes, Encoding::Utf16, "s.toml").unwrap_err();
        assert_eq!(line, Some(3), "{message}");
        assert!(message.contains("not valid UTF-16LE"), "{message}");
        // Cut in the middle of a character.
        let mut bytes = utf16("id\n1\n", true, true);
        bytes.push(b'x');
        let (line, _, _) = decode(&bytes, Encoding::Utf16Le, "s.toml").unwrap_err();
        assert_eq!(line, Some(3));
    }
}

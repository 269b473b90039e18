//! Cutting the records of a CSV text into chunks that can be read apart:
//! one quote-aware pass finds record ends (a `\n` outside quotes) near the
//! wanted chunk size, and counts the physical lines before each chunk.
//!
//! The pass follows the `csv` crate's reader (`csv-core`) exactly where it
//! matters for record ends: a quote opens a quoted field only at the start
//! of a field (after a separator, a line end or at the start of the text);
//! inside, a doubled quote is a quote and a single one closes the field;
//! anything after the closing quote up to the next separator or line end
//! belongs to the field unquoted, where a quote is just a character. The
//! text is decoded and its line ends are `\n` only (`decode`). A quote never
//! closed runs to the end of the text: the rest is then one chunk.

use memchr::{memchr, memchr_iter, memchr2};

/// Records `start..end` of the text (`end` is just past a record's line end,
/// or the end of the text), with `lines_before` physical lines before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub start: usize,
    pub end: usize,
    pub lines_before: u64,
}

fn count_lines(text: &[u8]) -> u64 {
    memchr_iter(b'\n', text).count() as u64
}

/// Cuts `text` (whole records, starting at a record's start) into chunks of
/// at least `target` bytes each (the last may be shorter), at record ends.
/// Always at least one chunk (empty for an empty text).
#[cfg(test)]
pub(crate) fn split(text: &[u8], separator: u8, quote: u8, target: usize) -> Vec<Chunk> {
    split_records(text, separator, quote, target, true).chunks
}

/// The records of a text cut into chunks ([`split_records`]).
#[derive(Debug)]
pub(crate) struct Cut {
    pub chunks: Vec<Chunk>,
    /// The chunks end here: past the last record end of the text (its
    /// length when the text is whole).
    pub end: usize,
    /// Physical lines in `text[..end]`.
    pub lines: u64,
}

/// [`split`] of a text that may be the start of a longer one (`whole =
/// false`: a file read piece by piece): the chunks then stop at the last
/// record end in the text, a line end outside quotes, and the rest (a record
/// the text does not hold to its end) is left for the text that follows.
/// A record end found here is one in the longer text too: the scan decides
/// it from the text before it only. With `whole`, [`split`]'s chunks.
pub(crate) fn split_records(
    text: &[u8],
    separator: u8,
    quote: u8,
    target: usize,
    whole: bool,
) -> Cut {
    let target = target.max(1);
    // The last record end seen, and the lines before it.
    let (mut last_end, mut last_lines) = (0usize, 0u64);
    let mut chunks = Vec::new();
    let (mut start, mut start_lines) = (0usize, 0u64);
    let mut lines = 0u64;
    let mut at = 0usize;
    while let Some(i) = memchr2(b'\n', quote, &text[at..]).map(|i| at + i) {
        if text[i] == b'\n' {
            lines += 1;
            at = i + 1;
            (last_end, last_lines) = (at, lines);
            if at - start >= target && at < text.len() {
                chunks.push(Chunk {
                    start,
                    end: at,
                    lines_before: start_lines,
                });
                (start, start_lines) = (at, lines);
            }
            continue;
        }
        at = i + 1;
        let field_start = i == 0 || text[i - 1] == separator || text[i - 1] == b'\n';
        if !field_start {
            continue;
        }
        // Inside a quoted field: to the quote that is not doubled.
        loop {
            match memchr(quote, &text[at..]) {
                Some(j) => {
                    let j = at + j;
                    lines += count_lines(&text[at..j]);
                    if text.get(j + 1) == Some(&quote) {
                        at = j + 2;
                    } else {
                        at = j + 1;
                        break;
                    }
                }
                None => {
                    lines += count_lines(&text[at..]);
                    at = text.len();
                    break;
                }
            }
        }
    }
    let (end, lines) = if whole {
        (text.len(), lines)
    } else {
        (last_end, last_lines)
    };
    // Chunks cut above end at record ends, never past the last one.
    if end > start || (whole && chunks.is_empty()) {
        chunks.push(Chunk {
            start,
            end,
            lines_before: start_lines,
        });
    }
    Cut { chunks, end, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record ends as the `csv` crate finds them: byte offsets just past
    /// each record (its line end included when it has one).
    fn csv_ends(text: &[u8], sep: u8, quote: u8) -> Vec<usize> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(sep)
            .quote(quote)
            .from_reader(text);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while r.read_byte_record(&mut rec).unwrap() {
            out.push(r.position().byte() as usize);
        }
        out
    }

    fn check(text: &str) {
        let bytes = text.as_bytes();
        let ends = csv_ends(bytes, b';', b'"');
        for target in 1..=bytes.len() + 1 {
            let chunks = split(bytes, b';', b'"', target);
            assert_eq!(chunks.first().map(|c| c.start), Some(0));
            assert_eq!(chunks.last().map(|c| c.end), Some(bytes.len()));
            for w in chunks.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            for c in &chunks {
                assert_eq!(
                    c.lines_before,
                    count_lines(&bytes[..c.start]),
                    "{text:?} target {target}"
                );
                if c.end < bytes.len() {
                    // A cut is at a record end (empty lines skipped by the
                    // reader are between records too).
                    let at = c.end;
                    let prev = ends.iter().copied().rfind(|&e| e <= at);
                    let in_gap = bytes[prev.unwrap_or(0)..at].iter().all(|&b| b == b'\n');
                    assert!(
                        in_gap,
                        "{text:?} cut at {at} (target {target}), record ends {ends:?}"
                    );
                }
            }
            if target == 1 {
                // Every record end with a line end after it is a cut.
                for e in ends.iter().filter(|&&e| e < bytes.len()) {
                    assert!(chunks.iter().any(|c| c.end == *e), "{text:?}: {e}");
                }
            }
        }
        // The text's start, as a file read piece by piece shows it: its
        // chunks end at the last record end of the whole text inside it.
        let record_ends: Vec<usize> = split(bytes, b';', b'"', 1)
            .iter()
            .map(|c| c.end)
            .filter(|&e| e < bytes.len())
            .collect();
        for p in 0..=bytes.len() {
            for target in [1, 3, bytes.len() + 1] {
                let cut = split_records(&bytes[..p], b';', b'"', target, false);
                let expected = record_ends.iter().copied().filter(|&e| e <= p).max();
                if p < bytes.len() || cut.end < p {
                    assert_eq!(cut.end, expected.unwrap_or(0), "{text:?} start {p}");
                } else if p > 0 {
                    // The whole text ending at a line end outside quotes.
                    assert_eq!(bytes.last(), Some(&b'\n'), "{text:?}");
                }
                assert_eq!(
                    cut.lines,
                    count_lines(&bytes[..cut.end]),
                    "{text:?} start {p}"
                );
                let mut at = 0;
                for c in &cut.chunks {
                    assert_eq!((c.start, c.lines_before), (at, count_lines(&bytes[..at])));
                    assert!(c.end > c.start, "{text:?} start {p}: an empty chunk");
                    at = c.end;
                }
                assert_eq!(at, cut.end, "{text:?} start {p}");
            }
        }
    }

    #[test]
    fn cuts_fall_on_record_ends_only() {
        for text in [
            "",
            "a;b\n",
            "a;b\nc;d",
            "a;b\n\n\nc;d\n\n",
            "\"x\ny\";b\nc;d\n",
            "a;\"x\n\ny\"\nc;d\n",
            "a;\"say \"\"hi\"\"\n\";c\nd;e\n",
            "a\"b;c\nd;\"e\nf\"\n",
            "\"ab\"c\"d\ne;f\n",
            "\"never closed\na;b\nc;d\n",
            "a;b\n\"\"\"\n\"\"\"\nc\n",
            "\"\";\"\"\n\"\n\"\n",
            "a;\"\"\n\"b\nc\";d\n",
        ] {
            check(text);
        }
    }

    #[test]
    fn random_texts_are_cut_where_the_reader_ends_records() {
        // A fixed linear congruential sequence: texts of separators, quotes,
        // line ends and letters in every order.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let alphabet = [b';', b'"', b'\n', b'a', b'b', b'"', b'\n'];
        for _ in 0..3000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (x >> 59) as usize + 1;
            let mut t = Vec::with_capacity(len);
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                t.push(alphabet[(x >> 61) as usize % alphabet.len()]);
            }
            check(std::str::from_utf8(&t).unwrap());
        }
    }
}

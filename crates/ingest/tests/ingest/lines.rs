//! Lines and records of a CSV export: every physical line accounted for
//! (the ingest account's `lines`), CRLF / LF / CR-only alike, and quoted
//! fields over several lines accepted only where they cannot hide records.

use crate::common::*;
use cohortflow_core::ledger::LineAccount;
use cohortflow_ingest::Ingested;

const HEAD: &str = "id,sex,age,size,start,liver";
const REJECT: &str = "on_error = \"reject\"\n";

fn lines(out: &Ingested) -> LineAccount {
    out.account.lines.expect("a CSV source has a line account")
}

fn account(read: u64, before: u64, header: u64, records: u64, blank: u64) -> LineAccount {
    LineAccount {
        read,
        before_header: before,
        header,
        records,
        blank,
    }
}

/// (line, rule) of every reject.
fn rejects(out: &Ingested) -> Vec<(i64, String)> {
    out.rejects
        .iter()
        .map(|r| (r.source_row, r.rule.clone()))
        .collect()
}

fn with_source(extra: &str, csv: &str) -> String {
    format!("{extra}{BASIC}\n[source.csv]\n{csv}")
}

/// The same export with each kind of line end: the same rows, lines,
/// rejects and line account.
#[test]
fn crlf_lf_and_cr_only_files_read_the_same() {
    let body = [
        "title line",
        HEAD,
        "p1,M,61,1,01.02.2020,true",
        "",
        "p2,F,40,2,02.02.2020",
        "p3,F,40,2,31.02.2020,false",
        "p4,M,50,3,03.02.2020,true",
        "",
        "",
    ];
    let mut seen = Vec::new();
    for end in ["\n", "\r\n", "\r"] {
        let data = body.join(end);
        let (_d, r) = run_csv(&data, &with_source(REJECT, "header_row = 2\n"));
        let out = ok(r);
        let got = (rows(&out.frame), rejects(&out), lines(&out));
        assert_eq!(
            got,
            (
                vec![3, 7],
                vec![
                    (5, "wrong number of fields".to_string()),
                    (6, "unparseable date".to_string())
                ],
                account(8, 1, 1, 4, 2)
            ),
            "line end {end:?}"
        );
        seen.push(got);
    }
    // And the ledger balances in every case.
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn a_last_line_without_line_end_is_a_line() {
    let (_d, r) = run_csv(&format!("{HEAD}\np1,M,61,1,01.02.2020,true"), BASIC);
    assert_eq!(lines(&ok(r)), account(2, 0, 1, 1, 0));
}

/// A stray quote opening a field on line 3, closed on line 5: without
/// `multiline_fields` the lines are never one record.
#[test]
fn swallowed_records_are_rejected_line_by_line_or_stop_the_run() {
    let data = format!(
        "{HEAD}\np1,M,61,1,01.02.2020,true\np2,F,40,\"2,02.02.2020,false\n\
         p3,F,41,2,03.02.2020,false\np4,M,42,2\",04.02.2020,true\np5,M,43,2,05.02.2020,true\n"
    );
    // The three lines merge into one record of exactly 6 fields.
    let (_d, r) = run_csv(&data, BASIC);
    let e = err(r);
    assert_eq!(e.line, Some(3));
    has(
        &e.message,
        &[
            "runs over lines 3-5",
            "does not declare multiline_fields = true",
            "lines 4-5 may be records it swallowed",
        ],
    );
    let (_d, r) = run_csv(&data, &with_source(REJECT, ""));
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![2, 6]);
    let quote = "quote over lines 3-5".to_string();
    assert_eq!(
        rejects(&out),
        vec![(3, quote.clone()), (4, quote.clone()), (5, quote.clone())]
    );
    assert_eq!(
        (out.account.rows_in, out.account.rows_out),
        (5, 2),
        "each line of the span is a row of its own"
    );
    assert!(
        out.account
            .outcomes
            .iter()
            .any(|(_, reason, n)| *reason == quote && *n == 3)
    );
    assert_eq!(lines(&out), account(6, 0, 1, 5, 0));
    // Declared multi-line fields do not make it acceptable: line 4 inside
    // the span is a record of the header's width.
    let (_d, r) = run_csv(&data, &with_source("", "multiline_fields = true\n"));
    has(
        &err(r).message,
        &["line 4 inside it reads as a record of its own (6 fields"],
    );
}

#[test]
fn declared_multiline_text_fields_are_read() {
    // A note over three lines in the last column, and one in the first.
    let data = "id,sex,age,size,start,liver,note\n\
                p1,M,61,1,01.02.2020,true,\"first line\nsecond, with a comma\nthird\"\n\
                \"p\n2\",F,40,2,02.02.2020,false,x\n\
                p3,F,41,2,03.02.2020,false,\n";
    let src = with_source("", "multiline_fields = [\"note\", \"patient_id\"]\n")
        .replace("[source.columns]", "[source.columns]\nnote = \"note\"");
    let (_d, r) = run_csv(data, &src);
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![2, 5, 7]);
    assert_eq!(
        col(&out.frame, "note"),
        s(&[
            Some("first line\nsecond, with a comma\nthird"),
            Some("x"),
            None
        ])
    );
    assert_eq!(lines(&out), account(7, 0, 1, 6, 0));
    // `true` allows line breaks in unmapped columns only: the mapped note
    // and id may not hold one, and both spans are set aside.
    let only_unmapped = src.replace("[\"note\", \"patient_id\"]", "true");
    let (_d, r) = run_csv(data, &format!("on_error = \"reject\"\n{only_unmapped}"));
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![7]);
    assert_eq!(
        rejects(&out),
        [(2, "2-4"), (3, "2-4"), (4, "2-4"), (5, "5-6"), (6, "5-6")]
            .map(|(l, span)| (l, format!("quote over lines {span}")))
    );
    let (_d, r) = run_csv(data, &only_unmapped);
    has(&err(r).message, &["not listed in multiline_fields"]);
    // The same file without the declaration: both spans are set aside.
    let src = src.replace("multiline_fields = [\"note\", \"patient_id\"]", "");
    let (_d, r) = run_csv(data, &format!("on_error = \"reject\"\n{src}"));
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![7]);
    assert_eq!(
        rejects(&out)
            .into_iter()
            .map(|(l, _)| l)
            .collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6]
    );
}

#[test]
fn a_field_count_that_does_not_match_over_lines_is_a_swallow() {
    let data = format!("{HEAD}\np1,M,61,\"1,01.02.2020,true\np2,F,40,2,02.02.2020,false\n");
    let (_d, r) = run_csv(&data, &with_source(REJECT, "multiline_fields = true\n"));
    let out = ok(r);
    assert_eq!(
        rejects(&out),
        vec![
            (2, "quote over lines 2-3".to_string()),
            (3, "quote over lines 2-3".to_string())
        ]
    );
}

/// A stray quote that opens the first field (a text column) of line 3 and a
/// quote that closes the first field of line 4: the field count is kept,
/// the last line reads as a record of its own as a true multi-line first
/// field's would, but the joined field holds a whole record's separators.
#[test]
fn a_stray_quote_through_a_text_field_is_a_swallow() {
    let note = "id,sex,age,size,start,liver,note";
    let data = format!(
        "{note}\np1,M,61,1,01.02.2020,true,a\n\"p2,F,40,2,02.02.2020,false,b\n\
         p3\",F,41,2,03.02.2020,false,c\np4,M,42,2,04.02.2020,true,d\n"
    );
    // Even with the id declared to hold line breaks.
    let src = with_source("", "multiline_fields = [\"note\", \"patient_id\"]\n")
        .replace("[source.columns]", "[source.columns]\nnote = \"note\"");
    let (_d, r) = run_csv(&data, &format!("{REJECT}{src}"));
    let out = ok(r);
    assert_eq!(rows(&out.frame), vec![2, 5]);
    let quote = "quote over lines 3-4".to_string();
    assert_eq!(rejects(&out), vec![(3, quote.clone()), (4, quote)]);
    assert_eq!(lines(&out), account(5, 0, 1, 4, 0));
    let (_d, r) = run_csv(&data, &src);
    let e = err(r);
    assert_eq!(e.line, Some(3));
    has(
        &e.message,
        &["field 1 of the record on line 3 runs over lines 3-4 and holds 6 separators"],
    );
    // The same in the last column: its joined field holds the rest of
    // line 3's last field and the whole of line 4.
    let data = format!(
        "{note}\np1,M,61,1,01.02.2020,true,\"a\np2,F,40,2,02.02.2020,false,b\"\n\
         p3,F,41,2,03.02.2020,false,c\n"
    );
    let (_d, r) = run_csv(&data, &format!("{REJECT}{src}"));
    assert_eq!(rows(&ok(r).frame), vec![4]);
}

#[test]
fn an_unclosed_quote_swallows_the_rest_of_the_file() {
    let data = format!(
        "{HEAD}\np1,M,61,1,01.02.2020,\"true\np2,F,40,2,02.02.2020,false\n\
         p3,F,40,2,02.02.2020,false\n"
    );
    let (_d, r) = run_csv(&data, &with_source("", "multiline_fields = true\n"));
    has(
        &err(r).message,
        &["opens a quote '\"' that is never closed, so lines 2-4 (the end of the file)"],
    );
}

#[test]
fn utf16_exports_are_read_like_utf8() {
    let text = format!("{HEAD}\r\np1,M,61,1,01.02.2020,true\r\np2,F,40,2,02.02.2020,false\r\n");
    let utf8 = ok(run_csv(&text, BASIC).1);
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let cases: [(Vec<u8>, &str); 4] = [
        ([&[0xFF, 0xFE][..], &le].concat(), ""),
        ([&[0xFE, 0xFF][..], &be].concat(), ""),
        (le.clone(), "encoding = \"utf-16le\"\n"),
        (be.clone(), "encoding = \"utf-16\"\n"),
    ];
    for (bytes, csv) in cases {
        let out = ok(run_csv_bytes(&bytes, &with_source("", csv)).1);
        assert_eq!(out.frame, utf8.frame, "{csv}");
        assert_eq!(lines(&out), account(3, 0, 1, 2, 0));
    }
    // Without a byte order mark or a declaration: the error suspects UTF-16.
    let e = err(run_csv_bytes(&be, BASIC).1);
    assert_eq!(e.line, Some(1));
    has(&e.message, &["looks like UTF-16 (big-endian)"]);
    has(&e.fix, &["encoding = \"utf-16be\""]);
    // A file cut in the middle of a character names its last line.
    let cut = [&[0xFF, 0xFE][..], &le[..le.len() - 1]].concat();
    let e = err(run_csv_bytes(&cut, BASIC).1);
    assert_eq!(e.line, Some(4));
    has(&e.message, &["not valid UTF-16LE"]);
}

#[test]
fn no_value_of_the_data_in_any_message() {
    // header_row on a row of data: its cells are not shown.
    let data = format!("{HEAD}\nSN-123,M,61,1,01.02.2020,true\n");
    let e = err(run_csv(&data, &with_source("", "header_row = 2\n")).1);
    has(&e.message, &["line 2 is probably not the header line"]);
    assert!(!e.to_string().contains("SN-123"), "{e}");
    // A duplicated id names both lines, not the id.
    let data = format!("{HEAD}\nSN-123,M,61,1,01.02.2020,true\nSN-123,F,40,2,02.02.2020,false\n");
    let src = with_source("unique = [\"patient_id\"]\n", "");
    let e = err(run_csv(&data, &src).1);
    has(&e.message, &["is also that of line 2"]);
    assert!(!e.to_string().contains("SN-123"), "{e}");
    // Rejects keep the values in memory for --show-values; rejects.csv
    // hides them (cohortflow_core::rejects::to_csv).
    let out = ok(run_csv(&data, &format!("on_error = \"reject\"\n{src}")).1);
    let csv = cohortflow_core::rejects::to_csv(&out.rejects, Default::default());
    assert!(!csv.contains("SN-123"), "{csv}");
}

/// Every file of up to 6 characters over `x , " \n \r` after a header `x,y`
/// (19,531 files, each with and without `multiline_fields`): the reader never
/// panics, and whatever it reads, the file's physical lines (counted here
/// from its line ends) are the line account's, every row read is kept or
/// rejected, and no two rows claim the same line.
#[test]
fn every_small_file_is_accounted_for_line_by_line() {
    let schema: cohortflow_core::schema::Schema = toml::from_str(
        "name = \"t\"\n[[column]]\nname = \"x\"\ntype = \"string\"\n\
         [[column]]\nname = \"y\"\ntype = \"string\"\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<cohortflow_ingest::Source> = ["false", "true"]
        .iter()
        .map(|multi| {
            source_in(
                dir.path(),
                "data.csv",
                b"",
                &format!(
                    "name = \"t\"\ncentre = \"T\"\nformat = \"csv\"\non_error = \"reject\"\n\
                     [source.csv]\nmultiline_fields = {multi}\n\
                     [source.columns]\nx = \"x\"\ny = \"y\"\n"
                ),
            )
        })
        .collect();
    let alphabet = [b'x', b',', b'"', b'\n', b'\r'];
    let mut files = 0u64;
    for len in 0..=6u32 {
        for mut code in 0..alphabet.len().pow(len) {
            let mut file = b"x,y\n".to_vec();
            for _ in 0..len {
                file.push(alphabet[code % alphabet.len()]);
                code /= alphabet.len();
            }
            let mut physical = 0u64;
            let mut i = 0;
            while i < file.len() {
                if file[i] == b'\n' || file[i] == b'\r' {
                    physical += 1;
                    if file[i] == b'\r' && file.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                i += 1;
            }
            if !matches!(file.last(), Some(b'\n' | b'\r')) {
                physical += 1;
            }
            for source in &sources {
                files += 1;
                let Ok(out) = cohortflow_ingest::ingest_bytes(source, &schema, &file) else {
                    continue;
                };
                let shown = String::from_utf8_lossy(&file);
                let l = lines(&out);
                assert_eq!(l.read, physical, "{shown:?}");
                assert_eq!(l.accounted(), l.read, "{shown:?}");
                let a = &out.account;
                let rejected: u64 = a.outcomes.iter().map(|(_, _, n)| n).sum();
                assert_eq!(a.rows_in, a.rows_out + rejected, "{shown:?}");
                assert_eq!(rejected, out.rejects.len() as u64, "{shown:?}");
                let mut claimed: Vec<i64> = rows(&out.frame);
                claimed.extend(out.rejects.iter().map(|r| r.source_row));
                let n = claimed.len();
                claimed.sort();
                claimed.dedup();
                assert_eq!(claimed.len(), n, "two rows on one line: {shown:?}");
                assert!(
                    claimed.iter().all(|&r| r >= 2 && r as u64 <= physical),
                    "{shown:?}: {claimed:?}"
                );
            }
        }
    }
    assert_eq!(files, 2 * 19_531);
}

//! The records of a CSV are read in chunks on all cores: the output must not
//! depend on where the chunks are cut. Every input here is read with tiny
//! chunks (every record boundary a cut, so records over several lines
//! straddle cuts everywhere), small ones and in one piece, and the frames,
//! rejects, ledger accounts and errors must be identical.

use crate::common::source_file;
use cohortflow_core::schema::Schema;
use cohortflow_ingest::{IngestError, Ingested, Source, ingest_bytes_chunked};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mgist_schema() -> Schema {
    let text = std::fs::read_to_string(repo().join("pipelines/schemas/mgist.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// The cuts tried: every record its own chunk, a few sizes, the default.
const CUTS: [Option<usize>; 5] = [Some(1), Some(2), Some(37), Some(300), None];

fn same(a: &Result<Ingested, IngestError>, b: &Result<Ingested, IngestError>, what: &str) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert!(
                a.frame.equals_missing(&b.frame),
                "{what}: frames differ\n{}\n{}",
                a.frame,
                b.frame
            );
            assert_eq!(a.frame.schema(), b.frame.schema(), "{what}");
            assert_eq!(a.rejects, b.rejects, "{what}: rejects");
            assert_eq!(a.account, b.account, "{what}: account");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: errors"),
        (a, b) => panic!(
            "{what}: one piece {:?}, chunked {:?}",
            a.as_ref().map(|_| "ok"),
            b.as_ref().map(|_| "ok")
        ),
    }
}

/// Reads `data` in one piece and with every cut of [`CUTS`]; all must agree.
/// Returns the one-piece result.
fn agree(
    source: &Source,
    schema: &Schema,
    data: &[u8],
    what: &str,
) -> Result<Ingested, IngestError> {
    let whole = ingest_bytes_chunked(source, schema, data, Some(usize::MAX));
    for cut in CUTS {
        let chunked = ingest_bytes_chunked(source, schema, data, cut);
        same(
            &whole,
            &chunked,
            &format!("{what}, chunks of {cut:?} bytes"),
        );
    }
    whole
}

#[test]
fn the_mgist_fixture_reads_the_same_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("pipelines/sources/center_a.toml")).unwrap();
    let source = source_file(dir.path(), &text);
    let data = std::fs::read(repo().join("fixtures/mgist/center_a.csv")).unwrap();
    let out = agree(&source, &mgist_schema(), &data, "center_a.csv").unwrap();
    assert!(out.frame.height() > 40, "{}", out.frame.height());
    assert!(!out.rejects.is_empty());
}

/// Applies the `edit FILE: FROM => TO` directives of a bad-input case to
/// `file`'s text.
fn edited(expected: &str, file: &str, mut text: String) -> String {
    for line in expected.lines() {
        let Some(rest) = line.strip_prefix(&format!("edit {file}: ")) else {
            continue;
        };
        let Some((from, to)) = rest.split_once(" => ") else {
            continue;
        };
        let (from, to) = (from.replace("\\n", "\n"), to.replace("\\n", "\n"));
        text = text.replacen(&from, &to, 1);
    }
    text
}

#[test]
fn the_bad_input_corpus_reads_the_same_in_chunks() {
    let corpus = repo().join("crates/pipeline/tests/bad_inputs");
    let base = corpus.join("_base");
    let schema = mgist_schema();
    let mut cases = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    for case in names {
        let pick = |name: &str| {
            let own = case.join(name);
            if own.exists() { own } else { base.join(name) }
        };
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap_or_default();
        let Ok(toml_text) = std::fs::read_to_string(pick("source.toml")) else {
            continue;
        };
        let toml_text = edited(&expected, "source.toml", toml_text)
            .replace("{repo}", &repo().display().to_string());
        if !toml_text.contains("format = \"csv\"") {
            continue;
        }
        let data = std::fs::read(pick("data.csv")).unwrap();
        let data = match String::from_utf8(data) {
            Ok(t) => edited(&expected, "data.csv", t).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        let dir = tempfile::tempdir().unwrap();
        for on_error in ["fail", "reject"] {
            let text =
                toml_text.replace("on_error = \"fail\"", &format!("on_error = \"{on_error}\""));
            let Ok(parsed) = toml::from_str::<cohortflow_ingest::SourceFile>(&text) else {
                continue;
            };
            let file = dir.path().join("source.toml");
            let source = Source {
                config: parsed.source,
                file,
                text: text.clone(),
            };
            let what = format!("{} ({on_error})", case.display());
            agree(&source, &schema, &data, &what).ok();
            cases += 1;
        }
    }
    assert!(cases > 100, "{cases} cases read");
}

/// A fixed pseudo-random sequence (no RNG crate).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const HEADER: &str = "id;snils;sex;birth;diagnosis;site;mutation;size_cm;mets;line;im_start;response;\
                      progression;surgery;death;last_contact;comment";

/// One random export on the mgist columns: good rows mostly, and every
/// kind of trouble now and then (bad values, codes, dates, duplicate ids,
/// blank lines, ragged rows, stray quotes, quoted fields over several
/// lines, CRLF line ends).
fn random_export(rng: &mut Lcg, rows: usize) -> String {
    let mut out = String::from(HEADER);
    let crlf = rng.chance(30);
    let end = if crlf { "\r\n" } else { "\n" };
    out.push_str(end);
    for r in 0..rows {
        if rng.chance(4) {
            out.push_str(end);
        }
        let id = if rng.chance(5) {
            format!("P{}", rng.next() % 5)
        } else {
            format!("P-{r}")
        };
        let date = |rng: &mut Lcg| {
            if rng.chance(90) {
                format!(
                    "{:02}.{:02}.{}",
                    1 + rng.next() % 31,
                    1 + rng.next() % 12,
                    1940 + rng.next() % 80
                )
            } else {
                rng.pick(&[
                    "",
                    "31.02.2010",
                    "2010-01-02",
                    "1.2.2010",
                    "00.01.2010",
                    "15.13.2010",
                    "01.02.10",
                    "NA",
                    "x",
                ])
                .to_string()
            }
        };
        let mut cells: Vec<String> = vec![
            id,
            rng.pick(&["SN-1", "SN-2", "", "SN 3"]).to_string(),
            rng.pick(&["m", "f", "m", "f", "", "x", " m "]).to_string(),
            date(rng),
            date(rng),
            rng.pick(&["stomach", "small bowel", "rectum", "other", "", "colon"])
                .to_string(),
            rng.pick(&["KIT11", "KIT9", "not tested", "", "NA", "bad"])
                .to_string(),
            rng.pick(&["7,5", "12", "0,3", "", "7.5", "1,2,3", "abc", "-4", "99999"])
                .to_string(),
            rng.pick(&[
                "liver",
                "peritoneum",
                "lung",
                "bone",
                "liver+peritoneum",
                "",
                "skin",
            ])
            .to_string(),
            rng.pick(&["1", "2", "", "1,5", "x"]).to_string(),
            date(rng),
            rng.pick(&["PR", "SD", "PD", "", "CR"]).to_string(),
            date(rng),
            date(rng),
            date(rng),
            date(rng),
            rng.pick(&["", "note", "a;b", "two\nlines", "say \"hi\"", "x\ny\nz"])
                .to_string(),
        ];
        // Quote what needs quotes, mostly correctly.
        for c in cells.iter_mut() {
            if c.contains([';', '\n', '"']) || rng.chance(3) {
                *c = format!("\"{}\"", c.replace('"', "\"\""));
            }
        }
        if rng.chance(3) {
            let k = rng.next() as usize % cells.len();
            let at = rng.next() as usize % (cells[k].len() + 1);
            cells[k].insert(at, '"');
        }
        if rng.chance(2) {
            cells.pop();
        }
        if rng.chance(2) {
            cells.push("extra".into());
        }
        let line = cells.join(";").replace('\n', end);
        out.push_str(&line);
        if r + 1 < rows || rng.chance(70) {
            out.push_str(end);
        }
    }
    out
}

fn random_source(rng: &mut Lcg, on_error: &str) -> String {
    let multiline = rng.pick(&["false", "true", "[\"patient_id\"]"]);
    let unique = if rng.chance(50) {
        "unique = [\"patient_id\"]"
    } else {
        ""
    };
    format!(
        r#"[source]
name = "random"
centre = "R"
format = "csv"
path = "data.csv"
on_error = "{on_error}"
unmapped_columns = "ignore"
date_formats = ["%d.%m.%Y"]
missing = ["NA"]
{unique}

[source.csv]
separator = ";"
decimal_comma = true
multiline_fields = {multiline}

[source.columns]
patient_id = "id"
national_id = "snils"
sex = {{ column = "sex", values = {{ "m" = "M", "f" = "F" }} }}
birth_date = "birth"
diagnosis_date = "diagnosis"
primary_site = {{ column = "site", values = {{ "stomach" = "stomach", "small bowel" = "small_bowel", "rectum" = "rectum", "other" = "other" }} }}
mutation = {{ column = "mutation", missing = ["not tested"] }}
tumour_size = {{ column = "size_cm", unit = "cm" }}
mets_site = "mets"
im_line = "line"
im_start = "im_start"
best_response = "response"
progression_date = "progression"
surgery_date = "surgery"
death_date = "death"
last_followup = "last_contact"
"#
    )
}

#[test]
fn random_exports_read_the_same_in_chunks() {
    let schema = mgist_schema();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(20261130);
    let (mut ok, mut failed) = (0, 0);
    for i in 0..300 {
        let rows = 1 + rng.next() as usize % 40;
        let data = random_export(&mut rng, rows);
        let on_error = if i % 3 == 0 { "fail" } else { "reject" };
        let source = source_file(dir.path(), &random_source(&mut rng, on_error));
        match agree(
            &source,
            &schema,
            data.as_bytes(),
            &format!("export {i}:\n{data}"),
        ) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    // Both ends are exercised: exports read through and runs stopped.
    assert!(ok > 50 && failed > 20, "{ok} read, {failed} stopped");
}

#[test]
fn a_quoted_record_over_lines_straddles_every_cut() {
    // Multi-line comments, blank lines and a quote never closed at the end.
    let schema = mgist_schema();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(7);
    let mut text = random_source(&mut rng, "reject");
    for m in ["false", "[\"patient_id\"]"] {
        text = text.replace(
            &format!("multiline_fields = {m}"),
            "multiline_fields = true",
        );
    }
    let source = source_file(dir.path(), &text);
    let row = |id: &str, comment: &str| {
        format!(
            "{id};SN-1;m;12.03.1950;01.02.2010;stomach;KIT11;7,5;liver;1;15.02.2010;PR;;;;01.06.2015;{comment}\n"
        )
    };
    let mut data = format!("{HEADER}\n");
    data += &row("P1", "\"one\ntwo\"");
    data += "\n\n";
    data += &row("P2", "\"a\n\nb;c\n\"");
    data += &row("P3", "plain");
    data += &row("P4", "\"x\"\"\ny\"");
    data += &row("P5", "\"never closed\n");
    data += &row("P6", "plain");
    let out = agree(&source, &schema, data.as_bytes(), "straddling").unwrap();
    let lines = out.account.lines.unwrap();
    assert_eq!(lines.read, 15);
    assert_eq!(lines.accounted(), 15);
    assert_eq!(out.frame.height(), 4, "{}", out.frame);
}

/// The frame `assemble` makes of several sources is each source's own
/// frame, one after another (whatever the chunks each was read in), with
/// the rejects and accounts of each unchanged; a column a source does not
/// map is null in that source's rows.
#[test]
fn sources_assembled_together_are_their_frames_one_after_another() {
    use cohortflow_ingest::{assemble, read_bytes_chunked};
    let schema = mgist_schema();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = source_file(
        dir_a.path(),
        &std::fs::read_to_string(repo().join("pipelines/sources/center_a.toml")).unwrap(),
    );
    // Centre B (a workbook, read in one part) without its mappings of
    // `tumour_size` (a number) and `primary_site` (a category, text): the
    // columns are then null in its rows.
    let b_text = std::fs::read_to_string(repo().join("pipelines/sources/center_b.toml")).unwrap();
    let mut b_toml: toml::Table = toml::from_str(&b_text).unwrap();
    let columns = b_toml["source"]["columns"].as_table().unwrap().clone();
    let mut fewer = columns;
    for unmapped in ["tumour_size", "primary_site"] {
        assert!(
            fewer.remove(unmapped).is_some(),
            "the fixture maps {unmapped}"
        );
    }
    let b_source = b_toml["source"].as_table_mut().unwrap();
    b_source["columns"] = toml::Value::Table(fewer);
    b_source["unmapped_columns"] = toml::Value::String("ignore".into());
    let b = source_file(dir_b.path(), &toml::to_string(&b_toml).unwrap());
    let data_a = std::fs::read(repo().join("fixtures/mgist/center_a.csv")).unwrap();
    let data_b = std::fs::read(repo().join("fixtures/mgist/center_b.xlsx")).unwrap();

    let alone_a = ingest_bytes_chunked(&a, &schema, &data_a, None).unwrap();
    let alone_b = ingest_bytes_chunked(&b, &schema, &data_b, None).unwrap();
    // One after the other: each frame's `source` is codes of its own name,
    // so they are stacked as text and the result made codes of both names,
    // as the assembled frame's are.
    let as_text = |f: &polars::prelude::DataFrame| {
        let mut f = f.clone();
        let text = cohortflow_core::table::as_text(f.column("source").unwrap()).unwrap();
        f.with_column(text).unwrap();
        f
    };
    let mut stacked = as_text(&alone_a.frame);
    stacked.vstack_mut(&as_text(&alone_b.frame)).unwrap();
    let names = [a.config.name.clone(), b.config.name.clone()];
    let coded = stacked
        .column("source")
        .unwrap()
        .cast(&cohortflow_core::table::source_dtype(&names))
        .unwrap();
    stacked.with_column(coded).unwrap();
    for unmapped in ["tumour_size", "primary_site"] {
        let nulls = |f: &polars::prelude::DataFrame| f.column(unmapped).unwrap().null_count();
        assert_eq!(nulls(&alone_b.frame), alone_b.frame.height(), "{unmapped}");
        assert!(nulls(&alone_a.frame) < alone_a.frame.height(), "{unmapped}");
    }

    for (cut_a, cut_b) in [(Some(1), Some(37)), (Some(300), Some(2)), (None, None)] {
        let read_a = read_bytes_chunked(&a, &schema, &data_a, cut_a).unwrap();
        let read_b = read_bytes_chunked(&b, &schema, &data_b, cut_b).unwrap();
        assert_eq!(read_a.rejects, alone_a.rejects);
        assert_eq!(read_b.rejects, alone_b.rejects);
        assert_eq!(read_a.account, alone_a.account);
        assert_eq!(read_b.account, alone_b.account);
        let together = assemble(&schema, vec![read_a.columns, read_b.columns]).unwrap();
        let what = format!("chunks of {cut_a:?} and {cut_b:?} bytes");
        assert_eq!(together.schema(), stacked.schema(), "{what}");
        assert!(
            together.equals_missing(&stacked),
            "{what}: frames differ\n{together}\n{stacked}"
        );
        // One array per column.
        for c in together.columns() {
            assert_eq!(
                c.as_materialized_series().n_chunks(),
                1,
                "{what}: {}",
                c.name()
            );
        }
    }
    // No sources: the empty frame of the schema.
    let empty = assemble(&schema, Vec::new()).unwrap();
    assert_eq!(empty.schema(), schema.empty_frame(&[]).schema());
    assert_eq!(empty.height(), 0);
}

/// A CSV export's bytes are told as they are read, piece by piece (a run's
/// progress bar): every byte once, a file of many pieces in many reports
/// (each at most a piece and one read of 64 KiB, the least the stream
/// asks for, beyond it), and the rows are those read without being
/// watched.
#[test]
fn the_bytes_read_are_told_piece_by_piece() {
    use cohortflow_ingest::{read_bytes_chunked, read_bytes_observed};
    use std::sync::Mutex;
    let schema = mgist_schema();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("pipelines/sources/center_a.toml")).unwrap();
    let source = source_file(dir.path(), &text);
    // The fixture's records 100 times (a patient's later copies are
    // rejected as duplicates: rows all the same).
    let fixture = std::fs::read(repo().join("fixtures/mgist/center_a.csv")).unwrap();
    let end = fixture.iter().position(|&b| b == b'\n').unwrap() + 1;
    let (header, records) = fixture.split_at(end);
    let data = [header, &records.repeat(100)].concat();
    for chunk in [Some(1_000), Some(20_000), None] {
        let told = Mutex::new(Vec::new());
        let watched = read_bytes_observed(&source, &schema, &data, chunk, &|n| {
            told.lock().unwrap().push(n)
        })
        .unwrap();
        let told = told.into_inner().unwrap();
        assert_eq!(
            told.iter().sum::<u64>(),
            data.len() as u64,
            "chunks of {chunk:?}: every byte once"
        );
        let most = chunk.map_or(u64::MAX, |c| 8 * c as u64 + (1 << 16));
        assert!(
            told.iter().all(|&n| n > 0 && n <= most),
            "chunks of {chunk:?}: {told:?}"
        );
        if chunk.is_some() {
            assert!(
                told.len() as u64 >= data.len() as u64 / most,
                "chunks of {chunk:?}: {} reports for {} bytes",
                told.len(),
                data.len()
            );
        }
        let unwatched = read_bytes_chunked(&source, &schema, &data, chunk).unwrap();
        same(
            &watched.into_ingested(&schema),
            &unwatched.into_ingested(&schema),
            &format!("chunks of {chunk:?}"),
        );
    }
}

/// An invalid byte is reported after the problems of the lines before it,
/// read whole or in chunks: the lines before the byte's line are read
/// before its error comes (found by the `csv` fuzz target: read whole, a
/// header that did not match was hidden behind a bad byte on line 8, read
/// in small pieces it was not).
#[test]
fn an_invalid_byte_comes_after_the_problems_before_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("pipelines/sources/center_a.toml")).unwrap();
    let text = text.replace("encoding = \"windows-1251\"", "encoding = \"utf-8\"");
    assert!(text.contains("encoding = \"utf-8\""));
    let source = source_file(dir.path(), &text);
    let schema = mgist_schema();
    let raw = std::fs::read(repo().join("fixtures/mgist/center_a.csv")).unwrap();
    let mut data = encoding_rs::WINDOWS_1251
        .decode(&raw)
        .0
        .into_owned()
        .into_bytes();
    // 0xFF is in no UTF-8 character: at the start of line 8.
    let line8 = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(6)
        .unwrap()
        .0
        + 1;
    data.insert(line8, 0xFF);
    let e = agree(&source, &schema, &data, "a bad byte on line 8").unwrap_err();
    assert_eq!(e.line, Some(8), "{e:?}");
    assert!(e.message.contains("not valid UTF-8"), "{e:?}");
    // The first header misspelt ("№ истории" written "N истории"): the
    // header's problem, on line 1, whatever the cuts.
    let header = "№ истории";
    assert!(data.starts_with(header.as_bytes()));
    data.splice(0..header.len(), "N истории".bytes());
    let e = agree(&source, &schema, &data, "a header typo and a bad byte").unwrap_err();
    assert_eq!(e.line, Some(1), "{e:?}");
    assert!(e.message.contains("not in the header"), "{e:?}");
}

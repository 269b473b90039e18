//! The bad-input corpus: broken exports and broken pipeline files, each with
//! the exact error or reject it must produce (`tests/bad_inputs/<case>/`).
//!
//! A case is a directory with an `expected.txt` and the files that differ
//! from `tests/bad_inputs/_base/` (a small study on the mgist schema: one CSV
//! source, the bundled study's rules, endpoints, criteria and arms). The case
//! runs in a temporary folder holding the base files overlaid with the case's
//! files; `{repo}` in a `.toml` file stands for the repository root.
//!
//! `expected.txt`, one directive per line (`#` starts a comment):
//!
//! ```text
//! edit FILE: FROM => TO     replace the first FROM (which must occur) in FILE by TO; \n is a line break
//! command: validate         only load the pipeline (default: load and run)
//! out: PATH                 the run folder, relative to the case folder (default runs/study)
//! setup-file: PATH          create a regular file PATH (with its folders) before the run
//! outcome: error | ok       required
//! message: TEXT             error: TEXT must appear in the error ({dir} is the case folder)
//! reject: SOURCE,ROW,STAGE,RULE   ok: the rows of rejects.csv (all of them, exactly)
//! rejects-contain: TEXT     ok: TEXT appears in rejects.csv
//! ingest: SOURCE read=N kept=N    ok: the ingest account of SOURCE
//! lines: SOURCE read=N before=N header=N records=N blank=N
//!                           ok: the line account of a CSV source (ledger.csv)
//! show-values: on           run with --show-values (values in errors and rejects.csv)
//! ```
//!
//! Every case also checks that:
//! - an error leaves no run folder and no `.partial-*` folder behind;
//! - a run balances its ledger, per source: rows read = kept + rejected at
//!   ingest, rows read = analysed + rejected + excluded over all stages, and
//!   each rejected row is one line of `rejects.csv`;
//! - no patient identifier (`PID-...`, `SN-...` in the corpus data) appears
//!   in the info, warn or error logs, whether the run succeeds or fails;
//! - without `show-values: on`, no value of the case's data appears in the
//!   error message or the logs (every cell of the CSV files' data lines of 4 characters
//!   or more that no `.toml` file of the case or the schema contains), and
//!   the `values` column of rejects.csv is empty: messages name file, line,
//!   column and fix, never a value;
//! - a CSV source's line account balances (lines read = before the header +
//!   header + records + blank).
//!
//! Every case runs twice: as a real run reads its CSV exports (one chunk and
//! one piece, the files being small), and in chunks of 1 to 200 bytes with
//! pieces of eight chunks (`CHUNKS`, a size per case), so that each
//! expectation also holds where a record, a quoted line break, a CRLF or a
//! character's bytes fall across the boundaries of a registry-size read.

use cohortflow_core::ledger::Outcome;
use cohortflow_pipeline::{RunOptions, RunSummary, load, run_with};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Substrings that only patient identifiers of the corpus contain.
const IDS: [&str; 2] = ["PID-", "SN-"];

#[derive(Debug, Default)]
struct Expected {
    edits: Vec<(String, String, String)>,
    validate_only: bool,
    out: Option<String>,
    setup_files: Vec<String>,
    ok: Option<bool>,
    messages: Vec<String>,
    rejects: Vec<String>,
    rejects_contain: Vec<String>,
    ingest: Vec<(String, u64, u64)>,
    lines: Vec<(String, [u64; 5])>,
    show_values: bool,
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
}

fn parse_expected(text: &str) -> Result<Expected, String> {
    let mut e = Expected::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let bad = || format!("expected.txt:{}: cannot read {line:?}", i + 1);
        let (key, value) = line.split_once(':').ok_or_else(bad)?;
        let value = value.trim_start();
        if let Some(file) = key.strip_prefix("edit ") {
            let (from, to) = value.split_once(" =>").ok_or_else(bad)?;
            let to = to.strip_prefix(' ').unwrap_or(to);
            e.edits
                .push((file.trim().to_string(), unescape(from), unescape(to)));
            continue;
        }
        match key {
            "command" if value == "validate" => e.validate_only = true,
            "out" => e.out = Some(value.to_string()),
            "setup-file" => e.setup_files.push(value.to_string()),
            "outcome" => {
                e.ok = Some(match value {
                    "ok" => true,
                    "error" => false,
                    _ => return Err(bad()),
                })
            }
            "message" => e.messages.push(value.to_string()),
            "reject" => e.rejects.push(value.to_string()),
            "rejects-contain" => e.rejects_contain.push(value.to_string()),
            "show-values" if value == "on" => e.show_values = true,
            "lines" => {
                let mut parts = value.split_whitespace();
                let source = parts.next().ok_or_else(bad)?.to_string();
                let mut counts = [0u64; 5];
                for (n, prefix) in counts
                    .iter_mut()
                    .zip(["read=", "before=", "header=", "records=", "blank="])
                {
                    *n = parts
                        .next()
                        .and_then(|p| p.strip_prefix(prefix))
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(bad)?;
                }
                e.lines.push((source, counts));
            }
            "ingest" => {
                let mut parts = value.split_whitespace();
                let source = parts.next().ok_or_else(bad)?.to_string();
                let mut num = |prefix: &str| -> Result<u64, String> {
                    parts
                        .next()
                        .and_then(|p| p.strip_prefix(prefix))
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(bad)
                };
                let read = num("read=")?;
                let kept = num("kept=")?;
                e.ingest.push((source, read, kept));
            }
            _ => return Err(bad()),
        }
    }
    if e.ok.is_none() {
        return Err("expected.txt has no `outcome:`".into());
    }
    if e.ok == Some(false) && e.messages.is_empty() {
        return Err("an error case needs at least one `message:`".into());
    }
    Ok(e)
}

/// Copies the base files and then the case's files into `dir`.
fn assemble(case: &Path, dir: &Path) -> Result<(), String> {
    let repo = repo().display().to_string();
    for from in [corpus().join("_base"), case.to_path_buf()] {
        for entry in std::fs::read_dir(&from).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().unwrap();
            if name == "expected.txt" {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            // A .toml file that is not UTF-8 (a case about encodings) is
            // copied as it is.
            let bytes = if path.extension().is_some_and(|x| x == "toml") {
                match String::from_utf8(bytes) {
                    Ok(text) => text.replace("{repo}", &repo).into_bytes(),
                    Err(e) => e.into_bytes(),
                }
            } else {
                bytes
            };
            std::fs::write(dir.join(name), bytes).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// A log sink for the info, warn and error events of one case.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn partial_folders(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains(".partial-")
        {
            found.push(path.clone());
        }
        if path.is_dir() {
            partial_folders(&path, found);
        }
    }
}

/// Runs `case` and lists what is wrong: its CSV exports read in a real
/// run's chunks and pieces (`chunk` = `None`) or in chunks of `chunk` bytes
/// and pieces of eight chunks (a registry-size export's boundaries, on the
/// corpus's small files).
fn check_case(case: &Path, chunk: Option<usize>) -> Vec<String> {
    let mut wrong = Vec::new();
    let expected = match std::fs::read_to_string(case.join("expected.txt"))
        .map_err(|e| e.to_string())
        .and_then(|t| parse_expected(&t))
    {
        Ok(e) => e,
        Err(e) => return vec![e],
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    if let Err(e) = assemble(case, dir) {
        return vec![format!("cannot assemble the case: {e}")];
    }
    let repo = repo().display().to_string();
    for (file, from, to) in &expected.edits {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let from = from.replace("{repo}", &repo);
        if !text.contains(from.as_str()) {
            return vec![format!("edit {file}: {from:?} is not in the file")];
        }
        std::fs::write(
            &path,
            text.replacen(from.as_str(), &to.replace("{repo}", &repo), 1),
        )
        .unwrap();
    }
    for f in &expected.setup_files {
        let path = dir.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "a file the run must not touch\n").unwrap();
    }
    let out = dir.join(expected.out.as_deref().unwrap_or("runs/study"));
    let out_existed = out.exists();

    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        // No timestamps: "05:36:11.4" would read as the data value "11.4".
        .without_time()
        .with_writer(move || sink.clone())
        .finish();
    let result: Result<Option<RunSummary>, String> =
        tracing::subscriber::with_default(subscriber, || {
            let loaded = load(&dir.join("pipeline.toml")).map_err(|e| e.to_string())?;
            if expected.validate_only {
                return Ok(None);
            }
            let options = RunOptions {
                show_values: expected.show_values,
                ingest_chunk_bytes: chunk,
                ..RunOptions::default()
            };
            run_with(&loaded, &out, options)
                .map(Some)
                .map_err(|e| e.to_string())
        });
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for id in IDS {
        if logs.contains(id) {
            wrong.push(format!(
                "a patient identifier ({id}...) is in the logs:\n{logs}"
            ));
        }
    }
    let dir_text = dir.display().to_string();
    if !expected.show_values {
        let logs = logs.replace(&dir_text, "{dir}");
        let message = match &result {
            Err(message) => message.replace(&dir_text, "{dir}"),
            Ok(_) => String::new(),
        };
        for v in data_values(dir) {
            if message.contains(&v) {
                wrong.push(format!(
                    "a value of the data ({v:?}) is in the error message:\n{message}"
                ));
            }
            if logs.contains(&v) {
                wrong.push(format!(
                    "a value of the data ({v:?}) is in the logs:\n{logs}"
                ));
            }
        }
    }
    match (&result, expected.ok) {
        (Err(message), Some(false)) => {
            for m in &expected.messages {
                let m = m.replace("{dir}", &dir_text);
                if !message.contains(&m) {
                    wrong.push(format!("{m:?} is not in the error:\n{message}"));
                }
            }
            if out.is_dir() && !out_existed {
                wrong.push(format!("the failed run left {}", out.display()));
            }
        }
        (Ok(summary), Some(true)) => {
            if let Some(summary) = summary {
                check_run(&expected, summary, &out, &mut wrong);
            }
        }
        (Err(message), _) => wrong.push(format!("expected success, got:\n{message}")),
        (Ok(_), _) => wrong.push("expected an error, but it succeeded".into()),
    }
    for f in &expected.setup_files {
        if std::fs::read_to_string(dir.join(f)).ok().as_deref()
            != Some("a file the run must not touch\n")
        {
            wrong.push(format!("the run changed or removed the file {f}"));
        }
    }
    let mut partial = Vec::new();
    partial_folders(dir, &mut partial);
    if !partial.is_empty() {
        wrong.push(format!("partial folders left behind: {partial:?}"));
    }
    wrong
}

/// The values of the case's data that may not appear in a message: every
/// cell of the data lines (all but the first line) of its CSV files, of 4
/// characters or more, that no `.toml` file of the case, nor the schema,
/// contains (those are configuration: codes, levels, headers).
fn data_values(dir: &Path) -> Vec<String> {
    let mut config =
        std::fs::read_to_string(repo().join("pipelines/schemas/mgist.toml")).unwrap_or_default();
    let mut cells = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match ext {
            "toml" => config.push_str(&text),
            "csv" => {
                for line in text.split(['\n', '\r']).skip(1) {
                    cells.extend(
                        line.split([',', ';', '\t', '|'])
                            .map(|c| c.trim().trim_matches('"').trim().to_string()),
                    );
                }
            }
            _ => {}
        }
    }
    cells.sort();
    cells.dedup();
    cells
        .into_iter()
        .filter(|c| c.chars().count() >= 4 && !config.contains(c.as_str()))
        .collect()
}

fn check_run(expected: &Expected, summary: &RunSummary, out: &Path, wrong: &mut Vec<String>) {
    let ledger = &summary.ledger;
    if !ledger.imbalances().is_empty() {
        wrong.push(format!("ledger imbalances: {:?}", ledger.imbalances()));
    }
    let rejects_csv = std::fs::read_to_string(out.join("rejects.csv")).unwrap_or_default();
    if !expected.show_values {
        for line in rejects_csv.lines().skip(1) {
            if !line.ends_with(',') {
                wrong.push(format!(
                    "rejects.csv shows values without --show-values: {line}"
                ));
            }
        }
    }
    let ledger_csv = std::fs::read_to_string(out.join("ledger.csv")).unwrap_or_default();
    for (source, counts) in &expected.lines {
        let got: Vec<u64> = [
            "lines read",
            "lines: before header",
            "lines: header",
            "lines: records",
            "lines: blank",
        ]
        .iter()
        .map(|item| {
            ledger_csv
                .lines()
                .find_map(|l| {
                    l.strip_prefix(&format!("ingest,{source},{item},"))
                        .and_then(|n| n.parse().ok())
                })
                .unwrap_or(u64::MAX)
        })
        .collect();
        if got != counts {
            wrong.push(format!(
                "{source}: ledger.csv lines (read, before, header, records, blank) {got:?}, \
                 expected {counts:?}\n{ledger_csv}"
            ));
        }
    }
    let mut sources: Vec<&str> = ledger
        .accounts()
        .iter()
        .filter(|a| a.stage == "ingest")
        .map(|a| a.source.as_str())
        .collect();
    sources.dedup();
    for source in sources {
        let accounts: Vec<_> = ledger
            .accounts()
            .iter()
            .filter(|a| a.source == source)
            .collect();
        let sum = |stage: Option<&str>, outcome: Outcome| -> u64 {
            accounts
                .iter()
                .filter(|a| stage.is_none_or(|s| a.stage == s))
                .flat_map(|a| &a.outcomes)
                .filter(|(o, _, _)| *o == outcome)
                .map(|(_, _, n)| n)
                .sum()
        };
        let ingest = accounts.iter().find(|a| a.stage == "ingest").unwrap();
        let rejected_at_ingest = sum(Some("ingest"), Outcome::Rejected);
        if ingest.rows_in != ingest.rows_out + rejected_at_ingest {
            wrong.push(format!(
                "{source}: ingest read {} != kept {} + rejected {rejected_at_ingest}",
                ingest.rows_in, ingest.rows_out
            ));
        }
        let rejected = sum(None, Outcome::Rejected);
        let excluded = sum(None, Outcome::Excluded);
        let analysed = accounts.last().unwrap().rows_out;
        if ingest.rows_in != analysed + rejected + excluded {
            wrong.push(format!(
                "{source}: read {} != analysed {analysed} + rejected {rejected} + excluded {excluded}",
                ingest.rows_in
            ));
        }
        let lines = rejects_csv
            .lines()
            .skip(1)
            .filter(|l| l.starts_with(&format!("{source},")))
            .count() as u64;
        if lines != rejected {
            wrong.push(format!(
                "{source}: {rejected} rows rejected in the ledger, {lines} in rejects.csv"
            ));
        }
        for (s, read, kept) in &expected.ingest {
            if s == source && (ingest.rows_in, ingest.rows_out) != (*read, *kept) {
                wrong.push(format!(
                    "{source}: ingest read {} kept {}, expected read {read} kept {kept}",
                    ingest.rows_in, ingest.rows_out
                ));
            }
        }
    }
    for (s, _, _) in &expected.ingest {
        if !ledger.accounts().iter().any(|a| &a.source == s) {
            wrong.push(format!("no source {s} in the ledger"));
        }
    }
    // rejects.csv: source,source_row,stage,rule,... ; compare the first four
    // fields of every row with the expectation, as a set.
    let mut got: Vec<String> = rejects_csv
        .lines()
        .skip(1)
        .map(|l| first_fields(l, 4))
        .collect();
    let mut want = expected.rejects.clone();
    got.sort();
    want.sort();
    if got != want {
        wrong.push(format!(
            "rejects.csv rows {got:#?}\n  expected {want:#?}\n{rejects_csv}"
        ));
    }
    for c in &expected.rejects_contain {
        if !rejects_csv.contains(c.as_str()) {
            wrong.push(format!("{c:?} is not in rejects.csv:\n{rejects_csv}"));
        }
    }
}

/// The first `n` fields of a CSV line, joined by `,` without quotes.
fn first_fields(line: &str, n: usize) -> String {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == n {
                    return fields.join(",");
                }
            }
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields.truncate(n);
    fields.join(",")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    cases.sort();
    cases
}

/// The chunk sizes the corpus is also read in, one per case in turn: a
/// record, a quoted line break, a CRLF, a BOM or a character's bytes cut
/// anywhere.
const CHUNKS: [usize; 6] = [1, 3, 7, 16, 61, 200];

#[test]
fn every_bad_input_gives_its_expected_error_or_reject() {
    let cases = cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let name = case.file_name().unwrap().to_string_lossy().to_string();
                    // Each case twice: as a real run reads it, and in tiny
                    // chunks (a different size for each case).
                    let chunk = CHUNKS[i % CHUNKS.len()];
                    for (chunk, how) in [
                        (None, String::new()),
                        (
                            Some(chunk),
                            format!(" (CSV read in chunks of {chunk} byte(s))"),
                        ),
                    ] {
                        let wrong = check_case(case, chunk);
                        if !wrong.is_empty() {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("case {name}{how}:\n  {}", wrong.join("\n  ")));
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The base study itself runs cleanly: every corpus case differs from it only
/// by what the case shows.
#[test]
fn the_base_study_runs_without_rejects() {
    let wrong = check_case(&corpus().join("_base"), None);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

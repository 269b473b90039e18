//! The checker: after a run (or a stopped run) of a written case, every
//! record of every true patient is accounted for.
//!
//! For each record that is in the export:
//! - (a) it is in `ingest.parquet` at its own line (sheet row) with exactly
//!   its true values in every column (or an accepted alternative reading of a
//!   damaged cell, which must then be flagged or rejected later), and then
//!   either reaches `derive.parquet` with its true endpoints or is rejected
//!   at clean/derive — the latter only when a damage touched it, or it is the
//!   dropped copy of a linked patient; or
//! - (b) it is in `rejects.csv` with a reason, on one of the lines the record
//!   occupies in the written file (or a rejected block of lines whose reason
//!   names its line) — only when a damage touched it; or
//! - (c) the run stopped with an error that names a file (and a line, row
//!   or key unless the whole file is damaged) and no patient's value, and
//!   left no run folder — only when a damage that may stop a run is present.
//!
//! Never absent, never altered. Every row of `ingest.parquet` is a record at
//! its start line; every reject is on a damaged record's line or on debris
//! (a blank line, a repeated header); the ledger balances per source; no
//! patient identifier appears in the logs.

use super::damage::{Applied, Kind};
use super::generator::{COLUMNS, Val};
use super::writers::{Format, Table};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One source of a case, as written.
pub struct SourceCase {
    pub name: String,
    pub data_file: String,
    pub toml_file: String,
    pub format: Format,
    pub table: Table,
    pub on_error_reject: bool,
    /// Lines (rows) of debris: blank lines, repeated headers.
    pub debris: Vec<(i64, i64)>,
}

/// A row of `rejects.csv`.
#[derive(Debug, Clone)]
pub struct RejectRow {
    pub source: String,
    pub row: i64,
    pub stage: String,
    pub rule: String,
    pub columns: String,
}

pub fn read_rejects(text: &str) -> Result<Vec<RejectRow>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("rejects.csv: {e}"))?;
        out.push(RejectRow {
            source: rec.get(0).unwrap_or("").to_string(),
            row: rec
                .get(1)
                .and_then(|r| r.parse().ok())
                .ok_or("rejects.csv: a row without a number")?,
            stage: rec.get(2).unwrap_or("").to_string(),
            rule: rec.get(3).unwrap_or("").to_string(),
            columns: rec.get(4).unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<DataFrame, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A stage table's rows by `(source, source_row)`: the canonical values and
/// the flags.
struct StageRows {
    rows: HashMap<(String, i64), Vec<usize>>,
    values: Vec<Vec<Val>>,
    flags: Vec<bool>,
    endpoints: Vec<Option<(f64, bool, f64, bool)>>,
    /// The derived column `size_per_day`, when the table has it.
    size_per_day: Vec<Option<f64>>,
}

fn column_vals(df: &DataFrame, name: &str) -> Result<Vec<Val>, String> {
    let col = df
        .column(name)
        .map_err(|e| format!("no column {name}: {e}"))?;
    let e = |e: PolarsError| format!("{name}: {e}");
    let n = df.height();
    Ok(match name {
        "tumour_size" => {
            let c = col.cast(&DataType::Float64).map_err(e)?;
            let c = c.f64().map_err(e)?;
            (0..n)
                .map(|i| c.get(i).map_or(Val::Null, Val::Float))
                .collect()
        }
        "im_line" => {
            let c = col.cast(&DataType::Int64).map_err(e)?;
            let c = c.i64().map_err(e)?;
            (0..n)
                .map(|i| c.get(i).map_or(Val::Null, Val::Int))
                .collect()
        }
        n2 if super::generator::DATE_COLUMNS.contains(&n2) => {
            let c = col.cast(&DataType::Int32).map_err(e)?;
            let c = c.i32().map_err(e)?;
            (0..n)
                .map(|i| c.get(i).map_or(Val::Null, Val::Date))
                .collect()
        }
        _ => {
            let c = col.cast(&DataType::String).map_err(e)?;
            let c = c.str().map_err(e)?;
            (0..n)
                .map(|i| c.get(i).map_or(Val::Null, |s| Val::Str(s.to_string())))
                .collect()
        }
    })
}

fn stage_rows(df: &DataFrame) -> Result<StageRows, String> {
    let e = |e: PolarsError| e.to_string();
    let source = df
        .column("source")
        .map_err(e)?
        .cast(&DataType::String)
        .map_err(e)?;
    let source = source.str().map_err(e)?;
    let row = df
        .column("source_row")
        .map_err(e)?
        .cast(&DataType::Int64)
        .map_err(e)?;
    let row = row.i64().map_err(e)?;
    let mut rows: HashMap<(String, i64), Vec<usize>> = HashMap::new();
    for i in 0..df.height() {
        rows.entry((
            source.get(i).unwrap_or("").to_string(),
            row.get(i).unwrap_or(-1),
        ))
        .or_default()
        .push(i);
    }
    let cols: Vec<Vec<Val>> = COLUMNS
        .iter()
        .map(|c| column_vals(df, c))
        .collect::<Result<_, _>>()?;
    let values = (0..df.height())
        .map(|i| cols.iter().map(|c| c[i].clone()).collect())
        .collect();
    let flags = match df.column("flags") {
        Ok(f) => {
            let f = f.cast(&DataType::String).map_err(e)?;
            let f = f.str().map_err(e)?.clone();
            (0..df.height())
                .map(|i| f.get(i).is_some_and(|s| !s.is_empty()))
                .collect()
        }
        Err(_) => vec![false; df.height()],
    };
    let endpoints = match (
        df.column("pfs_time"),
        df.column("pfs_event"),
        df.column("os_time"),
        df.column("os_event"),
    ) {
        (Ok(pt), Ok(pe), Ok(ot), Ok(oe)) => {
            let pt = pt.f64().map_err(e)?.clone();
            let pe = pe.bool().map_err(e)?.clone();
            let ot = ot.f64().map_err(e)?.clone();
            let oe = oe.bool().map_err(e)?.clone();
            (0..df.height())
                .map(|i| Some((pt.get(i)?, pe.get(i)?, ot.get(i)?, oe.get(i)?)))
                .collect()
        }
        _ => vec![None; df.height()],
    };
    let size_per_day = match df.column("size_per_day") {
        Ok(c) => {
            let c = c.cast(&DataType::Float64).map_err(e)?;
            let c = c.f64().map_err(e)?.clone();
            (0..df.height()).map(|i| c.get(i)).collect()
        }
        Err(_) => vec![None; df.height()],
    };
    Ok(StageRows {
        rows,
        values,
        flags,
        endpoints,
        size_per_day,
    })
}

/// Whether the schema declares a normalisation of `national_id` (the
/// linkage key): then a SNILS read as its digits only is its true
/// value too. Read from `pipelines/schemas/mgist.toml`, the study's schema.
fn national_id_normalised() -> bool {
    static FLAG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/schemas/mgist.toml");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.split("[[column]]")
            .find(|block| block.contains("\"national_id\""))
            .is_some_and(|block| block.contains("normali") || block.contains("digits"))
    })
}

/// Canonical values equal, column by column (floats bit for bit); the SNILS
/// compared by its digits when the schema normalises it.
fn same_values(got: &[Val], want: &[Val]) -> bool {
    if got == want {
        return true;
    }
    if !national_id_normalised() {
        return false;
    }
    let digits = |v: &Val| match v {
        Val::Str(s) => Val::Str(s.chars().filter(|c| c.is_ascii_digit()).collect()),
        v => v.clone(),
    };
    got.iter().zip(want).enumerate().all(|(i, (g, w))| {
        if COLUMNS[i] == "national_id" {
            digits(g) == digits(w)
        } else {
            g == w
        }
    })
}

fn show(values: &[Val]) -> String {
    COLUMNS
        .iter()
        .zip(values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn diff(want: &[Val], got: &[Val]) -> String {
    COLUMNS
        .iter()
        .zip(want.iter().zip(got))
        .filter(|(_, (w, g))| w != g)
        .map(|(c, (w, g))| format!("{c}: true {w}, read {g}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every number in a text that follows "line"/"lines"/"row"/"rows", and
/// ranges `a-b`, `a–b`, `a..b` after them.
fn named_lines(text: &str) -> Vec<(i64, i64)> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for key in ["line", "row"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let mut rest = &lower[from + i + key.len()..];
            rest = rest.strip_prefix('s').unwrap_or(rest);
            // Numbers separated by ", ", " and ", ranges.
            let mut nums: Vec<i64> = Vec::new();
            let mut cur = String::new();
            let mut range_open = false;
            for (k, c) in rest.char_indices() {
                if c.is_ascii_digit() {
                    cur.push(c);
                    continue;
                }
                if !cur.is_empty() {
                    let n: i64 = cur.parse().unwrap_or(-1);
                    if range_open {
                        let a = nums.pop().unwrap_or(n);
                        out.push((a, n));
                        range_open = false;
                    } else {
                        nums.push(n);
                    }
                    cur.clear();
                }
                let skip = matches!(c, '.' | ' ' | ',' | ':')
                    || rest[k..].starts_with("and")
                    || rest[k..].starts_with("to")
                    || (k > 0 && matches!(c, 'n' | 'd' | 'o'));
                if c == '-' || c == '–' || (c == '.' && rest[k + 1..].starts_with('.')) {
                    range_open = true;
                } else if !skip {
                    break;
                }
                if k > 60 {
                    break;
                }
            }
            if !cur.is_empty() {
                nums.push(cur.parse().unwrap_or(-1));
            }
            for n in nums {
                out.push((n, n));
            }
            from += i + key.len();
        }
    }
    out
}

/// Whether an error message names a line, row or key.
pub fn names_a_place(msg: &str, files: &[&str]) -> bool {
    if !named_lines(msg).is_empty() || msg.contains("key") || msg.contains("column") {
        return true;
    }
    files.iter().any(|f| {
        msg.match_indices(f).any(|(i, _)| {
            msg[i + f.len()..]
                .strip_prefix(':')
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
    })
}

/// Patient values that must never be in a message or log: ids, SNILS (as
/// written and digits only), date texts as written.
pub fn patient_values(sources: &[SourceCase]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sources {
        for (c, col) in s.table.columns.iter().enumerate() {
            let Some(col) = col else { continue };
            for r in &s.table.records {
                let text = match &r.cells[c] {
                    super::writers::Cell::Text(t) | super::writers::Cell::Raw(t) => t.clone(),
                    _ => continue,
                };
                let text: String = text
                    .chars()
                    .filter(|c| !('\u{E000}'..='\u{E002}').contains(c))
                    .collect();
                let text = text.trim().to_string();
                match *col {
                    "patient_id" | "national_id" if text.len() >= 5 => {
                        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
                        if digits.len() >= 9 {
                            out.push(digits);
                        }
                        out.push(text);
                    }
                    c if super::generator::DATE_COLUMNS.contains(&c) && text.len() >= 8 => {
                        out.push(text)
                    }
                    _ => {}
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether any patient value is in `text`; returns the first.
pub fn leaked<'a>(text: &str, values: &'a [String]) -> Option<&'a str> {
    values
        .iter()
        .find(|v| text.contains(v.as_str()))
        .map(|s| s.as_str())
}

/// The run's outcome, as the checker sees it.
pub enum Outcome<'a> {
    Ok {
        out: &'a Path,
        ledger: &'a cohortflow_core::ledger::Ledger,
    },
    Err(&'a str),
}

/// How the records of a case ended, as checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Read with exactly their values and carried to derive.parquet.
    pub analysed: usize,
    /// Rejected with a reason on their own line.
    pub rejected: usize,
    /// In a run that stopped with an acceptable error.
    pub stopped: usize,
}

/// Checks one case; returns what is wrong, one line each, and the tally.
pub fn check(
    sources: &[SourceCase],
    damages: &[Applied],
    outcome: Outcome<'_>,
    case_dir: &Path,
    out_dir: &Path,
    logs: &str,
) -> (Vec<String>, Tally) {
    let mut tally = Tally::default();
    let mut wrong = Vec::new();
    let values = patient_values(sources);
    if let Some(v) = leaked(logs, &values) {
        wrong.push(format!("a patient value ({v:?}) is in the logs"));
    }
    let mut partial = Vec::new();
    find_partial(case_dir, &mut partial);
    if !partial.is_empty() {
        wrong.push(format!("partial folders left behind: {partial:?}"));
    }
    match outcome {
        Outcome::Err(msg) => {
            check_error(sources, damages, msg, out_dir, &values, &mut wrong);
            tally.stopped = sources
                .iter()
                .map(|s| s.table.records.iter().filter(|r| !r.gone).count())
                .sum();
        }
        Outcome::Ok { out, ledger } => {
            if let Err(e) = check_run(sources, damages, out, ledger, &mut wrong, &mut tally) {
                wrong.push(format!("cannot read the run folder: {e}"));
            }
        }
    }
    (wrong, tally)
}

fn find_partial(dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains(".partial-") || name.ends_with(".old") {
            found.push(name);
        }
        if path.is_dir() {
            find_partial(&path, found);
        }
    }
}

fn check_error(
    sources: &[SourceCase],
    damages: &[Applied],
    msg: &str,
    out_dir: &Path,
    values: &[String],
    wrong: &mut Vec<String>,
) {
    let short: String = msg.chars().take(400).collect();
    if out_dir.exists() {
        wrong.push("the failed run left its run folder".into());
    }
    if let Some(v) = leaked(msg, values) {
        wrong.push(format!("the error shows a patient value ({v:?}): {short}"));
    }
    // The sources the message names (by data file or source file).
    let named: Vec<usize> = (0..sources.len())
        .filter(|&i| msg.contains(&sources[i].data_file) || msg.contains(&sources[i].toml_file))
        .collect();
    if named.is_empty() {
        let stage = msg.split(':').next().unwrap_or("");
        wrong.push(format!("the error names no input file ({stage}): {short}"));
        return;
    }
    for &i in &named {
        let s = &sources[i];
        let here: Vec<&Applied> = damages
            .iter()
            .filter(|d| d.source == i && !d.kind.benign())
            .collect();
        if here.is_empty() {
            wrong.push(format!(
                "the run stopped on a source without a damage that may stop it ({}, {}): {short}",
                s.data_file,
                s.format.describe()
            ));
            continue;
        }
        // Every record of the source damaged (or gone): the run may stop
        // for the whole source, as `max_rejected` says by default.
        let all_touched = s.table.records.iter().all(|r| r.gone || r.touched);
        let whole_source_stop = all_touched && msg.contains("max_rejected");
        // A damage confined to records must be a reject under
        // on_error = "reject" (unless every record was rejected).
        if s.on_error_reject
            && !whole_source_stop
            && here.iter().all(|d| d.kind.rejects_under_reject())
        {
            let kinds: Vec<String> = here.iter().map(|d| d.kind.name()).collect();
            wrong.push(format!(
                "the run stopped although on_error = \"reject\" and the damage only touches records ({}, {}): {short}",
                s.data_file,
                kinds.join(", ")
            ));
        }
        if here.iter().any(|d| d.config_level) {
            let line = msg.match_indices(&s.toml_file).any(|(i, _)| {
                msg[i + s.toml_file.len()..]
                    .strip_prefix(':')
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            }) || (msg.contains(&s.toml_file) && !named_lines(msg).is_empty());
            if !line {
                wrong.push(format!(
                    "the error does not name the source file and its line ({}): {short}",
                    s.toml_file
                ));
            }
            continue;
        }
        // A damage that may reject every record of the source lets the run
        // stop for the whole source (`max_rejected`), naming only the file.
        let file_level = all_touched || here.iter().any(|d| d.file_level);
        let files = [s.data_file.as_str(), s.toml_file.as_str()];
        if !file_level && !names_a_place(msg, &files) {
            wrong.push(format!("the error names no line, row or key: {short}"));
            continue;
        }
        // The line it names is where a damage is: a touched record's line
        // or debris (not some other line, such as the header's).
        let lines = lines_in_error(msg, &s.data_file);
        if !file_level && !lines.is_empty() {
            let damaged = |line: i64| {
                s.debris.iter().any(|(a, b)| *a <= line && line <= *b)
                    || s.table
                        .records
                        .iter()
                        .any(|r| r.touched && r.lines.0 <= line && line <= r.lines.1)
            };
            if !lines.iter().any(|(a, b)| (*a..=*b).any(damaged)) {
                wrong.push(format!(
                    "the error names a line where no damage is (lines {lines:?} of {}): {short}",
                    s.data_file
                ));
            }
        }
    }
}

/// The lines an error names: `FILE:N`, `line N`, `lines N-M`, `row N`.
fn lines_in_error(msg: &str, data_file: &str) -> Vec<(i64, i64)> {
    let mut out = named_lines(msg);
    for (i, _) in msg.match_indices(data_file) {
        let rest = &msg[i + data_file.len()..];
        if let Some(r) = rest.strip_prefix(':') {
            let n: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(n) = n.parse() {
                out.push((n, n));
            }
        }
    }
    out
}

fn check_run(
    sources: &[SourceCase],
    damages: &[Applied],
    out: &Path,
    ledger: &cohortflow_core::ledger::Ledger,
    wrong: &mut Vec<String>,
    tally: &mut Tally,
) -> Result<(), String> {
    let ingest = stage_rows(&read_parquet(&out.join("ingest.parquet"))?)?;
    let derive = stage_rows(&read_parquet(&out.join("derive.parquet"))?)?;
    let rejects_text =
        std::fs::read_to_string(out.join("rejects.csv")).map_err(|e| e.to_string())?;
    let rejects = read_rejects(&rejects_text)?;
    check_ledger(ledger, &rejects, wrong);

    let mut claimed: HashMap<(String, i64), usize> = HashMap::new();
    let mut explained_rejects = vec![false; rejects.len()];
    // Linked groups: (group) -> records surviving to derive.
    let mut groups: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    // Duplicate-id groups: (source, group) -> records analysed.
    let mut dups: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for s in sources {
        for (ri, r) in s.table.records.iter().enumerate() {
            if r.gone {
                continue;
            }
            let who = format!(
                "source {} record {ri} (patient {}, line {})",
                s.name, r.patient, r.lines.0
            );
            let key = (s.name.clone(), r.lines.0);
            let in_span = |row: i64| row >= r.lines.0 && row <= r.lines.1;
            let my_rejects: Vec<usize> = rejects
                .iter()
                .enumerate()
                .filter(|(_, x)| x.source == s.name && in_span(x.row))
                .map(|(i, _)| i)
                .collect();
            // Rejects of a block of lines that name this record's line.
            let block_rejects: Vec<usize> = rejects
                .iter()
                .enumerate()
                .filter(|(_, x)| {
                    x.source == s.name
                        && x.row < r.lines.0
                        && named_lines(&format!("{} {}", x.rule, x.columns))
                            .iter()
                            .any(|(a, b)| *a <= r.lines.0 && r.lines.0 <= *b)
                })
                .map(|(i, _)| i)
                .collect();
            let at_ingest = ingest.rows.get(&key).cloned().unwrap_or_default();
            let ingest_rejected = my_rejects
                .iter()
                .chain(&block_rejects)
                .any(|&i| rejects[i].stage == "ingest");
            if at_ingest.len() > 1 {
                wrong.push(format!(
                    "{who}: {} rows of ingest.parquet at its line",
                    at_ingest.len()
                ));
            }
            if let Some(g) = r.link_group {
                groups.entry(g).or_default().0 += 1;
            }
            match at_ingest.first() {
                Some(&row) => {
                    claimed.insert(key.clone(), ri);
                    let got = &ingest.values[row];
                    let mut flag_needed = false;
                    let exact = same_values(got, &r.truth)
                        || r.alternatives.iter().any(|(alt, flag)| {
                            let same = same_values(got, alt);
                            if same {
                                flag_needed = *flag;
                            }
                            same
                        });
                    if !exact {
                        // Another record's values at this line: the line
                        // numbers are wrong, not the values.
                        let other = s.table.records.iter().position(|o| {
                            !o.gone
                                && o.lines.0 != r.lines.0
                                && (same_values(got, &o.truth)
                                    || o.alternatives.iter().any(|(a, _)| same_values(got, a)))
                        });
                        match other {
                            Some(o) => wrong.push(format!(
                                "{who}: WRONG LINE: the row at line {} holds record {o}, which starts on line {}",
                                r.lines.0, s.table.records[o].lines.0
                            )),
                            None => wrong.push(format!(
                                "{who}: ALTERED at ingest: {}",
                                diff(&r.truth, got)
                            )),
                        }
                        continue;
                    }
                    if ingest_rejected {
                        wrong.push(format!(
                            "{who}: both in ingest.parquet and rejected at ingest"
                        ));
                    }
                    let later: Vec<&RejectRow> = my_rejects
                        .iter()
                        .map(|&i| &rejects[i])
                        .filter(|x| x.stage != "ingest" && x.row == r.lines.0)
                        .collect();
                    for &i in &my_rejects {
                        explained_rejects[i] = true;
                    }
                    let derived = derive.rows.get(&key).and_then(|v| v.first().copied());
                    match (derived, later.is_empty()) {
                        (Some(d), true) => {
                            tally.analysed += 1;
                            if let Some(g) = r.link_group {
                                groups.entry(g).or_default().1 += 1;
                            }
                            if let Some(g) = r.dup_group {
                                *dups.entry((s.name.clone(), g)).or_default() += 1;
                            }
                            if flag_needed && !derive.flags[d] {
                                wrong.push(format!(
                                    "{who}: an implausible value accepted without a flag or reject ({})",
                                    diff(&r.truth, got)
                                ));
                            }
                            if derive.values[d] != *got {
                                wrong.push(format!(
                                    "{who}: ALTERED between ingest and derive: {}",
                                    diff(got, &derive.values[d])
                                ));
                            }
                            if let Some(x) = derive.size_per_day[d]
                                && !x.is_finite()
                            {
                                wrong.push(format!(
                                    "{who}: a non-finite derived value kept (size_per_day = {x})"
                                ));
                            }
                            let want_spd = match (&got[7], &got[4], &got[10]) {
                                (Val::Float(size), Val::Date(dx), Val::Date(im)) if im != dx => {
                                    Some(size / (im - dx) as f64)
                                }
                                _ => None,
                            };
                            if want_spd.is_some() && derive.size_per_day[d] != want_spd {
                                wrong.push(format!(
                                    "{who}: size_per_day {:?}, true {want_spd:?}",
                                    derive.size_per_day[d]
                                ));
                            }
                            if !r.touched
                                && !flag_needed
                                && let Some((pt, pe, ot, oe)) = derive.endpoints[d]
                            {
                                let want = r_endpoints(r);
                                if want != (pt, pe, ot, oe) {
                                    wrong.push(format!(
                                        "{who}: endpoints (pfs_time, pfs_event, os_time, os_event) {:?}, true {want:?}",
                                        (pt, pe, ot, oe)
                                    ));
                                }
                            }
                        }
                        (Some(_), false) => {
                            wrong.push(format!(
                                "{who}: both in derive.parquet and rejected at {}",
                                later[0].stage
                            ));
                        }
                        (None, false) => {
                            tally.rejected += 1;
                            let linkage =
                                later.iter().all(|x| x.stage == "clean") && r.link_group.is_some();
                            if !(r.touched || flag_needed || linkage) {
                                wrong.push(format!(
                                    "{who}: untouched by damage, rejected at {} ({})",
                                    later[0].stage, later[0].rule
                                ));
                            }
                        }
                        (None, true) => wrong.push(format!(
                            "{who}: LOST after ingest (not in derive.parquet, not rejected)"
                        )),
                    }
                }
                None => {
                    let found: Vec<usize> = my_rejects
                        .iter()
                        .chain(&block_rejects)
                        .copied()
                        .filter(|&i| rejects[i].stage == "ingest")
                        .collect();
                    for &i in &found {
                        explained_rejects[i] = true;
                    }
                    if !found.is_empty() {
                        tally.rejected += 1;
                    }
                    if found.is_empty() {
                        // Where is it? Look for its id elsewhere.
                        let id = &r.truth[0];
                        let elsewhere: Vec<String> = ingest
                            .rows
                            .iter()
                            .filter(|(_, rows)| rows.iter().any(|&i| &ingest.values[i][0] == id))
                            .map(|((src, line), _)| format!("{src} line {line}"))
                            .collect();
                        if elsewhere.is_empty() {
                            wrong.push(format!(
                                "{who}: LOST (not in ingest.parquet at its line, not in rejects.csv){}",
                                if r.touched { "" } else { "; no damage touched it" }
                            ));
                        } else {
                            wrong.push(format!(
                                "{who}: not at its line; its id is at {}",
                                elsewhere.join(", ")
                            ));
                        }
                    } else if !r.touched
                        && !{
                            // A quote whose damage runs on: a named span that
                            // begins on a damaged record's line (a broken quote
                            // pairs with a later one, so the tool cannot know
                            // where the damage ends), and any other line of the
                            // record refused for its quotes too. The patient is
                            // rejected with its lines named, never altered.
                            let span_from_damage = |i: usize| {
                                quote_span_start(&rejects[i].rule).is_some_and(|start| {
                                    s.debris.iter().any(|(a, b)| *a <= start && start <= *b)
                                        || s.table.records.iter().any(|o| {
                                            o.touched && o.lines.0 <= start && start <= o.lines.1
                                        })
                                })
                            };
                            found.iter().any(|&i| span_from_damage(i))
                                && found.iter().all(|&i| {
                                    span_from_damage(i) || rejects[i].rule == "stray quote"
                                })
                        }
                    {
                        wrong.push(format!(
                            "{who}: untouched by damage, rejected at ingest ({})",
                            rejects[found[0]].rule
                        ));
                    }
                }
            }
        }
        // Every ingest row of this source is a record at its start line.
        for (src, line) in ingest.rows.keys() {
            if src == &s.name && !claimed.contains_key(&(src.clone(), *line)) {
                let what = ingest.rows[&(src.clone(), *line)]
                    .first()
                    .map(|&i| show(&ingest.values[i]))
                    .unwrap_or_default();
                let holds = s.table.records.iter().position(|o| {
                    let row = ingest.rows[&(src.clone(), *line)][0];
                    same_values(&ingest.values[row], &o.truth)
                });
                match holds {
                    Some(o) => wrong.push(format!(
                        "source {src}: WRONG LINE: ingest.parquet has record {o} (line {}) at line {line}",
                        s.table.records[o].lines.0
                    )),
                    None => wrong.push(format!(
                        "source {src}: ingest.parquet has a row at line {line}, where no record starts: {what}"
                    )),
                }
            }
        }
    }
    for ((source, _), analysed) in &dups {
        if *analysed > 1 {
            wrong.push(format!(
                "source {source}: {analysed} records with one patient id analysed, although the source declares patient_id unique"
            ));
        }
    }
    for (g, (records, analysed)) in &groups {
        if *records > 1 && *analysed > 1 {
            wrong.push(format!(
                "linked patient group {g}: {analysed} of its {records} records analysed (the same patient twice)"
            ));
        }
    }
    for (i, x) in rejects.iter().enumerate() {
        if explained_rejects[i] {
            continue;
        }
        let Some(s) = sources.iter().find(|s| s.name == x.source) else {
            wrong.push(format!(
                "rejects.csv names an unknown source {:?}",
                x.source
            ));
            continue;
        };
        let debris = s.debris.iter().any(|(a, b)| *a <= x.row && x.row <= *b);
        let damaged_line = s
            .table
            .records
            .iter()
            .any(|r| r.touched && r.lines.0 <= x.row && x.row <= r.lines.1);
        let header = x.row <= 2 && damages.iter().any(|d| d.kind == Kind::HeaderTypo);
        if !(debris || damaged_line || header) {
            wrong.push(format!(
                "rejects.csv: {} line {} ({}, {}) holds no damaged record",
                x.source, x.row, x.stage, x.rule
            ));
        }
    }
    Ok(())
}

fn r_endpoints(r: &super::writers::Record) -> (f64, bool, f64, bool) {
    // The endpoints from the record's true dates.
    let date = |c: &str| match &r.truth[COLUMNS.iter().position(|x| *x == c).unwrap()] {
        Val::Date(d) => Some(super::generator::from_days(*d)),
        _ => None,
    };
    let p = super::generator::Patient {
        id: String::new(),
        snils: String::new(),
        sex: "M",
        birth: date("birth_date").unwrap(),
        diagnosis: date("diagnosis_date").unwrap(),
        site: None,
        mutation: None,
        size_mm: None,
        mets: "liver",
        line: 1,
        im_start: date("im_start").unwrap(),
        response: "PR",
        progression: date("progression_date"),
        surgery: date("surgery_date"),
        death: date("death_date"),
        last: date("last_followup").unwrap(),
    };
    p.endpoints()
}

fn check_ledger(
    ledger: &cohortflow_core::ledger::Ledger,
    rejects: &[RejectRow],
    wrong: &mut Vec<String>,
) {
    use cohortflow_core::ledger::Outcome as O;
    if !ledger.imbalances().is_empty() {
        wrong.push(format!("ledger imbalances: {:?}", ledger.imbalances()));
    }
    let mut names: Vec<&str> = ledger
        .accounts()
        .iter()
        .filter(|a| a.stage == "ingest")
        .map(|a| a.source.as_str())
        .collect();
    names.dedup();
    for source in names {
        let accounts: Vec<_> = ledger
            .accounts()
            .iter()
            .filter(|a| a.source == source)
            .collect();
        let sum = |stage: Option<&str>, outcome: O| -> u64 {
            accounts
                .iter()
                .filter(|a| stage.is_none_or(|s| a.stage == s))
                .flat_map(|a| &a.outcomes)
                .filter(|(o, _, _)| *o == outcome)
                .map(|(_, _, n)| n)
                .sum()
        };
        let ingest = accounts.iter().find(|a| a.stage == "ingest").unwrap();
        let rejected_at_ingest = sum(Some("ingest"), O::Rejected);
        if ingest.rows_in != ingest.rows_out + rejected_at_ingest {
            wrong.push(format!(
                "ledger {source}: ingest read {} != kept {} + rejected {rejected_at_ingest}",
                ingest.rows_in, ingest.rows_out
            ));
        }
        let rejected = sum(None, O::Rejected);
        let excluded = sum(None, O::Excluded);
        let analysed = accounts.last().unwrap().rows_out;
        if ingest.rows_in != analysed + rejected + excluded {
            wrong.push(format!(
                "ledger {source}: read {} != analysed {analysed} + rejected {rejected} + excluded {excluded}",
                ingest.rows_in
            ));
        }
        let lines = rejects.iter().filter(|r| r.source == source).count() as u64;
        if lines != rejected {
            wrong.push(format!(
                "ledger {source}: {rejected} rows rejected in the ledger, {lines} in rejects.csv"
            ));
        }
    }
}

/// The first line of a `quote over lines A-B` reject.
fn quote_span_start(rule: &str) -> Option<i64> {
    let rest = rule.strip_prefix("quote over lines ")?;
    rest.split('-').next()?.parse().ok()
}

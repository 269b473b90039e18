//! The oracle: synthetic patients with known true values, written in every
//! dialect the tool reads, damaged at random from a catalogue, run through
//! the pipeline; then every true patient is checked: analysed with exactly
//! its true values, or rejected with a reason on its own line, or the run
//! stopped with an error that names the file and a line and no patient value.
//! Never absent, never altered. See `docs/oracle.md`.
//!
//! - `ORACLE_CASES=N`: number of cases (default 1,100: about 1,000 damaged
//!   exports and 100 undamaged controls).
//! - `ORACLE_SEED=S`: the first case's seed (default 1); set alone it runs
//!   just that case and keeps its folder (the path is printed).
//! - `ORACLE_THREADS=N`: worker threads (default 2).
//! - `ORACLE_CHUNK=N`: read every CSV in chunks of N bytes (0: a real run's
//!   sizes); by default each case draws its own (`chunk_for`).
//! - `ORACLE_SHOW=N`: failing cases shown in full (default 12).
//! - `ORACLE_PROGRESS=N`: a progress line every N cases; `ORACLE_REPORT=FILE`:
//!   the summary also written to FILE.
//!
//! Modules: `generator` (patients), `writers` (dialects and source files),
//! `damage` (the catalogue), `checker` (the expectations).

#[path = "oracle/checker.rs"]
mod checker;
#[path = "oracle/damage.rs"]
mod damage;
#[path = "oracle/generator.rs"]
mod generator;
#[path = "oracle/writers.rs"]
mod writers;

use checker::{Outcome, SourceCase};
use damage::{Applied, CsvPlan, Kind, XlsxPlan};
use generator::{Patient, Rng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use writers::{CsvDialect, Encoding, Eol, Format, Vocab};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// One written case: its sources, damages and description.
struct Case {
    sources: Vec<SourceCase>,
    damages: Vec<Applied>,
}

impl Case {
    fn describe(&self) -> String {
        let mut s = String::new();
        for src in &self.sources {
            s.push_str(&format!(
                "  source {} ({} records, on_error = {}): {}\n",
                src.name,
                src.table.records.len(),
                if src.on_error_reject {
                    "reject"
                } else {
                    "fail"
                },
                src.format.describe()
            ));
        }
        if self.damages.is_empty() {
            s.push_str("  no damage (control)\n");
        }
        for d in &self.damages {
            s.push_str(&format!(
                "  damage {} in {}: {}\n",
                d.kind.name(),
                self.sources[d.source].name,
                d.what
            ));
        }
        s
    }
}

fn random_format(rng: &mut Rng) -> Format {
    match rng.below(20) {
        0..=11 => Format::Csv(CsvDialect {
            separator: rng.pick(&[';', ',', '\t']),
            quote_all: rng.chance(0.2),
            decimal_comma: rng.chance(0.5),
            encoding: rng.pick(&[
                Encoding::Utf8,
                Encoding::Utf8,
                Encoding::Utf8Bom,
                Encoding::Windows1251,
                Encoding::Windows1251,
                Encoding::Utf16Le,
                Encoding::Utf16Be,
            ]),
            eol: rng.pick(&[Eol::Lf, Eol::CrLf, Eol::Cr]),
            title_line: rng.chance(0.15),
        }),
        12..=16 => Format::Xlsx {
            date_cells: rng.chance(0.7),
            extra_sheet: rng.chance(0.3),
            decimal_comma: false,
        },
        _ => Format::Parquet,
    }
}

const PIPELINE: &str = r#"[pipeline]
name = "oracle"
description = "the oracle's study"
schema = "{repo}/pipelines/schemas/mgist.toml"
sources = [{sources}]

[[clean.rule]]
name = "surgery before imatinib start"
check = "surgery_date IS NULL OR surgery_date >= im_start"

[[clean.rule]]
name = "death before diagnosis"
check = "death_date IS NULL OR death_date >= diagnosis_date"

[[clean.rule]]
name = "progression after death"
check = "progression_date IS NULL OR death_date IS NULL OR progression_date <= death_date"

[[clean.rule]]
name = "imatinib before diagnosis"
check = "im_start >= diagnosis_date"
action = "flag"
{linkage}
# Millimetres per day from diagnosis to imatinib: a division that is
# infinite when both dates are one day (damage `derived_division_by_zero`).
# Age at imatinib start, with the plausible range the bundled studies
# declare (damage `age112` must be rejected by it).
[[derive.column]]
name = "age"
expr = "(CAST(im_start AS INTEGER) - CAST(birth_date AS INTEGER)) / 365.25"
min = 18
max = 100

[[derive.column]]
name = "size_per_day"
expr = "tumour_size / (CAST(im_start AS INTEGER) - CAST(diagnosis_date AS INTEGER))"

[endpoints.pfs]
label = "Progression-free survival"
origin = "im_start"
events = ["progression_date", "death_date"]
censor = "last_followup"
admin_censor = "2023-06-30"
unit = "months"

[endpoints.os]
label = "Overall survival"
origin = "im_start"
events = ["death_date"]
censor = "last_followup"
admin_censor = "2023-06-30"
unit = "months"

[[cohort.criterion]]
name = "first-line imatinib"
where = "im_line = 1"

[[cohort.arm]]
name = "M"
where = "sex = 'M'"

[[cohort.arm]]
name = "F"
where = "sex = 'F'"

[analysis]
endpoints = ["os"]
"#;

const LINKAGE: &str = r#"
[clean.linkage]
name = "same patient in both centres"
key = ["national_id"]
keep = "latest"
by = "last_followup"
normalize = "digits"
"#;

/// Generates, damages and writes the case of `seed` into `dir`.
fn build(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let n = rng.range(8, 24) as usize;
    let two = rng.chance(0.35);
    let patients = generator::cohort(&mut rng, n, "PA-");
    // Source membership: (source, patient index, patient, link group).
    let mut members: Vec<Vec<(usize, Patient, Option<usize>)>> = vec![Vec::new()];
    if two {
        members.push(Vec::new());
        let split = n / 2 + rng.below(n / 4 + 1);
        let mut group = 0;
        for (i, p) in patients.iter().enumerate() {
            if i < split {
                // Some of the first centre's patients are also in the second.
                let linked = rng.chance(0.3);
                members[0].push((i, p.clone(), linked.then_some(group)));
                if linked {
                    let mut copy = p.clone();
                    copy.id = format!("PB-{}", &p.id[3..]);
                    members[1].push((i, copy, Some(group)));
                    group += 1;
                }
            } else {
                let mut q = p.clone();
                q.id = format!("PB-{}", &p.id[3..]);
                members[1].push((i, q, None));
            }
        }
        // The second centre's export is in its own order.
        let m = &mut members[1];
        for i in (1..m.len()).rev() {
            let j = rng.below(i + 1);
            m.swap(i, j);
        }
    } else {
        members[0] = patients
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, p)| (i, p, None))
            .collect();
    }
    let mut tables = Vec::new();
    let mut formats = Vec::new();
    for m in &members {
        let format = random_format(&mut rng);
        let vocab = if rng.chance(0.5) {
            Vocab::Russian
        } else {
            Vocab::English
        };
        let list: Vec<(usize, Patient)> = m.iter().map(|(i, p, _)| (*i, p.clone())).collect();
        let mut table = writers::build_table(&mut rng, &list, &format, vocab);
        for (r, (_, _, g)) in table.records.iter_mut().zip(m) {
            r.link_group = *g;
        }
        tables.push(table);
        formats.push(format);
    }
    // The source file names the headers as written before a header typo.
    let source_headers: Vec<Vec<String>> = tables.iter().map(|t| t.headers.clone()).collect();

    // Damage: none in about one case in twelve (the controls), else 1 to 3.
    let mut damages = Vec::new();
    let mut csv_plans = vec![CsvPlan::default(); tables.len()];
    let mut xlsx_plans = vec![XlsxPlan::default(); tables.len()];
    if !rng.chance(1.0 / 12.0) {
        let want = 1 + rng.below(3);
        let mut tries = 0;
        while damages.len() < want && tries < 30 {
            tries += 1;
            let s = rng.below(tables.len());
            let kind = rng.pick(&damage::ALL);
            if !kind.applies(&formats[s]) || damages.iter().any(|d: &Applied| d.kind == kind) {
                continue;
            }
            if let Some(a) = damage::apply(
                kind,
                &mut rng,
                &mut tables[s],
                s,
                &formats[s],
                &mut csv_plans[s],
                &mut xlsx_plans[s],
            ) {
                damages.push(a);
            }
        }
    }

    let names = ["centre_a", "centre_b"];
    let mut sources = Vec::new();
    for (s, mut table) in tables.into_iter().enumerate() {
        let format = formats[s].clone();
        let data_file = format!("export_{}.{}", (b'a' + s as u8) as char, format.extension());
        let toml_file = format!("source_{}.toml", (b'a' + s as u8) as char);
        let sheet = if rng.chance(0.5) {
            "Patients"
        } else {
            "Пациенты"
        };
        let (bytes, debris) = match &format {
            Format::Csv(d) => {
                let pieces = writers::csv_pieces(&table, d);
                let pieces = damage::apply_csv_plan(&mut rng, pieces, &csv_plans[s]);
                let truncate = csv_plans[s].truncate.map(|(r, _)| {
                    let p = pieces.iter().find(|p| p.record == Some(r)).unwrap();
                    let last_sep = p
                        .text
                        .chars()
                        .enumerate()
                        .filter(|(_, c)| *c == d.separator)
                        .map(|(i, _)| i)
                        .last()
                        .unwrap_or(1)
                        .max(1);
                    (r, 1 + rng.below(last_sep))
                });
                writers::csv_bytes(&mut table, &pieces, d, truncate)
            }
            Format::Xlsx { extra_sheet, .. } => {
                let (mut bytes, debris) = writers::xlsx_bytes(
                    &mut table,
                    sheet,
                    *extra_sheet,
                    &xlsx_plans[s].blank_after,
                    &xlsx_plans[s].header_after,
                );
                if xlsx_plans[s].truncate {
                    bytes.truncate(bytes.len() / 2);
                }
                (bytes, debris)
            }
            Format::Parquet => {
                let mut bytes = writers::parquet_bytes(&mut table);
                if xlsx_plans[s].truncate {
                    bytes.truncate(bytes.len() / 2);
                }
                (bytes, Vec::new())
            }
        };
        std::fs::write(dir.join(&data_file), bytes).unwrap();
        let on_error_reject = rng.chance(0.75);
        let toml = writers::source_toml(
            names[s],
            &data_file,
            &table,
            &format,
            sheet,
            on_error_reject,
            &source_headers[s],
        );
        let in_cp1251 = damages
            .iter()
            .any(|d| d.source == s && d.kind == Kind::SourceFileInCp1251);
        let toml_bytes = if in_cp1251 {
            encoding_rs::WINDOWS_1251.encode(&toml).0.into_owned()
        } else {
            toml.into_bytes()
        };
        std::fs::write(dir.join(&toml_file), toml_bytes).unwrap();
        sources.push(SourceCase {
            name: names[s].to_string(),
            data_file,
            toml_file,
            format,
            table,
            on_error_reject,
            debris,
        });
    }
    let list: Vec<String> = sources
        .iter()
        .map(|s| format!("\"{}\"", s.toml_file))
        .collect();
    let pipeline = PIPELINE
        .replace("{repo}", &repo().display().to_string())
        .replace("{sources}", &list.join(", "))
        .replace("{linkage}", if two { LINKAGE } else { "" });
    std::fs::write(dir.join("oracle.toml"), pipeline).unwrap();
    Case { sources, damages }
}

/// A log sink for one case.
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

struct Result1 {
    seed: u64,
    kinds: Vec<Kind>,
    description: String,
    outcome: String,
    wrong: Vec<String>,
    tally: checker::Tally,
    /// Dialect features of the case's exports (`csv`, `enc=Utf16Le`, ...).
    features: Vec<String>,
}

/// How the case's CSV exports are read: in a real run's chunks and pieces
/// (1 MiB and 8 MiB and up, so one of each for files this small), or in
/// chunks of 1 byte to 4 KiB and pieces of eight chunks, so that records,
/// quoted line breaks, line ends, byte-order marks and the bytes of one
/// character fall across chunks and pieces as they do in a registry's
/// export, and the file is read in many waves. Drawn from a stream of its
/// own, so that a seed writes the same files as before the draw was added.
/// `ORACLE_CHUNK=N` reads every case in chunks of N bytes (0: a real run's).
fn chunk_for(seed: u64) -> Option<usize> {
    if let Some(n) = env_u64("ORACLE_CHUNK") {
        return (n > 0).then_some(n as usize);
    }
    let mut rng = Rng::new(seed ^ 0x6368_756e_6b73);
    match rng.below(4) {
        0 => None,
        1 => Some(rng.range(1, 16) as usize),
        2 => Some(rng.range(17, 256) as usize),
        _ => Some(rng.range(257, 4096) as usize),
    }
}

/// The feature a case's reading adds to the summary.
fn chunk_class(chunk: Option<usize>) -> &'static str {
    match chunk {
        None => "chunks: a real run's",
        Some(1..=16) => "chunks: 1-16 bytes",
        Some(17..=256) => "chunks: 17-256 bytes",
        Some(_) => "chunks: 257-4096 bytes",
    }
}

fn run_case(seed: u64, keep: bool) -> Result1 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let case = build(seed, &dir);
    let chunk = chunk_for(seed);
    let out = dir.join("runs/oracle");
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        // No timestamps: "05:36:11.4" would read as a data value "11.4".
        .without_time()
        .with_writer(move || sink.clone())
        .finish();
    // Every input file, to check that the run changed none.
    let inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let result = tracing::subscriber::with_default(subscriber, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let loaded =
                cohortflow_pipeline::load(&dir.join("oracle.toml")).map_err(|e| e.to_string())?;
            let options = cohortflow_pipeline::RunOptions {
                ingest_chunk_bytes: chunk,
                ..Default::default()
            };
            cohortflow_pipeline::run_with(&loaded, &out, options).map_err(|e| e.to_string())
        }))
    });
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let (outcome, (wrong, tally)) = match result {
        Err(panic) => (
            "panic".to_string(),
            (
                vec![format!("the run panicked: {}", panic_text(&*panic))],
                checker::Tally::default(),
            ),
        ),
        Ok(Err(msg)) => {
            let wrong = checker::check(
                &case.sources,
                &case.damages,
                Outcome::Err(&msg),
                &dir,
                &out,
                &logs,
            );
            (
                format!("error: {}", msg.lines().next().unwrap_or("")),
                wrong,
            )
        }
        Ok(Ok(summary)) => {
            let wrong = checker::check(
                &case.sources,
                &case.damages,
                Outcome::Ok {
                    out: &out,
                    ledger: &summary.ledger,
                },
                &dir,
                &out,
                &logs,
            );
            (
                format!("ok, {} rows rejected", summary.rejected_rows),
                wrong,
            )
        }
    };
    let mut wrong = wrong;
    for (path, bytes) in &inputs {
        if std::fs::read(path).ok().as_ref() != Some(bytes) {
            wrong.push(format!(
                "the run changed or removed the input file {}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    if keep {
        let kept = tmp.keep();
        eprintln!("case folder kept: {}", kept.display());
    }
    let mut features: Vec<String> = case
        .sources
        .iter()
        .flat_map(|s| {
            let d = s.format.describe();
            let mut f: Vec<String> = d.split_whitespace().map(str::to_string).collect();
            f.push(format!(
                "on_error={}",
                if s.on_error_reject { "reject" } else { "fail" }
            ));
            f
        })
        .collect();
    if case.sources.len() > 1 {
        features.push("two sources".into());
    }
    features.push(chunk_class(chunk).into());
    features.sort();
    features.dedup();
    Result1 {
        features,
        seed,
        kinds: case.damages.iter().map(|d| d.kind).collect(),
        description: format!(
            "{}  CSV read {}\n",
            case.describe(),
            match chunk {
                None => "in a real run's chunks and pieces".to_string(),
                Some(c) => format!("in chunks of {c} bytes, pieces of {} bytes", 8 * c),
            }
        ),
        outcome,
        wrong,
        tally,
    }
}

thread_local! {
    static PANIC_PLACE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let place = PANIC_PLACE.with(|p| p.borrow().clone());
    format!("{} (at {place})", text.replace('\n', " "))
}

/// A failure line without its record, patient and line numbers and temporary
/// paths: the class.
fn class_of(line: &str) -> String {
    let s = match line.find("): ") {
        Some(i) if line.starts_with("source ") => &line[i + 3..],
        _ => line,
    };
    let mut out = String::new();
    let mut last_digit = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'t') {
            // A temporary path: /tmp/.tmpXXXX/
            let mut slashes = 0;
            for c in chars.by_ref() {
                if c == '/' {
                    slashes += 1;
                    if slashes == 2 {
                        break;
                    }
                }
            }
            continue;
        }
        if c == '(' {
            // Details in parentheses (dialects, values) are not the class.
            let mut depth = 1;
            for c in chars.by_ref() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
            out.push_str("(..)");
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else if c == '\n' {
            break;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out.chars().take(150).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn every_true_patient_is_analysed_exactly_rejected_or_stops_the_run() {
    let single = env_u64("ORACLE_SEED").is_some() && env_u64("ORACLE_CASES").is_none();
    let first = env_u64("ORACLE_SEED").unwrap_or(1);
    let cases = env_u64("ORACLE_CASES").unwrap_or(if single { 1 } else { 1100 });
    let threads = env_u64("ORACLE_THREADS").unwrap_or(2).max(1) as usize;
    let progress = env_u64("ORACLE_PROGRESS").unwrap_or(0);
    let started = Instant::now();

    let default_hook = std::panic::take_hook();
    // Panics are caught per case and reported with their place.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        PANIC_PLACE.with(|p| *p.borrow_mut() = place);
    }));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst) as u64;
                    if i >= cases {
                        break;
                    }
                    let seed = first + i;
                    let r = std::panic::catch_unwind(|| run_case(seed, single)).unwrap_or_else(
                        |panic| Result1 {
                            seed,
                            kinds: Vec::new(),
                            description: String::new(),
                            outcome: "the oracle panicked".into(),
                            wrong: vec![format!(
                                "the oracle itself panicked: {}",
                                panic_text(&*panic)
                            )],
                            tally: checker::Tally::default(),
                            features: Vec::new(),
                        },
                    );
                    let mut all = results.lock().unwrap();
                    all.push(r);
                    if progress > 0 && all.len() as u64 % progress == 0 {
                        let failed = all.iter().filter(|r| !r.wrong.is_empty()).count();
                        eprintln!(
                            "oracle: {} of {cases} cases, {failed} failed, {:.0} s",
                            all.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    std::panic::set_hook(default_hook);
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.seed);
    let elapsed = started.elapsed().as_secs_f64();

    let damaged = results.iter().filter(|r| !r.kinds.is_empty()).count();
    let failed: Vec<&Result1> = results.iter().filter(|r| !r.wrong.is_empty()).collect();

    // Per damage kind: cases, passed, failed, first failing seed.
    let mut per_kind: BTreeMap<String, (usize, usize, Option<u64>)> = BTreeMap::new();
    for r in &results {
        let names: Vec<String> = if r.kinds.is_empty() {
            vec!["(none: control)".into()]
        } else {
            r.kinds.iter().map(|k| k.name()).collect()
        };
        for name in names {
            let e = per_kind.entry(name).or_default();
            e.0 += 1;
            if !r.wrong.is_empty() {
                e.1 += 1;
                e.2.get_or_insert(r.seed);
            }
        }
    }
    // Per failure class (the checker's finding): cases, first seed, and up
    // to three distinct examples.
    let mut classes: BTreeMap<String, (usize, u64, Vec<String>)> = BTreeMap::new();
    for r in &failed {
        let mut seen = std::collections::BTreeSet::new();
        for w in &r.wrong {
            let detail = class_of(w);
            let class = detail.split(": ").next().unwrap_or("").to_string();
            let e = classes
                .entry(class.clone())
                .or_insert((0, r.seed, Vec::new()));
            if seen.insert(class) {
                e.0 += 1;
            }
            if e.2.len() < 3 && !e.2.iter().any(|x| class_of(x) == detail) {
                e.2.push(format!("seed {}: {w}", r.seed));
            }
        }
    }
    let tally = results.iter().fold(checker::Tally::default(), |mut t, r| {
        t.analysed += r.tally.analysed;
        t.rejected += r.tally.rejected;
        t.stopped += r.tally.stopped;
        t
    });
    let mut report = String::new();
    report.push_str(&format!(
        "oracle: {} cases ({damaged} damaged exports, {} controls), seeds {first}..{}, {threads} threads, {elapsed:.1} s; {} failed\n",
        results.len(),
        results.len() - damaged,
        first + cases.saturating_sub(1),
        failed.len()
    ));
    report.push_str(&format!(
        "records checked: {} analysed with exactly their values, {} rejected on their line, {} in runs that stopped\n\n",
        tally.analysed, tally.rejected, tally.stopped
    ));
    report.push_str(&format!(
        "{:<30} {:>6} {:>6} {:>6}  first failing seed\n",
        "damage", "cases", "passed", "failed"
    ));
    for (name, (n, f, seed)) in &per_kind {
        report.push_str(&format!(
            "{name:<30} {n:>6} {:>6} {f:>6}  {}\n",
            n - f,
            seed.map_or(String::new(), |s| s.to_string())
        ));
    }
    // Per dialect feature: a dialect the tool cannot read fails every case.
    let mut per_feature: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &results {
        for f in &r.features {
            let e = per_feature.entry(f.as_str()).or_default();
            e.0 += 1;
            e.1 += usize::from(!r.wrong.is_empty());
        }
    }
    report.push_str(&format!(
        "\n{:<30} {:>6} {:>6} {:>6}\n",
        "export feature", "cases", "passed", "failed"
    ));
    for (f, (n, failed)) in &per_feature {
        report.push_str(&format!("{f:<30} {n:>6} {:>6} {failed:>6}\n", n - failed));
    }
    if !classes.is_empty() {
        report.push_str("\nfailure classes (cases, first seed, examples):\n");
        let mut sorted: Vec<_> = classes.iter().collect();
        sorted.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        for (class, (n, seed, examples)) in sorted {
            report.push_str(&format!("  {n:>5}  seed {seed:<8} {class}\n"));
            for e in examples {
                let e: String = e.replace('\n', " | ").chars().take(400).collect();
                report.push_str(&format!("           {e}\n"));
            }
        }
    }
    let shown = if single {
        failed.len()
    } else {
        failed
            .len()
            .min(env_u64("ORACLE_SHOW").unwrap_or(12) as usize)
    };
    for r in failed.iter().take(shown) {
        report.push_str(&format!(
            "\nFAILED seed {} -> {}\n{}",
            r.seed, r.outcome, r.description
        ));
        for w in r.wrong.iter().take(8) {
            let w: String = w.chars().take(600).collect();
            report.push_str(&format!("    {w}\n"));
        }
        if r.wrong.len() > 8 {
            report.push_str(&format!("    ... and {} more\n", r.wrong.len() - 8));
        }
        report.push_str(&format!(
            "  rerun: ORACLE_SEED={} cargo test --workspace --test oracle -- --nocapture\n",
            r.seed
        ));
    }
    if single && let Some(r) = results.first() {
        report.push_str(&format!(
            "\nseed {} -> {}\n{}",
            r.seed, r.outcome, r.description
        ));
    }
    if failed.is_empty() || single {
        eprintln!("{report}");
    }
    if let Ok(path) = std::env::var("ORACLE_REPORT") {
        std::fs::write(path, &report).unwrap();
    }
    assert!(
        single || damaged >= 1000 || cases < 1100,
        "only {damaged} damaged exports"
    );
    assert!(
        failed.is_empty(),
        "{} of {} oracle cases failed:\n{report}",
        failed.len(),
        results.len()
    );
}

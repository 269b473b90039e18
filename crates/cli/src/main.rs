//! `cohortflow`: the command line. It parses arguments, sets up logging, and
//! calls the pipeline crate; it holds no logic of its own.
//!
//! Depends on cohortflow-pipeline (which re-exports the result types it
//! prints), cohortflow-regress (`diff`, `baseline`, `check`; see
//! `regression.rs`), cohortflow-scan (`scan`), cohortflow-synth (`synth`;
//! see `synth.rs`), clap, tracing-subscriber and indicatif (the progress
//! bar of a run on a terminal, `progress.rs`), mimalloc (the allocator),
//! rayon (to give mimalloc's freed pages back on every thread of the pool,
//! `release_memory`) and libc (one `prctl`, `tune_allocator`).

mod progress;
mod regression;
mod synth;

/// mimalloc instead of the system allocator: ingest and the stages make
/// millions of small allocations, which glibc's malloc served with a fifth
/// of a run's CPU time on a million rows and kept as resident memory after
/// they were freed (measured: docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's own setter (in the library the `mimalloc` crate links; its
// `extended` bindings would add a crate for this one call).
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_collect(force: bool);
}

/// Gives the pages mimalloc holds for freed memory back to the system, on
/// every thread of the pool that does a run's work and on this one
/// (`cohortflow_core::memory`, registered through
/// `cohortflow_pipeline::set_release_memory`): mimalloc gives a thread's
/// freed pages back only when that thread asks. The pipeline calls it at
/// each stage's start and before the sources' frame is assembled. On the
/// benchmark's 10M rows (R-work pipeline, one run each, with each chunk's
/// buffers then reserved for its lines; docs/performance.md "Streaming
/// ingest"): peaks of clean, derive, cohort, analysis and write 1,653 /
/// 2,165 / 2,296 / 2,201 / 1,212 MiB against 2,146 / 2,715 / 2,671 /
/// 2,727 / 2,202 MiB without it, in 18.51 s against 18.45 s.
///
/// Only the calling thread's own collection waits: each thread hands its
/// free pages to mimalloc's arenas (`mi_collect(false)`: no page is given
/// back to the system yet), the pool's threads when a thread of their own
/// asks them, and that thread then gives back every free page of the
/// process (`mi_collect(true)`: the arenas' purge is process-wide) while
/// the next stage starts. Waited for, the give-back was 40 ms of a 1M
/// run's critical path (15 ms before clean and before the analysis, 8 ms
/// before derive; timing prints). 1M R-work, ten interleaved pairs:
/// 0.96–1.02 s against 1.03–1.08 s, peak 341–385 MiB against 349–378;
/// 10M, three pairs: 9.08–9.42 s against 9.67–11.16 s, peak 2,418–2,446
/// MiB against 2,276–2,476. (At 100k the stages are a few milliseconds
/// long and the run peaks at 115–130 MiB against 101–102, three pairs:
/// the give-back ends after the next stage began.)
fn release_memory() {
    // SAFETY: mi_collect takes a flag and works on the calling thread's
    // heap and on the process's arenas, which mimalloc makes safe to
    // share; every thread may call it at any time.
    unsafe { mi_collect(false) };
    let give_back = || {
        rayon::broadcast(|_| unsafe { mi_collect(false) });
        unsafe { mi_collect(true) };
    };
    // Where no thread can be started, the run waits for it instead.
    if std::thread::Builder::new()
        .name("cohortflow-release".into())
        .spawn(give_back)
        .is_err()
    {
        give_back();
    }
}

/// `mi_option_purge_delay` in the bundled mimalloc's `mimalloc.h` (v3; the
/// same number in v2).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Freed memory goes back to the system after 250 ms instead of mimalloc's
/// 10 ms: a stage frees and allocates tables of the same size again within
/// that time, and every page given back and taken again is zeroed by the
/// kernel. On 10M rows the kernel's page zeroing was 36 % of the run's CPU
/// time (perf). Single runs of the benchmark's R-work pipeline on 10M rows
/// (noisy: the kernel's huge-page zeroing varies from run to run): 10 ms
/// 34.1 s (ingest 18.7–19.6 s in two runs), 500 ms 24.7–31.7 s (ingest
/// 10.6–17.2 s in five runs) with the same peak of 5.8 GB; 2,000 ms 24.8 s
/// but 6.2 GB. The benchmark run after it gave 32.9 s: the gain is within
/// the noise of single runs and not proven (docs/performance.md).
///
/// 250 ms since the categories are codes (smaller tables, so less to
/// take again): on the benchmark's 1M R-work run the peak was 438–453 MB
/// against 496–501 MB at 500 ms, in 1.32–1.34 s against 1.32–1.38 s
/// (three interleaved pairs); at 10M 12.95/13.99 s and 2,652–2,653 MB against
/// 13.34/13.55 s and 2,695/2,792 MB (two pairs). 100 ms gave 395–404 MB
/// but 1.44–1.45 s (system time 0.55–0.58 s against 0.35–0.36 s).
///
/// Transparent huge pages are turned off for the process. mimalloc asks for
/// them (`madvise(MADV_HUGEPAGE)`) on every arena it maps, and the kernel
/// then zeroes 2 MiB at the first touch of each, whether the tables use it
/// or not. On this 2-core VM the kernel's page zeroing was a third of a
/// million-row run's CPU time (perf: `clear_page_erms` under
/// `do_huge_pmd_anonymous_page`), and runs with them were bimodal. Measured
/// on the benchmark's R-work pipeline (docs/performance.md, "Huge pages"):
/// system time on 10M rows 18.2 s with them, 10.2 s without. The setting is
/// the process's own (`PR_SET_THP_DISABLE`, Linux ≥ 3.15); the machine's
/// is untouched. Where the call is refused, the run goes on as before.
fn tune_allocator() {
    // SAFETY: mi_option_set only stores the option's value; any option
    // number and value are accepted.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 250) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and the rest
    // zero; it changes only this process's memory policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

use clap::{Parser, Subcommand};
use cohortflow_pipeline::{Error, Outcome, RunSummary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Turns registry exports into a reproducible retrospective cohort study.
#[derive(Parser)]
#[command(name = "cohortflow", version, about, long_about = None)]
struct Cli {
    /// More log output (-v: debug, -vv: trace of cohortflow; -vvv: of every
    /// library too). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Folder that holds named pipelines.
    #[arg(long, global = true, default_value = "pipelines", value_name = "DIR")]
    pipelines: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline and write its run folder.
    Run {
        /// A pipeline name (a file <pipelines>/<NAME>.toml) or a path to a .toml file.
        pipeline: String,
        /// Run folder to write [default: runs/<pipeline name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Name the failing value in error messages and fill the `values`
        /// column of rejects.csv. Patient data: for a local look at a
        /// centre's own export only; off by default.
        #[arg(long)]
        show_values: bool,
        /// Which stage tables to write as Parquet: all (ingest, clean,
        /// derive, cohort), cohort, or none [default: the pipeline's
        /// `stage_tables`, else all]. cohort.csv, results and report are
        /// always written.
        #[arg(long, value_name = "all|cohort|none")]
        stages: Option<cohortflow_pipeline::StageTables>,
    },
    /// Check a pipeline, its schema and its sources without reading any data.
    Validate {
        /// A pipeline name or a path to a .toml file.
        pipeline: String,
    },
    /// List the named pipelines with their descriptions.
    List,
    /// What changed between two run folders, stage by stage. Exit 0 when
    /// identical within the tolerances, 1 when something moved, 2 on error.
    Diff(regression::DiffArgs),
    /// Pinned baselines of a study's outputs (pipelines/baselines/<NAME>/).
    #[command(subcommand)]
    Baseline(regression::BaselineCommand),
    /// Run a pipeline and compare it with its baseline under the
    /// `[regression]` tolerances. Exit 0 when within them, 1 when not, 2 on
    /// error.
    Check(regression::CheckArgs),
    /// Profile new exports (encoding, separator, header, each column's
    /// type, date formats, missing codes, frequencies), suppressing values
    /// seen fewer than 5 times and identifiers; with --schema and --out,
    /// also draft a source file per export (docs/scan.md).
    Scan {
        /// The exports: CSV (or other delimited text) and XLSX files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The schema to draft source files for (e.g. pipelines/schemas/mgist.toml).
        #[arg(long, value_name = "S")]
        schema: Option<PathBuf>,
        /// Folder for the reports (<stem>.scan.txt, <stem>.scan.html) and,
        /// with --schema, the draft source files (<stem>.toml).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write synthetic raw exports of a bundled study at any size, with the
    /// pipeline and source files that run the study on them (docs/synth.md).
    Synth(synth::SynthArgs),
}

fn main() -> ExitCode {
    tune_allocator();
    cohortflow_pipeline::set_release_memory(release_memory);
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if let Some(code) = regression::execute(&cli.command, &cli.pipelines) {
        return code;
    }
    if let Command::Scan { files, schema, out } = &cli.command {
        return match scan(files, schema.as_deref(), out.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Synth(args) = &cli.command {
        return synth::execute(args);
    }
    match execute(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error: cohortflow's own at info (`-v` debug, `-vv`
/// trace), the libraries' at warn (`-vvv`: everything at trace, the SQL
/// parser's tokens included). Colours only on a terminal, so a redirected
/// log is plain text.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    let default = match verbose {
        0 => "warn,cohortflow=info",
        1 => "warn,cohortflow=debug",
        2 => "warn,cohortflow=trace",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| progress::LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn execute(cli: &Cli) -> Result<(), Error> {
    match &cli.command {
        Command::List => {
            for (name, description) in cohortflow_pipeline::list(&cli.pipelines)? {
                println!("{name:<32} {description}");
            }
            Ok(())
        }
        Command::Validate { pipeline } => {
            let path = cohortflow_pipeline::locate(pipeline, &cli.pipelines)?;
            let loaded = cohortflow_pipeline::load(&path)?;
            println!(
                "{}: valid ({} source{}, schema {})",
                path.display(),
                loaded.sources.len(),
                if loaded.sources.len() == 1 { "" } else { "s" },
                loaded.schema_path.display()
            );
            Ok(())
        }
        Command::Run {
            pipeline,
            out,
            show_values,
            stages,
        } => {
            let path = cohortflow_pipeline::locate(pipeline, &cli.pipelines)?;
            let loaded = cohortflow_pipeline::load(&path)?;
            let out = out
                .clone()
                .unwrap_or_else(|| Path::new("runs").join(loaded.name()));
            let options = cohortflow_pipeline::RunOptions {
                show_values: *show_values,
                stage_tables: *stages,
                ..Default::default()
            };
            let summary = match progress::TerminalProgress::new() {
                Some(bar) => cohortflow_pipeline::run_observed(&loaded, &out, options, &bar),
                None => cohortflow_pipeline::run_with(&loaded, &out, options),
            }?;
            print_summary(loaded.name(), &summary);
            Ok(())
        }
        // Run by regression::execute, scan and synth above.
        Command::Diff(_)
        | Command::Baseline(_)
        | Command::Check(_)
        | Command::Scan { .. }
        | Command::Synth(_) => Ok(()),
    }
}

/// `cohortflow scan`: every file is scanned before anything is printed or
/// written, so a file that cannot be read leaves no partial output.
fn scan(
    files: &[PathBuf],
    schema: Option<&Path>,
    out: Option<&Path>,
) -> Result<(), cohortflow_scan::ScanError> {
    let schema = schema
        .map(|p| cohortflow_scan::read_schema(p).map(|s| (s, p)))
        .transpose()?;
    let profiles = files
        .iter()
        .map(|f| cohortflow_scan::scan(f))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, p) in profiles.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", cohortflow_scan::text_report(p));
    }
    match out {
        Some(out) => {
            let written = cohortflow_scan::write_outputs(
                &profiles,
                schema.as_ref().map(|(s, p)| (s, *p)),
                out,
            )?;
            println!();
            for w in written {
                println!("written: {}", w.display());
            }
        }
        None if schema.is_some() => {
            eprintln!("note: draft source files are written with --out DIR");
        }
        None => {}
    }
    Ok(())
}

fn print_summary(name: &str, s: &RunSummary) {
    let r = &s.results;
    println!("{name}");
    let arms: Vec<String> = r
        .arms
        .iter()
        .map(|a| format!("{} n = {} ({})", a.name, a.n, a.label))
        .collect();
    println!("  arms: {}", arms.join(", "));
    for e in &r.endpoints {
        println!(
            "  {} ({}), median [{}% CI]:",
            e.label,
            e.unit,
            // Rounded so that 0.9 prints as 90, not 90.00000000000001.
            (r.conventions.conf_level * 100.0 * 1e6).round() / 1e6
        );
        for a in &e.by_arm {
            let q = &a.median;
            println!(
                "    {:<6} {} [{}, {}]  ({} events / {})",
                a.arm,
                fmt(q.estimate),
                fmt(q.lower),
                fmt(q.upper),
                a.events,
                a.n
            );
        }
        if let Some(l) = &e.log_rank {
            println!(
                "    log-rank chi-square {:.3}, df {}, p = {:.4}",
                l.chisq, l.df, l.p_value
            );
        }
    }
    let accounts = s.ledger.accounts();
    let read: u64 = accounts
        .iter()
        .filter(|a| a.stage == "ingest")
        .map(|a| a.rows_in)
        .sum();
    let excluded: u64 = accounts
        .iter()
        .flat_map(|a| &a.outcomes)
        .filter(|(o, _, _)| *o == Outcome::Excluded)
        .map(|(_, _, n)| n)
        .sum();
    let analysed: u64 = r.arms.iter().map(|a| a.n).sum();
    println!(
        "  ledger: {read} rows read = {} rejected (rejects.csv) + {excluded} excluded (ledger.csv) + {analysed} analysed",
        s.rejected_rows
    );
    if let Some(l) = &r.landmark {
        println!(
            "  landmark at {} {} ({} vs {}):",
            fmt_num(l.time),
            l.unit,
            l.groups.first().map_or("", |g| g.label.as_str()),
            l.groups.get(1).map_or("", |g| g.label.as_str())
        );
        for e in &l.endpoints {
            if let Some(lr) = &e.result.log_rank {
                println!(
                    "    {}: log-rank chi-square {:.3}, df {}, p = {:.4}",
                    e.result.label, lr.chisq, lr.df, lr.p_value
                );
            }
        }
    }
    if let Some(em) = &r.emulation {
        println!(
            "  emulated target trial ({} within {}{} vs not, clone-censor-weight):",
            r.labels.label(&em.exposure),
            fmt_num(em.grace),
            em.endpoints
                .first()
                .map_or(String::new(), |e| format!(" {}", e.unit))
        );
        for e in &em.endpoints {
            let c = &e.cox;
            println!(
                "    {}: HR {:.2} [{:.2}, {:.2}], robust p = {:.4}",
                e.label, c.hazard_ratio, c.lower, c.upper, c.p_value
            );
        }
    }
    for w in &r.design_warnings {
        println!("  design warning: {}", w.text());
    }
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    println!("  written to {}", s.out.display());
    println!("  report: {}", s.out.join("report.html").display());
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("not reached".to_string(), |v| format!("{v:.1}"))
}

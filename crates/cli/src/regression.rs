//! The regression commands: `diff`, `baseline accept`, `check`
//! (cohortflow-regress does the comparing; this file parses and prints).
//! Exit codes: 0 identical within the tolerances, 1 something moved, 2 an
//! error.

use crate::Command;
use clap::{Args, Subcommand};
use cohortflow_regress::{RunFolder, baseline};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct DiffArgs {
    /// The earlier run folder (or a baseline folder).
    old: PathBuf,
    /// The later run folder.
    new: PathBuf,
    /// Print the diff as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the row keys of the rows that entered, left or changed to FILE
    /// (CSV). The keys identify patients: they are never printed.
    #[arg(long, value_name = "FILE")]
    keys_out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum BaselineCommand {
    /// Store a run's results and stage summaries (counts and estimates, no
    /// patient rows) as the pipeline's baseline, in baselines/<NAME>/ next
    /// to the pipeline file.
    Accept {
        /// A pipeline name or a path to a .toml file.
        pipeline: String,
        /// The run folder to accept [default: runs/<pipeline name>].
        #[arg(long, value_name = "DIR")]
        run: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct CheckArgs {
    /// A pipeline name or a path to a .toml file.
    pipeline: String,
    /// Keep the run folder here [default: a temporary folder, removed].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the diff as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Writes to stdout; a closed pipe (`cohortflow diff a b | head`) ends the
/// output quietly instead of panicking.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

macro_rules! emitln {
    ($($arg:tt)*) => {
        emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

const MOVED: u8 = 1;
const ERROR: u8 = 2;

/// Runs a regression command; `None` for the other commands.
pub fn execute(command: &Command, pipelines: &Path) -> Option<ExitCode> {
    let result = match command {
        Command::Diff(args) => diff(args),
        Command::Baseline(BaselineCommand::Accept { pipeline, run }) => {
            accept(pipeline, run.as_deref(), pipelines)
        }
        Command::Check(args) => check(args, pipelines),
        _ => return None,
    };
    Some(match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(ERROR)
        }
    })
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn diff(args: &DiffArgs) -> Result<ExitCode> {
    let old = RunFolder::read(&args.old)?;
    let new = RunFolder::read(&args.new)?;
    let (tol, alpha) = cohortflow_regress::declared(&new)?;
    let d = cohortflow_regress::diff(&old, &new, &tol, alpha)?;
    if let Some(path) = &args.keys_out {
        cohortflow_regress::patients::write_keys(path, &d.patients)?;
    }
    if args.json {
        emit(&d.to_json());
    } else {
        emit(&d.to_text());
        if let Some(path) = &args.keys_out {
            emitln!("row keys of the rows above: {}", path.display());
        }
    }
    Ok(verdict(d.identical))
}

fn accept(pipeline: &str, run: Option<&Path>, pipelines: &Path) -> Result<ExitCode> {
    let path = cohortflow_pipeline::locate(pipeline, pipelines)?;
    let loaded = cohortflow_pipeline::load(&path)?;
    let name = loaded.name();
    let run = run.map_or_else(|| Path::new("runs").join(name), Path::to_path_buf);
    let to = baseline::dir(&loaded.path, name);
    let files = baseline::accept(&run, name, &to)?;
    emitln!(
        "baseline of {name} written to {} ({}) from {}",
        to.display(),
        files.join(", "),
        run.display()
    );
    emitln!("commit it with the pipeline; `cohortflow check {name}` compares new runs with it");
    Ok(ExitCode::SUCCESS)
}

fn check(args: &CheckArgs, pipelines: &Path) -> Result<ExitCode> {
    let path = cohortflow_pipeline::locate(&args.pipeline, pipelines)?;
    let loaded = cohortflow_pipeline::load(&path)?;
    let name = loaded.name();
    let base = baseline::dir(&loaded.path, name);
    if !base.join("results.json").is_file() {
        return Err(format!(
            "{}: no baseline of {name}; make one with `cohortflow run {name}` and, once its \
             outputs are right, `cohortflow baseline accept {name}`",
            base.display()
        )
        .into());
    }
    let (out, temporary) = match &args.out {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("cohortflow-check-{name}-{}", std::process::id())),
            true,
        ),
    };
    let compared = (|| -> Result<cohortflow_regress::Diff> {
        cohortflow_pipeline::run(&loaded, &out)?;
        let old = RunFolder::read(&base)?;
        let new = RunFolder::read(&out)?;
        Ok(cohortflow_regress::diff(
            &old,
            &new,
            &loaded.file.regression,
            loaded.file.report.alpha,
        )?)
    })();
    if temporary {
        let _ = std::fs::remove_dir_all(&out);
    }
    let d = compared?;
    if args.json {
        emit(&d.to_json());
    } else {
        emitln!("check {name}: a new run against the baseline");
        emit(&d.to_text());
        if d.identical {
            emitln!("check passed");
        } else {
            let fields: Vec<&str> = d.moved_fields();
            if fields.is_empty() {
                emitln!("check failed: counts or tables differ (above)");
            } else {
                emitln!(
                    "check failed; results fields outside the tolerances: {}",
                    fields.join(", ")
                );
            }
            emitln!(
                "if the change is intended: `cohortflow run {name}` and `cohortflow baseline \
                 accept {name}`, and commit the baseline with the change (docs/regression.md)"
            );
        }
    }
    Ok(verdict(d.identical))
}

fn verdict(identical: bool) -> ExitCode {
    if identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(MOVED)
    }
}

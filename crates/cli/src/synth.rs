//! `cohortflow synth`: arguments to `cohortflow_synth::Options`, the
//! summary printed.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct SynthArgs {
    /// The study whose exports to write.
    study: Study,
    /// Rows in the two centres' exports together.
    #[arg(long, value_name = "N")]
    patients: u64,
    /// Seed of the draws: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder to write the exports and the study files into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Centre B's export: a workbook as the centre sends it (up to
    /// 1,048,575 rows), or a CSV (any size).
    #[arg(long, value_enum, default_value_t = CentreBFormat::Xlsx)]
    centre_b_format: CentreBFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum Study {
    Mgist,
}

#[derive(Clone, Copy, ValueEnum)]
enum CentreBFormat {
    Xlsx,
    Csv,
}

pub fn execute(args: &SynthArgs) -> ExitCode {
    let Study::Mgist = args.study;
    let opts = cohortflow_synth::Options {
        study: cohortflow_synth::Study::Mgist,
        patients: args.patients,
        seed: args.seed,
        out: args.out.clone(),
        centre_b_format: match args.centre_b_format {
            CentreBFormat::Xlsx => cohortflow_synth::CentreBFormat::Xlsx,
            CentreBFormat::Csv => cohortflow_synth::CentreBFormat::Csv,
        },
    };
    match cohortflow_synth::write(&opts) {
        Ok(w) => {
            println!(
                "mgist: {} rows (centre A {}, centre B {}), seed {}",
                args.patients, w.rows_a, w.rows_b, args.seed
            );
            for f in &w.files {
                println!("  {}", args.out.join(f).display());
            }
            println!("  run: cohortflow run {}", w.pipeline.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

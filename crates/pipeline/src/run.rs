//! Running a loaded pipeline and writing its run folder.

use crate::error::Error;
use crate::load::Loaded;
use crate::manifest;
use cohortflow_analysis::{ArmInfo, EndpointColumns, Results};
use cohortflow_core::ledger::Ledger;
use cohortflow_core::{rejects, table};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use tracing::{debug, info, warn};

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunSummary {
    pub out: PathBuf,
    pub results: Results,
    pub ledger: Ledger,
    pub rejected_rows: usize,
}

/// Tables the run writes, in stage order: Parquet for programs, and the
/// cohort also as CSV for people.
pub const STAGE_TABLES: [&str; 4] = ["ingest", "clean", "derive", "cohort"];

/// Runs every stage and writes the run folder `out`. The folder is written
/// under a temporary name next to `out` and renamed into place only when
/// everything succeeded; on failure nothing is left behind and an existing
/// `out` is untouched.
pub fn run(loaded: &Loaded, out: &Path) -> Result<RunSummary, Error> {
    run_with(loaded, out, RunOptions::default())
}

/// How [`run_with`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `--show-values`: errors name the value that failed and `rejects.csv`
    /// fills its `values` column. Off by default: messages and files name
    /// file, line and column, never a patient's value.
    pub show_values: bool,
}

impl RunOptions {
    fn rejects_values(self) -> rejects::Values {
        if self.show_values {
            rejects::Values::Shown
        } else {
            rejects::Values::Hidden
        }
    }
}

/// [`run`] with options.
pub fn run_with(loaded: &Loaded, out: &Path, options: RunOptions) -> Result<RunSummary, Error> {
    crate::out::check(out)?;
    let sources = loaded.source_names();
    let stage = |stage: &'static str| {
        move |e: PolarsError| Error::Stage {
            stage,
            message: e.to_string(),
        }
    };
    let mut ledger = Ledger::new();
    let mut all_rejects = Vec::new();

    let mut ingested: Option<DataFrame> = None;
    for source in &loaded.sources {
        let ing = cohortflow_ingest::ingest_with(
            source,
            &loaded.schema,
            cohortflow_ingest::IngestOptions {
                show_values: options.show_values,
            },
        )
        .map_err(Error::Input)?;
        ledger.push(ing.account);
        all_rejects.extend(ing.rejects);
        match &mut ingested {
            None => ingested = Some(ing.frame),
            Some(df) => {
                df.vstack_mut(&ing.frame).map_err(stage("ingest"))?;
            }
        }
    }
    let mut ingested = ingested.unwrap_or_else(|| loaded.schema.empty_frame());
    ingested.rechunk_mut();

    let cleaned = cohortflow_clean::clean(&loaded.file.clean, ingested.clone(), &sources)
        .map_err(stage("clean"))?;
    info!(rows = cleaned.frame.height(), "cleaned");
    ledger.extend(cleaned.accounts);
    all_rejects.extend(cleaned.rejects);

    let endpoints = loaded.endpoints();
    let derived = cohortflow_derive::derive(
        &loaded.file.derive,
        &endpoints,
        cleaned.frame.clone(),
        &sources,
    )
    .map_err(stage("derive"))?;
    info!(rows = derived.frame.height(), "derived");
    ledger.extend(derived.accounts);
    all_rejects.extend(derived.rejects);

    let mut selected =
        cohortflow_cohort::select(&loaded.file.cohort, derived.frame.clone(), &sources)
            .map_err(stage("cohort"))?;
    info!(rows = selected.frame.height(), "selected");
    ledger.extend(std::mem::take(&mut selected.accounts));
    // From here on rows are in the order of the row key, so that matching
    // and every estimate are the same whatever the order of the exports.
    selected.frame = sort_by_row_key(&selected.frame, loaded.file.pipeline.row_key.get_ref())?;

    let matched = match &loaded.file.matching {
        Some(cfg) => {
            let m = cohortflow_cohort::matching::match_arms(
                cfg,
                &selected.frame,
                cohortflow_cohort::ARM,
                &sources,
            )
            .map_err(stage("matching"))?;
            info!(rows = m.frame.height(), "matched");
            ledger.extend(m.accounts.clone());
            Some(m)
        }
        None => None,
    };
    let analysed = matched.as_ref().map_or(&selected.frame, |m| &m.frame);

    let imbalances = ledger.imbalances();
    if !imbalances.is_empty() {
        return Err(Error::Ledger(imbalances));
    }

    let arms: Vec<ArmInfo> = loaded
        .file
        .cohort
        .arms
        .iter()
        .map(|a| ArmInfo {
            name: a.name.clone(),
            label: a.label().to_string(),
        })
        .collect();
    let endpoint_columns: Vec<EndpointColumns> = loaded
        .file
        .analysis
        .endpoints
        .get_ref()
        .iter()
        .filter_map(|name| endpoints.iter().find(|(n, _)| n == name))
        .map(|(name, ep)| EndpointColumns {
            name: name.clone(),
            label: ep.label.clone(),
            unit: ep.unit.name().to_string(),
            time: cohortflow_derive::time_column(name),
            event: cohortflow_derive::event_column(name),
            origin: ep.origin.get_ref().clone(),
        })
        .collect();
    let analysis = cohortflow_analysis::analyse(
        &loaded.file.analysis,
        &arms,
        &endpoint_columns,
        cohortflow_cohort::ARM,
        analysed,
    )
    .map_err(|message| Error::Stage {
        stage: "analysis",
        message,
    })?;

    let mut results = analysis.results;
    results.matching = matched
        .as_ref()
        .map(|m| serde_json::to_value(&m.summary).expect("matching summary serialises"));
    let km_csv = cohortflow_analysis::km_csv(&analysis.curves);
    results.warnings = immortal_time_warnings(loaded, &selected.frame, &endpoint_columns)?;
    for w in &results.warnings {
        warn!("{w}");
    }

    // Everything is computed: now write, all or nothing.
    let staging = staging_dir(out)?;
    let written = (|| -> Result<(), Error> {
        let tables = [&ingested, &cleaned.frame, &derived.frame, &selected.frame];
        for (name, df) in STAGE_TABLES.iter().zip(tables) {
            write_parquet(&staging.join(format!("{name}.parquet")), df)?;
        }
        if let Some(m) = &matched {
            write_parquet(&staging.join("matched.parquet"), &m.frame)?;
            write_file(
                &staging.join("matched.csv"),
                table::to_csv(&m.frame, 6)
                    .map_err(stage("matching"))?
                    .as_bytes(),
            )?;
            write_file(
                &staging.join("balance.csv"),
                cohortflow_cohort::matching::balance_csv(&m.summary).as_bytes(),
            )?;
            let love: Vec<cohortflow_report::love::LoveRow> = m
                .summary
                .balance
                .iter()
                .map(|b| {
                    (
                        b.term.clone(),
                        b.before.std_mean_diff,
                        b.after.std_mean_diff,
                    )
                })
                .collect();
            write_file(
                &staging.join("love.svg"),
                cohortflow_report::love::love_svg(&love).as_bytes(),
            )?;
        }
        let flow = flow_svg(loaded, &ledger, &results);
        let text_files: Vec<(&str, String)> = vec![
            (
                "cohort.csv",
                table::to_csv(&selected.frame, 6).map_err(stage("cohort"))?,
            ),
            (
                "rejects.csv",
                rejects::to_csv(&all_rejects, options.rejects_values()),
            ),
            (
                "attrition.csv",
                cohortflow_cohort::attrition_csv(&selected.attrition),
            ),
            ("ledger.csv", ledger.to_csv()),
            ("km.csv", km_csv),
            ("results.json", to_json(&results)),
            ("flow.svg", flow.clone()),
        ];
        for (name, text) in &text_files {
            write_file(&staging.join(name), text.as_bytes())?;
        }
        // report.html, report.md, table1.csv, figures (crates/report).
        let report = cohortflow_report::Input {
            name: loaded.name(),
            description: &loaded.file.pipeline.description,
            results: &results,
            curves: &analysis.curves,
            flow_svg: &flow,
            config: &loaded.file.report,
        };
        let report = cohortflow_report::build(&report).map_err(|message| Error::Stage {
            stage: "report",
            message,
        })?;
        for (name, bytes) in &report {
            write_file(&staging.join(name), bytes)?;
        }
        let manifest = manifest::build(loaded, &staging, &results)?;
        write_file(&staging.join("manifest.json"), manifest.as_bytes())?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    swap_into_place(&staging, out)?;
    info!(out = %out.display(), "run folder written");
    Ok(RunSummary {
        out: out.to_path_buf(),
        results,
        ledger,
        rejected_rows: all_rejects.len(),
    })
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("results serialise");
    s.push('\n');
    s
}

fn staging_dir(out: &Path) -> Result<PathBuf, Error> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    debug!(staging = %staging.display(), "writing");
    Ok(staging)
}

/// Replaces `out` by `staging`. The old folder is moved aside first and
/// removed only after the new one is in place.
fn swap_into_place(staging: &Path, out: &Path) -> Result<(), Error> {
    let old = staging.with_extension("old");
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
    }
    if let Err(e) = std::fs::rename(staging, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(staging);
        return Err(Error::io(out, e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn write_parquet(path: &Path, df: &DataFrame) -> Result<(), Error> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut df = df.clone();
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// A warning for each arm defined by a date after the index date, unless the
/// pipeline declares a remedy (a landmark analysis or a time-varying model).
fn immortal_time_warnings(
    loaded: &Loaded,
    cohort: &DataFrame,
    endpoints: &[EndpointColumns],
) -> Result<Vec<String>, Error> {
    let analysis = &loaded.file.analysis;
    if analysis.landmark.is_some() || analysis.time_varying.is_some() {
        return Ok(Vec::new());
    }
    let mut origins: Vec<String> = endpoints.iter().map(|e| e.origin.clone()).collect();
    origins.sort();
    origins.dedup();
    let found =
        cohortflow_cohort::post_index_arms(&loaded.file.cohort, cohort, &origins).map_err(|e| {
            Error::Stage {
                stage: "cohort",
                message: e.to_string(),
            }
        })?;
    Ok(found
        .into_iter()
        .map(|p| {
            format!(
                "immortal time: arm {} is defined by {}, which is after the index date {} for {} of its {} patients; \
                 counting time from {} credits the arm with the time before {} in which its patients could not fail. \
                 Declare [analysis.landmark] (or a time-varying analysis) to correct for it.",
                p.arm, p.column, p.origin, p.after, p.rows, p.origin, p.column
            )
        })
        .collect())
}

/// The flow diagram of the run, with the centres' labels and the arms.
fn flow_svg(loaded: &Loaded, ledger: &Ledger, results: &Results) -> String {
    let sources: Vec<(String, String)> = loaded
        .sources
        .iter()
        .map(|s| (s.config.name.clone(), s.config.centre.clone()))
        .collect();
    let arms: Vec<cohortflow_report::flow::ArmBox> = results
        .arms
        .iter()
        .map(|a| (a.name.clone(), a.label.clone(), a.n))
        .collect();
    cohortflow_report::flow::flow_svg(ledger, &sources, &arms)
}

/// The cohort sorted by the row key; two rows with the same key stop the
/// run, since the order (and matching ties) would then depend on the files.
fn sort_by_row_key(frame: &DataFrame, key: &[String]) -> Result<DataFrame, Error> {
    let err = |e: PolarsError| Error::Stage {
        stage: "cohort",
        message: format!("sorting by the row key: {e}"),
    };
    let sorted = frame
        .sort(
            key.to_vec(),
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .map_err(err)?;
    let keys: Vec<Column> = key
        .iter()
        .map(|k| sorted.column(k).cloned())
        .collect::<PolarsResult<_>>()
        .map_err(err)?;
    for i in 1..sorted.height() {
        let same = keys.iter().all(|c| c.get(i).ok() == c.get(i - 1).ok());
        if same {
            let (source, row) = table::provenance(&sorted, i).map_err(err)?;
            return Err(Error::Stage {
                stage: "cohort",
                message: format!(
                    "two cohort rows share the row key ({}); {source} row {row} is one of them. \
                     Declare a unique key with `row_key` in [pipeline], or reject duplicates with `unique` in the source",
                    key.join(", ")
                ),
            });
        }
    }
    Ok(sorted)
}

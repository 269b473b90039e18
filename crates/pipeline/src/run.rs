//! Running a loaded pipeline and writing its run folder.

use crate::error::Error;
use crate::load::Loaded;
use crate::manifest;
use crate::meter::{Meter, StageCost};
use crate::out::Input;
use crate::progress::{Progress, Unit};
use cohortflow_analysis::{ArmInfo, EndpointColumns, Results};
use cohortflow_core::ledger::{Ledger, ModelAccount};
use cohortflow_core::{rejects, table};
use polars::prelude::*;
use polars_io::prelude::{ParquetCompression, ParquetWriter};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunSummary {
    pub out: PathBuf,
    pub results: Results,
    pub ledger: Ledger,
    pub rejected_rows: usize,
    /// What each stage cost (also in the log and in `manifest.json`).
    pub costs: Vec<StageCost>,
}

/// Tables the run writes, in stage order: Parquet for programs, and the
/// cohort also as CSV for people.
pub const STAGE_TABLES: [&str; 4] = ["ingest", "clean", "derive", "cohort"];

/// Which stage tables a run writes as Parquet (`[pipeline] stage_tables`,
/// or `--stages` on the command line, which wins).
///
/// `cohort.csv` (the table behind every estimate), `results.json`, the
/// ledger, the rejects and the report are written whatever the choice, and
/// the manifest lists and hashes whatever was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageTables {
    /// `ingest`, `clean`, `derive` and `cohort` (the default).
    #[default]
    All,
    /// `cohort.parquet` only.
    Cohort,
    /// No Parquet table.
    None,
}

impl StageTables {
    /// Whether the Parquet table of `stage` is written.
    pub fn keeps(self, stage: &str) -> bool {
        match self {
            StageTables::All => true,
            StageTables::Cohort => stage == "cohort",
            StageTables::None => false,
        }
    }
}

impl std::str::FromStr for StageTables {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(StageTables::All),
            "cohort" => Ok(StageTables::Cohort),
            "none" => Ok(StageTables::None),
            _ => Err(format!("expected all, cohort or none, not \"{s}\"")),
        }
    }
}

/// Runs every stage and writes the run folder `out`.
///
/// Before any data is read, `out` is checked (it must not be, contain or lie
/// inside an input or the working directory, and an existing folder must be
/// a cohortflow run folder or empty), the run takes its lock on `out`, and
/// leftovers of killed runs are removed. The folder is written under a
/// staging name next to `out` and swapped into place in one step only when
/// everything succeeded; on failure nothing is left behind and an existing
/// `out` is untouched. The contract is in the `out` module and
/// docs/results.md.
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
    /// `--stages`: which stage tables to write; `None` = the pipeline's
    /// `stage_tables` (default all).
    pub stage_tables: Option<StageTables>,
    /// A CSV export's records read in chunks of about this many bytes (and
    /// the file in pieces of eight chunks) instead of a real run's sizes:
    /// the oracle's small damaged exports are then cut across chunks and
    /// pieces as a registry's are (`cohortflow_ingest::IngestOptions`).
    /// For tests; not part of the stable API.
    #[doc(hidden)]
    pub ingest_chunk_bytes: Option<usize>,
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

fn stage_error(stage: &'static str) -> impl Fn(PolarsError) -> Error {
    move |e: PolarsError| Error::Stage {
        stage,
        message: e.to_string(),
    }
}

/// Everything the stages computed, for the writing of the run folder.
struct Computed {
    results: Results,
    ledger: Ledger,
    rejects: Vec<rejects::Reject>,
    analysis_curves: Vec<cohortflow_analysis::Curve>,
    cif_curves: Vec<cohortflow_analysis::CifCurve>,
    cohort: DataFrame,
    attrition: Vec<cohortflow_cohort::AttritionRow>,
    matched: Option<cohortflow_cohort::matching::Matched>,
    /// What each database source read (connection, query, rows, hash).
    databases: HashMap<String, cohortflow_ingest::DatabaseRead>,
}

/// A table on its way to the writer thread, with its file name: a stage
/// table (`.parquet`) or the cohort (`cohort.csv`, `matched.csv`).
type TableSender = std::sync::mpsc::Sender<(String, DataFrame)>;

/// The way to the thread that syncs written files to disk in the
/// background (`run_observed`).
type Syncer = std::sync::mpsc::Sender<File>;

/// [`run`] with options.
///
/// The stage tables and the cohort (`cohort.csv`, the matched tables) are
/// written (and hashed while written) by a second thread while the later
/// stages and the analysis compute; each stage's
/// frame is dropped as soon as the next stage and the writer are done with
/// it. The inputs are hashed for the manifest by a third thread once
/// ingest is done (beside clean, derive and the cohort, which leave a core
/// idle). What each stage cost is logged and kept in the manifest
/// (`meter`).
pub fn run_with(loaded: &Loaded, out: &Path, options: RunOptions) -> Result<RunSummary, Error> {
    run_observed(loaded, out, options, &crate::progress::Silent)
}

/// [`run_with`], telling `progress` of each stage as it runs.
pub fn run_observed(
    loaded: &Loaded,
    out: &Path,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, Error> {
    crate::rejected::check_config(&loaded.sources)?;
    let run_folder = crate::out::prepare(out, &inputs(loaded))?;
    let stage_tables = options
        .stage_tables
        .unwrap_or(loaded.file.pipeline.stage_tables);
    let staging = run_folder.dir.clone();
    let (computed, mut meter) = std::thread::scope(|scope| {
        let input_files = manifest_input_files(loaded);
        // The inputs are hashed once ingest is done with them: ingest keeps
        // both cores busy, while clean, derive and the cohort mostly leave
        // one idle. (Should ingest fail, they are hashed all the same; the
        // run's error is what is reported.)
        let (notify_ingested, ingest_done) = std::sync::mpsc::channel::<()>();
        let input_hashes = scope.spawn(move || {
            let _ = ingest_done.recv();
            manifest::hash_files(&input_files)
        });
        let (tables, table_rx) = std::sync::mpsc::channel::<(String, DataFrame)>();
        let staging_dir = staging.clone();
        // What the writer wrote goes to disk on a thread of its own while
        // the run goes on (`HashingWriter`), so that the commit's fsync of
        // the folder (`out`, `Staging::commit`) finds it mostly there. Its
        // errors are not this thread's to report: the commit syncs every
        // file again and stops on any failure.
        let (to_sync, sync_rx) = std::sync::mpsc::channel::<File>();
        scope.spawn(move || {
            for file in sync_rx {
                let _ = file.sync_data();
            }
        });
        let writer = scope.spawn(move || -> Result<Vec<(String, String)>, Error> {
            let mut hashes = Vec::new();
            for (file, df) in table_rx {
                let path = staging_dir.join(&file);
                let sha = if file.ends_with(".csv") {
                    write_table_csv(&path, &df, &to_sync)?
                } else {
                    write_parquet(&path, df, &to_sync)?
                };
                hashes.push((file, sha));
            }
            Ok(hashes)
        });
        let computed = compute(
            loaded,
            options,
            stage_tables,
            &tables,
            notify_ingested,
            progress,
        );
        // No more tables: the writer finishes what it has and returns. (On
        // an error the scope still waits for both threads.)
        drop(tables);
        let (computed, mut meter) = computed?;
        // The wait for the writer (the cohort's CSV, the stage tables) is
        // part of writing the outputs.
        meter.start("write");
        let written = || -> Result<Hashes, Error> {
            let tables = writer
                .join()
                .expect("the stage-table writer does not panic")?;
            let inputs = input_hashes
                .join()
                .expect("hashing the inputs does not panic")?;
            Ok((tables.into_iter().collect(), inputs))
        };
        write_outputs(
            loaded,
            &staging,
            &run_folder,
            &computed,
            options,
            written,
            &mut meter,
        )?;
        Ok::<_, Error>((computed, meter))
    })?;
    meter.start("commit");
    run_folder.commit()?;
    meter.end();
    info!(out = %out.display(), "run folder written");
    Ok(RunSummary {
        out: out.to_path_buf(),
        rejected_rows: computed.rejects.len(),
        results: computed.results,
        ledger: computed.ledger,
        costs: meter.costs().to_vec(),
    })
}

/// The stages, from ingest to the analysis.
fn compute<'p>(
    loaded: &Loaded,
    options: RunOptions,
    stage_tables: StageTables,
    tables: &TableSender,
    notify_ingested: std::sync::mpsc::Sender<()>,
    progress: &'p dyn Progress,
) -> Result<(Computed, Meter<'p>), Error> {
    let sources = loaded.source_names();
    let mut meter = Meter::new(progress);
    // A table the writer will write, or nothing if it is not kept. The
    // writer may be gone only after an error of its own, which it reports.
    let keep = |name: &'static str, df: &DataFrame| {
        if stage_tables.keeps(name) {
            let _ = tables.send((format!("{name}.parquet"), df.clone()));
        }
    };
    let mut ledger = Ledger::new();
    let mut all_rejects = Vec::new();

    let size =
        |s: &cohortflow_ingest::Source| std::fs::metadata(s.data_path()).map_or(0, |m| m.len());
    let bytes: u64 = loaded.sources.iter().map(size).sum();
    meter.start_with("ingest", Some(bytes), Unit::Bytes);
    // What each database source read, by source name, for the manifest.
    let mut databases = HashMap::new();
    // The sources are read side by side (each also on all cores): one
    // source's serial steps (reading the file, finding the chunks, the
    // duplicate keys) overlap the other's. The first error in the
    // pipeline's order of sources is the one reported, as if read one
    // after another.
    let read: Vec<_> = loaded
        .sources
        .par_iter()
        .map(|source| {
            // A CSV export's bytes as they are read; the rest of the file
            // (all of it for the other formats) once it is read.
            let counted = std::sync::atomic::AtomicU64::new(0);
            let on_read = |n: u64| {
                counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                progress.advance(n);
            };
            let read = cohortflow_ingest::read_observed(
                source,
                &loaded.schema,
                cohortflow_ingest::IngestOptions {
                    show_values: options.show_values,
                    chunk_bytes: options.ingest_chunk_bytes,
                },
                &on_read,
            )
            .map_err(Box::new);
            let counted = counted.load(std::sync::atomic::Ordering::Relaxed);
            progress.advance(size(source).saturating_sub(counted));
            read
        })
        .collect();
    let mut columns = Vec::with_capacity(read.len());
    for (source, read) in loaded.sources.iter().zip(read) {
        let read = read.map_err(Error::Input)?;
        if let Some(db) = read.database {
            databases.insert(source.config.name.clone(), db);
        }
        ledger.push(read.account);
        all_rejects.extend(read.rejects);
        columns.push(read.columns);
    }
    // The sources' text and their chunks' garbage are freed: back to the
    // system before the frame's columns double the chunks' for a moment.
    cohortflow_core::memory::release();
    // One frame of every source's rows, each column in one piece.
    let ingested =
        cohortflow_ingest::assemble(&loaded.schema, columns).map_err(stage_error("ingest"))?;
    keep("ingest", &ingested);
    drop(notify_ingested);

    meter.start("clean");
    let cleaned = cohortflow_clean::clean(&loaded.file.clean, &loaded.ranges, ingested, &sources)
        .map_err(stage_error("clean"))?;
    info!(rows = cleaned.frame.height(), "cleaned");
    ledger.extend(cleaned.accounts);
    all_rejects.extend(cleaned.rejects);
    keep("clean", &cleaned.frame);

    meter.start("derive");
    let endpoints = loaded.endpoints();
    let mut derived =
        cohortflow_derive::derive(&loaded.file.derive, &endpoints, cleaned.frame, &sources)
            .map_err(stage_error("derive"))?;
    info!(rows = derived.kept_rows(), "derived");
    ledger.extend(std::mem::take(&mut derived.accounts));
    all_rejects.extend(std::mem::take(&mut derived.rejects));
    // The derive stage marks its rejected rows; the table without them is
    // made only when it is kept, and then the cohort stage selects from it
    // (one table, not the marked one beside its copy: at 10M the full
    // study peaked about 250 MiB higher with both in one pair, against a
    // spread of ±150 MiB between runs).
    if stage_tables.keeps("derive") {
        derived.drop_rejected().map_err(stage_error("derive"))?;
        keep("derive", &derived.frame);
    }
    // Every stage that rejects rows has run: a source that lost too many
    // stops the run here, before the cohort stage fails on it less clearly.
    let linkage: Vec<&str> = loaded
        .file
        .clean
        .linkage
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    crate::rejected::check(&loaded.sources, &ledger, &linkage)?;

    meter.start("cohort");
    // The criteria's design warnings are judged on the derive stage's
    // table before the selection consumes it (filtered column by column,
    // each freed as it goes); the arms' on the cohort after it.
    let (lineage, dates) = design_basis(loaded, &endpoints)?;
    let cohort_err = |e| Error::Cohort(Box::new(e));
    let mut design_warnings = cohortflow_cohort::design::criteria_warnings(
        &loaded.file.cohort,
        &loaded.file.design,
        &lineage,
        &dates,
        &derived.frame,
        derived.kept.as_deref(),
    )
    .map_err(cohort_err)?;
    let mut selected = cohortflow_cohort::select(
        &loaded.file.cohort,
        derived.frame,
        derived.kept,
        &sources,
        loaded.file.analysis.uses_eligible(),
    )
    .map_err(cohort_err)?;
    info!(rows = selected.frame.height(), "selected");
    ledger.extend(std::mem::take(&mut selected.accounts));
    design_warnings.extend(
        cohortflow_cohort::design::arm_warnings(
            &loaded.file.cohort,
            &loaded.file.design,
            &lineage,
            &dates,
            &selected.frame,
        )
        .map_err(cohort_err)?,
    );
    // From here on rows are in the order of the row key, so that matching
    // and every estimate are the same whatever the order of the exports.
    selected.frame = sort_by_row_key(&selected.frame, loaded.file.pipeline.row_key.get_ref())?;
    if let Some(e) = &selected.eligible {
        selected.eligible = Some(sort_by_row_key(e, loaded.file.pipeline.row_key.get_ref())?);
    }
    keep("cohort", &selected.frame);
    // cohort.csv is written while the analysis computes. (Sent before the
    // arms' design warnings are judged, it was not written sooner and the
    // analysis peaked 14-39 MiB higher at 1M, three pairs.)
    let _ = tables.send(("cohort.csv".into(), selected.frame.clone()));

    let matched = match &loaded.file.matching {
        Some(cfg) => {
            meter.start("matching");
            let m = cohortflow_cohort::matching::match_arms(
                cfg,
                &selected.frame,
                cohortflow_cohort::ARM,
                &sources,
            )
            .map_err(|e| Error::Cohort(Box::new(e)))?;
            info!(rows = m.frame.height(), "matched");
            let _ = tables.send(("matched.parquet".into(), m.frame.clone()));
            let _ = tables.send(("matched.csv".into(), m.frame.clone()));
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
        .groups()
        .into_iter()
        .map(|(name, label)| ArmInfo { name, label })
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
            unit: ep.unit,
            time: cohortflow_derive::time_column(name),
            event: cohortflow_derive::event_column(name),
            origin: ep.origin_column().map(str::to_string),
            competing: ep
                .causes
                .as_ref()
                .map(|c| cohortflow_analysis::CompetingColumns {
                    cause: cohortflow_derive::cause_column(name),
                    causes: c.get_ref().names(),
                }),
        })
        .collect();
    // The analysis's progress: its independent parts done (Table 1's
    // rows, each endpoint, the time-varying model, the landmark, the
    // emulation).
    let steps = cohortflow_analysis::steps(&loaded.file.analysis, &endpoint_columns);
    meter.start_with("analysis", Some(steps), Unit::Steps);
    let analysis = cohortflow_analysis::analyse_observed(
        &loaded.file.analysis,
        &arms,
        &endpoint_columns,
        cohortflow_cohort::ARM,
        analysed,
        selected.eligible.as_ref(),
        &|| progress.advance(1),
    )
    .map_err(|e| Error::Analysis(Box::new(e)))?;
    drop(selected.eligible.take());

    let mut results = analysis.results;
    // Patients a model left out for a missing covariate are in the ledger,
    // which must still balance: every analysed patient used or left out.
    for e in &results.endpoints {
        if let Some(m) = e.cox.as_ref().and_then(|c| c.adjusted.as_ref()) {
            ledger.push_model(ModelAccount {
                model: format!("{}: {}", e.name, m.formula),
                rows_in: (m.n + m.excluded_missing) as u64,
                missing: m
                    .missing_by_covariate
                    .iter()
                    .map(|c| (c.column.clone(), c.rows as u64))
                    .collect(),
                rows_used: m.n as u64,
            });
        }
    }
    let imbalances = ledger.imbalances();
    if !imbalances.is_empty() {
        return Err(Error::Ledger(imbalances));
    }
    results.matching = matched.as_ref().map(|m| m.summary.clone());
    results.labels = loaded.labels.clone();
    if let Some(m) = &matched {
        results
            .warnings
            .extend(cohortflow_cohort::matching::warnings(&m.summary));
    }
    results.design_warnings = design_warnings;
    results
        .warnings
        .extend(cohortflow_cohort::design::unused_acknowledgements(
            &loaded.file.design,
            &results.design_warnings,
        ));
    for w in &results.warnings {
        warn!("{w}");
    }
    for w in &results.design_warnings {
        warn!("design: {}", w.text());
    }
    meter.end();
    Ok((
        Computed {
            results,
            ledger,
            rejects: all_rejects,
            analysis_curves: analysis.curves,
            cif_curves: analysis.cif_curves,
            cohort: selected.frame,
            attrition: selected.attrition,
            matched,
            databases,
        },
        meter,
    ))
}

/// sha256 of the outputs written so far, by file name; of the inputs, by path.
type Hashes = (HashMap<String, String>, HashMap<PathBuf, String>);

/// Writes every output but those of the writer thread (the stage tables,
/// cohort.csv and the matched tables) into the staging folder: the small
/// ones while that thread still writes, the report's once `written` (the
/// wait for that thread and for the inputs' hashes) returned, the manifest
/// last. On an error the staging folder removes itself when it is dropped.
#[allow(clippy::too_many_arguments)]
fn write_outputs(
    loaded: &Loaded,
    staging: &Path,
    run_folder: &crate::out::Staging,
    c: &Computed,
    options: RunOptions,
    written: impl FnOnce() -> Result<Hashes, Error>,
    meter: &mut Meter<'_>,
) -> Result<(), Error> {
    // The report (figures rendered, the slowest of the small outputs) is
    // built on a thread of its own from here: while the writer ends the
    // cohort's CSV and while the small outputs are written.
    let flow = flow_svg(loaded, &c.ledger, &c.results);
    let endpoints = loaded.endpoints();
    let analysed = c.matched.as_ref().map_or(&c.cohort, |m| &m.frame);
    let study = study(
        loaded,
        &endpoints,
        &c.ledger,
        &c.attrition,
        analysed,
        c.matched.is_some(),
    );
    let report = cohortflow_report::Input {
        name: loaded.name(),
        description: &loaded.file.pipeline.description,
        results: &c.results,
        curves: &c.analysis_curves,
        cif_curves: &c.cif_curves,
        flow_svg: &flow,
        config: &loaded.file.report,
        study: &study,
    };
    let (hashes, input_hashes) = std::thread::scope(|scope| -> Result<Hashes, Error> {
        let report = scope.spawn(|| cohortflow_report::build(&report));
        // The small outputs are formatted, hashed and written while the
        // writer still writes the cohort's CSV and the report's figures are
        // drawn (km.csv alone is megabytes of numbers on a large cohort).
        let mut small: Vec<(&str, Vec<u8>)> = Vec::new();
        if let Some(m) = &c.matched {
            small.push((
                "balance.csv",
                cohortflow_cohort::matching::balance_csv(&m.summary).into_bytes(),
            ));
        }
        // cif.csv only for a study with a competing-risks endpoint
        if !c.cif_curves.is_empty() {
            small.push((
                "cif.csv",
                cohortflow_analysis::cif_csv(&c.cif_curves).into_bytes(),
            ));
        }
        small.push((
            "rejects.csv",
            rejects::to_csv(&c.rejects, options.rejects_values()).into_bytes(),
        ));
        small.push((
            "attrition.csv",
            cohortflow_cohort::attrition_csv(&c.attrition).into_bytes(),
        ));
        small.push(("ledger.csv", c.ledger.to_csv().into_bytes()));
        small.push((
            "km.csv",
            cohortflow_analysis::km_csv(&c.analysis_curves).into_bytes(),
        ));
        small.push(("results.json", to_json(&c.results).into_bytes()));
        small.push(("flow.svg", flow.as_bytes().to_vec()));
        let mut own = HashMap::new();
        let mut write = |name: &str, bytes: &[u8]| -> Result<(), Error> {
            let path = staging.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
            own.insert(name.to_string(), sha256_hex(bytes));
            Ok(())
        };
        for (name, bytes) in &small {
            write(name, bytes)?;
        }
        drop(small);
        let (mut hashes, input_hashes) = written()?;
        let report = report
            .join()
            .expect("building the report does not panic")
            .map_err(Error::Report)?;
        for (name, bytes) in &report {
            write(name, bytes)?;
        }
        hashes.extend(own);
        Ok((hashes, input_hashes))
    })?;
    meter.end();
    let manifest = manifest::build(&manifest::Inputs {
        pipeline_name: loaded.name(),
        pipeline: &loaded.path,
        pipeline_text: &loaded.text,
        schema: &loaded.schema_path,
        row_key: loaded.file.pipeline.row_key.get_ref(),
        sources: loaded
            .sources
            .iter()
            .map(|s| manifest::SourceFiles {
                name: s.config.name.clone(),
                centre: s.config.centre.clone(),
                file: s.file.clone(),
                text: s.text.clone(),
                data: crate::load::normalize(&s.data_path()),
                dictionary: s.dictionary_path().map(|d| crate::load::normalize(&d)),
                database: c
                    .databases
                    .get(&s.config.name)
                    .map(|d| serde_json::to_value(d).expect("a database read serialises")),
            })
            .collect(),
        folder: staging,
        outputs: run_folder.outputs()?,
        output_hashes: &hashes,
        input_hashes: &input_hashes,
        conventions: serde_json::to_value(&c.results.conventions).expect("conventions serialise"),
        stages: meter.costs(),
    })?;
    let path = staging.join("manifest.json");
    std::fs::write(&path, manifest.as_bytes()).map_err(|e| Error::io(&path, e))?;
    Ok(())
}

/// The files the manifest hashes: the pipeline, the schema, and each
/// source's file and data.
fn manifest_input_files(loaded: &Loaded) -> Vec<PathBuf> {
    let mut files = vec![loaded.path.clone(), loaded.schema_path.clone()];
    for s in &loaded.sources {
        files.push(s.file.clone());
        files.push(crate::load::normalize(&s.data_path()));
        files.extend(s.dictionary_path().map(|d| crate::load::normalize(&d)));
    }
    files
}

/// The inputs of a run, for the check that `--out` does not overlap them.
fn inputs(loaded: &Loaded) -> Vec<Input> {
    let mut inputs = vec![
        Input {
            kind: "pipeline file",
            path: loaded.path.clone(),
        },
        Input {
            kind: "schema file",
            path: loaded.schema_path.clone(),
        },
    ];
    for s in &loaded.sources {
        inputs.push(Input {
            kind: "source file",
            path: s.file.clone(),
        });
        inputs.push(Input {
            kind: "data file",
            path: crate::load::normalize(&s.data_path()),
        });
        if let Some(d) = s.dictionary_path() {
            inputs.push(Input {
                kind: "data dictionary",
                path: crate::load::normalize(&d),
            });
        }
    }
    inputs
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("results serialise");
    s.push('\n');
    s
}

/// Writes `df` as Parquet (Snappy: fast to write and read, and every
/// Parquet reader has it) and returns the file's sha256, computed on the
/// bytes as they are written, not by reading the file again; the file goes
/// to disk through `to_sync`.
fn write_parquet(path: &Path, mut df: DataFrame, to_sync: &Syncer) -> Result<String, Error> {
    let mut hashing = HashingWriter::create(path, to_sync)?;
    ParquetWriter::new(&mut hashing)
        .with_compression(ParquetCompression::Snappy)
        .finish(&mut df)
        .map_err(|e| Error::io(path, e))?;
    hashing.finish(path)
}

/// Writes `df` as CSV (as `table::to_csv`: floats with 6 decimals) and
/// returns the file's sha256, computed on the bytes as they are written;
/// the file goes to disk through `to_sync`.
fn write_table_csv(path: &Path, df: &DataFrame, to_sync: &Syncer) -> Result<String, Error> {
    let mut hashing = HashingWriter::create(path, to_sync)?;
    table::write_csv(df, 6, &mut hashing).map_err(|e| Error::io(path, e))?;
    hashing.finish(path)
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A table's file being written: what passes through is hashed, and every
/// [`HashingWriter::SYNC_EVERY`] bytes the file is handed to the syncer,
/// which puts what was written so far on disk while the writing goes on.
struct HashingWriter {
    inner: std::io::BufWriter<File>,
    hasher: Sha256,
    /// The syncer's end, with the file's own handle for it.
    to_sync: Syncer,
    file: File,
    /// Bytes written since the file was last handed to the syncer.
    unsynced: usize,
    /// [`HashingWriter::SYNC_EVERY`] (tests: less).
    sync_every: usize,
}

impl HashingWriter {
    /// Bytes written and hashed at a time: a piece is still in the core's
    /// cache for the hash after the kernel copied it (or the other way
    /// round). Writing a table's blocks of megabytes whole cost the kernel
    /// several times more time per byte on this machine.
    const PIECE: usize = 256 << 10;
    /// Bytes written between two syncs in the background: the commit's
    /// fsync then has at most this much of the file left to write.
    const SYNC_EVERY: usize = 64 << 20;

    /// A new file at `path`, buffered a piece at a time.
    fn create(path: &Path, to_sync: &Syncer) -> Result<Self, Error> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let handle = file.try_clone().map_err(|e| Error::io(path, e))?;
        Ok(HashingWriter {
            inner: std::io::BufWriter::with_capacity(Self::PIECE, file),
            hasher: Sha256::new(),
            to_sync: to_sync.clone(),
            file: handle,
            unsynced: 0,
            sync_every: Self::SYNC_EVERY,
        })
    }

    /// Flushes the buffer, hands the whole file to the syncer and returns
    /// the sha256 of every byte written.
    fn finish(self, path: &Path) -> Result<String, Error> {
        self.inner
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?;
        let _ = self.to_sync.send(self.file);
        Ok(format!("{:x}", self.hasher.finalize()))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let piece = &buf[..buf.len().min(Self::PIECE)];
        let n = self.inner.write(piece)?;
        self.hasher.update(&piece[..n]);
        self.unsynced += n;
        if self.unsynced >= self.sync_every {
            self.unsynced = 0;
            // Without a second handle the commit's fsync does it all.
            if let Ok(handle) = self.file.try_clone() {
                let _ = self.to_sync.send(handle);
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What the design warnings judge by: the lineage of the schema's and the
/// derived columns (when each column is known, cohortflow_core::lineage)
/// and the dates of the analysed endpoints. A criterion or arm whose
/// condition uses a column known after an endpoint's origin gets a
/// warning, whatever remedy the analysis declares.
fn design_basis(
    loaded: &Loaded,
    endpoints: &[(String, cohortflow_derive::EndpointConfig)],
) -> Result<
    (
        cohortflow_core::lineage::Lineage,
        Vec<cohortflow_cohort::design::EndpointDates>,
    ),
    Error,
> {
    let mut lineage = cohortflow_core::lineage::Lineage::from_schema(&loaded.schema);
    for c in &loaded.file.derive.columns {
        lineage
            .add_derived(&c.name, c.expr.get_ref())
            .map_err(|message| Error::Stage {
                stage: "cohort",
                message: format!("the lineage of derived column '{}': {message}", c.name),
            })?;
    }
    let analysed = loaded.file.analysis.endpoints.get_ref();
    let dates: Vec<cohortflow_cohort::design::EndpointDates> = analysed
        .iter()
        .filter_map(|name| endpoints.iter().find(|(n, _)| n == name))
        .filter_map(|(name, ep)| {
            Some(cohortflow_cohort::design::EndpointDates {
                name: name.clone(),
                origin: ep.origin_column()?.to_string(),
                events: ep
                    .events
                    .as_ref()
                    .map_or_else(Vec::new, |e| e.get_ref().clone()),
                censor: ep.censor.as_ref().map(|c| c.get_ref().clone()),
            })
        })
        .collect();
    Ok((lineage, dates))
}

/// What the report's Methods and flow table are written from: the
/// pipeline's declarations, the ledger and the attrition, the latest
/// follow-up date of the analysed patients and, after matching, the
/// matched patients per source and arm.
fn study(
    loaded: &Loaded,
    endpoints: &[(String, cohortflow_derive::EndpointConfig)],
    ledger: &Ledger,
    attrition: &[cohortflow_cohort::AttritionRow],
    analysed: &DataFrame,
    matched: bool,
) -> cohortflow_report::methods::Study {
    use cohortflow_report::methods::{AttritionLine, EndpointDef, LinkageDef, Study};
    let f = &loaded.file;
    let spanned =
        |s: &Option<cohortflow_core::Spanned<String>>| s.as_ref().map(|v| v.get_ref().clone());
    let endpoint_defs: Vec<EndpointDef> = f
        .analysis
        .endpoints
        .get_ref()
        .iter()
        .filter_map(|name| endpoints.iter().find(|(n, _)| n == name))
        .map(|(name, ep)| {
            let causes: Vec<(String, String)> = ep.causes.as_ref().map_or(Vec::new(), |c| {
                c.get_ref()
                    .0
                    .iter()
                    .map(|(n, d)| {
                        (
                            n.clone(),
                            match d {
                                cohortflow_derive::CauseDef::Dates(d) => d.join(", "),
                                cohortflow_derive::CauseDef::Condition(c) => c.clone(),
                            },
                        )
                    })
                    .collect()
            });
            let mut events: Vec<String> = ep
                .events
                .as_ref()
                .map_or(Vec::new(), |e| e.get_ref().clone());
            if let Some(c) = &ep.causes {
                for (_, d) in &c.get_ref().0 {
                    if let cohortflow_derive::CauseDef::Dates(d) = d {
                        events.extend(d.iter().cloned());
                    }
                }
            }
            EndpointDef {
                name: name.clone(),
                label: ep.label.clone(),
                origin: spanned(&ep.origin),
                events,
                causes,
                censor: spanned(&ep.censor),
                time: spanned(&ep.time),
                event: spanned(&ep.event),
                admin_censor: spanned(&ep.admin_censor),
                max_followup: ep.max_followup,
            }
        })
        .collect();
    // The latest event or censoring date among the analysed patients.
    let mut date_columns: Vec<String> = Vec::new();
    for e in &endpoint_defs {
        for c in e.events.iter().chain(&e.censor) {
            if !date_columns.contains(c) {
                date_columns.push(c.clone());
            }
        }
    }
    let latest = date_columns
        .iter()
        .filter_map(|c| {
            let col = analysed.column(c).ok()?;
            if col.dtype() != &DataType::Date {
                return None;
            }
            col.cast(&DataType::Int32).ok()?.i32().ok()?.max()
        })
        .max();
    let latest_date = latest.and_then(|d| {
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
            .checked_add_signed(chrono::Duration::days(d as i64))
            .map(|d| d.format("%Y-%m-%d").to_string())
    });
    let mut matched_by_source = Vec::new();
    if matched {
        // The source (and a category arm) as text: a code column has no
        // `str()`, and this would then count nothing.
        let source = analysed.column(table::SOURCE).and_then(table::as_text).ok();
        let arm = analysed
            .column(cohortflow_cohort::ARM)
            .and_then(table::as_text)
            .ok();
        if let (Some(source), Some(arm)) = (&source, &arm)
            && let (Ok(source), Ok(arm)) = (source.str(), arm.str())
        {
            for (s, a) in source.iter().zip(arm.iter()) {
                if let (Some(s), Some(a)) = (s, a) {
                    match matched_by_source
                        .iter_mut()
                        .find(|(src, arm, _): &&mut (String, String, u64)| src == s && arm == a)
                    {
                        Some(e) => e.2 += 1,
                        None => matched_by_source.push((s.to_string(), a.to_string(), 1)),
                    }
                }
            }
        }
    }
    Study {
        sources: loaded
            .sources
            .iter()
            .map(|s| (s.config.name.clone(), s.config.centre.clone()))
            .collect(),
        schema: loaded.schema.name.clone(),
        clean_rules: f
            .clean
            .rules
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.check.get_ref().clone(),
                    match r.action {
                        cohortflow_clean::Action::Reject => "reject".to_string(),
                        cohortflow_clean::Action::Flag => "flag".to_string(),
                    },
                )
            })
            .collect(),
        linkage: f.clean.linkage.as_ref().map(|l| LinkageDef {
            name: l.name.clone(),
            key: l.key.get_ref().clone(),
            keep: match l.keep {
                cohortflow_clean::Keep::Latest => "the latest by".to_string(),
                cohortflow_clean::Keep::Earliest => "the earliest by".to_string(),
                cohortflow_clean::Keep::FirstSource => "the first source's".to_string(),
            },
            by: l.by.as_ref().map(|b| b.get_ref().clone()),
            normalize: l.normalize.map(|n| match n {
                cohortflow_clean::Normalize::Trim => "trimmed text".to_string(),
                cohortflow_clean::Normalize::Digits => "digits only".to_string(),
                cohortflow_clean::Normalize::AlnumUpper => {
                    "letters and digits, upper case".to_string()
                }
            }),
        }),
        endpoints: endpoint_defs,
        criteria: f
            .cohort
            .criteria
            .iter()
            .map(|c| (c.name.clone(), c.condition.get_ref().clone()))
            .collect(),
        arms: f
            .cohort
            .arms
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.label.clone(),
                    a.condition.get_ref().clone(),
                )
            })
            .collect(),
        latest_date,
        attrition: attrition
            .iter()
            .map(|a| AttritionLine {
                step: a.step,
                criterion: if a.criterion == cohortflow_cohort::NO_ARM_STEP {
                    cohortflow_report::methods::NO_ARM.to_string()
                } else {
                    a.criterion.clone()
                },
                source: a.source.clone(),
                arm: if a.arm == cohortflow_cohort::NO_ARM {
                    "(none)".to_string()
                } else {
                    a.arm.clone()
                },
                before: a.before,
                removed: a.removed,
                after: a.after,
            })
            .collect(),
        ledger: ledger.clone(),
        strata: f.analysis.strata.as_ref().map(|s| s.get_ref().clone()),
        matched_by_source,
    }
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
    cohortflow_report::flow::flow_svg(ledger, &sources, &arms, &loaded.labels)
}

/// The cohort sorted by the row key; two rows with the same key stop the
/// run, since the order (and matching ties) would then depend on the files.
fn sort_by_row_key(frame: &DataFrame, key: &[String]) -> Result<DataFrame, Error> {
    let err = |e: PolarsError| Error::Stage {
        stage: "cohort",
        message: format!("sorting by the row key: {e}"),
    };
    // Rows usually come in key order already (the default key is the
    // source and the line, and the sources are read in turn): then the
    // table is kept as it is instead of sorted and every column gathered,
    // and, each key after the one before it, no two rows share one.
    if in_key_order(frame, key).map_err(err)? {
        return Ok(frame.clone());
    }
    // A category key sorts by its levels' text, as a text key does (an
    // `Enum` would sort by the levels' declared order).
    let by: Vec<Expr> = key
        .iter()
        .map(|k| cohortflow_core::expr::on_text(col(k.as_str()), frame.schema()))
        .collect();
    let sorted = frame
        .clone()
        .lazy()
        .sort_by_exprs(by, SortMultipleOptions::default().with_maintain_order(true))
        .collect()
        .map_err(err)?;
    // Row i repeats row i - 1 when every key column is equal (NULL equal
    // to NULL), compared column by column on the whole table at once.
    let n = sorted.height();
    let mut same = vec![n > 1; n.saturating_sub(1)];
    for k in key {
        let c = sorted.column(k).map_err(err)?.as_materialized_series();
        if n < 2 {
            break;
        }
        let eq = c
            .slice(1, n - 1)
            .equal_missing(&c.slice(0, n - 1))
            .map_err(err)?;
        for (s, e) in same.iter_mut().zip(eq.iter()) {
            *s &= e == Some(true);
        }
    }
    if let Some(i) = same.iter().position(|&s| s).map(|i| i + 1) {
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
    Ok(sorted)
}

/// Whether each row's key comes after the one before it in the order the
/// sort by `key` gives: the rows are in that order and no two share a key
/// (rows with one key, in order or not, give `false`: the table is then
/// sorted and [`sort_by_row_key`] refuses them). Judged only on key columns
/// without nulls whose comparison is the sort's (text by its bytes, a
/// category by its levels' text, integers, dates, booleans); with any
/// other key column, `false`.
fn in_key_order(frame: &DataFrame, key: &[String]) -> PolarsResult<bool> {
    let n = frame.height();
    if n < 2 {
        return Ok(true);
    }
    // The pairs of rows (i, i + 1) an earlier key column has ordered.
    let mut decided = vec![false; n - 1];
    for k in key {
        let c = frame.column(k)?.as_materialized_series();
        let plain = (c.dtype().is_integer() && c.dtype() != &DataType::UInt64)
            || matches!(
                c.dtype(),
                DataType::String | DataType::Date | DataType::Boolean | DataType::Enum(_, _)
            );
        if !plain || c.null_count() > 0 {
            return Ok(false);
        }
        let ordered = if let Some((texts, codes)) = table::level_codes(frame.column(k)?)? {
            // Each level's rank in the levels' text order, by code.
            let mut by_text: Vec<usize> = (0..texts.len()).collect();
            by_text.sort_by(|&a, &b| texts[a].cmp(texts[b]));
            let mut rank = vec![0u32; texts.len()];
            for (r, &level) in by_text.iter().enumerate() {
                rank[level] = r as u32;
            }
            let codes = codes.rechunk();
            let v = codes.cont_slice()?;
            order_pairs(&mut decided, |i| {
                rank[v[i] as usize].cmp(&rank[v[i + 1] as usize])
            })
        } else if c.dtype() == &DataType::String {
            let text = c.str()?.rechunk();
            let a = text.downcast_as_array();
            // A text's `Ord` is its bytes', as the sort's.
            order_pairs(&mut decided, |i| a.value(i).cmp(a.value(i + 1)))
        } else {
            // Integers, days and false < true, as whole numbers.
            let wide = c.cast(&DataType::Int64)?;
            let wide = wide.i64()?.rechunk();
            let v = wide.cont_slice()?;
            order_pairs(&mut decided, |i| v[i].cmp(&v[i + 1]))
        };
        if !ordered {
            return Ok(false);
        }
    }
    Ok(decided.iter().all(|d| *d))
}

/// Orders the pairs of rows (i, i + 1) not yet `decided` by `cmp(i)`:
/// `false` at the first pair out of order; a pair in order is decided; a
/// pair of equal values is left to the next key column.
fn order_pairs(decided: &mut [bool], cmp: impl Fn(usize) -> std::cmp::Ordering) -> bool {
    for (i, d) in decided.iter_mut().enumerate() {
        if !*d {
            match cmp(i) {
                std::cmp::Ordering::Greater => return false,
                std::cmp::Ordering::Less => *d = true,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's file is hashed as written and handed to the syncer every
    /// `sync_every` bytes and once more at its end, each time as a handle
    /// of the same file.
    #[test]
    fn a_written_table_is_hashed_and_handed_to_the_syncer_as_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let (to_sync, synced) = std::sync::mpsc::channel::<File>();
        let mut w = HashingWriter::create(&path, &to_sync).unwrap();
        w.sync_every = 4096;
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(1000) {
            w.write_all(piece).unwrap();
        }
        let sha = w.finish(&path).unwrap();
        drop(to_sync);
        let handles: Vec<File> = synced.iter().collect();
        // Two in passing (after 4,096 and 8,192 bytes, counted in 1,000-byte
        // writes: at 5,000 and 9,000), one at the end.
        assert_eq!(handles.len(), 3);
        for h in &handles {
            assert_eq!(h.metadata().unwrap().len(), 10_000);
            h.sync_data().unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), data);
        assert_eq!(sha, sha256_hex(&data));
    }

    /// `in_key_order` says so exactly when the stable sort by the key
    /// leaves the table as it is and no two rows share a key (in key order,
    /// rows of one key stand next to each other): random small tables of a text and an
    /// integer key (many ties, some sorted, some not), and key columns with
    /// nulls or of a float type (never judged: sorted).
    #[test]
    fn rows_in_key_order_are_those_the_sort_leaves_in_place() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move |m: u64| rng.below(m as usize) as u64;
        let key = vec!["s".to_string(), "r".to_string()];
        let mut seen = [0usize; 2];
        for case in 0..400 {
            let n = (next(8) + 1) as usize;
            let mut rows: Vec<(String, i64, i64)> = (0..n)
                .map(|i| {
                    let s = ["a", "b", "ab", "B", "é", ""][next(3 + case % 4) as usize].to_string();
                    (s, next(4) as i64 - 1, i as i64)
                })
                .collect();
            if case % 2 == 0 {
                rows.sort_by(|x, y| (x.0.as_bytes(), x.1).cmp(&(y.0.as_bytes(), y.1)));
            }
            let frame = df!(
                "s" => rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
                "r" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "i" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )
            .unwrap();
            let sorted = frame
                .sort(
                    key.clone(),
                    SortMultipleOptions::default().with_maintain_order(true),
                )
                .unwrap();
            let same = sorted.column("i").unwrap() == frame.column("i").unwrap();
            let distinct = rows
                .windows(2)
                .all(|w| (w[0].0.as_str(), w[0].1) != (w[1].0.as_str(), w[1].1));
            let strict = same && distinct;
            assert_eq!(in_key_order(&frame, &key).unwrap(), strict, "{frame}");
            seen[usize::from(strict)] += 1;
            // The same key text as a category whose declared order is not
            // the text's: judged, and sorted, by the text all the same.
            let levels: Vec<String> = ["é", "b", "ab", "a", "B", ""]
                .iter()
                .map(|l| l.to_string())
                .collect();
            let dtype = cohortflow_core::schema::category_dtype(&levels).unwrap();
            let mut coded = frame.clone();
            coded
                .with_column(frame.column("s").unwrap().cast(&dtype).unwrap())
                .unwrap();
            assert_eq!(
                in_key_order(&coded, &key).unwrap(),
                strict,
                "codes: {frame}"
            );
            match (sort_by_row_key(&frame, &key), sort_by_row_key(&coded, &key)) {
                (Ok(a), Ok(b)) => assert_eq!(
                    a.column("i").unwrap(),
                    b.column("i").unwrap(),
                    "codes: {frame}"
                ),
                (Err(_), Err(_)) => {}
                _ => panic!("text and codes disagree on a repeated key: {frame}"),
            }
        }
        assert!(
            seen[0] > 50 && seen[1] > 50,
            "both outcomes tried: {seen:?}"
        );
        let nulls = df!("s" => [Some("a"), None], "r" => [1i64, 2]).unwrap();
        assert!(!in_key_order(&nulls, &key).unwrap());
        let float = df!("s" => ["a", "b"], "r" => [1.0f64, 2.0]).unwrap();
        assert!(!in_key_order(&float, &key).unwrap());
        // Booleans (false before true), dates and small integers.
        let flags = df!("s" => ["a", "a", "b"], "r" => [false, true, true]).unwrap();
        assert!(in_key_order(&flags, &key).unwrap());
        let repeated = df!("s" => ["a", "a", "a"], "r" => [false, true, true]).unwrap();
        assert!(!in_key_order(&repeated, &key).unwrap());
        let flags = df!("s" => ["a", "a"], "r" => [true, false]).unwrap();
        assert!(!in_key_order(&flags, &key).unwrap());
        let days = |d: [i32; 3]| {
            DataFrame::new(
                3,
                vec![
                    Column::new("s".into(), ["a", "a", "b"]),
                    Int32Chunked::from_slice("r".into(), &d)
                        .into_date()
                        .into_column(),
                ],
            )
            .unwrap()
        };
        assert!(in_key_order(&days([-5, 7, -9]), &key).unwrap());
        assert!(!in_key_order(&days([7, -5, 0]), &key).unwrap());
        let small = df!("s" => ["a", "a"], "r" => [200i32, 3]).unwrap();
        assert!(!in_key_order(&small, &key).unwrap());
    }
}

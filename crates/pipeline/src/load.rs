//! Finding, parsing and checking a pipeline with its schema and sources.

use crate::error::{Error, LocatedProblem};
use cohortflow_analysis::AnalysisConfig;
use cohortflow_clean::CleanConfig;
use cohortflow_cohort::CohortConfig;
use cohortflow_core::schema::{RangeCheck, Schema};
use cohortflow_core::{ConfigProblem, Spanned};
use cohortflow_derive::{DeriveConfig, EndpointConfig};
use cohortflow_ingest::{Source, SourceFile};
use polars::prelude::{Column, DataType};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// A pipeline file. Every section is documented in `docs/pipeline.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub pipeline: PipelineHeader,
    #[serde(default)]
    pub clean: CleanConfig,
    #[serde(default)]
    pub derive: DeriveConfig,
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
    #[serde(default)]
    pub cohort: CohortConfig,
    pub matching: Option<cohortflow_cohort::matching::MatchingConfig>,
    pub analysis: AnalysisConfig,
    /// `[design]`: design warnings kept on purpose, with a reason
    /// (`[[design.acknowledge]]`; docs/pipeline.md).
    #[serde(default)]
    pub design: cohortflow_cohort::design::DesignConfig,
    /// `[report]`: alpha, CI bands, a publication to compare with
    /// (cohortflow-report; docs/report.md).
    #[serde(default)]
    pub report: cohortflow_report::ReportConfig,
    /// `[regression]`: tolerances of `cohortflow check` and `cohortflow
    /// diff` per kind of field (cohortflow-regress; docs/regression.md).
    #[serde(default)]
    pub regression: cohortflow_regress::RegressionConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineHeader {
    /// Must equal the file name without `.toml`; names the run folder.
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// The canonical schema file, relative to this file.
    pub schema: Spanned<String>,
    /// Source files, relative to this file, in priority order (linkage ties
    /// go to the first).
    pub sources: Vec<Spanned<String>>,
    /// Columns that identify a cohort row whatever the order of rows in the
    /// exports. The cohort is sorted by them before matching and analysis,
    /// and matching ties are broken in that order. The default
    /// `["source", "source_row"]` depends on the row order in the files.
    #[serde(default = "default_row_key")]
    pub row_key: Spanned<Vec<String>>,
    /// Which stage tables the run writes as Parquet: "all" (default),
    /// "cohort" or "none"; `--stages` overrides it.
    #[serde(default)]
    pub stage_tables: crate::run::StageTables,
}

fn default_row_key() -> Spanned<Vec<String>> {
    Spanned::new(0..0, vec!["source".into(), "source_row".into()])
}

/// A pipeline with everything it refers to, checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub text: String,
    pub file: PipelineFile,
    pub schema_path: PathBuf,
    pub schema: Schema,
    pub sources: Vec<Source>,
    /// The schema's plausible ranges, resolved against the data cut-off
    /// (applied by the clean stage).
    pub ranges: Vec<RangeCheck>,
    /// Labels, units, level order and Table 1 summaries of the columns
    /// (the schema's, with `[report.variables]`): `results.json` `labels`.
    pub labels: cohortflow_core::schema::Labels,
}

impl Loaded {
    pub fn name(&self) -> &str {
        self.file.pipeline.name.get_ref()
    }

    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.config.name.clone()).collect()
    }

    /// Every declared endpoint, by name (alphabetical: `[endpoints.<name>]`
    /// tables are a map). The analysis takes its own order from
    /// `analysis.endpoints`.
    pub fn endpoints(&self) -> Vec<(String, EndpointConfig)> {
        self.file
            .endpoints
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The pipeline file for `name_or_path`: a path to an existing `.toml` file,
/// or the name of a file `<pipelines_dir>/<name>.toml`.
pub fn locate(name_or_path: &str, pipelines_dir: &Path) -> Result<PathBuf, Error> {
    let as_path = Path::new(name_or_path);
    if as_path.extension().is_some_and(|e| e == "toml") || name_or_path.contains('/') {
        if as_path.is_file() {
            return Ok(as_path.to_path_buf());
        }
        return Err(Error::io(as_path, "no such pipeline file"));
    }
    let candidate = pipelines_dir.join(format!("{name_or_path}.toml"));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let known: Vec<String> = list(pipelines_dir)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if !pipelines_dir.is_dir() {
        // Says where the folder was looked for, and what to do.
        list(pipelines_dir)?;
    }
    Err(Error::io(
        &candidate,
        format!(
            "no pipeline named '{name_or_path}'; known pipelines: {} (or give a path to a .toml file)",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// Named pipelines in a folder with their descriptions, sorted by name. A
/// file that does not parse is listed with the reason.
pub fn list(pipelines_dir: &Path) -> Result<Vec<(String, String)>, Error> {
    #[derive(Deserialize)]
    struct HeaderOnly {
        pipeline: Header,
    }
    #[derive(Deserialize)]
    struct Header {
        #[serde(default)]
        description: String,
    }
    let entries = std::fs::read_dir(pipelines_dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::io(
                pipelines_dir,
                format!(
                    "no folder of pipelines here ({}): run cohortflow from the project's folder \
                     (the one that holds pipelines/), or name the folder with --pipelines DIR",
                    std::env::current_dir().map_or_else(
                        |_| "the working directory".into(),
                        |d| d.display().to_string()
                    )
                ),
            )
        } else {
            Error::io(pipelines_dir, e)
        }
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(pipelines_dir, e))?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let description = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<HeaderOnly>(&t).map_err(|e| e.message().to_string()))
        {
            Ok(h) => h.pipeline.description,
            Err(e) => format!("(does not parse: {e})"),
        };
        out.push((name, description));
    }
    out.sort();
    Ok(out)
}

/// Reads and checks a pipeline, its schema and its sources. Returns every
/// problem found, not only the first; reads no data file.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let path = normalize(path);
    let text = read(&path)?;
    let file: PipelineFile = parse(&path, &text)?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut problems = Vec::new();
    let place = |problems: &mut Vec<LocatedProblem>, file: &Path, text: &str, p: ConfigProblem| {
        problems.push(located(file, text, p));
    };

    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    if file.pipeline.name.get_ref() != &*stem {
        place(
            &mut problems,
            &path,
            &text,
            ConfigProblem::new(
                "pipeline.name",
                Some(file.pipeline.name.span()),
                format!(
                    "the name '{}' differs from the file name '{stem}'",
                    file.pipeline.name.get_ref()
                ),
                format!("name = \"{stem}\" (the name is how `cohortflow run` finds the file)"),
            ),
        );
    }

    let schema_path = normalize(&dir.join(file.pipeline.schema.get_ref()));
    if !schema_path.is_file() {
        place(
            &mut problems,
            &path,
            &text,
            ConfigProblem::new(
                "pipeline.schema",
                Some(file.pipeline.schema.span()),
                format!("schema file {} does not exist", schema_path.display()),
                "a path relative to the pipeline file",
            ),
        );
        return Err(Error::Config(problems));
    }
    let schema = read(&schema_path).and_then(|t| parse::<Schema>(&schema_path, &t).map(|s| (s, t)));
    let (schema, schema_text) = match schema {
        Ok(s) => s,
        Err(Error::Config(mut p)) => {
            problems.append(&mut p);
            return Err(Error::Config(problems));
        }
        Err(e) => return Err(e),
    };
    for (i, message) in schema.problems() {
        problems.push(LocatedProblem {
            file: schema_path.clone(),
            line: None,
            column: None,
            key: format!("column[{i}]"),
            message,
            expected: String::new(),
        });
    }
    // `not_after = "admin_censor"` is the data cut-off: the latest
    // administrative cut-off the pipeline's endpoints declare.
    let cutoff = file
        .endpoints
        .values()
        .filter_map(|e| e.admin_censor.as_ref())
        .filter_map(|d| {
            cohortflow_derive::parse_cutoff(d.get_ref())
                .ok()
                .map(|k| (k, d.get_ref().as_str()))
        })
        .max_by_key(|(k, _)| *k);
    let (ranges, range_problems) = schema.range_checks(cutoff);
    for (i, e) in range_problems {
        let problem = ConfigProblem::new(
            format!("column[{i}].{}", e.key),
            schema.columns[i].range_span(e.key),
            e.message,
            "min / max: numbers for a number column, dates \"YYYY-MM-DD\" for a date column; \
             not_after (dates only): \"admin_censor\" or a date",
        );
        place(&mut problems, &schema_path, &schema_text, problem);
    }

    let mut sources = Vec::new();
    for (i, s) in file.pipeline.sources.iter().enumerate() {
        let source_path = normalize(&dir.join(s.get_ref()));
        if !source_path.is_file() {
            place(
                &mut problems,
                &path,
                &text,
                ConfigProblem::new(
                    format!("pipeline.sources[{i}]"),
                    Some(s.span()),
                    format!("source file {} does not exist", source_path.display()),
                    "a path relative to the pipeline file",
                ),
            );
            continue;
        }
        let source_text = match read(&source_path) {
            Ok(t) => t,
            Err(Error::Config(mut p)) => {
                problems.append(&mut p);
                continue;
            }
            Err(e) => return Err(e),
        };
        let parsed: SourceFile = match parse(&source_path, &source_text) {
            Ok(p) => p,
            Err(Error::Config(mut p)) => {
                problems.append(&mut p);
                continue;
            }
            Err(e) => return Err(e),
        };
        let source = Source {
            config: parsed.source,
            file: source_path.clone(),
            text: source_text,
        };
        for p in cohortflow_ingest::validate(&source, &schema) {
            place(&mut problems, &source_path, &source.text, p);
        }
        if sources
            .iter()
            .any(|o: &Source| o.config.name == source.config.name)
        {
            place(
                &mut problems,
                &source_path,
                &source.text,
                ConfigProblem::new(
                    "source.name",
                    None,
                    format!("two sources are named '{}'", source.config.name),
                    "a unique name per source",
                ),
            );
        }
        sources.push(source);
    }
    if file.pipeline.sources.is_empty() {
        place(
            &mut problems,
            &path,
            &text,
            ConfigProblem::new(
                "pipeline.sources",
                None,
                "no source is listed",
                "sources = [\"sources/<centre>.toml\", ...]",
            ),
        );
    }

    // Each stage is checked against the table shape the previous one leaves.
    let names: Vec<String> = sources.iter().map(|s| s.config.name.clone()).collect();
    let mut frame = schema.empty_frame(&names);
    for p in cohortflow_clean::validate(&file.clean, &frame) {
        place(&mut problems, &path, &text, p);
    }
    let _ = frame.with_column(Column::new_empty(
        cohortflow_clean::FLAGS.into(),
        &DataType::String,
    ));
    let endpoints: Vec<(String, EndpointConfig)> = file
        .endpoints
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (mut frame, derive_problems) =
        cohortflow_derive::validate(&file.derive, &endpoints, &frame);
    for p in explain_derive_order(&file.derive, derive_problems) {
        place(&mut problems, &path, &text, p);
    }
    for p in cohortflow_cohort::validate(&file.cohort, &frame) {
        place(&mut problems, &path, &text, p);
    }
    for p in cohortflow_cohort::design::validate_design(&file.design, &file.cohort) {
        place(&mut problems, &path, &text, p);
    }
    let _ = frame.with_column(Column::new_empty(
        cohortflow_cohort::ARM.into(),
        &DataType::String,
    ));
    for k in file.pipeline.row_key.get_ref() {
        if frame.column(k).is_err() {
            place(
                &mut problems,
                &path,
                &text,
                ConfigProblem::new(
                    "pipeline.row_key",
                    Some(file.pipeline.row_key.span()),
                    cohortflow_core::expr::unknown_column(k, &frame),
                    "columns that identify a row, e.g. [\"source\", \"patient_id\"]",
                ),
            );
        }
    }
    let arms: Vec<String> = file.cohort.arms.iter().map(|a| a.name.clone()).collect();
    if let Some(r) = &file.analysis.reference_arm
        && !arms.contains(r.get_ref())
    {
        place(
            &mut problems,
            &path,
            &text,
            ConfigProblem::new(
                "analysis.reference_arm",
                Some(r.span()),
                format!("unknown arm '{}'", r.get_ref()),
                format!("one of the arms: {}", arms.join(", ")),
            ),
        );
    }
    if let Some(m) = &file.matching {
        for p in cohortflow_cohort::matching::validate(m, &frame, &arms) {
            place(&mut problems, &path, &text, p);
        }
    }
    let endpoint_names: Vec<String> = endpoints.iter().map(|(k, _)| k.clone()).collect();
    for p in cohortflow_analysis::validate(&file.analysis, &endpoint_names, &frame) {
        place(&mut problems, &path, &text, p);
    }
    // The landmark and the time-varying model count time from each
    // endpoint's origin date: an endpoint declared by a time and a status
    // has none.
    for (key, declared) in [
        ("analysis.landmark", file.analysis.landmark.is_some()),
        (
            "analysis.time_varying",
            file.analysis.time_varying.is_some(),
        ),
    ] {
        for name in file.analysis.endpoints.get_ref() {
            if declared
                && endpoints
                    .iter()
                    .any(|(n, ep)| n == name && ep.is_time_and_status())
            {
                place(
                    &mut problems,
                    &path,
                    &text,
                    ConfigProblem::new(
                        key,
                        None,
                        format!(
                            "endpoint '{name}' is declared by a time and a status, without an origin date; this analysis counts time from the exposure date and needs the endpoint's dates"
                        ),
                        "declare the endpoint by its dates (origin, events, censor), or remove this analysis",
                    ),
                );
            }
        }
    }

    // [report.variables]: labels of columns the cohort has.
    for name in file.report.variables.keys() {
        if frame.column(name).is_err() {
            place(
                &mut problems,
                &path,
                &text,
                ConfigProblem::new(
                    format!("report.variables.{name}"),
                    None,
                    cohortflow_core::expr::unknown_column(name, &frame),
                    "a column of the schema or a derived column",
                ),
            );
        }
    }

    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }
    let numeric = |name: &str| {
        frame
            .column(name)
            .is_ok_and(|c| c.dtype().is_primitive_numeric())
    };
    let declared: Vec<(String, cohortflow_core::schema::VariableDecl)> = file
        .report
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let labels =
        cohortflow_core::schema::Labels::new(&schema, &declared, &numeric, file.report.summary);
    Ok(Loaded {
        path,
        text,
        file,
        schema_path,
        schema,
        sources,
        ranges,
        labels,
    })
}

/// Derived columns are evaluated in order, so an expression that names its
/// own column or a later one fails as an "unknown column". Says instead what
/// is wrong: a self-reference, a column derived later (with the order that
/// would work), a cycle, or a column whose own definition failed.
fn explain_derive_order(
    cfg: &cohortflow_derive::DeriveConfig,
    problems: Vec<ConfigProblem>,
) -> Vec<ConfigProblem> {
    let columns = &cfg.columns;
    let uses = |i: usize| -> Vec<String> {
        cohortflow_core::expr::compile(columns[i].expr.get_ref())
            .map(|e| {
                e.meta()
                    .root_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let position = |name: &str| columns.iter().position(|c| c.name == name);
    let failed: Vec<usize> = (0..columns.len())
        .filter(|i| {
            problems
                .iter()
                .any(|p| p.key == format!("derive.column[{i}].expr"))
        })
        .collect();
    problems
        .into_iter()
        .map(|mut p| {
            let Some(i) = failed
                .iter()
                .copied()
                .find(|i| p.key == format!("derive.column[{i}].expr"))
            else {
                return p;
            };
            let name = &columns[i].name;
            let used = uses(i);
            let expected = "an expression over the schema's columns and the derived columns \
                            declared before it (derived columns are computed in order)";
            if used.iter().any(|u| u == name) {
                p.message = format!(
                    "'{name}' refers to itself: a derived column cannot be computed from its own \
                     value (a cycle)"
                );
                p.expected = expected.into();
            } else if let Some((u, j)) = used
                .iter()
                .find_map(|u| position(u).filter(|&j| j > i).map(|j| (u, j)))
            {
                p.message = if uses(j).iter().any(|v| v == name) {
                    format!(
                        "'{name}' uses '{u}', which is derived later (derive.column[{j}]), and \
                         '{u}' uses '{name}': a cycle, which no order can compute"
                    )
                } else {
                    format!(
                        "'{name}' uses '{u}', which is derived later (derive.column[{j}]); \
                         derived columns are computed in order: move derive.column[{j}] above \
                         derive.column[{i}]"
                    )
                };
                p.expected = expected.into();
            } else if let Some((u, j)) = used.iter().find_map(|u| {
                position(u)
                    .filter(|j| *j < i && failed.contains(j))
                    .map(|j| (u, j))
            }) {
                p.message = format!(
                    "'{name}' uses '{u}', whose own definition has a problem (derive.column[{j}])"
                );
                p.expected = format!("fix derive.column[{j}] first");
            }
            p
        })
        .collect()
}

/// Reads a TOML file. A file that is not UTF-8 (say, saved in
/// windows-1251) is a located problem: the line and column of the first byte
/// that is not UTF-8, and how to re-save the file.
fn read(path: &Path) -> Result<String, Error> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let not_utf8 = |line: usize, column: usize, message: String| {
        Error::Config(vec![LocatedProblem {
            file: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key: String::new(),
            message,
            expected: "re-save the file as UTF-8 (TOML files are always UTF-8)".into(),
        }])
    };
    // A UTF-8 byte-order mark (Windows editors write one) is not text.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(not_utf8(
            1,
            1,
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark)".into(),
        ));
    }
    // UTF-16 without a mark: ASCII text with a zero byte beside every letter.
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let before = String::from_utf8_lossy(&bytes[..at]);
        let (line, column) = line_col(&before, before.len());
        return Err(not_utf8(
            line,
            column,
            "the file contains a zero byte: is it UTF-16 (\"Unicode\" in Windows editors)?".into(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, column) = line_col(before, before.len());
        Error::Config(vec![LocatedProblem {
            file: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key: String::new(),
            message: format!(
                "the file is not UTF-8: byte 0x{:02X} here is not part of a UTF-8 character \
                 (was it saved in windows-1251 or another legacy encoding?)",
                bytes[valid]
            ),
            expected: "re-save the file as UTF-8 (TOML files are always UTF-8), e.g. \
                       `iconv -f windows-1251 -t utf-8 OLD > NEW`"
                .into(),
        }])
    })
}

/// Parses a TOML file into `T`; a syntax error, an unknown key, a missing
/// key or a wrong type becomes a located problem.
fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, Error> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((None, None), |s| {
            let (l, c) = line_col(text, s.start);
            (Some(l), Some(c))
        });
        Error::Config(vec![LocatedProblem {
            file: path.to_path_buf(),
            line,
            column,
            key: String::new(),
            message: e.message().trim().to_string(),
            expected: String::new(),
        }])
    })
}

fn located(file: &Path, text: &str, p: ConfigProblem) -> LocatedProblem {
    // A 0..0 span is a default value (the key was absent): no line to show.
    let span = p.span.filter(|s| !(s.start == 0 && s.end == 0));
    let (line, column) = span.map_or((None, None), |s| {
        let (l, c) = line_col(text, s.start);
        (Some(l), Some(c))
    });
    LocatedProblem {
        file: file.to_path_buf(),
        line,
        column,
        key: p.key,
        message: p.message,
        expected: p.expected,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Removes `.` and `a/..` from a path without touching the file system, so
/// paths in messages and in the manifest stay short and relative.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_offsets() {
        let t = "a = 1\nб = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        // 'б' is two bytes: the '=' after "б " is the third character.
        assert_eq!(line_col(t, 9), (2, 3));
    }

    #[test]
    fn a_file_that_is_not_utf8_is_placed_at_its_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.toml");
        // "# Центр" in windows-1251 on line 2, after "# ".
        let mut bytes = b"[source]\n# ".to_vec();
        bytes.extend([0xD6, 0xE5, 0xED, 0xF2, 0xF0]);
        bytes.extend(b"\nname = \"x\"\n");
        std::fs::write(&path, bytes).unwrap();
        let Err(Error::Config(p)) = read(&path) else {
            panic!("not a located problem")
        };
        assert_eq!((p[0].line, p[0].column), (Some(2), Some(3)));
        assert!(p[0].message.contains("0xD6"), "{}", p[0].message);
        assert!(p[0].expected.contains("UTF-8"), "{}", p[0].expected);
    }

    #[test]
    fn utf16_toml_files_are_named_as_such_and_a_utf8_bom_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.toml");
        let utf16 = |bom: &[u8]| {
            let mut b = bom.to_vec();
            for u in "[source]\n".encode_utf16() {
                b.extend(u.to_le_bytes());
            }
            b
        };
        for (bytes, line, column, says) in [
            (utf16(&[0xFF, 0xFE]), 1, 1, "UTF-16"),
            (utf16(&[]), 1, 2, "zero byte"),
        ] {
            std::fs::write(&path, bytes).unwrap();
            let Err(Error::Config(p)) = read(&path) else {
                panic!("not a located problem")
            };
            assert_eq!((p[0].line, p[0].column), (Some(line), Some(column)));
            assert!(p[0].message.contains(says), "{}", p[0].message);
        }
        std::fs::write(&path, b"\xEF\xBB\xBF[source]\n").unwrap();
        assert_eq!(read(&path).unwrap(), "[source]\n");
    }

    #[test]
    fn range_bounds_are_numbers_quoted_dates_or_toml_dates() {
        use cohortflow_core::schema::Limit;
        let text = "name = \"s\"\n\
                    [[column]]\nname = \"d\"\ntype = \"date\"\nmin = 1900-01-01\nmax = \"2023-06-30\"\n\
                    [[column]]\nname = \"n\"\ntype = \"integer\"\nmin = 1\nmax = 2.5\n";
        let schema: Schema = parse(Path::new("s.toml"), text).unwrap();
        let limit = |c: usize, max: bool| {
            let l = if max {
                &schema.columns[c].max
            } else {
                &schema.columns[c].min
            };
            l.as_ref().unwrap().get_ref().clone()
        };
        assert_eq!(limit(0, false), Limit::Text("1900-01-01".into()));
        assert_eq!(limit(0, true), Limit::Text("2023-06-30".into()));
        assert_eq!(limit(1, false), Limit::Number(1.0));
        assert_eq!(limit(1, true), Limit::Number(2.5));
        let (checks, problems) = schema.range_checks(None);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(checks.len(), 2);
        let bad = "name = \"s\"\n[[column]]\nname = \"n\"\ntype = \"integer\"\nmin = [1]\n";
        let Err(Error::Config(p)) = parse::<Schema>(Path::new("s.toml"), bad) else {
            panic!("a list is not a bound")
        };
        assert_eq!(p[0].line, Some(5));
        assert!(
            p[0].message.contains("a number, or a date"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("pipelines/sources/../../fixtures/./a.csv")),
            PathBuf::from("fixtures/a.csv")
        );
        assert_eq!(normalize(Path::new("../x/../y")), PathBuf::from("../y"));
    }
}

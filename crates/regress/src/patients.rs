//! Patients entering, leaving or changing at each stage between two runs.
//!
//! Rows are matched by the pipeline's row key (`[pipeline] row_key`), never
//! by position, so reordering an export changes nothing. What a row became
//! in each run (its status: in an arm, rejected by a rule, excluded by a
//! criterion) is read from the stage tables and `rejects.csv`; the criterion
//! that excluded a row is found by evaluating the pipeline's criteria (from
//! the manifest) on `derive.parquet`. Rows are named by source and line;
//! the row keys themselves, which identify patients, go only to the keys
//! file ([`write_keys`]).

use crate::Error;
use crate::folder::{RunFolder, Table};
use cohortflow_core::table::{SOURCE, SOURCE_ROW};
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The arm column the cohort stage adds.
const ARM: &str = "arm";

type Key = Vec<String>;

/// Rows in and out of each stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Patients {
    /// False when a side has no stage tables (a baseline keeps none) or the
    /// two runs' row keys differ; `note` says why.
    pub compared: bool,
    pub note: Option<String>,
    pub row_key: Vec<String>,
    pub warnings: Vec<String>,
    pub stages: Vec<StageCount>,
    pub rows: Vec<RowChange>,
    /// Rows refused before they had a row key (at ingest), compared by
    /// count per source and reason.
    pub rejected_without_key: Vec<KeylessChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageCount {
    pub stage: String,
    pub entered: usize,
    pub left: usize,
    pub changed: usize,
    /// Columns of the stage table in one run only (a new derived column,
    /// a schema change). Rows are compared on the columns both have.
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
}

/// One row that entered, left or changed somewhere. Named by source and
/// line; `key` (the row key's values) is never serialised or printed.
#[derive(Debug, Clone, Serialize)]
pub struct RowChange {
    pub source: String,
    pub old_line: Option<i64>,
    pub new_line: Option<i64>,
    /// What the row was in each run: `arm S`, `rejected at clean: <rule>`,
    /// `excluded at cohort: <criterion>`, `absent`.
    pub old: String,
    pub new: String,
    pub entered: Vec<String>,
    pub left: Vec<String>,
    pub changed: Vec<StageColumns>,
    #[serde(skip)]
    pub key: Key,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageColumns {
    pub stage: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeylessChange {
    pub source: String,
    pub stage: String,
    pub rule: String,
    pub old: usize,
    pub new: usize,
    pub old_lines: Vec<i64>,
    pub new_lines: Vec<i64>,
}

impl Patients {
    pub fn moved(&self) -> bool {
        !self.rows.is_empty() || !self.rejected_without_key.is_empty()
    }

    pub fn not_compared(note: impl Into<String>) -> Patients {
        Patients {
            note: Some(note.into()),
            ..Patients::default()
        }
    }
}

/// One run's rows, by key, at each stage.
struct Rows {
    stages: Vec<Stage>,
    /// Source and line of each key (from the first stage that has it).
    place: HashMap<Key, (String, i64)>,
    status: HashMap<Key, String>,
    keyless: Vec<(String, String, String, i64)>,
}

struct Stage {
    name: String,
    frame: DataFrame,
    index: HashMap<Key, usize>,
}

/// Compares the rows of two runs.
pub fn compare(old: &RunFolder, new: &RunFolder) -> Result<Patients, Error> {
    if old.stages.is_empty() || new.stages.is_empty() {
        return Ok(Patients::not_compared(
            "not compared row by row: a baseline keeps counts, not patient rows (the ledger, \
             attrition and estimates below are compared)",
        ));
    }
    let key = new.row_key();
    if old.row_key() != key {
        return Ok(Patients::not_compared(format!(
            "not compared row by row: the row keys differ (old: {}; new: {})",
            old.row_key().join(", "),
            key.join(", ")
        )));
    }
    let mut warnings = Vec::new();
    for (run, which) in [(old, "old"), (new, "new")] {
        let missing: Vec<&str> = ["ingest", "clean", "derive"]
            .into_iter()
            .filter(|s| !run.stages.iter().any(|(n, _)| n == s))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "the {which} run has no {} table (written with `--stages cohort` or `none`, or \
                 `stage_tables` in [pipeline]): rows that left before the cohort are traced \
                 only as far as the tables it has; rerun with `--stages all` to trace every row",
                missing.join(", ")
            ));
        }
    }
    if key.iter().any(|k| k == SOURCE_ROW) {
        warnings.push(
            "the row key includes source_row (the pipeline declares no `row_key`): rows are \
             matched by their line in the export, so reordering an export shows as changes; \
             declare `row_key` in [pipeline], e.g. [\"source\", \"patient_id\"]"
                .to_string(),
        );
    }
    let a = rows(old, &key, &mut warnings)?;
    let b = rows(new, &key, &mut warnings)?;
    warnings.dedup();

    let mut all_keys: Vec<&Key> = a.place.keys().chain(b.place.keys()).collect();
    all_keys.sort();
    all_keys.dedup();

    let common: Vec<&str> = a
        .stages
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| b.stages.iter().any(|t| t.name == *n))
        .collect();
    let mut counts: Vec<StageCount> = common
        .iter()
        .map(|s| {
            let names = |r: &Rows| -> Vec<String> {
                r.stages
                    .iter()
                    .find(|t| t.name == *s)
                    .map(|t| {
                        t.frame
                            .get_column_names()
                            .iter()
                            .map(|n| n.to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (old_cols, new_cols) = (names(&a), names(&b));
            StageCount {
                stage: s.to_string(),
                entered: 0,
                left: 0,
                changed: 0,
                columns_added: new_cols
                    .iter()
                    .filter(|c| !old_cols.contains(c))
                    .cloned()
                    .collect(),
                columns_removed: old_cols
                    .iter()
                    .filter(|c| !new_cols.contains(c))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    let absent = "absent".to_string();
    let mut changes = Vec::new();
    for k in all_keys {
        let mut change = RowChange {
            source: a
                .place
                .get(k)
                .or(b.place.get(k))
                .map(|p| p.0.clone())
                .unwrap_or_default(),
            old_line: a.place.get(k).map(|p| p.1),
            new_line: b.place.get(k).map(|p| p.1),
            old: a.status.get(k).unwrap_or(&absent).clone(),
            new: b.status.get(k).unwrap_or(&absent).clone(),
            entered: Vec::new(),
            left: Vec::new(),
            changed: Vec::new(),
            key: k.clone(),
        };
        for (c, name) in counts.iter_mut().zip(&common) {
            let sa = a.stages.iter().find(|s| s.name == *name).expect("common");
            let sb = b.stages.iter().find(|s| s.name == *name).expect("common");
            match (sa.index.get(k), sb.index.get(k)) {
                (None, Some(_)) => {
                    c.entered += 1;
                    change.entered.push(name.to_string());
                }
                (Some(_), None) => {
                    c.left += 1;
                    change.left.push(name.to_string());
                }
                (Some(&i), Some(&j)) => {
                    let columns = changed_columns(&sa.frame, i, &sb.frame, j);
                    if !columns.is_empty() {
                        c.changed += 1;
                        change.changed.push(StageColumns {
                            stage: name.to_string(),
                            columns,
                        });
                    }
                }
                (None, None) => {}
            }
        }
        if !change.entered.is_empty()
            || !change.left.is_empty()
            || !change.changed.is_empty()
            || change.old != change.new
        {
            changes.push(change);
        }
    }
    changes.sort_by(|x, y| {
        (&x.source, x.new_line.or(x.old_line), x.old_line).cmp(&(
            &y.source,
            y.new_line.or(y.old_line),
            y.old_line,
        ))
    });
    Ok(Patients {
        compared: true,
        note: None,
        row_key: key,
        warnings,
        stages: counts,
        rows: changes,
        rejected_without_key: keyless_changes(&a.keyless, &b.keyless),
    })
}

/// Columns (other than source_row) whose values differ between row `i` of
/// `a` and row `j` of `b`, among the columns both tables have (the others
/// are reported once per stage).
fn changed_columns(a: &DataFrame, i: usize, b: &DataFrame, j: usize) -> Vec<String> {
    let mut out = Vec::new();
    for col in b.columns() {
        let name = col.name().as_str();
        if name == SOURCE_ROW {
            continue;
        }
        if let Ok(old) = a.column(name)
            && old.get(i).ok() != col.get(j).ok()
        {
            out.push(name.to_string());
        }
    }
    out
}

fn keyless_changes(
    a: &[(String, String, String, i64)],
    b: &[(String, String, String, i64)],
) -> Vec<KeylessChange> {
    type Group = (Vec<i64>, Vec<i64>);
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for (side, list) in [(0, a), (1, b)] {
        for (source, stage, rule, line) in list {
            let g = groups
                .entry((source.clone(), stage.clone(), rule.clone()))
                .or_default();
            if side == 0 {
                g.0.push(*line);
            } else {
                g.1.push(*line);
            }
        }
    }
    groups
        .into_iter()
        .filter(|(_, (o, n))| o.len() != n.len())
        .map(|((source, stage, rule), (mut o, mut n))| {
            o.sort();
            n.sort();
            KeylessChange {
                source,
                stage,
                rule,
                old: o.len(),
                new: n.len(),
                old_lines: o,
                new_lines: n,
            }
        })
        .collect()
}

/// A cell as text, for keys: strings bare, null empty.
fn text(v: AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        ref v if v.get_str().is_some() => v.get_str().unwrap_or_default().to_string(),
        other => other.to_string(),
    }
}

fn polars_error(path: &Path, what: &str) -> impl Fn(PolarsError) -> Error {
    move |e| Error::new(path, format!("{what}: {e}"))
}

fn rows(run: &RunFolder, key: &[String], warnings: &mut Vec<String>) -> Result<Rows, Error> {
    let mut stages = Vec::new();
    for (name, frame) in &run.stages {
        let file = run.path.join(format!("{name}.parquet"));
        let mut columns = Vec::new();
        for k in key {
            columns.push(frame.column(k).map_err(|_| {
                Error::new(
                    &file,
                    format!(
                        "has no column '{k}' of the row key; the run folder is incomplete or \
                         from another version"
                    ),
                )
            })?);
        }
        let mut index = HashMap::new();
        let mut repeated = 0usize;
        for i in 0..frame.height() {
            let mut k: Key = columns
                .iter()
                .map(|c| c.get(i).map(text))
                .collect::<PolarsResult<_>>()
                .map_err(polars_error(&file, "reading the row key"))?;
            if index.contains_key(&k) {
                repeated += 1;
                let base = k.clone();
                let mut n = 2;
                loop {
                    k = base.clone();
                    k.push(format!("#{n}"));
                    if !index.contains_key(&k) {
                        break;
                    }
                    n += 1;
                }
            }
            index.insert(k, i);
        }
        if repeated > 0 {
            warnings.push(format!(
                "{name}: {repeated} row(s) share a row key with an earlier row; they are matched \
                 by their order in the stage table"
            ));
        }
        stages.push(Stage {
            name: name.clone(),
            frame: frame.clone(),
            index,
        });
    }

    // Source and line of each key, and the key of each (source, line).
    let mut place: HashMap<Key, (String, i64)> = HashMap::new();
    let mut by_line: HashMap<(String, i64), Key> = HashMap::new();
    for s in &stages {
        let file = run.path.join(format!("{}.parquet", s.name));
        let src = s
            .frame
            .column(SOURCE)
            .map_err(polars_error(&file, "provenance"))?;
        let line = s
            .frame
            .column(SOURCE_ROW)
            .map_err(polars_error(&file, "provenance"))?;
        for (k, &i) in &s.index {
            if place.contains_key(k) {
                continue;
            }
            let source = src.get(i).map(text).unwrap_or_default();
            let row = line.get(i).map(text).unwrap_or_default();
            let row: i64 = row.parse().unwrap_or(0);
            by_line.insert((source.clone(), row), k.clone());
            place.insert(k.clone(), (source, row));
        }
    }

    // Rejects: keyed through the line when the row reached a stage table.
    let mut rejected: HashMap<(String, i64, String), String> = HashMap::new();
    let mut keyless = Vec::new();
    if let Some(t) = &run.rejects {
        for r in reject_rows(t) {
            let (source, line, stage, rule) = r;
            if by_line.contains_key(&(source.clone(), line)) {
                rejected.insert((source, line, stage), rule);
            } else {
                keyless.push((source, stage, rule, line));
            }
        }
    }

    let exclusion = exclusion_reasons(run, &stages);
    let mut status = HashMap::new();
    for (k, (source, line)) in &place {
        let present: Vec<bool> = stages.iter().map(|s| s.index.contains_key(k)).collect();
        let Some(last) = present.iter().rposition(|p| *p) else {
            continue;
        };
        let arm = |stage: &Stage| -> String {
            stage
                .frame
                .column(ARM)
                .ok()
                .and_then(|c| c.get(stage.index[k]).ok().map(text))
                .unwrap_or_default()
        };
        let here = &stages[last];
        let s = match stages.get(last + 1) {
            None if here.name == "matched" => format!("matched, arm {}", arm(here)),
            None if here.name == "cohort" => format!("arm {}", arm(here)),
            None => format!("in {}", here.name),
            Some(next) if next.name == "matched" => format!("arm {}, not matched", arm(here)),
            Some(next) => match rejected.get(&(source.clone(), *line, next.name.clone())) {
                Some(rule) => format!("rejected at {}: {rule}", next.name),
                None if next.name == "cohort" => match exclusion.get(&here.index[k]) {
                    Some(reason) => format!("excluded at cohort: {reason}"),
                    None => "excluded at cohort".to_string(),
                },
                None => format!("not in {}", next.name),
            },
        };
        status.insert(k.clone(), s);
    }
    Ok(Rows {
        stages,
        place,
        status,
        keyless,
    })
}

/// (source, source_row, stage, rule) of each reject.
fn reject_rows(t: &Table) -> Vec<(String, i64, String, String)> {
    let (Some(s), Some(l), Some(st), Some(r)) = (
        t.column("source"),
        t.column("source_row"),
        t.column("stage"),
        t.column("rule"),
    ) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .filter_map(|row| {
            Some((
                row.get(s)?.clone(),
                row.get(l)?.parse().ok()?,
                row.get(st)?.clone(),
                row.get(r)?.clone(),
            ))
        })
        .collect()
}

/// For each row of the derive table that is not in the cohort, the first
/// criterion it fails (`in no arm` when it passes them all), by
/// evaluating the pipeline's criteria as the manifest records them. Empty
/// when the manifest has no settings or a criterion cannot be evaluated.
fn exclusion_reasons(run: &RunFolder, stages: &[Stage]) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    let Some(derive) = stages.iter().find(|s| s.name == "derive") else {
        return out;
    };
    let criteria: Vec<(String, String)> = run
        .pipeline_settings()
        .and_then(|s| s.get("cohort")?.get("criterion")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            Some((
                c.get("name")?.as_str()?.to_string(),
                c.get("where")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut exprs = Vec::new();
    for (i, (_, sql)) in criteria.iter().enumerate() {
        match cohortflow_core::expr::compile(sql) {
            Ok(e) => exprs.push(e.fill_null(lit(false)).alias(format!("c{i}"))),
            Err(_) => return out,
        }
    }
    let Ok(masks) = derive.frame.clone().lazy().select(exprs).collect() else {
        return out;
    };
    let masks: Vec<BooleanChunked> = match masks
        .columns()
        .iter()
        .map(|c| c.bool().cloned())
        .collect::<PolarsResult<_>>()
    {
        Ok(m) => m,
        Err(_) => return out,
    };
    for i in 0..derive.frame.height() {
        let failed = masks.iter().position(|m| m.get(i) != Some(true));
        let reason = match failed {
            Some(c) => criteria[c].0.clone(),
            None => "in no arm".to_string(),
        };
        out.insert(i, reason);
    }
    out
}

/// Writes the row keys of the changed rows, with source, lines and what
/// each row was in each run, as CSV. This file identifies patients: it is
/// for the study team, not for logs or tickets.
pub fn write_keys(path: &Path, p: &Patients) -> Result<(), Error> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::new(path, e))?;
    let mut header: Vec<String> = vec!["source".into(), "old_line".into(), "new_line".into()];
    header.extend(p.row_key.iter().map(|k| format!("key:{k}")));
    header.extend(
        ["old", "new", "entered", "left", "changed"]
            .iter()
            .map(|s| s.to_string()),
    );
    w.write_record(&header).map_err(|e| Error::new(path, e))?;
    let line = |l: Option<i64>| l.map(|l| l.to_string()).unwrap_or_default();
    for r in &p.rows {
        let mut rec = vec![r.source.clone(), line(r.old_line), line(r.new_line)];
        rec.extend(r.key.iter().take(p.row_key.len()).cloned());
        rec.push(r.old.clone());
        rec.push(r.new.clone());
        rec.push(r.entered.join(" "));
        rec.push(r.left.join(" "));
        rec.push(
            r.changed
                .iter()
                .map(|c| format!("{}: {}", c.stage, c.columns.join(" ")))
                .collect::<Vec<_>>()
                .join("; "),
        );
        w.write_record(&rec).map_err(|e| Error::new(path, e))?;
    }
    w.flush().map_err(|e| Error::new(path, e))?;
    Ok(())
}

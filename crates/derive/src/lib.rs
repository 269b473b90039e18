//! The derive stage: computed columns and time-to-event endpoints.
//!
//! - Derived columns are SQL expressions evaluated by polars, in declared
//!   order, so a later column may use an earlier one.
//! - An endpoint turns dates into the `(time, event)` pair survival analysis
//!   needs: time runs from an origin date to the first of the event dates, or
//!   to the censoring date when no event happened; it is expressed in days,
//!   weeks, months (30.4375 days) or years (365.25 days). The endpoint adds
//!   `<name>_time` (float) and `<name>_event` (boolean) columns.
//! - A row whose dates cannot give an endpoint (no origin, no censoring date,
//!   an event after the last follow-up, a time before the origin) is rejected
//!   with the endpoint and the dates it was judged on.
//!
//! Depends on cohortflow-core and polars.

use cohortflow_core::expr;
use cohortflow_core::ledger::{Outcome, StageAccount};
use cohortflow_core::rejects::Reject;
use cohortflow_core::table::{self, SOURCE, SOURCE_ROW};
use cohortflow_core::{ConfigProblem, Spanned};
use polars::prelude::*;
use serde::Deserialize;

const STAGE: &str = "derive";

/// The `[derive]` section of a pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveConfig {
    #[serde(default, rename = "column")]
    pub columns: Vec<DerivedColumn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedColumn {
    pub name: String,
    /// SQL expression over the columns known at this point.
    pub expr: Spanned<String>,
}

/// One `[endpoints.<name>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Human-readable name, e.g. "Progression-free survival".
    pub label: String,
    /// Date column where time starts (the index date).
    pub origin: Spanned<String>,
    /// Date columns of the event; the earliest non-empty one counts.
    pub events: Spanned<Vec<String>>,
    /// Date column at which a row without an event is censored.
    pub censor: Spanned<String>,
    #[serde(default)]
    pub unit: TimeUnit,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Days,
    Weeks,
    #[default]
    Months,
    Years,
}

impl TimeUnit {
    /// Days in one unit. A month is 365.25 / 12 = 30.4375 days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => 30.4375,
            TimeUnit::Years => 365.25,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
            TimeUnit::Months => "months",
            TimeUnit::Years => "years",
        }
    }
}

pub fn time_column(endpoint: &str) -> String {
    format!("{endpoint}_time")
}

pub fn event_column(endpoint: &str) -> String {
    format!("{endpoint}_event")
}

pub struct Derived {
    pub frame: DataFrame,
    pub rejects: Vec<Reject>,
    pub accounts: Vec<StageAccount>,
}

/// Checks derived columns and endpoints against an (empty) table of the
/// cleaned shape, and returns the table's shape after this stage, which the
/// cohort stage is checked against.
pub fn validate(
    cfg: &DeriveConfig,
    endpoints: &[(String, EndpointConfig)],
    frame: &DataFrame,
) -> (DataFrame, Vec<ConfigProblem>) {
    let mut problems = Vec::new();
    let mut frame = frame.clone();
    for (i, c) in cfg.columns.iter().enumerate() {
        if frame.column(&c.name).is_ok() {
            problems.push(ConfigProblem::new(
                format!("derive.column[{i}].name"),
                Some(c.expr.span()),
                format!("column '{}' already exists", c.name),
                "a new column name",
            ));
            continue;
        }
        match expr::compile_checked(c.expr.get_ref(), &frame, false) {
            Ok((_, dtype)) => {
                let empty = Column::new_empty(c.name.as_str().into(), &dtype);
                let _ = frame.with_column(empty);
            }
            Err(e) => problems.push(ConfigProblem::new(
                format!("derive.column[{i}].expr"),
                Some(c.expr.span()),
                format!("column '{}': {e}", c.name),
                "a SQL expression over the columns defined so far",
            )),
        }
    }
    for (name, ep) in endpoints {
        let key = format!("endpoints.{name}");
        let date_col = |col: &str, span: std::ops::Range<usize>, what: &str| {
            let problem = |message: String, expected: &str| {
                Some(ConfigProblem::new(
                    format!("{key}.{what}"),
                    Some(span.clone()),
                    message,
                    expected,
                ))
            };
            match frame.column(col).map(|c| c.dtype().clone()) {
                Ok(DataType::Date) => None,
                Ok(other) => problem(
                    format!("column '{col}' is {other}, not a date"),
                    "a date column",
                ),
                Err(_) => problem(
                    format!("unknown column '{col}'"),
                    "a date column of the schema or a derived date column",
                ),
            }
        };
        problems.extend(date_col(ep.origin.get_ref(), ep.origin.span(), "origin"));
        problems.extend(date_col(ep.censor.get_ref(), ep.censor.span(), "censor"));
        for e in ep.events.get_ref() {
            problems.extend(date_col(e, ep.events.span(), "events"));
        }
        if ep.events.get_ref().is_empty() {
            problems.push(ConfigProblem::new(
                format!("{key}.events"),
                Some(ep.events.span()),
                "no event date column",
                "one or more date columns, e.g. events = [\"death_date\"]",
            ));
        }
        for (col, dtype) in [
            (time_column(name), DataType::Float64),
            (event_column(name), DataType::Boolean),
        ] {
            if frame.column(&col).is_ok() {
                problems.push(ConfigProblem::new(
                    key.clone(),
                    None,
                    format!("endpoint '{name}' would overwrite column '{col}'"),
                    "another endpoint name",
                ));
            }
            let _ = frame.with_column(Column::new_empty(col.into(), &dtype));
        }
    }
    (frame, problems)
}

/// Adds the derived columns, then the endpoints, rejecting rows whose dates
/// cannot give an endpoint.
pub fn derive(
    cfg: &DeriveConfig,
    endpoints: &[(String, EndpointConfig)],
    frame: DataFrame,
    sources: &[String],
) -> PolarsResult<Derived> {
    let mut accounts = table::open_accounts(STAGE, &frame, sources)?;
    let mut lf = frame.lazy();
    for c in &cfg.columns {
        let e = expr::compile(c.expr.get_ref()).map_err(|e| polars_err!(ComputeError: "{e}"))?;
        lf = lf.with_column(e.alias(c.name.as_str()));
    }
    let mut frame = lf.collect()?;

    // Per row, the first reason it cannot have every endpoint (None = fine).
    let mut reason: Vec<Option<(String, Vec<String>)>> = vec![None; frame.height()];
    for (name, ep) in endpoints {
        let days = |col: &str| -> PolarsResult<Int32Chunked> {
            Ok(frame.column(col)?.cast(&DataType::Int32)?.i32()?.clone())
        };
        let origin = days(ep.origin.get_ref())?;
        let censor = days(ep.censor.get_ref())?;
        let events: Vec<Int32Chunked> = ep
            .events
            .get_ref()
            .iter()
            .map(|c| days(c))
            .collect::<PolarsResult<_>>()?;
        let involved: Vec<String> = std::iter::once(ep.origin.get_ref().clone())
            .chain(ep.events.get_ref().iter().cloned())
            .chain(std::iter::once(ep.censor.get_ref().clone()))
            .collect();
        let mut time = Vec::with_capacity(frame.height());
        let mut event = Vec::with_capacity(frame.height());
        for i in 0..frame.height() {
            let first_event = events.iter().filter_map(|e| e.get(i)).min();
            let (t, ev, problem) = match (origin.get(i), censor.get(i), first_event) {
                (None, _, _) => (None, None, Some(format!("no {}", ep.origin.get_ref()))),
                (_, None, _) => (None, None, Some(format!("no {}", ep.censor.get_ref()))),
                (Some(_), Some(c), Some(e)) if e > c => (
                    None,
                    None,
                    Some(format!("event after {}", ep.censor.get_ref())),
                ),
                (Some(o), Some(_), Some(e)) if e < o => (
                    None,
                    None,
                    Some(format!("event before {}", ep.origin.get_ref())),
                ),
                (Some(o), Some(c), None) if c < o => (
                    None,
                    None,
                    Some(format!(
                        "{} before {}",
                        ep.censor.get_ref(),
                        ep.origin.get_ref()
                    )),
                ),
                (Some(o), Some(_), Some(e)) => (Some(e - o), Some(true), None),
                (Some(o), Some(c), None) => (Some(c - o), Some(false), None),
            };
            if let (Some(p), None) = (problem, &reason[i]) {
                reason[i] = Some((format!("endpoint {name}: {p}"), involved.clone()));
            }
            time.push(t.map(|d| f64::from(d) / ep.unit.days()));
            event.push(ev);
        }
        frame.with_column(Column::new(time_column(name).into(), time))?;
        frame.with_column(Column::new(event_column(name).into(), event))?;
    }

    let mut rejects = Vec::new();
    let mut reasons_in_order: Vec<String> = Vec::new();
    for (i, r) in reason.iter().enumerate() {
        if let Some((why, cols)) = r {
            if !reasons_in_order.contains(why) {
                reasons_in_order.push(why.clone());
            }
            rejects.push(Reject {
                source: frame
                    .column(SOURCE)?
                    .str()?
                    .get(i)
                    .unwrap_or("")
                    .to_string(),
                source_row: frame.column(SOURCE_ROW)?.i64()?.get(i).unwrap_or(0),
                stage: STAGE.into(),
                rule: why.clone(),
                columns: cols.join(", "),
                values: table::describe_row(&frame, i, cols),
            });
        }
    }
    reasons_in_order.sort();
    for why in &reasons_in_order {
        let mask: BooleanChunked = reason
            .iter()
            .map(|r| Some(r.as_ref().is_some_and(|(w, _)| w == why)))
            .collect();
        let counts = table::counts_by_source(&frame.filter(&mask)?, sources)?;
        for (acc, k) in accounts.iter_mut().zip(counts) {
            acc.add(Outcome::Rejected, why, k);
        }
    }
    let keep: BooleanChunked = reason.iter().map(|r| Some(r.is_none())).collect();
    let frame = frame.filter(&keep)?;
    Ok(Derived {
        frame,
        rejects,
        accounts,
    })
}

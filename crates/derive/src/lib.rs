//! The derive stage: computed columns and time-to-event endpoints.
//!
//! - Derived columns are SQL expressions evaluated by polars, in declared
//!   order, so a later column may use an earlier one.
//! - An endpoint turns dates into the `(time, event)` pair survival analysis
//!   needs: time runs from an origin date to the first of the event dates, or
//!   to the censoring date when no event happened; it is expressed in days,
//!   weeks, months (30.4375 days) or years (365.25 days). The endpoint adds
//!   `<name>_time` (float) and `<name>_event` (boolean) columns; an endpoint
//!   with competing `causes` also `<name>_cause` (the cause's name, empty
//!   when censored; see [`Causes`]).
//! - A row whose dates cannot give an endpoint (no origin, no censoring date,
//!   an event after the last follow-up, a time before the origin) is rejected
//!   with the endpoint and the dates it was judged on.
//! - A derived number that is not finite (NaN, ±inf: a division by zero) in
//!   a row rejects the row, naming the column and its key in the pipeline
//!   file, or stops the run, as `on_nonfinite` declares; so does an endpoint
//!   time that is not finite. A derived column may declare a plausible range
//!   (`min`, `max`), which rejects or flags its row as the schema's ranges
//!   do at the clean stage.
//!
//! Depends on cohortflow-core, polars, serde, chrono and rayon (endpoints
//! made from dates are computed side by side, one core each).

use cohortflow_core::expr;
use cohortflow_core::ledger::{Outcome, StageAccount};
use cohortflow_core::rejects::Reject;
use cohortflow_core::schema::{self as cschema, Limit, RangeAction, RangeCheck, RangeDecl};
use cohortflow_core::table;
use cohortflow_core::{ConfigProblem, Spanned};
use polars::prelude::*;
use serde::Deserialize;
use verdicts::Verdicts;

mod verdicts;

const STAGE: &str = "derive";

/// The `[derive]` section of a pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveConfig {
    #[serde(default, rename = "column")]
    pub columns: Vec<DerivedColumn>,
    /// What a non-finite number (NaN, ±inf) in a derived column or an
    /// endpoint time does, unless the column declares its own.
    #[serde(default)]
    pub on_nonfinite: NonFinite,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedColumn {
    pub name: String,
    /// SQL expression over the columns known at this point.
    pub expr: Spanned<String>,
    /// Overrides `[derive] on_nonfinite` for this column.
    pub on_nonfinite: Option<NonFinite>,
    /// Smallest plausible value (inclusive), as for a schema column.
    pub min: Option<Spanned<Limit>>,
    /// Largest plausible value (inclusive).
    pub max: Option<Spanned<Limit>>,
    /// What a value outside `min`..`max` does (default `reject`).
    pub out_of_range: Option<Spanned<RangeAction>>,
}

/// What a derived number that is NaN or infinite does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NonFinite {
    /// The row is rejected, naming the column.
    #[default]
    Reject,
    /// The run stops, naming the column and the rows' lines.
    Fail,
}

impl DerivedColumn {
    fn range_decl(&self) -> RangeDecl<'_> {
        RangeDecl {
            min: self.min.as_ref().map(Spanned::get_ref),
            max: self.max.as_ref().map(Spanned::get_ref),
            not_after: None,
            action: self.out_of_range.as_ref().map(|a| *a.get_ref()),
        }
    }

    /// Where a range key of the column is written, else its expression.
    fn span_of(&self, key: &str) -> std::ops::Range<usize> {
        let span = match key {
            "min" => self.min.as_ref().map(Spanned::span),
            "max" => self.max.as_ref().map(Spanned::span),
            "out_of_range" => self.out_of_range.as_ref().map(Spanned::span),
            _ => None,
        };
        span.unwrap_or_else(|| self.expr.span())
    }
}

/// The key of derived column `i` in the pipeline file.
fn column_key(i: usize) -> String {
    format!("derive.column[{i}]")
}

/// One `[endpoints.<name>]` table, in one of two forms:
///
/// - **dates**: `origin`, `events` and `censor` (date columns); time runs
///   from the origin to the first event date, or to the censoring date;
/// - **a time and a status**: `time` (a numeric column already holding the
///   follow-up time in `unit`) and `event` (a SQL condition that is true
///   for an event, e.g. `"status == 2"`); the time is kept exactly as
///   given, in its own unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Human-readable name, e.g. "Progression-free survival".
    pub label: String,
    /// Date column where time starts (the index date).
    pub origin: Option<Spanned<String>>,
    /// Date columns of the event; the earliest non-empty one counts.
    pub events: Option<Spanned<Vec<String>>>,
    /// Date column at which a row without an event is censored.
    pub censor: Option<Spanned<String>>,
    /// Numeric column holding the follow-up time in `unit` (time-and-status
    /// form).
    pub time: Option<Spanned<String>>,
    /// SQL condition true for an event (time-and-status form).
    pub event: Option<Spanned<String>>,
    /// Competing causes, in declared order, instead of `events` (dates
    /// form: `causes = { progression = ["progression_date"], death =
    /// ["death_date"] }`) or of `event` (time-and-status form: `causes = {
    /// relapse = "status == 1", death = "status == 2" }`). The endpoint
    /// then also adds `<name>_cause`: the name of the cause of the event,
    /// empty when censored. See [`Causes`].
    pub causes: Option<Spanned<Causes>>,
    #[serde(default)]
    pub unit: TimeUnit,
    /// Administrative cut-off (`"2023-06-30"`): events after it are not
    /// counted and follow-up ends at it.
    pub admin_censor: Option<Spanned<String>>,
    /// Longest follow-up, in `unit`: later times are censored at it.
    pub max_followup: Option<f64>,
    /// What each data check does; see [`Check`].
    #[serde(default)]
    pub checks: Checks,
}

/// The checks an endpoint makes on every row before any estimate. Checks
/// that leave no computable time can only reject; the others may flag (the
/// row stays, the check is added to its `flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The origin date is empty.
    MissingOrigin,
    /// The censoring date is empty.
    MissingCensor,
    /// The origin is after the administrative cut-off.
    OriginAfterCutoff,
    /// The first event is before the origin.
    EventBeforeOrigin,
    /// No event, and the censoring date is before the origin.
    CensorBeforeOrigin,
    /// The first event is after the censoring date (last follow-up). Flagged,
    /// the event time is kept.
    EventAfterCensor,
    /// Time is exactly zero (event or censoring on the index date). Flagged,
    /// the row is kept with time 0, as R's survfit accepts it.
    ZeroTime,
}

/// The causes of a competing-risks endpoint, in the order the pipeline
/// file declares them (the order decides ties; restored from the values'
/// positions in the file, as the TOML reader sorts a table's keys).
///
/// - Dates form: each cause has date columns; the event is the earliest
///   date of any cause and its cause is the cause of that date. When causes
///   share that earliest date, the cause declared first wins.
/// - Time-and-status form: each cause has a SQL condition; a row is an
///   event of the cause whose condition holds. A row where more than one
///   condition holds is rejected (naming the endpoint), as is a row where a
///   condition cannot be evaluated (no status).
#[derive(Debug, Clone, PartialEq)]
pub struct Causes(pub Vec<(String, CauseDef)>);

/// One cause: its date columns (dates form) or its condition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CauseDef {
    /// Date columns of the cause; the earliest non-empty one counts.
    Dates(Vec<String>),
    /// A SQL condition true for an event of the cause.
    Condition(String),
}

impl<'de> Deserialize<'de> for Causes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Causes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of causes: name = [date columns] or name = \"SQL condition\"")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Causes, A::Error> {
                // The TOML reader hands a table's keys over sorted, not in
                // the file's order; each value's byte span restores the
                // declared order, which decides ties.
                let mut out: Vec<(String, Spanned<CauseDef>)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Spanned<CauseDef>>()? {
                    out.push((k, v));
                }
                out.sort_by_key(|(_, v)| v.span().start);
                Ok(Causes(
                    out.into_iter().map(|(k, v)| (k, v.into_inner())).collect(),
                ))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Causes {
    /// The cause names, in declared order.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|(n, _)| n.clone()).collect()
    }
}

impl EndpointConfig {
    /// The names of a competing-risks endpoint's causes, in declared order;
    /// empty for an endpoint with one kind of event.
    pub fn cause_names(&self) -> Vec<String> {
        self.causes
            .as_ref()
            .map_or_else(Vec::new, |c| c.get_ref().names())
    }

    /// The origin date column (dates form only).
    pub fn origin_column(&self) -> Option<&str> {
        self.origin.as_ref().map(|o| o.get_ref().as_str())
    }

    /// Whether the endpoint is declared by a time and a status.
    pub fn is_time_and_status(&self) -> bool {
        self.time.is_some() || self.event.is_some()
    }

    /// The event date columns of the dates form: `events`, or every date
    /// column of the causes.
    fn event_date_columns(&self) -> Vec<String> {
        match (&self.events, &self.causes) {
            (Some(e), _) => e.get_ref().clone(),
            (None, Some(c)) => c
                .get_ref()
                .0
                .iter()
                .flat_map(|(_, d)| match d {
                    CauseDef::Dates(cols) => cols.clone(),
                    CauseDef::Condition(_) => Vec::new(),
                })
                .collect(),
            (None, None) => Vec::new(),
        }
    }
}

impl Check {
    fn describe(self, ep: &EndpointConfig) -> String {
        fn column(c: &Option<Spanned<String>>) -> &str {
            c.as_ref().map_or("", |c| c.get_ref().as_str())
        }
        let (o, c) = (column(&ep.origin), column(&ep.censor));
        match self {
            Check::MissingOrigin => format!("no {o}"),
            Check::MissingCensor => format!("no {c}"),
            Check::OriginAfterCutoff => format!("{o} after the administrative cut-off"),
            Check::EventBeforeOrigin => format!("event before {o}"),
            Check::CensorBeforeOrigin => format!("{c} before {o}"),
            Check::EventAfterCensor => format!("event after {c}"),
            Check::ZeroTime => "zero time".to_string(),
        }
    }
}

/// `[endpoints.<name>.checks]`: the action of the two checks that may flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checks {
    pub event_after_censor: Action,
    pub zero_time: Action,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            event_after_censor: Action::Reject,
            zero_time: Action::Flag,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Reject,
    Flag,
}

/// One row's endpoint: time in days, event, and the checks that flagged it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub days: f64,
    pub event: bool,
    pub flags: Vec<Check>,
}

/// One row's endpoint from day numbers (days since 1970-01-01), or the check
/// that rejects the row. `cutoff` is the administrative cut-off and
/// `max_days` the longest follow-up in days.
pub fn endpoint_days(
    origin: Option<i32>,
    censor: Option<i32>,
    first_event: Option<i32>,
    cutoff: Option<i32>,
    max_days: Option<f64>,
    checks: &Checks,
) -> Result<EndpointRow, Check> {
    let o = origin.ok_or(Check::MissingOrigin)?;
    let c = censor.ok_or(Check::MissingCensor)?;
    if cutoff.is_some_and(|k| o > k) {
        return Err(Check::OriginAfterCutoff);
    }
    let mut flags = Vec::new();
    let (mut days, mut event) = match first_event {
        Some(e) if e < o => return Err(Check::EventBeforeOrigin),
        Some(e) if e > c => match checks.event_after_censor {
            Action::Reject => return Err(Check::EventAfterCensor),
            Action::Flag => {
                flags.push(Check::EventAfterCensor);
                (e - o, true)
            }
        },
        Some(e) => (e - o, true),
        None if c < o => return Err(Check::CensorBeforeOrigin),
        None => (c - o, false),
    };
    if let Some(k) = cutoff
        && o + days > k
    {
        (days, event) = (k - o, false);
    }
    let mut days = f64::from(days);
    if let Some(m) = max_days
        && days > m
    {
        (days, event) = (m, false);
    }
    if days == 0.0 {
        match checks.zero_time {
            Action::Reject => return Err(Check::ZeroTime),
            Action::Flag => flags.push(Check::ZeroTime),
        }
    }
    Ok(EndpointRow { days, event, flags })
}

pub use cohortflow_core::time::TimeUnit;

pub fn time_column(endpoint: &str) -> String {
    format!("{endpoint}_time")
}

pub fn event_column(endpoint: &str) -> String {
    format!("{endpoint}_event")
}

/// The column naming the cause of a competing-risks endpoint's event
/// (empty when censored).
pub fn cause_column(endpoint: &str) -> String {
    format!("{endpoint}_cause")
}

/// Parses an administrative cut-off date (`YYYY-MM-DD`) into days since
/// 1970-01-01, the representation of polars dates.
pub fn parse_cutoff(text: &str) -> Result<i32, String> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date written YYYY-MM-DD"))?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    i32::try_from((date - epoch).num_days()).map_err(|_| format!("'{text}' is out of range"))
}

/// The derive stage's table. Its rejected rows are still in `frame`,
/// marked in `kept` (false), so that the table is not copied to drop a
/// handful of rows: the cohort stage selects from the kept rows only
/// ([`Derived::drop_rejected`] removes them, for a stage table that is
/// kept). On the benchmark's ten million rows the copy cost 0.2–0.4 s to
/// leave out 0.05 % of them.
pub struct Derived {
    pub frame: DataFrame,
    /// Per row of `frame`: not rejected by this stage. `None`: none was.
    pub kept: Option<Vec<bool>>,
    pub rejects: Vec<Reject>,
    pub accounts: Vec<StageAccount>,
}

impl Derived {
    /// Removes the rejected rows from `frame` (filtered column by column,
    /// each column freed once copied), leaving no marks: for when the
    /// table without them is needed anyway (the stage table), so that
    /// one table, not two, goes on to the cohort stage.
    pub fn drop_rejected(&mut self) -> PolarsResult<()> {
        if let Some(kept) = self.kept.take() {
            let frame = std::mem::take(&mut self.frame);
            let mask = BooleanChunked::from_slice("kept".into(), &kept);
            self.frame = table::filter_owned(frame, &mask)?;
        }
        Ok(())
    }

    /// How many rows this stage kept.
    pub fn kept_rows(&self) -> usize {
        match &self.kept {
            None => self.frame.height(),
            Some(kept) => kept.iter().filter(|k| **k).count(),
        }
    }
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
                if let Err(e) = cschema::range_check(&c.name, dtype.clone(), &c.range_decl(), None)
                {
                    problems.push(ConfigProblem::new(
                        format!("derive.column[{i}].{}", e.key),
                        Some(c.span_of(e.key)),
                        e.message,
                        "min / max: numbers for a number column, dates \"YYYY-MM-DD\" for a date column",
                    ));
                }
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
                    cohortflow_core::expr::unknown_column(col, &frame),
                    "a date column of the schema or a derived date column",
                ),
            }
        };
        let has_causes = ep.causes.is_some();
        let dates = [
            ep.origin.is_some(),
            ep.events.is_some() || (has_causes && ep.time.is_none()),
            ep.censor.is_some(),
        ];
        let status = [
            ep.time.is_some(),
            ep.event.is_some() || (has_causes && ep.time.is_some()),
        ];
        problems.extend(validate_causes(&key, ep, &frame));
        let form_problem = |message: &str| {
            ConfigProblem::new(
                key.clone(),
                None,
                format!("endpoint '{name}': {message}"),
                "either origin, events and censor (date columns), or time (a numeric column in \
                 `unit`) and event (a SQL condition true for an event)",
            )
        };
        if status.iter().any(|x| *x) {
            if dates.iter().any(|x| *x) {
                problems.push(form_problem("declares both dates and a time and a status"));
            } else if !status.iter().all(|x| *x) {
                problems.push(form_problem("needs both `time` and `event` (or `causes`)"));
            }
            if let Some(cutoff) = &ep.admin_censor {
                problems.push(ConfigProblem::new(
                    format!("{key}.admin_censor"),
                    Some(cutoff.span()),
                    "admin_censor is a date, and this endpoint has no dates (it is declared by a time and a status)",
                    "max_followup (in the endpoint's unit), or the dates form",
                ));
            }
            if let Some(t) = &ep.time {
                match frame.column(t.get_ref()).map(|c| c.dtype().clone()) {
                    Ok(d) if d.is_primitive_numeric() => {}
                    Ok(other) => problems.push(ConfigProblem::new(
                        format!("{key}.time"),
                        Some(t.span()),
                        format!("column '{}' is {other}, not a number", t.get_ref()),
                        "a numeric column with the follow-up time in the endpoint's unit",
                    )),
                    Err(_) => problems.push(ConfigProblem::new(
                        format!("{key}.time"),
                        Some(t.span()),
                        format!("unknown column '{}'", t.get_ref()),
                        "a numeric column of the schema or a derived column",
                    )),
                }
            }
            if let Some(e) = &ep.event
                && let Err(message) = expr::compile_checked(e.get_ref(), &frame, true)
            {
                problems.push(ConfigProblem::new(
                    format!("{key}.event"),
                    Some(e.span()),
                    message,
                    "a SQL condition true for an event, e.g. \"status == 2\"",
                ));
            }
        } else if !dates.iter().all(|x| *x) {
            problems.push(form_problem("needs origin, events (or causes) and censor"));
        }
        if let Some(o) = &ep.origin {
            problems.extend(date_col(o.get_ref(), o.span(), "origin"));
        }
        if let Some(c) = &ep.censor {
            problems.extend(date_col(c.get_ref(), c.span(), "censor"));
        }
        if let Some(events) = &ep.events {
            for e in events.get_ref() {
                problems.extend(date_col(e, events.span(), "events"));
            }
            if events.get_ref().is_empty() {
                problems.push(ConfigProblem::new(
                    format!("{key}.events"),
                    Some(events.span()),
                    "no event date column",
                    "one or more date columns, e.g. events = [\"death_date\"]",
                ));
            }
        }
        if let Some(cutoff) = &ep.admin_censor
            && let Err(e) = parse_cutoff(cutoff.get_ref())
        {
            problems.push(ConfigProblem::new(
                format!("{key}.admin_censor"),
                Some(cutoff.span()),
                e,
                "a date such as \"2023-06-30\"",
            ));
        }
        if let Some(m) = ep.max_followup
            && !(m.is_finite() && m > 0.0)
        {
            problems.push(ConfigProblem::new(
                format!("{key}.max_followup"),
                None,
                format!("max_followup = {m} is not a positive number"),
                format!("the longest follow-up in {}", ep.unit.name()),
            ));
        }
        let mut added = vec![
            (time_column(name), DataType::Float64),
            (event_column(name), DataType::Boolean),
        ];
        if has_causes {
            added.push((cause_column(name), DataType::String));
        }
        for (col, dtype) in added {
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

/// The checks of `causes` (see [`Causes`]): not with `events` or `event`,
/// at least two, each of the endpoint's form (date columns for the dates
/// form, a SQL condition for the time-and-status form).
fn validate_causes(key: &str, ep: &EndpointConfig, frame: &DataFrame) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let Some(causes) = &ep.causes else {
        return problems;
    };
    let span = causes.span();
    let problem = |message: String, expected: &str| {
        ConfigProblem::new(
            format!("{key}.causes"),
            Some(span.clone()),
            message,
            expected,
        )
    };
    let time_form = ep.time.is_some();
    if ep.events.is_some() {
        problems.push(problem(
            "both `events` and `causes` are declared".into(),
            "either events = [dates] (one kind of event) or causes = { name = [dates], ... } (competing risks)",
        ));
    }
    if ep.event.is_some() {
        problems.push(problem(
            "both `event` and `causes` are declared".into(),
            "either event = \"condition\" (one kind of event) or causes = { name = \"condition\", ... } (competing risks)",
        ));
    }
    let list = &causes.get_ref().0;
    if list.len() < 2 {
        problems.push(problem(
            format!("{} cause(s) declared; competing risks need at least two", list.len()),
            "two or more causes, e.g. causes = { progression = [\"progression_date\"], death = [\"death_date\"] }",
        ));
    }
    for (cause, def) in list {
        if cause.trim().is_empty() {
            problems.push(problem(
                "a cause has an empty name".into(),
                "a short cause name, e.g. death",
            ));
        }
        match (def, time_form) {
            (CauseDef::Dates(cols), false) => {
                if cols.is_empty() {
                    problems.push(problem(
                        format!("cause '{cause}' has no date column"),
                        "one or more date columns, e.g. death = [\"death_date\"]",
                    ));
                }
                for col in cols {
                    match frame.column(col).map(|c| c.dtype().clone()) {
                        Ok(DataType::Date) => {}
                        Ok(other) => problems.push(problem(
                            format!("cause '{cause}': column '{col}' is {other}, not a date"),
                            "a date column",
                        )),
                        Err(_) => problems.push(problem(
                            format!("cause '{cause}': unknown column '{col}'"),
                            "a date column of the schema or a derived date column",
                        )),
                    }
                }
            }
            (CauseDef::Condition(sql), true) => {
                if let Err(message) = expr::compile_checked(sql, frame, true) {
                    problems.push(problem(
                        format!("cause '{cause}': {message}"),
                        "a SQL condition true for an event of the cause, e.g. \"status == 2\"",
                    ));
                }
            }
            (CauseDef::Dates(_), true) => problems.push(problem(
                format!(
                    "cause '{cause}' lists date columns, but the endpoint is declared by a time and a status"
                ),
                "a SQL condition per cause, e.g. relapse = \"status == 1\"",
            )),
            (CauseDef::Condition(_), false) => problems.push(problem(
                format!(
                    "cause '{cause}' is a condition, but the endpoint is declared by its dates"
                ),
                "a list of date columns per cause, e.g. death = [\"death_date\"]",
            )),
        }
    }
    problems
}

/// Adds the derived columns, then the endpoints, rejecting rows whose dates
/// cannot give an endpoint.
pub fn derive(
    cfg: &DeriveConfig,
    endpoints: &[(String, EndpointConfig)],
    frame: DataFrame,
    sources: &[String],
) -> PolarsResult<Derived> {
    derive_with(cfg, endpoints, frame, sources, true)
}

/// [`derive`], the endpoints side by side where they may be
/// (`side_by_side`) or one after another.
fn derive_with(
    cfg: &DeriveConfig,
    endpoints: &[(String, EndpointConfig)],
    frame: DataFrame,
    sources: &[String],
    side_by_side: bool,
) -> PolarsResult<Derived> {
    // The sources' rows, found once for the accounts and every reason's
    // counts in `finish` (derived columns add no row and move none).
    let runs = table::SourceRuns::of(&frame, sources)?;
    let accounts = runs.accounts(STAGE, sources);
    // Derived columns are never categories: the table's own schema names
    // every category an expression can read.
    let schema = frame.schema().clone();
    let mut lf = frame.lazy();
    for c in &cfg.columns {
        let e = expr::compile(c.expr.get_ref()).map_err(|e| polars_err!(ComputeError: "{e}"))?;
        lf = lf.with_column(expr::on_text(e, &schema).alias(c.name.as_str()));
    }
    let mut frame = lf.collect()?;

    // Per row, the first reason it cannot be kept, and the flags it collects.
    let mut verdicts = Verdicts::new(frame.height());

    // Derived columns in order: non-finite numbers, then the declared range.
    for (i, c) in cfg.columns.iter().enumerate() {
        let action = c.on_nonfinite.unwrap_or(cfg.on_nonfinite);
        let why = format!(
            "{} ({}): not a finite number (NaN or infinite)",
            c.name,
            column_key(i)
        );
        judge_nonfinite(&frame, &c.name, &why, action, &mut verdicts)?;
        let dtype = frame.column(&c.name)?.dtype().clone();
        let range = cschema::range_check(&c.name, dtype, &c.range_decl(), None)
            .map_err(|e| polars_err!(ComputeError: "{}: {e}", column_key(i)))?;
        if let Some(range) = range {
            let why = format!("{} ({})", range.reason(), column_key(i));
            judge_range(&frame, &range, &why, &mut verdicts)?;
        }
    }
    // Endpoints made from dates alone, none reading another's columns, are
    // computed side by side (one core each: 0.19 and 0.24 s on ten million
    // rows one after the other); their verdicts are then applied in the
    // declared order, as if computed one after another.
    let outputs: Vec<String> = endpoints
        .iter()
        .flat_map(|(n, _)| [time_column(n), event_column(n), cause_column(n)])
        .collect();
    let side_by_side = side_by_side
        && endpoints.len() > 1
        && endpoints.iter().all(|(_, ep)| {
            !ep.is_time_and_status() && date_inputs(ep).iter().all(|c| !outputs.contains(c))
        });
    let mut computed: Vec<Option<PolarsResult<EndpointColumns>>> = if side_by_side {
        use rayon::prelude::*;
        endpoints
            .par_iter()
            .map(|(name, ep)| Some(from_dates(&frame, name, ep)))
            .collect()
    } else {
        endpoints.iter().map(|_| None).collect()
    };
    for ((name, ep), made) in endpoints.iter().zip(&mut computed) {
        let columns = match made.take() {
            Some(made) => made?,
            None if ep.is_time_and_status() => time_and_status(&frame, name, ep)?,
            None => from_dates(&frame, name, ep)?,
        };
        columns.finish(&mut frame, &mut verdicts)?;
        let why = format!(
            "{} (endpoints.{name}): not a finite number (NaN or infinite)",
            time_column(name)
        );
        judge_nonfinite(
            &frame,
            &time_column(name),
            &why,
            cfg.on_nonfinite,
            &mut verdicts,
        )?;
    }
    finish(frame, verdicts, accounts, &runs)
}

/// The endpoint `name` from a time column and a status condition: the
/// time as given (in the endpoint's unit), the event where the condition
/// holds. A row with no time, a negative time or no status is rejected;
/// a zero time is flagged or rejected as `checks.zero_time` says; a time
/// beyond `max_followup` is censored there.
fn time_and_status(
    frame: &DataFrame,
    name: &str,
    ep: &EndpointConfig,
) -> PolarsResult<EndpointColumns> {
    let Some(time_col) = &ep.time else {
        polars_bail!(ComputeError: "endpoint {name}: time and event are both needed");
    };
    // one condition (`event`), or one per cause in declared order
    let conditions: Vec<&str> = match (&ep.event, &ep.causes) {
        (Some(e), None) => vec![e.get_ref().as_str()],
        (None, Some(c)) => c
            .get_ref()
            .0
            .iter()
            .filter_map(|(_, d)| match d {
                CauseDef::Condition(sql) => Some(sql.as_str()),
                CauseDef::Dates(_) => None,
            })
            .collect(),
        _ => polars_bail!(ComputeError: "endpoint {name}: time and event are both needed"),
    };
    let cause_names = ep.cause_names();
    let time_col = time_col.get_ref();
    let times = frame.column(time_col)?.cast(&DataType::Float64)?;
    let times = times.f64()?.clone();
    let compiled: Vec<Expr> = conditions
        .iter()
        .enumerate()
        .map(|(k, sql)| {
            expr::compile(sql)
                .map(|e| expr::on_text(e, frame.schema()).alias(format!("e{k}")))
                .map_err(|e| polars_err!(ComputeError: "endpoint {name}: {e}"))
        })
        .collect::<PolarsResult<_>>()?;
    let status_frame = frame.clone().lazy().select(compiled).collect()?;
    let status_cols: Vec<BooleanChunked> = (0..conditions.len())
        .map(|k| Ok(status_frame.column(&format!("e{k}"))?.bool()?.clone()))
        .collect::<PolarsResult<_>>()?;
    // Per row: Ok(None) no event, Ok(Some(k)) event (of cause k), Err(why)
    let status_of = |i: usize| -> Result<Option<usize>, &'static str> {
        let mut hit = None;
        for (k, col) in status_cols.iter().enumerate() {
            match col.get(i) {
                None => return Err("no status"),
                Some(true) if hit.is_some() => {
                    return Err("the conditions of more than one cause hold");
                }
                Some(true) => hit = Some(k),
                Some(false) => {}
            }
        }
        Ok(hit)
    };
    let involved = vec![time_col.clone()];
    let mut out = EndpointColumns::new(name, frame.height(), ep.causes.is_some(), involved);
    for i in 0..frame.height() {
        let why = match (times.get(i), status_of(i)) {
            (None, _) => Some(format!("endpoint {name}: no {time_col}")),
            (Some(t), _) if t < 0.0 => Some(format!("endpoint {name}: negative {time_col}")),
            (_, Err(why)) => Some(format!("endpoint {name}: {why}")),
            (Some(t), Ok(hit)) => {
                let (t, e, hit) = match ep.max_followup {
                    Some(m) if t > m => (m, false, None),
                    _ => (t, hit.is_some(), hit),
                };
                if t == 0.0 {
                    match ep.checks.zero_time {
                        Action::Flag => out.flag(i, format!("endpoint {name}: zero time")),
                        Action::Reject => {
                            out.reject(i, format!("endpoint {name}: zero time"));
                            out.push_null();
                            continue;
                        }
                    }
                }
                out.push(
                    t,
                    e,
                    hit.and_then(|k| cause_names.get(k).map(String::as_str)),
                );
                None
            }
        };
        if let Some(why) = why {
            out.reject(i, why);
            out.push_null();
        }
    }
    Ok(out)
}

/// An endpoint's columns, built in place row by row: the time, the event
/// and (for competing causes) the cause. (Vectors of `Option`s, copied into
/// the columns afterwards, held 33 bytes a row per endpoint besides them,
/// the cause's 16 even without causes.)
///
/// Also the verdicts the endpoint raised, in row order, for the stage to
/// apply once the endpoint is done ([`EndpointColumns::finish`]): so
/// endpoints can be computed side by side and still judge rows as if one
/// after another (a row keeps its first reason; flags in the order raised).
struct EndpointColumns {
    time: PrimitiveChunkedBuilder<Float64Type>,
    event: BooleanChunkedBuilder,
    cause: Option<StringChunkedBuilder>,
    raised: Vec<Raised>,
    /// The columns a rejected row was judged on.
    involved: Vec<String>,
}

/// A verdict an endpoint raised on a row.
enum Raised {
    Flag(usize, String),
    Reject(usize, String),
}

impl EndpointColumns {
    fn new(name: &str, rows: usize, causes: bool, involved: Vec<String>) -> Self {
        EndpointColumns {
            time: PrimitiveChunkedBuilder::new(time_column(name).into(), rows),
            event: BooleanChunkedBuilder::new(event_column(name).into(), rows),
            cause: causes.then(|| StringChunkedBuilder::new(cause_column(name).into(), rows)),
            raised: Vec::new(),
            involved,
        }
    }

    fn flag(&mut self, row: usize, why: String) {
        self.raised.push(Raised::Flag(row, why));
    }

    /// Row `row` cannot have this endpoint (a row already rejected keeps
    /// its earlier reason).
    fn reject(&mut self, row: usize, why: String) {
        self.raised.push(Raised::Reject(row, why));
    }

    fn push(&mut self, time: f64, event: bool, cause: Option<&str>) {
        self.time.append_value(time);
        self.event.append_value(event);
        if let Some(c) = &mut self.cause {
            c.append_option(cause);
        }
    }

    /// A rejected row: no time, event or cause.
    fn push_null(&mut self) {
        self.time.append_null();
        self.event.append_null();
        if let Some(c) = &mut self.cause {
            c.append_null();
        }
    }

    /// Applies the verdicts raised, in order, and adds the columns to
    /// `frame` (replacing any of the same names).
    fn finish(self, frame: &mut DataFrame, verdicts: &mut Verdicts) -> PolarsResult<()> {
        for raised in &self.raised {
            match raised {
                Raised::Flag(i, why) => verdicts.flag(*i, why),
                Raised::Reject(i, why) => verdicts.reject(*i, why, &self.involved),
            }
        }
        frame.with_column(self.time.finish().into_column())?;
        frame.with_column(self.event.finish().into_column())?;
        if let Some(c) = self.cause {
            frame.with_column(c.finish().into_column())?;
        }
        Ok(())
    }
}

/// The date columns an endpoint made from dates reads.
fn date_inputs(ep: &EndpointConfig) -> Vec<String> {
    let mut columns = ep.event_date_columns();
    columns.extend(
        ep.origin
            .iter()
            .chain(&ep.censor)
            .map(|c| c.get_ref().clone()),
    );
    columns
}

/// The endpoint `name` from its dates (origin, events, censoring).
fn from_dates(frame: &DataFrame, name: &str, ep: &EndpointConfig) -> PolarsResult<EndpointColumns> {
    let events_cols = ep.event_date_columns();
    let (Some(origin_col), false, Some(censor_col)) =
        (&ep.origin, events_cols.is_empty(), &ep.censor)
    else {
        polars_bail!(ComputeError: "endpoint {name}: origin, events and censor are all needed");
    };
    let origin = table::date_days(frame, origin_col.get_ref())?;
    let censor = table::date_days(frame, censor_col.get_ref())?;
    let events: Vec<Int32Chunked> = events_cols
        .iter()
        .map(|c| table::date_days(frame, c))
        .collect::<PolarsResult<_>>()?;
    // Each column as one arrow array, read by index in the loop below (a
    // chunked array's `get` finds the chunk of every row again).
    let (origin, censor) = (one_array(&origin), one_array(&censor));
    let events: Vec<Days> = events.iter().map(one_array).collect();
    // competing causes: the cause of each column of `events`
    let cause_names = ep.cause_names();
    let cause_of_column: Vec<usize> = match &ep.causes {
        Some(c) => c
            .get_ref()
            .0
            .iter()
            .enumerate()
            .flat_map(|(k, (_, d))| {
                let n = match d {
                    CauseDef::Dates(cols) => cols.len(),
                    CauseDef::Condition(_) => 0,
                };
                std::iter::repeat_n(k, n)
            })
            .collect(),
        None => Vec::new(),
    };
    let cutoff = ep
        .admin_censor
        .as_ref()
        .map(|d| parse_cutoff(d.get_ref()))
        .transpose()
        .map_err(|e| polars_err!(ComputeError: "endpoint {name}: {e}"))?;
    let max_days = ep.max_followup.map(|m| m * ep.unit.days());
    let involved: Vec<String> = std::iter::once(origin_col.get_ref().clone())
        .chain(events_cols.iter().cloned())
        .chain(std::iter::once(censor_col.get_ref().clone()))
        .collect();
    let mut out = EndpointColumns::new(name, frame.height(), ep.causes.is_some(), involved);
    for i in 0..frame.height() {
        let first_event = events.iter().filter_map(|e| e.get(i)).min();
        match endpoint_days(
            origin.get(i),
            censor.get(i),
            first_event,
            cutoff,
            max_days,
            &ep.checks,
        ) {
            Ok(row) => {
                for c in &row.flags {
                    out.flag(i, format!("endpoint {name}: {}", c.describe(ep)));
                }
                // the cause of the earliest date; on a tie the cause
                // declared first (its columns come first)
                let cause = match (row.event, first_event) {
                    (true, Some(first)) if !cause_of_column.is_empty() => events
                        .iter()
                        .position(|e| e.get(i) == Some(first))
                        .map(|c| cause_names[cause_of_column[c]].as_str()),
                    _ => None,
                };
                out.push(row.days / ep.unit.days(), row.event, cause);
            }
            Err(check) => {
                out.reject(i, format!("endpoint {name}: {}", check.describe(ep)));
                out.push_null();
            }
        }
    }
    Ok(out)
}

/// The arrow array of a column of days.
type Days = <Int32Type as PolarsDataType>::Array;

/// A column of days as one arrow array (cheap to clone: its buffers are
/// shared).
fn one_array(days: &Int32Chunked) -> Days {
    if days.chunks().is_empty() {
        Days::new_empty(ArrowDataType::Int32)
    } else {
        days.rechunk().downcast_as_array().clone()
    }
}

/// Flags counted, rejects written, rows marked: the end of the stage.
fn finish(
    mut frame: DataFrame,
    verdicts: Verdicts,
    mut accounts: Vec<StageAccount>,
    runs: &table::SourceRuns,
) -> PolarsResult<Derived> {
    // Flags: counted per reason in the ledger and appended to `flags`.
    for why in verdicts.flag_texts() {
        let mask = BooleanChunked::from_slice("".into(), &verdicts.kept_and_flagged(why));
        let counts = runs.counts_where(&mask)?;
        for (acc, k) in accounts.iter_mut().zip(counts) {
            acc.add(Outcome::Flagged, why, k);
        }
    }
    if frame.column(table::FLAGS).is_ok() {
        let flagged = verdicts.flags_by_row();
        if !flagged.is_empty() {
            let old = frame.column(table::FLAGS)?.str()?.clone();
            let mut next = flagged.iter().peekable();
            let updated: StringChunked = old
                .iter()
                .enumerate()
                .map(|(i, o)| match next.next_if(|(row, _)| *row == i) {
                    Some((_, f)) => {
                        let all: Vec<&str> = o.into_iter().chain(f.iter().copied()).collect();
                        Some(all.join("; "))
                    }
                    None => o.map(str::to_string),
                })
                .collect();
            frame.with_column(updated.with_name(table::FLAGS.into()).into_column())?;
        }
    }

    let mut rejects = Vec::new();
    if !verdicts.all_kept() {
        // Each rejected row's source and line (not the whole source column
        // as text: most rows are kept).
        for i in 0..frame.height() {
            if let Some((why, cols)) = verdicts.reason(i) {
                let (source, source_row) = table::provenance(&frame, i)?;
                rejects.push(Reject {
                    source,
                    source_row,
                    stage: STAGE.into(),
                    rule: why.clone(),
                    columns: cols.join(", "),
                    values: table::describe_row(&frame, i, cols),
                });
            }
        }
    }
    for why in verdicts.reason_texts() {
        let mask = BooleanChunked::from_slice("".into(), &verdicts.rejected_for(why));
        let counts = runs.counts_where(&mask)?;
        for (acc, k) in accounts.iter_mut().zip(counts) {
            acc.add(Outcome::Rejected, why, k);
        }
    }
    let kept = (!verdicts.all_kept()).then(|| verdicts.keep_mask());
    Ok(Derived {
        frame,
        kept,
        rejects,
        accounts,
    })
}

/// Rows not yet rejected where the float column `column` is NaN or
/// infinite get `why` as their reason, or the run stops, as `action` says.
/// Other types cannot hold such values.
fn judge_nonfinite(
    frame: &DataFrame,
    column: &str,
    why: &str,
    action: NonFinite,
    verdicts: &mut Verdicts,
) -> PolarsResult<()> {
    let values = frame.column(column)?;
    if !matches!(values.dtype(), DataType::Float32 | DataType::Float64) {
        return Ok(());
    }
    let values = values.cast(&DataType::Float64)?;
    let values = values.f64()?;
    let bad: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| v.is_some_and(|v| !v.is_finite()) && verdicts.kept(*i))
        .map(|(i, _)| i)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    if action == NonFinite::Fail {
        let places: Vec<String> = bad
            .iter()
            .take(5)
            .map(|&i| table::provenance(frame, i).map(|(s, r)| format!("{s} row {r}")))
            .collect::<PolarsResult<_>>()?;
        return Err(polars_err!(ComputeError:
            "{why}, in {} row{} ({}{}); fix the expression (e.g. a division by zero) \
             or declare on_nonfinite = \"reject\" to reject such rows",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            places.join(", "),
            if bad.len() > 5 { ", ..." } else { "" }
        ));
    }
    let columns = [column.to_string()];
    for i in bad {
        verdicts.reject(i, why, &columns);
    }
    Ok(())
}

/// Rows whose value of `range.column` is outside the range are rejected or
/// flagged with `why`, as the range declares.
fn judge_range(
    frame: &DataFrame,
    range: &RangeCheck,
    why: &str,
    verdicts: &mut Verdicts,
) -> PolarsResult<()> {
    let violated = frame
        .clone()
        .lazy()
        .select([range.violated().alias("v")])
        .collect()?;
    let violated = violated.column("v")?.bool()?.clone();
    if !violated.any() {
        return Ok(());
    }
    let columns = [range.column.clone()];
    for (i, v) in violated.iter().enumerate() {
        if v != Some(true) {
            continue;
        }
        match range.action {
            RangeAction::Reject => verdicts.reject(i, why, &columns),
            RangeAction::Flag => verdicts.flag(i, why),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_core::table::{SOURCE, SOURCE_ROW};

    fn row(
        o: Option<i32>,
        c: Option<i32>,
        e: Option<i32>,
        cutoff: Option<i32>,
        max: Option<f64>,
    ) -> Result<EndpointRow, Check> {
        endpoint_days(o, c, e, cutoff, max, &Checks::default())
    }

    #[test]
    fn event_or_censoring() {
        assert_eq!(
            row(Some(10), Some(50), Some(30), None, None).unwrap().days,
            20.0
        );
        assert!(row(Some(10), Some(50), Some(30), None, None).unwrap().event);
        let censored = row(Some(10), Some(50), None, None, None).unwrap();
        assert_eq!((censored.days, censored.event), (40.0, false));
    }

    #[test]
    fn impossible_dates_are_named() {
        assert_eq!(
            row(None, Some(5), None, None, None),
            Err(Check::MissingOrigin)
        );
        assert_eq!(
            row(Some(1), None, None, None, None),
            Err(Check::MissingCensor)
        );
        assert_eq!(
            row(Some(10), Some(50), Some(5), None, None),
            Err(Check::EventBeforeOrigin)
        );
        assert_eq!(
            row(Some(10), Some(50), Some(60), None, None),
            Err(Check::EventAfterCensor)
        );
        assert_eq!(
            row(Some(10), Some(5), None, None, None),
            Err(Check::CensorBeforeOrigin)
        );
        assert_eq!(
            row(Some(10), Some(50), None, Some(5), None),
            Err(Check::OriginAfterCutoff)
        );
    }

    #[test]
    fn flagged_checks_keep_the_row() {
        let checks = Checks {
            event_after_censor: Action::Flag,
            zero_time: Action::Flag,
        };
        let r = endpoint_days(Some(10), Some(50), Some(60), None, None, &checks).unwrap();
        assert_eq!(
            (r.days, r.event, r.flags),
            (50.0, true, vec![Check::EventAfterCensor])
        );
        let r = endpoint_days(Some(10), Some(10), None, None, None, &checks).unwrap();
        assert_eq!((r.days, r.flags), (0.0, vec![Check::ZeroTime]));
        let strict = Checks {
            zero_time: Action::Reject,
            ..checks
        };
        assert_eq!(
            endpoint_days(Some(10), Some(10), None, None, None, &strict),
            Err(Check::ZeroTime)
        );
    }

    #[test]
    fn administrative_cutoff_and_maximum_follow_up_censor() {
        // Event after the cut-off: censored at the cut-off.
        let r = row(Some(0), Some(100), Some(80), Some(50), None).unwrap();
        assert_eq!((r.days, r.event), (50.0, false));
        // Event before the cut-off is kept.
        let r = row(Some(0), Some(100), Some(40), Some(50), None).unwrap();
        assert_eq!((r.days, r.event), (40.0, true));
        // Longer than the maximum follow-up: censored at it.
        let r = row(Some(0), Some(100), Some(80), None, Some(60.0)).unwrap();
        assert_eq!((r.days, r.event), (60.0, false));
        // Exactly at the maximum: the event counts.
        let r = row(Some(0), Some(100), Some(60), None, Some(60.0)).unwrap();
        assert_eq!((r.days, r.event), (60.0, true));
    }

    fn sizes(values: &[Option<f64>]) -> DataFrame {
        let n = values.len() as i64;
        df!(
            SOURCE => vec!["a"; values.len()],
            SOURCE_ROW => (2..n + 2).collect::<Vec<i64>>(),
            "size" => values,
        )
        .unwrap()
    }

    fn derived(name: &str, sql: &str) -> DerivedColumn {
        DerivedColumn {
            name: name.into(),
            expr: Spanned::new(0..0, sql.into()),
            on_nonfinite: None,
            min: None,
            max: None,
            out_of_range: None,
        }
    }

    fn config(columns: Vec<DerivedColumn>) -> DeriveConfig {
        DeriveConfig {
            columns,
            on_nonfinite: NonFinite::default(),
        }
    }

    /// Endpoints computed side by side judge each row as one after
    /// another would: the same rejects (a row keeps the first endpoint's
    /// reason), flags in the same order, the same columns and accounts, on
    /// random dates where both endpoints flag and reject.
    #[test]
    fn endpoints_side_by_side_judge_rows_as_one_after_another() {
        let endpoints: Vec<(String, EndpointConfig)> = [
            (
                "a",
                "label = 'A'\norigin = 'o'\nevents = ['e1']\ncensor = 'c'\n\
                 checks = { event_after_censor = 'flag', zero_time = 'flag' }",
            ),
            (
                "b",
                "label = 'B'\norigin = 'o'\nevents = ['e2', 'e1']\ncensor = 'c'\n\
                 admin_censor = '1970-03-01'\n\
                 checks = { event_after_censor = 'reject', zero_time = 'reject' }",
            ),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), toml::from_str(t).unwrap()))
        .collect();
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x51de_b751);
        let cfg = config(vec![]);
        let sources = ["a".to_string(), "b".to_string()];
        let mut rejected_by_both = 0;
        for case in 0..200 {
            let n = 1 + rng.below(80);
            let day = |rng: &mut cohortflow_stats::rng::SplitMix64| {
                (rng.below(6) > 0).then(|| rng.below(90) as i32)
            };
            let dates: Vec<Vec<Option<i32>>> = (0..4)
                .map(|_| (0..n).map(|_| day(&mut rng)).collect())
                .collect();
            let mut frame = df! {
                SOURCE => (0..n).map(|i| if i < n / 2 { "a" } else { "b" }).collect::<Vec<_>>(),
                SOURCE_ROW => (0..n as i64).collect::<Vec<_>>(),
            }
            .unwrap();
            for (name, days) in ["o", "c", "e1", "e2"].iter().zip(&dates) {
                let column = Int32Chunked::from_iter_options((*name).into(), days.iter().copied())
                    .into_series()
                    .cast(&DataType::Date)
                    .unwrap();
                frame.with_column(column.into_column()).unwrap();
            }
            let side = derive_with(&cfg, &endpoints, frame.clone(), &sources, true).unwrap();
            let one = derive_with(&cfg, &endpoints, frame, &sources, false).unwrap();
            assert_eq!(side.frame, one.frame, "case {case}");
            assert_eq!(side.kept, one.kept, "case {case}");
            assert_eq!(side.rejects, one.rejects, "case {case}");
            assert_eq!(side.accounts, one.accounts, "case {case}");
            let reasons: std::collections::BTreeSet<&str> =
                side.rejects.iter().map(|r| r.rule.as_str()).collect();
            if reasons.iter().any(|r| r.starts_with("endpoint a"))
                && reasons.iter().any(|r| r.starts_with("endpoint b"))
            {
                rejected_by_both += 1;
            }
        }
        assert!(rejected_by_both > 50, "{rejected_by_both} cases");
    }

    #[test]
    fn a_division_by_zero_rejects_the_row_naming_the_column_and_its_key() {
        let cfg = config(vec![derive_ratio()]);
        let out = derive(
            &cfg,
            &[],
            sizes(&[Some(75.0), Some(80.0), None, Some(75.0)]),
            &["a".into()],
        )
        .unwrap();
        // The rejected rows are marked, not removed.
        assert_eq!(out.frame.height(), 4);
        assert_eq!(out.kept.as_deref(), Some(&[false, true, true, false][..]));
        assert_eq!(out.kept_rows(), 2);
        let mut out = out;
        out.drop_rejected().unwrap();
        assert_eq!((out.frame.height(), out.kept.is_none()), (2, true));
        let out_frame = out.frame.clone();
        let why = "ratio (derive.column[0]): not a finite number (NaN or infinite)";
        let rows: Vec<(i64, &str)> = out
            .rejects
            .iter()
            .map(|r| (r.source_row, r.rule.as_str()))
            .collect();
        assert_eq!(rows, [(2, why), (5, why)]);
        assert!(
            out.accounts[0]
                .outcomes
                .contains(&(Outcome::Rejected, why.into(), 2))
        );
        // A null (no tumour size) is missing, not non-finite: it stays.
        let kept = out_frame.column("ratio").unwrap().f64().unwrap().clone();
        assert_eq!(kept.get(1), None);
    }

    fn derive_ratio() -> DerivedColumn {
        derived("ratio", "1 / (size - 75)")
    }

    #[test]
    fn nan_stops_the_run_when_declared_naming_rows_not_values() {
        let mut c = derived("ratio", "(size - 75) / (size - 75)");
        c.on_nonfinite = Some(NonFinite::Fail);
        let err = derive(
            &config(vec![c]),
            &[],
            sizes(&[Some(80.0), Some(75.0)]),
            &["a".into()],
        )
        .err()
        .expect("the run stops")
        .to_string();
        assert!(err.contains("ratio (derive.column[0])"), "{err}");
        assert!(err.contains("1 row (a row 3)"), "{err}");
        assert!(!err.contains("75"), "{err}");
    }

    #[test]
    fn the_derive_section_default_applies_to_every_column() {
        let mut cfg = config(vec![derive_ratio()]);
        cfg.on_nonfinite = NonFinite::Fail;
        assert!(derive(&cfg, &[], sizes(&[Some(75.0)]), &["a".into()]).is_err());
        cfg.columns[0].on_nonfinite = Some(NonFinite::Reject);
        let out = derive(&cfg, &[], sizes(&[Some(75.0)]), &["a".into()]).unwrap();
        assert_eq!(out.rejects.len(), 1);
    }

    #[test]
    fn a_derived_range_rejects_or_flags() {
        let mut c = derived("double", "size * 2");
        c.max = Some(Spanned::new(0..0, Limit::Number(100.0)));
        let out = derive(
            &config(vec![c.clone()]),
            &[],
            sizes(&[Some(10.0), Some(60.0)]),
            &["a".into()],
        )
        .unwrap();
        assert_eq!(out.rejects.len(), 1);
        assert_eq!(
            out.rejects[0].rule,
            "double out of range (derive.column[0])"
        );
        c.out_of_range = Some(Spanned::new(0..0, RangeAction::Flag));
        let out = derive(
            &config(vec![c]),
            &[],
            sizes(&[Some(10.0), Some(60.0)]),
            &["a".into()],
        )
        .unwrap();
        assert!(out.rejects.is_empty());
        assert!(out.accounts[0].outcomes.contains(&(
            Outcome::Flagged,
            "double out of range (derive.column[0])".into(),
            1
        )));
    }

    #[test]
    fn a_range_on_a_text_column_is_a_configuration_problem() {
        let mut c = derived("label", "'x'");
        c.min = Some(Spanned::new(0..0, Limit::Number(1.0)));
        let (_, problems) = validate(&config(vec![c]), &[], &sizes(&[]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "derive.column[0].min");
    }

    #[test]
    fn cutoff_dates_parse_strictly() {
        assert_eq!(parse_cutoff("1970-01-02"), Ok(1));
        assert_eq!(parse_cutoff("2023-06-30"), Ok(19538));
        assert!(parse_cutoff("2023-02-30").is_err());
        assert!(parse_cutoff("30.06.2023").is_err());
    }
}

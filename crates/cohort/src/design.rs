//! Design warnings: a criterion or an arm whose condition uses something
//! known only after an endpoint's origin, found by lineage
//! ([`cohortflow_core::lineage`]) rather than by the names in the
//! condition, and worded as what the condition guarantees.
//!
//! A part of a condition (between top-level `AND`s) is judged against each
//! distinct origin of the analysed endpoints. The dates it depends on
//! (through derived columns) that count as known after the origin are the
//! endpoints' event and censoring dates (after the origin by definition),
//! and any other date that is after the origin in at least one of the rows
//! the condition judged (an arm's rows; for a criterion, the rows it
//! judged). Then:
//!
//! - `x IS NOT NULL` of such a date: immortal time ("S requires
//!   surgery_date: S is credited with the time from im_start to
//!   surgery_date, in which its patients could not have an event");
//! - `x > c` of a duration built from event dates: the group cannot have
//!   an event before `c` ("NS requires response_months > 12: NS cannot
//!   have an event of pfs or os, nor leave follow-up, before 12 months after
//!   im_start");
//! - anything else: the condition is known only at those dates.
//!
//! `[[design.acknowledge]]` keeps a warning with a reason; it is still
//! shown, as acknowledged.

use crate::{ARM, CohortConfig, CohortError};
use cohortflow_core::ConfigProblem;
use cohortflow_core::lineage::{
    ConditionKind, Conjunct, DesignWarning, DesignWarningKind, Lineage, Shape, conjuncts,
};
use cohortflow_core::table;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::BTreeSet;

/// The `[design]` section of a pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignConfig {
    /// Design warnings the study keeps on purpose, each with its reason.
    #[serde(default)]
    pub acknowledge: Vec<Acknowledge>,
}

/// `[[design.acknowledge]]`: the design warnings of one arm or criterion
/// are kept on purpose, for `reason`. They are still shown (results.json,
/// log, report), marked acknowledged with the reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledge {
    /// The arm's name.
    pub arm: Option<String>,
    /// The criterion's name.
    pub criterion: Option<String>,
    pub reason: String,
}

impl Acknowledge {
    fn target(&self) -> Option<(ConditionKind, &str)> {
        match (&self.arm, &self.criterion) {
            (Some(a), None) => Some((ConditionKind::Arm, a)),
            (None, Some(c)) => Some((ConditionKind::Criterion, c)),
            _ => None,
        }
    }
}

/// The problems of the `[design]` section: each acknowledgement names one
/// existing arm or criterion and gives a reason.
pub fn validate_design(design: &DesignConfig, cohort: &CohortConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, a) in design.acknowledge.iter().enumerate() {
        let key = format!("design.acknowledge[{i}]");
        match a.target() {
            None => problems.push(ConfigProblem::new(
                key.clone(),
                None,
                "an acknowledgement names one arm or one criterion",
                "arm = \"<arm name>\" or criterion = \"<criterion name>\", and reason = \"...\"",
            )),
            Some((ConditionKind::Arm, name)) if !cohort.arms.iter().any(|x| x.name == name) => {
                problems.push(ConfigProblem::new(
                    format!("{key}.arm"),
                    None,
                    format!("unknown arm '{name}'"),
                    format!(
                        "one of the arms: {}",
                        cohort
                            .arms
                            .iter()
                            .map(|x| x.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            Some((ConditionKind::Criterion, name))
                if !cohort.criteria.iter().any(|x| x.name == name) =>
            {
                problems.push(ConfigProblem::new(
                    format!("{key}.criterion"),
                    None,
                    format!("unknown criterion '{name}'"),
                    "the name of a [[cohort.criterion]]",
                ))
            }
            Some(_) => {}
        }
        if a.reason.trim().is_empty() {
            problems.push(ConfigProblem::new(
                format!("{key}.reason"),
                None,
                "an acknowledgement without a reason",
                "reason = \"why the design keeps this condition\"",
            ));
        }
    }
    problems
}

/// The acknowledgements that match no design warning of the run, as
/// warnings: an acknowledgement that keeps nothing would mislead a reader.
pub fn unused_acknowledgements(design: &DesignConfig, warnings: &[DesignWarning]) -> Vec<String> {
    design
        .acknowledge
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let (step, name) = a.target()?;
            (!warnings.iter().any(|w| w.step == step && w.name == name)).then(|| {
                format!(
                    "design.acknowledge[{i}]: {} {name} has no design warning to acknowledge (its condition uses nothing known after an endpoint's origin); remove the acknowledgement",
                    step.name()
                )
            })
        })
        .collect()
}

/// An endpoint as the design check needs it: its origin and the dates that
/// end its follow-up.
#[derive(Debug, Clone)]
pub struct EndpointDates {
    pub name: String,
    pub origin: String,
    pub events: Vec<String>,
    pub censor: Option<String>,
}

/// The design warnings of the criteria and arms. `before_criteria` holds
/// the rows the criteria judged (the derive stage's table); `cohort` the
/// cohort, with its `arm` column. The same as [`criteria_warnings`]
/// followed by [`arm_warnings`].
pub fn design_warnings(
    cfg: &CohortConfig,
    design: &DesignConfig,
    lineage: &Lineage,
    endpoints: &[EndpointDates],
    before_criteria: &DataFrame,
    cohort: &DataFrame,
) -> Result<Vec<DesignWarning>, CohortError> {
    let mut out = criteria_warnings(cfg, design, lineage, endpoints, before_criteria, None)?;
    out.extend(arm_warnings(cfg, design, lineage, endpoints, cohort)?);
    Ok(out)
}

/// The origins of the analysed endpoints, each once.
fn origins(endpoints: &[EndpointDates]) -> Vec<&str> {
    let mut origins: Vec<&str> = endpoints.iter().map(|e| e.origin.as_str()).collect();
    origins.sort();
    origins.dedup();
    origins
}

/// The warnings of one condition (`sql`) judged as `judged` says: each of
/// its conjuncts against each endpoint origin.
fn condition_warnings(
    judged: &Judged,
    sql: &str,
    origins: &[&str],
    lineage: &Lineage,
    endpoints: &[EndpointDates],
) -> Result<Vec<DesignWarning>, CohortError> {
    let what = format!("{} {}", judged.step.name(), judged.name);
    let parts = conjuncts(sql).map_err(|message| CohortError::Condition { what, message })?;
    let mut out = Vec::new();
    for part in &parts {
        for origin in origins {
            out.extend(warn(judged, part, origin, lineage, endpoints)?);
        }
    }
    Ok(out)
}

/// The design warnings of the criteria, judged on the rows of
/// `before_criteria` (the derive stage's table) that `kept` marks (`None`:
/// all). The pipeline takes them before the selection so that the
/// selection may consume that table.
pub fn criteria_warnings(
    cfg: &CohortConfig,
    design: &DesignConfig,
    lineage: &Lineage,
    endpoints: &[EndpointDates],
    before_criteria: &DataFrame,
    kept: Option<&[bool]>,
) -> Result<Vec<DesignWarning>, CohortError> {
    let origins = origins(endpoints);
    let all;
    let rows = match kept {
        Some(k) => k,
        None => {
            all = vec![true; before_criteria.height()];
            &all
        }
    };
    // Each criterion judged on a core of its own; the warnings (and the
    // first error) in the declared order.
    let each: Vec<Result<Vec<DesignWarning>, CohortError>> = cfg
        .criteria
        .par_iter()
        .map(|c| {
            let judged = Judged {
                step: ConditionKind::Criterion,
                name: &c.name,
                frame: before_criteria,
                rows,
            };
            condition_warnings(&judged, c.condition.get_ref(), &origins, lineage, endpoints)
        })
        .collect();
    let out = each.into_iter().collect::<Result<Vec<_>, _>>()?.concat();
    Ok(acknowledged(out, design))
}

/// The design warnings of the arms, judged on `cohort` (with its `arm`
/// column).
pub fn arm_warnings(
    cfg: &CohortConfig,
    design: &DesignConfig,
    lineage: &Lineage,
    endpoints: &[EndpointDates],
    cohort: &DataFrame,
) -> Result<Vec<DesignWarning>, CohortError> {
    let origins = origins(endpoints);
    let mut out = Vec::new();
    if !cfg.arms.is_empty() {
        let arms = cohort.column(ARM)?;
        // Each arm judged on a core of its own (at 10M the two arms'
        // judgement was 0.2 s on one core, perf); the warnings (and the
        // first error) in the declared order.
        let each: Vec<Result<Vec<DesignWarning>, CohortError>> = cfg
            .arms
            .par_iter()
            .map(|a| {
                let in_arm = cohortflow_core::table::equals_text(arms, &a.name)?;
                let judged = Judged {
                    step: ConditionKind::Arm,
                    name: &a.name,
                    frame: cohort,
                    rows: &in_arm,
                };
                condition_warnings(&judged, a.condition.get_ref(), &origins, lineage, endpoints)
            })
            .collect();
        out = each.into_iter().collect::<Result<Vec<_>, _>>()?.concat();
    }
    Ok(acknowledged(out, design))
}

/// The warnings with the reason of the acknowledgement that names their
/// step and condition, if any.
fn acknowledged(mut out: Vec<DesignWarning>, design: &DesignConfig) -> Vec<DesignWarning> {
    for w in &mut out {
        w.acknowledged = design
            .acknowledge
            .iter()
            .find(|a| a.target() == Some((w.step, w.name.as_str())))
            .map(|a| a.reason.clone());
    }
    out
}

/// A condition's step, name and the rows it judged.
struct Judged<'a> {
    step: ConditionKind,
    name: &'a str,
    frame: &'a DataFrame,
    rows: &'a [bool],
}

impl Judged<'_> {
    /// The subject of the sentence: the arm, or the cohort a criterion makes.
    fn subject(&self) -> String {
        match self.step {
            ConditionKind::Arm => self.name.to_string(),
            ConditionKind::Criterion => format!("the cohort (criterion '{}')", self.name),
        }
    }

    fn who(&self) -> &'static str {
        match self.step {
            ConditionKind::Arm => "its patients",
            ConditionKind::Criterion => "the cohort's patients",
        }
    }
}

fn warn(
    judged: &Judged,
    part: &Conjunct,
    origin: &str,
    lineage: &Lineage,
    endpoints: &[EndpointDates],
) -> Result<Option<DesignWarning>, CohortError> {
    let frame = judged.frame;
    let from_origin: Vec<&EndpointDates> =
        endpoints.iter().filter(|e| e.origin == origin).collect();
    let follow_up: BTreeSet<&str> = from_origin
        .iter()
        .flat_map(|e| e.events.iter().chain(&e.censor).map(String::as_str))
        .collect();
    let dates: BTreeSet<String> = part
        .columns
        .iter()
        .flat_map(|c| lineage.known_at(c))
        .collect();
    // Days as one array each, read row by row in step (a chunked
    // array's `get` finds each row's chunk again: on ten million rows that
    // made the arms' warnings a third of a second).
    let origin_days = table::date_days(frame, origin)?;
    let origin_days = origin_days.rechunk();
    let o = origin_days.downcast_as_array();
    let mut post = Vec::new();
    let mut after_any = vec![false; frame.height()];
    for d in dates.iter().filter(|d| d.as_str() != origin) {
        let is_date = frame.column(d).is_ok_and(|c| c.dtype() == &DataType::Date);
        if !is_date {
            continue;
        }
        let days = table::date_days(frame, d)?;
        let days = days.rechunk();
        let days = days.downcast_as_array();
        let mut after_here = false;
        let rows = days.iter().zip(o.iter()).zip(judged.rows);
        for (((x, o), &judged), after) in rows.zip(after_any.iter_mut()) {
            if judged && matches!((x, o), (Some(x), Some(o)) if x > o) {
                *after = true;
                after_here = true;
            }
        }
        if follow_up.contains(d.as_str()) || after_here {
            post.push(d.clone());
        }
    }
    if post.is_empty() {
        return Ok(None);
    }
    let rows = judged.rows.iter().filter(|x| **x).count() as u64;
    let rows_after = after_any.iter().filter(|x| **x).count() as u64;
    let subject = judged.subject();
    let ends: Vec<&str> = post
        .iter()
        .map(String::as_str)
        .filter(|d| follow_up.contains(d))
        .collect();
    let touched: Vec<String> = from_origin
        .iter()
        .filter(|e| e.events.iter().chain(&e.censor).any(|d| post.contains(d)))
        .map(|e| e.name.clone())
        .collect();
    let all_endpoints: Vec<String> = from_origin.iter().map(|e| e.name.clone()).collect();
    let listed = post.join(", ");
    let (kind, endpoints_named, guarantee) = match &part.shape {
        Shape::NotNull(_) if ends.is_empty() => (
            DesignWarningKind::ImmortalTime,
            all_endpoints.clone(),
            format!(
                "{subject} requires {listed} ({}): {subject} is credited with the time from {origin} to {listed} ({rows_after} of its {rows} patients have it after {origin}), in which {} could not have an event of {} (immortal time). Compare from the exposure instead: a landmark analysis or a time-varying Cox model.",
                part.text,
                judged.who(),
                or_list(&all_endpoints)
            ),
        ),
        Shape::AtLeast {
            column,
            value,
            strict,
        } if !ends.is_empty() => {
            let by = match lineage.unit(column) {
                Some(unit) => format!("{value} {unit} after {origin}"),
                None => format!("{column} reaches {value}"),
            };
            let leave = from_origin
                .iter()
                .filter(|e| touched.contains(&e.name))
                .any(|e| e.censor.as_ref().is_some_and(|c| post.contains(c)));
            (
                DesignWarningKind::ConditionedOnFuture,
                touched.clone(),
                format!(
                    "{subject} requires {}: {subject} cannot have an event of {}{} {} {by} ({column} is known only at {}, after {origin}).",
                    part.text,
                    or_list(&touched),
                    if leave { ", nor leave follow-up," } else { "" },
                    if *strict { "at or before" } else { "before" },
                    or_list(&ends.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                ),
            )
        }
        _ => {
            let named = if touched.is_empty() {
                all_endpoints.clone()
            } else {
                touched.clone()
            };
            (
                if ends.is_empty() {
                    DesignWarningKind::ImmortalTime
                } else {
                    DesignWarningKind::ConditionedOnFuture
                },
                named.clone(),
                format!(
                    "{subject} requires {}, which is known only at {listed}, after {origin} for {rows_after} of {rows} patients: who is in {subject} depends on the course after {origin}, and the comparison of {} from {origin} carries it.",
                    part.text,
                    or_list(&named)
                ),
            )
        }
    };
    Ok(Some(DesignWarning {
        kind,
        step: judged.step,
        name: judged.name.to_string(),
        condition: part.text.clone(),
        origin: origin.to_string(),
        endpoints: endpoints_named,
        known_at: post,
        rows_after,
        rows,
        guarantee,
        acknowledged: None,
    }))
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Arm, Criterion};
    use cohortflow_core::Spanned;
    use cohortflow_core::schema::Schema;

    fn schema() -> Schema {
        let mut columns = String::new();
        for (name, kind) in [
            ("im_start", "date"),
            ("diagnosis_date", "date"),
            ("surgery_date", "date"),
            ("death_date", "date"),
            ("last_followup", "date"),
            ("grade", "integer"),
        ] {
            columns.push_str(&format!(
                "[[column]]\nname = \"{name}\"\ntype = \"{kind}\"\n"
            ));
        }
        toml::from_str(&format!("name = \"t\"\n{columns}")).unwrap()
    }

    /// Three patients: origin day 100; diagnosis before it; surgery after
    /// it for the first two; the arm column as the cohort stage leaves it.
    fn frame() -> DataFrame {
        let date = |name: &str, v: [Option<i32>; 3]| {
            Column::new(name.into(), v).cast(&DataType::Date).unwrap()
        };
        DataFrame::new(
            3,
            vec![
                date("im_start", [Some(100), Some(100), Some(100)]),
                date("diagnosis_date", [Some(50), Some(90), Some(99)]),
                date("surgery_date", [Some(150), Some(300), None]),
                date("death_date", [None, Some(400), None]),
                date("last_followup", [Some(900), Some(400), Some(700)]),
                Column::new("grade".into(), [1i64, 2, 3]),
                Column::new(ARM.into(), ["A", "A", "B"]),
            ],
        )
        .unwrap()
    }

    fn cohort(criteria: &[(&str, &str)], arms: &[(&str, &str)]) -> CohortConfig {
        CohortConfig {
            criteria: criteria
                .iter()
                .map(|(n, c)| Criterion {
                    name: n.to_string(),
                    condition: Spanned::new(0..0, c.to_string()),
                })
                .collect(),
            arms: arms
                .iter()
                .map(|(n, c)| Arm {
                    name: n.to_string(),
                    label: String::new(),
                    condition: Spanned::new(0..0, c.to_string()),
                })
                .collect(),
        }
    }

    fn os() -> Vec<EndpointDates> {
        vec![EndpointDates {
            name: "os".into(),
            origin: "im_start".into(),
            events: vec!["death_date".into()],
            censor: Some("last_followup".into()),
        }]
    }

    fn lineage(derived: &[(&str, &str)]) -> Lineage {
        let mut l = Lineage::from_schema(&schema());
        for (n, e) in derived {
            l.add_derived(n, e).unwrap();
        }
        l
    }

    #[test]
    fn baseline_columns_and_dates_before_the_origin_are_not_flagged() {
        let cfg = cohort(
            &[
                ("grade", "grade < 3"),
                ("diagnosed", "diagnosis_date IS NOT NULL"),
            ],
            &[("A", "grade <= 2"), ("B", "grade = 3")],
        );
        let w = design_warnings(
            &cfg,
            &DesignConfig::default(),
            &lineage(&[]),
            &os(),
            &frame(),
            &frame(),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
    }

    /// A criterion's warning counts only the rows an earlier stage kept,
    /// as on the table filtered by them: every mark of the three rows.
    #[test]
    fn criteria_warnings_count_only_the_kept_rows() {
        let cfg = cohort(&[("operated", "surgery_date IS NOT NULL")], &[]);
        let l = lineage(&[]);
        let design = DesignConfig::default();
        let mut seen = BTreeSet::new();
        for bits in 0u8..8 {
            let kept: Vec<bool> = (0..3).map(|i| bits & (1 << i) != 0).collect();
            let filtered = frame()
                .filter(&BooleanChunked::from_slice("k".into(), &kept))
                .unwrap();
            let marked =
                criteria_warnings(&cfg, &design, &l, &os(), &frame(), Some(&kept)).unwrap();
            let first = criteria_warnings(&cfg, &design, &l, &os(), &filtered, None).unwrap();
            assert_eq!(format!("{marked:?}"), format!("{first:?}"), "kept {kept:?}");
            seen.insert(marked.first().map(|w| (w.rows_after, w.rows)));
        }
        // The counts do follow the marks: no warning without an operated
        // row kept, else 1 or 2 operated of 1 to 3 rows.
        assert!(seen.len() >= 5, "{seen:?}");
    }

    #[test]
    fn an_arm_by_a_later_date_is_immortal_time_through_a_derived_column() {
        // The arm does not name surgery_date: the derived column does.
        let l = lineage(&[(
            "months_to_surgery",
            "(CAST(surgery_date AS INTEGER) - CAST(im_start AS INTEGER)) / 30.4375",
        )]);
        let cfg = cohort(
            &[],
            &[
                ("A", "months_to_surgery IS NOT NULL"),
                ("B", "months_to_surgery IS NULL"),
            ],
        );
        let w = design_warnings(
            &cfg,
            &DesignConfig::default(),
            &l,
            &os(),
            &frame(),
            &frame(),
        )
        .unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, DesignWarningKind::ImmortalTime);
        assert_eq!(w[0].name, "A");
        assert_eq!(w[0].known_at, ["surgery_date"]);
        assert_eq!((w[0].rows_after, w[0].rows), (2, 2));
        assert!(
            w[0].guarantee.starts_with(
                "A requires surgery_date (months_to_surgery IS NOT NULL): A is credited with the time from im_start to surgery_date"
            ),
            "{}",
            w[0].guarantee
        );
    }

    #[test]
    fn a_criterion_on_a_duration_of_follow_up_guarantees_no_early_event() {
        let l = lineage(&[(
            "followed_days",
            "CAST(COALESCE(death_date, last_followup) AS INTEGER) - CAST(im_start AS INTEGER)",
        )]);
        let cfg = cohort(
            &[("long follow-up", "grade > 0 AND followed_days >= 90")],
            &[],
        );
        let ack = DesignConfig {
            acknowledge: vec![Acknowledge {
                arm: None,
                criterion: Some("long follow-up".into()),
                reason: "a check of data completeness".into(),
            }],
        };
        let w = design_warnings(&cfg, &ack, &l, &os(), &frame(), &frame()).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, DesignWarningKind::ConditionedOnFuture);
        assert_eq!(w[0].step, ConditionKind::Criterion);
        assert_eq!(w[0].condition, "followed_days >= 90");
        assert_eq!(
            w[0].guarantee,
            "the cohort (criterion 'long follow-up') requires followed_days >= 90: the cohort (criterion 'long follow-up') cannot have an event of os, nor leave follow-up, before 90 days after im_start (followed_days is known only at death_date or last_followup, after im_start)."
        );
        assert_eq!(
            w[0].acknowledged.as_deref(),
            Some("a check of data completeness")
        );
        assert!(
            w[0].text()
                .contains("(acknowledged: a check of data completeness)")
        );
    }

    #[test]
    fn acknowledgements_name_one_existing_arm_or_criterion_with_a_reason() {
        let cfg = cohort(&[("c", "grade > 0")], &[("A", "grade <= 2")]);
        let ack = |arm: Option<&str>, criterion: Option<&str>, reason: &str| DesignConfig {
            acknowledge: vec![Acknowledge {
                arm: arm.map(String::from),
                criterion: criterion.map(String::from),
                reason: reason.into(),
            }],
        };
        assert!(validate_design(&ack(Some("A"), None, "why"), &cfg).is_empty());
        assert!(validate_design(&ack(None, Some("c"), "why"), &cfg).is_empty());
        for (bad, key) in [
            (ack(Some("Z"), None, "why"), "design.acknowledge[0].arm"),
            (
                ack(None, Some("z"), "why"),
                "design.acknowledge[0].criterion",
            ),
            (ack(Some("A"), Some("c"), "why"), "design.acknowledge[0]"),
            (ack(Some("A"), None, " "), "design.acknowledge[0].reason"),
        ] {
            let p = validate_design(&bad, &cfg);
            assert_eq!(p.len(), 1, "{bad:?}");
            assert_eq!(p[0].key, key);
        }
    }
}

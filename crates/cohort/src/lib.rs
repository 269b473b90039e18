//! The cohort stage: ordered inclusion criteria, arm assignment, attrition.
//!
//! Criteria are named SQL conditions applied in order; a row stays when the
//! condition is true (false or NULL exclude it: a row whose eligibility
//! cannot be established is not included, and the attrition table shows
//! it). Arms are SQL conditions too; every remaining row must fall in
//! exactly one arm or none (then it is excluded as "in no arm"); a row in two
//! arms stops the run, since the design is then ambiguous.
//!
//! The attrition table counts, for every step, every source and every arm,
//! the rows before the step, removed by it and after it, including steps
//! that removed nobody. The arm of a row that was excluded early is the arm
//! it would have fallen in, so a reader sees whom each criterion took from
//! which comparison group.
//!
//! [`design`] finds the criteria and arms whose condition uses something
//! known only after an endpoint's origin (by the lineage of the columns,
//! [`cohortflow_core::lineage`]) and says what each guarantees: the design
//! warnings (immortal time, a condition on the future).
//!
//! Depends on cohortflow-core, cohortflow-stats (logistic regression,
//! matching, balance), polars and serde. Matching lives in [`matching`].

pub mod design;
mod error;
pub mod matching;

pub use error::CohortError;

use cohortflow_core::expr;
use cohortflow_core::ledger::{Outcome, StageAccount};
use cohortflow_core::table;
use cohortflow_core::{ConfigProblem, Spanned};
use polars::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;
use std::fmt::Write as _;

/// Name of the column that holds a row's arm.
pub const ARM: &str = "arm";
const STAGE: &str = "cohort";
/// The last attrition step: rows that satisfied every criterion but no arm.
pub const NO_ARM_STEP: &str = "in no arm";
/// Arm label, in the attrition table, of rows that fall in no arm.
pub const NO_ARM: &str = "(none)";
/// Working column: how many arm conditions hold for the row.
const ARMS_HELD: &str = "__arms_held";

/// The `[cohort]` section of a pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortConfig {
    #[serde(default, rename = "criterion")]
    pub criteria: Vec<Criterion>,
    /// The arms; none = the whole cohort is one group ([`WHOLE_COHORT`]).
    #[serde(default, rename = "arm")]
    pub arms: Vec<Arm>,
}

/// The one group of a study that declares no arms: (name, label).
pub const WHOLE_COHORT: (&str, &str) = ("cohort", "All patients");

impl CohortConfig {
    /// The groups the analysis compares, as (name, label), in declared
    /// order: the arms, or the whole cohort when no arm is declared.
    pub fn groups(&self) -> Vec<(String, String)> {
        if self.arms.is_empty() {
            vec![(WHOLE_COHORT.0.to_string(), WHOLE_COHORT.1.to_string())]
        } else {
            self.arms
                .iter()
                .map(|a| (a.name.clone(), a.label().to_string()))
                .collect()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    /// SQL condition a row must satisfy to stay.
    #[serde(rename = "where")]
    pub condition: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Short name used in tables (`S`, `NS`).
    pub name: String,
    /// Human-readable name; defaults to the short name.
    #[serde(default)]
    pub label: String,
    #[serde(rename = "where")]
    pub condition: Spanned<String>,
}

impl Arm {
    pub fn label(&self) -> &str {
        if self.label.is_empty() {
            &self.name
        } else {
            &self.label
        }
    }
}

pub struct Selected {
    /// The cohort: every column of the input plus `arm`.
    pub frame: DataFrame,
    /// The eligible patients: every row that passed the criteria, before
    /// the arms step (a row in no arm has `arm` = [`NO_ARM`]). The
    /// population of the landmark and time-varying analyses by default.
    /// `None` unless `select` was asked to keep them.
    pub eligible: Option<DataFrame>,
    pub accounts: Vec<StageAccount>,
    pub attrition: Vec<AttritionRow>,
}

/// One line of `attrition.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttritionRow {
    pub step: usize,
    pub criterion: String,
    /// A source name, or `all`.
    pub source: String,
    /// An arm name, [`NO_ARM`], or `all`.
    pub arm: String,
    pub before: u64,
    pub removed: u64,
    pub after: u64,
}

pub fn validate(cfg: &CohortConfig, frame: &DataFrame) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut check = |key: String, name: &str, cond: &Spanned<String>| {
        if let Err(e) = expr::compile_checked(cond.get_ref(), frame, true) {
            problems.push(ConfigProblem::new(
                key,
                Some(cond.span()),
                format!("'{name}': {e}"),
                "a SQL condition over the schema's and the derived columns",
            ));
        }
    };
    for (i, c) in cfg.criteria.iter().enumerate() {
        check(
            format!("cohort.criterion[{i}].where"),
            &c.name,
            &c.condition,
        );
    }
    for (i, a) in cfg.arms.iter().enumerate() {
        check(format!("cohort.arm[{i}].where"), &a.name, &a.condition);
    }
    for (i, a) in cfg.arms.iter().enumerate() {
        if cfg.arms[..i].iter().any(|b| b.name == a.name) || a.name == "all" || a.name == NO_ARM {
            problems.push(ConfigProblem::new(
                format!("cohort.arm[{i}].name"),
                Some(a.condition.span()),
                format!("arm name '{}' is used twice or reserved", a.name),
                "a unique short name other than `all`",
            ));
        }
    }
    problems
}

fn condition(what: &str, sql: &str) -> Result<Expr, CohortError> {
    expr::compile(sql).map_err(|message| CohortError::Condition {
        what: what.to_string(),
        message,
    })
}

/// Applies the criteria in order and assigns arms.
///
/// Each criterion is evaluated on only the columns it names, taken from the
/// rows still in; the whole table is filtered once, at the end (and once
/// more for the eligible patients when `keep_eligible` asks for them).
///
/// `kept` marks the rows of `frame` an earlier stage kept (`None`: all):
/// the others are not in the cohort stage at all (not counted, not in any
/// step or arm), as if `frame` had been filtered by it first.
pub fn select(
    cfg: &CohortConfig,
    frame: DataFrame,
    kept: Option<Vec<bool>>,
    sources: &[String],
    keep_eligible: bool,
) -> Result<Selected, CohortError> {
    let n = frame.height();
    if let Some(k) = kept.as_ref().filter(|k| k.len() != n) {
        let e = polars_err!(ShapeMismatch: "kept marks {} rows of a table of {n}", k.len());
        return Err(e.into());
    }
    // The sources' rows, found once for the accounts and the source codes
    // below (the arm columns add no row and move none).
    let runs = table::SourceRuns::of(&frame, sources)?;
    let mut accounts = match &kept {
        None => runs.accounts(STAGE, sources),
        Some(k) => runs
            .counts_where(&BooleanChunked::from_slice("kept".into(), k))?
            .into_iter()
            .zip(sources)
            .map(|(rows, s)| StageAccount::new(STAGE, s, rows))
            .collect(),
    };

    // Each row's prospective arm, and how many arm conditions hold for it
    // (the count, not the name, decides whether arms overlap: an arm's name
    // is data and may contain any character). A row in several arms is
    // labelled with their names joined by " & " in the attrition table.
    // The arms' conditions are evaluated side by side (each a core, the
    // first error in the declared order), each made a list of yes/no.
    let masks: Vec<Result<Vec<bool>, CohortError>> = cfg
        .arms
        .par_iter()
        .map(|a| {
            let what = format!("arm {}", a.name);
            let mask = eval_condition(&frame, &what, condition(&what, a.condition.get_ref())?)?;
            Ok(mask.iter().map(|v| v == Some(true)).collect())
        })
        .collect();
    let masks: Vec<Vec<bool>> = masks.into_iter().collect::<Result<_, _>>()?;
    let mut arm_names: Vec<String> = cfg.groups().into_iter().map(|(n, _)| n).collect();
    if !cfg.arms.is_empty() {
        arm_names.push(NO_ARM.to_string());
    }
    // Each row's arm as a code into `arm_labels`: the declared arms, then
    // "(none)", then the combinations of several arms in the order they
    // first appear (a row in several arms stops the run unless a criterion
    // excludes it first). A row not kept is in none: it leaves at the end.
    let is_kept = |i: usize| kept.as_ref().is_none_or(|k| k[i]);
    let mut arm_labels = arm_names.clone();
    let mut arm_code: Vec<u32> = Vec::with_capacity(n);
    let mut arms_held: Vec<u32> = Vec::with_capacity(n);
    for i in 0..n {
        // How many arms hold the row, and the first of them.
        let (mut held, mut first) = (0u32, 0usize);
        if is_kept(i) {
            for (k, mask) in masks.iter().enumerate() {
                if mask[i] {
                    if held == 0 {
                        first = k;
                    }
                    held += 1;
                }
            }
        }
        arms_held.push(if cfg.arms.is_empty() { 1 } else { held });
        let code = match held {
            _ if cfg.arms.is_empty() => 0,
            0 => cfg.arms.len(),
            1 => first,
            _ => {
                let name = (0..masks.len())
                    .filter(|&k| masks[k][i])
                    .map(|k| cfg.arms[k].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" & ");
                match arm_labels.iter().position(|l| *l == name) {
                    Some(c) => c,
                    None => {
                        arm_labels.push(name);
                        arm_labels.len() - 1
                    }
                }
            }
        };
        arm_code.push(code as u32);
    }
    drop(masks);
    // The arm column holds the codes, as an `Enum` of the labels (one byte
    // a row instead of a 16-byte text view), read as text where shown.
    let arm_of = table::code_column(ARM, &arm_labels, &arm_code)?;
    let mut frame = frame;
    frame.with_column(arm_of)?;
    frame.with_column(Column::new(ARMS_HELD.into(), arms_held))?;
    // Each row's source as a code into `sources` (`None`: not a declared
    // source, counted under "all" only).
    let mut source_code: Vec<Option<u32>> = Vec::with_capacity(n);
    for &(first, end, code) in runs.runs() {
        source_code.extend(std::iter::repeat_n(code.map(|c| c as u32), end - first));
    }
    // From here on `arm_code` and `source_code` hold the rows still in.
    if let Some(k) = &kept {
        let mut it = k.iter();
        arm_code.retain(|_| *it.next().expect("one per row"));
        let mut it = k.iter();
        source_code.retain(|_| *it.next().expect("one per row"));
    }

    let mut attrition = Vec::new();

    let steps: Vec<(String, Option<&Spanned<String>>)> = cfg
        .criteria
        .iter()
        .map(|c| (c.name.clone(), Some(&c.condition)))
        // With no arm declared nobody can be in no arm: no such step.
        .chain((!cfg.arms.is_empty()).then(|| (NO_ARM_STEP.to_string(), None)))
        .collect();
    let no_arm_code = cfg.arms.len() as u32;
    // The rows of `frame` still in after the steps so far.
    let mut alive = kept.unwrap_or_else(|| vec![true; n]);
    let mut eligible_rows = None;
    for (step, (name, cond)) in steps.iter().enumerate() {
        if cond.is_none() {
            eligible_rows = Some(alive.clone());
        }
        let keep: Vec<bool> = match cond {
            Some(c) => {
                let what = format!("criterion {name}");
                let expr = condition(&what, c.get_ref())?;
                let rows_in = cohortflow_core::table::rows_in(&frame, &alive, &expr)?;
                eval_condition(&rows_in, &what, expr)?
                    .iter()
                    .map(|v| v == Some(true))
                    .collect()
            }
            None => arm_code.iter().map(|&c| c != no_arm_code).collect(),
        };
        // Before and removed, per source (and "all") and arm label, in one
        // pass over the codes.
        let (ns, na) = (sources.len() + 1, arm_labels.len());
        let mut before = vec![0u64; ns * na];
        let mut removed = vec![0u64; ns * na];
        for i in 0..keep.len() {
            let a = arm_code[i] as usize;
            let s = source_code[i].map_or(sources.len(), |s| s as usize);
            before[s * na + a] += 1;
            if !keep[i] {
                removed[s * na + a] += 1;
            }
        }
        // The declared arms and "(none)", then the combinations present
        // before this step in the order they first appear among its rows.
        let mut arms_here: Vec<usize> = (0..arm_names.len()).collect();
        if arm_labels.len() > arm_names.len() {
            for &c in &arm_code {
                let c = c as usize;
                if c >= arm_names.len() && !arms_here.contains(&c) {
                    arms_here.push(c);
                }
            }
        }
        let total = |counts: &[u64], s: Option<usize>, a: Option<usize>| -> u64 {
            let rows: Vec<usize> = match s {
                Some(s) => vec![s],
                None => (0..ns).collect(),
            };
            rows.iter()
                .map(|&s| match a {
                    Some(a) => counts[s * na + a],
                    None => counts[s * na..(s + 1) * na].iter().sum(),
                })
                .sum()
        };
        for (si, source) in sources.iter().map(Some).chain([None]).enumerate() {
            let s = source.map(|_| si);
            for arm in arms_here.iter().copied().map(Some).chain([None]) {
                let b = total(&before, s, arm);
                let r = total(&removed, s, arm);
                attrition.push(AttritionRow {
                    step: step + 1,
                    criterion: name.clone(),
                    source: source.cloned().unwrap_or_else(|| "all".into()),
                    arm: arm.map_or_else(|| "all".into(), |a| arm_labels[a].clone()),
                    before: b,
                    removed: r,
                    after: b - r,
                });
            }
            if let Some(acc) = accounts.get_mut(si).filter(|_| source.is_some()) {
                acc.add(Outcome::Excluded, name, total(&removed, s, None));
            }
        }
        // The rows still in, in one pass: each row's codes moved down to
        // its place among them.
        let mut still = 0;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                arm_code[still] = arm_code[i];
                source_code[still] = source_code[i];
                still += 1;
            }
        }
        arm_code.truncate(still);
        source_code.truncate(still);
        let mut it = keep.iter();
        for a in alive.iter_mut().filter(|a| **a) {
            *a = *it.next().expect("one per row");
        }
    }
    let eligible = match (keep_eligible, &eligible_rows) {
        (true, Some(rows)) => {
            Some(frame.filter(&BooleanChunked::from_slice("eligible".into(), rows))?)
        }
        _ => None,
    };
    let frame = if alive.iter().all(|a| *a) {
        frame
    } else {
        table::filter_owned(frame, &BooleanChunked::from_slice("keep".into(), &alive))?
    };

    let ambiguous: Vec<String> = {
        // Only the rows in several arms are shown: their source and arm
        // are read one by one, as text (the columns hold codes).
        let held = frame.column(ARMS_HELD)?.u32()?;
        let text = |column: &str, i: usize| -> PolarsResult<String> {
            let v = frame.column(column)?.get(i)?;
            Ok(v.get_str().unwrap_or_default().to_string())
        };
        let mut rows = Vec::new();
        let several = held
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_some_and(|n| n > 1));
        for (i, _) in several {
            let (source, line) = table::provenance(&frame, i)?;
            rows.push(format!("{source} row {line} is in {}", text(ARM, i)?));
        }
        rows
    };
    if !ambiguous.is_empty() {
        return Err(CohortError::OverlappingArms { rows: ambiguous });
    }
    let eligible = match eligible {
        Some(e) => Some(e.drop(ARMS_HELD)?),
        None if keep_eligible => Some(frame.drop(ARMS_HELD)?),
        None => None,
    };
    let frame = frame.drop(ARMS_HELD)?;
    Ok(Selected {
        frame,
        eligible,
        accounts,
        attrition,
    })
}

fn eval_condition(
    frame: &DataFrame,
    what: &str,
    cond: Expr,
) -> Result<BooleanChunked, CohortError> {
    let out = frame
        .clone()
        .lazy()
        .select([expr::on_text(cond, frame.schema())
            .fill_null(lit(false))
            .alias("c")])
        .collect()
        .map_err(|e| CohortError::Condition {
            what: what.to_string(),
            message: e.to_string(),
        })?;
    Ok(cohortflow_core::table::broadcast(
        out.column("c")?.bool()?.clone(),
        frame.height(),
    ))
}

/// `attrition.csv`.
pub fn attrition_csv(rows: &[AttritionRow]) -> String {
    let mut s = String::from("step,criterion,source,arm,before,removed,after\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.step,
            cohortflow_core::table::csv_field(&r.criterion),
            cohortflow_core::table::csv_field(&r.source),
            cohortflow_core::table::csv_field(&r.arm),
            r.before,
            r.removed,
            r.after
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_core::table::{SOURCE, SOURCE_ROW};

    fn spanned(s: &str) -> Spanned<String> {
        Spanned::new(0..0, s.to_string())
    }

    /// The rows an earlier stage marked as not kept are as absent: on
    /// random tables, criteria (aggregates among them) and arms (some
    /// overlapping), the selection with the marks gives what it gives on
    /// the table filtered first, to the cohort, the eligible patients, the
    /// attrition, the accounts and the error. (The criteria's design
    /// warnings under marks: `design::tests`.)
    #[test]
    fn rows_marked_not_kept_are_as_absent() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x6b65_7074);
        let criteria = [
            "x < 5",
            "y IS NOT NULL",
            "x >= AVG(x)",
            "COUNT(*) > 3",
            "TRUE",
            "x <> 2 OR y = 1",
        ];
        let arms = ["x >= 3", "y = 1", "x < 3", "x = 2 AND y = 0", "x >= 1"];
        let sources = vec!["a".to_string(), "b".to_string()];
        let (mut agreed_ok, mut agreed_err) = (0, 0);
        for case in 0..300 {
            let n = rng.below(30);
            let src: Vec<&str> = (0..n).map(|_| ["a", "b", "c"][rng.below(3)]).collect();
            let x: Vec<i64> = (0..n).map(|_| rng.below(7) as i64).collect();
            let y: Vec<Option<i64>> = (0..n)
                .map(|_| [Some(0), Some(1), None][rng.below(3)])
                .collect();
            let frame = df! {
                SOURCE => src,
                SOURCE_ROW => (0..n as i64).collect::<Vec<_>>(),
                "x" => x,
                "y" => y,
            }
            .unwrap();
            let kept: Vec<bool> = (0..n).map(|_| rng.below(4) > 0).collect();
            let pick = |k: usize, pool: &[&str], rng: &mut cohortflow_stats::rng::SplitMix64| {
                (0..k)
                    .map(|_| pool[rng.below(pool.len())].to_string())
                    .collect::<Vec<_>>()
            };
            let cfg = CohortConfig {
                criteria: pick(rng.below(3), &criteria, &mut rng)
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| Criterion {
                        name: format!("c{i}"),
                        condition: spanned(&c),
                    })
                    .collect(),
                arms: pick(rng.below(3), &arms, &mut rng)
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| Arm {
                        name: format!("arm{i}"),
                        label: String::new(),
                        condition: spanned(&c),
                    })
                    .collect(),
            };
            let filtered = frame
                .filter(&BooleanChunked::from_slice("k".into(), &kept))
                .unwrap();
            let eligible = case % 2 == 0;
            let marked = select(&cfg, frame.clone(), Some(kept.clone()), &sources, eligible);
            let first = select(&cfg, filtered.clone(), None, &sources, eligible);
            match (marked, first) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.frame, b.frame, "case {case}");
                    assert_eq!(a.eligible, b.eligible, "case {case}");
                    assert_eq!(a.attrition, b.attrition, "case {case}");
                    assert_eq!(a.accounts, b.accounts, "case {case}");
                    agreed_ok += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string(), "case {case}");
                    agreed_err += 1;
                }
                (a, b) => panic!("case {case}: {:?} against {:?}", a.is_ok(), b.is_ok()),
            }
        }
        assert!(
            agreed_ok > 100 && agreed_err > 10,
            "{agreed_ok} ok, {agreed_err} errors"
        );
    }

    /// Each criterion sees only the rows the earlier ones kept, also when
    /// it is evaluated on the columns it names alone: an aggregate is taken
    /// over the rows still in, and a condition naming no column (or every
    /// column) behaves the same. The table is filtered once, and the
    /// eligible patients are kept only when asked for.
    #[test]
    fn criteria_see_the_rows_the_earlier_ones_kept() {
        let frame = df! {
            SOURCE => ["a", "a", "a", "a", "a", "b"],
            SOURCE_ROW => [1i64, 2, 3, 4, 5, 1],
            "x" => [1i64, 2, 3, 4, 10, 2],
            "y" => [0i64, 0, 0, 0, 0, 1],
        }
        .unwrap();
        let criterion = |name: &str, c: &str| Criterion {
            name: name.into(),
            condition: spanned(c),
        };
        let cfg = CohortConfig {
            criteria: vec![
                criterion("not large", "x < 10"),
                criterion("not b", "y = 0"),
                // Over the four rows still in the mean is 2.5 (over all six,
                // 3.67: only x = 4 would pass).
                criterion("at least the mean", "x >= AVG(x)"),
                criterion("a constant", "TRUE"),
                criterion("rows still in", "COUNT(*) = 2"),
            ],
            arms: vec![],
        };
        let sources = vec!["a".to_string(), "b".to_string()];
        let Ok(s) = select(&cfg, frame.clone(), None, &sources, false) else {
            panic!("the selection failed")
        };
        let x: Vec<Option<i64>> = s.frame.column("x").unwrap().i64().unwrap().iter().collect();
        assert_eq!(x, vec![Some(3), Some(4)]);
        assert_eq!(
            s.frame.width(),
            frame.width() + 1,
            "every column and the arm"
        );
        assert!(s.eligible.is_none());
        let removed: Vec<u64> = s
            .attrition
            .iter()
            .filter(|r| r.source == "all" && r.arm == "all")
            .map(|r| r.removed)
            .collect();
        assert_eq!(removed, vec![1, 1, 2, 0, 0]);
        let Ok(kept) = select(&cfg, frame, None, &sources, true) else {
            panic!("the selection failed")
        };
        assert_eq!(kept.eligible.map(|e| e.height()), Some(2));
    }

    /// Rows in two arms that a criterion removes are counted under their
    /// combined label, in the order the combinations first appear among
    /// the rows of each step, per source and overall; later steps no
    /// longer list them.
    #[test]
    fn attrition_counts_every_source_arm_and_combination() {
        let frame = df! {
            SOURCE => ["a", "b", "a", "b", "a", "b", "a"],
            SOURCE_ROW => [1i64, 1, 2, 2, 3, 3, 4],
            "x" => [1i64, 4, 2, 3, 0, 5, 2],
        }
        .unwrap();
        let cfg = CohortConfig {
            criteria: vec![Criterion {
                name: "small".into(),
                condition: spanned("x < 3 OR x = 5"),
            }],
            arms: vec![
                Arm {
                    name: "B".into(),
                    label: String::new(),
                    condition: spanned("x >= 3 AND x < 5"),
                },
                Arm {
                    name: "A".into(),
                    label: String::new(),
                    condition: spanned("x >= 2"),
                },
            ],
        };
        let sources = vec!["a".to_string(), "b".to_string()];
        // x = 5 is in A only; x = 3 and 4 are in both and excluded first.
        let Ok(s) = select(&cfg, frame.clone(), None, &sources, true) else {
            panic!("the selection failed")
        };
        assert_eq!(
            attrition_csv(&s.attrition),
            "step,criterion,source,arm,before,removed,after\n\
             1,small,a,B,0,0,0\n1,small,a,A,2,0,2\n1,small,a,(none),2,0,2\n1,small,a,B & A,0,0,0\n1,small,a,all,4,0,4\n\
             1,small,b,B,0,0,0\n1,small,b,A,1,0,1\n1,small,b,(none),0,0,0\n1,small,b,B & A,2,2,0\n1,small,b,all,3,2,1\n\
             1,small,all,B,0,0,0\n1,small,all,A,3,0,3\n1,small,all,(none),2,0,2\n1,small,all,B & A,2,2,0\n1,small,all,all,7,2,5\n\
             2,in no arm,a,B,0,0,0\n2,in no arm,a,A,2,0,2\n2,in no arm,a,(none),2,2,0\n2,in no arm,a,all,4,2,2\n\
             2,in no arm,b,B,0,0,0\n2,in no arm,b,A,1,0,1\n2,in no arm,b,(none),0,0,0\n2,in no arm,b,all,1,0,1\n\
             2,in no arm,all,B,0,0,0\n2,in no arm,all,A,3,0,3\n2,in no arm,all,(none),2,2,0\n2,in no arm,all,all,5,2,3\n"
        );
        assert_eq!(s.frame.height(), 3);
        assert_eq!(s.eligible.as_ref().map(DataFrame::height), Some(5));
        let excluded: Vec<(String, Vec<u64>)> = s
            .accounts
            .iter()
            .map(|a| (a.source.clone(), a.outcomes.iter().map(|o| o.2).collect()))
            .collect();
        assert_eq!(
            excluded,
            vec![("a".into(), vec![0, 2]), ("b".into(), vec![2, 0])]
        );

        // Left in, a row in two arms stops the run, named by source and row.
        let cfg = CohortConfig {
            criteria: Vec::new(),
            ..cfg
        };
        let Err(err) = select(&cfg, frame, None, &sources, true) else {
            panic!("rows in two arms were accepted")
        };
        let err = err.to_string();
        assert!(
            err.contains("b row 1 is in B & A") && err.contains("b row 2"),
            "{err}"
        );
    }
}

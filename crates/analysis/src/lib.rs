//! The analysis stage: per-arm summaries, Kaplan–Meier estimates and the
//! log-rank test on the selected cohort, gathered into `results.json` and the
//! `km.csv` curve table.
//!
//! All numbers come from cohortflow-stats (which is checked value by value
//! against R); this crate only pulls columns out of the cohort table, calls
//! the estimators, and names what it computed and with which convention.
//!
//! Depends on cohortflow-core, cohortflow-stats, polars and serde.

use cohortflow_core::ledger::csv_field;
use cohortflow_core::{ConfigProblem, Spanned};
use cohortflow_stats::{
    ConfType, KaplanMeier, KmOptions, QuantileEstimate, kaplan_meier, log_rank,
};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The `[analysis]` section of a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Endpoints to estimate and compare, by name (`[endpoints.<name>]`).
    pub endpoints: Spanned<Vec<String>>,
    /// Columns summarised per arm: counts per value for categories and
    /// booleans, median and quartiles for numbers.
    #[serde(default = "no_columns")]
    pub describe: Spanned<Vec<String>>,
    /// Scale of the Kaplan–Meier confidence intervals, as R's `conf.type`.
    #[serde(default)]
    pub conf_type: ConfTypeName,
    /// Confidence level of every interval.
    #[serde(default = "default_conf_level")]
    pub conf_level: f64,
}

fn no_columns() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}

fn default_conf_level() -> f64 {
    0.95
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ConfTypeName {
    #[default]
    #[serde(rename = "log")]
    Log,
    #[serde(rename = "log-log")]
    LogLog,
    #[serde(rename = "plain")]
    Plain,
}

impl ConfTypeName {
    fn to_stats(self) -> ConfType {
        match self {
            ConfTypeName::Log => ConfType::Log,
            ConfTypeName::LogLog => ConfType::LogLog,
            ConfTypeName::Plain => ConfType::Plain,
        }
    }
}

/// What the analysis needs to know of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointColumns {
    pub name: String,
    pub label: String,
    pub unit: String,
    pub time: String,
    pub event: String,
}

/// An arm: short name and label, in the order tables show them.
#[derive(Debug, Clone, Serialize)]
pub struct ArmInfo {
    pub name: String,
    pub label: String,
}

/// Everything the analysis computed; serialised as `results.json` and
/// documented in `docs/results.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub arms: Vec<ArmCount>,
    pub describe: Vec<Description>,
    pub endpoints: Vec<EndpointResult>,
    pub conventions: Conventions,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmCount {
    pub name: String,
    pub label: String,
    pub n: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Description {
    /// Counts per value (categories, strings, booleans).
    Counts {
        column: String,
        by_arm: Vec<ArmCounts>,
    },
    /// Quantiles of a number (R's `quantile(type = 7)`).
    Numeric {
        column: String,
        by_arm: Vec<ArmNumeric>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmCounts {
    pub arm: String,
    pub n: u64,
    pub missing: u64,
    /// (value, count, percent of the non-missing), values sorted.
    pub values: Vec<ValueCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmNumeric {
    pub arm: String,
    pub n: u64,
    pub missing: u64,
    pub median: Option<f64>,
    pub q1: Option<f64>,
    pub q3: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointResult {
    pub name: String,
    pub label: String,
    pub unit: String,
    pub by_arm: Vec<ArmSurvival>,
    pub log_rank: LogRankResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmSurvival {
    pub arm: String,
    pub n: u64,
    pub events: f64,
    /// Median survival time with its confidence limits; `null` = not reached.
    pub median: Quantile,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quantile {
    pub estimate: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<QuantileEstimate> for Quantile {
    fn from(q: QuantileEstimate) -> Self {
        Quantile {
            estimate: q.estimate,
            lower: q.lower,
            upper: q.upper,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogRankResult {
    /// Arms in the order of `observed` and `expected`.
    pub arms: Vec<String>,
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    pub chisq: f64,
    pub df: usize,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conventions {
    pub survival_estimator: String,
    pub variance: String,
    pub conf_type: ConfTypeName,
    pub conf_level: f64,
    pub median: String,
    pub comparison: String,
    pub tied_times: String,
    pub quantiles: String,
    pub month_days: f64,
}

/// Checks the section against the cohort's columns and the declared
/// endpoints, before any data is read.
pub fn validate(
    cfg: &AnalysisConfig,
    endpoint_names: &[String],
    frame: &DataFrame,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if cfg.endpoints.get_ref().is_empty() {
        problems.push(ConfigProblem::new(
            "analysis.endpoints",
            Some(cfg.endpoints.span()),
            "no endpoint to analyse",
            "the names of one or more [endpoints.<name>] tables",
        ));
    }
    for e in cfg.endpoints.get_ref() {
        if !endpoint_names.contains(e) {
            problems.push(ConfigProblem::new(
                "analysis.endpoints",
                Some(cfg.endpoints.span()),
                format!("unknown endpoint '{e}'"),
                format!(
                    "one of the declared endpoints: {}",
                    endpoint_names.join(", ")
                ),
            ));
        }
    }
    for c in cfg.describe.get_ref() {
        match frame.column(c).map(|c| c.dtype().clone()) {
            Err(_) => problems.push(ConfigProblem::new(
                "analysis.describe",
                Some(cfg.describe.span()),
                format!("unknown column '{c}'"),
                "a column of the schema or a derived column",
            )),
            Ok(DataType::Date) => problems.push(ConfigProblem::new(
                "analysis.describe",
                Some(cfg.describe.span()),
                format!("'{c}' is a date; describe a duration derived from it instead"),
                "a category, boolean or numeric column",
            )),
            Ok(_) => {}
        }
    }
    if !(cfg.conf_level > 0.0 && cfg.conf_level < 1.0) {
        problems.push(ConfigProblem::new(
            "analysis.conf_level",
            None,
            format!("conf_level = {} is not between 0 and 1", cfg.conf_level),
            "a level such as 0.95",
        ));
    }
    problems
}

/// Runs the analysis on the cohort (a table with an `arm` column).
pub fn analyse(
    cfg: &AnalysisConfig,
    arms: &[ArmInfo],
    endpoints: &[EndpointColumns],
    arm_column: &str,
    frame: &DataFrame,
) -> Result<(Results, String), String> {
    let pe = |e: PolarsError| e.to_string();
    let arm_col = frame
        .column(arm_column)
        .map_err(pe)?
        .str()
        .map_err(pe)?
        .clone();
    let arm_index: Vec<Option<usize>> = arm_col
        .iter()
        .map(|a| a.and_then(|a| arms.iter().position(|x| x.name == a)))
        .collect();
    let arm_counts: Vec<ArmCount> = arms
        .iter()
        .enumerate()
        .map(|(k, a)| ArmCount {
            name: a.name.clone(),
            label: a.label.clone(),
            n: arm_index.iter().filter(|x| **x == Some(k)).count() as u64,
        })
        .collect();
    if let Some(empty) = arm_counts.iter().find(|a| a.n == 0) {
        return Err(format!(
            "arm '{}' has no patients after the cohort criteria; nothing can be estimated for it (see attrition.csv)",
            empty.name
        ));
    }

    let mut describe = Vec::new();
    for c in cfg.describe.get_ref() {
        describe.push(describe_column(frame, c, arms, &arm_index).map_err(pe)?);
    }

    let opts = KmOptions {
        conf_type: cfg.conf_type.to_stats(),
        conf_level: cfg.conf_level,
    };
    let mut km_csv =
        String::from("endpoint,arm,time,n_risk,n_event,n_censor,surv,std_err,lower,upper\n");
    let mut results = Vec::new();
    for ep in endpoints
        .iter()
        .filter(|e| cfg.endpoints.get_ref().contains(&e.name))
    {
        let time = frame
            .column(&ep.time)
            .map_err(pe)?
            .f64()
            .map_err(pe)?
            .clone();
        let event = frame
            .column(&ep.event)
            .map_err(pe)?
            .bool()
            .map_err(pe)?
            .clone();
        let mut t_all = Vec::new();
        let mut e_all = Vec::new();
        let mut g_all = Vec::new();
        for i in 0..frame.height() {
            if let (Some(k), Some(t), Some(e)) = (arm_index[i], time.get(i), event.get(i)) {
                t_all.push(t);
                e_all.push(e);
                g_all.push(k);
            }
        }
        let mut by_arm = Vec::new();
        for (k, arm) in arms.iter().enumerate() {
            let (t, e): (Vec<f64>, Vec<bool>) = t_all
                .iter()
                .zip(&e_all)
                .zip(&g_all)
                .filter(|(_, g)| **g == k)
                .map(|((t, e), _)| (*t, *e))
                .unzip();
            let km = kaplan_meier(&t, &e, &opts)
                .map_err(|e| format!("{} in arm {}: {e}", ep.name, arm.name))?;
            write_km(&mut km_csv, &ep.name, &arm.name, &km);
            by_arm.push(ArmSurvival {
                arm: arm.name.clone(),
                n: km.n() as u64,
                events: km.events(),
                median: km.median().into(),
            });
        }
        let lr = log_rank(&t_all, &e_all, &g_all, None, 0.0)
            .map_err(|e| format!("{}: log-rank test: {e}", ep.name))?;
        results.push(EndpointResult {
            name: ep.name.clone(),
            label: ep.label.clone(),
            unit: ep.unit.clone(),
            by_arm,
            log_rank: LogRankResult {
                arms: arms.iter().map(|a| a.name.clone()).collect(),
                observed: lr.observed,
                expected: lr.expected,
                chisq: lr.chisq,
                df: lr.df,
                p_value: lr.p_value,
            },
        });
    }
    Ok((
        Results {
            arms: arm_counts,
            describe,
            endpoints: results,
            conventions: Conventions {
                survival_estimator: "Kaplan-Meier (R survival::survfit)".into(),
                variance: "Greenwood".into(),
                conf_type: cfg.conf_type,
                conf_level: cfg.conf_level,
                median: "first time S(t) <= 0.5; midpoint when S(t) = 0.5 exactly on a flat stretch; CI limits from the pointwise confidence curves, as quantile.survfit; null = not reached".into(),
                comparison: "log-rank test, rho = 0, as R survival::survdiff".into(),
                tied_times: "times closer than sqrt(machine epsilon) relative are merged, as R's timefix".into(),
                quantiles: "R quantile type 7".into(),
                month_days: 30.4375,
            },
        },
        km_csv,
    ))
}

fn write_km(out: &mut String, endpoint: &str, arm: &str, km: &KaplanMeier) {
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    for s in km.steps() {
        let _ = writeln!(
            out,
            "{},{},{:.6},{},{},{},{:.6},{},{},{}",
            csv_field(endpoint),
            csv_field(arm),
            s.time,
            s.n_risk,
            s.n_event,
            s.n_censor,
            s.surv,
            f(s.std_err.is_finite().then_some(s.std_err)),
            f(s.lower),
            f(s.upper)
        );
    }
}

fn describe_column(
    frame: &DataFrame,
    column: &str,
    arms: &[ArmInfo],
    arm_index: &[Option<usize>],
) -> PolarsResult<Description> {
    let col = frame.column(column)?;
    let numeric = col.dtype().is_primitive_numeric();
    if numeric {
        let values = col.cast(&DataType::Float64)?;
        let values = values.f64()?;
        let by_arm = arms
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let mut xs: Vec<f64> = Vec::new();
                let mut n = 0;
                for (i, v) in values.iter().enumerate() {
                    if arm_index[i] == Some(k) {
                        n += 1;
                        xs.extend(v.filter(|x| x.is_finite()));
                    }
                }
                xs.sort_by(f64::total_cmp);
                let q = |p: f64| quantile_type7(&xs, p);
                ArmNumeric {
                    arm: a.name.clone(),
                    n,
                    missing: n - xs.len() as u64,
                    median: q(0.5),
                    q1: q(0.25),
                    q3: q(0.75),
                    min: xs.first().copied(),
                    max: xs.last().copied(),
                }
            })
            .collect();
        return Ok(Description::Numeric {
            column: column.to_string(),
            by_arm,
        });
    }
    let text = col.cast(&DataType::String)?;
    let text = text.str()?;
    let by_arm = arms
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
            let (mut n, mut missing) = (0, 0);
            for (i, v) in text.iter().enumerate() {
                if arm_index[i] == Some(k) {
                    n += 1;
                    match v {
                        Some(v) => *counts.entry(v.to_string()).or_default() += 1,
                        None => missing += 1,
                    }
                }
            }
            let present = (n - missing) as f64;
            ArmCounts {
                arm: a.name.clone(),
                n,
                missing,
                values: counts
                    .into_iter()
                    .map(|(value, count)| ValueCount {
                        value,
                        count,
                        percent: 100.0 * count as f64 / present,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Description::Counts {
        column: column.to_string(),
        by_arm,
    })
}

/// R's default `quantile(x, p, type = 7)` on sorted data.
fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::quantile_type7;

    #[test]
    fn quantiles_match_r_type_7() {
        // R: quantile(c(1, 2, 4, 7, 11), c(.25, .5, .75)) -> 2, 4, 7
        let x = [1.0, 2.0, 4.0, 7.0, 11.0];
        assert_eq!(quantile_type7(&x, 0.25), Some(2.0));
        assert_eq!(quantile_type7(&x, 0.5), Some(4.0));
        // R: quantile(c(1, 2, 4, 7), .5) -> 3; quantile(c(1,2,4,7), .25) -> 1.75
        let y = [1.0, 2.0, 4.0, 7.0];
        assert_eq!(quantile_type7(&y, 0.5), Some(3.0));
        assert_eq!(quantile_type7(&y, 0.25), Some(1.75));
        assert_eq!(quantile_type7(&[], 0.5), None);
    }
}

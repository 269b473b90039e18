//! Checks of the `[analysis]` section against the cohort's columns and the
//! declared endpoints, made before any data is read.

use crate::config::AnalysisConfig;
use cohortflow_core::{ConfigProblem, Spanned};
use polars::prelude::*;

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
    for c in cfg.baseline.get_ref() {
        match frame.column(c).map(|c| c.dtype().clone()) {
            Err(_) => problems.push(ConfigProblem::new(
                "analysis.baseline",
                Some(cfg.baseline.span()),
                cohortflow_core::expr::unknown_column(c, frame),
                "a column of the schema or a derived column",
            )),
            Ok(DataType::Date) => problems.push(ConfigProblem::new(
                "analysis.baseline",
                Some(cfg.baseline.span()),
                format!("'{c}' is a date; put a duration derived from it in the table instead"),
                "a category, boolean or numeric column",
            )),
            Ok(_) => {}
        }
    }
    if let Some(l) = &cfg.landmark {
        if !(l.time.is_finite() && l.time > 0.0) {
            problems.push(ConfigProblem::new(
                "analysis.landmark.time",
                None,
                format!("landmark time {} is not a positive number", l.time),
                "a time after the origin, e.g. time = 12",
            ));
        }
        match frame
            .column(l.exposure.get_ref())
            .map(|c| c.dtype().clone())
        {
            Ok(DataType::Date) => {}
            Ok(other) => problems.push(ConfigProblem::new(
                "analysis.landmark.exposure",
                Some(l.exposure.span()),
                format!("'{}' is {other}, not a date", l.exposure.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
            Err(_) => problems.push(ConfigProblem::new(
                "analysis.landmark.exposure",
                Some(l.exposure.span()),
                format!("unknown column '{}'", l.exposure.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
        }
    }
    let date_column =
        |problems: &mut Vec<ConfigProblem>, key: &str, col: &Spanned<String>| match frame
            .column(col.get_ref())
            .map(|c| c.dtype().clone())
        {
            Ok(DataType::Date) => {}
            Ok(other) => problems.push(ConfigProblem::new(
                key,
                Some(col.span()),
                format!("'{}' is {other}, not a date", col.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
            Err(_) => problems.push(ConfigProblem::new(
                key,
                Some(col.span()),
                format!("unknown column '{}'", col.get_ref()),
                "the date column of the exposure, e.g. surgery_date",
            )),
        };
    if let Some(tv) = &cfg.time_varying {
        date_column(
            &mut problems,
            "analysis.time_varying.exposure",
            &tv.exposure,
        );
    }
    if let Some(e) = &cfg.emulation {
        date_column(&mut problems, "analysis.emulation.exposure", &e.exposure);
        let positive = |problems: &mut Vec<ConfigProblem>, key: &str, v: f64, fix: &str| {
            if !(v.is_finite() && v > 0.0) {
                problems.push(ConfigProblem::new(
                    key,
                    None,
                    format!("{v} is not a positive number"),
                    fix,
                ));
            }
        };
        positive(
            &mut problems,
            "analysis.emulation.grace",
            e.grace,
            "a grace period in the endpoints' unit, e.g. grace = 12",
        );
        positive(
            &mut problems,
            "analysis.emulation.weights.interval",
            e.weights.interval,
            "an interval length in the endpoints' unit, e.g. interval = 3",
        );
        if let Some(t) = e.rmst_tau {
            positive(
                &mut problems,
                "analysis.emulation.rmst_tau",
                t,
                "a horizon in the endpoints' unit, e.g. 60",
            );
        }
        for t in e.at.iter().flatten() {
            if !(t.is_finite() && *t >= 0.0) {
                problems.push(ConfigProblem::new(
                    "analysis.emulation.at",
                    None,
                    format!("time {t} is not a non-negative number"),
                    "times in the endpoints' unit, e.g. at = [12, 36, 60]",
                ));
            }
        }
        if let Some([lo, hi]) = e.weights.truncate
            && !(0.0 <= lo && lo < hi && hi <= 1.0)
        {
            problems.push(ConfigProblem::new(
                "analysis.emulation.weights.truncate",
                None,
                format!("[{lo}, {hi}] are not two increasing quantiles in [0, 1]"),
                "quantiles of the weights, e.g. truncate = [0.01, 0.99]",
            ));
        }
        let covariates = &e.weights.covariates;
        for a in covariates.get_ref() {
            match frame.column(a).map(|c| c.dtype().clone()) {
                Ok(DataType::Date) => problems.push(ConfigProblem::new(
                    "analysis.emulation.weights.covariates",
                    Some(covariates.span()),
                    format!("'{a}' is a date"),
                    "a number, boolean or category column known at time zero",
                )),
                Ok(_) => {}
                Err(_) => problems.push(ConfigProblem::new(
                    "analysis.emulation.weights.covariates",
                    Some(covariates.span()),
                    cohortflow_core::expr::unknown_column(a, frame),
                    "a column of the schema or a derived column",
                )),
            }
        }
    }
    if let Some(c) = &cfg.cox {
        for a in c.adjust.get_ref() {
            match frame.column(a).map(|c| c.dtype().clone()) {
                Ok(DataType::Date) => problems.push(ConfigProblem::new(
                    "analysis.cox.adjust",
                    Some(c.adjust.span()),
                    format!("'{a}' is a date"),
                    "a number, boolean or category column",
                )),
                Ok(_) => {}
                Err(_) => problems.push(ConfigProblem::new(
                    "analysis.cox.adjust",
                    Some(c.adjust.span()),
                    cohortflow_core::expr::unknown_column(a, frame),
                    "a column of the schema or a derived column",
                )),
            }
        }
    }
    if let Some(st) = &cfg.strata
        && frame.column(st.get_ref()).is_err()
    {
        problems.push(ConfigProblem::new(
            "analysis.strata",
            Some(st.span()),
            format!("unknown column '{}'", st.get_ref()),
            "a column such as source (the centre)",
        ));
    }
    for t in cfg.at.iter().flatten() {
        if !(t.is_finite() && *t >= 0.0) {
            problems.push(ConfigProblem::new(
                "analysis.at",
                None,
                format!("time {t} is not a non-negative number"),
                "times in the endpoints' unit, e.g. at = [12, 36, 60]",
            ));
        }
    }
    for (column, test) in &cfg.tests {
        if !cfg.baseline.get_ref().contains(column) {
            problems.push(ConfigProblem::new(
                format!("analysis.tests.{column}"),
                None,
                format!("'{column}' is not a column of analysis.baseline"),
                "a test for one of the baseline columns",
            ));
            continue;
        }
        let numeric = frame
            .column(column)
            .is_ok_and(|c| c.dtype().is_primitive_numeric());
        if numeric != test.is_continuous() {
            problems.push(ConfigProblem::new(
                format!("analysis.tests.{column}"),
                None,
                format!(
                    "'{column}' is {}, and this test is for {}",
                    if numeric { "a number" } else { "a category" },
                    if test.is_continuous() {
                        "numbers"
                    } else {
                        "counts"
                    }
                ),
                if numeric {
                    "wilcoxon, kruskal, t or anova"
                } else {
                    "fisher, chisq or chisq_yates"
                },
            ));
        }
    }
    for q in &cfg.quantiles {
        if !(*q > 0.0 && *q < 1.0) {
            problems.push(ConfigProblem::new(
                "analysis.quantiles",
                None,
                format!("quantile {q} is not between 0 and 1"),
                "probabilities such as [0.25, 0.75]",
            ));
        }
    }
    if !(cfg.rho.is_finite() && cfg.rho >= 0.0) {
        problems.push(ConfigProblem::new(
            "analysis.rho",
            None,
            format!("rho = {} is not a non-negative number", cfg.rho),
            "0 (log-rank) or 1 (Peto-Peto)",
        ));
    }
    if let Some(t) = cfg.rmst_tau
        && !(t.is_finite() && t > 0.0)
    {
        problems.push(ConfigProblem::new(
            "analysis.rmst_tau",
            None,
            format!("rmst_tau = {t} is not a positive number"),
            "a horizon in the endpoints' unit, e.g. 60",
        ));
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

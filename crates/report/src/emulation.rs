//! The emulated target trial (`[analysis.emulation]`, clone–censor–weight):
//! one table of the hazard ratio, risk differences and RMST difference per
//! endpoint, and the weighted Kaplan–Meier curves of the two strategies.

use crate::doc::{Block, Cell, Row};
use crate::fmt;
use crate::plot::{Figure, Series};
use cohortflow_analysis::{AnalysisKind, Curve, EmulationEndpoint, EmulationResult};

fn ci(estimate: String, lower: Option<f64>, upper: Option<f64>, d: usize) -> String {
    match (lower, upper) {
        (Some(_), Some(_)) => format!(
            "{estimate} [{}, {}]",
            fmt::dec(lower, d),
            fmt::dec(upper, d)
        ),
        _ => estimate,
    }
}

/// The main results in words: per endpoint, the hazard ratio and the RMST
/// difference of the emulated trial.
pub fn summary(e: &EmulationResult, alpha: f64) -> Vec<String> {
    e.endpoints
        .iter()
        .map(|ep| {
            let c = &ep.cox;
            format!(
                "**{}**, emulated target trial ({} vs {}): weighted hazard ratio {} [{}, {}], {}{}.",
                ep.label,
                e.strategies[0].label,
                e.strategies[1].label,
                fmt::dec(Some(c.hazard_ratio), 2),
                fmt::dec(Some(c.lower), 2),
                fmt::dec(Some(c.upper), 2),
                fmt::significance(c.p_value, alpha),
                ep.rmst.as_ref().map_or(String::new(), |r| format!(
                    "; RMST difference to {} {} {} {}{}",
                    fmt::num(r.tau),
                    ep.unit,
                    fmt::dec(Some(r.difference), 1),
                    ep.unit,
                    match (r.lower, r.upper) {
                        (Some(_), Some(_)) => format!(
                            " (bootstrap CI {} to {})",
                            fmt::dec(r.lower, 1),
                            fmt::dec(r.upper, 1)
                        ),
                        _ => String::new(),
                    }
                ))
            )
        })
        .collect()
}

/// The section's text and table.
pub fn blocks(e: &EmulationResult, conf_level: f64) -> Vec<Block> {
    let level = fmt::num(conf_level * 100.0);
    let mut out = vec![
        Block::Heading(2, "Emulated target trial".into()),
        Block::Para(format!(
            "The trial the comparison stands for, emulated by clone–censor–weight (Maringe et al., Int J Epidemiol 2020): from each endpoint's origin (time zero), each of the {} eligible patients{} is cloned into both strategies, {} (`{}` within {} {} of the origin) and {}; a clone is censored when its patient leaves its strategy (no `{}` by the end of the grace period; `{}` within it), and the censoring is weighted: {}. Curves: weighted Kaplan–Meier with a variance robust to the clones' weights (clustered on the patient); hazard ratio: weighted Cox model, robust variance clustered on the patient; differences: {}% percentile bootstrap of the patients ({} replicates, seed {}).",
            e.population_n,
            if e.excluded_missing > 0 {
                format!(
                    " ({} left out for a missing covariate of the weight model)",
                    e.excluded_missing
                )
            } else {
                String::new()
            },
            e.strategies[0].label,
            e.exposure,
            fmt::num(e.grace),
            e.endpoints.first().map_or("", |ep| ep.unit.name()),
            e.strategies[1].label,
            e.exposure,
            e.exposure,
            fmt::code_calls(&e.weight_model, &["glm"]),
            level,
            e.bootstrap,
            e.seed,
        )),
    ];
    let header: Vec<Cell> = vec![
        "".into(),
        Cell::from(e.strategies[0].label.as_str()),
        Cell::from(e.strategies[1].label.as_str()),
        "Difference (exposed − unexposed)".into(),
    ];
    let mut rows = Vec::new();
    for ep in &e.endpoints {
        rows.push(Row {
            cells: vec![Cell {
                text: format!("{} ({})", ep.label, ep.unit),
                span: 4,
            }],
            group: true,
        });
        rows.push(Row::new(vec![
            "Clones (artificially censored)".into(),
            clones(ep, 0).into(),
            clones(ep, 1).into(),
            "".into(),
        ]));
        for (j, rd) in ep.risk_difference.iter().enumerate() {
            let s = |k: usize| {
                let a = &ep.by_strategy[k].survival_at[j];
                ci(
                    fmt::pct(100.0 * (1.0 - a.surv)),
                    a.upper.map(|u| 100.0 * (1.0 - u)),
                    a.lower.map(|l| 100.0 * (1.0 - l)),
                    1,
                )
            };
            rows.push(Row::new(vec![
                format!(
                    "Risk by {} {} (%) [{level}% CI]",
                    fmt::num(rd.time),
                    ep.unit
                )
                .into(),
                s(0).into(),
                s(1).into(),
                ci(
                    fmt::dec(Some(100.0 * rd.estimate), 1),
                    rd.lower.map(|v| 100.0 * v),
                    rd.upper.map(|v| 100.0 * v),
                    1,
                )
                .into(),
            ]));
        }
        if let Some(r) = &ep.rmst {
            rows.push(Row::new(vec![
                format!(
                    "RMST to {} {} (difference [{level}% CI])",
                    fmt::num(r.tau),
                    ep.unit
                )
                .into(),
                fmt::dec(Some(r.exposed), 1).into(),
                fmt::dec(Some(r.unexposed), 1).into(),
                ci(fmt::dec(Some(r.difference), 1), r.lower, r.upper, 1).into(),
            ]));
        }
        let c = &ep.cox;
        rows.push(Row::new(vec![
            format!("Hazard ratio [{level}% CI], p").into(),
            "".into(),
            "reference".into(),
            format!(
                "{} [{}, {}], {}",
                fmt::dec(Some(c.hazard_ratio), 2),
                fmt::dec(Some(c.lower), 2),
                fmt::dec(Some(c.upper), 2),
                fmt::p_eq(c.p_value)
            )
            .into(),
        ]));
    }
    let mut notes = vec![
        "Risk: 1 − the weighted Kaplan–Meier estimate, with the limits of its robust confidence interval. Risk difference in percentage points, RMST difference in the endpoint's unit, each with a percentile bootstrap interval (patients resampled, the weights re-estimated in each replicate).".into(),
        "The weights correct the artificial censoring for the declared covariates only: the emulation assumes no unmeasured reason for the exposure decision and a right weight model; natural censoring is not weighted.".into(),
    ];
    for ep in &e.endpoints {
        if ep.bootstrap_failed > 0 {
            notes.push(format!(
                "{}: {} of {} bootstrap replicates could not be fitted (e.g. a weight model without a finite estimate) and are left out of the intervals.",
                ep.name, ep.bootstrap_failed, e.bootstrap
            ));
        }
    }
    out.push(Block::Table {
        caption: "Emulated target trial: strategies, risks, RMST and hazard ratio".into(),
        header,
        rows,
        notes,
        class: "numbers",
    });
    out
}

fn clones(ep: &EmulationEndpoint, k: usize) -> String {
    let s = &ep.by_strategy[k];
    format!("{} ({})", s.clones, s.artificially_censored)
}

/// The weighted curves of one endpoint's strategies: (file stem, figure).
pub fn figure<'a>(
    e: &'a EmulationResult,
    ep: &'a EmulationEndpoint,
    curves: &'a [Curve],
    ci_bands: bool,
) -> (String, Figure<'a>) {
    let series = e
        .strategies
        .iter()
        .filter_map(|s| {
            let c = curves.iter().find(|c| {
                c.analysis == AnalysisKind::Emulation && c.endpoint == ep.name && c.arm == s.name
            })?;
            Some(Series {
                label: s.label.as_str(),
                km: &c.km,
                median: None,
                counts: None,
            })
        })
        .collect();
    (
        format!("km-{}-emulation", ep.name),
        Figure {
            title: format!("{}: emulated target trial", ep.label),
            x_label: crate::survival::axis_titles(&ep.label, ep.unit, "time zero").0,
            y_label: crate::survival::axis_titles(&ep.label, ep.unit, "time zero").1,
            unit: ep.unit,
            series,
            notes: vec![format!(
                "Weighted HR {} [{}, {}]",
                fmt::dec(Some(ep.cox.hazard_ratio), 2),
                fmt::dec(Some(ep.cox.lower), 2),
                fmt::dec(Some(ep.cox.upper), 2)
            )],
            ci_bands,
            x_max: None,
        },
    )
}

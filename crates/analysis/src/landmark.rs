//! The landmark analysis: patients event-free and under follow-up at the
//! landmark, grouped by whether the exposure happened by then, with time
//! counted from the landmark; the groups' Kaplan–Meier curves, log-rank test
//! and Cox hazard ratio (exposed against unexposed).
//!
//! The patients it starts from are a declared population
//! (`population`, [`crate::Population`]): by default every eligible patient
//! (after the criteria, before the arms), so that only the exposure date
//! decides the groups and an arm condition that looks past the landmark
//! does not choose who enters.

use crate::config::LandmarkConfig;
use crate::cox;
use crate::results::{CoxModels, LandmarkEndpoint, LandmarkResult};
use crate::survival::{self, CompareOptions};
use crate::{AnalysisError, AnalysisKind, ArmInfo, Curve, EndpointColumns, TiesName};
use cohortflow_core::design::MissingRule;
use polars::prelude::*;

/// How the landmark's Cox model is fitted.
pub(crate) struct CoxSettings {
    pub ties: TiesName,
    pub conf_level: f64,
}

/// The landmark analysis of every selected endpoint, on the rows of
/// `frame` that `include` marks (the declared population).
#[allow(clippy::too_many_arguments)]
pub(crate) fn landmark(
    cfg: &LandmarkConfig,
    endpoints: &[&EndpointColumns],
    frame: &DataFrame,
    include: &[bool],
    strata: Option<&[usize]>,
    opts: &CompareOptions,
    cox_settings: &CoxSettings,
    curves: &mut Vec<Curve>,
) -> Result<LandmarkResult, AnalysisError> {
    let landmark_days = cfg.time * cfg.unit.days();
    let groups = vec![
        ArmInfo {
            name: "exposed".into(),
            label: cfg.exposed_label.clone(),
        },
        ArmInfo {
            name: "unexposed".into(),
            label: cfg.unexposed_label.clone(),
        },
    ];
    let exposure = cohortflow_core::table::date_days(frame, cfg.exposure.get_ref())?;
    let mut out = Vec::new();
    for ep in endpoints {
        let (time, event) = survival::endpoint_columns(frame, ep)?;
        let origin = cohortflow_core::table::date_days(frame, crate::origin_of(ep, "landmark")?)?;
        let l = landmark_days / ep.unit.days();
        let mut rows = Vec::new();
        let mut row_strata = Vec::new();
        let mut excluded = 0;
        for i in (0..frame.height()).filter(|&i| include[i]) {
            let (Some(t), Some(e), Some(o)) = (time.get(i), event.get(i), origin.get(i)) else {
                continue;
            };
            if t <= l {
                excluded += 1;
                continue;
            }
            let exposed = exposure
                .get(i)
                .is_some_and(|x| f64::from(x - o) <= landmark_days);
            // Row `j` of `rows` is row `j` of `row_strata` (`cox::by_arm`).
            rows.push((rows.len(), t - l, e, if exposed { 0 } else { 1 }));
            row_strata.push(strata.map_or(0, |s| s[i]));
        }
        let mut result = survival::compare(
            ep,
            &groups,
            &rows,
            strata.map(|_| row_strata.as_slice()),
            opts,
            AnalysisKind::Landmark,
            curves,
        )?;
        // The hazard ratio of the exposed against the unexposed, when both
        // groups have patients.
        if (0..2).all(|k| rows.iter().any(|r| r.3 == k)) {
            let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
            let unadjusted = cox::by_arm(
                frame,
                &rows,
                &names,
                1,
                &[],
                strata.map(|_| row_strata.as_slice()),
                // Landmark groups are not matched sets: a plain variance.
                None,
                MissingRule::Exclude,
                cox_settings.ties,
                cox_settings.conf_level,
            )
            .map_err(|message| AnalysisError::Model {
                endpoint: ep.name.clone(),
                model: "landmark Cox model",
                message,
            })?;
            let mut unadjusted = unadjusted;
            let exposure = cfg.exposure.get_ref();
            unadjusted.formula = format!(
                "Surv(time from the landmark, event) ~ {exposure} by the landmark{}",
                if strata.is_some() {
                    " + strata(...)"
                } else {
                    ""
                }
            );
            unadjusted.terms[0].term = format!("{exposure} by the landmark: exposed vs unexposed");
            result.cox = Some(CoxModels {
                unadjusted,
                adjusted: None,
            });
        }
        out.push(LandmarkEndpoint {
            excluded_before_landmark: excluded,
            result,
        });
    }
    Ok(LandmarkResult {
        population: cfg.population,
        population_n: include.iter().filter(|x| **x).count() as u64,
        time: cfg.time,
        unit: cfg.unit,
        exposure: cfg.exposure.get_ref().clone(),
        groups,
        endpoints: out,
    })
}

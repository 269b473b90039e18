//! The landmark analysis: patients event-free and under follow-up at the
//! landmark, grouped by whether the exposure happened by then, with time
//! counted from the landmark.

use crate::config::LandmarkConfig;
use crate::results::{LandmarkEndpoint, LandmarkResult};
use crate::survival::{self, CompareOptions};
use crate::{AnalysisError, AnalysisKind, ArmInfo, Curve, EndpointColumns};
use polars::prelude::*;

/// The landmark analysis of every selected endpoint.
pub(crate) fn landmark(
    cfg: &LandmarkConfig,
    endpoints: &[&EndpointColumns],
    frame: &DataFrame,
    strata: Option<&[usize]>,
    opts: &CompareOptions,
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
        for i in 0..frame.height() {
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
            rows.push((t - l, e, if exposed { 0 } else { 1 }));
            row_strata.push(strata.map_or(0, |s| s[i]));
        }
        let result = survival::compare(
            ep,
            &groups,
            &rows,
            strata.map(|_| row_strata.as_slice()),
            opts,
            AnalysisKind::Landmark,
            curves,
        )?;
        out.push(LandmarkEndpoint {
            excluded_before_landmark: excluded,
            result,
        });
    }
    Ok(LandmarkResult {
        time: cfg.time,
        unit: cfg.unit,
        exposure: cfg.exposure.get_ref().clone(),
        groups,
        endpoints: out,
    })
}

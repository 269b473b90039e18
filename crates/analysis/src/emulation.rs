//! Target-trial emulation by clone–censor–weight (`[analysis.emulation]`),
//! after Maringe et al., "Reflection on modern methods: trial emulation in
//! the presence of immortal-time bias" (Int J Epidemiol 2020) and Hernán &
//! Robins' target-trial framework.
//!
//! **Population and time zero.** Every eligible patient (after the cohort
//! criteria, before the arms), from each endpoint's origin (time zero).
//! A patient missing a covariate of the weight model is left out (counted
//! in `excluded_missing`).
//!
//! **Strategies and cloning.** With `e` the exposure time (the exposure
//! date minus the origin, in the endpoint's unit), `T` the endpoint time,
//! `G` the grace period: the patient is *exposed within grace* when `e <= G`
//! and `e < T` (an exposure on or after the end of follow-up is not seen, as
//! in the time-varying Cox model). Every patient is cloned into both
//! strategies:
//!
//! * "exposed within grace": followed to `T` (event as observed) when
//!   exposed within grace, or when `T <= G` (an event, or a loss to
//!   follow-up, before the grace period ends without exposure: the patient
//!   still followed the strategy until then, Maringe's rule); otherwise
//!   artificially censored at `G`.
//! * "not exposed within grace": artificially censored at `e` when exposed
//!   within grace (a clone exposed at time 0 has no follow-up in this
//!   strategy and is left out: it is compatible only with the exposed
//!   strategy at time zero); otherwise followed to `T` (an exposure after
//!   `G` is compatible with this strategy).
//!
//! **Weights.** Each clone's follow-up is split at `interval`, `2 interval`,
//! ... up to `G` (R's `survSplit`; the last interval ends at `G`, and the
//! follow-up after `G` is one row). Per strategy, a pooled logistic
//! regression of artificial censoring in an interval, `glm(censored ~
//! factor(interval) + covariates, family = binomial)`, on the rows within
//! the grace period: time enters as a factor (one intercept per interval).
//! An interval in which no clone of the strategy is artificially censored
//! has a censoring probability of 0 (the limit of the maximum likelihood,
//! which is not finite there) and its rows are left out of the fit; the
//! first interval with a censoring is the reference level. The weight of a
//! row in interval `k` is `1 / prod_{j < k} (1 - p_j)` over the clone's
//! earlier intervals (after `G`: over every interval of the grace period),
//! so a weight changes at the interval bounds only. Stabilised
//! (`stabilise = true`): multiplied by `prod_{j < k} (1 - q_j)`, `q_j` the
//! share of the strategy's rows of interval `j` that are censored (the
//! model with the factor alone). Truncated (`truncate = [lo, hi]`): the
//! weights of all rows of both strategies are clamped to their `lo` and
//! `hi` quantiles (R's type 7). Natural censoring (end of follow-up) is
//! assumed non-informative and is not weighted.
//!
//! **Estimates.** Per strategy the weighted Kaplan–Meier curve on the split
//! rows, `survfit(Surv(tstart, tstop, event) ~ 1, weights = w, id = id,
//! robust = TRUE)` (infinitesimal-jackknife variance clustered on the
//! patient); the weighted Cox model `coxph(Surv(tstart, tstop, event) ~
//! strategy, weights = w, cluster = id)` (robust variance clustered on the
//! patient, whose two clones share the id); the risk difference `(1 -
//! S_exposed(t)) - (1 - S_unexposed(t))` at `at` and the difference of the
//! areas under the curves to `rmst_tau` (exposed minus unexposed), each with
//! a percentile bootstrap interval: patients resampled with replacement
//! (`SplitMix64`, seeded by `seed`) and the whole procedure (cloning,
//! weight models, truncation, curves) repeated `bootstrap` times; a
//! replicate whose weight model cannot be fitted (e.g. separation) is
//! counted in `failed` and left out.
//!
//! **What this guarantees and what it cannot.** The cloning removes the
//! immortal time: both strategies start at time zero with the same
//! patients. The weights correct the artificial censoring only for the
//! declared covariates (no unmeasured confounding of the exposure decision
//! is assumed, and the model is assumed right); with few exposures in the
//! grace period, the weights rest on few patients. The robust intervals of
//! the curves and the hazard ratio treat the weights as known; the
//! bootstrap intervals of the differences re-estimate them.

use crate::config::{ConfTypeName, EmulationConfig, TiesName};
use crate::results::{
    EmulationCox, EmulationEndpoint, EmulationResult, EmulationRmst, EmulationStrategy,
    RiskDifferenceAt, SurvivalAtTime,
};
use crate::{AnalysisError, AnalysisKind, ArmInfo, Curve, EndpointColumns};
use cohortflow_core::design::{MissingRule, design, model_terms};
use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    CoxData, CoxOptions, CoxVariance, GlmOptions, KaplanMeier, KmOptions, Ties, cox_ph_weighted,
    kaplan_meier_weighted_counting, logistic_regression, quantile_type7, rmst,
};
use polars::prelude::*;

/// One patient of the emulation: endpoint time and event, exposure time
/// (same unit; `None` = never exposed), covariates of the weight model.
#[derive(Debug, Clone)]
pub struct Patient {
    pub time: f64,
    pub event: bool,
    pub exposure: Option<f64>,
    pub covariates: Vec<f64>,
}

/// The settings of one emulation, in the endpoint's unit.
#[derive(Debug, Clone)]
pub struct Settings {
    pub grace: f64,
    pub interval: f64,
    pub stabilise: bool,
    /// Quantiles the weights are clamped to.
    pub truncate: Option<[f64; 2]>,
    pub at: Vec<f64>,
    pub rmst_tau: Option<f64>,
    pub conf_type: ConfTypeName,
    pub conf_level: f64,
    pub ties: TiesName,
}

/// The cloned, split and weighted data (both strategies), as the R script
/// builds it: one row per clone and interval.
#[derive(Debug, Clone, Default)]
pub struct SplitData {
    /// Index of the patient in the input.
    pub patient: Vec<usize>,
    /// 0 = exposed within grace, 1 = not exposed within grace.
    pub strategy: Vec<usize>,
    pub start: Vec<f64>,
    pub stop: Vec<f64>,
    pub event: Vec<bool>,
    /// 1..=K within the grace period, K + 1 after it.
    pub interval: Vec<usize>,
    /// The clone is artificially censored at this row's stop.
    pub censored: Vec<bool>,
    /// The weight after stabilisation and truncation.
    pub weight: Vec<f64>,
}

/// A fitted emulation (without the bootstrap).
#[derive(Debug, Clone)]
pub struct Fit {
    pub data: SplitData,
    pub curves: [KaplanMeier; 2],
    /// Clones per strategy and how many were artificially censored.
    pub clones: [usize; 2],
    pub artificially_censored: [usize; 2],
    /// Rows of each strategy's weight model (0 when no clone of the
    /// strategy is artificially censored: weights 1).
    pub model_rows: [usize; 2],
    /// Truncation bounds applied.
    pub truncated_at: Option<[f64; 2]>,
    /// Weights clamped by the truncation.
    pub truncated_rows: usize,
    pub survival_at: Vec<[f64; 2]>,
    pub rmst: Option<[f64; 2]>,
}

/// The interval bounds `interval, 2 interval, ..., G` (the last is `G`).
fn bounds(grace: f64, interval: f64) -> Vec<f64> {
    let mut b = Vec::new();
    let mut k = 1.0;
    while k * interval < grace {
        b.push(k * interval);
        k += 1.0;
    }
    b.push(grace);
    b
}

/// Clones, splits, fits the weight models and weights the rows.
pub fn weighted_data(patients: &[Patient], s: &Settings) -> Result<(SplitData, Fit0), String> {
    let cuts = bounds(s.grace, s.interval);
    let k_max = cuts.len();
    let mut d = SplitData::default();
    let mut clones = [0usize; 2];
    let mut art = [0usize; 2];
    for (i, p) in patients.iter().enumerate() {
        let exposed = p.exposure.is_some_and(|e| e <= s.grace && e < p.time);
        for arm in 0..2 {
            let (stop, event, cens) = match (arm, exposed) {
                (0, true) => (p.time, p.event, false),
                (0, false) if p.time <= s.grace => (p.time, p.event, false),
                (0, false) => (s.grace, false, true),
                (_, true) => (p.exposure.expect("exposed"), false, true),
                (_, false) => (p.time, p.event, false),
            };
            if stop <= 0.0 {
                continue;
            }
            clones[arm] += 1;
            art[arm] += usize::from(cens);
            let mut lo = 0.0;
            for (k, &hi) in cuts.iter().enumerate() {
                if stop <= lo {
                    break;
                }
                let end = stop.min(hi);
                let last = stop <= hi;
                push(&mut d, i, arm, lo, end, last && event, k + 1, last && cens);
                lo = hi;
            }
            if stop > s.grace {
                push(&mut d, i, arm, s.grace, stop, event, k_max + 1, false);
            }
        }
    }
    // per strategy: the weight model and the cumulative weights
    let n = d.stop.len();
    let mut w = vec![1.0; n];
    let mut model_rows = [0usize; 2];
    let p_cov = patients.first().map_or(0, |p| p.covariates.len());
    for (arm, used) in model_rows.iter_mut().enumerate() {
        let rows: Vec<usize> = (0..n)
            .filter(|&r| d.strategy[r] == arm && d.interval[r] <= k_max)
            .collect();
        let mut active: Vec<usize> = rows
            .iter()
            .filter(|&&r| d.censored[r])
            .map(|&r| d.interval[r])
            .collect();
        active.sort_unstable();
        active.dedup();
        if active.is_empty() {
            continue;
        }
        let fit_rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| active.contains(&d.interval[r]))
            .collect();
        *used = fit_rows.len();
        let mut columns: Vec<Vec<f64>> = active[1..]
            .iter()
            .map(|&k| {
                fit_rows
                    .iter()
                    .map(|&r| f64::from(u8::from(d.interval[r] == k)))
                    .collect()
            })
            .collect();
        for c in 0..p_cov {
            columns.push(
                fit_rows
                    .iter()
                    .map(|&r| patients[d.patient[r]].covariates[c])
                    .collect(),
            );
        }
        let y: Vec<bool> = fit_rows.iter().map(|&r| d.censored[r]).collect();
        let x: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let fit = logistic_regression(&y, &x, &GlmOptions::default()).map_err(|e| {
            format!(
                "the weight model of strategy {} (censored ~ factor(interval) + covariates): {e}; declare fewer covariates or longer intervals (analysis.emulation.weights)",
                arm + 1
            )
        })?;
        // censoring probability per row within the grace period
        let mut p = vec![0.0; n];
        for (j, &r) in fit_rows.iter().enumerate() {
            p[r] = fit.fitted[j];
        }
        // marginal share censored per interval (numerator)
        let mut q = vec![0.0; k_max + 2];
        if s.stabilise {
            for &k in &active {
                let in_k: Vec<usize> = rows
                    .iter()
                    .copied()
                    .filter(|&r| d.interval[r] == k)
                    .collect();
                let c = in_k.iter().filter(|&&r| d.censored[r]).count();
                q[k] = c as f64 / in_k.len() as f64;
            }
        }
        // rows of a clone are consecutive, in interval order
        let mut r = 0;
        while r < n {
            if d.strategy[r] != arm {
                r += 1;
                continue;
            }
            let (patient, mut cum) = (d.patient[r], 1.0);
            while r < n && d.strategy[r] == arm && d.patient[r] == patient {
                w[r] = cum;
                let k = d.interval[r];
                if k <= k_max {
                    cum *= if s.stabilise { 1.0 - q[k] } else { 1.0 } / (1.0 - p[r]);
                }
                r += 1;
            }
        }
    }
    let mut truncated_at = None;
    let mut truncated_rows = 0;
    if let Some([lo, hi]) = s.truncate {
        let mut sorted = w.clone();
        sorted.sort_by(f64::total_cmp);
        let (a, b) = (
            quantile_type7(&sorted, lo).expect("rows"),
            quantile_type7(&sorted, hi).expect("rows"),
        );
        for v in &mut w {
            let c = v.clamp(a, b);
            truncated_rows += usize::from(c != *v);
            *v = c;
        }
        truncated_at = Some([a, b]);
    }
    d.weight = w;
    Ok((
        d,
        Fit0 {
            clones,
            artificially_censored: art,
            model_rows,
            truncated_at,
            truncated_rows,
        },
    ))
}

/// The counts of [`weighted_data`].
#[derive(Debug, Clone)]
pub struct Fit0 {
    pub clones: [usize; 2],
    pub artificially_censored: [usize; 2],
    pub model_rows: [usize; 2],
    pub truncated_at: Option<[f64; 2]>,
    pub truncated_rows: usize,
}

#[allow(clippy::too_many_arguments)]
fn push(
    d: &mut SplitData,
    patient: usize,
    strategy: usize,
    start: f64,
    stop: f64,
    event: bool,
    interval: usize,
    censored: bool,
) {
    d.patient.push(patient);
    d.strategy.push(strategy);
    d.start.push(start);
    d.stop.push(stop);
    d.event.push(event);
    d.interval.push(interval);
    d.censored.push(censored);
}

/// The weighted curves and the differences (no Cox model, no bootstrap).
pub fn fit(patients: &[Patient], s: &Settings) -> Result<Fit, String> {
    let (data, f0) = weighted_data(patients, s)?;
    let opts = KmOptions {
        conf_type: s.conf_type.to_stats(),
        conf_level: s.conf_level,
    };
    let curve = |arm: usize| -> Result<KaplanMeier, String> {
        let rows: Vec<usize> = (0..data.stop.len())
            .filter(|&r| data.strategy[r] == arm)
            .collect();
        let pick = |v: &[f64]| rows.iter().map(|&r| v[r]).collect::<Vec<f64>>();
        let event: Vec<bool> = rows.iter().map(|&r| data.event[r]).collect();
        let id: Vec<usize> = rows.iter().map(|&r| data.patient[r]).collect();
        kaplan_meier_weighted_counting(
            &pick(&data.start),
            &pick(&data.stop),
            &event,
            &pick(&data.weight),
            &id,
            &opts,
        )
        .map_err(|e| {
            format!(
                "the weighted Kaplan-Meier curve of strategy {}: {e}",
                arm + 1
            )
        })
    };
    let curves = [curve(0)?, curve(1)?];
    let survival_at =
        s.at.iter()
            .map(|&t| [curves[0].survival_at(t).surv, curves[1].survival_at(t).surv])
            .collect();
    let rmst = match s.rmst_tau {
        Some(tau) => {
            let area = |k: &KaplanMeier| rmst(k, tau).map(|r| r.estimate);
            Some([
                area(&curves[0]).map_err(|e| e.to_string())?,
                area(&curves[1]).map_err(|e| e.to_string())?,
            ])
        }
        None => None,
    };
    Ok(Fit {
        data,
        curves,
        clones: f0.clones,
        artificially_censored: f0.artificially_censored,
        model_rows: f0.model_rows,
        truncated_at: f0.truncated_at,
        truncated_rows: f0.truncated_rows,
        survival_at,
        rmst,
    })
}

/// `coxph(Surv(tstart, tstop, event) ~ strategy, weights = w, cluster = id)`
/// with the exposed strategy coded 1.
pub fn cox(data: &SplitData, s: &Settings) -> Result<EmulationCox, String> {
    let x: Vec<f64> = data
        .strategy
        .iter()
        .map(|&a| if a == 0 { 1.0 } else { 0.0 })
        .collect();
    let cov = [x.as_slice()];
    let cd = CoxData {
        start: Some(&data.start),
        stop: &data.stop,
        event: &data.event,
        covariates: &cov,
        strata: None,
    };
    let opts = CoxOptions {
        ties: match s.ties {
            TiesName::Efron => Ties::Efron,
            TiesName::Breslow => Ties::Breslow,
        },
        conf_level: s.conf_level,
        ..CoxOptions::default()
    };
    let f = cox_ph_weighted(
        &cd,
        Some(&data.weight),
        CoxVariance::Cluster(&data.patient),
        &opts,
    )
    .map_err(|e| format!("the weighted Cox model: {e}"))?;
    let robust = f.robust.as_ref().expect("clustered");
    Ok(EmulationCox {
        formula: "coxph(Surv(tstart, tstop, event) ~ strategy, weights = w, cluster = id)".into(),
        rows: f.n,
        events: f.events,
        clusters: robust.clusters,
        coef: f.coef[0],
        robust_se: robust.se[0],
        hazard_ratio: f.hazard_ratio[0],
        lower: f.hr_lower[0],
        upper: f.hr_upper[0],
        p_value: f.p_value[0],
    })
}

/// Percentile bootstrap of the risk differences at `at` and the RMST
/// difference: `b` resamples of the patients; returns, per quantity, the
/// replicates that could be fitted, and the number that could not.
pub fn bootstrap(
    patients: &[Patient],
    s: &Settings,
    b: usize,
    seed: u64,
) -> (Vec<Vec<f64>>, usize) {
    let mut rng = SplitMix64::new(seed);
    let n = patients.len();
    let quantities = s.at.len() + usize::from(s.rmst_tau.is_some());
    let mut out = vec![Vec::with_capacity(b); quantities];
    let mut failed = 0;
    for _ in 0..b {
        let sample: Vec<Patient> = (0..n).map(|_| patients[rng.below(n)].clone()).collect();
        match fit(&sample, s) {
            Ok(f) => {
                for (j, sa) in f.survival_at.iter().enumerate() {
                    out[j].push(sa[1] - sa[0]);
                }
                if let Some(r) = f.rmst {
                    out[s.at.len()].push(r[0] - r[1]);
                }
            }
            Err(_) => failed += 1,
        }
    }
    (out, failed)
}

fn percentile(values: &[f64], level: f64) -> (Option<f64>, Option<f64>) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    (quantile_type7(&v, a), quantile_type7(&v, 1.0 - a))
}

/// The emulation of every selected endpoint on the eligible patients.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emulation(
    cfg: &EmulationConfig,
    endpoints: &[&EndpointColumns],
    frame: &DataFrame,
    default_at: Option<&[f64]>,
    default_tau: Option<f64>,
    ties: TiesName,
    conf_type: ConfTypeName,
    conf_level: f64,
    curves: &mut Vec<Curve>,
) -> Result<EmulationResult, AnalysisError> {
    let all: Vec<usize> = (0..frame.height()).collect();
    let covariates = cfg.weights.covariates.get_ref();
    let (_, missing) = design(frame, covariates, &all, MissingRule::Exclude)?;
    let keep: Vec<usize> = all.iter().copied().filter(|&i| !missing[i]).collect();
    let (terms, _) = design(frame, covariates, &keep, MissingRule::Exclude)?;
    let terms = model_terms(&terms);
    let exposure = cohortflow_core::table::date_days(frame, cfg.exposure.get_ref())?;
    let strategies = vec![
        ArmInfo {
            name: "exposed".into(),
            label: cfg.strategies[0].clone(),
        },
        ArmInfo {
            name: "unexposed".into(),
            label: cfg.strategies[1].clone(),
        },
    ];
    let mut out = Vec::new();
    for ep in endpoints {
        let model_error = |message: String| AnalysisError::Model {
            endpoint: ep.name.clone(),
            model: "emulated target trial",
            message,
        };
        let (time, event) = crate::survival::endpoint_columns(frame, ep)?;
        let origin = cohortflow_core::table::date_days(frame, crate::origin_of(ep, "emulation")?)?;
        let per_unit = ep.unit.days();
        let mut patients = Vec::new();
        for (j, &i) in keep.iter().enumerate() {
            let (Some(t), Some(e), Some(o)) = (time.get(i), event.get(i), origin.get(i)) else {
                continue;
            };
            patients.push(Patient {
                time: t,
                event: e,
                exposure: exposure.get(i).map(|x| f64::from(x - o) / per_unit),
                covariates: terms.iter().map(|t| t.values[j]).collect(),
            });
        }
        let at: Vec<f64> = cfg
            .at
            .clone()
            .or_else(|| default_at.map(<[f64]>::to_vec))
            .unwrap_or_else(|| {
                crate::DEFAULT_AT_MONTHS
                    .iter()
                    .map(|m| m * cohortflow_core::time::DAYS_PER_MONTH / per_unit)
                    .collect()
            });
        let settings = Settings {
            grace: cfg.grace,
            interval: cfg.weights.interval,
            stabilise: cfg.weights.stabilise,
            truncate: cfg.weights.truncate,
            at,
            rmst_tau: cfg.rmst_tau.or(default_tau),
            conf_type,
            conf_level,
            ties,
        };
        let f = fit(&patients, &settings).map_err(model_error)?;
        let cox = cox(&f.data, &settings).map_err(model_error)?;
        let (boot, failed) = bootstrap(&patients, &settings, cfg.bootstrap, cfg.seed);
        let mut by_strategy = Vec::new();
        for (k, s) in strategies.iter().enumerate() {
            let rows: Vec<usize> = (0..f.data.stop.len())
                .filter(|&r| f.data.strategy[r] == k)
                .collect();
            let w: Vec<f64> = rows.iter().map(|&r| f.data.weight[r]).collect();
            by_strategy.push(EmulationStrategy {
                strategy: s.name.clone(),
                clones: f.clones[k] as u64,
                artificially_censored: f.artificially_censored[k] as u64,
                events: f.curves[k].events(),
                weight_model_rows: f.model_rows[k] as u64,
                weight_min: w.iter().copied().fold(f64::INFINITY, f64::min),
                weight_max: w.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                weight_mean: w.iter().sum::<f64>() / w.len().max(1) as f64,
                survival_at: settings
                    .at
                    .iter()
                    .map(|&t| SurvivalAtTime::from(f.curves[k].survival_at(t)))
                    .collect(),
            });
            curves.push(Curve {
                analysis: AnalysisKind::Emulation,
                endpoint: ep.name.clone(),
                arm: s.name.clone(),
                km: f.curves[k].clone(),
            });
        }
        let risk_difference = settings
            .at
            .iter()
            .enumerate()
            .map(|(j, &t)| {
                let (lower, upper) = percentile(&boot[j], conf_level);
                RiskDifferenceAt {
                    time: t,
                    risk_exposed: 1.0 - f.survival_at[j][0],
                    risk_unexposed: 1.0 - f.survival_at[j][1],
                    estimate: f.survival_at[j][1] - f.survival_at[j][0],
                    lower,
                    upper,
                }
            })
            .collect();
        let rmst = match (settings.rmst_tau, f.rmst) {
            (Some(tau), Some(r)) => {
                let (lower, upper) = percentile(&boot[settings.at.len()], conf_level);
                Some(EmulationRmst {
                    tau,
                    exposed: r[0],
                    unexposed: r[1],
                    difference: r[0] - r[1],
                    lower,
                    upper,
                })
            }
            _ => None,
        };
        out.push(EmulationEndpoint {
            name: ep.name.clone(),
            label: ep.label.clone(),
            unit: ep.unit,
            patients: patients.len() as u64,
            by_strategy,
            truncated_at: f.truncated_at,
            truncated_rows: f.truncated_rows as u64,
            risk_difference,
            rmst,
            cox,
            bootstrap_failed: failed as u64,
        });
    }
    Ok(EmulationResult {
        population_n: frame.height() as u64,
        excluded_missing: (frame.height() - keep.len()) as u64,
        exposure: cfg.exposure.get_ref().clone(),
        grace: cfg.grace,
        strategies,
        weight_model: format!(
            "pooled logistic per strategy: glm(censored ~ factor(interval){}, family = binomial) on the rows within the grace period, split at multiples of {} (the endpoints' unit); intervals without an artificial censoring have probability 0; weights 1 / cumulative product of (1 - p) over the earlier intervals{}{}",
            covariates
                .iter()
                .map(|c| format!(" + {c}"))
                .collect::<String>(),
            cfg.weights.interval,
            if cfg.weights.stabilise {
                ", stabilised by the per-interval share censored"
            } else {
                ""
            },
            match cfg.weights.truncate {
                Some([a, b]) => format!(", truncated at the {a} and {b} quantiles of all rows"),
                None => String::new(),
            }
        ),
        covariates: covariates.clone(),
        interval: cfg.weights.interval,
        stabilise: cfg.weights.stabilise,
        truncate: cfg.weights.truncate,
        bootstrap: cfg.bootstrap as u64,
        seed: cfg.seed,
        endpoints: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            grace: 12.0,
            interval: 3.0,
            stabilise: true,
            truncate: None,
            at: vec![12.0, 36.0],
            rmst_tau: Some(48.0),
            conf_type: ConfTypeName::Log,
            conf_level: 0.95,
            ties: TiesName::Efron,
        }
    }

    fn patients() -> Vec<Patient> {
        let mut g = SplitMix64::new(11);
        (0..80)
            .map(|i| {
                let x = g.next_f64();
                Patient {
                    time: 1.0 + 60.0 * g.next_f64(),
                    event: g.next_f64() < 0.7,
                    exposure: (g.next_f64() < 0.4).then(|| 18.0 * g.next_f64()),
                    covariates: vec![x, f64::from(u8::from(i % 3 == 0))],
                }
            })
            .collect()
    }

    #[test]
    fn cloning_follows_the_rules() {
        let s = settings();
        let p = vec![
            // exposed at 4, event at 20
            Patient {
                time: 20.0,
                event: true,
                exposure: Some(4.0),
                covariates: vec![],
            },
            // event at 5 before any exposure
            Patient {
                time: 5.0,
                event: true,
                exposure: None,
                covariates: vec![],
            },
            // alive at 30, never exposed
            Patient {
                time: 30.0,
                event: false,
                exposure: None,
                covariates: vec![],
            },
            // exposed at time 0
            Patient {
                time: 10.0,
                event: true,
                exposure: Some(0.0),
                covariates: vec![],
            },
            // exposed after the grace period
            Patient {
                time: 40.0,
                event: true,
                exposure: Some(15.0),
                covariates: vec![],
            },
        ];
        let (d, f0) = weighted_data(&p, &s).unwrap();
        let clone_end = |i: usize, a: usize| {
            let r: Vec<usize> = (0..d.stop.len())
                .filter(|&r| d.patient[r] == i && d.strategy[r] == a)
                .collect();
            r.last().map(|&r| (d.stop[r], d.event[r], d.censored[r]))
        };
        assert_eq!(clone_end(0, 0), Some((20.0, true, false)));
        assert_eq!(clone_end(0, 1), Some((4.0, false, true)));
        assert_eq!(clone_end(1, 0), Some((5.0, true, false)));
        assert_eq!(clone_end(1, 1), Some((5.0, true, false)));
        assert_eq!(clone_end(2, 0), Some((12.0, false, true)));
        assert_eq!(clone_end(2, 1), Some((30.0, false, false)));
        assert_eq!(clone_end(3, 0), Some((10.0, true, false)));
        assert_eq!(clone_end(3, 1), None);
        assert_eq!(clone_end(4, 0), Some((12.0, false, true)));
        assert_eq!(clone_end(4, 1), Some((40.0, true, false)));
        assert_eq!(f0.clones, [5, 4]);
        assert_eq!(f0.artificially_censored, [2, 1]);
        // split at 3, 6, 9, 12 and after 12
        let rows: Vec<(f64, f64)> = (0..d.stop.len())
            .filter(|&r| d.patient[r] == 2 && d.strategy[r] == 1)
            .map(|r| (d.start[r], d.stop[r]))
            .collect();
        assert_eq!(
            rows,
            vec![
                (0.0, 3.0),
                (3.0, 6.0),
                (6.0, 9.0),
                (9.0, 12.0),
                (12.0, 30.0)
            ]
        );
    }

    #[test]
    fn weights_change_only_where_censoring_can_happen() {
        let s = settings();
        let (d, _) = weighted_data(&patients(), &s).unwrap();
        for r in 0..d.stop.len() {
            // the exposed strategy is censored only at G: weight 1 before
            if d.strategy[r] == 0 && d.interval[r] <= 4 {
                assert_eq!(d.weight[r], 1.0);
            }
            assert!(d.weight[r] > 0.0 && d.weight[r].is_finite());
            if d.interval[r] == 1 {
                assert_eq!(d.weight[r], 1.0);
            }
        }
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_estimate() {
        let s = settings();
        let p = patients();
        let (a, fa) = bootstrap(&p, &s, 60, 7);
        let (b, fb) = bootstrap(&p, &s, 60, 7);
        assert_eq!(a, b);
        assert_eq!(fa, fb);
        let (c, _) = bootstrap(&p, &s, 60, 8);
        assert_ne!(a, c);
        let f = fit(&p, &s).unwrap();
        let rd = f.survival_at[1][1] - f.survival_at[1][0];
        let (lo, hi) = percentile(&a[1], 0.95);
        let (lo, hi) = (lo.unwrap(), hi.unwrap());
        assert!(lo < rd && rd < hi, "{lo} {rd} {hi}");
        assert_eq!(a[1].len() + fa, 60);
    }
}

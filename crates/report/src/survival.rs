//! The survival part of the report: per endpoint, a results table (the
//! naive comparison of the declared arms and, beside it, the landmark
//! groups) and the Kaplan–Meier figures.
//!
//! The table is a list of [`Line`]s of two kinds: per-group lines (n,
//! median, survival at fixed times) and per-analysis lines (the log-rank
//! test, the Cox hazard ratios, the PH test, the time-varying model).

use crate::doc::{Block, Cell, Row};
use crate::plot::{Figure, Series};
use crate::{Input, fmt};
use cohortflow_analysis::{AnalysisKind, CoxModel, Curve, EndpointResult};
use cohortflow_core::time::TimeUnit;

/// One analysis of an endpoint: the groups compared and the result.
pub struct Analysis<'a> {
    pub kind: AnalysisKind,
    pub title: String,
    /// Where time is counted from, for axis labels and table captions.
    pub time_from: String,
    /// (name, label) per group, in the order of `result.by_arm`.
    pub groups: Vec<(String, String)>,
    pub result: &'a EndpointResult,
    /// Patients left out of this analysis (landmark), with why.
    pub left_out: Option<String>,
}

pub enum Line {
    /// One cell per group of every analysis, analyses side by side.
    PerGroup { label: String, cells: Vec<String> },
    /// One cell per analysis, spanning that analysis' groups.
    PerAnalysis { label: String, cells: Vec<String> },
}

/// The analyses of endpoint `k`: the naive comparison, then the landmark.
pub fn analyses<'a>(input: &'a Input, k: usize) -> Vec<Analysis<'a>> {
    let r = input.results;
    let ep = &r.endpoints[k];
    let from = origin_words(input, &ep.name);
    let mut out = vec![Analysis {
        kind: AnalysisKind::Naive,
        title: format!("Declared arms, time from {from}"),
        time_from: from,
        groups: present(ep, r.arms.iter().map(|a| (&a.name, &a.label))),
        result: ep,
        left_out: None,
    }];
    if let Some(l) = &r.landmark {
        if let Some(le) = l.endpoints.iter().find(|e| e.result.name == ep.name) {
            out.push(Analysis {
                kind: AnalysisKind::Landmark,
                title: format!("Landmark at {} {}", fmt::num(l.time), l.unit),
                time_from: format!(
                    "the {}-{} landmark",
                    fmt::num(l.time),
                    l.unit.name().trim_end_matches('s')
                ),
                groups: present(&le.result, l.groups.iter().map(|g| (&g.name, &g.label))),
                result: &le.result,
                left_out: Some(format!(
                    "{} with an event, death or end of follow-up at or before the landmark {} not in the landmark analysis of this endpoint.",
                    match le.excluded_before_landmark {
                        1 => "1 patient".to_string(),
                        n => format!("{n} patients"),
                    },
                    if le.excluded_before_landmark == 1 { "is" } else { "are" }
                )),
            });
        }
    }
    out
}

/// (name, label) of the groups with patients, in the order of `by_arm`.
fn present<'a>(
    ep: &EndpointResult,
    declared: impl Iterator<Item = (&'a String, &'a String)> + Clone,
) -> Vec<(String, String)> {
    ep.by_arm
        .iter()
        .map(|s| {
            let label = declared
                .clone()
                .find(|(n, _)| **n == s.arm)
                .map_or_else(|| s.arm.clone(), |(_, l)| l.clone());
            (s.arm.clone(), label)
        })
        .collect()
}

pub fn curve<'a>(
    curves: &'a [Curve],
    kind: AnalysisKind,
    endpoint: &str,
    group: &str,
) -> Option<&'a Curve> {
    curves
        .iter()
        .find(|c| c.analysis == kind && c.endpoint == endpoint && c.arm == group)
}

pub fn lines(input: &Input, analyses: &[Analysis]) -> Vec<Line> {
    let mut out = Vec::new();
    let per_group = |f: &dyn Fn(&Analysis, usize) -> String| -> Vec<String> {
        analyses
            .iter()
            .flat_map(|a| (0..a.groups.len()).map(move |g| (a, g)))
            .map(|(a, g)| f(a, g))
            .collect()
    };
    let level = fmt::num(input.results.conventions.conf_level * 100.0);
    let unit = analyses[0].result.unit;
    out.push(Line::PerGroup {
        label: "Patients (events)".into(),
        cells: per_group(&|a, g| {
            let s = &a.result.by_arm[g];
            format!("{} ({})", s.n, s.events)
        }),
    });
    out.push(Line::PerGroup {
        label: format!("Median, {unit} [{level}% CI]"),
        cells: per_group(&|a, g| {
            let m = &a.result.by_arm[g].median;
            fmt::median_ci(m.estimate, m.lower, m.upper)
        }),
    });
    // Declared quantiles (`analysis.quantiles`): the time by which a share
    // had the event, as R's quantile(fit, probs).
    let probs: Vec<f64> = analyses[0]
        .result
        .by_arm
        .first()
        .map(|s| s.quantiles.iter().map(|q| q.p).collect())
        .unwrap_or_default();
    for (k, p) in probs.iter().enumerate() {
        out.push(Line::PerGroup {
            label: format!(
                "Time to {}% with the event, {unit} [{level}% CI]",
                fmt::num(p * 100.0)
            ),
            cells: per_group(&|a, g| match a.result.by_arm[g].quantiles.get(k) {
                Some(q) => fmt::median_ci(q.quantile.estimate, q.quantile.lower, q.quantile.upper),
                None => "–".into(),
            }),
        });
    }
    // Restricted mean survival time (`analysis.rmst_tau`).
    if let Some(tau) = analyses[0]
        .result
        .by_arm
        .iter()
        .find_map(|s| s.rmst.as_ref().map(|r| r.tau))
    {
        out.push(Line::PerGroup {
            label: format!(
                "Restricted mean survival time to {} {unit}, {unit} (SE)",
                fmt::num(tau)
            ),
            cells: per_group(&|a, g| match &a.result.by_arm[g].rmst {
                Some(r) => format!(
                    "{} ({})",
                    fmt::dec(Some(r.estimate), 1),
                    fmt::dec(Some(r.se), 1)
                ),
                None => "–".into(),
            }),
        });
        out.push(Line::PerAnalysis {
            label: format!(
                "Difference in restricted mean survival time, {unit} (first group − second)"
            ),
            cells: analyses
                .iter()
                .map(
                    |a| match (a.result.by_arm.first(), a.result.by_arm.get(1)) {
                        (Some(x), Some(y)) if a.result.by_arm.len() == 2 => {
                            match (&x.rmst, &y.rmst) {
                                (Some(rx), Some(ry)) => format!(
                                    "{} (point estimate; no confidence interval is computed)",
                                    fmt::dec(Some(rx.estimate - ry.estimate), 1)
                                ),
                                _ => "–".into(),
                            }
                        }
                        _ => "–".into(),
                    },
                )
                .collect(),
        });
    }
    // The curve at the times in results.json (`analysis.at`), which are
    // the same for every group and analysis of the endpoint.
    let times: Vec<f64> = analyses[0]
        .result
        .by_arm
        .first()
        .map(|s| s.survival_at.iter().map(|a| a.time).collect())
        .unwrap_or_default();
    for (k, t) in times.iter().enumerate() {
        out.push(Line::PerGroup {
            label: format!(
                "Kaplan–Meier estimate at {} {unit}, % [{level}% CI]",
                fmt::num(*t)
            ),
            cells: per_group(&|a, g| match a.result.by_arm[g].survival_at.get(k) {
                Some(s) if s.beyond_last_time => "– (after the last follow-up)".into(),
                Some(s) => {
                    let pc = |v: Option<f64>| fmt::dec(v.map(|x| x * 100.0), 1);
                    format!("{} [{}, {}]", pc(Some(s.surv)), pc(s.lower), pc(s.upper))
                }
                None => "–".into(),
            }),
        });
    }
    out.push(Line::PerGroup {
        label: format!("Median follow-up (reverse Kaplan–Meier), {unit} [{level}% CI]"),
        cells: per_group(&|a, g| {
            let m = &a.result.by_arm[g].median_follow_up;
            fmt::median_ci(m.estimate, m.lower, m.upper)
        }),
    });
    out.push(Line::PerAnalysis {
        label: "Log-rank χ² (df)".into(),
        cells: analyses
            .iter()
            .map(|a| {
                a.result
                    .log_rank
                    .as_ref()
                    .map_or("–".into(), |l| format!("{:.2} ({})", l.chisq, l.df))
            })
            .collect(),
    });
    out.push(Line::PerAnalysis {
        label: "Log-rank p".into(),
        cells: analyses
            .iter()
            .map(|a| {
                a.result.log_rank.as_ref().map_or("–".into(), |l| {
                    fmt::significance(l.p_value, input.alpha())
                })
            })
            .collect(),
    });
    // Pairwise comparisons: one line per pair of the naive comparison.
    for (k, pair) in analyses[0].result.pairwise.iter().enumerate() {
        out.push(Line::PerAnalysis {
            label: format!(
                "Log-rank p, {} vs {} (adjusted: {})",
                pair.a,
                pair.b,
                input
                    .results
                    .conventions
                    .pairwise_adjust
                    .as_deref()
                    .unwrap_or("none")
            ),
            cells: analyses
                .iter()
                .map(|a| match (a.kind, a.result.pairwise.get(k)) {
                    (AnalysisKind::Naive, Some(p)) => format!(
                        "{} (unadjusted {})",
                        fmt::significance(p.p_adjusted, input.alpha()),
                        fmt::p_eq(p.p_value)
                    ),
                    _ => "–".into(),
                })
                .collect(),
        });
    }
    // Cox models: fitted for the declared arms (not for the landmark groups).
    let alpha = input.alpha();
    let hr = |m: &CoxModel, terms: usize| -> String {
        let caveat = match m.ph_test.last() {
            Some((_, t)) if t.p_value < alpha => format!(
                "; caution: proportional hazards rejected (cox.zph global {}; see the notes)",
                fmt::p_eq(t.p_value)
            ),
            _ => String::new(),
        };
        let text = m
            .terms
            .iter()
            .take(terms)
            .map(|t| {
                format!(
                    "{} [{}, {}]; {}",
                    fmt::dec(Some(t.hazard_ratio), 2),
                    fmt::dec(Some(t.lower), 2),
                    fmt::dec(Some(t.upper), 2),
                    fmt::significance(t.p_value, input.alpha())
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        text + &caveat
    };
    let arm_terms = input.results.arms.len().saturating_sub(1);
    let naive_only = |f: &dyn Fn(&EndpointResult) -> Option<String>| -> Vec<String> {
        analyses
            .iter()
            .map(|a| match a.kind {
                AnalysisKind::Naive => f(a.result).unwrap_or_else(|| "–".into()),
                _ => "–".into(),
            })
            .collect()
    };
    if let Some(cox) = analyses[0].result.cox.as_ref() {
        let terms: Vec<&str> = cox
            .unadjusted
            .terms
            .iter()
            .map(|t| t.term.as_str())
            .collect();
        out.push(Line::PerAnalysis {
            label: format!(
                "Hazard ratio ({}) [{level}% CI], Cox, unadjusted",
                terms.join("; ")
            ),
            cells: naive_only(&|r| r.cox.as_ref().map(|c| hr(&c.unadjusted, arm_terms))),
        });
        if let Some(adj) = &cox.adjusted {
            let covariates: Vec<String> = adj
                .terms
                .iter()
                .skip(arm_terms)
                .map(|t| crate::term_label(&input.results.labels, &t.term))
                .collect();
            out.push(Line::PerAnalysis {
                label: format!(
                    "Hazard ratio [{level}% CI], Cox, adjusted for {}",
                    covariates.join(", ")
                ),
                cells: naive_only(&|r| {
                    r.cox.as_ref().and_then(|c| c.adjusted.as_ref()).map(|m| {
                        let mut cell = hr(m, arm_terms);
                        if m.excluded_missing > 0 {
                            let by: Vec<String> = m
                                .missing_by_covariate
                                .iter()
                                .map(|c| {
                                    format!("{} {}", input.results.labels.label(&c.column), c.rows)
                                })
                                .collect();
                            cell.push_str(&format!(
                                "; n = {}, {} left out for a missing covariate ({})",
                                m.n,
                                m.excluded_missing,
                                by.join(", ")
                            ));
                        }
                        cell
                    })
                }),
            });
        }
        out.push(Line::PerAnalysis {
            label: "Proportional-hazards test (cox.zph, global), unadjusted model".into(),
            cells: naive_only(&|r| {
                r.cox
                    .as_ref()
                    .and_then(|c| c.unadjusted.ph_test.last())
                    .map(|(_, t)| {
                        format!(
                            "{}{}",
                            fmt::p_eq(t.p_value),
                            if t.p_value < input.alpha() {
                                ": hazards not proportional"
                            } else {
                                ""
                            }
                        )
                    })
            }),
        });
    }
    // The landmark groups' hazard ratio (exposed against unexposed).
    if analyses
        .iter()
        .any(|a| a.kind == AnalysisKind::Landmark && a.result.cox.is_some())
    {
        out.push(Line::PerAnalysis {
            label: format!(
                "Hazard ratio [{level}% CI], Cox, exposed vs not exposed by the landmark"
            ),
            cells: analyses
                .iter()
                .map(|a| match (a.kind, &a.result.cox) {
                    (AnalysisKind::Landmark, Some(c)) => hr(&c.unadjusted, 1),
                    _ => "–".into(),
                })
                .collect(),
        });
    }
    if let Some(tv) = &input.results.time_varying
        && let Some(e) = tv
            .endpoints
            .iter()
            .find(|e| e.name == analyses[0].result.name)
    {
        out.push(Line::PerAnalysis {
            label: format!(
                "Hazard ratio [{level}% CI], {} as a time-varying covariate (Cox)",
                input.results.labels.label(&tv.exposure)
            ),
            cells: naive_only(&|_| Some(hr(&e.model, 1))),
        });
    }
    out
}

/// The results table of one endpoint.
pub fn table(input: &Input, k: usize) -> Block {
    let an = analyses(input, k);
    let ep = &input.results.endpoints[k];
    // Header: the analyses, each over its groups; first row: the groups.
    let mut header: Vec<Cell> = vec!["".into()];
    header.extend(an.iter().map(|a| Cell {
        text: a.title.clone(),
        span: a.groups.len(),
    }));
    let mut names: Vec<Cell> = vec!["".into()];
    for a in &an {
        for (name, label) in &a.groups {
            names.push(if name == label || a.kind == AnalysisKind::Landmark {
                Cell::from(label.as_str())
            } else {
                Cell::from(format!("{name}: {label}"))
            });
        }
    }
    let mut rows = vec![Row {
        cells: names,
        group: true,
    }];
    for line in lines(input, &an) {
        match line {
            Line::PerGroup { label, cells } => {
                let mut c: Vec<Cell> = vec![label.into()];
                c.extend(cells.into_iter().map(Cell::from));
                rows.push(Row::new(c));
            }
            Line::PerAnalysis { label, cells } => {
                let mut c: Vec<Cell> = vec![label.into()];
                for (a, text) in an.iter().zip(cells) {
                    c.push(Cell {
                        text,
                        span: a.groups.len(),
                    });
                }
                rows.push(Row::new(c));
            }
        }
    }
    let mut notes = Vec::new();
    let ph_rejected = rows.iter().any(|r| {
        r.cells
            .iter()
            .any(|c| c.text.contains("proportional hazards rejected"))
    });
    for a in &an {
        if a.kind != AnalysisKind::Naive {
            notes.push(format!("{}: time counted from {}.", a.title, a.time_from));
        }
        if let Some(l) = &a.left_out {
            notes.push(l.clone());
        }
    }
    notes.push("\"not reached\": the survival curve (or, for a confidence limit, the confidence curve) does not fall to 0.5.".into());
    notes.push("Kaplan–Meier estimate at a time: the curve at that time (as R's summary(fit, times, extend = TRUE)); – where the time is after the group's last follow-up.".into());
    if ep.cox.is_some() {
        notes.push("Hazard ratios: Cox proportional hazards (R's coxph, Efron ties unless declared) of each arm against the reference arm, with Wald confidence intervals; fitted on the declared arms only.".into());
    }
    if ph_rejected {
        notes.push(format!("Proportional hazards rejected (cox.zph global p < α = {}): the hazard ratio is an average of a ratio that changes over time and depends on the follow-up; read it with the restricted mean survival times and the curves, which do not assume proportional hazards.", fmt::num(input.alpha())));
    }
    if let Some(v) = ep.cox.as_ref().and_then(|c| c.unadjusted.variance.as_ref()) {
        notes.push(format!(
            "Standard errors, Wald tests and confidence intervals of the hazard ratios: {v} (the matched pairs are not independent)."
        ));
    }
    if input.results.time_varying.is_some() {
        notes.push(format!(
            "Time-varying model: each patient is unexposed from the origin to the exposure date and exposed after it, so no immortal time is credited to the exposed; fitted on {}.",
            input.results.time_varying.as_ref().map_or("", |t| t.population.describe())
        ));
    }
    Block::Table {
        caption: format!("{} ({})", ep.label, ep.unit),
        header,
        rows,
        notes,
        class: "numbers",
    }
}

/// What an endpoint's time is counted from, in words: its origin column's
/// label ("imatinib start"), or "the origin" for an endpoint declared by a
/// time and a status.
pub fn origin_words(input: &Input, endpoint: &str) -> String {
    let origin = input
        .study
        .endpoints
        .iter()
        .find(|e| e.name == endpoint)
        .and_then(|e| e.origin.as_deref());
    match origin {
        Some(col) => lower_first(&input.results.labels.label(col)),
        None => "the origin".into(),
    }
}

/// "Imatinib start" -> "imatinib start", but "PET scan" stays.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            a.to_lowercase().chain(s.chars().skip(1)).collect()
        }
        _ => s.to_string(),
    }
}

/// The axis titles of an endpoint's figures: (time axis, probability
/// axis), e.g. "Months since the origin" and "Progression-free survival
/// probability". The one place the figures take them from: `from` is what
/// time is counted from (the analysis' `time_from`).
pub fn axis_titles(ep_label: &str, unit: TimeUnit, from: &str) -> (String, String) {
    (
        format!("{} since {from}", capital(unit.name())),
        format!("{ep_label} probability"),
    )
}

/// The end of the time axis shared by the figures of an endpoint (the
/// naive and the landmark analysis): the last time of any of their curves,
/// so that both figures have the same axis and their risk tables line up.
fn shared_x_max(input: &Input, endpoint: &str) -> f64 {
    input
        .curves
        .iter()
        .filter(|c| {
            c.endpoint == endpoint
                && matches!(c.analysis, AnalysisKind::Naive | AnalysisKind::Landmark)
        })
        .filter_map(|c| c.km.steps().last().map(|st| st.time))
        .fold(0.0, f64::max)
}

/// The lines above a figure's plot: the hazard ratio (Cox, unadjusted;
/// one per non-reference group, its groups named by their labels) and the
/// log-rank p-value, never a verdict.
fn notes(input: &Input, a: &Analysis) -> Vec<String> {
    let level = fmt::num(input.results.conventions.conf_level * 100.0);
    let label = |name: &str| {
        a.groups
            .iter()
            .find(|(n, _)| n == name)
            .map_or(name.to_string(), |(_, l)| l.clone())
    };
    let mut out = Vec::new();
    if let Some(c) = &a.result.cox {
        let terms = match a.kind {
            AnalysisKind::Landmark => 1,
            _ => a.groups.len().saturating_sub(1),
        };
        for t in c.unadjusted.terms.iter().take(terms) {
            // "arm S vs NS" (declared arms); the landmark's "... exposed
            // vs unexposed" compares its first group with its second.
            let vs = match (a.kind, t.term.strip_prefix("arm ")) {
                (AnalysisKind::Landmark, _) if a.groups.len() == 2 => {
                    format!("{} vs {}", a.groups[0].1, a.groups[1].1)
                }
                (_, Some(pair)) => match pair.split_once(" vs ") {
                    Some((x, y)) => format!("{} vs {}", label(x), label(y)),
                    None => pair.to_string(),
                },
                _ => t.term.clone(),
            };
            out.push(format!(
                "HR {} [{level}% CI {}, {}], {vs}",
                fmt::dec(Some(t.hazard_ratio), 2),
                fmt::dec(Some(t.lower), 2),
                fmt::dec(Some(t.upper), 2)
            ));
        }
    }
    if let Some(l) = &a.result.log_rank {
        out.push(format!("Log-rank {}", fmt::p_eq(l.p_value)));
    }
    out
}

/// The figure of one analysis of an endpoint.
pub fn figure<'a>(input: &'a Input, a: &'a Analysis) -> Figure<'a> {
    let series = a
        .groups
        .iter()
        .enumerate()
        .filter_map(|(g, (name, label))| {
            let c = curve(input.curves, a.kind, &a.result.name, name)?;
            let arm = &a.result.by_arm[g];
            Some(Series {
                label: label.as_str(),
                km: &c.km,
                median: arm.median.estimate,
                counts: Some((arm.events, arm.n)),
            })
        })
        .collect();
    let (x_label, y_label) = axis_titles(&a.result.label, a.result.unit, &a.time_from);
    Figure {
        title: format!("{}: {}", a.result.label, a.title.to_lowercase()),
        x_label,
        y_label,
        unit: a.result.unit,
        series,
        notes: notes(input, a),
        ci_bands: input.config.ci_bands,
        x_max: Some(shared_x_max(input, &a.result.name)),
    }
}

pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The file stem of a figure: `km-pfs`, `km-pfs-landmark`.
pub fn stem(a: &Analysis) -> String {
    if a.kind == AnalysisKind::Naive {
        format!("km-{}", a.result.name)
    } else {
        format!("km-{}-{}", a.result.name, a.kind)
    }
}

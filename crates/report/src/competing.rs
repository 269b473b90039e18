//! The competing-risks part of an endpoint's section: the cumulative
//! incidence of each cause per arm at the declared times (with CI and
//! numbers at risk), Gray's test and the cause-specific hazard ratios, and
//! one figure per cause (Aalen–Johansen curves with a numbers-at-risk
//! table), drawn like the Kaplan–Meier figures ([`crate::plot`]).

use crate::doc::{Block, Cell, Row};
use crate::fmt;
use crate::plot::{Chart, Line, counts_text, ticks as tick_times};
use cohortflow_analysis::{CifCurve, CompetingResult, EndpointResult};
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::CumulativeIncidence;

/// The table and the list of tests of a competing-risks endpoint.
pub(crate) fn blocks(ep: &EndpointResult, comp: &CompetingResult, conf_level: f64) -> Vec<Block> {
    let mut out = vec![Block::Heading(
        4,
        format!("Cumulative incidence by cause ({})", ep.name),
    )];
    let times: Vec<f64> = comp
        .causes
        .first()
        .and_then(|c| c.by_arm.first())
        .map(|a| a.incidence_at.iter().map(|x| x.time).collect())
        .unwrap_or_default();
    let mut header: Vec<Cell> = vec!["Cause".into(), "Arm".into(), "n".into(), "Events".into()];
    header.extend(
        times
            .iter()
            .map(|t| Cell::from(format!("At {} {}", fmt::num(*t), ep.unit))),
    );
    let mut rows = Vec::new();
    for c in &comp.causes {
        for a in &c.by_arm {
            let mut cells: Vec<Cell> = vec![
                c.cause.as_str().into(),
                a.arm.as_str().into(),
                a.n.to_string().into(),
                fmt::num(a.events).into(),
            ];
            for x in &a.incidence_at {
                cells.push(if x.beyond_last_time {
                    "–".into()
                } else {
                    let ci = match (x.lower, x.upper) {
                        (Some(l), Some(h)) => {
                            format!(" ({}–{})", fmt::dec(Some(l), 3), fmt::dec(Some(h), 3))
                        }
                        _ => String::new(),
                    };
                    format!(
                        "{}{ci}; {} at risk",
                        fmt::dec(Some(x.incidence), 3),
                        fmt::num(x.n_risk)
                    )
                    .into()
                });
            }
            rows.push(Row::new(cells));
        }
    }
    out.push(Block::Table {
        caption: format!("{}: cumulative incidence of each cause", ep.label),
        header,
        rows,
        notes: vec![
            format!("Aalen–Johansen estimate of the probability of the event of the cause by the time, the other causes competing (R's survfit with a multi-state status), with {}% pointwise confidence interval (infinitesimal-jackknife standard error, as R) and the number still at risk (no interval where the incidence is 0); – where the time is after the arm's last follow-up.", fmt::num(conf_level * 100.0)),
        ],
        class: "numbers",
    });
    let mut items = Vec::new();
    for c in &comp.causes {
        let gray = match (&c.gray, &c.gray_note) {
            (Some(g), _) => format!(
                "Gray's test χ² = {:.2}, {} df, {}",
                g.statistic,
                g.df,
                fmt::p_eq(g.p_value)
            ),
            (None, Some(note)) => note.clone(),
            (None, None) => "no Gray's test (fewer than two arms, or no event of the cause)".into(),
        };
        let model = |m: &cohortflow_analysis::CauseCox, what: &str, ratio: &str| {
            let terms: Vec<String> = m
                .unadjusted
                .terms
                .iter()
                .map(|t| {
                    format!(
                        "{} {ratio} {:.2} ({:.2}–{:.2}), {}",
                        t.term,
                        t.hazard_ratio,
                        t.lower,
                        t.upper,
                        fmt::p_eq(t.p_value)
                    )
                })
                .collect();
            format!("; {what}: {}", terms.join("; "))
        };
        let hr = c.cause_specific_cox.as_ref().map_or(String::new(), |m| {
            model(m, "cause-specific Cox (other causes censored)", "HR")
        });
        let shr = c.fine_gray.as_ref().map_or(String::new(), |m| {
            model(
                m,
                "Fine–Gray (subdistribution hazard; robust SE, as coxph on finegray() data)",
                "sHR",
            )
        });
        items.push(format!("**{}**: {gray}{hr}{shr}.", c.cause));
    }
    out.push(Block::List(items));
    out
}

/// One arm of a cumulative-incidence figure: its label, its fit, and
/// (events of the cause, patients).
pub(crate) type CifSeries<'a> = (String, &'a CumulativeIncidence, Option<(f64, u64)>);

/// One figure: the curves of one cause, one per arm.
pub(crate) struct CifFigure<'a> {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub unit: TimeUnit,
    /// One per arm.
    pub series: Vec<CifSeries<'a>>,
    /// State of the cause in the fits (cause `j` is state `j + 1`).
    pub state: usize,
    pub test: String,
    pub ci_bands: bool,
}

/// The figures of an endpoint's causes: (file stem, figure).
/// `labels`: (name, label) of the declared arms; `x_label`: the time axis'
/// title (as the endpoint's Kaplan–Meier figure).
pub(crate) fn figures<'a>(
    ep: &'a EndpointResult,
    comp: &'a CompetingResult,
    curves: &'a [CifCurve],
    labels: &[(String, String)],
    x_label: &str,
    ci_bands: bool,
) -> Vec<(String, CifFigure<'a>)> {
    let mine: Vec<&CifCurve> = curves.iter().filter(|c| c.endpoint == ep.name).collect();
    let mut out = Vec::new();
    for (j, c) in comp.causes.iter().enumerate() {
        let series = mine
            .iter()
            .map(|k| {
                let label = labels
                    .iter()
                    .find(|(n, _)| *n == k.arm)
                    .map_or_else(|| k.arm.clone(), |(_, l)| l.clone());
                let counts = c
                    .by_arm
                    .iter()
                    .find(|a| a.arm == k.arm)
                    .map(|a| (a.events, a.n));
                (label, &k.fit, counts)
            })
            .collect();
        out.push((
            format!("cif-{}-{}", ep.name, file_part(&c.cause)),
            CifFigure {
                title: format!("{}: cumulative incidence of {}", ep.label, c.cause),
                x_label: x_label.to_string(),
                y_label: format!("Cumulative incidence of {}", c.cause),
                unit: ep.unit,
                series,
                state: j + 1,
                test: c
                    .gray
                    .as_ref()
                    .map_or(String::new(), |g| format!("Gray {}", fmt::p_eq(g.p_value))),
                ci_bands,
            },
        ));
    }
    out
}

/// A cause name as part of a file name: letters, digits, `-`, `_`; other
/// characters become `_`.
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The curve of one state as line points: (0, 0), then a rise at each
/// change, carried to the last time.
fn step_points(fit: &CumulativeIncidence, state: usize) -> Vec<(f64, f64)> {
    let mut pts = vec![(0.0, 0.0)];
    let mut y = 0.0;
    for st in fit.steps() {
        if st.pstate[state] != y {
            pts.push((st.time, y));
            pts.push((st.time, st.pstate[state]));
            y = st.pstate[state];
        }
    }
    if let Some(last) = fit.steps().last() {
        pts.push((last.time, y));
    }
    pts
}

/// The pointwise band where both limits exist, stepped like the curve.
fn band(fit: &CumulativeIncidence, state: usize) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut upper: Vec<(f64, f64)> = Vec::new();
    let mut lower: Vec<(f64, f64)> = Vec::new();
    let (mut lo, mut hi) = (0.0, 0.0);
    let flush = |upper: &mut Vec<(f64, f64)>, lower: &mut Vec<(f64, f64)>, out: &mut Vec<_>| {
        if upper.len() >= 2 {
            let mut poly = std::mem::take(upper);
            poly.extend(lower.drain(..).rev());
            out.push(poly);
        }
        upper.clear();
        lower.clear();
    };
    for st in fit.steps() {
        match (st.lower[state], st.upper[state]) {
            (Some(l), Some(h)) => {
                if !upper.is_empty() {
                    upper.push((st.time, hi));
                    lower.push((st.time, lo));
                }
                upper.push((st.time, h));
                lower.push((st.time, l));
                lo = l;
                hi = h;
            }
            _ => {
                if !upper.is_empty() {
                    upper.push((st.time, hi));
                    lower.push((st.time, lo));
                }
                flush(&mut upper, &mut lower, &mut out);
            }
        }
    }
    if let Some(last) = fit.steps().last()
        && !upper.is_empty()
    {
        upper.push((last.time, hi));
        lower.push((last.time, lo));
    }
    flush(&mut upper, &mut lower, &mut out);
    out
}

impl CifFigure<'_> {
    /// The figure as a [`Chart`], drawn like the Kaplan–Meier figures.
    pub(crate) fn chart(&self) -> Chart {
        let max_time = self
            .series
            .iter()
            .filter_map(|s| s.1.steps().last().map(|st| st.time))
            .fold(0.0, f64::max);
        let xt = tick_times(self.unit, max_time);
        let lines = self
            .series
            .iter()
            .map(|(label, fit, counts)| Line {
                label: label.clone(),
                counts: counts_text(*counts),
                points: step_points(fit, self.state),
                bands: if self.ci_bands {
                    band(fit, self.state)
                } else {
                    Vec::new()
                },
                censored: Vec::new(),
                median: None,
                at_risk: xt.iter().map(|&t| fit.at(t).n_risk).collect(),
            })
            .collect();
        Chart {
            title: self.title.clone(),
            x_title: self.x_label.clone(),
            y_title: self.y_label.clone(),
            ticks: xt,
            lines,
            notes: if self.test.is_empty() {
                Vec::new()
            } else {
                vec![self.test.clone()]
            },
        }
    }
}

/// The figure as SVG, PNG and PDF (the report draws its charts together:
/// `Figures` in lib.rs).
#[cfg(test)]
pub(crate) fn render_figure(fig: &CifFigure) -> Result<crate::plot::Rendered, String> {
    crate::plot::render(&fig.chart())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_stats::{KmOptions, cumulative_incidence};

    /// The cumulative-incidence figure is drawn like the Kaplan–Meier one:
    /// print size, the same label in the legend (with events / patients)
    /// and in the risk table, the test above the plot.
    #[test]
    fn drawn_like_the_kaplan_meier_figures() {
        let o = KmOptions::default();
        let a = cumulative_incidence(
            &[2.0, 4.0, 5.0, 7.0, 9.0, 12.0, 15.0, 20.0],
            &[1, 2, 0, 1, 1, 0, 2, 0],
            2,
            &o,
        )
        .unwrap();
        let b = cumulative_incidence(
            &[1.0, 3.0, 3.5, 6.0, 8.0, 10.0, 11.0, 18.0, 24.0],
            &[1, 1, 2, 0, 1, 1, 0, 2, 0],
            2,
            &o,
        )
        .unwrap();
        let fig = CifFigure {
            title: "Relapse: cumulative incidence of relapse".into(),
            x_label: "Months since the origin".into(),
            y_label: "Cumulative incidence of relapse".into(),
            unit: TimeUnit::Months,
            series: vec![
                ("Surgery".into(), &a, Some((3.0, 8))),
                ("No surgery".into(), &b, Some((4.0, 9))),
            ],
            state: 1,
            test: "Gray p = 0.41".into(),
            ci_bands: true,
        };
        let r = render_figure(&fig).unwrap();
        assert!(r.svg.starts_with("<svg width=\"174.0mm\""));
        for text in [
            ">\nSurgery (3 events / 8 patients)\n<",
            ">\nNo surgery (4 events / 9 patients)\n<",
            ">\nSurgery\n<",
            ">\nNo surgery\n<",
            ">\nGray p = 0.41\n<",
            ">\nCumulative incidence of relapse\n<",
            ">\nNumber at risk\n<",
        ] {
            assert!(r.svg.contains(text), "{text}");
        }
        assert_eq!(r.pdf, render_figure(&fig).unwrap().pdf);
    }
}

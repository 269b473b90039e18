//! The competing-risks part of an endpoint's section: the cumulative
//! incidence of each cause per arm at the declared times (with CI and
//! numbers at risk), Gray's test and the cause-specific hazard ratios, and
//! one figure per cause (Aalen–Johansen curves with a numbers-at-risk
//! table), drawn like the Kaplan–Meier figures ([`crate::plot`]).

use crate::doc::{Block, Cell, Row};
use crate::fmt;
use crate::plot::{
    CHART_H, COLOURS, ROW_H, WIDTH, register_font, render_png, render_svg, risk_table, tick_label,
    ticks as tick_times,
};
use cohortflow_analysis::{CifCurve, CompetingResult, EndpointResult};
use cohortflow_core::time::TimeUnit;
use cohortflow_stats::CumulativeIncidence;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

/// One figure: the curves of one cause, one per arm.
pub(crate) struct CifFigure<'a> {
    pub title: String,
    pub x_label: String,
    pub unit: TimeUnit,
    /// (short name, fit) per arm.
    pub series: Vec<(&'a str, &'a CumulativeIncidence)>,
    /// State of the cause in the fits (cause `j` is state `j + 1`).
    pub state: usize,
    pub test: String,
    pub ci_bands: bool,
}

/// The figures of an endpoint's causes: (file stem, figure).
pub(crate) fn figures<'a>(
    ep: &'a EndpointResult,
    comp: &'a CompetingResult,
    curves: &'a [CifCurve],
    ci_bands: bool,
) -> Vec<(String, CifFigure<'a>)> {
    let mine: Vec<&CifCurve> = curves.iter().filter(|c| c.endpoint == ep.name).collect();
    let mut out = Vec::new();
    for (j, c) in comp.causes.iter().enumerate() {
        let series = mine.iter().map(|k| (k.arm.as_str(), &k.fit)).collect();
        out.push((
            format!("cif-{}-{}", ep.name, file_part(&c.cause)),
            CifFigure {
                title: format!("{}: cumulative incidence of {}", ep.label, c.cause),
                x_label: format!("Time ({})", ep.unit),
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

fn size(fig: &CifFigure) -> (u32, u32) {
    (
        WIDTH,
        CHART_H + 16 + ROW_H * (fig.series.len() as u32 + 1) + 12,
    )
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing the cumulative-incidence figure: {e:?}")
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

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &CifFigure) -> Result<(), String> {
    register_font();
    root.fill(&WHITE).map_err(err)?;
    let max_time = fig
        .series
        .iter()
        .filter_map(|s| s.1.steps().last().map(|st| st.time))
        .fold(0.0, f64::max);
    let xt = tick_times(fig.unit, max_time);
    let x_max = *xt.last().expect("ticks");
    let font = |size: f64| ("sans-serif", size).into_font();
    let label_chars = fig
        .series
        .iter()
        .map(|s| s.0.chars().count())
        .max()
        .unwrap_or(1);
    let left = (label_chars as u32 * 9 + 24).max(70);
    let (top, bottom) = root.split_vertically(CHART_H);
    let mut chart = ChartBuilder::on(&top)
        .caption(&fig.title, font(22.0))
        .margin_top(10)
        .margin_right(30)
        .margin_left(10)
        .x_label_area_size(50)
        .y_label_area_size(left)
        .build_cartesian_2d(0.0f64..x_max, 0.0f64..1.0f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .x_desc(&fig.x_label)
        .y_desc("Cumulative incidence")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(font(16.0))
        .axis_desc_style(font(17.0))
        .draw()
        .map_err(err)?;
    for &t in &xt {
        let (x, y) = chart.backend_coord(&(t, 0.0));
        top.draw(&PathElement::new(
            vec![(x, y), (x, y + 5)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            tick_label(t),
            (x, y + 8),
            TextStyle::from(font(16.0)).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
    }
    if fig.ci_bands {
        for (i, s) in fig.series.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            for poly in band(s.1, fig.state) {
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.10).filled())))
                    .map_err(err)?;
            }
        }
    }
    for (i, s) in fig.series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                step_points(s.1, fig.state),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(s.0)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .margin(12)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .label_font(font(16.0))
        .draw()
        .map_err(err)?;
    let (px, py) = chart.backend_coord(&(x_max, 1.0));
    top.draw(&Text::new(
        fig.test.clone(),
        (px - 8, py + 8),
        TextStyle::from(font(16.0)).pos(Pos::new(HPos::Right, VPos::Top)),
    ))
    .map_err(err)?;
    let (plot_left, _) = chart.backend_coord(&(0.0, 0.0));
    let rows: Vec<(&str, Vec<f64>)> = fig
        .series
        .iter()
        .map(|s| (s.0, xt.iter().map(|&t| s.1.at(t).n_risk).collect()))
        .collect();
    risk_table(
        &bottom,
        plot_left,
        &xt,
        |t| chart.backend_coord(&(t, 0.0)).0,
        &rows,
    )
    .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The figure as SVG text.
pub(crate) fn svg(fig: &CifFigure) -> Result<String, String> {
    render_svg(size(fig), |root| draw(root, fig))
}

/// The figure as PNG bytes.
pub(crate) fn png(fig: &CifFigure) -> Result<Vec<u8>, String> {
    render_png(size(fig), |root| draw(root, fig))
}

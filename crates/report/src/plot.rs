//! Kaplan–Meier figures with a numbers-at-risk table, drawn with plotters
//! (SVG and PNG from the same drawing code).
//!
//! The x-axis ticks are chosen here (a step that suits the time unit) and
//! given to plotters as the axis' key points; the risk table's columns are
//! placed with the chart's own coordinate mapping at the same times, so a
//! column sits exactly under its tick. The number at risk at tick `t` is
//! `km.survival_at(t).n_risk`: the patients with time `>= t`.
//!
//! Text is drawn with DejaVu Sans, embedded (`assets/`), through plotters'
//! `ab_glyph` feature: no system font library is used and the PNG bytes do
//! not depend on the machine's fonts. The SVG names `sans-serif` and leaves
//! the font to the viewer.

use cohortflow_core::time::TimeUnit;
use cohortflow_stats::KaplanMeier;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The embedded file is a valid TrueType font; a failure here is a
        // build defect, and text drawing would report it below.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Colour-blind-safe colours (Okabe–Ito), in arm order.
pub const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
];

/// The hex form of [`COLOURS`]`[i]`, for legends in HTML.
pub fn colour_hex(i: usize) -> String {
    let RGBColor(r, g, b) = COLOURS[i % COLOURS.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One curve of a figure.
pub struct Series<'a> {
    /// Short name, shown in the risk table.
    pub name: &'a str,
    /// Long label, shown in the legend.
    pub label: &'a str,
    pub km: &'a KaplanMeier,
    /// Median estimate (`None` = not reached: no median line).
    pub median: Option<f64>,
}

/// What one figure shows.
pub struct Figure<'a> {
    pub title: String,
    pub x_label: String,
    /// Time unit of the curves.
    pub unit: TimeUnit,
    pub series: Vec<Series<'a>>,
    /// Text placed at the top right of the plot (the log-rank result).
    pub test: String,
    pub ci_bands: bool,
}

pub(crate) const WIDTH: u32 = 960;
pub(crate) const CHART_H: u32 = 520;
pub(crate) const ROW_H: u32 = 22;

/// The figure's size in pixels.
pub fn size(fig: &Figure) -> (u32, u32) {
    let table = 16 + ROW_H * (fig.series.len() as u32 + 1) + 12;
    (WIDTH, CHART_H + table)
}

/// Tick times: a step that suits the unit, at most 12 ticks from 0.
pub fn ticks(unit: TimeUnit, max_time: f64) -> Vec<f64> {
    let steps: &[f64] = match unit {
        TimeUnit::Days => &[
            1.0, 2.0, 5.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0, 730.0, 1825.0,
        ],
        TimeUnit::Weeks => &[1.0, 2.0, 4.0, 8.0, 13.0, 26.0, 52.0, 104.0, 260.0],
        TimeUnit::Years => &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
        TimeUnit::Months => &[
            1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 36.0, 48.0, 60.0, 120.0, 240.0,
        ],
    };
    let max_time = if max_time > 0.0 { max_time } else { 1.0 };
    let mut step = *steps.last().expect("steps");
    for &s in steps {
        if (max_time / s).ceil() <= 11.0 {
            step = s;
            break;
        }
    }
    while (max_time / step).ceil() > 11.0 {
        step *= 2.0;
    }
    let n = (max_time / step).ceil().max(1.0) as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

pub(crate) fn tick_label(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{t:.0}")
    } else {
        format!("{t}")
    }
}

/// The step function of a curve as line points: (0, 1), then at each event
/// time the drop, carried to the last observed time.
fn step_points(km: &KaplanMeier) -> Vec<(f64, f64)> {
    let mut pts = vec![(0.0, 1.0)];
    let mut s = 1.0;
    for st in km.steps() {
        if st.surv != s {
            pts.push((st.time, s));
            pts.push((st.time, st.surv));
            s = st.surv;
        }
    }
    if let Some(last) = km.steps().last() {
        pts.push((last.time, s));
    }
    pts
}

/// Pointwise confidence band as polygons (one per stretch where both limits
/// exist), stepped like the curve.
fn band_polygons(km: &KaplanMeier) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut upper: Vec<(f64, f64)> = Vec::new();
    let mut lower: Vec<(f64, f64)> = Vec::new();
    let (mut lo, mut hi) = (1.0, 1.0);
    let mut flush = |upper: &mut Vec<(f64, f64)>, lower: &mut Vec<(f64, f64)>| {
        if upper.len() >= 2 {
            let mut poly = std::mem::take(upper);
            poly.extend(lower.drain(..).rev());
            out.push(poly);
        }
        upper.clear();
        lower.clear();
    };
    upper.push((0.0, 1.0));
    lower.push((0.0, 1.0));
    for st in km.steps() {
        match (st.lower, st.upper) {
            (Some(l), Some(h)) => {
                if upper.is_empty() {
                    upper.push((st.time, h));
                    lower.push((st.time, l));
                } else {
                    upper.push((st.time, hi));
                    lower.push((st.time, lo));
                    upper.push((st.time, h));
                    lower.push((st.time, l));
                }
                lo = l;
                hi = h;
            }
            _ => {
                if !upper.is_empty() {
                    upper.push((st.time, hi));
                    lower.push((st.time, lo));
                }
                flush(&mut upper, &mut lower);
            }
        }
    }
    if let Some(last) = km.steps().last() {
        if !upper.is_empty() {
            upper.push((last.time, hi));
            lower.push((last.time, lo));
        }
    }
    flush(&mut upper, &mut lower);
    out
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing the Kaplan–Meier figure: {e:?}")
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &Figure) -> Result<(), String> {
    register_font();
    root.fill(&WHITE).map_err(err)?;
    let max_time = fig
        .series
        .iter()
        .filter_map(|s| s.km.steps().last().map(|st| st.time))
        .fold(0.0, f64::max);
    let xt = ticks(fig.unit, max_time);
    let x_max = *xt.last().expect("ticks");
    let font = |size: f64| ("sans-serif", size).into_font();
    let label_chars = fig
        .series
        .iter()
        .map(|s| s.name.chars().count())
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
        .y_desc("Probability")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(font(16.0))
        .axis_desc_style(font(17.0))
        .draw()
        .map_err(err)?;

    // x ticks: ours, so that the risk table can use the same times. Grid
    // line, tick mark and label at each.
    let grid = RGBColor(225, 225, 225);
    chart
        .draw_series(
            xt.iter()
                .skip(1)
                .map(|&t| PathElement::new(vec![(t, 0.0), (t, 1.0)], grid.stroke_width(1))),
        )
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
            for poly in band_polygons(s.km) {
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.10).filled())))
                    .map_err(err)?;
            }
        }
    }
    // Median lines: dashed grey, from the 0.5 level down to the axis.
    let grey = RGBColor(120, 120, 120);
    for s in &fig.series {
        if let Some(m) = s.median {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 0.5), (m, 0.5), (m, 0.0)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))
                .map_err(err)?;
        }
    }
    for (i, s) in fig.series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(step_points(s.km), c.stroke_width(2)))
            .map_err(err)?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3)));
        // Censoring ticks: a short vertical mark on the curve.
        let ticks: Vec<(f64, f64)> =
            s.km.steps()
                .iter()
                .filter(|st| st.n_censor > 0.0)
                .map(|st| (st.time, st.surv))
                .collect();
        chart
            .draw_series(ticks.into_iter().map(|(t, y)| {
                PathElement::new(vec![(t, y - 0.018), (t, y + 0.018)], c.stroke_width(2))
            }))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .margin(12)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .label_font(font(16.0))
        .draw()
        .map_err(err)?;
    // The test, top right inside the plot.
    let (px, py) = chart.backend_coord(&(x_max, 1.0));
    top.draw(&Text::new(
        fig.test.clone(),
        (px - 8, py + 8),
        TextStyle::from(font(16.0)).pos(Pos::new(HPos::Right, VPos::Top)),
    ))
    .map_err(err)?;

    // Numbers at risk: one column per tick, at the tick's x.
    let (plot_left, _) = chart.backend_coord(&(0.0, 0.0));
    let rows: Vec<(&str, Vec<f64>)> = fig
        .series
        .iter()
        .map(|s| {
            (
                s.name,
                xt.iter().map(|&t| s.km.survival_at(t).n_risk).collect(),
            )
        })
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
pub fn svg(fig: &Figure) -> Result<String, String> {
    render_svg(size(fig), |root| draw(root, fig))
}

/// The figure as PNG bytes.
pub fn png(fig: &Figure) -> Result<Vec<u8>, String> {
    render_png(size(fig), |root| draw(root, fig))
}

/// The numbers-at-risk table under a figure (the Kaplan–Meier and the
/// cumulative-incidence figures): a title, then one row per series, its
/// name in its colour right-aligned left of the plot at `plot_left`, and
/// its numbers at risk (one per tick, at the tick's x by `x_at`).
pub(crate) fn risk_table<DB: DrawingBackend>(
    bottom: &DrawingArea<DB, Shift>,
    plot_left: i32,
    ticks: &[f64],
    x_at: impl Fn(f64) -> i32,
    rows: &[(&str, Vec<f64>)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = |size: f64| ("sans-serif", size).into_font();
    let y0 = 8i32;
    bottom.draw(&Text::new(
        "Number at risk",
        (10, y0),
        TextStyle::from(font(16.0)).pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    for (i, (name, n_risk)) in rows.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let y = y0 + ROW_H as i32 * (i as i32 + 1);
        bottom.draw(&Text::new(
            name.to_string(),
            (plot_left - 14, y),
            font(16.0).color(&c).pos(Pos::new(HPos::Right, VPos::Top)),
        ))?;
        for (&t, n) in ticks.iter().zip(n_risk) {
            bottom.draw(&Text::new(
                format!("{n:.0}"),
                (x_at(t), y),
                TextStyle::from(font(16.0)).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    Ok(())
}

/// A figure of `size` drawn by `draw`, as SVG text.
pub(crate) fn render_svg(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(root)?;
    }
    out.push('\n');
    Ok(out)
}

/// A figure of `size` drawn by `draw`, as PNG bytes.
pub(crate) fn render_png(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    let (w, h) = size;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(root)?;
    }
    let mut out = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut out),
        &buf,
        w,
        h,
        image::ColorType::Rgb8,
    )
    .map_err(|e| format!("encoding the PNG: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_stats::{KmOptions, kaplan_meier};

    fn curves() -> (KaplanMeier, KaplanMeier) {
        let t1 = [3.0, 7.5, 12.0, 12.0, 20.0, 31.0, 40.0, 55.0, 61.0, 80.0];
        let e1 = [
            true, false, true, true, false, true, false, true, false, false,
        ];
        let t2 = [1.0, 2.0, 5.0, 9.0, 14.0, 15.0, 22.0, 30.0, 33.0, 47.0, 70.0];
        let e2 = [
            true, true, true, false, true, true, true, false, true, true, false,
        ];
        let o = KmOptions::default();
        (
            kaplan_meier(&t1, &e1, &o).unwrap(),
            kaplan_meier(&t2, &e2, &o).unwrap(),
        )
    }

    fn figure<'a>(a: &'a KaplanMeier, b: &'a KaplanMeier) -> Figure<'a> {
        Figure {
            title: "Общая выживаемость".into(),
            x_label: "Months".into(),
            unit: TimeUnit::Months,
            series: vec![
                Series {
                    name: "A",
                    label: "Хирургия",
                    km: a,
                    median: a.median().estimate,
                },
                Series {
                    name: "B",
                    label: "Imatinib alone",
                    km: b,
                    median: b.median().estimate,
                },
            ],
            test: "Log-rank p = 0.042".into(),
            ci_bands: true,
        }
    }

    #[test]
    fn renders_are_byte_identical() {
        let (a, b) = curves();
        let f = figure(&a, &b);
        assert_eq!(svg(&f).unwrap(), svg(&f).unwrap());
        let p = png(&f).unwrap();
        assert_eq!(&p[1..4], b"PNG");
        assert_eq!(p, png(&f).unwrap());
    }

    /// Every number of the risk table is centred on the x of its tick
    /// label, and equals the number with time >= the tick.
    #[test]
    fn risk_table_columns_sit_on_the_ticks() {
        let (a, b) = curves();
        let f = figure(&a, &b);
        let svg = svg(&f).unwrap();
        // (x, y, text) of every text element.
        let texts: Vec<(i32, i32, String)> = svg
            .split("<text ")
            .skip(1)
            .map(|t| {
                let attr = |name: &str| -> i32 {
                    let i = t.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    let j = t[i..].find('"').unwrap();
                    t[i..i + j].parse::<f64>().unwrap() as i32
                };
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                (attr("x"), attr("y"), body.trim().to_string())
            })
            .collect();
        let xt = ticks(TimeUnit::Months, 80.0);
        let rows: Vec<i32> = {
            let mut ys: Vec<i32> = texts
                .iter()
                .filter(|t| t.0 > 0 && t.1 > CHART_H as i32)
                .map(|t| t.1)
                .collect();
            ys.sort();
            ys.dedup();
            ys
        };
        // Rows: title, then one per series.
        assert_eq!(rows.len(), 3, "{rows:?}");
        let tick_xs: Vec<i32> = xt
            .iter()
            .map(|t| {
                texts
                    .iter()
                    .find(|x| x.1 < CHART_H as i32 && x.1 > 400 && x.2 == tick_label(*t))
                    .unwrap_or_else(|| panic!("tick label {t}"))
                    .0
            })
            .collect();
        for (row, km) in rows[1..].iter().zip([&a, &b]) {
            let mut cells: Vec<&(i32, i32, String)> = texts
                .iter()
                .filter(|t| t.1 == *row && t.2.parse::<f64>().is_ok())
                .collect();
            cells.sort_by_key(|t| t.0);
            assert_eq!(cells.len(), xt.len());
            for ((cell, x), t) in cells.iter().zip(&tick_xs).zip(&xt) {
                assert_eq!(cell.0, *x, "column of tick {t}");
                assert_eq!(cell.2, format!("{}", km.survival_at(*t).n_risk));
            }
        }
    }

    #[test]
    fn ticks_suit_the_unit() {
        assert_eq!(ticks(TimeUnit::Months, 200.0).len(), 10); // 0, 24, ..., 216
        assert_eq!(ticks(TimeUnit::Months, 200.0)[1], 24.0);
        assert_eq!(ticks(TimeUnit::Months, 30.0)[1], 3.0);
        assert_eq!(ticks(TimeUnit::Days, 1000.0)[1], 180.0);
        assert!(ticks(TimeUnit::Years, 0.0).len() >= 2);
    }
}

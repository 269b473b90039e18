//! The report's figures at print size: Kaplan–Meier and
//! cumulative-incidence curves with a numbers-at-risk table ([`Chart`]),
//! drawn once with plotters and written three ways ([`render`]): SVG
//! (inlined in the HTML), PNG at 300 dpi and a vector PDF
//! ([`crate::pdf`]).
//!
//! Print size: every figure is [`WIDTH_MM`] = 174 mm wide, a journal's
//! double column (174–183 mm); the drawing unit is a pixel at [`DPI`] =
//! 300 dots per inch, so the PNG is the print resolution and the SVG
//! declares its size in millimetres. Text is [`TEXT_PT`] = 8 pt (tick
//! labels, legend, numbers at risk, test results) and [`TITLE_PT`] = 9 pt
//! (axis titles, title) at that size: the SVG's `font-size` is the em in
//! points, and the PNG and PDF draw the glyphs a little larger (plotters'
//! `ab_glyph` text scales the font's ascent-to-descent height to the size
//! the SVG divides by 1.24), never below 7 pt.
//!
//! The x-axis ticks are chosen here (a step that suits the time unit) and
//! given to plotters as the axis' key points; the risk table's columns are
//! placed with the chart's own coordinate mapping at the same times, so a
//! column sits exactly under its tick. The number at risk at tick `t` is
//! `km.survival_at(t).n_risk`: the patients with time `>= t`. The legend
//! and the risk table name the series with the same label.
//!
//! Text is drawn with DejaVu Sans, embedded (`assets/`), through plotters'
//! `ab_glyph` feature: no system font library is used and the PNG and PDF
//! bytes do not depend on the machine's fonts (the PDF draws the glyphs'
//! outlines). The SVG names `sans-serif` and leaves the font to the viewer.

use crate::simplify::Simplify;
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

/// Drawing units per inch: the PNG's resolution.
pub const DPI: f64 = 300.0;
/// The width of every figure at print size: a double column.
pub const WIDTH_MM: f64 = 174.0;
/// Tick labels, legend, numbers at risk, test results (points).
pub const TEXT_PT: f64 = 8.0;
/// Axis titles and the figure's title (points).
pub const TITLE_PT: f64 = 9.0;

/// Pixels (drawing units) of a length in millimetres.
pub fn mm(v: f64) -> f64 {
    v / 25.4 * DPI
}

/// Pixels of a length in points.
pub fn pt(v: f64) -> f64 {
    v / 72.0 * DPI
}

/// The figure width in pixels.
pub fn width_px() -> u32 {
    mm(WIDTH_MM).round() as u32
}

/// The plotters font whose em (the SVG's `font-size`) is `points` at print
/// size: plotters writes `font-size` = size / 1.24.
pub(crate) fn font(points: f64) -> FontDesc<'static> {
    ("sans-serif", pt(points) * 1.24).into_font()
}

/// A stroke `points` wide.
pub(crate) fn stroke(c: RGBColor, points: f64) -> ShapeStyle {
    c.stroke_width(pt(points).round().max(1.0) as u32)
}

/// One curve of a Kaplan–Meier figure.
pub struct Series<'a> {
    /// The group's label: legend and numbers-at-risk table.
    pub label: &'a str,
    pub km: &'a KaplanMeier,
    /// Median estimate (`None` = not reached: no median line).
    pub median: Option<f64>,
    /// (events, patients), shown in the legend; `None` for weighted curves.
    pub counts: Option<(f64, u64)>,
}

/// What one Kaplan–Meier figure shows.
pub struct Figure<'a> {
    pub title: String,
    /// Axis titles (see `survival::axis_titles`).
    pub x_label: String,
    pub y_label: String,
    /// Time unit of the curves.
    pub unit: TimeUnit,
    pub series: Vec<Series<'a>>,
    /// Lines placed at the top right of the plot (hazard ratio, log-rank).
    pub notes: Vec<String>,
    pub ci_bands: bool,
    /// The end of the time axis when figures are aligned (the naive and the
    /// landmark figure of an endpoint); `None`: the last time of the curves.
    pub x_max: Option<f64>,
}

/// One curve of a [`Chart`], in data coordinates.
pub(crate) struct Line {
    /// The series' label: the risk table's row and the start of its
    /// legend entry.
    pub label: String,
    /// Appended to the label in the legend (events and patients).
    pub counts: String,
    /// The step function.
    pub points: Vec<(f64, f64)>,
    /// Confidence band polygons (empty: none).
    pub bands: Vec<Vec<(f64, f64)>>,
    /// Censoring marks (time, value).
    pub censored: Vec<(f64, f64)>,
    /// The median line (dashed, from the 0.5 level to the axis).
    pub median: Option<f64>,
    /// The number at risk at each tick.
    pub at_risk: Vec<f64>,
}

/// A step-curve figure with its numbers-at-risk table: what the
/// Kaplan–Meier and the cumulative-incidence figures draw.
pub(crate) struct Chart {
    pub title: String,
    pub x_title: String,
    pub y_title: String,
    /// Tick times, from 0; the last is the end of the axis.
    pub ticks: Vec<f64>,
    pub lines: Vec<Line>,
    /// Lines beside (or under) the legend, above the plot: the hazard
    /// ratio, the test.
    pub notes: Vec<String>,
}

/// The height of the plot part (title, axes, ticks, axis titles), without
/// the header.
fn chart_h() -> u32 {
    mm(95.0).round() as u32
}

/// One line of the header (legend, notes).
fn line_h() -> f64 {
    pt(TEXT_PT * 1.45)
}

/// One line of the numbers-at-risk table.
fn row_h() -> f64 {
    pt(TEXT_PT * 1.45)
}

/// The left margin of the plot (y tick labels and the y-axis title).
fn plot_left_area() -> u32 {
    mm(16.0).round() as u32
}

/// What [`render`] draws.
pub(crate) trait Draw {
    /// Size in pixels at [`DPI`].
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

impl Chart {
    /// The header's lines above the plot: the legend and the notes side by
    /// side when they fit the plot's width, else the notes under the legend.
    /// Returns (lines, notes side by side).
    fn header_lines(&self) -> (usize, bool) {
        register_font();
        let width = |t: &str| font(TEXT_PT).box_size(t).map_or(0.0, |(w, _)| w as f64);
        let legend = self
            .lines
            .iter()
            .map(|l| width(&l.legend()) + pt(22.0))
            .fold(0.0, f64::max);
        let notes = self.notes.iter().map(|n| width(n)).fold(0.0, f64::max);
        let plot_w = width_px() as f64 - plot_left_area() as f64 - mm(8.0);
        if legend + notes + mm(6.0) <= plot_w {
            (self.lines.len().max(self.notes.len()), true)
        } else {
            (self.lines.len() + self.notes.len(), false)
        }
    }

    fn header_h(&self) -> u32 {
        (line_h() * self.header_lines().0 as f64 + pt(2.0)).round() as u32
    }

    /// The risk table's height: a title line, then per curve its label and
    /// its numbers.
    fn table_h(&self) -> u32 {
        (pt(6.0) + row_h() * (1 + 2 * self.lines.len()) as f64 + pt(4.0)).round() as u32
    }
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing the figure: {e:?}")
}

impl Draw for Chart {
    fn size(&self) -> (u32, u32) {
        (width_px(), chart_h() + self.header_h() + self.table_h())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        register_font();
        root.fill(&WHITE).map_err(err)?;
        let xt = &self.ticks;
        let x_max = *xt.last().ok_or("no ticks")?;
        let text = || TextStyle::from(font(TEXT_PT));
        let grid = RGBColor(225, 225, 225);
        let header_h = self.header_h();
        let (top, bottom) = root.split_vertically(chart_h() + header_h);
        // The title at the top, then the header, then the plot.
        top.draw(&Text::new(
            self.title.clone(),
            (width_px() as i32 / 2, pt(3.0) as i32),
            TextStyle::from(font(TITLE_PT)).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let mut chart = ChartBuilder::on(&top)
            .margin_top((pt(TITLE_PT * 1.6 + 6.0) as u32) + header_h)
            .margin_right(mm(6.0) as u32)
            .margin_left(mm(2.0) as u32)
            .x_label_area_size(pt(TEXT_PT + TITLE_PT + 14.0) as u32)
            .y_label_area_size(plot_left_area())
            .build_cartesian_2d(0.0f64..x_max, 0.0f64..1.0f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(stroke(grid, 0.5))
            .axis_style(stroke(BLACK, 0.6))
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(6)
            .set_all_tick_mark_size(pt(3.0) as u32)
            .x_desc(&self.x_title)
            .y_desc(&self.y_title)
            .y_label_formatter(&|y| format!("{y:.1}"))
            .label_style(font(TEXT_PT))
            .axis_desc_style(font(TITLE_PT))
            .draw()
            .map_err(err)?;

        // x ticks: ours, so that the risk table can use the same times.
        // Grid line, tick mark and label at each.
        chart
            .draw_series(
                xt.iter()
                    .skip(1)
                    .map(|&t| PathElement::new(vec![(t, 0.0), (t, 1.0)], stroke(grid, 0.5))),
            )
            .map_err(err)?;
        let tick = pt(3.0) as i32;
        for &t in xt {
            let (x, y) = chart.backend_coord(&(t, 0.0));
            top.draw(&PathElement::new(
                vec![(x, y), (x, y + tick)],
                stroke(BLACK, 0.6),
            ))
            .map_err(err)?;
            top.draw(&Text::new(
                tick_label(t),
                (x, y + tick + pt(2.0) as i32),
                text().pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(err)?;
        }

        for (i, l) in self.lines.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            for poly in &l.bands {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly.clone(),
                        c.mix(0.12).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        // Median lines: dashed grey, from the 0.5 level down to the axis.
        let grey = RGBColor(120, 120, 120);
        for l in &self.lines {
            if let Some(m) = l.median {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(0.0, 0.5), (m, 0.5), (m, 0.0)],
                        pt(3.0) as u32,
                        pt(2.0) as u32,
                        stroke(grey, 0.6),
                    ))
                    .map_err(err)?;
            }
        }
        let mark = 0.018;
        for (i, l) in self.lines.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(l.points.clone(), stroke(c, 1.2)))
                .map_err(err)?;
            chart
                .draw_series(l.censored.iter().map(|&(t, y)| {
                    PathElement::new(vec![(t, y - mark), (t, y + mark)], stroke(c, 0.9))
                }))
                .map_err(err)?;
        }

        // The header, between the title and the plot: per curve a line in
        // its colour and its label; the notes right-aligned beside it, or
        // under it when both do not fit side by side.
        let (plot_left, plot_top) = chart.backend_coord(&(0.0, 1.0));
        let (plot_right, _) = chart.backend_coord(&(x_max, 0.0));
        let swatch = pt(14.0) as i32;
        let line_h = line_h() as i32;
        let (_, side_by_side) = self.header_lines();
        let y0 = plot_top - header_h as i32 - pt(4.0) as i32 + line_h / 2;
        for (i, l) in self.lines.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let y = y0 + line_h * i as i32;
            top.draw(&PathElement::new(
                vec![(plot_left, y), (plot_left + swatch, y)],
                stroke(c, 1.6),
            ))
            .map_err(err)?;
            top.draw(&Text::new(
                l.legend(),
                (plot_left + swatch + pt(5.0) as i32, y),
                text().pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
        for (i, n) in self.notes.iter().enumerate() {
            let (x, y, h) = if side_by_side {
                (plot_right, y0 + line_h * i as i32, HPos::Right)
            } else {
                (
                    plot_left,
                    y0 + line_h * (self.lines.len() + i) as i32,
                    HPos::Left,
                )
            };
            top.draw(&Text::new(
                n.clone(),
                (x, y),
                text().pos(Pos::new(h, VPos::Center)),
            ))
            .map_err(err)?;
        }

        // Numbers at risk: a title, then per curve its label (in its
        // colour, at the left edge) and one number per tick, at the tick's x.
        let row = row_h();
        let y0 = pt(6.0);
        let left = mm(2.0) as i32;
        bottom
            .draw(&Text::new(
                "Number at risk",
                (left, y0 as i32),
                text().pos(Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(err)?;
        for (i, l) in self.lines.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let y_label = (y0 + row * (1 + 2 * i) as f64) as i32;
            let y_numbers = (y0 + row * (2 + 2 * i) as f64) as i32;
            bottom
                .draw(&Text::new(
                    l.label.clone(),
                    (left, y_label),
                    font(TEXT_PT).color(&c).pos(Pos::new(HPos::Left, VPos::Top)),
                ))
                .map_err(err)?;
            for (&t, n) in xt.iter().zip(&l.at_risk) {
                bottom
                    .draw(&Text::new(
                        format!("{n:.0}"),
                        (chart.backend_coord(&(t, 0.0)).0, y_numbers),
                        text().pos(Pos::new(HPos::Center, VPos::Top)),
                    ))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// A figure as the files it is written as.
pub struct Rendered {
    /// SVG text, its size in millimetres (inlined in the HTML).
    pub svg: String,
    /// PNG at [`DPI`] (the resolution is in its `pHYs` chunk).
    pub png: Vec<u8>,
    /// One-page vector PDF of the print size.
    pub pdf: Vec<u8>,
}

/// Draws `fig` as SVG, PNG and PDF.
pub(crate) fn render(fig: &(impl Draw + Sync)) -> Result<Rendered, String> {
    let (w, h) = fig.size();
    // The bitmap (300 dpi, then deflated: the slowest of the three) and
    // the SVG and PDF are drawn as two tasks on the thread pool, which
    // takes the report's other figures too; each is the same bytes as
    // drawn alone. Each draws its paths and outlines without the points
    // that change nothing (`Simplify`; the PDF backend does it itself).
    let (png, vector) = rayon::join(
        || {
            let mut buf = vec![0u8; (w * h * 3) as usize];
            {
                let root =
                    Simplify(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
                fig.draw(&root)?;
            }
            encode_png(&buf, w, h)
        },
        || -> Result<(String, Vec<u8>), String> {
            let mut svg = String::new();
            {
                let root = Simplify(SVGBackend::with_string(&mut svg, (w, h))).into_drawing_area();
                fig.draw(&root)?;
            }
            // The print size in millimetres; the viewBox keeps the pixel grid.
            let px = format!("<svg width=\"{w}\" height=\"{h}\" ");
            let size_mm = format!(
                "<svg width=\"{:.1}mm\" height=\"{:.1}mm\" ",
                w as f64 / DPI * 25.4,
                h as f64 / DPI * 25.4
            );
            if !svg.starts_with(&px) {
                return Err("the SVG does not start with its size".into());
            }
            let mut svg = svg.replacen(&px, &size_mm, 1);
            svg.push('\n');

            let mut pdf = Vec::new();
            {
                let backend = crate::pdf::PdfBackend::new(&mut pdf, (w, h), DPI, FONT)
                    .map_err(|e| e.to_string())?;
                fig.draw(&backend.into_drawing_area())?;
            }
            Ok((svg, pdf))
        },
    );
    // The vector drawings' error first, as when they were drawn first.
    let (svg, pdf) = vector?;
    let png = png?;
    Ok(Rendered { svg, png, pdf })
}

/// An RGB buffer as PNG bytes, its resolution ([`DPI`]) stated.
fn encode_png(buf: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let per_metre = (DPI / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc
            .write_header()
            .map_err(|e| format!("encoding the PNG: {e}"))?;
        writer
            .write_image_data(buf)
            .map_err(|e| format!("encoding the PNG: {e}"))?;
    }
    Ok(out)
}

impl Figure<'_> {
    /// The figure as a [`Chart`]: the step curves, bands, censoring marks,
    /// medians and numbers at risk of each series.
    pub(crate) fn chart(&self) -> Chart {
        let max_time = self.x_max.unwrap_or_else(|| {
            self.series
                .iter()
                .filter_map(|s| s.km.steps().last().map(|st| st.time))
                .fold(0.0, f64::max)
        });
        let xt = ticks(self.unit, max_time);
        let lines = self
            .series
            .iter()
            .map(|s| Line {
                label: s.label.to_string(),
                counts: counts_text(s.counts),
                points: step_points(s.km),
                bands: if self.ci_bands {
                    band_polygons(s.km)
                } else {
                    Vec::new()
                },
                censored: s
                    .km
                    .steps()
                    .iter()
                    .filter(|st| st.n_censor > 0.0)
                    .map(|st| (st.time, st.surv))
                    .collect(),
                median: s.median,
                at_risk: xt.iter().map(|&t| s.km.survival_at(t).n_risk).collect(),
            })
            .collect();
        Chart {
            title: self.title.clone(),
            x_title: self.x_label.clone(),
            y_title: self.y_label.clone(),
            ticks: xt,
            lines,
            notes: self.notes.clone(),
        }
    }
}

/// A series' events and patients as its legend shows them after the label.
pub(crate) fn counts_text(counts: Option<(f64, u64)>) -> String {
    match counts {
        Some((events, n)) => format!(" ({events:.0} events / {n} patients)"),
        None => String::new(),
    }
}

impl Line {
    /// The legend entry: the label, then the events and patients.
    pub(crate) fn legend(&self) -> String {
        format!("{}{}", self.label, self.counts)
    }
}

/// The figure as SVG, PNG and PDF.
pub fn render_figure(fig: &Figure) -> Result<Rendered, String> {
    render(&fig.chart())
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cohortflow_stats::{KmOptions, kaplan_meier};

    pub(crate) fn curves() -> (KaplanMeier, KaplanMeier) {
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

    pub(crate) fn figure<'a>(a: &'a KaplanMeier, b: &'a KaplanMeier) -> Figure<'a> {
        Figure {
            title: "Общая выживаемость".into(),
            x_label: "Months since start of imatinib".into(),
            y_label: "Overall survival probability".into(),
            unit: TimeUnit::Months,
            series: vec![
                Series {
                    label: "Хирургия",
                    km: a,
                    median: a.median().estimate,
                    counts: Some((6.0, 10)),
                },
                Series {
                    label: "Imatinib alone",
                    km: b,
                    median: b.median().estimate,
                    counts: Some((9.0, 11)),
                },
            ],
            notes: vec![
                "HR 0.52 [95% CI 0.21, 1.30], Хирургия vs Imatinib alone".into(),
                "Log-rank p = 0.042".into(),
            ],
            ci_bands: true,
            x_max: None,
        }
    }

    /// A text element of an SVG: x, y, font-size (pixels) and its text.
    struct SvgText {
        x: f64,
        y: f64,
        size: f64,
        text: String,
    }

    fn texts(svg: &str) -> Vec<SvgText> {
        svg.split("<text ")
            .skip(1)
            .map(|t| {
                let attr = |name: &str| -> f64 {
                    let i = t
                        .find(&format!(" {name}=\""))
                        .map_or_else(|| t.find(&format!("{name}=\"")).unwrap(), |i| i + 1)
                        + name.len()
                        + 2;
                    let j = t[i..].find('"').unwrap();
                    t[i..i + j].parse::<f64>().unwrap()
                };
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                SvgText {
                    x: attr("x"),
                    y: attr("y"),
                    size: attr("font-size"),
                    text: body.trim().to_string(),
                }
            })
            .collect()
    }

    /// The PNG's size and its pHYs chunk (pixels per metre).
    fn png_info(png: &[u8]) -> (u32, u32, Option<png::PixelDimensions>) {
        let decoder = png::Decoder::new(png);
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        (info.width, info.height, info.pixel_dims)
    }

    #[test]
    fn renders_are_byte_identical() {
        let (a, b) = curves();
        let f = figure(&a, &b);
        let one = render_figure(&f).unwrap();
        let two = render_figure(&f).unwrap();
        assert_eq!(one.svg, two.svg);
        assert_eq!(&one.png[1..4], b"PNG");
        assert_eq!(one.png, two.png);
        assert!(one.pdf.starts_with(b"%PDF-"));
        assert_eq!(one.pdf, two.pdf);
    }

    /// 174 mm wide in every file: the SVG in millimetres, the PNG 2055
    /// pixels at 300 dpi (stated in pHYs), the PDF page 493.2 pt.
    #[test]
    fn print_size_and_resolution() {
        let (a, b) = curves();
        let r = render_figure(&figure(&a, &b)).unwrap();
        let (w, h, dims) = png_info(&r.png);
        assert_eq!(w, 2055);
        assert_eq!((w, h), figure(&a, &b).chart().size());
        let dims = dims.expect("pHYs");
        assert_eq!((dims.xppu, dims.yppu), (11811, 11811));
        assert_eq!(dims.unit, png::Unit::Meter);
        let h_mm = h as f64 / DPI * 25.4;
        assert!(
            r.svg.starts_with(&format!(
                "<svg width=\"174.0mm\" height=\"{h_mm:.1}mm\" viewBox=\"0 0 {w} {h}\""
            )),
            "{}",
            &r.svg[..100]
        );
        let pdf = String::from_utf8_lossy(&r.pdf);
        let h_pt = h as f32 * 72.0 / 300.0;
        assert!(
            pdf.contains(&format!("/MediaBox [0 0 493.2 {h_pt}]")),
            "{h_pt}: {}",
            &pdf[..400.min(pdf.len())]
        );
        // One page.
        assert_eq!(
            pdf.matches("/Type /Page").count() - pdf.matches("/Type /Pages").count(),
            1
        );
    }

    /// Every text is at least 7 pt at print size: in the SVG (font-size in
    /// drawing pixels, 300 per inch), and in the PNG and PDF, whose glyphs
    /// plotters scales so that the font's ascent-to-descent height is
    /// 1.24 x the SVG's font-size.
    #[test]
    fn text_is_at_least_7_pt_at_print_size() {
        use ab_glyph::Font as _;
        let (a, b) = curves();
        let r = render_figure(&figure(&a, &b)).unwrap();
        let t = texts(&r.svg);
        assert!(t.len() > 30);
        let font = ab_glyph::FontRef::try_from_slice(FONT).unwrap();
        let em_per_height = font.units_per_em().unwrap() / font.height_unscaled();
        for x in &t {
            let points = x.size * 72.0 / DPI;
            assert!(points >= 7.0, "{} at {points} pt", x.text);
            let drawn = points * 1.24 * em_per_height as f64;
            assert!(drawn >= 7.0, "{} drawn at {drawn} pt", x.text);
        }
        let pt_of = |s: &str| t.iter().find(|x| x.text == s).unwrap().size * 72.0 / DPI;
        assert!((pt_of("Number at risk") - TEXT_PT).abs() < 1e-9);
        assert!((pt_of("Overall survival probability") - TITLE_PT).abs() < 1e-9);
    }

    /// The legend and the numbers-at-risk table name each series by the
    /// same label (the legend adds events / patients).
    #[test]
    fn legend_and_risk_table_use_the_same_labels() {
        let (a, b) = curves();
        let f = figure(&a, &b);
        let svg = render_figure(&f).unwrap().svg;
        let t = texts(&svg);
        let risk_title = t.iter().find(|x| x.text == "Number at risk").unwrap().y;
        for (s, counts) in f
            .series
            .iter()
            .zip(["(6 events / 10 patients)", "(9 events / 11 patients)"])
        {
            let legend = format!("{} {counts}", s.label);
            assert!(
                t.iter().any(|x| x.text == legend && x.y < risk_title),
                "legend {legend}"
            );
            assert!(
                t.iter().any(|x| x.text == s.label && x.y > risk_title),
                "risk table row {}",
                s.label
            );
        }
    }

    /// Every number of the risk table is centred on the x of its tick
    /// label, and equals the number with time >= the tick.
    #[test]
    fn risk_table_columns_sit_on_the_ticks() {
        let (a, b) = curves();
        let f = figure(&a, &b);
        let t = texts(&render_figure(&f).unwrap().svg);
        let xt = ticks(TimeUnit::Months, 80.0);
        let risk_title = t.iter().find(|x| x.text == "Number at risk").unwrap().y;
        let x_title = t
            .iter()
            .find(|x| x.text == "Months since start of imatinib")
            .unwrap()
            .y;
        // The tick labels: the numeric texts just above the x-axis title.
        let tick_xs: Vec<f64> = xt
            .iter()
            .map(|tt| {
                t.iter()
                    .filter(|x| x.y < x_title && x.text == tick_label(*tt))
                    .max_by(|p, q| p.y.total_cmp(&q.y))
                    .unwrap_or_else(|| panic!("tick label {tt}"))
                    .x
            })
            .collect();
        let mut rows: Vec<f64> = t
            .iter()
            .filter(|x| x.y > risk_title && x.text.parse::<f64>().is_ok())
            .map(|x| x.y)
            .collect();
        rows.sort_by(f64::total_cmp);
        rows.dedup();
        assert_eq!(rows.len(), 2, "{rows:?}");
        for (row, km) in rows.iter().zip([&a, &b]) {
            let mut cells: Vec<&SvgText> = t
                .iter()
                .filter(|x| x.y == *row && x.text.parse::<f64>().is_ok())
                .collect();
            cells.sort_by(|p, q| p.x.total_cmp(&q.x));
            assert_eq!(cells.len(), xt.len());
            for ((cell, x), tt) in cells.iter().zip(&tick_xs).zip(&xt) {
                assert_eq!(cell.x, *x, "column of tick {tt}");
                assert_eq!(cell.text, format!("{}", km.survival_at(*tt).n_risk));
            }
        }
    }

    /// The text of the figure, in drawing order, one line per text element
    /// (the SVG's bytes are not pinned: coordinates follow plotters).
    #[test]
    fn svg_text_content() {
        let (a, b) = curves();
        let svg = render_figure(&figure(&a, &b)).unwrap().svg;
        let lines: Vec<String> = texts(&svg)
            .into_iter()
            .map(|x| format!("{:.1} pt  {}", x.size * 72.0 / DPI, x.text))
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    /// Aligned figures: with the same `x_max`, the same ticks and plot.
    #[test]
    fn a_shared_time_axis_gives_the_same_ticks() {
        let (a, b) = curves();
        let mut f = figure(&a, &b);
        f.x_max = Some(200.0);
        let long = f.chart().ticks;
        f.series.truncate(1);
        assert_eq!(f.chart().ticks, long);
        assert_eq!(*long.last().unwrap(), 216.0);
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

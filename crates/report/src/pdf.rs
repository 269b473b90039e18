//! A plotters drawing backend that writes a one-page vector PDF, so that a
//! figure drawn once gives SVG, PNG and PDF.
//!
//! Coordinates are the figure's pixels (1/300 inch, [`crate::plot::DPI`]);
//! the page is the figure's print size in points, and one `cm` maps the
//! pixels onto it. Lines, rectangles, circles and polygons are PDF paths.
//! Text is drawn as the outlines of the embedded DejaVu Sans glyphs (filled
//! paths): no font is embedded or needed to view or print the file, the
//! glyphs are the ones of the PNG, and the bytes do not depend on the
//! machine. Glyphs are placed as plotters' `ab_glyph` text places them on
//! the bitmap (the same advance widths, kerning, anchors and baseline), so
//! text sits where it sits in the PNG. Transparency (the confidence bands)
//! uses one `ExtGState` per alpha. The content stream is Flate-compressed;
//! the file has no date or producer, so two renders are byte-identical.

use crate::simplify::simplified;
use ab_glyph::{Font, FontRef, OutlineCurve, ScaleFont};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
use plotters::backend::DrawingBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontTransform,
};
use std::collections::BTreeMap;

/// Why a PDF figure could not be drawn.
#[derive(Debug)]
pub struct PdfError(String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PdfError {}

/// The backend: drawing operations go into `content`; `present` writes the
/// document into `out`.
pub struct PdfBackend<'a> {
    size: (u32, u32),
    /// Pixels per inch of the drawing coordinates.
    dpi: f64,
    font: FontRef<'static>,
    content: Content,
    /// Alpha (in thousandths) -> the name of its graphics state.
    alphas: BTreeMap<u32, String>,
    /// The graphics state the content stream has set so far (the page never
    /// saves or restores one): an operator that would set it again is
    /// left out.
    state: State,
    /// The points of the last path stroked, while nothing else has been
    /// drawn since and it was opaque: the same path stroked again at once
    /// in the same state paints nothing new and is left out.
    last_stroke: Vec<BackendCoord>,
    out: &'a mut Vec<u8>,
    done: bool,
}

/// The fill and stroke colours, alpha (thousandths) and line width set
/// last, or `None` before the first.
///
/// A Kaplan–Meier figure of a large cohort draws thousands of censoring
/// marks of one colour, each a path of its own: with every colour, alpha
/// and width written again for each, they were a fifth of the page's
/// content stream on 100k rows (1.48 MB, 1.16 MB without them).
#[derive(Default)]
struct State {
    fill: Option<(u8, u8, u8)>,
    stroke: Option<(u8, u8, u8)>,
    alpha: Option<u32>,
    width: Option<u32>,
}

impl<'a> PdfBackend<'a> {
    /// A page of `size` pixels at `dpi`, text in `font` (TrueType bytes).
    pub fn new(
        out: &'a mut Vec<u8>,
        size: (u32, u32),
        dpi: f64,
        font: &'static [u8],
    ) -> Result<Self, PdfError> {
        let font = FontRef::try_from_slice(font)
            .map_err(|e| PdfError(format!("reading the embedded font: {e}")))?;
        let mut content = Content::new();
        // Pixels (y down) to points (y up).
        let s = (72.0 / dpi) as f32;
        content.transform([s, 0.0, 0.0, -s, 0.0, size.1 as f32 * s]);
        Ok(PdfBackend {
            size,
            dpi,
            font,
            content,
            alphas: BTreeMap::new(),
            state: State::default(),
            last_stroke: Vec::new(),
            out,
            done: false,
        })
    }

    /// Sets the colour (and its alpha) for filling or stroking, where the
    /// stream does not have it set already.
    fn colour(&mut self, c: BackendColor, fill: bool) {
        let set = if fill {
            &mut self.state.fill
        } else {
            &mut self.state.stroke
        };
        if *set != Some(c.rgb) {
            *set = Some(c.rgb);
            let (r, g, b) = c.rgb;
            let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
            if fill {
                self.content.set_fill_rgb(r, g, b);
            } else {
                self.content.set_stroke_rgb(r, g, b);
            }
        }
        let key = (c.alpha.clamp(0.0, 1.0) * 1000.0).round() as u32;
        if self.state.alpha != Some(key) {
            self.state.alpha = Some(key);
            let n = self.alphas.len();
            let name = self
                .alphas
                .entry(key)
                .or_insert_with(|| format!("A{n}"))
                .clone();
            self.content.set_parameters(Name(name.as_bytes()));
        }
    }

    fn stroke_style<S: BackendStyle>(&mut self, style: &S) {
        self.colour(style.color(), false);
        let width = style.stroke_width();
        if self.state.width != Some(width) {
            self.state.width = Some(width);
            self.content.set_line_width(width as f32);
        }
    }

    /// Strokes the path through `points` (at least two), without the
    /// points that change nothing ([`simplified`]), unless it is the
    /// opaque path just stroked in the same state.
    fn stroke<S: BackendStyle>(&mut self, points: &[BackendCoord], style: &S) {
        let before = (self.state.stroke, self.state.alpha, self.state.width);
        self.stroke_style(style);
        let same_state = before == (self.state.stroke, self.state.alpha, self.state.width);
        let points = simplified(points);
        if same_state && points == self.last_stroke {
            return;
        }
        let (x, y) = p(points[0]);
        self.content.move_to(x, y);
        for &q in &points[1..] {
            let (x, y) = p(q);
            self.content.line_to(x, y);
        }
        self.content.stroke();
        self.last_stroke = if style.color().alpha >= 1.0 {
            points
        } else {
            Vec::new()
        };
    }
}

fn p(c: BackendCoord) -> (f32, f32) {
    (c.0 as f32, c.1 as f32)
}

impl DrawingBackend for PdfBackend<'_> {
    type ErrorType = PdfError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<PdfError>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<PdfError>> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let content = std::mem::replace(&mut self.content, Content::new()).finish();
        // Level 3. On the benchmark's 100k-row run (perf, share of the
        // run's samples in miniz, and the Kaplan–Meier figure's size):
        // level 6 12.3 % and 190 KB before the paths were simplified and
        // the glyphs rounded; after, level 1 1.2 % and 215 KB, level 3
        // 3.7 % and 166 KB. Level 6 was a third of the write stage's CPU
        // at 100k rows, with or without the shorter content stream.
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 3);
        let (catalog, tree, page, contents) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
        let mut next = 5;
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids([page]).count(1);
        let (w, h) = (
            self.size.0 as f32 * 72.0 / self.dpi as f32,
            self.size.1 as f32 * 72.0 / self.dpi as f32,
        );
        let states: Vec<(String, f32, Ref)> = self
            .alphas
            .iter()
            .map(|(a, name)| {
                let r = Ref::new(next);
                next += 1;
                (name.clone(), *a as f32 / 1000.0, r)
            })
            .collect();
        {
            let mut pg = pdf.page(page);
            pg.parent(tree)
                .media_box(Rect::new(0.0, 0.0, w, h))
                .contents(contents);
            let mut res = pg.resources();
            let mut gs = res.ext_g_states();
            for (name, _, r) in &states {
                gs.pair(Name(name.as_bytes()), *r);
            }
            gs.finish();
            res.finish();
            pg.finish();
        }
        for (_, a, r) in &states {
            pdf.ext_graphics(*r)
                .non_stroking_alpha(*a)
                .stroking_alpha(*a);
        }
        pdf.stream(contents, &compressed)
            .filter(Filter::FlateDecode);
        *self.out = pdf.finish();
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        // Drawn over: the next stroke is never a repeat.
        self.last_stroke.clear();
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.colour(color, true);
        let (x, y) = p(point);
        self.content.rect(x, y, 1.0, 1.0).fill_nonzero();
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        self.stroke(&[from, to], style);
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        // Drawn over: the next stroke is never a repeat.
        self.last_stroke.clear();
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let ((x0, y0), (x1, y1)) = (p(upper_left), p(bottom_right));
        if fill {
            // As the bitmap fills it: both corners included.
            self.colour(style.color(), true);
            self.content
                .rect(x0, y0, x1 - x0 + 1.0, y1 - y0 + 1.0)
                .fill_nonzero();
        } else {
            self.stroke_style(style);
            self.content.rect(x0, y0, x1 - x0, y1 - y0).stroke();
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let points: Vec<BackendCoord> = path.into_iter().collect();
        if points.len() < 2 {
            return Ok(());
        }
        self.stroke(&points, style);
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        // Drawn over: the next stroke is never a repeat.
        self.last_stroke.clear();
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        if fill {
            self.colour(style.color(), true);
        } else {
            self.stroke_style(style);
        }
        let (cx, cy) = p(center);
        let r = radius as f32;
        // Four cubic arcs.
        let k = 0.552_284_8 * r;
        let c = &mut self.content;
        c.move_to(cx + r, cy);
        c.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        c.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        c.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        c.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        c.close_path();
        if fill {
            c.fill_nonzero();
        } else {
            c.stroke();
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        // Drawn over: the next stroke is never a repeat.
        self.last_stroke.clear();
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let vert: Vec<BackendCoord> = vert.into_iter().collect();
        if vert.len() < 3 {
            return Ok(());
        }
        // The same outline, so the same area filled (the confidence bands
        // of a large cohort: most of their points repeat or sit inside a
        // straight run).
        let pts: Vec<(f32, f32)> = simplified(&vert).into_iter().map(p).collect();
        self.colour(style.color(), true);
        self.content.move_to(pts[0].0, pts[0].1);
        for &(x, y) in &pts[1..] {
            self.content.line_to(x, y);
        }
        self.content.close_path().fill_nonzero();
        Ok(())
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<PdfError>> {
        // Drawn over: the next stroke is never a repeat.
        self.last_stroke.clear();
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // The anchor as plotters' default (bitmap) text drawing computes it.
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let size = style.size() as f32;
        let font = self.font.clone();
        let scaled = font.as_scaled(size);
        let (sx, sy) = (scaled.h_scale_factor(), scaled.v_scale_factor());
        let trans = style.transform();
        // Text-local pixels (x right, y down, from the layout box) to page
        // pixels.
        let (ox, oy) = ((dx - min_x) as f32, (dy - min_y) as f32);
        let (px, py) = p(pos);
        let place = |x: f32, y: f32| -> (f32, f32) {
            let (x, y) = (x + ox, y + oy);
            let (x, y) = match trans {
                FontTransform::None => (x, y),
                FontTransform::Rotate90 => (-y, x),
                FontTransform::Rotate180 => (-x, -y),
                FontTransform::Rotate270 => (y, -x),
            };
            // To a hundredth of a pixel (a 30,000th of an inch): the
            // outline is the same to the eye, and the content stream (of a
            // 100k-row Kaplan–Meier figure, zlib level 6) a sixth shorter
            // and a fifth smaller deflated than with every digit of the
            // float.
            let hundredth = |v: f32| (v * 100.0).round() / 100.0;
            (hundredth(px + x), hundredth(py + y))
        };
        // The baseline: plotters' ab_glyph text puts it half the size
        // below the top of the layout box.
        let baseline = size / 2.0;
        self.colour(color, true);
        let mut x_shift = 0f32;
        let mut prev = None;
        let mut any = false;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(pid) = prev {
                x_shift += scaled.kern(pid, id);
            }
            prev = Some(id);
            if let Some(outline) = font.outline(id) {
                let at = |pt: ab_glyph::Point| place(x_shift + pt.x * sx, baseline - pt.y * sy);
                let mut last: Option<ab_glyph::Point> = None;
                for curve in &outline.curves {
                    let start = match curve {
                        OutlineCurve::Line(a, _)
                        | OutlineCurve::Quad(a, _, _)
                        | OutlineCurve::Cubic(a, _, _, _) => *a,
                    };
                    if last != Some(start) {
                        if last.is_some() {
                            self.content.close_path();
                        }
                        let (x, y) = at(start);
                        self.content.move_to(x, y);
                    }
                    match curve {
                        OutlineCurve::Line(_, b) => {
                            let (x, y) = at(*b);
                            self.content.line_to(x, y);
                            last = Some(*b);
                        }
                        OutlineCurve::Quad(a, c, b) => {
                            // Quadratic to cubic: controls at 2/3 toward c.
                            let (a2, c2, b2) = (at(*a), at(*c), at(*b));
                            let c1 = (
                                a2.0 + 2.0 / 3.0 * (c2.0 - a2.0),
                                a2.1 + 2.0 / 3.0 * (c2.1 - a2.1),
                            );
                            let c3 = (
                                b2.0 + 2.0 / 3.0 * (c2.0 - b2.0),
                                b2.1 + 2.0 / 3.0 * (c2.1 - b2.1),
                            );
                            self.content.cubic_to(c1.0, c1.1, c3.0, c3.1, b2.0, b2.1);
                            last = Some(*b);
                        }
                        OutlineCurve::Cubic(_, c1, c2, b) => {
                            let (c1, c2, b2) = (at(*c1), at(*c2), at(*b));
                            self.content.cubic_to(c1.0, c1.1, c2.0, c2.1, b2.0, b2.1);
                            last = Some(*b);
                        }
                    }
                    any = true;
                }
                if last.is_some() {
                    self.content.close_path();
                }
            }
            x_shift += scaled.h_advance(id);
        }
        if any {
            self.content.fill_nonzero();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PdfBackend;
    use plotters::prelude::*;

    static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

    fn page() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let backend = PdfBackend::new(&mut out, (600, 300), 300.0, FONT).unwrap();
            let root = backend.into_drawing_area();
            crate::plot::register_font();
            root.fill(&WHITE).unwrap();
            root.draw(&PathElement::new(
                vec![(10, 10), (500, 200)],
                RED.stroke_width(3),
            ))
            .unwrap();
            root.draw(&Circle::new((100, 100), 20, BLUE.mix(0.5).filled()))
                .unwrap();
            root.draw(&Text::new("Ag", (50, 50), ("sans-serif", 40.0).into_font()))
                .unwrap();
            root.present().unwrap();
        }
        out
    }

    /// The page's content stream, inflated.
    fn content(pdf: &[u8]) -> String {
        let at = |needle: &[u8], from: usize| {
            from + pdf[from..]
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
        };
        let start = at(b"stream\n", 0) + b"stream\n".len();
        let end = at(b"endstream", start);
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[start..end]).unwrap();
        String::from_utf8(raw).unwrap()
    }

    /// Marks of one style set their colour, alpha and width once; a
    /// change of style sets what changed, and a return to the first style
    /// sets it again.
    #[test]
    fn the_graphics_state_is_set_only_when_it_changes() {
        let mut out = Vec::new();
        {
            let backend = PdfBackend::new(&mut out, (600, 300), 300.0, FONT).unwrap();
            let root = backend.into_drawing_area();
            let mark = |x: i32, style: ShapeStyle| PathElement::new(vec![(x, 10), (x, 20)], style);
            for x in 0..100 {
                root.draw(&mark(x, RED.stroke_width(4))).unwrap();
            }
            root.draw(&mark(200, BLUE.stroke_width(4))).unwrap();
            root.draw(&mark(201, BLUE.mix(0.5).stroke_width(2)))
                .unwrap();
            root.draw(&mark(202, RED.stroke_width(4))).unwrap();
            root.present().unwrap();
        }
        let text = content(&out);
        let count = |op: &str| {
            text.lines()
                .filter(|l| l.split(' ').next_back() == Some(op))
                .count()
        };
        // red, blue, red again
        assert_eq!(count("RG"), 3, "{text}");
        // opaque, half, opaque again
        assert_eq!(count("gs"), 3, "{text}");
        // 4, 2, 4 again
        assert_eq!(count("w"), 3, "{text}");
        assert_eq!(count("S"), 103, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let last_red = lines.iter().rposition(|l| l.ends_with(" RG")).unwrap();
        assert_eq!(lines[last_red], "1 0 0 RG");
        // Two alphas, two graphics states, each defined once.
        let whole = String::from_utf8_lossy(&out);
        assert_eq!(whole.matches("/ca ").count(), 2, "{whole}");
    }

    /// The same opaque mark stroked twice in a row is written once; a
    /// half-transparent one (which would darken) twice, and so is an
    /// opaque one with something drawn between.
    #[test]
    fn a_repeated_opaque_stroke_is_written_once() {
        let mut out = Vec::new();
        {
            let backend = PdfBackend::new(&mut out, (600, 300), 300.0, FONT).unwrap();
            let root = backend.into_drawing_area();
            let mark = |style: ShapeStyle| PathElement::new(vec![(5, 10), (5, 20)], style);
            for _ in 0..5 {
                root.draw(&mark(RED.stroke_width(4))).unwrap();
            }
            for _ in 0..3 {
                root.draw(&mark(BLUE.mix(0.5).stroke_width(4))).unwrap();
            }
            root.draw(&mark(RED.stroke_width(4))).unwrap();
            root.draw(&Rectangle::new([(0, 0), (2, 2)], GREEN.filled()))
                .unwrap();
            root.draw(&mark(RED.stroke_width(4))).unwrap();
            root.present().unwrap();
        }
        let strokes = content(&out).lines().filter(|l| *l == "S").count();
        // red once, blue three times, red after the blue, red after the fill
        assert_eq!(strokes, 6);
    }

    #[test]
    fn a_page_of_the_figure_size_deterministic() {
        let a = page();
        assert!(a.starts_with(b"%PDF-1."));
        assert!(a.ends_with(b"%%EOF") || a.ends_with(b"%%EOF\n"));
        // 600 x 300 pixels at 300 dpi = 144 x 72 pt.
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("/MediaBox [0 0 144 72]"), "{text}");
        // The half-transparent circle has its graphics state.
        assert!(text.contains("/ca 0.5"), "{text}");
        assert_eq!(a, page());
    }
}

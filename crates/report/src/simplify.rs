//! Paths and outlines without the points that change nothing, for every
//! backend a figure is drawn on (`Simplify`).
//!
//! A Kaplan–Meier curve of a large cohort, and its confidence band, has
//! many steps per pixel column: at pixel coordinates most of their points
//! repeat the one before or sit inside a straight horizontal or vertical
//! run (60–85 % of them on 100k rows). The bitmap's polygon filler sorts
//! every edge, the SVG writes every point into the report, and the PDF
//! writes and deflates every one (its content stream was more than twice
//! as long for them); none of them draws anything different without them.

use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// A path's points without those that change the stroke: a point equal to
/// the one before, and a point on the straight horizontal or vertical run
/// between its neighbours (the run is drawn through it all the same). Two
/// points at least are kept, as given when there are only two. (Why: the
/// module's comment.)
pub(crate) fn simplified(points: &[BackendCoord]) -> Vec<BackendCoord> {
    if points.len() <= 2 {
        return points.to_vec();
    }
    let between = |a: i32, b: i32, c: i32| a.min(c) <= b && b <= a.max(c);
    let mut out: Vec<BackendCoord> = Vec::with_capacity(points.len());
    for &q in points {
        if out.last() == Some(&q) {
            continue;
        }
        if let [.., a, b] = out[..] {
            let vertical = a.0 == b.0 && b.0 == q.0 && between(a.1, b.1, q.1);
            let horizontal = a.1 == b.1 && b.1 == q.1 && between(a.0, b.0, q.0);
            if vertical || horizontal {
                *out.last_mut().expect("two points") = q;
                continue;
            }
        }
        out.push(q);
    }
    if out.len() < 2 {
        // Every point the same: a path of no length, as given.
        out = vec![points[0], points[0]];
    }
    out
}

/// A backend that draws through `B`, each path and filled outline
/// [`simplified`]; every other drawing is passed on as it is (each method
/// of the trait is forwarded, so that none falls back to the trait's
/// pixel-by-pixel default on this wrapper instead of `B`'s own).
pub(crate) struct Simplify<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for Simplify<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let points: Vec<BackendCoord> = path.into_iter().collect();
        self.0.draw_path(simplified(&points), style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let vert: Vec<BackendCoord> = vert.into_iter().collect();
        self.0.fill_polygon(simplified(&vert), style)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_text(text, style, pos)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        self.0.estimate_text_size(text, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lattice points a path's straight horizontal and vertical runs
    /// pass through, in order, each once in a row (other segments: their
    /// ends).
    fn walk(points: &[(i32, i32)]) -> Vec<(i32, i32)> {
        let mut out = vec![points[0]];
        for w in points.windows(2) {
            let (a, b) = (w[0], w[1]);
            let steps: Vec<(i32, i32)> = if a.0 == b.0 {
                let d = (b.1 - a.1).signum();
                (1..=(b.1 - a.1).abs())
                    .map(|k| (a.0, a.1 + d * k))
                    .collect()
            } else if a.1 == b.1 {
                let d = (b.0 - a.0).signum();
                (1..=(b.0 - a.0).abs())
                    .map(|k| (a.0 + d * k, a.1))
                    .collect()
            } else {
                vec![b]
            };
            for q in steps {
                if out.last() != Some(&q) {
                    out.push(q);
                }
            }
        }
        out
    }

    /// A simplified path passes through the same points in the same order
    /// as the path (random paths of steps, runs, turns back, diagonals and
    /// repeats), with no point equal to the one before and no point inside
    /// a straight run; and a few by hand.
    #[test]
    fn a_simplified_path_is_the_same_path() {
        assert_eq!(simplified(&[(0, 0), (0, 0)]), vec![(0, 0), (0, 0)]);
        assert_eq!(simplified(&[(1, 1), (1, 1), (1, 1)]), vec![(1, 1), (1, 1)]);
        assert_eq!(
            simplified(&[(0, 0), (5, 0), (9, 0), (9, 0), (9, 3), (9, 7), (12, 9)]),
            vec![(0, 0), (9, 0), (9, 7), (12, 9)]
        );
        // Back along the same line: the turning point stays.
        assert_eq!(
            simplified(&[(0, 0), (5, 0), (2, 0)]),
            vec![(0, 0), (5, 0), (2, 0)]
        );
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x9df_2e5a);
        for _ in 0..20_000 {
            let n = 2 + rng.below(12);
            let mut points = vec![(rng.below(6) as i32, rng.below(6) as i32)];
            while points.len() < n {
                let (x, y) = *points.last().unwrap();
                let step = rng.below(5) as i32 - 2;
                points.push(match rng.below(4) {
                    0 => (x + step, y),
                    1 => (x, y + step),
                    2 => (x, y),
                    _ => (x + step, y + rng.below(3) as i32 - 1),
                });
            }
            let s = simplified(&points);
            assert!(s.len() >= 2, "{points:?}");
            assert_eq!(walk(&s), walk(&points), "{points:?} -> {s:?}");
            if s.len() > 2 || s[0] != s[1] {
                assert!(s.windows(2).all(|w| w[0] != w[1]), "{points:?} -> {s:?}");
            }
            for w in s.windows(3) {
                let (a, b, c) = (w[0], w[1], w[2]);
                let inside = |a: i32, b: i32, c: i32| a.min(c) <= b && b <= a.max(c);
                let vertical = a.0 == b.0 && b.0 == c.0 && inside(a.1, b.1, c.1);
                let horizontal = a.1 == b.1 && b.1 == c.1 && inside(a.0, b.0, c.0);
                assert!(!vertical && !horizontal, "{points:?} -> {s:?}");
            }
        }
    }

    /// On the bitmap, a figure drawn through the wrapper is the figure
    /// drawn without it: text, rectangles, circles, one-pixel paths and
    /// filled outlines whose runs repeat points.
    /// The test figure of `the_bitmap_through_the_wrapper_is_the_same`.
    fn test_figure<DB: DrawingBackend>(
        root: &plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    ) {
        use plotters::prelude::{
            BLACK, BLUE, Circle, Color, GREEN, IntoFont, PathElement, Polygon, RED, Rectangle,
            Text, WHITE,
        };
        root.fill(&WHITE).unwrap();
        let steps: Vec<(i32, i32)> = (0..60)
            .flat_map(|k| [(10 + k / 3, 10 + k / 7), (10 + k / 3, 10 + k / 7)])
            .collect();
        root.draw(&PathElement::new(
            steps.clone(),
            Color::stroke_width(&RED, 1),
        ))
        .unwrap();
        let mut band = steps.clone();
        band.extend(steps.iter().rev().map(|&(x, y)| (x, y + 9)));
        root.draw(&Polygon::new(band, BLUE.mix(0.3).filled()))
            .unwrap();
        root.draw(&Rectangle::new([(50, 5), (70, 25)], GREEN.filled()))
            .unwrap();
        root.draw(&Circle::new((80, 40), 6, BLACK.filled()))
            .unwrap();
        root.draw(&Text::new(
            "At risk 12",
            (5, 50),
            ("sans-serif", 12.0).into_font(),
        ))
        .unwrap();
        root.present().unwrap();
    }

    /// On the bitmap, a figure drawn through the wrapper is the figure
    /// drawn without it: text, rectangles, circles, one-pixel paths and
    /// filled outlines whose runs repeat points.
    #[test]
    fn the_bitmap_through_the_wrapper_is_the_same() {
        use plotters::prelude::{BitMapBackend, IntoDrawingArea};
        crate::plot::register_font();
        let (w, h) = (120, 70);
        let mut plain = vec![0u8; (w * h * 3) as usize];
        let mut wrapped = plain.clone();
        test_figure(&BitMapBackend::with_buffer(&mut plain, (w, h)).into_drawing_area());
        test_figure(
            &Simplify(BitMapBackend::with_buffer(&mut wrapped, (w, h))).into_drawing_area(),
        );
        assert!(plain.iter().any(|&b| b != 255));
        assert!(plain == wrapped);
    }
}

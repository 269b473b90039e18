//! The love plot of a matching: each term's absolute standardized mean
//! difference before (open orange circle) and after (filled blue circle)
//! matching, terms sorted by their imbalance before matching (largest on
//! top, as cobalt's `love.plot(abs = TRUE, var.order = "unadjusted")`), the
//! declared threshold (`[matching.balance] smd`) dashed. Colours from the
//! report's colour-blind-safe palette (`plot::COLOURS`). Drawn with the
//! other figures' code at their print size and text sizes
//! ([`crate::plot`]), so it is written as SVG, PNG and PDF.

use crate::plot::{
    COLOURS, Draw, Rendered, TEXT_PT, TITLE_PT, font, mm, pt, register_font, render, stroke,
    width_px,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One term: its name and SMD before and after matching (`None` where it
/// is undefined, e.g. a level absent from both arms).
pub type LoveRow = (String, Option<f64>, Option<f64>);

/// Before matching: vermillion; after: blue (`plot::COLOURS`).
const BEFORE: RGBColor = COLOURS[1];
const AFTER: RGBColor = COLOURS[0];

struct Love<'a> {
    /// Sorted: largest imbalance before matching first.
    rows: Vec<&'a LoveRow>,
    threshold: f64,
    /// The end of the axis: the next multiple of 0.25 above the largest
    /// |SMD| (at least 0.5 and the threshold).
    x_max: f64,
    /// Width of the term labels' column, pixels.
    label_w: i32,
}

fn row_h() -> f64 {
    pt(TEXT_PT * 1.6)
}

fn top_h() -> f64 {
    pt(TITLE_PT * 2.2)
}

fn bottom_h() -> f64 {
    pt(TEXT_PT * 5.0)
}

fn love(rows: &[LoveRow], threshold: f64) -> Love<'_> {
    // Largest imbalance before matching first; undefined last; ties by name.
    let mut rows: Vec<&LoveRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        let key = |r: &LoveRow| r.1.map(f64::abs);
        match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.0.cmp(&b.0))
    });
    let max = rows
        .iter()
        .flat_map(|(_, b, a)| [b.map(f64::abs), a.map(f64::abs)])
        .flatten()
        .fold(0.5_f64.max(threshold), f64::max);
    register_font();
    let widest = rows
        .iter()
        .filter_map(|r| font(TEXT_PT).box_size(&r.0).ok())
        .map(|(w, _)| w as f64)
        .fold(0.0, f64::max);
    Love {
        rows,
        threshold,
        x_max: (max / 0.25).ceil() * 0.25,
        // The labels' width, within a fifth and a half of the figure.
        label_w: (widest + mm(4.0)).clamp(mm(35.0), mm(87.0)) as i32,
    }
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing the love plot: {e:?}")
}

impl Draw for Love<'_> {
    fn size(&self) -> (u32, u32) {
        (
            width_px(),
            (top_h() + row_h() * self.rows.len() as f64 + bottom_h()).round() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        register_font();
        root.fill(&WHITE).map_err(err)?;
        let text = || TextStyle::from(font(TEXT_PT));
        let left = self.label_w;
        let right = width_px() as i32 - mm(6.0) as i32;
        let x = |v: f64| left + ((right - left) as f64 * v / self.x_max).round() as i32;
        let top = top_h() as i32;
        let bottom = (top_h() + row_h() * self.rows.len() as f64) as i32;
        root.draw(&Text::new(
            "Absolute standardized mean difference",
            (left, pt(4.0) as i32),
            TextStyle::from(font(TITLE_PT)).pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(err)?;
        // Grid and tick labels every 0.25.
        let steps = (self.x_max / 0.25).round() as usize;
        for k in 0..=steps {
            let v = k as f64 * 0.25;
            root.draw(&PathElement::new(
                vec![(x(v), top), (x(v), bottom)],
                stroke(RGBColor(221, 221, 221), 0.5),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                format!("{v:.2}"),
                (x(v), bottom + pt(3.0) as i32),
                text().pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(err)?;
        }
        // The threshold, dashed.
        let (dash, gap) = (pt(3.0) as i32, pt(2.0) as i32);
        let tx = x(self.threshold);
        let mut y = top;
        while y < bottom {
            root.draw(&PathElement::new(
                vec![(tx, y), (tx, (y + dash).min(bottom))],
                stroke(BLACK, 0.6),
            ))
            .map_err(err)?;
            y += dash + gap;
        }
        let r = pt(2.6) as i32;
        let open = |at: (i32, i32)| -> Result<(), String> {
            root.draw(&Circle::new(at, r, WHITE.filled()))
                .map_err(err)?;
            root.draw(&Circle::new(at, r, stroke(BEFORE, 0.9)))
                .map_err(err)
        };
        let filled = |at: (i32, i32)| -> Result<(), String> {
            root.draw(&Circle::new(at, r, AFTER.filled())).map_err(err)
        };
        for (i, (term, before, after)) in self.rows.iter().enumerate() {
            let y = (top_h() + row_h() * (i as f64 + 0.5)) as i32;
            root.draw(&Text::new(
                term.clone(),
                (left - mm(2.0) as i32, y),
                text().pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
            if let Some(b) = before {
                open((x(b.abs()), y))?;
            }
            if let Some(a) = after {
                filled((x(a.abs()), y))?;
            }
        }
        // The legend under the axis.
        let ly = bottom + pt(TEXT_PT * 3.2) as i32;
        let gap = pt(4.0) as i32;
        let mut lx = left;
        open((lx + r, ly))?;
        lx += 2 * r + gap;
        let entries = [
            "before matching".to_string(),
            "after matching".to_string(),
            format!("dashed: threshold {}", self.threshold),
        ];
        for (k, label) in entries.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                (lx, ly),
                text().pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
            let (w, _) = font(TEXT_PT).box_size(label).map_err(err)?;
            lx += w as i32 + 3 * gap;
            if k == 0 {
                filled((lx + r, ly))?;
                lx += 2 * r + gap;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// The plot as SVG, PNG and PDF: absolute SMDs on the x-axis, `threshold`
/// dashed.
pub fn love_plot(rows: &[LoveRow], threshold: f64) -> Result<Rendered, String> {
    render(&love(rows, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_drawn_before_and_after_sorted_in_colour() {
        let plot = love_plot(
            &[
                ("age".into(), Some(-0.12), Some(0.05)),
                ("sex = F & <x>".into(), Some(0.8), None),
                ("level".into(), None, Some(0.02)),
            ],
            0.2,
        )
        .unwrap();
        let svg = &plot.svg;
        assert!(
            svg.contains(">\nage\n</text>") || svg.contains(">age</text>"),
            "{svg}"
        );
        assert!(svg.contains("sex = F &amp; &lt;x&gt;"));
        // Open circles: a white disc under a vermillion ring; filled: blue.
        assert_eq!(
            svg.matches("fill=\"none\" stroke=\"#D55E00\"").count(),
            3,
            "2 before + legend"
        );
        assert_eq!(
            svg.matches("fill=\"#0072B2\" stroke=\"none\"").count(),
            3,
            "2 after + legend"
        );
        // Sorted by |SMD| before: sex (0.8), age (0.12), then the undefined.
        let at = |t: &str| svg.find(t).unwrap();
        assert!(at("sex = F") < at("age") && at("age") < at("level"));
        // The declared threshold is named; the axis reaches past the
        // largest |SMD| (0.8 -> 1.00).
        assert!(svg.contains("dashed: threshold 0.2"));
        assert!(svg.contains("1.00"));
        assert!(plot.pdf.starts_with(b"%PDF-"));
        assert_eq!(&plot.png[1..4], b"PNG");
    }
}

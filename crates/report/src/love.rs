//! The love plot of a matching: each term's absolute standardized mean
//! difference before (open orange circle) and after (filled blue circle)
//! matching, terms sorted by their imbalance before matching (largest on
//! top, as cobalt's `love.plot(abs = TRUE, var.order = "unadjusted")`), the
//! declared threshold (`[matching.balance] smd`) dashed. Colours from the
//! report's colour-blind-safe palette (`plot::COLOURS`). Written as SVG by
//! hand for the same reasons as the flow diagram: a labelled dot chart is a
//! fixed layout, and hand-written SVG is byte-stable.

use std::fmt::Write as _;

/// One term: its name and SMD before and after matching (`None` where it
/// is undefined, e.g. a level absent from both arms).
pub type LoveRow = (String, Option<f64>, Option<f64>);

const ROW: f64 = 20.0;
const LABEL_W: f64 = 230.0;
const PLOT_W: f64 = 420.0;
const TOP: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Before matching: vermillion; after: blue (`plot::COLOURS`).
const BEFORE: &str = "#d55e00";
const AFTER: &str = "#0072b2";

/// The plot as a standalone SVG document, absolute SMDs on the x-axis,
/// `threshold` dashed.
pub fn love_svg(rows: &[LoveRow], threshold: f64) -> String {
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
    // Axis up to the next multiple of 0.25 above the largest SMD.
    let x_max = (max / 0.25).ceil() * 0.25;
    let x = |v: f64| LABEL_W + v / x_max * PLOT_W;
    let height = TOP + ROW * rows.len() as f64 + 60.0;
    let width = LABEL_W + PLOT_W + 30.0;
    let bottom = TOP + ROW * rows.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{LABEL_W}\" y=\"20\" font-weight=\"bold\">Absolute standardized mean difference</text>"
    );
    // Grid: ticks every 0.25 and the threshold.
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{0:.1}\" y=\"{1:.1}\" text-anchor=\"middle\">{t:.2}</text>",
            x(t),
            bottom + 16.0
        );
        t += 0.25;
    }
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>",
        x(threshold)
    );
    for (i, (term, before, after)) in rows.iter().enumerate() {
        let y = TOP + ROW * (i as f64 + 0.5);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 8.0,
            y + 4.0,
            esc(term)
        );
        if let Some(b) = before {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"white\" stroke=\"{BEFORE}\" stroke-width=\"1.5\"/>",
                x(b.abs())
            );
        }
        if let Some(a) = after {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{AFTER}\"/>",
                x(a.abs())
            );
        }
    }
    let legend = bottom + 40.0;
    let _ = writeln!(
        s,
        "<circle cx=\"{0:.1}\" cy=\"{1:.1}\" r=\"4\" fill=\"white\" stroke=\"{BEFORE}\" stroke-width=\"1.5\"/>\
         <text x=\"{2:.1}\" y=\"{3:.1}\">before matching</text>\
         <circle cx=\"{4:.1}\" cy=\"{1:.1}\" r=\"4\" fill=\"{AFTER}\"/>\
         <text x=\"{5:.1}\" y=\"{3:.1}\">after matching</text>\
         <text x=\"{6:.1}\" y=\"{3:.1}\">dashed: threshold {threshold}</text>",
        LABEL_W,
        legend,
        LABEL_W + 10.0,
        legend + 4.0,
        LABEL_W + 140.0,
        LABEL_W + 150.0,
        LABEL_W + 280.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_drawn_before_and_after_sorted_in_colour() {
        let svg = love_svg(
            &[
                ("age".into(), Some(-0.12), Some(0.05)),
                ("sex = F & <x>".into(), Some(0.8), None),
                ("level".into(), None, Some(0.02)),
            ],
            0.2,
        );
        assert!(svg.contains(">age</text>"));
        assert!(svg.contains("sex = F &amp; &lt;x&gt;"));
        assert_eq!(
            svg.matches(&format!("fill=\"white\" stroke=\"{BEFORE}\""))
                .count(),
            3,
            "2 before + legend"
        );
        assert_eq!(
            svg.matches(&format!("r=\"4\" fill=\"{AFTER}\"/>")).count(),
            3,
            "2 after + legend"
        );
        // Sorted by |SMD| before: sex (0.8), age (0.12), then the undefined.
        let at = |t: &str| svg.find(t).unwrap();
        assert!(at("sex = F") < at(">age<") && at(">age<") < at(">level<"));
        // The declared threshold is dashed and named; the axis reaches past
        // the largest |SMD| (0.8 -> 1.00).
        assert!(svg.contains("dashed: threshold 0.2"));
        assert!(svg.contains(">1.00</text>"));
        assert!(svg.ends_with("</svg>\n"));
    }
}

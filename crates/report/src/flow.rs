//! The CONSORT-style flow diagram, drawn from the ledger.
//!
//! Every number in the diagram is a ledger count, so the diagram cannot
//! disagree with `ledger.csv` or `attrition.csv`. Written as SVG text by
//! hand: the layout is a fixed vertical chain with side boxes, which no
//! plotting crate lays out for us (plotters draws axes and series, graph
//! layout crates place nodes freely), and hand-written SVG keeps the output
//! byte-stable for snapshots.

use cohortflow_core::ledger::{Ledger, Outcome};
use std::fmt::Write as _;

/// The arms at the bottom of the diagram: (name, label, n).
pub type ArmBox = (String, String, u64);

const WIDTH: f64 = 760.0;
const MAIN_X: f64 = 30.0;
const MAIN_W: f64 = 300.0;
const SIDE_X: f64 = 400.0;
const SIDE_W: f64 = 340.0;
const LINE: f64 = 17.0;
const GAP: f64 = 28.0;

/// One stage of the chain: the rows that entered it and what it removed.
struct Step {
    title: String,
    rows_in: u64,
    removed: Vec<(String, u64)>,
}

fn steps(ledger: &Ledger) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for a in ledger.accounts() {
        let step = match out.iter_mut().find(|s| s.title == a.stage) {
            Some(s) => s,
            None => {
                out.push(Step {
                    title: a.stage.clone(),
                    rows_in: 0,
                    removed: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        step.rows_in += a.rows_in;
        for (outcome, reason, n) in &a.outcomes {
            if *outcome == Outcome::Flagged {
                continue;
            }
            match step.removed.iter_mut().find(|(r, _)| r == reason) {
                Some((_, k)) => *k += n,
                None => step.removed.push((reason.clone(), *n)),
            }
        }
    }
    out
}

fn stage_title(stage: &str) -> &str {
    match stage {
        "ingest" => "Rows read from the exports",
        "clean" => "Rows passing ingest",
        "derive" => "Rows passing the cleaning rules and linkage",
        "cohort" => "Rows with valid endpoints",
        other => other,
    }
}

fn removal_title(stage: &str) -> &str {
    match stage {
        "ingest" => "Rejected at ingest",
        "clean" => "Rejected by cleaning rules and linkage",
        "derive" => "Rejected: endpoint dates",
        "cohort" => "Excluded by the study criteria",
        other => other,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn text(svg: &mut String, x: f64, y: f64, s: &str, bold: bool) {
    let weight = if bold { " font-weight=\"bold\"" } else { "" };
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}"{weight}>{}</text>"#,
        esc(s)
    );
}

fn rect(svg: &mut String, x: f64, y: f64, w: f64, h: f64) {
    let _ = writeln!(
        svg,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="white" stroke="black"/>"#
    );
}

fn arrow(svg: &mut String, x1: f64, y1: f64, x2: f64, y2: f64) {
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="black" marker-end="url(#arrow)"/>"#
    );
}

/// The diagram as a standalone SVG document. `sources` label the first box
/// with the rows read per source; `arms` are the final groups.
pub fn flow_svg(ledger: &Ledger, sources: &[(String, String)], arms: &[ArmBox]) -> String {
    let steps = steps(ledger);
    let mut body = String::new();
    let mut y = 20.0;
    for (i, step) in steps.iter().enumerate() {
        // Main box: the rows entering this stage.
        let mut lines = vec![format!(
            "{} (n = {})",
            stage_title(&step.title),
            step.rows_in
        )];
        if i == 0 {
            for (name, label) in sources {
                let n: u64 = ledger
                    .accounts()
                    .iter()
                    .filter(|a| a.stage == step.title && &a.source == name)
                    .map(|a| a.rows_in)
                    .sum();
                lines.push(format!("{label}: {n}"));
            }
        }
        let h = LINE * lines.len() as f64 + 12.0;
        rect(&mut body, MAIN_X, y, MAIN_W, h);
        for (k, l) in lines.iter().enumerate() {
            text(
                &mut body,
                MAIN_X + 10.0,
                y + 20.0 + LINE * k as f64,
                l,
                k == 0,
            );
        }
        let main_bottom = y + h;
        // Side box: what the stage removed.
        let removed: u64 = step.removed.iter().map(|(_, n)| n).sum();
        let mut side = vec![format!("{} (n = {removed})", removal_title(&step.title))];
        side.extend(step.removed.iter().map(|(r, n)| format!("{r}: {n}")));
        let side_h = LINE * side.len() as f64 + 12.0;
        let side_y = main_bottom + GAP / 2.0;
        let mid = side_y + side_h / 2.0;
        arrow(&mut body, MAIN_X + MAIN_W / 2.0, mid, SIDE_X, mid);
        rect(&mut body, SIDE_X, side_y, SIDE_W, side_h);
        for (k, l) in side.iter().enumerate() {
            text(
                &mut body,
                SIDE_X + 10.0,
                side_y + 20.0 + LINE * k as f64,
                l,
                k == 0,
            );
        }
        let next_y = side_y + side_h + GAP / 2.0;
        arrow(
            &mut body,
            MAIN_X + MAIN_W / 2.0,
            main_bottom,
            MAIN_X + MAIN_W / 2.0,
            next_y,
        );
        y = next_y;
    }
    // The arms, side by side.
    let total: u64 = arms.iter().map(|a| a.2).sum();
    let title = format!("Analysed (n = {total})");
    rect(&mut body, MAIN_X, y, MAIN_W, LINE + 12.0);
    text(&mut body, MAIN_X + 10.0, y + 20.0, &title, true);
    let top = y + LINE + 12.0;
    let k = arms.len().max(1) as f64;
    let w = (WIDTH - 2.0 * MAIN_X - (k - 1.0) * 20.0) / k;
    let arm_y = top + GAP;
    for (i, (name, label, n)) in arms.iter().enumerate() {
        let x = MAIN_X + i as f64 * (w + 20.0);
        arrow(&mut body, MAIN_X + MAIN_W / 2.0, top, x + w / 2.0, arm_y);
        rect(&mut body, x, arm_y, w, 2.0 * LINE + 12.0);
        text(
            &mut body,
            x + 10.0,
            arm_y + 20.0,
            &format!("{name} (n = {n})"),
            true,
        );
        text(&mut body, x + 10.0, arm_y + 20.0 + LINE, label, false);
    }
    let height = arm_y + 2.0 * LINE + 12.0 + 20.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>\n\
         {body}</svg>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_core::ledger::StageAccount;

    #[test]
    fn every_count_comes_from_the_ledger() {
        let mut l = Ledger::new();
        for (src, n, bad) in [("a", 10, 1), ("b", 5, 0)] {
            let mut ing = StageAccount::new("ingest", src, n);
            ing.add(Outcome::Rejected, "unparseable date", bad);
            let mut coh = StageAccount::new("cohort", src, ing.rows_out);
            coh.add(Outcome::Excluded, "second line & later", 2);
            coh.add(Outcome::Flagged, "odd", 1);
            l.push(ing);
            l.push(coh);
        }
        let svg = flow_svg(
            &l,
            &[
                ("a".into(), "Centre A".into()),
                ("b".into(), "Centre B".into()),
            ],
            &[
                ("S".into(), "Surgery".into(), 7),
                ("NS".into(), "No surgery".into(), 3),
            ],
        );
        for needle in [
            "Rows read from the exports (n = 15)",
            "Centre A: 10",
            "Centre B: 5",
            "Rejected at ingest (n = 1)",
            "unparseable date: 1",
            "Excluded by the study criteria (n = 4)",
            "second line &amp; later: 4",
            "Analysed (n = 10)",
            "S (n = 7)",
        ] {
            assert!(svg.contains(needle), "{needle:?} not in\n{svg}");
        }
        assert!(!svg.contains("odd"), "flags are not removals");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}

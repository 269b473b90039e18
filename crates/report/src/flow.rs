//! The CONSORT-style flow diagram, drawn from the ledger.
//!
//! Every number in the diagram is a ledger count, so the diagram cannot
//! disagree with `ledger.csv` or `attrition.csv`. Written as SVG text by
//! hand: the layout is a fixed vertical chain with side boxes, which no
//! plotting crate lays out for us (plotters draws axes and series, graph
//! layout crates place nodes freely), and hand-written SVG keeps the output
//! byte-stable for snapshots.

use cohortflow_core::ledger::{Ledger, Outcome};
use cohortflow_core::schema::Labels;
use std::fmt::Write as _;

/// The arms at the bottom of the diagram: (name, label, n).
pub type ArmBox = (String, String, u64);

const MAIN_X: f64 = 30.0;
const LINE: f64 = 17.0;
/// Width of one character of 13 px sans-serif, generous (bold digits and
/// capitals), so text stays inside its box.
const CHAR_W: f64 = 7.6;
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
        "cohort" => "Excluded: study criterion not met",
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
pub fn flow_svg(
    ledger: &Ledger,
    sources: &[(String, String)],
    arms: &[ArmBox],
    labels: &Labels,
) -> String {
    // The text of every box first, so the boxes can be as wide as their text.
    let boxes: Vec<(Vec<String>, Vec<String>)> = steps(ledger)
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut main = vec![format!(
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
                    main.push(format!("{label}: {n}"));
                }
            }
            let removed: u64 = step.removed.iter().map(|(_, n)| n).sum();
            let mut side = vec![format!("{} (n = {removed})", removal_title(&step.title))];
            // Reasons that removed no row stay in ledger.csv, not here.
            side.extend(step.removed.iter().filter(|(_, n)| *n > 0).map(|(r, n)| {
                if let Some(column) = r.strip_suffix(" out of range")
                    && labels.get(column).is_some()
                {
                    format!("{} out of its plausible range: {n}", labels.titled(column))
                } else if r == crate::methods::NO_ARM && !arms.is_empty() {
                    let names: Vec<&str> = arms.iter().map(|a| a.0.as_str()).collect();
                    format!(
                        "{r}: {n} (met none of the arms' conditions: {})",
                        names.join(", ")
                    )
                } else {
                    format!("{r}: {n}")
                }
            }));
            (main, side)
        })
        .collect();
    let total: u64 = arms.iter().map(|a| a.2).sum();
    let analysed = format!("Analysed (n = {total})");
    let width_of = |lines: &mut dyn Iterator<Item = &String>| {
        lines.map(|l| l.chars().count()).max().unwrap_or(0) as f64 * CHAR_W + 20.0
    };
    let main_w = width_of(&mut boxes.iter().flat_map(|b| &b.0).chain([&analysed])).max(260.0);
    let side_w = width_of(&mut boxes.iter().flat_map(|b| &b.1)).max(260.0);
    let side_x = MAIN_X + main_w + 50.0;
    let arm_w = arms
        .iter()
        .map(|(name, label, n)| {
            let first = format!("{name} (n = {n})");
            first.chars().count().max(label.chars().count()) as f64 * CHAR_W + 20.0
        })
        .fold(160.0, f64::max);
    let model_lines: Vec<String> = ledger
        .models()
        .iter()
        .filter_map(|m| {
            let left: u64 = m.missing.iter().map(|(_, n)| n).sum();
            let by: Vec<String> = m.missing.iter().map(|(c, n)| format!("{c} {n}")).collect();
            (left > 0).then(|| {
                format!(
                    "Model {}: {left} of {} left out for a missing covariate ({}); {} used",
                    m.model,
                    m.rows_in,
                    by.join(", "),
                    m.rows_used
                )
            })
        })
        .collect();
    let k = arms.len().max(1) as f64;
    let width = (side_x + side_w + MAIN_X)
        .max(2.0 * MAIN_X + k * arm_w + (k - 1.0) * 20.0)
        .max(2.0 * MAIN_X + width_of(&mut model_lines.iter()));

    let mut body = String::new();
    let mut y = 20.0;
    let centre = MAIN_X + main_w / 2.0;
    for (main, side) in &boxes {
        let h = LINE * main.len() as f64 + 12.0;
        rect(&mut body, MAIN_X, y, main_w, h);
        for (k, l) in main.iter().enumerate() {
            text(
                &mut body,
                MAIN_X + 10.0,
                y + 20.0 + LINE * k as f64,
                l,
                k == 0,
            );
        }
        let main_bottom = y + h;
        let side_h = LINE * side.len() as f64 + 12.0;
        let side_y = main_bottom + GAP / 2.0;
        let mid = side_y + side_h / 2.0;
        arrow(&mut body, centre, mid, side_x, mid);
        rect(&mut body, side_x, side_y, side_w, side_h);
        for (k, l) in side.iter().enumerate() {
            text(
                &mut body,
                side_x + 10.0,
                side_y + 20.0 + LINE * k as f64,
                l,
                k == 0,
            );
        }
        let next_y = side_y + side_h + GAP / 2.0;
        arrow(&mut body, centre, main_bottom, centre, next_y);
        y = next_y;
    }
    // The arms, side by side.
    rect(&mut body, MAIN_X, y, main_w, LINE + 12.0);
    text(&mut body, MAIN_X + 10.0, y + 20.0, &analysed, true);
    let top = y + LINE + 12.0;
    let arm_y = top + GAP;
    for (i, (name, label, n)) in arms.iter().enumerate() {
        let x = MAIN_X + i as f64 * (arm_w + 20.0);
        arrow(&mut body, centre, top, x + arm_w / 2.0, arm_y);
        rect(&mut body, x, arm_y, arm_w, 2.0 * LINE + 12.0);
        text(
            &mut body,
            x + 10.0,
            arm_y + 20.0,
            &format!("{name} (n = {n})"),
            true,
        );
        text(&mut body, x + 10.0, arm_y + 20.0 + LINE, label, false);
    }
    // Patients a model left out for a missing covariate, under the arms.
    let mut below = arm_y + 2.0 * LINE + 12.0;
    for line in &model_lines {
        below += LINE;
        text(&mut body, MAIN_X, below, line, false);
    }
    let height = below + 20.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
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
        l.push_model(cohortflow_core::ledger::ModelAccount {
            model: "os: Surv(time, event) ~ arm + size".into(),
            rows_in: 10,
            missing: vec![("size".into(), 2)],
            rows_used: 8,
        });
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
            &Labels::default(),
        );
        for needle in [
            "Rows read from the exports (n = 15)",
            "Centre A: 10",
            "Centre B: 5",
            "Rejected at ingest (n = 1)",
            "unparseable date: 1",
            "Excluded: study criterion not met (n = 4)",
            "second line &amp; later: 4",
            "Analysed (n = 10)",
            "S (n = 7)",
            "Model os: Surv(time, event) ~ arm + size: 2 of 10 left out for a missing covariate \
             (size 2); 8 used",
        ] {
            assert!(svg.contains(needle), "{needle:?} not in\n{svg}");
        }
        assert!(!svg.contains("odd"), "flags are not removals");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}

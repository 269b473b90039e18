//! Table 1 (baseline characteristics by arm): formatting only; every number
//! is in `results.baseline`.

use crate::doc::{Block, Cell, Row};
use crate::fmt;
use cohortflow_analysis::{BaselineRow, BaselineSummary, Results};
use cohortflow_core::table::csv_field;
use std::fmt::Write as _;

/// One line of Table 1.
pub struct Line {
    pub variable: String,
    /// Level of a categorical variable; empty otherwise.
    pub level: String,
    /// What the arm cells hold: `n (%)`, `median [IQR]`, `mean (SD)`, `missing`.
    pub statistic: &'static str,
    /// One cell per arm, in `results.arms` order.
    pub cells: Vec<String>,
    /// Test, p and SMD: on the variable's first line only.
    pub p: String,
    pub test: String,
    pub smd: String,
    pub note: String,
}

/// Boolean columns show only the `true` level, as "yes".
fn is_boolean(levels: &[String]) -> bool {
    !levels.is_empty() && levels.iter().all(|l| l == "true" || l == "false")
}

fn first(row: &BaselineRow) -> (String, String, String, String) {
    (
        row.p_value.map(fmt::p).unwrap_or_default(),
        row.test.clone().unwrap_or_default(),
        fmt::dec(row.smd, 3).replace('–', ""),
        row.note.clone().unwrap_or_default(),
    )
}

pub fn lines(results: &Results) -> Vec<Line> {
    let mut out = Vec::new();
    out.push(Line {
        variable: "n".into(),
        level: String::new(),
        statistic: "n",
        cells: results.arms.iter().map(|a| a.n.to_string()).collect(),
        p: String::new(),
        test: String::new(),
        smd: String::new(),
        note: String::new(),
    });
    for row in &results.baseline {
        let (p, test, smd, note) = first(row);
        let mut lines: Vec<Line> = Vec::new();
        let mut push = |level: String, statistic: &'static str, cells: Vec<String>| {
            lines.push(Line {
                variable: row.variable.clone(),
                level,
                statistic,
                cells,
                p: String::new(),
                test: String::new(),
                smd: String::new(),
                note: String::new(),
            })
        };
        let missing: Vec<u64> = match &row.summary {
            BaselineSummary::Continuous { by_arm } => {
                push(
                    String::new(),
                    "median [IQR]",
                    by_arm
                        .iter()
                        .map(|c| match c.median {
                            Some(m) => format!(
                                "{} [{}, {}]",
                                fmt::dec(Some(m), 1),
                                fmt::dec(c.q1, 1),
                                fmt::dec(c.q3, 1)
                            ),
                            None => "–".into(),
                        })
                        .collect(),
                );
                push(
                    String::new(),
                    "mean (SD)",
                    by_arm
                        .iter()
                        .map(|c| match c.mean {
                            Some(m) => format!("{} ({})", fmt::dec(Some(m), 1), fmt::dec(c.sd, 1)),
                            None => "–".into(),
                        })
                        .collect(),
                );
                by_arm.iter().map(|c| c.missing).collect()
            }
            BaselineSummary::Categorical { levels, by_arm } => {
                let cell = |k: Option<usize>| -> Vec<String> {
                    by_arm
                        .iter()
                        .map(|c| match k {
                            Some(k) => format!("{} ({})", c.counts[k], fmt::pct(c.percents[k])),
                            // A yes/no column where nobody has "yes".
                            None => format!("0 ({})", fmt::pct(0.0)),
                        })
                        .collect()
                };
                if is_boolean(levels) {
                    push(
                        "yes".into(),
                        "n (%)",
                        cell(levels.iter().position(|l| l == "true")),
                    );
                } else {
                    for (k, level) in levels.iter().enumerate() {
                        push(level.clone(), "n (%)", cell(Some(k)));
                    }
                }
                by_arm.iter().map(|c| c.missing).collect()
            }
        };
        if missing.iter().any(|&m| m > 0) {
            push(
                String::new(),
                "missing",
                missing.iter().map(|m| m.to_string()).collect(),
            );
        }
        if let Some(l) = lines.first_mut() {
            (l.p, l.test, l.smd, l.note) = (p, test, smd, note);
        }
        out.extend(lines);
    }
    out
}

/// `table1.csv`: one line per statistic; arms as columns.
pub fn csv(results: &Results) -> String {
    let mut out = String::new();
    let mut header = vec!["variable".to_string(), "level".into(), "statistic".into()];
    header.extend(results.arms.iter().map(|a| a.name.clone()));
    header.extend(["p".into(), "test".into(), "smd".into(), "note".into()]);
    let h: Vec<String> = header.iter().map(|s| csv_field(s)).collect();
    writeln!(out, "{}", h.join(",")).unwrap();
    for l in lines(results) {
        let mut f = vec![l.variable, l.level, l.statistic.to_string()];
        f.extend(l.cells);
        f.extend([l.p, l.test, l.smd, l.note]);
        let f: Vec<String> = f.iter().map(|s| csv_field(s)).collect();
        writeln!(out, "{}", f.join(",")).unwrap();
    }
    out
}

/// Table 1 as a report block.
pub fn block(results: &Results) -> Block {
    let mut header: Vec<Cell> = vec!["Characteristic".into(), "".into()];
    header.extend(
        results
            .arms
            .iter()
            .map(|a| Cell::from(format!("{} (n = {})", a.name, a.n))),
    );
    header.extend(["p".into(), "SMD".into(), "Test".into()]);
    let mut rows = Vec::new();
    let mut last = String::new();
    for l in lines(results) {
        let name = if l.variable == last {
            String::new()
        } else {
            format!("`{}`", l.variable)
        };
        last = l.variable.clone();
        let what = if l.level.is_empty() {
            l.statistic.to_string()
        } else {
            format!("{}, {}", l.level, l.statistic)
        };
        let name = if l.variable == "n" {
            "Patients".to_string()
        } else {
            name
        };
        let mut cells: Vec<Cell> = vec![name.into(), what.into()];
        cells.extend(l.cells.into_iter().map(Cell::from));
        let test = if l.note.is_empty() {
            l.test
        } else if l.test.is_empty() {
            l.note
        } else {
            format!("{}; {}", l.test, l.note)
        };
        cells.extend([l.p.into(), l.smd.into(), test.into()]);
        rows.push(Row::new(cells));
    }
    let arms: Vec<String> = results
        .arms
        .iter()
        .map(|a| format!("{} = {}", a.name, a.label))
        .collect();
    Block::Table {
        caption: "Table 1. Baseline characteristics by arm".into(),
        header,
        rows,
        notes: vec![
            format!("Arms: {}.", arms.join("; ")),
            format!(
                "Continuous variables: median [interquartile range, R quantile type 7] and mean (SD); two arms compared by {}, more by the Kruskal-Wallis test (one-way ANOVA with Welch's t-test).",
                results.conventions.continuous_test.description()
            ),
            "Categorical variables: n (% of the non-missing); compared by Fisher's exact test when any expected count is under 5, else by Pearson's chi-squared test (Yates' correction for 2 x 2). Yes/no variables show the \"yes\" row.".into(),
            "A test named for a variable in the pipeline ([analysis.tests]) replaces this rule for it; each row names the test used.".into(),
            "SMD: standardized mean difference between the arms (as R's tableone; with more than two arms, the mean of the pairwise SMDs). Missing counts are shown where any value is missing.".into(),
            "Baseline p-values describe imbalance; they are not adjusted for multiple comparisons.".into(),
        ],
        class: "numbers wrap-last",
    }
}

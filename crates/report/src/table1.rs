//! Table 1 (baseline characteristics by arm): formatting only; every number
//! is in `results.baseline`.

use crate::doc::{Block, Cell, Row};
use crate::fmt;
use cohortflow_analysis::{BaselineRow, BaselineSummary, ContinuousCell, Results};
use cohortflow_core::schema::{Labels, Summary};
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
                    by_arm.iter().map(median_iqr).collect(),
                );
                push(
                    String::new(),
                    "mean (SD)",
                    by_arm.iter().map(mean_sd).collect(),
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

/// Superscript letters for footnote marks (a, b, c, ...).
const MARKS: [&str; 16] = [
    "ᵃ", "ᵇ", "ᶜ", "ᵈ", "ᵉ", "ᶠ", "ᵍ", "ʰ", "ⁱ", "ʲ", "ᵏ", "ˡ", "ᵐ", "ⁿ", "ᵒ", "ᵖ",
];

/// Footnotes of a table: each distinct text gets the next letter.
#[derive(Default)]
pub struct Footnotes {
    texts: Vec<String>,
}

impl Footnotes {
    /// The superscript mark of `text`, adding it when new.
    pub fn mark(&mut self, text: &str) -> String {
        let k = match self.texts.iter().position(|t| t == text) {
            Some(k) => k,
            None => {
                self.texts.push(text.to_string());
                self.texts.len() - 1
            }
        };
        match MARKS.get(k) {
            Some(m) => (*m).to_string(),
            None => format!("^{}", k + 1),
        }
    }

    /// The footnotes, each starting with its letter.
    pub fn notes(&self) -> Vec<String> {
        self.texts
            .iter()
            .enumerate()
            .map(|(k, t)| match MARKS.get(k) {
                Some(m) => format!("{m} {t}"),
                None => format!("^{} {t}", k + 1),
            })
            .collect()
    }
}

/// An indented cell (a level under its variable).
fn indent(s: &str) -> String {
    format!("\u{2003}{s}")
}

/// The order in which a categorical variable's levels are shown: the
/// declared order (schema `levels`, `[report.variables]`), undeclared ones
/// after it as they come.
pub fn level_order(labels: &Labels, variable: &str, levels: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by_key(|&k| labels.level_rank(variable, &levels[k]));
    order
}

/// Table 1 as a report block: one line per variable (a categorical one
/// with a line per level under it), the summary each variable declares,
/// the test of each p-value as a footnote mark.
pub fn block(results: &Results) -> Block {
    let labels = &results.labels;
    let mut header: Vec<Cell> = vec!["Characteristic".into()];
    header.extend(
        results
            .arms
            .iter()
            .map(|a| Cell::from(format!("{}: {} (n = {})", a.name, a.label, a.n))),
    );
    header.extend(["p".into(), "SMD".into()]);
    let mut notes = Footnotes::default();
    let mut rows = Vec::new();
    let mut summaries: Vec<Summary> = Vec::new();
    for row in &results.baseline {
        let title = labels.titled(&row.variable);
        let p = {
            let value = row.p_value.map(fmt::p).unwrap_or_else(|| "–".into());
            let text = match (&row.test, &row.note) {
                (Some(t), Some(n)) => format!("{t}; {n}"),
                (Some(t), None) => t.clone(),
                (None, Some(n)) => n.clone(),
                (None, None) => String::new(),
            };
            if text.is_empty() {
                value
            } else {
                format!("{value}{}", notes.mark(&text))
            }
        };
        let smd = fmt::dec(row.smd, 2);
        let missing_line = |missing: Vec<u64>, rows: &mut Vec<Row>| {
            if missing.iter().any(|&m| m > 0) {
                let mut cells: Vec<Cell> = vec![indent("Unknown").into()];
                cells.extend(missing.iter().map(|m| Cell::from(m.to_string())));
                cells.extend(["".into(), "".into()]);
                rows.push(Row::new(cells));
            }
        };
        match &row.summary {
            BaselineSummary::Continuous { by_arm } => {
                let summary = labels
                    .get(&row.variable)
                    .and_then(|v| v.summary)
                    .unwrap_or(Summary::Median);
                if !summaries.contains(&summary) {
                    summaries.push(summary);
                }
                let (what, cells): (&str, Vec<String>) = match summary {
                    Summary::Median => ("median [IQR]", by_arm.iter().map(median_iqr).collect()),
                    Summary::Mean => ("mean (SD)", by_arm.iter().map(mean_sd).collect()),
                };
                let mut r: Vec<Cell> = vec![format!("{title}, {what}").into()];
                r.extend(cells.into_iter().map(Cell::from));
                r.extend([p.into(), smd.into()]);
                rows.push(Row::new(r));
                missing_line(by_arm.iter().map(|c| c.missing).collect(), &mut rows);
            }
            BaselineSummary::Categorical { levels, by_arm } => {
                let cell = |k: Option<usize>| -> Vec<Cell> {
                    by_arm
                        .iter()
                        .map(|c| match k {
                            Some(k) => format!("{} ({})", c.counts[k], fmt::pct(c.percents[k])),
                            // A yes/no column where nobody has "yes".
                            None => format!("0 ({})", fmt::pct(0.0)),
                        })
                        .map(Cell::from)
                        .collect()
                };
                if is_boolean(levels) {
                    let mut r: Vec<Cell> = vec![format!("{title}, n (%)").into()];
                    r.extend(cell(levels.iter().position(|l| l == "true")));
                    r.extend([p.into(), smd.into()]);
                    rows.push(Row::new(r));
                } else {
                    let mut r: Vec<Cell> = vec![format!("{title}, n (%)").into()];
                    r.extend(by_arm.iter().map(|_| Cell::from("")));
                    r.extend([p.into(), smd.into()]);
                    rows.push(Row::new(r));
                    for k in level_order(labels, &row.variable, levels) {
                        let mut r: Vec<Cell> =
                            vec![indent(&labels.level(&row.variable, &levels[k])).into()];
                        r.extend(cell(Some(k)));
                        r.extend(["".into(), "".into()]);
                        rows.push(Row::new(r));
                    }
                }
                missing_line(by_arm.iter().map(|c| c.missing).collect(), &mut rows);
            }
        }
    }
    let mut table_notes = notes.notes();
    table_notes.push(format!(
        "Continuous variables: {} (interquartile range by R's quantile type 7; as declared per variable, `summary` in the schema or [report.variables], default [report] summary). Categorical variables: n (% of the patients with a known value); yes/no variables: the patients with \"yes\". Unknown: patients without a value, not in the percentages.",
        summaries
            .iter()
            .map(|s| match s {
                Summary::Median => "median [IQR]",
                Summary::Mean => "mean (SD)",
            })
            .collect::<Vec<_>>()
            .join(" or ")
    ));
    table_notes.push(format!(
        "Tests (the footnote of each p-value names it): categorical variables by Fisher's exact test when any expected count is under 5, else Pearson's chi-squared test (Yates' correction for 2 x 2); continuous variables by {} with two arms, the Kruskal–Wallis test with more; a test named in [analysis.tests] replaces this rule for its variable. Two-sided; not adjusted for multiple comparisons; baseline p-values describe imbalance.",
        results.conventions.continuous_test.description()
    ));
    table_notes.push(
        "SMD: standardized mean difference between the arms as R's tableone computes it (continuous: difference in means over the pooled SD √((s₁² + s₂²)/2); categorical: one multi-level SMD per variable; with more than two arms, the mean of the pairwise SMDs); – where undefined.".into(),
    );
    if results.matching.is_some() {
        table_notes.push(
            "Why this SMD differs from the balance table's (section Matching): Table 1 describes the matched arms with tableone's SMD (pooled SD of the two matched arms; one value per categorical variable; missing values left out), while the balance table is MatchIt's (difference in means over the SD of all treated patients before matching, the same denominator before and after; one row per level; a missing covariate as its own indicator level). Both are computed on the matched patients after matching; they answer different questions and are not meant to agree.".into(),
        );
    }
    Block::Table {
        caption: "Table 1. Baseline characteristics by arm".into(),
        header,
        rows,
        notes: table_notes,
        class: "numbers",
    }
}

/// A continuous cell as "median [Q1, Q3]" (– without values).
fn median_iqr(c: &ContinuousCell) -> String {
    match c.median {
        Some(m) => format!(
            "{} [{}, {}]",
            fmt::dec(Some(m), 1),
            fmt::dec(c.q1, 1),
            fmt::dec(c.q3, 1)
        ),
        None => "–".into(),
    }
}

/// A continuous cell as "mean (SD)" (– without values).
fn mean_sd(c: &ContinuousCell) -> String {
    match c.mean {
        Some(m) => format!("{} ({})", fmt::dec(Some(m), 1), fmt::dec(c.sd, 1)),
        None => "–".into(),
    }
}

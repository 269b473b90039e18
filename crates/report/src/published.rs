//! The comparison with a publication (`[report.published]`): each row puts
//! the published text beside the number this run computes for the same
//! quantity, and beside the landmark analysis where there is one. The
//! published text is copied from the pipeline file as written; only the
//! run's columns are computed.

use crate::doc::{Block, Cell, Row};
use crate::{Input, fmt};
use cohortflow_analysis::{BaselineSummary, EndpointResult};
use serde::Deserialize;

/// `[report.published]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// What was published ("Abstract, ...").
    pub source: String,
    /// Said under the table.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub row: Vec<PublishedRow>,
}

/// `[[report.published.row]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedRow {
    /// What the row is ("Median PFS, months").
    pub label: String,
    /// The published numbers, as text.
    pub published: String,
    /// Which of the run's numbers to put beside it.
    pub computed: Reference,
    /// Said in the row's last column.
    #[serde(default)]
    pub note: String,
}

/// A number of the run, named in the pipeline file:
/// `arms.n`, `baseline.<column>.<level>` (categorical: n/N (%) per arm and
/// the test), `baseline.<column>.median` or `.mean` (continuous, per arm),
/// `endpoint.<name>` (median per arm and the log-rank p, naive and landmark).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub enum Reference {
    ArmsN,
    Baseline { column: String, what: String },
    Endpoint(String),
}

impl TryFrom<String> for Reference {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<&str> = s.splitn(3, '.').collect();
        match parts.as_slice() {
            ["arms", "n"] => Ok(Reference::ArmsN),
            ["baseline", c, w] if !c.is_empty() && !w.is_empty() => Ok(Reference::Baseline {
                column: c.to_string(),
                what: w.to_string(),
            }),
            ["endpoint", e] if !e.is_empty() => Ok(Reference::Endpoint(e.to_string())),
            _ => Err(format!(
                "'{s}' is not a reference to a result; expected arms.n, baseline.<column>.<level>, baseline.<column>.median, baseline.<column>.mean or endpoint.<name>"
            )),
        }
    }
}

/// (naive, landmark) text for a reference.
fn resolve(input: &Input, r: &Reference) -> Result<(String, String), String> {
    let res = input.results;
    match r {
        Reference::ArmsN => {
            let naive = res
                .arms
                .iter()
                .map(|a| a.n.to_string())
                .collect::<Vec<_>>()
                .join(" / ");
            let landmark = match &res.landmark {
                Some(l) => l
                    .endpoints
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.result.name,
                            e.result
                                .by_arm
                                .iter()
                                .map(|a| a.n.to_string())
                                .collect::<Vec<_>>()
                                .join(" / ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                None => "–".into(),
            };
            Ok((format!("{naive} ({})", arm_names(input)), landmark))
        }
        Reference::Baseline { column, what } => {
            let row = res
                .baseline
                .iter()
                .find(|b| &b.variable == column)
                .ok_or_else(|| {
                    format!(
                        "report.published: baseline column '{column}' is not in analysis.baseline"
                    )
                })?;
            let test = match (row.p_value, &row.test) {
                (Some(p), Some(t)) => format!("; {} ({t})", fmt::p_eq(p)),
                _ => String::new(),
            };
            let text = match &row.summary {
                BaselineSummary::Categorical { levels, by_arm } => {
                    let k = levels.iter().position(|l| l == what).ok_or_else(|| {
                        format!(
                            "report.published: '{what}' is not a value of '{column}' (values: {})",
                            levels.join(", ")
                        )
                    })?;
                    let cells: Vec<String> = by_arm
                        .iter()
                        .map(|c| {
                            format!(
                                "{}/{} ({}%)",
                                c.counts[k],
                                c.n - c.missing,
                                fmt::dec(Some(c.percents[k]), 0)
                            )
                        })
                        .collect();
                    format!("{}{test}", cells.join(" vs "))
                }
                BaselineSummary::Continuous { by_arm } => {
                    let cells: Vec<String> = by_arm
                        .iter()
                        .map(|c| {
                            let v = match what.as_str() {
                                "median" => Ok(c.median),
                                "mean" => Ok(c.mean),
                                other => Err(format!(
                                    "report.published: '{other}' of the continuous column '{column}': expected median or mean"
                                )),
                            }?;
                            Ok(format!("{}: {}", c.arm, fmt::dec(v, 1)))
                        })
                        .collect::<Result<_, String>>()?;
                    cells.join(", ")
                }
            };
            Ok((text, "–".into()))
        }
        Reference::Endpoint(name) => {
            let ep = res
                .endpoints
                .iter()
                .find(|e| &e.name == name)
                .ok_or_else(|| format!("report.published: unknown endpoint '{name}'"))?;
            let landmark = res
                .landmark
                .as_ref()
                .and_then(|l| l.endpoints.iter().find(|e| &e.result.name == name))
                .map(|e| endpoint_text(input, &e.result, true))
                .unwrap_or_else(|| "–".into());
            Ok((endpoint_text(input, ep, false), landmark))
        }
    }
}

fn arm_names(input: &Input) -> String {
    input
        .results
        .arms
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn endpoint_text(input: &Input, ep: &EndpointResult, landmark: bool) -> String {
    let label = |arm: &str| -> String {
        let groups = input.results.landmark.as_ref().map(|l| &l.groups);
        match groups.and_then(|g| g.iter().find(|g| g.name == arm)) {
            Some(g) if landmark => g.label.clone(),
            _ => arm.to_string(),
        }
    };
    let medians: Vec<String> = ep
        .by_arm
        .iter()
        .map(|a| fmt::time(a.median.estimate))
        .collect();
    format!(
        "{} ({}){}",
        medians.join(" vs "),
        ep.by_arm
            .iter()
            .map(|a| label(&a.arm))
            .collect::<Vec<_>>()
            .join(" vs "),
        ep.log_rank.as_ref().map_or(String::new(), |l| format!(
            "; log-rank {}",
            fmt::significance(l.p_value, input.alpha())
        ))
    )
}

pub fn block(input: &Input, p: &Published) -> Result<Vec<Block>, String> {
    let landmark = input.results.landmark.as_ref().map(|l| {
        format!(
            "This run, landmark at {} {} ({} / {})",
            fmt::num(l.time),
            l.unit,
            l.groups[0].label,
            l.groups.get(1).map(|g| g.label.as_str()).unwrap_or("")
        )
    });
    let mut header: Vec<Cell> = vec![
        "".into(),
        "Published".into(),
        format!("This run, declared arms ({})", arm_names(input)).into(),
    ];
    if let Some(l) = &landmark {
        header.push(l.clone().into());
    }
    header.push("Note".into());
    let mut rows = Vec::new();
    for r in &p.row {
        let (naive, lm) = resolve(input, &r.computed)?;
        let mut cells: Vec<Cell> = vec![
            r.label.clone().into(),
            r.published.clone().into(),
            naive.into(),
        ];
        if landmark.is_some() {
            cells.push(lm.into());
        }
        cells.push(r.note.clone().into());
        rows.push(Row::new(cells));
    }
    let mut notes = vec![
        "Published: copied from the pipeline file's [report.published] as written, not computed. This run: computed from the data by this run.".to_string(),
    ];
    notes.extend(p.notes.iter().cloned());
    Ok(vec![
        Block::Heading(2, "Comparison with the publication".into()),
        Block::Para(format!("Source: {}.", p.source)),
        Block::Table {
            caption: "Published numbers beside this run's".into(),
            header,
            rows,
            notes,
            class: "",
        },
    ])
}

//! Model design: covariate columns turned into numeric terms, as R's
//! `model.matrix` does with treatment contrasts, with a declared rule for
//! missing values. Shared by the propensity-score model (cohort stage) and
//! the Cox models (analysis stage).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// What a missing covariate value does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingRule {
    /// The row leaves the model (the caller counts it).
    #[default]
    Exclude,
    /// Missing is a level of its own for categories; numbers take the mean
    /// and a `<column> missing` indicator.
    Indicator,
}

impl MissingRule {
    /// The rule's name as written in pipeline files and `results.json`.
    pub const fn name(self) -> &'static str {
        match self {
            MissingRule::Exclude => "exclude",
            MissingRule::Indicator => "indicator",
        }
    }
}

/// One column of the propensity model's design, with its name.
pub struct Term {
    pub name: String,
    pub values: Vec<f64>,
    /// Every value is 0 or 1 (an indicator).
    pub binary: bool,
}

/// Builds the design of `columns` over `rows`, and marks the rows that the
/// `exclude` rule removes (a missing value in any covariate).
pub fn design(
    frame: &DataFrame,
    columns: &[String],
    rows: &[usize],
    rule: MissingRule,
) -> PolarsResult<(Vec<Term>, Vec<bool>)> {
    let mut terms = Vec::new();
    let mut missing_any = vec![false; rows.len()];
    for c in columns {
        let col = frame.column(c)?;
        if col.dtype().is_primitive_numeric() {
            let f = col.cast(&DataType::Float64)?;
            let f = f.f64()?;
            let v: Vec<Option<f64>> = rows
                .iter()
                .map(|&i| f.get(i).filter(|x| x.is_finite()))
                .collect();
            let present: Vec<f64> = v.iter().flatten().copied().collect();
            let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
            let any_missing = present.len() < v.len();
            for (m, x) in missing_any.iter_mut().zip(&v) {
                *m |= x.is_none();
            }
            terms.push(Term {
                name: c.clone(),
                values: v.iter().map(|x| x.unwrap_or(mean)).collect(),
                binary: false,
            });
            if any_missing && rule == MissingRule::Indicator {
                terms.push(Term {
                    name: format!("{c} missing"),
                    values: v
                        .iter()
                        .map(|x| if x.is_none() { 1.0 } else { 0.0 })
                        .collect(),
                    binary: true,
                });
            }
        } else {
            let s = col.cast(&DataType::String)?;
            let s = s.str()?;
            let v: Vec<Option<String>> =
                rows.iter().map(|&i| s.get(i).map(str::to_string)).collect();
            for (m, x) in missing_any.iter_mut().zip(&v) {
                *m |= x.is_none();
            }
            let v: Vec<Option<String>> = match rule {
                MissingRule::Indicator => v
                    .into_iter()
                    .map(|x| Some(x.unwrap_or_else(|| "(missing)".into())))
                    .collect(),
                MissingRule::Exclude => v,
            };
            let mut levels: Vec<&String> = v.iter().flatten().collect();
            levels.sort();
            levels.dedup();
            for level in levels {
                terms.push(Term {
                    name: format!("{c} = {level}"),
                    values: v
                        .iter()
                        .map(|x| if x.as_ref() == Some(level) { 1.0 } else { 0.0 })
                        .collect(),
                    binary: true,
                });
            }
        }
    }
    let excluded = match rule {
        MissingRule::Exclude => missing_any,
        MissingRule::Indicator => vec![false; rows.len()],
    };
    Ok((terms, excluded))
}

/// The terms a model uses: every term of a number, and every level of a
/// category but its first (R's treatment contrasts; the first level in
/// sorted order is the reference).
pub fn model_terms(terms: &[Term]) -> Vec<&Term> {
    let mut out = Vec::new();
    let mut seen_factor: Vec<&str> = Vec::new();
    for t in terms {
        match t.name.split_once(" = ") {
            Some((factor, _)) if t.binary && !seen_factor.contains(&factor) => {
                seen_factor.push(factor);
            }
            _ => out.push(t),
        }
    }
    out
}

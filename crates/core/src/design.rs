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
            // Each row's level as the number of its first sighting (no
            // String per row, no sort of the rows' values); a missing value
            // under the indicator rule is the level "(missing)".
            let mut index: std::collections::HashMap<&str, usize> =
                std::collections::HashMap::new();
            let mut codes: Vec<Option<usize>> = Vec::with_capacity(rows.len());
            for (m, &i) in missing_any.iter_mut().zip(rows) {
                let v = s.get(i);
                *m |= v.is_none();
                let level = match (v, rule) {
                    (Some(v), _) => Some(v),
                    (None, MissingRule::Indicator) => Some("(missing)"),
                    (None, MissingRule::Exclude) => None,
                };
                codes.push(level.map(|l| {
                    let next = index.len();
                    *index.entry(l).or_insert(next)
                }));
            }
            let mut levels: Vec<(&str, usize)> = index.into_iter().collect();
            levels.sort_unstable();
            for (level, code) in levels {
                terms.push(Term {
                    name: format!("{c} = {level}"),
                    values: codes
                        .iter()
                        .map(|x| if *x == Some(code) { 1.0 } else { 0.0 })
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

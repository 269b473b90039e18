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
///
/// A number is one term (a missing value under the indicator rule takes
/// the mean of the others, plus a `<column> missing` indicator). Any other
/// column is a factor of the texts its values show (a category's level,
/// `false`/`true`, a text): one indicator per level met in `rows`, in the
/// order of the texts; under the indicator rule a missing value is the
/// level `(missing)`.
///
/// Each column is read from its one array, and a factor by its codes (a
/// category's, a boolean's) where it has them: read a row at a time as
/// text, through the chunked array and std's hash, the design of two
/// factors on 600k rows took 81–87 ms (timing prints, the benchmark's full
/// study at 1M); the test `the_design_is_that_of_the_texts` checks the
/// result against that reading, bit for bit.
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
            let f = f.f64()?.rechunk();
            let f = f.downcast_as_array();
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
            let Factor { mut texts, codes } = factor(col, rows)?;
            for (m, code) in missing_any.iter_mut().zip(&codes) {
                *m |= code.is_none();
            }
            // Under the indicator rule a missing value is the level
            // "(missing)" (the same level as a value of that text).
            let missing_code = match rule {
                MissingRule::Exclude => None,
                MissingRule::Indicator if codes.iter().any(Option::is_none) => {
                    Some(match texts.iter().position(|t| t == MISSING_LEVEL) {
                        Some(k) => k as u32,
                        None => {
                            texts.push(MISSING_LEVEL.into());
                            (texts.len() - 1) as u32
                        }
                    })
                }
                MissingRule::Indicator => None,
            };
            let codes: Vec<Option<u32>> = codes
                .into_iter()
                .map(|code| code.or(missing_code))
                .collect();
            let mut met = vec![false; texts.len()];
            for code in codes.iter().flatten() {
                met[*code as usize] = true;
            }
            let mut levels: Vec<u32> = (0..texts.len() as u32)
                .filter(|&k| met[k as usize])
                .collect();
            levels.sort_unstable_by(|&a, &b| texts[a as usize].cmp(&texts[b as usize]));
            for level in levels {
                terms.push(Term {
                    name: format!("{c} = {}", texts[level as usize]),
                    values: codes
                        .iter()
                        .map(|x| if *x == Some(level) { 1.0 } else { 0.0 })
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

/// The level a missing value of a factor is under the indicator rule.
const MISSING_LEVEL: &str = "(missing)";

/// A factor's distinct texts (each once, in any order) and the code of
/// each of the rows' values among them (`None`: missing).
struct Factor {
    texts: Vec<String>,
    codes: Vec<Option<u32>>,
}

/// `col` read as a factor over `rows`: a category by its codes, a boolean
/// as `false`/`true` (the texts a cast gives), anything else by the text a
/// cast gives, numbered in the order first met.
fn factor(col: &Column, rows: &[usize]) -> PolarsResult<Factor> {
    if let Some((levels, codes)) = crate::table::level_codes(col)? {
        let codes = codes.rechunk();
        let codes = codes.downcast_as_array();
        return Ok(Factor {
            texts: levels.iter().map(|l| l.to_string()).collect(),
            codes: rows.iter().map(|&i| codes.get(i)).collect(),
        });
    }
    if let DataType::Boolean = col.dtype() {
        let flags = col.bool()?.rechunk();
        let flags = flags.downcast_as_array();
        return Ok(Factor {
            texts: vec!["false".into(), "true".into()],
            codes: rows.iter().map(|&i| flags.get(i).map(u32::from)).collect(),
        });
    }
    let text = col.cast(&DataType::String)?;
    let text = text.str()?.rechunk();
    let text = text.downcast_as_array();
    // foldhash, not std's SipHash (as Table 1's count of levels).
    let mut index: std::collections::HashMap<&str, u32, foldhash::fast::FixedState> =
        Default::default();
    let mut texts: Vec<String> = Vec::new();
    let codes = rows
        .iter()
        .map(|&i| {
            text.get(i).map(|v| {
                *index.entry(v).or_insert_with(|| {
                    texts.push(v.to_string());
                    (texts.len() - 1) as u32
                })
            })
        })
        .collect();
    Ok(Factor { texts, codes })
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

#[cfg(test)]
mod tests {
    use super::*;
    use cohortflow_stats::rng::SplitMix64;

    /// The former reading: every value through the chunked array and, for a
    /// factor, as the text a cast gives, numbered through std's hash map.
    fn design_by_text(
        frame: &DataFrame,
        columns: &[String],
        rows: &[usize],
        rule: MissingRule,
    ) -> (Vec<Term>, Vec<bool>) {
        let mut terms = Vec::new();
        let mut missing_any = vec![false; rows.len()];
        for c in columns {
            let col = frame.column(c).unwrap();
            if col.dtype().is_primitive_numeric() {
                let f = col.cast(&DataType::Float64).unwrap();
                let f = f.f64().unwrap();
                let v: Vec<Option<f64>> = rows
                    .iter()
                    .map(|&i| f.get(i).filter(|x| x.is_finite()))
                    .collect();
                let present: Vec<f64> = v.iter().flatten().copied().collect();
                let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
                for (m, x) in missing_any.iter_mut().zip(&v) {
                    *m |= x.is_none();
                }
                terms.push(Term {
                    name: c.clone(),
                    values: v.iter().map(|x| x.unwrap_or(mean)).collect(),
                    binary: false,
                });
                if present.len() < v.len() && rule == MissingRule::Indicator {
                    terms.push(Term {
                        name: format!("{c} missing"),
                        values: v.iter().map(|x| f64::from(u8::from(x.is_none()))).collect(),
                        binary: true,
                    });
                }
            } else {
                let s = col.cast(&DataType::String).unwrap();
                let s = s.str().unwrap();
                let mut index: std::collections::HashMap<&str, usize> = Default::default();
                let mut codes: Vec<Option<usize>> = Vec::new();
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
                            .map(|x| f64::from(u8::from(*x == Some(code))))
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
        (terms, excluded)
    }

    /// A table of `n` rows in several chunks: a category (some levels never
    /// used, one spelled "(missing)"), a boolean, a text, a float with NaNs
    /// and an integer, each with missing values at a random share.
    fn random_frame(rng: &mut SplitMix64, n: usize) -> DataFrame {
        let levels: Vec<String> = ["SD", "PR", "(missing)", "CR", "PD", "unused"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let enum_dtype = crate::schema::category_dtype(&levels).unwrap();
        let gap = rng.below(4);
        let pick = |rng: &mut SplitMix64| rng.below(4) >= gap;
        let mut cat = Vec::new();
        let mut flag = Vec::new();
        let mut text = Vec::new();
        let mut size = Vec::new();
        let mut line = Vec::new();
        for _ in 0..n {
            cat.push(pick(rng).then(|| levels[rng.below(5)].clone()));
            flag.push(pick(rng).then(|| rng.below(3) == 0));
            text.push(
                pick(rng).then(|| ["b", "a", "(missing)", "é", "A"][rng.below(5)].to_string()),
            );
            size.push(pick(rng).then(|| match rng.below(10) {
                0 => f64::NAN,
                _ => rng.below(1000) as f64 / 7.0,
            }));
            line.push(pick(rng).then(|| rng.below(3) as i64 + 1));
        }
        let cat = Series::new("cat".into(), cat).cast(&enum_dtype).unwrap();
        let whole = DataFrame::new(
            n,
            vec![
                cat.into_column(),
                Column::new("flag".into(), flag),
                Column::new("text".into(), text),
                Column::new("size".into(), size),
                Column::new("line".into(), line),
            ],
        )
        .unwrap();
        // several chunks, as a filtered or appended table has
        let cut = rng.below(n + 1);
        let mut frame = whole.slice(0, cut);
        frame.vstack_mut(&whole.slice(cut as i64, n - cut)).unwrap();
        frame
    }

    #[test]
    fn the_design_is_that_of_the_texts() {
        let mut rng = SplitMix64::new(0x00de_519e);
        let all: Vec<String> = ["cat", "flag", "text", "size", "line"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for round in 0..300 {
            let n = 1 + rng.below(300);
            let frame = random_frame(&mut rng, n);
            let rows: Vec<usize> = (0..n).filter(|_| rng.below(3) > 0).collect();
            let mut columns: Vec<String> =
                all.iter().filter(|_| rng.below(2) == 0).cloned().collect();
            if columns.is_empty() {
                columns.push(all[round % all.len()].clone());
            }
            for rule in [MissingRule::Exclude, MissingRule::Indicator] {
                let (got, got_excluded) = design(&frame, &columns, &rows, rule).unwrap();
                let (want, want_excluded) = design_by_text(&frame, &columns, &rows, rule);
                assert_eq!(got_excluded, want_excluded, "round {round} {rule:?}");
                assert_eq!(got.len(), want.len(), "round {round} {rule:?}");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.name, w.name, "round {round} {rule:?}");
                    assert_eq!(g.binary, w.binary, "round {round} {}", g.name);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&g.values), bits(&w.values), "round {round} {}", g.name);
                }
            }
        }
    }
}

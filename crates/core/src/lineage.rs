//! When each column is known: its time of availability, found by lineage.
//!
//! A schema column of type `date` is known at itself. Any other schema
//! column is known at baseline (`known = "baseline"`, the default) or at a
//! date column the schema names (`known = "progression_date"`: a best
//! response read at progression). A derived column is known when the latest
//! of its inputs is: its SQL expression is parsed (sqlparser, the parser
//! polars' SQL uses) and the dates of every column it refers to are joined,
//! so `COALESCE(progression_date, death_date, last_followup) - im_start` is
//! known only at the first of those dates, which is at the end of follow-up
//! for a patient without an event.
//!
//! A condition (a criterion or an arm) is split at its top-level `AND`s;
//! each part is classified by its shape (`x IS NOT NULL`, `x > 12`, ...) so
//! that a stage can say in plain words what the condition guarantees. The
//! warnings themselves ([`DesignWarning`]) are made by the cohort stage,
//! which knows the endpoints' origins and the data.

use crate::schema::{ColumnType, Schema};
use serde::Serialize;
use sqlparser::ast::{BinaryOperator, Expr, SelectItem, Value, visit_expressions};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserOptions};
use sqlparser::tokenizer::Token;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

/// The value of a schema column's `known` key that means "at baseline".
pub const BASELINE: &str = "baseline";

/// The time of availability of every column of a pipeline.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Column -> the date columns at which it is known (empty: baseline).
    known: BTreeMap<String, BTreeSet<String>>,
    /// Derived column -> its unit of time, when its expression is a
    /// difference of dates divided by a unit's length in days.
    units: BTreeMap<String, &'static str>,
}

impl Lineage {
    /// The schema's columns: dates known at themselves, the others at
    /// baseline or at the date their `known` key names.
    pub fn from_schema(schema: &Schema) -> Lineage {
        let mut known = BTreeMap::new();
        for c in &schema.columns {
            let at: BTreeSet<String> = if c.kind == ColumnType::Date {
                [c.name.clone()].into()
            } else {
                match c.known.as_deref() {
                    None | Some(BASELINE) => BTreeSet::new(),
                    Some(date) => [date.to_string()].into(),
                }
            };
            known.insert(c.name.clone(), at);
        }
        Lineage {
            known,
            units: BTreeMap::new(),
        }
    }

    /// Adds a derived column: known when the latest of the columns its
    /// expression refers to is. A column the lineage does not know (a
    /// provenance column, a flag) counts as baseline.
    pub fn add_derived(&mut self, name: &str, sql: &str) -> Result<(), String> {
        let expr = parse(sql)?;
        let mut at = BTreeSet::new();
        for c in columns(&expr) {
            if let Some(dates) = self.known.get(&c) {
                at.extend(dates.iter().cloned());
            }
        }
        self.known.insert(name.to_string(), at);
        if let Some(unit) = unit_of(&expr) {
            self.units.insert(name.to_string(), unit);
        }
        Ok(())
    }

    /// The date columns at which `column` is known (empty: at baseline).
    pub fn known_at(&self, column: &str) -> BTreeSet<String> {
        self.known.get(column).cloned().unwrap_or_default()
    }

    /// The unit of time of a derived duration (`months` for
    /// `(... - ...) / 30.4375`), when its expression shows it.
    pub fn unit(&self, column: &str) -> Option<&'static str> {
        self.units.get(column).copied()
    }
}

/// One part of a condition, between its top-level `AND`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conjunct {
    /// The part as SQL text (re-printed by the parser).
    pub text: String,
    /// The columns it refers to, directly.
    pub columns: BTreeSet<String>,
    pub shape: Shape,
}

/// What a part of a condition says about one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `column IS NOT NULL`.
    NotNull(String),
    /// `column IS NULL`.
    Null(String),
    /// `column > value` (`strict`) or `column >= value`, or the same
    /// written the other way round.
    AtLeast {
        column: String,
        value: String,
        strict: bool,
    },
    /// `column < value` or `column <= value`.
    AtMost {
        column: String,
        value: String,
        strict: bool,
    },
    /// Anything else.
    Other,
}

/// Splits a condition at its top-level `AND`s and classifies each part.
pub fn conjuncts(sql: &str) -> Result<Vec<Conjunct>, String> {
    let expr = parse(sql)?;
    let mut parts = Vec::new();
    split_and(&expr, &mut parts);
    Ok(parts
        .into_iter()
        .map(|e| Conjunct {
            text: e.to_string(),
            columns: columns(e),
            shape: shape(e),
        })
        .collect())
}

/// The columns an expression refers to.
pub fn referenced(sql: &str) -> Result<BTreeSet<String>, String> {
    Ok(columns(&parse(sql)?))
}

/// Parses as polars' `sql_expr` does (a select item, so `x AS y` is read
/// as `x`), and requires the whole text to be consumed.
fn parse(sql: &str) -> Result<Expr, String> {
    let mut parser = Parser::new(&GenericDialect)
        .with_options(ParserOptions {
            trailing_commas: true,
            ..Default::default()
        })
        .try_with_sql(sql)
        .map_err(|e| e.to_string())?;
    let item = parser.parse_select_item().map_err(|e| e.to_string())?;
    if parser.peek_token().token != Token::EOF {
        return Err(format!("unable to parse '{sql}' as one expression"));
    }
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Ok(e),
        SelectItem::ExprWithAliases { expr, .. } => Ok(expr),
        _ => Err(format!("'{sql}' is not an expression")),
    }
}

fn columns(expr: &Expr) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let _ = visit_expressions(expr, |e| {
        match e {
            Expr::Identifier(i) => {
                out.insert(i.value.clone());
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    out.insert(last.value.clone());
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

fn unnest(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => unnest(inner),
        other => other,
    }
}

fn split_and<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match unnest(e) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        other => out.push(other),
    }
}

fn column_name(e: &Expr) -> Option<String> {
    match unnest(e) {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        _ => None,
    }
}

fn number(e: &Expr) -> Option<String> {
    match unnest(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn shape(e: &Expr) -> Shape {
    match unnest(e) {
        Expr::IsNotNull(x) => column_name(x).map_or(Shape::Other, Shape::NotNull),
        Expr::IsNull(x) => column_name(x).map_or(Shape::Other, Shape::Null),
        Expr::BinaryOp { left, op, right } => {
            let (column, value, flipped) = match (
                column_name(left),
                number(right),
                column_name(right),
                number(left),
            ) {
                (Some(c), Some(v), _, _) => (c, v, false),
                (_, _, Some(c), Some(v)) => (c, v, true),
                _ => return Shape::Other,
            };
            use BinaryOperator::*;
            let (at_least, strict) = match op {
                Gt => (true, true),
                GtEq => (true, false),
                Lt => (false, true),
                LtEq => (false, false),
                _ => return Shape::Other,
            };
            if at_least != flipped {
                Shape::AtLeast {
                    column,
                    value,
                    strict,
                }
            } else {
                Shape::AtMost {
                    column,
                    value,
                    strict,
                }
            }
        }
        _ => Shape::Other,
    }
}

/// `<difference> / 30.4375` is in months, `/ 365.25` in years, `/ 7` in
/// weeks; a difference of dates cast to integers, not divided, in days.
fn unit_of(e: &Expr) -> Option<&'static str> {
    match unnest(e) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Divide,
            right,
        } if is_difference(left) => match number(right)?.parse::<f64>().ok()? {
            d if d == crate::time::DAYS_PER_MONTH => Some("months"),
            d if d == crate::time::DAYS_PER_YEAR => Some("years"),
            7.0 => Some("weeks"),
            1.0 => Some("days"),
            _ => None,
        },
        e if is_difference(e) => Some("days"),
        _ => None,
    }
}

fn is_difference(e: &Expr) -> bool {
    matches!(
        unnest(e),
        Expr::BinaryOp {
            op: BinaryOperator::Minus,
            ..
        }
    )
}

/// Where a design warning's condition is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConditionKind {
    Criterion,
    Arm,
}

impl ConditionKind {
    pub const fn name(self) -> &'static str {
        match self {
            ConditionKind::Criterion => "criterion",
            ConditionKind::Arm => "arm",
        }
    }
}

/// What kind of look into the future a condition makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DesignWarningKind {
    /// The group is defined by something that happens after the origin
    /// (surgery): counted from the origin, it is credited with the time
    /// before it, in which its patients could not have the event.
    ImmortalTime,
    /// The condition is known only from the course after the origin
    /// (events, death, last contact): the group cannot have an event for as
    /// long as the condition requires.
    ConditionedOnFuture,
}

/// A criterion or arm whose condition uses something known after an
/// endpoint's origin, with what it guarantees; in `results.json`
/// (`design_warnings`), the run log and the report's Design section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignWarning {
    pub kind: DesignWarningKind,
    /// `arm` or `criterion`.
    pub step: ConditionKind,
    /// The arm's or the criterion's name.
    pub name: String,
    /// The part of the condition concerned, as SQL.
    pub condition: String,
    /// The origin date it is judged against.
    pub origin: String,
    /// The endpoints counted from that origin.
    pub endpoints: Vec<String>,
    /// The date columns, known after the origin, that the condition
    /// depends on (through derived columns).
    pub known_at: Vec<String>,
    /// Rows of the arm (or rows the criterion judged) with one of those
    /// dates after the origin, and all of them.
    pub rows_after: u64,
    pub rows: u64,
    /// What the condition guarantees, in plain words.
    pub guarantee: String,
    /// The pipeline's reason for keeping it (`[[design.acknowledge]]`);
    /// an acknowledged warning is still shown, with the reason.
    pub acknowledged: Option<String>,
}

impl DesignWarning {
    /// The warning as one sentence, for the log and the report.
    pub fn text(&self) -> String {
        let head = match self.kind {
            DesignWarningKind::ImmortalTime => "immortal time",
            DesignWarningKind::ConditionedOnFuture => "defined by the future",
        };
        match &self.acknowledged {
            None => format!("{head}: {}", self.guarantee),
            Some(reason) => format!("{head} (acknowledged: {reason}): {}", self.guarantee),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        toml::from_str(
            r#"
name = "t"
[[column]]
name = "im_start"
type = "date"
[[column]]
name = "progression_date"
type = "date"
[[column]]
name = "death_date"
type = "date"
[[column]]
name = "last_followup"
type = "date"
[[column]]
name = "surgery_date"
type = "date"
[[column]]
name = "mets_site"
type = "category"
levels = ["liver", "lung"]
[[column]]
name = "best_response"
type = "category"
levels = ["PR", "SD"]
known = "progression_date"
"#,
        )
        .unwrap()
    }

    #[test]
    fn dates_are_known_at_themselves_and_other_columns_at_baseline() {
        let l = Lineage::from_schema(&schema());
        assert_eq!(
            l.known_at("surgery_date"),
            ["surgery_date".to_string()].into()
        );
        assert!(l.known_at("mets_site").is_empty());
        assert_eq!(
            l.known_at("best_response"),
            ["progression_date".to_string()].into()
        );
    }

    #[test]
    fn a_derived_column_is_known_when_the_latest_input_is() {
        let mut l = Lineage::from_schema(&schema());
        l.add_derived(
            "response_months",
            "(CAST(COALESCE(progression_date, death_date, last_followup) AS INTEGER) - CAST(im_start AS INTEGER)) / 30.4375",
        )
        .unwrap();
        l.add_derived("mets_liver", "mets_site IN ('liver')")
            .unwrap();
        // Through a second derived column.
        l.add_derived("long_response", "response_months > 12")
            .unwrap();
        let expected: BTreeSet<String> = [
            "death_date",
            "im_start",
            "last_followup",
            "progression_date",
        ]
        .map(String::from)
        .into();
        assert_eq!(l.known_at("response_months"), expected);
        assert_eq!(l.known_at("long_response"), expected);
        assert!(l.known_at("mets_liver").is_empty());
        assert_eq!(l.unit("response_months"), Some("months"));
        assert_eq!(l.unit("long_response"), None);
        l.add_derived(
            "days",
            "CAST(surgery_date AS INTEGER) - CAST(im_start AS INTEGER)",
        )
        .unwrap();
        assert_eq!(l.unit("days"), Some("days"));
        l.add_derived(
            "years",
            "(CAST(surgery_date AS INTEGER) - CAST(im_start AS INTEGER)) / 365.25",
        )
        .unwrap();
        assert_eq!(l.unit("years"), Some("years"));
    }

    #[test]
    fn conditions_split_at_top_level_and_into_shapes() {
        let parts = conjuncts("surgery_date IS NULL AND (response_months > 12)").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].shape, Shape::Null("surgery_date".into()));
        assert_eq!(
            parts[1].shape,
            Shape::AtLeast {
                column: "response_months".into(),
                value: "12".into(),
                strict: true
            }
        );
        assert_eq!(parts[1].text, "response_months > 12");
        let parts = conjuncts("12 <= response_months").unwrap();
        assert_eq!(
            parts[0].shape,
            Shape::AtLeast {
                column: "response_months".into(),
                value: "12".into(),
                strict: false
            }
        );
        let parts = conjuncts("surgery_date IS NOT NULL").unwrap();
        assert_eq!(parts[0].shape, Shape::NotNull("surgery_date".into()));
        // An OR is one part, of no particular shape.
        let parts = conjuncts("a > 1 OR b IS NULL").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].shape, Shape::Other);
        assert_eq!(parts[0].columns, ["a".to_string(), "b".to_string()].into());
        let parts = conjuncts("x < 3").unwrap();
        assert_eq!(
            parts[0].shape,
            Shape::AtMost {
                column: "x".into(),
                value: "3".into(),
                strict: true
            }
        );
    }

    #[test]
    fn the_schema_key_known_names_baseline_or_a_date_column() {
        let schema = |known_of_grade: &str, known_of_date: &str| -> Schema {
            toml::from_str(&format!(
                "name = \"t\"\n[[column]]\nname = \"d\"\ntype = \"date\"\n{known_of_date}\n[[column]]\nname = \"grade\"\ntype = \"integer\"\n{known_of_grade}\n"
            ))
            .unwrap()
        };
        assert!(schema("known = \"baseline\"", "").problems().is_empty());
        assert!(schema("known = \"d\"", "").problems().is_empty());
        let p = schema("known = \"grade\"", "").problems();
        assert_eq!(p.len(), 1);
        assert!(p[0].1.contains("known = \"grade\" of 'grade'"), "{p:?}");
        let p = schema("", "known = \"baseline\"").problems();
        assert_eq!(p.len(), 1);
        assert!(p[0].1.contains("'d' is a date, known at itself"), "{p:?}");
    }

    #[test]
    fn a_condition_that_does_not_parse_is_an_error() {
        assert!(conjuncts("a >").is_err());
        assert!(conjuncts("a > 1 b c").is_err());
        assert!(conjuncts("*").is_err());
        // As polars reads it: an alias is not part of the expression.
        assert_eq!(conjuncts("a > 1 AS c").unwrap()[0].text, "a > 1");
        assert!(Lineage::default().add_derived("x", "(").is_err());
    }
}

//! SQL expressions: filters, checks and derived columns written by users in
//! pipeline files, compiled by polars' SQL support (no home-made language).
//!
//! A category column is held as `Enum` codes (`schema::ColumnDef::dtype`),
//! but an expression sees its text: [`on_text`] reads each category column
//! an expression names as text, so `=`, `<`, `LIKE`, `COALESCE` and every
//! function behave exactly as on the declared text (an `Enum` compares by
//! level order and refuses a text that is not a level). Every place that
//! evaluates a user's expression on a table goes through it.

use polars::prelude::*;

/// Compiles one SQL expression (`surgery_date IS NULL OR surgery_date >=
/// im_start`) into a polars expression. The error text is polars' own,
/// trimmed of its error-kind prefix.
pub fn compile(sql: &str) -> Result<Expr, String> {
    if sql.trim().is_empty() {
        return Err("the expression is empty".into());
    }
    polars::sql::sql_expr(sql).map_err(|e| tidy(&e))
}

/// The type an expression produces on a table shaped like `frame` (which may
/// be empty: only its column types matter). The expression is evaluated on
/// an empty table of that shape, not only planned, so every error the data
/// could raise from the types alone (an unknown column, comparing a number
/// with a string, arithmetic on a category) is raised here, before any data
/// is read.
pub fn output_type(expr: &Expr, frame: &DataFrame) -> Result<DataType, String> {
    let empty = frame.clear();
    let expr = &on_text(expr.clone(), frame.schema());
    let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        empty
            .lazy()
            .select([expr.clone().alias("__cohortflow_expr")])
            .collect()
    }))
    .map_err(|_| "polars cannot evaluate the expression on these column types".to_string())?
    .map_err(|e| unknown_column_in(&e, frame).unwrap_or_else(|| with_hint(tidy(&e))))?;
    Ok(evaluated
        .column("__cohortflow_expr")
        .map(|c| c.dtype().clone())
        .unwrap_or(DataType::Null))
}

/// `expr` with every category column it names (an `Enum` or `Categorical`
/// column of `schema`) read as text: `col(x)` becomes `col(x)` cast to a
/// string. The cast is made per evaluation, one column at a time; the
/// table keeps its codes.
pub fn on_text(expr: Expr, schema: &Schema) -> Expr {
    let categories: Vec<&PlSmallStr> = schema
        .iter()
        .filter(|(_, dtype)| dtype.is_categorical() || dtype.is_enum())
        .map(|(name, _)| name)
        .collect();
    if categories.is_empty() {
        return expr;
    }
    expr.map_expr(|e| match e {
        Expr::Column(name) if categories.contains(&&name) => {
            Expr::Column(name).cast(DataType::String)
        }
        e => e,
    })
}

/// Compiles `sql` and checks it against `frame`'s schema; when `boolean` is
/// set the expression must be a condition.
pub fn compile_checked(
    sql: &str,
    frame: &DataFrame,
    boolean: bool,
) -> Result<(Expr, DataType), String> {
    let expr = compile(sql)?;
    let dtype = output_type(&expr, frame)?;
    if boolean && !matches!(dtype, DataType::Boolean | DataType::Null) {
        return Err(format!(
            "the expression gives {dtype}, not a true/false condition"
        ));
    }
    Ok((expr, dtype))
}

/// A column the expression names that the frame does not have: named, with
/// the closest column as a suggestion (polars lists every column instead).
fn unknown_column_in(e: &PolarsError, frame: &DataFrame) -> Option<String> {
    let message = tidy(e);
    let rest = message.split("unable to find column \"").nth(1)?;
    let name = &rest[..rest.find('"')?];
    Some(unknown_column(name, frame))
}

/// "unknown column 'x'", with "did you mean" the closest of `frame`'s
/// columns when one is close.
pub fn unknown_column(name: &str, frame: &DataFrame) -> String {
    let names = frame.get_column_names();
    format!(
        "unknown column '{name}'{}",
        crate::problem::did_you_mean(name, names.iter().map(|c| c.as_str()))
    )
}

/// A type error with the way to write what was probably meant.
fn with_hint(message: String) -> String {
    if message.contains("date/datetime/time' to a string") {
        format!("{message}: write a date as DATE 'YYYY-MM-DD' (e.g. im_start >= DATE '2020-01-01')")
    } else if message.contains("cannot compare string with numeric") {
        format!(
            "{message}: compare a number column with a number (im_line = 1) and a text or \
             category column with quoted text (sex = 'F')"
        )
    } else {
        message
    }
}

/// The part of a polars error a user can act on: the message without its
/// kind (`not found: `, `SQL interface error: `) and without the query plan
/// some errors append after a newline.
fn tidy(e: &PolarsError) -> String {
    let msg = match e {
        PolarsError::ColumnNotFound(m)
        | PolarsError::ComputeError(m)
        | PolarsError::InvalidOperation(m)
        | PolarsError::SchemaMismatch(m)
        | PolarsError::SchemaFieldNotFound(m)
        | PolarsError::SQLInterface(m)
        | PolarsError::SQLSyntax(m) => m.to_string(),
        PolarsError::Context { error, .. } => return tidy(error),
        other => other.to_string(),
    };
    let first = msg.lines().next().unwrap_or("").trim();
    first.trim_end_matches([':', ' ']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expression gives on a category column (an `Enum` whose level
    /// order is not the text's) what it gives on the same values as text:
    /// equality, order, `IN`, `LIKE`, `COALESCE` with a text that is not a
    /// level, `CASE`, text functions, and a comparison of two categories.
    #[test]
    fn a_category_is_read_as_its_text() {
        let levels: Vec<String> = ["z", "b", "a", "b2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let dtype = crate::schema::category_dtype(&levels).unwrap();
        let values = [Some("a"), Some("z"), None, Some("b"), Some("b2"), Some("a")];
        let others = [Some("z"), Some("z"), Some("a"), None, Some("b"), Some("b2")];
        let text = df!("x" => values, "y" => others, "n" => [1i64, 2, 3, 4, 5, 6]).unwrap();
        let mut codes = text.clone();
        for c in ["x", "y"] {
            let cast = codes.column(c).unwrap().cast(&dtype).unwrap();
            codes.with_column(cast).unwrap();
        }
        assert!(codes.column("x").unwrap().dtype().is_enum());
        for sql in [
            "x = 'b'",
            "x <> 'a'",
            "x < 'b'",
            "x >= 'b'",
            "x IN ('a', 'b2')",
            "x NOT IN ('z')",
            "x LIKE 'b%'",
            "x IS NULL",
            "COALESCE(x, 'none')",
            "CASE WHEN x = 'a' THEN 'first' ELSE x END",
            "UPPER(x)",
            "LENGTH(x)",
            "x = y",
            "x < y",
            "x || '-' || y",
            "n > 2 AND x > 'a'",
        ] {
            let e = compile(sql).unwrap();
            let expected = text
                .clone()
                .lazy()
                .select([e.clone().alias("v")])
                .collect()
                .unwrap();
            let on_codes = codes
                .clone()
                .lazy()
                .select([on_text(e.clone(), codes.schema()).alias("v")])
                .collect()
                .unwrap();
            assert_eq!(on_codes, expected, "{sql}");
            assert_eq!(
                output_type(&e, &codes).unwrap(),
                output_type(&e, &text).unwrap(),
                "{sql}"
            );
        }
        // Without the rewrite, polars compares an Enum by level order:
        // the case the rewrite exists for.
        let e = compile("x < 'b'").unwrap();
        let raw = codes.clone().lazy().select([e.alias("v")]).collect();
        let text_result = text
            .clone()
            .lazy()
            .select([compile("x < 'b'").unwrap().alias("v")])
            .collect()
            .unwrap();
        assert!(raw.map_or(true, |r| r != text_result));
    }

    fn frame() -> DataFrame {
        DataFrame::empty_with_schema(&Schema::from_iter([
            Field::new("a".into(), DataType::Int64),
            Field::new("d".into(), DataType::Date),
        ]))
    }

    #[test]
    fn condition_on_known_columns_compiles() {
        let (_, t) = compile_checked("a > 1 AND d IS NOT NULL", &frame(), true).unwrap();
        assert_eq!(t, DataType::Boolean);
    }

    #[test]
    fn unknown_column_is_named() {
        let err = compile_checked("b > 1", &frame(), true).unwrap_err();
        assert!(
            err.contains("\"b\"") || err.contains("'b'") || err.contains(" b"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_column_suggests_the_closest() {
        let frame = DataFrame::empty_with_schema(&Schema::from_iter([
            Field::new("im_line".into(), DataType::Int64),
            Field::new("im_start".into(), DataType::Date),
        ]));
        let err = compile_checked("im_lin = 1", &frame, true).unwrap_err();
        assert_eq!(err, "unknown column 'im_lin'; did you mean 'im_line'?");
        let err = compile_checked("weight > 1", &frame, true).unwrap_err();
        assert_eq!(err, "unknown column 'weight'");
    }

    #[test]
    fn syntax_error_is_reported() {
        assert!(compile("a >").is_err());
        assert!(compile("   ").is_err());
    }

    #[test]
    fn comparing_a_number_with_a_string_is_a_type_error() {
        let err = compile_checked("a = 'first'", &frame(), true).unwrap_err();
        assert!(err.contains("string") || err.contains("str"), "{err}");
    }

    #[test]
    fn a_date_compared_with_text_is_refused_with_the_date_syntax() {
        let err = compile_checked("d > '2020-01-01'", &frame(), true).unwrap_err();
        assert!(err.contains("DATE '2020-01-01'"), "{err}");
        assert!(compile_checked("d > DATE '2020-01-01'", &frame(), true).is_ok());
    }

    #[test]
    fn the_type_is_the_evaluated_one() {
        let (_, t) = compile_checked("a / 2.0", &frame(), false).unwrap();
        assert_eq!(t, DataType::Float64);
        let (_, t) = compile_checked("d", &frame(), false).unwrap();
        assert_eq!(t, DataType::Date);
    }

    #[test]
    fn a_frame_with_rows_is_checked_without_its_rows() {
        let mut f = frame();
        f.vstack_mut(
            &df!("a" => [1i64], "d" => [0i32])
                .unwrap()
                .lazy()
                .select([col("a"), col("d").cast(DataType::Date)])
                .collect()
                .unwrap(),
        )
        .unwrap();
        let (_, t) = compile_checked("a > 0", &f, true).unwrap();
        assert_eq!(t, DataType::Boolean);
    }

    #[test]
    fn non_condition_is_refused_where_a_condition_is_needed() {
        let err = compile_checked("a + 1", &frame(), true).unwrap_err();
        assert!(err.contains("not a true/false condition"), "{err}");
    }
}

//! Static checks of a source against the schema, before any data is read.

use crate::cell::canonical_value;
use crate::config::{ColumnMapping, Format, Source};
use crate::dates::DateFormat;
use crate::text::{closest, quoted, unit_name};
use cohortflow_core::ConfigProblem;
use cohortflow_core::schema::{ColumnDef, ColumnType, Schema};

/// Everything wrong with `source` that can be seen without reading the data
/// file (plus whether that file exists). Each problem names its key
/// (`source.columns.sex.values`) and, where the configuration keeps one, the
/// byte span in the source file.
pub fn validate(source: &Source, schema: &Schema) -> Vec<ConfigProblem> {
    let cfg = &source.config;
    let file = source.file.display().to_string();
    let mut out = Vec::new();

    if cfg.name.trim().is_empty() {
        out.push(ConfigProblem::new(
            "source.name",
            None,
            "the source name is empty",
            "a short name such as \"center_a\"",
        ));
    }

    // The data file (a database source has none: `postgres` below).
    let path_span = Some(cfg.path.span());
    let data = source.data_path();
    if cfg.format == Format::Postgres {
        postgres(source, &mut out);
    } else if let Some(pg) = &cfg.postgres {
        out.push(ConfigProblem::new(
            "source.postgres",
            Some(pg.span()),
            format!(
                "[source.postgres] is only for postgres sources, and this one is {}",
                cfg.format.name()
            ),
            "remove [source.postgres], or set format = \"postgres\"",
        ));
    }
    let file_source = cfg.format != Format::Postgres;
    if file_source && cfg.path.get_ref().trim().is_empty() {
        out.push(ConfigProblem::new(
            "source.path",
            path_span.clone(),
            "the data file path is empty",
            "the path of the export, relative to the source file",
        ));
    } else if file_source && !data.is_file() {
        out.push(ConfigProblem::new(
            "source.path",
            path_span,
            format!("data file not found: {}", data.display()),
            format!(
                "a path relative to the directory of {file} (it resolves to {})",
                data.display()
            ),
        ));
    }

    if cfg.sheet.is_some() && cfg.format != Format::Xlsx {
        out.push(ConfigProblem::new(
            "source.sheet",
            None,
            format!(
                "`sheet` is only for xlsx sources, and this one is {}",
                cfg.format.name()
            ),
            "remove `sheet`, or set format = \"xlsx\"",
        ));
    }

    // The dialect.
    let d = &cfg.csv;
    for (key, c) in [("separator", d.separator), ("quote", d.quote)] {
        if !c.is_ascii() || c == '\n' || c == '\r' {
            out.push(ConfigProblem::new(
                format!("source.csv.{key}"),
                None,
                format!("the {key} {c:?} is not a single ASCII character"),
                "one ASCII character, e.g. \",\", \";\", \"\\t\" or \"|\"",
            ));
        }
    }
    if d.separator == d.quote {
        out.push(ConfigProblem::new(
            "source.csv.quote",
            None,
            format!("the quote and the separator are both {:?}", d.separator),
            "two different characters",
        ));
    }
    if d.header_row == 0 {
        out.push(ConfigProblem::new(
            "source.csv.header_row",
            None,
            "header_row is 0, but lines and rows are counted from 1",
            "the 1-based line (CSV) or sheet row (XLSX) of the header",
        ));
    }
    if !cfg.format.is_csv() {
        let default = crate::config::CsvDialect::default();
        for (key, set) in [
            ("separator", d.separator != default.separator),
            ("quote", d.quote != default.quote),
            ("encoding", d.encoding != default.encoding),
            (
                "multiline_fields",
                d.multiline_fields != default.multiline_fields,
            ),
        ] {
            if set {
                out.push(ConfigProblem::new(
                    format!("source.csv.{key}"),
                    None,
                    format!(
                        "`{key}` is only for csv sources, and this one is {}",
                        cfg.format.name()
                    ),
                    format!("remove `{key}` from [source.csv]"),
                ));
            }
        }
    }
    if (matches!(cfg.format, Format::Parquet | Format::Postgres) || cfg.format.is_statistical())
        && d.header_row != 1
    {
        out.push(ConfigProblem::new(
            "source.csv.header_row",
            None,
            format!(
                "header_row has no meaning for a {} source",
                cfg.format.name()
            ),
            "remove header_row",
        ));
    }
    if cfg.value_labels != crate::config::ValueLabels::default() && !cfg.format.is_statistical() {
        out.push(ConfigProblem::new(
            "source.value_labels",
            None,
            format!(
                "`value_labels` is only for spss, stata and sas sources, and this one is {}",
                cfg.format.name()
            ),
            "remove `value_labels`",
        ));
    }
    match (&cfg.redcap, cfg.format) {
        (None, Format::Redcap) => out.push(ConfigProblem::new(
            "source.redcap",
            None,
            "a redcap source needs its data dictionary",
            format!(
                "add [source.redcap] with dictionary = \"<the data dictionary CSV, relative to \
                 the directory of {file}>\""
            ),
        )),
        (Some(r), Format::Redcap) => {
            let dict = source.dictionary_path().unwrap_or_default();
            if !dict.is_file() {
                out.push(ConfigProblem::new(
                    "source.redcap.dictionary",
                    Some(r.dictionary.span()),
                    format!("data dictionary not found: {}", dict.display()),
                    format!(
                        "a path relative to the directory of {file} (it resolves to {})",
                        dict.display()
                    ),
                ));
            }
        }
        (Some(_), other) => out.push(ConfigProblem::new(
            "source.redcap",
            None,
            format!(
                "[source.redcap] is only for redcap sources, and this one is {}",
                other.name()
            ),
            "remove [source.redcap], or set format = \"redcap\"",
        )),
        (None, _) => {}
    }

    for (i, f) in cfg.date_formats.iter().enumerate() {
        if let Err(e) = DateFormat::compile(f) {
            out.push(ConfigProblem::new(
                format!("source.date_formats[{i}]"),
                None,
                e,
                date_format_help(),
            ));
        }
    }

    // Mapped columns that may hold a quoted line break: mapped, and text.
    if let crate::config::MultilineFields::Columns(list) = &d.multiline_fields {
        for name in list {
            let problem = match (cfg.columns.contains_key(name), schema.column(name)) {
                (false, _) => Some(format!(
                    "'{name}' is not a column of [source.columns]{}",
                    cohortflow_core::problem::did_you_mean(
                        name,
                        cfg.columns.keys().map(String::as_str)
                    )
                )),
                (true, Some(def)) if def.kind != cohortflow_core::schema::ColumnType::String => {
                    Some(format!(
                        "'{name}' is not a text (string) column: a line break in it is never data"
                    ))
                }
                _ => None,
            };
            if let Some(message) = problem {
                out.push(ConfigProblem::new(
                    "source.csv.multiline_fields",
                    None,
                    message,
                    "the mapped string columns whose values hold line breaks (a comment, an \
                     address); unmapped columns always may, with `true` only they may",
                ));
            }
        }
    }

    // Columns.
    for (name, mapping) in &cfg.columns {
        let span = Some(mapping.span());
        let key = format!("source.columns.{name}");
        let Some(def) = schema.column(name) else {
            let expected = match closest(name, schema.columns.iter().map(|c| c.name.as_str())) {
                Some(s) => format!("did you mean '{s}'? columns: {}", column_list(schema)),
                None => format!("one of the schema's columns: {}", column_list(schema)),
            };
            out.push(ConfigProblem::new(
                key,
                span,
                format!("'{name}' is not a column of schema '{}'", schema.name),
                expected,
            ));
            continue;
        };
        check_mapping(&key, span, def, mapping.get_ref(), &mut out);
    }

    let unique = cfg.unique.get_ref();
    for (i, name) in unique.iter().enumerate() {
        if !cfg.columns.contains_key(name) {
            let mapped: Vec<&str> = cfg.columns.keys().map(String::as_str).collect();
            out.push(ConfigProblem::new(
                "source.unique",
                Some(cfg.unique.span()),
                format!("'{name}' is not a column mapped by this source"),
                format!(
                    "canonical columns of [source.columns]: {}",
                    mapped.join(", ")
                ),
            ));
        } else if unique[..i].contains(name) {
            out.push(ConfigProblem::new(
                "source.unique",
                Some(cfg.unique.span()),
                format!("'{name}' is listed twice"),
                "each column once",
            ));
        }
    }

    for def in schema.columns.iter().filter(|c| c.required) {
        if !cfg.columns.contains_key(&def.name) {
            out.push(ConfigProblem::new(
                "source.columns",
                None,
                format!("required column '{}' is not mapped", def.name),
                format!(
                    "add {} = \"<its header in the export>\" to [source.columns] in {file}",
                    def.name
                ),
            ));
        }
    }
    out
}

fn check_mapping(
    key: &str,
    span: Option<std::ops::Range<usize>>,
    def: &ColumnDef,
    m: &ColumnMapping,
    out: &mut Vec<ConfigProblem>,
) {
    if m.column.trim().is_empty() {
        out.push(ConfigProblem::new(
            format!("{key}.column"),
            span.clone(),
            "the header name is empty",
            "the column's header as written in the export",
        ));
    }
    if let Some(values) = &m.values {
        for (code, target) in values {
            if let Err(e) = canonical_value(def, target) {
                out.push(ConfigProblem::new(
                    format!("{key}.values"),
                    span.clone(),
                    format!("code \"{code}\" maps to \"{target}\", {e}"),
                    expected_value(def),
                ));
            }
        }
    }
    if let Some(unit) = m.unit {
        let numeric = matches!(def.kind, ColumnType::Integer | ColumnType::Float);
        match def.unit {
            _ if !numeric => out.push(ConfigProblem::new(
                format!("{key}.unit"),
                span.clone(),
                format!(
                    "a unit is only for numeric columns, and '{}' is {}",
                    def.name,
                    def.kind.name()
                ),
                "remove `unit`",
            )),
            None => out.push(ConfigProblem::new(
                format!("{key}.unit"),
                span.clone(),
                format!(
                    "schema column '{}' declares no unit to convert {unit:?} into",
                    def.name
                ),
                "remove `unit`, or declare the column's unit in the schema",
            )),
            Some(to) if unit.factor_to(to).is_none() => out.push(ConfigProblem::new(
                format!("{key}.unit"),
                span.clone(),
                format!(
                    "unit {} does not measure the same thing as {}'s unit {}",
                    unit_name(unit),
                    def.name,
                    unit_name(to)
                ),
                format!("a unit of the same dimension as {}", unit_name(to)),
            )),
            Some(_) => {}
        }
    }
    if !m.date_formats.is_empty() && def.kind != ColumnType::Date {
        out.push(ConfigProblem::new(
            format!("{key}.date_formats"),
            span.clone(),
            format!(
                "date formats on '{}', which is {}, not a date",
                def.name,
                def.kind.name()
            ),
            "remove `date_formats`",
        ));
    }
    for (i, f) in m.date_formats.iter().enumerate() {
        if let Err(e) = DateFormat::compile(f) {
            out.push(ConfigProblem::new(
                format!("{key}.date_formats[{i}]"),
                span.clone(),
                e,
                date_format_help(),
            ));
        }
    }
}

fn date_format_help() -> String {
    "a chrono strftime format with a year, a month and a day (\"%d.%m.%Y\", \"%Y-%m-%d\"), \
     or \"excel-serial\""
        .to_string()
}
fn expected_value(def: &ColumnDef) -> String {
    match def.kind {
        ColumnType::Category => format!(
            "one of the levels of '{}': {}",
            def.name,
            quoted(&def.levels)
        ),
        ColumnType::Boolean => "\"true\" or \"false\"".into(),
        ColumnType::Integer => "an integer such as \"3\"".into(),
        ColumnType::Float => "a number with a decimal point such as \"7.5\"".into(),
        ColumnType::Date => "an ISO date such as \"2020-01-31\"".into(),
        ColumnType::String => "any text".into(),
    }
}

fn column_list(schema: &Schema) -> String {
    schema
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[source.postgres]`: a table or a query, the order, a named connection,
/// and no password anywhere in the source file.
fn postgres(source: &Source, out: &mut Vec<ConfigProblem>) {
    let cfg = &source.config;
    let file = source.file.display().to_string();
    if !cfg.path.get_ref().is_empty() {
        out.push(ConfigProblem::new(
            "source.path",
            Some(cfg.path.span()),
            "a postgres source has no data file, so `path` has no meaning",
            "remove `path`; [source.postgres] names the table or query",
        ));
    }
    let Some(pg) = &cfg.postgres else {
        out.push(ConfigProblem::new(
            "source.postgres",
            None,
            "format = \"postgres\" needs a [source.postgres] table",
            format!(
                "add [source.postgres] with table = \"schema.table\" (or query = \"select ...\"), \
                 order_by = [\"id\"] and connection_env = \"NAME\" (or service = \"NAME\") to \
                 {file}"
            ),
        ));
        return;
    };
    let span = Some(pg.span());
    let pg = pg.get_ref();
    let problem = |key: &str, message: String, fix: String| {
        ConfigProblem::new(format!("source.postgres.{key}"), span.clone(), message, fix)
    };
    let secret_fix = "remove it from the source file: put the connection string, with its \
                      password, in an environment variable named by connection_env = \"NAME\", or \
                      in a service of ~/.pg_service.conf named by service = \"NAME\" (the \
                      source file is shared and kept with the study; a password must not be)";
    if pg.password.is_some() {
        out.push(problem(
            "password",
            "the source file holds a password".into(),
            secret_fix.into(),
        ));
    }
    let strings = [
        ("table", pg.table.as_deref()),
        ("query", pg.query.as_deref()),
        ("connection_env", pg.connection_env.as_deref()),
        ("service", pg.service.as_deref()),
    ];
    for (key, value) in strings {
        if value.is_some_and(holds_password) {
            out.push(problem(
                key,
                format!("`{key}` holds a password (a connection string with one)"),
                secret_fix.into(),
            ));
        } else if matches!(key, "connection_env" | "service")
            && value.is_some_and(|v| v.contains('=') || v.contains("://") || v.contains(' '))
        {
            out.push(problem(
                key,
                format!("`{key}` looks like a connection string, but it is a name"),
                format!(
                    "set {key} to the name of the {} that holds the connection string, not to \
                     the string itself",
                    if key == "service" {
                        "service in ~/.pg_service.conf"
                    } else {
                        "environment variable"
                    }
                ),
            ));
        }
    }
    match (&pg.table, &pg.query) {
        (Some(_), Some(_)) => out.push(problem(
            "query",
            "both table and query are set".into(),
            "keep one: table = \"schema.table\" reads every column of the table, query = \
             \"select ...\" reads its result columns"
                .into(),
        )),
        (None, None) => out.push(problem(
            "table",
            "neither table nor query is set".into(),
            "set table = \"schema.table\" or query = \"select ...\"".into(),
        )),
        (Some(t), None) if crate::config::table_name(t).is_none() => out.push(problem(
            "table",
            format!("\"{t}\" is not a table name"),
            "\"schema.table\" or \"table\", as the database spells it".into(),
        )),
        (None, Some(q)) if q.trim().is_empty() => out.push(problem(
            "query",
            "the query is empty".into(),
            "a select whose result columns are the export's columns".into(),
        )),
        _ => {}
    }
    if pg.order_by.is_empty() {
        out.push(problem(
            "order_by",
            "order_by is not set: a table has no order of its own, so without one a row has no \
             stable line (rejects, errors and source_row name rows by their position, which \
             would change from one run to the next)"
                .into(),
            "order_by = [\"<column>\", ...]: result columns that identify a row, such as the \
             table's primary key; a row's line is then its 1-based position in that order"
                .into(),
        ));
    }
    for (i, name) in pg.order_by.iter().enumerate() {
        if name.trim().is_empty() {
            out.push(problem(
                "order_by",
                format!("order_by[{i}] is empty"),
                "result column names".into(),
            ));
        } else if pg.order_by[..i].contains(name) {
            out.push(problem(
                "order_by",
                format!("\"{name}\" is listed twice"),
                "each column once".into(),
            ));
        }
    }
    match (&pg.connection_env, &pg.service) {
        (Some(_), Some(_)) => out.push(problem(
            "service",
            "both connection_env and service are set".into(),
            "keep one".into(),
        )),
        (None, None) => out.push(problem(
            "connection_env",
            "no connection: neither connection_env nor service is set".into(),
            "connection_env = \"NAME\" (an environment variable holding a libpq connection \
             string or URL) or service = \"NAME\" (a service of ~/.pg_service.conf or \
             PGSERVICEFILE)"
                .into(),
        )),
        _ => {}
    }
}

/// A libpq connection string or URL with a password: `password=...` (any
/// case, blanks around `=`), or `scheme://user:secret@host`.
fn holds_password(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let keyword = lower
        .match_indices("password")
        .any(|(i, _)| lower[i + "password".len()..].trim_start().starts_with('='));
    let url = lower.match_indices("://").any(|(i, _)| {
        let rest = &lower[i + 3..];
        let authority = rest.split(['/', '?', ' ']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    });
    keyword || url
}

#[cfg(test)]
mod tests {
    use super::holds_password;

    #[test]
    fn passwords_in_connection_strings_are_found() {
        assert!(holds_password("host=x password=secret"));
        assert!(holds_password("host=x PASSWORD = 'a b'"));
        assert!(holds_password("postgresql://me:secret@db:5432/reg"));
        assert!(holds_password("select * from dblink('password=x', 'q')"));
        assert!(!holds_password("postgresql://me@db:5432/reg"));
        assert!(!holds_password("host=x user=me"));
        assert!(!holds_password("MGIST_PG"));
        assert!(!holds_password("select password_changed from t"));
    }
}

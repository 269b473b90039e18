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

    // The data file.
    let path_span = Some(cfg.path.span());
    let data = source.data_path();
    if cfg.path.get_ref().trim().is_empty() {
        out.push(ConfigProblem::new(
            "source.path",
            path_span.clone(),
            "the data file path is empty",
            "the path of the export, relative to the source file",
        ));
    } else if !data.is_file() {
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
    if (cfg.format == Format::Parquet || cfg.format.is_statistical()) && d.header_row != 1 {
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

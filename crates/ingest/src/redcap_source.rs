//! REDCap: a CSV export (raw codes or labels, with raw variable names as
//! headers) read with its data dictionary.
//!
//! The export is CSV, and it is read by the CSV reader of this crate
//! (`csv_source`) as it stands, so that line accounting, rejects and
//! messages are those of any CSV source. What REDCap adds is done before,
//! on the source's description, from the data dictionary
//! (`[source.redcap] dictionary`):
//!
//! - radio, dropdown, yesno and truefalse fields: their choices
//!   (`1, Male | 2, Female`) become the column's value map. The source's
//!   `values` map the choice **labels** (`"Male" = "M"`), or codes; each
//!   is extended to the other, so one source file reads a raw export
//!   (codes) and a labels export alike. Without `values`, a category column
//!   takes the choices whose label (or code) is one of its levels.
//! - checkbox fields: the export has one column per choice, `field___code`
//!   (`0`/`1` raw, `Unchecked`/`Checked` with labels); each maps onto a
//!   boolean column (`mets_liver = "mets___1"`).
//! - date and datetime fields (`date_ymd`, `date_dmy`, `date_mdy`,
//!   `datetime_*`, `datetime_seconds_*`): the export's formats (REDCap
//!   writes `YYYY-MM-DD`, or the field's order when the export was asked
//!   for it) unless the column declares `date_formats`.
//! - repeating instruments (`redcap_repeat_instrument`): refused, naming the
//!   instrument and the first line, with the fix: one row per record is what
//!   a study table is, so export the repeating instrument's instance to use
//!   as a report of its own, or leave the instrument out of the export.

use crate::config::{ColumnMapping, Source};
use crate::converter::Converter;
use crate::decode::decode;
use crate::error::IngestError;
use cohortflow_core::schema::{ColumnType, Schema};
use std::collections::{BTreeMap, HashMap};

/// One field of the data dictionary.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    form: String,
    kind: String,
    label: String,
    /// (code, label) in the dictionary's order.
    choices: Vec<(String, String)>,
    validation: String,
    /// Line of the dictionary.
    line: u64,
}

pub(crate) fn ingest(
    source: &Source,
    schema: &Schema,
    show_values: bool,
) -> Result<crate::SourceRead, IngestError> {
    let path = source.data_path();
    let raw = std::fs::read(&path).map_err(|e| {
        IngestError::new(
            &path,
            format!("cannot read the data file: {e}"),
            "check `path` in the source file and the file's permissions",
        )
    })?;
    ingest_with(source, schema, show_values, &raw)
}

pub(crate) fn ingest_bytes(
    source: &Source,
    schema: &Schema,
    bytes: &[u8],
) -> Result<crate::SourceRead, IngestError> {
    ingest_with(source, schema, false, bytes)
}

fn ingest_with(
    source: &Source,
    schema: &Schema,
    show_values: bool,
    raw: &[u8],
) -> Result<crate::SourceRead, IngestError> {
    let fields = read_dictionary(source)?;
    check_export(source, &fields, raw)?;
    let rewritten = with_dictionary(source, schema, &fields)?;
    let mut conv = Converter::new(&rewritten, schema, show_values);
    crate::csv_source::read_bytes(&rewritten, &mut conv, raw, None, &|_| ())?;
    Ok(conv.finish())
}

fn dict_error(
    path: &std::path::Path,
    line: Option<u64>,
    message: String,
    fix: &str,
) -> IngestError {
    let mut e = IngestError::new(path, message, fix);
    e.line = line;
    e
}

/// Reads the data dictionary (REDCap's "Data Dictionary" CSV download or
/// the API's metadata export: the same columns, in the same order).
fn read_dictionary(source: &Source) -> Result<Vec<Field>, IngestError> {
    let Some(path) = source.dictionary_path() else {
        return Err(IngestError::new(
            &source.file,
            "a redcap source needs its data dictionary",
            "add [source.redcap] dictionary = \"<the data dictionary CSV>\"",
        ));
    };
    let fix = "download the data dictionary again from REDCap (Project Setup > Data Dictionary) \
               as CSV";
    let raw = std::fs::read(&path).map_err(|e| {
        dict_error(
            &path,
            None,
            format!("cannot read the data dictionary: {e}"),
            "check [source.redcap] dictionary in the source file",
        )
    })?;
    let text = decode(
        &raw,
        crate::config::Encoding::Utf8,
        &source.file.display().to_string(),
    )
    .map_err(|(line, message, f)| dict_error(&path, line, message, &f))?
    .text;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| dict_error(&path, Some(1), format!("not a CSV file: {e}"), fix))?
        .clone();
    let first = header.get(0).unwrap_or("").to_ascii_lowercase();
    if header.len() < 8 || !(first.contains("field") || first.contains("variable")) {
        return Err(dict_error(
            &path,
            Some(1),
            "this is not a REDCap data dictionary: its first line does not start with the \
             columns Variable / Field Name, Form Name, Section Header, Field Type, Field Label, \
             Choices, Field Note, Text Validation Type"
                .into(),
            fix,
        ));
    }
    let mut fields = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| dict_error(&path, None, format!("not a CSV file: {e}"), fix))?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let name = get(0);
        if name.is_empty() {
            continue;
        }
        let kind = get(3).to_ascii_lowercase();
        let choices = match kind.as_str() {
            "radio" | "dropdown" | "checkbox" => parse_choices(&get(5)).map_err(|m| {
                dict_error(
                    &path,
                    Some(line),
                    format!("the choices of field \"{name}\" cannot be read: {m}"),
                    "write the choices as \"1, Label | 2, Other label\" in the dictionary",
                )
            })?,
            "yesno" => vec![("1".into(), "Yes".into()), ("0".into(), "No".into())],
            "truefalse" => vec![("1".into(), "True".into()), ("0".into(), "False".into())],
            _ => Vec::new(),
        };
        fields.push(Field {
            name,
            form: get(1),
            kind,
            label: get(4),
            choices,
            validation: get(7).to_ascii_lowercase(),
            line,
        });
    }
    if fields.is_empty() {
        return Err(dict_error(
            &path,
            None,
            "the data dictionary has no fields".into(),
            fix,
        ));
    }
    Ok(fields)
}

/// `1, Male | 2, Female` (REDCap also writes `\n` between choices in old
/// dictionaries).
fn parse_choices(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in text.split(['|', '\n']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (code, label) = part
            .split_once(',')
            .ok_or_else(|| format!("choice \"{part}\" has no comma between code and label"))?;
        let (code, label) = (code.trim().to_string(), label.trim().to_string());
        if out.iter().any(|(c, _)| *c == code) {
            return Err(format!("code \"{code}\" is listed twice"));
        }
        out.push((code, label));
    }
    if out.is_empty() {
        return Err("the field has no choices".into());
    }
    Ok(out)
}

/// The export column of a checkbox choice: `field___code`, the code in
/// lower case with `-` written `_` (as REDCap names them).
fn checkbox_column(field: &str, code: &str) -> String {
    format!("{field}___{}", code.to_lowercase().replace('-', "_"))
}

/// Columns REDCap adds that are not fields of the dictionary.
fn system_column(name: &str) -> bool {
    name.starts_with("redcap_") || name.ends_with("_complete") || name.ends_with("_timestamp")
}

/// Looks at the export's header and at its `redcap_repeat_instrument`
/// column, before any row is converted: a labels-header export and
/// repeating instruments are refused here.
fn check_export(source: &Source, fields: &[Field], raw: &[u8]) -> Result<(), IngestError> {
    let cfg = &source.config;
    let path = source.data_path();
    let toml = source.file.display().to_string();
    // A decoding problem is reported by the CSV reader itself, with its line.
    let Ok(decoded) = decode(raw, cfg.csv.encoding, &toml) else {
        return Ok(());
    };
    let skip = cfg.csv.header_row.saturating_sub(1);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(cfg.csv.separator as u8)
        .quote(cfg.csv.quote as u8)
        .from_reader(decoded.text.as_bytes());
    let mut records = reader.records().skip(skip);
    let Some(Ok(header)) = records.next() else {
        return Ok(());
    };
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let known = |h: &str| {
        fields.iter().any(|f| {
            f.name == h
                || (f.kind == "checkbox"
                    && f.choices
                        .iter()
                        .any(|(c, _)| checkbox_column(&f.name, c) == h))
        }) || system_column(h)
    };
    if !headers.iter().any(|h| known(h)) {
        let labels = headers
            .iter()
            .any(|h| fields.iter().any(|f| !f.label.is_empty() && f.label == *h));
        return Err(IngestError::new(
            &path,
            if labels {
                "the export's headers are the fields' labels, not their variable names"
            } else {
                "none of the export's headers is a field of the data dictionary"
            },
            "export the data with raw variable names as headers (REDCap: \"CSV / Microsoft \
             Excel (raw data)\", or labels with \"raw variable names\" as headers; API: \
             rawOrLabelHeaders=raw), and check [source.redcap] dictionary",
        )
        .at(cfg.csv.header_row as u64));
    }
    let Some(col) = headers.iter().position(|h| h == "redcap_repeat_instrument") else {
        return Ok(());
    };
    let mut repeating: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for record in records {
        let Ok(record) = record else { break };
        let instrument = record.get(col).unwrap_or("").trim();
        if instrument.is_empty() {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line()) + skip as u64;
        let entry = repeating.entry(instrument.to_string()).or_insert((line, 0));
        entry.1 += 1;
    }
    if let Some((instrument, (line, n))) = repeating.iter().next() {
        let all: Vec<String> = repeating.keys().map(|k| format!("\"{k}\"")).collect();
        let mapped: Vec<&str> = cfg
            .columns
            .iter()
            .filter(|(_, m)| {
                fields.iter().any(|f| {
                    f.form == *instrument
                        && (f.name == m.get_ref().column.trim()
                            || m.get_ref()
                                .column
                                .trim()
                                .starts_with(&format!("{}___", f.name)))
                })
            })
            .map(|(k, _)| k.as_str())
            .collect();
        let used = if mapped.is_empty() {
            String::new()
        } else {
            format!(" (this source maps its fields to {})", mapped.join(", "))
        };
        return Err(IngestError::new(
            &path,
            format!(
                "the export holds repeating instruments ({}): instrument \"{instrument}\" has \
                 {n} repeated rows, the first on line {line}{used}; a study table has one row \
                 per record, and cohortflow does not choose an instance for you",
                all.join(", ")
            ),
            format!(
                "export without the repeating instrument \"{instrument}\" (a report of the \
                 non-repeating instruments), and, if the study needs it, export the one \
                 instance per record it needs (e.g. the first or the last, a REDCap report \
                 filtered on redcap_repeat_instance) as a source of its own"
            ),
        )
        .at(*line)
        .column("redcap_repeat_instrument"));
    }
    Ok(())
}

/// The source as the CSV reader should read it: value maps, checkbox
/// booleans and date formats taken from the dictionary.
fn with_dictionary(
    source: &Source,
    schema: &Schema,
    fields: &[Field],
) -> Result<Source, IngestError> {
    let mut out = source.clone();
    let dict = source.dictionary_path().unwrap_or_default();
    let toml = source.file.display().to_string();
    let by_name: HashMap<&str, &Field> = fields.iter().map(|f| (f.name.as_str(), f)).collect();
    for (canonical, mapping) in out.config.columns.iter_mut() {
        let Some(def) = schema.column(canonical) else {
            continue;
        };
        let m: &mut ColumnMapping = mapping.get_mut();
        let column = m.column.trim().to_string();
        if let Some(field) = by_name.get(column.as_str()) {
            if field.kind == "checkbox" {
                let columns: Vec<String> = field
                    .choices
                    .iter()
                    .map(|(c, l)| format!("{} ({l})", checkbox_column(&field.name, c)))
                    .collect();
                return Err(dict_error(
                    &dict,
                    Some(field.line),
                    format!(
                        "'{canonical}' is mapped to \"{column}\", a checkbox field: its export has \
                         one column per choice: {}",
                        columns.join(", ")
                    ),
                    &format!(
                        "map each choice column onto a boolean column of the schema \
                         ({canonical} = \"{}\") in {toml}",
                        columns
                            .first()
                            .map(|c| c.split(' ').next().unwrap_or(""))
                            .unwrap_or("")
                    ),
                ));
            }
            if !field.choices.is_empty() {
                // A missing code written as a choice's label is that
                // choice's code in a raw export (and the other way round).
                let mut extra = Vec::new();
                for miss in cfg_missing(&source.config.missing, &m.missing) {
                    for (code, label) in &field.choices {
                        if miss == *label {
                            extra.push(code.clone());
                        } else if miss == *code {
                            extra.push(label.clone());
                        }
                    }
                }
                m.missing.extend(extra);
                let missing: Vec<String> = cfg_missing(&source.config.missing, &m.missing);
                let mut values = choice_values(&dict, &toml, canonical, def, field, m, &missing)?;
                values.retain(|k, _| !missing.contains(k));
                m.values = Some(values);
            }
            if def.kind == ColumnType::Date && m.date_formats.is_empty() {
                m.date_formats = date_formats(&field.validation);
            }
            continue;
        }
        let checkbox = fields.iter().find(|f| {
            f.kind == "checkbox"
                && f.choices
                    .iter()
                    .any(|(c, _)| checkbox_column(&f.name, c) == column)
        });
        if let Some(_field) = checkbox {
            if def.kind == ColumnType::Boolean && m.values.is_none() {
                m.values = Some(
                    [
                        ("0", "false"),
                        ("1", "true"),
                        ("Unchecked", "false"),
                        ("Checked", "true"),
                    ]
                    .into_iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                );
            }
            continue;
        }
        if system_column(&column) {
            continue;
        }
        return Err(IngestError::new(
            &source.file,
            format!(
                "'{canonical}' is mapped to \"{column}\", which is not a field of the data \
                 dictionary {}",
                dict.display()
            ),
            format!(
                "map the field's variable name (not its label) in [source.columns] of {toml}{}",
                crate::text::closest(&column, fields.iter().map(|f| f.name.as_str()))
                    .map(|c| format!("; did you mean \"{c}\"?"))
                    .unwrap_or_default()
            ),
        )
        .column(format!("source.columns.{canonical}")));
    }
    Ok(out)
}

/// The value map of a choice field: the source's own map (by label or by
/// code), each entry extended to the choice's other spelling; or, without
/// one, the choices whose label or code is a level of the column.
fn choice_values(
    dict: &std::path::Path,
    toml: &str,
    canonical: &str,
    def: &cohortflow_core::schema::ColumnDef,
    field: &Field,
    m: &ColumnMapping,
    missing: &[String],
) -> Result<BTreeMap<String, String>, IngestError> {
    let mut values = BTreeMap::new();
    match &m.values {
        Some(given) => {
            for (key, target) in given {
                values.insert(key.clone(), target.clone());
                for (code, label) in &field.choices {
                    if key.trim() == label {
                        values.entry(code.clone()).or_insert_with(|| target.clone());
                    } else if key.trim() == code {
                        values
                            .entry(label.clone())
                            .or_insert_with(|| target.clone());
                    }
                }
            }
        }
        None if def.kind == ColumnType::Boolean
            && (field.kind == "yesno" || field.kind == "truefalse") =>
        {
            for (code, label) in &field.choices {
                let target = if code == "1" { "true" } else { "false" };
                values.insert(code.clone(), target.to_string());
                values.insert(label.clone(), target.to_string());
            }
        }
        None => {
            let level = |s: &str| match def.kind {
                ColumnType::Category => def.levels.iter().any(|l| l == s),
                ColumnType::Boolean => s == "true" || s == "false",
                _ => true,
            };
            let mut unmapped = Vec::new();
            for (code, label) in &field.choices {
                if missing.contains(code) {
                    continue;
                }
                let target = if level(label) {
                    label
                } else if level(code) {
                    code
                } else {
                    unmapped.push(format!("{code} = {label}"));
                    continue;
                };
                values.insert(code.clone(), target.clone());
                values.insert(label.clone(), target.clone());
            }
            if !unmapped.is_empty() {
                return Err(dict_error(
                    dict,
                    Some(field.line),
                    format!(
                        "the choices {} of field \"{}\" are not values of '{canonical}' \
                         ({})",
                        unmapped.join(", "),
                        field.name,
                        if def.kind == ColumnType::Category {
                            format!("levels: {}", def.levels.join(", "))
                        } else {
                            def.kind.name().to_string()
                        }
                    ),
                    &format!(
                        "map them: {canonical} = {{ column = \"{}\", values = {{ \"<choice \
                         label>\" = \"<level>\", ... }} }} in {toml}",
                        field.name
                    ),
                ));
            }
        }
    }
    // A code of one choice spelt like the label of another would read two
    // ways.
    for (code, _) in &field.choices {
        if let Some((other, _)) = field.choices.iter().find(|(c, l)| l == code && c != code) {
            return Err(dict_error(
                dict,
                Some(field.line),
                format!(
                    "field \"{}\": code \"{code}\" is also the label of choice \"{other}\", so \
                     the export's value \"{code}\" reads two ways",
                    field.name
                ),
                "relabel the choices in REDCap so that no label is another choice's code",
            ));
        }
    }
    Ok(values)
}

/// The missing codes of a column: the source's and its own, trimmed.
fn cfg_missing(source: &[String], column: &[String]) -> Vec<String> {
    source
        .iter()
        .chain(column)
        .map(|s| s.trim().to_string())
        .collect()
}

/// The formats REDCap writes a date or datetime field in: `YYYY-MM-DD`
/// always (raw exports, the API), and the field's own order when the export
/// was asked for it (`DD-MM-YYYY`, `MM/DD/YYYY`...).
fn date_formats(validation: &str) -> Vec<String> {
    let (time, order) = if let Some(o) = validation.strip_prefix("datetime_seconds_") {
        (" %H:%M:%S", o)
    } else if let Some(o) = validation.strip_prefix("datetime_") {
        (" %H:%M", o)
    } else if let Some(o) = validation.strip_prefix("date_") {
        ("", o)
    } else {
        ("", "ymd")
    };
    let days: &[&str] = match order {
        "dmy" => &["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"],
        "mdy" => &["%Y-%m-%d", "%m-%d-%Y", "%m/%d/%Y"],
        _ => &["%Y-%m-%d"],
    };
    days.iter().map(|d| format!("{d}{time}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices() {
        assert_eq!(
            parse_choices("1, Male | 2, Female").unwrap(),
            vec![("1".into(), "Male".into()), ("2".into(), "Female".into())]
        );
        assert_eq!(
            parse_choices("0, Нет, не было | 1, Да").unwrap()[0].1,
            "Нет, не было"
        );
        assert!(parse_choices("1 Male").is_err());
        assert!(parse_choices("1, a | 1, b").is_err());
        assert!(parse_choices("").is_err());
    }

    #[test]
    fn checkbox_columns() {
        assert_eq!(checkbox_column("mets", "1"), "mets___1");
        assert_eq!(checkbox_column("mets", "Liver"), "mets___liver");
        assert_eq!(checkbox_column("x", "-1"), "x____1");
    }

    #[test]
    fn redcap_date_formats() {
        assert_eq!(date_formats("date_ymd"), vec!["%Y-%m-%d"]);
        assert_eq!(date_formats("date_dmy")[1], "%d-%m-%Y");
        assert_eq!(date_formats("datetime_mdy")[2], "%m/%d/%Y %H:%M");
        assert_eq!(
            date_formats("datetime_seconds_ymd"),
            vec!["%Y-%m-%d %H:%M:%S"]
        );
    }
}

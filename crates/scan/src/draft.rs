//! The draft source file: the export's columns matched onto a schema, and
//! the TOML of a source (docs/sources.md) with a `# TODO` comment directly
//! above every key whose value the tool could not decide.
//!
//! Matching scores every (schema column, export column) pair by name (the
//! canonical tokens of `words`: every word of the schema name found in the
//! header, and the header's other words found in the schema column's
//! description), by type (a date column only takes dates, a number only
//! numbers) and, for categories, by the share of the shown values whose
//! code matches a level. Pairs are taken best first, each column once.
//! Value maps list only the codes the profile shows (seen at least five
//! times); the others are counted in a TODO, never written.

use crate::profile::{ColumnProfile, Kind};
use crate::words::{code_key, tokens, unit_in};
use crate::{FileFormat, FileProfile, MARKER};
use cohortflow_core::schema::{ColumnDef, ColumnType, Schema};
use cohortflow_ingest::Encoding;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// Below this score a pair is not a match.
const THRESHOLD: f64 = 0.45;

/// How well export column `c` fits schema column `d`'s type (0 to 1).
fn type_fit(d: &ColumnDef, c: &ColumnProfile) -> f64 {
    let base = c.base;
    match (d.kind, base) {
        (_, Kind::Empty) => 0.5,
        (ColumnType::Date, Kind::Date) => 1.0,
        (ColumnType::Date, _) => 0.0,
        (_, Kind::Date) => {
            if d.kind == ColumnType::String {
                0.2
            } else {
                0.0
            }
        }
        (ColumnType::Integer, Kind::Integer) => 1.0,
        (ColumnType::Integer, Kind::Float | Kind::Boolean) => 0.5,
        (ColumnType::Integer, _) => 0.0,
        (ColumnType::Float, Kind::Integer | Kind::Float) => 1.0,
        (ColumnType::Float, _) => 0.0,
        (ColumnType::Category, Kind::Category | Kind::Boolean | Kind::Integer) => 1.0,
        (ColumnType::Category, Kind::Text) => 0.3,
        (ColumnType::Category, _) => 0.1,
        (ColumnType::Boolean, Kind::Boolean) => 1.0,
        (ColumnType::Boolean, Kind::Category) => 0.8,
        (ColumnType::Boolean, _) => 0.0,
        (ColumnType::String, Kind::Identifier | Kind::Text | Kind::Category) => 1.0,
        (ColumnType::String, Kind::Integer) => 0.8,
        (ColumnType::String, _) => 0.5,
    }
}

/// Name score: the share of the schema name's tokens in the header, plus
/// half the share of the header's other tokens found in the description,
/// less a little for header words found in neither.
fn name_score(d: &ColumnDef, header: &str) -> f64 {
    let h = tokens(header);
    let n = tokens(&d.name);
    if h.is_empty() || n.is_empty() {
        return 0.0;
    }
    let desc = tokens(&d.description);
    let matched = n.iter().filter(|t| h.contains(t)).count() as f64 / n.len() as f64;
    let extra: Vec<&String> = h.iter().filter(|t| !n.contains(t)).collect();
    let in_desc = extra.iter().filter(|t| desc.contains(t)).count() as f64;
    let neither = extra.len() as f64 - in_desc;
    matched + 0.5 * in_desc / h.len() as f64 - 0.1 * neither / h.len() as f64
}

/// The level a code stands for, when one matches.
fn level_of<'a>(d: &'a ColumnDef, code: &str) -> Option<&'a str> {
    let key = code_key(code);
    if key.is_empty() {
        return None;
    }
    match d.kind {
        ColumnType::Category => d
            .levels
            .iter()
            .find(|l| code_key(l) == key)
            .map(String::as_str),
        ColumnType::Boolean => match key.as_str() {
            "true" | "1" => Some("true"),
            "false" | "0" => Some("false"),
            _ => None,
        },
        _ => None,
    }
}

/// The share of the shown cells whose code matches a level.
fn value_score(d: &ColumnDef, c: &ColumnProfile) -> Option<f64> {
    if !matches!(d.kind, ColumnType::Category | ColumnType::Boolean) {
        return None;
    }
    let total: u64 = c.shown.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let hit: u64 = c
        .shown
        .iter()
        .filter(|(v, _)| level_of(d, v).is_some())
        .map(|(_, n)| n)
        .sum();
    Some(hit as f64 / total as f64)
}

/// One chosen pair and why.
struct Match {
    col: usize,
    by_name: bool,
}

fn assign(p: &FileProfile, schema: &Schema) -> Vec<Option<Match>> {
    let mut pairs = Vec::new();
    for (si, d) in schema.columns.iter().enumerate() {
        for (ci, c) in p.columns.iter().enumerate() {
            let fit = type_fit(d, c);
            if fit == 0.0 {
                continue;
            }
            let name = name_score(d, &c.header);
            let values = value_score(d, c).unwrap_or(0.0);
            let score = fit * (name + 0.5 * values);
            let by_name = name >= THRESHOLD;
            if by_name && score >= THRESHOLD || values >= 0.8 {
                pairs.push((score, si, ci, by_name));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out: Vec<Option<Match>> = schema.columns.iter().map(|_| None).collect();
    let mut taken = vec![false; p.columns.len()];
    for (_, si, ci, by_name) in pairs {
        if out[si].is_none() && !taken[ci] {
            out[si] = Some(Match { col: ci, by_name });
            taken[ci] = true;
        }
    }
    out
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

/// `path` relative to `from` when both are absolute (or both relative to
/// the working directory); else `path` as given.
fn relative(path: &Path, from: &Path) -> String {
    let abs = |p: &Path| -> Option<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                c => out.push(c),
            }
        }
        Some(out)
    };
    let (Some(p), Some(f)) = (abs(path), abs(from)) else {
        return path.display().to_string();
    };
    let pc: Vec<_> = p.components().collect();
    let fc: Vec<_> = f.components().collect();
    let common = pc.iter().zip(&fc).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return p.display().to_string();
    }
    let mut out = PathBuf::new();
    for _ in common..fc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out.to_string_lossy().replace('\\', "/")
}

fn source_name(p: &FileProfile) -> String {
    let stem = p
        .path
        .file_stem()
        .map_or_else(|| "export".into(), |s| s.to_string_lossy().to_lowercase());
    let name: String = stem
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() {
        "export".into()
    } else {
        name
    }
}

/// The best text date format of a date column: the first candidate with
/// the fewest failures.
fn best_format(c: &ColumnProfile) -> Option<&str> {
    let min = c.date_formats.iter().map(|f| f.fail).min()?;
    c.date_formats
        .iter()
        .find(|f| f.fail == min)
        .map(|f| f.format.as_str())
}

fn comment(out: &mut String, lines: &[String]) {
    for l in lines {
        let _ = writeln!(out, "# {l}");
    }
}

/// Writes the draft source TOML of one export for `schema`; `draft_dir` is
/// the folder the draft is written to (its `path` is relative to it).
pub fn draft_source(
    p: &FileProfile,
    schema: &Schema,
    schema_path: &Path,
    draft_dir: &Path,
) -> String {
    let matches = assign(p, schema);
    let mapped = |name: &str| -> Option<&ColumnProfile> {
        let i = schema.columns.iter().position(|d| d.name == name)?;
        matches[i].as_ref().map(|m| &p.columns[m.col])
    };
    let workbook = matches!(p.format, FileFormat::Xlsx(_));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Draft source for {}, written by {MARKER} from the export's profile and the",
        p.name
    );
    let _ = writeln!(
        s,
        "# schema \"{}\" ({}). Each \"# TODO\" is a decision the tool could not make:",
        schema.name,
        schema_path.display()
    );
    let _ = writeln!(
        s,
        "# resolve them all, list this file in a pipeline's sources and run `cohortflow validate`."
    );
    let _ = writeln!(s, "[source]");
    let _ = writeln!(s, "name = {}", q(&source_name(p)));
    comment(
        &mut s,
        &["TODO: the centre's name, as reports should show it.".into()],
    );
    let _ = writeln!(s, "centre = \"TODO\"");
    let _ = writeln!(s, "format = {}", q(if workbook { "xlsx" } else { "csv" }));
    let _ = writeln!(s, "path = {}", q(&relative(&p.path, draft_dir)));
    if let FileFormat::Xlsx(x) = &p.format {
        if x.sheets.len() > 1 {
            comment(
                &mut s,
                &[format!(
                    "The workbook has {} sheets; this one has the most filled cells.",
                    x.sheets.len()
                )],
            );
        }
        let _ = writeln!(s, "sheet = {}", q(&x.sheet));
    }
    comment(
        &mut s,
        &[
            "TODO: what a bad row does: \"fail\" stops the run at the first one (with file, line"
                .into(),
            "and column); \"reject\" sets each aside in rejects.csv with its reason and reads on."
                .into(),
        ],
    );
    let _ = writeln!(s, "on_error = \"fail\"");
    let unmapped: Vec<&ColumnProfile> = p
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches.iter().flatten().any(|m| m.col == *i))
        .map(|(_, c)| c)
        .collect();
    if unmapped.is_empty() {
        comment(
            &mut s,
            &[
                "TODO: every column of the export is mapped. \"error\" stops a run when a later export".into(),
                "has a column this file does not map; \"ignore\" reads on without it.".into(),
            ],
        );
        let _ = writeln!(s, "unmapped_columns = \"error\"");
    } else {
        let names: Vec<String> = unmapped.iter().map(|c| q(&c.header)).collect();
        comment(
            &mut s,
            &[
                format!(
                    "TODO: {} of the export {} not mapped ({}): \"ignore\" leaves them out; \"error\" stops a run",
                    unmapped.len(),
                    if unmapped.len() == 1 {
                        "column is"
                    } else {
                        "columns are"
                    },
                    names.join(", ")
                ),
                "until each is mapped.".into(),
            ],
        );
        let _ = writeln!(s, "unmapped_columns = \"ignore\"");
    }
    if let Some(id) = mapped("patient_id")
        && id.unique
    {
        comment(
            &mut s,
            &[
                format!(
                    "TODO: \"{}\" (patient_id) is unique per row in this export: keep this if a record number",
                    id.header
                ),
                "appears once per export (two records with one number are then refused).".into(),
            ],
        );
        let _ = writeln!(s, "unique = [\"patient_id\"]");
    }
    // Date formats: the best text format of each mapped date column.
    let mut date_cols: Vec<(&ColumnDef, &ColumnProfile)> = Vec::new();
    for (d, m) in schema.columns.iter().zip(&matches) {
        if let (ColumnType::Date, Some(m)) = (d.kind, m) {
            date_cols.push((d, &p.columns[m.col]));
        }
    }
    let mut best: Vec<&str> = date_cols
        .iter()
        .filter_map(|(_, c)| best_format(c))
        .collect();
    best.sort();
    best.dedup();
    let source_format: Option<&str> = match best.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    let text_dates: u64 = date_cols.iter().map(|(_, c)| c.text_cells).sum();
    let date_cells: u64 = date_cols.iter().map(|(_, c)| c.date_cells).sum();
    match source_format {
        Some(f) => {
            let _ = writeln!(s, "date_formats = {}", list(&[f.to_string()]));
        }
        None if best.len() > 1 => {
            comment(
                &mut s,
                &[
                    "The date columns are written in different formats: each has its own date_formats."
                        .into(),
                ],
            );
        }
        None if text_dates > 0 => {
            comment(
                &mut s,
                &[
                    format!(
                        "TODO: no candidate format reads the {} text {} in the date columns{}: write the format",
                        text_dates,
                        if text_dates == 1 { "value" } else { "values" },
                        if date_cells > 0 {
                            " (date cells are read whatever the formats)"
                        } else {
                            ""
                        }
                    ),
                    "they are typed in (chrono strftime, e.g. \"%d.%m.%Y\").".into(),
                ],
            );
            let _ = writeln!(s, "date_formats = [\"TODO\"]");
        }
        None => {}
    }
    // [source.csv]
    let mut dialect = Vec::new();
    let mut dialect_notes = Vec::new();
    if let FileFormat::Csv(c) = &p.format {
        if c.separator != ',' {
            dialect.push(format!("separator = {}", q(&c.separator.to_string())));
        }
        if c.quote != '"' {
            dialect.push(format!("quote = {}", q(&c.quote.to_string())));
        }
    }
    if p.decimal_conflict() {
        dialect_notes.push(
            "TODO: numbers are written with both decimal marks (see the report): decide which the export uses."
                .to_string(),
        );
        dialect.push("decimal_comma = false".into());
    } else if p.decimal_mark() == Some(',') {
        dialect.push("decimal_comma = true".into());
    }
    if let FileFormat::Csv(c) = &p.format {
        let label = match c.encoding {
            _ if c.how.starts_with("ASCII") => None,
            Encoding::Utf8 => None,
            Encoding::Utf16Le | Encoding::Utf16Be | Encoding::Utf16 if c.bom => Some("utf-16"),
            e => Some(e.label()),
        };
        if let Some(l) = label {
            dialect.push(format!("encoding = {}", q(l)));
        }
        if c.header_line != 1 {
            dialect.push(format!("header_row = {}", c.header_line));
        }
    }
    if let FileFormat::Xlsx(x) = &p.format
        && x.header_row != 1
    {
        dialect.push(format!("header_row = {}", x.header_row));
    }
    if !dialect.is_empty() {
        let _ = writeln!(s, "\n[source.csv]");
        for l in dialect {
            if l.starts_with("decimal_comma") && !dialect_notes.is_empty() {
                comment(&mut s, &dialect_notes);
            }
            let _ = writeln!(s, "{l}");
        }
    }
    let _ = writeln!(s, "\n[source.columns]");
    for (d, m) in schema.columns.iter().zip(&matches) {
        let Some(m) = m else {
            if d.required {
                comment(
                    &mut s,
                    &[format!(
                        "TODO: {} is required and no column of the export matched it: map it ({}).",
                        d.name,
                        d.kind.name()
                    )],
                );
                let _ = writeln!(s, "# {} = \"...\"", d.name);
            } else {
                comment(
                    &mut s,
                    &[format!(
                        "{}: no column of the export matched (optional; map it if the export has it).",
                        d.name
                    )],
                );
            }
            continue;
        };
        let c = &p.columns[m.col];
        let mut todo: Vec<String> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        if !m.by_name {
            todo.push(format!(
                "TODO: \"{}\" matched {} by its values only, not by name: confirm.",
                c.header, d.name
            ));
        }
        if d.name == "patient_id" {
            todo.push(format!(
                "TODO: is \"{}\" the column that identifies a record ({})? Chosen by name{}.",
                c.header,
                c.kind.name(),
                if c.unique { "; unique per row" } else { "" }
            ));
        }
        if !c.missing.is_empty() {
            let codes: Vec<String> = c.missing.iter().map(|(v, _)| v.clone()).collect();
            keys.push(format!("missing = {}", list(&codes)));
        }
        match d.kind {
            ColumnType::Category | ColumnType::Boolean => {
                let mut map = Vec::new();
                let mut unknown = Vec::new();
                for (v, n) in &c.shown {
                    match level_of(d, v) {
                        Some(l) => {
                            map.push(format!("{} = {}", q(v), q(l)));
                        }
                        None => unknown.push(format!("{} ({n} rows)", q(v))),
                    }
                }
                if !unknown.is_empty() {
                    todo.push(format!(
                        "TODO: codes that match no level of {}: {}: map each to a level, or list it in missing.",
                        d.name,
                        unknown.join(", ")
                    ));
                }
                if c.rare_values > 0 {
                    // Which levels no shown code reaches is not said: with
                    // few hidden codes it would tell which one is there.
                    todo.push(format!(
                        "TODO: {} more {} seen fewer than 5 times each ({} rows) {} not shown: add {} to values.",
                        c.rare_values,
                        if c.rare_values == 1 { "code" } else { "codes" },
                        c.rare_cells,
                        if c.rare_values == 1 { "is" } else { "are" },
                        if c.rare_values == 1 { "it" } else { "them" },
                    ));
                }
                if c.distinct.is_none() {
                    todo.push(format!(
                        "TODO: over {} distinct values: is this the column for {}?",
                        crate::DISTINCT_CAP,
                        d.name
                    ));
                }
                if !map.is_empty() {
                    keys.push(format!("values = {{ {} }}", map.join(", ")));
                }
            }
            ColumnType::Integer | ColumnType::Float => {
                if let Some(unit) = d.unit {
                    let declared = format!("{unit:?}").to_lowercase();
                    match unit_in(&c.header) {
                        Some(u) => keys.push(format!("unit = {}", q(u))),
                        None => todo.push(format!(
                            "TODO: the header names no unit; the schema's is {declared}. Add unit = \"...\" if the export uses another."
                        )),
                    }
                }
                if d.kind == ColumnType::Integer && c.base == Kind::Float {
                    todo.push(
                        "TODO: the schema wants whole numbers; this column has fractions.".into(),
                    );
                }
            }
            ColumnType::Date => {
                let own = best_format(c);
                let all = c.formats_reading_all();
                if all.len() > 1 {
                    todo.push(format!(
                        "TODO: ambiguous dates: {} each read every value (day and month both up to 12?): choose.",
                        all.join(" and ")
                    ));
                }
                if let Some(f) = own {
                    if source_format != Some(f) {
                        keys.push(format!("date_formats = {}", list(&[f.to_string()])));
                    }
                    let fails = c
                        .date_formats
                        .iter()
                        .find(|x| x.format == f)
                        .map_or(0, |x| x.fail);
                    if fails > 0 {
                        todo.push(format!(
                            "TODO: {fails} {} not read by {f} nor by any candidate format: fix the export, or add a format.",
                            if fails == 1 { "value is" } else { "values are" }
                        ));
                    }
                }
                if workbook && c.number_cells > 0 {
                    todo.push(format!(
                        "TODO: {} number cells in a date column: serial dates? add \"excel-serial\" to date_formats.",
                        c.number_cells
                    ));
                }
            }
            ColumnType::String => {}
        }
        if c.not_fitting > 0 && d.kind != ColumnType::Date {
            todo.push(format!(
                "TODO: {} values do not read as {}.",
                c.not_fitting,
                d.kind.name()
            ));
        }
        comment(&mut s, &todo);
        if keys.is_empty() {
            let _ = writeln!(s, "{} = {}", d.name, q(&c.header));
        } else {
            let _ = writeln!(
                s,
                "{} = {{ column = {}, {} }}",
                d.name,
                q(&c.header),
                keys.join(", ")
            );
        }
    }
    if !unmapped.is_empty() {
        let _ = writeln!(s, "\n# Columns of the export no schema column matched:");
        for c in &unmapped {
            let _ = writeln!(s, "#   {} ({})", q(&c.header), c.kind.name());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/a/b/data/x.csv"), Path::new("/a/b/out")),
            "../data/x.csv"
        );
        assert_eq!(relative(Path::new("/a/x.csv"), Path::new("/a")), "x.csv");
        assert_eq!(relative(Path::new("/x.csv"), Path::new("/a")), "/x.csv");
    }

    #[test]
    fn toml_strings() {
        assert_eq!(q("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}

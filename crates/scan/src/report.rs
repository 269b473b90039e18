//! The scan report: plain text (stdout, `<stem>.scan.txt`) and one
//! self-contained HTML page with the same content. Columns in file order;
//! every value shown is in double quotes (and only values that
//! [`crate::profile`] kept: seen at least five times, not an identifier's).

use crate::profile::{ColumnProfile, Kind, MIN_CELL};
use crate::{FileFormat, FileProfile, LineEnds, MARKER};
use std::fmt::Write;

fn line_ends(e: &LineEnds) -> String {
    let kinds: Vec<String> = [("CRLF", e.crlf), ("LF", e.lf), ("CR", e.cr)]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    match kinds.len() {
        0 => "none (one line)".into(),
        1 => format!("{} (all)", kinds[0]),
        _ => format!("mixed: {}", kinds.join(", ")),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn sep_name(c: char) -> String {
    match c {
        '\t' => "tab".into(),
        c => format!("\"{c}\""),
    }
}

/// The file's facts as (label, text) pairs.
fn facts(p: &FileProfile) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match &p.format {
        FileFormat::Csv(c) => {
            out.push(("format", "delimited text (csv)".to_string()));
            out.push(("encoding", format!("{} ({})", c.encoding.label(), c.how)));
            out.push(("line ends", line_ends(&c.line_ends)));
            out.push(("lines", c.lines.to_string()));
            out.push(("separator", sep_name(c.separator)));
            out.push((
                "quote",
                format!(
                    "'{}' ({})",
                    c.quote,
                    if c.quoted {
                        "occurs in the file"
                    } else {
                        "no quote character in the file"
                    }
                ),
            ));
            out.push((
                "header",
                format!(
                    "line {}, {}",
                    c.header_line,
                    plural(p.columns.len() as u64, "column", "columns")
                ),
            ));
        }
        FileFormat::Xlsx(x) => {
            out.push(("format", "workbook (xlsx)".to_string()));
            let sheets: Vec<String> = x
                .sheets
                .iter()
                .map(|(n, r, c)| format!("\"{n}\" ({r} rows x {c} columns)"))
                .collect();
            out.push(("sheets", sheets.join(", ")));
            out.push((
                "sheet",
                format!("\"{}\" (the one with most filled cells)", x.sheet),
            ));
            out.push((
                "header",
                format!(
                    "row {}, {}",
                    x.header_row,
                    plural(p.columns.len() as u64, "column", "columns")
                ),
            ));
        }
    }
    let mut rec = p.records.to_string();
    if p.blank > 0 || p.ragged > 0 {
        rec.push_str(&format!(" ({} blank", p.blank));
        if let FileFormat::Csv(_) = p.format {
            rec.push_str(&format!(", {} with another number of fields", p.ragged));
        }
        rec.push(')');
    }
    out.push(("records", rec));
    let decimal = match (p.decimal_mark(), p.decimal_conflict()) {
        (_, true) => "both comma and point: see the columns".to_string(),
        (Some(','), _) => "comma (7,5)".to_string(),
        (Some(_), _) => "point (7.5)".to_string(),
        (None, _) => "no decimal numbers written as text".to_string(),
    };
    out.push(("decimal mark", decimal));
    out
}

fn kind_text(c: &ColumnProfile) -> String {
    match c.kind {
        Kind::Float => match (c.decimal_mark(), c.mixed_marks()) {
            (_, true) => "float, both decimal marks".into(),
            (Some(','), _) => "float, decimal comma".into(),
            (Some(_), _) => "float, decimal point".into(),
            _ => "float".into(),
        },
        Kind::Identifier => format!("identifier ({})", c.base.name()),
        k => k.name().into(),
    }
}

fn distinct_text(c: &ColumnProfile) -> String {
    match c.distinct {
        None => format!("over {}", crate::DISTINCT_CAP),
        Some(d) if c.unique => format!("{d}, unique"),
        Some(d) => d.to_string(),
    }
}

fn missing_total(c: &ColumnProfile) -> u64 {
    c.missing.iter().map(|(_, n)| n).sum()
}

/// Detail lines of one column (without its heading).
fn details(c: &ColumnProfile, workbook: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut counts = format!("{} filled of {}", c.filled, c.rows);
    if c.empty > 0 {
        counts.push_str(&format!(", {} empty", c.empty));
    }
    if c.errors > 0 {
        counts.push_str(&format!(", {} cell errors", c.errors));
    }
    out.push(counts);
    if !c.missing.is_empty() {
        let m: Vec<String> = c
            .missing
            .iter()
            .map(|(v, n)| format!("\"{v}\" {n}"))
            .collect();
        out.push(format!("missing codes: {}", m.join(", ")));
    }
    if workbook {
        let kinds: Vec<String> = [
            ("text", c.text_cells),
            ("number", c.number_cells),
            ("date", c.date_cells),
            ("boolean", c.bool_cells),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
        if !kinds.is_empty() {
            out.push(format!("cells: {}", kinds.join(", ")));
        }
    }
    if c.not_fitting > 0 {
        out.push(format!(
            "{} not read as {}",
            plural(c.not_fitting, "value is", "values are"),
            c.kind.name()
        ));
    }
    if c.mixed_marks() {
        out.push(format!(
            "decimal marks: {} with a comma, {} with a point",
            c.comma_floats, c.point_floats
        ));
    }
    if c.kind == Kind::Date || !c.date_formats.is_empty() && c.kind != Kind::Identifier {
        if c.date_formats.is_empty() {
            if c.text_cells > 0 {
                out.push(format!(
                    "date formats: none of the candidates reads the {}",
                    plural(c.text_cells, "text value", "text values")
                ));
            }
        } else {
            let f: Vec<String> = c
                .date_formats
                .iter()
                .map(|f| format!("{} reads {}, fails {}", f.format, f.ok, f.fail))
                .collect();
            out.push(format!("date formats: {}", f.join("; ")));
            let all = c.formats_reading_all();
            if all.len() > 1 {
                out.push(format!(
                    "ambiguous: {} each read every value",
                    all.join(" and ")
                ));
            }
        }
    }
    if let Some((lo, hi)) = &c.date_range {
        out.push(format!("range {lo} to {hi} (to the month)"));
    }
    if let Some((lo, hi, step)) = &c.numeric_range {
        out.push(format!(
            "range {lo} to {hi} (rounded outward to {})",
            if *step == 1.0 {
                "whole numbers".to_string()
            } else {
                format!("{step}s")
            }
        ));
    }
    match c.kind {
        Kind::Identifier => {
            let why = if c.snils > 0 {
                "SNILS-shaped"
            } else if c.unique {
                "unique per row"
            } else {
                "high-cardinality"
            };
            out.push(format!(
                "{} distinct; values not shown ({why})",
                c.distinct
                    .map_or(format!("over {}", crate::DISTINCT_CAP), |d| d.to_string())
            ));
        }
        Kind::Date => out.push(format!(
            "{} distinct{}; dates not shown (only the range)",
            c.distinct
                .map_or(format!("over {}", crate::DISTINCT_CAP), |d| d.to_string()),
            if c.unique { ", unique per row" } else { "" }
        )),
        Kind::Empty => {}
        _ => {
            if c.distinct.is_none() {
                out.push(format!(
                    "over {} distinct values: high-cardinality, frequencies not kept",
                    crate::DISTINCT_CAP
                ));
            } else {
                out.push(format!(
                    "{} distinct{}",
                    c.distinct.unwrap_or(0),
                    if c.unique { ", unique per row" } else { "" }
                ));
                if !c.shown.is_empty() {
                    let v: Vec<String> = c
                        .shown
                        .iter()
                        .map(|(v, n)| format!("\"{v}\" {n}"))
                        .collect();
                    out.push(format!("values: {}", v.join(", ")));
                }
                if c.rare_values > 0 {
                    out.push(format!(
                        "{} seen fewer than {MIN_CELL} times ({}): not shown",
                        plural(c.rare_values, "value", "values"),
                        plural(c.rare_cells, "cell", "cells")
                    ));
                }
            }
        }
    }
    out
}

/// The text report of one export.
pub fn text_report(p: &FileProfile) -> String {
    let workbook = matches!(p.format, FileFormat::Xlsx(_));
    let mut s = String::new();
    let _ = writeln!(s, "{MARKER} of {}", p.name);
    for (k, v) in facts(p) {
        let _ = writeln!(s, "  {k:<13}{v}");
    }
    let _ = writeln!(s);
    let w = p
        .columns
        .iter()
        .map(|c| c.header.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 40);
    let _ = writeln!(
        s,
        "  {:>2}  {:<w$}  {:<22}  {:>6}  {:>6}  {:>7}  distinct",
        "#", "column", "type", "filled", "empty", "missing"
    );
    for (i, c) in p.columns.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>2}  {:<w$}  {:<22}  {:>6}  {:>6}  {:>7}  {}",
            i + 1,
            c.header,
            kind_text(c),
            c.filled,
            c.empty,
            missing_total(c),
            distinct_text(c)
        );
    }
    for (i, c) in p.columns.iter().enumerate() {
        let _ = writeln!(s);
        let _ = writeln!(s, "  {:>2} \"{}\": {}", i + 1, c.header, kind_text(c));
        for d in details(c, workbook) {
            let _ = writeln!(s, "      {d}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "  Values seen fewer than {MIN_CELL} times and identifiers are counted, not shown; \
         ranges are rounded."
    );
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML report of one export: one self-contained page.
pub fn html_report(p: &FileProfile) -> String {
    let workbook = matches!(p.format, FileFormat::Xlsx(_));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<!-- {MARKER} -->\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    );
    let _ = writeln!(s, "<title>{MARKER}: {}</title>", esc(&p.name));
    let _ = writeln!(
        s,
        "<style>body{{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}}\
         td.n{{text-align:right}}</style></head><body>"
    );
    let _ = writeln!(s, "<h1>{MARKER} of {}</h1>\n<table>", esc(&p.name));
    for (k, v) in facts(p) {
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let _ = writeln!(s, "</table>\n<h2>Columns</h2>\n<table>");
    let _ = writeln!(
        s,
        "<tr><th>#</th><th>column</th><th>type</th><th>filled</th><th>empty</th><th>missing</th><th>distinct</th><th>details</th></tr>"
    );
    for (i, c) in p.columns.iter().enumerate() {
        let d: Vec<String> = details(c, workbook).iter().map(|l| esc(l)).collect();
        let _ = writeln!(
            s,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&c.header),
            esc(&kind_text(c)),
            c.filled,
            c.empty,
            missing_total(c),
            esc(&distinct_text(c)),
            d.join("<br>")
        );
    }
    let _ = writeln!(
        s,
        "</table>\n<p>Values seen fewer than {MIN_CELL} times and identifiers are counted, not shown; ranges are rounded.</p>\n</body></html>"
    );
    s
}

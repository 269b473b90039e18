//! A small document model rendered twice, as Markdown and as HTML, so the
//! two reports cannot say different things.

use std::fmt::Write as _;

/// A cell spanning `span` columns (HTML `colspan`; in Markdown the text is
/// in the first column and the others are empty).
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub span: usize,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, span: 1 }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell {
            text: text.to_string(),
            span: 1,
        }
    }
}

/// A table row; `group` rows are section headings inside the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub group: bool,
}

impl Row {
    pub fn new(cells: Vec<Cell>) -> Self {
        Row {
            cells,
            group: false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    /// A boxed paragraph that must be seen (design warnings).
    Warning(String),
    List(Vec<String>),
    Table {
        caption: String,
        header: Vec<Cell>,
        rows: Vec<Row>,
        notes: Vec<String>,
        /// HTML class: `numbers` (cells do not wrap, except the first column
        /// and group rows), plus `wrap-last` (the last column wraps).
        class: &'static str,
    },
    Figure {
        /// File next to the report (Markdown links it).
        file: String,
        /// The SVG text (HTML inlines it).
        svg: String,
        caption: String,
        alt: String,
    },
}

pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_row(cells: &[Cell]) -> String {
    let mut out = String::from("|");
    for c in cells {
        write!(out, " {} |", md_cell(&c.text)).unwrap();
        for _ in 1..c.span {
            out.push_str("  |");
        }
    }
    out
}

fn width(cells: &[Cell]) -> usize {
    cells.iter().map(|c| c.span).sum()
}

pub fn markdown(doc: &Document) -> String {
    let mut out = format!("# {}\n", doc.title);
    for b in &doc.blocks {
        out.push('\n');
        match b {
            Block::Heading(level, text) => {
                writeln!(out, "{} {text}", "#".repeat(*level as usize)).unwrap();
            }
            Block::Para(text) => writeln!(out, "{text}").unwrap(),
            Block::Warning(text) => writeln!(out, "> **Warning.** {text}").unwrap(),
            Block::List(items) => {
                for i in items {
                    writeln!(out, "- {i}").unwrap();
                }
            }
            Block::Table {
                caption,
                header,
                rows,
                notes,
                ..
            } => {
                writeln!(out, "**{caption}**\n").unwrap();
                writeln!(out, "{}", md_row(header)).unwrap();
                writeln!(out, "|{}", " --- |".repeat(width(header))).unwrap();
                for r in rows {
                    if r.group {
                        let mut cells = r.cells.clone();
                        for c in &mut cells {
                            if !c.text.is_empty() {
                                c.text = format!("**{}**", c.text);
                            }
                        }
                        writeln!(out, "{}", md_row(&cells)).unwrap();
                    } else {
                        writeln!(out, "{}", md_row(&r.cells)).unwrap();
                    }
                }
                if !notes.is_empty() {
                    out.push('\n');
                    for n in notes {
                        writeln!(out, "- {n}").unwrap();
                    }
                }
            }
            Block::Figure {
                file, caption, alt, ..
            } => {
                writeln!(out, "![{alt}]({file})\n\n*{caption}*").unwrap();
            }
        }
    }
    out
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inline `**bold**` and `` `code` `` of the Markdown text, escaped.
fn inline(s: &str) -> String {
    let e = esc(s);
    let mut out = String::new();
    let mut bold = false;
    let mut code = false;
    let mut rest = e.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") && !code {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = &rest[2..];
        } else if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = &rest[1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
  max-width: 1040px; margin: 2rem auto; padding: 0 1.2rem; line-height: 1.45; color: #1a1a1a; background: #fff;
  overflow-wrap: break-word; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
p, li { overflow-wrap: anywhere; }
/* A wide table scrolls inside its own box; the page never scrolls sideways. */
table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse;
  margin: .6rem 0 .3rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .35rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; border-bottom: 2px solid #999; }
table.numbers td { white-space: nowrap; }
table.numbers td:first-child, table.numbers tr.group td, table.wrap-last td:last-child { white-space: normal; }
table.numbers td:first-child { min-width: 12em; }
table.wrap-last td:last-child { min-width: 14em; }
tr.group td { background: #fafafa; font-weight: 600; }
ul.notes { font-size: .85rem; color: #444; margin-top: .2rem; }
.warning { border: 2px solid #b00020; background: #fff4f4; padding: .6rem .9rem; margin: .8rem 0; }
.warning strong { color: #b00020; }
figure { margin: 1rem 0; max-width: 100%; }
figure svg { max-width: 100%; height: auto; display: block; }
/* The plots, drawn at print size (width in mm): on screen as wide as the
   text (larger than print, for reading), shrinking with the page. */
figure svg[width$="mm"] { width: 100%; max-width: 880px; }
figcaption { font-size: .88rem; color: #444; }
code { font-size: .9em; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  body { margin: 1rem auto; padding: 0 .75rem; }
  h1 { font-size: 1.4rem; }
  table { font-size: .85rem; }
  th, td { padding: .2rem .4rem; }
  /* Narrow screens: numbers may wrap at their spaces, so that the first
     columns and every arm of Table 1 fit; the rest scrolls in the table's box. */
  table.numbers td { white-space: normal; }
  table.numbers td:first-child { min-width: 0; }
  table.wrap-last td:last-child { min-width: 10em; }
}
@page { size: A4; margin: 16mm 14mm 18mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; line-height: 1.35; }
  h2 { margin-top: 1.4rem; }
  h1, h2, h3, h4, caption { break-after: avoid; page-break-after: avoid; }
  /* On paper a table is a table: it wraps to the page width instead of scrolling. */
  table { display: table; overflow: visible; font-size: 8pt; }
  table.numbers td { white-space: normal; }
  thead { display: table-header-group; }
  table, tr, figure, .warning, ul.notes li { break-inside: avoid; page-break-inside: avoid; }
  figure { break-before: auto; }
  figure svg[width$="mm"] { width: 100%; max-width: 174mm; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The SVG as it goes inline: without an XML declaration.
fn inline_svg(svg: &str) -> &str {
    let s = svg.trim();
    match (s.starts_with("<?xml"), s.find("?>")) {
        (true, Some(i)) => s[i + 2..].trim_start(),
        _ => s,
    }
}

pub fn html(doc: &Document) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>",
        esc(&doc.title),
        esc(&doc.title)
    )
    .unwrap();
    for b in &doc.blocks {
        match b {
            Block::Heading(level, text) => {
                writeln!(out, "<h{level}>{}</h{level}>", inline(text)).unwrap();
            }
            Block::Para(text) => writeln!(out, "<p>{}</p>", inline(text)).unwrap(),
            Block::Warning(text) => writeln!(
                out,
                "<div class=\"warning\" role=\"alert\"><strong>Warning.</strong> {}</div>",
                inline(text)
            )
            .unwrap(),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    writeln!(out, "<li>{}</li>", inline(i)).unwrap();
                }
                out.push_str("</ul>\n");
            }
            Block::Table {
                caption,
                header,
                rows,
                notes,
                class,
            } => {
                writeln!(
                    out,
                    "<table{}>\n<caption>{}</caption>\n<thead><tr>",
                    if class.is_empty() {
                        String::new()
                    } else {
                        format!(" class=\"{class}\"")
                    },
                    inline(caption)
                )
                .unwrap();
                for c in header {
                    write_cell(&mut out, "th", c);
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str(if r.group {
                        "<tr class=\"group\">"
                    } else {
                        "<tr>"
                    });
                    for c in &r.cells {
                        write_cell(&mut out, "td", c);
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
                if !notes.is_empty() {
                    out.push_str("<ul class=\"notes\">\n");
                    for n in notes {
                        writeln!(out, "<li>{}</li>", inline(n)).unwrap();
                    }
                    out.push_str("</ul>\n");
                }
            }
            Block::Figure {
                svg, caption, alt, ..
            } => {
                writeln!(
                    out,
                    "<figure role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
                    esc(alt),
                    inline_svg(svg),
                    inline(caption)
                )
                .unwrap();
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn write_cell(out: &mut String, tag: &str, c: &Cell) {
    if c.span > 1 {
        write!(
            out,
            "<{tag} colspan=\"{}\">{}</{tag}>",
            c.span,
            inline(&c.text)
        )
        .unwrap();
    } else {
        write!(out, "<{tag}>{}</{tag}>", inline(&c.text)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_is_escaped() {
        assert_eq!(
            inline("**a** <b> `x_y`"),
            "<strong>a</strong> &lt;b&gt; <code>x_y</code>"
        );
    }
}

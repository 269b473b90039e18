//! Finding the mapped columns among the headers of an export.

use crate::config::Unmapped;
use crate::converter::Converter;
use crate::error::IngestError;
use crate::text::{closest, quoted};

/// Sets `conv.fields` from the header row. `where_` describes the header
/// ("line 1", "row 3 of sheet 'Данные'"); `hint` adds format-specific
/// guesses (wrong encoding, wrong separator) to a missing-column error.
///
/// The cells of the header row are quoted in a message only when at least
/// one mapped header is among them (the row is the header), or with
/// `--show-values`: a row where no mapped header is found may be a row of
/// data (a wrong `header_row`, a file without its header line), and its
/// cells are a patient's values.
pub(crate) fn resolve(
    conv: &mut Converter,
    headers: &[String],
    line: u64,
    where_: &str,
    unmapped: Unmapped,
    toml: &str,
    hint: impl Fn(bool) -> Option<String>,
) -> Result<(), IngestError> {
    let mut fields = Vec::with_capacity(conv.plans.len());
    let matched = conv
        .plans
        .iter()
        .filter(|p| headers.contains(&p.header))
        .count();
    let show = matched > 0 || conv.show_values();
    for plan in &conv.plans {
        let found: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == plan.header)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [i] => fields.push(*i),
            [] if !show => {
                let mut message = format!(
                    "column \"{}\" (mapped to {}) is not in the header on {where_}, and neither \
                     is any other of the {} mapped columns: {where_} is probably not the header \
                     line (its {} cells are not shown, as they may be a patient's values; \
                     --show-values shows them)",
                    plan.header,
                    plan.canonical,
                    conv.plans.len(),
                    headers.len()
                );
                if let Some(h) = hint(false) {
                    message = format!("{message}. {h}");
                }
                return Err(conv
                    .error(
                        message,
                        format!(
                            "set header_row in [source.csv] of {toml} to the line (or sheet row) \
                             of the header, or correct the headers in [source.columns]"
                        ),
                    )
                    .at(line)
                    .column(plan.header.clone()));
            }
            [] => {
                let mut fix = format!(
                    "correct column = \"{}\" for {} in [source.columns] of {toml}",
                    plan.header, plan.canonical
                );
                if let Some(c) = closest(&plan.header, headers.iter().map(String::as_str)) {
                    fix = format!("{fix}; did you mean \"{c}\"?");
                }
                let mut message = format!(
                    "column \"{}\" (mapped to {}) is not in the header on {where_}; headers found: {}",
                    plan.header,
                    plan.canonical,
                    quoted(headers)
                );
                if let Some(h) = hint(true) {
                    message = format!("{message}. {h}");
                }
                return Err(conv
                    .error(message, fix)
                    .at(line)
                    .column(plan.header.clone()));
            }
            many => {
                let positions: Vec<String> = many.iter().map(|i| (i + 1).to_string()).collect();
                return Err(conv
                    .error(
                        format!(
                            "header \"{}\" (mapped to {}) appears {} times on {where_}, in columns {}",
                            plan.header,
                            plan.canonical,
                            many.len(),
                            positions.join(", ")
                        ),
                        "rename the duplicates in the export so that each mapped header is unique",
                    )
                    .at(line)
                    .column(plan.header.clone()));
            }
        }
    }
    if unmapped == Unmapped::Error {
        let extra: Vec<String> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !conv.plans.iter().any(|p| p.header == **h))
            .map(|(i, h)| {
                if h.is_empty() {
                    format!("column {} (no header)", i + 1)
                } else {
                    format!("\"{h}\"")
                }
            })
            .collect();
        if !extra.is_empty() {
            return Err(conv
                .error(
                    format!(
                        "{} not mapped to any canonical column (unmapped_columns = \"error\"): {}",
                        if extra.len() == 1 { "a header is" } else { "headers are" },
                        extra.join(", ")
                    ),
                    format!(
                        "map them in [source.columns] of {toml}, or set unmapped_columns = \"ignore\""
                    ),
                )
                .at(line));
        }
    }
    conv.fields = fields;
    Ok(())
}

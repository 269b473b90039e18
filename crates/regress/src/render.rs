//! The diff as text for people: sections in stage order, rows named by
//! source and line, numbers with six significant digits.

use crate::Diff;
use crate::estimates::Kind;
use crate::tables::CellChange;
use serde_json::Value;
use std::fmt::Write;

/// Rows listed per section before "and N more".
const MAX_ROWS: usize = 50;

pub(crate) fn text(d: &Diff) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "old: {}", d.old);
    let _ = writeln!(w, "new: {}", d.new);
    let _ = writeln!(
        w,
        "tolerances: {}; α = {}",
        d.tolerances.describe(),
        d.alpha
    );

    let _ = writeln!(w, "\ninputs");
    if let Some(n) = &d.inputs.note {
        let _ = writeln!(w, "  {n}");
    }
    if d.inputs.is_empty() {
        let _ = writeln!(w, "  the same files and settings");
    }
    for f in &d.inputs.files {
        let file = f
            .new
            .as_ref()
            .or(f.old.as_ref())
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(w, "  {}: {} ({file})", f.role, f.what);
    }
    for c in &d.inputs.settings {
        let _ = writeln!(
            w,
            "  {} setting {}: {} → {}",
            c.file,
            c.key,
            setting(&c.old),
            setting(&c.new)
        );
    }

    let p = &d.patients;
    let _ = writeln!(w, "\npatients");
    if let Some(n) = &p.note {
        let _ = writeln!(w, "  {n}");
    }
    for warning in &p.warnings {
        let _ = writeln!(w, "  warning: {warning}");
    }
    if p.compared {
        let _ = writeln!(
            w,
            "  rows matched by the row key ({}); rows are named by source and line, their keys \
             go to the keys file (--keys-out) only",
            p.row_key.join(", ")
        );
        let _ = writeln!(
            w,
            "  {:<10} {:>8} {:>8} {:>8}",
            "stage", "entered", "left", "changed"
        );
        for c in &p.stages {
            let _ = writeln!(
                w,
                "  {:<10} {:>8} {:>8} {:>8}",
                c.stage, c.entered, c.left, c.changed
            );
        }
        for c in &p.stages {
            if !c.columns_added.is_empty() {
                let _ = writeln!(
                    w,
                    "  {}: columns only in the new run: {}",
                    c.stage,
                    c.columns_added.join(", ")
                );
            }
            if !c.columns_removed.is_empty() {
                let _ = writeln!(
                    w,
                    "  {}: columns only in the old run: {}",
                    c.stage,
                    c.columns_removed.join(", ")
                );
            }
        }
        for r in p.rows.iter().take(MAX_ROWS) {
            let line = match (r.old_line, r.new_line) {
                (Some(a), Some(b)) if a != b => format!("line {a} → {b}"),
                (_, Some(b)) => format!("line {b}"),
                (Some(a), None) => format!("line {a}"),
                (None, None) => "line ?".to_string(),
            };
            let mut parts = Vec::new();
            if !r.entered.is_empty() {
                parts.push(format!("entered {}", r.entered.join(", ")));
            }
            if !r.left.is_empty() {
                parts.push(format!("left {}", r.left.join(", ")));
            }
            if !r.changed.is_empty() {
                let at: Vec<String> = r
                    .changed
                    .iter()
                    .map(|c| format!("{} ({})", c.stage, c.columns.join(", ")))
                    .collect();
                parts.push(format!("values changed at {}", at.join(", ")));
            }
            let _ = writeln!(
                w,
                "  {} {line}: {} → {}{}{}",
                r.source,
                r.old,
                r.new,
                if parts.is_empty() { "" } else { "; " },
                parts.join("; ")
            );
        }
        if p.rows.len() > MAX_ROWS {
            let _ = writeln!(
                w,
                "  … and {} more rows (all in the keys file and in --json)",
                p.rows.len() - MAX_ROWS
            );
        }
        for k in &p.rejected_without_key {
            let lines = |l: &[i64]| {
                if l.is_empty() {
                    "none".to_string()
                } else {
                    l.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let _ = writeln!(
                w,
                "  {} rejected at {} before it had a row key, {}: {} → {} rows (lines {} → {})",
                k.source,
                k.stage,
                k.rule,
                k.old,
                k.new,
                lines(&k.old_lines),
                lines(&k.new_lines)
            );
        }
        if p.rows.is_empty() && p.rejected_without_key.is_empty() {
            let _ = writeln!(w, "  no row entered, left or changed");
        }
    }

    cells(w, "ledger (rows per stage, source and item)", &d.ledger);
    cells(
        w,
        "attrition (per step, criterion, source and arm)",
        &d.attrition,
    );

    let _ = writeln!(w, "\nestimates (results.json)");
    if d.estimates.is_empty() {
        let _ = writeln!(w, "  none moved beyond the tolerances");
    }
    for m in &d.estimates {
        let mut change = String::new();
        if let Some(a) = m.absolute {
            change = format!(" (Δ {}", signed(a));
            if let Some(r) = m.relative.filter(|_| m.kind != Kind::Count) {
                change.push_str(&format!(", {}%", signed(r * 100.0)));
            }
            change.push(')');
        }
        let crossed = if m.crossed_alpha {
            format!(" crossed α = {}", d.alpha)
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "  {}: {} → {}{change}{crossed}",
            m.path,
            value(&m.old),
            value(&m.new)
        );
    }
    let crossed: Vec<&str> = d
        .estimates
        .iter()
        .filter(|m| m.crossed_alpha)
        .map(|m| m.path.as_str())
        .collect();
    if !crossed.is_empty() {
        let _ = writeln!(
            w,
            "  p-values that crossed α = {}: {}",
            d.alpha,
            crossed.join(", ")
        );
    }

    cells(w, "Table 1 (table1.csv)", &d.table1);

    let columns: usize = d
        .patients
        .stages
        .iter()
        .map(|s| s.columns_added.len() + s.columns_removed.len())
        .sum();
    let moved = columns
        + d.patients.rows.len()
        + d.patients.rejected_without_key.len()
        + d.ledger.len()
        + d.attrition.len()
        + d.estimates.len()
        + d.table1.len();
    let _ = writeln!(w);
    if d.identical {
        let _ = writeln!(w, "identical within the tolerances");
    } else {
        let parts: Vec<String> = [
            (columns, "stage column"),
            (d.patients.rows.len(), "row"),
            (d.patients.rejected_without_key.len(), "reject count"),
            (d.ledger.len(), "ledger cell"),
            (d.attrition.len(), "attrition cell"),
            (d.estimates.len(), "results field"),
            (d.table1.len(), "Table 1 cell"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
        let _ = writeln!(
            w,
            "changed: {moved} difference{} outside the tolerances ({})",
            if moved == 1 { "" } else { "s" },
            parts.join(", ")
        );
    }
    s
}

fn cells(w: &mut String, title: &str, changes: &[CellChange]) {
    let _ = writeln!(w, "\n{title}");
    if changes.is_empty() {
        let _ = writeln!(w, "  no change");
    }
    for c in changes {
        let row: Vec<&str> = c
            .row
            .iter()
            .map(|k| k.split_once('=').map_or(k.as_str(), |(_, v)| v))
            .collect();
        let show = |v: &Option<String>| match v {
            None => "(no row)".to_string(),
            Some(v) => format!("\"{v}\""),
        };
        let _ = writeln!(
            w,
            "  {} / {}: {} → {}",
            row.join(" / "),
            c.column,
            show(&c.old),
            show(&c.new)
        );
    }
}

fn setting(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => v.to_string(),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if !(n.is_i64() || n.is_u64()) => sig(x),
            _ => n.to_string(),
        },
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Six significant digits, without trailing zeros.
fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", sig(x))
    } else {
        sig(x)
    }
}

#[cfg(test)]
mod tests {
    use super::sig;

    #[test]
    fn six_significant_digits() {
        assert_eq!(sig(77.99589322381931), "77.9959");
        assert_eq!(sig(0.08711422427500572), "0.0871142");
        assert_eq!(sig(1.0), "1");
        assert_eq!(sig(-2.5e-10), "-2.50000e-10");
        assert_eq!(sig(123456.7), "123457");
        assert_eq!(sig(1234567.0), "1.23457e6");
    }
}

//! The small CSV summaries of a run compared cell by cell, rows matched by
//! their key columns (never by position): the ledger (stage, source, item),
//! the attrition (step, criterion, source, arm) and Table 1 (variable,
//! level, statistic).

use crate::folder::Table;
use serde::Serialize;
use std::collections::HashMap;

/// A cell that differs, or a row in one table only (the other side null).
#[derive(Debug, Clone, Serialize)]
pub struct CellChange {
    /// The row's key columns, `name=value`.
    pub row: Vec<String>,
    pub column: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// How cells are compared.
#[derive(Debug, Clone, Copy)]
pub enum Cells {
    /// Counts: numbers within an absolute tolerance.
    Counts(f64),
    /// Text, exactly.
    Text,
}

/// Cells of `new` that differ from `old`, rows matched by the first `keys`
/// columns. Rows are reported in `new`'s order, then the rows `new` lacks.
pub fn compare(old: &Table, new: &Table, keys: usize, cells: Cells) -> Vec<CellChange> {
    let key_of = |t: &Table, row: &[String]| -> Vec<String> {
        (0..keys.min(row.len()))
            .map(|i| format!("{}={}", t.header[i], row[i]))
            .collect()
    };
    let index = |t: &Table| -> HashMap<Vec<String>, usize> {
        t.rows
            .iter()
            .enumerate()
            .map(|(i, r)| (key_of(t, r), i))
            .collect()
    };
    let old_index = index(old);
    let new_index = index(new);
    let mut columns: Vec<String> = new.header.iter().skip(keys).cloned().collect();
    for h in old.header.iter().skip(keys) {
        if !columns.contains(h) {
            columns.push(h.clone());
        }
    }
    let cell = |t: &Table, row: Option<&usize>, c: &str| -> Option<String> {
        let r = &t.rows[*row?];
        t.column(c).and_then(|i| r.get(i).cloned())
    };
    let same = |a: &Option<String>, b: &Option<String>| match (a, b, cells) {
        (Some(a), Some(b), Cells::Counts(tol)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= tol,
            _ => a == b,
        },
        _ => a == b,
    };
    let mut out = Vec::new();
    let mut visit = |key: Vec<String>, o: Option<&usize>, n: Option<&usize>| {
        for c in &columns {
            let a = cell(old, o, c);
            let b = cell(new, n, c);
            if !same(&a, &b) {
                out.push(CellChange {
                    row: key.clone(),
                    column: c.clone(),
                    old: a,
                    new: b,
                });
            }
        }
    };
    for r in &new.rows {
        let key = key_of(new, r);
        let (o, n) = (old_index.get(&key), new_index.get(&key));
        visit(key, o, n);
    }
    for r in &old.rows {
        let key = key_of(old, r);
        if !new_index.contains_key(&key) {
            let o = old_index.get(&key);
            visit(key, o, None);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&str]) -> Table {
        let mut lines = rows
            .iter()
            .map(|r| r.split(',').map(String::from).collect());
        Table {
            header: lines.next().unwrap(),
            rows: lines.collect(),
        }
    }

    #[test]
    fn rows_match_by_key_not_position() {
        let old = table(&["stage,source,item,rows", "a,x,in,3", "a,y,in,4"]);
        let new = table(&["stage,source,item,rows", "a,y,in,4", "a,x,in,3"]);
        assert!(compare(&old, &new, 3, Cells::Counts(0.0)).is_empty());
    }

    #[test]
    fn changed_added_and_removed_rows() {
        let old = table(&["stage,source,item,rows", "a,x,in,3", "a,y,in,4"]);
        let new = table(&["stage,source,item,rows", "a,x,in,5", "a,z,in,1"]);
        let c = compare(&old, &new, 3, Cells::Counts(1.0));
        let shown: Vec<String> = c
            .iter()
            .map(|c| format!("{}:{:?}->{:?}", c.row.join("/"), c.old, c.new))
            .collect();
        assert_eq!(
            shown,
            [
                "stage=a/source=x/item=in:Some(\"3\")->Some(\"5\")",
                "stage=a/source=z/item=in:None->Some(\"1\")",
                "stage=a/source=y/item=in:Some(\"4\")->None",
            ]
        );
    }
}

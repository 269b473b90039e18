//! Every field of `results.json`, flattened to readable paths
//! (`endpoints[pfs].by_arm[S].median.estimate`) and compared by the kind
//! of field: counts, estimates, p-values, text.

use crate::config::RegressionConfig;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// What a field holds, which decides its tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Count,
    Estimate,
    PValue,
    Text,
}

/// A field of `results.json` that moved beyond its tolerance, or that is in
/// one run only.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub path: String,
    pub kind: Kind,
    pub old: Value,
    pub new: Value,
    /// new - old, when both are numbers.
    pub absolute: Option<f64>,
    /// (new - old) / |old|, when both are numbers and old is not 0.
    pub relative: Option<f64>,
    /// For p-values: true when old and new are on different sides of α.
    pub crossed_alpha: bool,
}

/// Fields named like these hold counts even when written as 8.0.
const COUNT_FIELDS: [&str; 10] = [
    "n",
    "events",
    "observed",
    "df",
    "missing",
    "counts",
    "excluded_missing",
    "excluded_before_landmark",
    "n_before",
    "n_after",
];

/// Keys that name an element of a list of objects, tried in this order;
/// the first one every element has, with values all different, is used.
const NAME_KEYS: [&str; 9] = [
    "name", "arm", "variable", "term", "level", "group", "p", "stage", "cause",
];

/// The leaves of a JSON document: keys of an object in alphabetical order
/// (serde_json's map), list elements in their order. The per-level arrays
/// of Table 1 (`counts`, `percents`) are named by the variable's `levels`.
pub fn flatten(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(v, String::new(), None, &mut out);
    out
}

/// Arrays named by the enclosing `levels`.
const PER_LEVEL: [&str; 2] = ["counts", "percents"];

fn walk(v: &Value, path: String, levels: Option<&[Value]>, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            let levels = match map.get("levels") {
                Some(Value::Array(l)) if l.iter().all(Value::is_string) => Some(l.as_slice()),
                _ => levels,
            };
            for (k, x) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x, levels) {
                    (Value::Array(items), Some(l))
                        if PER_LEVEL.contains(&k.as_str()) && items.len() == l.len() =>
                    {
                        for (item, level) in items.iter().zip(l) {
                            let level = level.as_str().unwrap_or_default();
                            walk(item, format!("{p}[{level}]"), None, out);
                        }
                    }
                    _ => walk(x, p, levels, out),
                }
            }
        }
        Value::Array(items) => {
            let names = element_names(items);
            for (i, x) in items.iter().enumerate() {
                match &names {
                    Some(n) => {
                        // A [name, {...}] pair is named by its first element.
                        let x = match x {
                            Value::Array(pair) if pair.len() == 2 && pair[0].is_string() => {
                                &pair[1]
                            }
                            other => other,
                        };
                        walk(x, format!("{path}[{}]", n[i]), levels, out);
                    }
                    None => walk(x, format!("{path}[{i}]"), levels, out),
                }
            }
        }
        leaf => out.push((path, leaf.clone())),
    }
}

/// Names for the elements of a list: a naming key they all have with
/// distinct values, or the first element of `[name, {...}]` pairs.
fn element_names(items: &[Value]) -> Option<Vec<String>> {
    if items.is_empty() {
        return None;
    }
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let distinct = |names: &Vec<String>| {
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        sorted.len() == names.len()
    };
    if items.iter().all(Value::is_object) {
        for key in NAME_KEYS {
            let names: Option<Vec<String>> =
                items.iter().map(|x| x.get(key).and_then(scalar)).collect();
            if let Some(names) = names.filter(&distinct) {
                return Some(names);
            }
        }
        return None;
    }
    let pairs: Option<Vec<String>> = items
        .iter()
        .map(|x| match x {
            Value::Array(p) if p.len() == 2 && p[1].is_object() => p[0].as_str().map(String::from),
            _ => None,
        })
        .collect();
    pairs.filter(&distinct)
}

/// The kind of the leaf at `path`.
pub fn kind_of(path: &str, v: &Value) -> Kind {
    let field = last_field(path);
    match v {
        Value::Number(n) => {
            if field.contains("p_value") {
                Kind::PValue
            } else if n.is_i64() || n.is_u64() || COUNT_FIELDS.contains(&field) {
                Kind::Count
            } else {
                Kind::Estimate
            }
        }
        _ => Kind::Text,
    }
}

/// The last field name of a path: `counts` for `a[S].counts[0]`.
fn last_field(path: &str) -> &str {
    let mut p = path;
    while p.ends_with(']') {
        match p.rfind('[') {
            Some(i) => p = &p[..i],
            None => break,
        }
    }
    p.rsplit('.').next().unwrap_or(p)
}

/// Fields of `new` that differ from `old` beyond the tolerances, and fields
/// in one of them only; in `new`'s order (keys of an object alphabetical,
/// list elements in their order), then the ones `new` lacks.
pub fn compare(old: &Value, new: &Value, tol: &RegressionConfig, alpha: f64) -> Vec<Moved> {
    let old_leaves = flatten(old);
    let new_leaves = flatten(new);
    let old_map: HashMap<&str, &Value> = old_leaves.iter().map(|(p, v)| (p.as_str(), v)).collect();
    let new_map: HashMap<&str, &Value> = new_leaves.iter().map(|(p, v)| (p.as_str(), v)).collect();
    let mut out = Vec::new();
    for (path, n) in &new_leaves {
        let o = old_map.get(path.as_str()).copied().unwrap_or(&Value::Null);
        let absent = !old_map.contains_key(path.as_str());
        if let Some(m) = moved(path, o, n, tol, alpha, absent) {
            out.push(m);
        }
    }
    for (path, o) in &old_leaves {
        if !new_map.contains_key(path.as_str())
            && let Some(m) = moved(path, o, &Value::Null, tol, alpha, true)
        {
            out.push(m);
        }
    }
    out
}

fn moved(
    path: &str,
    old: &Value,
    new: &Value,
    tol: &RegressionConfig,
    alpha: f64,
    absent: bool,
) -> Option<Moved> {
    let kind = if new.is_null() {
        kind_of(path, old)
    } else {
        kind_of(path, new)
    };
    let mut m = Moved {
        path: path.to_string(),
        kind,
        old: old.clone(),
        new: new.clone(),
        absolute: None,
        relative: None,
        crossed_alpha: false,
    };
    match (old.as_f64(), new.as_f64()) {
        (Some(a), Some(b)) if !absent => {
            let d = b - a;
            let within = match kind {
                Kind::Count => d.abs() <= tol.counts_absolute.0,
                Kind::PValue => d.abs() <= tol.p_values_absolute.0,
                _ => d.abs() <= tol.estimates_relative.0 * a.abs().max(b.abs()),
            };
            if within {
                return None;
            }
            m.absolute = Some(d);
            m.relative = (a != 0.0).then(|| d / a.abs());
            m.crossed_alpha = kind == Kind::PValue && ((a < alpha) != (b < alpha));
            Some(m)
        }
        _ => (absent || old != new).then_some(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_named_by_their_elements() {
        let v = json!({
            "endpoints": [{"name": "pfs", "by_arm": [{"arm": "S", "n": 3, "median": {"estimate": 1.5}}]}],
            "ph_test": [["arm S vs NS", {"p_value": 0.2}]],
            "counts": [5, 10],
            "baseline": [{"variable": "sex", "levels": ["F", "M"],
                          "by_arm": [{"arm": "S", "counts": [5, 10]}]}]
        });
        let paths: Vec<String> = flatten(&v).into_iter().map(|(p, _)| p).collect();
        // Keys of an object come in alphabetical order (serde_json's map),
        // elements of a list in their order.
        assert_eq!(
            paths,
            [
                "baseline[sex].by_arm[S].arm",
                "baseline[sex].by_arm[S].counts[F]",
                "baseline[sex].by_arm[S].counts[M]",
                "baseline[sex].levels[0]",
                "baseline[sex].levels[1]",
                "baseline[sex].variable",
                "counts[0]",
                "counts[1]",
                "endpoints[pfs].by_arm[S].arm",
                "endpoints[pfs].by_arm[S].median.estimate",
                "endpoints[pfs].by_arm[S].n",
                "endpoints[pfs].name",
                "ph_test[arm S vs NS].p_value",
            ]
        );
    }

    #[test]
    fn kinds_by_name_and_type() {
        assert_eq!(kind_of("a[S].events", &json!(8.0)), Kind::Count);
        assert_eq!(kind_of("a.counts[1]", &json!(3)), Kind::Count);
        assert_eq!(kind_of("a.log_rank.p_value", &json!(0.08)), Kind::PValue);
        assert_eq!(kind_of("a.median.estimate", &json!(7.5)), Kind::Estimate);
        assert_eq!(kind_of("a.test", &json!("Fisher")), Kind::Text);
    }

    #[test]
    fn tolerances_per_kind_and_alpha_crossing() {
        let tol = RegressionConfig::default();
        let old = json!({"n": 10, "est": 1.0, "p_value": 0.051, "label": "x"});
        let same = json!({"n": 10, "est": 1.0 + 1e-12, "p_value": 0.051, "label": "x"});
        assert!(compare(&old, &same, &tol, 0.05).is_empty());
        let new = json!({"n": 11, "est": 1.1, "p_value": 0.049, "label": "y", "extra": 1.0});
        let m = compare(&old, &new, &tol, 0.05);
        let paths: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["est", "extra", "label", "n", "p_value"]);
        assert!(m[4].crossed_alpha && !m[0].crossed_alpha);
        assert!((m[0].relative.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(
            (m[1].old.clone(), m[1].new.clone()),
            (Value::Null, json!(1.0))
        );
        let loose = RegressionConfig {
            estimates_relative: crate::config::Tolerance(0.2),
            ..tol
        };
        let paths: Vec<String> = compare(&old, &new, &loose, 0.05)
            .into_iter()
            .map(|m| m.path)
            .collect();
        assert!(!paths.contains(&"est".to_string()));
    }
}

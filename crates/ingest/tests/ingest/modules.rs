//! The crate's modules import each other in one direction only (there was
//! a cycle: `convert` and `validate` imported each other). The allowed imports
//! are listed here; a new `use crate::...` outside the list fails the test,
//! and so does any cycle among the listed ones.

use std::collections::{BTreeMap, BTreeSet};

/// module -> the crate modules it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("lib", &["*"]),
    ("config", &[]),
    ("error", &[]),
    ("reasons", &[]),
    ("text", &[]),
    ("dates", &[]),
    ("cell", &["dates", "reasons"]),
    ("chunks", &[]),
    ("builder", &["cell", "plan"]),
    ("plan", &["cell", "config", "dates", "reasons", "text"]),
    (
        "converter",
        &["builder", "cell", "config", "error", "plan", "reasons"],
    ),
    ("validate", &["cell", "config", "dates", "text"]),
    ("headers", &["config", "converter", "error", "text"]),
    ("decode", &["config", "converter", "error"]),
    (
        "csv_source",
        &[
            "cell",
            "chunks",
            "config",
            "converter",
            "decode",
            "error",
            "headers",
            "reasons",
        ],
    ),
    (
        "xlsx_source",
        &[
            "cell",
            "config",
            "converter",
            "error",
            "headers",
            "reasons",
            "text",
        ],
    ),
    (
        "parquet_source",
        &["cell", "config", "converter", "error", "headers"],
    ),
    (
        "statfile",
        &["cell", "config", "converter", "error", "headers"],
    ),
    ("spss_source", &["cell", "statfile"]),
    ("stata_source", &["statfile"]),
    ("sas_source", &["statfile"]),
    (
        "redcap_source",
        &[
            "config",
            "converter",
            "csv_source",
            "decode",
            "error",
            "text",
        ],
    ),
    (
        "postgres_source",
        &["cell", "config", "converter", "error", "headers", "text"],
    ),
];

fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in text.split("crate::").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn modules_import_each_other_in_one_direction() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        // Only the code: the tests of a module may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap();
        let Some(ok) = allowed.get(module.as_str()) else {
            panic!("module {module} is not in ALLOWED of tests/ingest/modules.rs");
        };
        let found: BTreeSet<String> = imports(code)
            .into_iter()
            .filter(|m| allowed.contains_key(m.as_str()) && *m != module)
            .collect();
        if !ok.contains(&"*") {
            for m in &found {
                assert!(
                    ok.contains(&m.as_str()),
                    "{module} imports crate::{m}, which ALLOWED does not let it"
                );
            }
            graph.insert(module, found);
        }
    }
    // No cycles: repeatedly remove modules that import nothing left.
    while !graph.is_empty() {
        let leaf = graph
            .iter()
            .find(|(_, deps)| deps.iter().all(|d| !graph.contains_key(d)))
            .map(|(m, _)| m.clone());
        let Some(leaf) = leaf else {
            panic!(
                "the modules {:?} import each other in a cycle",
                graph.keys()
            );
        };
        graph.remove(&leaf);
    }
}

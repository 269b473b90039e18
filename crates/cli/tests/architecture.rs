//! Keeps `ARCHITECTURE.md` true: the code map must name every crate, list
//! exactly the dependencies its `Cargo.toml` declares, and every declared
//! dependency must be used by the crate's code (or be listed as pinned);
//! the stage crates must not depend on each other; and no tracked text may
//! point at files outside the repository or at issue numbers instead of
//! stating the facts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Crate folders under `crates/`.
fn crate_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("crates"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

/// The `[dependencies]` of a crate's Cargo.toml, by name.
fn dependencies(dir: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("crates").join(dir).join("Cargo.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// The section of ARCHITECTURE.md about `crates/<dir>`: from its `###`
/// heading to the next heading.
fn section<'a>(doc: &'a str, dir: &str) -> Option<&'a str> {
    let heading = format!("### `crates/{dir}`");
    let start = doc.find(&heading)?;
    let rest = &doc[start + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The comma-separated names after `label` in a section, up to the full
/// stop that ends the sentence or an opening parenthesis (names may wrap
/// across lines).
fn listed(section: &str, label: &str) -> Option<BTreeSet<String>> {
    let start = section.find(label)? + label.len();
    let rest = &section[start..];
    let end = [rest.find(".\n"), rest.find(" ("), rest.rfind('.')]
        .into_iter()
        .flatten()
        .min()?;
    Some(
        rest[..end]
            .split([',', '\n'])
            .map(|s| s.trim().trim_matches('`').to_string())
            .filter(|s| !s.is_empty() && s != "and")
            .map(|s| s.trim_start_matches("and ").to_string())
            .collect(),
    )
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_code_map_lists_each_crates_dependencies_exactly() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        let Some(sec) = section(&doc, &dir) else {
            problems.push(format!(
                "ARCHITECTURE.md has no section \"### `crates/{dir}`\""
            ));
            continue;
        };
        let declared = dependencies(&dir);
        match listed(sec, "Depends on: ") {
            None => problems.push(format!("crates/{dir}: no \"Depends on: ...\" line")),
            Some(listed) if listed != declared => problems.push(format!(
                "crates/{dir}: ARCHITECTURE.md says it depends on {listed:?}, Cargo.toml declares {declared:?}"
            )),
            Some(_) => {}
        }
        // Every declared dependency is used by the crate's code, unless the
        // section lists it as pinned.
        let pinned = listed(sec, "Pinned, not used in code: ").unwrap_or_default();
        let mut files = Vec::new();
        rust_files(&repo().join("crates").join(&dir).join("src"), &mut files);
        let code: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        for dep in &declared {
            let ident = dep.replace('-', "_");
            let used = [
                format!("{ident}::"),
                format!("use {ident}"),
                format!("{ident}!"),
            ]
            .iter()
            .any(|p| code.contains(p.as_str()));
            if !used && !pinned.contains(dep) {
                problems.push(format!(
                    "crates/{dir}: depends on {dep} but its code does not use it (remove it, or list it under \"Pinned, not used in code:\")"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn stage_crates_do_not_depend_on_each_other() {
    // The stages a run chains; each takes a frame and returns a frame, and
    // only the pipeline crate calls them. The report reads the analysis'
    // result types, and nothing else of another stage.
    let stages = ["ingest", "clean", "derive", "cohort", "analysis"];
    for dir in crate_dirs() {
        let deps = dependencies(&dir);
        let allowed: &[&str] = match dir.as_str() {
            "pipeline" | "cli" => continue,
            "report" => &["analysis"],
            // The scan reads an export as ingest does (decoding, dates).
            "scan" => &["ingest"],
            _ => &[],
        };
        for s in stages {
            if deps.contains(&format!("cohortflow-{s}")) {
                assert!(
                    allowed.contains(&s),
                    "crates/{dir} depends on the stage crate cohortflow-{s}"
                );
            }
        }
    }
}

#[test]
fn texts_state_facts_instead_of_pointing_outside_the_repository() {
    let root = repo();
    let mut files = Vec::new();
    for top in [
        "README.md",
        "ARCHITECTURE.md",
        "Cargo.toml",
        "docs",
        "crates",
        "bench",
        "conformance",
        "scripts",
        "fixtures",
        "pipelines",
    ] {
        collect_texts(&root.join(top), &mut files);
    }
    let mut problems = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue; // binary fixture
        };
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let outside = lower.contains("../shared");
            let issue_number = lower
                .match_indices("issue ")
                .any(|(k, _)| lower[k + 6..].starts_with(|c: char| c.is_ascii_digit()));
            if outside || issue_number {
                problems.push(format!(
                    "{}:{}: {}",
                    f.strip_prefix(&root).unwrap().display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "state the fact instead of pointing at a file outside the repository or an issue number:\n{}",
        problems.join("\n")
    );
}

fn collect_texts(path: &Path, out: &mut Vec<PathBuf>) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name == "target" || name.starts_with('.') {
        return;
    }
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            collect_texts(&e.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|x| {
        ["md", "rs", "toml", "R", "sh", "py", "txt"].contains(&x.to_string_lossy().as_ref())
    }) && path.file_name().is_some_and(|n| n != "architecture.rs")
    {
        out.push(path.to_path_buf());
    }
}

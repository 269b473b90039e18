//! A wrong pipeline stops before any data is read, with a message that names
//! the file, the line and the key, and says what was expected.

use cohortflow_pipeline::{Error, load};
use std::path::{Path, PathBuf};

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines")
}

/// The mgist pipeline copied into `dir` (schema and sources by absolute
/// path) with `from` replaced by `to`. Returns the file and the 1-based line
/// where `from` started.
fn variant(dir: &Path, from: &str, to: &str) -> (PathBuf, usize) {
    let root = pipelines();
    let original = std::fs::read_to_string(root.join("mgist-cytoreduction.toml")).unwrap();
    assert!(original.contains(from), "the pipeline has no {from:?}");
    // Absolute paths do not move lines, so the line is that of `from`.
    let line = original[..original.find(from).unwrap()]
        .matches('\n')
        .count()
        + 1;
    let text = original
        .replace(from, to)
        .replace("\"schemas/", &format!("\"{}/schemas/", root.display()))
        .replace("\"sources/", &format!("\"{}/sources/", root.display()));
    let path = dir.join("mgist-cytoreduction.toml");
    std::fs::write(&path, text).unwrap();
    (path, line)
}

/// Loads the variant and returns its single problem's text.
fn problem(from: &str, to: &str) -> (String, usize) {
    let dir = tempfile::tempdir().unwrap();
    let (path, line) = variant(dir.path(), from, to);
    match load(&path) {
        Err(Error::Config(problems)) => {
            assert_eq!(problems.len(), 1, "{problems:#?}");
            assert_eq!(problems[0].file, path);
            (problems[0].to_string(), line)
        }
        Err(other) => panic!("expected a configuration problem, got: {other}"),
        Ok(_) => panic!("the variant loaded without a problem"),
    }
}

fn assert_at(message: &str, line: usize, needles: &[&str]) {
    assert!(
        message.contains(&format!("mgist-cytoreduction.toml:{line}:")),
        "no line {line} in: {message}"
    );
    for n in needles {
        assert!(message.contains(n), "{n:?} not in: {message}");
    }
}

#[test]
fn the_bundled_pipeline_is_valid() {
    load(&pipelines().join("mgist-cytoreduction.toml")).unwrap();
}

#[test]
fn unknown_key() {
    let (m, line) = problem("sources = [", "sorces = [");
    assert_at(
        &m,
        line,
        &["unknown field `sorces`", "expected one of", "`sources`"],
    );
}

#[test]
fn missing_required_key() {
    let (m, _) = problem("schema = \"schemas/mgist.toml\"\n", "");
    assert!(m.contains("missing field `schema`"), "{m}");
    assert!(m.contains("mgist-cytoreduction.toml"), "{m}");
}

#[test]
fn wrong_type() {
    let (m, line) = problem("conf_level = 0.95", "conf_level = \"high\"");
    assert_at(&m, line, &["invalid type", "f64"]);
}

#[test]
fn missing_source_file() {
    let (m, line) = problem("\"sources/center_b.toml\"", "\"sources/center_c.toml\"");
    assert_at(
        &m,
        line,
        &["pipeline.sources[1]", "center_c.toml does not exist"],
    );
}

#[test]
fn expression_that_does_not_parse() {
    let (m, line) = problem(
        "check = \"surgery_date IS NULL OR surgery_date >= im_start\"",
        "check = \"surgery_date IS NULL OR surgery_date >=\"",
    );
    assert_at(
        &m,
        line,
        &["clean.rule[0].check", "surgery before imatinib start"],
    );
}

#[test]
fn expression_naming_an_unknown_column() {
    let (m, line) = problem("where = \"im_line = 1\"", "where = \"im_lines = 1\"");
    assert_at(&m, line, &["cohort.criterion[0].where", "im_lines"]);
}

#[test]
fn criterion_that_is_not_a_condition() {
    let (m, line) = problem("where = \"im_line = 1\"", "where = \"im_line + 1\"");
    assert_at(
        &m,
        line,
        &["cohort.criterion[0].where", "not a true/false condition"],
    );
}

#[test]
fn endpoint_on_a_column_that_is_not_a_date() {
    let (m, line) = problem("events = [\"death_date\"]", "events = [\"best_response\"]");
    assert_at(
        &m,
        line,
        &["endpoints.os.events", "best_response", "not a date"],
    );
}

#[test]
fn analysis_of_an_unknown_endpoint() {
    let (m, line) = problem(
        "endpoints = [\"pfs\", \"os\"]",
        "endpoints = [\"pfs\", \"dfs\"]",
    );
    assert_at(
        &m,
        line,
        &["analysis.endpoints", "unknown endpoint 'dfs'", "os, pfs"],
    );
}

#[test]
fn linkage_key_that_does_not_exist() {
    let (m, line) = problem("key = [\"national_id\"]", "key = [\"snils\"]");
    assert_at(&m, line, &["clean.linkage.key", "unknown column 'snils'"]);
}

#[test]
fn name_that_differs_from_the_file() {
    let (m, line) = problem("name = \"mgist-cytoreduction\"", "name = \"mgist\"");
    assert_at(&m, line, &["pipeline.name", "differs from the file name"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = variant(
        dir.path(),
        "where = \"im_line = 1\"",
        "where = \"im_lines = 1\"",
    );
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "best_response IN ('PR', 'SD')",
        "best_responses IN ('PR', 'SD')",
    );
    std::fs::write(&path, text).unwrap();
    let Err(Error::Config(problems)) = load(&path) else {
        panic!("expected problems")
    };
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn a_typo_in_a_source_file_is_placed_in_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = pipelines();
    let source = std::fs::read_to_string(root.join("sources/center_b.toml"))
        .unwrap()
        .replace("sex = { column = ", "sex = { colum = ");
    let source_path = dir.path().join("center_b.toml");
    std::fs::write(&source_path, &source).unwrap();
    let (path, _) = variant(
        dir.path(),
        "\"sources/center_b.toml\"",
        &format!("\"{}\"", source_path.display()),
    );
    let Err(Error::Config(problems)) = load(&path) else {
        panic!("expected problems")
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let line = source[..source.find("colum =").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert_eq!(problems[0].file, source_path);
    assert_eq!(problems[0].line, Some(line), "{}", problems[0]);
    assert!(
        problems[0].message.contains("unknown field `colum`"),
        "{}",
        problems[0]
    );
}

#[test]
fn emulation_weight_covariate_that_does_not_exist() {
    let (message, line) = problem(
        "covariates = [\"age\", \"best_response\", \"mets_peritoneum\"]",
        "covariates = [\"age\", \"best_respons\", \"mets_peritoneum\"]",
    );
    assert_at(
        &message,
        line,
        &["analysis.emulation.weights.covariates", "best_response"],
    );
}

#[test]
fn emulation_exposure_that_is_not_a_date() {
    let (message, line) = problem(
        "exposure = \"surgery_date\"\ngrace = 12",
        "exposure = \"age\"\ngrace = 12",
    );
    assert_at(
        &message,
        line,
        &["analysis.emulation.exposure", "'age'", "not a date"],
    );
}

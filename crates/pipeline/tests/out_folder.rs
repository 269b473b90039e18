//! The run folder's ownership rules through the library: which folders next
//! to `out` a run removes (leftovers of killed runs of the same `out`, with
//! the marker, or empty) and which it leaves (everything else), a staging
//! folder locked by a live run, and markers it does not know. The same rules
//! through the binary, with SIGKILL and concurrent runs, are in
//! `crates/cli/tests/run_folder.rs`.

use cohortflow_pipeline::{Error, Loaded, MARKER, load, run};
use std::path::{Path, PathBuf};

fn bundled() -> Loaded {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    load(&root.join("mgist-cytoreduction.toml")).unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const MARKER_TEXT: &str = "cohortflow run folder\nformat = 1\n";

fn folder(path: &Path, files: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    for (name, text) in files {
        std::fs::write(path.join(name), text).unwrap();
    }
    path.to_path_buf()
}

#[test]
fn leftovers_of_killed_runs_are_removed_and_nothing_else() {
    let loaded = bundled();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Leftovers of killed runs of `run` (no live process holds them).
    folder(
        &p.join(".run.partial-1-00000000000000aa"),
        &[(MARKER, MARKER_TEXT), ("ingest.parquet", "half written")],
    );
    folder(&p.join(".run.partial-2-00000000000000bb"), &[]);
    // Not ours to remove: no marker, an older cohortflow's name, another
    // out's staging folder, a marker of unknown text, a file.
    folder(
        &p.join(".run.partial-3-00000000000000cc"),
        &[("notes.txt", "mine")],
    );
    folder(&p.join(".run.partial-4"), &[(MARKER, MARKER_TEXT)]);
    folder(
        &p.join(".other.partial-5-00000000000000dd"),
        &[(MARKER, MARKER_TEXT)],
    );
    folder(
        &p.join(".run.partial-6-00000000000000ee"),
        &[(MARKER, "something else\n"), ("a", "b")],
    );
    std::fs::write(p.join(".run.partial-7-00000000000000ff"), "a file").unwrap();

    run(&loaded, &p.join("run")).unwrap();
    assert_eq!(
        listing(p),
        [
            ".other.partial-5-00000000000000dd",
            ".run.partial-3-00000000000000cc",
            ".run.partial-4",
            ".run.partial-6-00000000000000ee",
            ".run.partial-7-00000000000000ff",
            "run",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(p.join(".run.partial-3-00000000000000cc/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_staging_folder_locked_by_a_live_run_stops_the_run_and_names_its_pid() {
    let loaded = bundled();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    run(&loaded, &p.join("run")).unwrap();
    let before = std::fs::read(p.join("run/manifest.json")).unwrap();
    let held = folder(
        &p.join(".run.partial-4242-0123456789abcdef"),
        &[(MARKER, MARKER_TEXT)],
    );
    // This process plays the live run: it holds the flock.
    let lock = std::fs::File::open(&held).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();

    let err = run(&loaded, &p.join("run")).unwrap_err();
    assert!(matches!(err, Error::Busy { pid: 4242, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another cohortflow run (pid 4242) is writing"),
        "{err}"
    );
    assert_eq!(
        listing(p),
        [".run.partial-4242-0123456789abcdef", "run"],
        "the refused run left something"
    );
    assert_eq!(std::fs::read(p.join("run/manifest.json")).unwrap(), before);

    // Once the holder is gone, its folder is a leftover like any other.
    drop(lock);
    run(&loaded, &p.join("run")).unwrap();
    assert_eq!(listing(p), ["run"]);
}

#[test]
fn an_existing_folder_is_replaced_only_when_it_is_a_run_folder_or_empty() {
    let loaded = bundled();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();

    // Empty: adopted; the result carries the marker, which the manifest
    // does not list.
    folder(&p.join("empty"), &[]);
    run(&loaded, &p.join("empty")).unwrap();
    let marker = std::fs::read_to_string(p.join("empty").join(MARKER)).unwrap();
    assert!(marker.starts_with(MARKER_TEXT), "{marker}");
    let manifest = std::fs::read_to_string(p.join("empty/manifest.json")).unwrap();
    assert!(!manifest.contains(MARKER), "{manifest}");
    assert!(manifest.contains("\"results.json\""));

    // Not ours: a file without the marker, a marker of unknown text, a
    // marker of a later format.
    for (name, files, needle) in [
        (
            "mine",
            vec![("data.csv", "a,b\n")],
            "is a folder that cohortflow did not write",
        ),
        (
            "foreign",
            vec![(MARKER, "hello\n"), ("x", "y")],
            "is a folder that cohortflow did not write",
        ),
        (
            "later",
            vec![(MARKER, "cohortflow run folder\nformat = 99\n")],
            "is a run folder of a later cohortflow",
        ),
    ] {
        let out = folder(&p.join(name), &files);
        let err = run(&loaded, &out).unwrap_err();
        assert!(matches!(err, Error::Output { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{name}: {err}");
        for (file, text) in &files {
            assert_eq!(
                std::fs::read_to_string(out.join(file)).unwrap(),
                *text,
                "{name}"
            );
        }
        assert_eq!(listing(&out).len(), files.len(), "{name}");
    }
    assert_eq!(listing(p), ["empty", "foreign", "later", "mine"]);
}

#[test]
fn a_run_folder_of_an_older_cohortflow_is_replaced_only_when_it_is_exactly_as_written() {
    let loaded = bundled();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // A run folder as a cohortflow before the marker wrote it: the same
    // files without the marker.
    let legacy = |name: &str| -> PathBuf {
        let out = p.join(name);
        run(&loaded, &out).unwrap();
        std::fs::remove_file(out.join(MARKER)).unwrap();
        out
    };
    let exact = legacy("exact");
    run(&loaded, &exact).unwrap();
    assert!(exact.join(MARKER).is_file());

    let added = legacy("added");
    std::fs::write(added.join("my-notes.txt"), "mine\n").unwrap();
    let changed = legacy("changed");
    std::fs::write(changed.join("cohort.csv"), "edited by hand\n").unwrap();
    let removed = legacy("removed");
    std::fs::remove_file(removed.join("km.csv")).unwrap();
    for out in [&added, &changed, &removed] {
        let err = run(&loaded, out).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a folder that cohortflow did not write"),
            "{}: {err}",
            out.display()
        );
        assert!(!out.join(MARKER).exists());
    }
    assert_eq!(
        std::fs::read_to_string(added.join("my-notes.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(changed.join("cohort.csv")).unwrap(),
        "edited by hand\n"
    );
    assert_eq!(listing(p), ["added", "changed", "exact", "removed"]);
}

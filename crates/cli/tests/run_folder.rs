//! The run folder's promises, proved on the real `cohortflow` binary and a
//! copy of the bundled study (`pipelines/`, `fixtures/mgist/`) in a
//! temporary folder, which is also the working directory:
//!
//! - an `--out` that is, contains or lies inside an input, that is or
//!   contains the working directory, that is a symbolic link, or that is a
//!   folder cohortflow did not write is refused, and the whole study tree is
//!   byte for byte what it was;
//! - a run killed with SIGKILL at any moment leaves at `out` either the
//!   complete earlier run or the complete new one, and the next run leaves
//!   nothing else behind;
//! - of two runs on one `out`, one wins and the other says which run holds
//!   it, and nothing is left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary copy of the bundled study.
fn study() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root().join("pipelines"), &dir.path().join("pipelines"));
    copy_tree(
        &root().join("fixtures/mgist"),
        &dir.path().join("fixtures/mgist"),
    );
    dir
}

fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cohortflow"));
    c.args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    c
}

fn run_with_epoch(cwd: &Path, out: &str, epoch: &str) -> Output {
    command(cwd, &["run", "mgist-cytoreduction", "--out", out])
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every entry under `dir` (relative path → file bytes, or `None` for a
/// folder or a link, whose target is recorded in the key).
type Tree = BTreeMap<String, Option<Vec<u8>>>;

fn tree(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, into: &mut Tree) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                into.insert(format!("{rel} -> {}", target.display()), None);
            } else if kind.is_dir() {
                into.insert(format!("{rel}/"), None);
                walk(base, &path, into);
            } else {
                into.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut t = Tree::new();
    walk(dir, dir, &mut t);
    t
}

fn names(t: &Tree) -> Vec<&str> {
    t.keys().map(String::as_str).collect()
}

#[test]
fn out_over_an_input_the_working_directory_or_a_foreign_folder_is_refused_and_nothing_changes() {
    let study = study();
    let t = study.path();
    std::fs::create_dir(t.join("work")).unwrap();
    std::fs::create_dir(t.join("notes")).unwrap();
    std::fs::write(t.join("notes/readme.txt"), "my notes\n").unwrap();
    std::fs::create_dir(t.join("empty")).unwrap();
    std::os::unix::fs::symlink(t.join("fixtures"), t.join("alias")).unwrap();
    std::os::unix::fs::symlink(t.join("fixtures/mgist"), t.join("link-to-data")).unwrap();
    std::fs::create_dir(t.join("empty2")).unwrap();
    std::os::unix::fs::symlink(t.join("empty2"), t.join("link-to-empty")).unwrap();
    let abs_pipeline = t.join("pipelines/mgist-cytoreduction.toml");
    let abs_pipeline = abs_pipeline.to_str().unwrap();

    // (working directory, --out, what the message must say)
    let cases: Vec<(&str, &str, &str)> = vec![
        (".", abs_pipeline, "it is the pipeline file"),
        (".", "pipelines", "it contains the pipeline file"),
        (".", "pipelines/schemas/mgist.toml", "it is the schema file"),
        (".", "pipelines/schemas", "it contains the schema file"),
        (
            ".",
            "pipelines/sources/center_a.toml",
            "it is the source file",
        ),
        (".", "pipelines/sources", "it contains the source file"),
        (".", "fixtures/mgist/center_b.xlsx", "it is the data file"),
        (".", "fixtures/mgist", "it contains the data file"),
        (".", "fixtures", "it contains the data file"),
        (
            ".",
            "fixtures/mgist/center_a.csv/run",
            "it lies inside the data file",
        ),
        (
            ".",
            "pipelines/schemas/./../schemas",
            "it contains the schema file",
        ),
        (".", "alias/mgist", "it contains the data file"),
        (
            ".",
            "alias/mgist/../mgist/center_a.csv",
            "it is the data file",
        ),
        (".", ".", "it contains the pipeline file"),
        ("work", ".", "it is the working directory"),
        ("work", "../work", "it is the working directory"),
        ("work", "..", "it contains the pipeline file"),
        ("work/sub", "..", "it contains the working directory"),
        (".", "link-to-data", "it contains the data file"),
        (".", "link-to-empty", "is a symbolic link"),
        (".", "link-to-empty/", "is a symbolic link"),
        (".", "notes", "is a folder that cohortflow did not write"),
    ];
    std::fs::create_dir(t.join("work/sub")).unwrap();
    for (cwd, out, needle) in cases {
        let before = tree(t);
        let pipelines = t.join("pipelines");
        let output = command(
            &t.join(cwd),
            &[
                "--pipelines",
                pipelines.to_str().unwrap(),
                "run",
                "mgist-cytoreduction",
                "--out",
                out,
            ],
        )
        .output()
        .unwrap();
        let stderr = text(&output.stderr);
        assert!(
            !output.status.success(),
            "--out {out} from {cwd} succeeded:\n{}",
            text(&output.stdout)
        );
        assert!(
            stderr.contains(needle),
            "--out {out} from {cwd}: {needle:?} not in:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("--out {out}")),
            "the message does not name the path:\n{stderr}"
        );
        assert!(
            !stderr.contains("INFO"),
            "--out {out} from {cwd}: data was read before the refusal:\n{stderr}"
        );
        let after = tree(t);
        assert!(
            before == after,
            "--out {out} from {cwd} changed the study tree:\nbefore {:?}\nafter {:?}",
            names(&before),
            names(&after)
        );
    }

    // An empty folder is adopted, and a run folder is replaced; the study
    // itself is untouched.
    let inputs_before: Tree = tree(t)
        .into_iter()
        .filter(|(k, _)| k.starts_with("pipelines") || k.starts_with("fixtures"))
        .collect();
    let output = run_with_epoch(t, "empty", "1");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(t.join("empty/.cohortflow-run").is_file());
    let output = run_with_epoch(t, "empty", "2");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let inputs_after: Tree = tree(t)
        .into_iter()
        .filter(|(k, _)| k.starts_with("pipelines") || k.starts_with("fixtures"))
        .collect();
    assert!(inputs_before == inputs_after, "a run changed an input");
    let top: Vec<String> = std::fs::read_dir(t)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(top.is_empty(), "left behind: {top:?}");
}

/// A tiny seeded generator (SplitMix64), so every run of the test kills at
/// the same planned moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What was at `runs/` right after a kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// The old run at `out`, no staging folder yet.
    Before,
    /// The old run at `out`, the staging folder (locked) holding only its
    /// marker, or still empty: the run was reading and computing.
    Computing,
    /// The old run at `out`, output files in the staging folder.
    Writing,
    /// The new run at `out`, the old one being removed under the staging name.
    Removing,
    /// The new run at `out` and nothing else: the run had finished.
    After,
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// When a kill is sent.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// After a seeded delay, uniform over the measured duration of a run.
    Delay(Duration),
    /// As soon as `out` is seen to be another folder than before (polled
    /// every 50 µs): right after the swap, while the old run is removed.
    Swapped,
}

fn inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// SIGKILL at many moments of a run onto an existing run folder: after each
/// kill `out` is the complete old run or the complete new one, and the next
/// run removes every leftover. The moments: `COHORTFLOW_KILLS` seeded delays
/// (default 30; seed `COHORTFLOW_KILL_SEED`) spread uniformly over the
/// duration of a whole run (the median of the last three complete runs,
/// measured as the test goes), then `COHORTFLOW_SWAP_KILLS` (default 10)
/// kills sent the moment the swap is seen.
#[test]
fn a_run_killed_at_any_moment_leaves_the_old_or_the_new_run_and_no_debris() {
    let env = |key: &str, default: u64| -> u64 {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (kills, swap_kills, seed) = (
        env("COHORTFLOW_KILLS", 30),
        env("COHORTFLOW_SWAP_KILLS", 10),
        env("COHORTFLOW_KILL_SEED", 9),
    );
    let study = study();
    let t = study.path();
    // The two references differ in manifest.json's `created` only.
    let (old_epoch, new_epoch) = ("1000000000", "2000000000");
    for (name, epoch) in [("old", old_epoch), ("new", new_epoch)] {
        let output = run_with_epoch(t, &format!("refs/{name}"), epoch);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let old = tree(&t.join("refs/old"));
    let new = tree(&t.join("refs/new"));
    assert!(old != new && old.keys().eq(new.keys()));
    assert!(old.contains_key(".cohortflow-run") && old.contains_key("results.json"));

    let runs = t.join("runs");
    let out = runs.join("study");
    // Durations of whole runs onto an existing `out`, as measured.
    let mut durations: Vec<Duration> = Vec::new();
    let mut complete_run = |what: &str| {
        let start = Instant::now();
        let output = run_with_epoch(t, "runs/study", new_epoch);
        durations.push(start.elapsed());
        assert!(
            output.status.success(),
            "{what}: the run failed:\n{}",
            text(&output.stderr)
        );
        assert_eq!(listing(&runs), ["study"], "{what}: left behind");
        assert!(tree(&out) == new, "{what}: out is not the new run");
        let mut last: Vec<Duration> = durations.iter().rev().take(3).copied().collect();
        last.sort();
        last[last.len() / 2]
    };
    let mut duration = Duration::ZERO;
    for _ in 0..3 {
        duration = complete_run("warm-up");
    }

    let mut rng = Rng(seed);
    let plan = (0..kills)
        .map(|_| None)
        .chain((0..swap_kills).map(|_| Some(Trigger::Swapped)));
    let mut seen: BTreeMap<Moment, usize> = BTreeMap::new();
    let mut seen_swap: BTreeMap<Moment, usize> = BTreeMap::new();
    let mut delays_ms: Vec<u128> = Vec::new();
    for (i, planned) in plan.enumerate() {
        // The earlier run at `out`, nothing else in `runs/`.
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        copy_tree(&t.join("refs/old"), &out);
        assert_eq!(listing(&runs), ["study"]);
        let old_inode = inode(&out);

        let trigger = planned.unwrap_or_else(|| Trigger::Delay(duration.mul_f64(rng.unit())));
        let mut child: Child = command(t, &["run", "mgist-cytoreduction", "--out", "runs/study"])
            .env("SOURCE_DATE_EPOCH", new_epoch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        match trigger {
            Trigger::Delay(delay) => {
                delays_ms.push(delay.as_millis());
                std::thread::sleep(delay);
            }
            Trigger::Swapped => {
                while inode(&out) == old_inode && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
        child.kill().unwrap(); // SIGKILL; an exited child is not an error
        child.wait().unwrap();

        let now = tree(&out);
        let leftovers: Vec<String> = listing(&runs)
            .into_iter()
            .filter(|n| n != "study")
            .collect();
        for l in &leftovers {
            assert!(
                l.starts_with(".study.partial-"),
                "kill {i} ({trigger:?}): unexpected {l} in runs/"
            );
        }
        let moment = if now == old {
            let files: usize = leftovers
                .iter()
                .map(|l| {
                    listing(&runs.join(l))
                        .iter()
                        .filter(|f| *f != ".cohortflow-run")
                        .count()
                })
                .sum();
            if leftovers.is_empty() {
                Moment::Before
            } else if files == 0 {
                Moment::Computing
            } else {
                Moment::Writing
            }
        } else if now == new {
            if leftovers.is_empty() {
                Moment::After
            } else {
                Moment::Removing
            }
        } else {
            panic!(
                "kill {i} ({trigger:?}): out is neither the old nor the new run: {:?}",
                names(&now)
            );
        };
        match trigger {
            Trigger::Delay(_) => *seen.entry(moment).or_default() += 1,
            Trigger::Swapped => *seen_swap.entry(moment).or_default() += 1,
        }

        // The next run removes the leftovers and writes the new run.
        duration = complete_run(&format!("after kill {i} ({trigger:?})"));
    }
    eprintln!(
        "{kills} kills at seeded delays (seed {seed}) over a run of ~{duration:?}: delays {delays_ms:?} ms; \
         found: {seen:?}. {swap_kills} kills at the swap: found {seen_swap:?}"
    );
    if kills >= 20 {
        // The kills must have hit the run in the middle, not only before it
        // started or after it ended.
        assert!(
            seen.get(&Moment::Writing).copied().unwrap_or(0) > 0,
            "no kill fell while the run was writing: {seen:?}"
        );
    }
}

fn staging_folders(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.contains(".partial-"))
        .collect()
}

/// A run that holds `out` (stopped with SIGSTOP while it writes) makes a
/// second run on the same `out` fail at once, naming the holder's pid; the
/// holder then finishes, and nothing is left behind.
#[test]
fn a_second_run_on_the_same_out_fails_naming_the_first_and_leaves_nothing() {
    let study = study();
    let t = study.path();
    let runs = t.join("runs");
    let first = run_with_epoch(t, "runs/study", "1");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let old = tree(&runs.join("study"));

    let a = command(t, &["run", "mgist-cytoreduction", "--out", "runs/study"])
        .env("SOURCE_DATE_EPOCH", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until A's staging folder has its marker (A locks the folder
    // before it writes the marker), then stop A.
    let start = Instant::now();
    while !staging_folders(&runs)
        .iter()
        .any(|s| runs.join(s).join(".cohortflow-run").exists())
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no staging folder"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = a.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // B may have to wait for the short lock A holds on `runs/` while it
    // creates its staging folder: let it start, then let A go on.
    let b = command(t, &["run", "mgist-cytoreduction", "--out", "runs/study"])
        .env("SOURCE_DATE_EPOCH", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let b = b.wait_with_output().unwrap();
    let b_err = text(&b.stderr);
    assert!(!b.status.success(), "the second run succeeded too");
    let canonical_out = runs.canonicalize().unwrap().join("study");
    assert!(
        b_err.contains(&format!(
            "another cohortflow run (pid {pid}) is writing runs/study"
        )) || b_err.contains(&format!(
            "another cohortflow run (pid {pid}) is writing {}",
            canonical_out.display()
        )),
        "{b_err}"
    );
    assert!(!b_err.contains("INFO"), "the loser read data:\n{b_err}");
    let a = a.wait_with_output().unwrap();
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(listing(&runs), ["study"]);
    let now = tree(&runs.join("study"));
    assert!(now != old && now.keys().eq(old.keys()));
}

/// Runs started together on one `out`, several rounds: in each round at
/// least one succeeds, every other fails with the "another run" message,
/// `out` is a complete run and nothing else is left.
#[test]
fn runs_started_together_on_one_out_end_with_a_winner_and_no_debris() {
    let study = study();
    let t = study.path();
    let runs = t.join("runs");
    let first = run_with_epoch(t, "runs/study", "1");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let reference = tree(&runs.join("study"));
    let mut lost = 0;
    for round in 0..4 {
        let children: Vec<Child> = (0..3)
            .map(|_| {
                command(t, &["run", "mgist-cytoreduction", "--out", "runs/study"])
                    .env("SOURCE_DATE_EPOCH", "1")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let won = outputs.iter().filter(|o| o.status.success()).count();
        assert!(won >= 1, "round {round}: no run succeeded");
        for o in outputs.iter().filter(|o| !o.status.success()) {
            let err = text(&o.stderr);
            assert!(
                err.contains("another cohortflow run (pid "),
                "round {round}: {err}"
            );
            lost += 1;
        }
        assert_eq!(listing(&runs), ["study"], "round {round}");
        assert!(tree(&runs.join("study")) == reference, "round {round}");
    }
    eprintln!("4 rounds of 3 runs: {lost} refused as concurrent");
}

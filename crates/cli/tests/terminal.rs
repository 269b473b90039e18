//! What the command line prints: plain text when not on a terminal, the
//! report named after a run, a clear message outside the project's folder,
//! and `-v` without the libraries' trace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cohortflow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohortflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("cohortflow runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_run_names_its_report_and_logs_plain_text_when_redirected() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let o = cohortflow(
        &repo(),
        &[
            "-v",
            "run",
            "mgist-cytoreduction",
            "--out",
            run.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("report: {}", run.join("report.html").display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("landmark at 12 months (surgery by 12 months vs no surgery by 12 months)"),
        "{stdout}"
    );
    assert!(!stderr.contains('\u{1b}'), "ANSI codes in a redirected log");
    // -v: cohortflow's debug lines, not the SQL parser's tokens.
    let lines = stderr.lines().count();
    assert!(lines < 100, "{lines} lines with -v:\n{stderr}");
    assert!(!stderr.contains("sqlparser"), "{stderr}");
}

#[test]
fn outside_the_project_folder_the_message_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["list"][..], &["run", "mgist-cytoreduction"][..]] {
        let o = cohortflow(dir.path(), args);
        assert!(!o.status.success());
        let e = text(&o.stderr);
        assert!(e.contains("no folder of pipelines here"), "{args:?}: {e}");
        assert!(e.contains("--pipelines DIR"), "{args:?}: {e}");
        assert!(!e.contains("No such file or directory"), "{args:?}: {e}");
    }
}

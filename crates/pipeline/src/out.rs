//! The run folder: where it may be, and how it replaces an earlier run.
//!
//! The contract (docs/results.md, "Where the run folder may be"):
//!
//! - **Ownership.** `--out` only ever replaces a folder cohortflow wrote: a
//!   folder holding the marker file [`MARKER`], an empty folder, or a run
//!   folder of a cohortflow older than the marker whose files are exactly
//!   its `manifest.json` and the outputs listed there with their SHA-256. It refuses,
//!   before any data is read, an `--out` that is, contains or lies inside an
//!   input of the run (the pipeline, schema, source and data files) or that is
//!   or contains the working directory. Paths are compared canonicalised
//!   (symbolic links resolved; for an `--out` that does not exist yet, its
//!   nearest existing ancestor), and an `--out` that is itself a symbolic link
//!   is refused.
//! - **Crash safety.** The run is written into a staging folder next to
//!   `out`, named `.<name>.partial-<pid>-<token>` (`token`: 16 random hex
//!   digits, so a reused pid never names the same folder), whose first file
//!   is the marker. Its files, the folder and the parent folder are fsynced,
//!   then the staging folder and `out` are swapped in one step with Linux
//!   `renameat2(RENAME_EXCHANGE)`; the old run, now under the staging name,
//!   is removed with its marker last. With no earlier run the staging folder
//!   is renamed (`RENAME_NOREPLACE`). At every instant `out` is the complete
//!   old run or the complete new one. Where the filesystem or the OS has no
//!   atomic exchange (some network filesystems; systems other than Linux and
//!   macOS, where it is `renameatx_np(RENAME_SWAP)`), a run onto an existing
//!   `out` fails with a message saying so and leaves the old run in place; a
//!   new `out` still works.
//! - **Locks, and leftovers of killed runs.** Each run holds an advisory
//!   `flock` on its own staging folder for as long as it lives (the kernel
//!   drops it when the process dies, however it dies), and takes a short
//!   `flock` on the parent folder while it looks at its siblings, creates its
//!   staging folder and swaps. A staging folder of the same `out` that is
//!   locked belongs to a live run: the new run stops and names its pid. One
//!   that is not locked is a leftover of a killed run: it is removed if it
//!   holds the marker (or is empty) and otherwise left alone with a warning.
//!   No lock file is ever created, so none can be left behind.

use crate::error::Error;
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
use rustix::fs::renameat_with;
use rustix::fs::{FlockOperation, RenameFlags, flock};
use rustix::io::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Component, Path, PathBuf};
use tracing::{debug, warn};

/// The file that marks a folder as a cohortflow run folder.
pub const MARKER: &str = ".cohortflow-run";

/// The marker's format version; a marker of a later format is refused.
const MARKER_FORMAT: u32 = 1;

fn marker_text() -> String {
    format!(
        "cohortflow run folder\nformat = {MARKER_FORMAT}\n\
         # Written by cohortflow: a later `cohortflow run --out` may replace this folder.\n"
    )
}

/// What the marker of an existing folder says.
enum Marker {
    Absent,
    Ours,
    Newer(String),
    Foreign,
}

fn read_marker(dir: &Path) -> Marker {
    let Ok(text) = std::fs::read_to_string(dir.join(MARKER)) else {
        return if dir.join(MARKER).exists() {
            Marker::Foreign
        } else if is_unmarked_run_folder(dir) {
            Marker::Ours
        } else {
            Marker::Absent
        };
    };
    let mut lines = text.lines();
    if lines.next() != Some("cohortflow run folder") {
        return Marker::Foreign;
    }
    match lines
        .next()
        .and_then(|l| l.strip_prefix("format = "))
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        Some(v) if v <= MARKER_FORMAT => Marker::Ours,
        Some(v) => Marker::Newer(v.to_string()),
        None => Marker::Foreign,
    }
}

/// A run folder of a cohortflow older than the marker, exactly as written:
/// its `manifest.json` names cohortflow, and its files are the manifest and
/// the outputs the manifest lists, each with the listed SHA-256. Nothing in
/// it can be anyone else's.
fn is_unmarked_run_folder(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    if manifest["tool"]["name"] != "cohortflow" {
        return false;
    }
    let Some(outputs) = manifest["outputs"].as_array() else {
        return false;
    };
    let mut listed = std::collections::BTreeMap::new();
    for o in outputs {
        let (Some(file), Some(sha)) = (o["file"].as_str(), o["sha256"].as_str()) else {
            return false;
        };
        listed.insert(file.to_string(), sha.to_string());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut found = 0;
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "manifest.json" {
            continue;
        }
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let matches = is_file
            && listed.get(&name).is_some_and(|sha| {
                crate::manifest::sha256_file(&entry.path()).is_ok_and(|s| &s == sha)
            });
        if !matches {
            return false;
        }
        found += 1;
    }
    found == listed.len()
}

/// An input of the run, for the ownership check.
pub(crate) struct Input {
    /// "pipeline file", "schema file", "source file", "data file".
    pub kind: &'static str,
    pub path: PathBuf,
}

/// `path` made absolute and canonical: symbolic links and `..` resolved for
/// the part that exists, the rest (which does not exist yet) appended
/// lexically.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let mut existing = absolute.as_path();
    let mut rest: Vec<Component> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut canonical) => {
                for c in rest.iter().rev() {
                    match c {
                        Component::ParentDir => {
                            canonical.pop();
                        }
                        Component::CurDir => {}
                        other => canonical.push(other.as_os_str()),
                    }
                }
                return Ok(canonical);
            }
            Err(e) => {
                let (Some(parent), Some(last)) =
                    (existing.parent(), existing.components().next_back())
                else {
                    return Err(e);
                };
                rest.push(last);
                existing = parent;
            }
        }
    }
}

/// A run folder in the making: the staging folder, locked, with its marker.
/// Dropped without [`Staging::commit`], it removes itself.
pub(crate) struct Staging {
    /// The staging folder.
    pub dir: PathBuf,
    /// `out` as the user gave it (for messages).
    given: PathBuf,
    /// `out`, canonical.
    out: PathBuf,
    parent: PathBuf,
    /// Holds the flock on the staging folder.
    _lock: File,
    done: bool,
}

/// `.<name>.partial-`: the prefix of every staging folder of `out`.
fn staging_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.partial-", name.to_string_lossy())
}

/// The pid in a staging folder's name (`<prefix><pid>-<16 hex digits>`).
fn staging_pid(file_name: &str, prefix: &str) -> Option<u32> {
    let rest = file_name.strip_prefix(prefix)?;
    let (pid, token) = rest.split_once('-')?;
    (token.len() == 16 && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Checks `out` against the inputs and the working directory, takes the run's
/// lock, removes leftovers of killed runs and creates the staging folder.
/// Reads no data; on error nothing was created (except `out`'s parent
/// folders, which a run creates anyway).
pub(crate) fn prepare(out: &Path, inputs: &[Input]) -> Result<Staging, Error> {
    let resolved = resolve(out).map_err(|e| Error::io(out, e))?;
    check_inputs(out, &resolved, inputs)?;
    check_location(out)?;
    let (Some(parent), Some(name)) = (resolved.parent(), resolved.file_name()) else {
        return Err(refused(
            out,
            "is the root of the filesystem; choose a folder of its own, e.g. --out runs/NAME",
        ));
    };
    let parent = parent.to_path_buf();
    let name: OsString = name.to_os_string();
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;

    let parent_lock = lock_dir(&parent, true).map_err(|e| Error::io(&parent, e))?;
    let prefix = staging_prefix(&name);
    remove_leftovers(out, &parent, &prefix)?;
    check_existing(out, &resolved)?;

    let token = format!("{:016x}", fastrand::u64(..));
    let dir = parent.join(format!("{prefix}{}-{token}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    // Locked before the marker is written: a staging folder with a marker
    // is always either locked by a live run or a leftover.
    let lock = (|| {
        let lock = lock_dir(&dir, false)?;
        std::fs::write(dir.join(MARKER), marker_text())?;
        Ok::<_, std::io::Error>(lock)
    })();
    let lock = match lock {
        Ok(lock) => lock,
        Err(e) => {
            let _ = remove_owned(&dir);
            return Err(Error::io(&dir, e));
        }
    };
    drop(parent_lock);
    debug!(staging = %dir.display(), "writing");
    Ok(Staging {
        dir,
        given: out.to_path_buf(),
        out: resolved,
        parent,
        _lock: lock,
        done: false,
    })
}

fn refused(out: &Path, why: impl std::fmt::Display) -> Error {
    Error::Output {
        path: out.to_path_buf(),
        message: why.to_string(),
    }
}

/// `out` must be a folder or not exist, not a symbolic link, and its nearest
/// existing ancestor must be a folder. (Permissions are left to the write
/// itself: a user may run as root, for whom a read-only mode stops nothing.)
fn check_location(out: &Path) -> Result<(), Error> {
    // Without a trailing `/`, which would make the link's target be looked at.
    let bare: PathBuf = out.components().collect();
    if let Ok(meta) = bare.symlink_metadata() {
        if meta.file_type().is_symlink() {
            return Err(refused(
                out,
                "is a symbolic link; cohortflow does not replace a link or what it points to. \
                 Give the folder itself as --out, or choose another --out",
            ));
        }
        if !meta.is_dir() {
            return Err(Error::io(
                out,
                "exists and is not a folder, so it cannot be the run folder (it is left as it is); \
                 choose another --out",
            ));
        }
    }
    for ancestor in out.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() || ancestor.is_dir() {
            break;
        }
        if ancestor.exists() {
            return Err(Error::io(
                out,
                format!(
                    "cannot write the run folder here: {} is a file, not a folder; choose \
                     another --out",
                    ancestor.display()
                ),
            ));
        }
    }
    Ok(())
}

/// `out` (canonical: `resolved`) must not be, contain or lie inside an input,
/// nor be or contain the working directory.
fn check_inputs(out: &Path, resolved: &Path, inputs: &[Input]) -> Result<(), Error> {
    let fix = "cohortflow replaces the whole --out folder, so it must be a folder of its own; \
               choose another --out, e.g. runs/NAME";
    for input in inputs {
        let path = resolve(&input.path).unwrap_or_else(|_| input.path.clone());
        let relation = if path == resolved {
            "is"
        } else if path.starts_with(resolved) {
            "contains"
        } else if resolved.starts_with(&path) {
            "lies inside"
        } else {
            continue;
        };
        return Err(refused(
            out,
            format!(
                "cannot be the run folder: it {relation} the {} {}; {fix}",
                input.kind,
                input.path.display()
            ),
        ));
    }
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| Error::io(".", e))?;
    if cwd.starts_with(resolved) {
        let relation = if cwd == resolved { "is" } else { "contains" };
        return Err(refused(
            out,
            format!(
                "cannot be the run folder: it {relation} the working directory {}; {fix}",
                cwd.display()
            ),
        ));
    }
    Ok(())
}

/// An existing `out` must be a run folder (it has the marker) or empty.
fn check_existing(out: &Path, resolved: &Path) -> Result<(), Error> {
    let Ok(meta) = resolved.symlink_metadata() else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(refused(
            out,
            "exists and is not a folder, so it cannot be the run folder (it is left as it is); \
             choose another --out",
        ));
    }
    match read_marker(resolved) {
        Marker::Ours => Ok(()),
        Marker::Newer(v) => Err(refused(
            out,
            format!(
                "is a run folder of a later cohortflow (marker {MARKER} format {v}); \
                 this version does not replace it. Use that version, or choose another --out"
            ),
        )),
        Marker::Absent | Marker::Foreign => {
            let empty = std::fs::read_dir(resolved)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
            if empty {
                return Ok(());
            }
            Err(refused(
                out,
                format!(
                    "is a folder that cohortflow did not write (it is not empty and has no \
                     {MARKER} marker); cohortflow replaces only its own run folders and leaves \
                     this one as it is. Choose another --out, or move the folder away"
                ),
            ))
        }
    }
}

/// Opens a folder and takes an exclusive flock on it: waiting for it
/// (`wait`) or failing with `WouldBlock` at once.
fn lock_dir(dir: &Path, wait: bool) -> std::io::Result<File> {
    let file = File::open(dir)?;
    let op = if wait {
        FlockOperation::LockExclusive
    } else {
        FlockOperation::NonBlockingLockExclusive
    };
    flock(&file, op)?;
    Ok(file)
}

/// Removes the staging folders of `out` that no live run holds; stops at one
/// that a live run holds. Called with the parent folder locked.
fn remove_leftovers(out: &Path, parent: &Path, prefix: &str) -> Result<(), Error> {
    let entries = std::fs::read_dir(parent).map_err(|e| Error::io(parent, e))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let Some(pid) = staging_pid(&file_name, prefix) else {
            warn!(
                folder = %path.display(),
                "looks like a partial run folder of an older cohortflow; it has no marker, so it \
                 is left as it is (remove it by hand)"
            );
            continue;
        };
        let is_dir = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_dir());
        if !is_dir {
            continue;
        }
        let lock = match lock_dir(&path, false) {
            Ok(lock) => lock,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(Error::Busy {
                    path: out.to_path_buf(),
                    pid,
                });
            }
            // Removed meanwhile by the run that owned it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        match read_marker(&path) {
            Marker::Ours => {
                debug!(folder = %path.display(), "removing the leftover of a killed run");
                remove_owned(&path).map_err(|e| Error::io(&path, e))?;
            }
            _ => {
                // An empty folder holds nothing to lose (a run killed between
                // creating it and writing the marker).
                if std::fs::remove_dir(&path).is_err() {
                    warn!(
                        folder = %path.display(),
                        "has the name of a cohortflow staging folder but no marker; it is left \
                         as it is (remove it by hand)"
                    );
                }
            }
        }
        drop(lock);
    }
    Ok(())
}

/// Removes a folder cohortflow wrote, the marker last, so that a removal cut
/// short still leaves a folder the next run recognises as its own.
fn remove_owned(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == MARKER {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    match std::fs::remove_file(dir.join(MARKER)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::remove_dir(dir)
}

/// fsyncs every file under `dir`, then `dir`.
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

/// Why a rename flag is refused: the filesystem or kernel lacks it.
fn unsupported(e: Errno) -> bool {
    e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP
}

/// Renames `from` to `to` with `flags`: Linux `renameat2`, macOS
/// `renameatx_np` (`EXCHANGE` is `RENAME_SWAP` there).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn rename_with(from: &Path, to: &Path, flags: RenameFlags) -> Result<(), Errno> {
    renameat_with(rustix::fs::CWD, from, rustix::fs::CWD, to, flags)
}

/// Elsewhere there is no atomic exchange: the caller reports it.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn rename_with(_from: &Path, _to: &Path, _flags: RenameFlags) -> Result<(), Errno> {
    Err(Errno::NOSYS)
}

impl Staging {
    /// The files of the staging folder (the marker excluded), sorted by name.
    pub fn outputs(&self) -> Result<Vec<String>, Error> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != MARKER)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Puts the staging folder at `out`, replacing an earlier run in one step.
    pub fn commit(mut self) -> Result<(), Error> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| Error::io(path, e)
        };
        sync_tree(&self.dir).map_err(io(&self.dir))?;
        let parent = lock_dir(&self.parent, true).map_err(io(&self.parent))?;
        parent.sync_all().map_err(io(&self.parent))?;
        // `out` may have changed while the run computed: check it again.
        check_existing(&self.given, &self.out)?;
        if self.out.symlink_metadata().is_ok() {
            let marker = self.out.join(MARKER);
            if marker.symlink_metadata().is_err() && is_unmarked_run_folder(&self.out) {
                // An older cohortflow's run: mark it, so that a removal cut
                // short still leaves a folder the next run recognises.
                std::fs::write(&marker, marker_text()).map_err(io(&marker))?;
            }
            // Lock the old run so that, once it is under the staging name, no
            // other run takes it for a leftover while it is being removed.
            let old_lock = lock_dir(&self.out, false).map_err(|e| {
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    refused(
                        &self.given,
                        "is locked by another cohortflow run; wait for it to finish, or \
                         choose another --out",
                    )
                } else {
                    Error::io(&self.given, e)
                }
            })?;
            rename_with(&self.dir, &self.out, RenameFlags::EXCHANGE).map_err(|e| {
                if unsupported(e) {
                    refused(
                        &self.given,
                        format!(
                            "cannot be replaced in one step: this filesystem or system does not \
                             support renameat2(RENAME_EXCHANGE) ({e}). The earlier run is left \
                             as it is; remove it yourself, or choose a new --out"
                        ),
                    )
                } else {
                    Error::io(&self.given, e)
                }
            })?;
            // From here on the new run is in place, whatever happens next.
            self.done = true;
            parent.sync_all().map_err(io(&self.parent))?;
            let removed = remove_owned(&self.dir);
            drop(old_lock);
            removed.map_err(|e| {
                Error::io(
                    &self.dir,
                    format!(
                        "the new run is in place, but removing the earlier one failed: {e}; \
                         the next run removes it"
                    ),
                )
            })?;
        } else {
            match rename_with(&self.dir, &self.out, RenameFlags::NOREPLACE) {
                Ok(()) => {}
                Err(e) if unsupported(e) => {
                    std::fs::rename(&self.dir, &self.out).map_err(io(&self.given))?
                }
                Err(e) => return Err(Error::io(&self.given, e)),
            }
            self.done = true;
        }
        parent.sync_all().map_err(io(&self.parent))?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = remove_owned(&self.dir) {
                warn!(folder = %self.dir.display(), "could not remove the staging folder: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_carry_pid_and_token() {
        let prefix = staging_prefix(std::ffi::OsStr::new("study"));
        assert_eq!(prefix, ".study.partial-");
        assert_eq!(
            staging_pid(".study.partial-42-0123456789abcdef", &prefix),
            Some(42)
        );
        // The name of an older cohortflow (no token) is not ours.
        assert_eq!(staging_pid(".study.partial-42", &prefix), None);
        assert_eq!(staging_pid(".study.partial-42.old", &prefix), None);
        assert_eq!(
            staging_pid(".study.partial-x-0123456789abcdef", &prefix),
            None
        );
    }

    #[test]
    fn resolve_canonicalises_the_existing_part() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("a")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("link")).unwrap();
        assert_eq!(
            resolve(&real.join("link/new/../x")).unwrap(),
            real.join("a/x")
        );
        assert_eq!(resolve(&real.join("a/./b/c")).unwrap(), real.join("a/b/c"));
    }
}
